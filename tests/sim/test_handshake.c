/* Sim tests: QUIC handshakes between our client and server (RFC 9000 §7, RFC 9001 §4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "tests/sim/sim_conn.h"

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

typedef struct trace_info {
    size_t client_datagrams;
    size_t small_client_initial; /* client datagrams with an Initial below 1200 bytes */
    size_t server_bytes_before_first_client_handshake;
} trace_info;

static void trace(void *user, const netsim_datagram *d, int event)
{
    trace_info *ti = user;
    if (event != NETSIM_QUEUED || d->from != 0)
        return;
    ti->client_datagrams++;
    /* Long header, Initial type bits 00 (RFC 9000 §17.2.2). */
    if ((d->data[0] & 0xb0) == 0x80 && d->len < 1200)
        ti->small_client_initial++;
}

static void test_handshake_basic(void **state)
{
    (void)state;
    netsim_link_config link = {.delay_us = 10000, .rate_bytes_per_s = 10 * 1000 * 1000};
    sim_pair p;
    sim_pair_init(&p, 1, &link, &certs);
    trace_info ti = {0};
    netsim_set_trace(p.net, trace, &ti);
    sim_pair_start(&p);
    assert_int_equal(sim_pair_run(&p, sim_handshake_done, 2000000), NETSIM_OK);
    assert_string_equal(quic_conn_alpn(p.client), "h3");
    assert_string_equal(quic_conn_alpn(p.server), "h3");
    assert_int_equal(ti.small_client_initial, 0);
    assert_true(ti.client_datagrams >= 2);
    /* One round trip for the server's flight plus one for the client's Finished. */
    assert_true(netsim_now(p.net) < 200000);
    assert_int_equal(p.server_accepts, 1);
    /* Keep going until both sides are quiet: the client gets HANDSHAKE_DONE. */
    sim_pair_run(&p, NULL, netsim_now(p.net) + 500000);
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    sim_pair_free(&p);
}

static void test_handshake_loss(void **state)
{
    (void)state;
    for (uint64_t seed = 100; seed < 110; seed++) {
        netsim_link_config link = {.delay_us = 15000, .loss = 0.30, .jitter_us = 2000};
        sim_pair p;
        sim_pair_init(&p, seed, &link, &certs);
        sim_pair_start(&p);
        int r = sim_pair_run(&p, sim_handshake_done, 60000000);
        assert_int_equal(r, NETSIM_OK);
        assert_false(p.client_closed);
        assert_false(p.server_closed);
        sim_pair_free(&p);
    }
}

static uint64_t run_hash(uint64_t seed)
{
    netsim_link_config link = {.delay_us = 5000, .loss = 0.1, .jitter_us = 3000};
    sim_pair p;
    sim_pair_init(&p, seed, &link, &certs);
    sim_pair_start(&p);
    assert_int_equal(sim_pair_run(&p, sim_handshake_done, 30000000), NETSIM_OK);
    uint64_t h = netsim_log_hash(p.net);
    sim_pair_free(&p);
    return h;
}

static void test_handshake_deterministic(void **state)
{
    (void)state;
    uint64_t a = run_hash(42), b = run_hash(42), c = run_hash(43);
    assert_true(a == b);
    assert_true(a != c);
}

/* RFC 9001 §4.1.4, §5.7 under reordering: the client's 1-RTT data may overtake its Handshake
 * flight (jitter on the client's link); the server keeps it until the handshake completes, so
 * nothing is lost or retransmitted. Over several seeds, at least one reorders. */
typedef struct early_run {
    uint64_t stream;
    bool wrote;
    size_t got;
    uint64_t max_seq_short; /* highest seq of a client 1-RTT-only datagram delivered so far */
    bool any_short;
    bool overtaken; /* the Handshake flight arrived after a later 1-RTT-only datagram */
} early_run;

#define EARLY_BYTES 3000

static void early_app(sim_pair *p, bool is_server, const quic_event *ev, uint64_t now)
{
    (void)now;
    early_run *r = p->user;
    /* As soon as the client has 1-RTT keys: in the flight of its Finished. */
    if (!is_server && ev == NULL && !r->wrote && quic_conn_is_established(p->client)) {
        static uint8_t data[EARLY_BYTES];
        memset(data, 0x42, sizeof(data));
        assert_int_equal(quic_conn_open_stream(p->client, true, &r->stream), 0);
        assert_int_equal(quic_stream_write(p->client, r->stream, data, sizeof(data), true),
                         EARLY_BYTES);
        r->wrote = true;
    }
    if (is_server && ev != NULL && ev->type == QUIC_EVENT_STREAM_READABLE) {
        uint8_t buf[4096];
        bool fin;
        int64_t n;
        while ((n = quic_stream_read(p->server, ev->stream_id, buf, sizeof(buf), &fin)) > 0)
            r->got += (size_t)n;
    }
}

static void early_trace(void *user, const netsim_datagram *d, int event)
{
    early_run *r = user;
    if (event != NETSIM_TRACE_DELIVER || d->from != 0)
        return;
    if ((d->data[0] & 0x80) == 0) {
        if (!r->any_short || d->seq > r->max_seq_short)
            r->max_seq_short = d->seq;
        r->any_short = true;
    } else if (d->seq > 0 && r->any_short && d->seq < r->max_seq_short) {
        /* A long-header datagram after the first Initial: the client's Handshake flight. */
        r->overtaken = true;
    }
}

static bool early_done(sim_pair *p)
{
    return ((early_run *)p->user)->got == EARLY_BYTES;
}

static void test_handshake_reordered_early_data(void **state)
{
    (void)state;
    int overtaken = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        netsim_link_config link = {.delay_us = 10000, .jitter_us = 4000};
        sim_pair p;
        sim_pair_init(&p, seed, &link, &certs);
        early_run r;
        memset(&r, 0, sizeof(r));
        p.user = &r;
        p.app = early_app;
        netsim_set_trace(p.net, early_trace, &r);
        sim_pair_start(&p);
        assert_int_equal(sim_pair_run(&p, early_done, 2000000), NETSIM_OK);
        if (r.overtaken) {
            overtaken++;
            assert_true(quic_conn_get_stats(p.server)->packets_buffered > 0);
        }
        /* Whether reordered or not: nothing lost, nothing sent twice. */
        assert_int_equal(quic_conn_get_stats(p.client)->packets_lost, 0);
        /* Two round trips and the handshake's own, no PTO. */
        assert_true(netsim_now(p.net) < 80000);
        sim_pair_free(&p);
    }
    assert_true(overtaken > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_basic),
        cmocka_unit_test(test_handshake_loss),
        cmocka_unit_test(test_handshake_deterministic),
        cmocka_unit_test(test_handshake_reordered_early_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
