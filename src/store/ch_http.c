/*
 * ClickHouse over HTTP: one request per statement, the SQL in the URL, an INSERT's rows as the
 * request body, and bound values as the external table `_v` in a multipart body. The response
 * body is kept for the caller; a status other than 200 is an error whose text is ClickHouse's.
 * A statement goes to one endpoint; reads and DDL move on to the next endpoint when one cannot
 * be reached, inserts are routed by the caller (ch_cluster.c).
 */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "store/ch_impl.h"

#define RESPONSE_MAX (256u << 20)

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct tld_sb *sb = arg;
    tld_sb_append(sb, p, size * n);
    return sb->oom || sb->truncated ? 0 : size * n;
}

static int fail(struct tld_ch *s, int err, const char *what, const char *detail)
{
    snprintf(s->err, sizeof(s->err), "%s: %.200s", what, detail);
    return err;
}

/* The URL: base?query=...[&_v_structure=...], into `url`. */
static int make_url(struct tld_ch *s, const char *base, const struct tld_chq *q, struct tld_sb *url)
{
    bool values = q->nvalues > 0;
    char *esc = curl_easy_escape(s->curl, tld_sb_cstr(&q->sql), (int)q->sql.n);
    if (!esc)
        return TLD_ENOMEM;
    tld_sb_append_cstr(url, base);
    tld_sb_append_cstr(url, strchr(base, '?') ? "&query=" : "?query=");
    tld_sb_append_cstr(url, esc);
    curl_free(esc);
    if (q->url_extra)
        tld_sb_append_cstr(url, q->url_extra);
    if (s->cluster) /* see struct tld_ch: reads go where inserts went; a lagging one is avoided */
        tld_sb_append_cstr(url, "&load_balancing=in_order&prefer_localhost_replica=0"
                                "&max_replica_delay_for_distributed_queries=5");
    if (values)
        tld_sb_append_cstr(url, "&_v_structure=i%20UInt32%2C%20s%20String%2C%20n%20Int64%2C"
                                "%20d%20Float64");
    return url->oom || url->truncated ? TLD_ENOMEM : 0;
}

int tld_ch_run_at(struct tld_ch *s, size_t at, struct tld_chq *q, const void *body, size_t n)
{
    if (q->rc)
        return q->rc;
    if (q->sql.oom || q->values.oom)
        return TLD_ENOMEM;
    struct tld_sb url;
    tld_sb_init(&url, 8u << 20);
    bool values = q->nvalues > 0;
    int rc = make_url(s, s->urls[at], q, &url);
    curl_mime *mime = NULL;
    if (!rc) {
        curl_easy_reset(s->curl);
        curl_easy_setopt(s->curl, CURLOPT_URL, tld_sb_cstr(&url));
        curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &s->resp);
        curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 300L);
        curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, 5L);
        curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
        if (values) {
            mime = curl_mime_init(s->curl);
            curl_mimepart *part = curl_mime_addpart(mime);
            curl_mime_name(part, "_v");
            curl_mime_filename(part, "_v");
            curl_mime_data(part, q->values.p ? q->values.p : "", q->values.n);
            curl_easy_setopt(s->curl, CURLOPT_MIMEPOST, mime);
        } else {
            curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body ? body : "");
            curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? n : 0));
        }
    }
    tld_sb_reset(&s->resp);
    if (!rc) {
        CURLcode cc = curl_easy_perform(s->curl);
        long status = 0;
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        /* Refused: nothing was sent (an insert surely did not happen). Any other transport
         * failure may come after the server got the request. */
        if (cc == CURLE_COULDNT_CONNECT)
            rc = fail(s, TLD_ECLOSED, s->urls[at], curl_easy_strerror(cc));
        else if (cc != CURLE_OK)
            rc = fail(s, cc == CURLE_OPERATION_TIMEDOUT ? TLD_ETIMEOUT : TLD_EIO, s->urls[at],
                      curl_easy_strerror(cc));
        else if (status != 200)
            rc = fail(s, TLD_EPROTO, s->urls[at], tld_sb_cstr(&s->resp));
    }
    curl_mime_free(mime);
    tld_sb_fini(&url);
    return rc;
}

int tld_ch_run(struct tld_ch *s, struct tld_chq *q, const void *body, size_t n)
{
    int rc = TLD_ECLOSED;
    /* An answer with an error status is the statement's own failure: no other endpoint would
     * do better. A transport failure is the endpoint's: the next one gets the statement. */
    for (size_t i = 0; i < s->nurls; i++) {
        size_t at = (s->cur + i) % s->nurls;
        rc = tld_ch_run_at(s, at, q, body, n);
        if (rc != TLD_ECLOSED && rc != TLD_EIO && rc != TLD_ETIMEOUT) {
            s->cur = at;
            break;
        }
        if (body)
            break; /* an insert is never sent twice from here */
    }
    return rc == TLD_EPROTO ? TLD_EIO : rc;
}

int tld_ch_exec(struct tld_ch *s, const char *sql)
{
    struct tld_chq q;
    tld_chq_init(&q);
    tld_chq_emit(&q, sql);
    int rc = tld_ch_run(s, &q, NULL, 0);
    tld_chq_fini(&q);
    return rc;
}

static bool varint(struct tld_chrd *r, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 64 && r->p < r->end; shift += 7) {
        unsigned char b = *r->p++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

bool tld_chrd_u64(struct tld_chrd *r, uint64_t *v)
{
    if (r->end - r->p < 8)
        return false;
    memcpy(v, r->p, 8); /* RowBinary is little-endian, as is every target of this code */
    r->p += 8;
    return true;
}

bool tld_chrd_str(struct tld_chrd *r, const char **p, size_t *n)
{
    uint64_t len;
    if (!varint(r, &len) || (uint64_t)(r->end - r->p) < len)
        return false;
    *p = (const char *)r->p;
    *n = (size_t)len;
    r->p += len;
    return true;
}
