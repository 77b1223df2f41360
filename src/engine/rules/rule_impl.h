/*
 * Internal representation of rules shared by the rule modules (rule.c, rule_load.c,
 * rule_opts.c, rule_tree.c, rule_eval.c, rule_time.c, correlation.c). Not for other modules.
 *
 * A rule's matching data is split in two: struct rule_body is everything an overwrite replaces
 * (rules.md §4.4) and is swapped by value; struct tld_rule_impl adds what stays with the first
 * definition (correlation bindings, the attachment texts). Strings and arrays of a body live in
 * the arena of the file that defined it; compiled patterns are owned by that file's resource list.
 */
#ifndef TLD_ENGINE_RULE_IMPL_H
#define TLD_ENGINE_RULE_IMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/arena.h"
#include "engine/rules/rule.h"
#include "engine/rules/rule_compiled.h"

struct tld_rx;
struct tld_iplist;
struct tld_list;

/* Presence bits of an event's fields, tested in one go before any pattern runs. */
#define PB_FIELD(f) (1u << (f)) /* static fields, enum tld_field */
#define PB_HOSTNAME (1u << 16)
#define PB_PROGRAM  (1u << 17)
#define PB_LOCATION (1u << 18)
#define PB_USER     (1u << 19) /* dstuser or srcuser */

/* Pure tests of a rule (they have no side effect, so their order does not change results). */
enum rtest_kind {
    RT_LOG,      /* <match>, <regex>: the post-header log */
    RT_FIELD,    /* a static field */
    RT_PROGRAM,  /* pre-decoded program name */
    RT_HOSTNAME, /* event hostname */
    RT_LOCATION, /* location string */
    RT_USER,     /* dstuser, else srcuser */
    RT_DYN,      /* first dynamic field of that name */
    RT_IP,       /* <srcip>/<dstip> list */
    RT_COMPILED, /* <compiled_rule> */
};

/* A dynamic field name with its case-folded hash (see rule_eval.c dynamic-field index). */
struct dynname {
    const char *name;
    uint32_t len;
    uint32_t hash;
};

struct rtest {
    uint8_t kind;  /* enum rtest_kind */
    uint8_t field; /* RT_FIELD, RT_IP: enum tld_field */
    bool negate;
    const struct tld_rx *rx;       /* pattern kinds */
    const struct tld_iplist *ip;   /* RT_IP */
    tld_rule_compiled_fn compiled; /* RT_COMPILED */
    struct dynname dyn;            /* RT_DYN */
};

enum list_what { LW_FIELD, LW_USER, LW_HOSTNAME, LW_PROGRAM, LW_DYN };
enum list_lookup {
    LK_MATCH_KEY,
    LK_NOT_MATCH_KEY,
    LK_MATCH_KEY_VALUE,
    LK_ADDRESS_MATCH_KEY,
    LK_NOT_ADDRESS_MATCH_KEY,
    LK_ADDRESS_MATCH_KEY_VALUE,
};

struct rlist {
    uint8_t what;   /* enum list_what */
    uint8_t field;  /* LW_FIELD: enum tld_field */
    uint8_t lookup; /* enum list_lookup */
    const struct tld_list *list;
    const struct tld_rx *check_value; /* OS_Match on the value; NULL = none */
    struct dynname dyn;               /* LW_DYN */
};

/* Field slots of the same_X/different_X correlation filters (bit numbers of the masks). */
enum corr_slot {
    CS_SRCIP,
    CS_ID,
    CS_DSTIP,
    CS_SRCPORT,
    CS_DSTPORT,
    CS_SRCUSER,
    CS_USER, /* dstuser */
    CS_PROTOCOL,
    CS_ACTION,
    CS_URL,
    CS_DATA,
    CS_EXTRA_DATA,
    CS_STATUS,
    CS_SYSTEM_NAME,
    CS_SRCGEOIP,
    CS_DSTGEOIP,
    CS_LOCATION,
    CS_COUNT
};

enum search_kind { SEARCH_NONE, SEARCH_SID, SEARCH_GROUP, SEARCH_GLOBAL };

