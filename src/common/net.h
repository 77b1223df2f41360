/*
 * TCP helpers shared by the daemons: listening and connecting sockets, "host:port" parsing and
 * printable peer addresses. Every socket returned is non-blocking and close-on-exec; blocking
 * waits happen in poll() with a deadline and a cancel descriptor (readable = give up), so a
 * stopping daemon never hangs in a connect or an accept.
 */
#ifndef TLD_COMMON_NET_H
#define TLD_COMMON_NET_H

#include <stddef.h>
#include <stdint.h>

#define TLD_NET_ADDR_MAX 64 /* printable address with port, e.g. "[::1]:1514" */

/* Listen on host:port (host NULL or "" = all addresses; "127.0.0.1" for loopback only). Port 0
 * picks a free port; *bound_port (may be NULL) tells which. 0, TLD_EINVAL (bad host) or
 * TLD_EIO (errno says why). */
int tld_net_listen(const char *host, unsigned port, int backlog, int *fd, unsigned *bound_port);

/* Accept one connection (non-blocking listener): 0 with *cfd and its printable address,
 * TLD_EAGAIN when none is waiting, TLD_EIO on other errors. */
int tld_net_accept(int lfd, int *cfd, char addr[TLD_NET_ADDR_MAX]);

/* Connect with a deadline; tries every address of `host` in turn. TLD_ETIMEOUT, TLD_ECLOSED
 * (cancelled), TLD_EINVAL (unknown host) or TLD_EIO. cancel_fd may be -1. */
int tld_net_connect(const char *host, unsigned port, int timeout_ms, int cancel_fd, int *fd);

/* Split "host", "host:port" or "[v6addr]:port"; the port defaults to `defport`. */
int tld_net_split(const char *s, unsigned defport, char *host, size_t hostn, unsigned *port);

/* The printable IP address (no port) of the socket's peer, or "unknown". */
void tld_net_peer_ip(int fd, char ip[TLD_NET_ADDR_MAX]);

/* Wait until fd is ready for `events` (POLLIN/POLLOUT) or the deadline (common/deadline.h;
 * TLD_DEADLINE_NONE = none) passes: 0, TLD_ETIMEOUT, TLD_ECLOSED (cancel_fd readable) or TLD_EIO.
 */
int tld_net_wait(int fd, short events, int64_t deadline_ns, int cancel_fd);

#endif
