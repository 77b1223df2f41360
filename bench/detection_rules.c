/*
 * Web attack detection through whole rulesets, side by side.
 *
 * Reads the labelled request URLs that `detection_eval --emit` writes
 * ("class<TAB>source<TAB>encoding<TAB>half<TAB>url"), puts each into an nginx access line in the
 * format of nginx's Docker image (combined followed by "$http_x_forwarded_for"), and runs every
 * line through each ruleset with the engine the manager uses (engine.h). Attack lines carry
 * status 404 and benign lines 200; every line has its own client address, so the frequency rules
 * never join lines together. With --docker-json each access line is first wrapped the way
 * Docker's json-file driver writes it ({"log":"...\n","stream":"stdout","time":"..."}, with <, >
 * and & as \u0026-style escapes) and analysed at a container log path.
 *
 * What counts: the rule the engine returns for the line.
 *   - detected as its class: the rule is one of that class's rules (class_rules below: the web
 *     rules of both rulesets that name SQL injection, XSS, traversal or command injection);
 *   - flagged: the rule has level >= 6, the level of every web attack rule;
 *   - false positive: a benign line that is flagged.
 *
 * usage: detection_rules --lines FILE [--docker-json] NAME=RULESET_DIR[,EXTRA_DECODER_FILE]...
 * Prints Markdown tables (recall per class and encoding, false positives) to stdout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/diag.h"
#include "common/err.h"
#include "common/str.h"
#include "engine/engine.h"
#include "engine/ruleset.h"

#define MAX_RULESETS   4
#define LINE_MAX_BYTES (1u << 20)

enum cls { C_SQLI, C_XSS, C_TRAV, C_CMDI, C_BENIGN, C_N };
static const char *const cls_name[C_N] = {"SQLi", "XSS", "traversal", "cmdi", "benign"};
enum enc { E_FULL, E_PLUS, E_MIN, E_SENT, E_N };
static const char *const enc_name[E_N] = {"full-%", "plus", "minimal", "as-sent"};

/* Rule ids that report each class, in our ruleset and in the Wazuh ruleset. */
static const unsigned class_rules[C_BENIGN][9] = {
    [C_SQLI] = {31103, 31152, 31164, 31165, 31170, 31171, 31109, 31507, 0},
    [C_XSS] = {31105, 31154, 0},
    [C_TRAV] = {31104, 31153, 31506, 0},
    [C_CMDI] = {31104, 31153, 31514, 0},
};

struct tally {
    long tot[C_N][E_N][2];  /* [class][encoding][half] */
    long cls[C_N][E_N][2];  /* detected as its class */
    long flag[C_N][E_N][2]; /* flagged (level >= 6) */
};

/* Generated families (bench/gen_families.py), tallied apart from the shared data set. */
#define MAX_FAM 64
struct fam_tally {
    long tot[MAX_FAM], ok[MAX_FAM]; /* ok: attack found as its class / benign not flagged */
};

struct bench {
    const char *name;
    struct fam_tally ft;
    struct tld_ruleset *rs;
    struct tld_engine_state *st;
    struct tld_worker *w;
    struct tally t;
    double seconds;
};

static int lookup(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s))
            return i;
    return -1;
}

static bool in_class(unsigned id, enum cls c)
{
    for (const unsigned *r = class_rules[c]; *r; r++)
        if (*r == id)
            return true;
    return false;
}

