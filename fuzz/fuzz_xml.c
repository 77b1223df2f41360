/* libFuzzer harness: the ruleset/config XML dialect parser on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/xml.h"

static void walk(const struct tld_xml_node *n, unsigned depth)
{
    for (; n; n = n->next) {
        /* Every string the parser hands out must be NUL-terminated at its length. */
        if (n->text.p[n->text.n] != '\0' || strlen(n->name) == 0 || depth > TLD_XML_MAX_DEPTH)
            __builtin_trap();
        for (unsigned i = 0; i < n->nattrs; i++)
            if (n->attrs[i].value.p[n->attrs[i].value.n] != '\0')
                __builtin_trap();
        walk(n->children, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tld_diag d;
    tld_diag_init(&d);
    struct tld_xml_doc *doc = NULL;
    if (tld_xml_parse((const char *)data, size, "fuzz.xml", &doc, &d) == 0)
        walk(doc->roots, 0);
    else if (doc || d.errors == 0)
        __builtin_trap(); /* failure must leave no document and say why */
    tld_xml_free(doc);
    tld_diag_fini(&d);
    return 0;
}
