/* Hot reload, the checking half (see reload.h). */
#include "manager/reload.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "manager/ctl.h"
#include "manager/rules_cfg.h"

void tld_reload_result_init(struct tld_reload_result *r)
{
    memset(r, 0, sizeof *r);
    tld_diag_init(&r->diag);
}

void tld_reload_result_fini(struct tld_reload_result *r)
{
    tld_diag_fini(&r->diag);
}

int tld_mgr_config_read(const char *path, struct tld_mgr_config *cfg,
                        struct tld_collect_config *acfg, bool *local_enabled, struct tld_diag *diag)
{
    tld_mgr_config_init(cfg);
    tld_collect_config_init(acfg);
    int rc = tld_mgr_config_load(cfg, path, diag);
    /* The collection sections of the same file, read as tld-agent reads them. */
    if (rc == 0 || rc == TLD_EPARSE) {
        if (tld_collect_config_load(acfg, path, "tld-manager", diag) != 0)
            rc = TLD_EPARSE;
    }
    if (rc)
        return rc;
    tld_mgr_config_defaults(cfg);
    *local_enabled = cfg->local_collection == 1 ||
                     (cfg->local_collection == -1 && (acfg->nfiles > 0 || acfg->docker.enabled));
    if (!cfg->workers) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cfg->workers = n < 1 ? 1 : n > 16 ? 16 : (unsigned)n;
    }
    return 0;
}

/* The first error of diag (without its "file:line: error: " prefix when it has one). */
static void first_error(const struct tld_diag *d, char *out, size_t size)
{
    for (unsigned i = 0; i < d->kept; i++) {
        if (d->msgs[i].sev == TLD_DIAG_ERROR) {
            snprintf(out, size, "%s", d->msgs[i].text);
            return;
        }
    }
    snprintf(out, size, "the configuration or the ruleset has errors");
}

int tld_mgr_reload_check(const struct tld_mgr_config *running, const char *config_path,
                         const char *root, struct tld_mgr_config *cfg_out,
                         struct tld_ruleset **rs_out, struct tld_reload_result *res)
{
    *rs_out = NULL;
    struct tld_collect_config acfg;
    bool local;
    int rc = tld_mgr_config_read(config_path, cfg_out, &acfg, &local, &res->diag);
    tld_collect_config_fini(&acfg);
    if (rc == TLD_ENOMEM) {
        tld_mgr_config_fini(cfg_out);
        return rc;
    }
    char name[160];
    if (rc) {
        res->outcome = TLD_RELOAD_INVALID;
        first_error(&res->diag, res->message, sizeof res->message);
    } else if (tld_mgr_config_fixed_change(running, cfg_out, name, sizeof name)) {
        res->outcome = TLD_RELOAD_RESTART;
        snprintf(res->message, sizeof res->message, "%s cannot change without a restart", name);
        tld_diag_error(&res->diag, config_path, 0, "%s", res->message);
    } else if ((rc = tld_mgr_ruleset_load(cfg_out, root, rs_out, &res->diag)) != 0) {
        *rs_out = NULL;
        if (rc == TLD_ENOMEM) {
            tld_mgr_config_fini(cfg_out);
            return rc;
        }
        res->outcome = TLD_RELOAD_INVALID;
        first_error(&res->diag, res->message, sizeof res->message);
    } else {
        res->outcome = TLD_RELOAD_OK;
        snprintf(res->message, sizeof res->message, "reloaded");
        res->rules = tld_rules_count((*rs_out)->rules);
        res->decoders = tld_decoder_set_count((*rs_out)->decoders);
        res->lists = tld_lists_count((*rs_out)->lists);
        return 0;
    }
    tld_mgr_config_fini(cfg_out);
    return 0;
}

/* ---- the reply ------------------------------------------------------------------------------- */

/* One diagnostic, "file:line: error: text", taken apart. */
struct diag_parts {
    char file[1024];
    unsigned line;
    char element[64];
    const char *text; /* into the message */
};

