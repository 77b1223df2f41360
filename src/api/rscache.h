/*
 * The loaded ruleset the API's requests share. Loading a full ruleset takes a second or more,
 * so the snapshot is kept and handed out by reference until a file it comes from changes: each
 * request fingerprints the files (the configuration, every rule and decoder file, every list:
 * name, size, modification time), which costs a directory listing and some stat calls, and
 * loads again only when the fingerprint differs. A request keeps the snapshot it got even when
 * another one replaces it.
 */
#ifndef TLD_API_RSCACHE_H
#define TLD_API_RSCACHE_H

#include <stdint.h>

#include "api/rsconf.h"

struct tld_api_rscache;

int tld_api_rscache_new(struct tld_api_rscache **out);
void tld_api_rscache_free(struct tld_api_rscache *c);

/* The fingerprint of the ruleset's files now. */
uint64_t tld_api_rs_signature(const struct tld_api_rsconf *cfg, const char *root,
                              const char *config_path);

/*
 * A reference to the snapshot for the files as they are (the caller drops it with
 * tld_ruleset_unref). A load that fails reports into diag and returns its error; the kept
 * snapshot is then left as it was.
 */
int tld_api_rscache_get(struct tld_api_rscache *c, const struct tld_api_rsconf *cfg,
                        const char *root, const char *config_path, struct tld_ruleset **out,
                        struct tld_diag *diag);

#endif
