/*
 * tld-logtest: the manager's analysis engine on the command line.
 *
 *   tld-logtest [--ruleset DIR]... [--decoders PATH]... [--rules PATH]... [options]
 *               [-f FILE] [--json]                 analyse lines from stdin or FILE
 *   tld-logtest ... -t                              validate the ruleset and exit
 *   tld-logtest ... --test [-v] FILE.ini...         run Wazuh-format ruleset tests
 *
 * A ruleset DIR holds decoders/, rules/ and optionally lists/ (registered as etc/lists/<path>).
 * --decoders and --rules add files or folders that load with the rulesets, sorted together by
 * base name as Wazuh does with ruleset/ and etc/. Without --ruleset the project's own ruleset/
 * is used.
 */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "tools/logtest/logtest.h"

#define MAX_PATHS 256

struct args {
    const char *rulesets[MAX_PATHS];
    unsigned nrulesets;
    const char *decoders[MAX_PATHS], *rules[MAX_PATHS];
    unsigned ndecoders, nrules;
    const char *dec_excl[MAX_PATHS], *rule_excl[MAX_PATHS];
    unsigned ndec_excl, nrule_excl;
    const char *input;
    bool check_only, test_mode;
    unsigned log_alert_level;
    struct tld_logtest_opts o;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: tld-logtest [options] [-f FILE]\n"
            "       tld-logtest [options] -t\n"
            "       tld-logtest [options] --test [-v] FILE.ini...\n"
            "options:\n"
            "  --ruleset DIR          load DIR/decoders, DIR/rules, DIR/lists (repeatable)\n"
            "  --decoders PATH        extra decoder file or folder (repeatable)\n"
            "  --rules PATH           extra rule file or folder (repeatable)\n"
            "  --decoder-exclude F    skip a decoder file (path or base name)\n"
            "  --rule-exclude F       skip a rule file (path or base name)\n"
            "  --location LOC         event location (default: stdin)\n"
            "  --source KIND          who made the events: file, command, docker, agent, own\n"
            "                         or any (default: any, every <source> condition holds)\n"
            "  --manager-name NAME    manager host name (default: this host)\n"
            "  --log-alert-level N    lowest level that writes an alert (default 3)\n"
            "  --max-event-size N     truncate longer events (default 65536)\n"
            "  --time EPOCH           receipt time of the first event, in seconds (default: now;\n"
            "                         each later event is 1 ms later)\n"
            "  --json                 print one alert per line instead of the phases\n"
            "  -f FILE                read events from FILE instead of stdin\n"
            "  -t                     load and validate the ruleset, then exit\n"
            "  --test                 run .ini ruleset test files\n"
            "  -v                     show each test failure\n");
}

/* The project's ruleset/ folder: ./ruleset, else next to the build tree of this binary. */
static const char *default_ruleset(char *buf, size_t n)
{
    struct stat st;
    if (stat("ruleset/rules", &st) == 0)
        return "ruleset";
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        const char *ups[] = {"/../../ruleset", "/../../../ruleset", "/../ruleset"};
        for (size_t i = 0; i < 3; i++) {
            snprintf(buf, n, "%s%s", dirname(exe), ups[i]);
            if (stat(buf, &st) == 0)
                return buf;
            exe[len] = '\0';
        }
    }
    return "/var/threatlockdown/ruleset";
}

