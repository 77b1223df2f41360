/*
 * Unit tests for src/api: token signing and verification (tampering, expiry, header
 * confusion), base64url strictness, request parameters, login throttling, the user file (roles,
 * revocations, reading again after a change on disk), the <api> configuration, and the route
 * dispatch order (route, token, role, parameters) without a network.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/config.h"
#include "api/jwt.h"
#include "api/params.h"
#include "api/server.h"
#include "api/throttle.h"
#include "api/userlimit.h"
#include "api/users.h"
#include "common/err.h"

#define NOW_MS 1800000000000LL

static struct tld_jwt_claims claims(const char *sub, int64_t exp_s)
{
    struct tld_jwt_claims c;
    memset(&c, 0, sizeof c);
    snprintf(c.sub, sizeof c.sub, "%s", sub);
    snprintf(c.role, sizeof c.role, "analyst");
    c.iat_ms = NOW_MS - 1000;
    c.exp_s = exp_s;
    return c;
}

static char *token(EVP_PKEY *k, const struct tld_jwt_claims *c)
{
    struct tld_sb sb;
    tld_sb_init(&sb, TLD_JWT_MAX);
    assert_int_equal(tld_jwt_sign(k, c, &sb), 0);
    return tld_sb_steal(&sb, NULL);
}

static int verify(EVP_PKEY *k, const char *t, int64_t now)
{
    struct tld_jwt_claims out;
    return tld_jwt_verify(k, t, strlen(t), now, &out);
}

/* A token verifies with its key until it expires; every changed byte or other key fails. */
static void test_jwt_sign_verify_tamper(void **state)
{
    (void)state;
    EVP_PKEY *k, *other;
    assert_int_equal(tld_jwt_key_new(&k), 0);
    assert_int_equal(tld_jwt_key_new(&other), 0);
    struct tld_jwt_claims c = claims("ana", NOW_MS / 1000 + 900), out;
    char *t = token(k, &c);
    assert_int_equal(tld_jwt_verify(k, t, strlen(t), NOW_MS, &out), 0);
    assert_string_equal(out.sub, "ana");
    assert_string_equal(out.role, "analyst");
    assert_int_equal(out.iat_ms, c.iat_ms);
    assert_int_equal(verify(other, t, NOW_MS), TLD_EAUTH);
    assert_int_equal(verify(k, t, (NOW_MS / 1000 + 900) * 1000), TLD_EAUTH);
    for (size_t i = 0; i < strlen(t); i++) {
        char was = t[i];
        t[i] = was == 'A' ? 'B' : 'A';
        assert_int_equal(verify(k, t, NOW_MS), TLD_EAUTH);
        t[i] = was;
    }
    assert_int_equal(verify(k, t, NOW_MS), 0);
    free(t);
    EVP_PKEY_free(k);
    EVP_PKEY_free(other);
}

/* Headers other than {"alg":"EdDSA"[,"typ":"JWT"]} are refused before the signature. */
static void test_jwt_header_confusion(void **state)
{
    (void)state;
    EVP_PKEY *k;
    assert_int_equal(tld_jwt_key_new(&k), 0);
    struct tld_jwt_claims c = claims("ana", NOW_MS / 1000 + 900);
    char *t = token(k, &c);
    const char *rest = strchr(t, '.');
    const char *headers[] = {"{\"alg\":\"none\"}",
                             "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                             "{\"alg\":\"EdDSA\",\"kid\":\"../../x\"}",
                             "{\"alg\":\"EdDSA\",\"alg\":\"none\"}",
                             "{\"typ\":\"JWT\"}",
                             "[\"EdDSA\"]",
                             "{\"alg\":\"EdDSA\",\"typ\":\"JWS\"}"};
    for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
        struct tld_sb sb;
        tld_sb_init(&sb, TLD_JWT_MAX);
        tld_b64url_encode((const uint8_t *)headers[i], strlen(headers[i]), &sb);
        tld_sb_append_cstr(&sb, rest);
        assert_int_equal(verify(k, sb.p, NOW_MS), TLD_EAUTH);
        tld_sb_fini(&sb);
    }
    /* The same header spelled without typ is fine: the signature covers what was sent. */
    assert_int_equal(verify(k, "", NOW_MS), TLD_EAUTH);
    assert_int_equal(verify(k, "a.b", NOW_MS), TLD_EAUTH);
    assert_int_equal(verify(k, "a.b.c.d", NOW_MS), TLD_EAUTH);
    free(t);
    EVP_PKEY_free(k);
}

