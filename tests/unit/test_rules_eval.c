/* Unit tests for rule evaluation: every test element, negation, tree walk, post-processing. */
#include <time.h>

#include "rules_fixture.h"

#define G(body) "<group name=\"test,\">\n" body "</group>\n"
#define R(id, lvl, body)                                                                           \
    "<rule id=\"" #id "\" level=\"" #lvl "\">" body "<description>r" #id "</description></rule>\n"

/* ---- <source>: who made the event, never the text ---- */

static void source_condition(void **state)
{
    struct fx *f =
        fx_rules(G(R(100, 3, "<decoded_as>sshd</decoded_as>")
                       R(101, 4, "<if_sid>100</if_sid><source>docker</source>")
                           R(102, 5, "<if_sid>100</if_sid><source> own, agent </source>")));
    struct tld_event *ev = fx_event(f, "l", "sshd", 0);
    assert_int_equal(fx_eval(f), 100); /* a file line reaches neither */
    ev->source = TLD_SOURCE_COMMAND;
    assert_int_equal(fx_eval(f), 100);
    ev->source = TLD_SOURCE_DOCKER;
    assert_int_equal(fx_eval(f), 101);
    ev->source = TLD_SOURCE_OWN;
    assert_int_equal(fx_eval(f), 102);
    ev->source = TLD_SOURCE_AGENT;
    assert_int_equal(fx_eval(f), 102);
    ev->source = TLD_SOURCE_ANY; /* tools without a source: every condition holds */
    assert_int_equal(fx_eval(f), 102);
    fx_free(f);

    char *msg = fx_load_error(G(R(100, 3, "<source>remote</source>")));
    assert_non_null(strstr(msg, "<source>: unknown source 'remote'"));
    free(msg);
    msg = fx_load_error(G(R(100, 3, "<source>any</source>")));
    assert_non_null(strstr(msg, "unknown source"));
    free(msg);
    msg = fx_load_error(G(R(100, 3, "<source></source>")));
    assert_non_null(strstr(msg, "<source>"));
    free(msg);
}

/* ---- static fields, engines and negation ---- */

static void static_fields(void **state)
{
    struct fx *f = fx_rules(G(
        R(100, 3, "<decoded_as>sshd</decoded_as>") R(101, 4,
                                                     "<if_sid>100</if_sid><srcport>^22$</srcport>")
            R(102, 4, "<if_sid>100</if_sid><protocol>tcp</protocol>")
                R(103, 4, "<if_sid>100</if_sid><action>Accept</action>") R(
                    104, 4, "<if_sid>100</if_sid><action type=\"osmatch\">drop</action>")
                    R(105, 4, "<if_sid>100</if_sid><url>.php</url><url>|.asp</url>") R(
                        106, 4,
                        "<if_sid>100</if_sid><id>^4</id><status "
                        "type=\"pcre2\">^(5|6)\\d\\d$</status>")
                        R(107, 4, "<if_sid>100</if_sid><data>x</data><extra_data>y</extra_data>")
                            R(108, 4, "<if_sid>100</if_sid><system_name>^linux</system_name>") R(
                                109, 4,
                                "<if_sid>100</if_sid><dstport negate=\"yes\">^80$|^443$</dstport>")
                                R(110, 4,
                                  "<if_sid>100</if_sid><srcgeoip>FR</srcgeoip><dstgeoip>US</"
                                  "dstgeoip>")));
    struct tld_event *ev;
    ev = fx_event(f, "l", "sshd", 0);
    assert_int_equal(fx_eval(f), 100);
    fx_set(ev, TLD_F_SRCPORT, "22");
    assert_int_equal(fx_eval(f), 101);

    ev = fx_event(f, "l", "sshd", 0);
    fx_set(ev, TLD_F_PROTOCOL, "TCP"); /* OS_Match is case-insensitive */
    assert_int_equal(fx_eval(f), 102);

    ev = fx_event(f, "l", "sshd", 0);
    fx_set(ev, TLD_F_ACTION, "accept"); /* <action> default: exact, case-sensitive */
    assert_int_equal(fx_eval(f), 100);
    fx_set(ev, TLD_F_ACTION, "Accept");
    assert_int_equal(fx_eval(f), 103);
    fx_set(ev, TLD_F_ACTION, "Accepted");
    assert_int_equal(fx_eval(f), 100);
    fx_set(ev, TLD_F_ACTION, "DROPPED"); /* type=osmatch: substring, any case */
    assert_int_equal(fx_eval(f), 104);

    ev = fx_event(f, "l", "sshd", 0);
    fx_set(ev, TLD_F_URL, "/index.ASP?x"); /* repeated element texts concatenate */
    assert_int_equal(fx_eval(f), 105);

    ev = fx_event(f, "l", "sshd", 0);
    fx_set(ev, TLD_F_ID, "404");
    fx_set(ev, TLD_F_STATUS, "503");
    assert_int_equal(fx_eval(f), 106);
    fx_set(ev, TLD_F_STATUS, "403");
    assert_int_equal(fx_eval(f), 100);

    ev = fx_event(f, "l", "sshd", 0);
    fx_set(ev, TLD_F_DATA, "axb");
    assert_int_equal(fx_eval(f), 100); /* extra_data missing */
    fx_set(ev, TLD_F_EXTRA_DATA, "y");
    assert_int_equal(fx_eval(f), 107);

    ev = fx_event(f, "l", "sshd", 0);
    fx_set(ev, TLD_F_SYSTEM_NAME, "Linux 5");
    assert_int_equal(fx_eval(f), 108);

    /* negate: passes when the pattern does not match, but a missing field still fails */
    ev = fx_event(f, "l", "sshd", 0);
    assert_int_equal(fx_eval(f), 100);
    fx_set(ev, TLD_F_DSTPORT, "443");
    assert_int_equal(fx_eval(f), 100);
    fx_set(ev, TLD_F_DSTPORT, "8080");
    assert_int_equal(fx_eval(f), 109);
    fx_set(ev, TLD_F_DSTPORT, ""); /* set but empty is present */
    assert_int_equal(fx_eval(f), 109);

    ev = fx_event(f, "l", "sshd", 0);
    fx_set(ev, TLD_F_SRCGEOIP, "FR");
    fx_set(ev, TLD_F_DSTGEOIP, "US");
    assert_int_equal(fx_eval(f), 110);

    /* decoded_as: another decoder or none never matches */
    assert_int_equal(fx_eval_log(f, "l", "json", 0), 0);
    assert_int_equal(fx_eval_log(f, "l", NULL, 0), 0);
    fx_free(f);
}

