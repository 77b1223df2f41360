/*
 * tld-logtest's parts: option parsing (main.c), running events and printing the three phases
 * (show.c), and the Wazuh-format .ini test runner (inirun.c). All of them drive the engine
 * through engine.h, exactly as the manager does.
 */
#ifndef TLD_LOGTEST_LOGTEST_H
#define TLD_LOGTEST_LOGTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "engine/engine.h"

struct tld_logtest_opts {
    const char *location;     /* --location, default "stdin" */
    enum tld_source source;   /* --source, default TLD_SOURCE_ANY; .ini key `source` */
    const char *manager_name; /* host name used as manager name */
    size_t max_event_size;
    int64_t fixed_time_ns; /* --time: receipt time of the first event (0 = the clock) */
    bool json;             /* --json: alerts only, one per line */
    bool verbose;          /* -v */
};

/*
 * Receipt time for the next event: the wall clock, or with --time the fixed start plus one
 * millisecond per event already processed (so events keep their order and stay inside any
 * correlation window). Rules with <time>/<weekday> make results depend on it.
 */
int64_t tld_logtest_event_time(const struct tld_logtest_opts *o, unsigned long seq);

/* Read events (one per line) from `in` and print the phases or alerts. 0 or TLD_ENOMEM (said on
 * stderr). */
int tld_logtest_run_stream(const struct tld_ruleset *rs, const struct tld_logtest_opts *o, FILE *in,
                           FILE *out);

/* Run .ini test files; prints per-file counts and "N passed, N failed", and sets *all_passed.
 * Returns 0 (a test that could not run counts as failed). */
int tld_logtest_run_tests(const struct tld_ruleset *rs, const struct tld_logtest_opts *o,
                          char *const *files, int nfiles, FILE *out, bool *all_passed);

#endif
