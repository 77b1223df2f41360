/*
 * Unit tests for enrollment: PKI helpers (CA, requests, password hashes), the agent registry,
 * and the enrollment server with the real client over TLS on 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/enroll_client.h"
#include "common/err.h"
#include "common/pki.h"
#include "manager/agents.h"
#include "manager/enroll_server.h"
#include "manager/lockout.h"

struct fx {
    char root[256];
    char ca_dir[300];
    char tls_dir[300];
    struct tld_agents *agents;
    struct tld_enroll_server *srv;
    struct tld_log log;
    char events[16][512];
    unsigned nevents;
    unsigned lockout_failures, lockout_global_failures; /* for start_server; 0: none */
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void capture(void *ctx, struct tld_sv text)
{
    struct fx *f = ctx;
    if (f->nevents < 16)
        snprintf(f->events[f->nevents++], 512, "%.*s", (int)text.n, text.p);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/tld-test-enroll-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->ca_dir, sizeof f->ca_dir, "%s/ca", f->root);
    snprintf(f->tls_dir, sizeof f->tls_dir, "%s/agent-tls", f->root);
    tld_log_init(&f->log, "test", stderr, TLD_LOG_ERROR);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tld_enroll_server_free(f->srv);
    tld_agents_close(f->agents);
    tld_log_fini(&f->log);
    nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Start a server with the given password (NULL: none), force flag and rate limit. */
static void start_server(struct fx *f, const char *password, bool force, unsigned rate)
{
    bool created;
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_pki_ca_ensure(f->ca_dir, "manager.test", &created, why), 0);
    if (!f->agents)
        assert_int_equal(tld_agents_open(f->root, 100, &f->agents, why), 0);
    static char hash[200];
    if (password)
        assert_int_equal(tld_pki_password_hash(tld_sv_of(password), hash), 0);
    struct tld_enroll_opts o = {
        .host = "127.0.0.1",
        .port = 0,
        .ca_dir = f->ca_dir,
        .agents = f->agents,
        .password_hash = password ? hash : NULL,
        .force = force,
        .rate_requests = rate,
        .rate_period_s = 3600,
        .cert_days = 30,
        .global_rate = 1000,
        .lockout_failures = f->lockout_failures,
        .lockout_global_failures = f->lockout_global_failures,
        .lockout_s = 3600,
        .log = &f->log,
        .own = {capture, f},
    };
    assert_int_equal(tld_enroll_server_new(&o, &f->srv, why), 0);
    assert_int_equal(tld_enroll_server_start(f->srv), 0);
}

static int enroll(struct fx *f, const char *name, const char *password,
                  struct tld_enroll_client_result *res)
{
    struct tld_enroll_client_opts o = {
        .host = "127.0.0.1",
        .port = tld_enroll_server_port(f->srv),
        .name = name,
        .password = password,
        .tls_dir = f->tls_dir,
        .timeout_ms = 20000,
        .cancel_fd = -1,
    };
    return tld_enroll_client_run(&o, res);
}

static void password_hashes(void **state)
{
    char h[200];
    assert_int_equal(tld_pki_password_hash(TLD_SV_LIT("correct horse"), h), 0);
    assert_true(tld_pki_password_is_hash(h));
    assert_true(tld_pki_password_check(h, TLD_SV_LIT("correct horse")));
    assert_false(tld_pki_password_check(h, TLD_SV_LIT("correct hors")));
    assert_false(tld_pki_password_check(h, TLD_SV_LIT("")));
    /* Two hashes of the same password differ (random salt) and both verify. */
    char h2[200];
    assert_int_equal(tld_pki_password_hash(TLD_SV_LIT("correct horse"), h2), 0);
    assert_string_not_equal(h, h2);
    assert_true(tld_pki_password_check(h2, TLD_SV_LIT("correct horse")));
    /* Malformed or hostile parameters never verify. */
    assert_false(tld_pki_password_check("plain", TLD_SV_LIT("plain")));
    assert_false(tld_pki_password_check("$scrypt$N=1073741824,r=8,p=1$00$00", TLD_SV_LIT("x")));
    h[strlen(h) - 1] = h[strlen(h) - 1] == '0' ? '1' : '0';
    assert_false(tld_pki_password_check(h, TLD_SV_LIT("correct horse")));
}

