/*
 * Spool implementation (format and guarantees in spool.h).
 *
 * One mutex guards the segment table and the write buffer. Writes happen under the mutex;
 * readers copy the committed limits under it and read their own file descriptors outside it,
 * which is safe because committed bytes never change and a deleted segment stays readable
 * through an open descriptor. The segment table is an array ordered by first sequence number;
 * the last entry is the active (appended) segment and is never deleted.
 */
#include "collect/spool.h"

#include <dirent.h>
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
#include <zlib.h>

#include "common/err.h"

#include "collect/spool_int.h"

/* ---- helpers -------------------------------------------------------------------------------- */

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}
static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return TLD_EIO;
    int rc = fsync(fd) == 0 ? 0 : TLD_EIO;
    close(fd);
    return rc;
}

static int mkdirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return TLD_EINVAL;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0750) != 0 && errno != EEXIST)
            return TLD_EIO;
        *p = '/';
    }
    if (mkdir(buf, 0750) != 0 && errno != EEXIST)
        return TLD_EIO;
    return 0;
}

/* ---- ack persistence ------------------------------------------------------------------------- */

/* Write the ack file (temporary file, fsync, rename, fsync of the directory). Called with
 * ack_mu held and sp->mu not held, so producers never wait for these fsyncs. */
static int persist_ack(struct tld_spool *sp, uint64_t acked)
{
    char path[4200], tmp[4200], text[32];
    snprintf(path, sizeof path, "%s/ack", sp->dir);
    snprintf(tmp, sizeof tmp, "%s/ack.tmp", sp->dir);
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", acked);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return TLD_EIO;
    int rc = (write(fd, text, (size_t)n) == n && fsync(fd) == 0) ? 0 : TLD_EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = TLD_EIO;
    if (rc == 0)
        rc = fsync_dir(sp->dir);
    return rc;
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

static uint64_t read_ack(const char *dir)
{
    char path[4200], text[32] = {0};
    snprintf(path, sizeof path, "%s/ack", dir);
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

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return TLD_EIO;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int flush_locked(struct tld_spool *sp)
{
    if (sp->wbuf.n == 0)
        return 0;
    struct seg *a = &sp->segs[sp->nsegs - 1];
    if (write_all(sp->fd, sp->wbuf.p, sp->wbuf.n) != 0) {
        /* Keep the file at its committed size so no half frame stays behind. */
        if (ftruncate(sp->fd, (off_t)a->bytes) != 0) {
            /* nothing better to do: the frame check at open cuts it off */
        }
        return TLD_EIO;
    }
    a->bytes += sp->wbuf.n;
    a->last = sp->pending_last;
    sp->committed_seq = sp->pending_last;
    tld_sb_reset(&sp->wbuf);
    pthread_cond_broadcast(&sp->data);
    return 0;
}

static int add_seg(struct tld_spool *sp, uint64_t first, uint64_t last, uint64_t bytes)
{
    if (sp->nsegs == sp->capsegs) {
        if (sp->capsegs >= MAX_SEGMENTS)
            return TLD_ELIMIT;
        unsigned cap = sp->capsegs ? sp->capsegs * 2 : 16;
        struct seg *s = realloc(sp->segs, cap * sizeof *s);
        if (!s)
            return TLD_ENOMEM;
        sp->segs = s;
        sp->capsegs = cap;
    }
    sp->segs[sp->nsegs++] = (struct seg){first, last, bytes};
    return 0;
}

static int open_active(struct tld_spool *sp, bool create)
{
    char path[4200];
    seg_path(sp, sp->segs[sp->nsegs - 1].first, path, sizeof path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0640);
    if (fd < 0)
        return TLD_EIO;
    if (sp->fd >= 0)
        close(sp->fd);
    sp->fd = fd;
    sp->dir_dirty |= create;
    return 0;
}

/* Seal the active segment and start a new one at next_seq. The sealed segment is made
 * durable by the next tld_spool_sync (not here, so producers do not wait for the disk). */
static int roll_locked(struct tld_spool *sp)
{
    int rc = flush_locked(sp);
    if (rc != 0)
        return rc;
    int old = dup(sp->fd);
    if (old < 0)
        return TLD_EIO;
    if (sp->nunsynced == MAX_UNSYNCED) { /* nobody syncs: do the oldest now */
        fdatasync(sp->unsynced[0]);
        close(sp->unsynced[0]);
        memmove(sp->unsynced, sp->unsynced + 1, (MAX_UNSYNCED - 1) * sizeof(int));
        sp->nunsynced--;
    }
    if ((rc = add_seg(sp, sp->next_seq, sp->next_seq - 1, 0)) == 0 &&
        (rc = open_active(sp, true)) != 0)
        sp->nsegs--;
    if (rc == 0)
        sp->unsynced[sp->nunsynced++] = old;
    else
        close(old);
    return rc;
}

static uint64_t total_bytes(const struct tld_spool *sp)
{
    uint64_t t = sp->wbuf.n;
    for (unsigned i = 0; i < sp->nsegs; i++)
        t += sp->segs[i].bytes;
    return t;
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
                          .location = TLD_SV_LIT(TLD_SPOOL_LOCATION),
                          .text = tld_sv_make(text, (size_t)n),
                          .read_time_ns = now};
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
    uint64_t frame = TLD_SPOOL_FRAME_HEADER + sp->scratch.n;
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
    struct seg *a = &sp->segs[sp->nsegs - 1];
    if ((a->last >= a->first || sp->wbuf.n) && a->bytes + sp->wbuf.n + frame > sp->segment_bytes) {
        if ((rc = roll_locked(sp)) != 0)
            return rc;
    }
    if (sp->wbuf.n + frame > WBUF_MAX && (rc = flush_locked(sp)) != 0)
        return rc;
    unsigned char hdr[TLD_SPOOL_FRAME_HEADER];
    uint64_t s = sp->next_seq;
    le32(hdr, (uint32_t)sp->scratch.n);
    le64(hdr + 8, s);
    le32(hdr + 4, frame_crc(hdr + 8, sp->scratch.p, sp->scratch.n));
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
    unsigned del = 0;
    while (del + 1 < sp->nsegs && sp->segs[del].last <= horizon)
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
            seg_path(sp, sp->segs[i].first, path, sizeof path);
            char *dup_path = strdup(path);
            if (dup_path)
                sp->unlinks[sp->nunlinks++] = dup_path;
        }
        memmove(sp->segs, sp->segs + del, (sp->nsegs - del) * sizeof *sp->segs);
        sp->nsegs -= del;
    }
    if (sp->full && total_bytes(sp) <= sp->max_bytes - sp->max_bytes / 8) {
        sp->full = false;
        status_locked(sp, "resumed");
        pthread_cond_broadcast(&sp->room);
    }
}

