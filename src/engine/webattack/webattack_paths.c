/*
 * Sensitive files and stream wrappers: what file inclusion reaches without climbing with "..".
 *
 * The lists are facts about operating systems and runtimes, not payloads:
 *   - Unix: the Filesystem Hierarchy Standard 3.0 (host configuration in /etc, variable data in
 *     /var with log, lib, spool, www, mail; /root and /home), the proc(5) and sysfs(5) manual
 *     pages (per-process files under /proc/self and /proc/<pid>, kernel files such as
 *     /proc/version), devices in /dev (stdin(3), the /dev/tcp and /dev/udp pseudo-paths of
 *     bash(1)), the BSD and macOS spellings (/private/etc, master.passwd), the subfolders of
 *     /var and /usr that FHS 3.0 and hier(7) list, the start-up, history and credential files
 *     of a home directory (dotfiles[], with the manual pages they come from), and logs,
 *     configuration and database files of servers recognised by their extension;
 *   - Windows: the system folders of a default installation (\Windows, \WINNT, \Windows\System32,
 *     \Program Files, \ProgramData, \Users, \Documents and Settings, \inetpub of IIS), the
 *     environment variables that name them (%SystemRoot%, %windir%, ...) and the files there that
 *     carry secrets or configuration (win.ini, system.ini, boot.ini, the SAM hive, ntuser.dat,
 *     unattend.xml and sysprep.inf of unattended setup, applicationHost.config and web.config of
 *     IIS);
 *   - servers and runtimes: the default configuration file names of Apache httpd (httpd.conf,
 *     apache2.conf, .htaccess, .htpasswd), nginx (nginx.conf), PHP (php.ini), MySQL/MariaDB
 *     (my.cnf, my.ini), Tomcat (tomcat-users.xml, server.xml), Java web applications (WEB-INF),
 *     OpenSSH (sshd_config, id_rsa and the other key names of ssh-keygen(1), authorized_keys,
 *     known_hosts), shells' history files, dotenv files (.env), git's .git/config, and the
 *     configuration scripts of common PHP applications (wp-config.php, config.inc.php,
 *     LocalSettings.php);
 *   - stream wrappers: the URL schemes PHP's file functions accept (php://, phar://, zip://,
 *     compress.zlib://, compress.bzip2://, data://, glob://, expect:// and ogg://, rar://,
 *     ssh2.* from the PHP manual's "Supported Protocols and Wrappers"), and Java's jar: and
 *     netdoc: URL handlers.
 *
 * All functions take text normalised by the traversal detector (lower case, '/' for '\').
 */
#include <string.h>

#include "engine/webattack/webattack_lists.h"

struct pname {
    const char *s;
    size_t n;
};
#define P(x)                                                                                       \
    {                                                                                              \
        x, sizeof(x) - 1                                                                           \
    }

static bool name_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
           c == '$' || c == '~' || c >= 0x80;
}

static bool starts(const char *b, size_t m, size_t i, const struct pname *p)
{
    return i + p->n <= m && memcmp(b + i, p->s, p->n) == 0;
}

/* Skip a run of '/' at i; returns the index after it. */
static size_t slashes(const char *b, size_t m, size_t i)
{
    while (i < m && b[i] == '/')
        i++;
    return i;
}

/*
 * Top folders of an absolute Unix path that a web request has no business naming, each with the
 * child it must have (so "/etc" alone or "/var/folder-of-an-app" stay quiet). An empty child
 * means: any name.
 */
struct root {
    struct pname top;
    const struct pname *kids; /* NULL: any name under top */
};