static void ca_created_once_with_private_keys(void **state)
{
    struct fx *f = *state;
    bool created = false;
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_pki_ca_ensure(f->ca_dir, "m", &created, why), 0);
    assert_true(created);
    struct stat st;
    char p[400];
    snprintf(p, sizeof p, "%s/ca.key", f->ca_dir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(p, sizeof p, "%s/manager.key", f->ca_dir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    snprintf(p, sizeof p, "%s/manager.crt", f->ca_dir);
    struct stat before;
    assert_int_equal(stat(p, &before), 0);
    assert_int_equal(tld_pki_ca_ensure(f->ca_dir, "m", &created, why), 0);
    assert_false(created);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_ino, before.st_ino); /* kept, not re-issued */
    /* Half a CA is an error, never silently completed. */
    snprintf(p, sizeof p, "%s/ca.crt", f->ca_dir);
    assert_int_equal(unlink(p), 0);
    assert_int_not_equal(tld_pki_ca_ensure(f->ca_dir, "m", &created, why), 0);
    assert_non_null(strstr(why, "only one of"));
}

static void csr_checks(void **state)
{
    EVP_PKEY *k;
    assert_int_equal(tld_pki_key_new(&k), 0);
    struct tld_sb pem;
    tld_sb_init(&pem, 16384);
    assert_int_equal(tld_pki_csr_new(k, "agent", &pem), 0);
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_pki_csr_check(tld_sb_view(&pem), why), 0);
    /* A flipped byte in the signature part makes the request fail its self-signature (or fail
     * to parse). */
    char *copy = strdup(tld_sb_cstr(&pem));
    size_t n = strlen(copy);
    size_t at = n - 40;
    copy[at] = copy[at] == 'A' ? 'B' : 'A';
    assert_int_not_equal(tld_pki_csr_check(tld_sv_of(copy), why), 0);
    free(copy);
    assert_int_not_equal(tld_pki_csr_check(TLD_SV_LIT("not a request"), why), 0);
    tld_sb_fini(&pem);
    EVP_PKEY_free(k);
}

static void enroll_with_password(void **state)
{
    struct fx *f = *state;
    start_server(f, "s3cret", false, 100);
    struct tld_enroll_client_result r;
    assert_int_equal(enroll(f, "web-01", "s3cret", &r), 0);
    assert_string_equal(r.agent_id, "001");
    assert_string_equal(r.agent_name, "web-01");
    assert_true(tld_enroll_client_have_identity(f->tls_dir));
    char p[400];
    struct stat st;
    snprintf(p, sizeof p, "%s/agent.key", f->tls_dir);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* The certificate names the id and chains to the manager's CA. */
    X509 *cert, *ca;
    snprintf(p, sizeof p, "%s/agent.crt", f->tls_dir);
    assert_int_equal(tld_pki_cert_load(p, &cert), 0);
    snprintf(p, sizeof p, "%s/ca.crt", f->ca_dir);
    assert_int_equal(tld_pki_cert_load(p, &ca), 0);
    char cn[32];
    assert_int_equal(tld_pki_cert_cn(cert, cn, sizeof cn), 0);
    assert_string_equal(cn, "001");
    assert_int_equal(X509_verify(cert, X509_get0_pubkey(ca)), 1);
    /* And the registry accepts exactly that certificate for 001. */
    uint8_t fp[32];
    assert_int_equal(tld_pki_cert_fingerprint(cert, fp), 0);
    unsigned id;
    assert_int_equal(tld_agents_check(f->agents, "001", fp, &id), 0);
    assert_int_equal(id, 1);
    fp[0] ^= 1;
    assert_int_equal(tld_agents_check(f->agents, "001", fp, &id), TLD_EINVAL);
    assert_int_equal(tld_agents_check(f->agents, "002", fp, &id), TLD_ENOTFOUND);
    X509_free(cert);
    X509_free(ca);

    /* Wrong and missing passwords are refused with the reason; nothing is recorded. */
    assert_int_equal(enroll(f, "web-02", "wrong", &r), TLD_EAUTH);
    assert_int_equal(r.code, TLD_PCODE_BAD_PASSWORD);
    assert_int_equal(enroll(f, "web-02", NULL, &r), TLD_EAUTH);
    assert_int_equal(r.code, TLD_PCODE_BAD_PASSWORD);
    /* Duplicate name. */
    assert_int_equal(enroll(f, "web-01", "s3cret", &r), TLD_EAUTH);
    assert_int_equal(r.code, TLD_PCODE_DUPLICATE_NAME);
    assert_non_null(strstr(r.reason, "already enrolled"));
    /* Bad name: refused by the client before sending, and by the server when sent anyway. */
    assert_int_equal(enroll(f, "bad name", "s3cret", &r), TLD_EINVAL);
    /* The next good one gets 002 (refusals consumed no id). */
    assert_int_equal(enroll(f, "web-02", "s3cret", &r), 0);
    assert_string_equal(r.agent_id, "002");

    struct tld_enroll_stats es;
    tld_enroll_server_stats(f->srv, &es);
    assert_int_equal(es.enrolled, 2);
    assert_int_equal(es.bad_password, 2);
    assert_int_equal(es.refused, 3);

    /* Own events: enrolled, refused (x3), enrolled, in order. */
    assert_int_equal(f->nevents, 5);
    assert_non_null(strstr(f->events[0], "\"event\":\"agent_enrolled\""));
    assert_non_null(strstr(f->events[0], "\"id\":\"001\""));
    assert_non_null(strstr(f->events[1], "\"event\":\"enrollment_refused\""));
    assert_non_null(strstr(f->events[1], "bad password"));
    assert_non_null(strstr(f->events[3], "duplicate agent name"));

    /* The registry survives a reopen, with the next id. */
    tld_enroll_server_free(f->srv);
    f->srv = NULL;
    tld_agents_close(f->agents);
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_agents_open(f->root, 100, &f->agents, why), 0);
    struct tld_agent_info a;
    assert_int_equal(tld_agents_get(f->agents, 2, &a), 0);
    assert_string_equal(a.name, "web-02");
    assert_string_equal(a.reg_ip, "127.0.0.1");
    assert_int_equal(a.status, TLD_AGENT_NEVER);
    start_server(f, "s3cret", false, 100);
    assert_int_equal(enroll(f, "web-03", "s3cret", &r), 0);
    assert_string_equal(r.agent_id, "003");
}

