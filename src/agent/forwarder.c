/*
 * Forwarder (see forwarder.h). One thread does everything on the connection, since an OpenSSL
 * connection is not used by two threads at once: it alternates between draining frames from
 * the manager (ACK, PONG, ERROR) without blocking, and filling the window from the spool.
 */
#include "agent/forwarder.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "collect/spool_id.h"
#include "common/deadline.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/net.h"
#include "common/proto.h"
#include "common/tls.h"

#ifndef TLD_VERSION
#include "common/version.h"
#endif

#define MAX_WINDOW 64
#define BATCH_FILL_MS                                                                              \
    2 /* how long a batch may wait for more records while others are in flight                     \
       */

struct tld_forwarder {
    struct tld_forwarder_opts o;
    int cancel_fd;
    pthread_mutex_t mu;
    bool stop;
    struct tld_forwarder_stats st;
    char os[128], hostname[128];
    uint64_t stream;
    unsigned jitter_state; /* rand_r() state for the reconnect jitter */
    /* session */
    struct tld_tls_ctx *ctx;
    struct tld_tls_session *resume; /* the last session, offered on the next connection */
    struct tld_tls_conn *c;
    struct tld_spool_reader *rd;
    uint64_t inflight[MAX_WINDOW]; /* last seq of each unacknowledged batch, oldest first */
    unsigned ninflight;
    uint64_t next_send; /* the reader's next seq (for resend accounting) */
    uint64_t max_sent;  /* highest seq ever sent (across sessions) */
    unsigned keepalive_s;
    unsigned max_batch_events;
    size_t max_batch_bytes;
    struct tld_batch_writer bw;
    struct tld_sb out;
    /* a record read from the spool that did not fit in the previous batch */
    struct tld_sb carry;
    uint64_t carry_seq; /* 0: none */
};

static int64_t mono_ms(void)
{
    return tld_mono_ns() / 1000000;
}

int tld_forwarder_new(const struct tld_forwarder_opts *o, struct tld_forwarder **out)
{
    *out = NULL;
    if (!o->nservers || o->nservers > TLD_FORWARDER_MAX_SERVERS)
        return TLD_EINVAL;
    struct tld_forwarder *f = calloc(1, sizeof *f);
    if (!f)
        return TLD_ENOMEM;
    f->o = *o;
    if (!f->o.window || f->o.window > MAX_WINDOW)
        f->o.window = 8;
    if (!f->o.backoff_max_ms)
        f->o.backoff_max_ms = 5000;
    if (!f->o.failback_s)
        f->o.failback_s = 60;
    if (!f->o.connect_timeout_ms)
        f->o.connect_timeout_ms = 10000;
    f->jitter_state = (unsigned)getpid() ^ (unsigned)tld_wall_ns();
    pthread_mutex_init(&f->mu, NULL);
    f->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(f->os, sizeof f->os, "%.40s %.50s %.30s", u.sysname, u.release, u.machine);
        snprintf(f->hostname, sizeof f->hostname, "%.64s", u.nodename);
    }
    tld_sb_init(&f->out, TLD_PROTO_MAX_PAYLOAD);
    tld_sb_init(&f->carry, TLD_PROTO_MAX_RECORD);
    int rc = f->cancel_fd < 0 ? TLD_EIO : tld_spool_stream_id(o->spool_dir, false, &f->stream);
    if (rc) {
        tld_forwarder_free(f);
        return rc;
    }
    *out = f;
    return 0;
}

