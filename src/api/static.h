/*
 * The dashboard's files (web/dist, built by `make web`) served by tld-api under /app/: no token
 * (the page itself logs in), hashed assets cached for a year, index.html never cached, a strict
 * Content-Security-Policy on every file. API routes never start with /app, so none is shadowed.
 * The path mapping is a pure function so the traversal rules are tested without a network.
 */
#ifndef TLD_API_STATIC_H
#define TLD_API_STATIC_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

#define TLD_API_APP_PREFIX "/app"

/* The headers every dashboard file carries (also checked by the tests). */
#define TLD_API_WEB_CSP                                                                            \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "                    \
    "form-action 'self'; frame-ancestors 'none'"

/* How a URL under /app maps to a file. */
struct tld_api_static_target {
    char rel[512];  /* the file, relative to the web root */
    bool immutable; /* under assets/: the name carries the content hash */
    bool redirect;  /* "/app" alone: send the browser to "/app/" */
};

/* Is this path the dashboard's (exactly /app or below /app/)? */
bool tld_api_static_owns(const char *path);

/*
 * Map path (decoded, under /app) to a file. Segments must be [A-Za-z0-9_.-]+ not starting with
 * a dot, so "..", hidden files and encoded separators are refused (TLD_EINVAL). A path without
 * an extension outside assets/ is a page of the application: index.html.
 */
int tld_api_static_resolve(const char *path, struct tld_api_static_target *out);

/*
 * The web root to serve: `configured` (relative to root unless absolute) when set; otherwise
 * ROOT/share/web, then the build tree's web/dist next to the executable (build/bin/tld-api or
 * build/asan/bin/tld-api). *found is false when none holds an index.html (out still names the
 * first candidate, for the log).
 */
int tld_api_web_root(const char *root, const char *configured, const char *exe, char *out, size_t n,
                     bool *found);

/*
 * Answer one request for path (under /app) from web_root (`found`: it holds an index.html).
 * Only GET and HEAD; the file goes out from its descriptor.
 */
enum MHD_Result tld_api_static_serve(const char *web_root, bool found, struct MHD_Connection *c,
                                     const char *method, const char *path);

#endif
