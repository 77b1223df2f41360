/*
 * The API's users and what invalidates their tokens, kept in ROOT/etc/api/:
 *   users     one user a line: `name role hash not_before_ms` (hash: scrypt, common/pki.h;
 *             not_before_ms: tokens issued at or before it are refused, set by logout)
 *   revoked   one number: tokens of every user issued at or before it are refused (revoke-all)
 * Both files are rewritten atomically (mode 0600) and read again whenever they change on disk,
 * so a user deleted by the command line loses access at the next request.
 *
 * Roles: administrator (everything), analyst (alerts, ruleset, logtest; no user or ruleset
 * changes), readonly (reads only). The store is shared by the API's request threads: every call
 * takes its lock.
 */
#ifndef TLD_API_USERS_H
#define TLD_API_USERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "api/jwt.h"
#include "common/str.h"

enum tld_api_role {
    TLD_ROLE_ADMIN = 1u,
    TLD_ROLE_ANALYST = 2u,
    TLD_ROLE_READONLY = 4u,
};
#define TLD_ROLES_ALL (TLD_ROLE_ADMIN | TLD_ROLE_ANALYST | TLD_ROLE_READONLY)

#define TLD_API_USERS_MAX 1024

struct tld_api_user {
    char name[TLD_JWT_USER_MAX + 1];
    enum tld_api_role role;
    char hash[200];
    int64_t not_before_ms;
};

struct tld_api_users {
    pthread_mutex_t mu;
    char path[4200], revoked_path[4200];
    struct tld_api_user *v; /* owned */
    size_t n;
    int64_t revoke_all_ms;
    struct stat seen_users, seen_revoked; /* what was read; a change on disk means read again */
};

/* "administrator" -> TLD_ROLE_ADMIN; TLD_EINVAL for any other word. */
int tld_api_role_parse(const char *s, enum tld_api_role *out);
const char *tld_api_role_name(enum tld_api_role r);
/* Letters, digits, '_', '-', '.'; 1 to 64 bytes. */
bool tld_api_user_name_ok(const char *s);

/* Open the user store in dir (ROOT/etc/api, created 0700). A missing users file is empty. */
int tld_api_users_open(struct tld_api_users *u, const char *dir);
void tld_api_users_close(struct tld_api_users *u);

/*
 * First start: when there are no users, create `admin` (administrator) with a generated
 * password, written only to dir/admin.password (0600) and copied into pw (NUL-terminated).
 * *created says whether that happened.
 */
int tld_api_users_first_admin(struct tld_api_users *u, const char *dir, char pw[64], bool *created);

/* A copy of the named user; TLD_ENOTFOUND. */
int tld_api_users_get(struct tld_api_users *u, const char *name, struct tld_api_user *out);
/* Whether name/password match a user (TLD_EAUTH otherwise; the user copied on success). */
int tld_api_users_login(struct tld_api_users *u, const char *name, struct tld_sv password,
                        struct tld_api_user *out);
/* Whether a verified token is still good: its user exists and nothing revoked it. */
int tld_api_users_token_ok(struct tld_api_users *u, const struct tld_jwt_claims *c,
                           struct tld_api_user *out);
int tld_api_users_add(struct tld_api_users *u, const char *name, enum tld_api_role role,
                      struct tld_sv password);
int tld_api_users_delete(struct tld_api_users *u, const char *name);
/* Refuse the user's tokens issued up to now_ms (logout). */
int tld_api_users_revoke_user(struct tld_api_users *u, const char *name, int64_t now_ms);
/* Refuse every token issued up to now_ms. */
int tld_api_users_revoke_all(struct tld_api_users *u, int64_t now_ms);
/* Copies of up to max users (names and roles; hashes cleared); *n is how many. */
int tld_api_users_list(struct tld_api_users *u, struct tld_api_user *out, size_t max, size_t *n);

#endif
