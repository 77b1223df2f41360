/* Enrollment server (see enroll_server.h). */
#include "manager/enroll_server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/err.h"
#include "common/pki.h"
#include "common/proto.h"
#include "common/tls.h"
#include "manager/lockout.h"
#include "manager/ratelimit.h"
#include "manager/netloop.h"
#include "manager/pwmemo.h"

#define REQUEST_MAX    65536
#define GLOBAL_KEY     "*"
#define ENROLL_QUEUE   32 /* requests waiting for a worker */
#define ENROLL_WORKERS 2

struct tld_enroll_server {
    struct tld_enroll_opts o;
    struct tld_netloop *loop;
    pthread_t workers[ENROLL_WORKERS];
    unsigned nworkers;
    struct tld_tls_ctx *tls;
    struct tld_pki_ca ca;
    struct tld_sb ca_pem;
    struct tld_ratelimit rl;
    struct tld_ratelimit global_rl; /* one bucket, key GLOBAL_KEY */
    struct tld_lockout lock_addr, lock_all;
    struct tld_pwmemo pw;
    pthread_mutex_t mu; /* stats and the job queue */
    pthread_cond_t jobs_cv;
    struct job *jobs;
    unsigned njobs;
    bool workers_stop;
    struct tld_enroll_stats st;
};

static void count(struct tld_enroll_server *s, uint64_t *field)
{
    pthread_mutex_lock(&s->mu);
    (*field)++;
    pthread_mutex_unlock(&s->mu);
}

int tld_enroll_parse(struct tld_sv payload, struct tld_msg_enroll_req *req, unsigned *code,
                     char reason[TLD_WHY_MAX])
{
    if (tld_msg_enroll_req_get(payload.p, payload.n, req) != 0) {
        *code = TLD_PCODE_PROTOCOL;
        snprintf(reason, TLD_WHY_MAX, "malformed enrollment request");
        return TLD_EPARSE;
    }
    if (!tld_proto_name_valid(req->name)) {
        *code = TLD_PCODE_BAD_NAME;
        snprintf(reason, TLD_WHY_MAX,
                 "invalid agent name (1 to %d characters of A-Z, a-z, 0-9, '.', '_', '-')",
                 TLD_PROTO_MAX_NAME);
        return TLD_EINVAL;
    }
    char why[TLD_WHY_MAX];
    if (!tld_proto_name_safe(req->name)) {
        *code = TLD_PCODE_BAD_NAME;
        snprintf(reason, TLD_WHY_MAX,
                 "invalid agent name (it must start with a letter or a digit, so that it cannot "
                 "be taken for an option or a hidden file)");
        return TLD_EINVAL;
    }
    if (tld_pki_csr_check(req->csr_pem, why) != 0) {
        *code = TLD_PCODE_BAD_CSR;
        snprintf(reason, TLD_WHY_MAX, "%s", why);
        return TLD_EINVAL;
    }
    return 0;
}

struct issue_ctx {
    struct tld_enroll_server *s;
    struct tld_sv csr;
    struct tld_sb *cert_pem;
    char why[TLD_WHY_MAX];
};

static int issue_cb(void *arg, const char *agent_id, uint8_t fp[32])
{
    struct issue_ctx *ic = arg;
    return tld_pki_issue(&ic->s->ca, ic->csr, agent_id, ic->s->o.cert_days, ic->cert_pem, fp,
                         ic->why);
}

