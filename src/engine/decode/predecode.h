/*
 * Pre-decoding: the first phase of analysis, run once per event before any decoder.
 *
 *   1. tld_predecode_message splits a queue message "Q:location:text" (the location ends at the
 *      first ':' not escaped by '|'; "|:" stands for ':' and "||" for '|').
 *   2. tld_predecode_source reads the location: "[ID] (name) ip->path" for agent events, any other
 *      string for local ones; it yields the agent id/name/ip, the internal location that rule
 *      <location> tests see, and the location the alert prints.
 *   3. tld_predecode_header recognises the syslog-style and other timestamp headers of
 *      decoders.md §6 and extracts timestamp, hostname, program name and the post-header `log`.
 *   4. tld_predecode_alert_hostname computes the alert's `predecoder.hostname` (alerts.md §3),
 *      which has its own rule, independent of step 3.
 *
 * Every function is pure: no allocation, no global state, no NUL terminator needed. Results are
 * views into the caller's input (or, for an unescaped location, into the caller's buffer), so the
 * input must outlive them. Inputs may hold any bytes; a NUL byte has no special meaning. Work is
 * proportional to the bytes actually inspected; the input is never measured as a whole.
 *
 * A view with p == NULL means "absent"; p != NULL with n == 0 means "present but empty" (both
 * happen and are distinguished by Wazuh, e.g. a Solaris header ": msg" gives an empty program
 * name, which a decoder's <program_name> still tests).
 */
#ifndef TLD_ENGINE_PREDECODE_H
#define TLD_ENGINE_PREDECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/str.h"

struct tld_event;

/* Longest unescaped location kept (Wazuh's bound); longer ones are cut and flagged. */
#define TLD_PREDECODE_LOCATION_MAX 8450

struct tld_predecode_msg {
    char queue;              /* the one-byte queue id before the first ':' */
    struct tld_sv location;  /* unescaped; into the message, or into the caller's buffer */
    struct tld_sv text;      /* everything after the location's ':' (full_log), into the message */
    bool location_truncated; /* the unescaped location was longer than the buffer */
};

/*
 * Split msg[0..n) = "Q:location:text". When the location holds '|' escapes, the unescaped bytes
 * are written to loc_buf (at most loc_cap bytes, no NUL added) and out->location points there;
 * otherwise it points into msg. Returns 0, or TLD_EPARSE when the message is shorter than "Q:",
 * has no ':' after the queue byte, or has no unescaped ':' ending the location.
 */
int tld_predecode_message(const char *msg, size_t n, char *loc_buf, size_t loc_cap,
                          struct tld_predecode_msg *out);

struct tld_predecode_source {
    bool agent;               /* the location had the "[ID] …" agent form */
    struct tld_sv agent_id;   /* ID between '[' and ']'; "000" for local events */
    struct tld_sv location;   /* internal location: "(name) ip->path", or as received */
    struct tld_sv agent_name; /* agent events: name inside "(…)", possibly empty; else none */
    struct tld_sv agent_ip;   /* agent events: after ") " up to the next '-'; none if "any" */
    struct tld_sv display_location; /* the alert's "location"; none when a "(…)" form has no '>' */
};

/*
 * Interpret an (unescaped) location. Agent form "[ID] rest": the internal location is `rest`
 * (the byte after ']' is skipped whatever it is). When the internal location starts with '(',
 * the alert shows only the text after its first '>' (nothing when there is none). Returns 0, or
 * TLD_EPARSE for a location that starts with '[' but has no ']'.
 */
int tld_predecode_source(struct tld_sv location, struct tld_predecode_source *out);

/* Which header shape matched (decoders.md §6, the two tables, in the order they are tried). */
enum tld_predecode_shape {
    TLD_PREDECODE_NONE = 0,
    TLD_PREDECODE_A,  /* Dec 29 10:00:01 */
    TLD_PREDECODE_B,  /* 2015-04-16 21:51:02,805 */
    TLD_PREDECODE_C1, /* 2007-06-14T15:48:55-04:00 */
    TLD_PREDECODE_C2, /* 2022-12-19T15:02:53.288+00:00 */
    TLD_PREDECODE_C3, /* 2009-05-22T09:36:46.214994-07:00 */
    TLD_PREDECODE_C4, /* any other ISO time with a '.' at 19 (skips 32 bytes blindly) */
    TLD_PREDECODE_D,  /* 2015 Dec 29 10:00:01 */
    TLD_PREDECODE_E,  /* 2021-04-21 10:16:09.404756-0700 */
    TLD_PREDECODE_XFERLOG,
    TLD_PREDECODE_SNORT,
    TLD_PREDECODE_SURICATA,
    TLD_PREDECODE_APACHE,
    TLD_PREDECODE_ASL,
    TLD_PREDECODE_SQUID,
};

struct tld_predecode_header {
    enum tld_predecode_shape shape;
    struct tld_sv timestamp;    /* none for no match and for ASL */
    struct tld_sv hostname;     /* none unless a syslog row (A–E) or ASL found one */
    struct tld_sv program_name; /* none unless found */
    struct tld_sv log;          /* post-header text; the whole text when no shape matched */
};

/* Parse the header of text[0..n) (the full_log). Never fails; all views point into text. */
void tld_predecode_header(const char *text, size_t n, struct tld_predecode_header *out);

/* Short name of a shape for diagnostics and logtest ("A", "C4", "squid", "none"). */
const char *tld_predecode_shape_name(enum tld_predecode_shape shape);

/*
 * The alert's predecoder.hostname: when full_log begins with "Mmm dd hh:mm:ss " (an uppercase
 * ASCII letter, two lowercase letters, space, day = [ 0-3][0-9], space, digits with ':' between,
 * space) followed by at least one non-space byte, *out = the run of non-space bytes there and the
 * result is true. Otherwise false and *out is none.
 */
bool tld_predecode_alert_hostname(struct tld_sv full_log, struct tld_sv *out);

/*
 * The hostname rules see: the agent name for agent events (the syslog hostname is discarded),
 * else the parsed hostname when there is one (even empty), else the manager's host name up to
 * its first '.'.
 */
struct tld_sv tld_predecode_hostname(const struct tld_predecode_source *src,
                                     const struct tld_predecode_header *hdr,
                                     struct tld_sv manager_name);

/*
 * All of the above for one event: split msg, interpret the location, parse the header, and fill
 * ev's input and pre-decoding members (queue, location, alert_location, full_log, agent_id,
 * agent_name, agent_ip, log, hostname, program_name, timestamp). ev->manager_name must already
 * be set; local events take it as agent name, and its short form as hostname fallback.
 * ev->hostname receives the hostname rules see (tld_predecode_hostname), never none when the
 * manager name is known. loc_buf/loc_cap as for tld_predecode_message; the views point into msg
 * and loc_buf, which must outlive the event's processing. Returns 0 or TLD_EPARSE.
 */
int tld_predecode_event(struct tld_event *ev, const char *msg, size_t n, char *loc_buf,
                        size_t loc_cap);

#endif
