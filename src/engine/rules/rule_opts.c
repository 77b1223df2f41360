/*
 * The child elements of <rule> (rules.md §3): one table row per element name — tag, handler,
 * flags, argument — and one small handler per kind of element. Names compare case-insensitively
 * except for the rows marked OPT_EXACT, which 4.14.7 only recognises in lower case (any other
 * spelling is an unknown element there too). An unknown element is fatal.
 *
 * Handlers only fill the draft; they do not touch the rule set. Elements that 4.14.7 compiles as
 * it reads them (<field>, <list check_value>) are compiled here, in element order, so their
 * errors come before those of later elements; the accumulated patterns are compiled by
 * rule_load.c once the whole rule is read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "engine/rules/iplist.h"
#include "engine/rules/lists.h"
#include "engine/rules/rule_load.h"

#define OPT_EXACT 0x1u /* element name must be written in lower case */

struct opt_def;
typedef int (*opt_fn)(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                      const struct opt_def *def);

struct opt_def {
    const char *tag;
    opt_fn fn;
    unsigned flags;
    int arg;
};

/* ---- helpers ---- */

static const char *attr_ci(const struct tld_xml_node *el, const char *name)
{
    for (unsigned i = 0; i < el->nattrs; i++)
        if (strcasecmp(el->attrs[i].name, name) == 0)
            return el->attrs[i].value.p;
    return NULL;
}

/* negate="yes|no" (case-insensitive); anything else warns and means "no". */
static bool attr_negate(struct load_ctx *lc, const struct draft *d, const struct tld_xml_node *el)
{
    const char *v = attr_ci(el, "negate");
    if (!v)
        return false;
    if (strcasecmp(v, "yes") == 0)
        return true;
    if (strcasecmp(v, "no") != 0)
        lc_warn(lc, el->line, "rule %u: <%s>: invalid value '%s' for attribute negate; using no",
                d->id, el->name, v);
    return false;
}

/* type="osmatch|osregex|pcre2" (case-insensitive); anything else warns and keeps the default. */
static enum tld_rx_kind attr_type(struct load_ctx *lc, const struct draft *d,
                                  const struct tld_xml_node *el, enum tld_rx_kind def)
{
    const char *v = attr_ci(el, "type");
    if (!v)
        return def;
    if (strcasecmp(v, "osregex") == 0)
        return TLD_RX_OSREGEX;
    if (strcasecmp(v, "osmatch") == 0)
        return TLD_RX_OSMATCH;
    if (strcasecmp(v, "pcre2") == 0)
        return TLD_RX_PCRE2;
    lc_warn(lc, el->line, "rule %u: <%s>: invalid value '%s' for attribute type; using the default",
            d->id, el->name, v);
    return def;
}

static struct dynname make_dynname(struct load_ctx *lc, const char *p, size_t n)
{
    char *s = lc_strdup(lc, p, n);
    return (struct dynname){s, (uint32_t)n, dynname_hash(p, n)};
}

static bool all_digits(struct tld_sv s)
{
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] < '0' || s.p[i] > '9')
            return false;
    return true;
}

/* ---- pattern elements ---- */

static const enum tld_rx_kind slot_default[S_COUNT] = {
    [S_MATCH] = TLD_RX_OSMATCH,       [S_REGEX] = TLD_RX_OSREGEX,    [S_PROGRAM] = TLD_RX_OSMATCH,
    [S_HOSTNAME] = TLD_RX_OSMATCH,    [S_LOCATION] = TLD_RX_OSMATCH, [S_ID] = TLD_RX_OSMATCH,
    [S_SYSTEM_NAME] = TLD_RX_OSMATCH, [S_PROTOCOL] = TLD_RX_OSMATCH, [S_ACTION] = TLD_RX_EXACT,
    [S_URL] = TLD_RX_OSMATCH,         [S_STATUS] = TLD_RX_OSMATCH,   [S_DATA] = TLD_RX_OSMATCH,
    [S_EXTRA_DATA] = TLD_RX_OSMATCH,  [S_SRCPORT] = TLD_RX_OSMATCH,  [S_DSTPORT] = TLD_RX_OSMATCH,
    [S_USER] = TLD_RX_OSMATCH,        [S_SRCGEOIP] = TLD_RX_OSMATCH, [S_DSTGEOIP] = TLD_RX_OSMATCH,
};

