/* Fault injection for io/udp.c: sendmmsg/recvmmsg wrapped (ld --wrap) to fail on cue. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "io/loop.h"
#include "io/udp.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* What the next wrapped calls do, in order; past the script they pass. */
enum { PASS, FAIL, PARTIAL, FAIL_GSO };
typedef struct action {
    int kind;
    int arg; /* errno for FAIL / FAIL_GSO, message count for PARTIAL */
} action;

static action script[8];
static size_t n_script, n_calls;
static unsigned vlens[16];
static bool had_gso[16];

int __real_sendmmsg(int fd, struct mmsghdr *m, unsigned int vlen, int flags);
int __wrap_sendmmsg(int fd, struct mmsghdr *m, unsigned int vlen, int flags);
int __real_recvmmsg(int fd, struct mmsghdr *m, unsigned int vlen, int flags,
                    struct timespec *timeout);
int __wrap_recvmmsg(int fd, struct mmsghdr *m, unsigned int vlen, int flags,
                    struct timespec *timeout);

static bool has_gso(struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c))
        if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_SEGMENT)
            return true;
    return false;
}

static action next_action(void)
{
    size_t i = n_calls++;
    return i < n_script ? script[i] : (action){PASS, 0};
}

int __wrap_sendmmsg(int fd, struct mmsghdr *m, unsigned int vlen, int flags)
{
    size_t i = n_calls;
    action a = next_action();
    if (i < 16) {
        vlens[i] = vlen;
        had_gso[i] = vlen > 0 && has_gso(&m[0].msg_hdr);
    }
    if (a.kind == FAIL || (a.kind == FAIL_GSO && had_gso[i])) {
        errno = a.arg;
        return -1;
    }
    if (a.kind == PARTIAL && (unsigned)a.arg < vlen)
        vlen = (unsigned)a.arg;
    return __real_sendmmsg(fd, m, vlen, flags);
}

int __wrap_recvmmsg(int fd, struct mmsghdr *m, unsigned int vlen, int flags,
                    struct timespec *timeout)
{
    action a = next_action();
    if (a.kind == FAIL) {
        errno = a.arg;
        return -1;
    }
    return __real_recvmmsg(fd, m, vlen, flags, timeout);
}

static void set_script(const action *a, size_t n)
{
    if (n > 0)
        memcpy(script, a, n * sizeof(*a));
    n_script = n;
    n_calls = 0;
    memset(vlens, 0, sizeof(vlens));
    memset(had_gso, 0, sizeof(had_gso));
}

typedef struct pair {
    io_udp tx, rx;
} pair;

static int setup(void **state)
{
    static pair p;
    alarm(20);
    set_script(NULL, 0);
    if (io_udp_open(&p.tx, "127.0.0.1:0", NULL) != IO_OK ||
        io_udp_open(&p.rx, "127.0.0.1:0", NULL) != IO_OK)
        return -1;
    *state = &p;
    return 0;
}

static int teardown(void **state)
{
    pair *p = *state;
    io_udp_close(&p->tx);
    io_udp_close(&p->rx);
    alarm(0);
    return 0;
}

/* Count datagrams waiting on rx (after letting loopback settle), checking sizes. */
static size_t drain(io_udp *rx, const size_t *want_len, size_t max)
{
    static uint8_t buf[32][2048];
    io_datagram r[32];
    for (int i = 0; i < 32; i++)
        r[i] = (io_datagram){.data = buf[i], .cap = sizeof(buf[i])};
    struct pollfd pf = {rx->fd, POLLIN, 0};
    (void)poll(&pf, 1, 100);
    set_script(NULL, 0);
    int n = io_udp_recv(rx, r, 32);
    assert_true(n >= 0);
    assert_true((size_t)n <= max);
    for (int i = 0; i < n && want_len != NULL; i++)
        assert_int_equal(r[i].len, want_len[i]);
    return (size_t)n;
}

static uint8_t payload[8000];

/* EIO on a GSO send (a route without checksum offload): GSO goes off for the
 * socket and the same train goes out split, in the same call. */
static void test_gso_eio_falls_back(void **state)
{
    pair *p = *state;
    p->tx.gso_supported = p->tx.gso_enabled = true; /* the kernel never sees the GSO try */
    io_datagram d = {.data = payload, .len = 4500, .peer = p->rx.local, .segment_size = 1000};
    const action a[] = {{FAIL_GSO, EIO}};
    set_script(a, 1);
    assert_int_equal(io_udp_send(&p->tx, &d, 1), 1);
    assert_int_equal(n_calls, 2);
    assert_true(had_gso[0]);
    assert_int_equal(vlens[0], 1);
    assert_false(had_gso[1]);
    assert_int_equal(vlens[1], 5);
    assert_false(p->tx.gso_enabled);
    assert_true(p->tx.gso_supported);
    assert_int_equal(p->tx.tx_split_calls, 1);
    assert_int_equal(p->tx.tx_gso_calls, 0);
    const size_t want[] = {1000, 1000, 1000, 1000, 500};
    assert_int_equal(drain(&p->rx, want, 5), 5);
}

