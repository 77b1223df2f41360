/* `tld-agent status` (see status_cmd.h). */
#include "agent/status_cmd.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/status.h"

static bool report_forwarder(FILE *out, const cJSON *s)
{
    if (!cJSON_GetObjectItemCaseSensitive(s, "forwarder")) {
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(s, "output");
        tld_status_line(out, "manager", o ? "none: events go to --output" : "none configured");
        return false;
    }
    if (tld_status_bool(s, "forwarder", "connected")) {
        tld_status_line(out, "manager", "connected as agent %s",
                        tld_status_str(s, "forwarder", "agent_id"));
        return false;
    }
    tld_status_line(out, "manager", "NOT CONNECTED (%llu failed attempts, %llu refusals)",
                    (unsigned long long)tld_status_u64(s, "forwarder", "failures"),
                    (unsigned long long)tld_status_u64(s, "forwarder", "refusals"));
    return true;
}

static bool report_docker(FILE *out, const cJSON *s)
{
    if (!cJSON_GetObjectItemCaseSensitive(s, "docker"))
        return false;
    if (tld_status_bool(s, "docker", "connected")) {
        tld_status_line(out, "docker engine", "connected (API %s), %llu events",
                        tld_status_str(s, "docker", "api_version"),
                        (unsigned long long)tld_status_u64(s, "docker", "events"));
        return false;
    }
    tld_status_line(out, "docker engine", "NOT CONNECTED (%llu failures)",
                    (unsigned long long)tld_status_u64(s, "docker", "failures"));
    return true;
}

/* The lines about a running agent; returns whether anything is degraded. */
static bool report(FILE *out, const struct tld_status_probe *p, const char *root)
{
    const cJSON *s = p->stats;
    if (!s) {
        tld_status_line(out, "stats", "none yet (the agent writes them each second)");
        return true;
    }
    bool degraded = p->stats_age_s > TLD_STATUS_STALE_S;
    if (degraded)
        tld_status_line(out, "stats", "STALE: last written %.0f s ago", p->stats_age_s);
    degraded |= report_forwarder(out, s);
    degraded |= report_docker(out, s);
    uint64_t committed = tld_status_u64(s, "spool", "committed_seq");
    uint64_t acked = tld_status_u64(s, "spool", "acked_seq");
    tld_status_line(out, "lag", "%llu events spooled and not yet acknowledged",
                    (unsigned long long)(committed > acked ? committed - acked : 0));
    degraded |= tld_status_queue(out, s, "spool", "spool", "; FULL: sources are held back");
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/queue/spool", root);
    int64_t t;
    bool found;
    tld_status_newest(dir, "seg-", &t, &found);
    tld_status_when(out, "last event", found, t);
    return degraded;
}

int tld_agent_status_main(int argc, char **argv)
{
    const char *root = "/var/threatlockdown";
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-r") == 0 || strcmp(argv[i], "--root") == 0) && i + 1 < argc) {
            root = argv[++i];
        } else {
            fprintf(stderr, "usage: tld-agent status [-r ROOT]\n");
            return 2;
        }
    }
    char pidfile[PATH_MAX], stats[PATH_MAX];
    snprintf(pidfile, sizeof pidfile, "%s/var/run/tld-agent.pid", root);
    snprintf(stats, sizeof stats, "%s/var/run/tld-agent.stats.json", root);
    int early = tld_status_root("tld-agent", root, stdout);
    if (early >= 0)
        return early;
    struct tld_status_probe p;
    if (tld_status_probe("tld-agent", pidfile, stats, &p) != 0) {
        printf("tld-agent: status unknown: cannot read %s (%m)\n", root);
        return TLD_STATUS_UNKNOWN;
    }
    int code = TLD_STATUS_NOT_RUNNING;
    if (!p.running) {
        printf("tld-agent: not running (root %s)\n", root);
    } else {
        printf("tld-agent: running (pid %ld, root %s)\n", p.pid, root);
        code = report(stdout, &p, root) ? TLD_STATUS_DEGRADED : TLD_STATUS_OK;
    }
    tld_status_probe_fini(&p);
    return code;
}
