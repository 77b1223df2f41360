/*
 * Alert JSON serialisation (alerts.md). Written by hand rather than through a JSON tree because
 * the key order, the omission rules and the string escaping are part of the contract, and
 * because this runs once per alert on the hot path. The `data` object is the one place that
 * needs structure: dotted dynamic field names become nested objects, built in the event's arena.
 */
#include "engine/alert.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "engine/decode/decoder.h"
#include "engine/alert/mitre.h"
#include "engine/decode/predecode.h"

/* ---- strings ----------------------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at s (at most n bytes), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned cp;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

/* Bytes copied as they are: printable ASCII and DEL, other than the quote and the backslash. */
static inline bool verbatim(unsigned c)
{
    return c - 0x20u < 0x60u && c != '"' && c != '\\';
}

#ifdef __SSE2__
/* Bit k set when byte k of x is not verbatim: a signed compare below 0x20 also catches the
 * bytes >= 0x80. */
static inline unsigned not_verbatim16(__m128i x)
{
    const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'),
                  bslash = _mm_set1_epi8('\\');
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, space),
                               _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)));
    return (unsigned)_mm_movemask_epi8(bad);
}
#endif

/* Index of the first byte at or after i that is not verbatim (n if none). */
static inline size_t verbatim_run(const unsigned char *p, size_t i, size_t n)
{
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        unsigned mask = not_verbatim16(_mm_loadu_si128((const __m128i *)(p + i)));
        if (mask)
            return i + (unsigned)__builtin_ctz(mask);
    }
    if (i < n && n >= 16) {
        /* The last bytes through the 16 that end at n, overlapping what was seen: never read
         * past the string, and no copy (a small copy then a wide load stalls the store buffer). */
        size_t base = n - 16;
        unsigned mask = not_verbatim16(_mm_loadu_si128((const __m128i *)(p + base)));
        mask &= 0xFFFFu << (i - base);
        return mask ? base + (unsigned)__builtin_ctz(mask) : n;
    }
#endif
    while (i < n && verbatim(p[i]))
        i++;
    return i;
}

static const char hex[] = "0123456789abcdef";

/* One byte that is not verbatim, at p[0] of p[0..n): writes its JSON form at d, returns the
 * new d; *used receives how many input bytes it took. */
static char *escape_one(char *d, const unsigned char *p, size_t n, size_t *used)
{
    unsigned c = p[0];
    *used = 1;
    if (c >= 0x80) {
        size_t len = utf8_len(p, n);
        if (len) {
            memcpy(d, p, len);
            *used = len;
            return d + len;
        }
        memcpy(d, "\xEF\xBF\xBD", 3); /* not valid UTF-8: U+FFFD keeps the JSON valid */
        return d + 3;
    }
    *d++ = '\\';
    switch (c) {
    case '"':
        *d++ = '"';
        break;
    case '\\':
        *d++ = '\\';
        break;
    case '\b':
        *d++ = 'b';
        break;
    case '\f':
        *d++ = 'f';
        break;
    case '\n':
        *d++ = 'n';
        break;
    case '\r':
        *d++ = 'r';
        break;
    case '\t':
        *d++ = 't';
        break;
    default:
        memcpy(d, "u00", 3);
        d[3] = hex[c >> 4];
        d[4] = hex[c & 15];
        d += 5;
    }
    return d;
}

/* The escaped text of p[0..n) written at d, which has room for the worst case (6 bytes a byte,
 * so at least 16 spare bytes whenever 16 input bytes remain). */
static char *escape_into(char *d, const unsigned char *p, size_t n)
{
    size_t i = 0, used;
#ifdef __SSE2__
    /* 16 bytes at a time: each block is stored whole, then d advances past its verbatim
     * prefix only, and the first byte that needs escaping is written over the rest. */
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(p + i));
        _mm_storeu_si128((__m128i *)d, x);
        unsigned mask = not_verbatim16(x);
        if (!mask) {
            d += 16;
            i += 16;
            continue;
        }
        unsigned k = (unsigned)__builtin_ctz(mask);
        d += k;
        i += k;
        d = escape_one(d, p + i, n - i, &used);
        i += used;
    }
#endif
    while (i < n) {
        size_t run = verbatim_run(p, i, n);
        memcpy(d, p + i, run - i);
        d += run - i;
        if ((i = run) == n)
            break;
        d = escape_one(d, p + i, n - i, &used);
        i += used;
    }
    return d;
}

