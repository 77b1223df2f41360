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
 * The agents are shared out over --threads event loops (default 2), each with its own epoll set
 * and counters, so the simulator keeps up with 10,000 agents. Like the real agent, each agent
 * keeps its TLS session and resumes it on reconnect (--no-resume: full handshakes). A storm is
 * either made here (--storm-at: every connection dropped at once) or comes from the manager
 * (restarted by the caller): its recovery time runs from the first running agent lost to the
 * moment every agent is welcomed again.
 *
 * With --port2, each agent knows a second manager of the same fleet (sharing the CA, ticket key
 * and registry) and fails over to it, as the real agent does, whenever a connection fails or is
 * lost: the next attempt goes to the other manager. It resends from what that manager's WELCOME
 * says it has durably, so events the first one journaled without acknowledging reach both.
 * --lost-acks N makes that window certain: when a running connection is lost, its last N
 * acknowledgements count as never received (as when the manager died with them in flight).
 *
 *   agent_sim --host 127.0.0.1 --port 1514 --enroll-port 1515 --ids DIR --agents N
 *             [--password-file F] [--rate EVENTS_PER_AGENT_PER_S] [--seconds S]
 *             [--storm-at S] [--threads T] [--no-resume] [--port2 P [--lost-acks N]]
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
    bool second;       /* the next connection goes to --port2 */
    uint64_t next_seq; /* the next event gets this number */
    uint64_t sent;     /* highest sequence number sent on this connection */
    uint64_t acked;
    double credit;
    int64_t retry_at, last_ka;
    int backoff_ms;
    bool welcomed_once;
    SSL_SESSION *resume; /* the last session, offered on the next connection */
    struct tld_sb out;
    size_t out_off;
    uint8_t hdr[8];
    size_t hdr_got, len, got;
    char body[4096];
};

struct sim {
    const char *host, *ids, *password_file;
    unsigned port, port2, enroll_port, n, nthreads;
    uint64_t lost_acks;
    double rate;
    int seconds, storm_at;
    bool resume;
    SSL_CTX *ctx;
    struct agent *a;
    /* Phases end for every worker at once (a worker that stopped early would leave its agents
     * without keepalives while the others finish): agents running, workers drained. */
    atomic_uint running_all, drained_workers;
    unsigned nworkers;
};

