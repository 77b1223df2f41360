/*
 * Frame log implementation (format and rules in framelog.h): the checksum, segment files,
 * recovery at open, appends, rollover under a sync policy, deletion and cursors.
 */
#include "common/framelog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "common/grow.h"

/* ---- checksums ------------------------------------------------------------------------------- */

/*
 * CRC-32C: with SSE4.2 the processor computes it 8 bytes per instruction, several times faster
 * than a table; other machines use the table. Both give the same value, so a log moves between
 * machines.
 */
static uint32_t crc32c_table[256];
static pthread_once_t crc32c_once = PTHREAD_ONCE_INIT;
static bool crc32c_hw;

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

/* The hardware path is used only if it agrees with the table on the standard check value. */
static void crc32c_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
        crc32c_table[i] = c;
    }
    if (~crc32c_sw(~0u, (const uint8_t *)"123456789", 9) != 0xe3069283u)
        abort(); /* the table itself is wrong: never write a log with it */
#if defined(__x86_64__)
    __builtin_cpu_init();
    crc32c_hw = __builtin_cpu_supports("sse4.2") &&
                ~crc32c_hw8(~0u, (const uint8_t *)"123456789", 9) == 0xe3069283u;
#endif
}

uint32_t tld_crc32c(uint32_t crc, const void *buf, size_t n)
{
    pthread_once(&crc32c_once, crc32c_init);
    crc = ~crc;
#if defined(__x86_64__)
    if (crc32c_hw)
        return ~crc32c_hw8(crc, buf, n);
#endif
    return ~crc32c_sw(crc, buf, n);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The checksum of a frame: over its seq field (as stored) and its payload. */
static uint32_t frame_sum(enum tld_framelog_sum kind, const unsigned char *seq8,
                          const void *payload, size_t n)
{
    if (kind == TLD_FRAMELOG_SUM_CRC32) {
        uLong c = crc32(0L, seq8, 8);
        /* zlib takes uInt lengths; frames are bounded far below 4 GiB. */
        return (uint32_t)crc32(c, payload, (uInt)n);
    }
    return tld_crc32c(tld_crc32c(0, seq8, 8), payload, n);
}

void tld_framelog_header(unsigned char hdr[TLD_FRAMELOG_HEADER], uint64_t seq, const void *payload,
                         size_t n)
{
    put_le32(hdr, (uint32_t)n);
    put_le64(hdr + 8, seq);
    put_le32(hdr + 4, frame_sum(TLD_FRAMELOG_SUM_CRC32C, hdr + 8, payload, n));
}

void tld_framelog_seal(void *frame, uint64_t seq, size_t n)
{
    unsigned char *h = frame;
    tld_framelog_header(h, seq, h + TLD_FRAMELOG_HEADER, n);
}

/* ---- segment table --------------------------------------------------------------------------- */

void tld_framelog_path(const struct tld_framelog *fl, uint64_t first, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s%016" PRIx64 "%s", fl->dir, fl->p.prefix, first, fl->p.suffix);
}

static int add_seg(struct tld_framelog *fl, uint64_t first, uint64_t bytes)
{
    if (fl->nsegs == fl->capsegs && fl->capsegs >= TLD_FRAMELOG_MAX_SEGMENTS)
        return TLD_ELIMIT;
    if (tld_grow(&fl->segs, &fl->capsegs, fl->nsegs + 1, sizeof *fl->segs, 16))
        return TLD_ENOMEM;
    fl->segs[fl->nsegs++] = (struct tld_framelog_seg){first, first - 1, bytes, 0};
    fl->bytes += bytes;
    return 0;
}

/* The first seq a directory entry names, or 0 when it is not a segment of this log. */
static uint64_t seg_name_first(const struct tld_framelog_params *p, const char *name)
{
    size_t lp = strlen(p->prefix), ls = strlen(p->suffix);
    if (strlen(name) != lp + 16 + ls || strncmp(name, p->prefix, lp) != 0 ||
        strcmp(name + lp + 16, p->suffix) != 0)
        return 0;
    char hex[17], *end;
    memcpy(hex, name + lp, 16);
    hex[16] = 0;
    uint64_t v = strtoull(hex, &end, 16);
    return *end ? 0 : v;
}

static int cmp_seg(const void *a, const void *b)
{
    uint64_t x = ((const struct tld_framelog_seg *)a)->first;
    uint64_t y = ((const struct tld_framelog_seg *)b)->first;
    return x < y ? -1 : x > y;
}

static int list_segments(struct tld_framelog *fl)
{
    DIR *d = opendir(fl->dir);
    if (!d)
        return TLD_EIO;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        uint64_t first = seg_name_first(&fl->p, e->d_name);
        if (first)
            rc = add_seg(fl, first, 0);
    }
    closedir(d);
    if (rc != 0)
        return rc;
    if (fl->nsegs)
        qsort(fl->segs, fl->nsegs, sizeof *fl->segs, cmp_seg);
    for (unsigned i = 0; i < fl->nsegs; i++) {
        char path[4200];
        struct stat st;
        tld_framelog_path(fl, fl->segs[i].first, path, sizeof path);
        if (stat(path, &st) != 0)
            return TLD_EIO;
        fl->segs[i].bytes = (uint64_t)st.st_size;
        fl->bytes += (uint64_t)st.st_size;
        if (i + 1 < fl->nsegs)
            fl->segs[i].last = fl->segs[i + 1].first - 1;
    }
    return 0;
}

