/*
 * Mutable matching state of a rule set (see rule.h): firedtimes counters (atomics, no lock),
 * and under one mutex the correlation lists, the ignore timers, the check_diff store and the
 * first-time-seen set. Only rules that use correlation/ignore/check_diff/if_fts take the lock,
 * so the common path stays lock-free.
 *
 * The check_diff store and the FTS set are bounded string maps that forget their oldest entry
 * when full (see the TLD_FTS_* / TLD_DIFF_* bounds in rule_impl.h); Wazuh keeps them on disk,
 * unbounded.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/str.h"
#include "engine/rules/correlation.h"
#include "engine/rules/rule_impl.h"

/* ---- bounded string map with FIFO eviction ---- */

struct smap_entry {
    struct smap_entry *chain; /* bucket chain */
    struct smap_entry *newer; /* FIFO, oldest first */
    uint64_t hash;
    size_t klen, vlen;
    char *val;
    char key[];
};

struct smap {
    struct smap_entry **buckets;
    unsigned nbuckets; /* power of two */
    unsigned n, max;
    size_t bytes, max_bytes;
    struct smap_entry *oldest, *newest;
};

static uint64_t hash_sv(struct tld_sv s)
{
    return tld_fnv1a(TLD_FNV1A_SEED, s.p, s.n);
}

static struct smap *smap_new(unsigned max, size_t max_bytes)
{
    struct smap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->nbuckets = 1024;
    while (m->nbuckets < max)
        m->nbuckets *= 2;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    m->max = max;
    m->max_bytes = max_bytes;
    return m;
}

static void smap_free(struct smap *m)
{
    if (!m)
        return;
    for (struct smap_entry *e = m->oldest, *next; e; e = next) {
        next = e->newer;
        free(e->val);
        free(e);
    }
    free(m->buckets);
    free(m);
}

static struct smap_entry *smap_get(const struct smap *m, struct tld_sv key)
{
    uint64_t h = hash_sv(key);
    for (struct smap_entry *e = m->buckets[h & (m->nbuckets - 1)]; e; e = e->chain)
        if (e->hash == h && e->klen == key.n && memcmp(e->key, key.p, key.n) == 0)
            return e;
    return NULL;
}

static void smap_evict_oldest(struct smap *m)
{
    struct smap_entry *e = m->oldest;
    struct smap_entry **pp = &m->buckets[e->hash & (m->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
    m->oldest = e->newer;
    if (!m->oldest)
        m->newest = NULL;
    m->n--;
    m->bytes -= e->klen + e->vlen;
    free(e->val);
    free(e);
}

static bool set_value(struct smap *m, struct smap_entry *e, struct tld_sv val)
{
    char *v = NULL;
    if (val.n) {
        v = malloc(val.n);
        if (!v)
            return false;
        memcpy(v, val.p, val.n);
    }
    m->bytes = m->bytes - e->vlen + val.n;
    free(e->val);
    e->val = v;
    e->vlen = val.n;
    return true;
}

/* Insert (key absent) with FIFO eviction; false when out of memory. */
static bool smap_put(struct smap *m, struct tld_sv key, struct tld_sv val)
{
    while (m->oldest && (m->n >= m->max || m->bytes + key.n + val.n > m->max_bytes))
        smap_evict_oldest(m);
    struct smap_entry *e = malloc(sizeof *e + key.n);
    if (!e)
        return false;
    memset(e, 0, sizeof *e);
    e->hash = hash_sv(key);
    e->klen = key.n;
    if (key.n)
        memcpy(e->key, key.p, key.n);
    if (!set_value(m, e, val)) {
        free(e);
        return false;
    }
    struct smap_entry **b = &m->buckets[e->hash & (m->nbuckets - 1)];
    e->chain = *b;
    *b = e;
    if (m->newest)
        m->newest->newer = e;
    else
        m->oldest = e;
    m->newest = e;
    m->n++;
    m->bytes += key.n;
    return true;
}

/* ---- state life cycle ---- */

int tld_rules_state_new(const struct tld_rules *rules, struct tld_rules_state **out)
{
    if (!rules->finished)
        return TLD_EINVAL;
    struct tld_rules_state *st = calloc(1, sizeof *st);
    if (!st)
        return TLD_ENOMEM;
    unsigned n = rules->nrules ? rules->nrules : 1;
    st->rules = rules;
    st->fired = calloc(n, sizeof *st->fired);
    st->ignored_at = malloc(n * sizeof *st->ignored_at);
    st->diff = smap_new(TLD_DIFF_MAX_ENTRIES, TLD_DIFF_MAX_BYTES);
    st->fts = smap_new(TLD_FTS_MAX_KEYS, (size_t)TLD_FTS_MAX_KEYS * TLD_FTS_MAX_KEY);
    int err = tld_corr_new(rules->ncorr_lists, &st->corr);
    if (err || !st->fired || !st->ignored_at || !st->diff || !st->fts) {
        if (!err)
            tld_corr_free(st->corr);
        st->corr = NULL;
        tld_rules_state_free(st);
        return TLD_ENOMEM;
    }
    for (unsigned i = 0; i < n; i++) {
        atomic_init(&st->fired[i], 0);
        st->ignored_at[i] = INT64_MIN;
    }
    pthread_mutex_init(&st->lock, NULL);
    *out = st;
    return 0;
}

void tld_rules_state_free(struct tld_rules_state *st)
{
    if (!st)
        return;
    if (st->corr)
        pthread_mutex_destroy(&st->lock);
    tld_corr_free(st->corr);
    smap_free(st->diff);
    smap_free(st->fts);
    free(st->ignored_at);
    free((void *)st->fired);
    free(st);
}

uint64_t tld_rules_state_firedtimes(const struct tld_rules_state *st, const struct tld_rule *rule)
{
    return atomic_load_explicit(&st->fired[rule->index], memory_order_relaxed);
}

/* ---- ignore, check_diff, first-time-seen ---- */

bool state_ignored(struct tld_rules_state *st, const struct tld_rule *rule, int64_t now)
{
    bool inside = false;
    pthread_mutex_lock(&st->lock);
    int64_t *at = &st->ignored_at[rule->index];
    if (*at != INT64_MIN && now - *at < (int64_t)rule->ignore)
        inside = true;
    else
        *at = now;
    pthread_mutex_unlock(&st->lock);
    return inside;
}

bool state_diff(struct tld_rules_state *st, struct tld_sv key, struct tld_sv log, char *old,
                size_t *oldn)
{
    bool fire = false;
    pthread_mutex_lock(&st->lock);
    struct smap_entry *e = smap_get(st->diff, key);
    if (!e) {
        smap_put(st->diff, key, log);
    } else if (e->vlen != log.n || (log.n && memcmp(e->val, log.p, log.n) != 0)) {
        if (e->vlen)
            memcpy(old, e->val, e->vlen);
        *oldn = e->vlen;
        fire = true;
        if (!set_value(st->diff, e, log))
            fire = false;
    }
    pthread_mutex_unlock(&st->lock);
    return fire;
}

bool state_fts_first(struct tld_rules_state *st, struct tld_sv key)
{
    if (key.n > TLD_FTS_MAX_KEY)
        key.n = TLD_FTS_MAX_KEY;
    pthread_mutex_lock(&st->lock);
    bool first = smap_get(st->fts, key) == NULL;
    if (first)
        smap_put(st->fts, key, TLD_SV_LIT(""));
    pthread_mutex_unlock(&st->lock);
    return first;
}