/* One thread's share of the agents [lo, hi), with its own epoll set and counters. */
struct worker {
    struct sim *s;
    unsigned lo, hi;
    int ep;
    unsigned running;
    uint64_t welcomes, reconnects, errors, resumed, handshakes;
    /* a storm: started by the simulator (storm_at) or by the manager going away (the first
     * running agent lost in the traffic phase); done when all of this worker's agents run */
    int64_t storm_start, storm_done;
    bool in_traffic;
    bool drained; /* counted in sim.drained_workers */
    /* the phase this worker runs (set by the main thread before starting it) */
    int64_t until, storm_at;
    bool generate;
    int stop;
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

static void watch(struct worker *w, struct agent *a, unsigned events, int op)
{
    struct epoll_event e = {.events = events, .data.u32 = a->idx};
    epoll_ctl(w->ep, op, a->fd, &e);
}

static void drop(struct worker *w, struct agent *a, bool count_error)
{
    /* --lost-acks: the last acknowledgements of a lost connection count as never received, so
     * the next manager gets those events again (the first one analysed them too). */
    if (a->st == A_RUN && w->s->port2 && w->s->lost_acks)
        a->acked = a->acked > w->s->lost_acks ? a->acked - w->s->lost_acks : 0;
    if (a->ssl)
        SSL_free(a->ssl);
    if (a->fd >= 0)
        close(a->fd);
    a->ssl = NULL;
    a->fd = -1;
    if (a->st == A_RUN) {
        w->running--;
        atomic_fetch_sub(&w->s->running_all, 1);
        if (w->in_traffic && !count_error && !w->storm_start)
            w->storm_start = now_ns(); /* the manager went away */
    }
    a->st = A_WAIT;
    if (w->s->port2)
        a->second = !a->second; /* fail over to the other manager */
    tld_sb_reset(&a->out);
    a->out_off = a->hdr_got = a->got = a->len = 0;
    /* Back-off with jitter and a cap, so a restarted manager is not stampeded. */
    a->backoff_ms = a->backoff_ms ? a->backoff_ms * 2 : 200;
    if (a->backoff_ms > 5000)
        a->backoff_ms = 5000;
    a->retry_at = now_ns() + (int64_t)(rand() % a->backoff_ms) * 1000000;
    if (count_error)
        w->errors++;
}

static void start_connect(struct worker *w, struct agent *a)
{
    struct sim *s = w->s;
    a->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(a->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in src = {.sin_family = AF_INET};
    src.sin_addr.s_addr = htonl(0x7f010000u + 256 * (a->idx / 250) + 1 + a->idx % 250);
    bind(a->fd, (struct sockaddr *)&src, sizeof src);
    struct sockaddr_in dst = {.sin_family = AF_INET,
                              .sin_port = htons((uint16_t)(a->second ? s->port2 : s->port))};
    inet_pton(AF_INET, s->host, &dst.sin_addr);
    if (connect(a->fd, (struct sockaddr *)&dst, sizeof dst) != 0 && errno != EINPROGRESS) {
        drop(w, a, true);
        return;
    }
    a->ssl = SSL_new(s->ctx);
    SSL_use_certificate(a->ssl, a->cert);
    SSL_use_PrivateKey(a->ssl, a->key);
    SSL_set_fd(a->ssl, a->fd);
    if (a->resume) {
        /* a copy: a failed handshake marks the session it offered unusable */
        SSL_SESSION *copy = SSL_SESSION_dup(a->resume);
        if (copy)
            SSL_set_session(a->ssl, copy);
        SSL_SESSION_free(copy);
    }
    SSL_set_connect_state(a->ssl);
    a->st = A_CONNECTING;
    watch(w, a, EPOLLOUT, EPOLL_CTL_ADD);
}

static void queue_frame(struct agent *a, unsigned type, const struct tld_sb *payload)
{
    uint8_t h[TLD_PROTO_HEADER];
    tld_proto_header_put(h, type, payload->n);
    tld_sb_append(&a->out, h, sizeof h);
    tld_sb_append(&a->out, payload->p, payload->n);
}

/* Write what is queued; false on a failure (the agent was dropped). */
static bool flush_out(struct worker *w, struct agent *a)
{
    while (a->out_off < a->out.n) {
        size_t put = 0;
        ERR_clear_error();
        if (SSL_write_ex(a->ssl, a->out.p + a->out_off, a->out.n - a->out_off, &put) != 1) {
            int e = SSL_get_error(a->ssl, 0);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                watch(w, a, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
                return true;
            }
            drop(w, a, true);
            return false;
        }
        a->out_off += put;
    }
    tld_sb_reset(&a->out);
    a->out_off = 0;
    watch(w, a, EPOLLIN, EPOLL_CTL_MOD);
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

/* Keep a copy of the session (its ticket came before WELCOME): a drop without close_notify
 * makes OpenSSL mark the connection's own session unusable. */
static void keep_session(struct worker *w, struct agent *a)
{
    SSL_SESSION *sess = w->s->resume ? SSL_get1_session(a->ssl) : NULL;
    SSL_SESSION *copy = sess && SSL_SESSION_is_resumable(sess) ? SSL_SESSION_dup(sess) : NULL;
    SSL_SESSION_free(sess);
    if (copy) {
        SSL_SESSION_free(a->resume);
        a->resume = copy;
    }
}

static void on_message(struct worker *w, struct agent *a, unsigned type)
{
    uint64_t v = 0;
    switch (type) {
    case TLD_MSG_WELCOME: {
        struct tld_msg_welcome wm;
        if (tld_msg_welcome_get(a->body, a->len, &wm) != 0) {
            drop(w, a, true);
            return;
        }
        /* Resend from what the manager has durably. */
        a->acked = wm.last_seq > a->acked ? wm.last_seq : a->acked;
        a->sent = a->acked;
        a->st = A_RUN;
        a->backoff_ms = 0;
        keep_session(w, a);
        a->last_ka = now_ns();
        w->running++;
        atomic_fetch_add(&w->s->running_all, 1);
        w->welcomes++;
        if (a->welcomed_once)
            w->reconnects++;
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
        drop(w, a, type != TLD_MSG_ERROR);
        return;
    }
}

static void read_frames(struct worker *w, struct agent *a)
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
                drop(w, a, false);
            return;
        }
        if (a->hdr_got < 8) {
            a->hdr_got += got;
            unsigned type;
            if (a->hdr_got == 8 &&
                tld_proto_header_parse(a->hdr, 8, sizeof a->body, &type, &a->len) != 0) {
                drop(w, a, true);
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
        on_message(w, a, type);
        if (a->st == A_WAIT)
            return;
    }
}

static void serve(struct worker *w, struct agent *a, unsigned events)
{
    if (a->st == A_CONNECTING) {
        int err = 0;
        socklen_t l = sizeof err;
        getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err || (events & (EPOLLERR | EPOLLHUP))) {
            drop(w, a, true);
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
                watch(w, a, EPOLLIN, EPOLL_CTL_MOD);
            else if (e == SSL_ERROR_WANT_WRITE)
                watch(w, a, EPOLLOUT, EPOLL_CTL_MOD);
            else
                drop(w, a, true);
            return;
        }
        a->st = A_HELLO;
        w->handshakes++;
        w->resumed += SSL_session_reused(a->ssl) == 1;
        send_hello(a);
        if (!flush_out(w, a))
            return;
    }
    if ((events & EPOLLOUT) && !flush_out(w, a))
        return;
    read_frames(w, a);
}

/* ---- the run --------------------------------------------------------------------------------- */

static uint64_t sum(const struct sim *s, unsigned lo, unsigned hi, bool acked)
{
    uint64_t t = 0;
    for (unsigned i = lo; i < hi; i++)
        t += acked ? s->a[i].acked : s->a[i].next_seq - 1;
    return t;
}

static void tick(struct worker *w, int64_t now, double dt)
{
    struct sim *s = w->s;
    for (unsigned i = w->lo; i < w->hi; i++) {
        struct agent *a = &s->a[i];
        if (a->st == A_WAIT && now >= a->retry_at) {
            start_connect(w, a);
            continue;
        }
        if (a->st != A_RUN)
            continue;
        if (w->generate) {
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
            flush_out(w, a);
    }
}

static void storm(struct worker *w)
{
    for (unsigned i = w->lo; i < w->hi; i++) {
        struct agent *a = &w->s->a[i];
        if (a->st != A_WAIT) {
            drop(w, a, false);
            a->backoff_ms = 0;
            a->retry_at = now_ns() + (int64_t)(rand() % 1000) * 1000000;
        }
    }
}

enum stop_when { RUN_TO_DEADLINE, UNTIL_ALL_RUNNING, UNTIL_DRAINED };

static void *run_loop(void *arg)
{
    struct worker *w = arg;
    unsigned mine = w->hi - w->lo;
    struct epoll_event ev[512];
    int64_t last = now_ns();
    while (now_ns() < w->until) {
        int n = epoll_wait(w->ep, ev, 512, 20);
        for (int i = 0; i < n; i++)
            serve(w, &w->s->a[ev[i].data.u32], ev[i].events);
        int64_t now = now_ns();
        if (now - last >= 100000000) {
            tick(w, now, (double)(now - last) / 1e9);
            last = now;
        }
        if (w->storm_at && now >= w->storm_at) {
            w->storm_at = 0;
            w->storm_start = now;
            storm(w);
        }
        if (w->storm_start && !w->storm_done && w->running == mine)
            w->storm_done = now;
        if (w->stop == UNTIL_ALL_RUNNING && atomic_load(&w->s->running_all) == w->s->n)
            break;
        if (w->stop == UNTIL_DRAINED) {
            bool drained = w->running == mine &&
                           sum(w->s, w->lo, w->hi, true) == sum(w->s, w->lo, w->hi, false);
            if (drained != w->drained) {
                w->drained = drained;
                if (drained)
                    atomic_fetch_add(&w->s->drained_workers, 1);
                else
                    atomic_fetch_sub(&w->s->drained_workers, 1);
            }
            if (atomic_load(&w->s->drained_workers) == w->s->nworkers)
                break;
        }
    }
    return NULL;
}

/* Run one phase on every worker until `until` (or its stop condition) and wait for them all. */
static void phase(struct worker *ws, unsigned nw, int64_t until, bool generate, int64_t storm_at,
                  int stop)
{
    pthread_t th[64];
    for (unsigned i = 0; i < nw; i++) {
        ws[i].until = until;
        ws[i].generate = generate;
        ws[i].storm_at = storm_at;
        ws[i].stop = stop;
        ws[i].in_traffic = stop == RUN_TO_DEADLINE;
        pthread_create(&th[i], NULL, run_loop, &ws[i]);
    }
    for (unsigned i = 0; i < nw; i++)
        pthread_join(th[i], NULL);
}

static unsigned running_total(const struct worker *ws, unsigned nw)
{
    unsigned t = 0;
    for (unsigned i = 0; i < nw; i++)
        t += ws[i].running;
    return t;
}

/* Seconds from the first worker's storm start to the last worker's recovery; -1: not back; 0:
 * no storm. */
static double storm_seconds(const struct worker *ws, unsigned nw)
{
    int64_t start = 0, done = 0;
    for (unsigned i = 0; i < nw; i++) {
        if (!ws[i].storm_start)
            continue;
        if (!ws[i].storm_done)
            return -1;
        if (!start || ws[i].storm_start < start)
            start = ws[i].storm_start;
        if (ws[i].storm_done > done)
            done = ws[i].storm_done;
    }
    return start ? (double)(done - start) / 1e9 : 0;
}

#define WORKER_SUM(ws, nw, field)                                                                  \
    ({                                                                                             \
        uint64_t t_ = 0;                                                                           \
        for (unsigned i_ = 0; i_ < (nw); i_++)                                                     \
            t_ += (ws)[i_].field;                                                                  \
        t_;                                                                                        \
    })

static void usage(void)
{
    fprintf(stderr, "usage: agent_sim --port P --enroll-port P --ids DIR --agents N [--host H] "
                    "[--password-file F] [--rate R] [--seconds S] [--storm-at S] [--port2 P]"
                    " [--lost-acks N]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct sim s = {.host = "127.0.0.1", .rate = 10, .seconds = 30, .resume = true};
    static const struct option opts[] = {
        {"host", 1, NULL, 'h'},        {"port", 1, NULL, 'p'},
        {"enroll-port", 1, NULL, 'e'}, {"ids", 1, NULL, 'i'},
        {"agents", 1, NULL, 'n'},      {"password-file", 1, NULL, 'w'},
        {"rate", 1, NULL, 'r'},        {"seconds", 1, NULL, 's'},
        {"storm-at", 1, NULL, 't'},    {"threads", 1, NULL, 'T'},
        {"no-resume", 0, NULL, 'R'},   {"port2", 1, NULL, 'P'},
        {"lost-acks", 1, NULL, 'L'},   {0, 0, 0, 0}};
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
        case 'T':
            s.nthreads = (unsigned)atoi(optarg);
            break;
        case 'R':
            s.resume = false;
            break;
        case 'P':
            s.port2 = (unsigned)atoi(optarg);
            break;
        case 'L':
            s.lost_acks = (uint64_t)atoi(optarg);
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
    unsigned nw = s.nthreads ? s.nthreads : 2;
    if (nw > 64 || nw > s.n)
        nw = s.n < 64 ? s.n : 64;
    struct worker *ws = calloc(nw, sizeof *ws);
    s.nworkers = nw;
    for (unsigned i = 0; i < nw; i++) {
        ws[i].s = &s;
        ws[i].lo = (unsigned)((uint64_t)s.n * i / nw);
        ws[i].hi = (unsigned)((uint64_t)s.n * (i + 1) / nw);
        ws[i].ep = epoll_create1(EPOLL_CLOEXEC);
    }
    /* Everyone connects (idle), then traffic, an optional storm, then a drain. */
    int64_t t0 = now_ns();
    phase(ws, nw, t0 + 180000000000LL, false, 0, UNTIL_ALL_RUNNING);
    double connect_s = (double)(now_ns() - t0) / 1e9;
    unsigned connected = running_total(ws, nw);
    uint64_t full0 = WORKER_SUM(ws, nw, handshakes) - WORKER_SUM(ws, nw, resumed);
    printf("{\"phase\":\"connected\",\"agents\":%u,\"seconds\":%.2f,\"sim_threads\":%u}\n",
           connected, connect_s, nw);
    fflush(stdout);
    sleep(3); /* idle: the caller measures the manager's memory per idle agent now */
    struct rusage ru0;
    getrusage(RUSAGE_SELF, &ru0); /* the simulator's own CPU from here on is reported */
    uint64_t acked0 = sum(&s, 0, s.n, true);
    int64_t t1 = now_ns();
    int64_t storm_at = s.storm_at ? t1 + (int64_t)s.storm_at * 1000000000 : 0;
    phase(ws, nw, t1 + (int64_t)s.seconds * 1000000000, true, storm_at, RUN_TO_DEADLINE);
    double traffic_s = (double)(now_ns() - t1) / 1e9;
    uint64_t acked1 = sum(&s, 0, s.n, true);
    /* Drain: every event generated acknowledged (agents a storm left behind reconnect). */
    phase(ws, nw, now_ns() + 180000000000LL, false, 0, UNTIL_DRAINED);
    uint64_t generated = sum(&s, 0, s.n, false), acked = sum(&s, 0, s.n, true);
    uint64_t resumed = WORKER_SUM(ws, nw, resumed);
    uint64_t full = WORKER_SUM(ws, nw, handshakes) - resumed;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)(ru.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru.ru_stime.tv_sec -
                          ru0.ru_stime.tv_sec) +
                 (double)(ru.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru.ru_stime.tv_usec -
                          ru0.ru_stime.tv_usec) /
                     1e6;
    double run_s = (double)(now_ns() - t1) / 1e9;
    printf("{\"agents\":%u,\"connected\":%u,\"connect_seconds\":%.2f,\"enrolled\":%u,"
           "\"enroll_seconds\":%.2f,\"traffic_seconds\":%.1f,\"acked_per_second\":%.0f,"
           "\"generated\":%" PRIu64 ",\"acknowledged\":%" PRIu64 ",\"lost\":%" PRIu64
           ",\"reconnects\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"storm_recovery_seconds\":%.2f,"
           "\"handshakes_full\":%" PRIu64 ",\"handshakes_resumed\":%" PRIu64
           ",\"full_after_connect\":%" PRIu64 ",\"sim_threads\":%u,\"sim_rss_kb\":%ld,"
           "\"sim_cpu_seconds\":%.1f,\"run_seconds\":%.1f}\n",
           s.n, connected, connect_s, enrolled, enroll_s, traffic_s,
           (double)(acked1 - acked0) / traffic_s, generated, acked, generated - acked,
           WORKER_SUM(ws, nw, reconnects), WORKER_SUM(ws, nw, errors), storm_seconds(ws, nw), full,
           resumed, full - full0, nw, ru.ru_maxrss, cpu, run_s);
    return generated == acked ? 0 : 1;
}