void tld_alert_json_string(struct tld_sb *out, struct tld_sv s)
{
    const unsigned char *p = (const unsigned char *)s.p;
    /* When the worst case fits, write in place; otherwise append piece by piece, so that a
     * string reaching the builder's bound is cut exactly where appends cut it. */
    if (s.n < (SIZE_MAX - 2) / 6 && tld_sb_reserve(out, 6 * s.n + 2)) {
        char *d = out->p + out->n;
        *d++ = '"';
        d = escape_into(d, p, s.n);
        *d++ = '"';
        out->n = (size_t)(d - out->p);
        out->p[out->n] = '\0';
        return;
    }
    tld_sb_append_char(out, '"');
    for (size_t i = 0; i < s.n;) {
        size_t run = verbatim_run(p, i, s.n);
        tld_sb_append(out, p + i, run - i);
        if ((i = run) == s.n)
            break;
        char esc[8];
        size_t used;
        char *e = escape_one(esc, p + i, s.n - i, &used);
        tld_sb_append(out, esc, (size_t)(e - esc));
        i += used;
    }
    tld_sb_append_char(out, '"');
}

/* `quoted` is the key with its quotes and colon ("\"id\":"); the macros below build it from a
 * literal at compile time. */
static inline void key_q(struct tld_sb *out, bool *first, const char *quoted, size_t n)
{
    if (!*first)
        tld_sb_append_char(out, ',');
    *first = false;
    tld_sb_append(out, quoted, n);
}
#define QKEY(lit)            "\"" lit "\":", sizeof(lit) + 2
#define key(out, first, lit) key_q((out), (first), QKEY(lit))
#define kv_str(out, first, lit, v)                                                                 \
    do {                                                                                           \
        key(out, first, lit);                                                                      \
        tld_alert_json_string(out, v);                                                             \
    } while (0)

/* Decimal digits without printf's format parsing: several numbers per alert. */
static void append_u64(struct tld_sb *out, unsigned long long v)
{
    char buf[24];
    size_t i = sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    tld_sb_append(out, buf + i, sizeof buf - i);
}

void tld_alert_timestamp(int64_t time_ns, char buf[32])
{
    time_t secs = (time_t)(time_ns / 1000000000);
    long ms = (long)((time_ns % 1000000000) / 1000000);
    struct tm tm;
    localtime_r(&secs, &tm);
    long off = tm.tm_gmtoff;
    char sign = off < 0 ? '-' : '+';
    if (off < 0)
        off = -off;
    char date[24];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    int hh = (int)(off / 3600 % 100), mm = (int)(off % 3600 / 60);
    snprintf(buf, 32, "%.19s.%03d%c%02d%02d", date, (int)ms, sign, hh, mm);
}

/*
 * The same text through the caller's memo of the last second: localtime_r() takes a
 * process-wide lock and costs more than the rest of the timestamp, and consecutive alerts
 * mostly fall in the same second. A zone offset only changes at a whole second, so a memo keyed
 * by the second is exact.
 */
static void timestamp(int64_t time_ns, struct tld_alert_memo *memo, char buf[32])
{
    if (!memo || time_ns < 0) {
        tld_alert_timestamp(time_ns, buf);
        return;
    }
    int64_t secs = time_ns / 1000000000;
    struct tld_alert_clock *clock = &memo->clock;
    if (!clock->valid || clock->sec != secs) {
        /* The layout is "<date>.mmm<zone>" with a 3-digit ms and a 5-byte zone. */
        char full[32];
        tld_alert_timestamp(secs * 1000000000, full);
        size_t n = strlen(full);
        if (n < 9) { /* cannot happen; keep the slow path rather than guess */
            tld_alert_timestamp(time_ns, buf);
            return;
        }
        clock->prefix_len = n - 9;
        memcpy(clock->prefix, full, clock->prefix_len);
        memcpy(clock->zone, full + n - 5, 5);
        clock->sec = secs;
        clock->valid = true;
    }
    unsigned ms = (unsigned)(time_ns % 1000000000 / 1000000);
    char *p = buf;
    memcpy(p, clock->prefix, clock->prefix_len);
    p += clock->prefix_len;
    *p++ = '.';
    *p++ = (char)('0' + ms / 100);
    *p++ = (char)('0' + ms / 10 % 10);
    *p++ = (char)('0' + ms % 10);
    memcpy(p, clock->zone, 5);
    p[5] = '\0';
}

