/*
 * Spool implementation (format and guarantees in spool.h).
 *
 * The segments, frames and their recovery are a frame log (common/framelog.h) with the spool's
 * settings; this file adds the write buffer, the bound, acknowledgements and holders. One
 * mutex guards the log's segment table and the write buffer. Writes happen under the mutex;
 * readers copy the committed limits under it and read their own file descriptors outside it.
 */
#include "collect/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/err.h"
#include "common/format.h"
#include "common/fsutil.h"

#include "collect/spool_int.h"

/* ---- helpers -------------------------------------------------------------------------------- */

/* ---- ack persistence ------------------------------------------------------------------------- */

/* A sequence number in a file of the spool's folder (`ack`, `head`), replaced atomically and
 * durable when this returns. */
static int write_seq_file(const char *dir, const char *name, uint64_t v)
{
    char path[4200], text[32];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", v);
    return tld_file_replace(path, text, (size_t)n, 0640);
}

/* Write the ack file. Called with ack_mu held and sp->mu not held, so producers never wait for
 * these fsyncs. */
static int persist_ack(struct tld_spool *sp, uint64_t acked)
{
    return write_seq_file(sp->dir, "ack", acked);
}

/* Persist the acknowledgement if due (or if segments wait to be deleted), then delete them. */
static int settle_acks(struct tld_spool *sp, bool force)
{
    pthread_mutex_lock(&sp->ack_mu);
    pthread_mutex_lock(&sp->mu);
    uint64_t acked = sp->acked;
    int64_t now = tld_clock_now(&sp->clock);
    bool due = sp->acked != sp->acked_persisted &&
               (force || sp->nunlinks || now - sp->ack_persist_ns >= ACK_PERSIST_NS);
    char **unl = sp->unlinks;
    unsigned nunl = sp->nunlinks;
    sp->unlinks = NULL;
    sp->nunlinks = sp->capunlinks = 0;
    pthread_mutex_unlock(&sp->mu);
    int rc = 0;
    if (due && (rc = persist_ack(sp, acked)) == 0) {
        pthread_mutex_lock(&sp->mu);
        if (acked > sp->acked_persisted)
            sp->acked_persisted = acked;
        sp->ack_persist_ns = now;
        pthread_mutex_unlock(&sp->mu);
    }
    for (unsigned i = 0; i < nunl; i++) {
        /* A failed ack write leaves the files: acknowledged records are deleted at a later
         * acknowledgement, never before the acknowledgement that covers them is on disk. */
        if (rc == 0)
            unlink(unl[i]);
        free(unl[i]);
    }
    free(unl);
    pthread_mutex_unlock(&sp->ack_mu);
    return rc;
}

/* The number in `name` (see write_seq_file); 0 when there is none. */
static uint64_t read_seq_file(const char *dir, const char *name)
{
    char path[4200], text[32] = {0};
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    unsigned long long v;
    if (n <= 0 || !tld_sv_to_u64(tld_sv_trim(tld_sv_make(text, (size_t)n)), UINT64_MAX, &v))
        return 0;
    return v;
}

/* ---- writing --------------------------------------------------------------------------------- */

static int flush_locked(struct tld_spool *sp)
{
    if (sp->wbuf.n == 0)
        return 0;
    /* A failed write leaves the frames buffered; the log keeps no half frame of them. */
    if (tld_framelog_append(sp->log, sp->wbuf.p, sp->wbuf.n, sp->pending_last) != 0)
        return TLD_EIO;
    sp->committed_seq = sp->pending_last;
    tld_sb_reset(&sp->wbuf);
    pthread_cond_broadcast(&sp->data);
    return 0;
}

/* Seal the active segment and start a new one at next_seq. The sealed segment is made
 * durable by the next tld_spool_sync (the log's deferred policy), so producers do not wait
 * for the disk. */
static int roll_locked(struct tld_spool *sp)
{
    int rc = flush_locked(sp);
    return rc != 0 ? rc : tld_framelog_roll(sp->log, sp->next_seq);
}

static uint64_t total_bytes(const struct tld_spool *sp)
{
    return sp->log->bytes + sp->wbuf.n;
}

