/*
 * Unit tests for the intake journal: append and read in order, deduplication by (agent,
 * stream, seq) across reopen and release, torn tails at every byte of the last record, a crash
 * before fsync, damaged and missing segments, big records, the byte bound with its reserve,
 * waking the reader, and group commit from several threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/proto.h"
#include "manager/journal.h"

struct fx {
    char dir[256];
    struct tld_log log;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tld-test-journal-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    tld_log_init(&f->log, "test", stderr, TLD_LOG_ERROR + 1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tld_log_fini(&f->log);
    nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct tld_journal *jopen(struct fx *f, uint64_t max, uint64_t seg)
{
    struct tld_journal_opts o = {f->dir, max, seg, 64 * 1024, &f->log};
    struct tld_journal *j = NULL;
    assert_int_equal(tld_journal_open(&o, &j), 0);
    return j;
}

static struct tld_journal_entry ev(unsigned agent, uint64_t stream, uint64_t seq, const char *t)
{
    return (struct tld_journal_entry){agent, stream, seq, 42, TLD_SV_LIT("10.0.0.1"), tld_sv_of(t)};
}

/* A stopping manager stops reading at once: records not read stay for the next open. */
static void stop_readers_keeps_backlog(void **state)
{
    struct fx *f = *state;
    struct tld_journal *j = jopen(f, 16u << 20, 0);
    struct tld_journal_entry e[3] = {ev(1, 9, 1, "a"), ev(1, 9, 2, "b"), ev(1, 9, 3, "c")};
    uint64_t sync_to;
    unsigned dups;
    assert_int_equal(tld_journal_append(j, e, 3, 0, &sync_to, &dups), 0);
    assert_int_equal(tld_journal_sync(j, sync_to), 0);
    struct tld_journal_rec r;
    assert_int_equal(tld_journal_next(j, 1, &r, 100), 0);
    assert_int_equal(tld_journal_release(j, 2), 0);
    tld_journal_stop_readers(j);
    assert_int_equal(tld_journal_next(j, 2, &r, 100), TLD_ECLOSED);
    tld_journal_shutdown(j);
    tld_journal_close(j);
    j = jopen(f, 16u << 20, 0);
    assert_int_equal(tld_journal_next(j, 2, &r, 100), 0);
    assert_true(tld_sv_eq_cstr(r.record, "b"));
    assert_int_equal(tld_journal_next(j, 3, &r, 100), 0);
    assert_true(tld_sv_eq_cstr(r.record, "c"));
    tld_journal_close(j);
}

/* A watermark is reported once that stream's own records are durable: it syncs them when they
 * are not, and does not wait for records appended since by others (a reconnect storm's WELCOMEs
 * would each wait for an fsync of the previous one's own event). */
static void watermark_syncs_only_its_stream(void **state)
{
    struct fx *f = *state;
    struct tld_journal *j = jopen(f, 16u << 20, 0);
    struct tld_journal_entry e[2] = {ev(1, 7, 1, "a"), ev(1, 7, 2, "b")};
    uint64_t sync_to;
    unsigned dups;
    assert_int_equal(tld_journal_append(j, e, 2, 0, &sync_to, &dups), 0);
    assert_int_equal(tld_journal_synced(j), 0);
    assert_int_equal(tld_journal_watermark(j, 1, 7), 2); /* its records: synced now */
    assert_int_equal(tld_journal_synced(j), 2);
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    uint64_t syncs = st.syncs;
    struct tld_journal_entry own = ev(0, 0, 0, "own event");
    assert_int_equal(tld_journal_append(j, &own, 1, 0, &sync_to, &dups), 0);
    assert_int_equal(tld_journal_watermark(j, 1, 7), 2);
    tld_journal_stats(j, &st);
    assert_int_equal(st.syncs, syncs);
    assert_int_equal(tld_journal_synced(j), 2);
    tld_journal_close(j);
}

