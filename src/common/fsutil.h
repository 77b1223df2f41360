/*
 * File system steps that several modules need and that are easy to get subtly wrong: replacing
 * a file so a crash leaves either the old or the new content (never a torn mix or an empty
 * file), and creating a directory with its missing parents.
 */
#ifndef TLD_COMMON_FSUTIL_H
#define TLD_COMMON_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Replace `path` with `len` bytes of `data`: written to a fresh "<path>.tmp" in the same
 * directory created with `mode` (filtered by the umask as open(2) does), fsynced, renamed over
 * `path`, then the directory is fsynced so the rename itself survives a crash. 0 or TLD_EIO (errno
 * says why; the temporary file is removed) or TLD_EINVAL for a path too long.
 */
int tld_file_replace(const char *path, const void *data, size_t len, mode_t mode);

/* write(2) all `len` bytes, resuming after signals and short writes. 0 or TLD_EIO. */
int tld_write_all(int fd, const void *data, size_t len);

/* fsync the directory holding `path` (what makes a rename or a create in it durable). */
int tld_file_sync_dir(const char *path);

/* fsync directory `dir` itself (after creating, renaming or unlinking entries in it). 0 or
 * TLD_EIO (errno says why). */
int tld_dir_sync(const char *dir);

/*
 * Create directory `path` and its missing parents, each with `mode` (filtered by the umask as
 * mkdir(2) does). Parts that already exist are fine when they are directories; a part that is
 * something else fails with TLD_EIO and errno ENOTDIR. TLD_EINVAL for an empty or too long path.
 */
int tld_mkdir_p(const char *path, mode_t mode);

#endif
