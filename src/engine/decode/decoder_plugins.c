/*
 * Vendor plugin decoders named by stock rulesets besides JSON_Decoder: PF_Decoder (OpenBSD pf
 * lines as printed by tcpdump), SonicWall_Decoder (key=value firewall records),
 * SymantecWS_Decoder (Symantec Web Security CSV) and OSSECAlert_Decoder (alerts forwarded as
 * syslog). Each extracts the static fields its format carries; they are deliberately simple
 * (docs/compatibility.md lists where they differ from the originals). Values are views into
 * the event text.
 */
#include <ctype.h>
#include <string.h>

#include "engine/decode/decoder_impl.h"

static struct tld_sv find(struct tld_sv s, const char *needle)
{
    size_t n = strlen(needle);
    const char *hit = n <= s.n ? memmem(s.p, s.n, needle, n) : NULL;
    return hit ? tld_sv_make(hit, (size_t)(s.p + s.n - hit)) : TLD_SV_NULL;
}

/* Token of `s` up to the first of `stops` (or the end). */
static struct tld_sv until(struct tld_sv s, const char *stops)
{
    size_t i = 0;
    while (i < s.n && !strchr(stops, s.p[i]))
        i++;
    return tld_sv_make(s.p, i);
}

static struct tld_sv skip(struct tld_sv s, size_t n)
{
    if (!s.p)
        return s;
    return n >= s.n ? tld_sv_make(s.p + s.n, 0) : tld_sv_make(s.p + n, s.n - n);
}

/* "a.b.c.d.port" (tcpdump's address notation) into address and port. */
static void split_dotted_port(struct tld_sv tok, struct tld_sv *addr, struct tld_sv *port)
{
    long dot = -1;
    for (size_t i = 0; i < tok.n; i++)
        if (tok.p[i] == '.')
            dot = (long)i;
    unsigned dots = 0;
    for (size_t i = 0; i < tok.n; i++)
        dots += tok.p[i] == '.';
    if (dots == 4 && dot > 0) {
        *addr = tld_sv_make(tok.p, (size_t)dot);
        *port = tld_sv_make(tok.p + dot + 1, tok.n - (size_t)dot - 1);
    } else {
        *addr = tok;
        *port = TLD_SV_NULL;
    }
}

/* "... rule 3/0(match): block in on em0: 10.0.0.1.5353 > 10.0.0.2.53: udp 40" */
static void pf_decode(struct tld_sv text, struct tld_event *ev)
{
    struct tld_sv r = find(text, "(match): ");
    if (!r.p)
        return;
    r = skip(r, strlen("(match): "));
    struct tld_sv action = until(r, " ");
    if (action.n)
        tld_event_set(ev, TLD_F_ACTION, action);
    struct tld_sv on = find(r, ": ");
    if (!on.p)
        return;
    on = skip(on, 2);
    struct tld_sv src = until(on, " ");
    struct tld_sv rest = find(on, " > ");
    if (!rest.p)
        return;
    struct tld_sv dst = until(skip(rest, 3), ":");
    struct tld_sv a, p;
    split_dotted_port(src, &a, &p);
    tld_event_set(ev, TLD_F_SRCIP, a);
    if (p.p)
        tld_event_set(ev, TLD_F_SRCPORT, p);
    split_dotted_port(dst, &a, &p);
    tld_event_set(ev, TLD_F_DSTIP, a);
    if (p.p)
        tld_event_set(ev, TLD_F_DSTPORT, p);
    struct tld_sv proto = until(skip(find(skip(rest, 3), ": "), 2), " ,");
    if (proto.n)
        tld_event_set(ev, TLD_F_PROTOCOL, proto);
}

