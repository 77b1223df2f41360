/*
 * The routes that ask the running manager over the control channel: GET /agents (the registry
 * with live status, in Wazuh's item shape), GET /agents/summary/status, DELETE /agents and
 * PUT /manager/analysisd/reload; and GET /manager/logs, the manager's own log read from its
 * file, newest line first. Without a running manager the channel routes answer 503 saying so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/items.h"
#include "api/mgmt.h"

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double num_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void add_time(cJSON *o, const char *key, double epoch)
{
    char buf[40];
    time_t t = (time_t)epoch;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    cJSON_AddStringToObject(o, key, buf);
}

/* One registry entry of the control channel as Wazuh's agent item. */
static cJSON *agent_item(const cJSON *a, const char *node)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", str_of(a, "id"));
    cJSON_AddStringToObject(o, "name", str_of(a, "name"));
    cJSON_AddStringToObject(o, "ip", str_of(a, "ip"));
    cJSON_AddStringToObject(o, "registerIP", str_of(a, "register_ip"));
    cJSON_AddStringToObject(o, "status", str_of(a, "status"));
    add_time(o, "dateAdd", num_of(a, "date_add"));
    if (num_of(a, "last_keepalive") > 0)
        add_time(o, "lastKeepAlive", num_of(a, "last_keepalive"));
    const char *version = str_of(a, "version");
    cJSON_AddStringToObject(o, "version", version);
    cJSON *os = cJSON_AddObjectToObject(o, "os");
    char name[256];
    snprintf(name, sizeof name, "%s", str_of(a, "os"));
    cJSON_AddStringToObject(os, "uname", name);
    name[strcspn(name, " ")] = 0;
    cJSON_AddStringToObject(os, "name", name);
    cJSON_AddStringToObject(o, "hostname", str_of(a, "hostname"));
    cJSON_AddNumberToObject(o, "events", num_of(a, "events"));
    cJSON_AddStringToObject(o, "node_name", node);
    return o;
}

/* The registry from the manager; NULL with r answered when it cannot be had. */
static cJSON *registry(struct tld_api_req *r)
{
    cJSON *reply = NULL;
    if (!tld_api_ctl_ask(r, "{\"op\":\"agents\"}", &reply))
        return NULL;
    cJSON *agents = cJSON_DetachItemFromObject(reply, "agents");
    const cJSON *err = cJSON_GetObjectItem(reply, "error");
    if (!cJSON_IsNumber(err) || err->valueint != 0 || !cJSON_IsArray(agents)) {
        char why[TLD_WHY_MAX];
        snprintf(why, sizeof why, "the manager did not list its agents: %.200s",
                 str_of(reply, "message"));
        tld_api_error(r, 503, why);
        cJSON_Delete(agents);
        agents = NULL;
    }
    cJSON_Delete(reply);
    return agents;
}

static bool keep_agent(const struct tld_api_params *p, const cJSON *it)
{
    const char *v;
    if ((v = tld_api_param_filter(p, "status")) && !tld_api_csv_has(v, str_of(it, "status")))
        return false;
    if ((v = tld_api_param_filter(p, "name")) && strcmp(v, str_of(it, "name")) != 0)
        return false;
    if ((v = tld_api_param_filter(p, "ip")) && strcmp(v, str_of(it, "ip")) != 0)
        return false;
    return true;
}

int tld_api_h_agents(struct tld_api_req *r)
{
    if (!tld_api_filters_only(r, (const char *const[]){"status", "name", "ip", NULL}))
        return 0;
    cJSON *agents = registry(r);
    if (!agents)
        return 0;
    cJSON *items = cJSON_CreateArray();
    const cJSON *a;
    cJSON_ArrayForEach(a, agents)
    {
        cJSON *it = agent_item(a, r->api->hostname);
        if (keep_agent(&r->params, it))
            cJSON_AddItemToArray(items, it);
        else
            cJSON_Delete(it);
    }
    cJSON_Delete(agents);
    return tld_api_items_reply(r, items, "agents");
}

int tld_api_h_agents_summary(struct tld_api_req *r)
{
    if (!tld_api_filters_only(r, (const char *const[]){NULL}))
        return 0;
    cJSON *agents = registry(r);
    if (!agents)
        return 0;
    unsigned active = 0, disconnected = 0, never = 0, pending = 0, total = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, agents)
    {
        const char *s = str_of(a, "status");
        active += strcmp(s, "active") == 0;
        disconnected += strcmp(s, "disconnected") == 0;
        never += strcmp(s, "never_connected") == 0;
        pending += strcmp(s, "pending") == 0;
        total++;
    }
    cJSON_Delete(agents);
    r->status = 200;
    tld_sb_printf(&r->out,
                  "{\"data\":{\"connection\":{\"active\":%u,\"disconnected\":%u,"
                  "\"never_connected\":%u,\"pending\":%u,\"total\":%u}},"
                  "\"message\":\"the agents' status\",\"error\":0}",
                  active, disconnected, never, pending, total);
    return 0;
}

