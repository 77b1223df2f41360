/* Unit tests for correlation (frequency/timeframe, same_/different_, previous_output) and for
 * several workers sharing one state. */
#include <pthread.h>

#include "../../src/engine/rules/correlation.h"
#include "../../src/engine/rules/rule_impl.h"
#include "rules_fixture.h"

#define G(body) "<group name=\"test,\">\n" body "</group>\n"
#define R(id, lvl, body)                                                                           \
    "<rule id=\"" #id "\" level=\"" #lvl "\">" body "<description>r" #id "</description></rule>\n"

static unsigned ev_at(struct fx *f, const char *log, int64_t t)
{
    fx_event(f, log, NULL, t);
    return fx_eval(f);
}

/* Frequency counts the current event: frequency=3 fires on the third within the timeframe,
 * and the firing consumes the sequence. */
static void frequency_sid(void **state)
{
    struct fx *f = fx_rules(
        G(R(100, 5,
            "<match>fail</match>") "<rule id=\"101\" level=\"10\" frequency=\"3\" timeframe=\"60\">"
                                   "<if_matched_sid>100</if_matched_sid><description>brute</"
                                   "description></rule>\n"));
    assert_int_equal(ev_at(f, "fail 1", 0), 100);
    assert_int_equal(ev_at(f, "fail 2", 10), 100);
    assert_int_equal(ev_at(f, "fail 3", 20), 101);
    assert_int_equal(f->hit.n_previous, 2); /* frequency - 1 lines, newest first */
    assert_string_equal(f->hit.previous_output[0].p, "fail 2");
    assert_string_equal(f->hit.previous_output[1].p, "fail 1");
    assert_int_equal(tld_rule_alert_frequency(f->hit.rule), 3);
    /* "fail 2" was consumed; "fail 3" fired 101 and was not stored in 100's list */
    assert_int_equal(ev_at(f, "fail 4", 21), 100);
    assert_int_equal(ev_at(f, "fail 5", 22), 100);
    assert_int_equal(ev_at(f, "fail 6", 23), 101);
    assert_string_equal(f->hit.previous_output[0].p, "fail 5");
    assert_string_equal(f->hit.previous_output[1].p, "fail 4");
    /* timeframe: events older than 60 s end the search */
    assert_int_equal(ev_at(f, "fail 7", 100), 100);
    assert_int_equal(ev_at(f, "fail 8", 170), 100);
    assert_int_equal(ev_at(f, "fail 9", 171), 100);  /* 7 is 71 s old: only 8 counts */
    assert_int_equal(ev_at(f, "fail 10", 230), 101); /* 9 and 8 are 59 and 60 s old */
    fx_free(f);
}

/* frequency="2" (and no frequency): the first counted event suffices and is not consumed. */
static void frequency_two(void **state)
{
    struct fx *f = fx_rules(
        G(R(100, 5,
            "<match>a</match>") "<rule id=\"101\" "
                                "level=\"7\"><if_matched_sid>100</if_matched_sid><match>b</match>"
                                "<description>x</description></rule>\n"));
    assert_int_equal(ev_at(f, "b", 0), 0);
    assert_int_equal(ev_at(f, "a", 0), 100);
    assert_int_equal(ev_at(f, "a b", 1), 101);
    assert_int_equal(f->hit.n_previous, 1);
    assert_int_equal(tld_rule_alert_frequency(f->hit.rule), 2);
    assert_int_equal(ev_at(f, "a b", 2), 101);
    fx_free(f);
}