static int opt_pattern(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                       const struct opt_def *def)
{
    struct pat_slot *s = &d->slots[def->arg];
    if (!lc_append_text(lc, el, &s->text, el->text, !s->set))
        return TLD_EPARSE;
    s->set = true;
    s->line = el->line;
    s->negate = attr_negate(lc, d, el);
    s->kind = attr_type(lc, d, el, slot_default[def->arg]);
    return 0;
}

/* ---- texts ---- */

static int opt_description(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                           const struct opt_def *def)
{
    /* The first newline of each piece becomes a space. */
    char buf[RULE_TEXT_MAX];
    struct tld_sv t = el->text;
    if (t.n < sizeof buf) {
        memcpy(buf, t.p, t.n);
        char *nl = memchr(buf, '\n', t.n);
        if (nl)
            *nl = ' ';
        t = tld_sv_make(buf, t.n);
    }
    if (!lc_append_text(lc, el, &d->description, t, !d->has_description))
        return TLD_EPARSE;
    d->has_description = true;
    return 0;
}

static int opt_group(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                     const struct opt_def *def)
{
    /* Appended to the group string, which already starts with the <group name>; newlines are
     * dropped from the piece. */
    if (el->text.n > RULE_TEXT_PIECE || d->groups.n > RULE_TEXT_PIECE) {
        lc_error(lc, el->line, "rule %u: <%s>: text longer than %d bytes", d->id, el->name,
                 RULE_TEXT_PIECE);
        return TLD_EPARSE;
    }
    for (size_t i = 0; i < el->text.n; i++)
        if (el->text.p[i] != '\n')
            tld_sb_append_char(&d->groups, el->text.p[i]);
    return 0;
}

static int opt_info(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                    const struct opt_def *def)
{
    for (unsigned i = 0; i < el->nattrs; i++) {
        const char *a = el->attrs[i].name, *v = el->attrs[i].value.p;
        if (strcasecmp(a, "type") != 0) {
            lc_error(lc, el->line, "rule %u: <info>: invalid attribute '%s'", d->id, a);
            return TLD_EPARSE;
        }
        if (strcmp(v, "text") && strcmp(v, "link") && strcmp(v, "cve") && strcmp(v, "osvdb")) {
            lc_error(lc, el->line, "rule %u: <info>: invalid type '%s' (text, link, cve or osvdb)",
                     d->id, v);
            return TLD_EPARSE;
        }
    }
    if (!lc_append_text(lc, el, &d->info, el->text, !d->has_info))
        return TLD_EPARSE;
    d->has_info = true;
    return 0;
}

static int opt_cve(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                   const struct opt_def *def)
{
    if (!lc_append_text(lc, el, &d->cve, el->text, !d->has_cve))
        return TLD_EPARSE;
    d->has_cve = true;
    return 0;
}

/* ---- decoder, category, addresses, fields ---- */

static int opt_decoded_as(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                          const struct opt_def *def)
{
    int id = -1;
    if (lc->rs->env.decoder_id)
        id = lc->rs->env.decoder_id(lc->rs->env.decoder_ctx, el->text);
    if (id < 0) {
        lc_error(lc, el->line, "rule %u: <decoded_as>: unknown decoder '%s'", d->id, el->text.p);
        return TLD_EPARSE;
    }
    d->decoded_as = id;
    return 0;
}

static int opt_category(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                        const struct opt_def *def)
{
    int c = tld_category_lookup(el->text);
    if (c < 0 || c == TLD_CAT_HOST_INFO) {
        lc_error(lc, el->line,
                 "rule %u: <category>: invalid category '%s' (firewall, ids, syslog, web-log, "
                 "squid, windows or ossec)",
                 d->id, el->text.p);
        return TLD_EPARSE;
    }
    d->category = (enum tld_category)c;
    return 0;
}

static void free_iplist(void *p)
{
    tld_iplist_free(p);
}

