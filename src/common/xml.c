/*
 * Parser for the ruleset/configuration XML dialect described in xml.h.
 *
 * A single forward pass over the buffer with an explicit element stack (depth-bounded, so
 * hostile nesting cannot exhaust the C stack). Text of the element being read accumulates in a
 * bounded builder and is copied into the document arena when the element closes; variables are
 * substituted at that moment, in document order, which is what makes "defined before use" hold.
 */
#include "common/xml.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"

#define MAX_VARS 1024

struct var {
    struct tld_sv name;
    struct tld_sv value;
};

struct frame {
    struct tld_xml_node *node;
    struct tld_xml_node *last_child;
    struct tld_sb text;
    bool has_children;
    bool is_var;
};

struct parser {
    const char *begin, *p, *end;
    unsigned line;
    const char *file;
    struct tld_xml_doc *doc;
    struct tld_diag *diag;
    struct frame *stack; /* TLD_XML_MAX_DEPTH frames */
    unsigned depth;
    struct tld_xml_node *last_root;
    struct var vars[MAX_VARS];
    unsigned nvars;
    bool failed;
};

static void fail(struct parser *ps, unsigned line, const char *fmt, const char *arg)
{
    tld_diag_error(ps->diag, ps->file, line, fmt, arg ? arg : "");
    ps->failed = true;
}

static void advance(struct parser *ps, size_t n)
{
    for (size_t i = 0; i < n && ps->p < ps->end; i++, ps->p++)
        if (*ps->p == '\n')
            ps->line++;
}

static bool at(const struct parser *ps, const char *s)
{
    size_t n = strlen(s);
    return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, s, n) == 0;
}

static void skip_space(struct parser *ps)
{
    while (ps->p < ps->end && isspace((unsigned char)*ps->p))
        advance(ps, 1);
}

/* Skip a comment or declaration starting at `<!` or `<?`; false if it never ends. */
static bool skip_markup(struct parser *ps)
{
    unsigned line = ps->line;
    const char *close = at(ps, "<!--") ? "-->" : at(ps, "<?") ? "?>" : "!>";
    const char *hit = memmem(ps->p + 2, (size_t)(ps->end - ps->p - 2), close, strlen(close));
    if (!hit) {
        fail(ps, line, "unterminated comment or declaration%s", NULL);
        return false;
    }
    advance(ps, (size_t)(hit - ps->p) + strlen(close));
    return true;
}

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' || c == ':';
}

static struct tld_sv read_name(struct parser *ps)
{
    const char *s = ps->p;
    while (ps->p < ps->end && is_name_char(*ps->p))
        ps->p++;
    return tld_sv_make(s, (size_t)(ps->p - s));
}

static const struct var *find_var(const struct parser *ps, struct tld_sv name)
{
    for (unsigned i = 0; i < ps->nvars; i++)
        if (tld_sv_eq_nocase(ps->vars[i].name, name))
            return &ps->vars[i];
    return NULL;
}

static bool ends_var_name(char c)
{
    return c == '$' || c == '.' || c == '|' || c == ',' || c == ' ';
}

/*
 * Copy `in` into the arena, replacing `$NAME` references once the file has variables.
 * Returns the view (p NULL on error, already reported).
 */
