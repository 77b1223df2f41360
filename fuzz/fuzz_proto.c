/*
 * libFuzzer harness: the transport's frame parser and every message decoder, on a byte stream
 * as a peer could send it (a sequence of frames). Decoded views must lie inside the input and
 * respect their bounds; batch sequence numbers must come out strictly increasing.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/proto.h"

static const uint8_t *lo, *hi;

static void inside(struct tld_sv s, size_t max)
{
    if (s.n > max)
        __builtin_trap();
    if (s.n && ((const uint8_t *)s.p < lo || (const uint8_t *)s.p + s.n > hi))
        __builtin_trap();
}

static void decode(unsigned type, const uint8_t *p, size_t n)
{
    struct tld_msg_hello h;
    struct tld_msg_welcome w;
    struct tld_msg_keepalive k;
    struct tld_msg_error e;
    struct tld_msg_enroll_req r;
    struct tld_msg_enroll_ok o;
    uint64_t v;
    /* Every decoder sees every payload: a peer may lie about the type. */
    if (tld_msg_hello_get(p, n, &h) == 0) {
        inside(h.name, TLD_PROTO_MAX_NAME);
        inside(h.hostname, TLD_PROTO_MAX_INFO);
        if (h.stream == 0 || h.first_seq > h.next_seq)
            __builtin_trap();
    }
    if (tld_msg_welcome_get(p, n, &w) == 0) {
        inside(w.agent_id, TLD_PROTO_MAX_ID);
        if (w.max_batch_events > TLD_PROTO_MAX_BATCH)
            __builtin_trap();
    }
    if (tld_msg_keepalive_get(p, n, &k) == 0)
        inside(k.os, TLD_PROTO_MAX_INFO);
    if (tld_msg_error_get(p, n, &e) == 0)
        inside(e.reason, TLD_PROTO_MAX_REASON);
    if (tld_msg_enroll_req_get(p, n, &r) == 0) {
        inside(r.password, TLD_PROTO_MAX_PASSWORD);
        inside(r.csr_pem, TLD_PROTO_MAX_PEM);
        tld_proto_name_valid(r.name);
    }
    if (tld_msg_enroll_ok_get(p, n, &o) == 0)
        inside(o.cert_pem, TLD_PROTO_MAX_PEM);
    tld_msg_u64_get(p, n, &v);
    struct tld_batch_iter it;
    if (tld_batch_iter_init(&it, p, n) == 0) {
        uint64_t seq, last = 0, count = 0;
        struct tld_sv rec;
        int rc;
        while ((rc = tld_batch_iter_next(&it, &seq, &rec)) == 0) {
            inside(rec, TLD_PROTO_MAX_RECORD);
            if (seq == 0 || (count && seq <= last))
                __builtin_trap();
            last = seq;
            count++;
        }
        if (rc == TLD_ECLOSED && count != it.count)
            __builtin_trap();
    }
    (void)type;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lo = data;
    hi = data + size;
    size_t off = 0;
    while (off < size) {
        unsigned type;
        size_t len;
        int rc = tld_proto_header_parse(data + off, size - off, 1u << 20, &type, &len);
        if (rc)
            break;
        if (len > size - off - TLD_PROTO_HEADER)
            break;
        decode(type, data + off + TLD_PROTO_HEADER, len);
        off += TLD_PROTO_HEADER + len;
    }
    return 0;
}
