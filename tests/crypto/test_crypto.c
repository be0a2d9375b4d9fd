/* Tests for crypto/crypto.c and the public API of crypto/crypto.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto/backend.h"
#include "crypto/crypto.h"
#include "crypto/tls.h"
#include "crypto/x509_check.h"
#include "tests/common/test_env.h"

/* 2026-11-24T00:00:00Z, test_env's wall clock. */
#define NOW 1795478400

static uint8_t *cat_files(const char *a, const char *b, size_t *len)
{
    size_t la = 0, lb = 0;
    uint8_t *da = test_read_file(a, &la);
    uint8_t *db = test_read_file(b, &lb);
    assert_non_null(da);
    assert_non_null(db);
    uint8_t *out = malloc(la + lb);
    assert_non_null(out);
    memcpy(out, da, la);
    memcpy(out + la, db, lb);
    free(da);
    free(db);
    *len = la + lb;
    return out;
}

/* crypto_heap_calloc/free: a library's calloc and free in an environment. */
static void test_heap_hooks(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 9);
    uint8_t *p = crypto_heap_calloc(&t.env, 3, 5);
    assert_non_null(p);
    assert_int_equal(t.live_allocs, 1);
    for (size_t i = 0; i < 15; i++)
        assert_int_equal(p[i], 0);
    void *z = crypto_heap_calloc(&t.env, 0, 8); /* calloc(0, x) is not a failure */
    assert_non_null(z);
    assert_int_equal(t.live_allocs, 2);
    size_t before = t.total_allocs;
    assert_null(crypto_heap_calloc(&t.env, SIZE_MAX / 2 + 1, 2)); /* overflow: no call */
    assert_int_equal(t.total_allocs, before);
    assert_null(crypto_heap_calloc(NULL, 1, 1));
    t.fail_after = 1;
    assert_null(crypto_heap_calloc(&t.env, 1, 1));
    t.fail_after = 0;
    crypto_heap_free(&t.env, p);
    crypto_heap_free(&t.env, z);
    crypto_heap_free(&t.env, NULL);
    crypto_heap_free(NULL, NULL);
    test_env_check_leaks(&t);
}

static void test_short_lived_cert(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 1);
    crypto_short_lived_cert c;
    assert_int_equal(crypto_short_lived_cert_generate(&t.env, NULL, "127.0.0.1", NOW, 14, &c), 0);
    assert_non_null(c.der);
    assert_true(c.der_len > 0);
    assert_non_null(c.key);
    assert_non_null(c.key_der);
    /* The hash is the SHA-256 of the whole certificate (serverCertificateHashes). */
    uint8_t h[32];
    assert_int_equal(crypto_hash(CRYPTO_HASH_SHA256, c.der, c.der_len, h), 0);
    assert_memory_equal(h, c.sha256, 32);
    /* A one-certificate chain pointing at der. */
    assert_int_equal(c.chain.count, 1);
    assert_ptr_equal(c.chain.certs[0], c.der);
    assert_int_equal(c.chain.lens[0], c.der_len);
    /* At most 14 days in all, valid now, an iPAddress SAN and no dNSName. */
    crypto_x509_info info;
    assert_int_equal(crypto_x509_info_parse(c.der, c.der_len, &info), 0);
    assert_int_equal(info.not_after - info.not_before, 14 * 86400);
    assert_int_equal(crypto_x509_check_time(&info, NOW), 0);
    assert_int_equal(crypto_x509_check_host(&info, "127.0.0.1"), 0);
    assert_int_equal(crypto_x509_check_host(&info, "localhost"), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_false(info.is_ca);
    /* ECDSA P-256, and the DER key is the same key. */
    assert_true(crypto_privkey_supports(c.key, CRYPTO_SIG_ECDSA_SECP256R1_SHA256));
    crypto_privkey *k = crypto_privkey_parse(&t.env, c.key_der, c.key_der_len);
    assert_non_null(k);
    assert_true(crypto_privkey_supports(k, CRYPTO_SIG_ECDSA_SECP256R1_SHA256));
    crypto_privkey_free(&t.env, k);
    crypto_short_lived_cert_free(&t.env, &c);
    assert_null(c.der);
    crypto_short_lived_cert_free(&t.env, &c); /* twice is harmless */
    test_env_check_leaks(&t);
}

