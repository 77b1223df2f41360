/* Unit tests for the ruleset XML dialect (src/common/xml.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/xml.h"

static struct tld_xml_doc *parse_ok(const char *text)
{
    struct tld_diag d;
    tld_diag_init(&d);
    struct tld_xml_doc *doc = NULL;
    int err = tld_xml_parse(text, strlen(text), "t.xml", &doc, &d);
    if (err)
        tld_diag_print(&d, stderr);
    assert_int_equal(err, 0);
    assert_int_equal(d.errors, 0);
    tld_diag_fini(&d);
    return doc;
}

/* Parse expecting failure; returns the first diagnostic (caller frees). */
static char *parse_err(const char *text)
{
    struct tld_diag d;
    tld_diag_init(&d);
    struct tld_xml_doc *doc = NULL;
    int err = tld_xml_parse(text, strlen(text), "t.xml", &doc, &d);
    assert_int_equal(err, TLD_EPARSE);
    assert_null(doc);
    assert_true(d.errors >= 1);
    char *msg = strdup(d.msgs[0].text);
    tld_diag_fini(&d);
    return msg;
}

static void several_roots_and_verbatim_text(void **state)
{
    struct tld_xml_doc *doc = parse_ok("<!-- head -->\n<decoder name=\"a\">\n"
                                       "  <prematch>^foo &lt; \\<x> </prematch>\n</decoder>\n"
                                       "<decoder name='b' status = \"x\"><regex/><order></order>"
                                       "</decoder>");
    struct tld_xml_node *a = doc->roots;
    assert_string_equal(a->name, "decoder");
    assert_int_equal(a->line, 2);
    assert_true(tld_sv_eq_cstr(*tld_xml_attr(a, "name"), "a"));
    assert_string_equal(a->children->name, "prematch");
    assert_int_equal(a->children->line, 3);
    assert_string_equal(a->children->text.p, "^foo &lt; \\<x> ");
    assert_int_equal(a->text.n, 0); /* element with children */
    struct tld_xml_node *b = a->next;
    assert_true(tld_sv_eq_cstr(*tld_xml_attr(b, "status"), "x"));
    assert_string_equal(b->children->text.p, "");
    assert_string_equal(b->children->next->text.p, "");
    assert_null(b->next);
    tld_xml_free(doc);
}

static void comments_inside_text(void **state)
{
    struct tld_xml_doc *doc =
        parse_ok("<a>foo<!-- c -->bar<! old style !>baz</a><?xml version='1.0'?>");
    assert_string_equal(doc->roots->text.p, "foobarbaz");
    tld_xml_free(doc);
}

static void variables(void **state)
{
    struct tld_xml_doc *doc = parse_ok("<var name=\"BAD\">a|b</var>\n"
                                       "<group name=\"x,\"><rule><match>^$bad|c</match>"
                                       "<description>$(field) $ x</description>"
                                       "<m>$B</m></rule></group>");
    struct tld_xml_node *g = doc->roots;
    assert_string_equal(g->name, "group"); /* the var element is not in the tree */
    struct tld_xml_node *m = g->children->children;
    assert_string_equal(m->text.p, "^a|b|c");
    assert_string_equal(m->next->text.p, "$(field) $ x");
    assert_string_equal(m->next->next->text.p, "$B"); /* <= 2 chars: not scanned */
    tld_xml_free(doc);

    char *msg = parse_err("<var name=\"A\">1</var>\n<x>$NOPE here</x>");
    assert_string_equal(msg, "t.xml:2: error: unknown variable '$NOPE'");
    free(msg);
    /* Without any <var>, a $word is plain text. */
    doc = parse_ok("<x>$NOPE here</x>");
    assert_string_equal(doc->roots->text.p, "$NOPE here");
    tld_xml_free(doc);
}

static void errors_name_line(void **state)
{
    char *msg = parse_err("<a>\n<b>\n</a>");
    assert_string_equal(msg, "t.xml:3: error: closing tag does not match <b>");
    free(msg);
    msg = parse_err("<a x=\"1\" x=\"2\"/>");
    assert_string_equal(msg, "t.xml:1: error: duplicate attribute in element <a>");
    free(msg);
    msg = parse_err("<a>\n<b>text");
    assert_string_equal(msg, "t.xml:2: error: element <b> is never closed");
    free(msg);
    msg = parse_err("<a x=1/>");
    assert_string_equal(msg, "t.xml:1: error: attribute value must be quoted in element <a>");
    free(msg);
    msg = parse_err("junk <a/>");
    assert_non_null(strstr(msg, "text outside of any element"));
    free(msg);
    msg = parse_err("<a><!-- never closed </a>");
    assert_non_null(strstr(msg, "unterminated comment"));
    free(msg);
}

static void bounds(void **state)
{
    size_t n = TLD_XML_MAX_TEXT + 20;
    char *big = malloc(n + 16);
    strcpy(big, "<a>");
    memset(big + 3, 'x', TLD_XML_MAX_TEXT + 1);
    strcpy(big + 3 + TLD_XML_MAX_TEXT + 1, "</a>");
    char *msg = parse_err(big);
    assert_non_null(strstr(msg, "longer than 20480"));
    free(msg);
    free(big);

    size_t depth = TLD_XML_MAX_DEPTH + 1;
    char *deep = malloc(depth * 3 + 1);
    for (size_t i = 0; i < depth; i++)
        memcpy(deep + i * 3, "<a>", 3);
    deep[depth * 3] = 0;
    msg = parse_err(deep);
    assert_non_null(strstr(msg, "nested deeper"));
    free(msg);
    free(deep);
}

/* Every decoder and rule file of the Wazuh ruleset must parse (skipped when absent). */
static void wazuh_ruleset_parses(void **state)
{
    const char *base = getenv("TLD_SHARED") ? getenv("TLD_SHARED") : "../shared";
    const char *sub[] = {"decoders", "rules", "testing/ruleset"};
    unsigned files = 0;
    for (unsigned s = 0; s < 3; s++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/wazuh-ruleset/%s", base, sub[s]);
        DIR *dp = opendir(dir);
        if (!dp) {
            if (s == 0)
                skip(); /* prints SKIPPED: the folder is absent on this machine */
            continue;
        }
        struct dirent *de;
        while ((de = readdir(dp))) {
            if (!strstr(de->d_name, ".xml"))
                continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            struct tld_diag d;
            tld_diag_init(&d);
            struct tld_xml_doc *doc = NULL;
            int err = tld_xml_load(path, &doc, &d);
            if (err)
                tld_diag_print(&d, stderr);
            assert_int_equal(err, 0);
            tld_diag_fini(&d);
            tld_xml_free(doc);
            files++;
        }
        closedir(dp);
    }
    assert_true(files > 280);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(several_roots_and_verbatim_text),
        cmocka_unit_test(comments_inside_text),
        cmocka_unit_test(variables),
        cmocka_unit_test(errors_name_line),
        cmocka_unit_test(bounds),
        cmocka_unit_test(wazuh_ruleset_parses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
