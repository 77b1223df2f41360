/*
 * tld-manager: enrollment, transport, intake journal, analysis, alert outputs and local
 * collection, in one process (docs/manager.md).
 *
 *   tld-manager [-r ROOT] [-c CONFIG] [-l LOG|-] [-d]    run in the foreground
 *   tld-manager [-r ROOT] [-c CONFIG] -t                  check configuration and ruleset
 *   tld-manager [-r ROOT] agents list
 *   tld-manager [-r ROOT] agents remove [--dry-run] [ID...] [--name GLOB] [--status STATUS]
 *                                       [--older-than DURATION]
 *   tld-manager [-r ROOT] store rebuild [--since DATE] | search QUERY [...]  (store_cmd.h)
 *   tld-manager hash-password                             scrypt hash of a password on stdin
 *
 * Start: layout (install.h), configuration, CA, ruleset, registry, journal, pipeline,
 * receiver, enrollment, local collection, the store thread, then the "manager_started" own event.
 * This thread then waits for signals and does the housekeeping once a second (registry changes made
 * by `agents remove`, agent status, queue pressure events, the stats file) and the hot reloads
 * (SIGHUP, or the control channel's "reload": reload.h, ctl.h). SIGTERM/SIGINT stop in
 * reverse order: nothing new is accepted, what was accepted is journaled, what was analysed is
 * written and synced; the rest waits in the journal for the next start.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "collect/collect_config.h"
#include "common/clock.h"
#include "common/conftab.h"
#include "common/daemon.h"
#include "common/deadline.h"
#include "common/err.h"
#include "common/evrec.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/pki.h"
#include "manager/agents.h"
#include "manager/config.h"
#include "manager/ctl.h"
#include "manager/ctl_ops.h"
#include "manager/enroll_server.h"
#include "manager/install.h"
#include "manager/journal.h"
#include "manager/local.h"
#include "manager/own_events.h"
#include "manager/pipeline.h"
#include "manager/receiver.h"
#include "manager/reload.h"
#include "manager/rules_cfg.h"
#include "manager/status_cmd.h"
#include "manager/store_cmd.h"
#include "manager/store_thread.h"

#ifndef TLD_VERSION
#include "common/version.h"
#endif

/* Refusals of one source are reported at most twice per interval (the first, then a count). */
#define REFUSALS_INTERVAL_S 60

enum pressure { P_NORMAL, P_HIGH, P_FULL };

struct mgr {
    struct tld_daemon_args args; /* args.configs[0]: the configuration file */
    char path[8][PATH_MAX];      /* scratch storage for derived paths */
    char hostname[256];

    struct tld_log log;
    struct tld_mgr_config cfg;
    struct tld_collect_config acfg;
    bool local_enabled;
    char password_hash[200];
    struct tld_ruleset *rs;
    struct tld_agents *agents;
    struct tld_journal *journal;
    struct tld_pipeline *pipe;
    struct tld_receiver *recv;
    struct tld_enroll_server *enroll;
    struct tld_local *local;
    struct tld_store_thread *store;
    int pid_fd;

    pthread_mutex_t own_mu;
    uint64_t own_emitted, own_dropped;
    struct tld_own_agg refusals; /* refused peers, one own event per source and interval */
    enum pressure pressure;
    int64_t started_s;

    /* Hot reload: done by the main thread (on SIGHUP); the control channel asks for one by
     * raising SIGHUP at it and waits for reload_done to reach its request. */
    pthread_t main_thread;
    struct tld_ctl *ctl;
    struct tld_ctl_ops ctl_ops;
    pthread_mutex_t reload_mu;
    pthread_cond_t reload_cv;
    uint64_t reload_asked, reload_done; /* requests through the channel; under reload_mu */
    struct tld_sb reload_reply;         /* the last reload's control reply; under reload_mu */
    uint64_t reloads, reload_failures;  /* under reload_mu */
    char reload_last[512];              /* the last reload's message; under reload_mu */
    int64_t reload_last_s, ruleset_loaded_s;
    bool closing; /* stopping: nobody waits for a reload any more; under reload_mu */
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tld-manager [-r ROOT] [-c CONFIG] [-l LOG|-] [-d] [-t]\n"
               "       tld-manager [-r ROOT] agents list\n"
               "       tld-manager [-r ROOT] agents remove [--dry-run] ID...\n"
               "       tld-manager [-r ROOT] agents remove [--dry-run] [--name GLOB]\n"
               "                   [--status never_connected|disconnected|active]\n"
               "                   [--older-than DURATION]\n"
               "       tld-manager [-r ROOT] store rebuild [--since YYYY-MM-DD]\n"
               "       tld-manager [-r ROOT] search QUERY [--since 1h] [--json] [--limit N]\n"
               "       tld-manager [-r ROOT] status   (exit 0 ok, 1 degraded, 3 stopped)\n"
               "       tld-manager [-r ROOT] init     (make the root and the CA)\n"
               "       tld-manager hash-password < password\n"
               "  -r, --root DIR     installation root (default /var/threatlockdown)\n"
               "  -c, --config FILE  configuration (default ROOT/etc/manager.conf)\n"
               "  -l, --log DEST     own log (default ROOT/logs/manager.log; - = stderr)\n"
               "  -d, --debug        debug logging\n"
               "  -t, --test         check the configuration and the ruleset, then exit\n");
}

/* ---- own events ------------------------------------------------------------------------------ */

static void own_emit(void *ctx, struct tld_sv text)
{
    struct mgr *m = ctx;
    int64_t now = tld_wall_ns();
    struct tld_evrec r = {.queue = '1',
                          .source = TLD_SOURCE_OWN,
                          .location = TLD_SV_LIT(TLD_OWN_LOCATION),
                          .text = text,
                          .read_time_ns = now};
    struct tld_sb enc;
    tld_sb_init(&enc, 1u << 20);
    int rc = tld_evrec_encode(&r, &enc);
    if (rc == 0) {
        struct tld_journal_entry e = {0, 0, 0, now, TLD_SV_LIT(""), tld_sb_view(&enc)};
        uint64_t sync_to;
        unsigned dups;
        /* Own events may use the journal's reserve: a full queue still gets reported. */
        rc = tld_journal_append(m->journal, &e, 1, TLD_JOURNAL_RESERVE, &sync_to, &dups);
    }
    tld_sb_fini(&enc);
    pthread_mutex_lock(&m->own_mu);
    if (rc == 0)
        m->own_emitted++;
    else
        m->own_dropped++;
    pthread_mutex_unlock(&m->own_mu);
    if (rc)
        tld_log_error(&m->log, "own event not recorded (%s): %.*s", tld_err_str(rc), (int)text.n,
                      text.p);
}

