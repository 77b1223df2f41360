/*
 * <time> and <weekday> values (rules.md §9).
 *
 * A time range is kept as two "HH:MM" strings and a negation flag; the evaluator compares the
 * event's local "HH:MM" with both bounds inclusively (strncmp order, as the original does) and
 * inverts for a negated range. A range whose start sorts after its end is stored as the negation
 * of end..start, and a '!' written on such a range is dropped. Hours are 0-23 (at most two
 * digits); minutes are the number after ':' (two characters are consumed, their value is not
 * range-checked); "am"/"pm" may follow, 12 am being 00 and 12 pm 12.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "engine/rules/rule_impl.h"

struct cursor {
    const char *p, *end;
};

static int peek(const struct cursor *c, size_t off)
{
    return c->p + off < c->end ? (unsigned char)c->p[off] : 0;
}

static void skip_spaces(struct cursor *c)
{
    while (c->p < c->end && *c->p == ' ')
        c->p++;
}

/* The value atoi() would give for the text at the cursor (clamped; the cursor does not move). */
static int leading_number(const struct cursor *c)
{
    size_t i = 0;
    while (peek(c, i) && isspace(peek(c, i)))
        i++;
    int sign = 1;
    if (peek(c, i) == '-' || peek(c, i) == '+')
        sign = peek(c, i++) == '-' ? -1 : 1;
    long v = 0;
    for (; isdigit(peek(c, i)) && v < 100000; i++)
        v = v * 10 + (peek(c, i) - '0');
    return (int)(sign * v);
}

static bool parse_hour(struct cursor *c, char out[6])
{
    int hour = leading_number(c);
    if (hour < 0 || hour >= 24)
        return false;
    int digits = 0;
    while (isdigit(peek(c, 0))) {
        c->p++;
        digits++;
    }
    if (digits > 2)
        return false;
    int min = 0;
    if (peek(c, 0) == ':') {
        c->p++;
        if ((!isdigit(peek(c, 0)) || !isdigit(peek(c, 1))) && isdigit(peek(c, 2)))
            return false;
        min = leading_number(c);
        for (int i = 0; i < 2 && c->p < c->end; i++)
            c->p++;
    }
    skip_spaces(c);
    int a = peek(c, 0);
    if (a == 'a' || a == 'A' || a == 'p' || a == 'P') {
        int m = peek(c, 1);
        if (m != 'm' && m != 'M')
            return false;
        if (hour == 12)
            hour = 0;
        if (a == 'p' || a == 'P')
            hour += 12;
        if (hour >= 24)
            return false;
        c->p += 2;
    }
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%02d:%02d", hour, min);
    if (len != 5)
        return false;
    memcpy(out, buf, 6);
    return true;
}

bool rule_time_parse(const char *s, size_t n, bool *neg, char lo[6], char hi[6])
{
    struct cursor c = {s, s + n};
    bool ng = false;
    skip_spaces(&c);
    if (peek(&c, 0) == '!') {
        ng = true;
        c.p++;
        skip_spaces(&c);
    }
    char first[6], second[6];
    if (!parse_hour(&c, first))
        return false;
    skip_spaces(&c);
    if (peek(&c, 0) != '-')
        return false;
    c.p++;
    skip_spaces(&c);
    if (!parse_hour(&c, second))
        return false;
    skip_spaces(&c);
    if (c.p != c.end)
        return false;
    if (strcmp(first, second) > 0) {
        *neg = true;
        memcpy(lo, second, 6);
        memcpy(hi, first, 6);
    } else {
        *neg = ng;
        memcpy(lo, first, 6);
        memcpy(hi, second, 6);
    }
    return true;
}

bool rule_weekday_parse(const char *s, size_t n, uint8_t *days)
{
    static const struct {
        const char *name;
        uint8_t mask;
    } names[] = {
        {"sunday", 0x01},   {"sun", 0x01}, {"monday", 0x02},    {"mon", 0x02},
        {"tuesday", 0x04},  {"tue", 0x04}, {"wednesday", 0x08}, {"wed", 0x08},
        {"thursday", 0x10}, {"thu", 0x10}, {"friday", 0x20},    {"fri", 0x20},
        {"saturday", 0x40}, {"sat", 0x40}, {"weekdays", 0x3e},  {"weekends", 0x41},
    };
    struct cursor c = {s, s + n};
    uint8_t mask = 0;
    skip_spaces(&c);
    /* A leading '!' is not skipped by the original parser, so no day name matches: invalid. */
    while (c.p < c.end) {
        unsigned i;
        size_t len = 0;
        for (i = 0; i < sizeof names / sizeof *names; i++) {
            len = strlen(names[i].name);
            if ((size_t)(c.end - c.p) >= len && strncasecmp(c.p, names[i].name, len) == 0)
                break;
        }
        if (i == sizeof names / sizeof *names)
            return false;
        mask |= names[i].mask;
        c.p += len;
        if (c.p == c.end)
            break;
        if (*c.p != ' ' && *c.p != ',')
            return false;
        while (c.p < c.end && (*c.p == ' ' || *c.p == ','))
            c.p++;
    }
    if (!mask)
        return false;
    *days = mask;
    return true;
}