static int opt_ip(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                  const struct opt_def *def)
{
    struct tld_iplist **list = def->arg == TLD_F_SRCIP ? &d->srcip : &d->dstip;
    if (!*list) {
        *list = tld_iplist_new();
        if (!*list || file_store_add(lc->fs, free_iplist, *list)) {
            *list = NULL;
            lc_error(lc, el->line, "rule %u: <%s>: out of memory", d->id, el->name);
            return TLD_EPARSE;
        }
    }
    if (tld_iplist_add(*list, el->text.p, el->text.n, NULL, 0)) {
        lc_error(lc, el->line, "rule %u: <%s>: invalid IP address '%s'", d->id, el->name,
                 el->text.p);
        return TLD_EPARSE;
    }
    bool neg = attr_negate(lc, d, el);
    if (def->arg == TLD_F_SRCIP)
        d->srcip_neg = neg;
    else
        d->dstip_neg = neg;
    return 0;
}

/* Names a <field> may not use: the static fields (including their aliases). */
static bool is_static_name(const char *name)
{
    static const char *const names[] = {
        "srcip",      "dstip",   "srcgeoip", "dstgeoip",    "srcport", "dstport",
        "user",       "srcuser", "dstuser",  "url",         "id",      "data",
        "extra_data", "status",  "protocol", "system_name", "action"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(name, names[i]) == 0)
            return true;
    return false;
}

static int opt_field(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                     const struct opt_def *def)
{
    const char *name = attr_ci(el, "name");
    if (!name) {
        lc_error(lc, el->line, "rule %u: <field>: missing attribute 'name'", d->id);
        return TLD_EPARSE;
    }
    if (is_static_name(name)) {
        lc_error(lc, el->line, "rule %u: <field name=\"%s\">: '%s' is a static field", d->id, name,
                 name);
        return TLD_EPARSE;
    }
    if (d->dyn_tests.n >= TLD_RULE_MAX_FIELDS) {
        lc_error(lc, el->line, "rule %u: <field>: more than %d fields", d->id, TLD_RULE_MAX_FIELDS);
        return TLD_EPARSE;
    }
    enum tld_rx_kind kind = attr_type(lc, d, el, TLD_RX_OSREGEX);
    bool neg = attr_negate(lc, d, el);
    struct tld_rx *rx;
    char why[200] = "";
    if (lc_compile(lc, kind, el->text.p, el->text.n, &rx, why, sizeof why)) {
        lc_error(lc, el->line, "rule %u: <field name=\"%s\">: invalid pattern '%s': %s", d->id,
                 name, el->text.p, why);
        return TLD_EPARSE;
    }
    struct rtest *t = vec_push(&d->dyn_tests, sizeof *t);
    if (!t)
        return TLD_EPARSE;
    *t = (struct rtest){.kind = RT_DYN, .negate = neg, .rx = rx};
    t->dyn = make_dynname(lc, name, strlen(name));
    return 0;
}

/* ---- time, weekday, compiled rule, lists ---- */

static int opt_time(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                    const struct opt_def *def)
{
    if (!rule_time_parse(el->text.p, el->text.n, &d->time_neg, d->time_lo, d->time_hi)) {
        lc_error(lc, el->line, "rule %u: <time>: invalid time range '%s'", d->id, el->text.p);
        return TLD_EPARSE;
    }
    d->has_time = true;
    return 0;
}

static int opt_weekday(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                       const struct opt_def *def)
{
    if (!rule_weekday_parse(el->text.p, el->text.n, &d->weekdays)) {
        lc_error(lc, el->line, "rule %u: <weekday>: invalid day list '%s'", d->id, el->text.p);
        return TLD_EPARSE;
    }
    d->has_weekday = true;
    return 0;
}

/* <source>: a list of kinds (common/source.h), our own option. The kind comes from the record
 * header, so a rule with it cannot be reached by text shaped like another source's events. */
