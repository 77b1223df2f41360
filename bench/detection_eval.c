/*
 * Detection evaluation for the web attack detectors (src/engine/webattack/webattack.h).
 *
 * Reads labelled payloads by path - the HttpParamsDataset training split (raw values) and the
 * libinjection test files (URL-encoded user input, decoded once here) - puts each payload as a
 * query parameter value into a realistic route, in three encodings (every byte percent-encoded;
 * form encoding with '+' for spaces; the minimal encoding a command-line client sends, with the
 * access log's \xHH escaping of quotes and backslashes on top), and runs tld_webattack_scan on
 * the URL as it would stand in an nginx access log. Benign inputs are the dataset's normal
 * values, libinjection's false_positives.txt (wrapped the same way) and a file of complete benign
 * request URLs (bench/gen_benign.py). It prints recall per class and encoding, the false-positive
 * rate with counts, a few misses and false positives, and the scan speed on benign URLs.
 *
 * Every payload is assigned to half A or B by a hash of its bytes; figures are given for both
 * halves so development on one half can be checked on the other. Misses and false positives are
 * listed from half A only unless --show-half B is given.
 *
 * usage: detection_eval [--shared DIR] [--benign FILE] [--show N] [--show-half A|B|all]
 *                       [--no-gen-split] [--emit FILE]
 *
 * --emit FILE writes every request URL built here, one per line, as
 * "class<TAB>source<TAB>encoding<TAB>half<TAB>url" (class and source names as printed, half A or B)
 * and exits without scanning: bench/detection_rules.c runs the same requests through whole
 * rulesets.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <time.h>

#include "engine/webattack/webattack.h"

enum cls { C_SQLI, C_XSS, C_TRAV, C_CMDI, C_BENIGN, C_N };
static const char *cls_name[C_N] = {"SQLi", "XSS", "traversal", "cmdi", "benign"};
static const unsigned cls_kind[C_N] = {TLD_WEBATTACK_SQLI, TLD_WEBATTACK_XSS,
                                       TLD_WEBATTACK_TRAVERSAL, TLD_WEBATTACK_CMDI, 0};

enum src { S_HTTPPARAMS, S_LIBINJ, S_GEN, S_FAM, S_N };
static const char *src_name[S_N] = {"httpparams", "libinjection", "generated", "families"};

enum enc { E_FULL, E_PLUS, E_MIN, E_N };
static const char *enc_name[E_N] = {"full-%", "plus", "minimal"};

struct payload {
    char *p;
    size_t n;
    enum cls cls;
    enum src src;
    int half; /* 0 = A, 1 = B */
    int fam;  /* S_FAM: index into set.fam */
};

#define MAX_FAM 64

struct set {
    struct payload *v;
    size_t n, cap;
    char *fam[MAX_FAM]; /* family names of bench/gen_families.py, in the order first seen */
    int nfam;
};

static void add(struct set *s, const char *p, size_t n, enum cls c, enum src src)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v) {
            perror("realloc");
            exit(2);
        }
    }
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 16777619u;
    struct payload *x = &s->v[s->n++];
    x->p = malloc(n + 1);
    if (!x->p) {
        perror("malloc");
        exit(2);
    }
    memcpy(x->p, p, n);
    x->p[n] = 0;
    x->n = n;
    x->cls = c;
    x->src = src;
    x->half = (int)((h >> 7) & 1);
    x->fam = 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    size_t r;
    while (b && (r = fread(b + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    fclose(f);
    if (!b)
        return NULL;
    *len = n;
    return b;
}

/* ---- HttpParamsDataset CSV --------------------------------------------------------------------
 */

/* Parse one CSV field at *pp (quoted with "" escapes, or bare); returns its decoded length. */
static size_t csv_field(char **pp, char *end, char *out)
{
    char *p = *pp;
    size_t o = 0;
    if (p < end && *p == '"') {
        p++;
        while (p < end) {
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"') {
                    out[o++] = '"';
                    p += 2;
                    continue;
                }
                p++;
                break;
            }
            out[o++] = *p++;
        }
    } else {
        while (p < end && *p != ',' && *p != '\n' && *p != '\r')
            out[o++] = *p++;
    }
    *pp = p;
    return o;
}

