/*
 * The small PKI behind enrollment and the mutual-TLS transport (OpenSSL 3).
 *
 * The manager owns a CA (EC P-256, self-signed, 20 years) created on first start, and a server
 * certificate signed by it. An agent makes its own key and sends a certificate request; the
 * manager signs a client certificate for the request's public key (after checking the request's
 * signature, i.e. that the agent holds the key), with the subject
 *     O=ThreatLockDown, OU=agent, CN=<agent id>
 * so the transport can tell the agent from its certificate alone. The agent's key never leaves
 * the agent. Private keys are written with mode 0600 through a temporary file and a rename.
 *
 * Password hashing for the enrollment password at rest: scrypt, stored as
 *     $scrypt$N=<N>,r=<r>,p=<p>$<salt hex>$<key hex>
 * and compared in constant time.
 */
#ifndef TLD_COMMON_PKI_H
#define TLD_COMMON_PKI_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/str.h"

/* The manager's CA: key and certificate (owned). */
struct tld_pki_ca {
    EVP_PKEY *key;
    X509 *cert;
};

/* A fresh EC P-256 key. */
int tld_pki_key_new(EVP_PKEY **out);
/* Write a key (PEM, mode 0600) atomically; read one back. */
int tld_pki_key_save(EVP_PKEY *key, const char *path);
int tld_pki_key_load(const char *path, EVP_PKEY **out);
int tld_pki_cert_save(X509 *cert, const char *path);
int tld_pki_cert_load(const char *path, X509 **out);
/* PEM text of a certificate, appended to out. */
int tld_pki_cert_pem(X509 *cert, struct tld_sb *out);
/* Parse one PEM certificate. */
int tld_pki_cert_parse(struct tld_sv pem, X509 **out);
/* SHA-256 of the DER certificate. */
int tld_pki_cert_fingerprint(X509 *cert, uint8_t sha256[32]);
/* The subject's CN into buf; TLD_ENOTFOUND when absent or too long. */
int tld_pki_cert_cn(X509 *cert, char *buf, size_t n);

/*
 * Make sure `dir` holds ca.key, ca.crt, manager.key and manager.crt, creating what is missing
 * (the directory too, mode 0700). A CA that exists is kept; a server certificate that does not
 * chain to it is replaced. `server_cn` names the manager (its host name). *created says
 * whether the CA was made now.
 */
int tld_pki_ca_ensure(const char *dir, const char *server_cn, bool *created, char why[TLD_WHY_MAX]);
int tld_pki_ca_load(const char *dir, struct tld_pki_ca *ca, char why[TLD_WHY_MAX]);
void tld_pki_ca_fini(struct tld_pki_ca *ca);

/* A certificate request (PEM) for `key` with subject CN=cn. */
int tld_pki_csr_new(EVP_PKEY *key, const char *cn, struct tld_sb *pem);

/*
 * Check a PEM request (one request, valid signature, an EC P-256 or RSA >= 2048 key) and sign a
 * client certificate for its key with CN=agent_id, valid `days` days. Appends the PEM to
 * cert_pem and gives the fingerprint. TLD_EINVAL with a reason for a bad request.
 */
int tld_pki_issue(const struct tld_pki_ca *ca, struct tld_sv csr_pem, const char *agent_id,
                  unsigned days, struct tld_sb *cert_pem, uint8_t sha256[32],
                  char why[TLD_WHY_MAX]);

/*
 * A server certificate (serverAuth; names cn, localhost and 127.0.0.1) for `key`, signed by the
 * CA, with subject OU=ou, CN=cn: for daemons of the installation other than the manager.
 */
int tld_pki_issue_server(const struct tld_pki_ca *ca, EVP_PKEY *key, const char *ou, const char *cn,
                         X509 **out);

/* Check a PEM request only (what tld_pki_issue checks first). */
int tld_pki_csr_check(struct tld_sv csr_pem, char why[TLD_WHY_MAX]);

/* scrypt hash of a password in the format above (NUL-terminated, < 200 bytes). */
int tld_pki_password_hash(struct tld_sv password, char out[200]);
/* Whether `password` matches the stored hash; false also for a malformed hash. */
bool tld_pki_password_check(const char *stored, struct tld_sv password);
/* Whether a string looks like a stored hash ("$scrypt$..."). */
bool tld_pki_password_is_hash(const char *s);

#endif
