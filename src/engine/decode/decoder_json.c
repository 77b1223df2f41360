/*
 * The JSON_Decoder plugin (decoders.md §9): parse one JSON object and flatten it into fields,
 * depth first, with dotted keys.
 *
 * The alert format users expect is defined by cJSON's behaviour (the Debian package's 1.7.15):
 * which documents parse at all (including its leniencies: any byte <= 0x20 is white space, a
 * leading UTF-8 BOM is skipped, text after the root value is ignored, nesting stops at 1000, a
 * string ends at its first NUL byte, "\u" escapes with bad hex digits give U+0000), how numbers
 * read (the whole run of the characters [0-9+-eE.] through strtod, the int value saturated), and
 * how they print: an int-valued number as an integer, any other with %f
 * ("1683632491049788416.000000"). Arrays are kept as cJSON's pretty-printed text or joined as
 * CSV. One deliberate difference: a "\u0000" escape inside a value is kept as a NUL byte and
 * the value goes on, where cJSON would end it (text after it would be hidden from the rules).
 *
 * This parser reproduces that behaviour while writing fields straight into the event's arena,
 * in one pass and without a tree: a cJSON tree costs several mallocs per value, and a Docker
 * event has dozens of values. Fields are emitted as they are read; when the document turns out
 * to be invalid, the event's fields are restored to what they were before, as if nothing had
 * been parsed. Only an array kept as text goes through cJSON (parse and print of that array
 * alone), which is rare. fuzz/fuzz_json_decoder.c checks this parser against the cJSON tree.
 */
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <cJSON.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decode/decoder_impl.h"

#define MAX_KEY_PATH   4096
#define MAX_CSV_VALUE  65535
#define MAX_NUMBER_TXT 64 /* 63 characters, as the original prints into a 64-byte buffer */
#define MAX_NESTING    CJSON_NESTING_LIMIT
#define NUMBER_CHARS   63 /* numbers longer than this are copied to the heap for strtod */

/* What becomes of a value being parsed. */
enum jmode {
    J_SKIP,    /* validate only: inside an array, or under a key path that is too long */
    J_MEMBER,  /* an object member: emit it under the current key path */
    J_ELEMENT, /* a scalar element of a member array in CSV mode: append to the CSV text */
};

struct jparser {
    const unsigned char *s;
    size_t n, off;
    unsigned depth;
    char decimal_point;
    bool element_scalar; /* the last J_ELEMENT value was a scalar */
    const struct dec *opts;
    struct tld_event *ev;
    size_t keylen;
    char key[MAX_KEY_PATH + 1];
};

/* ---- emitting ---------------------------------------------------------------------------- */

/* JSON keys that fill static fields (decoders.md §9); names are NUL-padded to 12 bytes. */
static const struct {
    char name[12];
    enum tld_field field;
} json_statics[] = {
    {"srcip", TLD_F_SRCIP},
    {"dstip", TLD_F_DSTIP},
    {"dstport", TLD_F_DSTPORT},
    {"srcport", TLD_F_SRCPORT},
    {"protocol", TLD_F_PROTOCOL},
    {"action", TLD_F_ACTION},
    {"srcuser", TLD_F_SRCUSER},
    {"dstuser", TLD_F_DSTUSER},
    {"id", TLD_F_ID},
    {"status", TLD_F_STATUS},
    {"url", TLD_F_URL},
    {"data", TLD_F_DATA},
    {"extra_data", TLD_F_EXTRA_DATA},
    {"systemname", TLD_F_SYSTEM_NAME},
};

static int json_static(const char *k, size_t n)
{
    if (n < 2 || n > 10) /* the shortest and longest names */
        return -1;
    for (size_t i = 0; i < sizeof json_statics / sizeof json_statics[0]; i++)
        if (json_statics[i].name[n] == '\0' && json_statics[i].name[n - 1] != '\0' &&
            memcmp(json_statics[i].name, k, n) == 0)
            return (int)json_statics[i].field;
    return -1;
}

