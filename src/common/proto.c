/* Frame and message codec of the agent <-> manager protocol (see proto.h). */
#include "common/proto.h"

#include "common/err.h"

const char *tld_proto_code_str(unsigned code)
{
    switch (code) {
    case TLD_PCODE_PROTOCOL:
        return "protocol error";
    case TLD_PCODE_VERSION:
        return "unsupported protocol version";
    case TLD_PCODE_UNKNOWN_AGENT:
        return "unknown agent";
    case TLD_PCODE_REMOVED_AGENT:
        return "agent removed";
    case TLD_PCODE_BAD_PASSWORD:
        return "bad password";
    case TLD_PCODE_DUPLICATE_NAME:
        return "duplicate agent name";
    case TLD_PCODE_BAD_NAME:
        return "invalid agent name";
    case TLD_PCODE_BAD_CSR:
        return "invalid certificate request";
    case TLD_PCODE_RATE_LIMITED:
        return "too many requests";
    case TLD_PCODE_FULL:
        return "agent table full";
    case TLD_PCODE_INTERNAL:
        return "internal error";
    case TLD_PCODE_SHUTDOWN:
        return "manager shutting down";
    case TLD_PCODE_REPLACED:
        return "replaced by a newer connection";
    }
    return "unknown error";
}

/* ---- frames ---------------------------------------------------------------------------------- */

int tld_proto_header_parse(const void *buf, size_t n, size_t max_len, unsigned *type, size_t *len)
{
    const uint8_t *b = buf;
    if (n < TLD_PROTO_HEADER)
        return TLD_EAGAIN;
    if (b[0] != 'T' || b[1] != 'L' || b[2] != TLD_PROTO_VERSION)
        return TLD_EPROTO;
    uint32_t l = (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24;
    if (max_len > TLD_PROTO_MAX_PAYLOAD)
        max_len = TLD_PROTO_MAX_PAYLOAD;
    if (l > max_len)
        return TLD_EPROTO;
    *type = b[3];
    *len = l;
    return 0;
}

void tld_proto_header_put(uint8_t out[TLD_PROTO_HEADER], unsigned type, size_t len)
{
    out[0] = 'T';
    out[1] = 'L';
    out[2] = TLD_PROTO_VERSION;
    out[3] = (uint8_t)type;
    for (int i = 0; i < 4; i++)
        out[4 + i] = (uint8_t)(len >> (8 * i));
}

/* ---- fields ---------------------------------------------------------------------------------- */

void tld_proto_put_v(struct tld_sb *out, uint64_t v)
{
    uint8_t b[10];
    size_t n = 0;
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        b[n++] = (uint8_t)(c | (v ? 0x80 : 0));
    } while (v);
    tld_sb_append(out, b, n);
}

void tld_proto_put_s(struct tld_sb *out, struct tld_sv s)
{
    tld_proto_put_v(out, s.n);
    if (s.n)
        tld_sb_append(out, s.p, s.n);
}

uint64_t tld_proto_get_v(struct tld_proto_rd *rd)
{
    if (rd->bad)
        return 0;
    uint64_t v = 0;
    for (unsigned i = 0; i < 10; i++) {
        if (rd->off >= rd->n)
            break;
        uint8_t c = rd->p[rd->off++];
        /* The tenth byte may only hold the top bit of a 64-bit value. */
        if (i == 9 && c > 1)
            break;
        v |= (uint64_t)(c & 0x7f) << (7 * i);
        if (!(c & 0x80))
            return v;
    }
    rd->bad = true;
    return 0;
}

struct tld_sv tld_proto_get_s(struct tld_proto_rd *rd, size_t max)
{
    uint64_t n = tld_proto_get_v(rd);
    if (rd->bad || n > max || n > rd->n - rd->off) {
        rd->bad = true;
        return (struct tld_sv){"", 0};
    }
    struct tld_sv s = {(const char *)rd->p + rd->off, (size_t)n};
    if (n == 0)
        s.p = "";
    rd->off += (size_t)n;
    return s;
}

int tld_proto_rd_end(const struct tld_proto_rd *rd)
{
    return rd->bad || rd->off != rd->n ? TLD_EPARSE : 0;
}

/* ---- messages -------------------------------------------------------------------------------- */

void tld_msg_hello_put(struct tld_sb *out, const struct tld_msg_hello *m)
{
    tld_proto_put_s(out, m->name);
    tld_proto_put_s(out, m->version);
    tld_proto_put_s(out, m->os);
    tld_proto_put_s(out, m->hostname);
    tld_proto_put_v(out, m->stream);
    tld_proto_put_v(out, m->first_seq);
    tld_proto_put_v(out, m->next_seq);
}

