/*
 * The forwarder: the spool consumer that ships events to the manager over the transport
 * (docs/PROTOCOL.md) and acknowledges them in the spool only when the manager says they are
 * durably recorded there.
 *
 * Session: connect (TLS 1.3 with the agent's certificate; the manager must present a
 * certificate of the CA received at enrollment), HELLO with the spool's stream id and range,
 * WELCOME with the manager's last durable sequence number for that stream; the spool is
 * acknowledged up to it and reading resumes right after. Then batches (sequence numbers from
 * the spool) are sent with up to `window` batches in flight; each ACK acknowledges the spool.
 * KEEPALIVE every keepalive interval; the connection is dropped if the manager says nothing for
 * three intervals. On any failure: reconnect with bounded exponential backoff, resending from
 * the last acknowledgement -- the manager drops what it already has, so nothing is lost or
 * doubled. A manager that refuses the agent (removed, unknown) is retried slowly and logged.
 *
 * The stream id is a random number kept in `<spool dir>/stream.id`; a new spool (deleted
 * directory, reinstalled agent) gets a new one, so its sequence numbers, which restart at 1,
 * are not mistaken for duplicates.
 *
 * Without an identity in tls_dir, and with `enroll` options given, the forwarder enrolls first
 * (retrying with backoff), so an agent configured with a manager address enrolls by itself.
 */
#ifndef TLD_AGENT_FORWARDER_H
#define TLD_AGENT_FORWARDER_H

#include <stdbool.h>
#include <stdint.h>

#include "agent/enroll_client.h"
#include "collect/spool.h"
#include "common/log.h"

#define TLD_FORWARDER_MAX_SERVERS 8

struct tld_forwarder;

struct tld_forwarder_server {
    const char *host;
    unsigned port;
};

struct tld_forwarder_opts {
    struct tld_spool *spool;
    const char *spool_dir; /* for stream.id */
    struct tld_forwarder_server servers[TLD_FORWARDER_MAX_SERVERS];
    unsigned nservers;   /* tried in turn */
    const char *tls_dir; /* agent.key, agent.crt, ca.crt */
    struct tld_log *log;
    const char *name;        /* agent name sent in HELLO (informational) */
    unsigned window;         /* batches in flight; 0: 8 */
    unsigned backoff_max_ms; /* reconnect back-off cap (doubling from 500 ms, jittered); 0: 5000 */
    int connect_timeout_ms;  /* 0: 10000 */
    /* Several servers: the first is the preferred one. After a failure the next is tried; while
     * on another than the first, the first is probed (a TCP connect) every failback_s seconds
     * (0: 60) and the session moves back as soon as it answers. Unacknowledged events are sent
     * again to whichever manager the agent reaches (it says what it already holds). */
    unsigned failback_s;
    /* Automatic enrollment when tls_dir holds no identity (host NULL: never). */
    struct tld_enroll_client_opts enroll;
};

struct tld_forwarder_stats {
    bool connected;
    char agent_id[TLD_PROTO_MAX_ID];
    uint64_t connects, failures, refusals;
    uint64_t batches, events, acked_seq;
    uint64_t keepalives;
    uint64_t resent; /* events sent again after a reconnect */
    uint64_t enrollments;
};

int tld_forwarder_new(const struct tld_forwarder_opts *o, struct tld_forwarder **out);
/* Until tld_forwarder_stop() (or the spool shuts down). */
int tld_forwarder_run(struct tld_forwarder *f);
void tld_forwarder_stop(struct tld_forwarder *f);
void tld_forwarder_free(struct tld_forwarder *f);
void tld_forwarder_stats(struct tld_forwarder *f, struct tld_forwarder_stats *st);

#endif
