/*
 * Docker listener, writer side (see listener.h): everything that may wait (the spool, inspect
 * and list requests) happens here, never in the reader.
 *
 * The checkpoint file (cursor_file):
 *   {"version":1,"spool_seq":"N","cursor_ns":"N","last_hash":"hex",
 *    "recent":[["ns","hash hex"],...],"known":[{"id":..,"name":..,"image":..,"state":..}],
 *    "known_valid":true}
 * It is written after the spool is synced; records after spool_seq are replayed from the spool
 * at start (their DOCKER_CURSOR field and docker object), so it may lag without harm.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collect/ckpt.h"
#include "collect/docker/bound.h"
#include "collect/docker/cinfo.h"
#include "collect/docker/lint.h"
#include "common/err.h"
#include "common/fsutil.h"

#define PREFIX         "{\"integration\":\"docker\",\"docker\":"
#define LIST_MAX       (32u << 20)
#define INSPECT_MAX    (4u << 20)
#define CREATE_WAIT_MS 25 /* how long a create waits for the engine's inspect answer */
#define TEXT_MAX       (TLD_EVREC_MAX_TEXT)

static int64_t now_ns(struct tld_listener *l)
{
    return tld_clock_now(&l->clock);
}

/* ---- recent hashes --------------------------------------------------------------------------- */

static bool recent_has(const struct tld_listener *l, uint64_t h)
{
    for (unsigned i = 0; i < l->nrecent; i++)
        if (l->recent[i].hash == h)
            return true;
    return false;
}

static void recent_add(struct tld_listener *l, int64_t ns, uint64_t h)
{
    l->recent[l->recent_next] = (struct recent){ns, h};
    l->recent_next = (l->recent_next + 1) % RECENT_MAX;
    if (l->nrecent < RECENT_MAX)
        l->nrecent++;
}

/* ---- container state table ------------------------------------------------------------------- */

static const char *state_name(enum cstate s)
{
    static const char *const n[] = {"created", "running", "paused", "exited"};
    return n[s];
}

static bool state_parse(const char *s, enum cstate *out)
{
    if (!strcmp(s, "created"))
        *out = CS_CREATED;
    else if (!strcmp(s, "running") || !strcmp(s, "restarting"))
        *out = CS_RUNNING;
    else if (!strcmp(s, "paused"))
        *out = CS_PAUSED;
    else if (!strcmp(s, "exited") || !strcmp(s, "dead") || !strcmp(s, "removing"))
        *out = CS_EXITED;
    else
        return false;
    return true;
}

static struct known *known_find(struct known *v, unsigned n, const char *id)
{
    for (unsigned i = 0; i < n; i++)
        if (strcmp(v[i].id, id) == 0)
            return &v[i];
    return NULL;
}

void tld_listener_apply(struct tld_listener *l, const struct tld_docker_event *ev)
{
    if (strcmp(ev->type, "container") != 0 || strlen(ev->id) != 64)
        return;
    const char *a = ev->action;
    struct known *k = known_find(l->known, l->nknown, ev->id);
    if (!strcmp(a, "destroy")) {
        if (k)
            *k = l->known[--l->nknown];
        return;
    }
    enum cstate s;
    if (!strcmp(a, "create"))
        s = CS_CREATED;
    else if (!strcmp(a, "start") || !strcmp(a, "restart") || !strcmp(a, "unpause"))
        s = CS_RUNNING;
    else if (!strcmp(a, "pause"))
        s = CS_PAUSED;
    else if (!strcmp(a, "die") || !strcmp(a, "stop"))
        s = CS_EXITED;
    else if (!strcmp(a, "rename") && k) {
        scopy(k->name, sizeof k->name, ev->name);
        return;
    } else
        return;
    if (!k) {
        if (l->nknown == KNOWN_MAX)
            return;
        k = &l->known[l->nknown++];
        memset(k, 0, sizeof *k);
        scopy(k->id, sizeof k->id, ev->id);
    }
    if (ev->name[0])
        scopy(k->name, sizeof k->name, ev->name);
    if (ev->image[0])
        scopy(k->image, sizeof k->image, ev->image);
    k->state = s;
}

static bool behind(struct tld_listener *l);

/* ---- spool ----------------------------------------------------------------------------------- */