static struct tld_sv finish_text(struct parser *ps, struct tld_sv in, unsigned line)
{
    if (ps->nvars == 0 || in.n <= 2 || !memchr(in.p, '$', in.n)) {
        struct tld_sv out = tld_arena_dup(&ps->doc->arena, in.p ? in.p : "", in.n);
        if (!out.p)
            fail(ps, line, "out of memory%s", NULL);
        return out;
    }
    struct tld_sb sb;
    tld_sb_init(&sb, TLD_XML_MAX_TEXT);
    size_t i = 0;
    while (i < in.n) {
        char c = in.p[i];
        if (c != '$' || i + 1 >= in.n || in.p[i + 1] == '(' || ends_var_name(in.p[i + 1])) {
            tld_sb_append_char(&sb, c);
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < in.n && !ends_var_name(in.p[j]))
            j++;
        struct tld_sv name = tld_sv_make(in.p + i + 1, j - i - 1);
        const struct var *v = find_var(ps, name);
        if (!v) {
            char buf[128];
            snprintf(buf, sizeof buf, "%.*s", (int)(name.n > 100 ? 100 : name.n), name.p);
            fail(ps, line, "unknown variable '$%s'", buf);
            tld_sb_fini(&sb);
            return TLD_SV_NULL;
        }
        tld_sb_append_sv(&sb, v->value);
        i = j;
    }
    struct tld_sv out = TLD_SV_NULL;
    if (sb.truncated)
        fail(ps, line, "text longer than 20480 bytes after variable substitution%s", NULL);
    else
        out = tld_arena_dup(&ps->doc->arena, tld_sb_cstr(&sb), sb.n);
    tld_sb_fini(&sb);
    return out;
}

static bool parse_attrs(struct parser *ps, struct tld_xml_node *node, bool *self_closing)
{
    struct tld_xml_attr tmp[TLD_XML_MAX_ATTRS];
    unsigned n = 0;
    for (;;) {
        skip_space(ps);
        if (ps->p >= ps->end) {
            fail(ps, node->line, "unterminated element <%s>", node->name);
            return false;
        }
        if (*ps->p == '>') {
            advance(ps, 1);
            *self_closing = false;
            break;
        }
        if (at(ps, "/>")) {
            advance(ps, 2);
            *self_closing = true;
            break;
        }
        struct tld_sv name = read_name(ps);
        if (name.n == 0) {
            fail(ps, ps->line, "malformed attribute in element <%s>", node->name);
            return false;
        }
        skip_space(ps);
        if (ps->p >= ps->end || *ps->p != '=') {
            fail(ps, ps->line, "attribute without value in element <%s>", node->name);
            return false;
        }
        advance(ps, 1);
        skip_space(ps);
        if (ps->p >= ps->end || (*ps->p != '"' && *ps->p != '\'')) {
            fail(ps, ps->line, "attribute value must be quoted in element <%s>", node->name);
            return false;
        }
        char quote = *ps->p;
        unsigned vline = ps->line;
        advance(ps, 1);
        const char *vs = ps->p;
        while (ps->p < ps->end && *ps->p != quote)
            advance(ps, 1);
        if (ps->p >= ps->end) {
            fail(ps, vline, "unterminated attribute value in element <%s>", node->name);
            return false;
        }
        struct tld_sv raw = tld_sv_make(vs, (size_t)(ps->p - vs));
        advance(ps, 1);
        if (raw.n > TLD_XML_MAX_TEXT) {
            fail(ps, vline, "attribute value longer than 20480 bytes in element <%s>", node->name);
            return false;
        }
        if (n == TLD_XML_MAX_ATTRS) {
            fail(ps, vline, "too many attributes in element <%s>", node->name);
            return false;
        }
        for (unsigned k = 0; k < n; k++) {
            if (strlen(tmp[k].name) == name.n && memcmp(tmp[k].name, name.p, name.n) == 0) {
                fail(ps, vline, "duplicate attribute in element <%s>", node->name);
                return false;
            }
        }
        struct tld_sv aname = tld_arena_dup(&ps->doc->arena, name.p, name.n);
        struct tld_sv value = finish_text(ps, raw, vline);
        if (!aname.p || !value.p)
            return false;
        tmp[n++] = (struct tld_xml_attr){aname.p, value};
    }
    if (n) {
        node->attrs = tld_arena_alloc(&ps->doc->arena, n * sizeof *node->attrs);
        if (!node->attrs) {
            fail(ps, node->line, "out of memory%s", NULL);
            return false;
        }
        memcpy(node->attrs, tmp, n * sizeof *tmp);
        node->nattrs = n;
    }
    return true;
}

