/*
 * The collection part of the configuration, shared by tld-agent and the manager's local agent
 * 000 (both read it from their own configuration file, with the same meaning):
 *   <localfile>   log_format, location (wildcards), only-future-events, age, exclude, label
 *   <wodle name="docker-listener">  disabled, interval, attempts, run_on_start, and ours:
 *                 socket, api_version, location, queue_size, inspect
 *   <logcollector>    ours: max_line_length, max_message_length, scan_frequency, max_files
 *   <spool>           ours: max_size
 * Elements are rows of tables (common/conftab.h), so durations and sizes are spelled as in
 * every other configuration file. A problem is an error naming the element, with file:line.
 * Other sections are the daemon's own loader's business. The parsed configuration owns all its
 * strings (freed by _fini).
 */
#ifndef TLD_COLLECT_CONFIG_H
#define TLD_COLLECT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/conftab.h"
#include "common/diag.h"
#include "common/xml.h"

#define TLD_CONFIG_MAX_LOCALFILES 1024
#define TLD_CONFIG_MAX_EXCLUDES   32
#define TLD_CONFIG_MAX_LABELS     32
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

struct tld_collect_config {
    struct tld_localfile *files;
    unsigned nfiles;
    struct tld_docker_config docker;
    uint64_t spool_max_bytes;  /* default 256 MiB */
    size_t max_line;           /* physical line bound (default 64 KiB) */
    size_t max_message;        /* reassembled docker message bound (default 256 KiB) */
    unsigned scan_frequency_s; /* wildcard rescan fallback (default 10 s) */
    unsigned max_files;        /* files followed at once (default 1000) */
};

/* Defaults, no sources. */
void tld_collect_config_init(struct tld_collect_config *cfg);
void tld_collect_config_fini(struct tld_collect_config *cfg);

/* Whether a top-level element named `name` is a collection section. */
bool tld_collect_config_owns(const char *name);
/* Read collection section s (tld_collect_config_owns(s->name)) into cfg. */
void tld_collect_config_section(struct tld_collect_config *cfg, struct tld_conf_ctx *c,
                                const struct tld_xml_node *s);
/* Defaults that depend on what was read; after the last section. */
void tld_collect_config_finish(struct tld_collect_config *cfg);

/* Only the collection sections of a file (sections add up over several calls); every other
 * section is left to the daemon's own loader. On error every problem is in diag as
 * "file:line: error: ..." and TLD_EPARSE is returned. `daemon` names the reader in messages. */
int tld_collect_config_load(struct tld_collect_config *cfg, const char *path, const char *daemon,
                            struct tld_diag *diag);

#endif
