/* Control operations (see ctl_ops.h); the replies are the shapes of docs/PROTOCOL.md. */
#include "manager/ctl_ops.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/ctl.h"

static void op_reload(struct tld_ctl_ops *o, struct tld_sv req, struct tld_sb *reply)
{
    o->reload(o->mgr, reply);
}

static void op_status(struct tld_ctl_ops *o, struct tld_sv req, struct tld_sb *reply)
{
    o->status(o->mgr, reply);
}

/* One agent of the "agents" reply. */
static void agent_json(const struct tld_agent_info *a, struct tld_sb *reply)
{
    char id[TLD_PROTO_MAX_ID];
    tld_agents_id_text(a->id, id);
    tld_sb_append_cstr(reply, "{\"id\":");
    tld_ctl_json_str(reply, id);
    tld_sb_append_cstr(reply, ",\"name\":");
    tld_ctl_json_str(reply, a->name);
    /* Where it connects from once it has; until then where it enrolled from. */
    tld_sb_append_cstr(reply, ",\"ip\":");
    tld_ctl_json_str(reply, a->peer_ip[0] ? a->peer_ip : a->reg_ip);
    tld_sb_append_cstr(reply, ",\"register_ip\":");
    tld_ctl_json_str(reply, a->reg_ip);
    tld_sb_append_cstr(reply, ",\"status\":");
    tld_ctl_json_str(reply, tld_agents_status_str(a->status));
    tld_sb_printf(reply, ",\"date_add\":%" PRId64 ",\"last_keepalive\":%" PRId64 ",\"version\":",
                  a->registered_s, a->last_keepalive_s);
    tld_ctl_json_str(reply, a->version);
    tld_sb_append_cstr(reply, ",\"os\":");
    tld_ctl_json_str(reply, a->os);
    tld_sb_append_cstr(reply, ",\"hostname\":");
    tld_ctl_json_str(reply, a->hostname);
    tld_sb_printf(reply, ",\"events\":%" PRIu64 "}", a->events);
}

static void op_agents(struct tld_ctl_ops *o, struct tld_sv req, struct tld_sb *reply)
{
    struct tld_agent_info *v;
    unsigned n;
    if (tld_agents_list(o->agents, &v, &n) != 0) {
        tld_ctl_reply_error(reply, 12, "out of memory");
        return;
    }
    tld_sb_append_cstr(reply, "{\"error\":0,\"agents\":[");
    bool first = true;
    for (unsigned i = 0; i < n; i++) {
        if (v[i].removed)
            continue;
        if (!first)
            tld_sb_append_char(reply, ',');
        first = false;
        agent_json(&v[i], reply);
    }
    tld_sb_append_cstr(reply, "]}");
    free(v);
}

static void op_agent_remove(struct tld_ctl_ops *o, struct tld_sv req, struct tld_sb *reply)
{
    struct tld_sb given;
    tld_sb_init(&given, TLD_PROTO_MAX_ID);
    unsigned id;
    struct tld_agent_info a;
    char msg[128];
    if (!tld_ctl_member_str(req, "id", &given) || !given.n) {
        tld_ctl_reply_error(reply, TLD_CTL_INVALID, "agent_remove needs an agent \"id\" (\"001\")");
    } else if (given.truncated || !tld_agents_id_parse(tld_sb_cstr(&given), &id) ||
               tld_agents_get(o->agents, id, &a) != 0 || a.removed) {
        snprintf(msg, sizeof msg, "no agent %.40s", tld_sb_cstr(&given));
        tld_ctl_reply_error(reply, 2, msg);
    } else {
        char text[TLD_PROTO_MAX_ID];
        tld_agents_id_text(id, text);
        int rc = tld_agents_remove(o->agents, id);
        if (rc == TLD_ENOTFOUND) { /* removed meanwhile */
            snprintf(msg, sizeof msg, "no agent %s", text);
            tld_ctl_reply_error(reply, 2, msg);
        } else if (rc) {
            snprintf(msg, sizeof msg, "agent %s: the registry could not be written (%s)", text,
                     tld_err_str(rc));
            tld_ctl_reply_error(reply, 5, msg);
        } else {
            o->removed(o->mgr, id);
            snprintf(msg, sizeof msg, "agent %s removed", text);
            tld_ctl_reply_error(reply, 0, msg);
        }
    }
    tld_sb_fini(&given);
}

static const struct {
    const char *name;
    void (*fn)(struct tld_ctl_ops *o, struct tld_sv req, struct tld_sb *reply);
} ops[] = {
    {"reload", op_reload},
    {"agents", op_agents},
    {"agent_remove", op_agent_remove},
    {"status", op_status},
};

void tld_ctl_ops_handle(void *ctx, const char *op, struct tld_sv req, struct tld_sb *reply)
{
    for (size_t i = 0; i < sizeof ops / sizeof *ops; i++) {
        if (strcmp(ops[i].name, op) == 0) {
            ops[i].fn(ctx, req, reply);
            return;
        }
    }
    char msg[160];
    snprintf(msg, sizeof msg, "unknown op '%.100s'", op);
    tld_ctl_reply_error(reply, TLD_CTL_INVALID, msg);
}
