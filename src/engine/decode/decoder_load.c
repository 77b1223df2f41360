/*
 * Loading <decoder> elements into a decoder set (decoders.md §2–§4).
 *
 * Each <decoder> is parsed into a staging record by a table of element handlers, validated as a
 * whole, and only then compiled and linked. A file is applied atomically: its decoders are
 * collected first and committed only if the whole file is valid, so a bad file leaves the set
 * exactly as it was.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/err.h"
#include "common/grow.h"
#include "common/xml.h"
#include "engine/decode/decoder_impl.h"

/* One pattern element, possibly repeated (pieces concatenated, last type wins). */
struct pattern_acc {
    struct tld_sb text;
    enum tld_rx_kind kind;
    enum dec_offset offset;
    unsigned line;
    bool present;
};

struct staging {
    const char *file;
    unsigned line;
    const char *name;
    const char *parent; /* NULL for roots */
    struct pattern_acc program_name, prematch, regex;
    const struct tld_xml_node *order_node;
    const struct tld_xml_node *fts_node;
    const char *ftscomment;
    enum tld_category type;
    bool use_own_name;
    bool accumulate;
    enum dec_plugin plugin;
    enum dec_offset plugin_offset;
    enum dec_json_null json_null;
    enum dec_json_array json_array;
};

struct loader {
    struct tld_decoder_set *set;
    struct tld_diag *diag;
    const char *file;
    bool failed;
};

static void err_at(struct loader *ld, unsigned line, const char *fmt, const char *a, const char *b)
{
    tld_diag_error(ld->diag, ld->file, line, fmt, a ? a : "", b ? b : "");
    ld->failed = true;
}

static void warn_at(struct loader *ld, unsigned line, const char *fmt, const char *a, const char *b)
{
    tld_diag_warn(ld->diag, ld->file, line, fmt, a ? a : "", b ? b : "");
}

static const char *intern(struct loader *ld, struct tld_sv s)
{
    return tld_arena_dup(&ld->set->arena, s.p, s.n).p;
}

/* ---- element handlers ------------------------------------------------------------------ */

static void add_piece(struct loader *ld, struct staging *st, struct pattern_acc *acc,
                      const struct tld_xml_node *el, bool is_program_name)
{
    const struct tld_sv *type = tld_xml_attr(el, "type");
    const struct tld_sv *offset = tld_xml_attr(el, "offset");
    if (el->text.n > DEC_MAX_PIECE) {
        err_at(ld, el->line, "decoder '%s': <%s> is longer than 1023 characters", st->name,
               el->name);
        return;
    }
    if (acc->present && offset) {
        err_at(ld, el->line, "decoder '%s': only the first <%s> may carry an offset", st->name,
               el->name);
        return;
    }
    if (!acc->present) {
        tld_sb_init(&acc->text, DEC_MAX_TEXT);
        acc->kind = is_program_name ? TLD_RX_OSMATCH : TLD_RX_OSREGEX;
        acc->line = el->line;
    }
    acc->present = true;
    tld_sb_append_sv(&acc->text, el->text);
    if (acc->text.truncated) {
        err_at(ld, el->line, "decoder '%s': <%s> pieces together exceed 1023 characters", st->name,
               el->name);
        return;
    }
    if (type) {
        if (tld_sv_eq_nocase(*type, TLD_SV_LIT("pcre2")))
            acc->kind = TLD_RX_PCRE2;
        else if (tld_sv_eq_nocase(*type, TLD_SV_LIT("osregex")))
            acc->kind = TLD_RX_OSREGEX;
        else if (is_program_name && tld_sv_eq_nocase(*type, TLD_SV_LIT("osmatch")))
            acc->kind = TLD_RX_OSMATCH;
        else {
            acc->kind = is_program_name ? TLD_RX_OSMATCH : TLD_RX_OSREGEX;
            warn_at(ld, el->line, "decoder '%s': unsupported type '%s', using the default",
                    st->name, type->p);
        }
    }
    if (offset && !is_program_name) {
        if (tld_sv_eq_cstr(*offset, "after_parent"))
            acc->offset = DEC_OFF_AFTER_PARENT;
        else if (acc == &st->regex && tld_sv_eq_cstr(*offset, "after_prematch"))
            acc->offset = DEC_OFF_AFTER_PREMATCH;
        else if (acc == &st->regex && tld_sv_eq_cstr(*offset, "after_regex"))
            acc->offset = DEC_OFF_AFTER_REGEX;
        else if (acc == &st->regex)
            warn_at(ld, el->line, "decoder '%s': invalid regex offset '%s' ignored", st->name,
                    offset->p);
        else
            err_at(ld, el->line, "decoder '%s': invalid prematch offset '%s'", st->name, offset->p);
    }
}

