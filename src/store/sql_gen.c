/*
 * The query-tree walk shared by the SQL dialects (see sql_gen.h).
 */
#include "store/sql_gen.h"

void tld_sqlgen_node(const struct tld_sqlgen *g, const struct tld_qnode *n, bool negated)
{
    if (g->shortcut && g->shortcut(g->q, n, negated))
        return;
    switch (n->kind) {
    case TLD_Q_AND:
    case TLD_Q_OR:
        g->emit(g->q, "(");
        tld_sqlgen_node(g, n->a, negated);
        g->emit(g->q, n->kind == TLD_Q_AND ? " AND " : " OR ");
        tld_sqlgen_node(g, n->b, negated);
        g->emit(g->q, ")");
        break;
    case TLD_Q_NOT:
        g->emit(g->q, "(NOT ");
        tld_sqlgen_node(g, n->a, true);
        g->emit(g->q, ")");
        break;
    case TLD_Q_TERM:
        g->emit(g->q, negated ? g->null_as_false : "(");
        g->term(g->q, n);
        g->emit(g->q, negated ? "), 0)" : ")");
        break;
    }
}

bool tld_sqlgen_canonical_int(const char *v, size_t n, int64_t *out)
{
    size_t i = n && v[0] == '-';
    if (n == i || n - i > 15 || (v[i] == '0' && n - i > 1) || (i && v[i] == '0'))
        return false;
    int64_t x = 0;
    for (size_t k = i; k < n; k++) {
        if (v[k] < '0' || v[k] > '9')
            return false;
        x = x * 10 + (v[k] - '0');
    }
    *out = i ? -x : x;
    return true;
}
