/* Sim tests: compatible version negotiation (RFC 9368) between QUIC v1 and v2 (RFC 9369 §4),
 * checked on every packet that crosses the simulated wire. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "quic/conn_internal.h"
#include "quic/packet.h"
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

/* What the wire carried: long-header packets by sender and version, in order. */
typedef struct wire {
    size_t long_pkts[2][3]; /* [client, server][v1, v2, other] */
    size_t short_pkts[2];
    size_t client_v1_after_server; /* client v1 packets sent after a server packet arrived */
    bool server_delivered;         /* a server datagram reached the client */
    uint32_t first_client_version;
    uint32_t first_server_version;
} wire;

static void wire_trace(void *user, const netsim_datagram *d, int event)
{
    wire *w = user;
    int side = d->from == 0 ? 0 : 1;
    if (event == NETSIM_TRACE_DELIVER) {
        if (side == 1)
            w->server_delivered = true;
        return;
    }
    if (event != NETSIM_QUEUED)
        return;
    quic_pkt_parse_opts po = {.short_dcid_len = 8};
    const uint8_t *p = d->data;
    size_t left = d->len;
    while (left > 0) {
        quic_pkt_header h;
        if (quic_pkt_parse_header(p, left, &po, &h) != QUIC_OK)
            break;
        if (h.type == QUIC_PKT_1RTT) {
            w->short_pkts[side]++;
            break;
        }
        uint32_t *first = side == 0 ? &w->first_client_version : &w->first_server_version;
        if (*first == 0)
            *first = h.version;
        int vi = h.version == QUIC_VERSION_1 ? 0 : h.version == QUIC_VERSION_2 ? 1 : 2;
        w->long_pkts[side][vi]++;
        if (side == 0 && vi == 0 && w->server_delivered)
            w->client_v1_after_server++;
        if (h.packet_len == 0 || h.packet_len > left)
            break;
        p += h.packet_len;
        left -= h.packet_len;
    }
}

/* The server sends `size` bytes on one stream once the handshake is done. */
typedef struct dl {
    uint64_t size, written, received;
    uint64_t sid;
    bool opened, fin, mismatch;
} dl;

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(off * 131 + (off >> 11));
}

static void dl_app(sim_pair *p, bool is_server, const quic_event *ev, uint64_t now)
{
    dl *b = p->user;
    (void)now;
    static uint8_t buf[65536];
    if (is_server && ev == NULL && p->server != NULL) {
        if (!b->opened && quic_conn_is_established(p->server)) {
            assert_int_equal(quic_conn_open_stream(p->server, false, &b->sid), 0);
            b->opened = true;
        }
        while (b->opened && b->written < b->size) {
            size_t n = sizeof(buf);
            if (n > b->size - b->written)
                n = (size_t)(b->size - b->written);
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern(b->written + i);
            int64_t k = quic_stream_write(p->server, b->sid, buf, n, b->written + n == b->size);
            assert_true(k >= 0);
            b->written += (uint64_t)k;
            if ((size_t)k < n)
                break;
        }
        return;
    }
    if (!is_server && ev != NULL && ev->type == QUIC_EVENT_STREAM_READABLE) {
        for (;;) {
            bool fin = false;
            int64_t k = quic_stream_read(p->client, ev->stream_id, buf, sizeof(buf), &fin);
            assert_true(k >= 0);
            for (int64_t i = 0; i < k; i++)
                if (buf[i] != pattern(b->received + (uint64_t)i))
                    b->mismatch = true;
            b->received += (uint64_t)k;
            if (fin)
                b->fin = true;
            if (k == 0 || fin)
                break;
        }
    }
}

static bool dl_done(sim_pair *p)
{
    dl *b = p->user;
    return b->fin || p->client_closed || p->server_closed;
}

#define DL_BYTES (1u << 20)

/* Runs a 1 MB download; returns the wire record. */
static void run_download(sim_pair *p, wire *w, uint64_t seed)
{
    (void)seed;
    dl b = {.size = DL_BYTES};
    p->user = &b;
    p->app = dl_app;
    netsim_set_trace(p->net, wire_trace, w);
    sim_pair_start(p);
    int rc = sim_pair_run(p, dl_done, 30000000);
    if (rc != NETSIM_OK || p->client_closed)
        print_message("run %d; client closed %d (%.*s) code 0x%llx by_peer %d\n", rc,
                      p->client_closed, (int)p->client_close.len,
                      (const char *)p->client_close.data,
                      (unsigned long long)p->client_close.error_code, p->client_close.by_peer);
    assert_int_equal(rc, NETSIM_OK);
    assert_false(p->client_closed);
    assert_false(p->server_closed);
    assert_true(b.fin);
    assert_false(b.mismatch);
    assert_int_equal(b.received, DL_BYTES);
}

/* A v1 client that offers v2 (the default) and a server that prefers v2: the client's first
 * flight is v1, every server packet is v2 (its first CRYPTO frame comes after the client's
 * transport parameters), the client follows and sends no v1 packet once it heard the
 * server; 1-RTT works (v2 keys on both sides) for a byte-exact 1 MB download. */
