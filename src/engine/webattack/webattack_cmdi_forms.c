/*
 * Command injection recognised by grammar rather than by command names.
 *
 * Sources of fact: the bash manual (function definitions "name () compound-command"; the
 * exported-function import that CVE-2014-6271 "Shellshock" abused, where a variable value
 * starting with "() {" was run as a definition followed by commands; parameter assignment
 * "name=value"; ANSI-C quoting $'...' and locale translation $"..."; a word that expands to the
 * command name is executed like a written one), and the PHP manual (Strings, "Complex (curly)
 * syntax": "{$" starts an expression evaluated inside a double-quoted string, "${expr}" names a
 * variable by an expression; superglobals $_GET, $_POST, $_REQUEST, $_COOKIE, $_SERVER).
 */
#include <string.h>

#include "engine/webattack/webattack_cmdi_forms.h"

static bool blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool ident_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool ident_byte(unsigned char c)
{
    return ident_start(c) || (c >= '0' && c <= '9');
}

static size_t skip(const char *s, size_t n, size_t i)
{
    while (i < n && blank((unsigned char)s[i]))
        i++;
    return i;
}

bool tld_cmdi_shellshock(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && (blank((unsigned char)s[i]) || s[i] == '\'' || s[i] == '"'))
        i++;
    if (i >= n || s[i] != '(')
        return false;
    i = skip(s, n, i + 1);
    if (i >= n || s[i] != ')')
        return false;
    i = skip(s, n, i + 1);
    return i < n && s[i] == '{';
}

bool tld_cmdi_php_complex(const char *s, size_t n)
{
    static const char *const globals[] = {"_GET",    "_POST", "_REQUEST", "_COOKIE",
                                          "_SERVER", "_ENV",  "_FILES",   NULL};
    for (const char *p = memchr(s, '$', n); p; p = memchr(p + 1, '$', (size_t)(s + n - p - 1))) {
        size_t i = (size_t)(p - s);
        if (i + 1 >= n)
            break;
        /* "{$_REQUEST[": an expression on a superglobal, as only PHP writes one */
        if (i > 0 && s[i - 1] == '{' && s[i + 1] == '_') {
            for (const char *const *g = globals; *g; g++) {
                size_t gl = strlen(*g);
                if (i + 1 + gl < n && memcmp(s + i + 1, *g, gl) == 0 && s[i + 1 + gl] == '[')
                    return true;
            }
        }
        /* "${name(" or "${@name(": a call where the shell has only a parameter name */
        if (s[i + 1] != '{')
            continue;
        size_t j = skip(s, n, i + 2);
        if (j < n && s[j] == '@')
            j++;
        if (j >= n || !ident_start((unsigned char)s[j]))
            continue;
        while (j < n && ident_byte((unsigned char)s[j]))
            j++;
        j = skip(s, n, j);
        if (j < n && s[j] == '(')
            return true;
    }
    return false;
}

/* Start of a command: the value's start or after ; | & or a line break (blanks skipped). */
static bool command_start(const char *s, size_t i)
{
    while (i > 0 && (s[i - 1] == ' ' || s[i - 1] == '\t'))
        i--;
    return i == 0 || strchr(";|&\n\r", s[i - 1]) != NULL;
}

bool tld_cmdi_stored_command(const char *s, size_t n)
{
    for (const char *p = memchr(s, '=', n); p; p = memchr(p + 1, '=', (size_t)(s + n - p - 1))) {
        size_t e = (size_t)(p - s), b = e;
        while (b > 0 && ident_byte((unsigned char)s[b - 1]))
            b--;
        if (b == e || !ident_start((unsigned char)s[b]) || !command_start(s, b))
            continue;
        /* the value must be quoted or expanded: "RUN=$'uname'", "X=\"ls -l\"", "C=`hostname`" */
        if (e + 1 >= n || !strchr("'\"$`\\", s[e + 1]))
            continue;
        size_t name = e - b;
        for (const char *q = memchr(p, '$', (size_t)(s + n - p)); q;
             q = memchr(q + 1, '$', (size_t)(s + n - q - 1))) {
            size_t k = (size_t)(q - s) + 1;
            bool brace = k < n && s[k] == '{';
            k += brace;
            if (k + name > n || memcmp(s + k, s + b, name) != 0)
                continue;
            size_t after = k + name + brace;
            if (brace && (k + name >= n || s[k + name] != '}'))
                continue;
            if ((after >= n || !ident_byte((unsigned char)s[after])) &&
                command_start(s, (size_t)(q - s)))
                return true;
        }
    }
    return false;
}
