/*
 * Intake journal (see journal.h). One mutex guards the segment list, the write position and
 * the watermarks; fdatasync runs outside it (one leader at a time, the others wait on a
 * condition variable and find their index covered). The reader works on its own descriptors
 * and buffer and takes the mutex only to learn how far it may read.
 */
#include "manager/journal.h"

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

#include "common/err.h"
#include "common/proto.h"

#define MAX_SEGMENTS 65536
#define MAX_STREAMS  (1u << 20)
#define READ_CHUNK   (1u << 20)

struct seg {
    uint64_t first; /* index of its first record */
    uint64_t bytes;
};

struct wm {
    unsigned agent;
    uint64_t stream;
    uint64_t seq;
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

    struct seg *segs;
    unsigned nsegs, capsegs;
    int cur_fd; /* last segment, open for append */
    uint64_t next_index;
    uint64_t synced_index;
    bool syncing;
    uint64_t released;
    uint64_t bytes;
    bool shutdown;
    bool full;

    struct wm *wms; /* sorted by (agent, stream)... kept per agent: one live stream each */
    unsigned nwms, capwms;
    bool wm_dirty;

    struct tld_sb wbuf; /* frames of one append */
    struct tld_journal_stats st;

    /* reader */
    int rd_fd;
    uint64_t rd_seg_first;
    uint64_t rd_off;   /* file offset of the next frame */
    uint64_t rd_index; /* index expected at rd_off; 0 = not positioned */
    /* What the last locked look-up saw, for the lock-free path of tld_journal_next: records
     * below rd_synced are durable (synced_index only grows), and rd_after is the first index
     * of the segment after the reader's (0: none then). */
    uint64_t rd_synced, rd_after;
    char *rd_buf;
    size_t rd_cap;
    uint64_t rd_buf_off; /* file offset of rd_buf[0] */
    size_t rd_len;
};

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/*
 * CRC-32C (Castagnoli) of the frames: with SSE4.2 the processor computes it 8 bytes per
 * instruction, several times faster than a table; other machines use the table. Both give the
 * same value, so a journal moves between machines.
 */
static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static pthread_once_t crc32c_check = PTHREAD_ONCE_INIT;
static bool crc32c_hw;

