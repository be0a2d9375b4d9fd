/* Tests for the TLS 1.3 engine (crypto/tls*.c): complete client<->server handshakes in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "quince_config.h"

#include "crypto/tls.h"
#include "crypto/tls_msg.h"
#include "tests/crypto/tls_pair.h"

/* Both sides finished, agree on everything, and derived the same secrets. */
static void assert_success(side *c, side *s)
{
    assert_int_equal(crypto_tls_error(c->tls), 0);
    assert_int_equal(crypto_tls_error(s->tls), 0);
    assert_true(crypto_tls_handshake_done(c->tls));
    assert_true(crypto_tls_handshake_done(s->tls));
    const crypto_suite *suite = crypto_tls_suite(c->tls);
    assert_non_null(suite);
    assert_ptr_equal(suite, crypto_tls_suite(s->tls));
    assert_int_equal(crypto_tls_group(c->tls), crypto_tls_group(s->tls));
    assert_int_equal(crypto_tls_used_hrr(c->tls), crypto_tls_used_hrr(s->tls));
    assert_int_equal(crypto_tls_signature_scheme(c->tls), crypto_tls_signature_scheme(s->tls));
    size_t hlen = crypto_hash_len(suite->hash);
    /* Four secrets on each side; the client's write secret is the server's read secret. */
    assert_int_equal(c->secret_calls, 4);
    assert_int_equal(s->secret_calls, 4);
    crypto_level levels[] = {CRYPTO_LEVEL_HANDSHAKE, CRYPTO_LEVEL_APP};
    for (int i = 0; i < 2; i++) {
        crypto_level l = levels[i];
        for (int w = 0; w < 2; w++) {
            assert_int_equal(c->secret_len[w][l], hlen);
            assert_int_equal(s->secret_len[!w][l], hlen);
            assert_memory_equal(c->secret[w][l], s->secret[!w][l], hlen);
        }
        assert_memory_not_equal(c->secret[0][l], c->secret[1][l], hlen);
    }
    assert_memory_not_equal(c->secret[0][CRYPTO_LEVEL_HANDSHAKE], c->secret[0][CRYPTO_LEVEL_APP],
                            hlen);
    /* Transport parameters crossed over, once each. */
    assert_int_equal(c->tp_calls, c->cfg.transport_params ? 1 : 0);
    assert_int_equal(s->tp_calls, s->cfg.transport_params ? 1 : 0);
    if (c->cfg.transport_params != NULL) {
        assert_int_equal(c->peer_tp_len, s->cfg.transport_params_len);
        assert_memory_equal(c->peer_tp, s->cfg.transport_params, c->peer_tp_len);
        assert_int_equal(s->peer_tp_len, c->cfg.transport_params_len);
        assert_memory_equal(s->peer_tp, c->cfg.transport_params, s->peer_tp_len);
    }
}

/* The key log holds the four NSS lines, identical on both sides, matching the secrets. */
static void assert_keylog(side *c, side *s)
{
    assert_string_equal(c->t.keylog, s->t.keylog);
    const char *labels[] = {"SERVER_HANDSHAKE_TRAFFIC_SECRET ", "CLIENT_HANDSHAKE_TRAFFIC_SECRET ",
                            "SERVER_TRAFFIC_SECRET_0 ", "CLIENT_TRAFFIC_SECRET_0 "};
    const uint8_t *secrets[] = {c->secret[0][CRYPTO_LEVEL_HANDSHAKE],
                                c->secret[1][CRYPTO_LEVEL_HANDSHAKE],
                                c->secret[0][CRYPTO_LEVEL_APP], c->secret[1][CRYPTO_LEVEL_APP]};
    size_t hlen = crypto_hash_len(crypto_tls_suite(c->tls)->hash);
    const char *p = c->t.keylog;
    char random_hex[65] = {0};
    for (int i = 0; i < 4; i++) {
        size_t n = strlen(labels[i]);
        assert_memory_equal(p, labels[i], n);
        p += n;
        if (i == 0)
            memcpy(random_hex, p, 64);
        else
            assert_memory_equal(p, random_hex, 64);
        assert_int_equal(p[64], ' ');
        p += 65;
        uint8_t secret[48];
        const char *nl = strchr(p, '\n');
        assert_non_null(nl);
        assert_int_equal((size_t)(nl - p), 2 * hlen);
        char hex[97] = {0};
        memcpy(hex, p, 2 * hlen);
        assert_int_equal(test_unhex(hex, secret, sizeof(secret)), hlen);
        assert_memory_equal(secret, secrets[i], hlen);
        p = nl + 1;
    }
    assert_int_equal(*p, '\0');
    /* The client random in the log is the ClientHello's. */
    uint8_t random[32];
    assert_int_equal(strspn(random_hex, "0123456789abcdef"), 64);
    assert_int_equal(test_unhex(random_hex, random, sizeof(random)), 32);
    assert_true(c->sent_hello);
    assert_memory_equal(random, c->hello_random, 32);
}