/* Push and commit, waiting while the spool is full. false if the listener stops first. */
static bool spool(struct tld_listener *l, const struct tld_evrec *r)
{
    for (;;) {
        uint64_t seq;
        int rc = tld_spool_push(l->spool, r, 0, &seq);
        if (rc == 0 && (rc = tld_spool_commit(l->spool)) == 0) {
            l->last_seq = seq;
            l->dirty = true;
            return true;
        }
        if (rc == TLD_EAGAIN) {
            if (atomic_load(&l->stopping))
                return false;
            /* Keep checkpointing while waiting: records this listener no longer needs must not
             * be what keeps the spool full. */
            int64_t now = now_ns(l);
            if ((l->dirty || behind(l)) && now - l->last_checkpoint_ns >= 1000000000LL) {
                tld_listener_checkpoint(l);
                l->last_checkpoint_ns = now;
            }
            tld_spool_wait_room(l->spool, 200);
            continue;
        }
        tld_log_error(l->log, "docker listener: spool write failed: %s", tld_err_str(rc));
        if (atomic_load(&l->stopping))
            return false;
        struct timespec ts = {0, 200000000};
        nanosleep(&ts, NULL);
    }
}

static void emit_status(struct tld_listener *l, const char *action, const char *fields)
{
    int64_t t = now_ns(l);
    struct tld_sb sb;
    tld_sb_init(&sb, 1 << 20);
    tld_sb_printf(&sb,
                  PREFIX "{\"Type\":\"listener\",\"Action\":\"%s\",\"time\":%lld,"
                         "\"timeNano\":%lld%s%s}}",
                  action, (long long)(t / 1000000000), (long long)t, fields && *fields ? "," : "",
                  fields ? fields : "");
    struct tld_evrec r = {.queue = '1',
                          .source = TLD_SOURCE_DOCKER,
                          .location = tld_sv_of(l->cfg.location),
                          .text = tld_sb_view(&sb),
                          .read_time_ns = t};
    spool(l, &r);
    tld_sb_fini(&sb);
}

/* ---- inspect --------------------------------------------------------------------------------- */

static cJSON *string_array(const cJSON *src)
{
    cJSON *a = cJSON_CreateArray();
    const cJSON *e;
    cJSON_ArrayForEach(e, src)
    {
        if (cJSON_IsString(e))
            cJSON_AddItemToArray(a, cJSON_CreateString(e->valuestring));
    }
    return a;
}

static const char *str_or(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

/* The `inspect` object from a container's inspect answer (field names in docs/events.md). */
static cJSON *inspect_object(const cJSON *j)
{
    const cJSON *hc = cJSON_GetObjectItemCaseSensitive(j, "HostConfig");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "Config");
    cJSON *o = cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "privileged",
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hc, "Privileged")));
    cJSON_AddStringToObject(o, "user", str_or(cfg, "User"));
    cJSON_AddStringToObject(o, "pid_mode", str_or(hc, "PidMode"));
    cJSON_AddStringToObject(o, "ipc_mode", str_or(hc, "IpcMode"));
    cJSON_AddStringToObject(o, "network_mode", str_or(hc, "NetworkMode"));
    cJSON_AddBoolToObject(o, "readonly_rootfs",
                          cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(hc, "ReadonlyRootfs")));
    cJSON_AddItemToObject(o, "cap_add",
                          string_array(cJSON_GetObjectItemCaseSensitive(hc, "CapAdd")));
    cJSON_AddItemToObject(o, "cap_drop",
                          string_array(cJSON_GetObjectItemCaseSensitive(hc, "CapDrop")));
    cJSON_AddItemToObject(o, "security_opt",
                          string_array(cJSON_GetObjectItemCaseSensitive(hc, "SecurityOpt")));
    cJSON *mounts = cJSON_AddArrayToObject(o, "mounts");
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(j, "Mounts"))
    {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "type", str_or(m, "Type"));
        cJSON_AddStringToObject(x, "source", str_or(m, "Source"));
        cJSON_AddStringToObject(x, "destination", str_or(m, "Destination"));
        cJSON_AddBoolToObject(x, "read_only",
                              !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(m, "RW")));
        cJSON_AddItemToArray(mounts, x);
    }
    cJSON_AddStringToObject(o, "image", str_or(cfg, "Image"));
    cJSON_AddStringToObject(o, "image_id", str_or(j, "Image"));
    return o;
}

static cJSON *read_json_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct tld_sb sb;
    tld_sb_init(&sb, INSPECT_MAX);
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        tld_sb_append(&sb, buf, (size_t)n);
    close(fd);
    cJSON *j = sb.truncated ? NULL : cJSON_ParseWithLength(tld_sb_cstr(&sb), sb.n);
    tld_sb_fini(&sb);
    return j;
}

/*
 * The same answer built from the configuration the engine wrote for the container when it
 * created it (config.v2.json, hostconfig.json under DockerRootDir): inspect serves exactly
 * these, but the engine makes an inspect wait while it starts the container.
 */
