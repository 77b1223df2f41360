/*
 * The decoding phase of one event (decoders.md §4–§5 and §10).
 *
 * The walk follows the specified algorithm literally because alerts depend on its quirks: the
 * first root whose program name and prematch match is final even if nothing else matches; a
 * root with children never runs its own regex or plugin; a prematch-less child runs but leaves
 * the root selected; same-name siblings form a regex chain. Captured values are views into the
 * event's `log`, which outlives the event's processing, so nothing is copied on the hot path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "engine/decode/decoder_impl.h"

/* Cursors of the decoding walk, as absolute offsets into ev->log. */
struct cursors {
    size_t ap; /* after the root's prematch (or 0) */
    size_t am; /* after the selected child's prematch */
    size_t ar; /* after the last matching regex of the chain */
    bool ar_valid;
    bool has_evt_after_parent; /* a child was selected by its prematch */
    size_t evt_after_parent;
    size_t evt_after_prematch;
};

void tld_decoder_assign(struct tld_event *ev, const struct dec_order *o, struct tld_sv value)
{
    if (o->field >= 0)
        tld_event_set(ev, (enum tld_field)o->field, value);
    else
        tld_event_add(ev, o->name, value);
}

static size_t subject_start(const struct dec *h, const struct cursors *c)
{
    switch (h->regex_offset) {
    case DEC_OFF_AFTER_PARENT:
        return c->ap;
    case DEC_OFF_AFTER_PREMATCH:
        return c->am;
    case DEC_OFF_AFTER_REGEX:
        return c->ar_valid ? c->ar : c->am;
    case DEC_OFF_NONE:
        break;
    }
    return 0;
}

static void run_plugin(const struct dec *h, const struct dec *selected, const struct cursors *c,
                       struct tld_event *ev)
{
    struct tld_sv log = ev->log;
    struct tld_sv text = log;
    switch (selected->plugin_offset) {
    case DEC_OFF_AFTER_PARENT:
        if (!c->has_evt_after_parent)
            return;
        text = tld_sv_make(log.p + c->evt_after_parent, log.n - c->evt_after_parent);
        break;
    case DEC_OFF_AFTER_PREMATCH:
        text = tld_sv_make(log.p + c->evt_after_prematch, log.n - c->evt_after_prematch);
        break;
    default:
        break;
    }
    if (h->plugin == DEC_PLUGIN_JSON)
        tld_decoder_json_run(selected, text, ev);
    else
        tld_decoder_plugin_run(h->plugin, text, ev);
}

/* Runs one chain member; false when its regex did not match or the field cap was hit. */
static bool run_member(const struct dec *h, const struct dec *selected, struct cursors *c,
                       struct tld_event *ev, struct tld_decoder_scratch *s)
{
    if (h->plugin != DEC_PLUGIN_NONE) {
        run_plugin(h, selected, c, ev);
        return true;
    }
    if (!h->regex)
        return true;
    size_t start = subject_start(h, c);
    if (start > ev->log.n)
        start = ev->log.n;
    const char *subj = ev->log.p + start;
    size_t n = ev->log.n - start;
    struct tld_rx_result *res = s->res;
    if (!tld_rx_match(h->regex, subj, n, res, s->rx))
        return false;
    c->ar = start + res->next;
    c->ar_valid = true;
    unsigned k = res->ncap < h->norder ? res->ncap : h->norder;
    for (unsigned i = 0; i < k; i++) {
        struct tld_rx_span sp = res->cap[i];
        tld_decoder_assign(ev, &h->order[i], tld_sv_make(subj + sp.so, sp.eo - sp.so));
        if (ev->fields_overflow)
            return false;
    }
    return true;
}

/* Run the chain starting at root->children[idx], or the root itself when it has no children. */
static void run_chain(const struct dec *root, unsigned idx, const struct dec *selected,
                      struct cursors *c, struct tld_event *ev, struct tld_decoder_scratch *s)
{
    if (root->nchildren == 0) {
        run_member(root, selected, c, ev, s);
        return;
    }
    while (idx < root->nchildren) {
        const struct dec *h = root->children[idx];
        /* Matched or not, a member flagged `cont` hands over to its next sibling. */
        run_member(h, selected, c, ev, s);
        if (ev->fields_overflow || !h->cont)
            return;
        idx++;
    }
}

