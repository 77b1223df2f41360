/*
 * GET /alerts/export.csv: every alert matching a query as CSV, with no row cap and in constant
 * memory. The handler only checks the request and opens the store; the rows are produced by
 * MHD's content reader one keyset page at a time (the cursor of the previous page, never an
 * offset), so the response costs one page of memory whatever its length and every page costs
 * the same. Cells are quoted per RFC 4180, and a cell a spreadsheet would run as a formula gets
 * a leading apostrophe.
 */
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "store/flatten.h"

/* Alerts read per page: small enough that a page of long full_log lines stays a few MiB. */
#define EXPORT_PAGE 256

static const char *const DEFAULT_FIELDS[] = {
    "timestamp", "id",         "agent.id",         "agent.name",  "agent.ip",
    "rule.id",   "rule.level", "rule.description", "rule.groups", "location",
};
#define NDEFAULT (sizeof DEFAULT_FIELDS / sizeof *DEFAULT_FIELDS)

struct export
{
    struct tld_api_alert_ctx c; /* owns the store handle and query */
    struct tld_log *log;
    bool ascending;
    char fields[TLD_API_SELECT_MAX][128];
    size_t nfields;
    struct tld_store_cursor cursor;
    bool have_cursor, done, failed;
    struct tld_sb buf; /* the rows of the current page not yet handed to MHD */
    size_t at;
};

void tld_api_csv_cell(struct tld_sb *out, const char *s, size_t n)
{
    bool formula = n && strchr("=+-@\t\r", s[0]) != NULL;
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++)
        quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (quote)
        tld_sb_append_char(out, '"');
    if (formula)
        tld_sb_append_char(out, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            tld_sb_append_char(out, '"');
        tld_sb_append_char(out, s[i]);
    }
    if (quote)
        tld_sb_append_char(out, '"');
}

const cJSON *tld_api_json_member(const cJSON *from, const char *path, size_t n, size_t *k,
                                 char key[128])
{
    while (*k > 1) {
        size_t at = --*k;
        if ((at < n && path[at] != '.') || at >= 128)
            continue;
        memcpy(key, path, at);
        key[at] = 0;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(from, key);
        if (v)
            return v;
    }
    return NULL;
}

/* The value at dotted `path` (object keys may hold dots themselves: every split is tried). */
static const cJSON *lookup(const cJSON *from, const char *path, size_t n)
{
    char key[128];
    size_t k = n + 1;
    for (const cJSON *v; (v = tld_api_json_member(from, path, n, &k, key)) != NULL;) {
        if (k == n)
            return v;
        if (cJSON_IsObject(v)) {
            const cJSON *deeper = lookup(v, path + k + 1, n - k - 1);
            if (deeper)
                return deeper;
        }
    }
    return NULL;
}

/* A value's cell text: scalars as queries read them, arrays of scalars joined with ',', the
 * rest as compact JSON. */
static void append_value(struct tld_sb *cell, const cJSON *v)
{
    char num[40];
    struct tld_sv text;
    if (tld_flat_scalar_text(v, num, &text)) {
        tld_sb_append_sv(cell, text);
        return;
    }
    bool scalars = cJSON_IsArray(v);
    for (const cJSON *e = scalars ? v->child : NULL; e && scalars; e = e->next)
        scalars = tld_flat_scalar_text(e, num, &text);
    if (scalars) {
        for (const cJSON *e = v->child; e; e = e->next) {
            tld_flat_scalar_text(e, num, &text);
            if (e != v->child)
                tld_sb_append_char(cell, ',');
            tld_sb_append_sv(cell, text);
        }
        return;
    }
    if (cJSON_IsNull(v))
        return;
    char *json = cJSON_PrintUnformatted(v);
    if (json)
        tld_sb_append_cstr(cell, json);
    free(json);
}