static void h_parent(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    st->parent = intern(ld, el->text);
}
static void h_program_name(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    add_piece(ld, st, &st->program_name, el, true);
}
static void h_prematch(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    add_piece(ld, st, &st->prematch, el, false);
}
static void h_regex(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    add_piece(ld, st, &st->regex, el, false);
}
static void h_order(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    st->order_node = el;
}
static void h_fts(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    st->fts_node = el;
}
static void h_ftscomment(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    st->ftscomment = intern(ld, el->text);
}
static void h_type(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    int cat = tld_category_lookup(el->text);
    if (cat < 0)
        err_at(ld, el->line, "decoder '%s': invalid <type> '%s'", st->name, el->text.p);
    else
        st->type = (enum tld_category)cat;
}
static void h_use_own_name(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    if (tld_sv_eq_cstr(el->text, "true"))
        st->use_own_name = true;
}
static void h_accumulate(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    st->accumulate = true;
}

static void h_plugin(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    static const struct {
        const char *name;
        enum dec_plugin plugin;
    } plugins[] = {
        {"JSON_Decoder", DEC_PLUGIN_JSON},
        {"PF_Decoder", DEC_PLUGIN_PF},
        {"SonicWall_Decoder", DEC_PLUGIN_SONICWALL},
        {"SymantecWS_Decoder", DEC_PLUGIN_SYMANTEC_WS},
        {"OSSECAlert_Decoder", DEC_PLUGIN_OSSEC_ALERT},
    };
    st->plugin = DEC_PLUGIN_NONE;
    for (size_t i = 0; i < sizeof plugins / sizeof plugins[0]; i++)
        if (tld_sv_eq_cstr(el->text, plugins[i].name))
            st->plugin = plugins[i].plugin;
    if (st->plugin == DEC_PLUGIN_NONE) {
        err_at(ld, el->line, "decoder '%s': unknown plugin_decoder '%s'", st->name, el->text.p);
        return;
    }
    const struct tld_sv *offset = tld_xml_attr(el, "offset");
    if (!offset)
        st->plugin_offset = DEC_OFF_NONE;
    else if (tld_sv_eq_cstr(*offset, "after_parent"))
        st->plugin_offset = DEC_OFF_AFTER_PARENT;
    else if (tld_sv_eq_cstr(*offset, "after_prematch"))
        st->plugin_offset = DEC_OFF_AFTER_PREMATCH;
    else
        err_at(ld, el->line, "decoder '%s': invalid plugin_decoder offset '%s'", st->name,
               offset->p);
}

static void h_json_null(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    if (tld_sv_eq_cstr(el->text, "discard"))
        st->json_null = DEC_JSON_NULL_DISCARD;
    else if (tld_sv_eq_cstr(el->text, "empty"))
        st->json_null = DEC_JSON_NULL_EMPTY;
    else if (tld_sv_eq_cstr(el->text, "string"))
        st->json_null = DEC_JSON_NULL_STRING;
    else
        err_at(ld, el->line, "decoder '%s': invalid json_null_field '%s'", st->name, el->text.p);
}

static void h_json_array(struct loader *ld, struct staging *st, const struct tld_xml_node *el)
{
    if (tld_sv_eq_cstr(el->text, "csv"))
        st->json_array = DEC_JSON_ARRAY_CSV;
    else if (tld_sv_eq_cstr(el->text, "array"))
        st->json_array = DEC_JSON_ARRAY_ARRAY;
    else
        err_at(ld, el->line, "decoder '%s': invalid json_array_structure '%s'", st->name,
               el->text.p);
}

