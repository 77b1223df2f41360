/*
 * The network loop (see netloop.h): the thread, the epoll set, accepting under the limits,
 * deadlines, closing, and functions posted from other threads. netloop_io.c serves one
 * connection's handshake, frames and output.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/err.h"
#include "common/grow.h"
#include "manager/netloop_int.h"

#define KEY_LISTEN    0u /* epoll keys; connection handles are >= 2^32 */
#define KEY_WAKE      1u
#define TICK_NS       200000000LL
#define LINGER_NS     2000000000LL /* closing: time allowed to write the last words */
#define ACCEPT_PAUSE  200000000LL  /* listener rest after an accept failure with nothing to evict */
#define STOP_FLUSH_MS 1000
#define STALLED_NS    1000000000LL /* a pending peer silent this long may give way */

void nl_count(struct tld_netloop *l, uint64_t *field)
{
    pthread_mutex_lock(&l->mu);
    (*field)++;
    pthread_mutex_unlock(&l->mu);
}

uint64_t tld_nl_handle(const struct tld_nl_conn *c)
{
    return (uint64_t)c->gen << 32 | c->index;
}

struct tld_nl_conn *tld_netloop_find(struct tld_netloop *l, uint64_t handle)
{
    uint32_t index = (uint32_t)handle;
    if (index >= l->o.max_conns)
        return NULL;
    struct tld_nl_conn *c = l->conns[index];
    return c && c->gen == (uint32_t)(handle >> 32) ? c : NULL;
}

const char *tld_nl_addr(const struct tld_nl_conn *c)
{
    return c->addr_text;
}

const char *tld_nl_ip(const struct tld_nl_conn *c)
{
    return c->addr->ip;
}

void *tld_nl_data(const struct tld_nl_conn *c)
{
    return c->data;
}

void tld_nl_set_data(struct tld_nl_conn *c, void *data)
{
    c->data = data;
}

struct tld_tls_conn *tld_nl_tls(struct tld_nl_conn *c)
{
    return c->tls;
}

bool tld_nl_closing(const struct tld_nl_conn *c)
{
    return c->st == NL_CLOSING;
}

/* ---- per-address counts ------------------------------------------------------------------- */

static struct nl_addr **addr_slot(struct tld_netloop *l, const char *ip)
{
    uint64_t h = tld_fnv1a(TLD_FNV1A_SEED, ip, strlen(ip)) & (l->addr_buckets - 1);
    struct nl_addr **p = &l->addr_tab[h];
    while (*p && strcmp((*p)->ip, ip) != 0)
        p = &(*p)->next;
    return p;
}

static struct nl_addr *addr_get(struct tld_netloop *l, const char *ip)
{
    struct nl_addr **p = addr_slot(l, ip);
    if (!*p && (*p = calloc(1, sizeof **p)) != NULL)
        snprintf((*p)->ip, sizeof(*p)->ip, "%s", ip);
    return *p;
}

static void addr_put(struct tld_netloop *l, struct nl_addr *a)
{
    if (a->conns || a->pending)
        return;
    struct nl_addr **p = addr_slot(l, a->ip);
    *p = a->next;
    free(a);
}

/* ---- lists -------------------------------------------------------------------------------- */

/* Without memory the handle is not listed: a ready connection is then served on its next
 * socket event, a closing one is freed by the tick when its linger time is over. */
static void push_handle(uint64_t **v, unsigned *n, unsigned *cap, uint64_t h)
{
    if (*n == *cap && tld_grow(v, cap, *n + 1, sizeof **v, 64) != 0)
        return;
    (*v)[(*n)++] = h;
}

void nl_make_ready(struct tld_nl_conn *c)
{
    if (c->on_ready)
        return;
    c->on_ready = true;
    push_handle(&c->l->ready, &c->l->nready, &c->l->ready_cap, tld_nl_handle(c));
}

