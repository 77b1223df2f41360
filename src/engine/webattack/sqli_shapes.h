/*
 * Whole-value shapes of SQL injection read from the raw text, before any lexing: forms too short
 * or too odd for the token readings of sqli.c. Internal to src/engine/webattack.
 */
#ifndef TLD_ENGINE_SQLI_SHAPES_H
#define TLD_ENGINE_SQLI_SHAPES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * "'+'", "\" \"", "'|'", "\" or \"\" \"": the value closes the application's string, joins it with
 * an operator (or nothing) and reopens a string for the application's closing quote.
 */
bool tld_sqli_string_join(const char *s, size_t n);

/* A MySQL executable comment carrying a version number: slash, star, '!' and a digit. */
bool tld_sqli_versioned_comment(const char *s, size_t n);

#endif
