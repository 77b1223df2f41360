/*
 * libFuzzer harness for the alert query language: parses the input as a query and compiles it
 * for every backend. Beyond not crashing, it proves that no value reaches the SQL text: the
 * compiled text must be made only of a fixed vocabulary (keywords, column and function names,
 * a few constant literals, punctuation and '?'), and its '?' count must equal the number of
 * bound values. A parse error must point inside the input.
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

/* Every token of `sql` from the fixed vocabulary; returns the number of '?'. */
static size_t check_sql(const char *sql)
{
    size_t marks = 0;
    for (const char *p = sql; *p;) {
        size_t n;
        if (*p == ' ' || strchr("(),.=<>", *p)) {
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
        bool number = n == 1 && (*p == '0' || *p == '1');
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
    if (tld_store_explain(TLD_STORE_SQLITE, &f, &sql, &nparams) == 0) {
        if (check_sql(sql) != nparams)
            abort();
        free(sql);
    }
    tld_query_free(q);
    return 0;
}