static void refuse(struct tld_enroll_server *s, const char *ip, struct tld_sv name, unsigned code,
                   const char *reason, unsigned *type, struct tld_sb *answer)
{
    char nm[TLD_PROTO_MAX_NAME + 1];
    size_t nl = name.n < TLD_PROTO_MAX_NAME ? name.n : TLD_PROTO_MAX_NAME;
    for (size_t i = 0; i < nl; i++)
        nm[i] = (name.p[i] < 0x20 || name.p[i] == 0x7f) ? '?' : name.p[i];
    nm[nl] = 0;
    count(s, &s->st.refused);
    tld_log_warn(s->o.log, "enrollment from %s refused (name '%s'): %s", ip, nm, reason);
    struct tld_own_agent ag = {NULL, nl ? nm : NULL, ip};
    struct tld_own_field f[] = {{"reason", tld_proto_code_str(code), 0, 0},
                                {"detail", reason, 0, 0}};
    tld_own_emit_refusal(&s->o.own, "enrollment_refused", &ag, f, 2, tld_proto_code_str(code));
    struct tld_msg_error e = {code, tld_sv_of(reason)};
    tld_sb_reset(answer);
    tld_msg_error_put(answer, &e);
    *type = TLD_MSG_ERROR;
}

/* Refused under a lockout: counted and logged at debug level only; the lockout was the event. */
static void refuse_locked(struct tld_enroll_server *s, const char *ip, bool global, unsigned *type,
                          struct tld_sb *answer)
{
    count(s, &s->st.refused);
    count(s, &s->st.locked_out);
    tld_log_debug(s->o.log, "enrollment from %s refused: locked out", ip);
    const char *reason = global ? "enrollment is locked after too many failed passwords; try "
                                  "again later"
                                : "this address is locked after too many failed passwords; try "
                                  "again later";
    struct tld_msg_error e = {TLD_PCODE_RATE_LIMITED, tld_sv_of(reason)};
    tld_sb_reset(answer);
    tld_msg_error_put(answer, &e);
    *type = TLD_MSG_ERROR;
}

static void lockout_started(struct tld_enroll_server *s, const char *ip, bool global)
{
    count(s, &s->st.lockouts);
    unsigned n;
    int64_t secs;
    tld_lockout_params(global ? &s->lock_all : &s->lock_addr, &n, &secs);
    tld_log_warn(s->o.log,
                 "enrollment: %s locked for %" PRId64 " s after %u failed passwords (last from %s)",
                 global ? "every address" : ip, secs, n, ip);
    struct tld_own_agent ag = {NULL, NULL, ip};
    struct tld_own_field f[] = {{"scope", global ? "global" : "address", 0, 0},
                                {"failures", NULL, n, 1},
                                {"lockout_seconds", NULL, secs, 1}};
    tld_own_emit(&s->o.own, "enrollment_lockout", &ag, f, 3);
}

/* A failed password: counted towards both lockouts. */
static void password_failed(struct tld_enroll_server *s, const char *ip, int64_t now)
{
    bool locked;
    tld_lockout_fail(&s->lock_addr, ip, now, &locked);
    if (locked)
        lockout_started(s, ip, false);
    tld_lockout_fail(&s->lock_all, GLOBAL_KEY, now, &locked);
    if (locked)
        lockout_started(s, ip, true);
}

