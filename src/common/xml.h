/*
 * The XML dialect of Wazuh/OSSEC rulesets and configuration files. It is not XML: a file may
 * hold several top-level elements, element text is taken verbatim (no trimming, no entity
 * decoding, no CDATA), a `<` inside text is written `\<` (the backslash stays in the text), and
 * `<!-- ... -->` as well as `<! ... !>` comments may appear anywhere, even inside text.
 *
 * `<var name="N">value</var>` elements define file-scoped variables: once one is defined, every
 * later `$N` in a text or attribute value of the same file is replaced (names compare
 * case-insensitively) and any other `$word` is an "unknown variable" error. Variable elements
 * are consumed by the parser and do not appear in the tree.
 *
 * A parsed document owns all its nodes and strings in one arena; every string is
 * NUL-terminated. Elements that have child elements have empty text. Bounds: 20480 bytes per
 * text or attribute value, nesting depth 1024, 64 attributes per element.
 */
#ifndef TLD_COMMON_XML_H
#define TLD_COMMON_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "common/arena.h"
#include "common/diag.h"
#include "common/str.h"

#define TLD_XML_MAX_TEXT  20480
#define TLD_XML_MAX_DEPTH 1024
#define TLD_XML_MAX_ATTRS 64

struct tld_xml_attr {
    const char *name;
    struct tld_sv value;
};

struct tld_xml_node {
    const char *name;
    struct tld_sv text; /* "" for <x/>, <x></x> and for elements with children */
    struct tld_xml_attr *attrs;
    unsigned nattrs;
    unsigned line;                 /* line of the opening `<` */
    struct tld_xml_node *children; /* first child */
    struct tld_xml_node *next;     /* next sibling */
};

struct tld_xml_doc {
    struct tld_arena arena;     /* owns every node and string */
    const char *file;           /* name used in diagnostics (in the arena) */
    struct tld_xml_node *roots; /* first top-level element; NULL for an empty file */
};

/*
 * Parse `buf[0..n)`; `file` names it in diagnostics. On error, every problem found is added to
 * `diag` as "file:line: error: ..." and TLD_EPARSE (or TLD_ENOMEM) is returned with *out NULL.
 */
int tld_xml_parse(const char *buf, size_t n, const char *file, struct tld_xml_doc **out,
                  struct tld_diag *diag);
/* Read and parse a file; an unreadable file is reported as "file: error: cannot read: ...". */
int tld_xml_load(const char *path, struct tld_xml_doc **out, struct tld_diag *diag);
void tld_xml_free(struct tld_xml_doc *doc);

/* Value of the attribute `name` (exact, case-sensitive), or NULL. */
const struct tld_sv *tld_xml_attr(const struct tld_xml_node *node, const char *name);
/* Case-insensitive element-name test. */
bool tld_xml_is(const struct tld_xml_node *node, const char *name);

#endif
