/* Line-oriented, thread-safe daemon log (see log.h). */
#include "common/log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/err.h"

void tld_log_init(struct tld_log *log, const char *name, FILE *out, enum tld_log_level min)
{
    memset(log, 0, sizeof *log);
    log->out = out;
    log->min = min;
    snprintf(log->name, sizeof log->name, "%s", name);
    pthread_mutex_init(&log->lock, NULL);
}

int tld_log_open(struct tld_log *log, const char *name, const char *path, enum tld_log_level min)
{
    FILE *f = fopen(path, "ae");
    if (!f)
        return TLD_EIO;
    setvbuf(f, NULL, _IOLBF, 0);
    tld_log_init(log, name, f, min);
    log->owns_out = 1;
    snprintf(log->path, sizeof log->path, "%s", path);
    struct stat st;
    log->size = fstat(fileno(f), &st) == 0 ? (uint64_t)st.st_size : 0;
    log->max_bytes = TLD_LOG_MAX_BYTES;
    log->keep = TLD_LOG_KEEP;
    return 0;
}

void tld_log_set_rotation(struct tld_log *log, uint64_t max_bytes, unsigned keep)
{
    pthread_mutex_lock(&log->lock);
    log->max_bytes = max_bytes;
    log->keep = keep;
    pthread_mutex_unlock(&log->lock);
}

/* path.<keep-1> -> path.<keep> ... path -> path.1, then a new path. The old stream stays when
 * the new file cannot be opened (the log keeps working, just longer). Lock held. */
static void rotate(struct tld_log *log)
{
    char from[4200], to[4200];
    for (unsigned k = log->keep; k > 1; k--) {
        snprintf(from, sizeof from, "%s.%u", log->path, k - 1);
        snprintf(to, sizeof to, "%s.%u", log->path, k);
        rename(from, to);
    }
    snprintf(to, sizeof to, "%s.1", log->path);
    if (log->keep == 0 || rename(log->path, to) != 0) {
        if (ftruncate(fileno(log->out), 0) == 0)
            log->size = 0;
        return;
    }
    FILE *f = fopen(log->path, "ae");
    if (!f)
        return;
    setvbuf(f, NULL, _IOLBF, 0);
    fclose(log->out);
    log->out = f;
    log->size = 0;
}

/*
 * The bucket of call site `fmt`: its own slot, found by probing from its hash, or a free one.
 * Once every slot is taken, sites share the slot their hash names; sharing only limits more,
 * whereas evicting would hand two alternating sites a fresh burst each time and bypass the bound.
 */
static struct tld_log_site *site_of(struct tld_log *log, const char *fmt, int64_t now)
{
    size_t home = ((uintptr_t)fmt >> 3) % TLD_LOG_SITES;
    for (size_t k = 0; k < TLD_LOG_SITES; k++) {
        struct tld_log_site *s = &log->sites[(home + k) % TLD_LOG_SITES];
        if (s->fmt == fmt)
            return s;
        if (!s->fmt) {
            *s = (struct tld_log_site){fmt, TLD_LOG_BURST, now, 0};
            return s;
        }
    }
    return &log->sites[home];
}

/* May the call site `fmt` write a line now? Counts the refusals. Lock held. */
static bool admit(struct tld_log *log, const char *fmt, uint64_t *suppressed)
{
    int64_t now = tld_mono_ns();
    struct tld_log_site *s = site_of(log, fmt, now);
    s->tokens += (double)(now - s->last_ns) / 1e9 * TLD_LOG_PER_S;
    if (s->tokens > TLD_LOG_BURST)
        s->tokens = TLD_LOG_BURST;
    s->last_ns = now;
    if (s->tokens < 1) {
        s->suppressed++;
        return false;
    }
    s->tokens -= 1;
    *suppressed = s->suppressed;
    s->suppressed = 0;
    return true;
}

void tld_log_fini(struct tld_log *log)
{
    if (log->owns_out && log->out)
        fclose(log->out);
    log->out = NULL;
    pthread_mutex_destroy(&log->lock);
}

static const char *level_name(enum tld_log_level level)
{
    switch (level) {
    case TLD_LOG_DEBUG:
        return "DEBUG";
    case TLD_LOG_INFO:
        return "INFO";
    case TLD_LOG_WARN:
        return "WARNING";
    case TLD_LOG_ERROR:
        return "ERROR";
    }
    return "?";
}

void tld_log(struct tld_log *log, enum tld_log_level level, const char *fmt, ...)
{
    if (!log || !log->out || level < log->min)
        return;
    char stamp[32];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&log->lock);
    uint64_t suppressed = 0;
    if (admit(log, fmt, &suppressed)) {
        int n = 0;
        if (suppressed)
            n += fprintf(log->out, "%s %s[%d] %s: %llu similar messages suppressed\n", stamp,
                         log->name, (int)getpid(), level_name(level),
                         (unsigned long long)suppressed);
        n +=
            fprintf(log->out, "%s %s[%d] %s: ", stamp, log->name, (int)getpid(), level_name(level));
        n += vfprintf(log->out, fmt, ap);
        fputc('\n', log->out);
        fflush(log->out);
        log->size += n > 0 ? (uint64_t)n + 1 : 1;
        if (log->path[0] && log->max_bytes && log->size >= log->max_bytes)
            rotate(log);
    }
    pthread_mutex_unlock(&log->lock);
    va_end(ap);
}
