/* Lookups in the generated ATT&CK table (see mitre.h). */
#include "engine/alert/mitre.h"

#include <string.h>

#include "engine/alert.h"

static int cmp(struct tld_sv a, const char *b)
{
    size_t bn = strlen(b);
    int c = memcmp(a.p, b, a.n < bn ? a.n : bn);
    if (c)
        return c;
    return a.n < bn ? -1 : a.n > bn;
}

const struct tld_mitre_technique *tld_mitre_technique(struct tld_sv id)
{
    unsigned lo = 0, hi = tld_mitre_ntechniques;
    if (!id.p)
        return NULL;
    while (lo < hi) {
        unsigned mid = lo + (hi - lo) / 2;
        int c = cmp(id, tld_mitre_techniques[mid].id);
        if (c == 0)
            return &tld_mitre_techniques[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

int tld_mitre_tactic_index(struct tld_sv id)
{
    for (unsigned i = 0; i < tld_mitre_ntactics; i++)
        if (tld_sv_eq_cstr(id, tld_mitre_tactics[i].id))
            return (int)i;
    return -1;
}

unsigned tld_mitre_tactic_count(void)
{
    return tld_mitre_ntactics;
}

unsigned tld_mitre_technique_count(void)
{
    return tld_mitre_ntechniques;
}

void tld_mitre_tactic_row(unsigned i, struct tld_mitre_row *out)
{
    memset(out, 0, sizeof *out);
    out->id = tld_mitre_tactics[i].id;
    out->name = tld_mitre_tactics[i].name;
}

void tld_mitre_technique_row(unsigned i, struct tld_mitre_row *out)
{
    const struct tld_mitre_technique *t = &tld_mitre_techniques[i];
    memset(out, 0, sizeof *out);
    out->id = t->id;
    out->name = t->name;
    for (unsigned k = 0; k < t->ntactics && k < 4; k++)
        out->tactics[out->ntactics++] = tld_mitre_tactics[t->tactics[k]].name;
}
