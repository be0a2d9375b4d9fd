/* Tests for client certificates in the TLS 1.3 engine (RFC 8446 §4.3.2, §4.4.2, §4.4.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/tls.h"
#include "crypto/tls_msg.h"
#include "tests/crypto/tls_pair.h"

/* A server that asks for a certificate (mode) and trusts fx's CA for clients. */
static side *server_asking(crypto_client_auth mode, uint64_t seed)
{
    side *s = side_new(true, seed);
    s->cfg.client_auth = mode;
    s->cfg.verify_mode = CRYPTO_VERIFY_CHAIN;
    s->cfg.ca_store = fx.store;
    return s;
}

/* A client presenting cert (+ the CA when with_ca) with key. */
static side *client_with(const uint8_t *cert, size_t cert_len, crypto_privkey *key, bool with_ca,
                         uint64_t seed, const uint8_t **chain, size_t *lens)
{
    side *c = side_new(false, seed);
    chain[0] = cert;
    lens[0] = cert_len;
    chain[1] = fx.ca_der;
    lens[1] = fx.ca_len;
    c->cfg.cert_chain = chain;
    c->cfg.cert_chain_lens = lens;
    c->cfg.cert_chain_count = with_ca ? 2 : 1;
    c->cfg.private_key = key;
    return c;
}

/* The message types a side sent at a level, in order. */
static size_t types_sent(const side *s, crypto_level level, uint8_t *types, size_t cap)
{
    size_t n = 0, p = 0;
    while (p + 4 <= s->out_len[level] && n < cap) {
        const uint8_t *m = s->out[level] + p;
        types[n++] = m[0];
        p += 4 + (((size_t)m[1] << 16) | ((size_t)m[2] << 8) | m[3]);
    }
    return n;
}

/* A good chain: the server sends a CertificateRequest, the client its chain and
 * CertificateVerify, both finish and the server sees the client's chain exactly. */
static void test_good_chain(void **state)
{
    (void)state;
    static const uint16_t suites[] = {CRYPTO_TLS_AES_128_GCM_SHA256, CRYPTO_TLS_AES_256_GCM_SHA384};
    for (int i = 0; i < 2; i++) {
        const uint8_t *chain[2];
        size_t lens[2];
        side *c =
            client_with(fx.leaf_der, fx.leaf_len, fx.leaf_key, true, 11 + (uint64_t)i, chain, lens);
        uint16_t one[2] = {suites[i], 0};
        c->cfg.cipher_suites = one;
        side *s = server_asking(i == 0 ? CRYPTO_CLIENT_AUTH_REQUIRE : CRYPTO_CLIENT_AUTH_OPTIONAL,
                                21 + (uint64_t)i);
        side_start(c);
        side_start(s);
        assert_int_equal(pair_deliver(c, s, 0), 0);
        uint8_t types[8];
        size_t n = types_sent(s, CRYPTO_LEVEL_HANDSHAKE, types, 8);
        assert_int_equal(n, 5);
        assert_int_equal(types[0], CRYPTO_HS_ENCRYPTED_EXTENSIONS);
        assert_int_equal(types[1], CRYPTO_HS_CERTIFICATE_REQUEST);
        assert_int_equal(types[2], CRYPTO_HS_CERTIFICATE);
        assert_int_equal(pair_deliver(s, c, 0), 0);
        n = types_sent(c, CRYPTO_LEVEL_HANDSHAKE, types, 8);
        assert_int_equal(n, 3);
        assert_int_equal(types[0], CRYPTO_HS_CERTIFICATE);
        assert_int_equal(types[1], CRYPTO_HS_CERTIFICATE_VERIFY);
        assert_int_equal(types[2], CRYPTO_HS_FINISHED);
        assert_int_equal(pair_deliver(c, s, 0), 0);
        assert_true(crypto_tls_handshake_done(c->tls));
        assert_true(crypto_tls_handshake_done(s->tls));
        /* The application secrets agree (the client's flight entered both transcripts). */
        size_t hlen = crypto_hash_len(crypto_tls_suite(c->tls)->hash);
        assert_memory_equal(c->secret[1][CRYPTO_LEVEL_APP], s->secret[0][CRYPTO_LEVEL_APP], hlen);
        uint8_t ec[32], es[32];
        assert_int_equal(crypto_tls_export(c->tls, "EXPERIMENTAL test", NULL, 0, ec, 32), 0);
        assert_int_equal(crypto_tls_export(s->tls, "EXPERIMENTAL test", NULL, 0, es, 32), 0);
        assert_memory_equal(ec, es, 32);
        /* The server sees the chain the client sent; the client the server's. */
        assert_int_equal(crypto_tls_peer_cert_count(s->tls), 2);
        size_t len;
        const uint8_t *der = crypto_tls_peer_cert(s->tls, 0, &len);
        assert_int_equal(len, fx.leaf_len);
        assert_memory_equal(der, fx.leaf_der, len);
        der = crypto_tls_peer_cert(s->tls, 1, &len);
        assert_int_equal(len, fx.ca_len);
        assert_memory_equal(der, fx.ca_der, len);
        assert_null(crypto_tls_peer_cert(s->tls, 2, &len));
        assert_int_equal(len, 0);
        assert_int_equal(crypto_tls_peer_cert_count(c->tls), 2);
        side_free(c);
        side_free(s);
    }
}

