/* Sim tests: key updates mid-transfer, zero-length CIDs, CID issuance, closes, anti-amplification
 * (RFC 9000 §5, §8.1, §10; RFC 9001 §6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "quic/conn_internal.h"
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
    return (uint8_t)((off * 2654435761u) >> 24);
}

typedef struct xfer {
    uint64_t size, written, received;
    uint64_t sid;
    bool opened, fin, mismatch;
    uint64_t close_at; /* server closes the connection after this many bytes (0: never) */
    bool server_closed_it;
    int manual_updates; /* server-initiated key updates to attempt */
} xfer;

static void app(sim_pair *p, bool is_server, const quic_event *ev, uint64_t now)
{
    xfer *x = p->user;
    uint8_t buf[16384];
    if (!is_server && ev == NULL) {
        if (!x->opened && quic_conn_is_established(p->client)) {
            assert_int_equal(quic_conn_open_stream(p->client, true, &x->sid), 0);
            x->opened = true;
        }
        while (x->opened && x->written < x->size) {
            size_t n = sizeof(buf);
            if (n > x->size - x->written)
                n = (size_t)(x->size - x->written);
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern(x->written + i);
            int64_t k = quic_stream_write(p->client, x->sid, buf, n, x->written + n == x->size);
            if (k <= 0)
                break;
            x->written += (uint64_t)k;
        }
        return;
    }
    if (is_server && ev == NULL && x->manual_updates > 0 && x->received > 0 &&
        quic_conn_key_update(p->server) == QUIC_OK)
        x->manual_updates--;
    if (is_server && ev != NULL && ev->type == QUIC_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            int64_t k = quic_stream_read(p->server, ev->stream_id, buf, sizeof(buf), &fin);
            if (k < 0)
                break;
            for (int64_t i = 0; i < k; i++)
                if (buf[i] != pattern(x->received + (uint64_t)i))
                    x->mismatch = true;
            x->received += (uint64_t)k;
            if (fin)
                x->fin = true;
            if (x->close_at > 0 && x->received >= x->close_at && !x->server_closed_it) {
                quic_conn_close(p->server, 0x42, "enough", now);
                x->server_closed_it = true;
                break;
            }
            if (k == 0 || fin)
                break;
        }
    }
}

static bool xfer_done(sim_pair *p)
{
    xfer *x = p->user;
    return x->fin || p->client_closed || p->server_closed;
}

static bool both_closed(sim_pair *p)
{
    return quic_conn_is_closed(p->client) && quic_conn_is_closed(p->server);
}

static netsim_link_config link_of(double loss)
{
    netsim_link_config l = {.delay_us = 10000,
                            .loss = loss,
                            .jitter_us = 2000,
                            .rate_bytes_per_s = 12500000,
                            .queue_bytes = 256 * 1024};
    return l;
}

/* RFC 9001 §6: periodic client updates and server updates, mid-transfer under loss. */
static void test_key_update_mid_transfer(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0.03);
    sim_pair p;
    sim_pair_init(&p, 31, &l, &certs);
    xfer x = {.size = 4 * 1024 * 1024, .manual_updates = 3};
    p.user = &x;
    p.app = app;
    p.ccfg.key_update_after_packets = 400;
    sim_pair_start(&p);
    assert_int_equal(sim_pair_run(&p, xfer_done, 300000000), NETSIM_OK);
    if (!x.fin)
        fprintf(stderr, "client closed %d code %llx by_peer %d; server closed %d code %llx\n",
                p.client_closed, (unsigned long long)p.client_close.error_code,
                p.client_close.by_peer, p.server_closed,
                (unsigned long long)p.server_close.error_code);
    assert_true(x.fin);
    assert_false(x.mismatch);
    assert_int_equal(x.received, x.size);
    assert_false(p.client_closed || p.server_closed);
    const quic_conn_stats *cs = quic_conn_get_stats(p.client), *ss = quic_conn_get_stats(p.server);
    if (getenv("SIM_VERBOSE"))
        fprintf(stderr, "key updates: client %llu server %llu\n",
                (unsigned long long)cs->key_updates, (unsigned long long)ss->key_updates);
    assert_true(cs->key_updates >= 4);
    assert_true(ss->key_updates >= 4);
    assert_int_equal(x.manual_updates, 0);
    sim_pair_free(&p);
}

