/* Container metadata cache (see meta.h): an array with a use counter per entry for LRU
 * eviction; TLD_META_MAX is small enough for linear search next to an HTTP request. */
#include "collect/docker/meta.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/docker/client.h"
#include "common/deadline.h"
#include "common/err.h"

#define NEGATIVE_NS  (3LL * 1000000000)
#define NEGATIVE_MAX 256
#define INSPECT_MAX  (4u << 20)

struct entry {
    struct tld_cinfo *ci;
    uint64_t used;
};

struct negative {
    char id[65];
    int64_t until_ns;
};

struct tld_meta {
    pthread_mutex_t mu;
    struct tld_docker *docker;
    struct tld_log *log;
    bool negotiated;
    int64_t engine_down_until;
    struct entry *v;
    unsigned n;
    uint64_t clock;
    struct negative neg[NEGATIVE_MAX];
    unsigned nneg;
    struct tld_sb body;
};

int tld_meta_new(const char *socket, const char *api_version, struct tld_log *log,
                 struct tld_meta **out)
{
    struct tld_meta *m = calloc(1, sizeof *m);
    if (!m)
        return TLD_ENOMEM;
    m->v = calloc(TLD_META_MAX, sizeof *m->v);
    int rc = m->v ? tld_docker_new(socket, api_version, &m->docker) : TLD_ENOMEM;
    if (rc != 0) {
        free(m->v);
        free(m);
        return rc;
    }
    pthread_mutex_init(&m->mu, NULL);
    tld_sb_init(&m->body, INSPECT_MAX);
    m->log = log;
    *out = m;
    return 0;
}

void tld_meta_free(struct tld_meta *m)
{
    if (!m)
        return;
    for (unsigned i = 0; i < m->n; i++)
        tld_cinfo_unref(m->v[i].ci);
    free(m->v);
    tld_docker_free(m->docker);
    tld_sb_fini(&m->body);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static struct entry *find(struct tld_meta *m, const char *id)
{
    for (unsigned i = 0; i < m->n; i++)
        if (strcmp(m->v[i].ci->id, id) == 0)
            return &m->v[i];
    return NULL;
}

static void put_locked(struct tld_meta *m, struct tld_cinfo *ci)
{
    struct entry *e = find(m, ci->id);
    if (!e) {
        if (m->n < TLD_META_MAX) {
            e = &m->v[m->n++];
        } else {
            e = &m->v[0];
            for (unsigned i = 1; i < m->n; i++)
                if (m->v[i].used < e->used)
                    e = &m->v[i];
        }
    }
    if (e->ci)
        tld_cinfo_unref(e->ci);
    e->ci = tld_cinfo_ref(ci);
    e->used = ++m->clock;
}

void tld_meta_put(struct tld_meta *m, struct tld_cinfo *ci)
{
    pthread_mutex_lock(&m->mu);
    put_locked(m, ci);
    pthread_mutex_unlock(&m->mu);
}

unsigned tld_meta_size(struct tld_meta *m)
{
    pthread_mutex_lock(&m->mu);
    unsigned n = m->n;
    pthread_mutex_unlock(&m->mu);
    return n;
}

static bool negative(struct tld_meta *m, const char *id, int64_t now)
{
    for (unsigned i = 0; i < m->nneg; i++)
        if (strcmp(m->neg[i].id, id) == 0 && m->neg[i].until_ns > now)
            return true;
    return false;
}

static void add_negative(struct tld_meta *m, const char *id, int64_t now)
{
    unsigned slot = m->nneg < NEGATIVE_MAX ? m->nneg++ : (unsigned)(now % NEGATIVE_MAX);
    snprintf(m->neg[slot].id, sizeof m->neg[slot].id, "%s", id);
    m->neg[slot].until_ns = now + NEGATIVE_NS;
}

struct tld_cinfo *tld_meta_lookup(void *arg, const char *id)
{
    struct tld_meta *m = arg;
    struct tld_cinfo *ci = NULL;
    pthread_mutex_lock(&m->mu);
    struct entry *e = find(m, id);
    int64_t now = tld_mono_ns();
    if (e) {
        e->used = ++m->clock;
        ci = tld_cinfo_ref(e->ci);
        goto out;
    }
    if (now < m->engine_down_until || negative(m, id, now) || !tld_cinfo_is_id(id, strlen(id)))
        goto out;
    char err[TLD_DOCKER_ERR];
    if (!m->negotiated) {
        struct tld_docker_version v;
        if (tld_docker_negotiate(m->docker, &v, err) != 0) {
            m->engine_down_until = now + NEGATIVE_NS;
            tld_log_debug(m->log, "metadata: %s", err);
            goto out;
        }
        m->negotiated = true;
    }
    char path[128];
    snprintf(path, sizeof path, "/containers/%s/json", id);
    long status = 0;
    if (tld_docker_get(m->docker, path, INSPECT_MAX, &status, &m->body, err) != 0) {
        m->engine_down_until = now + NEGATIVE_NS;
        m->negotiated = false;
        tld_log_debug(m->log, "metadata: %s", err);
        goto out;
    }
    if (status != 200) {
        add_negative(m, id, now);
        goto out;
    }
    cJSON *j = cJSON_ParseWithLength(tld_sb_cstr(&m->body), m->body.n);
    ci = j ? tld_cinfo_new_inspect(j) : NULL;
    cJSON_Delete(j);
    if (ci && strcmp(ci->id, id) == 0)
        put_locked(m, ci);
    else if (ci) {
        tld_cinfo_unref(ci);
        ci = NULL;
    }
out:
    pthread_mutex_unlock(&m->mu);
    return ci;
}
