/*
 * Docker Engine API client (see client.h). Streams use the multi interface so a cancel from
 * another thread (curl_multi_wakeup) takes effect at once instead of at curl's next progress
 * callback.
 */
#include "collect/docker/client.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/err.h"

struct tld_docker {
    char *socket;
    char api[16]; /* configured or negotiated; "" until known */
    bool fixed;   /* configured: never replaced by negotiation */
    CURL *easy;
    CURLM *multi;
    pthread_mutex_t mu; /* guards `multi` against a cancel during teardown */
    atomic_bool cancel;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

int tld_docker_new(const char *socket, const char *api_version, struct tld_docker **out)
{
    pthread_once(&global_once, global_init);
    struct tld_docker *d = calloc(1, sizeof *d);
    if (!d)
        return TLD_ENOMEM;
    pthread_mutex_init(&d->mu, NULL);
    d->socket = strdup(socket);
    d->easy = curl_easy_init();
    d->multi = curl_multi_init();
    if (!d->socket || !d->easy || !d->multi) {
        tld_docker_free(d);
        return TLD_ENOMEM;
    }
    if (api_version) {
        snprintf(d->api, sizeof d->api, "%s", api_version);
        d->fixed = true;
    }
    *out = d;
    return 0;
}

void tld_docker_free(struct tld_docker *d)
{
    if (!d)
        return;
    if (d->multi)
        curl_multi_cleanup(d->multi);
    if (d->easy)
        curl_easy_cleanup(d->easy);
    pthread_mutex_destroy(&d->mu);
    free(d->socket);
    free(d);
}

void tld_docker_error_text(struct tld_sv body, char *out, size_t n)
{
    cJSON *j = cJSON_ParseWithLength(body.p, body.n);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
    if (cJSON_IsString(m)) {
        snprintf(out, n, "%s", m->valuestring);
    } else {
        size_t k = 0;
        for (size_t i = 0; i < body.n && k + 1 < n && k < 120; i++) {
            unsigned char c = (unsigned char)body.p[i];
            out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
        }
        out[k] = 0;
    }
    cJSON_Delete(j);
}

struct sink {
    struct tld_sb *body;
    bool over;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    struct sink *s = ud;
    size_t n = size * nmemb;
    tld_sb_append(s->body, p, n);
    if (s->body->truncated) {
        s->over = true;
        return 0; /* aborts the transfer */
    }
    return n;
}

static void setup(struct tld_docker *d, const char *url)
{
    curl_easy_reset(d->easy);
    curl_easy_setopt(d->easy, CURLOPT_UNIX_SOCKET_PATH, d->socket);
    curl_easy_setopt(d->easy, CURLOPT_URL, url);
    curl_easy_setopt(d->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(d->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(d->easy, CURLOPT_PROXY, "");
    curl_easy_setopt(d->easy, CURLOPT_USERAGENT, "tld-agent");
}

/* 0 when something accepts connections on the socket, else the errno of the attempt. */
static int try_connect(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t n = strlen(path);
    if (n >= sizeof sa.sun_path)
        return ENAMETOOLONG;
    memcpy(sa.sun_path, path, n + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int e = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? 0 : errno;
    close(fd);
    return e;
}

bool tld_docker_socket_answers(const struct tld_docker *d)
{
    return try_connect(d->socket) == 0;
}

/* A failed request in words an operator acts on: curl speaks of "localhost port 80" even over a
 * Unix socket, so a connection failure is explained by trying the socket ourselves. */
static void describe(const struct tld_docker *d, CURLcode rc, const char *cerr,
                     char err[TLD_DOCKER_ERR])
{
    if (rc != CURLE_COULDNT_CONNECT) {
        snprintf(err, TLD_DOCKER_ERR, "Docker at unix://%.80s: %.120s", d->socket,
                 cerr[0] ? cerr : curl_easy_strerror(rc));
        return;
    }
    int e = try_connect(d->socket);
    const char *why = e == 0        ? "connection failed"
                      : e == ENOENT ? "no such socket (is the Docker engine running?)"
                                    : strerror(e);
    snprintf(err, TLD_DOCKER_ERR, "cannot connect to Docker at unix://%.80s: %.120s", d->socket,
             why);
}

static int perform(struct tld_docker *d, const char *url, size_t max_body, long *status,
                   struct tld_sb *body, char err[TLD_DOCKER_ERR])
{
    struct sink s = {body, false};
    tld_sb_reset(body);
    body->max = max_body;
    char cerr[CURL_ERROR_SIZE] = "";
    setup(d, url);
    curl_easy_setopt(d->easy, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(d->easy, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(d->easy, CURLOPT_ERRORBUFFER, cerr);
    CURLcode rc = curl_easy_perform(d->easy);
    if (s.over) {
        snprintf(err, TLD_DOCKER_ERR, "%s: answer larger than %zu bytes", url, max_body);
        return TLD_ELIMIT;
    }
    if (rc != CURLE_OK) {
        describe(d, rc, cerr, err);
        return rc == CURLE_OPERATION_TIMEDOUT ? TLD_ETIMEOUT : TLD_EIO;
    }
    curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, status);
    return 0;
}

int tld_docker_negotiate(struct tld_docker *d, struct tld_docker_version *v,
                         char err[TLD_DOCKER_ERR])
{
    struct tld_sb body;
    tld_sb_init(&body, 1 << 20);
    long status = 0;
    int rc = perform(d, "http://localhost/version", 1 << 20, &status, &body, err);
    if (rc != 0)
        goto out;
    cJSON *j = cJSON_ParseWithLength(tld_sb_cstr(&body), body.n);
    const cJSON *api = cJSON_GetObjectItemCaseSensitive(j, "ApiVersion");
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "Version");
    if (status != 200 || !cJSON_IsString(api) || strlen(api->valuestring) >= sizeof v->api) {
        char text[160];
        tld_docker_error_text(tld_sb_view(&body), text, sizeof text);
        snprintf(err, TLD_DOCKER_ERR,
                 "%s does not answer like a Docker Engine (GET /version: HTTP %ld, %s)", d->socket,
                 status, text[0] ? text : "empty answer");
        rc = TLD_EPROTO;
    } else {
        if (!d->fixed)
            snprintf(d->api, sizeof d->api, "%s", api->valuestring);
        snprintf(v->api, sizeof v->api, "%s", d->api);
        snprintf(v->engine, sizeof v->engine, "%s",
                 cJSON_IsString(ver) ? ver->valuestring : "unknown");
    }
    cJSON_Delete(j);
out:
    tld_sb_fini(&body);
    return rc;
}

int tld_docker_get(struct tld_docker *d, const char *path, size_t max_body, long *status,
                   struct tld_sb *body, char err[TLD_DOCKER_ERR])
{
    char url[1024];
    snprintf(url, sizeof url, "http://localhost%s%s%s", d->api[0] ? "/v" : "", d->api, path);
    return perform(d, url, max_body, status, body, err);
}

struct stream_ctx {
    bool (*on_open)(void *, long);
    bool (*on_data)(void *, const char *, size_t);
    void *ctx;
    struct tld_docker *d;
    bool opened, stopped;
};

static size_t on_stream(char *p, size_t size, size_t nmemb, void *ud)
{
    struct stream_ctx *s = ud;
    size_t n = size * nmemb;
    if (!s->opened) {
        s->opened = true;
        long status = 0;
        curl_easy_getinfo(s->d->easy, CURLINFO_RESPONSE_CODE, &status);
        if (s->on_open && !s->on_open(s->ctx, status)) {
            s->stopped = true;
            return 0;
        }
    }
    if (!s->on_data(s->ctx, p, n)) {
        s->stopped = true;
        return 0;
    }
    return n;
}

int tld_docker_stream(struct tld_docker *d, const char *path,
                      bool (*on_open)(void *ctx, long status),
                      bool (*on_data)(void *ctx, const char *p, size_t n), void *ctx,
                      char err[TLD_DOCKER_ERR])
{
    char url[1024];
    snprintf(url, sizeof url, "http://localhost%s%s%s", d->api[0] ? "/v" : "", d->api, path);
    struct stream_ctx s = {on_open, on_data, ctx, d, false, false};
    char cerr[CURL_ERROR_SIZE] = "";
    setup(d, url);
    curl_easy_setopt(d->easy, CURLOPT_WRITEFUNCTION, on_stream);
    curl_easy_setopt(d->easy, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(d->easy, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(d->easy, CURLOPT_BUFFERSIZE, 65536L);
    curl_multi_add_handle(d->multi, d->easy);
    int rc = 0, running = 1;
    CURLcode result = CURLE_OK;
    while (running) {
        if (atomic_load(&d->cancel)) {
            rc = TLD_ECLOSED;
            break;
        }
        CURLMcode mc = curl_multi_perform(d->multi, &running);
        if (mc != CURLM_OK) {
            snprintf(err, TLD_DOCKER_ERR, "%.100s: %.150s", d->socket, curl_multi_strerror(mc));
            rc = TLD_EIO;
            break;
        }
        int left;
        CURLMsg *m;
        while ((m = curl_multi_info_read(d->multi, &left)))
            if (m->msg == CURLMSG_DONE)
                result = m->data.result;
        if (running)
            curl_multi_poll(d->multi, NULL, 0, 1000, NULL);
    }
    curl_multi_remove_handle(d->multi, d->easy);
    if (rc == 0) {
        if (s.stopped || atomic_load(&d->cancel)) {
            rc = TLD_ECLOSED;
        } else if (result != CURLE_OK) {
            describe(d, result, cerr, err);
            rc = TLD_EIO;
        } else if (!s.opened && on_open) {
            long status = 0;
            curl_easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
            if (!on_open(ctx, status))
                rc = TLD_ECLOSED;
        }
    }
    return rc;
}

void tld_docker_cancel(struct tld_docker *d)
{
    atomic_store(&d->cancel, true);
    pthread_mutex_lock(&d->mu);
    curl_multi_wakeup(d->multi);
    pthread_mutex_unlock(&d->mu);
}

void tld_docker_reset_cancel(struct tld_docker *d)
{
    atomic_store(&d->cancel, false);
}