static void crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc32c_table[i] = c;
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc32c_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc32c_sw(uint32_t crc, const uint8_t *p, size_t n)
{
    while (n--)
        crc = crc32c_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw8(uint32_t crc, const uint8_t *p,
                                                             size_t n)
{
    uint64_t c = crc;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    for (; n; n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

/* The standard check value; the hardware path is used only if it agrees with the table. */
static void crc32c_selftest(void)
{
    if (~crc32c_sw(~0u, (const uint8_t *)"123456789", 9) != 0xe3069283u)
        abort(); /* the table itself is wrong: never write a journal with it */
#if defined(__x86_64__)
    if (crc32c_hw && ~crc32c_hw8(~0u, (const uint8_t *)"123456789", 9) != 0xe3069283u)
        crc32c_hw = false;
#endif
}

static uint32_t crc32c(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&crc32c_once, crc32c_init);
    pthread_once(&crc32c_check, crc32c_selftest);
    crc = ~crc;
#if defined(__x86_64__)
    if (crc32c_hw)
        return ~crc32c_hw8(crc, buf, n);
#endif
    return ~crc32c_sw(crc, buf, n);
}

static uint32_t frame_crc(uint64_t index, const void *body, size_t n)
{
    uint8_t ib[8];
    put_le64(ib, index);
    return crc32c(crc32c(0, ib, 8), body, n);
}

static void seg_path(const struct tld_journal *j, uint64_t first, char *buf, size_t n)
{
    snprintf(buf, n, "%s/j-%016" PRIx64 ".log", j->dir, first);
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

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
    if (j->nwms == j->capwms) {
        unsigned cap = j->capwms ? j->capwms * 2 : 64;
        struct wm *nw = realloc(j->wms, cap * sizeof *nw);
        if (!nw)
            return NULL;
        j->wms = nw;
        j->capwms = cap;
    }
    memmove(&j->wms[lo + 1], &j->wms[lo], (j->nwms - lo) * sizeof *j->wms);
    j->nwms++;
    j->wms[lo] = (struct wm){agent, 0, 0};
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

static void wm_note(struct tld_journal *j, unsigned agent, uint64_t stream, uint64_t seq)
{
    if (seq == 0)
        return;
    struct wm *w = wm_find(j, agent, true);
    if (!w)
        return; /* table bound reached: dedupe degrades to at-least-once for this agent */
    if (w->stream != stream) {
        w->stream = stream;
        w->seq = seq;
    } else if (seq > w->seq) {
        w->seq = seq;
    }
    j->wm_dirty = true;
}

static int wm_save(struct tld_journal *j)
{
    char path[4200], tmp[4300];
    snprintf(path, sizeof path, "%s/watermarks", j->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f)
        return TLD_EIO;
    fprintf(f, "# agent stream seq (highest sequence number journaled per agent stream)\n");
    fprintf(f, "next %" PRIu64 "\n", j->next_index);
    for (unsigned i = 0; i < j->nwms; i++)
        fprintf(f, "%u %" PRIu64 " %" PRIu64 "\n", j->wms[i].agent, j->wms[i].stream,
                j->wms[i].seq);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return TLD_EIO;
    }
    fsync_dir(j->dir);
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
            wm_note(j, a, s, q);
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

/* Scan a segment at open: watermarks, last index, torn tail. */
static int scan_segment(struct tld_journal *j, struct seg *s, bool last, uint64_t *next)
{
    char path[4200];
    seg_path(j, s->first, path, sizeof path);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return TLD_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return TLD_EIO;
    }
    uint64_t size = (uint64_t)st.st_size, off = 0, expect = s->first;
    uint8_t h[TLD_JOURNAL_FRAME_HEADER];
    uint8_t *body = NULL;
    size_t cap = 0;
    int rc = 0;
    bool bad = false;
    while (off < size) {
        if (size - off < sizeof h || pread(fd, h, sizeof h, (off_t)off) != (ssize_t)sizeof h) {
            bad = true;
            break;
        }
        uint32_t len = get_le32(h), crc = get_le32(h + 4);
        uint64_t idx = get_le64(h + 8);
        if (len > TLD_JOURNAL_MAX_BODY + 64 || idx != expect || size - off - sizeof h < len) {
            bad = true;
            break;
        }
        if (cap < len) {
            uint8_t *nb = realloc(body, len);
            if (!nb) {
                rc = TLD_ENOMEM;
                break;
            }
            body = nb;
            cap = len;
        }
        struct tld_journal_rec r;
        if (pread(fd, body, len, (off_t)(off + sizeof h)) != (ssize_t)len ||
            frame_crc(idx, body, len) != crc || body_parse(body, len, &r) != 0) {
            bad = true;
            break;
        }
        wm_note(j, r.agent, r.stream, r.seq);
        off += sizeof h + len;
        expect++;
    }
    free(body);
    if (rc == 0 && bad) {
        if (last) {
            j->st.torn_bytes += size - off;
            tld_log_warn(j->log,
                         "intake journal: %s ends with %" PRIu64
                         " bytes of an unfinished record; cut off",
                         path, size - off);
            if (ftruncate(fd, (off_t)off) != 0 || fdatasync(fd) != 0)
                rc = TLD_EIO;
            size = off;
        } else {
            j->st.corrupt++;
            tld_log_error(j->log,
                          "intake journal: %s is damaged at offset %" PRIu64 " (index %" PRIu64
                          "); the rest of that segment is skipped",
                          path, off, expect);
        }
    }
    close(fd);
    s->bytes = size;
    if (expect > *next)
        *next = expect;
    return rc;
}

static int cmp_seg(const void *a, const void *b)
{
    uint64_t x = ((const struct seg *)a)->first, y = ((const struct seg *)b)->first;
    return x < y ? -1 : x > y;
}

static int add_seg(struct tld_journal *j, uint64_t first)
{
    if (j->nsegs == MAX_SEGMENTS)
        return TLD_ELIMIT;
    if (j->nsegs == j->capsegs) {
        unsigned cap = j->capsegs ? j->capsegs * 2 : 16;
        struct seg *ns = realloc(j->segs, cap * sizeof *ns);
        if (!ns)
            return TLD_ENOMEM;
        j->segs = ns;
        j->capsegs = cap;
    }
    j->segs[j->nsegs++] = (struct seg){first, 0};
    return 0;
}

static int load(struct tld_journal *j)
{
    DIR *d = opendir(j->dir);
    if (!d)
        return TLD_EIO;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (strlen(e->d_name) != 2 + 16 + 4 || strncmp(e->d_name, "j-", 2) != 0 ||
            strcmp(e->d_name + 18, ".log") != 0)
            continue;
        char hex[17];
        memcpy(hex, e->d_name + 2, 16);
        hex[16] = 0;
        char *end;
        uint64_t v = strtoull(hex, &end, 16);
        if (*end || v == 0)
            continue;
        rc = add_seg(j, v);
    }
    closedir(d);
    if (rc)
        return rc;
    if (j->nsegs)
        qsort(j->segs, j->nsegs, sizeof *j->segs, cmp_seg);
    uint64_t next = 1;
    wm_load(j, &next);
    for (unsigned i = 0; rc == 0 && i < j->nsegs; i++) {
        if (j->segs[i].first > next)
            next = j->segs[i].first; /* a gap: records lost with a damaged segment */
        rc = scan_segment(j, &j->segs[i], i + 1 == j->nsegs, &next);
        j->bytes += j->segs[i].bytes;
    }
    j->next_index = next;
    j->synced_index = next - 1;
    j->released = j->nsegs ? j->segs[0].first : next;
    return rc;
}

static int open_current(struct tld_journal *j)
{
    if (j->nsegs == 0) {
        int rc = add_seg(j, j->next_index);
        if (rc)
            return rc;
    }
    char path[4200];
    seg_path(j, j->segs[j->nsegs - 1].first, path, sizeof path);
    j->cur_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (j->cur_fd < 0)
        return TLD_EIO;
    fsync_dir(j->dir);
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
    if (!j->o.segment_bytes) {
        j->o.segment_bytes = o->max_bytes / 8;
        if (j->o.segment_bytes > (64u << 20))
            j->o.segment_bytes = 64u << 20;
    }
    if (!j->o.reserve_bytes)
        j->o.reserve_bytes = 1u << 20;
    j->cur_fd = -1;
    j->rd_fd = -1;
    pthread_mutex_init(&j->wmu, NULL);
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->data_cv, NULL);
    pthread_cond_init(&j->sync_cv, NULL);
    pthread_cond_init(&j->room_cv, NULL);
    tld_sb_init(&j->wbuf, (size_t)TLD_PROTO_MAX_PAYLOAD * 2);
    int rc = 0;
    if (mkdir(j->dir, 0750) != 0 && errno != EEXIST)
        rc = TLD_EIO;
    if (rc == 0)
        rc = load(j);
    if (rc == 0)
        rc = open_current(j);
    if (rc) {
        tld_journal_close(j);
        return rc;
    }
    *out = j;
    return 0;
}

