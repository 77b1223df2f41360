/*
 * Fleet simulator: one process that enrolls and holds N agents against a real tld-manager,
 * each speaking the real transport (mutual TLS 1.3, HELLO/WELCOME, BATCH/ACK, KEEPALIVE), from
 * its own loopback source address (127.1.x.y), sending events at a set rate and checking the
 * acknowledgements; optionally it drops every connection at once (a reconnect storm, as after
 * a manager restart) and measures how long the fleet takes to be back.
 *
 * Events are made from (agent, sequence number), so an agent resends exactly what the manager's
 * WELCOME says it lacks without keeping a spool: the simulator checks zero loss by requiring
 * that every event generated is acknowledged in the end.
 *
 * Identities are enrolled once through the real enrollment port (in parallel) and kept in
 * --ids DIR/agent-NNNNN, so later runs reuse them.
 *
 *   agent_sim --host 127.0.0.1 --port 1514 --enroll-port 1515 --ids DIR --agents N
 *             [--password-file F] [--rate EVENTS_PER_AGENT_PER_S] [--seconds S]
 *             [--storm-at S] [--report FILE]
 * Prints one line of JSON with the figures at the end.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/enroll_client.h"
#include "common/evrec.h"
#include "common/proto.h"
#include "common/str.h"

enum st { A_WAIT, A_CONNECTING, A_HANDSHAKE, A_HELLO, A_RUN };

struct agent {
    unsigned idx;
    enum st st;
    int fd;
    SSL *ssl;
    X509 *cert;
    EVP_PKEY *key;
    uint64_t stream;
    uint64_t next_seq; /* the next event gets this number */
    uint64_t sent;     /* highest sequence number sent on this connection */
    uint64_t acked;
    double credit;
    int64_t retry_at, last_ka;
    int backoff_ms;
    bool welcomed_once;
    struct tld_sb out;
    size_t out_off;
    uint8_t hdr[8];
    size_t hdr_got, len, got;
    char body[4096];
};

struct sim {
    const char *host, *ids, *password_file;
    unsigned port, enroll_port, n;
    double rate;
    int seconds, storm_at;
    SSL_CTX *ctx;
    int ep;
    struct agent *a;
    unsigned running;
    uint64_t welcomes, reconnects, errors;
    int64_t storm_start, storm_done;
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "agent_sim: %s\n", what);
    exit(2);
}

/* ---- identities ------------------------------------------------------------------------------ */

struct enroll_job {
    struct sim *s;
    atomic_uint next;
    atomic_uint enrolled, failed;
};

static void agent_dir(const struct sim *s, unsigned i, char *out, size_t n)
{
    snprintf(out, n, "%s/agent-%05u", s->ids, i);
}

static void *enroll_worker(void *arg)
{
    struct enroll_job *j = arg;
    struct sim *s = j->s;
    char password[256] = "";
    if (s->password_file &&
        tld_enroll_client_read_password(s->password_file, password, sizeof password) != 0)
        die("cannot read the password file");
    for (unsigned i; (i = atomic_fetch_add(&j->next, 1)) < s->n;) {
        char dir[4096], name[64];
        agent_dir(s, i, dir, sizeof dir);
        if (tld_enroll_client_have_identity(dir))
            continue;
        mkdir(dir, 0700);
        snprintf(name, sizeof name, "sim-%05u", i);
        struct tld_enroll_client_opts o = {.host = s->host,
                                           .port = s->enroll_port,
                                           .name = name,
                                           .password = password[0] ? password : NULL,
                                           .tls_dir = dir,
                                           .cancel_fd = -1};
        struct tld_enroll_client_result r;
        int rc = -1;
        for (int attempt = 0; attempt < 50 && rc != 0; attempt++) {
            rc = tld_enroll_client_run(&o, &r);
            if (rc)
                usleep(100000); /* rate limited or busy: the manager said so; try again */
        }
        atomic_fetch_add(rc ? &j->failed : &j->enrolled, 1);
    }
    return NULL;
}

