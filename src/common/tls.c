/*
 * OpenSSL glue (see tls.h). Sockets stay non-blocking: every SSL call that wants to read or
 * write is retried after tld_net_wait() on the socket and the cancel descriptor, until the
 * operation's deadline.
 */
#include "common/tls.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/deadline.h"
#include "common/err.h"
#include "common/fsutil.h"
#include "common/net.h"
#include "common/proto.h"

struct tld_tls_ctx {
    SSL_CTX *ssl;
    SSL_SESSION *offer; /* clients: the session to resume, or NULL */
};

#define TICKET_KEY_LEN  80 /* key name 16, HMAC key 32, AES key 32 (OpenSSL's layout) */
#define TICKET_LIFETIME 7200
#define SESSION_ID_CTX  "tld-agents"

struct tld_tls_conn {
    SSL *ssl;
    int fd;
    int cancel_fd;
    struct tld_sb wbuf; /* frame assembly for one-write sends */
    char *rbuf;         /* payload of the last frame received */
    size_t rcap;
};

static void set_why(char *why, const char *text)
{
    if (why)
        snprintf(why, TLD_WHY_MAX, "%s", text);
}

/* The most useful text OpenSSL has about the last failure (and clear its queue). */
static void openssl_why(char *why, const char *prefix)
{
    unsigned long e = ERR_peek_last_error();
    char buf[200] = "";
    if (e) {
        const char *r = ERR_reason_error_string(e);
        snprintf(buf, sizeof buf, "%s", r ? r : "unknown OpenSSL error");
    }
    ERR_clear_error();
    if (why)
        snprintf(why, TLD_WHY_MAX, "%s%s%s", prefix, *buf ? ": " : "", buf);
}

/* The fleet's ticket key: read from `path`, or drawn and written there (mode 0600) if missing.
 * Two managers creating it at once agree on the first one written (O_EXCL). */
static int ticket_key(const char *path, uint8_t key[TICKET_KEY_LEN], char *why)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, key, TICKET_KEY_LEN);
            close(fd);
            if (n == TICKET_KEY_LEN)
                return 0;
            if (why)
                snprintf(why, TLD_WHY_MAX, "%.200s: not a ticket key (%d bytes expected)", path,
                         TICKET_KEY_LEN);
            return TLD_EINVAL;
        }
        if (errno != ENOENT || RAND_bytes(key, TICKET_KEY_LEN) != 1)
            break;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno == EEXIST)
            continue;
        int rc = fd < 0 ? TLD_EIO : tld_write_all(fd, key, TICKET_KEY_LEN);
        if (rc == 0 && fsync(fd) != 0)
            rc = TLD_EIO;
        if (fd >= 0)
            close(fd);
        if (rc == 0)
            return 0;
        unlink(path);
        break;
    }
    if (why)
        snprintf(why, TLD_WHY_MAX, "%.120s: cannot read or create the ticket key: %.60s", path,
                 strerror(errno));
    return TLD_EIO;
}

/* Stateless TLS 1.3 tickets sealed with the fleet's key, one per handshake. */
static int enable_tickets(SSL_CTX *ssl, const char *key_file, char *why)
{
    uint8_t key[TICKET_KEY_LEN];
    int rc = ticket_key(key_file, key, why);
    if (rc)
        return rc;
    SSL_CTX_clear_options(ssl, SSL_OP_NO_TICKET);
    bool ok = SSL_CTX_set_tlsext_ticket_keys(ssl, key, sizeof key) == 1 &&
              SSL_CTX_set_num_tickets(ssl, 1) == 1 &&
              SSL_CTX_set_session_id_context(ssl, (const unsigned char *)SESSION_ID_CTX,
                                             sizeof SESSION_ID_CTX - 1) == 1;
    OPENSSL_cleanse(key, sizeof key);
    SSL_CTX_set_timeout(ssl, TICKET_LIFETIME);
    if (!ok) {
        openssl_why(why, "cannot set up session tickets");
        return TLD_ETLS;
    }
    return 0;
}