static void reenroll_with_force_and_remove(void **state)
{
    struct fx *f = *state;
    start_server(f, NULL, true, 100);
    struct tld_enroll_client_result r;
    assert_int_equal(enroll(f, "db", NULL, &r), 0);
    assert_string_equal(r.agent_id, "001");
    /* Same name again with force: a new id, the old one becomes a tombstone. */
    assert_int_equal(enroll(f, "db", NULL, &r), 0);
    assert_string_equal(r.agent_id, "002");
    struct tld_agent_info a;
    assert_int_equal(tld_agents_get(f->agents, 1, &a), 0);
    assert_true(a.removed);
    unsigned id;
    assert_int_equal(tld_agents_check(f->agents, "001", a.fp, &id), TLD_EAUTH);
    /* Removal through a second registry handle (as the CLI does) is seen by refresh. */
    char why[TLD_WHY_MAX];
    struct tld_agents *other;
    assert_int_equal(tld_agents_open(f->root, 100, &other, why), 0);
    assert_int_equal(tld_agents_remove(other, 2), 0);
    assert_int_equal(tld_agents_remove(other, 2), TLD_ENOTFOUND);
    tld_agents_close(other);
    unsigned removed[4];
    assert_int_equal(tld_agents_refresh(f->agents, removed, 4), 1);
    assert_int_equal(removed[0], 2);
    assert_int_equal(tld_agents_refresh(f->agents, removed, 4), 0);
    assert_int_equal(tld_agents_get(f->agents, 2, &a), 0);
    assert_true(a.removed);
}

static void rate_limited_per_address(void **state)
{
    struct fx *f = *state;
    start_server(f, NULL, false, 2);
    struct tld_enroll_client_result r;
    assert_int_equal(enroll(f, "a1", NULL, &r), 0);
    assert_int_equal(enroll(f, "a2", NULL, &r), 0);
    assert_int_equal(enroll(f, "a3", NULL, &r), TLD_EAUTH);
    assert_int_equal(r.code, TLD_PCODE_RATE_LIMITED);
    struct tld_enroll_stats st;
    tld_enroll_server_stats(f->srv, &st);
    assert_int_equal(st.rate_limited, 1);
}

