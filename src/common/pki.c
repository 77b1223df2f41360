/* Keys, certificates, requests and password hashes (see pki.h). */
#include "common/pki.h"

#include <errno.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fsutil.h"

#define CA_DAYS     (20 * 366)
#define SERVER_DAYS (10 * 366)

/* scrypt cost: 16 MiB and a few tens of ms per check, which the enrollment rate limit bounds. */
#define SCRYPT_N 16384
#define SCRYPT_R 8
#define SCRYPT_P 1

static void __attribute__((format(printf, 2, 3))) why_set(char *why, const char *fmt, ...)
{
    if (why) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, TLD_WHY_MAX, fmt, ap);
        va_end(ap);
    }
    ERR_clear_error();
}

int tld_pki_key_new(EVP_PKEY **out)
{
    *out = EVP_EC_gen("P-256");
    ERR_clear_error();
    return *out ? 0 : TLD_ENOMEM;
}

/* Render with `fn` into memory, then replace `path` with it (common/fsutil.h). The buffer is
 * the secure kind because it may hold a private key. */
static int write_atomic(const char *path, mode_t mode, int (*fn)(BIO *, void *), void *arg)
{
    BIO *b = BIO_new(BIO_s_secmem());
    char *p = NULL;
    long n = 0;
    int rc = b && fn(b, arg) == 1 && (n = BIO_get_mem_data(b, &p)) >= 0 ? 0 : TLD_EIO;
    ERR_clear_error();
    if (rc == 0)
        rc = tld_file_replace(path, p, (size_t)n, mode);
    BIO_free(b);
    return rc == 0 ? 0 : TLD_EIO;
}

static int bio_key(BIO *b, void *k)
{
    return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static int bio_cert(BIO *b, void *x)
{
    return PEM_write_bio_X509(b, x);
}

int tld_pki_key_save(EVP_PKEY *key, const char *path)
{
    return write_atomic(path, 0600, bio_key, key);
}

int tld_pki_cert_save(X509 *cert, const char *path)
{
    return write_atomic(path, 0644, bio_cert, cert);
}

/* The reading counterpart of write_atomic: `fn` parses one PEM object from the open file. */
static int read_pem(const char *path, void *(*fn)(FILE *), void **out)
{
    *out = NULL;
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? TLD_ENOTFOUND : TLD_EIO;
    *out = fn(f);
    fclose(f);
    ERR_clear_error();
    return *out ? 0 : TLD_EPARSE;
}

static void *pem_key(FILE *f)
{
    return PEM_read_PrivateKey(f, NULL, NULL, NULL);
}

static void *pem_cert(FILE *f)
{
    return PEM_read_X509(f, NULL, NULL, NULL);
}

int tld_pki_key_load(const char *path, EVP_PKEY **out)
{
    void *k;
    int rc = read_pem(path, pem_key, &k);
    *out = k;
    return rc;
}

int tld_pki_cert_load(const char *path, X509 **out)
{
    void *x;
    int rc = read_pem(path, pem_cert, &x);
    *out = x;
    return rc;
}

int tld_pki_cert_pem(X509 *cert, struct tld_sb *out)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (!b)
        return TLD_ENOMEM;
    int rc = TLD_ENOMEM;
    if (PEM_write_bio_X509(b, cert) == 1) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        tld_sb_append(out, p, (size_t)n);
        rc = out->oom || out->truncated ? TLD_ELIMIT : 0;
    }
    BIO_free(b);
    ERR_clear_error();
    return rc;
}

int tld_pki_cert_parse(struct tld_sv pem, X509 **out)
{
    *out = NULL;
    if (pem.n > INT32_MAX)
        return TLD_EINVAL;
    BIO *b = BIO_new_mem_buf(pem.p, (int)pem.n);
    if (!b)
        return TLD_ENOMEM;
    *out = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    ERR_clear_error();
    return *out ? 0 : TLD_EPARSE;
}

int tld_pki_cert_fingerprint(X509 *cert, uint8_t sha256[32])
{
    unsigned n = 0;
    if (X509_digest(cert, EVP_sha256(), sha256, &n) != 1 || n != 32) {
        ERR_clear_error();
        return TLD_ETLS;
    }
    return 0;
}

int tld_pki_cert_cn(X509 *cert, char *buf, size_t n)
{
    int len = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, (int)n);
    ERR_clear_error();
    if (len <= 0 || (size_t)len >= n || strlen(buf) != (size_t)len)
        return TLD_ENOTFOUND;
    return 0;
}