static int push_locked(struct tld_spool *sp, const struct tld_evrec *r, unsigned flags,
                       uint64_t *seq);

/* The spool's own events, in the project's own-event form (docs/events.md). */
static void status_locked(struct tld_spool *sp, const char *action)
{
    char text[512];
    int64_t now = tld_clock_now(&sp->clock);
    int n;
    if (strcmp(action, "full") == 0)
        n = snprintf(text, sizeof text,
                     "{\"integration\":\"threatlockdown\",\"threatlockdown\":{\"event\":"
                     "\"agent_spool_full\",\"max_bytes\":%" PRIu64 ",\"bytes\":%" PRIu64
                     ",\"full_count\":%" PRIu64 "}}",
                     sp->max_bytes, total_bytes(sp), sp->st.full_count);
    else
        n = snprintf(text, sizeof text,
                     "{\"integration\":\"threatlockdown\",\"threatlockdown\":{\"event\":"
                     "\"agent_spool_recovered\",\"paused_seconds\":%.3f,\"refused_pushes\":%" PRIu64
                     ",\"full_count\":%" PRIu64 "}}",
                     (double)(now - sp->full_since_ns) / 1e9, sp->st.refused_pushes,
                     sp->st.full_count);
    struct tld_evrec r = {.queue = '1',
                          .source = TLD_SOURCE_AGENT,
                          .location = TLD_SV_LIT(TLD_SPOOL_LOCATION),
                          .text = tld_sv_make(text, (size_t)n),
                          .read_time_ns = now};
    push_locked(sp, &r, TLD_SPOOL_RESERVE, NULL);
    flush_locked(sp);
}

int tld_spool_renew_missing_active_locked(struct tld_spool *sp)
{
    if (!tld_framelog_last_missing(sp->log))
        return 0;
    /* The buffered frames go to the deleted file and are lost with it; readers count them. */
    int rc = flush_locked(sp);
    return rc != 0 ? rc : tld_framelog_renew_last(sp->log);
}

void tld_spool_lost_locked(struct tld_spool *sp, uint64_t first, uint64_t last, uint64_t lost,
                           const char *reason)
{
    if (!lost || last <= sp->lost_reported)
        return;
    sp->lost_reported = last;
    /* A report written into a deleted segment would be lost in turn (and reported, and so on). */
    tld_spool_renew_missing_active_locked(sp);
    char text[512];
    int n = snprintf(text, sizeof text,
                     "{\"integration\":\"threatlockdown\",\"threatlockdown\":{\"event\":"
                     "\"agent_spool_records_lost\",\"lost_records\":%" PRIu64
                     ",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64 ",\"reason\":\"%s\"}}",
                     lost, first, last, reason);
    struct tld_evrec r = {.queue = '1',
                          .source = TLD_SOURCE_AGENT,
                          .location = TLD_SV_LIT(TLD_SPOOL_LOCATION),
                          .text = tld_sv_make(text, (size_t)n),
                          .read_time_ns = tld_clock_now(&sp->clock)};
    push_locked(sp, &r, TLD_SPOOL_RESERVE, NULL);
    flush_locked(sp);
}

