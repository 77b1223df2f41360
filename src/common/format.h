/*
 * On-disk format versions. Every piece of state a daemon keeps across restarts (the spool, the
 * intake journal and its checkpoints, file positions, the Docker cursor, the agent registry,
 * the alert store) carries the version of its layout, checked when it is opened: a release
 * meeting a version it does not know refuses it with TLD_EFORMAT rather than misreading it,
 * and an older version is what a later release migrates from. State written before versions
 * were kept has none and is read as version 1, which is what it is.
 *
 * A directory of files (the spool, the journal) keeps its version in <dir>/FORMAT, one line
 * "<kind> <version>"; single files keep theirs inside (a "version" member, a comment line, the
 * database's user_version).
 */
#ifndef TLD_COMMON_FORMAT_H
#define TLD_COMMON_FORMAT_H

#define TLD_FORMAT_FILE "FORMAT"

/*
 * Check <dir>/FORMAT against `kind` and the `current` version this release writes; write it
 * when missing (the directory is then version 1 data, or new). 0; TLD_EFORMAT when it names
 * another kind or a version above `current`, or cannot be read as "<kind> <version>";
 * TLD_EIO when it cannot be read or written (errno says why).
 */
int tld_format_dir_check(const char *dir, const char *kind, unsigned current);

#endif
