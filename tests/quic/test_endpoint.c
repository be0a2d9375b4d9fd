/* Tests for quic/endpoint.c: Version Negotiation, Retry, stateless resets, what is dropped (RFC
 * 9000 §5.2, §6, §8.1, §10.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/backend.h"
#include "crypto/packet_protection.h"
#include "quic/conn_internal.h"
#include "quic/endpoint.h"
#include "quic/packet.h"
#include "tests/common/test_env.h"

static const char *const alpn[] = {"h3", NULL};
static test_env cert_env;
static uint8_t *cert, *key_der;
static size_t cert_len, key_len;
static crypto_privkey *key;
static const uint8_t *chain[1];
static size_t chain_lens[1];

static int setup(void **state)
{
    (void)state;
    test_env_init(&cert_env, 9);
    crypto_cert_params p = {.common_name = "example.test",
                            .dns_name = "example.test",
                            .not_before_unix = cert_env.wall_clock - 86400,
                            .not_after_unix = cert_env.wall_clock + 86400};
    assert_int_equal(
        crypto_cert_generate(&cert_env.env, &p, &cert, &cert_len, &key_der, &key_len, &key), 0);
    chain[0] = cert;
    chain_lens[0] = cert_len;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    quince_env_free(&cert_env.env, cert);
    quince_env_free(&cert_env.env, key_der);
    crypto_privkey_free(&cert_env.env, key);
    test_env_check_leaks(&cert_env);
    return 0;
}

typedef struct fix {
    test_env t;
    quic_config sc, cc;
    quic_endpoint *ep;
    quic_addr caddr;
    uint8_t buf[1500];
} fix;

static void fix_init(fix *f, bool retry)
{
    memset(f, 0, sizeof(*f));
    test_env_init(&f->t, 11);
    f->sc.is_server = true;
    f->sc.retry = retry;
    f->sc.tls.alpn = alpn;
    f->sc.tls.cert_chain = chain;
    f->sc.tls.cert_chain_lens = chain_lens;
    f->sc.tls.cert_chain_count = 1;
    f->sc.tls.private_key = key;
    f->cc.tls.alpn = alpn;
    f->cc.tls.server_name = "example.test";
    f->cc.tls.verify_mode = CRYPTO_VERIFY_INSECURE;
    memset(f->sc.reset_key, 0x33, sizeof(f->sc.reset_key));
    f->ep = quic_endpoint_new(&f->t.env, &f->sc);
    assert_non_null(f->ep);
    f->caddr.family = 4;
    f->caddr.ip[0] = 10;
    f->caddr.port = 5555;
}

static void fix_free(fix *f)
{
    quic_endpoint_free(f->ep);
    test_env_check_leaks(&f->t);
}

static void test_version_negotiation(void **state)
{
    (void)state;
    fix f;
    fix_init(&f, false);
    uint8_t d[1200];
    memset(d, 0, sizeof(d));
    d[0] = 0xc0;
    d[1] = 0x1a;
    d[2] = 0x2a;
    d[3] = 0x3a;
    d[4] = 0x4a;
    d[5] = 4;
    memcpy(d + 6, "DCID", 4);
    d[10] = 3;
    memcpy(d + 11, "SCI", 3);
    /* Too small for a first Initial: no answer (RFC 9000 §6.1). */
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, d, 1000, 0), 0);
    assert_int_equal(quic_endpoint_send(f.ep, NULL, f.buf, sizeof(f.buf), 0), 0);
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, d, sizeof(d), 0), 0);
    quic_addr to;
    int n = quic_endpoint_send(f.ep, &to, f.buf, sizeof(f.buf), 0);
    assert_true(n > 0);
    assert_int_equal(to.port, 5555);
    quic_pkt_parse_opts po = {0};
    quic_pkt_header h;
    assert_int_equal(quic_pkt_parse_header(f.buf, (size_t)n, &po, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_VERSION_NEGOTIATION);
    assert_int_equal(h.dcid_len, 3);
    assert_memory_equal(h.dcid, "SCI", 3);
    assert_int_equal(h.scid_len, 4);
    assert_memory_equal(h.scid, "DCID", 4);
    bool v1 = false, v2 = false;
    for (size_t i = 0; i < h.version_count; i++) {
        v1 |= quic_pkt_vn_version(&h, i) == QUIC_VERSION_1;
        v2 |= quic_pkt_vn_version(&h, i) == QUIC_VERSION_2;
    }
    assert_true(v1 && v2);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 0);
    fix_free(&f);
}

