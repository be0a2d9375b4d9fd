/* Tests for io/udp.c: addresses, batched loopback echo over IPv4 and IPv6, PKTINFO, ECN, GSO. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "io/loop.h"
#include "io/udp.h"

#define BATCH 64
#define MAXLEN 1500

/* Every network test bounds its own time: a hang becomes SIGALRM. */
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

static void open_or_fail(io_udp *u, const char *addr, const io_udp_config *cfg)
{
    int rc = io_udp_open(u, addr, cfg);
    if (rc != IO_OK)
        fail_msg("cannot open UDP socket on %s: %s (errno %d: %s)%s", addr, io_strerror(rc),
                 u->last_errno, strerror(u->last_errno),
                 addr[0] == '[' ? " -- is IPv6 loopback configured? (ip -6 addr show lo)" : "");
}

/* Receive exactly n datagrams into d, waiting up to 5 s in total. */
static void recv_n(io_udp *u, io_datagram *d, size_t n)
{
    size_t got = 0;
    uint64_t end = io_now_us() + 5000000;
    while (got < n) {
        struct pollfd p = {u->fd, POLLIN, 0};
        uint64_t now = io_now_us();
        if (now >= end)
            fail_msg("received %zu of %zu datagrams", got, n);
        (void)poll(&p, 1, (int)((end - now) / 1000) + 1);
        int r = io_udp_recv(u, d + got, n - got);
        assert_true(r >= 0);
        got += (size_t)r;
    }
}

/* Nothing more is waiting (after a short grace period). */
static void assert_quiet(io_udp *u)
{
    uint8_t buf[16];
    io_datagram d = {.data = buf, .cap = sizeof(buf)};
    struct pollfd p = {u->fd, POLLIN, 0};
    (void)poll(&p, 1, 50);
    assert_int_equal(io_udp_recv(u, &d, 1), 0);
}

static void fill(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 37u + i * 11u + (i >> 8));
}

static void test_addr(void **state)
{
    (void)state;
    io_addr a, b;
    char buf[64];
    assert_int_equal(io_addr_parse(&a, "127.0.0.1:4433"), IO_OK);
    assert_int_equal(io_addr_family(&a), AF_INET);
    assert_int_equal(io_addr_port(&a), 4433);
    assert_int_equal(io_addr_format(&a, buf, sizeof(buf)), 14);
    assert_string_equal(buf, "127.0.0.1:4433");
    assert_int_equal(io_addr_parse(&b, buf), IO_OK);
    assert_true(io_addr_equal(&a, &b));
    assert_int_equal(io_addr_parse(&a, "[::1]:0"), IO_OK);
    assert_int_equal(io_addr_family(&a), AF_INET6);
    assert_int_equal(io_addr_port(&a), 0);
    assert_int_equal(io_addr_format(&a, buf, sizeof(buf)), 7);
    assert_string_equal(buf, "[::1]:0");
    assert_false(io_addr_equal(&a, &b));
    assert_int_equal(io_addr_parse(&a, "[2001:db8::1]:65535"), IO_OK);
    assert_int_equal(io_addr_format(&a, buf, sizeof(buf)), 19);
    assert_string_equal(buf, "[2001:db8::1]:65535");
    assert_int_equal(io_addr_format(&a, buf, 19), IO_ERR_ARG); /* no room for the NUL */
    const char *bad[] = {"127.0.0.1",       "127.0.0.1:",
                         "127.0.0.1:65536", "1.2.3.4:-1",
                         "1.2.3:80",        "localhost:80",
                         "::1:80",          "[::1]80",
                         "[::1]:",          "[]:80",
                         "[1.2.3.4]:80",    ":80",
                         "127.0.0.1:8x0",   ""};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (io_addr_parse(&a, bad[i]) != IO_ERR_ADDR)
            fail_msg("accepted bad address '%s'", bad[i]);
    }
    memset(&a, 0, sizeof(a));
    assert_int_equal(io_addr_family(&a), AF_UNSPEC);
    assert_int_equal(io_addr_format(&a, buf, sizeof(buf)), IO_ERR_ARG);
    assert_string_equal(io_strerror(IO_ERR_BIND), "bind failed");
    assert_string_equal(io_strerror(12345), "unknown io error");
}

