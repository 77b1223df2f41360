/*
 * The store writer's JSON reader (see jtree.h). Its grammar follows cJSON's where cJSON is
 * lenient (any byte <= 32 is white space, raw control bytes inside strings, numbers read by
 * strtod over the same characters), and it refuses, rather than guesses, whatever cJSON might
 * read differently: \u escapes, a byte order mark, very long numbers, deep nesting.
 */
#include "store/jtree.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"

struct reader {
    struct tld_jtree *t;
    const char *p, *end;
    /* The next quote and backslash in the line (end when none), looked for again once passed:
     * each byte is scanned a bounded number of times whatever the strings and escapes. */
    const char *quote, *bslash;
};

void tld_jtree_init(struct tld_jtree *t)
{
    memset(t, 0, sizeof(*t));
}

void tld_jtree_fini(struct tld_jtree *t)
{
    free(t->nodes);
    free(t->text);
    tld_jtree_init(t);
}

static void skip_ws(struct reader *r)
{
    while (r->p < r->end && (unsigned char)*r->p <= 32)
        r->p++;
}

static int new_node(struct reader *r, enum tld_jtype type, uint32_t *idx)
{
    struct tld_jtree *t = r->t;
    if (t->n == t->cap) {
        unsigned cap = t->cap ? t->cap * 2 : 256;
        struct tld_jnode *nodes = realloc(t->nodes, cap * sizeof(*nodes));
        if (!nodes)
            return TLD_ENOMEM;
        t->nodes = nodes;
        t->cap = cap;
    }
    *idx = t->n++;
    t->nodes[*idx] = (struct tld_jnode){.type = type};
    return 0;
}

static const char *next_of(const char *s, const char *end, char c)
{
    const char *p = memchr(s, c, (size_t)(end - s));
    return p ? p : end;
}

/* A string at r->p (its opening quote), copied unescaped and NUL-terminated into the text. */
static int read_string(struct reader *r, struct tld_sv *out)
{
    struct tld_jtree *t = r->t;
    char *dst = t->text + t->text_n, *start = dst;
    const char *s = r->p + 1;
    for (;;) {
        if (r->quote < s)
            r->quote = next_of(s, r->end, '"');
        if (r->bslash < s)
            r->bslash = next_of(s, r->end, '\\');
        const char *q = r->quote < r->bslash ? r->quote : r->bslash;
        const char *nul = memchr(s, '\0', (size_t)(q - s));
        q = nul ? nul : q;
        memcpy(dst, s, (size_t)(q - s));
        dst += q - s;
        if (q >= r->end || !*q)
            return TLD_EPARSE; /* unterminated, or a raw NUL, which cJSON would cut at */
        if (*q == '"') {
            r->p = q + 1;
            break;
        }
        if (q + 1 >= r->end)
            return TLD_EPARSE;
        static const char from[] = "bfnrt\"\\/", to[] = "\b\f\n\r\t\"\\/";
        const char *e = memchr(from, q[1], sizeof(from) - 1);
        if (!e || !q[1])
            return TLD_EPARSE; /* \u (and anything unknown) is left to cJSON */
        *dst++ = to[e - from];
        s = q + 2;
    }
    *dst++ = '\0';
    *out = tld_sv_make(start, (size_t)(dst - start - 1));
    t->text_n += (size_t)(dst - start);
    return 0;
}

static int read_number(struct reader *r, double *out)
{
    char buf[64];
    size_t n = 0;
    while (r->p + n < r->end && n < sizeof(buf) - 1 && strchr("0123456789+-eE.", r->p[n]) &&
           r->p[n])
        n++;
    if (n >= sizeof(buf) - 1)
        return TLD_EPARSE;
    memcpy(buf, r->p, n);
    buf[n] = '\0';
    char *after;
    *out = strtod(buf, &after);
    if (after != buf + n || !n)
        return TLD_EPARSE;
    r->p += n;
    return 0;
}

