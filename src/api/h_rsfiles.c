/*
 * The ruleset's files: GET /rules/files and /decoders/files (every file of the kind, enabled or
 * excluded), GET .../files/{file} (the XML as it is with raw=true, else as JSON), and PUT
 * .../files/{file}, the one way the API changes the ruleset:
 *
 *   1. only the user's own directory (etc/rules, etc/decoders) is written, and only a plain
 *      `name.xml`; an existing file needs overwrite=true;
 *   2. the whole ruleset is loaded with the new text standing in for the file (a temporary copy
 *      of the same base name, so the load order is the one the manager will use); any error is
 *      400 with every problem's file, line and element;
 *   3. the file is replaced atomically and the manager asked to reload; when it refuses or is
 *      not there the old file is put back (or the new one removed) and the reason returned.
 *
 * Changes are serialised by a lock file, so two concurrent PUTs never interleave steps 2–3.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/items.h"
#include "api/mgmt.h"
#include "api/xmljson.h"
#include "common/fsutil.h"
#include "common/xml.h"

#define FILE_MAX (16u << 20)

static const char *user_dir(enum tld_api_rs_kind kind)
{
    return kind == TLD_API_RS_RULES ? TLD_API_RS_USER_RULES : TLD_API_RS_USER_DECODERS;
}

/* The {file} segment of the path. */
static const char *file_arg(const struct tld_api_req *r)
{
    const char *s = strrchr(r->path, '/');
    return s ? s + 1 : "";
}

static const char *const FILE_FILTERS[] = {"filename", "relative_dirname", "status", NULL};

static int files_listing(struct tld_api_req *r, enum tld_api_rs_kind kind)
{
    if (!tld_api_filters_only(r, FILE_FILTERS))
        return 0;
    struct tld_api_rsconf cfg;
    struct tld_api_rs_file *files = NULL;
    size_t n = 0;
    if (!tld_api_rs_files_get(r, kind, &cfg, &files, &n))
        return 0;
    int rc = 0;
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; items && i < n; i++) {
        const char *status = files[i].enabled ? "enabled" : "disabled";
        if (!tld_api_file_filters_keep(&r->params, files[i].name, files[i].reldir, status))
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "filename", files[i].name);
        cJSON_AddStringToObject(o, "relative_dirname", files[i].reldir);
        cJSON_AddStringToObject(o, "status", status);
        cJSON_AddItemToArray(items, o);
    }
    if (items)
        rc = tld_api_items_reply(r, items,
                                 kind == TLD_API_RS_RULES ? "rule files" : "decoder files");
    free(files);
    tld_api_rsconf_fini(&cfg);
    return rc;
}

int tld_api_h_rules_files(struct tld_api_req *r)
{
    return files_listing(r, TLD_API_RS_RULES);
}

int tld_api_h_decoders_files(struct tld_api_req *r)
{
    return files_listing(r, TLD_API_RS_DECODERS);
}

/* ---- reading one file ------------------------------------------------------------------------ */

static int read_all(const char *path, struct tld_sb *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT ? TLD_ENOTFOUND : TLD_EIO;
    char buf[65536];
    ssize_t got;
    while ((got = read(fd, buf, sizeof buf)) > 0)
        tld_sb_append(out, buf, (size_t)got);
    close(fd);
    return got < 0 || out->truncated || out->oom ? TLD_EIO : 0;
}