/* RFC 8446 §B.4 x §4.2.7: every suite with every group. */
static void test_suites_and_groups(void **state)
{
    (void)state;
    static const uint16_t suites[][2] = {{CRYPTO_TLS_AES_128_GCM_SHA256, 0},
                                         {CRYPTO_TLS_AES_256_GCM_SHA384, 0},
                                         {CRYPTO_TLS_CHACHA20_POLY1305_SHA256, 0}};
    static const uint16_t groups[][2] = {{CRYPTO_GROUP_X25519, 0}, {CRYPTO_GROUP_SECP256R1, 0}};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 2; j++) {
            side *c = side_new(false, 1 + (uint64_t)i * 2 + (uint64_t)j);
            side *s = side_new(true, 100 + (uint64_t)i * 2 + (uint64_t)j);
            c->cfg.cipher_suites = suites[i];
            c->cfg.groups = groups[j];
            side_start(c);
            side_start(s);
            pair_run(c, s, 0);
            assert_success(c, s);
            assert_keylog(c, s);
            assert_int_equal(crypto_tls_suite(c->tls)->id, suites[i][0]);
            assert_int_equal(crypto_tls_group(s->tls), groups[j][0]);
            assert_false(crypto_tls_used_hrr(c->tls));
            assert_string_equal(crypto_tls_alpn(c->tls), "h3");
            assert_string_equal(crypto_tls_alpn(s->tls), "h3");
            assert_string_equal(crypto_tls_server_name(s->tls), "example.test");
            assert_int_equal(crypto_tls_signature_scheme(c->tls),
                             CRYPTO_SIG_ECDSA_SECP256R1_SHA256);
            assert_int_equal(crypto_tls_alert(c->tls), 0);
            side_free(c);
            side_free(s);
        }
    }
}

/* RFC 8446 §4.1.1: the server's preference decides the suite. */
static void test_server_suite_preference(void **state)
{
    (void)state;
    static const uint16_t server_pref[] = {CRYPTO_TLS_CHACHA20_POLY1305_SHA256,
                                           CRYPTO_TLS_AES_256_GCM_SHA384, 0};
    side *c = side_new(false, 1);
    side *s = side_new(true, 2);
    s->cfg.cipher_suites = server_pref;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_success(c, s);
    assert_int_equal(crypto_tls_suite(c->tls)->id, CRYPTO_TLS_CHACHA20_POLY1305_SHA256);
    side_free(c);
    side_free(s);
}

/* RFC 8446 §4.1.4: the client's only share is for a group the server does not accept. */
static void test_hello_retry_request(void **state)
{
    (void)state;
    static const uint16_t client_groups[] = {CRYPTO_GROUP_X25519, CRYPTO_GROUP_SECP256R1, 0};
    static const uint16_t server_groups[] = {CRYPTO_GROUP_SECP256R1, 0};
    static const uint16_t sha384[] = {CRYPTO_TLS_AES_256_GCM_SHA384, 0};
    for (size_t chunk = 0; chunk <= 1; chunk++) {
        for (int suite = 0; suite < 2; suite++) {
            side *c = side_new(false, 11 + chunk);
            side *s = side_new(true, 12 + chunk);
            c->cfg.groups = client_groups;
            s->cfg.groups = server_groups;
            if (suite == 1)
                c->cfg.cipher_suites = sha384;
            side_start(c);
            side_start(s);
            pair_run(c, s, chunk);
            assert_success(c, s);
            assert_keylog(c, s);
            assert_true(crypto_tls_used_hrr(c->tls));
            assert_true(crypto_tls_used_hrr(s->tls));
            assert_int_equal(crypto_tls_group(c->tls), CRYPTO_GROUP_SECP256R1);
            side_free(c);
            side_free(s);
        }
    }
}

/* RFC 8446 §4.1.4: a second HelloRetryRequest is unexpected_message. */
static void test_second_hrr(void **state)
{
    (void)state;
    static const uint16_t client_groups[] = {CRYPTO_GROUP_X25519, CRYPTO_GROUP_SECP256R1, 0};
    static const uint16_t server_groups[] = {CRYPTO_GROUP_SECP256R1, 0};
    side *c = side_new(false, 21);
    side *s = side_new(true, 22);
    c->cfg.groups = client_groups;
    s->cfg.groups = server_groups;
    side_start(c);
    side_start(s);
    assert_int_equal(pair_deliver(c, s, 0), 0);
    uint8_t hrr[256];
    size_t hrr_len = s->out_len[CRYPTO_LEVEL_INITIAL];
    assert_true(hrr_len < sizeof(hrr));
    memcpy(hrr, s->out[CRYPTO_LEVEL_INITIAL], hrr_len);
    assert_int_equal(pair_deliver(s, c, 0), 0);
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, hrr, hrr_len),
                     CRYPTO_ERR_UNEXPECTED_MESSAGE);
    assert_int_equal(crypto_tls_alert(c->tls), CRYPTO_ALERT_UNEXPECTED_MESSAGE);
    side_free(c);
    side_free(s);
}

