/*
 * The agent <-> manager wire protocol (docs/PROTOCOL.md): frames and the messages they carry,
 * for the transport (TCP 1514) and for enrollment (TCP 1515). This file is a pure codec: it
 * never touches a socket, so the same code runs in the daemons, the unit tests and the fuzzers.
 *
 * A frame is an 8-byte header and a payload:
 *     'T' 'L' | u8 version (1) | u8 type | u32 payload length (little-endian) | payload
 * The payload length is bounded by TLD_PROTO_MAX_PAYLOAD; there is no checksum, the TLS record
 * layer authenticates every byte (see the protocol document for why).
 *
 * Payload fields are written in a fixed order per message type with these encodings:
 *     v  unsigned LEB128 varint, at most 10 bytes, value < 2^64
 *     s  v length, then that many bytes (each string has its own bound below)
 * Decoders accept nothing else: a field past the end, a string over its bound, a varint that is
 * too long, or bytes left over after the last field are all TLD_EPARSE. Decoded messages borrow:
 * their views point into the payload they were decoded from.
 */
#ifndef TLD_COMMON_PROTO_H
#define TLD_COMMON_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

#define TLD_PROTO_VERSION     1
#define TLD_PROTO_HEADER      8
#define TLD_PROTO_MAX_PAYLOAD (8u << 20) /* one batch, or one maximal event record */

/* Bounds of the strings in messages. */
#define TLD_PROTO_MAX_NAME     128 /* agent name: [A-Za-z0-9._-]{1,128} */
#define TLD_PROTO_MAX_ID       16  /* agent id: 3 to 9 digits */
#define TLD_PROTO_MAX_INFO     256 /* version, OS, host name */
#define TLD_PROTO_MAX_PASSWORD 256
#define TLD_PROTO_MAX_PEM      16384 /* a CSR or certificate in PEM */
#define TLD_PROTO_MAX_REASON   512
#define TLD_PROTO_MAX_RECORD   ((4u << 20) + 96u * 1024) /* one event record (>= evrec max) */
#define TLD_PROTO_MAX_BATCH    4096                      /* events per batch */

enum tld_proto_type {
    TLD_MSG_HELLO = 0x01,     /* agent -> manager, first frame on 1514 */
    TLD_MSG_WELCOME = 0x02,   /* manager -> agent, answer to HELLO */
    TLD_MSG_BATCH = 0x03,     /* agent -> manager: events with sequence numbers */
    TLD_MSG_ACK = 0x04,       /* manager -> agent: every event <= seq is durably recorded */
    TLD_MSG_KEEPALIVE = 0x05, /* agent -> manager: status, every keepalive interval */
    TLD_MSG_PONG = 0x06,      /* manager -> agent: answer to KEEPALIVE, or "busy, still here" */
    TLD_MSG_ERROR = 0x07,     /* either way: code and reason, then the sender closes */
    TLD_MSG_ENROLL_REQ = 0x10,
    TLD_MSG_ENROLL_OK = 0x11,
};

/* Codes carried by TLD_MSG_ERROR (also the enrollment refusals). */
enum tld_proto_code {
    TLD_PCODE_PROTOCOL = 1, /* malformed frame or message, or unexpected type */
    TLD_PCODE_VERSION = 2,  /* protocol version not supported */
    TLD_PCODE_UNKNOWN_AGENT = 3,
    TLD_PCODE_REMOVED_AGENT = 4,
    TLD_PCODE_BAD_PASSWORD = 5,
    TLD_PCODE_DUPLICATE_NAME = 6,
    TLD_PCODE_BAD_NAME = 7,
    TLD_PCODE_BAD_CSR = 8,
    TLD_PCODE_RATE_LIMITED = 9,
    TLD_PCODE_FULL = 10, /* agent table full */
    TLD_PCODE_INTERNAL = 11,
    TLD_PCODE_SHUTDOWN = 12, /* the manager is stopping */
    TLD_PCODE_REPLACED = 13, /* a newer connection of the same agent took over */
};

