/*
 * The daemons' own log ("2026-11-26 16:30:00 tld-manager[123] INFO: text"). A struct tld_log is
 * created by main() and handed to the components that need it; there is no process-wide logger.
 * Writes are serialised by a mutex so lines from several threads never interleave.
 *
 * Bounded: each call site (its format string) has a token bucket (TLD_LOG_BURST lines at once,
 * TLD_LOG_PER_S a second after that); lines over it are counted and the next line the site may
 * write is preceded by "N similar messages suppressed". A log opened on a file is rotated when
 * it reaches max_bytes: path.1 ... path.<keep>, the oldest dropped.
 */
#ifndef TLD_COMMON_LOG_H
#define TLD_COMMON_LOG_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

enum tld_log_level { TLD_LOG_DEBUG, TLD_LOG_INFO, TLD_LOG_WARN, TLD_LOG_ERROR };

#define TLD_LOG_BURST     20
#define TLD_LOG_PER_S     5
#define TLD_LOG_SITES     64
#define TLD_LOG_MAX_BYTES (10u << 20)
#define TLD_LOG_KEEP      5

struct tld_log_site {
    const char *fmt; /* the call site's format string (compared by address) */
    double tokens;
    int64_t last_ns; /* monotonic, last refill */
    uint64_t suppressed;
};

struct tld_log {
    FILE *out; /* not owned unless owns_out */
    int owns_out;
    enum tld_log_level min;
    char name[32]; /* program name shown in every line */
    pthread_mutex_t lock;
    char path[4096]; /* the file, when opened by tld_log_open (for rotation) */
    uint64_t size, max_bytes;
    unsigned keep;
    struct tld_log_site sites[TLD_LOG_SITES];
};

/* Log to `out` (not owned). */
void tld_log_init(struct tld_log *log, const char *name, FILE *out, enum tld_log_level min);
/* Log to a file opened for append (owned); 0 or TLD_EIO. */
int tld_log_open(struct tld_log *log, const char *name, const char *path, enum tld_log_level min);
void tld_log_fini(struct tld_log *log);
/* Rotation of a log opened by tld_log_open: at max_bytes (0 = never), keeping `keep` old files. */
void tld_log_set_rotation(struct tld_log *log, uint64_t max_bytes, unsigned keep);
void tld_log(struct tld_log *log, enum tld_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define tld_log_debug(l, ...) tld_log((l), TLD_LOG_DEBUG, __VA_ARGS__)
#define tld_log_info(l, ...)  tld_log((l), TLD_LOG_INFO, __VA_ARGS__)
#define tld_log_warn(l, ...)  tld_log((l), TLD_LOG_WARN, __VA_ARGS__)
#define tld_log_error(l, ...) tld_log((l), TLD_LOG_ERROR, __VA_ARGS__)

#endif
