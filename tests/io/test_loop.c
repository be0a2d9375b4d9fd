/* Tests for io/loop.c: timers, datagram dispatch, flush, extra fds, stop and signals. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "io/loop.h"
#include "io/udp.h"

/* Generous: a loaded 2-core machine may wake us late, never early. */
#define LATE_US 400000

static int setup_alarm(void **state)
{
    (void)state;
    alarm(20);
    return 0;
}

static int teardown_alarm(void **state)
{
    (void)state;
    alarm(0);
    return 0;
}

/* A timer-only endpoint: flush hands out a scripted list of deadlines. */
typedef struct timer_ep {
    io_loop *loop;
    uint64_t deadlines[4]; /* relative to start, in us; 0 ends the script */
    size_t next;
    uint64_t start;
    uint64_t armed; /* absolute deadline last returned */
    uint64_t fired[4];
    size_t n_fired;
    size_t flushes;
} timer_ep;

static void timer_on_timeout(void *user, uint64_t now)
{
    timer_ep *t = user;
    assert_true(t->n_fired < 4);
    assert_true(now >= t->armed); /* never early */
    t->fired[t->n_fired++] = now;
    if (t->deadlines[t->next] == 0)
        io_loop_stop(t->loop);
}

static uint64_t timer_flush(void *user, uint64_t now)
{
    timer_ep *t = user;
    (void)now;
    t->flushes++;
    /* A new deadline only after the previous one fired (or at the start). */
    if (t->next == t->n_fired && t->next < 4 && t->deadlines[t->next] != 0) {
        t->armed = t->start + t->deadlines[t->next++];
        return t->armed;
    }
    return t->n_fired < t->next ? t->armed : IO_TIME_NEVER;
}

static void test_timer_fires_on_time(void **state)
{
    (void)state;
    io_loop *l;
    assert_int_equal(io_loop_create(&l, NULL), IO_OK);
    timer_ep t = {.loop = l, .deadlines = {100000, 150000, 150000}};
    t.start = io_now_us();
    io_endpoint *ep;
    static const io_endpoint_ops ops = {NULL, timer_on_timeout, timer_flush};
    assert_int_equal(io_loop_add_endpoint(l, &ops, &t, &ep), IO_OK);
    assert_int_equal(io_loop_run(l), 0);
    assert_int_equal(t.n_fired, 3);
    const uint64_t want[3] = {100000, 150000, 150000};
    for (size_t i = 0; i < 3; i++) {
        uint64_t at = t.fired[i] - t.start;
        if (at < want[i] || at > want[i] + LATE_US)
            fail_msg("timer %zu fired at +%llu us, wanted +%llu", i, (unsigned long long)at,
                     (unsigned long long)want[i]);
    }
    /* The third deadline was already past when set: it fires at once. */
    assert_true(t.fired[2] - t.fired[1] < LATE_US);
    assert_true(t.flushes >= 4); /* once at start, once after each timeout */
    assert_int_equal(io_endpoint_timer(ep), IO_TIME_NEVER);
    io_loop_destroy(l);
}

/* A deadline moved earlier is honoured; one cancelled never fires. */
static void test_timer_replace(void **state)
{
    (void)state;
    io_loop *l;
    assert_int_equal(io_loop_create(&l, NULL), IO_OK);
    timer_ep t = {.loop = l, .deadlines = {5000000}};
    t.start = io_now_us();
    io_endpoint *ep;
    static const io_endpoint_ops ops = {NULL, timer_on_timeout, timer_flush};
    assert_int_equal(io_loop_add_endpoint(l, &ops, &t, &ep), IO_OK);
    assert_int_equal(io_loop_run_once(l, 0), 1); /* flushed: 5 s armed */
    assert_int_equal(io_endpoint_timer(ep), t.start + 5000000);
    t.armed = t.start + 50000;
    io_endpoint_set_timer(ep, t.armed);
    uint64_t end = io_now_us() + 3000000;
    while (t.n_fired == 0 && io_now_us() < end)
        assert_true(io_loop_run_once(l, 1000) >= 0);
    assert_int_equal(t.n_fired, 1);
    assert_true(t.fired[0] - t.start >= 50000 && t.fired[0] - t.start < 50000 + LATE_US);
    /* Cancel: nothing fires within 200 ms although 100 ms was set first. */
    io_endpoint_set_timer(ep, io_now_us() + 100000);
    io_endpoint_set_timer(ep, IO_TIME_NEVER);
    end = io_now_us() + 200000;
    while (io_now_us() < end)
        assert_true(io_loop_run_once(l, 50) >= 0);
    assert_int_equal(t.n_fired, 1);
    io_loop_destroy(l);
}