/* "001,002" -> ids; false when one is not an agent id. */
static bool agent_ids(const char *csv, char ids[][16], size_t max, size_t *n)
{
    struct tld_sv all = tld_sv_of(csv), piece;
    size_t at = 0;
    *n = 0;
    while (tld_sv_next_piece(all, ',', &at, &piece)) {
        piece = tld_sv_trim(piece);
        unsigned long long v;
        if (*n == max || piece.n < 1 || piece.n > 8 || !tld_sv_to_u64(piece, 99999999, &v) ||
            v == 0)
            return false;
        snprintf(ids[*n], 16, "%03u", (unsigned)(v % 100000000u));
        (*n)++;
    }
    return *n > 0;
}

/* Wazuh's answer to a removal: removed ids, and the others with the manager's reason. */
static void removal_reply(struct tld_api_req *r, const cJSON *done, const cJSON *failed)
{
    int nd = cJSON_GetArraySize(done), nf = cJSON_GetArraySize(failed);
    char *d = cJSON_PrintUnformatted(done), *f = cJSON_PrintUnformatted(failed);
    r->status = 200;
    tld_sb_printf(&r->out,
                  "{\"data\":{\"affected_items\":%s,\"total_affected_items\":%d,"
                  "\"total_failed_items\":%d,\"failed_items\":%s},\"message\":\"%s\","
                  "\"error\":%d}",
                  d ? d : "[]", nd, nf, f ? f : "[]",
                  nf == 0 ? "all selected agents were removed"
                  : nd    ? "some agents were not removed"
                          : "no agent was removed",
                  nf == 0 ? 0
                  : nd    ? 2
                          : 1);
    free(d);
    free(f);
}

#define REMOVE_MAX 500

int tld_api_h_agents_delete(struct tld_api_req *r)
{
    if (!tld_api_filters_only(r, (const char *const[]){"agents_list", "status", NULL}))
        return 0;
    const char *list = tld_api_param_filter(&r->params, "agents_list");
    const char *status = tld_api_param_filter(&r->params, "status");
    if (status && strcmp(status, "all") != 0) {
        tld_api_error(r, 400, "status: 'all' (agents are chosen by agents_list)");
        return 0;
    }
    char(*v)[16] = calloc(REMOVE_MAX, 16);
    size_t n = 0;
    if (!v)
        return TLD_ENOMEM;
    if (!list || !agent_ids(list, v, REMOVE_MAX, &n)) {
        tld_api_error(r, 400,
                      "agents_list: agent ids, comma-separated (001,002; at most 500; "
                      "not 000, the manager)");
        free(v);
        return 0;
    }
    cJSON *done = cJSON_CreateArray(), *failed = cJSON_CreateArray();
    bool reached = true;
    for (size_t i = 0; i < n && reached; i++) {
        char req[64];
        cJSON *reply = NULL;
        snprintf(req, sizeof req, "{\"op\":\"agent_remove\",\"id\":\"%s\"}", v[i]);
        reached = tld_api_ctl_ask(r, req, &reply);
        if (!reached)
            break;
        const cJSON *err = cJSON_GetObjectItem(reply, "error");
        if (cJSON_IsNumber(err) && err->valueint == 0) {
            cJSON_AddItemToArray(done, cJSON_CreateString(v[i]));
            tld_api_audit(r, "removed agent %s", v[i]);
        } else {
            cJSON *f = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(f, "error");
            cJSON_AddNumberToObject(e, "code", cJSON_IsNumber(err) ? err->valueint : 1);
            cJSON_AddStringToObject(e, "message", str_of(reply, "message"));
            cJSON_AddItemToArray(cJSON_AddArrayToObject(f, "id"), cJSON_CreateString(v[i]));
            cJSON_AddItemToArray(failed, f);
        }
        cJSON_Delete(reply);
    }
    if (reached)
        removal_reply(r, done, failed);
    cJSON_Delete(done);
    cJSON_Delete(failed);
    free(v);
    return 0;
}