int tld_enroll_server_handle(struct tld_enroll_server *s, const char *ip, struct tld_sv payload,
                             unsigned *answer_type, struct tld_sb *answer)
{
    struct tld_msg_enroll_req req;
    memset(&req, 0, sizeof req);
    unsigned code;
    char reason[TLD_WHY_MAX];
    int64_t now = tld_mono_ns();
    bool all_locked = tld_lockout_locked(&s->lock_all, GLOBAL_KEY, now);
    if (all_locked || tld_lockout_locked(&s->lock_addr, ip, now)) {
        refuse_locked(s, ip, all_locked, answer_type, answer);
        return 0;
    }
    if (!tld_ratelimit_take(&s->global_rl, GLOBAL_KEY, now)) {
        count(s, &s->st.rate_limited);
        refuse(s, ip, TLD_SV_NULL, TLD_PCODE_RATE_LIMITED,
               "too many enrollment requests in all; try again later", answer_type, answer);
        return 0;
    }
    if (tld_enroll_parse(payload, &req, &code, reason) != 0) {
        if (code == TLD_PCODE_PROTOCOL)
            count(s, &s->st.malformed);
        /* Without a password check passed, say nothing more specific than the format. */
        refuse(s, ip, req.name, code, reason, answer_type, answer);
        return 0;
    }
    if (s->o.password_hash && !tld_pwmemo_check(&s->pw, s->o.password_hash, req.password)) {
        count(s, &s->st.bad_password);
        password_failed(s, ip, now);
        refuse(s, ip, req.name, TLD_PCODE_BAD_PASSWORD, "invalid enrollment password", answer_type,
               answer);
        return 0;
    }
    char name[TLD_PROTO_MAX_NAME + 1];
    memcpy(name, req.name.p, req.name.n);
    name[req.name.n] = 0;
    struct tld_sb cert;
    tld_sb_init(&cert, TLD_PROTO_MAX_PEM);
    struct issue_ctx ic = {s, req.csr_pem, &cert, ""};
    unsigned id = 0, replaced = 0;
    int rc = tld_agents_enroll(s->o.agents, name, ip, s->o.force, issue_cb, &ic, &id, &replaced);
    if (rc) {
        if (rc == TLD_EEXIST)
            refuse(s, ip, req.name, TLD_PCODE_DUPLICATE_NAME,
                   "an agent with this name is already enrolled", answer_type, answer);
        else if (rc == TLD_ELIMIT)
            refuse(s, ip, req.name, TLD_PCODE_FULL, "the agent table is full", answer_type, answer);
        else if (rc == TLD_EAGAIN)
            refuse(s, ip, req.name, TLD_PCODE_FULL,
                   "too many enrolled agents have never connected; try again later", answer_type,
                   answer);
        else if (ic.why[0])
            refuse(s, ip, req.name, TLD_PCODE_BAD_CSR, ic.why, answer_type, answer);
        else
            refuse(s, ip, req.name, TLD_PCODE_INTERNAL, tld_err_str(rc), answer_type, answer);
        tld_sb_fini(&cert);
        return 0;
    }
    char idt[TLD_PROTO_MAX_ID];
    tld_agents_id_text(id, idt);
    count(s, &s->st.enrolled);
    if (replaced) {
        char old[TLD_PROTO_MAX_ID];
        tld_agents_id_text(replaced, old);
        tld_log_info(s->o.log, "enrollment: agent %s '%s' replaces agent %s (re-enrollment)", idt,
                     name, old);
        struct tld_own_agent ag = {old, name, ip};
        struct tld_own_field f[] = {{"replaced_by", idt, 0, 0}};
        tld_own_emit(&s->o.own, "agent_removed", &ag, f, 1);
    }
    tld_log_info(s->o.log, "enrollment: agent %s '%s' enrolled from %s", idt, name, ip);
    struct tld_own_agent ag = {idt, name, ip};
    tld_own_emit(&s->o.own, "agent_enrolled", &ag, NULL, 0);
    struct tld_msg_enroll_ok ok = {tld_sv_of(idt), req.name, tld_sb_view(&cert),
                                   tld_sb_view(&s->ca_pem)};
    tld_sb_reset(answer);
    tld_msg_enroll_ok_put(answer, &ok);
    *answer_type = TLD_MSG_ENROLL_OK;
    tld_sb_fini(&cert);
    return 0;
}

/* ---- serving connections: the loop reads, workers decide ----------------------------------- */

struct job {
    struct job *next;
    struct tld_enroll_server *s;
    uint64_t handle;
    char ip[TLD_NET_ADDR_MAX];
    char *payload; /* owned */
    size_t n;
    unsigned answer_type;
    struct tld_sb answer;
};

/* What the loop keeps per connection. */
struct asker {
    bool asked; /* its one request was read */
};

static void job_free(struct job *j)
{
    if (!j)
        return;
    free(j->payload);
    tld_sb_fini(&j->answer);
    free(j);
}

