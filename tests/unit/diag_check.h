/*
 * Looking into a struct tld_diag from the configuration tests: whether a message holds a text,
 * and the messages printed when a test is about to fail, so the failure shows what was said.
 */
#ifndef TLD_TESTS_DIAG_CHECK_H
#define TLD_TESTS_DIAG_CHECK_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/diag.h"

static inline bool has_msg(const struct tld_diag *d, const char *needle)
{
    for (unsigned i = 0; i < d->kept; i++)
        if (strstr(d->msgs[i].text, needle))
            return true;
    return false;
}

static inline void dump(const struct tld_diag *d)
{
    for (unsigned i = 0; i < d->kept; i++)
        fprintf(stderr, "  diag: %s\n", d->msgs[i].text);
}

#endif
