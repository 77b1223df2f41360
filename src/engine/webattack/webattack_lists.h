/*
 * Word lists of the web attack detectors that are facts about systems rather than grammar:
 * sensitive files and folders, stream wrappers (webattack_paths.c) and shell commands
 * (webattack_cmdi.c). Internal to src/engine/webattack.
 */
#ifndef TLD_ENGINE_WEBATTACK_LISTS_H
#define TLD_ENGINE_WEBATTACK_LISTS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * b[0..m) (lower case, '/' separators) is an absolute path into a system folder, names a
 * configuration or secret file as a path segment, or names a Windows system folder variable.
 */
bool tld_webattack_sensitive_path(const char *b, size_t m);

/* b[0..m) (lower case) starts with a stream wrapper of a scripting runtime (php://, phar://...). */
bool tld_webattack_stream_wrapper(const char *b, size_t m);

#endif
