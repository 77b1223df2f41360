/*
 * `tld-agent status [-r ROOT]`: whether the agent runs, whether it is connected to its manager
 * and to the Docker engine, what its spool holds that the manager has not acknowledged, and the
 * last event spooled. Read from the pid file, var/run/tld-agent.stats.json and the spool's
 * files; exit code as enum tld_status_code (0 running and fine, 1 degraded, 3 not running,
 * 4 unknown).
 */
#ifndef TLD_AGENT_STATUS_CMD_H
#define TLD_AGENT_STATUS_CMD_H

/* argv[0] is "status". */
int tld_agent_status_main(int argc, char **argv);

#endif
