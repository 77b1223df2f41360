/*
 * SQL injection detector.
 *
 * A request value ends up inside some SQL text the application built: pasted bare (a numeric
 * id), or between quotes. We do not know which, so the value is read three times: bare, as if a
 * single quote had been opened just before it, and likewise with a double quote. In a quoted
 * reading the text up to the first closing quote is a string literal (the "prefix") and what
 * follows it (the "tail") is what the attacker made the server parse as SQL. In the bare reading
 * the tail follows the first operand.
 *
 * Tokens are folded into roles (operand, call, binary operator, keyword, ...), and two families
 * of rules decide:
 *   - tail rules (sqli.c): what directly follows the terminator must continue an SQL expression
 *     - a comment, ';' and a statement, UNION SELECT, an operator, a clause such as ORDER BY -
 *     and the region after it must read as well-formed SQL (no two operands side by side, which
 *     is what natural language is made of) and carry evidence: a comparison, a call of a known
 *     function, a subquery, a catalog name. Weak evidence (a bare comment, a string left open for
 *     the application's own quote) only counts when the prefix looks like a single value rather
 *     than a phrase.
 *   - anywhere rules (sqli_rules.c): constructs that are SQL and nothing else wherever they
 *     occur: UNION SELECT with a select list, stacked statements, delay and error-based calls,
 *     comparisons of literals inside function calls or CASE, subqueries, "OR 1=1" tautologies.
 *
 * Bounds: tokens are lexed in batches of SQLI_BATCH; consecutive batches overlap by
 * SQLI_OVERLAP tokens so a construct straddling two batches is seen whole. Tail rules look at
 * the first batch of a reading only, where the terminator is. Time is linear in the input;
 * memory is one fixed stack array per reading.
 */
#include <string.h>
#include <strings.h>

#include "engine/webattack/sqli_fold.h"
#include "engine/webattack/sqli_shapes.h"
#include "engine/webattack/webattack.h"
#include "engine/webattack/webattack_cmdi_forms.h"

/* ---- roles ----------------------------------------------------------------------------------- */

/* After an operator, '(' or ',' an operand is due: non-reserved words there are names. */
static bool operand_position(enum sqli_role prev)
{
    return prev == R_BIN || prev == R_LP || prev == R_COMMA || prev == R_UNARY;
}

/* Keywords that keep their role even where an operand is due (they start one). */
static bool structural(const struct sqli_fold *f, size_t k)
{
    static const char *const kw[] = {"case", "all", "any", "some", "distinct", "interval", NULL};
    for (const char *const *w = kw; *w; w++)
        if (tld_sqli_word_is(f, k, *w))
            return true;
    return false;
}

void tld_sqli_assign_roles(struct sqli_fold *f, enum sqli_role prev)
{
    size_t w = 0;
    bool cmt = false;
    for (size_t k = 0; k < f->n; k++) {
        /* closed inline comments, and line comments with code on the next line, are blanks */
        if (f->t[k].type == SQ_COMMENT &&
            (f->t[k].sub == CM_BLOCK || (f->t[k].sub == CM_LINE && k + 1 < f->n))) {
            cmt = cmt || f->t[k].sub == CM_BLOCK;
            continue;
        }
        f->t[w] = f->t[k];
        if (cmt)
            f->t[w].tf |= SQF_CMT;
        cmt = false;
        w++;
    }
    f->n = w;
    for (size_t k = 0; k < f->n; k++) {
        const struct sqli_tok *t = &f->t[k];
        enum sqli_role r;
        bool next_lp = k + 1 < f->n && f->t[k + 1].type == SQ_LP;
        switch (t->type) {
        case SQ_NUM:
        case SQ_STR:
        case SQ_VAR:
            r = R_OPND;
            break;
        case SQ_WORD:
            if (t->sub == '`')
                r = next_lp ? R_CALL : R_OPND;
            else if (next_lp && ((t->wf & SW_FUNC) || !(t->wf & SW_KEYWORD)))
                r = R_CALL;
            else if ((t->wf & SW_CMP) && k + 1 < f->n && f->t[k + 1].type == SQ_WORD &&
                     (tld_sqli_word_is(f, k + 1, "boolean") ||
                      tld_sqli_word_is(f, k + 1, "natural")))
                r = R_KW; /* IN BOOLEAN MODE, IN NATURAL LANGUAGE MODE */
            else if (t->wf & (SW_LOGIC | SW_CMP | SW_ARITH))
                r = R_BIN;
            else if (t->wf & SW_NOT)
                r = R_UNARY;
            else if (t->wf & SW_UNION)
                r = R_UNION;
            else if (t->wf & SW_SELECT)
                r = R_SELECT;
            else if (t->wf & SW_STMT)
                r = R_STMT;
            else if (t->wf & SW_CLAUSE)
                r = operand_position(prev) && !structural(f, k) ? R_OPND : R_KW;
            else
                r = R_OPND;
            break;
        case SQ_OP:
            r = R_BIN;
            if (t->sub == OPC_ARITH && !sqli_ends_operand(prev) && t->len == 1) {
                char c = f->s[t->off];
                if (c == '*')
                    r = R_OPND; /* select *, count(*) */
                else if (c == '-' || c == '+' || c == '~' || c == '!')
                    r = R_UNARY;
            }
            break;
        case SQ_LP:
            r = R_LP;
            break;
        case SQ_RP:
            r = R_RP;
            break;
        case SQ_COMMA:
            r = R_COMMA;
            break;
        case SQ_SEMI:
            r = R_SEMI;
            break;
        case SQ_DOT:
            r = R_DOT;
            break;
        case SQ_COMMENT:
            r = R_COMMENT;
            break;
        default:
            r = R_OTHER;
            break;
        }
        f->r[k] = (unsigned char)r;
        prev = r;
    }
}

