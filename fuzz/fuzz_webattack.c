/*
 * libFuzzer harness: web attack detection on arbitrary bytes. The input is scanned as a request
 * URL and handed to every detector directly; URL decoding is checked against its contract (the
 * result never grows and never exceeds the capacity, a second decoding of fully decoded text
 * free of escapes changes nothing) and the detectors must be pure functions of their input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/webattack/webattack.h"

static struct tld_webattack_scratch scratch;
static char out[TLD_WEBATTACK_MAX_URL];

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    size_t n = size > TLD_WEBATTACK_MAX_URL ? TLD_WEBATTACK_MAX_URL : size;

    unsigned k = tld_webattack_scan(s, size, &scratch);
    check(k <=
          (TLD_WEBATTACK_SQLI | TLD_WEBATTACK_XSS | TLD_WEBATTACK_TRAVERSAL | TLD_WEBATTACK_CMDI));
    check(tld_webattack_scan(s, size, &scratch) == k);

    size_t d = tld_url_decode(s, n, out, sizeof out);
    check(d <= n);
    size_t small = n / 2;
    check(tld_url_decode(s, n, out, small) <= small);
    d = tld_url_decode(s, n, out, sizeof out);
    if (!memchr(out, '%', d) && !memchr(out, '+', d)) {
        static char again[TLD_WEBATTACK_MAX_URL];
        size_t d2 = tld_url_decode(out, d, again, sizeof again);
        check(d2 == d && memcmp(again, out, d) == 0);
    }
    check(tld_url_log_unescape(s, n, out, sizeof out) <= n);

    bool a = tld_sqli_detect(s, size), b = tld_xss_detect(s, size);
    bool c = tld_traversal_detect(s, size), e = tld_cmdi_detect(s, size);
    bool p = tld_traversal_detect_path(s, size);
    check(a == tld_sqli_detect(s, size) && b == tld_xss_detect(s, size));
    check(c == tld_traversal_detect(s, size) && e == tld_cmdi_detect(s, size));
    check(p == tld_traversal_detect_path(s, size));
    return 0;
}
