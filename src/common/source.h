/*
 * Where an event came from: set by the code that made the event (the file collector, the Docker
 * listener, the agent's or the manager's own code), never by the event's text. It travels in the
 * event record's header (evrec.h) and reaches the rules as a condition the decoders cannot set
 * (`<source>` in docs/rules.md), so a collected line that looks like a Docker or own event stays
 * a collected line.
 */
#ifndef TLD_COMMON_SOURCE_H
#define TLD_COMMON_SOURCE_H

#include <stdbool.h>

#include "common/str.h"

enum tld_source {
    TLD_SOURCE_FILE = 0, /* a line of a collected file (also: a record that does not say) */
    TLD_SOURCE_COMMAND,  /* the output of a command the agent runs */
    TLD_SOURCE_DOCKER,   /* an event of the Docker listener */
    TLD_SOURCE_AGENT,    /* a notice of the collecting side itself (collector, agent spool) */
    TLD_SOURCE_OWN,      /* an own event of the manager; never taken from a remote record */
    TLD_SOURCE_COUNT,
    /* Tools only (tld-logtest without --source, benchmarks): the source is unknown, so every
     * `<source>` condition holds. Never encoded in a record. */
    TLD_SOURCE_ANY = TLD_SOURCE_COUNT
};

/* "file", "command", "docker", "agent", "own" ("any" for TLD_SOURCE_ANY). */
const char *tld_source_name(enum tld_source s);
/* The kind named `name` (the names above, "any" included); false when unknown. */
bool tld_source_lookup(struct tld_sv name, enum tld_source *out);

#endif
