/*
 * Self-check against the real Wazuh ruleset: every pattern of every decoder and rule must compile
 * in the engine the loader will pick for it, since the original engine loads them all. The XML is
 * read crudely on purpose (comments and <mitre> blocks dropped, element text taken verbatim up to
 * its closing tag, `$VAR` substituted from the file's <var> elements, repeated elements
 * concatenated with the last `type` winning), so this test does not depend on the XML loader.
 *
 * The ruleset lives outside the repository: $TLD_SHARED/wazuh-ruleset, else
 * ../shared/wazuh-ruleset. When it is absent the test is reported as skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "engine/rules/iplist.h"
#include "engine/regex/regex.h"

#define MAX_VARS       64
#define MAX_ELEMS      32
#define PRINT_FAILURES 20

enum eng { E_OSMATCH, E_OSREGEX, E_PCRE2, E_EXACT, E_IPLIST, E_COUNT };
static const char *const eng_name[E_COUNT] = {"osmatch", "osregex", "pcre2", "exact", "iplist"};

/* Where a tag is used and which engine it defaults to; `fixed` ignores type="". */
struct tagdef {
    const char *tag;
    enum eng def;
    bool fixed;
    bool capture;
    bool keyed_by_name; /* <field name="x">: one test per name */
};

static const struct tagdef decoder_tags[] = {
    {"prematch", E_OSREGEX, false, false, false},
    {"regex", E_OSREGEX, false, true, false},
    {"program_name", E_OSMATCH, false, false, false},
};

static const struct tagdef rule_tags[] = {
    {"match", E_OSMATCH, false, false, false},
    {"regex", E_OSREGEX, false, false, false},
    {"field", E_OSREGEX, false, false, true},
    {"action", E_EXACT, false, false, false},
    {"if_matched_regex", E_OSREGEX, true, false, false},
    {"srcip", E_IPLIST, true, false, false},
    {"dstip", E_IPLIST, true, false, false},
    {"user", E_OSMATCH, false, false, false},
    {"url", E_OSMATCH, false, false, false},
    {"id", E_OSMATCH, false, false, false},
    {"status", E_OSMATCH, false, false, false},
    {"hostname", E_OSMATCH, false, false, false},
    {"program_name", E_OSMATCH, false, false, false},
    {"data", E_OSMATCH, false, false, false},
    {"extra_data", E_OSMATCH, false, false, false},
    {"location", E_OSMATCH, false, false, false},
    {"system_name", E_OSMATCH, false, false, false},
    {"protocol", E_OSMATCH, false, false, false},
    {"srcport", E_OSMATCH, false, false, false},
    {"dstport", E_OSMATCH, false, false, false},
    {"srcgeoip", E_OSMATCH, false, false, false},
    {"dstgeoip", E_OSMATCH, false, false, false},
};

struct var {
    char name[64];
    char *value;
};

struct elem {
    const struct tagdef *def;
    char key[96]; /* tag, plus name="" for fields */
    char *text;   /* concatenation of the pieces */
    size_t n;
    char type[16]; /* type="" of the last piece */
    unsigned line; /* line of the first piece */
};

struct tally {
    unsigned compiled[E_COUNT];
    unsigned failed;
    unsigned files;
};

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)sz + 1);
    if (buf && fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[sz] = 0;
        *len = (size_t)sz;
    }
    return buf;
}

/* Replace [from, to) by spaces, keeping newlines so line numbers survive. */
static void blank(char *from, const char *to)
{
    for (; from < to; from++)
        if (*from != '\n')
            *from = ' ';
}

static void drop_blocks(char *buf, const char *open, const char *close)
{
    char *p = buf;
    while ((p = strstr(p, open)) != NULL) {
        char *e = strstr(p + strlen(open), close);
        if (!e) {
            blank(p, p + strlen(p));
            return;
        }
        e += strlen(close);
        blank(p, e);
        p = e;
    }
}

static unsigned line_of(const char *buf, const char *at)
{
    unsigned l = 1;
    for (const char *p = buf; p < at; p++)
        l += *p == '\n';
    return l;
}

/* Value of attribute `name` inside the start tag [p, end) into out; false if absent. */
static bool attr(const char *p, const char *end, const char *name, char *out, size_t outsz)
{
    size_t nl = strlen(name);
    for (const char *q = p; q + nl < end; q++) {
        if ((q[-1] != ' ' && q[-1] != '\t' && q[-1] != '\n') || strncmp(q, name, nl) != 0)
            continue;
        const char *v = q + nl;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        if (v >= end || *v != '=')
            continue;
        v++;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        if (v >= end || (*v != '"' && *v != '\''))
            continue;
        char quote = *v++;
        const char *ve = memchr(v, quote, (size_t)(end - v));
        if (!ve)
            return false;
        size_t len = (size_t)(ve - v) < outsz - 1 ? (size_t)(ve - v) : outsz - 1;
        memcpy(out, v, len);
        out[len] = 0;
        return true;
    }
    return false;
}

