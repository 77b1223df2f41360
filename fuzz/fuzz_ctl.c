/*
 * libFuzzer harness for the manager's control channel requests (manager/ctl.h): the input is
 * one request line. Beyond not crashing: a request accepted has a non-empty op, and its "op"
 * is found again by the member reader; every reply the channel builds from a request (the
 * refusal, or the error for an unknown op, which echoes the op) is one well-formed JSON object.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/jscan.h"
#include "manager/ctl.h"

static void check_one_object(const struct tld_sb *reply)
{
    struct tld_jscan j = tld_jscan_of(tld_sb_view(reply));
    if (tld_jscan_peek(&j) != '{' || !tld_jscan_skip(&j) || !tld_jscan_done(&j))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tld_sv req = tld_sv_make((const char *)data, size);
    struct tld_sb op, again, reply;
    tld_sb_init(&op, 256);
    tld_sb_init(&again, 256);
    tld_sb_init(&reply, 1 << 16);
    const char *why = NULL;
    if (tld_ctl_parse(req, &op, &why) == 0) {
        if (!op.n || !tld_ctl_member_str(req, "op", &again) || again.n != op.n ||
            memcmp(again.p, op.p, op.n) != 0)
            abort();
        char msg[160];
        snprintf(msg, sizeof msg, "unknown op '%.100s'", tld_sb_cstr(&op));
        tld_ctl_reply_error(&reply, 22, msg);
    } else {
        if (!why)
            abort();
        tld_ctl_reply_error(&reply, 22, why);
    }
    check_one_object(&reply);
    tld_sb_fini(&op);
    tld_sb_fini(&again);
    tld_sb_fini(&reply);
    return 0;
}
