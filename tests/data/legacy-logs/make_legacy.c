/*
 * Writes the fixtures of this folder with the release whose spool checksummed frames with
 * CRC-32 (and whose journal already used CRC-32C), so tests can check that a newer version
 * still reads every record such a release left behind. Built against that release's libraries:
 *     cc -std=c17 -D_GNU_SOURCE -Isrc -o /tmp/make_legacy tests/data/legacy-logs/make_legacy.c \
 *        build/lib/libtld_manager.a build/lib/libtld_agent.a build/lib/libtld_common.a \
 *        -lz -lpthread
 *     /tmp/make_legacy OUT   (writes OUT/spool and OUT/journal)
 * Spool: records "legacy spool <i>" (i = 1..60) in 512-byte segments, then the first 9 bytes
 * of a frame glued to the last segment (a torn tail). Journal: records "legacy journal <i>"
 * from agent 3, stream 1234, seq i (i = 1..40), in 1 KiB segments, and a torn tail.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/spool.h"
#include "common/err.h"
#include "manager/journal.h"

#define SPOOL_RECORDS   60
#define JOURNAL_RECORDS 40

static void torn_tail(const char *path)
{
    static const unsigned char part[9] = {40, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0x7f};
    int fd = open(path, O_WRONLY | O_APPEND);
    if (fd < 0 || write(fd, part, sizeof part) != (ssize_t)sizeof part)
        exit(1);
    close(fd);
}

static void write_spool(const char *dir)
{
    struct tld_spool_opts o = {.dir = dir, .max_bytes = 1u << 20, .segment_bytes = 512};
    struct tld_spool *sp;
    if (tld_spool_open(&o, &sp) != 0)
        exit(1);
    for (unsigned i = 1; i <= SPOOL_RECORDS; i++) {
        char text[64];
        int n = snprintf(text, sizeof text, "legacy spool %u", i);
        struct tld_evrec r = {.queue = '1',
                              .location = TLD_SV_LIT("/var/log/legacy"),
                              .text = tld_sv_make(text, (size_t)n),
                              .read_time_ns = 1000 + i};
        if (tld_spool_push(sp, &r, 0, NULL) != 0)
            exit(1);
    }
    struct tld_spool_stats st;
    tld_spool_stats(sp, &st);
    tld_spool_close(sp);
    char path[4200];
    /* the last segment is the one with the highest first sequence number */
    for (unsigned long long first = st.next_seq - 1; first >= 1; first--) {
        snprintf(path, sizeof path, "%s/seg-%016llx.q", dir, first);
        if (access(path, F_OK) == 0)
            break;
    }
    torn_tail(path);
}

static void write_journal(const char *dir)
{
    struct tld_journal_opts o = {.dir = dir, .max_bytes = 1u << 20, .segment_bytes = 1024};
    struct tld_journal *j;
    if (tld_journal_open(&o, &j) != 0)
        exit(1);
    for (unsigned i = 1; i <= JOURNAL_RECORDS; i++) {
        char text[64];
        snprintf(text, sizeof text, "legacy journal %u", i);
        struct tld_journal_entry e = {
            3, 1234, i, 5000 + i, TLD_SV_LIT("192.0.2.7"), tld_sv_of(text)};
        uint64_t sync_to;
        unsigned dups;
        if (tld_journal_append(j, &e, 1, 0, &sync_to, &dups) != 0 ||
            tld_journal_sync(j, sync_to) != 0)
            exit(1);
    }
    struct tld_journal_stats st;
    tld_journal_stats(j, &st);
    tld_journal_close(j);
    char path[4200];
    for (unsigned long long first = st.next_index - 1; first >= 1; first--) {
        snprintf(path, sizeof path, "%s/j-%016llx.log", dir, first);
        if (access(path, F_OK) == 0)
            break;
    }
    torn_tail(path);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    char d[4096];
    snprintf(d, sizeof d, "%s/spool", argv[1]);
    write_spool(d);
    snprintf(d, sizeof d, "%s/journal", argv[1]);
    write_journal(d);
    return 0;
}
