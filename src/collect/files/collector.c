/*
 * The collector loop (guarantees in collector.h): discovery of files by glob and inotify,
 * start-up recovery (checkpoint + spool scan), passes over active streams, periodic checks,
 * commits and checkpoints.
 *
 * One pass: wait for inotify or the stop descriptor (not at all while some stream has more to
 * read), handle the events, rescan patterns when something was created, read every active
 * stream up to a budget, commit what was pushed, and checkpoint when due.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/ckpt.h"
#include "collect/docker/cinfo.h"
#include "collect/files/internal.h"
#include "common/err.h"
#include "common/grow.h"

#define TICK_NS    1000000000LL
#define STALL_WAIT 50 /* ms between retries while the spool is full */

bool tld_collector_container_id(const char *path, char id[65])
{
    const char *base = strrchr(path, '/');
    if (!base || base - path < 65)
        return false;
    const char *dir = base - 64;
    if (dir[-1] != '/' || !tld_cinfo_is_id(dir, 64))
        return false;
    if (strncmp(base + 1, dir, 64) != 0 || strncmp(base + 65, "-json.log", 9) != 0)
        return false;
    memcpy(id, dir, 64);
    id[64] = 0;
    return true;
}

/* ---- stream table ---------------------------------------------------------------------------- */

static unsigned hash_path(const char *p)
{
    return (unsigned)(tld_positions_hash(p, strlen(p)) % HBUCKETS);
}

static struct stream *find_stream(struct tld_collector *c, const char *path)
{
    for (struct stream *s = c->htab[hash_path(path)]; s; s = s->hnext)
        if (strcmp(s->path, path) == 0)
            return s;
    return NULL;
}

static int add_stream(struct tld_collector *c, struct stream *st)
{
    if (tld_grow(&c->streams, &c->capstreams, c->nstreams + 1, sizeof *c->streams, 64))
        return TLD_ENOMEM;
    c->streams[c->nstreams++] = st;
    unsigned h = hash_path(st->path);
    st->hnext = c->htab[h];
    c->htab[h] = st;
    return 0;
}

static void remove_stream(struct tld_collector *c, unsigned i)
{
    struct stream *st = c->streams[i];
    struct stream **pp = &c->htab[hash_path(st->path)];
    while (*pp != st)
        pp = &(*pp)->hnext;
    *pp = st->hnext;
    c->streams[i] = c->streams[--c->nstreams];
    tld_stream_free(st);
}

/* ---- discovery ------------------------------------------------------------------------------- */

static bool excluded(const struct tld_localfile *lf, const char *path)
{
    for (unsigned i = 0; i < lf->nexclude; i++)
        if (fnmatch(lf->exclude[i], path, FNM_PATHNAME) == 0)
            return true;
    return false;
}

