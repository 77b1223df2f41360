/*
 * Transport receiver (see receiver.h). Each connection has a slot with its own eventfd: the
 * receiver writes it to make that connection stop (agent replaced, removed, or shutdown), and
 * the slot's `reason` tells the handler which ERROR to send before closing.
 */
#include "manager/receiver.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/proto.h"
#include "common/tls.h"
#include "manager/server.h"

#define MAX_PIPELINED 16 /* batches appended before one fsync + ACK */

struct slot {
    bool used;
    unsigned agent; /* 0 until authenticated */
    int efd;
    unsigned reason; /* TLD_PCODE_* that stopped it, 0 = none */
};

struct tld_receiver {
    struct tld_receiver_opts o;
    struct tld_srv *srv;
    struct tld_tls_ctx *tls;
    pthread_mutex_t mu;
    struct slot *slots;
    bool stopping;
    struct tld_receiver_stats st;
};

struct conn {
    struct tld_receiver *r;
    struct tld_tls_conn *c;
    unsigned slot;
    unsigned agent;
    char id[TLD_PROTO_MAX_ID];
    char name[TLD_PROTO_MAX_NAME + 1];
    char ip[TLD_NET_ADDR_MAX];
    const char *addr;
    uint64_t stream;
    struct tld_journal_entry *entries;
    struct tld_sb out;
    /* appended but not yet acknowledged */
    uint64_t pending_sync;
    uint64_t pending_seq;
    unsigned pending;
};

static void add(struct tld_receiver *r, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&r->mu);
    *field += n;
    pthread_mutex_unlock(&r->mu);
}

/* A free slot with a fresh eventfd: 0, TLD_EIO (no eventfd) or TLD_ELIMIT (all slots taken or
 * stopping). */