/* ---- embedded JSON arrays (values that are whole JSON documents starting with '[') ---------- */

static void print_number(struct tld_sb *out, const cJSON *item)
{
    double d = item->valuedouble;
    char buf[32];
    if (isnan(d) || isinf(d)) {
        tld_sb_append_cstr(out, "null");
        return;
    }
    if (d == (double)item->valueint) {
        snprintf(buf, sizeof buf, "%d", item->valueint);
    } else {
        snprintf(buf, sizeof buf, "%1.15g", d);
        if (strtod(buf, NULL) != d)
            snprintf(buf, sizeof buf, "%1.17g", d);
    }
    tld_sb_append_cstr(out, buf);
}

static void print_cjson(struct tld_sb *out, const cJSON *item)
{
    if (cJSON_IsString(item)) {
        tld_alert_json_string(out, tld_sv_of(item->valuestring));
    } else if (cJSON_IsNumber(item)) {
        print_number(out, item);
    } else if (cJSON_IsTrue(item)) {
        tld_sb_append_cstr(out, "true");
    } else if (cJSON_IsFalse(item)) {
        tld_sb_append_cstr(out, "false");
    } else if (cJSON_IsArray(item) || cJSON_IsObject(item)) {
        bool obj = cJSON_IsObject(item);
        tld_sb_append_char(out, obj ? '{' : '[');
        for (const cJSON *c = item->child; c; c = c->next) {
            if (c != item->child)
                tld_sb_append_char(out, ',');
            if (obj) {
                tld_alert_json_string(out, tld_sv_of(c->string ? c->string : ""));
                tld_sb_append_char(out, ':');
            }
            print_cjson(out, c);
        }
        tld_sb_append_char(out, obj ? '}' : ']');
    } else {
        tld_sb_append_cstr(out, "null");
    }
}

static void print_value(struct tld_sb *out, struct tld_sv v)
{
    if (v.n && v.p[0] == '[') {
        const char *end = NULL;
        cJSON *doc = cJSON_ParseWithLengthOpts(v.p, v.n, &end, 0);
        bool whole = doc != NULL;
        for (const char *q = end; whole && q && q < v.p + v.n; q++)
            whole = *q == ' ' || *q == '\t' || *q == '\r' || *q == '\n';
        if (whole) {
            print_cjson(out, doc);
            cJSON_Delete(doc);
            return;
        }
        cJSON_Delete(doc);
    }
    tld_alert_json_string(out, v);
}

/* ---- data -------------------------------------------------------------------------------- */

struct node {
    struct tld_sv name;
    struct tld_sv value; /* leaf value; p NULL for an object */
    struct node *child, *last, *next;
};

static struct node *find_child(struct node *obj, struct tld_sv name)
{
    for (struct node *c = obj->child; c; c = c->next)
        if (c->name.n == name.n && tld_sv_eq_nocase(c->name, name))
            return c;
    return NULL;
}

static struct node *add_child(struct tld_arena *arena, struct node *obj, struct tld_sv name,
                              struct tld_sv value)
{
    struct node *n = tld_arena_zalloc(arena, sizeof *n);
    if (!n)
        return NULL;
    n->name = name;
    n->value = value;
    if (obj->last)
        obj->last->next = n;
    else
        obj->child = n;
    obj->last = n;
    return n;
}

/*
 * The objects the previous name went through: decoders emit related fields one after the other
 * ("docker.Actor.Attributes.image", then "...name"), so the next name usually starts with the
 * same segments. A shared prefix (same bytes) leads to the same objects, since children are only
 * ever appended and find_child returns the first match.
 */
#define PATH_MEMO 16

struct path_memo {
    struct tld_sv name;
    unsigned depth;              /* valid entries below */
    struct node *obj[PATH_MEMO]; /* the object for name[0..end[d]) */
    size_t end[PATH_MEMO];       /* offset of the '.' after segment d */
};

