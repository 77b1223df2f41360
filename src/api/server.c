/*
 * Route dispatch and the libmicrohttpd glue of tld-api (server.h). A request's state lives in
 * one struct from its first callback to its completion; its body is bounded by <max_body>, its
 * headers by MHD's per-connection memory, its connections by per-address and total limits.
 */
#include "api/server.h"
#include "api/static.h"
#include "api/metrics.h"
#include "api/streams.h"

#include "api/mgmt.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ALL   TLD_ROLES_ALL
#define ADMIN TLD_ROLE_ADMIN
#define STAFF (TLD_ROLE_ADMIN | TLD_ROLE_ANALYST)

static const struct tld_api_route ROUTES[] = {
    {"GET", "/", ALL, tld_api_h_root},
    {"POST", "/security/user/authenticate", 0, tld_api_h_login},
    {"DELETE", "/security/user/authenticate", ALL, tld_api_h_logout},
    {"PUT", "/security/user/revoke", ADMIN, tld_api_h_revoke},
    {"GET", "/security/users/me", ALL, tld_api_h_me},
    {"GET", "/security/users", ADMIN, tld_api_h_users},
    {"GET", "/alerts", ALL, tld_api_h_alerts},
    {"GET", "/alerts/histogram", ALL, tld_api_h_histogram},
    {"GET", "/alerts/terms", ALL, tld_api_h_terms},
    {"GET", "/alerts/export.csv", ALL, tld_api_h_export_csv},
    {"GET", "/alerts/stream", ALL, tld_api_h_alert_stream},
    {"GET", "/alerts/{id}", ALL, tld_api_h_alert_one},
    {"GET", "/manager/info", ALL, tld_api_h_manager_info},
    {"GET", "/manager/status", ALL, tld_api_h_manager_status},
    {"GET", "/manager/stats", ALL, tld_api_h_manager_stats},
    {"GET", "/mitre/tactics", ALL, tld_api_h_mitre_tactics},
    {"GET", "/mitre/techniques", ALL, tld_api_h_mitre_techniques},
    {"GET", "/metrics", ALL, tld_api_h_metrics},
    {"GET", "/openapi.json", ALL, tld_api_h_openapi},
    {"GET", "/rules", ALL, tld_api_h_rules},
    {"GET", "/rules/groups", ALL, tld_api_h_rules_groups},
    {"GET", "/rules/files", ALL, tld_api_h_rules_files},
    {"GET", "/rules/files/{file}", ALL, tld_api_h_rules_file_get},
    {"PUT", "/rules/files/{file}", ADMIN, tld_api_h_rules_file_put},
    {"GET", "/decoders", ALL, tld_api_h_decoders},
    {"GET", "/decoders/files", ALL, tld_api_h_decoders_files},
    {"GET", "/decoders/files/{file}", ALL, tld_api_h_decoders_file_get},
    {"PUT", "/decoders/files/{file}", ADMIN, tld_api_h_decoders_file_put},
    {"GET", "/lists", ALL, tld_api_h_lists},
    {"GET", "/agents", ALL, tld_api_h_agents},
    {"GET", "/agents/summary/status", ALL, tld_api_h_agents_summary},
    {"DELETE", "/agents", ADMIN, tld_api_h_agents_delete},
    {"PUT", "/manager/analysisd/reload", ADMIN, tld_api_h_reload},
    {"GET", "/manager/logs", ALL, tld_api_h_manager_logs},
    {"PUT", "/logtest", STAFF, tld_api_h_logtest},
    {"DELETE", "/logtest/sessions/{token}", STAFF, tld_api_h_logtest_end},
};
#define NROUTES (sizeof ROUTES / sizeof *ROUTES)

const struct tld_api_route *tld_api_routes(size_t *n)
{
    *n = NROUTES;
    return ROUTES;
}

static bool path_match(const char *pattern, const char *path)
{
    const char *brace = strstr(pattern, "{");
    if (!brace)
        return strcmp(pattern, path) == 0;
    size_t pre = (size_t)(brace - pattern);
    const char *seg = path + pre;
    return strncmp(pattern, path, pre) == 0 && *seg && !strchr(seg, '/');
}

/* The route for method and path; *other_method says a route has the path with another one. */
static const struct tld_api_route *route_find(const char *method, const char *path,
                                              bool *other_method)
{
    *other_method = false;
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < NROUTES; i++) {
            bool templ = strchr(ROUTES[i].path, '{') != NULL;
            if (templ != (pass == 1) || !path_match(ROUTES[i].path, path))
                continue;
            if (strcmp(ROUTES[i].method, method) == 0)
                return &ROUTES[i];
            *other_method = true;
        }
        if (*other_method)
            return NULL; /* an exact path that exists is not an {id} */
    }
    return NULL;
}

