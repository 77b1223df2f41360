/*
 * Reading rule files (rules.md §1–§4): top-level <group> elements, <rule> attributes, the
 * per-rule validation that follows the elements, compilation of the accumulated patterns, and
 * the per-file transaction around it all.
 *
 * Order of decisions for one <rule>, as in 4.14.7 (it decides which problem is reported):
 * attributes (fatal) → duplicate id (warning, rule skipped before its elements are read) →
 * elements in document order (fatal errors, or "rule skipped" for an unloaded <list>, a bad
 * <if_level>/<if_matched_sid>, which stops reading) → if_sid syntax (skip) → description
 * (fatal) → "missing if_matched" (fatal) → pattern compilation (fatal) → attachment (skip with
 * warnings). Every fatal error rolls the whole file back (rule_tree.c keeps the undo log).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/grow.h"
#include "common/str.h"
#include "engine/rules/iplist.h"
#include "engine/rules/rule_load.h"

#define FILE_ARENA_BLOCK 16384
#define FILE_ARENA_MAX   (256u << 20)

/* ---- small helpers shared with rule_opts.c / rule_tree.c ---- */

void *vec_push(struct vec *v, size_t elem)
{
    if (tld_grow(&v->p, &v->cap, v->n + 1, elem, 8))
        return NULL;
    void *slot = (char *)v->p + (size_t)v->n * elem;
    v->n++;
    memset(slot, 0, elem);
    return slot;
}

void vec_free(struct vec *v)
{
    free(v->p);
    *v = (struct vec){0};
}

void lc_error(struct load_ctx *lc, unsigned line, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tld_diag_error(lc->diag, lc->file, line, "%s", buf);
}

void lc_warn(struct load_ctx *lc, unsigned line, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tld_diag_warn(lc->diag, lc->file, line, "%s", buf);
}

char *lc_strdup(struct load_ctx *lc, const char *p, size_t n)
{
    return (char *)tld_arena_dup(&lc->fs->arena, p ? p : "", p ? n : 0).p;
}

static void free_rx(void *p)
{
    tld_rx_free(p);
}

int lc_compile(struct load_ctx *lc, enum tld_rx_kind kind, const char *p, size_t n,
               struct tld_rx **out, char *err, size_t errsz)
{
    int rc = tld_rx_compile(kind, p, n, 0, out, err, errsz);
    if (rc)
        return rc;
    rc = file_store_add(lc->fs, free_rx, *out);
    if (rc) {
        snprintf(err, errsz, "out of memory");
        *out = NULL;
    }
    return rc;
}

bool lc_append_text(struct load_ctx *lc, const struct tld_xml_node *el, struct tld_sb *sb,
                    struct tld_sv text, bool first)
{
    bool ok =
        first ? text.n < RULE_TEXT_PIECE : text.n <= RULE_TEXT_PIECE && sb->n <= RULE_TEXT_PIECE;
    if (!ok) {
        lc_error(lc, el->line, "rule %u: <%s>: text longer than %d bytes", lc->d->id, el->name,
                 RULE_TEXT_PIECE);
        return false;
    }
    tld_sb_append(sb, text.p, text.n);
    if (sb->oom) {
        lc_error(lc, el->line, "rule %u: <%s>: out of memory", lc->d->id, el->name);
        return false;
    }
    return true;
}

/* ---- the draft ---- */

static void draft_init(struct draft *d)
{
    memset(d, 0, sizeof *d);
    tld_sb_init(&d->description, RULE_TEXT_MAX);
    tld_sb_init(&d->groups, TLD_XML_MAX_TEXT + RULE_TEXT_MAX);
    tld_sb_init(&d->info, RULE_TEXT_MAX);
    tld_sb_init(&d->cve, RULE_TEXT_MAX);
    tld_sb_init(&d->if_sid, RULE_TEXT_MAX);
    tld_sb_init(&d->if_group, RULE_TEXT_MAX);
    tld_sb_init(&d->if_level, RULE_TEXT_MAX);
    tld_sb_init(&d->if_matched_regex, RULE_TEXT_MAX);
    tld_sb_init(&d->if_matched_group, RULE_TEXT_MAX);
    for (int i = 0; i < S_COUNT; i++)
        tld_sb_init(&d->slots[i].text, RULE_TEXT_MAX);
    d->decoded_as = -1;
    d->category = TLD_CAT_SYSLOG;
    d->accuracy = true;
}