typedef void (*elem_handler)(struct loader *, struct staging *, const struct tld_xml_node *);

static const struct {
    const char *tag;
    elem_handler fn;
    bool case_sensitive;
} elements[] = {
    {"parent", h_parent, false},
    {"program_name", h_program_name, false},
    {"prematch", h_prematch, false},
    {"regex", h_regex, false},
    {"order", h_order, false},
    {"fts", h_fts, false},
    {"ftscomment", h_ftscomment, false},
    {"type", h_type, true},
    {"use_own_name", h_use_own_name, false},
    {"accumulate", h_accumulate, false},
    {"plugin_decoder", h_plugin, false},
    {"json_null_field", h_json_null, false},
    {"json_array_structure", h_json_array, false},
};

/* ---- compile and validate ------------------------------------------------------------- */

static struct tld_rx *compile(struct loader *ld, struct staging *st, struct pattern_acc *acc,
                              const char *what, unsigned flags)
{
    struct tld_rx *rx = NULL;
    char why[256] = "";
    struct tld_sv text = tld_sb_view(&acc->text);
    if (tld_rx_compile(acc->kind, text.p, text.n, flags, &rx, why, sizeof why) != 0) {
        tld_diag_error(ld->diag, ld->file, acc->line, "decoder '%s': invalid <%s> '%s': %s",
                       st->name, what, text.p, why);
        ld->failed = true;
        return NULL;
    }
    return rx;
}

static bool parse_order(struct loader *ld, struct staging *st, struct dec *d)
{
    struct tld_sv text = st->order_node->text;
    unsigned commas = 0;
    for (size_t i = 0; i < text.n; i++)
        commas += text.p[i] == ',';
    if (commas >= DEC_MAX_ORDER) {
        err_at(ld, st->order_node->line, "decoder '%s': <order> has more than 256 fields%s",
               st->name, NULL);
        return false;
    }
    d->order = tld_arena_zalloc(&ld->set->arena, (commas + 1) * sizeof *d->order);
    if (!d->order)
        return false;
    struct tld_sv piece;
    for (size_t at = 0; tld_sv_next_piece(text, ',', &at, &piece);) {
        while (piece.n && piece.p[0] == ' ') {
            piece.p++;
            piece.n--;
        }
        long sp = tld_sv_index(piece, ' ');
        if (sp >= 0)
            piece.n = (size_t)sp;
        if (piece.n == 0) {
            err_at(ld, st->order_node->line, "decoder '%s': empty field name in <order>%s",
                   st->name, NULL);
            return false;
        }
        struct dec_order *o = &d->order[d->norder++];
        o->field = tld_field_lookup(piece, false);
        o->name = tld_arena_dup(&ld->set->arena, piece.p, piece.n);
    }
    return true;
}

static bool parse_fts(struct loader *ld, struct staging *st, struct dec *d)
{
    struct tld_sv text = st->fts_node->text;
    d->has_fts = true;
    d->fts_dyn = tld_arena_zalloc(&ld->set->arena, (text.n / 2 + 1) * sizeof *d->fts_dyn);
    size_t i = 0;
    while (i < text.n) {
        while (i < text.n && (text.p[i] == ',' || text.p[i] == ' ' || text.p[i] == '\n' ||
                              text.p[i] == '\t' || text.p[i] == '\r'))
            i++;
        size_t s = i;
        while (i < text.n && !(text.p[i] == ',' || text.p[i] == ' ' || text.p[i] == '\n' ||
                               text.p[i] == '\t' || text.p[i] == '\r'))
            i++;
        if (i == s)
            break;
        struct tld_sv w = tld_sv_make(text.p + s, i - s);
        int f = tld_field_lookup(w, false);
        if (tld_sv_eq_cstr(w, "name"))
            d->fts_bits |= DEC_FTS_NAME;
        else if (tld_sv_eq_cstr(w, "location"))
            d->fts_bits |= DEC_FTS_LOCATION;
        else if (f >= 0)
            d->fts_static |= 1u << f;
        else {
            bool in_order = false;
            for (unsigned k = 0; k < d->norder; k++)
                in_order |= tld_sv_eq(d->order[k].name, w);
            if (!in_order) {
                char buf[128];
                snprintf(buf, sizeof buf, "%.*s", (int)(w.n > 100 ? 100 : w.n), w.p);
                err_at(ld, st->fts_node->line, "decoder '%s': invalid <fts> field '%s'", st->name,
                       buf);
                return false;
            }
            d->fts_dyn[d->nfts_dyn++] = tld_arena_dup(&ld->set->arena, w.p, w.n);
        }
    }
    return true;
}