static bool too_old(struct tld_collector *c, const struct tld_localfile *lf, const struct stat *sb)
{
    if (!lf->age_s)
        return false;
    int64_t mt = (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec;
    return now_ns(c) - mt > lf->age_s * 1000000000LL;
}

static struct stream *new_stream(struct tld_collector *c, const char *path,
                                 const struct tld_localfile *lf)
{
    if (c->nstreams >= c->cfg->max_files) {
        if (c->st.refused_files++ == 0)
            tld_log_warn(c->log,
                         "collector: more than %u files match; %s and later ones are not "
                         "followed (raise <max_files>)",
                         c->cfg->max_files, path);
        return NULL;
    }
    struct stream *st = tld_stream_new(c, path, lf);
    if (!st || add_stream(c, st) != 0) {
        tld_stream_free(st);
        return NULL;
    }
    return st;
}

static bool head_ok(int fd, const struct tld_position *pos)
{
    uint64_t h;
    return pos->head_len == 0 || (tld_stream_head(fd, pos->head_len, &h) && h == pos->head_hash);
}

struct sibling {
    char name[256];
    long num;
    uint64_t ino, dev, size;
};

static int cmp_sibling(const void *a, const void *b)
{
    const struct sibling *x = a, *y = b;
    return (x->num < y->num) - (x->num > y->num);
}

#define SIBLING_PATH 4400

/* Open a sibling read-only; its full path is left in p for messages. The fd, or -1. */
static int open_sibling(const char *dir, const struct sibling *s, char p[SIBLING_PATH])
{
    snprintf(p, SIBLING_PATH, "%.4000s/%.255s", dir, s->name);
    return open(p, O_RDONLY | O_CLOEXEC);
}

/* Continue st with fd from the saved offset when fd is open and starts with the saved head;
 * otherwise close it. True when st took it. */
static bool resume_if_same_head(struct tld_collector *c, struct stream *st, int fd,
                                const struct tld_position *pos)
{
    if (fd >= 0 && head_ok(fd, pos)) {
        tld_stream_add_file(c, st, fd, pos->off, true);
        return true;
    }
    if (fd >= 0)
        close(fd);
    return false;
}

/*
 * Resume a path from a saved position: the file at the path if it is still the same one,
 * otherwise the file found by its inode among the rotated siblings (finished from the saved
 * offset, followed by the newer rotated files and the current one), otherwise a copy with the
 * same head (copy-truncate while the agent was down), otherwise the current file from 0.
 */
static void open_resumed(struct tld_collector *c, const struct tld_localfile *lf, const char *path,
                         const struct tld_position *pos)
{
    struct stream *st = new_stream(c, path, lf);
    if (!st)
        return;
    int cur = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (cur >= 0 && fstat(cur, &sb) == 0 && (uint64_t)sb.st_ino == pos->ino &&
        (uint64_t)sb.st_dev == pos->dev && (uint64_t)sb.st_size >= pos->off && head_ok(cur, pos)) {
        tld_stream_add_file(c, st, cur, pos->off, false);
        return;
    }
    char dir[4096];
    const char *slash = strrchr(path, '/');
    size_t dn = (size_t)(slash - path), bn = strlen(slash + 1);
    memcpy(dir, path, dn);
    dir[dn] = 0;
    struct sibling sib[32];
    unsigned ns = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) && ns < 32) {
        if (strncmp(e->d_name, slash + 1, bn) != 0 || e->d_name[bn] == 0 ||
            strlen(e->d_name) >= sizeof sib[0].name)
            continue;
        struct stat s2;
        if (fstatat(dirfd(d), e->d_name, &s2, 0) != 0 || !S_ISREG(s2.st_mode))
            continue;
        char *endp;
        long num = e->d_name[bn] == '.' ? strtol(e->d_name + bn + 1, &endp, 10) : -1;
        if (num >= 0 && *endp)
            num = -1;
        snprintf(sib[ns].name, sizeof sib[ns].name, "%s", e->d_name);
        sib[ns].num = num;
        sib[ns].ino = (uint64_t)s2.st_ino;
        sib[ns].dev = (uint64_t)s2.st_dev;
        sib[ns].size = (uint64_t)s2.st_size;
        ns++;
    }
    if (d)
        closedir(d);
    qsort(sib, ns, sizeof *sib, cmp_sibling);
    int found = -1;
    for (unsigned i = 0; i < ns && found < 0; i++) {
        if (sib[i].ino != pos->ino || sib[i].dev != pos->dev || sib[i].size < pos->off)
            continue;
        char p[SIBLING_PATH];
        if (resume_if_same_head(c, st, open_sibling(dir, &sib[i], p), pos)) {
            found = (int)i;
            tld_log_info(c->log,
                         "collector: %s: finishing %s from offset %llu (rotated while "
                         "stopped)",
                         path, p, (unsigned long long)pos->off);
        }
    }
    if (found >= 0 && sib[found].num > 0) {
        for (unsigned i = 0; i < ns; i++) { /* newer numbered siblings, oldest first */
            if (sib[i].num <= 0 || sib[i].num >= sib[found].num)
                continue;
            char p[SIBLING_PATH];
            int fd = open_sibling(dir, &sib[i], p);
            if (fd >= 0)
                tld_stream_add_file(c, st, fd, 0, true);
        }
    } else if (found < 0 && pos->head_len) {
        for (unsigned i = 0; i < ns && found < 0; i++) {
            if (sib[i].size < pos->off)
                continue;
            char p[SIBLING_PATH];
            if (resume_if_same_head(c, st, open_sibling(dir, &sib[i], p), pos)) {
                found = (int)i;
                c->st.copies_found++;
            }
        }
    }
    if (found < 0 && pos->off > 0) {
        c->st.files_missed++;
        tld_log_warn(c->log,
                     "collector: %s: the file last read up to offset %llu is gone; reading the "
                     "current file from its start",
                     path, (unsigned long long)pos->off);
    }
    if (cur >= 0) {
        if (tld_stream_add_file(c, st, cur, 0, false) != 0)
            tld_log_warn(c->log, "collector: %s: cannot follow", path);
    }
}

