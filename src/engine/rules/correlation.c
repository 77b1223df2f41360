/*
 * Stored events and the frequency/timeframe search (see correlation.h).
 *
 * Each list is a ring of slots in store order; a slot repeats the few facts every search
 * tests first (time, hashes of the agent id and srcip) so that a search skips most stored events
 * without touching them. Every stored event is also on one master
 * FIFO in store order and records which lists hold it (with repeats), so the byte bound can drop
 * the globally oldest event: being the oldest of all, it is necessarily at the oldest end of every
 * ring that holds it. A ring that is full drops its own oldest entry; an event leaves memory when
 * no ring holds it any more.
 */
#include "engine/rules/correlation.h"

#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"
#include "engine/regex/regex.h"
#include "engine/rules/rule_impl.h"

#define GLOBAL_LIST (-1)

/* Ring indexes wrap with a mask. */
_Static_assert((TLD_CORR_LIST_MAX & (TLD_CORR_LIST_MAX - 1)) == 0, "power of two");
_Static_assert((TLD_CORR_GLOBAL_MAX & (TLD_CORR_GLOBAL_MAX - 1)) == 0, "power of two");

struct tld_corr_event {
    struct tld_corr_event *older, *newer; /* master FIFO */
    int *member; /* lists holding this event (GLOBAL_LIST for the global one), with repeats */
    unsigned nmember, capmember;
    int64_t time;
    int matched;
    enum tld_category type;
    uint32_t agent_hash, srcip_hash;
    size_t bytes;
    struct tld_sv full_log, log, agent_id, hostname, location, program_name;
    struct tld_sv fields[TLD_F_COUNT];
    struct tld_dynfield *dyn;
    unsigned ndyn;
    _Alignas(16) char data[]; /* dynamic-field array, then every copied byte */
};

struct slot {
    struct tld_corr_event *e;
    int64_t time;
    uint32_t agent_hash, srcip_hash; /* 0 = absent */
    uint64_t prev_ip; /* sequence number + 1 of the previous slot in the same srcip bucket */
};

/* Slots are numbered by push order (seq); slot seq lives at v[seq & (cap - 1)] while
 * seq >= next - n. Per srcip-hash bucket the newest slot starts a chain through prev_ip, so a
 * same_srcip search visits only candidate slots. */
#define IP_BUCKETS 1024

struct ring {
    struct slot *v;
    uint64_t *bucket; /* IP_BUCKETS chain heads (seq + 1; 0 = empty) */
    unsigned cap, n;
    uint64_t next; /* seq of the next push */
};

struct tld_corr {
    struct ring *lists;
    unsigned nlists;
    struct ring global;
    struct tld_corr_event *oldest, *newest;
    size_t count, bytes;
};

int tld_corr_new(unsigned nlists, struct tld_corr **out)
{
    struct tld_corr *c = calloc(1, sizeof *c);
    if (!c)
        return TLD_ENOMEM;
    if (nlists) {
        c->lists = calloc(nlists, sizeof *c->lists);
        if (!c->lists) {
            free(c);
            return TLD_ENOMEM;
        }
    }
    c->nlists = nlists;
    *out = c;
    return 0;
}

void tld_corr_event_free(struct tld_corr_event *e)
{
    if (!e)
        return;
    free(e->member);
    free(e);
}

void tld_corr_free(struct tld_corr *c)
{
    if (!c)
        return;
    for (struct tld_corr_event *e = c->oldest, *next; e; e = next) {
        next = e->newer;
        tld_corr_event_free(e);
    }
    for (unsigned i = 0; i < c->nlists; i++) {
        free(c->lists[i].v);
        free(c->lists[i].bucket);
    }
    free(c->lists);
    free(c->global.v);
    free(c->global.bucket);
    free(c);
}

/* ---- copying ---- */

/* Hash of a value for the slot pre-checks; 0 means absent. */
static uint32_t value_hash(struct tld_sv v)
{
    if (!v.p)
        return 0;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < v.n; i++)
        h = (h ^ (unsigned char)v.p[i]) * 16777619u;
    return h ? h : 1;
}

static size_t sv_size(struct tld_sv s)
{
    return s.p ? s.n + 1 : 0;
}

static struct tld_sv sv_put(char **cur, struct tld_sv s)
{
    if (!s.p)
        return TLD_SV_NULL;
    char *p = *cur;
    if (s.n)
        memcpy(p, s.p, s.n);
    p[s.n] = '\0';
    *cur += s.n + 1;
    return tld_sv_make(p, s.n);
}