static void emit(struct jparser *jp, struct tld_sv value)
{
    struct tld_event *ev = jp->ev;
    if (!value.p || ev->fields_overflow)
        return;
    int field = json_static(jp->key, jp->keylen);
    if (field >= 0) {
        tld_event_set(ev, (enum tld_field)field, value);
        return;
    }
    if (jp->keylen == 4 && memcmp(jp->key, "user", 4) == 0 &&
        (!ev->fields[TLD_F_DSTUSER].p || ev->fields[TLD_F_DSTUSER].n == 0)) {
        tld_event_set(ev, TLD_F_DSTUSER, value);
        return;
    }
    struct tld_sv name = tld_arena_dup(ev->arena, jp->key, jp->keylen);
    if (name.p)
        tld_event_add(ev, name, value);
}

/* ---- the lexical layer, with cJSON's quirks ------------------------------------------------ */

/* Bytes <= 0x20 are white space. A run that reaches the end steps back onto its last byte. */
static inline void skip_ws(struct jparser *jp)
{
    if (jp->off >= jp->n || jp->s[jp->off] > 32)
        return;
    while (jp->off < jp->n && jp->s[jp->off] <= 32)
        jp->off++;
    if (jp->off == jp->n)
        jp->off--;
}

static bool literal(const struct jparser *jp, const char *word, size_t len)
{
    return jp->off + len <= jp->n && memcmp(jp->s + jp->off, word, len) == 0;
}

/* Four hex digits, or 0 when any of them is not one. */
static unsigned hex4(const unsigned char *h)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = h[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return 0;
        v = v << 4 | d;
    }
    return v;
}

/* Unescaped string bytes go here; a string ends at its first NUL, and a sink that would
 * overflow remembers it (the key path's bound). */
struct sink {
    char *p;
    size_t n, cap;
    bool nul, overflow;
    bool keep_nul; /* a value: a "\u0000" escape is kept as a NUL byte instead of ending it */
};

/* `plain`: the caller knows src holds no NUL byte. */
static void sink_put(struct sink *k, const void *src, size_t len, bool plain)
{
    if (!k || k->nul || k->overflow)
        return;
    const char *z = plain ? NULL : memchr(src, '\0', len);
    if (z) {
        len = (size_t)(z - (const char *)src);
        k->nul = true;
    }
    if (len > k->cap - k->n) {
        k->overflow = true;
        return;
    }
    memcpy(k->p + k->n, src, len);
    k->n += len;
}

/* A "\u" escape at s[q] (before `end`): appends its UTF-8, returns its length or 0 (invalid). */
static size_t unicode_escape(const unsigned char *s, size_t q, size_t end, struct sink *k)
{
    if (end - q < 6)
        return 0;
    unsigned cp = hex4(s + q + 2), len = 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return 0;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        size_t lo = q + 6;
        if (end - lo < 6 || s[lo] != '\\' || s[lo + 1] != 'u')
            return 0;
        unsigned low = hex4(s + lo + 2);
        if (low < 0xDC00 || low > 0xDFFF)
            return 0;
        cp = 0x10000 + (((cp & 0x3FF) << 10) | (low & 0x3FF));
        len = 12;
    }
    unsigned char u[4];
    size_t un;
    if (cp < 0x80) {
        u[0] = (unsigned char)cp;
        un = 1;
    } else if (cp < 0x800) {
        u[0] = (unsigned char)(0xC0 | cp >> 6);
        u[1] = (unsigned char)(0x80 | (cp & 0x3F));
        un = 2;
    } else if (cp < 0x10000) {
        u[0] = (unsigned char)(0xE0 | cp >> 12);
        u[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp & 0x3F));
        un = 3;
    } else {
        u[0] = (unsigned char)(0xF0 | cp >> 18);
        u[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        u[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        u[3] = (unsigned char)(0x80 | (cp & 0x3F));
        un = 4;
    }
    /* cJSON ends a string at an escaped NUL; a value keeps going, so text after it cannot be
     * hidden from the rules. Keys keep cJSON's cut (they name fields). */
    bool escaped_nul = cp == 0 && memcmp(s + q + 2, "0000", 4) == 0;
    sink_put(k, u, un, escaped_nul && k && k->keep_nul);
    return len;
}

/*
 * Strings. The end is the first quote not preceded by an escaping backslash; then escapes are
 * decoded left to right, a "\u" escape taking 6 (or 12) bytes whatever they hold, which may
 * run past what the end search took for escapes (the decoder then reads up to the closing
 * quote). string_end() returns the index of the closing quote, or 0 when there is none.
 */
#ifdef __SSE2__
static inline unsigned quote_or_backslash16(__m128i x)
{
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  nul = _mm_setzero_si128();
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)), _mm_cmpeq_epi8(x, nul)));
}
#endif

