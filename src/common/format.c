/* Format versions of on-disk state (see format.h). */
#include "common/format.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "common/fsutil.h"

int tld_format_dir_check(const char *dir, const char *kind, unsigned current)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/" TLD_FORMAT_FILE, dir) >= (int)sizeof path)
        return TLD_EINVAL;
    FILE *f = fopen(path, "re");
    if (!f) {
        if (errno != ENOENT)
            return TLD_EIO;
        char line[128];
        int n = snprintf(line, sizeof line, "%s %u\n", kind, current);
        return tld_file_replace(path, line, (size_t)n, 0640);
    }
    char found_kind[64] = "";
    unsigned version = 0;
    char tail;
    char line[128] = "";
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    ok = ok && sscanf(line, "%63s %u %c", found_kind, &version, &tail) == 2;
    if (!ok || strcmp(found_kind, kind) != 0 || version == 0 || version > current)
        return TLD_EFORMAT;
    return 0;
}
