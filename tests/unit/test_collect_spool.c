/* Unit tests for the spool (src/collect/spool.c): order, persistence, torn tails, bounds, acks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/spool.h"
#include "common/err.h"

static char dir[256];

static int setup(void **state)
{
    snprintf(dir, sizeof dir, "/tmp/tld-test-spool.XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

static struct tld_spool *open_spool(uint64_t max, uint64_t seg)
{
    struct tld_spool_opts o = {.dir = dir, .max_bytes = max, .segment_bytes = seg};
    struct tld_spool *sp;
    assert_int_equal(tld_spool_open(&o, &sp), 0);
    return sp;
}

static int push_text(struct tld_spool *sp, const char *fmt, unsigned i, uint64_t *seq)
{
    char text[256];
    int n = snprintf(text, sizeof text, fmt, i);
    struct tld_evrec r = {.queue = '1',
                          .location = TLD_SV_LIT("/var/log/test"),
                          .text = tld_sv_make(text, (size_t)n),
                          .read_time_ns = 1000 + i};
    return tld_spool_push(sp, &r, 0, seq);
}

/* Read every record from `from` and check they are "line <k>" for consecutive k from k0. */
static unsigned read_all(struct tld_spool *sp, uint64_t from, unsigned k0, uint64_t *last_seq)
{
    struct tld_spool_reader *rd;
    assert_int_equal(tld_spool_reader_open(sp, from, &rd), 0);
    uint64_t seq, prev = 0;
    struct tld_sv p;
    unsigned n = 0;
    while (tld_spool_reader_next(rd, &seq, &p, 0) == 0) {
        struct tld_evrec r;
        struct tld_evrec_labels lb;
        assert_int_equal(tld_evrec_decode(p.p, p.n, &r, &lb), 0);
        if (tld_sv_eq_cstr(r.location, TLD_SPOOL_LOCATION))
            continue; /* the spool's own status records */
        char want[64];
        snprintf(want, sizeof want, "line %u", k0 + n);
        assert_true(tld_sv_eq_cstr(r.text, want));
        if (prev)
            assert_true(seq > prev);
        prev = seq;
        n++;
    }
    tld_spool_reader_close(rd);
    if (last_seq)
        *last_seq = prev;
    return n;
}

static void order_and_reopen(void **state)
{
    struct tld_spool *sp = open_spool(64u << 20, 4096);
    uint64_t seq;
    for (unsigned i = 0; i < 1000; i++) {
        assert_int_equal(push_text(sp, "line %u", i, &seq), 0);
        assert_int_equal(seq, i + 1);
        /* Nothing is visible before a commit (or a segment roll, which commits). */
        if (i == 9)
            assert_int_equal(read_all(sp, 1, 0, NULL), 0);
    }
    assert_int_equal(tld_spool_commit(sp), 0);
    assert_int_equal(read_all(sp, 1, 0, NULL), 1000);
    assert_int_equal(read_all(sp, 501, 500, NULL), 500);
    struct tld_spool_stats st;
    tld_spool_stats(sp, &st);
    assert_true(st.segments > 1); /* 4 KiB segments roll */
    tld_spool_close(sp);

    sp = open_spool(64u << 20, 4096);
    tld_spool_stats(sp, &st);
    assert_int_equal(st.next_seq, 1001);
    assert_int_equal(st.torn_records, 0);
    assert_int_equal(push_text(sp, "line %u", 1000, &seq), 0);
    assert_int_equal(seq, 1001);
    tld_spool_commit(sp);
    uint64_t last;
    assert_int_equal(read_all(sp, 1, 0, &last), 1001);
    assert_int_equal(last, 1001);
    tld_spool_close(sp);
}

static char *last_segment(char *buf, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char best[128] = "";
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "seg-", 4) == 0 && strcmp(e->d_name, best) > 0)
            snprintf(best, sizeof best, "%.100s", e->d_name);
    closedir(d);
    snprintf(buf, n, "%.255s/%.127s", dir, best);
    return buf;
}