static void test_short_lived_cert_dns_name(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 2);
    crypto_short_lived_cert c;
    assert_int_equal(crypto_short_lived_cert_generate(&t.env, "example.test", NULL, NOW, 1, &c), 0);
    crypto_x509_info info;
    assert_int_equal(crypto_x509_info_parse(c.der, c.der_len, &info), 0);
    assert_int_equal(info.not_after - info.not_before, 86400);
    assert_int_equal(crypto_x509_check_host(&info, "example.test"), 0);
    assert_int_equal(crypto_x509_check_host(&info, "127.0.0.1"), CRYPTO_ERR_BAD_CERTIFICATE);
    /* Two certificates never share a key. */
    crypto_short_lived_cert d;
    assert_int_equal(crypto_short_lived_cert_generate(&t.env, "example.test", NULL, NOW, 1, &d), 0);
    assert_memory_not_equal(c.sha256, d.sha256, 32);
    crypto_short_lived_cert_free(&t.env, &c);
    crypto_short_lived_cert_free(&t.env, &d);
    test_env_check_leaks(&t);
}

/* Both names, as io_server's generated certificate has them (localhost and its address). */
static void test_short_lived_cert_both_names(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 4);
    crypto_short_lived_cert c;
    assert_int_equal(crypto_short_lived_cert_generate(&t.env, "localhost", "::1", NOW, 13, &c), 0);
    crypto_x509_info info;
    assert_int_equal(crypto_x509_info_parse(c.der, c.der_len, &info), 0);
    assert_int_equal(crypto_x509_check_host(&info, "localhost"), 0);
    assert_int_equal(crypto_x509_check_host(&info, "::1"), 0);
    assert_int_equal(crypto_x509_check_host(&info, "127.0.0.1"), CRYPTO_ERR_BAD_CERTIFICATE);
    crypto_short_lived_cert_free(&t.env, &c);
    /* An address that is not a literal is refused, not taken for a name. */
    assert_int_equal(
        crypto_short_lived_cert_generate(&t.env, "localhost", "localhost", NOW, 13, &c),
        CRYPTO_ERR_ARGUMENT);
    test_env_check_leaks(&t);
}

static void test_short_lived_cert_arguments(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 3);
    crypto_short_lived_cert c;
    memset(&c, 0xa5, sizeof(c));
    assert_int_equal(crypto_short_lived_cert_generate(&t.env, "localhost", NULL, NOW, 15, &c),
                     CRYPTO_ERR_ARGUMENT);
    assert_null(c.der); /* zeroed on failure */
    assert_int_equal(crypto_short_lived_cert_generate(&t.env, "localhost", NULL, NOW, 0, &c),
                     CRYPTO_ERR_ARGUMENT);
    assert_int_equal(crypto_short_lived_cert_generate(&t.env, "", NULL, NOW, 14, &c),
                     CRYPTO_ERR_ARGUMENT);
    assert_int_equal(crypto_short_lived_cert_generate(&t.env, NULL, NULL, NOW, 14, &c),
                     CRYPTO_ERR_ARGUMENT);
    assert_int_equal(crypto_short_lived_cert_generate(NULL, "localhost", NULL, NOW, 14, &c),
                     CRYPTO_ERR_ARGUMENT);
    assert_int_equal(crypto_short_lived_cert_generate(&t.env, "localhost", NULL, NOW, 14, NULL),
                     CRYPTO_ERR_ARGUMENT);
    test_env_check_leaks(&t);
}

/* Every allocation failing in turn: an error, never a leak or a crash. */
static void test_short_lived_cert_nomem(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 4);
    bool succeeded = false;
    for (size_t fail = 1; fail < 400 && !succeeded; fail++) {
        crypto_short_lived_cert c;
        t.fail_after = fail;
        int rc = crypto_short_lived_cert_generate(&t.env, "localhost", NULL, NOW, 14, &c);
        t.fail_after = 0;
        if (rc == 0) {
            succeeded = true;
            crypto_short_lived_cert_free(&t.env, &c);
        } else {
            assert_true(rc < 0);
            assert_null(c.der);
            assert_null(c.key);
        }
        test_env_check_leaks(&t);
    }
    assert_true(succeeded);
}

