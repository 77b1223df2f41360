/*
 * Evaluating one event against a finished rule set (rules.md §5–§7, §9).
 *
 * check() applies a rule's tests in two phases. The pure tests (decoded_as, field presence,
 * patterns, addresses, compiled rule, maxsize, time, weekday) have no side effect, so they run
 * cheapest first: one integer compare for decoded_as, one mask test for every field the rule
 * needs, then the patterns. The tests with side effects run afterwards in the order of
 * rules.md §5.2 — check_diff, if_fts, lists, correlation — so their effects happen exactly when
 * the original's would. Only those take the state lock.
 *
 * Children are tried in sibling order and the deepest matching descendant wins; a noalert rule
 * whose children all fail is transparent. The rule returned increments its firedtimes counter.
 */
#include <string.h>
#include <time.h>

#include "engine/rules/correlation.h"
#include "engine/decode/decoder.h"
#include "engine/rules/iplist.h"
#include "engine/rules/lists.h"
#include "engine/regex/regex.h"
#include "engine/rules/rule_impl.h"

#define DYNIDX_SLOTS (2 * TLD_EVENT_MAX_FIELDS)

struct ectx {
    const struct tld_rules *rs;
    struct tld_rules_state *st;
    const struct tld_event *ev;
    struct tld_rule_hit *hit;
    enum tld_category type;
    uint32_t present;
    int64_t now;
    int matched; /* this event's `matched` level (correlation) */
    int fts;     /* 0 not computed yet, 1 first time seen, -1 seen before */
    bool tm_ready;
    char hhmm[6];
    int wday;
    bool dyn_hashed, dyn_ready;
    uint64_t dyn_bloom[4];          /* DYN_BLOOM_BIT of every dynamic field name, once hashed */
    const struct dynname *dyn_last; /* the last name looked up and what it found */
    struct tld_sv dyn_last_value;
    int32_t decoder_id;               /* -2 without decoder: no rule's decoded_as equals it */
    const struct tld_rule *prev_rule; /* direct parent of the winner */
    uint64_t firedtimes;
};

static uint32_t presence(const struct tld_event *ev)
{
    uint32_t m = 0;
    for (int f = 0; f < TLD_F_COUNT; f++)
        if (ev->fields[f].p)
            m |= PB_FIELD(f);
    if (ev->hostname.p)
        m |= PB_HOSTNAME;
    if (ev->program_name.p)
        m |= PB_PROGRAM;
    if (ev->location.p)
        m |= PB_LOCATION;
    if (ev->fields[TLD_F_DSTUSER].p || ev->fields[TLD_F_SRCUSER].p)
        m |= PB_USER;
    return m;
}

static void local_time(struct ectx *x)
{
    if (x->tm_ready)
        return;
    int64_t ns = x->ev->time_ns;
    time_t t = (time_t)(ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000));
    struct tm tm;
    if (!localtime_r(&t, &tm))
        memset(&tm, 0, sizeof tm);
    x->hhmm[0] = (char)('0' + tm.tm_hour / 10);
    x->hhmm[1] = (char)('0' + tm.tm_hour % 10);
    x->hhmm[2] = ':';
    x->hhmm[3] = (char)('0' + tm.tm_min / 10);
    x->hhmm[4] = (char)('0' + tm.tm_min % 10);
    x->hhmm[5] = '\0';
    x->wday = tm.tm_wday;
    x->tm_ready = true;
}

/* ---- dynamic fields ---- */

static struct tld_sv dyn_lookup(struct ectx *x, const struct dynname *k);

/* First dynamic field named like k (case-insensitive), through a per-event hash index.
 * Sibling rules often test the same field one after the other ("docker.Action" in every child
 * of a rule), so the last lookup is remembered: a name with the same bytes finds the same. */
static struct tld_sv dyn_get(struct ectx *x, const struct dynname *k)
{
    const struct dynname *l = x->dyn_last;
    if (l && l->hash == k->hash && l->len == k->len && memcmp(l->name, k->name, k->len) == 0)
        return x->dyn_last_value;
    x->dyn_last_value = dyn_lookup(x, k);
    x->dyn_last = k;
    return x->dyn_last_value;
}

