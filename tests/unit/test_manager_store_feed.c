/*
 * Unit tests for the manager's store feed (src/manager/store_feed.c): a partial last line is
 * not stored until its newline comes, a position taken in alerts.json stays valid after the
 * file is rotated and compressed, a store rebuilt from nothing takes every file once, and
 * rotated files of days before `since_day` are passed over; with the real alerts writer, its
 * rotation and compression past midnight lose and repeat nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "manager/alerts_out.h"
#include "manager/store_feed.h"
#include "test_store_util.h"

struct feed_env {
    struct store_tmp t;
    char alerts_dir[128], live[160], ckpt[160];
    struct tld_store_feed_opts o;
};

static void env_make(struct feed_env *e)
{
    store_tmp_make(&e->t);
    snprintf(e->alerts_dir, sizeof e->alerts_dir, "%s/alerts", e->t.dir);
    snprintf(e->live, sizeof e->live, "%s/alerts.json", e->alerts_dir);
    snprintf(e->ckpt, sizeof e->ckpt, "%s/output.ckpt", e->t.dir); /* absent: day of mtime */
    assert_int_equal(tld_mkdir_p(e->alerts_dir, 0750), 0);
    e->o = (struct tld_store_feed_opts){e->alerts_dir, e->ckpt, 0, 2};
}

static void append(const char *path, const char *text)
{
    FILE *f = fopen(path, "ab");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static uint64_t count(struct tld_store *s)
{
    struct tld_store_filter f = {NULL, 0, INT64_MAX};
    uint64_t n = 0;
    assert_int_equal(tld_store_count(s, &f, &n), 0);
    return n;
}

static uint64_t feed(struct tld_store *s, const struct tld_store_feed_opts *o)
{
    uint64_t stored = 0;
    assert_int_equal(tld_store_feed_run(s, o, &stored), 0);
    return stored;
}

static int today(void)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    return (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
}

/* Where the writer would rotate a file of `day` (the first of that day) to; creates the folder. */
static void rotated_path(const struct feed_env *e, int day, char *out, size_t n)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char dir[200];
    snprintf(dir, sizeof dir, "%s/%04d/%s", e->alerts_dir, day / 10000,
             months[day / 100 % 100 - 1]);
    assert_int_equal(tld_mkdir_p(dir, 0750), 0);
    snprintf(out, n, "%s/ossec-alerts-%02d.json", dir, day % 100);
}

static void partial_line_waits(void **state)
{
    (void)state;
    struct feed_env e;
    env_make(&e);
    struct tld_store *s = store_open(e.t.path, false);
    append(e.live, "{\"a\":1}\n{\"a\":2}\n{\"a\":");
    assert_int_equal(feed(s, &e.o), 2);
    assert_int_equal(feed(s, &e.o), 0);
    struct tld_store_pos pos;
    assert_int_equal(tld_store_position(s, &pos), 0);
    assert_int_equal(pos.gen, (uint64_t)today() * 1000);
    assert_int_equal(pos.off, 16);
    struct tld_store_feed_lag lag;
    assert_int_equal(tld_store_feed_lag(&e.o, pos, &lag), 0);
    assert_int_equal(lag.bytes, 0); /* the partial line is not behind: it is not an alert yet */
    append(e.live, "3}\n");
    assert_int_equal(tld_store_feed_lag(&e.o, pos, &lag), 0);
    assert_int_equal(lag.bytes, 8);
    assert_int_equal(lag.alerts, 1);
    assert_int_equal(feed(s, &e.o), 1);
    assert_int_equal(count(s), 3);
    tld_store_close(s);
    store_tmp_remove(&e.t);
}

