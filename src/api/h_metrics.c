/*
 * GET /metrics: Prometheus' text exposition format (version 0.0.4). Three sources: the API's
 * own request counters and latency histograms per route (metrics.h, counted by the
 * dispatcher), its live streams, and the manager's statistics file
 * (var/run/tld-manager.stats.json, rewritten every second): events and alerts with their rate,
 * queue depths, the store's lag, connected agents, and every other number of that file as
 * tld_manager_stat{section,name}. Rates are computed between two scrapes of the file here;
 * Prometheus' own rate() over the _total counters is the better figure when it scrapes.
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/metrics.h"
#include "api/server.h"
#include "api/streams.h"

static const double BOUNDS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                0.25,  0.5,    1,     2.5,  5,     10};
#define NBOUNDS (sizeof BOUNDS / sizeof *BOUNDS)

struct route_counts {
    atomic_uint_fast64_t by_class[6]; /* 1xx..5xx by status / 100 */
    atomic_uint_fast64_t buckets[NBOUNDS + 1];
    atomic_uint_fast64_t micros_sum;
};

struct tld_api_metrics {
    size_t nroutes;
    pthread_mutex_t mu; /* the previous sample of the manager's counters, for rates */
    int64_t prev_ms;
    double prev_events, prev_alerts;
    struct route_counts r[]; /* nroutes + 1: the last one counts requests matching no route */
};

int tld_api_metrics_new(size_t nroutes, struct tld_api_metrics **out)
{
    struct tld_api_metrics *m = calloc(1, sizeof *m + (nroutes + 1) * sizeof m->r[0]);
    if (!m)
        return TLD_ENOMEM;
    m->nroutes = nroutes;
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return 0;
}

void tld_api_metrics_free(struct tld_api_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void tld_api_metrics_observe(struct tld_api_metrics *m, size_t route, unsigned status,
                             int64_t micros)
{
    if (!m)
        return;
    struct route_counts *rc = &m->r[route < m->nroutes ? route : m->nroutes];
    unsigned cls = status / 100 < 6 ? status / 100 : 5;
    atomic_fetch_add(&rc->by_class[cls], 1);
    double s = (double)micros / 1e6;
    size_t b = 0;
    while (b < NBOUNDS && s > BOUNDS[b])
        b++;
    atomic_fetch_add(&rc->buckets[b], 1);
    atomic_fetch_add(&rc->micros_sum, micros > 0 ? (uint64_t)micros : 0);
}

/* A label value: the route paths hold no quote, backslash or line break, but stay safe. */
static void label(struct tld_sb *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            tld_sb_append_char(out, '\\');
        if (*s == '\n')
            tld_sb_append_cstr(out, "\\n");
        else
            tld_sb_append_char(out, *s);
    }
}

static void head(struct tld_sb *out, const char *name, const char *type, const char *help)
{
    tld_sb_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void route_labels(struct tld_sb *out, const struct tld_api_route *rt)
{
    tld_sb_append_cstr(out, "method=\"");
    label(out, rt ? rt->method : "");
    tld_sb_append_cstr(out, "\",route=\"");
    label(out, rt ? rt->path : "(none)");
    tld_sb_append_char(out, '"');
}

static void api_requests(struct tld_sb *out, const struct tld_api_metrics *m)
{
    size_t n;
    const struct tld_api_route *routes = tld_api_routes(&n);
    if (n > m->nroutes)
        n = m->nroutes;
    head(out, "tld_api_requests_total", "counter",
         "Requests answered, by route and status class (no route: 404 and 405).");
    for (size_t i = 0; i <= n; i++)
        for (unsigned c = 1; c < 6; c++) {
            uint64_t v = atomic_load(&m->r[i].by_class[c]);
            if (!v && c != 2)
                continue;
            tld_sb_append_cstr(out, "tld_api_requests_total{");
            route_labels(out, i < n ? &routes[i] : NULL);
            tld_sb_printf(out, ",code=\"%uxx\"} %llu\n", c, (unsigned long long)v);
        }
    head(out, "tld_api_request_duration_seconds", "histogram",
         "Time from a request's last byte to its answer being ready (streams: to their start).");
    for (size_t i = 0; i <= n; i++) {
        uint64_t cum = 0;
        for (size_t b = 0; b <= NBOUNDS; b++) {
            cum += atomic_load(&m->r[i].buckets[b]);
            tld_sb_append_cstr(out, "tld_api_request_duration_seconds_bucket{");
            route_labels(out, i < n ? &routes[i] : NULL);
            if (b < NBOUNDS)
                tld_sb_printf(out, ",le=\"%g\"} %llu\n", BOUNDS[b], (unsigned long long)cum);
            else
                tld_sb_printf(out, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
        }
        tld_sb_append_cstr(out, "tld_api_request_duration_seconds_sum{");
        route_labels(out, i < n ? &routes[i] : NULL);
        tld_sb_printf(out, "} %.6f\n", (double)atomic_load(&m->r[i].micros_sum) / 1e6);
        tld_sb_append_cstr(out, "tld_api_request_duration_seconds_count{");
        route_labels(out, i < n ? &routes[i] : NULL);
        tld_sb_printf(out, "} %llu\n", (unsigned long long)cum);
    }
}

static void streams(struct tld_sb *out, struct tld_api_streams *h)
{
    unsigned clients = 0;
    uint64_t opened = 0, sent = 0;
    if (h)
        tld_api_streams_counts(h, &clients, &opened, &sent);
    head(out, "tld_api_streams", "gauge", "Live alert streams (/alerts/stream) held now.");
    tld_sb_printf(out, "tld_api_streams %u\n", clients);
    head(out, "tld_api_streams_opened_total", "counter", "Live alert streams opened.");
    tld_sb_printf(out, "tld_api_streams_opened_total %llu\n", (unsigned long long)opened);
    head(out, "tld_api_stream_alerts_sent_total", "counter",
         "Alerts queued to live stream clients.");
    tld_sb_printf(out, "tld_api_stream_alerts_sent_total %llu\n", (unsigned long long)sent);
}

static double num(const cJSON *doc, const char *section, const char *name, bool *found)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, section), name);
    if (cJSON_IsNumber(v)) {
        *found = true;
        return v->valuedouble;
    }
    if (cJSON_IsBool(v)) {
        *found = true;
        return cJSON_IsTrue(v) ? 1 : 0;
    }
    return 0;
}