static cJSON *inspect_from_disk(struct tld_listener *l, const char *id)
{
    if (!l->docker_root)
        return NULL;
    char path[4400];
    snprintf(path, sizeof path, "%s/containers/%s/config.v2.json", l->docker_root, id);
    cJSON *cfg = read_json_file(path);
    snprintf(path, sizeof path, "%s/containers/%s/hostconfig.json", l->docker_root, id);
    cJSON *hc = read_json_file(path);
    cJSON *j = NULL;
    if (cJSON_IsObject(cfg) && cJSON_IsObject(hc)) {
        /* shape it like an inspect answer: HostConfig inside, Mounts as an array */
        j = cfg;
        cfg = NULL;
        cJSON_DeleteItemFromObjectCaseSensitive(j, "HostConfig");
        cJSON_AddItemToObject(j, "HostConfig", hc);
        hc = NULL;
        cJSON *mounts = cJSON_AddArrayToObject(j, "Mounts");
        const cJSON *mp;
        cJSON_ArrayForEach(mp, cJSON_GetObjectItemCaseSensitive(j, "MountPoints"))
        {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "Type", str_or(mp, "Type"));
            cJSON_AddStringToObject(m, "Source", str_or(mp, "Source"));
            cJSON_AddStringToObject(m, "Destination", str_or(mp, "Destination"));
            cJSON_AddBoolToObject(m, "RW",
                                  cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(mp, "RW")));
            cJSON_AddItemToArray(mounts, m);
        }
    }
    cJSON_Delete(cfg);
    cJSON_Delete(hc);
    return j;
}

/* Append `"inspect":{...}` for container id to sb. For a create, the engine's answer is
 * awaited for CREATE_WAIT_MS at most, then the configuration on disk is used instead. */
static void add_inspect(struct tld_listener *l, const char *id, bool create, struct tld_sb *sb)
{
    char path[160], err[TLD_DOCKER_ERR] = "";
    snprintf(path, sizeof path, "/containers/%s/json", id);
    struct tld_sb body;
    tld_sb_init(&body, INSPECT_MAX);
    long status = 0;
    cJSON *obj = NULL, *j = NULL;
    const char *source = "engine";
    int rc = tld_inspect_take(l, id, create ? CREATE_WAIT_MS : 20000, &status, &body, err);
    if (rc == TLD_ETIMEOUT && (j = inspect_from_disk(l, id)) != NULL) {
        source = "disk";
        status = 200;
        rc = 0;
    } else if (rc == TLD_ENOTFOUND || rc == TLD_ETIMEOUT) {
        rc = tld_docker_get(l->wclient, path, INSPECT_MAX, &status, &body, err);
    }
    if (rc == TLD_EIO) { /* the writer's connection may predate a dockerd restart: renegotiate */
        struct tld_docker_version v;
        if (tld_docker_negotiate(l->wclient, &v, err) == 0)
            rc = tld_docker_get(l->wclient, path, INSPECT_MAX, &status, &body, err);
    }
    if (!j && rc == 0 && status == 200)
        j = cJSON_ParseWithLength(tld_sb_cstr(&body), body.n);
    if (j) {
        obj = inspect_object(j);
        cJSON_AddStringToObject(obj, "source", source);
        struct tld_cinfo *ci = l->meta ? tld_cinfo_new_inspect(j) : NULL;
        if (ci) {
            tld_meta_put(l->meta, ci);
            tld_cinfo_unref(ci);
        }
        cJSON_Delete(j);
    }
    if (!obj) {
        char text[200];
        if (rc == 0)
            tld_docker_error_text(tld_sb_view(&body), text, sizeof text);
        else
            scopy(text, sizeof text, err);
        obj = cJSON_CreateObject();
        cJSON_AddStringToObject(obj, "error", text);
        pthread_mutex_lock(&l->smu);
        l->st.inspect_failures++;
        pthread_mutex_unlock(&l->smu);
    }
    pthread_mutex_lock(&l->smu);
    l->st.inspects++;
    pthread_mutex_unlock(&l->smu);
    char *s = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);
    tld_sb_append_cstr(sb, "\"inspect\":");
    tld_sb_append_cstr(sb, s ? s : "{}");
    free(s);
    tld_sb_fini(&body);
}

/* ---- reconciliation -------------------------------------------------------------------------- */

