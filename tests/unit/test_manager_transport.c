/*
 * Unit tests for the transport: the agent's forwarder and the manager's receiver over mutual
 * TLS on 127.0.0.1, with the intake journal behind the receiver. Events arrive once and in
 * order, across manager restarts and lost acknowledgements; refused identities (no
 * certificate, another CA, removed agent) and plaintext never get a session.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/enroll_client.h"
#include "agent/forwarder.h"
#include "collect/spool.h"
#include "collect/spool_id.h"
#include "common/deadline.h"
#include "common/err.h"
#include "common/evrec.h"
#include "common/net.h"
#include "common/pki.h"
#include "common/tls.h"
#include "manager/agents.h"
#include "manager/enroll_server.h"
#include "manager/journal.h"
#include "manager/receiver.h"

struct fx {
    char root[256], ca_dir[300], tls_dir[300], spool_dir[300], jdir[300];
    struct tld_log log;
    struct tld_agents *agents;
    struct tld_journal *journal;
    struct tld_receiver *recv;
    unsigned port;
    struct tld_spool *spool;
    struct tld_forwarder *fwd;
    pthread_t fwd_thread;
    bool fwd_running;
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void start_receiver(struct fx *f, unsigned port)
{
    char why[TLD_WHY_MAX];
    struct tld_receiver_opts o = {.host = "127.0.0.1",
                                  .port = port,
                                  .ca_dir = f->ca_dir,
                                  .agents = f->agents,
                                  .journal = f->journal,
                                  .log = &f->log,
                                  .keepalive_s = 1,
                                  .max_batch_events = 100};
    assert_int_equal(tld_receiver_new(&o, &f->recv, why), 0);
    f->port = tld_receiver_port(f->recv);
    assert_int_equal(tld_receiver_start(f->recv), 0);
}

static void stop_receiver(struct fx *f)
{
    tld_receiver_free(f->recv);
    f->recv = NULL;
}

/* Enroll agent "edge" through a temporary enrollment server. */
static void enroll_agent(struct fx *f, const char *name)
{
    char why[TLD_WHY_MAX];
    struct tld_enroll_opts eo = {.host = "127.0.0.1",
                                 .ca_dir = f->ca_dir,
                                 .agents = f->agents,
                                 .rate_requests = 100,
                                 .rate_period_s = 60,
                                 .cert_days = 30,
                                 .log = &f->log};
    struct tld_enroll_server *es;
    assert_int_equal(tld_enroll_server_new(&eo, &es, why), 0);
    assert_int_equal(tld_enroll_server_start(es), 0);
    struct tld_enroll_client_opts co = {
        "127.0.0.1", tld_enroll_server_port(es), name, NULL, f->tls_dir, NULL, 20000, -1};
    struct tld_enroll_client_result res;
    assert_int_equal(tld_enroll_client_run(&co, &res), 0);
    tld_enroll_server_free(es);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/tld-test-transport-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->ca_dir, sizeof f->ca_dir, "%s/ca", f->root);
    snprintf(f->tls_dir, sizeof f->tls_dir, "%s/agent-tls", f->root);
    snprintf(f->spool_dir, sizeof f->spool_dir, "%s/spool", f->root);
    snprintf(f->jdir, sizeof f->jdir, "%s/intake", f->root);
    tld_log_init(&f->log, "test", stderr,
                 getenv("TLD_TEST_LOG") ? TLD_LOG_DEBUG : TLD_LOG_ERROR + 1);
    bool created;
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_pki_ca_ensure(f->ca_dir, "localhost", &created, why), 0);
    assert_int_equal(tld_agents_open(f->root, 100, &f->agents, why), 0);
    struct tld_journal_opts jo = {f->jdir, 64u << 20, 0, 0, &f->log};
    assert_int_equal(tld_journal_open(&jo, &f->journal), 0);
    struct tld_spool_opts so = {.dir = f->spool_dir, .max_bytes = 16u << 20};
    assert_int_equal(tld_spool_open(&so, &f->spool), 0);
    *state = f;
    return 0;
}

