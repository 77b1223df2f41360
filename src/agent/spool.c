/*
 * Spool implementation (format and guarantees in spool.h).
 *
 * One mutex guards the segment table and the write buffer. Writes happen under the mutex;
 * readers copy the committed limits under it and read their own file descriptors outside it,
 * which is safe because committed bytes never change and a deleted segment stays readable
 * through an open descriptor. The segment table is an array ordered by first sequence number;
 * the last entry is the active (appended) segment and is never deleted.
 */
#include "agent/spool.h"

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

#define WBUF_MAX       (256u << 10)
#define MAX_SEGMENTS   65536u
#define MAX_FRAME      ((uint64_t)TLD_EVREC_MAX_ENCODED)
#define READ_CHUNK     (256u << 10)
#define ACK_PERSIST_NS 1000000000LL

struct seg {
    uint64_t first; /* seq of its first record (named in the file name) */
    uint64_t last;  /* seq of its last committed record; first - 1 when empty */
    uint64_t bytes; /* committed bytes */
};

struct tld_spool {
    pthread_mutex_t mu;
    pthread_cond_t data; /* signalled on commit */
    pthread_cond_t room; /* signalled when the spool stops being full */
    char *dir;
    struct tld_clock clock;
    uint64_t max_bytes, segment_bytes, reserve_bytes;

    struct seg *segs;
    unsigned nsegs, capsegs;
    int fd; /* active segment, O_APPEND */
    bool dir_dirty;

    struct tld_sb wbuf;    /* frames pushed, not yet written */
    uint64_t pending_last; /* seq of the last frame in wbuf */
    struct tld_sb scratch; /* encoding of the record being pushed */

    uint64_t next_seq, committed_seq;
    uint64_t acked, acked_persisted;
    int64_t ack_persist_ns;
    uint64_t holders[TLD_SPOOL_MAX_HOLDERS];

    bool full, shutdown;
    int64_t full_since_ns;
    struct tld_spool_stats st; /* counters only; the rest is filled by tld_spool_stats */
};

struct tld_spool_reader {
    struct tld_spool *sp;
    uint64_t next; /* seq wanted next */
    int fd;
    uint64_t seg_first; /* segment fd refers to */
    uint64_t off;       /* file offset of buf[0] */
    unsigned char *buf;
    size_t len, pos, cap; /* valid bytes, parse position, allocation */
};

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

static uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static uint32_t frame_crc(const unsigned char *seq8, const void *payload, size_t n)
{
    uLong c = crc32(0L, seq8, 8);
    /* zlib takes uInt lengths; frames are bounded far below 4 GiB. */
    return (uint32_t)crc32(c, payload, (uInt)n);
}

