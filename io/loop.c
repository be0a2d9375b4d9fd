/* An epoll event loop that drives sans-I/O endpoints over UDP sockets, with one timer each. */
#define _GNU_SOURCE
#include "io/loop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* UDP GRO receive buffers: how many per recvmmsg, and each a whole UDP payload. */
#define IO_GRO_BATCH 16
#define IO_GRO_CAP 65536
/* Batches read from one socket per wake-up before other fds get their turn. */
#define IO_RECV_ROUNDS 8
#define IO_MAX_EVENTS 64

enum { W_SOCK, W_FD, W_TIMER, W_SIGNAL, W_WAKE };

typedef struct io_watch {
    int kind;
    int fd;
    bool dead;
    bool want_write;
    unsigned events; /* W_FD: IO_READ | IO_WRITE */
    io_endpoint *ep; /* W_SOCK */
    io_udp *sock;    /* W_SOCK */
    io_fd_cb cb;     /* W_FD */
    void *user;      /* W_FD */
    struct io_watch *next;
    struct io_watch *dead_next;
} io_watch;

struct io_endpoint {
    io_loop *loop;
    io_endpoint_ops ops;
    void *user;
    uint64_t deadline;
    size_t heap_at; /* index in the loop's timer heap; NOT_IN_HEAP without a deadline */
    bool dirty;
    bool dead;
    io_endpoint *dirty_next; /* the loop's list of endpoints to flush */
    io_endpoint *due_next;   /* endpoints whose deadline passed, in one turn */
    io_endpoint *next;
    io_endpoint *dead_next; /* next stays valid for a loop walking the list */
};

struct io_loop {
    int epfd, tfd, sfd, wakefd;
    io_endpoint *eps;
    size_t neps;
    /* What a turn visits is what has something to do, however many endpoints there are:
     * the ones kicked (a list) and the earliest deadlines (a binary min-heap). */
    io_endpoint *dirty;
    io_endpoint **heap;
    size_t heap_len, heap_cap;
    io_watch *watches;
    /* Removed during a turn; freed at its end since epoll may still name them. */
    io_watch *dead_watches;
    io_endpoint *dead_eps;
    volatile sig_atomic_t stop;
    int stop_signal;
    bool mask_changed;
    sigset_t oldmask;
    uint64_t armed; /* deadline the timerfd is set to */
    size_t batch, cap;
    io_datagram *rx;
    uint8_t *rxbuf;
    /* UDP GRO: a few buffers of a whole UDP payload each, and their contents cut into
     * datagrams again for the endpoint (allocated with the first GRO socket). */
    bool no_gro;
    io_datagram *gro_rx, *gro_split;
    uint8_t *grobuf;
    io_watch timer_w, signal_w, wake_w;
    int last_errno;
};

#define NOT_IN_HEAP SIZE_MAX

static void heap_put(io_loop *l, size_t i, io_endpoint *e)
{
    l->heap[i] = e;
    e->heap_at = i;
}

static void heap_sift(io_loop *l, size_t i)
{
    io_endpoint *e = l->heap[i];
    while (i > 0 && l->heap[(i - 1) / 2]->deadline > e->deadline) {
        heap_put(l, i, l->heap[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= l->heap_len)
            break;
        if (c + 1 < l->heap_len && l->heap[c + 1]->deadline < l->heap[c]->deadline)
            c++;
        if (l->heap[c]->deadline >= e->deadline)
            break;
        heap_put(l, i, l->heap[c]);
        i = c;
    }
    heap_put(l, i, e);
}

/* The heap has room for every endpoint (reserved when one is added). */
static void set_deadline(io_loop *l, io_endpoint *e, uint64_t deadline)
{
    e->deadline = deadline;
    if (e->heap_at != NOT_IN_HEAP) {
        size_t i = e->heap_at;
        e->heap_at = NOT_IN_HEAP;
        io_endpoint *last = l->heap[--l->heap_len];
        if (last != e) {
            heap_put(l, i, last);
            heap_sift(l, i);
        }
    }
    if (deadline != IO_TIME_NEVER && !e->dead) {
        heap_put(l, l->heap_len++, e);
        heap_sift(l, e->heap_at);
    }
}

static void mark_dirty(io_loop *l, io_endpoint *e)
{
    if (e->dirty || e->dead)
        return;
    e->dirty = true;
    e->dirty_next = l->dirty;
    l->dirty = e;
}

uint64_t io_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static int sys_fail(io_loop *l, int err)
{
    l->last_errno = errno;
    return err;
}

int io_loop_last_errno(const io_loop *l)
{
    return l->last_errno;
}

static int ep_add(io_loop *l, io_watch *w, uint32_t events)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = w;
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0)
        return sys_fail(l, IO_ERR_EPOLL);
    return IO_OK;
}