/* Index of the first quote, backslash or NUL at or after i (n if none). */
static inline size_t quote_or_backslash(const unsigned char *s, size_t i, size_t n)
{
#ifdef __SSE2__
    for (; i + 16 <= n; i += 16) {
        unsigned mask = quote_or_backslash16(_mm_loadu_si128((const __m128i *)(s + i)));
        if (mask)
            return i + (unsigned)__builtin_ctz(mask);
    }
    if (i < n && n >= 16) {
        /* The last bytes through the 16 that end at n, overlapping what was seen: never read
         * past the text, and no copy (a small copy then a wide load stalls the store buffer). */
        size_t base = n - 16;
        unsigned mask = quote_or_backslash16(_mm_loadu_si128((const __m128i *)(s + base)));
        mask &= 0xFFFFu << (i - base);
        return mask ? base + (unsigned)__builtin_ctz(mask) : n;
    }
#endif
    while (i < n && s[i] != '"' && s[i] != '\\' && s[i])
        i++;
    return i;
}

static size_t string_end(const struct jparser *jp, bool *nul, bool *esc)
{
    const unsigned char *s = jp->s;
    size_t n = jp->n, i = jp->off + 1;
    *nul = *esc = false;
    if (jp->off >= n || s[jp->off] != '"')
        return 0;
    while ((i = quote_or_backslash(s, i, n)) < n && s[i] != '"') {
        if (!s[i]) {
            *nul = true;
            i++;
            continue;
        }
        *esc = true;
        if (i + 1 >= n)
            return 0;
        i += 2;
    }
    return i < n ? i : 0;
}

/* Decode the string at jp->off, whose closing quote is at `end`, into k (NULL: check only);
 * `nul`: the string may hold NUL bytes. */
static bool string_decode(struct jparser *jp, size_t end, bool nul, struct sink *k)
{
    const unsigned char *s = jp->s;
    size_t q = jp->off + 1;
    while (q < end) {
        if (s[q] != '\\') {
            size_t r = q + 1;
            while (r < end && (r = quote_or_backslash(s, r, end)) < end && s[r] != '\\')
                r++;
            sink_put(k, s + q, r - q, !nul);
            q = r;
            continue;
        }
        char c;
        switch (s[q + 1]) { /* q + 1 <= end < n */
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case '"':
            c = '"';
            break;
        case '\\':
            c = '\\';
            break;
        case '/':
            c = '/';
            break;
        case 'u': {
            size_t len = unicode_escape(s, q, end, k);
            if (!len)
                return false;
            q += len;
            continue;
        }
        default:
            return false;
        }
        sink_put(k, &c, 1, true);
        q += 2;
    }
    jp->off = end + 1;
    return true;
}

static bool parse_string(struct jparser *jp, struct sink *k)
{
    bool nul, esc;
    size_t end = string_end(jp, &nul, &esc);
    return end && string_decode(jp, end, nul, k);
}

/* A string value: a view into the text, or its decoded copy in the event's arena (a NULL view
 * when the arena is full). */
