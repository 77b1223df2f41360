/*
 * The manager's own events: things that happen to the manager itself (started, stopping, an
 * agent enrolled, connected, disconnected or removed, an enrollment refused, the intake queue
 * under pressure) become ordinary events that go through the rules like any log line, so they
 * can raise alerts and reach every output. Format (docs/manager.md, "Own events"):
 *
 *   location  threatlockdown-manager      agent  000 (the manager)
 *   text      {"integration":"threatlockdown","threatlockdown":{"event":"agent_connected",
 *              "agent":{"id":"001","name":"web-01","ip":"10.0.0.5"}, ...event fields...}}
 *
 * Components get a struct tld_own_sink and never know where the events go (the intake journal
 * in the manager, a list in the unit tests).
 */
#ifndef TLD_MANAGER_OWN_EVENTS_H
#define TLD_MANAGER_OWN_EVENTS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "common/str.h"

#define TLD_OWN_LOCATION "threatlockdown-manager"

struct tld_own_agg;

struct tld_own_sink {
    /* Receives the event's JSON text (valid during the call). Must not block for long. */
    void (*emit)(void *ctx, struct tld_sv text);
    void *ctx;
    struct tld_own_agg
        *agg; /* folds refusals per source (NULL: every refusal is emitted); borrowed */
};

/* The agent an event is about (fields may be NULL). */
struct tld_own_agent {
    const char *id;
    const char *name;
    const char *ip;
};

/* One extra field: a string, or a number when `is_number`. */
struct tld_own_field {
    const char *key;
    const char *str;
    int64_t num;
    int is_number;
};

/* Build the event text and hand it to the sink (a NULL sink or emit is a no-op). */
void tld_own_emit(const struct tld_own_sink *sink, const char *event,
                  const struct tld_own_agent *agent, const struct tld_own_field *fields,
                  unsigned nfields);

/* The text alone (for tests and for callers that queue it themselves); caller frees. */
char *tld_own_text(const char *event, const struct tld_own_agent *agent,
                   const struct tld_own_field *fields, unsigned nfields);

/*
 * Refusals of unauthenticated peers (enrollment refused, agent refused) arrive as fast as an
 * attacker can connect; one own event each would turn a flood into as many alerts. The first
 * refusal of a source address, kind and reason in an interval is emitted at once (a different
 * reason is news, a repeated one is not); the rest are counted
 * and reported by tld_own_agg_flush() as one event of the same kind with "repeated":N once the
 * interval is over. Thread-safe.
 */
#define TLD_OWN_AGG_SLOTS 256

struct tld_own_agg_slot {
    char event[24];
    char ip[48];
    char reason[64];
    int64_t start_ns; /* monotonic; 0 = free */
    uint64_t repeated;
};

struct tld_own_agg {
    pthread_mutex_t mu;
    int64_t interval_ns;
    uint64_t folded; /* refusals counted instead of emitted (statistics) */
    struct tld_own_agg_slot slots[TLD_OWN_AGG_SLOTS];
};

void tld_own_agg_init(struct tld_own_agg *a, unsigned interval_s);
void tld_own_agg_fini(struct tld_own_agg *a);
/* A refusal: emitted now when it is the first of its source, kind and reason in the interval
 * (or the sink has no aggregator), otherwise counted. */
void tld_own_emit_refusal(const struct tld_own_sink *sink, const char *event,
                          const struct tld_own_agent *agent, const struct tld_own_field *fields,
                          unsigned nfields, const char *reason);
/* Emit the summaries of the intervals over at `now_ns` (monotonic); call every few seconds. */
void tld_own_agg_flush(const struct tld_own_sink *sink, int64_t now_ns);

/*
 * A stage that retries a transient error (descriptors, disk space, memory) instead of giving up:
 * one own event "stage_stalled" (stage, error) when it starts failing and one "stage_recovered"
 * (stage, stalled_ms, retries) once it has worked for TLD_OWN_STALL_SETTLE_MS: a stage that
 * fails on and off (descriptors freed and taken again) is one stall, not an alert each time.
 * Used by one thread.
 */
#define TLD_OWN_STALL_SETTLE_MS 2000

struct tld_own_stall {
    const char *stage; /* static text: "output", "dispatch", "local_collection" */
    bool on;
    int64_t since_ns;    /* monotonic */
    int64_t ok_since_ns; /* working again since (0: failing) */
    uint64_t retries;
    int backoff_ms; /* for tld_backoff_sleep */
};

/* The stage failed with `err` (an enum tld_err); logs and emits only at the first failure. */
void tld_own_stall_fail(const struct tld_own_sink *sink, struct tld_log *log,
                        struct tld_own_stall *s, int err);
/* The stage worked: emits the recovery when it was stalled and has worked long enough since
 * (call it again later; s->on stays true until then). */
void tld_own_stall_ok(const struct tld_own_sink *sink, struct tld_log *log,
                      struct tld_own_stall *s);

#endif
