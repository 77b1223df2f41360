/*
 * The table-valued function tld_ids(first_id, ids): the alert ids of one row of alert_kv, where
 * a batch keeps one row per distinct (key, value) with the ids of the alerts holding it (see
 * sqlite_kv.c for the encoding). Queries join it to turn such a row back into one row per alert:
 *   SELECT p.id FROM alert_kv k, tld_ids(k.first_id, k.ids) p WHERE ...
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite_impl.h"

enum { COL_ID, COL_FIRST, COL_IDS };

struct ids_cursor {
    sqlite3_vtab_cursor base;
    int64_t id;
    const unsigned char *p, *end; /* the deltas still to read */
    unsigned char *blob;          /* owned copy: the argument lives only during xFilter */
    bool eof;
};

static int ids_connect(sqlite3 *db, void *aux, int argc, const char *const *argv,
                       sqlite3_vtab **out, char **err)
{
    (void)aux, (void)argc, (void)argv, (void)err;
    int rc = sqlite3_declare_vtab(db, "CREATE TABLE x(id INTEGER, first_id HIDDEN, ids HIDDEN)");
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_vtab *v = sqlite3_malloc(sizeof(*v));
    if (!v)
        return SQLITE_NOMEM;
    memset(v, 0, sizeof(*v));
    sqlite3_vtab_config(db, SQLITE_VTAB_INNOCUOUS);
    *out = v;
    return SQLITE_OK;
}

static int ids_disconnect(sqlite3_vtab *v)
{
    sqlite3_free(v);
    return SQLITE_OK;
}

/* Both arguments must be given as equalities: without them there is nothing to list. */
static int ids_best_index(sqlite3_vtab *v, sqlite3_index_info *info)
{
    (void)v;
    int want[2] = {-1, -1};
    for (int i = 0; i < info->nConstraint; i++) {
        const struct sqlite3_index_constraint *c = &info->aConstraint[i];
        if (c->op != SQLITE_INDEX_CONSTRAINT_EQ ||
            (c->iColumn != COL_FIRST && c->iColumn != COL_IDS))
            continue;
        if (!c->usable)
            return SQLITE_CONSTRAINT;
        want[c->iColumn - COL_FIRST] = i;
    }
    if (want[0] < 0 || want[1] < 0)
        return SQLITE_CONSTRAINT;
    for (int k = 0; k < 2; k++) {
        info->aConstraintUsage[want[k]].argvIndex = k + 1;
        info->aConstraintUsage[want[k]].omit = 1;
    }
    info->estimatedCost = 10;
    info->estimatedRows = 10;
    return SQLITE_OK;
}

static int ids_open(sqlite3_vtab *v, sqlite3_vtab_cursor **out)
{
    (void)v;
    struct ids_cursor *c = sqlite3_malloc(sizeof(*c));
    if (!c)
        return SQLITE_NOMEM;
    memset(c, 0, sizeof(*c));
    *out = &c->base;
    return SQLITE_OK;
}

static int ids_close(sqlite3_vtab_cursor *base)
{
    struct ids_cursor *c = (struct ids_cursor *)base;
    sqlite3_free(c->blob);
    sqlite3_free(c);
    return SQLITE_OK;
}

static int ids_filter(sqlite3_vtab_cursor *base, int idx, const char *idx_str, int argc,
                      sqlite3_value **argv)
{
    (void)idx, (void)idx_str;
    struct ids_cursor *c = (struct ids_cursor *)base;
    sqlite3_free(c->blob);
    c->blob = NULL;
    c->p = c->end = NULL;
    c->eof = argc < 2 || sqlite3_value_type(argv[0]) != SQLITE_INTEGER;
    if (c->eof)
        return SQLITE_OK;
    c->id = sqlite3_value_int64(argv[0]);
    int n = sqlite3_value_type(argv[1]) == SQLITE_BLOB ? sqlite3_value_bytes(argv[1]) : 0;
    if (n > 0) {
        c->blob = sqlite3_malloc(n);
        if (!c->blob)
            return SQLITE_NOMEM;
        memcpy(c->blob, sqlite3_value_blob(argv[1]), (size_t)n);
        c->p = c->blob;
        c->end = c->blob + n;
    }
    return SQLITE_OK;
}

static int ids_next(sqlite3_vtab_cursor *base)
{
    struct ids_cursor *c = (struct ids_cursor *)base;
    uint64_t delta;
    size_t used = c->p ? tld_varint_get(c->p, (size_t)(c->end - c->p), &delta) : 0;
    if (!used) {
        c->eof = true; /* the end, or a damaged list: stop rather than invent ids */
        return SQLITE_OK;
    }
    c->p += used;
    c->id += (int64_t)delta;
    return SQLITE_OK;
}

static int ids_eof(sqlite3_vtab_cursor *base)
{
    return ((struct ids_cursor *)base)->eof;
}

static int ids_column(sqlite3_vtab_cursor *base, sqlite3_context *ctx, int col)
{
    if (col == COL_ID)
        sqlite3_result_int64(ctx, ((struct ids_cursor *)base)->id);
    return SQLITE_OK;
}

static int ids_rowid(sqlite3_vtab_cursor *base, sqlite3_int64 *rowid)
{
    *rowid = ((struct ids_cursor *)base)->id;
    return SQLITE_OK;
}

static const sqlite3_module ids_module = {
    .iVersion = 0,
    .xConnect = ids_connect,
    .xBestIndex = ids_best_index,
    .xDisconnect = ids_disconnect,
    .xOpen = ids_open,
    .xClose = ids_close,
    .xFilter = ids_filter,
    .xNext = ids_next,
    .xEof = ids_eof,
    .xColumn = ids_column,
    .xRowid = ids_rowid,
};

int tld_sqlite_ids_module(sqlite3 *db)
{
    return sqlite3_create_module(db, "tld_ids", &ids_module, NULL);
}

size_t tld_varint_put(unsigned char out[10], uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (unsigned char)v;
    return n;
}

size_t tld_varint_get(const unsigned char *p, size_t avail, uint64_t *v)
{
    uint64_t x = 0;
    for (size_t i = 0; i < avail && i < 10; i++) {
        x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return 0;
}
