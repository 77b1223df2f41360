/*
 * The sources of one spool, as both daemons run them: the Docker metadata cache, the file
 * collector (on its own thread) and the Docker listener, built from the collection sections
 * of a configuration (collect_config.h). tld-agent runs one set over its spool; the manager
 * runs one for its local agent 000. Positions and the Docker cursor live in `state_dir`.
 *
 * Order: _new builds what the configuration asks for; _start starts the collector thread and
 * the listener; _stop stops the listener, then the collector (each commits and checkpoints);
 * _free releases everything (stopping first if needed). The spool outlives the sources.
 */
#ifndef TLD_COLLECT_SOURCES_H
#define TLD_COLLECT_SOURCES_H

#include "collect/collect_config.h"
#include "collect/docker/listener.h"
#include "collect/files/collector.h"
#include "collect/spool.h"
#include "common/log.h"

struct tld_sources;

struct tld_sources_opts {
    const struct tld_collect_config *cfg;
    struct tld_spool *spool;
    const char *state_dir; /* file_positions.json, docker_cursor.json */
    struct tld_log *log;
};

int tld_sources_new(const struct tld_sources_opts *o, struct tld_sources **out);
int tld_sources_start(struct tld_sources *s);
void tld_sources_stop(struct tld_sources *s);
void tld_sources_free(struct tld_sources *s);

/* For stats: NULL when the configuration has no such source. */
struct tld_collector *tld_sources_collector(struct tld_sources *s);
struct tld_listener *tld_sources_listener(struct tld_sources *s);

#endif