/* A level-0 target never feeds its list; events of another agent do not count. */
static void level0_target_and_agents(void **state)
{
    struct fx *f = fx_rules(G(R(
        100, 0,
        "<match>a</match>") "<rule id=\"101\" "
                            "level=\"7\"><if_matched_sid>100</if_matched_sid><match>b</match>"
                            "<description>x</description></rule>\n" R(
                                102, 3, "<match>c</match>") "<rule id=\"103\" "
                                                            "level=\"7\"><if_matched_sid>102</"
                                                            "if_matched_sid><match>d</match>"
                                                            "<description>x</description></rule>\n"
                                                            "<rule id=\"104\" "
                                                            "level=\"7\"><if_matched_sid>102</"
                                                            "if_matched_sid><match>e</match>"
                                                            "<global_frequency/><description>x</"
                                                            "description></rule>\n"));
    assert_int_equal(ev_at(f, "a", 0), 100);
    assert_int_equal(ev_at(f, "a b", 0), 100);
    struct tld_event *ev = fx_event(f, "c", NULL, 0);
    ev->agent_id = TLD_SV_LIT("001");
    assert_int_equal(fx_eval(f), 102);
    assert_int_equal(ev_at(f, "c d", 1), 102); /* agent 000 vs 001 */
    assert_int_equal(ev_at(f, "c e", 1), 104); /* global_frequency ignores the agent */
    fx_free(f);
}

static void same_and_different(void **state)
{
    struct fx *f = fx_rules(G(R(
        100, 5,
        "<match>x</match>") "<rule id=\"101\" level=\"8\" "
                            "frequency=\"3\"><if_matched_sid>100</if_matched_sid>"
                            "<same_source_ip/><different_url/><same_user/><match>s</match>"
                            "<description>x</description></rule>\n"
                            "<rule id=\"102\" level=\"8\" "
                            "frequency=\"3\"><if_matched_sid>100</if_matched_sid>"
                            "<same_field>app.name</same_field><not_same_field>app.pid</"
                            "not_same_field>"
                            "<same_location/><match>f</match><description>x</description></rule>\n"
                            "<rule id=\"103\" level=\"8\"><if_matched_sid>100</if_matched_sid>"
                            "<different_srcip/><same_id/><same_srcuser/><match>g</match>"
                            "<description>x</description></rule>\n"));
    struct tld_event *ev;
#define SEND(log, ip, url, user)                                                                   \
    (ev = fx_event(f, log, NULL, 0), fx_set(ev, TLD_F_SRCIP, ip), fx_set(ev, TLD_F_URL, url),      \
     fx_set(ev, TLD_F_DSTUSER, user), fx_eval(f))
    assert_int_equal(SEND("x", "1.1.1.1", "/a", "bob"), 100);
    assert_int_equal(SEND("x", "2.2.2.2", "/b", "bob"), 100); /* other ip */
    assert_int_equal(SEND("x", "1.1.1.1", "/a", "bob"), 100); /* same url as the first */
    assert_int_equal(SEND("x", "1.1.1.1", "/c", "eve"), 100); /* other user */
    /* same ip and user, but all with this url: nothing counts */
    assert_int_equal(SEND("x s", "1.1.1.1", "/a", "bob"), 100);
    assert_int_equal(SEND("x", "1.1.1.1", "/e", "bob"), 100);
    assert_int_equal(SEND("x s", "1.1.1.1", "/a", "bob"), 100); /* only the /e one counts */
    assert_int_equal(SEND("x s", "1.1.1.1", "/f", "bob"), 101); /* /a (newest) and /e */
#undef SEND
    /* dynamic fields */
#define SENDF(log, name, pid)                                                                      \
    (ev = fx_event(f, log, NULL, 100), fx_dyn(ev, "app.name", name), fx_dyn(ev, "app.pid", pid),   \
     fx_eval(f))
    assert_int_equal(SENDF("x", "web", "1"), 100);
    assert_int_equal(SENDF("x", "web", "1"), 100);
    assert_int_equal(SENDF("x f", "web", "1"), 100); /* pids equal: skipped */
    assert_int_equal(SENDF("x", "db", "2"), 100);
    assert_int_equal(SENDF("x", "web", "3"), 100);
    assert_int_equal(SENDF("x f", "web", "1"), 100); /* pid 3 counts; db and pid 1 do not */
    assert_int_equal(SENDF("x", "web", "4"), 100);
    assert_int_equal(SENDF("x f", "web", "5"), 102);
#undef SENDF
    /* a stored event without dynamic fields never passes same_field */
    ev = fx_event(f, "x", NULL, 200);
    assert_int_equal(fx_eval(f), 100);
    ev = fx_event(f, "x", NULL, 200);
    assert_int_equal(fx_eval(f), 100);
    ev = fx_event(f, "x f", NULL, 200);
    fx_dyn(ev, "app.name", "web");
    assert_int_equal(fx_eval(f), 100);
    /* different_srcip + same_id + same_srcuser, frequency 2 */
    ev = fx_event(f, "x", NULL, 300);
    fx_set(ev, TLD_F_SRCIP, "9.9.9.9");
    fx_set(ev, TLD_F_ID, "7");
    fx_set(ev, TLD_F_SRCUSER, "u");
    assert_int_equal(fx_eval(f), 100);
    ev = fx_event(f, "x g", NULL, 301);
    fx_set(ev, TLD_F_SRCIP, "9.9.9.9");
    fx_set(ev, TLD_F_ID, "7");
    fx_set(ev, TLD_F_SRCUSER, "u");
    assert_int_equal(fx_eval(f), 100); /* same srcip */
    ev = fx_event(f, "x g", NULL, 302);
    fx_set(ev, TLD_F_SRCIP, "8.8.8.8");
    fx_set(ev, TLD_F_ID, "7");
    assert_int_equal(fx_eval(f), 100); /* srcuser missing here */
    ev = fx_event(f, "x g", NULL, 303);
    fx_set(ev, TLD_F_SRCIP, "8.8.8.8");
    fx_set(ev, TLD_F_ID, "7");
    fx_set(ev, TLD_F_SRCUSER, "u");
    assert_int_equal(fx_eval(f), 103);
    fx_free(f);
}

