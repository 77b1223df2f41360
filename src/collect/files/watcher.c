/*
 * Watcher thread (see watcher.h). One mutex guards the pre-opened table and the event queue;
 * the thread holds it only to append, never while it waits or opens files.
 */
#include "collect/files/watcher.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/err.h"

#define WATCHER_NICE -10

#define STRUCTURE_MASK                                                                             \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF |            \
     IN_MOVE_SELF)

struct held {
    char *path; /* where it was created */
    struct tld_preopened f;
    int64_t t_ns;
};

struct qev {
    char *dir, *name;
    uint32_t mask;
};

struct tld_watcher {
    const struct tld_collect_config *cfg;
    struct tld_log *log;
    struct tld_watch *watch; /* structure events: read by the watcher thread */
    struct tld_watch *mod;   /* writes: read by the collector (a flood of them must not delay
                                or overflow the events that say a file was created) */
    int stop_fd, event_fd;
    pthread_t thread;
    bool started;
    pthread_mutex_t drain_mu; /* one reader of the structure events at a time */
    pthread_mutex_t mu;
    struct held held[TLD_WATCHER_MAX_OPEN];
    unsigned nheld;
    uint64_t order, dropped;
    struct qev *q, *spare; /* queue being filled, and the one the collector drains */
    unsigned qlen;
    bool lost;
};

static const struct tld_localfile *matching(const struct tld_watcher *w, const char *path)
{
    for (unsigned k = 0; k < w->cfg->nfiles; k++) {
        const struct tld_localfile *lf = &w->cfg->files[k];
        if (!lf->location || fnmatch(lf->location, path, FNM_PATHNAME) != 0)
            continue;
        bool ex = false;
        for (unsigned i = 0; i < lf->nexclude && !ex; i++)
            ex = fnmatch(lf->exclude[i], path, FNM_PATHNAME) == 0;
        if (!ex)
            return lf;
    }
    return NULL;
}

static void drop_held(struct tld_watcher *w, unsigned i)
{
    close(w->held[i].f.fd);
    free(w->held[i].path);
    memmove(&w->held[i], &w->held[i + 1], (w->nheld - i - 1) * sizeof *w->held);
    w->nheld--;
    w->dropped++;
}

/* Open a newly created matching file (now at `at`, created at `path`) and keep it. */
static void preopen(struct tld_watcher *w, const char *path, const char *at)
{
    int fd = open(at, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return; /* already gone, or not readable: the collector's rescan reports it */
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return;
    }
    fcntl(fd, F_SETFL, 0);
    char *copy = strdup(path);
    if (!copy) {
        close(fd);
        return;
    }
    int64_t now = tld_mono_ns();
    pthread_mutex_lock(&w->mu);
    for (unsigned i = 0; i < w->nheld; i++) {
        if (w->held[i].f.ino == (uint64_t)sb.st_ino && w->held[i].f.dev == (uint64_t)sb.st_dev) {
            pthread_mutex_unlock(&w->mu); /* the same file seen twice (create, then move) */
            close(fd);
            free(copy);
            return;
        }
    }
    while (w->nheld && now - w->held[0].t_ns > (int64_t)TLD_WATCHER_HOLD_S * 1000000000)
        drop_held(w, 0);
    if (w->nheld == TLD_WATCHER_MAX_OPEN)
        drop_held(w, 0);
    w->held[w->nheld++] =
        (struct held){copy, {fd, (uint64_t)sb.st_dev, (uint64_t)sb.st_ino, ++w->order, 0}, now};
    unsigned held = w->nheld;
    pthread_mutex_unlock(&w->mu);
    tld_log_debug(w->log, "watcher: holding %s inode %llu (%u held)", path,
                  (unsigned long long)sb.st_ino, held);
}

static void enqueue(struct tld_watcher *w, const char *dir, const char *name, uint32_t mask)
{
    pthread_mutex_lock(&w->mu);
    if (w->qlen && w->q[w->qlen - 1].mask == mask && strcmp(w->q[w->qlen - 1].name, name) == 0 &&
        strcmp(w->q[w->qlen - 1].dir, dir) == 0) {
        pthread_mutex_unlock(&w->mu); /* a burst of writes: one event says it */
        return;
    }
    pthread_mutex_unlock(&w->mu);
    char *d = strdup(dir), *n = strdup(name);
    pthread_mutex_lock(&w->mu);
    if (!d || !n || w->qlen == TLD_WATCHER_MAX_EVENTS) {
        w->lost = true;
        free(d);
        free(n);
    } else {
        w->q[w->qlen++] = (struct qev){d, n, mask};
    }
    pthread_mutex_unlock(&w->mu);
}