static struct tld_own_sink own_sink(struct mgr *m)
{
    return (struct tld_own_sink){own_emit, m, &m->refusals};
}

/* ---- configuration --------------------------------------------------------------------------- */

static const char *rootpath(struct mgr *m, unsigned slot, const char *rel)
{
    if (rel[0] == '/')
        snprintf(m->path[slot], PATH_MAX, "%s", rel);
    else
        snprintf(m->path[slot], PATH_MAX, "%s/%s", m->args.root, rel);
    return m->path[slot];
}

static int load_config(struct mgr *m)
{
    struct tld_diag d;
    tld_diag_init(&d);
    int rc = tld_mgr_config_read(m->args.configs[0], &m->cfg, &m->acfg, &m->local_enabled, &d);
    tld_diag_print(&d, stderr);
    tld_diag_fini(&d);
    return rc;
}

static int load_ruleset(struct mgr *m, bool verbose)
{
    struct tld_diag d;
    tld_diag_init(&d);
    int rc = tld_mgr_ruleset_load(&m->cfg, m->args.root, &m->rs, &d);
    if (verbose || rc) {
        tld_diag_print(&d, stderr);
    } else if (d.warnings) {
        tld_log_warn(&m->log, "ruleset: %u warnings (tld-manager -t lists them)", d.warnings);
    }
    tld_diag_fini(&d);
    if (rc) {
        fprintf(stderr, "tld-manager: the ruleset did not load (%s)\n", tld_err_str(rc));
        return rc;
    }
    return 0;
}

static int setup_password(struct mgr *m)
{
    m->password_hash[0] = 0;
    if (!m->cfg.use_password)
        return 0;
    const char *path = rootpath(m, 0, m->cfg.password_file);
    char line[512] = "";
    FILE *f = fopen(path, "re");
    if (f) {
        if (!fgets(line, sizeof line, f))
            line[0] = 0;
        fclose(f);
    }
    size_t l = strlen(line);
    while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
        line[--l] = 0;
    if (!l) {
        /* No password yet: make one (128 random bits) and show it once on stdout; the log
         * only says where it is, so it does not travel with log files. */
        unsigned char rnd[16];
        if (RAND_bytes(rnd, sizeof rnd) != 1)
            return TLD_EIO;
        for (int i = 0; i < 16; i++)
            snprintf(line + 2 * i, 3, "%02x", rnd[i]);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        bool ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, line, 32) == 32 &&
                  write(fd, "\n", 1) == 1 && fsync(fd) == 0;
        if (fd >= 0)
            close(fd);
        if (!ok) {
            tld_log_error(&m->log, "cannot write the enrollment password to %s", path);
            return TLD_EIO;
        }
        tld_log_info(&m->log, "enrollment password generated in %s (shown once on stdout)", path);
        printf("tld-manager: enrollment password generated: %s\n"
               "tld-manager: agents enroll with it (stored in %s, readable by root only)\n",
               line, path);
        fflush(stdout);
    }
    if (tld_pki_password_is_hash(line)) {
        snprintf(m->password_hash, sizeof m->password_hash, "%.199s", line);
        return 0;
    }
    /* A plain password is kept only as a hash in memory. */
    return tld_pki_password_hash(tld_sv_of(line), m->password_hash);
}

/* ---- agents subcommand ----------------------------------------------------------------------- */

static int parse_status(const char *s)
{
    static const char *const names[] = {"never_connected", "active", "disconnected"};
    for (int i = 0; i < 3; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return strcmp(s, "never") == 0 ? TLD_AGENT_NEVER : -1;
}

/* The selection of `agents remove`: ids given, or the agents matching every filter. */
struct removal {
    struct tld_agents_filter f;
    bool dry_run, any_filter;
    unsigned *ids;
    unsigned n;
};

static int removal_args(struct removal *rm, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        unsigned id;
        if (strcmp(a, "--dry-run") == 0) {
            rm->dry_run = true;
        } else if (strcmp(a, "--name") == 0 && has_val) {
            rm->f.name_glob = argv[++i];
            rm->any_filter = true;
        } else if (strcmp(a, "--status") == 0 && has_val) {
            if ((rm->f.status = parse_status(argv[++i])) < 0) {
                fprintf(stderr,
                        "tld-manager: unknown status '%s' (never_connected, "
                        "disconnected or active)\n",
                        argv[i]);
                return 2;
            }
            rm->any_filter = true;
        } else if (strcmp(a, "--older-than") == 0 && has_val) {
            if (tld_conf_parse_duration(argv[++i], &rm->f.older_than_s) != 0 ||
                rm->f.older_than_s <= 0) {
                fprintf(stderr, "tld-manager: '%s' is not a duration (e.g. 7d, 12h)\n", argv[i]);
                return 2;
            }
            rm->any_filter = true;
        } else if (tld_agents_id_parse(a, &id)) {
            rm->ids[rm->n++] = id;
        } else {
            fprintf(stderr, "tld-manager: '%s' is neither an agent id (e.g. 001) nor an option\n",
                    a);
            return 2;
        }
    }
    if (rm->n && rm->any_filter) {
        fprintf(stderr, "tld-manager: give agent ids or filters, not both\n");
        return 2;
    }
    if (!rm->n && !rm->any_filter) {
        fprintf(stderr, "tld-manager: agents remove needs ids or at least one filter\n");
        return 2;
    }
    return 0;
}

