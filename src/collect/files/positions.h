/*
 * The collector's checkpoint file: for every followed path, the point where reading resumes
 * (device, inode, offset, and a hash of the first bytes of that file to recognise it), the
 * location patterns that were configured, and the spool sequence number up to which these
 * positions account for the collector's records. Records after that number carry their own
 * positions (evrec FILE_POS), so the checkpoint plus a scan of the spool tail gives the exact
 * resume point after any crash.
 *
 *   {"version":1,"spool_seq":"N","patterns":["..."],
 *    "files":[{"path":"..","dev":"N","ino":"N","offset":"N","head_len":"N","head":"16 hex"}]}
 *
 * 64-bit numbers are strings so no JSON reader rounds them. Saving writes a temporary file,
 * fsyncs it, renames it over the old one and fsyncs the directory.
 */
#ifndef TLD_COLLECT_FILES_POSITIONS_H
#define TLD_COLLECT_FILES_POSITIONS_H

#include <stdbool.h>
#include <stdint.h>

#define TLD_POSITIONS_MAX 100000
/* The file's layout version, its "version" member (common/format.h). */
#define TLD_POSITIONS_FORMAT 1

struct tld_position {
    char *path;
    uint64_t dev, ino, off;
    uint64_t head_len, head_hash; /* head_len 0: unknown, accept the inode alone */
};

struct tld_positions {
    struct tld_position *v;
    unsigned n, cap;
    char **patterns;
    unsigned npatterns;
    uint64_t spool_seq;
};

void tld_positions_init(struct tld_positions *p);
void tld_positions_fini(struct tld_positions *p);
/* 0, TLD_ENOTFOUND when there is no file, TLD_EPARSE when it is damaged (p is then empty). */
int tld_positions_load(const char *file, struct tld_positions *p);
int tld_positions_save(const char *file, const struct tld_positions *p);
/* Entry for path (created when `create`), or NULL. */
struct tld_position *tld_positions_get(struct tld_positions *p, const char *path, bool create);
void tld_positions_del(struct tld_positions *p, const char *path);
int tld_positions_add_pattern(struct tld_positions *p, const char *pattern);
bool tld_positions_has_pattern(const struct tld_positions *p, const char *pattern);

/* FNV-1a 64 of the bytes: the head fingerprint. */
uint64_t tld_positions_hash(const void *p, uint64_t n);

#endif