static bool list_containers(struct tld_listener *l)
{
    struct tld_sb body;
    tld_sb_init(&body, LIST_MAX);
    char err[TLD_DOCKER_ERR];
    long status = 0;
    bool ok = false;
    l->rec_nlist = 0;
    struct tld_docker_version v;
    if (tld_docker_negotiate(l->wclient, &v, err) == 0 &&
        tld_docker_get(l->wclient, "/containers/json?all=1", LIST_MAX, &status, &body, err) == 0 &&
        status == 200) {
        cJSON *j = cJSON_ParseWithLength(tld_sb_cstr(&body), body.n);
        const cJSON *c;
        ok = cJSON_IsArray(j);
        cJSON_ArrayForEach(c, j)
        {
            enum cstate s;
            const char *id = str_or(c, "Id");
            if (l->rec_nlist == KNOWN_MAX || strlen(id) != 64 ||
                !state_parse(str_or(c, "State"), &s))
                continue;
            struct known *k = &l->rec_list[l->rec_nlist++];
            memset(k, 0, sizeof *k);
            scopy(k->id, sizeof k->id, id);
            const cJSON *names = cJSON_GetObjectItemCaseSensitive(c, "Names");
            const cJSON *n0 = cJSON_GetArrayItem(names, 0);
            const char *nm = cJSON_IsString(n0) ? n0->valuestring : "";
            scopy(k->name, sizeof k->name, nm[0] == '/' ? nm + 1 : nm);
            scopy(k->image, sizeof k->image, str_or(c, "Image"));
            k->state = s;
        }
        cJSON_Delete(j);
    } else {
        tld_log_warn(l->log, "docker listener: cannot list containers to reconcile: %s",
                     status && status != 200 ? "engine error" : err);
    }
    tld_sb_fini(&body);
    return ok;
}

static void add_change(cJSON *changes, unsigned *n, const struct known *k, const char *before,
                       const char *now)
{
    if ((*n)++ >= CHANGES_MAX)
        return;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "id", k->id);
    cJSON_AddStringToObject(c, "name", k->name);
    cJSON_AddStringToObject(c, "image", k->image);
    cJSON_AddStringToObject(c, "before", before);
    cJSON_AddStringToObject(c, "now", now);
    cJSON_AddItemToArray(changes, c);
}

static void reconcile(struct tld_listener *l)
{
    l->rec_pending = false;
    pthread_mutex_lock(&l->smu);
    l->st.reconciles++;
    pthread_mutex_unlock(&l->smu);
    bool had_cursor = l->rec_t_connect && l->connected_since;
    if (atomic_load(&l->overlap_conn) == l->rec_conn)
        l->rec_overlap = true; /* the reader skipped a repeated event of this connection */
    /* The replay reached back to our last event if it repeated one. With only a starting
     * point and no event yet, it is complete when the engine had fewer than its 256. */
    bool baseline = l->last_hash == 0;
    bool possible_loss =
        had_cursor && !l->rec_overlap && !(baseline && l->rec_replayed < ENGINE_REPLAY_MAX);
    cJSON *changes = cJSON_CreateArray();
    unsigned n = 0;
    if (l->rec_list_ok && l->known_valid) {
        for (unsigned i = 0; i < l->rec_nlist; i++) {
            const struct known *now = &l->rec_list[i];
            const struct known *was = known_find(l->known, l->nknown, now->id);
            if (!was)
                add_change(changes, &n, now, "unknown", state_name(now->state));
            else if (was->state != now->state)
                add_change(changes, &n, now, state_name(was->state), state_name(now->state));
        }
        for (unsigned i = 0; i < l->nknown; i++)
            if (!known_find(l->rec_list, l->rec_nlist, l->known[i].id))
                add_change(changes, &n, &l->known[i], state_name(l->known[i].state), "removed");
    }
    if (possible_loss || n) {
        char *ch = cJSON_PrintUnformatted(changes);
        char fields[1024];
        double gap = (double)(l->rec_t_connect - l->rec_cursor) / 1e9;
        snprintf(fields, sizeof fields,
                 "\"gap_seconds\":%.3f,\"last_event\":%s,\"replayed\":%" PRIu64
                 ",\"possible_loss\":%s,\"reconciled\":%s,\"changes_count\":%u,\"changes\":",
                 gap > 0 ? gap : 0.0, l->connected_since ? l->connected_since : "null",
                 l->rec_replayed, possible_loss ? "true" : "false",
                 l->rec_list_ok ? "true" : "false", n);
        struct tld_sb sb;
        tld_sb_init(&sb, 1 << 20);
        tld_sb_append_cstr(&sb, fields);
        tld_sb_append_cstr(&sb, ch ? ch : "[]");
        free(ch);
        tld_log_warn(l->log,
                     "docker listener: %s; %u container(s) differ from what the events said",
                     possible_loss ? "the engine's replay did not reach back to the last event "
                                     "spooled: events may have been lost"
                                   : "container list differs",
                     n);
        emit_status(l, "gap", tld_sb_cstr(&sb));
        tld_sb_fini(&sb);
        pthread_mutex_lock(&l->smu);
        l->st.gaps++;
        pthread_mutex_unlock(&l->smu);
    }
    cJSON_Delete(changes);
    if (l->rec_list_ok) {
        memcpy(l->known, l->rec_list, l->rec_nlist * sizeof *l->known);
        l->nknown = l->rec_nlist;
        l->known_valid = true;
        l->dirty = true;
    }
}