/* ---- certificate building -------------------------------------------------------------------- */

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (!ext)
        return TLD_EINVAL;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? 0 : TLD_EINVAL;
}

static int set_name(X509_NAME *name, const char *ou, const char *cn)
{
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                                   (const unsigned char *)"ThreatLockDown", -1, -1, 0) != 1)
        return TLD_EINVAL;
    if (ou && X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1,
                                         -1, 0) != 1)
        return TLD_EINVAL;
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) != 1)
        return TLD_EINVAL;
    return 0;
}

enum kind { K_CA, K_SERVER, K_CLIENT };

/* A certificate for `pub` signed by ca (or self-signed when ca is NULL). */
static X509 *make_cert(enum kind kind, EVP_PKEY *pub, const char *ou, const char *cn, unsigned days,
                       EVP_PKEY *sign_key, X509 *issuer)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    uint8_t serial[16];
    BIGNUM *bn = NULL;
    ASN1_INTEGER *sn = NULL;
    bool ok = X509_set_version(x, X509_VERSION_3) == 1 && RAND_bytes(serial, sizeof serial) == 1;
    if (ok) {
        serial[0] &= 0x7f; /* positive, as RFC 5280 wants */
        bn = BN_bin2bn(serial, sizeof serial, NULL);
        sn = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
        ok = sn && X509_set_serialNumber(x, sn) == 1;
    }
    ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -3600) &&
         X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400L) &&
         X509_set_pubkey(x, pub) == 1 && set_name(X509_get_subject_name(x), ou, cn) == 0;
    if (ok)
        ok = X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer)
                                            : X509_get_subject_name(x)) == 1;
    X509 *iss = issuer ? issuer : x;
    if (ok) {
        ok = add_ext(x, iss, NID_subject_key_identifier, "hash") == 0 &&
             add_ext(x, iss, NID_authority_key_identifier, "keyid:always") == 0;
    }
    if (ok) {
        switch (kind) {
        case K_CA:
            ok = add_ext(x, iss, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") == 0 &&
                 add_ext(x, iss, NID_key_usage, "critical,keyCertSign,cRLSign") == 0;
            break;
        case K_SERVER: {
            char san[300];
            snprintf(san, sizeof san, "DNS:%s,DNS:localhost,IP:127.0.0.1", cn);
            ok = add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
                 add_ext(x, iss, NID_key_usage, "critical,digitalSignature") == 0 &&
                 add_ext(x, iss, NID_ext_key_usage, "serverAuth") == 0 &&
                 add_ext(x, iss, NID_subject_alt_name, san) == 0;
            break;
        }
        case K_CLIENT:
            ok = add_ext(x, iss, NID_basic_constraints, "critical,CA:FALSE") == 0 &&
                 add_ext(x, iss, NID_key_usage, "critical,digitalSignature") == 0 &&
                 add_ext(x, iss, NID_ext_key_usage, "clientAuth") == 0;
            break;
        }
    }
    ok = ok && X509_sign(x, sign_key, EVP_sha256()) > 0;
    ASN1_INTEGER_free(sn);
    BN_free(bn);
    ERR_clear_error();
    if (!ok) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static void path_in(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

int tld_pki_ca_load(const char *dir, struct tld_pki_ca *ca, char why[TLD_WHY_MAX])
{
    memset(ca, 0, sizeof *ca);
    char p[4200];
    path_in(p, sizeof p, dir, "ca.key");
    int rc = tld_pki_key_load(p, &ca->key);
    if (rc) {
        why_set(why, "cannot read the CA key %s", p);
        return rc;
    }
    path_in(p, sizeof p, dir, "ca.crt");
    if ((rc = tld_pki_cert_load(p, &ca->cert)) != 0) {
        why_set(why, "cannot read the CA certificate %s", p);
        tld_pki_ca_fini(ca);
        return rc;
    }
    if (X509_check_private_key(ca->cert, ca->key) != 1) {
        why_set(why, "the CA key does not match the CA certificate in %s", dir);
        tld_pki_ca_fini(ca);
        return TLD_ETLS;
    }
    return 0;
}

void tld_pki_ca_fini(struct tld_pki_ca *ca)
{
    EVP_PKEY_free(ca->key);
    X509_free(ca->cert);
    ca->key = NULL;
    ca->cert = NULL;
}

int tld_pki_ca_ensure(const char *dir, const char *server_cn, bool *created, char why[TLD_WHY_MAX])
{
    *created = false;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        why_set(why, "cannot create %s", dir);
        return TLD_EIO;
    }
    char kp[4200], cp[4200];
    path_in(kp, sizeof kp, dir, "ca.key");
    path_in(cp, sizeof cp, dir, "ca.crt");
    struct stat st;
    bool have_key = stat(kp, &st) == 0, have_cert = stat(cp, &st) == 0;
    if (have_key != have_cert) {
        /* Half a CA is never completed silently: agents may trust the missing half. */
        why_set(why, "%s holds only one of ca.key and ca.crt; restore the other or remove both",
                dir);
        return TLD_EIO;
    }
    int rc;
    if (!have_key) {
        EVP_PKEY *k = NULL;
        if ((rc = tld_pki_key_new(&k)) != 0)
            return rc;
        X509 *c = make_cert(K_CA, k, NULL, "ThreatLockDown CA", CA_DAYS, k, NULL);
        rc = c ? tld_pki_key_save(k, kp) : TLD_ETLS;
        if (rc == 0)
            rc = tld_pki_cert_save(c, cp);
        X509_free(c);
        EVP_PKEY_free(k);
        if (rc) {
            why_set(why, "cannot create the CA in %s", dir);
            return rc;
        }
        *created = true;
    }
    struct tld_pki_ca ca;
    if ((rc = tld_pki_ca_load(dir, &ca, why)) != 0)
        return rc;
    char skp[4200], scp[4200];
    path_in(skp, sizeof skp, dir, "manager.key");
    path_in(scp, sizeof scp, dir, "manager.crt");
    EVP_PKEY *sk = NULL;
    X509 *sc = NULL;
    bool good = tld_pki_key_load(skp, &sk) == 0 && tld_pki_cert_load(scp, &sc) == 0 &&
                X509_check_private_key(sc, sk) == 1 &&
                X509_verify(sc, X509_get0_pubkey(ca.cert)) == 1;
    ERR_clear_error();
    if (!good) {
        EVP_PKEY_free(sk);
        X509_free(sc);
        sk = NULL;
        sc = NULL;
        rc = tld_pki_key_new(&sk);
        if (rc == 0) {
            sc = make_cert(K_SERVER, sk, "manager", server_cn, SERVER_DAYS, ca.key, ca.cert);
            rc = sc ? tld_pki_key_save(sk, skp) : TLD_ETLS;
        }
        if (rc == 0)
            rc = tld_pki_cert_save(sc, scp);
        if (rc)
            why_set(why, "cannot create the manager certificate in %s", dir);
    }
    EVP_PKEY_free(sk);
    X509_free(sc);
    tld_pki_ca_fini(&ca);
    return rc;
}

int tld_pki_csr_new(EVP_PKEY *key, const char *cn, struct tld_sb *pem)
{
    X509_REQ *req = X509_REQ_new();
    if (!req)
        return TLD_ENOMEM;
    int rc = TLD_ETLS;
    X509_NAME *name = X509_REQ_get_subject_name(req);
    if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1,
                                   0) == 1 &&
        X509_REQ_set_pubkey(req, key) == 1 && X509_REQ_sign(req, key, EVP_sha256()) > 0) {
        BIO *b = BIO_new(BIO_s_mem());
        if (b && PEM_write_bio_X509_REQ(b, req) == 1) {
            char *p;
            long n = BIO_get_mem_data(b, &p);
            tld_sb_append(pem, p, (size_t)n);
            rc = pem->oom || pem->truncated ? TLD_ELIMIT : 0;
        }
        BIO_free(b);
    }
    X509_REQ_free(req);
    ERR_clear_error();
    return rc;
}

