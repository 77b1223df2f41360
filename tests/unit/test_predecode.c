/* Unit tests for pre-decoding (src/engine/decode/predecode.c): one test per header shape and
 * rule. */
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
#include "engine/event.h"
#include "engine/decode/predecode.h"

/* ---- helpers ------------------------------------------------------------------------------- */

static void check_sv(struct tld_sv got, const char *want, const char *what, int line)
{
    if (!want) {
        if (got.p)
            fail_msg("line %d: %s: expected none, got '%.*s'", line, what, (int)got.n, got.p);
        return;
    }
    if (!got.p)
        fail_msg("line %d: %s: expected '%s', got none", line, what, want);
    if (got.n != strlen(want) || memcmp(got.p, want, got.n) != 0)
        fail_msg("line %d: %s: expected '%s', got '%.*s'", line, what, want, (int)got.n, got.p);
}
#define SV(got, want) check_sv((got), (want), #got, __LINE__)

static struct tld_predecode_header hdr_of(const char *text)
{
    struct tld_predecode_header h;
    tld_predecode_header(text, strlen(text), &h);
    return h;
}

/* Every field of a parsed header in one call: shape, timestamp, hostname, program, log. */
static void expect_hdr(const char *text, enum tld_predecode_shape shape, const char *ts,
                       const char *host, const char *prog, const char *log, int line)
{
    struct tld_predecode_header h = hdr_of(text);
    if (h.shape != shape)
        fail_msg("line %d: shape: expected %s, got %s for '%s'", line,
                 tld_predecode_shape_name(shape), tld_predecode_shape_name(h.shape), text);
    check_sv(h.timestamp, ts, "timestamp", line);
    check_sv(h.hostname, host, "hostname", line);
    check_sv(h.program_name, prog, "program_name", line);
    check_sv(h.log, log, "log", line);
}
#define HDR(text, shape, ts, host, prog, log)                                                      \
    expect_hdr((text), TLD_PREDECODE_##shape, (ts), (host), (prog), (log), __LINE__)

/* ---- rows A–E ------------------------------------------------------------------------------ */

static void row_a_classic_syslog(void **state)
{
    HDR("Dec 29 10:00:01 myhost sshd[123]: Accepted password for bob", A, "Dec 29 10:00:01",
        "myhost", "sshd", "Accepted password for bob");
    /* A single-digit day padded with a space is still row A. */
    HDR("Feb  9 11:44:56 someserver sshd[1234]: error: x", A, "Feb  9 11:44:56", "someserver",
        "sshd", "error: x");
}

static void row_b_comma_millis(void **state)
{
    HDR("2015-04-16 21:51:02,805 ftp01 proftpd[1313]: session opened", B, "2015-04-16 21:51:02,805",
        "ftp01", "proftpd", "session opened");
}

static void row_c1_iso_offset(void **state)
{
    HDR("2007-06-14T15:48:55-04:00 host1 sshd[99]: Invalid user x", C1, "2007-06-14T15:48:55-04:00",
        "host1", "sshd", "Invalid user x");
}

static void row_c2_iso_millis(void **state)
{
    HDR("2022-12-19T15:02:53.288+00:00 host2 cron: job done", C2, "2022-12-19T15:02:53.288+00:00",
        "host2", "cron", "job done");
}

static void row_c3_iso_micros(void **state)
{
    HDR("2009-05-22T09:36:46.214994-07:00 host3 su[7]: session closed", C3,
        "2009-05-22T09:36:46.214994-07:00", "host3", "su", "session closed");
}

/* C4: any other fraction; the header is taken to be 32 bytes long, whatever it really is. */
static void row_c4_skips_32_blindly(void **state)
{
    /* "…14.123Z" is 24 bytes; the skip lands inside "sshd", so no hostname is found. */
    HDR("2023-05-12T14:12:14.123Z host sshd[1]: msg", C4, "2023-05-12T14:12:14.123Z host s", NULL,
        NULL, "hd[1]: msg");
    /* With a 10-digit fraction and a 'Z' the skip happens to fall just right. */
    HDR("2023-05-12T14:12:14.1234567890Z h1 app: hi", C4, "2023-05-12T14:12:14.1234567890Z", "h1",
        "app", "hi");
}

static void row_d_year_first(void **state)
{
    HDR("2015 Dec 29 10:00:01 fw01 kernel: DROP IN=eth0", D, "2015 Dec 29 10:00:01", "fw01",
        "kernel", "DROP IN=eth0");
}

static void row_e_macos_uls(void **state)
{
    HDR("2021-04-21 10:16:09.404756-0700 mac01 loginwindow[93]: unlocked", E,
        "2021-04-21 10:16:09.404756-0700", "mac01", "loginwindow", "unlocked");
    HDR("2021-04-21 10:16:09.404756+0200 mac01 x: y", E, "2021-04-21 10:16:09.404756+0200", "mac01",
        "x", "y");
    /* [26] must be a sign: anything else is no row at all. */
    HDR("2021-04-21 10:16:09.404756*0700 mac01 x: y", NONE, NULL, NULL, NULL,
        "2021-04-21 10:16:09.404756*0700 mac01 x: y");
}

/* ---- the other shapes ---------------------------------------------------------------------- */

static void shape_xferlog(void **state)
{
    HDR("Mon Apr 17 18:27:14 2006 1 64.160.42.130 5180 /home/a.txt b _ o r user ftp 0 * c", XFERLOG,
        "Mon Apr 17 18:27:14 2006", NULL, NULL,
        "1 64.160.42.130 5180 /home/a.txt b _ o r user ftp 0 * c");
}

static void shape_snort(void **state)
{
    HDR("01/28-09:13:16.240702  [**] [1:2003:8] SCAN [**]", SNORT, "01/28-09:13:16.240702", NULL,
        NULL, "[**] [1:2003:8] SCAN [**]");
}

static void shape_suricata(void **state)
{
    HDR("01/28/1979-09:13:16.240702  [**] [1:2:3] ET POLICY [**]", SURICATA,
        "01/28/1979-09:13:16.240702", NULL, NULL, "[**] [1:2:3] ET POLICY [**]");
    /* 27 bytes match every position but are one short of the stated minimum of 28. */
    HDR("01/28/1979-09:13:16.240702 ", NONE, NULL, NULL, NULL, "01/28/1979-09:13:16.240702 ");
}

static void shape_apache(void **state)
{
    HDR("[Fri Feb 11 18:06:35 2004] [warn] module x missing", APACHE, "Fri Feb 11 18:06:35 2004",
        NULL, NULL, "[warn] module x missing");
}

static void shape_asl(void **state)
{
    HDR("[Time 2006.12.28 15:53:55 UTC] [Facility auth] [Sender sshd] [PID 483] [Message error: "
        "PAM: Authentication failure for username from 192.168.0.2] [Level 3] [UID -2] [GID -2] "
        "[Host Hostname]",
        ASL, NULL, "Hostname", "sshd",
        "error: PAM: Authentication failure for username from 192.168.0.2");
    /* Only the first Sender and the first Message count; Host ends the scan. */
    HDR("[Time 2006.11.02 14:02:11 UTC] [Sender a] [Sender b] [Message one] [Message two] "
        "[Host h1] [Sender c]",
        ASL, NULL, "h1", "a", "one");
    /* A message without ']' runs to the end. */
    HDR("[Time 2006.11.02 14:02:11 UTC] [Sender sshd] [Message refused [x", ASL, NULL, NULL, "sshd",
        "refused [x");
    /* No message: the log starts at offset 25 and ends where the sender value ended. */
    HDR("[Time 2006.11.02 14:02:11 UTC] [Facility auth] [Sender sshd] [PID 1]", ASL, NULL, NULL,
        "sshd", " UTC] [Facility auth] [Sender sshd");
    /* A sender value ends at the next ']', whatever comes before it. */
    HDR("[Time 2006.11.02 14:02:11 UTC] [Sender sshd [Host h]", ASL, NULL, NULL, "sshd [Host h",
        " UTC] [Sender sshd [Host h");
    /* A sender without ']' is dropped and stops the scan. */
    HDR("[Time 2006.11.02 14:02:11 UTC] [Sender sshd", ASL, NULL, NULL, NULL, " UTC] [Sender sshd");
    /* A host without ']' gives no hostname. */
    HDR("[Time 2006.11.02 14:02:11 UTC] [Message m] [Host h", ASL, NULL, NULL, NULL, "m");
}

static void shape_squid_skips_spaces(void **state)
{
    HDR("1140804070.368  11623 192.168.1.1 TCP_MISS/200 1234 GET http://x/ - DIRECT/1.2.3.4 "
        "text/html",
        SQUID, "1140804070.368 ", NULL, NULL,
        "11623 192.168.1.1 TCP_MISS/200 1234 GET http://x/ - DIRECT/1.2.3.4 text/html");
    /* Every space is skipped; the timestamp keeps all but the last one. */
    HDR("1140804070.368     162 192.168.1.1 TCP_HIT/200 99 GET http://x/ -", SQUID,
        "1140804070.368    ", NULL, NULL, "162 192.168.1.1 TCP_HIT/200 99 GET http://x/ -");
    /* Neither [21] nor [22] is a space: not squid. */
    HDR("1140804070.368 1234567890123 x y z a b c", NONE, NULL, NULL, NULL,
        "1140804070.368 1234567890123 x y z a b c");
}

/* ---- hostname and program name ------------------------------------------------------------- */

static void hostname_and_program(void **state)
{
    /* The hostname class includes @ / ( ) - . _ */
    HDR("Dec 10 01:02:03 user@h-1.ex_a/b(c) prog: m", A, "Dec 10 01:02:03", "user@h-1.ex_a/b(c)",
        "prog", "m");
    /* One extra space after the timestamp is skipped. */
    HDR("Dec 10 01:02:03  host prog: m", A, "Dec 10 01:02:03", "host", "prog", "m");
    /* A second extra space makes the hostname present but empty. */
    HDR("Dec 10 01:02:03   host prog: m", A, "Dec 10 01:02:03", "", NULL, "host prog: m");
    /* "name:" without a space. */
    HDR("Dec 10 01:02:03 host prog:m", A, "Dec 10 01:02:03", "host", "prog", "m");
    /* The optional space after ':' is one space only. */
    HDR("Dec 10 01:02:03 host prog:  m", A, "Dec 10 01:02:03", "host", "prog", " m");
    /* Candidate followed by anything else: no program, log from the candidate. */
    HDR("Dec 10 01:02:03 host some text here", A, "Dec 10 01:02:03", "host", NULL,
        "some text here");
    HDR("Dec 10 01:02:03 host ", A, "Dec 10 01:02:03", "host", NULL, "");
}

static void solaris_no_hostname(void **state)
{
    HDR("Dec 10 01:02:03 sshd: Failed password for root", A, "Dec 10 01:02:03", NULL, "sshd",
        "Failed password for root");
    /* An empty run before ": " is an empty (present) program name. */
    HDR("Dec 10 01:02:03 : bare", A, "Dec 10 01:02:03", NULL, "", "bare");
}

static void no_hostname(void **state)
{
    /* The run ends on a byte that is neither a space nor ": ". */
    HDR("Dec 10 01:02:03 host,name sshd: m", A, "Dec 10 01:02:03", NULL, NULL, "host,name sshd: m");
    HDR("Dec 10 01:02:03 sshd:x", A, "Dec 10 01:02:03", NULL, NULL, "sshd:x");
    /* The run reaches the end of the text. */
    HDR("Dec 10 01:02:03 lonely", A, "Dec 10 01:02:03", NULL, NULL, "lonely");
}

static void program_with_pid(void **state)
{
    HDR("Dec 10 01:02:03 h p[42]: m", A, "Dec 10 01:02:03", "h", "p", "m");
    HDR("Dec 10 01:02:03 h p[42]:m", A, "Dec 10 01:02:03", "h", "p", "m");
    /* "] " without ':' is accepted too. */
    HDR("Dec 10 01:02:03 h p[42] m", A, "Dec 10 01:02:03", "h", "p", "m");
    HDR("Dec 10 01:02:03 h p[42]: ", A, "Dec 10 01:02:03", "h", "p", "");
}

static void bracket_without_digits(void **state)
{
    /* '[' not followed by a digit: no program name, log keeps the '['. */
    HDR("Dec 10 01:02:03 h p[abc]: m", A, "Dec 10 01:02:03", "h", NULL, "p[abc]: m");
    /* Digits but no proper closing. */
    HDR("Dec 10 01:02:03 h p[12x]: m", A, "Dec 10 01:02:03", "h", NULL, "p[12x]: m");
    HDR("Dec 10 01:02:03 h p[12]x m", A, "Dec 10 01:02:03", "h", NULL, "p[12]x m");
    HDR("Dec 10 01:02:03 h p[12", A, "Dec 10 01:02:03", "h", NULL, "p[12");
}

static void aix_facility_severity(void **state)
{
    HDR("Dec 10 01:02:03 aix1 auth|security:info sshd: Accepted", A, "Dec 10 01:02:03", "aix1",
        "sshd", "Accepted");
    HDR("Dec 10 01:02:03 aix1 auth|security:info sshd[77]: Accepted", A, "Dec 10 01:02:03", "aix1",
        "sshd", "Accepted");
    /* Uppercase after '|': not AIX. */
    HDR("Dec 10 01:02:03 aix1 auth|Security:info sshd: x", A, "Dec 10 01:02:03", "aix1", NULL,
        "auth|Security:info sshd: x");
    /* No ':' after the facility, or no space after the severity: no program. */
    HDR("Dec 10 01:02:03 aix1 auth|security sshd: x", A, "Dec 10 01:02:03", "aix1", NULL,
        "auth|security sshd: x");
    HDR("Dec 10 01:02:03 aix1 auth|security:info,sshd: x", A, "Dec 10 01:02:03", "aix1", NULL,
        "auth|security:info,sshd: x");
    /* "[pid" without "]: ": the name is kept and the log ends where the name ended. */
    HDR("Dec 10 01:02:03 aix1 auth|security:info sshd[77] x", A, "Dec 10 01:02:03", "aix1", "sshd",
        "auth|security:info sshd");
    /* No terminator: the name runs to the end of the text, the log starts after the run. */
    HDR("Dec 10 01:02:03 aix1 auth|security:info sshd rest", A, "Dec 10 01:02:03", "aix1",
        "sshd rest", " rest");
}

static void id_block_skipped(void **state)
{
    HDR("Dec 10 01:02:03 sol1 sshd[123]: [ID 800047 auth.info] Accepted publickey", A,
        "Dec 10 01:02:03", "sol1", "sshd", "Accepted publickey");
    /* Solaris form without hostname, with the block. */
    HDR("Dec 10 01:02:03 sshd: [ID 800047 auth.info] Accepted", A, "Dec 10 01:02:03", NULL, "sshd",
        "Accepted");
    /* No ']' at all: the log keeps the block. */
    HDR("Dec 10 01:02:03 h sshd: [ID 800047 auth.info Accepted", A, "Dec 10 01:02:03", "h", "sshd",
        "[ID 800047 auth.info Accepted");
    /* ']' as the last byte: nothing is left. */
    HDR("Dec 10 01:02:03 h sshd: [ID 1 a.b]", A, "Dec 10 01:02:03", "h", "sshd", "");
    /* Without a program name the block is not looked at. */
    HDR("Dec 10 01:02:03 h [ID 1 a.b] x", A, "Dec 10 01:02:03", "h", NULL, "[ID 1 a.b] x");
}

/* ---- quirks and thresholds ----------------------------------------------------------------- */

static void german_umlaut_month(void **state)
{
    /* "Mär" is 4 bytes: the shape is recognised, the timestamp loses its last byte. */
    HDR("M\xc3\xa4r 02 17:30:52 host sshd[1]: msg", A, "M\xc3\xa4r 02 17:30:5", "host", "sshd",
        "msg");
    struct tld_sv h;
    assert_false(tld_predecode_alert_hostname(TLD_SV_LIT("M\xc3\xa4r 02 17:30:52 host x"), &h));
    assert_null(h.p);
    /* Any other two-byte month is not repaired. */
    HDR("M\xc3\xb6r 02 17:30:52 host sshd[1]: msg", NONE, NULL, NULL, NULL,
        "M\xc3\xb6r 02 17:30:52 host sshd[1]: msg");
}

struct threshold {
    enum tld_predecode_shape shape;
    const char *min_text; /* exactly the minimum length, matching that shape */
};

/* For every shape: at its minimum length it matches; one byte shorter it does not. */
static void minimum_lengths(void **state)
{
    static const struct threshold cases[] = {
        {TLD_PREDECODE_A, "Dec 29 10:00:01 x"},
        {TLD_PREDECODE_B, "2015-04-16 21:51:02,805 "},
        {TLD_PREDECODE_C1, "2007-06-14T15:48:55-04:00 h1 p: m"},
        {TLD_PREDECODE_C2, "2022-12-19T15:02:53.288+00:00 h1 "},
        {TLD_PREDECODE_C3, "2009-05-22T09:36:46.214994-07:00 "},
        {TLD_PREDECODE_C4, "2023-05-12T14:12:14.123Z host ab "},
        {TLD_PREDECODE_D, "2015 Dec 29 10:00:01 "},
        {TLD_PREDECODE_E, "2021-04-21 10:16:09.404756-0700 h"},
        {TLD_PREDECODE_XFERLOG, "Mon Apr 17 18:27:14 2006 1 x"},
        {TLD_PREDECODE_SNORT, "01/28-09:13:16.240702 ab"},
        {TLD_PREDECODE_SURICATA, "01/28/1979-09:13:16.240702 a"},
        {TLD_PREDECODE_APACHE, "[Fri Feb 11 18:06:35 2004] "},
        {TLD_PREDECODE_ASL, "[Time 2006.12.28 15:53:55 "},
        {TLD_PREDECODE_SQUID, "1140804070.368 123456 1.2.3.4 TC"},
    };
    static const unsigned char min_len[] = {
        [TLD_PREDECODE_A] = 17,     [TLD_PREDECODE_B] = 24,        [TLD_PREDECODE_C1] = 33,
        [TLD_PREDECODE_C2] = 33,    [TLD_PREDECODE_C3] = 33,       [TLD_PREDECODE_C4] = 33,
        [TLD_PREDECODE_D] = 21,     [TLD_PREDECODE_E] = 33,        [TLD_PREDECODE_XFERLOG] = 28,
        [TLD_PREDECODE_SNORT] = 24, [TLD_PREDECODE_SURICATA] = 28, [TLD_PREDECODE_APACHE] = 27,
        [TLD_PREDECODE_ASL] = 26,   [TLD_PREDECODE_SQUID] = 32,
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *s = cases[i].min_text;
        size_t n = strlen(s);
        if (n != min_len[cases[i].shape])
            fail_msg("case %s: fixture is %zu bytes, not %u",
                     tld_predecode_shape_name(cases[i].shape), n, min_len[cases[i].shape]);
        struct tld_predecode_header h;
        tld_predecode_header(s, n, &h);
        if (h.shape != cases[i].shape)
            fail_msg("at minimum: expected %s, got %s", tld_predecode_shape_name(cases[i].shape),
                     tld_predecode_shape_name(h.shape));
        tld_predecode_header(s, n - 1, &h);
        if (h.shape == cases[i].shape)
            fail_msg("one byte short still matched %s", tld_predecode_shape_name(h.shape));
        /* The log then is the whole (shorter) text, never past it. */
        assert_true(h.log.p >= s && h.log.p + h.log.n <= s + n - 1);
    }
}

static void header_edges(void **state)
{
    struct tld_predecode_header h;
    tld_predecode_header(NULL, 5, &h);
    assert_int_equal(h.shape, TLD_PREDECODE_NONE);
    assert_int_equal(h.log.n, 0);
    tld_predecode_header("", 0, &h);
    assert_int_equal(h.log.n, 0);
    assert_null(h.hostname.p);
    /* Bytes past n are never looked at: a valid header just beyond the bound does not count. */
    const char *s = "Dec 29 10:00:01 host p: m";
    tld_predecode_header(s, 15, &h);
    assert_int_equal(h.shape, TLD_PREDECODE_NONE);
    assert_int_equal(h.log.n, 15);
    /* A NUL byte is an ordinary byte: not a hostname byte, not an end. */
    static const char nul[] = "Dec 29 10:00:01 ho\0st p: m";
    tld_predecode_header(nul, sizeof nul - 1, &h);
    assert_int_equal(h.shape, TLD_PREDECODE_A);
    assert_null(h.hostname.p);
    assert_int_equal(h.log.n, sizeof nul - 1 - 16);
    assert_string_equal(tld_predecode_shape_name(TLD_PREDECODE_C4), "C4");
    assert_string_equal(tld_predecode_shape_name((enum tld_predecode_shape)99), "?");
}

/* ---- real-world lines ---------------------------------------------------------------------- */

static void real_world_lines(void **state)
{
    HDR("Oct 11 22:14:15 web01 sshd[4123]: Failed password for invalid user admin from "
        "203.0.113.7 port 52144 ssh2",
        A, "Oct 11 22:14:15", "web01", "sshd",
        "Failed password for invalid user admin from 203.0.113.7 port 52144 ssh2");
    HDR("Feb  3 10:12:01 web01 sudo:   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; "
        "COMMAND=/bin/ls",
        A, "Feb  3 10:12:01", "web01", "sudo",
        "  alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/ls");
    HDR("Feb  3 10:12:09 web01 su[2301]: (to root) alice on pts/1", A, "Feb  3 10:12:09", "web01",
        "su", "(to root) alice on pts/1");
    HDR("Feb  3 10:12:11 web01 sshd[2302]: pam_unix(sshd:auth): authentication failure; "
        "logname= uid=0 euid=0 tty=ssh ruser= rhost=198.51.100.4",
        A, "Feb  3 10:12:11", "web01", "sshd",
        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
        "rhost=198.51.100.4");
    HDR("Feb  3 10:13:00 web01 kernel: [12345.678901] Out of memory: Killed process 123 (java)", A,
        "Feb  3 10:13:00", "web01", "kernel",
        "[12345.678901] Out of memory: Killed process 123 (java)");
    /* nginx's own error log has no syslog header at all. */
    HDR("2023/10/05 12:34:56 [error] 1234#0: *5 open() \"/usr/share/nginx/html/x\" failed (2: No "
        "such file or directory)",
        NONE, NULL, NULL, NULL,
        "2023/10/05 12:34:56 [error] 1234#0: *5 open() \"/usr/share/nginx/html/x\" failed (2: No "
        "such file or directory)");
    /* The same through syslog, with an rsyslog high-precision timestamp. */
    HDR("2024-01-15T10:20:30.123456+01:00 proxy1 nginx: 2024/01/15 10:20:30 [error] 88#88: *1 "
        "connect() failed",
        C3, "2024-01-15T10:20:30.123456+01:00", "proxy1", "nginx",
        "2024/01/15 10:20:30 [error] 88#88: *1 connect() failed");
    HDR("2024-01-15T10:20:30+01:00 db1 postgres[501]: LOG:  checkpoint starting", C1,
        "2024-01-15T10:20:30+01:00", "db1", "postgres", "LOG:  checkpoint starting");
    HDR("2024-01-15T10:20:30.123+01:00 db1 systemd[1]: Started Session 4.", C2,
        "2024-01-15T10:20:30.123+01:00", "db1", "systemd", "Started Session 4.");
    /* A JSON line (the Docker json-file format) has no header. */
    HDR("{\"log\":\"GET / HTTP/1.1\\n\",\"stream\":\"stdout\"}", NONE, NULL, NULL, NULL,
        "{\"log\":\"GET / HTTP/1.1\\n\",\"stream\":\"stdout\"}");
}

/* ---- alert predecoder.hostname ------------------------------------------------------------- */

static void alert_hostname(void **state)
{
    struct tld_sv h;
    assert_true(tld_predecode_alert_hostname(
        TLD_SV_LIT("Feb  9 11:44:56 someserver sshd[1234]: error"), &h));
    SV(h, "someserver");
    /* Solaris form: the run of non-space bytes includes the ':'. */
    assert_true(tld_predecode_alert_hostname(TLD_SV_LIT("Dec 10 01:02:03 sshd: x"), &h));
    SV(h, "sshd:");
    /* Runs to the end; any non-space byte belongs to it (unlike the header's class). */
    assert_true(tld_predecode_alert_hostname(TLD_SV_LIT("Dec 10 01:02:03 a,b\tc"), &h));
    SV(h, "a,b\tc");
    assert_true(tld_predecode_alert_hostname(TLD_SV_LIT("Jan 31 23:59:59 x"), &h));
    SV(h, "x");
    /* Days: first byte space or 0–3. */
    assert_true(tld_predecode_alert_hostname(TLD_SV_LIT("Jan 01 00:00:00 h y"), &h));
    assert_false(tld_predecode_alert_hostname(TLD_SV_LIT("Jan 41 00:00:00 h y"), &h));
    assert_false(tld_predecode_alert_hostname(TLD_SV_LIT("Jan  x 00:00:00 h y"), &h));
    /* Case of the month matters. */
    assert_false(tld_predecode_alert_hostname(TLD_SV_LIT("JAN 01 00:00:00 h y"), &h));
    assert_false(tld_predecode_alert_hostname(TLD_SV_LIT("jan 01 00:00:00 h y"), &h));
    /* ISO headers never produce it. */
    assert_false(tld_predecode_alert_hostname(TLD_SV_LIT("2007-06-14T15:48:55-04:00 h p: m"), &h));
    /* A second space, or nothing, after the header. */
    assert_false(tld_predecode_alert_hostname(TLD_SV_LIT("Dec 10 01:02:03  host x"), &h));
    assert_false(tld_predecode_alert_hostname(TLD_SV_LIT("Dec 10 01:02:03 "), &h));
    assert_null(h.p);
    /* Non-digit in the time. */
    assert_false(tld_predecode_alert_hostname(TLD_SV_LIT("Dec 10 01:0x:03 host"), &h));
    assert_false(tld_predecode_alert_hostname(TLD_SV_NULL, &h));
}

/* ---- queue message ------------------------------------------------------------------------- */

static struct tld_predecode_msg msg_ok(const char *s, char *buf, size_t cap)
{
    struct tld_predecode_msg m;
    assert_int_equal(tld_predecode_message(s, strlen(s), buf, cap, &m), 0);
    return m;
}

static void queue_message(void **state)
{
    char buf[64];
    const char *plain = "1:stdin:Dec 10 01:02:03 h p: m";
    struct tld_predecode_msg m = msg_ok(plain, buf, sizeof buf);
    assert_int_equal(m.queue, '1');
    SV(m.location, "stdin");
    SV(m.text, "Dec 10 01:02:03 h p: m");
    assert_false(m.location_truncated);
    /* Without escapes the location is a view into the message itself. */
    assert_true(m.location.p == plain + 2 && m.text.p == plain + 8);

    /* Escapes: "|:" is ':', "||" is '|', "|x" is x. */
    m = msg_ok("1:[001] (web) 10.0.0.1->C|:\\logs|||:x|y:the text", buf, sizeof buf);
    SV(m.location, "[001] (web) 10.0.0.1->C:\\logs|:xy");
    SV(m.text, "the text");
    assert_true(m.location.p == buf);

    /* "||:" ends the location with a literal '|'. */
    m = msg_ok("2:a||:b", buf, sizeof buf);
    SV(m.location, "a|");
    SV(m.text, "b");
    /* Empty location, empty text. */
    m = msg_ok("x::", buf, sizeof buf);
    assert_int_equal(m.queue, 'x');
    SV(m.location, "");
    SV(m.text, "");

    /* Malformed. */
    struct tld_predecode_msg bad;
    const char *malformed[] = {"", "1", "1x", "12:a:b", "1:no colon", "1:a|:", "1:a|:b||"};
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
        assert_int_equal(
            tld_predecode_message(malformed[i], strlen(malformed[i]), buf, sizeof buf, &bad),
            TLD_EPARSE);
    assert_int_equal(tld_predecode_message(NULL, 3, buf, sizeof buf, &bad), TLD_EPARSE);
    /* The bound counts the message, not a terminator: a ':' past n is not seen. */
    assert_int_equal(tld_predecode_message("1:abc:d", 5, buf, sizeof buf, &bad), TLD_EPARSE);
}

static void queue_message_location_bound(void **state)
{
    char buf[4];
    struct tld_predecode_msg m = msg_ok("1:ab|:cdef:t", buf, sizeof buf);
    SV(m.location, "ab:c");
    assert_true(m.location_truncated);
    SV(m.text, "t");
    /* The same bound applies without escapes. */
    m = msg_ok("1:abcdef:t", buf, sizeof buf);
    SV(m.location, "abcd");
    assert_true(m.location_truncated);
    m = msg_ok("1:abcd:t", buf, sizeof buf);
    assert_false(m.location_truncated);
    /* No buffer at all. */
    m = msg_ok("1:a|:b:t", NULL, 0);
    SV(m.location, "");
    assert_true(m.location_truncated);
}

/* ---- location forms ------------------------------------------------------------------------ */

static struct tld_predecode_source src_ok(const char *loc)
{
    struct tld_predecode_source s;
    assert_int_equal(tld_predecode_source(tld_sv_of(loc), &s), 0);
    return s;
}

static void agent_location(void **state)
{
    struct tld_predecode_source s = src_ok("[001] (web01) 10.0.0.5->/var/log/auth.log");
    assert_true(s.agent);
    SV(s.agent_id, "001");
    SV(s.location, "(web01) 10.0.0.5->/var/log/auth.log");
    SV(s.agent_name, "web01");
    SV(s.agent_ip, "10.0.0.5");
    SV(s.display_location, "/var/log/auth.log");

    /* "any" means the address is unknown. */
    s = src_ok("[002] (db) any->syscheck");
    SV(s.agent_ip, NULL);
    SV(s.display_location, "syscheck");
    /* The display location is after the FIRST '>'. */
    s = src_ok("[003] (x) 1.2.3.4->echo a>b");
    SV(s.display_location, "echo a>b");
    /* No '>': no location in the alert. */
    s = src_ok("[004] (x) 1.2.3.4 nowhere");
    SV(s.display_location, NULL);
    SV(s.agent_ip, "1.2.3.4 nowhere");
    /* Not the "(name)" form: empty name, no ip, location shown as is. */
    s = src_ok("[005] plain");
    SV(s.agent_name, "");
    SV(s.agent_ip, NULL);
    SV(s.location, "plain");
    SV(s.display_location, "plain");
    /* '(' without ')': empty name, no ip. */
    s = src_ok("[006] (broken 1.2.3.4->/x");
    SV(s.agent_name, "");
    SV(s.agent_ip, NULL);
    SV(s.display_location, "/x");
    /* Nothing after ']'. */
    s = src_ok("[007]");
    SV(s.agent_id, "007");
    SV(s.location, "");
    SV(s.agent_name, "");
    s = src_ok("[008]x");
    SV(s.location, "");
    /* ')' last: empty address. */
    s = src_ok("[009] (n)");
    SV(s.agent_ip, "");

    struct tld_predecode_source bad;
    assert_int_equal(tld_predecode_source(TLD_SV_LIT("[001 (x) y->z"), &bad), TLD_EPARSE);
}

static void local_location(void **state)
{
    struct tld_predecode_source s = src_ok("/var/log/syslog");
    assert_false(s.agent);
    SV(s.agent_id, "000");
    SV(s.location, "/var/log/syslog");
    SV(s.agent_name, NULL);
    SV(s.agent_ip, NULL);
    SV(s.display_location, "/var/log/syslog");
    /* An agentless "(script) user@host->cmd" location is shown after '>'. */
    s = src_ok("(ssh_integrity) root@10.1.1.1->/etc");
    assert_false(s.agent);
    SV(s.display_location, "/etc");
    SV(s.agent_ip, NULL);
    s = src_ok("");
    SV(s.location, "");
    SV(s.display_location, "");
}

static void effective_hostname(void **state)
{
    struct tld_sv mgr = TLD_SV_LIT("manager.example.com");
    /* Agent: the syslog hostname is discarded for the agent name. */
    struct tld_predecode_source s = src_ok("[001] (web01) any->/var/log/auth.log");
    struct tld_predecode_header h = hdr_of("Dec 10 01:02:03 otherhost sshd[1]: x");
    SV(h.hostname, "otherhost");
    SV(tld_predecode_hostname(&s, &h, mgr), "web01");
    /* Local with a parsed hostname. */
    s = src_ok("/var/log/auth.log");
    SV(tld_predecode_hostname(&s, &h, mgr), "otherhost");
    /* Local without: the manager's short name. */
    h = hdr_of("no header here");
    SV(tld_predecode_hostname(&s, &h, mgr), "manager");
    SV(tld_predecode_hostname(&s, &h, TLD_SV_LIT("nodots")), "nodots");
    SV(tld_predecode_hostname(&s, &h, TLD_SV_NULL), NULL);
    /* A present-but-empty parsed hostname wins over the fallback. */
    h = hdr_of("Dec 10 01:02:03   host prog: m");
    SV(tld_predecode_hostname(&s, &h, mgr), "");
}

static void whole_event(void **state)
{
    struct tld_event ev;
    tld_event_init(&ev, NULL, NULL);
    ev.manager_name = TLD_SV_LIT("mgr.local");
    char buf[TLD_PREDECODE_LOCATION_MAX];
    const char *msg = "1:[017] (dock1) 172.17.0.1->/var/lib/docker/x|:y.log:Dec 10 01:02:03 "
                      "ignored sshd[5]: Accepted";
    assert_int_equal(tld_predecode_event(&ev, msg, strlen(msg), buf, sizeof buf), 0);
    assert_int_equal(ev.queue, '1');
    SV(ev.location, "(dock1) 172.17.0.1->/var/lib/docker/x:y.log");
    SV(ev.alert_location, "/var/lib/docker/x:y.log");
    SV(ev.full_log, "Dec 10 01:02:03 ignored sshd[5]: Accepted");
    SV(ev.agent_id, "017");
    SV(ev.agent_name, "dock1");
    SV(ev.agent_ip, "172.17.0.1");
    SV(ev.hostname, "dock1");
    SV(ev.program_name, "sshd");
    SV(ev.timestamp, "Dec 10 01:02:03");
    SV(ev.log, "Accepted");

    tld_event_init(&ev, NULL, NULL);
    ev.manager_name = TLD_SV_LIT("mgr.local");
    msg = "1:stdin:{\"a\":1}";
    assert_int_equal(tld_predecode_event(&ev, msg, strlen(msg), buf, sizeof buf), 0);
    SV(ev.location, "stdin");
    SV(ev.alert_location, "stdin");
    SV(ev.agent_id, "000");
    SV(ev.agent_name, "mgr.local");
    SV(ev.agent_ip, NULL);
    SV(ev.hostname, "mgr");
    SV(ev.program_name, NULL);
    SV(ev.timestamp, NULL);
    SV(ev.log, "{\"a\":1}");

    assert_int_equal(tld_predecode_event(&ev, "1:[x:y", 6, buf, sizeof buf), TLD_EPARSE);
    assert_int_equal(tld_predecode_event(&ev, "1", 1, buf, sizeof buf), TLD_EPARSE);
}

/* ---- every log line of the Wazuh ruleset tests --------------------------------------------- */

static bool inside(struct tld_sv v, const char *p, size_t n)
{
    return !v.p || (v.p >= p && v.n <= n && (size_t)(v.p - p) <= n - v.n);
}

static unsigned shape_counts[TLD_PREDECODE_SQUID + 1];

/* Invariants that hold for any text; checked on one real line. */
static void check_line(const char *line, size_t n, const char *file, unsigned lineno)
{
    char msg[70000], buf[TLD_PREDECODE_LOCATION_MAX];
    if (n + 8 > sizeof msg)
        fail_msg("%s:%u: line too long for the test buffer", file, lineno);
    memcpy(msg, "1:stdin:", 8);
    memcpy(msg + 8, line, n);
    struct tld_predecode_msg m;
    assert_int_equal(tld_predecode_message(msg, n + 8, buf, sizeof buf, &m), 0);
    assert_true(tld_sv_eq_cstr(m.location, "stdin"));
    assert_true(m.text.p == msg + 8 && m.text.n == n);

    struct tld_predecode_header h;
    tld_predecode_header(m.text.p, m.text.n, &h);
    shape_counts[h.shape]++;
    if (!inside(h.log, m.text.p, n) || !h.log.p || !inside(h.timestamp, m.text.p, n) ||
        !inside(h.hostname, m.text.p, n) || !inside(h.program_name, m.text.p, n))
        fail_msg("%s:%u: a view lies outside the text", file, lineno);
    /* No shape: log is the whole text and nothing else is set. */
    if (h.shape == TLD_PREDECODE_NONE &&
        (h.log.p != m.text.p || h.log.n != n || h.timestamp.p || h.hostname.p || h.program_name.p))
        fail_msg("%s:%u: unmatched text was changed", file, lineno);
    /* Rows A–E and the plain rows always report a timestamp at offset 0 or 1. */
    if (h.shape != TLD_PREDECODE_NONE && h.shape != TLD_PREDECODE_ASL &&
        (!h.timestamp.p || h.timestamp.p > m.text.p + 1))
        fail_msg("%s:%u: no timestamp for shape %s", file, lineno,
                 tld_predecode_shape_name(h.shape));
    /* A hostname from a syslog row is made of hostname bytes only and ends before the log. */
    if (h.hostname.p && h.shape != TLD_PREDECODE_ASL) {
        for (size_t i = 0; i < h.hostname.n; i++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@/()-",
                        h.hostname.p[i]) ||
                h.hostname.p[i] == 0)
                fail_msg("%s:%u: bad hostname byte", file, lineno);
        assert_true(h.hostname.p + h.hostname.n < h.log.p);
    }
    /*
     * Cross-check with the alert's own rule: when it finds a classic header followed by a run of
     * hostname bytes and a space, the header parser must have found that same hostname.
     */
    struct tld_sv ah;
    if (tld_predecode_alert_hostname(m.text, &ah)) {
        assert_int_equal(h.shape, TLD_PREDECODE_A);
        bool hostish = ah.p + ah.n < m.text.p + n;
        for (size_t i = 0; hostish && i < ah.n; i++)
            hostish =
                strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@/()-",
                       ah.p[i]) != NULL &&
                ah.p[i] != 0;
        if (hostish && !tld_sv_eq(h.hostname, ah))
            fail_msg("%s:%u: hostname '%.*s' but the alert rule found '%.*s'", file, lineno,
                     (int)h.hostname.n, h.hostname.p ? h.hostname.p : "", (int)ah.n, ah.p);
    }
}

