/* Unit tests for decoder loading and the decoding walk (decoders.md). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "engine/decode/decoder.h"
#include "engine/ruleset_files.h"

struct fixture {
    struct tld_decoder_set *set;
    struct tld_decoder_state *st;
    struct tld_decoder_scratch scratch;
    struct tld_arena arena;
    struct tld_dynfield dyn[TLD_EVENT_MAX_FIELDS];
    struct tld_event ev;
    struct tld_diag diag;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    assert_int_equal(tld_decoder_set_new(&f->set), 0);
    f->st = tld_decoder_state_new();
    assert_int_equal(tld_decoder_scratch_init(&f->scratch), 0);
    tld_arena_init(&f->arena, 4096, 1 << 20);
    tld_event_init(&f->ev, &f->arena, f->dyn);
    tld_diag_init(&f->diag);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    tld_diag_fini(&f->diag);
    tld_arena_fini(&f->arena);
    tld_decoder_scratch_fini(&f->scratch);
    tld_decoder_state_free(f->st);
    tld_decoder_set_free(f->set);
    free(f);
    return 0;
}

/* Write `xml` to a temporary file and load it; returns the load result. */
static int load_text(struct fixture *f, const char *xml)
{
    char path[] = "/tmp/tld-dec-XXXXXX.xml";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, xml, strlen(xml)), (ssize_t)strlen(xml));
    close(fd);
    int err = tld_decoder_set_load_file(f->set, path, &f->diag);
    unlink(path);
    return err;
}

static void decode(struct fixture *f, const char *log, const char *program)
{
    tld_event_reset(&f->ev);
    f->ev.log = tld_sv_of(log);
    f->ev.full_log = f->ev.log;
    f->ev.program_name = program ? tld_sv_of(program) : TLD_SV_NULL;
    tld_decode(f->set, f->st, &f->ev, &f->scratch);
}

static const char *field(struct fixture *f, enum tld_field fl)
{
    static char buf[1024];
    struct tld_sv v = f->ev.fields[fl];
    if (!v.p)
        return NULL;
    snprintf(buf, sizeof buf, "%.*s", (int)v.n, v.p);
    return buf;
}

static const char *dyn(struct fixture *f, const char *name)
{
    static char buf[1024];
    struct tld_sv v = tld_event_get(&f->ev, tld_sv_of(name));
    if (!v.p)
        return NULL;
    snprintf(buf, sizeof buf, "%.*s", (int)v.n, v.p);
    return buf;
}

static const char stock_json[] = "<decoder name=\"json\">\n"
                                 "  <prematch>^{\\s*\"</prematch>\n"
                                 "  <plugin_decoder>JSON_Decoder</plugin_decoder>\n"
                                 "</decoder>\n";

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = 0;
    fclose(fp);
    while (n && buf[n - 1] == '\n')
        buf[--n] = 0;
    return buf;
}

/* decoders.md §11 with the mission's local_decoder.xml. */
static void mission_decoders(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, stock_json), 0);
    assert_int_equal(
        tld_decoder_set_load_file(f->set, "tests/data/mission/local_decoder.xml", &f->diag), 0);
    decode(f, read_file("tests/data/mission/input-container-log-sqli.log"), NULL);
    assert_non_null(f->ev.decoder);
    assert_string_equal(f->ev.decoder->name, "web-accesslog-docker");
    assert_string_equal(f->ev.decoder->parent, "json");
    assert_int_equal(f->ev.decoder->type, TLD_CAT_WEB_LOG);
    assert_string_equal(field(f, TLD_F_SRCIP), "192.168.132.1");
    assert_string_equal(field(f, TLD_F_PROTOCOL), "GET");
    assert_string_equal(field(f, TLD_F_URL), "/users/?id=SELECT+*+FROM+users");
    assert_string_equal(field(f, TLD_F_ID), "404");
    assert_int_equal(f->ev.ndyn, 0); /* the JSON plugin did not run */

    decode(f, read_file("tests/data/mission/input-docker-event-start.json"), NULL);
    assert_string_equal(f->ev.decoder->name, "json");
    assert_null(f->ev.decoder->parent);
    assert_string_equal(dyn(f, "integration"), "docker");
    assert_string_equal(dyn(f, "docker.Action"), "start");
    assert_string_equal(dyn(f, "docker.Actor.Attributes.name"), "test-container");
    assert_string_equal(dyn(f, "docker.time"), "1683632491");
    assert_string_equal(dyn(f, "docker.timeNano"), "1683632491049788416.000000");
    assert_string_equal(dyn(f, "docker.id"),
                        "d47511d28ebf226e6bebff7be58ba8b03cb62fba7686a877e565d837e3d438da");
    assert_null(field(f, TLD_F_ID)); /* only a top-level "id" is static */
}

