/*
 * Analysis pipeline (see pipeline.h). Every event dispatched gets a dense sequence number g;
 * its result lands in ring[g % RING] and the output thread consumes g in order.
 *
 * Memory is reused rather than allocated per event: the dispatcher copies the events of one
 * pass into a chunk (one allocation for up to DISPATCH_BATCH events, freed when the last of its
 * events is analysed), and each ring slot keeps its text buffer from one use to the next.
 * A slot is written only by the worker that owns event g, and only after the output has
 * finished with event g - RING: the dispatcher never gets RING events ahead of `free_g`, which
 * the output advances once it has written a batch. Threads wake each other only when the other
 * side is known to sleep.
 */
#include "manager/pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/deadline.h"
#include "common/err.h"
#include "common/evrec.h"
#include "engine/alert.h"
#include "engine/engine.h"
#include "manager/alerts_out.h"
#include "manager/own_events.h"

#define QUEUE_BYTES    (64u << 20)
#define SYNC_EVERY_NS  250000000LL
#define NAME_CACHE     1024
#define PLACEHOLDER_ID "0.0"
#define DISPATCH_BATCH 256
#define CHUNK_BYTES    (256u << 10)
#define POP_BATCH      256
#define RING_RESUME    (TLD_PIPELINE_RING / 4) /* see dispatcher_main */
#define TAKE_BATCH     256
#define SLOT_KEEP      8192 /* a slot's buffer is kept up to this size */

#define CHUNK_POOL 8 /* standard chunks kept for reuse instead of freed */

/* Events of one dispatcher pass, in one allocation. */
struct chunk {
    struct chunk *next_free; /* in the pool */
    atomic_uint refs;        /* items not yet analysed */
    size_t used, cap;
    char data[];
};

struct item {
    struct item *next;
    struct chunk *chunk; /* holds this item (and its bytes) */
    uint64_t g;
    uint64_t gen; /* the ruleset generation that analyses it */
    uint64_t index;
    unsigned agent;
    uint64_t stream, seq; /* the event's identity in its agent's stream (seq 0: none) */
    int64_t recv_ns;
    size_t ip_len, rec_len;
    char *data; /* ip, then record */
};

struct result {
    bool ready;
    bool malformed;
    bool has_alert, has_archive;
    uint64_t index;
    unsigned agent;
    int64_t time_s;
    size_t alert_len, alert_id_off;     /* alert at text[0..alert_len) */
    size_t archive_len, archive_id_off; /* archive line right after it */
    struct tld_sb text;                 /* kept from one use of the slot to the next */
};

struct wq {
    pthread_mutex_t mu;
    pthread_cond_t cv;   /* items or stop */
    pthread_cond_t room; /* space */
    struct item *head, *tail;
    unsigned n;
    size_t bytes;
    bool consumer_waiting, producer_waiting;
};

struct name_slot {
    unsigned id;
    char id_text[TLD_PROTO_MAX_ID]; /* "001" */
    char name[TLD_PROTO_MAX_NAME + 1];
};

/*
 * One ruleset snapshot with its engine state and one engine worker per analysis thread. A
 * generation is left by each analysis thread once (when it first meets an event of a newer
 * one, or finds itself idle behind the dispatcher); the last to leave frees it.
 */
struct gen {
    uint64_t no;
    struct tld_ruleset *rs; /* a reference */
    struct tld_engine_state *state;
    struct tld_worker **w; /* [nworkers]; w[i] owned by analysis thread i until it leaves */
    unsigned users;        /* threads not yet gone past this generation; under p->mu */
    struct gen *next;      /* the newer one; set under p->mu when the dispatcher adopts it */
};

struct worker {
    struct tld_pipeline *p;
    unsigned no;
    pthread_t t;
    struct wq q;
    struct gen *gen;      /* the generation this thread analyses with */
    struct tld_worker *w; /* gen->w[no] */
    struct tld_evrec_labels labels;
    struct tld_label elabels[TLD_EVREC_MAX_LABELS];
    struct name_slot names[NAME_CACHE];
};

struct tld_pipeline {
    struct tld_pipeline_opts o;
    struct gen *latest;  /* the generation the dispatcher stamps events with; under mu */
    struct gen *pending; /* built by a reload, not yet adopted; under mu */
    atomic_bool has_pending;
    atomic_uint_fast64_t disp_gen; /* latest->no, readable without the lock */
    uint64_t adopted_index;        /* first journal index of the latest generation */
    pthread_cond_t adopt_cv;       /* the dispatcher adopted the pending generation */
    struct tld_alerts_out *out;
    struct tld_alerts_out_resume resume;
    struct worker *workers;
    unsigned nworkers;
    char needle[600]; /* "manager":{"name":<name>},"id":" */
    size_t needle_len;
    pthread_t dispatcher, output;
    bool started;

