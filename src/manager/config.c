/*
 * tld-manager configuration loader (elements in config.h). One table per section lists every
 * element the manager understands: its name, kind and where it goes (common/conftab.h).
 * Sections that belong to the local collector are left to collect/collect_config.c; Wazuh sections
 * and options with no meaning here are accepted with a warning; anything else is an error naming
 * the element.
 */
#include "manager/config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "collect/collect_config.h"
#include "common/conftab.h"
#include "common/err.h"
#include "common/str.h"
#include "common/xml.h"

#define OFF(f) offsetof(struct tld_mgr_config, f)

/* <ruleset> lists: each element appends one entry. */
static void add_path(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v, void *obj)
{
    struct tld_mgr_paths *p = obj;
    if (p->n == TLD_MGR_MAX_PATHS) {
        tld_conf_error(c, n, "too many entries (at most %d)", TLD_MGR_MAX_PATHS);
        return;
    }
    p->v[p->n++] = strdup(v);
}

static const struct tld_conf_row global_rows[] = {
    {"logall_json", TLD_CONF_BOOL, OFF(logall_json), 0, 0, NULL, NULL, 0, NULL},
    {"agents_disconnection_time", TLD_CONF_DURATION, OFF(disconnection_s), 10, 86400 * 7, NULL,
     NULL, 0, NULL},
    {"jsonout_output", TLD_CONF_FIXED, 0, 0, 0, "yes", NULL, 0, NULL},
    TLD_CONF_IGNORED("alerts_log"),
    TLD_CONF_IGNORED("logall"),
    TLD_CONF_IGNORED("email_notification"),
    TLD_CONF_IGNORED("smtp_server"),
    TLD_CONF_IGNORED("email_from"),
    TLD_CONF_IGNORED("email_to"),
    TLD_CONF_IGNORED("email_maxperhour"),
    TLD_CONF_IGNORED("email_log_source"),
    TLD_CONF_IGNORED("agents_disconnection_alert_time"),
    TLD_CONF_IGNORED("white_list"),
    TLD_CONF_IGNORED("update_check"),
    TLD_CONF_IGNORED("memory_size"),
    TLD_CONF_IGNORED("stats"),
    TLD_CONF_IGNORED("host_information"),
    TLD_CONF_IGNORED("prelude_output"),
    TLD_CONF_IGNORED("zeromq_output"),
    TLD_CONF_IGNORED("geoip_db_path"),
    TLD_CONF_IGNORED("rotate_interval"),
    TLD_CONF_IGNORED("max_output_size"),
};

static const struct tld_conf_row alerts_rows[] = {
    {"log_alert_level", TLD_CONF_UINT, OFF(log_alert_level), 0, 16, NULL, NULL, 0, NULL},
    {"email_alert_level", TLD_CONF_UINT, OFF(email_alert_level), 0, 16, NULL, NULL, 0, NULL},
    TLD_CONF_IGNORED("use_geoip"),
};

/* A <ruleset> list element: appended to the list `f`. */
#define PATHS(name, f)                                                                             \
    {                                                                                              \
        (name), TLD_CONF_TEXT, OFF(f), 0, 0, NULL, NULL, 0, add_path                               \
    }

static const struct tld_conf_row ruleset_rows[] = {
    PATHS("decoder_dir", decoder_dirs),
    PATHS("rule_dir", rule_dirs),
    PATHS("decoder", decoder_files),
    PATHS("rule", rule_files),
    PATHS("include", rule_files),
    PATHS("list", lists),
    PATHS("decoder_exclude", decoder_excludes),
    PATHS("rule_exclude", rule_excludes),
};