static void listener_watch(struct tld_netloop *l, bool on)
{
    if (l->listening == on || l->lfd < 0)
        return;
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = KEY_LISTEN};
    if (epoll_ctl(l->ep, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, l->lfd, &e) == 0)
        l->listening = on;
}

static void pending_unlink(struct tld_netloop *l, struct tld_nl_conn *c)
{
    if (c->st != NL_HANDSHAKE && c->st != NL_PENDING)
        return;
    if (c->pend_prev)
        c->pend_prev->pend_next = c->pend_next;
    else
        l->pend_head = c->pend_next;
    if (c->pend_next)
        c->pend_next->pend_prev = c->pend_prev;
    else
        l->pend_tail = c->pend_prev;
    c->pend_prev = c->pend_next = NULL;
    l->npending--;
    c->addr->pending--;
    if (l->paused_full && l->npending < l->o.max_pending && !l->shutting_down) {
        l->paused_full = false;
        listener_watch(l, true);
    }
}

void nl_set_interest(struct tld_nl_conn *c)
{
    unsigned ev = 0;
    bool writing = c->out_off < c->out.n;
    bool reading = c->st != NL_CLOSING && !c->held && !c->budget_wait;
    if (reading)
        ev |= c->read_want == POLLOUT ? EPOLLOUT : EPOLLIN;
    if (writing)
        ev |= c->write_want == POLLIN ? EPOLLIN : EPOLLOUT;
    if (ev == c->interest)
        return;
    struct epoll_event e = {.events = ev, .data.u64 = tld_nl_handle(c)};
    if (epoll_ctl(c->l->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->interest = ev;
}

/* ---- closing ------------------------------------------------------------------------------ */

static void free_conn(struct tld_nl_conn *c, const char *why)
{
    struct tld_netloop *l = c->l;
    if (c->opened && l->o.ops->on_close)
        l->o.ops->on_close(l->o.ctx, c, why);
    pending_unlink(l, c);
    free(c->buf);
    c->buf = NULL;
    if (c->charged || c->budget_wait)
        nl_budget_release(l, c);
    tld_tls_close(c->tls); /* closes the socket, which leaves the epoll set */
    tld_sb_fini(&c->out);
    c->addr->conns--;
    addr_put(l, c->addr);
    l->conns[c->index] = NULL;
    l->free_slots[l->nfree++] = c->index;
    l->nconns--;
    free(c);
}

void tld_nl_close(struct tld_nl_conn *c, const char *why)
{
    if (c->st == NL_CLOSING)
        return;
    pending_unlink(c->l, c);
    c->st = NL_CLOSING;
    c->close_why = why;
    c->close_ns = tld_mono_ns() + LINGER_NS;
    push_handle(&c->l->closing, &c->l->nclosing, &c->l->closing_cap, tld_nl_handle(c));
    nl_set_interest(c);
}

void nl_refuse(struct tld_nl_conn *c, enum tld_nl_refusal kind, const char *why)
{
    struct tld_netloop *l = c->l;
    if (l->o.ops->on_refused)
        l->o.ops->on_refused(l->o.ctx, c->addr_text, kind, why);
    tld_nl_close(c, why);
}

/* Free the closing connections that are done writing (or out of time). */
static void reap(struct tld_netloop *l, bool all)
{
    int64_t now = tld_mono_ns();
    unsigned keep = 0;
    for (unsigned i = 0; i < l->nclosing; i++) {
        struct tld_nl_conn *c = tld_netloop_find(l, l->closing[i]);
        if (!c)
            continue;
        if (all || c->out_off >= c->out.n || c->write_failed || now >= c->close_ns)
            free_conn(c, c->close_why);
        else
            l->closing[keep++] = l->closing[i];
    }
    l->nclosing = keep;
}

/* ---- accepting ---------------------------------------------------------------------------- */

static void evict(struct tld_netloop *l, struct tld_nl_conn *c)
{
    nl_count(l, &l->st.evicted);
    if (!c->opened && l->o.ops->on_refused)
        l->o.ops->on_refused(l->o.ctx, c->addr_text, TLD_NL_EVICTED,
                             "pending connection closed to make room for a newer one");
    free_conn(c, "pending too long while the server was busy");
}

/* Whether the peer keeps a pending connection waiting: nothing from it for a while and nothing
 * unread. A handshake that waits for this loop's CPU has bytes unread, so under a storm of
 * legitimate agents none of them is undone; a peer holding a slot without speaking, or sending
 * a byte now and then, is. */
static bool stalled_by_peer(const struct tld_nl_conn *c, int64_t now)
{
    int unread = 0;
    return now - c->last_rx_ns >= STALLED_NS && ioctl(c->fd, FIONREAD, &unread) == 0 &&
           unread == 0 && !tld_tls_has_buffered(c->tls);
}

/* Close the oldest pending connection its peer stalls (among the oldest few); with `any`, the
 * oldest of all (descriptors ran out). */
static bool evict_pending(struct tld_netloop *l, bool any)
{
    int64_t now = tld_mono_ns();
    unsigned looked = 0;
    for (struct tld_nl_conn *c = l->pend_head; c && looked < 64; c = c->pend_next, looked++)
        if (any || stalled_by_peer(c, now)) {
            evict(l, c);
            return true;
        }
    return false;
}

/* The pending pool is full of handshakes under way: leave newcomers in the kernel's backlog
 * until one finishes (pending_unlink) or the tick finds a stalled one to evict. */
static void pause_for_room(struct tld_netloop *l)
{
    listener_watch(l, false);
    l->paused_full = true;
}

static void refuse_fd(struct tld_netloop *l, int fd, const char *addr, enum tld_nl_refusal kind,
                      const char *why, uint64_t *counter)
{
    nl_count(l, counter);
    close(fd);
    if (l->o.ops->on_refused)
        l->o.ops->on_refused(l->o.ctx, addr, kind, why);
}

static void admit(struct tld_netloop *l, int fd, const char *addr_text)
{
    char ip[TLD_NET_ADDR_MAX];
    tld_net_peer_ip(fd, ip);
    struct nl_addr *a = addr_get(l, ip);
    if (!a) {
        close(fd);
        return;
    }
    if ((l->o.max_per_addr && a->conns >= l->o.max_per_addr) ||
        a->pending >= l->o.max_pending_per_addr) {
        refuse_fd(l, fd, addr_text, TLD_NL_ADDRESS_LIMIT, "too many connections from this address",
                  &l->st.address_limited);
        addr_put(l, a);
        return;
    }
    if ((l->nconns >= l->o.max_conns || l->npending >= l->o.max_pending) &&
        !evict_pending(l, false)) {
        refuse_fd(l, fd, addr_text, TLD_NL_FULL, "connection limit reached", &l->st.full);
        addr_put(l, a);
        if (l->npending >= l->o.max_pending)
            pause_for_room(l);
        return;
    }
    struct tld_nl_conn *c = calloc(1, sizeof *c);
    struct tld_tls_conn *tls = NULL;
    if (!c || tld_tls_server_begin(l->o.tls, fd, &tls) != 0) { /* fd is closed either way */
        if (!c)
            close(fd);
        free(c);
        addr_put(l, a);
        return;
    }
    c->l = l;
    c->index = l->free_slots[--l->nfree];
    c->gen = ++l->gens[c->index];
    if (c->gen == 0)
        c->gen = ++l->gens[c->index]; /* handles are never below 2^32 */
    c->tls = tls;
    c->fd = fd;
    c->st = NL_HANDSHAKE;
    c->read_want = POLLIN;
    c->write_want = POLLOUT;
    c->since_ns = c->last_ns = c->last_rx_ns = tld_mono_ns();
    c->addr = a;
    snprintf(c->addr_text, sizeof c->addr_text, "%s", addr_text);
    tld_sb_init(&c->out, l->o.max_output + TLD_PROTO_HEADER + TLD_PROTO_MAX_PAYLOAD);
    struct epoll_event e = {.events = EPOLLIN, .data.u64 = tld_nl_handle(c)};
    c->interest = EPOLLIN;
    l->conns[c->index] = c;
    l->nconns++;
    a->conns++;
    a->pending++;
    l->npending++;
    c->pend_prev = l->pend_tail;
    if (l->pend_tail)
        l->pend_tail->pend_next = c;
    else
        l->pend_head = c;
    l->pend_tail = c;
    nl_count(l, &l->st.accepted);
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &e) != 0)
        free_conn(c, "cannot watch the socket");
}

