/*
 * OS command injection detector.
 *
 * An injected command needs a shell construct that starts a new command - a separator (';',
 * '|', '||', '&', '&&', a newline) or a substitution (`...`, $(...)) - followed by a program.
 * Programs are recognised as absolute paths into the usual binary folders, or as names from a
 * list of commands attackers run to probe a host. Names that are also ordinary words (cat, sleep,
 * ping, dir, echo, ...) only count with an argument of the shape the command takes (a path, a
 * number, an option, an address). Unix names are matched in lower case only, as the shell does,
 * so "Name & ID" stays text. At the very start of a value, a command counts only together with
 * such an argument. Server-side include directives and PHP's process functions are reported too.
 *
 * Evasions of the shell's own grammar count as commands as well: a command name split by quotes,
 * backslashes or empty expansions (w'h'o'am'i, c\at, c${u}at), $IFS as a blank, substring
 * expansions (${PATH:0:1}), globs standing for a binary folder (/???/c?t), brace expansion
 * ({cat,/etc/passwd}), process substitution (<(id)). Windows commands are recognised in any case.
 * The process functions of scripting languages (PHP, Python, Node.js, Java, Ruby, .NET) and web
 * shells written to a file by redirection are reported too. So are cmd.exe's escape carets
 * inside a name (w^ho^ami, DOSfuscation), line breaks written out as "\n" or "\r" before a
 * command, a whole value that runs an interpreter or netcat with a script, a path or an address,
 * eval() handed a shell command, PHP's information functions called as statements, and the
 * forms of webattack_cmdi_forms.c that need no command name (Shellshock definitions, PHP's
 * complex syntax, a command stored in a variable and run from it).
 *
 * Sources of the word lists: the POSIX utilities and the shell command language (IEEE Std
 * 1003.1-2017, XCU), GNU coreutils, inetutils and net-tools manuals, bash(1) for expansions and
 * /dev/tcp; Microsoft's "Windows commands" reference for cmd.exe built-ins and system tools;
 * the PHP manual's "Program execution functions", Python's os and subprocess modules, Node.js's
 * child_process, java.lang.Runtime and ProcessBuilder, Ruby's Kernel and IO, .NET's
 * System.Diagnostics.Process.
 */
#include <string.h>
#include <strings.h>

#include "engine/webattack/webattack.h"
#include "engine/webattack/webattack_cmdi_forms.h"

static bool is_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
}
static bool is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}
static bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}
/* A '+' counts as a blank: payloads often carry form-encoded spaces through a second layer
 * of encoding, and no command name contains one. */
static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '+';
}

struct name {
    const char *s;
    size_t n;
};
#define N(x)                                                                                       \
    {                                                                                              \
        x, sizeof(x) - 1                                                                           \
    }

/* Commands that are never ordinary words: enough alone after a separator. */
static const struct name probes[] = {
    N("id"),          N("whoami"),     N("uname"),      N("ifconfig"),   N("ipconfig"),
    N("netstat"),     N("nslookup"),   N("systeminfo"), N("tasklist"),   N("hostname"),
    N("pwd"),         N("ls"),         N("wget"),       N("curl"),       N("nc"),
    N("ncat"),        N("netcat"),     N("bash"),       N("sh"),         N("zsh"),
    N("ksh"),         N("powershell"), N("cmd"),        N("cmd.exe"),    N("telnet"),
    N("passwd"),      N("useradd"),    N("chmod"),      N("chown"),      N("xterm"),
    N("python"),      N("python3"),    N("perl"),       N("ruby"),       N("php"),
    N("nmap"),        N("ps"),         N("env"),        N("printenv"),   N("getent"),
    N("lsb_release"), N("true"),       N("false"),      N("reboot"),     N("printf"),
    N("busybox"),     N("xxd"),        N("gawk"),       N("socat"),      N("ssh"),
    N("scp"),         N("tftp"),       N("nohup"),      N("sudo"),       N("mkfifo"),
    N("mknod"),       N("crontab"),    N("iptables"),   N("lsof"),       N("traceroute"),
    N("tcpdump"),     N("dmesg"),      N("lsmod"),      N("readlink"),   N("whereis"),
    N("xargs"),       N("gzip"),       N("unzip"),      N("openssl"),    N("python2"),
    N("nodejs"),      N("lua"),        N("irb"),        N("jrunscript"), N("gcc"),
    N("tclsh"),       N("csh"),        N("tcsh"),       N("dash"),       N("mkdir"),
    N("uptime"),      N("ifconfig"),   N("php-cgi"),
};
/* Commands that double as words: need an argument of the right shape. */
static const struct name with_arg[] = {
    N("cat"),      N("more"), N("less"), N("head"),    N("tail"),  N("sleep"),   N("ping"),
    N("ping.exe"), N("echo"), N("rm"),   N("cp"),      N("mv"),    N("find"),    N("grep"),
    N("kill"),     N("nl"),   N("od"),   N("timeout"), N("touch"), N("awk"),     N("base64"),
    N("sed"),      N("tar"),  N("dd"),   N("ln"),      N("su"),    N("dig"),     N("host"),
    N("which"),    N("file"), N("stat"), N("tee"),     N("wc"),    N("sort"),    N("node"),
    N("java"),     N("who"),  N("w"),    N("uniq"),    N("cut"),   N("strings"), N("chgrp"),
    N("mount"),    N("last"), N("df"),   N("du"),      N("nice"),  N("exec"),
};

