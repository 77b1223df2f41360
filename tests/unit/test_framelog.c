/*
 * Unit tests for the frame log (src/common/framelog.c), each run with the settings of both its
 * users, the spool's and the journal's: torn tails cut at every byte of the last frame, a
 * missing middle segment reported with its lost records, a crash between write and fsync,
 * rollover, deletion, reopening and continuing, segments of the release whose spool used
 * CRC-32, and the spool and journal files that release left behind (tests/data/legacy-logs).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "collect/spool.h"
#include "collect/spool_int.h"
#include "common/err.h"
#include "common/framelog.h"
#include "manager/journal.h"
#include "manager/journal_int.h"

#define SEG_BYTES 600 /* a few frames per segment */

struct fx {
    char dir[256];
    const struct tld_framelog_params *p;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static int setup_with(void **state, const struct tld_framelog_params *p)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/tld-test-framelog-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->p = p;
    *state = f;
    return 0;
}

static int setup_spool(void **state)
{
    return setup_with(state, &tld_spool_log_params);
}

static int setup_journal(void **state)
{
    return setup_with(state, &tld_journal_log_params);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    nftw(f->dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static struct tld_framelog *open_log(struct fx *f, uint64_t first_seq)
{
    struct tld_framelog *fl = NULL;
    assert_int_equal(tld_framelog_open(f->p, f->dir, first_seq, NULL, NULL, &fl), 0);
    return fl;
}

/* Record seq's payload: its number and a length that varies with it. */
static size_t payload_of(uint64_t seq, char *buf, size_t n)
{
    int len = snprintf(buf, n, "record %" PRIu64 " %.*s", seq, (int)(seq % 13), "abcdefghijklm");
    return (size_t)len;
}

static void append_one(struct tld_framelog *fl)
{
    uint64_t seq = tld_framelog_next_seq(fl);
    unsigned char frame[TLD_FRAMELOG_HEADER + 64];
    size_t n = payload_of(seq, (char *)frame + TLD_FRAMELOG_HEADER, 64);
    tld_framelog_seal(frame, seq, n);
    assert_int_equal(tld_framelog_append(fl, frame, TLD_FRAMELOG_HEADER + n, seq), 0);
}

/* Append n records, rolling like the users do once the last segment reaches SEG_BYTES. */
static void append_n(struct tld_framelog *fl, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (fl->segs[fl->nsegs - 1].bytes >= SEG_BYTES)
            assert_int_equal(tld_framelog_roll(fl, tld_framelog_next_seq(fl)), 0);
        append_one(fl);
    }
}

struct readout {
    uint64_t count, first, last;
    uint64_t lost;    /* reported by cursors */
    unsigned damaged; /* segments a cursor stopped in */
};

/* Read every segment once with one cursor, as the users do: each record is checked against
 * its payload and must come after the previous one; a damaged segment is left for the next. */
static struct readout read_all(const struct tld_framelog *fl)
{
    struct readout r = {0};
    struct tld_framelog_cursor c;
    tld_framelog_cursor_init(&c, fl);
    uint64_t prev = 0;
    for (unsigned i = 0; i < fl->nsegs; i++) {
        uint64_t seq;
        struct tld_sv p;
        int rc;
        while ((rc = tld_framelog_cursor_next(&c, &fl->segs[i], &seq, &p)) == 0) {
            char want[64];
            size_t n = payload_of(seq, want, sizeof want);
            assert_int_equal(p.n, n);
            assert_memory_equal(p.p, want, n);
            assert_true(seq > prev);
            if (!r.count)
                r.first = seq;
            prev = r.last = seq;
            r.count++;
        }
        if (rc == TLD_ECORRUPT) {
            r.damaged++;
            r.lost += c.lost;
        } else {
            assert_int_equal(rc, TLD_EAGAIN);
        }
    }
    tld_framelog_cursor_fini(&c);
    return r;
}

static void seg_file(struct fx *f, uint64_t first, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s%016" PRIx64 "%s", f->dir, f->p->prefix, first, f->p->suffix);
}

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void write_file(const char *path, const char *data, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, n), (ssize_t)n);
    close(fd);
}

