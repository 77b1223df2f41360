/* Enrollment client (see enroll_client.h). */
#include "agent/enroll_client.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/err.h"
#include "common/net.h"
#include "common/pki.h"
#include "common/tls.h"

#ifndef TLD_VERSION
#include "common/version.h"
#endif

bool tld_enroll_client_have_identity(const char *tls_dir)
{
    static const char *const files[] = {"agent.key", "agent.crt", "ca.crt"};
    for (int i = 0; i < 3; i++) {
        char p[4200];
        struct stat st;
        snprintf(p, sizeof p, "%s/%s", tls_dir, files[i]);
        if (stat(p, &st) != 0 || st.st_size == 0)
            return false;
    }
    return true;
}

int tld_enroll_client_read_password(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return TLD_EIO;
    if (!fgets(buf, (int)n, f)) {
        buf[0] = 0;
    }
    fclose(f);
    size_t l = strlen(buf);
    while (l && (buf[l - 1] == '\n' || buf[l - 1] == '\r'))
        buf[--l] = 0;
    return 0;
}

static void host_info(char *os, size_t osn, char *host, size_t hostn)
{
    struct utsname u;
    if (uname(&u) == 0) {
        snprintf(os, osn, "%.40s %.50s %.30s", u.sysname, u.release, u.machine);
        snprintf(host, hostn, "%.64s", u.nodename);
    } else {
        snprintf(os, osn, "unknown");
        snprintf(host, hostn, "unknown");
    }
}

/* Check the certificate the manager issued before anything is stored. */
static int check_answer(EVP_PKEY *key, const struct tld_msg_enroll_ok *ok, X509 **cert, X509 **ca,
                        char *reason, size_t rn)
{
    if (tld_pki_cert_parse(ok->cert_pem, cert) != 0 || tld_pki_cert_parse(ok->ca_pem, ca) != 0) {
        snprintf(reason, rn, "the manager sent an unreadable certificate");
        return TLD_EPROTO;
    }
    char cn[TLD_PROTO_MAX_ID + 1];
    bool good = X509_check_private_key(*cert, key) == 1 &&
                X509_verify(*cert, X509_get0_pubkey(*ca)) == 1 &&
                tld_pki_cert_cn(*cert, cn, sizeof cn) == 0 && tld_sv_eq_cstr(ok->agent_id, cn);
    ERR_clear_error();
    if (!good) {
        snprintf(reason, rn, "the certificate from the manager does not match the request");
        return TLD_EPROTO;
    }
    return 0;
}

/* CA, certificate, then key: the key is written last and the forwarder needs all three, so a
 * crash in between leaves files that the next enrollment replaces. */
static int store(const char *dir, EVP_PKEY *key, X509 *cert, X509 *ca, char *reason, size_t rn)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(reason, rn, "cannot create %.300s: %s", dir, strerror(errno));
        return TLD_EIO;
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/ca.crt", dir);
    int rc = tld_pki_cert_save(ca, p);
    if (rc == 0) {
        snprintf(p, sizeof p, "%s/agent.crt", dir);
        rc = tld_pki_cert_save(cert, p);
    }
    if (rc == 0) {
        snprintf(p, sizeof p, "%s/agent.key", dir);
        rc = tld_pki_key_save(key, p);
    }
    if (rc)
        snprintf(reason, rn, "cannot write %.300s: %s", p, strerror(errno));
    return rc;
}

