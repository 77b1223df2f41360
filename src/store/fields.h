/*
 * Where each alert field lives in a store: an extracted column (typed, indexed, one value per
 * alert), the key/value side table (every value of data.* and of the array fields such as
 * rule.groups and the MITRE and compliance lists), or only inside the raw alert JSON. Backends
 * compile queries against this one catalogue so they agree on what a field name means.
 */
#ifndef TLD_STORE_FIELDS_H
#define TLD_STORE_FIELDS_H

#include <stdbool.h>

enum tld_field_kind {
    TLD_FIELD_TEXT, /* a text column */
    TLD_FIELD_INT,  /* an integer column */
    TLD_FIELD_KV,   /* data.*: rows of the key/value table, key = the dotted name */
    TLD_FIELD_SET,  /* rule arrays: values of the alert's rule set (see docs/store.md) */
    TLD_FIELD_RAW,  /* read from the raw alert: a scalar or an array of scalars at the path */
};

enum tld_store_col {
    TLD_COL_ALERT_ID,
    TLD_COL_RULE_ID,
    TLD_COL_RULE_LEVEL,
    TLD_COL_RULE_DESC,
    TLD_COL_AGENT_ID,
    TLD_COL_AGENT_NAME,
    TLD_COL_AGENT_IP,
    TLD_COL_MANAGER,
    TLD_COL_DECODER,
    TLD_COL_DECODER_PARENT,
    TLD_COL_LOCATION,
    TLD_COL_CONTAINER_ID,
    TLD_COL_CONTAINER_NAME,
    TLD_COL_IMAGE,
    TLD_COL_FULL_LOG,
    TLD_COL_COUNT
};

struct tld_field_col {
    const char *field;  /* dotted alert field */
    const char *column; /* column name in every backend */
    enum tld_field_kind kind;
};

/* The extracted columns, indexed by enum tld_store_col. */
extern const struct tld_field_col tld_field_cols[TLD_COL_COUNT];

struct tld_field {
    enum tld_field_kind kind;
    int col; /* enum tld_store_col for TEXT/INT */
};

void tld_store_field_lookup(const char *name, struct tld_field *out);

/* The rule array fields (TLD_FIELD_SET). */
extern const char *const tld_field_multi[];
extern const unsigned tld_field_nmulti;

#endif