static uint64_t lcg(uint64_t *x, uint64_t mod)
{
    *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (*x >> 33) % mod;
}

/*
 * Generated addresses, IPv4 and IPv6, some mutated by a character: a clean
 * one with octets <= 255 and port <= 65535 must parse; whatever parses must
 * format to text that parses to the same address; the rest is IO_ERR_ADDR.
 */
static void test_addr_random(void **state)
{
    (void)state;
    static const char alpha[] = "0123456789.:[]abcdefx%- ";
    uint64_t x = 0x1234567;
    size_t ok = 0, clean_ok = 0;
    for (int it = 0; it < 100000; it++) {
        char in[96], out[96];
        size_t n = 0;
        bool valid = true;
        if (lcg(&x, 2) == 0) {
            for (int i = 0; i < 4; i++) {
                unsigned v = (unsigned)lcg(&x, 300);
                valid = valid && v <= 255;
                n += (size_t)snprintf(in + n, sizeof(in) - n, i ? ".%u" : "%u", v);
            }
        } else {
            in[n++] = '[';
            size_t groups = 1 + lcg(&x, 8), gap = lcg(&x, groups + 1);
            valid = groups == 8 && gap == groups; /* no "::" needs all 8 groups */
            for (size_t i = 0; i < groups; i++) {
                if (i == gap) {
                    n += (size_t)snprintf(in + n, sizeof(in) - n, "::");
                    valid = groups < 8;
                } else if (i > 0) {
                    in[n++] = ':';
                }
                n += (size_t)snprintf(in + n, sizeof(in) - n, "%x", (unsigned)lcg(&x, 0x10000));
            }
            in[n++] = ']';
        }
        unsigned port = (unsigned)lcg(&x, 70000);
        valid = valid && port <= 65535;
        n += (size_t)snprintf(in + n, sizeof(in) - n, ":%u", port);
        if (lcg(&x, 3) == 0) { /* mutate one character */
            in[lcg(&x, n)] = alpha[lcg(&x, sizeof(alpha) - 1)];
            valid = false;
        }
        in[n] = '\0';
        io_addr a, b;
        int rc = io_addr_parse(&a, in);
        if (valid && rc != IO_OK)
            fail_msg("rejected valid address '%s'", in);
        if (rc != IO_OK) {
            assert_int_equal(rc, IO_ERR_ADDR);
            continue;
        }
        ok++;
        clean_ok += valid;
        assert_true(io_addr_format(&a, out, sizeof(out)) > 0);
        assert_int_equal(io_addr_parse(&b, out), IO_OK);
        assert_true(io_addr_equal(&a, &b));
    }
    assert_true(clean_ok > 10000);
    assert_true(ok > clean_ok); /* some mutations are still addresses */
}

/*
 * Client sends 64 datagrams of varied sizes in one sendmmsg; the server
 * receives them byte-exact with the client's address and its own local
 * address, and echoes them back in one batch; the client checks them again.
 */
