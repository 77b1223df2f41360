/*
 * Intake journal (see journal.h). The segments, frames and their recovery are a frame log
 * (common/framelog.h) with the journal's settings; this file adds the records' body, the
 * watermarks, group commit, the bound and the single reader. One mutex guards the log's
 * segment table, the write position and the watermarks; fdatasync runs outside it (one leader
 * at a time, the others wait on a condition variable and find their index covered). The reader
 * works on its own descriptor and buffer and takes the mutex only to learn how far it may read.
 */
#include "manager/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
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
#include "common/framelog.h"
#include "common/grow.h"
#include "common/proto.h"
#include "manager/journal_int.h"

#define MAX_STREAMS (1u << 20)

struct wm {
    unsigned agent;
    uint64_t stream;
    uint64_t seq;
    /* the last index of the append that moved seq (0: found on disk at open); the watermark is
     * durable once this index is, so a WELCOME waits only for its own stream's records */
    uint64_t index;
};

struct tld_journal {
    struct tld_journal_opts o;
    char dir[4096];
    struct tld_log *log;
    pthread_mutex_t wmu;    /* appenders take turns (encoding and write) */
    pthread_mutex_t mu;     /* everything else */
    pthread_cond_t data_cv; /* new synced data, or shutdown */
    pthread_cond_t sync_cv; /* a sync finished */
    pthread_cond_t room_cv; /* bytes were freed, or shutdown */

    struct tld_framelog *fl; /* segments; the last one is appended to */
    uint64_t next_index;
    uint64_t synced_index;
    bool syncing;
    uint64_t released;
    bool shutdown;
    atomic_bool readers_stop; /* readers get TLD_ECLOSED at once (the lock-free path reads it
                                 too): the backlog waits for the next run */
    bool full;

    struct wm *wms; /* sorted by (agent, stream)... kept per agent: one live stream each */
    unsigned nwms, capwms;
    bool wm_dirty;

    struct tld_sb wbuf; /* frames of one append */
    struct tld_journal_stats st;

    /* reader */
    struct tld_framelog_cursor rd;
    /* The reader's segment as the last locked look-up saw it, for the lock-free path of
     * tld_journal_next: records below rd_synced are durable (synced_index only grows) and
     * inside rd_seg's bytes, and rd_after is the first index of the segment after it (0:
     * none then). */
    struct tld_framelog_seg rd_seg;
    uint64_t rd_synced, rd_after;
};

/* The journal's frame log: every segment checked at open (the watermarks need each record),
 * a sealed segment made durable when rolling, bodies bounded like the protocol's records. */
const struct tld_framelog_params tld_journal_log_params = {
    .prefix = "j-",
    .suffix = ".log",
    .max_payload = TLD_JOURNAL_MAX_BODY + 64,
    .read_chunk = 1u << 20,
    .legacy = TLD_FRAMELOG_SUM_UNKNOWN,
    .sync = TLD_FRAMELOG_SYNC_AT_ROLL,
    .check_all = true,
};

_Static_assert(TLD_JOURNAL_FRAME_HEADER == TLD_FRAMELOG_HEADER, "journal frames are log frames");

/* ---- watermarks ------------------------------------------------------------------------------ */

/* One entry per agent: the live stream of an agent replaces its earlier one. */
static struct wm *wm_find(struct tld_journal *j, unsigned agent, bool create)
{
    unsigned lo = 0, hi = j->nwms;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (j->wms[mid].agent == agent)
            return &j->wms[mid];
        if (j->wms[mid].agent < agent)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!create || j->nwms >= MAX_STREAMS)
        return NULL;
    if (tld_grow(&j->wms, &j->capwms, j->nwms + 1, sizeof *j->wms, 64))
        return NULL;
    memmove(&j->wms[lo + 1], &j->wms[lo], (j->nwms - lo) * sizeof *j->wms);
    j->nwms++;
    j->wms[lo] = (struct wm){agent, 0, 0, 0};
    return &j->wms[lo];
}

