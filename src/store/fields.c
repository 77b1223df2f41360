/*
 * The field catalogue: which alert fields are columns and which are multi-valued key/value
 * fields. Changing it changes the schema of every backend, so it is a fixed table, not config.
 */
#include "store/fields.h"

#include <string.h>

const struct tld_field_col tld_field_cols[TLD_COL_COUNT] = {
    [TLD_COL_ALERT_ID] = {"id", "alert_id", TLD_FIELD_TEXT},
    [TLD_COL_RULE_ID] = {"rule.id", "rule_id", TLD_FIELD_TEXT},
    [TLD_COL_RULE_LEVEL] = {"rule.level", "rule_level", TLD_FIELD_INT},
    [TLD_COL_RULE_DESC] = {"rule.description", "rule_desc", TLD_FIELD_TEXT},
    [TLD_COL_AGENT_ID] = {"agent.id", "agent_id", TLD_FIELD_TEXT},
    [TLD_COL_AGENT_NAME] = {"agent.name", "agent_name", TLD_FIELD_TEXT},
    [TLD_COL_AGENT_IP] = {"agent.ip", "agent_ip", TLD_FIELD_TEXT},
    [TLD_COL_MANAGER] = {"manager.name", "manager", TLD_FIELD_TEXT},
    [TLD_COL_DECODER] = {"decoder.name", "decoder", TLD_FIELD_TEXT},
    [TLD_COL_DECODER_PARENT] = {"decoder.parent", "decoder_parent", TLD_FIELD_TEXT},
    [TLD_COL_LOCATION] = {"location", "location", TLD_FIELD_TEXT},
    [TLD_COL_CONTAINER_ID] = {"container.id", "container_id", TLD_FIELD_TEXT},
    [TLD_COL_CONTAINER_NAME] = {"container.name", "container_name", TLD_FIELD_TEXT},
    [TLD_COL_IMAGE] = {"container.image.name", "image", TLD_FIELD_TEXT},
    [TLD_COL_FULL_LOG] = {"full_log", "full_log", TLD_FIELD_TEXT},
};

const char *const tld_field_multi[] = {
    "rule.groups", "rule.mitre.id",    "rule.mitre.tactic", "rule.mitre.technique", "rule.pci_dss",
    "rule.gdpr",   "rule.nist_800_53", "rule.tsc",          "rule.hipaa",           "rule.gpg13",
};
const unsigned tld_field_nmulti = sizeof(tld_field_multi) / sizeof(tld_field_multi[0]);

void tld_store_field_lookup(const char *name, struct tld_field *out)
{
    for (int i = 0; i < TLD_COL_COUNT; i++) {
        if (!strcmp(name, tld_field_cols[i].field)) {
            out->kind = tld_field_cols[i].kind;
            out->col = i;
            return;
        }
    }
    out->col = -1;
    out->kind = TLD_FIELD_RAW;
    if (!strncmp(name, "data.", 5)) {
        out->kind = TLD_FIELD_KV;
        return;
    }
    for (unsigned i = 0; i < tld_field_nmulti; i++)
        if (!strcmp(name, tld_field_multi[i]))
            out->kind = TLD_FIELD_SET;
}
