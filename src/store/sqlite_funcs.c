/*
 * SQL functions the SQLite query compiler relies on. tld_regexp matches a PCRE2 pattern against
 * the whole value (as Lucene-style regular expressions do); the compiled pattern is cached per
 * statement through SQLite's auxiliary data, so a pattern compiles once per query. tld_num reads
 * a value as a number with the same strict syntax as the query language, NULL otherwise.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>

#include "store/query.h"
#include "store/sqlite_impl.h"

static void free_code(void *p)
{
    pcre2_code_free(p);
}

static void regexp_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[1]) == SQLITE_NULL)
        return; /* NULL: no value to match */
    pcre2_code *re = sqlite3_get_auxdata(ctx, 0);
    if (!re) {
        int errcode;
        PCRE2_SIZE erroff;
        const unsigned char *pat = sqlite3_value_text(argv[0]);
        re = pcre2_compile(pat, (PCRE2_SIZE)sqlite3_value_bytes(argv[0]), 0, &errcode, &erroff,
                           NULL);
        if (!re) {
            sqlite3_result_error(ctx, "invalid regular expression", -1);
            return;
        }
        sqlite3_set_auxdata(ctx, 0, re, free_code);
        re = sqlite3_get_auxdata(ctx, 0);
        if (!re) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
    }
    const unsigned char *v = sqlite3_value_text(argv[1]);
    int vn = sqlite3_value_bytes(argv[1]);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    int rc = pcre2_match(re, v, (PCRE2_SIZE)vn, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, NULL);
    pcre2_match_data_free(md);
    sqlite3_result_int(ctx, rc >= 0);
}

static void num_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int t = sqlite3_value_type(argv[0]);
    if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
        sqlite3_result_double(ctx, sqlite3_value_double(argv[0]));
        return;
    }
    if (t != SQLITE_TEXT)
        return;
    double d;
    const char *p = (const char *)sqlite3_value_text(argv[0]);
    if (p && !tld_query_number(p, (size_t)sqlite3_value_bytes(argv[0]), &d))
        sqlite3_result_double(ctx, d);
}

int tld_sqlite_functions(sqlite3 *db)
{
    int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    int rc = sqlite3_create_function(db, "tld_regexp", 2, flags, NULL, regexp_fn, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function(db, "tld_num", 1, flags, NULL, num_fn, NULL, NULL);
    return rc;
}