static int cmd_agents_remove(struct tld_agents *r, int argc, char **argv)
{
    struct tld_agent_info *v;
    unsigned n;
    if (tld_agents_list(r, &v, &n) != 0)
        return 1;
    struct removal rm = {.f = {NULL, -1, 0}};
    rm.ids = malloc(((unsigned)argc + n + 1) * sizeof *rm.ids);
    int rc = rm.ids ? removal_args(&rm, argc, argv) : 1;
    unsigned given = rm.n;
    int64_t now = (int64_t)time(NULL);
    for (unsigned i = 0; rc == 0 && rm.any_filter && i < n; i++)
        if (tld_agents_filter_match(&rm.f, &v[i], now))
            rm.ids[rm.n++] = v[i].id;
    for (unsigned i = 0; rc == 0 && i < given; i++) {
        struct tld_agent_info a;
        if (tld_agents_get(r, rm.ids[i], &a) != 0 || a.removed) {
            fprintf(stderr, "tld-manager: no active agent %s\n", argv[i]);
            rc = 1;
        }
    }
    if (rc == 0) {
        for (unsigned i = 0; i < rm.n; i++) {
            struct tld_agent_info a;
            char id[TLD_PROTO_MAX_ID];
            tld_agents_id_text(rm.ids[i], id);
            if (tld_agents_get(r, rm.ids[i], &a) == 0)
                printf("%s %s %s %s\n", rm.dry_run ? "would remove" : "removing", id, a.name,
                       tld_agents_status_str(a.status));
        }
        unsigned k = 0;
        if (!rm.dry_run && rm.n && tld_agents_remove_many(r, rm.ids, rm.n, &k) != 0) {
            fprintf(stderr, "tld-manager: the registry could not be written\n");
            rc = 1;
        } else if (rm.dry_run) {
            printf("%u agents match; nothing removed (dry run)\n", rm.n);
        } else {
            printf("%u agents removed; their certificates are refused from now on\n", k);
        }
    }
    free(rm.ids);
    free(v);
    return rc;
}

/* Where the registry is: <manager><registry_dir> (shared by a fleet's managers) or var. */
static const char *registry_dir(struct mgr *m)
{
    return rootpath(m, 7, m->cfg.registry_dir ? m->cfg.registry_dir : "var");
}

/* The agents commands read the configuration only for <registry_dir>; a missing file is the
 * default (var), as before. */
static int registry_config(struct mgr *m)
{
    static char cfg_path[PATH_MAX];
    if (!m->args.nconfigs) {
        snprintf(cfg_path, sizeof cfg_path, "%s/etc/manager.conf", m->args.root);
        if (access(cfg_path, F_OK) != 0)
            return 0;
        m->args.configs[m->args.nconfigs++] = cfg_path;
    }
    if (load_config(m) != 0) {
        fprintf(stderr, "tld-manager: %s has errors\n", m->args.configs[0]);
        return 1;
    }
    return 0;
}

static int cmd_agents(struct mgr *m, int argc, char **argv)
{
    if (argc < 1) {
        usage(stderr);
        return 2;
    }
    char why[TLD_WHY_MAX];
    struct tld_agents *r;
    if (registry_config(m) != 0)
        return 1;
    if (tld_agents_open_at(registry_dir(m), rootpath(m, 0, "var"), 100000, &r, why) != 0) {
        fprintf(stderr, "tld-manager: %s\n", why);
        return 1;
    }
    int rc = 0;
    if (strcmp(argv[0], "list") == 0 && argc == 1) {
        struct tld_agent_info *v;
        unsigned n;
        if (tld_agents_list(r, &v, &n) == 0) {
            printf("%-6s %-24s %-16s %-16s %s\n", "ID", "NAME", "REGISTRATION IP", "STATUS",
                   "LAST KEEPALIVE");
            for (unsigned i = 0; i < n; i++) {
                if (v[i].removed)
                    continue;
                char id[TLD_PROTO_MAX_ID], when[32] = "-";
                tld_agents_id_text(v[i].id, id);
                if (v[i].last_keepalive_s) {
                    time_t t = (time_t)v[i].last_keepalive_s;
                    struct tm tm;
                    localtime_r(&t, &tm);
                    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
                }
                printf("%-6s %-24s %-16s %-16s %s\n", id, v[i].name, v[i].reg_ip,
                       tld_agents_status_str(v[i].status), when);
            }
            free(v);
        }
    } else if (strcmp(argv[0], "remove") == 0 && argc >= 2) {
        rc = cmd_agents_remove(r, argc - 1, argv + 1);
    } else {
        usage(stderr);
        rc = 2;
    }
    tld_agents_close(r);
    return rc;
}

/* `store ...` and `search ...`: the configuration tells where the store is. */
static int cmd_store(struct mgr *m, int argc, char **argv)
{
    static char cfg_path[PATH_MAX];
    if (!m->args.nconfigs) {
        snprintf(cfg_path, sizeof cfg_path, "%s/etc/manager.conf", m->args.root);
        m->args.configs[m->args.nconfigs++] = cfg_path;
    }
    if (load_config(m) != 0) {
        fprintf(stderr, "tld-manager: %s has errors\n", m->args.configs[0]);
        return 1;
    }
    int rc = strcmp(argv[0], "store") == 0
                 ? tld_mgr_cmd_store(&m->cfg, m->args.root, argc - 1, argv + 1)
                 : tld_mgr_cmd_search(&m->cfg, m->args.root, argc - 1, argv + 1);
    tld_mgr_config_fini(&m->cfg);
    tld_collect_config_fini(&m->acfg);
    return rc;
}

static int cmd_hash_password(void)
{
    char line[512];
    if (!fgets(line, sizeof line, stdin)) {
        fprintf(stderr, "tld-manager: no password on stdin\n");
        return 1;
    }
    size_t l = strlen(line);
    while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
        line[--l] = 0;
    char h[200];
    if (tld_pki_password_hash(tld_sv_make(line, l), h) != 0)
        return 1;
    printf("%s\n", h);
    return 0;
}

/* ---- stats and housekeeping ------------------------------------------------------------------ */

/* The inside of a JSON string for a message of ours (control characters dropped). */
static void json_text(FILE *f, const char *s)
{
    for (const char *c = s; *c; c++)
        if (*c == '"' || *c == '\\')
            fprintf(f, "\\%c", *c);
        else if ((unsigned char)*c >= 0x20)
            fputc(*c, f);
}

static void write_store_stats(struct mgr *m, FILE *f)
{
    struct tld_store_thread_stats st = {0};
    if (m->store)
        tld_store_thread_stats(m->store, &st);
    fprintf(f,
            ",\"store\":{\"enabled\":%s,\"open\":%s,\"stored\":%" PRIu64
            ",\"behind_bytes\":%" PRIu64 ",\"behind_alerts\":%" PRIu64 ",\"position\":[%" PRIu64
            ",%" PRIu64 "],\"failures\":%" PRIu64 ",\"refills\":%" PRIu64 ",\"retained\":%" PRIu64
            ",\"last_error\":\"",
            m->store ? "true" : "false", st.open ? "true" : "false", st.stored, st.lag.bytes,
            st.lag.alerts, st.pos.gen, st.pos.off, st.failures, st.refills, st.retained);
    json_text(f, st.last_error);
    fputs("\"}", f);
}

