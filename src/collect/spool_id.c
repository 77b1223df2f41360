/*
 * The stream id of a spool directory (see spool_id.h): a random 64-bit number kept in
 * `stream.id` next to the spool's segments, replaced atomically (common/fsutil) when renewed.
 */
#include "collect/spool_id.h"

#include <openssl/rand.h>
#include <stdio.h>

#include "common/err.h"
#include "common/fsutil.h"

int tld_spool_stream_id(const char *spool_dir, bool renew, uint64_t *id)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/stream.id", spool_dir);
    if (!renew) {
        FILE *f = fopen(path, "re");
        if (f) {
            unsigned long long v = 0;
            int ok = fscanf(f, "%llx", &v) == 1 && v != 0;
            fclose(f);
            if (ok) {
                *id = v;
                return 0;
            }
        }
    }
    uint64_t v = 0;
    while (v == 0)
        if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
            return TLD_EIO;
    char text[24];
    int n = snprintf(text, sizeof text, "%016llx\n", (unsigned long long)v);
    if (tld_file_replace(path, text, (size_t)n, 0666) != 0)
        return TLD_EIO;
    *id = v;
    return 0;
}
