/*
 * GET /openapi.json: an OpenAPI 3.1 document of every route, built from the route table (paths,
 * methods, roles as `x-roles`) and the description of each route below (summary, query
 * parameters, responses). The same description says which query parameters a route takes:
 * the dispatcher refuses any other, so the document cannot drift from what the server does.
 * A route with no description here takes every parameter and is left out of the document;
 * tests/integration/test_api_openapi.py names it.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/server.h"
#include "common/version.h"

struct param_doc {
    const char *name, *type, *what;
};

static const struct param_doc PARAMS[] = {
    {"q", "string", "a query in the store's language (docs/query.md)"},
    {"from", "string", "time range start: epoch ms or YYYY-MM-DDTHH:MM:SS[.mmm]Z"},
    {"to", "string", "time range end (excluded), as from"},
    {"limit", "integer", "items per page"},
    {"offset", "integer", "items skipped first"},
    {"sort", "string",
     "alerts: +timestamp or -timestamp (default); lists: +field,-other (dotted names)"},
    {"after", "string", "cursor: next_cursor of the previous page"},
    {"select", "string", "comma-separated fields kept in each item"},
    {"track_total_hits", "string",
     "count matches exactly up to this number (default 10000) or all with true; past it "
     "total_affected_items is the number and total_is_lower_bound is true"},
    {"fields", "string", "comma-separated CSV columns (field names)"},
    {"interval", "string", "bucket width: a duration or auto"},
    {"field", "string", "the field whose values are counted"},
    {"size", "integer", "how many values (1 to 1000)"},
    {"last_event_id", "integer", "resume after this event id (as Last-Event-ID)"},
    {"search", "string",
     "case-insensitive substring of the id or name (mitre), of any value (lists); -text excludes"},
    {"rule_ids", "string", "comma-separated rule ids"},
    {"level", "string",
     "rules: a level or a range (3-10); logs: debug, info, warning, error, critical"},
    {"group", "string", "a rule group"},
    {"filename", "string", "comma-separated file names"},
    {"relative_dirname", "string", "the file's directory, relative to the installation root"},
    {"status", "string",
     "files and rules: enabled, disabled or all; agents: comma-separated states; DELETE: all"},
    {"pci_dss", "string", "a PCI DSS requirement"},
    {"gdpr", "string", "a GDPR article"},
    {"hipaa", "string", "a HIPAA section"},
    {"nist-800-53", "string", "a NIST 800-53 control"},
    {"tsc", "string", "a TSC criterion"},
    {"gpg13", "string", "a GPG13 control"},
    {"mitre", "string", "an ATT&CK technique id"},
    {"decoder_names", "string", "comma-separated decoder names"},
    {"parents", "boolean", "true: only decoders without a parent"},
    {"raw", "boolean", "true: the file as it is (application/xml)"},
    {"overwrite", "boolean", "true: replace an existing file"},
    {"agents_list", "string", "comma-separated agent ids (at most 500)"},
    {"name", "string", "the agent's name"},
    {"ip", "string", "the agent's address"},
    {"tag", "string", "the program that wrote the log line"},
    {"pretty", "string", "accepted for Wazuh clients, no effect"},
    {"wait_for_complete", "string", "accepted for Wazuh clients, no effect"},
};

struct route_doc {
    const char *method, *path, *summary;
    const char *params; /* comma-separated; pretty and wait_for_complete go with every route */
    const char *ctype;  /* the 200 answer's media type */
};

#define JSON         "application/json"
#define ALERT_FILTER "q,from,to"
#define LIST         "search,offset,limit,sort,select"
#define RULE_FILTERS                                                                               \
    "rule_ids,level,group,filename,relative_dirname,status,pci_dss,gdpr,mitre,hipaa,nist-800-53,"  \
    "tsc,gpg13"
#define DECODER_FILTERS "decoder_names,filename,relative_dirname,status,parents"
#define FILE_FILTERS    "filename,relative_dirname,status"

