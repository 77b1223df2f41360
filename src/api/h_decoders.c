/*
 * GET /decoders and GET /lists. Decoders are listed from their files as written (name, parent,
 * the tests and the order of fields), in the load order the engine uses; `position` counts the
 * decoders before it in its file, as Wazuh does. CDB lists are the files the ruleset registers,
 * read as `key:value` lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/items.h"
#include "api/mgmt.h"
#include "api/xmljson.h"
#include "common/xml.h"

static const char *const DECODER_FILTERS[] = {"decoder_names", "filename", "relative_dirname",
                                              "status",        "parents",  NULL};

static bool keep_decoder(const struct tld_api_params *p, bool parents_only, const cJSON *it)
{
    const char *v;
    const cJSON *parent = tld_api_item_get(it, "details.parent");
    if ((v = tld_api_param_filter(p, "decoder_names")) &&
        !tld_api_csv_has(v, cJSON_GetObjectItem(it, "name")->valuestring))
        return false;
    if (parents_only && parent)
        return false;
    return tld_api_file_filters_keep(p, cJSON_GetObjectItem(it, "filename")->valuestring,
                                     cJSON_GetObjectItem(it, "relative_dirname")->valuestring,
                                     cJSON_GetObjectItem(it, "status")->valuestring);
}

static void file_decoders(const struct tld_api_rs_file *f, cJSON *all)
{
    struct tld_xml_doc *doc = NULL;
    struct tld_diag quiet;
    tld_diag_init(&quiet);
    int position = 0;
    if (tld_xml_load(f->path, &doc, &quiet) == 0) {
        for (const struct tld_xml_node *n = doc->roots; n; n = n->next) {
            const struct tld_sv *name = tld_xml_attr(n, "name");
            if (strcmp(n->name, "decoder") != 0 || !name)
                continue;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddItemToObject(o, "name", tld_api_json_sv(*name));
            cJSON_AddNumberToObject(o, "position", position++);
            cJSON_AddStringToObject(o, "status", f->enabled ? "enabled" : "disabled");
            cJSON_AddItemToObject(
                o, "details", tld_api_xml_details(n, (const char *const[]){"name", NULL}, NULL));
            cJSON_AddStringToObject(o, "filename", f->name);
            cJSON_AddStringToObject(o, "relative_dirname", f->reldir);
            cJSON_AddItemToArray(all, o);
        }
    }
    tld_xml_free(doc);
    tld_diag_fini(&quiet);
}

int tld_api_h_decoders(struct tld_api_req *r)
{
    if (!tld_api_filters_only(r, DECODER_FILTERS))
        return 0;
    bool parents_only;
    if (!tld_api_bool_param(r, "parents", &parents_only))
        return 0;
    struct tld_api_rsconf cfg;
    struct tld_api_rs_file *files = NULL;
    size_t n = 0;
    if (!tld_api_rs_files_get(r, TLD_API_RS_DECODERS, &cfg, &files, &n))
        return 0;
    int rc = 0;
    cJSON *all = cJSON_CreateArray();
    for (size_t i = 0; all && i < n; i++)
        file_decoders(&files[i], all);
    cJSON *items = all ? cJSON_CreateArray() : NULL;
    while (all && all->child) {
        cJSON *it = cJSON_DetachItemViaPointer(all, all->child);
        if (keep_decoder(&r->params, parents_only, it))
            cJSON_AddItemToArray(items, it);
        else
            cJSON_Delete(it);
    }
    cJSON_Delete(all);
    if (items)
        rc = tld_api_items_reply(r, items, "decoders");
    free(files);
    tld_api_rsconf_fini(&cfg);
    return rc;
}

/* ---- CDB lists ------------------------------------------------------------------------------- */

#define LIST_FILE_MAX (64u << 20)

/* The `key:value` lines of a list file (a key may be quoted when it holds ':'). */
static cJSON *list_entries(const char *path)
{
    cJSON *arr = cJSON_CreateArray();
    FILE *f = fopen(path, "r");
    char line[8192];
    size_t total = 0;
    while (f && fgets(line, sizeof line, f) && (total += strlen(line)) < LIST_FILE_MAX) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0])
            continue;
        char *key = line, *sep;
        if (key[0] == '"' && (sep = strstr(key + 1, "\":")) != NULL) {
            key++;
            *sep = 0;
            sep++;
        } else {
            sep = strchr(key, ':');
            if (sep)
                *sep = 0;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", key);
        cJSON_AddStringToObject(o, "value", sep ? sep + 1 : "");
        cJSON_AddItemToArray(arr, o);
    }
    if (f)
        fclose(f);
    return arr;
}

int tld_api_h_lists(struct tld_api_req *r)
{
    if (!tld_api_filters_only(r, (const char *const[]){"filename", "relative_dirname", NULL}))
        return 0;
    struct tld_api_rsconf cfg;
    if (!tld_api_rsconf_get(r, &cfg))
        return 0;
    struct tld_ruleset_list *lists = NULL;
    unsigned n = 0;
    struct tld_diag quiet;
    tld_diag_init(&quiet);
    int rc = tld_api_rs_lists(&cfg, r->api->root, &lists, &n, &quiet);
    tld_diag_fini(&quiet);
    cJSON *items = rc == 0 ? cJSON_CreateArray() : NULL;
    for (unsigned i = 0; items && i < n; i++) {
        char dir[4096];
        const char *slash = strrchr(lists[i].name, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - lists[i].name) : 0, lists[i].name);
        const char *base = slash ? slash + 1 : lists[i].name;
        if (!tld_api_file_filters_keep(&r->params, base, dir, NULL))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "items", list_entries(lists[i].path));
        cJSON_AddStringToObject(o, "relative_dirname", dir);
        cJSON_AddStringToObject(o, "filename", base);
        cJSON_AddItemToArray(items, o);
    }
    if (items)
        rc = tld_api_items_reply(r, items, "CDB lists");
    tld_ruleset_lists_free(lists, n);
    tld_api_rsconf_fini(&cfg);
    return rc;
}
