/*
 * PCRE2 backend (regex.md §5): 8-bit library, compiled with no options at all (case-sensitive,
 * '.' excludes newline, no UTF), JIT-compiled when the library supports it and falling back to
 * the interpreter when JIT compilation fails. One match from offset 0 over the whole subject.
 *
 * The compiled code is shared read-only between threads; the per-match memory (match data sized
 * for TLD_RX_MAX_CAPTURES groups, a match context and its JIT stack) belongs to each thread's
 * struct tld_rx_scratch, so matching allocates nothing.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>

#include "common/err.h"
#include "engine/regex/regex_impl.h"

/* JIT stack bounds per thread: PCRE2's own default start, grown up to 1 MiB for deep patterns. */
#define JIT_STACK_MIN (32 * 1024)
#define JIT_STACK_MAX (1024 * 1024)

struct tld_rx_pcre2_scratch {
    pcre2_match_data *md; /* group 0 + TLD_RX_MAX_CAPTURES groups */
    pcre2_match_context *mctx;
    pcre2_jit_stack *jit;
};

struct pcre {
    pcre2_code *code;
    bool jit;     /* JIT compilation succeeded */
    bool capture; /* report groups (TLD_RX_CAPTURE) */
};

struct tld_rx_pcre2_scratch *tld_rx_pcre2_scratch_new(void)
{
    struct tld_rx_pcre2_scratch *ps = calloc(1, sizeof *ps);
    if (!ps)
        return NULL;
    ps->md = pcre2_match_data_create(TLD_RX_MAX_CAPTURES + 1, NULL);
    ps->mctx = pcre2_match_context_create(NULL);
    ps->jit = pcre2_jit_stack_create(JIT_STACK_MIN, JIT_STACK_MAX, NULL);
    if (!ps->md || !ps->mctx) {
        tld_rx_pcre2_scratch_free(ps);
        return NULL;
    }
    /* Without JIT support the stack is NULL and PCRE2 simply never uses it. */
    if (ps->jit)
        pcre2_jit_stack_assign(ps->mctx, NULL, ps->jit);
    return ps;
}

void tld_rx_pcre2_scratch_free(struct tld_rx_pcre2_scratch *ps)
{
    if (!ps)
        return;
    pcre2_match_data_free(ps->md);
    pcre2_match_context_free(ps->mctx);
    pcre2_jit_stack_free(ps->jit);
    free(ps);
}

static void pcre_free(void *impl)
{
    struct pcre *p = impl;
    if (!p)
        return;
    pcre2_code_free(p->code);
    free(p);
}

static int pcre_compile(const char *pat, size_t n, unsigned flags, void **impl, char *err,
                        size_t errsz)
{
    int ecode;
    PCRE2_SIZE eoff;
    pcre2_code *code = pcre2_compile((PCRE2_SPTR)pat, n, 0, &ecode, &eoff, NULL);
    if (!code) {
        PCRE2_UCHAR msg[160];
        if (pcre2_get_error_message(ecode, msg, sizeof msg) < 0)
            msg[0] = 0;
        tld_rx_set_err(err, errsz, "pcre2: %s at offset %zu", (const char *)msg, (size_t)eoff);
        return ecode == PCRE2_ERROR_NOMEMORY ? TLD_ENOMEM : TLD_EPARSE;
    }
    struct pcre *p = calloc(1, sizeof *p);
    if (!p) {
        pcre2_code_free(code);
        tld_rx_set_err(err, errsz, "pcre2: out of memory");
        return TLD_ENOMEM;
    }
    p->code = code;
    p->capture = flags & TLD_RX_CAPTURE;
    p->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    *impl = p;
    return 0;
}

static bool pcre_match(const void *impl, const uint8_t *s, size_t n, struct tld_rx_result *res,
                       struct tld_rx_scratch *scratch)
{
    const struct pcre *p = impl;
    if (!scratch || !scratch->pcre2)
        return false; /* contract: PCRE2 needs the caller's scratch */
    struct tld_rx_pcre2_scratch *ps = scratch->pcre2;
    int rc = p->jit ? pcre2_jit_match(p->code, s, n, 0, 0, ps->md, ps->mctx)
                    : pcre2_match(p->code, s, n, 0, 0, ps->md, ps->mctx);
    /* rc == 0: matched, but more groups took part than the match data holds. Errors (match or
     * depth limits) count as no match, as they do for the original engine. */
    if (rc < 0)
        return false;
    if (!res)
        return true;
    const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(ps->md);
    unsigned groups = rc == 0 ? TLD_RX_MAX_CAPTURES : (unsigned)rc - 1;
    res->next = ov[1];
    res->ncap = 0;
    if (!p->capture)
        return true;
    for (unsigned g = 1; g <= groups; g++) {
        PCRE2_SIZE so = ov[2 * g], eo = ov[2 * g + 1];
        /* A group that did not take part reads as an empty string. */
        if (so == PCRE2_UNSET || eo == PCRE2_UNSET || eo < so)
            so = eo = 0;
        res->cap[g - 1] = (struct tld_rx_span){(uint32_t)so, (uint32_t)eo};
    }
    res->ncap = groups;
    return true;
}

const struct tld_rx_backend tld_rx_pcre2_backend = {
    .name = "pcre2",
    .compile = pcre_compile,
    .free = pcre_free,
    .match = pcre_match,
};