/* Cutting the last segment at every byte of its last frame keeps exactly the complete frames;
 * so does a flipped byte anywhere in that frame. */
static void torn_tail_every_offset(void **state)
{
    struct fx *f = *state;
    struct tld_framelog *fl = open_log(f, 1);
    append_n(fl, 9);
    uint64_t start = fl->segs[fl->nsegs - 1].bytes, first = fl->segs[fl->nsegs - 1].first;
    append_one(fl); /* record 10, the frame to tear */
    uint64_t full = fl->segs[fl->nsegs - 1].bytes;
    assert_int_equal(tld_framelog_sync_now(fl), 0);
    tld_framelog_close(fl);
    char path[400];
    seg_file(f, first, path, sizeof path);
    char *copy = malloc(full);
    int fd = open(path, O_RDONLY);
    assert_int_equal(read(fd, copy, full), (ssize_t)full);
    close(fd);
    for (uint64_t cut = start; cut <= full; cut++) {
        write_file(path, copy, cut);
        fl = open_log(f, 1);
        bool torn = cut > start && cut < full;
        assert_int_equal(fl->rec.torn_frames, torn ? 1 : 0);
        assert_int_equal(fl->rec.torn_bytes, torn ? cut - start : 0);
        assert_int_equal(fl->rec.lost, 0);
        assert_int_equal(tld_framelog_next_seq(fl), cut == full ? 11 : 10);
        struct readout r = read_all(fl);
        assert_int_equal(r.count, cut == full ? 10 : 9);
        assert_int_equal(r.first, 1);
        assert_int_equal(r.damaged, 0);
        tld_framelog_close(fl);
        assert_int_equal(file_size(path), torn ? (off_t)start : (off_t)cut);
    }
    for (uint64_t at = start; at < full; at++) {
        copy[at] ^= 0x20;
        write_file(path, copy, full);
        copy[at] ^= 0x20;
        fl = open_log(f, 1);
        assert_int_equal(fl->rec.torn_frames, 1);
        assert_int_equal(fl->rec.torn_bytes, full - start);
        assert_int_equal(read_all(fl).count, 9);
        tld_framelog_close(fl);
    }
    /* and the log goes on from there with the lost record's number */
    fl = open_log(f, 1);
    append_one(fl);
    assert_int_equal(read_all(fl).last, 10);
    tld_framelog_close(fl);
    free(copy);
}

/* A middle segment deleted behind the log's back: its records are reported lost, with their
 * number, and reading goes on with the next segment (once: no loop over the gap). */
static void missing_middle_segment(void **state)
{
    struct fx *f = *state;
    struct tld_framelog *fl = open_log(f, 1);
    append_n(fl, 100);
    assert_true(fl->nsegs >= 4);
    uint64_t gone_first = fl->segs[1].first, gone_n = fl->segs[1].last - fl->segs[1].first + 1;
    unsigned nsegs = fl->nsegs;
    tld_framelog_close(fl);
    char path[400];
    seg_file(f, gone_first, path, sizeof path);
    assert_int_equal(unlink(path), 0);

    fl = open_log(f, 1);
    assert_int_equal(fl->nsegs, nsegs - 1);
    struct readout r = read_all(fl);
    assert_int_equal(r.count, 100 - gone_n);
    assert_int_equal(r.first, 1);
    assert_int_equal(r.last, 100);
    if (f->p->check_all) {
        /* open read every segment: it knows the loss, the readers meet clean segment ends */
        assert_int_equal(fl->rec.lost, gone_n);
        assert_int_equal(r.lost, 0);
        assert_int_equal(r.damaged, 0);
    } else {
        /* only the last segment is read at open: the reader of the short segment reports it */
        assert_int_equal(fl->rec.lost, 0);
        assert_int_equal(r.lost, gone_n);
        assert_int_equal(r.damaged, 1);
    }
    assert_int_equal(tld_framelog_next_seq(fl), 101);
    tld_framelog_close(fl);
}

