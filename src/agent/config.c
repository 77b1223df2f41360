/*
 * tld-agent configuration loader (elements in config.h). Each section is a table of rows
 * (element name, handler); a handler validates one element and stores it. Unknown elements
 * inside a section are errors; top-level sections of other components are skipped by name.
 */
#include "agent/config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/xml.h"

struct ctx {
    struct tld_agent_config *cfg;
    struct tld_diag *diag;
    const char *file;
    unsigned errors_before;
};

static void err(struct ctx *c, const struct tld_xml_node *n, const char *fmt, const char *a,
                const char *b)
{
    char msg[9000];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    tld_diag_error(c->diag, c->file, n->line, "<%s>: %s", n->name, msg);
}

static char *dup_text(const struct tld_xml_node *n)
{
    return tld_sv_dup(tld_sv_trim(n->text));
}

/* Trimmed text of a leaf element, or an error when it has children or is empty. */
static bool leaf_text(struct ctx *c, const struct tld_xml_node *n, char *buf, size_t size)
{
    if (n->children) {
        err(c, n, "expected a value, found child elements", NULL, NULL);
        return false;
    }
    struct tld_sv t = tld_sv_trim(n->text);
    if (t.n == 0) {
        err(c, n, "empty value", NULL, NULL);
        return false;
    }
    if (t.n >= size) {
        err(c, n, "value too long", NULL, NULL);
        return false;
    }
    memcpy(buf, t.p, t.n);
    buf[t.n] = 0;
    return true;
}

static bool parse_bool(struct ctx *c, const struct tld_xml_node *n, bool *out)
{
    char v[16];
    if (!leaf_text(c, n, v, sizeof v))
        return false;
    if (strcasecmp(v, "yes") == 0)
        *out = true;
    else if (strcasecmp(v, "no") == 0)
        *out = false;
    else {
        err(c, n, "'%s' is not yes or no", v, NULL);
        return false;
    }
    return true;
}

bool tld_agent_config_size(const char *s, uint64_t *out)
{
    size_t n = strlen(s), digits = 0;
    while (digits < n && isdigit((unsigned char)s[digits]))
        digits++;
    unsigned long long v;
    if (!tld_sv_to_u64(tld_sv_make(s, digits), 1ULL << 50, &v))
        return false;
    const char *u = s + digits;
    uint64_t mul;
    if (!*u || strcasecmp(u, "b") == 0)
        mul = 1;
    else if (strcasecmp(u, "k") == 0 || strcasecmp(u, "kb") == 0)
        mul = 1ULL << 10;
    else if (strcasecmp(u, "m") == 0 || strcasecmp(u, "mb") == 0)
        mul = 1ULL << 20;
    else if (strcasecmp(u, "g") == 0 || strcasecmp(u, "gb") == 0)
        mul = 1ULL << 30;
    else
        return false;
    if (v > (1ULL << 50) / mul)
        return false;
    *out = v * mul;
    return true;
}

bool tld_agent_config_time(const char *s, int64_t *out)
{
    size_t n = strlen(s), digits = 0;
    while (digits < n && isdigit((unsigned char)s[digits]))
        digits++;
    unsigned long long v;
    if (!tld_sv_to_u64(tld_sv_make(s, digits), 1ULL << 40, &v) || v == 0)
        return false;
    const char *u = s + digits;
    int64_t mul;
    if (!*u || strcmp(u, "s") == 0)
        mul = 1;
    else if (strcmp(u, "m") == 0)
        mul = 60;
    else if (strcmp(u, "h") == 0)
        mul = 3600;
    else if (strcmp(u, "d") == 0)
        mul = 86400;
    else if (strcmp(u, "w") == 0)
        mul = 604800;
    else
        return false;
    *out = (int64_t)v * mul;
    return true;
}