/* Open a path that has no saved position. */
static void open_new(struct tld_collector *c, const struct tld_localfile *lf, const char *path,
                     bool from_end)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        tld_log_warn(c->log, "collector: %s: cannot open: %s", path, strerror(errno));
        return;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return;
    }
    struct stream *st = new_stream(c, path, lf);
    if (!st) {
        close(fd);
        return;
    }
    uint64_t off = 0;
    if (from_end) {
        off = (uint64_t)sb.st_size;
        /* start after the last complete line so a line being written is not cut */
        char b[4096];
        uint64_t back = off < sizeof b ? off : sizeof b;
        ssize_t n = back ? pread(fd, b, back, (off_t)(off - back)) : 0;
        if (n == (ssize_t)back && back) {
            const char *nl = memrchr(b, '\n', back);
            if (nl)
                off = off - back + (uint64_t)(nl - b) + 1;
        }
    }
    tld_stream_add_file(c, st, fd, off, false);
}

/*
 * A path that appeared while running: every file the watcher opened for it, oldest first
 * (a fast writer may have rotated it already), then the file there now; all from offset 0.
 */
static void open_fresh(struct tld_collector *c, const struct tld_localfile *lf, const char *path)
{
    /* The file at the path first, then the watcher's files: each file created until the
     * stat is then held, so none comes later and out of order. */
    struct stat sb;
    bool have_cur = stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
    struct tld_preopened pre[MAX_FILES_PER_STREAM];
    tld_watcher_sync(c->watcher);
    unsigned n = tld_watcher_take(c->watcher, path, pre, MAX_FILES_PER_STREAM - 1);
    struct stream *st = new_stream(c, path, lf);
    bool cur_taken = false;
    for (unsigned i = 0; i < n; i++) {
        bool is_cur = have_cur && pre[i].ino == (uint64_t)sb.st_ino;
        if (!st || tld_stream_add_file(c, st, pre[i].fd, 0, !is_cur) != 0)
            continue; /* add_file closed it (or no stream: close below) */
        cur_taken |= is_cur;
    }
    if (!st) {
        for (unsigned i = 0; i < n; i++)
            close(pre[i].fd);
        return;
    }
    if (have_cur && !cur_taken) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
            tld_stream_add_file(c, st, fd, 0, false);
    }
}

/* Match the patterns against the file system and follow what is new. */
static void discover(struct tld_collector *c, bool startup)
{
    for (unsigned k = 0; k < c->cfg->nfiles; k++) {
        const struct tld_localfile *lf = &c->cfg->files[k];
        if (!lf->location)
            continue;
        tld_watcher_add_pattern(c->watcher, lf->location);
        glob_t g;
        int grc = glob(lf->location, GLOB_NOSORT, NULL, &g);
        for (size_t i = 0; grc == 0 && i < g.gl_pathc; i++) {
            const char *path = g.gl_pathv[i];
            struct stat sb;
            if (find_stream(c, path) || excluded(lf, path) || stat(path, &sb) != 0 ||
                !S_ISREG(sb.st_mode) || too_old(c, lf, &sb))
                continue;
            const struct tld_position *pos = tld_positions_get(&c->prev, path, false);
            if (pos)
                open_resumed(c, lf, path, pos);
            else if (!startup)
                open_fresh(c, lf, path); /* appeared while running: from the start */
            else if (c->first_start || !tld_positions_has_pattern(&c->prev, lf->location))
                open_new(c, lf, path, lf->only_future);
            else
                open_new(c, lf, path, false); /* appeared while the agent was stopped */
        }
        globfree(&g);
        if (!startup)
            continue;
        /* Saved paths that have no file now but whose last file was renamed away. */
        for (unsigned i = 0; i < c->prev.n; i++) {
            const struct tld_position *pos = &c->prev.v[i];
            if (find_stream(c, pos->path) || fnmatch(lf->location, pos->path, FNM_PATHNAME) ||
                excluded(lf, pos->path) || access(pos->path, F_OK) == 0)
                continue;
            open_resumed(c, lf, pos->path, pos);
            struct stream *st = find_stream(c, pos->path);
            if (st && st->nfiles == 0)
                remove_stream(c, c->nstreams - 1);
        }
    }
}

