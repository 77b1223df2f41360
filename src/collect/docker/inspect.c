/*
 * Inspect prefetching for the Docker listener. The reader asks for a container's inspect the
 * moment it reads a create or start event; a worker thread with its own connection fetches it
 * while the event waits in the queue, and the writer picks the answer up when it gets there.
 * Why: `docker run` sends its start right after create returns, and the engine holds the
 * container during start, so an inspect that arrives after the start request waits for the
 * whole start (~200 ms here); asked at once, it is answered in a millisecond or two, and the
 * events behind the create in the queue are not held up.
 *
 * Bound: TLD_INSPECT_SLOTS requests; past that the oldest unclaimed answer is dropped and the
 * writer asks the engine itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/docker/lint.h"
#include "common/deadline.h"
#include "common/err.h"

#define INSPECT_MAX (4u << 20)

static void slot_clear(struct inspect_slot *s)
{
    tld_sb_fini(&s->body);
    memset(s, 0, sizeof *s);
}

static void *worker(void *arg)
{
    struct tld_listener *l = arg;
    pthread_mutex_lock(&l->imu);
    for (;;) {
        int pick = -1;
        for (int i = 0; i < TLD_INSPECT_SLOTS; i++)
            if (l->islots[i].used && l->islots[i].state == INSPECT_WANTED &&
                (pick < 0 || l->islots[i].order < l->islots[pick].order))
                pick = i;
        if (pick < 0) {
            if (atomic_load(&l->stopping))
                break;
            pthread_cond_wait(&l->iwork, &l->imu);
            continue;
        }
        struct inspect_slot *s = &l->islots[pick];
        s->state = INSPECT_RUNNING;
        char id[65], path[160];
        scopy(id, sizeof id, s->id);
        pthread_mutex_unlock(&l->imu);

        struct tld_sb body;
        tld_sb_init(&body, INSPECT_MAX);
        char err[TLD_DOCKER_ERR] = "";
        long status = 0;
        snprintf(path, sizeof path, "/containers/%s/json", id);
        int rc = tld_docker_get(l->iclient, path, INSPECT_MAX, &status, &body, err);
        if (rc == TLD_EIO) { /* a connection from before an engine restart: negotiate again */
            struct tld_docker_version v;
            if (tld_docker_negotiate(l->iclient, &v, err) == 0)
                rc = tld_docker_get(l->iclient, path, INSPECT_MAX, &status, &body, err);
        }

        pthread_mutex_lock(&l->imu);
        /* the slot may have been recycled meanwhile (bound reached): then drop the answer */
        if (s->used && s->state == INSPECT_RUNNING && strcmp(s->id, id) == 0) {
            s->rc = rc;
            s->status = status;
            scopy(s->err, sizeof s->err, err);
            tld_sb_fini(&s->body);
            s->body = body;
            s->state = INSPECT_DONE;
            pthread_cond_broadcast(&l->idone);
        } else {
            tld_sb_fini(&body);
        }
    }
    pthread_mutex_unlock(&l->imu);
    return NULL;
}

int tld_inspect_start(struct tld_listener *l)
{
    pthread_mutex_init(&l->imu, NULL);
    tld_cond_init(&l->iwork);
    tld_cond_init(&l->idone);
    l->iready = true;
    if (pthread_create(&l->t_inspect, NULL, worker, l) != 0)
        return TLD_ENOMEM;
    l->istarted = true;
    return 0;
}

void tld_inspect_stop(struct tld_listener *l)
{
    if (!l->iready)
        return;
    if (l->istarted) {
        pthread_mutex_lock(&l->imu);
        pthread_cond_broadcast(&l->iwork);
        pthread_mutex_unlock(&l->imu);
        pthread_join(l->t_inspect, NULL);
        l->istarted = false;
    }
    for (int i = 0; i < TLD_INSPECT_SLOTS; i++)
        slot_clear(&l->islots[i]);
    pthread_cond_destroy(&l->iwork);
    pthread_cond_destroy(&l->idone);
    pthread_mutex_destroy(&l->imu);
    l->iready = false;
}

void tld_inspect_request(struct tld_listener *l, const char *id)
{
    if (!l->istarted)
        return;
    pthread_mutex_lock(&l->imu);
    int slot = -1;
    for (int i = 0; i < TLD_INSPECT_SLOTS && slot < 0; i++)
        if (!l->islots[i].used)
            slot = i;
    if (slot < 0) { /* full: recycle the oldest that is not being fetched */
        for (int i = 0; i < TLD_INSPECT_SLOTS; i++)
            if (l->islots[i].state != INSPECT_RUNNING &&
                (slot < 0 || l->islots[i].order < l->islots[slot].order))
                slot = i;
    }
    if (slot >= 0) {
        struct inspect_slot *s = &l->islots[slot];
        slot_clear(s);
        s->used = true;
        s->state = INSPECT_WANTED;
        s->order = ++l->iorder;
        scopy(s->id, sizeof s->id, id);
        pthread_cond_signal(&l->iwork);
    }
    pthread_mutex_unlock(&l->imu);
}

int tld_inspect_take(struct tld_listener *l, const char *id, int timeout_ms, long *status,
                     struct tld_sb *body, char err[TLD_DOCKER_ERR])
{
    if (!l->istarted)
        return TLD_ENOTFOUND;
    int64_t until = tld_deadline_in(timeout_ms);
    pthread_mutex_lock(&l->imu);
    int rc = TLD_ENOTFOUND;
    for (;;) {
        int pick = -1;
        for (int i = 0; i < TLD_INSPECT_SLOTS; i++)
            if (l->islots[i].used && strcmp(l->islots[i].id, id) == 0 &&
                (pick < 0 || l->islots[i].order < l->islots[pick].order))
                pick = i;
        if (pick < 0)
            break;
        struct inspect_slot *s = &l->islots[pick];
        if (s->state == INSPECT_DONE) {
            rc = s->rc;
            *status = s->status;
            scopy(err, TLD_DOCKER_ERR, s->err);
            tld_sb_reset(body);
            tld_sb_append_sv(body, tld_sb_view(&s->body));
            slot_clear(s);
            break;
        }
        if (atomic_load(&l->stopping))
            break;
        if (tld_cond_wait_until(&l->idone, &l->imu, until) != 0) {
            /* Given up: forget the request so a later one for this container is not answered
             * with this one's (the worker drops an answer whose slot was recycled). */
            slot_clear(s);
            rc = TLD_ETIMEOUT;
            break;
        }
    }
    pthread_mutex_unlock(&l->imu);
    return rc;
}
