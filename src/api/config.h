/*
 * tld-api configuration: the `<api>` block of manager.conf (the API's own settings) and the
 * `<store>` block it shares with the manager (which store to read). Every other section of the
 * file belongs to the manager or the agent and is skipped here: the manager checks those.
 *
 *   <api>
 *     <enabled>yes</enabled>
 *     <port>55000</port>             <local_ip>127.0.0.1</local_ip>
 *     <token_lifetime>900</token_lifetime>   (a duration)
 *     <cert>etc/api/server.crt</cert> <key>etc/api/server.key</key>  (issued by the CA if absent)
 *     <threads>4</threads>            <max_connections>256</max_connections>
 *     <max_body>64K</max_body>        <login_failures>5</login_failures>
 *     <login_lockout>60</login_lockout>
 *     <web_root>share/web</web_root>   (the dashboard; unset: share/web or the build's web/dist)
 *     <max_streams>1000</max_streams>  (/alerts/stream clients held at once; 0: none)
 *     <max_request_per_minute>3000</max_request_per_minute>  (per user; 0: no limit)
 *   </api>
 */
#ifndef TLD_API_CONFIG_H
#define TLD_API_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/diag.h"
#include "store/store.h"

struct tld_api_config {
    bool enabled;
    char *local_ip; /* default 127.0.0.1 */
    unsigned port;
    int64_t token_s;
    char *cert, *key; /* relative to the root unless absolute */
    unsigned threads;
    unsigned max_connections;
    uint64_t max_body;
    unsigned login_failures; /* failed logins per user and per address before a lockout */
    int64_t login_lockout_s;
    char *web_root; /* the dashboard's files; NULL: found (static.h) */
    unsigned max_streams;
    unsigned max_request_per_minute; /* per user; 0: no limit */
    /* <store> as the manager reads it */
    char *store_backend;
    char *store_path, *store_url, *store_database, *store_table;
};

void tld_api_config_init(struct tld_api_config *cfg);
void tld_api_config_fini(struct tld_api_config *cfg);
/* Parse a manager.conf (adds to cfg). Problems go to diag; TLD_EPARSE when there was an error. */
int tld_api_config_load(struct tld_api_config *cfg, const char *path, struct tld_diag *diag);
int tld_api_config_parse(struct tld_api_config *cfg, const char *buf, size_t n, const char *name,
                         struct tld_diag *diag);
/* Fill what the file left unset. */
void tld_api_config_defaults(struct tld_api_config *cfg);

/*
 * The store the API reads, read-only: `root` resolves a relative SQLite path; url_buf receives
 * the ClickHouse URL with its database. TLD_EINVAL for an unknown backend.
 */
int tld_api_config_store(const struct tld_api_config *cfg, const char *root,
                         struct tld_store_config *out, char *path_buf, size_t path_n, char *url_buf,
                         size_t url_n);

#endif