/* ---- start-up recovery ---------------------------------------------------------------------- */

static int scan_cb(void *ctx, uint64_t seq, struct tld_sv payload)
{
    struct tld_collector *c = ctx;
    struct tld_evrec r;
    static __thread struct tld_evrec_labels lb;
    if (tld_evrec_decode(payload.p, payload.n, &r, &lb) != 0 || !(r.flags & TLD_EVREC_FILE_POS))
        return 0;
    char path[TLD_EVREC_MAX_LOCATION + 1];
    memcpy(path, r.location.p, r.location.n);
    path[r.location.n] = 0;
    struct tld_position *pos = tld_positions_get(&c->prev, path, true);
    if (!pos)
        return 0;
    if (pos->ino != r.file_ino || pos->dev != r.file_dev)
        pos->head_len = 0; /* another file than the checkpoint knew: trust the inode */
    pos->dev = r.file_dev;
    pos->ino = r.file_ino;
    pos->off = r.file_offset;
    (void)seq;
    return 0;
}

static int recover(struct tld_collector *c)
{
    int rc = tld_positions_load(c->state_file, &c->prev);
    if (rc == TLD_ENOTFOUND) {
        c->first_start = true;
    } else if (rc == TLD_EFORMAT) {
        /* Starting over would read every file again: refuse instead. */
        tld_log_error(c->log, "collector: %s: %s", c->state_file, tld_err_str(rc));
        return rc;
    } else if (rc != 0) {
        tld_log_error(c->log,
                      "collector: %s is damaged or unreadable (%s); positions come from the "
                      "spool only and files without one follow only-future-events",
                      c->state_file, tld_err_str(rc));
        c->first_start = true;
    }
    uint64_t from = c->prev.spool_seq + 1;
    rc = tld_spool_scan(c->spool, from, scan_cb, c);
    struct tld_spool_stats ss;
    tld_spool_stats(c->spool, &ss);
    c->last_seq = ss.committed_seq;
    tld_spool_retain(c->spool, c->holder, c->prev.spool_seq);
    return rc;
}

/* ---- checkpoints ----------------------------------------------------------------------------- */

static int save_snapshot(void *ctx, void *snap)
{
    struct tld_collector *c = ctx;
    int rc = tld_positions_save(c->state_file, snap);
    if (rc != 0)
        tld_log_warn(c->log, "collector: cannot write %s: %s", c->state_file, strerror(errno));
    return rc;
}

static void free_snapshot(void *snap)
{
    tld_positions_fini(snap);
    free(snap);
}

/* Hand the checkpoint writer a copy of the positions: every record up to last_seq is
 * committed, so they are consistent with the spool once it is synced. */
static void checkpoint(struct tld_collector *c)
{
    for (unsigned i = 0; i < c->nstreams; i++) {
        const struct stream *st = c->streams[i];
        if (!st->resume_set)
            continue;
        struct tld_position *p = tld_positions_get(&c->prev, st->path, true);
        if (!p)
            continue;
        p->dev = st->resume.dev;
        p->ino = st->resume.ino;
        p->off = st->resume.off;
        p->head_len = st->resume.head_len;
        p->head_hash = st->resume.head_hash;
    }
    for (unsigned k = 0; k < c->cfg->nfiles; k++)
        if (c->cfg->files[k].location)
            tld_positions_add_pattern(&c->prev, c->cfg->files[k].location);
    /* Every record of ours is committed here and this thread pushes no other: the positions
     * account for every record up to the spool's end, other sources' ones included. Checking
     * in at that point lets the spool delete what the others wrote and was acknowledged. */
    struct tld_spool_stats ss;
    tld_spool_stats(c->spool, &ss);
    if (ss.committed_seq > c->last_seq)
        c->last_seq = ss.committed_seq;
    c->prev.spool_seq = c->last_seq;
    struct tld_positions *snap = malloc(sizeof *snap);
    if (!snap)
        return;
    tld_positions_init(snap);
    snap->spool_seq = c->prev.spool_seq;
    bool ok = true;
    for (unsigned i = 0; ok && i < c->prev.npatterns; i++)
        ok = tld_positions_add_pattern(snap, c->prev.patterns[i]) == 0;
    for (unsigned i = 0; ok && i < c->prev.n; i++) {
        struct tld_position *d = tld_positions_get(snap, c->prev.v[i].path, true);
        if (!d) {
            ok = false;
            break;
        }
        char *path = d->path;
        *d = c->prev.v[i];
        d->path = path;
    }
    if (!ok) {
        free_snapshot(snap);
        return;
    }
    tld_ckpt_submit(c->ckpt, snap, c->last_seq);
    c->dirty = false;
}

