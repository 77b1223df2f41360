/*
 * The agent registry: who is enrolled (durable) and how each agent is doing (volatile status).
 *
 * Durable part: the text snapshot `<var>/agents`, one agent per line
 *     <id> <name> <registration ip> <registered epoch s> <active|removed> <cert sha256> <removed
 * epoch s> after a `next <id>` line, and the journal `<var>/agents.journal` of later changes:
 * each change is its records in the same format, `next <id>` and `commit`, appended with one
 * fdatasync; a change without its `commit` (torn by a crash) does not count, so a crash leaves
 * the old or the new registry, never a mix. The journal is folded into the snapshot (atomic
 * rewrite, then the journal emptied) when it outgrows it. Removed agents stay as tombstones so
 * their certificates can be refused with the right reason, and ids are never reused. A plain
 * file is readable and repairable by hand and needs no schema (why not SQLite: docs/manager.md).
 *
 * Other processes (`tld-manager agents remove`) change the file under an exclusive flock on
 * `<var>/agents.lock`; the running manager takes the same lock for its changes and notices
 * outside changes with tld_agents_refresh().
 *
 * Volatile part: status (never connected, active, disconnected), last keepalive, peer address,
 * version, OS and host name. It is kept in memory and saved to `<var>/agents-status.json` by
 * tld_agents_save_status() (the previous run's "last seen" is loaded at open, so an agent seen
 * before a restart is "disconnected", not "never connected"). The status is loaded as saved, so
 * `agents list` shows what the running manager last wrote; the manager itself calls
 * tld_agents_reset_sessions() at start, as no session of a previous run survives it.
 *
 * Bound: max_agents active agents, of which at most max_pending have never connected (so a
 * flood of enrollments cannot fill the table; tld_agents_expire_pending() removes the ones that
 * stay unconnected too long); at most max_agents tombstones are kept (oldest dropped).
 * Thread-safe.
 */
#ifndef TLD_MANAGER_AGENTS_H
#define TLD_MANAGER_AGENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "common/net.h"
#include "common/proto.h"

#define TLD_AGENT_ID_MAX 999999999u
/* The registry file's layout version, in its "# format N" line (common/format.h); a file
 * without one is version 1. */
#define TLD_AGENTS_FORMAT 1

enum tld_agent_status {
    TLD_AGENT_NEVER,        /* enrolled, never connected */
    TLD_AGENT_ACTIVE,       /* connected, keepalives arriving */
    TLD_AGENT_DISCONNECTED, /* was connected; connection gone or silent too long */
};

struct tld_agent_info {
    unsigned id;
    char name[TLD_PROTO_MAX_NAME + 1];
    char reg_ip[TLD_NET_ADDR_MAX];
    int64_t registered_s;
    bool removed;
    int64_t removed_s;
    uint8_t fp[32];
    /* status */
    enum tld_agent_status status;
    int64_t last_keepalive_s; /* 0: never */
    char peer_ip[TLD_NET_ADDR_MAX];
    char version[64];
    char os[128];
    char hostname[128];
    uint64_t events; /* events received in this run */
};

struct tld_agents;

/* Load (or create) the registry in var_dir. A malformed file is TLD_ECORRUPT with the line in
 * why (the manager refuses to start rather than lose agents). */
int tld_agents_open(const char *var_dir, unsigned max_agents, struct tld_agents **out,
                    char why[TLD_WHY_MAX]);
/* The same with the durable part (agents, agents.journal, agents.lock) in registry_dir, which
 * the managers of a fleet share, and the status file in status_dir, each manager's own. */
int tld_agents_open_at(const char *registry_dir, const char *status_dir, unsigned max_agents,
                       struct tld_agents **out, char why[TLD_WHY_MAX]);
void tld_agents_close(struct tld_agents *r);
/* Bound agents enrolled and never connected (0: no bound besides max_agents). */
void tld_agents_set_pending_limit(struct tld_agents *r, unsigned max_pending);
/* Active agents of the status file become disconnected: their sessions ended with that run. */
void tld_agents_reset_sessions(struct tld_agents *r);