static void test_b64url(void **state)
{
    (void)state;
    struct tld_sb sb;
    tld_sb_init(&sb, 100);
    tld_b64url_encode((const uint8_t *)"\xfb\xff", 2, &sb);
    assert_string_equal(sb.p, "-_8");
    uint8_t out[8];
    size_t n;
    assert_int_equal(tld_b64url_decode("-_8", 3, out, sizeof out, &n), 0);
    assert_int_equal(n, 2);
    assert_memory_equal(out, "\xfb\xff", 2);
    assert_int_equal(tld_b64url_decode("-_9", 3, out, sizeof out, &n), TLD_EINVAL); /* bits */
    assert_int_equal(tld_b64url_decode("-_8=", 4, out, sizeof out, &n), TLD_EINVAL);
    assert_int_equal(tld_b64url_decode("+/8", 3, out, sizeof out, &n), TLD_EINVAL);
    assert_int_equal(tld_b64url_decode("a", 1, out, sizeof out, &n), TLD_EINVAL);
    assert_int_equal(tld_b64url_decode("AAAAAAAAAAAAAAAA", 16, out, sizeof out, &n), TLD_ELIMIT);
    tld_sb_fini(&sb);
}

static int set(struct tld_api_params *p, const char *k, const char *v)
{
    char why[TLD_WHY_MAX] = "";
    int rc = tld_api_param_set(p, k, v, why);
    if (rc)
        assert_true(why[0] != 0);
    return rc;
}

static void test_params(void **state)
{
    (void)state;
    struct tld_api_params p;
    tld_api_params_init(&p);
    assert_int_equal(p.limit, 500);
    assert_int_equal(set(&p, "limit", "100000"), 0);
    assert_int_equal(set(&p, "limit", "100001"), TLD_EINVAL);
    assert_int_equal(set(&p, "limit", "-1"), TLD_EINVAL);
    assert_int_equal(set(&p, "offset", "12"), 0);
    assert_int_equal(p.offset, 12);
    assert_int_equal(set(&p, "offset", "1000000"), 0);
    assert_int_equal(set(&p, "offset", "1000001"), TLD_EINVAL);
    assert_int_equal(set(&p, "sort", "+timestamp"), 0);
    assert_true(p.ascending);
    assert_int_equal(set(&p, "sort", "-timestamp"), 0);
    assert_false(p.ascending);
    assert_null(p.sort_by);
    /* Other fields are the list routes' sort (the alert routes refuse it later). */
    assert_int_equal(set(&p, "sort", "+level,-id"), 0);
    assert_string_equal(p.sort_by, "+level,-id");
    assert_int_equal(set(&p, "sort", "level;1"), TLD_EINVAL);
    assert_int_equal(set(&p, "sort", ","), TLD_EINVAL);
    assert_int_equal(set(&p, "level", "3-10"), 0);
    assert_string_equal(tld_api_param_filter(&p, "level"), "3-10");
    assert_null(tld_api_param_filter(&p, "group"));
    assert_int_equal(set(&p, "level", "4"), TLD_EINVAL);
    assert_int_equal(set(&p, "sort", "timestamp;DROP TABLE alerts"), TLD_EINVAL);
    assert_int_equal(set(&p, "select", "rule.id, agent.name,data.docker.Action"), 0);
    assert_int_equal(p.nselect, 3);
    assert_string_equal(p.select[1], "agent.name");
    assert_int_equal(set(&p, "select", "rule.id,(SELECT 1)"), TLD_EINVAL);
    assert_int_equal(set(&p, "select", ""), TLD_EINVAL);
    assert_int_equal(set(&p, "from", "2026-05-12T14:52:15.283Z"), 0);
    assert_int_equal(p.from_ms, 1778597535283LL);
    assert_int_equal(set(&p, "to", "1778597535000"), 0);
    assert_int_equal(p.to_ms, 1778597535000LL);
    assert_int_equal(set(&p, "to", "2026-13-01T00:00:00Z"), TLD_EINVAL);
    assert_int_equal(set(&p, "after", "1778597535000_42"), 0);
    assert_true(p.have_after);
    assert_int_equal(p.after.id, 42);
    assert_int_equal(set(&p, "after", "1_2_3"), TLD_EINVAL);
    assert_int_equal(set(&p, "interval", "1h"), 0);
    assert_int_equal(p.interval_ms, 3600000);
    assert_int_equal(set(&p, "interval", "auto"), 0);
    assert_int_equal(p.interval_ms, 0);
    assert_int_equal(set(&p, "field", "rule.groups"), 0);
    assert_int_equal(set(&p, "field", "rule.id) UNION"), TLD_EINVAL);
    assert_int_equal(set(&p, "size", "1001"), TLD_EINVAL);
    assert_int_equal(p.track_total, 10000);
    assert_int_equal(set(&p, "track_total_hits", "250"), 0);
    assert_int_equal(p.track_total, 250);
    assert_int_equal(set(&p, "track_total_hits", "true"), 0);
    assert_true(p.track_total == UINT64_MAX);
    assert_int_equal(set(&p, "track_total_hits", "-1"), TLD_EINVAL);
    assert_int_equal(set(&p, "track_total_hits", "false"), TLD_EINVAL);
    assert_int_equal(set(&p, "pretty", "true"), 0);
    assert_int_equal(set(&p, "bogus", "1"), TLD_EINVAL);
}