static bool string_value(struct jparser *jp, struct tld_sv *out)
{
    bool nul, esc;
    size_t end = string_end(jp, &nul, &esc);
    if (!end)
        return false;
    const char *raw = (const char *)jp->s + jp->off + 1;
    size_t len = end - jp->off - 1;
    if (!esc) {
        /* Nothing to decode: the value is a view into the event text (as decoder captures
         * are), up to its first NUL. */
        const char *z = nul ? memchr(raw, '\0', len) : NULL;
        *out = tld_sv_make(raw, z ? (size_t)(z - raw) : len);
        jp->off = end + 1;
        return true;
    }
    char *buf = tld_arena_alloc(jp->ev->arena, len + 1); /* unescaping never lengthens */
    struct sink k = {.p = buf, .cap = len, .keep_nul = true};
    if (!string_decode(jp, end, nul, buf ? &k : NULL))
        return false;
    if (buf)
        buf[k.n] = '\0';
    *out = buf ? tld_sv_make(buf, k.n) : TLD_SV_NULL;
    return true;
}

struct number {
    double d;
    int i;
};

static bool parse_number(struct jparser *jp, struct number *num)
{
    const unsigned char *s = jp->s + jp->off;
    size_t avail = jp->n - jp->off, len = 0;
    bool simple = true; /* an optional '-' then digits */
    for (; len < avail; len++) {
        unsigned char c = s[len];
        if (c >= '0' && c <= '9')
            continue;
        if (c == '+' || c == '-' || c == 'e' || c == 'E')
            simple &= c == '-' && len == 0;
        else if (c == '.')
            simple = false;
        else
            break;
    }
    size_t digits = len - (s[0] == '-');
    double d;
    size_t used;
    if (simple && digits > 0 && digits <= 19) {
        /* An integer that fits 64 bits: converting it rounds to nearest exactly as strtod
         * rounds its decimal value, without strtod's cost (Docker's timeNano has 19 digits). */
        uint64_t v = 0;
        for (size_t k = len - digits; k < len; k++)
            v = v * 10 + (uint64_t)(s[k] - '0');
        d = s[0] == '-' ? -(double)v : (double)v;
        used = len;
    } else {
        /* strtod on a NUL-terminated copy of the whole run, '.' as the locale writes it. */
        char small[NUMBER_CHARS + 1], *buf = len < sizeof small ? small : malloc(len + 1);
        if (!buf)
            return false;
        for (size_t k = 0; k < len; k++)
            buf[k] = s[k] == '.' ? jp->decimal_point : (char)s[k];
        buf[len] = '\0';
        char *endp;
        d = strtod(buf, &endp);
        used = (size_t)(endp - buf);
        if (buf != small)
            free(buf);
        if (used == 0)
            return false;
    }
    num->d = d;
    num->i = d >= INT_MAX ? INT_MAX : d <= (double)INT_MIN ? INT_MIN : (int)d;
    jp->off += used;
    return true;
}

/* Decimal text of v into the end of buf; returns where it starts. */
static char *decimal(long long v, char *end)
{
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--end = '-';
    return end;
}

/* An int-valued number as an integer, any other as %f, as the original prints them. */
static struct tld_sv number_text(const struct number *num, struct tld_arena *arena)
{
    char buf[MAX_NUMBER_TXT];
    char *start, *end = buf + 32;
    if (num->d == (double)num->i) {
        start = decimal(num->i, end);
    } else if (num->d == trunc(num->d) && fabs(num->d) < 9.2e18) {
        /* %f of an integral double is its exact value and ".000000". */
        start = decimal((long long)num->d, end);
        memcpy(end, ".000000", 7);
        end += 7;
    } else {
        snprintf(buf, sizeof buf, "%f", num->d);
        start = buf;
        end = buf + strlen(buf);
    }
    return tld_arena_dup(arena, start, (size_t)(end - start));
}

/* ---- values -------------------------------------------------------------------------------- */

