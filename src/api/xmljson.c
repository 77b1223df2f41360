/* Ruleset XML as JSON (xmljson.h). */
#include "api/xmljson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cJSON *tld_api_json_sv(struct tld_sv s)
{
    char *t = strndup(s.p ? s.p : "", s.n);
    cJSON *j = cJSON_CreateString(t ? t : "");
    free(t);
    return j;
}

static bool listed(const char *name, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

/* An element as Wazuh shows it in details: its text, or {"pattern": text, attributes...}. */
static cJSON *detail_value(const struct tld_xml_node *c)
{
    if (!c->nattrs)
        return tld_api_json_sv(c->text);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "pattern", tld_api_json_sv(c->text));
    for (unsigned i = 0; i < c->nattrs; i++)
        cJSON_AddItemToObject(o, c->attrs[i].name, tld_api_json_sv(c->attrs[i].value));
    return o;
}

cJSON *tld_api_xml_details(const struct tld_xml_node *n, const char *const *skip_attrs,
                           const char *const *skip_children)
{
    cJSON *o = cJSON_CreateObject();
    for (unsigned i = 0; n && i < n->nattrs; i++)
        if (!listed(n->attrs[i].name, skip_attrs))
            cJSON_AddItemToObject(o, n->attrs[i].name, tld_api_json_sv(n->attrs[i].value));
    for (const struct tld_xml_node *c = n ? n->children : NULL; c; c = c->next) {
        if (listed(c->name, skip_children) || cJSON_GetObjectItemCaseSensitive(o, c->name))
            continue; /* repeated tests: the first, as Wazuh's single value */
        cJSON_AddItemToObject(o, c->name, detail_value(c));
    }
    return o;
}

cJSON *tld_api_xml_json(const struct tld_xml_node *n)
{
    if (!n->nattrs && !n->children)
        return tld_api_json_sv(n->text);
    cJSON *o = cJSON_CreateObject();
    char key[160];
    for (unsigned i = 0; i < n->nattrs; i++) {
        snprintf(key, sizeof key, "@%s", n->attrs[i].name);
        cJSON_AddItemToObject(o, key, tld_api_json_sv(n->attrs[i].value));
    }
    for (const struct tld_xml_node *c = n->children; c; c = c->next) {
        cJSON *prev = cJSON_GetObjectItemCaseSensitive(o, c->name);
        if (!prev) {
            cJSON_AddItemToObject(o, c->name, tld_api_xml_json(c));
            continue;
        }
        if (!cJSON_IsArray(prev)) {
            cJSON *arr = cJSON_CreateArray();
            cJSON_AddItemToArray(arr, cJSON_Duplicate(prev, true));
            cJSON_ReplaceItemInObjectCaseSensitive(o, c->name, arr);
            prev = arr;
        }
        cJSON_AddItemToArray(prev, tld_api_xml_json(c));
    }
    if (n->text.n && !n->children)
        cJSON_AddItemToObject(o, "#text", tld_api_json_sv(n->text));
    return o;
}