    pthread_mutex_t mu;      /* ring flags, positions, counters */
    pthread_cond_t ring_cv;  /* a result is ready, or stop */
    pthread_cond_t space_cv; /* the output freed slots */
    struct result *ring;     /* TLD_PIPELINE_RING slots */
    uint64_t next_g;         /* next g the dispatcher assigns (statistics) */
    uint64_t out_g;          /* next g the output takes */
    uint64_t free_g;         /* slots below this g are free for reuse */
    bool out_waiting;        /* the output sleeps on ring_cv */
    bool disp_waiting;       /* the dispatcher sleeps on space_cv ... */
    uint64_t disp_resume_g;  /* ... until free_g reaches this */
    atomic_bool stop;
    unsigned workers_running;
    /* Chunks go from the dispatcher to the workers that free them: reusing a few avoids
     * malloc/free across threads (heap growth and trimming) on every pass. */
    pthread_mutex_t pool_mu;
    struct chunk *pool;
    unsigned npool;
    uint64_t next_index;
    struct tld_own_stall out_stall; /* used by the output thread only */
    struct tld_pipeline_stats st;
};

static bool stopping(struct tld_pipeline *p)
{
    return atomic_load(&p->stop);
}

static void item_done(struct tld_pipeline *p, struct item *it)
{
    struct chunk *c = it->chunk;
    if (atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    if (c->cap == CHUNK_BYTES) {
        pthread_mutex_lock(&p->pool_mu);
        if (p->npool < CHUNK_POOL) {
            c->next_free = p->pool;
            p->pool = c;
            p->npool++;
            c = NULL;
        }
        pthread_mutex_unlock(&p->pool_mu);
    }
    free(c);
}

/* ---- ruleset generations --------------------------------------------------------------------- */

static void gen_free(struct tld_pipeline *p, struct gen *g)
{
    if (!g)
        return;
    for (unsigned i = 0; g->w && i < p->nworkers; i++)
        tld_worker_free(g->w[i]);
    free(g->w);
    tld_engine_state_free(g->state);
    if (g->rs)
        tld_ruleset_unref(g->rs);
    free(g);
}

/* A generation for rs with a fresh engine state and one engine worker per analysis thread. */
static int gen_new(struct tld_pipeline *p, struct tld_ruleset *rs, struct gen **out)
{
    struct gen *g = calloc(1, sizeof *g);
    if (!g)
        return TLD_ENOMEM;
    g->rs = tld_ruleset_ref(rs);
    g->users = p->nworkers;
    g->w = calloc(p->nworkers, sizeof *g->w);
    int rc = g->w ? tld_engine_state_new(rs, &g->state) : TLD_ENOMEM;
    struct tld_worker_config wc = {tld_sv_of(p->o.manager_name), 0};
    for (unsigned i = 0; rc == 0 && i < p->nworkers; i++)
        rc = tld_worker_new(rs, g->state, &wc, &g->w[i]);
    if (rc) {
        gen_free(p, g);
        return rc;
    }
    *out = g;
    return 0;
}

/* Analysis thread w goes on to the next generation (NULL when it is the last: the pipeline is
 * being freed); the last thread to leave one frees it. */
static void gen_leave(struct tld_pipeline *p, struct worker *w)
{
    struct gen *old = w->gen;
    tld_worker_free(old->w[w->no]);
    old->w[w->no] = NULL;
    pthread_mutex_lock(&p->mu);
    struct gen *next = old->next;
    bool last = --old->users == 0;
    pthread_mutex_unlock(&p->mu);
    if (last)
        gen_free(p, old);
    w->gen = next;
    w->w = next ? next->w[w->no] : NULL;
}

/* Catch up with generation `no` (events stamped with it, or the dispatcher's when idle). */
static void gen_follow(struct tld_pipeline *p, struct worker *w, uint64_t no)
{
    while (w->gen->no < no)
        gen_leave(p, w);
}

/* The dispatcher, between two passes: events read from now on are analysed with the pending
 * generation. Everything stamped with an older one has been queued already. */
static uint64_t gen_adopt(struct tld_pipeline *p, uint64_t from)
{
    pthread_mutex_lock(&p->mu);
    if (p->pending) {
        p->latest->next = p->pending;
        p->latest = p->pending;
        p->pending = NULL;
        p->adopted_index = from;
        atomic_store(&p->disp_gen, p->latest->no);
        atomic_store(&p->has_pending, false);
        pthread_cond_broadcast(&p->adopt_cv);
    }
    uint64_t no = p->latest->no;
    pthread_mutex_unlock(&p->mu);
    return no;
}

int tld_pipeline_set_ruleset(struct tld_pipeline *p, struct tld_ruleset *rs, int wait_ms,
                             bool *taken, uint64_t *from_index)
{
    *taken = false;
    *from_index = 0;
    struct gen *g;
    int rc = gen_new(p, rs, &g);
    if (rc)
        return rc;
    int64_t until = tld_deadline_in(wait_ms);
    pthread_mutex_lock(&p->mu);
    struct gen *replaced = p->pending; /* never used by anyone */
    g->no = p->latest->no + 1;
    p->pending = g;
    atomic_store(&p->has_pending, true);
    if (!p->started)
        p->adopted_index = p->next_index;
    while (p->started && p->pending == g && !stopping(p) && tld_deadline_left_ms(until) > 0)
        tld_cond_wait_until(&p->adopt_cv, &p->mu, until);
    if (!p->started) {
        /* Nothing dispatched yet: the first event is the new generation's. */
        p->latest->next = g;
        p->latest = g;
        p->pending = NULL;
        atomic_store(&p->disp_gen, g->no);
        atomic_store(&p->has_pending, false);
    }
    *taken = p->latest->no >= g->no;
    *from_index = *taken ? p->adopted_index : 0;
    pthread_mutex_unlock(&p->mu);
    gen_free(p, replaced);
    return 0;
}

/* ---- stalls ---------------------------------------------------------------------------------- */

/* A stage failed with a transient error: report it once, count it, and wait before retrying. */
static void stall_note(struct tld_pipeline *p, struct tld_own_stall *s, int err)
{
    bool first = !s->on;
    tld_own_stall_fail(&p->o.own, p->o.log, s, err);
    pthread_mutex_lock(&p->mu);
    if (s == &p->out_stall) {
        p->st.output_stalls += first;
        p->st.output_stalled = true;
    } else {
        p->st.dispatch_stalls += first;
        p->st.dispatch_stalled = true;
    }
    pthread_mutex_unlock(&p->mu);
    tld_backoff_sleep(&s->backoff_ms);
}

static void stall_clear(struct tld_pipeline *p, struct tld_own_stall *s)
{
    if (!s->on) {
        s->backoff_ms = 0;
        return;
    }
    tld_own_stall_ok(&p->o.own, p->o.log, s);
    pthread_mutex_lock(&p->mu);
    if (s == &p->out_stall)
        p->st.output_stalled = s->on;
    else
        p->st.dispatch_stalled = s->on;
    pthread_mutex_unlock(&p->mu);
}

/* ---- dispatcher ------------------------------------------------------------------------------ */

/* Append a chain of items to a worker's queue, waiting for room; one lock and at most one
 * wake-up for the whole chain. */
static int enqueue(struct tld_pipeline *p, struct worker *w, struct item *head, struct item *tail,
                   unsigned n, size_t sz, bool *waited)
{
    pthread_mutex_lock(&w->q.mu);
    /* An oversized chain still passes when the queue is empty. */
    while (w->q.n && (w->q.n + n > p->o.worker_queue || w->q.bytes + sz > QUEUE_BYTES) &&
           !stopping(p)) {
        *waited = true;
        int64_t until = tld_deadline_in(200);
        w->q.producer_waiting = true;
        tld_cond_wait_until(&w->q.room, &w->q.mu, until);
        w->q.producer_waiting = false;
    }
    if (stopping(p)) {
        pthread_mutex_unlock(&w->q.mu);
        return TLD_ECLOSED;
    }
    tail->next = NULL;
    if (w->q.tail)
        w->q.tail->next = head;
    else
        w->q.head = head;
    w->q.tail = tail;
    w->q.n += n;
    w->q.bytes += sz;
    if (w->q.consumer_waiting)
        pthread_cond_signal(&w->q.cv);
    pthread_mutex_unlock(&w->q.mu);
    return 0;
}

/* Publish the dispatcher's progress (batched: it is only read for statistics). */
static void publish(struct tld_pipeline *p, uint64_t *dispatched, uint64_t *waits, uint64_t next,
                    uint64_t g)
{
    pthread_mutex_lock(&p->mu);
    p->st.dispatched += *dispatched;
    p->st.waits_full += *waits;
    p->next_index = next;
    p->next_g = g;
    pthread_mutex_unlock(&p->mu);
    *dispatched = *waits = 0;
}

struct chain {
    struct item *head, *tail;
    unsigned n;
    size_t bytes;
};

static struct chunk *chunk_new(struct tld_pipeline *p, size_t need)
{
    size_t cap = need > CHUNK_BYTES ? need : CHUNK_BYTES;
    struct chunk *c = NULL;
    if (cap == CHUNK_BYTES) {
        pthread_mutex_lock(&p->pool_mu);
        if ((c = p->pool) != NULL) {
            p->pool = c->next_free;
            p->npool--;
        }
        pthread_mutex_unlock(&p->pool_mu);
    }
    if (!c)
        c = malloc(sizeof *c + cap);
    if (c) {
        atomic_init(&c->refs, 0);
        c->used = 0;
        c->cap = cap;
    }
    return c;
}

/* Room for an item and n bytes, aligned. */
static size_t item_size(size_t n)
{
    return (sizeof(struct item) + n + 15) & ~(size_t)15;
}

static void *dispatcher_main(void *arg)
{
    struct tld_pipeline *p = arg;
    uint64_t from = p->next_index;
    uint64_t g = p->next_g, free_seen = p->free_g; /* free_g as last read */
    uint64_t dispatched = 0, waits = 0;
    uint64_t gen_no = atomic_load(&p->disp_gen);
    struct tld_own_stall stall = {.stage = "dispatch"};
    struct chain *ch = NULL;
    while (!ch && !stopping(p) && !(ch = calloc(p->nworkers, sizeof *ch)))
        tld_backoff_sleep(&stall.backoff_ms);
    bool failed = !ch;
    while (!failed && !stopping(p)) {
        /* Up to DISPATCH_BATCH events that are there now (waiting only for the first), copied
         * into one chunk and grouped per worker, so each queue is locked once per group. */
        unsigned taken = 0;
        struct chunk *c = NULL;
        int rc = 0;
        if (atomic_load(&p->has_pending))
            gen_no = gen_adopt(p, from);
        while (taken < DISPATCH_BATCH) {
            if (g - free_seen >= TLD_PIPELINE_RING) {
                pthread_mutex_lock(&p->mu);
                free_seen = p->free_g;
                pthread_mutex_unlock(&p->mu);
                if (g - free_seen >= TLD_PIPELINE_RING) {
                    rc = TLD_EAGAIN; /* hand over what we have, then wait */
                    break;
                }
            }
            struct tld_journal_rec r;
            rc = tld_journal_next(p->o.journal, from, &r, taken ? 0 : 200);
            if (rc)
                break;
            size_t need = item_size(r.ip.n + r.record.n);
            if (!c || c->used + need > c->cap) {
                /* A pass may fill several chunks; each is freed by its own last item. The
                 * record was read already (its view dies with the next read), so a chunk that
                 * cannot be had means retrying the read later. */
                struct chunk *nc = chunk_new(p, need);
                if (!nc) {
                    rc = TLD_ENOMEM;
                    break;
                }
                c = nc;
            }
            struct item *it = (struct item *)(c->data + c->used);
            c->used += need;
            atomic_fetch_add(&c->refs, 1);
            it->chunk = c;
            it->data = (char *)(it + 1);
            it->g = g++;
            it->gen = gen_no;
            it->index = r.index;
            it->agent = r.agent;
            it->stream = r.stream;
            it->seq = r.seq;
            it->recv_ns = r.recv_ns;
            it->ip_len = r.ip.n;
            it->rec_len = r.record.n;
            memcpy(it->data, r.ip.p, r.ip.n);
            memcpy(it->data + r.ip.n, r.record.p, r.record.n);
            struct chain *k = &ch[r.agent % p->nworkers];
            it->next = NULL;
            if (k->tail)
                k->tail->next = it;
            else
                k->head = it;
            k->tail = it;
            k->n++;
            k->bytes += r.ip.n + r.record.n;
            taken++;
            from = r.index + 1;
        }
        for (unsigned i = 0; i < p->nworkers; i++) {
            struct chain *k = &ch[i];
            if (!k->n)
                continue;
            bool waited = false;
            if (!failed &&
                enqueue(p, &p->workers[i], k->head, k->tail, k->n, k->bytes, &waited) != 0)
                failed = true;
            if (failed) {
                for (struct item *it = k->head, *nx; it; it = nx) {
                    nx = it->next;
                    item_done(p, it);
                }
            }
            waits += waited;
            *k = (struct chain){0};
        }
        dispatched += taken;
        if (dispatched >= 256 || taken == 0)
            publish(p, &dispatched, &waits, from, g);
        if (rc == TLD_EAGAIN) {
            /* Resume once a quarter of the ring is free, not at every slot the output frees:
             * when analysis is the bottleneck, that is one wake-up per RING_RESUME events
             * instead of one per output batch. */
            pthread_mutex_lock(&p->mu);
            p->disp_resume_g = g - TLD_PIPELINE_RING + RING_RESUME;
            while (p->free_g < p->disp_resume_g && !stopping(p)) {
                int64_t until = tld_deadline_in(200);
                p->disp_waiting = true;
                tld_cond_wait_until(&p->space_cv, &p->mu, until);
                p->disp_waiting = false;
            }
            free_seen = p->free_g;
            pthread_mutex_unlock(&p->mu);
        } else if (rc == TLD_ECLOSED) {
            break;
        } else if (rc && rc != TLD_ETIMEOUT) {
            /* Out of descriptors or memory, a read error: the record is read again after a
             * back-off, however long it takes, so nothing is skipped. */
            if (!stall.on)
                tld_log_error(p->o.log,
                              "analysis: cannot read the intake journal at %" PRIu64 ": %s", from,
                              tld_err_str(rc));
            stall_note(p, &stall, rc);
        } else if (stall.on) {
            stall_clear(p, &stall);
        }
    }
    publish(p, &dispatched, &waits, from, g);
    free(ch);
    return NULL;
}

/* ---- workers --------------------------------------------------------------------------------- */

/* The agent's id text and name, cached per worker (formatting the id costs a printf). */
static const struct name_slot *agent_names(struct worker *w, unsigned agent)
{
    struct name_slot *s = &w->names[agent % NAME_CACHE];
    if (s->id != agent || !s->name[0]) {
        struct tld_agent_info info;
        s->id = agent;
        tld_agents_id_text(agent, s->id_text);
        if (tld_agents_get(w->p->o.agents, agent, &info) == 0)
            snprintf(s->name, sizeof s->name, "%s", info.name);
        else
            snprintf(s->name, sizeof s->name, "unknown");
    }
    return s;
}

/*
 * Where the placeholder id sits in the text just formatted. The needle holds real quotes, which
 * cannot occur inside a JSON string, and the alert's first `{` after "manager" is the one we
 * want; scanning for `{` (rare) is quicker than a general search for a needle that starts with
 * `"` (everywhere in JSON).
 */
static bool find_id(const struct tld_pipeline *p, struct tld_sv t, size_t *off)
{
    const char *s = t.p, *end = t.p + t.n;
    const size_t brace = sizeof "\"manager\":" - 1; /* offset of the needle's first { */
    for (const char *q = s + brace; q < end;) {
        q = memchr(q, '{', (size_t)(end - q));
        if (!q)
            return false;
        const char *start = q - brace;
        if ((size_t)(end - start) >= p->needle_len + 3 &&
            memcmp(start, p->needle, p->needle_len) == 0) {
            if (memcmp(start + p->needle_len, PLACEHOLDER_ID, 3) != 0)
                return false;
            *off = (size_t)(start - s) + p->needle_len;
            return true;
        }
        q++;
    }
    return false;
}

/* The source kind analysis may believe. Only the manager writes records of agent 0, so only they
 * may say "own"; an agent claiming it is read as a file line, the least trusted kind, so no
 * rule for the manager's own events can be reached from an agent. */
static enum tld_source trusted_source(unsigned agent, enum tld_source claimed)
{
    return agent && claimed == TLD_SOURCE_OWN ? TLD_SOURCE_FILE : claimed;
}

/*
 * The event's identity as the alert's last member: `"event":{"stream":"<16 hex>","seq":N}`
 * (with agent.id, the key the store deduplicates on, docs/scaling.md). Two managers that both
 * analyse an event resent around a failover, or one manager analysing it again from its journal,
 * write alerts with the same identity. Only events of an agent's numbered stream carry one; the
 * engine's own formatting (tld-logtest, golden snapshots) is untouched.
 */
static void add_identity(const struct tld_pipeline *p, const struct item *it, struct tld_sb *text)
{
    if (!p->o.event_identity || !it->agent || !it->seq || !text->n || text->p[text->n - 1] != '}')
        return;
    text->n--;
    tld_sb_printf(text, ",\"event\":{\"stream\":\"%016" PRIx64 "\",\"seq\":%" PRIu64 "}}",
                  it->stream, it->seq);
}

/* Analyse one event into its ring slot (text and metadata; not `ready`). */
static void analyse(struct worker *w, const struct item *it, struct result *res)
{
    struct tld_pipeline *p = w->p;
    tld_sb_reset(&res->text);
    struct tld_evrec ev;
    if (tld_evrec_decode(it->data + it->ip_len, it->rec_len, &ev, &w->labels) != 0) {
        res->malformed = true;
        return;
    }
    struct tld_engine_input in = {
        .queue = ev.queue,
        .source = trusted_source(it->agent, ev.source),
        .location = ev.location,
        .text = ev.text,
        .time_ns = it->recv_ns,
    };
    if (it->agent) {
        const struct name_slot *names = agent_names(w, it->agent);
        in.agent_id = tld_sv_of(names->id_text);
        in.agent_name = tld_sv_of(names->name);
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
        /* Formatted straight into the slot's buffer: no copy. */
        if (tld_worker_format_alert(w->w, TLD_SV_LIT(PLACEHOLDER_ID), false, &res->text) &&
            !res->text.oom && !res->text.truncated &&
            find_id(p, tld_sb_view(&res->text), &res->alert_id_off) &&
            (add_identity(p, it, &res->text), !res->text.oom && !res->text.truncated)) {
            res->alert_len = res->text.n;
            res->has_alert = true;
        } else {
            tld_sb_reset(&res->text);
            tld_log_error(p->o.log, "analysis: cannot format the alert of journal record %" PRIu64,
                          it->index);
        }
    }
    if (p->o.archives) {
        size_t at = res->text.n;
        tld_worker_format_archive(w->w, TLD_SV_LIT(PLACEHOLDER_ID), &res->text);
        struct tld_sv arch = {res->text.p + at, res->text.n - at};
        if (!res->text.oom && !res->text.truncated && find_id(p, arch, &res->archive_id_off)) {
            res->archive_len = arch.n;
            res->has_archive = true;
        } else {
            tld_log_error(p->o.log,
                          "analysis: cannot format the archive line of journal record %" PRIu64,
                          it->index);
        }
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct tld_pipeline *p = w->p;
    struct item *batch[POP_BATCH];
    for (;;) {
        /* Read before looking at the queue: once the dispatcher stamps a newer generation,
         * nothing of an older one is queued any more, so an empty queue means this thread is
         * done with its generation. */
        uint64_t disp_gen = atomic_load(&p->disp_gen);
        pthread_mutex_lock(&w->q.mu);
        if (!w->q.head && !stopping(p) && disp_gen == w->gen->no) {
            int64_t until = tld_deadline_in(200);
            w->q.consumer_waiting = true;
            tld_cond_wait_until(&w->q.cv, &w->q.mu, until);
            w->q.consumer_waiting = false;
        }
        if (stopping(p)) {
            pthread_mutex_unlock(&w->q.mu);
            break;
        }
        if (!w->q.head) {
            pthread_mutex_unlock(&w->q.mu);
            if (disp_gen > w->gen->no)
                gen_follow(p, w, disp_gen);
            continue;
        }
        unsigned n = 0;
        while (w->q.head && n < POP_BATCH) {
            struct item *it = w->q.head;
            w->q.head = it->next;
            w->q.n--;
            w->q.bytes -= it->ip_len + it->rec_len;
            batch[n++] = it;
        }
        if (!w->q.head)
            w->q.tail = NULL;
        if (w->q.producer_waiting)
            pthread_cond_signal(&w->q.room);
        pthread_mutex_unlock(&w->q.mu);

        /* Analyse the batch into its slots, then publish them under one lock. */
        unsigned done = 0;
        for (; done < n && !stopping(p); done++) {
            /* The dispatcher wrote the items on another core: fetch the next ones early. */
            if (done + 1 < n)
                __builtin_prefetch(batch[done + 1]->data);
            if (done + 2 < n)
                __builtin_prefetch(batch[done + 2]);
            if (batch[done]->gen != w->gen->no)
                gen_follow(p, w, batch[done]->gen);
            struct result *slot = &p->ring[batch[done]->g % TLD_PIPELINE_RING];
            slot->malformed = slot->has_alert = slot->has_archive = false;
            slot->alert_len = slot->archive_len = 0;
            slot->index = batch[done]->index;
            slot->agent = batch[done]->agent;
            slot->time_s = batch[done]->recv_ns / 1000000000;
            analyse(w, batch[done], slot);
        }
        pthread_mutex_lock(&p->mu);
        bool wake = false;
        for (unsigned i = 0; i < done; i++) {
            p->ring[batch[i]->g % TLD_PIPELINE_RING].ready = true;
            wake |= batch[i]->g == p->out_g;
        }
        p->st.processed += done;
        if (wake && p->out_waiting)
            pthread_cond_signal(&p->ring_cv);
        pthread_mutex_unlock(&p->mu);
        /* Events not analysed because of a stop are analysed again at the next start. */
        for (unsigned i = 0; i < n; i++)
            item_done(p, batch[i]);
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

/*
 * Commit the open batch, retrying a failed write (a full disk, EIO, no descriptor) with back-off
 * until it works: alerts_out cuts a failed write back to the last complete line and keeps the
 * batch, so the retry writes every alert exactly once. Only a stop gives up (the events stay in
 * the journal and are analysed again at the next start).
 */
static int commit_retry(struct tld_pipeline *p, uint64_t next)
{
    int rc;
    while ((rc = tld_alerts_out_commit(p->out, next)) != 0 && !stopping(p))
        stall_note(p, &p->out_stall, rc);
    if (rc == 0)
        stall_clear(p, &p->out_stall);
    return rc;
}

static int write_result(struct tld_pipeline *p, const struct result *r)
{
    int rc = 0;
    if (r->malformed)
        report_malformed(p, r);
    /* A full batch ends before this event, so its archive line and alert go together. */
    if (r->has_alert && tld_alerts_out_pending(p->out) >= TLD_ALERTS_OUT_BATCH) {
        if ((rc = commit_retry(p, r->index)) != 0)
            return rc;
    }
    const char *t = r->text.p;
    if (r->has_archive) {
        const char *a = t + r->alert_len;
        struct tld_sv before = {a, r->archive_id_off};
        struct tld_sv after = {a + r->archive_id_off + 3, r->archive_len - r->archive_id_off - 3};
        rc = tld_alerts_out_add_archive(p->out, r->time_s, before, after);
    }
    if (rc == 0 && r->has_alert) {
        struct tld_sv before = {t, r->alert_id_off};
        struct tld_sv after = {t + r->alert_id_off + 3, r->alert_len - r->alert_id_off - 3};
        rc = tld_alerts_out_add_alert(p->out, r->index, r->time_s, before, after);
    }
    return rc;
}

/* Commit, make the outputs durable, release the journal behind them, rotate if due. */
static int checkpoint(struct tld_pipeline *p, uint64_t batch_next, bool *dirty)
{
    int rc = 0;
    if (*dirty && (rc = tld_alerts_out_commit(p->out, batch_next)) == 0)
        *dirty = false;
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

/* checkpoint(), retried like commit_retry(). */
static int checkpoint_retry(struct tld_pipeline *p, uint64_t batch_next, bool *dirty)
{
    int rc;
    while ((rc = checkpoint(p, batch_next, dirty)) != 0 && !stopping(p))
        stall_note(p, &p->out_stall, rc);
    if (rc == 0)
        stall_clear(p, &p->out_stall);
    return rc;
}

static void *output_main(void *arg)
{
    struct tld_pipeline *p = arg;
    uint64_t batch_next = p->next_index; /* journal index after the last event taken */
    tld_alerts_out_begin(p->out, batch_next);
    int64_t last_sync = tld_mono_ns();
    bool dirty = false;
    int failed = 0; /* the first write error; nothing more is written after it */
    bool failure_logged = false;
    for (;;) {
        /* Take every consecutive ready slot (up to TAKE_BATCH); their buffers stay ours until
         * free_g moves past them below. */
        pthread_mutex_lock(&p->mu);
        uint64_t first = p->out_g;
        unsigned n = 0;
        while (n < TAKE_BATCH && p->ring[(first + n) % TLD_PIPELINE_RING].ready) {
            p->ring[(first + n) % TLD_PIPELINE_RING].ready = false;
            n++;
        }
        p->out_g = first + n;
        bool done = n == 0 && stopping(p) && p->workers_running == 0;
        pthread_mutex_unlock(&p->mu);
        if (done)
            break;
        uint64_t alerts = 0, archives = 0, malformed = 0;
        for (unsigned i = 0; i < n; i++) {
            struct result *r = &p->ring[(first + i) % TLD_PIPELINE_RING];
            if (!failed) {
                failed = write_result(p, r);
                batch_next = r->index + 1;
                dirty = true;
                if (!failed && tld_alerts_out_pending(p->out) >= TLD_ALERTS_OUT_BATCH / 2) {
                    failed = commit_retry(p, batch_next);
                    dirty = false;
                }
            }
            alerts += r->has_alert;
            archives += r->has_archive;
            malformed += r->malformed;
            if (r->text.cap > SLOT_KEEP)
                tld_sb_fini(&r->text); /* keep big buffers only as long as needed */
        }
        if (n) {
            pthread_mutex_lock(&p->mu);
            p->free_g = first + n;
            p->st.alerts += alerts;
            p->st.archives += archives;
            p->st.malformed += malformed;
            if (p->disp_waiting && p->free_g >= p->disp_resume_g)
                pthread_cond_signal(&p->space_cv);
            pthread_mutex_unlock(&p->mu);
        }
        if (n < TAKE_BATCH && dirty && !failed) {
            /* Nothing else ready: write what we have before waiting. */
            failed = commit_retry(p, batch_next);
            dirty = false;
        }
        if (!failed && tld_mono_ns() - last_sync >= SYNC_EVERY_NS) {
            failed = checkpoint_retry(p, batch_next, &dirty);
            last_sync = tld_mono_ns();
        }
        if (failed && !stopping(p) && !failure_logged) {
            tld_log_error(p->o.log,
                          "analysis: cannot write alerts (%s); analysis stops, events "
                          "stay in the intake journal",
                          tld_err_str(failed));
            failure_logged = true;
        }
        if (!n) {
            pthread_mutex_lock(&p->mu);
            if (!p->ring[p->out_g % TLD_PIPELINE_RING].ready &&
                !(stopping(p) && p->workers_running == 0)) {
                int64_t until = tld_deadline_in(100);
                p->out_waiting = true;
                tld_cond_wait_until(&p->ring_cv, &p->mu, until);
                p->out_waiting = false;
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
    pthread_mutex_init(&p->pool_mu, NULL);
    tld_cond_init(&p->ring_cv);
    tld_cond_init(&p->space_cv);
    tld_cond_init(&p->adopt_cv);
    atomic_init(&p->stop, false);
    atomic_init(&p->has_pending, false);
    atomic_init(&p->disp_gen, 0);
    p->out_stall.stage = "output";
    p->ring = calloc(TLD_PIPELINE_RING, sizeof *p->ring);
    for (unsigned i = 0; p->ring && i < TLD_PIPELINE_RING; i++)
        tld_sb_init(&p->ring[i].text, 64u << 20);
    struct tld_sb nb;
    tld_sb_init(&nb, sizeof p->needle - 1);
    tld_sb_append_cstr(&nb, "\"manager\":{\"name\":");
    tld_alert_json_string(&nb, tld_sv_of(o->manager_name));
    tld_sb_append_cstr(&nb, "},\"id\":\"");
    p->needle_len = nb.n;
    memcpy(p->needle, tld_sb_cstr(&nb), nb.n);
    bool too_long = nb.truncated;
    tld_sb_fini(&nb);
    int rc = !p->ring ? TLD_ENOMEM : too_long ? TLD_EINVAL : 0;
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
        tld_cond_init(&w->q.cv);
        tld_cond_init(&w->q.room);
        p->nworkers = i + 1;
    }
    if (rc == 0 && (rc = gen_new(p, o->ruleset, &p->latest)) == 0) {
        for (unsigned i = 0; i < p->nworkers; i++) {
            p->workers[i].gen = p->latest;
            p->workers[i].w = p->latest->w[i];
        }
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
    atomic_store(&p->stop, true);
    pthread_cond_broadcast(&p->ring_cv);
    pthread_cond_broadcast(&p->space_cv);
    pthread_cond_broadcast(&p->adopt_cv);
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
            item_done(p, it);
        }
        while (w->gen)
            gen_leave(p, w);
        pthread_mutex_destroy(&w->q.mu);
        pthread_cond_destroy(&w->q.cv);
        pthread_cond_destroy(&w->q.room);
    }
    for (unsigned i = 0; p->ring && i < TLD_PIPELINE_RING; i++)
        tld_sb_fini(&p->ring[i].text);
    free(p->ring);
    free(p->workers);
    tld_alerts_out_close(p->out);
    gen_free(p, p->pending);
    for (struct chunk *c = p->pool, *nx; c; c = nx) {
        nx = c->next_free;
        free(c);
    }
    pthread_mutex_destroy(&p->pool_mu);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->ring_cv);
    pthread_cond_destroy(&p->space_cv);
    pthread_cond_destroy(&p->adopt_cv);
    free(p);
}

void tld_pipeline_stats(struct tld_pipeline *p, struct tld_pipeline_stats *st)
{
    pthread_mutex_lock(&p->mu);
    *st = p->st;
    st->next_index = p->next_index;
    st->inflight = p->next_g - p->free_g;
    pthread_mutex_unlock(&p->mu);
    uint64_t q = 0;
    for (unsigned i = 0; i < p->nworkers; i++) {
        pthread_mutex_lock(&p->workers[i].q.mu);
        q += p->workers[i].q.n;
        pthread_mutex_unlock(&p->workers[i].q.mu);
    }
    st->queued = q;
}
