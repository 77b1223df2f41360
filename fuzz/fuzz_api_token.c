/*
 * libFuzzer harness for tld-api's token verifier. With the first input byte even, the rest is
 * handed to the verifier as a token: it must refuse it (no token the harness did not sign can
 * pass, since the key is the harness's own). With it odd, the harness signs a token for a user
 * named by the input, checks that it verifies, then changes one byte of it (position and value
 * from the input) and checks that the changed token is refused: one token has one spelling.
 * base64url round trips are checked on the way.
 */
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/jwt.h"

static EVP_PKEY *harness_key(void)
{
    static EVP_PKEY *key;
    if (!key) {
        uint8_t seed[32];
        for (int i = 0; i < 32; i++)
            seed[i] = (uint8_t)(i * 7 + 3);
        key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, sizeof seed);
        if (!key)
            abort();
    }
    return key;
}

static void roundtrip(const uint8_t *p, size_t n)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 1u << 20);
    tld_b64url_encode(p, n, &sb);
    uint8_t *back = malloc(n + 1);
    size_t len = 0;
    if (!back || tld_b64url_decode(sb.p ? sb.p : "", sb.n, back, n + 1, &len) != 0 || len != n ||
        (n && memcmp(back, p, n)))
        abort();
    free(back);
    tld_sb_fini(&sb);
}

static void sign_and_tamper(const uint8_t *data, size_t size)
{
    struct tld_jwt_claims c;
    memset(&c, 0, sizeof c);
    size_t un = size > 3 ? size - 3 : 0;
    if (un > TLD_JWT_USER_MAX)
        un = TLD_JWT_USER_MAX;
    for (size_t i = 0; i < un; i++)
        c.sub[i] = (char)(data[3 + i] % 26 + 'a');
    if (!un)
        c.sub[0] = 'u';
    strcpy(c.role, "analyst");
    c.iat_ms = 1700000000000;
    c.exp_s = 1700000900;
    struct tld_sb tok;
    tld_sb_init(&tok, TLD_JWT_MAX);
    if (tld_jwt_sign(harness_key(), &c, &tok) != 0)
        abort();
    struct tld_jwt_claims out;
    if (tld_jwt_verify(harness_key(), tok.p, tok.n, 1700000001000, &out) != 0 ||
        strcmp(out.sub, c.sub) != 0 || out.exp_s != c.exp_s)
        abort();
    /* Expired a millisecond after its end. */
    if (tld_jwt_verify(harness_key(), tok.p, tok.n, c.exp_s * 1000, &out) == 0)
        abort();
    if (size >= 3) {
        size_t at = ((size_t)data[1] << 8 | data[2]) % tok.n;
        char was = tok.p[at];
        tok.p[at] = (char)(was ^ (data[0] | 1));
        if (tld_jwt_verify(harness_key(), tok.p, tok.n, 1700000001000, &out) == 0)
            abort();
    }
    tld_sb_fini(&tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    roundtrip(data, size < 512 ? size : 512);
    if (data[0] & 1) {
        sign_and_tamper(data, size);
        return 0;
    }
    struct tld_jwt_claims out;
    if (tld_jwt_verify(harness_key(), (const char *)data + 1, size - 1, 1700000001000, &out) == 0)
        abort();
    return 0;
}
