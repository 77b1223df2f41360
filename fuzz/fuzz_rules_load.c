/*
 * libFuzzer harness: loading a rule file from arbitrary bytes, after a fixed set of templates,
 * with a stub decoder lookup and one CDB list. Checks that a failed load leaves the set exactly
 * as it was, then finishes the set and matches a few fixed events against whatever loaded.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/decode/decoder.h"
#include "engine/rules/lists.h"
#include "engine/rules/rule.h"

static const char templates[] =
    "<group name=\"t,\">"
    "<rule id=\"1\" level=\"0\" noalert=\"1\"><category>syslog</category><description>s"
    "</description></rule>"
    "<rule id=\"4\" level=\"0\" noalert=\"1\"><category>web-log</category><description>w"
    "</description></rule>"
    "<rule id=\"100\" level=\"3\"><match>a</match><group>base,</group><description>b"
    "</description></rule>"
    "</group>";

static struct tld_decoder decoders[] = {
    {.name = "json", .own_name = "json", .id = 1, .type = TLD_CAT_SYSLOG},
    {.name = "web", .own_name = "web", .id = 2, .type = TLD_CAT_WEB_LOG},
};

static int decoder_id(void *ctx, struct tld_sv name)
{
    (void)ctx;
    for (unsigned i = 0; i < sizeof decoders / sizeof *decoders; i++)
        if (tld_sv_eq_cstr(name, decoders[i].name))
            return decoders[i].id;
    return -1;
}

static void eval_some(const struct tld_rules *rs)
{
    struct tld_rules_state *st;
    struct tld_rule_hit hit;
    if (tld_rules_state_new(rs, &st))
        return;
    if (tld_rule_hit_init(&hit)) {
        tld_rules_state_free(st);
        return;
    }
    struct tld_arena arena;
    static struct tld_dynfield dyn[TLD_EVENT_MAX_FIELDS];
    struct tld_event ev;
    tld_arena_init(&arena, 4096, 1 << 20);
    tld_event_init(&ev, &arena, dyn);
    for (int i = 0; i < 6; i++) {
        tld_event_reset(&ev);
        ev.log = ev.full_log = tld_sv_of(i % 2 ? "a b c 1.2.3.4 error" : "{\"a\":1} fail");
        ev.location = TLD_SV_LIT("/var/log/x");
        ev.agent_id = TLD_SV_LIT("000");
        ev.hostname = TLD_SV_LIT("h");
        ev.program_name = i % 3 ? TLD_SV_LIT("sshd") : TLD_SV_NULL;
        ev.time_ns = (int64_t)i * 1000000000;
        ev.decoder = i < 2 ? NULL : &decoders[i % 2];
        ev.fts_key = i == 4 ? TLD_SV_LIT("k") : TLD_SV_NULL;
        tld_event_set(&ev, TLD_F_SRCIP, TLD_SV_LIT("10.0.0.1"));
        tld_event_set(&ev, TLD_F_URL, TLD_SV_LIT("/x?y"));
        tld_event_set(&ev, TLD_F_SRCUSER, TLD_SV_LIT("root"));
        tld_event_add(&ev, TLD_SV_LIT("a"), TLD_SV_LIT("1"));
        tld_event_add(&ev, TLD_SV_LIT("integration"), TLD_SV_LIT("docker"));
        tld_rules_eval(rs, st, &ev, &hit);
        if (hit.rule && hit.description.p && hit.description.n > TLD_RULE_DESC_MAX &&
            hit.description.p == hit.desc_buf)
            __builtin_trap();
    }
    tld_arena_fini(&arena);
    tld_rule_hit_fini(&hit);
    tld_rules_state_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tld_diag d;
    tld_diag_init(&d);
    struct tld_lists *lists = NULL;
    if (tld_lists_new(&lists))
        return 0;
    tld_lists_add_buf(lists, "etc/lists/l", "a:b\n10.0.:net\nroot:admin\n", 25);
    struct tld_rules_env env = tld_rules_env_default();
    env.decoder_id = decoder_id;
    env.lists = lists;
    struct tld_rules *rs;
    if (tld_rules_new(&env, &rs)) {
        tld_lists_free(lists);
        return 0;
    }
    if (tld_rules_load_buf(rs, templates, strlen(templates), "t.xml", &d))
        __builtin_trap();
    unsigned before = tld_rules_count(rs);
    const struct tld_rule *base = tld_rules_find(rs, 100);
    unsigned base_level = base->level;
    const char *base_desc = base->description;
    int err = tld_rules_load_buf(rs, (const char *)data, size, "fuzz.xml", &d);
    if (err) {
        /* nothing half-applied: same rules, rule 100 not overwritten */
        if (tld_rules_count(rs) != before || d.errors == 0 || base->level != base_level ||
            base->description != base_desc)
            __builtin_trap();
    }
    if (tld_rules_finish(rs) == 0)
        eval_some(rs);
    tld_rules_free(rs);
    tld_lists_free(lists);
    tld_diag_fini(&d);
    return 0;
}
