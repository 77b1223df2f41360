/* The thread that keeps the alert store caught up with alerts.json (see store_thread.h). */
#include "manager/store_thread.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/deadline.h"
#include "common/err.h"
#include "common/fsutil.h"

#define ROUND_MS       500
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
#define RETAIN_EVERY_S 60
#define LAG_FAILING_MS 5000 /* while failing, the lag (a read of every byte behind) less often */

struct tld_store_thread {
    struct tld_store_thread_opts o;
    char *path, *url, *table, *cluster, *alerts_dir,
        *ckpt;               /* owned copies of the options' strings */
    struct tld_store *store; /* the thread's own */
    int backoff_ms;
    int64_t retry_at, retain_at, lag_at; /* monotonic ns */

    pthread_t th;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;                        /* under mu */
    struct tld_store_thread_stats st; /* under mu */
};

int tld_store_thread_open_store(const struct tld_store_config *cfg, struct tld_store **out)
{
    if (cfg->backend == TLD_STORE_SQLITE && cfg->path && !cfg->read_only) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", cfg->path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
            *slash = '\0';
            int rc = tld_mkdir_p(dir, 0750);
            if (rc)
                return rc;
        }
    }
    return tld_store_open(cfg, out);
}

static void set_error(struct tld_store_thread *t, int rc, const char *what)
{
    const char *detail = t->store ? tld_store_errmsg(t->store) : "";
    pthread_mutex_lock(&t->mu);
    t->st.failures++;
    snprintf(t->st.last_error, sizeof t->st.last_error, "%s: %s%s%s", what, tld_err_str(rc),
             *detail ? ": " : "", detail);
    pthread_mutex_unlock(&t->mu);
    tld_log_warn(t->o.log, "store: %s: %s%s%s; retrying in %d s", what, tld_err_str(rc),
                 *detail ? ": " : "", detail,
                 (t->backoff_ms ? t->backoff_ms * 2 : BACKOFF_MIN_MS) / 1000);
    tld_store_close(t->store);
    t->store = NULL;
    t->backoff_ms = t->backoff_ms ? t->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (t->backoff_ms > BACKOFF_MAX_MS)
        t->backoff_ms = BACKOFF_MAX_MS;
    t->retry_at = tld_deadline_in(t->backoff_ms);
}

/* A SQLite file deleted by hand: the open handle writes to the deleted inode, so start over. */
static void check_deleted(struct tld_store_thread *t)
{
    struct stat st;
    if (!t->store || t->o.store.backend != TLD_STORE_SQLITE || stat(t->path, &st) == 0 ||
        errno != ENOENT)
        return;
    tld_log_warn(t->o.log, "store: %s was deleted; creating it again from the alert files",
                 t->path);
    tld_store_close(t->store);
    t->store = NULL;
    pthread_mutex_lock(&t->mu);
    t->st.refills++;
    t->st.open = false; /* the lag known so far was the deleted file's */
    pthread_mutex_unlock(&t->mu);
}

static int retain(struct tld_store_thread *t)
{
    if ((!t->o.max_age_s && !t->o.max_bytes) || tld_deadline_left_ms(t->retain_at) > 0)
        return 0;
    t->retain_at = tld_deadline_in(RETAIN_EVERY_S * 1000);
    int64_t min_ts = t->o.max_age_s ? ((int64_t)time(NULL) - t->o.max_age_s) * 1000 : 0;
    uint64_t deleted = 0;
    int rc = tld_store_retain(t->store, min_ts, t->o.max_bytes, &deleted);
    pthread_mutex_lock(&t->mu);
    t->st.retained += deleted;
    pthread_mutex_unlock(&t->mu);
    return rc;
}