int tld_tls_ctx_new(const struct tld_tls_ctx_opts *o, struct tld_tls_ctx **out,
                    char why[TLD_WHY_MAX])
{
    *out = NULL;
    struct tld_tls_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return TLD_ENOMEM;
    int rc = TLD_ETLS;
    ctx->ssl = SSL_CTX_new(o->server ? TLS_server_method() : TLS_client_method());
    if (!ctx->ssl) {
        openssl_why(why, "cannot create a TLS context");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(ctx->ssl, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx->ssl, TLS1_3_VERSION);
    /* Never fall back to unexpected-EOF tolerance: a truncated stream is an error. */
    SSL_CTX_set_mode(ctx->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_session_cache_mode(ctx->ssl, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_TICKET);
    if (!o->server)
        SSL_CTX_clear_options(ctx->ssl, SSL_OP_NO_TICKET); /* accept tickets to offer later */
    if (o->server && o->ticket_key_file && (rc = enable_tickets(ctx->ssl, o->ticket_key_file, why)))
        goto fail;
    rc = TLD_ETLS;
    if (o->cert_file) {
        if (SSL_CTX_use_certificate_chain_file(ctx->ssl, o->cert_file) != 1) {
            openssl_why(why, "cannot load the certificate");
            goto fail;
        }
        if (SSL_CTX_use_PrivateKey_file(ctx->ssl, o->key_file, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx->ssl) != 1) {
            openssl_why(why, "cannot load the private key");
            goto fail;
        }
    } else if (o->server) {
        set_why(why, "a server needs a certificate");
        rc = TLD_EINVAL;
        goto fail;
    }
    if (o->ca_file) {
        /* Only our CA: no default paths, so a certificate from any public CA is refused. */
        if (SSL_CTX_load_verify_locations(ctx->ssl, o->ca_file, NULL) != 1) {
            openssl_why(why, "cannot load the CA certificate");
            goto fail;
        }
        int mode = SSL_VERIFY_PEER;
        if (o->server && o->require_client_cert)
            mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
        if (!o->server || o->require_client_cert)
            SSL_CTX_set_verify(ctx->ssl, mode, NULL);
        SSL_CTX_set_verify_depth(ctx->ssl, 2);
        /* A server checks that the client's certificate is for client use, a client that the
         * server's is for server use. */
        SSL_CTX_set_purpose(ctx->ssl,
                            o->server ? X509_PURPOSE_SSL_CLIENT : X509_PURPOSE_SSL_SERVER);
    } else {
        SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_NONE, NULL);
    }
    *out = ctx;
    return 0;
fail:
    tld_tls_ctx_free(ctx);
    return rc;
}

void tld_tls_ctx_free(struct tld_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_SESSION_free(ctx->offer);
    SSL_CTX_free(ctx->ssl);
    free(ctx);
}

/* Map an SSL error after an I/O call to a wait (POLLIN/POLLOUT) or a final error code. */
static int io_result(struct tld_tls_conn *c, int ret, short *wait_for)
{
    int e = SSL_get_error(c->ssl, ret);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *wait_for = POLLIN;
        return TLD_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        *wait_for = POLLOUT;
        return TLD_EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return TLD_ECLOSED;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        /* EOF without close_notify, or a reset: the peer is gone either way. */
        return TLD_ECLOSED;
    default:
        return TLD_ETLS;
    }
}

static void verify_why(struct tld_tls_conn *c, char *why, const char *what)
{
    long vr = SSL_get_verify_result(c->ssl);
    unsigned long e = ERR_peek_last_error();
    char detail[200] = "";
    if (vr != X509_V_OK)
        snprintf(detail, sizeof detail, "certificate verify failed: %s",
                 X509_verify_cert_error_string(vr));
    else if (e) {
        const char *r = ERR_reason_error_string(e);
        snprintf(detail, sizeof detail, "%s", r ? r : "TLS error");
    }
    ERR_clear_error();
    if (why)
        snprintf(why, TLD_WHY_MAX, "%s%s%s", what, *detail ? ": " : "", detail);
}

