/*
 * Transport receiver (see receiver.h): the agent protocol on top of the network loop. All of
 * it runs in the loop thread except tld_receiver_kick() (posted to the loop) and the stats
 * (under a mutex). A session's lists (waiting for an ACK, holding a batch for journal room)
 * name it by its connection handle, so a session that is gone is simply skipped.
 */
#include "manager/receiver.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/deadline.h"
#include "common/err.h"
#include "common/grow.h"
#include "common/proto.h"
#include "common/tls.h"
#include "manager/netloop.h"
#include "manager/syncer.h"

struct session {
    struct tld_receiver *r;
    struct tld_nl_conn *c;
    struct session *map_next; /* agent map chain (welcomed sessions only) */
    unsigned agent;           /* from the certificate; 0 until checked */
    bool welcomed;            /* HELLO answered: counted as active */
    bool on_ack_list, pong_due;
    bool welcome_due; /* HELLO read, WELCOME once its batches are durable */
    bool held;        /* a batch is kept until the journal has room */
    bool stalled;     /* counted as a stall; cleared by the next append */
    unsigned reason;  /* TLD_PCODE_* the manager closed it for; 0: none */
    char id[TLD_PROTO_MAX_ID];
    char name[TLD_PROTO_MAX_NAME + 1];
    char ip[TLD_NET_ADDR_MAX];
    uint64_t stream, first_seq, next_seq; /* from HELLO */
    char version[64];
    uint64_t pending_sync, pending_seq; /* appended, not yet acknowledged */
    int64_t last_pong_ns;               /* while holding a batch */
};

struct handle_list {
    uint64_t *v;
    unsigned n, cap;
};

struct tld_receiver {
    struct tld_receiver_opts o;
    struct tld_tls_ctx *tls;
    struct tld_netloop *loop;
    /* loop thread only */
    struct tld_journal_entry *entries;
    struct tld_sb out;
    struct session **map; /* agent id -> its current session */
    unsigned map_buckets;
    struct handle_list acks, held;
    uint64_t sync_failures; /* the syncer's count when last looked at */
    struct tld_syncer *syncer;
    /* shared */
    pthread_mutex_t mu;
    struct tld_receiver_stats st;
};

static void add(struct tld_receiver *r, uint64_t *field, uint64_t n)
{
    pthread_mutex_lock(&r->mu);
    *field += n;
    pthread_mutex_unlock(&r->mu);
}

static void list_push(struct handle_list *l, uint64_t h)
{
    if (l->n == l->cap && tld_grow(&l->v, &l->cap, l->n + 1, sizeof *l->v, 64) != 0)
        return; /* without memory: an ACK waits for the next batch, a held batch for a keepalive */
    l->v[l->n++] = h;
}

static struct session **map_slot(struct tld_receiver *r, unsigned agent)
{
    struct session **p = &r->map[agent & (r->map_buckets - 1)];
    while (*p && (*p)->agent != agent)
        p = &(*p)->map_next;
    return p;
}

static void send_msg(struct session *s, unsigned type)
{
    tld_nl_send(s->c, type, tld_sb_view(&s->r->out));
}

static void send_error(struct session *s, unsigned code, const char *reason)
{
    tld_sb_reset(&s->r->out);
    struct tld_msg_error e = {code, tld_sv_of(reason)};
    tld_msg_error_put(&s->r->out, &e);
    send_msg(s, TLD_MSG_ERROR);
}

static void send_u64(struct session *s, unsigned type, uint64_t v)
{
    tld_sb_reset(&s->r->out);
    tld_msg_u64_put(&s->r->out, v);
    send_msg(s, type);
}

/* The manager ends a session: say why, then close once that is written. */
static void end_session(struct session *s, unsigned code)
{
    if (!s->reason)
        s->reason = code;
    send_error(s, code, tld_proto_code_str(code));
    tld_nl_close(s->c, "closed by the manager");
}

static void protocol_error(struct session *s, const char *reason)
{
    add(s->r, &s->r->st.protocol_errors, 1);
    tld_log_warn(s->r->o.log, "transport: %s: agent %s: protocol error (%s)", tld_nl_addr(s->c),
                 s->id[0] ? s->id : "?", reason);
    send_error(s, TLD_PCODE_PROTOCOL, reason);
    tld_nl_close(s->c, "protocol error");
}