static void append_read_dedupe(void **state)
{
    struct fx *f = *state;
    struct tld_journal *j = jopen(f, 16u << 20, 0);
    struct tld_journal_entry e[3] = {ev(1, 77, 1, "a"), ev(1, 77, 2, "b"), ev(2, 5, 1, "c")};
    uint64_t sync_to;
    unsigned dups;
    assert_int_equal(tld_journal_append(j, e, 2, 0, &sync_to, &dups), 0);
    assert_int_equal(dups, 0);
    assert_int_equal(sync_to, 2);
    assert_int_equal(tld_journal_append(j, e + 2, 1, 0, &sync_to, &dups), 0);
    assert_int_equal(sync_to, 3);
    /* A resend of seq 1..2 of agent 1 is dropped, and the sync index still covers it. */
    assert_int_equal(tld_journal_append(j, e, 2, 0, &sync_to, &dups), 0);
    assert_int_equal(dups, 2);
    assert_int_equal(sync_to, 3);
    assert_int_equal(tld_journal_sync(j, sync_to), 0);
    assert_int_equal(tld_journal_watermark(j, 1, 77), 2);
    assert_int_equal(tld_journal_watermark(j, 1, 78), 0); /* another stream: new spool */
    assert_int_equal(tld_journal_watermark(j, 3, 1), 0);

    struct tld_journal_rec r;
    assert_int_equal(tld_journal_next(j, 1, &r, 100), 0);
    assert_int_equal(r.index, 1);
    assert_true(tld_sv_eq_cstr(r.record, "a") && tld_sv_eq_cstr(r.ip, "10.0.0.1"));
    assert_int_equal(r.agent, 1);
    assert_int_equal(r.seq, 1);
    assert_int_equal(r.recv_ns, 42);
    assert_int_equal(tld_journal_next(j, 2, &r, 100), 0);
    assert_true(tld_sv_eq_cstr(r.record, "b"));
    assert_int_equal(tld_journal_next(j, 3, &r, 100), 0);
    assert_true(r.agent == 2 && tld_sv_eq_cstr(r.record, "c"));
    assert_int_equal(tld_journal_next(j, 4, &r, 50), TLD_ETIMEOUT);
    /* Random access backwards works too (re-read after a restart of the consumer). */
    assert_int_equal(tld_journal_next(j, 2, &r, 100), 0);
    assert_int_equal(r.index, 2);

    /* A new stream for agent 1 (its spool was recreated) starts over at seq 1. */
    struct tld_journal_entry n1 = ev(1, 78, 1, "new");
    assert_int_equal(tld_journal_append(j, &n1, 1, 0, &sync_to, &dups), 0);
    assert_int_equal(dups, 0);
    assert_int_equal(tld_journal_watermark(j, 1, 78), 1);
    tld_journal_close(j);

    /* Reopen: indexes continue, watermarks survive, duplicates are still dropped. */
    j = jopen(f, 16u << 20, 0);
    assert_int_equal(tld_journal_watermark(j, 1, 78), 1);
    assert_int_equal(tld_journal_watermark(j, 2, 5), 1);
    assert_int_equal(tld_journal_append(j, &n1, 1, 0, &sync_to, &dups), 0);
    assert_int_equal(dups, 1);
    struct tld_journal_entry n2 = ev(1, 78, 2, "next");
    assert_int_equal(tld_journal_append(j, &n2, 1, 0, &sync_to, &dups), 0);
    assert_int_equal(sync_to, 5);
    assert_int_equal(tld_journal_next(j, 5, &r, 100), 0);
    assert_true(tld_sv_eq_cstr(r.record, "next"));
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    assert_int_equal(st.next_index, 6);
    assert_int_equal(st.duplicates, 1);
    tld_journal_close(j);
}