/* Every message split into 1-byte pieces (and odd sizes) reassembles. */
static void test_fragmented(void **state)
{
    (void)state;
    size_t chunks[] = {1, 3, 7, 100};
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        side *c = side_new(false, 31 + i);
        side *s = side_new(true, 41 + i);
        side_start(c);
        side_start(s);
        pair_run(c, s, chunks[i]);
        assert_success(c, s);
        assert_keylog(c, s);
        side_free(c);
        side_free(s);
    }
}

static char last_log[256];

static void capture_log(void *user, int level, const char *msg)
{
    (void)user;
    (void)level;
    snprintf(last_log, sizeof(last_log), "%s", msg);
}

/* RFC 7301 §3.2, RFC 9001 §8.1: no common protocol is no_application_protocol. */
static void test_alpn_mismatch(void **state)
{
    (void)state;
    static const char *const h2[] = {"h2", "http/1.1", NULL};
    side *c = side_new(false, 51);
    side *s = side_new(true, 52);
    c->cfg.alpn = h2;
    s->t.env.log = capture_log;
    last_log[0] = '\0';
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_int_equal(crypto_tls_error(s->tls), CRYPTO_ERR_NO_APPLICATION_PROTOCOL);
    assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_NO_APPLICATION_PROTOCOL);
    assert_false(crypto_tls_handshake_done(s->tls));
#if QUINCE_LOGGING
    assert_string_equal(last_log, "tls server: handshake failed in wait_client_hello: "
                                  "no_application_protocol (alert 120)");
#endif
    /* Sticky: any later input gets the same error. */
    uint8_t junk[4] = {1, 0, 0, 0};
    assert_int_equal(crypto_tls_recv(s->tls, CRYPTO_LEVEL_INITIAL, junk, 4),
                     CRYPTO_ERR_NO_APPLICATION_PROTOCOL);
    side_free(c);
    side_free(s);
}

/* RFC 9001 §8.1: in QUIC, ALPN is mandatory on both sides. */
static void test_alpn_required_in_quic(void **state)
{
    (void)state;
    /* The client offers none: the server refuses. */
    side *c = side_new(false, 55);
    side *s = side_new(true, 56);
    c->cfg.alpn = NULL;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_NO_APPLICATION_PROTOCOL);
    side_free(c);
    side_free(s);
    /* The server selects none: the client refuses. */
    c = side_new(false, 57);
    s = side_new(true, 58);
    s->cfg.alpn = NULL;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_int_equal(crypto_tls_error(s->tls), 0);
    assert_int_equal(crypto_tls_alert(c->tls), CRYPTO_ALERT_NO_APPLICATION_PROTOCOL);
    assert_int_equal(c->secret_len[0][CRYPTO_LEVEL_APP], 0);
    side_free(c);
    side_free(s);
}

/* The server picks the first of its own protocols that the client offers. */
static void test_alpn_choice(void **state)
{
    (void)state;
    static const char *const client_alpn[] = {"h3-29", "h3", "hq-interop", NULL};
    static const char *const server_alpn[] = {"hq-interop", "h3", NULL};
    side *c = side_new(false, 53);
    side *s = side_new(true, 54);
    c->cfg.alpn = client_alpn;
    s->cfg.alpn = server_alpn;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_success(c, s);
    assert_string_equal(crypto_tls_alpn(c->tls), "hq-interop");
    assert_string_equal(crypto_tls_alpn(s->tls), "hq-interop");
    side_free(c);
    side_free(s);
}

typedef struct cert_case {
    const char *name;
    int verify_mode;
    const char *server_name;
    int chain; /* 0: good leaf+ca, 1: expired leaf, 2: unknown CA */
    bool pin_good;
    int expect_err;
    uint8_t expect_alert;
} cert_case;

static void run_cert_case(const cert_case *k)
{
    side *c = side_new(false, 61);
    side *s = side_new(true, 62);
    const uint8_t *chain[2];
    size_t lens[2];
    if (k->chain == 1) {
        chain[0] = fx.expired_der;
        lens[0] = fx.expired_len;
        s->cfg.private_key = fx.expired_key;
    } else if (k->chain == 2) {
        chain[0] = fx.stranger_der;
        lens[0] = fx.stranger_len;
        s->cfg.private_key = fx.stranger_key;
    } else {
        chain[0] = fx.leaf_der;
        lens[0] = fx.leaf_len;
    }
    chain[1] = k->chain == 2 ? fx.other_ca_der : fx.ca_der;
    lens[1] = k->chain == 2 ? fx.other_ca_len : fx.ca_len;
    s->cfg.cert_chain = chain;
    s->cfg.cert_chain_lens = lens;
    c->cfg.verify_mode = (crypto_verify_mode)k->verify_mode;
    c->cfg.server_name = k->server_name;
    uint8_t pins[2][32];
    memset(pins, 0xab, sizeof(pins));
    if (k->pin_good)
        assert_int_equal(crypto_hash(CRYPTO_HASH_SHA256, chain[0], lens[0], pins[1]), 0);
    c->cfg.pinned_sha256 = (const uint8_t(*)[32])pins;
    c->cfg.pinned_count = 2;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    if (k->expect_err == 0) {
        assert_success(c, s);
    } else {
        assert_int_equal(crypto_tls_error(c->tls), k->expect_err);
        assert_int_equal(crypto_tls_alert(c->tls), k->expect_alert);
        assert_false(crypto_tls_handshake_done(c->tls));
        /* No application secrets were given out. */
        assert_int_equal(c->secret_len[0][CRYPTO_LEVEL_APP], 0);
        assert_int_equal(c->secret_len[1][CRYPTO_LEVEL_APP], 0);
    }
    side_free(c);
    side_free(s);
}