/*
 * Pick the chain head among the root's children. Returns false when no child is taken (the
 * root stays selected and the event gets no fields).
 */
static bool pick_child(const struct dec *root, struct cursors *c, const struct dec **selected,
                       unsigned *head, struct tld_event *ev, struct tld_decoder_scratch *s)
{
    struct tld_sv log = ev->log;
    unsigned k = 0;
    while (k < root->nchildren) {
        const struct dec *ch = root->children[k];
        if (!ch->prematch) {
            c->am = c->ap;
            *head = k;
            return true;
        }
        size_t base = ch->prematch_after_parent ? c->ap : 0;
        if (base > log.n)
            base = log.n;
        if (tld_rx_match(ch->prematch, log.p + base, log.n - base, s->res, s->rx)) {
            *selected = ch;
            c->am = base + s->res->next;
            c->has_evt_after_parent = true;
            c->evt_after_parent = c->ap;
            c->evt_after_prematch = c->am;
            *head = k;
            return true;
        }
        if (ch->cont) {
            k++;
            while (k < root->nchildren && root->children[k]->cont)
                k++;
        }
        k++;
    }
    return false;
}

static void build_fts_key(const struct dec *d, struct tld_event *ev)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 4096);
    tld_sb_append_cstr(&sb, d->pub.name);
    for (int f = 0; f < TLD_F_COUNT; f++) {
        if (!(d->fts_static & (1u << f)))
            continue;
        tld_sb_append_char(&sb, '\x1f');
        tld_sb_append_sv(&sb, ev->fields[f].p ? ev->fields[f] : TLD_SV_LIT(""));
    }
    if (d->fts_bits & DEC_FTS_LOCATION) {
        tld_sb_append_char(&sb, '\x1f');
        tld_sb_append_sv(&sb, ev->location);
    }
    for (unsigned i = 0; i < d->nfts_dyn; i++) {
        struct tld_sv v = tld_event_get(ev, d->fts_dyn[i]);
        tld_sb_append_char(&sb, '\x1f');
        tld_sb_append_sv(&sb, v.p ? v : TLD_SV_LIT(""));
    }
    ev->fts_key = tld_arena_dup(ev->arena, tld_sb_cstr(&sb), sb.n);
    tld_sb_fini(&sb);
}

void tld_decode(const struct tld_decoder_set *set, struct tld_decoder_state *st,
                struct tld_event *ev, struct tld_decoder_scratch *s)
{
    bool has_prog = ev->program_name.p != NULL;
    struct dec *const *roots = has_prog ? set->plist : set->nlist;
    unsigned nroots = has_prog ? set->nplist : set->nnlist;
    struct tld_sv log = ev->log;
    for (unsigned r = 0; r < nroots; r++) {
        const struct dec *d = roots[r];
        struct cursors c = {0};
        if (has_prog &&
            !tld_rx_match(d->program_name, ev->program_name.p, ev->program_name.n, NULL, s->rx))
            continue;
        if (d->prematch) {
            if (!tld_rx_match(d->prematch, log.p, log.n, s->res, s->rx))
                continue;
            c.ap = s->res->next;
        }
        c.evt_after_prematch = c.ap;
        const struct dec *selected = d;
        unsigned head = 0;
        if (d->nchildren == 0 || pick_child(d, &c, &selected, &head, ev, s)) {
            ev->decoder = &selected->pub;
            run_chain(d, head, selected, &c, ev, s);
        } else {
            ev->decoder = &d->pub;
        }
        if (selected->pub.accumulate && st)
            tld_decoder_accumulate(st, selected, ev);
        if (selected->has_fts)
            build_fts_key(selected, ev);
        return;
    }
}

int tld_decoder_scratch_init(struct tld_decoder_scratch *s)
{
    s->rx = tld_rx_scratch_new();
    s->res = malloc(sizeof *s->res);
    if (!s->rx || !s->res) {
        tld_decoder_scratch_fini(s);
        return TLD_ENOMEM;
    }
    return 0;
}

void tld_decoder_scratch_fini(struct tld_decoder_scratch *s)
{
    tld_rx_scratch_free(s->rx);
    free(s->res);
    s->rx = NULL;
    s->res = NULL;
}
