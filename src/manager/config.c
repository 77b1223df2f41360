/*
 * tld-manager configuration loader (elements in config.h). One table lists every element the
 * manager understands: its section, name, kind and where it goes. Sections that belong to the
 * local collector are left to the agent's loader; Wazuh sections and options with no meaning
 * here are accepted with a warning; anything else is an error naming the element.
 */
#include "manager/config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/xml.h"

enum kind {
    K_BOOL,   /* yes/no */
    K_UINT,   /* decimal in [min, max] */
    K_TIME,   /* 90, 10s, 5m, 2h, 1d, 1w -> seconds in [min, max] */
    K_SIZE,   /* 512, 64KB, 10MB, 1GB -> bytes in [min, max] */
    K_STR,    /* one string (last wins) */
    K_PATHS,  /* appended to a list */
    K_TRI,    /* yes/no/auto -> 1/0/-1 */
    K_FIXED,  /* a value that must be one of a '|' list in `fixed` (case-insensitive) */
    K_IGNORE, /* Wazuh option without meaning here: warning */
};

struct row {
    const char *section;
    const char *name;
    enum kind kind;
    size_t off;
    unsigned long long min, max;
    const char *fixed;
};

#define OFF(f) offsetof(struct tld_mgr_config, f)

static const struct row rows[] = {
    {"global", "logall_json", K_BOOL, OFF(logall_json), 0, 0, NULL},
    {"global", "agents_disconnection_time", K_TIME, OFF(disconnection_s), 10, 86400 * 7, NULL},
    {"global", "jsonout_output", K_FIXED, 0, 0, 0, "yes"},
    {"global", "alerts_log", K_IGNORE, 0, 0, 0, NULL},
    {"global", "logall", K_IGNORE, 0, 0, 0, NULL},
    {"global", "email_notification", K_IGNORE, 0, 0, 0, NULL},
    {"global", "smtp_server", K_IGNORE, 0, 0, 0, NULL},
    {"global", "email_from", K_IGNORE, 0, 0, 0, NULL},
    {"global", "email_to", K_IGNORE, 0, 0, 0, NULL},
    {"global", "email_maxperhour", K_IGNORE, 0, 0, 0, NULL},
    {"global", "email_log_source", K_IGNORE, 0, 0, 0, NULL},
    {"global", "agents_disconnection_alert_time", K_IGNORE, 0, 0, 0, NULL},
    {"global", "white_list", K_IGNORE, 0, 0, 0, NULL},
    {"global", "update_check", K_IGNORE, 0, 0, 0, NULL},
    {"global", "memory_size", K_IGNORE, 0, 0, 0, NULL},
    {"global", "stats", K_IGNORE, 0, 0, 0, NULL},
    {"global", "host_information", K_IGNORE, 0, 0, 0, NULL},
    {"global", "prelude_output", K_IGNORE, 0, 0, 0, NULL},
    {"global", "zeromq_output", K_IGNORE, 0, 0, 0, NULL},
    {"global", "geoip_db_path", K_IGNORE, 0, 0, 0, NULL},
    {"global", "rotate_interval", K_IGNORE, 0, 0, 0, NULL},
    {"global", "max_output_size", K_IGNORE, 0, 0, 0, NULL},

    {"alerts", "log_alert_level", K_UINT, OFF(log_alert_level), 0, 16, NULL},
    {"alerts", "email_alert_level", K_UINT, OFF(email_alert_level), 0, 16, NULL},
    {"alerts", "use_geoip", K_IGNORE, 0, 0, 0, NULL},

    {"ruleset", "decoder_dir", K_PATHS, OFF(decoder_dirs), 0, 0, NULL},
    {"ruleset", "rule_dir", K_PATHS, OFF(rule_dirs), 0, 0, NULL},
    {"ruleset", "decoder", K_PATHS, OFF(decoder_files), 0, 0, NULL},
    {"ruleset", "rule", K_PATHS, OFF(rule_files), 0, 0, NULL},
    {"ruleset", "include", K_PATHS, OFF(rule_files), 0, 0, NULL},
    {"ruleset", "list", K_PATHS, OFF(lists), 0, 0, NULL},
    {"ruleset", "decoder_exclude", K_PATHS, OFF(decoder_excludes), 0, 0, NULL},
    {"ruleset", "rule_exclude", K_PATHS, OFF(rule_excludes), 0, 0, NULL},

    {"remote", "port", K_UINT, OFF(remote_port), 0, 65535, NULL},
    {"remote", "local_ip", K_STR, OFF(remote_ip), 0, 0, NULL},
    {"remote", "connection", K_FIXED, 0, 0, 0, "secure"},
    {"remote", "protocol", K_FIXED, 0, 0, 0, "tcp"},
    {"remote", "keepalive", K_TIME, OFF(keepalive_s), 1, 3600, NULL},
    {"remote", "max_connections", K_UINT, OFF(max_connections), 1, 65536, NULL},
    {"remote", "queue_size", K_IGNORE, 0, 0, 0, NULL},
    {"remote", "ipv6", K_IGNORE, 0, 0, 0, NULL},
    {"remote", "allowed-ips", K_IGNORE, 0, 0, 0, NULL},
    {"remote", "denied-ips", K_IGNORE, 0, 0, 0, NULL},
    {"remote", "rids_closing_time", K_IGNORE, 0, 0, 0, NULL},

    {"auth", "disabled", K_BOOL, OFF(auth_enabled), 0, 1, NULL}, /* stored inverted */
    {"auth", "port", K_UINT, OFF(auth_port), 0, 65535, NULL},
    {"auth", "local_ip", K_STR, OFF(auth_ip), 0, 0, NULL},
    {"auth", "use_password", K_BOOL, OFF(use_password), 0, 0, NULL},
    {"auth", "password_file", K_STR, OFF(password_file), 0, 0, NULL},
    {"auth", "rate_limit_requests", K_UINT, OFF(rate_requests), 1, 100000, NULL},
    {"auth", "rate_limit_period", K_TIME, OFF(rate_period_s), 1, 86400, NULL},
    {"auth", "cert_days", K_UINT, OFF(cert_days), 1, 36500, NULL},
    {"auth", "max_agents", K_UINT, OFF(max_agents), 1, 100000, NULL},
    {"auth", "use_source_ip", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "purge", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "ipv6", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "connection", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "ciphers", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "ssl_agent_ca", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "ssl_verify_host", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "ssl_manager_cert", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "ssl_manager_key", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "ssl_auto_negotiate", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "key_request", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "limit_maxagents", K_IGNORE, 0, 0, 0, NULL},
    {"auth", "remote_enrollment", K_IGNORE, 0, 0, 0, NULL},

    {"force", "enabled", K_BOOL, OFF(force), 0, 0, NULL},
    {"force", "key_mismatch", K_IGNORE, 0, 0, 0, NULL},
    {"force", "disconnected_time", K_IGNORE, 0, 0, 0, NULL},
    {"force", "after_registration_time", K_IGNORE, 0, 0, 0, NULL},

    {"manager", "workers", K_UINT, OFF(workers), 0, 64, NULL},
    {"manager", "intake_max_size", K_SIZE, OFF(intake_max_bytes), 1u << 20, 1ULL << 40, NULL},
    {"manager", "worker_queue", K_UINT, OFF(worker_queue), 16, 1u << 20, NULL},
    {"manager", "local_collection", K_TRI, OFF(local_collection), 0, 0, NULL},
};