static int opt_source(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                      const struct opt_def *def)
{
    (void)def;
    struct tld_sv rest = el->text;
    uint8_t bits = 0;
    while (rest.n) {
        long comma = tld_sv_index(rest, ',');
        size_t n = comma < 0 ? rest.n : (size_t)comma;
        struct tld_sv item = tld_sv_trim(tld_sv_make(rest.p, n));
        enum tld_source s;
        if (!tld_source_lookup(item, &s) || s == TLD_SOURCE_ANY) {
            lc_error(lc, el->line, "rule %u: <source>: unknown source '%s'", d->id, el->text.p);
            return TLD_EPARSE;
        }
        bits |= (uint8_t)(1u << s);
        rest = comma < 0 ? tld_sv_make(rest.p + n, 0) : tld_sv_make(rest.p + n + 1, rest.n - n - 1);
    }
    if (!bits) {
        lc_error(lc, el->line, "rule %u: <source>: empty", d->id);
        return TLD_EPARSE;
    }
    d->sources = bits;
    return 0;
}

static int opt_compiled(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                        const struct opt_def *def)
{
    tld_rule_compiled_fn fn = tld_rule_compiled_find(el->text);
    if (!fn) {
        lc_error(lc, el->line, "rule %u: <compiled_rule>: unknown compiled rule '%s'", d->id,
                 el->text.p);
        return TLD_EPARSE;
    }
    d->compiled = fn;
    return 0;
}

static int list_field(struct load_ctx *lc, const char *v, struct rlist *l)
{
    static const struct {
        const char *name;
        int what, field;
    } names[] = {
        {"srcip", LW_FIELD, TLD_F_SRCIP},
        {"srcport", LW_FIELD, TLD_F_SRCPORT},
        {"dstip", LW_FIELD, TLD_F_DSTIP},
        {"dstport", LW_FIELD, TLD_F_DSTPORT},
        {"user", LW_USER, 0},
        {"url", LW_FIELD, TLD_F_URL},
        {"id", LW_FIELD, TLD_F_ID},
        {"hostname", LW_HOSTNAME, 0},
        {"program_name", LW_PROGRAM, 0},
        {"status", LW_FIELD, TLD_F_STATUS},
        {"action", LW_FIELD, TLD_F_ACTION},
        {"protocol", LW_FIELD, TLD_F_PROTOCOL},
        {"system_name", LW_FIELD, TLD_F_SYSTEM_NAME},
        {"data", LW_FIELD, TLD_F_DATA},
        {"extra_data", LW_FIELD, TLD_F_EXTRA_DATA},
    };
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(v, names[i].name) == 0) {
            l->what = (uint8_t)names[i].what;
            l->field = (uint8_t)names[i].field;
            return 0;
        }
    /* A dynamic name: leading spaces dropped, cut at the first space. */
    while (*v == ' ')
        v++;
    size_t n = strcspn(v, " ");
    l->what = LW_DYN;
    l->dyn = make_dynname(lc, v, n);
    return 0;
}

static int opt_list(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                    const struct opt_def *def)
{
    static const char *const lookups[] = {
        [LK_MATCH_KEY] = "match_key",
        [LK_NOT_MATCH_KEY] = "not_match_key",
        [LK_MATCH_KEY_VALUE] = "match_key_value",
        [LK_ADDRESS_MATCH_KEY] = "address_match_key",
        [LK_NOT_ADDRESS_MATCH_KEY] = "not_address_match_key",
        [LK_ADDRESS_MATCH_KEY_VALUE] = "address_match_key_value",
    };
    struct rlist l = {.lookup = LK_MATCH_KEY};
    bool has_field = false;
    if (!el->nattrs) {
        lc_error(lc, el->line, "rule %u: <list>: a field attribute is required", d->id);
        return TLD_EPARSE;
    }
    for (unsigned i = 0; i < el->nattrs; i++) {
        const char *a = el->attrs[i].name;
        const struct tld_sv v = el->attrs[i].value;
        if (strcasecmp(a, "lookup") == 0) {
            unsigned k;
            for (k = 0; k < sizeof lookups / sizeof *lookups; k++)
                if (strcasecmp(v.p, lookups[k]) == 0)
                    break;
            if (k == sizeof lookups / sizeof *lookups) {
                lc_error(lc, el->line, "rule %u: <list>: invalid lookup '%s'", d->id, v.p);
                return TLD_EPARSE;
            }
            l.lookup = (uint8_t)k;
        } else if (strcasecmp(a, "field") == 0) {
            list_field(lc, v.p, &l);
            has_field = true;
        } else if (strcasecmp(a, "check_value") == 0) {
            struct tld_rx *rx;
            char why[200] = "";
            if (lc_compile(lc, TLD_RX_OSMATCH, v.p, v.n, &rx, why, sizeof why)) {
                lc_error(lc, el->line, "rule %u: <list>: invalid check_value '%s': %s", d->id, v.p,
                         why);
                return TLD_EPARSE;
            }
            l.check_value = rx;
        } else {
            lc_error(lc, el->line, "rule %u: <list>: invalid attribute '%s'", d->id, a);
            return TLD_EPARSE;
        }
    }
    if (!has_field) {
        lc_error(lc, el->line, "rule %u: <list>: a field attribute is required", d->id);
        return TLD_EPARSE;
    }
    l.list = tld_lists_find(lc->rs->env.lists, el->text);
    if (!l.list) {
        lc_warn(lc, el->line, "rule %u: <list>: list '%s' is not loaded; rule skipped", d->id,
                el->text.p);
        d->skip = true;
        return 0;
    }
    struct rlist *slot = vec_push(&d->lists, sizeof *slot);
    if (!slot)
        return TLD_EPARSE;
    *slot = l;
    return 0;
}

