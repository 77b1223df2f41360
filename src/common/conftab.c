/*
 * Configuration tables (see conftab.h): the duration and size spellings, the value readers
 * that report a bad value with file:line and the element's name, and the walk that drives a
 * section through its table of rows.
 */
#include "common/conftab.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"

struct unit {
    const char *name;
    unsigned long long mult;
};

/* "<digits><unit>" with the unit from `units` (case-insensitive), the result at most max. */
static int scaled(const char *s, const struct unit *units, size_t nunits, unsigned long long max,
                  unsigned long long *out)
{
    size_t d = 0;
    while (isdigit((unsigned char)s[d]))
        d++;
    unsigned long long v;
    if (!tld_sv_to_u64(tld_sv_make(s, d), max, &v))
        return TLD_EINVAL;
    for (size_t i = 0; i < nunits; i++) {
        if (strcasecmp(s + d, units[i].name) == 0) {
            if (v > max / units[i].mult)
                return TLD_EINVAL;
            *out = v * units[i].mult;
            return 0;
        }
    }
    return TLD_EINVAL;
}

int tld_conf_parse_duration(const char *s, int64_t *secs)
{
    static const struct unit units[] = {{"", 1},     {"s", 1},     {"m", 60},
                                        {"h", 3600}, {"d", 86400}, {"w", 604800}};
    unsigned long long v;
    int rc = scaled(s, units, sizeof units / sizeof *units, TLD_CONF_MAX_DURATION, &v);
    if (rc == 0)
        *secs = (int64_t)v;
    return rc;
}

int tld_conf_parse_size(const char *s, uint64_t *bytes)
{
    static const struct unit units[] = {
        {"", 1},           {"b", 1},           {"k", 1ULL << 10}, {"kb", 1ULL << 10},
        {"m", 1ULL << 20}, {"mb", 1ULL << 20}, {"g", 1ULL << 30}, {"gb", 1ULL << 30}};
    unsigned long long v;
    int rc = scaled(s, units, sizeof units / sizeof *units, TLD_CONF_MAX_SIZE, &v);
    if (rc == 0)
        *bytes = v;
    return rc;
}

static void report(struct tld_conf_ctx *c, const struct tld_xml_node *n, bool error,
                   const char *fmt, va_list ap)
{
    char msg[9000];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (error)
        tld_diag_error(c->diag, c->file, n->line, "<%s>: %s", n->name, msg);
    else
        tld_diag_warn(c->diag, c->file, n->line, "<%s>: %s", n->name, msg);
}

void tld_conf_error(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(c, n, true, fmt, ap);
    va_end(ap);
}

void tld_conf_warn(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(c, n, false, fmt, ap);
    va_end(ap);
}

bool tld_conf_text(struct tld_conf_ctx *c, const struct tld_xml_node *n, char *buf, size_t size)
{
    if (n->children) {
        tld_conf_error(c, n, "expected a value, found child elements");
        return false;
    }
    struct tld_sv t = tld_sv_trim(n->text);
    if (t.n == 0) {
        tld_conf_error(c, n, "empty value");
        return false;
    }
    if (t.n >= size) {
        tld_conf_error(c, n, "value too long (at most %zu bytes)", size - 1);
        return false;
    }
    memcpy(buf, t.p, t.n);
    buf[t.n] = 0;
    return true;
}

/* yes -> 1, no -> 0, auto (when allowed) -> -1. */
static bool yes_no(struct tld_conf_ctx *c, const struct tld_xml_node *n, bool allow_auto, int *out)
{
    char v[16];
    if (!tld_conf_text(c, n, v, sizeof v))
        return false;
    if (strcasecmp(v, "yes") == 0)
        *out = 1;
    else if (strcasecmp(v, "no") == 0)
        *out = 0;
    else if (allow_auto && strcasecmp(v, "auto") == 0)
        *out = -1;
    else {
        tld_conf_error(c, n, "'%s' is not %s", v, allow_auto ? "yes, no or auto" : "yes or no");
        return false;
    }
    return true;
}

bool tld_conf_bool(struct tld_conf_ctx *c, const struct tld_xml_node *n, bool *out)
{
    int b;
    if (!yes_no(c, n, false, &b))
        return false;
    *out = b == 1;
    return true;
}

bool tld_conf_uint(struct tld_conf_ctx *c, const struct tld_xml_node *n, unsigned long long min,
                   unsigned long long max, unsigned *out)
{
    char v[32];
    if (!tld_conf_text(c, n, v, sizeof v))
        return false;
    unsigned long long x;
    if (!tld_sv_to_u64(tld_sv_of(v), max, &x) || x < min) {
        tld_conf_error(c, n, "'%s' is not a number from %llu to %llu", v, min, max);
        return false;
    }
    *out = (unsigned)x;
    return true;
}

bool tld_conf_duration(struct tld_conf_ctx *c, const struct tld_xml_node *n, int64_t min,
                       int64_t max, int64_t *out)
{
    char v[64];
    if (!tld_conf_text(c, n, v, sizeof v))
        return false;
    int64_t x;
    if (tld_conf_parse_duration(v, &x) != 0 || x < min || x > max) {
        tld_conf_error(c, n,
                       "'%s' is not a duration from %llds to %llds (a number with an optional "
                       "s, m, h, d or w: 90, 30s, 10m, 1h, 1d)",
                       v, (long long)min, (long long)max);
        return false;
    }
    *out = x;
    return true;
}

