/*
 * The control channel's socket and framing (see ctl.h). One thread polls the listening socket,
 * a wake-up eventfd and every client; clients are non-blocking, so a client that sends slowly
 * or does not read its reply costs a slot and its deadline, nothing more.
 */
#include "manager/ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/jscan.h"
#include "engine/alert.h"

struct client {
    int fd;
    bool writing;      /* the reply is being sent; the request is no longer read */
    int64_t deadline;  /* monotonic ms (tld_deadline_in) */
    struct tld_sb in;  /* the request so far */
    struct tld_sb out; /* the reply */
    size_t out_off;
};

struct tld_ctl {
    struct tld_ctl_opts o;
    char *path; /* owned copy */
    int lfd, wake_fd;
    atomic_bool stop;
    pthread_t t;
    struct client clients[TLD_CTL_MAX_CLIENTS];
    unsigned nclients;
};

/* ---- JSON helpers ---------------------------------------------------------------------------- */

void tld_ctl_json_str(struct tld_sb *reply, const char *s)
{
    tld_alert_json_string(reply, tld_sv_of(s));
}

void tld_ctl_reply_error(struct tld_sb *reply, int error, const char *message)
{
    tld_sb_printf(reply, "{\"error\":%d,\"message\":", error);
    tld_ctl_json_str(reply, message);
    tld_sb_append_char(reply, '}');
}

/* Walk the object's members; stops at `key` (*found, the scanner at its value) or the end.
 * false when the text is not one well-formed object. */
static bool find_member(struct tld_jscan *j, const char *key, bool *found)
{
    *found = false;
    if (!tld_jscan_object(j))
        return false;
    struct tld_sv k;
    bool got;
    for (bool first = true;; first = false) {
        if (tld_jscan_member(j, first, &k, &got) != 0)
            return false;
        if (!got)
            return tld_jscan_done(j);
        if (key && k.n == strlen(key) && memcmp(k.p, key, k.n) == 0) {
            *found = true;
            return true;
        }
        if (!tld_jscan_skip(j))
            return false;
    }
}

bool tld_ctl_member_str(struct tld_sv req, const char *key, struct tld_sb *out)
{
    struct tld_jscan j = tld_jscan_of(req);
    bool found;
    return find_member(&j, key, &found) && found && tld_jscan_peek(&j) == '"' &&
           tld_jscan_string(&j, out);
}

/* ---- clients --------------------------------------------------------------------------------- */

static void client_close(struct tld_ctl *c, unsigned i)
{
    struct client *cl = &c->clients[i];
    close(cl->fd);
    tld_sb_fini(&cl->in);
    tld_sb_fini(&cl->out);
    c->clients[i] = c->clients[--c->nclients];
}

/* Switch the client to sending `out` plus the closing newline. */
static void client_reply(struct client *cl)
{
    if (cl->out.oom || cl->out.truncated) {
        tld_sb_reset(&cl->out);
        cl->out.oom = cl->out.truncated = false;
        tld_ctl_reply_error(&cl->out, 12, "reply too large or out of memory");
    }
    tld_sb_append_char(&cl->out, '\n');
    cl->writing = true;
    cl->out_off = 0;
    cl->deadline = tld_deadline_in(TLD_CTL_WRITE_MS);
}

int tld_ctl_parse(struct tld_sv req, struct tld_sb *op, const char **why)
{
    struct tld_jscan j = tld_jscan_of(req);
    bool found;
    if (!find_member(&j, NULL, &found)) {
        *why = "malformed request: not one JSON object";
        return TLD_EPARSE;
    }
    if (!tld_ctl_member_str(req, "op", op) || op->truncated || op->oom || !op->n) {
        *why = "malformed request: no \"op\" string";
        return TLD_EPARSE;
    }
    return 0;
}

/* A whole request (without its newline): checked, then handed to the handler. */
static void client_request(struct tld_ctl *c, struct client *cl, struct tld_sv req)
{
    struct tld_sb op;
    tld_sb_init(&op, 256);
    const char *why;
    if (tld_ctl_parse(req, &op, &why) != 0)
        tld_ctl_reply_error(&cl->out, TLD_CTL_INVALID, why);
    else
        c->o.handle(c->o.ctx, tld_sb_cstr(&op), req, &cl->out);
    tld_sb_fini(&op);
    client_reply(cl);
}

