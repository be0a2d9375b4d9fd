/* Tests for crypto/hkdf_label.c: the RFC 9001 §A.1 key derivation and argument checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/hkdf_label.h"
#include "tests/common/test_env.h"

static void expect_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[64];
    size_t n = test_unhex(hex, want, sizeof(want));
    assert_int_equal(n, len);
    assert_memory_equal(got, want, len);
}

/* RFC 9001 §A.1: initial secret, client and server secrets, keys, IVs, HP keys. */
static void test_rfc9001_a1(void **state)
{
    (void)state;
    static const uint8_t salt[] = {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
                                   0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a};
    static const uint8_t dcid[] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    uint8_t initial[32], client[32], server[32], key[16], iv[12], hp[16];
    assert_int_equal(
        crypto_hkdf_extract(CRYPTO_HASH_SHA256, salt, sizeof(salt), dcid, sizeof(dcid), initial),
        0);
    expect_hex(initial, 32, "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44");
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, initial, 32, "client in", NULL, 0, client, 32),
        0);
    expect_hex(client, 32, "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, initial, 32, "server in", NULL, 0, server, 32),
        0);
    expect_hex(server, 32, "3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b");

    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, client, 32, "quic key", NULL, 0, key, 16), 0);
    expect_hex(key, 16, "1f369613dd76d5467730efcbe3b1a22d");
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, client, 32, "quic iv", NULL, 0, iv, 12), 0);
    expect_hex(iv, 12, "fa044b2f42a3fd3b46fb255c");
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, client, 32, "quic hp", NULL, 0, hp, 16), 0);
    expect_hex(hp, 16, "9f50449e04a0e810283a1e9933adedd2");

    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, server, 32, "quic key", NULL, 0, key, 16), 0);
    expect_hex(key, 16, "cf3a5331653c364c88f0f379b6067e37");
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, server, 32, "quic iv", NULL, 0, iv, 12), 0);
    expect_hex(iv, 12, "0ac1493ca1905853b0bba03e");
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, server, 32, "quic hp", NULL, 0, hp, 16), 0);
    expect_hex(hp, 16, "c206b8d9b9f0f37644430b490eeaa314");
}

/* The HkdfLabel encoding itself: the §A.1 "client in" info, expanded by hand. */
static void test_label_encoding(void **state)
{
    (void)state;
    uint8_t prk[32], info[64], a[32], b[32];
    memset(prk, 0x0b, sizeof(prk));
    size_t n = test_unhex("00200f746c73313320636c69656e7420696e00", info, sizeof(info));
    assert_int_equal(crypto_hkdf_expand(CRYPTO_HASH_SHA256, prk, 32, info, n, a, 32), 0);
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, prk, 32, "client in", NULL, 0, b, 32), 0);
    assert_memory_equal(a, b, 32);

    /* A context is length-prefixed after the label. */
    static const uint8_t ctx[3] = {1, 2, 3};
    uint8_t prk48[48], c[32], d[32];
    memset(prk48, 0x0c, sizeof(prk48));
    n = test_unhex("0020 09 746c73313320 616263 03 010203", info, sizeof(info));
    assert_int_equal(crypto_hkdf_expand(CRYPTO_HASH_SHA384, prk48, 48, info, n, c, 32), 0);
    assert_int_equal(crypto_hkdf_expand_label(CRYPTO_HASH_SHA384, prk48, 48, "abc", ctx, 3, d, 32),
                     0);
    assert_memory_equal(c, d, 32);
}

static void test_derive_secret(void **state)
{
    (void)state;
    uint8_t secret[48], empty[48], a[48], b[48];
    memset(secret, 0x42, sizeof(secret));
    for (int alg = CRYPTO_HASH_SHA256; alg <= CRYPTO_HASH_SHA384; alg++) {
        size_t hl = crypto_hash_len((crypto_hash_alg)alg);
        assert_int_equal(crypto_hash((crypto_hash_alg)alg, NULL, 0, empty), 0);
        assert_int_equal(
            crypto_hkdf_expand_label((crypto_hash_alg)alg, secret, hl, "derived", empty, hl, a, hl),
            0);
        assert_int_equal(crypto_derive_secret((crypto_hash_alg)alg, secret, "derived", NULL, b), 0);
        assert_memory_equal(a, b, hl);
        assert_int_equal(crypto_derive_secret((crypto_hash_alg)alg, secret, "derived", empty, b),
                         0);
        assert_memory_equal(a, b, hl);
        /* In place. */
        memcpy(b, secret, hl);
        assert_int_equal(crypto_derive_secret((crypto_hash_alg)alg, b, "derived", NULL, b), 0);
        assert_memory_equal(a, b, hl);
    }
}

static void test_bad_arguments(void **state)
{
    (void)state;
    uint8_t secret[32] = {0}, out[32];
    char long_label[CRYPTO_HKDF_LABEL_MAX + 2];
    memset(long_label, 'a', sizeof(long_label));
    long_label[CRYPTO_HKDF_LABEL_MAX + 1] = 0;
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, secret, 32, long_label, NULL, 0, out, 32),
        CRYPTO_ERR_ARGUMENT);
    long_label[CRYPTO_HKDF_LABEL_MAX] = 0;
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, secret, 32, long_label, NULL, 0, out, 32), 0);
    uint8_t ctx[256] = {0};
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, secret, 32, "x", ctx, 256, out, 32),
        CRYPTO_ERR_ARGUMENT);
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, secret, 32, "x", NULL, 1, out, 32),
        CRYPTO_ERR_ARGUMENT);
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, secret, 32, NULL, NULL, 0, out, 32),
        CRYPTO_ERR_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9001_a1),
        cmocka_unit_test(test_label_encoding),
        cmocka_unit_test(test_derive_secret),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
