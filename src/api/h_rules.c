/*
 * GET /rules and /rules/groups: the rules the manager's ruleset loads, as Wazuh lists them.
 * The facts come from the engine's loaded rule set (what matching uses); `details` comes from
 * the rule's own XML element (its options and tests as written). Compliance groups are split
 * out of the group string by their prefixes, as Wazuh does.
 */
#include <stdlib.h>
#include <string.h>

#include "api/items.h"
#include "api/mgmt.h"
#include "api/rscache.h"
#include "api/xmljson.h"
#include "common/xml.h"
#include "engine/ruleset.h"

/* Group prefixes that are compliance requirements, and the item field each one fills. */
static const struct {
    const char *prefix, *field;
} COMPLIANCE[] = {
    {"pci_dss_", "pci_dss"},         {"gdpr_", "gdpr"}, {"hipaa_", "hipaa"},
    {"nist_800_53_", "nist_800_53"}, {"tsc_", "tsc"},   {"gpg13_", "gpg13"},
};
#define NCOMPLIANCE (sizeof COMPLIANCE / sizeof *COMPLIANCE)

/* What a rule's details leave out: what the item shows in its own fields. */
static const char *const DETAIL_SKIP[] = {"description", "group", "mitre", "info", "options", NULL};

/* The parsed rule files of one request, each parsed once. */
struct docs {
    const char *path[512];
    struct tld_xml_doc *doc[512];
    size_t n;
};

static const struct tld_xml_node *find_line(const struct tld_xml_node *n, unsigned line)
{
    for (; n; n = n->next) {
        if (n->line == line && strcmp(n->name, "rule") == 0)
            return n;
        const struct tld_xml_node *in = find_line(n->children, line);
        if (in)
            return in;
    }
    return NULL;
}

static const struct tld_xml_node *rule_node(struct docs *d, const char *path, unsigned line)
{
    size_t i = 0;
    while (i < d->n && strcmp(d->path[i], path) != 0)
        i++;
    if (i == d->n) {
        if (d->n == sizeof d->path / sizeof *d->path)
            return NULL;
        struct tld_diag quiet;
        tld_diag_init(&quiet);
        d->path[i] = path;
        d->doc[i] = NULL;
        tld_xml_load(path, &d->doc[i], &quiet);
        tld_diag_fini(&quiet);
        d->n++;
    }
    return d->doc[i] ? find_line(d->doc[i]->roots, line) : NULL;
}

static void docs_fini(struct docs *d)
{
    for (size_t i = 0; i < d->n; i++)
        tld_xml_free(d->doc[i]);
}

static void add_groups(cJSON *item, const char *groups)
{
    cJSON *g = cJSON_AddArrayToObject(item, "groups");
    cJSON *comp[NCOMPLIANCE];
    for (size_t k = 0; k < NCOMPLIANCE; k++)
        comp[k] = cJSON_CreateArray();
    struct tld_sv all = tld_sv_of(groups ? groups : ""), piece;
    size_t at = 0;
    while (tld_sv_next_piece(all, ',', &at, &piece)) {
        piece = tld_sv_trim(piece);
        if (!piece.n)
            continue;
        size_t k = 0;
        while (k < NCOMPLIANCE && !tld_sv_starts_with(piece, tld_sv_of(COMPLIANCE[k].prefix)))
            k++;
        if (k < NCOMPLIANCE) {
            size_t pl = strlen(COMPLIANCE[k].prefix);
            cJSON_AddItemToArray(comp[k], tld_api_json_sv(tld_sv_make(piece.p + pl, piece.n - pl)));
        } else {
            cJSON_AddItemToArray(g, tld_api_json_sv(piece));
        }
    }
    for (size_t k = 0; k < NCOMPLIANCE; k++)
        cJSON_AddItemToObject(item, COMPLIANCE[k].field, comp[k]);
}

