/*
 * Alert flattening for the store (see flatten.h). Values are read from the cJSON tree in place;
 * only keys, which are built by joining path segments, and numbers, which need formatting, are
 * copied into the reusable text buffer, so a flattened alert costs no allocation once warm.
 */
#include "store/flatten.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"

#define TEXT_MAX (64u << 20)

void tld_flat_init(struct tld_flat *f)
{
    memset(f, 0, sizeof(*f));
    tld_sb_init(&f->text, TEXT_MAX);
    tld_sb_init(&f->key, TLD_FLAT_MAX_KEY * 2);
}

void tld_flat_fini(struct tld_flat *f)
{
    free(f->pairs);
    tld_sb_fini(&f->text);
    tld_sb_fini(&f->key);
}

static void number_text(double d, char numbuf[40], struct tld_sv *out)
{
    int n;
    /* Integers print as integers (what the JSON said), others the way SQL engines print REAL. */
    if (d == floor(d) && fabs(d) < 9007199254740992.0)
        n = snprintf(numbuf, 40, "%lld", (long long)d);
    else
        n = snprintf(numbuf, 40, "%.15g", d);
    *out = tld_sv_make(numbuf, (size_t)n);
}

bool tld_flat_scalar_text(const cJSON *v, char numbuf[40], struct tld_sv *out)
{
    if (cJSON_IsString(v)) {
        *out = tld_sv_of(v->valuestring);
        return true;
    }
    if (cJSON_IsBool(v)) {
        *out = tld_sv_of(cJSON_IsTrue(v) ? "true" : "false");
        return true;
    }
    if (!cJSON_IsNumber(v))
        return false;
    number_text(v->valuedouble, numbuf, out);
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* The zone suffix: "Z", "+0300", "+03:00" or nothing (UTC). */
static int zone_offset(const char *s, int64_t *off_ms)
{
    *off_ms = 0;
    if (!*s || !strcmp(s, "Z"))
        return 0;
    /* The length first: a cut suffix ("-") must not be read past its end. */
    size_t n = strlen(s);
    if ((*s != '+' && *s != '-') || (n != 5 && n != 6) || (n == 6 && s[3] != ':'))
        return TLD_EPARSE;
    int hh, mm;
    const char *m = n == 6 ? s + 4 : s + 3;
    if (!digits(s + 1, 2, &hh) || !digits(m, 2, &mm) || hh > 23 || mm > 59)
        return TLD_EPARSE;
    *off_ms = (int64_t)(hh * 60 + mm) * 60000 * (*s == '-' ? -1 : 1);
    return 0;
}

int tld_flat_parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, se;
    if (strlen(s) < 19 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &se))
        return TLD_EPARSE;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return TLD_EPARSE;
    const char *p = s + 19;
    int frac = 0;
    if (*p == '.') {
        int scale = 100;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    int64_t off;
    if (zone_offset(p, &off))
        return TLD_EPARSE;
    int64_t secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
    *ms = secs * 1000 + frac - off;
    return 0;
}

static int push_pair(struct tld_flat *f, struct tld_sv key, struct tld_sv val)
{
    if (f->npairs >= TLD_FLAT_MAX_PAIRS || key.n > TLD_FLAT_MAX_KEY || val.n > TLD_FLAT_MAX_VALUE ||
        memchr(key.p, '\0', key.n))
        return 0; /* still stored in the raw line, only not indexed */
    if (f->npairs == f->cap && tld_grow(&f->pairs, &f->cap, f->npairs + 1, sizeof(*f->pairs), 64))
        return TLD_ENOMEM;
    struct tld_flat_pair *p = &f->pairs[f->npairs++];
    p->key_off = f->text.n;
    p->key_n = key.n;
    tld_sb_append_sv(&f->text, key);
    p->val_off = f->text.n;
    p->val_n = val.n;
    tld_sb_append_sv(&f->text, val);
    return f->text.truncated || f->text.oom ? TLD_ENOMEM : 0;
}

/* Takes the dotted key back to its first `keep` bytes (after a member was walked). */
static void key_cut(struct tld_sb *key, size_t keep)
{
    key->n = keep;
    key->p[keep] = '\0';
}

/* Copies the next segment of a dotted path into `seg`; false when it does not fit. */
static bool next_segment(const char **dotted, char seg[64])
{
    size_t n = strcspn(*dotted, ".");
    if (n >= 64)
        return false;
    memcpy(seg, *dotted, n);
    seg[n] = '\0';
    *dotted += n + ((*dotted)[n] == '.');
    return true;
}