/* The socket buffer fills after 3 of 5: 3 reported, the rest is the caller's. */
static void test_partial_then_eagain(void **state)
{
    pair *p = *state;
    io_datagram d[5];
    for (int i = 0; i < 5; i++)
        d[i] = (io_datagram){.data = payload, .len = 100 + (size_t)i, .peer = p->rx.local};
    const action a[] = {{PARTIAL, 3}, {FAIL, EAGAIN}};
    set_script(a, 2);
    assert_int_equal(io_udp_send(&p->tx, d, 5), 3);
    assert_int_equal(n_calls, 2);
    assert_int_equal(vlens[1], 2); /* the second call started at the 4th */
    const size_t want[] = {100, 101, 102};
    assert_int_equal(drain(&p->rx, want, 3), 3);
    /* Nothing can go at all: 0, not an error; ENOBUFS counts as full too. */
    const action b[] = {{FAIL, EAGAIN}};
    set_script(b, 1);
    assert_int_equal(io_udp_send(&p->tx, d + 3, 2), 0);
    const action c[] = {{FAIL, ENOBUFS}};
    set_script(c, 1);
    assert_int_equal(io_udp_send(&p->tx, d + 3, 2), 0);
    /* EINTR is retried. */
    const action e[] = {{FAIL, EINTR}};
    set_script(e, 1);
    assert_int_equal(io_udp_send(&p->tx, d + 3, 2), 2);
    assert_int_equal(n_calls, 2);
    const size_t want2[] = {103, 104};
    assert_int_equal(drain(&p->rx, want2, 2), 2);
}

/* A split train cut by a full buffer counts as sent: its tail is lost. */
static void test_split_train_cut(void **state)
{
    pair *p = *state;
    io_udp_set_gso(&p->tx, false);
    io_datagram d[2] = {
        {.data = payload, .len = 4000, .peer = p->rx.local, .segment_size = 1000},
        {.data = payload, .len = 10, .peer = p->rx.local},
    };
    const action a[] = {{PARTIAL, 2}, {FAIL, EAGAIN}};
    set_script(a, 2);
    assert_int_equal(io_udp_send(&p->tx, d, 2), 1);
    assert_int_equal(vlens[0], 5);
    assert_int_equal(vlens[1], 1); /* the retry starts at the next entry */
    const size_t want[] = {1000, 1000};
    assert_int_equal(drain(&p->rx, want, 2), 2);
}

/* A hard error after some entries: those are reported, the error comes next time. */
static void test_error_after_some(void **state)
{
    pair *p = *state;
    io_datagram d[3];
    for (int i = 0; i < 3; i++)
        d[i] = (io_datagram){.data = payload, .len = 50, .peer = p->rx.local};
    const action a[] = {{PARTIAL, 1}, {FAIL, EPERM}, {FAIL, EPERM}};
    set_script(a, 3);
    assert_int_equal(io_udp_send(&p->tx, d, 3), 1);
    assert_int_equal(io_udp_send(&p->tx, d + 1, 2), IO_ERR_SEND);
    assert_int_equal(p->tx.last_errno, EPERM);
    const action b[] = {{FAIL, EMSGSIZE}};
    set_script(b, 1);
    assert_int_equal(io_udp_send(&p->tx, d + 1, 2), IO_ERR_MSGSIZE);
    assert_int_equal(drain(&p->rx, NULL, 1), 1);
}

static void test_recv_errors(void **state)
{
    pair *p = *state;
    uint8_t buf[64];
    io_datagram r = {.data = buf, .cap = sizeof(buf)};
    io_datagram d = {.data = payload, .len = 7, .peer = p->rx.local};
    assert_int_equal(io_udp_send(&p->tx, &d, 1), 1);
    struct pollfd pf = {p->rx.fd, POLLIN, 0};
    assert_int_equal(poll(&pf, 1, 2000), 1);
    const action a[] = {{FAIL, EINTR}};
    set_script(a, 1);
    assert_int_equal(io_udp_recv(&p->rx, &r, 1), 1);
    assert_int_equal(n_calls, 2);
    assert_int_equal(r.len, 7);
    const action b[] = {{FAIL, ENOMEM}};
    set_script(b, 1);
    assert_int_equal(io_udp_recv(&p->rx, &r, 1), IO_ERR_RECV);
    assert_int_equal(p->rx.last_errno, ENOMEM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gso_eio_falls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial_then_eagain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_train_cut, setup, teardown),
        cmocka_unit_test_setup_teardown(test_error_after_some, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recv_errors, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
