/*
 * The ruleset of manager.conf as tld-api sees it (rsconf.h). The reading follows the manager's
 * own rules (the same element names, root-relative paths and defaults), so what the API lists
 * and validates is what the manager loads.
 */
#include "api/rsconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/conftab.h"
#include "common/err.h"
#include "common/xml.h"
#include "engine/ruleset_files.h"

#define OFF(f) offsetof(struct tld_api_rsconf, f)

static void add_path(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *v, void *obj)
{
    struct tld_api_paths *p = obj;
    if (p->n == TLD_API_RS_MAX_PATHS) {
        tld_conf_error(c, n, "too many entries (at most %d)", TLD_API_RS_MAX_PATHS);
        return;
    }
    p->v[p->n++] = strdup(v);
}

#define PATHS(name, f)                                                                             \
    {                                                                                              \
        (name), TLD_CONF_TEXT, OFF(f), 0, 0, NULL, NULL, TLD_CONF_ANY_ATTRS, add_path              \
    }

static const struct tld_conf_row ruleset_rows[] = {
    PATHS("decoder_dir", decoder_dirs),
    PATHS("rule_dir", rule_dirs),
    PATHS("decoder", decoder_files),
    PATHS("rule", rule_files),
    PATHS("include", rule_files),
    PATHS("list", lists),
    PATHS("decoder_exclude", decoder_excludes),
    PATHS("rule_exclude", rule_excludes),
};

static const struct tld_conf_row alerts_rows[] = {
    {"log_alert_level", TLD_CONF_UINT, OFF(log_alert_level), 0, 16, NULL, NULL, 0, NULL},
    {"email_alert_level", TLD_CONF_UINT, OFF(email_alert_level), 0, 16, NULL, NULL, 0, NULL},
    {"use_geoip", TLD_CONF_ACCEPT, 0, 0, 0, NULL, NULL, 0, NULL},
};

static void defaults(struct tld_api_rsconf *c)
{
    if (!c->decoder_dirs.n && !c->decoder_files.n) {
        c->decoder_dirs.v[c->decoder_dirs.n++] = strdup("ruleset/decoders");
        c->decoder_dirs.v[c->decoder_dirs.n++] = strdup(TLD_API_RS_USER_DECODERS);
    }
    if (!c->rule_dirs.n && !c->rule_files.n) {
        c->rule_dirs.v[c->rule_dirs.n++] = strdup("ruleset/rules");
        c->rule_dirs.v[c->rule_dirs.n++] = strdup(TLD_API_RS_USER_RULES);
    }
    if (!c->log_alert_level)
        c->log_alert_level = 1;
    if (!c->email_alert_level)
        c->email_alert_level = 12;
}

static int walk(struct tld_xml_doc *doc, struct tld_api_rsconf *out, struct tld_diag *diag,
                unsigned errors_before)
{
    struct tld_conf_ctx c = {diag, doc->file, "tld-api"};
    for (const struct tld_xml_node *r = doc->roots; r; r = r->next) {
        if (!tld_conf_is_root(r))
            continue;
        for (const struct tld_xml_node *s = r->children; s; s = s->next) {
            if (strcmp(s->name, "ruleset") == 0)
                tld_conf_section(&c, ruleset_rows, TLD_CONF_NROWS(ruleset_rows), s, out, "ruleset");
            else if (strcmp(s->name, "alerts") == 0)
                tld_conf_section(&c, alerts_rows, TLD_CONF_NROWS(alerts_rows), s, out, "alerts");
        }
    }
    tld_xml_free(doc);
    defaults(out);
    return diag->errors > errors_before ? TLD_EPARSE : 0;
}

int tld_api_rsconf_parse(const char *buf, size_t n, const char *name, struct tld_api_rsconf *out,
                         struct tld_diag *diag)
{
    unsigned before = diag->errors;
    struct tld_xml_doc *doc = NULL;
    memset(out, 0, sizeof *out);
    int rc = tld_xml_parse(buf, n, name, &doc, diag);
    return rc ? rc : walk(doc, out, diag, before);
}