static bool parse_value(struct jparser *jp, enum jmode mode, struct tld_sb *csv);

/* An array kept as text: cJSON's pretty print of the array alone. */
static void emit_array_text(struct jparser *jp, size_t start)
{
    const char *end = NULL;
    cJSON *arr = cJSON_ParseWithLengthOpts((const char *)jp->s + start, jp->off - start, &end, 0);
    char *text = arr ? cJSON_Print(arr) : NULL;
    if (text) {
        emit(jp, tld_arena_dup(jp->ev->arena, text, strlen(text)));
        cJSON_free(text);
    }
    cJSON_Delete(arr);
}

static bool parse_array(struct jparser *jp, enum jmode mode)
{
    if (jp->depth >= MAX_NESTING)
        return false;
    jp->depth++;
    size_t start = jp->off;
    bool as_csv = mode == J_MEMBER && jp->opts->json_array == DEC_JSON_ARRAY_CSV;
    bool as_text = mode == J_MEMBER && !as_csv && !jp->ev->fields_overflow;
    enum jmode elements = as_csv ? J_ELEMENT : J_SKIP;
    struct tld_sb csv;
    tld_sb_init(&csv, MAX_CSV_VALUE + 1);
    bool ok = false;
    jp->off++;
    skip_ws(jp);
    if (jp->off < jp->n && jp->s[jp->off] == ']')
        goto done;
    if (jp->off >= jp->n) {
        jp->off--;
        goto out;
    }
    jp->off--;
    do {
        jp->off++;
        skip_ws(jp);
        jp->element_scalar = false;
        if (!parse_value(jp, elements, &csv))
            goto out;
        skip_ws(jp);
        /* A scalar element is followed by a comma when another element follows. */
        if (as_csv && jp->element_scalar && jp->off < jp->n && jp->s[jp->off] == ',')
            tld_sb_append_char(&csv, ',');
    } while (jp->off < jp->n && jp->s[jp->off] == ',');
    if (jp->off >= jp->n || jp->s[jp->off] != ']')
        goto out;
done:
    jp->depth--;
    jp->off++;
    ok = true;
    if (as_text) {
        emit_array_text(jp, start);
    } else if (as_csv) {
        if (csv.n > 0 && csv.n <= MAX_CSV_VALUE && !csv.oom)
            emit(jp, tld_arena_dup(jp->ev->arena, tld_sb_cstr(&csv), csv.n));
    }
out:
    tld_sb_fini(&csv);
    return ok;
}

static bool parse_object(struct jparser *jp, enum jmode mode)
{
    if (jp->depth >= MAX_NESTING)
        return false;
    jp->depth++;
    if (jp->off >= jp->n || jp->s[jp->off] != '{')
        return false;
    jp->off++;
    skip_ws(jp);
    if (jp->off < jp->n && jp->s[jp->off] == '}')
        goto done;
    if (jp->off >= jp->n) {
        jp->off--;
        return false;
    }
    jp->off--;
    size_t mark = jp->keylen;
    do {
        jp->off++;
        skip_ws(jp);
        /* The member's key path: parent path, a dot, the key up to its first NUL. */
        enum jmode member = mode == J_MEMBER ? J_MEMBER : J_SKIP;
        struct sink k = {.p = jp->key, .n = mark, .cap = MAX_KEY_PATH};
        if (member == J_MEMBER && mark)
            sink_put(&k, ".", 1, true);
        if (!parse_string(jp, member == J_MEMBER ? &k : NULL))
            return false;
        if (k.overflow)
            member = J_SKIP;
        jp->keylen = k.n;
        skip_ws(jp);
        if (jp->off >= jp->n || jp->s[jp->off] != ':')
            return false;
        jp->off++;
        skip_ws(jp);
        if (!parse_value(jp, member, NULL))
            return false;
        jp->keylen = mark;
        skip_ws(jp);
    } while (jp->off < jp->n && jp->s[jp->off] == ',');
    if (jp->off >= jp->n || jp->s[jp->off] != '}')
        return false;
done:
    jp->depth--;
    jp->off++;
    return true;
}

