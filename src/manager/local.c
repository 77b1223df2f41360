/* Local collection as agent 000 (see local.h). */
#include "manager/local.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "collect/sources.h"
#include "collect/spool.h"
#include "collect/spool_id.h"
#include "common/clock.h"
#include "common/deadline.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/proto.h"

#define BATCH 1024

struct tld_local {
    struct tld_local_opts o;
    char spool_dir[4200], state_dir[4200];
    struct tld_spool *spool;
    struct tld_sources *sources;
    uint64_t stream;
    pthread_t t_consumer;
    bool have_consumer;
    pthread_mutex_t mu;
    bool stop;
    struct tld_local_stats st;
};

int tld_local_new(const struct tld_local_opts *o, struct tld_local **out)
{
    *out = NULL;
    struct tld_local *l = calloc(1, sizeof *l);
    if (!l)
        return TLD_ENOMEM;
    l->o = *o;
    pthread_mutex_init(&l->mu, NULL);
    snprintf(l->spool_dir, sizeof l->spool_dir, "%s/spool", o->queue_dir);
    snprintf(l->state_dir, sizeof l->state_dir, "%s/state", o->queue_dir);
    int rc = tld_mkdir_p(l->spool_dir, 0750);
    if (rc == 0)
        rc = tld_mkdir_p(l->state_dir, 0750);
    if (rc == 0) {
        struct tld_spool_opts so = {.dir = l->spool_dir, .max_bytes = o->cfg->spool_max_bytes};
        rc = tld_spool_open(&so, &l->spool);
    }
    if (rc == 0)
        rc = tld_spool_stream_id(l->spool_dir, false, &l->stream);
    if (rc == 0) {
        struct tld_sources_opts src = {o->cfg, l->spool, l->state_dir, o->log};
        rc = tld_sources_new(&src, &l->sources);
    }
    if (rc) {
        tld_local_free(l);
        return rc;
    }
    *out = l;
    return 0;
}

static bool stopping(struct tld_local *l)
{
    pthread_mutex_lock(&l->mu);
    bool s = l->stop;
    pthread_mutex_unlock(&l->mu);
    return s;
}

