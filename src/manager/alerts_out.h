/*
 * The alert outputs: `logs/alerts/alerts.json` (one alert per line) and, with logall_json,
 * `logs/archives/archives.json` (one line per event), rotated daily into
 * `logs/alerts/YYYY/Mon/ossec-alerts-DD.json.gz` and
 * `logs/archives/YYYY/Mon/ossec-archive-DD.json.gz` (the names Wazuh users and their tools know),
 * compressed with zlib by a helper thread.
 *
 * Exactly once across crashes. Outputs are written in batches that cover a contiguous range of
 * journal indexes [p_start, p_end). Before a batch is written, a checkpoint record describing
 * it goes to `<state>` (two alternating 8 KiB slots with a CRC and a generation number, so a
 * torn record leaves the previous one valid):
 *     p_start, p_end, both files' inode and size before the batch, the number of archive lines,
 *     and for each alert the journal index of its event and the file offset where its line ends.
 * Then the archive lines are written, then the alerts. An event yields at most one alert, so
 * after a kill -9 at any point the file sizes tell exactly which events' outputs are complete:
 * recovery cuts only a partial last line (never a complete one a shipper may have read) and
 * resumes analysis right after the last event whose alert is complete; the archive lines of
 * the events analysed again are cut (they were written an instant before, ahead of the alerts).
 * Durability (power loss) comes from tld_alerts_out_sync(), after which the consumer may release
 * the journal up to the index it returns.
 *
 * The alert id is "<receipt epoch s>.<size of alerts.json before the alert>" (Wazuh's rule,
 * with alerts.json as the measured file); callers pass each alert split around its id.
 *
 * Bounds: TLD_ALERTS_OUT_BATCH alerts per batch; the batch buffers grow to the batch's size.
 * Used by one thread (the pipeline's output thread).
 */
#ifndef TLD_MANAGER_ALERTS_OUT_H
#define TLD_MANAGER_ALERTS_OUT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/str.h"

#define TLD_ALERTS_OUT_BATCH 500

struct tld_alerts_out;

struct tld_alerts_out_opts {
    const char *logs_dir;   /* alerts/ and archives/ are created under it */
    const char *state_file; /* the checkpoint */
    bool archives;          /* logall_json */
    struct tld_log *log;
    const struct tld_clock *clock; /* NULL: system clock (drives rotation) */
};

/* Where processing resumes after open. */
struct tld_alerts_out_resume {
    uint64_t next_index; /* first journal index whose outputs are not complete (0: none
                            recorded, start at the journal's first index) */
    uint64_t cut_bytes;  /* partial lines removed at recovery */
};

struct tld_alerts_out_stats {
    uint64_t alerts, archives, batches, syncs, rotations, compressed;
    uint64_t alerts_bytes; /* current size of alerts.json */
};

int tld_alerts_out_open(const struct tld_alerts_out_opts *o, struct tld_alerts_out **out,
                        struct tld_alerts_out_resume *resume);
/* Commits nothing new; syncs and waits for a running compression. */
void tld_alerts_out_close(struct tld_alerts_out *a);

/* Start a batch whose first event has journal index `first`. */
void tld_alerts_out_begin(struct tld_alerts_out *a, uint64_t first);
/* Number of alerts in the open batch. */
unsigned tld_alerts_out_pending(const struct tld_alerts_out *a);
/* Add an alert of event `index`: text before the id value, and after it (starting with the id's
 * closing quote). TLD_ELIMIT when the batch is full (commit, begin, add again). */
int tld_alerts_out_add_alert(struct tld_alerts_out *a, uint64_t index, int64_t time_s,
                             struct tld_sv before_id, struct tld_sv after_id);
/* Add the archive line of an event (split the same way). */
int tld_alerts_out_add_archive(struct tld_alerts_out *a, int64_t time_s, struct tld_sv before_id,
                               struct tld_sv after_id);
/* Write the batch (checkpoint, archives, alerts); `next` is the journal index after the last
 * event it covers. */
int tld_alerts_out_commit(struct tld_alerts_out *a, uint64_t next);
/* fdatasync the outputs and the checkpoint; *durable_next: every event below it has durable
 * outputs (the journal may release up to it). */
int tld_alerts_out_sync(struct tld_alerts_out *a, uint64_t *durable_next);
/* Rotate when the local day changed since the files were opened (call between batches). */
int tld_alerts_out_maybe_rotate(struct tld_alerts_out *a);

void tld_alerts_out_stats(struct tld_alerts_out *a, struct tld_alerts_out_stats *st);

/*
 * The day (YYYYMMDD) the alerts.json with inode `ino` will carry in its rotated name, read from
 * the checkpoint `state_file` (another process may be writing it: the newest whole record is
 * used). TLD_ENOTFOUND when the checkpoint does not describe that file.
 */
int tld_alerts_out_live_day(const char *state_file, uint64_t ino, int *day);

/* Compress `path` to `path.gz` (gzip format) and remove it. */
int tld_alerts_out_gzip(const char *path);

#endif
