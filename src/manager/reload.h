/*
 * Hot reload of tld-manager (docs/manager.md, "Hot reload"): the checking half. manager.conf
 * and the whole ruleset it names are read again and validated before anything changes; a
 * changed setting that a running manager cannot take over makes the reload fail, naming it.
 * The caller (the manager's main) then applies what passed: the ruleset through
 * tld_pipeline_set_ruleset(), the live settings into its own configuration.
 *
 * The configuration is read here the way the manager reads it at start (defaults and derived
 * values included), so the running and the new configuration compare like for like.
 */
#ifndef TLD_MANAGER_RELOAD_H
#define TLD_MANAGER_RELOAD_H

#include <stdbool.h>

#include "collect/collect_config.h"
#include "common/diag.h"
#include "common/str.h"
#include "engine/ruleset.h"
#include "manager/config.h"

/* Outcome numbers of the control protocol's reload. */
#define TLD_RELOAD_OK      0
#define TLD_RELOAD_INVALID 1 /* the configuration or the ruleset has errors */
#define TLD_RELOAD_RESTART 2 /* a setting changed that needs a restart */

struct tld_reload_result {
    int outcome;          /* TLD_RELOAD_* */
    char message[512];    /* the first error, or "reloaded" */
    struct tld_diag diag; /* every problem of the new files (owned) */
    unsigned rules, decoders, lists;
};

void tld_reload_result_init(struct tld_reload_result *r);
void tld_reload_result_fini(struct tld_reload_result *r);

/*
 * Read the manager's configuration file into cfg and acfg (both initialised here; the caller
 * finis them, also on error): defaults filled, <manager><workers> 0 turned into the CPU count,
 * *local_enabled decided. Problems go to diag; TLD_EPARSE (or TLD_EIO) when there was an error.
 */
int tld_mgr_config_read(const char *path, struct tld_mgr_config *cfg,
                        struct tld_collect_config *acfg, bool *local_enabled,
                        struct tld_diag *diag);

/*
 * Check a reload against the running configuration: read config_path and the ruleset it names
 * (paths relative to root). When everything is valid and only live settings changed, 0 with
 * res->outcome TLD_RELOAD_OK, *cfg_out the new configuration (the caller finis it) and *rs_out
 * the new ruleset (a reference for the caller). Otherwise 0 with the outcome and message in res
 * and nothing handed out. TLD_ENOMEM only for an allocation failure.
 */
int tld_mgr_reload_check(const struct tld_mgr_config *running, const char *config_path,
                         const char *root, struct tld_mgr_config *cfg_out,
                         struct tld_ruleset **rs_out, struct tld_reload_result *res);

/*
 * The control reply for res: {"error":0,"message":"reloaded","rules":..,"decoders":..,"lists":..}
 * or {"error":<outcome>,"message":..,"errors":[{"file","line","element","message"}...]} with
 * file names made relative to root where they are under it.
 */
void tld_reload_result_json(const struct tld_reload_result *res, const char *root,
                            struct tld_sb *out);

#endif