static void draft_fini(struct draft *d)
{
    tld_sb_fini(&d->description);
    tld_sb_fini(&d->groups);
    tld_sb_fini(&d->info);
    tld_sb_fini(&d->cve);
    tld_sb_fini(&d->if_sid);
    tld_sb_fini(&d->if_group);
    tld_sb_fini(&d->if_level);
    tld_sb_fini(&d->if_matched_regex);
    tld_sb_fini(&d->if_matched_group);
    for (int i = 0; i < S_COUNT; i++)
        tld_sb_fini(&d->slots[i].text);
    vec_free(&d->dyn_tests);
    vec_free(&d->same_fields);
    vec_free(&d->diff_fields);
    vec_free(&d->lists);
    vec_free(&d->mitre_ids);
    vec_free(&d->mitre_pairs);
}

/* ---- attributes ---- */

static bool sv_digits(struct tld_sv v)
{
    for (size_t i = 0; i < v.n; i++)
        if (v.p[i] < '0' || v.p[i] > '9')
            return false;
    return true;
}

/* Value of the first `maxdigits` digits (what sscanf("%Nd") reads); false when none. */
static bool leading_value(struct tld_sv v, unsigned maxdigits, unsigned *out)
{
    unsigned val = 0, i;
    for (i = 0; i < v.n && i < maxdigits; i++)
        val = val * 10 + (unsigned)(v.p[i] - '0');
    if (i == 0)
        return false;
    *out = val;
    return true;
}

/* atoi() of an all-digit text, saturated. */
static unsigned long long digits_value(struct tld_sv v)
{
    unsigned long long val = 0;
    for (size_t i = 0; i < v.n; i++)
        val = val < 1000000000ull ? val * 10 + (unsigned)(v.p[i] - '0') : val;
    return val;
}

