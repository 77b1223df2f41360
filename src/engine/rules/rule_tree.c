/*
 * The rule tree (rules.md §4): sibling order, attachment by if_sid / if_level / if_group /
 * category, overwrite, correlation-list bindings, and the undo log that makes a file's load
 * all-or-nothing.
 *
 * Invariants. Every list of siblings is sorted by sort_level, highest first, equal keys in load
 * order; the position is decided at insertion and never revisited (an overwrite that changes the
 * level does not move the rule). A rule may sit at several places (one struct rnode each) but is
 * one struct tld_rule. Parents are always loaded before their children, so the tree has no cycles;
 * its depth is bounded by TLD_RULES_MAX_DEPTH and its size by TLD_RULES_MAX_NODES.
 *
 * Every change a file makes to objects that existed before it (a node inserted under an older
 * rule, an overwritten rule, a correlation list bound to an older rule) is recorded; rollback
 * replays the records backwards and then drops everything created by the file.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"
#include "engine/regex/regex.h"
#include "engine/rules/rule_load.h"

enum undo_kind { U_INSERT, U_OVERWRITE, U_SIDLIST, U_GROUPS };

struct undo_rec {
    enum undo_kind kind;
    struct rnode *parent; /* U_INSERT; NULL = top level */
    struct rnode *node;
    struct tld_rule *rule;
    struct tld_rule saved_pub; /* U_OVERWRITE */
    struct rule_body saved_body;
    int old_sid;    /* U_SIDLIST */
    unsigned old_n; /* U_GROUPS */
};

struct undo_log {
    struct vec recs;
    unsigned nrules, nnodes, ncorr;
};

struct undo_log *undo_new(void)
{
    return calloc(1, sizeof(struct undo_log));
}

void undo_free(struct undo_log *u)
{
    if (!u)
        return;
    vec_free(&u->recs);
    free(u);
}

void undo_mark(struct tld_rules *rs, struct undo_log *u)
{
    u->recs.n = 0;
    u->nrules = rs->nrules;
    u->nnodes = rs->nnodes;
    u->ncorr = rs->ncorr_lists;
}

static struct undo_rec *undo_push(struct load_ctx *lc, enum undo_kind kind)
{
    struct undo_rec *r = vec_push(&lc->undo->recs, sizeof *r);
    if (r)
        r->kind = kind;
    return r;
}

static void kids_remove(struct rnode ***kids, unsigned *n, struct rnode *node)
{
    for (unsigned i = *n; i > 0; i--) {
        if ((*kids)[i - 1] != node)
            continue;
        memmove(&(*kids)[i - 1], &(*kids)[i], (*n - i) * sizeof **kids);
        (*n)--;
        return;
    }
}

static void node_free(struct rnode *n)
{
    free(n->kids);
    free(n->kf);
    free(n->kany);
    free(n->kdec);
    free(n);
}

void undo_rollback(struct tld_rules *rs, struct undo_log *u)
{
    struct undo_rec *recs = u->recs.p;
    for (unsigned i = u->recs.n; i > 0; i--) {
        struct undo_rec *r = &recs[i - 1];
        switch (r->kind) {
        case U_INSERT:
            if (r->parent)
                kids_remove(&r->parent->kids, &r->parent->nkids, r->node);
            else
                kids_remove(&rs->top, &rs->ntop, r->node);
            break;
        case U_OVERWRITE:
            *r->rule = r->saved_pub;
            r->rule->impl->b = r->saved_body;
            break;
        case U_SIDLIST:
            r->rule->impl->store_sid_list = r->old_sid;
            break;
        case U_GROUPS:
            r->rule->impl->nstore_groups = r->old_n;
            break;
        }
    }
    for (unsigned i = u->nnodes; i < rs->nnodes; i++)
        node_free(rs->nodes[i]);
    rs->nnodes = u->nnodes;
    for (unsigned i = u->nrules; i < rs->nrules; i++)
        free(rs->rules[i]->impl->store_groups);
    rs->nrules = u->nrules;
    rules_index_rebuild(rs);
    rs->ncorr_lists = u->ncorr;
    u->recs.n = 0;
}

/* ---- insertion ---- */