static void json_flattening(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, stock_json), 0);
    decode(f,
           "{\"user\":\"u1\",\"dstuser\":\"d\",\"a\":{\"b\":1.5,\"c\":[\"x\",2],\"n\":null,"
           "\"t\":true,\"e\":{}},\"systemname\":\"s\",\"system_name\":\"dyn\",\"big\":2147483648,"
           "\"srcip\":\"1.1.1.1\",\"srcip\":\"2.2.2.2\"} trailing garbage",
           NULL);
    assert_string_equal(field(f, TLD_F_DSTUSER), "d"); /* "user" came first, then dstuser */
    assert_string_equal(dyn(f, "a.b"), "1.500000");
    assert_string_equal(dyn(f, "a.c"), "[\"x\", 2]");
    assert_string_equal(dyn(f, "a.n"), "null");
    assert_string_equal(dyn(f, "a.t"), "true");
    assert_null(dyn(f, "a.e"));
    assert_string_equal(field(f, TLD_F_SYSTEM_NAME), "s");
    assert_string_equal(dyn(f, "system_name"), "dyn");
    assert_string_equal(dyn(f, "big"), "2147483648.000000");
    assert_string_equal(field(f, TLD_F_SRCIP), "2.2.2.2");
    /* "user" went to dstuser because dstuser was still unset when it was seen. */
    assert_null(dyn(f, "user"));

    decode(f, "{\"dstuser\":\"d\",\"user\":\"u\"}", NULL);
    assert_string_equal(field(f, TLD_F_DSTUSER), "d");
    assert_string_equal(dyn(f, "user"), "u");

    decode(f, "{\"broken\": ", NULL);
    assert_string_equal(f->ev.decoder->name, "json"); /* selected, no field but the mark */
    assert_int_equal(f->ev.ndyn, 1);
    assert_string_equal(dyn(f, "threatlockdown.decode_error"), "invalid_json");
}

static void json_options(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "<decoder name=\"j\">\n<prematch>^{</prematch>\n"
                                  "<plugin_decoder>JSON_Decoder</plugin_decoder>\n"
                                  "<json_null_field>discard</json_null_field>\n"
                                  "<json_array_structure>csv</json_array_structure>\n"
                                  "</decoder>\n"),
                     0);
    decode(f, "{\"n\":null,\"l\":[\"a\",1,null,true,{\"x\":1}],\"m\":[\"a\",{\"x\":1}],\"e\":[]}",
           NULL);
    assert_null(dyn(f, "n"));
    assert_string_equal(dyn(f, "l"), "a,1,null,true,");
    assert_string_equal(dyn(f, "m"), "a,");
    assert_null(dyn(f, "e"));
}

/* P-list / N-list partitioning, first root is final, children and same-name chains. */
static void walk_semantics(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, "<decoder name=\"app\">\n"
                                  "  <program_name>^app$</program_name>\n"
                                  "</decoder>\n"
                                  "<decoder name=\"app-user\">\n"
                                  "  <parent>app</parent>\n"
                                  "  <prematch>^login </prematch>\n"
                                  "  <regex offset=\"after_prematch\">^(\\S+) from (\\S+)</regex>\n"
                                  "  <order>user, srcip</order>\n"
                                  "</decoder>\n"
                                  "<decoder name=\"kv\">\n"
                                  "  <parent>app</parent>\n"
                                  "  <regex>a=(\\w+)</regex>\n"
                                  "  <order>a</order>\n"
                                  "</decoder>\n"
                                  "<decoder name=\"kv\">\n"
                                  "  <parent>app</parent>\n"
                                  "  <regex>b=(\\w+)</regex>\n"
                                  "  <order>b</order>\n"
                                  "</decoder>\n"
                                  "<decoder name=\"generic\">\n"
                                  "  <prematch>^login </prematch>\n"
                                  "</decoder>\n"),
                     0);
    decode(f, "login bob from 10.0.0.1", "app");
    assert_string_equal(f->ev.decoder->name, "app"); /* child without use_own_name */
    assert_string_equal(f->ev.decoder->parent, "app");
    assert_string_equal(field(f, TLD_F_DSTUSER), "bob");
    assert_string_equal(field(f, TLD_F_SRCIP), "10.0.0.1");

    /* No prematch child: the chain kv, kv runs; both fields although the first fails. */
    decode(f, "x b=2", "app");
    assert_string_equal(f->ev.decoder->name, "app");
    assert_null(f->ev.decoder->parent); /* the root stays selected */
    assert_null(dyn(f, "a"));
    assert_string_equal(dyn(f, "b"), "2");

    /* Without a program name only the N-list is tried. */
    decode(f, "login bob from 10.0.0.1", NULL);
    assert_string_equal(f->ev.decoder->name, "generic");
    assert_null(field(f, TLD_F_DSTUSER));

    /* A program name nobody handles: nothing, not even the N-list. */
    decode(f, "login bob", "other");
    assert_null(f->ev.decoder);
}

