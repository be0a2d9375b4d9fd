/* Sim tests: DPLPMTUD (RFC 8899, RFC 9000 §14.3) over links of several MTUs, a black hole in the
 * middle of a transfer, and probe loss kept out of congestion control. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "quic/conn_internal.h"
#include "tests/sim/sim_conn.h"

#define MB (1024 * 1024)
#ifndef SIM_TRANSFER_MB
#define SIM_TRANSFER_MB 10 /* sanitizer builds: 1 (tests/sim/meson.build) */
#endif
#define SIZE ((uint64_t)SIM_TRANSFER_MB * MB)
#define IPV4_UDP_HEADERS 28 /* the sim's addresses are IPv4: 20 + 8 bytes */

static test_env cert_env;
static sim_certs certs;

static int setup(void **state)
{
    (void)state;
    test_env_init(&cert_env, 7);
    sim_certs_make(&certs, &cert_env.env, cert_env.wall_clock);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sim_certs_free(&certs, &cert_env.env);
    test_env_check_leaks(&cert_env);
    return 0;
}

static uint8_t pattern(bool from_server, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull ^ (from_server ? 0xbf58476d1ce4e5b9ull : 0);
    return (uint8_t)(x >> 56);
}

/* One bidirectional stream: the client writes size bytes, the server writes
 * size bytes back on the same stream (when both_ways), each checked. */
typedef struct xfer {
    uint64_t size;
    bool both_ways;
    uint64_t sid;
    bool opened, server_seen;
    uint64_t written[2], received[2]; /* [0] client side, [1] server side */
    bool fin[2], mismatch;
    /* Black hole: at change_at bytes received by the server, the link's MTU
     * becomes new_mtu in both directions. */
    uint64_t change_at;
    size_t new_mtu;
    netsim_link_config link;
    uint64_t t_change;
    uint64_t pto_at_change;
    uint64_t last_read, longest_stall; /* server reads, after the change */
} xfer;

static void write_some(sim_pair *p, bool is_server, xfer *x)
{
    static uint8_t buf[65536];
    quic_conn *c = is_server ? p->server : p->client;
    int k = is_server ? 1 : 0;
    while (x->written[k] < x->size) {
        size_t n = sizeof(buf);
        if (n > x->size - x->written[k])
            n = (size_t)(x->size - x->written[k]);
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(is_server, x->written[k] + i);
        int64_t w = quic_stream_write(c, x->sid, buf, n, x->written[k] + n == x->size);
        if (w < 0)
            fprintf(stderr, "%s write: %lld at %llu, state %d\n", is_server ? "server" : "client",
                    (long long)w, (unsigned long long)x->written[k], (int)c->state),
                fprintf(stderr, "closes: client 0x%llx peer %d, server 0x%llx peer %d\n",
                        (unsigned long long)p->client_close.error_code, p->client_close.by_peer,
                        (unsigned long long)p->server_close.error_code, p->server_close.by_peer);
        assert_true(w >= 0);
        x->written[k] += (uint64_t)w;
        if ((size_t)w < n)
            break;
    }
}

static void read_all(sim_pair *p, bool is_server, xfer *x, uint64_t sid, uint64_t now)
{
    static uint8_t buf[65536];
    quic_conn *c = is_server ? p->server : p->client;
    int k = is_server ? 1 : 0;
    for (;;) {
        bool fin = false;
        int64_t n = quic_stream_read(c, sid, buf, sizeof(buf), &fin);
        assert_true(n >= 0);
        for (int64_t i = 0; i < n; i++)
            if (buf[i] != pattern(!is_server, x->received[k] + (uint64_t)i))
                x->mismatch = true;
        x->received[k] += (uint64_t)n;
        if (n > 0 && is_server && x->t_change != 0) {
            if (now - x->last_read > x->longest_stall)
                x->longest_stall = now - x->last_read;
            x->last_read = now;
        }
        if (fin)
            x->fin[k] = true;
        if (n == 0 || fin)
            break;
    }
    if (is_server && x->change_at != 0 && x->t_change == 0 && x->received[1] >= x->change_at) {
        x->link.mtu = x->new_mtu;
        netsim_set_link(p->net, p->cnode, p->snode, &x->link);
        netsim_set_link(p->net, p->snode, p->cnode, &x->link);
        x->t_change = now;
        x->last_read = now;
        x->pto_at_change = quic_conn_pto(p->client);
    }
}

static void xfer_app(sim_pair *p, bool is_server, const quic_event *ev, uint64_t now)
{
    xfer *x = p->user;
    if (ev == NULL) {
        if (!is_server && !x->opened && quic_conn_is_established(p->client)) {
            assert_int_equal(quic_conn_open_stream(p->client, true, &x->sid), 0);
            x->opened = true;
        }
        if (!is_server && x->opened)
            write_some(p, false, x);
        if (is_server && x->server_seen && x->both_ways)
            write_some(p, true, x);
        return;
    }
    if (ev->type == QUIC_EVENT_STREAM_READABLE) {
        if (is_server)
            x->server_seen = true;
        read_all(p, is_server, x, ev->stream_id, now);
    }
}