static int slot_take(struct tld_receiver *r, unsigned *slot, int *efd)
{
    *efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (*efd < 0)
        return TLD_EIO;
    pthread_mutex_lock(&r->mu);
    int rc = TLD_ELIMIT;
    for (unsigned i = 0; i < r->o.max_conns && !r->stopping; i++) {
        if (!r->slots[i].used) {
            r->slots[i] = (struct slot){true, 0, *efd, 0};
            *slot = i;
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (rc)
        close(*efd);
    return rc;
}

static void signal_slot(struct slot *s, unsigned reason)
{
    if (!s->reason)
        s->reason = reason;
    uint64_t one = 1;
    if (write(s->efd, &one, sizeof one) < 0) {
        /* cannot fail for a counter far below its maximum */
    }
}

/* Claim the agent for this slot; an older connection of the same agent is told to go. */
static void slot_claim(struct tld_receiver *r, unsigned slot, unsigned agent)
{
    pthread_mutex_lock(&r->mu);
    for (unsigned i = 0; i < r->o.max_conns; i++)
        if (i != slot && r->slots[i].used && r->slots[i].agent == agent)
            signal_slot(&r->slots[i], TLD_PCODE_REPLACED);
    r->slots[slot].agent = agent;
    r->st.active++;
    pthread_mutex_unlock(&r->mu);
}

/* Release the slot; true when this connection was still the agent's current one. */
static bool slot_release(struct tld_receiver *r, unsigned slot, unsigned *reason)
{
    pthread_mutex_lock(&r->mu);
    struct slot *s = &r->slots[slot];
    *reason = s->reason;
    bool current = s->agent && s->reason != TLD_PCODE_REPLACED;
    if (s->agent)
        r->st.active--;
    close(s->efd);
    *s = (struct slot){0};
    pthread_mutex_unlock(&r->mu);
    return current;
}

static unsigned slot_reason(struct tld_receiver *r, unsigned slot)
{
    pthread_mutex_lock(&r->mu);
    unsigned v = r->slots[slot].reason;
    pthread_mutex_unlock(&r->mu);
    return v;
}

static int send_error(struct conn *cn, unsigned code, const char *reason)
{
    tld_sb_reset(&cn->out);
    struct tld_msg_error e = {code, tld_sv_of(reason)};
    tld_msg_error_put(&cn->out, &e);
    return tld_tls_send_frame(cn->c, TLD_MSG_ERROR, tld_sb_view(&cn->out), 2000);
}

static int send_u64(struct conn *cn, unsigned type, uint64_t v)
{
    tld_sb_reset(&cn->out);
    tld_msg_u64_put(&cn->out, v);
    return tld_tls_send_frame(cn->c, type, tld_sb_view(&cn->out), 10000);
}

/* fsync what was appended and acknowledge the last sequence number. */
static int flush_acks(struct conn *cn)
{
    if (!cn->pending)
        return 0;
    int rc = tld_journal_sync(cn->r->o.journal, cn->pending_sync);
    if (rc) {
        tld_log_error(cn->r->o.log, "intake journal: fsync failed: %s; agent %s not acknowledged",
                      tld_err_str(rc), cn->id);
        return rc;
    }
    rc = send_u64(cn, TLD_MSG_ACK, cn->pending_seq);
    if (rc == 0)
        add(cn->r, &cn->r->st.acks, 1);
    cn->pending = 0;
    return rc;
}

static int on_batch(struct conn *cn, struct tld_sv payload)
{
    struct tld_receiver *r = cn->r;
    struct tld_batch_iter it;
    if (tld_batch_iter_init(&it, payload.p, payload.n) != 0)
        return TLD_EPROTO;
    unsigned n = 0;
    uint64_t seq, need = 0;
    struct tld_sv rec;
    int64_t t = tld_wall_ns();
    int rc;
    while ((rc = tld_batch_iter_next(&it, &seq, &rec)) == 0) {
        cn->entries[n++] =
            (struct tld_journal_entry){cn->agent, cn->stream, seq, t, tld_sv_of(cn->ip), rec};
        need += rec.n + 64;
    }
    if (rc != TLD_ECLOSED)
        return TLD_EPROTO;
    uint64_t sync_to;
    unsigned dups;
    bool stalled = false;
    while ((rc = tld_journal_append(r->o.journal, cn->entries, n, 0, &sync_to, &dups)) ==
           TLD_EAGAIN) {
        /* Journal full: acknowledge what we have, then hold the socket unread until there is
         * room, telling the agent every keepalive interval that we are alive. */
        if (!stalled) {
            stalled = true;
            add(r, &r->st.stalls, 1);
            if ((rc = flush_acks(cn)) != 0)
                return rc;
        }
        for (unsigned waited = 0;; waited++) {
            if (slot_reason(r, cn->slot))
                return TLD_ECLOSED;
            rc = tld_journal_wait_room(r->o.journal, need, 1000);
            if (rc == 0)
                break;
            if (rc == TLD_ECLOSED)
                return rc;
            if ((waited + 1) % r->o.keepalive_s == 0 &&
                (rc = send_u64(cn, TLD_MSG_PONG, (uint64_t)tld_wall_ns())) != 0)
                return rc;
        }
    }
    if (rc)
        return rc;
    tld_agents_count_events(r->o.agents, cn->agent, n - dups);
    pthread_mutex_lock(&r->mu);
    r->st.batches++;
    r->st.events += n - dups;
    r->st.duplicates += dups;
    pthread_mutex_unlock(&r->mu);
    cn->pending_sync = sync_to;
    cn->pending_seq = it.last_seq;
    cn->pending++;
    if (cn->pending >= MAX_PIPELINED || !tld_tls_readable(cn->c))
        return flush_acks(cn);
    return 0;
}

static void own_agent_event(struct conn *cn, const char *event, const char *key, const char *value)
{
    struct tld_own_agent ag = {cn->id, cn->name, cn->ip};
    struct tld_own_field f[] = {{key, value, 0, 0}};
    tld_own_emit(&cn->r->o.own, event, &ag, f, key ? 1 : 0);
}

/* Authenticate, HELLO/WELCOME. 0 when the session may start. */
static int open_session(struct conn *cn)
{
    struct tld_receiver *r = cn->r;
    uint8_t fp[32];
    char cn_text[64];
    if (tld_tls_peer_identity(cn->c, cn_text, sizeof cn_text, fp) != 0) {
        add(r, &r->st.refused, 1);
        tld_log_warn(r->o.log, "transport: %s: certificate without an agent id", cn->addr);
        send_error(cn, TLD_PCODE_UNKNOWN_AGENT, "certificate without an agent id");
        return TLD_EAUTH;
    }
    unsigned id;
    int rc = tld_agents_check(r->o.agents, cn_text, fp, &id);
    if (rc) {
        unsigned code = rc == TLD_EAUTH ? TLD_PCODE_REMOVED_AGENT : TLD_PCODE_UNKNOWN_AGENT;
        const char *why = rc == TLD_EAUTH    ? "agent removed"
                          : rc == TLD_EINVAL ? "certificate superseded by a newer enrollment"
                                             : "unknown agent";
        add(r, &r->st.refused, 1);
        tld_log_warn(r->o.log, "transport: %s: agent %.16s refused: %s", cn->addr, cn_text, why);
        struct tld_own_agent ag = {cn_text, NULL, cn->ip};
        struct tld_own_field f[] = {{"reason", why, 0, 0}};
        tld_own_emit_refusal(&r->o.own, "agent_refused", &ag, f, 1, why);
        send_error(cn, code, why);
        return TLD_EAUTH;
    }
    cn->agent = id;
    tld_agents_id_text(id, cn->id);
    struct tld_agent_info info;
    if (tld_agents_get(r->o.agents, id, &info) == 0)
        snprintf(cn->name, sizeof cn->name, "%s", info.name);
    unsigned type;
    struct tld_sv payload;
    rc = tld_tls_recv_frame(cn->c, &type, &payload, 4096, 10000);
    struct tld_msg_hello hello;
    if (rc == 0 && (type != TLD_MSG_HELLO || tld_msg_hello_get(payload.p, payload.n, &hello)))
        rc = TLD_EPROTO;
    if (rc) {
        add(r, &r->st.protocol_errors, 1);
        tld_log_warn(r->o.log, "transport: %s: agent %s: no valid HELLO (%s)", cn->addr, cn->id,
                     tld_err_str(rc));
        if (rc == TLD_EPROTO)
            send_error(cn, TLD_PCODE_PROTOCOL, "expected HELLO");
        return rc;
    }
    cn->stream = hello.stream;
    slot_claim(r, cn->slot, id);
    uint64_t last = tld_journal_watermark(r->o.journal, id, hello.stream);
    tld_sb_reset(&cn->out);
    struct tld_msg_welcome w = {tld_sv_of(cn->id),    last,
                                r->o.keepalive_s,     r->o.max_batch_events,
                                r->o.max_batch_bytes, tld_sv_of(r->o.manager_name)};
    tld_msg_welcome_put(&cn->out, &w);
    if ((rc = tld_tls_send_frame(cn->c, TLD_MSG_WELCOME, tld_sb_view(&cn->out), 10000)) != 0)
        return rc;
    int64_t now_s = tld_wall_ns() / 1000000000;
    tld_agents_set_connected(r->o.agents, id, cn->ip, &hello, now_s);
    add(r, &r->st.sessions, 1);
    tld_log_info(r->o.log,
                 "agent %s '%s' connected from %s (version %.*s, spool %" PRIu64 "..%" PRIu64
                 ", manager has up to %" PRIu64 ")",
                 cn->id, cn->name, cn->addr, (int)hello.version.n, hello.version.p, hello.first_seq,
                 hello.next_seq, last);
    char ver[64];
    snprintf(ver, sizeof ver, "%.*s", (int)(hello.version.n < 63 ? hello.version.n : 63),
             hello.version.p);
    own_agent_event(cn, "agent_connected", "version", ver);
    return 0;
}

static const char *session(struct conn *cn)
{
    struct tld_receiver *r = cn->r;
    int silence_ms = (int)r->o.keepalive_s * 3000;
    for (;;) {
        unsigned type;
        struct tld_sv payload;
        if (cn->pending && !tld_tls_readable(cn->c) && flush_acks(cn) != 0)
            return "write failed";
        int rc = tld_tls_recv_frame(cn->c, &type, &payload, TLD_PROTO_MAX_PAYLOAD, silence_ms);
        if (rc == TLD_ETIMEOUT)
            return "keepalive timeout";
        if (rc == TLD_ECLOSED)
            return slot_reason(r, cn->slot) ? "closed by the manager" : "closed by the agent";
        if (rc == TLD_EPROTO) {
            add(r, &r->st.protocol_errors, 1);
            send_error(cn, TLD_PCODE_PROTOCOL, "bad frame");
            return "protocol error (bad frame)";
        }
        if (rc)
            return "connection error";
        switch (type) {
        case TLD_MSG_BATCH:
            rc = on_batch(cn, payload);
            if (rc == TLD_EPROTO) {
                add(r, &r->st.protocol_errors, 1);
                send_error(cn, TLD_PCODE_PROTOCOL, "malformed batch");
                return "protocol error (malformed batch)";
            }
            if (rc == TLD_ECLOSED)
                return slot_reason(r, cn->slot) ? "closed by the manager" : "closed by the agent";
            if (rc)
                return "journal or connection error";
            break;
        case TLD_MSG_KEEPALIVE: {
            struct tld_msg_keepalive ka;
            if (tld_msg_keepalive_get(payload.p, payload.n, &ka) != 0) {
                add(r, &r->st.protocol_errors, 1);
                send_error(cn, TLD_PCODE_PROTOCOL, "malformed keepalive");
                return "protocol error (malformed keepalive)";
            }
            tld_agents_set_keepalive(r->o.agents, cn->agent, &ka, tld_wall_ns() / 1000000000);
            add(r, &r->st.keepalives, 1);
            if (flush_acks(cn) != 0 || send_u64(cn, TLD_MSG_PONG, (uint64_t)tld_wall_ns()) != 0)
                return "write failed";
            break;
        }
        default:
            add(r, &r->st.protocol_errors, 1);
            send_error(cn, TLD_PCODE_PROTOCOL, "unexpected message type");
            return "protocol error (unexpected message)";
        }
    }
}

static void handle(void *ctx, int fd, const char *addr, int srv_cancel)
{
    struct tld_receiver *r = ctx;
    int efd;
    unsigned slot;
    if (slot_take(r, &slot, &efd) != 0) {
        close(fd);
        return;
    }
    struct conn cn = {.r = r, .slot = slot, .addr = addr};
    tld_net_peer_ip(fd, cn.ip);
    add(r, &r->st.connections, 1);
    char why[TLD_WHY_MAX];
    if (tld_tls_accept(r->tls, fd, efd, r->o.handshake_ms, &cn.c, why) != 0) {
        add(r, &r->st.tls_failures, 1);
        tld_log_warn(r->o.log, "transport: %s: %s", addr, why);
        unsigned reason;
        slot_release(r, cn.slot, &reason);
        return;
    }
    tld_sb_init(&cn.out, 65536);
    cn.entries = malloc(TLD_PROTO_MAX_BATCH * sizeof *cn.entries);
    const char *ended = "out of memory";
    if (cn.entries && open_session(&cn) == 0)
        ended = session(&cn);
    else
        ended = NULL;
    /* From here on nothing may be cancelled: the slot's eventfd is about to close. */
    tld_tls_set_cancel(cn.c, -1);
    unsigned reason = slot_reason(r, cn.slot);
    if (!reason)
        flush_acks(&cn);
    else if (cn.agent) {
        /* Told to go: say why. */
        send_error(&cn, reason, tld_proto_code_str(reason));
        if (ended)
            ended = tld_proto_code_str(reason);
    }
    bool current = slot_release(r, cn.slot, &reason);
    if (cn.agent && ended) {
        tld_log_info(r->o.log, "agent %s '%s' disconnected (%s)", cn.id, cn.name, ended);
        if (current) {
            tld_agents_set_disconnected(r->o.agents, cn.agent);
            own_agent_event(&cn, "agent_disconnected", "reason", ended);
        }
    }
    free(cn.entries);
    tld_sb_fini(&cn.out);
    tld_tls_close(cn.c);
}

int tld_receiver_new(const struct tld_receiver_opts *o, struct tld_receiver **out,
                     char why[TLD_WHY_MAX])
{
    *out = NULL;
    struct tld_receiver *r = calloc(1, sizeof *r);
    if (!r)
        return TLD_ENOMEM;
    r->o = *o;
    if (!r->o.keepalive_s)
        r->o.keepalive_s = 10;
    if (!r->o.max_conns)
        r->o.max_conns = 1024;
    if (!r->o.max_batch_events || r->o.max_batch_events > TLD_PROTO_MAX_BATCH)
        r->o.max_batch_events = 1024;
    if (!r->o.max_batch_bytes)
        r->o.max_batch_bytes = 1u << 20;
    if (!r->o.handshake_ms)
        r->o.handshake_ms = 10000;
    if (!r->o.manager_name)
        r->o.manager_name = "manager";
    pthread_mutex_init(&r->mu, NULL);
    r->slots = calloc(r->o.max_conns, sizeof *r->slots);
    int rc = r->slots ? 0 : TLD_ENOMEM;
    if (rc == 0) {
        char ca[4200], cert[4200], key[4200];
        snprintf(ca, sizeof ca, "%s/ca.crt", o->ca_dir);
        snprintf(cert, sizeof cert, "%s/manager.crt", o->ca_dir);
        snprintf(key, sizeof key, "%s/manager.key", o->ca_dir);
        struct tld_tls_ctx_opts to = {.server = true,
                                      .cert_file = cert,
                                      .key_file = key,
                                      .ca_file = ca,
                                      .require_client_cert = true};
        rc = tld_tls_ctx_new(&to, &r->tls, why);
    }
    if (rc == 0) {
        /* One more than the slots: a surplus connection is closed by the skeleton itself. */
        struct tld_srv_opts so = {o->host, o->port, r->o.max_conns, handle, r};
        if ((rc = tld_srv_new(&so, &r->srv)) != 0)
            snprintf(why, TLD_WHY_MAX, "cannot listen on port %u: %s", o->port, strerror(errno));
    }
    if (rc) {
        tld_receiver_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

unsigned tld_receiver_port(const struct tld_receiver *r)
{
    return tld_srv_port(r->srv);
}

int tld_receiver_start(struct tld_receiver *r)
{
    return tld_srv_start(r->srv);
}

void tld_receiver_stop(struct tld_receiver *r)
{
    if (!r || !r->srv)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    for (unsigned i = 0; i < r->o.max_conns; i++)
        if (r->slots[i].used)
            signal_slot(&r->slots[i], TLD_PCODE_SHUTDOWN);
    pthread_mutex_unlock(&r->mu);
    tld_srv_stop(r->srv);
}

void tld_receiver_free(struct tld_receiver *r)
{
    if (!r)
        return;
    tld_receiver_stop(r);
    tld_srv_free(r->srv);
    tld_tls_ctx_free(r->tls);
    free(r->slots);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

void tld_receiver_kick(struct tld_receiver *r, unsigned agent)
{
    pthread_mutex_lock(&r->mu);
    for (unsigned i = 0; i < r->o.max_conns; i++)
        if (r->slots[i].used && r->slots[i].agent == agent)
            signal_slot(&r->slots[i], TLD_PCODE_REMOVED_AGENT);
    pthread_mutex_unlock(&r->mu);
}

void tld_receiver_stats(struct tld_receiver *r, struct tld_receiver_stats *st)
{
    pthread_mutex_lock(&r->mu);
    *st = r->st;
    pthread_mutex_unlock(&r->mu);
}
