/* Event fields: static slots, bounded dynamic list, name tables (see event.h). */
#include "engine/event.h"

#include <string.h>
#include <strings.h>

static const char *const field_names[TLD_F_COUNT] = {
    [TLD_F_PROTOCOL] = "protocol",
    [TLD_F_ACTION] = "action",
    [TLD_F_SRCIP] = "srcip",
    [TLD_F_SRCPORT] = "srcport",
    [TLD_F_SRCUSER] = "srcuser",
    [TLD_F_DSTIP] = "dstip",
    [TLD_F_DSTPORT] = "dstport",
    [TLD_F_DSTUSER] = "dstuser",
    [TLD_F_ID] = "id",
    [TLD_F_STATUS] = "status",
    [TLD_F_URL] = "url",
    [TLD_F_DATA] = "data",
    [TLD_F_EXTRA_DATA] = "extra_data",
    [TLD_F_SYSTEM_NAME] = "system_name",
    [TLD_F_SRCGEOIP] = "srcgeoip",
    [TLD_F_DSTGEOIP] = "dstgeoip",
};

const char *tld_field_name(enum tld_field f)
{
    return (unsigned)f < TLD_F_COUNT ? field_names[f] : "?";
}

int tld_field_lookup(struct tld_sv name, bool json_keys)
{
    if (tld_sv_eq_cstr(name, "user"))
        return json_keys ? -1 : TLD_F_DSTUSER;
    if (tld_sv_eq_cstr(name, json_keys ? "systemname" : "system_name"))
        return TLD_F_SYSTEM_NAME;
    for (int f = 0; f < TLD_F_SYSTEM_NAME; f++)
        if (tld_sv_eq_cstr(name, field_names[f]))
            return f;
    return -1;
}

static const char *const category_names[TLD_CAT_COUNT] = {
    [TLD_CAT_SYSLOG] = "syslog",
    [TLD_CAT_FIREWALL] = "firewall",
    [TLD_CAT_IDS] = "ids",
    [TLD_CAT_WEB_LOG] = "web-log",
    [TLD_CAT_SQUID] = "squid",
    [TLD_CAT_WINDOWS] = "windows",
    [TLD_CAT_HOST_INFO] = "host-information",
    [TLD_CAT_OSSEC] = "ossec",
};

const char *tld_category_name(enum tld_category c)
{
    return (unsigned)c < TLD_CAT_COUNT ? category_names[c] : "?";
}

int tld_category_lookup(struct tld_sv name)
{
    for (int c = 0; c < TLD_CAT_COUNT; c++)
        if (tld_sv_eq_cstr(name, category_names[c]))
            return c;
    return -1;
}

void tld_event_init(struct tld_event *ev, struct tld_arena *arena, struct tld_dynfield *dyn)
{
    memset(ev, 0, sizeof *ev);
    ev->arena = arena;
    ev->dyn = dyn;
}

void tld_event_reset(struct tld_event *ev)
{
    struct tld_arena *arena = ev->arena;
    struct tld_dynfield *dyn = ev->dyn;
    tld_arena_reset(arena);
    tld_event_init(ev, arena, dyn);
}

void tld_event_set(struct tld_event *ev, enum tld_field f, struct tld_sv value)
{
    if (!value.p)
        value = TLD_SV_LIT("");
    ev->fields[f] = value;
}

bool tld_event_add(struct tld_event *ev, struct tld_sv name, struct tld_sv value)
{
    if (ev->ndyn >= TLD_EVENT_MAX_FIELDS) {
        ev->fields_overflow = true;
        return false;
    }
    if (!value.p)
        value = TLD_SV_LIT("");
    ev->dyn[ev->ndyn++] = (struct tld_dynfield){name, value};
    return true;
}

struct tld_sv tld_event_get(const struct tld_event *ev, struct tld_sv name)
{
    for (unsigned i = 0; i < ev->ndyn; i++)
        if (tld_sv_eq_nocase(ev->dyn[i].name, name))
            return ev->dyn[i].value;
    return TLD_SV_NULL;
}

struct tld_sv tld_event_user(const struct tld_event *ev)
{
    return ev->fields[TLD_F_DSTUSER].p ? ev->fields[TLD_F_DSTUSER] : ev->fields[TLD_F_SRCUSER];
}

bool tld_event_from_agent(const struct tld_event *ev)
{
    return ev->agent_id.p && !tld_sv_eq_cstr(ev->agent_id, "000");
}
