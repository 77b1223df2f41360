/*
 * CDB list registry (see lists.h). A list keeps one private copy of its text; entries are
 * (offset, length) pairs into that copy, since keys and values are always contiguous pieces of
 * a line (nothing is unescaped). Lookups go through an open-addressing table of entry numbers
 * with at least twice as many slots as entries.
 */
#include "engine/rules/lists.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/grow.h"
#include "common/str.h"

struct entry {
    uint32_t koff, klen, voff, vlen;
};

struct tld_list {
    char *name;
    char *text;
    struct entry *entries;
    uint32_t nentries;
    uint32_t *slots; /* entry number + 1; 0 = empty */
    uint32_t mask;   /* slot count - 1 */
};

struct tld_lists {
    struct tld_list **v;
    unsigned n;
};

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = tld_fnv1a(TLD_FNV1A_SEED, p, n);
    return h ^ (h >> 29);
}

static void list_free(struct tld_list *l)
{
    if (!l)
        return;
    free(l->name);
    free(l->text);
    free(l->entries);
    free(l->slots);
    free(l);
}

int tld_lists_new(struct tld_lists **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? 0 : TLD_ENOMEM;
}

void tld_lists_free(struct tld_lists *lists)
{
    if (!lists)
        return;
    for (unsigned i = 0; i < lists->n; i++)
        list_free(lists->v[i]);
    free(lists->v);
    free(lists);
}

static const char *memchr_in(const char *p, const char *end, char c)
{
    return p < end ? memchr(p, c, (size_t)(end - p)) : NULL;
}

/* Split one line into key and value as lists.h describes; false when the line holds no entry. */
static bool parse_line(const char *line, const char *end, const char **k, const char **ke,
                       const char **v, const char **ve)
{
    const char *quote = memchr_in(line, end, '"');
    const char *colon = memchr_in(line, end, ':');
    const char *rest;
    if (!colon)
        return false;
    if (quote && colon > quote) {
        *k = quote + 1;
        *ke = memchr_in(*k, end, '"');
        if (!*ke)
            return false;
        rest = memchr_in(*ke + 1, end, ':');
        if (!rest)
            return false;
    } else {
        *k = line;
        *ke = colon;
        rest = colon;
    }
    *v = rest + 1;
    *ve = end;
    const char *vq = memchr_in(*v, end, '"');
    if (vq) {
        const char *vq2 = memchr_in(vq + 1, end, '"');
        if (!vq2)
            return false;
        *v = vq + 1;
        *ve = vq2;
    }
    return true;
}

static bool key_eq(const struct tld_list *l, const struct entry *e, const char *p, size_t n)
{
    return e->klen == n && (n == 0 || memcmp(l->text + e->koff, p, n) == 0);
}

static const struct entry *lookup(const struct tld_list *l, const char *p, size_t n)
{
    if (!l->slots)
        return NULL;
    for (uint64_t i = hash_bytes(p, n) & l->mask;; i = (i + 1) & l->mask) {
        uint32_t s = l->slots[i];
        if (!s)
            return NULL;
        if (key_eq(l, &l->entries[s - 1], p, n))
            return &l->entries[s - 1];
    }
}

static int build_table(struct tld_list *l)
{
    uint64_t cap = 16;
    while (cap < (uint64_t)l->nentries * 2)
        cap <<= 1;
    l->slots = calloc(cap, sizeof *l->slots);
    if (!l->slots)
        return TLD_ENOMEM;
    l->mask = (uint32_t)(cap - 1);
    for (uint32_t e = 0; e < l->nentries; e++) {
        const struct entry *en = &l->entries[e];
        const char *kp = l->text + en->koff;
        if (lookup(l, kp, en->klen))
            continue; /* the first occurrence of a key wins */
        uint64_t i = hash_bytes(kp, en->klen) & l->mask;
        while (l->slots[i])
            i = (i + 1) & l->mask;
        l->slots[i] = e + 1;
    }
    return 0;
}

static int parse_text(struct tld_list *l, size_t n)
{
    unsigned cap = 0;
    const char *p = l->text, *end = l->text + n;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *lend = nl ? nl : end;
        const char *cut = p;
        while (cut < lend && *cut != '\r' && *cut != '\0')
            cut++;
        const char *k, *ke, *v, *ve;
        if (parse_line(p, cut, &k, &ke, &v, &ve)) {
            if (l->nentries >= TLD_LIST_MAX_ENTRIES)
                return TLD_ELIMIT;
            if (tld_grow(&l->entries, &cap, l->nentries + 1, sizeof *l->entries, 64))
                return TLD_ENOMEM;
            l->entries[l->nentries++] = (struct entry){(uint32_t)(k - l->text), (uint32_t)(ke - k),
                                                       (uint32_t)(v - l->text), (uint32_t)(ve - v)};
        }
        p = nl ? nl + 1 : end;
    }
    return build_table(l);
}