static int rule_attributes(struct load_ctx *lc, const struct tld_xml_node *el, struct draft *d,
                           bool *has_id, bool *has_level)
{
    d->timeframe = lc->rs->env.default_timeframe;
    for (unsigned i = 0; i < el->nattrs; i++) {
        const char *a = el->attrs[i].name;
        struct tld_sv v = el->attrs[i].value;
        unsigned u;
        if (strcasecmp(a, "id") == 0) {
            if (!sv_digits(v) || v.n > 6 || !leading_value(v, 6, &u)) {
                lc_error(lc, el->line, "rule: invalid id=\"%s\" (digits only, at most 6)", v.p);
                return TLD_EPARSE;
            }
            d->id = u;
            snprintf(d->id_str, sizeof d->id_str, "%u", u);
            *has_id = true;
        } else if (strcasecmp(a, "level") == 0) {
            if (!sv_digits(v))
                continue; /* ignored like 4.14.7 does; the level is then missing */
            unsigned long long lv = digits_value(v);
            if (lv > 16) {
                lc_error(lc, el->line, "rule %s: invalid level=\"%s\" (0 to 16)", d->id_str, v.p);
                return TLD_EPARSE;
            }
            d->level = (unsigned)lv;
            *has_level = true;
        } else if (strcasecmp(a, "maxsize") == 0 || strcasecmp(a, "timeframe") == 0 ||
                   strcasecmp(a, "accuracy") == 0 || strcasecmp(a, "ignore") == 0) {
            if (!sv_digits(v)) {
                lc_error(lc, el->line, "rule %s: invalid %s=\"%s\" (must be a number)", d->id_str,
                         a, v.p);
                return TLD_EPARSE;
            }
            bool is_max = !strcasecmp(a, "maxsize"), is_tf = !strcasecmp(a, "timeframe");
            bool is_acc = !strcasecmp(a, "accuracy");
            unsigned digits = is_tf ? 5 : (is_max || is_acc) ? 4 : 6;
            if (!leading_value(v, digits, &u))
                continue;
            if (is_max)
                d->maxsize = u;
            else if (is_tf)
                d->timeframe = u;
            else if (is_acc)
                d->accuracy = u != 0;
            else
                d->ignore = u;
        } else if (strcasecmp(a, "frequency") == 0) {
            unsigned long long f = sv_digits(v) ? digits_value(v) : 0;
            if (!sv_digits(v) || f < 2 || f > 9999) {
                lc_error(lc, el->line, "rule %s: invalid frequency=\"%s\" (2 to 9999)", d->id_str,
                         v.p);
                return TLD_EPARSE;
            }
            d->freq_attr = (unsigned)f;
        } else if (strcasecmp(a, "noalert") == 0) {
            if (tld_sv_eq_cstr(v, "0") || tld_sv_eq_cstr(v, "1"))
                d->noalert = v.p[0] == '1';
            else
                lc_warn(lc, el->line, "rule %s: invalid noalert=\"%s\" (0 or 1); ignored",
                        d->id_str, v.p);
        } else if (strcasecmp(a, "overwrite") == 0) {
            if (tld_sv_eq_cstr(v, "yes") || tld_sv_eq_cstr(v, "no"))
                d->overwrite = v.p[0] == 'y';
            else {
                lc_error(lc, el->line, "rule %s: invalid overwrite=\"%s\" (yes or no)", d->id_str,
                         v.p);
                return TLD_EPARSE;
            }
        } else {
            lc_error(lc, el->line,
                     "rule %s: invalid attribute '%s' (id, level, maxsize, frequency, timeframe, "
                     "ignore, accuracy, noalert, overwrite)",
                     d->id_str, a);
            return TLD_EPARSE;
        }
    }
    return 0;
}

/* ---- compilation of a complete draft ---- */

static const char *const slot_tag[S_COUNT] = {
    [S_PROGRAM] = "program_name",
    [S_ID] = "id",
    [S_SYSTEM_NAME] = "system_name",
    [S_PROTOCOL] = "protocol",
    [S_MATCH] = "match",
    [S_REGEX] = "regex",
    [S_ACTION] = "action",
    [S_URL] = "url",
    [S_LOCATION] = "location",
    [S_SRCPORT] = "srcport",
    [S_DSTPORT] = "dstport",
    [S_USER] = "user",
    [S_SRCGEOIP] = "srcgeoip",
    [S_DSTGEOIP] = "dstgeoip",
    [S_DATA] = "data",
    [S_EXTRA_DATA] = "extra_data",
    [S_HOSTNAME] = "hostname",
    [S_STATUS] = "status",
};

static void slot_test(enum slot_id s, struct rtest *t, uint32_t *need)
{
    static const int field_of[S_COUNT] = {
        [S_ID] = TLD_F_ID,
        [S_SYSTEM_NAME] = TLD_F_SYSTEM_NAME,
        [S_PROTOCOL] = TLD_F_PROTOCOL,
        [S_ACTION] = TLD_F_ACTION,
        [S_URL] = TLD_F_URL,
        [S_SRCPORT] = TLD_F_SRCPORT,
        [S_DSTPORT] = TLD_F_DSTPORT,
        [S_SRCGEOIP] = TLD_F_SRCGEOIP,
        [S_DSTGEOIP] = TLD_F_DSTGEOIP,
        [S_DATA] = TLD_F_DATA,
        [S_EXTRA_DATA] = TLD_F_EXTRA_DATA,
        [S_STATUS] = TLD_F_STATUS,
    };
    switch (s) {
    case S_MATCH:
    case S_REGEX:
        t->kind = RT_LOG;
        break;
    case S_PROGRAM:
        t->kind = RT_PROGRAM;
        *need |= PB_PROGRAM;
        break;
    case S_HOSTNAME:
        t->kind = RT_HOSTNAME;
        *need |= PB_HOSTNAME;
        break;
    case S_LOCATION:
        t->kind = RT_LOCATION;
        *need |= PB_LOCATION;
        break;
    case S_USER:
        t->kind = RT_USER;
        *need |= PB_USER;
        break;
    default:
        t->kind = RT_FIELD;
        t->field = (uint8_t)field_of[s];
        *need |= PB_FIELD(field_of[s]);
        break;
    }
}