bool tld_conf_size(struct tld_conf_ctx *c, const struct tld_xml_node *n, uint64_t min, uint64_t max,
                   uint64_t *out)
{
    char v[64];
    if (!tld_conf_text(c, n, v, sizeof v))
        return false;
    uint64_t x;
    if (tld_conf_parse_size(v, &x) != 0 || x < min || x > max) {
        tld_conf_error(c, n,
                       "'%s' is not a size from %llu to %llu bytes (a number with an optional "
                       "B, K, KB, M, MB, G or GB: 512K, 64MB, 2G)",
                       v, (unsigned long long)min, (unsigned long long)max);
        return false;
    }
    *out = x;
    return true;
}

void tld_conf_no_attrs(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *allowed)
{
    for (unsigned i = 0; i < n->nattrs; i++)
        if (!allowed || strcmp(n->attrs[i].name, allowed) != 0)
            tld_conf_error(c, n, "unknown attribute '%s'", n->attrs[i].name);
}

static bool one_of(const char *v, const char *list)
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

static void apply_string(struct tld_conf_ctx *c, const struct tld_conf_row *row,
                         const struct tld_xml_node *n, char *base)
{
    char v[4096];
    if (!tld_conf_text(c, n, v, sizeof v))
        return;
    if (row->kind == TLD_CONF_TEXT) {
        row->put(c, n, v, base + row->off);
        return;
    }
    if (row->kind == TLD_CONF_FIXED) {
        if (!one_of(v, row->text))
            tld_conf_error(c, n, "'%s' is not supported (only %s)", v, row->text);
        return;
    }
    char **dst = (char **)(base + row->off);
    free(*dst);
    *dst = strdup(v);
}

void tld_conf_apply(struct tld_conf_ctx *c, const struct tld_conf_row *row,
                    const struct tld_xml_node *n, void *obj)
{
    char *base = obj;
    int b;
    if (row->kind != TLD_CONF_SET && !(row->flags & TLD_CONF_ANY_ATTRS))
        tld_conf_no_attrs(c, n, NULL);
    switch (row->kind) {
    case TLD_CONF_BOOL:
    case TLD_CONF_NOT_BOOL:
        if (yes_no(c, n, false, &b))
            *(bool *)(base + row->off) = row->kind == TLD_CONF_BOOL ? b == 1 : b == 0;
        return;
    case TLD_CONF_TRI:
        if (yes_no(c, n, true, &b))
            *(int *)(base + row->off) = b;
        return;
    case TLD_CONF_UINT:
        tld_conf_uint(c, n, row->min, row->max, (unsigned *)(base + row->off));
        return;
    case TLD_CONF_DURATION:
        tld_conf_duration(c, n, (int64_t)row->min, (int64_t)row->max, (int64_t *)(base + row->off));
        return;
    case TLD_CONF_SIZE:
        tld_conf_size(c, n, row->min, row->max, (uint64_t *)(base + row->off));
        return;
    case TLD_CONF_STR:
    case TLD_CONF_FIXED:
    case TLD_CONF_TEXT:
        apply_string(c, row, n, base);
        return;
    case TLD_CONF_SET:
        row->set(c, n, base + row->off);
        return;
    case TLD_CONF_ACCEPT:
        return;
    case TLD_CONF_IGNORE:
        tld_conf_warn(c, n, "not used by %s; ignored", c->daemon);
        return;
    case TLD_CONF_UNSUPPORTED:
        tld_conf_error(c, n, "not supported by %s", c->daemon);
        return;
    }
}

const struct tld_conf_row *tld_conf_find(const struct tld_conf_row *rows, size_t nrows,
                                         const char *name)
{
    for (size_t i = 0; i < nrows; i++) {
        bool nocase = rows[i].flags & TLD_CONF_NOCASE;
        if (nocase ? strcasecmp(name, rows[i].name) == 0 : strcmp(name, rows[i].name) == 0)
            return &rows[i];
    }
    return NULL;
}

void tld_conf_section(struct tld_conf_ctx *c, const struct tld_conf_row *rows, size_t nrows,
                      const struct tld_xml_node *s, void *obj, const char *what)
{
    for (const struct tld_xml_node *n = s->children; n; n = n->next) {
        const struct tld_conf_row *row = tld_conf_find(rows, nrows, n->name);
        if (row)
            tld_conf_apply(c, row, n, obj);
        else
            tld_conf_error(c, n, "unknown element in <%s>", what);
    }
    if (!s->children && tld_sv_trim(s->text).n)
        tld_conf_error(c, s, "expected child elements, found text");
}

bool tld_conf_in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

bool tld_conf_other_module(const char *name)
{
    static const char *const modules[] = {
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
        "api",
        "storage",
        "dashboard",
        "enrollment",
    };
    return tld_conf_in_list(name, modules, TLD_CONF_NROWS(modules));
}

bool tld_conf_is_root(const struct tld_xml_node *n)
{
    return strcmp(n->name, "ossec_config") == 0 || strcmp(n->name, "threatlockdown_config") == 0;
}
