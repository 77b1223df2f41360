/* Collector checkpoint file (format in positions.h). Lookups are linear: the collector keeps
 * its own table of streams and touches this structure only at start-up and when saving. */
#include "collect/files/positions.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "common/grow.h"
#include "common/str.h"

#define MAX_FILE_BYTES (64u << 20)

uint64_t tld_positions_hash(const void *p, uint64_t n)
{
    return tld_fnv1a(TLD_FNV1A_SEED, p, (size_t)n);
}

void tld_positions_init(struct tld_positions *p)
{
    memset(p, 0, sizeof *p);
}

void tld_positions_fini(struct tld_positions *p)
{
    for (unsigned i = 0; i < p->n; i++)
        free(p->v[i].path);
    for (unsigned i = 0; i < p->npatterns; i++)
        free(p->patterns[i]);
    free(p->v);
    free(p->patterns);
    memset(p, 0, sizeof *p);
}

struct tld_position *tld_positions_get(struct tld_positions *p, const char *path, bool create)
{
    for (unsigned i = 0; i < p->n; i++)
        if (strcmp(p->v[i].path, path) == 0)
            return &p->v[i];
    if (!create || p->n >= TLD_POSITIONS_MAX)
        return NULL;
    if (tld_grow(&p->v, &p->cap, p->n + 1, sizeof *p->v, 64))
        return NULL;
    char *dup = strdup(path);
    if (!dup)
        return NULL;
    p->v[p->n] = (struct tld_position){.path = dup};
    return &p->v[p->n++];
}

void tld_positions_del(struct tld_positions *p, const char *path)
{
    for (unsigned i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].path, path) == 0) {
            free(p->v[i].path);
            p->v[i] = p->v[--p->n];
            return;
        }
    }
}

bool tld_positions_has_pattern(const struct tld_positions *p, const char *pattern)
{
    for (unsigned i = 0; i < p->npatterns; i++)
        if (strcmp(p->patterns[i], pattern) == 0)
            return true;
    return false;
}

int tld_positions_add_pattern(struct tld_positions *p, const char *pattern)
{
    if (tld_positions_has_pattern(p, pattern))
        return 0;
    if (p->npatterns >= 4096)
        return TLD_ELIMIT;
    char **v = realloc(p->patterns, (p->npatterns + 1) * sizeof *v);
    if (!v)
        return TLD_ENOMEM;
    p->patterns = v;
    if (!(v[p->npatterns] = strdup(pattern)))
        return TLD_ENOMEM;
    p->npatterns++;
    return 0;
}

static bool get_u64(const cJSON *o, const char *k, uint64_t *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    unsigned long long x;
    if (!cJSON_IsString(v) || !tld_sv_to_u64(tld_sv_of(v->valuestring), UINT64_MAX, &x))
        return false;
    *out = x;
    return true;
}

static int parse(const char *text, size_t n, struct tld_positions *p)
{
    cJSON *j = cJSON_ParseWithLength(text, n);
    if (!j)
        return TLD_EPARSE;
    int rc = TLD_EPARSE;
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "version");
    if (cJSON_IsNumber(ver) && ver->valueint > TLD_POSITIONS_FORMAT) {
        rc = TLD_EFORMAT;
        goto out;
    }
    if (!cJSON_IsNumber(ver) || ver->valueint != 1 || !get_u64(j, "spool_seq", &p->spool_seq))
        goto out;
    const cJSON *pats = cJSON_GetObjectItemCaseSensitive(j, "patterns");
    const cJSON *e;
    cJSON_ArrayForEach(e, pats)
    {
        if (!cJSON_IsString(e) || tld_positions_add_pattern(p, e->valuestring) != 0)
            goto out;
    }
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
    cJSON_ArrayForEach(e, files)
    {
        const cJSON *path = cJSON_GetObjectItemCaseSensitive(e, "path");
        const cJSON *head = cJSON_GetObjectItemCaseSensitive(e, "head");
        struct tld_position tmp = {0};
        char *endp;
        if (!cJSON_IsString(path) || !get_u64(e, "dev", &tmp.dev) || !get_u64(e, "ino", &tmp.ino) ||
            !get_u64(e, "offset", &tmp.off) || !get_u64(e, "head_len", &tmp.head_len) ||
            !cJSON_IsString(head))
            goto out;
        tmp.head_hash = strtoull(head->valuestring, &endp, 16);
        if (*endp)
            goto out;
        struct tld_position *pos = tld_positions_get(p, path->valuestring, true);
        if (!pos)
            goto out;
        tmp.path = pos->path;
        *pos = tmp;
    }
    rc = 0;
out:
    cJSON_Delete(j);
    if (rc != 0) {
        tld_positions_fini(p);
        tld_positions_init(p);
    }
    return rc;
}

int tld_positions_load(const char *file, struct tld_positions *p)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TLD_ENOTFOUND : TLD_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size > MAX_FILE_BYTES) {
        close(fd);
        return TLD_EPARSE;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    ssize_t n = buf ? read(fd, buf, (size_t)st.st_size) : -1;
    close(fd);
    int rc = n == st.st_size ? parse(buf, (size_t)n, p) : TLD_EIO;
    free(buf);
    return rc;
}

static cJSON *u64_str(uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRIu64, v);
    return cJSON_CreateString(b);
}

int tld_positions_save(const char *file, const struct tld_positions *p)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "version", TLD_POSITIONS_FORMAT);
    cJSON_AddItemToObject(j, "spool_seq", u64_str(p->spool_seq));
    cJSON *pats = cJSON_AddArrayToObject(j, "patterns");
    for (unsigned i = 0; i < p->npatterns; i++)
        cJSON_AddItemToArray(pats, cJSON_CreateString(p->patterns[i]));
    cJSON *files = cJSON_AddArrayToObject(j, "files");
    for (unsigned i = 0; i < p->n; i++) {
        const struct tld_position *e = &p->v[i];
        cJSON *o = cJSON_CreateObject();
        char h[24];
        snprintf(h, sizeof h, "%016" PRIx64, e->head_hash);
        cJSON_AddStringToObject(o, "path", e->path);
        cJSON_AddItemToObject(o, "dev", u64_str(e->dev));
        cJSON_AddItemToObject(o, "ino", u64_str(e->ino));
        cJSON_AddItemToObject(o, "offset", u64_str(e->off));
        cJSON_AddItemToObject(o, "head_len", u64_str(e->head_len));
        cJSON_AddStringToObject(o, "head", h);
        cJSON_AddItemToArray(files, o);
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    size_t n = text ? strlen(text) : 0;
    char *line = text ? realloc(text, n + 2) : NULL;
    if (!line) {
        free(text);
        return TLD_ENOMEM;
    }
    line[n] = '\n';
    int rc = tld_file_replace(file, line, n + 1, 0640);
    free(line);
    return rc;
}