static void stop_forwarder(struct fx *f)
{
    if (f->fwd_running) {
        tld_forwarder_stop(f->fwd);
        pthread_join(f->fwd_thread, NULL);
        f->fwd_running = false;
    }
    tld_forwarder_free(f->fwd);
    f->fwd = NULL;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    stop_forwarder(f);
    stop_receiver(f);
    tld_spool_close(f->spool);
    tld_journal_close(f->journal);
    tld_agents_close(f->agents);
    tld_log_fini(&f->log);
    nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void *fwd_main(void *arg)
{
    tld_forwarder_run(arg);
    return NULL;
}

static void start_forwarder(struct fx *f)
{
    struct tld_forwarder_opts o = {.spool = f->spool,
                                   .spool_dir = f->spool_dir,
                                   .servers = {{"127.0.0.1", f->port}},
                                   .nservers = 1,
                                   .tls_dir = f->tls_dir,
                                   .log = &f->log,
                                   .window = 4,
                                   .backoff_max_ms = 200};
    assert_int_equal(tld_forwarder_new(&o, &f->fwd), 0);
    assert_int_equal(pthread_create(&f->fwd_thread, NULL, fwd_main, f->fwd), 0);
    f->fwd_running = true;
}

static void push(struct fx *f, unsigned from, unsigned n)
{
    for (unsigned i = from; i < from + n; i++) {
        char text[64];
        snprintf(text, sizeof text, "event number %u", i);
        struct tld_evrec r = {.queue = '1',
                              .location = TLD_SV_LIT("/var/log/test.log"),
                              .text = tld_sv_of(text),
                              .read_time_ns = 1};
        assert_int_equal(tld_spool_push(f->spool, &r, 0, NULL), 0);
    }
    assert_int_equal(tld_spool_commit(f->spool), 0);
}

static void wait_acked(struct fx *f, uint64_t seq)
{
    for (int i = 0; i < 3000; i++) {
        struct tld_spool_stats st;
        tld_spool_stats(f->spool, &st);
        if (st.acked_seq >= seq)
            return;
        usleep(10000);
    }
    fail_msg("spool not acknowledged up to %llu", (unsigned long long)seq);
}

/* Every journal record from index 1 is agent 1's event number k, k = 1.. in order. */
static void check_journal(struct fx *f, unsigned n)
{
    struct tld_journal_rec r;
    for (unsigned k = 1; k <= n; k++) {
        assert_int_equal(tld_journal_next(f->journal, k, &r, 2000), 0);
        assert_int_equal(r.agent, 1);
        assert_int_equal(r.seq, k);
        assert_true(tld_sv_eq_cstr(r.ip, "127.0.0.1"));
        struct tld_evrec ev;
        struct tld_evrec_labels *labels = malloc(sizeof *labels);
        assert_int_equal(tld_evrec_decode(r.record.p, r.record.n, &ev, labels), 0);
        char want[64];
        snprintf(want, sizeof want, "event number %u", k);
        assert_true(tld_sv_eq_cstr(ev.text, want));
        free(labels);
    }
    assert_int_equal(tld_journal_next(f->journal, n + 1, &r, 100), TLD_ETIMEOUT);
}

static void events_once_across_restarts(void **state)
{
    struct fx *f = *state;
    enroll_agent(f, "edge");
    start_receiver(f, 0);
    push(f, 1, 250);
    start_forwarder(f);
    wait_acked(f, 250);
    struct tld_agent_info a;
    assert_int_equal(tld_agents_get(f->agents, 1, &a), 0);
    assert_int_equal(a.status, TLD_AGENT_ACTIVE);
    assert_string_equal(a.peer_ip, "127.0.0.1");

    /* Manager goes away; events keep coming into the spool; it comes back on the same port. */
    unsigned port = f->port;
    stop_receiver(f);
    assert_int_equal(tld_agents_get(f->agents, 1, &a), 0);
    assert_int_equal(a.status, TLD_AGENT_DISCONNECTED);
    push(f, 251, 300);
    usleep(300000);
    start_receiver(f, port);
    wait_acked(f, 550);

    /* The acknowledgement file of the spool is behind (as after an agent crash): the
     * forwarder restarts from an older point, the manager tells it what it has, nothing is
     * journaled twice. */
    stop_forwarder(f);
    tld_spool_close(f->spool);
    struct tld_spool_opts so = {.dir = f->spool_dir, .max_bytes = 16u << 20};
    assert_int_equal(tld_spool_open(&so, &f->spool), 0);
    push(f, 551, 50);
    start_forwarder(f);
    wait_acked(f, 600);
    check_journal(f, 600);
    struct tld_receiver_stats rs;
    tld_receiver_stats(f->recv, &rs);
    assert_int_equal(rs.refused, 0);
    assert_int_equal(rs.tls_failures, 0);
}

/* The agent's spool is recreated but its stream id survives (e.g. restored from a backup): the
 * manager knows more of that stream than the spool holds. The forwarder must start a new stream
 * rather than have its new events dropped as duplicates. */
static void spool_behind_manager_gets_new_stream(void **state)
{
    struct fx *f = *state;
    enroll_agent(f, "restored");
    start_receiver(f, 0);
    push(f, 1, 20);
    start_forwarder(f);
    wait_acked(f, 20);
    stop_forwarder(f);
    tld_spool_close(f->spool);
    /* A fresh spool in the same directory, stream.id kept. */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "cd %s && find . -type f ! -name stream.id -delete", f->spool_dir);
    assert_int_equal(system(cmd), 0);
    uint64_t before;
    assert_int_equal(tld_spool_stream_id(f->spool_dir, false, &before), 0);
    struct tld_spool_opts so = {.dir = f->spool_dir, .max_bytes = 16u << 20};
    assert_int_equal(tld_spool_open(&so, &f->spool), 0);
    push(f, 1, 5); /* seq 1..5 again */
    start_forwarder(f);
    wait_acked(f, 5);
    uint64_t after;
    assert_int_equal(tld_spool_stream_id(f->spool_dir, false, &after), 0);
    assert_true(after != before);
    /* All 25 events are in the journal: 20 of the old stream, 5 of the new one. */
    struct tld_journal_rec r;
    assert_int_equal(tld_journal_next(f->journal, 25, &r, 2000), 0);
    assert_int_equal(r.stream, after);
    assert_int_equal(r.seq, 5);
    assert_int_equal(tld_journal_next(f->journal, 26, &r, 100), TLD_ETIMEOUT);
}