/* Top-level sections this loader leaves to the local collector's loader. */
static const char *const collector_sections[] = {"localfile", "wodle", "logcollector", "spool",
                                                 "labels"};

/* Wazuh sections for features this manager does not have: accepted with a warning. */
static const char *const ignored_sections[] = {
    "syscheck",
    "rootcheck",
    "sca",
    "vulnerability-detector",
    "vulnerability-detection",
    "indexer",
    "command",
    "active-response",
    "cluster",
    "logging",
    "integration",
    "syslog_output",
    "email_alerts",
    "reports",
    "database_output",
    "socket",
    "osquery",
    "rule_test",
    "anti_flooding",
    "client_buffer",
    "agent-upgrade",
    "task-manager",
    "gcp-pubsub",
    "github",
    "office365",
    "ms-graph",
    "localfile_defaults",
    "client",
    "api",
    "storage",
    "dashboard",
    "enrollment",
};

struct ctx {
    struct tld_mgr_config *cfg;
    struct tld_diag *diag;
    const char *file;
};

static void __attribute__((format(printf, 3, 4)))
error(struct ctx *c, const struct tld_xml_node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    tld_diag_error(c->diag, c->file, n->line, "<%s>: %s", n->name, msg);
}

static bool leaf(struct ctx *c, const struct tld_xml_node *n, char *buf, size_t size)
{
    if (n->children) {
        error(c, n, "expected a value, found child elements");
        return false;
    }
    struct tld_sv t = tld_sv_trim(n->text);
    if (t.n == 0) {
        error(c, n, "empty value");
        return false;
    }
    if (t.n >= size) {
        error(c, n, "value too long (at most %zu bytes)", size - 1);
        return false;
    }
    memcpy(buf, t.p, t.n);
    buf[t.n] = 0;
    return true;
}

