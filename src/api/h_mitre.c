/*
 * The MITRE ATT&CK routes: the tactics and techniques of the table alerts are enriched from
 * (the engine's), paged with offset/limit and filtered by `search` (a case-insensitive substring
 * of the id or the name), for the dashboard's Framework view.
 */
#include <string.h>
#include <strings.h>

#include "api/api.h"
#include "engine/alert.h"

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++)
        if (strncasecmp(p, needle, n) == 0)
            return true;
    return n == 0;
}

static bool row_matches(const struct tld_mitre_row *row, const char *search)
{
    return !search || contains_nocase(row->id, search) || contains_nocase(row->name, search);
}

static void row_json(struct tld_sb *out, const struct tld_mitre_row *row, bool technique)
{
    tld_sb_append_cstr(out, "{\"external_id\":");
    tld_api_json_str(out, row->id, strlen(row->id));
    tld_sb_append_cstr(out, ",\"name\":");
    tld_api_json_str(out, row->name, strlen(row->name));
    if (technique) {
        tld_sb_append_cstr(out, ",\"tactics\":[");
        for (unsigned k = 0; k < row->ntactics; k++) {
            if (k)
                tld_sb_append_char(out, ',');
            tld_api_json_str(out, row->tactics[k], strlen(row->tactics[k]));
        }
        tld_sb_append_char(out, ']');
    }
    tld_sb_append_char(out, '}');
}

static int listing(struct tld_api_req *r, bool techniques)
{
    const struct tld_api_params *p = &r->params;
    if (p->q || p->nselect || p->have_after) {
        tld_api_error(r, 400, "this route takes offset, limit and search");
        return 0;
    }
    unsigned n = techniques ? tld_mitre_technique_count() : tld_mitre_tactic_count();
    struct tld_api_env e;
    uint64_t total = 0;
    r->status = 200;
    tld_api_env_begin(&e, &r->out);
    for (unsigned i = 0; i < n; i++) {
        struct tld_mitre_row row;
        if (techniques)
            tld_mitre_technique_row(i, &row);
        else
            tld_mitre_tactic_row(i, &row);
        if (!row_matches(&row, p->search))
            continue;
        if (total++ < p->offset || e.nitems >= p->limit)
            continue;
        tld_api_env_next(&e);
        row_json(&r->out, &row, techniques);
    }
    tld_api_env_end(&e, total, NULL,
                    techniques ? "MITRE ATT&CK techniques" : "MITRE ATT&CK tactics");
    return 0;
}

int tld_api_h_mitre_tactics(struct tld_api_req *r)
{
    return listing(r, false);
}

int tld_api_h_mitre_techniques(struct tld_api_req *r)
{
    return listing(r, true);
}