/*
 * Windows commands and tools (any case). Alone after a separator: names that are no English
 * words. The rest needs an argument of the shape cmd.exe takes (a /switch, a drive, a
 * backslash path, a %VARIABLE%) or a known subcommand.
 */
static const struct name win_alone[] = {
    N("ipconfig"),     N("systeminfo"), N("tasklist"), N("whoami"),   N("netstat"),
    N("nslookup"),     N("powershell"), N("pwsh"),     N("certutil"), N("bitsadmin"),
    N("wmic"),         N("schtasks"),   N("netsh"),    N("vssadmin"), N("icacls"),
    N("cacls"),        N("mshta"),      N("rundll32"), N("regsvr32"), N("cscript"),
    N("wscript"),      N("msiexec"),    N("taskkill"), N("cmd.exe"),  N("powershell.exe"),
    N("certutil.exe"), N("whoami.exe"), N("net.exe"),  N("wmic.exe"), N("ver"),
    N("dir"),          N("getmac"),     N("qwinsta"),  N("query"),
};
static const struct name win_switch[] = {
    N("cmd"),  N("findstr"), N("timeout"),  N("copy"), N("del"),   N("move"),  N("attrib"),
    N("dir"),  N("type"),    N("echo"),     N("set"),  N("ping"),  N("start"), N("cd"),
    N("more"), N("xcopy"),   N("robocopy"), N("tree"), N("erase"), N("rd"),    N("md"),
};

static bool in_list(const char *w, size_t l, const struct name *list, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (list[k].n == l && memcmp(list[k].s, w, l) == 0)
            return true;
    return false;
}

/* "/???/c?t", "/?in/", "/b??/": a glob standing for a binary folder (three or four letters). */
static bool glob_folder(const char *s, size_t n, size_t i)
{
    if (i >= n || s[i] != '/')
        return false;
    size_t j = i + 1, q = 0;
    while (j < n && j < i + 6 && (is_lower((unsigned char)s[j]) || s[j] == '?')) {
        q += s[j] == '?';
        j++;
    }
    size_t len = j - i - 1;
    return q > 0 && (len == 3 || len == 4) && j + 1 < n && s[j] == '/' &&
           (is_lower((unsigned char)s[j + 1]) || s[j + 1] == '?' || s[j + 1] == '*' ||
            s[j + 1] == '[');
}

static bool binary_path(const char *s, size_t n, size_t i)
{
    if (glob_folder(s, n, i))
        return true;
    static const struct name dirs[] = {N("/bin/"),      N("/usr/bin/"),       N("/sbin/"),
                                       N("/usr/sbin/"), N("/usr/local/bin/"), N("usr/bin/"),
                                       N("/dev/tcp/")};
    if (i >= n || (s[i] != '/' && s[i] != 'u'))
        return false;
    for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
        size_t l = dirs[k].n;
        if (i + l < n && s[i + 1] == dirs[k].s[1] && memcmp(s + i, dirs[k].s, l) == 0 &&
            is_lower((unsigned char)s[i + l]))
            return true;
    }
    return false;
}

/* Shape of the first argument after a command word ending at s[i]. */
static bool argument_shape(const char *s, size_t n, size_t i)
{
    if (i >= n || !is_space((unsigned char)s[i]))
        return false;
    while (i < n && is_space((unsigned char)s[i]))
        i++;
    if (i >= n)
        return false;
    unsigned char c = (unsigned char)s[i];
    if (c == '/' || c == '-' || c == '~' || c == '$' || c == '\\' || c == '.')
        return true;
    if (is_digit(c))
        return true; /* sleep 5, ping 127.0.0.1 */
    if (i + 1 < n && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && s[i + 1] == ':')
        return true; /* dir c: */
    return false;
}