/* ---- events ---------------------------------------------------------------------------------- */

static void on_watch(void *ctx, const char *dir, const char *name, uint32_t mask)
{
    struct tld_collector *c = ctx;
    if ((mask & IN_Q_OVERFLOW) || !name[0]) {
        c->rescan = true;
        for (unsigned i = 0; i < c->nstreams; i++)
            c->streams[i]->check_rot = c->streams[i]->active = true;
        return;
    }
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);
    struct stream *st = find_stream(c, path);
    if (st) {
        if (mask & IN_MODIFY)
            st->active = true;
        else
            st->check_rot = true;
    }
    if (mask & (IN_CREATE | IN_MOVED_TO))
        c->rescan = true;
}

static void publish(struct tld_collector *c)
{
    c->st.streams = c->nstreams;
    if (c->ckpt)
        c->st.checkpoints = tld_ckpt_saved(c->ckpt);
    pthread_mutex_lock(&c->pub_mu);
    c->pub = c->st;
    pthread_mutex_unlock(&c->pub_mu);
}

static void tick(struct tld_collector *c, int64_t now)
{
    for (unsigned i = 0; i < c->nstreams; i++) {
        struct stream *st = c->streams[i];
        tld_stream_check(c, st);
        tld_stream_tick(c, st, now);
        if (st->nfiles == 0 && !st->pend.on && access(st->path, F_OK) != 0) {
            /* Gone and finished: forget it (a new file there is a new stream from 0). */
            tld_positions_del(&c->prev, st->path);
            c->dirty = true;
            remove_stream(c, i--);
        }
    }
}

/* Other sources wrote since our last checkpoint (see checkpoint()). */
static bool behind(struct tld_collector *c)
{
    struct tld_spool_stats ss;
    tld_spool_stats(c->spool, &ss);
    return ss.committed_seq > c->prev.spool_seq && !c->uncommitted;
}

int tld_collector_run(struct tld_collector *c)
{
    discover(c, true);
    c->next_rescan_ns = now_ns(c) + (int64_t)c->cfg->scan_frequency_s * 1000000000;
    c->next_tick_ns = now_ns(c) + TICK_NS;
    c->dirty = true;
    bool busy = true, stalled = false;
    while (!atomic_load(&c->stopping)) {
        int timeout = busy ? 0 : stalled ? STALL_WAIT : 1000;
        int64_t now = now_ns(c);
        if (!busy && c->next_tick_ns - now < (int64_t)timeout * 1000000)
            timeout = c->next_tick_ns > now ? (int)((c->next_tick_ns - now) / 1000000) : 0;
        struct pollfd pfd[3] = {{tld_watcher_fd(c->watcher), POLLIN, 0},
                                {tld_watcher_modify_fd(c->watcher), POLLIN, 0},
                                {c->stop_fd, POLLIN, 0}};
        if (poll(pfd, 3, timeout) > 0) {
            if ((pfd[0].revents & POLLIN) && tld_watcher_drain(c->watcher, on_watch, c))
                on_watch(c, "", "", IN_Q_OVERFLOW);
            if (pfd[1].revents & POLLIN)
                tld_watcher_drain_modify(c->watcher, on_watch, c);
        }
        now = now_ns(c);
        if (c->rescan || now >= c->next_rescan_ns) {
            c->rescan = false;
            discover(c, false);
            c->next_rescan_ns = now + (int64_t)c->cfg->scan_frequency_s * 1000000000;
        }
        if (now >= c->next_tick_ns) {
            tick(c, now);
            c->next_tick_ns = now + TICK_NS;
        }
        busy = stalled = false;
        for (unsigned i = 0; i < c->nstreams; i++) {
            struct stream *st = c->streams[i];
            if (st->check_rot)
                tld_stream_check(c, st);
            if (!st->active && !st->pend.on)
                continue;
            enum pump_rc r = tld_stream_pump(c, st);
            st->active = r != PUMP_IDLE;
            busy |= r == PUMP_MORE;
            stalled |= r == PUMP_STALLED;
        }
        if (stalled)
            busy = false; /* wait a little for the consumer instead of spinning */
        if (c->uncommitted) {
            if (tld_spool_commit(c->spool) == 0)
                c->uncommitted = false;
        }
        if ((c->dirty || behind(c)) && now - c->last_checkpoint_ns >= c->checkpoint_ns) {
            checkpoint(c);
            c->last_checkpoint_ns = now;
        }
        publish(c);
    }
    tld_spool_commit(c->spool);
    checkpoint(c);
    tld_ckpt_stop(c->ckpt); /* writes this last checkpoint */
    c->ckpt = NULL;
    publish(c);
    return 0;
}