static void test_throttle(void **state)
{
    (void)state;
    struct tld_throttle t;
    int64_t wait = 0;
    assert_int_equal(tld_throttle_init(&t, 3, 1000), 0);
    for (int i = 0; i < 3; i++) {
        assert_false(tld_throttle_locked(&t, "user", "ana", 100 + i, &wait));
        tld_throttle_fail(&t, "user", "ana", 100 + i);
    }
    assert_true(tld_throttle_locked(&t, "user", "ana", 200, &wait));
    assert_int_equal(wait, 1);
    assert_false(tld_throttle_locked(&t, "addr", "ana", 200, &wait));  /* kinds apart */
    assert_false(tld_throttle_locked(&t, "user", "ana", 1102, &wait)); /* ran out */
    tld_throttle_fail(&t, "user", "ana", 1200);                        /* a fresh count */
    assert_false(tld_throttle_locked(&t, "user", "ana", 1201, &wait));
    tld_throttle_clear(&t, "user", "ana");
    /* Many keys never grow memory and never crash: the table evicts. */
    char name[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof name, "u%d", i);
        tld_throttle_fail(&t, "user", name, 5000 + i);
    }
    tld_throttle_fini(&t);
}

static bool take(struct tld_api_userlimit *l, const char *user, int64_t now, int64_t *retry)
{
    bool ok;
    tld_api_userlimit_take(l, user, now, &ok, retry);
    return ok;
}

static void test_userlimit(void **state)
{
    (void)state;
    struct tld_api_userlimit l;
    int64_t retry = -1;
    assert_int_equal(tld_api_userlimit_init(&l, 6), 0); /* 6 a minute: one per 10 s */
    for (int i = 0; i < 6; i++)
        assert_true(take(&l, "ana", 1000, &retry)); /* a minute's worth at once */
    assert_false(take(&l, "ana", 1000, &retry));
    assert_int_equal(retry, 10);
    assert_true(take(&l, "bob", 1000, &retry)); /* users apart */
    assert_false(take(&l, "ana", 8000, &retry));
    assert_int_equal(retry, 3); /* 7 s of the 10 regained */
    assert_true(take(&l, "ana", 11000, &retry));
    assert_false(take(&l, "ana", 11001, &retry));
    assert_true(take(&l, "ana", 11000 + 60000, &retry)); /* refilled, never above a minute's */
    for (int i = 0; i < 6; i++)
        assert_true(take(&l, "ana", 11000 + 60000 + 1000000, &retry));
    assert_false(take(&l, "ana", 11000 + 60000 + 1000000, &retry));
    /* Many users never grow memory: the table forgets the least recent. */
    char name[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(name, sizeof name, "u%d", i);
        assert_true(take(&l, name, 2000000 + i, &retry));
    }
    tld_api_userlimit_fini(&l);
    /* 0: no limit. */
    assert_int_equal(tld_api_userlimit_init(&l, 0), 0);
    for (int i = 0; i < 1000; i++)
        assert_true(take(&l, "ana", 5, &retry));
    tld_api_userlimit_fini(&l);
}