/* Records from the local spool into the journal, acknowledged once durable there. */
static void *consumer_main(void *arg)
{
    struct tld_local *l = arg;
    struct tld_journal_entry *e = calloc(BATCH, sizeof *e);
    char **bufs = calloc(BATCH, sizeof *bufs);
    struct tld_spool_reader *rd = NULL;
    if (!e || !bufs)
        goto out;
    /* Resume after what the journal already holds of this spool (a crash may have come
     * between journaling and acknowledging). */
    uint64_t have = tld_journal_watermark(l->o.journal, 0, l->stream);
    struct tld_spool_stats ss;
    tld_spool_stats(l->spool, &ss);
    if (have > ss.acked_seq)
        tld_spool_ack(l->spool, have);
    uint64_t from = (have > ss.acked_seq ? have : ss.acked_seq) + 1;
    int backoff = 0; /* transient errors (no descriptor, disk) are retried, never fatal */
    while (tld_spool_reader_open(l->spool, from, &rd) != 0) {
        if (!backoff)
            tld_log_error(l->o.log, "local collection: cannot read the local spool; retrying");
        if (stopping(l))
            goto out;
        tld_backoff_sleep(&backoff);
    }
    backoff = 0;
    for (;;) {
        unsigned n = 0;
        uint64_t seq;
        struct tld_sv payload;
        int rc;
        while (n < BATCH && (rc = tld_spool_reader_next(rd, &seq, &payload, n ? 0 : 200)) == 0) {
            /* The reader's view lives until its next call: keep a copy. */
            free(bufs[n]);
            bufs[n] = malloc(payload.n ? payload.n : 1);
            if (!bufs[n])
                break;
            memcpy(bufs[n], payload.p, payload.n);
            e[n] = (struct tld_journal_entry){
                0, l->stream, seq, tld_wall_ns(), TLD_SV_LIT(""), tld_sv_make(bufs[n], payload.n)};
            n++;
        }
        if (n) {
            uint64_t sync_to;
            unsigned dups;
            bool stalled = false;
        again:
            while ((rc = tld_journal_append(l->o.journal, e, n, 0, &sync_to, &dups)) ==
                   TLD_EAGAIN) {
                if (!stalled) {
                    stalled = true;
                    pthread_mutex_lock(&l->mu);
                    l->st.stalls++;
                    pthread_mutex_unlock(&l->mu);
                }
                /* Stopping with a full journal: the records stay in the local spool. */
                if (tld_journal_wait_room(l->o.journal, 1u << 20, 500) == TLD_ECLOSED ||
                    stopping(l))
                    goto out;
            }
            if (rc == 0)
                rc = tld_journal_sync(l->o.journal, sync_to);
            if (rc && rc != TLD_ECLOSED && !stopping(l)) {
                /* The same records again after a back-off: the journal drops what it already
                 * holds by sequence number, so nothing is doubled. */
                if (!backoff)
                    tld_log_error(l->o.log, "local collection: cannot journal events: %s; retrying",
                                  tld_err_str(rc));
                tld_backoff_sleep(&backoff);
                goto again;
            }
            if (rc)
                goto out;
            if (backoff)
                tld_log_info(l->o.log, "local collection: journaling again");
            backoff = 0;
            tld_spool_ack(l->spool, e[n - 1].seq);
            pthread_mutex_lock(&l->mu);
            l->st.journaled += n - dups;
            l->st.duplicates += dups;
            pthread_mutex_unlock(&l->mu);
            continue;
        }
        if (rc == TLD_ECLOSED)
            break;
        if (rc != TLD_ETIMEOUT) {
            if (stopping(l))
                break;
            if (!backoff)
                tld_log_error(l->o.log, "local collection: spool read failed: %s; retrying",
                              tld_err_str(rc));
            tld_backoff_sleep(&backoff);
        }
    }
out:
    if (e && bufs)
        for (unsigned i = 0; i < BATCH; i++)
            free(bufs[i]);
    free(bufs);
    free(e);
    tld_spool_reader_close(rd);
    return NULL;
}

int tld_local_start(struct tld_local *l)
{
    if (pthread_create(&l->t_consumer, NULL, consumer_main, l) != 0)
        return TLD_ENOMEM;
    l->have_consumer = true;
    return tld_sources_start(l->sources);
}

void tld_local_stop(struct tld_local *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_mutex_unlock(&l->mu);
    tld_sources_stop(l->sources);
    /* The consumer drains what is committed, then the shutdown ends its reader. */
    if (l->spool)
        tld_spool_shutdown(l->spool);
    if (l->have_consumer) {
        pthread_join(l->t_consumer, NULL);
        l->have_consumer = false;
    }
}

void tld_local_free(struct tld_local *l)
{
    if (!l)
        return;
    tld_local_stop(l);
    tld_sources_free(l->sources);
    tld_spool_close(l->spool);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

void tld_local_stats(struct tld_local *l, struct tld_local_stats *st)
{
    pthread_mutex_lock(&l->mu);
    *st = l->st;
    pthread_mutex_unlock(&l->mu);
    struct tld_listener *listener = tld_sources_listener(l->sources);
    struct tld_collector *collector = tld_sources_collector(l->sources);
    if (listener) {
        struct tld_listener_stats ls;
        tld_listener_stats(listener, &ls);
        st->docker_connected = ls.connected;
        st->docker_events = ls.events;
    }
    if (collector) {
        struct tld_collector_stats cs;
        tld_collector_stats(collector, &cs);
        st->lines = cs.lines;
    }
    struct tld_spool_stats ss;
    tld_spool_stats(l->spool, &ss);
    st->spool_pending = ss.committed_seq - ss.acked_seq;
}