/* Short English name of a code ("bad password"); never NULL. */
const char *tld_proto_code_str(unsigned code);

/* ---- frames ---------------------------------------------------------------------------------- */

/*
 * Parse a frame header from buf[0..n). 0 with *type and *len when a whole header is there;
 * TLD_EAGAIN when fewer than TLD_PROTO_HEADER bytes are available; TLD_EPROTO on a bad magic,
 * an unsupported version or a length over `max_len` (<= TLD_PROTO_MAX_PAYLOAD).
 */
int tld_proto_header_parse(const void *buf, size_t n, size_t max_len, unsigned *type, size_t *len);
/* Write a frame header for a payload of `len` bytes. */
void tld_proto_header_put(uint8_t out[TLD_PROTO_HEADER], unsigned type, size_t len);

/* ---- field codec ----------------------------------------------------------------------------- */

void tld_proto_put_v(struct tld_sb *out, uint64_t v);
void tld_proto_put_s(struct tld_sb *out, struct tld_sv s);

/* A cursor over a payload. The first failure sets `bad`; later reads return zero values. */
struct tld_proto_rd {
    const uint8_t *p;
    size_t n;
    size_t off;
    bool bad;
};

static inline struct tld_proto_rd tld_proto_rd_make(const void *p, size_t n)
{
    return (struct tld_proto_rd){(const uint8_t *)p, n, 0, false};
}
uint64_t tld_proto_get_v(struct tld_proto_rd *rd);
/* A string of at most `max` bytes. */
struct tld_sv tld_proto_get_s(struct tld_proto_rd *rd, size_t max);
/* 0 when every read succeeded and the payload was consumed exactly; else TLD_EPARSE. */
int tld_proto_rd_end(const struct tld_proto_rd *rd);

/* ---- messages -------------------------------------------------------------------------------- */

/* HELLO: s name | s version | s os | s hostname | v stream | v first_seq | v next_seq */
struct tld_msg_hello {
    struct tld_sv name;    /* as enrolled; informational (the certificate decides) */
    struct tld_sv version; /* agent version */
    struct tld_sv os;      /* e.g. "Linux 6.1.0 x86_64" */
    struct tld_sv hostname;
    uint64_t stream;    /* identity of the agent's spool; 0 is invalid */
    uint64_t first_seq; /* oldest event the agent still holds */
    uint64_t next_seq;  /* sequence number its next event will get */
};

/* WELCOME: s agent_id | v last_seq | v keepalive_s | v max_batch_events | v max_batch_bytes |
 *          s manager_name */
struct tld_msg_welcome {
    struct tld_sv agent_id;
    uint64_t last_seq;    /* highest sequence number of this stream durably recorded; 0 none */
    uint64_t keepalive_s; /* interval the manager expects (1..3600) */
    uint64_t max_batch_events;
    uint64_t max_batch_bytes;
    struct tld_sv manager_name;
};

/* KEEPALIVE: s version | s os | s hostname | v pending | v spool_bytes */
struct tld_msg_keepalive {
    struct tld_sv version;
    struct tld_sv os;
    struct tld_sv hostname;
    uint64_t pending; /* events in the spool not yet acknowledged */
    uint64_t spool_bytes;
};

/* ERROR: v code | s reason */
struct tld_msg_error {
    uint64_t code;
    struct tld_sv reason;
};

/* ENROLL_REQ: s name | s password | s csr_pem | s version | s os | s hostname */
struct tld_msg_enroll_req {
    struct tld_sv name;
    struct tld_sv password; /* empty when the agent has none */
    struct tld_sv csr_pem;
    struct tld_sv version;
    struct tld_sv os;
    struct tld_sv hostname;
};