/* Where the engine keeps its containers' configuration (GET /info: DockerRootDir). */
static void learn_root(struct tld_listener *l)
{
    struct tld_sb body;
    tld_sb_init(&body, 1 << 20);
    char err[TLD_DOCKER_ERR];
    long status = 0;
    if (tld_docker_get(l->wclient, "/info", 1 << 20, &status, &body, err) == 0 && status == 200) {
        cJSON *j = cJSON_ParseWithLength(tld_sb_cstr(&body), body.n);
        const char *root = str_or(j, "DockerRootDir");
        if (root[0] == '/') {
            free(l->docker_root);
            l->docker_root = strdup(root);
        }
        cJSON_Delete(j);
    }
    tld_sb_fini(&body);
}

static void connected(struct tld_listener *l, const struct qitem *it)
{
    char fields[512];
    free(l->connected_since);
    l->connected_since = NULL;
    if (l->cursor_ns) {
        char b[64];
        time_t s = (time_t)(l->cursor_ns / 1000000000);
        struct tm tm;
        gmtime_r(&s, &tm);
        strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
        char q[96];
        snprintf(q, sizeof q, "\"%s.%09lldZ\"", b, (long long)(l->cursor_ns % 1000000000));
        l->connected_since = strdup(q);
    }
    int n = snprintf(fields, sizeof fields,
                     "\"engine_version\":\"%s\",\"api_version\":\"%s\","
                     "\"since\":%s",
                     it->engine, it->api, l->connected_since ? l->connected_since : "null");
    if (it->reconnect)
        snprintf(fields + n, sizeof fields - (size_t)n, ",\"gap_seconds\":%.3f",
                 (double)it->gap_ns / 1e9);
    tld_log_info(l->log, "docker listener: %s to engine %s (API %s)",
                 it->reconnect ? "reconnected" : "connected", it->engine, it->api);
    emit_status(l, it->reconnect ? "reconnected" : "connected", fields);
    l->rec_pending = true;
    l->rec_overlap = false;
    l->rec_replayed = 0;
    l->rec_t_connect = it->t_ns;
    l->rec_cursor = l->cursor_ns;
    l->rec_conn = it->conn_id;
    if (!l->cursor_ns) {
        /* No event spooled ever: this connection is where the record starts. Kept as the
         * cursor (with no event hash) so a restart replays from here. */
        l->cursor_ns = it->t_ns;
        l->dirty = true;
    }
    l->rec_t_list = now_ns(l);
    l->rec_last_event_ns = l->rec_t_list;
    l->rec_list_ok = list_containers(l);
    learn_root(l);
    if (!l->cursor_ns && !l->known_valid && l->rec_list_ok) {
        reconcile(l); /* first contact ever: the listing is the starting state */
    }
}

/* ---- events ---------------------------------------------------------------------------------- */

/*
 * A container's posture, as its own event right after the create event:
 *   {"integration":"docker","docker":{"Type":"posture","Action":"create","Actor":{...},
 *    "time":S,"timeNano":NS,"inspect":{...}}}
 * One event gives one alert, so findings about how a container may reach its host get an event
 * of their own instead of replacing the "container created" alert. `enriched` is the create
 * event as spooled; false when it holds no inspect object (nothing to judge).
 */
static bool posture_event(struct tld_sv enriched, const struct tld_docker_event *ev,
                          struct tld_sb *out)
{
    cJSON *root = cJSON_ParseWithLength(enriched.p, enriched.n);
    const cJSON *docker = cJSON_GetObjectItemCaseSensitive(root, "docker");
    const cJSON *inspect = cJSON_GetObjectItemCaseSensitive(docker, "inspect");
    const cJSON *actor = cJSON_GetObjectItemCaseSensitive(docker, "Actor");
    bool ok = false;
    if (cJSON_IsObject(inspect)) {
        cJSON *p = cJSON_CreateObject();
        char num[32];
        cJSON_AddStringToObject(p, "Type", "posture");
        cJSON_AddStringToObject(p, "Action", "create");
        if (actor)
            cJSON_AddItemToObject(p, "Actor", cJSON_Duplicate(actor, 1));
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(docker, "truncated")))
            cJSON_AddTrueToObject(p, "truncated"); /* its Actor is the trimmed one */
        snprintf(num, sizeof num, "%lld", (long long)(ev->time_ns / 1000000000));
        cJSON_AddItemToObject(p, "time", cJSON_CreateRaw(num));
        snprintf(num, sizeof num, "%lld", (long long)ev->time_ns);
        cJSON_AddItemToObject(p, "timeNano", cJSON_CreateRaw(num));
        cJSON_AddItemToObject(p, "inspect", cJSON_Duplicate(inspect, 1));
        char *text = cJSON_PrintUnformatted(p);
        if (text) {
            tld_sb_append_cstr(out, PREFIX);
            tld_sb_append_cstr(out, text);
            tld_sb_append_char(out, '}');
            ok = !out->truncated && !out->oom;
            cJSON_free(text);
        }
        cJSON_Delete(p);
    }
    cJSON_Delete(root);
    return ok;
}

