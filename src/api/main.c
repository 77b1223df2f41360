/*
 * tld-api: the HTTPS API of ThreatLockDown, a process of its own beside tld-manager so that a
 * crash, overload or slow client of the API never touches the analysis of events. It reads the
 * alert store read-only and the manager's configuration file (<api>, <store>).
 *
 *   tld-api [-r ROOT] [-c CONFIG] [-l LOG|-] [-d] [-t]     run (or -t: check the configuration)
 *   tld-api [-r ROOT] user add NAME ROLE    password from stdin (one line)
 *   tld-api [-r ROOT] user passwd NAME      password from stdin
 *   tld-api [-r ROOT] user del NAME
 *   tld-api [-r ROOT] user list
 *   tld-api routes                          the routes and the roles allowed on each
 *
 * First start: ROOT/etc/api gets the token signing key (Ed25519), a server certificate issued
 * by the manager's CA (ROOT/var/ca, created as the manager would when missing) and, when there
 * is no user yet, `admin` with a generated password written only to etc/api/admin.password.
 */
#include <limits.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "api/config.h"
#include "api/logtest.h"
#include "api/rscache.h"
#include "api/server.h"
#include "api/static.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/pki.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: tld-api [-r ROOT] [-c CONFIG] [-l LOG|-] [-d] [-t]\n"
               "       tld-api [-r ROOT] user add NAME ROLE | passwd NAME | del NAME | list\n"
               "       tld-api routes\n"
               "  -r, --root DIR     installation root (default /var/threatlockdown)\n"
               "  -c, --config FILE  configuration (default ROOT/etc/manager.conf)\n"
               "  -l, --log DEST     own log (default ROOT/logs/api.log; - = stderr)\n"
               "  -d, --debug        log every request\n"
               "  -t, --test         check the configuration and exit\n"
               "roles: administrator, analyst, readonly; passwords are read from stdin\n");
}

static void path_of(char *out, size_t n, const char *root, const char *rel)
{
    if (rel[0] == '/')
        snprintf(out, n, "%s", rel);
    else
        snprintf(out, n, "%s/%s", root, rel);
}

static int read_password(char pw[256])
{
    if (!fgets(pw, 256, stdin))
        return TLD_EINVAL;
    pw[strcspn(pw, "\r\n")] = 0;
    return strlen(pw) >= 8 ? 0 : TLD_EINVAL;
}

static int cmd_user(const char *root, int argc, char **argv)
{
    char dir[PATH_MAX];
    path_of(dir, sizeof dir, root, "etc/api");
    struct tld_api_users u;
    int rc = tld_api_users_open(&u, dir);
    if (rc) {
        fprintf(stderr, "tld-api: cannot open the users of %s: %s\n", dir, tld_err_str(rc));
        return 1;
    }
    char pw[256];
    enum tld_api_role role;
    const char *what = argc > 0 ? argv[0] : "";
    if (strcmp(what, "add") == 0 && argc == 3) {
        if (tld_api_role_parse(argv[2], &role) != 0) {
            fprintf(stderr, "tld-api: '%s' is not a role (administrator, analyst, readonly)\n",
                    argv[2]);
            rc = TLD_EINVAL;
        } else if ((rc = read_password(pw)) != 0) {
            fprintf(stderr, "tld-api: a password of at least 8 characters on stdin\n");
        } else {
            rc = tld_api_users_add(&u, argv[1], role, tld_sv_of(pw));
        }
    } else if (strcmp(what, "passwd") == 0 && argc == 2) {
        struct tld_api_user cur;
        rc = tld_api_users_get(&u, argv[1], &cur);
        if (rc == 0 && (rc = read_password(pw)) == 0)
            rc = tld_api_users_add(&u, argv[1], cur.role, tld_sv_of(pw));
    } else if (strcmp(what, "del") == 0 && argc == 2) {
        rc = tld_api_users_delete(&u, argv[1]);
    } else if (strcmp(what, "list") == 0 && argc == 1) {
        static struct tld_api_user v[TLD_API_USERS_MAX];
        size_t n = 0;
        rc = tld_api_users_list(&u, v, TLD_API_USERS_MAX, &n);
        for (size_t i = 0; rc == 0 && i < n; i++)
            printf("%s %s\n", v[i].name, tld_api_role_name(v[i].role));
    } else {
        usage(stderr);
        rc = TLD_EINVAL;
    }
    if (rc)
        fprintf(stderr, "tld-api: user %s: %s\n", what, tld_err_str(rc));
    tld_api_users_close(&u);
    return rc ? 1 : 0;
}

/* The route table with the roles allowed on each: what docs/api.md and the tests check. */
static int cmd_routes(void)
{
    size_t n;
    const struct tld_api_route *rt = tld_api_routes(&n);
    for (size_t i = 0; i < n; i++) {
        printf("%s %s", rt[i].method, rt[i].path);
        if (!rt[i].roles)
            printf(" (no token)");
        for (unsigned b = 1; b <= TLD_ROLE_READONLY; b <<= 1)
            if (rt[i].roles & b)
                printf(" %s", tld_api_role_name((enum tld_api_role)b));
        printf("\n");
    }
    return 0;
}