/* Enroll the agents that have no identity yet; seconds taken (0 when none was needed). */
static double enroll_all(struct sim *s, unsigned *enrolled)
{
    struct enroll_job j = {.s = s};
    mkdir(s->ids, 0700);
    int64_t t0 = now_ns();
    pthread_t th[8];
    for (int i = 0; i < 8; i++)
        pthread_create(&th[i], NULL, enroll_worker, &j);
    for (int i = 0; i < 8; i++)
        pthread_join(th[i], NULL);
    if (atomic_load(&j.failed))
        die("some enrollments failed");
    *enrolled = atomic_load(&j.enrolled);
    return *enrolled ? (double)(now_ns() - t0) / 1e9 : 0;
}

static void load_identity(struct sim *s, struct agent *a)
{
    char dir[4096], path[4200];
    agent_dir(s, a->idx, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/agent.crt", dir);
    FILE *f = fopen(path, "r");
    if (!f || !(a->cert = PEM_read_X509(f, NULL, NULL, NULL)))
        die("cannot load an agent certificate");
    fclose(f);
    snprintf(path, sizeof path, "%s/agent.key", dir);
    f = fopen(path, "r");
    if (!f || !(a->key = PEM_read_PrivateKey(f, NULL, NULL, NULL)))
        die("cannot load an agent key");
    fclose(f);
}

/* ---- one agent's connection ------------------------------------------------------------------ */

static void watch(struct sim *s, struct agent *a, unsigned events, int op)
{
    struct epoll_event e = {.events = events, .data.u32 = a->idx};
    epoll_ctl(s->ep, op, a->fd, &e);
}

static void drop(struct sim *s, struct agent *a, bool count_error)
{
    if (a->ssl)
        SSL_free(a->ssl);
    if (a->fd >= 0)
        close(a->fd);
    a->ssl = NULL;
    a->fd = -1;
    if (a->st == A_RUN)
        s->running--;
    a->st = A_WAIT;
    tld_sb_reset(&a->out);
    a->out_off = a->hdr_got = a->got = a->len = 0;
    /* Back-off with jitter and a cap, so a restarted manager is not stampeded. */
    a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : 200;
    if (a->backoff_ms > 5000)
        a->backoff_ms = 5000;
    a->retry_at = now_ns() + (int64_t)(rand() % a->backoff_ms) * 1000000;
    if (count_error)
        s->errors++;
}

static void start_connect(struct sim *s, struct agent *a)
{
    a->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(a->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f010000u + 256 * (a->idx / 250) + 1 + a->idx % 250);
    bind(a->fd, (struct sockaddr *)&src, sizeof src);
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s->port)};
    inet_pton(AF_INET, s->host, &dst.sin_addr);
    if (connect(a->fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS) {
        drop(s, a, true);
        return;
    }
    a->ssl = SSL_new(s->ctx);
    SSL_use_certificate(a->ssl, a->cert);
    SSL_use_PrivateKey(a->ssl, a->key);
    SSL_set_fd(a->ssl, a->fd);
    SSL_set_connect_state(a->ssl);
    a->st = A_CONNECTING;
    watch(s, a, EPOLLOUT, EPOLL_CTL_ADD);
}

static void queue_frame(struct agent *a, unsigned type, const struct tld_sb *payload)
{
    uint8_t h[TLD_PROTO_HEADER];
    tld_proto_header_put(h, type, payload->n);
    tld_sb_append(&a->out, h, sizeof h);
    tld_sb_append(&a->out, payload->p, payload->n);
}

/* Write what is queued; false on a failure (the agent was dropped). */
static bool flush_out(struct sim *s, struct agent *a)
{
    while (a->out_off < a->out.n) {
        size_t w = 0;
        ERR_clear_error();
        if (SSL_write_ex(a->ssl, a->out.p + a->out_off, a->out.n - a->out_off, &w) != 1) {
            int e = SSL_get_error(a->ssl, 0);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                watch(s, a, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
                return true;
            }
            drop(s, a, true);
            return false;
        }
        a->out_off += w;
    }
    tld_sb_reset(&a->out);
    a->out_off = 0;
    watch(s, a, EPOLLIN, EPOLL_CTL_MOD);
    return true;
}

static void send_hello(struct agent *a)
{
    struct tld_sb p;
    tld_sb_init(&p, 4096);
    char name[32];
    snprintf(name, sizeof name, "sim-%05u", a->idx);
    struct tld_msg_hello h = {tld_sv_of(name), tld_sv_of("sim"), tld_sv_of("Linux"),
                              tld_sv_of(name), a->stream,        a->acked + 1,
                              a->next_seq};
    tld_msg_hello_put(&p, &h);
    queue_frame(a, TLD_MSG_HELLO, &p);
    tld_sb_fini(&p);
}