/* "$IFS", "$IFS$9", "${IFS}": the shell's field separator standing for a blank; its length. */
static size_t ifs_len(const char *s, size_t n, size_t i)
{
    if (i + 6 <= n && memcmp(s + i, "${IFS}", 6) == 0)
        return 6;
    if (i + 4 <= n && memcmp(s + i, "$IFS", 4) == 0) {
        size_t j = i + 4;
        if (j + 1 < n && s[j] == '$' && is_digit((unsigned char)s[j + 1]))
            j += 2;
        return j - i;
    }
    return 0;
}

static bool ifs_at(const char *s, size_t n, size_t i)
{
    return ifs_len(s, n, i) > 0;
}

static size_t skip_blanks(const char *s, size_t n, size_t i)
{
    for (;;) {
        size_t l = ifs_len(s, n, i);
        if (l)
            i += l;
        else if (i < n && is_space((unsigned char)s[i]))
            i++;
        else
            return i;
    }
}

/*
 * Argument of a Windows command: a drive, a backslash path or a %VARIABLE%; after a separator
 * also a /switch of one to four letters.
 */
static bool win_argument(const char *s, size_t n, size_t e, bool sep)
{
    size_t i = skip_blanks(s, n, e);
    if (i == e || i >= n)
        return false;
    unsigned char c = (unsigned char)s[i];
    if (i + 1 < n && is_alpha(c) && s[i + 1] == ':')
        return true;
    if (c == '\\' || (c == '%' && i + 2 < n && is_alpha((unsigned char)s[i + 1])))
        return true;
    if (!sep || c != '/')
        return false;
    size_t j = i + 1;
    while (j < n && j < i + 6 && is_alpha((unsigned char)s[j]))
        j++;
    return j > i + 1 && j <= i + 5 && (j == n || !is_alpha((unsigned char)s[j]));
}

static bool subcommand(const char *s, size_t n, size_t e, const char *const *sub)
{
    size_t i = skip_blanks(s, n, e);
    if (i == e)
        return false;
    for (const char *const *k = sub; *k; k++) {
        size_t kl = strlen(*k);
        if (i + kl <= n && strncasecmp(s + i, *k, kl) == 0 &&
            (i + kl == n || is_space((unsigned char)s[i + kl]) || strchr("&|;", s[i + kl])))
            return true;
    }
    return false;
}

/* Windows shell commands (any case), with the argument each needs to be one. */
static bool windows_command(const char *w, size_t l, bool title, const char *s, size_t n, size_t e,
                            bool sep)
{
    static const char *const net_sub[] = {"user",  "localgroup", "view",    "share", "use",
                                          "group", "accounts",   "session", "start", NULL};
    static const char *const reg_sub[] = {"query", "add", "delete", "save", "export", NULL};
    static const char *const sc_sub[] = {"query", "qc", "create", "config", "stop", NULL};
    if (sep && in_list(w, l, win_alone, sizeof win_alone / sizeof win_alone[0])) {
        /* "Tom & Ver", "Save | Query": short names are words in titles */
        if (title && (l <= 3 || (l == 5 && memcmp(w, "query", 5) == 0)))
            return false;
        /* ver and dir alone: the whole command, up to the end or the next separator */
        size_t k = skip_blanks(s, n, e);
        if (l != 3 || (memcmp(w, "ver", 3) != 0 && memcmp(w, "dir", 3) != 0) || k >= n ||
            strchr("&|;#:\r\n`)", s[k]))
            return true;
    }
    if (in_list(w, l, win_switch, sizeof win_switch / sizeof win_switch[0]) &&
        win_argument(s, n, e, sep && !title))
        return true;
    if (l == 4 && memcmp(w, "copy", 4) == 0)
        return subcommand(s, n, e, (const char *const[]){"con", NULL});
    if (l == 3 && memcmp(w, "net", 3) == 0)
        return subcommand(s, n, e, net_sub);
    if (l == 3 && memcmp(w, "reg", 3) == 0)
        return subcommand(s, n, e, reg_sub);
    if (l == 2 && memcmp(w, "sc", 2) == 0)
        return sep && subcommand(s, n, e, sc_sub);
    return false;
}

/* A command word read through the shell's quoting: letters lower-cased, splitters removed. */
struct cword {
    char w[20];
    size_t l, end;
    bool exact; /* written in lower case, nothing removed */
    bool split; /* quotes, backslashes or empty expansions removed from inside the word */
    bool title; /* capital first letter, the rest in lower case: a word of a sentence */
};

static bool word_byte(unsigned char c)
{
    return is_lower(c) || is_digit(c) || c == '.' || c == '_' || c == '-';
}

/*
 * Length of a splitter inside a word at s[i] ('' "" 'x' \x ${x} $@), 0 when none. cmd.exe's
 * escape character '^' is dropped before a letter anywhere in a word ("^ping", "w^ho^ami").
 */