static void log_program_host_location_user(void **state)
{
    struct fx *f = fx_rules(G(
        R(100, 3, "<match>^Failed|^error</match>")
            R(101, 4, "<if_sid>100</if_sid><regex>user (\\w+) from</regex>") R(
                102, 4,
                "<if_sid>100</if_sid><match negate=\"yes\">x</match><program_name>^sshd"
                "</program_name>") R(103, 4, "<if_sid>100</if_sid><hostname>^web</hostname>")
                R(104, 4, "<if_sid>100</if_sid><location>auth.log$</location>") R(
                    105, 4, "<if_sid>100</if_sid><user>^root$</user>")
                    R(106, 4,
                      "<if_sid>100</if_sid><match>!zzz</match><match type=\"osmatch\">|qqq</match>"
                      "<regex type=\"pcre2\">^ERROR \\d$</regex>")
                        R(107, 4, "<if_sid>100</if_sid><regex negate=\"yes\">\\.</regex>")));
    assert_int_equal(fx_eval_log(f, "failed login", NULL, 0), 100);
    assert_int_equal(fx_eval_log(f, "Failed user bob from 1.2.3.4", NULL, 0), 101);
    assert_int_equal(fx_eval_log(f, "nothing", NULL, 0), 0);

    struct tld_event *ev = fx_event(f, "Failed x", NULL, 0);
    ev->program_name = TLD_SV_LIT("sshd");
    assert_int_equal(fx_eval(f), 100); /* negated match on "x" fails */
    ev = fx_event(f, "Failed y", NULL, 0);
    ev->program_name = TLD_SV_LIT("sshd");
    assert_int_equal(fx_eval(f), 102);

    ev = fx_event(f, "Failed y", NULL, 0);
    ev->hostname = TLD_SV_LIT("WEB01");
    assert_int_equal(fx_eval(f), 103);
    ev->hostname = TLD_SV_NULL; /* absent */
    assert_int_equal(fx_eval(f), 100);

    ev = fx_event(f, "Failed y", NULL, 0);
    ev->location = TLD_SV_LIT("/var/log/auth.log");
    assert_int_equal(fx_eval(f), 104);

    /* <user>: dstuser if present, else srcuser; no fallback when dstuser differs */
    ev = fx_event(f, "Failed y", NULL, 0);
    fx_set(ev, TLD_F_SRCUSER, "root");
    assert_int_equal(fx_eval(f), 105);
    fx_set(ev, TLD_F_DSTUSER, "bob");
    assert_int_equal(fx_eval(f), 100);
    fx_set(ev, TLD_F_DSTUSER, "root");
    assert_int_equal(fx_eval(f), 105);

    fx_free(f);
    /* '!' inverts an OS_Match; a PCRE2 pattern is case-sensitive */
    f = fx_rules(
        G(R(100, 3, "<match>ERROR</match>") R(106, 4,
                                              "<if_sid>100</if_sid><match>!zzz</match>"
                                              "<regex type=\"pcre2\">^ERROR \\d$</regex>")));
    assert_int_equal(fx_eval_log(f, "ERROR 7", NULL, 0), 106);
    assert_int_equal(fx_eval_log(f, "ERROR 7 zzz", NULL, 0), 100);
    assert_int_equal(fx_eval_log(f, "error 7", NULL, 0), 100);
    fx_free(f);
}

