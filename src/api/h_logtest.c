/*
 * PUT /logtest and DELETE /logtest/sessions/{token}: Wazuh's logtest over the API, on the same
 * engine as tld-logtest and the manager (the ruleset the manager's configuration names, loaded
 * by the API and shared with the ruleset routes). The reply carries Wazuh's fields (token,
 * messages, output, alert, codemsg) and the phases as tld-logtest prints them: pre-decoding,
 * decoding, rule matching.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/logtest.h"
#include "api/mgmt.h"
#include "api/rscache.h"
#include "api/xmljson.h"

struct show_ctx {
    struct tld_api_req *r;
    const struct tld_api_rsconf *cfg;
    cJSON *data; /* what the reply's data gets */
    char load_error[TLD_WHY_MAX];
};

static void add_sv(cJSON *o, const char *key, struct tld_sv v)
{
    if (v.p)
        cJSON_AddItemToObject(o, key, tld_api_json_sv(v));
}

static cJSON *phases(struct tld_worker *w)
{
    const struct tld_event *ev = tld_worker_event(w);
    const struct tld_rule_hit *hit = tld_worker_hit(w);
    cJSON *ph = cJSON_CreateObject();
    cJSON *pre = cJSON_AddObjectToObject(ph, "pre_decoding");
    add_sv(pre, "full_event", ev->full_log);
    add_sv(pre, "timestamp", ev->timestamp);
    add_sv(pre, "hostname", ev->hostname);
    add_sv(pre, "program_name", ev->program_name);
    cJSON *dec = ev->decoder ? cJSON_AddObjectToObject(ph, "decoding")
                             : cJSON_AddNullToObject(ph, "decoding");
    if (ev->decoder) {
        cJSON_AddStringToObject(dec, "name", ev->decoder->name);
        if (ev->decoder->parent)
            cJSON_AddStringToObject(dec, "parent", ev->decoder->parent);
        for (int f = 0; f < TLD_F_COUNT; f++)
            add_sv(dec, tld_field_name((enum tld_field)f), ev->fields[f]);
        for (unsigned i = 0; i < ev->ndyn; i++) {
            char *name = strndup(ev->dyn[i].name.p, ev->dyn[i].name.n);
            if (name && !cJSON_GetObjectItemCaseSensitive(dec, name))
                add_sv(dec, name, ev->dyn[i].value);
            free(name);
        }
    }
    if (!hit->rule) {
        cJSON_AddNullToObject(ph, "rule_matching");
        return ph;
    }
    cJSON *rm = cJSON_AddObjectToObject(ph, "rule_matching");
    cJSON_AddStringToObject(rm, "id", hit->rule->id_str);
    cJSON_AddNumberToObject(rm, "level", hit->rule->level);
    cJSON_AddItemToObject(rm, "description", tld_api_json_sv(hit->description));
    cJSON_AddStringToObject(rm, "groups", hit->rule->groups ? hit->rule->groups : "");
    cJSON_AddNumberToObject(rm, "firedtimes", (double)hit->firedtimes);
    cJSON_AddBoolToObject(rm, "mail", hit->mail);
    return ph;
}

static void show(void *ctx, struct tld_worker *w)
{
    struct show_ctx *c = ctx;
    const struct tld_rule_hit *hit = tld_worker_hit(w);
    struct tld_sb buf;
    tld_sb_init(&buf, 16u << 20);
    if (!tld_worker_format_alert(w, TLD_SV_LIT("0.0"), true, &buf))
        tld_worker_format_archive(w, TLD_SV_LIT("0.0"), &buf);
    cJSON *output = cJSON_ParseWithLength(tld_sb_cstr(&buf), buf.n);
    tld_sb_fini(&buf);
    cJSON_AddItemToObject(c->data, "output", output ? output : cJSON_CreateObject());
    cJSON_AddBoolToObject(c->data, "alert", hit->write_alert);
    cJSON_AddItemToObject(c->data, "phases", phases(w));
}