static size_t splitter(const char *s, size_t n, size_t i, bool inside)
{
    char c = s[i];
    if (c == '^' && i + 1 < n && ((s[i + 1] | 0x20) >= 'a' && (s[i + 1] | 0x20) <= 'z'))
        return 1;
    if ((c == '\'' || c == '"') && i + 1 < n) {
        size_t j = i + 1;
        while (j < n && j < i + 8 && is_lower((unsigned char)s[j]))
            j++;
        if (j < n && s[j] == c && (inside || (j + 1 < n && is_lower((unsigned char)s[j + 1]))))
            return 1; /* drop the quote; the letters are read next */
        return 0;
    }
    if (c == '\\' && inside && i + 1 < n && is_lower((unsigned char)s[i + 1])) {
        /* "whoami\n": a written-out line break ends the word (see escaped_break) */
        bool brk = (s[i + 1] == 'n' || s[i + 1] == 'r') &&
                   (i + 2 >= n || !is_lower((unsigned char)s[i + 2]));
        return brk ? 0 : 1;
    }
    if (c == '$' && inside && i + 1 < n) {
        if (s[i + 1] == '@')
            return 2;
        if (s[i + 1] == '{') {
            size_t j = i + 2;
            while (j < n && j < i + 10 && is_lower((unsigned char)s[j]))
                j++;
            if (j > i + 2 && j < n && s[j] == '}')
                return j + 1 - i;
        }
    }
    return 0;
}

static bool read_word(const char *s, size_t n, size_t i, struct cword *cw)
{
    memset(cw, 0, sizeof *cw);
    cw->exact = true;
    size_t j = i;
    char open = 0; /* quote being dropped */
    while (j < n) {
        unsigned char c = (unsigned char)s[j];
        if (open && c == (unsigned char)open) {
            open = 0;
            j++;
            continue;
        }
        unsigned char f = c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
        if (word_byte(f)) {
            if (cw->l == sizeof cw->w)
                return false;
            cw->w[cw->l++] = (char)f;
            cw->exact = cw->exact && f == c;
            j++;
            continue;
        }
        if (open)
            break;
        size_t k = splitter(s, n, j, cw->l > 0);
        if (k == 0)
            break;
        if (k == 1 && (c == '\'' || c == '"'))
            open = (char)c;
        cw->split = true;
        j += k;
    }
    cw->end = j;
    cw->title = i < n && s[i] >= 'A' && s[i] <= 'Z';
    for (size_t k = i + 1; k < j && cw->title; k++)
        cw->title = !(s[k] >= 'A' && s[k] <= 'Z');
    if (cw->split)
        cw->exact = false;
    return cw->l > 0 && !open;
}

static bool any_list(const char *w, size_t l)
{
    return in_list(w, l, probes, sizeof probes / sizeof probes[0]) ||
           in_list(w, l, with_arg, sizeof with_arg / sizeof with_arg[0]) ||
           in_list(w, l, win_alone, sizeof win_alone / sizeof win_alone[0]);
}

/* Download tools at the start of a value, saving what they fetch (-o, -O): a web shell drop. */
static bool fetch_at_start(const char *w, size_t l, const char *s, size_t n, size_t e)
{
    static const struct name net[] = {N("curl"), N("wget")};
    if (!in_list(w, l, net, sizeof net / sizeof net[0]))
        return false;
    for (size_t i = e; i + 3 < n; i++)
        if (is_space((unsigned char)s[i]) && s[i + 1] == '-' && (s[i + 2] | 0x20) == 'o' &&
            is_space((unsigned char)s[i + 3]))
            return true;
    return false;
}

/*
 * A whole value that is a reconnaissance command: names no text uses, alone or with options
 * ("whoami", "uname -a", "ipconfig /all", "ls -la").
 */
static bool recon_value(const struct cword *cw, const char *s, size_t n)
{
    static const struct name recon[] = {
        N("whoami"),   N("uname"),  N("ifconfig"),    N("ipconfig"), N("netstat"), N("systeminfo"),
        N("tasklist"), N("getmac"), N("lsb_release"), N("ls"),       N("ps"),      N("id"),
    };
    if (!cw->exact || !in_list(cw->w, cw->l, recon, sizeof recon / sizeof recon[0]))
        return false;
    size_t i = skip_blanks(s, n, cw->end);
    bool option = i > cw->end && i + 1 < n && (s[i] == '-' || s[i] == '/') &&
                  is_alpha((unsigned char)s[i + 1]);
    /* two-letter names are words too ("ls", "ps", "id"): they need an option */
    return option || (cw->l > 2 && i >= n);
}

/* The whole value is a reconnaissance command and options or paths ("ls -la /", not "ls -la
 * explained"). */