static void dynamic_fields(void **state)
{
    struct fx *f = fx_rules(
        G(R(100, 0, "<decoded_as>json</decoded_as><field name=\"integration\">^docker$</field>")
              R(101, 3,
                "<if_sid>100</if_sid><field name=\"docker.Action\">^start$</field>"
                "<field name=\"docker.Type\" negate=\"yes\">^network$</field>")
                  R(102, 5,
                    "<if_sid>100</if_sid><field name=\"docker.Action\" type=\"pcre2\">^kill$"
                    "</field>")));
    struct tld_event *ev = fx_event(f, "{}", "json", 0);
    fx_dyn(ev, "integration", "docker");
    fx_dyn(ev, "docker.action", "start"); /* names compare case-insensitively */
    fx_dyn(ev, "docker.Action", "stop");  /* the first one counts */
    fx_dyn(ev, "docker.Type", "container");
    assert_int_equal(fx_eval(f), 101);
    assert_int_equal(f->hit.rule->level, 3);
    /* many fields: the hashed index gives the same answers */
    static char names[40][16];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof names[i], "pad%d", i);
        fx_dyn(ev, names[i], "v");
    }
    assert_int_equal(fx_eval(f), 101);
    ev = fx_event(f, "{}", "json", 0);
    fx_dyn(ev, "integration", "docker");
    fx_dyn(ev, "docker.Action", "start");
    fx_dyn(ev, "docker.Type", "network");
    assert_int_equal(fx_eval(f), 100); /* the level-0 parent is returned */
    assert_null(f->hit.alert_rule);
    ev = fx_event(f, "{}", "json", 0);
    fx_dyn(ev, "integration", "docker");
    fx_dyn(ev, "docker.Action", "start");
    assert_int_equal(fx_eval(f), 100); /* negated field absent: 101 fails */
    fx_free(f);
}

/* Siblings that test one field for literals are skipped by the literal's hash (rule_tree.c
 * kid_keys): the same winners as testing each in turn, whatever the case, with the field
 * absent, with a kid that tests two keyed fields, and with a literal rule behind an unkeyed one. */
static void sibling_literals(void **state)
{
    struct fx *f = fx_rules(G(
        R(100, 0, "<decoded_as>json</decoded_as><field name=\"integration\">^docker$</field>") R(
            101, 3, "<if_sid>100</if_sid><field name=\"docker.Action\">^create$</field>")
            R(102, 3, "<if_sid>100</if_sid><field name=\"docker.Action\">^start$</field>") R(
                103, 4, "<if_sid>100</if_sid><field name=\"docker.Action\">^kill$|^die$</field>")
                R(104, 3,
                  "<if_sid>100</if_sid><field name=\"docker.Type\">^image$</field>"
                  "<field name=\"docker.Action\">^pull$</field>")
                    R(105, 3, "<if_sid>100</if_sid><field name=\"docker.Action\">^pull$</field>") R(
                        106, 3, "<if_sid>100</if_sid><field name=\"docker.Action\">^stop$</field>")
                        R(107, 3,
                          "<if_sid>100</if_sid><field name=\"docker.Type\">^network$</field>")
                            R(108, 3,
                              "<if_sid>100</if_sid><field name=\"docker.Type\">^volume$</field>")
                                R(109, 3, "<if_sid>100</if_sid><match>x</match>")
                                    R(110, 3,
                                      "<if_sid>100</if_sid><field "
                                      "name=\"docker.Action\">^exec_start: sh$</field>")));
    static const struct {
        const char *type, *action; /* NULL: the field is absent */
        int want;
    } cases[] = {
        {"container", "create", 101},
        {"container", "CREATE", 101},
        {"container", "Start", 102},
        {"container", "die", 103},
        {"image", "pull", 104},
        {"container", "pull", 105},
        {"container", "stop", 106},
        {"network", "connect", 107},
        {"VOLUME", "mount", 108},
        {"container", NULL, 100},
        {NULL, "stop", 106},
        {"container", "creat", 100},
        {"container", "exec_start: SH", 110},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct tld_event *ev = fx_event(f, "{}", "json", 0);
        fx_dyn(ev, "integration", "docker");
        if (cases[i].type)
            fx_dyn(ev, "docker.Type", cases[i].type);
        if (cases[i].action)
            fx_dyn(ev, "docker.Action", cases[i].action);
        assert_int_equal(fx_eval(f), cases[i].want);
    }
    /* the unkeyed sibling (same level, loaded earlier) still runs before a keyed one */
    struct tld_event *ev = fx_event(f, "x", "json", 0);
    fx_dyn(ev, "integration", "docker");
    fx_dyn(ev, "docker.Action", "exec_start: sh");
    assert_int_equal(fx_eval(f), 109);
    fx_free(f);
}