static void append_row(struct export *x, const char *raw, size_t n)
{
    cJSON *doc = cJSON_ParseWithLength(raw, n);
    struct tld_sb cell;
    tld_sb_init(&cell, TLD_API_OUT_MAX);
    for (size_t i = 0; i < x->nfields; i++) {
        const cJSON *v = doc ? lookup(doc, x->fields[i], strlen(x->fields[i])) : NULL;
        tld_sb_reset(&cell);
        if (v)
            append_value(&cell, v);
        if (i)
            tld_sb_append_char(&x->buf, ',');
        tld_api_csv_cell(&x->buf, cell.p ? cell.p : "", cell.n);
    }
    tld_sb_append(&x->buf, "\r\n", 2);
    tld_sb_fini(&cell);
    cJSON_Delete(doc);
}

static int on_row(void *ctx, const struct tld_store_hit *h)
{
    struct export *x = ctx;
    append_row(x, h->raw, h->raw_n);
    return x->buf.oom ? TLD_ENOMEM : x->buf.truncated ? TLD_ELIMIT : 0;
}

/* The next page of rows into buf (which is empty); done when none follows. */
static int next_page(struct export *x)
{
    struct tld_store_search s = {x->c.filter, x->ascending, EXPORT_PAGE,
                                 x->have_cursor ? &x->cursor : NULL};
    struct tld_store_cursor next = {0, 0};
    bool more = false;
    tld_sb_reset(&x->buf);
    x->at = 0;
    int rc = tld_store_search(x->c.store, &s, on_row, x, &next, &more);
    if (rc)
        return rc;
    x->cursor = next;
    x->have_cursor = true;
    x->done = !more;
    return 0;
}

static ssize_t export_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct export *x = cls;
    (void)pos;
    while (x->at == x->buf.n) {
        if (x->done || x->failed)
            return x->failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
        int rc = next_page(x);
        if (rc) {
            /* The client sees a cut chunked body, not a short file that looks complete. */
            tld_log_warn(x->log, "export.csv: store read failed: %s (%s)", tld_err_str(rc),
                         tld_store_errmsg(x->c.store));
            x->failed = true;
        }
    }
    size_t n = x->buf.n - x->at < max ? x->buf.n - x->at : max;
    memcpy(out, x->buf.p + x->at, n);
    x->at += n;
    return (ssize_t)n;
}

static void export_free(void *cls)
{
    struct export *x = cls;
    tld_api_alert_ctx_close(&x->c);
    tld_sb_fini(&x->buf);
    free(x);
}

int tld_api_h_export_csv(struct tld_api_req *r)
{
    struct export *x = calloc(1, sizeof *x);
    if (!x)
        return TLD_ENOMEM;
    if (tld_api_alert_ctx_open(r, &x->c) != 0) {
        tld_api_alert_ctx_close(&x->c);
        free(x);
        return 0;
    }
    const struct tld_api_params *p = &r->params;
    x->log = r->api->log;
    x->ascending = p->ascending;
    x->nfields = p->nselect ? p->nselect : NDEFAULT;
    for (size_t i = 0; i < x->nfields; i++)
        snprintf(x->fields[i], sizeof x->fields[i], "%s",
                 p->nselect ? p->select[i] : DEFAULT_FIELDS[i]);
    tld_sb_init(&x->buf, TLD_API_OUT_MAX);
    for (size_t i = 0; i < x->nfields; i++) {
        if (i)
            tld_sb_append_char(&x->buf, ',');
        tld_api_csv_cell(&x->buf, x->fields[i], strlen(x->fields[i]));
    }
    tld_sb_append(&x->buf, "\r\n", 2);
    x->c.r = NULL; /* the request is gone before the rows are read */
    r->status = 200;
    r->ctype = "text/csv; charset=utf-8; header=present";
    snprintf(r->header_name, sizeof r->header_name, "Content-Disposition");
    snprintf(r->header_value, sizeof r->header_value, "attachment; filename=\"alerts.csv\"");
    r->reader = export_read;
    r->reader_free = export_free;
    r->reader_cls = x;
    return 0;
}