/* The id of a decoder name in *id, a new one for a name not seen before; 0 or TLD_ENOMEM. */
static int name_id(struct tld_decoder_set *set, const char *name, int *id)
{
    for (unsigned i = 0; i < set->nnames; i++)
        if (strcmp(set->names[i].name, name) == 0) {
            *id = set->names[i].id;
            return 0;
        }
    if (tld_grow(&set->names, &set->capnames, set->nnames + 1, sizeof *set->names, 256))
        return TLD_ENOMEM;
    *id = (int)set->nnames;
    set->names[set->nnames++] = (struct name_entry){name, *id};
    return 0;
}

/* Append item to the `struct dec *` array at arrp (its address, as tld_grow takes it). */
static bool push(void *arrp, unsigned *n, unsigned *cap, struct dec *item)
{
    if (tld_grow(arrp, cap, *n + 1, sizeof item, 64))
        return false;
    struct dec **arr;
    memcpy(&arr, arrp, sizeof arr);
    arr[(*n)++] = item;
    return true;
}

/* Decoders of the file being loaded, not yet visible in the set. */
struct pending {
    struct dec **items;
    unsigned n, cap;
};

static void free_dec(struct dec *d)
{
    if (!d)
        return;
    tld_rx_free(d->program_name);
    tld_rx_free(d->prematch);
    tld_rx_free(d->regex);
    free(d->children);
    free(d);
}

static void fini_staging(struct staging *st)
{
    tld_sb_fini(&st->program_name.text);
    tld_sb_fini(&st->prematch.text);
    tld_sb_fini(&st->regex.text);
}

/* Validate a staged <decoder> and build its struct dec (not yet linked). */
static struct dec *build(struct loader *ld, struct staging *st)
{
    unsigned before = ld->diag->errors;
    bool has_regex = st->regex.present, has_order = st->order_node != NULL;
    if (!st->prematch.present && !st->parent && !st->program_name.present)
        err_at(ld, st->line, "decoder '%s': needs a <prematch>, <parent> or <program_name>%s",
               st->name, NULL);
    if (has_regex != has_order)
        err_at(ld, st->line, "decoder '%s': <regex> and <order> must be given together%s", st->name,
               NULL);
    if ((has_regex || has_order) && st->plugin != DEC_PLUGIN_NONE)
        err_at(ld, st->line, "decoder '%s': <plugin_decoder> excludes <regex> and <order>%s",
               st->name, NULL);
    if (st->fts_node && !has_regex)
        err_at(ld, st->fts_node->line, "decoder '%s': <fts> needs a <regex>%s", st->name, NULL);
    if (st->prematch.offset == DEC_OFF_AFTER_PARENT && !st->parent)
        err_at(ld, st->prematch.line,
               "decoder '%s': prematch offset after_parent needs a <parent>%s", st->name, NULL);
    if (st->regex.offset == DEC_OFF_AFTER_PARENT && !st->parent)
        err_at(ld, st->regex.line, "decoder '%s': regex offset after_parent needs a <parent>%s",
               st->name, NULL);
    if (st->regex.offset == DEC_OFF_AFTER_PREMATCH && !st->parent)
        st->regex.offset = DEC_OFF_AFTER_PARENT; /* a root's own prematch is its "parent" */
    if (st->regex.offset == DEC_OFF_AFTER_REGEX && !st->parent)
        err_at(ld, st->regex.line, "decoder '%s': regex offset after_regex needs a <parent>%s",
               st->name, NULL);
    if (ld->diag->errors != before)
        return NULL;

