/*
 * The intake journal: the manager's durable, bounded, on-disk queue between the receivers
 * (agents, the local collector, own events) and analysis. An agent's batch is acknowledged
 * only once its events are in the journal and fsynced, so a manager killed at any moment (or a
 * power loss) never loses an acknowledged event.
 *
 * Records get consecutive journal indexes (from 1, kept across restarts) and are appended to
 * segment files `<dir>/j-<first index in 16 hex>.log` of a frame log (common/framelog.h) as
 * frames
 *     u32 body length | u32 CRC-32C of (index ‖ body) | u64 index | body
 * (little-endian). Body (proto.h field encoding):
 *     v agent | v stream | v seq | v receipt time (ns) | s peer ip | s record (an evrec)
 * Only the last segment is appended to; a torn frame at its end (crash mid-write) is cut off
 * at open and counted.
 *
 * Exactly once: each agent stream (agent id, stream id = the identity of the agent's spool)
 * has a watermark, the highest sequence number appended. Records at or below it are dropped
 * as duplicates (counted) -- that is how a resend after a lost acknowledgement or a manager
 * restart never produces a second alert. Sequence 0 means "not deduplicated" (own events).
 * Watermarks are rebuilt at open from `<dir>/watermarks` (a snapshot written before segments
 * are deleted) plus a scan of the remaining segments.
 *
 * Group commit: appends only write(); tld_journal_sync(index) makes everything up to index
 * durable, with one fdatasync serving every thread that waits for it.
 *
 * Bound: segment files total at most max_bytes. An append that would pass it fails with
 * TLD_EAGAIN (the receiver stops reading its socket: back-pressure to the agent's spool),
 * except for reserve appends (own events) which may use reserve_bytes above the bound. The
 * single consumer reads in index order and releases what its outputs made durable; whole
 * segments below the released index are deleted.
 *
 * Thread-safe: any number of appenders, one reader.
 */
#ifndef TLD_MANAGER_JOURNAL_H
#define TLD_MANAGER_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "common/str.h"

#define TLD_JOURNAL_FRAME_HEADER 16
#define TLD_JOURNAL_MAX_BODY     ((4u << 20) + 128u * 1024)
/* The layout version of the journal directory (segments, watermarks, output.ckpt) in its
 * FORMAT file (common/format.h). */
#define TLD_JOURNAL_FORMAT 1

struct tld_journal;

struct tld_journal_opts {
    const char *dir;
    uint64_t max_bytes;     /* >= 1 MiB */
    uint64_t segment_bytes; /* 0: min(64 MiB, max_bytes / 8) */
    uint64_t reserve_bytes; /* 0: 1 MiB */
    struct tld_log *log;
};

struct tld_journal_entry {
    unsigned agent;       /* 0 = the manager itself (local collector, own events) */
    uint64_t stream;      /* identity of the sender's spool (0 with seq 0) */
    uint64_t seq;         /* sender's sequence number; 0 = do not deduplicate */
    int64_t recv_ns;      /* when the manager received it */
    struct tld_sv ip;     /* sender's address as seen by the manager ("" for local) */
    struct tld_sv record; /* the event record (evrec encoding) */
};

struct tld_journal_stats {
    uint64_t first_index;  /* oldest index still on disk */
    uint64_t next_index;   /* index the next record gets */
    uint64_t synced_index; /* last durable index */
    uint64_t released;     /* everything below this was released by the consumer */
    uint64_t bytes, max_bytes;
    unsigned segments;
    uint64_t appended;   /* records appended since open */
    uint64_t duplicates; /* records dropped as already present */
    uint64_t refused;    /* appends refused for room (TLD_EAGAIN) */
    uint64_t syncs;      /* fdatasync calls */
    uint64_t torn_bytes; /* cut off at open */
    uint64_t corrupt;    /* damaged frames met (a segment's rest is skipped) */
    uint64_t lost;       /* records found missing at open (damaged or missing segments) */
    bool full;
};

int tld_journal_open(const struct tld_journal_opts *o, struct tld_journal **out);
/* Syncs, writes the watermark snapshot, frees. */
void tld_journal_close(struct tld_journal *j);

enum tld_journal_flags {
    TLD_JOURNAL_RESERVE = 1, /* may use the reserve above the bound */
};

/*
 * Append n entries of one sender in order, skipping duplicates (*dups counts them). On 0,
 * *sync_to is the index to pass to tld_journal_sync() before acknowledging: it covers these
 * entries and also any earlier append of the same sequence numbers by another connection.
 * TLD_EAGAIN when the entries do not fit now (nothing was appended); TLD_EINVAL for an entry
 * over the bounds; TLD_EIO on a write error.
 */
int tld_journal_append(struct tld_journal *j, const struct tld_journal_entry *e, unsigned n,
                       unsigned flags, uint64_t *sync_to, unsigned *dups);
/* Make every record <= index durable (group commit). */
int tld_journal_sync(struct tld_journal *j, uint64_t index);
/* The last durable index (every record <= it is on disk). */
uint64_t tld_journal_synced(struct tld_journal *j);
/* Wait until an append of `bytes` may fit, or timeout: 0, TLD_ETIMEOUT, TLD_ECLOSED. */
int tld_journal_wait_room(struct tld_journal *j, uint64_t bytes, int timeout_ms);

/* Highest sequence number of (agent, stream) that is durable; 0 if none (a new stream). Waits
 * only for the sync of that stream's own last append, not for records appended since. */
uint64_t tld_journal_watermark(struct tld_journal *j, unsigned agent, uint64_t stream);

/* ---- the single consumer --------------------------------------------------------------------- */

struct tld_journal_rec {
    uint64_t index;
    unsigned agent;
    uint64_t stream, seq;
    int64_t recv_ns;
    struct tld_sv ip;
    struct tld_sv record;
};

/*
 * The next durable record at or after `from` (the consumer passes the index after the last one
 * it read): 0 with *rec (views valid until the next call), TLD_ETIMEOUT after timeout_ms, or
 * TLD_ECLOSED once tld_journal_shutdown() ran and nothing more is there. Records below the
 * first retained index are skipped (they were released).
 */
int tld_journal_next(struct tld_journal *j, uint64_t from, struct tld_journal_rec *rec,
                     int timeout_ms);
/* Every record < index has been processed and its outputs are durable. */
int tld_journal_release(struct tld_journal *j, uint64_t index);
/* Wake everybody for good (readers and room waiters get TLD_ECLOSED). */
void tld_journal_shutdown(struct tld_journal *j);
/* Readers get TLD_ECLOSED from now on, even with records left: a stopping manager does not
 * analyse its whole backlog first (a restart would wait as long as the backlog takes); the
 * records stay in the journal and the next start analyses them, the path a kill -9 takes. */
void tld_journal_stop_readers(struct tld_journal *j);

void tld_journal_stats(struct tld_journal *j, struct tld_journal_stats *st);

#endif