static int ep_mod(io_loop *l, io_watch *w, uint32_t events)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = events;
    ev.data.ptr = w;
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
        return sys_fail(l, IO_ERR_EPOLL);
    return IO_OK;
}

int io_loop_create(io_loop **out, const io_loop_config *cfg)
{
    if (out == NULL)
        return IO_ERR_ARG;
    *out = NULL;
    io_loop *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return IO_ERR_NOMEM;
    l->epfd = l->tfd = l->sfd = l->wakefd = -1;
    l->armed = IO_TIME_NEVER;
    l->batch = cfg != NULL && cfg->batch > 0 ? cfg->batch : 64;
    l->cap = cfg != NULL && cfg->dgram_cap > 0 ? cfg->dgram_cap : 2048;
    l->no_gro = cfg != NULL && cfg->disable_gro;
    l->rx = calloc(l->batch, sizeof(*l->rx));
    l->rxbuf = malloc(l->batch * l->cap);
    int rc = IO_ERR_NOMEM;
    if (l->rx == NULL || l->rxbuf == NULL)
        goto fail;
    rc = IO_ERR_EPOLL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0)
        goto fail;
    rc = IO_ERR_TIMER;
    l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->tfd < 0)
        goto fail;
    rc = IO_ERR_EPOLL;
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wakefd < 0)
        goto fail;
    l->timer_w.kind = W_TIMER;
    l->timer_w.fd = l->tfd;
    l->wake_w.kind = W_WAKE;
    l->wake_w.fd = l->wakefd;
    if ((rc = ep_add(l, &l->timer_w, EPOLLIN)) < 0 || (rc = ep_add(l, &l->wake_w, EPOLLIN)) < 0)
        goto fail;
    *out = l;
    return IO_OK;
fail:
    if (errno != 0)
        l->last_errno = errno;
    io_loop_destroy(l);
    return rc;
}

static void free_dead(io_loop *l)
{
    while (l->dead_watches != NULL) {
        io_watch *w = l->dead_watches;
        l->dead_watches = w->dead_next;
        free(w);
    }
    /* An endpoint kicked before it was removed leaves the list before it is freed. */
    for (io_endpoint **p = &l->dirty; l->dead_eps != NULL && *p != NULL;) {
        if ((*p)->dead)
            *p = (*p)->dirty_next;
        else
            p = &(*p)->dirty_next;
    }
    while (l->dead_eps != NULL) {
        io_endpoint *e = l->dead_eps;
        l->dead_eps = e->dead_next;
        free(e);
    }
}

void io_loop_destroy(io_loop *l)
{
    if (l == NULL)
        return;
    while (l->eps != NULL)
        io_loop_remove_endpoint(l, l->eps);
    while (l->watches != NULL)
        io_loop_del_fd(l, l->watches->fd);
    free_dead(l);
    if (l->sfd >= 0)
        close(l->sfd);
    if (l->mask_changed) {
        /* Consume what is pending so that unblocking cannot kill the process. */
        sigset_t set;
        struct timespec zero = {0, 0};
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        while (sigtimedwait(&set, NULL, &zero) > 0)
            ;
        pthread_sigmask(SIG_SETMASK, &l->oldmask, NULL);
    }
    if (l->tfd >= 0)
        close(l->tfd);
    if (l->wakefd >= 0)
        close(l->wakefd);
    if (l->epfd >= 0)
        close(l->epfd);
    free(l->rx);
    free(l->rxbuf);
    free(l->gro_rx);
    free(l->gro_split);
    free(l->grobuf);
    free(l->heap);
    free(l);
}