/* Level-0 winners are returned (logtest reports them) but produce nothing to store/alert. */
static void level0_noalert_firedtimes(void **state)
{
    struct fx *f = fx_rules(
        G("<rule id=\"100\" level=\"9\" noalert=\"1\"><match>a</match><description>n"
          "</description></rule>\n" R(101, 0, "<if_sid>100</if_sid><match>b</match>")
              R(102, 7, "<if_sid>100</if_sid><match>c</match>") R(103, 5, "<match>a</match>")));
    /* noalert 100 is transparent: with no child matching, the next sibling 103 wins */
    assert_int_equal(fx_eval_log(f, "a", NULL, 0), 103);
    assert_int_equal(f->hit.firedtimes, 1);
    assert_true(f->hit.write_alert);
    assert_int_equal(fx_eval_log(f, "a c", NULL, 0), 102);
    assert_int_equal(fx_eval_log(f, "a b", NULL, 0), 101);
    assert_null(f->hit.alert_rule);
    assert_false(f->hit.write_alert);
    assert_string_equal(f->hit.description.p, "r101");
    assert_int_equal(f->hit.firedtimes, 1);
    assert_int_equal(fx_eval_log(f, "a b", NULL, 0), 101);
    assert_int_equal(f->hit.firedtimes, 2);
    assert_int_equal(fx_eval_log(f, "a", NULL, 0), 103);
    assert_int_equal(f->hit.firedtimes, 2);
    assert_int_equal(tld_rules_state_firedtimes(f->st, tld_rules_find(f->rs, 100)), 0);
    fx_free(f);
}

static void alert_decision(void **state)
{
    struct fx *f = fx_rules(
        G(R(100, 2, "<match>low</match>") R(101, 3, "<match>three</match>")
              R(102, 2, "<match>forced</match><options>log_alert</options>")
                  R(103, 9, "<match>quiet</match><options>no_log</options>")
                      R(104, 12, "<match>^mail</match>")
                          R(105, 12, "<match>nomail</match><options>no_email_alert</options>")));
    fx_eval_log(f, "low", NULL, 0);
    assert_false(f->hit.write_alert);
    assert_ptr_equal(f->hit.alert_rule, f->hit.rule);
    fx_eval_log(f, "three", NULL, 0);
    assert_true(f->hit.write_alert);
    assert_false(f->hit.mail);
    fx_eval_log(f, "forced", NULL, 0);
    assert_true(f->hit.write_alert);
    fx_eval_log(f, "quiet", NULL, 0);
    assert_false(f->hit.write_alert);
    fx_eval_log(f, "mail", NULL, 0);
    assert_true(f->hit.mail);
    fx_eval_log(f, "nomail", NULL, 0);
    assert_false(f->hit.mail);
    fx_free(f);
}

/* ignore: inside the window the parent alerts instead; the rule is still returned. */
static void ignore_window(void **state)
{
    struct fx *f = fx_rules(G(
        R(100, 3, "<match>a</match>") "<rule id=\"101\" level=\"8\" "
                                      "ignore=\"60\"><if_sid>100</if_sid><match>b</match>"
                                      "<description>child $(srcip)</description></rule>\n"
                                      "<rule id=\"8\" level=\"8\" ignore=\"60\"><match>top</match>"
                                      "<description>top</description></rule>\n"));
    struct tld_event *ev = fx_event(f, "a b", NULL, 1000);
    fx_set(ev, TLD_F_SRCIP, "1.1.1.1");
    assert_int_equal(fx_eval(f), 101);
    assert_false(f->hit.ignored);
    assert_ptr_equal(f->hit.alert_rule, f->hit.rule);
    assert_string_equal(f->hit.description.p, "child 1.1.1.1");
    ev = fx_event(f, "a b", NULL, 1059);
    assert_int_equal(fx_eval(f), 101);
    assert_true(f->hit.ignored);
    assert_int_equal(f->hit.alert_rule->id, 100);
    assert_string_equal(f->hit.description.p, "r100");
    assert_true(f->hit.write_alert);
    ev = fx_event(f, "a b", NULL, 1060); /* window over: fires and restarts the window */
    assert_int_equal(fx_eval(f), 101);
    assert_false(f->hit.ignored);
    fx_event(f, "a b", NULL, 1100);
    assert_int_equal(fx_eval(f), 101);
    assert_true(f->hit.ignored);
    /* a top-level rule has no parent: no alert at all inside the window */
    fx_eval_log(f, "top", NULL, 0);
    assert_int_equal(f->hit.rule->id, 8);
    assert_false(f->hit.ignored);
    assert_true(f->hit.write_alert);
    fx_eval_log(f, "top", NULL, 5);
    assert_int_equal(f->hit.rule->id, 8);
    assert_true(f->hit.ignored);
    assert_null(f->hit.alert_rule);
    assert_false(f->hit.write_alert);
    fx_free(f);
    /* the parent may be the (level-0) template: nothing is written then */
    f = fx_rules(G("<rule id=\"100\" level=\"8\" ignore=\"60\"><match>a</match>"
                   "<description>d</description></rule>\n"));
    fx_eval_log(f, "a", NULL, 0);
    assert_true(f->hit.write_alert);
    fx_eval_log(f, "a", NULL, 1);
    assert_true(f->hit.ignored);
    assert_int_equal(f->hit.alert_rule->id, 1);
    assert_false(f->hit.write_alert);
    fx_free(f);
}