static void insert_dynamic(struct tld_arena *arena, struct node *root, struct tld_sv name,
                           struct tld_sv value, struct path_memo *pm)
{
    struct node *obj = root;
    size_t start = 0;
    unsigned d = 0;
    if (pm->depth) {
        size_t common = 0, lim = name.n < pm->name.n ? name.n : pm->name.n;
        for (; common + 8 <= lim; common += 8) { /* long shared prefixes, a word at a time */
            uint64_t a, b;
            memcpy(&a, name.p + common, 8);
            memcpy(&b, pm->name.p + common, 8);
            if (a != b)
                break;
        }
        while (common < lim && name.p[common] == pm->name.p[common])
            common++;
        for (unsigned k = pm->depth; k-- > 0;)
            if (pm->end[k] < common) {
                obj = pm->obj[k];
                start = pm->end[k] + 1;
                d = k + 1;
                break;
            }
    }
    pm->name = name;
    for (size_t i = start; i <= name.n; i++) {
        const char *dot = i < name.n ? memchr(name.p + i, '.', name.n - i) : NULL;
        i = dot ? (size_t)(dot - name.p) : name.n;
        struct tld_sv seg = tld_sv_make(name.p + start, i - start);
        start = i + 1;
        struct node *hit = find_child(obj, seg);
        if (i == name.n) {
            if (!hit)
                add_child(arena, obj, seg, value);
            break; /* an existing key of any case wins */
        }
        if (hit && hit->value.p)
            break; /* the prefix is already a string */
        if (!hit)
            hit = add_child(arena, obj, seg, TLD_SV_NULL);
        if (!hit)
            break;
        obj = hit;
        if (d < PATH_MEMO) {
            pm->obj[d] = obj;
            pm->end[d] = i;
            d++;
        }
    }
    pm->depth = d;
}

static void print_node_members(struct tld_sb *out, const struct node *obj)
{
    bool first = true;
    for (const struct node *c = obj->child; c; c = c->next) {
        if (!first)
            tld_sb_append_char(out, ',');
        first = false;
        tld_alert_json_string(out, c->name);
        tld_sb_append_char(out, ':');
        if (c->value.p) {
            print_value(out, c->value);
        } else {
            tld_sb_append_char(out, '{');
            print_node_members(out, c);
            tld_sb_append_char(out, '}');
        }
    }
}

static bool print_data(struct tld_sb *out, bool *first, const struct tld_event *ev)
{
    struct node root = {0};
    bool any = false;
    for (int f = 0; f < TLD_F_COUNT; f++) {
        if (!ev->fields[f].p || f == TLD_F_SRCGEOIP || f == TLD_F_DSTGEOIP)
            continue;
        add_child(ev->arena, &root, tld_sv_of(tld_field_name((enum tld_field)f)), ev->fields[f]);
        any = true;
    }
    struct path_memo pm = {.depth = 0};
    for (unsigned i = 0; i < ev->ndyn; i++) {
        if (ev->dyn[i].value.n == 0)
            continue;
        insert_dynamic(ev->arena, &root, ev->dyn[i].name, ev->dyn[i].value, &pm);
        any = true;
    }
    if (!any || !root.child)
        return false;
    key(out, first, "data");
    tld_sb_append_char(out, '{');
    print_node_members(out, &root);
    tld_sb_append_char(out, '}');
    return true;
}

/* ---- rule -------------------------------------------------------------------------------- */

static void str_array_q(struct tld_sb *out, bool *first, const char *quoted, size_t qn,
                        const struct tld_sv *v, unsigned n)
{
    key_q(out, first, quoted, qn);
    tld_sb_append_char(out, '[');
    for (unsigned i = 0; i < n; i++) {
        if (i)
            tld_sb_append_char(out, ',');
        tld_alert_json_string(out, v[i]);
    }
    tld_sb_append_char(out, ']');
}

#define MAX_MITRE 64

static bool sv_in(const struct tld_sv *list, unsigned n, struct tld_sv v)
{
    for (unsigned i = 0; i < n; i++)
        if (tld_sv_eq(list[i], v))
            return true;
    return false;
}

