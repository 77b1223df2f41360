/*
 * The API's user file and revocation times (users.h): parsing, atomic rewrites, and reading
 * again when another process (the command line) changed them.
 */
#include "api/users.h"

#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "common/pki.h"

static const char *const ROLE_NAMES[] = {"administrator", "analyst", "readonly"};

int tld_api_role_parse(const char *s, enum tld_api_role *out)
{
    for (unsigned i = 0; i < 3; i++) {
        if (strcmp(s, ROLE_NAMES[i]) == 0) {
            *out = (enum tld_api_role)(1u << i);
            return 0;
        }
    }
    return TLD_EINVAL;
}

const char *tld_api_role_name(enum tld_api_role r)
{
    return r == TLD_ROLE_ADMIN     ? ROLE_NAMES[0]
           : r == TLD_ROLE_ANALYST ? ROLE_NAMES[1]
                                   : ROLE_NAMES[2];
}

bool tld_api_user_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TLD_JWT_USER_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static int parse_line(char *line, struct tld_api_user *u)
{
    char name[128], role[32], hash[200];
    long long nbf;
    int used = 0;
    if (sscanf(line, "%127s %31s %199s %lld %n", name, role, hash, &nbf, &used) != 4 ||
        line[used] != 0)
        return TLD_EPARSE;
    if (!tld_api_user_name_ok(name) || tld_api_role_parse(role, &u->role) != 0 ||
        !tld_pki_password_is_hash(hash))
        return TLD_EPARSE;
    memcpy(u->name, name, strlen(name) + 1); /* checked: at most 64 bytes */
    memcpy(u->hash, hash, strlen(hash) + 1);
    u->not_before_ms = nbf;
    return 0;
}

/* Read the users file again (lock held). A line that does not parse is left out. */
static int load_users(struct tld_api_users *u, const struct stat *st)
{
    FILE *f = fopen(u->path, "r");
    if (!f) {
        if (errno != ENOENT)
            return TLD_EIO;
        u->n = 0;
        memset(&u->seen_users, 0, sizeof u->seen_users);
        return 0;
    }
    size_t n = 0;
    char line[512];
    while (n < TLD_API_USERS_MAX && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        if (line[0] == '#' || line[0] == 0)
            continue;
        if (parse_line(line, &u->v[n]) == 0)
            n++;
    }
    fclose(f);
    u->n = n;
    u->seen_users = *st;
    return 0;
}

static int load_revoked(struct tld_api_users *u, const struct stat *st)
{
    FILE *f = fopen(u->revoked_path, "r");
    long long v = 0;
    if (f) {
        if (fscanf(f, "%lld", &v) != 1)
            v = 0;
        fclose(f);
        u->seen_revoked = *st;
    } else {
        memset(&u->seen_revoked, 0, sizeof u->seen_revoked);
    }
    u->revoke_all_ms = v;
    return 0;
}

/* Read what changed on disk since last time (lock held). */
static int refresh(struct tld_api_users *u)
{
    struct stat st;
    memset(&st, 0, sizeof st);
    if (stat(u->path, &st) != 0 || !same_file(&st, &u->seen_users)) {
        int rc = load_users(u, &st);
        if (rc)
            return rc;
    }
    memset(&st, 0, sizeof st);
    if (stat(u->revoked_path, &st) != 0 || !same_file(&st, &u->seen_revoked))
        load_revoked(u, &st);
    return 0;
}

/* Write the users file from memory (lock held). */
static int save_users(struct tld_api_users *u)
{
    struct tld_sb sb;
    tld_sb_init(&sb, 1u << 20);
    tld_sb_append_cstr(&sb, "# name role hash not_before_ms (tld-api; edit with `tld-api user`)\n");
    for (size_t i = 0; i < u->n; i++)
        tld_sb_printf(&sb, "%s %s %s %lld\n", u->v[i].name, tld_api_role_name(u->v[i].role),
                      u->v[i].hash, (long long)u->v[i].not_before_ms);
    int rc = sb.oom || sb.truncated ? TLD_ENOMEM : tld_file_replace(u->path, sb.p, sb.n, 0600);
    tld_sb_fini(&sb);
    if (rc == 0)
        stat(u->path, &u->seen_users);
    return rc;
}

int tld_api_users_open(struct tld_api_users *u, const char *dir)
{
    memset(u, 0, sizeof *u);
    if (tld_mkdir_p(dir, 0700) != 0)
        return TLD_EIO;
    snprintf(u->path, sizeof u->path, "%s/users", dir);
    snprintf(u->revoked_path, sizeof u->revoked_path, "%s/revoked", dir);
    u->v = calloc(TLD_API_USERS_MAX, sizeof *u->v);
    if (!u->v)
        return TLD_ENOMEM;
    pthread_mutex_init(&u->mu, NULL);
    int rc = refresh(u);
    if (rc)
        tld_api_users_close(u);
    return rc;
}

void tld_api_users_close(struct tld_api_users *u)
{
    if (!u->v)
        return;
    pthread_mutex_destroy(&u->mu);
    free(u->v);
    u->v = NULL;
}

static struct tld_api_user *find(struct tld_api_users *u, const char *name)
{
    for (size_t i = 0; i < u->n; i++)
        if (strcmp(u->v[i].name, name) == 0)
            return &u->v[i];
    return NULL;
}

