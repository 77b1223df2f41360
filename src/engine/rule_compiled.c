/*
 * The compiled-rule table (see rule_compiled.h). The first five rows are the predicates the Wazuh
 * ruleset names; their behaviour, including its odd corners, is the 4.14.7 one (rules.md §3).
 */
#include "engine/rule_compiled.h"

#include <string.h>

/* True unless both users are set and differ. */
static bool comp_srcuser_dstuser(const struct tld_event *ev)
{
    struct tld_sv s = ev->fields[TLD_F_SRCUSER], d = ev->fields[TLD_F_DSTUSER];
    if (!s.p || !d.p)
        return true;
    return tld_sv_eq(s, d);
}

/* The id has at least 10 characters. */
static bool check_id_size(const struct tld_event *ev)
{
    return ev->fields[TLD_F_ID].p && ev->fields[TLD_F_ID].n >= 10;
}

static const char *find_in(struct tld_sv s, const char *needle)
{
    if (!s.p)
        return NULL;
    return memmem(s.p, s.n, needle, strlen(needle));
}

/*
 * Windows "Target Account Name" differs from "Caller User Name": the values after each label's
 * ':' are compared byte by byte up to a tab or two spaces; a missing label is "no".
 */
static bool comp_mswin_targetuser_calleruser_diff(const struct tld_event *ev)
{
    struct tld_sv log = ev->log;
    const char *end = log.p ? log.p + log.n : NULL;
    const char *t = find_in(log, "Target Account Name");
    const char *c = find_in(log, "Caller User Name");
    if (!t || !c)
        return false;
    t = memchr(t, ':', (size_t)(end - t));
    c = memchr(c, ':', (size_t)(end - c));
    if (!t || !c)
        return false;
    for (t++, c++; t < end && *t; t++, c++) {
        char cc = c < end ? *c : '\0';
        if (*t != cc)
            return true;
        if (*t == '\t' || (*t == ' ' && t + 1 < end && t[1] == ' '))
            break;
    }
    return false;
}

/* A request without a query: the url is "/" or holds no '?'. */
static bool is_simple_http_request(const struct tld_event *ev)
{
    struct tld_sv url = ev->fields[TLD_F_URL];
    if (!url.p)
        return false;
    return tld_sv_eq_cstr(url, "/") || tld_sv_index(url, '?') < 0;
}

/* The log starts with an address prefix of a known search-engine crawler. */
static bool is_valid_crawler(const struct tld_event *ev)
{
    static const char *const prefixes[] = {"66.249.", "72.14.", "209.85.", "65.55.",
                                           "207.46.", "74.6.",  "72.30.",  "67.195."};
    for (unsigned i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
        if (ev->log.p && tld_sv_starts_with(ev->log, tld_sv_of(prefixes[i])))
            return true;
    return false;
}

static const struct {
    const char *name;
    tld_rule_compiled_fn fn;
} table[] = {
    {"comp_srcuser_dstuser", comp_srcuser_dstuser},
    {"check_id_size", check_id_size},
    {"comp_mswin_targetuser_calleruser_diff", comp_mswin_targetuser_calleruser_diff},
    {"is_simple_http_request", is_simple_http_request},
    {"is_valid_crawler", is_valid_crawler},
};

tld_rule_compiled_fn tld_rule_compiled_find(struct tld_sv name)
{
    for (unsigned i = 0; i < sizeof table / sizeof *table; i++)
        if (tld_sv_eq_cstr(name, table[i].name))
            return table[i].fn;
    return NULL;
}

const char *tld_rule_compiled_name(unsigned i)
{
    return i < sizeof table / sizeof *table ? table[i].name : NULL;
}