static void print_mitre(struct tld_sb *out, bool *first, const struct tld_alert_rule *r)
{
    struct tld_sv ids[MAX_MITRE], tactics[MAX_MITRE], techniques[MAX_MITRE];
    unsigned nids = 0, ntac = 0, ntech = 0;
    for (unsigned i = 0; i < r->nmitre_ids && nids < MAX_MITRE; i++) {
        ids[nids++] = r->mitre_ids[i];
        const struct tld_mitre_technique *t = tld_mitre_technique(r->mitre_ids[i]);
        if (!t)
            continue;
        if (ntech < MAX_MITRE)
            techniques[ntech++] = tld_sv_of(t->name);
        for (unsigned k = 0; k < t->ntactics; k++) {
            struct tld_sv name = tld_sv_of(tld_mitre_tactics[t->tactics[k]].name);
            if (!sv_in(tactics, ntac, name) && ntac < MAX_MITRE)
                tactics[ntac++] = name;
        }
    }
    for (unsigned i = 0; i < r->nmitre_pairs; i++) {
        const struct tld_mitre_technique *t = tld_mitre_technique(r->mitre_pairs[i].technique);
        int tac = tld_mitre_tactic_index(r->mitre_pairs[i].tactic);
        bool has = false;
        for (unsigned k = 0; t && tac >= 0 && k < t->ntactics; k++)
            has |= t->tactics[k] == tac;
        if (!has)
            continue;
        struct tld_sv tname = tld_sv_of(tld_mitre_tactics[tac].name);
        if (!sv_in(tactics, ntac, tname) && ntac < MAX_MITRE)
            tactics[ntac++] = tname;
        struct tld_sv name = tld_sv_of(t->name);
        if (!sv_in(techniques, ntech, name) && ntech < MAX_MITRE && nids < MAX_MITRE) {
            techniques[ntech++] = name;
            ids[nids++] = r->mitre_pairs[i].technique;
        }
    }
    if (ntac == 0)
        return;
    key(out, first, "mitre");
    tld_sb_append_char(out, '{');
    bool f = true;
    str_array_q(out, &f, QKEY("id"), ids, nids);
    str_array_q(out, &f, QKEY("tactic"), tactics, ntac);
    str_array_q(out, &f, QKEY("technique"), techniques, ntech);
    tld_sb_append_char(out, '}');
}

/* Compliance prefixes, in the order the alert checks them (rules.md §10), and their keys. */
#define COMPLIANCE(prefix, k)                                                                      \
    {                                                                                              \
        prefix, sizeof(prefix) - 1, QKEY(k)                                                        \
    }
static const struct {
    const char *prefix;
    size_t pn;
    const char *quoted;
    size_t qn;
} compliance[] = {
    COMPLIANCE("pci_dss_", "pci_dss"), COMPLIANCE("cis_", "cis"),
    COMPLIANCE("gdpr_", "gdpr"),       COMPLIANCE("gpg13_", "gpg13"),
    COMPLIANCE("hipaa_", "hipaa"),     COMPLIANCE("nist_800_53_", "nist_800_53"),
    COMPLIANCE("tsc_", "tsc"),
};
#define NCOMPLIANCE (sizeof compliance / sizeof compliance[0])
#define MAX_GROUPS  256

static void print_groups(struct tld_sb *out, bool *first, struct tld_sv groups)
{
    if (groups.n > 1023)
        groups.n = 1023;
    struct tld_sv plain[MAX_GROUPS], comp[NCOMPLIANCE][MAX_GROUPS];
    unsigned nplain = 0, ncomp[NCOMPLIANCE] = {0}, order[NCOMPLIANCE], norder = 0;
    struct tld_sv g;
    for (size_t at = 0; tld_sv_next_piece(groups, ',', &at, &g);) {
        if (g.n == 0)
            continue;
        size_t c = NCOMPLIANCE;
        if (memchr(g.p, '_', g.n)) /* every prefix has one */
            for (c = 0; c < NCOMPLIANCE; c++)
                if (g.n >= compliance[c].pn &&
                    memcmp(g.p, compliance[c].prefix, compliance[c].pn) == 0)
                    break;
        if (c == NCOMPLIANCE) {
            if (nplain < MAX_GROUPS)
                plain[nplain++] = g;
            continue;
        }
        size_t pl = compliance[c].pn;
        if (ncomp[c] == 0)
            order[norder++] = (unsigned)c;
        if (ncomp[c] < MAX_GROUPS)
            comp[c][ncomp[c]++] = tld_sv_make(g.p + pl, g.n - pl);
    }
    str_array_q(out, first, QKEY("groups"), plain, nplain);
    for (unsigned k = 0; k < norder; k++)
        str_array_q(out, first, compliance[order[k]].quoted, compliance[order[k]].qn,
                    comp[order[k]], ncomp[order[k]]);
}