/* ---- region analysis ------------------------------------------------------------------------ */

#define EV_CMP    0x0001u /* a comparison between two operands */
#define EV_TAUT   0x0002u /* literal compared with literal (1=1, 'a'='a', (8)=(3)) */
#define EV_LOGIC  0x0004u
#define EV_CALL   0x0008u /* call of a known built-in function */
#define EV_DANGER 0x0010u /* call of a delay / error-based / file function */
#define EV_SUBQ   0x0020u /* ( SELECT ... */
#define EV_UNION  0x0040u
#define EV_INFO   0x0080u /* catalog object (information_schema.tables, master..sysdatabases) */
#define EV_SYSVAR 0x0100u /* @@version and friends */
#define EV_TAILKW 0x0200u /* ORDER, GROUP, HAVING, LIMIT, PROCEDURE, INTO */
#define EV_BAL    0x0400u /* ends with a string left open for the application's quote */
#define EV_CASE   0x0800u /* CASE WHEN */
#define EV_ISNULL 0x1000u /* IS [NOT] NULL */
#define EV_GCALL  0x2000u /* call of an arithmetic function (cos, sqrt, ...) */
#define EV_BALCMP 0x4000u /* a comparison with the string left open for the application */

struct region {
    unsigned viol;
    unsigned ev;
    unsigned len;        /* tokens in the region */
    enum sqli_role stop; /* R_END, R_COMMENT or R_SEMI */
    size_t end;          /* index of the stop token */
};

/*
 * Token k is a string left open to the end, in the reading's quote, holding one value: it is
 * closed by the quote the application puts after the value ("... or 'a" + "'"). A phrase there
 * ("\"OR\" logic gates kit") is a quotation in text instead.
 */
static bool balancing(const struct sqli_fold *f, size_t k, char quote)
{
    const struct sqli_tok *t = &f->t[k];
    if (t->type != SQ_STR || !(t->tf & SQF_OPEN) || t->sub != quote)
        return false;
    for (size_t i = 1; i < t->len; i++)
        if (sqli_is_space((unsigned char)f->s[t->off + i]))
            return false;
    return true;
}

/*
 * Walk from i (which follows an operand: a closing quote, a value) to the end of the statement:
 * count places where the text stops being SQL and collect evidence.
 */
