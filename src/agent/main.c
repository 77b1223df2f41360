/*
 * tld-agent: collects container logs and Docker Engine events into the spool, and (until the
 * forwarder exists) writes them out with --output.
 *
 *   tld-agent [-c CONFIG]... [-r ROOT] [--output FILE|-] [--log FILE|-] [--debug] [-t]
 *
 * Layout under ROOT (default /var/threatlockdown): etc/agent.conf (default config),
 * queue/spool/ (the spool), queue/state/ (collector positions, Docker cursor), var/run/
 * (pid file with a lock, and tld-agent.stats.json, rewritten every second), logs/agent.log.
 *
 * Threads: the collector, the Docker listener (reader and writer), the output consumer, and
 * this one, which waits for SIGTERM/SIGINT and writes the stats file. Shutdown stops the
 * sources first (each commits and checkpoints), then lets the consumer drain, then closes the
 * spool.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/config.h"
#include "agent/enroll_cli.h"
#include "agent/output.h"
#include "agent/status_cmd.h"
#include "collect/sources.h"
#include "collect/spool.h"
#include "common/clock.h"
#include "common/daemon.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/log.h"
#include "common/version.h"

struct agent {
    struct tld_daemon_args args;
    char spool_dir[4096], state_dir[4096], run_dir[4096], logs_dir[4096];

    struct tld_log log;
    struct tld_agent_config cfg;
    struct tld_spool *spool;
    struct tld_sources *sources; /* collector and Docker listener */
    struct tld_output *out;
    struct tld_agent_uplink *uplink; /* forwarder to the manager (<client><server>) */
    pthread_t t_output;
    bool have_output;
    int pid_fd;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tld-agent [-c CONFIG]... [-r ROOT] [--output FILE|-] [--log FILE|-] "
               "[--debug] [-t]\n"
               "       tld-agent enroll --manager HOST[:PORT] [--password-file F] [--name N] "
               "[-r ROOT]\n"
               "       tld-agent status [-r ROOT]   (exit 0 running, 1 degraded, 3 stopped)\n"
               "  -c, --config FILE  configuration (repeatable; default ROOT/etc/agent.conf)\n"
               "  -r, --root DIR     installation root (default /var/threatlockdown)\n"
               "  -o, --output DEST  write spooled events as JSON lines to DEST (- = stdout)\n"
               "  -l, --log DEST     own log (default ROOT/logs/agent.log; - = stderr)\n"
               "  -d, --debug        debug logging\n"
               "  -t, --test         check the configuration and exit\n");
}

static int load_config(struct agent *a)
{
    static char def[4200];
    if (!a->args.nconfigs) {
        snprintf(def, sizeof def, "%s/etc/agent.conf", a->args.root);
        a->args.configs[a->args.nconfigs++] = def;
    }
    struct tld_diag d;
    tld_diag_init(&d);
    tld_agent_config_init(&a->cfg);
    int rc = 0;
    for (unsigned i = 0; i < a->args.nconfigs; i++)
        if (tld_agent_config_load(&a->cfg, a->args.configs[i], &d) != 0)
            rc = 1;
    tld_diag_print(&d, stderr);
    tld_diag_fini(&d);
    return rc;
}

