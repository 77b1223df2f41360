/*
 * PUT /logtest sessions: each session is an engine state and a worker of its own on a ruleset
 * snapshot (the shared one, rscache.h), so correlation (frequency, if_matched_sid) works across
 * the requests of one session as in Wazuh's logtest, and sessions never see each other's
 * counters. A session keeps the snapshot it started with; a new one takes the current files.
 *
 * Sessions expire after TLD_LOGTEST_IDLE_S without a request and are bounded in number: when
 * all TLD_LOGTEST_SESSIONS are taken the least recently used one is ended.
 */
#ifndef TLD_API_LOGTEST_H
#define TLD_API_LOGTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "common/str.h"
#include "engine/engine.h"

#define TLD_LOGTEST_SESSIONS 64
#define TLD_LOGTEST_IDLE_S   900
#define TLD_LOGTEST_TOKEN    8 /* hex digits, as Wazuh's */

struct tld_api_logtest;

int tld_api_logtest_new(struct tld_api_logtest **out);
void tld_api_logtest_free(struct tld_api_logtest *lt);

/* What one event gives: the worker's event and hit are read inside `show` under the lock. */
typedef void (*tld_logtest_show_fn)(void *ctx, struct tld_worker *w);

struct tld_logtest_run {
    const char *token; /* the caller's, or NULL/"" for a new session */
    struct tld_sv event, location;
    const char *manager_name;
    /* A reference to the snapshot for a new session: called only when one starts. */
    int (*load)(void *ctx, struct tld_ruleset **out);
    void *ctx;
};

/*
 * Run one event in the session `run->token` (a new one when it is missing or unknown: then
 * *renewed is true) and call show with the worker. token_out receives the session's token.
 * Errors: those of load, TLD_ENOMEM.
 */
int tld_api_logtest_run(struct tld_api_logtest *lt, const struct tld_logtest_run *run,
                        int64_t now_ms, tld_logtest_show_fn show,
                        char token_out[TLD_LOGTEST_TOKEN + 1], bool *renewed);

/* End a session: *found false when there was none with that token. */
void tld_api_logtest_end(struct tld_api_logtest *lt, const char *token, bool *found);

#endif