/* Length of the element name of a tag "<name>" at p, or 0. */
static size_t tag_at(const char *p)
{
    if (*p != '<')
        return 0;
    size_t n = strspn(p + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    return n && p[1 + n] == '>' ? n : 0;
}

/* The element a message is about: the first <name> in it (of adjacent ones, "<remote><port>",
 * the innermost), else its first word when that is one of the ruleset's elements
 * ("rule 100200: ..."), else "". */
static void element_of(const char *text, char *out, size_t size)
{
    out[0] = 0;
    for (const char *lt = strchr(text, '<'); lt; lt = strchr(lt + 1, '<')) {
        size_t n = tag_at(lt);
        if (!n)
            continue;
        for (size_t m; (m = tag_at(lt + n + 2)) != 0; n = m)
            lt += n + 2;
        snprintf(out, size, "%.*s", (int)n, lt + 1);
        return;
    }
    static const char *const words[] = {"rule", "decoder", "list", "group", "var"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
        size_t n = strlen(words[i]);
        if (strncmp(text, words[i], n) == 0 && !isalnum((unsigned char)text[n])) {
            snprintf(out, size, "%s", words[i]);
            return;
        }
    }
}

static void split(const char *msg, const char *root, struct diag_parts *p)
{
    p->file[0] = 0;
    p->line = 0;
    p->text = msg;
    const char *tag = strstr(msg, "error: ");
    if (!tag)
        tag = strstr(msg, "warning: ");
    if (tag) {
        p->text = strchr(tag, ' ') + 1;
        size_t n = (size_t)(tag - msg);
        /* "file:line: " or "file: " */
        if (n >= 2 && msg[n - 1] == ' ' && msg[n - 2] == ':') {
            n -= 2;
            const char *colon = memrchr(msg, ':', n);
            if (colon && colon + 1 < msg + n &&
                strspn(colon + 1, "0123456789") == (size_t)(msg + n - colon - 1)) {
                p->line = (unsigned)strtoul(colon + 1, NULL, 10);
                n = (size_t)(colon - msg);
            }
            size_t rl = strlen(root);
            if (rl && n > rl + 1 && strncmp(msg, root, rl) == 0 && msg[rl] == '/') {
                msg += rl + 1;
                n -= rl + 1;
            }
            snprintf(p->file, sizeof p->file, "%.*s", (int)n, msg);
        }
    }
    element_of(p->text, p->element, sizeof p->element);
}

void tld_reload_result_json(const struct tld_reload_result *res, const char *root,
                            struct tld_sb *out)
{
    if (res->outcome == TLD_RELOAD_OK) {
        tld_sb_printf(out,
                      "{\"error\":0,\"message\":\"reloaded\",\"rules\":%u,\"decoders\":%u,"
                      "\"lists\":%u}",
                      res->rules, res->decoders, res->lists);
        return;
    }
    /* The first error again, its file named as in "errors". */
    struct diag_parts p;
    split(res->message, root, &p);
    char msg[1600];
    if (p.file[0] && p.line)
        snprintf(msg, sizeof msg, "%s:%u: %s", p.file, p.line, p.text);
    else if (p.file[0])
        snprintf(msg, sizeof msg, "%s: %s", p.file, p.text);
    else
        snprintf(msg, sizeof msg, "%s", p.text);
    tld_sb_printf(out, "{\"error\":%d,\"message\":", res->outcome);
    tld_ctl_json_str(out, msg);
    tld_sb_append_cstr(out, ",\"errors\":[");
    bool first = true;
    for (unsigned i = 0; i < res->diag.kept; i++) {
        if (res->diag.msgs[i].sev != TLD_DIAG_ERROR)
            continue;
        split(res->diag.msgs[i].text, root, &p);
        tld_sb_append_cstr(out, first ? "{\"file\":" : ",{\"file\":");
        first = false;
        tld_ctl_json_str(out, p.file);
        tld_sb_printf(out, ",\"line\":%u,\"element\":", p.line);
        tld_ctl_json_str(out, p.element);
        tld_sb_append_cstr(out, ",\"message\":");
        tld_ctl_json_str(out, p.text);
        tld_sb_append_char(out, '}');
    }
    tld_sb_append_cstr(out, "]}");
}
