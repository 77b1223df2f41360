/*
 * The HTTPS side of tld-api: libmicrohttpd (TLS through its GnuTLS build) with a pool of
 * request threads, bounded connections, bodies and headers, and the table of routes with the
 * roles allowed on each. Dispatch checks, in order: route, token, role, parameters.
 */
#ifndef TLD_API_SERVER_H
#define TLD_API_SERVER_H

#include <stdbool.h>

#include "api/api.h"

struct tld_api_route {
    const char *method;
    const char *path; /* a last segment "{id}" matches one path segment */
    unsigned roles;   /* enum tld_api_role bits; 0: no token (the login itself) */
    int (*handler)(struct tld_api_req *r);
};

/*
 * Whether a route takes query parameter `name` (its description in h_openapi.c; a route with
 * none takes every parameter).
 */
bool tld_api_route_takes(const struct tld_api_route *rt, const char *name);

/* The route table (for docs and the route-by-role tests). */
const struct tld_api_route *tld_api_routes(size_t *n);

/* One query parameter of a request. */
struct tld_api_arg {
    const char *key, *val;
};

/*
 * Answer one request whose method, path, client address, Authorization header, arguments and
 * body are in r (r->out initialised). Fills status, out and headers.
 */
void tld_api_dispatch(struct tld_api_req *r, const struct tld_api_arg *args, size_t nargs,
                      bool args_overflow);

struct tld_api_server;

/* Listen on cfg's address and port with the PEM certificate and key. */
int tld_api_server_start(struct tld_api *a, const char *cert_pem, const char *key_pem,
                         struct tld_api_server **out, char why[TLD_WHY_MAX]);
void tld_api_server_stop(struct tld_api_server *s);

#endif