/* "<digits><unit>" with unit from the table, e.g. "10m" or "64KB". */
static bool scaled(const char *s, const char *const *units, const unsigned long long *mult,
                   unsigned long long max, unsigned long long *out)
{
    size_t d = 0;
    while (isdigit((unsigned char)s[d]))
        d++;
    unsigned long long v;
    if (!tld_sv_to_u64(tld_sv_make(s, d), max, &v))
        return false;
    for (size_t i = 0; units[i]; i++) {
        if (strcasecmp(s + d, units[i]) == 0) {
            if (mult[i] && v > max / mult[i])
                return false;
            *out = v * mult[i];
            return true;
        }
    }
    return false;
}

static bool parse_time(const char *s, unsigned long long *out)
{
    static const char *const u[] = {"", "s", "m", "h", "d", "w", NULL};
    static const unsigned long long m[] = {1, 1, 60, 3600, 86400, 604800};
    return scaled(s, u, m, 1ULL << 40, out);
}

static bool parse_size(const char *s, unsigned long long *out)
{
    static const char *const u[] = {"", "b", "k", "kb", "m", "mb", "g", "gb", NULL};
    static const unsigned long long m[] = {1,          1,          1ULL << 10, 1ULL << 10,
                                           1ULL << 20, 1ULL << 20, 1ULL << 30, 1ULL << 30};
    return scaled(s, u, m, 1ULL << 50, out);
}

static bool fixed_ok(const char *v, const char *list)
{
    size_t n = strlen(v);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, '|');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l == n && strncasecmp(p, v, n) == 0)
            return true;
        p += l + (e ? 1 : 0);
    }
    return false;
}

static void apply(struct ctx *c, const struct row *r, const struct tld_xml_node *n)
{
    char v[4096];
    char *base = (char *)c->cfg;
    if (r->kind == K_IGNORE) {
        tld_diag_warn(c->diag, c->file, n->line, "<%s>: not used by tld-manager; ignored", n->name);
        return;
    }
    if (!leaf(c, n, v, sizeof v))
        return;
    unsigned long long u;
    switch (r->kind) {
    case K_BOOL:
    case K_TRI: {
        int b;
        if (strcasecmp(v, "yes") == 0)
            b = 1;
        else if (strcasecmp(v, "no") == 0)
            b = 0;
        else if (r->kind == K_TRI && strcasecmp(v, "auto") == 0)
            b = -1;
        else {
            error(c, n, "'%s' is not %s", v, r->kind == K_TRI ? "yes, no or auto" : "yes or no");
            return;
        }
        if (r->kind == K_TRI)
            *(int *)(base + r->off) = b;
        else if (r->max == 1) /* <disabled>: stored as "enabled" */
            *(bool *)(base + r->off) = !b;
        else
            *(bool *)(base + r->off) = b;
        return;
    }
    case K_UINT:
        if (!tld_sv_to_u64(tld_sv_of(v), r->max, &u) || u < r->min) {
            error(c, n, "'%s' is not a number from %llu to %llu", v, r->min, r->max);
            return;
        }
        *(unsigned *)(base + r->off) = (unsigned)u;
        return;
    case K_TIME:
        if (!parse_time(v, &u) || u < r->min || u > r->max) {
            error(c, n, "'%s' is not a duration from %llus to %llus (e.g. 90, 10s, 5m, 2h, 1d)", v,
                  r->min, r->max);
            return;
        }
        *(int64_t *)(base + r->off) = (int64_t)u;
        return;
    case K_SIZE:
        if (!parse_size(v, &u) || u < r->min || u > r->max) {
            error(c, n, "'%s' is not a size from %llu to %llu bytes (e.g. 512MB, 2GB)", v, r->min,
                  r->max);
            return;
        }
        *(uint64_t *)(base + r->off) = u;
        return;
    case K_STR: {
        char **dst = (char **)(base + r->off);
        free(*dst);
        *dst = strdup(v);
        return;
    }
    case K_PATHS: {
        struct tld_mgr_paths *p = (struct tld_mgr_paths *)(base + r->off);
        if (p->n == TLD_MGR_MAX_PATHS) {
            error(c, n, "too many entries (at most %d)", TLD_MGR_MAX_PATHS);
            return;
        }
        p->v[p->n++] = strdup(v);
        return;
    }
    case K_FIXED:
        if (!fixed_ok(v, r->fixed))
            error(c, n, "'%s' is not supported (only %s)", v, r->fixed);
        return;
    case K_IGNORE:
        return;
    }
}

