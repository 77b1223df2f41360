/* GET /: what this API is, in Wazuh's shape (title, version, host, time). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "common/version.h"

int tld_api_h_root(struct tld_api_req *r)
{
    int64_t now = tld_api_now_ms();
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    char ts[40];
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    r->status = 200;
    tld_sb_printf(&r->out,
                  "{\"data\":{\"title\":\"ThreatLockDown API\",\"api_version\":\"%s\","
                  "\"hostname\":",
                  TLD_VERSION);
    tld_api_json_str(&r->out, r->api->hostname, strlen(r->api->hostname));
    tld_sb_printf(&r->out, ",\"timestamp\":\"%s\"},\"message\":\"\",\"error\":0}", ts);
    return 0;
}
