/*
 * Feeds the alert store from the alert files: `logs/alerts/alerts.json` and its rotated
 * `logs/alerts/YYYY/Mon/ossec-alerts-DD[-NNN].json[.gz]` (alerts_out.h). The store's position is
 * (generation, offset): the generation names a file for its whole life, before and after its
 * rotation and compression, as day * 1000 + its collision number (YYYYMMDD000 for the first
 * file of a day), and the offset counts bytes of the uncompressed text. The live alerts.json
 * takes the day its writer will rotate it under (read from the outputs' checkpoint), so a
 * position taken in alerts.json stays valid in the rotated file.
 *
 * Only complete lines are ingested: a last line without its newline waits for the next run.
 * Used by the manager's store thread and by `tld-manager store rebuild`.
 */
#ifndef TLD_MANAGER_STORE_FEED_H
#define TLD_MANAGER_STORE_FEED_H

#include <stdint.h>

#include "store/store.h"

struct tld_store_feed_opts {
    const char *alerts_dir; /* logs/alerts */
    const char *ckpt;       /* the outputs' checkpoint (queue/intake/output.ckpt) */
    int since_day;          /* YYYYMMDD: rotated files of earlier days are passed over; 0: none */
    unsigned batch;         /* lines per store transaction; 0: 5000 */
};

struct tld_store_feed_lag {
    uint64_t bytes;  /* complete-line bytes on disk after the store's position */
    uint64_t alerts; /* lines among them */
};

/*
 * Ingests every complete line after the store's position, file by file in generation order.
 * `*stored` counts the alerts stored by this call.
 */
int tld_store_feed_run(struct tld_store *s, const struct tld_store_feed_opts *o, uint64_t *stored);

/* How far the files on disk are ahead of `pos`. */
int tld_store_feed_lag(const struct tld_store_feed_opts *o, struct tld_store_pos pos,
                       struct tld_store_feed_lag *lag);

#endif