int tld_enroll_client_run(const struct tld_enroll_client_opts *o,
                          struct tld_enroll_client_result *res)
{
    memset(res, 0, sizeof *res);
    char os[128], hostname[128];
    host_info(os, sizeof os, hostname, sizeof hostname);
    const char *name = o->name ? o->name : hostname;
    if (!tld_proto_name_valid(tld_sv_of(name))) {
        snprintf(res->reason, sizeof res->reason,
                 "invalid agent name '%.200s' (1 to %d characters of A-Z, a-z, 0-9, '.', '_', "
                 "'-'); use --name",
                 name, TLD_PROTO_MAX_NAME);
        return TLD_EINVAL;
    }
    int timeout = o->timeout_ms ? o->timeout_ms : 30000;
    EVP_PKEY *key = NULL;
    X509 *cert = NULL, *ca = NULL;
    struct tld_tls_ctx *ctx = NULL;
    struct tld_tls_conn *c = NULL;
    struct tld_sb csr, req;
    tld_sb_init(&csr, TLD_PROTO_MAX_PEM);
    tld_sb_init(&req, 65536);
    int rc = tld_pki_key_new(&key);
    if (rc == 0)
        rc = tld_pki_csr_new(key, name, &csr);
    if (rc) {
        snprintf(res->reason, sizeof res->reason, "cannot make a key and certificate request");
        goto out;
    }
    char why[TLD_WHY_MAX];
    struct tld_tls_ctx_opts to = {.server = false, .ca_file = o->ca_file};
    if ((rc = tld_tls_ctx_new(&to, &ctx, why)) != 0) {
        snprintf(res->reason, sizeof res->reason, "%s", why);
        goto out;
    }
    unsigned port = o->port ? o->port : 1515;
    int fd;
    if ((rc = tld_net_connect(o->host, port, timeout, o->cancel_fd, &fd)) != 0) {
        snprintf(res->reason, sizeof res->reason, "cannot connect to %.200s:%u: %s", o->host, port,
                 rc == TLD_EIO ? strerror(errno) : tld_err_str(rc));
        goto out;
    }
    if ((rc = tld_tls_connect(ctx, fd, o->cancel_fd, timeout, &c, why)) != 0) {
        snprintf(res->reason, sizeof res->reason, "%.200s:%u: %s", o->host, port, why);
        goto out;
    }
    struct tld_msg_enroll_req m = {tld_sv_of(name),   tld_sv_of(o->password ? o->password : ""),
                                   tld_sb_view(&csr), TLD_SV_LIT(TLD_VERSION),
                                   tld_sv_of(os),     tld_sv_of(hostname)};
    tld_msg_enroll_req_put(&req, &m);
    if ((rc = tld_tls_send_frame(c, TLD_MSG_ENROLL_REQ, tld_sb_view(&req), timeout)) != 0) {
        snprintf(res->reason, sizeof res->reason, "cannot send the request: %s", tld_err_str(rc));
        goto out;
    }
    unsigned type;
    struct tld_sv payload;
    if ((rc = tld_tls_recv_frame(c, &type, &payload, TLD_PROTO_MAX_PAYLOAD, timeout)) != 0) {
        snprintf(res->reason, sizeof res->reason, "no answer from the manager: %s",
                 tld_err_str(rc));
        goto out;
    }
    if (type == TLD_MSG_ERROR) {
        struct tld_msg_error e;
        if (tld_msg_error_get(payload.p, payload.n, &e) == 0) {
            res->code = (unsigned)e.code;
            snprintf(res->reason, sizeof res->reason, "refused by the manager: %s (%.*s)",
                     tld_proto_code_str((unsigned)e.code), (int)e.reason.n, e.reason.p);
        } else {
            snprintf(res->reason, sizeof res->reason, "refused by the manager");
        }
        rc = TLD_EAUTH;
        goto out;
    }
    struct tld_msg_enroll_ok ok;
    if (type != TLD_MSG_ENROLL_OK || tld_msg_enroll_ok_get(payload.p, payload.n, &ok) != 0) {
        snprintf(res->reason, sizeof res->reason, "unexpected answer from the manager");
        rc = TLD_EPROTO;
        goto out;
    }
    if ((rc = check_answer(key, &ok, &cert, &ca, res->reason, sizeof res->reason)) != 0)
        goto out;
    if (o->ca_file) {
        /* With a pinned CA, the CA handed out must be that very CA. */
        X509 *pin = NULL;
        bool same = tld_pki_cert_load(o->ca_file, &pin) == 0 && X509_cmp(pin, ca) == 0;
        X509_free(pin);
        if (!same) {
            snprintf(res->reason, sizeof res->reason, "the manager's CA differs from %.300s",
                     o->ca_file);
            rc = TLD_ETLS;
            goto out;
        }
    }
    if ((rc = store(o->tls_dir, key, cert, ca, res->reason, sizeof res->reason)) != 0)
        goto out;
    snprintf(res->agent_id, sizeof res->agent_id, "%.*s", (int)ok.agent_id.n, ok.agent_id.p);
    snprintf(res->agent_name, sizeof res->agent_name, "%.*s", (int)ok.agent_name.n,
             ok.agent_name.p);
    uint8_t fp[32];
    if (tld_pki_cert_fingerprint(ca, fp) == 0)
        tld_tls_hex(fp, res->ca_sha256);
out:
    tld_tls_close(c);
    tld_tls_ctx_free(ctx);
    X509_free(cert);
    X509_free(ca);
    EVP_PKEY_free(key);
    tld_sb_fini(&csr);
    tld_sb_fini(&req);
    return rc;
}
