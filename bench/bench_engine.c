/*
 * Engine throughput driver for `make bench` (bench/engine.sh). It drives the engine exactly as the
 * manager does: one shared struct tld_engine_state per ruleset snapshot, one struct tld_worker
 * per thread, tld_worker_process() for every event and tld_worker_format_alert() for every event
 * that writes an alert. Events come from agent 001 unless --local.
 *
 *   bench_engine [--ruleset DIR]... [--decoders PATH]... [--rules PATH]... --corpus FILE
 *                [--threads N]... [--local] [--rss] [--dump FILE]
 *
 * The corpus is bench/gen_corpus.py's TSV (location, container id, name, image, event text).
 * Without --rss the whole corpus is read into memory first, so a timed pass measures the engine
 * alone; one pass runs per --threads value (default 1 and 2), each on a fresh engine state, the
 * events dealt to the threads in turn (thread t takes events t, t + N, ...), so that the shared
 * correlation state sees them in time order, as a manager's workers would. Output is one JSON
 * object per line:
 *   {"load_seconds":..., "rules":..., "decoders":...}
 *   {"threads":N, "events":..., "seconds":..., "eps":..., "eps_per_thread":..., "alerts":...,
 *    "undecoded":..., "alert_bytes":..., "voluntary_switches":..., "involuntary_switches":...,
 *    "top_rules":"id:count ..."}
 * With --rss the corpus is streamed line by line through two workers (alternating, as two
 * threads would use them) and the process's peak resident size is reported, so the figure is
 * the engine's memory, not the corpus's: {"rss_kib":..., "events":...}.
 * --dump writes, for every event of the one-thread pass, its alert (or "-") and its archive
 * JSON, so two builds of the engine can be compared byte for byte on a corpus.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "common/err.h"
#include "engine/engine.h"

#define MAX_PATHS      64
#define MAX_THREADS    8
#define MAX_CONTAINERS 256
#define BASE_TIME_NS   1795707399926312375LL
#define EVENT_STEP_NS  2000000LL /* 2 ms of receipt time between consecutive events */

struct line {
    struct tld_sv location;
    const struct tld_container_meta *container;
    struct tld_sv text;
};

struct corpus {
    char *buf;
    struct line *lines;
    size_t n;
    struct tld_container_meta containers[MAX_CONTAINERS];
    unsigned ncontainers;
};

static struct {
    const char *rulesets[MAX_PATHS], *decoders[MAX_PATHS], *rules[MAX_PATHS];
    unsigned nrulesets, ndecoders, nrules;
    const char *corpus;
    unsigned threads[MAX_THREADS];
    unsigned nthreads;
    bool local, rss;
    const char *dump; /* --dump FILE: every event's archive JSON and alert, 1-thread pass */
} opt;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_engine: %s\n", what);
    exit(1);
}

/* ---- ruleset ----------------------------------------------------------------------------------
 */

