/*
 * Daemon start-up pieces shared by tld-agent and tld-manager (see daemon.h).
 */
#include "common/daemon.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"

int tld_daemon_lock_pid(const char *path, const char *prog, int *fd)
{
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (*fd < 0 || flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        fprintf(stderr, "%s: %s: another %s runs on this root\n", prog, path, prog);
        if (*fd >= 0)
            close(*fd);
        *fd = -1;
        return TLD_EEXIST;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, pid, (size_t)n, 0) != n)
        return TLD_EIO;
    return 0;
}

int tld_daemon_open_log(struct tld_log *log, const char *prog, const char *path,
                        const char *default_path, bool debug)
{
    enum tld_log_level lvl = debug ? TLD_LOG_DEBUG : TLD_LOG_INFO;
    if (path && strcmp(path, "-") == 0) {
        tld_log_init(log, prog, stderr, lvl);
        return 0;
    }
    const char *p = path ? path : default_path;
    if (tld_log_open(log, prog, p, lvl) != 0) {
        fprintf(stderr, "%s: cannot open log %s\n", prog, p);
        return TLD_EIO;
    }
    return 0;
}

void tld_daemon_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
    signal(SIGPIPE, SIG_IGN);
}

void tld_daemon_wait(const sigset_t *set, struct tld_log *log, bool *stop)
{
    struct timespec ts = {1, 0};
    int sig = sigtimedwait(set, NULL, &ts);
    *stop = sig == SIGTERM || sig == SIGINT;
    if (*stop)
        tld_log_info(log, "signal %d: stopping", sig);
}