static int file_get(struct tld_api_req *r, enum tld_api_rs_kind kind)
{
    bool raw;
    if (!tld_api_filters_only(r, (const char *const[]){"raw", "relative_dirname", NULL}) ||
        !tld_api_bool_param(r, "raw", &raw))
        return 0;
    struct tld_api_rsconf cfg;
    struct tld_api_rs_file *files = NULL;
    size_t n = 0;
    if (!tld_api_rs_files_get(r, kind, &cfg, &files, &n))
        return 0;
    int rc = 0;
    const struct tld_api_rs_file *f = tld_api_rs_find(files, n, file_arg(r));
    struct tld_sb text;
    tld_sb_init(&text, FILE_MAX);
    if (rc == 0 && !f)
        tld_api_error(r, 404, "no such file in the ruleset");
    else if (rc == 0 && (rc = read_all(f->path, &text)) != 0)
        tld_api_error(r, rc == TLD_ENOTFOUND ? 404 : 500, "the file cannot be read");
    rc = rc == TLD_ENOTFOUND || rc == TLD_EIO ? 0 : rc;
    if (f && !r->status && raw) {
        r->status = 200;
        r->ctype = "application/xml";
        tld_sb_append(&r->out, tld_sb_cstr(&text), text.n);
    } else if (f && !r->status) {
        struct tld_xml_doc *doc = NULL;
        struct tld_diag diag;
        tld_diag_init(&diag);
        if (tld_xml_parse(tld_sb_cstr(&text), text.n, f->name, &doc, &diag) != 0) {
            tld_api_error(r, 400, tld_api_diag_error(&diag, "the file is not XML"));
        } else {
            cJSON *items = cJSON_CreateArray(), *o = cJSON_CreateObject();
            for (const struct tld_xml_node *root = doc->roots; root; root = root->next)
                cJSON_AddItemToObject(o, root->name, tld_api_xml_json(root));
            cJSON_AddItemToArray(items, o);
            rc = tld_api_items_reply(r, items, "the file's content");
        }
        tld_xml_free(doc);
        tld_diag_fini(&diag);
    }
    tld_sb_fini(&text);
    free(files);
    tld_api_rsconf_fini(&cfg);
    return rc;
}

int tld_api_h_rules_file_get(struct tld_api_req *r)
{
    return file_get(r, TLD_API_RS_RULES);
}

int tld_api_h_decoders_file_get(struct tld_api_req *r)
{
    return file_get(r, TLD_API_RS_DECODERS);
}

/* ---- changing one file ----------------------------------------------------------------------- */

/* A plain file name the user's directory may hold: `name.xml`, no path, no dot file. */
static bool plain_xml_name(const char *s)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789_-.";
    size_t n = strlen(s);
    return n >= 5 && n <= 200 && s[0] != '.' && strcmp(s + n - 4, ".xml") == 0 &&
           strspn(s, allowed) == n;
}

static const struct tld_xml_node *node_at(const struct tld_xml_node *n, unsigned line)
{
    for (; n; n = n->next) {
        const struct tld_xml_node *in = node_at(n->children, line);
        if (in)
            return in;
        if (n->line == line)
            return n;
    }
    return NULL;
}

/*
 * One diagnostic "path:line: error: message" as {file, line, element, message}: the temporary
 * copy is named as the real file, paths are made relative to the root, and the element is the
 * one of the new text at that line.
 */
static cJSON *diag_item(const char *text, const char *tmp, const char *rel, const char *root,
                        const struct tld_xml_doc *doc)
{
    const char *sep = strstr(text, ": error: ");
    const char *msg = sep ? sep + 9 : text;
    char loc[PATH_MAX] = "", file[PATH_MAX] = "";
    unsigned line = 0;
    if (sep && (size_t)(sep - text) < sizeof loc) {
        memcpy(loc, text, (size_t)(sep - text));
        loc[sep - text] = 0;
        char *colon = strrchr(loc, ':');
        if (colon && sscanf(colon + 1, "%u", &line) == 1)
            *colon = 0;
        size_t rn = strlen(root);
        if (strcmp(loc, tmp) == 0)
            snprintf(file, sizeof file, "%s", rel);
        else if (strncmp(loc, root, rn) == 0 && loc[rn] == '/')
            snprintf(file, sizeof file, "%s", loc + rn + 1);
        else
            snprintf(file, sizeof file, "%s", loc);
    }
    const struct tld_xml_node *el =
        doc && line && strcmp(file, rel) == 0 ? node_at(doc->roots, line) : NULL;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddNumberToObject(o, "line", line);
    cJSON_AddStringToObject(o, "element", el ? el->name : "");
    cJSON_AddStringToObject(o, "message", msg);
    return o;
}