/* Many endpoints: each deadline fires once and never early, the earliest first; a turn
 * flushes only the endpoints kicked (a kicked endpoint removed before the turn is not). */
#define MANY 2000
typedef struct many_ep {
    uint64_t deadline; /* absolute; IO_TIME_NEVER once fired */
    uint64_t fired_at;
    size_t flushes, fired;
} many_ep;

static uint64_t many_last_fire;
static bool many_in_order = true;

static void many_on_timeout(void *user, uint64_t now)
{
    many_ep *m = user;
    assert_true(now >= m->deadline);
    if (m->deadline < many_last_fire)
        many_in_order = false;
    many_last_fire = m->deadline;
    m->fired++;
    m->fired_at = now;
    m->deadline = IO_TIME_NEVER;
}

static uint64_t many_flush(void *user, uint64_t now)
{
    many_ep *m = user;
    (void)now;
    m->flushes++;
    return m->deadline;
}

static void test_many_endpoints(void **state)
{
    (void)state;
    io_loop *l;
    assert_int_equal(io_loop_create(&l, NULL), IO_OK);
    static many_ep m[MANY];
    static io_endpoint *ep[MANY];
    static const io_endpoint_ops ops = {NULL, many_on_timeout, many_flush};
    uint64_t start = io_now_us();
    for (size_t i = 0; i < MANY; i++) {
        memset(&m[i], 0, sizeof(m[i]));
        /* Deadlines 20-120 ms out in a scattered order; a tenth without one. */
        m[i].deadline = i % 10 == 9 ? IO_TIME_NEVER : start + 20000 + (i * 7919) % 100000;
        assert_int_equal(io_loop_add_endpoint(l, &ops, &m[i], &ep[i]), IO_OK);
    }
    assert_int_equal(io_loop_run_once(l, 0), 1);
    for (size_t i = 0; i < MANY; i++)
        assert_int_equal(m[i].flushes, 1);
    /* One kicked: one flushed. Another kicked and removed: not flushed. */
    io_endpoint_kick(ep[1234]);
    io_endpoint_kick(ep[77]);
    io_loop_remove_endpoint(l, ep[77]);
    assert_int_equal(io_loop_run_once(l, 0), 1);
    size_t flushed = 0;
    for (size_t i = 0; i < MANY; i++)
        flushed += m[i].flushes;
    assert_int_equal(flushed, MANY + 1);
    assert_int_equal(m[1234].flushes, 2);
    uint64_t end = io_now_us() + 5000000;
    size_t want = 0, fired = 0;
    for (size_t i = 0; i < MANY; i++)
        want += i != 77 && i % 10 != 9;
    while (fired < want && io_now_us() < end) {
        assert_true(io_loop_run_once(l, 10) >= 0);
        fired = 0;
        for (size_t i = 0; i < MANY; i++)
            fired += m[i].fired;
    }
    assert_int_equal(fired, want);
    assert_true(many_in_order);
    for (size_t i = 0; i < MANY; i++) {
        assert_true(m[i].fired <= 1);
        if (m[i].fired)
            assert_true(m[i].fired_at - start < 120000 + LATE_US);
    }
    assert_int_equal(m[77].fired, 0);
    io_loop_destroy(l);
}

/* An echo endpoint on two sockets (IPv4 and IPv6): replies are queued in
 * on_datagrams and sent by flush, as a QUIC endpoint would. */
typedef struct echo_ep {
    io_udp *socks[2];
    uint8_t store[128][1500];
    io_datagram q[128];
    io_udp *q_sock[128];
    size_t nq;
    size_t batches, received, flushes, max_batch;
} echo_ep;

static void echo_on_datagrams(void *user, const io_batch *b)
{
    echo_ep *e = user;
    e->batches++;
    if (b->n > e->max_batch)
        e->max_batch = b->n;
    assert_true(b->now > 0);
    for (size_t i = 0; i < b->n; i++) {
        assert_true(e->nq < 128);
        assert_true(b->d[i].len <= sizeof(e->store[0]));
        memcpy(e->store[e->nq], b->d[i].data, b->d[i].len);
        e->q[e->nq] = b->d[i];
        e->q[e->nq].data = e->store[e->nq];
        e->q_sock[e->nq] = b->sock;
        e->nq++;
        e->received++;
    }
}