static int handshake(struct tld_tls_ctx *ctx, int fd, int cancel_fd, int timeout_ms, bool server,
                     struct tld_tls_conn **out, char *why)
{
    *out = NULL;
    struct tld_tls_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return TLD_ENOMEM;
    }
    c->fd = fd;
    c->cancel_fd = cancel_fd;
    tld_sb_init(&c->wbuf, TLD_PROTO_HEADER + TLD_PROTO_MAX_PAYLOAD);
    c->ssl = SSL_new(ctx->ssl);
    if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
        openssl_why(why, "cannot set up TLS");
        tld_tls_close(c);
        return TLD_ETLS;
    }
    if (!server && ctx->offer) {
        /* A copy again: a handshake that fails marks the session it offered unusable, and the
         * next attempt (the manager back) should still resume. */
        SSL_SESSION *copy = SSL_SESSION_dup(ctx->offer);
        if (!copy || SSL_set_session(c->ssl, copy) != 1)
            ERR_clear_error(); /* not resumable here: a full handshake */
        SSL_SESSION_free(copy);
    }
    int64_t deadline = tld_deadline_in(timeout_ms);
    for (;;) {
        ERR_clear_error();
        int r = server ? SSL_accept(c->ssl) : SSL_connect(c->ssl);
        if (r == 1)
            break;
        short w = 0;
        int rc = io_result(c, r, &w);
        if (rc == TLD_EAGAIN)
            rc = tld_net_wait(fd, w, deadline, cancel_fd);
        if (rc == 0)
            continue;
        if (rc == TLD_ETIMEOUT)
            set_why(why, "TLS handshake timed out");
        else if (rc == TLD_ECLOSED && SSL_get_verify_result(c->ssl) == X509_V_OK)
            verify_why(c, why, "peer closed the connection during the TLS handshake");
        else
            verify_why(c, why, "TLS handshake failed");
        tld_tls_close(c);
        return rc == TLD_ECLOSED || rc == TLD_ETIMEOUT ? rc : TLD_ETLS;
    }
    *out = c;
    return 0;
}

int tld_tls_server_begin(struct tld_tls_ctx *ctx, int fd, struct tld_tls_conn **out)
{
    *out = NULL;
    struct tld_tls_conn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return TLD_ENOMEM;
    }
    c->fd = fd;
    c->cancel_fd = -1;
    tld_sb_init(&c->wbuf, TLD_PROTO_HEADER + TLD_PROTO_MAX_PAYLOAD);
    c->ssl = SSL_new(ctx->ssl);
    if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
        ERR_clear_error();
        tld_tls_close(c);
        return TLD_ETLS;
    }
    SSL_set_mode(c->ssl, SSL_MODE_RELEASE_BUFFERS);
    SSL_set_accept_state(c->ssl);
    *out = c;
    return 0;
}

int tld_tls_handshake_step(struct tld_tls_conn *c, short *want, char why[TLD_WHY_MAX])
{
    ERR_clear_error();
    int r = SSL_do_handshake(c->ssl);
    if (r == 1)
        return 0;
    int rc = io_result(c, r, want);
    if (rc == TLD_EAGAIN)
        return rc;
    if (rc == TLD_ECLOSED && SSL_get_verify_result(c->ssl) == X509_V_OK)
        verify_why(c, why, "peer closed the connection during the TLS handshake");
    else
        verify_why(c, why, "TLS handshake failed");
    return rc == TLD_ECLOSED ? rc : TLD_ETLS;
}

int tld_tls_read_some(struct tld_tls_conn *c, void *buf, size_t n, size_t *got, short *want)
{
    ERR_clear_error();
    int ret = SSL_read_ex(c->ssl, buf, n, got);
    return ret == 1 ? 0 : io_result(c, ret, want);
}

