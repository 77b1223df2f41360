/*
 * Unit tests for the alert outputs: ids from the file offset, recovery after a crash at each
 * point of a batch (exactly-once resume index, partial lines cut), torn checkpoint slots, and
 * daily rotation with gzip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "common/err.h"
#include "manager/alerts_out.h"

struct fx {
    char root[256], logs[300], state[300], alerts[400], archives[400];
    struct tld_log log;
    int64_t now_ns;
    struct tld_clock clock;
};

static int64_t test_now(const struct tld_clock *c)
{
    return *(const int64_t *)c->ctx;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/tld-test-alerts-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->logs, sizeof f->logs, "%s/logs", f->root);
    snprintf(f->state, sizeof f->state, "%s/output.ckpt", f->root);
    snprintf(f->alerts, sizeof f->alerts, "%s/alerts/alerts.json", f->logs);
    snprintf(f->archives, sizeof f->archives, "%s/archives/archives.json", f->logs);
    tld_log_init(&f->log, "test", stderr, TLD_LOG_ERROR + 1);
    setenv("TZ", "UTC", 1);
    tzset();
    f->now_ns = 1700000000LL * 1000000000LL; /* 2023-11-14 22:13:20 UTC */
    f->clock = (struct tld_clock){test_now, &f->now_ns};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tld_log_fini(&f->log);
    nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct tld_alerts_out *aopen(struct fx *f, bool archives, struct tld_alerts_out_resume *r)
{
    struct tld_alerts_out_opts o = {f->logs, f->state, archives, &f->log, &f->clock};
    struct tld_alerts_out *a;
    assert_int_equal(tld_alerts_out_open(&o, &a, r), 0);
    return a;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        *n = 0;
        return strdup("");
    }
    char *b = malloc(1 << 20);
    *n = fread(b, 1, (1 << 20) - 1, fp);
    b[*n] = 0;
    fclose(fp);
    return b;
}

static void add(struct tld_alerts_out *a, uint64_t index, const char *msg)
{
    char before[128];
    snprintf(before, sizeof before, "{\"m\":\"%s\",\"id\":\"", msg);
    assert_int_equal(
        tld_alerts_out_add_alert(a, index, 1700000000, tld_sv_of(before), TLD_SV_LIT("\"}")), 0);
}

static void ids_and_sync(void **state)
{
    struct fx *f = *state;
    struct tld_alerts_out_resume r;
    struct tld_alerts_out *a = aopen(f, false, &r);
    assert_int_equal(r.next_index, 0);
    tld_alerts_out_begin(a, 1);
    add(a, 1, "one");
    add(a, 3, "three");
    assert_int_equal(tld_alerts_out_commit(a, 5), 0);
    uint64_t durable = 0;
    assert_int_equal(tld_alerts_out_sync(a, &durable), 0);
    assert_int_equal(durable, 5);
    size_t n;
    char *t = slurp(f->alerts, &n);
    const char *l1 = "{\"m\":\"one\",\"id\":\"1700000000.0\"}\n";
    assert_memory_equal(t, l1, strlen(l1));
    char l2[128];
    snprintf(l2, sizeof l2, "{\"m\":\"three\",\"id\":\"1700000000.%zu\"}\n", strlen(l1));
    assert_string_equal(t + strlen(l1), l2);
    free(t);
    /* Events without alerts still move the resume point once synced. */
    tld_alerts_out_begin(a, 5);
    assert_int_equal(tld_alerts_out_commit(a, 9), 0);
    assert_int_equal(tld_alerts_out_sync(a, &durable), 0);
    assert_int_equal(durable, 9);
    tld_alerts_out_close(a);
    a = aopen(f, false, &r);
    assert_int_equal(r.next_index, 9);
    assert_int_equal(r.cut_bytes, 0);
    tld_alerts_out_close(a);
}

/* A crash that left the second alert of a batch half written. */
static void crash_mid_alerts(void **state)
{
    struct fx *f = *state;
    struct tld_alerts_out_resume r;
    struct tld_alerts_out *a = aopen(f, true, &r);
    tld_alerts_out_begin(a, 1);
    add(a, 1, "a");
    assert_int_equal(tld_alerts_out_commit(a, 2), 0);
    tld_alerts_out_begin(a, 2);
    for (uint64_t i = 2; i < 12; i++)
        assert_int_equal(
            tld_alerts_out_add_archive(a, 1, TLD_SV_LIT("{\"ar\":\""), TLD_SV_LIT("\"}")), 0);
    add(a, 4, "b");
    add(a, 7, "c");
    add(a, 9, "d");
    assert_int_equal(tld_alerts_out_commit(a, 12), 0);
    tld_alerts_out_close(a);
    size_t n;
    char *t = slurp(f->alerts, &n);
    /* Cut inside alert "c" (the third line). */
    char *c = strstr(t, "\"c\"");
    assert_non_null(c);
    off_t cut = (off_t)(c - t) + 2;
    free(t);
    assert_int_equal(truncate(f->alerts, cut), 0);
    a = aopen(f, true, &r);
    /* Events 2..4 are done (b was complete); resume at 5; the partial line is gone; the
     * archive lines of events 5..11 are cut since they will be written again. */
    assert_int_equal(r.next_index, 5);
    t = slurp(f->alerts, &n);
    assert_non_null(strstr(t, "\"b\""));
    assert_null(strstr(t, "\"c"));
    assert_int_equal(t[n - 1], '\n');
    free(t);
    t = slurp(f->archives, &n);
    unsigned lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += t[i] == '\n';
    assert_int_equal(lines, 3); /* events 2, 3, 4 */
    free(t);
    /* Replaying from 5 gives each event once. */
    tld_alerts_out_begin(a, 5);
    for (uint64_t i = 5; i < 12; i++)
        tld_alerts_out_add_archive(a, 1, TLD_SV_LIT("{\"ar\":\""), TLD_SV_LIT("\"}"));
    add(a, 7, "c");
    add(a, 9, "d");
    assert_int_equal(tld_alerts_out_commit(a, 12), 0);
    tld_alerts_out_close(a);
    t = slurp(f->alerts, &n);
    assert_non_null(strstr(t, "\"a\""));
    assert_ptr_equal(strstr(t, "\"c\""), strrchr(t, 'c') - 1);
    unsigned count = 0;
    for (size_t i = 0; i < n; i++)
        count += t[i] == '\n';
    assert_int_equal(count, 4);
    free(t);
    t = slurp(f->archives, &n);
    lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += t[i] == '\n';
    assert_int_equal(lines, 10);
    free(t);
}

