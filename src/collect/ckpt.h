/*
 * A background writer for a source's checkpoint. A source (collector, Docker listener) hands
 * over a snapshot of its positions together with the spool sequence number they account for;
 * this thread makes the spool durable up to there (tld_spool_sync), saves the snapshot with the
 * source's own function, and only then tells the spool that the source no longer needs the
 * records up to that number (tld_spool_retain). The disk waits happen here, so the source's
 * own thread never stalls on fsync: the collector keeps noticing rotations and the listener
 * keeps its latency.
 *
 * At most one snapshot waits: a newer one replaces it (the older one is freed unsaved).
 */
#ifndef TLD_COLLECT_CKPT_H
#define TLD_COLLECT_CKPT_H

#include <stdint.h>

#include "collect/spool.h"

struct tld_ckpt;

struct tld_ckpt_ops {
    int (*save)(void *ctx, void *snapshot); /* 0 on success */
    void (*free)(void *snapshot);
    void *ctx;
};

int tld_ckpt_start(struct tld_spool *spool, unsigned holder, const struct tld_ckpt_ops *ops,
                   struct tld_ckpt **out);
/* Queue a snapshot (taken over) that accounts for every record <= seq. */
void tld_ckpt_submit(struct tld_ckpt *k, void *snapshot, uint64_t seq);
/* Save what is queued, then stop the thread. NULL is a no-op. */
void tld_ckpt_stop(struct tld_ckpt *k);
/* Snapshots saved so far. */
uint64_t tld_ckpt_saved(struct tld_ckpt *k);

#endif
