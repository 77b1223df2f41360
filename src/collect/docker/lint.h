/*
 * Docker listener internals shared by listener.c (queue, reader thread, lifecycle) and
 * writer.c (spooling, de-duplication, inspect, reconciliation, checkpoints).
 */
#ifndef TLD_COLLECT_DOCKER_LINT_H
#define TLD_COLLECT_DOCKER_LINT_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "collect/ckpt.h"
#include "collect/docker/client.h"
#include "collect/docker/events.h"
#include "collect/docker/listener.h"

#define SINCE_SLACK_NS    1000000000LL /* resume this much before the cursor */
#define ENGINE_REPLAY_MAX 256          /* events dockerd keeps for since= */
#define RECENT_MAX        4096         /* hashes of recently spooled events */
#define READER_SEEN       1024         /* hashes of recently queued events (reader side) */
#define KNOWN_MAX         4096         /* containers whose state is tracked */
#define QUEUE_BYTES_MAX   (64u << 20)
#define RECONCILE_IDLE_NS 300000000LL /* no event for this long: the replay is over */
#define CHANGES_MAX       64
#define GARBAGE_LIMIT     100 /* garbage lines on one connection before dropping it */

enum qkind { Q_EVENT, Q_CONNECTED, Q_DISCONNECTED, Q_OVERFLOW, Q_STATUS };

struct qitem {
    enum qkind kind;
    char *data; /* Q_EVENT: raw event; Q_STATUS: status fields (JSON members, no braces) */
    size_t n;
    char action[24]; /* Q_STATUS */
    int64_t t_ns;    /* when it was queued */
    /* Q_CONNECTED */
    uint64_t conn_id;
    bool reconnect;
    int64_t gap_ns;
    char engine[64], api[16];
};

struct recent {
    int64_t ns;
    uint64_t hash;
};

enum cstate { CS_CREATED, CS_RUNNING, CS_PAUSED, CS_EXITED };

struct known {
    char id[65];
    char name[128];
    char image[256];
    enum cstate state;
};

#define TLD_INSPECT_SLOTS 64

enum inspect_state { INSPECT_WANTED = 1, INSPECT_RUNNING, INSPECT_DONE };

struct inspect_slot {
    bool used;
    enum inspect_state state;
    uint64_t order;
    char id[65];
    int rc;
    long status;
    struct tld_sb body;
    char err[TLD_DOCKER_ERR];
};

struct tld_listener {
    struct tld_docker_config cfg; /* copy of the scalars; strings borrowed from the config */
    struct tld_spool *spool;
    unsigned holder;
    char *cursor_file;
    struct tld_log *log;
    struct tld_meta *meta;
    struct tld_clock clock;
    int64_t backoff_max_ns;

    /* queue (reader -> writer) */
    pthread_mutex_t qmu;
    pthread_cond_t qcond;  /* item added */
    pthread_cond_t qspace; /* item removed */
    struct qitem *q;
    unsigned qcap, qhead, qlen;
    size_t qbytes;

    atomic_bool stopping;
    pthread_t t_reader, t_writer;
    bool started;
    struct tld_docker *rclient; /* reader's connection */
    struct tld_docker *wclient; /* writer's connection (inspect, list) */
    struct tld_docker *iclient; /* inspect prefetcher's connection */
    /* inspect prefetching (inspect.c) */
    pthread_mutex_t imu;
    pthread_cond_t iwork, idone;
    pthread_t t_inspect;
    bool iready, istarted;
    struct inspect_slot islots[TLD_INSPECT_SLOTS];
    uint64_t iorder;
    int64_t last_queued_ns;            /* reader: timeNano of the last event queued */
    uint64_t seen[READER_SEEN];        /* reader: hashes of the events it queued last */
    uint64_t conn_id;                  /* reader: connections made */
    atomic_uint_fast64_t overlap_conn; /* connection whose replay repeated a known event */
    unsigned nseen, seen_next;

    /* writer state */
    int64_t cursor_ns;  /* highest timeNano spooled */
    uint64_t last_hash; /* hash of the last event spooled */
    uint64_t last_seq;  /* last record the listener pushed and committed */
    uint64_t ckpt_seq;  /* spool sequence number of the last checkpoint */
    struct recent recent[RECENT_MAX];
    unsigned nrecent, recent_next;
    struct known *known;
    unsigned nknown;
    bool known_valid; /* the table reflects some listing or checkpoint */
    bool dirty;
    int64_t last_checkpoint_ns;
    struct tld_ckpt *ckpt;
    /* reconciliation after a connect */
    bool rec_pending, rec_overlap;
    int64_t rec_t_list, rec_t_connect, rec_last_event_ns;
    int64_t rec_cursor; /* cursor when the connection was made */
    uint64_t rec_conn;  /* the connection being reconciled */
    uint64_t rec_replayed;
    struct known *rec_list;
    unsigned rec_nlist;
    bool rec_list_ok;
    char *connected_since; /* cursor at connect, for messages */
    char *docker_root;     /* the engine's DockerRootDir (for inspect from disk), or NULL */

    pthread_mutex_t smu;
    struct tld_listener_stats st;
};

/* Copy a C string into a fixed buffer, cut to fit. */
static inline void scopy(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = 0;
}

/* writer.c */
void *tld_listener_writer(void *arg);
int tld_listener_load(struct tld_listener *l);
void tld_listener_checkpoint(struct tld_listener *l);
extern const struct tld_ckpt_ops tld_listener_ckpt_ops;
/* The docker object inside one of our records' text (for the start-up scan). */
struct tld_sv tld_listener_docker_object(struct tld_sv text);
void tld_listener_apply(struct tld_listener *l, const struct tld_docker_event *ev);

/* inspect.c */
int tld_inspect_start(struct tld_listener *l);
void tld_inspect_stop(struct tld_listener *l);
/* Ask for a container's inspect now (reader thread). */
void tld_inspect_request(struct tld_listener *l, const char *id);
/* The oldest prefetched answer for id, waiting up to timeout_ms if it is being fetched: 0 with
 * status and body, an error from the request, TLD_ETIMEOUT (the request is then forgotten), or
 * TLD_ENOTFOUND when nothing was prefetched. */
int tld_inspect_take(struct tld_listener *l, const char *id, int timeout_ms, long *status,
                     struct tld_sb *body, char err[TLD_DOCKER_ERR]);

/* listener.c: queue helpers used by both threads */
bool tld_listener_pop(struct tld_listener *l, struct qitem *it, int timeout_ms);
void tld_listener_status(struct tld_listener *l, const char *action, const char *fields);

#endif