static void load_errors(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *xml;
        const char *msg;
    } cases[] = {
        {"<decoder name=\"x\">\n <parent>nope</parent>\n <regex>(a)</regex><order>a</order>\n"
         "</decoder>",
         "parent decoder 'nope' is not loaded"},
        {"<decoder name=\"x\">\n <prematch>a</prematch>\n <bogus>1</bogus>\n</decoder>",
         ":3: error: decoder 'x': unknown element <bogus>"},
        {"<decoder name=\"x\">\n <prematch>sshd\\[</prematch>\n</decoder>",
         ":2: error: decoder 'x': invalid <prematch>"},
        {"<decoder name=\"x\">\n <prematch>a</prematch>\n <regex>(a)</regex>\n</decoder>",
         "<regex> and <order> must be given together"},
        {"<decoder name=\"x\">\n <type>weird</type>\n <prematch>a</prematch>\n</decoder>",
         ":2: error: decoder 'x': invalid <type> 'weird'"},
        {"<decoder name=\"x\" foo=\"1\"><prematch>a</prematch></decoder>",
         "unexpected attribute 'foo'"},
        {"<rule id=\"1\"/>", "decoder files hold only <decoder>"},
        {"<decoder name=\"x\">\n<program_name>a</program_name>\n</decoder>\n<decoder name=\"x\">",
         "never closed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tld_diag_fini(&f->diag);
        tld_diag_init(&f->diag);
        unsigned before = tld_decoder_set_count(f->set);
        assert_int_equal(load_text(f, cases[i].xml), TLD_EPARSE);
        assert_int_equal(tld_decoder_set_count(f->set), before);
        assert_true(f->diag.errors > 0);
        if (!strstr(f->diag.msgs[0].text, cases[i].msg))
            fail_msg("case %zu: '%s' lacks '%s'", i, f->diag.msgs[0].text, cases[i].msg);
        assert_non_null(strstr(f->diag.msgs[0].text, "/tmp/tld-dec-"));
    }
}

/* A file with one bad decoder adds nothing, not even its good decoders. */
static void atomic_file_load(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(load_text(f, stock_json), 0);
    assert_int_equal(load_text(f, "<decoder name=\"good\"><parent>json</parent>"
                                  "<regex>(a)</regex><order>a</order></decoder>\n"
                                  "<decoder name=\"bad\"><parent>none</parent></decoder>"),
                     TLD_EPARSE);
    assert_int_equal(tld_decoder_set_count(f->set), 1);
    decode(f, "{\"a\":1}", NULL);
    assert_string_equal(dyn(f, "a"), "1"); /* the root json still has no children */
}

/* The whole Wazuh decoder set loads (skipped when the folder is absent). */
static void wazuh_decoders_load(void **state)
{
    struct fixture *f = *state;
    const char *dir = "../shared/wazuh-ruleset/decoders";
    if (access(dir, R_OK) != 0)
        skip();
    struct tld_file_list fl = {0};
    assert_int_equal(tld_file_list_add_dir(&fl, dir, &f->diag), 0);
    assert_int_equal(tld_file_list_finish(&fl, NULL, 0), 0);
    for (unsigned i = 0; i < fl.n; i++) {
        int err = tld_decoder_set_load_file(f->set, fl.paths[i], &f->diag);
        if (err)
            tld_diag_print(&f->diag, stderr);
        assert_int_equal(err, 0);
    }
    unsigned files = fl.n;
    tld_file_list_fini(&fl);
    assert_int_equal(files, 120);
    /* 1,581 <decoder> tags appear in the files; 6 of them sit inside XML comments. */
    assert_int_equal(tld_decoder_set_count(f->set), 1575);
    assert_int_equal(f->diag.errors, 0);
    assert_true(tld_decoder_set_id(f->set, TLD_SV_LIT("sshd")) >= 0);
    decode(f, "Failed password for invalid user admin from 10.0.0.5 port 4242 ssh2", "sshd");
    assert_string_equal(f->ev.decoder->name, "sshd");
    assert_string_equal(field(f, TLD_F_SRCIP), "10.0.0.5");
    assert_string_equal(field(f, TLD_F_SRCUSER), "admin");
    decode(f, "Failed password for root from 10.0.0.6 port 22 ssh2", "sshd");
    assert_string_equal(field(f, TLD_F_DSTUSER), "root");
    assert_string_equal(field(f, TLD_F_SRCPORT), "22");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(mission_decoders, setup, teardown),
        cmocka_unit_test_setup_teardown(json_flattening, setup, teardown),
        cmocka_unit_test_setup_teardown(json_options, setup, teardown),
        cmocka_unit_test_setup_teardown(walk_semantics, setup, teardown),
        cmocka_unit_test_setup_teardown(load_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(atomic_file_load, setup, teardown),
        cmocka_unit_test_setup_teardown(wazuh_decoders_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