/* Pattern slots of rules.md §5.2, with the other pure tests at their places. */
enum step { STEP_SLOT, STEP_DYN, STEP_SRCIP, STEP_DSTIP, STEP_COMPILED };
static const struct {
    enum step step;
    enum slot_id slot;
} test_order[] = {
    {STEP_SLOT, S_PROGRAM},  {STEP_SLOT, S_ID},         {STEP_SLOT, S_SYSTEM_NAME},
    {STEP_SLOT, S_PROTOCOL}, {STEP_SLOT, S_MATCH},      {STEP_SLOT, S_REGEX},
    {STEP_SLOT, S_ACTION},   {STEP_SLOT, S_URL},        {STEP_SLOT, S_LOCATION},
    {STEP_DYN, 0},           {STEP_SRCIP, 0},           {STEP_DSTIP, 0},
    {STEP_SLOT, S_SRCPORT},  {STEP_SLOT, S_DSTPORT},    {STEP_COMPILED, 0},
    {STEP_SLOT, S_USER},     {STEP_SLOT, S_SRCGEOIP},   {STEP_SLOT, S_DSTGEOIP},
    {STEP_SLOT, S_DATA},     {STEP_SLOT, S_EXTRA_DATA}, {STEP_SLOT, S_HOSTNAME},
    {STEP_SLOT, S_STATUS},
};

static int build_tests(struct load_ctx *lc, struct draft *d, struct rule_body *b)
{
    unsigned n = d->dyn_tests.n + S_COUNT + 3;
    struct rtest *tests = tld_arena_zalloc(&lc->fs->arena, n * sizeof *tests);
    if (!tests)
        return TLD_ENOMEM;
    unsigned k = 0;
    for (unsigned i = 0; i < sizeof test_order / sizeof *test_order; i++) {
        switch (test_order[i].step) {
        case STEP_SLOT: {
            enum slot_id s = test_order[i].slot;
            struct pat_slot *ps = &d->slots[s];
            if (!ps->set)
                break;
            struct tld_rx *rx;
            char why[200] = "";
            struct tld_sv t = tld_sb_view(&ps->text);
            if (lc_compile(lc, ps->kind, t.p, t.n, &rx, why, sizeof why)) {
                lc_error(lc, ps->line, "rule %u: <%s>: invalid pattern '%s': %s", d->id,
                         slot_tag[s], t.p, why);
                return TLD_EPARSE;
            }
            tests[k] = (struct rtest){.negate = ps->negate, .rx = rx};
            slot_test(s, &tests[k], &b->need);
            k++;
            break;
        }
        case STEP_DYN:
            for (unsigned j = 0; j < d->dyn_tests.n; j++)
                tests[k++] = ((struct rtest *)d->dyn_tests.p)[j];
            break;
        case STEP_SRCIP:
        case STEP_DSTIP: {
            bool src = test_order[i].step == STEP_SRCIP;
            struct tld_iplist *ip = src ? d->srcip : d->dstip;
            if (!ip)
                break;
            int f = src ? TLD_F_SRCIP : TLD_F_DSTIP;
            tests[k++] = (struct rtest){.kind = RT_IP,
                                        .field = (uint8_t)f,
                                        .negate = src ? d->srcip_neg : d->dstip_neg,
                                        .ip = ip};
            b->need |= PB_FIELD(f);
            break;
        }
        case STEP_COMPILED:
            if (d->compiled)
                tests[k++] = (struct rtest){.kind = RT_COMPILED, .compiled = d->compiled};
            break;
        }
    }
    b->tests = tests;
    b->ntests = k;
    return 0;
}

