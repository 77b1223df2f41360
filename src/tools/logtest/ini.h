/*
 * Reader for Wazuh-format ruleset test files (.ini), with the semantics of Python's
 * RawConfigParser(strict=False) over a dictionary that merges duplicates (testing.md §2):
 * repeated sections merge, a repeated key appends its value as further lines, keys are
 * lower-cased, the first `=` or `:` splits, `#`/`;` start whole-line comments, indented lines
 * continue the previous value, blank lines inside a value are kept, and a final value is its
 * lines joined with "\n" and right-stripped.
 */
#ifndef TLD_LOGTEST_INI_H
#define TLD_LOGTEST_INI_H

#include "common/diag.h"
#include "common/str.h"

struct tld_ini_key {
    char *name;          /* lower-cased */
    struct tld_sb value; /* lines joined by '\n'; right-stripped by tld_ini_parse */
    unsigned line;       /* first definition */
};

struct tld_ini_section {
    char *name;
    unsigned line;
    struct tld_ini_key *keys; /* insertion order */
    unsigned nkeys, capkeys;
};

struct tld_ini {
    struct tld_ini_section *sections; /* first-appearance order */
    unsigned nsections, capsections;
};

/* Parse a whole file's text; malformed lines are reported with file:line. 0 or TLD_EPARSE. */
int tld_ini_parse(const char *text, size_t n, const char *file, struct tld_ini *ini,
                  struct tld_diag *diag);
void tld_ini_fini(struct tld_ini *ini);
/* Value of `key` in a section, or NULL. */
const struct tld_sb *tld_ini_get(const struct tld_ini_section *s, const char *key);

#endif
