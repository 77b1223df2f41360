/*
 * Spool internals shared by spool.c (writing, acknowledgements, open/close) and spool_read.c
 * (readers and scans). Nothing outside the spool includes this.
 */
#ifndef TLD_COLLECT_SPOOL_INT_H
#define TLD_COLLECT_SPOOL_INT_H

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <zlib.h>

#include "collect/spool.h"

#define WBUF_MAX       (256u << 10)
#define MAX_SEGMENTS   65536u
#define MAX_FRAME      ((uint64_t)TLD_EVREC_MAX_ENCODED)
#define READ_CHUNK     (256u << 10)
#define ACK_PERSIST_NS 1000000000LL
#define MAX_UNSYNCED   64

struct seg {
    uint64_t first; /* seq of its first record (named in the file name) */
    uint64_t last;  /* seq of its last committed record; first - 1 when empty */
    uint64_t bytes; /* committed bytes */
};

struct tld_spool {
    pthread_mutex_t mu;
    pthread_cond_t data; /* signalled on commit */
    pthread_cond_t room; /* signalled when the spool stops being full */
    char *dir;
    struct tld_clock clock;
    uint64_t max_bytes, segment_bytes, reserve_bytes;

    struct seg *segs;
    unsigned nsegs, capsegs;
    int fd; /* active segment, O_APPEND */
    bool dir_dirty;
    int unsynced[MAX_UNSYNCED]; /* sealed segments not yet fdatasync'ed (descriptors) */
    unsigned nunsynced;
    char **unlinks; /* acknowledged segments to delete once the ack is persisted */
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
    struct tld_spool_stats st; /* counters only; the rest is filled by tld_spool_stats */
};

struct tld_spool_reader {
    struct tld_spool *sp;
    uint64_t next; /* seq wanted next */
    int fd;
    uint64_t seg_first; /* segment fd refers to */
    uint64_t off;       /* file offset of buf[0] */
    unsigned char *buf;
    size_t len, pos, cap; /* valid bytes, parse position, allocation */
};

static inline uint32_t rd32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t rd64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline uint32_t frame_crc(const unsigned char *seq8, const void *payload, size_t n)
{
    uLong c = crc32(0L, seq8, 8);
    /* zlib takes uInt lengths; frames are bounded far below 4 GiB. */
    return (uint32_t)crc32(c, payload, (uInt)n);
}

static inline void seg_path(const struct tld_spool *sp, uint64_t first, char *buf, size_t n)
{
    snprintf(buf, n, "%s/seg-%016" PRIx64 ".q", sp->dir, first);
}

/* A deadline ms from now on CLOCK_MONOTONIC, and a wait until it (so a wall-clock step cannot
 * stretch or cut waits). */
void tld_spool_deadline(struct timespec *ts, int ms);
int tld_spool_timed_wait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *ts);

#endif