static int push_locked(struct tld_spool *sp, const struct tld_evrec *r, unsigned flags,
                       uint64_t *seq)
{
    if (sp->shutdown && !(flags & TLD_SPOOL_RESERVE))
        return TLD_ECLOSED;
    tld_sb_reset(&sp->scratch);
    int rc = tld_evrec_encode(r, &sp->scratch);
    if (rc != 0)
        return rc == TLD_ELIMIT ? TLD_EINVAL : rc;
    uint64_t frame = TLD_FRAMELOG_HEADER + sp->scratch.n;
    uint64_t total = total_bytes(sp);
    if (!(flags & TLD_SPOOL_RESERVE)) {
        if (sp->full || total + frame > sp->max_bytes) {
            sp->st.refused_pushes++;
            if (!sp->full) {
                sp->full = true;
                sp->full_since_ns = tld_clock_now(&sp->clock);
                sp->st.full_count++;
                status_locked(sp, "full");
            }
            return TLD_EAGAIN;
        }
    } else if (total + frame > sp->max_bytes + sp->reserve_bytes) {
        return TLD_EAGAIN;
    }
    const struct tld_framelog_seg *a = &sp->log->segs[sp->log->nsegs - 1];
    if ((a->last >= a->first || sp->wbuf.n) && a->bytes + sp->wbuf.n + frame > sp->segment_bytes) {
        if ((rc = roll_locked(sp)) != 0)
            return rc;
    }
    if (sp->wbuf.n + frame > WBUF_MAX && (rc = flush_locked(sp)) != 0)
        return rc;
    unsigned char hdr[TLD_FRAMELOG_HEADER];
    uint64_t s = sp->next_seq;
    tld_framelog_header(hdr, s, sp->scratch.p, sp->scratch.n);
    if (sp->wbuf.max < sp->wbuf.n + frame)
        sp->wbuf.max = sp->wbuf.n + frame; /* one oversized frame; reset below WBUF_MAX later */
    tld_sb_append(&sp->wbuf, hdr, sizeof hdr);
    tld_sb_append(&sp->wbuf, sp->scratch.p, sp->scratch.n);
    if (sp->wbuf.oom) {
        sp->wbuf.oom = false;
        tld_sb_fini(&sp->wbuf);
        tld_sb_init(&sp->wbuf, WBUF_MAX);
        return TLD_ENOMEM;
    }
    sp->pending_last = s;
    sp->next_seq++;
    sp->st.pushed++;
    if (seq)
        *seq = s;
    if (sp->wbuf.n >= WBUF_MAX) {
        rc = flush_locked(sp);
        sp->wbuf.max = WBUF_MAX;
        return rc;
    }
    return 0;
}

/* ---- deletion and back-pressure ---------------------------------------------------------------
 */

static void maybe_delete_locked(struct tld_spool *sp)
{
    uint64_t horizon = sp->acked;
    for (unsigned h = 0; h < TLD_SPOOL_MAX_HOLDERS; h++)
        if (sp->holders[h] < horizon)
            horizon = sp->holders[h];
    const struct tld_framelog *log = sp->log;
    unsigned del = 0;
    while (del + 1 < log->nsegs && log->segs[del].last <= horizon)
        del++;
    if (del) {
        if (sp->nunlinks + del > sp->capunlinks) {
            unsigned cap = sp->nunlinks + del + 16;
            char **v = realloc(sp->unlinks, cap * sizeof *v);
            if (!v)
                return; /* try again at the next acknowledgement */
            sp->unlinks = v;
            sp->capunlinks = cap;
        }
        for (unsigned i = 0; i < del; i++) {
            char path[4200];
            tld_framelog_path(log, log->segs[i].first, path, sizeof path);
            char *dup_path = strdup(path);
            if (dup_path)
                sp->unlinks[sp->nunlinks++] = dup_path;
        }
        tld_framelog_forget(sp->log, del);
    }
    if (sp->full && total_bytes(sp) <= sp->max_bytes - sp->max_bytes / 8) {
        sp->full = false;
        status_locked(sp, "resumed");
        pthread_cond_broadcast(&sp->room);
    }
}

/* ---- open / close ------------------------------------------------------------------------------
 */

/* The spool's frame log: sealed segments synced lazily, only the last one checked at open
 * (the readers detect damage in older ones), and the segments of releases that checksummed
 * frames with CRC-32 still read. */
const struct tld_framelog_params tld_spool_log_params = {
    .prefix = "seg-",
    .suffix = ".q",
    .max_payload = TLD_EVREC_MAX_ENCODED,
    .read_chunk = 256u << 10,
    .legacy = TLD_FRAMELOG_SUM_CRC32,
    .sync = TLD_FRAMELOG_SYNC_DEFERRED,
    .check_all = false,
};

_Static_assert(TLD_SPOOL_FRAME_HEADER == TLD_FRAMELOG_HEADER, "spool frames are log frames");

/* The last clean close wrote in `head` the seq the next record would get. Fewer records at open
 * means segments were deleted while the spool was closed: count those not acknowledged as lost,
 * and go on from head so their seqs are never given to other records. */
