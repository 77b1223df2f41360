/* Bounded list of file:line diagnostics (see diag.h). */
#include "common/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/grow.h"
#include "common/str.h"

void tld_diag_init(struct tld_diag *d)
{
    *d = (struct tld_diag){0};
}

void tld_diag_fini(struct tld_diag *d)
{
    for (unsigned i = 0; i < d->kept; i++)
        free(d->msgs[i].text);
    free(d->msgs);
    *d = (struct tld_diag){0};
}

static void keep(struct tld_diag *d, enum tld_diag_sev sev, char *text)
{
    if (!text)
        return;
    if (d->kept >= TLD_DIAG_KEEP) {
        free(text);
        return;
    }
    if (tld_grow(&d->msgs, &d->cap, d->kept + 1, sizeof *d->msgs, 16)) {
        free(text);
        return;
    }
    d->msgs[d->kept++] = (struct tld_diag_msg){sev, text};
}

static void add(struct tld_diag *d, enum tld_diag_sev sev, const char *file, unsigned line,
                const char *fmt, va_list ap)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 4096);
    if (file && line)
        tld_sb_printf(&sb, "%s:%u: ", file, line);
    else if (file)
        tld_sb_printf(&sb, "%s: ", file);
    tld_sb_append_cstr(&sb, sev == TLD_DIAG_ERROR ? "error: " : "warning: ");
    tld_sb_vprintf(&sb, fmt, ap);
    if (sev == TLD_DIAG_ERROR)
        d->errors++;
    else
        d->warnings++;
    keep(d, sev, tld_sb_steal(&sb, NULL));
}

void tld_diag_error(struct tld_diag *d, const char *file, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, TLD_DIAG_ERROR, file, line, fmt, ap);
    va_end(ap);
}

void tld_diag_warn(struct tld_diag *d, const char *file, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add(d, TLD_DIAG_WARNING, file, line, fmt, ap);
    va_end(ap);
}

void tld_diag_print(const struct tld_diag *d, FILE *out)
{
    for (unsigned i = 0; i < d->kept; i++)
        fprintf(out, "%s\n", d->msgs[i].text);
    unsigned total = d->errors + d->warnings;
    if (total > d->kept)
        fprintf(out, "(%u more diagnostics not shown)\n", total - d->kept);
}

void tld_diag_move(struct tld_diag *to, struct tld_diag *from)
{
    for (unsigned i = 0; i < from->kept; i++)
        keep(to, from->msgs[i].sev, from->msgs[i].text);
    to->errors += from->errors;
    to->warnings += from->warnings;
    free(from->msgs);
    *from = (struct tld_diag){0};
}