/* The hashes of the event's dynamic field names (at the start of hit->dynidx) and the filter
 * of their bits; once per event, when a rule first needs either. */
static void dyn_prepare(struct ectx *x)
{
    if (x->dyn_hashed)
        return;
    const struct tld_event *ev = x->ev;
    uint32_t *hash = x->hit->dynidx;
    unsigned n = ev->ndyn < TLD_EVENT_MAX_FIELDS ? ev->ndyn : TLD_EVENT_MAX_FIELDS;
    memset(x->dyn_bloom, 0, sizeof x->dyn_bloom);
    for (unsigned i = 0; i < n; i++) {
        struct tld_sv name = ev->dyn[i].name;
        hash[i] = dynname_hash(name.p ? name.p : "", name.n);
        unsigned bit = DYN_BLOOM_BIT(hash[i]);
        x->dyn_bloom[bit >> 6] |= 1ull << (bit & 63);
    }
    x->dyn_hashed = true;
}

static struct tld_sv dyn_lookup(struct ectx *x, const struct dynname *k)
{
    const struct tld_event *ev = x->ev;
    struct tld_sv name = tld_sv_make(k->name, k->len);
    if (ev->ndyn <= 8) {
        for (unsigned i = 0; i < ev->ndyn; i++)
            if (tld_sv_eq_nocase(ev->dyn[i].name, name))
                return ev->dyn[i].value;
        return TLD_SV_NULL;
    }
    uint32_t *hash = x->hit->dynidx;
    uint16_t *idx = (uint16_t *)(hash + TLD_EVENT_MAX_FIELDS);
    if (!x->dyn_ready) {
        dyn_prepare(x);
        memset(idx, 0, DYNIDX_SLOTS * sizeof *idx);
        for (unsigned i = 0; i < ev->ndyn && i < TLD_EVENT_MAX_FIELDS; i++) {
            struct tld_sv n = ev->dyn[i].name;
            uint32_t s = hash[i] & (DYNIDX_SLOTS - 1);
            bool dup = false;
            while (idx[s] && !dup) {
                dup = tld_sv_eq_nocase(ev->dyn[idx[s] - 1].name, n);
                s = (s + 1) & (DYNIDX_SLOTS - 1);
            }
            if (!dup)
                idx[s] = (uint16_t)(i + 1);
        }
        x->dyn_ready = true;
    }
    for (uint32_t s = k->hash & (DYNIDX_SLOTS - 1); idx[s]; s = (s + 1) & (DYNIDX_SLOTS - 1))
        if (tld_sv_eq_nocase(ev->dyn[idx[s] - 1].name, name))
            return ev->dyn[idx[s] - 1].value;
    return TLD_SV_NULL;
}

/* ---- pure tests ---- */

static bool run_test(struct ectx *x, const struct rtest *t)
{
    const struct tld_event *ev = x->ev;
    struct tld_sv v;
    switch ((enum rtest_kind)t->kind) {
    case RT_LOG:
        v = ev->log.p ? ev->log : TLD_SV_LIT("");
        break;
    case RT_FIELD:
        v = ev->fields[t->field];
        break;
    case RT_PROGRAM:
        v = ev->program_name;
        break;
    case RT_HOSTNAME:
        v = ev->hostname;
        break;
    case RT_LOCATION:
        v = ev->location;
        break;
    case RT_USER:
        v = tld_event_user(ev);
        break;
    case RT_DYN:
        v = dyn_get(x, &t->dyn);
        if (!v.p)
            return false;
        break;
    case RT_IP:
        v = ev->fields[t->field];
        return tld_iplist_match(t->ip, v.p, v.n) != t->negate;
    case RT_COMPILED:
        return t->compiled(ev);
    default:
        return false;
    }
    return tld_rx_match(t->rx, v.p, v.n, NULL, x->hit->scratch) != t->negate;
}

static bool time_ok(struct ectx *x, const struct rule_body *b)
{
    local_time(x);
    bool in = strncmp(x->hhmm, b->time_lo, 5) >= 0 && strncmp(x->hhmm, b->time_hi, 5) <= 0;
    return in != b->time_neg;
}

