/* Sim tests: 0-RTT (RFC 9001 §4.6, RFC 9000 §7.4.1, RFC 9002 §6.4): a resumed client sends
 * stream data before its handshake completes; accepted, or refused and sent again in 1-RTT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "quic/conn_internal.h"
#include "tests/sim/sim_conn.h"

static test_env cert_env, ticket_env;
static sim_certs certs;
static crypto_tls_tickets *tickets;

#define DATA_LEN 30000

static int setup(void **state)
{
    (void)state;
    test_env_init(&cert_env, 7);
    test_env_init(&ticket_env, 8);
    sim_certs_make(&certs, &cert_env.env, cert_env.wall_clock);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sim_certs_free(&certs, &cert_env.env);
    test_env_check_leaks(&cert_env);
    test_env_check_leaks(&ticket_env);
    return 0;
}

/* The client's stored session. */
static uint8_t session[4096];
static size_t session_len;
static int sessions;

static void on_session(void *user, const uint8_t *s, size_t len)
{
    (void)user;
    assert_true(len <= sizeof(session));
    memcpy(session, s, len);
    session_len = len;
    sessions++;
}

static uint8_t pat(uint64_t off)
{
    return (uint8_t)((off * 13 + (off >> 7)) & 0xff);
}

typedef struct app {
    uint64_t sid;
    bool opened, fin_sent;
    uint64_t written;
    /* server */
    uint64_t received, received_before_handshake;
    bool fin, mismatch, duplicate_fin;
    /* quic_stream_early: the server's stream got 0-RTT bytes; the client's sent some. */
    bool server_early, client_early;
} app;

static void app_fn(sim_pair *p, bool is_server, const quic_event *ev, uint64_t now)
{
    app *a = p->user;
    (void)now;
    if (is_server) {
        if (ev == NULL || ev->type != QUIC_EVENT_STREAM_READABLE)
            return;
        uint8_t buf[4096];
        a->server_early |= quic_stream_early(p->server, ev->stream_id);
        for (;;) {
            bool fin = false;
            int64_t k = quic_stream_read(p->server, ev->stream_id, buf, sizeof(buf), &fin);
            if (k < 0)
                break;
            for (int64_t i = 0; i < k; i++)
                if (buf[i] != pat(a->received + (uint64_t)i))
                    a->mismatch = true;
            a->received += (uint64_t)k;
            if (!quic_conn_is_established(p->server))
                a->received_before_handshake += (uint64_t)k;
            if (fin) {
                a->duplicate_fin |= a->fin;
                a->fin = true;
            }
            if (k == 0 || fin)
                break;
        }
        return;
    }
    /* The client writes at once, before its handshake completes. */
    if (a->opened)
        a->client_early |= quic_stream_early(p->client, a->sid);
    if (ev != NULL)
        return;
    if (!a->opened) {
        if (quic_conn_open_stream(p->client, true, &a->sid) != 0)
            return;
        a->opened = true;
    }
    while (a->written < DATA_LEN) {
        uint8_t buf[4096];
        size_t n = DATA_LEN - a->written < sizeof(buf) ? DATA_LEN - a->written : sizeof(buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = pat(a->written + i);
        int64_t k = quic_stream_write(p->client, a->sid, buf, n, a->written + n == DATA_LEN);
        if (k <= 0)
            break;
        a->written += (uint64_t)k;
        a->fin_sent = a->written == DATA_LEN;
    }
}

static bool got_session(sim_pair *p)
{
    (void)p;
    return sessions > 0;
}

static bool delivered(sim_pair *p)
{
    app *a = p->user;
    return a->fin && p->client_done;
}

static netsim_link_config link_of(double loss)
{
    netsim_link_config l = {.delay_us = 20000,
                            .loss = loss,
                            .jitter_us = 2000,
                            .rate_bytes_per_s = 5000000,
                            .queue_bytes = 256 * 1024};
    return l;
}

static void server_cfg(sim_pair *p, bool early)
{
    p->scfg.tls.tickets = tickets;
    p->scfg.tls.early_data = early;
}

/* A first connection stores a session (with the server's transport parameters). */
static void first_connection(uint64_t seed)
{
    sessions = 0;
    netsim_link_config l = link_of(0);
    sim_pair p;
    sim_pair_init(&p, seed, &l, &certs);
    server_cfg(&p, true);
    p.ccfg.tls.on_session = on_session;
    sim_pair_start(&p);
    assert_int_equal(sim_pair_run(&p, got_session, 5000000), 0);
    assert_int_equal(sessions, 1);
    assert_false(crypto_tls_resumed(quic_conn_tls(p.client)));
    sim_pair_free(&p);
}

static void second_connection(uint64_t seed, double loss, bool server_early, app *a, sim_pair *p)
{
    netsim_link_config l = link_of(loss);
    sim_pair_init(p, seed, &l, &certs);
    server_cfg(p, server_early);
    p->ccfg.tls.session = session;
    p->ccfg.tls.session_len = session_len;
    p->ccfg.tls.early_data = true;
    p->app = app_fn;
    p->user = a;
    sim_pair_start(p);
    assert_int_equal(crypto_tls_early_data(quic_conn_tls(p->client)), CRYPTO_EARLY_OFFERED);
    assert_int_equal(sim_pair_run(p, delivered, 60000000), 0);
}

/* RFC 9001 §4.6: accepted 0-RTT under 10% loss: every byte arrives exactly once,
 * part of it before the server's handshake completed. */
static void test_accepted_under_loss(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        tickets = crypto_tls_tickets_new(&ticket_env.env, 3600, 64);
        assert_non_null(tickets);
        first_connection(100 + seed);
        app a;
        memset(&a, 0, sizeof(a));
        sim_pair p;
        second_connection(200 + seed, 0.10, true, &a, &p);
        assert_int_equal(crypto_tls_early_data(quic_conn_tls(p.client)), CRYPTO_EARLY_ACCEPTED);
        assert_int_equal(crypto_tls_early_data(quic_conn_tls(p.server)), CRYPTO_EARLY_ACCEPTED);
        assert_true(crypto_tls_resumed(quic_conn_tls(p.server)));
        assert_true(p.client->sent_0rtt);
        assert_int_equal(a.received, DATA_LEN);
        assert_false(a.mismatch);
        assert_false(a.duplicate_fin);
        print_message("seed %llu: %llu of %d bytes before the server's handshake completed, "
                      "client packets lost %llu\n",
                      (unsigned long long)seed, (unsigned long long)a.received_before_handshake,
                      DATA_LEN, (unsigned long long)quic_conn_get_stats(p.client)->packets_lost);
        assert_true(a.received_before_handshake > 0);
        /* RFC 8470 §5.2: both ends know the stream travelled in 0-RTT. */
        assert_true(a.server_early);
        assert_true(a.client_early);
        sim_pair_free(&p);
        crypto_tls_tickets_free(tickets);
    }
}