static int load(struct bench *b, char *spec)
{
    char *eq = strchr(spec, '=');
    if (!eq)
        return TLD_EINVAL;
    *eq = '\0';
    b->name = spec;
    char *dir = eq + 1, *extra = strchr(dir, ',');
    if (extra)
        *extra++ = '\0';
    static char paths[MAX_RULESETS][2][4096];
    static int next;
    int k = next++;
    snprintf(paths[k][0], sizeof paths[k][0], "%s/decoders", dir);
    snprintf(paths[k][1], sizeof paths[k][1], "%s/rules", dir);
    const char *decs[2] = {paths[k][0], extra}, *rules[1] = {paths[k][1]};
    struct tld_diag diag;
    tld_diag_init(&diag);
    char lists_dir[4096];
    snprintf(lists_dir, sizeof lists_dir, "%s/lists", dir);
    struct tld_ruleset_list *lists = NULL;
    unsigned nlists = 0;
    struct stat sb;
    if (stat(lists_dir, &sb) == 0 && S_ISDIR(sb.st_mode))
        (void)tld_ruleset_lists_from_dir(lists_dir, &lists, &nlists, &diag);
    struct tld_ruleset_config cfg = {
        .lists = lists,
        .nlists = nlists,
        .decoder_paths = decs,
        .ndecoder_paths = extra ? 2 : 1,
        .rule_paths = rules,
        .nrule_paths = 1,
        .log_alert_level = 1,
        .email_alert_level = 12,
    };
    int rc = tld_ruleset_load(&cfg, &b->rs, &diag);
    tld_ruleset_lists_free(lists, nlists);
    if (rc)
        tld_diag_print(&diag, stderr);
    tld_diag_fini(&diag);
    if (rc)
        return rc;
    struct tld_worker_config wc = {TLD_SV_LIT("bench"), 0};
    if ((rc = tld_engine_state_new(b->rs, &b->st)) ||
        (rc = tld_worker_new(b->rs, b->st, &wc, &b->w)))
        return rc;
    return 0;
}