static bool parse_size(struct ctx *c, const struct tld_xml_node *n, uint64_t min, uint64_t max,
                       uint64_t *out)
{
    char v[64];
    if (!leaf_text(c, n, v, sizeof v))
        return false;
    uint64_t x;
    if (!tld_agent_config_size(v, &x)) {
        err(c, n, "'%s' is not a size (a number with an optional B, KB, MB or GB)", v, NULL);
        return false;
    }
    if (x < min || x > max) {
        char range[96];
        snprintf(range, sizeof range, "%llu..%llu bytes", (unsigned long long)min,
                 (unsigned long long)max);
        err(c, n, "'%s' is out of range (%s)", v, range);
        return false;
    }
    *out = x;
    return true;
}

static bool parse_time(struct ctx *c, const struct tld_xml_node *n, int64_t *out)
{
    char v[64];
    if (!leaf_text(c, n, v, sizeof v))
        return false;
    if (!tld_agent_config_time(v, out)) {
        err(c, n, "'%s' is not a time (a positive number with an optional s, m, h, d or w)", v,
            NULL);
        return false;
    }
    return true;
}

static bool parse_uint(struct ctx *c, const struct tld_xml_node *n, unsigned min, unsigned max,
                       unsigned *out)
{
    char v[32];
    if (!leaf_text(c, n, v, sizeof v))
        return false;
    unsigned long long x;
    if (!tld_sv_to_u64(tld_sv_of(v), max, &x) || x < min) {
        char range[64];
        snprintf(range, sizeof range, "%u..%u", min, max);
        err(c, n, "'%s' is not a number in %s", v, range);
        return false;
    }
    *out = (unsigned)x;
    return true;
}

static void no_attrs(struct ctx *c, const struct tld_xml_node *n, const char *allowed)
{
    for (unsigned i = 0; i < n->nattrs; i++)
        if (!allowed || strcmp(n->attrs[i].name, allowed) != 0)
            err(c, n, "unknown attribute '%s'", n->attrs[i].name, NULL);
}

/* ---- <localfile> --------------------------------------------------------------------------- */

struct fmt_row {
    const char *name;
    enum tld_logfmt fmt;
};

/* Formats whose Wazuh reader is the plain line reader are accepted and behave the same here. */
static const struct fmt_row formats[] = {
    {"syslog", TLD_LOGFMT_LINE}, {"generic", TLD_LOGFMT_LINE},  {"apache", TLD_LOGFMT_LINE},
    {"iis", TLD_LOGFMT_LINE},    {"squid", TLD_LOGFMT_LINE},    {"snort-fast", TLD_LOGFMT_LINE},
    {"json", TLD_LOGFMT_JSON},   {"docker", TLD_LOGFMT_DOCKER},
};

static void lf_log_format(struct ctx *c, const struct tld_xml_node *n, struct tld_localfile *lf)
{
    char v[64];
    if (!leaf_text(c, n, v, sizeof v))
        return;
    for (char *p = v; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        if (strcmp(v, formats[i].name) == 0) {
            lf->format = formats[i].fmt;
            snprintf(lf->format_name, sizeof lf->format_name, "%s", formats[i].name);
            return;
        }
    }
    err(c, n,
        "log_format '%s' is not supported by tld-agent (supported: syslog, generic, apache, iis, "
        "squid, snort-fast, json, docker)%s",
        v, "");
}

static void lf_location(struct ctx *c, const struct tld_xml_node *n, struct tld_localfile *lf)
{
    char v[4096];
    if (!leaf_text(c, n, v, sizeof v))
        return;
    if (v[0] != '/') {
        err(c, n, "location '%s' is not an absolute path", v, NULL);
        return;
    }
    free(lf->location);
    lf->location = strdup(v);
}

static void lf_only_future(struct ctx *c, const struct tld_xml_node *n, struct tld_localfile *lf)
{
    for (unsigned i = 0; i < n->nattrs; i++) {
        if (strcmp(n->attrs[i].name, "max-size") != 0) {
            err(c, n, "unknown attribute '%s'", n->attrs[i].name, NULL);
            continue;
        }
        char *v = tld_sv_dup(tld_sv_trim(n->attrs[i].value));
        if (!v || !tld_agent_config_size(v, &lf->future_max_size))
            err(c, n, "max-size '%s' is not a size", v, NULL);
        free(v);
    }
    parse_bool(c, n, &lf->only_future);
}

