/* Names of the event source kinds (see source.h). */
#include "common/source.h"

static const char *const names[] = {
    [TLD_SOURCE_FILE] = "file",   [TLD_SOURCE_COMMAND] = "command", [TLD_SOURCE_DOCKER] = "docker",
    [TLD_SOURCE_AGENT] = "agent", [TLD_SOURCE_OWN] = "own",         [TLD_SOURCE_ANY] = "any",
};

const char *tld_source_name(enum tld_source s)
{
    return (unsigned)s <= TLD_SOURCE_ANY ? names[s] : "file";
}

bool tld_source_lookup(struct tld_sv name, enum tld_source *out)
{
    for (unsigned i = 0; i <= TLD_SOURCE_ANY; i++)
        if (tld_sv_eq_cstr(name, names[i])) {
            *out = (enum tld_source)i;
            return true;
        }
    return false;
}