static void link_node(struct parser *ps, struct tld_xml_node *node)
{
    if (ps->depth == 0) {
        if (ps->last_root)
            ps->last_root->next = node;
        else
            ps->doc->roots = node;
        ps->last_root = node;
        return;
    }
    struct frame *parent = &ps->stack[ps->depth - 1];
    parent->has_children = true;
    if (parent->last_child)
        parent->last_child->next = node;
    else
        parent->node->children = node;
    parent->last_child = node;
}

/* Record a completed <var> element; it never enters the tree. */
static void define_var(struct parser *ps, struct tld_xml_node *node)
{
    const struct tld_sv *name = tld_xml_attr(node, "name");
    if (!name || name->n == 0) {
        fail(ps, node->line, "<var> without a name attribute%s", NULL);
        return;
    }
    if (ps->nvars == MAX_VARS) {
        fail(ps, node->line, "too many variables (more than 1024)%s", NULL);
        return;
    }
    ps->vars[ps->nvars++] = (struct var){*name, node->text};
}

/* Called with ps->p on the name right after `<`. */
static bool open_element(struct parser *ps, unsigned line)
{
    struct tld_sv name = read_name(ps);
    if (name.n == 0) {
        fail(ps, line, "malformed element name%s", NULL);
        return false;
    }
    struct tld_xml_node *node = tld_arena_zalloc(&ps->doc->arena, sizeof *node);
    struct tld_sv dup = tld_arena_dup(&ps->doc->arena, name.p, name.n);
    if (!node || !dup.p) {
        fail(ps, line, "out of memory%s", NULL);
        return false;
    }
    node->name = dup.p;
    node->line = line;
    node->text = TLD_SV_LIT("");
    bool self_closing = false;
    if (!parse_attrs(ps, node, &self_closing))
        return false;
    bool is_var = strcmp(node->name, "var") == 0;
    if (self_closing) {
        if (is_var)
            define_var(ps, node);
        else
            link_node(ps, node);
        return true;
    }
    if (ps->depth == TLD_XML_MAX_DEPTH) {
        fail(ps, line, "elements nested deeper than 1024 levels at <%s>", node->name);
        return false;
    }
    if (!is_var)
        link_node(ps, node);
    struct frame *f = &ps->stack[ps->depth++];
    *f = (struct frame){.node = node, .is_var = is_var};
    tld_sb_init(&f->text, TLD_XML_MAX_TEXT);
    return true;
}

/* Called with ps->p right after `</`. */
static bool close_element(struct parser *ps, unsigned line)
{
    struct tld_sv name = read_name(ps);
    skip_space(ps);
    if (ps->p >= ps->end || *ps->p != '>') {
        fail(ps, line, "malformed closing tag%s", NULL);
        return false;
    }
    advance(ps, 1);
    if (ps->depth == 0) {
        char buf[128];
        snprintf(buf, sizeof buf, "%.*s", (int)(name.n > 100 ? 100 : name.n), name.p);
        fail(ps, line, "closing tag </%s> without an opening tag", buf);
        return false;
    }
    struct frame *f = &ps->stack[ps->depth - 1];
    if (strlen(f->node->name) != name.n || memcmp(f->node->name, name.p, name.n) != 0) {
        fail(ps, line, "closing tag does not match <%s>", f->node->name);
        return false;
    }
    bool ok = true;
    if (f->text.truncated) {
        fail(ps, f->node->line, "text of <%s> is longer than 20480 bytes", f->node->name);
        ok = false;
    } else if (!f->has_children) {
        struct tld_sv text = finish_text(ps, tld_sb_view(&f->text), f->node->line);
        if (text.p)
            f->node->text = text;
        else
            ok = false;
    }
    tld_sb_fini(&f->text);
    ps->depth--;
    if (ok && f->is_var)
        define_var(ps, f->node);
    return ok;
}

/* Accumulate text up to the next unescaped `<` that is not a comment. */
static void read_text(struct parser *ps)
{
    struct frame *f = ps->depth ? &ps->stack[ps->depth - 1] : NULL;
    while (ps->p < ps->end) {
        char c = *ps->p;
        if (c == '<') {
            /* `\<` is text, but in `\\<` the backslash is itself escaped (E:\\</field>). */
            size_t slashes = 0;
            while (ps->p - slashes > ps->begin && ps->p[-1 - (long)slashes] == '\\')
                slashes++;
            if (slashes % 2 == 0)
                return;
        }
        if (f && !f->has_children)
            tld_sb_append_char(&f->text, c);
        advance(ps, 1);
    }
}