static void test_cert_chain_parse(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 5);
    size_t len = 0;
    uint8_t *pem =
        cat_files("tests/crypto/data/ec_p256_cert.pem", "tests/crypto/data/rsa2048_cert.pem", &len);
    crypto_cert_chain chain;
    assert_int_equal(crypto_cert_chain_parse(&t.env, pem, len, &chain), 2);
    assert_int_equal(chain.count, 2);
    /* Each DER is the one the single file gives, in file order. */
    size_t one_len = 0;
    uint8_t *one = test_read_file("tests/crypto/data/rsa2048_cert.pem", &one_len);
    crypto_cert_chain single;
    assert_int_equal(crypto_cert_chain_parse(&t.env, one, one_len, &single), 1);
    assert_int_equal(single.lens[0], chain.lens[1]);
    assert_memory_equal(single.certs[0], chain.certs[1], chain.lens[1]);
    /* DER input: one certificate. */
    crypto_cert_chain der;
    assert_int_equal(crypto_cert_chain_parse(&t.env, chain.certs[0], chain.lens[0], &der), 1);
    assert_memory_equal(der.certs[0], chain.certs[0], chain.lens[0]);
    /* Into a TLS configuration, as crypto_tls_config wants it. */
    crypto_privkey *key = NULL;
    size_t key_len = 0;
    uint8_t *key_pem = test_read_file("tests/crypto/data/ec_p256_pkcs8.pem", &key_len);
    key = crypto_privkey_parse(&t.env, key_pem, key_len);
    assert_non_null(key);
    crypto_tls_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    crypto_tls_config_set_credentials(&cfg, &chain, key);
    assert_ptr_equal(cfg.cert_chain, chain.certs);
    assert_ptr_equal(cfg.cert_chain_lens, chain.lens);
    assert_int_equal(cfg.cert_chain_count, 2);
    assert_ptr_equal(cfg.private_key, key);

    crypto_privkey_free(&t.env, key);
    crypto_cert_chain_free(&t.env, &der);
    crypto_cert_chain_free(&t.env, &single);
    crypto_cert_chain_free(&t.env, &chain);
    assert_null(chain.certs);
    crypto_cert_chain_free(&t.env, &chain); /* zeroed: nothing to do */
    free(key_pem);
    free(one);
    free(pem);
    test_env_check_leaks(&t);
}

static void test_cert_chain_parse_errors(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 6);
    crypto_cert_chain chain;
    static const char junk[] =
        "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n";
    assert_true(crypto_cert_chain_parse(&t.env, (const uint8_t *)junk, sizeof(junk) - 1, &chain) <
                0);
    assert_null(chain.certs);
    static const char none[] = "no certificate here\n";
    assert_int_equal(
        crypto_cert_chain_parse(&t.env, (const uint8_t *)none, sizeof(none) - 1, &chain),
        CRYPTO_ERR_PARSE);
    assert_int_equal(crypto_cert_chain_parse(&t.env, NULL, 0, &chain), CRYPTO_ERR_ARGUMENT);
    assert_int_equal(crypto_cert_chain_parse(&t.env, (const uint8_t *)none, 1, NULL),
                     CRYPTO_ERR_ARGUMENT);
    /* A key is not a key when it is junk. */
    assert_null(crypto_privkey_parse(&t.env, (const uint8_t *)none, sizeof(none) - 1));
    test_env_check_leaks(&t);
}