static void scan_region(const struct sqli_fold *f, size_t i, char quote, struct region *rg)
{
    memset(rg, 0, sizeof *rg);
    enum sqli_role prev = R_OPND;
    size_t k = i;
    for (; k < f->n; k++) {
        enum sqli_role r = (enum sqli_role)f->r[k];
        if (r == R_COMMENT || r == R_SEMI)
            break;
        const struct sqli_tok *t = &f->t[k];
        enum sqli_role nx = sqli_role_at(f, k + 1);
        rg->len++;
        switch (r) {
        case R_OPND:
        case R_CALL:
        case R_LP:
            if (sqli_ends_operand(prev) && !(r == R_OPND && tld_sqli_alias_ok(f, k, prev)))
                rg->viol++;
            if (r == R_CALL && (t->wf & SW_FUNC))
                rg->ev |= (t->wf & SW_GENERIC) ? EV_GCALL : EV_CALL;
            if (r == R_CALL && (t->wf & SW_DANGER))
                rg->ev |= EV_DANGER;
            if (r == R_LP && nx == R_SELECT && tld_sqli_select_ok(f, k + 1, SEL_SUBQ))
                rg->ev |= EV_SUBQ;
            if (r == R_OPND && (t->wf & SW_INFO) &&
                (nx == R_DOT ||
                 (k > i && (f->r[k - 1] == R_DOT || tld_sqli_word_is(f, k - 1, "from")))))
                rg->ev |= EV_INFO;
            if (r == R_OPND && t->type == SQ_VAR && (t->tf & SQF_SYS))
                rg->ev |= EV_SYSVAR;
            if (r == R_OPND && k + 1 == f->n && balancing(f, k, quote))
                rg->ev |= EV_BAL;
            break;
        case R_UNARY:
            if (sqli_ends_operand(prev) && nx != R_BIN)
                rg->viol++;
            break;
        case R_BIN:
            if (!sqli_ends_operand(prev) &&
                !(t->type == SQ_WORD && (prev == R_BIN || prev == R_UNARY) && k > i &&
                  f->t[k - 1].type == SQ_WORD))
                rg->viol++;
            if (!sqli_starts_operand(nx) && nx != R_BIN && nx != R_SELECT)
                rg->viol++;
            /* IN compares with a parenthesised list; "Singin' in the Rain" is English */
            if (tld_sqli_word_is(f, k, "in") && nx != R_LP)
                rg->viol++;
            if (tld_sqli_is_cmp(f, k)) {
                /* "x' = '": comparing with the application's own closing quote is weak */
                size_t o = k + 1;
                while (o < f->n && (f->r[o] == R_UNARY || f->r[o] == R_LP))
                    o++;
                /* compared with a quotation left open in text ("LIKE" STAMP): no evidence */
                const struct sqli_tok *last = o + 1 == f->n ? &f->t[o] : NULL;
                bool open_end =
                    last && last->type == SQ_STR && (last->tf & SQF_OPEN) && last->sub == quote;
                if (open_end && balancing(f, o, quote))
                    rg->ev |= EV_BALCMP;
                else if (!open_end)
                    rg->ev |= EV_CMP;
                if (tld_sqli_literal_cmp(f, k) || tld_sqli_wildcard_like(f, k))
                    rg->ev |= EV_TAUT;
                if (tld_sqli_word_is(f, k, "is"))
                    rg->ev |= EV_ISNULL;
            } else if (tld_sqli_is_logic(f, k)) {
                rg->ev |= EV_LOGIC;
            }
            break;
        case R_RP:
            if (!sqli_ends_operand(prev) && prev != R_LP && prev != R_KW)
                rg->viol++;
            break;
        case R_COMMA:
            if (!sqli_ends_operand(prev) && prev != R_KW)
                rg->viol++;
            break;
        case R_DOT:
            break;
        case R_KW:
            if (t->wf & SW_TAIL)
                rg->ev |= EV_TAILKW;
            if (tld_sqli_word_is(f, k, "case") && tld_sqli_word_is(f, k + 1, "when"))
                rg->ev |= EV_CASE;
            break;
        case R_UNION:
            if (tld_sqli_union_ok(f, k))
                rg->ev |= EV_UNION;
            break;
        case R_SELECT:
            if (tld_sqli_select_ok(f, k, 0))
                rg->ev |= EV_SUBQ;
            break;
        case R_STMT:
            break;
        default:
            rg->viol++;
            break;
        }
        prev = r;
    }
    rg->end = k;
    rg->stop = sqli_role_at(f, k);
}

/* ---- tail rules ----------------------------------------------------------------------------- */

static bool statement_end(const struct sqli_fold *f, size_t k);

/*
 * "UNION SELECT", "UNION ALL SELECT" ending the value or cut by a comment: the first probe of a
 * UNION-based injection, before the tool counts columns.
 */