/* A damaged frame in an older segment: the rest of that segment is counted lost, the others
 * are read whole. */
static void damaged_older_segment(void **state)
{
    struct fx *f = *state;
    struct tld_framelog *fl = open_log(f, 1);
    append_n(fl, 40);
    struct tld_framelog_seg s0 = fl->segs[0];
    tld_framelog_close(fl);
    char path[400];
    seg_file(f, s0.first, path, sizeof path);
    /* the third frame's payload */
    uint64_t at = 0;
    for (uint64_t seq = 1; seq < 3; seq++) {
        char tmp[64];
        at += TLD_FRAMELOG_HEADER + payload_of(seq, tmp, sizeof tmp);
    }
    int fd = open(path, O_RDWR);
    char b;
    assert_int_equal(pread(fd, &b, 1, (off_t)at + TLD_FRAMELOG_HEADER + 2), 1);
    b ^= 1;
    assert_int_equal(pwrite(fd, &b, 1, (off_t)at + TLD_FRAMELOG_HEADER + 2), 1);
    close(fd);
    fl = open_log(f, 1);
    uint64_t gone = s0.last - 2;
    struct readout r = read_all(fl);
    assert_int_equal(r.count, 40 - gone);
    assert_int_equal(r.damaged, 1);
    if (f->p->check_all) {
        assert_int_equal(fl->rec.damaged, 1);
        assert_int_equal(fl->rec.lost, gone);
        assert_int_equal(fl->segs[0].last, 2);
        assert_int_equal(r.lost, 0);
    } else {
        assert_int_equal(r.lost, gone);
    }
    tld_framelog_close(fl);
}

/* A crash after a write but before its fsync loses at most what was not synced: the file is
 * found at its last synced size (or anywhere between, torn), never with a hole. */
static void crash_between_write_and_fsync(void **state)
{
    struct fx *f = *state;
    struct tld_framelog *fl = open_log(f, 1);
    append_n(fl, 5);
    assert_int_equal(tld_framelog_sync_now(fl), 0);
    struct tld_framelog_seg synced = fl->segs[fl->nsegs - 1];
    unsigned synced_segs = fl->nsegs;
    /* more records, with a roll among them, none synced */
    append_n(fl, 20);
    assert_true(fl->nsegs > synced_segs);
    tld_framelog_close(fl); /* no sync: what a crash leaves before the disk caught up */
    char path[400];
    bool at_roll = f->p->sync == TLD_FRAMELOG_SYNC_AT_ROLL;
    if (at_roll) {
        /* Rolling synced the sealed segments and the directory: only the last segment's
         * unsynced tail is lost. */
        struct tld_framelog *probe = open_log(f, 1);
        uint64_t lfirst = probe->segs[probe->nsegs - 1].first;
        tld_framelog_close(probe);
        seg_file(f, lfirst, path, sizeof path);
        assert_int_equal(truncate(path, 0), 0);
        fl = open_log(f, 1);
        assert_int_equal(tld_framelog_next_seq(fl), lfirst);
    } else {
        /* Deferred: the sealed segment and the new directory entries were not synced. */
        for (uint64_t s = synced.last + 1; s <= 25; s++) {
            seg_file(f, s, path, sizeof path);
            unlink(path);
        }
        seg_file(f, synced.first, path, sizeof path);
        assert_int_equal(truncate(path, (off_t)synced.bytes), 0);
        fl = open_log(f, 1);
        assert_int_equal(fl->nsegs, synced_segs);
        assert_int_equal(tld_framelog_next_seq(fl), 6);
    }
    assert_int_equal(fl->rec.torn_frames, 0);
    uint64_t next = tld_framelog_next_seq(fl);
    struct readout r = read_all(fl);
    assert_int_equal(r.count, next - 1);
    assert_int_equal(r.damaged, 0);
    /* writing resumes with the next number after what survived */
    append_n(fl, 3);
    assert_int_equal(tld_framelog_sync_now(fl), 0);
    tld_framelog_close(fl);
    fl = open_log(f, 1);
    r = read_all(fl);
    assert_int_equal(r.count, next + 2);
    assert_int_equal(r.last, next + 2);
    tld_framelog_close(fl);
}

