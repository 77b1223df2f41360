/*
 * The configuration-table mechanism both daemons read their XML configuration with, and the
 * one spelling of durations and sizes every configuration file shares.
 *
 * A section is a table of rows {element name, kind, place, bounds}: tld_conf_section() walks a
 * section's children, finds each one's row and stores the value at `obj + off` (or hands the
 * element to the row's setter). Every problem is reported through struct tld_diag as
 * "file:line: error: <element>: ..." and parsing goes on, so a loader reports every problem of
 * a file at once.
 *
 * Spellings (docs/agent.md and docs/manager.md):
 *   duration  a number of seconds with an optional unit s, m, h, d or w (`90`, `30s`, `10m`,
 *             `1h`, `1d`, `1w`); units are case-insensitive, so `10M` is ten minutes
 *   size      a number of bytes with an optional unit B, K/KB, M/MB or G/GB (binary multiples:
 *             `64K` is 65536); case-insensitive
 *   bool      yes or no (case-insensitive)
 */
#ifndef TLD_COMMON_CONFTAB_H
#define TLD_COMMON_CONFTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "common/xml.h"

#define TLD_CONF_MAX_DURATION (1LL << 40)  /* seconds */
#define TLD_CONF_MAX_SIZE     (1ULL << 50) /* bytes */

/* "10m" -> 600. 0, or TLD_EINVAL when s is not a duration (bounds are the caller's). */
int tld_conf_parse_duration(const char *s, int64_t *secs);
/* "64KB" -> 65536. 0, or TLD_EINVAL when s is not a size. */
int tld_conf_parse_size(const char *s, uint64_t *bytes);

/* Where the elements being read come from, and who reads them (named in messages). */
struct tld_conf_ctx {
    struct tld_diag *diag;
    const char *file;
    const char *daemon; /* "tld-agent", "tld-manager" */
};

void tld_conf_error(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tld_conf_warn(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The value readers: false (and an error naming n) when the element is not a valid value. */
bool tld_conf_text(struct tld_conf_ctx *c, const struct tld_xml_node *n, char *buf, size_t size);
bool tld_conf_bool(struct tld_conf_ctx *c, const struct tld_xml_node *n, bool *out);
bool tld_conf_uint(struct tld_conf_ctx *c, const struct tld_xml_node *n, unsigned long long min,
                   unsigned long long max, unsigned *out);
bool tld_conf_duration(struct tld_conf_ctx *c, const struct tld_xml_node *n, int64_t min,
                       int64_t max, int64_t *out);
bool tld_conf_size(struct tld_conf_ctx *c, const struct tld_xml_node *n, uint64_t min, uint64_t max,
                   uint64_t *out);
/* An error for every attribute of n other than `allowed` (NULL: none allowed). */
void tld_conf_no_attrs(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *allowed);

enum tld_conf_kind {
    TLD_CONF_BOOL,        /* yes/no -> bool */
    TLD_CONF_NOT_BOOL,    /* yes/no stored inverted (<disabled> into an "enabled" flag) */
    TLD_CONF_TRI,         /* yes/no/auto -> int 1/0/-1 */
    TLD_CONF_UINT,        /* decimal in [min, max] -> unsigned */
    TLD_CONF_DURATION,    /* duration in [min, max] seconds -> int64_t */
    TLD_CONF_SIZE,        /* size in [min, max] bytes -> uint64_t */
    TLD_CONF_STR,         /* text -> char * owned by the configuration (last wins) */
    TLD_CONF_FIXED,       /* must be one of the '|'-separated `text` (case-insensitive) */
    TLD_CONF_SET,         /* handed to `set` (with obj + off), which also judges attributes */
    TLD_CONF_TEXT,        /* its text (attributes refused) handed to `put` (with obj + off) */
    TLD_CONF_ACCEPT,      /* accepted for compatibility, nothing to do */
    TLD_CONF_IGNORE,      /* accepted with a warning: means nothing to this daemon */
    TLD_CONF_UNSUPPORTED, /* an error: a known option this daemon deliberately lacks */
};

#define TLD_CONF_NOCASE    1u /* the element name is compared case-insensitively */
#define TLD_CONF_ANY_ATTRS 2u /* attributes are allowed (and ignored) */

struct tld_conf_row {
    const char *name;
    enum tld_conf_kind kind;
    size_t off; /* into the section's object */
    unsigned long long min, max;
    const char *text; /* TLD_CONF_FIXED: the allowed values */
    void (*set)(struct tld_conf_ctx *c, const struct tld_xml_node *n, void *obj);
    unsigned flags;
    void (*put)(struct tld_conf_ctx *c, const struct tld_xml_node *n, const char *text, void *obj);
};

#define TLD_CONF_NROWS(t) (sizeof(t) / sizeof *(t))

/* The rows that carry nothing but a name. */
#define TLD_CONF_IGNORED(name)                                                                     \
    {                                                                                              \
        (name), TLD_CONF_IGNORE, 0, 0, 0, NULL, NULL, 0, NULL                                      \
    }
#define TLD_CONF_LACKED(name)                                                                      \
    {                                                                                              \
        (name), TLD_CONF_UNSUPPORTED, 0, 0, 0, NULL, NULL, TLD_CONF_NOCASE, NULL                   \
    }

/* The row named `name`, or NULL. */
const struct tld_conf_row *tld_conf_find(const struct tld_conf_row *rows, size_t nrows,
                                         const char *name);
/* Read element n as `row` says into obj. */
void tld_conf_apply(struct tld_conf_ctx *c, const struct tld_conf_row *row,
                    const struct tld_xml_node *n, void *obj);
/* Every child of section s through the table; `what` names the section in "unknown element in
 * <what>". */
void tld_conf_section(struct tld_conf_ctx *c, const struct tld_conf_row *rows, size_t nrows,
                      const struct tld_xml_node *s, void *obj, const char *what);

/* Whether name is one of list[0..n). */
bool tld_conf_in_list(const char *name, const char *const *list, size_t n);

/* Whether name is a top-level section of a module neither daemon runs (Wazuh's syscheck, sca,
 * cluster, ..., and sections kept for modules to come): the daemons skip these. */
bool tld_conf_other_module(const char *name);

/* The roots a configuration file may have: <ossec_config> and <threatlockdown_config>. */
bool tld_conf_is_root(const struct tld_xml_node *n);

#endif
