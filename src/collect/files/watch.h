/*
 * Directory watches for the collector (inotify). For a location pattern, every directory in
 * which a match could appear is watched: the pattern's directory, and for a wildcard directory
 * part (`/var/lib/docker/containers/<star>/...`) also the fixed prefix and each intermediate
 * level, so a new container directory is seen at once. Events are handed to a callback with
 * the directory and the name; the caller decides what they mean. inotify is the fast path
 * only: the collector also rescans periodically, so a lost event (queue overflow, a directory
 * created before its watch) costs latency, never data.
 *
 * Thread-safe: patterns may be added while another thread reads events.
 *
 * Bound: at most `max_watches` directories; further ones are refused with TLD_ELIMIT and
 * counted (the rescan still finds their files).
 */
#ifndef TLD_COLLECT_FILES_WATCH_H
#define TLD_COLLECT_FILES_WATCH_H

#include <stdint.h>

struct tld_watch;

typedef void (*tld_watch_cb)(void *ctx, const char *dir, const char *name, uint32_t mask);

/* `mask`: the inotify events wanted (IN_CREATE, IN_MODIFY, ...). */
int tld_watch_new(unsigned max_watches, uint32_t mask, struct tld_watch **out);
void tld_watch_free(struct tld_watch *w);
/* The descriptor to poll for POLLIN. */
int tld_watch_fd(const struct tld_watch *w);
/* Watch the directories that can hold matches of `pattern` (idempotent). */
int tld_watch_add_pattern(struct tld_watch *w, const char *pattern);
/* Read every queued event; cb gets name "" for events about the directory itself and the
 * mask IN_Q_OVERFLOW (dir "") when events were lost. Returns the number of events. */
int tld_watch_drain(struct tld_watch *w, tld_watch_cb cb, void *ctx);
unsigned tld_watch_count(struct tld_watch *w);
unsigned tld_watch_refused(struct tld_watch *w);

#endif
