/*
 * The agent's connection to a manager as tld-agent's main() uses it:
 *
 *  - `tld-agent enroll --manager HOST[:PORT] [--password-file F] [--name N] [-r ROOT]
 *    [--ca-file F]` enrolls once and stores the identity in ROOT/var/tls/;
 *  - tld_agent_uplink_start() starts the forwarder thread for the configured
 *    `<client><server>` addresses, with automatic enrollment taken from
 *    `<client><enrollment>` (Wazuh's elements: enabled, manager_address, port, agent_name,
 *    authorization_pass_path, server_ca_path) or, without that block, from the first server's
 *    address on port 1515 with ROOT/etc/authd.pass when that file exists.
 */
#ifndef TLD_AGENT_ENROLL_CLI_H
#define TLD_AGENT_ENROLL_CLI_H

#include "agent/config.h"
#include "agent/forwarder.h"
#include "collect/spool.h"
#include "common/log.h"

/* `tld-agent enroll ...` (argv[0] is "enroll"); returns the process exit code. */
int tld_agent_enroll_main(int argc, char **argv);

struct tld_agent_uplink;

/* Start the forwarder (and its thread). `configs` are the configuration files, read again for
 * the <client><enrollment> block, which the agent's loader accepts and skips. */
int tld_agent_uplink_start(const char *root, const char *const *configs, unsigned nconfigs,
                           const struct tld_agent_config *cfg, struct tld_spool *spool,
                           const char *spool_dir, struct tld_log *log,
                           struct tld_agent_uplink **out);
/* Stop the forwarder and wait for its thread; NULL is a no-op. */
void tld_agent_uplink_stop(struct tld_agent_uplink *u);
void tld_agent_uplink_stats(struct tld_agent_uplink *u, struct tld_forwarder_stats *st);

#endif