/* ---- tree attachment ---- */

static int opt_if_text(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                       const struct opt_def *def)
{
    struct tld_sb *sb;
    bool *has;
    switch (def->arg) {
    case 0:
        sb = &d->if_sid, has = &d->has_if_sid;
        break;
    case 1:
        sb = &d->if_group, has = &d->has_if_group;
        break;
    case 2:
        sb = &d->if_matched_regex, has = &d->has_if_matched_regex;
        d->context = true;
        break;
    default:
        sb = &d->if_matched_group, has = &d->has_if_matched_group;
        d->context = true;
        break;
    }
    if (!lc_append_text(lc, el, sb, el->text, !*has))
        return TLD_EPARSE;
    *has = true;
    return 0;
}

static int opt_if_level(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                        const struct opt_def *def)
{
    if (!all_digits(el->text)) {
        lc_warn(lc, el->line, "rule %u: <if_level>: invalid level '%s'; rule skipped", d->id,
                el->text.p);
        d->skip = true;
        return 0;
    }
    if (!lc_append_text(lc, el, &d->if_level, el->text, !d->has_if_level))
        return TLD_EPARSE;
    d->has_if_level = true;
    return 0;
}

static int opt_if_matched_sid(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                              const struct opt_def *def)
{
    d->context = true;
    if (!all_digits(el->text)) {
        lc_warn(lc, el->line, "rule %u: <if_matched_sid>: invalid rule id '%s'; rule skipped",
                d->id, el->text.p);
        d->skip = true;
        return 0;
    }
    unsigned long long v = 0;
    for (size_t i = 0; i < el->text.n && v < 100000000ull; i++)
        v = v * 10 + (unsigned)(el->text.p[i] - '0');
    d->if_matched_sid = v > 999999 ? 0 : (unsigned)v;
    d->has_if_matched_sid = true;
    return 0;
}

/* ---- correlation options ---- */

static int opt_same(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                    const struct opt_def *def)
{
    d->same_mask |= 1u << def->arg;
    return 0;
}

static int opt_different(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                         const struct opt_def *def)
{
    d->diff_mask |= 1u << def->arg;
    return 0;
}

static int opt_dyn_corr(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                        const struct opt_def *def)
{
    struct vec *v = def->arg ? &d->diff_fields : &d->same_fields;
    if (v->n >= TLD_RULE_MAX_FIELDS) {
        lc_error(lc, el->line, "rule %u: <%s>: more than %d fields", d->id, el->name,
                 TLD_RULE_MAX_FIELDS);
        return TLD_EPARSE;
    }
    struct dynname *n = vec_push(v, sizeof *n);
    if (!n)
        return TLD_EPARSE;
    *n = make_dynname(lc, el->text.p, el->text.n);
    return 0;
}

static int opt_deprecated(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                          const struct opt_def *def)
{
    lc_warn(lc, el->line, "rule %u: <%s> is deprecated and ignored", d->id, el->name);
    return 0;
}