static void answer_and_close(struct tld_nl_conn *c, unsigned type, const struct tld_sb *answer)
{
    tld_nl_send(c, type, tld_sb_view(answer));
    tld_nl_close(c, "answered");
}

/* In the loop thread: the worker's answer goes out, if the client is still there. */
static void deliver_answer(void *arg)
{
    struct job *j = arg;
    struct tld_nl_conn *c = tld_netloop_find(j->s->loop, j->handle);
    if (c && !tld_nl_closing(c))
        answer_and_close(c, j->answer_type, &j->answer);
    job_free(j);
}

static void *worker(void *arg)
{
    struct tld_enroll_server *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->jobs && !s->workers_stop)
            pthread_cond_wait(&s->jobs_cv, &s->mu);
        struct job *j = s->jobs;
        if (j) {
            s->jobs = j->next;
            s->njobs--;
        }
        pthread_mutex_unlock(&s->mu);
        if (!j)
            return NULL;
        tld_enroll_server_handle(s, j->ip, (struct tld_sv){j->payload, j->n}, &j->answer_type,
                                 &j->answer);
        if (tld_netloop_post(s->loop, deliver_answer, j) != 0)
            job_free(j); /* stopping: the connection is being closed anyway */
    }
}

/* Queue a request for the workers; false when they already have all they may hold. */
static bool submit(struct tld_enroll_server *s, struct job *j)
{
    pthread_mutex_lock(&s->mu);
    bool ok = s->njobs < ENROLL_QUEUE && !s->workers_stop;
    if (ok) {
        j->next = NULL;
        struct job **p = &s->jobs;
        while (*p)
            p = &(*p)->next;
        *p = j;
        s->njobs++;
        pthread_cond_signal(&s->jobs_cv);
    }
    pthread_mutex_unlock(&s->mu);
    return ok;
}

static void on_open(void *ctx, struct tld_nl_conn *c)
{
    struct tld_enroll_server *s = ctx;
    count(s, &s->st.requests);
    struct asker *a = calloc(1, sizeof *a);
    if (!a) {
        tld_nl_close(c, "out of memory");
        return;
    }
    tld_nl_set_data(c, a);
}

/* Refusals decided in the loop thread (cheap checks); the password and the certificate are
 * the workers' (scrypt and signing are CPU work the loop must not wait for). */
static int on_frame(void *ctx, struct tld_nl_conn *c, unsigned type, struct tld_sv payload)
{
    struct tld_enroll_server *s = ctx;
    struct asker *a = tld_nl_data(c);
    if (!a || a->asked)
        return 0;
    a->asked = true;
    /* Out of the pending pool: from now on the idle deadline bounds the wait for a worker. */
    tld_nl_accept(c);
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        tld_nl_close(c, "out of memory");
        return 0;
    }
    j->s = s;
    j->handle = tld_nl_handle(c);
    snprintf(j->ip, sizeof j->ip, "%s", tld_nl_ip(c));
    tld_sb_init(&j->answer, TLD_PROTO_MAX_PAYLOAD);
    j->answer_type = TLD_MSG_ERROR;
    if (!tld_ratelimit_take(&s->rl, j->ip, tld_mono_ns())) {
        count(s, &s->st.rate_limited);
        refuse(s, j->ip, TLD_SV_NULL, TLD_PCODE_RATE_LIMITED,
               "too many enrollment requests from this address; try again later", &j->answer_type,
               &j->answer);
    } else if (type != TLD_MSG_ENROLL_REQ) {
        count(s, &s->st.malformed);
        refuse(s, j->ip, TLD_SV_NULL, TLD_PCODE_PROTOCOL, "expected an enrollment request",
               &j->answer_type, &j->answer);
    } else if ((j->payload = malloc(payload.n + 1)) != NULL) {
        memcpy(j->payload, payload.p, payload.n);
        j->n = payload.n;
        if (submit(s, j))
            return 0;
        count(s, &s->st.rate_limited);
        refuse(s, j->ip, TLD_SV_NULL, TLD_PCODE_RATE_LIMITED, "enrollment is busy; try again later",
               &j->answer_type, &j->answer);
    } else {
        refuse(s, j->ip, TLD_SV_NULL, TLD_PCODE_INTERNAL, "out of memory", &j->answer_type,
               &j->answer);
    }
    answer_and_close(c, j->answer_type, &j->answer);
    job_free(j);
    return 0;
}