static bool xfer_done(sim_pair *p)
{
    xfer *x = p->user;
    return (x->fin[1] && (!x->both_ways || x->fin[0])) || p->client_closed || p->server_closed;
}

static netsim_link_config link_of(size_t ip_mtu)
{
    netsim_link_config l = {.delay_us = 10000,
                            .rate_bytes_per_s = 12500000, /* 100 Mbit/s */
                            .queue_bytes = 256 * 1024,
                            .mtu = ip_mtu - IPV4_UDP_HEADERS};
    return l;
}

static void run(sim_pair *p, xfer *x, uint64_t seed, const netsim_link_config *l, uint32_t max)
{
    sim_pair_init(p, seed, l, &certs);
    p->ccfg.max_udp_payload = max;
    p->scfg.max_udp_payload = max;
    /* Both ends send 1 MB windows and buffers at once: with the default 2 MB
     * budget each side holds the other's packets unacknowledged while its
     * own send buffer waits for acknowledgments (a stall, issue 13's room). */
    p->ccfg.max_conn_memory = 8u << 20;
    p->scfg.max_conn_memory = 8u << 20;
    p->user = x;
    p->app = xfer_app;
    x->link = *l;
    sim_pair_start(p);
    int r = sim_pair_run(p, xfer_done, 600000000);
    const quic_conn_stats *cs = quic_conn_get_stats(p->client);
    const quic_conn_stats *ss = p->server ? quic_conn_get_stats(p->server) : NULL;
    netsim_stats ns = netsim_get_stats(p->net, -1, -1);
    if (getenv("SIM_VERBOSE") != NULL || r != NETSIM_OK)
        fprintf(
            stderr,
            "mtu %zu: r=%d t=%.3f s; client pmtu %llu probes %llu lost %llu (lost %llu of %llu), "
            "server pmtu %llu probes %llu lost %llu (lost %llu of %llu); link mtu drops %llu\n",
            l->mtu + IPV4_UDP_HEADERS, r, (double)netsim_now(p->net) / 1e6,
            (unsigned long long)cs->pmtu, (unsigned long long)cs->pmtu_probes_sent,
            (unsigned long long)cs->pmtu_probes_lost, (unsigned long long)cs->packets_lost,
            (unsigned long long)cs->packets_sent, (unsigned long long)(ss ? ss->pmtu : 0),
            (unsigned long long)(ss ? ss->pmtu_probes_sent : 0),
            (unsigned long long)(ss ? ss->pmtu_probes_lost : 0),
            (unsigned long long)(ss ? ss->packets_lost : 0),
            (unsigned long long)(ss ? ss->packets_sent : 0), (unsigned long long)ns.dropped_mtu);
    assert_int_equal(r, NETSIM_OK);
    assert_false(p->client_closed);
    assert_false(p->server_closed);
    assert_false(x->mismatch);
    assert_true(x->fin[1]);
    assert_int_equal(x->received[1], x->size);
    if (x->both_ways) {
        assert_true(x->fin[0]);
        assert_int_equal(x->received[0], x->size);
    }
}

static bool searches_done(sim_pair *p)
{
    return p->client->pmtud.state == QUIC_PMTUD_SEARCH_COMPLETE &&
           p->server->pmtud.state == QUIC_PMTUD_SEARCH_COMPLETE;
}

/* A search not finished during a short transfer (sanitizer builds) goes on
 * with probes alone on the quiet connection. */
static void finish_searches(sim_pair *p)
{
    assert_int_equal(sim_pair_run(p, searches_done, netsim_now(p->net) + 10000000), NETSIM_OK);
}

/* SIZE (10 MB) each way; both ends settle at what the link carries, within max. */
static void mtu_case(size_t ip_mtu, uint32_t max, uint64_t seed)
{
    sim_pair p;
    xfer x = {.size = SIZE, .both_ways = true};
    netsim_link_config l = link_of(ip_mtu);
    run(&p, &x, seed, &l, max);
    finish_searches(&p);
    uint64_t want = l.mtu < (max ? max : 1452) ? l.mtu : (max ? max : 1452);
    assert_int_equal(quic_conn_get_stats(p.client)->pmtu, want);
    assert_int_equal(quic_conn_get_stats(p.server)->pmtu, want);
    assert_int_equal(p.client->pmtud.state, QUIC_PMTUD_SEARCH_COMPLETE);
    assert_int_equal(p.server->pmtud.state, QUIC_PMTUD_SEARCH_COMPLETE);
    /* Every datagram the link refused was a probe: data never exceeded the PLPMTU. */
    netsim_stats ns = netsim_get_stats(p.net, -1, -1);
    assert_int_equal(ns.dropped_mtu, quic_conn_get_stats(p.client)->pmtu_probes_lost +
                                         quic_conn_get_stats(p.server)->pmtu_probes_lost);
    sim_pair_free(&p);
}