static int opt_flag(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                    const struct opt_def *def)
{
    switch (def->arg) {
    case 0:
        d->global_frequency = true;
        break;
    case 1:
        d->check_diff = true;
        d->context = true;
        break;
    default:
        d->if_fts = true;
        break;
    }
    return 0;
}

/* ---- options, ignore lists, mitre ---- */

static int opt_options(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                       const struct opt_def *def)
{
    static const struct {
        const char *name;
        unsigned flag;
    } opts[] = {
        {"alert_by_email", TLD_RULE_ALERT_BY_EMAIL},
        {"no_email_alert", TLD_RULE_NO_EMAIL_ALERT},
        {"log_alert", TLD_RULE_LOG_ALERT},
        {"no_log", TLD_RULE_NO_LOG},
        {"no_ar", TLD_RULE_NO_AR},
        {"no_full_log", TLD_RULE_NO_FULL_LOG},
        {"no_counter", TLD_RULE_NO_COUNTER},
    };
    for (unsigned i = 0; i < sizeof opts / sizeof *opts; i++) {
        if (!tld_sv_eq_cstr(el->text, opts[i].name))
            continue;
        d->options |= opts[i].flag;
        /* The mail and log decisions follow the order the options are written in. */
        if (opts[i].flag == TLD_RULE_ALERT_BY_EMAIL)
            d->mail = true;
        else if (opts[i].flag == TLD_RULE_NO_EMAIL_ALERT)
            d->mail = false;
        else if (opts[i].flag == TLD_RULE_LOG_ALERT)
            d->log = true;
        else if (opts[i].flag == TLD_RULE_NO_LOG)
            d->log = false;
        return 0;
    }
    lc_error(lc, el->line, "rule %u: <options>: invalid option '%s'", d->id, el->text.p);
    return TLD_EPARSE;
}

/* <ignore>/<check_if_ignored> field lists: validated, without effect (rules.md §5). */
static int opt_ignore_fields(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                             const struct opt_def *def)
{
    struct tld_sv t = el->text;
    size_t start = 0;
    unsigned count = 0;
    for (size_t i = 0; i <= t.n; i++) {
        if (i < t.n && t.p[i] != ',')
            continue;
        struct tld_sv w = tld_sv_make(t.p + start, i - start);
        while (w.n && w.p[0] == ' ')
            w.p++, w.n--;
        long sp = tld_sv_index(w, ' ');
        if (sp >= 0)
            w.n = (size_t)sp;
        if (w.n == 0) {
            lc_error(lc, el->line, "rule %u: <%s>: empty field name in '%s'", d->id, el->name, t.p);
            return TLD_EPARSE;
        }
        if (++count > TLD_RULE_MAX_FIELDS) {
            lc_error(lc, el->line, "rule %u: <%s>: too many fields", d->id, el->name);
            return TLD_EPARSE;
        }
        start = i + 1;
    }
    return 0;
}