static void write_stats(struct agent *a)
{
    struct tld_spool_stats ss;
    tld_spool_stats(a->spool, &ss);
    char path[4200];
    snprintf(path, sizeof path, "%s/tld-agent.stats.json", a->run_dir);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return;
    fprintf(f,
            "{\"pid\":%d,\"spool\":{\"first_seq\":%" PRIu64 ",\"next_seq\":%" PRIu64
            ",\"committed_seq\":%" PRIu64 ",\"acked_seq\":%" PRIu64 ",\"bytes\":%" PRIu64
            ",\"max_bytes\":%" PRIu64 ",\"segments\":%u,\"full\":%s,\"full_count\":%" PRIu64
            ",\"refused_pushes\":%" PRIu64 ",\"torn_records\":%" PRIu64 ",\"torn_bytes\":%" PRIu64
            ",\"corrupt_skips\":%" PRIu64 ",\"pushed\":%" PRIu64 "}",
            (int)getpid(), ss.first_seq, ss.next_seq, ss.committed_seq, ss.acked_seq, ss.bytes,
            ss.max_bytes, ss.segments, ss.full ? "true" : "false", ss.full_count, ss.refused_pushes,
            ss.torn_records, ss.torn_bytes, ss.corrupt_skips, ss.pushed);
    struct tld_collector *collector = tld_sources_collector(a->sources);
    struct tld_listener *listener = tld_sources_listener(a->sources);
    if (collector) {
        struct tld_collector_stats c;
        tld_collector_stats(collector, &c);
        fprintf(f,
                ",\"collector\":{\"lines\":%" PRIu64 ",\"events\":%" PRIu64 ",\"bytes\":%" PRIu64
                ",\"truncated\":%" PRIu64 ",\"joined\":%" PRIu64 ",\"malformed\":%" PRIu64
                ",\"json_dropped\":%" PRIu64 ",\"rotations\":%" PRIu64 ",\"truncations\":%" PRIu64
                ",\"copies_found\":%" PRIu64 ",\"files_opened\":%" PRIu64
                ",\"files_missed\":%" PRIu64 ",\"stalls\":%" PRIu64 ",\"streams\":%" PRIu64
                ",\"refused_files\":%" PRIu64 ",\"checkpoints\":%" PRIu64 "}",
                c.lines, c.events, c.bytes, c.truncated, c.joined, c.malformed, c.json_dropped,
                c.rotations, c.truncations, c.copies_found, c.files_opened, c.files_missed,
                c.stalls, c.streams, c.refused_files, c.checkpoints);
    }
    if (listener) {
        struct tld_listener_stats l;
        tld_listener_stats(listener, &l);
        fprintf(f,
                ",\"docker\":{\"connected\":%s,\"api_version\":\"%s\",\"events\":%" PRIu64
                ",\"duplicates\":%" PRIu64 ",\"connects\":%" PRIu64 ",\"failures\":%" PRIu64
                ",\"garbage\":%" PRIu64 ",\"overflows\":%" PRIu64 ",\"queue_max\":%" PRIu64
                ",\"inspects\":%" PRIu64 ",\"inspect_failures\":%" PRIu64
                ",\"posture_events\":%" PRIu64 ",\"trimmed\":%" PRIu64 ",\"reconciles\":%" PRIu64
                ",\"gaps\":%" PRIu64 ",\"cursor_ns\":%" PRId64 "}",
                l.connected ? "true" : "false", l.api_version, l.events, l.duplicates, l.connects,
                l.failures, l.garbage, l.overflows, l.queue_max, l.inspects, l.inspect_failures,
                l.posture_events, l.trimmed, l.reconciles, l.gaps, l.cursor_ns);
    }
    if (a->out) {
        struct tld_output_stats o;
        tld_output_stats(a->out, &o);
        fprintf(f,
                ",\"output\":{\"written\":%" PRIu64 ",\"last_seq\":%" PRIu64
                ",\"undecodable\":%" PRIu64 "}",
                o.written, o.last_seq, o.undecodable);
    }
    if (a->uplink) {
        struct tld_forwarder_stats w;
        tld_agent_uplink_stats(a->uplink, &w);
        fprintf(f,
                ",\"forwarder\":{\"connected\":%s,\"agent_id\":\"%s\",\"acked_seq\":%" PRIu64
                ",\"events\":%" PRIu64 ",\"batches\":%" PRIu64 ",\"resent\":%" PRIu64
                ",\"connects\":%" PRIu64 ",\"failures\":%" PRIu64 ",\"refusals\":%" PRIu64 "}",
                w.connected ? "true" : "false", w.agent_id, w.acked_seq, w.events, w.batches,
                w.resent, w.connects, w.failures, w.refusals);
    }
    fprintf(f, "}\n");
    if (fclose(f) == 0)
        tld_file_replace(path, text, len, 0666);
    free(text);
}

