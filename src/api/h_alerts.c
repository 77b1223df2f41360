/*
 * The alert routes: search with cursor paging and field selection, one alert byte for byte,
 * histogram and top values. Each request opens its own read-only store handle, so requests
 * never share one and never wait for the manager's writer (SQLite WAL).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "store/query.h"

int tld_api_alert_ctx_open(struct tld_api_req *r, struct tld_api_alert_ctx *c)
{
    memset(c, 0, sizeof *c);
    c->r = r;
    const struct tld_api_params *p = &r->params;
    if (p->sort_by || p->nfilters) {
        tld_api_error(r, 400,
                      p->sort_by ? "sort: alerts sort by timestamp only ('+timestamp' or "
                                   "'-timestamp')"
                                 : "alerts are filtered with q (docs/query.md)");
        return 1;
    }
    if (p->q && *p->q) {
        struct tld_query_error err;
        if (tld_query_parse(p->q, strlen(p->q), &c->query, &err) != 0) {
            char why[256];
            snprintf(why, sizeof why, "q: at offset %zu: %s", err.off, err.msg);
            tld_api_error(r, 400, why);
            return 1;
        }
    }
    c->filter.query = c->query;
    c->filter.from_ms = p->from_ms;
    c->filter.to_ms = p->to_ms;
    if (tld_store_open(&r->api->store_cfg, &c->store) != 0) {
        tld_log_warn(r->api->log, "the alert store cannot be opened for reading");
        tld_api_error(r, 503, "the alert store is not available");
        return 1;
    }
    return 0;
}

void tld_api_alert_ctx_close(struct tld_api_alert_ctx *c)
{
    if (c->store)
        tld_store_close(c->store);
    tld_query_free(c->query);
    c->store = NULL;
    c->query = NULL;
}

/* A store failure during a request: logged, and a 503 for the caller. */
static int store_failed(struct tld_api_alert_ctx *c, int rc)
{
    tld_log_warn(c->r->api->log, "store read failed: %s (%s)", tld_err_str(rc),
                 tld_store_errmsg(c->store));
    tld_api_error(c->r, 503, "the alert store failed to answer");
    return 0;
}

/* ---- field selection ---------------------------------------------------------------------- */

/*
 * Copy the value at dotted `path` under `from` into `to` at the same keys. Object keys may
 * contain dots themselves, so every split of the path that names a key is tried.
 */
static void select_path(const cJSON *from, cJSON *to, const char *path, size_t n)
{
    char key[128];
    size_t k = n + 1;
    for (const cJSON *v; (v = tld_api_json_member(from, path, n, &k, key)) != NULL;) {
        if (k == n) {
            if (!cJSON_GetObjectItemCaseSensitive(to, key))
                cJSON_AddItemToObject(to, key, cJSON_Duplicate(v, true));
            return;
        }
        if (!cJSON_IsObject(v))
            continue;
        cJSON *sub = cJSON_GetObjectItemCaseSensitive(to, key);
        if (!sub)
            sub = cJSON_AddObjectToObject(to, key);
        if (cJSON_IsObject(sub))
            select_path(v, sub, path + k + 1, n - k - 1);
        return;
    }
}

static void append_selected(struct tld_sb *out, const struct tld_api_params *p, const char *raw,
                            size_t n)
{
    cJSON *doc = cJSON_ParseWithLength(raw, n);
    cJSON *sel = cJSON_CreateObject();
    for (size_t i = 0; doc && sel && i < p->nselect; i++)
        select_path(doc, sel, p->select[i], strlen(p->select[i]));
    char *text = sel ? cJSON_PrintUnformatted(sel) : NULL;
    tld_sb_append_cstr(out, text ? text : "{}");
    free(text);
    cJSON_Delete(sel);
    cJSON_Delete(doc);
}

/* ---- /alerts ------------------------------------------------------------------------------ */

struct page {
    struct tld_api_alert_ctx *c;
    struct tld_api_env env;
    size_t skip;
    size_t rows; /* handed by the store, skipped ones included */
};

static int on_hit(void *ctx, const struct tld_store_hit *h)
{
    struct page *pg = ctx;
    pg->rows++;
    if (pg->skip) {
        pg->skip--;
        return 0;
    }
    const struct tld_api_params *p = &pg->c->r->params;
    tld_api_env_next(&pg->env);
    if (p->nselect)
        append_selected(pg->env.out, p, h->raw, h->raw_n);
    else
        tld_sb_append(pg->env.out, h->raw, h->raw_n);
    return pg->env.out->oom || pg->env.out->truncated ? TLD_ELIMIT : 0;
}

/*
 * total_affected_items: exact up to the request's track_total_hits, a lower bound past it (so a
 * page costs the same on a store of any size). A first page that holds every match already
 * knows their number.
 */
static int page_total(struct tld_api_alert_ctx *c, const struct page *pg, bool more,
                      uint64_t *total, bool *exact)
{
    const struct tld_api_params *p = &c->r->params;
    if (!more && !p->have_after) {
        *exact = pg->rows <= p->track_total;
        *total = *exact ? pg->rows : p->track_total;
        return 0;
    }
    return tld_store_count_upto(c->store, &c->filter, p->track_total, total, exact);
}