static void torn_tail_is_cut(void **state)
{
    struct fx *f = *state;
    struct tld_journal *j = jopen(f, 16u << 20, 0);
    struct tld_journal_entry e[2] = {ev(1, 1, 1, "first"), ev(1, 1, 2, "second")};
    uint64_t s;
    unsigned d;
    assert_int_equal(tld_journal_append(j, e, 2, 0, &s, &d), 0);
    tld_journal_close(j);
    /* Cut the file in the middle of the second record, as a crash mid-write would. */
    char path[400];
    snprintf(path, sizeof path, "%s/j-0000000000000001.log", f->dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(truncate(path, sb.st_size - 3), 0);
    /* The watermark snapshot written at close still says seq 2; the scan cannot raise it, but
     * what matters is that the record is not read and its index is reused. */
    unlink(strcat(strcpy(path, f->dir), "/watermarks"));
    j = jopen(f, 16u << 20, 0);
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    assert_true(st.torn_bytes > 0);
    assert_int_equal(st.next_index, 2);
    assert_int_equal(tld_journal_watermark(j, 1, 1), 1);
    /* The agent resends seq 2 (never acknowledged): accepted. */
    assert_int_equal(tld_journal_append(j, e + 1, 1, 0, &s, &d), 0);
    assert_int_equal(d, 0);
    struct tld_journal_rec r;
    assert_int_equal(tld_journal_next(j, 2, &r, 100), 0);
    assert_true(tld_sv_eq_cstr(r.record, "second"));
    tld_journal_close(j);
}

static void bound_reserve_release(void **state)
{
    struct fx *f = *state;
    /* 1 MiB bound, 128 KiB segments; records of 10 KiB. */
    struct tld_journal *j = jopen(f, 1u << 20, 128u << 10);
    char *big = malloc(10240);
    memset(big, 'x', 10240);
    big[10239] = 0;
    uint64_t seq = 0, s;
    unsigned d;
    int rc;
    for (;;) {
        struct tld_journal_entry e = ev(1, 9, ++seq, big);
        rc = tld_journal_append(j, &e, 1, 0, &s, &d);
        if (rc)
            break;
    }
    assert_int_equal(rc, TLD_EAGAIN);
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    assert_true(st.full);
    assert_true(st.bytes <= (1u << 20));
    assert_true(st.bytes > (1u << 20) - 20000);
    uint64_t appended = seq - 1;
    assert_int_equal(st.next_index - 1, appended);
    /* Own events may use the reserve. */
    struct tld_journal_entry own = {0, 0, 0, 1, TLD_SV_LIT(""), TLD_SV_LIT("{\"own\":1}")};
    assert_int_equal(tld_journal_append(j, &own, 1, TLD_JOURNAL_RESERVE, &s, &d), 0);
    /* Resending what is already there is accepted even when full. */
    struct tld_journal_entry again = ev(1, 9, 1, big);
    assert_int_equal(tld_journal_append(j, &again, 1, 0, &s, &d), 0);
    assert_int_equal(d, 1);
    assert_int_equal(tld_journal_wait_room(j, 10300, 50), TLD_ETIMEOUT);
    /* Releasing half frees whole segments, and room comes back. */
    assert_int_equal(tld_journal_release(j, appended / 2), 0);
    tld_journal_stats(j, &st);
    assert_true(st.segments < 9);
    assert_int_equal(tld_journal_wait_room(j, 10300, 50), 0);
    struct tld_journal_entry e = ev(1, 9, seq, big);
    assert_int_equal(tld_journal_append(j, &e, 1, 0, &s, &d), 0);
    /* Records below the first retained segment are skipped by the reader. */
    struct tld_journal_rec r;
    assert_int_equal(tld_journal_next(j, 1, &r, 100), 0);
    assert_true(r.index > 1 && r.index <= appended / 2);
    tld_journal_close(j);
    /* After reopen the released records' watermarks are still known (from the snapshot). */
    j = jopen(f, 1u << 20, 128u << 10);
    assert_int_equal(tld_journal_watermark(j, 1, 9), seq);
    struct tld_journal_entry old = ev(1, 9, 1, big);
    assert_int_equal(tld_journal_append(j, &old, 1, 0, &s, &d), 0);
    assert_int_equal(d, 1);
    tld_journal_close(j);
    free(big);
}

struct writer_arg {
    struct tld_journal *j;
    unsigned agent;
    unsigned n;
};

static void *writer(void *arg)
{
    struct writer_arg *w = arg;
    for (unsigned i = 1; i <= w->n; i++) {
        char t[32];
        snprintf(t, sizeof t, "%u-%u", w->agent, i);
        struct tld_journal_entry e = ev(w->agent, 1, i, t);
        uint64_t s;
        unsigned d;
        if (tld_journal_append(w->j, &e, 1, 0, &s, &d) != 0 || tld_journal_sync(w->j, s) != 0)
            return (void *)1;
    }
    return NULL;
}

static void concurrent_writers_group_commit(void **state)
{
    struct fx *f = *state;
    struct tld_journal *j = jopen(f, 64u << 20, 0);
    pthread_t t[4];
    struct writer_arg a[4];
    for (unsigned i = 0; i < 4; i++) {
        a[i] = (struct writer_arg){j, i + 1, 300};
        pthread_create(&t[i], NULL, writer, &a[i]);
    }
    for (unsigned i = 0; i < 4; i++) {
        void *rv;
        pthread_join(t[i], &rv);
        assert_null(rv);
    }
    /* Every record once, each agent's in order. */
    unsigned last[5] = {0};
    struct tld_journal_rec r;
    for (uint64_t idx = 1; idx <= 1200; idx++) {
        assert_int_equal(tld_journal_next(j, idx, &r, 1000), 0);
        unsigned ag, n;
        char txt[32];
        snprintf(txt, sizeof txt, "%.*s", (int)r.record.n, r.record.p);
        assert_int_equal(sscanf(txt, "%u-%u", &ag, &n), 2);
        assert_int_equal(ag, r.agent);
        assert_int_equal(n, last[ag] + 1);
        last[ag] = n;
    }
    assert_int_equal(tld_journal_next(j, 1201, &r, 10), TLD_ETIMEOUT);
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    /* Group commit: fewer fdatasync calls than appends would need one by one. */
    assert_true(st.syncs <= 1200);
    tld_journal_shutdown(j);
    assert_int_equal(tld_journal_next(j, 1201, &r, 1000), TLD_ECLOSED);
    tld_journal_close(j);
}

static void wm_path(struct fx *f, char *buf, size_t n)
{
    snprintf(buf, n, "%s/watermarks", f->dir);
}

static void append_text(struct tld_journal *j, unsigned agent, uint64_t seq, const char *fmt)
{
    char t[64];
    snprintf(t, sizeof t, fmt, seq);
    struct tld_journal_entry e = ev(agent, 7, seq, t);
    uint64_t s;
    unsigned d;
    assert_int_equal(tld_journal_append(j, &e, 1, 0, &s, &d), 0);
    assert_int_equal(d, 0);
}

/* Read indexes from..to and check they are agent's records "rec <seq>" with consecutive seq. */
static void expect_records(struct tld_journal *j, uint64_t from, uint64_t to, uint64_t seq0)
{
    struct tld_journal_rec r;
    for (uint64_t idx = from; idx <= to; idx++) {
        assert_int_equal(tld_journal_next(j, idx, &r, 1000), 0);
        assert_int_equal(r.index, idx);
        char want[64];
        snprintf(want, sizeof want, "rec %" PRIu64, seq0 + (idx - from));
        assert_true(tld_sv_eq_cstr(r.record, want));
        assert_int_equal(r.seq, seq0 + (idx - from));
    }
}

static char *read_whole(const char *path, size_t *n)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    char *buf = malloc((size_t)sb.st_size + 1);
    int fd = open(path, O_RDONLY);
    assert_int_equal(read(fd, buf, (size_t)sb.st_size), sb.st_size);
    close(fd);
    *n = (size_t)sb.st_size;
    return buf;
}