static void *output_main(void *arg)
{
    struct agent *a = arg;
    int rc = tld_output_run(a->out);
    if (rc != 0 && rc != TLD_ECLOSED) {
        tld_log_error(&a->log, "output stopped: %s", tld_err_str(rc));
        kill(getpid(), SIGTERM);
    }
    return NULL;
}

/*
 * The agent's own lifecycle events, in the own-event form of docs/events.md, written to the spool
 * like any event (they use the spool's reserve, so a full spool never refuses them). `detail` is
 * a JSON fragment of further members, or "".
 */
static void lifecycle_event(struct agent *a, const char *event, const char *detail)
{
    char text[1024];
    int n = snprintf(text, sizeof text,
                     "{\"integration\":\"threatlockdown\",\"threatlockdown\":{\"event\":\"%s\","
                     "\"version\":\"" TLD_VERSION "\",\"pid\":%d%s}}",
                     event, (int)getpid(), detail);
    if (n < 0 || (size_t)n >= sizeof text)
        return;
    struct tld_evrec r = {.queue = '1',
                          .source = TLD_SOURCE_AGENT,
                          .location = TLD_SV_LIT(TLD_SPOOL_LOCATION),
                          .text = tld_sv_make(text, (size_t)n),
                          .read_time_ns = tld_wall_ns()};
    int rc = tld_spool_push(a->spool, &r, TLD_SPOOL_RESERVE, NULL);
    if (rc == 0)
        rc = tld_spool_commit(a->spool);
    if (rc != 0)
        tld_log_warn(&a->log, "cannot record %s: %s", event, tld_err_str(rc));
}

static int start(struct agent *a)
{
    struct tld_spool_opts so = {.dir = a->spool_dir, .max_bytes = a->cfg.collect.spool_max_bytes};
    int rc = tld_spool_open(&so, &a->spool);
    if (rc != 0) {
        tld_log_error(&a->log, "cannot open the spool in %s: %s", a->spool_dir, tld_err_str(rc));
        return rc;
    }
    struct tld_spool_stats ss;
    tld_spool_stats(a->spool, &ss);
    if (ss.torn_records)
        tld_log_warn(&a->log, "spool: cut off a torn record at its end (%" PRIu64 " bytes)",
                     ss.torn_bytes);
    tld_log_info(&a->log, "spool: %s, records %" PRIu64 "..%" PRIu64 ", acknowledged %" PRIu64,
                 a->spool_dir, ss.first_seq, ss.committed_seq, ss.acked_seq);
    char detail[128];
    snprintf(detail, sizeof detail, ",\"torn_records\":%" PRIu64 ",\"torn_bytes\":%" PRIu64,
             ss.torn_records, ss.torn_bytes);
    lifecycle_event(a, "agent_started", detail);

    struct tld_sources_opts src = {&a->cfg.collect, a->spool, a->state_dir, &a->log};
    if ((rc = tld_sources_new(&src, &a->sources)) != 0)
        return rc;
    if (a->args.output) {
        if ((rc = tld_output_new(a->spool, a->args.output, &a->log, &a->out)) != 0)
            return rc;
    } else if (a->cfg.nservers) {
        if ((rc = tld_agent_uplink_start(a->args.root, a->args.configs, a->args.nconfigs, &a->cfg,
                                         a->spool, a->spool_dir, &a->log, &a->uplink)) != 0)
            return rc;
    } else {
        tld_log_warn(&a->log, "no --output: events stay in the spool (bounded by <spool>"
                              "<max_size>) until a consumer takes them");
    }
    if ((rc = tld_sources_start(a->sources)) != 0)
        return rc;
    if (a->out) {
        if (pthread_create(&a->t_output, NULL, output_main, a) != 0)
            return TLD_ENOMEM;
        a->have_output = true;
    }
    return 0;
}