/* Would (agent, stream, seq) be a duplicate? */
static bool wm_dup(struct tld_journal *j, unsigned agent, uint64_t stream, uint64_t seq)
{
    if (seq == 0)
        return false;
    struct wm *w = wm_find(j, agent, false);
    return w && w->stream == stream && seq <= w->seq;
}

static void wm_note(struct tld_journal *j, unsigned agent, uint64_t stream, uint64_t seq,
                    uint64_t index)
{
    if (seq == 0)
        return;
    struct wm *w = wm_find(j, agent, true);
    if (!w)
        return; /* table bound reached: dedupe degrades to at-least-once for this agent */
    if (w->stream != stream) {
        w->stream = stream;
        w->seq = seq;
        w->index = index;
    } else if (seq > w->seq) {
        w->seq = seq;
        w->index = index;
    }
    j->wm_dirty = true;
}

static int wm_save(struct tld_journal *j)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/watermarks", j->dir);
    struct tld_sb text;
    tld_sb_init(&text, SIZE_MAX / 2);
    tld_sb_printf(&text,
                  "# agent stream seq (highest sequence number journaled per agent stream)\n");
    tld_sb_printf(&text, "next %" PRIu64 "\n", j->next_index);
    for (unsigned i = 0; i < j->nwms; i++)
        tld_sb_printf(&text, "%u %" PRIu64 " %" PRIu64 "\n", j->wms[i].agent, j->wms[i].stream,
                      j->wms[i].seq);
    int rc = text.oom ? TLD_ENOMEM : tld_file_replace(path, text.p, text.n, 0640);
    tld_sb_fini(&text);
    if (rc)
        return rc;
    j->wm_dirty = false;
    return 0;
}

static void wm_load(struct tld_journal *j, uint64_t *next)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/watermarks", j->dir);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        unsigned a;
        uint64_t s, q;
        if (sscanf(line, "next %" SCNu64, &q) == 1)
            *next = q;
        else if (sscanf(line, "%u %" SCNu64 " %" SCNu64, &a, &s, &q) == 3)
            wm_note(j, a, s, q, 0);
    }
    fclose(f);
}

/* ---- records --------------------------------------------------------------------------------- */

static int body_parse(const uint8_t *p, size_t n, struct tld_journal_rec *r)
{
    struct tld_proto_rd rd = tld_proto_rd_make(p, n);
    uint64_t agent = tld_proto_get_v(&rd);
    r->stream = tld_proto_get_v(&rd);
    r->seq = tld_proto_get_v(&rd);
    r->recv_ns = (int64_t)tld_proto_get_v(&rd);
    r->ip = tld_proto_get_s(&rd, TLD_PROTO_MAX_INFO);
    r->record = tld_proto_get_s(&rd, TLD_JOURNAL_MAX_BODY);
    if (tld_proto_rd_end(&rd) || agent > UINT32_MAX)
        return TLD_ECORRUPT;
    r->agent = (unsigned)agent;
    return 0;
}

/* Open's visitor: every record's watermark; a body that does not parse is damage. */
static int note_record(void *ctx, uint64_t index, struct tld_sv body)
{
    struct tld_journal *j = ctx;
    struct tld_journal_rec r;
    if (body_parse((const uint8_t *)body.p, body.n, &r) != 0)
        return TLD_ECORRUPT;
    wm_note(j, r.agent, r.stream, r.seq, index);
    return 0;
}

static int load(struct tld_journal *j)
{
    uint64_t next = 1;
    wm_load(j, &next);
    int rc = tld_framelog_open(&tld_journal_log_params, j->dir, next, note_record, j, &j->fl);
    if (rc != 0)
        return rc;
    const struct tld_framelog_recovery *rec = &j->fl->rec;
    j->st.torn_bytes = rec->torn_bytes;
    j->st.corrupt = rec->damaged;
    j->st.lost = rec->lost;
    if (rec->torn_bytes)
        tld_log_warn(j->log,
                     "intake journal: the last segment ended with %" PRIu64
                     " bytes of an unfinished record; cut off",
                     rec->torn_bytes);
    if (rec->damaged || rec->lost)
        tld_log_error(j->log,
                      "intake journal: %" PRIu64 " damaged segment(s), %" PRIu64
                      " record(s) lost; the rest is read",
                      rec->damaged, rec->lost);
    /* The snapshot may know of records a torn tail took away: their indexes are not reused,
     * and frames stay consecutive within a segment. */
    if (next > tld_framelog_next_seq(j->fl) && (rc = tld_framelog_roll(j->fl, next)) != 0)
        return rc;
    j->next_index = tld_framelog_next_seq(j->fl);
    j->synced_index = j->next_index - 1;
    j->released = j->fl->segs[0].first;
    return 0;
}

