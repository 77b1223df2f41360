/*
 * GET /alerts/stream: a live tail of the alert store as Server-Sent Events. Every client holds
 * a compiled query and the store id of the last alert it was sent; ids grow in ingest order
 * and a reader sees the writer's transactions whole, so "the matching alerts with an id past
 * mine" has no gap and no duplicate, across reconnects too (Last-Event-ID is that id).
 *
 * One hub thread per API does all the store reading: it wakes every POLL_MS, reads the store's
 * last id and, for each client behind it, the next alerts after that client's id. A client's
 * connection is suspended in libmicrohttpd whenever it has nothing to send, so a thousand idle
 * clients hold no request thread and cost a socket, a TLS session and this struct each.
 *
 * Locks: the hub's mutex guards the client list (the hub holds it for a whole pass; a closing
 * connection takes it to unlink itself); each client's mutex guards its outgoing buffer and its
 * suspended flag (MHD's reader callback takes only that one, never the hub's).
 */
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/streams.h"

#define POLL_MS          100
#define HEARTBEAT_MS     15000
#define TAIL_BATCH       500        /* alerts read per client per pass */
#define CLIENT_BUF_AHEAD (1u << 20) /* a client this far behind in reading gets no more yet */
#define CLIENT_BUF_MAX   (64u << 20)
#define PASS_CACHE       16 /* distinct (query, position) reads remembered within one pass */

struct stream_client {
    struct stream_client *prev, *next; /* hub->mu */
    struct tld_api_streams *hub;
    struct MHD_Connection *conn;
    struct tld_query *query; /* owned */
    char *qtext;             /* owned: the query as given ("" for none), to share reads */
    struct tld_store_filter filter;
    int64_t last_id;      /* the hub thread's: the id of the last alert queued */
    int64_t last_sent_ms; /* the hub thread's: when bytes were last queued */
    pthread_mutex_t mu;
    struct tld_sb buf; /* mu: bytes not yet handed to MHD, from `at` */
    size_t at;
    bool suspended; /* mu */
};

/* One store read of a pass, handed to every client with the same query at the same id: a
 * thousand clients of one dashboard cost one read per pass, not a thousand. */
struct pass_read {
    const struct stream_client *like; /* whose query, range and start id it was */
    int64_t from_id, next_id;
    struct tld_sb events;
    size_t n; /* alerts in events */
};

struct tld_api_streams {
    struct tld_log *log;
    const struct tld_store_config *store_cfg;
    unsigned max;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t thread;
    bool thread_started;
    atomic_bool stopping;
    bool kick;                          /* mu: a new client waits for its first pass */
    struct stream_client *clients;      /* mu */
    unsigned n;                         /* mu */
    struct tld_store *store;            /* the hub thread's reader handle */
    struct pass_read cache[PASS_CACHE]; /* the hub thread's */
    size_t ncache;
    atomic_uint_fast64_t sent, opened;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- one client: MHD's side ------------------------------------------------------------- */

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct stream_client *c = cls;
    (void)pos;
    if (atomic_load(&c->hub->stopping))
        return MHD_CONTENT_READER_END_WITH_ERROR;
    pthread_mutex_lock(&c->mu);
    size_t n = c->buf.n - c->at;
    if (n == 0) {
        /* Nothing to send: leave MHD's loop until the hub has more (it resumes us). */
        c->suspended = true;
        MHD_suspend_connection(c->conn);
        pthread_mutex_unlock(&c->mu);
        return 0;
    }
    if (n > max)
        n = max;
    memcpy(out, c->buf.p + c->at, n);
    c->at += n;
    if (c->at == c->buf.n) {
        tld_sb_reset(&c->buf);
        c->at = 0;
    }
    pthread_mutex_unlock(&c->mu);
    return (ssize_t)n;
}