static int opt_mitre(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el,
                     const struct opt_def *def)
{
    unsigned ids = 0, tactics = 0, techniques = 0;
    bool failure = false;
    const char *tactic = NULL, *technique = NULL;
    if (!el->children) {
        lc_warn(lc, el->line, "rule %u: <mitre> is empty", d->id);
        return 0;
    }
    for (const struct tld_xml_node *c = el->children; c; c = c->next) {
        bool is_id = tld_xml_is(c, "id"), is_ta = tld_xml_is(c, "tacticID"),
             is_te = tld_xml_is(c, "techniqueID");
        if (!is_id && !is_ta && !is_te) {
            lc_error(lc, c->line, "rule %u: <mitre>: invalid element <%s>", d->id, c->name);
            return TLD_EPARSE;
        }
        if (c->text.n == 0) {
            lc_warn(lc, c->line, "rule %u: <mitre>: empty <%s>; block discarded", d->id, c->name);
            failure = true;
        }
        ids += is_id;
        tactics += is_ta;
        techniques += is_te;
    }
    if (failure)
        return 0;
    if (ids && (tactics || techniques)) {
        lc_warn(lc, el->line,
                "rule %u: <mitre> mixes <id> with tacticID/techniqueID; block discarded", d->id);
        return 0;
    }
    if (ids && d->mitre_new) {
        lc_warn(lc, el->line,
                "rule %u: <mitre> mixes old and new formats; the old <id> format is discarded",
                d->id);
        return 0;
    }
    if (!ids) {
        if (!tactics || !techniques) {
            lc_warn(lc, el->line, "rule %u: <mitre>: %s missing; block discarded", d->id,
                    tactics ? "techniqueID" : "tacticID");
            return 0;
        }
        if (tactics > 1 || techniques > 1) {
            lc_warn(lc, el->line,
                    "rule %u: <mitre>: one tacticID and one techniqueID per block; discarded",
                    d->id);
            return 0;
        }
        d->mitre_new = true;
        if (d->mitre_old) {
            lc_warn(lc, el->line,
                    "rule %u: <mitre> mixes old and new formats; the old <id> format is "
                    "discarded",
                    d->id);
            d->mitre_ids.n = 0;
            d->mitre_old = false;
        }
    } else {
        d->mitre_old = true;
    }
    for (const struct tld_xml_node *c = el->children; c; c = c->next) {
        if (tld_xml_is(c, "id")) {
            const char *const *have = d->mitre_ids.p;
            bool dup = false;
            for (unsigned i = 0; i < d->mitre_ids.n && !dup; i++)
                dup = strcmp(have[i], c->text.p) == 0;
            const char **slot = dup ? NULL : vec_push(&d->mitre_ids, sizeof *slot);
            if (!dup && !slot)
                return TLD_EPARSE;
            if (slot)
                *slot = lc_strdup(lc, c->text.p, c->text.n);
        } else if (tld_xml_is(c, "tacticID")) {
            tactic = c->text.p;
        } else {
            technique = c->text.p;
        }
    }
    if (tactic && technique) {
        const struct tld_rule_mitre_pair *have = d->mitre_pairs.p;
        for (unsigned i = 0; i < d->mitre_pairs.n; i++)
            if (!strcmp(have[i].tactic, tactic) && !strcmp(have[i].technique, technique))
                return 0;
        struct tld_rule_mitre_pair *p = vec_push(&d->mitre_pairs, sizeof *p);
        if (!p)
            return TLD_EPARSE;
        p->tactic = lc_strdup(lc, tactic, strlen(tactic));
        p->technique = lc_strdup(lc, technique, strlen(technique));
    }
    return 0;
}

/* ---- the table ---- */

/*
 * The correlation fields that have both a same_ and a different_ element, with the flags of each
 * name: which of the two 4.14.7 only recognises in lower case differs from field to field.
 */
/* clang-format off */
#define CORR_FIELDS(X)                                      \
    X("srcip",       CS_SRCIP,       0,         OPT_EXACT) \
    X("dstip",       CS_DSTIP,       0,         0)         \
    X("src_port",    CS_SRCPORT,     0,         0)         \
    X("srcport",     CS_SRCPORT,     0,         0)         \
    X("dst_port",    CS_DSTPORT,     0,         0)         \
    X("dstport",     CS_DSTPORT,     0,         0)         \
    X("protocol",    CS_PROTOCOL,    0,         OPT_EXACT) \
    X("action",      CS_ACTION,      0,         OPT_EXACT) \
    X("id",          CS_ID,          OPT_EXACT, OPT_EXACT) \
    X("url",         CS_URL,         OPT_EXACT, OPT_EXACT) \
    X("data",        CS_DATA,        OPT_EXACT, OPT_EXACT) \
    X("extra_data",  CS_EXTRA_DATA,  OPT_EXACT, OPT_EXACT) \
    X("status",      CS_STATUS,      OPT_EXACT, OPT_EXACT) \
    X("system_name", CS_SYSTEM_NAME, OPT_EXACT, OPT_EXACT) \
    X("srcgeoip",    CS_SRCGEOIP,    OPT_EXACT, OPT_EXACT) \
    X("dstgeoip",    CS_DSTGEOIP,    OPT_EXACT, OPT_EXACT) \
    X("location",    CS_LOCATION,    0,         0)         \
    X("srcuser",     CS_SRCUSER,     0,         0)         \
    X("user",        CS_USER,        0,         0)
#define SAME_ROW(name, cs, same_flags, different_flags) {"same_" name, opt_same, same_flags, cs},
#define DIFFERENT_ROW(name, cs, same_flags, different_flags) \
    {"different_" name, opt_different, different_flags, cs},
