/*
 * Loading state shared by rule_load.c (files, groups, attributes, validation, compilation),
 * rule_opts.c (the table of child elements) and rule_tree.c (attachment). Internal.
 *
 * A struct draft collects one <rule> while its elements are read: pattern texts are accumulated
 * (repeated elements concatenate, the last type/negate wins), other elements are parsed at once.
 * rule_load.c then validates the draft, compiles it into a struct tld_rule whose strings live in
 * the file's arena, and hands it to rule_tree.c.
 */
#ifndef TLD_ENGINE_RULE_LOAD_H
#define TLD_ENGINE_RULE_LOAD_H

#include "common/str.h"
#include "common/xml.h"
#include "engine/regex/regex.h"
#include "engine/rules/rule_impl.h"

/* Rule element texts: a first piece must be shorter than this; later pieces are appended while
 * both the text so far and the piece are at most this long (regex.md §1). */
#define RULE_TEXT_PIECE 2048
/* Bound of any accumulated element text. */
#define RULE_TEXT_MAX (2 * RULE_TEXT_PIECE + 1)

/* Pattern elements, in the order of rules.md §5.2 where they are tested. */
enum slot_id {
    S_PROGRAM,
    S_ID,
    S_SYSTEM_NAME,
    S_PROTOCOL,
    S_MATCH,
    S_REGEX,
    S_ACTION,
    S_URL,
    S_LOCATION,
    S_SRCPORT,
    S_DSTPORT,
    S_USER,
    S_SRCGEOIP,
    S_DSTGEOIP,
    S_DATA,
    S_EXTRA_DATA,
    S_HOSTNAME,
    S_STATUS,
    S_COUNT
};

struct pat_slot {
    struct tld_sb text;
    unsigned line; /* of the last piece */
    bool set;
    bool negate;
    enum tld_rx_kind kind;
};

/* A growable array of fixed-size elements (load-time only). */
struct vec {
    void *p;
    unsigned n, cap;
};
void *vec_push(struct vec *v, size_t elem);
void vec_free(struct vec *v);

struct draft {
    unsigned id;
    char id_str[8];
    unsigned line;
    unsigned level;
    unsigned maxsize, timeframe, freq_attr, ignore;
    bool accuracy, noalert, overwrite;
    struct tld_sb description, groups, info, cve;
    bool has_description, has_info, has_cve;
    struct tld_sb if_sid, if_group, if_level, if_matched_regex, if_matched_group;
    bool has_if_sid, has_if_group, has_if_level, has_if_matched_regex, has_if_matched_group;
    unsigned if_matched_sid;
    bool has_if_matched_sid;
    struct pat_slot slots[S_COUNT];
    struct vec dyn_tests; /* struct rtest, RT_DYN, compiled while reading */
    struct tld_iplist *srcip, *dstip;
    bool srcip_neg, dstip_neg;
    tld_rule_compiled_fn compiled;
    int decoded_as;
    enum tld_category category;
    bool has_time, time_neg;
    char time_lo[6], time_hi[6];
    bool has_weekday;
    uint8_t weekdays;
    uint8_t sources; /* <source> bits (1 << enum tld_source); 0 = none given */
    bool mail, log;
    unsigned options;
    uint32_t same_mask, diff_mask;
    struct vec same_fields, diff_fields; /* struct dynname (names in the file arena) */
    bool global_frequency, check_diff, if_fts, context;
    struct vec lists;       /* struct rlist */
    struct vec mitre_ids;   /* const char * (file arena) */
    struct vec mitre_pairs; /* struct tld_rule_mitre_pair */
    bool mitre_old, mitre_new;
    bool skip;
};

struct load_ctx {
    struct tld_rules *rs;
    struct tld_diag *diag;
    const char *file;
    struct file_store *fs;
    struct undo_log *undo;
    const char *group_name;
    struct draft *d;
};

/* Handle one child element of <rule> (rule_opts.c): 0, or TLD_EPARSE when the file fails (the
 * error was reported; an unknown element is one). A rule that must be skipped (a warning was
 * given) comes back as 0 with d->skip set, and its remaining elements are not read. */
int rule_opts_element(struct load_ctx *lc, struct draft *d, const struct tld_xml_node *el);

/* Diagnostics with the file name of the load. */
void lc_error(struct load_ctx *lc, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void lc_warn(struct load_ctx *lc, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy into the file arena (NUL-terminated); NULL when out of memory. */
char *lc_strdup(struct load_ctx *lc, const char *p, size_t n);
/* Compile a pattern owned by the file; 0 or the compile error (reason in err). */
int lc_compile(struct load_ctx *lc, enum tld_rx_kind kind, const char *p, size_t n,
               struct tld_rx **out, char *err, size_t errsz);
/* Append a rule element's text with the length rules; false (after an error) when too long. */
bool lc_append_text(struct load_ctx *lc, const struct tld_xml_node *el, struct tld_sb *sb,
                    struct tld_sv text, bool first);

#endif