int io_loop_add_endpoint(io_loop *l, const io_endpoint_ops *ops, void *user, io_endpoint **out)
{
    if (l == NULL || ops == NULL || ops->flush == NULL || out == NULL)
        return IO_ERR_ARG;
    if (l->neps == l->heap_cap) {
        size_t ncap = l->heap_cap ? 2 * l->heap_cap : 16;
        io_endpoint **nh = realloc(l->heap, ncap * sizeof(*nh));
        if (nh == NULL)
            return IO_ERR_NOMEM;
        l->heap = nh;
        l->heap_cap = ncap;
    }
    io_endpoint *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return IO_ERR_NOMEM;
    e->loop = l;
    e->ops = *ops;
    e->user = user;
    e->deadline = IO_TIME_NEVER;
    e->heap_at = NOT_IN_HEAP;
    mark_dirty(l, e); /* a client has something to say before anything arrives */
    e->next = l->eps;
    l->eps = e;
    l->neps++;
    *out = e;
    return IO_OK;
}

static void unlink_watch(io_loop *l, io_watch *w)
{
    for (io_watch **p = &l->watches; *p != NULL; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    (void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    w->dead = true;
    w->dead_next = l->dead_watches;
    l->dead_watches = w;
}

void io_loop_remove_endpoint(io_loop *l, io_endpoint *ep)
{
    if (l == NULL || ep == NULL)
        return;
    io_watch *w = l->watches;
    while (w != NULL) {
        io_watch *next = w->next;
        if (w->kind == W_SOCK && w->ep == ep)
            unlink_watch(l, w);
        w = next;
    }
    for (io_endpoint **p = &l->eps; *p != NULL; p = &(*p)->next) {
        if (*p == ep) {
            *p = ep->next;
            break;
        }
    }
    set_deadline(l, ep, IO_TIME_NEVER);
    l->neps--;
    ep->dead = true;
    ep->dead_next = l->dead_eps;
    l->dead_eps = ep;
}

static io_watch *find_fd(io_loop *l, int fd)
{
    for (io_watch *w = l->watches; w != NULL; w = w->next)
        if (w->fd == fd)
            return w;
    return NULL;
}

int io_loop_add_socket(io_loop *l, io_endpoint *ep, io_udp *sock)
{
    if (l == NULL || ep == NULL || sock == NULL || sock->fd < 0)
        return IO_ERR_ARG;
    if (find_fd(l, sock->fd) != NULL)
        return IO_ERR_EXISTS;
    io_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return IO_ERR_NOMEM;
    w->kind = W_SOCK;
    w->fd = sock->fd;
    w->ep = ep;
    w->sock = sock;
    if (!l->no_gro && l->grobuf == NULL) {
        l->gro_rx = calloc(IO_GRO_BATCH, sizeof(*l->gro_rx));
        l->gro_split = calloc(IO_GRO_BATCH * IO_GSO_MAX_SEGMENTS, sizeof(*l->gro_split));
        l->grobuf = malloc(IO_GRO_BATCH * (size_t)IO_GRO_CAP);
        if (l->gro_rx == NULL || l->gro_split == NULL || l->grobuf == NULL) {
            free(l->gro_rx);
            free(l->gro_split);
            free(l->grobuf);
            l->gro_rx = l->gro_split = NULL;
            l->grobuf = NULL;
        }
    }
    if (l->grobuf != NULL)
        io_udp_set_gro(sock, true); /* stays off where the kernel has no GRO */
    int rc = ep_add(l, w, EPOLLIN);
    if (rc < 0) {
        free(w);
        return rc;
    }
    w->next = l->watches;
    l->watches = w;
    return IO_OK;
}

int io_loop_remove_socket(io_loop *l, io_udp *sock)
{
    io_watch *w = sock != NULL ? find_fd(l, sock->fd) : NULL;
    if (w == NULL || w->kind != W_SOCK)
        return IO_ERR_NOTFOUND;
    unlink_watch(l, w);
    return IO_OK;
}

int io_endpoint_want_write(io_endpoint *ep, io_udp *sock)
{
    io_watch *w = find_fd(ep->loop, sock->fd);
    if (w == NULL || w->kind != W_SOCK || w->ep != ep)
        return IO_ERR_NOTFOUND;
    if (w->want_write)
        return IO_OK;
    int rc = ep_mod(ep->loop, w, EPOLLIN | EPOLLOUT);
    if (rc == IO_OK)
        w->want_write = true;
    return rc;
}

void io_endpoint_kick(io_endpoint *ep)
{
    mark_dirty(ep->loop, ep);
}

void io_endpoint_set_timer(io_endpoint *ep, uint64_t deadline_us)
{
    set_deadline(ep->loop, ep, deadline_us);
}

uint64_t io_endpoint_timer(const io_endpoint *ep)
{
    return ep->deadline;
}

static uint32_t to_epoll(unsigned events)
{
    return ((events & IO_READ) ? (uint32_t)EPOLLIN : 0u) |
           ((events & IO_WRITE) ? (uint32_t)EPOLLOUT : 0u);
}

int io_loop_add_fd(io_loop *l, int fd, unsigned events, io_fd_cb cb, void *user)
{
    if (l == NULL || fd < 0 || cb == NULL)
        return IO_ERR_ARG;
    if (find_fd(l, fd) != NULL)
        return IO_ERR_EXISTS;
    io_watch *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return IO_ERR_NOMEM;
    w->kind = W_FD;
    w->fd = fd;
    w->cb = cb;
    w->user = user;
    w->events = events;
    int rc = ep_add(l, w, to_epoll(events));
    if (rc < 0) {
        free(w);
        return rc;
    }
    w->next = l->watches;
    l->watches = w;
    return IO_OK;
}

int io_loop_mod_fd(io_loop *l, int fd, unsigned events)
{
    io_watch *w = find_fd(l, fd);
    if (w == NULL || w->kind != W_FD)
        return IO_ERR_NOTFOUND;
    int rc = ep_mod(l, w, to_epoll(events));
    if (rc == IO_OK)
        w->events = events;
    return rc;
}

int io_loop_del_fd(io_loop *l, int fd)
{
    io_watch *w = find_fd(l, fd);
    if (w == NULL)
        return IO_ERR_NOTFOUND;
    unlink_watch(l, w);
    return IO_OK;
}

int io_loop_catch_signals(io_loop *l)
{
    sigset_t set;
    if (l == NULL)
        return IO_ERR_ARG;
    if (l->sfd >= 0)
        return IO_OK;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, &l->oldmask) != 0)
        return sys_fail(l, IO_ERR_SIGNAL);
    l->mask_changed = true;
    l->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (l->sfd < 0)
        return sys_fail(l, IO_ERR_SIGNAL);
    l->signal_w.kind = W_SIGNAL;
    l->signal_w.fd = l->sfd;
    return ep_add(l, &l->signal_w, EPOLLIN);
}

