/*
 * Rotation and truncation of a followed path (model in internal.h). A rename is noticed when
 * the path names another inode: the old file is detached and finished from its descriptor,
 * and the files created at the path since (held open by the watcher, or found by name) are
 * read in order before the new one. A truncation is noticed by size or by the fingerprint of
 * the file's first bytes; the old content's remainder is read from a copy with the same first
 * bytes when there is one (copy-truncate).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collect/files/internal.h"

/* A file the stream has open (an open file's inode cannot be reused). */
static bool open_ino(const struct stream *st, uint64_t ino)
{
    for (unsigned i = 0; i < st->nfiles; i++)
        if (st->files[i].ino == ino)
            return true;
    return false;
}

/* A finished file of this stream, recognised by inode and first bytes. */
static bool known_fd(const struct stream *st, int fd, uint64_t ino)
{
    unsigned n = st->nfinished < FINISHED_RING ? st->nfinished : FINISHED_RING;
    for (unsigned i = 0; i < n; i++) {
        const struct fpos *f = &st->finished[i];
        uint64_t h;
        if (f->ino == ino && f->head_len && tld_stream_head(fd, f->head_len, &h) &&
            h == f->head_hash)
            return true;
    }
    return false;
}

/* A file the stream has open or has finished (then also recognised by its first bytes). */
static bool known_file(const struct stream *st, int dirfd, const char *name, uint64_t ino)
{
    if (open_ino(st, ino))
        return true;
    unsigned n = st->nfinished < FINISHED_RING ? st->nfinished : FINISHED_RING;
    for (unsigned i = 0; i < n; i++) {
        const struct fpos *f = &st->finished[i];
        if (f->ino != ino || !f->head_len)
            continue;
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
        uint64_t h;
        bool same = fd >= 0 && tld_stream_head(fd, f->head_len, &h) && h == f->head_hash;
        if (fd >= 0)
            close(fd);
        if (same)
            return true;
    }
    return false;
}

struct sib {
    char name[256];
    long num; /* numeric suffix, -1 if none */
};

static int cmp_sib(const void *a, const void *b)
{
    const struct sib *x = a, *y = b;
    return (x->num < y->num) - (x->num > y->num); /* larger suffix = older = first */
}

/*
 * Rotated files between the one just detached and the new one, which a fast writer created
 * and rotated away before the collector looked: `<name>.<N>` siblings not seen yet and written
 * after the detached file. They are added oldest first, ahead of the new file.
 */
static void catch_up(struct tld_collector *c, struct stream *st, int64_t after_mtime)
{
    char dir[4096];
    const char *slash = strrchr(st->path, '/');
    size_t dn = (size_t)(slash - st->path);
    if (dn == 0 || dn >= sizeof dir)
        return;
    memcpy(dir, st->path, dn);
    dir[dn] = 0;
    const char *base = slash + 1;
    size_t bn = strlen(base);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return;
    struct sib found[8];
    unsigned nf = 0;
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) && nf < 8) {
        if (strncmp(e->d_name, base, bn) != 0 || e->d_name[bn] != '.')
            continue;
        char *endp;
        long num = strtol(e->d_name + bn + 1, &endp, 10);
        if (*endp || num <= 0 || strlen(e->d_name) >= sizeof found[0].name)
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode) ||
            known_file(st, dirfd(d), e->d_name, (uint64_t)sb.st_ino))
            continue;
        int64_t mt = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        if (mt < after_mtime)
            continue;
        snprintf(found[nf].name, sizeof found[nf].name, "%s", e->d_name);
        found[nf++].num = num;
    }
    qsort(found, nf, sizeof *found, cmp_sib);
    for (unsigned i = 0; i < nf; i++) {
        int fd = openat(dirfd(d), found[i].name, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && tld_stream_add_file(c, st, fd, 0, true) == 0)
            tld_log_info(c->log, "collector: %s: reading rotated %s/%s it had not opened yet",
                         st->path, dir, found[i].name);
    }
    closedir(d);
}

/* After a truncation, the bytes between our offset and the old end are in a copy, if the
 * rotation made one: a sibling starting with the same head and at least `need` bytes long. */
static int find_copy(const struct stream *st, uint64_t ino, uint64_t head_len, uint64_t head_hash,
                     uint64_t need)
{
    char dir[4096];
    const char *slash = strrchr(st->path, '/');
    size_t dn = (size_t)(slash - st->path);
    if (dn == 0 || dn >= sizeof dir || !head_len)
        return -1;
    memcpy(dir, st->path, dn);
    dir[dn] = 0;
    const char *base = slash + 1;
    size_t bn = strlen(base);
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int best = -1;
    int64_t best_mt = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, base, bn) != 0 || e->d_name[bn] == 0)
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, 0) != 0 || !S_ISREG(sb.st_mode) ||
            (uint64_t)sb.st_ino == ino || (uint64_t)sb.st_size < need)
            continue;
        int fd = openat(dirfd(d), e->d_name, O_RDONLY | O_CLOEXEC);
        uint64_t h;
        if (fd < 0)
            continue;
        int64_t mt = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
        if (tld_stream_head(fd, head_len, &h) && h == head_hash && (best < 0 || mt > best_mt)) {
            if (best >= 0)
                close(best);
            best = fd;
            best_mt = mt;
        } else {
            close(fd);
        }
    }
    closedir(d);
    return best;
}