static void lf_age(struct ctx *c, const struct tld_xml_node *n, struct tld_localfile *lf)
{
    no_attrs(c, n, NULL);
    parse_time(c, n, &lf->age_s);
}

static void lf_exclude(struct ctx *c, const struct tld_xml_node *n, struct tld_localfile *lf)
{
    char v[4096];
    no_attrs(c, n, NULL);
    if (!leaf_text(c, n, v, sizeof v))
        return;
    if (lf->nexclude == TLD_CONFIG_MAX_EXCLUDES) {
        err(c, n, "too many exclude elements (at most 32)", NULL, NULL);
        return;
    }
    lf->exclude[lf->nexclude++] = strdup(v);
}

static void lf_label(struct ctx *c, const struct tld_xml_node *n, struct tld_localfile *lf)
{
    const struct tld_sv *key = tld_xml_attr(n, "key");
    no_attrs(c, n, "key");
    if (!key || tld_sv_trim(*key).n == 0) {
        err(c, n, "a label needs a key attribute", NULL, NULL);
        return;
    }
    if (key->p[0] == '_') {
        err(c, n, "label keys starting with '_' are reserved", NULL, NULL);
        return;
    }
    if (n->children) {
        err(c, n, "expected a value, found child elements", NULL, NULL);
        return;
    }
    if (lf->nlabels == TLD_CONFIG_MAX_LABELS) {
        err(c, n, "too many labels (at most 32)", NULL, NULL);
        return;
    }
    lf->labels[lf->nlabels].key = tld_sv_dup(tld_sv_trim(*key));
    lf->labels[lf->nlabels].value = dup_text(n);
    lf->nlabels++;
}

static void lf_target(struct ctx *c, const struct tld_xml_node *n, struct tld_localfile *lf)
{
    char v[256];
    if (leaf_text(c, n, v, sizeof v) && strcmp(v, "agent") != 0)
        err(c, n, "target '%s' is not supported (only 'agent')", v, NULL);
}

struct lf_row {
    const char *name;
    void (*fn)(struct ctx *, const struct tld_xml_node *, struct tld_localfile *);
    bool nocase; /* Wazuh compares some names case-insensitively */
};

static const struct lf_row lf_rows[] = {
    {"location", lf_location, false},
    {"log_format", lf_log_format, true},
    {"only-future-events", lf_only_future, false},
    {"age", lf_age, false},
    {"exclude", lf_exclude, true},
    {"label", lf_label, false},
    {"target", lf_target, false},
};

/* Options Wazuh has that this agent deliberately does not implement. */
static const char *const lf_unsupported[] = {
    "command",    "frequency",       "alias", "ignore", "restrict",       "ignore_binaries",
    "out_format", "multiline_regex", "query", "filter", "reconnect_time",
};

static void section_localfile(struct ctx *c, const struct tld_xml_node *s)
{
    struct tld_agent_config *cfg = c->cfg;
    no_attrs(c, s, NULL);
    if (cfg->nfiles == TLD_CONFIG_MAX_LOCALFILES) {
        err(c, s, "too many localfile sections (at most 1024)", NULL, NULL);
        return;
    }
    struct tld_localfile *grown = realloc(cfg->files, (cfg->nfiles + 1) * sizeof *grown);
    if (!grown) {
        err(c, s, "out of memory", NULL, NULL);
        return;
    }
    cfg->files = grown;
    struct tld_localfile *lf = &cfg->files[cfg->nfiles];
    memset(lf, 0, sizeof *lf);
    lf->format = TLD_LOGFMT_LINE;
    lf->only_future = true;
    lf->future_max_size = 10u << 20;
    lf->file = strdup(c->file);
    lf->line = s->line;
    cfg->nfiles++;
    bool have_format = false, have_location = false;
    for (const struct tld_xml_node *n = s->children; n; n = n->next) {
        const struct lf_row *row = NULL;
        for (size_t i = 0; i < sizeof lf_rows / sizeof *lf_rows; i++)
            if (lf_rows[i].nocase ? strcasecmp(n->name, lf_rows[i].name) == 0
                                  : strcmp(n->name, lf_rows[i].name) == 0)
                row = &lf_rows[i];
        if (row) {
            have_format |= row->fn == lf_log_format;
            have_location |= row->fn == lf_location;
            if (row->fn != lf_only_future && row->fn != lf_label && row->fn != lf_age &&
                row->fn != lf_exclude)
                no_attrs(c, n, NULL);
            row->fn(c, n, lf);
            continue;
        }
        bool unsupported = false;
        for (size_t i = 0; i < sizeof lf_unsupported / sizeof *lf_unsupported; i++)
            if (strcasecmp(n->name, lf_unsupported[i]) == 0)
                unsupported = true;
        err(c, n,
            unsupported ? "not supported by tld-agent%s%s" : "unknown element in <localfile>%s%s",
            NULL, NULL);
    }
    if (!have_location)
        err(c, s, "missing <location>", NULL, NULL);
    if (!have_format)
        err(c, s, "missing <log_format>", NULL, NULL);
    if (lf->nlabels && lf->format != TLD_LOGFMT_JSON)
        tld_diag_warn(c->diag, c->file, s->line,
                      "<localfile>: labels are only added to log_format json; ignored here");
}