static bool pure_tests(struct ectx *x, const struct rule_body *b);

/* decoded_as, static field presence and one dynamic field's presence, from the packed filter
 * a parent (or the top-level list) keeps of each rule; b is that rule's body, read only by
 * the fuzzers' check. */
static inline bool pass(struct ectx *x, const struct kid_filter *f, const struct rule_body *b)
{
    (void)b;
    if ((f->decoded_as >= 0 && f->decoded_as != x->decoder_id) || (f->need & x->present) != f->need)
        return false;
    if (!f->dynbit)
        return true;
    dyn_prepare(x);
    unsigned bit = f->dynbit - 1u;
    bool ok = (x->dyn_bloom[bit >> 6] >> (bit & 63)) & 1;
#ifdef TLD_FUZZING
    if (!ok && pure_tests(x, b)) /* a rule turned away here must fail its tests */
        __builtin_trap();
#endif
    return ok;
}

static bool pure_tests(struct ectx *x, const struct rule_body *b)
{
    const struct tld_event *ev = x->ev;
    if (b->sources && ev->source != TLD_SOURCE_ANY && !(b->sources & (1u << ev->source)))
        return false;
    if (b->maxsize && (ev->log.p ? ev->log.n : 0) < b->maxsize)
        return false;
    if (b->has_time && !time_ok(x, b))
        return false;
    if (b->has_weekday) {
        local_time(x);
        if (!(b->weekdays & (1u << x->wday)))
            return false;
    }
    for (unsigned i = 0; i < b->ntests; i++)
        if (!run_test(x, &b->tests[i]))
            return false;
    return true;
}

/* ---- tests with side effects ---- */

static bool diff_test(struct ectx *x, const struct tld_rule *r)
{
    const struct tld_event *ev = x->ev;
    struct tld_sv log = ev->log.p ? ev->log : TLD_SV_LIT("");
    if (log.n > TLD_DIFF_MAX_LOG)
        return false;
    /* Key: the host (an agent's "(name) ..." reduced to name) and the rule id. */
    struct tld_sv host = ev->hostname.p ? ev->hostname : ev->agent_name;
    if (!host.p)
        host = TLD_SV_LIT("");
    if (host.n && host.p[0] == '(') {
        long close = tld_sv_index(host, ')');
        host = tld_sv_make(host.p + 1, close > 0 ? (size_t)close - 1 : host.n - 1);
    }
    char key[512];
    size_t hn = host.n < sizeof key - 16 ? host.n : sizeof key - 16;
    memcpy(key, host.p, hn);
    int kn = snprintf(key + hn, sizeof key - hn, "/%u", r->id);
    size_t oldn = 0;
    struct tld_rule_hit *hit = x->hit;
    if (!state_diff(x->st, tld_sv_make(key, hn + (size_t)kn), log, hit->prevlog_buf, &oldn))
        return false;
    hit->prevlog_buf[oldn] = '\0';
    hit->previous_log = tld_sv_make(hit->prevlog_buf, oldn);
    hit->prev_set[0] = hit->prev_set[1] = false;
    tld_rule_hit_prev_add(hit, 0, TLD_SV_LIT("Previous output:"));
    tld_rule_hit_prev_add(hit, 1, hit->previous_log);
    return true;
}

static bool fts_test(struct ectx *x)
{
    if (!x->ev->fts_key.p)
        return false;
    if (!x->fts)
        x->fts = state_fts_first(x->st, x->ev->fts_key) ? 1 : -1;
    return x->fts > 0;
}

