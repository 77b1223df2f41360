/* Events stream splitting and parsing (see events.h). */
#include "collect/docker/events.h"

#include <string.h>

#include "common/err.h"
#include "common/jscan.h"
#include "common/str.h"

void tld_events_splitter_init(struct tld_events_splitter *s)
{
    memset(s, 0, sizeof *s);
    tld_sb_init(&s->buf, TLD_EVENTS_MAX_LINE);
}

void tld_events_splitter_fini(struct tld_events_splitter *s)
{
    tld_sb_fini(&s->buf);
}

void tld_events_splitter_reset(struct tld_events_splitter *s)
{
    tld_sb_reset(&s->buf);
    s->discarding = false;
}

static bool deliver(struct tld_sv l, bool (*line)(void *, struct tld_sv), void *ctx)
{
    if (l.n && l.p[l.n - 1] == '\r')
        l.n--;
    return l.n == 0 || line(ctx, l);
}

bool tld_events_feed(struct tld_events_splitter *s, const char *p, size_t n,
                     bool (*line)(void *ctx, struct tld_sv l), void *ctx)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t seg = nl ? (size_t)(nl - p) : n;
        if (s->discarding) {
            if (nl)
                s->discarding = false;
        } else if (!s->buf.n && nl) {
            if (!deliver(tld_sv_make(p, seg), line, ctx)) /* whole line in the chunk */
                return false;
        } else {
            if (s->buf.n + seg > TLD_EVENTS_MAX_LINE) {
                s->garbage++;
                tld_sb_reset(&s->buf);
                s->discarding = !nl;
            } else {
                tld_sb_append(&s->buf, p, seg);
                if (nl) {
                    bool ok = deliver(tld_sb_view(&s->buf), line, ctx);
                    tld_sb_reset(&s->buf);
                    if (!ok)
                        return false;
                }
            }
        }
        if (!nl)
            break;
        p += seg + 1;
        n -= seg + 1;
    }
    return true;
}

static void copy_string(struct tld_jscan *j, char *out, size_t max, bool *ok)
{
    struct tld_sb sb;
    tld_sb_init(&sb, max - 1);
    if (!tld_jscan_string(j, &sb)) {
        *ok = false;
    } else {
        memcpy(out, tld_sb_cstr(&sb), sb.n + 1);
    }
    tld_sb_fini(&sb);
}

static bool key_is(struct tld_sv k, const char *s)
{
    return tld_sv_eq_cstr(k, s);
}

/* Actor: {"ID":"..","Attributes":{"name":"..","image":"..",...}} */
static bool actor(struct tld_jscan *j, struct tld_docker_event *ev)
{
    if (!tld_jscan_object(j))
        return false;
    struct tld_sv k;
    bool ok = true;
    bool got = true;
    for (bool first = true; got; first = false) {
        if (tld_jscan_member(j, first, &k, &got) != 0)
            return false;
        if (!got)
            break;
        if (key_is(k, "ID") && tld_jscan_peek(j) == '"') {
            copy_string(j, ev->id, sizeof ev->id, &ok);
        } else if (key_is(k, "Attributes") && tld_jscan_peek(j) == '{') {
            tld_jscan_object(j);
            struct tld_sv a;
            bool got2 = true;
            for (bool f2 = true; got2; f2 = false) {
                if (tld_jscan_member(j, f2, &a, &got2) != 0)
                    return false;
                if (!got2)
                    break;
                if (key_is(a, "name") && tld_jscan_peek(j) == '"')
                    copy_string(j, ev->name, sizeof ev->name, &ok);
                else if (key_is(a, "image") && tld_jscan_peek(j) == '"')
                    copy_string(j, ev->image, sizeof ev->image, &ok);
                else
                    ok &= tld_jscan_skip(j);
                if (!ok)
                    return false;
            }
        } else {
            ok = tld_jscan_skip(j);
        }
        if (!ok)
            return false;
    }
    return true;
}

int tld_docker_event_parse(struct tld_sv line, struct tld_docker_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->raw = line;
    struct tld_jscan j = tld_jscan_of(line);
    if (!tld_jscan_object(&j))
        return TLD_EPARSE;
    struct tld_sv k;
    int64_t secs = 0, nanos = 0;
    char status[256] = "", old_id[129] = "";
    bool ok = true;
    bool got = true;
    for (bool first = true; got; first = false) {
        if (tld_jscan_member(&j, first, &k, &got) != 0)
            return TLD_EPARSE;
        if (!got)
            break;
        char c = tld_jscan_peek(&j);
        if (key_is(k, "Type") && c == '"')
            copy_string(&j, ev->type, sizeof ev->type, &ok);
        else if (key_is(k, "Action") && c == '"')
            copy_string(&j, ev->action, sizeof ev->action, &ok);
        else if (key_is(k, "status") && c == '"')
            copy_string(&j, status, sizeof status, &ok);
        else if (key_is(k, "id") && c == '"')
            copy_string(&j, old_id, sizeof old_id, &ok);
        else if (key_is(k, "Actor") && c == '{')
            ok = actor(&j, ev);
        else if ((key_is(k, "timeNano") || key_is(k, "time")) && c != '"') {
            /* exact integers; anything else numeric (a fraction) is skipped, not refused */
            struct tld_jscan save = j;
            int64_t v = 0;
            if (tld_jscan_int(&j, &v))
                *(key_is(k, "time") ? &secs : &nanos) = v;
            else {
                j = save;
                ok = tld_jscan_skip(&j);
            }
        } else
            ok = tld_jscan_skip(&j);
        if (!ok)
            return TLD_EPARSE;
    }
    if (!tld_jscan_done(&j))
        return TLD_EPARSE;
    /* Engines before API 1.22 had only status/id; keep them usable. */
    if (!ev->action[0] && status[0])
        memcpy(ev->action, status, sizeof ev->action);
    if (!ev->type[0] && status[0])
        memcpy(ev->type, "container", 10);
    if (!ev->id[0] && old_id[0])
        memcpy(ev->id, old_id, sizeof ev->id);
    if (nanos > 0)
        ev->time_ns = nanos;
    else if (secs > 0 && secs < INT64_MAX / 1000000000)
        ev->time_ns = secs * 1000000000;
    return 0;
}

uint64_t tld_docker_event_hash(struct tld_sv raw)
{
    return tld_fnv1a(TLD_FNV1A_SEED, raw.p, raw.n);
}