static void own_agent_event(struct session *s, const char *event, const char *key,
                            const char *value)
{
    struct tld_own_agent ag = {s->id, s->name, s->ip};
    struct tld_own_field f[] = {{key, value, 0, 0}};
    tld_own_emit(&s->r->o.own, event, &ag, f, key ? 1 : 0);
}

/* ---- opening: certificate, then HELLO ------------------------------------------------------ */

static void on_open(void *ctx, struct tld_nl_conn *c)
{
    struct tld_receiver *r = ctx;
    struct session *s = calloc(1, sizeof *s);
    if (!s) {
        tld_nl_close(c, "out of memory");
        return;
    }
    s->r = r;
    s->c = c;
    snprintf(s->ip, sizeof s->ip, "%s", tld_nl_ip(c));
    tld_nl_set_data(c, s);
    uint8_t fp[32];
    char cn[64];
    if (tld_tls_peer_identity(tld_nl_tls(c), cn, sizeof cn, fp) != 0) {
        add(r, &r->st.refused, 1);
        tld_log_warn(r->o.log, "transport: %s: certificate without an agent id", tld_nl_addr(c));
        send_error(s, TLD_PCODE_UNKNOWN_AGENT, "certificate without an agent id");
        tld_nl_close(c, "refused");
        return;
    }
    unsigned id;
    int rc = tld_agents_check(r->o.agents, cn, fp, &id);
    if (rc) {
        unsigned code = rc == TLD_EAUTH ? TLD_PCODE_REMOVED_AGENT : TLD_PCODE_UNKNOWN_AGENT;
        const char *why = rc == TLD_EAUTH    ? "agent removed"
                          : rc == TLD_EINVAL ? "certificate superseded by a newer enrollment"
                                             : "unknown agent";
        add(r, &r->st.refused, 1);
        tld_log_warn(r->o.log, "transport: %s: agent %.16s refused: %s", tld_nl_addr(c), cn, why);
        struct tld_own_agent ag = {cn, NULL, s->ip};
        struct tld_own_field f[] = {{"reason", why, 0, 0}};
        tld_own_emit_refusal(&r->o.own, "agent_refused", &ag, f, 1, why);
        send_error(s, code, why);
        tld_nl_close(c, "refused");
        return;
    }
    s->agent = id;
    tld_agents_id_text(id, s->id);
    struct tld_agent_info info;
    if (tld_agents_get(r->o.agents, id, &info) == 0)
        snprintf(s->name, sizeof s->name, "%s", info.name);
}

static void want_ack(struct session *s)
{
    if (s->on_ack_list)
        return;
    s->on_ack_list = true;
    list_push(&s->r->acks, tld_nl_handle(s->c));
}

/* Make this session the agent's one; an older session of the same agent is told to go. */
static void claim(struct tld_receiver *r, struct session *s)
{
    struct session **p = map_slot(r, s->agent);
    if (*p) {
        struct session *old = *p;
        *p = old->map_next;
        old->map_next = NULL;
        end_session(old, TLD_PCODE_REPLACED);
        p = map_slot(r, s->agent);
    }
    s->map_next = NULL;
    *p = s;
    s->welcomed = true;
    pthread_mutex_lock(&r->mu);
    r->st.active++;
    pthread_mutex_unlock(&r->mu);
}

static void on_hello(struct session *s, struct tld_sv payload)
{
    struct tld_receiver *r = s->r;
    struct tld_msg_hello hello;
    if (tld_msg_hello_get(payload.p, payload.n, &hello) != 0) {
        protocol_error(s, "expected HELLO");
        return;
    }
    s->stream = hello.stream;
    s->first_seq = hello.first_seq;
    s->next_seq = hello.next_seq;
    snprintf(
        s->version, sizeof s->version, "%.*s",
        (int)(hello.version.n < sizeof s->version - 1 ? hello.version.n : sizeof s->version - 1),
        hello.version.p);
    claim(r, s);
    tld_nl_accept(s->c);
    tld_agents_set_connected(r->o.agents, s->agent, s->ip, &hello, tld_wall_ns() / 1000000000);
    /* WELCOME carries what is durable here: it is sent at the end of the turn, and the
     * watermark waits only for this stream's own records (after a restart they are all on
     * disk, so a reconnect storm costs no fsync per agent). */
    s->welcome_due = true;
    want_ack(s);
}

