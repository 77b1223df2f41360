/*
 * Reading the `<api>` and `<store>` blocks of manager.conf for tld-api (config.h). The rows use
 * the shared configuration tables, so durations and sizes are spelled as in every other file.
 */
#include "api/config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conftab.h"
#include "common/err.h"
#include "common/xml.h"

#define OFF(f) offsetof(struct tld_api_config, f)

static const struct tld_conf_row api_rows[] = {
    {"enabled", TLD_CONF_BOOL, OFF(enabled), 0, 0, NULL, NULL, 0, NULL},
    {"local_ip", TLD_CONF_STR, OFF(local_ip), 0, 0, NULL, NULL, 0, NULL},
    {"port", TLD_CONF_UINT, OFF(port), 1, 65535, NULL, NULL, 0, NULL},
    {"token_lifetime", TLD_CONF_DURATION, OFF(token_s), 30, 86400, NULL, NULL, 0, NULL},
    {"cert", TLD_CONF_STR, OFF(cert), 0, 0, NULL, NULL, 0, NULL},
    {"key", TLD_CONF_STR, OFF(key), 0, 0, NULL, NULL, 0, NULL},
    {"threads", TLD_CONF_UINT, OFF(threads), 1, 64, NULL, NULL, 0, NULL},
    {"max_connections", TLD_CONF_UINT, OFF(max_connections), 4, 65536, NULL, NULL, 0, NULL},
    {"max_body", TLD_CONF_SIZE, OFF(max_body), 1024, 64u << 20, NULL, NULL, 0, NULL},
    {"login_failures", TLD_CONF_UINT, OFF(login_failures), 1, 1000, NULL, NULL, 0, NULL},
    {"login_lockout", TLD_CONF_DURATION, OFF(login_lockout_s), 1, 86400, NULL, NULL, 0, NULL},
    {"web_root", TLD_CONF_STR, OFF(web_root), 0, 0, NULL, NULL, 0, NULL},
    {"max_streams", TLD_CONF_UINT, OFF(max_streams), 0, 65536, NULL, NULL, 0, NULL},
    {"max_request_per_minute", TLD_CONF_UINT, OFF(max_request_per_minute), 0, 1000000, NULL, NULL,
     0, NULL},
};

/* The manager judges <store> as a whole; the API takes what names the store. */
static const struct tld_conf_row store_rows[] = {
    {"backend", TLD_CONF_STR, OFF(store_backend), 0, 0, NULL, NULL, 0, NULL},
    {"path", TLD_CONF_STR, OFF(store_path), 0, 0, NULL, NULL, 0, NULL},
    {"url", TLD_CONF_STR, OFF(store_url), 0, 0, NULL, NULL, 0, NULL},
    {"database", TLD_CONF_STR, OFF(store_database), 0, 0, NULL, NULL, 0, NULL},
    {"table", TLD_CONF_STR, OFF(store_table), 0, 0, NULL, NULL, 0, NULL},
    {"enabled", TLD_CONF_ACCEPT, 0, 0, 0, NULL, NULL, 0, NULL},
    {"max_age", TLD_CONF_ACCEPT, 0, 0, 0, NULL, NULL, 0, NULL},
    {"max_size", TLD_CONF_ACCEPT, 0, 0, 0, NULL, NULL, 0, NULL},
};

static int walk(struct tld_api_config *cfg, struct tld_xml_doc *doc, struct tld_diag *diag,
                unsigned errors_before)
{
    struct tld_conf_ctx c = {diag, doc->file, "tld-api"};
    for (const struct tld_xml_node *r = doc->roots; r; r = r->next) {
        if (!tld_conf_is_root(r))
            continue; /* the manager reports it */
        for (const struct tld_xml_node *s = r->children; s; s = s->next) {
            if (strcmp(s->name, "api") == 0)
                tld_conf_section(&c, api_rows, TLD_CONF_NROWS(api_rows), s, cfg, "api");
            else if (strcmp(s->name, "store") == 0)
                tld_conf_section(&c, store_rows, TLD_CONF_NROWS(store_rows), s, cfg, "store");
        }
    }
    tld_xml_free(doc);
    return diag->errors > errors_before ? TLD_EPARSE : 0;
}

int tld_api_config_parse(struct tld_api_config *cfg, const char *buf, size_t n, const char *name,
                         struct tld_diag *diag)
{
    unsigned before = diag->errors;
    struct tld_xml_doc *doc = NULL;
    int rc = tld_xml_parse(buf, n, name, &doc, diag);
    return rc ? rc : walk(cfg, doc, diag, before);
}

int tld_api_config_load(struct tld_api_config *cfg, const char *path, struct tld_diag *diag)
{
    unsigned before = diag->errors;
    struct tld_xml_doc *doc = NULL;
    int rc = tld_xml_load(path, &doc, diag);
    return rc ? rc : walk(cfg, doc, diag, before);
}

void tld_api_config_init(struct tld_api_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->enabled = true;
    cfg->port = 55000;
    cfg->token_s = 900;
    cfg->threads = 4;
    cfg->max_connections = 256;
    cfg->max_body = 64u << 10;
    cfg->login_failures = 5;
    cfg->login_lockout_s = 60;
    cfg->max_streams = 1000;
    cfg->max_request_per_minute = 3000;
}

static void dflt(char **field, const char *value)
{
    if (!*field)
        *field = strdup(value);
}

void tld_api_config_defaults(struct tld_api_config *cfg)
{
    dflt(&cfg->local_ip, "127.0.0.1");
    dflt(&cfg->cert, "etc/api/server.crt");
    dflt(&cfg->key, "etc/api/server.key");
    dflt(&cfg->store_backend, "sqlite");
    dflt(&cfg->store_path, "var/db/alerts.db");
    dflt(&cfg->store_url, "http://127.0.0.1:8123/");
    dflt(&cfg->store_table, "tld_alerts");
}

void tld_api_config_fini(struct tld_api_config *cfg)
{
    char **owned[] = {&cfg->local_ip,       &cfg->cert,        &cfg->key,
                      &cfg->store_backend,  &cfg->store_path,  &cfg->store_url,
                      &cfg->store_database, &cfg->store_table, &cfg->web_root};
    for (size_t i = 0; i < sizeof owned / sizeof *owned; i++) {
        free(*owned[i]);
        *owned[i] = NULL;
    }
}

int tld_api_config_store(const struct tld_api_config *cfg, const char *root,
                         struct tld_store_config *out, char *path_buf, size_t path_n, char *url_buf,
                         size_t url_n)
{
    memset(out, 0, sizeof *out);
    out->read_only = true;
    out->busy_wait_ms = 2000;
    if (strcmp(cfg->store_backend, "sqlite") == 0) {
        out->backend = TLD_STORE_SQLITE;
        if (cfg->store_path[0] == '/')
            snprintf(path_buf, path_n, "%s", cfg->store_path);
        else
            snprintf(path_buf, path_n, "%s/%s", root, cfg->store_path);
        out->path = path_buf;
        return 0;
    }
    if (strcmp(cfg->store_backend, "clickhouse") == 0) {
        out->backend = TLD_STORE_CLICKHOUSE;
        if (cfg->store_database)
            snprintf(url_buf, url_n, "%s%cdatabase=%s", cfg->store_url,
                     strchr(cfg->store_url, '?') ? '&' : '?', cfg->store_database);
        else
            snprintf(url_buf, url_n, "%s", cfg->store_url);
        out->url = url_buf;
        out->table = cfg->store_table;
        return 0;
    }
    return TLD_EINVAL;
}