/* ---- <wodle name="docker-listener"> -------------------------------------------------------- */

static void section_wodle(struct ctx *c, const struct tld_xml_node *s)
{
    const struct tld_sv *name = tld_xml_attr(s, "name");
    if (!name) {
        err(c, s, "missing name attribute", NULL, NULL);
        return;
    }
    if (!tld_sv_eq_cstr(*name, "docker-listener"))
        return; /* another Wazuh module: not ours to run */
    struct tld_docker_config *d = &c->cfg->docker;
    d->enabled = true;
    for (const struct tld_xml_node *n = s->children; n; n = n->next) {
        char v[4096];
        no_attrs(c, n, NULL);
        if (strcmp(n->name, "disabled") == 0) {
            bool b;
            if (parse_bool(c, n, &b))
                d->enabled = !b;
        } else if (strcmp(n->name, "interval") == 0) {
            parse_time(c, n, &d->interval_s);
        } else if (strcmp(n->name, "attempts") == 0) {
            parse_uint(c, n, 0, 1000000, &d->attempts);
        } else if (strcmp(n->name, "run_on_start") == 0) {
            parse_bool(c, n, &d->run_on_start);
        } else if (strcmp(n->name, "socket") == 0) {
            if (leaf_text(c, n, v, sizeof v)) {
                if (v[0] != '/' || strlen(v) >= 108)
                    err(c, n, "socket '%s' is not an absolute path of at most 107 bytes", v, NULL);
                free(d->socket);
                d->socket = strdup(v);
            }
        } else if (strcmp(n->name, "api_version") == 0) {
            if (leaf_text(c, n, v, sizeof v)) {
                free(d->api_version);
                d->api_version = NULL;
                unsigned maj, min;
                char extra;
                if (strcmp(v, "auto") == 0)
                    continue;
                if (sscanf(v, "%u.%u%c", &maj, &min, &extra) != 2 || maj != 1)
                    err(c, n, "api_version '%s' is not 'auto' or 1.N", v, NULL);
                else
                    d->api_version = strdup(v);
            }
        } else if (strcmp(n->name, "location") == 0) {
            if (leaf_text(c, n, v, sizeof v)) {
                free(d->location);
                d->location = strdup(v);
            }
        } else if (strcmp(n->name, "queue_size") == 0) {
            parse_uint(c, n, 16, 1000000, &d->queue_size);
        } else if (strcmp(n->name, "inspect") == 0) {
            parse_bool(c, n, &d->inspect);
        } else {
            err(c, n, "unknown element in <wodle name=\"docker-listener\">%s%s", NULL, NULL);
        }
    }
}

/* ---- <client> ------------------------------------------------------------------------------- */

