/*
 * The event record: one collected log line or one Docker event, with where it came from. The
 * same record is what the agent's spool stores, what `tld-agent --output` prints and what the
 * agent sends to the manager, so it has one binary encoding and one JSON rendering, both here.
 *
 * A decoded record borrows: every view points into the bytes it was decoded from, and the label
 * views into the caller's struct. Binary layout (all integers little-endian, `v` = LEB128
 * varint of at most 10 bytes, `s` = v length + bytes):
 *
 *   u8 version(1) | u8 queue | u16 flags | i64 read_time_ns | s location | s text
 *   [TRUNCATED|PARTIAL]  v partials
 *   [CONTAINER]          s id | s name | s image | s compose_project | s compose_service |
 *                        v nlabels | (s key | s value) * nlabels
 *   [DOCKER_LOG]         s stream | s time
 *   [FILE_POS]           v dev | v ino | v offset
 *   [DOCKER_CURSOR]      i64 cursor_ns | u64 event hash
 *   [SOURCE]             u8 source (enum tld_source, never TLD_SOURCE_FILE)
 *
 * The source kind is set by the code that makes the record, never from its text. A record
 * without SOURCE is a collected-file line: a file record keeps the bytes of the previous
 * release, and a record of a previous-release agent is trusted no more than a file line.
 *
 * Decoding accepts nothing else: unknown flag bits, a field over its bound, a length past the
 * end, or bytes left over are all TLD_EPARSE. Every bound below is also enforced on encode.
 */
#ifndef TLD_COMMON_EVREC_H
#define TLD_COMMON_EVREC_H

#include <stdbool.h>
#include <stdint.h>

#include "common/source.h"
#include "common/str.h"

#define TLD_EVREC_VERSION 1

#define TLD_EVREC_MAX_LOCATION     4096
#define TLD_EVREC_MAX_TEXT         (4u << 20) /* 4 MiB */
#define TLD_EVREC_MAX_ID           128
#define TLD_EVREC_MAX_NAME         512
#define TLD_EVREC_MAX_IMAGE        1024
#define TLD_EVREC_MAX_LABELS       128
#define TLD_EVREC_MAX_LABEL_KEY    512
#define TLD_EVREC_MAX_LABEL_VALUE  8192
#define TLD_EVREC_MAX_LABELS_BYTES 65536 /* sum of key and value lengths */
#define TLD_EVREC_MAX_STREAM       16
#define TLD_EVREC_MAX_DOCKER_TIME  64
/* Largest encoding of a record that respects every bound above (with slack for headers). */
#define TLD_EVREC_MAX_ENCODED                                                                      \
    (TLD_EVREC_MAX_TEXT + TLD_EVREC_MAX_LOCATION + TLD_EVREC_MAX_LABELS_BYTES +                    \
     TLD_EVREC_MAX_LABELS * 20 + 4 * TLD_EVREC_MAX_IMAGE + 1024)

enum tld_evrec_flag {
    TLD_EVREC_TRUNCATED = 1 << 0,     /* the text was cut at the configured maximum */
    TLD_EVREC_PARTIAL = 1 << 1,       /* the text was reassembled from `partials` pieces */
    TLD_EVREC_CONTAINER = 1 << 2,     /* container metadata present */
    TLD_EVREC_DOCKER_LOG = 1 << 3,    /* docker json-file `stream` and `time` present */
    TLD_EVREC_FILE_POS = 1 << 4,      /* position of the source file after this event */
    TLD_EVREC_DOCKER_CURSOR = 1 << 5, /* timeNano and identity of a Docker event (resume) */
    TLD_EVREC_SOURCE = 1 << 6,        /* source kind other than a file (set by encode) */
};
#define TLD_EVREC_FLAGS_ALL 0x7f

struct tld_evrec_label {
    struct tld_sv key;
    struct tld_sv value;
};

struct tld_evrec_container {
    struct tld_sv id;
    struct tld_sv name;
    struct tld_sv image;
    struct tld_sv compose_project; /* label com.docker.compose.project, or empty */
    struct tld_sv compose_service; /* label com.docker.compose.service, or empty */
    const struct tld_evrec_label *labels;
    unsigned nlabels;
};

struct tld_evrec {
    char queue;             /* '1' for every source the agent has */
    enum tld_source source; /* who made the record; encode sets TLD_EVREC_SOURCE from it */
    struct tld_sv location;
    struct tld_sv text;
    int64_t read_time_ns; /* when the agent read it (wall clock) */
    unsigned flags;       /* enum tld_evrec_flag */
    uint32_t partials;    /* with TRUNCATED or PARTIAL: pieces seen (0 if unknown) */
    struct tld_evrec_container container;
    struct tld_sv docker_stream; /* "stdout" / "stderr" */
    struct tld_sv docker_time;   /* Docker's RFC 3339 time, as written */
    /* Where the source file stood after this event: the exact-resume key of the collector. */
    uint64_t file_dev, file_ino, file_offset;
    int64_t docker_cursor_ns;
    uint64_t docker_event_hash; /* hash of the event's raw bytes, for de-duplication */
};

/* Storage for the labels of a decoded record. */
struct tld_evrec_labels {
    struct tld_evrec_label v[TLD_EVREC_MAX_LABELS];
};

/* Append the encoding of `r` to `out`. TLD_EINVAL if a field breaks a bound or the flags are
 * inconsistent; TLD_ELIMIT/TLD_ENOMEM if `out` could not hold it (out is then unspecified). */
int tld_evrec_encode(const struct tld_evrec *r, struct tld_sb *out);

/* Decode `buf[0..n)` into `r`, whose views point into buf and `labels`. TLD_EPARSE on any
 * malformed or out-of-bound input. */
int tld_evrec_decode(const void *buf, size_t n, struct tld_evrec *r,
                     struct tld_evrec_labels *labels);

/*
 * One JSON object on one line (no newline) for `tld-agent --output`:
 * {"seq":N,"queue":"1","source":"docker","location":..,"read_time":"RFC 3339 ns Z","text":..,
 *  "truncated":true,"partials":N,"docker":{"stream":..,"time":..},
 *  "container":{"id":..,"name":..,"image":{"name":..},"labels":{..},
 *               "compose":{"project":..,"service":..}},"file":{"inode":..,"offset":..}}
 * Optional members appear only when set ("source" when it is not "file"). Strings are escaped so
 * the line is valid JSON even for bytes that are not UTF-8 (each bad byte becomes U+FFFD).
 */
void tld_evrec_to_json(const struct tld_evrec *r, uint64_t seq, struct tld_sb *out);

/* Append `s` as a JSON string literal (quotes included), with the escaping described above. */
void tld_evrec_json_string(struct tld_sb *out, struct tld_sv s);

#endif