static bool list_test(struct ectx *x, const struct rlist *l)
{
    const struct tld_event *ev = x->ev;
    struct tld_sv v;
    switch ((enum list_what)l->what) {
    case LW_USER: /* srcuser first here, unlike <user> */
        v = ev->fields[TLD_F_SRCUSER].p ? ev->fields[TLD_F_SRCUSER] : ev->fields[TLD_F_DSTUSER];
        break;
    case LW_HOSTNAME:
        v = ev->hostname;
        break;
    case LW_PROGRAM:
        v = ev->program_name;
        break;
    case LW_DYN:
        v = dyn_get(x, &l->dyn);
        break;
    default:
        v = ev->fields[l->field];
        break;
    }
    if (!v.p)
        return false;
    struct tld_sv val;
    bool found;
    switch ((enum list_lookup)l->lookup) {
    case LK_MATCH_KEY:
        return tld_list_get(l->list, v, NULL);
    case LK_NOT_MATCH_KEY:
        return !tld_list_get(l->list, v, NULL);
    case LK_MATCH_KEY_VALUE:
        return l->check_value && tld_list_get(l->list, v, &val) &&
               tld_rx_match(l->check_value, val.p, val.n, NULL, NULL);
    case LK_ADDRESS_MATCH_KEY:
        return tld_list_get_address(l->list, v, NULL);
    case LK_NOT_ADDRESS_MATCH_KEY:
        return !tld_list_get_address(l->list, v, NULL);
    case LK_ADDRESS_MATCH_KEY_VALUE:
        /* Inverted in 4.14.7: true unless the address is found and its value matches. */
        found = tld_list_get_address(l->list, v, &val);
        return !(found && l->check_value && tld_rx_match(l->check_value, val.p, val.n, NULL, NULL));
    }
    return false;
}

static bool side_tests(struct ectx *x, const struct tld_rule *r)
{
    const struct tld_rule_impl *im = r->impl;
    const struct rule_body *b = &im->b;
    if (b->check_diff && !diff_test(x, r))
        return false;
    if (b->if_fts && !fts_test(x))
        return false;
    for (unsigned i = 0; i < b->nlists; i++)
        if (!list_test(x, &b->lists[i]))
            return false;
    if (b->context && !b->check_diff && im->search != SEARCH_NONE) {
        struct tld_corr_query q = {.ev = x->ev,
                                   .type = x->type,
                                   .now = x->now,
                                   .matched = &x->matched,
                                   .hit = x->hit,
                                   .scratch = x->hit->scratch};
        pthread_mutex_lock(&x->st->lock);
        bool ok = tld_corr_search(x->st->corr, r, &q);
        pthread_mutex_unlock(&x->st->lock);
        if (!ok) {
            tld_rule_hit_prev_clear(x->hit);
            return false;
        }
    }
    return true;
}

/* ---- the tree walk ---- */

/* The node's rule has passed its filter (pass). */
static const struct tld_rule *check(struct ectx *x, const struct rnode *node);

/* The event's values of a node's keys (struct kid_key), hashed on first use during one visit. */
struct key_values {
    uint8_t state[KID_KEYS_MAX]; /* 0 not computed, 1 hashed, 2 absent: no keyed kid passes */
    uint32_t hash[KID_KEYS_MAX];
};

/* False when kid i cannot pass: its key test wants a literal the event's value is not. */
static bool key_ok_slow(struct ectx *x, const struct rnode *node, unsigned i, struct key_values *kv)
{
    unsigned j = node->kf[i].key - 1u;
    if (!kv->state[j]) {
        const struct kid_key *k = &node->keys[j];
        /* As run_test reads it: an absent static field is matched as "", an absent dynamic
         * field fails. */
        struct tld_sv v = k->kind == RT_FIELD ? x->ev->fields[k->field] : dyn_get(x, &k->dyn);
        if (!v.p && k->kind == RT_FIELD)
            v = TLD_SV_LIT("");
        kv->state[j] = v.p ? 1 : 2;
        if (v.p)
            kv->hash[j] = dynname_hash(v.p, v.n);
    }
    bool ok = kv->state[j] == 1 && kv->hash[j] == node->kf[i].key_hash;
#ifdef TLD_FUZZING
    /* The fuzzers check that every kid turned away here would have failed its tests. */
    if (!ok && pure_tests(x, &node->kids[i]->rule->impl->b))
        __builtin_trap();
#endif
    return ok;
}

static inline bool key_ok(struct ectx *x, const struct rnode *node, unsigned i,
                          struct key_values *kv)
{
    return !node->kf[i].key || key_ok_slow(x, node, i, kv);
}

