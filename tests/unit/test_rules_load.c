/* Unit tests for rule loading: elements, attributes, fatal errors, skips, tree, overwrite. */
#include "rules_fixture.h"

#define G(body) "<group name=\"test,\">\n" body "</group>\n"

/* ---- basic facts of a loaded rule ---- */

static void facts(void **state)
{
    struct fx *f =
        fx_rules(G("<rule id=\"100\" level=\"5\" frequency=\"4\" timeframe=\"60\" ignore=\"30\">\n"
                   "  <if_matched_sid>1</if_matched_sid>\n"
                   "  <description>first\nsecond\nthird</description>\n"
                   "  <description> more</description>\n"
                   "  <group>a,b,</group><group>c\n,</group>\n"
                   "  <info type=\"link\">http://x</info><info>y</info>\n"
                   "  <cve>CVE-1</cve><cve>-2</cve>\n"
                   "  <options>no_full_log</options><options>no_counter</options>\n"
                   "  <mitre><id>T1110</id><id>T1110</id><id>T1021</id></mitre>\n"
                   "</rule>\n"
                   "<rule id=\"101\" level=\"12\">\n"
                   "  <if_sid>100</if_sid><description>d</description>\n"
                   "  <mitre><tacticID>TA0006</tacticID><techniqueID>T1110</techniqueID></mitre>\n"
                   "  <mitre><tacticID>TA0006</tacticID><techniqueID>T1110</techniqueID></mitre>\n"
                   "  <mitre><techniqueID>T9</techniqueID><tacticID>TA1</tacticID></mitre>\n"
                   "  <options>no_email_alert</options>\n"
                   "</rule>\n"
                   "<rule id=\"102\" level=\"2\"><if_sid>100</if_sid><description>d</description>"
                   "<options>alert_by_email</options><options>log_alert</options></rule>\n"
                   "<rule id=\"103\" level=\"9\"><if_sid>100</if_sid><description>d</description>"
                   "<options>no_log</options></rule>\n"));
    assert_int_equal(tld_rules_count(f->rs), 7 + 4);
    const struct tld_rule *r = tld_rules_find(f->rs, 100);
    assert_non_null(r);
    assert_string_equal(r->id_str, "100");
    assert_int_equal(r->level, 5);
    assert_string_equal(r->description, "first second\nthird more");
    assert_string_equal(r->groups, "test,a,b,c,");
    assert_string_equal(r->info, "http://xy");
    assert_string_equal(r->cve, "CVE-1-2");
    assert_int_equal(r->options, TLD_RULE_NO_FULL_LOG | TLD_RULE_NO_COUNTER);
    assert_int_equal(r->n_mitre_ids, 2);
    assert_string_equal(r->mitre_ids[0], "T1110");
    assert_string_equal(r->mitre_ids[1], "T1021");
    assert_int_equal(r->frequency, 4);
    assert_true(r->correlation);
    assert_int_equal(tld_rule_alert_frequency(r), 4);
    assert_int_equal(r->timeframe, 60);
    assert_int_equal(r->ignore, 30);
    assert_string_equal(r->file, "t.xml");
    assert_int_equal(r->line, 2);
    assert_true(r->log);
    assert_false(r->mail);

    const struct tld_rule *r101 = tld_rules_find(f->rs, 101);
    assert_int_equal(r101->n_mitre_pairs, 2);
    assert_string_equal(r101->mitre_pairs[0].tactic, "TA0006");
    assert_string_equal(r101->mitre_pairs[0].technique, "T1110");
    assert_string_equal(r101->mitre_pairs[1].tactic, "TA1");
    assert_false(r101->mail); /* level 12 >= email level, then no_email_alert */
    assert_true(r101->log);
    assert_null(r101->info);
    assert_false(r101->correlation);
    assert_int_equal(tld_rule_alert_frequency(r101), 0);
    const struct tld_rule *r102 = tld_rules_find(f->rs, 102);
    assert_true(r102->mail);
    assert_true(r102->log); /* level 2 < 3 but log_alert */
    assert_false(tld_rules_find(f->rs, 103)->log);
    assert_null(tld_rules_find(f->rs, 104));
    fx_free(f);
}