/* Cutting the last segment at every byte inside its last frame loses exactly that frame. */
static void torn_tail_every_offset(void **state)
{
    struct tld_spool *sp = open_spool(64u << 20, 1 << 20);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(push_text(sp, "line %u", i, NULL), 0);
    tld_spool_close(sp);
    char path[1024];
    /* A torn tail comes from a crash, which leaves no head mark (see missing_tail_at_open). */
    snprintf(path, sizeof path, "%s/head", dir);
    assert_int_equal(unlink(path), 0);
    last_segment(path, sizeof path);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    off_t full = st.st_size;
    off_t frame = full / 10; /* equal-size frames: "line 0".."line 9" */
    char *copy = malloc((size_t)full);
    int fd = open(path, O_RDONLY);
    assert_int_equal(read(fd, copy, (size_t)full), full);
    close(fd);
    for (off_t cut = full - frame + 1; cut < full; cut++) {
        fd = open(path, O_WRONLY | O_TRUNC);
        assert_int_equal(write(fd, copy, (size_t)cut), cut);
        close(fd);
        sp = open_spool(64u << 20, 1 << 20);
        struct tld_spool_stats s;
        tld_spool_stats(sp, &s);
        assert_int_equal(s.torn_records, 1);
        assert_int_equal(s.torn_bytes, (uint64_t)(cut - (full - frame)));
        assert_int_equal(s.next_seq, 10);
        assert_int_equal(read_all(sp, 1, 0, NULL), 9);
        tld_spool_close(sp);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_size, full - frame);
    }
    /* A flipped byte in the last payload is caught by the CRC the same way. */
    fd = open(path, O_WRONLY | O_TRUNC);
    copy[full - 2] ^= 0x55;
    assert_int_equal(write(fd, copy, (size_t)full), full);
    close(fd);
    sp = open_spool(64u << 20, 1 << 20);
    struct tld_spool_stats s;
    tld_spool_stats(sp, &s);
    assert_int_equal(s.torn_records, 1);
    assert_int_equal(read_all(sp, 1, 0, NULL), 9);
    /* and the spool goes on from there */
    assert_int_equal(push_text(sp, "line %u", 9, NULL), 0);
    tld_spool_commit(sp);
    assert_int_equal(read_all(sp, 1, 0, NULL), 10);
    tld_spool_close(sp);
    free(copy);
}

static void backpressure_and_ack(void **state)
{
    uint64_t max = TLD_SPOOL_MIN_BYTES;
    struct tld_spool *sp = open_spool(max, max / 8);
    unsigned pushed = 0;
    int rc;
    while ((rc = push_text(sp, "line %u", pushed, NULL)) == 0)
        pushed++;
    assert_int_equal(rc, TLD_EAGAIN);
    assert_true(tld_spool_is_full(sp));
    assert_int_equal(push_text(sp, "line %u", pushed, NULL), TLD_EAGAIN);
    tld_spool_commit(sp);
    struct tld_spool_stats st;
    tld_spool_stats(sp, &st);
    assert_int_equal(st.full_count, 1);
    assert_int_equal(st.refused_pushes, 2);
    assert_true(st.bytes <= max + (64u << 10));
    assert_int_equal(tld_spool_wait_room(sp, 10), TLD_ETIMEOUT);

    /* Acknowledging half is not enough room (7/8 hysteresis needs more); all of it is. */
    assert_int_equal(tld_spool_ack(sp, pushed / 8), 0);
    assert_true(tld_spool_is_full(sp));
    assert_int_equal(tld_spool_ack(sp, st.committed_seq), 0);
    assert_false(tld_spool_is_full(sp));
    assert_int_equal(tld_spool_wait_room(sp, 10), 0);
    tld_spool_stats(sp, &st);
    assert_true(st.bytes < max / 4);

    /* The two status records (full, resumed) are in the spool, in that order. */
    struct tld_spool_reader *rd;
    assert_int_equal(tld_spool_reader_open(sp, 1, &rd), 0);
    uint64_t seq;
    struct tld_sv p;
    unsigned status = 0;
    const char *want[] = {"\"event\":\"agent_spool_full\"", "\"event\":\"agent_spool_recovered\""};
    while (tld_spool_reader_next(rd, &seq, &p, 0) == 0) {
        struct tld_evrec r;
        struct tld_evrec_labels lb;
        assert_int_equal(tld_evrec_decode(p.p, p.n, &r, &lb), 0);
        if (tld_sv_eq_cstr(r.location, TLD_SPOOL_LOCATION)) {
            assert_true(status < 2);
            assert_non_null(memmem(r.text.p, r.text.n, want[status], strlen(want[status])));
            status++;
        }
    }
    assert_int_equal(status, 2);
    tld_spool_reader_close(rd);
    assert_int_equal(push_text(sp, "line %u", pushed, NULL), 0);
    tld_spool_close(sp);

    /* The acknowledgement survives a reopen. */
    sp = open_spool(max, max / 8);
    tld_spool_stats(sp, &st);
    assert_true(st.acked_seq >= pushed);
    tld_spool_close(sp);
}

