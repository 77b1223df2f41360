/*
 * HTML lexing helpers for the XSS detector (xss.c). Internal to the engine.
 *
 * The tag lexer follows the HTML tokenizer's rules for start tags closely enough to see what a
 * browser sees: the name runs to a blank, '/' or '>', attributes are separated by blanks or '/',
 * their values are quoted with ", ' or ` (old engines honoured backquotes) or run to a blank or
 * '>'. It iterates attributes one at a time, so any number of them is handled in bounded memory,
 * and every step consumes input, so lexing is linear.
 */
#ifndef TLD_ENGINE_XSS_HTML_H
#define TLD_ENGINE_XSS_HTML_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes of an attribute value examined after normalisation. */
#define TLD_XSS_ATTR_NORM 512

struct tld_xss_attr {
    size_t name_off, name_len;
    size_t val_off, val_len;
    bool has_value;
};

struct tld_xss_tag {
    const char *s;
    size_t n;
    size_t pos; /* next byte to lex */
    size_t name_off, name_len;
    bool closed; /* '>' seen */
};

/*
 * At s[i] == '<': true when a start tag opens there (a letter follows), with the name filled in
 * and the iterator positioned on the first attribute.
 */
bool tld_xss_tag_open(const char *s, size_t n, size_t i, struct tld_xss_tag *t);

/* Next attribute of the tag; false once '>' or the end of input is reached. */
bool tld_xss_tag_attr(struct tld_xss_tag *t, struct tld_xss_attr *a);

/*
 * Normalised copy for pattern checks: ASCII lower case, HTML character references decoded
 * (numeric with or without ';', and the named ones used to hide script syntax) and CSS and
 * JavaScript backslash escapes decoded, and blanks, control bytes and NULs dropped. Returns the
 * length written (at most cap).
 */
size_t tld_xss_normalize(const char *s, size_t n, char *out, size_t cap);

/* v (normalised) starts with a script-bearing URL: javascript:, vbscript:, data: documents. */
bool tld_xss_script_url(const char *v, size_t n);

/* v (normalised) holds a script URL with a script-like body anywhere. */
bool tld_xss_script_url_anywhere(const char *v, size_t n);

/* v (normalised) holds active CSS: expression(), behavior/binding URLs. */
bool tld_xss_css_active(const char *v, size_t n);

/* name[0..n) (any case) is a DOM event handler attribute name such as onload or onmouseover. */
bool tld_xss_event_name(const char *name, size_t n);

/* ASCII case-insensitive comparison of n bytes with a lower-case literal. */
bool tld_xss_ieq(const char *s, const char *lit, size_t n);

/* All n bytes are ASCII letters. */
bool tld_xss_is_letters(const char *s, size_t n);

#endif
