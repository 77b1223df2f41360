/*
 * One connection of the network loop (see netloop.h): the TLS handshake, frame assembly from
 * TLS reads, the payload's memory (its own or charged to the shared budget), and writes of the
 * queued output. Everything here runs in the loop thread.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "common/deadline.h"
#include "common/err.h"
#include "manager/netloop_int.h"

/* Frames served per connection per turn, so one busy peer cannot starve the others. */
#define FRAMES_PER_TURN 8

static void waiter_unlink(struct tld_netloop *l, struct tld_nl_conn *c)
{
    if (c->wait_prev)
        c->wait_prev->wait_next = c->wait_next;
    else
        l->wait_head = c->wait_next;
    if (c->wait_next)
        c->wait_next->wait_prev = c->wait_prev;
    else
        l->wait_tail = c->wait_prev;
    c->wait_prev = c->wait_next = NULL;
    c->budget_wait = false;
}

/* The payload buffer of the frame whose header was just read; false when the connection must
 * wait for the budget (it is queued) or was closed (no memory). */
static bool payload_alloc(struct tld_nl_conn *c)
{
    struct tld_netloop *l = c->l;
    if (c->len > l->o.conn_buffer && !c->charged) {
        if (l->wait_head || l->budget_used + c->len > l->o.shared_budget) {
            c->budget_wait = true;
            c->wait_prev = l->wait_tail;
            if (l->wait_tail)
                l->wait_tail->wait_next = c;
            else
                l->wait_head = c;
            l->wait_tail = c;
            nl_count(l, &l->st.budget_waits);
            nl_set_interest(c);
            return false;
        }
        l->budget_used += c->len;
        c->charged = c->len;
    }
    c->buf = malloc(c->len + 1);
    if (!c->buf) {
        tld_nl_close(c, "out of memory for a frame");
        return false;
    }
    return true;
}

void nl_budget_release(struct tld_netloop *l, struct tld_nl_conn *c)
{
    if (c->budget_wait)
        waiter_unlink(l, c);
    l->budget_used -= c->charged;
    c->charged = 0;
    /* First come, first served: the head waits until it fits even if a later one would. */
    while (l->wait_head && l->budget_used + l->wait_head->len <= l->o.shared_budget) {
        struct tld_nl_conn *w = l->wait_head;
        waiter_unlink(l, w);
        l->budget_used += w->len;
        w->charged = w->len;
        w->frame_start_ns = tld_mono_ns();
        nl_make_ready(w);
    }
}

void nl_frame_done(struct tld_nl_conn *c)
{
    free(c->buf);
    c->buf = NULL;
    if (c->charged || c->budget_wait)
        nl_budget_release(c->l, c);
    c->hdr_got = 0;
    c->in_payload = false;
    c->held = c->resumed = false;
    c->len = c->got = 0;
}

static void deliver(struct tld_nl_conn *c)
{
    struct tld_netloop *l = c->l;
    struct tld_sv payload = {c->buf ? c->buf : "", c->len};
    c->turn_frames++;
    int rc = l->o.ops->on_frame(l->o.ctx, c, c->type, payload);
    if (rc == TLD_EAGAIN && c->st != NL_CLOSING) {
        c->held = true;
        nl_set_interest(c);
        return;
    }
    nl_frame_done(c);
    c->last_ns = tld_mono_ns();
}

static void bad_frame(struct tld_nl_conn *c, const char *why)
{
    struct tld_netloop *l = c->l;
    if (l->o.ops->on_bad_frame)
        l->o.ops->on_bad_frame(l->o.ctx, c, why);
    tld_nl_close(c, why);
}

/* A read failed or would block: false when the caller must stop reading. */
static bool read_result(struct tld_nl_conn *c, int rc, short want)
{
    if (rc == TLD_EAGAIN) {
        c->read_want = want;
        return false;
    }
    tld_nl_close(c, rc == TLD_ECLOSED ? "closed by the peer" : "connection error");
    return false;
}