static void accept_some(struct tld_netloop *l)
{
    /* Up to the pending pool's bound: the pool, not this loop, limits the work taken on. */
    for (unsigned i = 0; i < l->o.max_pending; i++) {
        /* A full pool leaves the next callers in the backlog rather than accepting them only to
         * refuse them: a refused agent backs off for seconds, a waiting one is served as soon
         * as a handshake finishes (a reconnect storm refused thousands). */
        if (l->npending >= l->o.max_pending && !evict_pending(l, false)) {
            pause_for_room(l);
            return;
        }
        int fd;
        char addr[TLD_NET_ADDR_MAX];
        int rc = tld_net_accept(l->lfd, &fd, addr);
        if (rc == TLD_EAGAIN)
            return;
        if (rc == 0) {
            admit(l, fd, addr);
            continue;
        }
        /* Out of descriptors or kernel memory: make room by closing the oldest pending
         * connection; with none, rest the listener (its backlog keeps the callers waiting). */
        nl_count(l, &l->st.accept_errors);
        if (!evict_pending(l, true)) {
            listener_watch(l, false);
            l->listen_resume_ns = tld_mono_ns() + ACCEPT_PAUSE;
            return;
        }
    }
}

/* ---- deadlines ---------------------------------------------------------------------------- */

static void check_deadlines(struct tld_netloop *l, int64_t now)
{
    for (unsigned i = 0; i < l->o.max_conns; i++) {
        struct tld_nl_conn *c = l->conns[i];
        if (!c)
            continue;
        if (c->st == NL_CLOSING) {
            if (now >= c->close_ns)
                free_conn(c, c->close_why);
            continue;
        }
        if (c->held || c->budget_wait)
            continue;
        if (c->st != NL_ACCEPTED) {
            if (now - c->since_ns < (int64_t)l->o.handshake_ms * 1000000)
                continue;
            nl_count(l, &l->st.timeouts);
            if (c->opened)
                tld_nl_close(c, "no first message in time");
            else
                nl_refuse(c, TLD_NL_TIMEOUT, "TLS handshake timed out");
        } else if (c->hdr_got || c->in_payload) {
            if (now - c->frame_start_ns >= (int64_t)l->o.frame_ms * 1000000) {
                nl_count(l, &l->st.idle_closed);
                tld_nl_close(c, "frame not completed in time");
            }
        } else if (l->o.idle_ms && now - c->last_ns >= (int64_t)l->o.idle_ms * 1000000) {
            nl_count(l, &l->st.idle_closed);
            tld_nl_close(c, "idle timeout");
        }
    }
}