/* The client's certificate chains to a CA the server does not trust: unknown_ca. */
static void test_unknown_ca(void **state)
{
    (void)state;
    const uint8_t *chain[2];
    size_t lens[2];
    side *c =
        client_with(fx.stranger_der, fx.stranger_len, fx.stranger_key, false, 31, chain, lens);
    side *s = server_asking(CRYPTO_CLIENT_AUTH_REQUIRE, 32);
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_true(crypto_tls_handshake_done(c->tls)); /* it learns from the alert */
    assert_int_equal(crypto_tls_error(s->tls), CRYPTO_ERR_UNKNOWN_CA);
    assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_UNKNOWN_CA);
    assert_int_equal(crypto_tls_peer_cert_count(s->tls), 0);
    side_free(c);
    side_free(s);
}

/* An expired client certificate: certificate_expired. */
static void test_expired(void **state)
{
    (void)state;
    const uint8_t *chain[2];
    size_t lens[2];
    side *c = client_with(fx.expired_der, fx.expired_len, fx.expired_key, false, 41, chain, lens);
    side *s = server_asking(CRYPTO_CLIENT_AUTH_OPTIONAL, 42);
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_int_equal(crypto_tls_error(s->tls), CRYPTO_ERR_CERT_EXPIRED);
    assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_CERTIFICATE_EXPIRED);
    side_free(c);
    side_free(s);
}

/* No certificate: certificate_required when required (§4.4.2.4); accepted when optional. */
static void test_none(void **state)
{
    (void)state;
    for (int required = 0; required < 2; required++) {
        side *c = side_new(false, 51);
        side *s =
            server_asking(required ? CRYPTO_CLIENT_AUTH_REQUIRE : CRYPTO_CLIENT_AUTH_OPTIONAL, 52);
        side_start(c);
        side_start(s);
        assert_int_equal(pair_deliver(c, s, 0), 0);
        assert_int_equal(pair_deliver(s, c, 0), 0);
        uint8_t types[8];
        size_t n = types_sent(c, CRYPTO_LEVEL_HANDSHAKE, types, 8);
        assert_int_equal(n, 2); /* an empty Certificate, then Finished */
        assert_int_equal(types[0], CRYPTO_HS_CERTIFICATE);
        assert_int_equal(c->out_len[CRYPTO_LEVEL_HANDSHAKE] > 0, true);
        assert_int_equal(c->out[CRYPTO_LEVEL_HANDSHAKE][3], 4); /* context<0>, list<0> */
        int rc = pair_deliver(c, s, 0);
        if (required) {
            assert_int_equal(rc, CRYPTO_ERR_CERTIFICATE_REQUIRED);
            assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_CERTIFICATE_REQUIRED);
            assert_int_equal(crypto_tls_alert(s->tls), 116);
        } else {
            assert_int_equal(rc, 0);
            assert_true(crypto_tls_handshake_done(s->tls));
            assert_int_equal(crypto_tls_peer_cert_count(s->tls), 0);
        }
        side_free(c);
        side_free(s);
    }
}

/* The client's CertificateVerify made with a key that is not the certificate's: decrypt_error. */
static void test_wrong_key(void **state)
{
    (void)state;
    const uint8_t *chain[2];
    size_t lens[2];
    side *c = client_with(fx.leaf_der, fx.leaf_len, fx.stranger_key, false, 61, chain, lens);
    side *s = server_asking(CRYPTO_CLIENT_AUTH_REQUIRE, 62);
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_int_equal(crypto_tls_error(s->tls), CRYPTO_ERR_DECRYPT_ERROR);
    assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_DECRYPT_ERROR);
    side_free(c);
    side_free(s);
}

/* A client configured with a certificate but never asked sends none; a server
 * not asking sees no client chain. */
