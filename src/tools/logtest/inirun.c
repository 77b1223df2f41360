/*
 * The .ini ruleset test runner (testing.md §3–§4). The ruleset is loaded once; every `log …` key
 * gets a fresh engine state (counters, correlation lists, accumulate cache), which is what the
 * original driver gets by starting a new logtest process per key. Each non-empty line of the
 * key's value is one event at location "stdin"; only the last event's (rule id, level, decoder)
 * triple is judged, with the original exit-code semantics (a section's `source` key, ours, says
 * who made its events: file, docker, own...; without it every <source> condition holds):
 *   "rule:alert:decoder" must split into exactly 3 parts (else 1); equal triple → the number of
 *   empty expected parts, otherwise 1. A `pass` key passes iff that is 0; a `fail` key passes
 *   iff it is not 0.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/str.h"
#include "tools/logtest/ini.h"
#include "tools/logtest/logtest.h"

struct triple {
    char rule[32];
    char level[16];
    char decoder[256];
};

struct runner {
    const struct tld_ruleset *rs;
    const struct tld_logtest_opts *o;
    FILE *out;
    unsigned passed, failed;
};

/* Run every line of `value` in one fresh session; the last event's triple lands in *t. 0 or
 * TLD_ENOMEM. */
static int run_session(struct runner *r, struct tld_sv value, enum tld_source source,
                       struct triple *t, struct tld_sv *last_line)
{
    struct tld_engine_state *st = NULL;
    struct tld_worker *w = NULL;
    struct tld_worker_config wc = {tld_sv_of(r->o->manager_name), r->o->max_event_size};
    int rc = tld_engine_state_new(r->rs, &st);
    if (rc == 0)
        rc = tld_worker_new(r->rs, st, &wc, &w);
    if (rc) {
        tld_engine_state_free(st);
        return rc;
    }
    memset(t, 0, sizeof *t);
    size_t pos = 0;
    unsigned long seq = 0;
    while (pos < value.n) {
        const char *nl = memchr(value.p + pos, '\n', value.n - pos);
        size_t len = nl ? (size_t)(nl - (value.p + pos)) : value.n - pos;
        struct tld_sv line = tld_sv_trim(tld_sv_make(value.p + pos, len));
        pos += len + 1;
        if (line.n == 0)
            continue;
        *last_line = line;
        struct tld_engine_input in = {.queue = '1',
                                      .source = source,
                                      .location = TLD_SV_LIT("stdin"),
                                      .text = line,
                                      .time_ns = tld_logtest_event_time(r->o, seq++)};
        tld_worker_process(w, &in);
        const struct tld_event *ev = tld_worker_event(w);
        const struct tld_rule_hit *hit = tld_worker_hit(w);
        snprintf(t->rule, sizeof t->rule, "%s", hit->rule ? hit->rule->id_str : "");
        if (hit->rule)
            snprintf(t->level, sizeof t->level, "%u", hit->rule->level);
        else
            t->level[0] = '\0';
        snprintf(t->decoder, sizeof t->decoder, "%s", ev->decoder ? ev->decoder->name : "");
    }
    tld_worker_free(w);
    tld_engine_state_free(st);
    return 0;
}

/* The original tool's exit code for expectation `want` against the actual triple. */
static int verdict_code(const char *rule, const char *alert, const char *decoder,
                        const struct triple *t)
{
    /* -U "rule:alert:decoder" must split on ':' into exactly three parts. */
    unsigned colons = 0;
    for (const char *s[] = {rule, alert, decoder}, **p = s; p < s + 3; p++)
        for (const char *c = *p; *c; c++)
            colons += *c == ':';
    if (colons)
        return 1;
    if (strcmp(rule, t->rule) || strcmp(alert, t->level) || strcmp(decoder, t->decoder))
        return 1;
    return (rule[0] == 0) + (alert[0] == 0) + (decoder[0] == 0);
}

static bool key_expects_fail(const char *key)
{
    const char *sp = strrchr(key, ' ');
    return sp && strcmp(sp + 1, "fail") == 0;
}

