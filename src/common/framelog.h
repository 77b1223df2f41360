/*
 * The frame log: a directory of segment files holding consecutive, checksummed records, the
 * storage both the agent's spool and the manager's intake journal are built on. It knows
 * segments (naming, rollover, listing, deletion), frames (encoding, checking, reading from a
 * position), recovery at open (a torn tail of the last segment is cut off) and when data is
 * made durable; what records mean, acknowledgements, cursors of consumers and locking stay with
 * its users.
 *
 * Segment `<dir>/<prefix><first seq in 16 hex><suffix>` holds records first, first + 1, ... as
 * frames
 *     u32 payload length | u32 CRC-32C of (seq ‖ payload) | u64 seq | payload
 * all little-endian. Only the last segment is appended to. Segments written by releases that
 * used another checksum (the spool's CRC-32) are recognised per segment by the checksum their
 * first frame carries: they are read, never appended to (open starts a new segment after such
 * a last segment).
 *
 * Not thread-safe: the user serialises calls on one log under its own lock, except where a
 * function says it runs without it (cursors, tld_framelog_write, tld_framelog_sync_run).
 */
#ifndef TLD_COMMON_FRAMELOG_H
#define TLD_COMMON_FRAMELOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

#define TLD_FRAMELOG_HEADER       16
#define TLD_FRAMELOG_MAX_SEGMENTS 65536u
#define TLD_FRAMELOG_MAX_UNSYNCED 64u

enum tld_framelog_sum {
    TLD_FRAMELOG_SUM_UNKNOWN = 0, /* no frame of the segment checked yet */
    TLD_FRAMELOG_SUM_CRC32C,      /* what frames are written with */
    TLD_FRAMELOG_SUM_CRC32,       /* spool segments of earlier releases (zlib's CRC-32) */
};

/* When data reaches the disk besides tld_framelog_sync_*: the user's durability policy. */
enum tld_framelog_sync {
    /* A segment is fdatasync'ed when it is sealed and the directory when a segment is created,
     * before the roll returns (the journal: its synced index covers sealed segments). */
    TLD_FRAMELOG_SYNC_AT_ROLL,
    /* Sealed segments and new directory entries wait for the next sync (the spool: producers
     * never wait for the disk); at most TLD_FRAMELOG_MAX_UNSYNCED sealed segments wait. */
    TLD_FRAMELOG_SYNC_DEFERRED,
};

struct tld_framelog_params {
    const char *prefix, *suffix;  /* segment file names */
    uint32_t max_payload;         /* longer frames are damage */
    size_t read_chunk;            /* cursor read size */
    enum tld_framelog_sum legacy; /* older segments may use it; UNKNOWN: none */
    enum tld_framelog_sync sync;
    bool check_all; /* open checks every segment (exact ends, gaps), not just
                     * the last one */
};

struct tld_framelog_seg {
    uint64_t first; /* seq of its first record */
    uint64_t last;  /* of its last record (first - 1: empty). Unchecked older segments: the
                     * next segment's first - 1, what they should hold */
    uint64_t bytes; /* committed bytes (file size for older segments) */
    enum tld_framelog_sum sum;
};

/* What open found. */
struct tld_framelog_recovery {
    uint64_t torn_frames;     /* 0 or 1: an unfinished or damaged tail cut off */
    uint64_t torn_bytes;      /* bytes cut off with it */
    uint64_t damaged;         /* older segments with a damaged frame (check_all) */
    uint64_t lost;            /* records known missing: behind damage, or a missing segment */
    uint64_t legacy_segments; /* segments found in an earlier release's format */
};

struct tld_framelog {
    char *dir;
    struct tld_framelog_params p;
    struct tld_framelog_seg *segs; /* ordered by first; the last one is appended to */
    unsigned nsegs, capsegs;
    uint64_t bytes; /* of all segments */
    int fd;         /* the last segment, O_APPEND */
    int unsynced[TLD_FRAMELOG_MAX_UNSYNCED];
    unsigned nunsynced;
    bool dir_dirty;
    struct tld_framelog_recovery rec;
};

/* A frame's checked contents, for open's visitor: non-zero makes the frame count as damaged. */
typedef int (*tld_framelog_visit)(void *ctx, uint64_t seq, struct tld_sv payload);

/*
 * Open the log in `dir` (which must exist): list and order the segments, check the last one
 * (every one with check_all, calling visit for each good frame when not NULL) and cut off a
 * torn tail. An empty directory gets a first segment starting at first_seq.
 */
int tld_framelog_open(const struct tld_framelog_params *p, const char *dir, uint64_t first_seq,
                      tld_framelog_visit visit, void *ctx, struct tld_framelog **out);
/* Closes descriptors and frees; makes nothing durable (see tld_framelog_sync_now). */
void tld_framelog_close(struct tld_framelog *fl);

/* Seq the next appended record must carry. */
static inline uint64_t tld_framelog_next_seq(const struct tld_framelog *fl)
{
    return fl->segs[fl->nsegs - 1].last + 1;
}

/* ---- writing --------------------------------------------------------------------------------- */

/* The header of a frame carrying `payload` as record seq. */
void tld_framelog_header(unsigned char hdr[TLD_FRAMELOG_HEADER], uint64_t seq, const void *payload,
                         size_t n);