/* Load the whole ruleset with body standing in for target; problems answered as 400. */
static bool validate(struct tld_api_req *r, const struct tld_api_rsconf *cfg,
                     enum tld_api_rs_kind kind, const char *target, const char *name,
                     const char *rel)
{
    char dir[PATH_MAX], tmp[PATH_MAX + 300];
    snprintf(dir, sizeof dir, "%s/var/run/tld-api-check-XXXXXX", r->api->root);
    if (!mkdtemp(dir)) {
        tld_api_error(r, 500, "cannot make a temporary directory under var/run");
        return false;
    }
    snprintf(tmp, sizeof tmp, "%s/%s", dir, name);
    bool ok = false;
    struct tld_diag diag;
    tld_diag_init(&diag);
    if (tld_file_replace(tmp, r->body.p, r->body.n, 0600) != 0) {
        tld_api_error(r, 500, "cannot write the temporary copy");
    } else {
        struct tld_api_rs_swap swap = {kind, target, tmp};
        struct tld_ruleset *rs = NULL;
        int rc = tld_api_rs_load(cfg, r->api->root, &swap, &rs, &diag);
        ok = rc == 0;
        if (rs)
            tld_ruleset_unref(rs);
        if (!ok) {
            struct tld_xml_doc *doc = NULL;
            struct tld_diag quiet;
            tld_diag_init(&quiet);
            tld_xml_parse(r->body.p, r->body.n, rel, &doc, &quiet);
            cJSON *errors = cJSON_CreateArray();
            for (unsigned i = 0; i < diag.kept; i++)
                if (diag.msgs[i].sev == TLD_DIAG_ERROR)
                    cJSON_AddItemToArray(errors,
                                         diag_item(diag.msgs[i].text, tmp, rel, r->api->root, doc));
            const cJSON *first = cJSON_GetArrayItem(errors, 0);
            char detail[TLD_WHY_MAX];
            snprintf(detail, sizeof detail,
                     "the ruleset does not load with this file: %.80s:%d: %.120s",
                     first ? cJSON_GetObjectItem(first, "file")->valuestring : rel,
                     first ? cJSON_GetObjectItem(first, "line")->valueint : 0,
                     first ? cJSON_GetObjectItem(first, "message")->valuestring : tld_err_str(rc));
            tld_api_error_list(r, 400, detail, errors);
            cJSON_Delete(errors);
            tld_xml_free(doc);
            tld_diag_fini(&quiet);
        }
    }
    tld_diag_fini(&diag);
    unlink(tmp);
    rmdir(dir);
    return ok;
}

/* Put the previous state back: the old text, or no file when there was none. */
static void restore(struct tld_api_req *r, const char *target, const struct tld_sb *old, bool had)
{
    int rc = had ? tld_file_replace(target, tld_sb_cstr(old), old->n, 0640)
                 : (unlink(target) == 0 ? 0 : TLD_EIO);
    if (rc)
        tld_log_error(r->api->log, "cannot restore %s after a refused reload", target);
}

/* Ask the manager to reload; false (r answered, the old file back) when it does not. */
static bool reload_or_restore(struct tld_api_req *r, const char *target, const struct tld_sb *old,
                              bool had)
{
    cJSON *reply = NULL;
    if (!tld_api_ctl_ask(r, "{\"op\":\"reload\"}", &reply)) {
        restore(r, target, old, had);
        return false;
    }
    const cJSON *err = cJSON_GetObjectItem(reply, "error");
    const cJSON *msg = cJSON_GetObjectItem(reply, "message");
    bool ok = cJSON_IsNumber(err) && err->valueint == 0;
    if (!ok) {
        restore(r, target, old, had);
        char detail[TLD_WHY_MAX];
        snprintf(detail, sizeof detail, "the manager refused the reload: %.200s",
                 cJSON_IsString(msg) ? msg->valuestring : "no reason given");
        cJSON *errors = cJSON_GetObjectItem(reply, "errors");
        cJSON *none = cJSON_CreateArray();
        tld_api_error_list(r, 400, detail, cJSON_IsArray(errors) ? errors : none);
        cJSON_Delete(none);
    }
    cJSON_Delete(reply);
    return ok;
}