/* Read what is there; a newline (or the peer's end of sending) completes the request. */
static bool client_read(struct tld_ctl *c, struct client *cl)
{
    char buf[65536];
    for (;;) {
        ssize_t n = read(cl->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        if (n == 0) {
            if (!cl->in.n)
                return false;
            client_request(c, cl, tld_sb_view(&cl->in));
            return true;
        }
        const char *nl = memchr(buf, '\n', (size_t)n);
        size_t take = nl ? (size_t)(nl - buf) : (size_t)n;
        if (cl->in.n + take > TLD_CTL_MAX_REQUEST) {
            tld_ctl_reply_error(&cl->out, TLD_CTL_TOO_LARGE, "request larger than 4 MiB");
            client_reply(cl);
            return true;
        }
        tld_sb_append(&cl->in, buf, take);
        if (cl->in.oom) {
            tld_ctl_reply_error(&cl->out, 12, "out of memory");
            client_reply(cl);
            return true;
        }
        if (nl) {
            client_request(c, cl, tld_sb_view(&cl->in));
            return true;
        }
    }
}

/* Send what the socket takes; false when done (or the peer is gone). */
static bool client_write(struct client *cl)
{
    while (cl->out_off < cl->out.n) {
        ssize_t n = send(cl->fd, cl->out.p + cl->out_off, cl->out.n - cl->out_off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        cl->out_off += (size_t)n;
    }
    return false;
}

static bool peer_allowed(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0)
        return false;
    return cr.uid == 0 || cr.uid == geteuid();
}

static void accept_all(struct tld_ctl *c)
{
    for (;;) {
        int fd = accept4(c->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        const char *refusal = NULL;
        int code = 0;
        if (!peer_allowed(fd)) {
            refusal = "not allowed";
            code = TLD_CTL_NOT_ALLOWED;
        } else if (c->nclients == TLD_CTL_MAX_CLIENTS) {
            refusal = "busy: too many control clients";
            code = TLD_CTL_BUSY;
        }
        if (refusal) {
            /* Best effort: the refusal fits in an empty socket buffer. */
            char line[128];
            int n =
                snprintf(line, sizeof line, "{\"error\":%d,\"message\":\"%s\"}\n", code, refusal);
            if (send(fd, line, (size_t)n, MSG_NOSIGNAL) < 0)
                tld_log_debug(c->o.log, "control: refusal not sent");
            close(fd);
            continue;
        }
        struct client *cl = &c->clients[c->nclients++];
        *cl = (struct client){.fd = fd, .deadline = tld_deadline_in(TLD_CTL_READ_MS)};
        tld_sb_init(&cl->in, TLD_CTL_MAX_REQUEST);
        tld_sb_init(&cl->out, TLD_CTL_MAX_REPLY);
    }
}

static void *ctl_main(void *arg)
{
    struct tld_ctl *c = arg;
    struct pollfd pf[TLD_CTL_MAX_CLIENTS + 2];
    while (!atomic_load(&c->stop)) {
        pf[0] = (struct pollfd){c->wake_fd, POLLIN, 0};
        pf[1] = (struct pollfd){c->lfd, POLLIN, 0};
        int timeout = 1000;
        for (unsigned i = 0; i < c->nclients; i++) {
            struct client *cl = &c->clients[i];
            pf[i + 2] = (struct pollfd){cl->fd, cl->writing ? POLLOUT : POLLIN, 0};
            int left = (int)tld_deadline_left_ms(cl->deadline);
            if (left < timeout)
                timeout = left < 0 ? 0 : left;
        }
        unsigned n = c->nclients;
        if (poll(pf, n + 2, timeout) < 0 && errno != EINTR)
            break;
        /* Clients first (closing one moves the last into its place: walk backwards). */
        for (unsigned i = n; i-- > 0;) {
            struct client *cl = &c->clients[i];
            bool keep = true;
            if (pf[i + 2].revents & (POLLIN | POLLOUT | POLLERR | POLLHUP)) {
                if (!cl->writing)
                    keep = client_read(c, cl);
                if (keep && cl->writing)
                    keep = client_write(cl);
            }
            if (keep && tld_deadline_left_ms(cl->deadline) <= 0) {
                tld_log_debug(c->o.log, "control: a client timed out");
                keep = false;
            }
            if (!keep)
                client_close(c, i);
        }
        if (pf[1].revents & POLLIN)
            accept_all(c);
    }
    while (c->nclients)
        client_close(c, c->nclients - 1);
    return NULL;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

static int listen_at(const char *path, int *out, char why[TLD_WHY_MAX])
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(why, TLD_WHY_MAX, "control socket path too long: %s", path);
        return TLD_EINVAL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(why, TLD_WHY_MAX, "control socket: %s", strerror(errno));
        return TLD_EIO;
    }
    /* A file left by a manager that died is replaced; a live one holds the pid file. */
    unlink(path);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || chmod(path, 0660) != 0 ||
        listen(fd, 64) != 0) {
        snprintf(why, TLD_WHY_MAX, "control socket %s: %s", path, strerror(errno));
        close(fd);
        return TLD_EIO;
    }
    *out = fd;
    return 0;
}

int tld_ctl_start(const struct tld_ctl_opts *o, struct tld_ctl **out, char why[TLD_WHY_MAX])
{
    *out = NULL;
    struct tld_ctl *c = calloc(1, sizeof *c);
    if (!c || !(c->path = strdup(o->path))) {
        free(c);
        snprintf(why, TLD_WHY_MAX, "out of memory");
        return TLD_ENOMEM;
    }
    c->o = *o;
    c->o.path = c->path;
    c->wake_fd = -1;
    atomic_init(&c->stop, false);
    int rc = listen_at(c->path, &c->lfd, why);
    if (rc) {
        free(c->path);
        free(c);
        return rc;
    }
    c->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (c->wake_fd < 0 || pthread_create(&c->t, NULL, ctl_main, c) != 0) {
        snprintf(why, TLD_WHY_MAX, "control channel: cannot start its thread");
        if (c->wake_fd >= 0)
            close(c->wake_fd);
        close(c->lfd);
        unlink(c->path);
        free(c->path);
        free(c);
        return TLD_EIO;
    }
    *out = c;
    return 0;
}

void tld_ctl_stop(struct tld_ctl *c)
{
    if (!c)
        return;
    atomic_store(&c->stop, true);
    uint64_t one = 1;
    if (write(c->wake_fd, &one, sizeof one) != sizeof one)
        tld_log_debug(c->o.log, "control: wake-up not written");
    pthread_join(c->t, NULL);
    close(c->wake_fd);
    close(c->lfd);
    unlink(c->path);
    free(c->path);
    free(c);
}