static void handle_bounded(struct tld_listener *l, const struct qitem *it,
                           const struct tld_docker_event *evp, uint64_t h);

static void handle_event(struct tld_listener *l, const struct qitem *it)
{
    struct tld_docker_event ev;
    struct tld_sv raw = tld_sv_make(it->data, it->n);
    /* What is forwarded is the bounded rewrite; the identity stays the event as Docker sent it. */
    struct tld_sb safe;
    tld_sb_init(&safe, TEXT_MAX);
    bool trimmed;
    if (tld_docker_event_bound(raw, &safe, &trimmed) != 0 ||
        tld_docker_event_parse(tld_sb_view(&safe), &ev) != 0) {
        tld_sb_fini(&safe);
        return;
    }
    if (trimmed) {
        pthread_mutex_lock(&l->smu);
        l->st.trimmed++;
        pthread_mutex_unlock(&l->smu);
    }
    handle_bounded(l, it, &ev, tld_docker_event_hash(raw));
    tld_sb_fini(&safe);
}

static void handle_bounded(struct tld_listener *l, const struct qitem *it,
                           const struct tld_docker_event *evp, uint64_t h)
{
    struct tld_docker_event ev = *evp;
    struct tld_sv raw = ev.raw;
    if (recent_has(l, h)) {
        if (l->rec_pending)
            l->rec_overlap = true;
        pthread_mutex_lock(&l->smu);
        l->st.duplicates++;
        pthread_mutex_unlock(&l->smu);
        return;
    }
    if (l->rec_pending && ev.time_ns > l->rec_t_list)
        reconcile(l);
    if (l->rec_pending) {
        l->rec_last_event_ns = now_ns(l);
        if (ev.time_ns <= l->rec_t_connect)
            l->rec_replayed++;
    }
    struct tld_sb text;
    tld_sb_init(&text, TEXT_MAX);
    tld_sb_append_cstr(&text, PREFIX);
    struct tld_sv body = tld_sv_trim(raw);
    bool enrich = l->cfg.inspect && !strcmp(ev.type, "container") && strlen(ev.id) == 64 &&
                  (!strcmp(ev.action, "create") || !strcmp(ev.action, "start"));
    if (enrich && body.n >= 2 && body.p[body.n - 1] == '}') {
        tld_sb_append(&text, body.p, body.n - 1);
        if (tld_sv_trim(tld_sv_make(body.p + 1, body.n - 2)).n)
            tld_sb_append_char(&text, ',');
        add_inspect(l, ev.id, !strcmp(ev.action, "create"), &text);
        tld_sb_append_char(&text, '}');
    } else {
        tld_sb_append_sv(&text, body);
    }
    tld_sb_append_char(&text, '}');
    if (text.truncated) { /* cannot happen for real events (1 MiB line bound); be explicit */
        tld_sb_reset(&text);
        tld_sb_append_cstr(&text, PREFIX);
        tld_sb_append_sv(&text, body);
        tld_sb_append_char(&text, '}');
    }
    struct tld_evrec r = {
        .queue = '1',
        .source = TLD_SOURCE_DOCKER,
        .location = tld_sv_of(l->cfg.location),
        .text = tld_sb_view(&text),
        .read_time_ns = it->t_ns,
        .flags = TLD_EVREC_DOCKER_CURSOR,
        .docker_cursor_ns = ev.time_ns,
        .docker_event_hash = h,
    };
    if (spool(l, &r)) {
        recent_add(l, ev.time_ns, h);
        if (ev.time_ns > l->cursor_ns)
            l->cursor_ns = ev.time_ns;
        l->last_hash = h;
        tld_listener_apply(l, &ev);
        pthread_mutex_lock(&l->smu);
        l->st.events++;
        l->st.cursor_ns = l->cursor_ns;
        pthread_mutex_unlock(&l->smu);
        /* Spooled after its create event: a crash between the two loses this derived event
         * (the create is not replayed, its cursor is saved), never the Docker event itself. */
        struct tld_sb posture;
        tld_sb_init(&posture, TEXT_MAX);
        if (enrich && !strcmp(ev.action, "create") &&
            posture_event(tld_sb_view(&text), &ev, &posture)) {
            struct tld_evrec pr = {.queue = '1',
                                   .source = TLD_SOURCE_DOCKER,
                                   .location = tld_sv_of(l->cfg.location),
                                   .text = tld_sb_view(&posture),
                                   .read_time_ns = it->t_ns};
            if (spool(l, &pr)) {
                pthread_mutex_lock(&l->smu);
                l->st.posture_events++;
                pthread_mutex_unlock(&l->smu);
            }
        }
        tld_sb_fini(&posture);
    }
    tld_sb_fini(&text);
}

