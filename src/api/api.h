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

#include "api/config.h"
#include "api/params.h"
#include "api/throttle.h"
#include "api/users.h"

struct tld_api_logtest;
struct tld_api_rscache;
#include "common/log.h"
#include "common/str.h"
#include "store/store.h"

/* Largest response body built in memory: a page of alerts is held whole (threads x this). */
#define TLD_API_OUT_MAX (64u << 20)

struct tld_api {
    const struct tld_api_config *cfg;
    const char *root;
    const char *config_path; /* manager.conf: the ruleset and settings the manager uses */
    struct tld_log *log;
    EVP_PKEY *jwt_key; /* owned */
    struct tld_api_users users;
    struct tld_throttle throttle;
    struct tld_api_logtest *logtest; /* owned: the PUT /logtest sessions */
    struct tld_api_rscache *rscache; /* owned: the loaded ruleset the requests share */
    struct tld_store_config store_cfg;
    char store_path[4200], store_url[4300];
    char hostname[256];
    int64_t started_ms;
};

struct tld_api_req {
    struct tld_api *api;
    const char *method;
    const char *path;
    char addr[64];                /* client address */
    const char *authorization;    /* header value or NULL */
    struct tld_api_user user;     /* the caller, once authenticated */
    struct tld_jwt_claims claims; /* the caller's token */
    struct tld_api_params params;
    struct tld_sv body;
    /* response */
    unsigned status;
    struct tld_sb out;
    const char *ctype;
    char header_name[32], header_value[128];
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

#endif
