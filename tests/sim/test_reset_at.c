/* Sim tests: RESET_STREAM_AT (draft-ietf-quic-reliable-stream-reset-10) under loss: the
 * receiver gets exactly the promised bytes, byte-exact, then the reset with its code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "quic/error.h"
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

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)((off * 131 + (off >> 9)) & 0xff);
}

#define WRITTEN 200000
#define CODE 77

typedef struct rs {
    uint64_t total;              /* bytes written (0: WRITTEN) */
    uint64_t reliable, lower_to; /* lower_to: a second, smaller RESET_STREAM_AT (0: none) */
    uint64_t sid;
    bool opened, reset_done, lowered;
    int reset_rc;
    uint64_t written, received;
    bool got_reset, got_fin, mismatch;
    uint64_t reset_code;
    uint64_t final_size; /* the reset event's */
} rs;

static void app(sim_pair *p, bool is_server, const quic_event *ev, uint64_t now)
{
    rs *r = p->user;
    (void)now;
    static uint8_t buf[16384];
    if (!is_server && ev == NULL) {
        if (!r->opened && quic_conn_is_established(p->client)) {
            assert_int_equal(quic_conn_open_stream(p->client, false, &r->sid), 0);
            r->opened = true;
        }
        uint64_t total = r->total ? r->total : WRITTEN;
        while (r->opened && r->written < total) {
            size_t n = sizeof(buf);
            if (n > total - r->written)
                n = (size_t)(total - r->written);
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern(r->written + i);
            int64_t k = quic_stream_write(p->client, r->sid, buf, n, false);
            assert_true(k >= 0);
            r->written += (uint64_t)k;
            if ((size_t)k < n)
                break;
        }
        /* Reset as soon as the promised bytes are written (sent or not: unsent ones are
         * queued as lost and still delivered). */
        if (r->opened && !r->reset_done) {
            r->reset_rc = quic_stream_reset_at(p->client, r->sid, CODE, r->reliable);
            r->reset_done = r->reset_rc == QUIC_OK;
            if (!r->reset_done)
                assert_int_equal(r->reset_rc, QUIC_ERR_STREAM_STATE);
        } else if (r->reset_done && r->lower_to > 0 && !r->lowered) {
            assert_int_equal(quic_stream_reset_at(p->client, r->sid, CODE, r->lower_to), QUIC_OK);
            r->lowered = true;
        }
        return;
    }
    if (!is_server || ev == NULL)
        return;
    if (ev->type == QUIC_EVENT_STREAM_RESET) {
        r->got_reset = true;
        r->reset_code = ev->error_code;
        r->final_size = ev->final_size;
    } else if (ev->type == QUIC_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            int64_t k = quic_stream_read(p->server, ev->stream_id, buf, sizeof(buf), &fin);
            if (k < 0)
                break; /* reset */
            for (int64_t i = 0; i < k; i++)
                if (buf[i] != pattern(r->received + (uint64_t)i))
                    r->mismatch = true;
            r->received += (uint64_t)k;
            if (fin)
                r->got_fin = true;
            if (k == 0 || fin)
                break;
        }
    }
}

static bool done(sim_pair *p)
{
    rs *r = p->user;
    return r->got_reset || p->client_closed || p->server_closed;
}