static void collect_vars(const char *buf, struct var *vars, int *nvars)
{
    const char *p = buf;
    while ((p = strstr(p, "<var ")) != NULL) {
        const char *gt = strchr(p, '>');
        const char *close = gt ? strstr(gt, "</var>") : NULL;
        if (!close)
            return;
        if (*nvars < MAX_VARS &&
            attr(p + 1, gt, "name", vars[*nvars].name, sizeof vars[*nvars].name)) {
            size_t n = (size_t)(close - gt - 1);
            vars[*nvars].value = strndup(gt + 1, n);
            (*nvars)++;
        }
        p = close;
    }
}

/* Text with every $NAME of a known variable replaced (longest name wins). */
static char *substitute(const char *t, size_t n, const struct var *vars, int nvars, size_t *outn)
{
    size_t cap = n + 1, len = 0;
    char *out = malloc(cap);
    for (size_t i = 0; i < n;) {
        int best = -1;
        size_t bl = 0;
        if (t[i] == '$') {
            for (int v = 0; v < nvars; v++) {
                size_t vl = strlen(vars[v].name);
                if (vl > bl && i + 1 + vl <= n && strncmp(t + i + 1, vars[v].name, vl) == 0) {
                    best = v;
                    bl = vl;
                }
            }
        }
        const char *piece = best >= 0 ? vars[best].value : t + i;
        size_t pl = best >= 0 ? strlen(vars[best].value) : 1;
        if (len + pl + 1 > cap) {
            cap = (len + pl + 1) * 2;
            out = realloc(out, cap);
        }
        memcpy(out + len, piece, pl);
        len += pl;
        i += best >= 0 ? bl + 1 : 1;
    }
    out[len] = 0;
    *outn = len;
    return out;
}

static enum eng pick(const struct elem *e)
{
    const struct tagdef *d = e->def;
    if (d->fixed || !e->type[0])
        return d->def;
    bool decoder_pattern = d == &decoder_tags[0] || d == &decoder_tags[1];
    if (strcasecmp(e->type, "pcre2") == 0)
        return E_PCRE2;
    if (strcasecmp(e->type, "osregex") == 0)
        return E_OSREGEX;
    if (strcasecmp(e->type, "osmatch") == 0)
        return decoder_pattern ? E_OSREGEX : E_OSMATCH;
    return d->def; /* invalid type: warning, default kept */
}

static void check_elem(const char *file, const char *owner, const struct elem *e, struct tally *t)
{
    enum eng k = pick(e);
    char err[256] = "";
    int rc;
    if (k == E_IPLIST) {
        struct tld_iplist *l = tld_iplist_new();
        rc = tld_iplist_add(l, e->text, e->n, err, sizeof err);
        tld_iplist_free(l);
    } else {
        static const enum tld_rx_kind kinds[] = {TLD_RX_OSMATCH, TLD_RX_OSREGEX, TLD_RX_PCRE2,
                                                 TLD_RX_EXACT};
        struct tld_rx *rx = NULL;
        rc = tld_rx_compile(kinds[k], e->text, e->n, e->def->capture ? TLD_RX_CAPTURE : 0, &rx, err,
                            sizeof err);
        tld_rx_free(rx);
    }
    if (rc == 0) {
        t->compiled[k]++;
        return;
    }
    if (t->failed++ < PRINT_FAILURES)
        print_message("%s:%u: %s <%s> (%s): %s\n    text: %.200s\n", file, e->line, owner, e->key,
                      eng_name[k], err, e->text);
}

