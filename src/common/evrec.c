/*
 * Event record encoding, decoding and JSON rendering (layout and bounds in evrec.h).
 *
 * The decoder is the one part that reads bytes an attacker may have shaped (a tampered spool
 * file, later a peer on the wire), so every read goes through proto's `struct tld_proto_rd`,
 * which never moves past the end and remembers the first failure; callers check once at the end.
 * Varints and length-prefixed strings use proto's field codec, so both formats encode them alike.
 */
#include "common/evrec.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/err.h"
#include "common/proto.h"

/* ---- encoding ------------------------------------------------------------------------------ */

static void put_u8(struct tld_sb *sb, unsigned v)
{
    tld_sb_append_char(sb, (char)(v & 0xff));
}

static void put_le(struct tld_sb *sb, uint64_t v, unsigned bytes)
{
    unsigned char b[8];
    for (unsigned i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    tld_sb_append(sb, b, bytes);
}

static bool fits(struct tld_sv s, size_t max)
{
    return s.n <= max && (s.n == 0 || s.p);
}

static bool valid_record(const struct tld_evrec *r)
{
    if (r->flags & ~(unsigned)TLD_EVREC_FLAGS_ALL || (unsigned)r->source >= TLD_SOURCE_COUNT)
        return false;
    if (!fits(r->location, TLD_EVREC_MAX_LOCATION) || !fits(r->text, TLD_EVREC_MAX_TEXT))
        return false;
    if (r->flags & TLD_EVREC_CONTAINER) {
        const struct tld_evrec_container *c = &r->container;
        if (!fits(c->id, TLD_EVREC_MAX_ID) || !fits(c->name, TLD_EVREC_MAX_NAME) ||
            !fits(c->image, TLD_EVREC_MAX_IMAGE) || !fits(c->compose_project, TLD_EVREC_MAX_NAME) ||
            !fits(c->compose_service, TLD_EVREC_MAX_NAME) || c->nlabels > TLD_EVREC_MAX_LABELS ||
            (c->nlabels && !c->labels))
            return false;
        size_t total = 0;
        for (unsigned i = 0; i < c->nlabels; i++) {
            if (!fits(c->labels[i].key, TLD_EVREC_MAX_LABEL_KEY) ||
                !fits(c->labels[i].value, TLD_EVREC_MAX_LABEL_VALUE))
                return false;
            total += c->labels[i].key.n + c->labels[i].value.n;
        }
        if (total > TLD_EVREC_MAX_LABELS_BYTES)
            return false;
    }
    if (r->flags & TLD_EVREC_DOCKER_LOG) {
        if (!fits(r->docker_stream, TLD_EVREC_MAX_STREAM) ||
            !fits(r->docker_time, TLD_EVREC_MAX_DOCKER_TIME))
            return false;
    }
    return true;
}

int tld_evrec_encode(const struct tld_evrec *r, struct tld_sb *out)
{
    if (!valid_record(r))
        return TLD_EINVAL;
    size_t start = out->n;
    put_u8(out, TLD_EVREC_VERSION);
    unsigned flags = r->flags & ~(unsigned)TLD_EVREC_SOURCE;
    if (r->source != TLD_SOURCE_FILE)
        flags |= TLD_EVREC_SOURCE;
    put_u8(out, (unsigned char)r->queue);
    put_le(out, flags, 2);
    put_le(out, (uint64_t)r->read_time_ns, 8);
    tld_proto_put_s(out, r->location);
    tld_proto_put_s(out, r->text);
    if (r->flags & (TLD_EVREC_TRUNCATED | TLD_EVREC_PARTIAL))
        tld_proto_put_v(out, r->partials);
    if (r->flags & TLD_EVREC_CONTAINER) {
        const struct tld_evrec_container *c = &r->container;
        tld_proto_put_s(out, c->id);
        tld_proto_put_s(out, c->name);
        tld_proto_put_s(out, c->image);
        tld_proto_put_s(out, c->compose_project);
        tld_proto_put_s(out, c->compose_service);
        tld_proto_put_v(out, c->nlabels);
        for (unsigned i = 0; i < c->nlabels; i++) {
            tld_proto_put_s(out, c->labels[i].key);
            tld_proto_put_s(out, c->labels[i].value);
        }
    }
    if (r->flags & TLD_EVREC_DOCKER_LOG) {
        tld_proto_put_s(out, r->docker_stream);
        tld_proto_put_s(out, r->docker_time);
    }
    if (r->flags & TLD_EVREC_FILE_POS) {
        tld_proto_put_v(out, r->file_dev);
        tld_proto_put_v(out, r->file_ino);
        tld_proto_put_v(out, r->file_offset);
    }
    if (r->flags & TLD_EVREC_DOCKER_CURSOR) {
        put_le(out, (uint64_t)r->docker_cursor_ns, 8);
        put_le(out, r->docker_event_hash, 8);
    }
    if (flags & TLD_EVREC_SOURCE)
        put_u8(out, (unsigned char)r->source);
    if (out->oom)
        return TLD_ENOMEM;
    if (out->truncated) {
        out->n = start;
        out->truncated = false;
        return TLD_ELIMIT;
    }
    return 0;
}

/* ---- decoding ------------------------------------------------------------------------------ */

/* Fixed-width little-endian fields; the varints and strings are proto's field codec. */
static uint64_t get_le(struct tld_proto_rd *d, unsigned bytes)
{
    if (d->bad || d->n - d->off < bytes) {
        d->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)d->p[d->off + i] << (8 * i);
    d->off += bytes;
    return v;
}

int tld_evrec_decode(const void *buf, size_t n, struct tld_evrec *r,
                     struct tld_evrec_labels *labels)
{
    struct tld_proto_rd d = tld_proto_rd_make(buf, n);
    memset(r, 0, sizeof *r);
    if (get_le(&d, 1) != TLD_EVREC_VERSION)
        return TLD_EPARSE;
    r->queue = (char)get_le(&d, 1);
    r->flags = (unsigned)get_le(&d, 2);
    if (r->flags & ~(unsigned)TLD_EVREC_FLAGS_ALL)
        return TLD_EPARSE;
    r->read_time_ns = (int64_t)get_le(&d, 8);
    r->location = tld_proto_get_s(&d, TLD_EVREC_MAX_LOCATION);
    r->text = tld_proto_get_s(&d, TLD_EVREC_MAX_TEXT);
    if (r->flags & (TLD_EVREC_TRUNCATED | TLD_EVREC_PARTIAL)) {
        uint64_t p = tld_proto_get_v(&d);
        if (p > UINT32_MAX)
            return TLD_EPARSE;
        r->partials = (uint32_t)p;
    }
    if (r->flags & TLD_EVREC_CONTAINER) {
        struct tld_evrec_container *c = &r->container;
        c->id = tld_proto_get_s(&d, TLD_EVREC_MAX_ID);
        c->name = tld_proto_get_s(&d, TLD_EVREC_MAX_NAME);
        c->image = tld_proto_get_s(&d, TLD_EVREC_MAX_IMAGE);
        c->compose_project = tld_proto_get_s(&d, TLD_EVREC_MAX_NAME);
        c->compose_service = tld_proto_get_s(&d, TLD_EVREC_MAX_NAME);
        uint64_t nl = tld_proto_get_v(&d);
        if (d.bad || nl > TLD_EVREC_MAX_LABELS)
            return TLD_EPARSE;
        size_t total = 0;
        for (unsigned i = 0; i < nl; i++) {
            labels->v[i].key = tld_proto_get_s(&d, TLD_EVREC_MAX_LABEL_KEY);
            labels->v[i].value = tld_proto_get_s(&d, TLD_EVREC_MAX_LABEL_VALUE);
            total += labels->v[i].key.n + labels->v[i].value.n;
            if (d.bad || total > TLD_EVREC_MAX_LABELS_BYTES)
                return TLD_EPARSE;
        }
        c->labels = labels->v;
        c->nlabels = (unsigned)nl;
    }
    if (r->flags & TLD_EVREC_DOCKER_LOG) {
        r->docker_stream = tld_proto_get_s(&d, TLD_EVREC_MAX_STREAM);
        r->docker_time = tld_proto_get_s(&d, TLD_EVREC_MAX_DOCKER_TIME);
    }
    if (r->flags & TLD_EVREC_FILE_POS) {
        r->file_dev = tld_proto_get_v(&d);
        r->file_ino = tld_proto_get_v(&d);
        r->file_offset = tld_proto_get_v(&d);
    }
    if (r->flags & TLD_EVREC_DOCKER_CURSOR) {
        r->docker_cursor_ns = (int64_t)get_le(&d, 8);
        r->docker_event_hash = get_le(&d, 8);
    }
    if (r->flags & TLD_EVREC_SOURCE) {
        uint64_t s = get_le(&d, 1);
        if (s == TLD_SOURCE_FILE || s >= TLD_SOURCE_COUNT)
            return TLD_EPARSE;
        r->source = (enum tld_source)s;
    }
    return tld_proto_rd_end(&d);
}

/* ---- JSON ---------------------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    unsigned char c = p[0];
    size_t n;
    unsigned min;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2, min = 0x80, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3, min = 0x800, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

void tld_evrec_json_string(struct tld_sb *out, struct tld_sv s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s.p;
    size_t i = 0;
    tld_sb_append_char(out, '"');
    while (i < s.n) {
        /* Copy the longest run that needs no escaping in one append. */
        size_t j = i;
        while (j < s.n && p[j] >= 0x20 && p[j] < 0x80 && p[j] != '"' && p[j] != '\\')
            j++;
        if (j > i)
            tld_sb_append(out, p + i, j - i);
        i = j;
        if (i >= s.n)
            break;
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t n = utf8_len(p + i, s.n - i);
            if (n) {
                tld_sb_append(out, p + i, n);
                i += n;
            } else {
                tld_sb_append(out, "\xef\xbf\xbd", 3); /* U+FFFD */
                i++;
            }
            continue;
        }
        switch (c) {
        case '"':
            tld_sb_append(out, "\\\"", 2);
            break;
        case '\\':
            tld_sb_append(out, "\\\\", 2);
            break;
        case '\n':
            tld_sb_append(out, "\\n", 2);
            break;
        case '\r':
            tld_sb_append(out, "\\r", 2);
            break;
        case '\t':
            tld_sb_append(out, "\\t", 2);
            break;
        case '\b':
            tld_sb_append(out, "\\b", 2);
            break;
        case '\f':
            tld_sb_append(out, "\\f", 2);
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            tld_sb_append(out, u, 6);
        }
        }
        i++;
    }
    tld_sb_append_char(out, '"');
}

