/*
 * What the management routes share (mgmt.h): the configuration, the control channel with its
 * failures turned into clear answers, the audit log and the per-route filter check.
 */
#include "api/mgmt.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/ctl_client.h"
#include "common/fsutil.h"

bool tld_api_rsconf_get(struct tld_api_req *r, struct tld_api_rsconf *out)
{
    char path[4300];
    struct tld_diag diag;
    if (r->api->config_path)
        snprintf(path, sizeof path, "%s", r->api->config_path);
    else
        snprintf(path, sizeof path, "%s/etc/manager.conf", r->api->root);
    tld_diag_init(&diag);
    int rc = tld_api_rsconf_load(path, out, &diag);
    if (rc) {
        tld_log_error(r->api->log, "%s: %s", path, tld_api_diag_error(&diag, tld_err_str(rc)));
        tld_api_rsconf_fini(out);
        tld_api_error(r, 500, "the manager's configuration cannot be read (see the API log)");
    }
    tld_diag_fini(&diag);
    return rc == 0;
}

bool tld_api_rs_files_get(struct tld_api_req *r, enum tld_api_rs_kind kind,
                          struct tld_api_rsconf *cfg, struct tld_api_rs_file **files, size_t *n)
{
    if (!tld_api_rsconf_get(r, cfg))
        return false;
    int rc = tld_api_rs_files(cfg, r->api->root, kind, files, n);
    if (rc) {
        tld_log_error(r->api->log, "listing the ruleset's files: %s", tld_err_str(rc));
        tld_api_error(r, 500, "the ruleset's files cannot be listed");
        tld_api_rsconf_fini(cfg);
    }
    return rc == 0;
}

bool tld_api_ctl_ask(struct tld_api_req *r, const char *request, cJSON **reply)
{
    char path[4300], why[TLD_WHY_MAX] = "";
    tld_ctl_path(r->api->root, path, sizeof path);
    int rc = tld_ctl_call(path, request, TLD_CTL_TIMEOUT_MS, reply, why);
    if (rc == 0)
        return true;
    tld_log_warn(r->api->log, "control channel: %s", why);
    tld_api_error(r, 503, why);
    return false;
}

void tld_api_audit(struct tld_api_req *r, const char *fmt, ...)
{
    char what[1024], line[1400], path[4300], when[32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    int n = snprintf(line, sizeof line, "%s user=%s addr=%s %s %s: %s\n", when, r->user.name,
                     r->addr, r->method, r->path, what);
    snprintf(path, sizeof path, "%s/logs/api-audit.log", r->api->root);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || tld_write_all(fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1))
        tld_log_error(r->api->log, "cannot write the audit log %s", path);
    if (fd >= 0)
        close(fd);
    tld_log_info(r->api->log, "audit: user=%s %s %s: %s", r->user.name, r->method, r->path, what);
}

bool tld_api_filters_only(struct tld_api_req *r, const char *const *allowed)
{
    for (size_t i = 0; i < r->params.nfilters; i++) {
        const char *k = r->params.filters[i].key;
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = strcmp(*a, k) == 0;
        if (!ok) {
            char why[TLD_WHY_MAX];
            snprintf(why, sizeof why, "%s: not a parameter of this route", k);
            tld_api_error(r, 400, why);
            return false;
        }
    }
    return true;
}

void tld_api_error_list(struct tld_api_req *r, unsigned status, const char *detail,
                        const cJSON *errors)
{
    tld_api_error(r, status, detail);
    char *txt = cJSON_PrintUnformatted(errors);
    if (txt && r->out.n && r->out.p[r->out.n - 1] == '}') {
        r->out.p[--r->out.n] = 0;
        tld_sb_append_cstr(&r->out, ",\"errors\":");
        tld_sb_append_cstr(&r->out, txt);
        tld_sb_append_char(&r->out, '}');
    }
    free(txt);
}

const char *tld_api_diag_error(const struct tld_diag *d, const char *dflt)
{
    for (unsigned i = 0; i < d->kept; i++)
        if (d->msgs[i].sev == TLD_DIAG_ERROR)
            return d->msgs[i].text;
    return dflt;
}
