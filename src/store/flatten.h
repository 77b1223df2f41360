/*
 * Turns one parsed alert into what a backend stores besides the raw line: the column values,
 * the time in epoch milliseconds, and the key/value pairs of the multi-valued fields (data.*
 * flattened to dotted keys, arrays to one pair per element). Anything an alert carries is
 * accepted: values of unexpected types become text, and only the bounds below limit what is
 * indexed (the raw line always keeps everything).
 */
#ifndef TLD_STORE_FLATTEN_H
#define TLD_STORE_FLATTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/str.h"
#include "store/fields.h"
#include "store/jtree.h"

#define TLD_FLAT_MAX_PAIRS 2000 /* key/value pairs indexed per alert */
#define TLD_FLAT_MAX_KEY   512  /* longer keys are not indexed */
#define TLD_FLAT_MAX_VALUE 8192 /* longer values are not indexed */
#define TLD_FLAT_MAX_DEPTH 32   /* deeper data.* values are not indexed */

struct tld_flat_pair {
    size_t key_off, key_n, val_off, val_n; /* into the text buffer */
};

struct tld_flat {
    int64_t ts_ms;
    bool ts_found;
    bool has_level;
    int64_t level;
    struct tld_sv col[TLD_COL_COUNT]; /* .p NULL: no value; point into the cJSON tree or text */
    struct tld_flat_pair *pairs;
    /* npairs stays <= TLD_FLAT_MAX_PAIRS */
    unsigned npairs, cap;
    size_t ndata;       /* pairs [0, ndata) are data.*, [ndata, nset) the rule arrays, */
    size_t nset;        /* [nset, npairs) the other fields (tld_flat_other) */
    struct tld_sb text; /* keys and values of the pairs */
    struct tld_sb key;  /* scratch: the dotted key being built */
};

void tld_flat_init(struct tld_flat *f);
void tld_flat_fini(struct tld_flat *f);

/* Fills `f` from `root` (reusing its buffers); TLD_ENOMEM is the only failure. */
int tld_flat_alert(struct tld_flat *f, const cJSON *root);

static inline struct tld_sv tld_flat_key(const struct tld_flat *f, size_t i)
{
    return tld_sv_make(f->text.p + f->pairs[i].key_off, f->pairs[i].key_n);
}

static inline struct tld_sv tld_flat_value(const struct tld_flat *f, size_t i)
{
    return tld_sv_make(f->text.p + f->pairs[i].val_off, f->pairs[i].val_n);
}

/* The same from a tree of the writer's reader; the root (node 0) must be an object. */
int tld_flat_jtree(struct tld_flat *f, const struct tld_jtree *t);

/*
 * Appends pairs for the fields that are neither columns, data.* nor rule arrays, for backends
 * that cannot read a path inside the raw JSON: a scalar at a path reached through objects, or
 * the scalar elements of an array there (docs/query.md, "any other field").
 */
int tld_flat_other(struct tld_flat *f, const cJSON *root);

/* Alert timestamps as alerts.json writes them ("2023-05-12T17:12:15.875+0300") to epoch ms. */
int tld_flat_parse_time(const char *s, int64_t *ms);

/* The text of a JSON scalar the way queries compare it; false for null, objects and arrays. */
bool tld_flat_scalar_text(const cJSON *v, char numbuf[40], struct tld_sv *out);

#endif
