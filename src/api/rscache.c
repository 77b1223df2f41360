/* The shared ruleset snapshot (rscache.h). The lock is not held while loading. */
#include "api/rscache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/str.h"

struct tld_api_rscache {
    pthread_mutex_t mu;
    struct tld_ruleset *rs; /* a reference; NULL until the first load */
    uint64_t sig;
};

int tld_api_rscache_new(struct tld_api_rscache **out)
{
    struct tld_api_rscache *c = calloc(1, sizeof *c);
    if (!c)
        return TLD_ENOMEM;
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return 0;
}

void tld_api_rscache_free(struct tld_api_rscache *c)
{
    if (!c)
        return;
    if (c->rs)
        tld_ruleset_unref(c->rs);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static uint64_t mix_file(uint64_t h, const char *path)
{
    struct stat st;
    h = tld_fnv1a(h, path, strlen(path) + 1);
    if (stat(path, &st) == 0) {
        int64_t v[3] = {(int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec, st.st_mtim.tv_nsec};
        h = tld_fnv1a(h, v, sizeof v);
    }
    return h;
}

uint64_t tld_api_rs_signature(const struct tld_api_rsconf *cfg, const char *root,
                              const char *config_path)
{
    uint64_t h = mix_file(TLD_FNV1A_SEED, config_path ? config_path : "");
    for (int kind = TLD_API_RS_RULES; kind <= TLD_API_RS_DECODERS; kind++) {
        struct tld_api_rs_file *files = NULL;
        size_t n = 0;
        if (tld_api_rs_files(cfg, root, (enum tld_api_rs_kind)kind, &files, &n) == 0)
            for (size_t i = 0; i < n; i++)
                h = mix_file(h, files[i].path);
        free(files);
    }
    struct tld_ruleset_list *lists = NULL;
    unsigned nl = 0;
    struct tld_diag quiet;
    tld_diag_init(&quiet);
    if (tld_api_rs_lists(cfg, root, &lists, &nl, &quiet) == 0)
        for (unsigned i = 0; i < nl; i++)
            h = mix_file(h, lists[i].path);
    tld_ruleset_lists_free(lists, nl);
    tld_diag_fini(&quiet);
    return h;
}

int tld_api_rscache_get(struct tld_api_rscache *c, const struct tld_api_rsconf *cfg,
                        const char *root, const char *config_path, struct tld_ruleset **out,
                        struct tld_diag *diag)
{
    uint64_t sig = tld_api_rs_signature(cfg, root, config_path);
    pthread_mutex_lock(&c->mu);
    *out = c->rs && c->sig == sig ? tld_ruleset_ref(c->rs) : NULL;
    pthread_mutex_unlock(&c->mu);
    if (*out)
        return 0;
    struct tld_ruleset *rs = NULL;
    int rc = tld_api_rs_load(cfg, root, NULL, &rs, diag);
    if (rc)
        return rc;
    pthread_mutex_lock(&c->mu);
    if (c->rs)
        tld_ruleset_unref(c->rs);
    c->rs = tld_ruleset_ref(rs);
    c->sig = sig;
    pthread_mutex_unlock(&c->mu);
    *out = rs;
    return 0;
}