static int skip_lost_tail(struct tld_spool *sp, uint64_t head)
{
    if (head <= sp->next_seq)
        return 0;
    uint64_t first = sp->next_seq > sp->acked ? sp->next_seq : sp->acked + 1;
    int rc = tld_framelog_skip_to(sp->log, head);
    if (rc != 0)
        return rc;
    sp->next_seq = head;
    sp->committed_seq = sp->pending_last = head - 1;
    if (first < head) {
        sp->st.lost_records += head - first;
        tld_spool_lost_locked(sp, first, head - 1, head - first, "segment missing");
    }
    return 0;
}

int tld_spool_open(const struct tld_spool_opts *o, struct tld_spool **out)
{
    *out = NULL;
    if (!o->dir || o->max_bytes < TLD_SPOOL_MIN_BYTES)
        return TLD_EINVAL;
    struct tld_spool *sp = calloc(1, sizeof *sp);
    if (!sp)
        return TLD_ENOMEM;
    pthread_mutex_init(&sp->mu, NULL);
    pthread_mutex_init(&sp->sync_mu, NULL);
    pthread_mutex_init(&sp->ack_mu, NULL);
    tld_cond_init(&sp->data);
    tld_cond_init(&sp->room);
    sp->clock = o->clock ? *o->clock : TLD_CLOCK_SYSTEM;
    sp->max_bytes = o->max_bytes;
    sp->segment_bytes = o->segment_bytes ? o->segment_bytes : sp->max_bytes / 8;
    if (!o->segment_bytes && sp->segment_bytes > (8u << 20))
        sp->segment_bytes = 8u << 20;
    sp->reserve_bytes = o->reserve_bytes ? o->reserve_bytes : (64u << 10);
    for (unsigned h = 0; h < TLD_SPOOL_MAX_HOLDERS; h++)
        sp->holders[h] = UINT64_MAX;
    tld_sb_init(&sp->wbuf, WBUF_MAX);
    tld_sb_init(&sp->scratch, TLD_EVREC_MAX_ENCODED);
    int rc = TLD_ENOMEM;
    if (!(sp->dir = strdup(o->dir)))
        goto fail;
    if ((rc = tld_mkdir_p(sp->dir, 0750)) != 0)
        goto fail;
    if ((rc = tld_format_dir_check(sp->dir, "spool", TLD_SPOOL_FORMAT)) != 0)
        goto fail;
    sp->acked = sp->acked_persisted = read_seq_file(sp->dir, "ack");
    sp->lost_reported = read_seq_file(sp->dir, "lost"); /* a gap met again is not news */
    if ((rc = tld_framelog_open(&tld_spool_log_params, sp->dir, sp->acked + 1, NULL, NULL,
                                &sp->log)) != 0)
        goto fail;
    sp->st.torn_records = sp->log->rec.torn_frames;
    sp->st.torn_bytes = sp->log->rec.torn_bytes;
    sp->next_seq = tld_framelog_next_seq(sp->log);
    sp->committed_seq = sp->pending_last = sp->next_seq - 1;
    if ((rc = skip_lost_tail(sp, read_seq_file(sp->dir, "head"))) != 0)
        goto fail;
    if (sp->acked > sp->committed_seq)
        sp->acked = sp->committed_seq; /* an ack file from a spool that lost its tail */
    sp->ack_persist_ns = tld_clock_now(&sp->clock);
    if (total_bytes(sp) > sp->max_bytes - sp->max_bytes / 8) {
        /* Still full from the last run (that run recorded it): stay paused until it drains. */
        sp->full = true;
        sp->full_since_ns = sp->ack_persist_ns;
    }
    *out = sp;
    return 0;
fail:
    tld_spool_close(sp);
    return rc;
}

void tld_spool_close(struct tld_spool *sp)
{
    if (!sp)
        return;
    if (sp->log)
        tld_spool_sync(sp);
    if (sp->dir)
        settle_acks(sp, true);
    if (sp->log && sp->next_seq) {
        write_seq_file(sp->dir, "head", sp->next_seq);
        write_seq_file(sp->dir, "lost", sp->lost_reported);
    }
    tld_framelog_close(sp->log);
    for (unsigned i = 0; i < sp->nunlinks; i++)
        free(sp->unlinks[i]);
    free(sp->unlinks);
    pthread_mutex_destroy(&sp->sync_mu);
    pthread_mutex_destroy(&sp->ack_mu);
    tld_sb_fini(&sp->wbuf);
    tld_sb_fini(&sp->scratch);
    free(sp->dir);
    pthread_cond_destroy(&sp->data);
    pthread_cond_destroy(&sp->room);
    pthread_mutex_destroy(&sp->mu);
    free(sp);
}

