/*
 * Bounding a Docker event before it is forwarded. Container labels and the other attributes of an
 * event are chosen by whoever starts the container, so an event can be made large enough to be
 * cut by the manager (and then never decoded) or hold text a JSON parser refuses (a lone
 * surrogate escape, deep nesting). The rewrite keeps the event's structure and every member the
 * rules read (Type, Action, Actor.ID, the name and image attributes, ...) and bounds the rest:
 * string values and keys by length, objects and arrays by member count and nesting depth, the
 * whole by a byte budget. Invalid escapes and bytes become U+FFFD. When anything was dropped or
 * shortened the event gains "truncated":true, so an alert shows that it saw a trimmed event.
 */
#ifndef TLD_COLLECT_DOCKER_BOUND_H
#define TLD_COLLECT_DOCKER_BOUND_H

#include <stdbool.h>

#include "common/str.h"

#define TLD_BOUND_VALUE_MAX   1024 /* bytes of one string value as written (escapes included) */
#define TLD_BOUND_KEY_MAX     256
#define TLD_BOUND_MEMBERS_MAX 64 /* members of one object or elements of one array */
#define TLD_BOUND_DEPTH_MAX   8
#define TLD_BOUND_BUDGET      (24u * 1024) /* bytes of members that are not kept for the rules */

/*
 * Rewrite the JSON object `raw` into `out` (appended). *trimmed tells whether anything was cut or
 * replaced. 0, or TLD_EPARSE when raw is not a JSON object (out then holds a partial rewrite).
 */
int tld_docker_event_bound(struct tld_sv raw, struct tld_sb *out, bool *trimmed);

#endif
