/*
 * One event through the engine (see engine.h). The worker turns the structured input into the
 * event the spec describes: for agent events the internal location is "(name) ip->path" (what
 * rule <location> tests) while the alert prints the bare path, and the hostname rules see is
 * the agent name; for local events the syslog hostname, else the manager's short name.
 */
#include "engine/engine.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "engine/alert.h"
#include "engine/decode/decoder.h"
#include "engine/decode/predecode.h"

#define ARENA_BLOCK (64 * 1024)
#define ARENA_MAX   (16 * 1024 * 1024)
/* Bound of the internal "(name) ip->location" of agent events (the builder's bound before). */
#define AGENT_LOCATION_MAX 16384

struct tld_engine_state {
    struct tld_decoder_state *decoders;
    struct tld_rules_state *rules;
};

struct tld_worker {
    const struct tld_ruleset *rs;
    struct tld_engine_state *st;
    char *manager_name_buf; /* owned copy */
    struct tld_sv manager_name;
    size_t max_event;
    struct tld_arena arena;
    struct tld_dynfield dyn[TLD_EVENT_MAX_FIELDS];
    struct tld_event ev;
    struct tld_decoder_scratch dscratch;
    struct tld_rule_hit hit;
    struct tld_alert_memo memo;
};

int tld_engine_state_new(const struct tld_ruleset *rs, struct tld_engine_state **out)
{
    struct tld_engine_state *st = calloc(1, sizeof *st);
    if (!st)
        return TLD_ENOMEM;
    st->decoders = tld_decoder_state_new();
    if (!st->decoders || tld_rules_state_new(rs->rules, &st->rules)) {
        tld_engine_state_free(st);
        return TLD_ENOMEM;
    }
    *out = st;
    return 0;
}

void tld_engine_state_free(struct tld_engine_state *st)
{
    if (!st)
        return;
    tld_rules_state_free(st->rules);
    tld_decoder_state_free(st->decoders);
    free(st);
}

int tld_worker_new(const struct tld_ruleset *rs, struct tld_engine_state *st,
                   const struct tld_worker_config *cfg, struct tld_worker **out)
{
    struct tld_worker *w = calloc(1, sizeof *w);
    if (!w)
        return TLD_ENOMEM;
    w->rs = rs;
    w->st = st;
    w->manager_name_buf = tld_sv_dup(cfg->manager_name);
    w->manager_name = tld_sv_of(w->manager_name_buf);
    if (!w->manager_name_buf) {
        free(w);
        return TLD_ENOMEM;
    }
    w->max_event = cfg->max_event_size ? cfg->max_event_size : TLD_EVENT_DEFAULT_MAX_SIZE;
    tld_alert_memo_init(&w->memo);
    tld_arena_init(&w->arena, ARENA_BLOCK, ARENA_MAX);
    tld_event_init(&w->ev, &w->arena, w->dyn);
    if (tld_decoder_scratch_init(&w->dscratch) || tld_rule_hit_init(&w->hit)) {
        tld_worker_free(w);
        return TLD_ENOMEM;
    }
    *out = w;
    return 0;
}

void tld_worker_free(struct tld_worker *w)
{
    if (!w)
        return;
    tld_alert_memo_fini(&w->memo);
    tld_rule_hit_fini(&w->hit);
    tld_decoder_scratch_fini(&w->dscratch);
    tld_arena_fini(&w->arena);
    free(w->manager_name_buf);
    free(w);
}

static bool is_local(const struct tld_engine_input *in)
{
    return !in->agent_id.p || tld_sv_eq_cstr(in->agent_id, "000");
}

/* "(name) ip->location", at most AGENT_LOCATION_MAX bytes, in the event's arena. */
static struct tld_sv agent_location(struct tld_arena *arena, const struct tld_engine_input *in)
{
    struct tld_sv ip = in->agent_ip.p ? in->agent_ip : TLD_SV_LIT("any");
    struct tld_sv parts[] = {TLD_SV_LIT("("),  in->agent_name, TLD_SV_LIT(") "), ip,
                             TLD_SV_LIT("->"), in->location};
    size_t n = 0;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        /* Each part ends at a NUL byte, as it did when this was printf's "%.*s". */
        const char *nul = parts[i].p ? memchr(parts[i].p, '\0', parts[i].n) : NULL;
        parts[i].n = !parts[i].p ? 0 : nul ? (size_t)(nul - parts[i].p) : parts[i].n;
        n += parts[i].n;
    }
    if (n > AGENT_LOCATION_MAX)
        n = AGENT_LOCATION_MAX;
    char *buf = tld_arena_alloc(arena, n + 1);
    if (!buf)
        return TLD_SV_NULL;
    size_t at = 0;
    for (size_t i = 0; i < sizeof parts / sizeof *parts && at < n; i++) {
        size_t k = parts[i].n < n - at ? parts[i].n : n - at;
        if (k)
            memcpy(buf + at, parts[i].p, k);
        at += k;
    }
    buf[n] = '\0';
    return tld_sv_make(buf, n);
}

