/*
 * The receiver's journal syncer: one thread that makes the intake journal durable on request,
 * so the network loop never waits for an fdatasync. The loop appends batches, asks for a sync
 * up to the last one (tld_syncer_request, which does not block) and goes on reading other
 * agents; when the sync is done the syncer calls `done` (from its own thread), and the loop
 * then acknowledges every batch the journal reports durable. One fdatasync covers everything
 * appended before it started, so the loop's turns and the syncs overlap instead of alternating.
 */
#ifndef TLD_MANAGER_SYNCER_H
#define TLD_MANAGER_SYNCER_H

#include <stdint.h>

#include "manager/journal.h"

struct tld_syncer;

/* `done(ctx)` runs in the syncer thread after every sync, failed or not; it must not block. */
int tld_syncer_new(struct tld_journal *j, void (*done)(void *ctx), void *ctx,
                   struct tld_syncer **out);
/* Ask for every record <= index to be made durable; returns at once. */
void tld_syncer_request(struct tld_syncer *s, uint64_t index);
/* Syncs that failed so far: a change tells the caller that what waited was not made durable. */
uint64_t tld_syncer_failures(struct tld_syncer *s);
/* Finish the sync under way, then stop the thread (no `done` after this returns). */
void tld_syncer_free(struct tld_syncer *s);

#endif