int tld_api_h_alerts(struct tld_api_req *r)
{
    struct tld_api_alert_ctx c;
    if (tld_api_alert_ctx_open(r, &c) != 0) {
        tld_api_alert_ctx_close(&c);
        return 0;
    }
    const struct tld_api_params *p = &r->params;
    struct tld_store_search s = {c.filter, p->ascending, p->offset + p->limit,
                                 p->have_after ? &p->after : NULL};
    struct page pg = {&c, {NULL, 0}, p->offset, 0};
    struct tld_store_cursor next = {0, 0};
    bool more = false, exact = true;
    uint64_t total = 0;
    r->status = 200;
    tld_api_env_begin(&pg.env, &r->out);
    int rc = tld_store_search(c.store, &s, on_hit, &pg, &next, &more);
    if (rc == 0)
        rc = page_total(&c, &pg, more, &total, &exact);
    if (rc == TLD_ELIMIT) {
        tld_api_error(r, 413, "the page is too large; lower limit or select fewer fields");
    } else if (rc) {
        store_failed(&c, rc);
    } else {
        char extra[128];
        int n =
            snprintf(extra, sizeof extra, "\"total_is_lower_bound\":%s,", exact ? "false" : "true");
        if (more)
            snprintf(extra + n, sizeof extra - (size_t)n, "\"next_cursor\":\"%lld_%lld\"",
                     (long long)next.ts_ms, (long long)next.id);
        else
            snprintf(extra + n, sizeof extra - (size_t)n, "\"next_cursor\":null");
        tld_api_env_end(&pg.env, total, extra, "alerts");
    }
    tld_api_alert_ctx_close(&c);
    return 0;
}

/* ---- /alerts/{id} ------------------------------------------------------------------------- */

static int on_one(void *ctx, const struct tld_store_hit *h)
{
    tld_sb_append(ctx, h->raw, h->raw_n);
    return 0;
}

int tld_api_h_alert_one(struct tld_api_req *r)
{
    const char *id = strrchr(r->path, '/') + 1;
    struct tld_api_alert_ctx c;
    if (tld_api_alert_ctx_open(r, &c) != 0) {
        tld_api_alert_ctx_close(&c);
        return 0;
    }
    int rc = tld_store_get_by_alert_id(c.store, id, on_one, &r->out);
    if (rc == TLD_EINVAL)
        tld_api_error(r, 400, "an alert id is its \"id\" in alerts.json (digits and a dot)");
    else if (rc == TLD_ENOTFOUND)
        tld_api_error(r, 404, "no alert has this id");
    else if (rc)
        store_failed(&c, rc);
    else
        r->status = 200;
    tld_api_alert_ctx_close(&c);
    return 0;
}

/* ---- /alerts/histogram and /alerts/terms -------------------------------------------------- */

static int on_bucket(void *ctx, int64_t start_ms, uint64_t count)
{
    struct tld_api_env *e = ctx;
    tld_api_env_next(e);
    tld_sb_printf(e->out, "{\"timestamp\":%lld,\"count\":%llu}", (long long)start_ms,
                  (unsigned long long)count);
    return 0;
}

int tld_api_h_histogram(struct tld_api_req *r)
{
    struct tld_api_alert_ctx c;
    if (tld_api_alert_ctx_open(r, &c) != 0) {
        tld_api_alert_ctx_close(&c);
        return 0;
    }
    struct tld_api_env e;
    int64_t used = 0;
    r->status = 200;
    tld_api_env_begin(&e, &r->out);
    int rc = tld_store_histogram(c.store, &c.filter, r->params.interval_ms, on_bucket, &e, &used);
    if (rc) {
        store_failed(&c, rc);
    } else {
        char extra[64];
        snprintf(extra, sizeof extra, "\"interval_ms\":%lld", (long long)used);
        tld_api_env_end(&e, e.nitems, extra, "alert counts per interval");
    }
    tld_api_alert_ctx_close(&c);
    return 0;
}

static int on_term(void *ctx, const char *value, size_t n, uint64_t count)
{
    struct tld_api_env *e = ctx;
    tld_api_env_next(e);
    tld_sb_append_cstr(e->out, "{\"value\":");
    tld_api_json_str(e->out, value, n);
    tld_sb_printf(e->out, ",\"count\":%llu}", (unsigned long long)count);
    return 0;
}

int tld_api_h_terms(struct tld_api_req *r)
{
    if (!r->params.field) {
        tld_api_error(r, 400, "field: required (the field whose top values are counted)");
        return 0;
    }
    struct tld_api_alert_ctx c;
    if (tld_api_alert_ctx_open(r, &c) != 0) {
        tld_api_alert_ctx_close(&c);
        return 0;
    }
    struct tld_api_env e;
    r->status = 200;
    tld_api_env_begin(&e, &r->out);
    int rc = tld_store_terms(c.store, &c.filter, r->params.field, r->params.size, on_term, &e);
    if (rc)
        store_failed(&c, rc);
    else
        tld_api_env_end(&e, e.nitems, NULL, "most frequent values");
    tld_api_alert_ctx_close(&c);
    return 0;
}
