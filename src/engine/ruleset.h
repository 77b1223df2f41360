/*
 * A ruleset snapshot: decoders, CDB lists and rules loaded together from the configured
 * directories and files, in Wazuh's order (every file sorted by base name). A snapshot is
 * immutable once loaded; workers share it without locks. Reloading builds a new snapshot off the
 * hot path, and a snapshot that failed to load is never returned, so a bad reload changes nothing.
 * Snapshots are reference counted so the last worker still using an old one frees it.
 */
#ifndef TLD_ENGINE_RULESET_H
#define TLD_ENGINE_RULESET_H

#include "common/diag.h"
#include "engine/decode/decoder.h"
#include "engine/rules/lists.h"
#include "engine/rules/rule.h"

/* A CDB list: the name rules use (<list>etc/lists/x</list>) and the file holding it. */
struct tld_ruleset_list {
    const char *name;
    const char *path;
};

struct tld_ruleset_config {
    const char *const *decoder_paths; /* directories (every *.xml) or files */
    unsigned ndecoder_paths;
    const char *const *decoder_excludes; /* full paths or bare file names */
    unsigned ndecoder_excludes;
    const char *const *rule_paths;
    unsigned nrule_paths;
    const char *const *rule_excludes;
    unsigned nrule_excludes;
    const struct tld_ruleset_list *lists;
    unsigned nlists;
    unsigned log_alert_level;   /* 0 = the rules module's default */
    unsigned email_alert_level; /* 0 = the rules module's default */
    unsigned default_timeframe; /* 0 = 360 */
};

struct tld_ruleset {
    struct tld_decoder_set *decoders;
    struct tld_lists *lists;
    struct tld_rules *rules;
    unsigned ndecoder_files, nrule_files;
    double load_seconds;
    int refs; /* atomic */
};

/*
 * Load everything the configuration names. Every problem is reported into `diag`; on any error
 * the partial snapshot is freed and TLD_EPARSE (or TLD_EIO/TLD_ENOMEM) is returned.
 */
int tld_ruleset_load(const struct tld_ruleset_config *cfg, struct tld_ruleset **out,
                     struct tld_diag *diag);
/* Take and drop references; the last drop frees the snapshot. */
struct tld_ruleset *tld_ruleset_ref(struct tld_ruleset *rs);
void tld_ruleset_unref(struct tld_ruleset *rs);

/* Register every regular file under `dir` as list "etc/lists/<relative path>" (Wazuh's names). */
int tld_ruleset_lists_from_dir(const char *dir, struct tld_ruleset_list **lists, unsigned *n,
                               struct tld_diag *diag);
void tld_ruleset_lists_free(struct tld_ruleset_list *lists, unsigned n);

#endif
