/*
 * Agent registry (see agents.h). Records are kept sorted by id in one array; every durable
 * change happens under the in-process mutex and the cross-process flock, on a registry that
 * was re-read first if the file changed underneath.
 */
#include "manager/agents.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fnmatch.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/fsutil.h"
#include "common/grow.h"
#include "common/str.h"
#include "common/tls.h"

struct tld_agents {
    pthread_mutex_t mu;
    char path[4200], lock_path[4200], status_path[4200], journal_path[4200];
    unsigned max;
    unsigned max_pending;     /* 0: no bound */
    struct tld_agent_info *v; /* sorted by id */
    unsigned n, cap;
    unsigned next_id;
    /* identity of the file as last read or written, to notice outside changes */
    dev_t dev;
    ino_t ino;
    struct timespec mtime;
    off_t size;
    /* the journal likewise; jvalid is where its last complete change ends (a torn tail left
     * by a crash is cut there before the next append) */
    ino_t jino;
    struct timespec jmtime;
    off_t jsize, jvalid;
    /* agents found removed (by another process) when the files were re-read, not yet handed
     * out by tld_agents_refresh() */
    unsigned *gone;
    unsigned ngone, gone_cap;
};

/* The journal is folded into the snapshot once it is this large and larger than the snapshot,
 * so a read costs at most about twice the snapshot. */
#define JOURNAL_COMPACT_MIN (256 * 1024)

void tld_agents_id_text(unsigned id, char out[TLD_PROTO_MAX_ID])
{
    snprintf(out, TLD_PROTO_MAX_ID, "%03u", id);
}

bool tld_agents_id_parse(const char *s, unsigned *id)
{
    size_t n = strlen(s);
    unsigned long long v;
    if (n < 3 || n > 9 || !tld_sv_to_u64(tld_sv_make(s, n), TLD_AGENT_ID_MAX, &v) || v == 0)
        return false;
    /* One spelling per id: "001" and "1000", never "0001". */
    char canon[TLD_PROTO_MAX_ID];
    tld_agents_id_text((unsigned)v, canon);
    if (strcmp(canon, s) != 0)
        return false;
    *id = (unsigned)v;
    return true;
}

const char *tld_agents_status_str(enum tld_agent_status s)
{
    switch (s) {
    case TLD_AGENT_NEVER:
        return "never_connected";
    case TLD_AGENT_ACTIVE:
        return "active";
    case TLD_AGENT_DISCONNECTED:
        return "disconnected";
    }
    return "unknown";
}

/* Bounded copy that always terminates (lengths are checked by the callers). */
static void copy_str(char *dst, size_t n, const char *src)
{
    size_t l = strnlen(src, n - 1);
    memcpy(dst, src, l);
    dst[l] = 0;
}

