/*
 * Internals shared by netloop.c (the loop: accepting, limits, deadlines, posting) and
 * netloop_io.c (one connection's TLS reads and writes and its frame assembly).
 */
#ifndef TLD_MANAGER_NETLOOP_INT_H
#define TLD_MANAGER_NETLOOP_INT_H

#include <pthread.h>

#include "common/proto.h"
#include "manager/netloop.h"

enum nl_state { NL_HANDSHAKE, NL_PENDING, NL_ACCEPTED, NL_CLOSING };

/* Connections per source address, for the limits; freed when its last connection goes. */
struct nl_addr {
    struct nl_addr *next; /* hash chain */
    unsigned conns, pending;
    char ip[TLD_NET_ADDR_MAX];
};

struct tld_nl_conn {
    struct tld_netloop *l;
    uint32_t index, gen;
    enum nl_state st;
    struct tld_tls_conn *tls; /* owns the socket */
    int fd;
    unsigned interest; /* epoll events registered now */
    short read_want;   /* what the last read waits for (POLLIN, or POLLOUT for a key update) */
    short write_want;
    bool opened; /* on_open was called: on_close is owed */
    bool held;   /* on_frame kept the frame; not read until resumed */
    bool resumed;
    bool budget_wait; /* waiting in line for the shared budget */
    bool on_ready;    /* in the ready list */
    bool write_failed;
    unsigned turn_frames;   /* frames delivered in this turn */
    int64_t since_ns;       /* TCP accept: the handshake deadline counts from here */
    int64_t last_rx_ns;     /* last time the socket had something for us (eviction) */
    int64_t frame_start_ns; /* first byte of the frame being read */
    int64_t last_ns;        /* end of the last frame (idle deadline) */
    int64_t close_ns;       /* closing: give up writing at this time */
    const char *close_why;
    struct nl_addr *addr;
    char addr_text[TLD_NET_ADDR_MAX];
    /* input: the header, then the payload */
    uint8_t hdr[TLD_PROTO_HEADER];
    size_t hdr_got;
    bool in_payload;
    unsigned type;
    size_t len, got;
    char *buf;      /* owned; len + 1 bytes */
    size_t charged; /* bytes of the shared budget this payload holds */
    /* output */
    struct tld_sb out;
    size_t out_off;
    void *data; /* the service's */
    /* links: pending FIFO (oldest first), budget waiters, ready list */
    struct tld_nl_conn *pend_prev, *pend_next;
    struct tld_nl_conn *wait_prev, *wait_next;
};

struct nl_post {
    struct nl_post *next;
    void (*fn)(void *arg);
    void *arg;
};

struct tld_netloop {
    struct tld_netloop_opts o;
    int lfd, ep, wake_fd;
    unsigned port;
    bool listening;   /* the listener is in the epoll set */
    bool paused_full; /* the listener rests until a pending slot frees */
    bool shutting_down;
    int64_t listen_resume_ns;
    pthread_t thread;
    bool started, stopped;
    struct tld_nl_conn **conns; /* max_conns slots */
    uint32_t *gens;
    unsigned nconns, npending;
    struct tld_nl_conn *pend_head, *pend_tail;
    struct tld_nl_conn *wait_head, *wait_tail;
    uint64_t *ready; /* handles to serve again this turn (stale ones are skipped) */
    unsigned nready, ready_cap;
    uint64_t *closing; /* handles of connections in NL_CLOSING */
    unsigned nclosing, closing_cap;
    uint32_t *free_slots; /* stack of unused indexes */
    unsigned nfree;
    struct nl_addr **addr_tab;
    unsigned addr_buckets;
    size_t budget_used;
    pthread_mutex_t mu; /* posts, stop flag and stats */
    struct nl_post *posts, *posts_tail;
    bool stopping;
    struct tld_netloop_stats st;
};

/* netloop.c */
void nl_count(struct tld_netloop *l, uint64_t *field);
void nl_set_interest(struct tld_nl_conn *c);
void nl_make_ready(struct tld_nl_conn *c);
void nl_budget_release(struct tld_netloop *l, struct tld_nl_conn *c);
bool nl_budget_take(struct tld_netloop *l, struct tld_nl_conn *c, size_t n);
/* Turn away a connection that had no on_open (counted by the caller), freeing it now. */
void nl_refuse(struct tld_nl_conn *c, enum tld_nl_refusal kind, const char *why);

/* netloop_io.c */
/* Drive the handshake, the reads (up to a few frames) and the writes of one connection. */
void nl_serve(struct tld_nl_conn *c, unsigned events);
/* Write what is queued; false when the connection failed (it is then closing). */
bool nl_flush(struct tld_nl_conn *c);
/* Free the payload buffer of the current frame and get ready for the next header. */
void nl_frame_done(struct tld_nl_conn *c);

#endif