int tld_api_rsconf_load(const char *conf_path, struct tld_api_rsconf *out, struct tld_diag *diag)
{
    unsigned before = diag->errors;
    struct tld_xml_doc *doc = NULL;
    memset(out, 0, sizeof *out);
    int rc = tld_xml_load(conf_path, &doc, diag);
    return rc ? rc : walk(doc, out, diag, before);
}

static void paths_fini(struct tld_api_paths *p)
{
    for (unsigned i = 0; i < p->n; i++)
        free(p->v[i]);
    p->n = 0;
}

void tld_api_rsconf_fini(struct tld_api_rsconf *c)
{
    struct tld_api_paths *all[] = {&c->decoder_dirs, &c->rule_dirs, &c->decoder_files,
                                   &c->rule_files,   &c->lists,     &c->decoder_excludes,
                                   &c->rule_excludes};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        paths_fini(all[i]);
}

static void resolve(const char *root, const char *p, char *out, size_t n)
{
    if (p[0] == '/')
        snprintf(out, n, "%s", p);
    else
        snprintf(out, n, "%s/%s", root, p);
}

/* ---- the files of a kind --------------------------------------------------------------------- */

struct kind_view {
    const struct tld_api_paths *dirs, *files, *excludes;
};

static struct kind_view view_of(const struct tld_api_rsconf *c, enum tld_api_rs_kind kind)
{
    if (kind == TLD_API_RS_RULES)
        return (struct kind_view){&c->rule_dirs, &c->rule_files, &c->rule_excludes};
    return (struct kind_view){&c->decoder_dirs, &c->decoder_files, &c->decoder_excludes};
}

static bool is_excluded(const char *root, const struct tld_api_paths *ex, const char *path,
                        const char *name)
{
    char full[PATH_MAX];
    for (unsigned i = 0; i < ex->n; i++) {
        if (!strchr(ex->v[i], '/')) {
            if (strcmp(ex->v[i], name) == 0)
                return true;
            continue;
        }
        resolve(root, ex->v[i], full, sizeof full);
        if (strcmp(full, path) == 0)
            return true;
    }
    return false;
}

/* Whether path's real location is inside dir's (no symbolic link out of the directory). */
static bool stays_inside(const char *path, const char *dir)
{
    char rp[PATH_MAX], rd[PATH_MAX];
    if (!realpath(path, rp) || !realpath(dir, rd))
        return false;
    size_t n = strlen(rd);
    return strncmp(rp, rd, n) == 0 && rp[n] == '/' && !strchr(rp + n + 1, '/');
}

static int add_file(struct tld_api_rs_file **v, size_t *n, size_t *cap, const char *path,
                    const char *reldir, bool enabled)
{
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        struct tld_api_rs_file *nv = realloc(*v, ncap * sizeof *nv);
        if (!nv)
            return TLD_ENOMEM;
        *v = nv;
        *cap = ncap;
    }
    struct tld_api_rs_file *f = &(*v)[(*n)++];
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    const char *slash = strrchr(path, '/');
    snprintf(f->name, sizeof f->name, "%s", slash ? slash + 1 : path);
    snprintf(f->reldir, sizeof f->reldir, "%s", reldir);
    f->enabled = enabled;
    return 0;
}