static bool authenticate(struct tld_api_req *r)
{
    const char *h = r->authorization;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
        tld_api_error(r, 401, "a bearer token is required (POST /security/user/authenticate)");
        return false;
    }
    const char *tok = h + 7;
    if (tld_jwt_verify(r->api->jwt_key, tok, strlen(tok), tld_api_now_ms(), &r->claims) != 0 ||
        tld_api_users_token_ok(&r->api->users, &r->claims, &r->user) != 0) {
        tld_api_error(r, 401, "invalid, expired or revoked token");
        return false;
    }
    return true;
}

/* The caller's bucket (userlimit.h); a 429 with Retry-After when it is empty. */
static bool within_rate(struct tld_api_req *r)
{
    bool allowed;
    int64_t retry_s;
    tld_api_userlimit_take(&r->api->userlimit, r->user.name, tld_api_now_ms(), &allowed, &retry_s);
    if (allowed)
        return true;
    snprintf(r->header_name, sizeof r->header_name, "Retry-After");
    snprintf(r->header_value, sizeof r->header_value, "%lld", (long long)retry_s);
    tld_api_error(r, 429, "too many requests for this user (<max_request_per_minute>)");
    return false;
}

static void dispatch_route(struct tld_api_req *r, const struct tld_api_route *rt,
                           const struct tld_api_arg *args, size_t nargs, bool args_overflow)
{
    if (rt->roles && !authenticate(r))
        return;
    if (rt->roles && !(rt->roles & r->user.role)) {
        tld_api_error(r, 403, "the user's role may not use this route");
        return;
    }
    if (rt->roles && !within_rate(r))
        return;
    if (args_overflow) {
        tld_api_error(r, 400, "too many parameters");
        return;
    }
    tld_api_params_init(&r->params);
    for (size_t i = 0; i < nargs; i++) {
        char why[TLD_WHY_MAX];
        if (tld_api_param_set(&r->params, args[i].key, args[i].val, why) != 0) {
            tld_api_error(r, 400, why);
            return;
        }
        if (!tld_api_route_takes(rt, args[i].key)) {
            snprintf(why, sizeof why, "%.64s: not a parameter of this route", args[i].key);
            tld_api_error(r, 400, why);
            return;
        }
    }
    int rc = rt->handler(r);
    if (rc) {
        tld_log_error(r->api->log, "%s %s: %s", r->method, r->path, tld_err_str(rc));
        tld_api_error(r, 500, "internal error");
    }
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void tld_api_dispatch(struct tld_api_req *r, const struct tld_api_arg *args, size_t nargs,
                      bool args_overflow)
{
    int64_t t0 = mono_us();
    bool other;
    const struct tld_api_route *rt = route_find(r->method, r->path, &other);
    if (!rt)
        tld_api_error(r, other ? 405 : 404, other ? "method not allowed here" : "no such route");
    else
        dispatch_route(r, rt, args, nargs, args_overflow);
    tld_api_metrics_observe(r->api->metrics, rt ? (size_t)(rt - ROUTES) : NROUTES, r->status,
                            mono_us() - t0);
}

/* ---- libmicrohttpd ------------------------------------------------------------------------ */

#define MAX_ARGS 64

struct tld_api_server {
    struct MHD_Daemon *mhd;
    struct tld_api *api;
};

struct conn_state {
    struct tld_sb body;
    bool too_big;
};

struct arg_walk {
    struct tld_api_arg v[MAX_ARGS];
    size_t n;
    bool overflow;
};

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    struct arg_walk *w = cls;
    (void)kind;
    if (w->n == MAX_ARGS) {
        w->overflow = true;
        return MHD_NO;
    }
    w->v[w->n].key = key;
    w->v[w->n++].val = value;
    return MHD_YES;
}

static void client_addr(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "?");
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)n);
}

static struct MHD_Response *response_of(struct tld_api_req *r)
{
    if (r->reader) {
        struct MHD_Response *resp = MHD_create_response_from_callback(
            MHD_SIZE_UNKNOWN, 32u << 10, r->reader, r->reader_cls, r->reader_free);
        if (!resp && r->reader_free)
            r->reader_free(r->reader_cls);
        return resp;
    }
    size_t n = 0;
    char *p = tld_sb_steal(&r->out, &n);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        n, p ? p : (char *)"", p ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp)
        free(p);
    return resp;
}

static enum MHD_Result reply_send(struct MHD_Connection *c, struct tld_api_req *r)
{
    struct MHD_Response *resp = response_of(r);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->ctype ? r->ctype : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r->header_name[0])
        MHD_add_response_header(resp, r->header_name, r->header_value);
    enum MHD_Result ret = MHD_queue_response(c, r->status ? r->status : 500, resp);
    MHD_destroy_response(resp);
    return ret;
}

static void req_init(struct tld_api_req *r, struct tld_api *a, struct MHD_Connection *c,
                     const char *method, const char *url)
{
    memset(r, 0, sizeof *r);
    r->api = a;
    r->method = method;
    r->path = url;
    tld_sb_init(&r->out, TLD_API_OUT_MAX);
    client_addr(c, r->addr, sizeof r->addr);
    r->authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    r->last_event_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    r->conn = c;
}