static void add_mitre(cJSON *item, const struct tld_rule *rule)
{
    cJSON *m = cJSON_AddArrayToObject(item, "mitre");
    for (unsigned i = 0; i < rule->n_mitre_ids; i++)
        cJSON_AddItemToArray(m, cJSON_CreateString(rule->mitre_ids[i]));
    for (unsigned i = 0; i < rule->n_mitre_pairs; i++) {
        const char *t = rule->mitre_pairs[i].technique;
        bool seen = false;
        const cJSON *e;
        cJSON_ArrayForEach(e, m) seen = seen || strcmp(e->valuestring, t) == 0;
        if (!seen)
            cJSON_AddItemToArray(m, cJSON_CreateString(t));
    }
}

static const char *reldir_of(const struct tld_api_rs_file *files, size_t n, const char *path)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i].path, path) == 0)
            return files[i].reldir;
    return "";
}

/* The item without its details (which need the XML: added to the items that are kept). */
static cJSON *rule_item(const struct tld_rule *rule, const char *reldir)
{
    cJSON *o = cJSON_CreateObject();
    const char *slash = rule->file ? strrchr(rule->file, '/') : NULL;
    cJSON_AddNumberToObject(o, "id", rule->id);
    cJSON_AddNumberToObject(o, "level", rule->level);
    cJSON_AddStringToObject(o, "description", rule->description ? rule->description : "");
    add_groups(o, rule->groups);
    add_mitre(o, rule);
    cJSON_AddStringToObject(o, "filename", slash ? slash + 1 : rule->file ? rule->file : "");
    cJSON_AddStringToObject(o, "relative_dirname", reldir);
    cJSON_AddStringToObject(o, "status", "enabled");
    return o;
}

/* Whether the array has the string value (exact). */
static bool arr_has(const cJSON *arr, const char *value)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        if (cJSON_IsString(e) && strcmp(e->valuestring, value) == 0)
            return true;
    }
    return false;
}

static bool array_has(const cJSON *item, const char *field, const char *value)
{
    return arr_has(cJSON_GetObjectItemCaseSensitive(item, field), value);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Append the plain groups of one group string (compliance groups left out) to *v. */
static int collect_groups(const char *groups, char ***v, size_t *n, size_t *cap)
{
    struct tld_sv all = tld_sv_of(groups ? groups : ""), piece;
    size_t at = 0;
    while (tld_sv_next_piece(all, ',', &at, &piece)) {
        piece = tld_sv_trim(piece);
        bool comp = false;
        for (size_t k = 0; k < NCOMPLIANCE && !comp; k++)
            comp = tld_sv_starts_with(piece, tld_sv_of(COMPLIANCE[k].prefix));
        if (!piece.n || comp)
            continue;
        if (*n == *cap) {
            size_t ncap = *cap ? *cap * 2 : 1024;
            char **nv = realloc(*v, ncap * sizeof *nv);
            if (!nv)
                return TLD_ENOMEM;
            *v = nv;
            *cap = ncap;
        }
        if (!((*v)[*n] = strndup(piece.p, piece.n)))
            return TLD_ENOMEM;
        (*n)++;
    }
    return 0;
}

/* The group names of every rule, each once, sorted. */
static cJSON *group_names(const struct tld_rules *rules)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    unsigned count = tld_rules_count(rules);
    for (unsigned i = 0; rc == 0 && i < count; i++)
        rc = collect_groups(tld_rules_at(rules, i)->groups, &v, &n, &cap);
    cJSON *out = rc == 0 ? cJSON_CreateArray() : NULL;
    if (out)
        qsort(v, n, sizeof *v, by_name);
    for (size_t i = 0; out && i < n; i++)
        if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
            cJSON_AddItemToArray(out, cJSON_CreateString(v[i]));
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    return out;
}

static const char *const RULE_FILTERS[] = {
    "rule_ids",    "level",   "group", "filename", "relative_dirname",
    "status",      "pci_dss", "gdpr",  "mitre",    "hipaa",
    "nist-800-53", "tsc",     "gpg13", NULL};

struct rule_filter {
    unsigned lo, hi;
    const struct tld_api_params *p;
};

static bool rule_ids_have(const char *csv, unsigned id)
{
    char num[16];
    snprintf(num, sizeof num, "%u", id);
    return tld_api_csv_has(csv, num);
}