static void client_free(struct stream_client *c)
{
    tld_query_free(c->query);
    free(c->qtext);
    tld_sb_fini(&c->buf);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

/* The connection is gone (or never got its response): the client leaves the hub. */
static void stream_free(void *cls)
{
    struct stream_client *c = cls;
    struct tld_api_streams *h = c->hub;
    pthread_mutex_lock(&h->mu);
    if (c->prev)
        c->prev->next = c->next;
    else if (h->clients == c)
        h->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->n--;
    pthread_mutex_unlock(&h->mu);
    client_free(c);
}

/* Queue bytes for a client and wake its connection if it sleeps. */
static void client_push(struct stream_client *c, const char *p, size_t n)
{
    pthread_mutex_lock(&c->mu);
    tld_sb_append(&c->buf, p, n);
    if (c->suspended) {
        c->suspended = false;
        MHD_resume_connection(c->conn);
    }
    pthread_mutex_unlock(&c->mu);
}

static size_t client_backlog(struct stream_client *c)
{
    pthread_mutex_lock(&c->mu);
    size_t n = c->buf.n - c->at;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* ---- the hub thread ------------------------------------------------------------------------ */

struct tail_ctx {
    struct tld_sb *out;
    size_t n;
};

static int on_alert(void *ctx, const struct tld_store_hit *hit)
{
    struct tail_ctx *t = ctx;
    t->n++;
    tld_sb_printf(t->out, "id: %lld\nevent: alert\ndata: ", (long long)hit->id);
    tld_sb_append(t->out, hit->raw, hit->raw_n);
    tld_sb_append(t->out, "\n\n", 2);
    return t->out->oom || t->out->truncated ? TLD_ELIMIT : 0;
}

static bool same_read(const struct pass_read *pr, const struct stream_client *c)
{
    const struct stream_client *o = pr->like;
    return o && pr->from_id == c->last_id && o->filter.from_ms == c->filter.from_ms &&
           o->filter.to_ms == c->filter.to_ms && strcmp(o->qtext, c->qtext) == 0;
}

/* The events after the client's id (one batch): read once per pass for each distinct
 * (query, range, id). */
static int read_for(struct tld_api_streams *h, struct stream_client *c, int64_t last_id,
                    struct pass_read **out)
{
    for (size_t i = 0; i < h->ncache; i++)
        if (same_read(&h->cache[i], c)) {
            *out = &h->cache[i];
            return 0;
        }
    /* A full cache is reused from its start: the pass goes on, reads are only repeated. */
    struct pass_read *pr = &h->cache[h->ncache < PASS_CACHE ? h->ncache++ : 0];
    tld_sb_reset(&pr->events);
    pr->like = c;
    pr->from_id = c->last_id;
    struct tail_ctx t = {&pr->events, 0};
    int64_t next = c->last_id;
    int rc = tld_store_tail(h->store, &c->filter, c->last_id, TAIL_BATCH, on_alert, &t, &next);
    if (rc) {
        pr->like = NULL;
        pr->from_id = -1;
        return rc;
    }
    /* Less than a batch: the read saw every match up to last_id (committed before it), so
     * the alerts that did not match are not read again. */
    pr->next_id = t.n < TAIL_BATCH && next < last_id ? last_id : next;
    pr->n = t.n;
    *out = pr;
    return 0;
}

/* The alerts a client has not had yet (one batch), then a heartbeat if it has been quiet. */
static int serve_client(struct tld_api_streams *h, struct stream_client *c, int64_t last_id,
                        int64_t now)
{
    struct pass_read *pr = NULL;
    if (c->last_id < last_id && client_backlog(c) < CLIENT_BUF_AHEAD) {
        int rc = read_for(h, c, last_id, &pr);
        if (rc)
            return rc;
        c->last_id = pr->next_id;
    }
    if (pr && pr->events.n) {
        client_push(c, pr->events.p, pr->events.n);
        c->last_sent_ms = now;
        atomic_fetch_add(&h->sent, pr->n);
    } else if (now - c->last_sent_ms >= HEARTBEAT_MS) {
        static const char beat[] = ": keep-alive\n\n";
        client_push(c, beat, sizeof beat - 1);
        c->last_sent_ms = now;
    }
    return 0;
}

static void hub_pass(struct tld_api_streams *h)
{
    if (!h->store && tld_store_open(h->store_cfg, &h->store) != 0) {
        h->store = NULL;
        return;
    }
    int64_t last_id = 0;
    int rc = tld_store_last_id(h->store, &last_id);
    int64_t now = mono_ms();
    pthread_mutex_lock(&h->mu);
    h->kick = false;
    h->ncache = 0; /* reads are shared within a pass only: the clients may go after it */
    for (struct stream_client *c = h->clients; c && rc == 0; c = c->next)
        rc = serve_client(h, c, last_id, now);
    pthread_mutex_unlock(&h->mu);
    if (rc) {
        tld_log_warn(h->log, "alert stream: store read failed: %s (%s); reopening", tld_err_str(rc),
                     tld_store_errmsg(h->store));
        tld_store_close(h->store);
        h->store = NULL;
    }
}

static void *hub_main(void *arg)
{
    struct tld_api_streams *h = arg;
    while (!atomic_load(&h->stopping)) {
        bool any;
        pthread_mutex_lock(&h->mu);
        any = h->n > 0;
        pthread_mutex_unlock(&h->mu);
        if (any)
            hub_pass(h);
        pthread_mutex_lock(&h->mu);
        if (!h->kick && !atomic_load(&h->stopping)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_nsec += (long)POLL_MS * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            pthread_cond_timedwait(&h->wake, &h->mu, &until);
        }
        pthread_mutex_unlock(&h->mu);
    }
    if (h->store)
        tld_store_close(h->store);
    h->store = NULL;
    return NULL;
}

int tld_api_streams_start(struct tld_api *a, struct tld_api_streams **out)
{
    struct tld_api_streams *h = calloc(1, sizeof *h);
    if (!h)
        return TLD_ENOMEM;
    h->log = a->log;
    h->store_cfg = &a->store_cfg;
    h->max = a->cfg->max_streams;
    for (size_t i = 0; i < PASS_CACHE; i++)
        tld_sb_init(&h->cache[i].events, CLIENT_BUF_MAX);
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->wake, NULL);
    if (pthread_create(&h->thread, NULL, hub_main, h) != 0) {
        tld_api_streams_free(h);
        return TLD_EIO;
    }
    h->thread_started = true;
    *out = h;
    return 0;
}

void tld_api_streams_stop(struct tld_api_streams *h)
{
    if (!h)
        return;
    atomic_store(&h->stopping, true);
    pthread_mutex_lock(&h->mu);
    for (struct stream_client *c = h->clients; c; c = c->next) {
        pthread_mutex_lock(&c->mu);
        if (c->suspended) {
            c->suspended = false;
            MHD_resume_connection(c->conn);
        }
        pthread_mutex_unlock(&c->mu);
    }
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->mu);
}