static void description_substitution(void **state)
{
    struct fx *f = fx_rules(
        G("<rule id=\"100\" level=\"3\"><match>a</match><description>Docker: Container "
          "$(docker.Actor.Attributes.name) started by $(srcuser)@$(srcip) on $(hostname) "
          "[$(program_name)] $(missing)$(user) $(SRCIP) end $(unclosed</description></rule>\n"));
    struct tld_event *ev = fx_event(f, "a", NULL, 0);
    fx_dyn(ev, "docker.Actor.Attributes.name", "test-container");
    fx_dyn(ev, "user", "dynuser");
    fx_dyn(ev, "srcip", "dyn-ip"); /* static names win for $(srcip) */
    fx_set(ev, TLD_F_SRCUSER, "bob");
    fx_set(ev, TLD_F_SRCIP, "10.0.0.1");
    ev->program_name = TLD_SV_LIT("dockerd");
    assert_int_equal(fx_eval(f), 100);
    assert_string_equal(f->hit.description.p,
                        "Docker: Container test-container started by bob@10.0.0.1 on host1 "
                        "[dockerd] dynuser dyn-ip end $(unclosed");
    /* A result reaching 1024 characters falls back to the raw description. */
    char big[1100];
    memset(big, 'x', 1000);
    big[1000] = '\0';
    ev = fx_event(f, "a", NULL, 0);
    fx_dyn(ev, "docker.Actor.Attributes.name", big);
    fx_eval(f);
    assert_string_equal(f->hit.description.p, tld_rules_find(f->rs, 100)->description);
    fx_free(f);
}

/* Local time of the event: TZ is set to UTC for the test. */
static void time_and_weekday(void **state)
{
    setenv("TZ", "UTC", 1);
    tzset();
    struct fx *f = fx_rules(
        G(R(100, 3, "<match>a</match>")
              R(101, 4, "<if_sid>100</if_sid><match>night</match><time>6 pm - 8:30 am</time>") R(
                  102, 4, "<if_sid>100</if_sid><match>office</match><time>9:00 - 5 pm</time>")
                  R(103, 4, "<if_sid>100</if_sid><match>evening</match><time>!9:00-17:00</time>") R(
                      104, 4, "<if_sid>100</if_sid><match>wkend</match><weekday>weekends</weekday>")
                      R(105, 4,
                        "<if_sid>100</if_sid><match>mon</match><weekday>Mon, tuesday</weekday>")));
    /* 2024-01-06 is a Saturday; 2024-01-08 a Monday */
    const int64_t sat = 1704499200, mon = 1704672000;
    assert_int_equal(fx_eval_log(f, "a night", NULL, sat + 19 * 3600), 101);
    assert_int_equal(fx_eval_log(f, "a night", NULL, sat + 8 * 3600 + 29 * 60), 101);
    /* start > end: stored as "not 08:30-18:00", so both bounds are excluded */
    assert_int_equal(fx_eval_log(f, "a night", NULL, sat + 8 * 3600 + 30 * 60), 100);
    assert_int_equal(fx_eval_log(f, "a night", NULL, sat + 18 * 3600), 100); /* bound excluded */
    assert_int_equal(fx_eval_log(f, "a office", NULL, mon + 9 * 3600), 102);
    assert_int_equal(fx_eval_log(f, "a office", NULL, mon + 17 * 3600 + 59), 102);
    assert_int_equal(fx_eval_log(f, "a office", NULL, mon + 17 * 3600 + 60), 100);
    assert_int_equal(fx_eval_log(f, "a evening", NULL, mon + 12 * 3600), 100);
    assert_int_equal(fx_eval_log(f, "a evening", NULL, mon + 20 * 3600), 103);
    assert_int_equal(fx_eval_log(f, "a wkend", NULL, sat), 104);
    assert_int_equal(fx_eval_log(f, "a wkend", NULL, mon), 100);
    assert_int_equal(fx_eval_log(f, "a mon", NULL, mon), 105);
    assert_int_equal(fx_eval_log(f, "a mon", NULL, mon + 86400), 105);
    assert_int_equal(fx_eval_log(f, "a mon", NULL, mon + 2 * 86400), 100);
    fx_free(f);
}

