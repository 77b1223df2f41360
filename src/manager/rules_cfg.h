/*
 * Loading the ruleset the manager's configuration names: <decoder_dir>, <decoder>,
 * <rule_dir>, <rule>, the excludes and <list> entries, with paths relative to the installation
 * root, plus every file under etc/lists/ and ruleset/lists/ registered under Wazuh's names
 * ("etc/lists/<path>"; the user's etc/lists wins over the shipped one). Alert levels come from
 * <alerts>. Used for the running manager and for `tld-manager -t`.
 */
#ifndef TLD_MANAGER_RULES_CFG_H
#define TLD_MANAGER_RULES_CFG_H

#include "common/diag.h"
#include "engine/ruleset.h"
#include "manager/config.h"

int tld_mgr_ruleset_load(const struct tld_mgr_config *cfg, const char *root,
                         struct tld_ruleset **out, struct tld_diag *diag);

#endif