static const struct tld_conf_row remote_rows[] = {
    {"port", TLD_CONF_UINT, OFF(remote_port), 0, 65535, NULL, NULL, 0, NULL},
    {"local_ip", TLD_CONF_STR, OFF(remote_ip), 0, 0, NULL, NULL, 0, NULL},
    {"connection", TLD_CONF_FIXED, 0, 0, 0, "secure", NULL, 0, NULL},
    {"protocol", TLD_CONF_FIXED, 0, 0, 0, "tcp", NULL, 0, NULL},
    {"keepalive", TLD_CONF_DURATION, OFF(keepalive_s), 1, 3600, NULL, NULL, 0, NULL},
    {"max_connections", TLD_CONF_UINT, OFF(max_connections), 1, 65536, NULL, NULL, 0, NULL},
    {"handshake_timeout", TLD_CONF_DURATION, OFF(handshake_s), 1, 600, NULL, NULL, 0, NULL},
    {"connections_per_address", TLD_CONF_UINT, OFF(per_address), 0, 65536, NULL, NULL, 0, NULL},
    {"pending_per_address", TLD_CONF_UINT, OFF(pending_per_address), 1, 65536, NULL, NULL, 0, NULL},
    {"frame_memory", TLD_CONF_SIZE, OFF(frame_memory), 8u << 20, 1ULL << 36, NULL, NULL, 0, NULL},
    TLD_CONF_IGNORED("queue_size"),
    TLD_CONF_IGNORED("ipv6"),
    TLD_CONF_IGNORED("allowed-ips"),
    TLD_CONF_IGNORED("denied-ips"),
    TLD_CONF_IGNORED("rids_closing_time"),
};

static const struct tld_conf_row force_rows[] = {
    {"enabled", TLD_CONF_BOOL, OFF(force), 0, 0, NULL, NULL, TLD_CONF_ANY_ATTRS, NULL},
    {"key_mismatch", TLD_CONF_IGNORE, 0, 0, 0, NULL, NULL, TLD_CONF_ANY_ATTRS, NULL},
    {"disconnected_time", TLD_CONF_IGNORE, 0, 0, 0, NULL, NULL, TLD_CONF_ANY_ATTRS, NULL},
    {"after_registration_time", TLD_CONF_IGNORE, 0, 0, 0, NULL, NULL, TLD_CONF_ANY_ATTRS, NULL},
};

/* <auth><force>: <disconnected_time enabled="yes"> is the only attribute Wazuh uses here. */
static void auth_force(struct tld_conf_ctx *c, const struct tld_xml_node *n, void *obj)
{
    tld_conf_section(c, force_rows, TLD_CONF_NROWS(force_rows), n, obj, "force");
}

static const struct tld_conf_row manager_rows[] = {
    {"workers", TLD_CONF_UINT, OFF(workers), 0, 64, NULL, NULL, 0, NULL},
    {"intake_max_size", TLD_CONF_SIZE, OFF(intake_max_bytes), 1u << 20, 1ULL << 40, NULL, NULL, 0,
     NULL},
    {"worker_queue", TLD_CONF_UINT, OFF(worker_queue), 16, 1u << 20, NULL, NULL, 0, NULL},
    {"local_collection", TLD_CONF_TRI, OFF(local_collection), 0, 0, NULL, NULL, 0, NULL},
    {"registry_dir", TLD_CONF_STR, OFF(registry_dir), 0, 0, NULL, NULL, 0, NULL},
};

/* <store><backend>: one of the store's backends, kept lower-case. */
static void put_backend(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v,
                        void *obj)
{
    char **dst = obj;
    const char *name = strcasecmp(v, "sqlite") == 0       ? "sqlite"
                       : strcasecmp(v, "clickhouse") == 0 ? "clickhouse"
                                                          : NULL;
    if (!name) {
        tld_conf_error(c, n, "'%s' is not a store backend (sqlite or clickhouse)", v);
        return;
    }
    free(*dst);
    *dst = strdup(name);
}

/* <store><database>, <cluster>, <writer>: they go into ClickHouse URLs and SQL, so only plain
 * names. */
static void put_database(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v,
                         void *obj)
{
    char **dst = obj;
    size_t len = strlen(v);
    if (!len || len > 64 ||
        strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789_") != len) {
        tld_conf_error(c, n, "'%s' is not a plain name (letters, digits, _)", v);
        return;
    }
    free(*dst);
    *dst = strdup(v);
}

/* <store><url>: repeated for the nodes of a ClickHouse cluster; kept as one list. */
static void put_url(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v, void *obj)
{
    char **dst = obj;
    if (!*v || strpbrk(v, " \t\r\n,")) {
        tld_conf_error(c, n, "'%s' is not one URL", v);
        return;
    }
    size_t len = (*dst ? strlen(*dst) + 1 : 0) + strlen(v) + 1;
    char *list = malloc(len);
    if (!list)
        return;
    snprintf(list, len, "%s%s%s", *dst ? *dst : "", *dst ? " " : "", v);
    free(*dst);
    *dst = list;
}

