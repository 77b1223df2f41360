/*
 * Unit tests for the analysis pipeline: events from the intake journal become alerts in
 * journal order with ids from the file offset, agents are named from the registry, archives
 * hold every event, a restart resumes after what was written, undecodable records are
 * reported, several workers keep each agent's order, an agent cannot claim the manager's
 * own source kind, and a hot reload while events stream in analyses every event exactly once,
 * with the ruleset in force at its journal index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/evrec.h"
#include "engine/ruleset.h"
#include "manager/agents.h"
#include "manager/journal.h"
#include "manager/pipeline.h"

struct fx {
    char root[256], rs[300], logs[300], state[300], jdir[300];
    struct tld_log log;
    struct tld_agents *agents;
    struct tld_journal *journal;
    struct tld_ruleset *ruleset;
    char own[8][512];
    unsigned nown;
    bool event_identity; /* the pipeline's option of that name */
};

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int issue_dummy(void *ctx, const char *id, uint8_t fp[32])
{
    memset(fp, 7, 32);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->root, sizeof f->root, "/tmp/tld-test-pipeline-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->rs, sizeof f->rs, "%s/rules.xml", f->root);
    snprintf(f->logs, sizeof f->logs, "%s/logs", f->root);
    snprintf(f->state, sizeof f->state, "%s/output.ckpt", f->root);
    snprintf(f->jdir, sizeof f->jdir, "%s/intake", f->root);
    tld_log_init(&f->log, "test", stderr, TLD_LOG_ERROR + 1);
    write_file(f->rs, "<group name=\"syslog,\">\n"
                      "  <rule id=\"1\" level=\"0\" noalert=\"1\">\n"
                      "    <category>syslog</category>\n"
                      "    <description>template</description>\n"
                      "  </rule>\n"
                      "</group>\n"
                      "<group name=\"test,\">\n"
                      "  <rule id=\"100001\" level=\"5\">\n"
                      "    <match>attack</match>\n"
                      "    <description>attack seen</description>\n"
                      "  </rule>\n"
                      "  <rule id=\"100002\" level=\"6\">\n"
                      "    <source>own</source>\n"
                      "    <match>ownmark</match>\n"
                      "    <description>own event</description>\n"
                      "  </rule>\n"
                      "  <rule id=\"100003\" level=\"7\">\n"
                      "    <source>docker</source>\n"
                      "    <match>dockmark</match>\n"
                      "    <description>docker event</description>\n"
                      "  </rule>\n"
                      "</group>\n");
    const char *rules[] = {f->rs};
    struct tld_ruleset_config rc = {.rule_paths = rules, .nrule_paths = 1, .log_alert_level = 3};
    struct tld_diag d;
    tld_diag_init(&d);
    assert_int_equal(tld_ruleset_load(&rc, &f->ruleset, &d), 0);
    tld_diag_fini(&d);
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_agents_open(f->root, 100, &f->agents, why), 0);
    unsigned id, rep;
    assert_int_equal(
        tld_agents_enroll(f->agents, "web-01", "10.1.1.1", false, issue_dummy, NULL, &id, &rep), 0);
    assert_int_equal(
        tld_agents_enroll(f->agents, "db-01", "10.1.1.2", false, issue_dummy, NULL, &id, &rep), 0);
    struct tld_journal_opts jo = {f->jdir, 64u << 20, 0, 0, &f->log};
    assert_int_equal(tld_journal_open(&jo, &f->journal), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tld_journal_close(f->journal);
    tld_agents_close(f->agents);
    tld_ruleset_unref(f->ruleset);
    tld_log_fini(&f->log);
    nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void capture(void *ctx, struct tld_sv text)
{
    struct fx *f = ctx;
    if (f->nown < 8)
        snprintf(f->own[f->nown++], 512, "%.*s", (int)text.n, text.p);
}

static struct tld_pipeline *start(struct fx *f, unsigned workers, bool archives)
{
    struct tld_pipeline_opts o = {.journal = f->journal,
                                  .ruleset = f->ruleset,
                                  .agents = f->agents,
                                  .logs_dir = f->logs,
                                  .state_file = f->state,
                                  .archives = archives,
                                  .event_identity = f->event_identity,
                                  .workers = workers,
                                  .worker_queue = 16,
                                  .manager_name = "mgr.example",
                                  .log = &f->log,
                                  .own = {capture, f}};
    struct tld_pipeline *p;
    assert_int_equal(tld_pipeline_new(&o, &p), 0);
    assert_int_equal(tld_pipeline_start(p), 0);
    return p;
}

static void journal_event_from(struct fx *f, unsigned agent, uint64_t seq, const char *text,
                               enum tld_source source)
{
    struct tld_sb enc;
    tld_sb_init(&enc, 1 << 20);
    struct tld_evrec r = {.queue = '1',
                          .source = source,
                          .location = TLD_SV_LIT("/var/log/app.log"),
                          .text = tld_sv_of(text),
                          .read_time_ns = 5};
    assert_int_equal(tld_evrec_encode(&r, &enc), 0);
    struct tld_journal_entry e = {agent,
                                  agent ? 99 : 0,
                                  agent ? seq : 0,
                                  1700000000LL * 1000000000LL,
                                  agent ? TLD_SV_LIT("10.9.9.9") : TLD_SV_LIT(""),
                                  tld_sb_view(&enc)};
    uint64_t s;
    unsigned d;
    assert_int_equal(tld_journal_append(f->journal, &e, 1, 0, &s, &d), 0);
    tld_sb_fini(&enc);
}

static void journal_event(struct fx *f, unsigned agent, uint64_t seq, const char *text)
{
    journal_event_from(f, agent, seq, text, TLD_SOURCE_FILE);
}

static void wait_durable(struct tld_pipeline *p, uint64_t index)
{
    for (int i = 0; i < 1000; i++) {
        struct tld_pipeline_stats st;
        tld_pipeline_stats(p, &st);
        if (st.durable_index >= index)
            return;
        usleep(10000);
    }
    fail_msg("outputs not durable up to %llu", (unsigned long long)index);
}

static char *slurp(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *b = malloc(8 << 20);
    *n = fread(b, 1, (8 << 20) - 1, fp);
    b[*n] = 0;
    fclose(fp);
    return b;
}

static void alerts_in_order_with_ids(void **state)
{
    struct fx *f = *state;
    journal_event(f, 1, 1, "normal line");
    journal_event(f, 1, 2, "an attack from web");
    journal_event(f, 0, 0, "local attack");
    journal_event(f, 2, 1, "db attack");
    f->event_identity = true;
    struct tld_pipeline *p = start(f, 2, true);
    wait_durable(p, 5);
    struct tld_pipeline_stats st;
    tld_pipeline_stats(p, &st);
    assert_int_equal(st.processed, 4);
    assert_int_equal(st.alerts, 3);
    assert_int_equal(st.archives, 4);
    tld_pipeline_free(p);

    char path[400];
    snprintf(path, sizeof path, "%s/alerts/alerts.json", f->logs);
    size_t n;
    char *t = slurp(path, &n);
    char *l1 = t, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    assert_int_equal(strchr(l3, '\n') + 1 - t, (long)n);
    assert_non_null(strstr(l1, "\"full_log\":\"an attack from web\""));
    assert_non_null(
        strstr(l1, "\"agent\":{\"id\":\"001\",\"name\":\"web-01\",\"ip\":\"10.9.9.9\"}"));
    assert_non_null(strstr(l1, "\"id\":\"1700000000.0\""));
    assert_non_null(strstr(l1, "\"location\":\"/var/log/app.log\""));
    assert_non_null(strstr(l2, "\"agent\":{\"id\":\"000\",\"name\":\"mgr.example\"}"));
    char want[64];
    snprintf(want, sizeof want, "\"id\":\"1700000000.%ld\"", (long)(l2 - t));
    assert_non_null(strstr(l2, want));
    assert_non_null(strstr(l3, "\"name\":\"db-01\""));
    snprintf(want, sizeof want, "\"id\":\"1700000000.%ld\"", (long)(l3 - t));
    assert_non_null(strstr(l3, want));
    /* An agent's event ends with its identity (the store deduplicates on it); the manager's
     * own does not have one, and no archive line does. */
    const char *ident = ",\"event\":{\"stream\":\"0000000000000063\",\"seq\":2}}\n";
    assert_memory_equal(l2 - strlen(ident), ident, strlen(ident));
    ident = ",\"event\":{\"stream\":\"0000000000000063\",\"seq\":1}}\n";
    assert_memory_equal(t + n - strlen(ident), ident, strlen(ident));
    assert_null(memmem(l2, (size_t)(l3 - l2), "\"stream\"", 8));
    free(t);
    snprintf(path, sizeof path, "%s/archives/archives.json", f->logs);
    t = slurp(path, &n);
    assert_non_null(strstr(t, "\"full_log\":\"normal line\""));
    assert_null(strstr(t, "\"stream\""));
    free(t);

    /* A restart resumes after what was written: only the new event is analysed. */
    journal_event(f, 1, 3, "second attack");
    p = start(f, 1, true);
    wait_durable(p, 6);
    tld_pipeline_stats(p, &st);
    assert_int_equal(st.processed, 1);
    assert_int_equal(st.alerts, 1);
    tld_pipeline_free(p);
}

/* Only the manager's own records (agent 0) may say "own"; an agent's may say "docker". */
static void source_kind_trusted_by_origin(void **state)
{
    struct fx *f = *state;
    journal_event_from(f, 0, 0, "ownmark local", TLD_SOURCE_OWN);
    journal_event_from(f, 1, 1, "ownmark claimed by an agent", TLD_SOURCE_OWN);
    journal_event_from(f, 1, 2, "dockmark from the agent's listener", TLD_SOURCE_DOCKER);
    journal_event_from(f, 1, 3, "dockmark in a file", TLD_SOURCE_FILE);
    journal_event_from(f, 0, 0, "ownmark in a local file", TLD_SOURCE_FILE);
    struct tld_pipeline *p = start(f, 1, false);
    wait_durable(p, 5);
    struct tld_pipeline_stats st;
    tld_pipeline_stats(p, &st);
    tld_pipeline_free(p);
    assert_int_equal(st.processed, 5);
    assert_int_equal(st.alerts, 2);
    char path[400];
    snprintf(path, sizeof path, "%s/alerts/alerts.json", f->logs);
    size_t n;
    char *t = slurp(path, &n);
    char *l2 = strchr(t, '\n') + 1;
    assert_int_equal(strchr(l2, '\n') + 1 - t, (long)n);
    assert_non_null(strstr(t, "\"full_log\":\"ownmark local\""));
    assert_non_null(strstr(t, "\"id\":\"100002\""));
    assert_non_null(strstr(l2, "\"full_log\":\"dockmark from the agent's listener\""));
    assert_non_null(strstr(l2, "\"id\":\"100003\""));
    /* Without a store shared by several managers, alerts carry no event identity. */
    assert_null(strstr(t, "\"event\":"));
    free(t);
}

static void undecodable_reported(void **state)
{
    struct fx *f = *state;
    struct tld_journal_entry e = {1, 99, 1, 1, TLD_SV_LIT("10.9.9.9"), TLD_SV_LIT("garbage")};
    uint64_t s;
    unsigned d;
    assert_int_equal(tld_journal_append(f->journal, &e, 1, 0, &s, &d), 0);
    journal_event(f, 1, 2, "attack after garbage");
    struct tld_pipeline *p = start(f, 1, false);
    wait_durable(p, 3);
    struct tld_pipeline_stats st;
    tld_pipeline_stats(p, &st);
    tld_pipeline_free(p);
    assert_int_equal(st.malformed, 1);
    assert_int_equal(st.alerts, 1);
    assert_int_equal(f->nown, 1);
    assert_non_null(strstr(f->own[0], "\"event\":\"event_undecodable\""));
    assert_non_null(strstr(f->own[0], "\"journal_index\":1"));
}

static void per_agent_order_with_workers(void **state)
{
    struct fx *f = *state;
    /* Interleaved events of two agents, more than the queues hold (back-pressure). */
    for (unsigned i = 1; i <= 400; i++) {
        char t[64];
        snprintf(t, sizeof t, "attack %u", i);
        journal_event(f, 1 + (i % 2), i, t);
    }
    struct tld_pipeline *p = start(f, 4, false);
    wait_durable(p, 401);
    tld_pipeline_free(p);
    char path[400];
    snprintf(path, sizeof path, "%s/alerts/alerts.json", f->logs);
    size_t n;
    char *t = slurp(path, &n);
    /* All 400, in journal order (which is each agent's order too), each once. */
    unsigned k = 0;
    for (char *l = t; *l; l = strchr(l, '\n') + 1) {
        k++;
        char want[64];
        snprintf(want, sizeof want, "\"full_log\":\"attack %u\"", k);
        assert_non_null(strstr(l, want));
        assert_true(strstr(l, want) < strchr(l, '\n'));
    }
    assert_int_equal(k, 400);
    free(t);
}

/* A ruleset whose attack rule says `tag` in its description. */
static struct tld_ruleset *tagged_ruleset(struct fx *f, const char *tag)
{
    char path[400], text[1024];
    snprintf(path, sizeof path, "%s/rules-%s.xml", f->root, tag);
    snprintf(text, sizeof text,
             "<group name=\"syslog,\">\n"
             "  <rule id=\"1\" level=\"0\" noalert=\"1\">\n"
             "    <category>syslog</category>\n"
             "    <description>template</description>\n"
             "  </rule>\n"
             "</group>\n"
             "<group name=\"test,\">\n"
             "  <rule id=\"100001\" level=\"5\">\n"
             "    <match>attack</match>\n"
             "    <description>attack seen %s</description>\n"
             "  </rule>\n"
             "</group>\n",
             tag);
    write_file(path, text);
    const char *rules[] = {path};
    struct tld_ruleset_config rc = {.rule_paths = rules, .nrule_paths = 1, .log_alert_level = 3};
    struct tld_diag d;
    tld_diag_init(&d);
    struct tld_ruleset *rs;
    assert_int_equal(tld_ruleset_load(&rc, &rs, &d), 0);
    tld_diag_fini(&d);
    return rs;
}

static void reload_while_streaming(void **state)
{
    struct fx *f = *state;
    struct tld_ruleset *v[2] = {tagged_ruleset(f, "v0"), tagged_ruleset(f, "v1")};
    enum { EVENTS = 600, RELOADS = 6 };
    uint64_t cut[RELOADS + 1] = {1}; /* generation r analyses journal indexes from cut[r] */
    unsigned appended = 0;
    for (; appended < 100; appended++) {
        char t[64];
        snprintf(t, sizeof t, "attack %u", appended + 1);
        journal_event(f, 1 + (appended % 2), appended + 1, t);
    }
    struct tld_pipeline *p = start(f, 4, false);
    for (unsigned r = 1; r <= RELOADS; r++) {
        for (unsigned k = 0; k < 80; k++, appended++) {
            char t[64];
            snprintf(t, sizeof t, "attack %u", appended + 1);
            journal_event(f, 1 + (appended % 2), appended + 1, t);
        }
        bool taken;
        assert_int_equal(tld_pipeline_set_ruleset(p, v[r % 2], 5000, &taken, &cut[r]), 0);
        assert_true(taken);
        assert_true(cut[r] >= cut[r - 1]);
    }
    for (; appended < EVENTS; appended++) {
        char t[64];
        snprintf(t, sizeof t, "attack %u", appended + 1);
        journal_event(f, 1 + (appended % 2), appended + 1, t);
    }
    /* Events journaled after the last reload returned are the last ruleset's. */
    assert_true(cut[RELOADS] <= 100 + RELOADS * 80 + 1);
    wait_durable(p, EVENTS + 1);
    struct tld_pipeline_stats st;
    tld_pipeline_stats(p, &st);
    tld_pipeline_free(p);
    tld_ruleset_unref(v[0]);
    tld_ruleset_unref(v[1]);
    assert_int_equal(st.processed, EVENTS);
    char path[400];
    snprintf(path, sizeof path, "%s/alerts/alerts.json", f->logs);
    size_t n;
    char *t = slurp(path, &n);
    unsigned k = 0, r = 0;
    for (char *l = t; *l; l = strchr(l, '\n') + 1) {
        k++;
        while (r < RELOADS && k >= cut[r + 1])
            r++;
        char want[64], tag[64];
        snprintf(want, sizeof want, "\"full_log\":\"attack %u\"", k);
        /* The pipeline started with the fixture's ruleset, then v1, v0, v1... */
        if (r == 0)
            snprintf(tag, sizeof tag, "\"description\":\"attack seen\"");
        else
            snprintf(tag, sizeof tag, "\"description\":\"attack seen v%u\"", r % 2);
        char *eol = strchr(l, '\n');
        assert_true(strstr(l, want) && strstr(l, want) < eol);
        assert_true(strstr(l, tag) && strstr(l, tag) < eol);
    }
    assert_int_equal(k, EVENTS);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(alerts_in_order_with_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(source_kind_trusted_by_origin, setup, teardown),
        cmocka_unit_test_setup_teardown(undecodable_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(per_agent_order_with_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(reload_while_streaming, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