static uint64_t echo_flush(void *user, uint64_t now)
{
    echo_ep *e = user;
    (void)now;
    e->flushes++;
    for (size_t i = 0; i < e->nq; i++)
        assert_int_equal(io_udp_send(e->q_sock[i], &e->q[i], 1), 1);
    e->nq = 0;
    return IO_TIME_NEVER;
}

static void client_round(io_loop *l, echo_ep *e, io_udp *cli, io_udp *srv, size_t n)
{
    static uint8_t out[64][1200], in[64][1200];
    io_datagram d[64], r[64];
    for (size_t i = 0; i < n; i++) {
        memset(out[i], (int)(i + 1), sizeof(out[i]));
        out[i][0] = (uint8_t)i;
        d[i] = (io_datagram){.data = out[i], .len = 100 + i * 17, .peer = srv->local};
        r[i] = (io_datagram){.data = in[i], .cap = sizeof(in[i])};
    }
    size_t before = e->received;
    assert_int_equal(io_udp_send(cli, d, n), (int)n);
    size_t got = 0;
    uint64_t end = io_now_us() + 5000000;
    while (got < n) {
        assert_true(io_now_us() < end);
        assert_true(io_loop_run_once(l, 10) >= 0);
        int k = io_udp_recv(cli, r + got, n - got);
        assert_true(k >= 0);
        got += (size_t)k;
    }
    assert_int_equal(e->received - before, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r[i].len, d[i].len);
        assert_memory_equal(r[i].data, d[i].data, d[i].len);
        assert_true(io_addr_equal(&r[i].peer, &srv->local));
    }
}

