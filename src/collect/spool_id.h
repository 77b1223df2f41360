/*
 * The stream id names one spool's sequence of records towards the manager: the manager
 * deduplicates by (stream id, sequence number), so the id lives with the spool it numbers.
 * Both the agent's forwarder and the manager's local agent 000 read it; a renewed id tells the
 * manager that sequence numbers start again (the spool was lost or reset).
 */
#ifndef TLD_COLLECT_SPOOL_ID_H
#define TLD_COLLECT_SPOOL_ID_H

#include <stdbool.h>
#include <stdint.h>

/* The stream id of spool_dir, created on first use (or when renew is set). */
int tld_spool_stream_id(const char *spool_dir, bool renew, uint64_t *id);

#endif
