/*
 * tld-agent configuration, read from Wazuh-style XML: `<ossec_config>` or
 * `<threatlockdown_config>` roots (any number, in one or more files), holding the collection
 * sections (collect/collect_config.h: <localfile>, <wodle name="docker-listener">,
 * <logcollector>, <spool>) and the agent's own
 *   <client><server>  address, port, protocol (for the forwarder)
 * The agent sections may also appear at top level (a bare pasted `<localfile>` block works).
 * Sections that belong to the manager or to Wazuh modules we do not run are skipped; anything
 * else unknown is an error naming the element, with file:line. The loader collects every
 * problem before failing. The parsed configuration owns all its strings (freed by _fini).
 */
#ifndef TLD_AGENT_CONFIG_H
#define TLD_AGENT_CONFIG_H

#include <stddef.h>

#include "collect/collect_config.h"
#include "common/diag.h"

#define TLD_CONFIG_MAX_SERVERS 8

struct tld_server_config {
    char *address;
    unsigned port;  /* default 1514 */
    char *protocol; /* "tcp" */
};

struct tld_agent_config {
    struct tld_collect_config collect;
    struct tld_server_config servers[TLD_CONFIG_MAX_SERVERS];
    unsigned nservers;
    /* <client><failback_interval>: while on another server than the first, how often the first
     * is tried again (seconds; 0: the forwarder's default) */
    int64_t failback_s;
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

#endif