static void write_reload_stats(struct mgr *m, FILE *f)
{
    pthread_mutex_lock(&m->reload_mu);
    fprintf(f,
            ",\"reload\":{\"reloads\":%" PRIu64 ",\"failures\":%" PRIu64 ",\"last_time\":%" PRId64
            ",\"ruleset_loaded\":%" PRId64 ",\"last_result\":\"",
            m->reloads, m->reload_failures, m->reload_last_s, m->ruleset_loaded_s);
    json_text(f, m->reload_last);
    pthread_mutex_unlock(&m->reload_mu);
    fputs("\"}", f);
}

static void write_stats(struct mgr *m)
{
    struct tld_journal_stats js;
    struct tld_pipeline_stats ps;
    struct tld_receiver_stats rs = {0};
    struct tld_enroll_stats es = {0};
    struct tld_local_stats ls = {0};
    tld_journal_stats(m->journal, &js);
    tld_pipeline_stats(m->pipe, &ps);
    if (m->recv)
        tld_receiver_stats(m->recv, &rs);
    if (m->enroll)
        tld_enroll_server_stats(m->enroll, &es);
    if (m->local)
        tld_local_stats(m->local, &ls);
    pthread_mutex_lock(&m->own_mu);
    uint64_t own_emitted = m->own_emitted, own_dropped = m->own_dropped;
    pthread_mutex_unlock(&m->own_mu);
    pthread_mutex_lock(&m->refusals.mu);
    uint64_t own_folded = m->refusals.folded;
    pthread_mutex_unlock(&m->refusals.mu);
    const char *path = rootpath(m, 1, "var/run/tld-manager.stats.json");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return;
    fprintf(f,
            "{\"pid\":%d,\"started\":%" PRId64 ",\"journal\":{\"first_index\":%" PRIu64
            ",\"next_index\":%" PRIu64 ",\"synced_index\":%" PRIu64 ",\"released\":%" PRIu64
            ",\"bytes\":%" PRIu64 ",\"max_bytes\":%" PRIu64 ",\"segments\":%u,\"appended\":%" PRIu64
            ",\"duplicates\":%" PRIu64 ",\"refused\":%" PRIu64 ",\"syncs\":%" PRIu64
            ",\"torn_bytes\":%" PRIu64 ",\"corrupt\":%" PRIu64 ",\"full\":%s}",
            (int)getpid(), m->started_s, js.first_index, js.next_index, js.synced_index,
            js.released, js.bytes, js.max_bytes, js.segments, js.appended, js.duplicates,
            js.refused, js.syncs, js.torn_bytes, js.corrupt, js.full ? "true" : "false");
    fprintf(f,
            ",\"analysis\":{\"workers\":%u,\"dispatched\":%" PRIu64 ",\"processed\":%" PRIu64
            ",\"alerts\":%" PRIu64 ",\"archives\":%" PRIu64 ",\"malformed\":%" PRIu64
            ",\"next_index\":%" PRIu64 ",\"durable_index\":%" PRIu64 ",\"queued\":%" PRIu64
            ",\"inflight\":%" PRIu64 ",\"waits_full\":%" PRIu64 ",\"rotations\":%" PRIu64
            ",\"alerts_bytes\":%" PRIu64 ",\"output_stalls\":%" PRIu64
            ",\"output_stalled\":%s,\"dispatch_stalls\":%" PRIu64 ",\"dispatch_stalled\":%s}",
            m->cfg.workers, ps.dispatched, ps.processed, ps.alerts, ps.archives, ps.malformed,
            ps.next_index, ps.durable_index, ps.queued, ps.inflight, ps.waits_full, ps.rotations,
            ps.alerts_bytes, ps.output_stalls, ps.output_stalled ? "true" : "false",
            ps.dispatch_stalls, ps.dispatch_stalled ? "true" : "false");
    fprintf(f,
            ",\"remote\":{\"connections\":%" PRIu64 ",\"tls_failures\":%" PRIu64
            ",\"refused\":%" PRIu64 ",\"sessions\":%" PRIu64 ",\"active\":%u,\"batches\":%" PRIu64
            ",\"events\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"acks\":%" PRIu64
            ",\"keepalives\":%" PRIu64 ",\"protocol_errors\":%" PRIu64 ",\"stalls\":%" PRIu64
            ",\"timeouts\":%" PRIu64 ",\"evicted\":%" PRIu64 ",\"address_limited\":%" PRIu64
            ",\"full\":%" PRIu64 ",\"idle_closed\":%" PRIu64 ",\"frame_waits\":%" PRIu64
            ",\"accept_errors\":%" PRIu64 ",\"open\":%u,\"pending\":%u,\"frame_memory\":%" PRIu64
            "}",
            rs.connections, rs.tls_failures, rs.refused, rs.sessions, rs.active, rs.batches,
            rs.events, rs.duplicates, rs.acks, rs.keepalives, rs.protocol_errors, rs.stalls,
            rs.timeouts, rs.evicted, rs.address_limited, rs.full, rs.idle_closed, rs.budget_waits,
            rs.accept_errors, rs.conns, rs.pending, rs.frame_memory);
    fprintf(f,
            ",\"enrollment\":{\"requests\":%" PRIu64 ",\"enrolled\":%" PRIu64
            ",\"refused\":%" PRIu64 ",\"bad_password\":%" PRIu64 ",\"rate_limited\":%" PRIu64
            ",\"malformed\":%" PRIu64 ",\"tls_failures\":%" PRIu64 ",\"locked_out\":%" PRIu64
            ",\"lockouts\":%" PRIu64 ",\"timeouts\":%" PRIu64 ",\"evicted\":%" PRIu64
            ",\"address_limited\":%" PRIu64 ",\"open\":%u}",
            es.requests, es.enrolled, es.refused, es.bad_password, es.rate_limited, es.malformed,
            es.tls_failures, es.locked_out, es.lockouts, es.timeouts, es.evicted,
            es.address_limited, es.conns);
    fprintf(f,
            ",\"local\":{\"enabled\":%s,\"docker_connected\":%s,\"docker_events\":%" PRIu64
            ",\"lines\":%" PRIu64 ",\"journaled\":%" PRIu64 ",\"duplicates\":%" PRIu64
            ",\"spool_pending\":%" PRIu64 ",\"stalls\":%" PRIu64 "}",
            m->local ? "true" : "false", ls.docker_connected ? "true" : "false", ls.docker_events,
            ls.lines, ls.journaled, ls.duplicates, ls.spool_pending, ls.stalls);
    write_store_stats(m, f);
    write_reload_stats(m, f);
    fprintf(f,
            ",\"own_events\":{\"emitted\":%" PRIu64 ",\"dropped\":%" PRIu64
            ",\"refusals_folded\":%" PRIu64 "}}\n",
            own_emitted, own_dropped, own_folded);
    if (fclose(f) == 0)
        tld_file_replace(path, text, len, 0666);
    free(text);
}

