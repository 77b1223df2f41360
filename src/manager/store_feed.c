/* The alert files read into the store from its position (see store_feed.h). */
#include "manager/store_feed.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/err.h"
#include "common/grow.h"
#include "manager/alerts_out.h"

#define READ_CHUNK    (4u << 20) /* a fill holds a few thousand alerts: one transaction */
#define DEFAULT_BATCH 5000u
#define MAX_SOURCES   100000u

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct source {
    uint64_t gen;
    bool gz;
    bool live;
    uint64_t ino; /* live: the inode the generation was worked out for */
    char path[4400];
};

struct sources {
    struct source *v;
    unsigned n, cap; /* cap <= MAX_SOURCES */
};

static struct source *sources_add(struct sources *l)
{
    if (l->n == l->cap) {
        if (l->cap >= MAX_SOURCES)
            return NULL;
        if (tld_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v, 64))
            return NULL;
    }
    struct source *s = &l->v[l->n++];
    memset(s, 0, sizeof *s);
    return s;
}

/* "ossec-alerts-DD[-NNN].json[.gz]" -> day of month, collision number, compressed. */
static bool rotated_parse(const char *name, int *dd, int *k, bool *gz)
{
    int n = 0, n2 = 0;
    *k = 0;
    if (sscanf(name, "ossec-alerts-%2d%n", dd, &n) != 1 || n != 15)
        return false;
    const char *p = name + n;
    if (p[0] == '-') {
        if (sscanf(p, "-%3d%n", k, &n2) != 1 || n2 != 4)
            return false;
        p += n2;
    }
    *gz = strcmp(p, ".json.gz") == 0;
    return (*gz || strcmp(p, ".json") == 0) && *dd >= 1 && *dd <= 31;
}

static int cmp_source(const void *a, const void *b)
{
    const struct source *x = a, *y = b;
    if (x->gen != y->gen)
        return x->gen < y->gen ? -1 : 1;
    return (int)x->gz - (int)y->gz; /* the uncompressed copy first */
}

static int scan_month(const char *dir, int day_base, struct sources *l)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        int dd, k;
        bool gz;
        if (!rotated_parse(e->d_name, &dd, &k, &gz))
            continue;
        struct source *s = sources_add(l);
        if (!s) {
            rc = TLD_ENOMEM;
            break;
        }
        s->gen = (uint64_t)(day_base + dd) * 1000 + (uint64_t)k;
        s->gz = gz;
        snprintf(s->path, sizeof s->path, "%.4000s/%.300s", dir, e->d_name);
    }
    closedir(d);
    return rc;
}

static int scan_rotated(const char *base, struct sources *l)
{
    DIR *y = opendir(base);
    if (!y)
        return errno == ENOENT ? 0 : TLD_EIO;
    struct dirent *ye;
    int rc = 0;
    while (rc == 0 && (ye = readdir(y))) {
        int year, n = 0;
        if (sscanf(ye->d_name, "%4d%n", &year, &n) != 1 || n != 4 || ye->d_name[4])
            continue;
        for (int m = 0; rc == 0 && m < 12; m++) {
            char dir[4400];
            snprintf(dir, sizeof dir, "%.4000s/%s/%s", base, ye->d_name, months[m]);
            rc = scan_month(dir, year * 10000 + (m + 1) * 100, l);
        }
    }
    closedir(y);
    return rc;
}

static int local_day(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* alerts.json under the generation its rotated name will have: the writer's day, and the first
 * collision number that day has free. */
static int add_live(const struct tld_store_feed_opts *o, struct sources *l)
{
    char path[4400];
    snprintf(path, sizeof path, "%.4300s/alerts.json", o->alerts_dir);
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? 0 : TLD_EIO;
    int day;
    if (tld_alerts_out_live_day(o->ckpt, (uint64_t)st.st_ino, &day) != 0)
        day = local_day(st.st_size ? st.st_mtim.tv_sec : time(NULL));
    uint64_t gen = (uint64_t)day * 1000;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].gen / 1000 == (uint64_t)day && l->v[i].gen >= gen)
            gen = l->v[i].gen + 1;
    struct source *s = sources_add(l);
    if (!s)
        return TLD_ENOMEM;
    s->gen = gen;
    s->live = true;
    s->ino = (uint64_t)st.st_ino;
    snprintf(s->path, sizeof s->path, "%s", path);
    return 0;
}

/* Every alert file in generation order, one entry per generation. */
static int list_sources(const struct tld_store_feed_opts *o, struct sources *l)
{
    int rc = scan_rotated(o->alerts_dir, l);
    if (rc == 0)
        rc = add_live(o, l);
    if (rc)
        return rc;
    if (l->n) /* no file yet: l->v is NULL, which qsort must not get */
        qsort(l->v, l->n, sizeof *l->v, cmp_source);
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (w && l->v[w - 1].gen == l->v[i].gen)
            continue; /* the .gz of a file whose compression is finishing */
        if (o->since_day && !l->v[i].live && l->v[i].gen / 1000 < (uint64_t)o->since_day)
            continue;
        l->v[w++] = l->v[i];
    }
    l->n = w;
    return 0;
}

/* ---- reading one file --------------------------------------------------------------------------
 */

struct reader {
    int fd;
    gzFile gz;
};