int tld_msg_hello_get(const void *p, size_t n, struct tld_msg_hello *m)
{
    struct tld_proto_rd rd = tld_proto_rd_make(p, n);
    m->name = tld_proto_get_s(&rd, TLD_PROTO_MAX_NAME);
    m->version = tld_proto_get_s(&rd, TLD_PROTO_MAX_INFO);
    m->os = tld_proto_get_s(&rd, TLD_PROTO_MAX_INFO);
    m->hostname = tld_proto_get_s(&rd, TLD_PROTO_MAX_INFO);
    m->stream = tld_proto_get_v(&rd);
    m->first_seq = tld_proto_get_v(&rd);
    m->next_seq = tld_proto_get_v(&rd);
    if (tld_proto_rd_end(&rd) || m->stream == 0 || m->first_seq > m->next_seq)
        return TLD_EPARSE;
    return 0;
}

void tld_msg_welcome_put(struct tld_sb *out, const struct tld_msg_welcome *m)
{
    tld_proto_put_s(out, m->agent_id);
    tld_proto_put_v(out, m->last_seq);
    tld_proto_put_v(out, m->keepalive_s);
    tld_proto_put_v(out, m->max_batch_events);
    tld_proto_put_v(out, m->max_batch_bytes);
    tld_proto_put_s(out, m->manager_name);
}

int tld_msg_welcome_get(const void *p, size_t n, struct tld_msg_welcome *m)
{
    struct tld_proto_rd rd = tld_proto_rd_make(p, n);
    m->agent_id = tld_proto_get_s(&rd, TLD_PROTO_MAX_ID);
    m->last_seq = tld_proto_get_v(&rd);
    m->keepalive_s = tld_proto_get_v(&rd);
    m->max_batch_events = tld_proto_get_v(&rd);
    m->max_batch_bytes = tld_proto_get_v(&rd);
    m->manager_name = tld_proto_get_s(&rd, TLD_PROTO_MAX_INFO);
    if (tld_proto_rd_end(&rd) || m->keepalive_s < 1 || m->keepalive_s > 3600 ||
        m->max_batch_events < 1 || m->max_batch_events > TLD_PROTO_MAX_BATCH ||
        m->max_batch_bytes < 1024 || m->max_batch_bytes > TLD_PROTO_MAX_PAYLOAD)
        return TLD_EPARSE;
    return 0;
}

void tld_msg_keepalive_put(struct tld_sb *out, const struct tld_msg_keepalive *m)
{
    tld_proto_put_s(out, m->version);
    tld_proto_put_s(out, m->os);
    tld_proto_put_s(out, m->hostname);
    tld_proto_put_v(out, m->pending);
    tld_proto_put_v(out, m->spool_bytes);
}

int tld_msg_keepalive_get(const void *p, size_t n, struct tld_msg_keepalive *m)
{
    struct tld_proto_rd rd = tld_proto_rd_make(p, n);
    m->version = tld_proto_get_s(&rd, TLD_PROTO_MAX_INFO);
    m->os = tld_proto_get_s(&rd, TLD_PROTO_MAX_INFO);
    m->hostname = tld_proto_get_s(&rd, TLD_PROTO_MAX_INFO);
    m->pending = tld_proto_get_v(&rd);
    m->spool_bytes = tld_proto_get_v(&rd);
    return tld_proto_rd_end(&rd);
}

void tld_msg_error_put(struct tld_sb *out, const struct tld_msg_error *m)
{
    tld_proto_put_v(out, m->code);
    struct tld_sv r = m->reason;
    if (r.n > TLD_PROTO_MAX_REASON)
        r.n = TLD_PROTO_MAX_REASON;
    tld_proto_put_s(out, r);
}

int tld_msg_error_get(const void *p, size_t n, struct tld_msg_error *m)
{
    struct tld_proto_rd rd = tld_proto_rd_make(p, n);
    m->code = tld_proto_get_v(&rd);
    m->reason = tld_proto_get_s(&rd, TLD_PROTO_MAX_REASON);
    return tld_proto_rd_end(&rd);
}

void tld_msg_enroll_req_put(struct tld_sb *out, const struct tld_msg_enroll_req *m)
{
    tld_proto_put_s(out, m->name);
    tld_proto_put_s(out, m->password);
    tld_proto_put_s(out, m->csr_pem);
    tld_proto_put_s(out, m->version);
    tld_proto_put_s(out, m->os);
    tld_proto_put_s(out, m->hostname);
}

int tld_msg_enroll_req_get(const void *p, size_t n, struct tld_msg_enroll_req *m)
{
    struct tld_proto_rd rd = tld_proto_rd_make(p, n);
    /* The name is read with a larger bound so that an over-long name is reported as a bad
     * name rather than as a malformed request. */
    m->name = tld_proto_get_s(&rd, 4 * TLD_PROTO_MAX_NAME);
    m->password = tld_proto_get_s(&rd, TLD_PROTO_MAX_PASSWORD);
    m->csr_pem = tld_proto_get_s(&rd, TLD_PROTO_MAX_PEM);
    m->version = tld_proto_get_s(&rd, TLD_PROTO_MAX_INFO);
    m->os = tld_proto_get_s(&rd, TLD_PROTO_MAX_INFO);
    m->hostname = tld_proto_get_s(&rd, TLD_PROTO_MAX_INFO);
    return tld_proto_rd_end(&rd);
}