static void put_whole(const char *path, const char *buf, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, n), (ssize_t)n);
    close(fd);
}

/* A crash at every byte of the last record (no snapshot written: a crash writes none): the
 * record is gone, its index is reused, the watermark is rebuilt without it, and the agent's
 * resend of it is accepted -- it was never acknowledged. */
static void torn_tail_every_offset(void **state)
{
    struct fx *f = *state;
    struct tld_journal *j = jopen(f, 16u << 20, 0);
    for (uint64_t i = 1; i <= 9; i++)
        append_text(j, 4, i, "rec %" PRIu64);
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    uint64_t start = st.bytes;
    append_text(j, 4, 10, "rec %" PRIu64);
    tld_journal_close(j);
    char path[400], wm[400];
    snprintf(path, sizeof path, "%s/j-0000000000000001.log", f->dir);
    wm_path(f, wm, sizeof wm);
    size_t full;
    char *copy = read_whole(path, &full);
    for (size_t cut = start + 1; cut < full; cut++) {
        put_whole(path, copy, cut);
        unlink(wm);
        j = jopen(f, 16u << 20, 0);
        tld_journal_stats(j, &st);
        assert_int_equal(st.torn_bytes, cut - start);
        assert_int_equal(st.next_index, 10);
        assert_int_equal(st.lost, 0);
        assert_int_equal(tld_journal_watermark(j, 4, 7), 9);
        expect_records(j, 1, 9, 1);
        struct tld_journal_rec r;
        assert_int_equal(tld_journal_next(j, 10, &r, 10), TLD_ETIMEOUT);
        tld_journal_close(j);
        struct stat sb;
        assert_int_equal(stat(path, &sb), 0);
        assert_int_equal(sb.st_size, (off_t)start);
    }
    unlink(wm);
    j = jopen(f, 16u << 20, 0);
    append_text(j, 4, 10, "rec %" PRIu64);
    expect_records(j, 1, 10, 1);
    tld_journal_close(j);
    free(copy);
}