static void echo_round_trip(const char *server_addr, const char *client_addr, const char *loop)
{
    io_udp srv, cli;
    open_or_fail(&srv, server_addr, NULL);
    open_or_fail(&cli, client_addr, NULL);
    assert_int_not_equal(io_addr_port(&srv.local), 0);
    assert_true(srv.rcvbuf >= 256 * 1024); /* the large buffers were granted */
    assert_true(srv.sndbuf >= 256 * 1024);

    io_addr to;
    char text[80];
    snprintf(text, sizeof(text), "%s:%u", loop, (unsigned)io_addr_port(&srv.local));
    assert_int_equal(io_addr_parse(&to, text), IO_OK);

    static uint8_t out[BATCH][MAXLEN], in[BATCH][MAXLEN], back[BATCH][MAXLEN];
    io_datagram d[BATCH], r[BATCH], e[BATCH];
    for (size_t i = 0; i < BATCH; i++) {
        size_t len = 1 + (i * 97) % MAXLEN;
        if (i == 0)
            len = 0; /* empty datagrams are datagrams too */
        fill(out[i], len, (unsigned)i);
        d[i] = (io_datagram){.data = out[i], .len = len, .peer = to};
        r[i] = (io_datagram){.data = in[i], .cap = MAXLEN};
        e[i] = (io_datagram){.data = back[i], .cap = MAXLEN};
    }
    assert_int_equal(io_udp_send(&cli, d, BATCH), BATCH);
    assert_int_equal(cli.tx_datagrams, BATCH);
    recv_n(&srv, r, BATCH);
    assert_int_equal(srv.rx_datagrams, BATCH);
    for (size_t i = 0; i < BATCH; i++) {
        assert_int_equal(r[i].len, d[i].len);
        assert_memory_equal(r[i].data, d[i].data, d[i].len);
        assert_false(r[i].truncated);
        assert_int_equal(r[i].ecn, IO_ECN_NOT_ECT);
        assert_true(io_addr_equal(&r[i].peer, &cli.local));
        assert_true(io_addr_equal(&r[i].local, &to)); /* PKTINFO: the address it was sent to */
        /* Echo to the sender, from the address it reached. */
        r[i].segment_size = 0;
    }
    assert_int_equal(io_udp_send(&srv, r, BATCH), BATCH);
    recv_n(&cli, e, BATCH);
    for (size_t i = 0; i < BATCH; i++) {
        assert_int_equal(e[i].len, d[i].len);
        assert_memory_equal(e[i].data, out[i], d[i].len);
        assert_true(io_addr_equal(&e[i].peer, &to));
    }
    assert_quiet(&srv);
    assert_quiet(&cli);
    io_udp_close(&srv);
    io_udp_close(&cli);
    assert_int_equal(srv.fd, -1);
    io_udp_close(&srv); /* idempotent */
}

static void test_echo_ipv4(void **state)
{
    (void)state;
    echo_round_trip("127.0.0.1:0", "127.0.0.1:0", "127.0.0.1");
}

static void test_echo_ipv6(void **state)
{
    (void)state;
    echo_round_trip("[::1]:0", "[::1]:0", "[::1]");
}

/* Bound to the wildcard, PKTINFO still tells which address a packet reached. */
static void test_pktinfo_wildcard(void **state)
{
    (void)state;
    io_udp srv, cli, cli6, srv6;
    uint8_t buf[32], msg[5] = "hello";
    open_or_fail(&srv, "0.0.0.0:0", NULL);
    open_or_fail(&cli, "127.0.0.1:0", NULL);
    io_addr to, want;
    char text[64];
    snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)io_addr_port(&srv.local));
    assert_int_equal(io_addr_parse(&to, text), IO_OK);
    io_datagram d = {.data = msg, .len = sizeof(msg), .peer = to};
    assert_int_equal(io_udp_send(&cli, &d, 1), 1);
    io_datagram r = {.data = buf, .cap = sizeof(buf)};
    recv_n(&srv, &r, 1);
    assert_true(io_addr_equal(&r.local, &to));
    /* Reply from that address explicitly (IP_PKTINFO on send). */
    io_datagram reply = {.data = msg, .len = 3, .peer = r.peer, .local = r.local};
    assert_int_equal(io_udp_send(&srv, &reply, 1), 1);
    recv_n(&cli, &r, 1);
    assert_int_equal(r.len, 3);
    assert_true(io_addr_equal(&r.peer, &to));

    /* A dual-stack [::] socket sees an IPv4 client as ::ffff:127.0.0.1. */
    open_or_fail(&srv6, "[::]:0", NULL);
    snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)io_addr_port(&srv6.local));
    assert_int_equal(io_addr_parse(&to, text), IO_OK);
    d.peer = to;
    assert_int_equal(io_udp_send(&cli, &d, 1), 1);
    recv_n(&srv6, &r, 1);
    snprintf(text, sizeof(text), "[::ffff:127.0.0.1]:%u", (unsigned)io_addr_port(&srv6.local));
    assert_int_equal(io_addr_parse(&want, text), IO_OK);
    assert_true(io_addr_equal(&r.local, &want));
    snprintf(text, sizeof(text), "[::ffff:127.0.0.1]:%u", (unsigned)io_addr_port(&cli.local));
    assert_int_equal(io_addr_parse(&want, text), IO_OK);
    assert_true(io_addr_equal(&r.peer, &want));
    reply =
        (io_datagram){.data = msg, .len = 4, .peer = r.peer, .local = r.local, .ecn = IO_ECN_ECT0};
    assert_int_equal(io_udp_send(&srv6, &reply, 1), 1);
    recv_n(&cli, &r, 1);
    assert_int_equal(r.len, 4);
    assert_int_equal(r.ecn, IO_ECN_ECT0);
    assert_int_equal(io_addr_port(&r.peer), io_addr_port(&srv6.local));

    /* v6only refuses IPv4. */
    io_udp_config cfg = {.v6only = true};
    open_or_fail(&cli6, "[::1]:0", &cfg);
    d.peer = to;
    assert_int_equal(io_udp_send(&cli6, &d, 1), IO_ERR_SEND);
    assert_int_not_equal(cli6.last_errno, 0);
    io_udp_close(&cli6);
    io_udp_close(&srv6);
    io_udp_close(&srv);
    io_udp_close(&cli);
}