static void maxsize_and_compiled(void **state)
{
    struct fx *f = fx_rules(G(
        R(100, 3,
          "<match>a</match>") "<rule id=\"101\" level=\"4\" "
                              "maxsize=\"10\"><if_sid>100</if_sid><match>big</match>"
                              "<description>d</description></rule>\n" R(
                                  102, 4,
                                  "<if_sid>100</if_sid><match>simple</match>"
                                  "<compiled_rule>is_simple_http_request</compiled_rule>")
                                  R(103, 4,
                                    "<if_sid>100</if_sid><match>users</match>"
                                    "<compiled_rule>comp_srcuser_dstuser</compiled_rule>")
                                      R(104, 4,
                                        "<if_sid>100</if_sid><match>idsize</match>"
                                        "<compiled_rule>check_id_size</compiled_rule>")
                                          R(105, 4,
                                            "<if_sid>100</if_sid><compiled_rule>is_valid_crawler</"
                                            "compiled_rule>")
                                              R(106, 4,
                                                "<if_sid>100</if_sid><match>win</match>"
                                                "<compiled_rule>comp_mswin_targetuser_calleruser_"
                                                "diff</compiled_rule>")));
    assert_int_equal(fx_eval_log(f, "a big", NULL, 0), 100);      /* 5 < 10 */
    assert_int_equal(fx_eval_log(f, "a big 7890", NULL, 0), 101); /* 10 >= 10 */
    struct tld_event *ev = fx_event(f, "a simple", NULL, 0);
    assert_int_equal(fx_eval(f), 100); /* needs a url */
    fx_set(ev, TLD_F_URL, "/index.html");
    assert_int_equal(fx_eval(f), 102);
    fx_set(ev, TLD_F_URL, "/?");
    assert_int_equal(fx_eval(f), 100);
    fx_set(ev, TLD_F_URL, "/");
    assert_int_equal(fx_eval(f), 102);
    ev = fx_event(f, "a users", NULL, 0);
    assert_int_equal(fx_eval(f), 103);
    fx_set(ev, TLD_F_SRCUSER, "a");
    fx_set(ev, TLD_F_DSTUSER, "b");
    assert_int_equal(fx_eval(f), 100);
    fx_set(ev, TLD_F_DSTUSER, "a");
    assert_int_equal(fx_eval(f), 103);
    ev = fx_event(f, "a idsize", NULL, 0);
    fx_set(ev, TLD_F_ID, "123456789");
    assert_int_equal(fx_eval(f), 100);
    fx_set(ev, TLD_F_ID, "1234567890");
    assert_int_equal(fx_eval(f), 104);
    assert_int_equal(fx_eval_log(f, "66.249.1.1 a", NULL, 0), 105);
    assert_int_equal(fx_eval_log(f, "a 66.249.1.1", NULL, 0), 100);
    assert_int_equal(
        fx_eval_log(f, "a win Target Account Name: bob\tCaller User Name: bob\t", NULL, 0), 100);
    assert_int_equal(
        fx_eval_log(f, "a win Target Account Name: bob\tCaller User Name: eve\t", NULL, 0), 106);
    assert_int_equal(fx_eval_log(f, "a win Target Account Name: bob", NULL, 0), 100);
    fx_free(f);
}

static void ip_lists(void **state)
{
    struct fx *f = fx_rules(
        G(R(100, 3, "<match>a</match>")
              R(101, 4, "<if_sid>100</if_sid><srcip>10.0.0.0/8</srcip><srcip>192.168.1.1</srcip>")
                  R(102, 4, "<if_sid>100</if_sid><dstip negate=\"yes\">10.0.0.0/8</dstip>")));
    struct tld_event *ev = fx_event(f, "a", NULL, 0);
    fx_set(ev, TLD_F_SRCIP, "10.2.3.4");
    assert_int_equal(fx_eval(f), 101);
    fx_set(ev, TLD_F_SRCIP, "192.168.1.1");
    assert_int_equal(fx_eval(f), 101);
    fx_set(ev, TLD_F_SRCIP, "192.168.1.2");
    assert_int_equal(fx_eval(f), 100);
    fx_set(ev, TLD_F_SRCIP, "not-an-ip");
    assert_int_equal(fx_eval(f), 100);
    ev = fx_event(f, "a", NULL, 0);
    fx_set(ev, TLD_F_DSTIP, "11.0.0.1");
    assert_int_equal(fx_eval(f), 102);
    fx_set(ev, TLD_F_DSTIP, "10.0.0.1");
    assert_int_equal(fx_eval(f), 100);
    fx_free(f);
}

/* ---- CDB lists ---- */

static const char list_text[] = "10.1.:net\n"
                                "10.2.3.4:host\n"
                                "bob:admins\n"
                                "\"a:b:c\":mac\n"
                                "eve:\"restricted users\"\n"
                                "no separator line\n"
                                " spaced : value \n"
                                "audit-wazuh-w:write\n";