int tld_journal_open(const struct tld_journal_opts *o, struct tld_journal **out)
{
    *out = NULL;
    if (o->max_bytes < (1u << 20))
        return TLD_EINVAL;
    struct tld_journal *j = calloc(1, sizeof *j);
    if (!j)
        return TLD_ENOMEM;
    j->o = *o;
    snprintf(j->dir, sizeof j->dir, "%s", o->dir);
    j->log = o->log;
    j->rd.fd = -1; /* the cursor gets its log once the log is open */
    if (!j->o.segment_bytes) {
        j->o.segment_bytes = o->max_bytes / 8;
        if (j->o.segment_bytes > (64u << 20))
            j->o.segment_bytes = 64u << 20;
    }
    if (!j->o.reserve_bytes)
        j->o.reserve_bytes = 1u << 20;
    pthread_mutex_init(&j->wmu, NULL);
    pthread_mutex_init(&j->mu, NULL);
    tld_cond_init(&j->data_cv);
    pthread_cond_init(&j->sync_cv, NULL);
    tld_cond_init(&j->room_cv);
    tld_sb_init(&j->wbuf, (size_t)TLD_PROTO_MAX_PAYLOAD * 2);
    int rc = tld_mkdir_p(j->dir, 0750);
    if (rc == 0)
        rc = tld_format_dir_check(j->dir, "journal", TLD_JOURNAL_FORMAT);
    if (rc == 0)
        rc = load(j);
    if (rc) {
        tld_journal_close(j);
        return rc;
    }
    tld_framelog_cursor_init(&j->rd, j->fl);
    *out = j;
    return 0;
}

void tld_journal_close(struct tld_journal *j)
{
    if (!j)
        return;
    tld_framelog_cursor_fini(&j->rd);
    if (j->fl) {
        tld_framelog_sync_now(j->fl);
        wm_save(j);
        tld_framelog_close(j->fl);
    }
    free(j->wms);
    tld_sb_fini(&j->wbuf);
    pthread_mutex_destroy(&j->wmu);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->data_cv);
    pthread_cond_destroy(&j->sync_cv);
    pthread_cond_destroy(&j->room_cv);
    free(j);
}

/* Start a new segment at next_index; the log's policy makes the old one durable first. Called
 * locked. */
static int rotate(struct tld_journal *j)
{
    int rc = tld_framelog_roll(j->fl, j->next_index);
    if (rc != 0)
        return rc;
    j->st.syncs++;
    j->synced_index = j->next_index - 1;
    return 0;
}

static bool fits(const struct tld_journal *j, uint64_t bytes, unsigned flags)
{
    uint64_t limit = j->o.max_bytes + ((flags & TLD_JOURNAL_RESERVE) ? j->o.reserve_bytes : 0);
    return j->fl->bytes + bytes <= limit;
}