/* The checks before any work: name, place, overwrite. Fills target. */
static bool put_allowed(struct tld_api_req *r, const struct tld_api_rsconf *cfg,
                        enum tld_api_rs_kind kind, const char *name, char *target, size_t tn,
                        bool *exists)
{
    bool overwrite;
    if (!tld_api_bool_param(r, "overwrite", &overwrite))
        return false;
    const struct tld_api_paths *dirs =
        kind == TLD_API_RS_RULES ? &cfg->rule_dirs : &cfg->decoder_dirs;
    bool configured = false;
    for (unsigned i = 0; i < dirs->n && !configured; i++)
        configured = strcmp(dirs->v[i], user_dir(kind)) == 0;
    struct tld_api_rs_file *files = NULL;
    size_t n = 0;
    const struct tld_api_rs_file *f = NULL;
    if (tld_api_rs_files(cfg, r->api->root, kind, &files, &n) == 0)
        f = tld_api_rs_find(files, n, name);
    snprintf(target, tn, "%s/%s/%s", r->api->root, user_dir(kind), name);
    struct stat st;
    *exists = lstat(target, &st) == 0;
    const char *why = NULL;
    if (!plain_xml_name(name))
        why = "only a plain file name ending in .xml (letters, digits, '.', '_', '-')";
    else if (!configured)
        why = kind == TLD_API_RS_RULES ? "etc/rules is not a <rule_dir> of the configuration"
                                       : "etc/decoders is not a <decoder_dir> of the "
                                         "configuration";
    else if (f && strcmp(f->reldir, user_dir(kind)) != 0)
        why = "only the user's own files (etc/rules, etc/decoders) may be changed";
    else if (*exists && !S_ISREG(st.st_mode))
        why = "the target is not a regular file";
    else if (*exists && !overwrite)
        why = "the file exists: overwrite=true replaces it";
    else if (!r->body.n)
        why = "the body is empty: send the file's XML";
    free(files);
    if (why)
        tld_api_error(r, 400, why);
    return why == NULL;
}

static int file_put(struct tld_api_req *r, enum tld_api_rs_kind kind)
{
    if (!tld_api_filters_only(r, (const char *const[]){"overwrite", "relative_dirname", NULL}))
        return 0;
    struct tld_api_rsconf cfg;
    if (!tld_api_rsconf_get(r, &cfg))
        return 0;
    const char *name = file_arg(r);
    char target[PATH_MAX], rel[PATH_MAX], lock[PATH_MAX];
    bool had = false;
    snprintf(rel, sizeof rel, "%s/%s", user_dir(kind), name);
    snprintf(lock, sizeof lock, "%s/var/run/tld-api.ruleset.lock", r->api->root);
    int lfd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
        tld_api_error(r, 500, "cannot take the ruleset lock under var/run");
    } else if (put_allowed(r, &cfg, kind, name, target, sizeof target, &had) &&
               validate(r, &cfg, kind, target, name, rel)) {
        struct tld_sb old;
        tld_sb_init(&old, FILE_MAX);
        if (had && read_all(target, &old) != 0) {
            tld_api_error(r, 500, "cannot read the current file");
        } else if (tld_file_replace(target, r->body.p, r->body.n, 0640) != 0) {
            tld_api_error(r, 500, "cannot write the file");
        } else if (reload_or_restore(r, target, &old, had)) {
            tld_api_audit(r, "%s %s (%zu bytes), ruleset reloaded", had ? "replaced" : "created",
                          rel, r->body.n);
            struct tld_api_env e;
            r->status = 200;
            tld_api_env_begin(&e, &r->out);
            tld_api_env_next(&e);
            tld_api_json_str(&r->out, rel, strlen(rel));
            tld_api_env_end(&e, 1, NULL, "the file was written and the ruleset reloaded");
        } else {
            tld_api_audit(r, "refused %s: %s", rel, "the reload failed, the old file is back");
        }
        tld_sb_fini(&old);
    }
    if (lfd >= 0)
        close(lfd);
    tld_api_rsconf_fini(&cfg);
    return 0;
}

int tld_api_h_rules_file_put(struct tld_api_req *r)
{
    return file_put(r, TLD_API_RS_RULES);
}

int tld_api_h_decoders_file_put(struct tld_api_req *r)
{
    return file_put(r, TLD_API_RS_DECODERS);
}