/* RFC 8446 §4.4.2.4, §6.2: certificate checks and the alert for each failure. */
static void test_certificates(void **state)
{
    (void)state;
    static const cert_case cases[] = {
        {"chain ok", CRYPTO_VERIFY_CHAIN, "example.test", 0, false, 0, 0},
        {"wrong host", CRYPTO_VERIFY_CHAIN, "other.test", 0, false, CRYPTO_ERR_BAD_CERTIFICATE,
         CRYPTO_ALERT_BAD_CERTIFICATE},
        {"ip not in cert", CRYPTO_VERIFY_CHAIN, "192.0.2.1", 0, false, CRYPTO_ERR_BAD_CERTIFICATE,
         CRYPTO_ALERT_BAD_CERTIFICATE},
        {"expired", CRYPTO_VERIFY_CHAIN, "example.test", 1, false, CRYPTO_ERR_CERT_EXPIRED,
         CRYPTO_ALERT_CERTIFICATE_EXPIRED},
        {"unknown ca", CRYPTO_VERIFY_CHAIN, "example.test", 2, false, CRYPTO_ERR_UNKNOWN_CA,
         CRYPTO_ALERT_UNKNOWN_CA},
        {"pinned ok", CRYPTO_VERIFY_PINNED, "other.test", 2, true, 0, 0},
        {"pinned mismatch", CRYPTO_VERIFY_PINNED, "example.test", 0, false,
         CRYPTO_ERR_BAD_CERTIFICATE, CRYPTO_ALERT_BAD_CERTIFICATE},
        {"insecure unknown ca", CRYPTO_VERIFY_INSECURE, "example.test", 2, false, 0, 0},
        {"insecure expired", CRYPTO_VERIFY_INSECURE, "wrong.test", 1, false, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        print_message("case: %s\n", cases[i].name);
        run_cert_case(&cases[i]);
    }
}

/* The verification time comes from the config before the env's clock. */
static void test_verify_time(void **state)
{
    (void)state;
    side *c = side_new(false, 63);
    side *s = side_new(true, 64);
    /* Ten years on, the leaf has expired. */
    c->cfg.verify_time_unix = c->t.wall_clock + 10 * 365 * 86400LL;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_int_equal(crypto_tls_alert(c->tls), CRYPTO_ALERT_CERTIFICATE_EXPIRED);
    side_free(c);
    side_free(s);
}

/* A three-level chain (root, intermediate, leaf for an IP address): no SNI is sent
 * for an IP literal (RFC 6066 §3), the name is checked against the iPAddress SAN. */
static void test_intermediate_and_ip(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 141);
    int64_t now = t.wall_clock;
    crypto_cert_params ip = {.common_name = "ica",
                             .not_before_unix = now - 86400,
                             .not_after_unix = now + 86400,
                             .is_ca = true,
                             .issuer_der = fx.ca_der,
                             .issuer_der_len = fx.ca_len,
                             .issuer_key = fx.ca_key};
    uint8_t *ica, *ica_key_der, *leaf, *leaf_key_der;
    size_t ica_len, ica_key_len, leaf_len, leaf_key_len;
    crypto_privkey *ica_key, *leaf_key;
    assert_int_equal(
        crypto_cert_generate(&t.env, &ip, &ica, &ica_len, &ica_key_der, &ica_key_len, &ica_key), 0);
    crypto_cert_params lp = {.common_name = "127.0.0.1",
                             .ip_address = "127.0.0.1",
                             .not_before_unix = now - 86400,
                             .not_after_unix = now + 86400,
                             .issuer_der = ica,
                             .issuer_der_len = ica_len,
                             .issuer_key = ica_key};
    assert_int_equal(crypto_cert_generate(&t.env, &lp, &leaf, &leaf_len, &leaf_key_der,
                                          &leaf_key_len, &leaf_key),
                     0);
    const uint8_t *chain[2] = {leaf, ica};
    size_t lens[2] = {leaf_len, ica_len};
    for (int variant = 0; variant < 3; variant++) {
        side *c = side_new(false, 142);
        side *s = side_new(true, 143);
        s->cfg.cert_chain = chain;
        s->cfg.cert_chain_lens = lens;
        s->cfg.cert_chain_count = variant == 2 ? 1 : 2; /* 2: the intermediate is missing */
        s->cfg.private_key = leaf_key;
        c->cfg.server_name = variant == 1 ? "127.0.0.2" : "127.0.0.1";
        side_start(c);
        side_start(s);
        pair_run(c, s, 0);
        if (variant == 0) {
            assert_success(c, s);
            assert_null(crypto_tls_server_name(s->tls));
        } else {
            assert_int_equal(crypto_tls_alert(c->tls),
                             variant == 1 ? CRYPTO_ALERT_BAD_CERTIFICATE : CRYPTO_ALERT_UNKNOWN_CA);
        }
        side_free(c);
        side_free(s);
    }
    quince_env_free(&t.env, ica);
    quince_env_free(&t.env, ica_key_der);
    quince_env_free(&t.env, leaf);
    quince_env_free(&t.env, leaf_key_der);
    crypto_privkey_free(&t.env, ica_key);
    crypto_privkey_free(&t.env, leaf_key);
    test_env_check_leaks(&t);
}

