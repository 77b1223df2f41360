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
 */
#include <string.h>
#include <strings.h>

#include "engine/webattack/webattack.h"

static bool is_lower(unsigned char c)
{
    return c >= 'a' && c <= 'z';
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
    N("id"),       N("whoami"),     N("uname"),    N("ifconfig"),   N("ipconfig"),    N("netstat"),
    N("nslookup"), N("systeminfo"), N("tasklist"), N("hostname"),   N("pwd"),         N("ls"),
    N("wget"),     N("curl"),       N("nc"),       N("ncat"),       N("netcat"),      N("bash"),
    N("sh"),       N("zsh"),        N("ksh"),      N("powershell"), N("cmd"),         N("cmd.exe"),
    N("telnet"),   N("passwd"),     N("useradd"),  N("chmod"),      N("chown"),       N("xterm"),
    N("python"),   N("python3"),    N("perl"),     N("ruby"),       N("php"),         N("nmap"),
    N("ps"),       N("env"),        N("printenv"), N("getent"),     N("lsb_release"), N("true"),
    N("false"),    N("reboot"),
};
/* Commands that double as words: need an argument of the right shape. */
static const struct name with_arg[] = {
    N("cat"),      N("more"), N("less"), N("head"),    N("tail"),  N("sleep"), N("ping"),
    N("ping.exe"), N("echo"), N("rm"),   N("cp"),      N("mv"),    N("find"),  N("grep"),
    N("kill"),     N("nl"),   N("od"),   N("timeout"), N("touch"),
};

static size_t word_len(const char *s, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && (is_lower((unsigned char)s[j]) || is_digit((unsigned char)s[j]) ||
                     s[j] == '.' || s[j] == '_' || s[j] == '-'))
        j++;
    return j - i;
}

static bool in_list(const char *w, size_t l, const struct name *list, size_t count)
{
    for (size_t k = 0; k < count; k++)
        if (list[k].n == l && memcmp(list[k].s, w, l) == 0)
            return true;
    return false;
}

static bool binary_path(const char *s, size_t n, size_t i)
{
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

/* Windows shell commands (any case), with the argument each needs to be one. */
static bool windows_command(const char *w, size_t l, const char *s, size_t n, size_t e)
{
    size_t i = e;
    while (i < n && is_space((unsigned char)s[i]))
        i++;
    if (i == e || i >= n)
        return false;
    unsigned char c = (unsigned char)s[i];
    bool drive = i + 1 < n && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && s[i + 1] == ':';
    if ((l == 3 && memcmp(w, "dir", 3) == 0) || (l == 4 && memcmp(w, "type", 4) == 0))
        return drive || c == '\\' || c == '%';
    if (l == 3 && memcmp(w, "net", 3) == 0) {
        static const char *const sub[] = {"user", "localgroup", "view", "share", "use", NULL};
        for (const char *const *k = sub; *k; k++) {
            size_t kl = strlen(*k);
            if (i + kl <= n && strncasecmp(s + i, *k, kl) == 0 &&
                (i + kl == n || is_space((unsigned char)s[i + kl])))
                return true;
        }
    }
    return false;
}

/* A command starting at s[i] (after a separator when sep). */
static bool command_at(const char *s, size_t n, size_t i, bool sep)
{
    while (i < n && (is_space((unsigned char)s[i]) || s[i] == '(' || s[i] == '{'))
        i++;
    if (i >= n)
        return false;
    if (binary_path(s, n, i))
        return true;
    /* Windows commands are case-insensitive: fold a copy of the word */
    char w[16];
    size_t l = 0;
    while (i + l < n && l < sizeof w) {
        unsigned char c = (unsigned char)s[i + l];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (!(is_lower(c) || is_digit(c) || c == '.' || c == '_' || c == '-'))
            break;
        w[l++] = (char)c;
    }
    if (l == 0 || l == sizeof w)
        return false;
    size_t e = i + l;
    bool exact = word_len(s, n, i) == l; /* written in lower case */
    char after = e < n ? s[e] : 0;
    bool boundary = after == 0 || is_space((unsigned char)after) || strchr(";|&`)'\"\n\r<>", after);
    if (!boundary)
        return false;
    if (exact && sep && in_list(w, l, probes, sizeof probes / sizeof probes[0]))
        return true;
    if (exact && in_list(w, l, with_arg, sizeof with_arg / sizeof with_arg[0]) &&
        argument_shape(s, n, e))
        return true;
    return windows_command(w, l, s, n, e);
    return false;
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
    [';'] = CI_SEP,    ['|'] = CI_SEP,   ['&'] = CI_SEP,  ['`'] = CI_SEP,   ['\n'] = CI_SEP,
    ['$'] = CI_SEP,    ['<'] = CI_SEP,   ['/'] = CI_PATH, ['\\'] = CI_PATH, ['0'] = CI_PATH,
    ['1'] = CI_PATH,   ['2'] = CI_PATH,  ['3'] = CI_PATH, ['4'] = CI_PATH,  ['5'] = CI_PATH,
    ['6'] = CI_PATH,   ['7'] = CI_PATH,  ['8'] = CI_PATH, ['9'] = CI_PATH,  ['('] = CI_PAREN,
    ['\''] = CI_QUOTE, ['"'] = CI_QUOTE,
};

bool tld_cmdi_detect(const char *s, size_t n)
{
    unsigned m = 0;
    for (size_t i = 0; i < n; i++)
        m |= ci_class[(unsigned char)s[i]];
    if (m == 0)
        return false;
    if ((m & CI_PATH) && command_line(s, n))
        return true;
    if (binary_path(s, n, 0))
        return true;
    for (size_t i = 0; (m & CI_SEP) && i < n; i++) {
        char c = s[i];
        if (c == ';' || c == '|' || c == '&' || c == '\n' || c == '`') {
            size_t j = i + 1;
            while (j < n && (s[j] == '|' || s[j] == '&'))
                j++;
            if (command_at(s, n, j, true))
                return true;
            i = j - 1; /* a run of separators is one separator */
        } else if (c == '$' && i + 1 < n && (s[i + 1] == '(' || s[i + 1] == '{')) {
            if (s[i + 1] == '{' && i + 5 < n && memcmp(s + i + 2, "IFS", 3) == 0)
                return true;
            if (command_at(s, n, i + 2, true))
                return true;
        } else if (c == '<' && i + 5 < n && memcmp(s + i, "<!--#", 5) == 0) {
            size_t j = i + 5;
            if ((j + 4 <= n && memcmp(s + j, "exec", 4) == 0) ||
                (j + 7 <= n && memcmp(s + j, "include", 7) == 0))
                return true;
        }
    }
    if (!(m & CI_PAREN))
        return false;
    /* PHP process functions called after a statement break: ";system('id')" */
    static const char *const php[] = {"system(", "exec(",      "passthru(",   "shell_exec(",
                                      "popen(",  "proc_open(", "pcntl_exec(", NULL};
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ';' && s[i] != '\'' && s[i] != '"' && !(i == 0))
            continue;
        size_t j = i == 0 && s[0] != ';' && s[0] != '\'' && s[0] != '"' ? 0 : i + 1;
        while (j < n && is_space((unsigned char)s[j]))
            j++;
        for (const char *const *p = php; *p; p++) {
            size_t l = strlen(*p);
            if (j + l < n && memcmp(s + j, *p, l) == 0 &&
                (s[j + l] == '\'' || s[j + l] == '"' || s[j + l] == '$'))
                return true;
        }
    }
    return false;
}
