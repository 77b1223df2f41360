/*
 * Shared helpers of the rule unit tests (test_rules*.c): a stub decoder-name lookup, loading
 * small rule texts, and building decoded events by hand (no real decoders needed).
 */
#ifndef TLD_TESTS_RULES_FIXTURE_H
#define TLD_TESTS_RULES_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "engine/decode/decoder.h"
#include "engine/rules/lists.h"
#include "engine/rules/rule.h"

/* Decoders known to the stub lookup; the id is the index + 1. */
static struct tld_decoder fx_decoders[] = {
    {.name = "json", .own_name = "json", .id = 1, .type = TLD_CAT_SYSLOG},
    {.name = "sshd", .own_name = "sshd", .id = 2, .type = TLD_CAT_SYSLOG},
    {.name = "web-accesslog", .own_name = "web-accesslog", .id = 3, .type = TLD_CAT_WEB_LOG},
    {.name = "iptables", .own_name = "iptables", .id = 4, .type = TLD_CAT_FIREWALL},
    {.name = "hostinfo", .own_name = "hostinfo", .id = 5, .type = TLD_CAT_HOST_INFO},
};

static __attribute__((unused)) int fx_decoder_id(void *ctx, struct tld_sv name)
{
    (void)ctx;
    for (unsigned i = 0; i < sizeof fx_decoders / sizeof *fx_decoders; i++)
        if (tld_sv_eq_cstr(name, fx_decoders[i].name))
            return fx_decoders[i].id;
    return -1;
}

/* The stock templates 1-7 (0010-rules_config.xml). */
static const char fx_templates[] =
    "<group name=\"syslog,\">\n"
    "<rule id=\"1\" level=\"0\" noalert=\"1\"><category>syslog</category>"
    "<description>syslog</description></rule>\n"
    "<rule id=\"2\" level=\"0\" noalert=\"1\"><category>firewall</category>"
    "<description>firewall</description></rule>\n"
    "<rule id=\"3\" level=\"0\" noalert=\"1\"><category>ids</category>"
    "<description>ids</description></rule>\n"
    "<rule id=\"4\" level=\"0\" noalert=\"1\"><category>web-log</category>"
    "<description>web</description></rule>\n"
    "<rule id=\"5\" level=\"0\" noalert=\"1\"><category>squid</category>"
    "<description>squid</description></rule>\n"
    "<rule id=\"6\" level=\"0\" noalert=\"1\"><category>windows</category>"
    "<description>windows</description></rule>\n"
    "<rule id=\"7\" level=\"0\" noalert=\"1\"><category>ossec</category>"
    "<description>ossec</description></rule>\n"
    "</group>\n";

struct fx {
    struct tld_rules *rs;
    struct tld_rules_state *st;
    struct tld_rule_hit hit;
    struct tld_lists *lists;
    struct tld_diag diag;
    struct tld_arena arena;
    struct tld_dynfield dyn[TLD_EVENT_MAX_FIELDS];
    struct tld_event ev;
};

static __attribute__((unused)) struct tld_rules_env fx_env(struct tld_lists *lists)
{
    struct tld_rules_env env = tld_rules_env_default();
    env.decoder_id = fx_decoder_id;
    env.lists = lists;
    env.log_alert_level = 3;
    env.email_alert_level = 12;
    return env;
}

/* A fixture with the templates loaded, not finished. */
static __attribute__((unused)) struct fx *fx_new_lists(struct tld_lists *lists)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->lists = lists;
    tld_diag_init(&f->diag);
    struct tld_rules_env env = fx_env(lists);
    assert_int_equal(tld_rules_new(&env, &f->rs), 0);
    assert_int_equal(
        tld_rules_load_buf(f->rs, fx_templates, strlen(fx_templates), "0010.xml", &f->diag), 0);
    tld_arena_init(&f->arena, 4096, 1 << 20);
    tld_event_init(&f->ev, &f->arena, f->dyn);
    return f;
}

static __attribute__((unused)) struct fx *fx_new(void)
{
    return fx_new_lists(NULL);
}

