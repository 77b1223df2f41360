/*
 * json-file line parser (see dockerlog.h), on the JSON pull scanner (common/jscan.h): the only
 * values it keeps are three strings; every other value is skipped within the scanner's
 * nesting bound.
 */
#include "collect/files/dockerlog.h"

#include <string.h>

#include "common/err.h"
#include "common/jscan.h"

/* A short string value into a fixed buffer; false when not a string or too long. */
static bool short_string(struct tld_jscan *j, char *buf, size_t max, size_t *n)
{
    struct tld_sb sb;
    tld_sb_init(&sb, max);
    bool ok = tld_jscan_string(j, &sb) && !sb.truncated && !sb.oom;
    if (ok) {
        memcpy(buf, tld_sb_cstr(&sb), sb.n);
        buf[sb.n] = 0;
        *n = sb.n;
    }
    tld_sb_fini(&sb);
    return ok;
}

/* Whether a member's raw key (between its quotes) means `want`; a key written with escapes
 * (Docker never does) is unescaped first, so "l\u006fg" is "log" too. */
static bool key_is(struct tld_sv raw, const char *want)
{
    if (!memchr(raw.p, '\\', raw.n))
        return tld_sv_eq_cstr(raw, want);
    char key[8];
    size_t kn;
    struct tld_jscan k = {raw.p - 1, raw.p + raw.n + 1}; /* with its quotes */
    return short_string(&k, key, sizeof key - 1, &kn) && tld_sv_eq_cstr(tld_sv_make(key, kn), want);
}

int tld_dockerlog_parse(struct tld_sv line, struct tld_dockerlog_line *out, struct tld_sb *log)
{
    struct tld_jscan j = tld_jscan_of(line);
    size_t start = log->n;
    bool start_trunc = log->truncated, have_log = false;
    out->stream_n = out->time_n = 0;
    out->stream[0] = out->time[0] = 0;
    out->partial = false;
    if (!tld_jscan_object(&j))
        goto bad;
    struct tld_sv key;
    int m;
    bool got;
    for (bool first = true; (m = tld_jscan_member(&j, first, &key, &got)) == 0 && got;
         first = false) {
        if (!have_log && key_is(key, "log")) {
            if (!tld_jscan_string(&j, log))
                goto bad;
            have_log = true;
            /* The piece is complete when its raw text ends in the escape "\n", i.e. an odd
             * run of backslashes then 'n' just before the closing quote; judged on the raw
             * bytes so a piece cut by the bound is still classified right. */
            size_t end = (size_t)(j.p - line.p), bs = 0;
            bool nl = end >= 3 && line.p[end - 2] == 'n';
            while (nl && bs + 3 <= end && line.p[end - 3 - bs] == '\\')
                bs++;
            out->partial = !(nl && bs % 2 == 1);
        } else if (key_is(key, "stream")) {
            if (!short_string(&j, out->stream, TLD_DOCKERLOG_MAX_STREAM, &out->stream_n))
                goto bad;
        } else if (key_is(key, "time")) {
            if (!short_string(&j, out->time, TLD_DOCKERLOG_MAX_TIME, &out->time_n))
                goto bad;
        } else if (!tld_jscan_skip(&j)) {
            goto bad;
        }
    }
    if (m != 0 || !tld_jscan_done(&j) || !have_log || log->oom)
        goto bad;
    return 0;
bad:
    log->n = start;
    log->truncated = start_trunc;
    if (log->p)
        log->p[start] = 0;
    return TLD_EPARSE;
}

void tld_dockerlog_asm_init(struct tld_dockerlog_asm *a, size_t max_message)
{
    memset(a, 0, sizeof *a);
    tld_sb_init(&a->text, max_message);
}

void tld_dockerlog_asm_fini(struct tld_dockerlog_asm *a)
{
    tld_sb_fini(&a->text);
}

void tld_dockerlog_asm_reset(struct tld_dockerlog_asm *a)
{
    tld_sb_reset(&a->text);
    a->pieces = 0;
    a->active = false;
    a->time_n = 0;
    a->time[0] = 0;
}