static void *arena_copy(struct load_ctx *lc, const void *p, size_t n)
{
    if (!n)
        return NULL;
    void *q = tld_arena_alloc(&lc->fs->arena, n);
    if (q)
        memcpy(q, p, n);
    return q;
}

/* Turn a validated draft into a rule object living in the file's arena. */
static int build_rule(struct load_ctx *lc, struct draft *d, struct tld_rule **out)
{
    struct tld_arena *A = &lc->fs->arena;
    struct tld_rule *r = tld_arena_zalloc(A, sizeof *r);
    struct tld_rule_impl *im = tld_arena_zalloc(A, sizeof *im);
    if (!r || !im)
        return TLD_ENOMEM;
    r->impl = im;
    r->id = d->id;
    r->id_str = lc_strdup(lc, d->id_str, strlen(d->id_str));
    r->level = d->level;
    r->description = lc_strdup(lc, d->description.p, d->description.n);
    r->groups = lc_strdup(lc, d->groups.p, d->groups.n);
    r->mitre_ids = arena_copy(lc, d->mitre_ids.p, d->mitre_ids.n * sizeof(char *));
    r->n_mitre_ids = d->mitre_ids.n;
    r->mitre_pairs =
        arena_copy(lc, d->mitre_pairs.p, d->mitre_pairs.n * sizeof(struct tld_rule_mitre_pair));
    r->n_mitre_pairs = d->mitre_pairs.n;
    r->info = d->has_info ? lc_strdup(lc, d->info.p, d->info.n) : NULL;
    r->cve = d->has_cve ? lc_strdup(lc, d->cve.p, d->cve.n) : NULL;
    r->options = d->options;
    r->mail = d->mail;
    r->log = d->log;
    r->frequency = d->freq_attr;
    r->category = d->category;
    r->timeframe = d->timeframe;
    r->ignore = d->ignore;
    r->maxsize = d->maxsize;
    r->noalert = d->noalert;
    r->file = lc->file;
    r->line = d->line;

    struct rule_body *b = &im->b;
    unsigned lvl = d->level ? d->level : 99;
    b->sort_level = d->accuracy ? lvl * 100 : lvl;
    b->decoded_as = d->decoded_as;
    b->maxsize = d->maxsize;
    b->has_time = d->has_time;
    b->time_neg = d->time_neg;
    memcpy(b->time_lo, d->time_lo, 6);
    memcpy(b->time_hi, d->time_hi, 6);
    b->has_weekday = d->has_weekday;
    b->weekdays = d->weekdays;
    b->sources = d->sources;
    b->check_diff = d->check_diff;
    b->if_fts = d->if_fts;
    b->lists = arena_copy(lc, d->lists.p, d->lists.n * sizeof(struct rlist));
    b->nlists = d->lists.n;
    b->context = d->context;
    b->freq = d->freq_attr ? d->freq_attr - 2 : 0;
    b->global_frequency = d->global_frequency;
    b->same_mask = d->same_mask;
    b->diff_mask = d->diff_mask;
    b->same_fields = arena_copy(lc, d->same_fields.p, d->same_fields.n * sizeof(struct dynname));
    b->nsame_fields = d->same_fields.n;
    b->diff_fields = arena_copy(lc, d->diff_fields.p, d->diff_fields.n * sizeof(struct dynname));
    b->ndiff_fields = d->diff_fields.n;

    int err = build_tests(lc, d, b);
    if (err)
        return err;
    char why[200] = "";
    if (d->has_if_matched_group) {
        struct tld_rx *rx;
        struct tld_sv t = tld_sb_view(&d->if_matched_group);
        if (lc_compile(lc, TLD_RX_OSMATCH, t.p, t.n, &rx, why, sizeof why)) {
            lc_error(lc, d->line, "rule %u: <if_matched_group>: invalid pattern '%s': %s", d->id,
                     t.p, why);
            return TLD_EPARSE;
        }
        im->if_matched_group = lc_strdup(lc, t.p, t.n);
        im->if_matched_group_rx = rx;
    }
    if (d->has_if_matched_regex) {
        struct tld_rx *rx;
        struct tld_sv t = tld_sb_view(&d->if_matched_regex);
        if (lc_compile(lc, TLD_RX_OSREGEX, t.p, t.n, &rx, why, sizeof why)) {
            lc_error(lc, d->line, "rule %u: <if_matched_regex>: invalid pattern '%s': %s", d->id,
                     t.p, why);
            return TLD_EPARSE;
        }
        b->if_matched_regex = rx;
    }
    im->search = SEARCH_NONE;
    im->search_list = -1;
    im->store_sid_list = -1;
    im->if_sid = d->has_if_sid ? lc_strdup(lc, d->if_sid.p, d->if_sid.n) : NULL;
    im->if_group = d->has_if_group ? lc_strdup(lc, d->if_group.p, d->if_group.n) : NULL;
    im->if_level = d->has_if_level ? lc_strdup(lc, d->if_level.p, d->if_level.n) : NULL;
    im->if_matched_sid = d->has_if_matched_sid ? d->if_matched_sid : 0;
    if (!r->id_str || !r->description || !r->groups)
        return TLD_ENOMEM;
    *out = r;
    return 0;
}