static bool union_select_end(const struct sqli_fold *f, size_t k)
{
    if (sqli_role_at(f, k) != R_UNION || !tld_sqli_word_is(f, k, "union"))
        return false;
    k++;
    if (tld_sqli_word_is(f, k, "all") || tld_sqli_word_is(f, k, "distinct"))
        k++;
    return sqli_role_at(f, k) == R_SELECT && statement_end(f, k + 1);
}

struct reading {
    char quote;    /* 0 for the bare reading */
    bool weak_ok;  /* the prefix is one value (no blanks) / the bare value starts with a number */
    bool no_value; /* quoted reading and the value starts with the quote */
};

/*
 * j is the index right after the terminator (closing quote, or first operand of a bare value).
 */
static bool tail(const struct sqli_fold *f, size_t j, const struct reading *rd)
{
    unsigned closers = 0;
    while (sqli_role_at(f, j) == R_RP) {
        j++;
        closers++;
    }
    enum sqli_role r = sqli_role_at(f, j);
    switch (r) {
    case R_END:
        return false;
    case R_COMMENT:
        if (!rd->weak_ok || !tld_sqli_comment_ok(f, j))
            return false;
        /* a bare number then a comment: only "--" and slash-star, '#' is too common in text */
        return rd->quote || closers > 0 || f->s[f->t[j].off] != '#';
    case R_SEMI: {
        if (sqli_role_at(f, j + 1) == R_COMMENT)
            return rd->weak_ok && (rd->quote || closers > 0) && tld_sqli_comment_ok(f, j + 1);
        return tld_sqli_stmt_ok(f, j + 1, STMT_AFTER_SEMI);
    }
    case R_UNION:
        return tld_sqli_union_ok(f, j) || (rd->weak_ok && union_select_end(f, j));
    case R_SELECT:
    case R_STMT:
        return tld_sqli_stmt_ok(f, j, STMT_AFTER_VALUE);
    case R_BIN:
    case R_UNARY:
    case R_KW:
        break;
    default:
        return false;
    }
    struct region rg;
    scan_region(f, j, rd->quote, &rg);
    if (rg.viol > 0)
        return false;
    if (rg.ev & (EV_DANGER | EV_SUBQ | EV_UNION | EV_INFO | EV_SYSVAR))
        return true;
    if (rg.stop == R_SEMI && tld_sqli_stmt_ok(f, rg.end + 1, STMT_AFTER_SEMI))
        return true;
    bool first_logic = r == R_BIN && tld_sqli_is_logic(f, j);
    bool first_cmp = r == R_BIN && tld_sqli_is_cmp(f, j);
    bool first_arith = r == R_BIN && !first_logic && !first_cmp;
    bool order_by = (tld_sqli_word_is(f, j, "order") || tld_sqli_word_is(f, j, "group")) &&
                    tld_sqli_word_is(f, j + 1, "by") && sqli_role_at(f, j + 2) == R_OPND &&
                    f->t[j + 2].type == SQ_NUM;
    bool comment_end = rg.stop == R_COMMENT && rg.len > 0 && tld_sqli_comment_ok(f, rg.end);
    bool first_not = r == R_UNARY && tld_sqli_is_cmp(f, j + 1);
    if (rd->quote) {
        /* "'=' ", "'DIV'": an operator alone between the two quotes */
        if (rd->no_value && (rg.ev & (EV_BAL | EV_BALCMP)) && rg.len <= 3 &&
            (first_cmp || first_logic || first_not || (r == R_BIN && f->t[j].type == SQ_WORD)))
            return true;
        /* "x'*1 or '1", "x'/1='1", "x'^0+1=(0)--": arithmetic on the closed string, then a
         * condition; needs a one-value prefix */
        if (first_arith)
            return (rg.ev & EV_CALL) ||
                   (rd->weak_ok && ((rg.ev & (EV_BALCMP | EV_ISNULL | EV_TAUT)) ||
                                    ((rg.ev & EV_LOGIC) && (rg.ev & (EV_CMP | EV_BAL))) ||
                                    (comment_end && (rg.ev & (EV_GCALL | EV_CMP)))));
        if (!rd->weak_ok)
            return false; /* the prefix is a phrase: only the strong evidence above counts */
        if (rg.ev & (EV_CMP | EV_CASE))
            return true;
        if ((rg.ev & (EV_CALL | EV_GCALL)) && first_logic)
            return true;
        if (order_by || comment_end)
            return true;
        return (rg.ev & (EV_BAL | EV_BALCMP)) && (first_logic || first_cmp);
    }
    if ((rg.ev & EV_LOGIC) && (rg.ev & (EV_TAUT | EV_ISNULL | EV_CASE)))
        return true;
    if ((rg.ev & EV_LOGIC) && (rg.ev & (EV_CALL | EV_GCALL)) && (rg.ev & EV_CMP))
        return true;
    if (!rd->weak_ok)
        return false;
    /* the bare value starts with a number: "1 or x()", "1 - ord('a')", "1 order by 2" */
    if (first_logic && (rg.ev & EV_CALL))
        return true;
    if (first_arith && (rg.ev & EV_CALL))
        return true;
    if (order_by || (r == R_KW && (rg.ev & EV_TAUT)))
        return true;
    return comment_end && (rg.ev & (EV_CMP | EV_LOGIC | EV_TAILKW | EV_CALL | EV_GCALL));
}