static const struct tld_conf_row store_rows[] = {
    {"enabled", TLD_CONF_BOOL, OFF(store_enabled), 0, 0, NULL, NULL, 0, NULL},
    {"backend", TLD_CONF_TEXT, OFF(store_backend), 0, 0, NULL, NULL, 0, put_backend},
    {"path", TLD_CONF_STR, OFF(store_path), 0, 0, NULL, NULL, 0, NULL},
    {"url", TLD_CONF_TEXT, OFF(store_url), 0, 0, NULL, NULL, 0, put_url},
    {"cluster", TLD_CONF_TEXT, OFF(store_cluster), 0, 0, NULL, NULL, 0, put_database},
    {"database", TLD_CONF_TEXT, OFF(store_database), 0, 0, NULL, NULL, 0, put_database},
    {"table", TLD_CONF_STR, OFF(store_table), 0, 0, NULL, NULL, 0, NULL},
    {"writer", TLD_CONF_TEXT, OFF(store_writer), 0, 0, NULL, NULL, 0, put_database},
    {"max_age", TLD_CONF_DURATION, OFF(store_max_age_s), 0, TLD_CONF_MAX_DURATION, NULL, NULL, 0,
     NULL},
    {"max_size", TLD_CONF_SIZE, OFF(store_max_bytes), 0, TLD_CONF_MAX_SIZE, NULL, NULL, 0, NULL},
};

static const struct tld_conf_row auth_rows[] = {
    {"disabled", TLD_CONF_NOT_BOOL, OFF(auth_enabled), 0, 0, NULL, NULL, 0, NULL},
    {"port", TLD_CONF_UINT, OFF(auth_port), 0, 65535, NULL, NULL, 0, NULL},
    {"local_ip", TLD_CONF_STR, OFF(auth_ip), 0, 0, NULL, NULL, 0, NULL},
    {"use_password", TLD_CONF_BOOL, OFF(use_password), 0, 0, NULL, NULL, 0, NULL},
    {"password_file", TLD_CONF_STR, OFF(password_file), 0, 0, NULL, NULL, 0, NULL},
    {"rate_limit_requests", TLD_CONF_UINT, OFF(rate_requests), 1, 100000, NULL, NULL, 0, NULL},
    {"rate_limit_period", TLD_CONF_DURATION, OFF(rate_period_s), 1, 86400, NULL, NULL, 0, NULL},
    {"cert_days", TLD_CONF_UINT, OFF(cert_days), 1, 36500, NULL, NULL, 0, NULL},
    {"max_agents", TLD_CONF_UINT, OFF(max_agents), 1, 100000, NULL, NULL, 0, NULL},
    {"global_rate_limit", TLD_CONF_UINT, OFF(global_rate), 1, 100000, NULL, NULL, 0, NULL},
    {"lockout_failures", TLD_CONF_UINT, OFF(lockout_failures), 0, 100000, NULL, NULL, 0, NULL},
    {"lockout_global_failures", TLD_CONF_UINT, OFF(lockout_global_failures), 0, 1000000, NULL, NULL,
     0, NULL},
    {"lockout_time", TLD_CONF_DURATION, OFF(lockout_s), 1, 604800, NULL, NULL, 0, NULL},
    {"max_pending_agents", TLD_CONF_UINT, OFF(max_pending), 1, 100000, NULL, NULL, 0, NULL},
    {"pending_agent_expiry", TLD_CONF_DURATION, OFF(pending_expiry_s), 0, 31536000, NULL, NULL, 0,
     NULL},
    {"handshake_timeout", TLD_CONF_DURATION, OFF(auth_timeout_s), 1, 600, NULL, NULL, 0, NULL},
    {"connections_per_address", TLD_CONF_UINT, OFF(auth_per_address), 1, 1024, NULL, NULL, 0, NULL},
    TLD_CONF_IGNORED("use_source_ip"),
    TLD_CONF_IGNORED("purge"),
    TLD_CONF_IGNORED("ipv6"),
    TLD_CONF_IGNORED("connection"),
    TLD_CONF_IGNORED("ciphers"),
    TLD_CONF_IGNORED("ssl_agent_ca"),
    TLD_CONF_IGNORED("ssl_verify_host"),
    TLD_CONF_IGNORED("ssl_manager_cert"),
    TLD_CONF_IGNORED("ssl_manager_key"),
    TLD_CONF_IGNORED("ssl_auto_negotiate"),
    TLD_CONF_IGNORED("key_request"),
    TLD_CONF_IGNORED("limit_maxagents"),
    TLD_CONF_IGNORED("remote_enrollment"),
    {"force", TLD_CONF_SET, 0, 0, 0, NULL, auth_force, 0, NULL},
};

