/*
 * Reading one followed path (see internal.h for the model).
 *
 * Lines are cut from a shared read buffer without copying; only the incomplete tail of a read
 * is kept per file (its carry), bounded by the line limit. When the spool refuses a record the
 * event is copied into the stream's pending slot, the file offset is set just after the line
 * that produced it, and the stream stops: the rest is read again once the event is accepted.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/docker/cinfo.h"
#include "collect/files/internal.h"
#include "common/err.h"

static size_t line_limit(const struct stream *st, const struct tld_collector *c)
{
    if (st->lf->format == TLD_LOGFMT_DOCKER)
        return c->cfg->max_line > DOCKER_PHYS_MAX ? c->cfg->max_line : DOCKER_PHYS_MAX;
    return c->cfg->max_line;
}

bool tld_stream_head(int fd, uint64_t len, uint64_t *hash)
{
    char b[HEAD_MAX];
    if (len > HEAD_MAX)
        len = HEAD_MAX;
    if (pread(fd, b, len, 0) != (ssize_t)len)
        return false;
    *hash = tld_positions_hash(b, len);
    return true;
}

static int cmp_pos(uint64_t g1, uint64_t o1, uint64_t g2, uint64_t o2)
{
    if (g1 != g2)
        return g1 < g2 ? -1 : 1;
    return o1 < o2 ? -1 : o1 > o2;
}

/* ---- stream lifecycle ------------------------------------------------------------------------ */

struct stream *tld_stream_new(struct tld_collector *c, const char *path,
                              const struct tld_localfile *lf)
{
    struct stream *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        return NULL;
    }
    st->lf = lf;
    st->next_gen = 1;
    for (int i = 0; i < ASM_COUNT; i++)
        tld_dockerlog_asm_init(&st->asms[i], c->cfg->max_message);
    size_t pmax = c->cfg->max_line > c->cfg->max_message ? c->cfg->max_line : c->cfg->max_message;
    tld_sb_init(&st->pend.text, pmax + 16);
    st->created_ns = now_ns(c);
    st->is_container = tld_collector_container_id(path, st->cid);
    if (st->is_container)
        tld_stream_set_meta(c, st);
    return st;
}

void tld_stream_close_file(struct stream *st, unsigned i)
{
    struct tfile *f = &st->files[i];
    if (f->fd >= 0)
        close(f->fd);
    tld_sb_fini(&f->carry);
    st->finished[st->nfinished++ % FINISHED_RING] = pos_of(f, f->off);
    memmove(&st->files[i], &st->files[i + 1], (st->nfiles - i - 1) * sizeof *f);
    st->nfiles--;
}

void tld_stream_free(struct stream *st)
{
    if (!st)
        return;
    while (st->nfiles)
        tld_stream_close_file(st, 0);
    for (int i = 0; i < ASM_COUNT; i++)
        tld_dockerlog_asm_fini(&st->asms[i]);
    tld_sb_fini(&st->pend.text);
    tld_cinfo_unref(st->cinfo);
    free(st->path);
    free(st);
}

void tld_stream_set_meta(struct tld_collector *c, struct stream *st)
{
    struct tld_cinfo *ci = c->meta.lookup ? c->meta.lookup(c->meta.ctx, st->cid) : NULL;
    if (ci) {
        tld_cinfo_unref(st->cinfo);
        st->cinfo = ci;
        st->meta_known = true;
        return;
    }
    if (!st->cinfo)
        st->cinfo = tld_cinfo_new_id(st->cid);
    st->meta_retry_ns = now_ns(c) + META_RETRY_NS;
}

int tld_stream_add_file(struct tld_collector *c, struct stream *st, int fd, uint64_t off,
                        bool detached)
{
    if (st->nfiles == MAX_FILES_PER_STREAM) {
        close(fd);
        return TLD_ELIMIT;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        close(fd);
        return TLD_EIO;
    }
    struct tfile *f = &st->files[st->nfiles++];
    memset(f, 0, sizeof *f);
    f->fd = fd;
    f->dev = (uint64_t)sb.st_dev;
    f->ino = (uint64_t)sb.st_ino;
    f->gen = st->next_gen++;
    f->off = off;
    f->detached = detached;
    if (detached) {
        f->detached_ns = now_ns(c);
        f->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    }
    tld_sb_init(&f->carry, line_limit(st, c));
    uint64_t hl = (uint64_t)sb.st_size < HEAD_MAX ? (uint64_t)sb.st_size : HEAD_MAX;
    if (off < hl)
        hl = off > 0 ? off : 0;
    if (hl && tld_stream_head(fd, hl, &f->head_hash))
        f->head_len = hl;
    st->active = true;
    if (!detached)
        st->had_file = true;
    c->st.files_opened++;
    if (!st->resume_set) {
        st->resume = pos_of(f, off);
        st->resume_set = true;
        c->dirty = true;
    }
    return 0;
}

