/*
 * The live alert streams of tld-api (/alerts/stream, h_stream.c): one hub per server that
 * reads the store for every connected client and feeds their suspended connections.
 */
#ifndef TLD_API_STREAMS_H
#define TLD_API_STREAMS_H

#include <stdint.h>

struct tld_api;
struct tld_api_streams;

/* Starts the hub thread; clients are admitted up to cfg->max_streams. */
int tld_api_streams_start(struct tld_api *a, struct tld_api_streams **out);
/* Before the HTTP server stops: every stream ends and no suspended connection is left. */
void tld_api_streams_stop(struct tld_api_streams *h);
/* After the HTTP server stopped (no client is left). */
void tld_api_streams_free(struct tld_api_streams *h);
/* Clients now, streams opened and alerts sent since the start (for /metrics). */
void tld_api_streams_counts(struct tld_api_streams *h, unsigned *clients, uint64_t *opened,
                            uint64_t *sent);

#endif
