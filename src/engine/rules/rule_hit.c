/*
 * struct tld_rule_hit: the result of one evaluation plus the per-worker memory behind it
 * (pattern scratch, description buffer, previous_output copies, dynamic-field index). The
 * previous_output buffers are allocated on first use and reused; each holds at most
 * TLD_RULE_PREV_BYTES bytes of a line.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "engine/regex/regex.h"
#include "engine/rules/rule_impl.h"

int tld_rule_hit_init(struct tld_rule_hit *hit)
{
    memset(hit, 0, sizeof *hit);
    hit->scratch = tld_rx_scratch_new();
    hit->prevlog_buf = malloc(TLD_DIFF_MAX_LOG + 1);
    /* The event's dynamic-field name hashes, then an open-addressing table (rule_eval.c). */
    hit->dynidx = malloc(TLD_EVENT_MAX_FIELDS * sizeof(uint32_t) +
                         2 * TLD_EVENT_MAX_FIELDS * sizeof(uint16_t));
    if (!hit->scratch || !hit->prevlog_buf || !hit->dynidx) {
        tld_rule_hit_fini(hit);
        return TLD_ENOMEM;
    }
    return 0;
}

void tld_rule_hit_fini(struct tld_rule_hit *hit)
{
    tld_rx_scratch_free(hit->scratch);
    for (int i = 0; i < TLD_RULE_PREV_MAX; i++)
        free(hit->prev_buf[i]);
    free(hit->prevlog_buf);
    free(hit->dynidx);
    memset(hit, 0, sizeof *hit);
}

void tld_rule_hit_prev_add(struct tld_rule_hit *hit, unsigned idx, struct tld_sv line)
{
    if (idx >= TLD_RULE_PREV_MAX || hit->prev_set[idx])
        return;
    if (!hit->prev_buf[idx]) {
        hit->prev_buf[idx] = malloc(TLD_RULE_PREV_BYTES + 1);
        if (!hit->prev_buf[idx])
            return;
    }
    size_t n = line.p ? line.n : 0;
    if (n > TLD_RULE_PREV_BYTES)
        n = TLD_RULE_PREV_BYTES;
    if (n)
        memcpy(hit->prev_buf[idx], line.p, n);
    hit->prev_buf[idx][n] = '\0';
    hit->prev_len[idx] = n;
    hit->prev_set[idx] = true;
}

void tld_rule_hit_prev_clear(struct tld_rule_hit *hit)
{
    memset(hit->prev_set, 0, sizeof hit->prev_set);
}
