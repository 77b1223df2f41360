/* Installation layout (see install.h). */
#include "manager/install.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "manager/config.h"

static const char local_decoder[] =
    "<!--\n"
    "  Local decoders. Add your own decoders here; they load together with the shipped\n"
    "  ones (ruleset/decoders), sorted by file name, exactly as in Wazuh. Example:\n"
    "\n"
    "  <decoder name=\"my-app\">\n"
    "    <prematch>^my-app: </prematch>\n"
    "  </decoder>\n"
    "-->\n";

static const char local_rules[] =
    "<!--\n"
    "  Local rules. Add your own rules here (ids 100000 to 120000 are yours). Example:\n"
    "\n"
    "  <group name=\"local,\">\n"
    "    <rule id=\"100001\" level=\"5\">\n"
    "      <match>something interesting</match>\n"
    "      <description>Something interesting happened.</description>\n"
    "    </rule>\n"
    "  </group>\n"
    "-->\n";

/* Write `text` to `path` unless it exists; *made says whether it was written. */
static int write_new(const char *path, const char *text, mode_t mode, bool *made)
{
    if (made)
        *made = false;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return errno == EEXIST ? 0 : TLD_EIO;
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    close(fd);
    if (!ok) {
        unlink(path);
        return TLD_EIO;
    }
    if (made)
        *made = true;
    return 0;
}

static int copy_file(const char *from, const char *to, mode_t mode)
{
    int in = open(from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return TLD_EIO;
    int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 0644);
    if (out < 0) {
        close(in);
        return errno == EEXIST ? 0 : TLD_EIO;
    }
    char buf[65536];
    ssize_t n;
    int rc = 0;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n) {
            rc = TLD_EIO;
            break;
        }
    if (n < 0)
        rc = TLD_EIO;
    close(in);
    if (close(out) != 0)
        rc = TLD_EIO;
    return rc;
}

static bool has_xml(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        found = l > 4 && strcmp(e->d_name + l - 4, ".xml") == 0;
    }
    closedir(d);
    return found;
}

int tld_install_copy_tree(const char *from, const char *to)
{
    DIR *d = opendir(from);
    if (!d)
        return TLD_EIO;
    int rc = tld_mkdir_p(to, 0750);
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char src[PATH_MAX], dst[PATH_MAX];
        if (snprintf(src, sizeof src, "%s/%s", from, e->d_name) >= (int)sizeof src ||
            snprintf(dst, sizeof dst, "%s/%s", to, e->d_name) >= (int)sizeof dst)
            continue;
        struct stat st;
        if (stat(src, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = tld_install_copy_tree(src, dst);
        else if (S_ISREG(st.st_mode))
            rc = copy_file(src, dst, st.st_mode);
    }
    closedir(d);
    return rc;
}

const char *tld_install_ruleset_src(char *buf, size_t n)
{
    struct stat st;
    const char *env = getenv("TLD_RULESET_SRC");
    if (env && *env) {
        snprintf(buf, n, "%s", env);
        return stat(buf, &st) == 0 ? buf : NULL;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *dir = dirname(exe);
        /* build/bin/tld-manager or build/asan/bin/tld-manager in the source tree, or
         * PREFIX/bin/tld-manager after `make install PREFIX=...` */
        static const char *const ups[] = {"/../../ruleset", "/../../../ruleset",
                                          "/../share/threatlockdown/ruleset"};
        for (size_t i = 0; i < sizeof ups / sizeof *ups; i++) {
            snprintf(buf, n, "%s%s", dir, ups[i]);
            char rules[PATH_MAX + 16];
            snprintf(rules, sizeof rules, "%s/rules", buf);
            if (stat(rules, &st) == 0)
                return buf;
        }
    }
    snprintf(buf, n, "/usr/share/threatlockdown/ruleset");
    return stat(buf, &st) == 0 ? buf : NULL;
}

int tld_install_layout(const char *root, const char *ruleset_src, bool *created_config,
                       struct tld_log *log)
{
    static const struct {
        const char *path;
        mode_t mode;
    } dirs[] = {
        {"etc", 0750},
        {"etc/decoders", 0750},
        {"etc/rules", 0750},
        {"etc/lists", 0750},
        {"ruleset/decoders", 0750},
        {"ruleset/rules", 0750},
        {"logs/alerts", 0750},
        {"logs/archives", 0750},
        {"queue/intake", 0750},
        {"queue/local", 0750},
        {"var", 0750},
        {"var/ca", 0700},
        {"var/run", 0750},
    };
    char p[PATH_MAX];
    *created_config = false;
    if (tld_mkdir_p(root, 0750) != 0)
        return TLD_EIO;
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(p, sizeof p, "%s/%s", root, dirs[i].path);
        if (tld_mkdir_p(p, dirs[i].mode) != 0) {
            tld_log_error(log, "cannot create %s: %s", p, strerror(errno));
            return TLD_EIO;
        }
    }
    snprintf(p, sizeof p, "%s/etc/manager.conf", root);
    int rc = write_new(p, tld_mgr_config_default_text(), 0640, created_config);
    snprintf(p, sizeof p, "%s/etc/decoders/local_decoder.xml", root);
    if (rc == 0)
        rc = write_new(p, local_decoder, 0640, NULL);
    snprintf(p, sizeof p, "%s/etc/rules/local_rules.xml", root);
    if (rc == 0)
        rc = write_new(p, local_rules, 0640, NULL);
    if (rc) {
        tld_log_error(log, "cannot write %s: %s", p, strerror(errno));
        return rc;
    }
    /* The shipped ruleset: copied once; later updates of ruleset/ are the package's job. */
    struct stat st;
    snprintf(p, sizeof p, "%s/ruleset/rules", root);
    if (!has_xml(p)) {
        if (ruleset_src) {
            snprintf(p, sizeof p, "%s/ruleset", root);
            static const char *const parts[] = {"decoders", "rules", "lists"};
            for (size_t i = 0; rc == 0 && i < 3; i++) {
                char from[PATH_MAX + 32], to[PATH_MAX + 32];
                snprintf(from, sizeof from, "%s/%s", ruleset_src, parts[i]);
                snprintf(to, sizeof to, "%s/%s", p, parts[i]);
                if (stat(from, &st) == 0 && S_ISDIR(st.st_mode))
                    rc = tld_install_copy_tree(from, to);
            }
            if (rc == 0)
                tld_log_info(log, "installed the shipped ruleset from %s into %s", ruleset_src, p);
            else
                tld_log_error(log, "cannot copy the ruleset from %s into %s", ruleset_src, p);
        } else {
            tld_log_warn(log,
                         "no shipped ruleset found to install into %s/ruleset (set "
                         "TLD_RULESET_SRC)",
                         root);
        }
    }
    return rc;
}