/* Rollover names each segment by its first record, reading crosses them in order, and
 * deleting the oldest ones frees their bytes and files but never the last segment. */
static void rollover_and_deletion(void **state)
{
    struct fx *f = *state;
    struct tld_framelog *fl = open_log(f, 1);
    append_n(fl, 100);
    assert_true(fl->nsegs > 5);
    uint64_t total = 0;
    for (unsigned i = 0; i < fl->nsegs; i++) {
        char path[400];
        seg_file(f, fl->segs[i].first, path, sizeof path);
        assert_int_equal(file_size(path), (off_t)fl->segs[i].bytes);
        total += fl->segs[i].bytes;
        if (i)
            assert_int_equal(fl->segs[i].first, fl->segs[i - 1].last + 1);
    }
    assert_int_equal(fl->bytes, total);
    struct readout r = read_all(fl);
    assert_int_equal(r.count, 100);
    assert_int_equal(r.last, 100);

    uint64_t first2 = fl->segs[2].first, bytes01 = fl->segs[0].bytes + fl->segs[1].bytes;
    char gone[400];
    seg_file(f, fl->segs[0].first, gone, sizeof gone);
    assert_int_equal(tld_framelog_remove(fl, 2), 0);
    assert_int_equal(fl->segs[0].first, first2);
    assert_int_equal(fl->bytes, total - bytes01);
    assert_int_equal(access(gone, F_OK), -1);
    r = read_all(fl);
    assert_int_equal(r.first, first2);
    assert_int_equal(r.count, 101 - first2);
    /* the last segment stays whatever is asked */
    unsigned n = fl->nsegs;
    tld_framelog_forget(fl, n + 5);
    assert_int_equal(fl->nsegs, 1);
    tld_framelog_close(fl);
    /* the forgotten files are still there (the user unlinks them): reopen sees them */
    fl = open_log(f, 1);
    assert_int_equal(fl->nsegs, n);
    assert_int_equal(fl->segs[0].first, first2);
    tld_framelog_close(fl);
}

/* Reopening continues the numbering; an empty log starts where it is told. */
static void reopen_and_continue(void **state)
{
    struct fx *f = *state;
    struct tld_framelog *fl = open_log(f, 500);
    assert_int_equal(tld_framelog_next_seq(fl), 500);
    append_n(fl, 30);
    assert_int_equal(tld_framelog_sync_now(fl), 0);
    tld_framelog_close(fl);
    for (unsigned round = 1; round <= 3; round++) {
        fl = open_log(f, 1); /* first_seq only matters for an empty log */
        assert_int_equal(tld_framelog_next_seq(fl), 500 + 30 * round);
        assert_int_equal(fl->rec.torn_frames, 0);
        assert_int_equal(fl->rec.legacy_segments, 0);
        append_n(fl, 30);
        struct readout r = read_all(fl);
        assert_int_equal(r.first, 500);
        assert_int_equal(r.count, 30 * (round + 1));
        assert_int_equal(r.last, 499 + 30 * (round + 1));
        assert_int_equal(tld_framelog_sync_now(fl), 0);
        tld_framelog_close(fl);
    }
}

/* A segment whose frames carry zlib's CRC-32 (the spool before the frame log): read with the
 * spool's settings, never appended to; damage with the journal's, which never wrote it. */