static bool recon_line(const char *s, size_t n)
{
    struct cword cw;
    if (!read_word(s, n, 0, &cw) || !recon_value(&cw, s, n))
        return false;
    for (size_t i = cw.end; i < n; i++)
        if (is_space((unsigned char)s[i]) && i + 1 < n && !is_space((unsigned char)s[i + 1]) &&
            s[i + 1] != '-' && s[i + 1] != '/' && !is_digit((unsigned char)s[i + 1]))
            return false;
    return true;
}

/*
 * "\n" or "\r" written out (a backslash and the letter) where a line break stands in payload
 * lists: echo -e, printf and many template and logging layers turn it into one.
 */
static bool escaped_break(const char *s, size_t n, size_t i)
{
    return i + 1 < n && s[i] == '\\' && (s[i + 1] == 'n' || s[i + 1] == 'r');
}

/* A command starting at s[i] (after a separator when sep). */
static bool command_at(const char *s, size_t n, size_t i, bool sep)
{
    bool brace = i > 0 && s[i - 1] == '{';
    for (;;) {
        i = skip_blanks(s, n, i);
        if (i < n && (s[i] == '(' || s[i] == '{')) {
            brace = s[i] == '{';
            i++;
            continue;
        }
        break;
    }
    if (i >= n)
        return false;
    if (binary_path(s, n, i))
        return true;
    struct cword cw;
    if (!read_word(s, n, i, &cw))
        return false;
    size_t e = cw.end;
    char after = e < n ? s[e] : 0;
    bool boundary = after == 0 || is_space((unsigned char)after) ||
                    strchr(";|&`)'\"\n\r<>#}", after) || (after == ',' && brace) ||
                    (after == '$' && ifs_at(s, n, e)) || escaped_break(s, n, e);
    if (!boundary)
        return false;
    /* {cat,/etc/passwd}: brace expansion spells a command and its arguments */
    if (brace && after == ',')
        return any_list(cw.w, cw.l);
    /* a command name cut by quotes or empty expansions: only evasion writes w'h'o'am'i */
    if (cw.split && sep)
        return any_list(cw.w, cw.l);
    if (cw.exact && sep && in_list(cw.w, cw.l, probes, sizeof probes / sizeof probes[0]))
        return true;
    /* a split name ("^ping", "c''at") is evasion: with an argument of the right shape it runs */
    if ((cw.exact || cw.split) &&
        in_list(cw.w, cw.l, with_arg, sizeof with_arg / sizeof with_arg[0]) &&
        (argument_shape(s, n, e) || ifs_at(s, n, e)))
        return true;
    if (cw.exact && !sep && fetch_at_start(cw.w, cw.l, s, n, e))
        return true;
    /* echo 'text' after a separator: the usual probe of an injection point */
    if (cw.exact && sep && cw.l == 4 && memcmp(cw.w, "echo", 4) == 0) {
        size_t a = skip_blanks(s, n, e);
        if (a > e && a < n && (s[a] == '\'' || s[a] == '"'))
            return true;
    }
    return windows_command(cw.w, cw.l, cw.title, s, n, e, sep);
}

/* A whole value that is a command line: the arguments name a path or an address. */
static bool command_line(const char *s, size_t n)
{
    bool arg = false;
    for (size_t i = 0; i < n && i < 96 && !arg; i++) {
        if (s[i] == '/' || s[i] == '\\')
            arg = true;
        if (i > 0 && s[i] == '.' && is_digit((unsigned char)s[i - 1]) && i + 1 < n &&
            is_digit((unsigned char)s[i + 1]))
            arg = true;
    }
    return arg && command_at(s, n, 0, false);
}

/* Bytes a command injection is built around; values with none of them are skipped at once. */
#define CI_SEP   0x1u /* ; | & ` newline $ < */
#define CI_PATH  0x2u /* / \ and digits (arguments of a whole command line) */
#define CI_PAREN 0x4u
#define CI_QUOTE 0x8u
static const unsigned char ci_class[256] = {
    [';'] = CI_SEP,  ['|'] = CI_SEP,   ['&'] = CI_SEP,   ['`'] = CI_SEP,    ['\n'] = CI_SEP,
    ['\r'] = CI_SEP, ['{'] = CI_SEP,   ['>'] = CI_SEP,   ['$'] = CI_SEP,    ['<'] = CI_SEP,
    ['/'] = CI_PATH, ['\\'] = CI_PATH, ['0'] = CI_PATH,  ['1'] = CI_PATH,   ['2'] = CI_PATH,
    ['3'] = CI_PATH, ['4'] = CI_PATH,  ['5'] = CI_PATH,  ['6'] = CI_PATH,   ['7'] = CI_PATH,
    ['8'] = CI_PATH, ['9'] = CI_PATH,  ['('] = CI_PAREN, ['\''] = CI_QUOTE, ['"'] = CI_QUOTE,
};