static struct tld_ruleset *load_ruleset(double *seconds)
{
    static char dpaths[MAX_PATHS][4096], rpaths[MAX_PATHS][4096];
    const char *dec[2 * MAX_PATHS], *rul[2 * MAX_PATHS];
    unsigned nd = 0, nr = 0, nlists = 0;
    struct tld_ruleset_list *lists = NULL;
    struct tld_diag diag;
    tld_diag_init(&diag);
    double t0 = now_s();
    for (unsigned i = 0; i < opt.nrulesets; i++) {
        snprintf(dpaths[i], sizeof dpaths[i], "%s/decoders", opt.rulesets[i]);
        snprintf(rpaths[i], sizeof rpaths[i], "%s/rules", opt.rulesets[i]);
        dec[nd++] = dpaths[i];
        rul[nr++] = rpaths[i];
        char ldir[4096];
        struct stat st;
        snprintf(ldir, sizeof ldir, "%s/lists", opt.rulesets[i]);
        if (stat(ldir, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        struct tld_ruleset_list *more = NULL;
        unsigned nmore = 0;
        if (tld_ruleset_lists_from_dir(ldir, &more, &nmore, &diag) != 0)
            continue;
        struct tld_ruleset_list *all = realloc(lists, (nlists + nmore + 1) * sizeof *all);
        if (!all)
            die("out of memory");
        memcpy(all + nlists, more, nmore * sizeof *more);
        lists = all;
        nlists += nmore;
        free(more);
    }
    for (unsigned i = 0; i < opt.ndecoders; i++)
        dec[nd++] = opt.decoders[i];
    for (unsigned i = 0; i < opt.nrules; i++)
        rul[nr++] = opt.rules[i];
    struct tld_ruleset_config cfg = {
        .decoder_paths = dec,
        .ndecoder_paths = nd,
        .rule_paths = rul,
        .nrule_paths = nr,
        .lists = lists,
        .nlists = nlists,
        .log_alert_level = 3,
        .email_alert_level = 12,
    };
    struct tld_ruleset *rs = NULL;
    int err = tld_ruleset_load(&cfg, &rs, &diag);
    *seconds = now_s() - t0;
    tld_ruleset_lists_free(lists, nlists);
    if (err) {
        for (unsigned i = 0; i < diag.kept; i++)
            if (diag.msgs[i].sev == TLD_DIAG_ERROR)
                fprintf(stderr, "%s\n", diag.msgs[i].text);
        die("the ruleset did not load");
    }
    tld_diag_fini(&diag);
    return rs;
}

/* ---- corpus -----------------------------------------------------------------------------------
 */

static struct tld_sv next_col(char **p, char *end)
{
    char *s = *p, *tab = memchr(s, '\t', (size_t)(end - s));
    char *e = tab ? tab : end;
    *p = tab ? tab + 1 : end;
    return tld_sv_make(s, (size_t)(e - s));
}

static const struct tld_container_meta *intern_container(struct corpus *c, struct tld_sv id,
                                                         struct tld_sv name, struct tld_sv image)
{
    if (tld_sv_eq_cstr(id, "-"))
        return NULL;
    for (unsigned i = 0; i < c->ncontainers; i++)
        if (tld_sv_eq(c->containers[i].id, id))
            return &c->containers[i];
    if (c->ncontainers == MAX_CONTAINERS)
        die("too many distinct containers in the corpus");
    struct tld_container_meta *m = &c->containers[c->ncontainers++];
    *m = (struct tld_container_meta){.id = id, .name = name, .image = image};
    return m;
}

/* Split one TSV line (modified in place: no copy, the views point into it). */
static bool parse_line(struct corpus *c, char *s, size_t n, struct line *out)
{
    char *p = s, *end = s + n;
    struct tld_sv loc = next_col(&p, end), id = next_col(&p, end), name = next_col(&p, end),
                  image = next_col(&p, end);
    if (p >= end)
        return false;
    out->location = loc;
    out->container = intern_container(c, id, name, image);
    out->text = tld_sv_make(p, (size_t)(end - p));
    return true;
}

static void read_corpus(const char *path, struct corpus *c)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open the corpus");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    c->buf = malloc((size_t)size + 1);
    if (!c->buf || fread(c->buf, 1, (size_t)size, f) != (size_t)size)
        die("cannot read the corpus");
    fclose(f);
    size_t cap = 0;
    for (long i = 0; i < size; i++)
        cap += c->buf[i] == '\n';
    c->lines = calloc(cap + 1, sizeof *c->lines);
    if (!c->lines)
        die("out of memory");
    char *p = c->buf, *end = c->buf + size;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (len && parse_line(c, p, len, &c->lines[c->n]))
            c->n++;
        p += len + 1;
    }
}

/* ---- passes -----------------------------------------------------------------------------------
 */

#define TOP_SLOTS 8192 /* open addressing on rule pointers; the ruleset has < 8192 rules fired */

