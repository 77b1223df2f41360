/*
 * Compiled rules: named C predicates that a rule selects with <compiled_rule>NAME</compiled_rule>
 * (rules.md §3). The table in rule_compiled.c maps each name to its function; adding a detector
 * is adding a row. A predicate sees the decoded event only, must be thread-safe and must not
 * allocate (it runs on the hot path of every worker). The web attack predicates (tld_*_url) keep
 * their working memory on the stack: about 48 KiB, so worker threads need ordinary-sized stacks.
 */
#ifndef TLD_ENGINE_RULE_COMPILED_H
#define TLD_ENGINE_RULE_COMPILED_H

#include <stdbool.h>

#include "common/str.h"
#include "engine/event.h"

typedef bool (*tld_rule_compiled_fn)(const struct tld_event *ev);

/* The predicate registered under exactly `name` (case-sensitive); NULL when unknown. */
tld_rule_compiled_fn tld_rule_compiled_find(struct tld_sv name);
/* Name of the i-th table row, or NULL past the end (for listings and tests). */
const char *tld_rule_compiled_name(unsigned i);

#endif