void io_loop_stop(io_loop *l)
{
    uint64_t one = 1;
    l->stop = 1;
    /* Wake epoll_wait; write(2) is async-signal-safe. */
    ssize_t r = write(l->wakefd, &one, sizeof(one));
    (void)r;
}

/* Point the timerfd at the earliest endpoint deadline. */
static int arm_timer(io_loop *l)
{
    uint64_t next = l->heap_len > 0 ? l->heap[0]->deadline : IO_TIME_NEVER;
    if (next == l->armed)
        return IO_OK;
    struct itimerspec its;
    memset(&its, 0, sizeof(its));
    if (next != IO_TIME_NEVER) {
        uint64_t t = next > 0 ? next : 1; /* an all-zero value would disarm */
        its.it_value.tv_sec = (time_t)(t / 1000000u);
        its.it_value.tv_nsec = (long)(t % 1000000u) * 1000;
    }
    if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        return sys_fail(l, IO_ERR_TIMER);
    l->armed = next;
    return IO_OK;
}

/* Each endpoint kicked before this pass is flushed once; kicks during it wait for the next
 * (they make the loop's next wait zero). */
static void flush_dirty(io_loop *l)
{
    io_endpoint *e = l->dirty;
    l->dirty = NULL;
    while (e != NULL) {
        io_endpoint *next = e->dirty_next;
        e->dirty = false;
        if (!e->dead)
            set_deadline(l, e, e->ops.flush(e->user, io_now_us()));
        e = next;
    }
}