void tld_api_streams_free(struct tld_api_streams *h)
{
    if (!h)
        return;
    atomic_store(&h->stopping, true);
    if (h->thread_started) {
        pthread_mutex_lock(&h->mu);
        pthread_cond_signal(&h->wake);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thread, NULL);
    }
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->mu);
    for (size_t i = 0; i < PASS_CACHE; i++)
        tld_sb_fini(&h->cache[i].events);
    free(h);
}

void tld_api_streams_counts(struct tld_api_streams *h, unsigned *clients, uint64_t *opened,
                            uint64_t *sent)
{
    pthread_mutex_lock(&h->mu);
    *clients = h->n;
    pthread_mutex_unlock(&h->mu);
    *opened = atomic_load(&h->opened);
    *sent = atomic_load(&h->sent);
}

/* ---- the route -------------------------------------------------------------------------- */

/* Where the client resumes: Last-Event-ID (the header, or the parameter for clients that
 * cannot set headers), else the store's newest alert. */
static int start_id(struct tld_api_req *r, struct tld_api_alert_ctx *ctx, int64_t *id)
{
    const char *h = r->last_event_id;
    unsigned long long v;
    if (h && *h) {
        if (!tld_sv_to_u64(tld_sv_of(h), INT64_MAX, &v)) {
            tld_api_error(r, 400, "Last-Event-ID: an event id (a whole number)");
            return 1;
        }
        *id = (int64_t)v;
        return 0;
    }
    if (r->params.have_last_event_id) {
        *id = r->params.last_event_id;
        return 0;
    }
    if (tld_store_last_id(ctx->store, id) != 0) {
        tld_api_error(r, 503, "the alert store failed to answer");
        return 1;
    }
    return 0;
}

/* Admits a client under max_streams; false when the API holds as many as it may. */
static bool admit(struct tld_api_streams *h, struct stream_client *c)
{
    pthread_mutex_lock(&h->mu);
    bool ok = h->n < h->max && !atomic_load(&h->stopping);
    if (ok) {
        c->next = h->clients;
        if (h->clients)
            h->clients->prev = c;
        h->clients = c;
        h->n++;
        h->kick = true;
        pthread_cond_signal(&h->wake);
    }
    pthread_mutex_unlock(&h->mu);
    if (ok)
        atomic_fetch_add(&h->opened, 1);
    return ok;
}

int tld_api_h_alert_stream(struct tld_api_req *r)
{
    struct tld_api_streams *h = r->api->streams;
    struct tld_api_alert_ctx ctx;
    if (!h) {
        tld_api_error(r, 503, "live streams are off (<max_streams> is 0)");
        return 0;
    }
    if (tld_api_alert_ctx_open(r, &ctx) != 0) {
        tld_api_alert_ctx_close(&ctx);
        return 0;
    }
    int64_t from_id = 0;
    if (start_id(r, &ctx, &from_id) != 0) {
        tld_api_alert_ctx_close(&ctx);
        return 0;
    }
    struct stream_client *c = calloc(1, sizeof *c);
    if (!c) {
        tld_api_alert_ctx_close(&ctx);
        return TLD_ENOMEM;
    }
    c->hub = h;
    c->conn = r->conn;
    c->qtext = strdup(r->params.q ? r->params.q : "");
    c->query = ctx.query; /* the client owns it from here */
    ctx.query = NULL;
    if (!c->qtext) {
        tld_query_free(c->query);
        free(c);
        tld_api_alert_ctx_close(&ctx);
        return TLD_ENOMEM;
    }
    c->filter = ctx.filter;
    c->filter.query = c->query;
    c->last_id = from_id;
    c->last_sent_ms = mono_ms();
    pthread_mutex_init(&c->mu, NULL);
    tld_sb_init(&c->buf, CLIENT_BUF_MAX);
    /* The reconnect delay the browser's EventSource uses, and the headers go out at once. */
    tld_sb_append_cstr(&c->buf, "retry: 1000\n\n");
    tld_api_alert_ctx_close(&ctx);
    if (!admit(h, c)) {
        client_free(c);
        tld_api_error(r, 503, "too many live streams (<max_streams>); retry later");
        snprintf(r->header_name, sizeof r->header_name, "Retry-After");
        snprintf(r->header_value, sizeof r->header_value, "5");
        return 0;
    }
    r->status = 200;
    r->ctype = "text/event-stream";
    r->reader = stream_read;
    r->reader_free = stream_free;
    r->reader_cls = c;
    return 0;
}