/* Filesystem Hierarchy Standard 3.0, chapter 5: the subfolders of /var */
static const struct pname var_kids[] = {
    P("log/"),   P("www/"), P("lib/"),   P("run/"),     P("spool/"), P("mail/"), P("backups/"),
    P("cache/"), P("adm/"), P("db/"),    P("opt/"),     P("local/"), P("lock/"), P("tmp/"),
    P("crash/"), P("yp/"),  P("games/"), P("account/"), {NULL, 0},
};
/* FHS 3.0, chapter 4, and hier(7) of the BSDs (/usr/home): the subfolders of /usr */
static const struct pname usr_kids[] = {
    P("bin/"),     P("sbin/"), P("lib/"), P("lib64/"), P("libexec/"), P("local/"), P("share/"),
    P("include/"), P("src/"),  P("etc/"), P("home/"),  P("pkg/"),     {NULL, 0},
};
static const struct pname opt_kids[] = {
    P("lampp/"), P("tomcat"), P("xampp/"), P("apache"), P("nginx/"), P("bitnami/"), {NULL, 0},
};
static const struct pname dev_kids[] = {
    P("stdin"), P("stdout"), P("stderr"), P("fd/"),     P("tcp/"), P("udp/"), P("shm/"),
    P("mem"),   P("kmem"),   P("random"), P("urandom"), P("zero"), {NULL, 0},
};
static const struct pname sys_kids[] = {
    P("class/"), P("kernel/"), P("devices/"), P("power/"), P("firmware/"), {NULL, 0},
};
static const struct pname boot_kids[] = {
    P("grub"), P("config-"), P("vmlinuz"), P("initrd"), {NULL, 0},
};

static const struct pname tmp_kids[] = {
    P("sess_"), {NULL, 0}, /* PHP's session files (session.save_path) */
};

static const struct root unix_roots[] = {
    {P("tmp/"), tmp_kids},   {P("etc/"), NULL},     {P("private/etc/"), NULL},
    {P("root/"), NULL},      {P("proc/"), NULL},    {P("var/"), var_kids},
    {P("usr/"), usr_kids},   {P("dev/"), dev_kids}, {P("sys/"), sys_kids},
    {P("boot/"), boot_kids}, {P("opt/"), opt_kids}, {P("srv/www/"), NULL},
};

/*
 * Folders under a Windows drive ("c:/...") that hold the system, the administrator's account,
 * setup answer files and the web servers of IIS and the XAMPP/WAMP bundles. Ordinary folders of
 * users (c:/users/public, program files) stay out: uploads and forms name them innocently.
 */
static const struct pname win_dirs[] = {
    P("windows"),
    P("winnt"),
    P("inetpub"),
    P("boot.ini"),
    P("users/administrator"),
    P("users/default/"),
    P("documents and settings/"),
    P("system volume information"),
    P("pagefile.sys"),
    P("$recycle.bin"),
    P("autoexec.bat"),
    P("config.sys"),
    P("xampp"),
    P("wamp"),
    P("sysprep"),
    P("unattend"),
    P("programdata/microsoft/"),
    /* server bundles installed at the root of a drive (AppServ, XAMPP-like layouts) */
    P("apache"),
    P("mysql"),
    P("php"),
    P("postgresql"),
    P("appserv"),
    P("nginx"),
    P("tomcat"),
};

/*
 * Per-user start-up, history and credential files of a home directory, from the manual pages of
 * the programs that read or write them: bash(1) (.bashrc, .bash_profile, .bash_login,
 * .bash_logout, .bash_history, .profile), csh(1)/tcsh(1) (.cshrc, .tcshrc, .login, .logout,
 * .history), zsh(1) (.zshrc, .zshenv, .zprofile, .zlogin), ksh(1) (.kshrc, .sh_history),
 * aliases(5) of sendmail (.forward), ftp(1) (.netrc), rlogin (.rhosts), xinit(1) and X(7)
 * (.xinitrc, .xsession, .Xauthority, .Xdefaults, .Xresources), vim (.viminfo, .vimrc), the
 * interactive clients that keep a history (mysql, psql, sqlite3, python, node, php, nano, less:
 * .lesshst), PostgreSQL's .pgpass, git (.gitconfig, .git-credentials), npm (.npmrc), pip
 * (.pypirc), GTK (.gtkrc) and the folders of ssh, gnupg, aws, docker and kubectl.
 */