/* Queue pressure as own events: crossing 80%, becoming full, and back under 50%. */
static void check_pressure(struct mgr *m)
{
    struct tld_journal_stats js;
    tld_journal_stats(m->journal, &js);
    unsigned pct = js.max_bytes ? (unsigned)(js.bytes * 100 / js.max_bytes) : 0;
    enum pressure now = js.full ? P_FULL : pct >= 80 ? P_HIGH : m->pressure;
    if (pct < 50 && !js.full)
        now = P_NORMAL;
    if (now == m->pressure)
        return;
    struct tld_own_sink s = own_sink(m);
    struct tld_own_field f[] = {{"usage_percent", NULL, pct, 1},
                                {"bytes", NULL, (int64_t)js.bytes, 1},
                                {"max_bytes", NULL, (int64_t)js.max_bytes, 1},
                                {"refused_appends", NULL, (int64_t)js.refused, 1}};
    const char *ev = now == P_FULL   ? "queue_full"
                     : now == P_HIGH ? "queue_pressure"
                                     : "queue_recovered";
    if (now > m->pressure || now == P_NORMAL) {
        tld_log_warn(&m->log, "intake journal at %u%% of %" PRIu64 " bytes (%s)", pct, js.max_bytes,
                     ev);
        tld_own_emit(&s, ev, NULL, f, 4);
    }
    m->pressure = now;
}

/* Agents enrolled and never connected within pending_agent_expiry are removed. */
static void expire_pending(struct mgr *m)
{
    if (m->cfg.pending_expiry_s <= 0)
        return;
    unsigned ids[64];
    int n =
        tld_agents_expire_pending(m->agents, (int64_t)time(NULL), m->cfg.pending_expiry_s, ids, 64);
    for (int i = 0; i < n; i++) {
        char id[TLD_PROTO_MAX_ID];
        tld_agents_id_text(ids[i], id);
        struct tld_agent_info info;
        const char *name = tld_agents_get(m->agents, ids[i], &info) == 0 ? info.name : NULL;
        tld_log_info(&m->log, "agent %s '%s' removed: enrolled and never connected", id,
                     name ? name : "?");
        struct tld_own_agent ag = {id, name, NULL};
        struct tld_own_field f[] = {{"reason", "never_connected", 0, 0}};
        struct tld_own_sink s = own_sink(m);
        tld_own_emit(&s, "agent_removed", &ag, f, 1);
    }
}

/* An agent removed by `agents remove` or the control channel: its connection is closed and the
 * removal reported. Any thread. */
static void report_removed(void *mgr, unsigned agent)
{
    struct mgr *m = mgr;
    char id[TLD_PROTO_MAX_ID];
    tld_agents_id_text(agent, id);
    struct tld_agent_info info;
    const char *name = tld_agents_get(m->agents, agent, &info) == 0 ? info.name : NULL;
    tld_log_info(&m->log, "agent %s removed; its connection is closed", id);
    tld_receiver_kick(m->recv, agent);
    struct tld_own_agent ag = {id, name, NULL};
    struct tld_own_sink s = own_sink(m);
    tld_own_emit(&s, "agent_removed", &ag, NULL, 0);
}

static void housekeeping(struct mgr *m, unsigned tick)
{
    struct tld_own_sink own = own_sink(m);
    tld_own_agg_flush(&own, tld_mono_ns());
    unsigned removed[64];
    expire_pending(m);
    int n = tld_agents_refresh(m->agents, removed, 64);
    for (int i = 0; i < n; i++)
        report_removed(m, removed[i]);
    tld_agents_expire(m->agents, (int64_t)time(NULL), m->cfg.disconnection_s);
    check_pressure(m);
    if (tick % 5 == 0)
        tld_agents_save_status(m->agents);
    write_stats(m);
}

/* ---- hot reload ------------------------------------------------------------------------------ */

/* The settings a reload takes over (tld_mgr_config_fixed_change() let only these differ). The
 * old ruleset lists end up in `from`, which the caller finis; strings other threads borrowed
 * from m->cfg (addresses, paths) are not touched. */
static void take_live_settings(struct mgr *m, struct tld_mgr_config *from)
{
    struct tld_mgr_paths *mine[] = {
        &m->cfg.decoder_dirs, &m->cfg.rule_dirs,        &m->cfg.decoder_files, &m->cfg.rule_files,
        &m->cfg.lists,        &m->cfg.decoder_excludes, &m->cfg.rule_excludes};
    struct tld_mgr_paths *theirs[] = {
        &from->decoder_dirs, &from->rule_dirs,        &from->decoder_files, &from->rule_files,
        &from->lists,        &from->decoder_excludes, &from->rule_excludes};
    for (size_t i = 0; i < sizeof mine / sizeof *mine; i++) {
        struct tld_mgr_paths t = *mine[i];
        *mine[i] = *theirs[i];
        *theirs[i] = t;
    }
    m->cfg.log_alert_level = from->log_alert_level;
    m->cfg.email_alert_level = from->email_alert_level;
    m->cfg.disconnection_s = from->disconnection_s;
    m->cfg.pending_expiry_s = from->pending_expiry_s;
    m->cfg.max_pending = from->max_pending;
    tld_agents_set_pending_limit(m->agents, m->cfg.max_pending);
    m->cfg.rate_requests = from->rate_requests;
    m->cfg.rate_period_s = from->rate_period_s;
    m->cfg.global_rate = from->global_rate;
    m->cfg.lockout_failures = from->lockout_failures;
    m->cfg.lockout_global_failures = from->lockout_global_failures;
    m->cfg.lockout_s = from->lockout_s;
    struct tld_enroll_limits el = {
        m->cfg.rate_requests,    m->cfg.rate_period_s,           m->cfg.global_rate,
        m->cfg.lockout_failures, m->cfg.lockout_global_failures, m->cfg.lockout_s};
    if (m->enroll)
        tld_enroll_server_set_limits(m->enroll, &el);
}