/* Every same_X / different_X name filters on its own field. */
static void set_slot(struct tld_event *ev, const char *what, const char *v)
{
    static const struct {
        const char *name;
        int field;
    } map[] = {
        {"srcip", TLD_F_SRCIP},       {"id", TLD_F_ID},
        {"dstip", TLD_F_DSTIP},       {"srcport", TLD_F_SRCPORT},
        {"dstport", TLD_F_DSTPORT},   {"srcuser", TLD_F_SRCUSER},
        {"user", TLD_F_DSTUSER},      {"protocol", TLD_F_PROTOCOL},
        {"action", TLD_F_ACTION},     {"url", TLD_F_URL},
        {"data", TLD_F_DATA},         {"extra_data", TLD_F_EXTRA_DATA},
        {"status", TLD_F_STATUS},     {"system_name", TLD_F_SYSTEM_NAME},
        {"srcgeoip", TLD_F_SRCGEOIP}, {"dstgeoip", TLD_F_DSTGEOIP},
    };
    if (!strcmp(what, "location")) {
        ev->location = tld_sv_of(v);
        return;
    }
    for (unsigned i = 0; i < sizeof map / sizeof *map; i++)
        if (!strcmp(what, map[i].name)) {
            fx_set(ev, (enum tld_field)map[i].field, v);
            return;
        }
    fail_msg("unknown slot %s", what);
}