static int kids_insert(struct rnode ***kids, unsigned *n, unsigned *cap, struct rnode *node)
{
    if (tld_grow(kids, cap, *n + 1, sizeof **kids, 4))
        return TLD_ENOMEM;
    unsigned key = node->rule->impl->b.sort_level, at = *n;
    for (unsigned i = 0; i < *n; i++)
        if (key > (*kids)[i]->rule->impl->b.sort_level) {
            at = i;
            break;
        }
    memmove(&(*kids)[at + 1], &(*kids)[at], (*n - at) * sizeof **kids);
    (*kids)[at] = node;
    (*n)++;
    return 0;
}

static int place(struct load_ctx *lc, struct rnode *parent, struct tld_rule *r)
{
    struct tld_rules *rs = lc->rs;
    if (rs->nnodes >= TLD_RULES_MAX_NODES)
        return TLD_ELIMIT;
    if (tld_grow(&rs->nodes, &rs->capnodes, rs->nnodes + 1, sizeof *rs->nodes, 1024))
        return TLD_ENOMEM;
    struct rnode *node = calloc(1, sizeof *node);
    struct undo_rec *u = undo_push(lc, U_INSERT);
    if (!node || !u) {
        free(node);
        return TLD_ENOMEM;
    }
    node->rule = r;
    node->parent = parent;
    node->depth = parent ? parent->depth + 1 : 0;
    int err = parent ? kids_insert(&parent->kids, &parent->nkids, &parent->capkids, node)
                     : kids_insert(&rs->top, &rs->ntop, &rs->captop, node);
    if (err) {
        lc->undo->recs.n--;
        free(node);
        return err;
    }
    u->parent = parent;
    u->node = node;
    rs->nodes[rs->nnodes++] = node;
    r->impl->nplaces++;
    return 0;
}

/* ---- finding parents ---- */

/*
 * Places of rule `sid`, depth first. Within one list of siblings the first holder ends the scan
 * of that list (its own children are not searched), but holders found below a sibling do not:
 * so a rule that sits in several branches gets the child in each of them.
 */
static bool find_sid(struct rnode **list, unsigned n, unsigned sid, struct vec *out)
{
    bool found = false;
    for (unsigned i = 0; i < n; i++) {
        struct rnode *node = list[i];
        if (node->rule->id == sid) {
            struct rnode **slot = vec_push(out, sizeof *slot);
            if (slot)
                *slot = node;
            return true;
        }
        if (node->nkids && find_sid(node->kids, node->nkids, sid, out))
            found = true;
    }
    return found;
}

struct walk {
    const struct tld_rule *self;
    unsigned level;    /* if_level: internal level threshold */
    const char *group; /* if_group expression */
    size_t group_len;
    struct vec *out;
};

/* Every place (anywhere, not the rule itself) whose rule passes the if_level/if_group test. */
static void find_all(struct rnode **list, unsigned n, const struct walk *w)
{
    for (unsigned i = 0; i < n; i++) {
        struct rnode *node = list[i];
        const struct tld_rule *r = node->rule;
        bool hit;
        if (w->group)
            hit = tld_rx_group_match(w->group, w->group_len, r->groups, strlen(r->groups));
        else
            hit = r->impl->b.sort_level >= w->level;
        if (hit && r->id != w->self->id) {
            struct rnode **slot = vec_push(w->out, sizeof *slot);
            if (slot)
                *slot = node;
        }
        if (node->nkids)
            find_all(node->kids, node->nkids, w);
    }
}

/* The first template of the rule's category. */
static struct rnode *find_category(struct tld_rules *rs, enum tld_category c)
{
    for (unsigned i = 0; i < rs->ntop; i++)
        if (rs->top[i]->rule->category == c)
            return rs->top[i];
    return NULL;
}

/* Parents for if_sid; *skipped when the rule must be skipped (a warning was given), TLD_EPARSE
 * when it can never attach (an error was reported). */
