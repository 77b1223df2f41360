/*
 * The collection sections of the configuration (elements in collect_config.h). Each section is
 * a table of rows (common/conftab.h); rows with a setter handle the elements that need more
 * than a bounded value (locations, formats, labels, attributes).
 */
#include "collect/collect_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

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

static void lf_log_format(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v,
                          void *obj)
{
    struct tld_localfile *lf = obj;
    char low[64];
    snprintf(low, sizeof low, "%s", v);
    for (char *p = low; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    for (size_t i = 0; i < TLD_CONF_NROWS(formats); i++) {
        if (strcmp(low, formats[i].name) == 0) {
            lf->format = formats[i].fmt;
            snprintf(lf->format_name, sizeof lf->format_name, "%s", formats[i].name);
            return;
        }
    }
    tld_conf_error(c, n,
                   "log_format '%s' is not supported by %s (supported: syslog, generic, apache, "
                   "iis, squid, snort-fast, json, docker)",
                   low, c->daemon);
}

static void lf_location(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v,
                        void *obj)
{
    struct tld_localfile *lf = obj;
    if (v[0] != '/') {
        tld_conf_error(c, n, "location '%s' is not an absolute path", v);
        return;
    }
    free(lf->location);
    lf->location = strdup(v);
}

static void lf_only_future(struct tld_conf_ctx *c, const struct tld_xml_node *n, void *obj)
{
    struct tld_localfile *lf = obj;
    for (unsigned i = 0; i < n->nattrs; i++) {
        if (strcmp(n->attrs[i].name, "max-size") != 0) {
            tld_conf_error(c, n, "unknown attribute '%s'", n->attrs[i].name);
            continue;
        }
        char *v = tld_sv_dup(tld_sv_trim(n->attrs[i].value));
        if (!v || tld_conf_parse_size(v, &lf->future_max_size) != 0)
            tld_conf_error(c, n, "max-size '%s' is not a size", v ? v : "");
        free(v);
    }
    tld_conf_bool(c, n, &lf->only_future);
}

static void lf_exclude(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v,
                       void *obj)
{
    struct tld_localfile *lf = obj;
    if (lf->nexclude == TLD_CONFIG_MAX_EXCLUDES) {
        tld_conf_error(c, n, "too many exclude elements (at most %d)", TLD_CONFIG_MAX_EXCLUDES);
        return;
    }
    lf->exclude[lf->nexclude++] = strdup(v);
}

static void lf_label(struct tld_conf_ctx *c, const struct tld_xml_node *n, void *obj)
{
    struct tld_localfile *lf = obj;
    const struct tld_sv *key = tld_xml_attr(n, "key");
    tld_conf_no_attrs(c, n, "key");
    if (!key || tld_sv_trim(*key).n == 0) {
        tld_conf_error(c, n, "a label needs a key attribute");
        return;
    }
    if (key->p[0] == '_') {
        tld_conf_error(c, n, "label keys starting with '_' are reserved");
        return;
    }
    if (n->children) {
        tld_conf_error(c, n, "expected a value, found child elements");
        return;
    }
    if (lf->nlabels == TLD_CONFIG_MAX_LABELS) {
        tld_conf_error(c, n, "too many labels (at most %d)", TLD_CONFIG_MAX_LABELS);
        return;
    }
    lf->labels[lf->nlabels].key = tld_sv_dup(tld_sv_trim(*key));
    lf->labels[lf->nlabels].value = tld_sv_dup(tld_sv_trim(n->text));
    lf->nlabels++;
}

static void lf_target(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v,
                      void *obj)
{
    if (strcmp(v, "agent") != 0)
        tld_conf_error(c, n, "target '%s' is not supported (only 'agent')", v);
}

#define LF(f) offsetof(struct tld_localfile, f)

static const struct tld_conf_row lf_rows[] = {
    {"location", TLD_CONF_TEXT, 0, 0, 0, NULL, NULL, 0, lf_location},
    {"log_format", TLD_CONF_TEXT, 0, 0, 0, NULL, NULL, TLD_CONF_NOCASE, lf_log_format},
    {"only-future-events", TLD_CONF_SET, 0, 0, 0, NULL, lf_only_future, 0, NULL},
    {"age", TLD_CONF_DURATION, LF(age_s), 1, TLD_CONF_MAX_DURATION, NULL, NULL, 0, NULL},
    {"exclude", TLD_CONF_TEXT, 0, 0, 0, NULL, NULL, TLD_CONF_NOCASE, lf_exclude},
    {"label", TLD_CONF_SET, 0, 0, 0, NULL, lf_label, 0, NULL},
    {"target", TLD_CONF_TEXT, 0, 0, 0, NULL, NULL, 0, lf_target},
    /* Options Wazuh has that the collector deliberately does not implement. */
    TLD_CONF_LACKED("command"),
    TLD_CONF_LACKED("frequency"),
    TLD_CONF_LACKED("alias"),
    TLD_CONF_LACKED("ignore"),
    TLD_CONF_LACKED("restrict"),
    TLD_CONF_LACKED("ignore_binaries"),
    TLD_CONF_LACKED("out_format"),
    TLD_CONF_LACKED("multiline_regex"),
    TLD_CONF_LACKED("query"),
    TLD_CONF_LACKED("filter"),
    TLD_CONF_LACKED("reconnect_time"),
};

static struct tld_localfile *new_localfile(struct tld_collect_config *cfg, struct tld_conf_ctx *c,
                                           const struct tld_xml_node *s)
{
    if (cfg->nfiles == TLD_CONFIG_MAX_LOCALFILES) {
        tld_conf_error(c, s, "too many localfile sections (at most %d)", TLD_CONFIG_MAX_LOCALFILES);
        return NULL;
    }
    struct tld_localfile *grown = realloc(cfg->files, (cfg->nfiles + 1) * sizeof *grown);
    if (!grown) {
        tld_conf_error(c, s, "out of memory");
        return NULL;
    }
    cfg->files = grown;
    struct tld_localfile *lf = &cfg->files[cfg->nfiles++];
    memset(lf, 0, sizeof *lf);
    lf->format = TLD_LOGFMT_LINE;
    lf->only_future = true;
    lf->future_max_size = 10u << 20;
    lf->file = strdup(c->file);
    lf->line = s->line;
    return lf;
}

/* Whether section s has an element read by the row `name` (valid or not). */
static bool has_row(const struct tld_xml_node *s, const char *name)
{
    for (const struct tld_xml_node *n = s->children; n; n = n->next) {
        const struct tld_conf_row *row = tld_conf_find(lf_rows, TLD_CONF_NROWS(lf_rows), n->name);
        if (row && strcmp(row->name, name) == 0)
            return true;
    }
    return false;
}

static void section_localfile(struct tld_collect_config *cfg, struct tld_conf_ctx *c,
                              const struct tld_xml_node *s)
{
    tld_conf_no_attrs(c, s, NULL);
    struct tld_localfile *lf = new_localfile(cfg, c, s);
    if (!lf)
        return;
    tld_conf_section(c, lf_rows, TLD_CONF_NROWS(lf_rows), s, lf, "localfile");
    if (!has_row(s, "location"))
        tld_conf_error(c, s, "missing <location>");
    if (!has_row(s, "log_format"))
        tld_conf_error(c, s, "missing <log_format>");
    if (lf->nlabels && lf->format != TLD_LOGFMT_JSON)
        tld_conf_warn(c, s, "labels are only added to log_format json; ignored here");
}

/* ---- <wodle name="docker-listener"> -------------------------------------------------------- */

static void dk_socket(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v,
                      void *obj)
{
    struct tld_docker_config *d = obj;
    if (v[0] != '/' || strlen(v) >= 108)
        tld_conf_error(c, n, "socket '%s' is not an absolute path of at most 107 bytes", v);
    free(d->socket);
    d->socket = strdup(v);
}

static void dk_api_version(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v,
                           void *obj)
{
    struct tld_docker_config *d = obj;
    free(d->api_version);
    d->api_version = NULL;
    unsigned maj, min;
    char extra;
    if (strcmp(v, "auto") == 0)
        return;
    if (sscanf(v, "%u.%u%c", &maj, &min, &extra) != 2 || maj != 1)
        tld_conf_error(c, n, "api_version '%s' is not 'auto' or 1.N", v);
    else
        d->api_version = strdup(v);
}

#define DK(f) offsetof(struct tld_docker_config, f)

static const struct tld_conf_row docker_rows[] = {
    {"disabled", TLD_CONF_NOT_BOOL, DK(enabled), 0, 0, NULL, NULL, 0, NULL},
    {"interval", TLD_CONF_DURATION, DK(interval_s), 1, TLD_CONF_MAX_DURATION, NULL, NULL, 0, NULL},
    {"attempts", TLD_CONF_UINT, DK(attempts), 0, 1000000, NULL, NULL, 0, NULL},
    {"run_on_start", TLD_CONF_BOOL, DK(run_on_start), 0, 0, NULL, NULL, 0, NULL},
    {"socket", TLD_CONF_TEXT, 0, 0, 0, NULL, NULL, 0, dk_socket},
    {"api_version", TLD_CONF_TEXT, 0, 0, 0, NULL, NULL, 0, dk_api_version},
    {"location", TLD_CONF_STR, DK(location), 0, 0, NULL, NULL, 0, NULL},
    {"queue_size", TLD_CONF_UINT, DK(queue_size), 16, 1000000, NULL, NULL, 0, NULL},
    {"inspect", TLD_CONF_BOOL, DK(inspect), 0, 0, NULL, NULL, 0, NULL},
};

static void section_wodle(struct tld_collect_config *cfg, struct tld_conf_ctx *c,
                          const struct tld_xml_node *s)
{
    const struct tld_sv *name = tld_xml_attr(s, "name");
    if (!name) {
        tld_conf_error(c, s, "missing name attribute");
        return;
    }
    if (!tld_sv_eq_cstr(*name, "docker-listener"))
        return; /* another Wazuh module: not ours to run */
    cfg->docker.enabled = true;
    tld_conf_section(c, docker_rows, TLD_CONF_NROWS(docker_rows), s, &cfg->docker,
                     "wodle name=\"docker-listener\"");
}

/* ---- our sections ---------------------------------------------------------------------------- */

/* size_t bounds and a clamped scan period do not fit the table's plain kinds. */
static void lc_text_bound(struct tld_conf_ctx *c, const struct tld_xml_node *n, size_t *out)
{
    uint64_t v;
    tld_conf_no_attrs(c, n, NULL);
    if (tld_conf_size(c, n, 1024, TLD_CONFIG_MAX_TEXT, &v))
        *out = (size_t)v;
}

static void lc_max_line(struct tld_conf_ctx *c, const struct tld_xml_node *n, void *obj)
{
    lc_text_bound(c, n, &((struct tld_collect_config *)obj)->max_line);
}

static void lc_max_message(struct tld_conf_ctx *c, const struct tld_xml_node *n, void *obj)
{
    lc_text_bound(c, n, &((struct tld_collect_config *)obj)->max_message);
}

static void lc_scan_frequency(struct tld_conf_ctx *c, const struct tld_xml_node *n, void *obj)
{
    struct tld_collect_config *cfg = obj;
    int64_t t;
    tld_conf_no_attrs(c, n, NULL);
    if (tld_conf_duration(c, n, 1, TLD_CONF_MAX_DURATION, &t))
        cfg->scan_frequency_s = t > 86400 ? 86400 : (unsigned)t;
}

#define CC(f) offsetof(struct tld_collect_config, f)

static const struct tld_conf_row logcollector_rows[] = {
    {"max_line_length", TLD_CONF_SET, 0, 0, 0, NULL, lc_max_line, 0, NULL},
    {"max_message_length", TLD_CONF_SET, 0, 0, 0, NULL, lc_max_message, 0, NULL},
    {"scan_frequency", TLD_CONF_SET, 0, 0, 0, NULL, lc_scan_frequency, 0, NULL},
    {"max_files", TLD_CONF_UINT, CC(max_files), 1, 100000, NULL, NULL, 0, NULL},
};

static const struct tld_conf_row spool_rows[] = {
    {"max_size", TLD_CONF_SIZE, CC(spool_max_bytes), 1u << 20, 1ULL << 40, NULL, NULL, 0, NULL},
};

/* ---- sections -------------------------------------------------------------------------------- */

static const char *const owned[] = {"localfile", "wodle", "logcollector", "spool"};

bool tld_collect_config_owns(const char *name)
{
    return tld_conf_in_list(name, owned, TLD_CONF_NROWS(owned));
}

void tld_collect_config_section(struct tld_collect_config *cfg, struct tld_conf_ctx *c,
                                const struct tld_xml_node *s)
{
    if (strcmp(s->name, "localfile") == 0)
        section_localfile(cfg, c, s);
    else if (strcmp(s->name, "wodle") == 0)
        section_wodle(cfg, c, s);
    else if (strcmp(s->name, "logcollector") == 0)
        tld_conf_section(c, logcollector_rows, TLD_CONF_NROWS(logcollector_rows), s, cfg,
                         "logcollector");
    else if (strcmp(s->name, "spool") == 0)
        tld_conf_section(c, spool_rows, TLD_CONF_NROWS(spool_rows), s, cfg, "spool");
}

void tld_collect_config_init(struct tld_collect_config *cfg)
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

void tld_collect_config_fini(struct tld_collect_config *cfg)
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
    memset(cfg, 0, sizeof *cfg);
}