int tld_journal_append(struct tld_journal *j, const struct tld_journal_entry *e, unsigned n,
                       unsigned flags, uint64_t *sync_to, unsigned *dups)
{
    *dups = 0;
    *sync_to = 0;
    uint64_t need = 0;
    for (unsigned i = 0; i < n; i++) {
        if (e[i].record.n > TLD_PROTO_MAX_RECORD || e[i].ip.n > TLD_PROTO_MAX_INFO)
            return TLD_EINVAL;
        need += TLD_JOURNAL_FRAME_HEADER + 48 + e[i].ip.n + e[i].record.n;
    }
    /* Appenders take turns on wmu; the state lock mu is held only briefly, so the reader and
     * the syncers are not kept waiting while a batch is encoded and written. Watermarks and
     * the log's last segment change only under both locks, so reading them under wmu alone is
     * safe. */
    pthread_mutex_lock(&j->wmu);
    pthread_mutex_lock(&j->mu);
    int rc = 0;
    if (j->shutdown) {
        rc = TLD_ECLOSED;
        goto out_locked;
    }
    if (!fits(j, need, flags)) {
        /* Duplicates need no room: a resend of what is already here must still be acked. */
        bool all_dup = true;
        for (unsigned i = 0; i < n && all_dup; i++)
            all_dup = wm_dup(j, e[i].agent, e[i].stream, e[i].seq);
        if (!all_dup) {
            j->st.refused++;
            j->full = true;
            rc = TLD_EAGAIN;
            goto out_locked;
        }
    }
    if (j->fl->segs[j->fl->nsegs - 1].bytes >= j->o.segment_bytes && (rc = rotate(j)) != 0)
        goto out_locked;
    uint64_t first = j->next_index, idx = first;
    int fd = j->fl->fd;
    uint64_t keep = j->fl->segs[j->fl->nsegs - 1].bytes;
    pthread_mutex_unlock(&j->mu);

    tld_sb_reset(&j->wbuf);
    for (unsigned i = 0; i < n; i++) {
        if (wm_dup(j, e[i].agent, e[i].stream, e[i].seq)) {
            (*dups)++;
            continue;
        }
        size_t at = j->wbuf.n;
        uint8_t h[TLD_JOURNAL_FRAME_HEADER] = {0};
        tld_sb_append(&j->wbuf, h, sizeof h);
        tld_proto_put_v(&j->wbuf, e[i].agent);
        tld_proto_put_v(&j->wbuf, e[i].stream);
        tld_proto_put_v(&j->wbuf, e[i].seq);
        tld_proto_put_v(&j->wbuf, (uint64_t)e[i].recv_ns);
        tld_proto_put_s(&j->wbuf, e[i].ip);
        tld_proto_put_s(&j->wbuf, e[i].record);
        if (j->wbuf.oom || j->wbuf.truncated) {
            rc = TLD_ENOMEM;
            goto out;
        }
        tld_framelog_seal(j->wbuf.p + at, idx, j->wbuf.n - at - sizeof h);
        idx++;
    }
    /* The write happens before the watermarks move, so a failed write leaves no trace. */
    rc = tld_framelog_write(fd, keep, j->wbuf.p, j->wbuf.n);
    if (rc != 0) {
        if (rc == TLD_ECORRUPT)
            tld_log_error(j->log, "intake journal: cannot undo a failed write: %s",
                          strerror(errno));
        rc = TLD_EIO;
        goto out;
    }
    pthread_mutex_lock(&j->mu);
    for (unsigned i = 0; i < n; i++)
        if (!wm_dup(j, e[i].agent, e[i].stream, e[i].seq))
            wm_note(j, e[i].agent, e[i].stream, e[i].seq, idx - 1);
    if (idx > first)
        tld_framelog_appended(j->fl, j->wbuf.n, idx - 1);
    j->st.appended += idx - first;
    j->st.duplicates += *dups;
    j->next_index = idx;
    *sync_to = j->next_index - 1;
out_locked:
    pthread_mutex_unlock(&j->mu);
out:
    pthread_mutex_unlock(&j->wmu);
    return rc;
}