/* A crash between a write and its fsync: what was synced (and so acknowledged) survives and
 * a resend of it is dropped as a duplicate; what was not is gone and its resend is accepted. */
static void crash_between_write_and_fsync(void **state)
{
    struct fx *f = *state;
    struct tld_journal *j = jopen(f, 16u << 20, 0);
    for (uint64_t i = 1; i <= 5; i++)
        append_text(j, 2, i, "rec %" PRIu64);
    assert_int_equal(tld_journal_sync(j, 5), 0);
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    uint64_t synced_bytes = st.bytes;
    assert_int_equal(st.synced_index, 5);
    for (uint64_t i = 6; i <= 8; i++)
        append_text(j, 2, i, "rec %" PRIu64);
    tld_journal_close(j);
    /* what the disk may hold after a power loss at this point */
    char path[400], wm[400];
    snprintf(path, sizeof path, "%s/j-0000000000000001.log", f->dir);
    assert_int_equal(truncate(path, (off_t)synced_bytes), 0);
    wm_path(f, wm, sizeof wm);
    unlink(wm);
    j = jopen(f, 16u << 20, 0);
    tld_journal_stats(j, &st);
    assert_int_equal(st.next_index, 6);
    assert_int_equal(st.torn_bytes, 0);
    assert_int_equal(tld_journal_watermark(j, 2, 7), 5);
    /* the agent resends 4..8: 4 and 5 are duplicates, 6..8 are journaled once */
    struct tld_journal_entry e[5];
    char t[5][16];
    for (unsigned i = 0; i < 5; i++) {
        snprintf(t[i], sizeof t[i], "rec %u", 4 + i);
        e[i] = ev(2, 7, 4 + i, t[i]);
    }
    uint64_t s;
    unsigned d;
    assert_int_equal(tld_journal_append(j, e, 5, 0, &s, &d), 0);
    assert_int_equal(d, 2);
    assert_int_equal(s, 8);
    expect_records(j, 1, 8, 1);
    tld_journal_close(j);
}