/* ---- cursors --------------------------------------------------------------------------------- */

void tld_framelog_cursor_init(struct tld_framelog_cursor *c, const struct tld_framelog *fl)
{
    *c = (struct tld_framelog_cursor){.fl = fl, .fd = -1};
}

void tld_framelog_cursor_fini(struct tld_framelog_cursor *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    c->fd = -1;
    c->buf = NULL;
}

void tld_framelog_cursor_rewind(struct tld_framelog_cursor *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Make buf hold at least `want` bytes from the read position, reading no further than
 * `limit`. false if the file has fewer bytes. */
static bool fill(struct tld_framelog_cursor *c, size_t want, uint64_t limit)
{
    if (c->len - c->pos >= want)
        return true;
    if (c->pos) {
        memmove(c->buf, c->buf + c->pos, c->len - c->pos);
        c->off += c->pos;
        c->len -= c->pos;
        c->pos = 0;
    }
    size_t need = want > c->fl->p.read_chunk ? want : c->fl->p.read_chunk;
    if (need > c->cap) {
        unsigned char *nb = realloc(c->buf, need);
        if (!nb)
            return false;
        c->buf = nb;
        c->cap = need;
    }
    while (c->len < want) {
        uint64_t end = c->off + c->len;
        if (end >= limit)
            return false;
        size_t n = c->cap - c->len;
        if (n > limit - end)
            n = (size_t)(limit - end);
        ssize_t r = pread(c->fd, c->buf + c->len, n, (off_t)end);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        c->len += (size_t)r;
    }
    return true;
}

static int cursor_open(struct tld_framelog_cursor *c, const struct tld_framelog_seg *seg)
{
    char path[4200];
    tld_framelog_cursor_rewind(c);
    tld_framelog_path(c->fl, seg->first, path, sizeof path);
    c->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (c->fd < 0)
        return errno == ENOENT ? TLD_ENOTFOUND : TLD_EIO;
    c->seg_first = seg->first;
    c->sum = seg->sum;
    c->next = seg->first;
    c->off = 0;
    c->len = c->pos = 0;
    return 0;
}

/* Does the frame's checksum hold? The first frame of a segment decides which one it uses. */
static bool sum_ok(struct tld_framelog_cursor *c, const unsigned char *h, size_t len)
{
    uint32_t want = get_le32(h + 4);
    if (c->sum != TLD_FRAMELOG_SUM_UNKNOWN)
        return frame_sum(c->sum, h + 8, h + TLD_FRAMELOG_HEADER, len) == want;
    enum tld_framelog_sum kinds[2] = {TLD_FRAMELOG_SUM_CRC32C, c->fl->p.legacy};
    for (unsigned i = 0; i < 2; i++) {
        if (kinds[i] != TLD_FRAMELOG_SUM_UNKNOWN &&
            frame_sum(kinds[i], h + 8, h + TLD_FRAMELOG_HEADER, len) == want) {
            c->sum = kinds[i];
            return true;
        }
    }
    return false;
}

static int cursor_damage(struct tld_framelog_cursor *c, const struct tld_framelog_seg *seg)
{
    c->lost = seg->last >= c->next ? seg->last - c->next + 1 : 0;
    return TLD_ECORRUPT;
}

int tld_framelog_cursor_next(struct tld_framelog_cursor *c, const struct tld_framelog_seg *seg,
                             uint64_t *seq, struct tld_sv *payload)
{
    if (c->fd < 0 || c->seg_first != seg->first) {
        int rc = cursor_open(c, seg);
        if (rc != 0)
            return rc;
    }
    if (!fill(c, TLD_FRAMELOG_HEADER, seg->bytes)) {
        if (tld_framelog_cursor_offset(c) >= seg->bytes && c->next > seg->last)
            return TLD_EAGAIN;
        return cursor_damage(c, seg);
    }
    const unsigned char *h = c->buf + c->pos;
    uint32_t len = get_le32(h);
    if (len > c->fl->p.max_payload || get_le64(h + 8) != c->next ||
        !fill(c, TLD_FRAMELOG_HEADER + (size_t)len, seg->bytes))
        return cursor_damage(c, seg);
    h = c->buf + c->pos;
    if (!sum_ok(c, h, len))
        return cursor_damage(c, seg);
    *seq = c->next++;
    *payload = tld_sv_make((const char *)h + TLD_FRAMELOG_HEADER, len);
    c->pos += TLD_FRAMELOG_HEADER + len;
    return 0;
}

/* ---- open / close ---------------------------------------------------------------------------- */

/* Check segment i's frames: its exact last record and checksum kind, and where good data ends. */
static int check_segment(struct tld_framelog *fl, unsigned i, tld_framelog_visit visit, void *ctx,
                         uint64_t *good_end)
{
    struct tld_framelog_seg *s = &fl->segs[i];
    struct tld_framelog_seg probe = {s->first, 0, s->bytes, TLD_FRAMELOG_SUM_UNKNOWN};
    struct tld_framelog_cursor c;
    tld_framelog_cursor_init(&c, fl);
    uint64_t seq;
    struct tld_sv payload;
    int rc;
    for (;;) {
        uint64_t at = tld_framelog_cursor_offset(&c);
        rc = tld_framelog_cursor_next(&c, &probe, &seq, &payload);
        if (rc == 0 && visit && visit(ctx, seq, payload) != 0) {
            /* the user refuses the frame: it ends the good data like damage does */
            c.pos = (size_t)(at - c.off);
            c.next = seq;
            rc = TLD_ECORRUPT;
        }
        if (rc != 0)
            break;
    }
    *good_end = tld_framelog_cursor_offset(&c);
    s->last = c.next - 1;
    s->sum = c.sum;
    tld_framelog_cursor_fini(&c);
    if (rc == TLD_ENOMEM || rc == TLD_EIO || rc == TLD_ENOTFOUND)
        return rc == TLD_ENOTFOUND ? TLD_EIO : rc;
    return 0;
}

static int cut_tail(struct tld_framelog *fl, uint64_t good_end)
{
    struct tld_framelog_seg *s = &fl->segs[fl->nsegs - 1];
    if (good_end >= s->bytes)
        return 0;
    char path[4200];
    tld_framelog_path(fl, s->first, path, sizeof path);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return TLD_EIO;
    int rc = ftruncate(fd, (off_t)good_end) == 0 && fdatasync(fd) == 0 ? 0 : TLD_EIO;
    close(fd);
    if (rc != 0)
        return rc;
    fl->rec.torn_frames++;
    fl->rec.torn_bytes += s->bytes - good_end;
    fl->bytes -= s->bytes - good_end;
    s->bytes = good_end;
    return 0;
}

static int check_segments(struct tld_framelog *fl, tld_framelog_visit visit, void *ctx)
{
    unsigned from = fl->p.check_all ? 0 : fl->nsegs - 1;
    for (unsigned i = from; i < fl->nsegs; i++) {
        uint64_t end;
        int rc = check_segment(fl, i, visit, ctx, &end);
        if (rc != 0)
            return rc;
        if (fl->segs[i].sum != TLD_FRAMELOG_SUM_CRC32C &&
            fl->segs[i].sum != TLD_FRAMELOG_SUM_UNKNOWN)
            fl->rec.legacy_segments++;
        if (i + 1 == fl->nsegs)
            return cut_tail(fl, end);
        if (end < fl->segs[i].bytes)
            fl->rec.damaged++;
        if (fl->segs[i].last + 1 < fl->segs[i + 1].first)
            fl->rec.lost += fl->segs[i + 1].first - fl->segs[i].last - 1;
    }
    return 0;
}

static int open_last(struct tld_framelog *fl, bool create)
{
    char path[4200];
    tld_framelog_path(fl, fl->segs[fl->nsegs - 1].first, path, sizeof path);
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0640);
    if (fd < 0)
        return TLD_EIO;
    if (fl->fd >= 0)
        close(fl->fd);
    fl->fd = fd;
    return 0;
}