/* A scalar's text goes to the event (member) or the CSV (element). A NULL text (the arena is
 * full) adds nothing but still counts as an element. */
static void scalar(struct jparser *jp, enum jmode mode, struct tld_sb *csv, struct tld_sv text)
{
    if (mode == J_MEMBER) {
        emit(jp, text);
    } else if (mode == J_ELEMENT) {
        if (text.n)
            tld_sb_append_sv(csv, text);
        jp->element_scalar = true;
    }
}

static bool parse_value(struct jparser *jp, enum jmode mode, struct tld_sb *csv)
{
    if (jp->off >= jp->n)
        return false;
    switch (jp->s[jp->off]) {
    case 'n':
        if (!literal(jp, "null", 4))
            return false;
        jp->off += 4;
        if (mode != J_MEMBER || jp->opts->json_null != DEC_JSON_NULL_DISCARD)
            scalar(jp, mode, csv, TLD_SV_LIT("null"));
        return true;
    case 'f':
        if (!literal(jp, "false", 5))
            return false;
        jp->off += 5;
        scalar(jp, mode, csv, TLD_SV_LIT("false"));
        return true;
    case 't':
        if (!literal(jp, "true", 4))
            return false;
        jp->off += 4;
        scalar(jp, mode, csv, TLD_SV_LIT("true"));
        return true;
    case '"': {
        if (mode == J_SKIP)
            return parse_string(jp, NULL);
        struct tld_sv v;
        if (!string_value(jp, &v))
            return false;
        scalar(jp, mode, csv, v);
        return true;
    }
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': {
        struct number num;
        if (!parse_number(jp, &num))
            return false;
        if (mode != J_SKIP)
            scalar(jp, mode, csv, number_text(&num, jp->ev->arena));
        return true;
    }
    case '[':
        return parse_array(jp, mode == J_MEMBER ? J_MEMBER : J_SKIP);
    case '{':
        return parse_object(jp, mode == J_MEMBER ? J_MEMBER : J_SKIP);
    default:
        return false;
    }
}

void tld_decoder_json_run(const struct dec *selected, struct tld_sv text, struct tld_event *ev)
{
    if (!text.p || text.n == 0)
        return;
    struct jparser parser; /* not zeroed: the key buffer is 4 KiB and written before read */
    struct jparser *jp = &parser;
    jp->s = (const unsigned char *)text.p;
    jp->n = text.n;
    jp->off = 0;
    jp->depth = 0;
    jp->element_scalar = false;
    jp->opts = selected;
    jp->ev = ev;
    jp->keylen = 0;
    const char *dp = localeconv()->decimal_point;
    jp->decimal_point = dp && dp[0] ? dp[0] : '.';
    if (jp->n > 4 && memcmp(jp->s, "\xEF\xBB\xBF", 3) == 0)
        jp->off = 3;
    skip_ws(jp);
    if (jp->off >= jp->n || jp->s[jp->off] != '{')
        return; /* only an object is flattened */
    /* What decoding set before, restored if the document turns out to be invalid. */
    struct tld_sv fields[TLD_F_COUNT];
    memcpy(fields, ev->fields, sizeof fields);
    unsigned ndyn = ev->ndyn;
    bool overflow = ev->fields_overflow;
    if (!parse_object(jp, J_MEMBER)) {
        memcpy(ev->fields, fields, sizeof fields);
        ev->ndyn = ndyn;
        ev->fields_overflow = overflow;
        /* Not silence: a rule can tell an event cut at the size bound, or malformed on purpose,
         * from one that never was JSON (ruleset/rules/0563-threatlockdown_event_rules.xml). */
        tld_event_add(ev, TLD_SV_LIT("threatlockdown.decode_error"),
                      ev->truncated ? TLD_SV_LIT("truncated") : TLD_SV_LIT("invalid_json"));
    }
}