struct tld_corr_event *tld_corr_copy(const struct tld_event *ev, enum tld_category type,
                                     int64_t now, int matched)
{
    size_t size = sizeof(struct tld_corr_event) + ev->ndyn * sizeof(struct tld_dynfield);
    size += sv_size(ev->full_log) + sv_size(ev->log) + sv_size(ev->agent_id) +
            sv_size(ev->hostname) + sv_size(ev->location) + sv_size(ev->program_name);
    for (int f = 0; f < TLD_F_COUNT; f++)
        size += sv_size(ev->fields[f]);
    for (unsigned i = 0; i < ev->ndyn; i++)
        size += sv_size(ev->dyn[i].name) + sv_size(ev->dyn[i].value);
    struct tld_corr_event *e = malloc(size);
    if (!e)
        return NULL;
    memset(e, 0, sizeof *e);
    e->bytes = size;
    e->time = now;
    e->matched = matched;
    e->type = type;
    e->dyn = (struct tld_dynfield *)e->data;
    char *cur = e->data + ev->ndyn * sizeof(struct tld_dynfield);
    e->full_log = sv_put(&cur, ev->full_log);
    e->log = sv_put(&cur, ev->log);
    e->agent_id = sv_put(&cur, ev->agent_id);
    e->hostname = sv_put(&cur, ev->hostname);
    e->location = sv_put(&cur, ev->location);
    e->program_name = sv_put(&cur, ev->program_name);
    for (int f = 0; f < TLD_F_COUNT; f++)
        e->fields[f] = sv_put(&cur, ev->fields[f]);
    for (unsigned i = 0; i < ev->ndyn; i++) {
        e->dyn[i].name = sv_put(&cur, ev->dyn[i].name);
        e->dyn[i].value = sv_put(&cur, ev->dyn[i].value);
    }
    e->ndyn = ev->ndyn;
    e->agent_hash = value_hash(e->agent_id);
    e->srcip_hash = value_hash(e->fields[TLD_F_SRCIP]);
    return e;
}

/* ---- storing ---- */

static struct ring *ring_of(struct tld_corr *c, int list)
{
    if (list == GLOBAL_LIST)
        return &c->global;
    return (unsigned)list < c->nlists ? &c->lists[list] : NULL;
}

static void unlink_free(struct tld_corr *c, struct tld_corr_event *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    c->count--;
    c->bytes -= e->bytes;
    tld_corr_event_free(e);
}

static void remove_member(struct tld_corr_event *e, int list)
{
    for (unsigned i = 0; i < e->nmember; i++)
        if (e->member[i] == list) {
            e->member[i] = e->member[--e->nmember];
            return;
        }
}

static void drop_member(struct tld_corr *c, struct tld_corr_event *e, int list)
{
    remove_member(e, list);
    if (!e->nmember)
        unlink_free(c, e);
}

static struct slot *ring_at(const struct ring *r, uint64_t seq)
{
    return &r->v[seq & (r->cap - 1)];
}

static uint64_t ring_oldest(const struct ring *r)
{
    return r->next - r->n;
}

static struct tld_corr_event *ring_pop_oldest(struct ring *r)
{
    struct tld_corr_event *e = ring_at(r, ring_oldest(r))->e;
    r->n--;
    return e;
}

/* Append to a ring, dropping its oldest entry when full. false when out of memory. */
static bool ring_push(struct tld_corr *c, int list, struct tld_corr_event *e)
{
    struct ring *r = ring_of(c, list);
    if (!r)
        return false;
    if (!r->v) {
        r->cap = list == GLOBAL_LIST ? TLD_CORR_GLOBAL_MAX : TLD_CORR_LIST_MAX;
        r->v = calloc(r->cap, sizeof *r->v);
        r->bucket = calloc(IP_BUCKETS, sizeof *r->bucket);
        if (!r->v || !r->bucket) {
            free(r->v);
            free(r->bucket);
            r->v = NULL;
            r->bucket = NULL;
            return false;
        }
    }
    if (e->nmember == e->capmember &&
        tld_grow(&e->member, &e->capmember, e->nmember + 1, sizeof *e->member, 4))
        return false;
    if (r->n == r->cap) {
        struct tld_corr_event *old = ring_pop_oldest(r);
        if (old != e)
            drop_member(c, old, list);
        else
            remove_member(e, list); /* e itself fills the ring */
    }
    uint64_t seq = r->next++;
    struct slot *sl = ring_at(r, seq);
    *sl = (struct slot){e, e->time, e->agent_hash, e->srcip_hash, 0};
    if (e->srcip_hash) {
        uint64_t *head = &r->bucket[e->srcip_hash & (IP_BUCKETS - 1)];
        sl->prev_ip = *head;
        *head = seq + 1;
    }
    r->n++;
    e->member[e->nmember++] = list;
    return true;
}