void tld_collector_stop(struct tld_collector *c)
{
    atomic_store(&c->stopping, true);
    uint64_t one = 1;
    if (write(c->stop_fd, &one, sizeof one) < 0) {
        /* the flag alone stops the loop within a second */
    }
}

void tld_collector_stats(struct tld_collector *c, struct tld_collector_stats *st)
{
    pthread_mutex_lock(&c->pub_mu);
    *st = c->pub;
    pthread_mutex_unlock(&c->pub_mu);
}

int tld_collector_new(const struct tld_collector_opts *o, struct tld_collector **out)
{
    *out = NULL;
    struct tld_collector *c = calloc(1, sizeof *c);
    if (!c)
        return TLD_ENOMEM;
    c->cfg = o->cfg;
    c->spool = o->spool;
    c->holder = o->spool_holder;
    c->log = o->log;
    c->clock = o->clock ? *o->clock : TLD_CLOCK_SYSTEM;
    c->meta = o->meta;
    c->checkpoint_ns = (int64_t)(o->checkpoint_ms ? o->checkpoint_ms : 1000) * 1000000;
    c->rotate_wait_ns = (int64_t)(o->rotate_wait_ms ? o->rotate_wait_ms : 2000) * 1000000;
    c->stop_fd = -1;
    pthread_mutex_init(&c->pub_mu, NULL);
    tld_positions_init(&c->prev);
    size_t smax = c->cfg->max_message > DOCKER_PHYS_MAX ? c->cfg->max_message : DOCKER_PHYS_MAX;
    tld_sb_init(&c->scratch, smax);
    int rc = TLD_ENOMEM;
    if (!(c->state_file = strdup(o->state_file)) || !(c->rbuf = malloc(READ_BUF)))
        goto fail;
    rc = TLD_EIO;
    if ((c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        goto fail;
    if ((rc = tld_watcher_new(c->cfg, c->log, &c->watcher)) != 0 ||
        (rc = tld_watcher_start(c->watcher)) != 0)
        goto fail;
    if ((rc = recover(c)) != 0)
        goto fail;
    struct tld_ckpt_ops ops = {save_snapshot, free_snapshot, c};
    if ((rc = tld_ckpt_start(c->spool, c->holder, &ops, &c->ckpt)) != 0)
        goto fail;
    checkpoint(c); /* releases the records the start-up scan has just accounted for */
    *out = c;
    return 0;
fail:
    tld_collector_free(c);
    return rc;
}

void tld_collector_free(struct tld_collector *c)
{
    if (!c)
        return;
    tld_ckpt_stop(c->ckpt);
    while (c->nstreams)
        remove_stream(c, c->nstreams - 1);
    free(c->streams);
    tld_watcher_free(c->watcher);
    if (c->stop_fd >= 0)
        close(c->stop_fd);
    tld_positions_fini(&c->prev);
    tld_sb_fini(&c->scratch);
    free(c->rbuf);
    free(c->state_file);
    pthread_mutex_destroy(&c->pub_mu);
    free(c);
}
