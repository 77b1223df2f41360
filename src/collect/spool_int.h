/*
 * Spool internals shared by spool.c (writing, acknowledgements, open/close) and spool_read.c
 * (readers and scans). Nothing outside the spool includes this, except tests that run the
 * frame log with the spool's settings.
 */
#ifndef TLD_COLLECT_SPOOL_INT_H
#define TLD_COLLECT_SPOOL_INT_H

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "collect/spool.h"
#include "common/framelog.h"

#define WBUF_MAX       (256u << 10)
#define ACK_PERSIST_NS 1000000000LL

/* The spool's frame log settings (spool.c). */
extern const struct tld_framelog_params tld_spool_log_params;

struct tld_spool {
    pthread_mutex_t mu;
    pthread_cond_t data; /* signalled on commit */
    pthread_cond_t room; /* signalled when the spool stops being full */
    char *dir;
    struct tld_clock clock;
    uint64_t max_bytes, segment_bytes, reserve_bytes;

    struct tld_framelog *log; /* segments; the last one is appended to and never deleted */
    char **unlinks;           /* acknowledged segments to delete once the ack is persisted */
    unsigned nunlinks, capunlinks;
    pthread_mutex_t sync_mu; /* one sync at a time: a later one must not overtake */
    pthread_mutex_t ack_mu;  /* the ack file and the unlinks */

    struct tld_sb wbuf;    /* frames pushed, not yet written */
    uint64_t pending_last; /* seq of the last frame in wbuf */
    struct tld_sb scratch; /* encoding of the record being pushed */

    uint64_t next_seq, committed_seq;
    uint64_t acked, acked_persisted;
    int64_t ack_persist_ns;
    uint64_t holders[TLD_SPOOL_MAX_HOLDERS];

    bool full, shutdown;
    int64_t full_since_ns;
    uint64_t lost_reported;    /* last seq an agent_spool_records_lost event covered */
    struct tld_spool_stats st; /* counters only; the rest is filled by tld_spool_stats */
};

struct tld_spool_reader {
    struct tld_spool *sp;
    uint64_t next; /* seq wanted next */
    struct tld_framelog_cursor cur;
};

/* When the segment being appended to was deleted behind the spool's back, start a new one so
 * that later records are not lost as soon as written (sp->mu held). */
int tld_spool_renew_missing_active_locked(struct tld_spool *sp);

/* Record an agent_spool_records_lost own event for seqs first..last (sp->mu held): once per
 * range, however many readers meet it. */
void tld_spool_lost_locked(struct tld_spool *sp, uint64_t first, uint64_t last, uint64_t lost,
                           const char *reason);

#endif