/* ---- checkpoint ------------------------------------------------------------------------------ */

static cJSON *num_str(int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", (long long)v);
    return cJSON_CreateString(b);
}

/* Written by the checkpoint thread once the spool is synced (see ckpt.h). */
static int save_cursor(void *ctx, void *snap)
{
    struct tld_listener *l = ctx;
    const char *text = snap;
    if (tld_file_replace(l->cursor_file, text, strlen(text), 0640) == 0)
        return 0;
    tld_log_warn(l->log, "docker listener: cannot write %s: %s", l->cursor_file, strerror(errno));
    return TLD_EIO;
}

const struct tld_ckpt_ops tld_listener_ckpt_ops = {save_cursor, free, NULL};

/* Other sources wrote since our last checkpoint: checking in lets the spool delete records
 * that only our old checkpoint still held. */
static bool behind(struct tld_listener *l)
{
    struct tld_spool_stats ss;
    tld_spool_stats(l->spool, &ss);
    return ss.committed_seq > l->ckpt_seq;
}

void tld_listener_checkpoint(struct tld_listener *l)
{
    /* This thread's records are all committed (spool() commits each), and it pushes no other
     * while it is here: the state accounts for every record up to the spool's end. */
    struct tld_spool_stats ss;
    tld_spool_stats(l->spool, &ss);
    if (ss.committed_seq > l->last_seq)
        l->last_seq = ss.committed_seq;
    l->ckpt_seq = l->last_seq;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "version", TLD_DOCKER_CURSOR_FORMAT);
    cJSON_AddItemToObject(j, "spool_seq", num_str((int64_t)l->last_seq));
    cJSON_AddItemToObject(j, "cursor_ns", num_str(l->cursor_ns));
    char hx[24];
    snprintf(hx, sizeof hx, "%016" PRIx64, l->last_hash);
    cJSON_AddStringToObject(j, "last_hash", hx);
    cJSON *rec = cJSON_AddArrayToObject(j, "recent");
    for (unsigned i = 0; i < l->nrecent; i++) {
        const struct recent *r = &l->recent[i];
        if (r->ns < l->cursor_ns - 4 * SINCE_SLACK_NS)
            continue;
        cJSON *p = cJSON_CreateArray();
        cJSON_AddItemToArray(p, num_str(r->ns));
        snprintf(hx, sizeof hx, "%016" PRIx64, r->hash);
        cJSON_AddItemToArray(p, cJSON_CreateString(hx));
        cJSON_AddItemToArray(rec, p);
    }
    cJSON_AddBoolToObject(j, "known_valid", l->known_valid);
    cJSON *kn = cJSON_AddArrayToObject(j, "known");
    for (unsigned i = 0; i < l->nknown; i++) {
        cJSON *k = cJSON_CreateObject();
        cJSON_AddStringToObject(k, "id", l->known[i].id);
        cJSON_AddStringToObject(k, "name", l->known[i].name);
        cJSON_AddStringToObject(k, "image", l->known[i].image);
        cJSON_AddStringToObject(k, "state", state_name(l->known[i].state));
        cJSON_AddItemToArray(kn, k);
    }
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text)
        return;
    /* Every record <= last_seq is committed; the thread syncs before it writes the file. */
    tld_ckpt_submit(l->ckpt, text, l->last_seq);
    l->dirty = false;
}

struct tld_sv tld_listener_docker_object(struct tld_sv text)
{
    size_t pn = sizeof PREFIX - 1;
    if (text.n < pn + 2 || memcmp(text.p, PREFIX, pn) != 0 || text.p[text.n - 1] != '}')
        return TLD_SV_NULL;
    return tld_sv_make(text.p + pn, text.n - pn - 1);
}