struct section {
    const char *name;
    const struct tld_conf_row *rows;
    size_t nrows;
};

#define SECTION(s)                                                                                 \
    {                                                                                              \
#s, s##_rows, TLD_CONF_NROWS(s##_rows)                                                     \
    }

static const struct section sections[] = {
    SECTION(global), SECTION(alerts),  SECTION(ruleset), SECTION(remote),
    SECTION(auth),   SECTION(manager), SECTION(store),
};

/* Folds an element (name, attributes, text, children) into h: how a reload tells whether the
 * local collector's sections changed without knowing their contents. */
static uint64_t digest(uint64_t h, const struct tld_xml_node *n)
{
    h = tld_fnv1a(h, n->name, strlen(n->name) + 1);
    for (unsigned i = 0; i < n->nattrs; i++) {
        h = tld_fnv1a(h, n->attrs[i].name, strlen(n->attrs[i].name) + 1);
        h = tld_fnv1a(h, n->attrs[i].value.p, n->attrs[i].value.n);
    }
    h = tld_fnv1a(h, n->text.p, n->text.n);
    for (const struct tld_xml_node *k = n->children; k; k = k->next)
        h = digest(h, k);
    return tld_fnv1a(h, "/", 1);
}

static void top(struct tld_mgr_config *cfg, struct tld_conf_ctx *c, const struct tld_xml_node *n)
{
    for (size_t i = 0; i < TLD_CONF_NROWS(sections); i++) {
        if (strcmp(n->name, sections[i].name) == 0) {
            tld_conf_section(c, sections[i].rows, sections[i].nrows, n, cfg, n->name);
            return;
        }
    }
    if (tld_collect_config_owns(n->name) || strcmp(n->name, "labels") == 0) {
        cfg->collect_digest = digest(cfg->collect_digest, n);
        return;
    }
    /* <api> is tld-api's (docs/api.md), read from this same file. */
    if (strcmp(n->name, "api") == 0)
        return;
    /* Wazuh sections for features this manager does not have: accepted with a warning. */
    if (tld_conf_other_module(n->name) || strcmp(n->name, "client") == 0)
        tld_conf_warn(c, n, "section not used by tld-manager; ignored");
    else
        tld_conf_error(c, n, "unknown section");
}

static int walk(struct tld_mgr_config *cfg, struct tld_xml_doc *doc, struct tld_diag *diag,
                unsigned errors_before)
{
    struct tld_conf_ctx c = {diag, doc->file, "tld-manager"};
    for (const struct tld_xml_node *r = doc->roots; r; r = r->next) {
        if (!tld_conf_is_root(r)) {
            tld_conf_error(&c, r,
                           "unknown top-level element (expected <ossec_config> or "
                           "<threatlockdown_config>)");
            continue;
        }
        for (const struct tld_xml_node *s = r->children; s; s = s->next)
            top(cfg, &c, s);
    }
    tld_xml_free(doc);
    return diag->errors > errors_before ? TLD_EPARSE : 0;
}

int tld_mgr_config_parse(struct tld_mgr_config *cfg, const char *buf, size_t n, const char *name,
                         struct tld_diag *diag)
{
    unsigned before = diag->errors;
    struct tld_xml_doc *doc = NULL;
    int rc = tld_xml_parse(buf, n, name, &doc, diag);
    return rc ? rc : walk(cfg, doc, diag, before);
}

int tld_mgr_config_load(struct tld_mgr_config *cfg, const char *path, struct tld_diag *diag)
{
    unsigned before = diag->errors;
    struct tld_xml_doc *doc = NULL;
    int rc = tld_xml_load(path, &doc, diag);
    return rc ? rc : walk(cfg, doc, diag, before);
}

