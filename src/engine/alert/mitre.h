/*
 * The MITRE ATT&CK Enterprise table used to enrich alerts: technique id → name and tactics.
 * The data (mitre_data.c) is generated from MITRE's published tables by mk/gen-mitre.py and is
 * immutable; lookups are binary searches.
 */
#ifndef TLD_ENGINE_MITRE_H
#define TLD_ENGINE_MITRE_H

#include "common/str.h"

struct tld_mitre_tactic {
    const char *id;   /* "TA0001" */
    const char *name; /* "Initial Access" */
};

struct tld_mitre_technique {
    const char *id;   /* "T1190", "T1110.001" */
    const char *name; /* its own short name */
    unsigned ntactics;
    unsigned char tactics[4]; /* indexes into tld_mitre_tactics, kill-chain order */
};

extern const struct tld_mitre_tactic tld_mitre_tactics[];
extern const unsigned tld_mitre_ntactics;
extern const struct tld_mitre_technique tld_mitre_techniques[];
extern const unsigned tld_mitre_ntechniques;

/* Active technique with this id, or NULL. */
const struct tld_mitre_technique *tld_mitre_technique(struct tld_sv id);
/* Tactic index for a tactic id ("TA0001"), or -1. */
int tld_mitre_tactic_index(struct tld_sv id);

#endif
