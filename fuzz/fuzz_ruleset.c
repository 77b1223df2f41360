/*
 * libFuzzer harness: loading a whole ruleset snapshot (tld_ruleset_load) from arbitrary bytes.
 *
 * The input is a decoder file, a NUL byte, a rule file, and optionally a NUL byte and a CDB
 * list; they are written as decoders/local_decoder.xml, rules/local_rules.xml and lists/l in a
 * private temporary directory, and loaded the way the manager loads its configured ruleset.
 * A load must either fail cleanly (no snapshot, at least one error, every error message naming
 * the file it is about) or give a snapshot whose rules then run over a few fixed events, with
 * each alert valid JSON. Leaks are caught by LeakSanitizer after every input.
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "engine/engine.h"

static char dir[64], dec_dir[96], rule_dir[96], list_path[96], dec_file[128], rule_file[128];

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void remove_dir(void)
{
    unlink(dec_file);
    unlink(rule_file);
    unlink(list_path);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/lists", dir);
    rmdir(dec_dir);
    rmdir(rule_dir);
    rmdir(sub);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "/tmp/tld-fuzz-ruleset.XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(dec_dir, sizeof dec_dir, "%s/decoders", dir);
    snprintf(rule_dir, sizeof rule_dir, "%s/rules", dir);
    char lists[128];
    snprintf(lists, sizeof lists, "%s/lists", dir);
    snprintf(list_path, sizeof list_path, "%s/lists/l", dir);
    snprintf(dec_file, sizeof dec_file, "%s/local_decoder.xml", dec_dir);
    snprintf(rule_file, sizeof rule_file, "%s/local_rules.xml", rule_dir);
    if (mkdir(dec_dir, 0700) || mkdir(rule_dir, 0700) || mkdir(lists, 0700))
        abort();
    atexit(remove_dir);
    return 0;
}

static void put(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (n && fwrite(p, 1, n, f) != n)
        abort();
    fclose(f);
}

/* Valid JSON object, as the alert contract promises. */
static void check_json(const struct tld_sb *sb)
{
    const char *end = NULL;
    cJSON *doc =
        cJSON_ParseWithLengthOpts(sb->p ? sb->p : "", sb->n + 1, &end, 1); /* with its NUL */
    check(doc && cJSON_IsObject(doc));
    cJSON_Delete(doc);
}

static void run_events(const struct tld_ruleset *rs)
{
    static const char *const events[] = {
        "Nov 26 15:36:42 web01 sshd[4242]: Failed password for invalid user admin from "
        "203.0.113.9 port 40022 ssh2",
        "Nov 26 15:36:43 web01 sudo: alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
        "COMMAND=/usr/bin/id",
        "{\"integration\":\"docker\",\"docker\":{\"Type\":\"container\",\"Action\":\"start\","
        "\"Actor\":{\"ID\":\"d475\",\"Attributes\":{\"image\":\"httpd\",\"name\":\"t\"}}}}",
        "{\"log\":\"192.0.2.1 - - [26/Nov/2026:15:36:42 +0000] \\\"GET /?id=1+union+select "
        "HTTP/1.1\\\" 404 153 \\\"-\\\" \\\"curl\\\" \\\"-\\\"\\n\",\"stream\":\"stdout\"}",
        "a b c 10.0.0.1 error \xff\x01",
    };
    struct tld_engine_state *st = NULL;
    struct tld_worker *w = NULL;
    struct tld_worker_config wc = {TLD_SV_LIT("fuzz-manager"), 0};
    if (tld_engine_state_new(rs, &st) || tld_worker_new(rs, st, &wc, &w)) {
        tld_engine_state_free(st);
        return;
    }
    struct tld_sb out;
    tld_sb_init(&out, (size_t)1 << 20);
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof events / sizeof *events; i++) {
            struct tld_engine_input in = {
                .queue = '1',
                .location = TLD_SV_LIT("/var/log/auth.log"),
                .text = tld_sv_of(events[i]),
                .time_ns = 1795707399000000000LL + (int64_t)(round * 10 + i) * 1000000000,
            };
            tld_worker_process(w, &in);
            tld_sb_reset(&out);
            if (tld_worker_format_alert(w, TLD_SV_LIT("1.0"), true, &out))
                check_json(&out);
        }
    }
    tld_sb_fini(&out);
    tld_worker_free(w);
    tld_engine_state_free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, 0, size);
    size_t dn = sep ? (size_t)(sep - data) : size;
    const uint8_t *rules = sep ? sep + 1 : (const uint8_t *)"";
    size_t rn = sep ? size - dn - 1 : 0;
    const uint8_t *sep2 = memchr(rules, 0, rn);
    const uint8_t *list = sep2 ? sep2 + 1 : NULL;
    size_t ln = sep2 ? rn - (size_t)(sep2 - rules) - 1 : 0;
    if (sep2)
        rn = (size_t)(sep2 - rules);
    put(dec_file, data, dn);
    put(rule_file, rules, rn);
    put(list_path, list ? list : (const uint8_t *)"", ln);

    const char *dec_paths[] = {dec_dir}, *rule_paths[] = {rule_dir};
    const struct tld_ruleset_list lists[] = {{"etc/lists/l", list_path}};
    struct tld_ruleset_config cfg = {
        .decoder_paths = dec_paths,
        .ndecoder_paths = 1,
        .rule_paths = rule_paths,
        .nrule_paths = 1,
        .lists = lists,
        .nlists = 1,
    };
    struct tld_diag diag;
    tld_diag_init(&diag);
    static struct tld_ruleset sentinel;
    struct tld_ruleset *rs = &sentinel; /* the loader must overwrite it */
    int err = tld_ruleset_load(&cfg, &rs, &diag);
    if (err) {
        /* Fails cleanly: nothing half-loaded, and the user is told where. */
        check(rs == NULL && diag.errors > 0 && diag.kept > 0);
        for (unsigned i = 0; i < diag.kept; i++)
            if (diag.msgs[i].sev == TLD_DIAG_ERROR)
                check(strncmp(diag.msgs[i].text, dir, strlen(dir)) == 0 ||
                      strncmp(diag.msgs[i].text, "etc/lists/l", 11) == 0);
    } else {
        check(rs != NULL && diag.errors == 0);
        run_events(rs);
        tld_ruleset_unref(rs);
    }
    tld_diag_fini(&diag);
    return 0;
}