/* A CA store built from PEM and DER, and a chain verified against it. */
static void test_x509_store(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 7);
    crypto_cert_params ca_p = {.common_name = "Quince Test CA",
                               .not_before_unix = NOW - 3600,
                               .not_after_unix = NOW + 86400,
                               .is_ca = true};
    uint8_t *ca_der = NULL, *ca_key_der = NULL;
    size_t ca_len = 0, ca_key_len = 0;
    crypto_privkey *ca_key = NULL;
    assert_int_equal(
        crypto_cert_generate(&t.env, &ca_p, &ca_der, &ca_len, &ca_key_der, &ca_key_len, &ca_key),
        0);
    crypto_cert_params leaf_p = {.common_name = "server.test",
                                 .dns_name = "server.test",
                                 .not_before_unix = NOW - 3600,
                                 .not_after_unix = NOW + 86400,
                                 .issuer_der = ca_der,
                                 .issuer_der_len = ca_len,
                                 .issuer_key = ca_key};
    uint8_t *leaf_der = NULL, *leaf_key_der = NULL;
    size_t leaf_len = 0, leaf_key_len = 0;
    assert_int_equal(crypto_cert_generate(&t.env, &leaf_p, &leaf_der, &leaf_len, &leaf_key_der,
                                          &leaf_key_len, NULL),
                     0);
    const uint8_t *certs[1] = {leaf_der};
    size_t lens[1] = {leaf_len};

    crypto_x509_store *empty = crypto_x509_store_new(&t.env);
    assert_non_null(empty);
    assert_int_equal(crypto_x509_verify(&t.env, empty, certs, lens, 1, "server.test", NOW, NULL),
                     CRYPTO_ERR_UNKNOWN_CA);

    crypto_x509_store *store = crypto_x509_store_new(&t.env);
    assert_non_null(store);
    assert_int_equal(crypto_x509_store_add(store, ca_der, ca_len), 0);
    size_t pem_len = 0;
    uint8_t *pem = test_read_file("tests/crypto/data/ec_p256_cert.pem", &pem_len);
    assert_int_equal(crypto_x509_store_add(store, pem, pem_len), 0);
    static const char junk[] = "junk";
    assert_true(crypto_x509_store_add(store, (const uint8_t *)junk, sizeof(junk) - 1) < 0);
    assert_int_equal(crypto_x509_verify(&t.env, store, certs, lens, 1, "server.test", NOW, NULL),
                     0);
    assert_int_equal(crypto_x509_verify(&t.env, store, certs, lens, 1, "other.test", NOW, NULL),
                     CRYPTO_ERR_BAD_CERTIFICATE);

    crypto_x509_store_free(&t.env, empty);
    crypto_x509_store_free(&t.env, store);
    crypto_privkey_free(&t.env, ca_key);
    quince_env_free(&t.env, ca_der);
    quince_env_free(&t.env, ca_key_der);
    quince_env_free(&t.env, leaf_der);
    quince_env_free(&t.env, leaf_key_der);
    free(pem);
    test_env_check_leaks(&t);
}

static void test_hash_and_errors(void **state)
{
    (void)state;
    assert_int_equal(crypto_hash_len(CRYPTO_HASH_SHA256), CRYPTO_SHA256_LEN);
    assert_int_equal(crypto_hash_len(CRYPTO_HASH_SHA384), 48);
    /* SHA-256("abc"), FIPS 180-2 B.1. */
    static const uint8_t abc256[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                       0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                       0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                       0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t out[CRYPTO_HASH_MAX_LEN];
    assert_int_equal(crypto_hash(CRYPTO_HASH_SHA256, (const uint8_t *)"abc", 3, out), 0);
    assert_memory_equal(out, abc256, 32);
    /* Every documented error has a name. */
    assert_non_null(crypto_strerror(CRYPTO_ERR_PARSE));
    assert_non_null(crypto_strerror(CRYPTO_ERR_ARGUMENT));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_lived_cert),
        cmocka_unit_test(test_short_lived_cert_dns_name),
        cmocka_unit_test(test_short_lived_cert_both_names),
        cmocka_unit_test(test_short_lived_cert_arguments),
        cmocka_unit_test(test_short_lived_cert_nomem),
        cmocka_unit_test(test_cert_chain_parse),
        cmocka_unit_test(test_cert_chain_parse_errors),
        cmocka_unit_test(test_x509_store),
        cmocka_unit_test(test_heap_hooks),
        cmocka_unit_test(test_hash_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