struct job {
    const struct tld_ruleset *rs;
    struct tld_engine_state *st;
    const struct corpus *c;
    size_t first, step, count; /* events first, first + step, ...: count of them */
    pthread_barrier_t *start;
    double seconds, cpu_seconds;
    long vcsw, ivcsw; /* context switches: voluntary (waits, e.g. on a lock), involuntary */
    unsigned long alerts, undecoded, alert_bytes;
    const struct tld_rule **top_rule; /* only thread 0 of the 1-thread pass counts rules */
    unsigned long *top_count;
    FILE *dump;
};

static struct tld_engine_input make_input(const struct line *l, size_t idx)
{
    /* The corpus says no more than a location: every <source> condition holds, as in logtest. */
    struct tld_engine_input in = {
        .queue = '1',
        .source = TLD_SOURCE_ANY,
        .location = l->location,
        .text = l->text,
        .time_ns = BASE_TIME_NS + (int64_t)idx * EVENT_STEP_NS,
        .container = l->container,
    };
    if (!opt.local) {
        in.agent_id = TLD_SV_LIT("001");
        in.agent_name = TLD_SV_LIT("docker-host-01");
        in.agent_ip = TLD_SV_LIT("192.168.132.140");
    }
    return in;
}

static void count_rule(struct job *j, const struct tld_rule *r)
{
    size_t h = ((uintptr_t)r >> 4) & (TOP_SLOTS - 1);
    while (j->top_rule[h] && j->top_rule[h] != r)
        h = (h + 1) & (TOP_SLOTS - 1);
    j->top_rule[h] = r;
    j->top_count[h]++;
}

/* One event's alert: what the manager writes. Returns its length, 0 when none. */
static size_t handle(struct tld_worker *w, const struct tld_engine_input *in, size_t idx,
                     struct tld_sb *out)
{
    if (!tld_worker_hit(w)->write_alert)
        return 0;
    /* "<seconds>.<sequence>", as the manager numbers alerts (digits written directly: this is
     * the harness's cost, not the engine's). */
    char id[48], *e = id + sizeof id, *p = e;
    for (size_t v = idx;; v /= 10) {
        *--p = (char)('0' + v % 10);
        if (v < 10)
            break;
    }
    *--p = '.';
    for (long long v = in->time_ns / 1000000000;; v /= 10) {
        *--p = (char)('0' + v % 10);
        if (v < 10)
            break;
    }
    tld_sb_reset(out);
    tld_worker_format_alert(w, tld_sv_make(p, (size_t)(e - p)), false, out);
    return out->n;
}

static void *run_job(void *arg)
{
    struct job *j = arg;
    struct tld_worker *w = NULL;
    struct tld_worker_config wc = {TLD_SV_LIT("tld-manager.example.com"), 0};
    if (tld_worker_new(j->rs, j->st, &wc, &w))
        die("cannot create a worker");
    struct tld_sb out;
    tld_sb_init(&out, (size_t)1 << 20);
    pthread_barrier_wait(j->start);
    struct rusage ru0, ru1;
    getrusage(RUSAGE_THREAD, &ru0);
    double t0 = now_s(), c0 = thread_cpu_s();
    for (size_t k = 0, i = j->first; k < j->count; k++, i += j->step) {
        struct tld_engine_input in = make_input(&j->c->lines[i], i);
        tld_worker_process(w, &in);
        size_t n = handle(w, &in, i, &out);
        if (n) {
            j->alerts++;
            j->alert_bytes += n;
            if (j->top_rule)
                count_rule(j, tld_worker_hit(w)->alert_rule);
        }
        if (!tld_worker_event(w)->decoder)
            j->undecoded++;
        if (j->dump) {
            fprintf(j->dump, "%s\n", n ? tld_sb_cstr(&out) : "-");
            tld_sb_reset(&out);
            tld_worker_format_archive(w, TLD_SV_LIT("0"), &out);
            fprintf(j->dump, "%s\n", tld_sb_cstr(&out));
        }
    }
    j->seconds = now_s() - t0;
    j->cpu_seconds = thread_cpu_s() - c0;
    getrusage(RUSAGE_THREAD, &ru1);
    j->vcsw = ru1.ru_nvcsw - ru0.ru_nvcsw;
    j->ivcsw = ru1.ru_nivcsw - ru0.ru_nivcsw;
    tld_sb_fini(&out);
    tld_worker_free(w);
    return NULL;
}

