/*
 * The API's side of the manager's control channel (docs/api.md, "Control channel"): one JSON
 * request line to <root>/var/run/tld-manager.ctl, one JSON reply line back, then the manager
 * closes. The API never acts on the manager's state itself; it asks over this socket, whose
 * peer check is the manager's own authorization.
 */
#ifndef TLD_API_CTL_CLIENT_H
#define TLD_API_CTL_CLIENT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "common/err.h"

#define TLD_CTL_TIMEOUT_MS 30000
#define TLD_CTL_MAX_LINE   (4u << 20)

/* ROOT/var/run/tld-manager.ctl into out (n bytes). */
void tld_ctl_path(const char *root, char *out, size_t n);

/*
 * Send `request` (one JSON object, no newline) to the socket at `path` and parse the reply
 * line into *out (the caller frees it with cJSON_Delete). Errors: TLD_ECLOSED when nobody
 * listens (the manager is not running), TLD_ETIMEOUT after timeout_ms, TLD_EPROTO for a reply
 * that is not one JSON object, TLD_EIO otherwise; why says which.
 */
int tld_ctl_call(const char *path, const char *request, int timeout_ms, cJSON **out,
                 char why[TLD_WHY_MAX]);

#endif