/* Index after a list of numbers separated by commas starting at k (k itself when none). */
static size_t number_list(const struct sqli_fold *f, size_t k)
{
    while (sqli_role_at(f, k) == R_OPND && f->t[k].type == SQ_NUM) {
        k++;
        if (sqli_role_at(f, k) != R_COMMA)
            break;
        k++;
    }
    return k;
}

static bool statement_end(const struct sqli_fold *f, size_t k)
{
    enum sqli_role r = sqli_role_at(f, k);
    return r == R_END || r == R_SEMI || (r == R_COMMENT && tld_sqli_comment_ok(f, k));
}

/*
 * The value is the end of a condition or a clause the application's query continues with: it
 * starts with AND/OR and a tautology ("and 1=1", "|| 2>1;--", "or true#"), with HAVING and a
 * comparison, or with ORDER/GROUP BY and column numbers ("order by 5-- ", "group by 1,2,3").
 * The first operand, if any, is one number or one bare word, as the application's own value.
 */
static bool leading_condition(const struct sqli_fold *f)
{
    size_t j = 0;
    bool value = false;
    if (sqli_role_at(f, 0) == R_OPND && sqli_role_at(f, 1) != R_END &&
        (f->t[0].type == SQ_NUM || f->t[0].type == SQ_WORD)) {
        j = 1;
        value = true;
    }
    while (sqli_role_at(f, j) == R_RP)
        j++;
    if (tld_sqli_is_logic(f, j) && sqli_role_at(f, j + 1) != R_END) {
        struct region rg;
        scan_region(f, j, 0, &rg);
        if (rg.viol > 0)
            return false;
        if (rg.ev & EV_TAUT)
            return !value || f->t[0].type == SQ_NUM || rg.stop != R_END;
        /* "0 || 1;--", " OR 1--": a number as the whole condition, then the statement is cut */
        if ((!value || f->t[0].type == SQ_NUM) && sqli_role_at(f, j + 1) == R_OPND &&
            f->t[j + 1].type == SQ_NUM && sqli_role_at(f, j + 2) != R_END &&
            statement_end(f, j + 2))
            return true;
        /* " OR a=b#", "or coalesce(null,1) --", " or login like char(37,37);": a condition on names
         * or calls opening the value, then the statement cut by a comment or ended by ';' */
        if (!value && (rg.ev & (EV_CMP | EV_CALL)) && rg.len >= 2 &&
            (rg.stop == R_COMMENT || (rg.stop == R_SEMI && statement_end(f, rg.end + 1))) &&
            statement_end(f, rg.end))
            return true;
        /* "||(elt(2,version()))", "||chr(65)": concatenation with a built-in call */
        if (!value && f->t[j].type == SQ_OP && (rg.ev & (EV_CALL | EV_DANGER)))
            return true;
        /* "or true", "and not false" closing the statement */
        size_t k = j + 1;
        if (sqli_role_at(f, k) == R_UNARY)
            k++;
        return (tld_sqli_word_is(f, k, "true") || tld_sqli_word_is(f, k, "false")) &&
               statement_end(f, k + 1) && (!value || f->t[0].type == SQ_NUM || rg.stop != R_END);
    }
    if (tld_sqli_word_is(f, j, "having")) {
        struct region rg;
        scan_region(f, j, 0, &rg);
        return rg.viol == 0 && (rg.ev & EV_CMP) && (rg.ev & (EV_TAUT | EV_CALL | EV_GCALL));
    }
    /* GROUP BY a column (users.id) then HAVING */
    if (tld_sqli_word_is(f, j, "group") && tld_sqli_word_is(f, j + 1, "by")) {
        size_t k = j + 2;
        while (sqli_role_at(f, k) == R_OPND || sqli_role_at(f, k) == R_DOT ||
               sqli_role_at(f, k) == R_COMMA)
            k++;
        if (k > j + 2 && tld_sqli_word_is(f, k, "having")) {
            struct region rg;
            scan_region(f, k, 0, &rg);
            if (rg.viol == 0 && (rg.ev & EV_CMP))
                return true;
        }
    }
    if ((tld_sqli_word_is(f, j, "order") || tld_sqli_word_is(f, j, "group")) &&
        tld_sqli_word_is(f, j + 1, "by")) {
        size_t e = number_list(f, j + 2);
        if (e == j + 2)
            return false;
        unsigned count = 0;
        for (size_t k = j + 2; k < e; k++)
            count += f->t[k].type == SQ_NUM;
        if (tld_sqli_word_is(f, e, "having") || tld_sqli_word_is(f, e, "limit"))
            return true;
        if (sqli_role_at(f, e) == R_END)
            return count >= 3 || value || (j == 0 && tld_sqli_word_is(f, j, "order"));
        return statement_end(f, e);
    }
    return false;
}

