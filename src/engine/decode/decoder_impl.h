/*
 * Private layout of the decoder set, shared by the loader (decoder_load.c), the decoding phase
 * (decoder.c) and the plugins (decoder_json.c, decoder_plugins.c). Nothing outside those files
 * includes it.
 *
 * Roots live in two ordered lists: with a <program_name> (P-list) and without (N-list). A child
 * is linked into the child array of every root that carries its parent's name, so one child
 * object may be reachable from several roots; all objects are owned by `all`.
 */
#ifndef TLD_ENGINE_DECODER_IMPL_H
#define TLD_ENGINE_DECODER_IMPL_H

#include <pthread.h>

#include "common/arena.h"
#include "engine/decode/decoder.h"
#include "engine/regex/regex.h"

/* Bounds from decoders.md §3. */
#define DEC_MAX_PIECE 1023 /* each element text piece is < 1024 bytes */
#define DEC_MAX_TEXT  1023 /* concatenated pieces */
#define DEC_MAX_ORDER 256

enum dec_offset {
    DEC_OFF_NONE,
    DEC_OFF_AFTER_PARENT,
    DEC_OFF_AFTER_PREMATCH,
    DEC_OFF_AFTER_REGEX,
};

enum dec_plugin {
    DEC_PLUGIN_NONE,
    DEC_PLUGIN_JSON,
    DEC_PLUGIN_PF,
    DEC_PLUGIN_SONICWALL,
    DEC_PLUGIN_SYMANTEC_WS,
    DEC_PLUGIN_OSSEC_ALERT,
};

enum dec_json_null { DEC_JSON_NULL_STRING, DEC_JSON_NULL_DISCARD, DEC_JSON_NULL_EMPTY };
enum dec_json_array { DEC_JSON_ARRAY_ARRAY, DEC_JSON_ARRAY_CSV };

/* One <order> slot: a static field, or a dynamic name. */
struct dec_order {
    int field;          /* enum tld_field, or -1 for dynamic */
    struct tld_sv name; /* the name as written (dynamic names keep their case) */
};

/* fts selectors beyond <order> names. */
enum dec_fts_bits {
    DEC_FTS_NAME = 1u << 0,
    DEC_FTS_LOCATION = 1u << 1,
};

struct dec {
    struct tld_decoder pub;
    const char *file;
    unsigned line;

    struct tld_rx *program_name; /* roots only; NULL = none (N-list) */
    struct tld_rx *prematch;
    bool prematch_after_parent;
    struct tld_rx *regex;
    enum dec_offset regex_offset;
    struct dec_order *order;
    unsigned norder;

    enum dec_plugin plugin;
    enum dec_offset plugin_offset; /* NONE, AFTER_PARENT or AFTER_PREMATCH */
    enum dec_json_null json_null;
    enum dec_json_array json_array;

    unsigned fts_static;    /* bit per enum tld_field */
    unsigned fts_bits;      /* enum dec_fts_bits */
    struct tld_sv *fts_dyn; /* dynamic field names */
    unsigned nfts_dyn;
    bool has_fts;

    bool cont; /* continue with the next sibling (same-name chain) */
    bool is_child;

    struct dec **children; /* roots only */
    unsigned nchildren, capchildren;
};

struct name_entry {
    const char *name;
    int id;
};

struct tld_decoder_set {
    struct tld_arena arena; /* strings and order/fts arrays */
    struct dec **all;       /* every decoder, load order; owned */
    unsigned nall, capall;
    struct dec **plist, **nlist; /* roots, load order; not owned */
    unsigned nplist, capplist, nnlist, capnlist;
    struct name_entry *names; /* per-name ids */
    unsigned nnames, capnames;
};

/* The accumulate cache (decoders.md §10): bounded, expiring, shared by workers. */
#define ACC_MAX_ENTRIES 4096
#define ACC_TTL_NS      (120LL * 1000000000LL)
#define ACC_MAX_VALUE   80

struct acc_entry;
struct tld_decoder_state {
    pthread_mutex_t lock;
    struct acc_entry *entries; /* ACC_MAX_ENTRIES slots, open addressing */
};

/* Where plugins read from and how they write (set by decoder.c for the selected decoder). */
struct dec_plugin_input {
    const struct dec *selected; /* decides offset and JSON options */
    struct tld_sv text;         /* the chosen subject; p NULL = nothing to parse */
};

void tld_decoder_json_run(const struct dec *selected, struct tld_sv text, struct tld_event *ev);
void tld_decoder_plugin_run(enum dec_plugin plugin, struct tld_sv text, struct tld_event *ev);

/* Store a captured or computed value into the event for order slot `o`. */
void tld_decoder_assign(struct tld_event *ev, const struct dec_order *o, struct tld_sv value);

void tld_decoder_accumulate(struct tld_decoder_state *st, const struct dec *d,
                            struct tld_event *ev);

#endif