int tld_journal_sync(struct tld_journal *j, uint64_t index)
{
    pthread_mutex_lock(&j->mu);
    int rc = 0;
    while (j->synced_index < index && rc == 0) {
        if (j->syncing) {
            pthread_cond_wait(&j->sync_cv, &j->mu);
            continue;
        }
        j->syncing = true;
        uint64_t target = j->next_index - 1;
        struct tld_framelog_sync_job job;
        tld_framelog_sync_take(j->fl, &job);
        pthread_mutex_unlock(&j->mu);
        int ok = tld_framelog_sync_run(j->fl, &job) == 0;
        pthread_mutex_lock(&j->mu);
        tld_framelog_sync_return(j->fl, &job);
        j->syncing = false;
        j->st.syncs++;
        if (ok && target > j->synced_index)
            j->synced_index = target;
        if (!ok)
            rc = TLD_EIO;
        pthread_cond_broadcast(&j->sync_cv);
        pthread_cond_broadcast(&j->data_cv);
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

uint64_t tld_journal_synced(struct tld_journal *j)
{
    pthread_mutex_lock(&j->mu);
    uint64_t v = j->synced_index;
    pthread_mutex_unlock(&j->mu);
    return v;
}

int tld_journal_wait_room(struct tld_journal *j, uint64_t bytes, int timeout_ms)
{
    int64_t deadline = tld_deadline_in(timeout_ms);
    pthread_mutex_lock(&j->mu);
    int rc = 0;
    while (!j->shutdown && !fits(j, bytes, 0)) {
        if (tld_cond_wait_until(&j->room_cv, &j->mu, deadline) != 0) {
            rc = TLD_ETIMEOUT;
            break;
        }
    }
    if (j->shutdown)
        rc = TLD_ECLOSED;
    pthread_mutex_unlock(&j->mu);
    return rc;
}

uint64_t tld_journal_watermark(struct tld_journal *j, unsigned agent, uint64_t stream)
{
    pthread_mutex_lock(&j->mu);
    struct wm *w = wm_find(j, agent, false);
    uint64_t seq = w && w->stream == stream ? w->seq : 0;
    uint64_t upto = seq ? w->index : 0;
    pthread_mutex_unlock(&j->mu);
    /* What was appended is reported only once it is durable; only this stream's records count
     * (syncing to the journal's end made every WELCOME of a reconnect storm wait for an fsync
     * of the previous one's own event). */
    if (upto && tld_journal_sync(j, upto) != 0)
        return 0;
    return seq;
}

/* ---- reader ---------------------------------------------------------------------------------- */

/* Segment that holds `index` (the last one whose first <= index). Called locked. */
static const struct tld_framelog_seg *seg_of(const struct tld_journal *j, uint64_t index)
{
    const struct tld_framelog_seg *s = NULL;
    for (unsigned i = 0; i < j->fl->nsegs && j->fl->segs[i].first <= index; i++)
        s = &j->fl->segs[i];
    return s;
}

/* The next record of the reader's segment (rd_seg): TLD_EAGAIN past its end. */
static int rd_frame(struct tld_journal *j, struct tld_journal_rec *rec)
{
    uint64_t idx;
    struct tld_sv body;
    int rc = tld_framelog_cursor_next(&j->rd, &j->rd_seg, &idx, &body);
    if (rc == 0 && body_parse((const uint8_t *)body.p, body.n, rec) != 0)
        rc = TLD_ECORRUPT;
    if (rc == TLD_ENOTFOUND)
        rc = TLD_EIO;
    if (rc == 0)
        rec->index = idx;
    return rc;
}

int tld_journal_next(struct tld_journal *j, uint64_t from, struct tld_journal_rec *rec,
                     int timeout_ms)
{
    /* The next record of the segment being read, already known durable: no lock (the
     * dispatcher calls this for every event, while the receiver appends under the lock). The
     * reader's segment cannot be released under it: release stops below what was read. Any
     * failure takes the locked path, which handles segment ends and damage. */
    if (atomic_load(&j->readers_stop))
        return TLD_ECLOSED;
    if (j->rd.fd >= 0 && from == j->rd.next && from < j->rd_synced &&
        (!j->rd_after || from < j->rd_after) && rd_frame(j, rec) == 0)
        return 0;
    int64_t deadline = tld_deadline_in(timeout_ms);
    for (;;) {
        pthread_mutex_lock(&j->mu);
        if (atomic_load(&j->readers_stop)) {
            pthread_mutex_unlock(&j->mu);
            return TLD_ECLOSED;
        }
        if (from < j->fl->segs[0].first)
            from = j->fl->segs[0].first;
        while (from > j->synced_index) {
            if (from < j->next_index) {
                /* Appended but not yet durable (own events, local events): sync it now. */
                pthread_mutex_unlock(&j->mu);
                int rc = tld_journal_sync(j, from);
                if (rc)
                    return rc;
                pthread_mutex_lock(&j->mu);
                continue;
            }
            if (j->shutdown) {
                pthread_mutex_unlock(&j->mu);
                return TLD_ECLOSED;
            }
            if (tld_cond_wait_until(&j->data_cv, &j->mu, deadline) != 0) {
                pthread_mutex_unlock(&j->mu);
                return TLD_ETIMEOUT;
            }
        }
        const struct tld_framelog_seg *s = seg_of(j, from);
        if (s)
            j->rd_seg = *s;
        /* First index of the segment after it, to step over a damaged tail. */
        uint64_t after = 0;
        for (unsigned i = 0; i < j->fl->nsegs; i++)
            if (j->fl->segs[i].first > from) {
                after = j->fl->segs[i].first;
                break;
            }
        uint64_t synced = j->synced_index + 1;
        pthread_mutex_unlock(&j->mu);
        if (!s)
            return TLD_EIO;
        int rc = 0;
        /* Going back within the segment starts it again; skip forward to `from` (after an
         * open, or after a release jump). */
        if (j->rd.seg_first == j->rd_seg.first && j->rd.next > from)
            tld_framelog_cursor_rewind(&j->rd);
        while ((rc = rd_frame(j, rec)) == 0 && rec->index < from)
            ;
        if (rc == 0) {
            j->rd_synced = synced;
            j->rd_after = after;
            return 0;
        }
        if (rc == TLD_ECORRUPT || (rc == TLD_EAGAIN && after)) {
            /* Damaged record, or a segment that ends before the next one starts: continue
             * with the next segment (the loss was logged when the journal was opened). */
            if (rc == TLD_ECORRUPT) {
                pthread_mutex_lock(&j->mu);
                j->st.corrupt++;
                pthread_mutex_unlock(&j->mu);
                tld_log_error(j->log,
                              "intake journal: damaged record at index %" PRIu64
                              "; skipping to index %" PRIu64,
                              j->rd.next, after);
            }
            tld_framelog_cursor_rewind(&j->rd);
            if (!after)
                return TLD_ECORRUPT;
            from = after;
            continue;
        }
        return rc;
    }
}

int tld_journal_release(struct tld_journal *j, uint64_t index)
{
    pthread_mutex_lock(&j->mu);
    if (index > j->released)
        j->released = index;
    /* Whole segments strictly below the released index, never the one being written. */
    const struct tld_framelog *fl = j->fl;
    unsigned k = 0;
    while (k + 1 < fl->nsegs && fl->segs[k + 1].first <= j->released)
        k++;
    int rc = 0;
    if (k) {
        /* The snapshot keeps the watermarks of the records about to disappear. */
        rc = wm_save(j);
        if (rc == 0)
            rc = tld_framelog_remove(j->fl, k);
        if (j->full && j->fl->bytes < j->o.max_bytes * 7 / 8)
            j->full = false;
        pthread_cond_broadcast(&j->room_cv);
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
}

void tld_journal_stop_readers(struct tld_journal *j)
{
    pthread_mutex_lock(&j->mu);
    atomic_store(&j->readers_stop, true);
    pthread_cond_broadcast(&j->data_cv);
    pthread_mutex_unlock(&j->mu);
}

void tld_journal_shutdown(struct tld_journal *j)
{
    pthread_mutex_lock(&j->mu);
    j->shutdown = true;
    pthread_cond_broadcast(&j->data_cv);
    pthread_cond_broadcast(&j->room_cv);
    pthread_mutex_unlock(&j->mu);
}

void tld_journal_stats(struct tld_journal *j, struct tld_journal_stats *st)
{
    pthread_mutex_lock(&j->mu);
    *st = j->st;
    st->first_index = j->fl->segs[0].first;
    st->next_index = j->next_index;
    st->synced_index = j->synced_index;
    st->released = j->released;
    st->bytes = j->fl->bytes;
    st->max_bytes = j->o.max_bytes;
    st->segments = j->fl->nsegs;
    st->full = j->full;
    pthread_mutex_unlock(&j->mu);
}
