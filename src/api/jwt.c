/*
 * Signing and verifying the API's Ed25519 JSON Web Tokens (jwt.h). Parsing of untrusted parts
 * is bounded (TLD_JWT_MAX) and goes through cJSON only after the base64url layer is checked.
 */
#include "api/jwt.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <openssl/err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

static const char B64URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void tld_b64url_encode(const uint8_t *p, size_t n, struct tld_sb *out)
{
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        char q[4] = {B64URL[v >> 18], B64URL[(v >> 12) & 63], B64URL[(v >> 6) & 63],
                     B64URL[v & 63]};
        tld_sb_append(out, q, 4);
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        char q[2] = {B64URL[v >> 18], B64URL[(v >> 12) & 63]};
        tld_sb_append(out, q, 2);
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        char q[3] = {B64URL[v >> 18], B64URL[(v >> 12) & 63], B64URL[(v >> 6) & 63]};
        tld_sb_append(out, q, 3);
    }
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int tld_b64url_decode(const char *p, size_t n, uint8_t *out, size_t cap, size_t *len)
{
    if (n % 4 == 1)
        return TLD_EINVAL;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(p[i]);
        if (v < 0)
            return TLD_EINVAL;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return TLD_ELIMIT;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Leftover bits must be zero: one token has one spelling. */
    if (acc != 0)
        return TLD_EINVAL;
    *len = o;
    return 0;
}

int tld_jwt_key_new(EVP_PKEY **out)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    *out = NULL;
    int ok = ctx && EVP_PKEY_keygen_init(ctx) == 1 && EVP_PKEY_keygen(ctx, out) == 1;
    EVP_PKEY_CTX_free(ctx);
    ERR_clear_error();
    return ok ? 0 : TLD_ETLS;
}

static const char HEADER[] = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}";

int tld_jwt_sign(EVP_PKEY *key, const struct tld_jwt_claims *c, struct tld_sb *out)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return TLD_ENOMEM;
    cJSON_AddStringToObject(o, "iss", "threatlockdown");
    cJSON_AddStringToObject(o, "sub", c->sub);
    cJSON_AddStringToObject(o, "role", c->role);
    cJSON_AddNumberToObject(o, "iat", (double)(c->iat_ms / 1000));
    cJSON_AddNumberToObject(o, "iat_ms", (double)c->iat_ms);
    cJSON_AddNumberToObject(o, "exp", (double)c->exp_s);
    char *payload = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!payload)
        return TLD_ENOMEM;
    size_t start = out->n;
    tld_b64url_encode((const uint8_t *)HEADER, sizeof HEADER - 1, out);
    tld_sb_append_char(out, '.');
    tld_b64url_encode((const uint8_t *)payload, strlen(payload), out);
    free(payload);
    uint8_t sig[64];
    size_t siglen = sizeof sig;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestSign(md, sig, &siglen, (const uint8_t *)out->p + start, out->n - start) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    if (!ok)
        return TLD_ETLS;
    tld_sb_append_char(out, '.');
    tld_b64url_encode(sig, siglen, out);
    return out->oom || out->truncated ? TLD_ENOMEM : 0;
}

/* The header, decoded: only {"alg":"EdDSA"} with an optional "typ":"JWT". */
static bool header_ok(const char *p, size_t n)
{
    uint8_t buf[256];
    size_t len;
    if (tld_b64url_decode(p, n, buf, sizeof buf, &len) != 0)
        return false;
    cJSON *h = cJSON_ParseWithLength((const char *)buf, len);
    bool ok = cJSON_IsObject(h);
    bool alg = false;
    for (cJSON *m = ok ? h->child : NULL; m && ok; m = m->next) {
        if (strcmp(m->string, "alg") == 0 && !alg)
            ok = alg = cJSON_IsString(m) && strcmp(m->valuestring, "EdDSA") == 0;
        else if (strcmp(m->string, "typ") == 0)
            ok = cJSON_IsString(m) && strcmp(m->valuestring, "JWT") == 0;
        else
            ok = false;
    }
    cJSON_Delete(h);
    return ok && alg;
}

static bool whole_number(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < 0 ||
        v->valuedouble > 9.0e15 || v->valuedouble != floor(v->valuedouble))
        return false;
    *out = (int64_t)v->valuedouble;
    return true;
}

static bool claims_read(const char *p, size_t n, struct tld_jwt_claims *out)
{
    uint8_t buf[TLD_JWT_MAX];
    size_t len;
    if (tld_b64url_decode(p, n, buf, sizeof buf, &len) != 0)
        return false;
    cJSON *o = cJSON_ParseWithLength((const char *)buf, len);
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(o, "sub");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(o, "role");
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(o, "iss");
    bool ok = cJSON_IsObject(o) && cJSON_IsString(sub) && sub->valuestring[0] &&
              strlen(sub->valuestring) <= TLD_JWT_USER_MAX && cJSON_IsString(role) &&
              strlen(role->valuestring) < sizeof out->role && cJSON_IsString(iss) &&
              strcmp(iss->valuestring, "threatlockdown") == 0 &&
              whole_number(cJSON_GetObjectItemCaseSensitive(o, "iat_ms"), &out->iat_ms) &&
              whole_number(cJSON_GetObjectItemCaseSensitive(o, "exp"), &out->exp_s);
    if (ok) {
        snprintf(out->sub, sizeof out->sub, "%s", sub->valuestring);
        snprintf(out->role, sizeof out->role, "%s", role->valuestring);
    }
    cJSON_Delete(o);
    return ok;
}

int tld_jwt_verify(EVP_PKEY *key, const char *tok, size_t n, int64_t now_ms,
                   struct tld_jwt_claims *out)
{
    if (n == 0 || n > TLD_JWT_MAX)
        return TLD_EAUTH;
    const char *d1 = memchr(tok, '.', n);
    const char *d2 = d1 ? memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - tok)) : NULL;
    if (!d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - tok)))
        return TLD_EAUTH;
    if (!header_ok(tok, (size_t)(d1 - tok)))
        return TLD_EAUTH;
    uint8_t sig[64];
    size_t siglen;
    if (tld_b64url_decode(d2 + 1, n - (size_t)(d2 + 1 - tok), sig, sizeof sig, &siglen) != 0 ||
        siglen != sizeof sig)
        return TLD_EAUTH;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int ok = md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) == 1 &&
             EVP_DigestVerify(md, sig, siglen, (const uint8_t *)tok, (size_t)(d2 - tok)) == 1;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    if (!ok)
        return TLD_EAUTH;
    struct tld_jwt_claims c;
    memset(&c, 0, sizeof c);
    if (!claims_read(d1 + 1, (size_t)(d2 - d1 - 1), &c))
        return TLD_EAUTH;
    if (now_ms / 1000 >= c.exp_s || c.iat_ms > now_ms + 60000)
        return TLD_EAUTH;
    *out = c;
    return 0;
}
