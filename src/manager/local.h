/*
 * Local collection: the manager watches its own host as agent 000 with the collector and
 * Docker listener tld-agent runs (collect/files, collect/docker), configured by the
 * `<localfile>` and `<wodle name="docker-listener">` elements of the manager's configuration.
 *
 * They write into a local spool (`queue/local/spool`), exactly as in tld-agent, and a consumer
 * thread moves records from that spool into the intake journal (agent 0, the spool's stream
 * id, the spool's sequence numbers), fsyncs, and only then acknowledges the spool -- so local
 * events get the same guarantees as remote ones: kept on disk until journaled, deduplicated
 * after a crash, back-pressure when the journal is full.
 */
#ifndef TLD_MANAGER_LOCAL_H
#define TLD_MANAGER_LOCAL_H

#include <stdbool.h>
#include <stdint.h>

#include "collect/collect_config.h"
#include "common/log.h"
#include "manager/journal.h"

struct tld_local;

struct tld_local_opts {
    const struct tld_collect_config *cfg; /* localfile, docker listener, spool size */
    const char *queue_dir;                /* queue/local: spool/ and state/ below it */
    struct tld_journal *journal;
    struct tld_log *log;
};

struct tld_local_stats {
    bool docker_connected;
    uint64_t docker_events;
    uint64_t lines;         /* collector lines */
    uint64_t journaled;     /* records moved to the journal */
    uint64_t duplicates;    /* records the journal already had (after a crash) */
    uint64_t spool_pending; /* records in the local spool not yet journaled */
    uint64_t stalls;        /* times the journal was full */
};

int tld_local_new(const struct tld_local_opts *o, struct tld_local **out);
int tld_local_start(struct tld_local *l);
/* Stop the sources, move what they spooled into the journal (while it has room), stop. */
void tld_local_stop(struct tld_local *l);
void tld_local_free(struct tld_local *l);
void tld_local_stats(struct tld_local *l, struct tld_local_stats *st);

#endif
