/*
 * Docker listener: lifecycle, the reader -> writer queue, and the reader thread (see
 * listener.h). The queue holds at most cfg.queue_size events and QUEUE_BYTES_MAX bytes; a few
 * extra slots are kept for the reader's markers (connected, overflow, ...), so a marker can
 * always be queued even when events cannot.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collect/docker/bound.h"
#include "collect/docker/lint.h"
#include "common/deadline.h"
#include "common/err.h"

#define MARKER_SLOTS    16
#define SOCKET_PROBE_MS 1000

static int64_t now_ns(struct tld_listener *l)
{
    return tld_clock_now(&l->clock);
}

/* ---- queue ----------------------------------------------------------------------------------- */

/* Queue an item (data is copied). Events fail when the event room is used up. */
static bool push_item(struct tld_listener *l, const struct qitem *it)
{
    bool ok = false;
    pthread_mutex_lock(&l->qmu);
    bool is_event = it->kind == Q_EVENT;
    unsigned event_cap = l->qcap - MARKER_SLOTS;
    if (l->qlen < (is_event ? event_cap : l->qcap) &&
        (!is_event || l->qbytes + it->n <= QUEUE_BYTES_MAX)) {
        struct qitem *slot = &l->q[(l->qhead + l->qlen) % l->qcap];
        *slot = *it;
        slot->data = NULL;
        if (it->n) {
            slot->data = malloc(it->n + 1);
            if (slot->data) {
                memcpy(slot->data, it->data, it->n);
                slot->data[it->n] = 0;
            }
        }
        if (!it->n || slot->data) {
            l->qlen++;
            l->qbytes += it->n;
            ok = true;
            pthread_cond_signal(&l->qcond);
        }
    }
    unsigned len = l->qlen;
    pthread_mutex_unlock(&l->qmu);
    if (ok) {
        pthread_mutex_lock(&l->smu);
        if (len > l->st.queue_max)
            l->st.queue_max = len;
        pthread_mutex_unlock(&l->smu);
    }
    return ok;
}

bool tld_listener_pop(struct tld_listener *l, struct qitem *it, int timeout_ms)
{
    int64_t until = tld_deadline_in(timeout_ms);
    pthread_mutex_lock(&l->qmu);
    while (l->qlen == 0) {
        if (atomic_load(&l->stopping) || tld_cond_wait_until(&l->qcond, &l->qmu, until) != 0) {
            if (l->qlen)
                break;
            pthread_mutex_unlock(&l->qmu);
            return false;
        }
    }
    *it = l->q[l->qhead];
    l->qhead = (l->qhead + 1) % l->qcap;
    l->qlen--;
    l->qbytes -= it->n;
    pthread_cond_signal(&l->qspace);
    pthread_mutex_unlock(&l->qmu);
    return true;
}

void tld_listener_status(struct tld_listener *l, const char *action, const char *fields)
{
    struct qitem it = {.kind = Q_STATUS, .t_ns = now_ns(l)};
    scopy(it.action, sizeof it.action, action);
    it.data = (char *)fields;
    it.n = fields ? strlen(fields) : 0;
    push_item(l, &it);
}

/* ---- reader thread --------------------------------------------------------------------------- */

struct conn {
    struct tld_listener *l;
    struct tld_events_splitter split;
    long status;
    struct tld_sb errbody;
    uint64_t garbage, split_garbage;
    bool overflow, garbage_reported, too_much_garbage;
};

static void json_str(char *out, size_t n, const char *s)
{
    struct tld_sb sb;
    tld_sb_init(&sb, n - 1);
    tld_evrec_json_string(&sb, tld_sv_of(s));
    snprintf(out, n, "%s", sb.truncated ? "\"(too long)\"" : tld_sb_cstr(&sb));
    tld_sb_fini(&sb);
}

static bool on_open(void *ctx, long status)
{
    struct conn *c = ctx;
    c->status = status;
    return true;
}

static bool on_event(struct conn *c, struct tld_sv line, bool bad,
                     const struct tld_docker_event *evp);