static void legacy_checksum_segment(void **state)
{
    struct fx *f = *state;
    char path[400];
    seg_file(f, 1, path, sizeof path);
    char file[4096];
    size_t n = 0;
    for (uint64_t seq = 1; seq <= 20; seq++) {
        unsigned char *h = (unsigned char *)file + n;
        size_t len = payload_of(seq, file + n + TLD_FRAMELOG_HEADER, 64);
        for (int i = 0; i < 4; i++)
            h[i] = (unsigned char)(len >> (8 * i));
        for (int i = 0; i < 8; i++)
            h[8 + i] = (unsigned char)(seq >> (8 * i));
        uint32_t crc = (uint32_t)crc32(crc32(0L, h + 8, 8), h + TLD_FRAMELOG_HEADER, (uInt)len);
        for (int i = 0; i < 4; i++)
            h[4 + i] = (unsigned char)(crc >> (8 * i));
        n += TLD_FRAMELOG_HEADER + len;
    }
    write_file(path, file, n);
    struct tld_framelog *fl = open_log(f, 1);
    if (f->p->legacy == TLD_FRAMELOG_SUM_CRC32) {
        assert_int_equal(fl->rec.legacy_segments, 1);
        assert_int_equal(fl->rec.torn_frames, 0);
        /* appends go to a new segment in the current format */
        assert_int_equal(fl->nsegs, 2);
        assert_int_equal(fl->segs[1].first, 21);
        append_n(fl, 5);
        assert_int_equal(file_size(path), (off_t)n);
        struct readout r = read_all(fl);
        assert_int_equal(r.count, 25);
        assert_int_equal(r.damaged, 0);
        tld_framelog_close(fl);
        fl = open_log(f, 1);
        assert_int_equal(fl->segs[0].sum, TLD_FRAMELOG_SUM_UNKNOWN); /* not checked at open */
        assert_int_equal(read_all(fl).count, 25);
    } else {
        /* not this log's format: every frame fails its checksum and is cut off as torn */
        assert_int_equal(fl->rec.torn_frames, 1);
        assert_int_equal(fl->rec.torn_bytes, n);
        assert_int_equal(tld_framelog_next_seq(fl), 1);
    }
    tld_framelog_close(fl);
}

/* ---- files written by the release before the frame log ---------------------------------------
 */

static void copy_dir(const char *from, const char *to)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s'/* '%s'/", to, from, to);
    assert_int_equal(system(cmd), 0);
}

struct seen {
    unsigned count;
    unsigned char got[128];
};

static unsigned read_spool_fixture(struct tld_spool *sp, struct seen *s)
{
    struct tld_spool_reader *rd;
    assert_int_equal(tld_spool_reader_open(sp, 1, &rd), 0);
    uint64_t seq;
    struct tld_sv p;
    unsigned n = 0;
    while (tld_spool_reader_next(rd, &seq, &p, 0) == 0) {
        struct tld_evrec r;
        struct tld_evrec_labels lb;
        assert_int_equal(tld_evrec_decode(p.p, p.n, &r, &lb), 0);
        unsigned i;
        char text[64];
        snprintf(text, sizeof text, "%.*s", (int)r.text.n, r.text.p);
        if (sscanf(text, "legacy spool %u", &i) == 1) {
            assert_int_equal(seq, i);
            assert_true(i < 128);
            s->got[i]++;
        }
        n++;
    }
    tld_spool_reader_close(rd);
    return n;
}

/* The spool left by that release (60 records in 8 segments, a torn tail): every record once,
 * and the spool goes on in the new format. */
static void legacy_spool_files(void **state)
{
    struct fx *f = *state;
    char d[300];
    snprintf(d, sizeof d, "%s/spool", f->dir);
    copy_dir("tests/data/legacy-logs/spool", d);
    struct tld_spool_opts o = {.dir = d, .max_bytes = 1u << 20, .segment_bytes = 512};
    struct tld_spool *sp;
    assert_int_equal(tld_spool_open(&o, &sp), 0);
    struct tld_spool_stats st;
    tld_spool_stats(sp, &st);
    assert_int_equal(st.torn_records, 1);
    assert_int_equal(st.torn_bytes, 9);
    assert_int_equal(st.next_seq, 61);
    struct seen s = {0};
    assert_int_equal(read_spool_fixture(sp, &s), 60);
    for (unsigned i = 1; i <= 60; i++)
        assert_int_equal(s.got[i], 1);
    tld_spool_stats(sp, &st);
    assert_int_equal(st.corrupt_skips, 0);
    assert_int_equal(st.lost_records, 0);
    struct tld_evrec r = {.queue = '1', .location = TLD_SV_LIT("x"), .text = TLD_SV_LIT("new")};
    uint64_t seq;
    assert_int_equal(tld_spool_push(sp, &r, 0, &seq), 0);
    assert_int_equal(seq, 61);
    tld_spool_close(sp);
    /* after a restart: the old segments, then the new one */
    assert_int_equal(tld_spool_open(&o, &sp), 0);
    memset(&s, 0, sizeof s);
    assert_int_equal(read_spool_fixture(sp, &s), 61);
    tld_spool_ack(sp, 61);
    tld_spool_stats(sp, &st);
    assert_int_equal(st.segments, 1);
    tld_spool_close(sp);
}

