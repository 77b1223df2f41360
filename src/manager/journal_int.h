/*
 * What the journal's tests need beyond journal.h: the frame log settings the journal runs its
 * segments with, so the frame log's tests exercise exactly those.
 */
#ifndef TLD_MANAGER_JOURNAL_INT_H
#define TLD_MANAGER_JOURNAL_INT_H

#include "common/framelog.h"

extern const struct tld_framelog_params tld_journal_log_params;

#endif
