/*
 * The API's response bodies: Wazuh's envelope for lists and the error form, written straight
 * into the response buffer so a page of alerts is copied once.
 */
#include "api/api.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t tld_api_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tld_api_json_str(struct tld_sb *out, const char *s, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    tld_sb_append_char(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            tld_sb_append_char(out, '\\');
            tld_sb_append_char(out, (char)c);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hx[c >> 4], hx[c & 15]};
            tld_sb_append(out, e, 6);
        } else {
            tld_sb_append_char(out, (char)c);
        }
    }
    tld_sb_append_char(out, '"');
}

static const char *reason(unsigned status)
{
    switch (status) {
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Permission Denied";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 413:
        return "Request Entity Too Large";
    case 429:
        return "Too Many Requests";
    case 503:
        return "Service Unavailable";
    default:
        return "Internal Server Error";
    }
}

void tld_api_error(struct tld_api_req *r, unsigned status, const char *detail)
{
    tld_sb_reset(&r->out);
    r->status = status;
    r->ctype = "application/json";
    tld_sb_append_cstr(&r->out, "{\"title\":");
    const char *t = reason(status);
    tld_api_json_str(&r->out, t, strlen(t));
    tld_sb_append_cstr(&r->out, ",\"detail\":");
    tld_api_json_str(&r->out, detail, strlen(detail));
    tld_sb_printf(&r->out, ",\"error\":%u}", status);
}

void tld_api_env_begin(struct tld_api_env *e, struct tld_sb *out)
{
    e->out = out;
    e->nitems = 0;
    tld_sb_append_cstr(out, "{\"data\":{\"affected_items\":[");
}

void tld_api_env_next(struct tld_api_env *e)
{
    if (e->nitems++)
        tld_sb_append_char(e->out, ',');
}

void tld_api_env_end(struct tld_api_env *e, uint64_t total, const char *extra, const char *message)
{
    tld_sb_printf(e->out,
                  "],\"total_affected_items\":%llu,\"total_failed_items\":0,\"failed_items\":[]",
                  (unsigned long long)total);
    if (extra && *extra) {
        tld_sb_append_char(e->out, ',');
        tld_sb_append_cstr(e->out, extra);
    }
    tld_sb_append_cstr(e->out, "},\"message\":");
    tld_api_json_str(e->out, message, strlen(message));
    tld_sb_append_cstr(e->out, ",\"error\":0}");
}