void tld_mgr_config_init(struct tld_mgr_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->logall_json = false;
    cfg->disconnection_s = 600;
    cfg->log_alert_level = 1;
    cfg->email_alert_level = 12;
    cfg->remote_port = 1514;
    cfg->keepalive_s = 10;
    cfg->max_connections = 16384;
    cfg->handshake_s = 10;
    cfg->pending_per_address = 16;
    cfg->frame_memory = 64u << 20;
    cfg->auth_timeout_s = 10;
    cfg->auth_per_address = 8;
    cfg->auth_enabled = true;
    cfg->auth_port = 1515;
    cfg->use_password = true;
    cfg->force = false;
    cfg->rate_requests = 10;
    cfg->rate_period_s = 60;
    cfg->cert_days = 3650;
    cfg->max_agents = 10000;
    cfg->global_rate = 5;
    cfg->lockout_failures = 10;
    cfg->lockout_global_failures = 100;
    cfg->lockout_s = 600;
    cfg->max_pending = 100;
    cfg->pending_expiry_s = 86400;
    cfg->workers = 0;
    cfg->intake_max_bytes = 1ULL << 30;
    cfg->worker_queue = 1024;
    cfg->local_collection = -1;
    cfg->store_enabled = true;
}

static void paths_fini(struct tld_mgr_paths *p)
{
    for (unsigned i = 0; i < p->n; i++)
        free(p->v[i]);
    p->n = 0;
}

void tld_mgr_config_fini(struct tld_mgr_config *cfg)
{
    paths_fini(&cfg->decoder_dirs);
    paths_fini(&cfg->rule_dirs);
    paths_fini(&cfg->decoder_files);
    paths_fini(&cfg->rule_files);
    paths_fini(&cfg->lists);
    paths_fini(&cfg->decoder_excludes);
    paths_fini(&cfg->rule_excludes);
    free(cfg->remote_ip);
    free(cfg->auth_ip);
    free(cfg->password_file);
    free(cfg->store_backend);
    free(cfg->store_path);
    free(cfg->registry_dir);
    free(cfg->store_url);
    free(cfg->store_database);
    free(cfg->store_cluster);
    free(cfg->store_table);
    free(cfg->store_writer);
    memset(cfg, 0, sizeof *cfg);
}

void tld_mgr_config_defaults(struct tld_mgr_config *cfg)
{
    if (!cfg->decoder_dirs.n && !cfg->decoder_files.n) {
        cfg->decoder_dirs.v[cfg->decoder_dirs.n++] = strdup("ruleset/decoders");
        cfg->decoder_dirs.v[cfg->decoder_dirs.n++] = strdup("etc/decoders");
    }
    if (!cfg->rule_dirs.n && !cfg->rule_files.n) {
        cfg->rule_dirs.v[cfg->rule_dirs.n++] = strdup("ruleset/rules");
        cfg->rule_dirs.v[cfg->rule_dirs.n++] = strdup("etc/rules");
    }
    if (!cfg->password_file)
        cfg->password_file = strdup("etc/authd.pass");
    if (!cfg->store_backend)
        cfg->store_backend = strdup("sqlite");
    if (!cfg->store_path)
        cfg->store_path = strdup("var/db/alerts.db");
    if (!cfg->store_url)
        cfg->store_url = strdup("http://127.0.0.1:8123/");
    if (!cfg->store_table)
        cfg->store_table = strdup("tld_alerts");
}

const char *tld_mgr_config_default_text(void)
{
    return "<!--\n"
           "  ThreatLockDown manager configuration (the familiar ossec.conf elements).\n"
           "  Relative paths are relative to the installation root. docs/manager.md lists\n"
           "  every element.\n"
           "-->\n"
           "<ossec_config>\n"
           "  <global>\n"
           "    <jsonout_output>yes</jsonout_output>\n"
           "    <logall_json>no</logall_json>\n"
           "    <agents_disconnection_time>10m</agents_disconnection_time>\n"
           "  </global>\n"
           "\n"
           "  <alerts>\n"
           "    <log_alert_level>3</log_alert_level>\n"
           "    <email_alert_level>12</email_alert_level>\n"
           "  </alerts>\n"
           "\n"
           "  <remote>\n"
           "    <connection>secure</connection>\n"
           "    <port>1514</port>\n"
           "    <protocol>tcp</protocol>\n"
           "  </remote>\n"
           "\n"
           "  <auth>\n"
           "    <disabled>no</disabled>\n"
           "    <port>1515</port>\n"
           "    <!-- etc/authd.pass: generated at first start, or your own (docs/manager.md) -->\n"
           "    <use_password>yes</use_password>\n"
           "  </auth>\n"
           "\n"
           "  <ruleset>\n"
           "    <!-- Shipped decoders and rules -->\n"
           "    <decoder_dir>ruleset/decoders</decoder_dir>\n"
           "    <rule_dir>ruleset/rules</rule_dir>\n"
           "    <!-- Your own: etc/decoders/local_decoder.xml, etc/rules/local_rules.xml -->\n"
           "    <decoder_dir>etc/decoders</decoder_dir>\n"
           "    <rule_dir>etc/rules</rule_dir>\n"
           "  </ruleset>\n"
           "\n"
           "  <!-- Local collection: this host is agent 000 -->\n"
           "  <wodle name=\"docker-listener\">\n"
           "    <disabled>no</disabled>\n"
           "  </wodle>\n"
           "\n"
           "  <localfile>\n"
           "    <log_format>syslog</log_format>\n"
           "    <location>/var/lib/docker/containers/*/*-json.log</location>\n"
           "  </localfile>\n"
           "</ossec_config>\n";
}