void tld_nl_accept(struct tld_nl_conn *c)
{
    if (c->st != NL_PENDING)
        return;
    pending_unlink(c->l, c);
    c->st = NL_ACCEPTED;
    c->last_ns = tld_mono_ns();
}

int tld_nl_send(struct tld_nl_conn *c, unsigned type, struct tld_sv payload)
{
    if (c->st == NL_CLOSING || c->st == NL_HANDSHAKE)
        return TLD_ECLOSED;
    if (c->out.n - c->out_off > c->l->o.max_output) {
        tld_nl_close(c, "peer does not read what is sent to it");
        return TLD_ELIMIT;
    }
    uint8_t h[TLD_PROTO_HEADER];
    tld_proto_header_put(h, type, payload.n);
    tld_sb_append(&c->out, h, sizeof h);
    tld_sb_append(&c->out, payload.p, payload.n);
    if (c->out.oom || c->out.truncated) {
        tld_nl_close(c, "out of memory for output");
        return TLD_ENOMEM;
    }
    return nl_flush(c) ? 0 : TLD_ECLOSED;
}

void tld_nl_resume(struct tld_nl_conn *c)
{
    if (!c->held)
        return;
    c->resumed = true;
    c->last_ns = tld_mono_ns();
    nl_make_ready(c);
}