static void client_server(struct ctx *c, const struct tld_xml_node *s)
{
    struct tld_agent_config *cfg = c->cfg;
    if (cfg->nservers == TLD_CONFIG_MAX_SERVERS) {
        err(c, s, "too many servers (at most 8)", NULL, NULL);
        return;
    }
    struct tld_server_config *sv = &cfg->servers[cfg->nservers++];
    sv->port = 1514;
    for (const struct tld_xml_node *n = s->children; n; n = n->next) {
        char v[1024];
        no_attrs(c, n, NULL);
        if (strcmp(n->name, "address") == 0) {
            if (leaf_text(c, n, v, sizeof v)) {
                free(sv->address);
                sv->address = strdup(v);
            }
        } else if (strcmp(n->name, "port") == 0) {
            parse_uint(c, n, 1, 65535, &sv->port);
        } else if (strcmp(n->name, "protocol") == 0) {
            if (leaf_text(c, n, v, sizeof v)) {
                if (strcasecmp(v, "tcp") != 0)
                    err(c, n, "protocol '%s' is not supported (only tcp)", v, NULL);
                free(sv->protocol);
                sv->protocol = strdup("tcp");
            }
        } else if (strcmp(n->name, "max_retries") == 0 || strcmp(n->name, "retry_interval") == 0) {
            /* accepted for compatibility; the forwarder has its own bounded backoff */
        } else {
            err(c, n, "unknown element in <server>%s%s", NULL, NULL);
        }
    }
    if (!sv->address)
        err(c, s, "missing <address>", NULL, NULL);
}

static void section_client(struct ctx *c, const struct tld_xml_node *s)
{
    static const char *const accepted[] = {"config-profile", "notify_time",   "time-reconnect",
                                           "auto_restart",   "crypto_method", "enrollment"};
    for (const struct tld_xml_node *n = s->children; n; n = n->next) {
        if (strcmp(n->name, "server") == 0) {
            client_server(c, n);
            continue;
        }
        bool ok = false;
        for (size_t i = 0; i < sizeof accepted / sizeof *accepted; i++)
            ok |= strcmp(n->name, accepted[i]) == 0;
        if (!ok)
            err(c, n, "unknown element in <client>%s%s", NULL, NULL);
    }
}

/* ---- our sections ---------------------------------------------------------------------------- */

static void section_logcollector(struct ctx *c, const struct tld_xml_node *s)
{
    struct tld_agent_config *cfg = c->cfg;
    for (const struct tld_xml_node *n = s->children; n; n = n->next) {
        uint64_t v;
        no_attrs(c, n, NULL);
        if (strcmp(n->name, "max_line_length") == 0) {
            if (parse_size(c, n, 1024, TLD_CONFIG_MAX_TEXT, &v))
                cfg->max_line = (size_t)v;
        } else if (strcmp(n->name, "max_message_length") == 0) {
            if (parse_size(c, n, 1024, TLD_CONFIG_MAX_TEXT, &v))
                cfg->max_message = (size_t)v;
        } else if (strcmp(n->name, "scan_frequency") == 0) {
            int64_t t;
            if (parse_time(c, n, &t))
                cfg->scan_frequency_s = t > 86400 ? 86400 : (unsigned)t;
        } else if (strcmp(n->name, "max_files") == 0) {
            parse_uint(c, n, 1, 100000, &cfg->max_files);
        } else {
            err(c, n, "unknown element in <logcollector>%s%s", NULL, NULL);
        }
    }
}

static void section_spool(struct ctx *c, const struct tld_xml_node *s)
{
    for (const struct tld_xml_node *n = s->children; n; n = n->next) {
        no_attrs(c, n, NULL);
        if (strcmp(n->name, "max_size") == 0)
            parse_size(c, n, 1u << 20, 1ULL << 40, &c->cfg->spool_max_bytes);
        else
            err(c, n, "unknown element in <spool>%s%s", NULL, NULL);
    }
}

struct section_row {
    const char *name;
    void (*fn)(struct ctx *, const struct tld_xml_node *);
};

static const struct section_row sections[] = {
    {"localfile", section_localfile},       {"wodle", section_wodle}, {"client", section_client},
    {"logcollector", section_logcollector}, {"spool", section_spool},
};