static void holders_keep_segments(void **state)
{
    struct tld_spool *sp = open_spool(64u << 20, 1024);
    for (unsigned i = 0; i < 200; i++)
        assert_int_equal(push_text(sp, "line %u", i, NULL), 0);
    tld_spool_commit(sp);
    tld_spool_retain(sp, 0, 50);
    tld_spool_ack(sp, 200);
    struct tld_spool_stats st;
    tld_spool_stats(sp, &st);
    assert_true(st.first_seq <= 51);
    assert_true(st.first_seq > 1);
    /* everything after the holder's seq is still readable */
    assert_int_equal(read_all(sp, 51, 50, NULL), 150);
    tld_spool_retain(sp, 0, UINT64_MAX);
    tld_spool_stats(sp, &st);
    assert_true(st.first_seq > 150);
    tld_spool_close(sp);
}

struct scan_ctx {
    unsigned n;
    uint64_t first;
};

static int count_cb(void *ctx, uint64_t seq, struct tld_sv payload)
{
    struct scan_ctx *c = ctx;
    if (!c->n)
        c->first = seq;
    c->n++;
    return 0;
}

static void scan_sees_uncommitted_after_flush(void **state)
{
    struct tld_spool *sp = open_spool(64u << 20, 0);
    for (unsigned i = 0; i < 30; i++)
        push_text(sp, "line %u", i, NULL);
    struct scan_ctx c = {0};
    assert_int_equal(tld_spool_scan(sp, 11, count_cb, &c), 0);
    assert_int_equal(c.n, 20);
    assert_int_equal(c.first, 11);
    tld_spool_close(sp);
}

/* A damaged frame in an older segment: the reader counts it and continues at the next one. */
static void corrupt_middle_segment(void **state)
{
    struct tld_spool *sp = open_spool(64u << 20, 1024);
    for (unsigned i = 0; i < 100; i++)
        push_text(sp, "line %u", i, NULL);
    tld_spool_close(sp);
    char path[1024];
    snprintf(path, sizeof path, "%s/seg-%016x.q", dir, 1);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    char b;
    assert_int_equal(pread(fd, &b, 1, 40), 1);
    b ^= 1;
    assert_int_equal(pwrite(fd, &b, 1, 40), 1);
    close(fd);
    sp = open_spool(64u << 20, 1024);
    struct tld_spool_reader *rd;
    assert_int_equal(tld_spool_reader_open(sp, 1, &rd), 0);
    uint64_t seq;
    struct tld_sv p;
    assert_int_equal(tld_spool_reader_next(rd, &seq, &p, 0), 0);
    assert_true(seq > 1); /* the first segment was skipped */
    unsigned n = 1;
    while (tld_spool_reader_next(rd, &seq, &p, 0) == 0)
        n++;
    assert_int_equal(seq, 101); /* 100 lines, then the agent_spool_records_lost event */
    assert_true(n < 101 && n > 50);
    struct tld_spool_stats st;
    tld_spool_stats(sp, &st);
    assert_int_equal(st.corrupt_skips, 1);
    tld_spool_reader_close(rd);
    tld_spool_close(sp);
}