/* The token signing key: made at first start, kept in etc/api/jwt.key (0600). */
static int jwt_key(const char *root, EVP_PKEY **out)
{
    char p[PATH_MAX];
    path_of(p, sizeof p, root, "etc/api/jwt.key");
    if (access(p, F_OK) == 0)
        return tld_pki_key_load(p, out);
    int rc = tld_jwt_key_new(out);
    if (rc == 0)
        rc = tld_pki_key_save(*out, p);
    return rc;
}

/* The server certificate: issued by the manager's CA at first start unless configured. */
static int server_cert(struct tld_api *a, const char *cert, const char *key, char why[TLD_WHY_MAX])
{
    if (access(cert, F_OK) == 0 && access(key, F_OK) == 0)
        return 0;
    char ca_dir[PATH_MAX];
    path_of(ca_dir, sizeof ca_dir, a->root, "var/ca");
    bool created;
    int rc = tld_pki_ca_ensure(ca_dir, a->hostname, &created, why);
    struct tld_pki_ca ca;
    if (rc || (rc = tld_pki_ca_load(ca_dir, &ca, why)) != 0)
        return rc;
    EVP_PKEY *k = NULL;
    X509 *x = NULL;
    rc = tld_pki_key_new(&k);
    if (rc == 0)
        rc = tld_pki_issue_server(&ca, k, "api", a->hostname, &x);
    if (rc == 0)
        rc = tld_pki_key_save(k, key);
    if (rc == 0)
        rc = tld_pki_cert_save(x, cert);
    if (rc)
        snprintf(why, TLD_WHY_MAX, "cannot issue the API certificate %.200s", cert);
    else
        tld_log_info(a->log, "issued the API certificate %s from the CA in %s", cert, ca_dir);
    X509_free(x);
    EVP_PKEY_free(k);
    tld_pki_ca_fini(&ca);
    return rc;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1u << 20);
    size_t n = buf ? fread(buf, 1, (1u << 20) - 1, f) : 0;
    fclose(f);
    if (buf && n == 0) {
        free(buf);
        buf = NULL;
    }
    return buf;
}

static int first_admin(struct tld_api *a, const char *dir)
{
    char pw[64];
    bool created;
    int rc = tld_api_users_first_admin(&a->users, dir, pw, &created);
    if (rc == 0 && created) {
        printf("tld-api: user 'admin' created; its password (shown once, kept only in "
               "%s/admin.password): %s\n",
               dir, pw);
        fflush(stdout);
        tld_log_info(a->log, "first start: user 'admin' created, password in %s/admin.password",
                     dir);
    }
    OPENSSL_cleanse(pw, sizeof pw);
    return rc;
}

static int serve(struct tld_api *a, struct tld_log *log)
{
    char dir[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], why[TLD_WHY_MAX] = "";
    path_of(dir, sizeof dir, a->root, "etc/api");
    path_of(cert, sizeof cert, a->root, a->cfg->cert);
    path_of(key, sizeof key, a->root, a->cfg->key);
    int rc = tld_api_users_open(&a->users, dir);
    if (rc == 0)
        rc = first_admin(a, dir);
    if (rc == 0 && (rc = jwt_key(a->root, &a->jwt_key)) != 0)
        snprintf(why, sizeof why, "cannot read or create %.200s/jwt.key", dir);
    if (rc == 0)
        rc = server_cert(a, cert, key, why);
    char *cert_pem = rc == 0 ? slurp(cert) : NULL, *key_pem = rc == 0 ? slurp(key) : NULL;
    if (rc == 0 && (!cert_pem || !key_pem)) {
        snprintf(why, sizeof why, "cannot read %.100s or %.100s", cert, key);
        rc = TLD_EIO;
    }
    struct tld_api_server *srv = NULL;
    /* Blocked before any thread starts, so they all inherit it and only sigtimedwait below
     * takes SIGTERM (a server thread would otherwise die of it, skipping the clean stop). */
    sigset_t set;
    tld_daemon_signals(&set);
    /* Every connection, and every live stream, is a descriptor. */
    tld_daemon_raise_nofile(log);
    if (rc == 0)
        rc = tld_api_server_start(a, cert_pem, key_pem, &srv, why);
    if (key_pem)
        OPENSSL_cleanse(key_pem, strlen(key_pem));
    free(key_pem);
    free(cert_pem);
    if (rc) {
        tld_log_error(log, "cannot start: %s (%s)", why[0] ? why : "users", tld_err_str(rc));
        return rc;
    }
    tld_log_info(log, "listening on https://%s:%u/ (store: %s)", a->cfg->local_ip, a->cfg->port,
                 a->cfg->store_backend);
    if (a->web_found)
        tld_log_info(log, "dashboard: https://%s:%u/app/ from %s", a->cfg->local_ip, a->cfg->port,
                     a->web_root);
    else
        tld_log_info(log, "dashboard: not installed (no index.html in %s; `make web`)",
                     a->web_root);
    printf("tld-api: listening on https://%s:%u/\n", a->cfg->local_ip, a->cfg->port);
    fflush(stdout);
    bool stop = false;
    while (!stop)
        tld_daemon_wait(&set, log, &stop);
    tld_api_server_stop(srv);
    return 0;
}