int tld_lists_add_buf(struct tld_lists *lists, const char *name, const char *buf, size_t n)
{
    if (n > TLD_LIST_MAX_BYTES || lists->n >= TLD_LISTS_MAX)
        return TLD_ELIMIT;
    for (unsigned i = 0; i < lists->n; i++)
        if (strcmp(lists->v[i]->name, name) == 0)
            return TLD_EEXIST;
    struct tld_list *l = calloc(1, sizeof *l);
    if (!l)
        return TLD_ENOMEM;
    int err = TLD_ENOMEM;
    l->name = strdup(name);
    l->text = malloc(n + 1);
    if (!l->name || !l->text)
        goto fail;
    if (n)
        memcpy(l->text, buf, n);
    l->text[n] = '\0';
    err = parse_text(l, n);
    if (err)
        goto fail;
    struct tld_list **nv = realloc(lists->v, (lists->n + 1) * sizeof *nv);
    if (!nv) {
        err = TLD_ENOMEM;
        goto fail;
    }
    lists->v = nv;
    lists->v[lists->n++] = l;
    return 0;
fail:
    list_free(l);
    return err;
}

int tld_lists_add_file(struct tld_lists *lists, const char *name, const char *path,
                       struct tld_diag *diag)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        tld_diag_error(diag, path, 0, "cannot read list: %s", strerror(errno));
        return TLD_EIO;
    }
    int err = 0;
    char *buf = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size < 0) {
        tld_diag_error(diag, path, 0, "cannot read list: %s", strerror(errno));
        err = TLD_EIO;
        goto out;
    }
    if ((uint64_t)st.st_size > TLD_LIST_MAX_BYTES) {
        tld_diag_error(diag, path, 0, "list larger than %u bytes", TLD_LIST_MAX_BYTES);
        err = TLD_ELIMIT;
        goto out;
    }
    size_t size = (size_t)st.st_size;
    buf = malloc(size + 1);
    if (!buf) {
        err = TLD_ENOMEM;
        goto out;
    }
    size_t got = fread(buf, 1, size, f);
    if (got != size && ferror(f)) {
        tld_diag_error(diag, path, 0, "cannot read list: %s", strerror(errno));
        err = TLD_EIO;
        goto out;
    }
    err = tld_lists_add_buf(lists, name, buf, got);
    if (err == TLD_EEXIST)
        tld_diag_warn(diag, path, 0, "list '%s' registered twice; the first one is kept", name);
    else if (err)
        tld_diag_error(diag, path, 0, "cannot load list '%s': %s", name, tld_err_str(err));
out:
    free(buf);
    fclose(f);
    return err;
}

unsigned tld_lists_count(const struct tld_lists *lists)
{
    return lists ? lists->n : 0;
}

const struct tld_list *tld_lists_find(const struct tld_lists *lists, struct tld_sv name)
{
    static const struct tld_sv cdb = TLD_SV_LIT(".cdb");
    if (!lists)
        return NULL;
    for (unsigned i = 0; i < lists->n; i++) {
        struct tld_sv n = tld_sv_of(lists->v[i]->name);
        if (tld_sv_eq(n, name))
            return lists->v[i];
        /* "x.cdb" in the rule for "x" in the configuration, or the other way round */
        if (name.n == n.n + cdb.n && memcmp(name.p, n.p, n.n) == 0 &&
            memcmp(name.p + n.n, cdb.p, cdb.n) == 0)
            return lists->v[i];
        if (n.n == name.n + cdb.n && memcmp(n.p, name.p, name.n) == 0 &&
            memcmp(n.p + name.n, cdb.p, cdb.n) == 0)
            return lists->v[i];
    }
    return NULL;
}

const char *tld_list_name(const struct tld_list *list)
{
    return list->name;
}

unsigned tld_list_size(const struct tld_list *list)
{
    return list->nentries;
}

static void set_value(const struct tld_list *l, const struct entry *e, struct tld_sv *value)
{
    if (value)
        *value = tld_sv_make(l->text + e->voff, e->vlen);
}

bool tld_list_get(const struct tld_list *list, struct tld_sv key, struct tld_sv *value)
{
    const struct entry *e = lookup(list, key.p ? key.p : "", key.n);
    if (!e)
        return false;
    set_value(list, e, value);
    return true;
}

bool tld_list_get_address(const struct tld_list *list, struct tld_sv key, struct tld_sv *value)
{
    if (tld_list_get(list, key, value))
        return true;
    for (size_t n = key.n; n > 0; n--) {
        if (key.p[n - 1] != '.')
            continue;
        if (tld_list_get(list, tld_sv_make(key.p, n), value))
            return true;
    }
    return false;
}