static const struct route_doc DOCS[] = {
    {"GET", "/", "API title, version, host name and time", "", JSON},
    {"POST", "/security/user/authenticate", "a token for HTTP Basic credentials", "", JSON},
    {"DELETE", "/security/user/authenticate", "log out: the caller's tokens are revoked", "", JSON},
    {"PUT", "/security/user/revoke", "every token of every user is revoked", "", JSON},
    {"GET", "/security/users/me", "the caller: name and roles", "", JSON},
    {"GET", "/security/users", "the users and their roles", "", JSON},
    {"GET", "/alerts", "alert search with cursor paging",
     ALERT_FILTER ",limit,offset,sort,after,select,track_total_hits", JSON},
    {"GET", "/alerts/histogram", "alert counts per time bucket", ALERT_FILTER ",interval", JSON},
    {"GET", "/alerts/terms", "the most frequent values of a field", ALERT_FILTER ",field,size",
     JSON},
    {"GET", "/alerts/export.csv", "every matching alert as CSV, streamed",
     ALERT_FILTER ",fields,sort", "text/csv"},
    {"GET", "/alerts/stream", "new matching alerts as Server-Sent Events",
     ALERT_FILTER ",last_event_id", "text/event-stream"},
    {"GET", "/alerts/{id}", "one alert, its alerts.json line", "", JSON},
    {"GET", "/manager/info", "what this installation is", "", JSON},
    {"GET", "/manager/status", "whether the daemons run", "", JSON},
    {"GET", "/manager/stats", "the manager's statistics", "", JSON},
    {"GET", "/mitre/tactics", "ATT&CK tactics", "search,offset,limit", JSON},
    {"GET", "/mitre/techniques", "ATT&CK techniques", "search,offset,limit", JSON},
    {"GET", "/metrics", "Prometheus metrics", "", "text/plain"},
    {"GET", "/openapi.json", "this document", "", JSON},
    {"GET", "/rules", "the rules the ruleset loads", LIST "," RULE_FILTERS, JSON},
    {"GET", "/rules/groups", "every rule group name", LIST, JSON},
    {"GET", "/rules/files", "the rule files", LIST "," FILE_FILTERS, JSON},
    {"GET", "/rules/files/{file}", "one rule file, as JSON or raw XML",
     LIST ",raw,relative_dirname", JSON},
    {"PUT", "/rules/files/{file}", "write a local rule file (validated, then reloaded)",
     "overwrite,relative_dirname", JSON},
    {"GET", "/decoders", "the decoders of the ruleset's files", LIST "," DECODER_FILTERS, JSON},
    {"GET", "/decoders/files", "the decoder files", LIST "," FILE_FILTERS, JSON},
    {"GET", "/decoders/files/{file}", "one decoder file, as JSON or raw XML",
     LIST ",raw,relative_dirname", JSON},
    {"PUT", "/decoders/files/{file}", "write a local decoder file (validated, then reloaded)",
     "overwrite,relative_dirname", JSON},
    {"GET", "/lists", "the CDB lists", LIST ",filename,relative_dirname", JSON},
    {"PUT", "/logtest", "one event through the engine, in a session", "", JSON},
    {"DELETE", "/logtest/sessions/{token}", "end a logtest session", "", JSON},
    {"GET", "/agents", "the agents with their live status", LIST ",status,name,ip", JSON},
    {"GET", "/agents/summary/status", "agents per connection state", "", JSON},
    {"DELETE", "/agents", "remove agents", "agents_list,status", JSON},
    {"PUT", "/manager/analysisd/reload", "reload the configuration and ruleset", "", JSON},
    {"GET", "/manager/logs", "the manager's log, newest first", LIST ",level,tag", JSON},
};
#define NDOCS (sizeof DOCS / sizeof *DOCS)

static const struct route_doc *doc_of(const struct tld_api_route *rt)
{
    for (size_t i = 0; i < NDOCS; i++)
        if (strcmp(DOCS[i].method, rt->method) == 0 && strcmp(DOCS[i].path, rt->path) == 0)
            return &DOCS[i];
    return NULL;
}

static bool in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len + (end != NULL);
    }
    return false;
}

bool tld_api_route_takes(const struct tld_api_route *rt, const char *name)
{
    const struct route_doc *d = doc_of(rt);
    return !d || in_list(d->params, name) || strcmp(name, "pretty") == 0 ||
           strcmp(name, "wait_for_complete") == 0;
}

static const struct param_doc *param_doc(const char *name)
{
    for (size_t i = 0; i < sizeof PARAMS / sizeof *PARAMS; i++)
        if (strcmp(PARAMS[i].name, name) == 0)
            return &PARAMS[i];
    return NULL;
}

static void add_param(cJSON *list, const char *name, const char *in)
{
    const struct param_doc *pd = param_doc(name);
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "name", name);
    cJSON_AddStringToObject(p, "in", in);
    cJSON_AddBoolToObject(p, "required", strcmp(in, "path") == 0);
    const char *path_what = strcmp(name, "file") == 0    ? "a file's base name"
                            : strcmp(name, "token") == 0 ? "a logtest session's token"
                                                         : "the alert's id";
    cJSON_AddStringToObject(p, "description", pd ? pd->what : path_what);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "schema"), "type", pd ? pd->type : "string");
    cJSON_AddItemToArray(list, p);
}