/* RSA-PSS for an RSA key (RFC 8446 §4.2.3: rsa_pss_rsae_sha256). */
static void test_rsa_server(void **state)
{
    (void)state;
    crypto_cert_params p = {.common_name = "example.test",
                            .dns_name = "example.test",
                            .not_before_unix = fx.t.wall_clock - 86400,
                            .not_after_unix = fx.t.wall_clock + 86400,
                            .rsa_bits = 2048,
                            .issuer_der = fx.ca_der,
                            .issuer_der_len = fx.ca_len,
                            .issuer_key = fx.ca_key};
    test_env t;
    test_env_init(&t, 65);
    uint8_t *der, *key_der;
    size_t der_len, key_len;
    crypto_privkey *key;
    assert_int_equal(crypto_cert_generate(&t.env, &p, &der, &der_len, &key_der, &key_len, &key), 0);
    const uint8_t *chain[1] = {der};
    size_t lens[1] = {der_len};
    side *c = side_new(false, 66);
    side *s = side_new(true, 67);
    s->cfg.cert_chain = chain;
    s->cfg.cert_chain_lens = lens;
    s->cfg.cert_chain_count = 1;
    s->cfg.private_key = key;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_success(c, s);
    assert_int_equal(crypto_tls_signature_scheme(s->tls), CRYPTO_SIG_RSA_PSS_RSAE_SHA256);
    side_free(c);
    side_free(s);
    quince_env_free(&t.env, der);
    quince_env_free(&t.env, key_der);
    crypto_privkey_free(&t.env, key);
    test_env_check_leaks(&t);
}

/* TLS over TCP: no transport parameters either way, nothing required. */
static void test_tcp_mode(void **state)
{
    (void)state;
    side *c = side_new(false, 71);
    side *s = side_new(true, 72);
    c->cfg.transport_params = NULL;
    c->cfg.transport_params_len = 0;
    s->cfg.transport_params = NULL;
    s->cfg.transport_params_len = 0;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_success(c, s);
    assert_int_equal(c->tp_calls, 0);
    assert_int_equal(s->tp_calls, 0);
    side_free(c);
    side_free(s);

    /* TCP without ALPN on the server: the client's offer is ignored. */
    c = side_new(false, 73);
    s = side_new(true, 74);
    c->cfg.transport_params = NULL;
    s->cfg.transport_params = NULL;
    s->cfg.alpn = NULL;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_success(c, s);
    assert_null(crypto_tls_alpn(c->tls));
    side_free(c);
    side_free(s);
}

/* RFC 9001 §8.2: missing quic_transport_parameters is missing_extension; in TCP mode
 * the extension is unsupported_extension. */
static void test_transport_params_required(void **state)
{
    (void)state;
    side *c = side_new(false, 75);
    side *s = side_new(true, 76);
    c->cfg.transport_params = NULL; /* the client speaks TCP, the server QUIC */
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_MISSING_EXTENSION);
    side_free(c);
    side_free(s);

    c = side_new(false, 77);
    s = side_new(true, 78);
    s->cfg.transport_params = NULL;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_UNSUPPORTED_EXTENSION);
    side_free(c);
    side_free(s);

    /* The callback refuses the parameters with its own alert. */
    c = side_new(false, 79);
    s = side_new(true, 80);
    c->tp_reject_alert = CRYPTO_ALERT_ILLEGAL_PARAMETER;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_int_equal(crypto_tls_alert(c->tls), CRYPTO_ALERT_ILLEGAL_PARAMETER);
    assert_int_equal(crypto_tls_error(c->tls), CRYPTO_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(c->secret_len[0][CRYPTO_LEVEL_APP], 0);
    side_free(c);
    side_free(s);

    c = side_new(false, 81);
    s = side_new(true, 82);
    s->tp_reject_alert = 0x6d;
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_int_equal(crypto_tls_alert(s->tls), 0x6d);
    side_free(c);
    side_free(s);
}