static void removed_agent_refused(void **state)
{
    struct fx *f = *state;
    enroll_agent(f, "gone");
    start_receiver(f, 0);
    push(f, 1, 10);
    start_forwarder(f);
    wait_acked(f, 10);
    /* Remove while connected: the session is closed and reconnects are refused. */
    assert_int_equal(tld_agents_remove(f->agents, 1), 0);
    tld_receiver_kick(f->recv, 1);
    push(f, 11, 5);
    for (int i = 0; i < 300; i++) {
        struct tld_forwarder_stats fs;
        tld_forwarder_stats(f->fwd, &fs);
        if (fs.refusals)
            break;
        usleep(10000);
    }
    struct tld_forwarder_stats fs;
    tld_forwarder_stats(f->fwd, &fs);
    assert_true(fs.refusals >= 1);
    struct tld_receiver_stats rs;
    tld_receiver_stats(f->recv, &rs);
    assert_true(rs.refused >= 1);
    struct tld_spool_stats ss;
    tld_spool_stats(f->spool, &ss);
    assert_int_equal(ss.acked_seq, 10);
}

/* A TLS client with the given identity (NULL: none): handshake and read one frame. */
static int try_client(struct fx *f, const char *cert, const char *key, char why[TLD_WHY_MAX])
{
    char ca[400];
    snprintf(ca, sizeof ca, "%s/ca.crt", f->ca_dir);
    struct tld_tls_ctx_opts o = {.cert_file = cert, .key_file = key, .ca_file = ca};
    struct tld_tls_ctx *ctx;
    assert_int_equal(tld_tls_ctx_new(&o, &ctx, why), 0);
    int fd;
    assert_int_equal(tld_net_connect("127.0.0.1", f->port, 5000, -1, &fd), 0);
    struct tld_tls_conn *c = NULL;
    int rc = tld_tls_connect(ctx, fd, -1, 5000, &c, why);
    if (rc == 0) {
        /* TLS 1.3: the client learns of a refused certificate on its first read. */
        unsigned type;
        struct tld_sv p;
        rc = tld_tls_recv_frame(c, &type, &p, 65536, 1500);
        if (rc == 0 && type == TLD_MSG_ERROR)
            rc = TLD_EAUTH;
    }
    tld_tls_close(c);
    tld_tls_ctx_free(ctx);
    return rc;
}

