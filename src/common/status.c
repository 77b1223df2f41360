/* Status of a daemon from the files it writes (see status.h). */
#include "common/status.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"

static char *read_small(const char *path, size_t max)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = 0;
    return buf;
}

/* The pid names a live process whose name is prog: a pid file left by a stopped daemon may
 * name a pid reused by something else. */
static bool alive_as(long pid, const char *prog)
{
    char path[64], comm[64] = "";
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    bool ok = fgets(comm, sizeof comm, f) != NULL;
    fclose(f);
    comm[strcspn(comm, "\n")] = 0;
    /* The kernel keeps 15 characters of the name. */
    return ok && strncmp(comm, prog, 15) == 0;
}

int tld_status_probe(const char *prog, const char *pidfile, const char *statsfile,
                     struct tld_status_probe *p)
{
    memset(p, 0, sizeof *p);
    p->stats_age_s = -1;
    char *pidtext = read_small(pidfile, 64);
    if (!pidtext && errno != ENOENT)
        return TLD_EIO;
    if (pidtext) {
        p->pid = strtol(pidtext, NULL, 10);
        free(pidtext);
        p->running = p->pid > 0 && alive_as(p->pid, prog);
    }
    struct stat st;
    if (stat(statsfile, &st) == 0) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        p->stats_age_s = (double)(now.tv_sec - st.st_mtim.tv_sec) +
                         (double)(now.tv_nsec - st.st_mtim.tv_nsec) / 1e9;
        char *text = read_small(statsfile, 1u << 20);
        if (text)
            p->stats = cJSON_Parse(text);
        free(text);
    }
    return 0;
}

int tld_status_root(const char *prog, const char *root, FILE *out)
{
    if (access(root, R_OK | X_OK) == 0)
        return -1;
    if (errno == ENOENT) {
        fprintf(out, "%s: not running (%s does not exist)\n", prog, root);
        return TLD_STATUS_NOT_RUNNING;
    }
    fprintf(out, "%s: status unknown: cannot read %s (%s)\n", prog, root, strerror(errno));
    return TLD_STATUS_UNKNOWN;
}

void tld_status_probe_fini(struct tld_status_probe *p)
{
    cJSON_Delete(p->stats);
    p->stats = NULL;
}

void tld_status_newest(const char *dir, const char *prefix, int64_t *mtime_s, bool *found)
{
    *found = false;
    *mtime_s = 0;
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t pl = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        if (strncmp(e->d_name, prefix, pl) != 0 || fstatat(dirfd(d), e->d_name, &st, 0) != 0 ||
            !S_ISREG(st.st_mode))
            continue;
        if (!*found || st.st_mtim.tv_sec > *mtime_s)
            *mtime_s = st.st_mtim.tv_sec;
        *found = true;
    }
    closedir(d);
}

static const cJSON *member(const cJSON *stats, const char *section, const char *key)
{
    const cJSON *s = section ? cJSON_GetObjectItemCaseSensitive(stats, section) : stats;
    return s ? cJSON_GetObjectItemCaseSensitive(s, key) : NULL;
}

uint64_t tld_status_u64(const cJSON *stats, const char *section, const char *key)
{
    const cJSON *v = member(stats, section, key);
    return cJSON_IsNumber(v) && v->valuedouble > 0 ? (uint64_t)v->valuedouble : 0;
}

bool tld_status_bool(const cJSON *stats, const char *section, const char *key)
{
    return cJSON_IsTrue(member(stats, section, key));
}

const char *tld_status_str(const cJSON *stats, const char *section, const char *key)
{
    const cJSON *v = member(stats, section, key);
    return cJSON_IsString(v) ? v->valuestring : "";
}

void tld_status_line(FILE *f, const char *label, const char *fmt, ...)
{
    fprintf(f, "  %-16s ", label);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fputc('\n', f);
}

const char *tld_status_size(uint64_t bytes, char buf[32])
{
    if (bytes < 1024)
        snprintf(buf, 32, "%llu B", (unsigned long long)bytes);
    else if (bytes < (1u << 20))
        snprintf(buf, 32, "%.1f KiB", (double)bytes / 1024);
    else
        snprintf(buf, 32, "%.1f MiB", (double)bytes / (1024.0 * 1024));
    return buf;
}

bool tld_status_queue(FILE *f, const cJSON *stats, const char *section, const char *label,
                      const char *when_full)
{
    char used[32], max[32];
    bool full = tld_status_bool(stats, section, "full");
    tld_status_line(f, label, "%s of %s, %llu segments%s",
                    tld_status_size(tld_status_u64(stats, section, "bytes"), used),
                    tld_status_size(tld_status_u64(stats, section, "max_bytes"), max),
                    (unsigned long long)tld_status_u64(stats, section, "segments"),
                    full ? when_full : "");
    return full;
}

void tld_status_when(FILE *f, const char *label, bool found, int64_t t)
{
    if (!found) {
        tld_status_line(f, label, "none yet");
        return;
    }
    char when[64];
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    long ago = (long)(time(NULL) - tt);
    tld_status_line(f, label, "%s (%ld s ago)", when, ago < 0 ? 0 : ago);
}
