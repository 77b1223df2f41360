/*
 * Loading a ruleset snapshot (see ruleset.h). Order matters and follows Wazuh: all decoder
 * files sorted by base name, then the CDB lists, then all rule files sorted by base name (rules
 * need the decoder names for <decoded_as> and the lists for <list>). Loading continues after an
 * error so that one run reports every problem, but a snapshot with any error is discarded.
 */
#include "engine/ruleset.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/err.h"
#include "common/grow.h"
#include "engine/ruleset_files.h"

static int decoder_id(void *ctx, struct tld_sv name)
{
    return tld_decoder_set_id(ctx, name);
}

static bool file_is_empty(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && st.st_size == 0;
}

static int collect(const char *const *paths, unsigned n, const char *const *excludes,
                   unsigned nexcludes, struct tld_file_list *fl, struct tld_diag *diag)
{
    int first_err = 0;
    for (unsigned i = 0; i < n; i++) {
        int err = tld_file_list_add_path(fl, paths[i], diag);
        if (err && !first_err)
            first_err = err;
    }
    int err = tld_file_list_finish(fl, excludes, nexcludes);
    return first_err ? first_err : err;
}

int tld_ruleset_load(const struct tld_ruleset_config *cfg, struct tld_ruleset **out,
                     struct tld_diag *diag)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    *out = NULL;
    struct tld_ruleset *rs = calloc(1, sizeof *rs);
    struct tld_file_list dec_files = {0}, rule_files = {0};
    int err = TLD_ENOMEM, failed = 0;
    if (!rs)
        return TLD_ENOMEM;
    rs->refs = 1;
    if (tld_decoder_set_new(&rs->decoders) || tld_lists_new(&rs->lists))
        goto out;

    failed |= collect(cfg->decoder_paths, cfg->ndecoder_paths, cfg->decoder_excludes,
                      cfg->ndecoder_excludes, &dec_files, diag);
    for (unsigned i = 0; i < dec_files.n; i++) {
        if (file_is_empty(dec_files.paths[i]))
            continue;
        failed |= tld_decoder_set_load_file(rs->decoders, dec_files.paths[i], diag);
        rs->ndecoder_files++;
    }
    for (unsigned i = 0; i < cfg->nlists; i++)
        failed |= tld_lists_add_file(rs->lists, cfg->lists[i].name, cfg->lists[i].path, diag);

    struct tld_rules_env env = tld_rules_env_default();
    env.decoder_id = decoder_id;
    env.decoder_ctx = rs->decoders;
    env.lists = rs->lists;
    if (cfg->log_alert_level)
        env.log_alert_level = cfg->log_alert_level;
    if (cfg->email_alert_level)
        env.email_alert_level = cfg->email_alert_level;
    if (cfg->default_timeframe)
        env.default_timeframe = cfg->default_timeframe;
    err = tld_rules_new(&env, &rs->rules);
    if (err)
        goto out;
    failed |= collect(cfg->rule_paths, cfg->nrule_paths, cfg->rule_excludes, cfg->nrule_excludes,
                      &rule_files, diag);
    for (unsigned i = 0; i < rule_files.n; i++) {
        if (file_is_empty(rule_files.paths[i]))
            continue;
        failed |= tld_rules_load_file(rs->rules, rule_files.paths[i], diag);
        rs->nrule_files++;
    }
    err = tld_rules_finish(rs->rules);
    if (!err && (failed || diag->errors))
        err = TLD_EPARSE;
out:
    tld_file_list_fini(&dec_files);
    tld_file_list_fini(&rule_files);
    if (err) {
        tld_ruleset_unref(rs);
        return err;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    rs->load_seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    *out = rs;
    return 0;
}

struct tld_ruleset *tld_ruleset_ref(struct tld_ruleset *rs)
{
    __atomic_add_fetch(&rs->refs, 1, __ATOMIC_RELAXED);
    return rs;
}

void tld_ruleset_unref(struct tld_ruleset *rs)
{
    if (!rs || __atomic_sub_fetch(&rs->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    tld_rules_free(rs->rules);
    tld_lists_free(rs->lists);
    tld_decoder_set_free(rs->decoders);
    free(rs);
}

/* ---- lists from a directory --------------------------------------------------------------- */

struct list_acc {
    struct tld_ruleset_list *items;
    unsigned n, cap;
};

static int add_list(struct list_acc *acc, const char *rel, const char *path)
{
    if (tld_grow(&acc->items, &acc->cap, acc->n + 1, sizeof *acc->items, 16))
        return TLD_ENOMEM;
    size_t nn = strlen(rel) + sizeof "etc/lists/";
    char *name = malloc(nn);
    char *copy = strdup(path);
    if (!name || !copy) {
        free(name);
        free(copy);
        return TLD_ENOMEM;
    }
    snprintf(name, nn, "etc/lists/%s", rel);
    acc->items[acc->n++] = (struct tld_ruleset_list){name, copy};
    return 0;
}

static int walk(struct list_acc *acc, const char *root, const char *rel, unsigned depth)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s%s%s", root, *rel ? "/" : "", rel);
    DIR *d = opendir(dir);
    if (!d)
        return TLD_EIO;
    struct dirent *de;
    int err = 0;
    while (!err && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char sub[4096], path[8192];
        snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
        snprintf(path, sizeof path, "%s/%s", root, sub);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode) && depth < 8)
            err = walk(acc, root, sub, depth + 1);
        else if (S_ISREG(st.st_mode) && !strstr(de->d_name, ".cdb"))
            err = add_list(acc, sub, path);
    }
    closedir(d);
    return err;
}

int tld_ruleset_lists_from_dir(const char *dir, struct tld_ruleset_list **lists, unsigned *n,
                               struct tld_diag *diag)
{
    struct list_acc acc = {0};
    int err = walk(&acc, dir, "", 0);
    if (err) {
        tld_diag_error(diag, dir, 0, "cannot read the lists directory");
        tld_ruleset_lists_free(acc.items, acc.n);
        return err;
    }
    *lists = acc.items;
    *n = acc.n;
    return 0;
}

void tld_ruleset_lists_free(struct tld_ruleset_list *lists, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        free((char *)lists[i].name);
        free((char *)lists[i].path);
    }
    free(lists);
}