int main(int argc, char **argv)
{
    umask(077);
    static const struct tld_daemon_argspec spec = {"tld-api", false, false, true, usage};
    struct tld_daemon_args args;
    int next;
    if (tld_daemon_args_parse(&spec, argc, argv, &args, &next) != 0)
        return 2;
    if (next < argc && strcmp(argv[next], "user") == 0)
        return cmd_user(args.root, argc - next - 1, argv + next + 1);
    if (next < argc && strcmp(argv[next], "routes") == 0 && next + 1 == argc)
        return cmd_routes();
    if (next != argc) {
        usage(stderr);
        return 2;
    }
    char cfg_path[PATH_MAX];
    if (!args.nconfigs) {
        snprintf(cfg_path, sizeof cfg_path, "%s/etc/manager.conf", args.root);
        args.configs[args.nconfigs++] = cfg_path;
    }
    struct tld_api_config cfg;
    struct tld_diag diag;
    tld_api_config_init(&cfg);
    tld_diag_init(&diag);
    int rc = tld_api_config_load(&cfg, args.configs[0], &diag);
    tld_api_config_defaults(&cfg);
    tld_diag_print(&diag, stderr);
    tld_diag_fini(&diag);
    struct tld_api a;
    memset(&a, 0, sizeof a);
    a.cfg = &cfg;
    a.root = args.root;
    a.config_path = args.configs[0];
    if (rc == 0 &&
        tld_api_config_store(&cfg, args.root, &a.store_cfg, a.store_path, sizeof a.store_path,
                             a.store_url, sizeof a.store_url) != 0) {
        fprintf(stderr, "tld-api: <store><backend> '%s' is not sqlite or clickhouse\n",
                cfg.store_backend);
        rc = TLD_EINVAL;
    }
    if (rc || args.test_only || !cfg.enabled) {
        if (rc == 0 && !cfg.enabled)
            fprintf(stderr, "tld-api: <api><enabled> is no; not starting\n");
        tld_api_config_fini(&cfg);
        return rc ? 1 : 0;
    }
    if (gethostname(a.hostname, sizeof a.hostname - 1) != 0 || !a.hostname[0])
        snprintf(a.hostname, sizeof a.hostname, "localhost");
    a.started_ms = tld_api_now_ms();
    char exe[PATH_MAX];
    ssize_t en = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[en > 0 ? en : 0] = 0;
    tld_api_web_root(args.root, cfg.web_root, exe, a.web_root, sizeof a.web_root, &a.web_found);
    struct tld_log log;
    char logp[PATH_MAX], pidp[PATH_MAX], run[PATH_MAX];
    path_of(logp, sizeof logp, args.root, "logs/api.log");
    path_of(pidp, sizeof pidp, args.root, "var/run/tld-api.pid");
    path_of(run, sizeof run, args.root, "var/run");
    tld_mkdir_p(run, 0750);
    path_of(run, sizeof run, args.root, "logs");
    tld_mkdir_p(run, 0750);
    int pid_fd = -1;
    if (tld_daemon_open_log(&log, "tld-api", args.log_path, logp, args.debug) != 0 ||
        tld_daemon_lock_pid(pidp, "tld-api", &pid_fd) != 0) {
        tld_api_config_fini(&cfg);
        return 1;
    }
    a.log = &log;
    rc = tld_throttle_init(&a.throttle, cfg.login_failures, cfg.login_lockout_s * 1000);
    if (rc == 0)
        rc = tld_api_userlimit_init(&a.userlimit, cfg.max_request_per_minute);
    if (rc == 0)
        rc = tld_api_logtest_new(&a.logtest);
    if (rc == 0)
        rc = tld_api_rscache_new(&a.rscache);
    if (rc == 0)
        rc = serve(&a, &log);
    tld_api_logtest_free(a.logtest);
    tld_api_rscache_free(a.rscache);
    tld_throttle_fini(&a.throttle);
    tld_api_userlimit_fini(&a.userlimit);
    tld_api_users_close(&a.users);
    EVP_PKEY_free(a.jwt_key);
    tld_log_info(&log, "stopped");
    tld_log_fini(&log);
    close(pid_fd);
    tld_api_config_fini(&cfg);
    return rc ? 1 : 0;
}
