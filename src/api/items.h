/*
 * Wazuh's list semantics for the routes whose items the API builds itself (rules, decoders,
 * lists, agents, logs): the route makes every item as a JSON object and applies its own
 * filters; this applies what all of them share, in Wazuh's order: `search` (a case-insensitive
 * substring of any value; a leading '-' keeps the items without it), `sort` (`+a,-b`, dotted
 * names; numbers as numbers), `offset`/`limit`, and `select` (the named fields, nested as in
 * the item). A sort or select field that no item has is refused, as Wazuh does.
 */
#ifndef TLD_API_ITEMS_H
#define TLD_API_ITEMS_H

#include <cjson/cJSON.h>

#include "api/api.h"

/* The field at a dotted path of item, or NULL. */
const cJSON *tld_api_item_get(const cJSON *item, const char *path);
/* Whether any string or number of v contains needle, case-insensitively. */
bool tld_api_item_contains(const cJSON *v, const char *needle);

/*
 * Answer r with the items of `items` (a JSON array, consumed) after search, sort, paging and
 * select, in Wazuh's envelope with `message`. Bad sort/select: 400 (r filled). 0 or TLD_ENOMEM.
 */
int tld_api_items_reply(struct tld_api_req *r, cJSON *items, const char *message);

/* "3-10" or "5" into [lo, hi]; false when it is neither. */
bool tld_api_parse_range(const char *s, unsigned max, unsigned *lo, unsigned *hi);
/* Whether the comma-separated list `csv` has `word`. */
bool tld_api_csv_has(const char *csv, const char *word);

/*
 * The file filters ruleset items share: `filename` (a comma-separated list), `relative_dirname`
 * and `status` (`all` matches any); status NULL: the item has none.
 */
bool tld_api_file_filters_keep(const struct tld_api_params *p, const char *filename,
                               const char *reldir, const char *status);

/* Parameter `key` as true/false (*out false when absent); anything else answers r with 400. */
bool tld_api_bool_param(struct tld_api_req *r, const char *key, bool *out);

#endif