static void print_top(struct job *j)
{
    printf(", \"top_rules\": \"");
    for (int k = 0; k < 6; k++) {
        size_t best = TOP_SLOTS;
        for (size_t h = 0; h < TOP_SLOTS; h++)
            if (j->top_rule[h] && j->top_count[h] &&
                (best == TOP_SLOTS || j->top_count[h] > j->top_count[best]))
                best = h;
        if (best == TOP_SLOTS)
            break;
        printf("%s%s:%lu", k ? " " : "", j->top_rule[best]->id_str, j->top_count[best]);
        j->top_count[best] = 0;
    }
    printf("\"");
}

static void pass(const struct tld_ruleset *rs, const struct corpus *c, unsigned nthreads)
{
    struct tld_engine_state *st = NULL;
    if (tld_engine_state_new(rs, &st))
        die("cannot create the engine state");
    struct job jobs[MAX_THREADS];
    pthread_t tids[MAX_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, nthreads);
    static const struct tld_rule *top_rule[TOP_SLOTS];
    static unsigned long top_count[TOP_SLOTS];
    memset(top_rule, 0, sizeof top_rule);
    memset(top_count, 0, sizeof top_count);
    for (unsigned t = 0; t < nthreads; t++) {
        jobs[t] = (struct job){
            .rs = rs,
            .st = st,
            .c = c,
            .start = &start,
            .first = t,
            .step = nthreads,
            .count = (c->n + nthreads - 1 - t) / nthreads,
            .top_rule = nthreads == 1 ? top_rule : NULL,
            .top_count = nthreads == 1 ? top_count : NULL,
            .dump = nthreads == 1 && opt.dump ? fopen(opt.dump, "w") : NULL,
        };
        if (pthread_create(&tids[t], NULL, run_job, &jobs[t]))
            die("pthread_create failed");
    }
    double wall = 0, per_thread = 0, cpu_per_thread = 0;
    unsigned long alerts = 0, undecoded = 0, bytes = 0;
    long vcsw = 0, ivcsw = 0;
    for (unsigned t = 0; t < nthreads; t++) {
        pthread_join(tids[t], NULL);
        wall = jobs[t].seconds > wall ? jobs[t].seconds : wall;
        per_thread += (double)jobs[t].count / jobs[t].seconds / nthreads;
        cpu_per_thread += (double)jobs[t].count / jobs[t].cpu_seconds / nthreads;
        alerts += jobs[t].alerts;
        undecoded += jobs[t].undecoded;
        bytes += jobs[t].alert_bytes;
        vcsw += jobs[t].vcsw;
        ivcsw += jobs[t].ivcsw;
        if (jobs[t].dump)
            fclose(jobs[t].dump);
    }
    pthread_barrier_destroy(&start);
    tld_engine_state_free(st);
    printf("{\"threads\": %u, \"events\": %zu, \"seconds\": %.4f, \"eps\": %.0f, "
           "\"eps_per_thread\": %.0f, \"cpu_eps_per_thread\": %.0f, \"alerts\": %lu, "
           "\"undecoded\": %lu, \"alert_bytes\": %lu",
           nthreads, c->n, wall, (double)c->n / wall, per_thread, cpu_per_thread, alerts, undecoded,
           bytes);
    printf(", \"voluntary_switches\": %ld, \"involuntary_switches\": %ld", vcsw, ivcsw);
    if (nthreads == 1)
        print_top(&jobs[0]);
    printf("}\n");
    fflush(stdout);
}

