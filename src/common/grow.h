/*
 * Growing a heap array by doubling, written once: the many arrays that are appended to while a
 * ruleset, a configuration or a registry loads all need the same steps (double or start, check
 * the size for overflow, keep the old array when realloc fails).
 */
#ifndef TLD_COMMON_GROW_H
#define TLD_COMMON_GROW_H

#include <stddef.h>

/*
 * Make room for at least `need` elements of `elem` bytes (elem > 0) in the array whose pointer
 * is at `arrayp` (the address of a `T *`) and whose capacity is `*cap`. Nothing happens when
 * `need <= *cap`; otherwise the capacity becomes `first_cap` (for an empty array) or doubles,
 * until it holds `need`. 0, or TLD_ENOMEM with the array and `*cap` unchanged.
 *
 * Callers append with `if (n == cap && tld_grow(...))` on paths where a call per element
 * matters.
 */
int tld_grow(void *arrayp, unsigned *cap, unsigned need, size_t elem, unsigned first_cap);

#endif
