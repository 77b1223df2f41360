/*
 * Appends alerts to an existing store one at a time, as the manager's feeder would, for the
 * live-stream latency bench (bench/api_bench.py): each alert is a template with
 * "bench_sent_ms" (wall clock, epoch ms) set just before its transaction, so a stream client
 * can tell how long the alert took from the store to it.
 *
 *   store_append --db FILE --count N --interval-ms MS TEMPLATE.json
 * Build: as bench_store (bench/api.sh does it).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/store.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
    const char *db = NULL, *tmpl = NULL;
    long count = 100, interval = 50;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(argv[i], "--count") && i + 1 < argc)
            count = atol(argv[++i]);
        else if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc)
            interval = atol(argv[++i]);
        else
            tmpl = argv[i];
    }
    FILE *f = tmpl ? fopen(tmpl, "r") : NULL;
    if (!db || !f) {
        fprintf(stderr, "usage: store_append --db F [--count N] [--interval-ms MS] TEMPLATE\n");
        return 2;
    }
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    cJSON *a = cJSON_Parse(text);
    struct tld_store_config cfg = {.backend = TLD_STORE_SQLITE, .path = db};
    struct tld_store *s;
    if (!a || tld_store_open(&cfg, &s) != 0) {
        fprintf(stderr, "store_append: bad template or store\n");
        return 1;
    }
    struct tld_store_pos pos;
    if (tld_store_position(s, &pos) != 0)
        return 1;
    for (long k = 0; k < count; k++) {
        int64_t now = wall_ms();
        time_t secs = (time_t)(now / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        char ts[64];
        snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(now % 1000));
        cJSON_DeleteItemFromObjectCaseSensitive(a, "timestamp");
        cJSON_AddStringToObject(a, "timestamp", ts);
        cJSON_DeleteItemFromObjectCaseSensitive(a, "bench_sent_ms");
        cJSON_AddNumberToObject(a, "bench_sent_ms", (double)now);
        char *line = cJSON_PrintUnformatted(a);
        pos.off += strlen(line) + 1;
        struct tld_store_line l = {line, strlen(line), pos};
        struct tld_store_batch b = {&l, 1, now};
        size_t stored;
        int rc = tld_store_ingest(s, &b, &stored);
        free(line);
        if (rc) {
            fprintf(stderr, "store_append: %s\n", tld_store_errmsg(s));
            return 1;
        }
        usleep((useconds_t)interval * 1000);
    }
    tld_store_close(s);
    cJSON_Delete(a);
    return 0;
}