static void wazuh_ruleset_log_lines(void **state)
{
    const char *base = getenv("TLD_SHARED") ? getenv("TLD_SHARED") : "../shared";
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/wazuh-ruleset/testing/tests", base);
    DIR *dp = opendir(dir);
    if (!dp) {
        print_message("SKIP: %s is absent; set TLD_SHARED to run this test\n", dir);
        skip();
    }
    unsigned files = 0, lines = 0;
    struct dirent *de;
    static char line[70000];
    while ((de = readdir(dp))) {
        size_t nl = strlen(de->d_name);
        if (nl < 4 || strcmp(de->d_name + nl - 4, ".ini") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        assert_non_null(f);
        files++;
        unsigned lineno = 0;
        while (fgets(line, sizeof line, f)) {
            lineno++;
            if (strncmp(line, "log ", 4) != 0)
                continue;
            /* "key = value" or "key: value": the first '=' or ':' splits; value is stripped. */
            char *sep = line + strcspn(line, "=:");
            if (!*sep)
                continue;
            char *v = sep + 1;
            size_t n = strlen(v);
            while (n && strchr(" \t\r\n", v[n - 1]))
                n--;
            while (n && (*v == ' ' || *v == '\t'))
                v++, n--;
            if (!n)
                continue;
            check_line(v, n, de->d_name, lineno);
            lines++;
        }
        fclose(f);
    }
    closedir(dp);
    print_message("%u files, %u log lines; shapes:", files, lines);
    for (int s = 0; s <= TLD_PREDECODE_SQUID; s++)
        if (shape_counts[s])
            print_message(" %s=%u", tld_predecode_shape_name(s), shape_counts[s]);
    print_message("\n");
    assert_true(files > 50);
    assert_true(lines > 1000);
    /* The corpus is mostly classic syslog; a parser that never matched would show here. */
    assert_true(shape_counts[TLD_PREDECODE_A] > 400);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(row_a_classic_syslog),
        cmocka_unit_test(row_b_comma_millis),
        cmocka_unit_test(row_c1_iso_offset),
        cmocka_unit_test(row_c2_iso_millis),
        cmocka_unit_test(row_c3_iso_micros),
        cmocka_unit_test(row_c4_skips_32_blindly),
        cmocka_unit_test(row_d_year_first),
        cmocka_unit_test(row_e_macos_uls),
        cmocka_unit_test(shape_xferlog),
        cmocka_unit_test(shape_snort),
        cmocka_unit_test(shape_suricata),
        cmocka_unit_test(shape_apache),
        cmocka_unit_test(shape_asl),
        cmocka_unit_test(shape_squid_skips_spaces),
        cmocka_unit_test(hostname_and_program),
        cmocka_unit_test(solaris_no_hostname),
        cmocka_unit_test(no_hostname),
        cmocka_unit_test(program_with_pid),
        cmocka_unit_test(bracket_without_digits),
        cmocka_unit_test(aix_facility_severity),
        cmocka_unit_test(id_block_skipped),
        cmocka_unit_test(german_umlaut_month),
        cmocka_unit_test(minimum_lengths),
        cmocka_unit_test(header_edges),
        cmocka_unit_test(real_world_lines),
        cmocka_unit_test(alert_hostname),
        cmocka_unit_test(queue_message),
        cmocka_unit_test(queue_message_location_bound),
        cmocka_unit_test(agent_location),
        cmocka_unit_test(local_location),
        cmocka_unit_test(effective_hostname),
        cmocka_unit_test(whole_event),
        cmocka_unit_test(wazuh_ruleset_log_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
