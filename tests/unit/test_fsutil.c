/* Unit tests for src/common/fsutil: atomic replacement and mkdir -p. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fsutil.h"

static int make_dir(void **state)
{
    char *d = strdup("/tmp/tld_fsutil_XXXXXX");
    assert_non_null(mkdtemp(d));
    *state = d;
    umask(022);
    return 0;
}

static int remove_dir(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", (char *)*state);
    int rc = system(cmd);
    free(*state);
    return rc;
}

static void read_text(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = 0;
    fclose(f);
}

static void replace_creates_then_overwrites(void **state)
{
    char p[256], buf[64];
    snprintf(p, sizeof p, "%s/f.json", (char *)*state);
    assert_int_equal(tld_file_replace(p, "first\n", 6, 0640), 0);
    read_text(p, buf, sizeof buf);
    assert_string_equal(buf, "first\n");
    assert_int_equal(tld_file_replace(p, "2", 1, 0640), 0);
    read_text(p, buf, sizeof buf);
    assert_string_equal(buf, "2");
    /* no temporary file is left behind */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    assert_int_equal(access(tmp, F_OK), -1);
    /* empty content is a valid replacement */
    assert_int_equal(tld_file_replace(p, "", 0, 0640), 0);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_size, 0);
}

static void replace_respects_mode(void **state)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof p, "%s/key", (char *)*state);
    assert_int_equal(tld_file_replace(p, "k", 1, 0600), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    /* the mode of the new file, not of the one replaced */
    assert_int_equal(tld_file_replace(p, "k", 1, 0644), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    /* the umask filters it like open(2) */
    mode_t old = umask(077);
    assert_int_equal(tld_file_replace(p, "k", 1, 0644), 0);
    umask(old);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
}

static void replace_ignores_stale_temp(void **state)
{
    char p[256], tmp[300], buf[64];
    snprintf(p, sizeof p, "%s/s", (char *)*state);
    snprintf(tmp, sizeof tmp, "%s.tmp", p);
    int fd = open(tmp, O_WRONLY | O_CREAT, 0400);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "stale stale stale", 17), 17);
    close(fd);
    assert_int_equal(tld_file_replace(p, "new", 3, 0640), 0);
    read_text(p, buf, sizeof buf);
    assert_string_equal(buf, "new");
}

static void replace_failure_keeps_old_content(void **state)
{
    char p[256], buf[64];
    snprintf(p, sizeof p, "%s/keep", (char *)*state);
    assert_int_equal(tld_file_replace(p, "old", 3, 0640), 0);
    /* a directory in the temporary file's place makes the write fail */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp/x", p);
    assert_int_equal(tld_mkdir_p(tmp, 0750), 0);
    assert_int_equal(tld_file_replace(p, "new", 3, 0640), TLD_EIO);
    read_text(p, buf, sizeof buf);
    assert_string_equal(buf, "old");
    /* no directory to write in */
    snprintf(tmp, sizeof tmp, "%s/missing/f", (char *)*state);
    assert_int_equal(tld_file_replace(tmp, "x", 1, 0640), TLD_EIO);
    assert_int_equal(errno, ENOENT);
}

/* Writers that replace the file over and over while readers open it: every read sees one whole
 * version, never a mix or an empty file. */
static void replace_readers_see_old_or_new(void **state)
{
    char p[256];
    snprintf(p, sizeof p, "%s/race", (char *)*state);
    static char a[8192], b[8192];
    memset(a, 'a', sizeof a);
    memset(b, 'b', sizeof b);
    assert_int_equal(tld_file_replace(p, a, sizeof a, 0640), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int i = 0; i < 200; i++)
            if (tld_file_replace(p, i % 2 ? a : b, sizeof a, 0640) != 0)
                _exit(1);
        _exit(0);
    }
    static char got[sizeof a + 1];
    int seen = 0;
    for (int i = 0; i < 2000; i++) {
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        ssize_t n = 0, r;
        while ((r = read(fd, got + n, sizeof got - (size_t)n)) > 0)
            n += r;
        close(fd);
        assert_int_equal(n, sizeof a);
        assert_true(memcmp(got, a, sizeof a) == 0 || memcmp(got, b, sizeof b) == 0);
        seen++;
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(seen, 2000);
}

static void write_all_writes_everything(void **state)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(tld_write_all(fds[1], "hello", 5), 0);
    assert_int_equal(tld_write_all(fds[1], "", 0), 0);
    char buf[8] = "";
    assert_int_equal(read(fds[0], buf, sizeof buf), 5);
    assert_memory_equal(buf, "hello", 5);
    close(fds[0]);
    close(fds[1]);
    assert_int_equal(tld_write_all(fds[1], "x", 1), TLD_EIO);
    assert_int_equal(errno, EBADF);
}

static void mkdir_p_creates_parents(void **state)
{
    char p[256];
    struct stat st;
    snprintf(p, sizeof p, "%s/a/b//c/", (char *)*state);
    assert_int_equal(tld_mkdir_p(p, 0750), 0);
    snprintf(p, sizeof p, "%s/a/b/c", (char *)*state);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0750);
    snprintf(p, sizeof p, "%s/a", (char *)*state);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    /* existing parts are fine, again and again */
    snprintf(p, sizeof p, "%s/a/b/c", (char *)*state);
    assert_int_equal(tld_mkdir_p(p, 0700), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0750);
    snprintf(p, sizeof p, "%s/a/b/d", (char *)*state);
    assert_int_equal(tld_mkdir_p(p, 0700), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
}

static void mkdir_p_refuses_files_in_the_way(void **state)
{
    char p[256];
    snprintf(p, sizeof p, "%s/file", (char *)*state);
    assert_int_equal(tld_file_replace(p, "x", 1, 0640), 0);
    /* an intermediate part that is a file */
    snprintf(p, sizeof p, "%s/file/sub/dir", (char *)*state);
    assert_int_equal(tld_mkdir_p(p, 0750), TLD_EIO);
    assert_int_equal(errno, ENOTDIR);
    /* the last part is a file */
    snprintf(p, sizeof p, "%s/file", (char *)*state);
    assert_int_equal(tld_mkdir_p(p, 0750), TLD_EIO);
    assert_int_equal(errno, ENOTDIR);
    assert_int_equal(tld_mkdir_p("", 0750), TLD_EINVAL);
}

static void mkdir_p_too_long(void **state)
{
    char *p = malloc(5000);
    assert_non_null(p);
    memset(p, 'x', 4999);
    p[0] = '/';
    p[4999] = 0;
    assert_int_equal(tld_mkdir_p(p, 0750), TLD_EINVAL);
    assert_int_equal(tld_file_replace(p, "x", 1, 0640), TLD_EINVAL);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(replace_creates_then_overwrites, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(replace_respects_mode, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(replace_ignores_stale_temp, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(replace_failure_keeps_old_content, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(replace_readers_see_old_or_new, make_dir, remove_dir),
        cmocka_unit_test(write_all_writes_everything),
        cmocka_unit_test_setup_teardown(mkdir_p_creates_parents, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(mkdir_p_refuses_files_in_the_way, make_dir, remove_dir),
        cmocka_unit_test(mkdir_p_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