/* Every block <open ...> ... </close> of the file; each pattern element inside it. */
static void scan_blocks(const char *file, const char *buf, const char *open, const char *close,
                        const struct tagdef *tags, size_t ntags, const struct var *vars, int nvars,
                        struct tally *t)
{
    size_t ol = strlen(open);
    const char *p = buf;
    while ((p = strstr(p, open)) != NULL) {
        if (p[ol] != ' ' && p[ol] != '>' && p[ol] != '\n' && p[ol] != '\t') {
            p += ol;
            continue;
        }
        const char *end = strstr(p, close);
        if (!end)
            break;
        const char *gt = strchr(p, '>');
        char owner[96] = "";
        if (!attr(p + 1, gt, "name", owner, sizeof owner))
            attr(p + 1, gt, "id", owner, sizeof owner);
        struct elem elems[MAX_ELEMS];
        int nel = 0;
        for (const char *q = gt + 1; q < end; q++) {
            if (*q != '<' || q[1] == '/')
                continue;
            const struct tagdef *d = NULL;
            for (size_t i = 0; i < ntags && !d; i++) {
                size_t tl = strlen(tags[i].tag);
                char after = q[1 + tl];
                if (strncmp(q + 1, tags[i].tag, tl) == 0 &&
                    (after == ' ' || after == '>' || after == '/' || after == '\t'))
                    d = &tags[i];
            }
            if (!d)
                continue;
            const char *stag_end = strchr(q, '>');
            char key[96], name[64] = "", type[16] = "";
            attr(q + 1, stag_end, "type", type, sizeof type);
            if (d->keyed_by_name)
                attr(q + 1, stag_end, "name", name, sizeof name);
            snprintf(key, sizeof key, "%s%s%s", d->tag, name[0] ? " name=" : "", name);
            const char *text = stag_end + 1, *text_end = text;
            if (stag_end[-1] != '/') {
                char ctag[64];
                snprintf(ctag, sizeof ctag, "</%s>", d->tag);
                text_end = strstr(text, ctag);
                if (!text_end || text_end > end)
                    fail_msg("%s:%u: unterminated <%s>", file, line_of(buf, q), d->tag);
            }
            size_t sn;
            char *s = substitute(text, (size_t)(text_end - text), vars, nvars, &sn);
            struct elem *e = NULL;
            for (int i = 0; i < nel && !e; i++)
                if (strcmp(elems[i].key, key) == 0)
                    e = &elems[i];
            if (!e) {
                assert_true(nel < MAX_ELEMS);
                e = &elems[nel++];
                memset(e, 0, sizeof *e);
                e->def = d;
                snprintf(e->key, sizeof e->key, "%s", key);
                e->line = line_of(buf, q);
                e->text = s;
                e->n = sn;
            } else {
                e->text = realloc(e->text, e->n + sn + 1);
                memcpy(e->text + e->n, s, sn + 1);
                e->n += sn;
                free(s);
            }
            snprintf(e->type, sizeof e->type, "%s", type);
            q = text_end;
        }
        char who[128];
        snprintf(who, sizeof who, "%s %s", open + 1, owner);
        for (int i = 0; i < nel; i++) {
            check_elem(file, who, &elems[i], t);
            free(elems[i].text);
        }
        p = end;
    }
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_dir(const char *dir, bool decoders, struct tally *t)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    char *names[1024];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && nn < 1024) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".xml") == 0)
            names[nn++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, nn, sizeof names[0], cmp_names);
    for (size_t i = 0; i < nn; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        size_t len;
        char *buf = read_file(path, &len);
        if (!buf)
            fail_msg("cannot read %s", path);
        drop_blocks(buf, "<!--", "-->");
        drop_blocks(buf, "<mitre>", "</mitre>");
        struct var vars[MAX_VARS];
        int nvars = 0;
        collect_vars(buf, vars, &nvars);
        if (decoders)
            scan_blocks(path, buf, "<decoder", "</decoder>", decoder_tags,
                        sizeof decoder_tags / sizeof decoder_tags[0], vars, nvars, t);
        else
            scan_blocks(path, buf, "<rule", "</rule>", rule_tags,
                        sizeof rule_tags / sizeof rule_tags[0], vars, nvars, t);
        for (int v = 0; v < nvars; v++)
            free(vars[v].value);
        free(buf);
        free(names[i]);
        t->files++;
    }
}

static void every_ruleset_pattern_compiles(void **state)
{
    char root[4096];
    const char *shared = getenv("TLD_SHARED");
    snprintf(root, sizeof root, "%s/wazuh-ruleset", shared && *shared ? shared : "../shared");
    char dec[4200], rul[4200];
    snprintf(dec, sizeof dec, "%s/decoders", root);
    snprintf(rul, sizeof rul, "%s/rules", root);
    DIR *probe = opendir(dec);
    if (!probe) {
        print_message("%s is absent: skipping the ruleset self-check\n", root);
        skip();
    }
    closedir(probe);

    struct tally t = {0};
    scan_dir(dec, true, &t);
    scan_dir(rul, false, &t);
    unsigned total = 0;
    for (int k = 0; k < E_COUNT; k++)
        total += t.compiled[k];
    print_message("%u files: %u patterns compiled (osmatch %u, osregex %u, pcre2 %u, exact %u, "
                  "iplist %u), %u failed\n",
                  t.files, total, t.compiled[E_OSMATCH], t.compiled[E_OSREGEX], t.compiled[E_PCRE2],
                  t.compiled[E_EXACT], t.compiled[E_IPLIST], t.failed);
    /* The stock ruleset has thousands of patterns; finding few means the extraction broke. */
    assert_true(t.files > 200);
    assert_true(t.compiled[E_OSREGEX] > 1000);
    assert_true(t.compiled[E_OSMATCH] > 1000);
    assert_true(t.compiled[E_PCRE2] > 100);
    assert_int_equal(t.failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_ruleset_pattern_compiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