/* Sections of the manager and of Wazuh modules this agent does not run: skipped. */
static const char *const foreign[] = {
    "global",
    "alerts",
    "remote",
    "ruleset",
    "rule_test",
    "syscheck",
    "rootcheck",
    "sca",
    "vulnerability-detector",
    "vulnerability-detection",
    "indexer",
    "command",
    "active-response",
    "auth",
    "cluster",
    "logging",
    "labels",
    "client_buffer",
    "integration",
    "syslog_output",
    "email_alerts",
    "reports",
    "database_output",
    "socket",
    "osquery",
    "gcp-pubsub",
    "github",
    "office365",
    "ms-graph",
    "agent-upgrade",
    "task-manager",
    "localfile_defaults",
    "api",
    "storage",
    "manager",
    "enrollment",
    "dashboard",
    "anti_flooding",
};

static void top_element(struct ctx *c, const struct tld_xml_node *n, bool in_root)
{
    for (size_t i = 0; i < sizeof sections / sizeof *sections; i++) {
        if (strcmp(n->name, sections[i].name) == 0) {
            sections[i].fn(c, n);
            return;
        }
    }
    for (size_t i = 0; i < sizeof foreign / sizeof *foreign; i++)
        if (strcmp(n->name, foreign[i]) == 0)
            return;
    err(c, n,
        in_root ? "unknown section%s%s"
                : "unknown top-level element (expected <ossec_config> or "
                  "<threatlockdown_config>)%s%s",
        NULL, NULL);
}

void tld_agent_config_init(struct tld_agent_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->docker.attempts = 5;
    cfg->docker.interval_s = 600;
    cfg->docker.run_on_start = true;
    cfg->docker.queue_size = 4096;
    cfg->docker.inspect = true;
    cfg->spool_max_bytes = 256u << 20;
    cfg->max_line = 64u << 10;
    cfg->max_message = 256u << 10;
    cfg->scan_frequency_s = 10;
    cfg->max_files = 1000;
}

void tld_agent_config_fini(struct tld_agent_config *cfg)
{
    for (unsigned i = 0; i < cfg->nfiles; i++) {
        struct tld_localfile *lf = &cfg->files[i];
        free(lf->location);
        free(lf->file);
        for (unsigned j = 0; j < lf->nexclude; j++)
            free(lf->exclude[j]);
        for (unsigned j = 0; j < lf->nlabels; j++) {
            free(lf->labels[j].key);
            free(lf->labels[j].value);
        }
    }
    free(cfg->files);
    free(cfg->docker.socket);
    free(cfg->docker.api_version);
    free(cfg->docker.location);
    for (unsigned i = 0; i < cfg->nservers; i++) {
        free(cfg->servers[i].address);
        free(cfg->servers[i].protocol);
    }
    memset(cfg, 0, sizeof *cfg);
}

static int apply(struct tld_agent_config *cfg, const struct tld_xml_doc *doc, const char *name,
                 struct tld_diag *diag)
{
    struct ctx c = {cfg, diag, name, diag->errors};
    for (const struct tld_xml_node *r = doc->roots; r; r = r->next) {
        if (strcmp(r->name, "ossec_config") == 0 || strcmp(r->name, "threatlockdown_config") == 0) {
            for (const struct tld_xml_node *n = r->children; n; n = n->next)
                top_element(&c, n, true);
        } else {
            top_element(&c, r, false);
        }
    }
    if (!cfg->docker.socket)
        cfg->docker.socket = strdup("/var/run/docker.sock");
    if (!cfg->docker.location)
        cfg->docker.location = strdup("Wazuh-Docker");
    return diag->errors > c.errors_before ? TLD_EPARSE : 0;
}

int tld_agent_config_parse(struct tld_agent_config *cfg, const char *buf, size_t n,
                           const char *name, struct tld_diag *diag)
{
    struct tld_xml_doc *doc = NULL;
    int rc = tld_xml_parse(buf, n, name, &doc, diag);
    if (rc == 0)
        rc = apply(cfg, doc, name, diag);
    tld_xml_free(doc);
    return rc;
}

int tld_agent_config_load(struct tld_agent_config *cfg, const char *path, struct tld_diag *diag)
{
    struct tld_xml_doc *doc = NULL;
    int rc = tld_xml_load(path, &doc, diag);
    if (rc == 0)
        rc = apply(cfg, doc, path, diag);
    tld_xml_free(doc);
    return rc;
}