/* ---- emitting records ------------------------------------------------------------------------ */

struct ev {
    struct tld_sv text;
    unsigned flags;
    uint32_t partials;
    struct tld_sv dstream, dtime;
};

/* The resume point once an event ending at `after` is in the spool. */
static struct fpos resume_after(const struct stream *st, struct fpos after)
{
    struct fpos r = after;
    if (st->resume_set && cmp_pos(st->resume.gen, st->resume.off, after.gen, after.off) > 0)
        r = st->resume; /* a late line of an older file does not move the point back */
    for (int i = 0; i < ASM_COUNT; i++) {
        const struct fpos *a = &st->asm_start[i];
        if (st->asms[i].active && cmp_pos(a->gen, a->off, r.gen, r.off) < 0)
            r = *a;
    }
    return r;
}

static int push(struct tld_collector *c, struct stream *st, const struct ev *e,
                const struct fpos *resume)
{
    struct tld_evrec r = {
        .queue = '1',
        .location = tld_sv_of(st->path),
        .text = e->text,
        .read_time_ns = now_ns(c),
        .flags = e->flags | TLD_EVREC_FILE_POS,
        .partials = e->partials,
        .docker_stream = e->dstream,
        .docker_time = e->dtime,
        .file_dev = resume->dev,
        .file_ino = resume->ino,
        .file_offset = resume->off,
    };
    if (st->cinfo) {
        r.flags |= TLD_EVREC_CONTAINER;
        tld_cinfo_to_evrec(st->cinfo, &r.container);
    }
    uint64_t seq;
    int rc = tld_spool_push(c->spool, &r, 0, &seq);
    if (rc == 0) {
        st->resume = *resume;
        st->resume_set = true;
        c->last_seq = seq;
        c->uncommitted = true;
        c->dirty = true;
        c->st.events++;
        if (e->flags & TLD_EVREC_TRUNCATED)
            c->st.truncated++;
    }
    return rc;
}

/* Push an event; on refusal keep a copy in the pending slot. true when the stream must stop. */
static bool emit(struct tld_collector *c, struct stream *st, const struct ev *e, struct fpos after)
{
    struct fpos resume = resume_after(st, after);
    int rc = push(c, st, e, &resume);
    if (rc == 0)
        return false;
    if (rc == TLD_EINVAL) { /* cannot happen with the configured bounds; never loop on it */
        tld_log_error(c->log, "collector: %s: record refused by the spool encoder", st->path);
        return false;
    }
    struct pending *p = &st->pend;
    tld_sb_reset(&p->text);
    tld_sb_append_sv(&p->text, e->text);
    p->flags = e->flags;
    p->partials = e->partials;
    p->dstream_n = e->dstream.n < TLD_DOCKERLOG_MAX_STREAM ? e->dstream.n : 0;
    memcpy(p->dstream, e->dstream.p ? e->dstream.p : "", p->dstream_n);
    p->dtime_n = e->dtime.n < TLD_DOCKERLOG_MAX_TIME ? e->dtime.n : 0;
    memcpy(p->dtime, e->dtime.p ? e->dtime.p : "", p->dtime_n);
    p->resume = resume;
    p->on = true;
    c->st.stalls++;
    if (rc != TLD_EAGAIN)
        tld_log_warn(c->log, "collector: %s: spool write failed (%s); retrying", st->path,
                     tld_err_str(rc));
    return true;
}

static bool push_pending(struct tld_collector *c, struct stream *st)
{
    struct pending *p = &st->pend;
    struct ev e = {tld_sb_view(&p->text), p->flags, p->partials,
                   tld_sv_make(p->dstream, p->dstream_n), tld_sv_make(p->dtime, p->dtime_n)};
    if (push(c, st, &e, &p->resume) != 0)
        return false;
    p->on = false;
    return true;
}

void tld_stream_notice(struct tld_collector *c, const char *fmt, const char *path)
{
    char text[4300];
    int n = snprintf(text, sizeof text, fmt, path);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof text)
        n = sizeof text - 1;
    struct tld_evrec r = {.queue = '1',
                          .source = TLD_SOURCE_AGENT,
                          .location = TLD_SV_LIT("logcollector"),
                          .text = tld_sv_make(text, (size_t)n),
                          .read_time_ns = now_ns(c)};
    if (tld_spool_push(c->spool, &r, TLD_SPOOL_RESERVE, NULL) == 0)
        c->uncommitted = true;
    else
        tld_log_warn(c->log, "collector: spool full, notice not queued: %s", text);
}

