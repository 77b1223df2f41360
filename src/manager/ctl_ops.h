/*
 * The operations of the manager's control channel (docs/PROTOCOL.md): a table from op name to
 * handler, the agent operations on the registry, and what is the manager's own business (a
 * reload, its status, what follows a removal) through callbacks into its main.
 */
#ifndef TLD_MANAGER_CTL_OPS_H
#define TLD_MANAGER_CTL_OPS_H

#include "common/str.h"
#include "manager/agents.h"

struct tld_ctl_ops {
    struct tld_agents *agents; /* borrowed */
    /* Run a reload and append its reply; may wait for it (the channel's thread only). */
    void (*reload)(void *mgr, struct tld_sb *reply);
    /* Append the status reply. */
    void (*status)(void *mgr, struct tld_sb *reply);
    /* Agent `id` was removed through the channel: close its connection, log, report. */
    void (*removed)(void *mgr, unsigned id);
    void *mgr;
};

/* The handler of struct tld_ctl_opts, with a struct tld_ctl_ops as ctx. */
void tld_ctl_ops_handle(void *ctx, const char *op, struct tld_sv req, struct tld_sb *reply);

#endif