/* ---- public producer/consumer API ---------------------------------------------------------- */

int tld_spool_push(struct tld_spool *sp, const struct tld_evrec *r, unsigned flags, uint64_t *seq)
{
    pthread_mutex_lock(&sp->mu);
    int rc = push_locked(sp, r, flags, seq);
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

int tld_spool_commit(struct tld_spool *sp)
{
    pthread_mutex_lock(&sp->mu);
    int rc = flush_locked(sp);
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

int tld_spool_sync(struct tld_spool *sp)
{
    pthread_mutex_lock(&sp->sync_mu);
    pthread_mutex_lock(&sp->mu);
    int rc = flush_locked(sp);
    struct tld_framelog_sync_job job;
    tld_framelog_sync_take(sp->log, &job);
    pthread_mutex_unlock(&sp->mu);
    /* The disk waits happen here, outside the lock producers take. */
    if (tld_framelog_sync_run(sp->log, &job) != 0)
        rc = TLD_EIO;
    if (job.dir) {
        pthread_mutex_lock(&sp->mu);
        tld_framelog_sync_return(sp->log, &job);
        pthread_mutex_unlock(&sp->mu);
    }
    pthread_mutex_unlock(&sp->sync_mu);
    return rc;
}
int tld_spool_wait_room(struct tld_spool *sp, int timeout_ms)
{
    int64_t deadline = tld_deadline_in(timeout_ms);
    pthread_mutex_lock(&sp->mu);
    int rc = 0;
    while (sp->full && !sp->shutdown) {
        if (tld_cond_wait_until(&sp->room, &sp->mu, deadline) != 0) {
            rc = TLD_ETIMEOUT;
            break;
        }
    }
    if (sp->shutdown)
        rc = TLD_ECLOSED;
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

bool tld_spool_is_full(struct tld_spool *sp)
{
    pthread_mutex_lock(&sp->mu);
    bool f = sp->full;
    pthread_mutex_unlock(&sp->mu);
    return f;
}

int tld_spool_ack(struct tld_spool *sp, uint64_t seq)
{
    pthread_mutex_lock(&sp->mu);
    if (seq > sp->committed_seq)
        seq = sp->committed_seq;
    bool moved = seq > sp->acked;
    if (moved) {
        sp->acked = seq;
        maybe_delete_locked(sp);
    }
    pthread_mutex_unlock(&sp->mu);
    return moved ? settle_acks(sp, false) : 0;
}

void tld_spool_retain(struct tld_spool *sp, unsigned id, uint64_t seq)
{
    if (id >= TLD_SPOOL_MAX_HOLDERS)
        return;
    pthread_mutex_lock(&sp->mu);
    sp->holders[id] = seq;
    maybe_delete_locked(sp);
    bool work = sp->nunlinks > 0;
    pthread_mutex_unlock(&sp->mu);
    if (work)
        settle_acks(sp, false);
}

void tld_spool_stats(struct tld_spool *sp, struct tld_spool_stats *st)
{
    pthread_mutex_lock(&sp->mu);
    *st = sp->st;
    st->first_seq = sp->log->segs[0].first;
    st->next_seq = sp->next_seq;
    st->committed_seq = sp->committed_seq;
    st->acked_seq = sp->acked;
    st->bytes = total_bytes(sp);
    st->max_bytes = sp->max_bytes;
    st->segments = sp->log->nsegs;
    st->full = sp->full;
    pthread_mutex_unlock(&sp->mu);
}

void tld_spool_shutdown(struct tld_spool *sp)
{
    pthread_mutex_lock(&sp->mu);
    sp->shutdown = true;
    pthread_cond_broadcast(&sp->data);
    pthread_cond_broadcast(&sp->room);
    pthread_mutex_unlock(&sp->mu);
}