/* A crash after the checkpoint but before any byte of the batch. */
static void crash_before_write(void **state)
{
    struct fx *f = *state;
    struct tld_alerts_out_resume r;
    struct tld_alerts_out *a = aopen(f, false, &r);
    tld_alerts_out_begin(a, 1);
    add(a, 1, "x");
    assert_int_equal(tld_alerts_out_commit(a, 3), 0);
    struct stat st;
    assert_int_equal(stat(f->alerts, &st), 0);
    off_t keep = st.st_size;
    tld_alerts_out_begin(a, 3);
    add(a, 3, "y");
    add(a, 4, "z");
    assert_int_equal(tld_alerts_out_commit(a, 6), 0);
    tld_alerts_out_close(a);
    assert_int_equal(truncate(f->alerts, keep), 0);
    a = aopen(f, false, &r);
    assert_int_equal(r.next_index, 3);
    assert_int_equal(r.cut_bytes, 0);
    tld_alerts_out_close(a);
}

/* Killed while writing the checkpoint of batch 2: the slot is damaged and none of batch 2's
 * bytes reached the file (they are written after it). The previous slot is used. */
static void torn_checkpoint(void **state)
{
    struct fx *f = *state;
    struct tld_alerts_out_resume r;
    struct tld_alerts_out *a = aopen(f, false, &r);
    tld_alerts_out_begin(a, 1);
    add(a, 1, "p");
    assert_int_equal(tld_alerts_out_commit(a, 2), 0);
    struct stat st;
    assert_int_equal(stat(f->alerts, &st), 0);
    off_t keep = st.st_size;
    tld_alerts_out_begin(a, 2);
    add(a, 2, "q");
    assert_int_equal(tld_alerts_out_commit(a, 3), 0);
    tld_alerts_out_close(a);
    assert_int_equal(truncate(f->alerts, keep), 0);
    /* The open wrote slot 0, batch 1 slot 1, batch 2 slot 0: damage slot 0. */
    FILE *fp = fopen(f->state, "r+b");
    fseek(fp, 100, SEEK_SET);
    fputc(0x5a, fp);
    fclose(fp);
    a = aopen(f, false, &r);
    assert_int_equal(r.next_index, 2);
    tld_alerts_out_close(a);
    size_t n;
    char *t = slurp(f->alerts, &n);
    assert_non_null(strstr(t, "\"p\""));
    assert_null(strstr(t, "\"q\""));
    free(t);
}

static void rotation_and_gzip(void **state)
{
    struct fx *f = *state;
    struct tld_alerts_out_resume r;
    struct tld_alerts_out *a = aopen(f, true, &r);
    tld_alerts_out_begin(a, 1);
    add(a, 1, "yesterday");
    tld_alerts_out_add_archive(a, 1, TLD_SV_LIT("{\"ar\":\""), TLD_SV_LIT("\"}"));
    assert_int_equal(tld_alerts_out_commit(a, 2), 0);
    assert_int_equal(tld_alerts_out_maybe_rotate(a), 0); /* same day: nothing */
    struct tld_alerts_out_stats st;
    tld_alerts_out_stats(a, &st);
    assert_int_equal(st.rotations, 0);
    f->now_ns += 2LL * 3600 * 1000000000LL; /* past midnight UTC */
    assert_int_equal(tld_alerts_out_maybe_rotate(a), 0);
    tld_alerts_out_begin(a, 2);
    add(a, 2, "today");
    assert_int_equal(tld_alerts_out_commit(a, 3), 0);
    tld_alerts_out_close(a); /* waits for compression */
    char gz[600];
    snprintf(gz, sizeof gz, "%s/alerts/2023/Nov/ossec-alerts-14.json.gz", f->logs);
    gzFile g = gzopen(gz, "rb");
    assert_non_null(g);
    char buf[256] = {0};
    int n = gzread(g, buf, sizeof buf - 1);
    gzclose(g);
    assert_true(n > 0);
    assert_non_null(strstr(buf, "\"yesterday\""));
    assert_null(strstr(buf, "today\""));
    snprintf(gz, sizeof gz, "%s/alerts/2023/Nov/ossec-alerts-14.json", f->logs);
    struct stat sb;
    assert_int_not_equal(stat(gz, &sb), 0); /* the uncompressed copy is gone */
    snprintf(gz, sizeof gz, "%s/archives/2023/Nov/ossec-archive-14.json.gz", f->logs);
    assert_int_equal(stat(gz, &sb), 0);
    size_t len;
    char *t = slurp(f->alerts, &len);
    /* The new file starts over: its first id counts from offset 0. */
    assert_non_null(strstr(t, "\"today\",\"id\":\"1700000000.0\""));
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ids_and_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_mid_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_before_write, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_checkpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(rotation_and_gzip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
