/*
 * What a reconnect costs in TLS: the CPU time of a full mutual-TLS handshake (agent and manager
 * certificates, EC P-256 signatures and verification) against a resumed one (a TLS 1.3 ticket
 * sealed with the fleet's key), on each side, with the project's own TLS layer (common/tls.c)
 * and certificates made by its own PKI (common/pki.c). Client and server run on two threads
 * over socket pairs; each side's thread CPU time is taken around its handshake alone.
 *
 *   bench_tls DIR [HANDSHAKES]      (DIR: a scratch directory for the certificates)
 * Prints one line of JSON: median microseconds per handshake, per side and kind.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/pki.h"
#include "common/tls.h"

static double thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_tls: %s%s%s\n", what, why ? ": " : "", why ? why : "");
    exit(2);
}

struct server {
    struct tld_tls_ctx *ctx;
    int fds[2]; /* the pipe handing over server ends of socket pairs */
    double *cpu;
    unsigned n;
};

/* Accept each handshake, send one frame (after which the client holds its ticket), close. */
static void *serve(void *arg)
{
    struct server *s = arg;
    for (unsigned i = 0; i < s->n; i++) {
        int fd;
        if (read(s->fds[0], &fd, sizeof fd) != sizeof fd)
            die("pipe", NULL);
        char why[TLD_WHY_MAX];
        struct tld_tls_conn *c;
        double t = thread_cpu_us();
        if (tld_tls_accept(s->ctx, fd, -1, 10000, &c, why) != 0)
            die("accept", why);
        s->cpu[i] = thread_cpu_us() - t;
        tld_tls_send_frame(c, 1, tld_sv_of("x"), 10000);
        unsigned type;
        struct tld_sv p;
        tld_tls_recv_frame(c, &type, &p, 64, 10000); /* the client's goodbye */
        tld_tls_close(c);
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, unsigned n)
{
    qsort(v, n, sizeof *v, cmp);
    return v[n / 2];
}

/* The agent's identity: key, request, certificate signed by the CA in dir. */
static void make_agent(const char *dir)
{
    struct tld_pki_ca ca;
    char why[TLD_WHY_MAX], path[4200];
    if (tld_pki_ca_load(dir, &ca, why) != 0)
        die("CA", why);
    EVP_PKEY *key;
    struct tld_sb csr, pem;
    tld_sb_init(&csr, 1 << 16);
    tld_sb_init(&pem, 1 << 16);
    uint8_t fp[32];
    if (tld_pki_key_new(&key) != 0 || tld_pki_csr_new(key, "001", &csr) != 0 ||
        tld_pki_issue(&ca, tld_sb_view(&csr), "001", 30, &pem, fp, why) != 0)
        die("agent certificate", why);
    snprintf(path, sizeof path, "%s/agent.key", dir);
    tld_pki_key_save(key, path);
    snprintf(path, sizeof path, "%s/agent.crt", dir);
    FILE *f = fopen(path, "w");
    fwrite(pem.p, 1, pem.n, f);
    fclose(f);
    EVP_PKEY_free(key);
    tld_sb_fini(&csr);
    tld_sb_fini(&pem);
    tld_pki_ca_fini(&ca);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        die("usage: bench_tls DIR [HANDSHAKES]", NULL);
    signal(SIGPIPE, SIG_IGN); /* a peer gone is an error code, as in the daemons */
    const char *dir = argv[1];
    unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 400;
    bool created;
    char why[TLD_WHY_MAX], ca[4200], mc[4200], mk[4200], ac[4200], ak[4200], tk[4200];
    if (tld_pki_ca_ensure(dir, "localhost", &created, why) != 0)
        die("CA", why);
    make_agent(dir);
    snprintf(ca, sizeof ca, "%s/ca.crt", dir);
    snprintf(mc, sizeof mc, "%s/manager.crt", dir);
    snprintf(mk, sizeof mk, "%s/manager.key", dir);
    snprintf(ac, sizeof ac, "%s/agent.crt", dir);
    snprintf(ak, sizeof ak, "%s/agent.key", dir);
    snprintf(tk, sizeof tk, "%s/ticket.key", dir);
    struct tld_tls_ctx_opts so = {.server = true,
                                  .cert_file = mc,
                                  .key_file = mk,
                                  .ca_file = ca,
                                  .require_client_cert = true,
                                  .ticket_key_file = tk};
    struct tld_tls_ctx_opts co = {.cert_file = ac, .key_file = ak, .ca_file = ca};
    struct server s = {.n = 2 * n};
    struct tld_tls_ctx *cctx;
    if (tld_tls_ctx_new(&so, &s.ctx, why) != 0 || tld_tls_ctx_new(&co, &cctx, why) != 0)
        die("TLS context", why);
    s.cpu = calloc(2 * n, sizeof *s.cpu);
    double *ccpu = calloc(2 * n, sizeof *ccpu);
    if (pipe(s.fds) != 0)
        die("pipe", NULL);
    pthread_t th;
    pthread_create(&th, NULL, serve, &s);
    unsigned resumed = 0;
    /* First n: full handshakes (nothing offered); then n offering the last session. */
    for (unsigned i = 0; i < 2 * n; i++) {
        int sp[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0 ||
            write(s.fds[1], &sp[1], sizeof sp[1]) != sizeof sp[1])
            die("socketpair", NULL);
        struct tld_tls_conn *c;
        double t = thread_cpu_us();
        if (tld_tls_connect(cctx, sp[0], -1, 10000, &c, why) != 0)
            die("connect", why);
        ccpu[i] = thread_cpu_us() - t;
        resumed += i >= n && tld_tls_resumed(c);
        unsigned type;
        struct tld_sv p;
        tld_tls_recv_frame(c, &type, &p, 64, 10000);
        struct tld_tls_session *sess = tld_tls_session_get(c);
        if (i + 1 >= n)
            tld_tls_ctx_offer(cctx, sess);
        tld_tls_session_free(sess);
        tld_tls_send_frame(c, 1, tld_sv_of("bye"), 10000);
        tld_tls_close(c);
    }
    pthread_join(th, NULL);
    printf("{\"handshakes\":%u,\"resumed\":%u,\"server_full_us\":%.0f,\"server_resumed_us\":%.0f,"
           "\"client_full_us\":%.0f,\"client_resumed_us\":%.0f}\n",
           n, resumed, median(s.cpu, n), median(s.cpu + n, n), median(ccpu, n),
           median(ccpu + n, n));
    tld_tls_ctx_free(cctx);
    tld_tls_ctx_free(s.ctx);
    return resumed == n ? 0 : 1;
}
