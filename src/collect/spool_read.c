/*
 * Spool readers and scans (see spool.h). A reader reads its own descriptor of the segment
 * that holds the sequence number it wants, in chunks, and checks every frame (length, sequence
 * number, CRC) before handing it out; it only ever reads bytes that were committed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/spool_int.h"
#include "common/err.h"

/* ---- readers ------------------------------------------------------------------------------- */

int tld_spool_reader_open(struct tld_spool *sp, uint64_t from, struct tld_spool_reader **out)
{
    struct tld_spool_reader *rd = calloc(1, sizeof *rd);
    if (!rd)
        return TLD_ENOMEM;
    rd->sp = sp;
    rd->next = from ? from : 1;
    rd->fd = -1;
    *out = rd;
    return 0;
}

void tld_spool_reader_close(struct tld_spool_reader *rd)
{
    if (!rd)
        return;
    if (rd->fd >= 0)
        close(rd->fd);
    free(rd->buf);
    free(rd);
}

/* Make buf hold at least `want` bytes from the parse position, reading up to `limit` (the
 * segment's committed size). false if the file has fewer bytes. */
static bool fill(struct tld_spool_reader *rd, size_t want, uint64_t limit)
{
    if (rd->len - rd->pos >= want)
        return true;
    if (rd->pos) {
        memmove(rd->buf, rd->buf + rd->pos, rd->len - rd->pos);
        rd->off += rd->pos;
        rd->len -= rd->pos;
        rd->pos = 0;
    }
    size_t need = want > READ_CHUNK ? want : READ_CHUNK;
    if (need > rd->cap) {
        unsigned char *nb = realloc(rd->buf, need);
        if (!nb)
            return false;
        rd->buf = nb;
        rd->cap = need;
    }
    while (rd->len < want) {
        uint64_t end = rd->off + rd->len;
        if (end >= limit)
            return false;
        size_t n = rd->cap - rd->len;
        if (n > limit - end)
            n = (size_t)(limit - end);
        ssize_t r = pread(rd->fd, rd->buf + rd->len, n, (off_t)end);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        rd->len += (size_t)r;
    }
    return true;
}

/* Index of the segment holding seq, or of the first later one; nsegs if none. */
static unsigned find_seg(const struct tld_spool *sp, uint64_t seq)
{
    for (unsigned i = 0; i < sp->nsegs; i++)
        if (seq <= sp->segs[i].last || sp->segs[i].first > seq)
            return i;
    return sp->nsegs;
}

int tld_spool_reader_next(struct tld_spool_reader *rd, uint64_t *seq, struct tld_sv *payload,
                          int timeout_ms)
{
    struct tld_spool *sp = rd->sp;
    struct timespec ts;
    bool timed = false;
    for (;;) {
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
                tld_spool_deadline(&ts, timeout_ms);
                timed = true;
            }
            if (tld_spool_timed_wait(&sp->data, &sp->mu, &ts) != 0 &&
                rd->next > sp->committed_seq) {
                pthread_mutex_unlock(&sp->mu);
                return TLD_ETIMEOUT;
            }
        }
        unsigned i = find_seg(sp, rd->next);
        if (i == sp->nsegs) { /* cannot happen while next <= committed; be safe */
            pthread_mutex_unlock(&sp->mu);
            return TLD_ETIMEOUT;
        }
        struct seg s = sp->segs[i];
        pthread_mutex_unlock(&sp->mu);

        if (rd->next < s.first) /* acknowledged records deleted under us: skip ahead */
            rd->next = s.first;
        if (rd->fd < 0 || rd->seg_first != s.first) {
            char path[4200];
            if (rd->fd >= 0)
                close(rd->fd);
            seg_path(sp, s.first, path, sizeof path);
            rd->fd = open(path, O_RDONLY | O_CLOEXEC);
            rd->seg_first = s.first;
            rd->off = 0;
            rd->len = rd->pos = 0;
            if (rd->fd < 0) { /* deleted between unlock and open: look again */
                continue;
            }
        }
        bool bad = false;
        for (;;) {
            if (!fill(rd, TLD_SPOOL_FRAME_HEADER, s.bytes)) {
                bad = true;
                break;
            }
            const unsigned char *h = rd->buf + rd->pos;
            uint32_t len = rd32(h);
            uint64_t fseq = rd64(h + 8);
            if (len > MAX_FRAME || fseq > s.last || fseq < s.first ||
                !fill(rd, TLD_SPOOL_FRAME_HEADER + (size_t)len, s.bytes)) {
                bad = true;
                break;
            }
            h = rd->buf + rd->pos;
            const unsigned char *p = h + TLD_SPOOL_FRAME_HEADER;
            if (frame_crc(h + 8, p, len) != rd32(h + 4)) {
                bad = true;
                break;
            }
            rd->pos += TLD_SPOOL_FRAME_HEADER + len;
            if (fseq < rd->next)
                continue; /* positioning inside the segment */
            if (fseq != rd->next) {
                bad = true;
                break;
            }
            rd->next++;
            *seq = fseq;
            *payload = tld_sv_make((const char *)p, len);
            return 0;
        }
        if (bad) {
            pthread_mutex_lock(&sp->mu);
            sp->st.corrupt_skips++;
            pthread_mutex_unlock(&sp->mu);
            /* Nothing more can be trusted in this segment: go on with the next one. */
            rd->next = s.last + 1;
            close(rd->fd);
            rd->fd = -1;
        }
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