/*
 * One value under the dotted key held in `key` (a scratch builder): objects extend the key,
 * arrays repeat it for each element, scalars become pairs.
 */
static int walk(struct tld_flat *f, struct tld_sb *key, const cJSON *v, int depth)
{
    if (depth > TLD_FLAT_MAX_DEPTH)
        return 0;
    if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        bool obj = cJSON_IsObject(v);
        size_t keep = key->n;
        for (const cJSON *c = v->child; c; c = c->next) {
            if (obj) {
                if (!c->string)
                    continue;
                tld_sb_append_char(key, '.');
                tld_sb_append_cstr(key, c->string);
            }
            int rc = key->oom ? TLD_ENOMEM : walk(f, key, c, depth + 1);
            key_cut(key, keep);
            if (rc)
                return rc;
        }
        return 0;
    }
    char num[40];
    struct tld_sv text;
    if (!tld_flat_scalar_text(v, num, &text))
        return 0;
    return push_pair(f, tld_sb_view(key), text);
}

static const cJSON *path_get(const cJSON *root, const char *dotted)
{
    char seg[64];
    const cJSON *v = root;
    while (v && *dotted) {
        if (!next_segment(&dotted, seg))
            return NULL;
        v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, seg) : NULL;
    }
    return v;
}

static int walk_named(struct tld_flat *f, struct tld_sb *key, const cJSON *root, const char *name)
{
    const cJSON *v = path_get(root, name);
    if (!v)
        return 0;
    tld_sb_reset(key);
    tld_sb_append_cstr(key, name);
    return key->oom ? TLD_ENOMEM : walk(f, key, v, 0);
}

static void columns(struct tld_flat *f, const cJSON *root)
{
    for (int i = 0; i < TLD_COL_COUNT; i++) {
        const cJSON *v = path_get(root, tld_field_cols[i].field);
        f->col[i] = (struct tld_sv){0};
        if (cJSON_IsString(v))
            f->col[i] = tld_sv_of(v->valuestring);
        else if (i == TLD_COL_RULE_LEVEL && cJSON_IsNumber(v) &&
                 v->valuedouble == floor(v->valuedouble) &&
                 fabs(v->valuedouble) < 9007199254740992.0) {
            f->has_level = true;
            f->level = (int64_t)v->valuedouble;
        }
    }
}

int tld_flat_alert(struct tld_flat *f, const cJSON *root)
{
    f->npairs = 0;
    f->has_level = false;
    f->ts_found = false;
    tld_sb_reset(&f->text);
    columns(f, root);
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(root, "timestamp");
    if (!cJSON_IsString(ts))
        ts = cJSON_GetObjectItemCaseSensitive(root, "@timestamp");
    f->ts_found = cJSON_IsString(ts) && !tld_flat_parse_time(ts->valuestring, &f->ts_ms);
    int rc = walk_named(f, &f->key, root, "data");
    f->ndata = f->npairs;
    for (unsigned i = 0; !rc && i < tld_field_nmulti; i++)
        rc = walk_named(f, &f->key, root, tld_field_multi[i]);
    f->nset = f->npairs;
    return rc;
}

/*
 * The same flattening over a tld_jtree (the writer's allocation-free reader): each function
 * below mirrors its cJSON twin above, so both give the same pairs for the same alert.
 */
static bool jscalar_text(const struct tld_jnode *v, char numbuf[40], struct tld_sv *out)
{
    switch (v->type) {
    case TLD_J_STRING:
        *out = v->str;
        return true;
    case TLD_J_TRUE:
        *out = TLD_SV_LIT("true");
        return true;
    case TLD_J_FALSE:
        *out = TLD_SV_LIT("false");
        return true;
    case TLD_J_NUMBER:
        number_text(v->num, numbuf, out);
        return true;
    default:
        return false;
    }
}

static int jwalk(struct tld_flat *f, struct tld_sb *key, const struct tld_jtree *t, uint32_t v,
                 int depth)
{
    if (depth > TLD_FLAT_MAX_DEPTH)
        return 0;
    const struct tld_jnode *n = &t->nodes[v];
    if (n->type == TLD_J_OBJECT || n->type == TLD_J_ARRAY) {
        size_t keep = key->n;
        for (uint32_t c = n->child; c; c = t->nodes[c].next) {
            if (n->type == TLD_J_OBJECT) {
                tld_sb_append_char(key, '.');
                tld_sb_append_cstr(key, t->nodes[c].key);
            }
            int rc = key->oom ? TLD_ENOMEM : jwalk(f, key, t, c, depth + 1);
            key_cut(key, keep);
            if (rc)
                return rc;
        }
        return 0;
    }
    char num[40];
    struct tld_sv text;
    if (!jscalar_text(n, num, &text))
        return 0;
    return push_pair(f, tld_sb_view(key), text);
}

