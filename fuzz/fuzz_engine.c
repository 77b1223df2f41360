/*
 * libFuzzer harness: one arbitrary event through the whole engine (pre-decoding, decoding,
 * rules, alert and archive formatting) over a real ruleset, loaded once in
 * LLVMFuzzerInitialize: $TLD_SHARED/wazuh-ruleset or ../shared/wazuh-ruleset (with the mission's
 * local_decoder.xml, as the mission sets it up), else the project's ruleset/, else a small
 * built-in one (so the harness never runs against nothing; it says which it uses).
 *
 * Input: one option byte, then the event text. The options choose the location (file, Docker
 * listener, container log with container metadata, command), agent or local, and a small
 * maximum event size to exercise truncation. Every event gets a fresh engine state, so a
 * crashing input reproduces alone. Checks: the alert and archive documents are JSON objects
 * cJSON accepts and valid UTF-8, a truncated event says so, and the event's views stay inside
 * the input or the worker's memory (checked by ASan).
 */
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "engine/engine.h"

static struct tld_ruleset *rs;

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Decoders and rules used when no ruleset folder is found. */
static const char builtin_decoders[] =
    "<decoder name=\"json\"><prematch>^{\\s*\"</prematch>"
    "<plugin_decoder>JSON_Decoder</plugin_decoder></decoder>\n"
    "<decoder name=\"sshd\"><program_name>^sshd</program_name></decoder>\n"
    "<decoder name=\"sshd-fail\"><parent>sshd</parent><prematch>^Failed </prematch>"
    "<regex offset=\"after_prematch\">for (\\S+) from (\\S+) port (\\d+)</regex>"
    "<order>user,srcip,srcport</order></decoder>\n";
static const char builtin_rules[] =
    "<group name=\"syslog,\"><rule id=\"1\" level=\"0\"><category>syslog</category>"
    "<description>base</description></rule>"
    "<rule id=\"100002\" level=\"5\"><if_sid>1</if_sid><match>fail</match>"
    "<description>failure from $(srcip)</description><group>pci_dss_10.2.4,</group></rule>"
    "<rule id=\"100003\" level=\"3\"><if_sid>1</if_sid><decoded_as>json</decoded_as>"
    "<field name=\"docker.Action\">^start$</field><description>start</description></rule>"
    "</group>\n";

static char builtin_dir[64];

static void builtin_cleanup(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/decoders/d.xml", builtin_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/rules/r.xml", builtin_dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/decoders", builtin_dir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/rules", builtin_dir);
    rmdir(p);
    rmdir(builtin_dir);
}

static const char *write_builtin(void)
{
    snprintf(builtin_dir, sizeof builtin_dir, "/tmp/tld-fuzz-engine.XXXXXX");
    if (!mkdtemp(builtin_dir))
        abort();
    char p[128];
    const char *names[][2] = {{"decoders", builtin_decoders}, {"rules", builtin_rules}};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", builtin_dir, names[i][0]);
        mkdir(p, 0700);
        snprintf(p, sizeof p, "%s/%s/%c.xml", builtin_dir, names[i][0], names[i][0][0]);
        FILE *f = fopen(p, "w");
        if (!f || fputs(names[i][1], f) < 0)
            abort();
        fclose(f);
    }
    atexit(builtin_cleanup);
    return builtin_dir;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static char wazuh[4096];
    const char *shared = getenv("TLD_SHARED");
    snprintf(wazuh, sizeof wazuh, "%s/wazuh-ruleset", shared && *shared ? shared : "../shared");
    const char *root;
    const char *extra = NULL;
    if (is_dir(wazuh)) {
        root = wazuh;
        if (access("tests/data/mission/local_decoder.xml", R_OK) == 0)
            extra = "tests/data/mission/local_decoder.xml";
    } else if (is_dir("ruleset/rules")) {
        root = "ruleset";
    } else {
        root = write_builtin();
    }
    static char dec[4200], rul[4200], lst[4200];
    snprintf(dec, sizeof dec, "%s/decoders", root);
    snprintf(rul, sizeof rul, "%s/rules", root);
    snprintf(lst, sizeof lst, "%s/lists", root);
    const char *dec_paths[] = {dec, extra}, *rule_paths[] = {rul};
    struct tld_diag diag;
    tld_diag_init(&diag);
    struct tld_ruleset_list *lists = NULL;
    unsigned nlists = 0;
    if (is_dir(lst) && tld_ruleset_lists_from_dir(lst, &lists, &nlists, &diag) != 0)
        abort();
    struct tld_ruleset_config cfg = {
        .decoder_paths = dec_paths,
        .ndecoder_paths = extra ? 2 : 1,
        .rule_paths = rule_paths,
        .nrule_paths = 1,
        .lists = lists,
        .nlists = nlists,
        .log_alert_level = 3,
        .email_alert_level = 12,
    };
    if (tld_ruleset_load(&cfg, &rs, &diag) != 0) {
        tld_diag_print(&diag, stderr);
        abort();
    }
    tld_ruleset_lists_free(lists, nlists);
    tld_diag_fini(&diag);
    fprintf(stderr, "fuzz_engine: ruleset %s%s%s: %u rules, %u decoders\n", root,
            extra ? " + " : "", extra ? extra : "", tld_rules_count(rs->rules),
            tld_decoder_set_count(rs->decoders));
    return 0;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t len = c < 0x80                 ? 1
                     : c >= 0xC2 && c <= 0xDF ? 2
                     : c >= 0xE0 && c <= 0xEF ? 3
                     : c >= 0xF0 && c <= 0xF4 ? 4
                                              : 0;
        if (!len || i + len > n)
            return false;
        unsigned cp = len == 1 ? c : c & (0x3F >> (len - 1));
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += len;
    }
    return true;
}

