/*
 * libFuzzer harness: pre-decoding on arbitrary bytes. The input is used both as a queue message
 * ("Q:location:text") and as a bare full_log; every view handed out must lie inside the input
 * (or the location buffer), and the documented relations between the outputs must hold.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "engine/event.h"
#include "engine/decode/predecode.h"

static bool inside(struct tld_sv v, const char *p, size_t n)
{
    return !v.p || (v.p >= p && v.n <= n && (size_t)(v.p - p) <= n - v.n);
}

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void header(const char *t, size_t n)
{
    struct tld_predecode_header h;
    tld_predecode_header(t, n, &h);
    check(h.log.p && inside(h.log, t, n));
    check(inside(h.timestamp, t, n) && inside(h.hostname, t, n) && inside(h.program_name, t, n));
    if (h.shape == TLD_PREDECODE_NONE)
        check(h.log.p == t && h.log.n == n && !h.timestamp.p && !h.hostname.p && !h.program_name.p);
    if (h.shape != TLD_PREDECODE_NONE && h.shape != TLD_PREDECODE_ASL)
        check(h.timestamp.p != NULL);
    /* Outside ASL the log never starts before the hostname or program name it follows. */
    if (h.shape != TLD_PREDECODE_ASL && h.hostname.p)
        check(h.hostname.p + h.hostname.n < h.log.p);
    check(tld_predecode_shape_name(h.shape)[0] != '?');

    struct tld_sv ah;
    if (tld_predecode_alert_hostname(tld_sv_make(t, n), &ah)) {
        check(ah.n > 0 && inside(ah, t, n) && ah.p == t + 16 && !memchr(ah.p, ' ', ah.n));
        check(h.shape == TLD_PREDECODE_A);
    } else {
        check(ah.p == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    header(in, size);

    /* A small buffer so that the location bound is exercised too. */
    char buf[64];
    struct tld_predecode_msg m;
    int err = tld_predecode_message(in, size, buf, sizeof buf, &m);
    if (err) {
        check(err == TLD_EPARSE);
        return 0;
    }
    check(m.queue == in[0] && inside(m.text, in, size) && m.text.p + m.text.n == in + size);
    check(inside(m.location, in, size) || inside(m.location, buf, sizeof buf));
    check(m.location.n <= sizeof buf);
    header(m.text.p, m.text.n);

    struct tld_predecode_source s;
    err = tld_predecode_source(m.location, &s);
    if (err) {
        check(err == TLD_EPARSE && m.location.n && m.location.p[0] == '[');
    } else {
        const char *lp = m.location.p;
        size_t ln = m.location.n;
        check(inside(s.location, lp, ln) && inside(s.agent_name, lp, ln) &&
              inside(s.agent_ip, lp, ln) && inside(s.display_location, lp, ln));
        check(s.agent ? inside(s.agent_id, lp, ln) : tld_sv_eq_cstr(s.agent_id, "000"));
        check(s.agent || (!s.agent_name.p && !s.agent_ip.p));
        check(!s.agent_ip.p || !tld_sv_eq_cstr(s.agent_ip, "any"));
    }

    struct tld_event ev;
    tld_event_init(&ev, NULL, NULL);
    ev.manager_name = TLD_SV_LIT("fuzz.example");
    err = tld_predecode_event(&ev, in, size, buf, sizeof buf);
    check(err == 0 || err == TLD_EPARSE);
    if (!err)
        check(ev.hostname.p != NULL && ev.log.p != NULL && ev.full_log.p == m.text.p);
    return 0;
}
