/*
 * Interactive tld-logtest: each input line is one event, analysed by the same worker code the
 * manager uses, and shown phase by phase (pre-decoding, decoding, rules) or, with --json, as
 * the alert the manager would write.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/str.h"
#include "engine/alert.h"
#include "tools/logtest/logtest.h"

int64_t tld_logtest_event_time(const struct tld_logtest_opts *o, unsigned long seq)
{
    if (o->fixed_time_ns)
        return o->fixed_time_ns + (int64_t)seq * 1000000;
    return tld_wall_ns();
}

static void quoted(FILE *out, const char *label, struct tld_sv v)
{
    fprintf(out, "\t%s: '%.*s'\n", label, (int)v.n, v.p);
}

static void show_phases(FILE *out, struct tld_worker *w, struct tld_sb *buf)
{
    const struct tld_event *ev = tld_worker_event(w);
    const struct tld_rule_hit *hit = tld_worker_hit(w);
    fprintf(out, "**Phase 1: Completed pre-decoding.\n");
    quoted(out, "full event", ev->full_log);
    if (ev->truncated)
        fprintf(out, "\ttruncated: 'true'\n");
    if (ev->timestamp.p)
        quoted(out, "timestamp", ev->timestamp);
    if (ev->hostname.p)
        quoted(out, "hostname", ev->hostname);
    if (ev->program_name.p)
        quoted(out, "program_name", ev->program_name);
    fprintf(out, "\n**Phase 2: Completed decoding.\n");
    if (!ev->decoder) {
        fprintf(out, "\tNo decoder matched.\n");
    } else {
        fprintf(out, "\tname: '%s'\n", ev->decoder->name);
        if (ev->decoder->parent)
            fprintf(out, "\tparent: '%s'\n", ev->decoder->parent);
        for (int f = 0; f < TLD_F_COUNT; f++)
            if (ev->fields[f].p)
                quoted(out, tld_field_name((enum tld_field)f), ev->fields[f]);
        for (unsigned i = 0; i < ev->ndyn; i++) {
            fprintf(out, "\t%.*s: '%.*s'\n", (int)ev->dyn[i].name.n, ev->dyn[i].name.p,
                    (int)ev->dyn[i].value.n, ev->dyn[i].value.p);
        }
    }
    if (!hit->rule) {
        fprintf(out, "\n");
        return;
    }
    const struct tld_rule *r = hit->rule;
    fprintf(out, "\n**Phase 3: Completed filtering (rules).\n");
    fprintf(out, "\tid: '%s'\n\tlevel: '%u'\n", r->id_str, r->level);
    quoted(out, "description", hit->description);
    fprintf(out, "\tgroups: '%s'\n\tfiredtimes: '%llu'\n\tmail: '%s'\n", r->groups,
            (unsigned long long)hit->firedtimes, hit->mail ? "true" : "false");
    if (hit->write_alert)
        fprintf(out, "**Alert to be generated.\n");
    tld_sb_reset(buf);
    if (tld_worker_format_alert(w, TLD_SV_LIT("0.0"), true, buf))
        fprintf(out, "\talert: %s\n", tld_sb_cstr(buf));
    fprintf(out, "\n");
}

int tld_logtest_run_stream(const struct tld_ruleset *rs, const struct tld_logtest_opts *o, FILE *in,
                           FILE *out)
{
    struct tld_engine_state *st = NULL;
    struct tld_worker *w = NULL;
    struct tld_worker_config wc = {tld_sv_of(o->manager_name), o->max_event_size};
    if (tld_engine_state_new(rs, &st) || tld_worker_new(rs, st, &wc, &w)) {
        fprintf(stderr, "tld-logtest: out of memory\n");
        tld_engine_state_free(st);
        return TLD_ENOMEM;
    }
    struct tld_sb buf;
    tld_sb_init(&buf, (size_t)16 << 20);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned long seq = 0, nevents = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0)
            continue;
        struct tld_engine_input input = {
            .queue = '1',
            .source = o->source,
            .location = tld_sv_of(o->location),
            .text = tld_sv_make(line, (size_t)len),
            .time_ns = tld_logtest_event_time(o, nevents++),
        };
        tld_worker_process(w, &input);
        if (o->json) {
            const struct tld_rule_hit *hit = tld_worker_hit(w);
            if (!hit->write_alert)
                continue;
            char id[48];
            snprintf(id, sizeof id, "%lld.%lu", (long long)(input.time_ns / 1000000000), seq++);
            tld_sb_reset(&buf);
            tld_worker_format_alert(w, tld_sv_of(id), false, &buf);
            fprintf(out, "%s\n", tld_sb_cstr(&buf));
        } else {
            show_phases(out, w, &buf);
        }
        fflush(out);
    }
    free(line);
    tld_sb_fini(&buf);
    tld_worker_free(w);
    tld_engine_state_free(st);
    return 0;
}
