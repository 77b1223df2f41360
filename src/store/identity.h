/*
 * The identity of the event an alert came from, the key the store deduplicates on: the same
 * event analysed twice (by two managers around a failover, or by one manager again from its
 * journal) gives two alerts with the same identity, and the store keeps the first. The manager
 * writes it as the alert's last member, `"event":{"stream":"<16 hex>","seq":N}`; with the
 * alert's agent.id it makes the key "<agent id>/<stream>/<seq>". Private to src/store/.
 */
#ifndef TLD_STORE_IDENTITY_H
#define TLD_STORE_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/str.h"

#define TLD_EVENT_KEY_MAX 96

/*
 * The key of alert line `line` whose agent.id is `agent_id` into `out` (NUL-terminated,
 * TLD_EVENT_KEY_MAX bytes); false when the alert carries no identity (no agent, or not an
 * event of an agent's numbered stream).
 */
bool tld_event_key(struct tld_sv agent_id, struct tld_sv line, char out[TLD_EVENT_KEY_MAX]);

#endif