/* The parts of "rule" that depend on the rule alone; each starts with its comma. */
static void print_rule_middle(struct tld_sb *out, const struct tld_alert_rule *r)
{
    bool f = false;
    print_mitre(out, &f, r);
    if (r->cve.p)
        kv_str(out, &f, "cve", r->cve);
    if (r->info.p)
        kv_str(out, &f, "info", r->info);
    if (r->frequency) {
        key(out, &f, "frequency");
        append_u64(out, r->frequency);
    }
}

static void print_rule_tail(struct tld_sb *out, const struct tld_alert_rule *r)
{
    bool f = false;
    print_groups(out, &f, r->groups);
}

/* The memo slot holding r's constant parts, filled on a miss; NULL when not memoised. */
static const struct tld_alert_memo_slot *memo_slot(struct tld_alert_memo *memo,
                                                   const struct tld_alert_rule *r)
{
    if (!memo || !r->memo_key)
        return NULL;
    uintptr_t h = (uintptr_t)r->memo_key;
    h = (h >> 4) ^ (h >> 13);
    struct tld_alert_memo_slot *slot = &memo->slots[h & (TLD_ALERT_MEMO_SLOTS - 1)];
    if (slot->key == r->memo_key)
        return slot;
    struct tld_sb tmp;
    tld_sb_init(&tmp, TLD_ALERT_MEMO_MAX);
    print_rule_middle(&tmp, r);
    size_t middle = tmp.n;
    print_rule_tail(&tmp, r);
    if (tmp.truncated || tmp.oom) {
        tld_sb_fini(&tmp);
        return NULL;
    }
    size_t n;
    char *text = tld_sb_steal(&tmp, &n);
    if (!text)
        return NULL;
    free(slot->text);
    slot->text = text;
    slot->middle_len = middle;
    slot->tail_len = n - middle;
    slot->key = r->memo_key;
    return slot;
}

static void print_rule(struct tld_sb *out, bool *first, const struct tld_alert_rule *r,
                       struct tld_alert_memo *memo)
{
    key(out, first, "rule");
    tld_sb_append_char(out, '{');
    bool f = true;
    if (r->level != 0 || r->print_level_zero) {
        key(out, &f, "level");
        if (r->level >= 0)
            append_u64(out, (unsigned)r->level);
        else
            tld_sb_printf(out, "%d", r->level);
    }
    kv_str(out, &f, "description", r->description);
    kv_str(out, &f, "id", r->id);
    const struct tld_alert_memo_slot *slot = memo_slot(memo, r);
    if (slot)
        tld_sb_append(out, slot->text, slot->middle_len);
    else
        print_rule_middle(out, r);
    if (!r->no_counter) {
        key(out, &f, "firedtimes");
        append_u64(out, r->firedtimes);
    }
    key(out, &f, "mail");
    tld_sb_append_cstr(out, r->mail ? "true" : "false");
    if (slot)
        tld_sb_append(out, slot->text + slot->middle_len, slot->tail_len);
    else
        print_rule_tail(out, r);
    tld_sb_append_char(out, '}');
}

void tld_alert_memo_init(struct tld_alert_memo *memo)
{
    memset(memo, 0, sizeof *memo);
}

void tld_alert_memo_fini(struct tld_alert_memo *memo)
{
    if (!memo)
        return;
    for (unsigned i = 0; i < TLD_ALERT_MEMO_SLOTS; i++)
        free(memo->slots[i].text);
    memset(memo, 0, sizeof *memo);
}

/* ---- the alert --------------------------------------------------------------------------- */

static void print_agent(struct tld_sb *out, bool *first, const struct tld_event *ev)
{
    key(out, first, "agent");
    tld_sb_append_char(out, '{');
    bool f = true;
    kv_str(out, &f, "id", ev->agent_id.p ? ev->agent_id : TLD_SV_LIT("000"));
    kv_str(out, &f, "name", ev->agent_name.p ? ev->agent_name : ev->manager_name);
    if (ev->agent_ip.p && tld_event_from_agent(ev) && !tld_sv_eq_cstr(ev->agent_ip, "any"))
        kv_str(out, &f, "ip", ev->agent_ip);
    tld_sb_append_char(out, '}');
}