/* Check, then apply: the new ruleset goes to analysis between two events, the live settings
 * into m->cfg. On any failure nothing changes. Main thread only. */
static void reload(struct mgr *m, struct tld_reload_result *res)
{
    struct tld_mgr_config ncfg;
    struct tld_ruleset *nrs = NULL;
    int rc = tld_mgr_reload_check(&m->cfg, m->args.configs[0], m->args.root, &ncfg, &nrs, res);
    bool taken = false;
    uint64_t from = 0;
    if (rc == 0 && res->outcome == TLD_RELOAD_OK) {
        rc = tld_pipeline_set_ruleset(m->pipe, nrs, 10000, &taken, &from);
        if (rc == 0) {
            tld_ruleset_unref(m->rs);
            m->rs = nrs;
            take_live_settings(m, &ncfg);
        } else {
            tld_ruleset_unref(nrs);
        }
        tld_mgr_config_fini(&ncfg);
    }
    if (rc) {
        res->outcome = TLD_RELOAD_INVALID;
        snprintf(res->message, sizeof res->message, "reload failed: %s", tld_err_str(rc));
    }
    if (res->outcome == TLD_RELOAD_OK && taken)
        tld_log_info(&m->log,
                     "reloaded: %u rules, %u decoders, %u lists; analysis uses them from journal "
                     "record %" PRIu64,
                     res->rules, res->decoders, res->lists, from);
    else if (res->outcome == TLD_RELOAD_OK)
        tld_log_info(&m->log,
                     "reloaded: %u rules, %u decoders, %u lists; analysis takes them when it "
                     "resumes",
                     res->rules, res->decoders, res->lists);
    if (res->outcome == TLD_RELOAD_OK)
        return;
    tld_log_error(&m->log, "reload refused, the running configuration and ruleset stay: %s",
                  res->message);
    for (unsigned i = 0; i < res->diag.kept; i++)
        if (res->diag.msgs[i].sev == TLD_DIAG_ERROR)
            tld_log_error(&m->log, "reload: %s", res->diag.msgs[i].text);
}

/* SIGHUP: reload, record the outcome and answer the channel's requests made before it. */
static void reload_now(struct mgr *m)
{
    pthread_mutex_lock(&m->reload_mu);
    uint64_t asked = m->reload_asked;
    pthread_mutex_unlock(&m->reload_mu);
    struct tld_reload_result res;
    tld_reload_result_init(&res);
    reload(m, &res);
    pthread_mutex_lock(&m->reload_mu);
    if (res.outcome == TLD_RELOAD_OK) {
        m->reloads++;
        m->ruleset_loaded_s = (int64_t)time(NULL);
    } else {
        m->reload_failures++;
    }
    m->reload_last_s = (int64_t)time(NULL);
    snprintf(m->reload_last, sizeof m->reload_last, "%s", res.message);
    tld_sb_reset(&m->reload_reply);
    tld_reload_result_json(&res, m->args.root, &m->reload_reply);
    m->reload_done = asked;
    pthread_cond_broadcast(&m->reload_cv);
    pthread_mutex_unlock(&m->reload_mu);
    tld_reload_result_fini(&res);
}

/* The channel's "reload": the main thread does it (it owns the configuration); this waits. */
static void ctl_reload(void *mgr, struct tld_sb *reply)
{
    struct mgr *m = mgr;
    pthread_mutex_lock(&m->reload_mu);
    uint64_t mine = ++m->reload_asked;
    pthread_kill(m->main_thread, SIGHUP);
    /* Under the client's 30 s: a reload that takes longer is still applied when it ends. */
    int64_t until = tld_deadline_in(25000);
    while (m->reload_done < mine && !m->closing && tld_deadline_left_ms(until) > 0)
        tld_cond_wait_until(&m->reload_cv, &m->reload_mu, until);
    if (m->reload_done >= mine)
        tld_sb_append_sv(reply, tld_sb_view(&m->reload_reply));
    else if (m->closing)
        tld_ctl_reply_error(reply, 125, "the manager is stopping");
    else
        tld_ctl_reply_error(reply, 110, "the reload is still running; see the manager's log");
    pthread_mutex_unlock(&m->reload_mu);
}

static void ctl_status(void *mgr, struct tld_sb *reply)
{
    struct mgr *m = mgr;
    pthread_mutex_lock(&m->reload_mu);
    tld_sb_printf(reply,
                  "{\"error\":0,\"pid\":%d,\"started\":%" PRId64 ",\"ruleset_loaded\":%" PRId64
                  ",\"reloads\":%" PRIu64 "}",
                  (int)getpid(), m->started_s, m->ruleset_loaded_s, m->reloads);
    pthread_mutex_unlock(&m->reload_mu);
}

static int start_ctl(struct mgr *m)
{
    m->ctl_ops = (struct tld_ctl_ops){m->agents, ctl_reload, ctl_status, report_removed, m};
    struct tld_ctl_opts co = {rootpath(m, 0, "var/run/tld-manager.ctl"), &m->log,
                              tld_ctl_ops_handle, &m->ctl_ops};
    char why[TLD_WHY_MAX];
    int rc = tld_ctl_start(&co, &m->ctl, why);
    if (rc)
        tld_log_error(&m->log, "%s", why);
    return rc;
}

/* ---- run ------------------------------------------------------------------------------------- */

static int start_store(struct mgr *m)
{
    struct tld_mgr_store_paths p;
    struct tld_store_thread_opts so = {
        .max_age_s = m->cfg.store_max_age_s, .max_bytes = m->cfg.store_max_bytes, .log = &m->log};
    tld_mgr_store_setup(&m->cfg, m->args.root, &p, &so.store, &so.feed);
    int rc = tld_store_thread_start(&so, &m->store);
    if (rc)
        tld_log_error(&m->log, "store: cannot start: %s", tld_err_str(rc));
    return rc;
}

