/* Own events of the manager (see own_events.h); cJSON does the escaping. */
#include "manager/own_events.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

char *tld_own_text(const char *event, const struct tld_own_agent *agent,
                   const struct tld_own_field *fields, unsigned nfields)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "integration", "threatlockdown");
    cJSON *t = cJSON_AddObjectToObject(root, "threatlockdown");
    cJSON_AddStringToObject(t, "event", event);
    if (agent) {
        cJSON *a = cJSON_AddObjectToObject(t, "agent");
        if (agent->id)
            cJSON_AddStringToObject(a, "id", agent->id);
        if (agent->name)
            cJSON_AddStringToObject(a, "name", agent->name);
        if (agent->ip)
            cJSON_AddStringToObject(a, "ip", agent->ip);
    }
    for (unsigned i = 0; i < nfields; i++) {
        if (fields[i].is_number)
            cJSON_AddNumberToObject(t, fields[i].key, (double)fields[i].num);
        else
            cJSON_AddStringToObject(t, fields[i].key, fields[i].str ? fields[i].str : "");
    }
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

void tld_own_emit(const struct tld_own_sink *sink, const char *event,
                  const struct tld_own_agent *agent, const struct tld_own_field *fields,
                  unsigned nfields)
{
    if (!sink || !sink->emit)
        return;
    char *s = tld_own_text(event, agent, fields, nfields);
    if (!s)
        return;
    sink->emit(sink->ctx, tld_sv_of(s));
    free(s);
}