static int load(void *ctx, struct tld_ruleset **out)
{
    struct show_ctx *c = ctx;
    struct tld_diag diag;
    tld_diag_init(&diag);
    int rc = tld_api_rscache_get(c->r->api->rscache, c->cfg, c->r->api->root,
                                 c->r->api->config_path, out, &diag);
    if (rc)
        snprintf(c->load_error, sizeof c->load_error, "the ruleset does not load: %.200s",
                 tld_api_diag_error(&diag, tld_err_str(rc)));
    tld_diag_fini(&diag);
    return rc;
}

static const char *body_str(const cJSON *body, const char *key, bool *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (v && !cJSON_IsString(v))
        *bad = true;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int tld_api_h_logtest(struct tld_api_req *r)
{
    if (!tld_api_filters_only(r, (const char *const[]){NULL}))
        return 0;
    cJSON *body = r->body.n ? cJSON_ParseWithLength(r->body.p, r->body.n) : NULL;
    bool bad = !cJSON_IsObject(body);
    const char *event = body_str(body, "event", &bad);
    const char *location = body_str(body, "location", &bad);
    const char *format = body_str(body, "log_format", &bad);
    const char *token = body_str(body, "token", &bad);
    if (bad || !event || !location || !format) {
        tld_api_error(r, 400,
                      "the body is a JSON object with event, log_format and location "
                      "(strings) and optionally token");
        cJSON_Delete(body);
        return 0;
    }
    struct tld_api_rsconf cfg;
    if (!tld_api_rsconf_get(r, &cfg)) {
        cJSON_Delete(body);
        return 0;
    }
    struct show_ctx c = {r, &cfg, cJSON_CreateObject(), ""};
    struct tld_logtest_run run = {
        token, tld_sv_of(event), tld_sv_of(location), r->api->hostname, load, &c};
    char tok[TLD_LOGTEST_TOKEN + 1] = "";
    bool renewed = false;
    int rc = tld_api_logtest_run(r->api->logtest, &run, tld_api_now_ms(), show, tok, &renewed);
    if (rc == 0) {
        cJSON *msgs = cJSON_CreateArray();
        char m[160];
        if (renewed && token && token[0]) {
            snprintf(m, sizeof m,
                     "WARNING: '%.20s' is not a valid token: a new session was started", token);
            cJSON_AddItemToArray(msgs, cJSON_CreateString(m));
        }
        if (renewed) {
            snprintf(m, sizeof m, "INFO: new session with token '%s'", tok);
            cJSON_AddItemToArray(msgs, cJSON_CreateString(m));
        }
        cJSON_AddStringToObject(c.data, "token", tok);
        cJSON_AddItemToObject(c.data, "messages", msgs);
        cJSON_AddNumberToObject(c.data, "codemsg", renewed ? 1 : 0);
        char *txt = cJSON_PrintUnformatted(c.data);
        r->status = 200;
        tld_sb_printf(&r->out, "{\"data\":%s,\"message\":\"logtest\",\"error\":0}",
                      txt ? txt : "{}");
        free(txt);
    } else if (c.load_error[0]) {
        tld_api_error(r, 503, c.load_error);
        rc = 0;
    }
    cJSON_Delete(c.data);
    cJSON_Delete(body);
    tld_api_rsconf_fini(&cfg);
    return rc;
}

int tld_api_h_logtest_end(struct tld_api_req *r)
{
    if (!tld_api_filters_only(r, (const char *const[]){NULL}))
        return 0;
    const char *token = strrchr(r->path, '/') + 1;
    bool found = false;
    tld_api_logtest_end(r->api->logtest, token, &found);
    if (!found) {
        tld_api_error(r, 404, "no logtest session with that token");
        return 0;
    }
    struct tld_api_env e;
    r->status = 200;
    tld_api_env_begin(&e, &r->out);
    tld_api_env_end(&e, 0, NULL, "the session was removed");
    return 0;
}