/* The client delivers the server's flight with one byte flipped in message `type`. */
static void tamper_server_flight(uint8_t type, size_t from_end, int expect_err,
                                 uint8_t expect_alert)
{
    side *c = side_new(false, 91);
    side *s = side_new(true, 92);
    side_start(c);
    side_start(s);
    assert_int_equal(pair_deliver(c, s, 0), 0);
    size_t off, len;
    assert_true(side_find(s, CRYPTO_LEVEL_HANDSHAKE, type, &off, &len));
    s->out[CRYPTO_LEVEL_HANDSHAKE][off + len - from_end] ^= 0x01;
    assert_int_equal(pair_deliver(s, c, 0), expect_err);
    assert_int_equal(crypto_tls_error(c->tls), expect_err);
    assert_int_equal(crypto_tls_alert(c->tls), expect_alert);
    assert_int_equal(c->secret_len[0][CRYPTO_LEVEL_APP], 0);
    assert_int_equal(c->out_len[CRYPTO_LEVEL_HANDSHAKE], 0); /* no Finished sent */
    side_free(c);
    side_free(s);
}

/* RFC 8446 §4.4.3, §4.4.4: a bad signature or MAC is decrypt_error. */
static void test_tampered(void **state)
{
    (void)state;
    tamper_server_flight(CRYPTO_HS_FINISHED, 1, CRYPTO_ERR_DECRYPT_ERROR,
                         CRYPTO_ALERT_DECRYPT_ERROR);
    tamper_server_flight(CRYPTO_HS_FINISHED, 20, CRYPTO_ERR_DECRYPT_ERROR,
                         CRYPTO_ALERT_DECRYPT_ERROR);
    /* The last byte of the DER ECDSA signature: an integer byte, still well-formed. */
    tamper_server_flight(CRYPTO_HS_CERTIFICATE_VERIFY, 1, CRYPTO_ERR_DECRYPT_ERROR,
                         CRYPTO_ALERT_DECRYPT_ERROR);
    /* A changed transport parameter breaks the CertificateVerify over the transcript. */
    tamper_server_flight(CRYPTO_HS_ENCRYPTED_EXTENSIONS, 1, CRYPTO_ERR_DECRYPT_ERROR,
                         CRYPTO_ALERT_DECRYPT_ERROR);

    /* The client's Finished, tampered on its way to the server. */
    side *c = side_new(false, 93);
    side *s = side_new(true, 94);
    side_start(c);
    side_start(s);
    assert_int_equal(pair_deliver(c, s, 0), 0);
    assert_int_equal(pair_deliver(s, c, 0), 0);
    assert_true(crypto_tls_handshake_done(c->tls));
    c->out[CRYPTO_LEVEL_HANDSHAKE][c->out_len[CRYPTO_LEVEL_HANDSHAKE] - 1] ^= 0x80;
    assert_int_equal(pair_deliver(c, s, 0), CRYPTO_ERR_DECRYPT_ERROR);
    assert_int_equal(crypto_tls_alert(s->tls), CRYPTO_ALERT_DECRYPT_ERROR);
    assert_false(crypto_tls_handshake_done(s->tls));
    side_free(c);
    side_free(s);
}

/* RFC 8446 §4.4.3: a signature scheme we did not offer is illegal_parameter. */
static void test_cv_bad_scheme(void **state)
{
    (void)state;
    side *c = side_new(false, 95);
    side *s = side_new(true, 96);
    side_start(c);
    side_start(s);
    assert_int_equal(pair_deliver(c, s, 0), 0);
    size_t off, len;
    assert_true(side_find(s, CRYPTO_LEVEL_HANDSHAKE, CRYPTO_HS_CERTIFICATE_VERIFY, &off, &len));
    /* ecdsa_secp256r1_sha256 -> rsa_pkcs1_sha256, never allowed in CertificateVerify. */
    s->out[CRYPTO_LEVEL_HANDSHAKE][off + 4] = 0x04;
    s->out[CRYPTO_LEVEL_HANDSHAKE][off + 5] = 0x01;
    assert_int_equal(pair_deliver(s, c, 0), CRYPTO_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(crypto_tls_alert(c->tls), CRYPTO_ALERT_ILLEGAL_PARAMETER);
    side_free(c);
    side_free(s);
}

/* After the handshake: tickets are ignored, KeyUpdate (RFC 9001 §6) and anything at
 * the server are unexpected_message. */
static void test_after_handshake(void **state)
{
    (void)state;
    side *c = side_new(false, 97);
    side *s = side_new(true, 98);
    side_start(c);
    side_start(s);
    pair_run(c, s, 0);
    assert_success(c, s);
    static const uint8_t ticket[] = {
        CRYPTO_HS_NEW_SESSION_TICKET, 0, 0, 14, 0, 0, 0x1c, 0x20, 1, 2, 3, 4, 0, 0, 1, 0xaa, 0, 0};
    /* Split in two to cross the reassembly. */
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_APP, ticket, 5), 0);
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_APP, ticket + 5, sizeof(ticket) - 5), 0);
    assert_true(crypto_tls_handshake_done(c->tls));
    static const uint8_t key_update[] = {CRYPTO_HS_KEY_UPDATE, 0, 0, 1, 0};
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_APP, key_update, sizeof(key_update)),
                     CRYPTO_ERR_UNEXPECTED_MESSAGE);
    assert_int_equal(crypto_tls_alert(c->tls), CRYPTO_ALERT_UNEXPECTED_MESSAGE);
    assert_false(crypto_tls_handshake_done(c->tls));
    assert_int_equal(crypto_tls_recv(s->tls, CRYPTO_LEVEL_APP, ticket, sizeof(ticket)),
                     CRYPTO_ERR_UNEXPECTED_MESSAGE);
    side_free(c);
    side_free(s);
}

