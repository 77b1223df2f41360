/* TCP server skeleton (see server.h). The cancel descriptor is an eventfd written once at stop;
 * it stays readable, so every poll() that includes it returns from then on. */
#include "manager/server.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/err.h"

struct tld_srv {
    struct tld_srv_opts o;
    int lfd;
    unsigned port;
    int cancel_fd;
    pthread_t acceptor;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    unsigned active;
    uint64_t accepted, refused;
};

struct job {
    struct tld_srv *s;
    int fd;
    char addr[TLD_NET_ADDR_MAX];
};

int tld_srv_new(const struct tld_srv_opts *o, struct tld_srv **out)
{
    *out = NULL;
    struct tld_srv *s = calloc(1, sizeof *s);
    if (!s)
        return TLD_ENOMEM;
    s->o = *o;
    s->lfd = -1;
    s->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    int rc = s->cancel_fd < 0 ? TLD_EIO : 0;
    if (rc == 0)
        rc = tld_net_listen(o->host, o->port, 128, &s->lfd, &s->port);
    if (rc) {
        int e = errno;
        tld_srv_free(s);
        errno = e;
        return rc;
    }
    *out = s;
    return 0;
}

unsigned tld_srv_port(const struct tld_srv *s)
{
    return s->port;
}

static void *handler_main(void *arg)
{
    struct job *j = arg;
    struct tld_srv *s = j->s;
    s->o.handler(s->o.ctx, j->fd, j->addr, s->cancel_fd);
    free(j);
    pthread_mutex_lock(&s->mu);
    s->active--;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void *acceptor_main(void *arg)
{
    struct tld_srv *s = arg;
    for (;;) {
        int rc = tld_net_wait(s->lfd, POLLIN, -1, s->cancel_fd);
        if (rc == TLD_ECLOSED)
            break;
        int fd;
        struct job *j = malloc(sizeof *j);
        if (!j) {
            usleep(10000);
            continue;
        }
        rc = tld_net_accept(s->lfd, &fd, j->addr);
        if (rc) {
            free(j);
            if (rc != TLD_EAGAIN)
                usleep(10000); /* EMFILE and friends: do not spin */
            continue;
        }
        pthread_mutex_lock(&s->mu);
        s->accepted++;
        bool room = s->active < s->o.max_conns;
        if (room)
            s->active++;
        else
            s->refused++;
        pthread_mutex_unlock(&s->mu);
        if (!room) {
            close(fd);
            free(j);
            continue;
        }
        j->s = s;
        j->fd = fd;
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&at, 256 * 1024);
        if (pthread_create(&t, &at, handler_main, j) != 0) {
            close(fd);
            free(j);
            pthread_mutex_lock(&s->mu);
            s->active--;
            pthread_mutex_unlock(&s->mu);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

int tld_srv_start(struct tld_srv *s)
{
    if (pthread_create(&s->acceptor, NULL, acceptor_main, s) != 0)
        return TLD_ENOMEM;
    s->started = true;
    return 0;
}

void tld_srv_stop(struct tld_srv *s)
{
    if (!s)
        return;
    uint64_t one = 1;
    if (write(s->cancel_fd, &one, sizeof one) < 0) {
        /* an eventfd write fails only on overflow, which a single write cannot cause */
    }
    if (s->started) {
        pthread_join(s->acceptor, NULL);
        s->started = false;
    }
    if (s->lfd >= 0) {
        close(s->lfd);
        s->lfd = -1;
    }
    pthread_mutex_lock(&s->mu);
    while (s->active)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void tld_srv_free(struct tld_srv *s)
{
    if (!s)
        return;
    tld_srv_stop(s);
    if (s->cancel_fd >= 0)
        close(s->cancel_fd);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

void tld_srv_stats(struct tld_srv *s, struct tld_srv_stats *st)
{
    pthread_mutex_lock(&s->mu);
    st->accepted = s->accepted;
    st->refused_busy = s->refused;
    st->active = s->active;
    pthread_mutex_unlock(&s->mu);
}