static void random_password(char pw[64])
{
    static const char A[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    uint8_t r[24];
    if (RAND_bytes(r, sizeof r) != 1)
        abort(); /* no randomness: nothing safe to generate */
    for (size_t i = 0; i < sizeof r; i++)
        pw[i] = A[r[i] % (sizeof A - 1)];
    pw[sizeof r] = 0;
}

int tld_api_users_first_admin(struct tld_api_users *u, const char *dir, char pw[64], bool *created)
{
    *created = false;
    pthread_mutex_lock(&u->mu);
    int rc = refresh(u);
    bool empty = rc == 0 && u->n == 0;
    pthread_mutex_unlock(&u->mu);
    if (!empty)
        return rc;
    random_password(pw);
    char path[4300];
    snprintf(path, sizeof path, "%s/admin.password", dir);
    size_t n = strlen(pw);
    pw[n] = '\n';
    rc = tld_file_replace(path, pw, n + 1, 0600);
    pw[n] = 0;
    if (rc == 0)
        rc = tld_api_users_add(u, "admin", TLD_ROLE_ADMIN, tld_sv_of(pw));
    *created = rc == 0;
    return rc;
}

int tld_api_users_get(struct tld_api_users *u, const char *name, struct tld_api_user *out)
{
    pthread_mutex_lock(&u->mu);
    int rc = refresh(u);
    struct tld_api_user *p = rc == 0 ? find(u, name) : NULL;
    if (p)
        *out = *p;
    pthread_mutex_unlock(&u->mu);
    return rc ? rc : p ? 0 : TLD_ENOTFOUND;
}

int tld_api_users_login(struct tld_api_users *u, const char *name, struct tld_sv password,
                        struct tld_api_user *out)
{
    struct tld_api_user cur;
    /* A missing user costs one hash too, so timing does not tell names apart. */
    static const char DUMMY[] = "$scrypt$N=16384,r=8,p=1$00000000000000000000000000000000$"
                                "0000000000000000000000000000000000000000000000000000000000000000";
    bool have = tld_api_users_get(u, name, &cur) == 0;
    bool ok = tld_pki_password_check(have ? cur.hash : DUMMY, password) && have;
    if (!ok)
        return TLD_EAUTH;
    *out = cur;
    return 0;
}

int tld_api_users_token_ok(struct tld_api_users *u, const struct tld_jwt_claims *c,
                           struct tld_api_user *out)
{
    pthread_mutex_lock(&u->mu);
    int rc = refresh(u);
    struct tld_api_user *p = rc == 0 ? find(u, c->sub) : NULL;
    bool ok = p && c->iat_ms > p->not_before_ms && c->iat_ms > u->revoke_all_ms;
    if (ok)
        *out = *p;
    pthread_mutex_unlock(&u->mu);
    return rc ? rc : ok ? 0 : TLD_EAUTH;
}

int tld_api_users_add(struct tld_api_users *u, const char *name, enum tld_api_role role,
                      struct tld_sv password)
{
    if (!tld_api_user_name_ok(name) || password.n < 8)
        return TLD_EINVAL;
    char hash[200];
    int rc = tld_pki_password_hash(password, hash);
    if (rc)
        return rc;
    pthread_mutex_lock(&u->mu);
    rc = refresh(u);
    struct tld_api_user *p = rc == 0 ? find(u, name) : NULL;
    if (rc == 0 && !p) {
        if (u->n >= TLD_API_USERS_MAX)
            rc = TLD_ELIMIT;
        else
            p = &u->v[u->n++];
    }
    if (rc == 0) {
        snprintf(p->name, sizeof p->name, "%s", name);
        snprintf(p->hash, sizeof p->hash, "%s", hash);
        p->role = role;
        rc = save_users(u);
    }
    pthread_mutex_unlock(&u->mu);
    return rc;
}

/* Under the lock, with the file read again: change the named user, then save. */
static int change_user(struct tld_api_users *u, const char *name,
                       void (*change)(struct tld_api_users *, struct tld_api_user *, int64_t),
                       int64_t arg)
{
    pthread_mutex_lock(&u->mu);
    int rc = refresh(u);
    struct tld_api_user *p = rc == 0 ? find(u, name) : NULL;
    if (rc == 0 && !p)
        rc = TLD_ENOTFOUND;
    if (rc == 0) {
        change(u, p, arg);
        rc = save_users(u);
    }
    pthread_mutex_unlock(&u->mu);
    return rc;
}

static void remove_user(struct tld_api_users *u, struct tld_api_user *p, int64_t unused)
{
    (void)unused;
    *p = u->v[--u->n];
}

static void set_not_before(struct tld_api_users *u, struct tld_api_user *p, int64_t ms)
{
    (void)u;
    p->not_before_ms = ms;
}

int tld_api_users_delete(struct tld_api_users *u, const char *name)
{
    return change_user(u, name, remove_user, 0);
}

int tld_api_users_revoke_user(struct tld_api_users *u, const char *name, int64_t now_ms)
{
    return change_user(u, name, set_not_before, now_ms);
}

int tld_api_users_revoke_all(struct tld_api_users *u, int64_t now_ms)
{
    char text[32];
    int n = snprintf(text, sizeof text, "%lld\n", (long long)now_ms);
    pthread_mutex_lock(&u->mu);
    int rc = tld_file_replace(u->revoked_path, text, (size_t)n, 0600);
    if (rc == 0) {
        u->revoke_all_ms = now_ms;
        stat(u->revoked_path, &u->seen_revoked);
    }
    pthread_mutex_unlock(&u->mu);
    return rc;
}

int tld_api_users_list(struct tld_api_users *u, struct tld_api_user *out, size_t max, size_t *n)
{
    pthread_mutex_lock(&u->mu);
    int rc = refresh(u);
    size_t k = 0;
    for (size_t i = 0; rc == 0 && i < u->n && k < max; i++) {
        out[k] = u->v[i];
        out[k++].hash[0] = 0;
    }
    pthread_mutex_unlock(&u->mu);
    *n = k;
    return rc;
}