static void rotation_keeps_the_position(void **state)
{
    (void)state;
    struct feed_env e;
    env_make(&e);
    struct tld_store *s = store_open(e.t.path, false);
    append(e.live, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
    assert_int_equal(feed(s, &e.o), 3);
    /* Two more alerts, then the file is rotated and compressed before the feed sees them. */
    append(e.live, "{\"n\":4}\n{\"n\":5}\n");
    char rotated[300];
    rotated_path(&e, today(), rotated, sizeof rotated);
    assert_int_equal(rename(e.live, rotated), 0);
    assert_int_equal(tld_alerts_out_gzip(rotated), 0);
    append(e.live, "{\"n\":6}\n{\"n\":7}\n");
    assert_int_equal(feed(s, &e.o), 4);
    assert_int_equal(feed(s, &e.o), 0);
    assert_int_equal(count(s), 7);
    struct tld_store_pos pos;
    assert_int_equal(tld_store_position(s, &pos), 0);
    assert_int_equal(pos.gen, (uint64_t)today() * 1000 + 1); /* the day's second file */
    tld_store_close(s);
    /* Rebuilt from nothing: every file once, the compressed one included. */
    assert_int_equal(unlink(e.t.path), 0);
    s = store_open(e.t.path, false);
    assert_int_equal(feed(s, &e.o), 7);
    assert_int_equal(count(s), 7);
    tld_store_close(s);
    store_tmp_remove(&e.t);
}

static void since_day_skips_older_files(void **state)
{
    (void)state;
    struct feed_env e;
    env_make(&e);
    char old[300], newer[300];
    rotated_path(&e, 20240105, old, sizeof old);
    rotated_path(&e, 20240106, newer, sizeof newer);
    append(old, "{\"d\":5}\n");
    append(newer, "{\"d\":6}\n{\"d\":6}\n");
    assert_int_equal(tld_alerts_out_gzip(newer), 0);
    append(e.live, "{\"d\":0}\n");
    e.o.since_day = 20240106;
    struct tld_store *s = store_open(e.t.path, false);
    assert_int_equal(feed(s, &e.o), 3);
    tld_store_close(s);
    assert_int_equal(unlink(e.t.path), 0);
    e.o.since_day = 0;
    s = store_open(e.t.path, false);
    assert_int_equal(feed(s, &e.o), 4);
    tld_store_close(s);
    store_tmp_remove(&e.t);
}

static int64_t fixed_now(const struct tld_clock *c)
{
    return *(const int64_t *)c->ctx;
}

static void writer_alert(struct tld_alerts_out *a, uint64_t index, const char *msg)
{
    char before[64];
    snprintf(before, sizeof before, "{\"m\":\"%s\",\"id\":\"", msg);
    tld_alerts_out_begin(a, index);
    assert_int_equal(
        tld_alerts_out_add_alert(a, index, 1700000000, tld_sv_of(before), TLD_SV_LIT("\"}")), 0);
    assert_int_equal(tld_alerts_out_commit(a, index + 1), 0);
}

/* With the real writer: the live file's generation comes from its checkpoint (the writer's
 * clock says 2023-11-14, not today), and a rotation past midnight with compression loses and
 * repeats nothing. */
static void follows_the_writers_rotation(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    struct feed_env e;
    env_make(&e);
    char logs[128];
    snprintf(logs, sizeof logs, "%s", e.t.dir);
    int64_t now_ns = 1700000000LL * 1000000000LL; /* 2023-11-14 22:13:20 UTC */
    struct tld_clock clock = {fixed_now, &now_ns};
    struct tld_log log;
    tld_log_init(&log, "test", stderr, TLD_LOG_ERROR + 1);
    struct tld_alerts_out_opts ao = {logs, e.ckpt, false, &log, &clock};
    struct tld_alerts_out *a;
    struct tld_alerts_out_resume r;
    assert_int_equal(tld_alerts_out_open(&ao, &a, &r), 0);
    writer_alert(a, 1, "one");
    writer_alert(a, 2, "two");
    struct tld_store *s = store_open(e.t.path, false);
    assert_int_equal(feed(s, &e.o), 2);
    struct tld_store_pos pos;
    assert_int_equal(tld_store_position(s, &pos), 0);
    assert_int_equal(pos.gen, 20231114000ULL);
    writer_alert(a, 3, "three");
    now_ns += 2LL * 3600 * 1000000000LL; /* past midnight */
    assert_int_equal(tld_alerts_out_maybe_rotate(a), 0);
    writer_alert(a, 4, "four");
    tld_alerts_out_close(a); /* waits for the compression */
    char gz[300];
    snprintf(gz, sizeof gz, "%s/2023/Nov/ossec-alerts-14.json.gz", e.alerts_dir);
    struct stat sb;
    assert_int_equal(stat(gz, &sb), 0);
    struct stat live;
    assert_int_equal(stat(e.live, &live), 0);
    int day = 0;
    assert_int_equal(tld_alerts_out_live_day(e.ckpt, (uint64_t)live.st_ino, &day), 0);
    assert_int_equal(day, 20231115);
    assert_int_equal(tld_alerts_out_live_day(e.ckpt, (uint64_t)live.st_ino + 1, &day),
                     TLD_ENOTFOUND);
    assert_int_equal(feed(s, &e.o), 2);
    assert_int_equal(feed(s, &e.o), 0);
    assert_int_equal(count(s), 4);
    assert_int_equal(tld_store_position(s, &pos), 0);
    assert_int_equal(pos.gen, 20231115000ULL);
    assert_int_equal(pos.off, (uint64_t)live.st_size);
    tld_store_close(s);
    tld_log_fini(&log);
    store_tmp_remove(&e.t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(partial_line_waits),
        cmocka_unit_test(rotation_keeps_the_position),
        cmocka_unit_test(since_day_skips_older_files),
        cmocka_unit_test(follows_the_writers_rotation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