/* One connection offering `ctx`'s session: whether it resumed, and the first frame's verdict
 * (0: none within the wait, the agent may speak; TLD_EAUTH: refused). The session is kept. */
static int resume_once(struct fx *f, struct tld_tls_ctx *ctx, bool *resumed,
                       struct tld_tls_session **keep)
{
    char why[TLD_WHY_MAX];
    int fd;
    assert_int_equal(tld_net_connect("127.0.0.1", f->port, 5000, -1, &fd), 0);
    struct tld_tls_conn *c = NULL;
    assert_int_equal(tld_tls_connect(ctx, fd, -1, 5000, &c, why), 0);
    *resumed = tld_tls_resumed(c);
    unsigned type;
    struct tld_sv p;
    int rc = tld_tls_recv_frame(c, &type, &p, 65536, 500);
    if (rc == TLD_ETIMEOUT)
        rc = 0; /* waiting for our HELLO: accepted */
    else if (rc == 0 && type == TLD_MSG_ERROR)
        rc = TLD_EAUTH;
    *keep = tld_tls_session_get(c);
    tld_tls_close(c);
    return rc;
}

/* A reconnect resumes its TLS session (no certificate exchange), and a removed agent is refused
 * on a resumed session as on a full one: the registry check runs after every handshake. */
static void resumed_session_still_checked(void **state)
{
    struct fx *f = *state;
    enroll_agent(f, "res");
    start_receiver(f, 0);
    char ca[400], cert[400], key[400], why[TLD_WHY_MAX];
    snprintf(ca, sizeof ca, "%s/ca.crt", f->ca_dir);
    snprintf(cert, sizeof cert, "%s/agent.crt", f->tls_dir);
    snprintf(key, sizeof key, "%s/agent.key", f->tls_dir);
    struct tld_tls_ctx_opts o = {.cert_file = cert, .key_file = key, .ca_file = ca};
    struct tld_tls_ctx *ctx;
    assert_int_equal(tld_tls_ctx_new(&o, &ctx, why), 0);
    bool resumed;
    struct tld_tls_session *sess;
    assert_int_equal(resume_once(f, ctx, &resumed, &sess), 0);
    assert_false(resumed);
    assert_non_null(sess);
    tld_tls_ctx_offer(ctx, sess);
    tld_tls_session_free(sess);
    assert_int_equal(resume_once(f, ctx, &resumed, &sess), 0);
    assert_true(resumed);
    tld_tls_session_free(sess);
    /* the ticket key is in the CA directory: a restarted manager (or another of the fleet
     * sharing the directory) resumes too */
    stop_receiver(f);
    start_receiver(f, 0);
    assert_int_equal(resume_once(f, ctx, &resumed, &sess), 0);
    assert_true(resumed);
    tld_tls_session_free(sess);
    assert_int_equal(tld_agents_remove(f->agents, 1), 0);
    assert_int_equal(resume_once(f, ctx, &resumed, &sess), TLD_EAUTH);
    assert_true(resumed);
    tld_tls_session_free(sess);
    tld_tls_ctx_free(ctx);
}

