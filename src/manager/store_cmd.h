/*
 * The manager's alert store as configured (<store> in manager.conf) and the two commands that
 * use it from a shell:
 *   tld-manager -r ROOT store rebuild [--since YYYY-MM-DD]
 *       re-creates the store from alerts.json and its rotated files (rotated files of days
 *       before --since are left out)
 *   tld-manager -r ROOT search QUERY [--since DURATION] [--json] [--limit N]
 *       alerts matching QUERY (docs/query.md), newest first: a table, or with --json each
 *       stored alert as its alerts.json line
 */
#ifndef TLD_MANAGER_STORE_CMD_H
#define TLD_MANAGER_STORE_CMD_H

#include <limits.h>

#include "manager/config.h"
#include "manager/store_feed.h"
#include "store/store.h"

/* Storage for the paths and URL a store configuration points at. */
struct tld_mgr_store_paths {
    char db[PATH_MAX];
    char url[2048];
    char alerts_dir[PATH_MAX];
    char ckpt[PATH_MAX];
};

/* The store and feed settings of `cfg` (after tld_mgr_config_defaults), paths under `root`. */
void tld_mgr_store_setup(const struct tld_mgr_config *cfg, const char *root,
                         struct tld_mgr_store_paths *p, struct tld_store_config *store,
                         struct tld_store_feed_opts *feed);

/* `store ...` and `search ...` (argv after the command word); the process exit status. */
int tld_mgr_cmd_store(const struct tld_mgr_config *cfg, const char *root, int argc, char **argv);
int tld_mgr_cmd_search(const struct tld_mgr_config *cfg, const char *root, int argc, char **argv);

#endif