static void test_not_asked(void **state)
{
    (void)state;
    const uint8_t *chain[2];
    size_t lens[2];
    side *c = client_with(fx.leaf_der, fx.leaf_len, fx.leaf_key, true, 71, chain, lens);
    side *s = side_new(true, 72);
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_true(crypto_tls_handshake_done(s->tls));
    assert_int_equal(crypto_tls_peer_cert_count(s->tls), 0);
    side_free(c);
    side_free(s);
}

/* The CertificateRequest as sent, parsed back; a request without
 * signature_algorithms is missing_extension; one with a context is illegal in QUIC. */
static void test_request_message(void **state)
{
    (void)state;
    uint8_t buf[256];
    static const uint16_t algs[] = {CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                    CRYPTO_SIG_RSA_PSS_RSAE_SHA256};
    int n = crypto_tls_encode_certificate_request(NULL, 0, algs, 2, buf, sizeof(buf));
    static const uint8_t expect[] = {CRYPTO_HS_CERTIFICATE_REQUEST,
                                     0,
                                     0,
                                     13,
                                     0,
                                     0,
                                     10,
                                     0,
                                     13,
                                     0,
                                     6,
                                     0,
                                     4,
                                     0x04,
                                     0x03,
                                     0x08,
                                     0x04};
    assert_int_equal(n, sizeof(expect));
    assert_memory_equal(buf, expect, sizeof(expect));
    crypto_tls_certificate_request cr;
    assert_int_equal(crypto_tls_parse_certificate_request(buf + 4, (size_t)n - 4, &cr), 0);
    assert_int_equal(crypto_tls_u16_list_count(cr.sig_algs), 2);
    /* An unknown extension is ignored (§4.3.2). */
    static const uint8_t unknown[] = {0, 0, 14, 0, 13, 0, 4, 0, 2, 4, 3, 0x7a, 0x7a, 0, 2, 1, 2};
    assert_int_equal(crypto_tls_parse_certificate_request(unknown, sizeof(unknown), &cr), 0);
    static const uint8_t no_algs[] = {0, 0, 0};
    assert_int_equal(crypto_tls_parse_certificate_request(no_algs, sizeof(no_algs), &cr),
                     CRYPTO_ERR_MISSING_EXTENSION);
    static const uint8_t truncated[] = {0, 0, 8, 0, 13, 0, 4, 0, 2, 4};
    assert_int_equal(crypto_tls_parse_certificate_request(truncated, sizeof(truncated), &cr),
                     CRYPTO_ERR_DECODE_ERROR);

    side *c = side_new(false, 81);
    side_start(c);
    side *s = side_new(true, 82);
    s->cfg.client_auth = CRYPTO_CLIENT_AUTH_REQUIRE;
    side_start(s);
    assert_int_equal(pair_deliver(c, s, 0), 0);
    size_t off, len;
    assert_true(side_find(s, CRYPTO_LEVEL_HANDSHAKE, CRYPTO_HS_CERTIFICATE_REQUEST, &off, &len));
    assert_int_equal(s->out[CRYPTO_LEVEL_HANDSHAKE][off + 4], 0); /* empty context */
    /* Give the client a request with a one-byte context in place of the real one. */
    uint8_t *m = s->out[CRYPTO_LEVEL_HANDSHAKE];
    uint8_t ee_and_cr[512];
    size_t ee_off, ee_len;
    assert_true(
        side_find(s, CRYPTO_LEVEL_HANDSHAKE, CRYPTO_HS_ENCRYPTED_EXTENSIONS, &ee_off, &ee_len));
    assert_true(ee_len < 400);
    memcpy(ee_and_cr, m + ee_off, ee_len);
    n = crypto_tls_encode_certificate_request((const uint8_t *)"x", 1, algs, 2, ee_and_cr + ee_len,
                                              sizeof(ee_and_cr) - ee_len);
    assert_true(n > 0);
    /* The client reads the ServerHello from INITIAL, then these at HANDSHAKE. */
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, s->out[CRYPTO_LEVEL_INITIAL],
                                     s->out_len[CRYPTO_LEVEL_INITIAL]),
                     0);
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_HANDSHAKE, ee_and_cr, ee_len + (size_t)n),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    side_free(c);
    side_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_chain),      cmocka_unit_test(test_unknown_ca),
        cmocka_unit_test(test_expired),         cmocka_unit_test(test_none),
        cmocka_unit_test(test_wrong_key),       cmocka_unit_test(test_not_asked),
        cmocka_unit_test(test_request_message),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
