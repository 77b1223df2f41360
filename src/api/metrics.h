/*
 * What tld-api counts about itself for GET /metrics: requests and their latency per route,
 * kept in atomics so the request threads never wait on each other to count.
 */
#ifndef TLD_API_METRICS_H
#define TLD_API_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct tld_api_metrics;

int tld_api_metrics_new(size_t nroutes, struct tld_api_metrics **out);
void tld_api_metrics_free(struct tld_api_metrics *m);
/* One answered request of route `route` (an index in the route table; nroutes: no route). */
void tld_api_metrics_observe(struct tld_api_metrics *m, size_t route, unsigned status,
                             int64_t micros);

#endif