/* Remove every occurrence of e from r, keeping the order of the others (and rebuilding the
 * srcip chains, whose sequence numbers change). */
static void ring_remove_all(struct ring *r, const struct tld_corr_event *e)
{
    uint64_t oldest = ring_oldest(r), keep = 0;
    for (uint64_t i = 0; i < r->n; i++) {
        struct slot x = *ring_at(r, oldest + i);
        if (x.e != e)
            *ring_at(r, oldest + keep++) = x;
    }
    r->n = (unsigned)keep;
    r->next = oldest + keep;
    memset(r->bucket, 0, IP_BUCKETS * sizeof *r->bucket);
    for (uint64_t seq = oldest; seq < r->next; seq++) {
        struct slot *sl = ring_at(r, seq);
        sl->prev_ip = 0;
        if (sl->srcip_hash) {
            uint64_t *head = &r->bucket[sl->srcip_hash & (IP_BUCKETS - 1)];
            sl->prev_ip = *head;
            *head = seq + 1;
        }
    }
}

/* Drop the oldest stored event from every list that holds it. */
static void evict_oldest(struct tld_corr *c)
{
    struct tld_corr_event *e = c->oldest;
    while (e->nmember) {
        struct ring *r = ring_of(c, e->member[--e->nmember]);
        if (!r || !r->n)
            continue;
        /* By the FIFO invariant e is at the oldest end of r; stay safe if it is not. */
        if (ring_at(r, ring_oldest(r))->e == e)
            ring_pop_oldest(r);
        else
            ring_remove_all(r, e);
    }
    unlink_free(c, e);
}

void tld_corr_store(struct tld_corr *c, struct tld_corr_event *e, const int *lists, unsigned n,
                    bool global)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest)
        c->newest->newer = e;
    else
        c->oldest = e;
    c->newest = e;
    c->count++;
    c->bytes += e->bytes;
    for (unsigned i = 0; i < n; i++)
        ring_push(c, lists[i], e);
    if (global)
        ring_push(c, GLOBAL_LIST, e);
    if (!e->nmember) {
        unlink_free(c, e);
        return;
    }
    while (c->bytes > TLD_CORR_MAX_BYTES && c->oldest && c->oldest != e)
        evict_oldest(c);
}

size_t tld_corr_stored(const struct tld_corr *c)
{
    return c->count;
}

size_t tld_corr_bytes(const struct tld_corr *c)
{
    return c->bytes;
}

/* ---- searching ---- */

static struct tld_sv dyn_find(const struct tld_dynfield *dyn, unsigned n, const struct dynname *k)
{
    struct tld_sv name = tld_sv_make(k->name, k->len);
    for (unsigned i = 0; i < n; i++)
        if (tld_sv_eq_nocase(dyn[i].name, name))
            return dyn[i].value;
    return TLD_SV_NULL;
}

/* Value of a same_/different_ slot in the current event and in a stored one. */
static void slot_values(const struct tld_event *ev, const struct tld_corr_event *e, int slot,
                        struct tld_sv *a, struct tld_sv *b)
{
    static const int field_of[CS_COUNT] = {
        [CS_SRCIP] = TLD_F_SRCIP,       [CS_ID] = TLD_F_ID,
        [CS_DSTIP] = TLD_F_DSTIP,       [CS_SRCPORT] = TLD_F_SRCPORT,
        [CS_DSTPORT] = TLD_F_DSTPORT,   [CS_SRCUSER] = TLD_F_SRCUSER,
        [CS_USER] = TLD_F_DSTUSER,      [CS_PROTOCOL] = TLD_F_PROTOCOL,
        [CS_ACTION] = TLD_F_ACTION,     [CS_URL] = TLD_F_URL,
        [CS_DATA] = TLD_F_DATA,         [CS_EXTRA_DATA] = TLD_F_EXTRA_DATA,
        [CS_STATUS] = TLD_F_STATUS,     [CS_SYSTEM_NAME] = TLD_F_SYSTEM_NAME,
        [CS_SRCGEOIP] = TLD_F_SRCGEOIP, [CS_DSTGEOIP] = TLD_F_DSTGEOIP,
    };
    if (slot == CS_LOCATION) {
        *a = ev->location;
        *b = e->location;
    } else {
        *a = ev->fields[field_of[slot]];
        *b = e->fields[field_of[slot]];
    }
}

