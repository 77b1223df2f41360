/*
 * A TCP server skeleton shared by enrollment (1515) and the transport (1514): one acceptor
 * thread, and one handler thread per connection up to `max_conns` (more connections are
 * closed at once and counted). Every handler gets the cancel descriptor, which becomes
 * readable when the server stops; tld_srv_stop() then waits for all handlers to return, so no
 * thread outlives the server.
 */
#ifndef TLD_MANAGER_SERVER_H
#define TLD_MANAGER_SERVER_H

#include <stdint.h>

#include "common/net.h"

struct tld_srv;

/* Runs in its own thread and owns fd (closes it). `addr` is "ip:port" of the peer. */
typedef void (*tld_srv_handler)(void *ctx, int fd, const char *addr, int cancel_fd);

struct tld_srv_opts {
    const char *host; /* NULL: all addresses */
    unsigned port;    /* 0: any free port (tests) */
    unsigned max_conns;
    tld_srv_handler handler;
    void *ctx;
};

struct tld_srv_stats {
    uint64_t accepted;
    uint64_t refused_busy; /* closed at once because max_conns handlers were running */
    unsigned active;
};

/* Bind and listen (errno tells why on TLD_EIO), without accepting yet. */
int tld_srv_new(const struct tld_srv_opts *o, struct tld_srv **out);
unsigned tld_srv_port(const struct tld_srv *s);
int tld_srv_start(struct tld_srv *s);
/* Stop accepting, cancel every handler and wait for them. */
void tld_srv_stop(struct tld_srv *s);
void tld_srv_free(struct tld_srv *s);
void tld_srv_stats(struct tld_srv *s, struct tld_srv_stats *st);

#endif
