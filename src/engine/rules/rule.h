/*
 * Rules: loading Wazuh-format rule files into an immutable rule set, and matching events
 * against it (rules.md §1–§9).
 *
 * Life cycle. A struct tld_rules is built once: tld_rules_new() with the environment (decoder-name
 * lookup, CDB lists, alert levels), tld_rules_load_*() for each file in the order the caller
 * chooses (Wazuh sorts all files by base name), then tld_rules_finish(). After finish the set is
 * read-only and any number of threads may evaluate events against it without locks.
 *
 * Loading is transactional per file: a file is applied completely or not at all. When a file
 * has a fatal error, every change that file made (new rules, tree attachments, overwrites,
 * correlation bindings) is rolled back, the error is reported with file:line, and the set is
 * exactly what it was before that file, so the caller may go on loading further files to report
 * more problems. Warnings (skipped rules, duplicate ids, ...) never roll anything back.
 *
 * Mutable matching state (firedtimes counters, correlation event lists, ignore timers, the
 * check_diff store, the first-time-seen set) lives in a struct tld_rules_state, which several
 * workers may share; a fresh state is a fresh session (wazuh-logtest semantics). Per-worker
 * working memory and the results of one evaluation live in a struct tld_rule_hit.
 */
#ifndef TLD_ENGINE_RULE_H
#define TLD_ENGINE_RULE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/diag.h"
#include "common/str.h"
#include "common/xml.h"
#include "engine/event.h"

struct tld_lists;
struct tld_rule_impl;
struct tld_rules;
struct tld_rules_state;

/* Rule <options> flags, as written in the rule (tld_rule.options). */
#define TLD_RULE_ALERT_BY_EMAIL 0x01u
#define TLD_RULE_NO_EMAIL_ALERT 0x02u
#define TLD_RULE_LOG_ALERT      0x04u
#define TLD_RULE_NO_LOG         0x08u
#define TLD_RULE_NO_AR          0x10u
#define TLD_RULE_NO_FULL_LOG    0x20u
#define TLD_RULE_NO_COUNTER     0x40u

/* Defaults of the environment (Wazuh's built-in values; the stock ossec.conf says 3 and 12). */
#define TLD_RULES_DEFAULT_TIMEFRAME   360
#define TLD_RULES_DEFAULT_LOG_LEVEL   1
#define TLD_RULES_DEFAULT_EMAIL_LEVEL 7

/* Bounds of one rule set. */
#define TLD_RULES_MAX 200000 /* rules */
#ifndef TLD_FUZZING
#define TLD_RULES_MAX_NODES 200000 /* tree places (if_group/if_level multiply them) */
#else
#define TLD_RULES_MAX_NODES 20000 /* keeps fuzz inputs fast */
#endif
#define TLD_RULES_MAX_DEPTH 512 /* nesting of the rule tree; deeper children are skipped */
#define TLD_RULE_MAX_FIELDS 256 /* <field> elements per rule */

/* A MITRE tactic/technique pair of the new <mitre> format. */
struct tld_rule_mitre_pair {
    const char *tactic;
    const char *technique;
};

/*
 * The facts about a rule that alerts, logtest and the manager use. All strings are
 * NUL-terminated and live as long as the rule set.
 */
struct tld_rule {
    unsigned id;
    const char *id_str;      /* decimal id as printed in alerts ("5710") */
    unsigned level;          /* 0..16 */
    const char *description; /* template; $(field) is substituted per event (hit.description) */
    const char *groups;      /* group string: <group name> followed by the rule's <group> texts */
    const char *const *mitre_ids; /* legacy <mitre><id>: de-duplicated, in order */
    unsigned n_mitre_ids;
    const struct tld_rule_mitre_pair *mitre_pairs; /* new format, de-duplicated, in order */
    unsigned n_mitre_pairs;
    const char *info;   /* concatenated <info> texts; NULL when none */
    const char *cve;    /* concatenated <cve> texts; NULL when none */
    unsigned options;   /* TLD_RULE_* flags as written */
    bool mail;          /* alert "mail": level >= email level / alert_by_email, no_email_alert */
    bool log;           /* level >= log level or log_alert, and not no_log */
    unsigned frequency; /* the frequency attribute as written; 0 when absent */
    bool correlation;   /* searches stored events: alerts print "frequency" (2 if absent) */
    enum tld_category category;
    unsigned timeframe; /* seconds */
    unsigned ignore;    /* ignore attribute, seconds; 0 = none */
    unsigned maxsize;
    bool noalert;
    const char *file; /* file and line of the <rule> element (of the overwrite, if any) */
    unsigned line;
    unsigned index;             /* dense number 0..count-1, load order */
    struct tld_rule_impl *impl; /* matching data; internal */
};

/* Value an alert prints as rule.frequency, or 0 when it prints none. */
static inline unsigned tld_rule_alert_frequency(const struct tld_rule *r)
{
    return r->correlation ? (r->frequency ? r->frequency : 2) : 0;
}

