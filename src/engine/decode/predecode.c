/*
 * Pre-decoding (see predecode.h and decoders.md §6): queue message split, location forms, header
 * shapes, hostname and program name.
 *
 * The header shapes are a table written in the specification's own notation: per row, the byte
 * positions that must hold a given byte ('#' standing for any ASCII digit, '~' for '+' or '-'),
 * the minimum text length, where `log` starts and the timestamp slice. Rows are tried in the
 * specification's order and the first match wins.
 *
 * Invariants: every read goes through at() (or is guarded by an explicit bound), which answers -1
 * past the end, so no byte pattern can make us read outside [0, n). Every view handed out lies
 * inside the input. Positions are size_t offsets into the text, converted to views at the end.
 */
#include "engine/decode/predecode.h"

#include <string.h>

#include "common/err.h"
#include "engine/event.h"

/* ---- byte classes (ASCII only: the C locale's classes, whatever the process locale) -------- */

/* The hostname/program-name class: [A-Za-z0-9._@/()-]. */
static const unsigned char host_class[256] = {
    ['('] = 1, [')'] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1,
    ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['@'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1, ['_'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1,
    ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1,
    ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* c is a byte 0..255 or -1 (past the end), which belongs to no class. */
static inline bool is_host(int c)
{
    return c >= 0 && host_class[c];
}
static inline bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static inline bool is_lower(int c)
{
    return c >= 'a' && c <= 'z';
}
static inline bool is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}
static inline bool is_alnum(int c)
{
    return is_digit(c) || is_lower(c) || is_upper(c);
}

/* The byte at i, or -1 past the end. */
static inline int at(const unsigned char *t, size_t n, size_t i)
{
    return i < n ? t[i] : -1;
}

/* Offset of the first c in t[from..n), or n. */
static size_t find(const unsigned char *t, size_t n, size_t from, int c)
{
    if (from >= n)
        return n;
    const unsigned char *hit = memchr(t + from, c, n - from);
    return hit ? (size_t)(hit - t) : n;
}

static bool starts_with(const unsigned char *t, size_t n, size_t i, const char *lit, size_t len)
{
    return i <= n && n - i >= len && memcmp(t + i, lit, len) == 0;
}

static struct tld_sv view(const unsigned char *t, size_t from, size_t to)
{
    return (struct tld_sv){(const char *)t + from, to - from};
}

/* ---- 1. queue message ---------------------------------------------------------------------- */

int tld_predecode_message(const char *msg, size_t n, char *loc_buf, size_t loc_cap,
                          struct tld_predecode_msg *out)
{
    *out = (struct tld_predecode_msg){0};
    if (!msg || n < 2 || msg[1] != ':')
        return TLD_EPARSE;

    /* The location ends at the first ':' not preceded by an escaping '|'. A '|' escapes the byte
     * after it, whatever that byte is, so "||:" ends the location with a literal '|'. Locations
     * rarely hold a '|', so look for the first ':' and walk byte by byte only if one precedes it.
     */
    const char *colon = memchr(msg + 2, ':', n - 2);
    size_t end = colon ? (size_t)(colon - msg) : n;
    bool any_escape = memchr(msg + 2, '|', end - 2) != NULL;
    if (any_escape) {
        bool escaped = false;
        for (end = 2; end < n; end++) {
            char c = msg[end];
            if (escaped)
                escaped = false;
            else if (c == ':')
                break;
            else if (c == '|')
                escaped = true;
        }
    }
    if (end >= n)
        return TLD_EPARSE;

    out->queue = msg[0];
    out->text = tld_sv_make(msg + end + 1, n - end - 1);

    const char *raw = msg + 2;
    size_t raw_n = end - 2;
    if (!any_escape) {
        out->location_truncated = raw_n > loc_cap;
        out->location = tld_sv_make(raw, raw_n > loc_cap ? loc_cap : raw_n);
        return 0;
    }
    /* "|x" stands for x (so "|:" is ':' and "||" is '|'); a '|' ending the location stays. */
    size_t w = 0;
    for (size_t r = 0; r < raw_n; r++) {
        char c = raw[r];
        if (c == '|' && r + 1 < raw_n)
            c = raw[++r];
        if (w == loc_cap) {
            out->location_truncated = true;
            break;
        }
        loc_buf[w++] = c;
    }
    out->location = tld_sv_make(loc_cap ? loc_buf : "", w);
    return 0;
}

/* ---- 2. location forms --------------------------------------------------------------------- */

int tld_predecode_source(struct tld_sv location, struct tld_predecode_source *out)
{
    *out = (struct tld_predecode_source){0};
    const unsigned char *t = (const unsigned char *)(location.p ? location.p : "");
    size_t n = location.p ? location.n : 0;

    if (at(t, n, 0) != '[') {
        out->agent_id = TLD_SV_LIT("000");
        out->location = view(t, 0, n);
    } else {
        size_t close = find(t, n, 1, ']');
        if (close == n)
            return TLD_EPARSE;
        out->agent = true;
        out->agent_id = view(t, 1, close);
        /* The receiver writes "] " before the rest; the byte after ']' is skipped unseen. */
        size_t rest = close + 2 <= n ? close + 2 : n;
        out->location = view(t, rest, n);
    }

    const unsigned char *l = (const unsigned char *)out->location.p;
    size_t ln = out->location.n;
    bool paren = at(l, ln, 0) == '(';
    size_t rparen = paren ? find(l, ln, 1, ')') : ln;

    if (out->agent) {
        /* Name: inside "(…)"; empty (not absent) when the form is not there. */
        out->agent_name = paren && rparen < ln ? view(l, 1, rparen) : view(l, 0, 0);
        if (paren && rparen < ln) {
            size_t ip = rparen + 2 <= ln ? rparen + 2 : ln;
            size_t dash = find(l, ln, ip, '-');
            struct tld_sv v = view(l, ip, dash);
            if (!tld_sv_eq_cstr(v, "any"))
                out->agent_ip = v;
        }
    }

    if (paren) {
        size_t gt = find(l, ln, 0, '>');
        if (gt < ln)
            out->display_location = view(l, gt + 1, ln);
    } else {
        out->display_location = out->location;
    }
    return 0;
}

/* ---- 3. header shapes ---------------------------------------------------------------------- */

enum row_kind {
    ROW_SYSLOG, /* rows A–E: hostname and program name follow */
    ROW_PLAIN,  /* timestamp only */
    ROW_ASL,    /* bracketed fields scanned for sender, message and host */
    ROW_SQUID,  /* variable skip over a run of spaces */
};

/* One required byte: want is the byte itself, or '#' for an ASCII digit, '~' for '+' or '-'. */
struct check {
    unsigned char pos;
    char want;
};

struct row {
    enum tld_predecode_shape shape;
    enum row_kind kind;
    unsigned char min_len; /* text length needed (of the text as received) */
    unsigned char skip;    /* where `log` starts */
    unsigned char ts_from; /* timestamp slice [ts_from, ts_to) */
    unsigned char ts_to;
    struct check checks[10]; /* ends at the first want == 0 */
};

/* Straight from the two tables of decoders.md §6, in the same notation. */
/* clang-format off */
static const struct row rows[] = {
    /* shape                  kind        len skip timestamp  required bytes */
    {TLD_PREDECODE_A,        ROW_SYSLOG, 17, 16, 0, 15, {{3, ' '}, {6, ' '}, {9, ':'}, {12, ':'},
                                                         {15, ' '}}},
    {TLD_PREDECODE_B,        ROW_SYSLOG, 24, 24, 0, 23, {{4, '-'}, {7, '-'}, {10, ' '}, {13, ':'},
                                                         {16, ':'}, {19, ','}}},
    {TLD_PREDECODE_C1,       ROW_SYSLOG, 33, 26, 0, 25, {{4, '-'}, {7, '-'}, {10, 'T'}, {13, ':'},
                                                         {16, ':'}, {22, ':'}, {25, ' '}}},
    {TLD_PREDECODE_C2,       ROW_SYSLOG, 33, 30, 0, 29, {{4, '-'}, {7, '-'}, {10, 'T'}, {13, ':'},
                                                         {16, ':'}, {19, '.'}, {26, ':'}}},
    {TLD_PREDECODE_C3,       ROW_SYSLOG, 33, 33, 0, 32, {{4, '-'}, {7, '-'}, {10, 'T'}, {13, ':'},
                                                         {16, ':'}, {19, '.'}, {29, ':'}}},
    {TLD_PREDECODE_C4,       ROW_SYSLOG, 33, 32, 0, 31, {{4, '-'}, {7, '-'}, {10, 'T'}, {13, ':'},
                                                         {16, ':'}, {19, '.'}}},
    {TLD_PREDECODE_D,        ROW_SYSLOG, 21, 21, 0, 20, {{0, '#'}, {4, ' '}, {8, ' '}, {11, ' '},
                                                         {14, ':'}, {17, ':'}, {20, ' '}}},
    {TLD_PREDECODE_E,        ROW_SYSLOG, 33, 32, 0, 31, {{0, '#'}, {4, '-'}, {7, '-'}, {10, ' '},
                                                         {13, ':'}, {16, ':'}, {19, '.'},
                                                         {26, '~'}, {31, ' '}}},
    {TLD_PREDECODE_XFERLOG,  ROW_PLAIN,  28, 25, 0, 24, {{3, ' '}, {7, ' '}, {10, ' '}, {13, ':'},
                                                         {16, ':'}, {19, ' '}, {24, ' '},
                                                         {26, ' '}}},
    {TLD_PREDECODE_SNORT,    ROW_PLAIN,  24, 23, 0, 21, {{2, '/'}, {5, '-'}, {8, ':'}, {11, ':'},
                                                         {14, '.'}, {21, ' '}}},
    {TLD_PREDECODE_SURICATA, ROW_PLAIN,  28, 28, 0, 26, {{2, '/'}, {5, '/'}, {10, '-'}, {13, ':'},
                                                         {16, ':'}, {19, '.'}, {26, ' '}}},
    {TLD_PREDECODE_APACHE,   ROW_PLAIN,  27, 27, 1, 25, {{0, '['}, {4, ' '}, {8, ' '}, {11, ' '},
                                                         {14, ':'}, {17, ':'}, {20, ' '},
                                                         {25, ']'}}},
    {TLD_PREDECODE_ASL,      ROW_ASL,    26, 25, 0, 0,  {{0, '['}, {1, 'T'}, {5, ' '}, {10, '.'},
                                                         {13, '.'}, {16, ' '}, {19, ':'}}},
    /* Squid also needs a space at 21 or 22 (see row_matches); its skip runs over spaces. */
    {TLD_PREDECODE_SQUID,    ROW_SQUID,  32, 14, 0, 0,  {{0, '1'}, {1, '#'}, {2, '#'}, {3, '#'},
                                                         {10, '.'}, {13, '#'}, {14, ' '}}},
};
/* clang-format on */

/*
 * The bytes the shape checks look at: the first PROBE_LEN bytes of the text, zero-filled past its
 * end (no check wants a zero byte, so a short text simply fails, as a C string would at its NUL).
 * A German "Mär" month (UTF-8 "\xc3\xa4" at offsets 1–2) is read as if the text were "Mar…" one
 * byte shorter: the checks then see 'M','a' at 0–1 and the received byte i+1 at i >= 2. Lengths,
 * skips and slices still count the text as received, which is why such a timestamp loses its last
 * byte.
 */
#define PROBE_LEN 40 /* > every position checked (at most 31) */

struct probe {
    unsigned char b[PROBE_LEN];
    size_t n; /* length of the text as received */
};

static void probe_init(struct probe *pr, const unsigned char *t, size_t n)
{
    size_t shift = n >= 3 && t[1] == 0xc3 && t[2] == 0xa4;
    if (n - shift >= PROBE_LEN) {
        memcpy(pr->b, t + shift, PROBE_LEN); /* the usual case, a fixed-size copy */
    } else {
        memcpy(pr->b, t + shift, n - shift);
        memset(pr->b + (n - shift), 0, PROBE_LEN - (n - shift));
    }
    if (shift) {
        pr->b[0] = 'M';
        pr->b[1] = 'a';
    }
    pr->n = n;
}

static bool row_matches(const struct row *r, const struct probe *pr)
{
    if (pr->n < r->min_len)
        return false;
    for (const struct check *k = r->checks; k->want; k++) {
        int c = k->pos < PROBE_LEN ? pr->b[k->pos] : -1;
        bool ok = k->want == '#'   ? is_digit(c)
                  : k->want == '~' ? (c == '+' || c == '-')
                                   : c == (unsigned char)k->want;
        if (!ok)
            return false;
    }
    if (r->shape == TLD_PREDECODE_SQUID)
        return pr->b[21] == ' ' || pr->b[22] == ' ';
    return true;
}

/* The parse in progress: text, and absolute offsets of what was found. */
struct hdr {
    const unsigned char *t;
    size_t n;
    struct tld_predecode_header *out;
};

static void set_host(struct hdr *h, size_t from, size_t to)
{
    h->out->hostname = view(h->t, from, to);
}
static void set_prog(struct hdr *h, size_t from, size_t to)
{
    h->out->program_name = view(h->t, from, to);
}
static void set_log(struct hdr *h, size_t from, size_t to)
{
    h->out->log = view(h->t, from, to);
}

/*
 * "[digits…" after a program name (i is the offset of '['). The syslog form (loose) accepts "]:"
 * with an optional space, or "] "; the AIX form only "]: ". On success returns true with the
 * offset where the message starts.
 */
static bool pid_block(const unsigned char *t, size_t n, size_t i, bool loose, size_t *next)
{
    size_t j = i + 2;
    while (is_digit(at(t, n, j)))
        j++;
    if (at(t, n, j) == ']' && at(t, n, j + 1) == ':') {
        if (loose) {
            j += 2;
            j += at(t, n, j) == ' ';
            *next = j;
            return true;
        }
        if (at(t, n, j + 2) == ' ') { /* the AIX variant wants "]: " exactly */
            *next = j + 3;
            return true;
        }
        return false;
    }
    if (loose && at(t, n, j) == ']' && at(t, n, j + 1) == ' ') {
        *next = j + 2;
        return true;
    }
    return false;
}

/*
 * AIX "facility|facility:severity program…" after the hostname. i is the offset of '|', p0 the
 * start of the candidate (just after the hostname). Returns true with *next set when the message
 * start is known; false when the log stays at the candidate.
 */
static bool aix_program(struct hdr *h, size_t i, size_t p0, size_t *next)
{
    const unsigned char *t = h->t;
    size_t n = h->n;
    i += 2;
    while (is_alnum(at(t, n, i)))
        i++;
    if (at(t, n, i) != ':')
        return false;
    i++;
    while (is_alnum(at(t, n, i)))
        i++;
    if (at(t, n, i) != ' ')
        return false;
    size_t q0 = ++i;
    while (is_host(at(t, n, i)))
        i++;
    if (at(t, n, i) == ':' && at(t, n, i + 1) == ' ') {
        set_prog(h, q0, i);
        *next = i + 2;
        return true;
    }
    if (at(t, n, i) == '[' && is_digit(at(t, n, i + 1))) {
        set_prog(h, q0, i);
        if (pid_block(t, n, i, false, next))
            return true;
        /* Wazuh leaves the name's terminator in place here, which ends the log at the '['. */
        set_log(h, p0, i);
        return false;
    }
    /* No terminator at all: the name runs to the end of the text, the log starts after it. */
    set_prog(h, q0, n);
    *next = i;
    return true;
}

/* Hostname and program name after a row A–E matched; `pos` is the row's skip. */
static void syslog_fields(struct hdr *h, size_t pos)
{
    const unsigned char *t = h->t;
    size_t n = h->n;
    size_t i = pos + (at(t, n, pos) == ' ');
    size_t h0 = i;
    bool have_next = false;
    size_t next = 0;

    while (is_host(at(t, n, i)))
        i++;
    set_log(h, h0, n);

    if (at(t, n, i) == ':' && at(t, n, i + 1) == ' ') {
        /* Solaris: no hostname, the run is the program name. */
        set_prog(h, h0, i);
        next = i + 2;
        have_next = true;
    } else if (at(t, n, i) != ' ') {
        return; /* not a hostname: the log starts at the run */
    } else {
        set_host(h, h0, i);
        size_t p0 = ++i;
        set_log(h, p0, n);
        while (is_host(at(t, n, i)))
            i++;
        int c = at(t, n, i);
        if (c == ':') {
            set_prog(h, p0, i);
            next = i + 1 + (at(t, n, i + 1) == ' ');
            have_next = true;
        } else if (c == '[' && is_digit(at(t, n, i + 1))) {
            if (pid_block(t, n, i, true, &next)) {
                set_prog(h, p0, i);
                have_next = true;
            }
        } else if (c == '|' && is_lower(at(t, n, i + 1))) {
            have_next = aix_program(h, i, p0, &next);
        }
    }
    if (!have_next)
        return;

    set_log(h, next, n);
    if (starts_with(t, n, next, "[ID ", 4)) {
        size_t close = find(t, n, next + 4, ']');
        if (close < n) {
            /* Two bytes: the ']' and the space expected after it (unchecked, as in Wazuh). */
            size_t after = close + 2 <= n ? close + 2 : n;
            set_log(h, after, n);
        }
    }
}

/* macOS ASL: "[Time …] [Facility …] [Sender X] [PID …] [Message X] … [Host X]". */
static void asl_fields(struct hdr *h)
{
    const unsigned char *t = h->t;
    size_t n = h->n;
    size_t cut = n; /* Wazuh ends each taken value in place; the first cut also ends the log */
    bool have_message = false;

    for (size_t k = find(t, n, 25, '['); k < n; k = find(t, n, k, '[')) {
        k++;
        if (!h->out->program_name.p && starts_with(t, n, k, "Sender ", 7)) {
            size_t e = find(t, n, k + 7, ']');
            if (e == n)
                break;
            set_prog(h, k + 7, e);
            cut = cut < e ? cut : e;
            k = e + 1;
        } else if (!have_message && starts_with(t, n, k, "Message ", 8)) {
            have_message = true;
            size_t e = find(t, n, k + 8, ']');
            set_log(h, k + 8, e);
            if (e == n)
                break;
            k = e + 1;
        } else if (starts_with(t, n, k, "Host ", 5)) {
            size_t e = find(t, n, k + 5, ']');
            if (e < n) {
                set_host(h, k + 5, e);
                cut = cut < e ? cut : e;
            }
            break;
        }
    }
    if (!have_message)
        set_log(h, 25, cut);
}

void tld_predecode_header(const char *text, size_t n, struct tld_predecode_header *out)
{
    const unsigned char *t = (const unsigned char *)(text ? text : "");
    if (!text)
        n = 0;
    *out = (struct tld_predecode_header){.shape = TLD_PREDECODE_NONE};
    out->log = view(t, 0, n);

    struct probe pr;
    probe_init(&pr, t, n);

    const struct row *r = NULL;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (row_matches(&rows[i], &pr)) {
            r = &rows[i];
            break;
        }
    }
    if (!r)
        return;

    struct hdr h = {t, n, out};
    out->shape = r->shape;
    switch (r->kind) {
    case ROW_SYSLOG:
        out->timestamp = view(t, r->ts_from, r->ts_to);
        syslog_fields(&h, r->skip);
        break;
    case ROW_PLAIN:
        out->timestamp = view(t, r->ts_from, r->ts_to);
        set_log(&h, r->skip, n);
        break;
    case ROW_ASL:
        asl_fields(&h);
        break;
    case ROW_SQUID: {
        size_t i = r->skip;
        while (at(t, n, i) == ' ')
            i++;
        /* Ends before the last space skipped (so it keeps any others). */
        out->timestamp = view(t, 0, i - 1);
        set_log(&h, i, n);
        break;
    }
    }
}

const char *tld_predecode_shape_name(enum tld_predecode_shape shape)
{
    static const char *const names[] = {
        [TLD_PREDECODE_NONE] = "none",     [TLD_PREDECODE_A] = "A",
        [TLD_PREDECODE_B] = "B",           [TLD_PREDECODE_C1] = "C1",
        [TLD_PREDECODE_C2] = "C2",         [TLD_PREDECODE_C3] = "C3",
        [TLD_PREDECODE_C4] = "C4",         [TLD_PREDECODE_D] = "D",
        [TLD_PREDECODE_E] = "E",           [TLD_PREDECODE_XFERLOG] = "xferlog",
        [TLD_PREDECODE_SNORT] = "snort",   [TLD_PREDECODE_SURICATA] = "suricata",
        [TLD_PREDECODE_APACHE] = "apache", [TLD_PREDECODE_ASL] = "asl",
        [TLD_PREDECODE_SQUID] = "squid",
    };
    return (unsigned)shape < sizeof names / sizeof names[0] ? names[shape] : "?";
}

/* ---- 4. alert predecoder.hostname ---------------------------------------------------------- */

bool tld_predecode_alert_hostname(struct tld_sv full_log, struct tld_sv *out)
{
    *out = TLD_SV_NULL;
    const unsigned char *t = (const unsigned char *)full_log.p;
    size_t n = full_log.p ? full_log.n : 0;
    /* "Mmm dd hh:mm:ss ", then at least one byte. */
    if (n < 17)
        return false;
    if (!is_upper(t[0]) || !is_lower(t[1]) || !is_lower(t[2]) || t[3] != ' ' ||
        !(t[4] == ' ' || (t[4] >= '0' && t[4] <= '3')) || !is_digit(t[5]) || t[6] != ' ' ||
        !is_digit(t[7]) || !is_digit(t[8]) || t[9] != ':' || !is_digit(t[10]) || !is_digit(t[11]) ||
        t[12] != ':' || !is_digit(t[13]) || !is_digit(t[14]) || t[15] != ' ')
        return false;
    size_t from = 16;
    size_t to = find(t, n, from, ' ');
    if (to == from)
        return false;
    *out = view(t, from, to);
    return true;
}

/* ---- hostname rules see, and the whole event ----------------------------------------------- */

struct tld_sv tld_predecode_hostname(const struct tld_predecode_source *src,
                                     const struct tld_predecode_header *hdr,
                                     struct tld_sv manager_name)
{
    if (src->agent)
        return src->agent_name;
    if (hdr->hostname.p)
        return hdr->hostname;
    if (!manager_name.p)
        return TLD_SV_NULL;
    const char *dot = manager_name.n ? memchr(manager_name.p, '.', manager_name.n) : NULL;
    return tld_sv_make(manager_name.p, dot ? (size_t)(dot - manager_name.p) : manager_name.n);
}

int tld_predecode_event(struct tld_event *ev, const char *msg, size_t n, char *loc_buf,
                        size_t loc_cap)
{
    struct tld_predecode_msg m;
    struct tld_predecode_source src;
    struct tld_predecode_header hdr;
    int err = tld_predecode_message(msg, n, loc_buf, loc_cap, &m);
    if (err)
        return err;
    err = tld_predecode_source(m.location, &src);
    if (err)
        return err;
    tld_predecode_header(m.text.p, m.text.n, &hdr);

    ev->queue = m.queue;
    ev->location = src.location;
    ev->alert_location = src.display_location;
    ev->full_log = m.text;
    ev->agent_id = src.agent_id;
    ev->agent_name = src.agent ? src.agent_name : ev->manager_name;
    ev->agent_ip = src.agent_ip;
    ev->log = hdr.log;
    ev->timestamp = hdr.timestamp;
    ev->program_name = hdr.program_name;
    ev->hostname = tld_predecode_hostname(&src, &hdr, ev->manager_name);
    return 0;
}
