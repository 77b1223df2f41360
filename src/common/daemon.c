/*
 * Daemon start-up pieces shared by tld-agent and tld-manager (see daemon.h).
 */
#include "common/daemon.h"

#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"

static int add_config(const struct tld_daemon_argspec *spec, struct tld_daemon_args *a,
                      const char *path)
{
    if (!spec->several_configs) {
        a->configs[0] = path;
        a->nconfigs = 1;
        return 0;
    }
    if (a->nconfigs == TLD_DAEMON_MAX_CONFIGS) {
        fprintf(stderr, "%s: at most %d configuration files\n", spec->prog, TLD_DAEMON_MAX_CONFIGS);
        return TLD_EINVAL;
    }
    a->configs[a->nconfigs++] = path;
    return 0;
}

/* One option; TLD_EINVAL when it is not one of spec's. */
static int take_option(const struct tld_daemon_argspec *spec, int ch, struct tld_daemon_args *a)
{
    switch (ch) {
    case 'c':
        return add_config(spec, a, optarg);
    case 'r':
        a->root = optarg;
        return 0;
    case 'o':
        a->output = optarg;
        return 0;
    case 'l':
        a->log_path = optarg;
        return 0;
    case 'd':
        a->debug = true;
        return 0;
    case 't':
        a->test_only = true;
        return 0;
    case 'h':
        spec->usage(stdout);
        exit(0);
    default:
        spec->usage(stderr);
        return TLD_EINVAL;
    }
}

int tld_daemon_args_parse(const struct tld_daemon_argspec *spec, int argc, char **argv,
                          struct tld_daemon_args *a, int *next)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"root", required_argument, NULL, 'r'},
        {"output", required_argument, NULL, 'o'}, {"log", required_argument, NULL, 'l'},
        {"debug", no_argument, NULL, 'd'},        {"test", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    /* Without -o, --output is refused as any unknown option is. */
    struct option longs[sizeof opts / sizeof *opts];
    size_t n = 0;
    for (size_t i = 0; i < sizeof opts / sizeof *opts; i++)
        if (opts[i].val != 'o' || spec->output)
            longs[n++] = opts[i];
    const char *shortopts = spec->commands ? (spec->output ? "+c:r:o:l:dth" : "+c:r:l:dth")
                                           : (spec->output ? "c:r:o:l:dth" : "c:r:l:dth");
    memset(a, 0, sizeof *a);
    a->root = "/var/threatlockdown";
    int ch;
    while ((ch = getopt_long(argc, argv, shortopts, longs, NULL)) != -1) {
        int rc = take_option(spec, ch, a);
        if (rc)
            return rc;
    }
    *next = optind;
    if (!spec->commands && optind != argc) {
        spec->usage(stderr);
        return TLD_EINVAL;
    }
    return 0;
}

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
    /* Size and number of rotated logs: TLD_LOG_MAX_BYTES and TLD_LOG_KEEP in the environment
     * (docs/manager.md); the defaults suit a host that is not short of disk. */
    const char *mb = getenv("TLD_LOG_MAX_BYTES"), *keep = getenv("TLD_LOG_KEEP");
    if (mb || keep)
        tld_log_set_rotation(log, mb ? strtoull(mb, NULL, 10) : TLD_LOG_MAX_BYTES,
                             keep ? (unsigned)strtoul(keep, NULL, 10) : TLD_LOG_KEEP);
    return 0;
}

void tld_daemon_raise_nofile(struct tld_log *log)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            rl.rlim_cur = was;
    }
    tld_log_info(log, "open descriptor limit: %llu (was %llu, hard limit %llu)",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)was,
                 (unsigned long long)rl.rlim_max);
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

void tld_daemon_wait_hup(const sigset_t *set, struct tld_log *log, bool *stop, bool *hup)
{
    struct timespec ts = {1, 0};
    int sig = sigtimedwait(set, NULL, &ts);
    *stop = sig == SIGTERM || sig == SIGINT;
    *hup = sig == SIGHUP;
    if (*stop)
        tld_log_info(log, "signal %d: stopping", sig);
}

void tld_daemon_wait(const sigset_t *set, struct tld_log *log, bool *stop)
{
    bool hup;
    tld_daemon_wait_hup(set, log, stop, &hup);
}
