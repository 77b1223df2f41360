/*
 * `tld-agent --output FILE|-`: a spool consumer that writes every record as one JSON line
 * (tld_evrec_to_json) and acknowledges it. It stands in for the forwarder and is how the agent
 * is tested on its own.
 *
 * With a FILE the output is exactly-once across crashes: the file itself is the cursor. At
 * start the last complete line's "seq" says where to continue (a torn last line, from a crash
 * in the middle of a write, is cut off first), so records are neither repeated nor skipped
 * whatever the acknowledgement file says. With "-" (stdout) delivery is at-least-once: what
 * was written but not yet acknowledged when the agent died is written again.
 */
#ifndef TLD_AGENT_OUTPUT_H
#define TLD_AGENT_OUTPUT_H

#include <stdint.h>

#include "collect/spool.h"
#include "common/log.h"

struct tld_output;

struct tld_output_stats {
    uint64_t written;     /* records written since start */
    uint64_t last_seq;    /* last record written */
    uint64_t undecodable; /* records whose payload failed to decode (skipped, logged) */
};

int tld_output_new(struct tld_spool *spool, const char *path, struct tld_log *log,
                   struct tld_output **out);
void tld_output_free(struct tld_output *o);
/* Until the spool shuts down (tld_spool_shutdown) or a write fails. */
int tld_output_run(struct tld_output *o);
void tld_output_stats(struct tld_output *o, struct tld_output_stats *st);

#endif