int tld_tls_write_some(struct tld_tls_conn *c, const void *buf, size_t n, size_t *put, short *want)
{
    ERR_clear_error();
    int ret = SSL_write_ex(c->ssl, buf, n, put);
    return ret == 1 ? 0 : io_result(c, ret, want);
}

int tld_tls_accept(struct tld_tls_ctx *ctx, int fd, int cancel_fd, int timeout_ms,
                   struct tld_tls_conn **out, char why[TLD_WHY_MAX])
{
    return handshake(ctx, fd, cancel_fd, timeout_ms, true, out, why);
}

int tld_tls_connect(struct tld_tls_ctx *ctx, int fd, int cancel_fd, int timeout_ms,
                    struct tld_tls_conn **out, char why[TLD_WHY_MAX])
{
    return handshake(ctx, fd, cancel_fd, timeout_ms, false, out, why);
}

void tld_tls_close(struct tld_tls_conn *c)
{
    if (!c)
        return;
    if (c->ssl) {
        /* One non-blocking attempt: a peer that does not read is not waited for. */
        if (SSL_is_init_finished(c->ssl))
            SSL_shutdown(c->ssl);
        ERR_clear_error();
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    tld_sb_fini(&c->wbuf);
    free(c->rbuf);
    free(c);
}

int tld_tls_fd(const struct tld_tls_conn *c)
{
    return c->fd;
}

void tld_tls_set_cancel(struct tld_tls_conn *c, int cancel_fd)
{
    c->cancel_fd = cancel_fd;
}

int tld_tls_peer_identity(struct tld_tls_conn *c, char *cn, size_t cnn, uint8_t sha256[32])
{
    X509 *x = SSL_get1_peer_certificate(c->ssl);
    if (!x)
        return TLD_ENOTFOUND;
    int rc = 0;
    X509_NAME *subj = X509_get_subject_name(x);
    int len = X509_NAME_get_text_by_NID(subj, NID_commonName, cn, (int)cnn);
    if (len <= 0 || (size_t)len >= cnn || strlen(cn) != (size_t)len)
        rc = TLD_ENOTFOUND;
    unsigned mdlen = 0;
    if (rc == 0 && (X509_digest(x, EVP_sha256(), sha256, &mdlen) != 1 || mdlen != 32))
        rc = TLD_ETLS;
    X509_free(x);
    return rc;
}

int tld_tls_read(struct tld_tls_conn *c, void *buf, size_t n, size_t *got, int timeout_ms)
{
    int64_t deadline = tld_deadline_in(timeout_ms);
    for (;;) {
        ERR_clear_error();
        size_t r = 0;
        int ret = SSL_read_ex(c->ssl, buf, n, &r);
        if (ret == 1) {
            *got = r;
            return 0;
        }
        short w = 0;
        int rc = io_result(c, ret, &w);
        if (rc != TLD_EAGAIN)
            return rc;
        if ((rc = tld_net_wait(c->fd, w, deadline, c->cancel_fd)) != 0)
            return rc;
    }
}

int tld_tls_write(struct tld_tls_conn *c, const void *buf, size_t n, int timeout_ms)
{
    int64_t deadline = tld_deadline_in(timeout_ms);
    const char *p = buf;
    while (n) {
        ERR_clear_error();
        size_t w = 0;
        int ret = SSL_write_ex(c->ssl, p, n, &w);
        if (ret == 1) {
            p += w;
            n -= w;
            continue;
        }
        short wf = 0;
        int rc = io_result(c, ret, &wf);
        if (rc != TLD_EAGAIN)
            return rc;
        if ((rc = tld_net_wait(c->fd, wf, deadline, c->cancel_fd)) != 0)
            return rc;
    }
    return 0;
}

bool tld_tls_has_buffered(struct tld_tls_conn *c)
{
    return SSL_pending(c->ssl) > 0;
}

bool tld_tls_readable(struct tld_tls_conn *c)
{
    if (SSL_pending(c->ssl) > 0)
        return true;
    struct pollfd p = {.fd = c->fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

int tld_tls_send_frame(struct tld_tls_conn *c, unsigned type, struct tld_sv payload, int timeout_ms)
{
    if (payload.n > TLD_PROTO_MAX_PAYLOAD)
        return TLD_EINVAL;
    uint8_t h[TLD_PROTO_HEADER];
    tld_proto_header_put(h, type, payload.n);
    tld_sb_reset(&c->wbuf);
    tld_sb_append(&c->wbuf, h, sizeof h);
    tld_sb_append(&c->wbuf, payload.p, payload.n);
    if (c->wbuf.oom)
        return TLD_ENOMEM;
    return tld_tls_write(c, c->wbuf.p, c->wbuf.n, timeout_ms);
}

static int read_full(struct tld_tls_conn *c, void *buf, size_t n, int64_t deadline)
{
    char *p = buf;
    while (n) {
        int ms = tld_deadline_left_ms(deadline);
        if (ms == 0)
            return TLD_ETIMEOUT;
        size_t got = 0;
        int rc = tld_tls_read(c, p, n, &got, ms);
        if (rc)
            return rc;
        p += got;
        n -= got;
    }
    return 0;
}

int tld_tls_recv_frame(struct tld_tls_conn *c, unsigned *type, struct tld_sv *payload,
                       size_t max_len, int timeout_ms)
{
    int64_t deadline = tld_deadline_in(timeout_ms);
    uint8_t h[TLD_PROTO_HEADER];
    int rc = read_full(c, h, sizeof h, deadline);
    if (rc)
        return rc;
    size_t len = 0;
    if (tld_proto_header_parse(h, sizeof h, max_len, type, &len) != 0)
        return TLD_EPROTO;
    if (c->rcap < len + 1) {
        /* Grow geometrically so a stream of growing frames costs few reallocations. */
        size_t cap = c->rcap ? c->rcap : 4096;
        while (cap < len + 1)
            cap *= 2;
        char *np = realloc(c->rbuf, cap);
        if (!np)
            return TLD_ENOMEM;
        c->rbuf = np;
        c->rcap = cap;
    }
    if (len && (rc = read_full(c, c->rbuf, len, deadline)) != 0)
        return rc;
    c->rbuf[len] = 0;
    *payload = (struct tld_sv){c->rbuf, len};
    return 0;
}

void tld_tls_hex(const uint8_t sha256[32], char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[sha256[i] >> 4];
        out[2 * i + 1] = hx[sha256[i] & 15];
    }
    out[64] = 0;
}

struct tld_tls_session *tld_tls_session_get(struct tld_tls_conn *c)
{
    SSL_SESSION *s = c ? SSL_get1_session(c->ssl) : NULL;
    /* A copy: OpenSSL marks the connection's own session unusable when the connection ends
     * without close_notify (a manager that crashed), which is exactly when we want it. */
    SSL_SESSION *copy = s && SSL_SESSION_is_resumable(s) ? SSL_SESSION_dup(s) : NULL;
    SSL_SESSION_free(s);
    return (struct tld_tls_session *)copy;
}

void tld_tls_session_free(struct tld_tls_session *s)
{
    SSL_SESSION_free((SSL_SESSION *)s);
}

void tld_tls_ctx_offer(struct tld_tls_ctx *ctx, struct tld_tls_session *s)
{
    if (s)
        SSL_SESSION_up_ref((SSL_SESSION *)s);
    SSL_SESSION_free(ctx->offer);
    ctx->offer = (SSL_SESSION *)s;
}

bool tld_tls_resumed(const struct tld_tls_conn *c)
{
    return SSL_session_reused(c->ssl) == 1;
}