static void parse(struct parser *ps)
{
    while (!ps->failed && ps->p < ps->end) {
        if (*ps->p != '<') {
            const char *start = ps->p;
            read_text(ps);
            if (ps->depth == 0) {
                for (const char *q = start; q < ps->p; q++) {
                    if (!isspace((unsigned char)*q)) {
                        fail(ps, ps->line, "text outside of any element%s", NULL);
                        return;
                    }
                }
            }
            continue;
        }
        unsigned line = ps->line;
        if (at(ps, "<!") || at(ps, "<?")) {
            if (!skip_markup(ps))
                return;
            continue;
        }
        if (at(ps, "</")) {
            advance(ps, 2);
            if (!close_element(ps, line))
                return;
            continue;
        }
        advance(ps, 1);
        if (!open_element(ps, line))
            return;
    }
    if (!ps->failed && ps->depth)
        fail(ps, ps->stack[ps->depth - 1].node->line, "element <%s> is never closed",
             ps->stack[ps->depth - 1].node->name);
}

int tld_xml_parse(const char *buf, size_t n, const char *file, struct tld_xml_doc **out,
                  struct tld_diag *diag)
{
    *out = NULL;
    struct tld_xml_doc *doc = calloc(1, sizeof *doc);
    struct parser *ps = calloc(1, sizeof *ps);
    struct frame *stack = calloc(TLD_XML_MAX_DEPTH, sizeof *stack);
    if (!doc || !ps || !stack) {
        free(doc);
        free(ps);
        free(stack);
        return TLD_ENOMEM;
    }
    tld_arena_init(&doc->arena, 16384, (size_t)1 << 30);
    doc->file = tld_arena_strdup(&doc->arena, file ? file : "<buffer>");
    *ps = (struct parser){.begin = buf,
                          .p = buf,
                          .end = buf + n,
                          .line = 1,
                          .file = doc->file,
                          .doc = doc,
                          .diag = diag,
                          .stack = stack};
    if (!doc->file) {
        ps->failed = true;
    } else {
        parse(ps);
    }
    for (unsigned i = 0; i < ps->depth; i++)
        tld_sb_fini(&ps->stack[i].text);
    bool failed = ps->failed;
    free(stack);
    free(ps);
    if (failed) {
        tld_xml_free(doc);
        return TLD_EPARSE;
    }
    *out = doc;
    return 0;
}

int tld_xml_load(const char *path, struct tld_xml_doc **out, struct tld_diag *diag)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        tld_diag_error(diag, path, 0, "cannot read: %s", strerror(errno));
        return TLD_EIO;
    }
    struct tld_sb sb;
    tld_sb_init(&sb, (size_t)256 << 20);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        tld_sb_append(&sb, chunk, got);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || sb.oom || sb.truncated) {
        tld_diag_error(diag, path, 0, "cannot read: %s",
                       rerr ? "read error" : "file too large or out of memory");
        tld_sb_fini(&sb);
        return TLD_EIO;
    }
    int err = tld_xml_parse(tld_sb_cstr(&sb), sb.n, path, out, diag);
    tld_sb_fini(&sb);
    return err;
}

void tld_xml_free(struct tld_xml_doc *doc)
{
    if (!doc)
        return;
    tld_arena_fini(&doc->arena);
    free(doc);
}

const struct tld_sv *tld_xml_attr(const struct tld_xml_node *node, const char *name)
{
    for (unsigned i = 0; i < node->nattrs; i++)
        if (strcmp(node->attrs[i].name, name) == 0)
            return &node->attrs[i].value;
    return NULL;
}

bool tld_xml_is(const struct tld_xml_node *node, const char *name)
{
    return strcasecmp(node->name, name) == 0;
}