/* "${PATH:0:1}", "${HOME:0:1}": substring expansions, shell syntax only. */
static bool substring_expansion(const char *s, size_t n, size_t i)
{
    size_t j = i + 2;
    while (j < n && j < i + 20 &&
           ((s[j] >= 'A' && s[j] <= 'Z') || is_lower((unsigned char)s[j]) || s[j] == '_'))
        j++;
    return j > i + 2 && j + 1 < n && s[j] == ':' &&
           (is_digit((unsigned char)s[j + 1]) ||
            (s[j + 1] == '-' && j + 2 < n && is_digit((unsigned char)s[j + 2])));
}

struct fn {
    const char *s;
    size_t n;
    bool strict;  /* needs a string or variable argument and no identifier before it */
    bool command; /* strict, and the string holds a shell command (eval runs its own language) */
};
#define FN(x, st)                                                                                  \
    {                                                                                              \
        x, sizeof(x) - 1, st, false                                                                \
    }

/*
 * Process functions of scripting languages: PHP program execution functions, Python's os and
 * subprocess, Node.js's child_process, Java's Runtime and ProcessBuilder, Ruby's IO and Open3,
 * .NET's Process.Start. The generic names (system, exec, assert) also need a string or variable
 * argument and nothing of an identifier right before them.
 */
static const struct fn process_fns[] = {
    FN("shell_exec(", false),  FN("passthru(", false),
    FN("proc_open(", false),   FN("pcntl_exec(", false),
    FN("popen(", false),       FN("child_process", false),
    FN("getruntime()", false), FN("processbuilder(", false),
    FN("os.system(", false),   FN("subprocess.", false),
    FN("__import__(", false),  FN("io.popen(", false),
    FN("open3.", false),       FN("process.start(", false),
    FN("execsync(", false),    FN("spawnsync(", false),
    FN("system(", true),       FN("exec(", true),
    FN("assert(", true),       FN("%x(", false),
    {"eval(", 5, true, true},
};

static bool ident_byte(unsigned char c)
{
    return is_lower(c) || is_digit(c) || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' ||
           c == '$' || c == '>';
}

static bool process_function(const char *s, size_t n);

bool tld_cmdi_process_call(const char *s, size_t n)
{
    return memchr(s, '(', n) && process_function(s, n);
}

static bool process_function(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (!strchr("spcgo_ie%a", c) || c == 0)
            continue;
        /* every name starts a word: "os.system(", ".getRuntime()", ";exec(" */
        if (i > 0 && (is_alpha((unsigned char)s[i - 1]) || is_digit((unsigned char)s[i - 1]) ||
                      s[i - 1] == '_'))
            continue;
        for (size_t k = 0; k < sizeof process_fns / sizeof process_fns[0]; k++) {
            const struct fn *f = &process_fns[k];
            if (f->s[0] != (char)c || i + f->n > n || strncasecmp(s + i, f->s, f->n) != 0)
                continue;
            /* popen(), "calls popen() here": a name in text, no command handed over */
            if (f->s[f->n - 1] == '(' && i + f->n < n && s[i + f->n] == ')')
                continue;
            if (!f->strict)
                return true;
            size_t a = i + f->n;
            while (a < n && is_space((unsigned char)s[a]))
                a++;
            bool arg = a < n && (s[a] == '\'' || s[a] == '"' || s[a] == '$' || s[a] == '`');
            if (arg && f->command && !(s[a] != '$' && command_at(s, n, a + 1, true)))
                continue;
            if (arg && (i == 0 || !ident_byte((unsigned char)s[i - 1])))
                return true;
        }
    }
    return false;
}

/* Output redirected into a script the web server runs: "> /var/www/html/s.php", ">> x.jsp". */
static bool redirect_to_script(const char *s, size_t n)
{
    static const char *const ext[] = {".php", ".phtml", ".php5", ".jsp", ".jspx", ".asp", ".aspx",
                                      ".cgi", ".pl",    ".py",   ".sh",  ".war",  NULL};
    for (const char *g = memchr(s, '>', n); g; g = memchr(g + 1, '>', (size_t)(s + n - g - 1))) {
        size_t i = (size_t)(g - s) + 1;
        /* what is written comes from a quoted string, a pipe or a substitution */
        bool produced = false;
        for (const char *p = s; p < g && !produced; p++)
            produced = *p == '\'' || *p == '"' || *p == '|' || *p == '`' || *p == ')';
        if (!produced)
            break;
        if (i < n && s[i] == '>')
            i++;
        while (i < n && is_space((unsigned char)s[i]))
            i++;
        size_t b = i;
        while (i < n && !is_space((unsigned char)s[i]) && !strchr(";|&'\"<>", s[i]))
            i++;
        for (const char *const *e = ext; *e && i > b; e++) {
            size_t el = strlen(*e);
            if (i - b > el && strncasecmp(s + i - el, *e, el) == 0)
                return true;
        }
        if (g + 1 >= s + n)
            break;
    }
    return false;
}