/* Send what the manager lacks, at most one batch of 256 and 4096 unacknowledged. */
static void send_events(struct agent *a)
{
    if (a->sent + 1 >= a->next_seq || a->sent - a->acked >= 4096)
        return;
    struct tld_batch_writer w;
    tld_batch_writer_init(&w, 256 * 1024);
    struct tld_sb rec, text;
    tld_sb_init(&rec, 65536);
    tld_sb_init(&text, 1024);
    for (uint64_t seq = a->sent + 1; seq < a->next_seq && w.count < 256; seq++) {
        tld_sb_reset(&text);
        tld_sb_printf(&text, "Dec  7 12:00:00 sim-%05u app[1]: sim-event agent %u seq %" PRIu64,
                      a->idx, a->idx, seq);
        struct tld_evrec r = {.queue = '1',
                              .source = TLD_SOURCE_FILE,
                              .location = tld_sv_of("/var/log/sim.log"),
                              .text = tld_sb_view(&text),
                              .read_time_ns = (int64_t)time(NULL) * 1000000000};
        tld_sb_reset(&rec);
        tld_evrec_encode(&r, &rec);
        if (tld_batch_writer_add(&w, seq, tld_sb_view(&rec)) != 0)
            break;
        a->sent = seq;
    }
    struct tld_sb p;
    tld_sb_init(&p, TLD_PROTO_MAX_PAYLOAD);
    tld_batch_writer_finish(&w, &p);
    queue_frame(a, TLD_MSG_BATCH, &p);
    tld_sb_fini(&p);
    tld_sb_fini(&rec);
    tld_sb_fini(&text);
    tld_batch_writer_fini(&w);
}

static void send_keepalive(struct agent *a)
{
    struct tld_sb p;
    tld_sb_init(&p, 4096);
    struct tld_msg_keepalive k = {tld_sv_of("sim"), tld_sv_of("Linux"), tld_sv_of("sim"),
                                  a->next_seq - 1 - a->acked, 0};
    tld_msg_keepalive_put(&p, &k);
    queue_frame(a, TLD_MSG_KEEPALIVE, &p);
    tld_sb_fini(&p);
}

static void on_message(struct sim *s, struct agent *a, unsigned type)
{
    uint64_t v = 0;
    switch (type) {
    case TLD_MSG_WELCOME: {
        struct tld_msg_welcome w;
        if (tld_msg_welcome_get(a->body, a->len, &w) != 0) {
            drop(s, a, true);
            return;
        }
        /* Resend from what the manager has durably. */
        a->acked = w.last_seq > a->acked ? w.last_seq : a->acked;
        a->sent = a->acked;
        a->st = A_RUN;
        a->backoff_ms = 0;
        a->last_ka = now_ns();
        s->running++;
        s->welcomes++;
        if (a->welcomed_once)
            s->reconnects++;
        a->welcomed_once = true;
        break;
    }
    case TLD_MSG_ACK:
        if (tld_msg_u64_get(a->body, a->len, &v) == 0 && v > a->acked)
            a->acked = v;
        break;
    case TLD_MSG_PONG:
        break;
    default: /* ERROR: the manager ends the session */
        drop(s, a, type != TLD_MSG_ERROR);
        return;
    }
}

static void read_frames(struct sim *s, struct agent *a)
{
    for (;;) {
        size_t got = 0;
        int r;
        ERR_clear_error();
        if (a->hdr_got < 8)
            r = SSL_read_ex(a->ssl, a->hdr + a->hdr_got, 8 - a->hdr_got, &got);
        else
            r = SSL_read_ex(a->ssl, a->body + a->got, a->len - a->got, &got);
        if (r != 1) {
            int e = SSL_get_error(a->ssl, r);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
                drop(s, a, false);
            return;
        }
        if (a->hdr_got < 8) {
            a->hdr_got += got;
            unsigned type;
            if (a->hdr_got == 8 &&
                tld_proto_header_parse(a->hdr, 8, sizeof a->body, &type, &a->len) != 0) {
                drop(s, a, true);
                return;
            }
            if (a->hdr_got < 8 || a->len)
                continue;
        } else {
            a->got += got;
            if (a->got < a->len)
                continue;
        }
        unsigned type = a->hdr[3];
        a->hdr_got = a->got = 0;
        on_message(s, a, type);
        if (a->st == A_WAIT)
            return;
    }
}

