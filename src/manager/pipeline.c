/*
 * Analysis pipeline (see pipeline.h). Every event dispatched gets a dense sequence number g;
 * its result lands in ring[g % RING] and the output thread consumes g in order. The dispatcher
 * never gets more than RING events ahead of the output, so a slot is never reused too early.
 */
#include "manager/pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/evrec.h"
#include "engine/alert.h"
#include "engine/engine.h"
#include "manager/alerts_out.h"

#define QUEUE_BYTES    (64u << 20)
#define SYNC_EVERY_NS  250000000LL
#define NAME_CACHE     1024
#define PLACEHOLDER_ID "0.0"

struct item {
    struct item *next;
    uint64_t g;
    uint64_t index;
    unsigned agent;
    int64_t recv_ns;
    size_t ip_len, rec_len;
    char data[]; /* ip, then record */
};

struct result {
    bool ready;
    bool malformed;
    uint64_t index;
    unsigned agent;
    int64_t time_s;
    char *alert; /* owned; NULL when the event raised none */
    size_t alert_len, alert_id_off;
    char *archive;
    size_t archive_len, archive_id_off;
};

struct wq {
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* items or stop */
    pthread_cond_t room; /* space */
    struct item *head, *tail;
    unsigned n;
    size_t bytes;
};

struct name_slot {
    unsigned id;
    char name[TLD_PROTO_MAX_NAME + 1];
};

struct worker {
    struct tld_pipeline *p;
    unsigned no;
    pthread_t t;
    struct wq q;
    struct tld_worker *w;
    struct tld_sb buf;
    struct tld_evrec_labels labels;
    struct tld_label elabels[TLD_EVREC_MAX_LABELS];
    struct name_slot names[NAME_CACHE];
};

struct tld_pipeline {
    struct tld_pipeline_opts o;
    struct tld_ruleset *rs;
    struct tld_engine_state *state;
    struct tld_alerts_out *out;
    struct tld_alerts_out_resume resume;
    struct worker *workers;
    unsigned nworkers;
    char needle[600]; /* "manager":{"name":<name>},"id":" */
    size_t needle_len;
    pthread_t dispatcher, output;
    bool started;

