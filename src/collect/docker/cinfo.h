/*
 * Container information attached to events: id, name, image, labels, compose project and
 * service. Objects are immutable once built and reference-counted, so a collector stream can
 * keep the information of a removed container for as long as it still reads that container's
 * lines, while the cache that produced it evicts or replaces its own entry.
 *
 * Bounds: the evrec bounds (TLD_EVREC_MAX_*); labels past them are left out and counted in
 * `labels_dropped`.
 */
#ifndef TLD_COLLECT_DOCKER_CINFO_H
#define TLD_COLLECT_DOCKER_CINFO_H

#include <stdatomic.h>
#include <stdbool.h>

#include "common/evrec.h"

struct cJSON;

struct tld_cinfo {
    atomic_uint refs;
    char id[TLD_EVREC_MAX_ID + 1];
    char *name;                     /* without Docker's leading '/' */
    char *image;                    /* Config.Image, as the user named it */
    char *project;                  /* label com.docker.compose.project, or "" */
    char *service;                  /* label com.docker.compose.service, or "" */
    struct tld_evrec_label *labels; /* owned keys and values, sorted by key */
    unsigned nlabels;
    unsigned labels_dropped;
};

/* Only the id known (the engine could not be asked). */
struct tld_cinfo *tld_cinfo_new_id(const char *id);
/* From a parsed `GET /containers/{id}/json` answer; NULL if it has no usable Id. */
struct tld_cinfo *tld_cinfo_new_inspect(const struct cJSON *inspect);
struct tld_cinfo *tld_cinfo_ref(struct tld_cinfo *ci);
void tld_cinfo_unref(struct tld_cinfo *ci);
/* Point `out` at ci's strings (valid while the reference is held). */
void tld_cinfo_to_evrec(const struct tld_cinfo *ci, struct tld_evrec_container *out);
/* True for a 64-character lower-case hex string (a full container id). */
bool tld_cinfo_is_id(const char *s, size_t n);

#endif