static void pinned_ca(void **state)
{
    struct fx *f = *state;
    start_server(f, NULL, false, 100);
    /* Pinning the right CA works. */
    char ca[400];
    snprintf(ca, sizeof ca, "%s/ca.crt", f->ca_dir);
    struct tld_enroll_client_opts o = {
        "127.0.0.1", tld_enroll_server_port(f->srv), "pin1", NULL, f->tls_dir, ca, 20000, -1};
    struct tld_enroll_client_result r;
    assert_int_equal(tld_enroll_client_run(&o, &r), 0);
    /* A different CA makes the handshake fail before anything is sent. */
    char other[300];
    snprintf(other, sizeof other, "%s/other-ca", f->root);
    bool created;
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_pki_ca_ensure(other, "x", &created, why), 0);
    char oca[400];
    snprintf(oca, sizeof oca, "%s/ca.crt", other);
    o.ca_file = oca;
    o.name = "pin2";
    assert_int_equal(tld_enroll_client_run(&o, &r), TLD_ETLS);
    assert_non_null(strstr(r.reason, "certificate verify failed"));
    struct tld_agent_info *list;
    unsigned n;
    assert_int_equal(tld_agents_list(f->agents, &list, &n), 0);
    assert_int_equal(n, 1);
    free(list);
}

static unsigned count_events(struct fx *f, const char *needle)
{
    unsigned k = 0;
    for (unsigned i = 0; i < f->nevents; i++)
        k += strstr(f->events[i], needle) != NULL;
    return k;
}

/* Failed passwords lock the address: even the right password is refused until the lockout
 * ends, and the lockout is one own event while the refusals under it are none. */
static void lockout_after_failures(void **state)
{
    struct fx *f = *state;
    f->lockout_failures = 3;
    start_server(f, "s3cret", false, 100);
    struct tld_enroll_client_result r;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(enroll(f, "guess", "wrong", &r), TLD_EAUTH);
        assert_int_equal(r.code, TLD_PCODE_BAD_PASSWORD);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(enroll(f, "legit", "s3cret", &r), TLD_EAUTH);
        assert_int_equal(r.code, TLD_PCODE_RATE_LIMITED);
        assert_non_null(strstr(r.reason, "locked"));
    }
    struct tld_enroll_stats st;
    tld_enroll_server_stats(f->srv, &st);
    assert_int_equal(st.bad_password, 3);
    assert_int_equal(st.lockouts, 1);
    assert_int_equal(st.locked_out, 2);
    assert_int_equal(count_events(f, "\"event\":\"enrollment_lockout\""), 1);
    assert_int_equal(count_events(f, "\"scope\":\"address\""), 1);
    assert_int_equal(count_events(f, "\"event\":\"enrollment_refused\""), 3);
}

/* The global lockout counts failures from every address together. */
static void global_lockout(void **state)
{
    struct fx *f = *state;
    f->lockout_global_failures = 2;
    start_server(f, "s3cret", false, 100);
    unsigned type;
    struct tld_sb ans;
    tld_sb_init(&ans, 1u << 16);
    /* Malformed payloads do not count: only password checks do. */
    assert_int_equal(tld_enroll_server_handle(f->srv, "10.0.0.1", TLD_SV_LIT("x"), &type, &ans), 0);
    struct tld_enroll_client_result r;
    assert_int_equal(enroll(f, "g1", "bad1", &r), TLD_EAUTH);
    assert_int_equal(enroll(f, "g2", "bad2", &r), TLD_EAUTH);
    assert_int_equal(r.code, TLD_PCODE_BAD_PASSWORD);
    /* Any address is refused now, before its request is even parsed. */
    assert_int_equal(tld_enroll_server_handle(f->srv, "10.9.9.9", TLD_SV_LIT("x"), &type, &ans), 0);
    assert_int_equal(type, TLD_MSG_ERROR);
    struct tld_msg_error e;
    assert_int_equal(tld_msg_error_get(ans.p, ans.n, &e), 0);
    assert_int_equal(e.code, TLD_PCODE_RATE_LIMITED);
    assert_int_equal(count_events(f, "\"scope\":\"global\""), 1);
    tld_sb_fini(&ans);
}

