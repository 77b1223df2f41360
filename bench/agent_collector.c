/*
 * Benchmark: lines per second from files to the spool, through the real collector (watcher,
 * line splitting, record encoding, CRC, segment writes, checkpoints) with no consumer.
 *
 *   agent_collector [--lines N] [--width W] [--format syslog|docker] [--dir D]
 *
 * A file of N lines of W bytes (for docker: json-file lines whose "log" is W bytes) is written
 * first; the collector is then started with only-future-events off and the clock runs from
 * its start until the last line is in the spool. Prints one line: "<format> <lines> <seconds>
 * <lines/s> <MB/s>".
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect/collect_config.h"
#include "collect/files/collector.h"
#include "collect/spool.h"
#include "common/log.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    tld_collector_run(arg);
    return NULL;
}

int main(int argc, char **argv)
{
    long lines = 2000000, width = 200;
    const char *format = "syslog", *base = "/tmp";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--lines"))
            lines = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--width"))
            width = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--format"))
            format = argv[i + 1];
        else if (!strcmp(argv[i], "--dir"))
            base = argv[i + 1];
    }
    bool docker = !strcmp(format, "docker");
    char dir[4096], cmd[4200];
    snprintf(dir, sizeof dir, "%s/tld-bench-collector.XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char logs[4200], path[4300], spool[4200], state[4300];
    snprintf(logs, sizeof logs, "%s/logs", dir);
    snprintf(spool, sizeof spool, "%s/spool", dir);
    snprintf(state, sizeof state, "%s/positions.json", dir);
    snprintf(path, sizeof path, "%s/app.log", logs);
    mkdir(logs, 0750);

    FILE *f = fopen(path, "w");
    char *pad = malloc((size_t)width + 1);
    memset(pad, 'x', (size_t)width);
    pad[width] = 0;
    for (long i = 0; i < lines; i++) {
        if (docker)
            fprintf(f,
                    "{\"log\":\"%08ld %s\\n\",\"stream\":\"stdout\",\"time\":"
                    "\"2026-11-26T15:36:42.123456789Z\"}\n",
                    i, pad + 9);
        else
            fprintf(f, "%08ld %s\n", i, pad + 9);
    }
    fclose(f);
    free(pad);

    struct tld_collect_config cfg;
    tld_collect_config_init(&cfg);
    cfg.files = calloc(1, sizeof *cfg.files);
    cfg.nfiles = 1;
    cfg.files[0].location = path;
    cfg.files[0].format = docker ? TLD_LOGFMT_DOCKER : TLD_LOGFMT_LINE;
    cfg.files[0].only_future = false;

    struct tld_log log;
    tld_log_init(&log, "bench", stderr, TLD_LOG_WARN);
    struct tld_spool_opts so = {.dir = spool, .max_bytes = 8ULL << 30};
    struct tld_spool *sp;
    if (tld_spool_open(&so, &sp) != 0) {
        fprintf(stderr, "cannot open the spool\n");
        return 1;
    }
    struct tld_collector_opts co = {.cfg = &cfg, .spool = sp, .state_file = state, .log = &log};
    struct tld_collector *c;
    double t0 = now_s();
    if (tld_collector_new(&co, &c) != 0) {
        fprintf(stderr, "cannot start the collector\n");
        return 1;
    }
    pthread_t t;
    pthread_create(&t, NULL, run, c);
    struct tld_collector_stats st;
    do {
        usleep(1000);
        tld_collector_stats(c, &st);
    } while ((long)st.events < lines && now_s() - t0 < 600);
    double secs = now_s() - t0;
    tld_collector_stop(c);
    pthread_join(t, NULL);
    printf("%s %ld %.3f %.0f %.1f\n", format, (long)st.events, secs, st.events / secs,
           st.bytes / secs / 1e6);
    tld_collector_free(c);
    tld_spool_close(sp);
    cfg.files[0].location = NULL;
    free(cfg.files);
    cfg.files = NULL;
    cfg.nfiles = 0;
    tld_collect_config_fini(&cfg);
    tld_log_fini(&log);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
