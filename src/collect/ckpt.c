/* Checkpoint writer thread (see ckpt.h). */
#include "collect/ckpt.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "common/err.h"

struct tld_ckpt {
    struct tld_spool *spool;
    unsigned holder;
    struct tld_ckpt_ops ops;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    void *pending;
    uint64_t pending_seq;
    bool stopping;
    uint64_t saved;
};

static void *run(void *arg)
{
    struct tld_ckpt *k = arg;
    pthread_mutex_lock(&k->mu);
    for (;;) {
        while (!k->pending && !k->stopping)
            pthread_cond_wait(&k->cond, &k->mu);
        if (!k->pending)
            break;
        void *snap = k->pending;
        uint64_t seq = k->pending_seq;
        k->pending = NULL;
        pthread_mutex_unlock(&k->mu);
        if (tld_spool_sync(k->spool) == 0 && k->ops.save(k->ops.ctx, snap) == 0) {
            tld_spool_retain(k->spool, k->holder, seq);
            pthread_mutex_lock(&k->mu);
            k->saved++;
            pthread_mutex_unlock(&k->mu);
        }
        k->ops.free(snap);
        pthread_mutex_lock(&k->mu);
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

int tld_ckpt_start(struct tld_spool *spool, unsigned holder, const struct tld_ckpt_ops *ops,
                   struct tld_ckpt **out)
{
    struct tld_ckpt *k = calloc(1, sizeof *k);
    if (!k)
        return TLD_ENOMEM;
    k->spool = spool;
    k->holder = holder;
    k->ops = *ops;
    pthread_mutex_init(&k->mu, NULL);
    pthread_cond_init(&k->cond, NULL);
    if (pthread_create(&k->thread, NULL, run, k) != 0) {
        pthread_mutex_destroy(&k->mu);
        pthread_cond_destroy(&k->cond);
        free(k);
        return TLD_ENOMEM;
    }
    *out = k;
    return 0;
}

void tld_ckpt_submit(struct tld_ckpt *k, void *snapshot, uint64_t seq)
{
    pthread_mutex_lock(&k->mu);
    if (k->pending)
        k->ops.free(k->pending);
    k->pending = snapshot;
    k->pending_seq = seq;
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->mu);
}

void tld_ckpt_stop(struct tld_ckpt *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->mu);
    k->stopping = true;
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    if (k->pending)
        k->ops.free(k->pending);
    pthread_mutex_destroy(&k->mu);
    pthread_cond_destroy(&k->cond);
    free(k);
}

uint64_t tld_ckpt_saved(struct tld_ckpt *k)
{
    pthread_mutex_lock(&k->mu);
    uint64_t n = k->saved;
    pthread_mutex_unlock(&k->mu);
    return n;
}
