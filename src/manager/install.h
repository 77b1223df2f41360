/*
 * The manager's installation root (default /var/threatlockdown; `make run` uses ./run/):
 *
 *   etc/manager.conf                 configuration (ossec.conf elements), created if missing
 *   etc/decoders/local_decoder.xml   the user's decoders (created empty)
 *   etc/rules/local_rules.xml        the user's rules (created empty)
 *   etc/lists/                       the user's CDB lists
 *   etc/authd.pass                   enrollment password, when <use_password> is on
 *   ruleset/                         shipped decoders, rules and lists (copied at first start)
 *   logs/alerts/alerts.json          alerts; rotated into logs/alerts/YYYY/Mon/
 *   logs/archives/archives.json      every event, with <logall_json>
 *   logs/manager.log                 the manager's own log
 *   queue/intake/                    the intake journal and the outputs' checkpoint
 *   queue/local/                     local collection (spool, positions, Docker cursor)
 *   var/ca/                          CA and manager certificate (keys 0600)
 *   var/agents                       agent registry; var/agents-status.json its status
 *   var/run/                         pid file, stats file
 *
 * Creating the layout never overwrites a file that exists.
 */
#ifndef TLD_MANAGER_INSTALL_H
#define TLD_MANAGER_INSTALL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/log.h"

/* Create what is missing. `ruleset_src` (may be NULL) is copied into ruleset/ when ruleset/ has
 * no rules yet. *created_config says whether etc/manager.conf was written now. */
int tld_install_layout(const char *root, const char *ruleset_src, bool *created_config,
                       struct tld_log *log);

/* The project's ruleset/ to copy from: $TLD_RULESET_SRC, else next to the binary (a build
 * tree, or PREFIX/share/threatlockdown/ruleset of an installed one), else
 * /usr/share/threatlockdown/ruleset; NULL if none exists. */
const char *tld_install_ruleset_src(char *buf, size_t n);

/* Copy a directory tree (regular files and directories; existing files are kept). */
int tld_install_copy_tree(const char *from, const char *to);

#endif