static int sid_parents(struct load_ctx *lc, struct tld_rule *r, struct vec *parents, bool *skipped)
{
    struct tld_rules *rs = lc->rs;
    const struct tld_rule_impl *im = r->impl;
    bool in_id = false;
    /* Each run of digits is an id. The end of the text after a separator reads as id 0, which
     * (as in 4.14.7) attaches the rule under its category's template. */
    for (const char *p = im->if_sid;; p++) {
        char c = *p;
        if (c == ',' || c == ' ') {
            in_id = false;
        } else if (!in_id) {
            in_id = true;
            unsigned long sid = strtoul(p, NULL, 10);
            bool found = false;
            if (sid == 0) {
                struct rnode *t = find_category(rs, r->category);
                struct rnode **slot = t ? vec_push(parents, sizeof *slot) : NULL;
                if (slot) {
                    *slot = t;
                    found = true;
                }
            } else if (sid <= 999999 && find_sid(rs->top, rs->ntop, (unsigned)sid, parents)) {
                found = true;
                r->category = ((struct rnode **)parents->p)[parents->n - 1]->rule->category;
            }
            if (!found && im->if_matched_sid) {
                lc_warn(lc, r->line, "rule %u: if_matched_sid rule %lu not found; rule skipped",
                        r->id, sid);
                *skipped = true;
                return 0;
            }
            if (!found)
                lc_warn(lc, r->line, "rule %u: if_sid rule %lu not found", r->id, sid);
        }
        if (c == '\0')
            break;
    }
    if (!parents->n) {
        /* Wazuh skips such a rule with a warning; a rule that can never attach is a mistake in
         * the ruleset, so the load fails (docs/compatibility.md). */
        lc_error(lc, r->line, "rule %u: <if_sid> '%s': no such rule is loaded", r->id, im->if_sid);
        return TLD_EPARSE;
    }
    return 0;
}

int tree_attach(struct load_ctx *lc, struct tld_rule *r, bool *skipped)
{
    struct tld_rules *rs = lc->rs;
    const struct tld_rule_impl *im = r->impl;
    struct vec parents = {0};
    bool top = r->id < 10;
    int rc = 0;
    *skipped = false;
    if (top) {
        /* templates go to the top level */
    } else if (im->if_sid) {
        rc = sid_parents(lc, r, &parents, skipped);
    } else if (im->if_level) {
        unsigned long lvl = strtoul(im->if_level, NULL, 10);
        if (lvl == 0) {
            lc_warn(lc, r->line, "rule %u: invalid <if_level> '%s'; rule skipped", r->id,
                    im->if_level);
            *skipped = true;
        } else {
            struct walk w = {
                .self = r, .level = lvl > 1000 ? 100000 : (unsigned)lvl * 100, .out = &parents};
            find_all(rs->top, rs->ntop, &w);
            if (!parents.n) {
                lc_warn(lc, r->line,
                        "rule %u: no rule with level >= %lu for <if_level>; rule "
                        "skipped",
                        r->id, lvl);
                *skipped = true;
            }
        }
    } else if (im->if_group) {
        struct walk w = {
            .self = r, .group = im->if_group, .group_len = strlen(im->if_group), .out = &parents};
        find_all(rs->top, rs->ntop, &w);
        if (!parents.n) {
            lc_warn(lc, r->line, "rule %u: no rule in group '%s' for <if_group>; rule skipped",
                    r->id, im->if_group);
            *skipped = true;
        }
    } else {
        struct rnode *t = find_category(rs, r->category);
        struct rnode **slot = t ? vec_push(&parents, sizeof *slot) : NULL;
        if (slot)
            *slot = t;
        else {
            lc_warn(lc, r->line, "rule %u: no template rule for category %s; rule skipped", r->id,
                    tld_category_name(r->category));
            *skipped = true;
        }
    }
    if (rc || *skipped)
        goto out;

    /* Places deeper than the bound are dropped (with a warning). */
    struct rnode **pv = parents.p;
    unsigned keep = 0;
    for (unsigned i = 0; i < parents.n; i++) {
        if (pv[i]->depth + 1 >= TLD_RULES_MAX_DEPTH) {
            lc_warn(lc, r->line, "rule %u: tree deeper than %d under rule %u; place dropped", r->id,
                    TLD_RULES_MAX_DEPTH, pv[i]->rule->id);
            continue;
        }
        pv[keep++] = pv[i];
    }
    if (!top && !keep) {
        *skipped = true;
        goto out;
    }
    rc = rules_index_add(rs, r);
    if (rc)
        goto out;
    if (top)
        rc = place(lc, NULL, r);
    for (unsigned i = 0; i < keep && !rc; i++)
        rc = place(lc, pv[i], r);
out:
    vec_free(&parents);
    return rc;
}