/* ---- posts -------------------------------------------------------------------------------- */

int tld_netloop_post(struct tld_netloop *l, void (*fn)(void *arg), void *arg)
{
    struct nl_post *p = malloc(sizeof *p);
    if (!p)
        return TLD_ENOMEM;
    *p = (struct nl_post){NULL, fn, arg};
    pthread_mutex_lock(&l->mu);
    bool closed = l->stopping || !l->started;
    if (!closed) {
        if (l->posts_tail)
            l->posts_tail->next = p;
        else
            l->posts = p;
        l->posts_tail = p;
    }
    pthread_mutex_unlock(&l->mu);
    if (closed) {
        free(p);
        return TLD_ECLOSED;
    }
    uint64_t one = 1;
    if (write(l->wake_fd, &one, sizeof one) < 0) {
        /* the counter cannot overflow here; the loop drains it every turn */
    }
    return 0;
}

/* Run what was posted; true when the loop must stop. */
static bool run_posts(struct tld_netloop *l)
{
    uint64_t v;
    if (read(l->wake_fd, &v, sizeof v) < 0) {
        /* EAGAIN: nothing to drain */
    }
    pthread_mutex_lock(&l->mu);
    struct nl_post *p = l->posts;
    l->posts = l->posts_tail = NULL;
    bool stop = l->stopping;
    pthread_mutex_unlock(&l->mu);
    while (p) {
        struct nl_post *next = p->next;
        p->fn(p->arg);
        free(p);
        p = next;
    }
    return stop;
}

/* ---- the loop ----------------------------------------------------------------------------- */

static void serve_ready(struct tld_netloop *l)
{
    /* Connections made ready while serving go to the next turn. */
    unsigned n = l->nready;
    uint64_t *batch = l->ready;
    l->ready = NULL;
    l->nready = l->ready_cap = 0;
    for (unsigned i = 0; i < n; i++) {
        struct tld_nl_conn *c = tld_netloop_find(l, batch[i]);
        if (c) {
            c->on_ready = false;
            nl_serve(c, 0);
        }
    }
    free(batch);
}

static bool stop_asked(struct tld_netloop *l)
{
    pthread_mutex_lock(&l->mu);
    bool stop = l->stopping;
    pthread_mutex_unlock(&l->mu);
    return stop;
}

static void turn(struct tld_netloop *l, int timeout_ms, bool *stop)
{
    struct epoll_event evs[256];
    bool stopping = *stop; /* shutdown_all's turns only write the last words */
    int n = epoll_wait(l->ep, evs, 256, timeout_ms);
    /* The listener every turn, not only when epoll reports it: with thousands of busy sockets
     * epoll reports it once per round over all of them, which let a reconnect storm in 64
     * agents at a time. */
    if (!*stop && l->listening)
        accept_some(l);
    for (int i = 0; i < n; i++) {
        /* A stop is seen within a few connections: under load every agent has a backlog and
         * sends full batches, so one turn can take seconds, and epoll reports the wake-up only
         * after every busy socket had its turn (a restart waited 11-18 s for it). What was
         * appended is still acknowledged by shutdown_all. */
        if (!stopping && i % 16 == 15 && stop_asked(l)) {
            *stop = true;
            return;
        }
        uint64_t key = evs[i].data.u64;
        if (key == KEY_LISTEN) {
            if (!*stop)
                accept_some(l);
        } else if (key == KEY_WAKE) {
            if (run_posts(l))
                *stop = true;
        } else {
            struct tld_nl_conn *c = tld_netloop_find(l, key);
            if (c)
                nl_serve(c, evs[i].events);
        }
    }
    serve_ready(l);
    if (l->o.ops->on_turn)
        l->o.ops->on_turn(l->o.ctx);
    reap(l, false);
}