/* What a rule set needs from its surroundings. */
struct tld_rules_env {
    /* Decoder id for <decoded_as> (decoder.h: per-name id); -1 when no decoder has that name. */
    int (*decoder_id)(void *ctx, struct tld_sv name);
    void *decoder_ctx;
    const struct tld_lists *lists; /* CDB lists; NULL = none registered */
    unsigned default_timeframe;    /* analysisd.default_timeframe (360) */
    unsigned log_alert_level;      /* <alerts><log_alert_level> */
    unsigned email_alert_level;    /* <alerts><email_alert_level> */
};
/* An environment with the defaults above and no decoders or lists. */
struct tld_rules_env tld_rules_env_default(void);

int tld_rules_new(const struct tld_rules_env *env, struct tld_rules **out);
void tld_rules_free(struct tld_rules *rules);

/*
 * Load the rules of one parsed file, after those already loaded. Returns 0 (warnings may have
 * been added to diag), TLD_EPARSE after a fatal error (reported into diag; the file's changes were
 * rolled back), TLD_EINVAL after tld_rules_finish, TLD_ENOMEM/TLD_ELIMIT.
 */
int tld_rules_load_doc(struct tld_rules *rules, const struct tld_xml_doc *doc,
                       struct tld_diag *diag);
/* Read, parse and load a file (XML errors are reported like rule errors). */
int tld_rules_load_file(struct tld_rules *rules, const char *path, struct tld_diag *diag);
/* Parse and load buf[0..n); `name` names it in diagnostics. */
int tld_rules_load_buf(struct tld_rules *rules, const char *buf, size_t n, const char *name,
                       struct tld_diag *diag);
/* Freeze the set: no more loading; evaluation and states become possible. */
int tld_rules_finish(struct tld_rules *rules);

/* Rules currently loaded (each <rule> once, however many tree places it has). */
unsigned tld_rules_count(const struct tld_rules *rules);
/* Rule by index 0..count-1, or by id; NULL when absent. */
const struct tld_rule *tld_rules_at(const struct tld_rules *rules, unsigned index);
const struct tld_rule *tld_rules_find(const struct tld_rules *rules, unsigned id);

/* ---- evaluation ---- */

/* Bounds of the correlation state, per state (see correlation.h). */
int tld_rules_state_new(const struct tld_rules *rules, struct tld_rules_state **out);
void tld_rules_state_free(struct tld_rules_state *st);
/* Times `rule` was returned by matching in this state. */
uint64_t tld_rules_state_firedtimes(const struct tld_rules_state *st, const struct tld_rule *rule);

#define TLD_RULE_PREV_MAX   11    /* previous_output lines kept */
#define TLD_RULE_DESC_MAX   1024  /* substituted descriptions must stay below this */
#define TLD_RULE_PREV_BYTES 65536 /* bytes kept per previous_output line */

/*
 * The outcome of evaluating one event, plus the per-worker working memory it needs. Initialise
 * once per worker, reuse for every event; views stay valid until the next evaluation with the
 * same hit.
 */
struct tld_rule_hit {
    /* The rule returned by matching, whatever its level, ignored or not (logtest reports it);
     * NULL when no rule matched. */
    const struct tld_rule *rule;
    /* The rule the alert is about: `rule`, or its direct parent when `rule` fired again inside
     * its ignore window; NULL when nothing is to be stored or alerted (level 0, suppressed). */
    const struct tld_rule *alert_rule;
    uint64_t firedtimes;       /* `rule`'s counter after this firing */
    bool ignored;              /* `rule` fired inside its ignore window */
    bool write_alert;          /* alert_rule has level > 0 and passes log level/log_alert/no_log */
    bool mail;                 /* alert_rule's "mail" */
    struct tld_sv description; /* alert_rule's (else rule's) description after substitution */
    struct tld_sv previous_output[TLD_RULE_PREV_MAX]; /* p NULL = slot empty */
    unsigned n_previous;                              /* leading slots that are set */
    struct tld_sv previous_log; /* check_diff: the previous log; p NULL otherwise */

    /* ---- working memory (internal) ---- */
    struct tld_rx_scratch *scratch;
    char desc_buf[TLD_RULE_DESC_MAX + 1];
    char *prev_buf[TLD_RULE_PREV_MAX]; /* owned, TLD_RULE_PREV_BYTES + 1 each, lazily */
    size_t prev_len[TLD_RULE_PREV_MAX];
    bool prev_set[TLD_RULE_PREV_MAX];
    char *prevlog_buf;
    void *dynidx; /* lazily built index of the event's dynamic fields */
};

int tld_rule_hit_init(struct tld_rule_hit *hit);
void tld_rule_hit_fini(struct tld_rule_hit *hit);

/*
 * Description of `rule` for event `ev` after $(field) substitution (rules.md §7), written into
 * buf (TLD_RULE_DESC_MAX + 1 bytes) unless the raw template is returned.
 */
struct tld_sv tld_rule_description(const struct tld_rule *rule, const struct tld_event *ev,
                                   char *buf);

/*
 * Match one decoded event (rules.md §5–§7). Uses the event's receipt time for timeframes,
 * ignore windows and <time>/<weekday> (local time). Fills *hit; updates the state (counters,
 * correlation lists, ...). Thread-safe for a finished rule set and a shared state.
 */
void tld_rules_eval(const struct tld_rules *rules, struct tld_rules_state *st,
                    const struct tld_event *ev, struct tld_rule_hit *hit);

#endif