/* One step of frame assembly: false when reading must stop for now. */
static bool read_step(struct tld_nl_conn *c)
{
    struct tld_netloop *l = c->l;
    size_t got = 0;
    short want = POLLIN;
    int rc;
    if (!c->in_payload) {
        rc =
            tld_tls_read_some(c->tls, c->hdr + c->hdr_got, sizeof c->hdr - c->hdr_got, &got, &want);
        if (rc)
            return read_result(c, rc, want);
        if (c->hdr_got == 0)
            c->frame_start_ns = tld_mono_ns();
        c->hdr_got += got;
        if (c->hdr_got < sizeof c->hdr)
            return true;
        size_t max = c->st == NL_ACCEPTED ? l->o.max_frame : l->o.max_pending_frame;
        if (tld_proto_header_parse(c->hdr, sizeof c->hdr, max, &c->type, &c->len) != 0) {
            bad_frame(c, "bad frame header, or a frame over the size bound");
            return false;
        }
        c->in_payload = true;
        c->got = 0;
        if (c->len && !payload_alloc(c))
            return false;
    }
    if (c->got < c->len) {
        rc = tld_tls_read_some(c->tls, c->buf + c->got, c->len - c->got, &got, &want);
        if (rc)
            return read_result(c, rc, want);
        c->got += got;
        if (c->got < c->len)
            return true;
    }
    if (c->buf)
        c->buf[c->len] = 0;
    deliver(c);
    return true;
}

static void read_frames(struct tld_nl_conn *c)
{
    c->turn_frames = 0;
    while (c->st != NL_CLOSING && !c->budget_wait) {
        if (c->held) {
            if (!c->resumed)
                return;
            c->resumed = false;
            deliver(c);
        } else if (c->in_payload && c->len && !c->buf) {
            if (!payload_alloc(c)) /* the budget was granted while waiting */
                return;
        } else if (!read_step(c)) {
            return;
        }
        if (c->turn_frames >= FRAMES_PER_TURN) {
            /* OpenSSL may hold decrypted bytes that epoll cannot see: come back next turn. */
            nl_make_ready(c);
            return;
        }
    }
}

bool nl_flush(struct tld_nl_conn *c)
{
    while (c->out_off < c->out.n) {
        size_t put = 0;
        short want = POLLOUT;
        int rc =
            tld_tls_write_some(c->tls, c->out.p + c->out_off, c->out.n - c->out_off, &put, &want);
        if (rc == TLD_EAGAIN) {
            c->write_want = want;
            nl_set_interest(c);
            return true;
        }
        if (rc) {
            c->out_off = c->out.n = 0;
            c->write_failed = true;
            /* A peer that went away while we wrote left, it did not fail us. */
            tld_nl_close(c, rc == TLD_ECLOSED ? "closed by the peer" : "write failed");
            return false;
        }
        c->out_off += put;
    }
    c->out_off = 0;
    if (c->out.cap > 16384) {
        /* An idle connection keeps no large buffer. */
        size_t max = c->out.max;
        tld_sb_fini(&c->out);
        tld_sb_init(&c->out, max);
    } else {
        tld_sb_reset(&c->out);
    }
    nl_set_interest(c);
    return true;
}

static void handshake(struct tld_nl_conn *c)
{
    struct tld_netloop *l = c->l;
    short want = POLLIN;
    char why[TLD_WHY_MAX] = "";
    int rc = tld_tls_handshake_step(c->tls, &want, why);
    if (rc == TLD_EAGAIN) {
        c->read_want = want;
        nl_set_interest(c);
        return;
    }
    if (rc) {
        nl_count(l, &l->st.tls_failures);
        nl_refuse(c, TLD_NL_TLS_FAILED, why);
        return;
    }
    c->st = NL_PENDING;
    c->read_want = POLLIN;
    c->opened = true;
    l->o.ops->on_open(l->o.ctx, c);
}

void nl_serve(struct tld_nl_conn *c, unsigned events)
{
    if (events & EPOLLIN)
        c->last_rx_ns = tld_mono_ns();
    if (c->st == NL_HANDSHAKE) {
        handshake(c);
        if (c->st == NL_HANDSHAKE)
            return;
    }
    if (c->out_off < c->out.n && !nl_flush(c))
        return;
    if (c->st == NL_CLOSING)
        return;
    bool reading = !c->held && !c->budget_wait;
    if (!reading && (events & (EPOLLHUP | EPOLLERR))) {
        /* Not reading, so nothing would notice the peer is gone and epoll keeps saying so. */
        tld_nl_close(c, "connection lost");
        return;
    }
    read_frames(c);
    nl_set_interest(c);
}