void tld_journal_close(struct tld_journal *j)
{
    if (!j)
        return;
    if (j->cur_fd >= 0) {
        fdatasync(j->cur_fd);
        close(j->cur_fd);
        if (j->nsegs)
            wm_save(j);
    }
    if (j->rd_fd >= 0)
        close(j->rd_fd);
    free(j->rd_buf);
    free(j->segs);
    free(j->wms);
    tld_sb_fini(&j->wbuf);
    pthread_mutex_destroy(&j->wmu);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->data_cv);
    pthread_cond_destroy(&j->sync_cv);
    pthread_cond_destroy(&j->room_cv);
    free(j);
}

/* Start a new segment at next_index; the old one is made durable first. Called locked. */
static int rotate(struct tld_journal *j)
{
    if (fdatasync(j->cur_fd) != 0)
        return TLD_EIO;
    j->st.syncs++;
    j->synced_index = j->next_index - 1;
    close(j->cur_fd);
    j->cur_fd = -1;
    int rc = add_seg(j, j->next_index);
    if (rc)
        return rc;
    return open_current(j);
}

static bool fits(const struct tld_journal *j, uint64_t bytes, unsigned flags)
{
    uint64_t limit = j->o.max_bytes + ((flags & TLD_JOURNAL_RESERVE) ? j->o.reserve_bytes : 0);
    return j->bytes + bytes <= limit;
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
     * the syncers are not kept waiting while a batch is encoded and written. Watermarks change
     * only under both locks, so reading them under wmu alone is safe. */
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
    if (j->segs[j->nsegs - 1].bytes >= j->o.segment_bytes && (rc = rotate(j)) != 0)
        goto out_locked;
    uint64_t first = j->next_index, idx = first;
    int fd = j->cur_fd;
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
        size_t blen = j->wbuf.n - at - sizeof h;
        uint8_t *hp = (uint8_t *)j->wbuf.p + at;
        put_le32(hp, (uint32_t)blen);
        put_le32(hp + 4, frame_crc(idx, hp + sizeof h, blen));
        put_le64(hp + 8, idx);
        idx++;
    }
    /* The write happens before the watermarks move, so a failed write leaves no trace. */
    const char *p = j->wbuf.p;
    size_t left = j->wbuf.n;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* Cut back whatever part of the batch reached the file. */
            pthread_mutex_lock(&j->mu);
            off_t keep = (off_t)j->segs[j->nsegs - 1].bytes;
            pthread_mutex_unlock(&j->mu);
            if (ftruncate(fd, keep) != 0)
                tld_log_error(j->log, "intake journal: cannot undo a failed write: %s",
                              strerror(errno));
            rc = TLD_EIO;
            goto out;
        }
        p += w;
        left -= (size_t)w;
    }
    pthread_mutex_lock(&j->mu);
    for (unsigned i = 0; i < n; i++)
        if (!wm_dup(j, e[i].agent, e[i].stream, e[i].seq))
            wm_note(j, e[i].agent, e[i].stream, e[i].seq);
    j->segs[j->nsegs - 1].bytes += j->wbuf.n;
    j->bytes += j->wbuf.n;
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
        int fd = dup(j->cur_fd);
        pthread_mutex_unlock(&j->mu);
        int ok = fd >= 0 && fdatasync(fd) == 0;
        if (fd >= 0)
            close(fd);
        pthread_mutex_lock(&j->mu);
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