/* Chromium's client uses an empty SCID (RFC 9000 §5.1, §7.2). */
static void test_zero_length_client_cid(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0.05);
    sim_pair p;
    sim_pair_init(&p, 32, &l, &certs);
    xfer x = {.size = 512 * 1024};
    p.user = &x;
    p.app = app;
    p.ccfg.zero_length_cid = true;
    sim_pair_start(&p);
    assert_int_equal(sim_pair_run(&p, xfer_done, 100000000), NETSIM_OK);
    assert_true(x.fin);
    assert_false(x.mismatch);
    assert_int_equal(p.client->initial_scid.len, 0);
    assert_int_equal(p.server->pcid[0].cid.len, 0);
    sim_pair_free(&p);
}

/* RFC 9000 §5.1.1: spare CIDs arrive and are stored up to the limit. */
static void test_new_connection_ids(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0);
    sim_pair p;
    sim_pair_init(&p, 33, &l, &certs);
    sim_pair_start(&p);
    assert_int_equal(sim_pair_run(&p, sim_handshake_done, 5000000), NETSIM_OK);
    sim_pair_run(&p, NULL, netsim_now(p.net) + 1000000);
    size_t n = 0;
    for (size_t i = 0; i < QUIC_MAX_PEER_CIDS; i++)
        n += p.client->pcid[i].in_use;
    assert_int_equal(n, QUIC_OPT_ACTIVE_CONNECTION_ID_LIMIT);
    n = 0;
    for (size_t i = 0; i < QUIC_MAX_PEER_CIDS; i++)
        n += p.server->pcid[i].in_use;
    assert_int_equal(n, QUIC_OPT_ACTIVE_CONNECTION_ID_LIMIT);
    /* All have stateless reset tokens, and the server's first one is the transport parameter's. */
    assert_true(p.client->pcid[0].has_token);
    sim_pair_free(&p);
}

/* RFC 9000 §10.2: an application close mid-transfer; both end after their periods. */
static void test_application_close_mid_transfer(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0.1);
    sim_pair p;
    sim_pair_init(&p, 34, &l, &certs);
    xfer x = {.size = 2 * 1024 * 1024, .close_at = 300000};
    p.user = &x;
    p.app = app;
    sim_pair_start(&p);
    assert_int_equal(sim_pair_run(&p, both_closed, 100000000), NETSIM_OK);
    assert_true(x.server_closed_it);
    assert_true(p.client_closed);
    assert_true(p.client_close.by_peer);
    assert_true(p.client_close.is_app);
    assert_int_equal(p.client_close.error_code, 0x42);
    assert_true(p.server_closed);
    assert_false(p.server_close.by_peer);
    sim_pair_free(&p);
}

static bool drop_client_after_first(void *user, netsim_datagram *d)
{
    (void)user;
    return d->from == 0 && d->seq >= 1;
}

/* RFC 9000 §8.1: before validation the server sends at most 3x what it received. */
static void test_anti_amplification(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0);
    sim_pair p;
    sim_pair_init(&p, 35, &l, &certs);
    netsim_set_hook(p.net, drop_client_after_first, NULL);
    sim_pair_start(&p);
    sim_pair_run(&p, NULL, 10000000);
    assert_non_null(p.server);
    const quic_conn_stats *ss = quic_conn_get_stats(p.server);
    assert_true(ss->bytes_received >= 1200);
    assert_true(ss->bytes_sent > 0);
    assert_true(ss->bytes_sent <= 3 * ss->bytes_received);
    assert_false(quic_conn_is_established(p.server));
    sim_pair_free(&p);
}

/* ---- RESET_STREAM / STOP_SENDING and DATAGRAM under loss ---- */

#define NRS 20
#define RS_SIZE (64 * 1024)

typedef struct resets {
    uint64_t ids[NRS];
    uint64_t written[NRS];
    bool opened, reset_done[NRS];
    uint64_t received[4 * NRS];
    bool fin[4 * NRS], was_reset[4 * NRS];
    uint64_t reset_code[4 * NRS];
    int finished;
    int dgram_sent, dgram_got;
    bool mismatch;
} resets;