static void print_decoder(struct tld_sb *out, bool *first, const struct tld_event *ev)
{
    key(out, first, "decoder");
    tld_sb_append_char(out, '{');
    const struct tld_decoder *d = ev->decoder;
    if (d) {
        bool f = true;
        if (d->accumulate) {
            key(out, &f, "accumulate");
            tld_sb_append_char(out, '1');
        }
        if (d->parent)
            kv_str(out, &f, "parent", tld_sv_of(d->parent));
        kv_str(out, &f, "name", tld_sv_of(d->name));
        if (d->ftscomment)
            kv_str(out, &f, "ftscomment", tld_sv_of(d->ftscomment));
    }
    tld_sb_append_char(out, '}');
}

static void print_predecoder(struct tld_sb *out, bool *first, const struct tld_event *ev,
                             struct tld_sv hostname)
{
    key(out, first, "predecoder");
    tld_sb_append_char(out, '{');
    bool f = true;
    if (ev->program_name.p)
        kv_str(out, &f, "program_name", ev->program_name);
    if (ev->timestamp.p)
        kv_str(out, &f, "timestamp", ev->timestamp);
    if (hostname.p)
        kv_str(out, &f, "hostname", hostname);
    tld_sb_append_char(out, '}');
}

static void print_container(struct tld_sb *out, bool *first, const struct tld_container_meta *c)
{
    key(out, first, "container");
    tld_sb_append_char(out, '{');
    bool f = true;
    if (c->id.p)
        kv_str(out, &f, "id", c->id);
    if (c->name.p)
        kv_str(out, &f, "name", c->name);
    if (c->image.p) {
        key(out, &f, "image");
        tld_sb_append_char(out, '{');
        bool g = true;
        kv_str(out, &g, "name", c->image);
        tld_sb_append_char(out, '}');
    }
    if (c->nlabels) {
        key(out, &f, "labels");
        tld_sb_append_char(out, '{');
        for (unsigned i = 0; i < c->nlabels; i++) {
            if (i)
                tld_sb_append_char(out, ',');
            tld_alert_json_string(out, c->labels[i].key);
            tld_sb_append_char(out, ':');
            tld_alert_json_string(out, c->labels[i].value);
        }
        tld_sb_append_char(out, '}');
    }
    tld_sb_append_char(out, '}');
}

void tld_alert_format(const struct tld_event *ev, const struct tld_alert_rule *rule,
                      struct tld_sv alert_id, struct tld_alert_memo *memo, struct tld_sb *out)
{
    bool first = true;
    char ts[32];
    timestamp(ev->time_ns, memo, ts);
    tld_sb_append_char(out, '{');
    kv_str(out, &first, "timestamp", tld_sv_of(ts));
    if (rule)
        print_rule(out, &first, rule, memo);
    print_agent(out, &first, ev);
    key(out, &first, "manager");
    tld_sb_append_char(out, '{');
    bool f = true;
    kv_str(out, &f, "name", ev->manager_name);
    tld_sb_append_char(out, '}');
    kv_str(out, &first, "id", alert_id);
    if (rule && rule->previous_output.p)
        kv_str(out, &first, "previous_output", rule->previous_output);
    if (!rule || !rule->no_full_log)
        kv_str(out, &first, "full_log", ev->full_log);
    struct tld_sv hostname = TLD_SV_NULL;
    tld_predecode_alert_hostname(ev->full_log, &hostname);
    bool early_pre = ev->program_name.p || ev->timestamp.p;
    if (early_pre)
        print_predecoder(out, &first, ev, hostname);
    print_decoder(out, &first, ev);
    if (rule && rule->previous_log.p)
        kv_str(out, &first, "previous_log", rule->previous_log);
    print_data(out, &first, ev);
    if (!early_pre && hostname.p)
        print_predecoder(out, &first, ev, hostname);
    if (ev->alert_location.p)
        kv_str(out, &first, "location", ev->alert_location);
    if (ev->container)
        print_container(out, &first, ev->container);
    if (ev->truncated) {
        key(out, &first, "truncated");
        tld_sb_append_cstr(out, "true");
    }
    /* What Wazuh's shipper adds on the way to the dashboard; alerts here go straight to ours. */
    key(out, &first, "input");
    tld_sb_append_cstr(out, "{\"type\":\"log\"}");
    tld_sb_append_char(out, '}');
}
