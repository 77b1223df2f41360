/*
 * Collector internals shared by collector.c (discovery, watches, checkpoints, the loop) and
 * stream.c (reading one path's files and turning lines into records).
 *
 * A stream is one followed path. It owns the files that were at that path and are not
 * finished yet, oldest first: after a rename the old file stays open (detached) until it is
 * read to its end, so nothing written before the rotation is lost. Each file gets a generation
 * number, increasing along the stream, so positions compare as (generation, offset).
 *
 * A stream's resume point is the earliest byte not yet accounted for by a record in the spool:
 * the end of the last line emitted, or the start of a Docker message still being reassembled.
 */
#ifndef TLD_COLLECT_FILES_INTERNAL_H
#define TLD_COLLECT_FILES_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "collect/ckpt.h"
#include "collect/files/collector.h"
#include "collect/files/dockerlog.h"
#include "collect/files/positions.h"
#include "collect/files/watch.h"
#include "collect/files/watcher.h"

#define MAX_FILES_PER_STREAM 16
#define HEAD_MAX             256
#define READ_BUF             (256u << 10)
#define PASS_BUDGET          READ_BUF     /* bytes per stream per pass; inotify is read between */
#define DOCKER_PHYS_MAX      (160u << 10) /* a json-file line holds at most 16 KiB of text */
#define PARTIAL_FLUSH_NS     (5LL * 1000000000) /* a piece without continuation is emitted */
#define META_RETRY_NS        (2LL * 1000000000)
#define FINISHED_RING        16
#define HBUCKETS             1024

struct fpos {
    uint64_t gen, dev, ino, off, head_len, head_hash;
};

struct tfile {
    int fd;
    uint64_t dev, ino, gen;
    uint64_t off; /* next byte to read; the carry holds [off - carry.n, off) */
    uint64_t head_len, head_hash;
    struct tld_sb carry; /* an incomplete last line, bounded */
    bool discarding;     /* dropping the rest of an over-long line */
    bool detached;       /* no longer the file at the stream's path */
    bool eof;            /* the last read found no more data */
    int64_t detached_ns;
    int64_t mtime_ns; /* at detach time: later rotated files are newer than this */
};

struct pending {
    bool on;
    struct tld_sb text;
    unsigned flags;
    uint32_t partials;
    char dstream[TLD_DOCKERLOG_MAX_STREAM + 1], dtime[TLD_DOCKERLOG_MAX_TIME + 1];
    size_t dstream_n, dtime_n;
    struct fpos resume;
};

enum { ASM_STDOUT, ASM_STDERR, ASM_OTHER, ASM_COUNT };

struct stream {
    char *path;
    const struct tld_localfile *lf;
    struct tfile files[MAX_FILES_PER_STREAM];
    unsigned nfiles;
    uint64_t next_gen;
    struct tld_dockerlog_asm asms[ASM_COUNT];
    struct fpos asm_start[ASM_COUNT]; /* where each pending message's first piece starts */
    int64_t asm_last_ns[ASM_COUNT];   /* when a piece last arrived */
    bool is_container;
    char cid[65];
    struct tld_cinfo *cinfo;
    bool meta_known; /* cinfo came from the engine (not only the id) */
    int64_t meta_retry_ns;
    struct fpos resume;
    bool resume_set;
    int64_t created_ns; /* when the stream began: files last written before are not new */
    struct pending pend;
    bool active;    /* read again on the next pass */
    bool check_rot; /* look at the path again (rename, truncation) */
    bool had_file;  /* a file was followed at the path before: a new one is a rotation */
    /* Files already finished: inode numbers are reused quickly, so a finished file is only
     * recognised by its inode together with its head fingerprint. */
    struct fpos finished[FINISHED_RING];
    unsigned nfinished;
    struct stream *hnext;
};

struct tld_collector {
    const struct tld_collect_config *cfg;
    struct tld_spool *spool;
    unsigned holder;
    char *state_file;
    struct tld_log *log;
    struct tld_clock clock;
    struct tld_meta_source meta;
    int64_t checkpoint_ns, rotate_wait_ns;

    struct tld_watcher *watcher;
    struct tld_ckpt *ckpt;
    int stop_fd;
    atomic_bool stopping;

    struct stream **streams;
    unsigned nstreams, capstreams;
    struct stream *htab[HBUCKETS];

    char *rbuf;                /* shared read buffer, READ_BUF bytes */
    struct tld_sb scratch;     /* unescaped docker piece / re-serialised json */
    bool first_start;          /* no checkpoint existed: only-future-events applies */
    struct tld_positions prev; /* checkpoint as loaded, advanced by the spool scan */
    uint64_t last_seq; /* every collector record <= this is reflected in the resume points */
    bool uncommitted, dirty;
    int64_t last_checkpoint_ns, next_tick_ns, next_rescan_ns;
    bool rescan;

    struct tld_collector_stats st; /* owned by the collector thread */
    pthread_mutex_t pub_mu;
    struct tld_collector_stats pub; /* copy for other threads */
};

static inline int64_t now_ns(struct tld_collector *c)
{
    return tld_clock_now(&c->clock);
}

static inline struct fpos pos_of(const struct tfile *f, uint64_t off)
{
    return (struct fpos){f->gen, f->dev, f->ino, off, f->head_len, f->head_hash};
}

/* stream.c */
enum pump_rc { PUMP_IDLE, PUMP_MORE, PUMP_STALLED };
struct stream *tld_stream_new(struct tld_collector *c, const char *path,
                              const struct tld_localfile *lf);
void tld_stream_free(struct stream *st);
/* Add a file to the end of the stream, positioned at off (fd is taken). */
int tld_stream_add_file(struct tld_collector *c, struct stream *st, int fd, uint64_t off,
                        bool detached);
enum pump_rc tld_stream_pump(struct tld_collector *c, struct stream *st);
/* Close file i and remember it as finished. */
void tld_stream_close_file(struct stream *st, unsigned i);

/* rotate.c */
/* Notice renames and truncations of the path. */
void tld_stream_check(struct tld_collector *c, struct stream *st);
/* File f (the one at the path) was truncated: continue from a copy if there is one, then
 * read f from its start. */
void tld_stream_truncated(struct tld_collector *c, struct stream *st, struct tfile *f);
/* Once a second: partial-message timeouts, finishing detached files, metadata retries. */
void tld_stream_tick(struct tld_collector *c, struct stream *st, int64_t now);
/* Emit a collector notice (location "logcollector"), Wazuh's wording. */
void tld_stream_notice(struct tld_collector *c, const char *fmt, const char *path);
/* Fingerprint of the first `len` bytes of fd; false if the file is shorter. */
bool tld_stream_head(int fd, uint64_t len, uint64_t *hash);
void tld_stream_set_meta(struct tld_collector *c, struct stream *st);

#endif
