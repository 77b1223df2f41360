/*
 * Checking and reading the API's request parameters (params.h). Every value is matched against
 * its exact form; the only free text (q, search) is handed on untouched to code that parses it.
 */
#include "api/params.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/conftab.h"
#include "common/str.h"
#include "store/query.h"

void tld_api_params_init(struct tld_api_params *p)
{
    memset(p, 0, sizeof *p);
    p->limit = TLD_API_DEFAULT_LIMIT;
    p->from_ms = 0;
    p->to_ms = INT64_MAX;
    p->size = 5;
    p->track_total = TLD_API_TRACK_TOTAL;
}

static bool number(const char *s, unsigned long long max, unsigned long long *out)
{
    return tld_sv_to_u64(tld_sv_of(s), max, out);
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int tld_api_parse_time(const char *s, int64_t *ms)
{
    size_t n = strlen(s);
    unsigned long long v;
    if (n <= 16 && number(s, 253402300799999ULL, &v)) {
        *ms = (int64_t)v;
        return 0;
    }
    /* YYYY-MM-DDTHH:MM:SS[.mmm]Z */
    if ((n != 20 && n != 24) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[n - 1] != 'Z')
        return TLD_EINVAL;
    static const size_t at[] = {0, 5, 8, 11, 14, 17};
    static const size_t len[] = {4, 2, 2, 2, 2, 2};
    int f[6];
    for (int i = 0; i < 6; i++) {
        if (!all_digits(s + at[i], len[i]))
            return TLD_EINVAL;
        f[i] = digits(s + at[i], len[i]);
    }
    int frac = 0;
    if (n == 24) {
        if (s[19] != '.' || !all_digits(s + 20, 3))
            return TLD_EINVAL;
        frac = digits(s + 20, 3);
    }
    if (f[0] < 1970 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 ||
        f[5] > 60)
        return TLD_EINVAL;
    struct tm tm = {.tm_year = f[0] - 1900,
                    .tm_mon = f[1] - 1,
                    .tm_mday = f[2],
                    .tm_hour = f[3],
                    .tm_min = f[4],
                    .tm_sec = f[5]};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return TLD_EINVAL;
    *ms = (int64_t)t * 1000 + frac;
    return 0;
}

static int bad(char why[TLD_WHY_MAX], const char *key, const char *what)
{
    snprintf(why, TLD_WHY_MAX, "%s: %s", key, what);
    return TLD_EINVAL;
}

static int set_sort(struct tld_api_params *p, const char *v, char why[TLD_WHY_MAX])
{
    const char *f = v;
    bool asc = true;
    if (*f == '+' || *f == '-') {
        asc = *f == '+';
        f++;
    }
    if (strcmp(f, "timestamp") == 0) {
        p->ascending = asc;
        return 0;
    }
    /* Other routes sort by their own fields: "+level,-id" (checked against the items there). */
    struct tld_sv all = tld_sv_of(v), piece;
    size_t at = 0, n = 0;
    while (tld_sv_next_piece(all, ',', &at, &piece)) {
        if (piece.n && (piece.p[0] == '+' || piece.p[0] == '-'))
            piece = tld_sv_make(piece.p + 1, piece.n - 1);
        if (!tld_query_valid_field(piece.p, piece.n) || ++n > 8)
            return bad(why, "sort", "'+field' or '-field', comma-separated (alerts: timestamp)");
    }
    if (!n)
        return bad(why, "sort", "no field named");
    p->sort_by = v;
    return 0;
}

/* Route filters: taken as they are here, judged by the routes that have them. */
static const char *const FILTER_NAMES[] = {
    "rule_ids", "level",       "group", "filename",  "relative_dirname", "status",  "pci_dss",
    "gdpr",     "mitre",       "raw",   "overwrite", "agents_list",      "name",    "ip",
    "hipaa",    "nist-800-53", "tsc",   "gpg13",     "decoder_names",    "parents", "tag",
};

static int set_filter(struct tld_api_params *p, const char *key, const char *val,
                      char why[TLD_WHY_MAX])
{
    for (size_t i = 0; i < p->nfilters; i++)
        if (strcmp(p->filters[i].key, key) == 0)
            return bad(why, key, "given twice");
    if (p->nfilters == TLD_API_FILTERS_MAX)
        return bad(why, key, "too many filters");
    p->filters[p->nfilters++] = (struct tld_api_filter){key, val};
    return 0;
}

const char *tld_api_param_filter(const struct tld_api_params *p, const char *key)
{
    for (size_t i = 0; i < p->nfilters; i++)
        if (strcmp(p->filters[i].key, key) == 0)
            return p->filters[i].val;
    return NULL;
}

static int set_select(struct tld_api_params *p, const char *key, const char *v,
                      char why[TLD_WHY_MAX])
{
    struct tld_sv all = tld_sv_of(v), piece;
    size_t at = 0;
    p->nselect = 0;
    while (tld_sv_next_piece(all, ',', &at, &piece)) {
        piece = tld_sv_trim(piece);
        if (p->nselect == TLD_API_SELECT_MAX)
            return bad(why, key, "too many fields");
        if (piece.n == 0 || piece.n >= sizeof p->select[0] ||
            !tld_query_valid_field(piece.p, piece.n))
            return bad(why, key, "not a field name");
        memcpy(p->select[p->nselect], piece.p, piece.n);
        p->select[p->nselect++][piece.n] = 0;
    }
    return p->nselect ? 0 : bad(why, key, "no field named");
}

static int set_after(struct tld_api_params *p, const char *v, char why[TLD_WHY_MAX])
{
    const char *us = strchr(v, '_');
    unsigned long long ts, id;
    if (!us || !tld_sv_to_u64(tld_sv_make(v, (size_t)(us - v)), INT64_MAX, &ts) ||
        !number(us + 1, INT64_MAX, &id))
        return bad(why, "after", "not a cursor (next_cursor of a previous page)");
    p->after.ts_ms = (int64_t)ts;
    p->after.id = (int64_t)id;
    p->have_after = true;
    return 0;
}

static int set_interval(struct tld_api_params *p, const char *v, char why[TLD_WHY_MAX])
{
    int64_t secs;
    if (strcmp(v, "auto") == 0) {
        p->interval_ms = 0;
        return 0;
    }
    if (tld_conf_parse_duration(v, &secs) != 0 || secs < 1 || secs > 366LL * 86400)
        return bad(why, "interval", "a duration (1s to 366d) or 'auto'");
    p->interval_ms = secs * 1000;
    return 0;
}

int tld_api_param_set(struct tld_api_params *p, const char *key, const char *val,
                      char why[TLD_WHY_MAX])
{
    unsigned long long n;
    if (!val)
        val = "";
    if (strlen(val) > TLD_API_PARAM_MAX)
        return bad(why, key, "value too long");
    if (strcmp(key, "offset") == 0) {
        if (!number(val, TLD_API_OFFSET_MAX, &n))
            return bad(why, key, "a whole number up to 1000000 (deeper: the cursor, 'after')");
        p->offset = (size_t)n;
    } else if (strcmp(key, "limit") == 0) {
        if (!number(val, TLD_API_LIMIT_MAX, &n) || n == 0)
            return bad(why, key, "a whole number from 1 to 100000");
        p->limit = (size_t)n;
    } else if (strcmp(key, "sort") == 0) {
        return set_sort(p, val, why);
    } else if (strcmp(key, "select") == 0 || strcmp(key, "fields") == 0) {
        return set_select(p, key, val, why);
    } else if (strcmp(key, "last_event_id") == 0) {
        if (!number(val, INT64_MAX, &n))
            return bad(why, key, "an event id (a whole number)");
        p->last_event_id = (int64_t)n;
        p->have_last_event_id = true;
    } else if (strcmp(key, "q") == 0) {
        p->q = val;
    } else if (strcmp(key, "search") == 0) {
        p->search = val;
    } else if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0) {
        int64_t ms;
        if (tld_api_parse_time(val, &ms) != 0)
            return bad(why, key, "epoch milliseconds or YYYY-MM-DDTHH:MM:SS[.mmm]Z");
        *(key[0] == 'f' ? &p->from_ms : &p->to_ms) = ms;
    } else if (strcmp(key, "after") == 0) {
        return set_after(p, val, why);
    } else if (strcmp(key, "track_total_hits") == 0) {
        if (strcmp(val, "true") == 0)
            p->track_total = UINT64_MAX;
        else if (number(val, INT64_MAX, &n))
            p->track_total = n;
        else
            return bad(why, key, "a whole number (count exactly up to it) or 'true' (count all)");
    } else if (strcmp(key, "field") == 0) {
        if (!tld_query_valid_field(val, strlen(val)))
            return bad(why, key, "not a field name");
        p->field = val;
    } else if (strcmp(key, "size") == 0) {
        if (!number(val, 1000, &n) || n == 0)
            return bad(why, key, "a whole number from 1 to 1000");
        p->size = (size_t)n;
    } else if (strcmp(key, "interval") == 0) {
        return set_interval(p, val, why);
    } else if (tld_conf_in_list(key, FILTER_NAMES, sizeof FILTER_NAMES / sizeof *FILTER_NAMES)) {
        return set_filter(p, key, val, why);
    } else if (strcmp(key, "pretty") != 0 && strcmp(key, "wait_for_complete") != 0) {
        return bad(why, key, "unknown parameter");
    }
    return 0;
}