/* Many records over small segments: read in order, across a reopen, indexes continuing. */
static void order_across_segments_and_reopen(void **state)
{
    struct fx *f = *state;
    struct tld_journal *j = jopen(f, 16u << 20, 4096);
    for (uint64_t i = 1; i <= 1000; i++)
        append_text(j, 1, i, "rec %" PRIu64);
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    assert_true(st.segments > 5);
    expect_records(j, 1, 1000, 1);
    tld_journal_close(j);
    j = jopen(f, 16u << 20, 4096);
    tld_journal_stats(j, &st);
    assert_int_equal(st.next_index, 1001);
    assert_int_equal(st.synced_index, 1000);
    assert_int_equal(st.torn_bytes + st.corrupt + st.lost, 0);
    append_text(j, 1, 1001, "rec %" PRIu64);
    expect_records(j, 500, 1001, 500);
    expect_records(j, 1, 10, 1); /* backwards after forwards */
    tld_journal_close(j);
}

/* First index of the n-th segment (0-based), by listing the directory. */
static uint64_t nth_segment(struct fx *f, unsigned n)
{
    uint64_t firsts[4096];
    unsigned k = 0;
    DIR *d = opendir(f->dir);
    struct dirent *e;
    while ((e = readdir(d)) && k < 4096)
        if (strncmp(e->d_name, "j-", 2) == 0)
            firsts[k++] = strtoull(e->d_name + 2, NULL, 16);
    closedir(d);
    for (unsigned a = 0; a < k; a++)
        for (unsigned b = a + 1; b < k; b++)
            if (firsts[b] < firsts[a]) {
                uint64_t t = firsts[a];
                firsts[a] = firsts[b];
                firsts[b] = t;
            }
    assert_true(n < k);
    return firsts[n];
}

/* 300 records over 2 KiB segments, closed; the first indexes of the second and third
 * segments, and the second one's path. */
static void three_segments_or_more(struct fx *f, uint64_t *s1, uint64_t *s2, char *path, size_t n)
{
    struct tld_journal *j = jopen(f, 16u << 20, 2048);
    for (uint64_t i = 1; i <= 300; i++)
        append_text(j, 1, i, "rec %" PRIu64);
    tld_journal_close(j);
    *s1 = nth_segment(f, 1);
    *s2 = nth_segment(f, 2);
    snprintf(path, n, "%s/j-%016" PRIx64 ".log", f->dir, *s1);
}

/* A damaged record in an older segment: the loss is counted at open, the reader steps to the
 * next segment, and everything after is read once. */
static void damaged_middle_segment(void **state)
{
    struct fx *f = *state;
    uint64_t s1, s2;
    char path[400];
    three_segments_or_more(f, &s1, &s2, path, sizeof path);
    int fd = open(path, O_RDWR);
    char b;
    assert_int_equal(pread(fd, &b, 1, 40), 1); /* the second record's header */
    b ^= 1;
    assert_int_equal(pwrite(fd, &b, 1, 40), 1);
    close(fd);
    struct tld_journal *j = jopen(f, 16u << 20, 2048);
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    assert_int_equal(st.corrupt, 1);
    assert_int_equal(st.lost, s2 - s1 - 1);
    assert_int_equal(st.next_index, 301);
    /* reading from the start: segment 0, the damaged segment's first record, then s2 on */
    expect_records(j, 1, s1, 1);
    struct tld_journal_rec r;
    assert_int_equal(tld_journal_next(j, s1 + 1, &r, 1000), 0);
    assert_int_equal(r.index, s2);
    expect_records(j, s2, 300, s2);
    tld_journal_close(j);
}

/* A segment deleted behind the journal's back: the missing records are reported at open and
 * the reader goes straight on with the next segment. */