static void test_upgrade_v1_to_v2(void **state)
{
    (void)state;
    netsim_link_config link = {.delay_us = 10000, .rate_bytes_per_s = 10 * 1000 * 1000};
    sim_pair p;
    sim_pair_init(&p, 11, &link, &certs);
    p.scfg.versions[0] = QUIC_VERSION_2;
    p.scfg.versions[1] = QUIC_VERSION_1;
    wire w = {0};
    run_download(&p, &w, 11);
    print_message(
        "long-header packets: client v1 %zu v2 %zu, server v1 %zu v2 %zu; short %zu/%zu\n",
        w.long_pkts[0][0], w.long_pkts[0][1], w.long_pkts[1][0], w.long_pkts[1][1], w.short_pkts[0],
        w.short_pkts[1]);
    assert_int_equal(w.first_client_version, QUIC_VERSION_1);
    assert_int_equal(w.first_server_version, QUIC_VERSION_2);
    assert_true(w.long_pkts[0][0] >= 1);    /* the client's first flight */
    assert_int_equal(w.long_pkts[1][0], 0); /* no server packet in v1 */
    assert_true(w.long_pkts[1][1] >= 2);    /* server Initial + Handshake in v2 */
    assert_true(w.long_pkts[0][1] >= 1);    /* client Handshake (Finished) in v2 */
    assert_int_equal(w.client_v1_after_server, 0);
    assert_int_equal(w.long_pkts[0][2] + w.long_pkts[1][2], 0);
    assert_true(w.short_pkts[0] > 0 && w.short_pkts[1] > 0);
    const quic_conn_stats *cs = quic_conn_get_stats(p.client), *ss = quic_conn_get_stats(p.server);
    assert_int_equal(cs->original_version, QUIC_VERSION_1);
    assert_int_equal(cs->version, QUIC_VERSION_2);
    assert_int_equal(ss->original_version, QUIC_VERSION_1);
    assert_int_equal(ss->version, QUIC_VERSION_2);
    /* The keys really are v2's (RFC 9369 §3.3.2 labels) on both ends. */
    assert_int_equal(p.client->tx[CRYPTO_LEVEL_APP].version, QUIC_VERSION_2);
    assert_int_equal(p.server->tx[CRYPTO_LEVEL_APP].version, QUIC_VERSION_2);
    sim_pair_free(&p);
}

/* A server with no preference keeps the client's version (v1 on the wire throughout). */
static void test_no_preference_stays_v1(void **state)
{
    (void)state;
    netsim_link_config link = {.delay_us = 10000, .rate_bytes_per_s = 10 * 1000 * 1000};
    sim_pair p;
    sim_pair_init(&p, 12, &link, &certs);
    wire w = {0};
    run_download(&p, &w, 12);
    assert_int_equal(w.long_pkts[0][1] + w.long_pkts[1][1], 0);
    assert_true(w.long_pkts[1][0] >= 2);
    assert_int_equal(quic_conn_get_stats(p.client)->version, QUIC_VERSION_1);
    assert_int_equal(quic_conn_get_stats(p.server)->version, QUIC_VERSION_1);
    sim_pair_free(&p);
}

/* A client that offers only v1 (RFC 9368 §2.3: compatible negotiation disabled) is not
 * moved, whatever the server prefers. */
static void test_client_offers_only_v1(void **state)
{
    (void)state;
    netsim_link_config link = {.delay_us = 10000, .rate_bytes_per_s = 10 * 1000 * 1000};
    sim_pair p;
    sim_pair_init(&p, 13, &link, &certs);
    p.ccfg.versions[0] = QUIC_VERSION_1;
    p.scfg.versions[0] = QUIC_VERSION_2;
    wire w = {0};
    run_download(&p, &w, 13);
    assert_int_equal(w.long_pkts[0][1] + w.long_pkts[1][1], 0);
    assert_int_equal(quic_conn_get_stats(p.server)->version, QUIC_VERSION_1);
    sim_pair_free(&p);
}

/* A v2 client and a server preferring v1 (the other direction of RFC 9369 §4.1). */
static void test_downgrade_by_preference_v2_to_v1(void **state)
{
    (void)state;
    netsim_link_config link = {.delay_us = 10000, .rate_bytes_per_s = 10 * 1000 * 1000};
    sim_pair p;
    sim_pair_init(&p, 14, &link, &certs);
    p.ccfg.version = QUIC_VERSION_2;
    p.scfg.versions[0] = QUIC_VERSION_1;
    wire w = {0};
    run_download(&p, &w, 14);
    assert_int_equal(w.first_client_version, QUIC_VERSION_2);
    assert_int_equal(w.long_pkts[1][1], 0);
    assert_int_equal(quic_conn_get_stats(p.client)->version, QUIC_VERSION_1);
    sim_pair_free(&p);
}

static bool done_or_closed(sim_pair *p)
{
    return p->client_done || p->client_closed;
}

/* RFC 9368 §4: a client whose version_information names a Chosen Version other than the
 * version its Initials carry is refused with VERSION_NEGOTIATION_ERROR (0x11). The client
 * is made to lie: its transport parameters were written for v2, its Initials go out in v1. */
static void test_server_rejects_chosen_mismatch(void **state)
{
    (void)state;
    netsim_link_config link = {.delay_us = 10000};
    sim_pair p;
    sim_pair_init(&p, 15, &link, &certs);
    p.ccfg.version = QUIC_VERSION_2;
    sim_pair_start(&p);
    p.client->version = p.client->orig_version = QUIC_VERSION_1;
    assert_int_equal(quic_conn_set_initial_keys(p.client, &p.client->original_dcid), QUIC_OK);
    assert_int_equal(sim_pair_run(&p, done_or_closed, 3000000), NETSIM_OK);
    assert_false(p.client_done);
    assert_true(p.client_closed);
    assert_true(p.client_close.by_peer);
    assert_false(p.client_close.is_app);
    assert_int_equal(p.client_close.error_code, QUIC_TE_VERSION_NEGOTIATION_ERROR);
    sim_pair_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_upgrade_v1_to_v2),
        cmocka_unit_test(test_no_preference_stays_v1),
        cmocka_unit_test(test_client_offers_only_v1),
        cmocka_unit_test(test_downgrade_by_preference_v2_to_v1),
        cmocka_unit_test(test_server_rejects_chosen_mismatch),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