static struct tld_agent_info *find(struct tld_agents *r, unsigned id)
{
    unsigned lo = 0, hi = r->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (r->v[mid].id == id)
            return &r->v[mid];
        if (r->v[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int lock_file(struct tld_agents *r, int op)
{
    int fd = open(r->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    while (flock(fd, op) != 0) {
        if (errno != EINTR) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static void unlock_file(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

/* One record line: "<id> <name> <ip> <registered> <active|removed> <sha256> <removed>". */
static bool parse_record(const char *line, struct tld_agent_info *a)
{
    char ids[32], name[256], ip[128], state[16], fph[80], tail;
    long long reg, rem;
    if (sscanf(line, "%31s %255s %127s %lld %15s %79s %lld %c", ids, name, ip, &reg, state, fph,
               &rem, &tail) != 7)
        return false;
    memset(a, 0, sizeof *a);
    if (!tld_agents_id_parse(ids, &a->id) || !tld_proto_name_valid(tld_sv_of(name)) ||
        strlen(ip) >= sizeof a->reg_ip || !tld_sv_unhex(tld_sv_of(fph), a->fp, 32) ||
        (strcmp(state, "active") != 0 && strcmp(state, "removed") != 0))
        return false;
    copy_str(a->name, sizeof a->name, name);
    copy_str(a->reg_ip, sizeof a->reg_ip, ip);
    a->registered_s = reg;
    a->removed = strcmp(state, "removed") == 0;
    a->removed_s = rem;
    a->status = TLD_AGENT_NEVER;
    return true;
}

static void format_record(FILE *f, const struct tld_agent_info *a)
{
    char id[TLD_PROTO_MAX_ID], fp[65];
    tld_agents_id_text(a->id, id);
    tld_tls_hex(a->fp, fp);
    fprintf(f, "%s %s %s %lld %s %s %lld\n", id, a->name, a->reg_ip[0] ? a->reg_ip : "any",
            (long long)a->registered_s, a->removed ? "removed" : "active", fp,
            (long long)a->removed_s);
}

/* A record array being built from the snapshot and the journal. */
struct table {
    struct tld_agent_info *v; /* sorted by id */
    unsigned n, cap, next;
};

/* Insert or replace the record with a's id, keeping the array sorted. */
static int upsert(struct table *t, const struct tld_agent_info *a)
{
    unsigned lo = 0, hi = t->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (t->v[mid].id < a->id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n && t->v[lo].id == a->id) {
        t->v[lo] = *a;
        return 0;
    }
    if (tld_grow(&t->v, &t->cap, t->n + 1, sizeof *t->v, 64))
        return TLD_ENOMEM;
    memmove(&t->v[lo + 1], &t->v[lo], (t->n - lo) * sizeof *t->v);
    t->v[lo] = *a;
    t->n++;
    return 0;
}

/* Read one line without its newline; false at the end of the file. *complete says whether the
 * line ended with a newline (a last line without one is a torn write). */
static bool read_line(FILE *f, char *line, size_t n, bool *complete)
{
    if (!fgets(line, (int)n, f))
        return false;
    size_t l = strlen(line);
    *complete = l && line[l - 1] == '\n';
    if (*complete)
        line[--l] = 0;
    return true;
}

static bool parse_next(const char *line, unsigned *next)
{
    char tail;
    return sscanf(line, "next %u %c", next, &tail) == 1;
}

/* The snapshot `<var>/agents`: records in increasing id order. A missing file is empty. */
static int read_snapshot(struct tld_agents *r, struct table *t, char *why)
{
    FILE *f = fopen(r->path, "re");
    if (!f) {
        r->ino = 0;
        if (errno == ENOENT)
            return 0;
        snprintf(why, TLD_WHY_MAX, "%.160s: cannot read: %.60s", r->path, strerror(errno));
        return TLD_EIO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0) {
        r->dev = st.st_dev;
        r->ino = st.st_ino;
        r->mtime = st.st_mtim;
        r->size = st.st_size;
    }
    unsigned lineno = 0, format;
    char line[1024], tail;
    bool complete;
    int rc = 0;
    while (rc == 0 && read_line(f, line, sizeof line, &complete)) {
        lineno++;
        struct tld_agent_info a;
        if (sscanf(line, "# format %u %c", &format, &tail) == 1 && format > TLD_AGENTS_FORMAT) {
            rc = TLD_EFORMAT;
            break;
        }
        if (line[0] == 0 || line[0] == '#' || parse_next(line, &t->next))
            continue;
        if (!parse_record(line, &a) || (t->n && a.id <= t->v[t->n - 1].id))
            rc = TLD_ECORRUPT;
        else
            rc = upsert(t, &a);
    }
    if (rc == 0 && ferror(f))
        rc = TLD_EIO;
    fclose(f);
    if (rc == TLD_EFORMAT)
        snprintf(why, TLD_WHY_MAX, "%.180s:%u: format newer than %u: written by a newer release",
                 r->path, lineno, TLD_AGENTS_FORMAT);
    else if (rc)
        snprintf(why, TLD_WHY_MAX, "%.200s:%u: malformed agent record", r->path, lineno);
    return rc;
}

/*
 * Replay the journal `<var>/agents.journal` over the snapshot. It holds changes, each a group of
 * record lines (the record as it is now) and a `next` line closed by `commit`; only closed groups
 * count, so a change torn by a crash is as if it never began. Replaying a change the snapshot
 * already holds gives the same records (a crash between compaction's two steps is harmless).
 */
static int read_journal(struct tld_agents *r, struct table *t, char *why)
{
    r->jino = 0;
    r->jsize = r->jvalid = 0;
    FILE *f = fopen(r->journal_path, "re");
    if (!f) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, TLD_WHY_MAX, "%.160s: cannot read: %.60s", r->journal_path, strerror(errno));
        return TLD_EIO;
    }
    struct stat st;
    if (fstat(fileno(f), &st) == 0) {
        r->jino = st.st_ino;
        r->jmtime = st.st_mtim;
        r->jsize = st.st_size;
    }
    struct table group = {0};
    unsigned lineno = 0, next = 0;
    char line[1024];
    bool complete;
    int rc = 0;
    while (rc == 0 && read_line(f, line, sizeof line, &complete)) {
        lineno++;
        if (!complete)
            break; /* torn: the change it belonged to was never acknowledged */
        struct tld_agent_info a;
        if (strcmp(line, "commit") == 0) {
            for (unsigned i = 0; rc == 0 && i < group.n; i++)
                rc = upsert(t, &group.v[i]);
            if (next > t->next)
                t->next = next;
            group.n = 0;
            next = 0;
            r->jvalid = ftello(f);
        } else if (!parse_next(line, &next)) {
            rc = parse_record(line, &a) ? upsert(&group, &a) : TLD_ECORRUPT;
        }
    }
    if (rc == 0 && ferror(f))
        rc = TLD_EIO;
    fclose(f);
    free(group.v);
    if (rc)
        snprintf(why, TLD_WHY_MAX, "%.200s:%u: malformed agent record", r->journal_path, lineno);
    return rc;
}

/* Parse the snapshot and the journal into a fresh array. */
static int read_file(struct tld_agents *r, struct tld_agent_info **outv, unsigned *outn,
                     unsigned *next, char *why)
{
    struct table t = {.next = 1};
    int rc = read_snapshot(r, &t, why);
    if (rc == 0)
        rc = read_journal(r, &t, why);
    if (rc) {
        free(t.v);
        return rc;
    }
    if (t.n && t.next <= t.v[t.n - 1].id)
        t.next = t.v[t.n - 1].id + 1;
    *outv = t.v;
    *outn = t.n;
    *next = t.next;
    return 0;
}

static int reload_files(struct tld_agents *r, char *why);

/* Load the files, keeping the volatile status of agents already known and noting the agents
 * that were active and are removed now (whoever re-reads, tld_agents_refresh() reports them). */
static int reload(struct tld_agents *r, char *why)
{
    unsigned nact = 0;
    unsigned *act = malloc((r->n ? r->n : 1) * sizeof *act);
    if (!act)
        return TLD_ENOMEM;
    for (unsigned i = 0; i < r->n; i++)
        if (!r->v[i].removed)
            act[nact++] = r->v[i].id;
    int rc = reload_files(r, why);
    for (unsigned i = 0; rc == 0 && i < nact; i++) {
        const struct tld_agent_info *a = find(r, act[i]);
        if (a && !a->removed)
            continue;
        if (tld_grow(&r->gone, &r->gone_cap, r->ngone + 1, sizeof *r->gone, 16) == 0)
            r->gone[r->ngone++] = act[i];
    }
    free(act);
    return rc;
}

static int reload_files(struct tld_agents *r, char *why)
{
    struct tld_agent_info *v;
    unsigned n, next;
    int rc = read_file(r, &v, &n, &next, why);
    if (rc)
        return rc;
    for (unsigned i = 0; i < n; i++) {
        struct tld_agent_info *old = find(r, v[i].id);
        if (!old)
            continue;
        v[i].status = old->status;
        v[i].last_keepalive_s = old->last_keepalive_s;
        memcpy(v[i].peer_ip, old->peer_ip, sizeof v[i].peer_ip);
        memcpy(v[i].version, old->version, sizeof v[i].version);
        memcpy(v[i].os, old->os, sizeof v[i].os);
        memcpy(v[i].hostname, old->hostname, sizeof v[i].hostname);
        v[i].events = old->events;
    }
    free(r->v);
    r->v = v;
    r->n = r->cap = n;
    if (next > r->next_id || r->next_id == 0)
        r->next_id = next;
    return 0;
}

static bool changed_on_disk(struct tld_agents *r)
{
    struct stat st;
    if (stat(r->path, &st) != 0) {
        if (r->ino != 0)
            return true;
    } else if (st.st_ino != r->ino || st.st_dev != r->dev || st.st_size != r->size ||
               st.st_mtim.tv_sec != r->mtime.tv_sec || st.st_mtim.tv_nsec != r->mtime.tv_nsec) {
        return true;
    }
    if (stat(r->journal_path, &st) != 0)
        return r->jino != 0;
    return st.st_ino != r->jino || st.st_size != r->jsize ||
           st.st_mtim.tv_sec != r->jmtime.tv_sec || st.st_mtim.tv_nsec != r->jmtime.tv_nsec;
}

/* Rewrite the snapshot whole (atomic replace): the journal's changes are in it afterwards. */
static int write_file(struct tld_agents *r)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return TLD_ENOMEM;
    fprintf(f,
            "# ThreatLockDown agent registry; written by tld-manager, do not edit while it runs.\n"
            "# id name registration_ip registered_epoch state certificate_sha256 "
            "removed_epoch\n");
    /* A comment, so releases from before versions were kept still read the file. The journal
     * beside it has no line of its own: its records are the snapshot's, of the same version. */
    fprintf(f, "# format %u\n", TLD_AGENTS_FORMAT);
    fprintf(f, "next %u\n", r->next_id);
    for (unsigned i = 0; i < r->n; i++)
        format_record(f, &r->v[i]);
    int rc = fclose(f) == 0 ? tld_file_replace(r->path, text, len, 0640) : TLD_ENOMEM;
    free(text);
    if (rc)
        return rc;
    struct stat st;
    if (stat(r->path, &st) == 0) {
        r->dev = st.st_dev;
        r->ino = st.st_ino;
        r->mtime = st.st_mtim;
        r->size = st.st_size;
    }
    return 0;
}

static void note_journal(struct tld_agents *r, int fd)
{
    struct stat st;
    if (fstat(fd, &st) == 0) {
        r->jino = st.st_ino;
        r->jmtime = st.st_mtim;
        r->jsize = st.st_size;
    }
}

/* Fold the journal into the snapshot: snapshot first (replaying the journal over it changes
 * nothing), then the journal emptied. */
static int compact(struct tld_agents *r, int jfd)
{
    int rc = write_file(r);
    if (rc == 0 && (ftruncate(jfd, 0) != 0 || fdatasync(jfd) != 0))
        rc = TLD_EIO;
    if (rc == 0) {
        r->jvalid = 0;
        note_journal(r, jfd);
    }
    return rc;
}

/* Append one change (record lines, the next id, "commit") with one fdatasync: the change is
 * durable when this returns 0. A torn tail of an earlier crash is cut off first. */
static int journal_append(struct tld_agents *r, const struct tld_agent_info *const *recs,
                          unsigned n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return TLD_ENOMEM;
    for (unsigned i = 0; i < n; i++)
        format_record(f, recs[i]);
    fprintf(f, "next %u\ncommit\n", r->next_id);
    if (fclose(f) != 0) {
        free(text);
        return TLD_ENOMEM;
    }
    bool created = r->jino == 0;
    int fd = open(r->journal_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
    int rc = fd < 0 ? TLD_EIO : 0;
    if (rc == 0 && (ftruncate(fd, r->jvalid) != 0 || lseek(fd, r->jvalid, SEEK_SET) < 0))
        rc = TLD_EIO;
    if (rc == 0)
        rc = tld_write_all(fd, text, len);
    if (rc == 0 && fdatasync(fd) != 0)
        rc = TLD_EIO;
    if (rc == 0 && created)
        rc = tld_file_sync_dir(r->journal_path); /* the new file's name must survive too */
    free(text);
    if (rc != 0 && fd >= 0 && ftruncate(fd, r->jvalid) != 0)
        rc = TLD_EIO; /* a change that failed must not be read back as committed */
    if (rc == 0) {
        r->jvalid += (off_t)len;
        note_journal(r, fd);
        /* The change is durable already: a compaction that fails leaves a valid journal and
         * is tried again at the next change. */
        if (r->jvalid > JOURNAL_COMPACT_MIN && r->jvalid > r->size)
            (void)compact(r, fd);
    }
    if (fd >= 0)
        close(fd);
    return rc;
}

static void load_status(struct tld_agents *r)
{
    FILE *f = fopen(r->status_path, "re");
    if (!f)
        return;
    char *buf = malloc(1u << 24);
    size_t n = buf ? fread(buf, 1, (1u << 24) - 1, f) : 0;
    fclose(f);
    if (!buf)
        return;
    buf[n] = 0;
    cJSON *root = cJSON_Parse(buf);
    free(buf);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "agents");
    const cJSON *it;
    cJSON_ArrayForEach(it, arr)
    {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
        const cJSON *seen = cJSON_GetObjectItemCaseSensitive(it, "last_keepalive");
        unsigned aid;
        if (!cJSON_IsString(id) || !tld_agents_id_parse(id->valuestring, &aid) ||
            !cJSON_IsNumber(seen))
            continue;
        struct tld_agent_info *a = find(r, aid);
        if (!a || seen->valuedouble <= 0)
            continue;
        a->last_keepalive_s = (int64_t)seen->valuedouble;
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "status");
        bool active = cJSON_IsString(st) && strcmp(st->valuestring, "active") == 0;
        a->status = active ? TLD_AGENT_ACTIVE : TLD_AGENT_DISCONNECTED;
        const char *keys[] = {"version", "os", "hostname", "ip"};
        char *dst[] = {a->version, a->os, a->hostname, a->peer_ip};
        size_t sz[] = {sizeof a->version, sizeof a->os, sizeof a->hostname, sizeof a->peer_ip};
        for (int k = 0; k < 4; k++) {
            const cJSON *s = cJSON_GetObjectItemCaseSensitive(it, keys[k]);
            if (cJSON_IsString(s))
                copy_str(dst[k], sz[k], s->valuestring);
        }
    }
    cJSON_Delete(root);
}

int tld_agents_open(const char *var_dir, unsigned max_agents, struct tld_agents **out,
                    char why[TLD_WHY_MAX])
{
    return tld_agents_open_at(var_dir, var_dir, max_agents, out, why);
}

int tld_agents_open_at(const char *registry_dir, const char *status_dir, unsigned max_agents,
                       struct tld_agents **out, char why[TLD_WHY_MAX])
{
    *out = NULL;
    struct tld_agents *r = calloc(1, sizeof *r);
    if (!r)
        return TLD_ENOMEM;
    pthread_mutex_init(&r->mu, NULL);
    snprintf(r->path, sizeof r->path, "%s/agents", registry_dir);
    snprintf(r->lock_path, sizeof r->lock_path, "%s/agents.lock", registry_dir);
    snprintf(r->status_path, sizeof r->status_path, "%s/agents-status.json", status_dir);
    snprintf(r->journal_path, sizeof r->journal_path, "%s/agents.journal", registry_dir);
    r->max = max_agents ? max_agents : 1;
    r->next_id = 1;
    int lk = lock_file(r, LOCK_SH);
    int rc = reload(r, why);
    unlock_file(lk);
    if (rc) {
        tld_agents_close(r);
        return rc;
    }
    load_status(r);
    *out = r;
    return 0;
}

void tld_agents_set_pending_limit(struct tld_agents *r, unsigned max_pending)
{
    pthread_mutex_lock(&r->mu);
    r->max_pending = max_pending;
    pthread_mutex_unlock(&r->mu);
}

void tld_agents_reset_sessions(struct tld_agents *r)
{
    pthread_mutex_lock(&r->mu);
    for (unsigned i = 0; i < r->n; i++)
        if (r->v[i].status == TLD_AGENT_ACTIVE)
            r->v[i].status = TLD_AGENT_DISCONNECTED;
    pthread_mutex_unlock(&r->mu);
}

void tld_agents_close(struct tld_agents *r)
{
    if (!r)
        return;
    free(r->v);
    free(r->gone);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* Drop the oldest tombstones beyond the bound. */
static void trim_tombstones(struct tld_agents *r)
{
    unsigned dead = 0;
    for (unsigned i = 0; i < r->n; i++)
        dead += r->v[i].removed;
    unsigned j = 0;
    for (unsigned i = 0; i < r->n; i++) {
        if (r->v[i].removed && dead > r->max) {
            dead--;
            continue;
        }
        r->v[j++] = r->v[i];
    }
    r->n = j;
}

static int append(struct tld_agents *r, const struct tld_agent_info *a)
{
    if (tld_grow(&r->v, &r->cap, r->n + 1, sizeof *r->v, 64))
        return TLD_ENOMEM;
    r->v[r->n++] = *a; /* ids only grow, so the array stays sorted */
    return 0;
}

/* Start a change: both locks taken, the registry caught up with the file. 0, TLD_EIO (no file
 * lock) or the reload's error; end_change releases the locks in every case. */
/* Take the registry file's exclusive lock (r->mu held) and pick up what other processes wrote. */
static int lock_fresh(struct tld_agents *r, int *lk, char why[TLD_WHY_MAX])
{
    *lk = lock_file(r, LOCK_EX);
    int rc = *lk < 0 ? TLD_EIO : 0;
    if (rc == 0 && changed_on_disk(r))
        rc = reload(r, why);
    return rc;
}

static int begin_change(struct tld_agents *r, int *lk, char why[TLD_WHY_MAX])
{
    pthread_mutex_lock(&r->mu);
    return lock_fresh(r, lk, why);
}

static void end_change(struct tld_agents *r, int lk)
{
    unlock_file(lk);
    pthread_mutex_unlock(&r->mu);
}

int tld_agents_enroll(struct tld_agents *r, const char *name, const char *ip, bool force,
                      tld_agents_issue_fn issue, void *ctx, unsigned *id, unsigned *replaced)
{
    *replaced = 0;
    char why[TLD_WHY_MAX];
    int lk;
    int rc = begin_change(r, &lk, why);
    struct tld_agent_info *dup = NULL;
    unsigned active = 0, pending = 0;
    for (unsigned i = 0; rc == 0 && i < r->n; i++) {
        if (r->v[i].removed)
            continue;
        active++;
        pending += r->v[i].status == TLD_AGENT_NEVER;
        if (strcmp(r->v[i].name, name) == 0)
            dup = &r->v[i];
    }
    if (rc == 0 && dup && !force)
        rc = TLD_EEXIST;
    if (rc == 0 && !dup && active >= r->max)
        rc = TLD_ELIMIT;
    if (rc == 0 && !dup && r->max_pending && pending >= r->max_pending)
        rc = TLD_EAGAIN;
    if (rc == 0 && r->next_id > TLD_AGENT_ID_MAX)
        rc = TLD_ELIMIT;
    struct tld_agent_info a;
    memset(&a, 0, sizeof a);
    if (rc == 0) {
        a.id = r->next_id;
        copy_str(a.name, sizeof a.name, name);
        copy_str(a.reg_ip, sizeof a.reg_ip, ip && *ip ? ip : "any");
        a.registered_s = (int64_t)time(NULL);
        a.status = TLD_AGENT_NEVER;
        char idt[TLD_PROTO_MAX_ID];
        tld_agents_id_text(a.id, idt);
        rc = issue(ctx, idt, a.fp);
    }
    if (rc == 0) {
        if (dup) {
            dup->removed = true;
            dup->removed_s = a.registered_s;
            *replaced = dup->id;
        }
        r->next_id = a.id + 1;
        rc = append(r, &a);
        if (rc == 0) {
            /* dup pointed into the array append() may have moved */
            const struct tld_agent_info *recs[2] = {&r->v[r->n - 1],
                                                    *replaced ? find(r, *replaced) : NULL};
            rc = journal_append(r, recs, recs[1] ? 2 : 1);
            trim_tombstones(r);
        }
        if (rc) {
            /* Nothing was recorded: go back to what the file says. */
            *replaced = 0;
            reload(r, why);
        } else {
            *id = a.id;
        }
    }
    end_change(r, lk);
    return rc;
}

/* Mark ids removed under both locks; *k counts them. The caller holds r->mu. */
static int remove_locked(struct tld_agents *r, const unsigned *ids, unsigned n, unsigned *k)
{
    char why[TLD_WHY_MAX];
    *k = 0;
    int lk;
    int rc = lock_fresh(r, &lk, why);
    const struct tld_agent_info **recs = malloc((n ? n : 1) * sizeof *recs);
    if (rc == 0 && !recs)
        rc = TLD_ENOMEM;
    int64_t now = (int64_t)time(NULL);
    for (unsigned i = 0; rc == 0 && i < n; i++) {
        struct tld_agent_info *a = find(r, ids[i]);
        if (!a || a->removed)
            continue;
        a->removed = true;
        a->removed_s = now;
        recs[(*k)++] = a;
    }
    if (rc == 0 && *k) {
        rc = journal_append(r, recs, *k);
        trim_tombstones(r);
        if (rc) {
            *k = 0;
            reload(r, why);
        }
    }
    free(recs);
    unlock_file(lk);
    return rc;
}

int tld_agents_remove(struct tld_agents *r, unsigned id)
{
    unsigned k;
    pthread_mutex_lock(&r->mu);
    int rc = remove_locked(r, &id, 1, &k);
    pthread_mutex_unlock(&r->mu);
    return rc ? rc : k ? 0 : TLD_ENOTFOUND;
}

int tld_agents_remove_many(struct tld_agents *r, const unsigned *ids, unsigned n, unsigned *removed)
{
    unsigned k;
    pthread_mutex_lock(&r->mu);
    int rc = remove_locked(r, ids, n, &k);
    pthread_mutex_unlock(&r->mu);
    if (removed)
        *removed = k;
    return rc;
}

bool tld_agents_filter_match(const struct tld_agents_filter *f, const struct tld_agent_info *a,
                             int64_t now_s)
{
    if (a->removed)
        return false;
    if (f->name_glob && fnmatch(f->name_glob, a->name, 0) != 0)
        return false;
    if (f->status >= 0 && (int)a->status != f->status)
        return false;
    int64_t since = a->last_keepalive_s ? a->last_keepalive_s : a->registered_s;
    return !f->older_than_s || now_s - since > f->older_than_s;
}

int tld_agents_expire_pending(struct tld_agents *r, int64_t now_s, int64_t max_age_s, unsigned *ids,
                              unsigned max)
{
    struct tld_agents_filter f = {NULL, TLD_AGENT_NEVER, max_age_s};
    unsigned n = 0;
    pthread_mutex_lock(&r->mu);
    for (unsigned i = 0; i < r->n && n < max; i++)
        if (tld_agents_filter_match(&f, &r->v[i], now_s))
            ids[n++] = r->v[i].id;
    unsigned k = 0;
    int rc = n ? remove_locked(r, ids, n, &k) : 0;
    pthread_mutex_unlock(&r->mu);
    return rc ? rc : (int)k;
}

int tld_agents_check(struct tld_agents *r, const char *id_text, const uint8_t fp[32], unsigned *id)
{
    unsigned v;
    if (!tld_agents_id_parse(id_text, &v))
        return TLD_ENOTFOUND;
    pthread_mutex_lock(&r->mu);
    const struct tld_agent_info *a = find(r, v);
    if (!a && changed_on_disk(r)) {
        /* Enrolled a moment ago, maybe by another manager sharing the registry: catch up now
         * rather than at the next refresh, so a failing-over agent is not turned away. */
        char why[TLD_WHY_MAX];
        int lk = lock_file(r, LOCK_SH);
        if (reload(r, why) == 0)
            a = find(r, v);
        unlock_file(lk);
    }
    int rc = 0;
    if (!a)
        rc = TLD_ENOTFOUND;
    else if (a->removed)
        rc = TLD_EAUTH;
    else if (memcmp(a->fp, fp, 32) != 0)
        rc = TLD_EINVAL;
    pthread_mutex_unlock(&r->mu);
    if (rc == 0)
        *id = v;
    return rc;
}

int tld_agents_refresh(struct tld_agents *r, unsigned *removed, unsigned max)
{
    char why[TLD_WHY_MAX];
    pthread_mutex_lock(&r->mu);
    int rc = 0;
    if (changed_on_disk(r)) {
        int lk = lock_file(r, LOCK_SH);
        rc = reload(r, why);
        unlock_file(lk);
    }
    unsigned k = r->ngone < max ? r->ngone : max;
    if (k) {
        memcpy(removed, r->gone, k * sizeof *removed);
        memmove(r->gone, r->gone + k, (r->ngone - k) * sizeof *r->gone);
        r->ngone -= k;
    }
    pthread_mutex_unlock(&r->mu);
    return rc ? rc : (int)k;
}

static void copy_sv(char *dst, size_t n, struct tld_sv s)
{
    size_t l = s.n < n - 1 ? s.n : n - 1;
    for (size_t i = 0; i < l; i++) {
        unsigned char c = (unsigned char)s.p[i];
        dst[i] = c < 0x20 || c == 0x7f ? '?' : (char)c; /* status is shown, keep it printable */
    }
    dst[l] = 0;
}

void tld_agents_set_connected(struct tld_agents *r, unsigned id, const char *peer_ip,
                              const struct tld_msg_hello *hello, int64_t now_s)
{
    pthread_mutex_lock(&r->mu);
    struct tld_agent_info *a = find(r, id);
    if (a) {
        a->status = TLD_AGENT_ACTIVE;
        a->last_keepalive_s = now_s;
        copy_str(a->peer_ip, sizeof a->peer_ip, peer_ip);
        copy_sv(a->version, sizeof a->version, hello->version);
        copy_sv(a->os, sizeof a->os, hello->os);
        copy_sv(a->hostname, sizeof a->hostname, hello->hostname);
    }
    pthread_mutex_unlock(&r->mu);
}

void tld_agents_set_keepalive(struct tld_agents *r, unsigned id, const struct tld_msg_keepalive *ka,
                              int64_t now_s)
{
    pthread_mutex_lock(&r->mu);
    struct tld_agent_info *a = find(r, id);
    if (a) {
        a->status = TLD_AGENT_ACTIVE;
        a->last_keepalive_s = now_s;
        copy_sv(a->version, sizeof a->version, ka->version);
        copy_sv(a->os, sizeof a->os, ka->os);
        copy_sv(a->hostname, sizeof a->hostname, ka->hostname);
    }
    pthread_mutex_unlock(&r->mu);
}

void tld_agents_set_disconnected(struct tld_agents *r, unsigned id)
{
    pthread_mutex_lock(&r->mu);
    struct tld_agent_info *a = find(r, id);
    if (a && a->status == TLD_AGENT_ACTIVE)
        a->status = TLD_AGENT_DISCONNECTED;
    pthread_mutex_unlock(&r->mu);
}

void tld_agents_count_events(struct tld_agents *r, unsigned id, uint64_t n)
{
    pthread_mutex_lock(&r->mu);
    struct tld_agent_info *a = find(r, id);
    if (a)
        a->events += n;
    pthread_mutex_unlock(&r->mu);
}

unsigned tld_agents_expire(struct tld_agents *r, int64_t now_s, int64_t silence_s)
{
    unsigned k = 0;
    pthread_mutex_lock(&r->mu);
    for (unsigned i = 0; i < r->n; i++) {
        struct tld_agent_info *a = &r->v[i];
        if (a->status == TLD_AGENT_ACTIVE && now_s - a->last_keepalive_s > silence_s) {
            a->status = TLD_AGENT_DISCONNECTED;
            k++;
        }
    }
    pthread_mutex_unlock(&r->mu);
    return k;
}

int tld_agents_get(struct tld_agents *r, unsigned id, struct tld_agent_info *out)
{
    pthread_mutex_lock(&r->mu);
    const struct tld_agent_info *a = find(r, id);
    if (a)
        *out = *a;
    pthread_mutex_unlock(&r->mu);
    return a ? 0 : TLD_ENOTFOUND;
}

int tld_agents_list(struct tld_agents *r, struct tld_agent_info **out, unsigned *n)
{
    pthread_mutex_lock(&r->mu);
    *out = malloc((r->n ? r->n : 1) * sizeof **out);
    if (*out && r->n)
        memcpy(*out, r->v, r->n * sizeof **out);
    *n = *out ? r->n : 0;
    pthread_mutex_unlock(&r->mu);
    return *out ? 0 : TLD_ENOMEM;
}

int tld_agents_save_status(struct tld_agents *r)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "agents");
    pthread_mutex_lock(&r->mu);
    for (unsigned i = 0; i < r->n; i++) {
        const struct tld_agent_info *a = &r->v[i];
        if (a->removed)
            continue;
        char id[TLD_PROTO_MAX_ID];
        tld_agents_id_text(a->id, id);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", id);
        cJSON_AddStringToObject(o, "name", a->name);
        cJSON_AddStringToObject(o, "status", tld_agents_status_str(a->status));
        cJSON_AddNumberToObject(o, "last_keepalive", (double)a->last_keepalive_s);
        cJSON_AddStringToObject(o, "ip", a->peer_ip);
        cJSON_AddStringToObject(o, "registration_ip", a->reg_ip);
        cJSON_AddNumberToObject(o, "registered", (double)a->registered_s);
        cJSON_AddStringToObject(o, "version", a->version);
        cJSON_AddStringToObject(o, "os", a->os);
        cJSON_AddStringToObject(o, "hostname", a->hostname);
        cJSON_AddNumberToObject(o, "events", (double)a->events);
        cJSON_AddItemToArray(arr, o);
    }
    pthread_mutex_unlock(&r->mu);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return TLD_ENOMEM;
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        return TLD_ENOMEM;
    }
    line[n] = '\n';
    int rc = tld_file_replace(r->status_path, line, n + 1, 0640);
    free(line);
    return rc;
}
