/* Sim tests: bulk and many-stream transfers, byte-exact, under loss, reordering and duplication. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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

static uint8_t pattern(uint64_t sid, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull ^ (sid * 0xbf58476d1ce4e5b9ull);
    return (uint8_t)(x >> 56);
}

/* ---- One bulk stream, client to server ---- */

typedef struct bulk {
    uint64_t size;
    uint64_t sid;
    bool opened;
    uint64_t written;
    uint64_t received;
    bool fin;
    bool mismatch;
} bulk;

static void bulk_app(sim_pair *p, bool is_server, const quic_event *ev, uint64_t now)
{
    bulk *b = p->user;
    (void)now;
    static uint8_t buf[65536];
    if (!is_server && ev == NULL) {
        if (!b->opened && quic_conn_is_established(p->client)) {
            assert_int_equal(quic_conn_open_stream(p->client, true, &b->sid), 0);
            b->opened = true;
        }
        while (b->opened && b->written < b->size) {
            size_t n = sizeof(buf);
            if (n > b->size - b->written)
                n = (size_t)(b->size - b->written);
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern(b->sid, b->written + i);
            int64_t k = quic_stream_write(p->client, b->sid, buf, n, b->written + n == b->size);
            assert_true(k >= 0);
            b->written += (uint64_t)k;
            if ((size_t)k < n)
                break;
        }
        return;
    }
    if (is_server && ev != NULL && ev->type == QUIC_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            int64_t k = quic_stream_read(p->server, ev->stream_id, buf, sizeof(buf), &fin);
            assert_true(k >= 0);
            for (int64_t i = 0; i < k; i++)
                if (buf[i] != pattern(ev->stream_id, b->received + (uint64_t)i))
                    b->mismatch = true;
            b->received += (uint64_t)k;
            if (fin)
                b->fin = true;
            if (k == 0 || fin)
                break;
        }
    }
}

static bool bulk_done(sim_pair *p)
{
    bulk *b = p->user;
    return b->fin || p->client_closed || p->server_closed;
}

/* send_buffer: the client's max_stream_buffer (0: the default). */
static void run_bulk_buffer(uint64_t seed, const netsim_link_config *link, uint64_t size,
                            quic_cc_algo cc, size_t send_buffer, uint64_t *hash)
{
    sim_pair p;
    sim_pair_init(&p, seed, link, &certs);
    if (send_buffer > 0)
        p.ccfg.max_stream_buffer = send_buffer;
    bulk b = {.size = size};
    p.user = &b;
    p.app = bulk_app;
    p.ccfg.cc = cc;
    p.scfg.cc = cc;
    sim_pair_start(&p);
    int r = sim_pair_run(&p, bulk_done, 900000000);
    if (r != NETSIM_OK || !b.fin)
        fprintf(stderr, "bulk seed %llu: r=%d received %llu of %llu at t=%llu\n",
                (unsigned long long)seed, r, (unsigned long long)b.received,
                (unsigned long long)size, (unsigned long long)netsim_now(p.net));
    assert_int_equal(r, NETSIM_OK);
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    assert_true(b.fin);
    assert_false(b.mismatch);
    assert_int_equal(b.received, size);
    const quic_conn_stats *st = quic_conn_get_stats(p.client);
    if (getenv("SIM_VERBOSE") != NULL)
        fprintf(stderr, "bulk seed %llu: %llu bytes in %llu us, %llu packets sent, %llu lost\n",
                (unsigned long long)seed, (unsigned long long)size,
                (unsigned long long)netsim_now(p.net), (unsigned long long)st->packets_sent,
                (unsigned long long)st->packets_lost);
    /* Loss recovery was exercised whenever the link lost packets. */
    if (link->loss > 0)
        assert_true(st->packets_lost > 0);
    else
        assert_true(st->packets_lost < st->packets_sent / 100 + 1);
    if (hash != NULL)
        *hash = netsim_log_hash(p.net);
    sim_pair_free(&p);
}

static void run_bulk(uint64_t seed, const netsim_link_config *link, uint64_t size, quic_cc_algo cc,
                     uint64_t *hash)
{
    run_bulk_buffer(seed, link, size, cc, 0, hash);
}

#define MB (1024 * 1024)

static netsim_link_config lossy(double loss)
{
    netsim_link_config l = {.delay_us = 10000,
                            .loss = loss,
                            .rate_bytes_per_s = 12500000, /* 100 Mbit/s */
                            .queue_bytes = 256 * 1024};
    return l;
}

static void test_bulk_clean(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0);
    run_bulk(1, &l, 10 * MB, QUIC_CC_NEWRENO, NULL);
}

static void test_bulk_loss5(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0.05);
    run_bulk(2, &l, 10 * MB, QUIC_CC_NEWRENO, NULL);
}