static uint64_t run(uint64_t seed, double loss, rs *r)
{
    netsim_link_config l = {
        .delay_us = 10000, .loss = loss, .rate_bytes_per_s = 12500000, .queue_bytes = 256 * 1024};
    sim_pair p;
    sim_pair_init(&p, seed, &l, &certs);
    p.ccfg.reset_stream_at = true;
    p.scfg.reset_stream_at = true;
    p.user = r;
    p.app = app;
    sim_pair_start(&p);
    int rc = sim_pair_run(&p, done, 120000000);
    assert_int_equal(rc, NETSIM_OK);
    if (p.server_closed)
        fprintf(stderr, "server closed: 0x%llx %.*s\n",
                (unsigned long long)p.server_close.error_code, (int)p.server_close.len,
                (const char *)p.server_close.data);
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    assert_true(r->got_reset);
    assert_false(r->got_fin);
    assert_false(r->mismatch);
    assert_int_equal(r->reset_code, CODE);
    /* RFC 9000 §4.5: the final size covers what was delivered and what was
     * written (the sender resets after its writes; no more than that). */
    assert_true(r->final_size >= r->received);
    assert_true(r->final_size <= (r->total ? r->total : WRITTEN));
    uint64_t lost = quic_conn_get_stats(p.client)->packets_lost;
    sim_pair_free(&p);
    return lost;
}

/* 5% loss, several seeds: the sender wrote R bytes and reset at R as soon as
 * they went out once; lost ones are resent, so exactly R arrive, then the reset
 * (a RESET_STREAM there would have left the receiver short). */
static void test_reliable_bytes_under_loss(void **state)
{
    (void)state;
    uint64_t lost = 0;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        rs r = {.reliable = 60000 + seed * 1111};
        r.total = r.reliable;
        lost += run(seed, 0.05, &r);
        assert_int_equal(r.received, r.reliable);
    }
    assert_true(lost > 0); /* the loss was real */
}

/* More was written and sent than promised: at least R arrive, byte-exact (the
 * draft lets a stack deliver bytes it already had beyond R). */
static void test_reliable_prefix_of_more(void **state)
{
    (void)state;
    for (uint64_t seed = 21; seed <= 24; seed++) {
        rs r = {.reliable = 50000};
        run(seed, 0.05, &r);
        assert_true(r.received >= r.reliable && r.received <= WRITTEN);
    }
}

/* A second RESET_STREAM_AT lowers the size: at least the lower arrives. */
static void test_lowered(void **state)
{
    (void)state;
    rs r = {.reliable = 90000, .lower_to = 30000};
    run(11, 0.05, &r);
    /* draft-ietf-quic-reliable-stream-reset-07 §5: a stack may deliver bytes
     * beyond a Reliable Size that it already had (90367 here once the PMTU
     * had grown past 1200 and a STREAM frame crossed 90000). */
    assert_true(r.received >= 30000 && r.received <= WRITTEN);
}

/* Reliable size 0 is a plain reset (nothing owed). */
static void test_zero(void **state)
{
    (void)state;
    rs r = {.reliable = 0};
    run(12, 0.05, &r);
    assert_true(r.received <= WRITTEN);
}

/* Without the peer's reset_stream_at the call is refused (and a plain reset still works). */
static void test_not_offered(void **state)
{
    (void)state;
    netsim_link_config l = {
        .delay_us = 10000, .rate_bytes_per_s = 12500000, .queue_bytes = 256 * 1024};
    sim_pair p;
    sim_pair_init(&p, 13, &l, &certs);
    p.ccfg.reset_stream_at = true;
    sim_pair_start(&p);
    assert_int_equal(sim_pair_run(&p, sim_handshake_done, 10000000), NETSIM_OK);
    assert_false(quic_conn_peer_reset_stream_at(p.client));
    assert_true(quic_conn_peer_reset_stream_at(p.server));
    uint64_t sid;
    assert_int_equal(quic_conn_open_stream(p.client, false, &sid), 0);
    assert_int_equal(quic_stream_write(p.client, sid, (const uint8_t *)"abc", 3, false), 3);
    assert_int_equal(quic_stream_reset_at(p.client, sid, 1, 1), QUIC_ERR_STREAM_STATE);
    assert_int_equal(quic_stream_reset_at(p.client, sid, 1, 0), QUIC_OK);
    sim_pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reliable_bytes_under_loss),
        cmocka_unit_test(test_reliable_prefix_of_more),
        cmocka_unit_test(test_lowered),
        cmocka_unit_test(test_zero),
        cmocka_unit_test(test_not_offered),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