static void test_datagrams_and_flush(void **state)
{
    (void)state;
    io_loop *l;
    io_loop_config cfg = {.batch = 16, .dgram_cap = 1500};
    assert_int_equal(io_loop_create(&l, &cfg), IO_OK);
    io_udp s4, s6, c4, c6;
    assert_int_equal(io_udp_open(&s4, "127.0.0.1:0", NULL), IO_OK);
    if (io_udp_open(&s6, "[::1]:0", NULL) != IO_OK)
        fail_msg("IPv6 loopback [::1] unavailable (errno %d): check ip -6 addr show lo",
                 s6.last_errno);
    assert_int_equal(io_udp_open(&c4, "127.0.0.1:0", NULL), IO_OK);
    assert_int_equal(io_udp_open(&c6, "[::1]:0", NULL), IO_OK);
    static echo_ep e;
    memset(&e, 0, sizeof(e));
    static const io_endpoint_ops ops = {echo_on_datagrams, NULL, echo_flush};
    io_endpoint *ep;
    assert_int_equal(io_loop_add_endpoint(l, &ops, &e, &ep), IO_OK);
    assert_int_equal(io_loop_add_socket(l, ep, &s4), IO_OK);
    assert_int_equal(io_loop_add_socket(l, ep, &s6), IO_OK);
    assert_int_equal(io_loop_add_socket(l, ep, &s4), IO_ERR_EXISTS);
    client_round(l, &e, &c4, &s4, 64);
    client_round(l, &e, &c6, &s6, 64);
    client_round(l, &e, &c4, &s4, 1);
    assert_true(e.max_batch <= 16); /* batches are cut at the configured size */
    assert_true(e.batches >= 8);
    assert_true(e.flushes >= e.batches / 8);

    /* A GSO train of 10 comes to the endpoint as 10 datagrams, whether the kernel handed
     * it up whole (UDP GRO, which the loop switches on) or cut; echoed back as they came. */
    print_message("UDP GRO %s on the loop's socket\n", s4.gro_enabled ? "on" : "off");
    {
        static uint8_t train[10 * 1000], back[10][1500];
        for (size_t i = 0; i < sizeof(train); i++)
            train[i] = (uint8_t)(i / 1000 + i * 3);
        io_datagram t = {
            .data = train, .len = sizeof(train), .peer = s4.local, .segment_size = 1000};
        size_t before_train = e.received;
        assert_int_equal(io_udp_send(&c4, &t, 1), 1);
        io_datagram r[10];
        for (int i = 0; i < 10; i++)
            r[i] = (io_datagram){.data = back[i], .cap = sizeof(back[i])};
        size_t got = 0;
        uint64_t end = io_now_us() + 5000000;
        while (got < 10) {
            assert_true(io_now_us() < end);
            assert_true(io_loop_run_once(l, 10) >= 0);
            int k = io_udp_recv(&c4, r + got, 10 - got);
            assert_true(k >= 0);
            got += (size_t)k;
        }
        assert_int_equal(e.received - before_train, 10);
        for (size_t i = 0; i < 10; i++) {
            assert_int_equal(r[i].len, 1000);
            assert_memory_equal(r[i].data, train + i * 1000, 1000);
        }
    }

    /* A datagram larger than dgram_cap is dropped, not delivered cut. */
    static uint8_t big[1600];
    io_datagram d = {.data = big, .len = sizeof(big), .peer = s4.local};
    size_t before = e.received;
    assert_int_equal(io_udp_send(&c4, &d, 1), 1);
    for (int i = 0; i < 5; i++)
        assert_true(io_loop_run_once(l, 20) >= 0);
    assert_int_equal(e.received, before);

    /* Removing a socket stops its dispatch. */
    assert_int_equal(io_loop_remove_socket(l, &s6), IO_OK);
    assert_int_equal(io_loop_remove_socket(l, &s6), IO_ERR_NOTFOUND);
    d.len = 10;
    d.peer = s6.local;
    assert_int_equal(io_udp_send(&c6, &d, 1), 1);
    for (int i = 0; i < 5; i++)
        assert_true(io_loop_run_once(l, 20) >= 0);
    assert_int_equal(e.received, before);
    /* io_endpoint_want_write gives one flush when the socket drains (at once here). */
    size_t f0 = e.flushes;
    assert_int_equal(io_endpoint_want_write(ep, &s4), IO_OK);
    assert_int_equal(io_endpoint_want_write(ep, &s6), IO_ERR_NOTFOUND);
    assert_true(io_loop_run_once(l, 1000) >= 0);
    assert_int_equal(e.flushes, f0 + 1);
    assert_true(io_loop_run_once(l, 50) >= 0);
    assert_int_equal(e.flushes, f0 + 1); /* level-triggered EPOLLOUT was turned off */
    io_endpoint_kick(ep);
    assert_true(io_loop_run_once(l, 1000) >= 0);
    assert_int_equal(e.flushes, f0 + 2);

    io_loop_destroy(l);
    io_udp_close(&s4);
    io_udp_close(&s6);
    io_udp_close(&c4);
    io_udp_close(&c6);
}

/* Extra fds: a pipe read through the loop; its callback removes itself. */
typedef struct pipe_ctx {
    io_loop *loop;
    int fd;
    char got[16];
    size_t n;
    unsigned events;
} pipe_ctx;

static void pipe_cb(void *user, int fd, unsigned events, uint64_t now)
{
    pipe_ctx *p = user;
    (void)now;
    p->events |= events;
    ssize_t r = read(fd, p->got + p->n, sizeof(p->got) - p->n);
    if (r > 0)
        p->n += (size_t)r;
    if (r == 0 || (events & IO_HANGUP)) {
        assert_int_equal(io_loop_del_fd(p->loop, fd), IO_OK);
        io_loop_stop(p->loop);
    }
}

static uint64_t count_flush(void *user, uint64_t now)
{
    (void)now;
    (*(size_t *)user)++;
    return IO_TIME_NEVER;
}