/* The first kid (in sibling order) that wins, or NULL. */
static const struct tld_rule *check_kids(struct ectx *x, const struct rnode *node)
{
    struct key_values kv = {0};
    if (!node->kdec) {
        for (unsigned i = 0; i < node->nkids; i++) {
            if (!pass(x, &node->kf[i], &node->kids[i]->rule->impl->b) || !key_ok(x, node, i, &kv))
                continue;
            const struct tld_rule *w = check(x, node->kids[i]);
            if (w)
                return w;
        }
        return NULL;
    }
    /* Only the kids without decoded_as and those for this event's decoder can pass the
     * filter: merge the two ascending position lists. */
    unsigned lo = 0, hi = node->nkdec;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        if (node->kdec[mid].decoded_as < x->decoder_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    unsigned j = lo, a = 0;
    for (;;) {
        bool dec = j < node->nkdec && node->kdec[j].decoded_as == x->decoder_id;
        if (!dec && a == node->nkany)
            return NULL;
        unsigned i = dec && (a == node->nkany || node->kdec[j].pos < node->kany[a])
                         ? node->kdec[j++].pos
                         : node->kany[a++];
        if (!pass(x, &node->kf[i], &node->kids[i]->rule->impl->b) || !key_ok(x, node, i, &kv))
            continue;
        const struct tld_rule *w = check(x, node->kids[i]);
        if (w)
            return w;
    }
}

static const struct tld_rule *check(struct ectx *x, const struct rnode *node)
{
    const struct tld_rule *r = node->rule;
    if (!pure_tests(x, &r->impl->b) || !side_tests(x, r))
        return NULL;
    const struct tld_rule *w = node->nkids ? check_kids(x, node) : NULL;
    if (w) {
        if (!x->prev_rule)
            x->prev_rule = r;
        return w;
    }
    if (r->noalert)
        return NULL;
    x->firedtimes = atomic_fetch_add_explicit(&x->st->fired[r->index], 1, memory_order_relaxed) + 1;
    return r;
}

/* ---- description (rules.md §7) ---- */

static struct tld_sv desc_field(const struct tld_event *ev, struct tld_sv name)
{
    static const struct {
        const char *name;
        int field;
    } statics[] = {
        {"dstuser", TLD_F_DSTUSER},
        {"srcuser", TLD_F_SRCUSER},
        {"srcip", TLD_F_SRCIP},
        {"dstip", TLD_F_DSTIP},
        {"srcport", TLD_F_SRCPORT},
        {"dstport", TLD_F_DSTPORT},
        {"protocol", TLD_F_PROTOCOL},
        {"action", TLD_F_ACTION},
        {"id", TLD_F_ID},
        {"url", TLD_F_URL},
        {"data", TLD_F_DATA},
        {"status", TLD_F_STATUS},
        {"extra_data", TLD_F_EXTRA_DATA},
        {"system_name", TLD_F_SYSTEM_NAME},
    };
    for (unsigned i = 0; i < sizeof statics / sizeof *statics; i++)
        if (tld_sv_eq_cstr(name, statics[i].name))
            return ev->fields[statics[i].field];
    if (tld_sv_eq_cstr(name, "program_name"))
        return ev->program_name;
    if (tld_sv_eq_cstr(name, "hostname"))
        return ev->hostname;
    return tld_event_get(ev, name);
}

struct tld_sv tld_rule_description(const struct tld_rule *rule, const struct tld_event *ev,
                                   char *buf)
{
    struct tld_sv raw = tld_sv_of(rule->description);
    const char *p = raw.p, *end = raw.p + raw.n;
    size_t n = 0;
    for (;;) {
        const char *tok = NULL;
        for (const char *q = p; q + 1 < end; q++)
            if (q[0] == '$' && q[1] == '(') {
                tok = q;
                break;
            }
        if (!tok)
            break;
        const char *close = memchr(tok + 2, ')', (size_t)(end - tok - 2));
        if (!close)
            break; /* an unclosed "$(" is copied with the rest */
        size_t z = (size_t)(tok - p);
        if (n + z >= TLD_RULE_DESC_MAX)
            return raw;
        memcpy(buf + n, p, z);
        n += z;
        struct tld_sv v = desc_field(ev, tld_sv_make(tok + 2, (size_t)(close - tok - 2)));
        if (v.p) {
            if (n + v.n >= TLD_RULE_DESC_MAX)
                return raw;
            memcpy(buf + n, v.p, v.n);
            n += v.n;
        }
        p = close + 1;
    }
    size_t z = (size_t)(end - p);
    if (n + z >= TLD_RULE_DESC_MAX)
        return raw;
    memcpy(buf + n, p, z);
    n += z;
    buf[n] = '\0';
    return tld_sv_make(buf, n);
}

/* ---- post-processing (rules.md §5 step 4) ---- */

static void store_event(struct ectx *x, const struct tld_rule *a)
{
    const struct tld_rule_impl *im = a->impl;
    const int *lists = NULL;
    unsigned n = 0;
    if (im->store_sid_list >= 0) {
        lists = &im->store_sid_list;
        n = 1;
    } else if (im->nstore_groups) {
        lists = im->store_groups;
        n = im->nstore_groups;
    }
    bool global = x->rs->has_global_search;
    if (!n && !global)
        return;
    struct tld_corr_event *e = tld_corr_copy(x->ev, x->type, x->now, x->matched);
    if (!e)
        return;
    pthread_mutex_lock(&x->st->lock);
    tld_corr_store(x->st->corr, e, lists, n, global);
    pthread_mutex_unlock(&x->st->lock);
}

static void finish_hit(struct tld_rule_hit *hit)
{
    unsigned n = 0;
    for (unsigned i = 0; i < TLD_RULE_PREV_MAX; i++) {
        hit->previous_output[i] =
            hit->prev_set[i] ? tld_sv_make(hit->prev_buf[i], hit->prev_len[i]) : TLD_SV_NULL;
        if (hit->prev_set[i] && n == i)
            n++;
    }
    hit->n_previous = n;
}

void tld_rules_eval(const struct tld_rules *rules, struct tld_rules_state *st,
                    const struct tld_event *ev, struct tld_rule_hit *hit)
{
    hit->rule = hit->alert_rule = NULL;
    hit->firedtimes = 0;
    hit->ignored = hit->write_alert = hit->mail = false;
    hit->description = TLD_SV_NULL;
    hit->previous_log = TLD_SV_NULL;
    tld_rule_hit_prev_clear(hit);

    struct ectx x = {
        .rs = rules,
        .st = st,
        .ev = ev,
        .hit = hit,
        .type = ev->decoder ? ev->decoder->type : TLD_CAT_SYSLOG,
        .present = presence(ev),
        .decoder_id = ev->decoder ? ev->decoder->id : -2,
    };
    int64_t ns = ev->time_ns;
    x.now = ns >= 0 ? ns / 1000000000 : -((-ns + 999999999) / 1000000000);

    const struct tld_rule *w = NULL;
    if ((unsigned)x.type < TLD_CAT_COUNT)
        for (unsigned i = 0; i < rules->ncat_top[x.type] && !w; i++) {
            const struct rnode *t = rules->cat_top[x.type][i];
            if (pass(&x, &rules->cat_kf[x.type][i], &t->rule->impl->b))
                w = check(&x, t);
        }
    if (!w)
        goto out;
    hit->rule = w;
    hit->firedtimes = x.firedtimes;
    const struct tld_rule *a = w;
    if (w->level > 0 && w->ignore && state_ignored(st, w, x.now)) {
        hit->ignored = true;
        a = x.prev_rule;
        tld_rule_hit_prev_clear(hit);
    }
    if (w->level == 0 || !a) {
        hit->description = tld_rule_description(w, ev, hit->desc_buf);
        goto out;
    }
    hit->alert_rule = a;
    hit->description = tld_rule_description(a, ev, hit->desc_buf);
    hit->write_alert = a->log && a->level > 0;
    hit->mail = a->mail;
    store_event(&x, a);
out:
    finish_hit(hit);
}
