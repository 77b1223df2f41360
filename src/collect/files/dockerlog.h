/*
 * Docker's json-file log lines and the reassembly of the lines Docker splits.
 *
 * Each line of `<id>-json.log` is one JSON object {"log":"...","stream":"stdout","time":"..."}
 * (plus optional "attrs"). A message longer than 16 KiB is written as several such lines whose
 * "log" does not end in "\n"; the last piece does. tld_dockerlog_parse() reads one line and
 * appends the unescaped "log" to a caller's bounded builder, so pieces are joined without a
 * copy. The parser is strict JSON (what Docker writes) with a nesting bound, and never reads
 * outside the view it is given.
 *
 * An assembler joins the pieces of one stream (stdout and stderr interleave, each has its
 * own). Its text is bounded by the builder's maximum: pieces past it are counted and dropped,
 * and the message is flagged truncated when its last piece arrives.
 */
#ifndef TLD_COLLECT_FILES_DOCKERLOG_H
#define TLD_COLLECT_FILES_DOCKERLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/str.h"

#define TLD_DOCKERLOG_MAX_STREAM 16
#define TLD_DOCKERLOG_MAX_TIME   64

struct tld_dockerlog_line {
    char stream[TLD_DOCKERLOG_MAX_STREAM + 1];
    char time[TLD_DOCKERLOG_MAX_TIME + 1];
    size_t stream_n, time_n;
    bool partial; /* "log" did not end with "\n": more pieces follow */
};

/*
 * Parse `line` (without its trailing newline). The unescaped "log" is appended to `log`
 * (bounded; log->truncated tells whether the bound cut it). On TLD_EPARSE `log` is restored
 * to its previous length and `out` is unspecified. A line without "log" is an error.
 */
int tld_dockerlog_parse(struct tld_sv line, struct tld_dockerlog_line *out, struct tld_sb *log);

/* One stream's pending message. */
struct tld_dockerlog_asm {
    struct tld_sb text;                    /* bounded by the configured maximum message size */
    uint32_t pieces;                       /* lines joined so far */
    bool active;                           /* a partial message is pending */
    char time[TLD_DOCKERLOG_MAX_TIME + 1]; /* time of the first piece */
    size_t time_n;
};

void tld_dockerlog_asm_init(struct tld_dockerlog_asm *a, size_t max_message);
void tld_dockerlog_asm_fini(struct tld_dockerlog_asm *a);
/* Forget the pending message (after it was emitted). */
void tld_dockerlog_asm_reset(struct tld_dockerlog_asm *a);

#endif