/* ---- formats ------------------------------------------------------------------------------- */

/* Set key (dotted: nested objects) to value in obj, as Wazuh's json reader does for labels. */
static void add_label(cJSON *obj, const char *key, const char *value)
{
    char part[256];
    const char *dot;
    while ((dot = strchr(key, '.')) && (size_t)(dot - key) < sizeof part) {
        memcpy(part, key, (size_t)(dot - key));
        part[dot - key] = 0;
        cJSON *child = cJSON_GetObjectItemCaseSensitive(obj, part);
        if (!cJSON_IsObject(child)) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, part);
            child = cJSON_AddObjectToObject(obj, part);
            if (!child)
                return;
        }
        obj = child;
        key = dot + 1;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddStringToObject(obj, key, value);
}

static bool line_json(struct tld_collector *c, struct stream *st, struct tld_sv line,
                      bool truncated, struct fpos after)
{
    if (truncated) {
        c->st.json_dropped++;
        return false;
    }
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(line.p, line.n, &end, false);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        c->st.json_dropped++;
        return false;
    }
    for (unsigned i = 0; i < st->lf->nlabels; i++)
        add_label(j, st->lf->labels[i].key, st->lf->labels[i].value);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text) {
        c->st.json_dropped++;
        return false;
    }
    struct ev e = {.text = tld_sv_of(text)};
    if (e.text.n > c->cfg->max_line) {
        e.text.n = c->cfg->max_line;
        e.flags |= TLD_EVREC_TRUNCATED;
    }
    bool stop = emit(c, st, &e, after);
    free(text);
    return stop;
}

static int asm_index(const struct tld_dockerlog_line *dl)
{
    if (dl->stream_n == 6 && memcmp(dl->stream, "stdout", 6) == 0)
        return ASM_STDOUT;
    if (dl->stream_n == 6 && memcmp(dl->stream, "stderr", 6) == 0)
        return ASM_STDERR;
    return ASM_OTHER;
}

static struct tld_sv strip_nl(struct tld_sv s)
{
    if (s.n && s.p[s.n - 1] == '\n')
        s.n--;
    return s;
}

static bool emit_asm(struct tld_collector *c, struct stream *st, int ai, struct fpos after)
{
    struct tld_dockerlog_asm *a = &st->asms[ai];
    static const char *const names[] = {"stdout", "stderr", ""};
    struct ev e = {
        .text = a->text.truncated ? tld_sb_view(&a->text) : strip_nl(tld_sb_view(&a->text)),
        .flags = TLD_EVREC_DOCKER_LOG | (a->text.truncated ? TLD_EVREC_TRUNCATED : 0) |
                 (a->pieces > 1 ? TLD_EVREC_PARTIAL : 0),
        .partials = a->pieces,
        .dstream = tld_sv_of(names[ai]),
        .dtime = tld_sv_make(a->time, a->time_n),
    };
    if (a->pieces > 1)
        c->st.joined++;
    /* The message leaves the assembler either way: into the spool or into the pending slot. */
    a->active = false;
    bool stop = emit(c, st, &e, after);
    tld_dockerlog_asm_reset(a);
    return stop;
}

static bool line_docker(struct tld_collector *c, struct stream *st, struct tfile *f,
                        struct tld_sv line, bool truncated, uint64_t start, uint64_t end)
{
    struct fpos after = pos_of(f, end);
    struct tld_dockerlog_line dl;
    tld_sb_reset(&c->scratch);
    if (truncated || tld_dockerlog_parse(line, &dl, &c->scratch) != 0) {
        /* Not a json-file entry: forwarded as it is rather than lost. */
        c->st.malformed++;
        struct ev e = {.text = line, .flags = truncated ? TLD_EVREC_TRUNCATED : 0};
        return emit(c, st, &e, after);
    }
    int ai = asm_index(&dl);
    struct tld_dockerlog_asm *a = &st->asms[ai];
    if (!dl.partial && !a->active) { /* the common case: one piece, no copy */
        struct ev e = {
            .text = strip_nl(tld_sb_view(&c->scratch)),
            .flags = TLD_EVREC_DOCKER_LOG | (c->scratch.truncated ? TLD_EVREC_TRUNCATED : 0),
            .dstream = tld_sv_make(dl.stream, dl.stream_n),
            .dtime = tld_sv_make(dl.time, dl.time_n),
        };
        if (c->scratch.truncated)
            e.text = tld_sb_view(&c->scratch);
        return emit(c, st, &e, after);
    }
    if (!a->active) {
        a->active = true;
        st->asm_start[ai] = pos_of(f, start);
        memcpy(a->time, dl.time, dl.time_n + 1);
        a->time_n = dl.time_n;
    }
    a->pieces++;
    tld_sb_append_sv(&a->text, tld_sb_view(&c->scratch));
    if (c->scratch.truncated)
        a->text.truncated = true;
    st->asm_last_ns[ai] = now_ns(c);
    if (dl.partial)
        return false;
    return emit_asm(c, st, ai, after);
}