/* Everything `overwrite="yes"` replaces. */
struct rule_body {
    unsigned sort_level; /* level*100 (level 0 counts as 99), or the bare level with accuracy=0 */
    int decoded_as;      /* decoder id, -1 = any */
    uint32_t need;       /* PB_* bits the pure tests need */
    const struct rtest *tests;
    unsigned ntests;
    unsigned maxsize;
    bool has_time, time_neg;
    char time_lo[6], time_hi[6]; /* "HH:MM" */
    bool has_weekday;
    uint8_t weekdays; /* bit d = day d (0 = Sunday) */
    uint8_t sources;  /* <source>: bit k = enum tld_source k; 0 = any source */
    bool check_diff;
    bool if_fts;
    const struct rlist *lists;
    unsigned nlists;
    /* correlation */
    bool context;  /* if_matched_* or check_diff given */
    unsigned freq; /* frequency - 2, or 0 */
    bool global_frequency;
    uint32_t same_mask, diff_mask; /* bits 1 << enum corr_slot */
    const struct dynname *same_fields, *diff_fields;
    unsigned nsame_fields, ndiff_fields;
    const struct tld_rx *if_matched_regex; /* OS_Regex on old events' log; NULL = none */
};

struct tld_rule_impl {
    struct rule_body b;
    /* Correlation bindings, fixed by the first definition. */
    enum search_kind search;
    int search_list;    /* list searched (SID, GROUP); -1 = none bound */
    int store_sid_list; /* list this rule's events feed as an if_matched_sid target; -1 = none */
    int *store_groups;  /* lists this rule's events feed as an if_matched_group target */
    unsigned nstore_groups, capstore;
    /* Attachment texts of the first definition (for overwrite warnings); NULL = absent. */
    const char *if_sid, *if_group, *if_level;
    unsigned if_matched_sid;
    const char *if_matched_group;
    const struct tld_rx *if_matched_group_rx; /* OS_Match over group strings */
    unsigned nplaces;                         /* tree nodes holding this rule */
    uint64_t source_hash; /* fingerprint of the <rule> element and its group (duplicate check) */
};

/* The cheapest tests of a child, packed next to its siblings' so a parent can skip most of its
 * children without touching them (built by tree_finish). */
struct kid_filter {
    int32_t decoded_as; /* -1 = any */
    uint32_t need;      /* PB_* bits */
    uint8_t key;        /* 1 + index into the parent's keys[], 0 = none */
    uint16_t dynbit;    /* 1 + DYN_BLOOM_BIT of a dynamic field the tests need, 0 = none */
    uint32_t key_hash;  /* dynname_hash of the only value the kid's key test accepts */
};

/* The bit a dynamic field name sets in an event's 256-bit name filter (from the hash's top
 * byte; the per-event index uses the low bits). */
#define DYN_BLOOM_BIT(hash) ((hash) >> 24)

/*
 * A field that several siblings test for one literal each ("docker.Action" = "create",
 * "start", ...): the parent hashes the event's value once per visit and skips every kid whose
 * literal has another hash, without touching the kid's rule (built by tree_finish).
 */
struct kid_key {
    uint8_t kind;  /* RT_FIELD or RT_DYN */
    uint8_t field; /* RT_FIELD: enum tld_field */
    struct dynname dyn;
};
#define KID_KEYS_MAX 4
/* Siblings that must share a key before it is worth hashing the event's value. */
#define KID_KEY_MIN 4

/* A kid's position among its siblings, with the decoder it requires. */
struct kid_dec {
    int32_t decoded_as;
    uint32_t pos;
};

/* Nodes with at least this many kids that require a decoder get a decoder index (rule 1 of the
 * Wazuh ruleset has 200 such kids among its 277). */
#define KID_INDEX_MIN 16

/* One place of a rule in the tree. */
struct rnode {
    struct tld_rule *rule;
    struct rnode *parent;  /* NULL at top level */
    struct rnode **kids;   /* sorted siblings (rules.md §4.1); owned */
    struct kid_filter *kf; /* kf[i] for kids[i]; owned; built by tree_finish */
    unsigned nkids, capkids;
    unsigned depth;
    /* Decoder index (see KID_INDEX_MIN; built by tree_finish, NULL otherwise):
     * positions of the kids without decoded_as, ascending, and of the others sorted by
     * (decoder, position), so an event visits only the kids its decoder can pass. */
    uint32_t *kany;
    unsigned nkany;
    struct kid_dec *kdec;
    unsigned nkdec;
    struct kid_key keys[KID_KEYS_MAX]; /* see struct kid_key; nkeys used */
    unsigned nkeys;
};

/* Memory and compiled objects of one loaded file; freed with the rule set (or on rollback). */
struct file_store {
    struct tld_arena arena;
    struct res {
        void (*fn)(void *);
        void *p;
    } * res;
    unsigned nres, capres;
    struct file_store *next;
};