static void on_bad_frame(void *ctx, struct tld_nl_conn *c, const char *why)
{
    struct tld_enroll_server *s = ctx;
    (void)why;
    struct asker *a = tld_nl_data(c);
    if (a)
        a->asked = true;
    count(s, &s->st.malformed);
    struct tld_sb answer;
    tld_sb_init(&answer, TLD_PROTO_MAX_PAYLOAD);
    unsigned type;
    refuse(s, tld_nl_ip(c), TLD_SV_NULL, TLD_PCODE_PROTOCOL, "not an enrollment frame", &type,
           &answer);
    tld_nl_send(c, type, tld_sb_view(&answer));
    tld_sb_fini(&answer);
}

static void on_close(void *ctx, struct tld_nl_conn *c, const char *why)
{
    struct tld_enroll_server *s = ctx;
    struct asker *a = tld_nl_data(c);
    if (a && !a->asked) {
        count(s, &s->st.malformed);
        tld_log_warn(s->o.log, "enrollment: %s: no request received: %s", tld_nl_addr(c), why);
    }
    free(a);
    tld_nl_set_data(c, NULL);
}

static void on_refused(void *ctx, const char *addr, enum tld_nl_refusal kind, const char *why)
{
    struct tld_enroll_server *s = ctx;
    (void)kind;
    tld_log_warn(s->o.log, "enrollment: %s: %s", addr, why);
}

static const struct tld_netloop_ops enroll_ops = {
    .on_open = on_open,
    .on_frame = on_frame,
    .on_bad_frame = on_bad_frame,
    .on_close = on_close,
    .on_refused = on_refused,
};

