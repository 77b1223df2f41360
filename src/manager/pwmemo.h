/*
 * Memo of the enrollment password that last passed its scrypt check, so that a fleet enrolling
 * with the one shared password pays scrypt (tens of ms and 16 MiB, on purpose) once rather than
 * once per agent: a later request with the same password is recognised by a keyed hash
 * (HMAC-SHA256 under a random key drawn at start, never stored). A wrong password still pays
 * scrypt and counts towards the lockouts, so guessing online costs what it did. What the memo
 * keeps in memory is no weaker than what the process holds anyway (the CA key).
 */
#ifndef TLD_MANAGER_PWMEMO_H
#define TLD_MANAGER_PWMEMO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/str.h"

struct tld_pwmemo {
    pthread_mutex_t mu;
    uint8_t key[32];
    uint8_t mac[32]; /* of the stored hash and the password that passed */
    bool have;
};

/* 0 or TLD_EIO (no randomness). */
int tld_pwmemo_init(struct tld_pwmemo *m);
void tld_pwmemo_fini(struct tld_pwmemo *m);
/* tld_pki_password_check(stored, password), remembered when it passes. */
bool tld_pwmemo_check(struct tld_pwmemo *m, const char *stored, struct tld_sv password);

#endif