static int scan_cb(void *ctx, uint64_t seq, struct tld_sv payload)
{
    struct tld_listener *l = ctx;
    struct tld_evrec r;
    static __thread struct tld_evrec_labels lb;
    if (tld_evrec_decode(payload.p, payload.n, &r, &lb) != 0 ||
        !(r.flags & TLD_EVREC_DOCKER_CURSOR))
        return 0;
    if (!recent_has(l, r.docker_event_hash))
        recent_add(l, r.docker_cursor_ns, r.docker_event_hash);
    if (r.docker_cursor_ns > l->cursor_ns)
        l->cursor_ns = r.docker_cursor_ns;
    l->last_hash = r.docker_event_hash;
    struct tld_docker_event ev;
    struct tld_sv obj = tld_listener_docker_object(r.text);
    if (obj.p && tld_docker_event_parse(obj, &ev) == 0)
        tld_listener_apply(l, &ev);
    (void)seq;
    return 0;
}

static uint64_t u64_of(const cJSON *o, const char *k, int base)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? strtoull(v->valuestring, NULL, base) : 0;
}

int tld_listener_load(struct tld_listener *l)
{
    int fd = open(l->cursor_file, O_RDONLY | O_CLOEXEC);
    uint64_t from = 1;
    if (fd >= 0) {
        struct tld_sb sb;
        tld_sb_init(&sb, 16u << 20);
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0)
            tld_sb_append(&sb, buf, (size_t)n);
        close(fd);
        cJSON *j = cJSON_ParseWithLength(tld_sb_cstr(&sb), sb.n);
        const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "version");
        if (cJSON_IsNumber(ver) && ver->valueint > TLD_DOCKER_CURSOR_FORMAT) {
            tld_log_error(l->log, "docker listener: %s: %s", l->cursor_file,
                          tld_err_str(TLD_EFORMAT));
            cJSON_Delete(j);
            tld_sb_fini(&sb);
            return TLD_EFORMAT;
        }
        if (j) {
            l->last_seq = u64_of(j, "spool_seq", 10);
            from = l->last_seq + 1;
            l->cursor_ns = (int64_t)u64_of(j, "cursor_ns", 10);
            l->last_hash = u64_of(j, "last_hash", 16);
            const cJSON *e;
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "recent"))
            {
                const cJSON *ns = cJSON_GetArrayItem(e, 0), *h = cJSON_GetArrayItem(e, 1);
                if (cJSON_IsString(ns) && cJSON_IsString(h))
                    recent_add(l, strtoll(ns->valuestring, NULL, 10),
                               strtoull(h->valuestring, NULL, 16));
            }
            l->known_valid = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "known_valid"));
            cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(j, "known"))
            {
                enum cstate s;
                if (l->nknown == KNOWN_MAX || !state_parse(str_or(e, "state"), &s))
                    continue;
                struct known *k = &l->known[l->nknown++];
                scopy(k->id, sizeof k->id, str_or(e, "id"));
                scopy(k->name, sizeof k->name, str_or(e, "name"));
                scopy(k->image, sizeof k->image, str_or(e, "image"));
                k->state = s;
            }
            cJSON_Delete(j);
        } else {
            tld_log_error(l->log,
                          "docker listener: %s is damaged; the cursor comes from the "
                          "spool only",
                          l->cursor_file);
        }
        tld_sb_fini(&sb);
    }
    int rc = tld_spool_scan(l->spool, from, scan_cb, l);
    struct tld_spool_stats ss;
    tld_spool_stats(l->spool, &ss);
    l->last_seq = ss.committed_seq;
    tld_spool_retain(l->spool, l->holder, from - 1);
    l->st.cursor_ns = l->cursor_ns;
    l->dirty = true;
    return rc;
}

/* ---- thread ---------------------------------------------------------------------------------- */

void *tld_listener_writer(void *arg)
{
    struct tld_listener *l = arg;
    for (;;) {
        struct qitem it;
        bool got = tld_listener_pop(l, &it, 100);
        int64_t now = now_ns(l);
        if (got) {
            switch (it.kind) {
            case Q_EVENT:
                handle_event(l, &it);
                break;
            case Q_CONNECTED:
                connected(l, &it);
                break;
            case Q_DISCONNECTED:
                break;
            case Q_OVERFLOW:
                break;
            case Q_STATUS:
                emit_status(l, it.action, it.data);
                break;
            }
            free(it.data);
        } else if (atomic_load(&l->stopping)) {
            break;
        } else if (l->rec_pending && now - l->rec_last_event_ns >= RECONCILE_IDLE_NS) {
            reconcile(l);
        }
        if ((l->dirty || behind(l)) && now - l->last_checkpoint_ns >= 1000000000LL) {
            tld_listener_checkpoint(l);
            l->last_checkpoint_ns = now;
        }
    }
    if (l->dirty)
        tld_listener_checkpoint(l);
    tld_ckpt_stop(l->ckpt); /* saves the last one */
    l->ckpt = NULL;
    return NULL;
}