static bool str_differs(const char *a, const char *b)
{
    return !a || !b || strcmp(a, b) != 0;
}

int tree_overwrite(struct load_ctx *lc, struct tld_rule *old, const struct tld_rule *newr,
                   const struct tld_rule_impl *ni)
{
    struct tld_rule_impl *oi = old->impl;
    struct undo_rec *u = undo_push(lc, U_OVERWRITE);
    if (!u)
        return TLD_ENOMEM;
    u->rule = old;
    u->saved_pub = *old;
    u->saved_body = oi->b;

    if (ni->if_sid && !ni->if_matched_sid && str_differs(oi->if_sid, ni->if_sid))
        lc_warn(lc, newr->line, "rule %u: overwrite cannot change <if_sid>; kept", old->id);
    if (ni->if_group && !ni->if_matched_group && str_differs(oi->if_group, ni->if_group))
        lc_warn(lc, newr->line, "rule %u: overwrite cannot change <if_group>; kept", old->id);
    if (ni->if_level && str_differs(oi->if_level, ni->if_level))
        lc_warn(lc, newr->line, "rule %u: overwrite cannot change <if_level>; kept", old->id);
    if (ni->if_matched_group && str_differs(oi->if_matched_group, ni->if_matched_group))
        lc_warn(lc, newr->line, "rule %u: overwrite cannot change <if_matched_group>; kept",
                old->id);
    if (ni->if_matched_sid && oi->if_matched_sid != ni->if_matched_sid)
        lc_warn(lc, newr->line, "rule %u: overwrite cannot change <if_matched_sid>; kept", old->id);

    old->level = newr->level;
    old->description = newr->description;
    old->groups = newr->groups;
    old->mitre_ids = newr->mitre_ids;
    old->n_mitre_ids = newr->n_mitre_ids;
    old->mitre_pairs = newr->mitre_pairs;
    old->n_mitre_pairs = newr->n_mitre_pairs;
    old->info = newr->info;
    old->cve = newr->cve;
    old->options = newr->options;
    old->mail = newr->mail;
    old->log = newr->log;
    old->frequency = newr->frequency;
    old->category = newr->category;
    old->timeframe = newr->timeframe;
    old->ignore = newr->ignore;
    old->maxsize = newr->maxsize;
    old->noalert = newr->noalert;
    old->file = newr->file;
    old->line = newr->line;
    oi->b = ni->b;
    return 0;
}

/* ---- correlation bindings (rules.md §6) ---- */

static int store_group(struct load_ctx *lc, struct tld_rule *target, int list, unsigned times)
{
    struct tld_rule_impl *ti = target->impl;
    struct undo_rec *u = undo_push(lc, U_GROUPS);
    if (!u)
        return TLD_ENOMEM;
    u->rule = target;
    u->old_n = ti->nstore_groups;
    for (unsigned k = 0; k < times; k++) {
        if (tld_grow(&ti->store_groups, &ti->capstore, ti->nstore_groups + 1,
                     sizeof *ti->store_groups, 4))
            return TLD_ENOMEM;
        ti->store_groups[ti->nstore_groups++] = list;
    }
    return 0;
}

int tree_bind_correlation(struct load_ctx *lc, struct tld_rule *r)
{
    struct tld_rules *rs = lc->rs;
    struct tld_rule_impl *im = r->impl;
    if (im->if_matched_sid) {
        im->search = SEARCH_SID;
        struct tld_rule *target = rules_find_mut(rs, im->if_matched_sid);
        if (target) {
            struct tld_rule_impl *ti = target->impl;
            if (ti->store_sid_list < 0) {
                struct undo_rec *u = undo_push(lc, U_SIDLIST);
                if (!u)
                    return TLD_ENOMEM;
                u->rule = target;
                u->old_sid = ti->store_sid_list;
                ti->store_sid_list = (int)rs->ncorr_lists++;
            }
            im->search_list = ti->store_sid_list;
        }
    } else if (im->if_matched_group) {
        im->search = SEARCH_GROUP;
        im->search_list = (int)rs->ncorr_lists++;
        /* Each place of a matching rule feeds the list once, as every tree node is marked. */
        for (unsigned i = 0; i < rs->nrules; i++) {
            struct tld_rule *t = rs->rules[i];
            if (!t->impl->nplaces ||
                !tld_rx_match(im->if_matched_group_rx, t->groups, strlen(t->groups), NULL, NULL))
                continue;
            int err = store_group(lc, t, im->search_list, t->impl->nplaces);
            if (err)
                return err;
        }
    } else if (im->b.context && !im->b.check_diff) {
        im->search = SEARCH_GLOBAL;
    }
    r->correlation = im->search != SEARCH_NONE;
    return 0;
}