static void test_bulk_loss10_cubic(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0.10);
    run_bulk(3, &l, 10 * MB, QUIC_CC_CUBIC, NULL);
}

static void test_bulk_loss30(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0.30);
    run_bulk(4, &l, 10 * MB, QUIC_CC_NEWRENO, NULL);
}

static void test_bulk_reorder_duplicate(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0.02);
    l.jitter_us = 8000;
    l.duplicate = 0.05;
    run_bulk(5, &l, 10 * MB, QUIC_CC_NEWRENO, NULL);
}

static void test_bulk_corruption(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0.01);
    l.corrupt = 0.05;
    run_bulk(6, &l, 2 * MB, QUIC_CC_NEWRENO, NULL);
}

/* The send buffer is a ring: with 5000 bytes (not a power of two) the writes
 * the client makes as acknowledgments free room wrap around it thousands of
 * times, and STREAM frames stop at its end; every byte still arrives in order. */
static void test_bulk_small_send_ring(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0.05);
    run_bulk_buffer(7, &l, 1 * MB, QUIC_CC_NEWRENO, 5000, NULL);
}

/* The FIN goes on the frame that ends at the final size, also when the last
 * bytes cross the ring's end and are sent as two frames (a FIN on the first
 * would announce a wrong final size: the peer closes with FINAL_SIZE_ERROR). */
static void test_bulk_small_send_ring_fin(void **state)
{
    (void)state;
    /* Sizes around the ring's multiples, so that the last bytes start at every
     * kind of place in it. */
    for (uint64_t size = 4000; size <= 21000; size += 251) {
        netsim_link_config l = lossy(0);
        run_bulk_buffer(100 + size, &l, size, QUIC_CC_NEWRENO, 5000, NULL);
    }
}

/* A receive window (16 MiB, as quince-client's) larger than the connection's memory budget
 * (2 MiB by default): the credit still grows past the first window, in steps of the room
 * the budget has, and 20 MiB arrive whole (the download stopped at 16 MiB before). */
static void test_bulk_window_past_budget(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0);
    l.rate_bytes_per_s = 125000000; /* 1 Gbit/s: a short run */
    sim_pair p;
    sim_pair_init(&p, 10, &l, &certs);
    p.scfg.initial_max_data = 16 * MB;
    p.scfg.initial_max_stream_data_bidi_remote = 16 * MB;
    bulk b = {.size = 20 * MB};
    p.user = &b;
    p.app = bulk_app;
    sim_pair_start(&p);
    int r = sim_pair_run(&p, bulk_done, 120000000);
    if (r != NETSIM_OK || !b.fin)
        fprintf(stderr, "window past budget: r=%d received %llu\n", r,
                (unsigned long long)b.received);
    assert_int_equal(r, NETSIM_OK);
    assert_true(b.fin);
    assert_false(b.mismatch);
    assert_int_equal(b.received, 20 * MB);
    sim_pair_free(&p);
}

static void test_bulk_deterministic(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0.05);
    l.jitter_us = 3000;
    uint64_t a, b;
    run_bulk(9, &l, 1 * MB, QUIC_CC_CUBIC, &a);
    run_bulk(9, &l, 1 * MB, QUIC_CC_CUBIC, &b);
    assert_true(a == b);
}

/* ---- Many small streams, echoed back ---- */

#define NSTREAMS 1000
#define SMALL 700

typedef struct many {
    size_t opened, finished_client, finished_server;
    uint64_t ids[NSTREAMS];
    uint64_t cwritten[NSTREAMS];
    uint64_t crecv[NSTREAMS];
    bool mismatch;
    /* server side: per stream offset read and echoed */
    uint64_t srecv[4 * NSTREAMS];
    uint64_t secho[4 * NSTREAMS];
    bool sfin[4 * NSTREAMS];
    bool sdone[4 * NSTREAMS];
} many;