static bool add(const char **arr, unsigned *n, const char *v)
{
    if (*n >= MAX_PATHS) {
        fprintf(stderr, "tld-logtest: too many paths (at most %d)\n", MAX_PATHS);
        return false;
    }
    arr[(*n)++] = v;
    return true;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    enum {
        O_RULESET = 256,
        O_DECODERS,
        O_RULES,
        O_DEC_EXCL,
        O_RULE_EXCL,
        O_LOCATION,
        O_SOURCE,
        O_MANAGER,
        O_LEVEL,
        O_MAXSIZE,
        O_TIME,
        O_JSON,
        O_TEST,
        O_HELP
    };
    static const struct option opts[] = {
        {"ruleset", required_argument, 0, O_RULESET},
        {"decoders", required_argument, 0, O_DECODERS},
        {"rules", required_argument, 0, O_RULES},
        {"decoder-exclude", required_argument, 0, O_DEC_EXCL},
        {"rule-exclude", required_argument, 0, O_RULE_EXCL},
        {"location", required_argument, 0, O_LOCATION},
        {"source", required_argument, 0, O_SOURCE},
        {"manager-name", required_argument, 0, O_MANAGER},
        {"log-alert-level", required_argument, 0, O_LEVEL},
        {"max-event-size", required_argument, 0, O_MAXSIZE},
        {"time", required_argument, 0, O_TIME},
        {"json", no_argument, 0, O_JSON},
        {"test", no_argument, 0, O_TEST},
        {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "f:tv", opts, NULL)) != -1) {
        bool ok = true;
        char *end = NULL;
        switch (c) {
        case O_RULESET:
            ok = add(a->rulesets, &a->nrulesets, optarg);
            break;
        case O_DECODERS:
            ok = add(a->decoders, &a->ndecoders, optarg);
            break;
        case O_RULES:
            ok = add(a->rules, &a->nrules, optarg);
            break;
        case O_DEC_EXCL:
            ok = add(a->dec_excl, &a->ndec_excl, optarg);
            break;
        case O_RULE_EXCL:
            ok = add(a->rule_excl, &a->nrule_excl, optarg);
            break;
        case O_LOCATION:
            a->o.location = optarg;
            break;
        case O_SOURCE:
            ok = tld_source_lookup(tld_sv_of(optarg), &a->o.source);
            break;
        case O_MANAGER:
            a->o.manager_name = optarg;
            break;
        case O_LEVEL:
            a->log_alert_level = (unsigned)strtoul(optarg, &end, 10);
            ok = *end == '\0' && a->log_alert_level <= 16;
            break;
        case O_MAXSIZE:
            a->o.max_event_size = strtoul(optarg, &end, 10);
            ok = *end == '\0' && a->o.max_event_size >= 64;
            break;
        case O_TIME: {
            long long secs = strtoll(optarg, &end, 10);
            ok = *end == '\0' && secs > 0 && secs < 100000000000LL;
            a->o.fixed_time_ns = secs * 1000000000LL;
            break;
        }
        case O_JSON:
            a->o.json = true;
            break;
        case O_TEST:
            a->test_mode = true;
            break;
        case 'f':
            a->input = optarg;
            break;
        case 't':
            a->check_only = true;
            break;
        case 'v':
            a->o.verbose = true;
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return TLD_EINVAL;
        }
        if (!ok) {
            fprintf(stderr, "tld-logtest: invalid value for --%s: '%s'\n",
                    c == O_LEVEL     ? "log-alert-level"
                    : c == O_MAXSIZE ? "max-event-size"
                                     : "?",
                    optarg);
            return TLD_EINVAL;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    static struct args a;
    static char host[256], defbuf[PATH_MAX + 32];
    a.o.location = "stdin";
    a.o.source = TLD_SOURCE_ANY;
    a.log_alert_level = 3;
    if (gethostname(host, sizeof host - 1) != 0)
        snprintf(host, sizeof host, "localhost");
    a.o.manager_name = host;
    if (parse_args(argc, argv, &a) != 0)
        return 2;
    if (a.nrulesets == 0)
        a.rulesets[a.nrulesets++] = default_ruleset(defbuf, sizeof defbuf);

    /* Each ruleset contributes its decoders/, rules/ and lists/. */
    static char paths[2][MAX_PATHS][PATH_MAX];
    const char *dec_paths[2 * MAX_PATHS], *rule_paths[2 * MAX_PATHS];
    unsigned nd = 0, nr = 0;
    struct tld_ruleset_list *lists = NULL;
    unsigned nlists = 0;
    struct tld_diag diag;
    tld_diag_init(&diag);
    for (unsigned i = 0; i < a.nrulesets; i++) {
        snprintf(paths[0][i], PATH_MAX, "%s/decoders", a.rulesets[i]);
        snprintf(paths[1][i], PATH_MAX, "%s/rules", a.rulesets[i]);
        dec_paths[nd++] = paths[0][i];
        rule_paths[nr++] = paths[1][i];
        char lists_dir[PATH_MAX];
        struct stat st;
        snprintf(lists_dir, sizeof lists_dir, "%s/lists", a.rulesets[i]);
        if (stat(lists_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
            struct tld_ruleset_list *more = NULL;
            unsigned nmore = 0;
            if (tld_ruleset_lists_from_dir(lists_dir, &more, &nmore, &diag) == 0) {
                struct tld_ruleset_list *all = realloc(lists, (nlists + nmore + 1) * sizeof *all);
                if (all) {
                    memcpy(all + nlists, more, nmore * sizeof *more);
                    lists = all;
                    nlists += nmore;
                    free(more);
                } else {
                    tld_ruleset_lists_free(more, nmore);
                }
            }
        }
    }
    for (unsigned i = 0; i < a.ndecoders; i++)
        dec_paths[nd++] = a.decoders[i];
    for (unsigned i = 0; i < a.nrules; i++)
        rule_paths[nr++] = a.rules[i];

    struct tld_ruleset_config cfg = {
        .decoder_paths = dec_paths,
        .ndecoder_paths = nd,
        .decoder_excludes = a.dec_excl,
        .ndecoder_excludes = a.ndec_excl,
        .rule_paths = rule_paths,
        .nrule_paths = nr,
        .rule_excludes = a.rule_excl,
        .nrule_excludes = a.nrule_excl,
        .lists = lists,
        .nlists = nlists,
        .log_alert_level = a.log_alert_level ? a.log_alert_level : 1,
        .email_alert_level = 12, /* the stock configuration's value */
    };
    struct tld_ruleset *rs = NULL;
    int err = tld_ruleset_load(&cfg, &rs, &diag);
    tld_ruleset_lists_free(lists, nlists);
    if (a.check_only) {
        tld_diag_print(&diag, stderr);
    } else {
        for (unsigned i = 0; i < diag.kept; i++)
            if (diag.msgs[i].sev == TLD_DIAG_ERROR)
                fprintf(stderr, "%s\n", diag.msgs[i].text);
        if (diag.warnings)
            fprintf(stderr, "tld-logtest: %u warnings while loading the ruleset (-t shows them)\n",
                    diag.warnings);
    }
    tld_diag_fini(&diag);
    if (err) {
        fprintf(stderr, "tld-logtest: the ruleset did not load (%s)\n", tld_err_str(err));
        return 1;
    }
    int rc = 0;
    if (a.check_only) {
        printf("ruleset OK: %u decoders from %u files, %u rules from %u files, loaded in %.3f s\n",
               tld_decoder_set_count(rs->decoders), rs->ndecoder_files, tld_rules_count(rs->rules),
               rs->nrule_files, rs->load_seconds);
    } else if (a.test_mode) {
        bool all_passed = false;
        tld_logtest_run_tests(rs, &a.o, argv + optind, argc - optind, stdout, &all_passed);
        rc = all_passed ? 0 : 1;
    } else {
        FILE *in = stdin;
        if (a.input && !(in = fopen(a.input, "r"))) {
            perror(a.input);
            rc = 1;
        } else {
            rc = tld_logtest_run_stream(rs, &a.o, in, stdout) == 0 ? 0 : 1;
            if (in != stdin)
                fclose(in);
        }
    }
    tld_ruleset_unref(rs);
    return rc;
}