/* ---- finish / free ---- */

static int kid_dec_cmp(const void *a, const void *b)
{
    const struct kid_dec *x = a, *y = b;
    if (x->decoded_as != y->decoded_as)
        return x->decoded_as < y->decoded_as ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int kid_index(struct rnode *n)
{
    unsigned ndec = 0;
    for (unsigned k = 0; k < n->nkids; k++)
        ndec += n->kf[k].decoded_as >= 0;
    if (ndec < KID_INDEX_MIN)
        return 0; /* few to skip: the plain loop is cheaper than the merge */
    n->kany = malloc(n->nkids * sizeof *n->kany);
    n->kdec = malloc(n->nkids * sizeof *n->kdec);
    if (!n->kany || !n->kdec)
        return TLD_ENOMEM;
    for (unsigned k = 0; k < n->nkids; k++) {
        if (n->kf[k].decoded_as < 0)
            n->kany[n->nkany++] = k;
        else
            n->kdec[n->nkdec++] = (struct kid_dec){n->kf[k].decoded_as, k};
    }
    qsort(n->kdec, n->nkdec, sizeof *n->kdec, kid_dec_cmp);
    return 0;
}

/* When t accepts only one literal value of a field, that literal. Every pure test must pass for
 * a rule to match, so a kid whose literal differs from the event's value cannot match (negated
 * tests excluded; an absent dynamic field fails the test anyway, see run_test). */
static bool literal_of(const struct rtest *t, const char **lit, size_t *n)
{
    return !t->negate && (t->kind == RT_FIELD || t->kind == RT_DYN) && t->rx &&
           tld_rx_only_literal(t->rx, lit, n);
}

/* The next test of b from *i on that accepts one literal, with that literal; NULL at the end. */
static const struct rtest *next_literal(const struct rule_body *b, unsigned *i, const char **lit,
                                        size_t *n)
{
    while (*i < b->ntests) {
        const struct rtest *t = &b->tests[(*i)++];
        if (literal_of(t, lit, n))
            return t;
    }
    return NULL;
}

static bool same_key(const struct kid_key *k, const struct rtest *t)
{
    if (k->kind != t->kind)
        return false;
    if (t->kind == RT_FIELD)
        return k->field == t->field;
    return k->dyn.len == t->dyn.len && k->dyn.hash == t->dyn.hash &&
           tld_sv_eq_nocase(tld_sv_make(k->dyn.name, k->dyn.len),
                            tld_sv_make(t->dyn.name, t->dyn.len));
}

/* A field the kids test for literals, while choosing the node's keys. */
struct key_cand {
    struct kid_key key;
    unsigned kids;     /* kids with a literal test on it */
    unsigned distinct; /* distinct literal hashes among them (up to 64 kept) */
    uint32_t seen[64];
};

static void cand_add(struct key_cand *c, uint32_t h)
{
    c->kids++;
    unsigned kept = c->distinct < 64 ? c->distinct : 64;
    for (unsigned i = 0; i < kept; i++)
        if (c->seen[i] == h)
            return;
    if (c->distinct < 64)
        c->seen[c->distinct] = h;
    c->distinct++;
}

/*
 * Chooses the node's keys: the fields that at least KID_KEY_MIN kids test for a literal, with
 * at least two different literals, most distinct literals first. Each kid then filters on the
 * key among its literal tests that splits the siblings best ("docker.Action" rather than
 * "docker.Type" when a kid tests both).
 */
static int kid_keys(struct rnode *n)
{
    enum { NCAND = 8 };
    if (n->nkids < KID_KEY_MIN)
        return 0;
    struct key_cand *cand = calloc(NCAND, sizeof *cand);
    if (!cand)
        return TLD_ENOMEM;
    unsigned ncand = 0;
    const struct rtest *t;
    const char *lit;
    size_t len;
    for (unsigned k = 0; k < n->nkids; k++) {
        const struct rule_body *b = &n->kids[k]->rule->impl->b;
        for (unsigned i = 0; (t = next_literal(b, &i, &lit, &len)) != NULL;) {
            unsigned c = 0;
            while (c < ncand && !same_key(&cand[c].key, t))
                c++;
            if (c == ncand) {
                if (ncand == NCAND)
                    continue;
                cand[ncand++].key = (struct kid_key){t->kind, t->field, t->dyn};
            }
            cand_add(&cand[c], dynname_hash(lit, len));
        }
    }
    while (n->nkeys < KID_KEYS_MAX) {
        int best = -1;
        for (unsigned c = 0; c < ncand; c++)
            if (cand[c].kids >= KID_KEY_MIN && cand[c].distinct >= 2 &&
                (best < 0 || cand[c].distinct > cand[best].distinct))
                best = (int)c;
        if (best < 0)
            break;
        n->keys[n->nkeys++] = cand[best].key;
        cand[best].kids = 0; /* taken */
    }
    for (unsigned k = 0; k < n->nkids && n->nkeys; k++) {
        const struct rule_body *b = &n->kids[k]->rule->impl->b;
        for (unsigned i = 0; (t = next_literal(b, &i, &lit, &len)) != NULL;) {
            for (unsigned j = 0; j < n->nkeys; j++) {
                /* keys[] is ordered best first: keep the kid's best key. */
                if (same_key(&n->keys[j], t) && (!n->kf[k].key || j + 1 < n->kf[k].key)) {
                    n->kf[k].key = (uint8_t)(j + 1);
                    n->kf[k].key_hash = dynname_hash(lit, len);
                }
            }
        }
    }
    free(cand);
    return 0;
}

/* What a parent (or the top-level loop) tests before touching the rule itself. */
static struct kid_filter filter_of(const struct rule_body *b)
{
    struct kid_filter f = {.decoded_as = b->decoded_as, .need = b->need};
    /* run_test fails a dynamic-field test, negated or not, when the field is absent. */
    for (unsigned i = 0; i < b->ntests && !f.dynbit; i++)
        if (b->tests[i].kind == RT_DYN)
            f.dynbit = (uint16_t)(1 + DYN_BLOOM_BIT(b->tests[i].dyn.hash));
    return f;
}

int tree_finish(struct tld_rules *rs)
{
    for (unsigned i = 0; i < rs->nnodes; i++) {
        struct rnode *n = rs->nodes[i];
        if (!n->nkids)
            continue;
        n->kf = malloc(n->nkids * sizeof *n->kf);
        if (!n->kf)
            return TLD_ENOMEM;
        for (unsigned k = 0; k < n->nkids; k++)
            n->kf[k] = filter_of(&n->kids[k]->rule->impl->b);
        int err = kid_keys(n);
        if (!err)
            err = kid_index(n);
        if (err)
            return err;
    }
    for (int c = 0; c < TLD_CAT_COUNT; c++) {
        unsigned n = 0;
        for (unsigned i = 0; i < rs->ntop; i++)
            n += rs->top[i]->rule->category == (enum tld_category)c;
        if (!n)
            continue;
        rs->cat_top[c] = malloc(n * sizeof *rs->cat_top[c]);
        rs->cat_kf[c] = malloc(n * sizeof *rs->cat_kf[c]);
        if (!rs->cat_top[c] || !rs->cat_kf[c])
            return TLD_ENOMEM;
        for (unsigned i = 0; i < rs->ntop; i++) {
            if (rs->top[i]->rule->category != (enum tld_category)c)
                continue;
            rs->cat_kf[c][rs->ncat_top[c]] = filter_of(&rs->top[i]->rule->impl->b);
            rs->cat_top[c][rs->ncat_top[c]++] = rs->top[i];
        }
    }
    return 0;
}

void tree_free(struct tld_rules *rs)
{
    for (unsigned i = 0; i < rs->nnodes; i++)
        node_free(rs->nodes[i]);
    free(rs->nodes);
    free(rs->top);
    for (int c = 0; c < TLD_CAT_COUNT; c++) {
        free(rs->cat_top[c]);
        free(rs->cat_kf[c]);
    }
}
