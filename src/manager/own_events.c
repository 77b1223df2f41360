/* Own events of the manager (see own_events.h); cJSON does the escaping. */
#include "manager/own_events.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/deadline.h"
#include "common/err.h"

char *tld_own_text(const char *event, const struct tld_own_agent *agent,
                   const struct tld_own_field *fields, unsigned nfields)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "integration", "threatlockdown");
    cJSON *t = cJSON_AddObjectToObject(root, "threatlockdown");
    cJSON_AddStringToObject(t, "event", event);
    if (agent) {
        cJSON *a = cJSON_AddObjectToObject(t, "agent");
        if (agent->id)
            cJSON_AddStringToObject(a, "id", agent->id);
        if (agent->name)
            cJSON_AddStringToObject(a, "name", agent->name);
        if (agent->ip)
            cJSON_AddStringToObject(a, "ip", agent->ip);
    }
    for (unsigned i = 0; i < nfields; i++) {
        if (fields[i].is_number)
            cJSON_AddNumberToObject(t, fields[i].key, (double)fields[i].num);
        else
            cJSON_AddStringToObject(t, fields[i].key, fields[i].str ? fields[i].str : "");
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

void tld_own_emit(const struct tld_own_sink *sink, const char *event,
                  const struct tld_own_agent *agent, const struct tld_own_field *fields,
                  unsigned nfields)
{
    if (!sink || !sink->emit)
        return;
    char *s = tld_own_text(event, agent, fields, nfields);
    if (!s)
        return;
    sink->emit(sink->ctx, tld_sv_of(s));
    free(s);
}

/* ---- refusals folded per source -------------------------------------------------------------- */

void tld_own_agg_init(struct tld_own_agg *a, unsigned interval_s)
{
    memset(a, 0, sizeof *a);
    pthread_mutex_init(&a->mu, NULL);
    a->interval_ns = (int64_t)(interval_s ? interval_s : 1) * 1000000000LL;
}

void tld_own_agg_fini(struct tld_own_agg *a)
{
    pthread_mutex_destroy(&a->mu);
}

static unsigned slot_hash(const char *event, const char *ip, const char *reason)
{
    uint32_t h = 2166136261u;
    const char *parts[] = {event, ip, reason};
    for (unsigned i = 0; i < 3; i++) {
        for (const char *s = parts[i]; *s; s++)
            h = (h ^ (uint8_t)*s) * 16777619u;
        h = (h ^ 0xffu) * 16777619u;
    }
    return h % TLD_OWN_AGG_SLOTS;
}

static void emit_summary(const struct tld_own_sink *sink, const struct tld_own_agg_slot *s,
                         int64_t interval_ns)
{
    struct tld_own_agent ag = {NULL, NULL, s->ip};
    struct tld_own_field f[] = {{"reason", s->reason, 0, 0},
                                {"repeated", NULL, (int64_t)s->repeated, 1},
                                {"interval_s", NULL, interval_ns / 1000000000LL, 1}};
    tld_own_emit(sink, s->event, &ag, f, 3);
}

/* Take the summary of a slot whose interval is over (copied out: emitted without the lock). */
static bool take_over(struct tld_own_agg_slot *s, int64_t now, int64_t interval,
                      struct tld_own_agg_slot *summary)
{
    if (!s->start_ns || now - s->start_ns < interval)
        return false;
    bool have = s->repeated > 0;
    if (have)
        *summary = *s;
    s->start_ns = 0;
    s->repeated = 0;
    return have;
}

void tld_own_emit_refusal(const struct tld_own_sink *sink, const char *event,
                          const struct tld_own_agent *agent, const struct tld_own_field *fields,
                          unsigned nfields, const char *reason)
{
    struct tld_own_agg *a = sink ? sink->agg : NULL;
    const char *ip = agent && agent->ip ? agent->ip : "";
    reason = reason ? reason : "";
    if (!a) {
        tld_own_emit(sink, event, agent, fields, nfields);
        return;
    }
    int64_t now = tld_mono_ns();
    struct tld_own_agg_slot summary;
    bool have_summary = false, emit = true;
    pthread_mutex_lock(&a->mu);
    struct tld_own_agg_slot *s = &a->slots[slot_hash(event, ip, reason)];
    have_summary = take_over(s, now, a->interval_ns, &summary);
    if (!s->start_ns) {
        snprintf(s->event, sizeof s->event, "%s", event);
        snprintf(s->ip, sizeof s->ip, "%s", ip);
        snprintf(s->reason, sizeof s->reason, "%s", reason);
        s->start_ns = now;
    } else if (strcmp(s->event, event) == 0 && strcmp(s->ip, ip) == 0 &&
               strncmp(s->reason, reason, sizeof s->reason - 1) == 0) {
        s->repeated++;
        a->folded++;
        emit = false;
    } /* else: the slot belongs to another source still in its interval; emit unfolded */
    pthread_mutex_unlock(&a->mu);
    if (have_summary)
        emit_summary(sink, &summary, a->interval_ns);
    if (emit)
        tld_own_emit(sink, event, agent, fields, nfields);
}

void tld_own_agg_flush(const struct tld_own_sink *sink, int64_t now_ns)
{
    struct tld_own_agg *a = sink ? sink->agg : NULL;
    if (!a)
        return;
    for (unsigned i = 0; i < TLD_OWN_AGG_SLOTS; i++) {
        struct tld_own_agg_slot summary;
        pthread_mutex_lock(&a->mu);
        bool have = take_over(&a->slots[i], now_ns, a->interval_ns, &summary);
        pthread_mutex_unlock(&a->mu);
        if (have)
            emit_summary(sink, &summary, a->interval_ns);
    }
}

/* ---- stalled stages -------------------------------------------------------------------------- */

void tld_own_stall_fail(const struct tld_own_sink *sink, struct tld_log *log,
                        struct tld_own_stall *s, int err)
{
    s->retries++;
    s->ok_since_ns = 0;
    if (s->on)
        return;
    s->on = true;
    s->since_ns = tld_mono_ns();
    tld_log_error(log, "%s: stalled (%s); retrying until it works again", s->stage,
                  tld_err_str(err));
    struct tld_own_field f[] = {{"stage", s->stage, 0, 0}, {"error", tld_err_str(err), 0, 0}};
    tld_own_emit(sink, "stage_stalled", NULL, f, 2);
}

void tld_own_stall_ok(const struct tld_own_sink *sink, struct tld_log *log, struct tld_own_stall *s)
{
    s->backoff_ms = 0;
    if (!s->on)
        return;
    int64_t now = tld_mono_ns();
    if (!s->ok_since_ns)
        s->ok_since_ns = now;
    if (now - s->ok_since_ns < TLD_OWN_STALL_SETTLE_MS * 1000000LL)
        return;
    int64_t ms = (s->ok_since_ns - s->since_ns) / 1000000;
    tld_log_info(log, "%s: working again after %lld ms (%llu retries)", s->stage, (long long)ms,
                 (unsigned long long)s->retries);
    struct tld_own_field f[] = {{"stage", s->stage, 0, 0},
                                {"stalled_ms", NULL, ms, 1},
                                {"retries", NULL, (int64_t)s->retries, 1}};
    tld_own_emit(sink, "stage_recovered", NULL, f, 3);
    s->on = false;
    s->ok_since_ns = 0;
    s->retries = 0;
}