/* if_sid may hold only digits, commas and spaces (and at least one of them). */
static bool if_sid_valid(const struct tld_sb *sb)
{
    if (sb->n == 0)
        return false;
    for (size_t i = 0; i < sb->n; i++) {
        char c = sb->p[i];
        if (!(c >= '0' && c <= '9') && c != ',' && c != ' ')
            return false;
    }
    return true;
}

/* FNV-1a over an element's name, attributes, text and children, in document order. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    h = tld_fnv1a(h, p, n);
    return tld_fnv1a(h, "\xff", 1); /* field separator */
}

static uint64_t hash_element(uint64_t h, const struct tld_xml_node *el)
{
    h = hash_bytes(h, el->name, strlen(el->name));
    for (unsigned i = 0; i < el->nattrs; i++) {
        h = hash_bytes(h, el->attrs[i].name, strlen(el->attrs[i].name));
        h = hash_bytes(h, el->attrs[i].value.p, el->attrs[i].value.n);
    }
    h = hash_bytes(h, el->text.p, el->text.n);
    for (const struct tld_xml_node *c = el->children; c; c = c->next)
        h = hash_element(h, c);
    return hash_bytes(h, "/", 1);
}

static uint64_t rule_fingerprint(const struct load_ctx *lc, const struct tld_xml_node *el)
{
    uint64_t h = hash_bytes(TLD_FNV1A_SEED, lc->group_name, strlen(lc->group_name));
    return hash_element(h, el);
}