static void defaults(void **state)
{
    struct fx *f = fx_rules(G("<rule id=\"100\" level=\"0\"><description>x</description>"
                              "<if_matched_regex>a</if_matched_regex></rule>"));
    const struct tld_rule *r = tld_rules_find(f->rs, 100);
    assert_int_equal(r->timeframe, TLD_RULES_DEFAULT_TIMEFRAME);
    assert_int_equal(r->frequency, 0);
    assert_true(r->correlation);
    assert_int_equal(tld_rule_alert_frequency(r), 2);
    assert_int_equal(r->category, TLD_CAT_SYSLOG);
    assert_false(r->noalert);
    fx_free(f);
}

/* ---- fatal errors: exact file:line messages, nothing half-applied ---- */

static void expect_error(const char *text, const char *msg)
{
    char *got = fx_load_error(text);
    if (strcmp(got, msg) != 0)
        fprintf(stderr, "got:  %s\nwant: %s\n", got, msg);
    assert_string_equal(got, msg);
    free(got);
}

static void fatal_errors(void **state)
{
    expect_error("<groupx name=\"a\"><rule id=\"1\" level=\"1\"/></groupx>",
                 "bad.xml:1: error: invalid root element <groupx>: only <group> is allowed");
    expect_error("<group name=\"a\" x=\"b\"><rule/></group>",
                 "bad.xml:1: error: <group> must have exactly one attribute, name");
    expect_error("<group name=\"a\">\n</group>",
                 "bad.xml:1: error: <group name=\"a\"> holds no <rule>");
    expect_error(G("<rules id=\"100\" level=\"1\"/>"),
                 "bad.xml:2: error: invalid element <rules> in <group>: only <rule> is allowed");
    expect_error(G("<rule>x</rule>"),
                 "bad.xml:2: error: <rule> without attributes: id and level are required");
    expect_error(G("<rule id=\"1234567\" level=\"1\"><description>x</description></rule>"),
                 "bad.xml:2: error: rule: invalid id=\"1234567\" (digits only, at most 6)");
    expect_error(G("<rule id=\"10a\" level=\"1\"><description>x</description></rule>"),
                 "bad.xml:2: error: rule: invalid id=\"10a\" (digits only, at most 6)");
    expect_error(G("<rule level=\"17\" id=\"100\"><description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: invalid level=\"17\" (0 to 16)");
    expect_error(G("<rule id=\"100\" level=\"x\"><description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: missing attribute level");
    expect_error(G("<rule level=\"3\"><description>x</description></rule>"),
                 "bad.xml:2: error: rule : missing attribute id");
    expect_error(G("<rule id=\"100\" level=\"3\" frequency=\"1\"><description>x</description>"
                   "</rule>"),
                 "bad.xml:2: error: rule 100: invalid frequency=\"1\" (2 to 9999)");
    expect_error(G("<rule id=\"100\" level=\"3\" timeframe=\"1m\"><description>x</description>"
                   "</rule>"),
                 "bad.xml:2: error: rule 100: invalid timeframe=\"1m\" (must be a number)");
    expect_error(G("<rule id=\"100\" level=\"3\" overwrite=\"true\"><description>x</description>"
                   "</rule>"),
                 "bad.xml:2: error: rule 100: invalid overwrite=\"true\" (yes or no)");
    expect_error(G("<rule id=\"100\" level=\"3\" color=\"red\"><description>x</description>"
                   "</rule>"),
                 "bad.xml:2: error: rule 100: invalid attribute 'color' (id, level, maxsize, "
                 "frequency, timeframe, ignore, accuracy, noalert, overwrite)");
    expect_error(G("<rule id=\"100\" level=\"3\"></rule>"),
                 "bad.xml:2: error: rule 100: no child elements (at least a description is "
                 "needed)");
    expect_error(G("<rule id=\"100\" level=\"3\">\n<description>x</description>\n"
                   "<colour>x</colour></rule>"),
                 "bad.xml:4: error: rule 100: unknown element <colour>");
    expect_error(G("<rule id=\"100\" level=\"3\"><match>x</match></rule>"),
                 "bad.xml:2: error: rule 100: missing <description>");
    expect_error(G("<rule id=\"100\" level=\"3\">\n<regex>sshd\\[\\d+\\]</regex>"
                   "<description>x</description></rule>"),
                 "bad.xml:3: error: rule 100: <regex>: invalid pattern 'sshd\\[\\d+\\]': osregex: "
                 "invalid escape '\\[' at offset 4");
    expect_error(G("<rule id=\"100\" level=\"3\"><decoded_as>nope</decoded_as>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <decoded_as>: unknown decoder 'nope'");
    expect_error(G("<rule id=\"100\" level=\"3\"><category>Syslog</category>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <category>: invalid category 'Syslog' (firewall, "
                 "ids, syslog, web-log, squid, windows or ossec)");
    expect_error(G("<rule id=\"100\" level=\"3\"><options>no_log,no_ar</options>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <options>: invalid option 'no_log,no_ar'");
    expect_error(G("<rule id=\"100\" level=\"3\"><weekday>!monday</weekday>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <weekday>: invalid day list '!monday'");
    expect_error(G("<rule id=\"100\" level=\"3\"><time>25:00 - 26:00</time>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <time>: invalid time range '25:00 - 26:00'");
    expect_error(G("<rule id=\"100\" level=\"3\"><compiled_rule>nope</compiled_rule>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <compiled_rule>: unknown compiled rule 'nope'");
    expect_error(G("<rule id=\"100\" level=\"3\"><field>x</field>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <field>: missing attribute 'name'");
    expect_error(G("<rule id=\"100\" level=\"3\"><field name=\"SrcIP\">x</field>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <field name=\"SrcIP\">: 'SrcIP' is a static field");
    expect_error(G("<rule id=\"100\" level=\"3\"><srcip>1.2.3</srcip>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <srcip>: invalid IP address '1.2.3'");
    expect_error(G("<rule id=\"100\" level=\"3\" frequency=\"3\"><if_sid>1</if_sid>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: frequency/same_*/different_*/global_frequency "
                 "need an <if_matched_sid>, <if_matched_group> or <if_matched_regex> (missing "
                 "if_matched)");
    expect_error(G("<rule id=\"100\" level=\"3\"><same_srcip/><description>x</description>"
                   "</rule>"),
                 "bad.xml:2: error: rule 100: frequency/same_*/different_*/global_frequency "
                 "need an <if_matched_sid>, <if_matched_group> or <if_matched_regex> (missing "
                 "if_matched)");
    expect_error(G("<rule id=\"100\" level=\"3\"><list lookup=\"match_key\">x</list>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <list>: a field attribute is required");
    expect_error(G("<rule id=\"100\" level=\"3\"><list field=\"srcip\" lookup=\"any\">x</list>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <list>: invalid lookup 'any'");
    expect_error(G("<rule id=\"100\" level=\"3\"><info type=\"url\">x</info>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <info>: invalid type 'url' (text, link, cve or "
                 "osvdb)");
    expect_error(G("<rule id=\"100\" level=\"3\"><ignore>srcip,,id</ignore>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <ignore>: empty field name in 'srcip,,id'");
    expect_error(G("<rule id=\"100\" level=\"3\"><mitre><tactic>x</tactic></mitre>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: <mitre>: invalid element <tactic>");
    /* Broken XML is reported by the parser with file:line as well. */
    struct fx *f = fx_new();
    const char *bad = "<group name=\"a\">\n<rule id=\"100\" level=\"1\">\n</group>";
    assert_int_equal(tld_rules_load_buf(f->rs, bad, strlen(bad), "x.xml", &f->diag), TLD_EPARSE);
    assert_true(f->diag.errors >= 1);
    assert_non_null(strstr(f->diag.msgs[0].text, "x.xml:"));
    fx_free(f);
}

static void element_case_and_exact_names(void **state)
{
    /* Most element names are case-insensitive... */
    struct fx *f = fx_rules(G("<rule id=\"100\" level=\"3\"><IF_SID>1</IF_SID><Match>x</Match>"
                              "<DESCRIPTION>x</DESCRIPTION></rule>"));
    assert_non_null(tld_rules_find(f->rs, 100));
    fx_free(f);
    /* ...but some correlation options exist only in lower case (as in 4.14.7). */
    expect_error(G("<rule id=\"100\" level=\"3\"><if_matched_sid>1</if_matched_sid><SAME_ID/>"
                   "<description>x</description></rule>"),
                 "bad.xml:2: error: rule 100: unknown element <SAME_ID>");
    f = fx_rules(G("<rule id=\"100\" level=\"3\"><if_matched_sid>1</if_matched_sid><SAME_USER/>"
                   "<Same_SrcIP/><same_field>a</same_field><NOT_same_field>b</NOT_same_field>"
                   "<description>x</description></rule>"));
    assert_non_null(tld_rules_find(f->rs, 100));
    fx_free(f);
}

/* A fatal error in a later rule rolls back the earlier rules of the same file too, including
 * attachments under older rules and overwrites of older rules. */
static void rollback(void **state)
{
    struct fx *f = fx_new();
    fx_load(f, G("<rule id=\"100\" level=\"3\"><match>a</match><description>old</description>"
                 "</rule>"));
    const char *bad = G("<rule id=\"101\" level=\"4\"><if_sid>100</if_sid>"
                        "<description>x</description></rule>\n"
                        "<rule id=\"100\" level=\"9\" overwrite=\"yes\"><match>b</match>"
                        "<description>new</description></rule>\n"
                        "<rule id=\"102\" level=\"4\"><if_matched_sid>100</if_matched_sid>"
                        "<description>x</description></rule>\n"
                        "<rule id=\"103\" level=\"3\"><bogus/><description>x</description>"
                        "</rule>\n");
    assert_int_equal(tld_rules_load_buf(f->rs, bad, strlen(bad), "bad.xml", &f->diag), TLD_EPARSE);
    assert_int_equal(fx_diag_count(&f->diag, "bad.xml:5: error: rule 103: unknown element "
                                             "<bogus>"),
                     1);
    assert_int_equal(tld_rules_count(f->rs), 8);
    assert_null(tld_rules_find(f->rs, 101));
    const struct tld_rule *r = tld_rules_find(f->rs, 100);
    assert_string_equal(r->description, "old");
    assert_int_equal(r->level, 3);
    /* The set still works and a later file can use it. */
    fx_load(f, G("<rule id=\"101\" level=\"4\"><if_sid>100</if_sid><match>z</match>"
                 "<description>y</description></rule>"));
    fx_finish(f);
    assert_int_equal(fx_eval_log(f, "a z", NULL, 0), 101);
    assert_int_equal(fx_eval_log(f, "a", NULL, 0), 100);
    assert_int_equal(fx_eval_log(f, "b", NULL, 0), 0);
    fx_free(f);
}

/* ---- skipped rules and warnings ---- */

/* Two mistakes Wazuh only warns about refuse the whole file here (docs/compatibility.md). */
static void refused_mistakes(void **state)
{
    static const struct {
        const char *xml, *msg;
    } cases[] = {
        {G("<rule id=\"100\" level=\"3\"><description>a</description></rule>\n"
           "<rule id=\"100\" level=\"5\"><description>b</description></rule>\n"),
         "t.xml:3: error: rule 100: duplicate rule id (first defined at t.xml:2)"},
        {G("<rule id=\"100\" level=\"3\"><description>a</description></rule>\n"
           "<rule id=\"102\" "
           "level=\"3\"><if_sid>999</if_sid><description>x</description></rule>\n"),
         "t.xml:3: error: rule 102: <if_sid> '999': no such rule is loaded"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct fx *f = fx_new();
        assert_int_equal(
            tld_rules_load_buf(f->rs, cases[i].xml, strlen(cases[i].xml), "t.xml", &f->diag),
            TLD_EPARSE);
        assert_int_equal(fx_diag_count(&f->diag, cases[i].msg), 1);
        assert_null(tld_rules_find(f->rs, 100)); /* the whole file was rolled back */
        fx_free(f);
    }
}

static void skips_and_warnings(void **state)
{
    struct fx *f = fx_new();
    fx_load(
        f,
        G("<rule id=\"100\" level=\"3\"><description>a</description></rule>\n"
          "<rule id=\"100\" level=\"3\"><description>a</description></rule>\n"
          "<rule id=\"101\" level=\"3\"><if_sid>100,abc</if_sid><description>x</description>"
          "</rule>\n"
          "<rule id=\"103\" level=\"3\"><if_sid>999, 100</if_sid><description>x</description>"
          "</rule>\n"
          "<rule id=\"104\" level=\"3\"><if_level>abc</if_level><bogus/>"
          "<description>x</description></rule>\n"
          "<rule id=\"105\" level=\"3\"><if_level>0</if_level><description>x</description>"
          "</rule>\n"
          "<rule id=\"106\" level=\"3\"><if_matched_sid>1x</if_matched_sid>"
          "<description>x</description></rule>\n"
          "<rule id=\"107\" level=\"3\"><list field=\"srcip\">etc/lists/none</list><bogus/>"
          "<description>x</description></rule>\n"
          "<rule id=\"108\" level=\"3\" overwrite=\"yes\"><description>new</description></rule>\n"
          "<rule id=\"109\" level=\"3\" noalert=\"2\"><description>x</description></rule>\n"
          "<rule id=\"110\" level=\"3\"><same_agent/><description>x</description></rule>\n"
          "<rule id=\"111\" level=\"3\"><match negate=\"maybe\" type=\"sregex\">x</match>"
          "<description>x</description></rule>\n"
          "<rule id=\"112\" level=\"3\"><if_group>nogroup</if_group><description>x</description>"
          "</rule>\n"
          "<rule id=\"113\" level=\"3\"><if_matched_sid>999</if_matched_sid>"
          "<description>x</description></rule>\n"
          "<rule id=\"114\" level=\"3\"><if_sid>100</if_sid><if_matched_sid>999</if_matched_sid>"
          "<description>x</description></rule>\n"));
    const char *skipped[] = {"101", "104", "105", "106", "107", "112", "113"};
    for (unsigned i = 0; i < sizeof skipped / sizeof *skipped; i++) {
        if (tld_rules_find(f->rs, (unsigned)atoi(skipped[i])))
            fprintf(stderr, "rule %s was not skipped\n", skipped[i]);
        assert_null(tld_rules_find(f->rs, (unsigned)atoi(skipped[i])));
    }
    assert_non_null(tld_rules_find(f->rs, 103));
    assert_non_null(tld_rules_find(f->rs, 114)); /* loaded; its correlation is unbound */
    assert_non_null(tld_rules_find(f->rs, 108));
    assert_non_null(tld_rules_find(f->rs, 109));
    assert_string_equal(tld_rules_find(f->rs, 100)->description, "a");
    assert_int_equal(f->diag.errors, 0);
    assert_int_equal(fx_diag_count(&f->diag, "t.xml:3: warning: rule 100: repeated identical "
                                             "definition"),
                     1);
    assert_int_equal(fx_diag_count(&f->diag, "t.xml:4: warning: rule 101: invalid <if_sid> "
                                             "'100,abc'; rule skipped"),
                     1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 103: if_sid rule 999 not found"), 1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 104: <if_level>: invalid level 'abc'; rule "
                                             "skipped"),
                     1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 105: invalid <if_level> '0'; rule skipped"), 1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 106: <if_matched_sid>: invalid rule id "
                                             "'1x'; rule skipped"),
                     1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 107: <list>: list 'etc/lists/none' is not "
                                             "loaded; rule skipped"),
                     1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 108: overwrite=\"yes\" but no rule"), 1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 109: invalid noalert=\"2\""), 1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 110: <same_agent> is deprecated"), 1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 111: <match>: invalid value 'maybe' for "
                                             "attribute negate"),
                     1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 111: <match>: invalid value 'sregex' for "
                                             "attribute type"),
                     1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 112: no rule in group 'nogroup'"), 1);
    assert_int_equal(fx_diag_count(&f->diag, "rule 113: if_matched_sid rule 999 not found; "
                                             "rule skipped"),
                     1);
    fx_free(f);
}

/* ---- text length limits (regex.md §1) ---- */

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

static void length_limits(void **state)
{
    char *p2047 = repeat('a', 2047), *p2048 = repeat('b', 2048);
    char text[16384];
    /* first piece < 2048; later pieces <= 2048 while the text so far is <= 2048 */
    snprintf(text, sizeof text,
             G("<rule id=\"100\" level=\"3\"><match>%s</match><match>%s</match>"
               "<description>x</description></rule>"),
             p2047, p2048);
    struct fx *f = fx_rules(text);
    assert_non_null(tld_rules_find(f->rs, 100));
    fx_free(f);
    snprintf(text, sizeof text,
             G("<rule id=\"100\" level=\"3\"><match>%s</match><description>x</description>"
               "</rule>"),
             p2048);
    char *msg = fx_load_error(text);
    assert_string_equal(msg, "bad.xml:2: error: rule 100: <match>: text longer than 2048 bytes");
    free(msg);
    snprintf(text, sizeof text,
             G("<rule id=\"100\" level=\"3\"><url>%s</url><url>%s</url><url>x</url>"
               "<description>x</description></rule>"),
             p2047, p2048);
    msg = fx_load_error(text);
    assert_string_equal(msg, "bad.xml:2: error: rule 100: <url>: text longer than 2048 bytes");
    free(msg);
    free(p2047);
    free(p2048);
}

/* ---- tree order and attachment ---- */

/* Children of `parent` by id, in sibling order, as a string "a,b,c". */
static void kids_of(struct fx *f, unsigned parent, char *out, size_t n);

static void sibling_order(void **state)
{
    /* level 0 first (as 99), then by level highest first, stable, accuracy=0 last */
    struct fx *f = fx_rules(
        G("<rule id=\"100\" level=\"3\"><match>x</match><description>d</description></rule>\n"
          "<rule id=\"101\" level=\"5\" accuracy=\"0\"><match>x</match>"
          "<description>d</description></rule>\n"
          "<rule id=\"102\" level=\"5\"><match>x</match><description>d</description></rule>\n"
          "<rule id=\"103\" level=\"0\"><match>x</match><description>d</description></rule>\n"
          "<rule id=\"104\" level=\"3\"><match>x</match><description>d</description></rule>\n"
          "<rule id=\"105\" level=\"16\"><match>x</match><description>d</description></rule>\n"
          "<rule id=\"106\" level=\"0\"><match>x</match><description>d</description></rule>\n"));
    char got[256];
    kids_of(f, 1, got, sizeof got);
    assert_string_equal(got, "103,106,105,102,100,104,101");
    /* evaluation follows that order: the level-0 rule wins */
    assert_int_equal(fx_eval_log(f, "x", NULL, 0), 103);
    fx_free(f);
}

static void attachment(void **state)
{
    struct fx *f = fx_rules(G(
        "<rule id=\"100\" level=\"3\"><match>a</match><description>d</description></rule>\n"
        "<rule id=\"101\" level=\"3\"><category>web-log</category><match>a</match>"
        "<description>d</description></rule>\n"
        "<rule id=\"102\" level=\"4\"><if_sid>100, 101</if_sid><match>b</match>"
        "<description>d</description></rule>\n"
        "<rule id=\"103\" level=\"0\"><if_sid>100</if_sid><match>c</match>"
        "<description>d</description></rule>\n"
        "<rule id=\"104\" level=\"10\"><if_level>4</if_level><match>lvl</match>"
        "<description>d</description></rule>\n") "<group name=\"web,accesslog,\">"
                                                 "<rule id=\"110\" "
                                                 "level=\"5\"><if_sid>101</if_sid><match>w</match>"
                                                 "<description>d</description></rule>\n"
                                                 "</group><group name=\"x,\">"
                                                 "<rule id=\"111\" "
                                                 "level=\"6\"><if_group>web|nomatch</"
                                                 "if_group><match>g</match>"
                                                 "<description>d</description></rule>\n"
                                                 "<rule id=\"112\" "
                                                 "level=\"6\"><if_sid>111</if_sid><match>h</match>"
                                                 "<description>d</description></rule>\n"
                                                 "</group>");
    char got[256];
    /* the level-0 templates count as level 99 for if_level, so 104 hangs under each */
    kids_of(f, 1, got, sizeof got);
    assert_string_equal(got, "104,100");
    kids_of(f, 4, got, sizeof got);
    assert_string_equal(got, "104,101");
    kids_of(f, 7, got, sizeof got);
    assert_string_equal(got, "104");
    kids_of(f, 100, got, sizeof got);
    assert_string_equal(got, "103,102"); /* 103 level 0 first */
    kids_of(f, 101, got, sizeof got);
    assert_string_equal(got, "110,102");
    /* 102 took the category of its last parent (101: web-log) */
    assert_int_equal(tld_rules_find(f->rs, 102)->category, TLD_CAT_WEB_LOG);
    /* if_level 4 attaches under every rule >= 4 (level 0 counts as 99): 102 (twice), 103 */
    kids_of(f, 102, got, sizeof got);
    assert_string_equal(got, "104");
    kids_of(f, 103, got, sizeof got);
    assert_string_equal(got, "104");
    /* if_group: under 110 (group web,...) and not under itself */
    kids_of(f, 110, got, sizeof got);
    assert_string_equal(got, "111");
    kids_of(f, 111, got, sizeof got);
    assert_string_equal(got, "112");

    /* syslog events walk template 1; web-log events template 4 */
    assert_int_equal(fx_eval_log(f, "a b", NULL, 0), 102);
    assert_int_equal(fx_eval_log(f, "a b lvl", NULL, 0), 104);
    assert_int_equal(fx_eval_log(f, "a b", "web-accesslog", 0), 102);
    assert_int_equal(fx_eval_log(f, "a w g h", "web-accesslog", 0), 112);
    assert_int_equal(fx_eval_log(f, "a c", NULL, 0), 103);
    assert_int_equal(fx_eval_log(f, "a c", "iptables", 0), 0); /* firewall tree: empty */
    assert_int_equal(fx_eval_log(f, "a c", "hostinfo", 0), 0); /* no template */
    fx_free(f);
}

/* if_sid naming a rule that sits in several branches attaches in each of them. */
static void multi_place(void **state)
{
    struct fx *f = fx_rules(G("<rule id=\"100\" level=\"3\"><match>a</match><group>p,</group>"
                              "<description>d</description></rule>\n"
                              "<rule id=\"101\" level=\"3\"><match>b</match><group>p,</group>"
                              "<description>d</description></rule>\n"
                              "<rule id=\"102\" level=\"5\"><if_group>p</if_group><match>c</match>"
                              "<description>d</description></rule>\n"
                              "<rule id=\"103\" level=\"6\"><if_sid>102</if_sid><match>d</match>"
                              "<description>d</description></rule>\n"));
    char got[256];
    kids_of(f, 100, got, sizeof got);
    assert_string_equal(got, "102");
    kids_of(f, 101, got, sizeof got);
    assert_string_equal(got, "102");
    assert_int_equal(fx_eval_log(f, "a c d", NULL, 0), 103);
    assert_int_equal(fx_eval_log(f, "b c d", NULL, 0), 103);
    assert_int_equal(fx_eval_log(f, "b c", NULL, 0), 102);
    /* one rule, one counter, whatever the place */
    assert_int_equal(f->hit.firedtimes, 1);
    assert_int_equal(tld_rules_state_firedtimes(f->st, tld_rules_find(f->rs, 103)), 2);
    fx_free(f);
}

/* A trailing separator in if_sid reads as id 0: the rule also hangs under its template. */
static void if_sid_trailing_separator(void **state)
{
    struct fx *f = fx_rules(
        G("<rule id=\"100\" level=\"3\"><match>a</match><description>d</description></rule>\n"
          "<rule id=\"101\" level=\"4\"><if_sid>100,</if_sid><match>b</match>"
          "<description>d</description></rule>\n"));
    char got[256];
    kids_of(f, 1, got, sizeof got);
    assert_string_equal(got, "101,100");
    assert_int_equal(fx_eval_log(f, "b", NULL, 0), 101);
    fx_free(f);
}

/* ---- overwrite ---- */

static void overwrite(void **state)
{
    struct fx *f = fx_new();
    fx_load(f,
            G("<rule id=\"100\" level=\"3\"><match>a</match><description>old</description></rule>\n"
              "<rule id=\"101\" level=\"8\"><match>a</match><description>sib</description></rule>\n"
              "<rule id=\"102\" level=\"4\"><if_sid>100</if_sid><match>b</match>"
              "<description>child</description></rule>\n"));
    fx_load(f, "<group name=\"local,\">"
               "<rule id=\"100\" level=\"10\" overwrite=\"yes\">\n"
               "<if_sid>5</if_sid><match>z</match><description>new</description>"
               "<group>mine,</group><options>no_full_log</options></rule>\n"
               "<rule id=\"100\" level=\"11\" overwrite=\"yes\">\n"
               "<match>y</match><description>newer</description></rule></group>");
    assert_int_equal(fx_diag_count(&f->diag, "rule 100: overwrite cannot change <if_sid>; kept"),
                     1);
    fx_finish(f);
    const struct tld_rule *r = tld_rules_find(f->rs, 100);
    assert_int_equal(r->level, 11);
    assert_string_equal(r->description, "newer");
    assert_string_equal(r->groups, "local,");
    assert_int_equal(r->options, 0);
    assert_int_equal(tld_rules_count(f->rs), 10);
    /* the position stays (still after 101 despite the higher level); children stay */
    char got[256];
    kids_of(f, 1, got, sizeof got);
    assert_string_equal(got, "101,100");
    assert_int_equal(fx_eval_log(f, "y b", NULL, 0), 102);
    assert_int_equal(fx_eval_log(f, "y", NULL, 0), 100);
    assert_int_equal(fx_eval_log(f, "a", NULL, 0), 101);
    fx_free(f);
}

/* ---- helpers ---- */

#include "../../src/engine/rules/rule_impl.h"

static void kids_of(struct fx *f, unsigned parent, char *out, size_t n)
{
    const struct tld_rules *rs = f->rs;
    out[0] = '\0';
    for (unsigned i = 0; i < rs->nnodes; i++) {
        const struct rnode *node = rs->nodes[i];
        if (node->rule->id != parent)
            continue;
        size_t len = 0;
        for (unsigned k = 0; k < node->nkids; k++)
            len +=
                (size_t)snprintf(out + len, n - len, "%s%u", k ? "," : "", node->kids[k]->rule->id);
        return;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(facts),
        cmocka_unit_test(defaults),
        cmocka_unit_test(fatal_errors),
        cmocka_unit_test(element_case_and_exact_names),
        cmocka_unit_test(rollback),
        cmocka_unit_test(refused_mistakes),
        cmocka_unit_test(skips_and_warnings),
        cmocka_unit_test(length_limits),
        cmocka_unit_test(sibling_order),
        cmocka_unit_test(attachment),
        cmocka_unit_test(multi_place),
        cmocka_unit_test(if_sid_trailing_separator),
        cmocka_unit_test(overwrite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
