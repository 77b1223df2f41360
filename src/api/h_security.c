/*
 * The security routes: log in with HTTP Basic for a token, log out (the caller's tokens
 * revoked), revoke every token, who am I, the user list. Every change is written to the log.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>

#include "api/api.h"
#include "api/mgmt.h"

/* "Basic <base64 of user:password>" -> user and password (bounded). */
static bool basic_credentials(const char *h, char user[TLD_JWT_USER_MAX + 1], char *pw, size_t pw_n)
{
    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return false;
    const char *b = h + 6;
    size_t n = strlen(b);
    if (n == 0 || n % 4 || n > 1024)
        return false;
    unsigned char dec[800];
    int len = EVP_DecodeBlock(dec, (const unsigned char *)b, (int)n);
    if (len < 0)
        return false;
    len -= (b[n - 1] == '=') + (b[n - 2] == '=');
    dec[len] = 0;
    const char *colon = memchr(dec, ':', (size_t)len);
    if (!colon || memchr(dec, 0, (size_t)len))
        return false;
    size_t un = (size_t)(colon - (const char *)dec), pn = (size_t)len - un - 1;
    if (un == 0 || un > TLD_JWT_USER_MAX || pn >= pw_n)
        return false;
    memcpy(user, dec, un);
    user[un] = 0;
    memcpy(pw, colon + 1, pn);
    pw[pn] = 0;
    OPENSSL_cleanse(dec, sizeof dec);
    return true;
}

static void retry_after(struct tld_api_req *r, int64_t secs)
{
    snprintf(r->header_name, sizeof r->header_name, "Retry-After");
    snprintf(r->header_value, sizeof r->header_value, "%lld", (long long)secs);
}

/*
 * The caller of a login is the user name it gave: the audit line names it, with anything but
 * printable ASCII (spaces included) shown as '?', so a made-up name cannot forge a line.
 */
static void login_caller(struct tld_api_req *r, const char *user)
{
    size_t n = strlen(user);
    for (size_t i = 0; i < n && i < sizeof r->user.name - 1; i++)
        r->user.name[i] = user[i] > ' ' && user[i] < 0x7f ? user[i] : '?';
    r->user.name[n < sizeof r->user.name - 1 ? n : sizeof r->user.name - 1] = 0;
}

int tld_api_h_login(struct tld_api_req *r)
{
    struct tld_api *a = r->api;
    char user[TLD_JWT_USER_MAX + 1], pw[256];
    int64_t now = tld_api_now_ms(), wait;
    if (!basic_credentials(r->authorization, user, pw, sizeof pw)) {
        snprintf(r->header_name, sizeof r->header_name, "WWW-Authenticate");
        snprintf(r->header_value, sizeof r->header_value, "Basic realm=\"threatlockdown\"");
        tld_api_error(r, 401, "HTTP Basic credentials required");
        return 0;
    }
    if (tld_throttle_locked(&a->throttle, "addr", r->addr, now, &wait) ||
        tld_throttle_locked(&a->throttle, "user", user, now, &wait)) {
        OPENSSL_cleanse(pw, sizeof pw);
        retry_after(r, wait);
        tld_api_error(r, 429, "too many failed logins; try again later");
        login_caller(r, user);
        tld_api_audit(r, "login refused: locked out after failed logins");
        return 0;
    }
    struct tld_api_user u;
    int rc = tld_api_users_login(&a->users, user, tld_sv_of(pw), &u);
    OPENSSL_cleanse(pw, sizeof pw);
    if (rc) {
        tld_throttle_fail(&a->throttle, "addr", r->addr, now);
        tld_throttle_fail(&a->throttle, "user", user, now);
        login_caller(r, user);
        tld_log_warn(a->log, "login refused for '%s' from %s", r->user.name, r->addr);
        tld_api_audit(r, "login refused: unknown user or wrong password");
        tld_api_error(r, 401, "invalid credentials");
        return 0;
    }
    tld_throttle_clear(&a->throttle, "user", user);
    struct tld_jwt_claims c;
    memset(&c, 0, sizeof c);
    snprintf(c.sub, sizeof c.sub, "%s", u.name);
    snprintf(c.role, sizeof c.role, "%s", tld_api_role_name(u.role));
    c.iat_ms = now > u.not_before_ms ? now : u.not_before_ms + 1;
    c.exp_s = now / 1000 + a->cfg->token_s;
    struct tld_sb tok;
    tld_sb_init(&tok, TLD_JWT_MAX);
    rc = tld_jwt_sign(a->jwt_key, &c, &tok);
    if (rc == 0) {
        r->status = 200;
        tld_sb_append_cstr(&r->out, "{\"data\":{\"token\":");
        tld_api_json_str(&r->out, tok.p, tok.n);
        tld_sb_printf(&r->out, ",\"expires_in\":%lld},\"message\":\"token issued\",\"error\":0}",
                      (long long)a->cfg->token_s);
        login_caller(r, u.name);
        tld_api_audit(r, "login: token issued (%s, %lld s)", c.role, (long long)a->cfg->token_s);
    }
    tld_sb_fini(&tok);
    return rc;
}

static void done(struct tld_api_req *r, const char *message)
{
    struct tld_api_env e;
    r->status = 200;
    tld_api_env_begin(&e, &r->out);
    tld_api_env_end(&e, 0, NULL, message);
}

int tld_api_h_logout(struct tld_api_req *r)
{
    int rc = tld_api_users_revoke_user(&r->api->users, r->user.name, tld_api_now_ms());
    if (rc)
        return rc;
    tld_api_audit(r, "logout: the user's tokens revoked");
    done(r, "the user's tokens were revoked");
    return 0;
}

int tld_api_h_revoke(struct tld_api_req *r)
{
    int rc = tld_api_users_revoke_all(&r->api->users, tld_api_now_ms());
    if (rc)
        return rc;
    tld_api_audit(r, "revoke-all: every user's tokens revoked");
    done(r, "every token was revoked");
    return 0;
}

static void user_item(struct tld_sb *out, const struct tld_api_user *u)
{
    tld_sb_append_cstr(out, "{\"username\":");
    tld_api_json_str(out, u->name, strlen(u->name));
    tld_sb_printf(out, ",\"roles\":[\"%s\"]}", tld_api_role_name(u->role));
}

int tld_api_h_me(struct tld_api_req *r)
{
    struct tld_api_env e;
    r->status = 200;
    tld_api_env_begin(&e, &r->out);
    tld_api_env_next(&e);
    user_item(&r->out, &r->user);
    tld_api_env_end(&e, 1, NULL, "the current user");
    return 0;
}

int tld_api_h_users(struct tld_api_req *r)
{
    size_t n = 0;
    struct tld_api_user *v = calloc(TLD_API_USERS_MAX, sizeof *v);
    if (!v)
        return TLD_ENOMEM;
    int rc = tld_api_users_list(&r->api->users, v, TLD_API_USERS_MAX, &n);
    if (rc == 0) {
        struct tld_api_env e;
        r->status = 200;
        tld_api_env_begin(&e, &r->out);
        for (size_t i = 0; i < n; i++) {
            tld_api_env_next(&e);
            user_item(&r->out, &v[i]);
        }
        tld_api_env_end(&e, n, NULL, "users");
    }
    free(v);
    return rc;
}