/* A new directory: watch it (and its kind) now, then pre-open what it already holds. */
static void new_dir(struct tld_watcher *w)
{
    for (unsigned k = 0; k < w->cfg->nfiles; k++) {
        const struct tld_localfile *lf = &w->cfg->files[k];
        if (!lf->location)
            continue;
        tld_watcher_add_pattern(w, lf->location);
        glob_t g;
        if (glob(lf->location, GLOB_NOSORT, NULL, &g) == 0) {
            for (size_t i = 0; i < g.gl_pathc; i++) {
                bool held = false;
                pthread_mutex_lock(&w->mu);
                for (unsigned h = 0; h < w->nheld && !held; h++)
                    held = strcmp(w->held[h].path, g.gl_pathv[i]) == 0;
                pthread_mutex_unlock(&w->mu);
                if (!held && matching(w, g.gl_pathv[i]))
                    preopen(w, g.gl_pathv[i], g.gl_pathv[i]);
            }
        }
        globfree(&g);
    }
}

/* "<name>.<N>": the name a rotation gives; the base is written to base. */
static bool rotated_name(const char *path, char *base, size_t n)
{
    const char *dot = strrchr(path, '.');
    if (!dot || !dot[1] || (size_t)(dot - path) >= n)
        return false;
    for (const char *p = dot + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    memcpy(base, path, (size_t)(dot - path));
    base[dot - path] = 0;
    return true;
}

static void on_event(void *ctx, const char *dir, const char *name, uint32_t mask)
{
    struct tld_watcher *w = ctx;
    if (name[0] && (mask & (IN_CREATE | IN_MOVED_TO))) {
        char path[8192], base[8192];
        snprintf(path, sizeof path, "%s/%s", strcmp(dir, "/") == 0 ? "" : dir, name);
        if (mask & IN_ISDIR)
            new_dir(w);
        else if (matching(w, path))
            preopen(w, path, path);
        else if (rotated_name(path, base, sizeof base) && matching(w, base))
            /* A file renamed by a rotation before its creation was handled: hold it under
             * the name it was created with (duplicates are recognised by inode). */
            preopen(w, base, path);
    }
    enqueue(w, dir, name, mask);
}

static void *run(void *arg)
{
    struct tld_watcher *w = arg;
    /* This thread only opens files, but it must do so before a busy writer rotates them away
     * (Docker: one rotation per ~100 ms under load, the file is deleted two rotations later).
     * A higher scheduling weight lets it run as soon as inotify wakes it, even when the
     * collector and the engine keep both cores busy. Without the privilege it stays as is. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WATCHER_NICE) != 0)
        tld_log_debug(w->log, "collector: watcher thread keeps its priority: %s", strerror(errno));
    for (;;) {
        struct pollfd p[2] = {{tld_watch_fd(w->watch), POLLIN, 0}, {w->stop_fd, POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[1].revents & POLLIN)
            break;
        if (p[0].revents & POLLIN)
            tld_watcher_sync(w);
    }
    return NULL;
}

int tld_watcher_new(const struct tld_collect_config *cfg, struct tld_log *log,
                    struct tld_watcher **out)
{
    struct tld_watcher *w = calloc(1, sizeof *w);
    if (!w)
        return TLD_ENOMEM;
    w->cfg = cfg;
    w->log = log;
    w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    w->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    w->q = calloc(TLD_WATCHER_MAX_EVENTS, sizeof *w->q);
    w->spare = calloc(TLD_WATCHER_MAX_EVENTS, sizeof *w->spare);
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->drain_mu, NULL);
    unsigned maxw = cfg->max_files * 2 + 64;
    int rc = tld_watch_new(maxw, STRUCTURE_MASK, &w->watch);
    if (rc == 0)
        rc = tld_watch_new(maxw, IN_MODIFY, &w->mod);
    if (rc == 0 && (w->stop_fd < 0 || w->event_fd < 0 || !w->q || !w->spare))
        rc = TLD_EIO;
    if (rc != 0) {
        tld_watcher_free(w);
        return rc;
    }
    for (unsigned k = 0; k < cfg->nfiles; k++)
        if (cfg->files[k].location)
            tld_watcher_add_pattern(w, cfg->files[k].location);
    *out = w;
    return 0;
}

int tld_watcher_start(struct tld_watcher *w)
{
    if (pthread_create(&w->thread, NULL, run, w) != 0)
        return TLD_ENOMEM;
    w->started = true;
    return 0;
}

void tld_watcher_stop(struct tld_watcher *w)
{
    if (!w || !w->started)
        return;
    uint64_t one = 1;
    if (write(w->stop_fd, &one, sizeof one) < 0) {
        /* cannot happen with a fresh eventfd; the join below would then hang, so be loud */
        tld_log_error(w->log, "collector: cannot signal the watcher thread");
    }
    pthread_join(w->thread, NULL);
    w->started = false;
}