static void tmpdir(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/tld-test-api-XXXXXX");
    assert_non_null(mkdtemp(buf));
}

static void test_users(void **state)
{
    (void)state;
    char dir[64], pw[64], path[128];
    tmpdir(dir, sizeof dir);
    struct tld_api_users u;
    bool created;
    assert_int_equal(tld_api_users_open(&u, dir), 0);
    assert_int_equal(tld_api_users_first_admin(&u, dir, pw, &created), 0);
    assert_true(created);
    assert_true(strlen(pw) >= 20);
    snprintf(path, sizeof path, "%s/admin.password", dir);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char again[64];
    assert_int_equal(tld_api_users_first_admin(&u, dir, again, &created), 0);
    assert_false(created);
    struct tld_api_user who;
    assert_int_equal(tld_api_users_login(&u, "admin", tld_sv_of(pw), &who), 0);
    assert_int_equal(who.role, TLD_ROLE_ADMIN);
    assert_int_equal(tld_api_users_login(&u, "admin", tld_sv_of("nope"), &who), TLD_EAUTH);
    assert_int_equal(tld_api_users_login(&u, "ghost", tld_sv_of(pw), &who), TLD_EAUTH);
    assert_int_equal(tld_api_users_add(&u, "ana", TLD_ROLE_ANALYST, tld_sv_of("short")),
                     TLD_EINVAL);
    assert_int_equal(tld_api_users_add(&u, "a n", TLD_ROLE_ANALYST, tld_sv_of("long enough")),
                     TLD_EINVAL);
    assert_int_equal(tld_api_users_add(&u, "ana", TLD_ROLE_ANALYST, tld_sv_of("long enough")), 0);
    struct tld_jwt_claims c = claims("ana", NOW_MS / 1000 + 900);
    assert_int_equal(tld_api_users_token_ok(&u, &c, &who), 0);
    assert_int_equal(who.role, TLD_ROLE_ANALYST);
    /* Logout refuses tokens issued up to then; revoke-all the same for everyone. */
    assert_int_equal(tld_api_users_revoke_user(&u, "ana", c.iat_ms), 0);
    assert_int_equal(tld_api_users_token_ok(&u, &c, &who), TLD_EAUTH);
    c.iat_ms += 1;
    assert_int_equal(tld_api_users_token_ok(&u, &c, &who), 0);
    assert_int_equal(tld_api_users_revoke_all(&u, c.iat_ms + 5), 0);
    assert_int_equal(tld_api_users_token_ok(&u, &c, &who), TLD_EAUTH);
    c.iat_ms += 10;
    assert_int_equal(tld_api_users_token_ok(&u, &c, &who), 0);
    /* Another handle (the command line) deletes ana: this one sees it at the next call. */
    struct tld_api_users other;
    assert_int_equal(tld_api_users_open(&other, dir), 0);
    assert_int_equal(tld_api_users_delete(&other, "ana"), 0);
    assert_int_equal(tld_api_users_delete(&other, "ana"), TLD_ENOTFOUND);
    tld_api_users_close(&other);
    assert_int_equal(tld_api_users_token_ok(&u, &c, &who), TLD_EAUTH);
    tld_api_users_close(&u);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_config(void **state)
{
    (void)state;
    const char *xml = "<ossec_config><api><port>55123</port><local_ip>::1</local_ip>"
                      "<token_lifetime>10m</token_lifetime><max_body>1M</max_body></api>"
                      "<store><backend>clickhouse</backend><database>db1</database>"
                      "<max_age>30d</max_age></store><remote><port>1514</port></remote>"
                      "</ossec_config>";
    struct tld_api_config cfg;
    struct tld_diag d;
    tld_api_config_init(&cfg);
    tld_diag_init(&d);
    assert_int_equal(tld_api_config_parse(&cfg, xml, strlen(xml), "m.conf", &d), 0);
    tld_api_config_defaults(&cfg);
    assert_int_equal(cfg.port, 55123);
    assert_string_equal(cfg.local_ip, "::1");
    assert_int_equal(cfg.token_s, 600);
    assert_int_equal(cfg.max_body, 1u << 20);
    struct tld_store_config sc;
    char path[256], url[256];
    assert_int_equal(tld_api_config_store(&cfg, "/r", &sc, path, sizeof path, url, sizeof url), 0);
    assert_int_equal(sc.backend, TLD_STORE_CLICKHOUSE);
    assert_true(sc.read_only);
    assert_string_equal(sc.url, "http://127.0.0.1:8123/?database=db1");
    tld_api_config_fini(&cfg);
    tld_diag_fini(&d);
    const char *bad = "<ossec_config><api><port>0</port><nope>1</nope></api></ossec_config>";
    tld_api_config_init(&cfg);
    tld_diag_init(&d);
    assert_int_equal(tld_api_config_parse(&cfg, bad, strlen(bad), "m.conf", &d), TLD_EPARSE);
    assert_int_equal(d.errors, 2);
    tld_api_config_fini(&cfg);
    tld_diag_fini(&d);
    tld_api_config_init(&cfg);
    tld_api_config_defaults(&cfg);
    assert_int_equal(cfg.port, 55000);
    assert_string_equal(cfg.local_ip, "127.0.0.1");
    assert_int_equal(cfg.token_s, 900);
    assert_int_equal(tld_api_config_store(&cfg, "/r", &sc, path, sizeof path, url, sizeof url), 0);
    assert_string_equal(sc.path, "/r/var/db/alerts.db");
    tld_api_config_fini(&cfg);
}

/* Dispatch without a network: 404/405 before the token, 401 before the role, 403 before the
 * parameters. */
static void test_dispatch_order(void **state)
{
    (void)state;
    char dir[64];
    tmpdir(dir, sizeof dir);
    struct tld_api_config cfg;
    tld_api_config_init(&cfg);
    tld_api_config_defaults(&cfg);
    struct tld_api a;
    memset(&a, 0, sizeof a);
    a.cfg = &cfg;
    struct tld_log log;
    tld_log_init(&log, "test", stderr, TLD_LOG_ERROR);
    a.log = &log;
    assert_int_equal(tld_api_users_open(&a.users, dir), 0);
    assert_int_equal(tld_api_users_add(&a.users, "rob", TLD_ROLE_READONLY, tld_sv_of("password1")),
                     0);
    assert_int_equal(tld_jwt_key_new(&a.jwt_key), 0);
    struct tld_jwt_claims c = claims("rob", tld_api_now_ms() / 1000 + 60);
    c.iat_ms = tld_api_now_ms();
    char *t = token(a.jwt_key, &c);
    char bearer[TLD_JWT_MAX + 16];
    snprintf(bearer, sizeof bearer, "Bearer %s", t);
    struct {
        const char *method, *path, *auth;
        struct tld_api_arg arg;
        unsigned want;
    } cases[] = {
        {"GET", "/nowhere", NULL, {NULL, NULL}, 404},
        {"POST", "/alerts", NULL, {NULL, NULL}, 405},
        {"GET", "/alerts", NULL, {NULL, NULL}, 401},
        {"GET", "/alerts", "Bearer x.y.z", {NULL, NULL}, 401},
        {"GET", "/security/users", bearer, {"bogus", "1"}, 403},
        {"GET", "/security/users/me", bearer, {"bogus", "1"}, 400},
        {"GET", "/security/users/me", bearer, {NULL, NULL}, 200},
        {"GET", "/alerts/histogram/x", bearer, {NULL, NULL}, 404},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct tld_api_req r;
        memset(&r, 0, sizeof r);
        r.api = &a;
        r.method = cases[i].method;
        r.path = cases[i].path;
        r.authorization = cases[i].auth;
        snprintf(r.addr, sizeof r.addr, "127.0.0.1");
        tld_sb_init(&r.out, 1u << 20);
        tld_api_dispatch(&r, &cases[i].arg, cases[i].arg.key ? 1 : 0, false);
        if (r.status != cases[i].want)
            fail_msg("%s %s: %u, wanted %u (%s)", r.method, r.path, r.status, cases[i].want,
                     tld_sb_cstr(&r.out));
        tld_sb_fini(&r.out);
    }
    free(t);
    EVP_PKEY_free(a.jwt_key);
    tld_api_users_close(&a.users);
    tld_api_config_fini(&cfg);
    tld_log_fini(&log);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwt_sign_verify_tamper),
        cmocka_unit_test(test_jwt_header_confusion),
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_throttle),
        cmocka_unit_test(test_userlimit),
        cmocka_unit_test(test_users),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_dispatch_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