/* The answer to HELLO, once the journal is synced. */
static void welcome(struct session *s)
{
    struct tld_receiver *r = s->r;
    s->welcome_due = false;
    uint64_t last = tld_journal_watermark(r->o.journal, s->agent, s->stream);
    tld_sb_reset(&r->out);
    struct tld_msg_welcome w = {tld_sv_of(s->id),     last,
                                r->o.keepalive_s,     r->o.max_batch_events,
                                r->o.max_batch_bytes, tld_sv_of(r->o.manager_name)};
    tld_msg_welcome_put(&r->out, &w);
    send_msg(s, TLD_MSG_WELCOME);
    add(r, &r->st.sessions, 1);
    tld_log_info(r->o.log,
                 "agent %s '%s' connected from %s (version %s, spool %" PRIu64 "..%" PRIu64
                 ", manager has up to %" PRIu64 ")",
                 s->id, s->name, tld_nl_addr(s->c), s->version, s->first_seq, s->next_seq, last);
    own_agent_event(s, "agent_connected", "version", s->version);
}

/* ---- a session's frames -------------------------------------------------------------------- */

static int on_batch(struct session *s, struct tld_sv payload)
{
    struct tld_receiver *r = s->r;
    struct tld_batch_iter it;
    if (tld_batch_iter_init(&it, payload.p, payload.n) != 0) {
        protocol_error(s, "malformed batch");
        return 0;
    }
    unsigned n = 0;
    uint64_t seq;
    struct tld_sv rec;
    int64_t t = tld_wall_ns();
    int rc;
    while ((rc = tld_batch_iter_next(&it, &seq, &rec)) == 0)
        r->entries[n++] =
            (struct tld_journal_entry){s->agent, s->stream, seq, t, tld_sv_of(s->ip), rec};
    if (rc != TLD_ECLOSED) {
        protocol_error(s, "malformed batch");
        return 0;
    }
    uint64_t sync_to;
    unsigned dups;
    rc = tld_journal_append(r->o.journal, r->entries, n, 0, &sync_to, &dups);
    if (rc == TLD_EAGAIN) {
        /* Journal full: keep the batch, read nothing more from this agent until there is
         * room (the tick retries), and tell it now and then that we are alive. */
        if (!s->stalled) {
            s->stalled = true;
            s->last_pong_ns = tld_mono_ns();
            add(r, &r->st.stalls, 1);
        }
        if (!s->held) {
            s->held = true;
            list_push(&r->held, tld_nl_handle(s->c));
        }
        return TLD_EAGAIN;
    }
    s->held = s->stalled = false;
    if (rc) {
        tld_log_error(r->o.log, "intake journal: append failed: %s; agent %s will resend",
                      tld_err_str(rc), s->id);
        tld_nl_close(s->c, "journal error");
        return 0;
    }
    tld_agents_count_events(r->o.agents, s->agent, n - dups);
    pthread_mutex_lock(&r->mu);
    r->st.batches++;
    r->st.events += n - dups;
    r->st.duplicates += dups;
    pthread_mutex_unlock(&r->mu);
    s->pending_sync = sync_to;
    s->pending_seq = it.last_seq;
    want_ack(s);
    return 0;
}

static void on_keepalive(struct session *s, struct tld_sv payload)
{
    struct tld_msg_keepalive ka;
    if (tld_msg_keepalive_get(payload.p, payload.n, &ka) != 0) {
        protocol_error(s, "malformed keepalive");
        return;
    }
    tld_agents_set_keepalive(s->r->o.agents, s->agent, &ka, tld_wall_ns() / 1000000000);
    add(s->r, &s->r->st.keepalives, 1);
    /* The PONG follows this turn's ACK, so the agent sees them in order. */
    s->pong_due = true;
    want_ack(s);
}

