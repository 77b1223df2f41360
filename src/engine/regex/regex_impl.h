/*
 * Private seam between the pattern dispatcher (regex.c) and its backends (regex_osmatch.c,
 * regex_osregex.c, regex_pcre2.c). Each backend is one struct tld_rx_backend of function
 * pointers; regex.c keeps them in one array indexed by enum tld_rx_kind and never tests a method
 * for NULL, so every backend fills every slot.
 *
 * Backends receive a pattern already checked against TLD_RX_MAX_PATTERN and a subject whose
 * length fits the 32-bit spans of struct tld_rx_result. A compiled backend object is never
 * written after compile returns; all per-match state lives on the stack or in the caller's
 * struct tld_rx_scratch.
 */
#ifndef TLD_ENGINE_REGEX_IMPL_H
#define TLD_ENGINE_REGEX_IMPL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/regex/regex.h"

struct tld_rx_backend {
    const char *name; /* the type="" spelling, used in error messages */
    /* Build the compiled form of pat[0..n) into *impl; on failure a negative TLD_E* and a reason
     * in err. */
    int (*compile)(const char *pat, size_t n, unsigned flags, void **impl, char *err, size_t errsz);
    void (*free)(void *impl);
    /* Decide s[0..n); on a match fill res (when not NULL) completely. */
    bool (*match)(const void *impl, const uint8_t *s, size_t n, struct tld_rx_result *res,
                  struct tld_rx_scratch *scratch);
};

extern const struct tld_rx_backend tld_rx_osmatch_backend;
extern const struct tld_rx_backend tld_rx_osregex_backend;
extern const struct tld_rx_backend tld_rx_pcre2_backend;

/* PCRE2 working memory inside a scratch (regex_pcre2.c owns its layout). */
struct tld_rx_pcre2_scratch;
struct tld_rx_pcre2_scratch *tld_rx_pcre2_scratch_new(void);
void tld_rx_pcre2_scratch_free(struct tld_rx_pcre2_scratch *ps);

struct tld_rx_scratch {
    struct tld_rx_pcre2_scratch *pcre2;
};

/* ASCII-only lower-casing, the only folding every engine here uses (bytes >= 0x80 are kept). */
#define TLD_RX_LOWER(c) ((uint8_t)(((c) >= 'A' && (c) <= 'Z') ? (c) + 32 : (c)))
#define TLD_RX_L4(c)    TLD_RX_LOWER(c), TLD_RX_LOWER(c + 1), TLD_RX_LOWER(c + 2), TLD_RX_LOWER(c + 3)
#define TLD_RX_L16(c)   TLD_RX_L4(c), TLD_RX_L4(c + 4), TLD_RX_L4(c + 8), TLD_RX_L4(c + 12)
#define TLD_RX_L64(c)   TLD_RX_L16(c), TLD_RX_L16(c + 16), TLD_RX_L16(c + 32), TLD_RX_L16(c + 48)
static const uint8_t tld_rx_lower[256] = {TLD_RX_L64(0), TLD_RX_L64(64), TLD_RX_L64(128),
                                          TLD_RX_L64(192)};

/* Writes "<backend>: <reason>" into err (NULL-safe, always NUL-terminated when errsz > 0). */
void tld_rx_set_err(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