static const struct pname dotfiles[] = {
    P(".bashrc"),     P(".bash_profile"),    P(".bash_login"), P(".bash_logout"), P(".profile"),
    P(".cshrc"),      P(".tcshrc"),          P(".login"),      P(".logout"),      P(".history"),
    P(".zshrc"),      P(".zshenv"),          P(".zprofile"),   P(".zlogin"),      P(".kshrc"),
    P(".forward"),    P(".netrc"),           P(".rhosts"),     P(".xinitrc"),     P(".xsession"),
    P(".xauthority"), P(".xdefaults"),       P(".xresources"), P(".viminfo"),     P(".vimrc"),
    P(".lesshst"),    P(".pgpass"),          P(".gitconfig"),  P(".npmrc"),       P(".pypirc"),
    P(".gtkrc"),      P(".git-credentials"), P(".ssh/"),       P(".gnupg/"),      P(".aws/"),
    P(".docker/"),    P(".kube/"),           P(".my.cnf"),
};

static bool segment_is(const char *b, size_t m, size_t i, const struct pname *p);

/* A dotfile of a home directory at b[i]: one of the list, or any ".<name>history" file. */
static bool dotfile_at(const char *b, size_t m, size_t i)
{
    if (i >= m || b[i] != '.')
        return false;
    for (size_t k = 0; k < sizeof dotfiles / sizeof dotfiles[0]; k++)
        if (dotfiles[k].s[dotfiles[k].n - 1] == '/' ? starts(b, m, i, &dotfiles[k])
                                                    : segment_is(b, m, i, &dotfiles[k]))
            return true;
    size_t e = i + 1;
    while (e < m && name_char((unsigned char)b[e]))
        e++;
    return e - i > 8 && memcmp(b + e - 7, "history", 7) == 0;
}

/*
 * Logs, configuration and database files by their extension, as the last segment of an absolute
 * path: ".log", "_log" (Apache's access_log), ".err" (MySQL's error log), ".conf", ".cnf", ".ini",
 * ".cfg", ".pdb" (Pure-FTPd's user database), ".mdf" (SQL Server data), ".myd" (MyISAM data).
 */
static bool server_data_file(const char *b, size_t m)
{
    static const struct pname ext[] = {P(".log"), P("_log"), P(".err"), P(".conf"), P(".cnf"),
                                       P(".ini"), P(".cfg"), P(".pdb"), P(".mdf"),  P(".myd")};
    size_t e = m;
    while (e > 0 && (b[e - 1] == 0 || b[e - 1] == ' '))
        e--; /* a NUL cutting off an appended extension */
    size_t st = e;
    while (st > 0 && b[st - 1] != '/')
        st--;
    for (size_t k = 0; k < sizeof ext / sizeof ext[0]; k++)
        if (e - st > ext[k].n && memcmp(b + e - ext[k].n, ext[k].s, ext[k].n) == 0)
            return true;
    return false;
}

/* Windows environment variables naming system folders ("%systemroot%\win.ini"). */
static const struct pname win_vars[] = {
    P("%systemroot%"),   P("%windir%"),  P("%systemdrive%"),     P("%userprofile%"),
    P("%programfiles%"), P("%appdata%"), P("%allusersprofile%"), P("%programdata%"),
    P("%homedrive%"),    P("%comspec%"),
};

/*
 * File names that are configuration or secrets wherever they sit; they count as a segment of a
 * path (after a separator) ending the value or followed by a separator or a NUL.
 */
