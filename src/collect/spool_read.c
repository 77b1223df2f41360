/*
 * Spool readers and scans (see spool.h). A reader reads its own descriptor of the segment
 * that holds the sequence number it wants through a frame log cursor, which checks every frame
 * (length, sequence number, checksum) before handing it out; it only ever reads bytes that
 * were committed.
 */
#include <stdlib.h>

#include "collect/spool_int.h"
#include "common/deadline.h"
#include "common/err.h"

/* ---- readers ------------------------------------------------------------------------------- */

int tld_spool_reader_open(struct tld_spool *sp, uint64_t from, struct tld_spool_reader **out)
{
    struct tld_spool_reader *rd = calloc(1, sizeof *rd);
    if (!rd)
        return TLD_ENOMEM;
    rd->sp = sp;
    rd->next = from ? from : 1;
    tld_framelog_cursor_init(&rd->cur, sp->log);
    *out = rd;
    return 0;
}

void tld_spool_reader_close(struct tld_spool_reader *rd)
{
    if (!rd)
        return;
    tld_framelog_cursor_fini(&rd->cur);
    free(rd);
}

/* Index of the segment holding seq, or of the first later one; nsegs if none. */
static unsigned find_seg(const struct tld_framelog *log, uint64_t seq)
{
    for (unsigned i = 0; i < log->nsegs; i++)
        if (seq <= log->segs[i].last || log->segs[i].first > seq)
            return i;
    return log->nsegs;
}

/* Wait until rd->next is committed, then copy the entry of the segment holding it. */
static int wait_segment(struct tld_spool_reader *rd, int timeout_ms, struct tld_framelog_seg *s)
{
    struct tld_spool *sp = rd->sp;
    int64_t deadline = 0;
    bool timed = false;
    pthread_mutex_lock(&sp->mu);
    while (rd->next > sp->committed_seq) {
        if (sp->shutdown) {
            pthread_mutex_unlock(&sp->mu);
            return TLD_ECLOSED;
        }
        if (timeout_ms <= 0) {
            pthread_mutex_unlock(&sp->mu);
            return TLD_ETIMEOUT;
        }
        if (!timed) {
            deadline = tld_deadline_in(timeout_ms);
            timed = true;
        }
        if (tld_cond_wait_until(&sp->data, &sp->mu, deadline) != 0 &&
            rd->next > sp->committed_seq) {
            pthread_mutex_unlock(&sp->mu);
            return TLD_ETIMEOUT;
        }
    }
    unsigned i = find_seg(sp->log, rd->next);
    int rc = TLD_ETIMEOUT; /* no segment while next <= committed cannot happen; be safe */
    if (i < sp->log->nsegs) {
        *s = sp->log->segs[i];
        rc = 0;
    }
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

/* Is the segment starting at `first` still in the table (not deleted after acknowledgement)? */
static bool still_there(struct tld_spool *sp, uint64_t first)
{
    pthread_mutex_lock(&sp->mu);
    bool there = false;
    for (unsigned i = 0; i < sp->log->nsegs && !there; i++)
        there = sp->log->segs[i].first == first;
    pthread_mutex_unlock(&sp->mu);
    return there;
}

int tld_spool_reader_next(struct tld_spool_reader *rd, uint64_t *seq, struct tld_sv *payload,
                          int timeout_ms)
{
    struct tld_spool *sp = rd->sp;
    for (;;) {
        struct tld_framelog_seg s;
        int rc = wait_segment(rd, timeout_ms, &s);
        if (rc != 0)
            return rc;
        if (rd->next < s.first) /* acknowledged records deleted under us: skip ahead */
            rd->next = s.first;
        if (rd->cur.next > rd->next)
            tld_framelog_cursor_rewind(&rd->cur);
        uint64_t fseq;
        while ((rc = tld_framelog_cursor_next(&rd->cur, &s, &fseq, payload)) == 0 &&
               fseq < rd->next)
            ; /* positioning inside the segment */
        if (rc == 0) {
            rd->next = fseq + 1;
            *seq = fseq;
            return 0;
        }
        if (rc == TLD_ENOTFOUND && !still_there(sp, s.first))
            continue; /* deleted between the look-up and the open: look again */
        uint64_t lost = rc == TLD_ECORRUPT   ? rd->cur.lost
                        : s.last >= rd->next ? s.last - rd->next + 1
                                             : 0;
        pthread_mutex_lock(&sp->mu);
        sp->st.corrupt_skips++;
        sp->st.lost_records += lost;
        pthread_mutex_unlock(&sp->mu);
        /* Nothing more can be trusted in this segment: go on with the next one. */
        rd->next = s.last + 1;
        tld_framelog_cursor_rewind(&rd->cur);
    }
}

int tld_spool_scan(struct tld_spool *sp, uint64_t from,
                   int (*cb)(void *ctx, uint64_t seq, struct tld_sv payload), void *ctx)
{
    struct tld_spool_reader *rd;
    int rc = tld_spool_reader_open(sp, from, &rd);
    if (rc != 0)
        return rc;
    tld_spool_commit(sp);
    uint64_t seq;
    struct tld_sv p;
    while ((rc = tld_spool_reader_next(rd, &seq, &p, 0)) == 0) {
        if ((rc = cb(ctx, seq, p)) != 0)
            break;
    }
    if (rc == TLD_ETIMEOUT || rc == TLD_ECLOSED)
        rc = 0;
    tld_spool_reader_close(rd);
    return rc;
}
