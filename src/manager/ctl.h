/*
 * The manager's control channel (docs/PROTOCOL.md, "Control channel"): a Unix stream socket,
 * `<root>/var/run/tld-manager.ctl`, through which local tools (tld-api) ask the running manager
 * for a reload, its agents, an agent's removal or its status.
 *
 * This file is only the channel: the socket (mode 0660, a stale file replaced), who may talk
 * (SO_PEERCRED: root or the manager's own user), the framing (one JSON object on one line of at
 * most TLD_CTL_MAX_REQUEST bytes, one line back, then the manager closes), the bounds (at most
 * TLD_CTL_MAX_CLIENTS at once, TLD_CTL_READ_MS to send the request, TLD_CTL_WRITE_MS to take
 * the reply) and the refusals (not allowed, malformed, too large). What each op does is the
 * handler's business. It runs on its own thread, so nobody on the socket can slow analysis; a
 * handler that takes long (a reload) only delays the other clients of the channel.
 */
#ifndef TLD_MANAGER_CTL_H
#define TLD_MANAGER_CTL_H

#include <stdbool.h>

#include "common/err.h"
#include "common/log.h"
#include "common/str.h"

#define TLD_CTL_MAX_REQUEST (4u << 20)
#define TLD_CTL_MAX_REPLY   (256u << 20)
#define TLD_CTL_MAX_CLIENTS 32
#define TLD_CTL_READ_MS     10000
#define TLD_CTL_WRITE_MS    30000

/* Protocol error numbers (errno values, as the protocol has them). */
#define TLD_CTL_NOT_ALLOWED 13
#define TLD_CTL_INVALID     22
#define TLD_CTL_TOO_LARGE   7
#define TLD_CTL_BUSY        16

struct tld_ctl;

struct tld_ctl_opts {
    const char *path;
    struct tld_log *log;
    /* Answer one request: `req` is one JSON object whose "op" member is the string `op`.
     * Appends one JSON object (no newline) to reply. Runs on the channel's thread. */
    void (*handle)(void *ctx, const char *op, struct tld_sv req, struct tld_sb *reply);
    void *ctx;
};

/* Create the socket and start serving. TLD_EIO/TLD_EINVAL (path too long)/TLD_ENOMEM with why. */
int tld_ctl_start(const struct tld_ctl_opts *o, struct tld_ctl **out, char why[TLD_WHY_MAX]);
/* Stop serving, close every client and remove the socket file. NULL is a no-op. */
void tld_ctl_stop(struct tld_ctl *c);

/* Check that req is one JSON object with a non-empty string member "op", unescaped into op:
 * 0, or TLD_EPARSE with the reason the control protocol gives in why. */
int tld_ctl_parse(struct tld_sv req, struct tld_sb *op, const char **why);
/* The string member `key` of the request object, unescaped into out: false when the member is
 * absent or not a string. */
bool tld_ctl_member_str(struct tld_sv req, const char *key, struct tld_sb *out);
/* Append {"error":<error>,"message":<message>} to reply. */
void tld_ctl_reply_error(struct tld_sb *reply, int error, const char *message);
/* Append s as a JSON string (quotes included). */
void tld_ctl_json_str(struct tld_sb *reply, const char *s);

#endif