static void ecn_round_trip(const char *loop)
{
    io_udp a, b;
    char text[64];
    snprintf(text, sizeof(text), "%s:0", loop);
    open_or_fail(&a, text, NULL);
    open_or_fail(&b, text, NULL);
    uint8_t msg[4][10], buf[4][10];
    io_datagram d[4], r[4];
    for (int i = 0; i < 4; i++) {
        memset(msg[i], i, sizeof(msg[i]));
        d[i] = (io_datagram){.data = msg[i], .len = 10, .peer = b.local, .ecn = (uint8_t)i};
        r[i] = (io_datagram){.data = buf[i], .cap = 10};
    }
    assert_int_equal(io_udp_send(&a, d, 4), 4);
    recv_n(&b, r, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r[i].len, 10);
        assert_int_equal(r[i].data[0], i);
        assert_int_equal(r[i].ecn, i); /* Not-ECT, ECT(1), ECT(0), CE survive loopback */
    }
    io_udp_close(&a);
    io_udp_close(&b);
}

static void test_ecn(void **state)
{
    (void)state;
    ecn_round_trip("127.0.0.1");
    ecn_round_trip("[::1]");
}

/* One train of 10 x 1000 bytes + 1 x 500 must arrive as 11 datagrams. */
static void gso_train(io_udp *tx, io_udp *rx)
{
    static uint8_t train[10500], buf[12][2000];
    fill(train, sizeof(train), 99);
    io_datagram d[2] = {
        {.data = train, .len = sizeof(train), .peer = rx->local, .segment_size = 1000},
        /* A segment size at or above the length is an ordinary datagram. */
        {.data = train, .len = 700, .peer = rx->local, .segment_size = 700},
    };
    io_datagram r[12];
    for (int i = 0; i < 12; i++)
        r[i] = (io_datagram){.data = buf[i], .cap = sizeof(buf[i])};
    assert_int_equal(io_udp_send(tx, d, 2), 2);
    recv_n(rx, r, 12);
    for (size_t i = 0; i < 11; i++) {
        size_t len = i < 10 ? 1000 : 500;
        assert_int_equal(r[i].len, len);
        assert_memory_equal(r[i].data, train + i * 1000, len);
    }
    assert_int_equal(r[11].len, 700);
    assert_memory_equal(r[11].data, train, 700);
    assert_quiet(rx);
}