static int read_value(struct reader *r, int depth, uint32_t *idx);

/* The members (object) or elements (array) after the opening bracket, linked under `node`. */
static int read_items(struct reader *r, int depth, uint32_t node, bool object)
{
    char close = object ? '}' : ']';
    r->p++;
    skip_ws(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return 0;
    }
    uint32_t last = 0;
    for (;;) {
        skip_ws(r);
        struct tld_sv key = {0};
        if (object) {
            if (r->p >= r->end || *r->p != '"')
                return TLD_EPARSE;
            int rc = read_string(r, &key);
            if (rc)
                return rc;
            skip_ws(r);
            if (r->p >= r->end || *r->p != ':')
                return TLD_EPARSE;
            r->p++;
            skip_ws(r);
        }
        uint32_t v;
        int rc = read_value(r, depth + 1, &v);
        if (rc)
            return rc;
        r->t->nodes[v].key = object ? key.p : NULL;
        if (last)
            r->t->nodes[last].next = v;
        else
            r->t->nodes[node].child = v;
        last = v;
        skip_ws(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == close) {
            r->p++;
            return 0;
        }
        return TLD_EPARSE;
    }
}

static bool literal(struct reader *r, const char *word, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n))
        return false;
    r->p += n;
    return true;
}

static int read_value(struct reader *r, int depth, uint32_t *idx)
{
    if (depth > TLD_JTREE_MAX_DEPTH || r->p >= r->end)
        return TLD_EPARSE;
    char c = *r->p;
    enum tld_jtype type = c == '{'                             ? TLD_J_OBJECT
                          : c == '['                           ? TLD_J_ARRAY
                          : c == '"'                           ? TLD_J_STRING
                          : c == '-' || (c >= '0' && c <= '9') ? TLD_J_NUMBER
                          : literal(r, "null", 4)              ? TLD_J_NULL
                          : literal(r, "false", 5)             ? TLD_J_FALSE
                          : literal(r, "true", 4)              ? TLD_J_TRUE
                                                               : (enum tld_jtype) - 1;
    if ((int)type < 0)
        return TLD_EPARSE;
    int rc = new_node(r, type, idx);
    if (rc)
        return rc;
    switch (type) {
    case TLD_J_OBJECT:
    case TLD_J_ARRAY:
        return read_items(r, depth, *idx, type == TLD_J_OBJECT);
    case TLD_J_STRING: {
        struct tld_sv s = {0};
        rc = read_string(r, &s);
        r->t->nodes[*idx].str = s;
        return rc;
    }
    case TLD_J_NUMBER: {
        double d = 0;
        rc = read_number(r, &d);
        r->t->nodes[*idx].num = d;
        return rc;
    }
    default:
        return 0;
    }
}

int tld_jtree_parse(struct tld_jtree *t, const char *p, size_t n)
{
    t->n = 0;
    t->text_n = 0;
    /* Unescaped strings are never longer than the line, and each needs one NUL: the buffer
     * never moves during a parse, so names can point into it. */
    size_t need = n * 2 + 16;
    if (need > t->text_cap) {
        char *text = realloc(t->text, need);
        if (!text)
            return TLD_ENOMEM;
        t->text = text;
        t->text_cap = need;
    }
    struct reader r = {t, p, p + n, next_of(p, p + n, '"'), next_of(p, p + n, '\\')};
    if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        return TLD_EPARSE;
    skip_ws(&r);
    uint32_t root;
    return read_value(&r, 0, &root);
}

uint32_t tld_jtree_get(const struct tld_jtree *t, uint32_t obj, const char *key)
{
    if (obj >= t->n || t->nodes[obj].type != TLD_J_OBJECT)
        return 0;
    for (uint32_t c = t->nodes[obj].child; c; c = t->nodes[c].next)
        if (!strcmp(t->nodes[c].key, key))
            return c;
    return 0;
}
