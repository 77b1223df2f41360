/*
 * The API's bearer tokens: JSON Web Tokens signed with Ed25519 (`alg: EdDSA`, RFC 8037),
 * compact form `header.payload.signature`, each part base64url without padding.
 *
 * The verifier trusts nothing in the header but checks it: the header must be exactly an object
 * with `alg` "EdDSA" and optionally `typ` "JWT", so `none`, HS256 with the public key as a
 * secret, an embedded `jwk` or a `kid` pointing elsewhere are all refused before any signature
 * is looked at. Claims: `sub` (user), `role`, `iat` and `exp` (seconds), `iat_ms` (the issue
 * time in milliseconds, compared with revocations made in the same second).
 */
#ifndef TLD_API_JWT_H
#define TLD_API_JWT_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#include "common/str.h"

#define TLD_JWT_MAX      4096 /* longest token accepted */
#define TLD_JWT_USER_MAX 64

struct tld_jwt_claims {
    char sub[TLD_JWT_USER_MAX + 1];
    char role[32];
    int64_t iat_ms;
    int64_t exp_s;
};

/* A fresh Ed25519 key. */
int tld_jwt_key_new(EVP_PKEY **out);

/* A signed token for the claims, appended to out. */
int tld_jwt_sign(EVP_PKEY *key, const struct tld_jwt_claims *c, struct tld_sb *out);

/*
 * Check a token's form, header, signature and lifetime (`now_ms`). TLD_EAUTH for any token that
 * is not one this key signed and still valid; the claims are filled only on success.
 */
int tld_jwt_verify(EVP_PKEY *key, const char *tok, size_t n, int64_t now_ms,
                   struct tld_jwt_claims *out);

/* base64url without padding; decode is strict (no padding, no other characters). */
void tld_b64url_encode(const uint8_t *p, size_t n, struct tld_sb *out);
int tld_b64url_decode(const char *p, size_t n, uint8_t *out, size_t cap, size_t *len);

#endif
