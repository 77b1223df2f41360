/*
 * The shared list semantics of the API's own lists (items.h). Items are small (a rule, an
 * agent): the whole list is built, filtered and sorted in memory, bounded by the list itself.
 */
#include "api/items.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const cJSON *tld_api_item_get(const cJSON *item, const char *path)
{
    char key[128];
    const cJSON *cur = item;
    while (cur && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return NULL;
        memcpy(key, path, n);
        key[n] = 0;
        cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, key) : NULL;
        path += n + (path[n] == '.');
    }
    return cur;
}

static bool has_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return true;
    return n == 0;
}

bool tld_api_item_contains(const cJSON *v, const char *needle)
{
    if (cJSON_IsString(v))
        return has_nocase(v->valuestring, needle);
    if (cJSON_IsNumber(v)) {
        char num[32];
        snprintf(num, sizeof num, "%.17g", v->valuedouble);
        return has_nocase(num, needle);
    }
    for (const cJSON *c = (cJSON_IsArray(v) || cJSON_IsObject(v)) ? v->child : NULL; c; c = c->next)
        if (tld_api_item_contains(c, needle))
            return true;
    return false;
}

bool tld_api_parse_range(const char *s, unsigned max, unsigned *lo, unsigned *hi)
{
    const char *dash = strchr(s, '-');
    unsigned long long a, b;
    if (!dash) {
        if (!tld_sv_to_u64(tld_sv_of(s), max, &a))
            return false;
        *lo = *hi = (unsigned)a;
        return true;
    }
    if (!tld_sv_to_u64(tld_sv_make(s, (size_t)(dash - s)), max, &a) ||
        !tld_sv_to_u64(tld_sv_of(dash + 1), max, &b) || a > b)
        return false;
    *lo = (unsigned)a;
    *hi = (unsigned)b;
    return true;
}

bool tld_api_csv_has(const char *csv, const char *word)
{
    struct tld_sv all = tld_sv_of(csv), piece;
    size_t at = 0;
    while (tld_sv_next_piece(all, ',', &at, &piece))
        if (tld_sv_eq_cstr(tld_sv_trim(piece), word))
            return true;
    return false;
}

bool tld_api_file_filters_keep(const struct tld_api_params *p, const char *filename,
                               const char *reldir, const char *status)
{
    const char *v;
    if ((v = tld_api_param_filter(p, "filename")) && !tld_api_csv_has(v, filename))
        return false;
    if ((v = tld_api_param_filter(p, "relative_dirname")) && strcmp(v, reldir) != 0)
        return false;
    v = tld_api_param_filter(p, "status");
    return !v || !status || strcmp(v, "all") == 0 || strcmp(v, status) == 0;
}

bool tld_api_bool_param(struct tld_api_req *r, const char *key, bool *out)
{
    const char *v = tld_api_param_filter(&r->params, key);
    *out = v && strcmp(v, "true") == 0;
    if (!v || *out || strcmp(v, "false") == 0)
        return true;
    char why[TLD_WHY_MAX];
    snprintf(why, sizeof why, "%s: true or false", key);
    tld_api_error(r, 400, why);
    return false;
}

/* ---- sort ------------------------------------------------------------------------------------ */

#define SORT_KEYS 8

struct sort_spec {
    char field[SORT_KEYS][128];
    bool desc[SORT_KEYS];
    size_t n;
};

static int value_cmp(const cJSON *a, const cJSON *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return (a->valuedouble > b->valuedouble) - (a->valuedouble < b->valuedouble);
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return strcmp(a->valuestring, b->valuestring);
    return cJSON_IsNumber(a) ? -1 : cJSON_IsNumber(b) ? 1 : 0;
}

/* qsort has no context argument: the spec travels beside each item. */
struct keyed {
    cJSON *item;
    const struct sort_spec *spec;
    size_t pos; /* keeps equal items in their order */
};

static int keyed_cmp(const void *pa, const void *pb)
{
    const struct keyed *a = pa, *b = pb;
    for (size_t i = 0; i < a->spec->n; i++) {
        int c = value_cmp(tld_api_item_get(a->item, a->spec->field[i]),
                          tld_api_item_get(b->item, b->spec->field[i]));
        if (c)
            return a->spec->desc[i] ? -c : c;
    }
    return (a->pos > b->pos) - (a->pos < b->pos);
}

static bool any_has(const cJSON *items, const char *field)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        if (tld_api_item_get(it, field))
            return true;
    }
    return !items->child; /* an empty list has every field */
}