static int on_frame(void *ctx, struct tld_nl_conn *c, unsigned type, struct tld_sv payload)
{
    (void)ctx;
    struct session *s = tld_nl_data(c);
    if (!s || tld_nl_closing(c))
        return 0;
    if (!s->welcomed) {
        if (type != TLD_MSG_HELLO)
            protocol_error(s, "expected HELLO");
        else
            on_hello(s, payload);
        return 0;
    }
    switch (type) {
    case TLD_MSG_BATCH:
        return on_batch(s, payload);
    case TLD_MSG_KEEPALIVE:
        on_keepalive(s, payload);
        return 0;
    default:
        protocol_error(s, "unexpected message type");
        return 0;
    }
}

static void on_bad_frame(void *ctx, struct tld_nl_conn *c, const char *why)
{
    (void)why;
    struct tld_receiver *r = ctx;
    struct session *s = tld_nl_data(c);
    add(r, &r->st.protocol_errors, 1);
    if (s)
        send_error(s, TLD_PCODE_PROTOCOL, "bad frame");
}

/* ---- acknowledgements: group commit off the loop ------------------------------------------ */

/* Acknowledge every listed session whose batches the journal holds durably, and ask the syncer
 * for the rest (the loop goes on reading meanwhile; the syncer's wake-up brings it back here).
 * `wait`: sync here first, so everything is acknowledged now (stopping). */
static void send_acks(struct tld_receiver *r, bool wait)
{
    uint64_t need = 0;
    for (unsigned i = 0; i < r->acks.n; i++) {
        struct tld_nl_conn *c = tld_netloop_find(r->loop, r->acks.v[i]);
        struct session *s = c ? tld_nl_data(c) : NULL;
        if (s && s->pending_sync > need)
            need = s->pending_sync;
    }
    bool failed = false;
    if (wait && need && tld_journal_sync(r->o.journal, need) != 0)
        failed = true;
    uint64_t durable = tld_journal_synced(r->o.journal);
    uint64_t failures = r->syncer ? tld_syncer_failures(r->syncer) : 0;
    if (failures != r->sync_failures) {
        r->sync_failures = failures;
        failed = true;
    }
    if (failed)
        tld_log_error(r->o.log, "intake journal: fsync failed; agents will resend");
    uint64_t more = 0;
    unsigned keep = 0;
    for (unsigned i = 0; i < r->acks.n; i++) {
        struct tld_nl_conn *c = tld_netloop_find(r->loop, r->acks.v[i]);
        struct session *s = c ? tld_nl_data(c) : NULL;
        if (!s)
            continue;
        if (s->pending_sync > durable) {
            if (failed) {
                /* Not durable: the agent must resend, so it must not get this ACK. */
                s->on_ack_list = false;
                tld_nl_close(c, "journal sync failed");
                continue;
            }
            if (s->pending_sync > more)
                more = s->pending_sync;
            r->acks.v[keep++] = r->acks.v[i];
            continue;
        }
        s->on_ack_list = false;
        if (s->welcome_due)
            welcome(s);
        if (s->pending_seq) {
            send_u64(s, TLD_MSG_ACK, s->pending_seq);
            add(r, &r->st.acks, 1);
            s->pending_seq = 0;
        }
        if (s->pong_due) {
            send_u64(s, TLD_MSG_PONG, (uint64_t)tld_wall_ns());
            s->pong_due = false;
        }
    }
    r->acks.n = keep;
    if (more && r->syncer)
        tld_syncer_request(r->syncer, more);
}

static void on_turn(void *ctx)
{
    struct tld_receiver *r = ctx;
    if (r->acks.n)
        send_acks(r, false);
}

/* A sync is done: the loop's next turn acknowledges what it made durable. */
static void synced_in_loop(void *arg)
{
    (void)arg;
}

static void on_synced(void *ctx)
{
    struct tld_receiver *r = ctx;
    tld_netloop_post(r->loop, synced_in_loop, NULL); /* fails only when stopping */
}

/* Held batches are retried when the journal has room; meanwhile a PONG every keepalive. */
static void on_tick(void *ctx, int64_t now)
{
    struct tld_receiver *r = ctx;
    if (!r->held.n)
        return;
    bool room = tld_journal_wait_room(r->o.journal, 1, 0) == 0;
    unsigned keep = 0;
    for (unsigned i = 0; i < r->held.n; i++) {
        struct tld_nl_conn *c = tld_netloop_find(r->loop, r->held.v[i]);
        struct session *s = c ? tld_nl_data(c) : NULL;
        if (!s || !s->held || tld_nl_closing(c))
            continue;
        if (room) {
            s->held = false; /* on_batch lists it again if it still does not fit */
            tld_nl_resume(c);
            continue;
        }
        if (now - s->last_pong_ns >= (int64_t)r->o.keepalive_s * 1000000000) {
            s->last_pong_ns = now;
            send_u64(s, TLD_MSG_PONG, (uint64_t)tld_wall_ns());
        }
        r->held.v[keep++] = r->held.v[i];
    }
    r->held.n = keep;
}