int tld_framelog_open(const struct tld_framelog_params *p, const char *dir, uint64_t first_seq,
                      tld_framelog_visit visit, void *ctx, struct tld_framelog **out)
{
    *out = NULL;
    if (first_seq == 0)
        return TLD_EINVAL;
    struct tld_framelog *fl = calloc(1, sizeof *fl);
    if (!fl)
        return TLD_ENOMEM;
    fl->p = *p;
    fl->fd = -1;
    int rc = TLD_ENOMEM;
    if (!(fl->dir = strdup(dir)))
        goto fail;
    if ((rc = list_segments(fl)) != 0)
        goto fail;
    bool created = false;
    if (fl->nsegs == 0) {
        if ((rc = add_seg(fl, first_seq, 0)) != 0)
            goto fail;
        created = true;
    } else if ((rc = check_segments(fl, visit, ctx)) != 0) {
        goto fail;
    }
    if ((rc = open_last(fl, created)) != 0)
        goto fail;
    const struct tld_framelog_seg *last = &fl->segs[fl->nsegs - 1];
    /* Frames are only ever appended in the current format. */
    if (last->sum != TLD_FRAMELOG_SUM_UNKNOWN && last->sum != TLD_FRAMELOG_SUM_CRC32C) {
        if ((rc = tld_framelog_roll(fl, last->last + 1)) != 0)
            goto fail;
        created = true;
    }
    if (created) {
        if ((rc = tld_dir_sync(fl->dir)) != 0)
            goto fail;
        fl->dir_dirty = false;
    }
    *out = fl;
    return 0;
fail:
    tld_framelog_close(fl);
    return rc;
}

