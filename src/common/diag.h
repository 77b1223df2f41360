/*
 * Diagnostics about users' files: every message carries the file and line it is about, formatted
 * as "file:line: error: text" (or "warning:"). Loaders add to a struct tld_diag instead of
 * printing, so the caller decides where the text goes and a load can report every problem at
 * once. At most TLD_DIAG_KEEP messages are kept; counts keep going past that.
 */
#ifndef TLD_COMMON_DIAG_H
#define TLD_COMMON_DIAG_H

#include <stdio.h>

#define TLD_DIAG_KEEP 1000

enum tld_diag_sev { TLD_DIAG_WARNING, TLD_DIAG_ERROR };

struct tld_diag_msg {
    enum tld_diag_sev sev;
    char *text; /* owned; the whole formatted line without newline */
};

struct tld_diag {
    struct tld_diag_msg *msgs; /* owned array of `kept` messages */
    unsigned kept;
    unsigned cap;
    unsigned errors;   /* all errors reported, kept or not */
    unsigned warnings; /* all warnings reported, kept or not */
};

void tld_diag_init(struct tld_diag *d);
void tld_diag_fini(struct tld_diag *d);
/* `file` may be NULL (then no location prefix); `line` 0 omits the line. */
void tld_diag_error(struct tld_diag *d, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void tld_diag_warn(struct tld_diag *d, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Write every kept message, one per line; then a count line if some were not kept. */
void tld_diag_print(const struct tld_diag *d, FILE *out);
/* Move every message of `from` to the end of `to` (from is left empty). */
void tld_diag_move(struct tld_diag *to, struct tld_diag *from);

#endif
