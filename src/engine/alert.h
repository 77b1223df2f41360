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
};

/*
 * Append the alert for `ev` to `out` (no trailing newline). `alert_id` is the value of the
 * top-level "id" key ("<epoch>.<offset>"). `rule` may be NULL for an event that matched no rule
 * (used for archives), which omits the "rule" key.
 */
void tld_alert_format(const struct tld_event *ev, const struct tld_alert_rule *rule,
                      struct tld_sv alert_id, struct tld_sb *out);

/* Append `s` as a JSON string literal (quotes included), escaping as the alert format does. */
void tld_alert_json_string(struct tld_sb *out, struct tld_sv s);

/* "2023-05-09T11:41:31.049+0000" for a time in ns, in the process's local zone. */
void tld_alert_timestamp(int64_t time_ns, char buf[32]);

#endif