static void test_extra_fd(void **state)
{
    (void)state;
    io_loop *l;
    assert_int_equal(io_loop_create(&l, NULL), IO_OK);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pipe_ctx p = {.loop = l, .fd = fds[0]};
    size_t flushes = 0;
    static const io_endpoint_ops ops = {NULL, NULL, count_flush};
    io_endpoint *ep;
    assert_int_equal(io_loop_add_endpoint(l, &ops, &flushes, &ep), IO_OK);
    assert_int_equal(io_loop_add_fd(l, fds[0], IO_READ, pipe_cb, &p), IO_OK);
    assert_int_equal(io_loop_add_fd(l, fds[0], IO_READ, pipe_cb, &p), IO_ERR_EXISTS);
    assert_int_equal(io_loop_run_once(l, 0), 1);
    assert_int_equal(flushes, 1);
    assert_int_equal(write(fds[1], "abc", 3), 3);
    assert_int_equal(io_loop_run_once(l, 2000), 1);
    assert_int_equal(p.n, 3);
    assert_memory_equal(p.got, "abc", 3);
    assert_int_equal(flushes, 2); /* every endpoint is flushed after an fd event */
    assert_int_equal(io_loop_mod_fd(l, fds[0], 0), IO_OK);
    assert_int_equal(write(fds[1], "de", 2), 2);
    assert_int_equal(io_loop_run_once(l, 50), 1);
    assert_int_equal(p.n, 3); /* not watched for reading any more */
    assert_int_equal(io_loop_mod_fd(l, fds[0], IO_READ), IO_OK);
    close(fds[1]);
    assert_int_equal(io_loop_run(l), 0);
    assert_int_equal(p.n, 5);
    assert_memory_equal(p.got, "abcde", 5);
    assert_true(p.events & IO_HANGUP);
    assert_int_equal(io_loop_del_fd(l, fds[0]), IO_ERR_NOTFOUND);
    assert_int_equal(io_loop_mod_fd(l, fds[0], IO_READ), IO_ERR_NOTFOUND);
    close(fds[0]);
    io_loop_destroy(l);
}

static bool sig_blocked(int sig)
{
    sigset_t cur;
    pthread_sigmask(SIG_BLOCK, NULL, &cur);
    return sigismember(&cur, sig) == 1;
}

/* SIGTERM from another process stops io_loop_run, which reports it. */
static void test_stop_by_signal(void **state)
{
    (void)state;
    io_loop *l;
    assert_false(sig_blocked(SIGTERM));
    assert_int_equal(io_loop_create(&l, NULL), IO_OK);
    assert_int_equal(io_loop_catch_signals(l), IO_OK);
    assert_true(sig_blocked(SIGTERM));
    assert_true(sig_blocked(SIGINT));
    pid_t parent = getpid();
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        usleep(100000);
        kill(parent, SIGTERM);
        _exit(0);
    }
    uint64_t t0 = io_now_us();
    assert_int_equal(io_loop_run(l), SIGTERM);
    assert_true(io_now_us() - t0 >= 50000); /* it did wait for the child */
    int status;
    assert_int_equal(waitpid(child, &status, 0), child);

    /* SIGINT raised from inside a callback, twice before the loop looks. */
    timer_ep t = {.loop = l, .deadlines = {20000}};
    t.start = io_now_us();
    static const io_endpoint_ops ops = {NULL, NULL, timer_flush};
    io_endpoint *ep;
    assert_int_equal(io_loop_add_endpoint(l, &ops, &t, &ep), IO_OK);
    assert_int_equal(io_loop_run_once(l, 0), 1);
    raise(SIGINT);
    raise(SIGINT);
    assert_int_equal(io_loop_run(l), SIGINT);
    /* A pending signal left unread is consumed by destroy, and the mask restored. */
    raise(SIGTERM);
    io_loop_destroy(l);
    assert_false(sig_blocked(SIGTERM));
    assert_false(sig_blocked(SIGINT));
}

static void *stopper(void *arg)
{
    usleep(50000);
    io_loop_stop(arg);
    return NULL;
}

/* io_loop_stop from another thread wakes a loop with nothing else to do. */
static void test_stop_from_thread(void **state)
{
    (void)state;
    io_loop *l;
    assert_int_equal(io_loop_create(&l, NULL), IO_OK);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stopper, l), 0);
    assert_int_equal(io_loop_run(l), 0);
    pthread_join(th, NULL);
    /* A stop before run is not lost, and is consumed by the run it ends. */
    io_loop_stop(l);
    assert_int_equal(io_loop_run(l), 0);
    assert_int_equal(io_loop_run_once(l, 0), 1);
    io_loop_destroy(l);
}

/* An endpoint that removes itself (and its socket) from inside its callbacks. */
typedef struct self_rm {
    io_loop *loop;
    io_endpoint *ep;
    int datagrams, timeouts, flushes;
} self_rm;

static void rm_on_datagrams(void *user, const io_batch *b)
{
    self_rm *r = user;
    (void)b;
    r->datagrams++;
    io_loop_remove_endpoint(r->loop, r->ep);
}

