/*
 * What both daemons do the same way to run as a daemon: one process per installation root (a
 * locked pid file), their own log (a file, or stderr with `-`), and signals taken by the main
 * thread only, which wakes once a second for its housekeeping.
 */
#ifndef TLD_COMMON_DAEMON_H
#define TLD_COMMON_DAEMON_H

#include <signal.h>
#include <stdbool.h>

#include "common/log.h"

/* Lock the pid file at path and write our pid into it. The lock lasts while *fd is open (-1 on
 * failure). TLD_EEXIST when another process holds it (said on stderr, naming prog), TLD_EIO. */
int tld_daemon_lock_pid(const char *path, const char *prog, int *fd);

/* The daemon's log: stderr when path is "-", else path (NULL: default_path) opened for
 * appending. TLD_EIO (said on stderr) when the file cannot be opened. */
int tld_daemon_open_log(struct tld_log *log, const char *prog, const char *path,
                        const char *default_path, bool debug);

/* Block SIGTERM, SIGINT and SIGHUP in the calling thread, so that every thread started after
 * inherits the mask and only tld_daemon_wait() takes them; ignore SIGPIPE. */
void tld_daemon_signals(sigset_t *set);

/* Wait up to one second for a signal of set; *stop tells whether it was SIGTERM or SIGINT
 * (logged). */
void tld_daemon_wait(const sigset_t *set, struct tld_log *log, bool *stop);

#endif