/* Load a rule text that must load without error (warnings allowed). */
static __attribute__((unused)) void fx_load(struct fx *f, const char *text)
{
    int err = tld_rules_load_buf(f->rs, text, strlen(text), "t.xml", &f->diag);
    if (err)
        tld_diag_print(&f->diag, stderr);
    assert_int_equal(err, 0);
}

/* Finish the rule set and create a state and a hit. */
static __attribute__((unused)) void fx_finish(struct fx *f)
{
    assert_int_equal(tld_rules_finish(f->rs), 0);
    assert_int_equal(tld_rules_state_new(f->rs, &f->st), 0);
    assert_int_equal(tld_rule_hit_init(&f->hit), 0);
}

static __attribute__((unused)) struct fx *fx_rules(const char *text)
{
    struct fx *f = fx_new();
    fx_load(f, text);
    fx_finish(f);
    return f;
}

static __attribute__((unused)) void fx_free(struct fx *f)
{
    if (!f)
        return;
    if (f->st) {
        tld_rule_hit_fini(&f->hit);
        tld_rules_state_free(f->st);
    }
    tld_rules_free(f->rs);
    tld_diag_fini(&f->diag);
    tld_arena_fini(&f->arena);
    tld_lists_free(f->lists);
    free(f);
}

/* Number of diagnostics whose text contains `needle`. */
static __attribute__((unused)) unsigned fx_diag_count(const struct tld_diag *d, const char *needle)
{
    unsigned n = 0;
    for (unsigned i = 0; i < d->kept; i++)
        n += strstr(d->msgs[i].text, needle) != NULL;
    return n;
}

/* Load a text into a fresh rule set expecting a fatal error; returns the first error text. */
static __attribute__((unused)) char *fx_load_error(const char *text)
{
    struct fx *f = fx_new();
    unsigned before = tld_rules_count(f->rs);
    int err = tld_rules_load_buf(f->rs, text, strlen(text), "bad.xml", &f->diag);
    assert_int_equal(err, TLD_EPARSE);
    assert_int_equal(tld_rules_count(f->rs), before); /* nothing half-applied */
    char *msg = NULL;
    for (unsigned i = 0; i < f->diag.kept && !msg; i++)
        if (f->diag.msgs[i].sev == TLD_DIAG_ERROR)
            msg = strdup(f->diag.msgs[i].text);
    assert_non_null(msg);
    fx_free(f);
    return msg;
}

/* ---- events ---- */

/* Start a new event: syslog line `log`, local agent, decoder by name (NULL = none). */
static __attribute__((unused)) struct tld_event *fx_event(struct fx *f, const char *log,
                                                          const char *decoder, int64_t time_s)
{
    tld_event_reset(&f->ev);
    struct tld_event *ev = &f->ev;
    ev->queue = '1';
    ev->location = TLD_SV_LIT("/var/log/test.log");
    ev->full_log = tld_sv_of(log);
    ev->log = tld_sv_of(log);
    ev->agent_id = TLD_SV_LIT("000");
    ev->agent_name = TLD_SV_LIT("manager");
    ev->hostname = TLD_SV_LIT("host1");
    ev->time_ns = time_s * 1000000000;
    ev->decoder = NULL;
    if (decoder)
        for (unsigned i = 0; i < sizeof fx_decoders / sizeof *fx_decoders; i++)
            if (!strcmp(fx_decoders[i].name, decoder))
                ev->decoder = &fx_decoders[i];
    return ev;
}

static __attribute__((unused)) void fx_set(struct tld_event *ev, enum tld_field fld, const char *v)
{
    tld_event_set(ev, fld, tld_sv_of(v));
}

static __attribute__((unused)) void fx_dyn(struct tld_event *ev, const char *name, const char *v)
{
    assert_true(tld_event_add(ev, tld_sv_of(name), tld_sv_of(v)));
}

/* Evaluate the current event; returns the winning rule id (0 = none). */
static __attribute__((unused)) unsigned fx_eval(struct fx *f)
{
    tld_rules_eval(f->rs, f->st, &f->ev, &f->hit);
    return f->hit.rule ? f->hit.rule->id : 0;
}

static __attribute__((unused)) unsigned fx_eval_log(struct fx *f, const char *log,
                                                    const char *decoder, int64_t t)
{
    fx_event(f, log, decoder, t);
    return fx_eval(f);
}

#endif
