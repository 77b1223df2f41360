/*
 * TLS connections for the agent <-> manager protocol (OpenSSL 3), and frame I/O over them.
 *
 * A context fixes the policy: TLS 1.3 only; the peer is verified against our own CA file and
 * nothing else (no system trust store); a server context may require a client certificate
 * (mutual authentication on 1514) or not (enrollment on 1515); certificate purposes are checked
 * so an agent's client certificate can never pass for the manager's server certificate.
 *
 * Writes go through write(2): a process using this must ignore SIGPIPE (the daemons and the
 * tests do), so a peer that went away is an error code, not a signal.
 *
 * A connection owns its non-blocking socket. Every operation takes a timeout and watches a
 * cancel descriptor (readable = stop now, TLD_ECLOSED), so no thread ever blocks forever on a
 * peer. A connection is used by one thread at a time (OpenSSL's rule for an SSL object).
 */
#ifndef TLD_COMMON_TLS_H
#define TLD_COMMON_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

struct tld_tls_ctx;
struct tld_tls_conn;

struct tld_tls_ctx_opts {
    bool server;
    const char *cert_file;       /* own certificate (PEM); required for servers */
    const char *key_file;        /* its key */
    const char *ca_file;         /* verify the peer against this CA; NULL = do not verify (only for
                                    an enrollment client that has no CA yet) */
    bool require_client_cert;    /* servers: mutual authentication */
    const char *ticket_key_file; /* servers: resumable sessions (TLS 1.3 tickets) sealed with the
                                    key in this file (created if missing; managers of one fleet
                                    share it so a session resumes on any of them); NULL: none */
};

/* 0, or TLD_ETLS / TLD_EIO with a reason in why. */
int tld_tls_ctx_new(const struct tld_tls_ctx_opts *o, struct tld_tls_ctx **out,
                    char why[TLD_WHY_MAX]);
void tld_tls_ctx_free(struct tld_tls_ctx *ctx);

/* Handshake on `fd` (taken over: closed on failure and by tld_tls_close). On failure the
 * reason (e.g. "certificate verify failed: unable to get local issuer certificate", "peer did
 * not return a certificate", "wrong version number") is in why. */
int tld_tls_accept(struct tld_tls_ctx *ctx, int fd, int cancel_fd, int timeout_ms,
                   struct tld_tls_conn **out, char why[TLD_WHY_MAX]);
int tld_tls_connect(struct tld_tls_ctx *ctx, int fd, int cancel_fd, int timeout_ms,
                    struct tld_tls_conn **out, char why[TLD_WHY_MAX]);
/* Send close_notify (best effort, without waiting) and close the socket. NULL is a no-op. */
void tld_tls_close(struct tld_tls_conn *c);

int tld_tls_fd(const struct tld_tls_conn *c);
/* Change the cancel descriptor (-1: none), e.g. before the one in use is closed. */
void tld_tls_set_cancel(struct tld_tls_conn *c, int cancel_fd);
/* The peer certificate's subject CN and SHA-256 fingerprint; TLD_ENOTFOUND without one. */
int tld_tls_peer_identity(struct tld_tls_conn *c, char *cn, size_t cnn, uint8_t sha256[32]);

/* Read at least 1 and up to n bytes: 0 with *got, TLD_ETIMEOUT, TLD_ECLOSED (peer closed or
 * cancelled), TLD_EIO/TLD_ETLS on errors. */
int tld_tls_read(struct tld_tls_conn *c, void *buf, size_t n, size_t *got, int timeout_ms);
/* Write all n bytes or fail. */
int tld_tls_write(struct tld_tls_conn *c, const void *buf, size_t n, int timeout_ms);
/* Bytes already received and decrypted but not yet read (readable without waiting). */
bool tld_tls_has_buffered(struct tld_tls_conn *c);
/* Whether a read would not block now (buffered data, or the socket is readable). */
bool tld_tls_readable(struct tld_tls_conn *c);

/* Send one frame (header and payload in one TLS write). */
int tld_tls_send_frame(struct tld_tls_conn *c, unsigned type, struct tld_sv payload,
                       int timeout_ms);
/* Receive one frame: its type and payload (a view into the connection's buffer, valid until
 * the next receive). TLD_EPROTO on a bad header or a frame longer than max_len. The timeout
 * covers the whole frame. */
int tld_tls_recv_frame(struct tld_tls_conn *c, unsigned *type, struct tld_sv *payload,
                       size_t max_len, int timeout_ms);

/*
 * Without waiting, for an event loop that owns the socket's readiness: each call does what it
 * can now and returns TLD_EAGAIN with *want (POLLIN or POLLOUT) when it must be called again
 * once the socket is ready for that. The cancel descriptor and timeouts are the loop's business.
 */
/* A server-side connection on `fd` (taken over, closed by tld_tls_close) whose handshake is
 * driven by tld_tls_handshake_step(). Its OpenSSL buffers are released while it is idle, so an
 * idle connection costs little. */
int tld_tls_server_begin(struct tld_tls_ctx *ctx, int fd, struct tld_tls_conn **out);
/* 0 once the handshake is done; TLD_EAGAIN with *want; otherwise the failure with why. */
int tld_tls_handshake_step(struct tld_tls_conn *c, short *want, char why[TLD_WHY_MAX]);
/* 0 with 1..n bytes in *got; TLD_EAGAIN with *want; TLD_ECLOSED; TLD_ETLS. */
int tld_tls_read_some(struct tld_tls_conn *c, void *buf, size_t n, size_t *got, short *want);
/* 0 with 1..n bytes taken in *put; TLD_EAGAIN with *want; TLD_ECLOSED; TLD_ETLS. After
 * TLD_EAGAIN, call again with the same bytes first (more may follow them). */
int tld_tls_write_some(struct tld_tls_conn *c, const void *buf, size_t n, size_t *put, short *want);
/*
 * Session resumption (clients). A resumed handshake skips the certificate exchange and its
 * signatures; the server still knows the peer certificate (it is sealed in the ticket), so
 * whatever the application checks about the peer after the handshake (a removed agent, a
 * superseded certificate) is checked on a resumed session too. Tickets live two hours.
 */
struct tld_tls_session;
/* A copy of the connection's session if it can be resumed (NULL otherwise): take it once the
 * first message was read (TLS 1.3 tickets arrive after the handshake) and before the connection
 * fails (a failure makes OpenSSL mark the session unusable). */
struct tld_tls_session *tld_tls_session_get(struct tld_tls_conn *c);
void tld_tls_session_free(struct tld_tls_session *s);
/* Offer `s` on the context's next client handshakes (the context takes its own reference;
 * NULL: offer none). Only the thread that connects with the context may call this. */
void tld_tls_ctx_offer(struct tld_tls_ctx *ctx, struct tld_tls_session *s);
/* Whether the handshake resumed a session. */
bool tld_tls_resumed(const struct tld_tls_conn *c);

/* Lower-case hex of a SHA-256 fingerprint (65 bytes with the NUL). */
void tld_tls_hex(const uint8_t sha256[32], char out[65]);

#endif