/* One named figure of the stats file, when the file has it. */
static void named(struct tld_sb *out, const cJSON *doc, const char *metric, const char *type,
                  const char *help, const char *section, const char *name)
{
    bool found = false;
    double v = num(doc, section, name, &found);
    if (!found)
        return;
    head(out, metric, type, help);
    tld_sb_printf(out, "%s %.17g\n", metric, v);
}

static void rates(struct tld_sb *out, struct tld_api_metrics *m, const cJSON *doc)
{
    bool f1 = false, f2 = false;
    double events = num(doc, "analysis", "processed", &f1);
    double alerts = num(doc, "analysis", "alerts", &f2);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    pthread_mutex_lock(&m->mu);
    double secs = (double)(now - m->prev_ms) / 1000.0;
    bool have = m->prev_ms && secs >= 1.0 && events >= m->prev_events && alerts >= m->prev_alerts;
    double ev_rate = have ? (events - m->prev_events) / secs : 0;
    double al_rate = have ? (alerts - m->prev_alerts) / secs : 0;
    if (!m->prev_ms || secs >= 1.0) {
        m->prev_ms = now;
        m->prev_events = events;
        m->prev_alerts = alerts;
    }
    pthread_mutex_unlock(&m->mu);
    if (!f1 || !f2 || !have)
        return;
    head(out, "tld_events_per_second", "gauge",
         "Events analysed per second since the previous scrape (one second or more ago).");
    tld_sb_printf(out, "tld_events_per_second %.3f\n", ev_rate);
    head(out, "tld_alerts_per_second", "gauge", "Alerts per second since the previous scrape.");
    tld_sb_printf(out, "tld_alerts_per_second %.3f\n", al_rate);
}

/* Every number of the file (nested one level), so nothing it counts is out of reach. */
static void every_stat(struct tld_sb *out, const cJSON *doc)
{
    head(out, "tld_manager_stat", "untyped",
         "Every number of the manager's statistics file (docs/manager.md).");
    for (const cJSON *sec = doc->child; sec; sec = sec->next) {
        if (!cJSON_IsObject(sec) || !tld_query_valid_field(sec->string, strlen(sec->string)))
            continue;
        for (const cJSON *v = sec->child; v; v = v->next) {
            if (!(cJSON_IsNumber(v) || cJSON_IsBool(v)) ||
                !tld_query_valid_field(v->string, strlen(v->string)))
                continue;
            tld_sb_printf(out, "tld_manager_stat{section=\"%s\",name=\"%s\"} %.17g\n", sec->string,
                          v->string,
                          cJSON_IsNumber(v) ? v->valuedouble
                          : cJSON_IsTrue(v) ? 1.0
                                            : 0.0);
        }
    }
}

static cJSON *manager_stats(const char *root)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/var/run/tld-manager.stats.json", root);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = malloc(1u << 20);
    size_t n = buf ? fread(buf, 1, (1u << 20) - 1, f) : 0;
    fclose(f);
    cJSON *doc = n ? cJSON_ParseWithLength(buf, n) : NULL;
    free(buf);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

static void manager(struct tld_sb *out, struct tld_api_metrics *m, const char *root)
{
    cJSON *doc = manager_stats(root);
    head(out, "tld_manager_stats_available", "gauge",
         "1 when the manager's statistics file could be read (0: the manager never ran here).");
    tld_sb_printf(out, "tld_manager_stats_available %d\n", doc ? 1 : 0);
    if (!doc)
        return;
    named(out, doc, "tld_events_total", "counter", "Events analysed since the manager started.",
          "analysis", "processed");
    named(out, doc, "tld_alerts_total", "counter", "Alerts written since the manager started.",
          "analysis", "alerts");
    if (m)
        rates(out, m, doc);
    named(out, doc, "tld_analysis_queued", "gauge", "Events waiting for an analysis worker.",
          "analysis", "queued");
    named(out, doc, "tld_analysis_inflight", "gauge", "Events being analysed.", "analysis",
          "inflight");
    named(out, doc, "tld_journal_bytes", "gauge", "Bytes in the event journal.", "journal",
          "bytes");
    named(out, doc, "tld_store_behind_alerts", "gauge",
          "Alerts written to alerts.json and not yet in the store (the store's lag).", "store",
          "behind_alerts");
    named(out, doc, "tld_store_behind_bytes", "gauge", "Bytes of alerts.json not yet in the store.",
          "store", "behind_bytes");
    named(out, doc, "tld_agents_connected", "gauge", "Agents connected now.", "remote", "active");
    every_stat(out, doc);
    cJSON_Delete(doc);
}

int tld_api_h_metrics(struct tld_api_req *r)
{
    r->status = 200;
    r->ctype = "text/plain; version=0.0.4; charset=utf-8";
    if (r->api->metrics)
        api_requests(&r->out, r->api->metrics);
    streams(&r->out, r->api->streams);
    manager(&r->out, r->api->metrics, r->api->root);
    return r->out.oom ? TLD_ENOMEM : 0;
}