/* One physical line [start, end) of file f (end includes the newline when there is one). */
static bool handle_line(struct tld_collector *c, struct stream *st, struct tfile *f,
                        struct tld_sv line, bool truncated, uint64_t start, uint64_t end)
{
    c->st.lines++;
    switch (st->lf->format) {
    case TLD_LOGFMT_LINE: {
        struct ev e = {.text = line, .flags = truncated ? TLD_EVREC_TRUNCATED : 0};
        return emit(c, st, &e, pos_of(f, end));
    }
    case TLD_LOGFMT_JSON:
        return line_json(c, st, line, truncated, pos_of(f, end));
    case TLD_LOGFMT_DOCKER:
        return line_docker(c, st, f, line, truncated, start, end);
    }
    return false;
}

/* ---- reading --------------------------------------------------------------------------------- */

/* Bytes up to `to` were read and produce no record (the rest of an over-long line). */
static void skipped_to(struct tld_collector *c, struct stream *st, struct fpos to)
{
    if (st->pend.on)
        return;
    for (int i = 0; i < ASM_COUNT; i++)
        if (st->asms[i].active)
            return;
    if (!st->resume_set || cmp_pos(to.gen, to.off, st->resume.gen, st->resume.off) > 0) {
        st->resume = to;
        st->resume_set = true;
        c->dirty = true;
    }
}

/* Split buf (file bytes [f->off, f->off + n)) into lines. false when the stream stalled. */
static bool consume(struct tld_collector *c, struct stream *st, struct tfile *f, const char *buf,
                    size_t n)
{
    size_t limit = line_limit(st, c);
    uint64_t base = f->off;
    size_t p = 0;
    while (p < n) {
        const char *nl = memchr(buf + p, '\n', n - p);
        size_t seg_end = nl ? (size_t)(nl - buf) : n;
        uint64_t end = base + seg_end + (nl ? 1 : 0);
        if (f->discarding) {
            p = seg_end + (nl ? 1 : 0);
            f->off = base + p;
            if (nl) {
                f->discarding = false;
                skipped_to(c, st, pos_of(f, f->off));
            }
            continue;
        }
        size_t seg = seg_end - p;
        if (!nl) {
            if (f->carry.n + seg <= limit) {
                tld_sb_append(&f->carry, buf + p, seg);
                f->off = base + n;
                return true;
            }
            /* Over-long line: send its first `limit` bytes now, drop the rest of it. */
            struct tld_sv text;
            uint64_t start = base + p - f->carry.n;
            if (f->carry.n) {
                tld_sb_append(&f->carry, buf + p, limit - f->carry.n);
                text = tld_sb_view(&f->carry);
            } else {
                text = tld_sv_make(buf + p, limit);
            }
            f->discarding = true;
            bool stop = handle_line(c, st, f, text, true, start, base + n);
            tld_sb_reset(&f->carry);
            f->off = base + n;
            return !stop;
        }
        struct tld_sv line;
        bool truncated = false;
        uint64_t start = base + p - f->carry.n;
        if (f->carry.n) {
            if (f->carry.n + seg > limit)
                truncated = true;
            tld_sb_append(&f->carry, buf + p, seg); /* the builder cuts at the limit */
            line = tld_sb_view(&f->carry);
        } else {
            line = tld_sv_make(buf + p, seg);
            if (seg > limit) {
                line.n = limit;
                truncated = true;
            }
        }
        bool stop = handle_line(c, st, f, line, truncated, start, end);
        tld_sb_reset(&f->carry);
        p = seg_end + 1;
        f->off = base + p;
        if (stop)
            return false;
    }
    return true;
}

static bool head_changed(struct tfile *f)
{
    if (!f->head_len)
        return false;
    uint64_t h;
    return !tld_stream_head(f->fd, f->head_len, &h) || h != f->head_hash;
}

static void grow_head(struct tfile *f)
{
    if (f->head_len >= HEAD_MAX || f->off <= f->head_len)
        return;
    uint64_t len = f->off < HEAD_MAX ? f->off : HEAD_MAX;
    uint64_t h;
    if (tld_stream_head(f->fd, len, &h)) {
        f->head_len = len;
        f->head_hash = h;
    }
}

