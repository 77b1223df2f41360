/*
 * The reference the store's query results are checked against: a query tree evaluated directly
 * on an alert's JSON with cJSON, written from docs/query.md without looking at how any backend
 * compiles queries. Shared by the store test binaries.
 */
#ifndef TLD_TEST_STORE_MODEL_H
#define TLD_TEST_STORE_MODEL_H

#include <cjson/cJSON.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "store/query.h"

#define MODEL_MAX_VALUES 256

struct model_values {
    char *v[MODEL_MAX_VALUES];
    size_t n;
};

static void model_add(struct model_values *mv, const cJSON *v)
{
    char buf[64];
    const char *s = NULL;
    if (cJSON_IsString(v))
        s = v->valuestring;
    else if (cJSON_IsTrue(v))
        s = "true";
    else if (cJSON_IsFalse(v))
        s = "false";
    else if (cJSON_IsNumber(v)) {
        if (v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 9e15)
            snprintf(buf, sizeof(buf), "%lld", (long long)v->valuedouble);
        else
            snprintf(buf, sizeof(buf), "%.15g", v->valuedouble);
        s = buf;
    }
    if (s && mv->n < MODEL_MAX_VALUES)
        mv->v[mv->n++] = strdup(s);
}

static void model_free(struct model_values *mv)
{
    for (size_t i = 0; i < mv->n; i++)
        free(mv->v[i]);
    mv->n = 0;
}

/* Every scalar under `v` whose dotted key (arrays keep their parent's key) equals `want`. */
static void model_flatten(const cJSON *v, char *key, size_t keyn, const char *want,
                          struct model_values *mv)
{
    if (cJSON_IsArray(v)) {
        for (const cJSON *c = v->child; c; c = c->next)
            model_flatten(c, key, keyn, want, mv);
        return;
    }
    if (cJSON_IsObject(v)) {
        for (const cJSON *c = v->child; c; c = c->next) {
            size_t k = strlen(c->string);
            if (keyn + 1 + k >= 1024)
                continue;
            key[keyn] = '.';
            memcpy(key + keyn + 1, c->string, k + 1);
            model_flatten(c, key, keyn + 1 + k, want, mv);
            key[keyn] = '\0';
        }
        return;
    }
    if (!strcmp(key, want))
        model_add(mv, v);
}

static const cJSON *model_path(const cJSON *root, const char *field)
{
    char seg[300];
    const cJSON *v = root;
    while (v && *field) {
        size_t n = strcspn(field, ".");
        memcpy(seg, field, n);
        seg[n] = '\0';
        v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, seg) : NULL;
        field += n + (field[n] == '.');
    }
    return v;
}

static bool model_is_column(const char *f)
{
    static const char *const cols[] = {
        "id",           "rule.id",        "rule.description",     "agent.id",       "agent.name",
        "agent.ip",     "manager.name",   "decoder.name",         "decoder.parent", "location",
        "container.id", "container.name", "container.image.name", "full_log",
    };
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
        if (!strcmp(cols[i], f))
            return true;
    return false;
}

static bool model_is_rule_array(const char *f)
{
    static const char *const arr[] = {
        "rule.groups",  "rule.mitre.id", "rule.mitre.tactic", "rule.mitre.technique",
        "rule.pci_dss", "rule.gdpr",     "rule.nist_800_53",  "rule.tsc",
        "rule.hipaa",   "rule.gpg13"};
    for (size_t i = 0; i < sizeof(arr) / sizeof(arr[0]); i++)
        if (!strcmp(arr[i], f))
            return true;
    return false;
}

