/* inotify directory watches (see watch.h). The table maps watch descriptors to directory
 * paths; it is small (one entry per watched directory) and searched linearly. */
#include "collect/files/watch.h"

#include <errno.h>
#include <glob.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "common/err.h"
#include "common/grow.h"

#define MASK                                                                                       \
    (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MODIFY | IN_ATTRIB |                 \
     IN_DELETE_SELF | IN_MOVE_SELF)

struct entry {
    int wd;
    char *dir;
};

struct tld_watch {
    pthread_mutex_t mu; /* the table: patterns are added by one thread, events read by another */
    int fd;
    uint32_t mask;
    struct entry *v;
    unsigned n, cap, max;
    unsigned refused;
};

int tld_watch_new(unsigned max_watches, uint32_t mask, struct tld_watch **out)
{
    struct tld_watch *w = calloc(1, sizeof *w);
    if (!w)
        return TLD_ENOMEM;
    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (w->fd < 0) {
        free(w);
        return TLD_EIO;
    }
    w->max = max_watches;
    w->mask = mask;
    pthread_mutex_init(&w->mu, NULL);
    *out = w;
    return 0;
}

void tld_watch_free(struct tld_watch *w)
{
    if (!w)
        return;
    for (unsigned i = 0; i < w->n; i++)
        free(w->v[i].dir);
    free(w->v);
    close(w->fd);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

int tld_watch_fd(const struct tld_watch *w)
{
    return w->fd;
}

unsigned tld_watch_count(struct tld_watch *w)
{
    pthread_mutex_lock(&w->mu);
    unsigned n = w->n;
    pthread_mutex_unlock(&w->mu);
    return n;
}

unsigned tld_watch_refused(struct tld_watch *w)
{
    pthread_mutex_lock(&w->mu);
    unsigned n = w->refused;
    pthread_mutex_unlock(&w->mu);
    return n;
}

static struct entry *by_wd(struct tld_watch *w, int wd)
{
    for (unsigned i = 0; i < w->n; i++)
        if (w->v[i].wd == wd)
            return &w->v[i];
    return NULL;
}

static int add_dir(struct tld_watch *w, const char *dir)
{
    for (unsigned i = 0; i < w->n; i++)
        if (strcmp(w->v[i].dir, dir) == 0)
            return 0;
    if (w->n >= w->max) {
        w->refused++;
        return TLD_ELIMIT;
    }
    int wd = inotify_add_watch(w->fd, dir, w->mask | IN_ONLYDIR);
    if (wd < 0)
        return errno == ENOENT || errno == ENOTDIR ? TLD_ENOTFOUND : TLD_EIO;
    struct entry *e = by_wd(w, wd);
    if (e) { /* the same directory under another name (a symlink): keep the first */
        return 0;
    }
    if (tld_grow(&w->v, &w->cap, w->n + 1, sizeof *w->v, 16)) {
        inotify_rm_watch(w->fd, wd);
        return TLD_ENOMEM;
    }
    char *copy = strdup(dir);
    if (!copy) {
        inotify_rm_watch(w->fd, wd);
        return TLD_ENOMEM;
    }
    w->v[w->n++] = (struct entry){wd, copy};
    return 0;
}

static bool has_wild(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '*' || s[i] == '?' || s[i] == '[')
            return true;
    return false;
}

static int add_pattern(struct tld_watch *w, const char *pattern);

int tld_watch_add_pattern(struct tld_watch *w, const char *pattern)
{
    pthread_mutex_lock(&w->mu);
    int rc = add_pattern(w, pattern);
    pthread_mutex_unlock(&w->mu);
    return rc;
}

static int add_pattern(struct tld_watch *w, const char *pattern)
{
    const char *slash = strrchr(pattern, '/');
    if (!slash)
        return TLD_EINVAL;
    size_t dn = slash == pattern ? 1 : (size_t)(slash - pattern);
    char dir[PATH_MAX];
    if (dn >= sizeof dir)
        return TLD_EINVAL;
    memcpy(dir, pattern, dn);
    dir[dn] = 0;
    if (!has_wild(dir, dn))
        return add_dir(w, dir);
    /* Watch the fixed prefix, then every level of the wildcard part as it exists now. */
    int rc = 0;
    size_t first = 0;
    for (size_t i = 0; i < dn; i++) {
        if (dir[i] == '/')
            first = i;
        if (dir[i] == '*' || dir[i] == '?' || dir[i] == '[')
            break;
    }
    char prefix[PATH_MAX];
    memcpy(prefix, dir, first ? first : 1);
    prefix[first ? first : 1] = 0;
    add_dir(w, prefix);
    for (size_t end = first + 1; end <= dn; end++) {
        if (end != dn && dir[end] != '/')
            continue;
        char level[PATH_MAX];
        memcpy(level, dir, end);
        level[end] = 0;
        glob_t g;
        if (glob(level, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &g) == 0) {
            for (size_t k = 0; k < g.gl_pathc; k++) {
                int r = add_dir(w, g.gl_pathv[k]);
                if (r == TLD_ELIMIT)
                    rc = r;
            }
        }
        globfree(&g);
    }
    return rc;
}

int tld_watch_drain(struct tld_watch *w, tld_watch_cb cb, void *ctx)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    int count = 0;
    for (;;) {
        ssize_t n = read(w->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            count++;
            if (ev->mask & IN_Q_OVERFLOW) {
                cb(ctx, "", "", IN_Q_OVERFLOW);
                continue;
            }
            pthread_mutex_lock(&w->mu);
            struct entry *e = by_wd(w, ev->wd);
            char dir[PATH_MAX];
            bool found = e != NULL;
            if (found)
                snprintf(dir, sizeof dir, "%s", e->dir);
            if (found && (ev->mask & IN_IGNORED)) { /* the directory is gone: forget it */
                free(e->dir);
                *e = w->v[--w->n];
            }
            pthread_mutex_unlock(&w->mu);
            if (found)
                cb(ctx, dir, ev->len ? ev->name : "", ev->mask);
        }
    }
    return count;
}