static int load_rule(struct load_ctx *lc, const struct tld_xml_node *el)
{
    struct draft *d = lc->d;
    draft_init(d);
    d->line = el->line;
    int rc = 0;
    bool has_id = false, has_level = false;

    /* Name the rule in attribute errors even when `id` is not its first attribute. */
    const struct tld_sv *idv = NULL;
    for (unsigned i = 0; i < el->nattrs; i++)
        if (strcasecmp(el->attrs[i].name, "id") == 0)
            idv = &el->attrs[i].value;
    if (idv && sv_digits(*idv) && idv->n <= 6 && idv->n)
        snprintf(d->id_str, sizeof d->id_str, "%.*s", (int)idv->n, idv->p);

    if (el->nattrs == 0) {
        lc_error(lc, el->line, "<rule> without attributes: id and level are required");
        rc = TLD_EPARSE;
        goto out;
    }
    if ((rc = rule_attributes(lc, el, d, &has_id, &has_level)) != 0)
        goto out;
    if (!has_id || !has_level) {
        lc_error(lc, el->line, "rule %s: missing attribute %s", d->id_str, has_id ? "level" : "id");
        rc = TLD_EPARSE;
        goto out;
    }
    struct tld_rule *existing = rules_find_mut(lc->rs, d->id);
    uint64_t fingerprint = rule_fingerprint(lc, el);
    if (existing && !d->overwrite) {
        /* A verbatim repeat is harmless (Wazuh's own test files repeat rules); a different rule
         * under a used id is a mistake whichever definition was meant to win. */
        if (existing->impl->source_hash == fingerprint) {
            lc_warn(lc, el->line,
                    "rule %u: repeated identical definition (first at %s:%u); ignored", d->id,
                    existing->file, existing->line);
        } else {
            lc_error(lc, el->line,
                     "rule %u: duplicate rule id (first defined at %s:%u); use overwrite=\"yes\" "
                     "to replace it",
                     d->id, existing->file, existing->line);
            rc = TLD_EPARSE;
        }
        goto out;
    }
    if (!existing && d->overwrite) {
        lc_warn(lc, el->line,
                "rule %u: overwrite=\"yes\" but no rule with this id exists; loaded as a new rule",
                d->id);
        d->overwrite = false;
    }
    d->mail = d->level >= lc->rs->env.email_alert_level;
    d->log = d->level >= lc->rs->env.log_alert_level;
    tld_sb_append_cstr(&d->groups, lc->group_name);

    if (!el->children) {
        lc_error(lc, el->line, "rule %u: no child elements (at least a description is needed)",
                 d->id);
        rc = TLD_EPARSE;
        goto out;
    }
    for (const struct tld_xml_node *c = el->children; c; c = c->next) {
        rc = rule_opts_element(lc, d, c);
        if (rc)
            goto out;
        if (d->skip)
            break;
    }
    if (!d->skip && d->has_if_sid && !if_sid_valid(&d->if_sid)) {
        lc_warn(lc, el->line, "rule %u: invalid <if_sid> '%s'; rule skipped", d->id,
                tld_sb_cstr(&d->if_sid));
        d->skip = true;
    }
    if (d->skip)
        goto out;
    if (!d->has_description) {
        lc_error(lc, el->line, "rule %u: missing <description>", d->id);
        rc = TLD_EPARSE;
        goto out;
    }
    bool wants_context = d->global_frequency || d->check_diff || d->same_mask || d->diff_mask ||
                         d->same_fields.n || d->diff_fields.n || d->freq_attr > 2;
    if (wants_context && !d->context) {
        lc_error(lc, el->line,
                 "rule %u: frequency/same_*/different_*/global_frequency need an "
                 "<if_matched_sid>, <if_matched_group> or <if_matched_regex> (missing if_matched)",
                 d->id);
        rc = TLD_EPARSE;
        goto out;
    }
    if (!d->overwrite) {
        if (d->has_if_matched_group && !d->has_if_sid && !d->has_if_group) {
            tld_sb_append_sv(&d->if_group, tld_sb_view(&d->if_matched_group));
            d->has_if_group = true;
        }
        if (d->if_matched_sid && !d->has_if_sid && !d->has_if_group) {
            tld_sb_printf(&d->if_sid, "%u", d->if_matched_sid);
            d->has_if_sid = true;
        }
    }
    struct tld_rule *r;
    int err = build_rule(lc, d, &r);
    if (err) {
        if (err == TLD_ENOMEM)
            lc_error(lc, el->line, "rule %u: out of memory", d->id);
        rc = TLD_EPARSE;
        goto out;
    }
    r->impl->source_hash = fingerprint;
    if (existing)
        err = tree_overwrite(lc, existing, r, r->impl);
    else {
        bool skipped; /* warnings were given */
        err = tree_attach(lc, r, &skipped);
        if (err == TLD_EPARSE) {
            rc = err; /* reported by tree_attach */
            goto out;
        }
        if (err == 0 && !skipped)
            err = tree_bind_correlation(lc, r);
    }
    if (err < 0) {
        lc_error(lc, el->line, "rule %u: %s", d->id,
                 err == TLD_ELIMIT ? "rule set too large" : "out of memory");
        rc = TLD_EPARSE;
    }
out:
    draft_fini(d);
    return rc;
}

