/* Memo of the last enrollment password that passed (see pwmemo.h). */
#include "manager/pwmemo.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/pki.h"

int tld_pwmemo_init(struct tld_pwmemo *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    return RAND_bytes(m->key, sizeof m->key) == 1 ? 0 : TLD_EIO;
}

void tld_pwmemo_fini(struct tld_pwmemo *m)
{
    OPENSSL_cleanse(m->key, sizeof m->key);
    OPENSSL_cleanse(m->mac, sizeof m->mac);
    pthread_mutex_destroy(&m->mu);
}

/* The stored hash is part of the input, so a memo never outlives a change of password. */
static bool mac_of(const struct tld_pwmemo *m, const char *stored, struct tld_sv pw,
                   uint8_t out[32])
{
    size_t sl = strlen(stored);
    unsigned char *in = malloc(sl + 1 + pw.n);
    if (!in)
        return false;
    memcpy(in, stored, sl + 1);
    if (pw.n)
        memcpy(in + sl + 1, pw.p, pw.n);
    size_t len = 0;
    bool ok = EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, m->key, sizeof m->key, in,
                        sl + 1 + pw.n, out, 32, &len) != NULL &&
              len == 32;
    OPENSSL_cleanse(in, sl + 1 + pw.n);
    free(in);
    return ok;
}

bool tld_pwmemo_check(struct tld_pwmemo *m, const char *stored, struct tld_sv password)
{
    uint8_t mac[32];
    bool have_mac = mac_of(m, stored, password, mac);
    pthread_mutex_lock(&m->mu);
    bool known = have_mac && m->have && CRYPTO_memcmp(mac, m->mac, sizeof mac) == 0;
    pthread_mutex_unlock(&m->mu);
    if (known)
        return true;
    if (!tld_pki_password_check(stored, password))
        return false;
    if (have_mac) {
        pthread_mutex_lock(&m->mu);
        memcpy(m->mac, mac, sizeof mac);
        m->have = true;
        pthread_mutex_unlock(&m->mu);
    }
    return true;
}