static int load_httpparams(struct set *s, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/httpparams-train.csv", dir);
    size_t len;
    char *b = slurp(path, &len);
    if (!b) {
        printf("skip: %s is absent\n", path);
        return 0;
    }
    char *p = b, *end = b + len;
    char *field[4];
    size_t flen[4];
    char *tmp = malloc(len + 1);
    int rows = 0;
    bool header = true;
    while (p < end) {
        size_t used = 0;
        for (int k = 0; k < 4; k++) {
            field[k] = tmp + used;
            flen[k] = csv_field(&p, end, tmp + used);
            used += flen[k];
            if (p < end && *p == ',')
                p++;
        }
        while (p < end && (*p == '\r' || *p == '\n'))
            p++;
        if (header) {
            header = false;
            continue;
        }
        enum cls c;
        if (flen[2] == 4 && memcmp(field[2], "sqli", 4) == 0)
            c = C_SQLI;
        else if (flen[2] == 3 && memcmp(field[2], "xss", 3) == 0)
            c = C_XSS;
        else if (flen[2] == 14 && memcmp(field[2], "path-traversal", 14) == 0)
            c = C_TRAV;
        else if (flen[2] == 4 && memcmp(field[2], "cmdi", 4) == 0)
            c = C_CMDI;
        else if (flen[2] == 4 && memcmp(field[2], "norm", 4) == 0)
            c = C_BENIGN;
        else
            continue;
        add(s, field[0], flen[0], c, S_HTTPPARAMS);
        rows++;
    }
    free(tmp);
    free(b);
    return rows;
}

/* ---- libinjection test files ------------------------------------------------------------------
 */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* One round of percent-decoding of p[0..l) into dec (and of '+' into ' ' when plus). */
static size_t percent_decode(const char *p, size_t l, bool plus, char *dec)
{
    size_t o = 0;
    for (size_t i = 0; i < l; i++) {
        int h1 = i + 2 < l ? hexval(p[i + 1]) : -1, h2 = i + 2 < l ? hexval(p[i + 2]) : -1;
        if (p[i] == '+' && plus) {
            dec[o++] = ' ';
        } else if (p[i] == '%' && h1 >= 0 && h2 >= 0) {
            dec[o++] = (char)(h1 * 16 + h2);
            i += 2;
        } else {
            dec[o++] = p[i];
        }
    }
    return o;
}

static int load_lines(struct set *s, const char *path, enum cls c)
{
    size_t len;
    char *b = slurp(path, &len);
    if (!b)
        return 0;
    int rows = 0;
    char *dec = malloc(len + 1);
    for (char *p = b, *end = b + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        size_t l = (size_t)(e - p);
        if (l && p[l - 1] == '\r')
            l--;
        if (l > 0 && p[0] != '#') {
            /* one round of form decoding, as the files hold encoded user input */
            size_t o = percent_decode(p, l, true, dec);
            add(s, dec, o, c, S_LIBINJ);
            rows++;
        }
        p = e + 1;
    }
    free(dec);
    free(b);
    return rows;
}

static int load_libinjection(struct set *s, const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/libinjection", dir);
    DIR *d = opendir(path);
    if (!d) {
        printf("skip: %s is absent\n", path);
        return 0;
    }
    struct dirent *e;
    char *names[256];
    int nn = 0;
    while ((e = readdir(d)) && nn < 256)
        if (strstr(e->d_name, ".txt"))
            names[nn++] = strdup(e->d_name);
    closedir(d);
    /* a fixed order keeps runs comparable */
    for (int i = 1; i < nn; i++)
        for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    int rows = 0;
    for (int i = 0; i < nn; i++) {
        char fp[8192];
        snprintf(fp, sizeof fp, "%s/%s", path, names[i]);
        if (strncmp(names[i], "sqli-", 5) == 0)
            rows += load_lines(s, fp, C_SQLI);
        else if (strncmp(names[i], "xss-", 4) == 0)
            rows += load_lines(s, fp, C_XSS);
        else if (strcmp(names[i], "false_positives.txt") == 0)
            rows += load_lines(s, fp, C_BENIGN);
        free(names[i]);
    }
    return rows;
}

