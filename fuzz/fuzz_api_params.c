/*
 * libFuzzer harness for tld-api's request parameters: the input is a query string
 * ("k=v&k=v", no percent-decoding: the HTTP layer has done it) handed pair by pair to the
 * parameter parser, as a request's arguments are. Beyond not crashing: a refusal always says
 * why; an accepted set of parameters keeps every bound (limit, offset, size, select count and
 * field names, a time range from accepted times, one value per route filter, a sort by fields
 * made of field names); an accepted q is then parsed as a query.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/params.h"
#include "store/query.h"

static void check(const struct tld_api_params *p)
{
    if (p->limit < 1 || p->limit > TLD_API_LIMIT_MAX || p->size < 1 || p->size > 1000 ||
        p->nselect > TLD_API_SELECT_MAX || p->offset > TLD_API_OFFSET_MAX || p->interval_ms < 0)
        abort();
    for (size_t i = 0; i < p->nselect; i++)
        if (!tld_query_valid_field(p->select[i], strlen(p->select[i])))
            abort();
    if (p->field && !tld_query_valid_field(p->field, strlen(p->field)))
        abort();
    if (p->have_after && (p->after.ts_ms < 0 || p->after.id < 0))
        abort();
    if (p->nfilters > TLD_API_FILTERS_MAX)
        abort();
    for (size_t i = 0; i < p->nfilters; i++)
        if (tld_api_param_filter(p, p->filters[i].key) != p->filters[i].val)
            abort(); /* one value per filter name */
    /* A sort by fields holds field names, signs and commas only: nothing else reaches a route. */
    for (const char *c = p->sort_by; c && *c; c++)
        if (*c != ',' && *c != '+' && *c != '-' && !tld_query_valid_field(c, 1) && *c != '.')
            abort();
    if (p->q) {
        struct tld_query *q = NULL;
        struct tld_query_error err;
        if (tld_query_parse(p->q, strlen(p->q), &q, &err) == 0)
            tld_query_free(q);
        else if (!err.msg[0] || err.off > strlen(p->q))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    struct tld_api_params p;
    tld_api_params_init(&p);
    bool ok = true;
    char *save = NULL;
    for (char *pair = strtok_r(text, "&", &save); pair && ok; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        if (eq)
            *eq = 0;
        char why[TLD_WHY_MAX] = "";
        if (tld_api_param_set(&p, pair, eq ? eq + 1 : NULL, why) != 0) {
            if (!why[0])
                abort();
            ok = false;
        }
    }
    if (ok)
        check(&p);
    free(text);
    return 0;
}
