/*
 * The manager's store thread: it keeps the alert store (store/store.h) caught up with the alert
 * files (store_feed.h) and applies its retention. Analysis never waits for it: alerts.json is
 * the record and the thread follows it. When the store fails (ClickHouse down, disk full) the
 * thread closes it, waits with a doubling back-off (1 s to 30 s) and catches up from the store's
 * own position; a SQLite store file deleted by hand is created again and refilled from every
 * alert file on disk. Its lag (bytes and alerts behind, last error) is in the manager's stats.
 */
#ifndef TLD_MANAGER_STORE_THREAD_H
#define TLD_MANAGER_STORE_THREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "manager/store_feed.h"
#include "store/store.h"

struct tld_store_thread;

struct tld_store_thread_opts {
    struct tld_store_config store; /* the strings are copied */
    struct tld_store_feed_opts feed;
    int64_t max_age_s;  /* retention; 0: none */
    uint64_t max_bytes; /* retention; 0: none */
    struct tld_log *log;
};

struct tld_store_thread_stats {
    bool open;
    uint64_t stored;   /* alerts stored since the start */
    uint64_t failures; /* store errors since the start */
    uint64_t refills;  /* store files found deleted and created again */
    uint64_t retained; /* alerts removed by retention */
    struct tld_store_pos pos;
    struct tld_store_feed_lag lag;
    char last_error[256]; /* "" when the last attempt worked */
};

int tld_store_thread_start(const struct tld_store_thread_opts *o, struct tld_store_thread **out);
/* Stops after the batch in progress; NULL is fine. */
void tld_store_thread_stop(struct tld_store_thread *t);
void tld_store_thread_stats(struct tld_store_thread *t, struct tld_store_thread_stats *st);

/* Opens the store of `cfg`, creating the folder of a SQLite file first. */
int tld_store_thread_open_store(const struct tld_store_config *cfg, struct tld_store **out);

#endif
