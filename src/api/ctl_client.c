/*
 * The control channel client (ctl_client.h). Non-blocking I/O against one deadline, so a
 * manager that accepts and never answers holds a request thread for at most the timeout.
 */
#include "api/ctl_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/net.h"
#include "common/str.h"

void tld_ctl_path(const char *root, char *out, size_t n)
{
    snprintf(out, n, "%s/var/run/tld-manager.ctl", root);
}

static int open_conn(const char *path, int64_t deadline, int *fd, char why[TLD_WHY_MAX])
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(why, TLD_WHY_MAX, "control socket path too long");
        return TLD_EINVAL;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    *fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (*fd < 0) {
        snprintf(why, TLD_WHY_MAX, "socket: %s", strerror(errno));
        return TLD_EIO;
    }
    if (connect(*fd, (struct sockaddr *)&sa, sizeof sa) == 0)
        return 0;
    int e = errno;
    if (e == EINPROGRESS || e == EAGAIN) {
        int rc = tld_net_wait(*fd, POLLOUT, deadline, -1);
        socklen_t len = sizeof e;
        if (rc == 0 && getsockopt(*fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == 0)
            return 0;
        if (rc == TLD_ETIMEOUT) {
            snprintf(why, TLD_WHY_MAX, "the manager did not accept within the timeout");
            return TLD_ETIMEOUT;
        }
    }
    if (e == ENOENT || e == ECONNREFUSED) {
        snprintf(why, TLD_WHY_MAX, "the manager is not running (no control socket at %.180s)",
                 path);
        return TLD_ECLOSED;
    }
    snprintf(why, TLD_WHY_MAX, "cannot reach the manager's control socket: %s", strerror(e));
    return TLD_EIO;
}

static int send_all(int fd, const char *p, size_t n, int64_t deadline, char why[TLD_WHY_MAX])
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
            int rc = tld_net_wait(fd, POLLOUT, deadline, -1);
            if (rc == 0)
                continue;
            snprintf(why, TLD_WHY_MAX, "the manager did not take the request in time");
            return rc;
        }
        snprintf(why, TLD_WHY_MAX, "sending to the manager: %s", strerror(errno));
        return TLD_EIO;
    }
    return 0;
}

/* Everything up to the first newline (or the peer's close) into line. */
static int recv_line(int fd, struct tld_sb *line, int64_t deadline, char why[TLD_WHY_MAX])
{
    char buf[8192];
    for (;;) {
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got > 0) {
            char *nl = memchr(buf, '\n', (size_t)got);
            tld_sb_append(line, buf, nl ? (size_t)(nl - buf) : (size_t)got);
            if (line->truncated) {
                snprintf(why, TLD_WHY_MAX, "the manager's reply is too long");
                return TLD_ELIMIT;
            }
            if (nl)
                return 0;
            continue;
        }
        if (got == 0)
            return 0;
        if (errno == EAGAIN || errno == EINTR) {
            int rc = tld_net_wait(fd, POLLIN, deadline, -1);
            if (rc == 0)
                continue;
            snprintf(why, TLD_WHY_MAX, "the manager did not answer within the timeout");
            return rc == TLD_ETIMEOUT ? rc : TLD_EIO;
        }
        snprintf(why, TLD_WHY_MAX, "reading the manager's reply: %s", strerror(errno));
        return TLD_EIO;
    }
}

int tld_ctl_call(const char *path, const char *request, int timeout_ms, cJSON **out,
                 char why[TLD_WHY_MAX])
{
    *out = NULL;
    int64_t deadline = tld_deadline_in(timeout_ms);
    int fd = -1;
    int rc = open_conn(path, deadline, &fd, why);
    struct tld_sb msg, line;
    tld_sb_init(&msg, TLD_CTL_MAX_LINE);
    tld_sb_init(&line, TLD_CTL_MAX_LINE);
    tld_sb_append_cstr(&msg, request);
    tld_sb_append_char(&msg, '\n');
    if (rc == 0)
        rc = send_all(fd, msg.p, msg.n, deadline, why);
    if (rc == 0)
        rc = recv_line(fd, &line, deadline, why);
    if (rc == 0) {
        *out = line.n ? cJSON_ParseWithLength(line.p, line.n) : NULL;
        if (!cJSON_IsObject(*out)) {
            cJSON_Delete(*out);
            *out = NULL;
            snprintf(why, TLD_WHY_MAX, "the manager's reply is not a JSON object");
            rc = TLD_EPROTO;
        }
    }
    if (fd >= 0)
        close(fd);
    tld_sb_fini(&msg);
    tld_sb_fini(&line);
    return rc;
}