/* A server-side script written into the value: "<?php ... system(", "<?=`...`?>", "<% ...exec". */
static bool script_tag(const char *s, size_t n)
{
    if (!memchr(s, '<', n))
        return false;
    const char *t = memmem(s, n, "<?php", 5);
    if (!t)
        t = memmem(s, n, "<?=", 3);
    if (!t)
        t = memmem(s, n, "<% ", 3);
    if (!t)
        t = memmem(s, n, "<%=", 3);
    if (!t)
        return false;
    size_t i = (size_t)(t - s);
    return memchr(s + i, '`', n - i) || memmem(s + i, n - i, "$_GET", 5) ||
           memmem(s + i, n - i, "$_POST", 6) || memmem(s + i, n - i, "$_REQUEST", 9) ||
           memmem(s + i, n - i, "eval(", 5) || process_function(s + i, n - i);
}

/*
 * PHP's information functions called as a statement of injected code: "phpversion();",
 * "&php_uname()", "| phpcredits()". Named alone in text ("phpinfo() shows ...") they are words.
 */
static bool php_info_call(const char *s, size_t n)
{
    static const struct name fns[] = {N("phpinfo("), N("phpversion("), N("php_uname("),
                                      N("phpcredits(")};
    for (const char *p = memchr(s, 'p', n); p; p = memchr(p + 1, 'p', (size_t)(s + n - p - 1))) {
        size_t i = (size_t)(p - s);
        for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
            if (i + fns[k].n > n || memcmp(s + i, fns[k].s, fns[k].n) != 0)
                continue;
            size_t b = i;
            while (b > 0 && is_space((unsigned char)s[b - 1]))
                b--;
            bool stmt_before = b == 0 || strchr(";|&{:'\"", s[b - 1]);
            const char *close = memchr(s + i, ')', n - i);
            size_t a = close ? skip_blanks(s, n, (size_t)(close - s) + 1) : n;
            bool stmt_after = close && (a >= n || s[a] == ';' || s[a] == '}' || s[a] == '/');
            if (stmt_before && stmt_after && (b != 0 || a >= n || s[a] == ';'))
                return true;
        }
    }
    return false;
}

/*
 * A whole value that runs a shell, an interpreter or netcat with options and a script, a path or
 * an address: "nc -nv 10.0.0.5 9001 -e /bin/sh", "perl -e 'print 1'", "python -c 'import os'".
 */
static bool interpreter_line(const char *s, size_t n)
{
    static const struct name tools[] = {
        N("bash"),   N("sh"),   N("zsh"),  N("ksh"),   N("dash"),       N("csh"),     N("tcsh"),
        N("python"), N("perl"), N("ruby"), N("php"),   N("python3"),    N("python2"), N("lua"),
        N("nodejs"), N("node"), N("pwsh"), N("tclsh"), N("powershell"), N("busybox"),
    };
    /* netcat and telnet also take an address or a port */
    static const struct name net[] = {N("nc"), N("ncat"), N("netcat"), N("socat"), N("telnet")};
    struct cword cw;
    if (!read_word(s, n, 0, &cw) || !cw.exact)
        return false;
    bool is_net = in_list(cw.w, cw.l, net, sizeof net / sizeof net[0]);
    if (!is_net && !in_list(cw.w, cw.l, tools, sizeof tools / sizeof tools[0]))
        return false;
    size_t i = skip_blanks(s, n, cw.end);
    bool option = i > cw.end && i + 1 < n && s[i] == '-' && is_alpha((unsigned char)s[i + 1]);
    /* "ncat 10.0.0.5 9001 -e /bin/bash": netcat may take its address first, then a shell */
    if (!option && !(is_net && i > cw.end && i < n && is_digit((unsigned char)s[i]) &&
                     memmem(s + i, n - i, " /", 2)))
        return false;
    for (; i + 1 < n; i++)
        if (is_space((unsigned char)s[i]) &&
            (s[i + 1] == '/' || s[i + 1] == '\'' || s[i + 1] == '"' ||
             (is_net && is_digit((unsigned char)s[i + 1]))))
            return true;
    return false;
}