/* Parse and check a request; the caller frees *out. */
static int csr_parse(struct tld_sv csr_pem, X509_REQ **out, char *why)
{
    *out = NULL;
    if (csr_pem.n == 0 || csr_pem.n > 65536) {
        why_set(why, "certificate request missing or too large");
        return TLD_EINVAL;
    }
    BIO *b = BIO_new_mem_buf(csr_pem.p, (int)csr_pem.n);
    if (!b)
        return TLD_ENOMEM;
    X509_REQ *req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL);
    BIO_free(b);
    if (!req) {
        why_set(why, "certificate request is not a PEM request");
        return TLD_EINVAL;
    }
    EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
    const char *reason = NULL;
    if (!pub) {
        reason = "certificate request has no public key";
    } else if (X509_REQ_verify(req, pub) != 1) {
        reason = "certificate request signature does not verify";
    } else if (EVP_PKEY_is_a(pub, "EC")) {
        char group[64] = "";
        size_t gl = 0;
        if (EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                           &gl) != 1 ||
            strcmp(group, "prime256v1") != 0)
            reason = "certificate request key must be EC P-256 or RSA of at least 2048 bits";
    } else if (EVP_PKEY_is_a(pub, "RSA")) {
        if (EVP_PKEY_get_bits(pub) < 2048)
            reason = "certificate request key must be EC P-256 or RSA of at least 2048 bits";
    } else {
        reason = "certificate request key must be EC P-256 or RSA of at least 2048 bits";
    }
    if (reason) {
        why_set(why, "%s", reason);
        X509_REQ_free(req);
        return TLD_EINVAL;
    }
    ERR_clear_error();
    *out = req;
    return 0;
}