/* The values of `field` in `alert`, as docs/query.md defines them. */
static void model_values_of(const cJSON *alert, const char *field, struct model_values *mv)
{
    mv->n = 0;
    const cJSON *v = model_path(alert, field);
    if (!strcmp(field, "rule.level")) {
        if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble))
            model_add(mv, v);
    } else if (model_is_column(field)) {
        if (cJSON_IsString(v))
            model_add(mv, v);
    } else if (!strncmp(field, "data.", 5) || model_is_rule_array(field)) {
        /* Flattened from the top object down, so keys containing dots are found too. */
        const char *top = !strncmp(field, "data.", 5) ? "data" : NULL;
        char key[1024];
        if (top) {
            strcpy(key, "data");
            model_flatten(cJSON_GetObjectItemCaseSensitive(alert, "data"), key, 4, field, mv);
        } else if (v) {
            strcpy(key, field);
            model_flatten(v, key, strlen(key), field, mv);
        }
    } else if (cJSON_IsArray(v)) {
        for (const cJSON *c = v->child; c; c = c->next)
            if (!cJSON_IsArray(c) && !cJSON_IsObject(c))
                model_add(mv, c);
    } else if (v && !cJSON_IsObject(v)) {
        model_add(mv, v);
    }
}

static bool model_glob(const char *p, size_t pn, const char *s)
{
    /* '*' is any run of bytes; everything else is literal. */
    if (!pn)
        return !*s;
    if (*p == '*') {
        for (const char *t = s;; t++) {
            if (model_glob(p + 1, pn - 1, t))
                return true;
            if (!*t)
                return false;
        }
    }
    return *s == *p && model_glob(p + 1, pn - 1, s + 1);
}

static bool model_contains_nocase(const char *hay, const char *needle, size_t nn)
{
    size_t hn = strlen(hay);
    for (size_t i = 0; i + nn <= hn; i++)
        if (!strncasecmp(hay + i, needle, nn))
            return true;
    return false;
}

static bool model_number(const char *s, double *out)
{
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    int digits = 0;
    while (*p >= '0' && *p <= '9')
        p++, digits++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
    if (!digits)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p)
        return false;
    *out = strtod(s, NULL);
    return isfinite(*out);
}

static bool model_regex(const char *re, size_t n, const char *s)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *c = pcre2_compile((PCRE2_SPTR)re, n, 0, &code, &off, NULL);
    if (!c)
        return false;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(c, NULL);
    int rc =
        pcre2_match(c, (PCRE2_SPTR)s, strlen(s), 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(c);
    return rc >= 0;
}

static bool model_term(const struct tld_qnode *t, const cJSON *alert)
{
    struct model_values mv;
    model_values_of(alert, t->field, &mv);
    bool hit = false;
    for (size_t i = 0; i < mv.n && !hit; i++) {
        const char *v = mv.v[i];
        double d;
        switch (t->op) {
        case TLD_QOP_EQ:
            hit = strlen(v) == t->value_n && !memcmp(v, t->value, t->value_n);
            break;
        case TLD_QOP_WILD:
            hit = model_glob(t->value, t->value_n, v);
            break;
        case TLD_QOP_EXISTS:
            hit = true;
            break;
        case TLD_QOP_CONTAINS:
            hit = model_contains_nocase(v, t->value, t->value_n);
            break;
        case TLD_QOP_REGEX:
            hit = model_regex(t->value, t->value_n, v);
            break;
        case TLD_QOP_LT:
            hit = model_number(v, &d) && d < t->num;
            break;
        case TLD_QOP_LE:
            hit = model_number(v, &d) && d <= t->num;
            break;
        case TLD_QOP_GT:
            hit = model_number(v, &d) && d > t->num;
            break;
        case TLD_QOP_GE:
            hit = model_number(v, &d) && d >= t->num;
            break;
        }
    }
    model_free(&mv);
    return hit;
}

static bool model_eval(const struct tld_qnode *n, const cJSON *alert)
{
    if (!n)
        return true;
    switch (n->kind) {
    case TLD_Q_AND:
        return model_eval(n->a, alert) && model_eval(n->b, alert);
    case TLD_Q_OR:
        return model_eval(n->a, alert) || model_eval(n->b, alert);
    case TLD_Q_NOT:
        return !model_eval(n->a, alert);
    case TLD_Q_TERM:
        return model_term(n, alert);
    }
    return false;
}

#endif
