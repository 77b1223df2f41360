/*
 * State that decoding keeps across events: the `accumulate` cache (decoders.md §10).
 *
 * Events of one multi-line transaction share a key (hostname, decoder name, decoded id); fields
 * missing from a later event are filled from what earlier events carried. The cache is a
 * fixed-size direct-mapped table (ACC_MAX_ENTRIES slots, a newer key evicts an older one that
 * hashes to the same slot), entries expire after two minutes, and one mutex guards it: the
 * feature is rare (five stock decoders) and the critical section is a few copies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/str.h"
#include "engine/decode/decoder_impl.h"

#define ACC_KEY_MAX 512

static const enum tld_field acc_fields[] = {TLD_F_SRCUSER, TLD_F_DSTUSER, TLD_F_SRCIP, TLD_F_DSTIP,
                                            TLD_F_SRCPORT, TLD_F_DSTPORT, TLD_F_DATA};
#define ACC_NFIELDS (sizeof acc_fields / sizeof acc_fields[0])

struct acc_entry {
    int64_t time_ns; /* 0 = empty */
    unsigned keylen;
    char key[ACC_KEY_MAX];
    unsigned char len[ACC_NFIELDS]; /* 0 = no value */
    char value[ACC_NFIELDS][ACC_MAX_VALUE];
};

struct tld_decoder_state *tld_decoder_state_new(void)
{
    struct tld_decoder_state *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    st->entries = calloc(ACC_MAX_ENTRIES, sizeof *st->entries);
    if (!st->entries) {
        free(st);
        return NULL;
    }
    pthread_mutex_init(&st->lock, NULL);
    return st;
}

void tld_decoder_state_free(struct tld_decoder_state *st)
{
    if (!st)
        return;
    pthread_mutex_destroy(&st->lock);
    free(st->entries);
    free(st);
}

void tld_decoder_accumulate(struct tld_decoder_state *st, const struct dec *d, struct tld_event *ev)
{
    struct tld_sv id = ev->fields[TLD_F_ID];
    if (!id.p || id.n == 0)
        return;
    char key[ACC_KEY_MAX];
    struct tld_sv host = ev->hostname.p ? ev->hostname : TLD_SV_LIT("");
    int keylen = snprintf(key, sizeof key, "%.*s %s %.*s", (int)host.n, host.p, d->pub.name,
                          (int)id.n, id.p);
    if (keylen < 0 || (size_t)keylen >= sizeof key)
        return;
    struct acc_entry *e =
        &st->entries[tld_fnv1a(TLD_FNV1A_SEED, key, (size_t)keylen) % ACC_MAX_ENTRIES];
    pthread_mutex_lock(&st->lock);
    bool live = e->time_ns && e->keylen == (unsigned)keylen && memcmp(e->key, key, keylen) == 0 &&
                ev->time_ns - e->time_ns <= ACC_TTL_NS;
    if (!live) {
        memset(e->len, 0, sizeof e->len);
        memcpy(e->key, key, (size_t)keylen);
        e->keylen = (unsigned)keylen;
    }
    for (size_t i = 0; i < ACC_NFIELDS; i++) {
        struct tld_sv *v = &ev->fields[acc_fields[i]];
        if ((!v->p || v->n == 0) && e->len[i]) {
            *v = tld_arena_dup(ev->arena, e->value[i], e->len[i]);
            ev->accumulated = true;
        } else if (v->p && v->n > 0 && v->n <= ACC_MAX_VALUE) {
            memcpy(e->value[i], v->p, v->n);
            e->len[i] = (unsigned char)v->n;
        }
    }
    e->time_ns = ev->time_ns;
    pthread_mutex_unlock(&st->lock);
}