void tld_forwarder_free(struct tld_forwarder *f)
{
    if (!f)
        return;
    if (f->cancel_fd >= 0)
        close(f->cancel_fd);
    tld_sb_fini(&f->out);
    tld_sb_fini(&f->carry);
    tld_tls_session_free(f->resume);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void tld_forwarder_stop(struct tld_forwarder *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_mutex_unlock(&f->mu);
    uint64_t one = 1;
    if (write(f->cancel_fd, &one, sizeof one) < 0) {
        /* never fails for a single increment */
    }
}

static bool stopping(struct tld_forwarder *f)
{
    pthread_mutex_lock(&f->mu);
    bool s = f->stop;
    pthread_mutex_unlock(&f->mu);
    return s;
}

void tld_forwarder_stats(struct tld_forwarder *f, struct tld_forwarder_stats *st)
{
    pthread_mutex_lock(&f->mu);
    *st = f->st;
    pthread_mutex_unlock(&f->mu);
}

#define STAT(f, expr)                                                                              \
    do {                                                                                           \
        pthread_mutex_lock(&(f)->mu);                                                              \
        expr;                                                                                      \
        pthread_mutex_unlock(&(f)->mu);                                                            \
    } while (0)

/* Sleep up to ms, or until stopped. */
static void nap(struct tld_forwarder *f, unsigned ms)
{
    struct pollfd p = {.fd = f->cancel_fd, .events = POLLIN};
    poll(&p, 1, (int)ms);
}

static void end_session(struct tld_forwarder *f)
{
    tld_tls_close(f->c);
    f->c = NULL;
    tld_tls_ctx_free(f->ctx);
    f->ctx = NULL;
    tld_spool_reader_close(f->rd);
    f->rd = NULL;
    f->ninflight = 0;
    f->carry_seq = 0;
    STAT(f, f->st.connected = false);
}

static int send_msg(struct tld_forwarder *f, unsigned type)
{
    return tld_tls_send_frame(f->c, type, tld_sb_view(&f->out), 30000);
}

/* Refusal codes after which trying again soon is pointless. */
static bool refusal_is_final(unsigned code)
{
    return code == TLD_PCODE_REMOVED_AGENT || code == TLD_PCODE_UNKNOWN_AGENT ||
           code == TLD_PCODE_VERSION;
}

/* Returns 0 with a session, or an error; *slow asks for a long wait before the next try. */
static int start_session(struct tld_forwarder *f, unsigned server, bool *slow)
{
    *slow = false;
    const struct tld_forwarder_server *sv = &f->o.servers[server];
    char ca[4200], cert[4200], key[4200], why[TLD_WHY_MAX];
    snprintf(ca, sizeof ca, "%s/ca.crt", f->o.tls_dir);
    snprintf(cert, sizeof cert, "%s/agent.crt", f->o.tls_dir);
    snprintf(key, sizeof key, "%s/agent.key", f->o.tls_dir);
    struct tld_tls_ctx_opts to = {
        .server = false, .cert_file = cert, .key_file = key, .ca_file = ca};
    int rc = tld_tls_ctx_new(&to, &f->ctx, why);
    if (rc) {
        tld_log_error(f->o.log, "forwarder: %s", why);
        *slow = true;
        return rc;
    }
    tld_tls_ctx_offer(f->ctx, f->resume);
    int fd;
    rc = tld_net_connect(sv->host, sv->port, f->o.connect_timeout_ms, f->cancel_fd, &fd);
    if (rc) {
        if (rc != TLD_ECLOSED)
            tld_log_warn(f->o.log, "forwarder: cannot connect to %s:%u: %s", sv->host, sv->port,
                         rc == TLD_EIO ? strerror(errno) : tld_err_str(rc));
        return rc;
    }
    if ((rc = tld_tls_connect(f->ctx, fd, f->cancel_fd, f->o.connect_timeout_ms, &f->c, why))) {
        tld_log_warn(f->o.log, "forwarder: %s:%u: %s", sv->host, sv->port, why);
        return rc;
    }
    struct tld_spool_stats ss;
    tld_spool_stats(f->o.spool, &ss);
    tld_sb_reset(&f->out);
    struct tld_msg_hello h = {tld_sv_of(f->o.name ? f->o.name : f->hostname),
                              TLD_SV_LIT(TLD_VERSION),
                              tld_sv_of(f->os),
                              tld_sv_of(f->hostname),
                              f->stream,
                              ss.acked_seq + 1,
                              ss.next_seq};
    tld_msg_hello_put(&f->out, &h);
    if ((rc = send_msg(f, TLD_MSG_HELLO)) != 0)
        return rc;
    unsigned type;
    struct tld_sv p;
    if ((rc = tld_tls_recv_frame(f->c, &type, &p, 65536, 15000)) != 0) {
        tld_log_warn(f->o.log, "forwarder: %s:%u: no answer to HELLO: %s", sv->host, sv->port,
                     tld_err_str(rc));
        return rc;
    }
    if (type == TLD_MSG_ERROR) {
        struct tld_msg_error e = {0, TLD_SV_NULL};
        tld_msg_error_get(p.p, p.n, &e);
        tld_log_error(f->o.log, "forwarder: the manager %s:%u refused this agent: %s (%.*s)",
                      sv->host, sv->port, tld_proto_code_str((unsigned)e.code), (int)e.reason.n,
                      e.reason.p ? e.reason.p : "");
        STAT(f, f->st.refusals++);
        *slow = refusal_is_final((unsigned)e.code);
        return TLD_EAUTH;
    }
    struct tld_msg_welcome w;
    if (type != TLD_MSG_WELCOME || tld_msg_welcome_get(p.p, p.n, &w) != 0) {
        tld_log_warn(f->o.log, "forwarder: %s:%u: unexpected answer to HELLO", sv->host, sv->port);
        return TLD_EPROTO;
    }
    if (w.last_seq >= ss.next_seq) {
        /* The manager knows more of this stream than the spool ever held: the spool is not the
         * one this stream id belongs to. Start a new stream rather than lose events. */
        tld_log_warn(f->o.log,
                     "forwarder: the manager has seq %" PRIu64 " of this spool, which only "
                     "reached %" PRIu64 "; starting a new stream",
                     w.last_seq, ss.next_seq - 1);
        tld_spool_stream_id(f->o.spool_dir, true, &f->stream);
        return TLD_EPROTO;
    }
    /* Keep the session now (its ticket came before WELCOME): a reconnect, to this manager or
     * another of the fleet, resumes it. */
    struct tld_tls_session *sess = tld_tls_session_get(f->c);
    if (sess) {
        tld_tls_session_free(f->resume);
        f->resume = sess;
    }
    if (w.last_seq > ss.acked_seq)
        tld_spool_ack(f->o.spool, w.last_seq);
    uint64_t from = (w.last_seq > ss.acked_seq ? w.last_seq : ss.acked_seq) + 1;
    if ((rc = tld_spool_reader_open(f->o.spool, from, &f->rd)) != 0)
        return rc;
    f->next_send = from;
    f->keepalive_s = (unsigned)w.keepalive_s;
    f->max_batch_events = (unsigned)w.max_batch_events;
    f->max_batch_bytes = (size_t)w.max_batch_bytes;
    pthread_mutex_lock(&f->mu);
    f->st.connected = true;
    f->st.connects++;
    snprintf(f->st.agent_id, sizeof f->st.agent_id, "%.*s", (int)w.agent_id.n, w.agent_id.p);
    pthread_mutex_unlock(&f->mu);
    tld_log_info(f->o.log,
                 "forwarder: connected to %s:%u as agent %s; sending from seq %" PRIu64
                 " (spool up to %" PRIu64 ")",
                 sv->host, sv->port, f->st.agent_id, from, ss.next_seq - 1);
    return 0;
}

/* Handle one frame from the manager. */
static int on_frame(struct tld_forwarder *f, unsigned type, struct tld_sv p, int64_t *heard)
{
    *heard = mono_ms();
    uint64_t v;
    switch (type) {
    case TLD_MSG_ACK:
        if (tld_msg_u64_get(p.p, p.n, &v) != 0)
            return TLD_EPROTO;
        while (f->ninflight && f->inflight[0] <= v) {
            memmove(f->inflight, f->inflight + 1, (f->ninflight - 1) * sizeof *f->inflight);
            f->ninflight--;
        }
        tld_spool_ack(f->o.spool, v);
        STAT(f, f->st.acked_seq = v);
        return 0;
    case TLD_MSG_PONG:
        return tld_msg_u64_get(p.p, p.n, &v) == 0 ? 0 : TLD_EPROTO;
    case TLD_MSG_ERROR: {
        struct tld_msg_error e = {0, TLD_SV_NULL};
        tld_msg_error_get(p.p, p.n, &e);
        tld_log_warn(f->o.log, "forwarder: the manager closed the session: %s (%.*s)",
                     tld_proto_code_str((unsigned)e.code), (int)e.reason.n,
                     e.reason.p ? e.reason.p : "");
        return TLD_ECLOSED;
    }
    default:
        return TLD_EPROTO;
    }
}

/* Read the next batch from the spool and send it. *sent says whether one went out. */
static int send_batch(struct tld_forwarder *f, int wait_ms, bool *sent)
{
    *sent = false;
    tld_batch_writer_reset(&f->bw);
    if (f->carry_seq) {
        tld_batch_writer_add(&f->bw, f->carry_seq, tld_sb_view(&f->carry));
        f->carry_seq = 0;
    }
    /* With batches already in flight the link is busy anyway: wait a moment for more records
     * so batches grow (fewer frames, journal appends and wake-ups on both ends). With nothing
     * in flight, a batch leaves as soon as it has one record. */
    int64_t fill_until = f->ninflight ? mono_ms() + BATCH_FILL_MS : 0;
    for (;;) {
        if (f->bw.count >= f->max_batch_events)
            break;
        uint64_t seq;
        struct tld_sv payload;
        int more_ms = 0;
        if (f->bw.count && fill_until && f->bw.count < f->max_batch_events / 4) {
            int64_t left = fill_until - mono_ms();
            more_ms = left > 0 ? (int)left : 0;
        }
        int rc = tld_spool_reader_next(f->rd, &seq, &payload, f->bw.count ? more_ms : wait_ms);
        if (rc == TLD_ETIMEOUT)
            break;
        if (rc)
            return rc;
        rc = tld_batch_writer_add(&f->bw, seq, payload);
        if (rc == TLD_ELIMIT) {
            /* Full: this record opens the next batch (the reader's view dies with the next
             * read, so keep a copy). */
            tld_sb_reset(&f->carry);
            tld_sb_append_sv(&f->carry, payload);
            f->carry_seq = seq;
            break;
        }
        if (rc == TLD_EINVAL) {
            /* A record the protocol cannot carry (should not exist: the spool bounds records
             * tighter). Say so loudly and move on rather than block the stream forever. */
            tld_log_error(f->o.log,
                          "forwarder: record %" PRIu64 " (%zu bytes) cannot be sent; "
                          "skipped",
                          seq, payload.n);
            continue;
        }
        if (rc)
            return rc;
    }
    if (!f->bw.count)
        return 0;
    tld_sb_reset(&f->out);
    tld_batch_writer_finish(&f->bw, &f->out);
    int rc = send_msg(f, TLD_MSG_BATCH);
    if (rc)
        return rc;
    uint64_t first = f->bw.last_seq - f->bw.count + 1;
    uint64_t resent = 0;
    if (first <= f->max_sent)
        resent = (f->max_sent < f->bw.last_seq ? f->max_sent : f->bw.last_seq) - first + 1;
    if (f->bw.last_seq > f->max_sent)
        f->max_sent = f->bw.last_seq;
    f->inflight[f->ninflight++] = f->bw.last_seq;
    pthread_mutex_lock(&f->mu);
    f->st.batches++;
    f->st.events += f->bw.count;
    f->st.resent += resent;
    pthread_mutex_unlock(&f->mu);
    *sent = true;
    return 0;
}

static int send_keepalive(struct tld_forwarder *f)
{
    struct tld_spool_stats ss;
    tld_spool_stats(f->o.spool, &ss);
    tld_sb_reset(&f->out);
    struct tld_msg_keepalive k = {TLD_SV_LIT(TLD_VERSION), tld_sv_of(f->os), tld_sv_of(f->hostname),
                                  ss.committed_seq - ss.acked_seq, ss.bytes};
    tld_msg_keepalive_put(&f->out, &k);
    STAT(f, f->st.keepalives++);
    return send_msg(f, TLD_MSG_KEEPALIVE);
}

/* Whether the preferred (first) server accepts a TCP connection now. */
static bool first_server_answers(struct tld_forwarder *f)
{
    int fd;
    const struct tld_forwarder_server *sv = &f->o.servers[0];
    if (tld_net_connect(sv->host, sv->port, 2000, f->cancel_fd, &fd) != 0)
        return false;
    close(fd);
    return true;
}

/* Until the session fails (its error), the forwarder stops, or (server > 0) the first server
 * answers again: 0 with *failback, to move back to it. */
static int session_loop(struct tld_forwarder *f, unsigned server, bool *failback)
{
    *failback = false;
    int64_t heard = mono_ms(), ka_sent = 0;
    int64_t failback_ms = (int64_t)f->o.failback_s * 1000;
    int64_t probe_at = server ? mono_ms() + failback_ms : 0;
    int64_t ka_ms = (int64_t)f->keepalive_s * 1000;
    tld_batch_writer_init(&f->bw, f->max_batch_bytes);
    int rc = 0;
    while (!stopping(f)) {
        /* Frames from the manager that are already here. */
        while (rc == 0 && tld_tls_readable(f->c)) {
            unsigned type;
            struct tld_sv p;
            rc = tld_tls_recv_frame(f->c, &type, &p, 65536, 15000);
            if (rc == 0)
                rc = on_frame(f, type, p, &heard);
        }
        if (rc)
            break;
        int64_t now = mono_ms();
        if (probe_at && now >= probe_at) {
            if (first_server_answers(f)) {
                tld_log_info(f->o.log, "forwarder: %s:%u answers again; moving back to it",
                             f->o.servers[0].host, f->o.servers[0].port);
                *failback = true;
                break;
            }
            probe_at = now + failback_ms;
        }
        if (now - heard > 3 * ka_ms) {
            tld_log_warn(f->o.log,
                         "forwarder: no word from the manager for %" PRId64 " s; reconnecting",
                         (now - heard) / 1000);
            rc = TLD_ETIMEOUT;
            break;
        }
        if (now - ka_sent >= ka_ms) {
            if ((rc = send_keepalive(f)) != 0)
                break;
            ka_sent = now;
        }
        if (f->ninflight < f->o.window) {
            bool sent;
            if ((rc = send_batch(f, 200, &sent)) != 0)
                break;
            if (sent)
                continue;
        } else {
            /* Window full: wait for an ACK (or a keepalive deadline). */
            rc = tld_net_wait(tld_tls_fd(f->c), POLLIN, tld_deadline_in(1000), f->cancel_fd);
            if (rc == TLD_ETIMEOUT)
                rc = 0;
            if (rc)
                break;
        }
    }
    tld_batch_writer_fini(&f->bw);
    return rc;
}

static int ensure_identity(struct tld_forwarder *f)
{
    if (tld_enroll_client_have_identity(f->o.tls_dir))
        return 0;
    if (!f->o.enroll.host) {
        tld_log_error(f->o.log,
                      "forwarder: no certificate in %s; enroll this agent first "
                      "(tld-agent enroll --manager HOST)",
                      f->o.tls_dir);
        return TLD_ENOTFOUND;
    }
    struct tld_enroll_client_opts eo = f->o.enroll;
    eo.tls_dir = f->o.tls_dir;
    eo.cancel_fd = f->cancel_fd;
    struct tld_enroll_client_result res;
    int rc = tld_enroll_client_run(&eo, &res);
    if (rc) {
        tld_log_error(f->o.log, "enrollment with %s failed: %s", eo.host, res.reason);
        return rc;
    }
    STAT(f, f->st.enrollments++);
    tld_log_info(f->o.log, "enrolled with %s as agent %s '%s' (manager CA sha256 %s)", eo.host,
                 res.agent_id, res.agent_name, res.ca_sha256);
    return 0;
}

int tld_forwarder_run(struct tld_forwarder *f)
{
    unsigned backoff = 500, server = 0;
    while (!stopping(f)) {
        bool slow = false;
        int rc = ensure_identity(f);
        if (rc == 0)
            rc = start_session(f, server, &slow);
        if (rc == 0) {
            backoff = 500;
            bool failback;
            rc = session_loop(f, server, &failback);
            end_session(f);
            if (rc == TLD_ECLOSED && stopping(f))
                break;
            if (rc == 0 && failback) {
                server = 0; /* fail back now: the first server answered */
                continue;
            }
            STAT(f, f->st.failures++);
        } else {
            end_session(f);
            if (stopping(f))
                break;
            STAT(f, f->st.failures++);
            server = (server + 1) % f->o.nservers;
        }
        /* Half the back-off plus a random share of the other half: agents that lost the same
         * manager do not come back in step, and none waits longer than the cap. */
        unsigned wait =
            slow ? 60000 : backoff / 2 + (unsigned)rand_r(&f->jitter_state) % (backoff / 2 + 1);
        nap(f, wait);
        backoff = backoff * 2 > f->o.backoff_max_ms ? f->o.backoff_max_ms : backoff * 2;
    }
    end_session(f);
    return 0;
}