/* RFC 9000 §8.1.2, RFC 9001 §5.8: a Retry the client accepts, then the connection. */
static void test_retry_flow(void **state)
{
    (void)state;
    fix f;
    fix_init(&f, true);
    quic_conn *c = quic_conn_client_new(&f.t.env, &f.cc, NULL, NULL, 0);
    assert_non_null(c);
    int n = quic_conn_send(c, NULL, f.buf, sizeof(f.buf), 0);
    assert_true(n >= 1200);
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, f.buf, (size_t)n, 0), 0);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 0); /* no state before validation */
    n = quic_endpoint_send(f.ep, NULL, f.buf, sizeof(f.buf), 0);
    assert_true(n > 0);
    assert_int_equal(crypto_retry_verify(&f.t.env, QUIC_VERSION_1, c->original_dcid.bytes,
                                         c->original_dcid.len, f.buf, (size_t)n),
                     0);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->retries, 1);
    assert_int_equal(quic_conn_recv(c, NULL, f.buf, (size_t)n, 1000), 0);
    assert_true(c->retried);
    assert_true(c->token_len > 0);
    n = quic_conn_send(c, NULL, f.buf, sizeof(f.buf), 1000);
    assert_true(n >= 1200);
    /* From another address the token is refused. */
    quic_addr other = f.caddr;
    other.port = 6666;
    assert_int_equal(quic_endpoint_recv(f.ep, &other, NULL, f.buf, (size_t)n, 1000), 0);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 0);
    /* ... with INVALID_TOKEN, to that address (RFC 9000 §8.1.3). */
    uint8_t closing[1500];
    quic_addr to;
    int k = quic_endpoint_send(f.ep, &to, closing, sizeof(closing), 1000);
    assert_true(k > 0 && k < 100);
    assert_int_equal(to.port, 6666);
    assert_int_equal(quic_endpoint_send(f.ep, NULL, closing, sizeof(closing), 1000), 0);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->invalid_tokens, 1);
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, f.buf, (size_t)n, 1000), 0);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 1);
    quic_conn *s = quic_endpoint_accept(f.ep);
    assert_non_null(s);
    assert_null(quic_endpoint_accept(f.ep));
    assert_true(s->retried);
    assert_true(s->address_validated);
    /* Run the handshake to its end. */
    for (int i = 0; i < 20; i++) {
        uint64_t now = 2000 + (uint64_t)i * 1000;
        while ((n = quic_endpoint_send(f.ep, NULL, f.buf, sizeof(f.buf), now)) > 0)
            quic_conn_recv(c, NULL, f.buf, (size_t)n, now);
        while ((n = quic_conn_send(c, NULL, f.buf, sizeof(f.buf), now)) > 0)
            quic_endpoint_recv(f.ep, &f.caddr, NULL, f.buf, (size_t)n, now);
    }
    assert_true(quic_conn_is_established(c));
    assert_true(quic_conn_is_established(s));
    quic_conn_free(c);
    fix_free(&f);
}

/* RFC 9000 §8.1.3: an Initial with a token we cannot validate is closed with INVALID_TOKEN,
 * statelessly, in an Initial the client can open; a packet that does not open gets nothing. */