static void rm_on_timeout(void *user, uint64_t now)
{
    self_rm *r = user;
    (void)now;
    r->timeouts++;
    io_loop_remove_endpoint(r->loop, r->ep);
}

static uint64_t rm_flush(void *user, uint64_t now)
{
    self_rm *r = user;
    r->flushes++;
    return now; /* due at once */
}

static uint64_t rm_flush_never(void *user, uint64_t now)
{
    self_rm *r = user;
    (void)now;
    r->flushes++;
    return IO_TIME_NEVER;
}

static void test_remove_from_callback(void **state)
{
    (void)state;
    io_loop *l;
    assert_int_equal(io_loop_create(&l, NULL), IO_OK);
    self_rm a = {.loop = l}, b = {.loop = l};
    static const io_endpoint_ops ops = {rm_on_datagrams, rm_on_timeout, rm_flush};
    assert_int_equal(io_loop_add_endpoint(l, &ops, &a, &a.ep), IO_OK);
    assert_int_equal(io_loop_run_once(l, 1000), 1);
    assert_int_equal(a.flushes, 1);
    assert_int_equal(a.timeouts, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(io_loop_run_once(l, 10), 1);
    assert_int_equal(a.flushes, 1); /* gone: no flush after its own removal */
    assert_int_equal(a.timeouts, 1);

    io_udp s, c;
    assert_int_equal(io_udp_open(&s, "127.0.0.1:0", NULL), IO_OK);
    assert_int_equal(io_udp_open(&c, "127.0.0.1:0", NULL), IO_OK);
    static const io_endpoint_ops ops2 = {rm_on_datagrams, NULL, rm_flush_never};
    assert_int_equal(io_loop_add_endpoint(l, &ops2, &b, &b.ep), IO_OK);
    assert_int_equal(io_loop_add_socket(l, b.ep, &s), IO_OK);
    uint8_t msg[3] = {1, 2, 3};
    io_datagram d[2] = {{.data = msg, .len = 3, .peer = s.local},
                        {.data = msg, .len = 3, .peer = s.local}};
    assert_int_equal(io_udp_send(&c, d, 2), 2);
    uint64_t end = io_now_us() + 3000000;
    while (b.datagrams == 0 && io_now_us() < end)
        assert_int_equal(io_loop_run_once(l, 10), 1);
    assert_int_equal(b.datagrams, 1);
    for (int i = 0; i < 3; i++)
        assert_int_equal(io_loop_run_once(l, 10), 1);
    assert_int_equal(b.datagrams, 1);
    assert_int_equal(b.flushes, 1); /* the one at registration only */
    assert_int_equal(io_loop_remove_socket(l, &s), IO_ERR_NOTFOUND); /* went with it */
    io_loop_destroy(l);
    io_udp_close(&s);
    io_udp_close(&c);
}

/*
 * A toy sans-I/O transfer driven only through the loop's callbacks, as a QUIC
 * endpoint will be: the client keeps 64 datagrams of 1200 bytes in flight,
 * sent as GSO trains from flush, with a retransmission timer; the server
 * checks every payload and acknowledges sequence numbers in batches.
 */
#define XFER_N 3000
#define XFER_LEN 1200
#define XFER_WINDOW 64
#define XFER_TRAIN 16
#define XFER_RTO 100000

typedef struct xfer_client {
    io_loop *loop;
    io_endpoint *ep;
    io_udp *sock;
    io_addr server;
    uint64_t sent_at[XFER_N]; /* 0: not in flight */
    bool acked[XFER_N];
    size_t n_acked, in_flight, retransmits, timeouts, full;
    uint8_t train[XFER_TRAIN * XFER_LEN];
} xfer_client;

typedef struct xfer_server {
    io_udp *sock;
    uint32_t count[XFER_N];
    bool dropped[XFER_N];
    size_t unique, dups, bad, drops;
    uint32_t pending[4096];
    size_t n_pending;
    io_addr client;
} xfer_server;

static void xfer_payload(uint8_t *p, uint32_t seq)
{
    p[0] = (uint8_t)(seq >> 24);
    p[1] = (uint8_t)(seq >> 16);
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    for (size_t i = 4; i < XFER_LEN; i++)
        p[i] = (uint8_t)(seq * 2654435761u >> (i % 24));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void xc_on_datagrams(void *user, const io_batch *b)
{
    xfer_client *c = user;
    for (size_t i = 0; i < b->n; i++) {
        for (size_t off = 0; off + 4 <= b->d[i].len; off += 4) {
            uint32_t seq = get_u32(b->d[i].data + off);
            assert_true(seq < XFER_N);
            if (!c->acked[seq]) {
                c->acked[seq] = true;
                c->n_acked++;
                if (c->sent_at[seq] != 0)
                    c->in_flight--;
                c->sent_at[seq] = 0;
            }
        }
    }
    if (c->n_acked == XFER_N)
        io_loop_stop(c->loop);
}

static void xc_on_timeout(void *user, uint64_t now)
{
    xfer_client *c = user;
    c->timeouts++;
    for (size_t i = 0; i < XFER_N; i++) {
        if (c->sent_at[i] != 0 && !c->acked[i] && c->sent_at[i] + XFER_RTO <= now) {
            c->sent_at[i] = 0; /* lost: send again */
            c->in_flight--;
            c->retransmits++;
        }
    }
}

static uint64_t xc_flush(void *user, uint64_t now)
{
    xfer_client *c = user;
    for (;;) {
        uint32_t seqs[XFER_TRAIN];
        size_t n = 0;
        for (uint32_t i = 0; i < XFER_N && n < XFER_TRAIN && c->in_flight + n < XFER_WINDOW; i++)
            if (!c->acked[i] && c->sent_at[i] == 0)
                seqs[n++] = i;
        if (n == 0)
            break;
        for (size_t i = 0; i < n; i++)
            xfer_payload(c->train + i * XFER_LEN, seqs[i]);
        io_datagram d = {
            .data = c->train, .len = n * XFER_LEN, .peer = c->server, .segment_size = XFER_LEN};
        int r = io_udp_send(c->sock, &d, 1);
        assert_true(r >= 0);
        if (r == 0) {
            c->full++;
            assert_int_equal(io_endpoint_want_write(c->ep, c->sock), IO_OK);
            break;
        }
        for (size_t i = 0; i < n; i++)
            c->sent_at[seqs[i]] = now;
        c->in_flight += n;
    }
    uint64_t oldest = IO_TIME_NEVER;
    for (size_t i = 0; i < XFER_N; i++)
        if (c->sent_at[i] != 0 && c->sent_at[i] < oldest)
            oldest = c->sent_at[i];
    return oldest == IO_TIME_NEVER ? IO_TIME_NEVER : oldest + XFER_RTO;
}

static void xs_on_datagrams(void *user, const io_batch *b)
{
    xfer_server *s = user;
    static uint8_t want[XFER_LEN];
    for (size_t i = 0; i < b->n; i++) {
        const io_datagram *d = &b->d[i];
        uint32_t seq = d->len >= 4 ? get_u32(d->data) : XFER_N;
        if (d->len != XFER_LEN || seq >= XFER_N) {
            s->bad++;
            continue;
        }
        xfer_payload(want, seq);
        if (memcmp(want, d->data, XFER_LEN) != 0) {
            s->bad++;
            continue;
        }
        /* Lose the first copy of every 97th: the client's timer must recover it. */
        if (seq % 97 == 0 && !s->dropped[seq]) {
            s->dropped[seq] = true;
            s->drops++;
            continue;
        }
        if (s->count[seq]++ == 0)
            s->unique++;
        else
            s->dups++;
        s->client = d->peer;
        if (s->n_pending < 4096)
            s->pending[s->n_pending++] = seq;
    }
}

static uint64_t xs_flush(void *user, uint64_t now)
{
    xfer_server *s = user;
    (void)now;
    static uint8_t buf[4096 * 4];
    for (size_t i = 0; i < s->n_pending; i++) {
        buf[4 * i] = (uint8_t)(s->pending[i] >> 24);
        buf[4 * i + 1] = (uint8_t)(s->pending[i] >> 16);
        buf[4 * i + 2] = (uint8_t)(s->pending[i] >> 8);
        buf[4 * i + 3] = (uint8_t)s->pending[i];
    }
    /* Acks of up to 300 numbers per datagram. */
    for (size_t off = 0; off < s->n_pending; off += 300) {
        size_t k = s->n_pending - off < 300 ? s->n_pending - off : 300;
        io_datagram d = {.data = buf + 4 * off, .len = 4 * k, .peer = s->client};
        assert_int_equal(io_udp_send(s->sock, &d, 1), 1);
    }
    s->n_pending = 0;
    return IO_TIME_NEVER;
}

static void transfer(bool gso)
{
    io_loop *l;
    assert_int_equal(io_loop_create(&l, NULL), IO_OK);
    io_udp cs, ss;
    io_udp_config cfg = {.disable_gso = !gso};
    assert_int_equal(io_udp_open(&cs, "[::1]:0", &cfg), IO_OK);
    assert_int_equal(io_udp_open(&ss, "[::1]:0", NULL), IO_OK);
    static xfer_client c;
    static xfer_server s;
    memset(&c, 0, sizeof(c));
    memset(&s, 0, sizeof(s));
    c.loop = l;
    c.sock = &cs;
    c.server = ss.local;
    s.sock = &ss;
    static const io_endpoint_ops cops = {xc_on_datagrams, xc_on_timeout, xc_flush};
    static const io_endpoint_ops sops = {xs_on_datagrams, NULL, xs_flush};
    io_endpoint *sep;
    assert_int_equal(io_loop_add_endpoint(l, &sops, &s, &sep), IO_OK);
    assert_int_equal(io_loop_add_socket(l, sep, &ss), IO_OK);
    assert_int_equal(io_loop_add_endpoint(l, &cops, &c, &c.ep), IO_OK);
    assert_int_equal(io_loop_add_socket(l, c.ep, &cs), IO_OK);
    uint64_t t0 = io_now_us();
    assert_int_equal(io_loop_run(l), 0);
    uint64_t took = io_now_us() - t0;
    print_message("%d x %d bytes through the loop in %llu ms: %zu retransmits, %zu trains by "
                  "GSO, %zu split\n",
                  XFER_N, XFER_LEN, (unsigned long long)(took / 1000), c.retransmits,
                  (size_t)cs.tx_gso_calls, (size_t)cs.tx_split_calls);
    assert_int_equal(c.n_acked, XFER_N);
    assert_int_equal(s.unique, XFER_N);
    assert_int_equal(s.bad, 0);
    assert_true(s.dups <= c.retransmits); /* duplicates only come from retransmissions */
    assert_int_equal(s.drops, (XFER_N + 96) / 97);
    assert_true(c.retransmits >= s.drops);
    assert_true(c.timeouts > 0);
    assert_true(took >= XFER_RTO);
    if (gso && cs.gso_supported) {
        assert_true(cs.tx_gso_calls > 0);
    } else {
        assert_int_equal(cs.tx_gso_calls, 0);
        assert_true(cs.tx_split_calls > 0);
    }
    assert_true(cs.tx_datagrams >= XFER_N);
    io_loop_destroy(l);
    io_udp_close(&cs);
    io_udp_close(&ss);
}

static void test_transfer_through_loop(void **state)
{
    (void)state;
    transfer(true);
    transfer(false);
}

static void test_args(void **state)
{
    (void)state;
    io_loop *l;
    io_endpoint *ep;
    assert_int_equal(io_loop_create(NULL, NULL), IO_ERR_ARG);
    assert_int_equal(io_loop_create(&l, NULL), IO_OK);
    static const io_endpoint_ops no_flush = {NULL, NULL, NULL};
    assert_int_equal(io_loop_add_endpoint(l, &no_flush, NULL, &ep), IO_ERR_ARG);
    assert_int_equal(io_loop_add_fd(l, -1, IO_READ, pipe_cb, NULL), IO_ERR_ARG);
    assert_int_equal(io_loop_add_fd(l, 1000, IO_READ, pipe_cb, NULL), IO_ERR_EPOLL);
    assert_int_equal(io_loop_last_errno(l), EBADF);
    uint64_t a = io_now_us();
    usleep(2000);
    uint64_t b = io_now_us();
    assert_true(b - a >= 2000 && b - a < 2000000);
    io_loop_destroy(l);
    io_loop_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_timer_fires_on_time, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_timer_replace, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_many_endpoints, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_datagrams_and_flush, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_extra_fd, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_stop_by_signal, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_stop_from_thread, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_remove_from_callback, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_transfer_through_loop, setup_alarm, teardown_alarm),
        cmocka_unit_test(test_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
