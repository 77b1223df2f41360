/*
 * Unit tests for the agent registry's durable form: the snapshot `<var>/agents` with the journal
 * `<var>/agents.journal` of later changes. A registry written before the journal existed is
 * read as it was; a torn journal tail is ignored and cut; compaction folds the journal into the
 * snapshot; and a process killed with SIGKILL in the middle of enrollments leaves a registry
 * that opens and holds every enrollment it acknowledged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "manager/agents.h"

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static int setup(void **state)
{
    char *root = malloc(64);
    snprintf(root, 64, "/tmp/tld-test-agentsj-XXXXXX");
    assert_non_null(mkdtemp(root));
    *state = root;
    return 0;
}

static int teardown(void **state)
{
    nftw(*state, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(*state);
    return 0;
}

static int issue_fp(void *ctx, const char *agent_id, uint8_t fp[32])
{
    (void)ctx;
    memset(fp, 0, 32);
    memcpy(fp, agent_id, strlen(agent_id));
    return 0;
}

static void enroll(struct tld_agents *r, const char *name, bool force, unsigned *id)
{
    unsigned rep;
    assert_int_equal(tld_agents_enroll(r, name, "10.0.0.1", force, issue_fp, NULL, id, &rep), 0);
}

static void write_text(const char *root, const char *file, const char *text, const char *mode)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, file);
    FILE *f = fopen(path, mode);
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static off_t file_size(const char *root, const char *file)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", root, file);
    return stat(path, &st) == 0 ? st.st_size : -1;
}

static struct tld_agents *open_reg(const char *root)
{
    struct tld_agents *r;
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_agents_open(root, 100000, &r, why), 0);
    return r;
}

#define FP_HEX "3030310000000000000000000000000000000000000000000000000000000000"

/* A registry of the format before the journal is read, and changes go to the journal. */
static void upgrade_from_snapshot_only(void **state)
{
    const char *root = *state;
    write_text(root, "agents",
               "# old registry\nnext 5\n"
               "001 web-1 10.0.0.1 1700000000 active " FP_HEX " 0\n"
               "003 web-3 any 1700000001 removed " FP_HEX " 1700000100\n",
               "w");
    struct tld_agents *r = open_reg(root);
    struct tld_agent_info a;
    assert_int_equal(tld_agents_get(r, 1, &a), 0);
    assert_string_equal(a.name, "web-1");
    assert_false(a.removed);
    assert_int_equal(tld_agents_get(r, 3, &a), 0);
    assert_true(a.removed);
    unsigned id;
    enroll(r, "web-5", false, &id);
    assert_int_equal(id, 5); /* the snapshot's next id is kept */
    assert_int_equal(tld_agents_remove(r, 1), 0);
    tld_agents_close(r);
    assert_true(file_size(root, "agents.journal") > 0);

    r = open_reg(root);
    assert_int_equal(tld_agents_get(r, 5, &a), 0);
    assert_string_equal(a.name, "web-5");
    assert_int_equal(tld_agents_get(r, 1, &a), 0);
    assert_true(a.removed);
    uint8_t fp[32];
    issue_fp(NULL, "005", fp);
    assert_int_equal(tld_agents_check(r, "005", fp, &id), 0);
    enroll(r, "web-6", false, &id);
    assert_int_equal(id, 6);
    tld_agents_close(r);
}

/* A change whose "commit" never reached the disk is not there, and the next append cuts it. */
static void torn_tail_ignored_and_cut(void **state)
{
    const char *root = *state;
    struct tld_agents *r = open_reg(root);
    unsigned id;
    enroll(r, "a", false, &id);
    tld_agents_close(r);
    /* a complete group without its commit, then half a line */
    write_text(root, "agents.journal",
               "002 b any 1700000000 active " FP_HEX " 0\nnext 3\n003 c any 17", "a");
    r = open_reg(root);
    struct tld_agent_info a;
    assert_int_equal(tld_agents_get(r, 2, &a), TLD_ENOTFOUND);
    enroll(r, "b2", false, &id);
    assert_int_equal(id, 2);
    tld_agents_close(r);
    r = open_reg(root);
    assert_int_equal(tld_agents_get(r, 2, &a), 0);
    assert_string_equal(a.name, "b2");
    assert_int_equal(tld_agents_get(r, 3, &a), TLD_ENOTFOUND);
    tld_agents_close(r);
}