/* ---- generated families (bench/gen_families.py) ---------------------------------------------- */

static int family_index(struct set *s, const char *name, size_t n)
{
    for (int i = 0; i < s->nfam; i++)
        if (strlen(s->fam[i]) == n && memcmp(s->fam[i], name, n) == 0)
            return i;
    if (s->nfam == MAX_FAM)
        return -1;
    s->fam[s->nfam] = strndup(name, n);
    return s->nfam++;
}

/* "class<TAB>family<TAB>payload" lines, the payload percent-encoded once. */
static int load_families(struct set *s, const char *path)
{
    size_t len;
    char *b = slurp(path, &len);
    if (!b) {
        printf("skip: family file %s is absent\n", path);
        return 0;
    }
    int rows = 0;
    char *dec = malloc(len + 1);
    for (char *p = b, *end = b + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        char *t1 = memchr(p, '\t', (size_t)(e - p));
        char *t2 = t1 ? memchr(t1 + 1, '\t', (size_t)(e - t1 - 1)) : NULL;
        int c = -1;
        for (int k = 0; t1 && k < C_N; k++)
            if ((size_t)(t1 - p) == strlen(cls_name[k]) &&
                memcmp(p, cls_name[k], (size_t)(t1 - p)) == 0)
                c = k;
        int fi = t2 ? family_index(s, t1 + 1, (size_t)(t2 - t1 - 1)) : -1;
        if (c >= 0 && fi >= 0) {
            size_t o = percent_decode(t2 + 1, (size_t)(e - t2 - 1), false, dec);
            add(s, dec, o, (enum cls)c, S_FAM);
            s->v[s->n - 1].fam = fi;
            rows++;
        }
        p = e + 1;
    }
    free(dec);
    free(b);
    return rows;
}

/* ---- request construction -------------------------------------------------------------------- */

struct route {
    const char *prefix; /* path and parameters before the payload, ending in "name=" */
    const char *suffix; /* parameters after it (may be empty) */
};
static const struct route routes[] = {
    {"/search?q=", "&page=1"},
    {"/index.php?id=", ""},
    {"/products?category=shoes&sort=", "&limit=24"},
    {"/api/v1/users?name=", "&fields=id,name"},
    {"/login?next=", ""},
    {"/catalog/item.php?sku=A1234&ref=", ""},
    {"/blog/comments?post=42&author=", "&reply=1"},
    {"/cgi-bin/view.cgi?file=", ""},
    {"/shop/cart?coupon=", "&currency=EUR"},
    {"/wp/?s=", ""},
};

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

static size_t put_hex(char *o, unsigned char c)
{
    static const char hx[] = "0123456789ABCDEF";
    o[0] = '%';
    o[1] = hx[c >> 4];
    o[2] = hx[c & 15];
    return 3;
}

/* Encode p into o (sized 4n+1 at least); returns the length. */
static size_t encode(const char *p, size_t n, enum enc e, char *o)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        switch (e) {
        case E_FULL:
            k += unreserved(c) ? (o[k] = (char)c, 1) : put_hex(o + k, c);
            break;
        case E_PLUS:
            if (c == ' ')
                o[k++] = '+';
            else if (unreserved(c) || c == '*')
                o[k++] = (char)c;
            else
                k += put_hex(o + k, c);
            break;
        case E_MIN:
            if (c <= 0x20 || c >= 0x7f || c == '%' || c == '&' || c == '#' || c == '+') {
                k += put_hex(o + k, c);
            } else if (c == '"' || c == '\\') {
                /* nginx writes these as \xHH in the access log */
                k += (size_t)sprintf(o + k, "\\x%02X", c);
            } else {
                o[k++] = (char)c;
            }
            break;
        default:
            break;
        }
    }
    o[k] = 0;
    return k;
}

