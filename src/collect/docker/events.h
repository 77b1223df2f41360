/*
 * The Engine's `/events` stream: one JSON object per line, as sent. The splitter cuts the
 * stream into lines across arbitrary chunk boundaries with a bound on a line
 * (TLD_EVENTS_MAX_LINE: longer lines are dropped and counted as garbage); the parser checks a
 * line is one JSON object and pulls out what the listener needs, keeping the raw bytes so the
 * event is forwarded exactly as Docker sent it.
 */
#ifndef TLD_COLLECT_DOCKER_EVENTS_H
#define TLD_COLLECT_DOCKER_EVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/str.h"

#define TLD_EVENTS_MAX_LINE (1u << 20)

struct tld_events_splitter {
    struct tld_sb buf;
    bool discarding;  /* inside an over-long line */
    uint64_t garbage; /* over-long lines dropped */
};

void tld_events_splitter_init(struct tld_events_splitter *s);
void tld_events_splitter_fini(struct tld_events_splitter *s);
/* Forget a partial line (the connection ended). */
void tld_events_splitter_reset(struct tld_events_splitter *s);
/* Feed bytes; `line` is called for every complete non-empty line (without the newline).
 * A false return from `line` stops early and feed returns false. */
bool tld_events_feed(struct tld_events_splitter *s, const char *p, size_t n,
                     bool (*line)(void *ctx, struct tld_sv l), void *ctx);

struct tld_docker_event {
    struct tld_sv raw;
    char type[32];
    char action[256];
    char id[129];    /* Actor.ID (or the old top-level id) */
    char name[256];  /* Actor.Attributes.name */
    char image[512]; /* Actor.Attributes.image */
    int64_t time_ns; /* timeNano, or time * 1e9; 0 if neither */
};

/* 0, or TLD_EPARSE when the line is not one JSON object. Fields absent stay "". */
int tld_docker_event_parse(struct tld_sv line, struct tld_docker_event *ev);

/* FNV-1a 64 of the raw event: its identity for de-duplication. */
uint64_t tld_docker_event_hash(struct tld_sv raw);

#endif
