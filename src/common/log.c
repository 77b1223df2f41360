/* Line-oriented, thread-safe daemon log (see log.h). */
#include "common/log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
    return 0;
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
    fprintf(log->out, "%s %s[%d] %s: ", stamp, log->name, (int)getpid(), level_name(level));
    vfprintf(log->out, fmt, ap);
    fputc('\n', log->out);
    fflush(log->out);
    pthread_mutex_unlock(&log->lock);
    va_end(ap);
}