static void note_progress(struct tld_store_thread *t, uint64_t stored)
{
    struct tld_store_pos pos = {0, 0};
    bool have = t->store && tld_store_position(t->store, &pos) == 0;
    struct tld_store_feed_lag lag;
    pthread_mutex_lock(&t->mu);
    if (!have)
        pos = t->st.pos;
    pthread_mutex_unlock(&t->mu);
    bool failing = t->retry_at != 0;
    bool lag_ok = false;
    if (!failing || tld_deadline_left_ms(t->lag_at) <= 0) {
        lag_ok = tld_store_feed_lag(&t->o.feed, pos, &lag) == 0;
        t->lag_at = tld_deadline_in(LAG_FAILING_MS);
    }
    pthread_mutex_lock(&t->mu);
    t->st.open = t->store != NULL;
    t->st.stored += stored;
    t->st.pos = pos;
    if (lag_ok)
        t->st.lag = lag;
    pthread_mutex_unlock(&t->mu);
}

static void round_once(struct tld_store_thread *t)
{
    if (t->retry_at && tld_deadline_left_ms(t->retry_at) > 0) {
        note_progress(t, 0);
        return;
    }
    check_deleted(t);
    int rc = 0;
    if (!t->store && (rc = tld_store_thread_open_store(&t->o.store, &t->store)) != 0) {
        set_error(t, rc, "cannot open the store");
        note_progress(t, 0);
        return;
    }
    uint64_t stored = 0;
    rc = tld_store_feed_run(t->store, &t->o.feed, &stored);
    if (rc == TLD_EAGAIN)
        rc = 0; /* a file rotated under the reader: the next round lists them again */
    if (rc == 0)
        rc = retain(t);
    if (rc) {
        set_error(t, rc, "cannot store alerts");
    } else {
        t->backoff_ms = 0;
        t->retry_at = 0;
        pthread_mutex_lock(&t->mu);
        t->st.last_error[0] = '\0';
        pthread_mutex_unlock(&t->mu);
    }
    note_progress(t, stored);
}

static void *run(void *arg)
{
    struct tld_store_thread *t = arg;
    pthread_mutex_lock(&t->mu);
    while (!t->stop) {
        pthread_mutex_unlock(&t->mu);
        round_once(t);
        int64_t until = tld_deadline_in(ROUND_MS);
        pthread_mutex_lock(&t->mu);
        while (!t->stop && tld_cond_wait_until(&t->cv, &t->mu, until) == 0)
            ;
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

static void free_thread(struct tld_store_thread *t)
{
    tld_store_close(t->store);
    free(t->path);
    free(t->url);
    free(t->table);
    free(t->cluster);
    free(t->alerts_dir);
    free(t->ckpt);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

static char *dup_opt(const char *s, bool *ok)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *ok = false;
    return d;
}

int tld_store_thread_start(const struct tld_store_thread_opts *o, struct tld_store_thread **out)
{
    *out = NULL;
    struct tld_store_thread *t = calloc(1, sizeof *t);
    if (!t)
        return TLD_ENOMEM;
    t->o = *o;
    pthread_mutex_init(&t->mu, NULL);
    tld_cond_init(&t->cv);
    bool ok = true;
    t->o.store.path = t->path = dup_opt(o->store.path, &ok);
    t->o.store.url = t->url = dup_opt(o->store.url, &ok);
    t->o.store.table = t->table = dup_opt(o->store.table, &ok);
    t->o.store.cluster = t->cluster = dup_opt(o->store.cluster, &ok);
    t->o.feed.alerts_dir = t->alerts_dir = dup_opt(o->feed.alerts_dir, &ok);
    t->o.feed.ckpt = t->ckpt = dup_opt(o->feed.ckpt, &ok);
    if (!ok || pthread_create(&t->th, NULL, run, t) != 0) {
        free_thread(t);
        return ok ? TLD_EIO : TLD_ENOMEM;
    }
    t->running = true;
    *out = t;
    return 0;
}

void tld_store_thread_stop(struct tld_store_thread *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    if (t->running)
        pthread_join(t->th, NULL);
    free_thread(t);
}

void tld_store_thread_stats(struct tld_store_thread *t, struct tld_store_thread_stats *st)
{
    pthread_mutex_lock(&t->mu);
    *st = t->st;
    pthread_mutex_unlock(&t->mu);
}