static void lockout_window(void **state)
{
    (void)state;
    struct tld_lockout lo;
    const int64_t s = 1000000000LL;
    assert_int_equal(tld_lockout_init(&lo, 2, 10), 0);
    bool now;
    tld_lockout_fail(&lo, "a", 1 * s, &now);
    assert_false(now);
    /* A failure after the window starts counting again. */
    tld_lockout_fail(&lo, "a", 12 * s, &now);
    assert_false(now);
    tld_lockout_fail(&lo, "b", 12 * s, &now);
    assert_false(now);
    tld_lockout_fail(&lo, "a", 13 * s, &now);
    assert_true(now);
    assert_true(tld_lockout_locked(&lo, "a", 14 * s));
    assert_false(tld_lockout_locked(&lo, "b", 14 * s));
    assert_false(tld_lockout_locked(&lo, "a", 23 * s + 1));
    /* After the lockout a key starts from zero. */
    tld_lockout_fail(&lo, "a", 24 * s, &now);
    assert_false(now);
    tld_lockout_fini(&lo);
    /* Threshold 0: never locks. */
    assert_int_equal(tld_lockout_init(&lo, 0, 10), 0);
    for (int i = 0; i < 100; i++)
        tld_lockout_fail(&lo, "a", s, &now);
    assert_false(tld_lockout_locked(&lo, "a", s));
    tld_lockout_fini(&lo);
}

/* Names that read as options or hidden files are refused by the server with the reason. */
static void unsafe_names_refused(void **state)
{
    struct fx *f = *state;
    start_server(f, NULL, false, 100);
    struct tld_enroll_client_result r;
    const char *bad[] = {"-rf", "--help", ".hidden", "_x"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(enroll(f, bad[i], NULL, &r), TLD_EAUTH);
        assert_int_equal(r.code, TLD_PCODE_BAD_NAME);
        assert_non_null(strstr(r.reason, "start with a letter or a digit"));
    }
    assert_int_equal(enroll(f, "9-ok_name.x", NULL, &r), 0);
    assert_true(tld_proto_name_valid(TLD_SV_LIT("-legacy"))); /* old registries still load */
    assert_false(tld_proto_name_safe(TLD_SV_LIT("-legacy")));
}

static int issue_none(void *ctx, const char *agent_id, uint8_t fp[32])
{
    (void)ctx;
    (void)agent_id;
    memset(fp, 0xab, 32);
    return 0;
}

/* Never-connected agents are bounded and expire; connected ones are not counted. */
static void pending_cap_and_expiry(void **state)
{
    struct fx *f = *state;
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_agents_open(f->root, 100, &f->agents, why), 0);
    tld_agents_set_pending_limit(f->agents, 2);
    unsigned id, rep;
    assert_int_equal(
        tld_agents_enroll(f->agents, "p1", "1.1.1.1", false, issue_none, NULL, &id, &rep), 0);
    assert_int_equal(
        tld_agents_enroll(f->agents, "p2", "1.1.1.1", false, issue_none, NULL, &id, &rep), 0);
    assert_int_equal(
        tld_agents_enroll(f->agents, "p3", "1.1.1.1", false, issue_none, NULL, &id, &rep),
        TLD_EAGAIN);
    /* p1 connects: a slot frees. */
    struct tld_msg_hello h;
    memset(&h, 0, sizeof h);
    tld_agents_set_connected(f->agents, 1, "1.1.1.1", &h, (int64_t)time(NULL));
    assert_int_equal(
        tld_agents_enroll(f->agents, "p3", "1.1.1.1", false, issue_none, NULL, &id, &rep), 0);
    assert_int_equal(id, 3);
    /* Expiry: only never-connected agents older than the bound. */
    unsigned ids[8];
    int64_t now = (int64_t)time(NULL);
    assert_int_equal(tld_agents_expire_pending(f->agents, now, 3600, ids, 8), 0);
    assert_int_equal(tld_agents_expire_pending(f->agents, now + 7200, 3600, ids, 8), 2);
    assert_int_equal(ids[0], 2);
    assert_int_equal(ids[1], 3);
    struct tld_agent_info a;
    assert_int_equal(tld_agents_get(f->agents, 2, &a), 0);
    assert_true(a.removed);
    assert_int_equal(tld_agents_get(f->agents, 1, &a), 0);
    assert_false(a.removed);
}

/* Status as saved by the manager: a connected agent is listed as active by another handle,
 * and becomes disconnected only when the manager resets the sessions of a previous run. */
