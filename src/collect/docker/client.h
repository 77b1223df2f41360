/*
 * A minimal Docker Engine API client over the engine's unix socket (libcurl).
 *
 * tld_docker_negotiate() asks `GET /version` and picks the API version: the configured one, or
 * else the engine's own (so old engines and new ones that dropped `status`/`id`/`from` both
 * work). Requests then go to `/v<version><path>`. A socket that does not answer like a Docker
 * Engine is reported as such in the error text, which callers log and put in status events.
 *
 * Bounds: a plain request's body is at most `max_body` bytes (else TLD_ELIMIT); connect takes
 * at most 5 s and a plain request 15 s. A stream has no total time limit: it ends when the
 * engine closes it, on an error, or when tld_docker_cancel() is called from another thread.
 *
 * A client is used by one thread at a time (libcurl handles are not shared); cancel is the
 * exception.
 */
#ifndef TLD_COLLECT_DOCKER_CLIENT_H
#define TLD_COLLECT_DOCKER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/str.h"

#define TLD_DOCKER_ERR TLD_WHY_MAX

struct tld_docker;

struct tld_docker_version {
    char api[16];    /* version used for requests, e.g. "1.41" */
    char engine[64]; /* engine's Version */
};

int tld_docker_new(const char *socket, const char *api_version, struct tld_docker **out);
void tld_docker_free(struct tld_docker *d);
int tld_docker_negotiate(struct tld_docker *d, struct tld_docker_version *v,
                         char err[TLD_DOCKER_ERR]);
/* GET /v<api><path>: 0 with the HTTP status and body (also for 4xx/5xx), or an error. */
int tld_docker_get(struct tld_docker *d, const char *path, size_t max_body, long *status,
                   struct tld_sb *body, char err[TLD_DOCKER_ERR]);

/* Streamed GET: `on_data` gets the body as it arrives (return false to stop). Returns 0 when
 * the engine ended the stream, TLD_ECLOSED when cancelled or stopped by on_data, or an error.
 * `on_open` is called once the response status is known (may be NULL). */
int tld_docker_stream(struct tld_docker *d, const char *path,
                      bool (*on_open)(void *ctx, long status),
                      bool (*on_data)(void *ctx, const char *p, size_t n), void *ctx,
                      char err[TLD_DOCKER_ERR]);
/* Make a running or future tld_docker_stream return TLD_ECLOSED (any thread). */
void tld_docker_cancel(struct tld_docker *d);
/* Allow streams again after a cancel. */
void tld_docker_reset_cancel(struct tld_docker *d);

/* The "message" of an engine error body, or the start of the body. */
void tld_docker_error_text(struct tld_sv body, char *out, size_t n);

/* Whether something accepts connections on the client's socket now (a cheap probe used to
 * notice an engine that starts after the listener). */
bool tld_docker_socket_answers(const struct tld_docker *d);

#endif