/* Bare reading: find the first operand (skipping '(' and signs); the tail starts after it. */
static bool bare_tail(const struct sqli_fold *f)
{
    size_t j = 0;
    unsigned lp = 0;
    while (sqli_role_at(f, j) == R_LP || sqli_role_at(f, j) == R_UNARY) {
        lp += f->r[j] == R_LP;
        j++;
    }
    enum sqli_role r = sqli_role_at(f, j);
    const struct sqli_tok *t = &f->t[j];
    struct reading rd = {0, false, false};
    if (j == 0 && (leading_condition(f) || union_select_end(f, 0)))
        return true;
    /* "(4955=4955)", "(4955=4956)": a parenthesised equality of numbers is the whole value (the
     * true and false probes of a tool's boundary test) */
    if (lp > 0 && tld_sqli_literal_cmp(f, j + 1)) {
        size_t e = j + 3;
        unsigned rp = 0;
        while (sqli_role_at(f, e) == R_RP) {
            e++;
            rp++;
        }
        const struct sqli_tok *op = &f->t[j + 1];
        /* "(4955=4955)*7": sqlmap multiplies the probe into a numeric context */
        if (rp >= lp && sqli_role_at(f, e) == R_BIN && f->t[e].type == SQ_OP && f->t[e].len == 1 &&
            f->s[f->t[e].off] == '*' && sqli_role_at(f, e + 1) == R_OPND &&
            f->t[e + 1].type == SQ_NUM)
            e += 2;
        if (rp >= lp && statement_end(f, e) && f->t[j].type == SQ_NUM &&
            f->t[j + 2].type == SQ_NUM && op->type == SQ_OP && op->len == 1 && f->s[op->off] == '=')
            return true;
    }
    /* a number, or a parenthesised literal or call: a value, not a phrase */
    rd.weak_ok =
        r != R_END && (t->type == SQ_NUM || (lp > 0 && (t->type == SQ_STR || t->type == SQ_VAR ||
                                                        (t->wf & (SW_VALUE | SW_FUNC)))));
    if (r == R_OPND)
        return tail(f, j + 1, &rd);
    if (r == R_CALL) {
        int depth = 0;
        size_t k = j + 1;
        for (; k < f->n; k++) {
            if (f->r[k] == R_LP)
                depth++;
            else if (f->r[k] == R_RP && --depth == 0)
                break;
        }
        return k < f->n && tail(f, k + 1, &rd);
    }
    return false;
}

static bool has_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (sqli_is_space((unsigned char)s[i]))
            return true;
    return false;
}

/*
 * Lex s[0..n) in one reading. quote == 0: bare; otherwise the text up to the first unescaped
 * quote is a string and the rest is SQL.
 */