void tld_collect_config_finish(struct tld_collect_config *cfg)
{
    if (!cfg->docker.socket)
        cfg->docker.socket = strdup("/var/run/docker.sock");
    if (!cfg->docker.location)
        cfg->docker.location = strdup("Wazuh-Docker");
}

static void visit(struct tld_collect_config *cfg, struct tld_conf_ctx *c,
                  const struct tld_xml_node *n)
{
    if (tld_collect_config_owns(n->name))
        tld_collect_config_section(cfg, c, n);
}

int tld_collect_config_load(struct tld_collect_config *cfg, const char *path, const char *daemon,
                            struct tld_diag *diag)
{
    unsigned before = diag->errors;
    struct tld_xml_doc *doc = NULL;
    int rc = tld_xml_load(path, &doc, diag);
    if (rc)
        return rc;
    struct tld_conf_ctx c = {diag, path, daemon};
    for (const struct tld_xml_node *r = doc->roots; r; r = r->next) {
        if (!tld_conf_is_root(r))
            visit(cfg, &c, r);
        for (const struct tld_xml_node *n = tld_conf_is_root(r) ? r->children : NULL; n;
             n = n->next)
            visit(cfg, &c, n);
    }
    tld_xml_free(doc);
    tld_collect_config_finish(cfg);
    return diag->errors > before ? TLD_EPARSE : 0;
}