    struct dec *d = calloc(1, sizeof *d);
    if (!d) {
        ld->failed = true;
        return NULL;
    }
    d->file = ld->file;
    d->line = st->line;
    d->pub.own_name = st->name;
    d->pub.type = st->type;
    d->pub.ftscomment = st->ftscomment;
    d->pub.accumulate = st->accumulate;
    d->is_child = st->parent != NULL;
    d->plugin = st->plugin;
    d->plugin_offset = st->plugin_offset;
    d->json_null = st->json_null;
    d->json_array = st->json_array;
    d->prematch_after_parent = st->prematch.offset == DEC_OFF_AFTER_PARENT;
    d->regex_offset = st->regex.offset;
    if (st->program_name.present && !d->is_child)
        d->program_name = compile(ld, st, &st->program_name, "program_name", 0);
    if (st->prematch.present)
        d->prematch = compile(ld, st, &st->prematch, "prematch", 0);
    if (has_regex) {
        d->regex = compile(ld, st, &st->regex, "regex", TLD_RX_CAPTURE);
        if (d->regex)
            parse_order(ld, st, d);
    }
    if (st->fts_node && !ld->failed)
        parse_fts(ld, st, d);
    if (ld->diag->errors != before) {
        free_dec(d);
        return NULL;
    }
    return d;
}

/* Link a validated child into every root named like its parent; same-name chain rules. */
static bool link_child(struct loader *ld, struct pending *pend, struct dec *d, const char *parent,
                       const struct staging *st)
{
    struct tld_decoder_set *set = ld->set;
    bool found = false;
    struct dec **lists[2] = {set->all, pend->items};
    unsigned counts[2] = {set->nall, pend->n};
    for (int l = 0; l < 2; l++) {
        for (unsigned i = 0; i < counts[l]; i++) {
            struct dec *root = lists[l][i];
            if (root->is_child || strcmp(root->pub.own_name, parent) != 0)
                continue;
            found = true;
            bool sibling = false;
            for (unsigned k = 0; k < root->nchildren; k++) {
                struct dec *c = root->children[k];
                if (strcmp(c->pub.own_name, d->pub.own_name) != 0)
                    continue;
                sibling = true;
                if (!c->regex && c->plugin == DEC_PLUGIN_NONE) {
                    err_at(ld, st->line,
                           "decoder '%s': an earlier decoder with this name has no <regex> "
                           "or plugin%s",
                           st->name, NULL);
                    return false;
                }
            }
            if (sibling) {
                if (d->prematch || d->has_fts) {
                    err_at(ld, st->line,
                           "decoder '%s': a repeated decoder name may not have <prematch> or "
                           "<fts>%s",
                           st->name, NULL);
                    return false;
                }
                if (!d->regex && d->plugin == DEC_PLUGIN_NONE) {
                    err_at(ld, st->line, "decoder '%s': a repeated decoder name needs a <regex>%s",
                           st->name, NULL);
                    return false;
                }
            }
        }
    }
    if (!found) {
        err_at(ld, st->line, "decoder '%s': parent decoder '%s' is not loaded", st->name, parent);
        return false;
    }
    if (d->regex_offset == DEC_OFF_AFTER_PREMATCH && !d->prematch) {
        /* Allowed only as a later member of a same-name chain (it then reads after the
         * head's prematch). */
        bool has_earlier = false;
        for (unsigned l = 0; l < 2 && !has_earlier; l++)
            for (unsigned i = 0; i < counts[l] && !has_earlier; i++) {
                struct dec *root = lists[l][i];
                if (root->is_child || strcmp(root->pub.own_name, parent) != 0)
                    continue;
                for (unsigned k = 0; k < root->nchildren; k++)
                    has_earlier |= strcmp(root->children[k]->pub.own_name, d->pub.own_name) == 0;
            }
        if (!has_earlier) {
            err_at(ld, st->regex.line,
                   "decoder '%s': regex offset after_prematch needs a <prematch>%s", st->name,
                   NULL);
            return false;
        }
    }
    if (d->regex_offset == DEC_OFF_AFTER_REGEX) {
        bool ok = false;
        for (unsigned l = 0; l < 2 && !ok; l++)
            for (unsigned i = 0; i < counts[l] && !ok; i++) {
                struct dec *root = lists[l][i];
                if (root->is_child || strcmp(root->pub.own_name, parent) != 0)
                    continue;
                for (unsigned k = 0; k < root->nchildren; k++) {
                    struct dec *c = root->children[k];
                    ok |=
                        strcmp(c->pub.own_name, d->pub.own_name) == 0 && (c->prematch || c->regex);
                }
            }
        if (!ok) {
            err_at(ld, st->regex.line,
                   "decoder '%s': regex offset after_regex needs an earlier decoder of the same "
                   "name with a <prematch> or <regex>%s",
                   st->name, NULL);
            return false;
        }
    }
    for (int l = 0; l < 2; l++) {
        for (unsigned i = 0; i < counts[l]; i++) {
            struct dec *root = lists[l][i];
            if (root->is_child || strcmp(root->pub.own_name, parent) != 0)
                continue;
            for (unsigned k = 0; k < root->nchildren; k++)
                if (strcmp(root->children[k]->pub.own_name, d->pub.own_name) == 0)
                    root->children[k]->cont = true;
            if (!push(&root->children, &root->nchildren, &root->capchildren, d)) {
                ld->failed = true;
                return false;
            }
        }
    }
    return true;
}

