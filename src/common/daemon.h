/*
 * What both daemons do the same way to run as a daemon: the common command-line options, one
 * process per installation root (a locked pid file), their own log (a file, or stderr with
 * `-`), and signals taken by the main thread only, which wakes once a second for its
 * housekeeping.
 */
#ifndef TLD_COMMON_DAEMON_H
#define TLD_COMMON_DAEMON_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/log.h"

#define TLD_DAEMON_MAX_CONFIGS 16

/* -r ROOT, -c CONFIG, -o DEST, -l LOG|-, -d, -t (and -h), as given. */
struct tld_daemon_args {
    const char *root; /* default /var/threatlockdown */
    const char *configs[TLD_DAEMON_MAX_CONFIGS];
    unsigned nconfigs;
    const char *output;   /* -o/--output, for daemons that take it */
    const char *log_path; /* NULL: the daemon's default */
    bool debug, test_only;
};

/* What one daemon's command line takes beyond the common options. */
struct tld_daemon_argspec {
    const char *prog;
    bool several_configs; /* -c repeatable; else the last one counts */
    bool output;          /* -o/--output accepted */
    bool commands;        /* a subcommand may follow the options; else nothing may */
    void (*usage)(FILE *f);
};

/* Parse argv into a. 0 with *next the index of the first argument after the options, or
 * TLD_EINVAL on a usage error (said on stderr). -h prints the usage and exits 0. */
int tld_daemon_args_parse(const struct tld_daemon_argspec *spec, int argc, char **argv,
                          struct tld_daemon_args *a, int *next);

/* Lock the pid file at path and write our pid into it. The lock lasts while *fd is open (-1 on
 * failure). TLD_EEXIST when another process holds it (said on stderr, naming prog), TLD_EIO. */
int tld_daemon_lock_pid(const char *path, const char *prog, int *fd);

/* Raise the soft limit on open descriptors to the hard limit: every connection, journal segment
 * and followed file costs one, and running out stalls the daemon. The value is logged. */
void tld_daemon_raise_nofile(struct tld_log *log);

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
/* The same, telling besides whether the signal was SIGHUP (a reload, for daemons that have one). */
void tld_daemon_wait_hup(const sigset_t *set, struct tld_log *log, bool *stop, bool *hup);

#endif