static size_t build_url(const struct payload *x, size_t idx, enum enc e, char *out, char *tmp)
{
    const struct route *r = &routes[idx % (sizeof routes / sizeof routes[0])];
    size_t k = (size_t)sprintf(out, "%s", r->prefix);
    size_t el = encode(x->p, x->n, e, tmp);
    memcpy(out + k, tmp, el);
    k += el;
    k += (size_t)sprintf(out + k, "%s", r->suffix);
    return k;
}

/* ---- tallies ------------------------------------------------------------------------------------
 */

struct tally {
    long hit[C_N][S_N][E_N][2]; /* [class][source][encoding][half] */
    long tot[C_N][S_N][E_N][2];
    long any[C_N][S_N][E_N][2]; /* flagged as any kind */
};

static void print_recall(const struct tally *t)
{
    printf("\n== Recall (flagged with the right kind; 'any' = flagged with any kind) ==\n");
    printf("%-10s %-9s %22s %22s %22s %8s\n", "class", "encoding", "all", "half A (dev)",
           "half B (check)", "any");
    for (int c = 0; c < C_BENIGN; c++) {
        for (int e = 0; e <= E_N; e++) {
            long h[2] = {0, 0}, n[2] = {0, 0}, a = 0;
            for (int s = 0; s < S_N; s++)
                for (int hf = 0; hf < 2; hf++)
                    for (int ee = 0; ee < E_N; ee++)
                        if (e == E_N || ee == e) {
                            h[hf] += t->hit[c][s][ee][hf];
                            n[hf] += t->tot[c][s][ee][hf];
                            a += t->any[c][s][ee][hf];
                        }
            if (n[0] + n[1] == 0)
                continue;
            char b0[40], b1[40], b2[40];
            snprintf(b0, sizeof b0, "%ld/%ld %6.2f%%", h[0] + h[1], n[0] + n[1],
                     100.0 * (double)(h[0] + h[1]) / (double)(n[0] + n[1]));
            snprintf(b1, sizeof b1, "%ld/%ld %6.2f%%", h[0], n[0],
                     n[0] ? 100.0 * (double)h[0] / (double)n[0] : 0.0);
            snprintf(b2, sizeof b2, "%ld/%ld %6.2f%%", h[1], n[1],
                     n[1] ? 100.0 * (double)h[1] / (double)n[1] : 0.0);
            printf("%-10s %-9s %22s %22s %22s %7.2f%%\n", cls_name[c],
                   e == E_N ? "overall" : enc_name[e], b0, b1, b2,
                   100.0 * (double)a / (double)(n[0] + n[1]));
        }
        for (int s = 0; s < S_N; s++) {
            long h = 0, n = 0;
            for (int e = 0; e < E_N; e++)
                for (int hf = 0; hf < 2; hf++) {
                    h += t->hit[c][s][e][hf];
                    n += t->tot[c][s][e][hf];
                }
            if (n)
                printf("%-10s   source %-14s %ld/%ld %6.2f%%\n", "", src_name[s], h, n,
                       100.0 * (double)h / (double)n);
        }
    }
}

static void print_fp(const struct tally *t)
{
    printf("\n== False positives on benign requests (flagged with any kind) ==\n");
    printf("%-14s %-9s %24s %24s %24s\n", "source", "encoding", "all", "half A (dev)",
           "half B (check)");
    long gh[2] = {0, 0}, gn[2] = {0, 0};
    for (int s = 0; s < S_N; s++)
        for (int e = 0; e < E_N; e++) {
            long h0 = t->any[C_BENIGN][s][e][0], h1 = t->any[C_BENIGN][s][e][1];
            long n0 = t->tot[C_BENIGN][s][e][0], n1 = t->tot[C_BENIGN][s][e][1];
            if (n0 + n1 == 0)
                continue;
            gh[0] += h0;
            gh[1] += h1;
            gn[0] += n0;
            gn[1] += n1;
            char b0[48], b1[48], b2[48];
            snprintf(b0, sizeof b0, "%ld/%ld %7.3f%%", h0 + h1, n0 + n1,
                     100.0 * (double)(h0 + h1) / (double)(n0 + n1));
            snprintf(b1, sizeof b1, "%ld/%ld %7.3f%%", h0, n0,
                     n0 ? 100.0 * (double)h0 / (double)n0 : 0);
            snprintf(b2, sizeof b2, "%ld/%ld %7.3f%%", h1, n1,
                     n1 ? 100.0 * (double)h1 / (double)n1 : 0);
            printf("%-14s %-9s %24s %24s %24s\n", src_name[s], s == S_GEN ? "as-sent" : enc_name[e],
                   b0, b1, b2);
        }
    if (gn[0] + gn[1])
        printf("%-14s %-9s %17ld/%ld %7.3f%% %17ld/%ld %7.3f%% %17ld/%ld %7.3f%%\n", "ALL", "",
               gh[0] + gh[1], gn[0] + gn[1],
               100.0 * (double)(gh[0] + gh[1]) / (double)(gn[0] + gn[1]), gh[0], gn[0],
               gn[0] ? 100.0 * (double)gh[0] / (double)gn[0] : 0, gh[1], gn[1],
               gn[1] ? 100.0 * (double)gh[1] / (double)gn[1] : 0);
}

