/*
 * The logtest session table (logtest.h). One mutex covers the table and the run of an event:
 * a worker is single-threaded, and logtest is an interactive tool, not a throughput path.
 */
#include "api/logtest.h"

#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/err.h"

struct session {
    char token[TLD_LOGTEST_TOKEN + 1]; /* "" = free slot */
    struct tld_ruleset *rs;            /* a reference */
    struct tld_engine_state *st;
    struct tld_worker *w;
    int64_t last_ms;
};

struct tld_api_logtest {
    pthread_mutex_t mu;
    struct session s[TLD_LOGTEST_SESSIONS];
};

int tld_api_logtest_new(struct tld_api_logtest **out)
{
    struct tld_api_logtest *lt = calloc(1, sizeof *lt);
    if (!lt)
        return TLD_ENOMEM;
    pthread_mutex_init(&lt->mu, NULL);
    *out = lt;
    return 0;
}

static void session_end(struct session *s)
{
    tld_worker_free(s->w);
    tld_engine_state_free(s->st);
    if (s->rs)
        tld_ruleset_unref(s->rs);
    memset(s, 0, sizeof *s);
}

void tld_api_logtest_free(struct tld_api_logtest *lt)
{
    if (!lt)
        return;
    for (size_t i = 0; i < TLD_LOGTEST_SESSIONS; i++)
        if (lt->s[i].token[0])
            session_end(&lt->s[i]);
    pthread_mutex_destroy(&lt->mu);
    free(lt);
}

static void expire(struct tld_api_logtest *lt, int64_t now_ms)
{
    for (size_t i = 0; i < TLD_LOGTEST_SESSIONS; i++)
        if (lt->s[i].token[0] && now_ms - lt->s[i].last_ms > (int64_t)TLD_LOGTEST_IDLE_S * 1000)
            session_end(&lt->s[i]);
}

static struct session *find(struct tld_api_logtest *lt, const char *token)
{
    for (size_t i = 0; token && token[0] && i < TLD_LOGTEST_SESSIONS; i++)
        if (strcmp(lt->s[i].token, token) == 0)
            return &lt->s[i];
    return NULL;
}

/* A free slot, or the least recently used session ended to make one. */
static struct session *slot(struct tld_api_logtest *lt)
{
    struct session *oldest = &lt->s[0];
    for (size_t i = 0; i < TLD_LOGTEST_SESSIONS; i++) {
        if (!lt->s[i].token[0])
            return &lt->s[i];
        if (lt->s[i].last_ms < oldest->last_ms)
            oldest = &lt->s[i];
    }
    session_end(oldest);
    return oldest;
}

static void new_token(struct tld_api_logtest *lt, char token[TLD_LOGTEST_TOKEN + 1])
{
    unsigned char r[TLD_LOGTEST_TOKEN / 2];
    char fresh[TLD_LOGTEST_TOKEN + 1];
    do {
        if (RAND_bytes(r, sizeof r) != 1)
            abort(); /* no randomness: a guessable session token is worse than no API */
        for (size_t i = 0; i < sizeof r; i++)
            snprintf(fresh + 2 * i, 3, "%02x", r[i]);
    } while (find(lt, fresh));
    memcpy(token, fresh, sizeof fresh);
}

static int session_start(struct tld_api_logtest *lt, const struct tld_logtest_run *run,
                         struct session **out)
{
    struct tld_ruleset *rs = NULL;
    int rc = run->load(run->ctx, &rs);
    if (rc)
        return rc;
    struct session *s = slot(lt);
    struct tld_worker_config wc = {tld_sv_of(run->manager_name), 0};
    s->rs = rs;
    if (tld_engine_state_new(s->rs, &s->st) != 0 || tld_worker_new(s->rs, s->st, &wc, &s->w) != 0) {
        session_end(s);
        return TLD_ENOMEM;
    }
    new_token(lt, s->token);
    *out = s;
    return 0;
}

int tld_api_logtest_run(struct tld_api_logtest *lt, const struct tld_logtest_run *run,
                        int64_t now_ms, tld_logtest_show_fn show,
                        char token_out[TLD_LOGTEST_TOKEN + 1], bool *renewed)
{
    pthread_mutex_lock(&lt->mu);
    expire(lt, now_ms);
    struct session *s = find(lt, run->token);
    int rc = 0;
    *renewed = !s;
    if (!s)
        rc = session_start(lt, run, &s);
    if (rc == 0) {
        s->last_ms = now_ms;
        struct tld_engine_input in = {
            .queue = '1',
            .location = run->location,
            .text = run->event,
            .time_ns = tld_wall_ns(),
        };
        tld_worker_process(s->w, &in);
        show(run->ctx, s->w);
        memcpy(token_out, s->token, sizeof s->token);
    }
    pthread_mutex_unlock(&lt->mu);
    return rc;
}

void tld_api_logtest_end(struct tld_api_logtest *lt, const char *token, bool *found)
{
    pthread_mutex_lock(&lt->mu);
    struct session *s = find(lt, token);
    *found = s != NULL;
    if (s)
        session_end(s);
    pthread_mutex_unlock(&lt->mu);
}
