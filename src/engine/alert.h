/*
 * Alert JSON in Wazuh's format (alerts.md): one compact object per alert, keys in the order
 * existing tools expect, compliance groups split out of the rule's group string, MITRE ids
 * enriched with technique names and tactics, and our `container` object after `location` when
 * the event came from a container.
 *
 * Formatting is a pure function of the event and a description of the winning rule; the caller
 * supplies the alert id (which depends on the alerts file it appends to). Output is always valid
 * JSON, even for events holding invalid UTF-8 or control bytes.
 */
#ifndef TLD_ENGINE_ALERT_H
#define TLD_ENGINE_ALERT_H

#include <stdbool.h>

#include "common/str.h"
#include "engine/event.h"

/* A tacticID/techniqueID pair of the newer <mitre> format. */
struct tld_mitre_pair {
    struct tld_sv tactic;
    struct tld_sv technique;
};

/* Everything the alert needs to know about the winning rule and this firing. */
struct tld_alert_rule {
    int level;
    bool print_level_zero; /* logtest shows "level":0; alerts never have level 0 */
    struct tld_sv id;
    struct tld_sv description;      /* after $(field) substitution */
    struct tld_sv groups;           /* the rule's group string ("web,accesslog,pci_dss_6.5,") */
    const struct tld_sv *mitre_ids; /* legacy <mitre><id>, already de-duplicated */
    unsigned nmitre_ids;
    const struct tld_mitre_pair *mitre_pairs;
    unsigned nmitre_pairs;
    struct tld_sv cve, info; /* p NULL = absent */
    unsigned frequency;      /* 0 = not a correlation rule */
    unsigned long firedtimes;
    bool no_counter; /* omit firedtimes */
    bool mail;
    bool no_full_log;
    struct tld_sv previous_output; /* p NULL = absent */
    struct tld_sv previous_log;    /* p NULL = absent */
    /* Identifies the rule the constant parts above (mitre ids and pairs, cve, info, frequency,
     * groups) belong to, for the memo; NULL = do not memoise. Whoever sets it promises those
     * parts are the same every time the key is. */
    const void *memo_key;
};

/*
 * What a thread that formats many alerts remembers between them (a worker owns one): the
 * local-time text of the last second, so localtime_r() runs once per second, and the rendered
 * parts of "rule" that depend on the rule alone (mitre, cve, info, frequency, groups and the
 * compliance arrays), keyed by tld_alert_rule.memo_key. The memo is bounded: a direct-mapped
 * table of TLD_ALERT_MEMO_SLOTS entries of at most TLD_ALERT_MEMO_MAX bytes each.
 */
#define TLD_ALERT_MEMO_SLOTS 512
#define TLD_ALERT_MEMO_MAX   8192

struct tld_alert_clock {
    bool valid;
    int64_t sec;
    char prefix[24]; /* "2023-05-09T11:41:31" */
    size_t prefix_len;
    char zone[5]; /* "+0000" */
};

struct tld_alert_memo_slot {
    const void *key; /* NULL = empty */
    char *text;      /* owned: the middle part, then the tail part */
    size_t middle_len, tail_len;
};

struct tld_alert_memo {
    struct tld_alert_clock clock;
    struct tld_alert_memo_slot slots[TLD_ALERT_MEMO_SLOTS];
};

void tld_alert_memo_init(struct tld_alert_memo *memo);
void tld_alert_memo_fini(struct tld_alert_memo *memo);

/*
 * Append the alert for `ev` to `out` (no trailing newline). `alert_id` is the value of the
 * top-level "id" key ("<epoch>.<offset>"). `rule` may be NULL for an event that matched no rule
 * (used for archives), which omits the "rule" key. `memo` may be NULL.
 */
void tld_alert_format(const struct tld_event *ev, const struct tld_alert_rule *rule,
                      struct tld_sv alert_id, struct tld_alert_memo *memo, struct tld_sb *out);

/* Append `s` as a JSON string literal (quotes included), escaping as the alert format does. */
void tld_alert_json_string(struct tld_sb *out, struct tld_sv s);

/* "2023-05-09T11:41:31.049+0000" for a time in ns, in the process's local zone. */
void tld_alert_timestamp(int64_t time_ns, char buf[32]);

/*
 * The MITRE ATT&CK table alerts are enriched from, for listings (the API's /mitre routes): rows
 * in id order, tactics of a technique in kill-chain order. Strings are static.
 */
struct tld_mitre_row {
    const char *id;   /* "TA0001", "T1190", "T1110.001" */
    const char *name; /* "Initial Access", "Exploit Public-Facing Application" */
    const char *tactics[4];
    unsigned ntactics; /* 0 for a tactic row */
};
unsigned tld_mitre_tactic_count(void);
unsigned tld_mitre_technique_count(void);
/* Row i (< the count) of the tactics or the techniques. */
void tld_mitre_tactic_row(unsigned i, struct tld_mitre_row *out);
void tld_mitre_technique_row(unsigned i, struct tld_mitre_row *out);

#endif
