/*
 * The API's management routes: the ruleset (rules, decoders, CDB lists, their files and the
 * validated change of the user's own files), logtest, the agents and the manager's log, and
 * what they share: the manager's configuration read per request (so a change to manager.conf
 * shows at once), the control channel to the running manager, and the audit log of changes.
 */
#ifndef TLD_API_MGMT_H
#define TLD_API_MGMT_H

#include <cjson/cJSON.h>

#include "api/api.h"
#include "api/rsconf.h"

/* manager.conf's ruleset settings; on failure r is answered (500) and false returned. */
bool tld_api_rsconf_get(struct tld_api_req *r, struct tld_api_rsconf *out);

/*
 * The same and the files of one kind (*files owned by the caller); on failure r is answered
 * and false returned, with nothing left to free.
 */
bool tld_api_rs_files_get(struct tld_api_req *r, enum tld_api_rs_kind kind,
                          struct tld_api_rsconf *cfg, struct tld_api_rs_file **files, size_t *n);

/*
 * Ask the manager (one control operation). On a transport failure r is answered with 503 and a
 * message saying why (not running, no answer in time) and false is returned; otherwise *reply
 * is the manager's answer (the caller frees it), whatever its "error".
 */
bool tld_api_ctl_ask(struct tld_api_req *r, const char *request, cJSON **reply);

/* The first error of d (warnings skipped), or `dflt`. */
const char *tld_api_diag_error(const struct tld_diag *d, const char *dflt);

/* An error answer with `errors` (a JSON array, borrowed) beside its detail. */
void tld_api_error_list(struct tld_api_req *r, unsigned status, const char *detail,
                        const cJSON *errors);

/* One line "who did what" in ROOT/logs/api-audit.log (and the API log). */
void tld_api_audit(struct tld_api_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Refuse (400, r answered) any filter not among the route's `allowed` (NULL-terminated). */
bool tld_api_filters_only(struct tld_api_req *r, const char *const *allowed);

int tld_api_h_rules(struct tld_api_req *r);
int tld_api_h_rules_groups(struct tld_api_req *r);
int tld_api_h_rules_files(struct tld_api_req *r);
int tld_api_h_rules_file_get(struct tld_api_req *r);
int tld_api_h_rules_file_put(struct tld_api_req *r);
int tld_api_h_decoders(struct tld_api_req *r);
int tld_api_h_decoders_files(struct tld_api_req *r);
int tld_api_h_decoders_file_get(struct tld_api_req *r);
int tld_api_h_decoders_file_put(struct tld_api_req *r);
int tld_api_h_lists(struct tld_api_req *r);
int tld_api_h_logtest(struct tld_api_req *r);
int tld_api_h_logtest_end(struct tld_api_req *r);
int tld_api_h_agents(struct tld_api_req *r);
int tld_api_h_agents_summary(struct tld_api_req *r);
int tld_api_h_agents_delete(struct tld_api_req *r);
int tld_api_h_reload(struct tld_api_req *r);
int tld_api_h_manager_logs(struct tld_api_req *r);

#endif