static void stage_decoder(struct loader *ld, struct pending *pend, const struct tld_xml_node *node)
{
    if (!tld_xml_is(node, "decoder")) {
        err_at(ld, node->line, "unexpected element <%s>; decoder files hold only <decoder>%s",
               node->name, NULL);
        return;
    }
    if (node->nattrs == 0 || strcmp(node->attrs[0].name, "name") != 0 ||
        node->attrs[0].value.n == 0) {
        err_at(ld, node->line, "<decoder> must start with a non-empty name attribute%s%s", NULL,
               NULL);
        return;
    }
    if (node->nattrs > 2 || (node->nattrs == 2 && strcmp(node->attrs[1].name, "status") != 0)) {
        err_at(ld, node->line, "decoder '%s': unexpected attribute '%s'", node->attrs[0].value.p,
               node->attrs[node->nattrs > 2 ? 2 : 1].name);
        return;
    }
    struct staging st = {
        .file = ld->file, .line = node->line, .name = intern(ld, node->attrs[0].value)};
    unsigned before = ld->diag->errors;
    for (const struct tld_xml_node *el = node->children; el; el = el->next) {
        size_t k;
        for (k = 0; k < sizeof elements / sizeof elements[0]; k++) {
            bool same = elements[k].case_sensitive ? strcmp(el->name, elements[k].tag) == 0
                                                   : strcasecmp(el->name, elements[k].tag) == 0;
            if (same)
                break;
        }
        if (k == sizeof elements / sizeof elements[0]) {
            err_at(ld, el->line, "decoder '%s': unknown element <%s>", st.name, el->name);
            continue;
        }
        elements[k].fn(ld, &st, el);
    }
    struct dec *d = ld->diag->errors == before ? build(ld, &st) : NULL;
    if (d && st.parent) {
        if (!link_child(ld, pend, d, st.parent, &st)) {
            free_dec(d);
            d = NULL;
        } else {
            d->pub.parent = st.parent;
        }
    }
    if (d) {
        d->pub.name = (st.parent && !st.use_own_name) ? d->pub.parent : d->pub.own_name;
        if (!push(&pend->items, &pend->n, &pend->cap, d)) {
            free_dec(d);
            ld->failed = true;
        }
    }
    fini_staging(&st);
}

/* Undo the child links that pending decoders added to already-committed roots. */
static void unlink_pending(struct tld_decoder_set *set, struct pending *pend)
{
    for (unsigned i = 0; i < set->nall; i++) {
        struct dec *root = set->all[i];
        unsigned w = 0;
        for (unsigned k = 0; k < root->nchildren; k++) {
            bool is_pending = false;
            for (unsigned p = 0; p < pend->n; p++)
                is_pending |= root->children[k] == pend->items[p];
            if (!is_pending)
                root->children[w++] = root->children[k];
        }
        root->nchildren = w;
    }
}