/* One configured entry (a directory or a file) expanded into out. */
static int add_entry(const char *root, const char *entry, bool is_dir_entry,
                     const struct tld_api_paths *ex, struct tld_api_rs_file **v, size_t *n,
                     size_t *cap)
{
    char full[PATH_MAX], reldir[PATH_MAX];
    resolve(root, entry, full, sizeof full);
    struct stat st;
    bool dir = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
    if (!dir && is_dir_entry)
        return 0; /* a missing directory loads nothing (the manager says so at its start) */
    snprintf(reldir, sizeof reldir, "%s", entry);
    if (!dir) {
        char *slash = strrchr(reldir, '/');
        *(slash ? slash : reldir) = 0;
    }
    struct tld_file_list fl = {0};
    struct tld_diag quiet;
    tld_diag_init(&quiet);
    int rc = tld_file_list_add_path(&fl, full, &quiet);
    if (rc == 0)
        rc = tld_file_list_finish(&fl, NULL, 0);
    for (unsigned i = 0; rc == 0 && i < fl.n; i++) {
        const char *name = strrchr(fl.paths[i], '/') + 1;
        if (dir && !stays_inside(fl.paths[i], full))
            continue;
        rc = add_file(v, n, cap, fl.paths[i], reldir, !is_excluded(root, ex, fl.paths[i], name));
    }
    tld_file_list_fini(&fl);
    tld_diag_fini(&quiet);
    return rc == TLD_EIO ? 0 : rc;
}

int tld_api_rs_files(const struct tld_api_rsconf *c, const char *root, enum tld_api_rs_kind kind,
                     struct tld_api_rs_file **out, size_t *n)
{
    struct kind_view k = view_of(c, kind);
    size_t cap = 0;
    int rc = 0;
    *out = NULL;
    *n = 0;
    for (unsigned i = 0; rc == 0 && i < k.dirs->n; i++)
        rc = add_entry(root, k.dirs->v[i], true, k.excludes, out, n, &cap);
    for (unsigned i = 0; rc == 0 && i < k.files->n; i++)
        rc = add_entry(root, k.files->v[i], false, k.excludes, out, n, &cap);
    if (rc) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

const struct tld_api_rs_file *tld_api_rs_find(const struct tld_api_rs_file *files, size_t n,
                                              const char *name)
{
    if (!name[0] || strchr(name, '/'))
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(files[i].name, name) == 0)
            return &files[i];
    return NULL;
}

/* ---- loading --------------------------------------------------------------------------------- */

/* A NULL-terminated array of owned strings. */
struct strv {
    char **v;
    unsigned n;
};

static int strv_add(struct strv *s, const char *p)
{
    char **nv = realloc(s->v, (s->n + 2) * sizeof *nv);
    if (!nv)
        return TLD_ENOMEM;
    s->v = nv;
    if (!(s->v[s->n] = strdup(p)))
        return TLD_ENOMEM;
    s->v[++s->n] = NULL;
    return 0;
}

static void strv_fini(struct strv *s)
{
    for (unsigned i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static int kind_paths(const char *root, struct kind_view k, const char *repl, const char *orig,
                      struct strv *paths, struct strv *ex)
{
    char full[PATH_MAX];
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < k.dirs->n; i++) {
        resolve(root, k.dirs->v[i], full, sizeof full);
        rc = strv_add(paths, full);
    }
    for (unsigned i = 0; rc == 0 && i < k.files->n; i++) {
        resolve(root, k.files->v[i], full, sizeof full);
        rc = strv_add(paths, full);
    }
    for (unsigned i = 0; rc == 0 && i < k.excludes->n; i++) {
        if (strchr(k.excludes->v[i], '/'))
            resolve(root, k.excludes->v[i], full, sizeof full);
        else
            snprintf(full, sizeof full, "%s", k.excludes->v[i]);
        rc = strv_add(ex, full);
    }
    if (rc == 0 && repl)
        rc = strv_add(ex, orig);
    if (rc == 0 && repl)
        rc = strv_add(paths, repl);
    return rc;
}

static int lists_from(const char *dir, struct tld_ruleset_list **lists, unsigned *n,
                      struct tld_diag *diag)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return 0;
    struct tld_ruleset_list *more = NULL;
    unsigned nmore = 0;
    int rc = tld_ruleset_lists_from_dir(dir, &more, &nmore, diag);
    struct tld_ruleset_list *all = rc ? NULL : realloc(*lists, (*n + nmore + 1) * sizeof *all);
    if (!all) {
        tld_ruleset_lists_free(more, nmore);
        return rc ? rc : TLD_ENOMEM;
    }
    *lists = all;
    for (unsigned i = 0; i < nmore; i++) {
        bool known = false;
        for (unsigned j = 0; j < *n && !known; j++)
            known = strcmp(all[j].name, more[i].name) == 0;
        if (known) {
            free((char *)more[i].name);
            free((char *)more[i].path);
        } else {
            all[(*n)++] = more[i];
        }
    }
    free(more);
    return 0;
}

