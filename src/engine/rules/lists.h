/*
 * CDB lists (rules.md §8): the `key:value` text files named by `<list>` entries of `<ruleset>`,
 * looked up by rule `<list>` elements.
 *
 * A struct tld_lists is a registry of lists keyed by the path exactly as the configuration names
 * it (e.g. "etc/lists/audit-keys"); the file's text may be read from elsewhere (the caller maps the
 * configured path to a file). Each list is an open-addressing hash table (O(1) lookups, the first
 * occurrence of a key wins). A registry is filled once, before rules are loaded, and is read-only
 * afterwards, so any number of threads may look up concurrently. It must outlive every rule set
 * built against it.
 *
 * Text format: one entry per line; the key is the text before the first `:`, the value the rest.
 * When the line holds a `"` before its first `:`, the key is the text between that quote and the
 * next one and the separator is the first `:` after the closing quote; a value containing a `"`
 * is the text between its first two quotes. Nothing is trimmed; lines without a `:` (or with an
 * unclosed quote) are ignored; a `\r` or `\n` ends the line.
 *
 * Bounds: TLD_LISTS_MAX lists per registry, TLD_LIST_MAX_BYTES bytes of text per list,
 * TLD_LIST_MAX_ENTRIES entries per list.
 */
#ifndef TLD_ENGINE_LISTS_H
#define TLD_ENGINE_LISTS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/diag.h"
#include "common/str.h"

#define TLD_LISTS_MAX        1024
#define TLD_LIST_MAX_BYTES   (64u << 20)
#define TLD_LIST_MAX_ENTRIES (4u << 20)

struct tld_lists;
struct tld_list;

int tld_lists_new(struct tld_lists **out);
void tld_lists_free(struct tld_lists *lists);

/*
 * Register the list configured as `name`, parsing `buf[0..n)`. Registering a name twice replaces
 * nothing: the first registration stays (TLD_EEXIST). TLD_ELIMIT past a bound, TLD_ENOMEM.
 */
int tld_lists_add_buf(struct tld_lists *lists, const char *name, const char *buf, size_t n);
/*
 * Register the list configured as `name`, reading its text from the file `path`. An unreadable
 * or oversized file is reported into `diag` as "path: error: ..." (TLD_EIO / TLD_ELIMIT).
 */
int tld_lists_add_file(struct tld_lists *lists, const char *name, const char *path,
                       struct tld_diag *diag);
unsigned tld_lists_count(const struct tld_lists *lists);

/* The list registered as `name` or as `name` without a trailing ".cdb"; NULL when absent. */
const struct tld_list *tld_lists_find(const struct tld_lists *lists, struct tld_sv name);
/* The configured name of a list. */
const char *tld_list_name(const struct tld_list *list);
unsigned tld_list_size(const struct tld_list *list);

/* Exact key lookup; on success *value (if not NULL) views the stored value. */
bool tld_list_get(const struct tld_list *list, struct tld_sv key, struct tld_sv *value);
/*
 * Address lookup: the exact key, else every prefix of `key` that ends with '.', longest first
 * (network keys are written like "10.1."). The value of the key found goes to *value.
 */
bool tld_list_get_address(const struct tld_list *list, struct tld_sv key, struct tld_sv *value);

#endif