static void same_different_names(void **state)
{
    static const struct {
        const char *element, *field;
        bool same;
    } cases[] = {
        {"same_source_ip", "srcip", true},
        {"same_srcip", "srcip", true},
        {"same_id", "id", true},
        {"same_dstip", "dstip", true},
        {"same_src_port", "srcport", true},
        {"same_srcport", "srcport", true},
        {"same_dst_port", "dstport", true},
        {"same_dstport", "dstport", true},
        {"same_srcuser", "srcuser", true},
        {"same_user", "user", true},
        {"same_protocol", "protocol", true},
        {"same_action", "action", true},
        {"same_url", "url", true},
        {"same_data", "data", true},
        {"same_extra_data", "extra_data", true},
        {"same_status", "status", true},
        {"same_system_name", "system_name", true},
        {"same_srcgeoip", "srcgeoip", true},
        {"same_dstgeoip", "dstgeoip", true},
        {"same_location", "location", true},
        {"different_srcip", "srcip", false},
        {"not_same_source_ip", "srcip", false},
        {"different_id", "id", false},
        {"not_same_id", "id", false},
        {"different_dstip", "dstip", false},
        {"different_src_port", "srcport", false},
        {"different_srcport", "srcport", false},
        {"different_dst_port", "dstport", false},
        {"different_dstport", "dstport", false},
        {"different_srcuser", "srcuser", false},
        {"different_user", "user", false},
        {"not_same_user", "user", false},
        {"different_protocol", "protocol", false},
        {"different_action", "action", false},
        {"different_url", "url", false},
        {"different_data", "data", false},
        {"different_extra_data", "extra_data", false},
        {"different_status", "status", false},
        {"different_system_name", "system_name", false},
        {"different_srcgeoip", "srcgeoip", false},
        {"different_dstgeoip", "dstgeoip", false},
        {"different_location", "location", false},
    };
    for (unsigned i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[1024];
        snprintf(
            text, sizeof text,
            G(R(100, 3,
                "<match>e</match>") "<rule id=\"101\" "
                                    "level=\"8\"><if_matched_sid>100</if_matched_sid>"
                                    "<match>go</match><%s/><description>x</description></rule>\n"),
            cases[i].element);
        struct fx *f = fx_rules(text);
        struct tld_event *ev = fx_event(f, "e", NULL, 0);
        set_slot(ev, cases[i].field, "v1");
        assert_int_equal(fx_eval(f), 100);
        /* an event with the other value: same_ skips the stored one, different_ counts it */
        ev = fx_event(f, "e go", NULL, 1);
        set_slot(ev, cases[i].field, "v2");
        unsigned got = fx_eval(f);
        if (got != (cases[i].same ? 100u : 101u))
            fail_msg("%s: other value gave %u", cases[i].element, got);
        ev = fx_event(f, "e go", NULL, 2);
        set_slot(ev, cases[i].field, "v1");
        got = fx_eval(f);
        if (got != (cases[i].same ? 101u : 100u))
            fail_msg("%s: same value gave %u", cases[i].element, got);
        fx_free(f);
    }
}

/* if_matched_group: every loaded rule whose group matches feeds the list. */
static void matched_group(void **state)
{
    struct fx *f = fx_rules(
        "<group name=\"auth,\">" R(100, 5, "<match>a</match><group>authentication_failed,</group>")
            R(101, 5, "<match>b</match><group>authentication_failures,</group>")
                R(102, 5,
                  "<match>c</match>") "<rule id=\"103\" level=\"10\" "
                                      "frequency=\"3\"><if_matched_group>authentication_fail"
                                      "</if_matched_group><match>z</match><description>x</"
                                      "description></rule>\n"
                                      "</group><group name=\"later,authentication_failed,\">" R(
                                          104, 5, "<match>d</match>") "</group>");
    assert_int_equal(ev_at(f, "a", 0), 100);
    assert_int_equal(ev_at(f, "c", 0), 102);
    assert_int_equal(ev_at(f, "d", 0), 104); /* loaded after 103: not bound */
    assert_int_equal(ev_at(f, "b", 0), 101);
    /* 103 hangs under 100 and 101 (implied if_group) */
    assert_int_equal(ev_at(f, "a z", 0), 103);
    assert_int_equal(f->hit.n_previous, 2);
    assert_string_equal(f->hit.previous_output[0].p, "b");
    assert_string_equal(f->hit.previous_output[1].p, "a");
    fx_free(f);
}

/* if_matched_regex alone searches the global list: same decoder type, regex on the old log;
 * previous_output then holds frequency - 2 lines. */
