/*
 * tld-agent configuration, read from Wazuh-style XML: `<ossec_config>` or
 * `<threatlockdown_config>` roots (any number, in one or more files), holding
 *   <localfile>   log_format, location (wildcards), only-future-events, age, exclude, label
 *   <wodle name="docker-listener">  disabled, interval, attempts, run_on_start, and ours:
 *                 socket, api_version, location, queue_size, inspect
 *   <client><server>  address, port, protocol (for the forwarder)
 *   <logcollector>    ours: max_line_length, max_message_length, scan_frequency, max_files
 *   <spool>           ours: max_size
 * The agent sections may also appear at top level (a bare pasted `<localfile>` block works).
 * Sections that belong to the manager or to Wazuh modules we do not run are skipped; anything
 * else unknown is an error naming the element, with file:line. The loader collects every
 * problem before failing. The parsed configuration owns all its strings (freed by _fini).
 */
#ifndef TLD_AGENT_CONFIG_H
#define TLD_AGENT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"

#define TLD_CONFIG_MAX_LOCALFILES 1024
#define TLD_CONFIG_MAX_EXCLUDES   32
#define TLD_CONFIG_MAX_LABELS     32
#define TLD_CONFIG_MAX_SERVERS    8
#define TLD_CONFIG_MAX_TEXT       (3u << 20) /* bound on max_line/max_message_length */

enum tld_logfmt {
    TLD_LOGFMT_LINE,   /* syslog and the other plain line formats: text unchanged */
    TLD_LOGFMT_JSON,   /* each line a JSON object, labels added, re-serialised compactly */
    TLD_LOGFMT_DOCKER, /* Docker json-file lines unwrapped, partial lines reassembled */
};

struct tld_cfg_label {
    char *key;
    char *value;
};

struct tld_localfile {
    char *location;
    enum tld_logfmt format;
    char format_name[24];     /* as configured, lower case */
    bool only_future;         /* only-future-events (default yes) */
    uint64_t future_max_size; /* its max-size attribute (default 10 MiB) */
    int64_t age_s;            /* 0: no age limit */
    char *exclude[TLD_CONFIG_MAX_EXCLUDES];
    unsigned nexclude;
    struct tld_cfg_label labels[TLD_CONFIG_MAX_LABELS];
    unsigned nlabels;
    char *file; /* where it was defined */
    unsigned line;
};

struct tld_docker_config {
    bool enabled;        /* a docker-listener wodle is present and not disabled */
    char *socket;        /* default /var/run/docker.sock */
    char *api_version;   /* NULL: negotiate with the engine */
    char *location;      /* default "Wazuh-Docker" */
    unsigned attempts;   /* failed connections in a row before "gave_up"; 0 = never */
    int64_t interval_s;  /* pause after giving up, then try again (default 600) */
    bool run_on_start;   /* default yes */
    unsigned queue_size; /* in-memory event queue (default 4096 events) */
    bool inspect;        /* add `inspect` to container create/start (default yes) */
};

struct tld_server_config {
    char *address;
    unsigned port;  /* default 1514 */
    char *protocol; /* "tcp" */
};

struct tld_agent_config {
    struct tld_localfile *files;
    unsigned nfiles;
    struct tld_docker_config docker;
    struct tld_server_config servers[TLD_CONFIG_MAX_SERVERS];
    unsigned nservers;
    uint64_t spool_max_bytes;  /* default 256 MiB */
    size_t max_line;           /* physical line bound (default 64 KiB) */
    size_t max_message;        /* reassembled docker message bound (default 256 KiB) */
    unsigned scan_frequency_s; /* wildcard rescan fallback (default 10 s) */
    unsigned max_files;        /* files followed at once (default 1000) */
};

/* Defaults, no sources. */
void tld_agent_config_init(struct tld_agent_config *cfg);
void tld_agent_config_fini(struct tld_agent_config *cfg);

/* Parse one file into cfg (sections add up over several calls). On error every problem is in
 * diag as "file:line: error: ..." and TLD_EPARSE is returned. */
int tld_agent_config_load(struct tld_agent_config *cfg, const char *path, struct tld_diag *diag);
/* The same from a buffer; `name` is the file name used in diagnostics. */
int tld_agent_config_parse(struct tld_agent_config *cfg, const char *buf, size_t n,
                           const char *name, struct tld_diag *diag);

/* "10MB" style sizes (B, KB, MB, GB; case-insensitive); false on anything else. */
bool tld_agent_config_size(const char *s, uint64_t *out);
/* "90", "10s", "5m", "2h", "1d", "1w" -> seconds (> 0); false on anything else. */
bool tld_agent_config_time(const char *s, int64_t *out);

#endif
