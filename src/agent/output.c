/* JSON-lines spool consumer (see output.h). Lines are gathered in a buffer and written with
 * one write(); the acknowledgement follows the write, so an ack never covers unwritten data. */
#include "agent/output.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/evrec.h"

#define FLUSH_BYTES (256u << 10)
#define TAIL_CHUNK  65536

struct tld_output {
    struct tld_spool *spool;
    struct tld_log *log;
    int fd;
    bool is_file;
    char *path;
    uint64_t start_seq;
    struct tld_sb buf;
    pthread_mutex_t mu;
    struct tld_output_stats st;
};

/* Offset just after the last '\n' at or before `end`, scanning back; 0 if there is none. */
static int64_t last_newline(int fd, int64_t end)
{
    char b[TAIL_CHUNK];
    while (end > 0) {
        int64_t start = end > TAIL_CHUNK ? end - TAIL_CHUNK : 0;
        ssize_t n = pread(fd, b, (size_t)(end - start), start);
        if (n != end - start)
            return -1;
        char *nl = memrchr(b, '\n', (size_t)n);
        if (nl)
            return start + (nl - b) + 1;
        end = start;
    }
    return 0;
}

/* The seq of the last complete line of the file; cuts a torn tail. 0 for an empty file. */
static int resume_point(struct tld_output *o, uint64_t *seq)
{
    struct stat sb;
    *seq = 0;
    if (fstat(o->fd, &sb) != 0)
        return TLD_EIO;
    int64_t end = last_newline(o->fd, sb.st_size);
    if (end < 0)
        return TLD_EIO;
    if (end < sb.st_size) {
        tld_log_warn(o->log, "output: %s ends with %lld bytes of an unfinished line; cut off",
                     o->path, (long long)(sb.st_size - end));
        if (ftruncate(o->fd, end) != 0)
            return TLD_EIO;
    }
    if (end == 0)
        return 0;
    int64_t start = last_newline(o->fd, end - 1);
    char head[40] = {0};
    if (start < 0 || pread(o->fd, head, sizeof head - 1, start) <= 0)
        return TLD_EIO;
    unsigned long long v;
    if (strncmp(head, "{\"seq\":", 7) != 0) {
        tld_log_error(o->log, "output: %s: last line is not a tld-agent record", o->path);
        return TLD_EPARSE;
    }
    size_t d = 7;
    while (head[d] >= '0' && head[d] <= '9')
        d++;
    if (!tld_sv_to_u64(tld_sv_make(head + 7, d - 7), UINT64_MAX, &v))
        return TLD_EPARSE;
    *seq = v;
    return 0;
}

int tld_output_new(struct tld_spool *spool, const char *path, struct tld_log *log,
                   struct tld_output **out)
{
    *out = NULL;
    struct tld_output *o = calloc(1, sizeof *o);
    if (!o)
        return TLD_ENOMEM;
    o->spool = spool;
    o->log = log;
    o->fd = -1;
    pthread_mutex_init(&o->mu, NULL);
    tld_sb_init(&o->buf, FLUSH_BYTES + 8 * (size_t)TLD_EVREC_MAX_ENCODED);
    o->path = strdup(path);
    struct tld_spool_stats ss;
    tld_spool_stats(spool, &ss);
    o->start_seq = ss.acked_seq + 1;
    int rc = 0;
    if (strcmp(path, "-") == 0) {
        o->fd = STDOUT_FILENO;
    } else {
        o->is_file = true;
        o->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        if (o->fd < 0) {
            tld_log_error(log, "output: cannot open %s: %s", path, strerror(errno));
            rc = TLD_EIO;
            goto fail;
        }
        uint64_t last;
        if ((rc = resume_point(o, &last)) != 0)
            goto fail;
        if (last) {
            o->start_seq = last + 1;
            tld_spool_ack(spool, last);
        }
    }
    tld_log_info(log, "output: writing records from seq %llu to %s",
                 (unsigned long long)o->start_seq, path);
    *out = o;
    return 0;
fail:
    tld_output_free(o);
    return rc;
}

void tld_output_free(struct tld_output *o)
{
    if (!o)
        return;
    if (o->is_file && o->fd >= 0)
        close(o->fd);
    tld_sb_fini(&o->buf);
    free(o->path);
    pthread_mutex_destroy(&o->mu);
    free(o);
}

static int write_out(struct tld_output *o, uint64_t last, uint64_t count)
{
    const char *p = o->buf.p;
    size_t n = o->buf.n;
    while (n) {
        ssize_t w = write(o->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            tld_log_error(o->log, "output: write to %s failed: %s", o->path, strerror(errno));
            return TLD_EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    tld_sb_reset(&o->buf);
    tld_spool_ack(o->spool, last);
    pthread_mutex_lock(&o->mu);
    o->st.written += count;
    o->st.last_seq = last;
    pthread_mutex_unlock(&o->mu);
    return 0;
}

int tld_output_run(struct tld_output *o)
{
    struct tld_spool_reader *rd;
    int rc = tld_spool_reader_open(o->spool, o->start_seq, &rd);
    if (rc != 0)
        return rc;
    static __thread struct tld_evrec_labels lb;
    uint64_t last = 0, count = 0;
    for (;;) {
        uint64_t seq;
        struct tld_sv payload;
        /* Do not wait while lines are buffered: write them as soon as nothing more is ready. */
        rc = tld_spool_reader_next(rd, &seq, &payload, o->buf.n ? 0 : 200);
        if (rc == TLD_ETIMEOUT) {
            if (o->buf.n && (rc = write_out(o, last, count)) != 0)
                break;
            count = 0;
            continue;
        }
        if (rc != 0)
            break;
        struct tld_evrec r;
        if (tld_evrec_decode(payload.p, payload.n, &r, &lb) != 0) {
            tld_log_error(o->log, "output: record %llu does not decode; skipped",
                          (unsigned long long)seq);
            pthread_mutex_lock(&o->mu);
            o->st.undecodable++;
            pthread_mutex_unlock(&o->mu);
            continue;
        }
        tld_evrec_to_json(&r, seq, &o->buf);
        tld_sb_append_char(&o->buf, '\n');
        last = seq;
        count++;
        if (o->buf.n >= FLUSH_BYTES) {
            if ((rc = write_out(o, last, count)) != 0)
                break;
            count = 0;
        }
    }
    if (rc == TLD_ECLOSED) {
        /* Shutting down: drain what is already committed, then stop. */
        uint64_t seq;
        struct tld_sv payload;
        while (tld_spool_reader_next(rd, &seq, &payload, 0) == 0) {
            struct tld_evrec r;
            if (tld_evrec_decode(payload.p, payload.n, &r, &lb) != 0)
                continue;
            tld_evrec_to_json(&r, seq, &o->buf);
            tld_sb_append_char(&o->buf, '\n');
            last = seq;
            count++;
        }
        rc = o->buf.n ? write_out(o, last, count) : 0;
    }
    tld_spool_reader_close(rd);
    return rc;
}

void tld_output_stats(struct tld_output *o, struct tld_output_stats *st)
{
    pthread_mutex_lock(&o->mu);
    *st = o->st;
    pthread_mutex_unlock(&o->mu);
}