static int start(struct mgr *m)
{
    char why[TLD_WHY_MAX];
    bool created;
    int rc = tld_pki_ca_ensure(rootpath(m, 0, "var/ca"), m->hostname, &created, why);
    if (rc) {
        tld_log_error(&m->log, "%s", why);
        return rc;
    }
    if (created)
        tld_log_info(&m->log, "created the manager CA in %s", m->path[0]);
    if ((rc = setup_password(m)) != 0)
        return rc;
    if ((rc = tld_agents_open_at(registry_dir(m), rootpath(m, 0, "var"), m->cfg.max_agents,
                                 &m->agents, why))) {
        tld_log_error(&m->log, "agent registry: %s", why);
        return rc;
    }
    tld_agents_reset_sessions(m->agents);
    tld_agents_set_pending_limit(m->agents, m->cfg.max_pending);
    struct tld_journal_opts jo = {rootpath(m, 0, "queue/intake"), m->cfg.intake_max_bytes, 0, 0,
                                  &m->log};
    if ((rc = tld_journal_open(&jo, &m->journal)) != 0) {
        tld_log_error(&m->log, "cannot open the intake journal in %s: %s", m->path[0],
                      tld_err_str(rc));
        return rc;
    }
    struct tld_pipeline_opts po = {.journal = m->journal,
                                   .ruleset = m->rs,
                                   .agents = m->agents,
                                   .logs_dir = rootpath(m, 3, "logs"),
                                   .state_file = rootpath(m, 4, "queue/intake/output.ckpt"),
                                   .archives = m->cfg.logall_json,
                                   /* A named writer shares its store with other managers. */
                                   .event_identity = m->cfg.store_writer != NULL,
                                   .workers = m->cfg.workers,
                                   .worker_queue = m->cfg.worker_queue,
                                   .manager_name = m->hostname,
                                   .log = &m->log,
                                   .own = own_sink(m)};
    if ((rc = tld_pipeline_new(&po, &m->pipe)) != 0) {
        tld_log_error(&m->log, "cannot start analysis: %s", tld_err_str(rc));
        return rc;
    }
    if ((rc = tld_pipeline_start(m->pipe)) != 0)
        return rc;
    struct tld_receiver_opts ro = {.host = m->cfg.remote_ip,
                                   .port = m->cfg.remote_port,
                                   .ca_dir = rootpath(m, 5, "var/ca"),
                                   .agents = m->agents,
                                   .journal = m->journal,
                                   .log = &m->log,
                                   .own = own_sink(m),
                                   .manager_name = m->hostname,
                                   .keepalive_s = (unsigned)m->cfg.keepalive_s,
                                   .max_conns = m->cfg.max_connections,
                                   .max_per_addr = m->cfg.per_address,
                                   .max_pending_per_addr = m->cfg.pending_per_address,
                                   .frame_memory = m->cfg.frame_memory,
                                   .handshake_ms = (int)m->cfg.handshake_s * 1000};
    if ((rc = tld_receiver_new(&ro, &m->recv, why)) != 0) {
        tld_log_error(&m->log, "remote: %s", why);
        return rc;
    }
    if ((rc = tld_receiver_start(m->recv)) != 0)
        return rc;
    if (m->cfg.auth_enabled) {
        struct tld_enroll_opts eo = {.host = m->cfg.auth_ip,
                                     .port = m->cfg.auth_port,
                                     .ca_dir = m->path[5],
                                     .agents = m->agents,
                                     .password_hash = m->password_hash[0] ? m->password_hash : NULL,
                                     .force = m->cfg.force,
                                     .rate_requests = m->cfg.rate_requests,
                                     .rate_period_s = m->cfg.rate_period_s,
                                     .cert_days = m->cfg.cert_days,
                                     .global_rate = m->cfg.global_rate,
                                     .lockout_failures = m->cfg.lockout_failures,
                                     .lockout_global_failures = m->cfg.lockout_global_failures,
                                     .lockout_s = m->cfg.lockout_s,
                                     .max_per_addr = m->cfg.auth_per_address,
                                     .timeout_ms = (int)m->cfg.auth_timeout_s * 1000,
                                     .log = &m->log,
                                     .own = own_sink(m)};
        if ((rc = tld_enroll_server_new(&eo, &m->enroll, why)) != 0) {
            tld_log_error(&m->log, "enrollment: %s", why);
            return rc;
        }
        if ((rc = tld_enroll_server_start(m->enroll)) != 0)
            return rc;
    }
    if (m->local_enabled) {
        struct tld_local_opts lo = {&m->acfg, rootpath(m, 6, "queue/local"), m->journal, &m->log};
        if ((rc = tld_local_new(&lo, &m->local)) != 0) {
            tld_log_error(&m->log, "local collection: cannot start: %s", tld_err_str(rc));
            return rc;
        }
        if ((rc = tld_local_start(m->local)) != 0)
            return rc;
    }
    if (m->cfg.store_enabled && (rc = start_store(m)) != 0)
        return rc;
    if ((rc = start_ctl(m)) != 0)
        return rc;
    tld_log_info(&m->log,
                 "started: remote %s:%u, enrollment %s, %u analysis workers, alerts in "
                 "%s/logs/alerts/alerts.json, local collection %s (%u localfile, docker %s)",
                 m->cfg.remote_ip ? m->cfg.remote_ip : "*", m->cfg.remote_port,
                 m->cfg.auth_enabled ? "on" : "off", m->cfg.workers, m->args.root,
                 m->local_enabled ? "on" : "off", m->acfg.nfiles,
                 m->acfg.docker.enabled ? "on" : "off");
    struct tld_own_sink s = own_sink(m);
    char port[16];
    snprintf(port, sizeof port, "%u", m->cfg.remote_port);
    struct tld_own_field f[] = {
        {"version", TLD_VERSION, 0, 0},
        {"rules", NULL, (int64_t)tld_rules_count(m->rs->rules), 1},
        {"decoders", NULL, (int64_t)tld_decoder_set_count(m->rs->decoders), 1}};
    tld_own_emit(&s, "manager_started", NULL, f, 3);
    return 0;
}

/* Connections past the descriptor limit are refused by the network loops (nothing else fails),
 * but the administrator should know the configuration asks for more than the system gives. */