/* A malformed line inside a committed change is corruption, reported rather than skipped. */
static void corrupt_committed_line_refused(void **state)
{
    const char *root = *state;
    write_text(root, "agents.journal", "001 a any 1 active nothex 0\nnext 2\ncommit\n", "w");
    struct tld_agents *r;
    char why[TLD_WHY_MAX];
    assert_int_equal(tld_agents_open(root, 100, &r, why), TLD_ECORRUPT);
    assert_non_null(strstr(why, "agents.journal:1"));
}

/* Replacing an agent (force) records both records in one change; compaction keeps all. */
static void replace_and_compaction(void **state)
{
    const char *root = *state;
    struct tld_agents *r = open_reg(root);
    unsigned id, rep;
    enroll(r, "dup", false, &id);
    assert_int_equal(tld_agents_enroll(r, "dup", "10.0.0.2", true, issue_fp, NULL, &id, &rep), 0);
    assert_int_equal(rep, 1);
    assert_int_equal(id, 2);
    /* enough changes to pass the compaction threshold (256 KiB) at least once */
    char name[32];
    for (unsigned i = 0; i < 2500; i++) {
        snprintf(name, sizeof name, "n-%u", i);
        enroll(r, name, false, &id);
    }
    tld_agents_close(r);
    assert_true(file_size(root, "agents.journal") < 256 * 1024);
    assert_true(file_size(root, "agents") > 100 * 1024); /* compacted at least once */
    r = open_reg(root);
    struct tld_agent_info a;
    assert_int_equal(tld_agents_get(r, 1, &a), 0);
    assert_true(a.removed);
    assert_int_equal(tld_agents_get(r, 2, &a), 0);
    assert_false(a.removed);
    assert_string_equal(a.reg_ip, "10.0.0.2");
    struct tld_agent_info *all;
    unsigned n;
    assert_int_equal(tld_agents_list(r, &all, &n), 0);
    assert_int_equal(n, 2502);
    for (unsigned i = 1; i < n; i++)
        assert_true(all[i].id == all[i - 1].id + 1);
    free(all);
    enroll(r, "last", false, &id);
    assert_int_equal(id, 2503);
    tld_agents_close(r);
}

/* Another process's change (a removal by `tld-manager agents remove`) is seen by refresh. */
static void refresh_sees_journal_changes(void **state)
{
    const char *root = *state;
    struct tld_agents *r = open_reg(root);
    unsigned id;
    enroll(r, "x", false, &id);
    enroll(r, "y", false, &id);
    struct tld_agents *other = open_reg(root);
    assert_int_equal(tld_agents_remove(other, 1), 0);
    tld_agents_close(other);
    unsigned removed[4];
    assert_int_equal(tld_agents_refresh(r, removed, 4), 1);
    assert_int_equal(removed[0], 1);
    enroll(r, "z", false, &id);
    assert_int_equal(id, 3);
    tld_agents_close(r);
}

/* Two managers sharing one registry directory, each with its own status file: an agent
 * enrolled on one is known to the other at once, ids never collide, and a removal on one is
 * reported by the other's refresh and refused by its check. */