static void global_list(void **state)
{
    struct fx *f = fx_rules(G(
        R(100, 3,
          "<match>login</match>") "<rule id=\"101\" level=\"9\" frequency=\"4\" timeframe=\"100\">"
                                  "<if_sid>100</if_sid><if_matched_regex>^login "
                                  "fail</if_matched_regex><match>ok</match>"
                                  "<description>x</description></rule>\n"));
    assert_int_equal(ev_at(f, "login failed 1", 0), 100);
    assert_int_equal(ev_at(f, "login failed 2", 1), 100);
    struct tld_event *ev = fx_event(f, "login failed x", NULL, 1);
    ev->agent_id = TLD_SV_LIT("002"); /* another agent: skipped by the search */
    assert_int_equal(fx_eval(f), 100);
    assert_int_equal(ev_at(f, "login other", 2), 100);
    fx_event(f, "login failed 3", "iptables", 3); /* firewall type: other tree, no match */
    assert_int_equal(fx_eval(f), 0);
    assert_int_equal(ev_at(f, "login ok", 4), 100); /* 2 of 3 needed */
    assert_int_equal(ev_at(f, "login failed 4", 5), 100);
    assert_int_equal(ev_at(f, "login ok", 6), 101);
    assert_int_equal(f->hit.n_previous, 2);
    assert_string_equal(f->hit.previous_output[0].p, "login failed 4");
    assert_string_equal(f->hit.previous_output[1].p, "login failed 2");
    fx_free(f);
}

/* previous_output keeps at most 11 lines. */
static void previous_output_cap(void **state)
{
    struct fx *f = fx_rules(
        G(R(100, 3, "<match>e</match>") "<rule id=\"101\" level=\"9\" "
                                        "frequency=\"20\"><if_matched_sid>100</if_matched_sid>"
                                        "<description>x</description></rule>\n"));
    char log[32];
    for (int i = 1; i <= 19; i++) {
        snprintf(log, sizeof log, "e %d", i);
        assert_int_equal(ev_at(f, log, i), 100);
    }
    assert_int_equal(ev_at(f, "e 20", 20), 101);
    assert_int_equal(f->hit.n_previous, 11);
    assert_string_equal(f->hit.previous_output[0].p, "e 19");
    assert_string_equal(f->hit.previous_output[10].p, "e 9");
    fx_free(f);
}

/* A correlation match blocks re-use by rules of lower or equal level, not higher ones. */
static void matched_levels(void **state)
{
    struct fx *f = fx_rules(G(
        R(100, 3, "<match>e</match>") "<rule id=\"101\" level=\"6\" "
                                      "frequency=\"3\"><if_matched_sid>100</if_matched_sid>"
                                      "<match>low</match><description>x</description></rule>\n"
                                      "<rule id=\"102\" level=\"9\" "
                                      "frequency=\"3\"><if_matched_sid>100</if_matched_sid>"
                                      "<match>high</match><description>x</description></rule>\n"));
    assert_int_equal(ev_at(f, "e", 0), 100);
    assert_int_equal(ev_at(f, "e", 1), 100);
    assert_int_equal(ev_at(f, "e low", 2), 101);  /* marks the newer of the two */
    assert_int_equal(ev_at(f, "e low", 3), 100);  /* blocked at level 6 */
    assert_int_equal(ev_at(f, "e high", 4), 102); /* level 9 goes past it */
    fx_free(f);
}

/* Bounds: a list keeps its newest TLD_CORR_LIST_MAX events. */
static void list_bound(void **state)
{
    struct fx *f = fx_rules(G(
        R(100, 3, "<match>e</match>") "<rule id=\"101\" level=\"9\" "
                                      "frequency=\"3\"><if_matched_sid>100</if_matched_sid>"
                                      "<match>never</match><description>x</description></rule>\n"));
    for (int i = 0; i < TLD_CORR_LIST_MAX + 500; i++)
        assert_int_equal(ev_at(f, "e", i), 100);
    assert_int_equal(tld_corr_stored(f->st->corr), TLD_CORR_LIST_MAX);
    fx_free(f);
}