static void key(struct tld_sb *out, const char *k)
{
    tld_sb_append_char(out, ',');
    tld_sb_append_char(out, '"');
    tld_sb_append_cstr(out, k);
    tld_sb_append(out, "\":", 2);
}

static void str_member(struct tld_sb *out, const char *k, struct tld_sv v)
{
    key(out, k);
    tld_evrec_json_string(out, v);
}

static void rfc3339_ns(struct tld_sb *out, int64_t ns)
{
    time_t sec = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&sec, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm))
        snprintf(buf, sizeof buf, "1970-01-01T00:00:00");
    tld_sb_printf(out, "\"%s.%09ldZ\"", buf, frac);
}

void tld_evrec_to_json(const struct tld_evrec *r, uint64_t seq, struct tld_sb *out)
{
    char q[2] = {r->queue, 0};
    tld_sb_printf(out, "{\"seq\":%llu", (unsigned long long)seq);
    str_member(out, "queue", tld_sv_make(q, 1));
    if (r->source != TLD_SOURCE_FILE)
        str_member(out, "source", tld_sv_of(tld_source_name(r->source)));
    str_member(out, "location", r->location);
    key(out, "read_time");
    rfc3339_ns(out, r->read_time_ns);
    str_member(out, "text", r->text);
    if (r->flags & TLD_EVREC_TRUNCATED)
        tld_sb_append_cstr(out, ",\"truncated\":true");
    if (r->flags & (TLD_EVREC_TRUNCATED | TLD_EVREC_PARTIAL))
        tld_sb_printf(out, ",\"partials\":%u", (unsigned)r->partials);
    if (r->flags & TLD_EVREC_DOCKER_LOG) {
        tld_sb_append_cstr(out, ",\"docker\":{\"stream\":");
        tld_evrec_json_string(out, r->docker_stream);
        str_member(out, "time", r->docker_time);
        tld_sb_append_char(out, '}');
    }
    if (r->flags & TLD_EVREC_CONTAINER) {
        const struct tld_evrec_container *c = &r->container;
        tld_sb_append_cstr(out, ",\"container\":{\"id\":");
        tld_evrec_json_string(out, c->id);
        if (c->name.n)
            str_member(out, "name", c->name);
        if (c->image.n) {
            tld_sb_append_cstr(out, ",\"image\":{\"name\":");
            tld_evrec_json_string(out, c->image);
            tld_sb_append_char(out, '}');
        }
        if (c->nlabels) {
            tld_sb_append_cstr(out, ",\"labels\":{");
            for (unsigned i = 0; i < c->nlabels; i++) {
                if (i)
                    tld_sb_append_char(out, ',');
                tld_evrec_json_string(out, c->labels[i].key);
                tld_sb_append_char(out, ':');
                tld_evrec_json_string(out, c->labels[i].value);
            }
            tld_sb_append_char(out, '}');
        }
        if (c->compose_project.n || c->compose_service.n) {
            tld_sb_append_cstr(out, ",\"compose\":{\"project\":");
            tld_evrec_json_string(out, c->compose_project);
            str_member(out, "service", c->compose_service);
            tld_sb_append_char(out, '}');
        }
        tld_sb_append_char(out, '}');
    }
    if (r->flags & TLD_EVREC_FILE_POS)
        tld_sb_printf(out, ",\"file\":{\"inode\":%llu,\"offset\":%llu}",
                      (unsigned long long)r->file_ino, (unsigned long long)r->file_offset);
    tld_sb_append_char(out, '}');
}