static bool on_line(void *ctx, struct tld_sv line)
{
    struct conn *c = ctx;
    struct tld_docker_event ev;
    /* Too deep for the scanner: the bounded rewrite (what the writer forwards anyway) is queued. */
    struct tld_sb safe;
    tld_sb_init(&safe, TLD_EVENTS_MAX_LINE);
    bool trimmed;
    bool bad = tld_docker_event_parse(line, &ev) != 0;
    if (bad && tld_docker_event_bound(line, &safe, &trimmed) == 0 &&
        tld_docker_event_parse(tld_sb_view(&safe), &ev) == 0) {
        bad = false;
        line = tld_sb_view(&safe);
    }
    bool ok = on_event(c, line, bad, &ev);
    tld_sb_fini(&safe);
    return ok;
}

static bool on_event(struct conn *c, struct tld_sv line, bool bad,
                     const struct tld_docker_event *evp)
{
    struct tld_listener *l = c->l;
    struct tld_docker_event ev = *evp;
    if (bad) {
        c->garbage++;
        pthread_mutex_lock(&l->smu);
        l->st.garbage++;
        pthread_mutex_unlock(&l->smu);
        if (!c->garbage_reported) {
            c->garbage_reported = true;
            char sample[160] = "", js[400], fields[512];
            size_t k = 0;
            for (size_t i = 0; i < line.n && k < 100; i++)
                sample[k++] = (line.p[i] >= 0x20 && line.p[i] < 0x7f) ? line.p[i] : '.';
            sample[k] = 0;
            json_str(js, sizeof js, sample);
            snprintf(fields, sizeof fields, "\"sample\":%s", js);
            tld_log_warn(l->log,
                         "docker listener: the events stream sent a line that is not "
                         "an event: %s",
                         sample);
            tld_listener_status(l, "garbage", fields);
        }
        if (c->garbage >= GARBAGE_LIMIT) {
            c->too_much_garbage = true;
            return false;
        }
        return true;
    }
    /* A replay after a reconnection repeats what was already queued: skip it here, so a
     * replay larger than the queue cannot overflow it again and again. */
    uint64_t h = tld_docker_event_hash(line);
    for (unsigned i = 0; i < l->nseen; i++) {
        if (l->seen[i] == h) {
            /* the replay reached back to events we have: nothing was lost before it */
            atomic_store(&l->overlap_conn, l->conn_id);
            pthread_mutex_lock(&l->smu);
            l->st.duplicates++;
            pthread_mutex_unlock(&l->smu);
            return true;
        }
    }
    struct qitem it = {.kind = Q_EVENT, .data = (char *)line.p, .n = line.n, .t_ns = now_ns(l)};
    if (!push_item(l, &it)) {
        c->overflow = true;
        return false;
    }
    l->seen[l->seen_next] = h;
    l->seen_next = (l->seen_next + 1) % READER_SEEN;
    if (l->nseen < READER_SEEN)
        l->nseen++;
    if (ev.time_ns > l->last_queued_ns)
        l->last_queued_ns = ev.time_ns;
    if (l->cfg.inspect && !strcmp(ev.type, "container") && strlen(ev.id) == 64 &&
        (!strcmp(ev.action, "create") || !strcmp(ev.action, "start")))
        tld_inspect_request(l, ev.id);
    return true;
}

static bool on_data(void *ctx, const char *p, size_t n)
{
    struct conn *c = ctx;
    if (atomic_load(&c->l->stopping))
        return false;
    if (c->status != 200) {
        tld_sb_append(&c->errbody, p, n);
        return true;
    }
    bool ok = tld_events_feed(&c->split, p, n, on_line, c);
    if (c->split.garbage != c->split_garbage) { /* over-long lines the splitter dropped */
        uint64_t d = c->split.garbage - c->split_garbage;
        c->split_garbage = c->split.garbage;
        c->garbage += d;
        pthread_mutex_lock(&c->l->smu);
        c->l->st.garbage += d;
        pthread_mutex_unlock(&c->l->smu);
        tld_log_warn(c->l->log,
                     "docker listener: dropped a line longer than %u bytes from the "
                     "events stream",
                     TLD_EVENTS_MAX_LINE);
        if (!c->garbage_reported) {
            c->garbage_reported = true;
            tld_listener_status(c->l, "garbage", "\"sample\":\"(a line over the length bound)\"");
        }
    }
    return ok;
}

