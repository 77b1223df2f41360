/*
 * Raw-text shapes of SQL injection (see sqli_shapes.h).
 *
 * Sources of fact: string literals and operators of SQL (a string is closed by its quote; '-',
 * '+', '*', '/', '%', '&', '|', '^' are arithmetic and bitwise operators in MySQL, SQL Server and
 * PostgreSQL, '||' concatenates in standard SQL, Oracle and PostgreSQL; two adjacent string
 * literals separated by blanks are concatenated in standard SQL and MySQL), and the MySQL
 * reference manual, "Comments": a comment opened with '!' right after the star and followed by
 * a version number runs as code on servers of that version or later.
 */
#include <string.h>

#include "engine/webattack/sqli_shapes.h"

static bool blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool tld_sqli_string_join(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && blank((unsigned char)s[i]))
        i++;
    size_t e = n;
    while (e > i && blank((unsigned char)s[e - 1]))
        e--;
    /* short: the whole value is the join; at least quote, something, quote */
    if (e - i < 3 || e - i > 24)
        return false;
    char q = s[i];
    if ((q != '\'' && q != '"') || s[e - 1] != q)
        return false;
    /* "*" and "%" alone in quotes are the wildcards of a search form */
    if (e - i == 3 && (s[i + 1] == '*' || s[i + 1] == '%'))
        return false;
    bool join = false;
    for (size_t k = i + 1; k + 1 < e;) {
        unsigned char c = (unsigned char)s[k];
        if (blank(c)) {
            join = true; /* adjacent literals concatenate */
            k++;
        } else if (strchr("-+*/%&|^", (int)c) && c) {
            join = true;
            k++;
        } else if (c == (unsigned char)q && s[k + 1] == q && k + 2 < e) {
            k += 2; /* an empty string: ' or '' ' */
        } else if (k + 2 < e && strncasecmp(s + k, "or", 2) == 0 &&
                   blank((unsigned char)s[k + 2])) {
            join = true;
            k += 2;
        } else if (k + 3 < e && strncasecmp(s + k, "and", 3) == 0 &&
                   blank((unsigned char)s[k + 3])) {
            join = true;
            k += 3;
        } else {
            return false;
        }
    }
    return join;
}

bool tld_sqli_versioned_comment(const char *s, size_t n)
{
    for (const char *p = memchr(s, '/', n); p && p + 3 < s + n;
         p = memchr(p + 1, '/', (size_t)(s + n - p - 1)))
        if (p[1] == '*' && p[2] == '!' && p[3] >= '0' && p[3] <= '9')
            return true;
    return false;
}