/* Docker json-file form of an access line (JSON string escapes plus Docker's HTML ones). */
static void docker_json(struct tld_sb *out, const char *line)
{
    tld_sb_append_cstr(out, "{\"log\":\"");
    for (const unsigned char *p = (const unsigned char *)line; *p; p++) {
        if (*p == '"' || *p == '\\') {
            tld_sb_append_char(out, '\\');
            tld_sb_append_char(out, (char)*p);
        } else if (*p == '<' || *p == '>' || *p == '&' || *p < 0x20) {
            tld_sb_printf(out, "\\u%04x", *p);
        } else {
            tld_sb_append_char(out, (char)*p);
        }
    }
    tld_sb_append_cstr(out,
                       "\\n\",\"stream\":\"stdout\",\"time\":\"2026-11-26T15:36:42.881398863Z\"}");
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void pct(char *buf, size_t n, long a, long b)
{
    if (b)
        snprintf(buf, n, "%.2f%% (%ld/%ld)", 100.0 * (double)a / (double)b, a, b);
    else
        snprintf(buf, n, "-");
}

static void sums(const struct tally *t, enum cls c, int e, int half, long *tot, long *cl, long *fl)
{
    *tot = *cl = *fl = 0;
    for (int ee = 0; ee < E_N; ee++)
        for (int h = 0; h < 2; h++)
            if ((e < 0 || ee == e) && (half < 0 || h == half)) {
                *tot += t->tot[c][ee][h];
                *cl += t->cls[c][ee][h];
                *fl += t->flag[c][ee][h];
            }
}

/* The header of a Markdown table: the first columns, then one column per ruleset. */
static void table_head(const struct bench *b, int nb, const char *first, int nfirst)
{
    printf("%s", first);
    for (int i = 0; i < nb; i++)
        printf(" %s |", b[i].name);
    printf("\n|");
    for (int i = 0; i < nfirst + nb; i++)
        printf("---|");
    printf("\n");
}

static void report_families(struct bench *b, int nb, char *const *fam, const int *fam_cls, int nfam)
{
    if (nfam == 0)
        return;
    printf("\n### Generated families (bench/gen_families.py): attacks reported as their class, "
           "benign values not flagged\n\n");
    table_head(b, nb, "| class | family |", 2);
    char cell[64];
    for (int c = 0; c < C_N; c++) {
        long tot[MAX_RULESETS] = {0}, ok[MAX_RULESETS] = {0};
        for (int f = 0; f < nfam; f++) {
            if (fam_cls[f] != c)
                continue;
            printf("| %s | %s |", cls_name[c], fam[f]);
            for (int i = 0; i < nb; i++) {
                pct(cell, sizeof cell, b[i].ft.ok[f], b[i].ft.tot[f]);
                printf(" %s |", cell);
                tot[i] += b[i].ft.tot[f];
                ok[i] += b[i].ft.ok[f];
            }
            printf("\n");
        }
        if (!tot[0])
            continue;
        printf("| %s | **all** |", cls_name[c]);
        for (int i = 0; i < nb; i++) {
            pct(cell, sizeof cell, ok[i], tot[i]);
            printf(" **%s** |", cell);
        }
        printf("\n");
    }
}

static void report(struct bench *b, int nb, bool docker)
{
    char cell[64];
    printf("\n### Recall: attack lines reported as their class%s\n\n",
           docker ? " (Docker json-file lines)" : "");
    table_head(b, nb, "| class | encoding |", 2);
    for (int c = 0; c < C_BENIGN; c++)
        for (int e = -1; e < E_SENT; e++) {
            long tot, cl, fl;
            sums(&b[0].t, (enum cls)c, e, -1, &tot, &cl, &fl);
            if (!tot)
                continue;
            printf("| %s | %s |", e < 0 ? cls_name[c] : "", e < 0 ? "**all**" : enc_name[e]);
            for (int i = 0; i < nb; i++) {
                sums(&b[i].t, (enum cls)c, e, -1, &tot, &cl, &fl);
                pct(cell, sizeof cell, cl, tot);
                printf(e < 0 ? " **%s** |" : " %s |", cell);
            }
            printf("\n");
        }
    printf("\n### Attack lines flagged by any web attack rule (level >= 6), and by half\n\n"
           "| class |");
    for (int i = 0; i < nb; i++)
        printf(" %s: flagged | %s: class, half A | %s: class, half B |", b[i].name, b[i].name,
               b[i].name);
    printf("\n|---|");
    for (int i = 0; i < nb; i++)
        printf("---|---|---|");
    printf("\n");
    for (int c = 0; c < C_BENIGN; c++) {
        printf("| %s |", cls_name[c]);
        for (int i = 0; i < nb; i++) {
            long tot, cl, fl;
            sums(&b[i].t, (enum cls)c, -1, -1, &tot, &cl, &fl);
            pct(cell, sizeof cell, fl, tot);
            printf(" %s |", cell);
            for (int h = 0; h < 2; h++) {
                sums(&b[i].t, (enum cls)c, -1, h, &tot, &cl, &fl);
                pct(cell, sizeof cell, cl, tot);
                printf(" %s |", cell);
            }
        }
        printf("\n");
    }
    printf("\n### False positives: benign lines flagged (level >= 6)\n\n");
    table_head(b, nb, "| benign source |", 1);
    for (int e = -1; e < E_N; e++) {
        long tot, cl, fl;
        sums(&b[0].t, C_BENIGN, e, -1, &tot, &cl, &fl);
        if (!tot)
            continue;
        printf("| %s |", e < 0         ? "**all**"
                         : e == E_SENT ? "generated requests (as sent)"
                                       : enc_name[e]);
        for (int i = 0; i < nb; i++) {
            sums(&b[i].t, C_BENIGN, e, -1, &tot, &cl, &fl);
            snprintf(cell, sizeof cell, "%.3f%% (%ld/%ld)",
                     tot ? 100.0 * (double)fl / (double)tot : 0.0, fl, tot);
            printf(e < 0 ? " **%s** |" : " %s |", cell);
        }
        printf("\n");
    }
    printf("\nAnalysis time (CPU):");
    for (int i = 0; i < nb; i++)
        printf(" %s %.1f s;", b[i].name, b[i].seconds);
    printf("\n");
}

int main(int argc, char **argv)
{
    const char *lines = NULL;
    bool docker = false;
    struct bench b[MAX_RULESETS];
    int nb = 0, show = 0;
    memset(b, 0, sizeof b);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--lines") && i + 1 < argc) {
            lines = argv[++i];
        } else if (!strcmp(argv[i], "--docker-json")) {
            docker = true;
        } else if (!strcmp(argv[i], "--show") && i + 1 < argc) {
            show = atoi(argv[++i]);
        } else if (strchr(argv[i], '=') && nb < MAX_RULESETS) {
            int rc = load(&b[nb], argv[i]);
            if (rc) {
                fprintf(stderr, "detection_rules: cannot load %s: %s\n", argv[i], tld_err_str(rc));
                return 1;
            }
            nb++;
        } else {
            fprintf(stderr,
                    "usage: %s --lines FILE [--docker-json] [--show N] "
                    "NAME=RULESET_DIR[,EXTRA_DECODER_FILE]...\n",
                    argv[0]);
            return 2;
        }
    }
    FILE *f = lines ? fopen(lines, "r") : NULL;
    if (!f || nb == 0) {
        fprintf(stderr, "detection_rules: need --lines FILE and at least one ruleset\n");
        return 2;
    }
    char *buf = malloc(LINE_MAX_BYTES);
    struct tld_sb line, wrapped;
    tld_sb_init(&line, LINE_MAX_BYTES);
    tld_sb_init(&wrapped, 2 * LINE_MAX_BYTES);
    long n = 0;
    int shown[MAX_RULESETS][C_N] = {{0}};
    char *fam[MAX_FAM];
    int fam_cls[MAX_FAM], nfam = 0;
    while (buf && fgets(buf, (int)LINE_MAX_BYTES, f)) {
        char *field[5], *p = buf;
        buf[strcspn(buf, "\n")] = '\0';
        int k = 0;
        for (; k < 4; k++) {
            field[k] = p;
            char *tab = strchr(p, '\t');
            if (!tab)
                break;
            *tab = '\0';
            p = tab + 1;
        }
        if (k < 4)
            continue;
        field[4] = p;
        int c = lookup(cls_name, C_N, field[0]), e = lookup(enc_name, E_N, field[2]);
        int half = field[3][0] == 'B';
        if (c < 0 || e < 0)
            continue;
        int fi = -1;
        if (strncmp(field[1], "fam:", 4) == 0) {
            for (int k2 = 0; k2 < nfam; k2++)
                if (!strcmp(fam[k2], field[1] + 4))
                    fi = k2;
            if (fi < 0 && nfam < MAX_FAM) {
                fam[nfam] = strdup(field[1] + 4);
                fam_cls[nfam] = c;
                fi = nfam++;
            }
            if (fi < 0)
                continue;
        }
        n++;
        tld_sb_reset(&line);
        tld_sb_printf(&line,
                      "10.%ld.%ld.%ld - - [26/Nov/2026:15:36:42 +0000] \"GET %s HTTP/1.1\" %d 512 "
                      "\"-\" \"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 "
                      "Firefox/128.0\" \"-\"",
                      (n >> 16) & 255, (n >> 8) & 255, n & 255, field[4],
                      c == C_BENIGN ? 200 : 404);
        struct tld_sv text = tld_sb_view(&line);
        struct tld_sv loc = TLD_SV_LIT("/var/log/nginx/access.log");
        if (docker) {
            tld_sb_reset(&wrapped);
            docker_json(&wrapped, tld_sb_cstr(&line));
            text = tld_sb_view(&wrapped);
            loc = TLD_SV_LIT("/var/lib/docker/containers/3f4e/3f4e-json.log");
        }
        for (int i = 0; i < nb; i++) {
            struct tld_engine_input in = {
                .queue = '1', .location = loc, .text = text, .time_ns = 1795707400000000000LL + n};
            double t0 = cpu_now();
            tld_worker_process(b[i].w, &in);
            b[i].seconds += cpu_now() - t0;
            const struct tld_rule_hit *hit = tld_worker_hit(b[i].w);
            unsigned id = hit->rule ? (unsigned)strtoul(hit->rule->id_str, NULL, 10) : 0;
            unsigned level = hit->rule ? hit->rule->level : 0;
            struct tally *t = &b[i].t;
            bool flagged = level >= 6, as_class = c != C_BENIGN && in_class(id, (enum cls)c);
            bool wrong = c == C_BENIGN ? flagged : !as_class;
            if (fi >= 0) {
                b[i].ft.tot[fi]++;
                b[i].ft.ok[fi] += !wrong;
            } else {
                t->tot[c][e][half]++;
                t->flag[c][e][half] += flagged;
                t->cls[c][e][half] += as_class;
            }
            if (wrong && shown[i][c] < show) {
                shown[i][c]++;
                fprintf(stderr, "%s %s %s [%s] rule %u: %.300s\n", b[i].name,
                        c == C_BENIGN ? "FP  " : "MISS", cls_name[c], enc_name[e], id, field[4]);
            }
        }
    }
    fclose(f);
    report(b, nb, docker);
    report_families(b, nb, fam, fam_cls, nfam);
    for (int k2 = 0; k2 < nfam; k2++)
        free(fam[k2]);
    for (int i = 0; i < nb; i++) {
        tld_worker_free(b[i].w);
        tld_engine_state_free(b[i].st);
        tld_ruleset_unref(b[i].rs);
    }
    tld_sb_fini(&line);
    tld_sb_fini(&wrapped);
    free(buf);
    return 0;
}