/* ---- closing ------------------------------------------------------------------------------- */

static const char *ended_text(const struct session *s, const char *why)
{
    if (s->reason)
        return tld_proto_code_str(s->reason);
    if (strcmp(why, "closed by the peer") == 0)
        return "closed by the agent";
    if (strcmp(why, "idle timeout") == 0)
        return "keepalive timeout";
    return why;
}

static void on_close(void *ctx, struct tld_nl_conn *c, const char *why)
{
    struct tld_receiver *r = ctx;
    struct session *s = tld_nl_data(c);
    if (!s)
        return;
    tld_nl_set_data(c, NULL);
    if (s->welcomed) {
        struct session **p = map_slot(r, s->agent);
        bool current = *p == s;
        if (current)
            *p = s->map_next;
        pthread_mutex_lock(&r->mu);
        r->st.active--;
        pthread_mutex_unlock(&r->mu);
        const char *ended = ended_text(s, why);
        tld_log_info(r->o.log, "agent %s '%s' disconnected (%s)", s->id, s->name, ended);
        if (current) {
            tld_agents_set_disconnected(r->o.agents, s->agent);
            own_agent_event(s, "agent_disconnected", "reason", ended);
        }
    }
    free(s);
}

/* Stopping: what was appended is acknowledged, then the agent is told why it goes. */
static void on_stop(void *ctx, struct tld_nl_conn *c)
{
    struct tld_receiver *r = ctx;
    struct session *s = tld_nl_data(c);
    if (!s || !s->welcomed)
        return;
    /* Every session's ACKs at once (one pass, one sync): one pass per session was quadratic,
     * 35 s for 10,000 agents. */
    if (s->on_ack_list)
        send_acks(r, true);
    s->reason = TLD_PCODE_SHUTDOWN;
    send_error(s, TLD_PCODE_SHUTDOWN, tld_proto_code_str(TLD_PCODE_SHUTDOWN));
}

static void on_refused(void *ctx, const char *addr, enum tld_nl_refusal kind, const char *why)
{
    struct tld_receiver *r = ctx;
    (void)kind;
    tld_log_warn(r->o.log, "transport: %s: %s", addr, why);
}

static const struct tld_netloop_ops receiver_ops = {
    .on_open = on_open,
    .on_frame = on_frame,
    .on_bad_frame = on_bad_frame,
    .on_close = on_close,
    .on_turn = on_turn,
    .on_tick = on_tick,
    .on_stop = on_stop,
    .on_refused = on_refused,
};

/* ---- life cycle ---------------------------------------------------------------------------- */

static void apply_defaults(struct tld_receiver_opts *o)
{
    if (!o->keepalive_s)
        o->keepalive_s = 10;
    if (!o->max_conns)
        o->max_conns = 16384;
    if (!o->max_batch_events || o->max_batch_events > TLD_PROTO_MAX_BATCH)
        o->max_batch_events = 1024;
    if (!o->max_batch_bytes)
        o->max_batch_bytes = 1u << 20;
    if (!o->handshake_ms)
        o->handshake_ms = 10000;
    if (!o->manager_name)
        o->manager_name = "manager";
}

static int make_tls(struct tld_receiver *r, char why[TLD_WHY_MAX])
{
    char ca[4200], cert[4200], key[4200], tickets[4200];
    snprintf(ca, sizeof ca, "%s/ca.crt", r->o.ca_dir);
    /* Shared by the managers of a fleet (copied with the CA), so a session resumes on any. */
    snprintf(tickets, sizeof tickets, "%s/ticket.key", r->o.ca_dir);
    snprintf(cert, sizeof cert, "%s/manager.crt", r->o.ca_dir);
    snprintf(key, sizeof key, "%s/manager.key", r->o.ca_dir);
    struct tld_tls_ctx_opts to = {.server = true,
                                  .cert_file = cert,
                                  .key_file = key,
                                  .ca_file = ca,
                                  .require_client_cert = true,
                                  .ticket_key_file = tickets};
    return tld_tls_ctx_new(&to, &r->tls, why);
}