static const struct pname secret_files[] = {
    P("win.ini"),
    P("system.ini"),
    P("boot.ini"),
    P("php.ini"),
    P("httpd.conf"),
    P("apache2.conf"),
    P("nginx.conf"),
    P("my.cnf"),
    P("my.ini"),
    P("web.config"),
    P("applicationhost.config"),
    P("tomcat-users.xml"),
    P("sshd_config"),
    P("ssh_config"),
    P("id_rsa"),
    P("id_dsa"),
    P("id_ecdsa"),
    P("id_ed25519"),
    P("authorized_keys"),
    P("known_hosts"),
    P(".bash_history"),
    P(".zsh_history"),
    P(".mysql_history"),
    P(".psql_history"),
    P(".htpasswd"),
    P(".htaccess"),
    P(".env"),
    P(".git/config"),
    P(".git/head"),
    P(".svn/entries"),
    P(".ds_store"),
    P("wp-config.php"),
    P("config.inc.php"),
    P("localsettings.php"),
    P("unattend.xml"),
    P("sysprep.inf"),
    P("ntuser.dat"),
    P("master.passwd"),
    P("access.log"),
    P("error.log"),
    P("access_log"),
    P("error_log"),
    P(".bashrc"),
    P(".profile"),
    P(".aws/credentials"),
    P(".docker/config.json"),
    P("web.xml"),
    P("server.xml"),
    P("environ"),
    P("credentials.xml"),
    P("user.myd"),
    P("database.yml"),
};

/* A path segment starting at i matches p and ends there ('/', NUL, end, or a '?' '#' cut). */
static bool segment_is(const char *b, size_t m, size_t i, const struct pname *p)
{
    if (!starts(b, m, i, p))
        return false;
    size_t e = i + p->n;
    return e == m || b[e] == '/' || b[e] == 0 || b[e] == '?' || b[e] == '#' || b[e] == '%' ||
           b[e] == ' ';
}

static bool unix_root_at(const char *b, size_t m, size_t i)
{
    for (size_t k = 0; k < sizeof unix_roots / sizeof unix_roots[0]; k++) {
        const struct root *r = &unix_roots[k];
        if (!starts(b, m, i, &r->top))
            continue;
        size_t j = slashes(b, m, i + r->top.n);
        if (!r->kids)
            return j < m && name_char((unsigned char)b[j]);
        for (const struct pname *c = r->kids; c->s; c++)
            if (starts(b, m, j, c))
                return true;
    }
    return false;
}

/* Value (after leading blanks and quotes) is an absolute path into a sensitive place. */
static bool absolute_sensitive(const char *b, size_t m)
{
    size_t i = 0;
    while (i < m && (b[i] == ' ' || b[i] == '\'' || b[i] == '"' || b[i] == '\t'))
        i++;
    if (i + 5 <= m && memcmp(b + i, "file:", 5) == 0)
        i += 5;
    /* "~/.bashrc", "~user/.ssh/": a home directory named by the shell's tilde */
    if (i + 1 < m && b[i] == '~') {
        size_t j = i + 1;
        while (j < m && name_char((unsigned char)b[j]) && b[j] != '.')
            j++;
        return j < m && b[j] == '/' && dotfile_at(b, m, slashes(b, m, j));
    }
    /* "c:/windows/...", and "/c:/..." as file: URLs and some servers write a drive */
    if (i + 3 < m && b[i] == '/' && b[i + 1] >= 'a' && b[i + 1] <= 'z' && b[i + 2] == ':' &&
        b[i + 3] == '/')
        i++;
    if (i + 2 < m && b[i] >= 'a' && b[i] <= 'z' && b[i + 1] == ':' && b[i + 2] == '/') {
        size_t j = slashes(b, m, i + 2);
        for (size_t k = 0; k < sizeof win_dirs / sizeof win_dirs[0]; k++)
            if (starts(b, m, j, &win_dirs[k]))
                return true;
        /* Unix folders under a drive (Cygwin-like layouts), or a log or configuration file two
         * folders deep at least (the browser's "c:\\fakepath\\name" of an upload is one) */
        unsigned folders = 0;
        for (size_t k = j; k < m; k++)
            folders += b[k] == '/';
        return unix_root_at(b, m, j) || (folders >= 2 && server_data_file(b, m));
    }
    if (i >= m || b[i] != '/')
        return false;
    /* "/./etc", "//etc": self references and doubled separators lead to the same place */
    while (i < m && (b[i] == '/' || (b[i] == '.' && i + 1 < m && b[i + 1] == '/')))
        i++;
    if (unix_root_at(b, m, i) || dotfile_at(b, m, i))
        return true;
    /* "/logs/ftpd.log", "/mysql/data/host.err": two segments at least, a server's file */
    const char *sl = memchr(b + i, '/', m - i);
    return sl && (size_t)(sl - b) + 1 < m && server_data_file(b, m);
}