static void missing_middle_segment(void **state)
{
    struct fx *f = *state;
    uint64_t s1, s2;
    char path[400];
    three_segments_or_more(f, &s1, &s2, path, sizeof path);
    assert_int_equal(unlink(path), 0);
    struct tld_journal *j = jopen(f, 16u << 20, 2048);
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    assert_int_equal(st.lost, s2 - s1);
    assert_int_equal(st.corrupt, 0);
    expect_records(j, 1, s1 - 1, 1);
    struct tld_journal_rec r;
    assert_int_equal(tld_journal_next(j, s1, &r, 1000), 0);
    assert_int_equal(r.index, s2);
    expect_records(j, s2, 300, s2);
    tld_journal_stats(j, &st);
    assert_int_equal(st.corrupt, 0);
    tld_journal_close(j);
}

static void big_record(void **state)
{
    struct fx *f = *state;
    struct tld_journal *j = jopen(f, 64u << 20, 1u << 20);
    size_t n = TLD_PROTO_MAX_RECORD;
    char *big = malloc(n);
    memset(big, 'b', n);
    struct tld_journal_entry e[2] = {{5, 1, 1, 9, TLD_SV_LIT("h"), {big, n}}, ev(5, 1, 2, "small")};
    uint64_t s;
    unsigned d;
    assert_int_equal(tld_journal_append(j, e, 2, 0, &s, &d), 0);
    struct tld_journal_entry over = {5, 1, 3, 9, TLD_SV_LIT("h"), {big, n + 1}};
    assert_int_equal(tld_journal_append(j, &over, 1, 0, &s, &d), TLD_EINVAL);
    tld_journal_close(j);
    j = jopen(f, 64u << 20, 1u << 20);
    struct tld_journal_rec r;
    assert_int_equal(tld_journal_next(j, 1, &r, 1000), 0);
    assert_int_equal(r.record.n, n);
    assert_int_equal(memcmp(r.record.p, big, n), 0);
    assert_int_equal(tld_journal_next(j, 2, &r, 1000), 0);
    assert_true(tld_sv_eq_cstr(r.record, "small"));
    tld_journal_close(j);
    free(big);
}

struct waiter {
    struct tld_journal *j;
    uint64_t from;
    int rc;
    uint64_t index;
};

static void *wait_one(void *arg)
{
    struct waiter *w = arg;
    struct tld_journal_rec r;
    w->rc = tld_journal_next(w->j, w->from, &r, 5000);
    w->index = w->rc == 0 ? r.index : 0;
    return NULL;
}

/* The reader blocks until a record is durable, and a shutdown wakes it for good. */
static void reader_wakes_on_sync_and_shutdown(void **state)
{
    struct fx *f = *state;
    struct tld_journal *j = jopen(f, 16u << 20, 0);
    struct waiter w = {j, 1, 99, 0};
    pthread_t t;
    pthread_create(&t, NULL, wait_one, &w);
    usleep(20000);
    append_text(j, 1, 1, "rec %" PRIu64);
    assert_int_equal(tld_journal_sync(j, 1), 0);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, 0);
    assert_int_equal(w.index, 1);
    w = (struct waiter){j, 2, 99, 0};
    pthread_create(&t, NULL, wait_one, &w);
    usleep(20000);
    tld_journal_shutdown(j);
    pthread_join(t, NULL);
    assert_int_equal(w.rc, TLD_ECLOSED);
    uint64_t s;
    unsigned d;
    struct tld_journal_entry e = ev(1, 7, 2, "late");
    assert_int_equal(tld_journal_append(j, &e, 1, 0, &s, &d), TLD_ECLOSED);
    tld_journal_close(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(append_read_dedupe, setup, teardown),
        cmocka_unit_test_setup_teardown(watermark_syncs_only_its_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(stop_readers_keeps_backlog, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_tail_is_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(bound_reserve_release, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_tail_every_offset, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_between_write_and_fsync, setup, teardown),
        cmocka_unit_test_setup_teardown(order_across_segments_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_middle_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_middle_segment, setup, teardown),
        cmocka_unit_test_setup_teardown(big_record, setup, teardown),
        cmocka_unit_test_setup_teardown(reader_wakes_on_sync_and_shutdown, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