struct tld_rules {
    struct tld_rules_env env;
    bool finished;
    struct tld_rule **rules; /* load order; rules[i]->index == i */
    unsigned nrules, caprules;
    uint32_t *ididx; /* open addressing: rule index + 1; 0 = empty */
    unsigned ididx_cap;
    struct rnode **top; /* top-level list */
    unsigned ntop, captop;
    struct rnode **nodes; /* every node, for freeing */
    unsigned nnodes, capnodes;
    unsigned ncorr_lists; /* correlation lists bound so far */
    struct file_store *files;
    /* Built by finish. */
    struct rnode **cat_top[TLD_CAT_COUNT];
    struct kid_filter *cat_kf[TLD_CAT_COUNT]; /* the filters of cat_top[c][i] */
    unsigned ncat_top[TLD_CAT_COUNT];
    bool has_global_search; /* some rule searches the global recent-events list */
    bool has_fts, has_diff; /* some rule uses if_fts / check_diff */
};

/* ---- rule.c ---- */
void rules_index_rebuild(struct tld_rules *rs);
int rules_index_add(struct tld_rules *rs, struct tld_rule *r);
struct tld_rule *rules_find_mut(const struct tld_rules *rs, unsigned id);
int file_store_add(struct file_store *fs, void (*fn)(void *), void *p);
void file_store_free(struct file_store *fs);
/* Room for one more entry in the growable int array *v of n entries (the capacity doubles from
 * 4); false when out of memory, leaving the array as it was. */

/* ---- rule_tree.c: attachment with an undo log ---- */
struct undo_log;
struct undo_log *undo_new(void);
void undo_free(struct undo_log *u);
/* Roll the set back to what it was when the log was started (and free the file's rules). */
void undo_rollback(struct tld_rules *rs, struct undo_log *u);
void undo_mark(struct tld_rules *rs, struct undo_log *u);

/* Attach a new rule: 0 attached, or 0 with *skipped (warnings given); TLD_EPARSE when refused
 * (an error was reported; the file fails); TLD_ENOMEM or TLD_ELIMIT otherwise. */
struct load_ctx;
int tree_attach(struct load_ctx *lc, struct tld_rule *r, bool *skipped);
int tree_overwrite(struct load_ctx *lc, struct tld_rule *old, const struct tld_rule *newr,
                   const struct tld_rule_impl *newimpl);
int tree_bind_correlation(struct load_ctx *lc, struct tld_rule *r);
int tree_finish(struct tld_rules *rs);
void tree_free(struct tld_rules *rs);

/* ---- rule_time.c ---- */
/* Parse a <time> value; false when invalid. */
bool rule_time_parse(const char *s, size_t n, bool *neg, char lo[6], char hi[6]);
/* Parse a <weekday> value; false when invalid (a leading '!' is invalid, as in 4.14.7). */
bool rule_weekday_parse(const char *s, size_t n, uint8_t *days);

/* ---- rule_hit.c ---- */
/* Add a previous_output line at position idx (0-based) unless that slot is already set. */
void tld_rule_hit_prev_add(struct tld_rule_hit *hit, unsigned idx, struct tld_sv line);
/* Forget every previous_output line. */
void tld_rule_hit_prev_clear(struct tld_rule_hit *hit);

/* ---- rule_state.c ---- */
#define TLD_FTS_MAX_KEYS     65536 /* first-time-seen keys remembered (oldest forgotten) */
#define TLD_FTS_MAX_KEY      1024  /* bytes of a key that count */
#define TLD_DIFF_MAX_ENTRIES 4096  /* check_diff (host, rule) entries (oldest forgotten) */
#define TLD_DIFF_MAX_BYTES   (32u << 20)
#define TLD_DIFF_MAX_LOG     65535 /* longer logs never pass check_diff, as in 4.14.7 */

struct smap;
struct tld_corr;

struct tld_rules_state {
    const struct tld_rules *rules;
    _Atomic uint64_t *fired; /* per rule index */
    pthread_mutex_t lock;    /* everything below */
    int64_t *ignored_at;     /* per rule index; INT64_MIN = never fired */
    struct tld_corr *corr;
    struct smap *diff;
    struct smap *fts;
};

/* Inside the ignore window of `rule` at time `now` (else the window restarts). Locks. */
bool state_ignored(struct tld_rules_state *st, const struct tld_rule *rule, int64_t now);
/*
 * check_diff for (key) and the current log: false on the first occurrence (stored) and when the
 * log is unchanged; true when it changed, with the previous log copied into old[0..*oldn).
 * Locks.
 */
bool state_diff(struct tld_rules_state *st, struct tld_sv key, struct tld_sv log, char *old,
                size_t *oldn);
/* True the first time `key` is seen in this state (it is remembered). Locks. */
bool state_fts_first(struct tld_rules_state *st, struct tld_sv key);

/* ---- shared helpers ---- */
uint32_t dynname_hash(const char *p, size_t n);

#endif