/* Every allocation failure ends the handshake cleanly, with no leak. */
static void test_allocation_failures(void **state)
{
    (void)state;
    for (int who = 0; who < 2; who++) {
        bool finished = false;
        size_t n;
        for (n = 1; n < 400 && !finished; n++) {
            side *c = side_new(false, 101);
            side *s = side_new(true, 102);
            side *victim = who == 0 ? c : s;
            victim->t.fail_after = n;
            bool started = side_try_start(c) && side_try_start(s);
            if (started) {
                pair_run(c, s, 0);
                finished = crypto_tls_handshake_done(c->tls) && crypto_tls_handshake_done(s->tls);
                if (!finished) {
                    /* The victim failed (internal_error), or its peer saw it stop. */
                    int err = crypto_tls_error(victim->tls);
                    assert_true(err == 0 ||
                                crypto_tls_alert(victim->tls) == CRYPTO_ALERT_INTERNAL_ERROR);
                }
            }
            victim->t.fail_after = 0;
            side_free(c);
            side_free(s);
        }
        assert_true(finished);
        assert_true(n > 5);
    }
}

/* RFC 8446 §7.5: both sides export the same keying material. */
static void test_exporter(void **state)
{
    (void)state;
    side *c = side_new(false, 111);
    side *s = side_new(true, 112);
    side_start(c);
    side_start(s);
    uint8_t a[40], b[40], d[40];
    assert_int_equal(crypto_tls_export(c->tls, "EXPERIMENTAL x", NULL, 0, a, sizeof(a)),
                     CRYPTO_ERR_ARGUMENT);
    pair_run(c, s, 0);
    assert_success(c, s);
    static const uint8_t ctx[] = {1, 2, 3};
    assert_int_equal(crypto_tls_export(c->tls, "EXPERIMENTAL x", ctx, 3, a, sizeof(a)), 0);
    assert_int_equal(crypto_tls_export(s->tls, "EXPERIMENTAL x", ctx, 3, b, sizeof(b)), 0);
    assert_memory_equal(a, b, sizeof(a));
    assert_int_equal(crypto_tls_export(s->tls, "EXPERIMENTAL y", ctx, 3, d, sizeof(d)), 0);
    assert_memory_not_equal(a, d, sizeof(a));
    assert_int_equal(crypto_tls_export(s->tls, "EXPERIMENTAL x", NULL, 0, d, sizeof(d)), 0);
    assert_memory_not_equal(a, d, sizeof(a));
    /* A shorter export is not a prefix (the length is in the label). */
    assert_int_equal(crypto_tls_export(c->tls, "EXPERIMENTAL x", ctx, 3, d, 20), 0);
    assert_memory_not_equal(a, d, 20);
    side_free(c);
    side_free(s);
}

/* The message types of one side's output at a level, in order. */
static size_t types_at(const side *x, crypto_level level, uint8_t *types, size_t cap)
{
    size_t n = 0, p = 0;
    while (p + 4 <= x->out_len[level] && n < cap) {
        const uint8_t *m = x->out[level] + p;
        types[n++] = m[0];
        p += 4 + (((size_t)m[1] << 16) | ((size_t)m[2] << 8) | m[3]);
    }
    assert_int_equal(p, x->out_len[level]);
    return n;
}

/* RFC 9001 §4.1.4: which messages go at which level, and secrets as soon as known. */
static void test_levels_and_secret_timing(void **state)
{
    (void)state;
    side *c = side_new(false, 121);
    side *s = side_new(true, 122);
    side_start(c);
    side_start(s);
    uint8_t t[8];
    assert_int_equal(types_at(c, CRYPTO_LEVEL_INITIAL, t, 8), 1);
    assert_int_equal(t[0], CRYPTO_HS_CLIENT_HELLO);
    assert_int_equal(c->secret_calls, 0);
    assert_int_equal(pair_deliver(c, s, 0), 0);
    /* The server knows all four secrets once its flight is out. */
    assert_int_equal(s->secret_calls, 4);
    assert_int_equal(types_at(s, CRYPTO_LEVEL_INITIAL, t, 8), 1);
    assert_int_equal(t[0], CRYPTO_HS_SERVER_HELLO);
    assert_int_equal(types_at(s, CRYPTO_LEVEL_HANDSHAKE, t, 8), 4);
    assert_int_equal(t[0], CRYPTO_HS_ENCRYPTED_EXTENSIONS);
    assert_int_equal(t[1], CRYPTO_HS_CERTIFICATE);
    assert_int_equal(t[2], CRYPTO_HS_CERTIFICATE_VERIFY);
    assert_int_equal(t[3], CRYPTO_HS_FINISHED);
    assert_int_equal(s->out_len[CRYPTO_LEVEL_APP], 0);
    assert_false(crypto_tls_handshake_done(s->tls));
    /* The ServerHello alone gives the client its Handshake secrets. */
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_INITIAL, s->out[CRYPTO_LEVEL_INITIAL],
                                     s->out_len[CRYPTO_LEVEL_INITIAL]),
                     0);
    assert_int_equal(c->secret_calls, 2);
    assert_int_equal(c->secret_len[0][CRYPTO_LEVEL_HANDSHAKE], 32);
    assert_int_equal(c->secret_len[1][CRYPTO_LEVEL_HANDSHAKE], 32);
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_HANDSHAKE, s->out[CRYPTO_LEVEL_HANDSHAKE],
                                     s->out_len[CRYPTO_LEVEL_HANDSHAKE]),
                     0);
    assert_int_equal(c->secret_calls, 4);
    assert_true(crypto_tls_handshake_done(c->tls));
    assert_int_equal(types_at(c, CRYPTO_LEVEL_HANDSHAKE, t, 8), 1);
    assert_int_equal(t[0], CRYPTO_HS_FINISHED);
    assert_int_equal(c->out_len[CRYPTO_LEVEL_APP], 0);
    s->out_len[CRYPTO_LEVEL_INITIAL] = 0;
    s->out_len[CRYPTO_LEVEL_HANDSHAKE] = 0;
    assert_int_equal(pair_deliver(c, s, 0), 0);
    assert_true(crypto_tls_handshake_done(s->tls));
    assert_success(c, s);
    side_free(c);
    side_free(s);
}