static void shutdown_all(struct tld_netloop *l)
{
    l->shutting_down = true;
    listener_watch(l, false);
    run_posts(l); /* the last turn may have stopped before the wake-up's event */
    for (unsigned i = 0; i < l->o.max_conns; i++) {
        struct tld_nl_conn *c = l->conns[i];
        if (!c || c->st == NL_CLOSING)
            continue;
        if (c->opened && l->o.ops->on_stop)
            l->o.ops->on_stop(l->o.ctx, c);
        tld_nl_close(c, "manager stopping");
    }
    int64_t deadline = tld_deadline_in(STOP_FLUSH_MS);
    bool stop = true;
    while (l->nclosing && tld_deadline_left_ms(deadline) > 0)
        turn(l, 50, &stop);
    reap(l, true);
    for (unsigned i = 0; i < l->o.max_conns; i++)
        if (l->conns[i])
            free_conn(l->conns[i], "manager stopping");
}

static void *run(void *arg)
{
    struct tld_netloop *l = arg;
    int64_t next_tick = tld_mono_ns() + TICK_NS;
    bool stop = false;
    while (!stop) {
        int64_t now = tld_mono_ns();
        int timeout = l->nready ? 0 : (int)((next_tick - now + 999999) / 1000000);
        turn(l, timeout < 0 ? 0 : timeout, &stop);
        if (!stop)
            stop = stop_asked(l);
        now = tld_mono_ns();
        if (now < next_tick)
            continue;
        next_tick = now + TICK_NS;
        check_deadlines(l, now);
        pthread_mutex_lock(&l->mu);
        l->st.conns = l->nconns;
        l->st.pending = l->npending;
        l->st.budget_used = l->budget_used;
        pthread_mutex_unlock(&l->mu);
        if (l->paused_full && evict_pending(l, false)) {
            while (l->npending >= l->o.max_pending && evict_pending(l, false))
                ;
        }
        if (!l->listening && !l->paused_full && now >= l->listen_resume_ns)
            listener_watch(l, true);
        if (l->o.ops->on_tick)
            l->o.ops->on_tick(l->o.ctx, now);
    }
    shutdown_all(l);
    return NULL;
}

/* ---- life cycle --------------------------------------------------------------------------- */

static void apply_defaults(struct tld_netloop_opts *o)
{
    if (!o->max_conns)
        o->max_conns = 1024;
    if (!o->max_pending)
        o->max_pending = 256;
    if (!o->max_pending_per_addr)
        o->max_pending_per_addr = 16;
    if (!o->handshake_ms)
        o->handshake_ms = 10000;
    if (!o->frame_ms)
        o->frame_ms = 30000;
    if (!o->max_frame || o->max_frame > TLD_PROTO_MAX_PAYLOAD)
        o->max_frame = TLD_PROTO_MAX_PAYLOAD;
    if (!o->conn_buffer)
        o->conn_buffer = 64 * 1024;
    if (!o->max_pending_frame)
        o->max_pending_frame = 64 * 1024;
    if (o->max_pending_frame > o->conn_buffer)
        o->max_pending_frame = o->conn_buffer; /* unauthenticated peers never use the budget */
    if (!o->shared_budget)
        o->shared_budget = 64u << 20;
    if (o->shared_budget < o->max_frame)
        o->shared_budget = o->max_frame;
    if (!o->max_output)
        o->max_output = 1u << 20;
}

