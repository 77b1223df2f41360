/* Ruleset from the manager's configuration (see rules_cfg.h). */
#include "manager/rules_cfg.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"

/* Absolute paths stay; others are taken from the root. Caller frees. */
static char *resolve(const char *root, const char *p)
{
    char buf[PATH_MAX];
    if (p[0] == '/')
        snprintf(buf, sizeof buf, "%s", p);
    else
        snprintf(buf, sizeof buf, "%s/%s", root, p);
    return strdup(buf);
}

static int resolve_all(const char *root, const struct tld_mgr_paths *a,
                       const struct tld_mgr_paths *b, char ***out, unsigned *n)
{
    *n = 0;
    *out = calloc((size_t)a->n + (b ? b->n : 0) + 1, sizeof **out);
    if (!*out)
        return TLD_ENOMEM;
    for (unsigned i = 0; i < a->n; i++)
        if (!((*out)[(*n)++] = resolve(root, a->v[i])))
            return TLD_ENOMEM;
    for (unsigned i = 0; b && i < b->n; i++)
        if (!((*out)[(*n)++] = resolve(root, b->v[i])))
            return TLD_ENOMEM;
    return 0;
}

static void free_all(char **v, unsigned n)
{
    if (!v)
        return;
    for (unsigned i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static bool has_list(const struct tld_ruleset_list *l, unsigned n, const char *name)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(l[i].name, name) == 0)
            return true;
    return false;
}

/* Append every list of `dir` not yet known by name. */
static int add_dir_lists(const char *dir, struct tld_ruleset_list **lists, unsigned *n,
                         struct tld_diag *diag)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    struct tld_ruleset_list *more = NULL;
    unsigned nmore = 0;
    int rc = tld_ruleset_lists_from_dir(dir, &more, &nmore, diag);
    if (rc)
        return rc;
    struct tld_ruleset_list *all = realloc(*lists, (*n + nmore + 1) * sizeof *all);
    if (!all) {
        tld_ruleset_lists_free(more, nmore);
        return TLD_ENOMEM;
    }
    *lists = all;
    for (unsigned i = 0; i < nmore; i++) {
        if (has_list(all, *n, more[i].name)) {
            free((char *)more[i].name);
            free((char *)more[i].path);
            continue;
        }
        all[(*n)++] = more[i];
    }
    free(more);
    return 0;
}

int tld_mgr_ruleset_load(const struct tld_mgr_config *cfg, const char *root,
                         struct tld_ruleset **out, struct tld_diag *diag)
{
    *out = NULL;
    char **dec = NULL, **rul = NULL, **dex = NULL, **rex = NULL;
    unsigned nd = 0, nr = 0, ndx = 0, nrx = 0, nl = 0;
    struct tld_ruleset_list *lists = NULL;
    int rc = resolve_all(root, &cfg->decoder_dirs, &cfg->decoder_files, &dec, &nd);
    if (rc == 0)
        rc = resolve_all(root, &cfg->rule_dirs, &cfg->rule_files, &rul, &nr);
    /* Excludes may be bare file names (matched by base name) or paths. */
    if (rc == 0) {
        dex = calloc(cfg->decoder_excludes.n + 1, sizeof *dex);
        rex = calloc(cfg->rule_excludes.n + 1, sizeof *rex);
        rc = dex && rex ? 0 : TLD_ENOMEM;
        for (unsigned i = 0; rc == 0 && i < cfg->decoder_excludes.n; i++)
            dex[ndx++] = strchr(cfg->decoder_excludes.v[i], '/')
                             ? resolve(root, cfg->decoder_excludes.v[i])
                             : strdup(cfg->decoder_excludes.v[i]);
        for (unsigned i = 0; rc == 0 && i < cfg->rule_excludes.n; i++)
            rex[nrx++] = strchr(cfg->rule_excludes.v[i], '/')
                             ? resolve(root, cfg->rule_excludes.v[i])
                             : strdup(cfg->rule_excludes.v[i]);
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/etc/lists", root);
    if (rc == 0)
        rc = add_dir_lists(dir, &lists, &nl, diag);
    snprintf(dir, sizeof dir, "%s/ruleset/lists", root);
    if (rc == 0)
        rc = add_dir_lists(dir, &lists, &nl, diag);
    for (unsigned i = 0; rc == 0 && i < cfg->lists.n; i++) {
        if (has_list(lists, nl, cfg->lists.v[i]))
            continue;
        struct tld_ruleset_list *all = realloc(lists, (nl + 1) * sizeof *all);
        if (!all) {
            rc = TLD_ENOMEM;
            break;
        }
        lists = all;
        lists[nl].name = strdup(cfg->lists.v[i]);
        lists[nl].path = resolve(root, cfg->lists.v[i]);
        nl++;
    }
    if (rc == 0) {
        struct tld_ruleset_config rc_ = {
            .decoder_paths = (const char *const *)dec,
            .ndecoder_paths = nd,
            .decoder_excludes = (const char *const *)dex,
            .ndecoder_excludes = ndx,
            .rule_paths = (const char *const *)rul,
            .nrule_paths = nr,
            .rule_excludes = (const char *const *)rex,
            .nrule_excludes = nrx,
            .lists = lists,
            .nlists = nl,
            .log_alert_level = cfg->log_alert_level ? cfg->log_alert_level : 1,
            .email_alert_level = cfg->email_alert_level ? cfg->email_alert_level : 12,
        };
        rc = tld_ruleset_load(&rc_, out, diag);
    }
    free_all(dec, nd);
    free_all(rul, nr);
    free_all(dex, ndx);
    free_all(rex, nrx);
    tld_ruleset_lists_free(lists, nl);
    return rc;
}