static void test_invalid_token(void **state)
{
    (void)state;
    fix f;
    fix_init(&f, true);
    quic_conn *c = quic_conn_client_new(&f.t.env, &f.cc, NULL, NULL, 0);
    assert_non_null(c);
    int n = quic_conn_send(c, NULL, f.buf, sizeof(f.buf), 0);
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, f.buf, (size_t)n, 0), 0);
    n = quic_endpoint_send(f.ep, NULL, f.buf, sizeof(f.buf), 0);
    assert_int_equal(quic_conn_recv(c, NULL, f.buf, (size_t)n, 1000), 0);
    assert_true(c->token_len > 0);
    c->token[c->token_len - 1] ^= 1; /* the token no longer opens */
    n = quic_conn_send(c, NULL, f.buf, sizeof(f.buf), 1000);
    assert_true(n >= 1200);
    /* A damaged copy (the payload does not open): dropped, no answer. */
    uint8_t bad[1500];
    memcpy(bad, f.buf, (size_t)n);
    bad[n - 1] ^= 1;
    uint64_t dropped = quic_endpoint_get_stats(f.ep)->dropped;
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, bad, (size_t)n, 1000), 0);
    assert_int_equal(quic_endpoint_send(f.ep, NULL, bad, sizeof(bad), 1000), 0);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->dropped, dropped + 1);
    /* The real one. */
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, f.buf, (size_t)n, 1000), 0);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 0); /* no state */
    assert_int_equal(quic_endpoint_get_stats(f.ep)->invalid_tokens, 1);
    quic_addr to;
    n = quic_endpoint_send(f.ep, &to, f.buf, sizeof(f.buf), 1000);
    assert_true(n > 0 && n < 100); /* far under the 3x amplification limit */
    assert_int_equal(to.port, 5555);
    quic_pkt_parse_opts po = {0};
    quic_pkt_header h;
    assert_int_equal(quic_pkt_parse_header(f.buf, (size_t)n, &po, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_INITIAL);
    assert_int_equal(quic_conn_recv(c, NULL, f.buf, (size_t)n, 2000), 0);
    quic_event ev;
    bool closed = false;
    while (quic_conn_poll_event(c, &ev))
        if (ev.type == QUIC_EVENT_CLOSED) {
            assert_true(ev.by_peer);
            assert_false(ev.is_app);
            assert_int_equal(ev.error_code, QUIC_TE_INVALID_TOKEN);
            closed = true;
        }
    assert_true(closed);
    quic_conn_free(c);
    fix_free(&f);
}

/* RFC 9000 §10.3: unknown short headers get a smaller reset ending in HMAC(key, DCID). */
static void test_stateless_reset(void **state)
{
    (void)state;
    fix f;
    fix_init(&f, false);
    uint8_t d[100];
    quince_env_random(&f.t.env, d, sizeof(d));
    d[0] = 0x41;
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, d, sizeof(d), 0), 0);
    int n = quic_endpoint_send(f.ep, NULL, f.buf, sizeof(f.buf), 0);
    assert_true(n >= QUIC_MIN_STATELESS_RESET && n < (int)sizeof(d));
    assert_int_equal(f.buf[0] & 0xc0, 0x40);
    uint8_t mac[32];
    assert_int_equal(crypto_hmac(CRYPTO_HASH_SHA256, f.sc.reset_key, 32, d + 1, 8, mac), 0);
    assert_memory_equal(f.buf + n - 16, mac, 16);
    /* Too small to answer without risking a loop (RFC 9000 §10.3.3). */
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, d, 22, 0), 0);
    assert_int_equal(quic_endpoint_send(f.ep, NULL, f.buf, sizeof(f.buf), 0), 0);
    /* An Initial under 1200 bytes makes no connection. */
    quic_conn *c = quic_conn_client_new(&f.t.env, &f.cc, NULL, NULL, 0);
    n = quic_conn_send(c, NULL, f.buf, sizeof(f.buf), 0);
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, f.buf, 1199, 0), 0);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 0);
    /* A damaged one neither. */
    f.buf[n - 5] ^= 0x10;
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, f.buf, (size_t)n, 0), 0);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 0);
    f.buf[n - 5] ^= 0x10;
    assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, f.buf, (size_t)n, 0), 0);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 1);
    quic_conn_free(c);
    fix_free(&f);
}

/* A new client's first datagram (its Initial) into the endpoint from addr. */
static quic_conn *client_hello(fix *f, const quic_addr *addr, uint64_t now)
{
    quic_conn *c = quic_conn_client_new(&f->t.env, &f->cc, NULL, NULL, now);
    assert_non_null(c);
    int n = quic_conn_send(c, NULL, f->buf, sizeof(f->buf), now);
    assert_true(n >= 1200);
    assert_int_equal(quic_endpoint_recv(f->ep, addr, NULL, f->buf, (size_t)n, now), 0);
    return c;
}

