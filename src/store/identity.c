/* Reading an alert's event identity (see identity.h). */
#include "store/identity.h"

#include <stdio.h>
#include <string.h>

#define PREFIX "\"event\":{\"stream\":\""
#define MIDDLE "\",\"seq\":"

/*
 * The identity is the last member, so it is read from the end of the line: no JSON tree needed,
 * and a field of the same name elsewhere in the alert (a decoder's) is never taken for it.
 */
bool tld_event_key(struct tld_sv agent_id, struct tld_sv line, char out[TLD_EVENT_KEY_MAX])
{
    const size_t pre = sizeof(PREFIX) - 1, mid = sizeof(MIDDLE) - 1, hex = 16;
    if (!agent_id.p || !agent_id.n || agent_id.n > 16 || line.n < pre + hex + mid + 4)
        return false;
    const char *end = line.p + line.n;
    if (end[-1] != '}' || end[-2] != '}')
        return false;
    const char *d = end - 2; /* one past the seq's digits */
    const char *digits = d;
    while (digits > line.p && digits[-1] >= '0' && digits[-1] <= '9')
        digits--;
    size_t nd = (size_t)(d - digits);
    if (!nd || nd > 20 || (size_t)(digits - line.p) < pre + hex + mid + 1)
        return false;
    const char *stream = digits - mid - hex;
    if (memcmp(digits - mid, MIDDLE, mid) != 0 || memcmp(stream - pre, PREFIX, pre) != 0 ||
        stream[-pre - 1] != ',')
        return false;
    for (size_t i = 0; i < hex; i++)
        if (!((stream[i] >= '0' && stream[i] <= '9') || (stream[i] >= 'a' && stream[i] <= 'f')))
            return false;
    for (size_t i = 0; i < agent_id.n; i++)
        if (agent_id.p[i] == '/' || (unsigned char)agent_id.p[i] < 0x20)
            return false;
    snprintf(out, TLD_EVENT_KEY_MAX, "%.*s/%.16s/%.*s", (int)agent_id.n, agent_id.p, stream,
             (int)nd, digits);
    return true;
}