static void bad_identities_refused(void **state)
{
    struct fx *f = *state;
    start_receiver(f, 0);
    char why[TLD_WHY_MAX];
    /* No certificate. */
    assert_int_not_equal(try_client(f, NULL, NULL, why), 0);
    /* A certificate from another CA, with an id that exists here. */
    enroll_agent(f, "real");
    char other[300];
    snprintf(other, sizeof other, "%s/other", f->root);
    bool created;
    char pwhy[256];
    assert_int_equal(tld_pki_ca_ensure(other, "x", &created, pwhy), 0);
    struct tld_pki_ca oca;
    assert_int_equal(tld_pki_ca_load(other, &oca, pwhy), 0);
    EVP_PKEY *k;
    assert_int_equal(tld_pki_key_new(&k), 0);
    struct tld_sb csr, pem;
    tld_sb_init(&csr, 16384);
    tld_sb_init(&pem, 16384);
    assert_int_equal(tld_pki_csr_new(k, "x", &csr), 0);
    uint8_t fp[32];
    assert_int_equal(tld_pki_issue(&oca, tld_sb_view(&csr), "001", 30, &pem, fp, pwhy), 0);
    char cpath[400], kpath[400];
    snprintf(cpath, sizeof cpath, "%s/forged.crt", f->root);
    snprintf(kpath, sizeof kpath, "%s/forged.key", f->root);
    X509 *x;
    assert_int_equal(tld_pki_cert_parse(tld_sb_view(&pem), &x), 0);
    assert_int_equal(tld_pki_cert_save(x, cpath), 0);
    assert_int_equal(tld_pki_key_save(k, kpath), 0);
    X509_free(x);
    EVP_PKEY_free(k);
    tld_pki_ca_fini(&oca);
    tld_sb_fini(&csr);
    tld_sb_fini(&pem);
    assert_int_not_equal(try_client(f, cpath, kpath, why), 0);
    /* The real certificate gets through the handshake (and then waits for HELLO). */
    char rc_[400], rk[400];
    snprintf(rc_, sizeof rc_, "%s/agent.crt", f->tls_dir);
    snprintf(rk, sizeof rk, "%s/agent.key", f->tls_dir);
    assert_int_equal(try_client(f, rc_, rk, why), TLD_ETIMEOUT);

    /* Plaintext: the server answers with a TLS alert or closes; it never hangs or crashes. */
    int fd;
    assert_int_equal(tld_net_connect("127.0.0.1", f->port, 5000, -1, &fd), 0);
    const char hello[] = "TL\x01\x01\x00\x00\x00\x00";
    assert_int_equal(send(fd, hello, 8, MSG_NOSIGNAL), 8);
    char buf[256];
    assert_int_equal(tld_net_wait(fd, POLLIN, tld_deadline_in(5000), -1), 0);
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    /* An alert record at most, then EOF -- or a reset, since our bytes were left unread. */
    assert_true((n >= 0 && n < 64) || (n < 0 && errno == ECONNRESET));
    close(fd);

    struct tld_receiver_stats rs;
    for (int i = 0; i < 100; i++) {
        tld_receiver_stats(f->recv, &rs);
        if (rs.tls_failures >= 3)
            break;
        usleep(10000);
    }
    assert_int_equal(rs.tls_failures, 3);
    assert_int_equal(rs.sessions, 0);
}

int main(void)
{
    /* As in the daemons: a peer that went away is an error code, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(events_once_across_restarts, setup, teardown),
        cmocka_unit_test_setup_teardown(spool_behind_manager_gets_new_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(removed_agent_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_identities_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(resumed_session_still_checked, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