static void drain(int fd, size_t size)
{
    uint8_t buf[sizeof(struct signalfd_siginfo)];
    while (read(fd, buf, size) == (ssize_t)size)
        ;
}

/* A GRO socket: a few whole-payload buffers, each cut back into its datagrams. */
static void on_gro_socket(io_loop *l, io_watch *w)
{
    io_endpoint *ep = w->ep;
    for (int round = 0; round < IO_RECV_ROUNDS && !w->dead && !ep->dead; round++) {
        for (size_t i = 0; i < IO_GRO_BATCH; i++) {
            l->gro_rx[i].data = l->grobuf + i * (size_t)IO_GRO_CAP;
            l->gro_rx[i].cap = IO_GRO_CAP;
        }
        int n = io_udp_recv(w->sock, l->gro_rx, IO_GRO_BATCH);
        if (n <= 0)
            break;
        size_t k = 0;
        for (int i = 0; i < n; i++) {
            const io_datagram *x = &l->gro_rx[i];
            if (x->truncated)
                continue;
            size_t seg = x->segment_size ? x->segment_size : x->len;
            if (seg > l->cap)
                continue; /* larger than dgram_cap: dropped, as without GRO */
            for (size_t off = 0; off < x->len && k < IO_GRO_BATCH * IO_GSO_MAX_SEGMENTS;
                 off += seg) {
                io_datagram *d = &l->gro_split[k++];
                *d = *x;
                d->data = x->data + off;
                d->len = x->len - off < seg ? x->len - off : seg;
                d->cap = d->len;
                d->segment_size = 0;
            }
            if (x->len == 0 && k < IO_GRO_BATCH * IO_GSO_MAX_SEGMENTS)
                l->gro_split[k++] = *x;
        }
        mark_dirty(l, ep);
        /* In batches of the configured size, as without GRO. */
        uint64_t now = io_now_us();
        for (size_t at = 0; at < k && ep->ops.on_datagrams != NULL && !w->dead && !ep->dead;
             at += l->batch) {
            io_batch b = {w->sock, l->gro_split + at, k - at < l->batch ? k - at : l->batch, now};
            ep->ops.on_datagrams(ep->user, &b);
        }
        if ((size_t)n < IO_GRO_BATCH)
            break;
    }
}

