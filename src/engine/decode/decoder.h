/*
 * Decoders: loading Wazuh-format <decoder> files into a decoder set, and running the decoding
 * phase of one event (decoders.md §3–§5, §9–§10).
 *
 * A struct tld_decoder_set is built once (files added in load order, then finished) and is
 * immutable afterwards, so any number of workers decode with it concurrently. Decoding state
 * that outlives an event (the `accumulate` cache) lives in struct tld_decoder_state, which is
 * shared and internally locked.
 */
#ifndef TLD_ENGINE_DECODER_H
#define TLD_ENGINE_DECODER_H

#include <stdbool.h>

#include "common/diag.h"
#include "engine/event.h"

struct tld_rx_scratch;
struct tld_rx_result;

/* The read-only facts about a decoder that later phases (rules, alerts) need. */
struct tld_decoder {
    const char *name;       /* name shown in alerts: own name, or the parent's name */
    const char *own_name;   /* the name="" attribute */
    const char *parent;     /* parent's name for a child decoder; NULL for a root */
    int id;                 /* per-name id used by rule <decoded_as> (tld_decoder_set_id) */
    enum tld_category type; /* selects the rule tree */
    const char *ftscomment; /* NULL when absent */
    bool accumulate;
};

struct tld_decoder_set;
struct tld_decoder_state;

int tld_decoder_set_new(struct tld_decoder_set **out);
void tld_decoder_set_free(struct tld_decoder_set *set);
/*
 * Load every <decoder> of an XML file, in file order, after those already loaded. All problems
 * are reported into `diag` with file:line; on error (TLD_EPARSE) the set is unchanged.
 */
int tld_decoder_set_load_file(struct tld_decoder_set *set, const char *path, struct tld_diag *diag);
/* Number of decoders loaded (every <decoder> element counts once). */
unsigned tld_decoder_set_count(const struct tld_decoder_set *set);
/* Id for a decoder name as <decoded_as> uses it, or -1 when no decoder has that name. */
int tld_decoder_set_id(const struct tld_decoder_set *set, struct tld_sv name);

struct tld_decoder_state *tld_decoder_state_new(void);
void tld_decoder_state_free(struct tld_decoder_state *st);

/* Per-worker working memory for decoding. */
struct tld_decoder_scratch {
    struct tld_rx_scratch *rx;
    struct tld_rx_result *res; /* large; one per worker */
};
int tld_decoder_scratch_init(struct tld_decoder_scratch *s);
void tld_decoder_scratch_fini(struct tld_decoder_scratch *s);

/*
 * Run the decoding phase on a pre-decoded event: select a decoder, fill static and dynamic
 * fields (copied into the event's arena when they do not point into the input), compute the
 * first-time-seen key. Never fails: an event no decoder takes keeps ev->decoder NULL.
 */
void tld_decode(const struct tld_decoder_set *set, struct tld_decoder_state *st,
                struct tld_event *ev, struct tld_decoder_scratch *scratch);

#endif