static void serve(struct sim *s, struct agent *a, unsigned events)
{
    if (a->st == A_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err || (events & (EPOLLERR | EPOLLHUP))) {
            drop(s, a, true);
            return;
        }
        a->st = A_HANDSHAKE;
    }
    if (a->st == A_HANDSHAKE) {
        ERR_clear_error();
        int r = SSL_do_handshake(a->ssl);
        if (r != 1) {
            int e = SSL_get_error(a->ssl, r);
            if (e == SSL_ERROR_WANT_READ)
                watch(s, a, EPOLLIN, EPOLL_CTL_MOD);
            else if (e == SSL_ERROR_WANT_WRITE)
                watch(s, a, EPOLLOUT, EPOLL_CTL_MOD);
            else
                drop(s, a, true);
            return;
        }
        a->st = A_HELLO;
        send_hello(a);
        if (!flush_out(s, a))
            return;
    }
    if ((events & EPOLLOUT) && !flush_out(s, a))
        return;
    read_frames(s, a);
}

/* ---- the run --------------------------------------------------------------------------------- */

static uint64_t sum(const struct sim *s, bool acked)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < s->n; i++)
        t += acked ? s->a[i].acked : s->a[i].next_seq - 1;
    return t;
}

static void tick(struct sim *s, int64_t now, double dt, bool generate)
{
    for (unsigned i = 0; i < s->n; i++) {
        struct agent *a = &s->a[i];
        if (a->st == A_WAIT && now >= a->retry_at) {
            start_connect(s, a);
            continue;
        }
        if (a->st != A_RUN)
            continue;
        if (generate) {
            a->credit += s->rate * dt;
            uint64_t k = (uint64_t)a->credit;
            a->next_seq += k;
            a->credit -= (double)k;
        }
        send_events(a);
        if (now - a->last_ka >= 10000000000LL) {
            a->last_ka = now;
            send_keepalive(a);
        }
        if (a->out.n)
            flush_out(s, a);
    }
}

static void storm(struct sim *s)
{
    for (unsigned i = 0; i < s->n; i++)
        if (s->a[i].st != A_WAIT) {
            drop(s, &s->a[i], false);
            s->a[i].backoff_ms = 0;
            s->a[i].retry_at = now_ns() + (int64_t)(rand() % 1000) * 1000000;
        }
}

enum stop_when { RUN_TO_DEADLINE, UNTIL_ALL_RUNNING, UNTIL_DRAINED };