static int sort_parse(const char *s, const cJSON *items, struct sort_spec *spec, char *why,
                      size_t whyn)
{
    struct tld_sv all = tld_sv_of(s), piece;
    size_t at = 0;
    spec->n = 0;
    while (tld_sv_next_piece(all, ',', &at, &piece) && spec->n < SORT_KEYS) {
        bool desc = piece.n && piece.p[0] == '-';
        if (piece.n && (piece.p[0] == '+' || piece.p[0] == '-'))
            piece = tld_sv_make(piece.p + 1, piece.n - 1);
        if (piece.n >= sizeof spec->field[0])
            piece.n = sizeof spec->field[0] - 1;
        memcpy(spec->field[spec->n], piece.p, piece.n);
        spec->field[spec->n][piece.n] = 0;
        if (!any_has(items, spec->field[spec->n])) {
            snprintf(why, whyn, "sort: no item has the field '%s'", spec->field[spec->n]);
            return TLD_EINVAL;
        }
        spec->desc[spec->n++] = desc;
    }
    return 0;
}

static int sort_items(cJSON *items, const struct sort_spec *spec)
{
    size_t n = (size_t)cJSON_GetArraySize(items), i = 0;
    if (n < 2 || !spec->n)
        return 0;
    struct keyed *v = malloc(n * sizeof *v);
    if (!v)
        return TLD_ENOMEM;
    while (items->child) {
        v[i] = (struct keyed){cJSON_DetachItemViaPointer(items, items->child), spec, i};
        i++;
    }
    qsort(v, n, sizeof *v, keyed_cmp);
    for (i = 0; i < n; i++)
        cJSON_AddItemToArray(items, v[i].item);
    free(v);
    return 0;
}

/* ---- select ---------------------------------------------------------------------------------- */

/* Copy the value at `path` of src into dst, creating the objects on the way. */
static void copy_path(cJSON *dst, const cJSON *src, const char *path)
{
    const cJSON *v = tld_api_item_get(src, path);
    if (!v)
        return;
    char key[128];
    while (strchr(path, '.')) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof key)
            return;
        memcpy(key, path, n);
        key[n] = 0;
        cJSON *next = cJSON_GetObjectItemCaseSensitive(dst, key);
        if (!next)
            next = cJSON_AddObjectToObject(dst, key);
        if (!cJSON_IsObject(next))
            return;
        dst = next;
        path += n + 1;
    }
    if (!cJSON_GetObjectItemCaseSensitive(dst, path))
        cJSON_AddItemToObject(dst, path, cJSON_Duplicate(v, true));
}

static cJSON *selected(const cJSON *item, const struct tld_api_params *p)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    /* Wazuh keeps the item's id whatever is selected. */
    if (cJSON_GetObjectItemCaseSensitive(item, "id"))
        copy_path(o, item, "id");
    for (size_t i = 0; i < p->nselect; i++)
        copy_path(o, item, p->select[i]);
    return o;
}

static bool search_keeps(const cJSON *item, const char *search)
{
    if (!search || !*search)
        return true;
    bool neg = search[0] == '-';
    return tld_api_item_contains(item, search + neg) != neg;
}

int tld_api_items_reply(struct tld_api_req *r, cJSON *items, const char *message)
{
    const struct tld_api_params *p = &r->params;
    char why[TLD_WHY_MAX];
    struct sort_spec spec = {.n = 0};
    for (size_t i = 0; i < p->nselect; i++) {
        if (!any_has(items, p->select[i])) {
            snprintf(why, sizeof why, "select: no item has the field '%s'", p->select[i]);
            tld_api_error(r, 400, why);
            cJSON_Delete(items);
            return 0;
        }
    }
    if (p->sort_by && sort_parse(p->sort_by, items, &spec, why, sizeof why) != 0) {
        tld_api_error(r, 400, why);
        cJSON_Delete(items);
        return 0;
    }
    int rc = sort_items(items, &spec);
    struct tld_api_env e;
    uint64_t total = 0;
    r->status = 200;
    tld_api_env_begin(&e, &r->out);
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        if (rc || !search_keeps(it, p->search))
            continue;
        if (total++ < p->offset || e.nitems >= p->limit)
            continue;
        cJSON *shown = p->nselect ? selected(it, p) : NULL;
        char *txt = cJSON_PrintUnformatted(shown ? shown : it);
        cJSON_Delete(shown);
        if (!txt) {
            rc = TLD_ENOMEM;
            continue;
        }
        tld_api_env_next(&e);
        tld_sb_append_cstr(&r->out, txt);
        free(txt);
    }
    tld_api_env_end(&e, total, NULL, message);
    cJSON_Delete(items);
    return rc;
}
