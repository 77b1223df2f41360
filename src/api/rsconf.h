/*
 * The ruleset as the manager's configuration names it, read by tld-api on its own (the API may
 * not link the manager): the `<ruleset>` and `<alerts>` blocks of manager.conf with the
 * manager's defaults, the files each kind is made of (enabled, or disabled by an exclude), and
 * loading the whole ruleset through the engine, optionally with one file swapped for another so
 * a change can be validated before it touches the real file.
 *
 * A file is always named by its base name within the listing (`local_rules.xml`), never by a
 * path from a request: a name with a '/' or a file whose real path leaves its directory (a
 * symbolic link out of it) is not a ruleset file.
 */
#ifndef TLD_API_RSCONF_H
#define TLD_API_RSCONF_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/diag.h"
#include "engine/ruleset.h"

#define TLD_API_RS_MAX_PATHS 256

struct tld_api_paths {
    char *v[TLD_API_RS_MAX_PATHS]; /* owned; as written (relative to the root unless absolute) */
    unsigned n;
};

struct tld_api_rsconf {
    struct tld_api_paths decoder_dirs, rule_dirs, decoder_files, rule_files, lists;
    struct tld_api_paths decoder_excludes, rule_excludes;
    unsigned log_alert_level, email_alert_level;
};

enum tld_api_rs_kind { TLD_API_RS_RULES, TLD_API_RS_DECODERS };

/* The user's own directory of each kind: the only place PUT writes to. */
#define TLD_API_RS_USER_RULES    "etc/rules"
#define TLD_API_RS_USER_DECODERS "etc/decoders"

struct tld_api_rs_file {
    char path[PATH_MAX];   /* as the engine opens it */
    char name[256];        /* base name */
    char reldir[PATH_MAX]; /* its directory relative to the root (as configured) */
    bool enabled;          /* false: excluded by <rule_exclude>/<decoder_exclude> */
};

/* Read manager.conf at conf_path (missing blocks: the manager's defaults). TLD_EPARSE/EIO. */
int tld_api_rsconf_load(const char *conf_path, struct tld_api_rsconf *out, struct tld_diag *diag);
int tld_api_rsconf_parse(const char *buf, size_t n, const char *name, struct tld_api_rsconf *out,
                         struct tld_diag *diag);
void tld_api_rsconf_fini(struct tld_api_rsconf *c);

/* Every file of a kind in load order (*out owned, free()). */
int tld_api_rs_files(const struct tld_api_rsconf *c, const char *root, enum tld_api_rs_kind kind,
                     struct tld_api_rs_file **out, size_t *n);
/* The file of that base name in files[0..n), or NULL (also for any name with a '/'). */
const struct tld_api_rs_file *tld_api_rs_find(const struct tld_api_rs_file *files, size_t n,
                                              const char *name);

/* Stand `repl` in for `orig` (an absolute path, existing or not) of `kind` while loading. */
struct tld_api_rs_swap {
    enum tld_api_rs_kind kind;
    const char *orig, *repl;
};

/* Load everything (swap NULL: as on disk). Errors go to diag; TLD_EPARSE when there were some. */
int tld_api_rs_load(const struct tld_api_rsconf *c, const char *root,
                    const struct tld_api_rs_swap *swap, struct tld_ruleset **out,
                    struct tld_diag *diag);

/* The CDB lists the ruleset knows (names "etc/lists/<path>"), the user's etc/lists first. */
int tld_api_rs_lists(const struct tld_api_rsconf *c, const char *root,
                     struct tld_ruleset_list **out, unsigned *n, struct tld_diag *diag);

#endif
