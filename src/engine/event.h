/*
 * One event as the analysis engine sees it: the input (message text, location, agent, time,
 * optional container metadata), what pre-decoding found (timestamp, hostname, program name and
 * the post-header `log`), and what decoding produced (selected decoder, static and dynamic
 * fields).
 *
 * Every view in an event points either into the caller's input (which must outlive the event's
 * processing) or into the event's arena; nothing here is freed individually. A worker reuses one
 * struct tld_event and resets it (tld_event_reset) between events, which also resets the arena.
 */
#ifndef TLD_ENGINE_EVENT_H
#define TLD_ENGINE_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/source.h"
#include "common/str.h"

/* Static fields, in the order the alert's `data` object prints them. */
enum tld_field {
    TLD_F_PROTOCOL,
    TLD_F_ACTION,
    TLD_F_SRCIP,
    TLD_F_SRCPORT,
    TLD_F_SRCUSER,
    TLD_F_DSTIP,
    TLD_F_DSTPORT,
    TLD_F_DSTUSER,
    TLD_F_ID,
    TLD_F_STATUS,
    TLD_F_URL,
    TLD_F_DATA,
    TLD_F_EXTRA_DATA,
    TLD_F_SYSTEM_NAME,
    TLD_F_SRCGEOIP,
    TLD_F_DSTGEOIP,
    TLD_F_COUNT
};

/* Rule categories, which are also decoder types (rules.md §5: the tree an event walks). */
enum tld_category {
    TLD_CAT_SYSLOG,
    TLD_CAT_FIREWALL,
    TLD_CAT_IDS,
    TLD_CAT_WEB_LOG,
    TLD_CAT_SQUID,
    TLD_CAT_WINDOWS,
    TLD_CAT_HOST_INFO,
    TLD_CAT_OSSEC,
    TLD_CAT_COUNT
};

/* Most fields one event may carry (static + dynamic), as in Wazuh. */
#define TLD_EVENT_MAX_FIELDS 256
/* Largest event text accepted by default; longer texts are truncated and flagged. */
#define TLD_EVENT_DEFAULT_MAX_SIZE 65536

struct tld_decoder;

struct tld_dynfield {
    struct tld_sv name;
    struct tld_sv value;
};

struct tld_label {
    struct tld_sv key;
    struct tld_sv value;
};

/* What the agent learnt about the container a log line came from. */
struct tld_container_meta {
    struct tld_sv id;
    struct tld_sv name;
    struct tld_sv image;
    const struct tld_label *labels;
    unsigned nlabels;
};

struct tld_event {
    /* ---- input (set by the caller before processing) ---- */
    char queue;                   /* '1' for files, commands and the Docker listener */
    enum tld_source source;       /* who made it; never set from the text (rule <source>) */
    struct tld_sv location;       /* internal form: "/var/log/x" or "(name) ip->/var/log/x" */
    struct tld_sv alert_location; /* what the alert prints; p NULL = no "location" key */
    struct tld_sv full_log;       /* the text after "Q:location:" */
    struct tld_sv agent_id;       /* "000" for local events */
    struct tld_sv agent_name;     /* agent name, or the manager name for local events */
    struct tld_sv agent_ip;       /* p NULL = unknown (not printed) */
    struct tld_sv manager_name;   /* full host name of the manager */
    int64_t time_ns;              /* receipt time (drives timestamps, windows, time rules) */
    const struct tld_container_meta *container; /* NULL unless from a container log */
    bool truncated; /* the input was longer than the maximum and was cut */

    /* ---- pre-decoding ---- */
    struct tld_sv log;          /* post-header text: what decoders and <match>/<regex> see */
    struct tld_sv hostname;     /* p NULL = none */
    struct tld_sv program_name; /* p NULL = none */
    struct tld_sv timestamp;    /* p NULL = none */

    /* ---- decoding ---- */
    const struct tld_decoder *decoder; /* selected decoder; NULL = none ("decoder":{}) */
    struct tld_sv fields[TLD_F_COUNT]; /* p NULL = unset; "" = set but empty */
    struct tld_dynfield *dyn;          /* capacity TLD_EVENT_MAX_FIELDS, in decoding order */
    unsigned ndyn;
    bool fields_overflow;  /* the 256-dynamic-field cap was hit */
    bool accumulated;      /* accumulate filled something (decoder.accumulate) */
    struct tld_sv fts_key; /* first-time-seen key; p NULL = decoder has no fts */

    struct tld_arena *arena; /* owned by the worker; reset with the event */
};

/* Name of a static field as printed in alerts ("srcip", ..., "system_name"). */
const char *tld_field_name(enum tld_field f);
/*
 * Static field for a decoder <order> name or JSON key, or -1 for a dynamic name. `user` maps to
 * TLD_F_DSTUSER for <order>; "system_name" is static for <order>, "systemname" for JSON (the
 * caller picks which spelling applies through `json_keys`).
 */
int tld_field_lookup(struct tld_sv name, bool json_keys);

const char *tld_category_name(enum tld_category c);
/* Category from a decoder <type> or rule <category> value (case-sensitive); -1 if unknown. */
int tld_category_lookup(struct tld_sv name);

/* Initialise with a worker-owned arena and dynamic-field array (capacity TLD_EVENT_MAX_FIELDS). */
void tld_event_init(struct tld_event *ev, struct tld_arena *arena, struct tld_dynfield *dyn);
/* Clear everything for the next event and reset the arena. */
void tld_event_reset(struct tld_event *ev);

/* Set a static field (last assignment wins). */
void tld_event_set(struct tld_event *ev, enum tld_field f, struct tld_sv value);
/* Append a dynamic field (duplicates kept). False when the field cap is reached. */
bool tld_event_add(struct tld_event *ev, struct tld_sv name, struct tld_sv value);
/* First dynamic field with this name (case-insensitive); p NULL when absent. */
struct tld_sv tld_event_get(const struct tld_event *ev, struct tld_sv name);
/* Value for a rule `<user>` test: dstuser if set, else srcuser; p NULL when neither. */
struct tld_sv tld_event_user(const struct tld_event *ev);
/* True for events received from an agent (id other than "000"). */
bool tld_event_from_agent(const struct tld_event *ev);

#endif