static void test_gso(void **state)
{
    (void)state;
    io_udp tx, rx;
    open_or_fail(&tx, "127.0.0.1:0", NULL);
    open_or_fail(&rx, "127.0.0.1:0", NULL);
    /* Linux >= 4.18 has UDP_SEGMENT; report the path that ran either way. */
    print_message("UDP GSO %s on this kernel\n", tx.gso_supported ? "supported" : "missing");
    assert_int_equal(tx.gso_enabled, tx.gso_supported);
    gso_train(&tx, &rx);
    if (tx.gso_supported) {
        assert_int_equal(tx.tx_gso_calls, 1);
        assert_int_equal(tx.tx_split_calls, 0);
    } else {
        assert_int_equal(tx.tx_gso_calls, 0);
        assert_int_equal(tx.tx_split_calls, 1);
    }
    assert_int_equal(tx.tx_datagrams, 12);

    /* Forced off: the same train is split in user space, same bytes on the wire. */
    assert_false(io_udp_set_gso(&tx, false));
    gso_train(&tx, &rx);
    assert_int_equal(tx.tx_gso_calls, tx.gso_supported ? 1 : 0);
    assert_int_equal(tx.tx_split_calls, tx.gso_supported ? 1 : 2);
    assert_int_equal(tx.tx_datagrams, 24);
    assert_int_equal(io_udp_set_gso(&tx, true), tx.gso_supported);
    io_udp_close(&tx);

    /* Off from the start by configuration, over IPv6 this time. */
    io_udp_config cfg = {.disable_gso = true};
    io_udp tx6, rx6;
    open_or_fail(&tx6, "[::1]:0", &cfg);
    open_or_fail(&rx6, "[::1]:0", NULL);
    assert_false(tx6.gso_enabled);
    gso_train(&tx6, &rx6);
    assert_int_equal(tx6.tx_gso_calls, 0);
    assert_int_equal(tx6.tx_split_calls, 1);
    if (rx6.gso_supported) {
        gso_train(&rx6, &tx6); /* and the kernel path over IPv6 */
        assert_int_equal(rx6.tx_gso_calls, 1);
    }
    io_udp_close(&tx6);
    io_udp_close(&rx6);
    io_udp_close(&rx);
}

/* UDP GRO: a GSO train over loopback comes up whole, its segment size reported; the
 * bytes are the train's. Where the kernel has no GRO the same train comes as datagrams. */
static void test_gro(void **state)
{
    (void)state;
    io_udp tx, rx;
    open_or_fail(&tx, "127.0.0.1:0", NULL);
    open_or_fail(&rx, "127.0.0.1:0", NULL);
    bool gro = io_udp_set_gro(&rx, true);
    print_message("UDP GRO %s on this kernel\n", gro ? "supported" : "missing");
    assert_int_equal(rx.gro_enabled, gro);
    static uint8_t train[10500], big[4][IO_UDP_MAX_PAYLOAD];
    fill(train, sizeof(train), 7);
    io_datagram d = {.data = train, .len = sizeof(train), .peer = rx.local, .segment_size = 1000};
    assert_int_equal(io_udp_send(&tx, &d, 1), 1);
    io_datagram r[4];
    for (int i = 0; i < 4; i++)
        r[i] = (io_datagram){.data = big[i], .cap = sizeof(big[i])};
    /* Collect until all 10,500 bytes are in (one entry with GRO, eleven without). */
    size_t bytes = 0, got = 0, segs = 0;
    uint8_t joined[10500];
    uint64_t end = io_now_us() + 5000000;
    while (bytes < sizeof(train)) {
        assert_true(io_now_us() < end);
        struct pollfd p = {rx.fd, POLLIN, 0};
        (void)poll(&p, 1, 100);
        int n = io_udp_recv(&rx, r, 4);
        assert_true(n >= 0);
        for (int i = 0; i < n; i++) {
            assert_false(r[i].truncated);
            assert_true(bytes + r[i].len <= sizeof(joined));
            memcpy(joined + bytes, r[i].data, r[i].len);
            bytes += r[i].len;
            segs += r[i].segment_size ? (r[i].len + r[i].segment_size - 1) / r[i].segment_size : 1;
            if (gro && r[i].len > 1000)
                assert_int_equal(r[i].segment_size, 1000);
        }
        got += (size_t)n;
    }
    assert_memory_equal(joined, train, sizeof(train));
    assert_int_equal(segs, 11);
    assert_int_equal(rx.rx_datagrams, 11);
    if (gro)
        assert_int_equal(got, 1); /* the train as sent, never cut apart on loopback */
    else
        assert_int_equal(got, 11);
    assert_false(io_udp_set_gro(&rx, false));
    assert_false(rx.gro_enabled);
    io_udp_close(&tx);
    io_udp_close(&rx);
}