/* ---- what a reload may change ---------------------------------------------------------------- */

/* Settings a running manager takes over on a reload (NULL element: the whole section); the
 * manager's take_live_settings() (main.c) applies each of them. */
static const struct {
    const char *section, *element;
} live_rows[] = {
    {"ruleset", NULL},
    {"alerts", NULL},
    {"global", "agents_disconnection_time"},
    {"auth", "pending_agent_expiry"},
    {"auth", "max_pending_agents"},
    {"auth", "rate_limit_requests"},
    {"auth", "rate_limit_period"},
    {"auth", "global_rate_limit"},
    {"auth", "lockout_failures"},
    {"auth", "lockout_global_failures"},
    {"auth", "lockout_time"},
};

static bool is_live(const char *section, const char *element)
{
    for (size_t i = 0; i < TLD_CONF_NROWS(live_rows); i++)
        if (strcmp(live_rows[i].section, section) == 0 &&
            (!live_rows[i].element || strcmp(live_rows[i].element, element) == 0))
            return true;
    return false;
}

static bool str_differ(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

static bool paths_differ(const struct tld_mgr_paths *a, const struct tld_mgr_paths *b)
{
    if (a->n != b->n)
        return true;
    for (unsigned i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]) != 0)
            return true;
    return false;
}

/* Whether the value row stores differs between a and b (rows that store nothing never do). */
static bool row_differs(const struct tld_conf_row *row, const void *a, const void *b)
{
    const char *pa = (const char *)a + row->off, *pb = (const char *)b + row->off;
    switch (row->kind) {
    case TLD_CONF_BOOL:
    case TLD_CONF_NOT_BOOL:
        return *(const bool *)pa != *(const bool *)pb;
    case TLD_CONF_TRI:
        return *(const int *)pa != *(const int *)pb;
    case TLD_CONF_UINT:
        return *(const unsigned *)pa != *(const unsigned *)pb;
    case TLD_CONF_DURATION:
        return *(const int64_t *)pa != *(const int64_t *)pb;
    case TLD_CONF_SIZE:
        return *(const uint64_t *)pa != *(const uint64_t *)pb;
    case TLD_CONF_STR:
        return str_differ(*(char *const *)pa, *(char *const *)pb);
    case TLD_CONF_TEXT:
        if (row->put == add_path)
            return paths_differ((const void *)pa, (const void *)pb);
        return str_differ(*(char *const *)pa, *(char *const *)pb);
    default:
        return false;
    }
}

static bool rows_fixed_change(const char *section, const struct tld_conf_row *rows, size_t nrows,
                              const struct tld_mgr_config *a, const struct tld_mgr_config *b,
                              char *name, size_t size)
{
    for (size_t i = 0; i < nrows; i++) {
        if (!is_live(section, rows[i].name) && row_differs(&rows[i], a, b)) {
            snprintf(name, size, "<%s><%s>", section, rows[i].name);
            return true;
        }
    }
    return false;
}

bool tld_mgr_config_fixed_change(const struct tld_mgr_config *a, const struct tld_mgr_config *b,
                                 char *name, size_t size)
{
    for (size_t i = 0; i < TLD_CONF_NROWS(sections); i++)
        if (rows_fixed_change(sections[i].name, sections[i].rows, sections[i].nrows, a, b, name,
                              size))
            return true;
    if (rows_fixed_change("auth><force", force_rows, TLD_CONF_NROWS(force_rows), a, b, name, size))
        return true;
    if (a->collect_digest != b->collect_digest) {
        snprintf(name, size,
                 "local collection (<localfile>, <wodle>, <logcollector>, <spool>, "
                 "<labels>)");
        return true;
    }
    return false;
}
