/*
 * Correlation state (rules.md §5 step 4 and §6): the stored events that frequency/timeframe
 * rules search, in the lists they were bound to at load time (one per if_matched_sid target,
 * one per if_matched_group rule) and in the global recent-events list (kept only when some rule
 * searches it).
 *
 * A stored event is a private copy of what correlation needs (logs, agent id, hostname,
 * location, program name, static and dynamic fields, decoder type, receipt time, `matched`); it
 * does not point into the worker's arena. One copy may sit in several lists (even several times
 * in one list, once per tree place of the rule that fed it).
 *
 * Bounds: each list keeps its newest TLD_CORR_LIST_MAX events, the global list its newest
 * TLD_CORR_GLOBAL_MAX; all copies together use at most TLD_CORR_MAX_BYTES, past which the
 * oldest stored events are dropped from every list. Searches stop at the timeframe anyway, so
 * the bounds only matter under floods (Wazuh keeps its lists unbounded).
 *
 * Not thread-safe by itself: the caller (rule_eval.c) holds the state lock around every call.
 */
#ifndef TLD_ENGINE_CORRELATION_H
#define TLD_ENGINE_CORRELATION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/event.h"

#define TLD_CORR_LIST_MAX   1024
#define TLD_CORR_GLOBAL_MAX 8192
#define TLD_CORR_MAX_BYTES  (64u << 20)

struct tld_corr;
struct tld_corr_event;
struct tld_rule;
struct tld_rule_hit;
struct tld_rx_scratch;

int tld_corr_new(unsigned nlists, struct tld_corr **out);
void tld_corr_free(struct tld_corr *c);

/* Copy an event for storage (no lock needed); NULL when out of memory. */
struct tld_corr_event *tld_corr_copy(const struct tld_event *ev, enum tld_category type,
                                     int64_t now, int matched);
void tld_corr_event_free(struct tld_corr_event *e);
/*
 * Store a copy into lists[0..n) (duplicates allowed) and, if `global`, the global list; the copy
 * is owned by the store afterwards (freed at once when it goes nowhere).
 */
void tld_corr_store(struct tld_corr *c, struct tld_corr_event *e, const int *lists, unsigned n,
                    bool global);

/* What a search needs from the current evaluation. */
struct tld_corr_query {
    const struct tld_event *ev;
    enum tld_category type;   /* the current event's decoder type (syslog without decoder) */
    int64_t now;              /* receipt time of the current event, seconds */
    int *matched;             /* the current event's `matched` level (set on success) */
    struct tld_rule_hit *hit; /* previous_output lines are added here */
    struct tld_rx_scratch *scratch;
};

/* Run correlation rule F's search (rules.md §6); true when F's condition is met. */
bool tld_corr_search(struct tld_corr *c, const struct tld_rule *f, struct tld_corr_query *q);

/* Events currently stored and their bytes (for tests and statistics). */
size_t tld_corr_stored(const struct tld_corr *c);
size_t tld_corr_bytes(const struct tld_corr *c);

#endif