static void check_document(const struct tld_sb *sb, bool truncated)
{
    check(!sb->oom && !sb->truncated);
    const char *text = sb->p ? sb->p : "";
    check(utf8_ok((const unsigned char *)text, sb->n));
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(text, sb->n + 1, &end, 1); /* with its NUL */
    if (!doc || !cJSON_IsObject(doc))
        fprintf(stderr, "fuzz_engine: not a JSON object:\n%s\n", text);
    check(doc && cJSON_IsObject(doc));
    cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "truncated");
    check(truncated ? cJSON_IsTrue(t) : t == NULL);
    cJSON_Delete(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned opt = data[0];
    static const struct tld_label labels[] = {
        {TLD_SV_LIT("com.docker.compose.service"), TLD_SV_LIT("web")}};
    static const struct tld_container_meta container = {TLD_SV_LIT("dff2e7209ac9"),
                                                        TLD_SV_LIT("shop-nginx-1"),
                                                        TLD_SV_LIT("nginx:1.27"), labels, 1};
    static const char *const locations[] = {
        "/var/log/auth.log", "Wazuh-Docker",
        "/var/lib/docker/containers/dff2e7209ac9/dff2e7209ac9-json.log", "netstat -tulpn"};
    struct tld_engine_input in = {
        .queue = '1',
        .location = tld_sv_of(locations[opt & 3]),
        .text = tld_sv_make((const char *)data + 1, size - 1),
        .time_ns = 1795707399926312375LL,
        .container = (opt & 3) == 2 ? &container : NULL,
    };
    if (opt & 4) {
        in.agent_id = TLD_SV_LIT("001");
        in.agent_name = TLD_SV_LIT("docker-host-01");
        in.agent_ip = (opt & 8) ? TLD_SV_LIT("192.168.132.140") : TLD_SV_NULL;
    }
    size_t max = (opt & 0x30) == 0x30 ? 64 + (opt >> 6) * 100 : 0;

    struct tld_engine_state *st = NULL;
    struct tld_worker *w = NULL;
    struct tld_worker_config wc = {TLD_SV_LIT("fuzz-manager.example"), max};
    if (tld_engine_state_new(rs, &st) || tld_worker_new(rs, st, &wc, &w))
        abort();
    tld_worker_process(w, &in);
    const struct tld_event *ev = tld_worker_event(w);
    bool truncated = in.text.n > (max ? max : TLD_EVENT_DEFAULT_MAX_SIZE);
    check(ev->truncated == truncated);
    check(ev->full_log.n == (truncated ? (max ? max : TLD_EVENT_DEFAULT_MAX_SIZE) : in.text.n));

    struct tld_sb out;
    tld_sb_init(&out, (size_t)64 << 20);
    if (tld_worker_format_alert(w, TLD_SV_LIT("1795707399.0"), true, &out))
        check_document(&out, truncated);
    tld_sb_reset(&out);
    if (tld_worker_format_alert(w, TLD_SV_LIT("1795707399.0"), false, &out))
        check_document(&out, truncated);
    tld_sb_reset(&out);
    tld_worker_format_archive(w, TLD_SV_LIT("1795707399.0"), &out);
    check_document(&out, truncated);
    tld_sb_fini(&out);
    tld_worker_free(w);
    tld_engine_state_free(st);
    return 0;
}