static struct fx *lists_fx(const char *rules)
{
    struct tld_lists *lists;
    assert_int_equal(tld_lists_new(&lists), 0);
    assert_int_equal(tld_lists_add_buf(lists, "etc/lists/test", list_text, strlen(list_text)), 0);
    struct fx *f = fx_new_lists(lists);
    fx_load(f, rules);
    fx_finish(f);
    return f;
}

static void cdb_lookups(void **state)
{
    struct fx *f = lists_fx(
        G(R(100, 3, "<match>a</match>") R(101, 4,
                                          "<if_sid>100</if_sid><match>t101</match>"
                                          "<list field=\"user\">etc/lists/test</list>")
              R(102, 4,
                "<if_sid>100</if_sid><match>t102</match>"
                "<list field=\"user\" lookup=\"not_match_key\">etc/lists/test.cdb</list>")
                  R(103, 4,
                    "<if_sid>100</if_sid><match>t103</match>"
                    "<list field=\"user\" lookup=\"match_key_value\" check_value=\"^admin\">"
                    "etc/lists/test</list>") R(104, 4,
                                               "<if_sid>100</if_sid><match>t104</match>"
                                               "<list field=\"user\" "
                                               "lookup=\"match_key_value\">etc/lists/test</list>")
                      R(105, 4,
                        "<if_sid>100</if_sid><match>t105</match>"
                        "<list field=\"srcip\" lookup=\"address_match_key\">etc/lists/test</list>")
                          R(106, 4,
                            "<if_sid>100</if_sid><match>t106</match>"
                            "<list field=\"srcip\" "
                            "lookup=\"not_address_match_key\">etc/lists/test</list>")
                              R(107, 4,
                                "<if_sid>100</if_sid><match>t107</match>"
                                "<list field=\"srcip\" lookup=\"address_match_key_value\" "
                                "check_value=\"net\">"
                                "etc/lists/test</list>")
                                  R(108, 4,
                                    "<if_sid>100</if_sid><match>t108</match>"
                                    "<list field=\" audit.key extra\" lookup=\"match_key_value\" "
                                    "check_value=\"write\">etc/lists/test</list>")
                                      R(109, 4,
                                        "<if_sid>100</if_sid><match>t109</match>"
                                        "<list field=\"id\">etc/lists/test</list>")));
    struct tld_event *ev;
    /* user: srcuser first, then dstuser */
    ev = fx_event(f, "a t101", NULL, 0);
    fx_set(ev, TLD_F_SRCUSER, "bob");
    fx_set(ev, TLD_F_DSTUSER, "zed");
    assert_int_equal(fx_eval(f), 101);
    ev = fx_event(f, "a t101", NULL, 0);
    fx_set(ev, TLD_F_SRCUSER, "zed");
    fx_set(ev, TLD_F_DSTUSER, "bob");
    assert_int_equal(fx_eval(f), 100);
    ev = fx_event(f, "a t101", NULL, 0);
    fx_set(ev, TLD_F_DSTUSER, "bob");
    assert_int_equal(fx_eval(f), 101);
    assert_int_equal(fx_eval_log(f, "a t101", NULL, 0), 100); /* no user: fails */
    ev = fx_event(f, "a t102", NULL, 0);
    fx_set(ev, TLD_F_SRCUSER, "zed");
    assert_int_equal(fx_eval(f), 102);
    fx_set(ev, TLD_F_SRCUSER, "bob");
    assert_int_equal(fx_eval(f), 100);
    ev = fx_event(f, "a t103", NULL, 0);
    fx_set(ev, TLD_F_SRCUSER, "bob");
    assert_int_equal(fx_eval(f), 103);
    fx_set(ev, TLD_F_SRCUSER, "eve"); /* value "restricted users" */
    assert_int_equal(fx_eval(f), 100);
    ev = fx_event(f, "a t104", NULL, 0);
    fx_set(ev, TLD_F_SRCUSER, "bob");
    assert_int_equal(fx_eval(f), 100); /* no check_value: never */
    ev = fx_event(f, "a t105", NULL, 0);
    fx_set(ev, TLD_F_SRCIP, "10.1.200.3");
    assert_int_equal(fx_eval(f), 105);
    fx_set(ev, TLD_F_SRCIP, "10.2.3.4");
    assert_int_equal(fx_eval(f), 105);
    fx_set(ev, TLD_F_SRCIP, "10.2.3.5");
    assert_int_equal(fx_eval(f), 100);
    ev = fx_event(f, "a t106", NULL, 0);
    fx_set(ev, TLD_F_SRCIP, "10.2.3.5");
    assert_int_equal(fx_eval(f), 106);
    fx_set(ev, TLD_F_SRCIP, "10.1.0.1");
    assert_int_equal(fx_eval(f), 100);
    /* address_match_key_value is inverted in 4.14.7 */
    ev = fx_event(f, "a t107", NULL, 0);
    fx_set(ev, TLD_F_SRCIP, "10.1.0.1"); /* found, value "net" matches: false */
    assert_int_equal(fx_eval(f), 100);
    fx_set(ev, TLD_F_SRCIP, "10.2.3.4"); /* found, value "host" does not match: true */
    assert_int_equal(fx_eval(f), 107);
    fx_set(ev, TLD_F_SRCIP, "172.16.0.1"); /* not found: true */
    assert_int_equal(fx_eval(f), 107);
    ev = fx_event(f, "a t108", NULL, 0);
    fx_dyn(ev, "audit.key", "audit-wazuh-w");
    assert_int_equal(fx_eval(f), 108);
    ev = fx_event(f, "a t109", NULL, 0);
    fx_set(ev, TLD_F_ID, "a:b:c");
    assert_int_equal(fx_eval(f), 109);
    fx_set(ev, TLD_F_ID, " spaced "); /* keys are not trimmed */
    assert_int_equal(fx_eval(f), 109);
    fx_set(ev, TLD_F_ID, "spaced");
    assert_int_equal(fx_eval(f), 100);
    fx_free(f);
}

