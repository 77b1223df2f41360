/*
 * The ordered list of ruleset files to load (decoders.md §1): directories and explicit files,
 * exclusions by full path or bare file name, then sorted by base name across directories.
 */
#ifndef TLD_ENGINE_RULESET_FILES_H
#define TLD_ENGINE_RULESET_FILES_H

#include "common/diag.h"

struct tld_file_list {
    char **paths; /* owned strings, in load order after tld_file_list_finish */
    unsigned n, cap;
};

/* Every regular `*.xml` file of `dir`. */
int tld_file_list_add_dir(struct tld_file_list *fl, const char *dir, struct tld_diag *diag);
/* A file, or every `*.xml` of a directory. */
int tld_file_list_add_path(struct tld_file_list *fl, const char *path, struct tld_diag *diag);
/* Drop excluded files and sort by base name (stable). */
int tld_file_list_finish(struct tld_file_list *fl, const char *const *excludes, unsigned nexcludes);
void tld_file_list_fini(struct tld_file_list *fl);

#endif