/* Per generated family: attacks detected as their class, benign values left alone. */
struct fam_tally {
    long hit[MAX_FAM][E_N], tot[MAX_FAM][E_N];
    enum cls cls[MAX_FAM];
};

static void print_families(const struct set *set, const struct fam_tally *ft)
{
    printf("\n== Generated families (bench/gen_families.py): attacks found as their class, "
           "benign values not flagged ==\n");
    printf("%-10s %-28s %22s %s\n", "class", "family", "all encodings", "full-% / plus / minimal");
    for (int c = 0; c < C_N; c++)
        for (int i = 0; i < set->nfam; i++) {
            if (ft->cls[i] != (enum cls)c)
                continue;
            long h = 0, n = 0;
            for (int e = 0; e < E_N; e++)
                h += ft->hit[i][e], n += ft->tot[i][e];
            if (!n)
                continue;
            char b[40];
            snprintf(b, sizeof b, "%ld/%ld %6.2f%%", h, n, 100.0 * (double)h / (double)n);
            printf("%-10s %-28s %22s", cls_name[c], set->fam[i], b);
            for (int e = 0; e < E_N; e++)
                printf(" %ld", ft->hit[i][e]);
            printf("\n");
        }
}

static int load_benign_urls(struct set *s, const char *path)
{
    size_t len;
    char *b = slurp(path, &len);
    if (!b) {
        printf("skip: benign URL file %s is absent\n", path);
        return 0;
    }
    int rows = 0;
    for (char *p = b, *end = b + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *e = nl ? nl : end;
        if (e > p) {
            add(s, p, (size_t)(e - p), C_BENIGN, S_GEN);
            rows++;
        }
        p = e + 1;
    }
    free(b);
    return rows;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const char *shared = "../shared";
    const char *benign = NULL, *families = NULL;
    int show = 8, show_half = 0;
    const char *emit = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--shared") && i + 1 < argc)
            shared = argv[++i];
        else if (!strcmp(argv[i], "--benign") && i + 1 < argc)
            benign = argv[++i];
        else if (!strcmp(argv[i], "--families") && i + 1 < argc)
            families = argv[++i];
        else if (!strcmp(argv[i], "--emit") && i + 1 < argc)
            emit = argv[++i];
        else if (!strcmp(argv[i], "--show") && i + 1 < argc)
            show = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--show-half") && i + 1 < argc) {
            i++;
            show_half = argv[i][0] == 'B' ? 1 : argv[i][0] == 'A' ? 0 : 2;
        } else {
            fprintf(stderr,
                    "usage: %s [--shared DIR] [--benign FILE] [--show N] "
                    "[--show-half A|B|all] [--families FILE] [--emit FILE]\n",
                    argv[0]);
            return 2;
        }
    }
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/web-attacks", shared);
    struct set set = {0};
    int a = load_httpparams(&set, dir);
    int b = load_libinjection(&set, dir);
    int g = benign ? load_benign_urls(&set, benign) : 0;
    int fm = families ? load_families(&set, families) : 0;
    printf("payloads: httpparams %d, libinjection %d, generated benign URLs %d, families %d\n", a,
           b, g, fm);
    if (a + b + g + fm == 0) {
        printf("nothing to evaluate (web-attacks data set absent); skipping\n");
        return 0;
    }

    static struct tld_webattack_scratch scratch;
    static struct tally t;
    static struct fam_tally ft;
    size_t maxn = 0;
    for (size_t i = 0; i < set.n; i++)
        if (set.v[i].n > maxn)
            maxn = set.v[i].n;
    char *url = malloc(maxn * 4 + 512), *tmp = malloc(maxn * 4 + 512);
    if (emit) {
        FILE *f = fopen(emit, "w");
        if (!f) {
            perror(emit);
            return 2;
        }
        for (size_t i = 0; i < set.n; i++) {
            const struct payload *x = &set.v[i];
            for (int e = 0; e < (x->src == S_GEN ? 1 : E_N); e++) {
                size_t ul = x->src == S_GEN ? x->n : build_url(x, i, (enum enc)e, url, tmp);
                fprintf(f, "%s\t%s%s\t%s\t%c\t%.*s\n", cls_name[x->cls],
                        x->src == S_FAM ? "fam:" : "",
                        x->src == S_FAM ? set.fam[x->fam] : src_name[x->src],
                        x->src == S_GEN ? "as-sent" : enc_name[e], x->half ? 'B' : 'A', (int)ul,
                        x->src == S_GEN ? x->p : url);
            }
        }
        fclose(f);
        return 0;
    }
    int shown[C_N] = {0};
    double gen_time = 0;
    long gen_count = 0;
    for (size_t i = 0; i < set.n; i++) {
        const struct payload *x = &set.v[i];
        int nenc = x->src == S_GEN ? 1 : E_N;
        for (int e = 0; e < nenc; e++) {
            size_t ul;
            const char *u;
            if (x->src == S_GEN) {
                u = x->p;
                ul = x->n;
            } else {
                ul = build_url(x, i, (enum enc)e, url, tmp);
                u = url;
            }
            double t0 = x->src == S_GEN ? now() : 0;
            unsigned k = tld_webattack_scan(u, ul, &scratch);
            if (x->src == S_GEN) {
                gen_time += now() - t0;
                gen_count++;
            }
            bool ok = x->cls == C_BENIGN ? k == 0 : (k & cls_kind[x->cls]) != 0;
            if (x->src == S_FAM) {
                /* kept apart: the class tables stay those of the shared data set */
                ft.tot[x->fam][e]++;
                ft.hit[x->fam][e] += ok;
                ft.cls[x->fam] = x->cls;
            } else {
                t.tot[x->cls][x->src][e][x->half]++;
                if (k)
                    t.any[x->cls][x->src][e][x->half]++;
                if (x->cls != C_BENIGN && ok)
                    t.hit[x->cls][x->src][e][x->half]++;
            }
            if (!ok && shown[x->cls] < show && (show_half == 2 || x->half == show_half)) {
                shown[x->cls]++;
                printf("%s %s [%s/%s]: %.*s\n", x->cls == C_BENIGN ? "FP  " : "MISS",
                       cls_name[x->cls], src_name[x->src], x->src == S_GEN ? "url" : enc_name[e],
                       (int)(ul > 300 ? 300 : ul), u);
                if (x->cls == C_BENIGN) {
                    printf("      kinds:");
                    for (unsigned bit = 1; bit <= TLD_WEBATTACK_CMDI; bit <<= 1)
                        if (k & bit)
                            printf(" %s", tld_webattack_kind_name(bit));
                    printf("\n");
                }
            }
        }
    }
    print_recall(&t);
    print_fp(&t);
    if (set.nfam)
        print_families(&set, &ft);
    if (gen_count)
        printf("\nscan speed on generated benign URLs: %.3f us/URL (%ld URLs)\n",
               1e6 * gen_time / (double)gen_count, gen_count);
    for (size_t i = 0; i < set.n; i++)
        free(set.v[i].p);
    free(set.v);
    for (int i = 0; i < set.nfam; i++)
        free(set.fam[i]);
    free(url);
    free(tmp);
    return 0;
}