int tld_receiver_new(const struct tld_receiver_opts *o, struct tld_receiver **out,
                     char why[TLD_WHY_MAX])
{
    *out = NULL;
    struct tld_receiver *r = calloc(1, sizeof *r);
    if (!r)
        return TLD_ENOMEM;
    r->o = *o;
    apply_defaults(&r->o);
    pthread_mutex_init(&r->mu, NULL);
    tld_sb_init(&r->out, TLD_PROTO_MAX_PAYLOAD);
    r->map_buckets = 64;
    while (r->map_buckets < r->o.max_conns)
        r->map_buckets *= 2;
    r->map = calloc(r->map_buckets, sizeof *r->map);
    r->entries = malloc(TLD_PROTO_MAX_BATCH * sizeof *r->entries);
    int rc = r->map && r->entries ? 0 : TLD_ENOMEM;
    if (rc == 0)
        rc = make_tls(r, why);
    if (rc == 0) {
        struct tld_netloop_opts lo = {.host = o->host,
                                      .port = o->port,
                                      .tls = r->tls,
                                      .max_conns = r->o.max_conns,
                                      .max_pending = r->o.max_conns < 1024 ? r->o.max_conns : 1024,
                                      .max_per_addr = r->o.max_per_addr,
                                      .max_pending_per_addr = r->o.max_pending_per_addr,
                                      .handshake_ms = r->o.handshake_ms,
                                      .idle_ms = (int)r->o.keepalive_s * 3000,
                                      .shared_budget = r->o.frame_memory,
                                      .ops = &receiver_ops,
                                      .ctx = r};
        if ((rc = tld_netloop_new(&lo, &r->loop)) != 0)
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
    return tld_netloop_port(r->loop);
}

int tld_receiver_start(struct tld_receiver *r)
{
    int rc = tld_syncer_new(r->o.journal, on_synced, r, &r->syncer);
    return rc ? rc : tld_netloop_start(r->loop);
}

void tld_receiver_stop(struct tld_receiver *r)
{
    if (!r)
        return;
    tld_netloop_stop(r->loop);
    tld_syncer_free(r->syncer);
    r->syncer = NULL;
}

void tld_receiver_free(struct tld_receiver *r)
{
    if (!r)
        return;
    tld_netloop_free(r->loop);
    tld_syncer_free(r->syncer);
    tld_tls_ctx_free(r->tls);
    free(r->map);
    free(r->entries);
    free(r->acks.v);
    free(r->held.v);
    tld_sb_fini(&r->out);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

struct kick {
    struct tld_receiver *r;
    unsigned agent;
};

static void kick_in_loop(void *arg)
{
    struct kick *k = arg;
    struct session **p = map_slot(k->r, k->agent);
    if (*p)
        end_session(*p, TLD_PCODE_REMOVED_AGENT);
    free(k);
}

void tld_receiver_kick(struct tld_receiver *r, unsigned agent)
{
    struct kick *k = malloc(sizeof *k);
    if (!k)
        return;
    *k = (struct kick){r, agent};
    if (tld_netloop_post(r->loop, kick_in_loop, k) != 0)
        free(k); /* stopping: every session is closing anyway */
}

void tld_receiver_stats(struct tld_receiver *r, struct tld_receiver_stats *st)
{
    struct tld_netloop_stats ls;
    tld_netloop_stats(r->loop, &ls);
    pthread_mutex_lock(&r->mu);
    *st = r->st;
    pthread_mutex_unlock(&r->mu);
    st->connections = ls.accepted;
    st->tls_failures = ls.tls_failures;
    st->timeouts = ls.timeouts;
    st->evicted = ls.evicted;
    st->address_limited = ls.address_limited;
    st->full = ls.full;
    st->idle_closed = ls.idle_closed;
    st->budget_waits = ls.budget_waits;
    st->accept_errors = ls.accept_errors;
    st->conns = ls.conns;
    st->pending = ls.pending;
    st->frame_memory = ls.budget_used;
}