static void reset_app(sim_pair *p, bool is_server, const quic_event *ev, uint64_t now)
{
    resets *r = p->user;
    (void)now;
    uint8_t buf[8192];
    if (!is_server && ev == NULL) {
        if (!r->opened && quic_conn_is_established(p->client)) {
            for (int i = 0; i < NRS; i++)
                assert_int_equal(quic_conn_open_stream(p->client, true, &r->ids[i]), 0);
            r->opened = true;
        }
        if (!r->opened)
            return;
        for (int i = 0; i < NRS; i++) {
            if (r->reset_done[i] || r->written[i] >= RS_SIZE)
                continue;
            /* Odd streams are reset halfway through. */
            if (i % 2 == 1 && r->written[i] >= RS_SIZE / 2) {
                assert_int_equal(quic_stream_reset(p->client, r->ids[i], 100 + (uint64_t)i), 0);
                r->reset_done[i] = true;
                continue;
            }
            size_t n = sizeof(buf);
            if (n > RS_SIZE - r->written[i])
                n = (size_t)(RS_SIZE - r->written[i]);
            for (size_t k = 0; k < n; k++)
                buf[k] = pattern(r->written[i] + k + (uint64_t)i);
            int64_t w = quic_stream_write(p->client, r->ids[i], buf, n,
                                          r->written[i] + n == RS_SIZE && i % 2 == 0);
            assert_true(w >= 0);
            r->written[i] += (uint64_t)w;
        }
        while (r->dgram_sent < 200) {
            uint8_t d[300];
            for (size_t k = 0; k < sizeof(d); k++)
                d[k] = (uint8_t)(r->dgram_sent + (int)k);
            if (quic_conn_send_datagram(p->client, d, sizeof(d)) != 0)
                break;
            r->dgram_sent++;
        }
        return;
    }
    if (!is_server && ev != NULL && ev->type == QUIC_EVENT_STREAM_READABLE) {
        bool fin = false;
        while (quic_stream_read(p->client, ev->stream_id, buf, sizeof(buf), &fin) > 0)
            ;
        return;
    }
    if (!is_server || ev == NULL)
        return;
    size_t idx = (size_t)(ev->stream_id >> 2);
    if (ev->type == QUIC_EVENT_DATAGRAM) {
        assert_int_equal(ev->len, 300);
        for (size_t k = 1; k < ev->len; k++)
            if (ev->data[k] != (uint8_t)(ev->data[0] + k))
                r->mismatch = true;
        r->dgram_got++;
    } else if (ev->type == QUIC_EVENT_STREAM_RESET) {
        r->was_reset[idx] = true;
        r->reset_code[idx] = ev->error_code;
        r->finished++;
        assert_int_equal(quic_stream_shutdown(p->server, ev->stream_id), 0);
    } else if (ev->type == QUIC_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            int64_t k = quic_stream_read(p->server, ev->stream_id, buf, sizeof(buf), &fin);
            if (k < 0)
                break;
            for (int64_t j = 0; j < k; j++)
                if (buf[j] != pattern(r->received[idx] + (uint64_t)j + idx))
                    r->mismatch = true;
            r->received[idx] += (uint64_t)k;
            if (fin) {
                r->fin[idx] = true;
                r->finished++;
                assert_int_equal(quic_stream_shutdown(p->server, ev->stream_id), 0);
            }
            if (k == 0 || fin)
                break;
        }
    }
}

static bool resets_done(sim_pair *p)
{
    resets *r = p->user;
    return (r->finished == NRS && r->dgram_sent == 200) || p->client_closed || p->server_closed;
}

static void test_resets_and_datagrams_under_loss(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0.10);
    sim_pair p;
    sim_pair_init(&p, 37, &l, &certs);
    p.ccfg.max_datagram_frame_size = 1200;
    p.scfg.max_datagram_frame_size = 1200;
    resets r;
    memset(&r, 0, sizeof(r));
    p.user = &r;
    p.app = reset_app;
    sim_pair_start(&p);
    assert_int_equal(sim_pair_run(&p, resets_done, 200000000), NETSIM_OK);
    assert_int_equal(r.finished, NRS);
    assert_false(r.mismatch);
    for (int i = 0; i < NRS; i++) {
        if (i % 2 == 0) {
            assert_true(r.fin[i]);
            assert_int_equal(r.received[i], RS_SIZE);
        } else {
            assert_true(r.was_reset[i]);
            assert_int_equal(r.reset_code[i], 100 + (uint64_t)i);
            assert_true(r.received[i] <= RS_SIZE / 2 + 8192);
        }
    }
    /* Streams are forgotten once both sides are done. */
    sim_pair_run(&p, NULL, netsim_now(p.net) + 2000000);
    /* Datagrams are not retransmitted: most, not all, arrive. */
    assert_int_equal(r.dgram_sent, 200);
    assert_true(r.dgram_got > 150 && r.dgram_got < 200);
    assert_int_equal(p.server->streams.count, 0);
    assert_int_equal(p.client->streams.count, 0);
    sim_pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_update_mid_transfer),
        cmocka_unit_test(test_zero_length_client_cid),
        cmocka_unit_test(test_new_connection_ids),
        cmocka_unit_test(test_application_close_mid_transfer),
        cmocka_unit_test(test_anti_amplification),
        cmocka_unit_test(test_resets_and_datagrams_under_loss),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
