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

#include <stdint.h>

#include "common/str.h"

#define TLD_OWN_LOCATION "threatlockdown-manager"

struct tld_own_sink {
    /* Receives the event's JSON text (valid during the call). Must not block for long. */
    void (*emit)(void *ctx, struct tld_sv text);
    void *ctx;
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

#endif