/* ---- open / close ------------------------------------------------------------------------------
 */

/* Validate the frames of the last segment; cut off a torn tail. */
static int recover_last(struct tld_spool *sp)
{
    struct seg *a = &sp->segs[sp->nsegs - 1];
    char path[4200];
    seg_path(sp, a->first, path, sizeof path);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return TLD_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return TLD_EIO;
    }
    uint64_t size = (uint64_t)st.st_size, off = 0, expect = a->first;
    unsigned char hdr[TLD_SPOOL_FRAME_HEADER];
    unsigned char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    while (off + sizeof hdr <= size) {
        if (pread(fd, hdr, sizeof hdr, (off_t)off) != (ssize_t)sizeof hdr)
            break;
        uint32_t len = rd32(hdr);
        if (len > MAX_FRAME || rd64(hdr + 8) != expect || off + sizeof hdr + len > size)
            break;
        if (len > cap) {
            unsigned char *nb = realloc(buf, len);
            if (!nb) {
                rc = TLD_ENOMEM;
                break;
            }
            buf = nb;
            cap = len;
        }
        if (pread(fd, buf, len, (off_t)(off + sizeof hdr)) != (ssize_t)len)
            break;
        if (frame_crc(hdr + 8, buf, len) != rd32(hdr + 4))
            break;
        off += sizeof hdr + len;
        expect++;
    }
    free(buf);
    if (rc == 0 && off < size) {
        sp->st.torn_records++;
        sp->st.torn_bytes += size - off;
        if (ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0)
            rc = TLD_EIO;
    }
    close(fd);
    a->bytes = off;
    a->last = expect - 1;
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int load_segments(struct tld_spool *sp)
{
    DIR *d = opendir(sp->dir);
    if (!d)
        return TLD_EIO;
    uint64_t *firsts = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long long v;
        size_t len = strlen(e->d_name);
        if (len != 4 + 16 + 2 || strncmp(e->d_name, "seg-", 4) != 0 ||
            strcmp(e->d_name + 20, ".q") != 0)
            continue;
        char hex[17];
        memcpy(hex, e->d_name + 4, 16);
        hex[16] = 0;
        char *endp;
        v = strtoull(hex, &endp, 16);
        if (*endp || v == 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            if (cap > MAX_SEGMENTS) {
                rc = TLD_ELIMIT;
                break;
            }
            uint64_t *nf = realloc(firsts, cap * sizeof *nf);
            if (!nf) {
                rc = TLD_ENOMEM;
                break;
            }
            firsts = nf;
        }
        firsts[n++] = v;
    }
    closedir(d);
    if (rc == 0 && n)
        qsort(firsts, n, sizeof *firsts, cmp_u64);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char path[4200];
        struct stat st;
        seg_path(sp, firsts[i], path, sizeof path);
        if (stat(path, &st) != 0) {
            rc = TLD_EIO;
            break;
        }
        uint64_t last = i + 1 < n ? firsts[i + 1] - 1 : firsts[i] - 1;
        rc = add_seg(sp, firsts[i], last, (uint64_t)st.st_size);
    }
    free(firsts);
    if (rc == 0 && sp->nsegs)
        rc = recover_last(sp);
    return rc;
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
    pthread_cond_init(&sp->data, NULL);
    pthread_cond_init(&sp->room, NULL);
    sp->fd = -1;
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
    if ((rc = mkdirs(sp->dir)) != 0)
        goto fail;
    sp->acked = sp->acked_persisted = read_ack(sp->dir);
    if ((rc = load_segments(sp)) != 0)
        goto fail;
    if (sp->nsegs == 0) {
        uint64_t first = sp->acked + 1;
        if ((rc = add_seg(sp, first, first - 1, 0)) != 0 || (rc = open_active(sp, true)) != 0)
            goto fail;
        if ((rc = fsync_dir(sp->dir)) != 0)
            goto fail;
    } else if ((rc = open_active(sp, false)) != 0) {
        goto fail;
    }
    sp->next_seq = sp->segs[sp->nsegs - 1].last + 1;
    sp->committed_seq = sp->pending_last = sp->next_seq - 1;
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
    if (sp->fd >= 0) {
        tld_spool_sync(sp);
        close(sp->fd);
    }
    if (sp->dir)
        settle_acks(sp, true);
    for (unsigned i = 0; i < sp->nunsynced; i++)
        close(sp->unsynced[i]);
    for (unsigned i = 0; i < sp->nunlinks; i++)
        free(sp->unlinks[i]);
    free(sp->unlinks);
    pthread_mutex_destroy(&sp->sync_mu);
    pthread_mutex_destroy(&sp->ack_mu);
    tld_sb_fini(&sp->wbuf);
    tld_sb_fini(&sp->scratch);
    free(sp->segs);
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
    int fds[MAX_UNSYNCED + 1];
    unsigned n = sp->nunsynced;
    memcpy(fds, sp->unsynced, n * sizeof(int));
    sp->nunsynced = 0;
    int active = dup(sp->fd);
    bool dir = sp->dir_dirty;
    sp->dir_dirty = false;
    pthread_mutex_unlock(&sp->mu);
    /* The disk waits happen here, outside the lock producers take. */
    for (unsigned i = 0; i < n; i++) {
        if (fdatasync(fds[i]) != 0)
            rc = TLD_EIO;
        close(fds[i]);
    }
    if (active < 0 || fdatasync(active) != 0)
        rc = TLD_EIO;
    if (active >= 0)
        close(active);
    if (dir && fsync_dir(sp->dir) != 0) {
        rc = TLD_EIO;
        pthread_mutex_lock(&sp->mu);
        sp->dir_dirty = true;
        pthread_mutex_unlock(&sp->mu);
    }
    pthread_mutex_unlock(&sp->sync_mu);
    return rc;
}
void tld_spool_deadline(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int tld_spool_timed_wait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts)
{
    return pthread_cond_clockwait(c, m, CLOCK_MONOTONIC, ts);
}

int tld_spool_wait_room(struct tld_spool *sp, int timeout_ms)
{
    struct timespec ts;
    tld_spool_deadline(&ts, timeout_ms);
    pthread_mutex_lock(&sp->mu);
    int rc = 0;
    while (sp->full && !sp->shutdown) {
        if (tld_spool_timed_wait(&sp->room, &sp->mu, &ts) != 0) {
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
    st->first_seq = sp->segs[0].first;
    st->next_seq = sp->next_seq;
    st->committed_seq = sp->committed_seq;
    st->acked_seq = sp->acked;
    st->bytes = total_bytes(sp);
    st->max_bytes = sp->max_bytes;
    st->segments = sp->nsegs;
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