void tld_stream_truncated(struct tld_collector *c, struct stream *st, struct tfile *f)
{
    c->st.truncations++;
    uint64_t consumed = f->off - f->carry.n;
    int copy = find_copy(st, f->ino, f->head_len, f->head_hash, consumed);
    unsigned idx = (unsigned)(f - st->files);
    if (copy >= 0 && st->nfiles < MAX_FILES_PER_STREAM) {
        /* Insert the copy just before the truncated file, continuing at the same offset. */
        struct tfile cur = *f;
        st->nfiles--; /* take f out, add the copy, put f back after it */
        memmove(&st->files[idx], &st->files[idx + 1], (st->nfiles - idx) * sizeof *f);
        uint64_t gen = cur.gen;
        if (tld_stream_add_file(c, st, copy, consumed, true) == 0) {
            struct tfile *cp = &st->files[st->nfiles - 1];
            cp->gen = gen;
            cp->head_len = cur.head_len;
            cp->head_hash = cur.head_hash;
            cp->eof = false;
            c->st.copies_found++;
        }
        st->files[st->nfiles++] = cur;
        f = &st->files[st->nfiles - 1];
    } else if (copy >= 0) {
        close(copy);
    } else if (consumed > 0) {
        tld_log_warn(c->log,
                     "collector: %s: truncated at offset %llu and no copy of the old content "
                     "was found",
                     st->path, (unsigned long long)consumed);
    }
    f->off = 0;
    f->gen = st->next_gen++;
    tld_sb_reset(&f->carry);
    f->discarding = false;
    f->head_len = 0;
    f->eof = false;
    st->active = true;
    tld_stream_notice(c, "ossec: File size reduced (inode remained): '%s'.", st->path);
}

static void detach(struct tld_collector *c, struct tfile *f)
{
    f->detached = true;
    f->detached_ns = now_ns(c);
    struct stat fs;
    if (fstat(f->fd, &fs) == 0)
        f->mtime_ns = (int64_t)fs.st_mtim.tv_sec * 1000000000 + fs.st_mtim.tv_nsec;
}

static void note_rotation(struct tld_collector *c, struct stream *st, uint64_t ino)
{
    tld_log_debug(c->log, "collector: %s: following inode %llu (%u files before)", st->path,
                  (unsigned long long)ino, st->nfiles);
    if (st->had_file) {
        c->st.rotations++;
        tld_stream_notice(c, "ossec: File rotated (inode changed): '%s'.", st->path);
    }
}

void tld_stream_check(struct tld_collector *c, struct stream *st)
{
    st->check_rot = false;
    struct tfile *cur = st->nfiles ? &st->files[st->nfiles - 1] : NULL;
    if (cur && cur->detached)
        cur = NULL;
    struct stat sb;
    if (stat(st->path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (cur) { /* renamed away or deleted: finish it from the descriptor */
            tld_log_debug(c->log, "collector: %s: gone; finishing inode %llu at %llu", st->path,
                          (unsigned long long)cur->ino, (unsigned long long)cur->off);
            detach(c, cur);
            st->active = true;
        }
        return;
    }
    if (cur && (uint64_t)sb.st_ino == cur->ino && (uint64_t)sb.st_dev == cur->dev) {
        if ((uint64_t)sb.st_size < cur->off)
            tld_stream_truncated(c, st, cur);
        else if ((uint64_t)sb.st_size > cur->off)
            st->active = true;
        return;
    }
    if (open_ino(st, (uint64_t)sb.st_ino)) {
        /* A file we follow is (again) the one at the path. The newest one, taken from the
         * watcher as rotated because it was created after we last looked, is the current
         * file: it must not be finished while it is written. */
        struct tfile *last = &st->files[st->nfiles - 1];
        if (last->ino == (uint64_t)sb.st_ino && last->detached) {
            last->detached = false;
            if (cur && cur != last)
                detach(c, cur);
        }
        return;
    }
    if (cur)
        detach(c, cur);
    /* Files created at this path since we last looked, as the watcher opened them (even if
     * Docker has deleted them meanwhile), oldest first; the newest is the file there now. */
    struct tld_preopened pre[MAX_FILES_PER_STREAM];
    tld_watcher_sync(c->watcher); /* so every file created until now is among those taken */
    unsigned n = tld_watcher_take(c->watcher, st->path, pre, MAX_FILES_PER_STREAM);
    bool cur_taken = false;
    for (unsigned i = 0; i < n; i++) {
        bool is_cur = pre[i].ino == (uint64_t)sb.st_ino && pre[i].dev == (uint64_t)sb.st_dev;
        /* The watcher also holds rotated files it saw renamed: those this stream finished
         * (inode and first bytes), and those last written before it began, are not new. */
        if (open_ino(st, pre[i].ino) || (!is_cur && (pre[i].mtime_ns < st->created_ns ||
                                                     known_fd(st, pre[i].fd, pre[i].ino)))) {
            close(pre[i].fd);
            continue;
        }
        if (is_cur)
            note_rotation(c, st, pre[i].ino);
        if (tld_stream_add_file(c, st, pre[i].fd, 0, !is_cur) != 0)
            tld_log_warn(c->log, "collector: %s: too many rotated files open", st->path);
        else if (!is_cur)
            tld_log_debug(c->log, "collector: %s: reading a rotated file it had not seen",
                          st->path);
        cur_taken |= is_cur;
    }
    if (cur_taken)
        return;
    if (st->nfiles && !n) /* the watcher did not see them (events lost): look by name */
        catch_up(c, st, st->files[st->nfiles - 1].mtime_ns);
    int fd = open(st->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat fs;
    if (fstat(fd, &fs) != 0 || fs.st_ino != sb.st_ino) { /* replaced again meanwhile */
        close(fd);
        st->check_rot = true;
        return;
    }
    note_rotation(c, st, (uint64_t)fs.st_ino);
    if (tld_stream_add_file(c, st, fd, 0, false) != 0)
        tld_log_warn(c->log,
                     "collector: %s: too many rotated files open; not following the new "
                     "one yet",
                     st->path);
}
