/*
 * Container metadata cache shared by the collector and the Docker listener.
 *
 * A lookup answers from the cache or asks the engine (`GET /containers/{id}/json`) and keeps
 * the answer. Entries are never dropped when a container is destroyed, only when the cache is
 * full (least recently used first), so lines read after a `docker rm` still carry the name
 * and image. The listener also puts what it learns from its own inspect calls (create/start),
 * so the collector normally finds a container's information without a request of its own.
 * Unknown containers (404) and an unreachable engine are remembered for a few seconds so a
 * burst of lookups costs one request.
 *
 * Bound: TLD_META_MAX entries. Thread-safe; requests are serialised on one connection.
 */
#ifndef TLD_COLLECT_DOCKER_META_H
#define TLD_COLLECT_DOCKER_META_H

#include "collect/docker/cinfo.h"
#include "common/log.h"

#define TLD_META_MAX 4096

struct tld_meta;

int tld_meta_new(const char *socket, const char *api_version, struct tld_log *log,
                 struct tld_meta **out);
void tld_meta_free(struct tld_meta *m);
/* New reference to the container's information, or NULL (not known now). Signature fits
 * struct tld_meta_source. */
struct tld_cinfo *tld_meta_lookup(void *meta, const char *id);
/* Store (replace) information obtained elsewhere; takes a new reference. */
void tld_meta_put(struct tld_meta *m, struct tld_cinfo *ci);
unsigned tld_meta_size(struct tld_meta *m);

#endif