void tld_worker_process(struct tld_worker *w, const struct tld_engine_input *in)
{
    struct tld_event *ev = &w->ev;
    tld_event_reset(ev);
    ev->queue = in->queue ? in->queue : '1';
    ev->time_ns = in->time_ns;
    ev->container = in->container;
    ev->source = in->source;
    ev->manager_name = w->manager_name;
    ev->full_log = in->text;
    if (ev->full_log.n > w->max_event) {
        ev->full_log.n = w->max_event;
        ev->truncated = true;
    }
    ev->alert_location = in->location;
    if (is_local(in)) {
        ev->agent_id = TLD_SV_LIT("000");
        ev->location = in->location;
    } else {
        ev->agent_id = in->agent_id;
        ev->agent_name = in->agent_name;
        ev->agent_ip = in->agent_ip;
        ev->location = agent_location(&w->arena, in);
    }

    struct tld_predecode_header hdr;
    tld_predecode_header(ev->full_log.p, ev->full_log.n, &hdr);
    ev->log = hdr.log;
    ev->timestamp = hdr.timestamp;
    ev->program_name = hdr.program_name;
    if (!is_local(in))
        ev->hostname = in->agent_name;
    else if (hdr.hostname.p)
        ev->hostname = hdr.hostname;
    else {
        long dot = tld_sv_index(w->manager_name, '.');
        ev->hostname = dot >= 0 ? tld_sv_make(w->manager_name.p, (size_t)dot) : w->manager_name;
    }

    tld_decode(w->rs->decoders, w->st->decoders, ev, &w->dscratch);
    tld_rules_eval(w->rs->rules, w->st->rules, ev, &w->hit);
}

const struct tld_event *tld_worker_event(const struct tld_worker *w)
{
    return &w->ev;
}

const struct tld_rule_hit *tld_worker_hit(const struct tld_worker *w)
{
    return &w->hit;
}

bool tld_worker_format_alert(struct tld_worker *w, struct tld_sv alert_id, bool logtest,
                             struct tld_sb *out)
{
    const struct tld_rule_hit *hit = &w->hit;
    const struct tld_rule *r = logtest ? hit->rule : hit->alert_rule;
    if (!r)
        return false;
    struct tld_mitre_pair pairs[64];
    struct tld_sv ids[64];
    unsigned nids = r->n_mitre_ids < 64 ? r->n_mitre_ids : 64;
    unsigned npairs = r->n_mitre_pairs < 64 ? r->n_mitre_pairs : 64;
    for (unsigned i = 0; i < nids; i++)
        ids[i] = tld_sv_of(r->mitre_ids[i]);
    for (unsigned i = 0; i < npairs; i++)
        pairs[i] = (struct tld_mitre_pair){tld_sv_of(r->mitre_pairs[i].tactic),
                                           tld_sv_of(r->mitre_pairs[i].technique)};
    struct tld_sb prev;
    tld_sb_init(&prev, (size_t)TLD_RULE_PREV_MAX * (TLD_RULE_PREV_BYTES + 1));
    for (unsigned i = 0; i < hit->n_previous; i++) {
        if (i)
            tld_sb_append_char(&prev, '\n');
        tld_sb_append_sv(&prev, hit->previous_output[i]);
    }
    struct tld_alert_rule ar = {
        .level = (int)r->level,
        .print_level_zero = logtest,
        .id = tld_sv_of(r->id_str),
        .description = hit->description,
        .groups = tld_sv_of(r->groups),
        .mitre_ids = ids,
        .nmitre_ids = nids,
        .mitre_pairs = pairs,
        .nmitre_pairs = npairs,
        .cve = r->cve ? tld_sv_of(r->cve) : TLD_SV_NULL,
        .info = r->info ? tld_sv_of(r->info) : TLD_SV_NULL,
        .frequency = tld_rule_alert_frequency(r),
        .firedtimes = (unsigned long)hit->firedtimes,
        .no_counter = (r->options & TLD_RULE_NO_COUNTER) != 0,
        .mail = hit->mail,
        .no_full_log = (r->options & TLD_RULE_NO_FULL_LOG) != 0,
        .previous_output = hit->n_previous >= 2 ? tld_sb_view(&prev) : TLD_SV_NULL,
        .previous_log = hit->previous_log,
        .memo_key = r, /* a worker lives within one snapshot: rules outlive it */
    };
    tld_alert_format(&w->ev, &ar, alert_id, &w->memo, out);
    tld_sb_fini(&prev);
    return true;
}

void tld_worker_format_archive(struct tld_worker *w, struct tld_sv alert_id, struct tld_sb *out)
{
    tld_alert_format(&w->ev, NULL, alert_id, &w->memo, out);
}
