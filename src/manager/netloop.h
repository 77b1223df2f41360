/*
 * The network front of the manager's two TLS servers (enrollment on 1515, the transport on
 * 1514): one thread and one epoll set hold every connection, so an idle or slow peer costs a
 * small structure and OpenSSL's idle state (its buffers are released), not a thread.
 *
 * A connection goes through
 *   pending   TLS handshake, then the service's first exchange (HELLO, ENROLL_REQ), until the
 *             service calls tld_nl_accept(). Bounded by a deadline (handshake_ms from the TCP
 *             accept), a count per source address and a count in all. When the pending pool is
 *             full, the oldest connection whose peer stalls it (silent for a second, nothing
 *             unread) is closed to make room; when every pending handshake is under way, new
 *             connections wait in the kernel's backlog until one finishes. So peers that hold
 *             connections open without speaking (or a byte now and then) never keep a
 *             legitimate one out, and a storm of legitimate agents does not undo its own work.
 * Frames are bounded by max_pending_frame here: an unauthenticated peer never holds much memory.
 *   accepted  frames of up to max_frame; idle_ms without a whole frame closes it, and a frame
 *             must arrive within frame_ms of its first byte.
 *   closing   the queued output is written (for at most 2 s), then the socket is closed.
 *
 * Memory per connection does not grow with frame size: a payload up to conn_buffer bytes is
 * the connection's own; a larger one is charged in full to one budget shared by all
 * connections (shared_budget), and a connection that does not fit waits unread (first come,
 * first served) until earlier frames are done. A payload buffer is freed once its frame is
 * consumed.
 *
 * Services see whole frames through callbacks that all run in the loop thread; other threads
 * reach the loop only through tld_netloop_post(). A connection is named across threads by its
 * handle (index and generation), which never names a later connection in the same slot.
 *
 * Failures to accept (EMFILE, ENFILE, ENOBUFS) close the oldest pending connection when there
 * is one, else pause the listener briefly; they never stop the loop.
 */
#ifndef TLD_MANAGER_NETLOOP_H
#define TLD_MANAGER_NETLOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "common/net.h"
#include "common/str.h"
#include "common/tls.h"

struct tld_netloop;
struct tld_nl_conn;

/* Why a connection was turned away before its service saw it (tld_netloop_ops.on_refused). */
enum tld_nl_refusal {
    TLD_NL_TLS_FAILED = 1, /* handshake failed (why says how) */
    TLD_NL_TIMEOUT,        /* no handshake, or no first exchange, within handshake_ms */
    TLD_NL_EVICTED,        /* oldest pending connection, closed to make room */
    TLD_NL_ADDRESS_LIMIT,  /* too many connections from this address */
    TLD_NL_FULL,           /* max_conns reached by accepted connections */
    TLD_NL_PROTOCOL,       /* bad frame header or a frame over the bound before on_open */
};

/* Callbacks, all called in the loop thread. The payload view is valid during the call only. */
struct tld_netloop_ops {
    /* Handshake done: check the peer; then accept (now or after a first frame), or close. */
    void (*on_open)(void *ctx, struct tld_nl_conn *c);
    /* One whole frame. TLD_EAGAIN keeps it: the connection is not read until tld_nl_resume(),
     * then the same frame comes again. Anything else consumes it. */
    int (*on_frame)(void *ctx, struct tld_nl_conn *c, unsigned type, struct tld_sv payload);
    /* Protocol violation in the framing (bad header, frame over the bound) after on_open: the
     * service may send its error; the connection is closed right after. */
    void (*on_bad_frame)(void *ctx, struct tld_nl_conn *c, const char *why);
    /* The connection goes away (only connections that had on_open). */
    void (*on_close)(void *ctx, struct tld_nl_conn *c, const char *why);
    /* Once per loop turn, after every ready connection was served: the group-commit point. */
    void (*on_turn)(void *ctx);
    /* About every 200 ms. */
    void (*on_tick)(void *ctx, int64_t mono_ns);
    /* The loop is stopping: a last word to a connection that had on_open (optional). */
    void (*on_stop)(void *ctx, struct tld_nl_conn *c);
    /* Turned away before on_open (optional; for counting and logging). */
    void (*on_refused)(void *ctx, const char *addr, enum tld_nl_refusal kind, const char *why);
};

