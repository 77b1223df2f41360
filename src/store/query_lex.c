/*
 * Query lexer: splits query text into tokens and decodes quoted strings and regular expressions.
 * Keywords and/or/not are recognised case-insensitively only as whole unquoted words, so a value
 * spelled "or" is still reachable by quoting it.
 */
#include "store/query_lex.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Characters that end an unquoted word; a value may hold ':' (nginx:1.27, 12:00). */
static bool is_stop(char c, bool value)
{
    return is_space(c) || strchr(value ? "()<>=~\"" : "()<>=~\":", c) != NULL;
}

static void single(struct tld_qtoken *tok, enum tld_qtok kind, size_t len)
{
    tok->kind = kind;
    tok->len = len;
}

static void fail(struct tld_qtoken *tok, const char *why)
{
    tok->kind = TLD_QT_ERROR;
    tok->err = why;
}

/* A quoted string or regex body up to the closing `close`; backslash escapes `close` and '\'. */
static void delimited(struct tld_qlexer *lx, char close, enum tld_qtok kind, struct tld_qtoken *tok)
{
    size_t i = lx->pos + 1;
    char *buf = malloc(lx->n - lx->pos + 1);
    if (!buf) {
        fail(tok, "out of memory");
        return;
    }
    size_t m = 0;
    for (; i < lx->n && lx->p[i] != close; i++) {
        char c = lx->p[i];
        if (c == '\\' && i + 1 < lx->n && (lx->p[i + 1] == close || lx->p[i + 1] == '\\')) {
            /* A regex keeps "\\" as written: it is the regex's own escape. */
            if (kind == TLD_QT_REGEX && lx->p[i + 1] == '\\')
                buf[m++] = c;
            c = lx->p[++i];
        }
        buf[m++] = c;
    }
    if (i >= lx->n) {
        free(buf);
        fail(tok,
             kind == TLD_QT_STRING ? "unterminated string" : "unterminated regular expression");
        return;
    }
    buf[m] = '\0';
    tok->kind = kind;
    tok->buf = buf;
    tok->text = buf;
    tok->len = m;
    lx->pos = i + 1;
}

static void word(struct tld_qlexer *lx, bool value, struct tld_qtoken *tok)
{
    size_t i = lx->pos;
    while (i < lx->n && !is_stop(lx->p[i], value))
        i++;
    tok->text = lx->p + lx->pos;
    tok->len = i - lx->pos;
    tok->kind = TLD_QT_WORD;
    if (tok->len == 3 && !strncasecmp(tok->text, "and", 3))
        tok->kind = TLD_QT_AND;
    else if (tok->len == 2 && !strncasecmp(tok->text, "or", 2))
        tok->kind = TLD_QT_OR;
    else if (tok->len == 3 && !strncasecmp(tok->text, "not", 3))
        tok->kind = TLD_QT_NOT;
    lx->pos = i;
}

static void operator(struct tld_qlexer *lx, struct tld_qtoken *tok)
{
    char c = lx->p[lx->pos];
    bool eq = lx->pos + 1 < lx->n && lx->p[lx->pos + 1] == '=';
    switch (c) {
    case '(':
        single(tok, TLD_QT_LPAREN, 1);
        break;
    case ')':
        single(tok, TLD_QT_RPAREN, 1);
        break;
    case ':':
        single(tok, TLD_QT_COLON, 1);
        break;
    case '~':
        single(tok, TLD_QT_TILDE, 1);
        break;
    case '<':
        single(tok, eq ? TLD_QT_LE : TLD_QT_LT, eq ? 2 : 1);
        break;
    case '>':
        single(tok, eq ? TLD_QT_GE : TLD_QT_GT, eq ? 2 : 1);
        break;
    default:
        fail(tok, "'=' is not an operator here (use ':' or '>=' / '<=')");
        return;
    }
    lx->pos += tok->len;
}

void tld_qlex_next(struct tld_qlexer *lx, bool value, struct tld_qtoken *tok)
{
    memset(tok, 0, sizeof(*tok));
    while (lx->pos < lx->n && is_space(lx->p[lx->pos]))
        lx->pos++;
    tok->off = lx->pos;
    if (lx->pos >= lx->n) {
        tok->kind = TLD_QT_EOF;
        return;
    }
    char c = lx->p[lx->pos];
    if (c == '"')
        delimited(lx, '"', TLD_QT_STRING, tok);
    else if (c == '/' && value)
        delimited(lx, '/', TLD_QT_REGEX, tok);
    else if (strchr("()<>=~:", c))
        operator(lx, tok);
    else
        word(lx, value, tok);
}

void tld_qtoken_fini(struct tld_qtoken *tok)
{
    free(tok->buf);
    tok->buf = NULL;
}

const char *tld_qtok_name(enum tld_qtok kind)
{
    static const char *const names[] = {
        [TLD_QT_EOF] = "end of query", [TLD_QT_LPAREN] = "'('",      [TLD_QT_RPAREN] = "')'",
        [TLD_QT_COLON] = "':'",        [TLD_QT_TILDE] = "'~'",       [TLD_QT_LT] = "'<'",
        [TLD_QT_LE] = "'<='",          [TLD_QT_GT] = "'>'",          [TLD_QT_GE] = "'>='",
        [TLD_QT_AND] = "'and'",        [TLD_QT_OR] = "'or'",         [TLD_QT_NOT] = "'not'",
        [TLD_QT_WORD] = "a word",      [TLD_QT_STRING] = "a string", [TLD_QT_REGEX] = "a regex",
        [TLD_QT_ERROR] = "an error",
    };
    return names[kind];
}
