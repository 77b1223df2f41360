/* Test-file reader with RawConfigParser semantics (see ini.h). */
#include "tools/logtest/ini.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/grow.h"

#define MAX_VALUE (1u << 20)

static struct tld_sv strip(struct tld_sv s)
{
    while (s.n && isspace((unsigned char)s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n && isspace((unsigned char)s.p[s.n - 1]))
        s.n--;
    return s;
}

static struct tld_ini_section *section(struct tld_ini *ini, struct tld_sv name, unsigned line)
{
    for (unsigned i = 0; i < ini->nsections; i++)
        if (tld_sv_eq_cstr(name, ini->sections[i].name))
            return &ini->sections[i];
    if (tld_grow(&ini->sections, &ini->capsections, ini->nsections + 1, sizeof *ini->sections, 32))
        return NULL;
    struct tld_ini_section *s = &ini->sections[ini->nsections];
    *s = (struct tld_ini_section){.name = tld_sv_dup(name), .line = line};
    if (!s->name)
        return NULL;
    ini->nsections++;
    return s;
}

static struct tld_ini_key *key(struct tld_ini_section *s, struct tld_sv name, unsigned line,
                               bool *existed)
{
    char *lower = tld_sv_dup(name);
    if (!lower)
        return NULL;
    for (char *c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    for (unsigned i = 0; i < s->nkeys; i++) {
        if (strcmp(s->keys[i].name, lower) == 0) {
            free(lower);
            *existed = true;
            return &s->keys[i];
        }
    }
    if (tld_grow(&s->keys, &s->capkeys, s->nkeys + 1, sizeof *s->keys, 8)) {
        free(lower);
        return NULL;
    }
    struct tld_ini_key *k = &s->keys[s->nkeys++];
    *k = (struct tld_ini_key){.name = lower, .line = line};
    tld_sb_init(&k->value, MAX_VALUE);
    *existed = false;
    return k;
}

static void add_line(struct tld_ini_key *k, struct tld_sv text, bool first)
{
    if (!first)
        tld_sb_append_char(&k->value, '\n');
    tld_sb_append_sv(&k->value, text);
}

int tld_ini_parse(const char *text, size_t n, const char *file, struct tld_ini *ini,
                  struct tld_diag *diag)
{
    *ini = (struct tld_ini){0};
    struct tld_ini_section *cur = NULL;
    struct tld_ini_key *opt = NULL;
    size_t indent_level = 0;
    bool failed = false;
    unsigned lineno = 0;
    size_t pos = 0;
    while (pos < n) {
        const char *nl = memchr(text + pos, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - (text + pos)) : n - pos;
        struct tld_sv line = tld_sv_make(text + pos, len);
        pos += len + (nl ? 1 : 0);
        lineno++;
        struct tld_sv value = strip(line);
        bool comment = value.n && (value.p[0] == '#' || value.p[0] == ';');
        if (comment || value.n == 0) {
            if (!comment && cur && opt)
                add_line(opt, TLD_SV_LIT(""), false);
            continue;
        }
        size_t cur_indent = (size_t)(value.p - line.p);
        if (cur && opt && cur_indent > indent_level) {
            add_line(opt, value, false);
            continue;
        }
        indent_level = cur_indent;
        if (value.p[0] == '[') {
            long close = -1;
            for (size_t i = value.n; i-- > 1;)
                if (value.p[i] == ']') {
                    close = (long)i;
                    break;
                }
            if (close > 1) {
                cur = section(ini, tld_sv_make(value.p + 1, (size_t)close - 1), lineno);
                opt = NULL;
                if (!cur)
                    return TLD_ENOMEM;
                continue;
            }
        }
        if (!cur) {
            tld_diag_error(diag, file, lineno, "line before any [section]");
            failed = true;
            continue;
        }
        size_t split = 0;
        while (split < value.n && value.p[split] != '=' && value.p[split] != ':')
            split++;
        struct tld_sv name = strip(tld_sv_make(value.p, split));
        if (split == value.n || name.n == 0) {
            tld_diag_error(diag, file, lineno, "expected 'key = value'");
            failed = true;
            opt = NULL;
            continue;
        }
        bool existed;
        opt = key(cur, name, lineno, &existed);
        if (!opt)
            return TLD_ENOMEM;
        add_line(opt, strip(tld_sv_make(value.p + split + 1, value.n - split - 1)), !existed);
    }
    for (unsigned s = 0; s < ini->nsections; s++) {
        for (unsigned k = 0; k < ini->sections[s].nkeys; k++) {
            struct tld_sb *v = &ini->sections[s].keys[k].value;
            while (v->n && isspace((unsigned char)v->p[v->n - 1]))
                v->p[--v->n] = '\0';
        }
    }
    return failed ? TLD_EPARSE : 0;
}

void tld_ini_fini(struct tld_ini *ini)
{
    for (unsigned s = 0; s < ini->nsections; s++) {
        struct tld_ini_section *sec = &ini->sections[s];
        for (unsigned k = 0; k < sec->nkeys; k++) {
            free(sec->keys[k].name);
            tld_sb_fini(&sec->keys[k].value);
        }
        free(sec->keys);
        free(sec->name);
    }
    free(ini->sections);
    *ini = (struct tld_ini){0};
}

const struct tld_sb *tld_ini_get(const struct tld_ini_section *s, const char *name)
{
    for (unsigned i = 0; i < s->nkeys; i++)
        if (strcmp(s->keys[i].name, name) == 0)
            return &s->keys[i].value;
    return NULL;
}