static void deadline_ts(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int tld_journal_wait_room(struct tld_journal *j, uint64_t bytes, int timeout_ms)
{
    struct timespec ts;
    deadline_ts(&ts, timeout_ms);
    pthread_mutex_lock(&j->mu);
    int rc = 0;
    while (!j->shutdown && !fits(j, bytes, 0)) {
        if (pthread_cond_timedwait(&j->room_cv, &j->mu, &ts) != 0) {
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
    uint64_t upto = j->next_index - 1;
    pthread_mutex_unlock(&j->mu);
    /* What was appended is reported only once it is durable. */
    if (tld_journal_sync(j, upto) != 0)
        return 0;
    return seq;
}

/* ---- reader ---------------------------------------------------------------------------------- */

/* Segment that holds `index` (the last one whose first <= index). Called locked. */
static const struct seg *seg_of(const struct tld_journal *j, uint64_t index)
{
    const struct seg *s = NULL;
    for (unsigned i = 0; i < j->nsegs && j->segs[i].first <= index; i++)
        s = &j->segs[i];
    return s;
}

static int rd_open(struct tld_journal *j, uint64_t first)
{
    if (j->rd_fd >= 0)
        close(j->rd_fd);
    char path[4200];
    seg_path(j, first, path, sizeof path);
    j->rd_fd = open(path, O_RDONLY | O_CLOEXEC);
    if (j->rd_fd < 0)
        return TLD_EIO;
    j->rd_seg_first = first;
    j->rd_off = 0;
    j->rd_index = first;
    j->rd_len = 0;
    j->rd_buf_off = 0;
    return 0;
}

/* Make rd_buf hold [rd_off, rd_off + n). */
static int rd_fill(struct tld_journal *j, size_t n)
{
    if (j->rd_off >= j->rd_buf_off && j->rd_off + n <= j->rd_buf_off + j->rd_len)
        return 0;
    size_t want = n > READ_CHUNK ? n : READ_CHUNK;
    if (j->rd_cap < want) {
        char *nb = realloc(j->rd_buf, want);
        if (!nb)
            return TLD_ENOMEM;
        j->rd_buf = nb;
        j->rd_cap = want;
    }
    ssize_t r = pread(j->rd_fd, j->rd_buf, want, (off_t)j->rd_off);
    if (r < 0)
        return TLD_EIO;
    j->rd_buf_off = j->rd_off;
    j->rd_len = (size_t)r;
    return (size_t)r >= n ? 0 : TLD_EAGAIN;
}

/* Read the frame at the reader's position. TLD_EAGAIN: not there (end of file). */
static int rd_frame(struct tld_journal *j, struct tld_journal_rec *rec)
{
    int rc = rd_fill(j, TLD_JOURNAL_FRAME_HEADER);
    if (rc)
        return rc;
    const uint8_t *h = (const uint8_t *)j->rd_buf + (j->rd_off - j->rd_buf_off);
    uint32_t len = get_le32(h), crc = get_le32(h + 4);
    uint64_t idx = get_le64(h + 8);
    if (len > TLD_JOURNAL_MAX_BODY + 64 || idx != j->rd_index)
        return TLD_ECORRUPT;
    if ((rc = rd_fill(j, TLD_JOURNAL_FRAME_HEADER + len)) != 0)
        return rc;
    const uint8_t *body =
        (const uint8_t *)j->rd_buf + (j->rd_off - j->rd_buf_off) + TLD_JOURNAL_FRAME_HEADER;
    if (frame_crc(idx, body, len) != crc || body_parse(body, len, rec) != 0)
        return TLD_ECORRUPT;
    rec->index = idx;
    j->rd_off += TLD_JOURNAL_FRAME_HEADER + len;
    j->rd_index++;
    return 0;
}

int tld_journal_next(struct tld_journal *j, uint64_t from, struct tld_journal_rec *rec,
                     int timeout_ms)
{
    /* The next record of the segment being read, already known durable: no lock (the
     * dispatcher calls this for every event, while the receiver appends under the lock). The
     * reader's segment cannot be released under it: release stops below what was read. Any
     * failure takes the locked path, which handles segment ends and damage. */
    if (j->rd_fd >= 0 && from == j->rd_index && from < j->rd_synced &&
        (!j->rd_after || from < j->rd_after) && rd_frame(j, rec) == 0)
        return 0;
    struct timespec ts;
    deadline_ts(&ts, timeout_ms);
    for (;;) {
        pthread_mutex_lock(&j->mu);
        if (j->nsegs && from < j->segs[0].first)
            from = j->segs[0].first;
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
            if (pthread_cond_timedwait(&j->data_cv, &j->mu, &ts) != 0) {
                pthread_mutex_unlock(&j->mu);
                return TLD_ETIMEOUT;
            }
        }
        const struct seg *s = seg_of(j, from);
        uint64_t sfirst = s ? s->first : 0;
        /* First index of the segment after it, to step over a damaged tail. */
        uint64_t after = 0;
        for (unsigned i = 0; i < j->nsegs; i++)
            if (j->segs[i].first > from) {
                after = j->segs[i].first;
                break;
            }
        uint64_t synced = j->synced_index + 1;
        pthread_mutex_unlock(&j->mu);
        if (!s)
            return TLD_EIO;
        int rc = 0;
        if (j->rd_fd < 0 || j->rd_seg_first != sfirst || j->rd_index > from)
            rc = rd_open(j, sfirst);
        /* Skip forward to `from` within the segment (after open, or after a release jump). */
        while (rc == 0 && j->rd_index < from) {
            rc = rd_frame(j, rec);
        }
        if (rc == 0)
            rc = rd_frame(j, rec);
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
                              j->rd_index, after);
            }
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
    unsigned k = 0;
    while (k + 1 < j->nsegs && j->segs[k + 1].first <= j->released)
        k++;
    int rc = 0;
    if (k) {
        /* The snapshot keeps the watermarks of the records about to disappear. */
        rc = wm_save(j);
        for (unsigned i = 0; rc == 0 && i < k; i++) {
            char path[4200];
            seg_path(j, j->segs[i].first, path, sizeof path);
            if (unlink(path) != 0 && errno != ENOENT) {
                rc = TLD_EIO;
                k = i;
                break;
            }
            j->bytes -= j->segs[i].bytes;
        }
        memmove(j->segs, j->segs + k, (j->nsegs - k) * sizeof *j->segs);
        j->nsegs -= k;
        if (j->full && j->bytes < j->o.max_bytes * 7 / 8)
            j->full = false;
        pthread_cond_broadcast(&j->room_cv);
    }
    pthread_mutex_unlock(&j->mu);
    return rc;
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
    st->first_index = j->nsegs ? j->segs[0].first : j->next_index;
    st->next_index = j->next_index;
    st->synced_index = j->synced_index;
    st->released = j->released;
    st->bytes = j->bytes;
    st->max_bytes = j->o.max_bytes;
    st->segments = j->nsegs;
    st->full = j->full;
    pthread_mutex_unlock(&j->mu);
}
