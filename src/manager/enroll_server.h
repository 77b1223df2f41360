/*
 * Enrollment (TCP 1515, TLS 1.3, no client certificate). Connections live in a network loop
 * (netloop.h: connections per address, a pending pool where the oldest gives way, a deadline
 * for the handshake and the request); the password check and the signing run on two worker
 * threads behind a bounded queue (a full queue answers "busy"). An agent sends one ENROLL_REQ frame
 * (name, password, certificate request); the manager answers ENROLL_OK (agent id, client
 * certificate, CA certificate) or ERROR (code and reason), then closes.
 *
 * Checks, in this order, so that an unauthenticated client learns nothing about enrolled names:
 * rate limit per source address, lockout (of the address, or of every address after many
 * failures in all), request well-formed, global rate limit (all addresses together, so rotating
 * source addresses gain nothing; it also bounds the scrypt work), password (when configured;
 * scrypt hash compared in constant time), name valid, certificate request valid, name not taken
 * (unless force), table not full, not too many agents that never connected. Requests refused by
 * a lockout produce no own event each: the lockout itself is one (enrollment_lockout). Every
 * outcome is logged with the address and the reason, counted, and produces an own event
 * (agent_enrolled, agent_replaced, enrollment_refused).
 */
#ifndef TLD_MANAGER_ENROLL_SERVER_H
#define TLD_MANAGER_ENROLL_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/log.h"
#include "manager/agents.h"
#include "manager/own_events.h"

struct tld_enroll_server;

struct tld_enroll_opts {
    const char *host;
    unsigned port;
    const char *ca_dir; /* ca.key, ca.crt, manager.key, manager.crt */
    struct tld_agents *agents;
    const char *password_hash; /* NULL: no password required */
    bool force;
    unsigned rate_requests;
    int64_t rate_period_s;
    unsigned cert_days;
    unsigned global_rate;             /* requests per second in all; 0: 5 */
    unsigned lockout_failures;        /* per address; 0: no lockout */
    unsigned lockout_global_failures; /* all addresses together; 0: no lockout */
    int64_t lockout_s;                /* lockout duration and counting window; 0: 600 */
    unsigned max_conns;               /* concurrent enrollment connections; 0: 1024 */
    unsigned max_per_addr;            /* connections from one address; 0: 8 */
    int timeout_ms;                   /* handshake + request; 0: 10000 */
    struct tld_log *log;
    struct tld_own_sink own;
};

struct tld_enroll_stats {
    uint64_t requests;
    uint64_t enrolled;
    uint64_t refused; /* every refusal, including the ones below */
    uint64_t bad_password;
    uint64_t rate_limited; /* per address and global */
    uint64_t locked_out;   /* refused while a lockout was in force */
    uint64_t lockouts;     /* lockouts started */
    uint64_t malformed;
    uint64_t tls_failures;
    uint64_t timeouts;        /* no handshake or request in time */
    uint64_t evicted;         /* pending, closed to make room for a newer one */
    uint64_t address_limited; /* too many connections from one address */
    unsigned conns;           /* open now */
};

int tld_enroll_server_new(const struct tld_enroll_opts *o, struct tld_enroll_server **out,
                          char why[TLD_WHY_MAX]);
unsigned tld_enroll_server_port(const struct tld_enroll_server *s);
int tld_enroll_server_start(struct tld_enroll_server *s);
void tld_enroll_server_stop(struct tld_enroll_server *s);
void tld_enroll_server_free(struct tld_enroll_server *s);
void tld_enroll_server_stats(struct tld_enroll_server *s, struct tld_enroll_stats *st);

/* The limits a reload may change while the server runs (the other options are fixed at start;
 * fields as in struct tld_enroll_opts). Any thread. */
struct tld_enroll_limits {
    unsigned rate_requests;
    int64_t rate_period_s;
    unsigned global_rate;
    unsigned lockout_failures, lockout_global_failures;
    int64_t lockout_s;
};
void tld_enroll_server_set_limits(struct tld_enroll_server *s, const struct tld_enroll_limits *l);

/* The decision for one request payload from `ip`, without sockets: enroll or refuse, and the
 * answer frame (type and payload) to send back. */
int tld_enroll_server_handle(struct tld_enroll_server *s, const char *ip, struct tld_sv payload,
                             unsigned *answer_type, struct tld_sb *answer);

/*
 * The checks on the request itself, without state (shared with the fuzzer): decode `payload`,
 * check the name and the certificate request. 0 with *req (views into payload), or a refusal
 * code (enum tld_proto_code) with a reason.
 */
int tld_enroll_parse(struct tld_sv payload, struct tld_msg_enroll_req *req, unsigned *code,
                     char reason[TLD_WHY_MAX]);

#endif
