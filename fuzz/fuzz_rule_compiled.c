/*
 * libFuzzer harness: the web attack compiled rules (tld_*_url) on an arbitrary url field. The
 * bytes go through the JSON-escape undoing, the signature scan and the detectors exactly as a
 * decoded access line's url would; the predicates must agree with each other (the "common"
 * predicate is traversal or command injection) and give the same answer twice.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/rules/rule_compiled.h"

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static bool run(const char *name, const struct tld_event *ev)
{
    tld_rule_compiled_fn fn = tld_rule_compiled_find(tld_sv_of(name));
    check(fn != NULL);
    return fn(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tld_event ev; /* only the url field is read */
    memset(&ev, 0, sizeof ev);
    ev.fields[TLD_F_URL] = tld_sv_make((const char *)data, size);
    bool sqli = run("tld_sqli_url", &ev), xss = run("tld_xss_url", &ev);
    bool trav = run("tld_traversal_url", &ev), cmdi = run("tld_cmdi_url", &ev);
    check(run("tld_common_attack_url", &ev) == (trav || cmdi));
    check(run("tld_sqli_url", &ev) == sqli && run("tld_xss_url", &ev) == xss);
    return 0;
}