static void on_socket(io_loop *l, io_watch *w, uint32_t events)
{
    io_endpoint *ep = w->ep;
    if (events & EPOLLOUT) {
        if (w->want_write && ep_mod(l, w, EPOLLIN) == IO_OK)
            w->want_write = false;
        mark_dirty(l, ep);
    }
    if (!(events & (EPOLLIN | EPOLLERR)))
        return;
    if (w->sock->gro_enabled && l->grobuf != NULL) {
        on_gro_socket(l, w);
        return;
    }
    for (int round = 0; round < IO_RECV_ROUNDS && !w->dead && !ep->dead; round++) {
        for (size_t i = 0; i < l->batch; i++) {
            l->rx[i].data = l->rxbuf + i * l->cap;
            l->rx[i].cap = l->cap;
        }
        int n = io_udp_recv(w->sock, l->rx, l->batch);
        if (n <= 0)
            break;
        /* Datagrams cut by a short buffer are useless to QUIC: drop them. */
        size_t keep = 0;
        for (int i = 0; i < n; i++) {
            if (!l->rx[i].truncated) {
                io_datagram t = l->rx[keep];
                l->rx[keep++] = l->rx[i];
                l->rx[i] = t;
            }
        }
        mark_dirty(l, ep);
        if (keep > 0 && ep->ops.on_datagrams != NULL) {
            io_batch b = {w->sock, l->rx, keep, io_now_us()};
            ep->ops.on_datagrams(ep->user, &b);
        }
        if ((size_t)n < l->batch)
            break;
    }
}

static int result(io_loop *l)
{
    int sig = l->stop_signal;
    l->stop = 0;
    l->stop_signal = 0;
    return sig;
}

int io_loop_run_once(io_loop *l, int timeout_ms)
{
    struct epoll_event evs[IO_MAX_EVENTS];
    if (l->stop)
        return result(l);
    flush_dirty(l);
    free_dead(l);
    int rc = arm_timer(l);
    if (rc < 0)
        return rc;
    if (l->stop)
        return result(l);
    if (l->dirty != NULL)
        timeout_ms = 0; /* a flush asked for another flush */
    int n = epoll_wait(l->epfd, evs, IO_MAX_EVENTS, timeout_ms);
    if (n < 0) {
        if (errno != EINTR)
            return sys_fail(l, IO_ERR_EPOLL);
        n = 0;
    }
    for (int i = 0; i < n; i++) {
        io_watch *w = evs[i].data.ptr;
        if (w->dead)
            continue;
        switch (w->kind) {
        case W_TIMER:
            drain(l->tfd, sizeof(uint64_t));
            l->armed = IO_TIME_NEVER; /* expired: re-arm even for the same deadline */
            break;
        case W_WAKE:
            drain(l->wakefd, sizeof(uint64_t));
            break;
        case W_SIGNAL: {
            struct signalfd_siginfo si;
            while (read(l->sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                l->stop_signal = (int)si.ssi_signo;
                l->stop = 1;
            }
            break;
        }
        case W_SOCK:
            on_socket(l, w, evs[i].events);
            break;
        case W_FD: {
            unsigned ev = 0;
            if (evs[i].events & (EPOLLIN | EPOLLPRI))
                ev |= IO_READ;
            if (evs[i].events & EPOLLOUT)
                ev |= IO_WRITE;
            if (evs[i].events & (EPOLLHUP | EPOLLERR | EPOLLRDHUP))
                ev |= IO_HANGUP;
            w->cb(w->user, w->fd, ev, io_now_us());
            for (io_endpoint *e = l->eps; e != NULL; e = e->next)
                mark_dirty(l, e);
            break;
        }
        }
    }
    /* The endpoints whose deadline passed, each once (a timeout may set the next). */
    uint64_t now = io_now_us();
    io_endpoint *due = NULL, **tail = &due;
    while (l->heap_len > 0 && l->heap[0]->deadline <= now) {
        io_endpoint *e = l->heap[0]; /* the earliest first */
        set_deadline(l, e, IO_TIME_NEVER);
        e->due_next = NULL;
        *tail = e;
        tail = &e->due_next;
    }
    for (io_endpoint *e = due; e != NULL; e = e->due_next) {
        if (e->dead)
            continue;
        mark_dirty(l, e);
        if (e->ops.on_timeout != NULL)
            e->ops.on_timeout(e->user, now);
    }
    flush_dirty(l);
    free_dead(l);
    if (l->stop)
        return result(l);
    return 1;
}

int io_loop_run(io_loop *l)
{
    if (l == NULL)
        return IO_ERR_ARG;
    for (;;) {
        int rc = io_loop_run_once(l, -1);
        if (rc != 1)
            return rc;
    }
}