int tld_decoder_set_load_file(struct tld_decoder_set *set, const char *path, struct tld_diag *diag)
{
    struct tld_xml_doc *doc = NULL;
    int err = tld_xml_load(path, &doc, diag);
    if (err)
        return err;
    struct loader ld = {
        .set = set, .diag = diag, .file = tld_arena_dup(&set->arena, path, strlen(path)).p};
    /* Remember the continue flags of committed decoders: a failed file must not change them. */
    unsigned nold = set->nall;
    bool *old_cont = calloc(nold ? nold : 1, sizeof *old_cont);
    for (unsigned i = 0; i < nold; i++)
        old_cont[i] = set->all[i]->cont;
    struct pending pend = {0};
    for (const struct tld_xml_node *n = doc->roots; n; n = n->next)
        stage_decoder(&ld, &pend, n);
    if (ld.failed || !old_cont) {
        unlink_pending(set, &pend);
        for (unsigned i = 0; i < nold && old_cont; i++)
            set->all[i]->cont = old_cont[i];
        for (unsigned i = 0; i < pend.n; i++)
            free_dec(pend.items[i]);
        err = TLD_EPARSE;
    } else {
        for (unsigned i = 0; i < pend.n && !err; i++) {
            struct dec *d = pend.items[i];
            if (name_id(set, d->pub.name, &d->pub.id) != 0 ||
                !push(&set->all, &set->nall, &set->capall, d))
                err = TLD_ENOMEM;
            else if (!d->is_child && d->program_name)
                err = push(&set->plist, &set->nplist, &set->capplist, d) ? 0 : TLD_ENOMEM;
            else if (!d->is_child)
                err = push(&set->nlist, &set->nnlist, &set->capnlist, d) ? 0 : TLD_ENOMEM;
        }
    }
    free(old_cont);
    free(pend.items);
    tld_xml_free(doc);
    return err;
}

/*
 * Decoders that are built into the analysis engine rather than written in XML (decoders.md §7):
 * they decode other queues (FIM, rootcheck, inventory, SCA, Windows event channel, host info),
 * which we do not receive, but stock rules name them in <decoded_as>, so the names must exist.
 */
static const char *const builtin_decoders[] = {
    "syscheck_integrity_changed",
    "syscheck_deleted",
    "syscheck_new_entry",
    "syscheck_registry_key_added",
    "syscheck_registry_key_deleted",
    "syscheck_registry_key_modified",
    "syscheck_registry_value_added",
    "syscheck_registry_value_deleted",
    "syscheck_registry_value_modified",
    "rootcheck",
    "syscollector",
    "ciscat",
    "sca",
    "windows_eventchannel",
    "hostinfo_new",
    "hostinfo_modified",
};

int tld_decoder_set_new(struct tld_decoder_set **out)
{
    struct tld_decoder_set *set = calloc(1, sizeof *set);
    if (!set)
        return TLD_ENOMEM;
    tld_arena_init(&set->arena, 65536, (size_t)1 << 30);
    for (size_t i = 0; i < sizeof builtin_decoders / sizeof builtin_decoders[0]; i++) {
        int id;
        if (name_id(set, builtin_decoders[i], &id) != 0) {
            tld_decoder_set_free(set);
            return TLD_ENOMEM;
        }
    }
    *out = set;
    return 0;
}

void tld_decoder_set_free(struct tld_decoder_set *set)
{
    if (!set)
        return;
    for (unsigned i = 0; i < set->nall; i++)
        free_dec(set->all[i]);
    free(set->all);
    free(set->plist);
    free(set->nlist);
    free(set->names);
    tld_arena_fini(&set->arena);
    free(set);
}

unsigned tld_decoder_set_count(const struct tld_decoder_set *set)
{
    return set->nall;
}

int tld_decoder_set_id(const struct tld_decoder_set *set, struct tld_sv name)
{
    for (unsigned i = 0; i < set->nnames; i++)
        if (tld_sv_eq_cstr(name, set->names[i].name))
            return set->names[i].id;
    return -1;
}