static void test_errors(void **state)
{
    (void)state;
    io_udp a, b;
    open_or_fail(&a, "127.0.0.1:0", NULL);
    char text[64];
    snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)io_addr_port(&a.local));
    assert_int_equal(io_udp_open(&b, text, NULL), IO_ERR_BIND);
    assert_int_equal(b.last_errno, EADDRINUSE);
    assert_int_equal(b.fd, -1);
    /* Two sockets on one port when both ask for SO_REUSEPORT. */
    io_udp_config rp = {.reuseport = true};
    io_udp r1, r2;
    open_or_fail(&r1, "127.0.0.1:0", &rp);
    snprintf(text, sizeof(text), "127.0.0.1:%u", (unsigned)io_addr_port(&r1.local));
    open_or_fail(&r2, text, &rp);
    io_udp_close(&r1);
    io_udp_close(&r2);
    assert_int_equal(io_udp_open(&b, "192.0.2.1:0", NULL), IO_ERR_BIND); /* not ours */
    assert_int_equal(b.last_errno, EADDRNOTAVAIL);
    assert_int_equal(io_udp_open(&b, "nonsense", NULL), IO_ERR_ADDR);

    static uint8_t big[70000];
    io_datagram d = {.data = big, .len = sizeof(big), .peer = a.local};
    assert_int_equal(io_udp_send(&a, &d, 1), IO_ERR_MSGSIZE);
    d.len = 65 * 100;
    d.segment_size = 100; /* 65 segments: over the GSO limit */
    assert_int_equal(io_udp_send(&a, &d, 1), IO_ERR_ARG);
    d.len = 10;
    d.segment_size = 0;
    d.peer.len = 0;
    assert_int_equal(io_udp_send(&a, &d, 1), IO_ERR_ADDR);
    /* An IPv6 destination on an IPv4 socket fails in the kernel. */
    assert_int_equal(io_addr_parse(&d.peer, "[::1]:9"), IO_OK);
    assert_int_equal(io_udp_send(&a, &d, 1), IO_ERR_SEND);
    /* A bad entry after good ones: the good ones go, the bad one is reported next. */
    io_datagram two[2] = {{.data = big, .len = 5, .peer = a.local}, d};
    assert_int_equal(io_udp_send(&a, two, 2), 1);
    assert_int_equal(io_udp_send(&a, two + 1, 1), IO_ERR_SEND);

    /* Nothing waiting: 0, not an error. */
    uint8_t small[4];
    io_datagram r = {.data = small, .cap = sizeof(small)};
    recv_n(&a, &r, 1);
    assert_int_equal(r.len, 4); /* the 5-byte datagram, cut */
    assert_true(r.truncated);
    assert_int_equal(io_udp_recv(&a, &r, 1), 0);
    assert_int_equal(io_udp_send(&a, NULL, 1), IO_ERR_ARG);
    io_udp_close(&a);
    assert_int_equal(io_udp_recv(&a, &r, 1), IO_ERR_ARG);
}

/* RFC 9000 §14: the MTU io/ reads from the kernel, as a UDP payload size. */
static void test_path_payload(void **state)
{
    (void)state;
    io_addr lo, any, lo6;
    assert_int_equal(io_addr_parse(&lo, "127.0.0.1:4433"), IO_OK);
    assert_int_equal(io_addr_parse(&any, "0.0.0.0:4433"), IO_OK);
    size_t path = io_udp_path_payload(&lo), local = io_udp_local_payload(&lo);
    /* Both ways of asking name the loopback interface: its MTU less 28 bytes
     * (a route's MTU is at most 65535, IP's limit, below lo's 65536). */
    assert_true(path >= 1200);
    assert_true(path <= local && local - path <= 1);
    assert_int_equal(io_udp_local_payload(&any), 0); /* a wildcard names no interface */
    if (io_addr_parse(&lo6, "[::1]:4433") == IO_OK && io_udp_path_payload(&lo6) > 0)
        assert_int_equal(io_udp_path_payload(&lo6), local - 20); /* IPv6 headers: 48 */
    io_addr none;
    memset(&none, 0, sizeof(none));
    assert_int_equal(io_udp_path_payload(&none), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addr),
        cmocka_unit_test(test_addr_random),
        cmocka_unit_test_setup_teardown(test_echo_ipv4, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_echo_ipv6, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_pktinfo_wildcard, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_ecn, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_gso, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_gro, setup_alarm, teardown_alarm),
        cmocka_unit_test_setup_teardown(test_errors, setup_alarm, teardown_alarm),
        cmocka_unit_test(test_path_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