void tld_watcher_free(struct tld_watcher *w)
{
    if (!w)
        return;
    tld_watcher_stop(w);
    while (w->nheld) {
        close(w->held[0].f.fd);
        free(w->held[0].path);
        memmove(&w->held[0], &w->held[1], (w->nheld - 1) * sizeof *w->held);
        w->nheld--;
    }
    for (unsigned i = 0; w->q && i < w->qlen; i++) {
        free(w->q[i].dir);
        free(w->q[i].name);
    }
    free(w->q);
    free(w->spare);
    tld_watch_free(w->watch);
    tld_watch_free(w->mod);
    if (w->stop_fd >= 0)
        close(w->stop_fd);
    if (w->event_fd >= 0)
        close(w->event_fd);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->drain_mu);
    free(w);
}

int tld_watcher_sync(struct tld_watcher *w)
{
    pthread_mutex_lock(&w->drain_mu);
    int n = tld_watch_drain(w->watch, on_event, w);
    pthread_mutex_unlock(&w->drain_mu);
    if (n > 0) {
        uint64_t one = 1;
        if (write(w->event_fd, &one, sizeof one) < 0) {
            /* the counter is saturated: the collector is already woken */
        }
    }
    return n;
}

int tld_watcher_fd(struct tld_watcher *w)
{
    return w->event_fd;
}

bool tld_watcher_drain(struct tld_watcher *w, tld_watch_cb cb, void *ctx)
{
    uint64_t v;
    if (read(w->event_fd, &v, sizeof v) < 0) {
        /* nothing signalled; the queue is looked at anyway */
    }
    pthread_mutex_lock(&w->mu);
    struct qev *q = w->q;
    unsigned n = w->qlen;
    bool lost = w->lost;
    w->q = w->spare; /* the watcher fills the other array meanwhile */
    w->spare = NULL;
    w->qlen = 0;
    w->lost = false;
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < n; i++) {
        cb(ctx, q[i].dir, q[i].name, q[i].mask);
        free(q[i].dir);
        free(q[i].name);
    }
    pthread_mutex_lock(&w->mu);
    w->spare = q;
    pthread_mutex_unlock(&w->mu);
    return lost;
}

void tld_watcher_add_pattern(struct tld_watcher *w, const char *pattern)
{
    tld_watch_add_pattern(w->watch, pattern);
    tld_watch_add_pattern(w->mod, pattern);
}

int tld_watcher_modify_fd(struct tld_watcher *w)
{
    return tld_watch_fd(w->mod);
}

void tld_watcher_drain_modify(struct tld_watcher *w, tld_watch_cb cb, void *ctx)
{
    tld_watch_drain(w->mod, cb, ctx);
}

static int cmp_age(const void *a, const void *b)
{
    const struct tld_preopened *x = a, *y = b;
    if (x->mtime_ns != y->mtime_ns)
        return x->mtime_ns < y->mtime_ns ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

unsigned tld_watcher_take(struct tld_watcher *w, const char *path, struct tld_preopened *out,
                          unsigned max)
{
    unsigned n = 0;
    pthread_mutex_lock(&w->mu);
    for (unsigned i = 0; i < w->nheld && n < max;) {
        if (strcmp(w->held[i].path, path) != 0) {
            i++;
            continue;
        }
        out[n++] = w->held[i].f;
        free(w->held[i].path);
        memmove(&w->held[i], &w->held[i + 1], (w->nheld - i - 1) * sizeof *w->held);
        w->nheld--;
    }
    pthread_mutex_unlock(&w->mu);
    /* A rotated log is complete before its successor is written: oldest data first. */
    for (unsigned i = 0; i < n; i++) {
        struct stat sb;
        out[i].mtime_ns = fstat(out[i].fd, &sb) == 0
                              ? (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec
                              : 0;
    }
    qsort(out, n, sizeof *out, cmp_age);
    return n;
}

uint64_t tld_watcher_dropped(struct tld_watcher *w)
{
    pthread_mutex_lock(&w->mu);
    uint64_t d = w->dropped;
    pthread_mutex_unlock(&w->mu);
    return d;
}