/* Sleep up to ms, waking early on stop. false when stopping. */
static bool nap(struct tld_listener *l, int64_t ms)
{
    struct timespec ts;
    while (ms > 0 && !atomic_load(&l->stopping)) {
        int step = ms > 100 ? 100 : (int)ms;
        ts.tv_sec = 0;
        ts.tv_nsec = step * 1000000L;
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return !atomic_load(&l->stopping);
}

/* Wait up to ms for the engine's socket to accept connections, probing every SOCKET_PROBE_MS: an
 * engine started after the listener is watched within seconds, not after the whole interval.
 * A socket that answers but whose engine keeps failing waits the whole interval. false when
 * stopping. */
static bool watch_socket(struct tld_listener *l, int64_t ms)
{
    if (tld_docker_socket_answers(l->rclient)) /* up but failing: only time helps */
        return nap(l, ms);
    for (int64_t waited = 0; waited < ms; waited += SOCKET_PROBE_MS) {
        if (tld_docker_socket_answers(l->rclient))
            return !atomic_load(&l->stopping);
        if (!nap(l, ms - waited < SOCKET_PROBE_MS ? ms - waited : SOCKET_PROBE_MS))
            return false;
    }
    return true;
}

static int64_t backoff_ms(struct tld_listener *l, unsigned failures)
{
    int64_t ms = 250;
    for (unsigned i = 1; i < failures && ms < l->backoff_max_ns / 1000000; i++)
        ms *= 2;
    if (ms > l->backoff_max_ns / 1000000)
        ms = l->backoff_max_ns / 1000000;
    return ms;
}

/* A failed attempt: status events, and the pause before the next one. false when stopping. */
static bool failed(struct tld_listener *l, unsigned *consecutive, const char *err)
{
    (*consecutive)++;
    pthread_mutex_lock(&l->smu);
    l->st.failures++;
    l->st.connected = false;
    pthread_mutex_unlock(&l->smu);
    char js[600], fields[800];
    json_str(js, sizeof js, err);
    if (*consecutive == 1) {
        tld_log_warn(l->log, "docker listener: %s", err);
        snprintf(fields, sizeof fields, "\"error\":%s", js);
        tld_listener_status(l, "error", fields);
    }
    if (l->cfg.attempts && *consecutive >= l->cfg.attempts) {
        tld_log_error(l->log,
                      "docker listener: gave up after %u attempts (%s); watching for the socket "
                      "(next try at the latest in %lld s)",
                      *consecutive, err, (long long)l->cfg.interval_s);
        snprintf(fields, sizeof fields, "\"attempts\":%u,\"error\":%s,\"retry_in_seconds\":%lld",
                 *consecutive, js, (long long)l->cfg.interval_s);
        tld_listener_status(l, "gave_up", fields);
        *consecutive = 0;
        return watch_socket(l, l->cfg.interval_s * 1000);
    }
    return nap(l, backoff_ms(l, *consecutive));
}

static void *reader_main(void *arg)
{
    struct tld_listener *l = arg;
    struct conn c = {.l = l};
    tld_events_splitter_init(&c.split);
    tld_sb_init(&c.errbody, 4096);
    unsigned consecutive = 0;
    int64_t disconnected_at = 0;
    char fields[512], js[300];
    json_str(js, sizeof js, l->cfg.socket);
    snprintf(fields, sizeof fields, "\"socket\":%s", js);
    tld_listener_status(l, "started", fields);
    if (!l->cfg.run_on_start)
        nap(l, l->cfg.interval_s * 1000);
    while (!atomic_load(&l->stopping)) {
        char err[TLD_DOCKER_ERR];
        struct tld_docker_version v;
        if (tld_docker_negotiate(l->rclient, &v, err) != 0) {
            if (!failed(l, &consecutive, err))
                break;
            continue;
        }
        /* Resume a little before the last event queued. With none yet, the first connection
         * is the starting point: from then on nothing may be missed, also across restarts
         * (the writer keeps that point as its cursor until the first event). */
        int64_t since = l->last_queued_ns;
        if (since > 0)
            since -= SINCE_SLACK_NS;
        else
            since = l->last_queued_ns = now_ns(l);
        char path[96];
        snprintf(path, sizeof path, "/events?since=%lld.%09lld", (long long)(since / 1000000000),
                 (long long)(since % 1000000000));
        struct qitem it = {.kind = Q_CONNECTED, .t_ns = now_ns(l), .conn_id = ++l->conn_id};
        it.reconnect = disconnected_at != 0;
        it.gap_ns = disconnected_at ? it.t_ns - disconnected_at : 0;
        scopy(it.engine, sizeof it.engine, v.engine);
        scopy(it.api, sizeof it.api, v.api);
        push_item(l, &it);
        c.status = 0;
        c.garbage = 0;
        c.overflow = c.garbage_reported = c.too_much_garbage = false;
        tld_sb_reset(&c.errbody);
        tld_events_splitter_reset(&c.split);
        c.split_garbage = c.split.garbage;
        pthread_mutex_lock(&l->smu);
        l->st.connects++;
        l->st.connected = true;
        scopy(l->st.api_version, sizeof l->st.api_version, v.api);
        pthread_mutex_unlock(&l->smu);
        int rc = tld_docker_stream(l->rclient, path, on_open, on_data, &c, err);
        pthread_mutex_lock(&l->smu);
        l->st.connected = false;
        pthread_mutex_unlock(&l->smu);
        if (atomic_load(&l->stopping))
            break;
        if (c.status && c.status != 200) {
            char text[200], msg[TLD_DOCKER_ERR];
            tld_docker_error_text(tld_sb_view(&c.errbody), text, sizeof text);
            snprintf(msg, sizeof msg, "GET %.60s: HTTP %ld: %.150s", path, c.status, text);
            disconnected_at = disconnected_at ? disconnected_at : now_ns(l);
            if (!failed(l, &consecutive, msg))
                break;
            continue;
        }
        consecutive = 0;
        if (c.overflow) {
            pthread_mutex_lock(&l->smu);
            l->st.overflows++;
            pthread_mutex_unlock(&l->smu);
            snprintf(fields, sizeof fields, "\"queue_size\":%u", l->cfg.queue_size);
            tld_listener_status(l, "overflow", fields);
            tld_log_warn(l->log,
                         "docker listener: event queue full (%u); reconnecting once it "
                         "drains",
                         l->cfg.queue_size);
            disconnected_at = now_ns(l);
            pthread_mutex_lock(&l->qmu);
            while (l->qlen > (l->qcap - MARKER_SLOTS) / 2 && !atomic_load(&l->stopping)) {
                tld_cond_wait_until(&l->qspace, &l->qmu, tld_deadline_in(200));
            }
            pthread_mutex_unlock(&l->qmu);
            continue;
        }
        const char *why = c.too_much_garbage ? "the events stream is not JSON events"
                          : rc == 0          ? "the engine closed the events stream"
                                             : err;
        json_str(js, sizeof js, why);
        snprintf(fields, sizeof fields, "\"reason\":%s", js);
        tld_listener_status(l, "disconnected", fields);
        tld_log_warn(l->log, "docker listener: disconnected: %s", why);
        disconnected_at = now_ns(l);
        if (c.too_much_garbage) {
            if (!failed(l, &consecutive, why))
                break;
        } else if (!nap(l, 250)) {
            break;
        }
    }
    tld_events_splitter_fini(&c.split);
    tld_sb_fini(&c.errbody);
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

int tld_listener_new(const struct tld_listener_opts *o, struct tld_listener **out)
{
    *out = NULL;
    struct tld_listener *l = calloc(1, sizeof *l);
    if (!l)
        return TLD_ENOMEM;
    l->cfg = *o->cfg;
    l->spool = o->spool;
    l->holder = o->spool_holder;
    l->log = o->log;
    l->meta = o->meta;
    l->clock = o->clock ? *o->clock : TLD_CLOCK_SYSTEM;
    l->backoff_max_ns = (int64_t)(o->backoff_max_ms ? o->backoff_max_ms : 30000) * 1000000;
    if (l->cfg.interval_s > 0 && l->backoff_max_ns > l->cfg.interval_s * 1000000000)
        l->backoff_max_ns = l->cfg.interval_s * 1000000000;
    pthread_mutex_init(&l->qmu, NULL);
    pthread_mutex_init(&l->smu, NULL);
    tld_cond_init(&l->qcond);
    tld_cond_init(&l->qspace);
    l->qcap = l->cfg.queue_size + MARKER_SLOTS;
    l->q = calloc(l->qcap, sizeof *l->q);
    l->known = calloc(KNOWN_MAX, sizeof *l->known);
    l->rec_list = calloc(KNOWN_MAX, sizeof *l->rec_list);
    l->cursor_file = strdup(o->cursor_file);
    int rc = TLD_ENOMEM;
    if (!l->q || !l->known || !l->rec_list || !l->cursor_file)
        goto fail;
    if ((rc = tld_docker_new(l->cfg.socket, l->cfg.api_version, &l->rclient)) != 0 ||
        (rc = tld_docker_new(l->cfg.socket, l->cfg.api_version, &l->wclient)) != 0 ||
        (rc = tld_docker_new(l->cfg.socket, l->cfg.api_version, &l->iclient)) != 0)
        goto fail;
    if ((rc = tld_listener_load(l)) != 0)
        goto fail;
    l->last_queued_ns = l->cursor_ns;
    for (unsigned i = 0; i < l->nrecent && i < READER_SEEN; i++)
        l->seen[l->nseen++] = l->recent[(l->recent_next + RECENT_MAX - 1 - i) % RECENT_MAX].hash;
    l->seen_next = l->nseen % READER_SEEN;
    *out = l;
    return 0;
fail:
    tld_listener_free(l);
    return rc;
}

int tld_listener_start(struct tld_listener *l)
{
    struct tld_ckpt_ops ops = tld_listener_ckpt_ops;
    ops.ctx = l;
    if (tld_ckpt_start(l->spool, l->holder, &ops, &l->ckpt) != 0 ||
        (l->cfg.inspect && tld_inspect_start(l) != 0))
        return TLD_ENOMEM;
    /* The start-up scan read what the records after the last checkpoint say; a checkpoint now
     * releases them, so a spool full at start can drain even before the first event. */
    tld_listener_checkpoint(l);
    l->last_checkpoint_ns = tld_clock_now(&l->clock);
    if (pthread_create(&l->t_writer, NULL, tld_listener_writer, l) != 0)
        return TLD_ENOMEM;
    if (pthread_create(&l->t_reader, NULL, reader_main, l) != 0) {
        atomic_store(&l->stopping, true);
        pthread_join(l->t_writer, NULL);
        return TLD_ENOMEM;
    }
    l->started = true;
    return 0;
}

void tld_listener_stop(struct tld_listener *l)
{
    if (!l || !l->started)
        return;
    atomic_store(&l->stopping, true);
    tld_docker_cancel(l->rclient);
    pthread_mutex_lock(&l->qmu);
    pthread_cond_broadcast(&l->qcond);
    pthread_cond_broadcast(&l->qspace);
    pthread_mutex_unlock(&l->qmu);
    pthread_join(l->t_reader, NULL);
    pthread_join(l->t_writer, NULL);
    tld_inspect_stop(l);
    l->started = false;
}

void tld_listener_free(struct tld_listener *l)
{
    if (!l)
        return;
    tld_listener_stop(l);
    tld_ckpt_stop(l->ckpt);
    if (l->q) {
        for (unsigned i = 0; i < l->qlen; i++)
            free(l->q[(l->qhead + i) % l->qcap].data);
    }
    free(l->q);
    free(l->known);
    free(l->rec_list);
    free(l->cursor_file);
    free(l->connected_since);
    free(l->docker_root);
    tld_docker_free(l->rclient);
    tld_docker_free(l->wclient);
    tld_docker_free(l->iclient);
    pthread_cond_destroy(&l->qcond);
    pthread_cond_destroy(&l->qspace);
    pthread_mutex_destroy(&l->qmu);
    pthread_mutex_destroy(&l->smu);
    free(l);
}

void tld_listener_stats(struct tld_listener *l, struct tld_listener_stats *st)
{
    pthread_mutex_lock(&l->smu);
    *st = l->st;
    pthread_mutex_unlock(&l->smu);
}