static void run_loop(struct sim *s, int64_t until, bool generate, int64_t *storm_at,
                     enum stop_when stop)
{
    struct epoll_event ev[512];
    int64_t last = now_ns();
    while (now_ns() < until) {
        int n = epoll_wait(s->ep, ev, 512, 20);
        for (int i = 0; i < n; i++)
            serve(s, &s->a[ev[i].data.u32], ev[i].events);
        int64_t now = now_ns();
        if (now - last >= 100000000) {
            tick(s, now, (double)(now - last) / 1e9, generate);
            last = now;
        }
        if (storm_at && *storm_at && now >= *storm_at) {
            *storm_at = 0;
            s->storm_start = now;
            storm(s);
        }
        if (s->storm_start && !s->storm_done && s->running == s->n)
            s->storm_done = now;
        if (stop == UNTIL_ALL_RUNNING && s->running == s->n)
            return;
        if (stop == UNTIL_DRAINED && s->running == s->n && sum(s, true) == sum(s, false))
            return;
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: agent_sim --port P --enroll-port P --ids DIR --agents N [--host H] "
                    "[--password-file F] [--rate R] [--seconds S] [--storm-at S]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct sim s = {.host = "127.0.0.1", .rate = 10, .seconds = 30};
    static const struct option opts[] = {
        {"host", 1, NULL, 'h'},        {"port", 1, NULL, 'p'},
        {"enroll-port", 1, NULL, 'e'}, {"ids", 1, NULL, 'i'},
        {"agents", 1, NULL, 'n'},      {"password-file", 1, NULL, 'w'},
        {"rate", 1, NULL, 'r'},        {"seconds", 1, NULL, 's'},
        {"storm-at", 1, NULL, 't'},    {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        switch (c) {
        case 'h':
            s.host = optarg;
            break;
        case 'p':
            s.port = (unsigned)atoi(optarg);
            break;
        case 'e':
            s.enroll_port = (unsigned)atoi(optarg);
            break;
        case 'i':
            s.ids = optarg;
            break;
        case 'n':
            s.n = (unsigned)atoi(optarg);
            break;
        case 'w':
            s.password_file = optarg;
            break;
        case 'r':
            s.rate = atof(optarg);
            break;
        case 's':
            s.seconds = atoi(optarg);
            break;
        case 't':
            s.storm_at = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    if (!s.port || !s.enroll_port || !s.ids || !s.n)
        usage();
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    signal(SIGPIPE, SIG_IGN); /* a connection the manager closed is an error code, not death */
    srand((unsigned)getpid());
    unsigned enrolled = 0;
    double enroll_s = enroll_all(&s, &enrolled);

    s.ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(s.ctx, TLS1_3_VERSION);
    SSL_CTX_set_mode(s.ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                SSL_MODE_RELEASE_BUFFERS);
    char ca[4200];
    snprintf(ca, sizeof ca, "%s/agent-00000/ca.crt", s.ids);
    if (SSL_CTX_load_verify_locations(s.ctx, ca, NULL) != 1)
        die("cannot load the CA");
    SSL_CTX_set_verify(s.ctx, SSL_VERIFY_PEER, NULL);
    s.ep = epoll_create1(EPOLL_CLOEXEC);
    s.a = calloc(s.n, sizeof *s.a);
    for (unsigned i = 0; i < s.n; i++) {
        struct agent *a = &s.a[i];
        a->idx = i;
        a->fd = -1;
        a->next_seq = 1;
        a->stream = ((uint64_t)getpid() << 20) + i + 1;
        a->retry_at = now_ns() + (int64_t)(rand() % 2000) * 1000000;
        tld_sb_init(&a->out, TLD_PROTO_MAX_PAYLOAD + 64);
        load_identity(&s, a);
    }
    /* Everyone connects (idle), then traffic, an optional storm, then a drain. */
    int64_t t0 = now_ns();
    run_loop(&s, t0 + 120000000000LL, false, NULL, UNTIL_ALL_RUNNING);
    double connect_s = (double)(now_ns() - t0) / 1e9;
    unsigned connected = s.running;
    printf("{\"phase\":\"connected\",\"agents\":%u,\"seconds\":%.2f}\n", connected, connect_s);
    fflush(stdout);
    sleep(3); /* idle: the caller measures the manager's memory per idle agent now */
    uint64_t acked0 = sum(&s, true);
    int64_t t1 = now_ns();
    int64_t storm_at = s.storm_at ? t1 + (int64_t)s.storm_at * 1000000000 : 0;
    run_loop(&s, t1 + (int64_t)s.seconds * 1000000000, true, &storm_at, RUN_TO_DEADLINE);
    double traffic_s = (double)(now_ns() - t1) / 1e9;
    uint64_t acked1 = sum(&s, true);
    /* Drain: every event generated acknowledged (agents a storm left behind reconnect). */
    run_loop(&s, now_ns() + 120000000000LL, false, NULL, UNTIL_DRAINED);
    uint64_t generated = sum(&s, false), acked = sum(&s, true);
    printf("{\"agents\":%u,\"connected\":%u,\"connect_seconds\":%.2f,\"enrolled\":%u,"
           "\"enroll_seconds\":%.2f,\"traffic_seconds\":%.1f,\"acked_per_second\":%.0f,"
           "\"generated\":%" PRIu64 ",\"acknowledged\":%" PRIu64 ",\"lost\":%" PRIu64
           ",\"reconnects\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"storm_recovery_seconds\":%.2f}\n",
           s.n, connected, connect_s, enrolled, enroll_s, traffic_s,
           (double)(acked1 - acked0) / traffic_s, generated, acked, generated - acked, s.reconnects,
           s.errors,
           s.storm_done ? (double)(s.storm_done - s.storm_start) / 1e9
                        : (s.storm_start ? -1.0 : 0.0));
    return generated == acked ? 0 : 1;
}