static void many_app(sim_pair *p, bool is_server, const quic_event *ev, uint64_t now)
{
    many *m = p->user;
    (void)now;
    uint8_t buf[2048];
    if (!is_server) {
        if (ev == NULL) {
            if (!quic_conn_is_established(p->client))
                return;
            while (m->opened < NSTREAMS) {
                uint64_t id;
                if (quic_conn_open_stream(p->client, true, &id) != 0)
                    break;
                m->ids[m->opened++] = id;
            }
            for (size_t i = 0; i < m->opened; i++) {
                if (m->cwritten[i] >= SMALL)
                    continue;
                uint64_t id = m->ids[i];
                size_t n = SMALL - (size_t)m->cwritten[i];
                for (size_t k = 0; k < n; k++)
                    buf[k] = pattern(id, m->cwritten[i] + k);
                int64_t w = quic_stream_write(p->client, id, buf, n, true);
                assert_true(w >= 0);
                m->cwritten[i] += (uint64_t)w;
            }
            return;
        }
        if (ev->type != QUIC_EVENT_STREAM_READABLE)
            return;
        size_t idx = (size_t)(ev->stream_id >> 2);
        for (;;) {
            bool fin = false;
            int64_t k = quic_stream_read(p->client, ev->stream_id, buf, sizeof(buf), &fin);
            assert_true(k >= 0);
            for (int64_t i = 0; i < k; i++)
                if (buf[i] != pattern(ev->stream_id ^ 1, m->crecv[idx] + (uint64_t)i))
                    m->mismatch = true;
            m->crecv[idx] += (uint64_t)k;
            if (fin) {
                if (m->crecv[idx] != SMALL)
                    m->mismatch = true;
                m->finished_client++;
            }
            if (k == 0 || fin)
                break;
        }
        return;
    }
    if (ev != NULL && ev->type == QUIC_EVENT_STREAM_READABLE) {
        size_t idx = (size_t)(ev->stream_id >> 2);
        assert_true(idx < 4 * NSTREAMS);
        for (;;) {
            bool fin = false;
            int64_t k = quic_stream_read(p->server, ev->stream_id, buf, sizeof(buf), &fin);
            assert_true(k >= 0);
            for (int64_t i = 0; i < k; i++)
                if (buf[i] != pattern(ev->stream_id, m->srecv[idx] + (uint64_t)i))
                    m->mismatch = true;
            m->srecv[idx] += (uint64_t)k;
            if (fin)
                m->sfin[idx] = true;
            if (k == 0 || fin)
                break;
        }
    }
    if (ev == NULL) {
        /* Echo what arrived, with the server's pattern, FIN once all came. */
        for (size_t idx = 0; idx < 4 * NSTREAMS; idx++) {
            if (m->sdone[idx] || m->srecv[idx] == 0)
                continue;
            uint64_t id = idx << 2;
            size_t n = (size_t)(m->srecv[idx] - m->secho[idx]);
            for (size_t k = 0; k < n; k++)
                buf[k] = pattern(id ^ 1, m->secho[idx] + k);
            int64_t w = quic_stream_write(p->server, id, buf, n, m->sfin[idx]);
            assert_true(w >= 0);
            m->secho[idx] += (uint64_t)w;
            if (m->sfin[idx] && m->secho[idx] == m->srecv[idx] && (size_t)w == n) {
                m->sdone[idx] = true;
                m->finished_server++;
            }
        }
    }
}

static bool many_done(sim_pair *p)
{
    many *m = p->user;
    return m->finished_client == NSTREAMS || p->client_closed || p->server_closed;
}

static void run_many(uint64_t seed, const netsim_link_config *link)
{
    sim_pair p;
    sim_pair_init(&p, seed, link, &certs);
    many *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    p.user = m;
    p.app = many_app;
    sim_pair_start(&p);
    int r = sim_pair_run(&p, many_done, 600000000);
    if (r != NETSIM_OK || m->finished_client != NSTREAMS)
        fprintf(stderr, "many seed %llu: r=%d client %zu server %zu opened %zu t=%llu\n",
                (unsigned long long)seed, r, m->finished_client, m->finished_server, m->opened,
                (unsigned long long)netsim_now(p.net));
    assert_int_equal(r, NETSIM_OK);
    assert_int_equal(m->finished_client, NSTREAMS);
    assert_int_equal(m->finished_server, NSTREAMS);
    assert_false(m->mismatch);
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    free(m);
    sim_pair_free(&p);
}

static void test_many_clean(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0);
    run_many(11, &l);
}

static void test_many_loss10_reorder(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0.10);
    l.jitter_us = 5000;
    run_many(12, &l);
}

static void test_many_loss30_dup(void **state)
{
    (void)state;
    netsim_link_config l = lossy(0.30);
    l.duplicate = 0.05;
    run_many(13, &l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bulk_clean),
        cmocka_unit_test(test_bulk_loss5),
        cmocka_unit_test(test_bulk_loss10_cubic),
        cmocka_unit_test(test_bulk_loss30),
        cmocka_unit_test(test_bulk_reorder_duplicate),
        cmocka_unit_test(test_bulk_corruption),
        cmocka_unit_test(test_bulk_small_send_ring),
        cmocka_unit_test(test_bulk_small_send_ring_fin),
        cmocka_unit_test(test_bulk_deterministic),
        cmocka_unit_test(test_bulk_window_past_budget),
        cmocka_unit_test(test_many_clean),
        cmocka_unit_test(test_many_loss10_reorder),
        cmocka_unit_test(test_many_loss30_dup),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