struct tld_netloop_opts {
    const char *host;              /* NULL: all addresses */
    unsigned port;                 /* 0: any free port (tests) */
    struct tld_tls_ctx *tls;       /* borrowed; a server context */
    unsigned max_conns;            /* 0: 1024 */
    unsigned max_pending;          /* 0: 256 */
    unsigned max_per_addr;         /* all connections of one IP address; 0: no limit */
    unsigned max_pending_per_addr; /* 0: 16 */
    int handshake_ms;              /* 0: 10000 */
    int idle_ms;                   /* 0: no idle limit */
    int frame_ms;                  /* 0: 30000 */
    size_t max_frame;              /* 0: TLD_PROTO_MAX_PAYLOAD */
    size_t max_pending_frame;      /* 0: 64 KiB */
    size_t conn_buffer;            /* 0: 64 KiB */
    size_t shared_budget;          /* 0: 64 MiB; at least max_frame */
    size_t max_output; /* queued output bytes before the peer counts as stuck; 0: 1 MiB */
    const struct tld_netloop_ops *ops;
    void *ctx;
};

struct tld_netloop_stats {
    uint64_t accepted; /* TCP connections accepted */
    uint64_t tls_failures;
    uint64_t timeouts; /* pending past handshake_ms */
    uint64_t evicted;  /* oldest pending closed for a newer one */
    uint64_t address_limited;
    uint64_t full;          /* refused at max_conns */
    uint64_t idle_closed;   /* accepted, silent past idle_ms or a frame past frame_ms */
    uint64_t accept_errors; /* EMFILE and the like */
    uint64_t budget_waits;  /* frames that waited for the shared budget */
    unsigned conns, pending;
    uint64_t budget_used; /* bytes of the shared budget in use now */
};

/* Bind and listen (errno tells why on TLD_EIO); nothing runs until tld_netloop_start(). */
int tld_netloop_new(const struct tld_netloop_opts *o, struct tld_netloop **out);
unsigned tld_netloop_port(const struct tld_netloop *l);
int tld_netloop_start(struct tld_netloop *l);
/* Stop accepting, give each connection its last word (on_stop), write what is queued for at
 * most a second, close everything (on_close) and join the thread. Idempotent. */
void tld_netloop_stop(struct tld_netloop *l);
void tld_netloop_free(struct tld_netloop *l);
void tld_netloop_stats(struct tld_netloop *l, struct tld_netloop_stats *st);
/* Run fn(arg) in the loop thread soon; from any thread. TLD_ECLOSED once stopping (fn will not
 * run: the caller keeps arg), TLD_ENOMEM. */
int tld_netloop_post(struct tld_netloop *l, void (*fn)(void *arg), void *arg);

/* ---- inside callbacks and posted functions only (the loop thread) ---------------------------- */
/* The connection a handle names, or NULL when it is gone. */
struct tld_nl_conn *tld_netloop_find(struct tld_netloop *l, uint64_t handle);
uint64_t tld_nl_handle(const struct tld_nl_conn *c);
const char *tld_nl_addr(const struct tld_nl_conn *c); /* "ip:port" */
const char *tld_nl_ip(const struct tld_nl_conn *c);
void *tld_nl_data(const struct tld_nl_conn *c);
void tld_nl_set_data(struct tld_nl_conn *c, void *data);
struct tld_tls_conn *tld_nl_tls(struct tld_nl_conn *c);
/* Leave the pending state: no handshake deadline, idle_ms and max_frame from now on. */
void tld_nl_accept(struct tld_nl_conn *c);
/* Queue a frame (written as the socket allows). TLD_ELIMIT when the peer does not read (the
 * connection is then closed), TLD_ECLOSED when it is closing, TLD_ENOMEM. */
int tld_nl_send(struct tld_nl_conn *c, unsigned type, struct tld_sv payload);
/* Close after the queued output is written (at most 2 s). `why` must be a static string. */
void tld_nl_close(struct tld_nl_conn *c, const char *why);
bool tld_nl_closing(const struct tld_nl_conn *c);
/* Read again after on_frame kept a frame (the kept frame comes first). */
void tld_nl_resume(struct tld_nl_conn *c);

#endif