    pthread_mutex_t mu;      /* ring, counters, stop */
    pthread_cond_t ring_cv;  /* a result is ready, or stop */
    pthread_cond_t space_cv; /* the output consumed results */
    struct result ring[TLD_PIPELINE_RING];
    uint64_t next_g; /* next g the dispatcher assigns */
    uint64_t out_g;  /* next g the output consumes */
    bool stop;
    unsigned workers_running;
    uint64_t next_index;
    struct tld_pipeline_stats st;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void deadline_ms(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_nsec += (long)ms * 1000000L;
    while (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static bool stopping(struct tld_pipeline *p)
{
    pthread_mutex_lock(&p->mu);
    bool s = p->stop;
    pthread_mutex_unlock(&p->mu);
    return s;
}

/* ---- dispatcher ------------------------------------------------------------------------------ */

static int enqueue(struct tld_pipeline *p, struct worker *w, struct item *it)
{
    size_t sz = it->ip_len + it->rec_len;
    pthread_mutex_lock(&w->q.mu);
    bool waited = false;
    /* An oversized event still passes when the queue is empty. */
    while ((w->q.n >= p->o.worker_queue || (w->q.n && w->q.bytes + sz > QUEUE_BYTES)) &&
           !stopping(p)) {
        if (!waited) {
            waited = true;
            pthread_mutex_lock(&p->mu);
            p->st.waits_full++;
            pthread_mutex_unlock(&p->mu);
        }
        struct timespec ts;
        deadline_ms(&ts, 200);
        pthread_cond_timedwait(&w->q.room, &w->q.mu, &ts);
    }
    if (stopping(p)) {
        pthread_mutex_unlock(&w->q.mu);
        return TLD_ECLOSED;
    }
    it->next = NULL;
    if (w->q.tail)
        w->q.tail->next = it;
    else
        w->q.head = it;
    w->q.tail = it;
    w->q.n++;
    w->q.bytes += sz;
    pthread_cond_signal(&w->q.cv);
    pthread_mutex_unlock(&w->q.mu);
    return 0;
}

static void *dispatcher_main(void *arg)
{
    struct tld_pipeline *p = arg;
    uint64_t from = p->next_index;
    while (!stopping(p)) {
        struct tld_journal_rec r;
        int rc = tld_journal_next(p->o.journal, from, &r, 200);
        if (rc == TLD_ETIMEOUT)
            continue;
        if (rc) {
            if (rc != TLD_ECLOSED)
                tld_log_error(p->o.log,
                              "analysis: cannot read the intake journal at %" PRIu64 ": %s", from,
                              tld_err_str(rc));
            break;
        }
        /* Room in the ring first: results for at most RING events are outstanding. */
        pthread_mutex_lock(&p->mu);
        while (p->next_g - p->out_g >= TLD_PIPELINE_RING && !p->stop) {
            struct timespec ts;
            deadline_ms(&ts, 200);
            pthread_cond_timedwait(&p->space_cv, &p->mu, &ts);
        }
        bool stop = p->stop;
        uint64_t g = p->next_g;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        struct item *it = malloc(sizeof *it + r.ip.n + r.record.n);
        if (!it) {
            tld_log_error(p->o.log, "analysis: out of memory; retrying");
            struct timespec d = {0, 100000000};
            nanosleep(&d, NULL);
            continue;
        }
        it->g = g;
        it->index = r.index;
        it->agent = r.agent;
        it->recv_ns = r.recv_ns;
        it->ip_len = r.ip.n;
        it->rec_len = r.record.n;
        memcpy(it->data, r.ip.p, r.ip.n);
        memcpy(it->data + r.ip.n, r.record.p, r.record.n);
        struct worker *w = &p->workers[r.agent % p->nworkers];
        if (enqueue(p, w, it) != 0) {
            free(it);
            break;
        }
        pthread_mutex_lock(&p->mu);
        p->next_g++;
        p->st.dispatched++;
        p->next_index = r.index + 1;
        pthread_mutex_unlock(&p->mu);
        from = r.index + 1;
    }
    return NULL;
}

/* ---- workers --------------------------------------------------------------------------------- */

static struct tld_sv agent_name(struct worker *w, unsigned agent)
{
    struct name_slot *s = &w->names[agent % NAME_CACHE];
    if (s->id != agent || !s->name[0]) {
        struct tld_agent_info info;
        s->id = agent;
        if (tld_agents_get(w->p->o.agents, agent, &info) == 0)
            snprintf(s->name, sizeof s->name, "%s", info.name);
        else
            snprintf(s->name, sizeof s->name, "unknown");
    }
    return tld_sv_of(s->name);
}

/* Copy the formatted text and find where the placeholder id sits. */
static char *take_text(struct worker *w, size_t *len, size_t *id_off)
{
    const struct tld_pipeline *p = w->p;
    const char *at = memmem(w->buf.p, w->buf.n, p->needle, p->needle_len);
    if (!at || (size_t)(at - w->buf.p) + p->needle_len + 3 > w->buf.n ||
        memcmp(at + p->needle_len, PLACEHOLDER_ID, 3) != 0)
        return NULL;
    char *t = malloc(w->buf.n);
    if (!t)
        return NULL;
    memcpy(t, w->buf.p, w->buf.n);
    *len = w->buf.n;
    *id_off = (size_t)(at - w->buf.p) + p->needle_len;
    return t;
}

static void analyse(struct worker *w, const struct item *it, struct result *res)
{
    struct tld_pipeline *p = w->p;
    struct tld_evrec ev;
    if (tld_evrec_decode(it->data + it->ip_len, it->rec_len, &ev, &w->labels) != 0) {
        res->malformed = true;
        return;
    }
    char idt[TLD_PROTO_MAX_ID];
    struct tld_engine_input in = {
        .queue = ev.queue,
        .location = ev.location,
        .text = ev.text,
        .time_ns = it->recv_ns,
    };
    if (it->agent) {
        tld_agents_id_text(it->agent, idt);
        in.agent_id = tld_sv_of(idt);
        in.agent_name = agent_name(w, it->agent);
        if (it->ip_len)
            in.agent_ip = tld_sv_make(it->data, it->ip_len);
    }
    struct tld_container_meta cm;
    if (ev.flags & TLD_EVREC_CONTAINER) {
        unsigned n = ev.container.nlabels;
        for (unsigned i = 0; i < n; i++)
            w->elabels[i] =
                (struct tld_label){ev.container.labels[i].key, ev.container.labels[i].value};
        cm = (struct tld_container_meta){ev.container.id, ev.container.name, ev.container.image,
                                         w->elabels, n};
        if (!cm.name.n)
            cm.name.p = NULL;
        if (!cm.image.n)
            cm.image.p = NULL;
        in.container = &cm;
    }
    tld_worker_process(w->w, &in);
    const struct tld_rule_hit *hit = tld_worker_hit(w->w);
    if (hit->write_alert) {
        tld_sb_reset(&w->buf);
        if (tld_worker_format_alert(w->w, TLD_SV_LIT(PLACEHOLDER_ID), false, &w->buf))
            res->alert = take_text(w, &res->alert_len, &res->alert_id_off);
        if (!res->alert)
            tld_log_error(p->o.log, "analysis: cannot format the alert of journal record %" PRIu64,
                          it->index);
    }
    if (p->o.archives) {
        tld_sb_reset(&w->buf);
        tld_worker_format_archive(w->w, TLD_SV_LIT(PLACEHOLDER_ID), &w->buf);
        res->archive = take_text(w, &res->archive_len, &res->archive_id_off);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct tld_pipeline *p = w->p;
    for (;;) {
        pthread_mutex_lock(&w->q.mu);
        while (!w->q.head && !stopping(p)) {
            struct timespec ts;
            deadline_ms(&ts, 200);
            pthread_cond_timedwait(&w->q.cv, &w->q.mu, &ts);
        }
        if (stopping(p)) {
            pthread_mutex_unlock(&w->q.mu);
            break;
        }
        struct item *it = w->q.head;
        w->q.head = it->next;
        if (!w->q.head)
            w->q.tail = NULL;
        w->q.n--;
        w->q.bytes -= it->ip_len + it->rec_len;
        pthread_cond_signal(&w->q.room);
        pthread_mutex_unlock(&w->q.mu);

        struct result res = {
            .index = it->index, .agent = it->agent, .time_s = it->recv_ns / 1000000000};
        analyse(w, it, &res);
        res.ready = true;
        pthread_mutex_lock(&p->mu);
        p->ring[it->g % TLD_PIPELINE_RING] = res;
        p->st.processed++;
        pthread_cond_broadcast(&p->ring_cv);
        pthread_mutex_unlock(&p->mu);
        free(it);
    }
    pthread_mutex_lock(&p->mu);
    p->workers_running--;
    pthread_cond_broadcast(&p->ring_cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* ---- output ---------------------------------------------------------------------------------- */

static void report_malformed(struct tld_pipeline *p, const struct result *r)
{
    char id[TLD_PROTO_MAX_ID];
    tld_agents_id_text(r->agent, id);
    tld_log_warn(p->o.log,
                 "analysis: journal record %" PRIu64 " from agent %s is not a valid "
                 "event record; not analysed",
                 r->index, id);
    struct tld_own_agent ag = {id, NULL, NULL};
    struct tld_own_field f[] = {{"journal_index", NULL, (int64_t)r->index, 1}};
    tld_own_emit(&p->o.own, "event_undecodable", &ag, f, 1);
}

static int write_result(struct tld_pipeline *p, struct result *r)
{
    int rc = 0;
    if (r->malformed)
        report_malformed(p, r);
    /* A full batch ends before this event, so its archive line and alert go together. */
    if (r->alert && tld_alerts_out_pending(p->out) >= TLD_ALERTS_OUT_BATCH) {
        if ((rc = tld_alerts_out_commit(p->out, r->index)) != 0)
            return rc;
    }
    if (r->archive) {
        struct tld_sv before = {r->archive, r->archive_id_off};
        struct tld_sv after = {r->archive + r->archive_id_off + 3,
                               r->archive_len - r->archive_id_off - 3};
        rc = tld_alerts_out_add_archive(p->out, r->time_s, before, after);
    }
    if (rc == 0 && r->alert) {
        struct tld_sv before = {r->alert, r->alert_id_off};
        struct tld_sv after = {r->alert + r->alert_id_off + 3, r->alert_len - r->alert_id_off - 3};
        rc = tld_alerts_out_add_alert(p->out, r->index, r->time_s, before, after);
    }
    return rc;
}

/* Commit, make the outputs durable, release the journal behind them, rotate if due. */
static int checkpoint(struct tld_pipeline *p, uint64_t batch_next, bool *dirty)
{
    int rc = 0;
    if (*dirty) {
        rc = tld_alerts_out_commit(p->out, batch_next);
        *dirty = false;
    }
    uint64_t durable;
    if (rc == 0 && (rc = tld_alerts_out_sync(p->out, &durable)) == 0) {
        tld_journal_release(p->o.journal, durable);
        rc = tld_alerts_out_maybe_rotate(p->out);
        struct tld_alerts_out_stats as;
        tld_alerts_out_stats(p->out, &as);
        pthread_mutex_lock(&p->mu);
        p->st.durable_index = durable;
        p->st.rotations = as.rotations;
        p->st.alerts_bytes = as.alerts_bytes;
        pthread_mutex_unlock(&p->mu);
    }
    return rc;
}

static void *output_main(void *arg)
{
    struct tld_pipeline *p = arg;
    uint64_t batch_next = p->next_index; /* journal index after the last event taken */
    tld_alerts_out_begin(p->out, batch_next);
    int64_t last_sync = mono_ns();
    bool dirty = false;
    int failed = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        struct result *slot = &p->ring[p->out_g % TLD_PIPELINE_RING];
        struct result r = {0};
        bool have = slot->ready;
        bool done = !have && p->stop && p->workers_running == 0;
        if (have) {
            r = *slot;
            *slot = (struct result){0};
            p->out_g++;
            pthread_cond_broadcast(&p->space_cv);
        }
        pthread_mutex_unlock(&p->mu);
        if (done)
            break;
        if (have && !failed) {
            failed = write_result(p, &r);
            batch_next = r.index + 1;
            dirty = true;
            if (!failed && tld_alerts_out_pending(p->out) >= TLD_ALERTS_OUT_BATCH / 2) {
                failed = tld_alerts_out_commit(p->out, batch_next);
                dirty = false;
            }
        } else if (!have && dirty && !failed) {
            /* Nothing else ready: write what we have before waiting. */
            failed = tld_alerts_out_commit(p->out, batch_next);
            dirty = false;
        }
        if (!failed && mono_ns() - last_sync >= SYNC_EVERY_NS) {
            failed = checkpoint(p, batch_next, &dirty);
            last_sync = mono_ns();
        }
        if (failed == TLD_EIO || failed == TLD_ENOMEM) {
            tld_log_error(p->o.log,
                          "analysis: cannot write alerts (%s); analysis stops, events "
                          "stay in the intake journal",
                          tld_err_str(failed));
            failed = -1000; /* logged once */
        }
        if (have) {
            pthread_mutex_lock(&p->mu);
            p->st.alerts += r.alert ? 1 : 0;
            p->st.archives += r.archive ? 1 : 0;
            p->st.malformed += r.malformed ? 1 : 0;
            pthread_mutex_unlock(&p->mu);
            free(r.alert);
            free(r.archive);
        } else {
            pthread_mutex_lock(&p->mu);
            if (!p->ring[p->out_g % TLD_PIPELINE_RING].ready &&
                !(p->stop && p->workers_running == 0)) {
                struct timespec ts;
                deadline_ms(&ts, 100);
                pthread_cond_timedwait(&p->ring_cv, &p->mu, &ts);
            }
            pthread_mutex_unlock(&p->mu);
        }
    }
    if (!failed)
        checkpoint(p, batch_next, &dirty);
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

int tld_pipeline_new(const struct tld_pipeline_opts *o, struct tld_pipeline **out)
{
    *out = NULL;
    if (o->workers < 1 || o->workers > TLD_PIPELINE_MAX_WORKERS || o->worker_queue < 1)
        return TLD_EINVAL;
    struct tld_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return TLD_ENOMEM;
    p->o = *o;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->ring_cv, NULL);
    pthread_cond_init(&p->space_cv, NULL);
    p->rs = tld_ruleset_ref(o->ruleset);
    struct tld_sb nb;
    tld_sb_init(&nb, sizeof p->needle - 1);
    tld_sb_append_cstr(&nb, "\"manager\":{\"name\":");
    tld_alert_json_string(&nb, tld_sv_of(o->manager_name));
    tld_sb_append_cstr(&nb, "},\"id\":\"");
    p->needle_len = nb.n;
    memcpy(p->needle, tld_sb_cstr(&nb), nb.n);
    bool too_long = nb.truncated;
    tld_sb_fini(&nb);
    int rc = too_long ? TLD_EINVAL : tld_engine_state_new(p->rs, &p->state);
    if (rc == 0) {
        struct tld_alerts_out_opts ao = {o->logs_dir, o->state_file, o->archives, o->log, o->clock};
        rc = tld_alerts_out_open(&ao, &p->out, &p->resume);
    }
    if (rc == 0) {
        p->workers = calloc(o->workers, sizeof *p->workers);
        rc = p->workers ? 0 : TLD_ENOMEM;
    }
    for (unsigned i = 0; rc == 0 && i < o->workers; i++) {
        struct worker *w = &p->workers[i];
        w->p = p;
        w->no = i;
        pthread_mutex_init(&w->q.mu, NULL);
        pthread_cond_init(&w->q.cv, NULL);
        pthread_cond_init(&w->q.room, NULL);
        tld_sb_init(&w->buf, 16u << 20);
        struct tld_worker_config wc = {tld_sv_of(o->manager_name), 0};
        rc = tld_worker_new(p->rs, p->state, &wc, &w->w);
        p->nworkers = i + 1;
    }
    if (rc) {
        tld_pipeline_free(p);
        return rc;
    }
    /* Resume where the outputs end; with no checkpoint yet, at the journal's oldest record. */
    struct tld_journal_stats js;
    tld_journal_stats(o->journal, &js);
    p->next_index = p->resume.next_index ? p->resume.next_index : js.first_index;
    if (p->next_index < js.first_index)
        p->next_index = js.first_index;
    p->st.durable_index = p->next_index;
    if (p->resume.cut_bytes)
        tld_log_warn(o->log,
                     "outputs recovered after a crash: %" PRIu64 " bytes of unfinished "
                     "lines removed; analysis resumes at journal record %" PRIu64,
                     p->resume.cut_bytes, p->next_index);
    *out = p;
    return 0;
}

int tld_pipeline_start(struct tld_pipeline *p)
{
    p->workers_running = p->nworkers;
    for (unsigned i = 0; i < p->nworkers; i++)
        if (pthread_create(&p->workers[i].t, NULL, worker_main, &p->workers[i]) != 0)
            return TLD_ENOMEM;
    if (pthread_create(&p->output, NULL, output_main, p) != 0 ||
        pthread_create(&p->dispatcher, NULL, dispatcher_main, p) != 0)
        return TLD_ENOMEM;
    p->started = true;
    return 0;
}

void tld_pipeline_stop(struct tld_pipeline *p)
{
    if (!p || !p->started)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->ring_cv);
    pthread_cond_broadcast(&p->space_cv);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->nworkers; i++) {
        pthread_mutex_lock(&p->workers[i].q.mu);
        pthread_cond_broadcast(&p->workers[i].q.cv);
        pthread_cond_broadcast(&p->workers[i].q.room);
        pthread_mutex_unlock(&p->workers[i].q.mu);
    }
    pthread_join(p->dispatcher, NULL);
    for (unsigned i = 0; i < p->nworkers; i++)
        pthread_join(p->workers[i].t, NULL);
    pthread_join(p->output, NULL);
    p->started = false;
}

void tld_pipeline_free(struct tld_pipeline *p)
{
    if (!p)
        return;
    tld_pipeline_stop(p);
    for (unsigned i = 0; i < p->nworkers; i++) {
        struct worker *w = &p->workers[i];
        for (struct item *it = w->q.head, *nx; it; it = nx) {
            nx = it->next;
            free(it);
        }
        tld_worker_free(w->w);
        tld_sb_fini(&w->buf);
        pthread_mutex_destroy(&w->q.mu);
        pthread_cond_destroy(&w->q.cv);
        pthread_cond_destroy(&w->q.room);
    }
    for (unsigned i = 0; i < TLD_PIPELINE_RING; i++) {
        free(p->ring[i].alert);
        free(p->ring[i].archive);
    }
    free(p->workers);
    tld_alerts_out_close(p->out);
    tld_engine_state_free(p->state);
    if (p->rs)
        tld_ruleset_unref(p->rs);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->ring_cv);
    pthread_cond_destroy(&p->space_cv);
    free(p);
}

void tld_pipeline_stats(struct tld_pipeline *p, struct tld_pipeline_stats *st)
{
    pthread_mutex_lock(&p->mu);
    *st = p->st;
    st->next_index = p->next_index;
    st->inflight = p->next_g - p->out_g;
    pthread_mutex_unlock(&p->mu);
    uint64_t q = 0;
    for (unsigned i = 0; i < p->nworkers; i++) {
        pthread_mutex_lock(&p->workers[i].q.mu);
        q += p->workers[i].q.n;
        pthread_mutex_unlock(&p->workers[i].q.mu);
    }
    st->queued = q;
}
