/*
 * The analysis engine for one event, exactly as the manager, tld-logtest, the fuzzers and the
 * benchmarks run it: pre-decoding, decoding, rule matching, alert formatting.
 *
 * A struct tld_engine_state holds what outlives events (rule counters, correlation lists, the
 * accumulate cache) for one ruleset snapshot and is shared by all workers of that snapshot. A
 * struct tld_worker belongs to one thread: it owns the event, its arena and all scratch memory,
 * so processing allocates nothing once warm.
 */
#ifndef TLD_ENGINE_ENGINE_H
#define TLD_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/str.h"
#include "engine/event.h"
#include "engine/rules/rule.h"
#include "engine/ruleset.h"

struct tld_engine_state;
struct tld_worker;

/* One event as it reaches analysis. */
struct tld_engine_input {
    char queue; /* '1' (files, commands, Docker listener) */
    /* Who made the event (the collector, the Docker listener, own code), from the record's
     * header: what a rule's <source> tests. The zero value is a file line. */
    enum tld_source source;
    struct tld_sv location; /* as collected: "/var/log/auth.log", "Wazuh-Docker", "stdin" */
    struct tld_sv text;     /* the log line / event JSON */
    struct tld_sv agent_id; /* p NULL or "000": local event */
    struct tld_sv agent_name;
    struct tld_sv agent_ip;                     /* p NULL = unknown ("any") */
    int64_t time_ns;                            /* receipt time */
    const struct tld_container_meta *container; /* NULL unless from a container log */
};

struct tld_worker_config {
    struct tld_sv manager_name; /* full host name of the manager */
    size_t max_event_size;      /* 0 = TLD_EVENT_DEFAULT_MAX_SIZE */
};

int tld_engine_state_new(const struct tld_ruleset *rs, struct tld_engine_state **out);
void tld_engine_state_free(struct tld_engine_state *st);

int tld_worker_new(const struct tld_ruleset *rs, struct tld_engine_state *st,
                   const struct tld_worker_config *cfg, struct tld_worker **out);
void tld_worker_free(struct tld_worker *w);

/*
 * Analyse one event. The input's views must stay valid until the next call. Afterwards
 * tld_worker_event() and tld_worker_hit() describe the outcome.
 */
void tld_worker_process(struct tld_worker *w, const struct tld_engine_input *in);
const struct tld_event *tld_worker_event(const struct tld_worker *w);
const struct tld_rule_hit *tld_worker_hit(const struct tld_worker *w);

/*
 * Append the alert JSON for the last processed event (no newline). Uses the hit's alert rule, or
 * for logtest (`logtest` true) the returned rule even at level 0. Returns false when there is
 * nothing to format.
 */
bool tld_worker_format_alert(struct tld_worker *w, struct tld_sv alert_id, bool logtest,
                             struct tld_sb *out);
/* The archives form of the last event: the alert JSON without a rule, full_log always present. */
void tld_worker_format_archive(struct tld_worker *w, struct tld_sv alert_id, struct tld_sb *out);

#endif