/* What the endpoint sends now: the datagrams to addr go into the client (the rest, to other
 * clients, are dropped); returns their count. */
static int answer_client(fix *f, quic_conn *c, const quic_addr *addr, uint64_t now)
{
    int n, count = 0;
    quic_addr to;
    while ((n = quic_endpoint_send(f->ep, &to, f->buf, sizeof(f->buf), now)) > 0) {
        if (to.port != addr->port)
            continue;
        quic_conn_recv(c, NULL, f->buf, (size_t)n, now);
        count++;
    }
    return count;
}

/* The client's next datagram (after a Retry: its Initial with the token) into the endpoint. */
static void client_again(fix *f, quic_conn *c, const quic_addr *addr, uint64_t now)
{
    int n = quic_conn_send(c, NULL, f->buf, sizeof(f->buf), now);
    assert_true(n >= 1200);
    assert_int_equal(quic_endpoint_recv(f->ep, addr, NULL, f->buf, (size_t)n, now), 0);
}

static uint64_t closed_code(quic_conn *c)
{
    quic_event ev;
    uint64_t code = UINT64_MAX;
    while (quic_conn_poll_event(c, &ev))
        if (ev.type == QUIC_EVENT_CLOSED) {
            assert_true(ev.by_peer);
            assert_false(ev.is_app);
            code = ev.error_code;
        }
    return code;
}

/* RFC 9000 §8.1, §5.2.2: below retry_threshold half-open connections an Initial opens one at
 * once; from it on, a Retry comes first; past the per-address and total limits the client gets
 * CONNECTION_REFUSED in an Initial it can open. Nothing is dropped silently. */
static void test_half_open_limits(void **state)
{
    (void)state;
    fix f;
    memset(&f, 0, sizeof(f));
    fix_init(&f, false);
    quic_endpoint_free(f.ep);
    f.sc.retry_threshold = 2;
    f.sc.max_half_open_per_addr = 3;
    f.sc.max_half_open = 4;
    f.ep = quic_endpoint_new(&f.t.env, &f.sc);
    assert_non_null(f.ep);
    quic_addr a = f.caddr, b = f.caddr;
    b.ip[3] = 9;
    quic_conn *c[6];
    /* Two half-open connections without a Retry. */
    for (int i = 0; i < 2; i++) {
        a.port = (uint16_t)(1000 + i);
        c[i] = client_hello(&f, &a, 0);
        assert_int_equal(quic_endpoint_conn_count(f.ep), (size_t)i + 1);
        assert_int_equal(quic_endpoint_get_stats(f.ep)->retries, 0);
    }
    /* The third from the same address: a Retry, then admitted with its token. */
    a.port = 1002;
    c[2] = client_hello(&f, &a, 0);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 2);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->retries, 1);
    assert_int_equal(answer_client(&f, c[2], &a, 0), 1);
    assert_true(c[2]->retried);
    client_again(&f, c[2], &a, 1000);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 3);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->half_open, 2);
    /* A fourth from that address: past max_half_open_per_addr, refused at once. */
    a.port = 1003;
    c[3] = client_hello(&f, &a, 1000);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 3);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->refused, 1);
    assert_int_equal(answer_client(&f, c[3], &a, 1000), 1);
    assert_int_equal(closed_code(c[3]), QUIC_TE_CONNECTION_REFUSED);
    /* Another address is still welcome after a Retry; two clients there get theirs. */
    b.port = 2000;
    c[4] = client_hello(&f, &b, 2000);
    assert_int_equal(answer_client(&f, c[4], &b, 2000), 1);
    b.port = 2001;
    c[5] = client_hello(&f, &b, 2000);
    assert_int_equal(answer_client(&f, c[5], &b, 2000), 1);
    assert_true(c[4]->retried && c[5]->retried);
    b.port = 2000;
    client_again(&f, c[4], &b, 3000);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 4);
    /* The second comes back with a valid token, but max_half_open is reached: refused. */
    b.port = 2001;
    client_again(&f, c[5], &b, 3000);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 4);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->refused, 2);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->invalid_tokens, 0);
    assert_int_equal(answer_client(&f, c[5], &b, 3000), 1);
    assert_int_equal(closed_code(c[5]), QUIC_TE_CONNECTION_REFUSED);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->retries, 3);
    for (int i = 0; i < 6; i++)
        quic_conn_free(c[i]);
    fix_free(&f);
}