int tld_api_rs_lists(const struct tld_api_rsconf *c, const char *root,
                     struct tld_ruleset_list **out, unsigned *n, struct tld_diag *diag)
{
    char dir[PATH_MAX];
    *out = NULL;
    *n = 0;
    snprintf(dir, sizeof dir, "%s/etc/lists", root);
    int rc = lists_from(dir, out, n, diag);
    snprintf(dir, sizeof dir, "%s/ruleset/lists", root);
    if (rc == 0)
        rc = lists_from(dir, out, n, diag);
    for (unsigned i = 0; rc == 0 && i < c->lists.n; i++) {
        bool known = false;
        for (unsigned j = 0; j < *n && !known; j++)
            known = strcmp((*out)[j].name, c->lists.v[i]) == 0;
        struct tld_ruleset_list *all = known ? *out : realloc(*out, (*n + 1) * sizeof *all);
        if (!all) {
            rc = TLD_ENOMEM;
            break;
        }
        *out = all;
        if (known)
            continue;
        resolve(root, c->lists.v[i], dir, sizeof dir);
        all[*n].name = strdup(c->lists.v[i]);
        all[*n].path = strdup(dir);
        (*n)++;
    }
    return rc;
}

int tld_api_rs_load(const struct tld_api_rsconf *c, const char *root,
                    const struct tld_api_rs_swap *swap, struct tld_ruleset **out,
                    struct tld_diag *diag)
{
    struct strv dec = {0}, rul = {0}, dex = {0}, rex = {0};
    struct tld_ruleset_list *lists = NULL;
    unsigned nl = 0;
    bool sw_rules = swap && swap->kind == TLD_API_RS_RULES;
    bool sw_dec = swap && swap->kind == TLD_API_RS_DECODERS;
    *out = NULL;
    int rc = kind_paths(root, view_of(c, TLD_API_RS_DECODERS), sw_dec ? swap->repl : NULL,
                        sw_dec ? swap->orig : NULL, &dec, &dex);
    if (rc == 0)
        rc = kind_paths(root, view_of(c, TLD_API_RS_RULES), sw_rules ? swap->repl : NULL,
                        sw_rules ? swap->orig : NULL, &rul, &rex);
    if (rc == 0)
        rc = tld_api_rs_lists(c, root, &lists, &nl, diag);
    if (rc == 0) {
        struct tld_ruleset_config rc_ = {
            .decoder_paths = (const char *const *)dec.v,
            .ndecoder_paths = dec.n,
            .decoder_excludes = (const char *const *)dex.v,
            .ndecoder_excludes = dex.n,
            .rule_paths = (const char *const *)rul.v,
            .nrule_paths = rul.n,
            .rule_excludes = (const char *const *)rex.v,
            .nrule_excludes = rex.n,
            .lists = lists,
            .nlists = nl,
            .log_alert_level = c->log_alert_level,
            .email_alert_level = c->email_alert_level,
        };
        rc = tld_ruleset_load(&rc_, out, diag);
    }
    strv_fini(&dec);
    strv_fini(&rul);
    strv_fini(&dex);
    strv_fini(&rex);
    tld_ruleset_lists_free(lists, nl);
    return rc;
}