static bool keep_rule(const struct rule_filter *f, const struct tld_rule *rule, const cJSON *it)
{
    const struct tld_api_params *p = f->p;
    const char *v;
    if ((v = tld_api_param_filter(p, "rule_ids")) && !rule_ids_have(v, rule->id))
        return false;
    if (rule->level < f->lo || rule->level > f->hi)
        return false;
    if ((v = tld_api_param_filter(p, "group")) && !array_has(it, "groups", v))
        return false;
    if (!tld_api_file_filters_keep(p, cJSON_GetObjectItem(it, "filename")->valuestring,
                                   cJSON_GetObjectItem(it, "relative_dirname")->valuestring,
                                   "enabled"))
        return false;
    static const char *const comp[][2] = {{"pci_dss", "pci_dss"}, {"gdpr", "gdpr"},
                                          {"hipaa", "hipaa"},     {"nist-800-53", "nist_800_53"},
                                          {"tsc", "tsc"},         {"gpg13", "gpg13"},
                                          {"mitre", "mitre"}};
    for (size_t k = 0; k < sizeof comp / sizeof *comp; k++)
        if ((v = tld_api_param_filter(p, comp[k][0])) && !array_has(it, comp[k][1], v))
            return false;
    return true;
}

/* The ruleset as on disk; on failure r is answered. */
static bool ruleset_of(struct tld_api_req *r, const struct tld_api_rsconf *cfg,
                       struct tld_ruleset **rs)
{
    struct tld_diag diag;
    tld_diag_init(&diag);
    int rc =
        tld_api_rscache_get(r->api->rscache, cfg, r->api->root, r->api->config_path, rs, &diag);
    if (rc) {
        char why[TLD_WHY_MAX];
        snprintf(why, sizeof why, "the ruleset does not load: %.200s",
                 tld_api_diag_error(&diag, tld_err_str(rc)));
        tld_api_error(r, 503, why);
    }
    tld_diag_fini(&diag);
    return rc == 0;
}

/* Every rule as an item, filtered (groups_only: the group names instead). */
static int rules_listing(struct tld_api_req *r, bool groups_only)
{
    struct rule_filter f = {0, 16, &r->params};
    const char *lv = tld_api_param_filter(&r->params, "level");
    if (!tld_api_filters_only(r, groups_only ? (const char *const[]){NULL} : RULE_FILTERS))
        return 0;
    if (lv && !tld_api_parse_range(lv, 16, &f.lo, &f.hi)) {
        tld_api_error(r, 400, "level: a level (5) or a range (3-10)");
        return 0;
    }
    struct tld_api_rsconf cfg;
    struct tld_api_rs_file *files = NULL;
    size_t nfiles = 0;
    if (!tld_api_rs_files_get(r, TLD_API_RS_RULES, &cfg, &files, &nfiles))
        return 0;
    struct tld_ruleset *rs = NULL;
    int rc = 0;
    ruleset_of(r, &cfg, &rs);
    struct docs docs = {.n = 0};
    cJSON *items = rs ? (groups_only ? group_names(rs->rules) : cJSON_CreateArray()) : NULL;
    unsigned n = rs && !groups_only ? tld_rules_count(rs->rules) : 0;
    for (unsigned i = 0; items && i < n; i++) {
        const struct tld_rule *rule = tld_rules_at(rs->rules, i);
        const char *file = rule->file ? rule->file : "";
        cJSON *it = rule_item(rule, reldir_of(files, nfiles, file));
        if (keep_rule(&f, rule, it)) {
            cJSON_AddItemToObject(it, "details",
                                  tld_api_xml_details(rule_node(&docs, file, rule->line),
                                                      (const char *const[]){"id", "level", NULL},
                                                      DETAIL_SKIP));
            cJSON_AddItemToArray(items, it);
        } else {
            cJSON_Delete(it);
        }
    }
    if (items)
        rc = tld_api_items_reply(r, items, groups_only ? "the rules' groups" : "rules");
    docs_fini(&docs);
    free(files);
    if (rs)
        tld_ruleset_unref(rs);
    tld_api_rsconf_fini(&cfg);
    return rc;
}

int tld_api_h_rules(struct tld_api_req *r)
{
    return rules_listing(r, false);
}

int tld_api_h_rules_groups(struct tld_api_req *r)
{
    return rules_listing(r, true);
}