/* The spool's segment file names, sorted (oldest first); how many. */
static unsigned segment_names(char names[64][64])
{
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned nn = 0;
    while ((e = readdir(d)) != NULL && nn < 64)
        if (!strncmp(e->d_name, "seg-", 4))
            snprintf(names[nn++], 64, "%.60s", e->d_name);
    closedir(d);
    qsort(names, nn, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    return nn;
}

/* "line 0" .. "line 99" (seqs 1..100) over many 1 KiB segments, not yet committed. */
static struct tld_spool *spool_with_100_lines(void)
{
    struct tld_spool *sp = open_spool(64u << 20, 1024);
    for (unsigned i = 0; i < 100; i++)
        push_text(sp, "line %u", i, NULL);
    return sp;
}

/* A segment deleted by hand while the spool is open (and one gone before it opens): the reader
 * counts what it lost, goes on with the next segment and never spins. */
static void missing_segment(void **state)
{
    (void)state;
    struct tld_spool *sp = spool_with_100_lines();
    tld_spool_commit(sp);
    struct tld_spool_reader *rd;
    assert_int_equal(tld_spool_reader_open(sp, 1, &rd), 0);
    uint64_t seq, first_of_second = 0;
    struct tld_sv p;
    char path[1024];
    char names[64][64];
    unsigned nn = segment_names(names);
    assert_true(nn >= 4);
    first_of_second = strtoull(names[1] + 4, NULL, 16);
    uint64_t first_of_third = strtoull(names[2] + 4, NULL, 16);
    snprintf(path, sizeof path, "%s/%s", dir, names[1]);
    assert_int_equal(unlink(path), 0);
    unsigned n = 0;
    uint64_t prev = 0;
    bool jumped = false;
    char want[128];
    snprintf(want, sizeof want, "\"lost_records\":%llu,",
             (unsigned long long)(first_of_third - first_of_second));
    bool reported = false;
    while (tld_spool_reader_next(rd, &seq, &p, 0) == 0) {
        if (prev && seq != prev + 1) {
            assert_int_equal(prev + 1, first_of_second);
            assert_int_equal(seq, first_of_third);
            jumped = true;
        }
        prev = seq;
        struct tld_evrec r;
        struct tld_evrec_labels lb;
        assert_int_equal(tld_evrec_decode(p.p, p.n, &r, &lb), 0);
        if (seq == 101) { /* the own event, written when the reader met the gap */
            assert_true(tld_sv_eq_cstr(r.location, TLD_SPOOL_LOCATION));
            assert_non_null(memmem(r.text.p, r.text.n, want, strlen(want)));
            reported = true;
        }
        assert_true(++n <= 101);
    }
    assert_true(jumped && reported);
    assert_int_equal(prev, 101);
    struct tld_spool_stats st;
    tld_spool_stats(sp, &st);
    assert_int_equal(st.lost_records, first_of_third - first_of_second);
    tld_spool_reader_close(rd);
    /* the last segment, the one being written to, deleted too: new records still arrive */
    snprintf(path, sizeof path, "%s/%s", dir, names[nn - 1]);
    assert_int_equal(unlink(path), 0);
    tld_spool_close(sp);
    sp = open_spool(64u << 20, 1024);
    assert_int_equal(tld_spool_reader_open(sp, 1, &rd), 0);
    n = 0;
    while (tld_spool_reader_next(rd, &seq, &p, 0) == 0)
        assert_true(++n <= 100);
    push_text(sp, "line %u", 100, NULL);
    tld_spool_commit(sp);
    assert_int_equal(tld_spool_reader_next(rd, &seq, &p, 0), 0);
    tld_spool_reader_close(rd);
    tld_spool_close(sp);
}

/* A reader from seq 1 that has read everything: `lines` lines and one report of the spool saying
 * `want` (with seq report_seq unless that is 0). */
static struct tld_spool_reader *expect_one_report(struct tld_spool *sp, const char *want,
                                                  uint64_t report_seq, unsigned lines)
{
    struct tld_spool_reader *rd;
    assert_int_equal(tld_spool_reader_open(sp, 1, &rd), 0);
    uint64_t seq;
    struct tld_sv p;
    unsigned reports = 0, n = 0;
    while (tld_spool_reader_next(rd, &seq, &p, 0) == 0) {
        struct tld_evrec r;
        struct tld_evrec_labels lb;
        assert_int_equal(tld_evrec_decode(p.p, p.n, &r, &lb), 0);
        if (!tld_sv_eq_cstr(r.location, TLD_SPOOL_LOCATION)) {
            n++;
            continue;
        }
        assert_non_null(memmem(r.text.p, r.text.n, want, strlen(want)));
        if (report_seq)
            assert_int_equal(seq, report_seq);
        reports++;
    }
    assert_int_equal(reports, 1);
    assert_int_equal(n, lines);
    return rd;
}

/* The segment being appended to deleted by hand: the loss report must not be written into the
 * deleted file (it would be lost, reported, lost again, ... until the segment fills), so the
 * spool starts a new segment, the report counts every record of the deleted one, and later
 * records arrive. */
static void missing_active_segment(void **state)
{
    (void)state;
    struct tld_spool *sp = open_spool(64u << 20, 4096);
    char names[64][64], path[1024];
    /* Lines until a new segment starts, and one more: the active segment has room to spare, so
     * a report written into it would not start a new segment by chance. */
    unsigned total = 0, nn = segment_names(names);
    for (const unsigned before = nn; nn == before; nn = segment_names(names)) {
        push_text(sp, "line %u", total++, NULL);
        tld_spool_commit(sp);
    }
    push_text(sp, "line %u", total++, NULL);
    tld_spool_commit(sp);
    uint64_t first_of_active = strtoull(names[nn - 1] + 4, NULL, 16);
    snprintf(path, sizeof path, "%s/%s", dir, names[nn - 1]);
    assert_int_equal(unlink(path), 0);
    char want[128];
    snprintf(want, sizeof want, "\"lost_records\":%llu,",
             (unsigned long long)(total - first_of_active + 1));
    struct tld_spool_reader *rd = expect_one_report(sp, want, 0, first_of_active - 1);
    push_text(sp, "line %u", total, NULL);
    tld_spool_commit(sp);
    uint64_t seq;
    struct tld_sv p;
    assert_int_equal(tld_spool_reader_next(rd, &seq, &p, 0), 0);
    struct tld_spool_stats st;
    tld_spool_stats(sp, &st);
    assert_int_equal(st.lost_records, total - first_of_active + 1);
    tld_spool_reader_close(rd);
    tld_spool_close(sp);
}

/* The last segments deleted while the spool is closed: the head mark the clean close left says
 * how many records are gone; they are reported once and their seqs are not given again. */
static void missing_tail_at_open(void **state)
{
    (void)state;
    tld_spool_close(spool_with_100_lines());
    char names[64][64], path[1024];
    unsigned nn = segment_names(names);
    assert_true(nn >= 4);
    uint64_t gone_from = strtoull(names[nn - 2] + 4, NULL, 16);
    for (unsigned i = nn - 2; i < nn; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        assert_int_equal(unlink(path), 0);
    }
    char want[128];
    snprintf(want, sizeof want, "\"lost_records\":%llu,", (unsigned long long)(101 - gone_from));
    for (int round = 0; round < 2; round++) { /* the second open finds nothing more gone */
        struct tld_spool *sp = open_spool(64u << 20, 1024);
        /* the report comes after the lost records, never with one of their seqs */
        tld_spool_reader_close(expect_one_report(sp, want, 101, gone_from - 1));
        tld_spool_close(sp);
    }
}

struct waiter {
    struct tld_spool *sp;
    int rc;
    uint64_t seq;
};

static void *wait_one(void *arg)
{
    struct waiter *w = arg;
    struct tld_spool_reader *rd;
    tld_spool_reader_open(w->sp, 1, &rd);
    struct tld_sv p;
    w->rc = tld_spool_reader_next(rd, &w->seq, &p, 5000);
    tld_spool_reader_close(rd);
    return NULL;
}

static void reader_wakes_on_commit_and_shutdown(void **state)
{
    struct tld_spool *sp = open_spool(64u << 20, 0);
    struct waiter w = {sp, 99, 0};
    pthread_t t;
    pthread_create(&t, NULL, wait_one, &w);
    usleep(20000);
    push_text(sp, "line %u", 0, NULL);
    tld_spool_commit(sp);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.seq, 1);

    struct tld_spool_reader *rd;
    tld_spool_reader_open(sp, 2, &rd);
    tld_spool_shutdown(sp);
    uint64_t seq;
    struct tld_sv p;
    assert_int_equal(tld_spool_reader_next(rd, &seq, &p, 5000), TLD_ECLOSED);
    tld_spool_reader_close(rd);
    tld_spool_close(sp);
}