int tld_netloop_new(const struct tld_netloop_opts *o, struct tld_netloop **out)
{
    *out = NULL;
    struct tld_netloop *l = calloc(1, sizeof *l);
    if (!l)
        return TLD_ENOMEM;
    l->o = *o;
    apply_defaults(&l->o);
    l->lfd = l->ep = l->wake_fd = -1;
    pthread_mutex_init(&l->mu, NULL);
    l->addr_buckets = 64;
    while (l->addr_buckets < l->o.max_conns)
        l->addr_buckets *= 2;
    l->conns = calloc(l->o.max_conns, sizeof *l->conns);
    l->gens = calloc(l->o.max_conns, sizeof *l->gens);
    l->free_slots = calloc(l->o.max_conns, sizeof *l->free_slots);
    l->addr_tab = calloc(l->addr_buckets, sizeof *l->addr_tab);
    int rc = l->conns && l->gens && l->free_slots && l->addr_tab ? 0 : TLD_ENOMEM;
    for (unsigned i = 0; rc == 0 && i < l->o.max_conns; i++)
        l->free_slots[l->nfree++] = l->o.max_conns - 1 - i;
    if (rc == 0) {
        l->ep = epoll_create1(EPOLL_CLOEXEC);
        l->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        rc = l->ep >= 0 && l->wake_fd >= 0 ? 0 : TLD_EIO;
    }
    if (rc == 0)
        /* The backlog holds a storm's callers while the pending pool is full (the kernel caps
         * it at net.core.somaxconn). */
        rc = tld_net_listen(o->host, o->port, (int)(l->o.max_conns > 1024 ? l->o.max_conns : 1024),
                            &l->lfd, &l->port);
    if (rc == 0) {
        struct epoll_event e = {.events = EPOLLIN, .data.u64 = KEY_WAKE};
        rc = epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake_fd, &e) == 0 ? 0 : TLD_EIO;
    }
    if (rc) {
        int e = errno;
        tld_netloop_free(l);
        errno = e;
        return rc;
    }
    *out = l;
    return 0;
}

unsigned tld_netloop_port(const struct tld_netloop *l)
{
    return l->port;
}

int tld_netloop_start(struct tld_netloop *l)
{
    listener_watch(l, true);
    if (!l->listening || pthread_create(&l->thread, NULL, run, l) != 0)
        return TLD_EIO;
    pthread_mutex_lock(&l->mu);
    l->started = true;
    pthread_mutex_unlock(&l->mu);
    return 0;
}

void tld_netloop_stop(struct tld_netloop *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    bool join = l->started && !l->stopped;
    l->stopping = true;
    l->stopped = true;
    pthread_mutex_unlock(&l->mu);
    if (!join)
        return;
    uint64_t one = 1;
    if (write(l->wake_fd, &one, sizeof one) < 0) {
        /* cannot fail for a fresh counter */
    }
    pthread_join(l->thread, NULL);
}

void tld_netloop_free(struct tld_netloop *l)
{
    if (!l)
        return;
    tld_netloop_stop(l);
    /* Never started: connections cannot exist, but posts may not have run. */
    for (struct nl_post *p = l->posts, *n; p; p = n) {
        n = p->next;
        free(p);
    }
    if (l->lfd >= 0)
        close(l->lfd);
    if (l->ep >= 0)
        close(l->ep);
    if (l->wake_fd >= 0)
        close(l->wake_fd);
    for (unsigned i = 0; l->addr_tab && i < l->addr_buckets; i++)
        for (struct nl_addr *a = l->addr_tab[i], *n; a; a = n) {
            n = a->next;
            free(a);
        }
    free(l->addr_tab);
    free(l->conns);
    free(l->gens);
    free(l->free_slots);
    free(l->ready);
    free(l->closing);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

void tld_netloop_stats(struct tld_netloop *l, struct tld_netloop_stats *st)
{
    pthread_mutex_lock(&l->mu);
    *st = l->st;
    pthread_mutex_unlock(&l->mu);
}
