/* Container information objects (see cinfo.h). */
#include "collect/docker/cinfo.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

bool tld_cinfo_is_id(const char *s, size_t n)
{
    if (n != 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static char *bounded_dup(const char *s, size_t max)
{
    if (!s)
        s = "";
    size_t n = strnlen(s, max);
    char *r = malloc(n + 1);
    if (r) {
        memcpy(r, s, n);
        r[n] = 0;
    }
    return r;
}

static struct tld_cinfo *alloc_info(const char *id)
{
    struct tld_cinfo *ci = calloc(1, sizeof *ci);
    if (!ci)
        return NULL;
    atomic_init(&ci->refs, 1);
    size_t n = strnlen(id, TLD_EVREC_MAX_ID);
    memcpy(ci->id, id, n);
    ci->id[n] = 0;
    return ci;
}

struct tld_cinfo *tld_cinfo_new_id(const char *id)
{
    struct tld_cinfo *ci = alloc_info(id);
    if (!ci)
        return NULL;
    ci->name = bounded_dup("", 0);
    ci->image = bounded_dup("", 0);
    ci->project = bounded_dup("", 0);
    ci->service = bounded_dup("", 0);
    if (!ci->name || !ci->image || !ci->project || !ci->service) {
        tld_cinfo_unref(ci);
        return NULL;
    }
    return ci;
}

static int cmp_label(const void *a, const void *b)
{
    const struct tld_evrec_label *x = a, *y = b;
    size_t n = x->key.n < y->key.n ? x->key.n : y->key.n;
    int c = memcmp(x->key.p, y->key.p, n);
    return c ? c : (x->key.n > y->key.n) - (x->key.n < y->key.n);
}

struct tld_cinfo *tld_cinfo_new_inspect(const cJSON *j)
{
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "Id");
    if (!cJSON_IsString(id) || !id->valuestring[0])
        return NULL;
    struct tld_cinfo *ci = alloc_info(id->valuestring);
    if (!ci)
        return NULL;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "Name");
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(j, "Config");
    const cJSON *image = cJSON_GetObjectItemCaseSensitive(config, "Image");
    const char *nm = cJSON_IsString(name) ? name->valuestring : "";
    if (nm[0] == '/')
        nm++;
    ci->name = bounded_dup(nm, TLD_EVREC_MAX_NAME);
    ci->image = bounded_dup(cJSON_IsString(image) ? image->valuestring : "", TLD_EVREC_MAX_IMAGE);
    const char *project = "", *service = "";
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(config, "Labels");
    unsigned total = (unsigned)cJSON_GetArraySize(labels);
    if (cJSON_IsObject(labels) && total) {
        ci->labels =
            calloc(total < TLD_EVREC_MAX_LABELS ? total : TLD_EVREC_MAX_LABELS, sizeof *ci->labels);
        size_t bytes = 0;
        const cJSON *l;
        cJSON_ArrayForEach(l, labels)
        {
            if (!cJSON_IsString(l) || !l->string)
                continue;
            if (strcmp(l->string, "com.docker.compose.project") == 0)
                project = l->valuestring;
            else if (strcmp(l->string, "com.docker.compose.service") == 0)
                service = l->valuestring;
            size_t kn = strlen(l->string), vn = strlen(l->valuestring);
            if (!ci->labels || ci->nlabels == TLD_EVREC_MAX_LABELS ||
                kn > TLD_EVREC_MAX_LABEL_KEY || vn > TLD_EVREC_MAX_LABEL_VALUE ||
                bytes + kn + vn > TLD_EVREC_MAX_LABELS_BYTES) {
                ci->labels_dropped++;
                continue;
            }
            char *k = bounded_dup(l->string, kn), *v = bounded_dup(l->valuestring, vn);
            if (!k || !v) {
                free(k);
                free(v);
                ci->labels_dropped++;
                continue;
            }
            ci->labels[ci->nlabels++] =
                (struct tld_evrec_label){tld_sv_make(k, kn), tld_sv_make(v, vn)};
            bytes += kn + vn;
        }
        if (ci->nlabels)
            qsort(ci->labels, ci->nlabels, sizeof *ci->labels, cmp_label);
    }
    ci->project = bounded_dup(project, TLD_EVREC_MAX_NAME);
    ci->service = bounded_dup(service, TLD_EVREC_MAX_NAME);
    if (!ci->name || !ci->image || !ci->project || !ci->service) {
        tld_cinfo_unref(ci);
        return NULL;
    }
    return ci;
}

struct tld_cinfo *tld_cinfo_ref(struct tld_cinfo *ci)
{
    if (ci)
        atomic_fetch_add(&ci->refs, 1);
    return ci;
}

void tld_cinfo_unref(struct tld_cinfo *ci)
{
    if (!ci || atomic_fetch_sub(&ci->refs, 1) != 1)
        return;
    for (unsigned i = 0; i < ci->nlabels; i++) {
        free((char *)ci->labels[i].key.p);
        free((char *)ci->labels[i].value.p);
    }
    free(ci->labels);
    free(ci->name);
    free(ci->image);
    free(ci->project);
    free(ci->service);
    free(ci);
}

void tld_cinfo_to_evrec(const struct tld_cinfo *ci, struct tld_evrec_container *out)
{
    out->id = tld_sv_of(ci->id);
    out->name = tld_sv_of(ci->name);
    out->image = tld_sv_of(ci->image);
    out->compose_project = tld_sv_of(ci->project);
    out->compose_service = tld_sv_of(ci->service);
    out->labels = ci->labels;
    out->nlabels = ci->nlabels;
}
