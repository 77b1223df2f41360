/*
 * The log collector: follows the files of every <localfile> and turns each line into an
 * event record in the spool.
 *
 * Guarantees (details in docs/agent.md):
 * - A file that appears while the agent runs is read from offset 0. At the very first start,
 *   files already present follow only-future-events (default: from their end); after that,
 *   positions are kept and a file that appeared while the agent was stopped is read from 0.
 * - Rotation by rename: the old file is finished from its open descriptor (and rotated files
 *   the collector had not opened yet are found by name and read in order); copy-truncate and
 *   truncation: detected by size and by a fingerprint of the first bytes; the rest of the old
 *   content is read from the copy when one is found.
 * - Every record carries the position reached after it. Positions are checkpointed only once
 *   their records are committed and synced, and at start-up the checkpoint is advanced with the
 *   positions found in the spool records written after it, so a restart, also after kill -9,
 *   resumes exactly after the last line that reached the spool.
 * - When the spool refuses a record (full), the stream keeps that one event in memory and stops
 *   reading until it is accepted: back-pressure, no drop.
 *
 * Threading: tld_collector_run() is the collector's thread; stop and stats may be called from
 * others.
 */
#ifndef TLD_COLLECT_FILES_COLLECTOR_H
#define TLD_COLLECT_FILES_COLLECTOR_H

#include <stdint.h>

#include "collect/collect_config.h"
#include "collect/spool.h"
#include "common/clock.h"
#include "common/log.h"

struct tld_cinfo;
struct tld_collector;

/* Seam: where container information comes from (the Docker metadata cache in the agent). */
struct tld_meta_source {
    /* A new reference to what is known about container `id` (64 hex), or NULL if the engine
     * cannot tell right now (asked again later). */
    struct tld_cinfo *(*lookup)(void *ctx, const char *id);
    void *ctx;
};

struct tld_collector_opts {
    const struct tld_collect_config *cfg;
    struct tld_spool *spool;
    unsigned spool_holder;  /* holder id used to keep the records not yet checkpointed */
    const char *state_file; /* the checkpoint file */
    struct tld_log *log;
    const struct tld_clock *clock; /* NULL: system clock */
    struct tld_meta_source meta;   /* lookup may be NULL */
    unsigned checkpoint_ms;        /* 0: 1000 */
    unsigned rotate_wait_ms;       /* how long a renamed file is kept open at EOF; 0: 2000 */
};

struct tld_collector_stats {
    uint64_t lines;        /* physical lines read */
    uint64_t events;       /* records pushed */
    uint64_t bytes;        /* bytes read from files */
    uint64_t truncated;    /* events cut at the maximum */
    uint64_t joined;       /* docker messages reassembled from several pieces */
    uint64_t malformed;    /* docker lines that were not json-file entries (sent raw) */
    uint64_t json_dropped; /* json-format lines that were not objects (dropped) */
    uint64_t rotations;    /* renames noticed */
    uint64_t truncations;  /* truncations noticed */
    uint64_t copies_found; /* copy-truncate copies read */
    uint64_t files_opened;
    uint64_t files_missed;  /* rotated files gone before they could be read */
    uint64_t stalls;        /* times a stream paused because the spool was full */
    uint64_t streams;       /* paths followed now */
    uint64_t refused_files; /* matches not followed because of max_files */
    uint64_t checkpoints;
};

int tld_collector_new(const struct tld_collector_opts *opts, struct tld_collector **out);
void tld_collector_free(struct tld_collector *c);
/* Follow files until tld_collector_stop(); then commit and write a final checkpoint. */
int tld_collector_run(struct tld_collector *c);
void tld_collector_stop(struct tld_collector *c);
void tld_collector_stats(struct tld_collector *c, struct tld_collector_stats *st);

/* The container id in a Docker json-file path (.../containers/<id>/<id>-json.log[.N]), or
 * false. `id` receives 64 characters and a NUL. */
bool tld_collector_container_id(const char *path, char id[65]);

#endif