static void section(struct ctx *c, const char *sname, const struct tld_xml_node *s)
{
    for (const struct tld_xml_node *n = s->children; n; n = n->next) {
        if (strcmp(sname, "auth") == 0 && strcmp(n->name, "force") == 0) {
            section(c, "force", n);
            continue;
        }
        /* <force><disconnected_time enabled="yes"> is the only attribute Wazuh uses here. */
        if (n->nattrs && strcmp(sname, "force") != 0)
            error(c, n, "unexpected attribute '%s'", n->attrs[0].name);
        const struct row *r = NULL;
        for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
            if (strcmp(rows[i].section, sname) == 0 && strcmp(rows[i].name, n->name) == 0)
                r = &rows[i];
        if (!r) {
            error(c, n, "unknown element in <%s>", sname);
            continue;
        }
        apply(c, r, n);
    }
    if (s->children == NULL && tld_sv_trim(s->text).n)
        error(c, s, "expected child elements, found text");
}

static bool in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

static void top(struct ctx *c, const struct tld_xml_node *n)
{
    static const char *const ours[] = {"global", "alerts", "ruleset", "remote", "auth", "manager"};
    if (in_list(n->name, ours, sizeof ours / sizeof *ours)) {
        section(c, n->name, n);
        return;
    }
    if (in_list(n->name, collector_sections,
                sizeof collector_sections / sizeof *collector_sections))
        return;
    if (in_list(n->name, ignored_sections, sizeof ignored_sections / sizeof *ignored_sections)) {
        tld_diag_warn(c->diag, c->file, n->line, "<%s>: section not used by tld-manager; ignored",
                      n->name);
        return;
    }
    error(c, n, "unknown section");
}

static int walk(struct tld_mgr_config *cfg, struct tld_xml_doc *doc, struct tld_diag *diag,
                unsigned errors_before)
{
    struct ctx c = {cfg, diag, doc->file};
    for (const struct tld_xml_node *r = doc->roots; r; r = r->next) {
        if (strcmp(r->name, "ossec_config") == 0 || strcmp(r->name, "threatlockdown_config") == 0) {
            for (const struct tld_xml_node *s = r->children; s; s = s->next)
                top(&c, s);
        } else {
            error(&c, r,
                  "unknown top-level element (expected <ossec_config> or "
                  "<threatlockdown_config>)");
        }
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
    cfg->max_connections = 1024;
    cfg->auth_enabled = true;
    cfg->auth_port = 1515;
    cfg->use_password = false;
    cfg->force = false;
    cfg->rate_requests = 10;
    cfg->rate_period_s = 60;
    cfg->cert_days = 3650;
    cfg->max_agents = 10000;
    cfg->workers = 0;
    cfg->intake_max_bytes = 1ULL << 30;
    cfg->worker_queue = 1024;
    cfg->local_collection = -1;
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
           "    <use_password>no</use_password>\n"
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