/* Value of `key=` in a SonicWall record (quoted or bare). */
static struct tld_sv kv(struct tld_sv text, const char *key)
{
    size_t kn = strlen(key);
    for (size_t i = 0; i + kn + 1 <= text.n; i++) {
        if ((i == 0 || text.p[i - 1] == ' ') && memcmp(text.p + i, key, kn) == 0 &&
            text.p[i + kn] == '=') {
            struct tld_sv v = skip(text, i + kn + 1);
            if (v.n && v.p[0] == '"')
                return until(skip(v, 1), "\"");
            return until(v, " ");
        }
    }
    return TLD_SV_NULL;
}

static void sonicwall_decode(struct tld_sv text, struct tld_event *ev)
{
    static const struct {
        const char *key;
        enum tld_field addr, port;
    } ends[] = {{"src", TLD_F_SRCIP, TLD_F_SRCPORT}, {"dst", TLD_F_DSTIP, TLD_F_DSTPORT}};
    for (size_t i = 0; i < 2; i++) {
        struct tld_sv v = kv(text, ends[i].key);
        if (!v.p)
            continue;
        struct tld_sv addr = until(v, ":");
        tld_event_set(ev, ends[i].addr, addr);
        if (addr.n < v.n) {
            struct tld_sv port = until(skip(v, addr.n + 1), ":");
            if (port.n)
                tld_event_set(ev, ends[i].port, port);
        }
    }
    struct tld_sv v = kv(text, "proto");
    if (v.p)
        tld_event_set(ev, TLD_F_PROTOCOL, until(v, "/"));
    if ((v = kv(text, "m")).p)
        tld_event_set(ev, TLD_F_ID, v);
    if ((v = kv(text, "msg")).p)
        tld_event_set(ev, TLD_F_EXTRA_DATA, v);
    if ((v = kv(text, "pri")).p)
        tld_event_set(ev, TLD_F_STATUS, v);
}

/* date,time,duration,srcip,user,...,url,... : take the address and the URL columns. */
static void symantec_decode(struct tld_sv text, struct tld_event *ev)
{
    struct tld_sv col = text;
    for (unsigned i = 0; col.p && i < 64; i++) {
        struct tld_sv field = until(col, ",");
        bool ipish =
            field.n >= 7 && isdigit((unsigned char)field.p[0]) && memchr(field.p, '.', field.n);
        if (ipish && !ev->fields[TLD_F_SRCIP].p && i >= 2)
            tld_event_set(ev, TLD_F_SRCIP, field);
        if (find(field, "://").p && !ev->fields[TLD_F_URL].p)
            tld_event_set(ev, TLD_F_URL, field);
        if (field.n == col.n)
            break;
        col = skip(col, field.n + 1);
    }
}

/* "ossec: Alert Level: 10; Rule: 5712 - text; Location: where; srcip: 1.2.3.4; user: bob;" */
static void ossec_alert_decode(struct tld_sv text, struct tld_event *ev)
{
    struct tld_sv v = find(text, "Rule: ");
    if (v.p)
        tld_event_set(ev, TLD_F_ID, until(skip(v, 6), " ;"));
    if ((v = find(text, "srcip: ")).p)
        tld_event_set(ev, TLD_F_SRCIP, until(skip(v, 7), ";"));
    if ((v = find(text, "user: ")).p)
        tld_event_set(ev, TLD_F_DSTUSER, until(skip(v, 6), ";"));
    if ((v = find(text, "Location: ")).p)
        tld_event_set(ev, TLD_F_SYSTEM_NAME, until(skip(v, 10), ";"));
}

void tld_decoder_plugin_run(enum dec_plugin plugin, struct tld_sv text, struct tld_event *ev)
{
    if (!text.p)
        return;
    switch (plugin) {
    case DEC_PLUGIN_PF:
        pf_decode(text, ev);
        break;
    case DEC_PLUGIN_SONICWALL:
        sonicwall_decode(text, ev);
        break;
    case DEC_PLUGIN_SYMANTEC_WS:
        symantec_decode(text, ev);
        break;
    case DEC_PLUGIN_OSSEC_ALERT:
        ossec_alert_decode(text, ev);
        break;
    case DEC_PLUGIN_JSON:
    case DEC_PLUGIN_NONE:
        break;
    }
}