/* The journal left by that release (40 records of agent 3, stream 1234, a torn tail): every
 * record once, its watermark kept, indexes continue. */
static void legacy_journal_files(void **state)
{
    struct fx *f = *state;
    char d[300];
    snprintf(d, sizeof d, "%s/journal", f->dir);
    copy_dir("tests/data/legacy-logs/journal", d);
    struct tld_log log;
    tld_log_init(&log, "test", stderr, TLD_LOG_ERROR + 1);
    struct tld_journal_opts o = {d, 1u << 20, 1024, 0, &log};
    struct tld_journal *j;
    assert_int_equal(tld_journal_open(&o, &j), 0);
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    assert_int_equal(st.torn_bytes, 9);
    assert_int_equal(st.next_index, 41);
    assert_int_equal(st.lost, 0);
    assert_int_equal(tld_journal_watermark(j, 3, 1234), 40);
    struct tld_journal_rec r;
    for (uint64_t idx = 1; idx <= 40; idx++) {
        assert_int_equal(tld_journal_next(j, idx, &r, 100), 0);
        assert_int_equal(r.index, idx);
        assert_int_equal(r.agent, 3);
        assert_int_equal(r.stream, 1234);
        assert_int_equal(r.seq, idx);
        assert_int_equal(r.recv_ns, 5000 + (int64_t)idx);
        assert_true(tld_sv_eq_cstr(r.ip, "192.0.2.7"));
        char want[64];
        snprintf(want, sizeof want, "legacy journal %" PRIu64, idx);
        assert_true(tld_sv_eq_cstr(r.record, want));
    }
    assert_int_equal(tld_journal_next(j, 41, &r, 10), TLD_ETIMEOUT);
    /* a resend of the last record is a duplicate; the next one gets index 41 */
    struct tld_journal_entry e[2] = {{3, 1234, 40, 1, TLD_SV_LIT("192.0.2.7"), TLD_SV_LIT("x")},
                                     {3, 1234, 41, 1, TLD_SV_LIT("192.0.2.7"), TLD_SV_LIT("y")}};
    uint64_t sync_to;
    unsigned dups;
    assert_int_equal(tld_journal_append(j, e, 2, 0, &sync_to, &dups), 0);
    assert_int_equal(dups, 1);
    assert_int_equal(sync_to, 41);
    assert_int_equal(tld_journal_next(j, 41, &r, 100), 0);
    assert_true(tld_sv_eq_cstr(r.record, "y"));
    tld_journal_close(j);
    tld_log_fini(&log);
}

/* Each test once with either user's settings, named after the user. */
/* clang-format off */
#define BOTH(t) {#t "/spool", t, setup_spool, teardown, NULL}, \
                {#t "/journal", t, setup_journal, teardown, NULL}
/* clang-format on */

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(torn_tail_every_offset),
        BOTH(missing_middle_segment),
        BOTH(damaged_older_segment),
        BOTH(crash_between_write_and_fsync),
        BOTH(rollover_and_deletion),
        BOTH(reopen_and_continue),
        BOTH(legacy_checksum_segment),
        cmocka_unit_test_setup_teardown(legacy_spool_files, setup_spool, teardown),
        cmocka_unit_test_setup_teardown(legacy_journal_files, setup_journal, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
