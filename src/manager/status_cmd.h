/*
 * `tld-manager status` and `tld-manager init`: the two commands an installation (packages,
 * service scripts, monitoring) runs beside the daemon.
 *
 * status reads the pid file, var/run/tld-manager.stats.json and the intake journal's files and
 * says whether the manager runs, how many agents are connected, the analysis lag, the journal's
 * size and the last event received. Its exit code is enum tld_status_code's (0 running and
 * fine, 1 degraded, 3 not running, 4 unknown).
 *
 * init creates the installation root's layout and the CA without starting anything, so a
 * package can prepare the root as the manager's own user at install time.
 */
#ifndef TLD_MANAGER_STATUS_CMD_H
#define TLD_MANAGER_STATUS_CMD_H

#include <stdio.h>

int tld_mgr_cmd_status(const char *root, FILE *out);

/* Exit code: 0 or 1 (said on stderr). */
int tld_mgr_cmd_init(const char *root);

#endif
