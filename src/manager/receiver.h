/*
 * The transport receiver (TCP 1514, TLS 1.3, mutual authentication). Every connection lives in
 * one network loop (netloop.h: limits per address, handshake and idle deadlines, a memory bound
 * that does not grow with frame size), which
 *   1. completes the handshake only for a client certificate signed by our CA,
 *   2. accepts the agent only if the registry knows the certificate's id, the agent is not
 *      removed and the certificate is the one issued last (ERROR with the reason otherwise),
 *   3. answers HELLO with WELCOME carrying the highest sequence number of the agent's spool
 *      stream already durable here, so the agent resends exactly what is missing,
 *   4. appends each BATCH to the intake journal (duplicates dropped there), fsyncs (group
 *      commit, several batches per fsync when the agent pipelines) and only then sends ACK,
 *   5. answers KEEPALIVE with PONG and keeps the agent's status in the registry.
 * Group commit: the loop never waits for an fsync. It asks the journal syncer (syncer.h) to make
 * what it appended durable and goes on reading; when a sync is done, every connection whose
 * batches it covered gets its ACK (one fsync for the batches of many turns under load). When
 * the journal is full a connection's batch is kept and its socket is not read (TCP
 * back-pressure to the agent, whose spool holds the rest); it gets a PONG every keepalive
 * interval so the agent knows the manager is alive.
 * One connection per agent: a new one replaces the old one. A connection silent for 3
 * keepalive intervals is closed.
 *
 * Own events: agent_connected, agent_disconnected (with the reason), agent_refused.
 */
#ifndef TLD_MANAGER_RECEIVER_H
#define TLD_MANAGER_RECEIVER_H

#include <stdint.h>

#include "common/log.h"
#include "manager/agents.h"
#include "manager/journal.h"
#include "manager/own_events.h"

struct tld_receiver;

struct tld_receiver_opts {
    const char *host;
    unsigned port;
    const char *ca_dir; /* ca.crt, manager.crt, manager.key */
    struct tld_agents *agents;
    struct tld_journal *journal;
    struct tld_log *log;
    struct tld_own_sink own;
    const char *manager_name;
    unsigned keepalive_s;          /* 0: 10 */
    unsigned max_conns;            /* 0: 16384 */
    unsigned max_per_addr;         /* connections from one address; 0: no limit (NAT) */
    unsigned max_pending_per_addr; /* not yet authenticated, from one address; 0: 16 */
    size_t frame_memory;           /* shared budget for frames over 64 KiB; 0: 64 MiB */
    unsigned max_batch_events;     /* 0: 1024 */
    unsigned max_batch_bytes;      /* 0: 1 MiB */
    int handshake_ms;              /* 0: 10000 */
};

struct tld_receiver_stats {
    uint64_t connections;  /* TCP connections accepted */
    uint64_t tls_failures; /* handshake failed (no or bad certificate, plaintext, ...) */
    uint64_t timeouts;     /* no handshake or HELLO in time */
    uint64_t evicted;      /* unauthenticated, closed to make room for a newer one */
    uint64_t address_limited, full, idle_closed, budget_waits;
    uint64_t accept_errors; /* accept() failed (out of descriptors): the oldest pending went */
    uint64_t refused;       /* unknown, removed or superseded certificate */
    uint64_t sessions;      /* agents that got a WELCOME */
    uint64_t batches, events, duplicates, acks, keepalives;
    uint64_t protocol_errors;
    uint64_t stalls;       /* times a connection waited for journal room */
    unsigned active;       /* connected agents now */
    unsigned conns;        /* connections now, authenticated or not */
    unsigned pending;      /* not yet authenticated now */
    uint64_t frame_memory; /* bytes of the shared frame budget in use */
};

int tld_receiver_new(const struct tld_receiver_opts *o, struct tld_receiver **out,
                     char why[TLD_WHY_MAX]);
unsigned tld_receiver_port(const struct tld_receiver *r);
int tld_receiver_start(struct tld_receiver *r);
/* Close every connection (ERROR "shutdown" where possible) and wait for the loop thread. */
void tld_receiver_stop(struct tld_receiver *r);
void tld_receiver_free(struct tld_receiver *r);
/* Close the connection of an agent that was removed (ERROR "agent removed"). */
void tld_receiver_kick(struct tld_receiver *r, unsigned agent);
void tld_receiver_stats(struct tld_receiver *r, struct tld_receiver_stats *st);

#endif
