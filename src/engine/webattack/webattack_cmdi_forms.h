/*
 * Forms of command injection that need no command word list: the grammar alone gives them away.
 * Internal to src/engine/webattack (used by webattack_cmdi.c).
 */
#ifndef TLD_ENGINE_WEBATTACK_CMDI_FORMS_H
#define TLD_ENGINE_WEBATTACK_CMDI_FORMS_H

#include <stdbool.h>
#include <stddef.h>

/* "() { :; }; cmd": a bash function definition imported from a variable (CVE-2014-6271). */
bool tld_cmdi_shellshock(const char *s, size_t n);

/* "{${system($x)}}", "${@passthru($x)}", "{$_REQUEST['x']}": PHP's complex syntax run as code. */
bool tld_cmdi_php_complex(const char *s, size_t n);

/* "RUN=$'uname -a';$RUN": a command stored in a variable, then the variable run as the command. */
bool tld_cmdi_stored_command(const char *s, size_t n);

#endif
