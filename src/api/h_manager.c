/*
 * The manager routes the API can answer without talking to the manager: what this installation
 * is (/manager/info), whether the daemons run (/manager/status, from their pid files), and the
 * manager's own counters (/manager/stats, the stats file it rewrites every second).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "api/api.h"
#include "common/version.h"

int tld_api_h_manager_info(struct tld_api_req *r)
{
    const struct tld_api *a = r->api;
    struct tld_api_env e;
    r->status = 200;
    tld_api_env_begin(&e, &r->out);
    tld_api_env_next(&e);
    tld_sb_printf(&r->out, "{\"version\":\"%s\",\"type\":\"manager\",\"path\":", TLD_VERSION);
    tld_api_json_str(&r->out, a->root, strlen(a->root));
    tld_sb_append_cstr(&r->out, ",\"hostname\":");
    tld_api_json_str(&r->out, a->hostname, strlen(a->hostname));
    tld_sb_append_cstr(&r->out, ",\"store\":");
    tld_api_json_str(&r->out, a->cfg->store_backend, strlen(a->cfg->store_backend));
    tld_sb_printf(&r->out, ",\"api_port\":%u}", a->cfg->port);
    tld_api_env_end(&e, 1, NULL, "basic information about the manager");
    return 0;
}

/* Whether the daemon whose pid file is ROOT/var/run/<prog>.pid runs (its pid is a <prog>). */
static bool running(const char *root, const char *prog)
{
    char path[4300], comm[64] = "";
    snprintf(path, sizeof path, "%s/var/run/%s.pid", root, prog);
    FILE *f = fopen(path, "r");
    long pid = 0;
    if (f) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno != EPERM))
        return false;
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    f = fopen(path, "r");
    if (!f)
        return false;
    bool same = fgets(comm, sizeof comm, f) && strncmp(comm, prog, strlen(prog)) == 0;
    fclose(f);
    return same;
}

int tld_api_h_manager_status(struct tld_api_req *r)
{
    static const char *const daemons[] = {"tld-manager", "tld-api"};
    struct tld_api_env e;
    r->status = 200;
    tld_api_env_begin(&e, &r->out);
    tld_api_env_next(&e);
    for (size_t i = 0; i < sizeof daemons / sizeof *daemons; i++)
        tld_sb_printf(&r->out, "%c\"%s\":\"%s\"", i ? ',' : '{', daemons[i],
                      running(r->api->root, daemons[i]) ? "running" : "stopped");
    tld_sb_append_char(&r->out, '}');
    tld_api_env_end(&e, 1, NULL, "the daemons' status");
    return 0;
}

int tld_api_h_manager_stats(struct tld_api_req *r)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/var/run/tld-manager.stats.json", r->api->root);
    FILE *f = fopen(path, "r");
    char *buf = malloc(1u << 20);
    size_t n = f && buf ? fread(buf, 1, (1u << 20) - 1, f) : 0;
    if (f)
        fclose(f);
    cJSON *doc = n ? cJSON_ParseWithLength(buf, n) : NULL;
    if (!cJSON_IsObject(doc)) {
        tld_api_error(r, 503, "the manager's statistics are not available (is it running?)");
    } else {
        struct tld_api_env e;
        r->status = 200;
        tld_api_env_begin(&e, &r->out);
        tld_api_env_next(&e);
        tld_sb_append(&r->out, buf, n);
        while (r->out.n && (r->out.p[r->out.n - 1] == '\n' || r->out.p[r->out.n - 1] == ' '))
            r->out.p[--r->out.n] = 0;
        tld_api_env_end(&e, 1, NULL, "the manager's statistics");
    }
    cJSON_Delete(doc);
    free(buf);
    return 0;
}