int tld_api_h_reload(struct tld_api_req *r)
{
    if (!tld_api_filters_only(r, (const char *const[]){NULL}))
        return 0;
    cJSON *reply = NULL;
    if (!tld_api_ctl_ask(r, "{\"op\":\"reload\"}", &reply))
        return 0;
    const cJSON *err = cJSON_GetObjectItem(reply, "error");
    if (cJSON_IsNumber(err) && err->valueint == 0) {
        tld_api_audit(r, "ruleset and configuration reloaded");
        struct tld_api_env e;
        r->status = 200;
        tld_api_env_begin(&e, &r->out);
        tld_api_env_next(&e);
        tld_sb_printf(&r->out, "{\"name\":");
        tld_api_json_str(&r->out, r->api->hostname, strlen(r->api->hostname));
        tld_sb_printf(&r->out, ",\"rules\":%.0f,\"decoders\":%.0f,\"lists\":%.0f}",
                      num_of(reply, "rules"), num_of(reply, "decoders"), num_of(reply, "lists"));
        tld_api_env_end(&e, 1, NULL, "reloaded");
    } else {
        char why[TLD_WHY_MAX];
        snprintf(why, sizeof why, "the manager refused the reload: %.200s",
                 str_of(reply, "message"));
        tld_api_audit(r, "reload refused: %.200s", str_of(reply, "message"));
        const cJSON *errors = cJSON_GetObjectItem(reply, "errors");
        cJSON *none = cJSON_CreateArray();
        tld_api_error_list(r, 400, why, cJSON_IsArray(errors) ? errors : none);
        cJSON_Delete(none);
    }
    cJSON_Delete(reply);
    return 0;
}

/* ---- the manager's log ----------------------------------------------------------------------- */

#define LOG_TAIL (8u << 20) /* the newest bytes of the log read */

/* "2026-12-07 19:00:00 tld-manager[12] INFO: text" -> item; NULL for other lines. */
static cJSON *log_item(char *line)
{
    char date[11], time_[9], tag[64], level[16];
    int used = 0;
    if (sscanf(line, "%10s %8s %63[^[][%*d] %15[^:]: %n", date, time_, tag, level, &used) != 4 ||
        !used)
        return NULL;
    char ts[40];
    snprintf(ts, sizeof ts, "%sT%s", date, time_);
    for (char *p = level; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "timestamp", ts);
    cJSON_AddStringToObject(o, "tag", tag);
    cJSON_AddStringToObject(o, "level", level);
    cJSON_AddStringToObject(o, "description", line + used);
    return o;
}

int tld_api_h_manager_logs(struct tld_api_req *r)
{
    if (!tld_api_filters_only(r, (const char *const[]){"level", "tag", NULL}))
        return 0;
    const char *level = tld_api_param_filter(&r->params, "level");
    const char *tag = tld_api_param_filter(&r->params, "tag");
    static const char *const levels[] = {"debug", "info", "warning", "error", "critical"};
    bool known = !level;
    for (size_t i = 0; level && i < sizeof levels / sizeof *levels; i++)
        known = known || strcmp(level, levels[i]) == 0;
    if (!known) {
        tld_api_error(r, 400, "level: debug, info, warning, error or critical");
        return 0;
    }
    char path[4300];
    snprintf(path, sizeof path, "%s/logs/manager.log", r->api->root);
    FILE *f = fopen(path, "r");
    if (!f) {
        tld_api_error(r, 404, "the manager has no log yet (logs/manager.log)");
        return 0;
    }
    char *buf = malloc(LOG_TAIL + 1);
    size_t n = 0;
    if (buf && fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        long from = size > (long)LOG_TAIL ? size - (long)LOG_TAIL : 0;
        if (fseek(f, from, SEEK_SET) == 0)
            n = fread(buf, 1, LOG_TAIL, f);
    }
    fclose(f);
    if (!buf)
        return TLD_ENOMEM;
    buf[n] = 0;
    cJSON *items = cJSON_CreateArray();
    char *end = buf + n;
    while (end > buf) {
        char *start = end;
        while (start > buf && start[-1] != '\n')
            start--;
        bool whole = start > buf || n < LOG_TAIL; /* the first bytes may be half a line */
        *end = 0;
        cJSON *it = whole && start < end ? log_item(start) : NULL;
        if (it && ((level && strcmp(level, str_of(it, "level")) != 0) ||
                   (tag && strcmp(tag, str_of(it, "tag")) != 0))) {
            cJSON_Delete(it);
            it = NULL;
        }
        if (it)
            cJSON_AddItemToArray(items, it);
        end = start > buf ? start - 1 : buf;
    }
    free(buf);
    return tld_api_items_reply(r, items, "the manager's log, newest first");
}