static void add_params(cJSON *op, const struct tld_api_route *rt, const struct route_doc *d)
{
    cJSON *list = cJSON_AddArrayToObject(op, "parameters");
    const char *brace = strchr(rt->path, '{');
    if (brace) {
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(brace + 1, "}"), brace + 1);
        add_param(list, name, "path");
    }
    char names[512];
    snprintf(names, sizeof names, "%s%spretty,wait_for_complete", d->params, *d->params ? "," : "");
    for (char *save = NULL, *n = strtok_r(names, ",", &save); n; n = strtok_r(NULL, ",", &save))
        add_param(list, n, "query");
}

static void add_response(cJSON *responses, const char *code, const char *what, const char *ctype)
{
    cJSON *r = cJSON_AddObjectToObject(responses, code);
    cJSON_AddStringToObject(r, "description", what);
    if (ctype) {
        cJSON *c = cJSON_AddObjectToObject(cJSON_AddObjectToObject(r, "content"), ctype);
        cJSON_AddStringToObject(cJSON_AddObjectToObject(c, "schema"), "type",
                                strcmp(ctype, JSON) == 0 ? "object" : "string");
    }
}

static void add_operation(cJSON *paths, const struct tld_api_route *rt, const struct route_doc *d)
{
    cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, rt->path);
    if (!item)
        item = cJSON_AddObjectToObject(paths, rt->path);
    char method[16];
    size_t i = 0;
    for (; rt->method[i] && i < sizeof method - 1; i++)
        method[i] = (char)(rt->method[i] | 0x20);
    method[i] = 0;
    cJSON *op = cJSON_AddObjectToObject(item, method);
    cJSON_AddStringToObject(op, "summary", d->summary);
    cJSON *roles = cJSON_AddArrayToObject(op, "x-roles");
    for (unsigned b = 1; b <= TLD_ROLE_READONLY; b <<= 1)
        if (rt->roles & b)
            cJSON_AddItemToArray(roles, cJSON_CreateString(tld_api_role_name(b)));
    cJSON *sec = cJSON_AddArrayToObject(op, "security");
    cJSON_AddItemToArray(sec, cJSON_CreateObject());
    cJSON_AddArrayToObject(sec->child, rt->roles ? "bearer" : "basic");
    add_params(op, rt, d);
    cJSON *resp = cJSON_AddObjectToObject(op, "responses");
    add_response(resp, "200", "success", d->ctype);
    add_response(resp, "400", "a parameter is not valid (detail says which)", JSON);
    add_response(resp, "401", rt->roles ? "no valid token" : "wrong credentials", JSON);
    if (rt->roles)
        add_response(resp, "403", "the user's role may not use this route", JSON);
    if (rt->roles != TLD_ROLES_ALL)
        return;
    if (strncmp(rt->path, "/alerts", 7) == 0)
        add_response(resp, "503", "the alert store is not available", JSON);
}

static cJSON *document(const char *host, unsigned port)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "openapi", "3.1.0");
    cJSON *info = cJSON_AddObjectToObject(doc, "info");
    cJSON_AddStringToObject(info, "title", "ThreatLockDown API");
    cJSON_AddStringToObject(info, "version", TLD_VERSION);
    cJSON_AddStringToObject(info, "description",
                            "Wazuh-shaped server API with alert search (docs/api.md). "
                            "x-roles: the roles allowed on an operation.");
    char url[320];
    snprintf(url, sizeof url, "https://%s:%u/", host, port);
    cJSON *server = cJSON_CreateObject();
    cJSON_AddStringToObject(server, "url", url);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(doc, "servers"), server);
    cJSON *schemes =
        cJSON_AddObjectToObject(cJSON_AddObjectToObject(doc, "components"), "securitySchemes");
    cJSON *bearer = cJSON_AddObjectToObject(schemes, "bearer");
    cJSON_AddStringToObject(bearer, "type", "http");
    cJSON_AddStringToObject(bearer, "scheme", "bearer");
    cJSON_AddStringToObject(bearer, "bearerFormat", "JWT");
    cJSON *basic = cJSON_AddObjectToObject(schemes, "basic");
    cJSON_AddStringToObject(basic, "type", "http");
    cJSON_AddStringToObject(basic, "scheme", "basic");
    cJSON *paths = cJSON_AddObjectToObject(doc, "paths");
    size_t n;
    const struct tld_api_route *rt = tld_api_routes(&n);
    for (size_t i = 0; i < n; i++) {
        const struct route_doc *d = doc_of(&rt[i]);
        if (d)
            add_operation(paths, &rt[i], d);
    }
    return doc;
}

int tld_api_h_openapi(struct tld_api_req *r)
{
    cJSON *doc = document(r->api->cfg->local_ip, r->api->cfg->port);
    char *text = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!text)
        return TLD_ENOMEM;
    r->status = 200;
    tld_sb_append_cstr(&r->out, text);
    free(text);
    return 0;
}
