/*
 * The analysis pipeline: intake journal -> dispatcher -> N analysis workers -> output thread ->
 * alerts.json / archives.json.
 *
 *  - The dispatcher reads the journal in index order from where the outputs' checkpoint says
 *    to resume, and hands each event to worker (agent id mod N): all events of one agent are
 *    analysed by the same worker, in the order the agent sent them, so correlation rules
 *    (frequency, timeframe, if_matched_sid, same_source_ip...) see an agent's events in order.
 *    Events of different agents run in parallel; they share one engine state (rule counters,
 *    correlation memory) and one immutable ruleset snapshot (until a hot reload hands the
 *    pipeline a new one: tld_pipeline_set_ruleset()). See docs/manager.md for why
 *    per-agent and not per-source ordering.
 *  - Workers run the engine and format the alert (and the archive line) with a placeholder id.
 *  - The output thread puts results back in journal order (a reorder ring), sets the real alert
 *    ids, writes in batches through alerts_out (crash-exact), syncs about every 250 ms and then
 *    releases the journal up to what is durable.
 *
 * Back-pressure: each worker queue holds at most `worker_queue` events (and 64 MiB); the ring
 * at most TLD_PIPELINE_RING results. When they are full the dispatcher stops reading the
 * journal, the journal fills, and the receivers stop reading agents' sockets. Nothing is
 * dropped: an event that cannot be decoded is counted, logged and reported as an own event.
 */
#ifndef TLD_MANAGER_PIPELINE_H
#define TLD_MANAGER_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "engine/ruleset.h"
#include "manager/agents.h"
#include "manager/journal.h"
#include "manager/own_events.h"

#define TLD_PIPELINE_RING        4096
#define TLD_PIPELINE_MAX_WORKERS 64

struct tld_pipeline;

struct tld_pipeline_opts {
    struct tld_journal *journal;
    struct tld_ruleset *ruleset; /* a reference is taken */
    struct tld_agents *agents;
    const char *logs_dir;   /* alerts/ and archives/ */
    const char *state_file; /* output checkpoint */
    bool archives;          /* logall_json */
    /* Alerts of agents' events end with the event's identity (`"event":{...}`), the key a store
     * shared by several managers deduplicates on; off, alerts are exactly Wazuh's keys. */
    bool event_identity;
    unsigned workers;      /* 1..TLD_PIPELINE_MAX_WORKERS */
    unsigned worker_queue; /* events per worker queue */
    const char *manager_name;
    struct tld_log *log;
    struct tld_own_sink own;
    const struct tld_clock *clock; /* NULL: system clock (rotation) */
};

struct tld_pipeline_stats {
    uint64_t dispatched, processed, alerts, archives, malformed;
    uint64_t next_index;    /* next journal index to dispatch */
    uint64_t durable_index; /* outputs durable below this */
    uint64_t queued;        /* events waiting in worker queues */
    uint64_t inflight;      /* dispatched, not yet written */
    uint64_t waits_full;    /* times the dispatcher waited for room */
    uint64_t rotations;
    uint64_t alerts_bytes;
    uint64_t output_stalls, dispatch_stalls; /* times a stage began to stall (full disk, no fd) */
    bool output_stalled, dispatch_stalled;   /* stalled now, retrying */
};

int tld_pipeline_new(const struct tld_pipeline_opts *o, struct tld_pipeline **out);
int tld_pipeline_start(struct tld_pipeline *p);
/* Stop reading the journal, finish what is in hand, write and sync it, release the journal.
 * Events dispatched but not yet written are analysed again at the next start. */
void tld_pipeline_stop(struct tld_pipeline *p);
void tld_pipeline_free(struct tld_pipeline *p);
void tld_pipeline_stats(struct tld_pipeline *p, struct tld_pipeline_stats *st);

/*
 * Hot reload: analyse with `rs` (a reference is taken) from the next event the dispatcher reads
 * from the journal. Events already handed to the analysis threads finish with the ruleset they
 * were given, so every event is analysed exactly once, by one ruleset or the other; events of one
 * agent stay in order. The new ruleset starts with a fresh engine state (correlation memory,
 * counters; docs/manager.md says why). Waits up to wait_ms for the dispatcher to take it: *taken
 * then tells whether it did, with *from_index the first journal index it analyses (if not, it
 * is taken as soon as the dispatcher runs again). 0, or TLD_ENOMEM with the old ruleset kept.
 */
int tld_pipeline_set_ruleset(struct tld_pipeline *p, struct tld_ruleset *rs, int wait_ms,
                             bool *taken, uint64_t *from_index);

#endif
