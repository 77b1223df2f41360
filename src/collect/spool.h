/*
 * The spool: a bounded, crash-safe, on-disk queue of event records between the agent's sources
 * (collector, Docker listener) and its consumer (the forwarder, or `--output`).
 *
 * Records get consecutive sequence numbers that survive restarts. They are appended to segment
 * files `<dir>/seg-<first seq in 16 hex>.q` of a frame log (common/framelog.h) as frames
 *     u32 payload length | u32 CRC-32C of (seq ‖ payload) | u64 seq | payload (an evrec encoding)
 * all little-endian; segments of earlier releases, whose frames carry a CRC-32, are still read.
 * Only the last segment is ever appended to, so a crash (kill -9, power loss) can only leave a
 * torn frame at its end: opening the spool finds it by length, checksum and seq,
 * cuts it off and counts it (stats.torn_records / torn_bytes). A damaged frame inside an older
 * segment is counted (stats.corrupt_skips) by the reader, which continues at the next segment.
 *
 * Producers call tld_spool_push() (buffered in memory) and tld_spool_commit() (written to the
 * segment, visible to readers, safe from a process crash); tld_spool_sync() makes committed
 * records durable on disk. A source saves its own position only after the records that precede
 * it are committed (kill -9) and synced (power loss).
 *
 * Bound: segment files total at most max_bytes. A push that would pass it fails with
 * TLD_EAGAIN and the spool is "full" until acknowledged records free a segment and the total
 * is below 7/8 of the bound: sources pause meanwhile (back-pressure). The spool itself writes
 * a status record (location TLD_SPOOL_LOCATION, events agent_spool_full and
 * agent_spool_recovered) when it becomes full and when it recovers, into a reserve of
 * `reserve_bytes` above the bound that only such status records may use, so the condition is
 * never silent.
 *
 * Consumers read with a reader from any retained sequence number and acknowledge with
 * tld_spool_ack(seq): every record <= seq is done. The acknowledged sequence number is
 * persisted (`<dir>/ack`) and a segment is deleted once all its records are acknowledged and
 * no holder (tld_spool_retain) still needs them. Sources use holders to keep the records they
 * have not yet checkpointed, which they scan at start-up (tld_spool_scan) to resume exactly.
 *
 * All functions are thread-safe.
 */
#ifndef TLD_COLLECT_SPOOL_H
#define TLD_COLLECT_SPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/evrec.h"
#include "common/str.h"

#define TLD_SPOOL_FRAME_HEADER 16
#define TLD_SPOOL_MAX_HOLDERS  4
#define TLD_SPOOL_MIN_BYTES    (64u << 10)
#define TLD_SPOOL_LOCATION     "threatlockdown-agent"
/* The layout version in the spool directory's FORMAT file (common/format.h). */
#define TLD_SPOOL_FORMAT 1

struct tld_spool;
struct tld_spool_reader;

struct tld_spool_opts {
    const char *dir;               /* created if missing */
    uint64_t max_bytes;            /* bound on the segment files; >= TLD_SPOOL_MIN_BYTES */
    uint64_t segment_bytes;        /* 0: min(8 MiB, max_bytes / 8) */
    uint64_t reserve_bytes;        /* 0: 64 KiB; room for the spool's own status records */
    const struct tld_clock *clock; /* NULL: the system clock */
};

struct tld_spool_stats {
    uint64_t first_seq;     /* oldest record still on disk (== next_seq when empty) */
    uint64_t next_seq;      /* sequence number the next push gets */
    uint64_t committed_seq; /* last committed record (next_seq - 1 once all is committed) */
    uint64_t acked_seq;     /* persisted acknowledgement */
    uint64_t bytes;         /* size of the segment files, including uncommitted data */
    uint64_t max_bytes;
    unsigned segments;
    bool full;
    uint64_t full_count;     /* times the spool became full */
    uint64_t refused_pushes; /* pushes refused with TLD_EAGAIN */
    uint64_t torn_records;   /* torn frames cut off at open (0 or 1 per open) */
    uint64_t torn_bytes;     /* bytes cut off with them */
    uint64_t corrupt_skips;  /* damaged frames met by readers */
    uint64_t lost_records;   /* records those damaged frames or missing segments took away */
    uint64_t pushed;         /* records pushed since open */
};

int tld_spool_open(const struct tld_spool_opts *opts, struct tld_spool **out);
/* Commits what is buffered, syncs, persists the acknowledgement and frees everything. */
void tld_spool_close(struct tld_spool *sp);

enum tld_spool_push_flags {
    TLD_SPOOL_RESERVE = 1, /* a status record that may use the reserve (never refused for room) */
};

/* Encode and buffer one record. TLD_EAGAIN when full, TLD_EINVAL for a record the encoding
 * refuses, TLD_EIO on a write error. `seq` may be NULL. */
int tld_spool_push(struct tld_spool *sp, const struct tld_evrec *r, unsigned flags, uint64_t *seq);
/* Write every buffered record to its segment and wake readers. */
int tld_spool_commit(struct tld_spool *sp);
/* fdatasync the committed data (and the directory when segments were created). */
int tld_spool_sync(struct tld_spool *sp);
/* Block until a push of an ordinary record may succeed, or timeout_ms passes (TLD_ETIMEOUT). */
int tld_spool_wait_room(struct tld_spool *sp, int timeout_ms);
bool tld_spool_is_full(struct tld_spool *sp);

/* Records <= seq are done; persisted lazily (at latest on the next deletion or at close). */
int tld_spool_ack(struct tld_spool *sp, uint64_t seq);
/* Holder `id` (< TLD_SPOOL_MAX_HOLDERS) still needs every record > seq. UINT64_MAX releases. */
void tld_spool_retain(struct tld_spool *sp, unsigned id, uint64_t seq);

void tld_spool_stats(struct tld_spool *sp, struct tld_spool_stats *st);

/* Call cb for every committed record with seq >= from, in order; a non-zero return stops the
 * scan and is returned. Damaged frames are skipped and counted like a reader does. */
int tld_spool_scan(struct tld_spool *sp, uint64_t from,
                   int (*cb)(void *ctx, uint64_t seq, struct tld_sv payload), void *ctx);

/* A reader positioned at the first retained record >= from. */
int tld_spool_reader_open(struct tld_spool *sp, uint64_t from, struct tld_spool_reader **out);
void tld_spool_reader_close(struct tld_spool_reader *rd);
/* The next committed record: 0 with *seq and *payload (valid until the next call), or
 * TLD_ETIMEOUT after timeout_ms (0: do not wait), or TLD_ECLOSED once tld_spool_shutdown ran. */
int tld_spool_reader_next(struct tld_spool_reader *rd, uint64_t *seq, struct tld_sv *payload,
                          int timeout_ms);
/* Wake every waiter for good (readers return TLD_ECLOSED, wait_room returns TLD_ECLOSED). */
void tld_spool_shutdown(struct tld_spool *sp);

#endif