/* RFC 9001 §4.6.2: a server that refuses 0-RTT (not configured for it now):
 * the client sends it all again in 1-RTT and the server sees each byte once. */
static void test_rejected_resent(void **state)
{
    (void)state;
    for (int lossy = 0; lossy < 2; lossy++) {
        tickets = crypto_tls_tickets_new(&ticket_env.env, 3600, 64);
        assert_non_null(tickets);
        first_connection(300 + (uint64_t)lossy);
        app a;
        memset(&a, 0, sizeof(a));
        sim_pair p;
        second_connection(400 + (uint64_t)lossy, lossy ? 0.10 : 0, false, &a, &p);
        assert_int_equal(crypto_tls_early_data(quic_conn_tls(p.client)), CRYPTO_EARLY_REJECTED);
        assert_int_equal(crypto_tls_early_data(quic_conn_tls(p.server)), CRYPTO_EARLY_REJECTED);
        assert_true(crypto_tls_resumed(quic_conn_tls(p.server)));
        assert_true(p.client->sent_0rtt);
        assert_true(p.client->early_rejected_done);
        assert_int_equal(a.received, DATA_LEN);
        assert_int_equal(a.received_before_handshake, 0);
        /* Sent in 0-RTT, but nothing of it was received in 0-RTT. */
        assert_true(a.client_early);
        assert_false(a.server_early);
        assert_false(a.mismatch);
        assert_false(a.duplicate_fin);
        sim_pair_free(&p);
        crypto_tls_tickets_free(tickets);
    }
}

/* Whether a server connection made from datagram has the client's request readable. */
static uint64_t early_bytes_seen(sim_pair *p, const uint8_t *dgram, size_t len,
                                 crypto_early_data *early)
{
    quic_conn *s =
        quic_conn_accept(&p->t.env, &p->scfg, &p->saddr, &p->caddr, dgram, len, netsim_now(p->net));
    assert_non_null(s);
    *early = crypto_tls_early_data(quic_conn_tls(s));
    uint64_t seen = 0;
    quic_event ev;
    while (quic_conn_poll_event(s, &ev)) {
        if (ev.type != QUIC_EVENT_STREAM_READABLE)
            continue;
        uint8_t buf[2048];
        bool fin = false;
        int64_t k = quic_stream_read(s, ev.stream_id, buf, sizeof(buf), &fin);
        if (k > 0)
            seen += (uint64_t)k;
    }
    quic_conn_free(s);
    return seen;
}

/* RFC 8446 §8, RFC 9001 §9.2: the client's first datagram (Initial + 0-RTT with a
 * request) sent twice, as an attacker would replay it: the first server
 * connection reads the request from 0-RTT, the second gets no early data and
 * nothing of the request. */
static void test_replayed_first_flight(void **state)
{
    (void)state;
    tickets = crypto_tls_tickets_new(&ticket_env.env, 3600, 64);
    assert_non_null(tickets);
    first_connection(500);
    netsim_link_config l = link_of(0);
    sim_pair p;
    sim_pair_init(&p, 501, &l, &certs);
    server_cfg(&p, true);
    p.ccfg.tls.session = session;
    p.ccfg.tls.session_len = session_len;
    p.ccfg.tls.early_data = true;
    sim_pair_start(&p);
    assert_true(quic_conn_early_data_ready(p.client));
    uint64_t sid;
    assert_int_equal(quic_conn_open_stream(p.client, true, &sid), 0);
    static const uint8_t get[] = "GET /index.html\r\n";
    assert_int_equal(quic_stream_write(p.client, sid, get, sizeof(get) - 1, true),
                     (int64_t)sizeof(get) - 1);
    uint8_t dgram[1500];
    int n = quic_conn_send(p.client, NULL, dgram, sizeof(dgram), netsim_now(p.net));
    assert_true(n >= 1200);
    crypto_early_data e1, e2;
    uint64_t first = early_bytes_seen(&p, dgram, (size_t)n, &e1);
    uint64_t second = early_bytes_seen(&p, dgram, (size_t)n, &e2);
    assert_int_equal(e1, CRYPTO_EARLY_ACCEPTED);
    assert_int_equal(first, sizeof(get) - 1);
    assert_int_equal(e2, CRYPTO_EARLY_REJECTED);
    assert_int_equal(second, 0);
    assert_int_equal(crypto_tls_tickets_get_stats(tickets)->early_replayed, 1);
    sim_pair_free(&p);
    crypto_tls_tickets_free(tickets);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_under_loss),
        cmocka_unit_test(test_rejected_resent),
        cmocka_unit_test(test_replayed_first_flight),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