static void seg_path(const struct tld_spool *sp, uint64_t first, char *buf, size_t n)
{
    snprintf(buf, n, "%s/seg-%016" PRIx64 ".q", sp->dir, first);
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

static int persist_ack(struct tld_spool *sp)
{
    char path[4200], tmp[4200], text[32];
    snprintf(path, sizeof path, "%s/ack", sp->dir);
    snprintf(tmp, sizeof tmp, "%s/ack.tmp", sp->dir);
    int n = snprintf(text, sizeof text, "%" PRIu64 "\n", sp->acked);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return TLD_EIO;
    int rc = (write(fd, text, (size_t)n) == n && fsync(fd) == 0) ? 0 : TLD_EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = TLD_EIO;
    if (rc == 0)
        rc = fsync_dir(sp->dir);
    if (rc == 0) {
        sp->acked_persisted = sp->acked;
        sp->ack_persist_ns = tld_clock_now(&sp->clock);
    }
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

/* Seal the active segment (durably) and start a new one at next_seq. */
static int roll_locked(struct tld_spool *sp)
{
    int rc = flush_locked(sp);
    if (rc == 0 && fdatasync(sp->fd) != 0)
        rc = TLD_EIO;
    if (rc == 0)
        rc = add_seg(sp, sp->next_seq, sp->next_seq - 1, 0);
    if (rc == 0 && (rc = open_active(sp, true)) != 0)
        sp->nsegs--;
    if (rc == 0)
        rc = fsync_dir(sp->dir);
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

static void status_locked(struct tld_spool *sp, const char *action)
{
    char text[512];
    int64_t now = tld_clock_now(&sp->clock);
    int n;
    if (strcmp(action, "full") == 0)
        n = snprintf(text, sizeof text,
                     "{\"integration\":\"tld-agent\",\"tld_agent\":{\"Type\":\"spool\","
                     "\"Action\":\"full\",\"max_bytes\":%" PRIu64 ",\"bytes\":%" PRIu64
                     ",\"full_count\":%" PRIu64 "}}",
                     sp->max_bytes, total_bytes(sp), sp->st.full_count);
    else
        n = snprintf(text, sizeof text,
                     "{\"integration\":\"tld-agent\",\"tld_agent\":{\"Type\":\"spool\","
                     "\"Action\":\"resumed\",\"paused_seconds\":%.3f,\"refused_pushes\":%" PRIu64
                     ",\"full_count\":%" PRIu64 "}}",
                     (double)(now - sp->full_since_ns) / 1e9, sp->st.refused_pushes,
                     sp->st.full_count);
    struct tld_evrec r = {.queue = '1',
                          .location = TLD_SV_LIT("tld-agent"),
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
        if (sp->acked_persisted < sp->segs[del - 1].last)
            persist_ack(sp);
        for (unsigned i = 0; i < del; i++) {
            char path[4200];
            seg_path(sp, sp->segs[i].first, path, sizeof path);
            unlink(path);
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
    pthread_mutex_lock(&sp->mu);
    if (sp->fd >= 0) {
        flush_locked(sp);
        fdatasync(sp->fd);
        close(sp->fd);
    }
    if (sp->dir && sp->acked != sp->acked_persisted)
        persist_ack(sp);
    pthread_mutex_unlock(&sp->mu);
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
    pthread_mutex_lock(&sp->mu);
    int rc = flush_locked(sp);
    if (rc == 0 && fdatasync(sp->fd) != 0)
        rc = TLD_EIO;
    if (rc == 0 && sp->dir_dirty) {
        rc = fsync_dir(sp->dir);
        sp->dir_dirty = rc != 0;
    }
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

static void deadline_after(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Waits measure CLOCK_MONOTONIC so a wall-clock step cannot stretch or cut them. */
static int timed_wait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts)
{
    return pthread_cond_clockwait(c, m, CLOCK_MONOTONIC, ts);
}

int tld_spool_wait_room(struct tld_spool *sp, int timeout_ms)
{
    struct timespec ts;
    deadline_after(&ts, timeout_ms);
    pthread_mutex_lock(&sp->mu);
    int rc = 0;
    while (sp->full && !sp->shutdown) {
        if (timed_wait(&sp->room, &sp->mu, &ts) != 0) {
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
    int rc = 0;
    if (seq > sp->acked) {
        sp->acked = seq;
        maybe_delete_locked(sp);
        if (sp->acked != sp->acked_persisted &&
            tld_clock_now(&sp->clock) - sp->ack_persist_ns >= ACK_PERSIST_NS)
            rc = persist_ack(sp);
    }
    pthread_mutex_unlock(&sp->mu);
    return rc;
}

void tld_spool_retain(struct tld_spool *sp, unsigned id, uint64_t seq)
{
    if (id >= TLD_SPOOL_MAX_HOLDERS)
        return;
    pthread_mutex_lock(&sp->mu);
    sp->holders[id] = seq;
    maybe_delete_locked(sp);
    pthread_mutex_unlock(&sp->mu);
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
                deadline_after(&ts, timeout_ms);
                timed = true;
            }
            if (timed_wait(&sp->data, &sp->mu, &ts) != 0 && rd->next > sp->committed_seq) {
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
    pthread_mutex_lock(&sp->mu);
    flush_locked(sp);
    pthread_mutex_unlock(&sp->mu);
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