/* clang-format on */

static const struct opt_def opts[] = {
    {"match", opt_pattern, 0, S_MATCH},
    {"regex", opt_pattern, 0, S_REGEX},
    {"program_name", opt_pattern, 0, S_PROGRAM},
    {"hostname", opt_pattern, 0, S_HOSTNAME},
    {"location", opt_pattern, 0, S_LOCATION},
    {"id", opt_pattern, 0, S_ID},
    {"system_name", opt_pattern, 0, S_SYSTEM_NAME},
    {"protocol", opt_pattern, 0, S_PROTOCOL},
    {"action", opt_pattern, 0, S_ACTION},
    {"url", opt_pattern, 0, S_URL},
    {"status", opt_pattern, 0, S_STATUS},
    {"data", opt_pattern, 0, S_DATA},
    {"extra_data", opt_pattern, 0, S_EXTRA_DATA},
    {"srcport", opt_pattern, 0, S_SRCPORT},
    {"dstport", opt_pattern, 0, S_DSTPORT},
    {"user", opt_pattern, 0, S_USER},
    {"srcgeoip", opt_pattern, 0, S_SRCGEOIP},
    {"dstgeoip", opt_pattern, 0, S_DSTGEOIP},
    {"description", opt_description, 0, 0},
    {"group", opt_group, 0, 0},
    {"info", opt_info, 0, 0},
    {"cve", opt_cve, 0, 0},
    {"decoded_as", opt_decoded_as, 0, 0},
    {"category", opt_category, 0, 0},
    {"srcip", opt_ip, 0, TLD_F_SRCIP},
    {"dstip", opt_ip, 0, TLD_F_DSTIP},
    {"field", opt_field, 0, 0},
    {"time", opt_time, 0, 0},
    {"weekday", opt_weekday, 0, 0},
    {"source", opt_source, 0, 0},
    {"compiled_rule", opt_compiled, 0, 0},
    {"list", opt_list, 0, 0},
    {"if_sid", opt_if_text, 0, 0},
    {"if_group", opt_if_text, 0, 1},
    {"if_matched_regex", opt_if_text, 0, 2},
    {"if_matched_group", opt_if_text, 0, 3},
    {"if_level", opt_if_level, 0, 0},
    {"if_matched_sid", opt_if_matched_sid, 0, 0},
    /* clang-format off */
    CORR_FIELDS(SAME_ROW)
    CORR_FIELDS(DIFFERENT_ROW)
    /* clang-format on */
    {"same_source_ip", opt_same, 0, CS_SRCIP},
    {"not_same_source_ip", opt_different, OPT_EXACT, CS_SRCIP},
    {"not_same_id", opt_different, OPT_EXACT, CS_ID},
    {"not_same_user", opt_different, 0, CS_USER},
    {"same_field", opt_dyn_corr, 0, 0},
    {"different_field", opt_dyn_corr, 0, 1},
    {"not_same_field", opt_dyn_corr, 0, 1},
    {"same_agent", opt_deprecated, 0, 0},
    {"not_same_agent", opt_deprecated, 0, 0},
    {"global_frequency", opt_flag, 0, 0},
    {"check_diff", opt_flag, 0, 1},
    {"if_fts", opt_flag, 0, 2},
    {"options", opt_options, 0, 0},
    {"ignore", opt_ignore_fields, 0, 0},
    {"check_if_ignored", opt_ignore_fields, 0, 0},
    {"mitre", opt_mitre, 0, 0},
};
#undef SAME_ROW
#undef DIFFERENT_ROW
#undef CORR_FIELDS

int rule_opts_element(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el)
{
    for (unsigned i = 0; i < sizeof opts / sizeof *opts; i++) {
        const struct opt_def *def = &opts[i];
        bool hit = (def->flags & OPT_EXACT) ? strcmp(el->name, def->tag) == 0
                                            : strcasecmp(el->name, def->tag) == 0;
        if (hit)
            return def->fn(lc, d, el, def);
    }
    lc_error(lc, el->line, "rule %u: unknown element <%s>", d->id, el->name);
    return TLD_EPARSE;
}
