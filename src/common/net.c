/* TCP helpers (see net.h). */
#include "common/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/err.h"

int tld_net_wait(int fd, short events, int64_t deadline_ns, int cancel_fd)
{
    for (;;) {
        int timeout = tld_deadline_left_ms(deadline_ns);
        if (timeout == 0)
            return TLD_ETIMEOUT;
        struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = cancel_fd, .events = POLLIN}};
        int n = poll(p, cancel_fd >= 0 ? 2 : 1, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return TLD_EIO;
        }
        if (cancel_fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
            return TLD_ECLOSED;
        if (p[0].revents)
            return 0; /* ready, or an error the next I/O call reports */
    }
}

static void tune(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
}

int tld_net_listen(const char *host, unsigned port, int backlog, int *fd, unsigned *bound_port)
{
    *fd = -1;
    char ps[16];
    snprintf(ps, sizeof ps, "%u", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host && *host ? host : NULL, ps, &hints, &res) != 0)
        return TLD_EINVAL;
    int rc = TLD_EIO, saved = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0) {
            saved = errno;
            continue;
        }
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(s, ai->ai_addr, ai->ai_addrlen) == 0 && listen(s, backlog) == 0) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            if (bound_port && getsockname(s, (struct sockaddr *)&ss, &sl) == 0)
                *bound_port =
                    ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                   : ((struct sockaddr_in *)&ss)->sin_port);
            *fd = s;
            rc = 0;
            break;
        }
        saved = errno;
        close(s);
    }
    freeaddrinfo(res);
    if (rc)
        errno = saved;
    return rc;
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t n, bool with_port)
{
    char ip[INET6_ADDRSTRLEN] = "unknown";
    unsigned port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
        port = ntohs(a->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        /* An IPv4 client on a dual-stack socket is shown as plain IPv4. */
        if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
            inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof ip);
        else
            inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
        port = ntohs(a->sin6_port);
    }
    if (!with_port)
        snprintf(out, n, "%s", ip);
    else if (strchr(ip, ':'))
        snprintf(out, n, "[%s]:%u", ip, port);
    else
        snprintf(out, n, "%s:%u", ip, port);
}

int tld_net_accept(int lfd, int *cfd, char addr[TLD_NET_ADDR_MAX])
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int s = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (s < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED)
            return TLD_EAGAIN;
        return TLD_EIO;
    }
    tune(s);
    format_addr(&ss, addr, TLD_NET_ADDR_MAX, true);
    *cfd = s;
    return 0;
}

void tld_net_peer_ip(int fd, char ip[TLD_NET_ADDR_MAX])
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(ip, TLD_NET_ADDR_MAX, "unknown");
        return;
    }
    format_addr(&ss, ip, TLD_NET_ADDR_MAX, false);
}

int tld_net_connect(const char *host, unsigned port, int timeout_ms, int cancel_fd, int *fd)
{
    *fd = -1;
    char ps[16];
    snprintf(ps, sizeof ps, "%u", port);
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, ps, &hints, &res) != 0)
        return TLD_EINVAL;
    int64_t deadline = tld_deadline_in(timeout_ms);
    int rc = TLD_EIO;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (s < 0)
            continue;
        if (connect(s, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            close(s);
            rc = TLD_EIO;
            continue;
        }
        rc = tld_net_wait(s, POLLOUT, deadline, cancel_fd);
        if (rc == 0) {
            int err = 0;
            socklen_t el = sizeof err;
            if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
                errno = err;
                rc = TLD_EIO;
            }
        }
        if (rc == 0) {
            tune(s);
            *fd = s;
            break;
        }
        close(s);
        if (rc == TLD_ECLOSED || rc == TLD_ETIMEOUT)
            break;
    }
    freeaddrinfo(res);
    return rc;
}

int tld_net_split(const char *s, unsigned defport, char *host, size_t hostn, unsigned *port)
{
    const char *h = s, *colon = NULL;
    size_t hl;
    if (*s == '[') {
        const char *close = strchr(s, ']');
        if (!close)
            return TLD_EINVAL;
        h = s + 1;
        hl = (size_t)(close - h);
        if (close[1] == ':')
            colon = close + 1;
        else if (close[1])
            return TLD_EINVAL;
    } else {
        colon = strchr(s, ':');
        if (colon && strchr(colon + 1, ':')) /* bare IPv6 address without a port */
            colon = NULL;
        hl = colon ? (size_t)(colon - s) : strlen(s);
    }
    if (hl == 0 || hl >= hostn)
        return TLD_EINVAL;
    memcpy(host, h, hl);
    host[hl] = 0;
    *port = defport;
    if (colon) {
        unsigned v = 0;
        const char *p = colon + 1;
        if (!*p)
            return TLD_EINVAL;
        for (; *p; p++) {
            if (*p < '0' || *p > '9' || v > 6553)
                return TLD_EINVAL;
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (v == 0 || v > 65535)
            return TLD_EINVAL;
        *port = v;
    }
    return 0;
}
