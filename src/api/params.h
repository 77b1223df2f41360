/*
 * The request parameters of the API's list routes, Wazuh's names where Wazuh has them:
 *   offset, limit      paging (offset up to 1,000,000; limit 1..100000, default 500; /alerts
 *                      pages deeper by cursor)
 *   sort               `timestamp`, `+timestamp` or `-timestamp` on /alerts; on the other
 *                      list routes Wazuh's `+field,-other` (sort_by; /alerts refuses it)
 *   select             comma-separated dotted field names kept in each returned item
 *   fields             /alerts/export.csv: its columns, in the same form as select
 *   last_event_id      /alerts/stream: resume after this event id (as the Last-Event-ID header)
 *   q                  a query (docs/query.md on /alerts), checked by the route
 *   search             a free-text filter on list routes
 *   from, to           time range: epoch milliseconds or `YYYY-MM-DDTHH:MM:SS[.mmm]Z`
 *   after              /alerts cursor `<ts_ms>_<id>` from the previous page's `next_cursor`
 *   track_total_hits   /alerts: count matches exactly up to this many (default 10000; `true`:
 *                      all of them, however many); past it the total is a lower bound
 *   field, size        /alerts/terms: the field and how many values (1..1000, default 5)
 *   interval           /alerts/histogram: bucket width, a duration (`1h`, `30m`) or `auto`
 *   pretty, wait_for_complete   accepted for Wazuh clients, no effect
 *   rule_ids, level, group, ... the filters of the ruleset, agent and log routes (FILTER_NAMES
 *                      in params.c), kept as they are for the route to judge (filters)
 * An unknown name or a value out of its form is refused with a reason; nothing of a value ever
 * reaches SQL text (the store binds query values, and sort/select are matched here).
 */
#ifndef TLD_API_PARAMS_H
#define TLD_API_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

#define TLD_API_SELECT_MAX    32
#define TLD_API_LIMIT_MAX     100000
#define TLD_API_PARAM_MAX     4096 /* longest value */
#define TLD_API_DEFAULT_LIMIT 500
#define TLD_API_OFFSET_MAX    1000000 /* deeper pages go by cursor: an offset is read through */
#define TLD_API_FILTERS_MAX   16
#define TLD_API_TRACK_TOTAL   10000 /* /alerts counts exactly up to this by default */

struct tld_api_filter {
    const char *key, *val; /* borrowed */
};

struct tld_api_params {
    size_t offset, limit;
    bool ascending;
    const char *q;      /* borrowed from the request; NULL: none */
    const char *search; /* borrowed */
    int64_t from_ms, to_ms;
    bool have_after;
    struct tld_store_cursor after;
    uint64_t track_total; /* UINT64_MAX: count every match */
    char select[TLD_API_SELECT_MAX][128];
    size_t nselect;
    bool have_last_event_id;
    int64_t last_event_id;
    const char *field; /* borrowed */
    size_t size;
    int64_t interval_ms; /* 0: auto */
    const char *sort_by; /* borrowed; NULL unless a sort by other fields than timestamp */
    struct tld_api_filter filters[TLD_API_FILTERS_MAX];
    size_t nfilters;
};

void tld_api_params_init(struct tld_api_params *p);
/*
 * Take one parameter. The value is borrowed where the struct says so (it must outlive p).
 * TLD_EINVAL with a reason in why for an unknown name or a bad value.
 */
int tld_api_param_set(struct tld_api_params *p, const char *key, const char *val,
                      char why[TLD_WHY_MAX]);

/* The value of route filter `key`, or NULL when not given. */
const char *tld_api_param_filter(const struct tld_api_params *p, const char *key);

/* "2026-05-12T14:52:15.283Z" or epoch ms -> epoch ms. */
int tld_api_parse_time(const char *s, int64_t *ms);

#endif