/* Signs the new agent's certificate once its id is known; fills the fingerprint. */
typedef int (*tld_agents_issue_fn)(void *ctx, const char *agent_id, uint8_t fp[32]);

/*
 * Enroll `name` from `ip`: refuses a duplicate active name with TLD_EEXIST unless `force`
 * (then the old agent becomes a tombstone and *replaced its id), a full table with
 * TLD_ELIMIT and a new agent beyond the never-connected bound with TLD_EAGAIN. Otherwise assigns
 * the next id, calls issue(), and records the agent durably before returning 0 with *id.
 */
int tld_agents_enroll(struct tld_agents *r, const char *name, const char *ip, bool force,
                      tld_agents_issue_fn issue, void *ctx, unsigned *id, unsigned *replaced);
/* Mark an agent removed (durable). TLD_ENOTFOUND if unknown or already removed. */
int tld_agents_remove(struct tld_agents *r, unsigned id);
/* Mark several agents removed in one durable write; ids unknown or already removed are skipped.
 * *removed (may be NULL) counts the ones removed now. */
int tld_agents_remove_many(struct tld_agents *r, const unsigned *ids, unsigned n,
                           unsigned *removed);

/* Which agents a bulk removal takes: every condition given must hold (an empty filter matches
 * every active agent; callers insist on at least one condition). */
struct tld_agents_filter {
    const char *name_glob; /* fnmatch(3) pattern; NULL: any */
    int status;            /* enum tld_agent_status; -1: any */
    int64_t older_than_s;  /* idle (since last keepalive, or enrollment if never connected)
                              for longer than this; 0: any */
};
bool tld_agents_filter_match(const struct tld_agents_filter *f, const struct tld_agent_info *a,
                             int64_t now_s);
/* Remove never-connected agents enrolled more than max_age_s ago. Fills ids[] (up to max) with
 * the agents removed; returns how many (or a negative error). */
int tld_agents_expire_pending(struct tld_agents *r, int64_t now_s, int64_t max_age_s, unsigned *ids,
                              unsigned max);

/*
 * Check the identity a connection presents: 0 when `id_text` names an active agent whose
 * recorded certificate has this fingerprint; TLD_ENOTFOUND for an unknown id; TLD_EAUTH for a
 * removed agent; TLD_EINVAL for a certificate that is not the agent's current one.
 */
int tld_agents_check(struct tld_agents *r, const char *id_text, const uint8_t fp[32], unsigned *id);

/* Re-read the file if another process changed it. Fills removed[] (up to max) with agents that
 * were active before and are removed now; returns how many (or a negative error). */
int tld_agents_refresh(struct tld_agents *r, unsigned *removed, unsigned max);

/* Status changes. `hello`/`ka` fields are copied (bounded). */
void tld_agents_set_connected(struct tld_agents *r, unsigned id, const char *peer_ip,
                              const struct tld_msg_hello *hello, int64_t now_s);
void tld_agents_set_keepalive(struct tld_agents *r, unsigned id, const struct tld_msg_keepalive *ka,
                              int64_t now_s);
void tld_agents_set_disconnected(struct tld_agents *r, unsigned id);
void tld_agents_count_events(struct tld_agents *r, unsigned id, uint64_t n);
/* Mark active agents silent for longer than `silence_s` as disconnected; returns how many. */
unsigned tld_agents_expire(struct tld_agents *r, int64_t now_s, int64_t silence_s);

/* A copy of one agent's record (tombstones included); TLD_ENOTFOUND. */
int tld_agents_get(struct tld_agents *r, unsigned id, struct tld_agent_info *out);
/* A copy of every record (caller frees *out). */
int tld_agents_list(struct tld_agents *r, struct tld_agent_info **out, unsigned *n);
/* Write agents-status.json (atomic rename). */
int tld_agents_save_status(struct tld_agents *r);

/* "001"-style id text (at least 3 digits). */
void tld_agents_id_text(unsigned id, char out[TLD_PROTO_MAX_ID]);
/* Parse id text ("001", "1234"); false on anything else. */
bool tld_agents_id_parse(const char *s, unsigned *id);
const char *tld_agents_status_str(enum tld_agent_status s);

#endif