/* Stream the corpus through two workers and report the peak resident size. */
static void rss_run(const struct tld_ruleset *rs)
{
    FILE *f = fopen(opt.corpus, "rb");
    if (!f)
        die("cannot open the corpus");
    struct tld_engine_state *st = NULL;
    struct tld_worker *w[2] = {NULL, NULL};
    struct tld_worker_config wc = {TLD_SV_LIT("tld-manager.example.com"), 0};
    if (tld_engine_state_new(rs, &st) || tld_worker_new(rs, st, &wc, &w[0]) ||
        tld_worker_new(rs, st, &wc, &w[1]))
        die("cannot create the workers");
    static struct corpus c; /* only for container interning */
    struct tld_sb out;
    tld_sb_init(&out, (size_t)1 << 20);
    char *buf = NULL;
    size_t cap = 0, idx = 0;
    ssize_t len;
    while ((len = getline(&buf, &cap, f)) > 0) {
        if (buf[len - 1] == '\n')
            len--;
        struct line l;
        c.ncontainers = 0; /* views into buf die with the line */
        if (!parse_line(&c, buf, (size_t)len, &l))
            continue;
        struct tld_engine_input in = make_input(&l, idx);
        struct tld_worker *wk = w[idx & 1];
        tld_worker_process(wk, &in);
        handle(wk, &in, idx, &out);
        idx++;
    }
    free(buf);
    fclose(f);
    tld_sb_fini(&out);
    tld_worker_free(w[0]);
    tld_worker_free(w[1]);
    tld_engine_state_free(st);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"rss_kib\": %ld, \"events\": %zu}\n", ru.ru_maxrss, idx);
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_engine [--ruleset DIR]... [--decoders PATH]... "
            "[--rules PATH]... --corpus FILE [--threads N]... [--local] [--rss] [--dump FILE]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--local")) {
            opt.local = true;
            continue;
        }
        if (!strcmp(a, "--rss")) {
            opt.rss = true;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (!strcmp(a, "--ruleset") && opt.nrulesets < MAX_PATHS)
            opt.rulesets[opt.nrulesets++] = v;
        else if (!strcmp(a, "--decoders") && opt.ndecoders < MAX_PATHS)
            opt.decoders[opt.ndecoders++] = v;
        else if (!strcmp(a, "--rules") && opt.nrules < MAX_PATHS)
            opt.rules[opt.nrules++] = v;
        else if (!strcmp(a, "--dump"))
            opt.dump = v;
        else if (!strcmp(a, "--corpus"))
            opt.corpus = v;
        else if (!strcmp(a, "--threads") && opt.nthreads < MAX_THREADS) {
            int n = atoi(v);
            if (n < 1 || n > MAX_THREADS)
                usage();
            opt.threads[opt.nthreads++] = (unsigned)n;
        } else
            usage();
    }
    if (!opt.corpus || opt.nrulesets == 0)
        usage();
    if (opt.nthreads == 0) {
        opt.threads[0] = 1;
        opt.threads[1] = 2;
        opt.nthreads = 2;
    }
    double load_s;
    struct tld_ruleset *rs = load_ruleset(&load_s);
    printf("{\"load_seconds\": %.4f, \"rules\": %u, \"decoders\": %u}\n", load_s,
           tld_rules_count(rs->rules), tld_decoder_set_count(rs->decoders));
    fflush(stdout);
    if (opt.rss) {
        rss_run(rs);
    } else {
        static struct corpus c;
        read_corpus(opt.corpus, &c);
        for (unsigned i = 0; i < opt.nthreads; i++)
            pass(rs, &c, opt.threads[i]);
        free(c.lines);
        free(c.buf);
    }
    tld_ruleset_unref(rs);
    return 0;
}