/* Bounds: all stored copies together stay within TLD_CORR_MAX_BYTES (oldest dropped first),
 * also when each event sits in two lists (two if_matched_group rules on its group). */
static void byte_bound(void **state)
{
    struct fx *f = fx_rules(
        G(R(100, 3, "<match>e</match><group>big,</group>") "<rule id=\"101\" level=\"9\" "
                                                           "frequency=\"3\"><if_matched_group>big</"
                                                           "if_matched_group>"
                                                           "<match>never</match><description>x</"
                                                           "description></rule>\n"
                                                           "<rule id=\"102\" level=\"9\" "
                                                           "frequency=\"3\"><if_matched_group>big</"
                                                           "if_matched_group>"
                                                           "<match>fire</match><description>x</"
                                                           "description></rule>\n"));
    size_t len = 60000;
    char *big = malloc(len + 1);
    memset(big, 'x', len);
    big[0] = 'e';
    big[len] = '\0';
    for (int i = 0; i < 2000; i++)
        assert_int_equal(ev_at(f, big, i), 100);
    size_t stored = tld_corr_stored(f->st->corr);
    assert_true(tld_corr_bytes(f->st->corr) <= TLD_CORR_MAX_BYTES);
    assert_true(stored > 400 && stored < 600); /* ~120 kB per copy (log and full_log) */
    /* the newest events are the ones kept: a correlation still works */
    big[1] = ' ', big[2] = 'f', big[3] = 'i', big[4] = 'r', big[5] = 'e', big[6] = ' ';
    assert_int_equal(ev_at(f, big, 2000), 102);
    free(big);
    fx_free(f);
}

/* same_srcip walks only the address's chain: many addresses, collisions, ring wrap-around. */
static unsigned brute_force_run(struct fx *f, unsigned naddr, unsigned nevents)
{
    unsigned fired = 0;
    char ip[32];
    for (unsigned i = 0; i < nevents; i++) {
        struct tld_event *ev = fx_event(f, "fail", NULL, i / 100);
        snprintf(ip, sizeof ip, "10.0.%u.%u", (i % naddr) / 256, (i % naddr) % 256);
        fx_set(ev, TLD_F_SRCIP, ip);
        unsigned id = fx_eval(f);
        assert_true(id == 100 || id == 101);
        fired += id == 101;
    }
    return fired;
}

static void same_srcip_many_addresses(void **state)
{
    const char *rules = G(
        R(100, 5,
          "<match>fail</match>") "<rule id=\"101\" level=\"10\" frequency=\"3\" timeframe=\"1000\">"
                                 "<if_matched_sid>100</if_matched_sid><same_source_ip/>"
                                 "<description>x</description></rule>\n");
    /* Each of 500 addresses appears 6 times, 500 events apart: its 3rd and 6th fire. */
    struct fx *f = fx_rules(rules);
    assert_int_equal(brute_force_run(f, 500, 3000), 1000);
    fx_free(f);
    /* 2000 addresses: an address's previous event is already out of the 1024-event list. */
    f = fx_rules(rules);
    assert_int_equal(brute_force_run(f, 2000, 6000), 0);
    fx_free(f);
}

/* Several workers, one shared state: counters are exact, and per-list correlation behaves as
 * if each worker were alone (each worker feeds its own target rule). */
#define WORKERS 4
#define EVENTS  3000

