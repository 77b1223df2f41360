/*
 * The HTTP API daemon's shared pieces: the server (one per process: configuration, signing key,
 * users, login throttling, the store it reads) and one request as the route handlers see it.
 * Handlers fill `status` and `out` (and maybe a header) and return 0; the server sends them.
 */
#ifndef TLD_API_API_H
#define TLD_API_API_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "api/config.h"
#include "api/params.h"
#include "api/userlimit.h"
#include "api/throttle.h"
#include "api/users.h"

struct tld_api_logtest;
struct tld_api_rscache;
#include "common/log.h"
#include "common/str.h"
#include "store/store.h"

/* Largest response body built in memory: a page of alerts is held whole (threads x this). */
#define TLD_API_OUT_MAX (64u << 20)

struct tld_api_streams;
struct tld_api_metrics;

struct tld_api {
    const struct tld_api_config *cfg;
    const char *root;
    const char *config_path; /* manager.conf: the ruleset and settings the manager uses */
    struct tld_log *log;
    EVP_PKEY *jwt_key; /* owned */
    struct tld_api_users users;
    struct tld_throttle throttle;
    struct tld_api_userlimit userlimit; /* requests per user (<max_request_per_minute>) */
    struct tld_api_logtest *logtest;    /* owned: the PUT /logtest sessions */
    struct tld_api_rscache *rscache;    /* owned: the loaded ruleset the requests share */
    struct tld_store_config store_cfg;
    struct tld_api_streams *streams; /* live alert streams; NULL when <max_streams> is 0 */
    struct tld_api_metrics *metrics; /* request counts (NULL: not counted) */
    char store_path[4200], store_url[4300];
    char hostname[256];
    int64_t started_ms;
    char web_root[4096]; /* the dashboard's files (static.h) */
    bool web_found;      /* web_root holds an index.html */
};

struct tld_api_req {
    struct tld_api *api;
    const char *method;
    const char *path;
    char addr[64];                /* client address */
    const char *authorization;    /* header value or NULL */
    const char *last_event_id;    /* Last-Event-ID header or NULL (/alerts/stream) */
    void *conn;                   /* the MHD connection (a stream suspends and resumes it) */
    struct tld_api_user user;     /* the caller, once authenticated */
    struct tld_jwt_claims claims; /* the caller's token */
    struct tld_api_params params;
    struct tld_sv body;
    /* response */
    unsigned status;
    struct tld_sb out;
    const char *ctype;
    char header_name[32], header_value[128];
    /*
     * A body produced piece by piece instead of `out` (MHD's content reader contract: bytes
     * written, 0 after suspending the connection, or MHD's end/error codes); reader_free is
     * called once with reader_cls when the response is gone.
     */
    ssize_t (*reader)(void *cls, uint64_t pos, char *buf, size_t max);
    void (*reader_free)(void *cls);
    void *reader_cls;
};

int64_t tld_api_now_ms(void);

/* An error body: {"title": <reason>, "detail": detail, "error": status}. */
void tld_api_error(struct tld_api_req *r, unsigned status, const char *detail);

/* Wazuh's envelope around a list of items written by the caller. */
struct tld_api_env {
    struct tld_sb *out;
    size_t nitems;
};
void tld_api_env_begin(struct tld_api_env *e, struct tld_sb *out);
/* Before each item: the separator; then the caller appends one JSON value to e->out. */
void tld_api_env_next(struct tld_api_env *e);
/* Closes the list; `extra` (NULL or `"k":v,...` members) joins data; status 200. */
void tld_api_env_end(struct tld_api_env *e, uint64_t total, const char *extra, const char *message);

/* A JSON string literal for s (escaped), appended. */
void tld_api_json_str(struct tld_sb *out, const char *s, size_t n);

/* What every alert route shares: a read-only store handle of its own and the compiled filter. */
struct tld_api_alert_ctx {
    struct tld_api_req *r;
    struct tld_store *store; /* owned */
    struct tld_query *query; /* owned; NULL: every alert */
    struct tld_store_filter filter;
};
/*
 * Compiles q and opens the store; nonzero when the request was answered with an error (400 for
 * the query, 503 for the store). Close in every case.
 */
int tld_api_alert_ctx_open(struct tld_api_req *r, struct tld_api_alert_ctx *c);
void tld_api_alert_ctx_close(struct tld_api_alert_ctx *c);

/* Route handlers (routes.c has the table of who may call what). */
int tld_api_h_root(struct tld_api_req *r);
int tld_api_h_login(struct tld_api_req *r);
int tld_api_h_logout(struct tld_api_req *r);
int tld_api_h_revoke(struct tld_api_req *r);
int tld_api_h_me(struct tld_api_req *r);
int tld_api_h_users(struct tld_api_req *r);
int tld_api_h_alerts(struct tld_api_req *r);
int tld_api_h_alert_one(struct tld_api_req *r);
int tld_api_h_histogram(struct tld_api_req *r);
int tld_api_h_terms(struct tld_api_req *r);
int tld_api_h_manager_info(struct tld_api_req *r);
int tld_api_h_manager_status(struct tld_api_req *r);
int tld_api_h_manager_stats(struct tld_api_req *r);
int tld_api_h_mitre_tactics(struct tld_api_req *r);
int tld_api_h_mitre_techniques(struct tld_api_req *r);
int tld_api_h_export_csv(struct tld_api_req *r);
int tld_api_h_alert_stream(struct tld_api_req *r);
int tld_api_h_metrics(struct tld_api_req *r);
int tld_api_h_openapi(struct tld_api_req *r);

/*
 * The members of `from` named by the prefixes of dotted `path` (n bytes) that end at a dot or
 * at its end, longest first (keys may hold dots themselves). Start with *k = n + 1; each call
 * gives the next member, its key and its length in *k, and NULL when none is left.
 */
struct cJSON;
const struct cJSON *tld_api_json_member(const struct cJSON *from, const char *path, size_t n,
                                        size_t *k, char key[128]);

/* One CSV cell (RFC 4180 quoting; a leading = + - @ TAB CR gets a ' first), appended. */
void tld_api_csv_cell(struct tld_sb *out, const char *s, size_t n);

#endif