void tld_framelog_close(struct tld_framelog *fl)
{
    if (!fl)
        return;
    if (fl->fd >= 0)
        close(fl->fd);
    for (unsigned i = 0; i < fl->nunsynced; i++)
        close(fl->unsynced[i]);
    free(fl->segs);
    free(fl->dir);
    free(fl);
}

/* ---- writing --------------------------------------------------------------------------------- */

int tld_framelog_write(int fd, uint64_t keep, const void *frames, size_t n)
{
    const char *c = frames;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            /* Keep the file at its committed size so no half frame stays behind. */
            return ftruncate(fd, (off_t)keep) == 0 ? TLD_EIO : TLD_ECORRUPT;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

void tld_framelog_appended(struct tld_framelog *fl, size_t n, uint64_t last)
{
    struct tld_framelog_seg *s = &fl->segs[fl->nsegs - 1];
    s->bytes += n;
    s->last = last;
    if (s->sum == TLD_FRAMELOG_SUM_UNKNOWN)
        s->sum = TLD_FRAMELOG_SUM_CRC32C;
    fl->bytes += n;
}

int tld_framelog_append(struct tld_framelog *fl, const void *frames, size_t n, uint64_t last)
{
    if (n == 0)
        return 0;
    int rc = tld_framelog_write(fl->fd, fl->segs[fl->nsegs - 1].bytes, frames, n);
    if (rc == 0)
        tld_framelog_appended(fl, n, last);
    return rc;
}

/* Under the deferred policy: keep the sealed segment's descriptor for the next sync. */
static int defer_sealed(struct tld_framelog *fl, int *kept)
{
    *kept = dup(fl->fd);
    if (*kept < 0)
        return TLD_EIO;
    if (fl->nunsynced == TLD_FRAMELOG_MAX_UNSYNCED) { /* nobody syncs: do the oldest now */
        fdatasync(fl->unsynced[0]);
        close(fl->unsynced[0]);
        memmove(fl->unsynced, fl->unsynced + 1, (TLD_FRAMELOG_MAX_UNSYNCED - 1) * sizeof(int));
        fl->nunsynced--;
    }
    return 0;
}

int tld_framelog_roll(struct tld_framelog *fl, uint64_t first)
{
    bool now = fl->p.sync == TLD_FRAMELOG_SYNC_AT_ROLL;
    int kept = -1;
    if (now && fdatasync(fl->fd) != 0)
        return TLD_EIO;
    if (!now && defer_sealed(fl, &kept) != 0)
        return TLD_EIO;
    int rc = add_seg(fl, first, 0);
    if (rc == 0 && (rc = open_last(fl, true)) != 0)
        fl->nsegs--;
    if (rc != 0) {
        if (kept >= 0)
            close(kept);
        return rc;
    }
    if (kept >= 0)
        fl->unsynced[fl->nunsynced++] = kept;
    if (now)
        return tld_dir_sync(fl->dir);
    fl->dir_dirty = true;
    return 0;
}

bool tld_framelog_last_missing(const struct tld_framelog *fl)
{
    char path[4200];
    struct stat st;
    tld_framelog_path(fl, fl->segs[fl->nsegs - 1].first, path, sizeof path);
    return stat(path, &st) != 0 && errno == ENOENT;
}

int tld_framelog_renew_last(struct tld_framelog *fl)
{
    const struct tld_framelog_seg *s = &fl->segs[fl->nsegs - 1];
    if (s->last >= s->first)
        return tld_framelog_roll(fl, s->last + 1);
    /* No record yet: the same first seq names the new file, which starts empty. */
    fl->dir_dirty = true;
    return open_last(fl, true);
}

int tld_framelog_skip_to(struct tld_framelog *fl, uint64_t first)
{
    struct tld_framelog_seg *s = &fl->segs[fl->nsegs - 1];
    if (first <= s->last + 1)
        return TLD_EINVAL;
    if (s->last >= s->first)
        return tld_framelog_roll(fl, first);
    char from[4200], to[4200];
    tld_framelog_path(fl, s->first, from, sizeof from);
    tld_framelog_path(fl, first, to, sizeof to);
    if (rename(from, to) != 0)
        return TLD_EIO;
    s->first = first;
    s->last = first - 1;
    fl->dir_dirty = true;
    return 0;
}

/* ---- durability ------------------------------------------------------------------------------ */

void tld_framelog_sync_take(struct tld_framelog *fl, struct tld_framelog_sync_job *job)
{
    memcpy(job->fds, fl->unsynced, fl->nunsynced * sizeof(int));
    job->n = fl->nunsynced;
    fl->nunsynced = 0;
    job->fds[job->n++] = dup(fl->fd); /* -1 makes the sync fail */
    job->dir = fl->dir_dirty;
    fl->dir_dirty = false;
}

int tld_framelog_sync_run(const struct tld_framelog *fl, struct tld_framelog_sync_job *job)
{
    int rc = 0;
    for (unsigned i = 0; i < job->n; i++) {
        if (job->fds[i] < 0 || fdatasync(job->fds[i]) != 0)
            rc = TLD_EIO;
        if (job->fds[i] >= 0)
            close(job->fds[i]);
    }
    job->n = 0;
    if (job->dir) {
        if (tld_dir_sync(fl->dir) != 0)
            rc = TLD_EIO;
        else
            job->dir = false;
    }
    return rc;
}

void tld_framelog_sync_return(struct tld_framelog *fl, const struct tld_framelog_sync_job *job)
{
    if (job->dir)
        fl->dir_dirty = true;
}

int tld_framelog_sync_now(struct tld_framelog *fl)
{
    struct tld_framelog_sync_job job;
    tld_framelog_sync_take(fl, &job);
    int rc = tld_framelog_sync_run(fl, &job);
    tld_framelog_sync_return(fl, &job);
    return rc;
}

/* ---- deletion -------------------------------------------------------------------------------- */

uint64_t tld_framelog_forget(struct tld_framelog *fl, unsigned k)
{
    if (k >= fl->nsegs)
        k = fl->nsegs - 1;
    uint64_t freed = 0;
    for (unsigned i = 0; i < k; i++)
        freed += fl->segs[i].bytes;
    memmove(fl->segs, fl->segs + k, (fl->nsegs - k) * sizeof *fl->segs);
    fl->nsegs -= k;
    fl->bytes -= freed;
    return freed;
}

int tld_framelog_remove(struct tld_framelog *fl, unsigned k)
{
    int rc = 0;
    unsigned done = 0;
    for (; done < k && done + 1 < fl->nsegs; done++) {
        char path[4200];
        tld_framelog_path(fl, fl->segs[done].first, path, sizeof path);
        if (unlink(path) != 0 && errno != ENOENT) {
            rc = TLD_EIO;
            break;
        }
    }
    tld_framelog_forget(fl, done);
    return rc;
}