bool tld_webattack_sensitive_path(const char *b, size_t m)
{
    if (absolute_sensitive(b, m))
        return true;
    bool slash_before = false;
    for (size_t i = 0; i < m; i++) {
        unsigned char c = (unsigned char)b[i];
        if (c == '%') {
            for (size_t k = 0; k < sizeof win_vars / sizeof win_vars[0]; k++)
                if (starts(b, m, i, &win_vars[k]))
                    return true;
            continue;
        }
        if (c != '/' || i + 1 >= m)
            continue;
        /* a file name after a separator, inside a path of two segments at least */
        size_t j = i + 1;
        bool deeper = slash_before;
        bool drive = i >= 2 && b[i - 1] == ':';
        slash_before = true;
        if (!deeper && !drive && i != 0)
            continue;
        for (size_t k = 0; k < sizeof secret_files / sizeof secret_files[0]; k++) {
            const struct pname *p = &secret_files[k];
            if (b[j] == p->s[0] && segment_is(b, m, j, p))
                return true;
        }
        /* "/home/admin/.zshenv": a dotfile of a home directory anywhere down a path */
        if (b[j] == '.' && dotfile_at(b, m, j))
            return true;
    }
    return false;
}

/* Schemes whose mere presence at the start of a value is file inclusion. */
static const struct pname wrappers[] = {
    P("php://"),           P("phar://"),           P("zip://"),
    P("compress.zlib://"), P("compress.bzip2://"), P("zlib:"),
    P("glob://"),          P("expect://"),         P("ogg://"),
    P("rar://"),           P("ssh2.shell://"),     P("ssh2.exec://"),
    P("ssh2.sftp://"),     P("jar:file:"),         P("jar:http"),
    P("netdoc:/"),         P("data://"),
};

/*
 * Remote file inclusion: a URL of a file whose end is cut off with '?' or a NUL, so that the
 * extension the application appends ("page=" + v + ".php") becomes a query or is dropped.
 */
static bool remote_include(const char *b, size_t m, size_t i)
{
    size_t h = 0;
    if (i + 7 <= m && memcmp(b + i, "http://", 7) == 0)
        h = i + 7;
    else if (i + 8 <= m && memcmp(b + i, "https://", 8) == 0)
        h = i + 8;
    else if (i + 6 <= m && memcmp(b + i, "ftp://", 6) == 0)
        h = i + 6;
    if (h == 0 || m < h + 4 || (b[m - 1] != '?' && b[m - 1] != 0))
        return false;
    const char *sl = memchr(b + h, '/', m - h);
    if (!sl)
        return false;
    size_t e = m - 1;
    while (e > h && b[e - 1] == 0)
        e--;
    size_t d = e;
    while (d > (size_t)(sl - b) && b[d - 1] != '.' && b[d - 1] != '/' && e - d < 6)
        d--;
    return d > (size_t)(sl - b) + 1 && b[d - 1] == '.' && e - d >= 2 && !memchr(b + h, '?', e - h);
}

bool tld_webattack_stream_wrapper(const char *b, size_t m)
{
    size_t i = 0;
    while (i < m && (b[i] == ' ' || b[i] == '\'' || b[i] == '"' || b[i] == '\t'))
        i++;
    if (remote_include(b, m, i))
        return true;
    for (size_t k = 0; k < sizeof wrappers / sizeof wrappers[0]; k++)
        if (starts(b, m, i, &wrappers[k]))
            return true;
    /* data: URLs carrying a script for an include: data:text/plain;base64,... or <?php */
    if (i + 15 <= m && memcmp(b + i, "data:text/plain", 15) == 0)
        return true;
    if (i + 5 <= m && memcmp(b + i, "data:", 5) == 0 && memmem(b + i, m - i, "<?", 2))
        return true;
    return false;
}