static void status_roundtrip_and_filters(void **state)
{
    struct fx *f = *state;
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_agents_open(f->root, 100, &f->agents, why), 0);
    unsigned id, rep;
    const char *names[] = {"web-1", "web-2", "db-1"};
    for (int i = 0; i < 3; i++)
        assert_int_equal(
            tld_agents_enroll(f->agents, names[i], "1.1.1.1", false, issue_none, NULL, &id, &rep),
            0);
    struct tld_msg_hello h;
    memset(&h, 0, sizeof h);
    int64_t now = (int64_t)time(NULL);
    tld_agents_set_connected(f->agents, 1, "1.1.1.1", &h, now);
    tld_agents_set_connected(f->agents, 2, "1.1.1.1", &h, now - 100);
    tld_agents_set_disconnected(f->agents, 2);
    assert_int_equal(tld_agents_save_status(f->agents), 0);
    struct tld_agents *cli;
    assert_int_equal(tld_agents_open(f->root, 100, &cli, why), 0);
    struct tld_agent_info a;
    assert_int_equal(tld_agents_get(cli, 1, &a), 0);
    assert_int_equal(a.status, TLD_AGENT_ACTIVE);
    assert_int_equal(tld_agents_get(cli, 2, &a), 0);
    assert_int_equal(a.status, TLD_AGENT_DISCONNECTED);
    assert_int_equal(tld_agents_get(cli, 3, &a), 0);
    assert_int_equal(a.status, TLD_AGENT_NEVER);
    /* Filters: pattern, status, age, combined. */
    struct tld_agents_filter byname = {"web-*", -1, 0};
    struct tld_agents_filter bystatus = {NULL, TLD_AGENT_DISCONNECTED, 0};
    struct tld_agents_filter byage = {NULL, -1, 50};
    struct tld_agents_filter both = {"db-*", TLD_AGENT_NEVER, 50};
    struct tld_agent_info *v;
    unsigned n, mname = 0, mstatus = 0, mage = 0, mboth = 0;
    assert_int_equal(tld_agents_list(cli, &v, &n), 0);
    for (unsigned i = 0; i < n; i++) {
        mname += tld_agents_filter_match(&byname, &v[i], now);
        mstatus += tld_agents_filter_match(&bystatus, &v[i], now);
        mage += tld_agents_filter_match(&byage, &v[i], now);
        mboth += tld_agents_filter_match(&both, &v[i], now + 60);
    }
    free(v);
    assert_int_equal(mname, 2);
    assert_int_equal(mstatus, 1);
    assert_int_equal(mage, 1); /* web-2: silent 100 s */
    assert_int_equal(mboth, 1);
    unsigned ids[] = {1, 3, 42}, k;
    assert_int_equal(tld_agents_remove_many(cli, ids, 3, &k), 0);
    assert_int_equal(k, 2);
    tld_agents_reset_sessions(cli);
    assert_int_equal(tld_agents_get(cli, 1, &a), 0);
    assert_true(a.removed);
    tld_agents_close(cli);
}

static void id_text(void **state)
{
    char b[TLD_PROTO_MAX_ID];
    tld_agents_id_text(7, b);
    assert_string_equal(b, "007");
    tld_agents_id_text(1234, b);
    assert_string_equal(b, "1234");
    unsigned v;
    assert_true(tld_agents_id_parse("007", &v) && v == 7);
    assert_true(tld_agents_id_parse("1234", &v) && v == 1234);
    assert_false(tld_agents_id_parse("0007", &v));
    assert_false(tld_agents_id_parse("000", &v));
    assert_false(tld_agents_id_parse("7", &v));
    assert_false(tld_agents_id_parse("00a", &v));
}

int main(void)
{
    /* As in the daemons: a peer that went away is an error code, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(password_hashes),
        cmocka_unit_test(id_text),
        cmocka_unit_test_setup_teardown(ca_created_once_with_private_keys, setup, teardown),
        cmocka_unit_test(csr_checks),
        cmocka_unit_test_setup_teardown(enroll_with_password, setup, teardown),
        cmocka_unit_test_setup_teardown(reenroll_with_force_and_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(rate_limited_per_address, setup, teardown),
        cmocka_unit_test_setup_teardown(pinned_ca, setup, teardown),
        cmocka_unit_test_setup_teardown(lockout_after_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(global_lockout, setup, teardown),
        cmocka_unit_test(lockout_window),
        cmocka_unit_test_setup_teardown(unsafe_names_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(pending_cap_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(status_roundtrip_and_filters, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