int tld_enroll_server_new(const struct tld_enroll_opts *o, struct tld_enroll_server **out,
                          char why[TLD_WHY_MAX])
{
    *out = NULL;
    struct tld_enroll_server *s = calloc(1, sizeof *s);
    if (!s)
        return TLD_ENOMEM;
    s->o = *o;
    pthread_mutex_init(&s->mu, NULL);
    tld_cond_init(&s->jobs_cv);
    tld_sb_init(&s->ca_pem, TLD_PROTO_MAX_PEM);
    int rc = tld_pwmemo_init(&s->pw);
    if (rc == 0)
        rc = tld_ratelimit_init(&s->rl, o->rate_requests, o->rate_period_s);
    /* The global bucket holds one second's worth: a burst cannot exceed the stated rate. */
    if (rc == 0)
        rc = tld_ratelimit_init(&s->global_rl, o->global_rate ? o->global_rate : 5, 1);
    int64_t lock_s = o->lockout_s > 0 ? o->lockout_s : 600;
    if (rc == 0)
        rc = tld_lockout_init(&s->lock_addr, o->lockout_failures, lock_s);
    if (rc == 0)
        rc = tld_lockout_init(&s->lock_all, o->lockout_global_failures, lock_s);
    if (rc == 0)
        rc = tld_pki_ca_load(o->ca_dir, &s->ca, why);
    if (rc == 0 && (rc = tld_pki_cert_pem(s->ca.cert, &s->ca_pem)) != 0)
        snprintf(why, TLD_WHY_MAX, "cannot encode the CA certificate");
    if (rc == 0) {
        char cert[4200], key[4200];
        snprintf(cert, sizeof cert, "%s/manager.crt", o->ca_dir);
        snprintf(key, sizeof key, "%s/manager.key", o->ca_dir);
        struct tld_tls_ctx_opts to = {.server = true, .cert_file = cert, .key_file = key};
        rc = tld_tls_ctx_new(&to, &s->tls, why);
    }
    if (rc == 0) {
        int timeout = o->timeout_ms ? o->timeout_ms : 10000;
        struct tld_netloop_opts lo = {.host = o->host,
                                      .port = o->port,
                                      .tls = s->tls,
                                      .max_conns = o->max_conns ? o->max_conns : 1024,
                                      .max_pending = 256,
                                      .max_per_addr = o->max_per_addr ? o->max_per_addr : 8,
                                      .max_pending_per_addr = o->max_per_addr ? o->max_per_addr : 8,
                                      .handshake_ms = timeout,
                                      .idle_ms = 30000,
                                      .max_frame = REQUEST_MAX,
                                      .max_pending_frame = REQUEST_MAX,
                                      .ops = &enroll_ops,
                                      .ctx = s};
        if ((rc = tld_netloop_new(&lo, &s->loop)) != 0)
            snprintf(why, TLD_WHY_MAX, "cannot listen on port %u: %s", o->port, strerror(errno));
    }
    if (rc) {
        tld_enroll_server_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void tld_enroll_server_set_limits(struct tld_enroll_server *s, const struct tld_enroll_limits *l)
{
    tld_ratelimit_set(&s->rl, l->rate_requests, l->rate_period_s);
    tld_ratelimit_set(&s->global_rl, l->global_rate ? l->global_rate : 5, 1);
    int64_t lock_s = l->lockout_s > 0 ? l->lockout_s : 600;
    tld_lockout_set(&s->lock_addr, l->lockout_failures, lock_s);
    tld_lockout_set(&s->lock_all, l->lockout_global_failures, lock_s);
}

unsigned tld_enroll_server_port(const struct tld_enroll_server *s)
{
    return tld_netloop_port(s->loop);
}

int tld_enroll_server_start(struct tld_enroll_server *s)
{
    for (; s->nworkers < ENROLL_WORKERS; s->nworkers++)
        if (pthread_create(&s->workers[s->nworkers], NULL, worker, s) != 0)
            return TLD_EIO;
    return tld_netloop_start(s->loop);
}

void tld_enroll_server_stop(struct tld_enroll_server *s)
{
    if (!s)
        return;
    tld_netloop_stop(s->loop);
    pthread_mutex_lock(&s->mu);
    s->workers_stop = true;
    pthread_cond_broadcast(&s->jobs_cv);
    pthread_mutex_unlock(&s->mu);
    for (unsigned i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    s->nworkers = 0;
    for (struct job *j = s->jobs, *n; j; j = n) {
        n = j->next;
        job_free(j);
    }
    s->jobs = NULL;
    s->njobs = 0;
}

void tld_enroll_server_free(struct tld_enroll_server *s)
{
    if (!s)
        return;
    tld_enroll_server_stop(s);
    tld_netloop_free(s->loop);
    tld_tls_ctx_free(s->tls);
    tld_pki_ca_fini(&s->ca);
    tld_sb_fini(&s->ca_pem);
    tld_ratelimit_fini(&s->rl);
    tld_ratelimit_fini(&s->global_rl);
    tld_lockout_fini(&s->lock_addr);
    tld_lockout_fini(&s->lock_all);
    tld_pwmemo_fini(&s->pw);
    pthread_cond_destroy(&s->jobs_cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

void tld_enroll_server_stats(struct tld_enroll_server *s, struct tld_enroll_stats *st)
{
    struct tld_netloop_stats ls;
    tld_netloop_stats(s->loop, &ls);
    pthread_mutex_lock(&s->mu);
    *st = s->st;
    pthread_mutex_unlock(&s->mu);
    st->tls_failures = ls.tls_failures;
    st->timeouts = ls.timeouts;
    st->evicted = ls.evicted;
    st->address_limited = ls.address_limited;
    st->conns = ls.conns;
}