/* "w^ho^ami", "^net user": a command name cut by cmd.exe carets opens the value. */
static bool split_name_at_start(const char *s, size_t n)
{
    struct cword cw;
    size_t i = skip_blanks(s, n, 0);
    if (!read_word(s, n, i, &cw) || !cw.split)
        return false;
    size_t e = cw.end;
    if (e < n && !is_space((unsigned char)s[e]) && !strchr(";|&", s[e]))
        return false;
    return any_list(cw.w, cw.l) || windows_command(cw.w, cw.l, false, s, n, e, true);
}

/* A literal "\n" or "\r" standing for a line break, then a command: "\nuname -a", "\n/usr/bin/id".
 */
static bool escaped_break_command(const char *s, size_t n)
{
    for (const char *p = memchr(s, '\\', n); p; p = memchr(p + 1, '\\', (size_t)(s + n - p - 1))) {
        size_t i = (size_t)(p - s);
        if (!escaped_break(s, n, i))
            continue;
        /* "C:\new", "a\nb": a break (or a run of them, "\r\n") follows no letter or drive colon */
        size_t b = i;
        while (b >= 2 && escaped_break(s, n, b - 2))
            b -= 2;
        if (b > 0 && (is_alpha((unsigned char)s[b - 1]) || s[b - 1] == ':'))
            continue;
        if (command_at(s, n, i + 2, true))
            return true;
    }
    return false;
}

/* "{cat,/etc/passwd}": brace expansion spelling a command and its first argument. */
static bool brace_command(const char *s, size_t n, size_t i)
{
    struct cword cw;
    return read_word(s, n, i, &cw) && cw.end < n && s[cw.end] == ',' && any_list(cw.w, cw.l);
}

bool tld_cmdi_detect(const char *s, size_t n)
{
    /* "uname -a", "ipconfig /all": a reconnaissance command with options as the whole value */
    const char *blank = n < 64 ? memchr(s, ' ', n) : NULL;
    if (blank && blank + 1 < s + n && (blank[1] == '-' || blank[1] == '/') && recon_line(s, n))
        return true;
    if (memchr(s, '^', n) && split_name_at_start(s, n))
        return true;
    unsigned m = 0;
    for (size_t i = 0; i < n; i++)
        m |= ci_class[(unsigned char)s[i]];
    if (m == 0)
        return false;
    if ((m & CI_PAREN) && (tld_cmdi_shellshock(s, n) || php_info_call(s, n)))
        return true;
    if ((m & CI_SEP) && memchr(s, '$', n) &&
        (tld_cmdi_php_complex(s, n) || tld_cmdi_stored_command(s, n)))
        return true;
    if ((m & CI_PATH) && escaped_break_command(s, n))
        return true;
    if ((m & (CI_PATH | CI_QUOTE)) && interpreter_line(s, n))
        return true;
    if ((m & CI_PATH) && command_line(s, n))
        return true;
    if (binary_path(s, n, 0))
        return true;
    for (size_t i = 0; (m & CI_SEP) && i < n; i++) {
        char c = s[i];
        if (c == '`' && !memchr(s + i + 1, '`', n - i - 1))
            continue; /* `printf' quotes a word in text; a substitution is closed */
        if (c == ';' || c == '|' || c == '&' || c == '\n' || c == '\r' || c == '`') {
            size_t j = i + 1;
            while (j < n && (s[j] == '|' || s[j] == '&'))
                j++;
            if (command_at(s, n, j, true))
                return true;
            i = j - 1; /* a run of separators is one separator */
        } else if (c == '$' && i + 1 < n && (s[i + 1] == '(' || s[i + 1] == '{')) {
            if (s[i + 1] == '{' && i + 5 < n && memcmp(s + i + 2, "IFS", 3) == 0)
                return true;
            if (s[i + 1] == '{' && substring_expansion(s, n, i))
                return true;
            if (command_at(s, n, i + 2, true))
                return true;
        } else if (c == '$' && ifs_len(s, n, i) && i > 0 && is_lower((unsigned char)s[i - 1])) {
            return true; /* cat$IFS/etc/passwd */
        } else if (c == '{' && brace_command(s, n, i + 1)) {
            return true; /* {cat,/etc/passwd} */
        } else if ((c == '<' || c == '>') && i + 1 < n && s[i + 1] == '(' &&
                   command_at(s, n, i + 2, true)) {
            return true; /* process substitution */
        } else if (c == '<' && i + 5 < n && memcmp(s + i, "<!--#", 5) == 0) {
            size_t j = i + 5;
            if ((j + 4 <= n && memcmp(s + j, "exec", 4) == 0) ||
                (j + 7 <= n && memcmp(s + j, "include", 7) == 0))
                return true;
        }
    }
    if ((m & CI_SEP) && (redirect_to_script(s, n) || script_tag(s, n)))
        return true;
    return (m & CI_PAREN) && process_function(s, n);
}
