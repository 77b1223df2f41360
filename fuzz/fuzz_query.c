/*
 * libFuzzer harness for the alert query language: parses the input as a query and compiles it
 * for every backend (SQLite and ClickHouse). Beyond not crashing, it proves that no value reaches
 * the SQL text: the compiled text must be made only of a fixed vocabulary (keywords, column and
 * function names, a few constant literals, punctuation and '?'), and its '?' count must equal the
 * number of bound values. A parse error must point inside the input.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"

static const char *const words[] = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "EXISTS",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "AS",
    "TEXT",
    "GLOB",
    "MATCH",
    "a",
    "k",
    "r",
    "j",
    "id",
    "ts",
    "key",
    "key_id",
    "value",
    "set_id",
    "rule_set",
    "raw",
    "type",
    "atom",
    "rowid",
    "alerts_fts",
    "alert_kv",
    "tld_ids", /* the ids a row of alert_kv lists (sqlite_ids.c) */
    "first_id",
    "ids",
    "p",
    "kv_keys",
    "rule_set_kv",
    "json_each",
    "json_valid",
    "typeof",
    "instr",
    "lower",
    "coalesce",
    "tld_regexp",
    "tld_num",
    "alert_id",
    "rule_id",
    "rule_level",
    "rule_desc",
    "agent_id",
    "agent_name",
    "agent_ip",
    "manager",
    "decoder",
    "decoder_parent",
    "location",
    "container_id",
    "container_name",
    "image",
    "full_log",
    /* ClickHouse */
    "_v",
    "s",
    "n",
    "d",
    "i",
    "ts_ms",
    "LIKE",
    "isNotNull",
    "positionCaseInsensitive",
    "match",
    "toFloat64OrNull",
    "toString",
    "arrayExists",
    "lk",
    "lv",
    "has",
    "ifNull",
    "data_keys",
    "data_values",
    "set_keys",
    "set_values",
    "other_keys",
    "other_values",
};
static const char *const literals[] = {"'true'", "'false'", "'object'", "'array'",
                                       "'null'", "'text'",  "'{}'"};

static bool in_list(const char *p, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && !memcmp(list[i], p, n))
            return true;
    return false;
}

static bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Every token of `sql` from the fixed vocabulary; returns the number of bound values: '?' for
 * SQLite, "_v WHERE i = N" (or an "i >= A AND i <= B" range) for ClickHouse. A number may only
 * be such an index (or the constants 0 and 1), so no value can hide in one.
 */
static size_t check_sql(const char *sql, size_t *max_index)
{
    size_t marks = 0;
    *max_index = 0;
    for (const char *p = sql; *p;) {
        size_t n;
        if (*p == ' ' || strchr("(),.=<>-", *p)) {
            p++;
            continue;
        }
        if (*p == '?') {
            marks++;
            p++;
            continue;
        }
        if (*p == '\'') {
            const char *e = strchr(p + 1, '\'');
            if (!e ||
                !in_list(p, (size_t)(e - p + 1), literals, sizeof(literals) / sizeof(*literals)))
                abort();
            p = e + 1;
            continue;
        }
        for (n = 0; is_word(p[n]); n++)
            ;
        bool digits = true;
        for (size_t k = 0; k < n; k++)
            digits &= p[k] >= '0' && p[k] <= '9';
        bool index = digits && p - sql >= 4 &&
                     (!strncmp(p - 4, "i = ", 4) || !strncmp(p - 5, "i >= ", 5) ||
                      !strncmp(p - 5, "i <= ", 5));
        if (index) {
            size_t v = strtoul(p, NULL, 10);
            *max_index = v > *max_index ? v : *max_index;
        }
        bool number = index || (n == 1 && (*p == '0' || *p == '1'));
        if (!n || (!number && !in_list(p, n, words, sizeof(words) / sizeof(*words)))) {
            fprintf(stderr, "unexpected SQL text at: %.40s\n", p);
            abort();
        }
        p += n;
    }
    return marks;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tld_query *q = NULL;
    struct tld_query_error err;
    int rc = tld_query_parse((const char *)data, size, &q, &err);
    if (rc) {
        if (err.off > size || !err.msg[0])
            abort();
        return 0;
    }
    struct tld_store_filter f = {q, 0, INT64_MAX};
    char *sql;
    size_t nparams;
    size_t top;
    if (tld_store_explain(TLD_STORE_SQLITE, &f, &sql, &nparams) == 0) {
        if (check_sql(sql, &top) != nparams)
            abort();
        free(sql);
    }
    if (tld_store_explain(TLD_STORE_CLICKHOUSE, &f, &sql, &nparams) == 0) {
        check_sql(sql, &top);
        if (top != nparams) /* every bound value is referenced, the last one included */
            abort();
        free(sql);
    }
    tld_query_free(q);
    return 0;
}