/* The request is refused before its body is read: MHD then closes the connection. */
static enum MHD_Result refuse_early(struct tld_api *a, struct MHD_Connection *c, const char *method,
                                    const char *url, unsigned status, const char *detail)
{
    struct tld_api_req r;
    req_init(&r, a, c, method, url);
    tld_api_error(&r, status, detail);
    enum MHD_Result ret = reply_send(c, &r);
    tld_sb_fini(&r.out);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct tld_api_server *s = cls;
    struct tld_api *a = s->api;
    struct conn_state *st = *con_cls;
    (void)version;
    if (!st) {
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        unsigned long long len = 0;
        if (cl && (!tld_sv_to_u64(tld_sv_of(cl), ~0ULL, &len) || len > a->cfg->max_body))
            return refuse_early(a, c, method, url, 413, "the request body is too large");
        st = calloc(1, sizeof *st);
        if (!st)
            return MHD_NO;
        tld_sb_init(&st->body, a->cfg->max_body);
        *con_cls = st;
        return MHD_YES;
    }
    if (*upload_size) {
        if (st->body.n + *upload_size > a->cfg->max_body)
            st->too_big = true;
        else
            tld_sb_append(&st->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (st->too_big)
        return refuse_early(a, c, method, url, 413, "the request body is too large");
    if (tld_api_static_owns(url)) {
        tld_log_debug(a->log, "%s %s (dashboard) from a client", method, url);
        return tld_api_static_serve(a->web_root, a->web_found, c, method, url);
    }
    struct tld_api_req *r = malloc(sizeof *r);
    if (!r)
        return MHD_NO;
    req_init(r, a, c, method, url);
    r->body = tld_sb_view(&st->body);
    struct arg_walk w = {.n = 0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, on_arg, &w);
    tld_api_dispatch(r, w.v, w.n, w.overflow);
    tld_log_debug(a->log, "%s %s %u from %s", method, url, r->status, r->addr);
    enum MHD_Result ret = reply_send(c, r);
    tld_sb_fini(&r->out);
    free(r);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    struct conn_state *st = *con_cls;
    (void)cls;
    (void)c;
    (void)code;
    if (st) {
        tld_sb_fini(&st->body);
        free(st);
        *con_cls = NULL;
    }
}

int tld_api_server_start(struct tld_api *a, const char *cert_pem, const char *key_pem,
                         struct tld_api_server **out, char why[TLD_WHY_MAX])
{
    struct sockaddr_in6 sa6;
    struct sockaddr_in sa4;
    struct sockaddr *sa;
    /* epoll worker threads, no thread per connection: a live stream's connection is suspended
     * while it has nothing to send, so thousands of them hold no thread. */
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
    memset(&sa4, 0, sizeof sa4);
    memset(&sa6, 0, sizeof sa6);
    if (inet_pton(AF_INET, a->cfg->local_ip, &sa4.sin_addr) == 1) {
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons((uint16_t)a->cfg->port);
        sa = (struct sockaddr *)&sa4;
    } else if (inet_pton(AF_INET6, a->cfg->local_ip, &sa6.sin6_addr) == 1) {
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons((uint16_t)a->cfg->port);
        sa = (struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(why, TLD_WHY_MAX, "<local_ip> '%s' is not an address", a->cfg->local_ip);
        return TLD_EINVAL;
    }
    struct tld_api_server *s = calloc(1, sizeof *s);
    if (!s)
        return TLD_ENOMEM;
    s->api = a;
    if (tld_api_metrics_new(NROUTES, &a->metrics) != 0) {
        free(s);
        return TLD_ENOMEM;
    }
    if (a->cfg->max_streams && tld_api_streams_start(a, &a->streams) != 0) {
        snprintf(why, TLD_WHY_MAX, "cannot start the live stream thread");
        tld_api_metrics_free(a->metrics);
        a->metrics = NULL;
        free(s);
        return TLD_EIO;
    }
    unsigned per_ip = a->cfg->max_connections / 4 ? a->cfg->max_connections / 4 : 1;
    s->mhd = MHD_start_daemon(
        flags, (uint16_t)a->cfg->port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, sa,
        MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem,
        MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)a->cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)a->cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(32u << 10), MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
    if (!s->mhd) {
        snprintf(why, TLD_WHY_MAX, "cannot listen on %s port %u (address in use, or TLS setup)",
                 a->cfg->local_ip, a->cfg->port);
        tld_api_streams_free(a->streams);
        a->streams = NULL;
        tld_api_metrics_free(a->metrics);
        a->metrics = NULL;
        free(s);
        return TLD_EIO;
    }
    *out = s;
    return 0;
}

void tld_api_server_stop(struct tld_api_server *s)
{
    if (!s)
        return;
    tld_api_streams_stop(s->api->streams);
    MHD_stop_daemon(s->mhd);
    tld_api_streams_free(s->api->streams);
    s->api->streams = NULL;
    tld_api_metrics_free(s->api->metrics);
    s->api->metrics = NULL;
    free(s);
}
