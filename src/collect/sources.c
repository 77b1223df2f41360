/*
 * The sources of one spool (see sources.h): what tld-agent and the manager's local agent 000
 * used to build, start and stop each in their own copy.
 */
#include "collect/sources.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "collect/docker/meta.h"
#include "common/err.h"

/* Spool holders: each source keeps its own uncommitted records. */
#define HOLDER_COLLECTOR 0
#define HOLDER_DOCKER    1

struct tld_sources {
    struct tld_log *log;
    struct tld_meta *meta;
    struct tld_collector *collector;
    struct tld_listener *listener;
    pthread_t t_collector;
    bool have_collector;
};

static int new_collector(struct tld_sources *s, const struct tld_sources_opts *o)
{
    char state[4300];
    snprintf(state, sizeof state, "%s/file_positions.json", o->state_dir);
    struct tld_collector_opts co = {
        .cfg = o->cfg,
        .spool = o->spool,
        .spool_holder = HOLDER_COLLECTOR,
        .state_file = state,
        .log = o->log,
        .meta = {tld_meta_lookup, s->meta},
    };
    int rc = tld_collector_new(&co, &s->collector);
    if (rc)
        tld_log_error(o->log, "collector: cannot start: %s", tld_err_str(rc));
    return rc;
}

static int new_listener(struct tld_sources *s, const struct tld_sources_opts *o)
{
    char cursor[4300];
    snprintf(cursor, sizeof cursor, "%s/docker_cursor.json", o->state_dir);
    struct tld_listener_opts lo = {
        .cfg = &o->cfg->docker,
        .spool = o->spool,
        .spool_holder = HOLDER_DOCKER,
        .cursor_file = cursor,
        .log = o->log,
        .meta = s->meta,
    };
    int rc = tld_listener_new(&lo, &s->listener);
    if (rc)
        tld_log_error(o->log, "docker listener: cannot start: %s", tld_err_str(rc));
    return rc;
}

int tld_sources_new(const struct tld_sources_opts *o, struct tld_sources **out)
{
    *out = NULL;
    struct tld_sources *s = calloc(1, sizeof *s);
    if (!s)
        return TLD_ENOMEM;
    s->log = o->log;
    int rc = tld_meta_new(o->cfg->docker.socket, o->cfg->docker.api_version, o->log, &s->meta);
    if (rc == 0 && o->cfg->nfiles)
        rc = new_collector(s, o);
    if (rc == 0 && o->cfg->docker.enabled)
        rc = new_listener(s, o);
    if (rc) {
        tld_sources_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void *collector_main(void *arg)
{
    struct tld_sources *s = arg;
    tld_collector_run(s->collector);
    return NULL;
}

int tld_sources_start(struct tld_sources *s)
{
    if (s->collector) {
        if (pthread_create(&s->t_collector, NULL, collector_main, s) != 0)
            return TLD_ENOMEM;
        s->have_collector = true;
    }
    return s->listener ? tld_listener_start(s->listener) : 0;
}

void tld_sources_stop(struct tld_sources *s)
{
    if (!s)
        return;
    if (s->listener)
        tld_listener_stop(s->listener);
    if (s->have_collector) {
        tld_collector_stop(s->collector);
        pthread_join(s->t_collector, NULL);
        s->have_collector = false;
    }
}

void tld_sources_free(struct tld_sources *s)
{
    if (!s)
        return;
    tld_sources_stop(s);
    tld_listener_free(s->listener);
    tld_collector_free(s->collector);
    tld_meta_free(s->meta);
    free(s);
}

struct tld_collector *tld_sources_collector(struct tld_sources *s)
{
    return s ? s->collector : NULL;
}

struct tld_listener *tld_sources_listener(struct tld_sources *s)
{
    return s ? s->listener : NULL;
}
