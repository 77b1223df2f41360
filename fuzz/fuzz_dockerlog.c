/*
 * libFuzzer harness: Docker json-file lines. The input is split at newlines like a log file;
 * each line is parsed into a small bounded builder (so the truncation path is exercised) and
 * pieces are joined as the collector does. Checks: a failed parse leaves the builder as it
 * was, the builder never passes its bound, and what it holds stays NUL-terminated.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collect/files/dockerlog.h"
#include "common/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tld_sb msg;
    tld_sb_init(&msg, 4096);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct tld_dockerlog_line dl;
        size_t before = msg.n;
        int rc = tld_dockerlog_parse(tld_sv_make(p, n), &dl, &msg);
        if (rc != 0 && (rc != TLD_EPARSE || msg.n != before))
            __builtin_trap();
        if (msg.n > msg.max || (msg.p && msg.p[msg.n] != '\0'))
            __builtin_trap();
        if (rc == 0 && (dl.stream_n > TLD_DOCKERLOG_MAX_STREAM ||
                        dl.time_n > TLD_DOCKERLOG_MAX_TIME || strlen(dl.stream) != dl.stream_n))
            __builtin_trap();
        if (rc == 0 && !dl.partial)
            tld_sb_reset(&msg); /* a complete message leaves the assembler */
        p += n + (nl ? 1 : 0);
    }
    tld_sb_fini(&msg);
    return 0;
}
