/*
 * The Docker listener: a native client of the Engine's `/events` stream.
 *
 * Two threads. The reader only reads the stream and copies each event into a bounded memory
 * queue, so it never keeps the engine waiting (dockerd drops a subscriber that blocks). The
 * writer takes events from the queue, drops the ones already spooled, enriches container
 * create/start with an `inspect` object, writes them to the spool as
 *   {"integration":"docker","docker":<the event exactly as sent>}
 * (with `"inspect":{...}` added as the docker object's last member), and keeps the cursor.
 *
 * Resume: every record carries its event's timeNano and a hash of its bytes. On (re)connect
 * the reader asks for `since=<cursor - 1 s>`; the writer drops events whose hash it already
 * spooled (the slack catches events the engine stamped slightly out of order). The cursor
 * and the recent hashes are checkpointed after the records are synced, and the spool records
 * after the checkpoint are scanned at start, so kill -9 neither loses nor repeats events.
 * The engine replays only its last 256 events, and nothing across its own restart: if the
 * replay does not reach back to the last spooled event, events may be lost, so the writer
 * lists the containers, compares them with the state its events described, and emits a
 * listener "gap" event with the gap's length and the differences found.
 *
 * When the queue is full the reader drops the connection (counted, and a status event says
 * so), waits for room, and reconnects with since= so the engine replays what it missed.
 * Status events: {"integration":"docker","docker":{"Type":"listener","Action":...}} with
 * Action started, connected, reconnected, disconnected, error, gave_up, gap, overflow,
 * garbage (fields in docs/events.md).
 */
#ifndef TLD_COLLECT_DOCKER_LISTENER_H
#define TLD_COLLECT_DOCKER_LISTENER_H

#include <stdbool.h>
#include <stdint.h>

#include "collect/collect_config.h"
#include "collect/docker/meta.h"
#include "collect/spool.h"

/* The cursor file's layout version, its "version" member (common/format.h). */
#define TLD_DOCKER_CURSOR_FORMAT 1
#include "common/clock.h"
#include "common/log.h"

struct tld_listener;

struct tld_listener_opts {
    const struct tld_docker_config *cfg;
    struct tld_spool *spool;
    unsigned spool_holder;
    const char *cursor_file;
    struct tld_log *log;
    struct tld_meta *meta;         /* receives what inspect calls learn; may be NULL */
    const struct tld_clock *clock; /* NULL: system clock */
    unsigned backoff_max_ms;       /* 0: 30000 */
};

struct tld_listener_stats {
    bool connected;
    char api_version[16];
    uint64_t events;     /* events spooled */
    uint64_t duplicates; /* events dropped as already spooled */
    uint64_t connects;
    uint64_t failures;  /* failed connection attempts */
    uint64_t garbage;   /* stream lines that were not events */
    uint64_t overflows; /* times the memory queue filled */
    uint64_t queue_max; /* highest queue length seen */
    uint64_t inspects, inspect_failures;
    uint64_t posture_events; /* container posture events written after creates */
    uint64_t trimmed;        /* events forwarded with attributes cut or replaced (bound.h) */
    uint64_t reconciles, gaps;
    int64_t cursor_ns;
};

int tld_listener_new(const struct tld_listener_opts *opts, struct tld_listener **out);
int tld_listener_start(struct tld_listener *l);
/* Stop both threads; the writer spools what is queued if the spool has room, commits and
 * checkpoints. */
void tld_listener_stop(struct tld_listener *l);
void tld_listener_free(struct tld_listener *l);
void tld_listener_stats(struct tld_listener *l, struct tld_listener_stats *st);

#endif
