/*
 * The collector's watcher thread. It reads inotify continuously and, the moment a file that
 * matches a location pattern is created (or renamed into a matching name), opens it and keeps
 * the descriptor. A new container directory gets its watch at once. Everything else the
 * events say is queued for the collector thread, which may be busy reading for a while.
 *
 * Why: Docker's json-file driver rotates a 1 MB file several times a second under load and
 * deletes the oldest; a file that was created and deleted while the reader was busy would
 * otherwise never be read. A descriptor opened here keeps the data readable after the
 * deletion, so the collector reads every file that appeared after start from its first byte.
 *
 * Bounds: TLD_WATCHER_MAX_OPEN descriptors held for the collector (the oldest is closed past
 * that, and counted), each for at most TLD_WATCHER_HOLD_S seconds if the collector never takes
 * it; TLD_WATCHER_MAX_EVENTS queued events (past that the queue is cleared and the collector
 * told to rescan, which loses latency, not data).
 */
#ifndef TLD_COLLECT_FILES_WATCHER_H
#define TLD_COLLECT_FILES_WATCHER_H

#include <stdbool.h>
#include <stdint.h>

#include "collect/collect_config.h"
#include "collect/files/watch.h"
#include "common/log.h"

#define TLD_WATCHER_MAX_OPEN   256
#define TLD_WATCHER_HOLD_S     120
#define TLD_WATCHER_MAX_EVENTS 8192

struct tld_watcher;

struct tld_preopened {
    int fd;
    uint64_t dev, ino;
    uint64_t order;   /* order in which they were opened */
    int64_t mtime_ns; /* at take time; files are handed out oldest first */
};

int tld_watcher_new(const struct tld_collect_config *cfg, struct tld_log *log,
                    struct tld_watcher **out);
int tld_watcher_start(struct tld_watcher *w);
void tld_watcher_stop(struct tld_watcher *w);
void tld_watcher_free(struct tld_watcher *w);

/* Descriptor to poll: readable when events are queued. */
int tld_watcher_fd(struct tld_watcher *w);
/* Hand every queued event to cb (on the caller's thread). true when events were lost and a
 * full rescan is due. */
bool tld_watcher_drain(struct tld_watcher *w, tld_watch_cb cb, void *ctx);
/* The collector's own descriptor for writes to watched files (IN_MODIFY), and its drain. */
int tld_watcher_modify_fd(struct tld_watcher *w);
void tld_watcher_drain_modify(struct tld_watcher *w, tld_watch_cb cb, void *ctx);
/* Watch the directories of a pattern (safe from any thread). */
void tld_watcher_add_pattern(struct tld_watcher *w, const char *pattern);

/* Handle the inotify events queued so far on the caller's thread (the watcher thread does the
 * same continuously): after it, every file created before the call is held, unless it was
 * already gone. Returns the number of events. */
int tld_watcher_sync(struct tld_watcher *w);
/* Take (and own) the descriptors pre-opened for files created at `path`, oldest first; at
 * most max. Returns how many. */
unsigned tld_watcher_take(struct tld_watcher *w, const char *path, struct tld_preopened *out,
                          unsigned max);
/* Descriptors closed unused because of the bounds. */
uint64_t tld_watcher_dropped(struct tld_watcher *w);

#endif