/* The same_/different_ filters; false means "skip this stored event". */
static bool filters_pass(const struct rule_body *b, const struct tld_event *ev,
                         const struct tld_corr_event *e)
{
    for (uint32_t m = b->same_mask; m; m &= m - 1) {
        struct tld_sv x, y;
        slot_values(ev, e, __builtin_ctz(m), &x, &y);
        if (!x.p || !y.p || !tld_sv_eq(x, y))
            return false;
    }
    for (uint32_t m = b->diff_mask; m; m &= m - 1) {
        struct tld_sv x, y;
        slot_values(ev, e, __builtin_ctz(m), &x, &y);
        if (x.p && y.p && tld_sv_eq(x, y))
            return false;
    }
    if (b->nsame_fields) {
        if (!ev->ndyn || !e->ndyn)
            return false;
        for (unsigned i = 0; i < b->nsame_fields; i++) {
            struct tld_sv x = dyn_find(ev->dyn, ev->ndyn, &b->same_fields[i]);
            struct tld_sv y = dyn_find(e->dyn, e->ndyn, &b->same_fields[i]);
            if (!x.p || !y.p || !tld_sv_eq(x, y))
                return false;
        }
    }
    if (b->ndiff_fields) {
        if (!ev->ndyn && !e->ndyn)
            return false;
        for (unsigned i = 0; i < b->ndiff_fields; i++) {
            struct tld_sv x = dyn_find(ev->dyn, ev->ndyn, &b->diff_fields[i]);
            struct tld_sv y = dyn_find(e->dyn, e->ndyn, &b->diff_fields[i]);
            if (x.p && y.p && tld_sv_eq(x, y))
                return false;
        }
    }
    return true;
}

bool tld_corr_search(struct tld_corr *c, const struct tld_rule *f, struct tld_corr_query *q)
{
    const struct tld_rule_impl *im = f->impl;
    const struct rule_body *b = &im->b;
    bool global = im->search == SEARCH_GLOBAL;
    struct ring *r = global                 ? &c->global
                     : im->search_list >= 0 ? ring_of(c, im->search_list)
                                            : NULL;
    if (!r || !r->n)
        return false;
    const struct tld_event *ev = q->ev;
    unsigned count = 0;
    struct tld_corr_event *first = NULL;
    uint32_t agent = value_hash(ev->agent_id);
    uint32_t srcip = (b->same_mask & (1u << CS_SRCIP)) ? value_hash(ev->fields[TLD_F_SRCIP]) : 0;
    bool by_agent = !b->global_frequency;
    if ((by_agent && !agent) || ((b->same_mask & (1u << CS_SRCIP)) && !srcip))
        return false; /* every stored event would be skipped */
    /* Newest to oldest: every slot, or (same_srcip) only the slots of the srcip's chain. */
    uint64_t oldest = ring_oldest(r);
    uint64_t at = srcip ? r->bucket[srcip & (IP_BUCKETS - 1)] : r->next;
    while (at > oldest) {
        const struct slot *sl = ring_at(r, at - 1);
        at = srcip ? sl->prev_ip : at - 1;
        if (q->now - sl->time > (int64_t)f->timeframe)
            return false;
        /* (4.14.7 loops forever on an agent mismatch in the global list; we skip.) */
        if ((by_agent && sl->agent_hash != agent) || (srcip && sl->srcip_hash != srcip))
            continue;
        struct tld_corr_event *e = sl->e;
        if (by_agent && !tld_sv_eq(e->agent_id, ev->agent_id))
            continue;
        if (global) {
            if (e->type != q->type)
                continue;
            if (b->if_matched_regex && !tld_rx_match(b->if_matched_regex, e->log.p ? e->log.p : "",
                                                     e->log.n, NULL, q->scratch))
                continue;
        }
        if (!filters_pass(b, ev, e))
            continue;
        if (e->matched >= (int)f->level)
            return false; /* already used by a correlation of this level or higher */
        if (!global)
            tld_rule_hit_prev_add(q->hit, count, e->full_log);
        if (count < b->freq) {
            if (global)
                tld_rule_hit_prev_add(q->hit, count, e->full_log);
            count++;
            if (!first)
                first = e;
            continue;
        }
        *q->matched = (int)f->level;
        if (first)
            first->matched = (int)f->level;
        return true;
    }
    return false;
}