static bool reading(const char *s, size_t n, char quote)
{
    struct sqli_fold f;
    struct sqli_lexer lx = {s, n, 0};
    struct reading rd = {quote, false, false};
    if (quote) {
        size_t e = tld_sqli_string_end(s, n, 0, quote);
        if (e == 0)
            return false;
        lx.pos = e;
        /*
         * The prefix, leading blanks aside, is one value glued to the quote ("aa'", "1%'") or
         * nothing. A blank right before the quote means the quote opens a quotation in text
         * ("size 'M' or 'L'"), not a string the attacker closes.
         */
        size_t b = 0, z = e - 1;
        while (b < z && sqli_is_space((unsigned char)s[b]))
            b++;
        rd.weak_ok = !has_blank(s + b, z - b);
        rd.no_value = z == b;
        /* a backquote opening the value quotes a word in text (`--flag'); a tool's boundary
         * goes on with SQL after it (` AND ..., `),...) */
        if (quote == '`' && rd.no_value) {
            size_t k = e;
            while (k < n && sqli_is_space((unsigned char)s[k]))
                k++;
            if (k >= n || s[k] == '-' || s[k] == '#' || s[k] == '/')
                return false;
        }
    }
    f.s = s;
    f.n = 0;
    f.prev0 = quote ? R_OPND : R_END;
    bool first = true;
    for (;;) {
        size_t got = tld_sqli_lex(&lx, f.t + f.n, SQLI_BATCH - f.n);
        if (got == 0 && !first)
            break;
        f.n += got;
        if (!first)
            f.prev0 = R_END;
        tld_sqli_assign_roles(&f, f.prev0);
        if (first && (quote ? tail(&f, 0, &rd) : bare_tail(&f)))
            return true;
        if (tld_sqli_anywhere(&f))
            return true;
        if (lx.pos >= n)
            break;
        size_t keep = f.n < SQLI_OVERLAP ? f.n : SQLI_OVERLAP;
        memmove(f.t, f.t + f.n - keep, keep * sizeof f.t[0]);
        f.n = keep;
        first = false;
    }
    return false;
}

/*
 * Values made of words, numbers, blanks, dots and commas only can be SQL only through one of a
 * few keywords (UNION, OR, ORDER, a catalog name, ...). Checking for those first spares the full
 * readings for the bulk of ordinary text.
 */
static bool worth_reading(const char *s, size_t n)
{
    /* lone '-', '+', '/', ':', '@' are everyday text (dates, e-mail, times); doubled they are
     * comments and system variables */
    static const bool punct[256] = {
        ['\''] = true, ['"'] = true, ['`'] = true, ['='] = true, ['<'] = true, ['>'] = true,
        ['!'] = true,  ['|'] = true, ['&'] = true, ['^'] = true, ['*'] = true, ['%'] = true,
        ['~'] = true,  ['('] = true, [')'] = true, [';'] = true, ['#'] = true, ['\\'] = true,
    };
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (punct[(unsigned char)c])
            return true;
        if (i + 1 < n && ((c == '-' && s[i + 1] == '-') || (c == '/' && s[i + 1] == '*') ||
                          (c == '@' && s[i + 1] == '@')))
            return true;
    }
    const unsigned trigger = SW_UNION | SW_SELECT | SW_LOGIC | SW_CMP | SW_NOT | SW_TAIL | SW_STMT |
                             SW_ARITH | SW_CATALOG | SW_DANGER;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (!((unsigned)((c | 0x20) - 'a') < 26 || c == '_')) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && ((unsigned)((s[j] | 0x20) - 'a') < 26 || s[j] == '_'))
            j++;
        unsigned wf = tld_sqli_word_flags(s + i, j - i);
        if ((wf & trigger) || (j - i == 4 && strncasecmp(s + i, "case", 4) == 0))
            return true; /* CASE ... WHEN ... THEN ... END needs no punctuation either */
        i = j;
    }
    return false;
}

static bool all_readings(const char *s, size_t n)
{
    if (n == 0 || !worth_reading(s, n))
        return false;
    if (reading(s, n, 0))
        return true;
    if (memchr(s, '\'', n) && reading(s, n, '\''))
        return true;
    if (memchr(s, '"', n) && reading(s, n, '"'))
        return true;
    return false;
}

/* Longest value also read in its look-alike form. */
#define ALT_MAX 4096

/*
 * The look-alike form of a value: Unicode quotation marks and apostrophes that some
 * applications and databases fold to ASCII quotes (U+2018, U+2019, U+201B, U+02BC, U+2032,
 * U+00B4, fullwidth U+FF07; U+201C, U+201D and U+FF02 for '"'), and '+' for a blank (a payload
 * form-encoded by hand and percent-encoded again). The value itself is read first, so this form
 * only adds readings. Returns whether anything changed.
 */
