/*
 * What `tld-manager status` and `tld-agent status` share. Both read only what the daemons
 * already write -- the pid file, the stats file rewritten every second, the queue files -- so a
 * status query needs no channel into the daemon and works as any user who may read the root.
 *
 * The exit codes follow the LSB's for `status`, so service scripts and monitoring can use them.
 */
#ifndef TLD_COMMON_STATUS_H
#define TLD_COMMON_STATUS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

enum tld_status_code {
    TLD_STATUS_OK = 0,          /* running, and nothing below needs attention */
    TLD_STATUS_DEGRADED = 1,    /* running, but something does (the lines say what) */
    TLD_STATUS_NOT_RUNNING = 3, /* LSB "program is not running" */
    TLD_STATUS_UNKNOWN = 4,     /* the root cannot be read (permissions, missing) */
};

/* Stats older than this mean the daemon's housekeeping is stuck (it rewrites them each second). */
#define TLD_STATUS_STALE_S 10

struct tld_status_probe {
    bool running;       /* the pid file names a live process of this program */
    long pid;           /* from the pid file; 0 when there is none */
    double stats_age_s; /* since the stats file was last written; < 0 when there is none */
    cJSON *stats;       /* owned; NULL when the stats file is missing or unreadable */
};

/*
 * Fill *p for program `prog` (its process name) from `pidfile` and `statsfile`. 0, or TLD_EIO
 * when the pid file exists but cannot be read (errno says why: usually EACCES).
 */
int tld_status_probe(const char *prog, const char *pidfile, const char *statsfile,
                     struct tld_status_probe *p);
void tld_status_probe_fini(struct tld_status_probe *p);

/*
 * Whether `root` can be read: -1 when it can, else the exit code after saying why on out
 * (TLD_STATUS_NOT_RUNNING when it does not exist, TLD_STATUS_UNKNOWN when it cannot be read).
 */
int tld_status_root(const char *prog, const char *root, FILE *out);

/* The newest modification time (seconds) of the files in `dir` whose names start with
 * `prefix`; *found false when there is none. */
void tld_status_newest(const char *dir, const char *prefix, int64_t *mtime_s, bool *found);

/* Members of the stats object `section` (0 / false when absent). */
uint64_t tld_status_u64(const cJSON *stats, const char *section, const char *key);
bool tld_status_bool(const cJSON *stats, const char *section, const char *key);
const char *tld_status_str(const cJSON *stats, const char *section, const char *key);

/* "  LABEL  text" lines, aligned the same way by both programs. */
void tld_status_line(FILE *f, const char *label, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A size in bytes as "12.3 MiB". */
const char *tld_status_size(uint64_t bytes, char buf[32]);

/* A disk queue's line from its stats section ("bytes", "max_bytes", "segments", "full"):
 * "LABEL  1.2 MiB of 64.0 MiB, 3 segments" plus when_full if it is full. True when full. */
bool tld_status_queue(FILE *f, const cJSON *stats, const char *section, const char *label,
                      const char *when_full);

/* "2026-12-07 20:01:02 UTC (12 s ago)", or "none yet". */
void tld_status_when(FILE *f, const char *label, bool found, int64_t t);

#endif