struct worker {
    struct fx *f;
    int k;
    unsigned fired_f, fired_t, fired_common, other;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct tld_arena arena;
    static _Thread_local struct tld_dynfield dyn[TLD_EVENT_MAX_FIELDS];
    struct tld_event ev;
    struct tld_rule_hit hit;
    tld_arena_init(&arena, 4096, 1 << 20);
    tld_event_init(&ev, &arena, dyn);
    assert_int_equal(tld_rule_hit_init(&hit), 0);
    char tk[16];
    snprintf(tk, sizeof tk, "t%d", w->k);
    for (int i = 0; i < EVENTS; i++) {
        tld_event_reset(&ev);
        const char *log = i % 2 ? tk : "common";
        ev.log = ev.full_log = tld_sv_of(log);
        ev.location = TLD_SV_LIT("/x");
        ev.agent_id = TLD_SV_LIT("000");
        ev.time_ns = 1000000000ll * 5;
        tld_rules_eval(w->f->rs, w->f->st, &ev, &hit);
        unsigned id = hit.rule ? hit.rule->id : 0;
        if (id == 300)
            w->fired_common++;
        else if (id == 100u + (unsigned)w->k)
            w->fired_t++;
        else if (id == 200u + (unsigned)w->k)
            w->fired_f++;
        else
            w->other++;
    }
    tld_rule_hit_fini(&hit);
    tld_arena_fini(&arena);
    return NULL;
}

static void shared_state_threads(void **state)
{
    char text[8192];
    size_t n = (size_t)snprintf(text, sizeof text,
                                "<group name=\"c,\">"
                                "<rule id=\"300\" level=\"3\"><match>common</match>"
                                "<description>c</description></rule>"
                                "<rule id=\"301\" level=\"5\" frequency=\"5\"><if_sid>300</if_sid>"
                                "<if_matched_regex>never</if_matched_regex>"
                                "<description>g</description></rule>");
    for (int k = 0; k < WORKERS; k++)
        n += (size_t)snprintf(text + n, sizeof text - n,
                              "<rule id=\"%d\" level=\"3\"><match>^t%d$</match>"
                              "<description>t</description></rule>"
                              "<rule id=\"%d\" level=\"8\" frequency=\"3\">"
                              "<if_matched_sid>%d</if_matched_sid><description>f</description>"
                              "</rule>",
                              100 + k, k, 200 + k, 100 + k);
    snprintf(text + n, sizeof text - n, "</group>");
    struct fx *f = fx_rules(text);
    assert_true(f->rs->has_global_search);
    pthread_t th[WORKERS];
    struct worker w[WORKERS];
    for (int k = 0; k < WORKERS; k++) {
        w[k] = (struct worker){.f = f, .k = k};
        assert_int_equal(pthread_create(&th[k], NULL, work, &w[k]), 0);
    }
    for (int k = 0; k < WORKERS; k++)
        pthread_join(th[k], NULL);
    uint64_t common = tld_rules_state_firedtimes(f->st, tld_rules_find(f->rs, 300));
    assert_int_equal(common, (uint64_t)WORKERS * EVENTS / 2);
    for (int k = 0; k < WORKERS; k++) {
        /* alone, a worker's EVENTS/2 target events fire 200+k on every third one */
        assert_int_equal(w[k].other, 0);
        assert_int_equal(w[k].fired_common, EVENTS / 2);
        assert_int_equal(w[k].fired_f, EVENTS / 2 / 3);
        assert_int_equal(w[k].fired_t, EVENTS / 2 - EVENTS / 2 / 3);
        assert_int_equal(tld_rules_state_firedtimes(f->st, tld_rules_find(f->rs, 200 + k)),
                         EVENTS / 2 / 3);
    }
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frequency_sid),
        cmocka_unit_test(frequency_two),
        cmocka_unit_test(level0_target_and_agents),
        cmocka_unit_test(same_and_different),
        cmocka_unit_test(same_different_names),
        cmocka_unit_test(matched_group),
        cmocka_unit_test(global_list),
        cmocka_unit_test(previous_output_cap),
        cmocka_unit_test(matched_levels),
        cmocka_unit_test(list_bound),
        cmocka_unit_test(same_srcip_many_addresses),
        cmocka_unit_test(byte_bound),
        cmocka_unit_test(shared_state_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