static void warn_nofile(struct mgr *m)
{
    struct rlimit rl;
    /* Agents on 1514, enrollment on 1515, and files, journal, store and logs besides. */
    rlim_t need = (rlim_t)m->cfg.max_connections + 1024 + 256;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < need)
        tld_log_warn(&m->log,
                     "open descriptor limit %llu is below the %llu that <remote><max_connections> "
                     "%u needs; agents past it are refused until others leave (raise LimitNOFILE "
                     "or the hard limit)",
                     (unsigned long long)rl.rlim_cur, (unsigned long long)need,
                     m->cfg.max_connections);
}

static void stop(struct mgr *m)
{
    pthread_mutex_lock(&m->reload_mu);
    m->closing = true;
    pthread_cond_broadcast(&m->reload_cv);
    pthread_mutex_unlock(&m->reload_mu);
    tld_ctl_stop(m->ctl);
    m->ctl = NULL;
    tld_store_thread_stop(m->store);
    m->store = NULL;
    /* Nothing new in, then what came in is journaled, then analysis finishes what it took and
     * syncs; the rest of the backlog stays journaled for the next start. */
    tld_enroll_server_free(m->enroll);
    m->enroll = NULL;
    if (m->recv)
        tld_receiver_stop(m->recv);
    tld_local_free(m->local);
    m->local = NULL;
    if (m->journal) {
        tld_journal_stop_readers(m->journal);
        tld_journal_shutdown(m->journal);
    }
    tld_pipeline_free(m->pipe);
    m->pipe = NULL;
    tld_receiver_free(m->recv);
    m->recv = NULL;
    if (m->agents)
        tld_agents_save_status(m->agents);
    tld_journal_close(m->journal);
    m->journal = NULL;
    tld_agents_close(m->agents);
    m->agents = NULL;
}

int main(int argc, char **argv)
{
    /* State, logs and keys are never for everyone, whatever umask the caller had. */
    umask(027);
    static struct mgr m;
    m.pid_fd = -1;
    pthread_mutex_init(&m.own_mu, NULL);
    pthread_mutex_init(&m.reload_mu, NULL);
    tld_cond_init(&m.reload_cv);
    tld_sb_init(&m.reload_reply, 16u << 20);
    m.main_thread = pthread_self();
    tld_own_agg_init(&m.refusals, REFUSALS_INTERVAL_S);
    static const struct tld_daemon_argspec spec = {"tld-manager", false, false, true, usage};
    int next, rc;
    if (tld_daemon_args_parse(&spec, argc, argv, &m.args, &next) != 0)
        return 2;
    if (next < argc && strcmp(argv[next], "hash-password") == 0)
        return cmd_hash_password();
    if (next + 1 == argc && strcmp(argv[next], "status") == 0)
        return tld_mgr_cmd_status(m.args.root, stdout);
    if (next + 1 == argc && strcmp(argv[next], "init") == 0)
        return tld_mgr_cmd_init(m.args.root);
    if (next < argc && strcmp(argv[next], "agents") == 0)
        return cmd_agents(&m, argc - next - 1, argv + next + 1);
    if (next < argc && (strcmp(argv[next], "store") == 0 || strcmp(argv[next], "search") == 0))
        return cmd_store(&m, argc - next, argv + next);
    if (next != argc) {
        usage(stderr);
        return 2;
    }
    if (gethostname(m.hostname, sizeof m.hostname - 1) != 0 || !m.hostname[0])
        snprintf(m.hostname, sizeof m.hostname, "localhost");
    char rs_src[PATH_MAX];
    static char cfg_path[PATH_MAX];
    if (!m.args.nconfigs) {
        snprintf(cfg_path, sizeof cfg_path, "%s/etc/manager.conf", m.args.root);
        m.args.configs[m.args.nconfigs++] = cfg_path;
    }
    tld_log_init(&m.log, "tld-manager", stderr, m.args.debug ? TLD_LOG_DEBUG : TLD_LOG_INFO);
    if (!m.args.test_only) {
        bool made = false;
        if (tld_install_layout(m.args.root, tld_install_ruleset_src(rs_src, sizeof rs_src), &made,
                               &m.log) != 0)
            return 1;
        if (made)
            tld_log_info(&m.log, "first start: wrote %s", m.args.configs[0]);
    }
    if (load_config(&m) != 0) {
        fprintf(stderr, "tld-manager: %s has errors\n", m.args.configs[0]);
        return 1;
    }
    if (m.args.test_only) {
        rc = load_ruleset(&m, true);
        if (rc == 0)
            printf("tld-manager: configuration OK; ruleset OK: %u decoders from %u files, %u "
                   "rules from %u files\n",
                   tld_decoder_set_count(m.rs->decoders), m.rs->ndecoder_files,
                   tld_rules_count(m.rs->rules), m.rs->nrule_files);
        if (m.rs)
            tld_ruleset_unref(m.rs);
        tld_mgr_config_fini(&m.cfg);
        tld_collect_config_fini(&m.acfg);
        return rc ? 1 : 0;
    }
    tld_log_fini(&m.log);
    if (tld_daemon_open_log(&m.log, "tld-manager", m.args.log_path,
                            rootpath(&m, 7, "logs/manager.log"), m.args.debug) != 0)
        return 1;
    tld_daemon_raise_nofile(&m.log);
    warn_nofile(&m);
    if (tld_daemon_lock_pid(rootpath(&m, 2, "var/run/tld-manager.pid"), "tld-manager", &m.pid_fd) !=
        0)
        return 1;
    if (load_ruleset(&m, false) != 0)
        return 1;

    /* Signals are taken by this thread only; every other thread inherits the mask. */
    sigset_t set;
    tld_daemon_signals(&set);
    m.started_s = m.ruleset_loaded_s = (int64_t)time(NULL);

    rc = start(&m);
    if (rc == 0) {
        bool done = false, hup = false;
        for (unsigned tick = 1; !done; tick++) {
            if (hup)
                reload_now(&m);
            housekeeping(&m, tick);
            tld_daemon_wait_hup(&set, &m.log, &done, &hup);
        }
    } else {
        fprintf(stderr, "tld-manager: could not start (%s); see the log\n", tld_err_str(rc));
    }
    stop(&m);
    tld_log_info(&m.log, "stopped");
    tld_ruleset_unref(m.rs);
    tld_mgr_config_fini(&m.cfg);
    tld_collect_config_fini(&m.acfg);
    tld_sb_fini(&m.reload_reply);
    tld_log_fini(&m.log);
    if (m.pid_fd >= 0)
        close(m.pid_fd);
    return rc == 0 ? 0 : 1;
}