/* A full table (max_connections) refuses with CONNECTION_REFUSED, even without Retry. */
static void test_max_connections(void **state)
{
    (void)state;
    fix f;
    fix_init(&f, false);
    quic_endpoint_free(f.ep);
    f.sc.max_connections = 1;
    f.ep = quic_endpoint_new(&f.t.env, &f.sc);
    quic_conn *c1 = client_hello(&f, &f.caddr, 0);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 1);
    while (quic_endpoint_send(f.ep, NULL, f.buf, sizeof(f.buf), 0) > 0)
        ;
    f.caddr.port++;
    quic_conn *c2 = client_hello(&f, &f.caddr, 0);
    assert_int_equal(quic_endpoint_conn_count(f.ep), 1);
    assert_int_equal(answer_client(&f, c2, &f.caddr, 0), 1);
    assert_int_equal(closed_code(c2), QUIC_TE_CONNECTION_REFUSED);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->refused, 1);
    quic_conn_free(c1);
    quic_conn_free(c2);
    fix_free(&f);
}

/* RFC 9000 §10.3, §21.1: stateless resets and Version Negotiation packets follow their
 * configured rates (a burst of rate, then rate per second). */
static void test_stateless_rate_limits(void **state)
{
    (void)state;
    fix f;
    fix_init(&f, false);
    quic_endpoint_free(f.ep);
    f.sc.stateless_reset_rate = 5;
    f.sc.vn_rate = 3;
    f.ep = quic_endpoint_new(&f.t.env, &f.sc);
    uint8_t d[100];
    quince_env_random(&f.t.env, d, sizeof(d));
    d[0] = 0x41;
    int sent = 0;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, d, sizeof(d), 0), 0);
        while (quic_endpoint_send(f.ep, NULL, f.buf, sizeof(f.buf), 0) > 0)
            sent++;
    }
    assert_int_equal(sent, 5);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->stateless_resets, 5);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->rate_limited, 15);
    /* 5 a second: one more 200 ms later, none at 399 ms, another at 400 ms. */
    uint64_t times[] = {199999, 200000, 200001, 399999, 400000};
    int want[] = {0, 1, 0, 0, 1};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, d, sizeof(d), times[i]), 0);
        int k = 0;
        while (quic_endpoint_send(f.ep, NULL, f.buf, sizeof(f.buf), times[i]) > 0)
            k++;
        assert_int_equal(k, want[i]);
    }
    /* A quiet second refills the burst, no more. */
    sent = 0;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, d, sizeof(d), 5000000), 0);
        while (quic_endpoint_send(f.ep, NULL, f.buf, sizeof(f.buf), 5000000) > 0)
            sent++;
    }
    assert_int_equal(sent, 5);
    /* Version Negotiation: its own bucket. */
    uint8_t v[1200];
    memset(v, 0, sizeof(v));
    v[0] = 0xc0;
    v[1] = 0x1a;
    v[5] = 8;
    v[14] = 0;
    sent = 0;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(quic_endpoint_recv(f.ep, &f.caddr, NULL, v, sizeof(v), 5000000), 0);
        while (quic_endpoint_send(f.ep, NULL, f.buf, sizeof(f.buf), 5000000) > 0)
            sent++;
    }
    assert_int_equal(sent, 3);
    assert_int_equal(quic_endpoint_get_stats(f.ep)->version_negotiations, 3);
    fix_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_negotiation),
        cmocka_unit_test(test_retry_flow),
        cmocka_unit_test(test_invalid_token),
        cmocka_unit_test(test_stateless_reset),
        cmocka_unit_test(test_half_open_limits),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_stateless_rate_limits),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
