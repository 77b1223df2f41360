/*
 * Rule set life cycle, the id index and rule look-ups (see rule.h). Loading lives in
 * rule_load.c/rule_opts.c, the tree in rule_tree.c, matching in rule_eval.c.
 *
 * The id index is an open-addressing table of rule numbers kept at most half full; it is rebuilt
 * from the rules array when a file is rolled back (rare), which keeps removal out of the table.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"
#include "engine/regex/regex.h"
#include "engine/rules/rule_impl.h"

struct tld_rules_env tld_rules_env_default(void)
{
    return (struct tld_rules_env){
        .default_timeframe = TLD_RULES_DEFAULT_TIMEFRAME,
        .log_alert_level = TLD_RULES_DEFAULT_LOG_LEVEL,
        .email_alert_level = TLD_RULES_DEFAULT_EMAIL_LEVEL,
    };
}

int tld_rules_new(const struct tld_rules_env *env, struct tld_rules **out)
{
    struct tld_rules *rs = calloc(1, sizeof *rs);
    if (!rs)
        return TLD_ENOMEM;
    rs->env = env ? *env : tld_rules_env_default();
    *out = rs;
    return 0;
}

int file_store_add(struct file_store *fs, void (*fn)(void *), void *p)
{
    if (tld_grow(&fs->res, &fs->capres, fs->nres + 1, sizeof *fs->res, 32)) {
        fn(p);
        return TLD_ENOMEM;
    }
    fs->res[fs->nres++] = (struct res){fn, p};
    return 0;
}

void file_store_free(struct file_store *fs)
{
    while (fs) {
        struct file_store *next = fs->next;
        for (unsigned i = fs->nres; i > 0; i--)
            fs->res[i - 1].fn(fs->res[i - 1].p);
        free(fs->res);
        tld_arena_fini(&fs->arena);
        free(fs);
        fs = next;
    }
}

void tld_rules_free(struct tld_rules *rules)
{
    if (!rules)
        return;
    tree_free(rules);
    for (unsigned i = 0; i < rules->nrules; i++)
        free(rules->rules[i]->impl->store_groups);
    free(rules->rules);
    free(rules->ididx);
    file_store_free(rules->files);
    free(rules);
}

static uint32_t id_slot(unsigned id, unsigned cap)
{
    return (uint32_t)((id * 2654435761u) & (cap - 1));
}

static void index_put(struct tld_rules *rs, unsigned index)
{
    uint32_t i = id_slot(rs->rules[index]->id, rs->ididx_cap);
    while (rs->ididx[i])
        i = (i + 1) & (rs->ididx_cap - 1);
    rs->ididx[i] = index + 1;
}

static int index_grow(struct tld_rules *rs, unsigned want)
{
    unsigned cap = 64;
    while (cap < want * 2)
        cap *= 2;
    if (cap <= rs->ididx_cap)
        return 0;
    uint32_t *v = calloc(cap, sizeof *v);
    if (!v)
        return TLD_ENOMEM;
    free(rs->ididx);
    rs->ididx = v;
    rs->ididx_cap = cap;
    for (unsigned i = 0; i < rs->nrules; i++)
        index_put(rs, i);
    return 0;
}

void rules_index_rebuild(struct tld_rules *rs)
{
    if (rs->ididx)
        memset(rs->ididx, 0, rs->ididx_cap * sizeof *rs->ididx);
    for (unsigned i = 0; i < rs->nrules; i++)
        index_put(rs, i);
}

/* Append a rule to the rules array and the id index. */
int rules_index_add(struct tld_rules *rs, struct tld_rule *r)
{
    if (rs->nrules >= TLD_RULES_MAX)
        return TLD_ELIMIT;
    if (tld_grow(&rs->rules, &rs->caprules, rs->nrules + 1, sizeof *rs->rules, 256))
        return TLD_ENOMEM;
    if ((rs->nrules + 1) * 2 > rs->ididx_cap && index_grow(rs, rs->nrules + 1))
        return TLD_ENOMEM;
    r->index = rs->nrules;
    rs->rules[rs->nrules++] = r;
    index_put(rs, r->index);
    return 0;
}

struct tld_rule *rules_find_mut(const struct tld_rules *rs, unsigned id)
{
    if (!rs->ididx)
        return NULL;
    for (uint32_t i = id_slot(id, rs->ididx_cap);; i = (i + 1) & (rs->ididx_cap - 1)) {
        uint32_t s = rs->ididx[i];
        if (!s)
            return NULL;
        if (rs->rules[s - 1]->id == id)
            return rs->rules[s - 1];
    }
}

unsigned tld_rules_count(const struct tld_rules *rules)
{
    return rules->nrules;
}

const struct tld_rule *tld_rules_at(const struct tld_rules *rules, unsigned index)
{
    return index < rules->nrules ? rules->rules[index] : NULL;
}

const struct tld_rule *tld_rules_find(const struct tld_rules *rules, unsigned id)
{
    return rules_find_mut(rules, id);
}

int tld_rules_finish(struct tld_rules *rules)
{
    if (rules->finished)
        return 0;
    int err = tree_finish(rules);
    if (err)
        return err;
    for (unsigned i = 0; i < rules->nrules; i++) {
        const struct tld_rule_impl *im = rules->rules[i]->impl;
        if (im->search == SEARCH_GLOBAL)
            rules->has_global_search = true;
        if (im->b.if_fts)
            rules->has_fts = true;
        if (im->b.check_diff)
            rules->has_diff = true;
    }
    rules->finished = true;
    return 0;
}

/* The bytes of w with ASCII upper-case letters made lower-case (bytes >= 0x80 are kept). */
static inline uint64_t fold8(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t low7 = w & ~high;
    uint64_t ge_a = low7 + ones * (0x80 - 'A');     /* bit 7 set: byte >= 'A' */
    uint64_t gt_z = low7 + ones * (0x80 - 'Z' - 1); /* bit 7 set: byte > 'Z' */
    uint64_t upper = ge_a & ~gt_z & ~w & high;
    return w | upper >> 2;
}

/* Case-insensitive hash of a field name (or of a value a rule compares with a literal), from
 * its length and its first and last eight bytes: it runs for every dynamic field of every event
 * whose rules look fields up by name, and names of one event mostly differ in length or at an
 * end ("docker.Actor.Attributes.name" / "...image"). Names alike in all three only share a
 * slot; every lookup still compares the whole name. */
uint32_t dynname_hash(const char *p, size_t n)
{
    uint64_t head = 0, tail = 0;
    if (n >= 8) {
        memcpy(&head, p, 8);
        memcpy(&tail, p + n - 8, 8);
    } else {
        for (size_t i = 0; i < n; i++)
            head |= (uint64_t)(unsigned char)p[i] << (8 * i);
    }
    uint64_t h = (fold8(head) * 0x9E3779B97F4A7C15ull) ^ (fold8(tail) * 0xC2B2AE3D27D4EB4Full) ^ n;
    h ^= h >> 32;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 29;
    return (uint32_t)h;
}