static uint32_t jpath_get(const struct tld_jtree *t, const char *dotted)
{
    char seg[64];
    uint32_t v = 0;
    while (*dotted) {
        if (!next_segment(&dotted, seg))
            return 0;
        v = tld_jtree_get(t, v, seg);
        if (!v)
            return 0;
    }
    return v;
}

static int jwalk_named(struct tld_flat *f, const struct tld_jtree *t, const char *name)
{
    uint32_t v = jpath_get(t, name);
    if (!v)
        return 0;
    tld_sb_reset(&f->key);
    tld_sb_append_cstr(&f->key, name);
    return f->key.oom ? TLD_ENOMEM : jwalk(f, &f->key, t, v, 0);
}

int tld_flat_jtree(struct tld_flat *f, const struct tld_jtree *t)
{
    f->npairs = 0;
    f->has_level = false;
    f->ts_found = false;
    tld_sb_reset(&f->text);
    for (int i = 0; i < TLD_COL_COUNT; i++) {
        uint32_t v = jpath_get(t, tld_field_cols[i].field);
        const struct tld_jnode *n = v ? &t->nodes[v] : NULL;
        f->col[i] = (struct tld_sv){0};
        if (n && n->type == TLD_J_STRING)
            f->col[i] = n->str;
        else if (n && i == TLD_COL_RULE_LEVEL && n->type == TLD_J_NUMBER &&
                 n->num == floor(n->num) && fabs(n->num) < 9007199254740992.0) {
            f->has_level = true;
            f->level = (int64_t)n->num;
        }
    }
    uint32_t ts = tld_jtree_get(t, 0, "timestamp");
    if (!ts || t->nodes[ts].type != TLD_J_STRING)
        ts = tld_jtree_get(t, 0, "@timestamp");
    f->ts_found = ts && t->nodes[ts].type == TLD_J_STRING &&
                  !tld_flat_parse_time(t->nodes[ts].str.p, &f->ts_ms);
    int rc = jwalk_named(f, t, "data");
    f->ndata = f->npairs;
    for (unsigned i = 0; !rc && i < tld_field_nmulti; i++)
        rc = jwalk_named(f, t, tld_field_multi[i]);
    f->nset = f->npairs;
    return rc;
}

/* Whether the dotted path is indexed elsewhere (a column or a rule array). */
static bool elsewhere(const char *path)
{
    struct tld_field fd;
    tld_store_field_lookup(path, &fd);
    return fd.kind != TLD_FIELD_RAW;
}

static int walk_other(struct tld_flat *f, struct tld_sb *key, const cJSON *v, int depth)
{
    if (depth > TLD_FLAT_MAX_DEPTH || elsewhere(key->p))
        return 0;
    char num[40];
    struct tld_sv text;
    if (cJSON_IsArray(v)) {
        /* Only an array's scalars are its values; nested arrays and objects are not. */
        for (const cJSON *c = v->child; c; c = c->next)
            if (!cJSON_IsArray(c) && !cJSON_IsObject(c) && tld_flat_scalar_text(c, num, &text)) {
                int rc = push_pair(f, tld_sb_view(key), text);
                if (rc)
                    return rc;
            }
        return 0;
    }
    if (!cJSON_IsObject(v))
        return tld_flat_scalar_text(v, num, &text) ? push_pair(f, tld_sb_view(key), text) : 0;
    size_t keep = key->n;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (!c->string || strchr(c->string, '.'))
            continue; /* a dotted key is not reachable as a path */
        if (keep)
            tld_sb_append_char(key, '.');
        tld_sb_append_cstr(key, c->string);
        int rc = key->oom ? TLD_ENOMEM : walk_other(f, key, c, depth + 1);
        key_cut(key, keep);
        if (rc)
            return rc;
    }
    return 0;
}

int tld_flat_other(struct tld_flat *f, const cJSON *root)
{
    int rc = 0;
    for (const cJSON *c = root->child; !rc && c; c = c->next) {
        if (!c->string || (!strcmp(c->string, "data") && cJSON_IsObject(c)))
            continue; /* data.* has its own pairs */
        if (strchr(c->string, '.'))
            continue;
        tld_sb_reset(&f->key);
        tld_sb_append_cstr(&f->key, c->string);
        rc = f->key.oom ? TLD_ENOMEM : walk_other(f, &f->key, c, 1);
    }
    return rc;
}