/* Fill in the header of a frame built in place: n payload bytes follow its header. */
void tld_framelog_seal(void *frame, uint64_t seq, size_t n);

/* Append whole frames holding records up to `last` to the last segment. On failure the file is
 * cut back to its committed size (TLD_EIO), or if even that fails TLD_ECORRUPT: a partial frame
 * may stay behind for the next open to cut off. */
int tld_framelog_append(struct tld_framelog *fl, const void *frames, size_t n, uint64_t last);
/* The same in two steps, for a user that writes without its lock (one appender at a time):
 * write to fd = fl->fd, committed size `keep`, then tld_framelog_appended under the lock. */
int tld_framelog_write(int fd, uint64_t keep, const void *frames, size_t n);
void tld_framelog_appended(struct tld_framelog *fl, size_t n, uint64_t last);

/* Seal the last segment and start a new one at seq `first` (the sync policy says whether the
 * sealed one is fdatasync'ed now). */
int tld_framelog_roll(struct tld_framelog *fl, uint64_t first);
/* Is the last segment's file gone from the folder (deleted behind the log's back)? Frames
 * appended to it would be lost as soon as written. */
bool tld_framelog_last_missing(const struct tld_framelog *fl);
/* Give the last segment, whose file is gone, a successor that exists: a roll when it held
 * records, else the same (empty) segment created anew. */
int tld_framelog_renew_last(struct tld_framelog *fl);
/* The next record has seq `first`, beyond the last one's successor (records known to be gone):
 * an empty last segment is renamed to start there, else a new segment starts there. */
int tld_framelog_skip_to(struct tld_framelog *fl, uint64_t first);

/* ---- durability ------------------------------------------------------------------------------ */

struct tld_framelog_sync_job {
    int fds[TLD_FRAMELOG_MAX_UNSYNCED + 1];
    unsigned n;
    bool dir;
};

/* Under the user's lock: what a sync must cover (sealed segments waiting, the last segment,
 * the directory if segments were created). */
void tld_framelog_sync_take(struct tld_framelog *fl, struct tld_framelog_sync_job *job);
/* Without the lock: fdatasync and close them. job->dir stays true when the directory failed. */
int tld_framelog_sync_run(const struct tld_framelog *fl, struct tld_framelog_sync_job *job);
/* Under the lock: the directory sync that failed is due again at the next sync. */
void tld_framelog_sync_return(struct tld_framelog *fl, const struct tld_framelog_sync_job *job);
/* The three at once, for a user that holds its lock anyway (close, tests). */
int tld_framelog_sync_now(struct tld_framelog *fl);

/* ---- deletion -------------------------------------------------------------------------------- */

void tld_framelog_path(const struct tld_framelog *fl, uint64_t first, char *buf, size_t n);
/* Drop the k oldest segments from the table (k < nsegs: never the last one) and return their
 * bytes; the user unlinks the files when it is safe to (tld_framelog_path). */
uint64_t tld_framelog_forget(struct tld_framelog *fl, unsigned k);
/* Unlink and forget the k oldest segments, stopping at the first that cannot be unlinked. */
int tld_framelog_remove(struct tld_framelog *fl, unsigned k);

/* ---- reading --------------------------------------------------------------------------------- */

/* Reads the frames of one segment in order through its own descriptor; used without the
 * user's lock on a copy of the segment's table entry, since committed bytes never change and
 * a deleted segment stays readable through an open descriptor. */
struct tld_framelog_cursor {
    const struct tld_framelog *fl; /* dir and params only */
    int fd;
    uint64_t seg_first;
    enum tld_framelog_sum sum;
    uint64_t next; /* seq of the frame at the read position */
    uint64_t lost; /* after TLD_ECORRUPT: the segment's records it will not return */
    uint64_t off;  /* file offset of buf[0] */
    unsigned char *buf;
    size_t len, pos, cap; /* valid bytes, read position, allocation */
};

void tld_framelog_cursor_init(struct tld_framelog_cursor *c, const struct tld_framelog *fl);
void tld_framelog_cursor_fini(struct tld_framelog_cursor *c);
/* Start again at the beginning of the segment on the next call. */
void tld_framelog_cursor_rewind(struct tld_framelog_cursor *c);
/*
 * The next frame of segment *seg, from its first one: 0 with *seq and *payload (valid until
 * the next call); TLD_EAGAIN when its committed bytes hold no further frame and none is
 * missing; TLD_ECORRUPT at a damaged frame or when the bytes end before seg->last (c->lost
 * says how many records are gone); TLD_ENOTFOUND when the file is gone.
 */
int tld_framelog_cursor_next(struct tld_framelog_cursor *c, const struct tld_framelog_seg *seg,
                             uint64_t *seq, struct tld_sv *payload);
/* File offset of the next frame (the end of the good frames after a failure). */
static inline uint64_t tld_framelog_cursor_offset(const struct tld_framelog_cursor *c)
{
    return c->off + c->pos;
}

/* CRC-32C (Castagnoli), continuing from crc (0 to start). */
uint32_t tld_crc32c(uint32_t crc, const void *buf, size_t n);

#endif