void tld_msg_enroll_ok_put(struct tld_sb *out, const struct tld_msg_enroll_ok *m)
{
    tld_proto_put_s(out, m->agent_id);
    tld_proto_put_s(out, m->agent_name);
    tld_proto_put_s(out, m->cert_pem);
    tld_proto_put_s(out, m->ca_pem);
}

int tld_msg_enroll_ok_get(const void *p, size_t n, struct tld_msg_enroll_ok *m)
{
    struct tld_proto_rd rd = tld_proto_rd_make(p, n);
    m->agent_id = tld_proto_get_s(&rd, TLD_PROTO_MAX_ID);
    m->agent_name = tld_proto_get_s(&rd, TLD_PROTO_MAX_NAME);
    m->cert_pem = tld_proto_get_s(&rd, TLD_PROTO_MAX_PEM);
    m->ca_pem = tld_proto_get_s(&rd, TLD_PROTO_MAX_PEM);
    if (tld_proto_rd_end(&rd) || m->agent_id.n == 0 || m->cert_pem.n == 0 || m->ca_pem.n == 0)
        return TLD_EPARSE;
    return 0;
}

void tld_msg_u64_put(struct tld_sb *out, uint64_t v)
{
    tld_proto_put_v(out, v);
}

int tld_msg_u64_get(const void *p, size_t n, uint64_t *v)
{
    struct tld_proto_rd rd = tld_proto_rd_make(p, n);
    *v = tld_proto_get_v(&rd);
    return tld_proto_rd_end(&rd);
}

/* ---- batches --------------------------------------------------------------------------------- */

void tld_batch_writer_init(struct tld_batch_writer *w, size_t max_bytes)
{
    /* The count in front takes at most 3 bytes for TLD_PROTO_MAX_BATCH. */
    if (max_bytes > TLD_PROTO_MAX_PAYLOAD - 8)
        max_bytes = TLD_PROTO_MAX_PAYLOAD - 8;
    size_t hard = max_bytes > TLD_PROTO_MAX_RECORD + 20 ? max_bytes : TLD_PROTO_MAX_RECORD + 20;
    tld_sb_init(&w->entries, hard);
    w->max_bytes = max_bytes;
    w->count = 0;
    w->last_seq = 0;
}

void tld_batch_writer_fini(struct tld_batch_writer *w)
{
    tld_sb_fini(&w->entries);
}

void tld_batch_writer_reset(struct tld_batch_writer *w)
{
    tld_sb_reset(&w->entries);
    w->count = 0;
    w->last_seq = 0;
}

int tld_batch_writer_add(struct tld_batch_writer *w, uint64_t seq, struct tld_sv record)
{
    if (seq == 0 || (w->count && seq <= w->last_seq) || record.n > TLD_PROTO_MAX_RECORD)
        return TLD_EINVAL;
    if (w->count >= TLD_PROTO_MAX_BATCH)
        return TLD_ELIMIT;
    /* The first record always fits; later ones only while the batch stays under its bound. */
    if (w->count && w->entries.n + record.n + 20 > w->max_bytes)
        return TLD_ELIMIT;
    tld_proto_put_v(&w->entries, seq);
    tld_proto_put_s(&w->entries, record);
    if (w->entries.oom || w->entries.truncated)
        return TLD_ENOMEM;
    w->count++;
    w->last_seq = seq;
    return 0;
}

void tld_batch_writer_finish(const struct tld_batch_writer *w, struct tld_sb *out)
{
    tld_proto_put_v(out, w->count);
    tld_sb_append(out, w->entries.p ? w->entries.p : "", w->entries.n);
}

int tld_batch_iter_init(struct tld_batch_iter *it, const void *p, size_t n)
{
    it->rd = tld_proto_rd_make(p, n);
    it->count = tld_proto_get_v(&it->rd);
    it->index = 0;
    it->last_seq = 0;
    if (it->rd.bad || it->count == 0 || it->count > TLD_PROTO_MAX_BATCH)
        return TLD_EPARSE;
    return 0;
}

int tld_batch_iter_next(struct tld_batch_iter *it, uint64_t *seq, struct tld_sv *record)
{
    if (it->index == it->count)
        return tld_proto_rd_end(&it->rd) ? TLD_EPARSE : TLD_ECLOSED;
    uint64_t s = tld_proto_get_v(&it->rd);
    struct tld_sv r = tld_proto_get_s(&it->rd, TLD_PROTO_MAX_RECORD);
    if (it->rd.bad || s == 0 || (it->index && s <= it->last_seq))
        return TLD_EPARSE;
    it->index++;
    it->last_seq = s;
    *seq = s;
    *record = r;
    return 0;
}

bool tld_proto_name_safe(struct tld_sv name)
{
    if (!tld_proto_name_valid(name))
        return false;
    unsigned char c = (unsigned char)name.p[0];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool tld_proto_name_valid(struct tld_sv name)
{
    if (name.n == 0 || name.n > TLD_PROTO_MAX_NAME)
        return false;
    if (tld_sv_eq_cstr(name, ".") || tld_sv_eq_cstr(name, ".."))
        return false;
    for (size_t i = 0; i < name.n; i++) {
        unsigned char c = (unsigned char)name.p[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}