/* Read file i until EOF (PUMP_IDLE), the budget is used or the file list changed (PUMP_MORE), or
 * the spool refuses (PUMP_STALLED). */
static enum pump_rc read_file(struct tld_collector *c, struct stream *st, unsigned i,
                              size_t *budget)
{
    struct tfile *f = &st->files[i];
    while (*budget) {
        size_t want = READ_BUF < *budget ? READ_BUF : *budget;
        ssize_t n = pread(f->fd, c->rbuf, want, (off_t)f->off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            tld_log_warn(c->log, "collector: %s: read failed: %s", st->path, strerror(errno));
            f->eof = true;
            return PUMP_IDLE;
        }
        if (n == 0) {
            f->eof = true;
            if (!f->detached) {
                struct stat sb;
                if (fstat(f->fd, &sb) == 0 && (uint64_t)sb.st_size < f->off) {
                    tld_stream_truncated(c, st, f);
                    continue;
                }
            }
            return PUMP_IDLE;
        }
        f->eof = false;
        if (!f->detached && f->off > 0 && head_changed(f)) {
            tld_stream_truncated(c, st, f);
            return PUMP_MORE; /* the stream's file list changed: start the pass again */
        }
        c->st.bytes += (uint64_t)n;
        *budget -= (size_t)n;
        bool ok = consume(c, st, f, c->rbuf, (size_t)n);
        grow_head(f);
        if (!ok)
            return PUMP_STALLED;
    }
    return PUMP_MORE;
}

/* A detached file that is fully read is done once a newer file has data or the wait passed. */
static bool finished(struct tld_collector *c, struct stream *st, unsigned i, int64_t now)
{
    struct tfile *f = &st->files[i];
    if (!f->detached || !f->eof)
        return false;
    if (now - f->detached_ns >= c->rotate_wait_ns)
        return true;
    for (unsigned k = i + 1; k < st->nfiles; k++) {
        struct stat sb;
        if (st->files[k].off > 0 || (fstat(st->files[k].fd, &sb) == 0 && sb.st_size > 0))
            return true;
    }
    return false;
}

static bool finish_file(struct tld_collector *c, struct stream *st, unsigned i)
{
    struct tfile *f = &st->files[i];
    if (f->carry.n) { /* the file ended without a newline: its last line is complete now */
        struct tld_sv line = tld_sb_view(&f->carry);
        uint64_t start = f->off - f->carry.n;
        if (handle_line(c, st, f, line, false, start, f->off))
            return false;
        tld_sb_reset(&f->carry);
    }
    tld_stream_close_file(st, i);
    return true;
}

enum pump_rc tld_stream_pump(struct tld_collector *c, struct stream *st)
{
    if (st->pend.on && !push_pending(c, st))
        return PUMP_STALLED;
    size_t budget = PASS_BUDGET;
    int64_t now = now_ns(c);
    for (unsigned i = 0; i < st->nfiles; i++) {
        enum pump_rc r = read_file(c, st, i, &budget);
        if (r != PUMP_IDLE)
            return r;
        if (finished(c, st, i, now)) {
            if (!finish_file(c, st, i))
                return PUMP_STALLED;
            i--;
        }
    }
    return PUMP_IDLE;
}

void tld_stream_tick(struct tld_collector *c, struct stream *st, int64_t now)
{
    if (st->is_container && !st->meta_known && now >= st->meta_retry_ns)
        tld_stream_set_meta(c, st);
    for (int i = 0; i < ASM_COUNT && !st->pend.on; i++) {
        struct tld_dockerlog_asm *a = &st->asms[i];
        if (!a->active || now - st->asm_last_ns[i] < PARTIAL_FLUSH_NS)
            continue;
        /* A piece whose continuation never came (the writer died mid-line): send what there is.
         * Its position is where the file stands now, past the piece. */
        const struct tfile *f = st->nfiles ? &st->files[st->nfiles - 1] : NULL;
        struct fpos after = f ? pos_of(f, f->off - f->carry.n) : st->resume;
        if (emit_asm(c, st, i, after))
            break;
    }
    for (unsigned i = 0; i < st->nfiles; i++) {
        struct tfile *f = &st->files[i];
        struct stat sb;
        if (!f->eof || fstat(f->fd, &sb) != 0)
            continue;
        if ((uint64_t)sb.st_size != f->off)
            st->active = true;
    }
    if (st->nfiles && st->files[0].detached && st->files[0].eof &&
        now - st->files[0].detached_ns >= c->rotate_wait_ns)
        st->active = true; /* let the pump finish it */
}
