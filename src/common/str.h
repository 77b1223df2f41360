/*
 * Strings that carry their length. A view (struct tld_sv) borrows bytes it does not own and is
 * not NUL-terminated in general. A builder (struct tld_sb) owns a heap buffer that never grows
 * past the maximum given at init: appends beyond it are cut and the builder remembers it was
 * truncated, so hostile input hits the bound, not the allocator. The buffer is always kept
 * NUL-terminated so it can be handed to C APIs.
 */
#ifndef TLD_COMMON_STR_H
#define TLD_COMMON_STR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct tld_sv {
    const char *p;
    size_t n;
};

#define TLD_SV_LIT(s) ((struct tld_sv){(s), sizeof(s) - 1})
#define TLD_SV_NULL   ((struct tld_sv){NULL, 0})

static inline struct tld_sv tld_sv_of(const char *s)
{
    return (struct tld_sv){s, s ? strlen(s) : 0};
}
static inline struct tld_sv tld_sv_make(const char *p, size_t n)
{
    return (struct tld_sv){p, n};
}
static inline bool tld_sv_eq(struct tld_sv a, struct tld_sv b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}
static inline bool tld_sv_eq_cstr(struct tld_sv a, const char *s)
{
    return tld_sv_eq(a, tld_sv_of(s));
}
bool tld_sv_eq_nocase(struct tld_sv a, struct tld_sv b);
bool tld_sv_starts_with(struct tld_sv s, struct tld_sv prefix);
/* Index of the first c in s, or -1. */
long tld_sv_index(struct tld_sv s, char c);
/*
 * Walk the pieces of s between separators sep: *at starts at 0; each call sets *piece and moves
 * *at past it, and false means no piece is left. Empty pieces count, so "a,,b" has three and ""
 * one.
 */
static inline bool tld_sv_next_piece(struct tld_sv s, char sep, size_t *at, struct tld_sv *piece)
{
    if (*at > s.n)
        return false;
    const char *e = *at < s.n ? memchr(s.p + *at, sep, s.n - *at) : NULL;
    size_t end = e ? (size_t)(e - s.p) : s.n;
    *piece = tld_sv_make(s.p + *at, end - *at);
    *at = end + 1;
    return true;
}
/* Strip ASCII spaces, tabs, CR and LF at both ends. */
struct tld_sv tld_sv_trim(struct tld_sv s);
/* Parse a whole view as a non-negative decimal integer <= max; false on anything else. */
bool tld_sv_to_u64(struct tld_sv s, unsigned long long max, unsigned long long *out);
/* Decode exactly 2*n lower-case hex digits into out[0..n); false on anything else (out may then
 * be partly written). */
bool tld_sv_unhex(struct tld_sv s, uint8_t *out, size_t n);
/* Copy into a fresh NUL-terminated heap string (caller frees); NULL on allocation failure. */
char *tld_sv_dup(struct tld_sv s);

/*
 * The seed every hash here starts from. It is one digit short of the published FNV-1a 64 offset
 * basis (14695981039346656037); it stays as it is because hashes made with it are kept on disk
 * (the file heads in the collector's positions file) and must keep matching.
 */
#define TLD_FNV1A_SEED 1469598103934665603ull

/*
 * FNV-1a 64 over n bytes at p, continuing from seed (TLD_FNV1A_SEED for a fresh hash, or the
 * published offset basis for standard FNV-1a). Inline
 * because lookups on per-event paths hash with it; p may be NULL when n is 0.
 */
static inline uint64_t tld_fnv1a(uint64_t seed, const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = seed;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

struct tld_sb {
    char *p;        /* owned; NUL-terminated; NULL until the first append */
    size_t n;       /* bytes used, excluding the NUL */
    size_t cap;     /* allocated bytes */
    size_t max;     /* hard bound on n */
    bool truncated; /* an append was cut at max */
    bool oom;       /* an allocation failed; later appends are ignored */
};

void tld_sb_init(struct tld_sb *sb, size_t max);
void tld_sb_fini(struct tld_sb *sb);
/* Forget the content, keep the buffer (and the bound); clears the truncated flag. */
void tld_sb_reset(struct tld_sb *sb);
/*
 * Make room for `extra` more bytes (and the NUL) without changing the content, so a writer can
 * fill sb->p + sb->n directly and then advance sb->n (keeping the NUL). False, and nothing
 * changed, when the bytes would pass the maximum, memory is short or the builder is out of
 * memory already.
 */
bool tld_sb_reserve_slow(struct tld_sb *sb, size_t extra);
static inline bool tld_sb_reserve(struct tld_sb *sb, size_t extra)
{
    if (!sb->oom && extra <= sb->max - sb->n && sb->n + extra < sb->cap)
        return true;
    return tld_sb_reserve_slow(sb, extra);
}
/* The general case of the appends below: growth, the bound, the out-of-memory state. */
void tld_sb_append_slow(struct tld_sb *sb, const void *p, size_t n);
/* Appends are inline when the bytes fit the current buffer: alert formatting makes dozens of
 * small appends per event. */
static inline void tld_sb_append(struct tld_sb *sb, const void *p, size_t n)
{
    if (!sb->oom && n <= sb->max - sb->n && sb->n + n < sb->cap) {
        if (n)
            memcpy(sb->p + sb->n, p, n);
        sb->n += n;
        sb->p[sb->n] = '\0';
        return;
    }
    tld_sb_append_slow(sb, p, n);
}
static inline void tld_sb_append_sv(struct tld_sb *sb, struct tld_sv s)
{
    tld_sb_append(sb, s.p, s.n);
}
static inline void tld_sb_append_cstr(struct tld_sb *sb, const char *s)
{
    tld_sb_append(sb, s, strlen(s));
}
static inline void tld_sb_append_char(struct tld_sb *sb, char c)
{
    if (!sb->oom && sb->n < sb->max && sb->n + 1 < sb->cap) {
        sb->p[sb->n++] = c;
        sb->p[sb->n] = '\0';
        return;
    }
    tld_sb_append_slow(sb, &c, 1);
}
void tld_sb_printf(struct tld_sb *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tld_sb_vprintf(struct tld_sb *sb, const char *fmt, va_list ap);
static inline struct tld_sv tld_sb_view(const struct tld_sb *sb)
{
    return (struct tld_sv){sb->p ? sb->p : "", sb->n};
}
/* The NUL-terminated content ("" when empty). */
static inline const char *tld_sb_cstr(const struct tld_sb *sb)
{
    return sb->p ? sb->p : "";
}
/* Hand the buffer to the caller (who frees it) and reset the builder to empty. */
char *tld_sb_steal(struct tld_sb *sb, size_t *len);

#endif