static void shared_registry_two_managers(void **state)
{
    const char *root = *state;
    char reg[128], sa[128], sb[128], why[TLD_WHY_MAX];
    snprintf(reg, sizeof reg, "%s", root);
    snprintf(sa, sizeof sa, "%s/a", root);
    snprintf(sb, sizeof sb, "%s/b", root);
    mkdir(sa, 0700);
    mkdir(sb, 0700);
    struct tld_agents *a, *b;
    assert_int_equal(tld_agents_open_at(reg, sa, 1000, &a, why), 0);
    assert_int_equal(tld_agents_open_at(reg, sb, 1000, &b, why), 0);
    unsigned id1, id2, id;
    enroll(a, "one", false, &id1);
    enroll(b, "two", false, &id2);
    assert_int_equal(id1, 1);
    assert_int_equal(id2, 2);
    unsigned rep;
    assert_int_equal(tld_agents_enroll(b, "one", "any", false, issue_fp, NULL, &id, &rep),
                     TLD_EEXIST); /* names are fleet-wide */
    uint8_t fp[32];
    issue_fp(NULL, "001", fp);
    assert_int_equal(tld_agents_check(b, "001", fp, &id), 0); /* caught up without a refresh */
    assert_int_equal(tld_agents_remove(a, 1), 0);
    unsigned removed[4];
    assert_int_equal(tld_agents_refresh(b, removed, 4), 1);
    assert_int_equal(removed[0], 1);
    assert_int_equal(tld_agents_check(b, "001", fp, &id), TLD_EAUTH);
    assert_int_equal(tld_agents_save_status(a), 0);
    assert_int_equal(tld_agents_save_status(b), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/agents-status.json", sb);
    assert_int_equal(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/agents-status.json", reg);
    assert_int_not_equal(access(path, F_OK), 0);
    tld_agents_close(a);
    tld_agents_close(b);
}

/* Child: enroll in a loop, telling the parent each id as soon as enroll() returned it. */
static void enroll_forever(const char *root, int out)
{
    struct tld_agents *r;
    char why[TLD_WHY_MAX];
    if (tld_agents_open(root, 1000000, &r, why) != 0)
        _exit(3);
    char name[32];
    for (unsigned i = 0;; i++) {
        unsigned id, rep;
        snprintf(name, sizeof name, "k-%d-%u", (int)getpid(), i);
        if (tld_agents_enroll(r, name, "any", false, issue_fp, NULL, &id, &rep) != 0)
            _exit(4);
        if (write(out, &id, sizeof id) != sizeof id)
            _exit(5);
    }
}

/* SIGKILL in the middle of enrollments, several times over: the registry always opens and holds
 * every enrollment that was acknowledged (and nothing half-written). */
static void kill9_during_enrollments(void **state)
{
    const char *root = *state;
    unsigned acked_total = 0;
    srand((unsigned)time(NULL));
    for (int round = 0; round < 6; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            enroll_forever(root, p[1]);
        }
        close(p[1]);
        usleep(50000 + (useconds_t)(rand() % 150000));
        kill(pid, SIGKILL);
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFSIGNALED(st));
        unsigned ids[100000], n = 0, v;
        while (n < 100000 && read(p[0], &v, sizeof v) == sizeof v)
            ids[n++] = v;
        close(p[0]);
        acked_total += n;
        struct tld_agents *r = open_reg(root);
        for (unsigned i = 0; i < n; i++) {
            struct tld_agent_info a;
            assert_int_equal(tld_agents_get(r, ids[i], &a), 0);
            assert_false(a.removed);
            uint8_t fp[32];
            char idt[TLD_PROTO_MAX_ID];
            tld_agents_id_text(ids[i], idt);
            issue_fp(NULL, idt, fp);
            assert_memory_equal(a.fp, fp, 32);
        }
        tld_agents_close(r);
    }
    assert_true(acked_total > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(upgrade_from_snapshot_only, setup, teardown),
        cmocka_unit_test_setup_teardown(torn_tail_ignored_and_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(corrupt_committed_line_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(replace_and_compaction, setup, teardown),
        cmocka_unit_test_setup_teardown(refresh_sees_journal_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(shared_registry_two_managers, setup, teardown),
        cmocka_unit_test_setup_teardown(kill9_during_enrollments, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