static void test_mtu_1280(void **state)
{
    (void)state;
    mtu_case(1280, 0, 11);
}

static void test_mtu_1350(void **state)
{
    (void)state;
    mtu_case(1350, 0, 12);
}

static void test_mtu_1420(void **state)
{
    (void)state;
    mtu_case(1420, 0, 13);
}

static void test_mtu_1500(void **state)
{
    (void)state;
    mtu_case(1500, 0, 14);
}

static void test_mtu_9000(void **state)
{
    (void)state;
    mtu_case(9000, 8952, 15);
}

/* Without discovery nothing exceeds the 1200 bytes RFC 9000 §14 allows. */
static void test_no_pmtud(void **state)
{
    (void)state;
    sim_pair p;
    xfer x = {.size = 1 * MB, .both_ways = true};
    netsim_link_config l = link_of(1500);
    sim_pair_init(&p, 16, &l, &certs);
    p.ccfg.no_pmtud = true;
    p.scfg.no_pmtud = true;
    p.user = &x;
    p.app = xfer_app;
    sim_pair_start(&p);
    assert_int_equal(sim_pair_run(&p, xfer_done, 600000000), NETSIM_OK);
    assert_false(x.mismatch);
    assert_int_equal(x.received[0], x.size);
    assert_int_equal(quic_conn_get_stats(p.client)->pmtu, 1200);
    assert_int_equal(quic_conn_get_stats(p.client)->pmtu_probes_sent, 0);
    assert_int_equal(quic_conn_get_stats(p.server)->pmtu_probes_sent, 0);
    sim_pair_free(&p);
}

/* RFC 8899 §4.3: the path shrinks from 1500 to 1280 mid-transfer; the
 * sender notices the black hole and finds the new size within a few PTOs. */
static void test_black_hole(void **state)
{
    (void)state;
    sim_pair p;
    xfer x = {.size = SIZE, .change_at = SIZE * 3 / 10, .new_mtu = 1280 - IPV4_UDP_HEADERS};
    netsim_link_config l = link_of(1500);
    run(&p, &x, 17, &l, 0);
    finish_searches(&p);
    const quic_conn_stats *cs = quic_conn_get_stats(p.client);
    if (getenv("SIM_VERBOSE") != NULL)
        fprintf(stderr, "black hole at %.3f s: longest stall %.3f s, PTO %.3f s\n",
                (double)x.t_change / 1e6, (double)x.longest_stall / 1e6,
                (double)x.pto_at_change / 1e6);
    assert_true(x.t_change > 0);
    assert_int_equal(cs->pmtu_black_holes, 1);
    assert_int_equal(cs->pmtu, 1280 - IPV4_UDP_HEADERS);
    /* 1 PTO, then 2 (backed off), then the base gets through: under 5. */
    assert_true(x.longest_stall < 5 * x.pto_at_change);
    sim_pair_free(&p);
}

/* RFC 9000 §14.4: on a link with no loss but its MTU, the only losses are
 * probes, and the window never shrinks (slow start never ends). */
static void test_probe_loss_not_congestion(void **state)
{
    (void)state;
    sim_pair p;
    xfer x = {.size = SIZE};
    netsim_link_config l = {.delay_us = 10000, .mtu = 1280 - IPV4_UDP_HEADERS};
    run(&p, &x, 18, &l, 0);
    finish_searches(&p);
    const quic_conn_stats *cs = quic_conn_get_stats(p.client);
    if (getenv("SIM_VERBOSE") != NULL)
        fprintf(stderr, "probe loss: lost %llu, probes lost %llu\n",
                (unsigned long long)cs->packets_lost, (unsigned long long)cs->pmtu_probes_lost);
    assert_true(cs->pmtu_probes_lost >= QUIC_PMTUD_MAX_PROBES);
    assert_int_equal(cs->packets_lost, cs->pmtu_probes_lost);
    assert_int_equal(p.client->cc.ssthresh, UINT64_MAX);
    assert_true(p.client->cc.cwnd > quic_cc_initial_window(1200));
    assert_int_equal(cs->pmtu, 1280 - IPV4_UDP_HEADERS);
    sim_pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mtu_1280),   cmocka_unit_test(test_mtu_1350),
        cmocka_unit_test(test_mtu_1420),   cmocka_unit_test(test_mtu_1500),
        cmocka_unit_test(test_mtu_9000),   cmocka_unit_test(test_no_pmtud),
        cmocka_unit_test(test_black_hole), cmocka_unit_test(test_probe_loss_not_congestion),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
