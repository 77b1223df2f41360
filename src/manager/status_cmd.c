/* `tld-manager status` and `tld-manager init` (see status_cmd.h). */
#include "manager/status_cmd.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/pki.h"
#include "common/status.h"
#include "manager/install.h"

static void root_path(char *buf, const char *root, const char *rel)
{
    snprintf(buf, PATH_MAX, "%s/%s", root, rel);
}

/* The lines about a running manager; returns whether anything is degraded. */
static bool report(FILE *out, const struct tld_status_probe *p, const char *root)
{
    const cJSON *s = p->stats;
    bool degraded = false;
    if (!s) {
        tld_status_line(out, "stats", "none yet (the manager writes them each second)");
        return true;
    }
    if (p->stats_age_s > TLD_STATUS_STALE_S) {
        tld_status_line(out, "stats", "STALE: last written %.0f s ago", p->stats_age_s);
        degraded = true;
    }
    tld_status_line(out, "agents", "%llu connected",
                    (unsigned long long)tld_status_u64(s, "remote", "active"));
    uint64_t next = tld_status_u64(s, "journal", "next_index");
    uint64_t done = tld_status_u64(s, "analysis", "durable_index");
    tld_status_line(out, "analysis lag", "%llu events received and not yet analysed",
                    (unsigned long long)(next > done ? next - done : 0));
    degraded |=
        tld_status_queue(out, s, "journal", "intake journal", "; FULL: agents are held back");
    bool out_stalled = tld_status_bool(s, "analysis", "output_stalled");
    bool disp_stalled = tld_status_bool(s, "analysis", "dispatch_stalled");
    tld_status_line(out, "outputs", "%s",
                    out_stalled || disp_stalled ? "STALLED (the log says why; retried)"
                                                : "writing");
    degraded |= out_stalled || disp_stalled;
    tld_status_line(out, "alerts", "%llu since start",
                    (unsigned long long)tld_status_u64(s, "analysis", "alerts"));
    char dir[PATH_MAX];
    root_path(dir, root, "queue/intake");
    int64_t t;
    bool found;
    tld_status_newest(dir, "j-", &t, &found);
    tld_status_when(out, "last event", found, t);
    return degraded;
}

int tld_mgr_cmd_status(const char *root, FILE *out)
{
    char pidfile[PATH_MAX], stats[PATH_MAX];
    root_path(pidfile, root, "var/run/tld-manager.pid");
    root_path(stats, root, "var/run/tld-manager.stats.json");
    int early = tld_status_root("tld-manager", root, out);
    if (early >= 0)
        return early;
    struct tld_status_probe p;
    if (tld_status_probe("tld-manager", pidfile, stats, &p) != 0) {
        fprintf(out, "tld-manager: status unknown: cannot read %s (%m)\n", pidfile);
        return TLD_STATUS_UNKNOWN;
    }
    int code = TLD_STATUS_NOT_RUNNING;
    if (!p.running) {
        fprintf(out, "tld-manager: not running (root %s)\n", root);
    } else {
        fprintf(out, "tld-manager: running (pid %ld, root %s)\n", p.pid, root);
        code = report(out, &p, root) ? TLD_STATUS_DEGRADED : TLD_STATUS_OK;
    }
    tld_status_probe_fini(&p);
    return code;
}

int tld_mgr_cmd_init(const char *root)
{
    struct tld_log log;
    tld_log_init(&log, "tld-manager", stderr, TLD_LOG_INFO);
    char rs[PATH_MAX], ca[PATH_MAX], host[256] = "";
    bool made = false, created = false;
    int rc = tld_install_layout(root, tld_install_ruleset_src(rs, sizeof rs), &made, &log);
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "localhost");
    char why[TLD_WHY_MAX] = "";
    root_path(ca, root, "var/ca");
    if (rc == 0 && (rc = tld_pki_ca_ensure(ca, host, &created, why)) != 0)
        tld_log_error(&log, "%s", why);
    if (rc == 0)
        fprintf(stderr, "tld-manager: %s ready (configuration %s, CA %s)\n", root,
                made ? "written" : "kept", created ? "created" : "kept");
    tld_log_fini(&log);
    return rc ? 1 : 0;
}