static int load_groups(struct load_ctx *lc, const struct tld_xml_node *roots)
{
    for (const struct tld_xml_node *g = roots; g; g = g->next) {
        if (!tld_xml_is(g, "group")) {
            lc_error(lc, g->line, "invalid root element <%s>: only <group> is allowed", g->name);
            return TLD_EPARSE;
        }
        if (g->nattrs != 1 || strcasecmp(g->attrs[0].name, "name") != 0) {
            lc_error(lc, g->line, "<group> must have exactly one attribute, name");
            return TLD_EPARSE;
        }
    }
    for (const struct tld_xml_node *g = roots; g; g = g->next) {
        lc->group_name = g->attrs[0].value.p;
        if (!g->children) {
            lc_error(lc, g->line, "<group name=\"%s\"> holds no <rule>", lc->group_name);
            return TLD_EPARSE;
        }
        for (const struct tld_xml_node *r = g->children; r; r = r->next) {
            if (!tld_xml_is(r, "rule")) {
                lc_error(lc, r->line, "invalid element <%s> in <group>: only <rule> is allowed",
                         r->name);
                return TLD_EPARSE;
            }
            if (load_rule(lc, r) != 0)
                return TLD_EPARSE;
        }
    }
    return 0;
}

int tld_rules_load_doc(struct tld_rules *rules, const struct tld_xml_doc *doc,
                       struct tld_diag *diag)
{
    if (rules->finished)
        return TLD_EINVAL;
    struct file_store *fs = calloc(1, sizeof *fs);
    struct undo_log *undo = undo_new();
    struct draft *d = malloc(sizeof *d);
    if (!fs || !undo || !d) {
        free(fs);
        undo_free(undo);
        free(d);
        return TLD_ENOMEM;
    }
    tld_arena_init(&fs->arena, FILE_ARENA_BLOCK, FILE_ARENA_MAX);
    struct load_ctx lc = {.rs = rules, .diag = diag, .fs = fs, .undo = undo, .d = d};
    lc.file = tld_arena_strdup(&fs->arena, doc->file ? doc->file : "?");
    undo_mark(rules, undo);
    int err = lc.file ? load_groups(&lc, doc->roots) : TLD_ENOMEM;
    if (err) {
        undo_rollback(rules, undo);
        file_store_free(fs);
    } else {
        fs->next = rules->files;
        rules->files = fs;
    }
    undo_free(undo);
    free(d);
    return err;
}

int tld_rules_load_buf(struct tld_rules *rules, const char *buf, size_t n, const char *name,
                       struct tld_diag *diag)
{
    struct tld_xml_doc *doc = NULL;
    int err = tld_xml_parse(buf, n, name, &doc, diag);
    if (err)
        return err;
    err = tld_rules_load_doc(rules, doc, diag);
    tld_xml_free(doc);
    return err;
}

int tld_rules_load_file(struct tld_rules *rules, const char *path, struct tld_diag *diag)
{
    struct tld_xml_doc *doc = NULL;
    int err = tld_xml_load(path, &doc, diag);
    if (err)
        return err;
    err = tld_rules_load_doc(rules, doc, diag);
    tld_xml_free(doc);
    return err;
}