/* ---- check_diff and if_fts ---- */

static void check_diff(void **state)
{
    struct fx *f =
        fx_rules(G(R(100, 3, "<match>df</match>") R(101, 7, "<if_sid>100</if_sid><check_diff/>")));
    assert_int_equal(fx_eval_log(f, "df 10%", NULL, 0), 100); /* first: stores, no fire */
    assert_null(f->hit.previous_log.p);
    assert_int_equal(fx_eval_log(f, "df 10%", NULL, 1), 100); /* same */
    assert_int_equal(fx_eval_log(f, "df 20%", NULL, 2), 101);
    assert_string_equal(f->hit.previous_log.p, "df 10%");
    assert_int_equal(f->hit.n_previous, 2);
    assert_string_equal(f->hit.previous_output[0].p, "Previous output:");
    assert_string_equal(f->hit.previous_output[1].p, "df 10%");
    assert_int_equal(fx_eval_log(f, "df 20%", NULL, 3), 100);
    assert_null(f->hit.previous_log.p);
    assert_int_equal(f->hit.n_previous, 0);
    /* the store is per host */
    struct tld_event *ev = fx_event(f, "df 30%", NULL, 4);
    ev->hostname = TLD_SV_LIT("(agent1) 10.0.0.1->/var/log");
    assert_int_equal(fx_eval(f), 100);
    ev = fx_event(f, "df 40%", NULL, 5);
    ev->hostname = TLD_SV_LIT("(agent1) other");
    assert_int_equal(fx_eval(f), 101);
    assert_string_equal(f->hit.previous_log.p, "df 30%");
    /* a new state is a new session */
    struct tld_rules_state *st2;
    assert_int_equal(tld_rules_state_new(f->rs, &st2), 0);
    fx_event(f, "df 99%", NULL, 6);
    tld_rules_eval(f->rs, st2, &f->ev, &f->hit);
    assert_int_equal(f->hit.rule->id, 100);
    tld_rules_state_free(st2);
    fx_free(f);
}

static void if_fts(void **state)
{
    struct fx *f =
        fx_rules(G(R(100, 3, "<match>login</match>") R(101, 6, "<if_sid>100</if_sid><if_fts/>")
                       R(102, 5, "<if_sid>100</if_sid><if_fts/><match>other</match>")));
    struct tld_event *ev = fx_event(f, "login", NULL, 0);
    assert_int_equal(fx_eval(f), 100); /* decoder without fts: never */
    ev = fx_event(f, "login", NULL, 0);
    ev->fts_key = TLD_SV_LIT("sshd bob");
    assert_int_equal(fx_eval(f), 101);
    ev = fx_event(f, "login", NULL, 0);
    ev->fts_key = TLD_SV_LIT("sshd bob");
    assert_int_equal(fx_eval(f), 100);
    /* within one event a first-seen key lets every if_fts rule pass */
    ev = fx_event(f, "login other", NULL, 0);
    ev->fts_key = TLD_SV_LIT("sshd eve");
    assert_int_equal(fx_eval(f), 101);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(static_fields),
        cmocka_unit_test(source_condition),
        cmocka_unit_test(log_program_host_location_user),
        cmocka_unit_test(dynamic_fields),
        cmocka_unit_test(sibling_literals),
        cmocka_unit_test(level0_noalert_firedtimes),
        cmocka_unit_test(alert_decision),
        cmocka_unit_test(ignore_window),
        cmocka_unit_test(description_substitution),
        cmocka_unit_test(time_and_weekday),
        cmocka_unit_test(maxsize_and_compiled),
        cmocka_unit_test(ip_lists),
        cmocka_unit_test(cdb_lookups),
        cmocka_unit_test(check_diff),
        cmocka_unit_test(if_fts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