static void big_record(void **state)
{
    struct tld_spool *sp = open_spool(64u << 20, 64 << 10);
    size_t n = 3u << 20;
    char *big = malloc(n);
    memset(big, 'b', n);
    struct tld_evrec r = {.queue = '1', .location = TLD_SV_LIT("x"), .text = {big, n}};
    assert_int_equal(tld_spool_push(sp, &r, 0, NULL), 0);
    assert_int_equal(push_text(sp, "line %u", 1, NULL), 0);
    tld_spool_commit(sp);
    struct tld_spool_reader *rd;
    tld_spool_reader_open(sp, 1, &rd);
    uint64_t seq;
    struct tld_sv p;
    assert_int_equal(tld_spool_reader_next(rd, &seq, &p, 0), 0);
    struct tld_evrec d;
    struct tld_evrec_labels lb;
    assert_int_equal(tld_evrec_decode(p.p, p.n, &d, &lb), 0);
    assert_int_equal(d.text.n, n);
    assert_int_equal(tld_spool_reader_next(rd, &seq, &p, 0), 0);
    assert_int_equal(seq, 2);
    tld_spool_reader_close(rd);
    tld_spool_close(sp);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(order_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_tail_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(backpressure_and_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(holders_keep_segments, setup, teardown),
        cmocka_unit_test_setup_teardown(scan_sees_uncommitted_after_flush, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_middle_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_active_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_tail_at_open, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_wakes_on_commit_and_shutdown, setup, teardown),
        cmocka_unit_test_setup_teardown(big_record, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
