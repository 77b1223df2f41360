/*
 * tld-manager configuration, read from the familiar ossec.conf XML: any number of
 * `<ossec_config>` or `<threatlockdown_config>` roots in one file, holding
 *   <global>   logall_json, agents_disconnection_time (+ Wazuh options accepted and ignored)
 *   <alerts>   log_alert_level, email_alert_level
 *   <ruleset>  decoder_dir, rule_dir, decoder, rule, list, decoder_exclude, rule_exclude
 *   <remote>   port, local_ip, connection (secure), protocol (tcp), queue_size, ours:
 *              keepalive, max_connections
 *   <auth>     disabled, port, use_password, force/enabled, ours: local_ip, password_file,
 *              rate_limit_requests, rate_limit_period, cert_days, max_agents, global_rate_limit,
 *              lockout_failures, lockout_global_failures, lockout_time, max_pending_agents,
 *              pending_agent_expiry
 *   <manager>  ours: workers, intake_max_size, worker_queue, local_collection, registry_dir
 *   <store>    ours: enabled, backend (sqlite|clickhouse), path, url (repeated for a cluster),
 *              cluster, database, table, max_age,
 *              max_size (docs/store.md)
 * `<localfile>`, `<wodle name="docker-listener">`, `<logcollector>` and `<spool>` configure the
 * manager's local collector and are parsed by collect/collect_config.h, which skips
 * the manager's sections just as this loader skips the agent's.
 *
 * Each element is a row of a section table (common/conftab.h: name, kind, place, bounds), so
 * durations and sizes are spelled as in every configuration file; an element no row
 * names is an error with file:line; Wazuh options that have no meaning here are listed as
 * "ignored" rows and produce a warning, so a pasted ossec.conf loads. Relative paths are
 * relative to the installation root, as in Wazuh (`ruleset/decoders`, `etc/rules`).
 */
#ifndef TLD_MANAGER_CONFIG_H
#define TLD_MANAGER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/diag.h"

#define TLD_MGR_MAX_PATHS 256 /* entries per ruleset list */

struct tld_mgr_paths {
    char *v[TLD_MGR_MAX_PATHS];
    unsigned n;
};

struct tld_mgr_config {
    /* <global> */
    bool logall_json;
    int64_t disconnection_s; /* agents_disconnection_time: silence before "disconnected" */
    /* <alerts> */
    unsigned log_alert_level;
    unsigned email_alert_level;
    /* <ruleset>: as written (relative to the root unless absolute) */
    struct tld_mgr_paths decoder_dirs, rule_dirs, decoder_files, rule_files, lists;
    struct tld_mgr_paths decoder_excludes, rule_excludes;
    /* <remote> */
    char *remote_ip; /* NULL: all addresses */
    unsigned remote_port;
    int64_t keepalive_s;
    unsigned max_connections;
    int64_t handshake_s;          /* TLS handshake and HELLO */
    unsigned per_address;         /* connections from one address; 0: no limit */
    unsigned pending_per_address; /* not yet authenticated, from one address */
    uint64_t frame_memory;        /* shared bound on frames over 64 KiB */
    /* <auth> */
    bool auth_enabled;
    char *auth_ip;
    unsigned auth_port;
    bool use_password;
    char *password_file; /* default etc/authd.pass */
    bool force;          /* re-enrollment of an existing name replaces the old agent */
    unsigned rate_requests;
    int64_t rate_period_s;
    unsigned cert_days;
    unsigned max_agents;
    unsigned global_rate;             /* enrollment requests per second, all addresses together */
    unsigned lockout_failures;        /* failed passwords per address before a lockout; 0: none */
    unsigned lockout_global_failures; /* failed passwords in all before a global lockout; 0: none */
    int64_t lockout_s;                /* lockout duration, also the window failures count in */
    unsigned max_pending;             /* agents enrolled that never connected */
    int64_t pending_expiry_s;         /* never-connected agents removed after this; 0: never */
    int64_t auth_timeout_s;           /* handshake and request */
    unsigned auth_per_address;        /* enrollment connections from one address */
    /* <manager> */
    unsigned workers;          /* 0: one per CPU (at most 16) */
    uint64_t intake_max_bytes; /* on-disk intake journal bound */
    unsigned worker_queue;     /* events queued in memory per worker */
    int local_collection;      /* -1 auto (when <localfile>/docker listener present), 0, 1 */
    char *registry_dir;        /* the agent registry's directory, shared by the managers of a
                                  fleet (docs/scaling.md); NULL: var */
    /* <store> */
    bool store_enabled;
    char *store_backend;      /* "sqlite" (default) or "clickhouse" */
    char *store_path;         /* SQLite database; default var/db/alerts.db */
    char *store_url;          /* ClickHouse HTTP interface(s), space-separated; default
                               * http://127.0.0.1:8123/ */
    char *store_cluster;      /* ClickHouse cluster; NULL: one server */
    char *store_database;     /* ClickHouse database; NULL: the server's default */
    char *store_table;        /* ClickHouse table; default tld_alerts */
    char *store_writer;       /* ClickHouse: this manager's name among the store's writers;
                               * NULL: the only writer */
    int64_t store_max_age_s;  /* retention by age; 0: none */
    uint64_t store_max_bytes; /* retention by disk size; 0: none */
    /* The local collector's sections (read by collect_config.h), digested as written. */
    uint64_t collect_digest;
};

void tld_mgr_config_init(struct tld_mgr_config *cfg);
void tld_mgr_config_fini(struct tld_mgr_config *cfg);
/* Parse a file (adds to cfg). Every problem goes to diag; TLD_EPARSE when there was an error. */
int tld_mgr_config_load(struct tld_mgr_config *cfg, const char *path, struct tld_diag *diag);
int tld_mgr_config_parse(struct tld_mgr_config *cfg, const char *buf, size_t n, const char *name,
                         struct tld_diag *diag);
/* Fill the ruleset defaults when <ruleset> named nothing. */
void tld_mgr_config_defaults(struct tld_mgr_config *cfg);

/*
 * What a hot reload may not take over: the first setting that differs between the running
 * configuration `a` and the new one `b` and needs a restart, as "<remote><port>" in name (true);
 * false when only settings a running manager takes over differ (<ruleset>, <alerts>,
 * <global><agents_disconnection_time>, and in <auth> pending_agent_expiry, max_pending_agents
 * and the enrollment rate limits and lockouts). Both must have had tld_mgr_config_defaults().
 */
bool tld_mgr_config_fixed_change(const struct tld_mgr_config *a, const struct tld_mgr_config *b,
                                 char *name, size_t size);

/* The default configuration written at first start (NUL-terminated, static). */
const char *tld_mgr_config_default_text(void);

#endif
