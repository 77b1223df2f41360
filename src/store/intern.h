/*
 * A map from byte strings to the ids a store gave them (data.* key names, sets of rule array
 * values), so the writer asks the database about each distinct string once instead of once per
 * alert. It only caches what the database holds: after a rolled-back transaction the writer
 * clears it, since ids handed out in that transaction no longer exist.
 */
#ifndef TLD_STORE_INTERN_H
#define TLD_STORE_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct tld_intern_slot;

struct tld_intern {
    struct tld_intern_slot *slots;
    size_t cap, n; /* cap is a power of two, or 0 */
};

void tld_intern_init(struct tld_intern *m);
void tld_intern_fini(struct tld_intern *m);
void tld_intern_clear(struct tld_intern *m);

/* The id of `p`, or -1 if it is not in the map. */
int64_t tld_intern_get(const struct tld_intern *m, const char *p, size_t n);

/* Adds `p` (copied) with its id; TLD_ENOMEM on failure. */
int tld_intern_put(struct tld_intern *m, const char *p, size_t n, int64_t id);

#endif
