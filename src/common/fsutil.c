/*
 * Atomic file replacement and mkdir -p (see fsutil.h). Both are written once here because the
 * copies they replace differed in the details that matter after a crash (the directory fsync).
 */
#include "common/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"

int tld_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return TLD_EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int tld_file_sync_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) >= sizeof dir)
        return TLD_EINVAL;
    else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    return tld_dir_sync(dir);
}

int tld_dir_sync(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return TLD_EIO;
    int rc = fsync(fd) == 0 ? 0 : TLD_EIO;
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int tld_file_replace(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return TLD_EINVAL;
    /* A temporary file left by a crash may have another owner or mode: start afresh. */
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return TLD_EIO;
    int rc = tld_write_all(fd, data, len);
    if (rc == 0 && fsync(fd) != 0)
        rc = TLD_EIO;
    if (close(fd) != 0)
        rc = TLD_EIO;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = TLD_EIO;
    if (rc != 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return rc;
    }
    return tld_file_sync_dir(path);
}

/* mkdir that accepts an existing directory and nothing else in its place. */
static int mkdir_one(const char *path, mode_t mode)
{
    if (mkdir(path, mode) == 0)
        return 0;
    if (errno != EEXIST)
        return TLD_EIO;
    struct stat st;
    if (stat(path, &st) != 0)
        return TLD_EIO;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return TLD_EIO;
    }
    return 0;
}

int tld_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (!*path || snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return TLD_EINVAL;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/' || p[-1] == '/')
            continue;
        *p = 0;
        int rc = mkdir_one(buf, mode);
        *p = '/';
        if (rc)
            return rc;
    }
    return mkdir_one(buf, mode);
}