static void stop(struct agent *a)
{
    tld_sources_stop(a->sources);
    /* Sent with the next start's first batch if the uplink cannot take it now. */
    if (a->spool)
        lifecycle_event(a, "agent_stopped", "");
    if (a->spool)
        tld_spool_shutdown(a->spool);
    if (a->have_output)
        pthread_join(a->t_output, NULL);
    tld_agent_uplink_stop(a->uplink);
    a->uplink = NULL;
    if (a->spool)
        write_stats(a);
    tld_sources_free(a->sources);
    tld_output_free(a->out);
    a->sources = NULL;
    a->out = NULL;
    tld_spool_close(a->spool);
}

int main(int argc, char **argv)
{
    /* State, spool and keys are never for everyone, whatever umask the caller had. */
    umask(027);
    struct agent a = {.pid_fd = -1};
    if (argc > 1 && strcmp(argv[1], "enroll") == 0)
        return tld_agent_enroll_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "status") == 0)
        return tld_agent_status_main(argc - 1, argv + 1);
    static const struct tld_daemon_argspec spec = {"tld-agent", true, true, false, usage};
    int next;
    if (tld_daemon_args_parse(&spec, argc, argv, &a.args, &next) != 0)
        return 2;
    int rc;
    if (load_config(&a) != 0) {
        fprintf(stderr, "tld-agent: configuration has errors\n");
        tld_agent_config_fini(&a.cfg);
        return 1;
    }
    if (a.args.test_only) {
        printf("tld-agent: configuration OK (%u localfile, docker listener %s)\n",
               a.cfg.collect.nfiles, a.cfg.collect.docker.enabled ? "on" : "off");
        tld_agent_config_fini(&a.cfg);
        return 0;
    }
    snprintf(a.spool_dir, sizeof a.spool_dir, "%s/queue/spool", a.args.root);
    snprintf(a.state_dir, sizeof a.state_dir, "%s/queue/state", a.args.root);
    snprintf(a.run_dir, sizeof a.run_dir, "%s/var/run", a.args.root);
    snprintf(a.logs_dir, sizeof a.logs_dir, "%s/logs", a.args.root);
    if (tld_mkdir_p(a.spool_dir, 0750) || tld_mkdir_p(a.state_dir, 0750) ||
        tld_mkdir_p(a.run_dir, 0750) || tld_mkdir_p(a.logs_dir, 0750)) {
        fprintf(stderr, "tld-agent: cannot create the directories under %s: %s\n", a.args.root,
                strerror(errno));
        return 1;
    }
    char lp[4200], pid_path[4200];
    snprintf(lp, sizeof lp, "%s/agent.log", a.logs_dir);
    if (tld_daemon_open_log(&a.log, "tld-agent", a.args.log_path, lp, a.args.debug) != 0)
        return 1;
    tld_daemon_raise_nofile(&a.log);
    /* One agent per root. */
    snprintf(pid_path, sizeof pid_path, "%s/tld-agent.pid", a.run_dir);
    if (tld_daemon_lock_pid(pid_path, "tld-agent", &a.pid_fd) != 0)
        return 1;

    sigset_t set;
    tld_daemon_signals(&set);

    tld_log_info(&a.log, "starting (root %s, %u localfile, docker listener %s)", a.args.root,
                 a.cfg.collect.nfiles, a.cfg.collect.docker.enabled ? "on" : "off");
    rc = start(&a);
    if (rc == 0) {
        for (bool done = false; !done;) {
            write_stats(&a);
            tld_daemon_wait(&set, &a.log, &done);
        }
    }
    stop(&a);
    tld_log_info(&a.log, "stopped");
    tld_agent_config_fini(&a.cfg);
    tld_log_fini(&a.log);
    if (a.pid_fd >= 0)
        close(a.pid_fd);
    return rc == 0 ? 0 : 1;
}
