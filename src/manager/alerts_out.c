/* Alert and archive files with crash-exact checkpoints and daily rotation (see alerts_out.h). */
#include "manager/alerts_out.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/err.h"
#include "common/fsutil.h"

#define SLOT_SIZE  8192
#define REC_HEADER 88
#define REC_MAGIC  0x43444c54u /* "TLDC" */

struct entry {
    uint64_t index; /* journal index of the event */
    uint64_t end;   /* offset in alerts.json after its line */
};

struct rec {
    uint64_t gen;
    uint64_t p_start, p_end;
    uint64_t a_ino, a_start;
    uint64_t r_ino, r_start;
    uint64_t r_lines;
    uint64_t day;
    uint32_t n;
    struct entry e[TLD_ALERTS_OUT_BATCH];
};

struct tld_alerts_out {
    struct tld_alerts_out_opts o;
    struct tld_clock clock;
    char adir[4200], rdir[4200], apath[4300], rpath[4300], spath[4200];
    int afd, rfd, sfd;
    uint64_t asize, rsize, aino, rino;
    int day; /* YYYYMMDD of the open files */
    uint64_t gen;
    unsigned slot;
    /* open batch */
    uint64_t p_start;
    struct rec cur;
    struct tld_sb abuf, rbuf;
    uint64_t rlines;
    uint64_t committed_next;
    uint64_t recorded_next; /* p_end of the last record written */
    bool failing;           /* the last commit failed (logged once per failure) */
    /* compression helper */
    pthread_t gz;
    bool gz_running;
    char gz_list[4][4500];
    unsigned gz_n;
    struct tld_alerts_out_stats st;
};

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int day_of(int64_t t_s)
{
    time_t t = (time_t)t_s;
    struct tm tm;
    localtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

static int today(const struct tld_alerts_out *a)
{
    return day_of(tld_clock_now(&a->clock) / 1000000000);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int rec_write(struct tld_alerts_out *a, struct rec *r)
{
    uint8_t b[SLOT_SIZE];
    memset(b, 0, sizeof b);
    r->gen = ++a->gen;
    size_t len = REC_HEADER - 8 + (size_t)r->n * 16;
    put32(b, REC_MAGIC);
    put32(b + 8, (uint32_t)len);
    put32(b + 12, r->n);
    put64(b + 16, r->gen);
    put64(b + 24, r->p_start);
    put64(b + 32, r->p_end);
    put64(b + 40, r->a_ino);
    put64(b + 48, r->a_start);
    put64(b + 56, r->r_ino);
    put64(b + 64, r->r_start);
    put64(b + 72, r->r_lines);
    put64(b + 80, r->day);
    for (uint32_t i = 0; i < r->n; i++) {
        put64(b + REC_HEADER + 16 * i, r->e[i].index);
        put64(b + REC_HEADER + 16 * i + 8, r->e[i].end);
    }
    put32(b + 4, (uint32_t)crc32(0L, b + 8, (uInt)len));
    if (pwrite(a->sfd, b, sizeof b, (off_t)a->slot * SLOT_SIZE) != (ssize_t)sizeof b)
        return TLD_EIO;
    a->slot ^= 1;
    a->recorded_next = r->p_end;
    return 0;
}

static bool rec_read(int fd, unsigned slot, struct rec *r)
{
    uint8_t b[SLOT_SIZE];
    if (pread(fd, b, sizeof b, (off_t)slot * SLOT_SIZE) != (ssize_t)sizeof b)
        return false;
    uint32_t len = get32(b + 8);
    if (get32(b) != REC_MAGIC || len < REC_HEADER - 8 || len > SLOT_SIZE - 8 ||
        (uint32_t)crc32(0L, b + 8, len) != get32(b + 4))
        return false;
    r->n = get32(b + 12);
    if (r->n > TLD_ALERTS_OUT_BATCH || len != REC_HEADER - 8 + r->n * 16)
        return false;
    r->gen = get64(b + 16);
    r->p_start = get64(b + 24);
    r->p_end = get64(b + 32);
    r->a_ino = get64(b + 40);
    r->a_start = get64(b + 48);
    r->r_ino = get64(b + 56);
    r->r_start = get64(b + 64);
    r->r_lines = get64(b + 72);
    r->day = get64(b + 80);
    for (uint32_t i = 0; i < r->n; i++) {
        r->e[i].index = get64(b + REC_HEADER + 16 * i);
        r->e[i].end = get64(b + REC_HEADER + 16 * i + 8);
    }
    return true;
}

static int open_file(const char *path, int *fd, uint64_t *size, uint64_t *ino, int64_t *mtime)
{
    *fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    struct stat st;
    if (*fd < 0 || fstat(*fd, &st) != 0)
        return TLD_EIO;
    *size = (uint64_t)st.st_size;
    *ino = (uint64_t)st.st_ino;
    if (mtime)
        *mtime = st.st_mtim.tv_sec;
    return 0;
}

/*
 * Complete lines of fd after `from`: their count, and where the k-th one ends (k = want, or the
 * last one). A partial line at the end is cut off (it was never whole, so no reader took it).
 */
static int scan_lines(struct tld_alerts_out *a, int fd, const char *path, uint64_t from,
                      uint64_t size, uint64_t want, uint64_t *count, uint64_t *end_of_want,
                      uint64_t *cut)
{
    *count = 0;
    *end_of_want = from;
    uint64_t last_end = from;
    char *buf = malloc(1u << 20);
    if (!buf)
        return TLD_ENOMEM;
    for (uint64_t off = from; off < size;) {
        size_t n = size - off < (1u << 20) ? (size_t)(size - off) : (1u << 20);
        ssize_t r = pread(fd, buf, n, (off_t)off);
        if (r <= 0) {
            free(buf);
            return TLD_EIO;
        }
        for (ssize_t i = 0; i < r; i++) {
            if (buf[i] != '\n')
                continue;
            (*count)++;
            last_end = off + (uint64_t)i + 1;
            if (*count == want)
                *end_of_want = last_end;
        }
        off += (uint64_t)r;
    }
    free(buf);
    if (*count < want)
        *end_of_want = last_end;
    if (last_end < size) {
        *cut += size - last_end;
        tld_log_warn(a->o.log, "%s: removed %" PRIu64 " bytes of a line cut by a crash", path,
                     size - last_end);
        if (ftruncate(fd, (off_t)last_end) != 0)
            return TLD_EIO;
    }
    return 0;
}

/* Work out where to resume from the last checkpoint and the files as they are. */
static int recover(struct tld_alerts_out *a, const struct rec *r, bool have,
                   struct tld_alerts_out_resume *res)
{
    if (!have)
        return 0;
    uint64_t next = r->p_end;
    if (r->a_ino == a->aino && a->asize < r->a_start) {
        tld_log_warn(a->o.log,
                     "%s is shorter than the last checkpoint says; it was changed "
                     "outside tld-manager",
                     a->apath);
    } else if (r->a_ino == a->aino) {
        unsigned k = 0;
        while (k < r->n && r->e[k].end <= a->asize)
            k++;
        if (k < r->n) {
            uint64_t keep = k ? r->e[k - 1].end : r->a_start;
            if (a->asize > keep) {
                res->cut_bytes += a->asize - keep;
                tld_log_warn(a->o.log, "%s: removed %" PRIu64 " bytes of an alert cut by a crash",
                             a->apath, a->asize - keep);
                if (ftruncate(a->afd, (off_t)keep) != 0)
                    return TLD_EIO;
                a->asize = keep;
            }
            next = k ? r->e[k - 1].index + 1 : r->p_start;
        }
    }
    res->next_index = next;
    if (a->o.archives && a->rfd >= 0 && r->r_ino == a->rino && a->rsize >= r->r_start) {
        /* Archive lines of the batch's events before `next` stay; the lines of events that
         * will be analysed again are cut (they were written just before the crash, ahead of
         * the alerts), so archives.json also holds each event once. */
        uint64_t before = next > r->p_start ? next - r->p_start : 0;
        uint64_t count, end_before;
        int rc = scan_lines(a, a->rfd, a->rpath, r->r_start, a->rsize, before, &count, &end_before,
                            &res->cut_bytes);
        if (rc)
            return rc;
        struct stat st;
        if (count > before) {
            if (fstat(a->rfd, &st) != 0)
                return TLD_EIO;
            res->cut_bytes += (uint64_t)st.st_size - end_before;
            if (ftruncate(a->rfd, (off_t)end_before) != 0)
                return TLD_EIO;
        }
        if (fstat(a->rfd, &st) == 0)
            a->rsize = (uint64_t)st.st_size;
    }
    return 0;
}

/* ---- compression ----------------------------------------------------------------------------- */

int tld_alerts_out_gzip(const char *path)
{
    char gz[4400], tmp[4400];
    snprintf(gz, sizeof gz, "%s.gz", path);
    snprintf(tmp, sizeof tmp, "%s.gz.tmp", path);
    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return TLD_EIO;
    gzFile out = gzopen(tmp, "wb6");
    if (!out) {
        close(in);
        return TLD_EIO;
    }
    char *buf = malloc(1u << 20);
    int rc = buf ? 0 : TLD_ENOMEM;
    ssize_t n;
    while (rc == 0 && (n = read(in, buf, 1u << 20)) > 0)
        if (gzwrite(out, buf, (unsigned)n) != (int)n)
            rc = TLD_EIO;
    if (rc == 0 && n < 0)
        rc = TLD_EIO;
    free(buf);
    close(in);
    if (gzclose(out) != Z_OK)
        rc = TLD_EIO;
    if (rc == 0) {
        int fd = open(tmp, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            fsync(fd);
            close(fd);
        }
        if (rename(tmp, gz) != 0 || unlink(path) != 0)
            rc = TLD_EIO;
    }
    if (rc)
        unlink(tmp);
    return rc;
}

static void *gz_main(void *arg)
{
    struct tld_alerts_out *a = arg;
    for (unsigned i = 0; i < a->gz_n; i++) {
        if (tld_alerts_out_gzip(a->gz_list[i]) == 0)
            __atomic_add_fetch(&a->st.compressed, 1, __ATOMIC_RELAXED);
        else
            tld_log_error(a->o.log, "cannot compress %s", a->gz_list[i]);
    }
    return NULL;
}

static void gz_join(struct tld_alerts_out *a)
{
    if (a->gz_running) {
        pthread_join(a->gz, NULL);
        a->gz_running = false;
    }
    a->gz_n = 0;
}

static void gz_start(struct tld_alerts_out *a)
{
    if (a->gz_n && pthread_create(&a->gz, NULL, gz_main, a) == 0)
        a->gz_running = true;
}

/* Rotated files left uncompressed by an earlier run (e.g. killed while compressing). */
static void find_leftovers(struct tld_alerts_out *a, const char *base)
{
    DIR *y = opendir(base);
    if (!y)
        return;
    struct dirent *ye;
    while ((ye = readdir(y)) && a->gz_n < 4) {
        if (strlen(ye->d_name) != 4 || ye->d_name[0] < '1' || ye->d_name[0] > '9')
            continue;
        for (int m = 0; m < 12 && a->gz_n < 4; m++) {
            char dir[4400];
            snprintf(dir, sizeof dir, "%s/%s/%s", base, ye->d_name, months[m]);
            DIR *d = opendir(dir);
            if (!d)
                continue;
            struct dirent *e;
            while ((e = readdir(d)) && a->gz_n < 4) {
                size_t l = strlen(e->d_name);
                if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0 &&
                    strncmp(e->d_name, "ossec-", 6) == 0)
                    snprintf(a->gz_list[a->gz_n++], sizeof a->gz_list[0], "%.4000s/%.250s", dir,
                             e->d_name);
            }
            closedir(d);
        }
    }
    closedir(y);
}

/* ---- open / close ---------------------------------------------------------------------------- */

int tld_alerts_out_open(const struct tld_alerts_out_opts *o, struct tld_alerts_out **out,
                        struct tld_alerts_out_resume *resume)
{
    *out = NULL;
    memset(resume, 0, sizeof *resume);
    struct tld_alerts_out *a = calloc(1, sizeof *a);
    if (!a)
        return TLD_ENOMEM;
    a->o = *o;
    a->clock = o->clock ? *o->clock : TLD_CLOCK_SYSTEM;
    a->afd = a->rfd = a->sfd = -1;
    snprintf(a->adir, sizeof a->adir, "%s/alerts", o->logs_dir);
    snprintf(a->rdir, sizeof a->rdir, "%s/archives", o->logs_dir);
    snprintf(a->apath, sizeof a->apath, "%s/alerts.json", a->adir);
    snprintf(a->rpath, sizeof a->rpath, "%s/archives.json", a->rdir);
    snprintf(a->spath, sizeof a->spath, "%s", o->state_file);
    tld_sb_init(&a->abuf, 1u << 30);
    tld_sb_init(&a->rbuf, 1u << 30);
    int64_t amtime = 0;
    int rc = tld_mkdir_p(a->adir, 0750);
    if (rc == 0)
        rc = tld_mkdir_p(a->rdir, 0750);
    if (rc == 0)
        rc = open_file(a->apath, &a->afd, &a->asize, &a->aino, &amtime);
    if (rc == 0 && o->archives)
        rc = open_file(a->rpath, &a->rfd, &a->rsize, &a->rino, NULL);
    if (rc == 0) {
        a->sfd = open(a->spath, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
        if (a->sfd < 0)
            rc = TLD_EIO;
    }
    struct rec *r0 = NULL, *r1 = NULL;
    if (rc == 0) {
        r0 = malloc(sizeof *r0);
        r1 = malloc(sizeof *r1);
        if (!r0 || !r1)
            rc = TLD_ENOMEM;
    }
    if (rc == 0) {
        bool h0 = rec_read(a->sfd, 0, r0), h1 = rec_read(a->sfd, 1, r1);
        const struct rec *r = h0 && (!h1 || r0->gen > r1->gen) ? r0 : (h1 ? r1 : NULL);
        a->gen = r ? r->gen : 0;
        a->slot = r == r0 ? 1 : 0;
        rc = recover(a, r, r != NULL, resume);
        if (rc == 0) {
            a->day = r && r->a_ino == a->aino && r->day ? (int)r->day
                                                        : (a->asize ? day_of(amtime) : today(a));
            /* A record for the state after recovery, so a second crash before any new batch
             * recovers the same way. */
            memset(&a->cur, 0, sizeof a->cur);
            a->cur.p_start = a->cur.p_end = resume->next_index;
            a->cur.a_ino = a->aino;
            a->cur.a_start = a->asize;
            a->cur.r_ino = a->rino;
            a->cur.r_start = a->rsize;
            a->cur.day = (uint64_t)a->day;
            rc = rec_write(a, &a->cur);
            if (rc == 0 && fdatasync(a->sfd) != 0)
                rc = TLD_EIO;
        }
        a->committed_next = resume->next_index;
        a->st.alerts_bytes = a->asize;
    }
    free(r0);
    free(r1);
    if (rc) {
        tld_alerts_out_close(a);
        return rc;
    }
    find_leftovers(a, a->adir);
    find_leftovers(a, a->rdir);
    gz_start(a);
    *out = a;
    return 0;
}

void tld_alerts_out_close(struct tld_alerts_out *a)
{
    if (!a)
        return;
    gz_join(a);
    if (a->afd >= 0) {
        fdatasync(a->afd);
        close(a->afd);
    }
    if (a->rfd >= 0) {
        fdatasync(a->rfd);
        close(a->rfd);
    }
    if (a->sfd >= 0) {
        fdatasync(a->sfd);
        close(a->sfd);
    }
    tld_sb_fini(&a->abuf);
    tld_sb_fini(&a->rbuf);
    free(a);
}

/* ---- batches --------------------------------------------------------------------------------- */

void tld_alerts_out_begin(struct tld_alerts_out *a, uint64_t first)
{
    a->p_start = first;
    a->cur.n = 0;
    a->rlines = 0;
    tld_sb_reset(&a->abuf);
    tld_sb_reset(&a->rbuf);
}

unsigned tld_alerts_out_pending(const struct tld_alerts_out *a)
{
    return a->cur.n;
}

/* Decimal digits of v ending at `end`; returns where they start. */
static char *digits(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

static void append_with_id(struct tld_sb *b, int64_t time_s, uint64_t offset, struct tld_sv before,
                           struct tld_sv after)
{
    char id[48], *end = id + sizeof id;
    char *p = digits(end, offset);
    *--p = '.';
    p = digits(p, time_s > 0 ? (uint64_t)time_s : 0);
    tld_sb_append_sv(b, before);
    tld_sb_append(b, p, (size_t)(end - p));
    tld_sb_append_sv(b, after);
    tld_sb_append_char(b, '\n');
}

int tld_alerts_out_add_alert(struct tld_alerts_out *a, uint64_t index, int64_t time_s,
                             struct tld_sv before_id, struct tld_sv after_id)
{
    if (a->cur.n == TLD_ALERTS_OUT_BATCH)
        return TLD_ELIMIT;
    append_with_id(&a->abuf, time_s, a->asize + a->abuf.n, before_id, after_id);
    if (a->abuf.oom || a->abuf.truncated)
        return TLD_ENOMEM;
    a->cur.e[a->cur.n].index = index;
    a->cur.e[a->cur.n].end = a->asize + a->abuf.n;
    a->cur.n++;
    return 0;
}

int tld_alerts_out_add_archive(struct tld_alerts_out *a, int64_t time_s, struct tld_sv before_id,
                               struct tld_sv after_id)
{
    if (!a->o.archives)
        return 0;
    append_with_id(&a->rbuf, time_s, a->rsize + a->rbuf.n, before_id, after_id);
    a->rlines++;
    return a->rbuf.oom || a->rbuf.truncated ? TLD_ENOMEM : 0;
}

/*
 * A write failed (a full disk, EIO): cut both files back to their size before the batch, so no
 * partial line stays for a reader, and keep the batch so that the caller can commit it again.
 * A file that cannot be cut leaves a torn line that the next start removes (recover()); the
 * error is then TLD_EIO either way.
 */
static int cut_back(struct tld_alerts_out *a, int rc)
{
    if (ftruncate(a->afd, (off_t)a->asize) != 0)
        tld_log_error(a->o.log, "%s: cannot remove a partly written batch: %s", a->apath,
                      strerror(errno));
    if (a->rfd >= 0 && ftruncate(a->rfd, (off_t)a->rsize) != 0)
        tld_log_error(a->o.log, "%s: cannot remove a partly written batch: %s", a->rpath,
                      strerror(errno));
    return rc;
}

/* Reserve n bytes after `size` without changing the size. TLD_EIO only when the file system
 * said no space (or an I/O error); not supported is fine. */
static int reserve(int fd, uint64_t size, size_t n)
{
    if (fd < 0 || n == 0 || fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)size, (off_t)n) == 0)
        return 0;
    return errno == ENOSPC || errno == EIO || errno == EDQUOT || errno == EFBIG ? TLD_EIO : 0;
}

int tld_alerts_out_commit(struct tld_alerts_out *a, uint64_t next)
{
    if (a->cur.n == 0 && a->rbuf.n == 0) {
        a->committed_next = next;
        return 0;
    }
    a->cur.p_start = a->p_start;
    a->cur.p_end = next;
    a->cur.a_ino = a->aino;
    a->cur.a_start = a->asize;
    a->cur.r_ino = a->rino;
    a->cur.r_start = a->rsize;
    a->cur.r_lines = a->rlines;
    a->cur.day = (uint64_t)a->day;
    /* Space first, so that a full disk fails here and no reader sees a partial line even for
     * an instant; where reserving is not supported the write may still fail, and is cut back. */
    int rc = reserve(a->rfd, a->rsize, a->rbuf.n);
    if (rc == 0)
        rc = reserve(a->afd, a->asize, a->abuf.n);
    if (rc == 0)
        rc = rec_write(a, &a->cur);
    /* Archives before alerts: recovery relies on this order (alerts.h). */
    if (rc == 0 && a->rbuf.n)
        rc = tld_write_all(a->rfd, a->rbuf.p, a->rbuf.n);
    if (rc == 0 && a->abuf.n)
        rc = tld_write_all(a->afd, a->abuf.p, a->abuf.n);
    if (rc) {
        int err = errno;
        rc = cut_back(a, rc);
        if (!a->failing)
            tld_log_error(a->o.log, "cannot write alerts: %s", strerror(err));
        a->failing = true;
        return rc;
    }
    if (a->failing)
        tld_log_info(a->o.log, "alerts written again");
    a->failing = false;
    a->asize += a->abuf.n;
    a->rsize += a->rbuf.n;
    a->st.alerts += a->cur.n;
    a->st.archives += a->rlines;
    a->st.batches++;
    a->st.alerts_bytes = a->asize;
    a->committed_next = next;
    tld_alerts_out_begin(a, next);
    return 0;
}

int tld_alerts_out_sync(struct tld_alerts_out *a, uint64_t *durable_next)
{
    uint64_t next = a->committed_next;
    if (a->cur.n || a->rbuf.n)
        return TLD_EINVAL; /* commit first */
    if (a->recorded_next != next) {
        /* Events without output since the last record: record how far we are. */
        memset(&a->cur, 0, offsetof(struct rec, e));
        a->cur.p_start = a->cur.p_end = next;
        a->cur.a_ino = a->aino;
        a->cur.a_start = a->asize;
        a->cur.r_ino = a->rino;
        a->cur.r_start = a->rsize;
        a->cur.day = (uint64_t)a->day;
        if (rec_write(a, &a->cur) != 0)
            return TLD_EIO;
        tld_alerts_out_begin(a, next);
    }
    if (fdatasync(a->afd) != 0 || (a->rfd >= 0 && fdatasync(a->rfd) != 0) || fdatasync(a->sfd) != 0)
        return TLD_EIO;
    a->st.syncs++;
    *durable_next = next;
    return 0;
}

/* A free name "<dir>/<prefix>-DD[-N].json" for day `day`. */
static void rotated_name(const char *base, const char *prefix, int day, char *out, size_t n)
{
    int y = day / 10000, m = day / 100 % 100, d = day % 100;
    if (m < 1 || m > 12)
        m = 1;
    char dir[4400];
    snprintf(dir, sizeof dir, "%s/%04d/%s", base, y, months[m - 1]);
    tld_mkdir_p(dir, 0750);
    for (int k = 0; k < 1000; k++) {
        char suffix[16] = "";
        if (k)
            snprintf(suffix, sizeof suffix, "-%03d", k);
        snprintf(out, n, "%.4300s/%s-%02d%s.json", dir, prefix, d, suffix);
        char gz[4500];
        snprintf(gz, sizeof gz, "%s.gz", out);
        struct stat st;
        if (stat(out, &st) != 0 && stat(gz, &st) != 0)
            return;
    }
}

int tld_alerts_out_maybe_rotate(struct tld_alerts_out *a)
{
    int now = today(a);
    if (now == a->day || a->cur.n || a->rbuf.n)
        return 0;
    uint64_t durable;
    int rc = tld_alerts_out_sync(a, &durable);
    if (rc)
        return rc;
    gz_join(a);
    char dst[4400];
    if (a->asize) {
        rotated_name(a->adir, "ossec-alerts", a->day, dst, sizeof dst);
        if (rename(a->apath, dst) != 0)
            return TLD_EIO;
        snprintf(a->gz_list[a->gz_n++], sizeof a->gz_list[0], "%s", dst);
    }
    if (a->o.archives && a->rsize) {
        rotated_name(a->rdir, "ossec-archive", a->day, dst, sizeof dst);
        if (rename(a->rpath, dst) != 0)
            return TLD_EIO;
        snprintf(a->gz_list[a->gz_n++], sizeof a->gz_list[0], "%s", dst);
    }
    close(a->afd);
    a->afd = -1;
    if ((rc = open_file(a->apath, &a->afd, &a->asize, &a->aino, NULL)) != 0)
        return rc;
    if (a->o.archives) {
        close(a->rfd);
        a->rfd = -1;
        if ((rc = open_file(a->rpath, &a->rfd, &a->rsize, &a->rino, NULL)) != 0)
            return rc;
    }
    a->day = now;
    memset(&a->cur, 0, offsetof(struct rec, e));
    a->cur.p_start = a->cur.p_end = a->committed_next;
    a->cur.a_ino = a->aino;
    a->cur.r_ino = a->rino;
    a->cur.day = (uint64_t)a->day;
    if ((rc = rec_write(a, &a->cur)) != 0 || fdatasync(a->sfd) != 0)
        return rc ? rc : TLD_EIO;
    a->st.rotations++;
    a->st.alerts_bytes = 0;
    tld_log_info(a->o.log, "alerts rotated for the new day; compressing the previous files");
    gz_start(a);
    return 0;
}

void tld_alerts_out_stats(struct tld_alerts_out *a, struct tld_alerts_out_stats *st)
{
    *st = a->st;
    st->compressed = __atomic_load_n(&a->st.compressed, __ATOMIC_RELAXED);
}

int tld_alerts_out_live_day(const char *state_file, uint64_t ino, int *day)
{
    int fd = open(state_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TLD_ENOTFOUND : TLD_EIO;
    struct rec *r = malloc(2 * sizeof *r);
    if (!r) {
        close(fd);
        return TLD_ENOMEM;
    }
    bool h0 = rec_read(fd, 0, &r[0]), h1 = rec_read(fd, 1, &r[1]);
    close(fd);
    const struct rec *newest = h0 && (!h1 || r[0].gen > r[1].gen) ? &r[0] : (h1 ? &r[1] : NULL);
    int rc = newest && newest->a_ino == ino && newest->day ? 0 : TLD_ENOTFOUND;
    if (rc == 0)
        *day = (int)newest->day;
    free(r);
    return rc;
}