/* crypto_tls_new refuses configs it cannot honour, and copies what it keeps. */
static void test_config(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 131);
    crypto_tls_callbacks cb = {NULL, NULL, NULL, NULL};
    crypto_tls_config cfg = {.is_server = false};
    assert_null(crypto_tls_new(&t.env, &cfg, &cb)); /* no send callback */
    side *c = side_new(false, 132);
    side *s = side_new(true, 133);
    static const uint16_t unknown_suites[] = {0x1304, 0x00ff, 0};
    static const uint16_t unknown_groups[] = {0x11ec, 0x0018, 0};
    static const char *const empty_alpn[] = {"h3", "", NULL};
    crypto_tls_config bad = c->cfg;
    bad.cipher_suites = unknown_suites;
    assert_false(side_try_start_with(c, &bad));
    bad = c->cfg;
    bad.groups = unknown_groups;
    assert_false(side_try_start_with(c, &bad));
    bad = c->cfg;
    bad.alpn = empty_alpn;
    assert_false(side_try_start_with(c, &bad));
    bad = s->cfg;
    bad.private_key = NULL;
    assert_false(side_try_start_with(s, &bad));
    bad = s->cfg;
    bad.cert_chain_count = 0;
    assert_false(side_try_start_with(s, &bad));

    /* Lists, strings and parameters are copied: the caller's may change after. */
    char name[] = "example.test";
    char proto[] = "h3";
    const char *alpn[] = {proto, NULL};
    uint16_t groups[] = {CRYPTO_GROUP_SECP256R1, 0};
    c->cfg.server_name = name;
    c->cfg.alpn = alpn;
    c->cfg.groups = groups;
    side_start(c);
    side_start(s);
    memcpy(name, "zzzzzzz.zzzz", 12);
    proto[1] = '2';
    groups[0] = CRYPTO_GROUP_X25519;
    pair_run(c, s, 0);
    assert_success(c, s);
    assert_int_equal(crypto_tls_group(c->tls), CRYPTO_GROUP_SECP256R1);
    assert_string_equal(crypto_tls_alpn(c->tls), "h3");
    assert_string_equal(crypto_tls_server_name(s->tls), "example.test");
    /* Calls out of place. */
    assert_int_equal(crypto_tls_start(c->tls), CRYPTO_ERR_ARGUMENT);
    assert_int_equal(crypto_tls_start(s->tls), 0);
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_APP, NULL, 0), 0);
    assert_int_equal(crypto_tls_recv(c->tls, CRYPTO_LEVEL_APP, NULL, 3), CRYPTO_ERR_ARGUMENT);
    side_free(c);
    side_free(s);
    test_env_check_leaks(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_suites_and_groups),
        cmocka_unit_test(test_server_suite_preference),
        cmocka_unit_test(test_hello_retry_request),
        cmocka_unit_test(test_second_hrr),
        cmocka_unit_test(test_fragmented),
        cmocka_unit_test(test_alpn_mismatch),
        cmocka_unit_test(test_alpn_choice),
        cmocka_unit_test(test_alpn_required_in_quic),
        cmocka_unit_test(test_certificates),
        cmocka_unit_test(test_verify_time),
        cmocka_unit_test(test_intermediate_and_ip),
        cmocka_unit_test(test_rsa_server),
        cmocka_unit_test(test_tcp_mode),
        cmocka_unit_test(test_transport_params_required),
        cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_cv_bad_scheme),
        cmocka_unit_test(test_after_handshake),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_exporter),
        cmocka_unit_test(test_levels_and_secret_timing),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, fixture_setup, fixture_teardown);
}