static int reader_open(const struct source *s, uint64_t from, struct reader *r)
{
    r->fd = open(s->path, O_RDONLY | O_CLOEXEC);
    r->gz = NULL;
    if (r->fd < 0)
        return errno == ENOENT ? TLD_EAGAIN : TLD_EIO; /* rotated or compressed meanwhile */
    if (s->live) {
        struct stat st;
        if (fstat(r->fd, &st) != 0 || (uint64_t)st.st_ino != s->ino) {
            close(r->fd);
            r->fd = -1;
            return TLD_EAGAIN; /* rotated since it was listed: list again */
        }
    }
    if (!s->gz)
        return lseek(r->fd, (off_t)from, SEEK_SET) < 0 ? TLD_EIO : 0;
    r->gz = gzdopen(r->fd, "rb");
    if (!r->gz) {
        close(r->fd);
        r->fd = -1;
        return TLD_ENOMEM;
    }
    r->fd = -1;
    gzbuffer(r->gz, 256u << 10);
    return from && gzseek(r->gz, (z_off_t)from, SEEK_SET) != (z_off_t)from ? TLD_EIO : 0;
}

static ssize_t reader_read(struct reader *r, char *buf, size_t n)
{
    if (r->gz) {
        int got = gzread(r->gz, buf, (unsigned)n);
        return got < 0 ? -1 : got;
    }
    ssize_t got;
    do
        got = read(r->fd, buf, n);
    while (got < 0 && errno == EINTR);
    return got;
}

static void reader_close(struct reader *r)
{
    if (r->gz)
        gzclose(r->gz);
    if (r->fd >= 0)
        close(r->fd);
}

/* Called with each complete line of a file after `from`. The lines of one buffer fill stay in
 * place until `fill_done` (when not NULL) returns, so a batch can point into them. */
typedef int (*line_fn)(void *ctx, const char *p, size_t n, uint64_t end);
typedef int (*fill_fn)(void *ctx);

static int each_line(const struct source *s, uint64_t from, line_fn fn, fill_fn fill_done,
                     void *ctx)
{
    struct reader r;
    int rc = reader_open(s, from, &r);
    if (rc)
        return rc;
    size_t cap = READ_CHUNK, len = 0;
    char *buf = malloc(cap);
    uint64_t base = from; /* file offset of buf[0] */
    if (!buf)
        rc = TLD_ENOMEM;
    while (rc == 0) {
        if (len == cap) { /* one line longer than the buffer */
            char *b = realloc(buf, cap * 2);
            if (!b) {
                rc = TLD_ENOMEM;
                break;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t got = reader_read(&r, buf + len, cap - len);
        if (got < 0)
            rc = TLD_EIO;
        if (got <= 0)
            break;
        size_t scan = len, start = 0;
        len += (size_t)got;
        for (size_t i = scan; rc == 0 && i < len; i++) {
            if (buf[i] != '\n')
                continue;
            rc = fn(ctx, buf + start, i - start, base + i + 1);
            start = i + 1;
        }
        if (rc == 0 && fill_done)
            rc = fill_done(ctx);
        memmove(buf, buf + start, len - start);
        len -= start;
        base += start;
    }
    free(buf);
    reader_close(&r);
    return rc;
}

/* ---- ingest ------------------------------------------------------------------------------------
 */

struct feed {
    struct tld_store *s;
    uint64_t gen;
    struct tld_store_line *lines;
    unsigned n, batch;
    uint64_t stored;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int feed_flush(void *ctx)
{
    struct feed *f = ctx;
    if (!f->n)
        return 0;
    struct tld_store_batch b = {f->lines, f->n, now_ms()};
    size_t stored = 0;
    int rc = tld_store_ingest(f->s, &b, &stored);
    f->stored += stored;
    f->n = 0;
    return rc;
}

static int feed_line(void *ctx, const char *p, size_t n, uint64_t end)
{
    struct feed *f = ctx;
    if (!n)
        return 0; /* not an alert; the next line's end moves the position past it */
    f->lines[f->n++] = (struct tld_store_line){p, n, {f->gen, end}};
    return f->n == f->batch ? feed_flush(f) : 0;
}

/* A batch points into the reader's buffer, so it is stored at the end of every buffer fill. */
static int feed_source(struct feed *f, const struct source *src, uint64_t from)
{
    f->gen = src->gen;
    int rc = each_line(src, from, feed_line, feed_flush, f);
    f->n = 0;
    return rc;
}

static uint64_t start_in(const struct source *src, struct tld_store_pos pos)
{
    return src->gen == pos.gen ? pos.off : 0;
}

int tld_store_feed_run(struct tld_store *s, const struct tld_store_feed_opts *o, uint64_t *stored)
{
    *stored = 0;
    struct tld_store_pos pos;
    int rc = tld_store_position(s, &pos);
    if (rc)
        return rc;
    struct sources l = {0};
    struct feed f = {s, 0, NULL, 0, o->batch ? o->batch : DEFAULT_BATCH, 0};
    rc = list_sources(o, &l);
    if (rc == 0 && !(f.lines = malloc(f.batch * sizeof *f.lines)))
        rc = TLD_ENOMEM;
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        if (l.v[i].gen >= pos.gen)
            rc = feed_source(&f, &l.v[i], start_in(&l.v[i], pos));
    *stored = f.stored;
    free(f.lines);
    free(l.v);
    return rc;
}

static int count_line(void *ctx, const char *p, size_t n, uint64_t end)
{
    (void)p;
    (void)end;
    struct tld_store_feed_lag *lag = ctx;
    lag->bytes += n + 1;
    lag->alerts += n != 0;
    return 0;
}

int tld_store_feed_lag(const struct tld_store_feed_opts *o, struct tld_store_pos pos,
                       struct tld_store_feed_lag *lag)
{
    memset(lag, 0, sizeof *lag);
    struct sources l = {0};
    int rc = list_sources(o, &l);
    for (size_t i = 0; rc == 0 && i < l.n; i++)
        if (l.v[i].gen >= pos.gen)
            rc = each_line(&l.v[i], start_in(&l.v[i], pos), count_line, NULL, lag);
    free(l.v);
    return rc;
}
