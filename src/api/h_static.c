/*
 * Serving the dashboard's built files (static.h). Files are sent from their descriptor, a
 * precompressed twin (name.gz, written by the build) when the browser accepts gzip; the
 * security headers are the same on every answer, errors included, so no page of ours can be
 * framed, sniffed or made to run inline script.
 */
#include "api/static.h"

#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "common/err.h"

bool tld_api_static_owns(const char *path)
{
    size_t n = strlen(TLD_API_APP_PREFIX);
    return strncmp(path, TLD_API_APP_PREFIX, n) == 0 && (path[n] == 0 || path[n] == '/');
}

static bool seg_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-' || c == '.';
}

/* Every segment non-empty, of safe characters, not starting with a dot. */
static bool rel_ok(const char *rel)
{
    const char *seg = rel;
    for (const char *p = rel;; p++) {
        if (*p == '/' || *p == 0) {
            if (p == seg || *seg == '.')
                return false;
            if (*p == 0)
                return true;
            seg = p + 1;
        } else if (!seg_char(*p)) {
            return false;
        }
    }
}

int tld_api_static_resolve(const char *path, struct tld_api_static_target *out)
{
    memset(out, 0, sizeof *out);
    if (!tld_api_static_owns(path))
        return TLD_EINVAL;
    const char *rel = path + strlen(TLD_API_APP_PREFIX);
    if (*rel == 0) {
        out->redirect = true;
        return 0;
    }
    rel++; /* the slash */
    size_t n = strlen(rel);
    if (n && rel[n - 1] == '/')
        n--; /* "/app/hunting/" is the page "/app/hunting" */
    if (n >= sizeof out->rel)
        return TLD_EINVAL;
    memcpy(out->rel, rel, n);
    out->rel[n] = 0;
    if (n == 0) {
        snprintf(out->rel, sizeof out->rel, "index.html");
        return 0;
    }
    if (!rel_ok(out->rel))
        return TLD_EINVAL;
    const char *last = strrchr(out->rel, '/');
    last = last ? last + 1 : out->rel;
    if (strncmp(out->rel, "assets/", 7) == 0)
        out->immutable = true;
    else if (!strchr(last, '.'))
        snprintf(out->rel, sizeof out->rel, "index.html");
    return 0;
}

static bool has_index(const char *dir)
{
    char p[PATH_MAX];
    struct stat st;
    if ((size_t)snprintf(p, sizeof p, "%s/index.html", dir) >= sizeof p)
        return false;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int tld_api_web_root(const char *root, const char *configured, const char *exe, char *out, size_t n,
                     bool *found)
{
    *found = false;
    if (configured && *configured) {
        if (configured[0] == '/')
            snprintf(out, n, "%s", configured);
        else
            snprintf(out, n, "%s/%s", root, configured);
        *found = has_index(out);
        return 0;
    }
    snprintf(out, n, "%s/share/web", root);
    if (has_index(out)) {
        *found = true;
        return 0;
    }
    /* Installed (PREFIX/bin/tld-api: PREFIX/share/threatlockdown/web, as `make install` and the
     * packages put it), or build/bin/tld-api and build/asan/bin/tld-api: the tree's web/dist is 3
     * or 4 levels up. */
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", exe ? exe : "");
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(dir, '/');
        if (!slash)
            break;
        *slash = 0;
        char cand[PATH_MAX], installed[PATH_MAX];
        if ((size_t)snprintf(cand, sizeof cand, "%s/web/dist", dir) >= sizeof cand ||
            (size_t)snprintf(installed, sizeof installed, "%s/share/threatlockdown/web", dir) >=
                sizeof installed)
            break;
        if (has_index(installed))
            snprintf(cand, sizeof cand, "%s", installed);
        if (has_index(cand)) {
            snprintf(out, n, "%s", cand);
            *found = true;
            return 0;
        }
    }
    return 0;
}

static const char *ctype_of(const char *rel)
{
    static const struct {
        const char *ext, *type;
    } T[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(rel, '.');
    for (size_t i = 0; dot && i < sizeof T / sizeof *T; i++)
        if (strcmp(dot, T[i].ext) == 0)
            return T[i].type;
    return "application/octet-stream";
}

static void security_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "Content-Security-Policy", TLD_API_WEB_CSP);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
}

static enum MHD_Result send_small(struct MHD_Connection *c, unsigned status, const char *ctype,
                                  const char *body, const char *location)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    security_headers(resp);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location);
    enum MHD_Result ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A regular file below the web root, not through a symbolic link at its last component. */
static int open_file(const char *web_root, const char *rel, const char *suffix, int *fd_out,
                     off_t *size_out)
{
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof p, "%s/%s%s", web_root, rel, suffix) >= sizeof p)
        return TLD_ELIMIT;
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return TLD_ENOTFOUND;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return TLD_ENOTFOUND;
    }
    *fd_out = fd;
    *size_out = st.st_size;
    return 0;
}

static bool accepts_gzip(struct MHD_Connection *c)
{
    const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
    return ae && strstr(ae, "gzip");
}

enum MHD_Result tld_api_static_serve(const char *web_root, bool found, struct MHD_Connection *c,
                                     const char *method, const char *path)
{
    static const char not_found[] =
        "{\"title\":\"Not Found\",\"detail\":\"no such file of the dashboard\",\"error\":404}";
    static const char not_built[] =
        "{\"title\":\"Not Found\",\"detail\":\"the dashboard is not installed: build it with "
        "`make web` or set <api><web_root>\",\"error\":404}";
    static const char refused[] =
        "{\"title\":\"Bad Request\",\"detail\":\"not a path of the dashboard\",\"error\":400}";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return send_small(c, 405, "application/json",
                          "{\"title\":\"Method Not Allowed\",\"detail\":\"the dashboard's files "
                          "are read-only\",\"error\":405}",
                          NULL);
    struct tld_api_static_target t;
    if (tld_api_static_resolve(path, &t) != 0)
        return send_small(c, 400, "application/json", refused, NULL);
    if (t.redirect)
        return send_small(c, 301, "text/plain; charset=utf-8", "see /app/\n",
                          TLD_API_APP_PREFIX "/");
    if (!found)
        return send_small(c, 404, "application/json", not_built, NULL);
    int fd = -1;
    off_t size = 0;
    bool gz = accepts_gzip(c) && open_file(web_root, t.rel, ".gz", &fd, &size) == 0;
    if (!gz && open_file(web_root, t.rel, "", &fd, &size) != 0)
        return send_small(c, 404, "application/json", not_found, NULL);
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    security_headers(resp);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype_of(t.rel));
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            t.immutable ? "public, max-age=31536000, immutable" : "no-cache");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Accept-Encoding");
    if (gz)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
    enum MHD_Result ret = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return ret;
}