int tld_pki_csr_check(struct tld_sv csr_pem, char why[TLD_WHY_MAX])
{
    X509_REQ *req;
    int rc = csr_parse(csr_pem, &req, why);
    X509_REQ_free(req);
    return rc;
}

int tld_pki_issue(const struct tld_pki_ca *ca, struct tld_sv csr_pem, const char *agent_id,
                  unsigned days, struct tld_sb *cert_pem, uint8_t sha256[32], char why[TLD_WHY_MAX])
{
    X509_REQ *req;
    int rc = csr_parse(csr_pem, &req, why);
    if (rc)
        return rc;
    X509 *x =
        make_cert(K_CLIENT, X509_REQ_get0_pubkey(req), "agent", agent_id, days, ca->key, ca->cert);
    X509_REQ_free(req);
    if (!x) {
        why_set(why, "cannot sign the certificate");
        return TLD_ETLS;
    }
    rc = tld_pki_cert_fingerprint(x, sha256);
    if (rc == 0)
        rc = tld_pki_cert_pem(x, cert_pem);
    X509_free(x);
    return rc;
}

/* A server certificate for another daemon of the installation (the API), signed by the CA. */
int tld_pki_issue_server(const struct tld_pki_ca *ca, EVP_PKEY *key, const char *ou, const char *cn,
                         X509 **out)
{
    *out = make_cert(K_SERVER, key, ou, cn, SERVER_DAYS, ca->key, ca->cert);
    return *out ? 0 : TLD_ETLS;
}

/* ---- passwords ------------------------------------------------------------------------------- */

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[b[i] >> 4];
        out[2 * i + 1] = hx[b[i] & 15];
    }
    out[2 * n] = 0;
}

static int scrypt(struct tld_sv pw, const uint8_t salt[16], uint64_t n, uint64_t r, uint64_t p,
                  uint8_t key[32])
{
    int ok = EVP_PBE_scrypt(pw.n ? pw.p : "", pw.n, salt, 16, n, r, p, 64u << 20, key, 32);
    ERR_clear_error();
    return ok == 1 ? 0 : TLD_EINVAL;
}

int tld_pki_password_hash(struct tld_sv password, char out[200])
{
    uint8_t salt[16], key[32];
    if (RAND_bytes(salt, sizeof salt) != 1)
        return TLD_EIO;
    int rc = scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, key);
    if (rc)
        return rc;
    char sh[33], kh[65];
    hex(salt, 16, sh);
    hex(key, 32, kh);
    snprintf(out, 200, "$scrypt$N=%u,r=%u,p=%u$%s$%s", SCRYPT_N, SCRYPT_R, SCRYPT_P, sh, kh);
    OPENSSL_cleanse(key, sizeof key);
    return 0;
}

bool tld_pki_password_is_hash(const char *s)
{
    return strncmp(s, "$scrypt$", 8) == 0;
}

bool tld_pki_password_check(const char *stored, struct tld_sv password)
{
    unsigned long long n, r, p;
    char sh[40], kh[80];
    int used = 0;
    if (sscanf(stored, "$scrypt$N=%llu,r=%llu,p=%llu$%32[0-9a-f]$%64[0-9a-f]%n", &n, &r, &p, sh, kh,
               &used) != 5 ||
        stored[used] != 0)
        return false;
    /* Bounds keep a tampered hash from asking for gigabytes or hours. */
    if (n < 2 || n > (1u << 20) || (n & (n - 1)) || r < 1 || r > 32 || p < 1 || p > 16)
        return false;
    uint8_t salt[16], want[32], got[32];
    if (!tld_sv_unhex(tld_sv_of(sh), salt, 16) || !tld_sv_unhex(tld_sv_of(kh), want, 32))
        return false;
    if (scrypt(password, salt, n, r, p, got) != 0)
        return false;
    bool eq = CRYPTO_memcmp(want, got, 32) == 0;
    OPENSSL_cleanse(got, sizeof got);
    return eq;
}