/* ENROLL_OK: s agent_id | s agent_name | s cert_pem | s ca_pem */
struct tld_msg_enroll_ok {
    struct tld_sv agent_id;
    struct tld_sv agent_name;
    struct tld_sv cert_pem;
    struct tld_sv ca_pem;
};

/* Encoders append the payload (no frame header) to `out`. Decoders return 0 or TLD_EPARSE. */
void tld_msg_hello_put(struct tld_sb *out, const struct tld_msg_hello *m);
int tld_msg_hello_get(const void *p, size_t n, struct tld_msg_hello *m);
void tld_msg_welcome_put(struct tld_sb *out, const struct tld_msg_welcome *m);
int tld_msg_welcome_get(const void *p, size_t n, struct tld_msg_welcome *m);
void tld_msg_keepalive_put(struct tld_sb *out, const struct tld_msg_keepalive *m);
int tld_msg_keepalive_get(const void *p, size_t n, struct tld_msg_keepalive *m);
void tld_msg_error_put(struct tld_sb *out, const struct tld_msg_error *m);
int tld_msg_error_get(const void *p, size_t n, struct tld_msg_error *m);
void tld_msg_enroll_req_put(struct tld_sb *out, const struct tld_msg_enroll_req *m);
int tld_msg_enroll_req_get(const void *p, size_t n, struct tld_msg_enroll_req *m);
void tld_msg_enroll_ok_put(struct tld_sb *out, const struct tld_msg_enroll_ok *m);
int tld_msg_enroll_ok_get(const void *p, size_t n, struct tld_msg_enroll_ok *m);
/* ACK and PONG: v value (the acknowledged seq; the manager's clock in ns). */
void tld_msg_u64_put(struct tld_sb *out, uint64_t v);
int tld_msg_u64_get(const void *p, size_t n, uint64_t *v);

/*
 * BATCH: v count (1..TLD_PROTO_MAX_BATCH) | count * (v seq | s record)
 * Sequence numbers are strictly increasing within a batch (and > 0). A batch is built with
 * _begin/_add/_end (the count is written at _end, in front of the entries) and read with an
 * iterator that checks the rules above as it goes.
 */
struct tld_batch_writer {
    struct tld_sb entries; /* hard bound: max_bytes or one maximal record, whichever is more */
    size_t max_bytes;      /* entries after the first are added only below this */
    uint64_t count;
    uint64_t last_seq;
};
void tld_batch_writer_init(struct tld_batch_writer *w, size_t max_bytes);
void tld_batch_writer_fini(struct tld_batch_writer *w);
void tld_batch_writer_reset(struct tld_batch_writer *w);
/* TLD_EINVAL for a seq not above the previous one or a record over its bound; TLD_ELIMIT when
 * the batch is full (count or bytes). */
int tld_batch_writer_add(struct tld_batch_writer *w, uint64_t seq, struct tld_sv record);
/* The whole payload (count then entries) appended to `out`. */
void tld_batch_writer_finish(const struct tld_batch_writer *w, struct tld_sb *out);

struct tld_batch_iter {
    struct tld_proto_rd rd;
    uint64_t count;
    uint64_t index;
    uint64_t last_seq;
};
/* TLD_EPARSE when the count is missing or out of range. */
int tld_batch_iter_init(struct tld_batch_iter *it, const void *p, size_t n);
/* 0 with the next entry; TLD_ECLOSED after the last one (and the payload was consumed
 * exactly); TLD_EPARSE on any violation. */
int tld_batch_iter_next(struct tld_batch_iter *it, uint64_t *seq, struct tld_sv *record);

/* Agent names: 1..TLD_PROTO_MAX_NAME bytes of [A-Za-z0-9._-], not "." or "..". */
bool tld_proto_name_valid(struct tld_sv name);
/* A valid name that also starts with a letter or a digit, as new enrollments require: a name
 * starting with '-' or '.' reads as an option or a hidden file wherever it is used. */
bool tld_proto_name_safe(struct tld_sv name);

#endif
