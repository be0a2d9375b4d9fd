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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_basic),
        cmocka_unit_test(test_handshake_loss),
        cmocka_unit_test(test_handshake_deterministic),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