static void run_section(struct runner *r, const char *file, const struct tld_ini_section *s,
                        unsigned *fp, unsigned *ff)
{
    const struct tld_sb *rule = tld_ini_get(s, "rule");
    const struct tld_sb *alert = tld_ini_get(s, "alert");
    const struct tld_sb *decoder = tld_ini_get(s, "decoder");
    const struct tld_sb *source_key = tld_ini_get(s, "source");
    enum tld_source source = r->o->source;
    bool source_ok = !source_key || tld_source_lookup(tld_sb_view(source_key), &source);
    for (unsigned k = 0; k < s->nkeys; k++) {
        const struct tld_ini_key *key = &s->keys[k];
        if (strncmp(key->name, "log ", 4) != 0)
            continue;
        bool ok;
        struct triple t;
        struct tld_sv last = TLD_SV_LIT("");
        if (!rule || !alert || !decoder) {
            fprintf(r->out, "FAIL %s:%u [%s] %s: missing rule, alert or decoder key\n", file,
                    s->line, s->name, key->name);
            ok = false;
        } else if (!source_ok) {
            fprintf(r->out, "FAIL %s:%u [%s] %s: unknown source '%s'\n", file, s->line, s->name,
                    key->name, tld_sb_cstr(source_key));
            ok = false;
        } else if (run_session(r, tld_sb_view(&key->value), source, &t, &last) != 0) {
            fprintf(r->out, "FAIL %s [%s] %s: out of memory\n", file, s->name, key->name);
            ok = false;
        } else {
            int code =
                verdict_code(tld_sb_cstr(rule), tld_sb_cstr(alert), tld_sb_cstr(decoder), &t);
            bool expect_fail = key_expects_fail(key->name);
            ok = expect_fail ? code != 0 : code == 0;
            if (!ok && r->o->verbose) {
                fprintf(r->out,
                        "FAIL %s:%u [%s] %s\n\tlog: %.*s\n\texpected%s: rule '%s' level '%s' "
                        "decoder '%s'\n\tactual: rule '%s' level '%s' decoder '%s'\n",
                        file, key->line, s->name, key->name, (int)last.n, last.p,
                        expect_fail ? " (to differ)" : "", tld_sb_cstr(rule), tld_sb_cstr(alert),
                        tld_sb_cstr(decoder), t.rule, t.level, t.decoder);
            }
        }
        if (ok)
            (*fp)++;
        else
            (*ff)++;
    }
}

int tld_logtest_run_tests(const struct tld_ruleset *rs, const struct tld_logtest_opts *o,
                          char *const *files, int nfiles, FILE *out, bool *all_passed)
{
    struct runner r = {.rs = rs, .o = o, .out = out};
    for (int i = 0; i < nfiles; i++) {
        unsigned fp = 0, ff = 0;
        FILE *f = fopen(files[i], "rb");
        struct tld_sb text;
        tld_sb_init(&text, (size_t)64 << 20);
        if (f) {
            char chunk[65536];
            size_t got;
            while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
                tld_sb_append(&text, chunk, got);
            fclose(f);
        }
        struct tld_ini ini = {0};
        struct tld_diag diag;
        tld_diag_init(&diag);
        if (!f) {
            fprintf(out, "FAIL %s: cannot read\n", files[i]);
            ff++;
        } else if (tld_ini_parse(tld_sb_cstr(&text), text.n, files[i], &ini, &diag) != 0) {
            tld_diag_print(&diag, out);
            ff++;
        } else {
            for (unsigned s = 0; s < ini.nsections; s++)
                run_section(&r, files[i], &ini.sections[s], &fp, &ff);
        }
        fprintf(out, "%s: %u passed, %u failed\n", files[i], fp, ff);
        fflush(out);
        r.passed += fp;
        r.failed += ff;
        tld_ini_fini(&ini);
        tld_diag_fini(&diag);
        tld_sb_fini(&text);
    }
    fprintf(out, "%u passed, %u failed\n", r.passed, r.failed);
    *all_passed = r.failed == 0;
    return 0;
}