static bool look_alike(const char *s, size_t n, char *out, size_t *m)
{
    bool plus = memchr(s, '+', n) != NULL;
    bool changed = false;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        unsigned char c1 = i + 1 < n ? (unsigned char)s[i + 1] : 0;
        unsigned char c2 = i + 2 < n ? (unsigned char)s[i + 2] : 0;
        char r = 0;
        size_t adv = 1;
        if (c == 0xe2 && c1 == 0x80 && (c2 == 0x98 || c2 == 0x99 || c2 == 0x9b || c2 == 0xb2))
            r = '\'', adv = 3;
        else if (c == 0xe2 && c1 == 0x80 && (c2 == 0x9c || c2 == 0x9d))
            r = '"', adv = 3;
        else if (c == 0xef && c1 == 0xbc && (c2 == 0x87 || c2 == 0x82))
            r = c2 == 0x87 ? '\'' : '"', adv = 3;
        else if ((c == 0xca && c1 == 0xbc) || (c == 0xc2 && c1 == 0xb4))
            r = '\'', adv = 2;
        else if (c == '+' && plus)
            r = ' ';
        if (r) {
            out[o++] = r;
            changed = true;
        } else {
            memcpy(out + o, s + i, adv);
            o += adv;
        }
        i += adv;
    }
    *m = o;
    return changed;
}

/* A tag opens somewhere: the value is markup, and its quotes and backquotes are HTML's or JS's. */
static bool markup(const char *s, size_t n)
{
    for (const char *p = memchr(s, '<', n); p && p + 1 < s + n;
         p = memchr(p + 1, '<', (size_t)(s + n - p - 1))) {
        unsigned char c = (unsigned char)p[1];
        if (((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '/' || c == '!' || c == '?')
            return true;
    }
    return false;
}

/*
 * Readings that only add recall on values no other class claims: MySQL identifiers (tools
 * close a backquoted name as they close a string) and the look-alike form below. Values holding
 * markup are left to the XSS detector: there, backquotes are template literals and curly quotes
 * close attributes.
 */
static bool extra_readings(const char *s, size_t n, char *alt, size_t cap)
{
    if (markup(s, n))
        return false;
    if (memchr(s, '`', n) && worth_reading(s, n) && reading(s, n, '`'))
        return true;
    size_t m;
    return n <= cap && look_alike(s, n, alt, &m) && all_readings(alt, m);
}

/*
 * PHP source ("<?php", the request superglobals, the complex syntax "{${...}}") is code for the
 * web server's interpreter; SQL has no such tokens. It stays SQL injection only when the query
 * writes it to a file (INTO OUTFILE, a web shell dropped through the database) or a UNION
 * carries it.
 */
static bool php_code(const char *s, size_t n)
{
    if (!memchr(s, '$', n) && !memchr(s, '<', n))
        return false;
    static const char *const php[] = {"<?php",     "<?=",      "$_GET",    "$_POST",
                                      "$_REQUEST", "$_COOKIE", "$_SERVER", NULL};
    bool code = false;
    if (memmem(s, n, "<?", 2) || memmem(s, n, "$_", 2))
        for (const char *const *p = php; *p && !code; p++)
            code = memmem(s, n, *p, strlen(*p)) != NULL;
    /* "{${sleep(3)}}": PHP's complex syntax evaluates the call, not a database */
    if (!code && !(memchr(s, '$', n) && tld_cmdi_php_complex(s, n)))
        return false;
    for (size_t i = 0; i + 5 <= n; i++)
        if (strncasecmp(s + i, "outfile", 7 <= n - i ? 7 : n - i) == 0 ||
            strncasecmp(s + i, "dumpfile", 8 <= n - i ? 8 : n - i) == 0 ||
            strncasecmp(s + i, "union", 5) == 0)
            return false;
    return true;
}

bool tld_sqli_detect(const char *s, size_t n)
{
    if (php_code(s, n))
        return false;
    if (tld_sqli_string_join(s, n) || tld_sqli_versioned_comment(s, n))
        return true;
    if (all_readings(s, n))
        return true;
    char alt[ALT_MAX];
    return extra_readings(s, n, alt, sizeof alt);
}
