/* Tests for tests/interop/tls_record.c, the interop tests' record layer (RFC 8446 §5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "crypto/hkdf_label.h"
#include "tests/common/test_env.h"
#include "tests/interop/tls_record.h"

static const uint8_t k_secret[32] = {
    0xb6, 0x7b, 0x7d, 0x69, 0x0c, 0xc1, 0x6c, 0x4e, 0x75, 0xe5, 0x42, 0x13, 0xcb, 0x2d, 0x37, 0xb4,
    0xe9, 0xc9, 0x12, 0xbc, 0xde, 0xd9, 0x10, 0x5d, 0x42, 0xbe, 0xfd, 0x59, 0xd3, 0x91, 0xad, 0x38,
};

/* The suites' algorithms (RFC 8446 §B.4), spelled out so that this test
 * needs no engine. */
static const crypto_suite k_suites[] = {
    {CRYPTO_TLS_AES_128_GCM_SHA256, CRYPTO_AEAD_AES_128_GCM, CRYPTO_HASH_SHA256},
    {CRYPTO_TLS_AES_256_GCM_SHA384, CRYPTO_AEAD_AES_256_GCM, CRYPTO_HASH_SHA384},
    {CRYPTO_TLS_CHACHA20_POLY1305_SHA256, CRYPTO_AEAD_CHACHA20_POLY1305, CRYPTO_HASH_SHA256},
};

static const crypto_suite *suite(uint16_t id)
{
    for (size_t i = 0; i < sizeof(k_suites) / sizeof(k_suites[0]); i++)
        if (k_suites[i].id == id)
            return &k_suites[i];
    return NULL;
}

typedef struct pair {
    test_env t;
    tls_record_layer w; /* writer */
    tls_record_layer r; /* reader */
} pair;

static pair *pair_new(uint16_t suite_id, crypto_level level)
{
    pair *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    test_env_init(&p->t, 1);
    tls_record_init(&p->w, &p->t.env, true);
    tls_record_init(&p->r, &p->t.env, false);
    if (level != CRYPTO_LEVEL_INITIAL) {
        const crypto_suite *s = suite(suite_id);
        assert_non_null(s);
        size_t n = crypto_hash_len(s->hash);
        uint8_t secret[48];
        for (size_t i = 0; i < n; i++)
            secret[i] = k_secret[i % 32];
        assert_int_equal(tls_record_install(&p->w, level, true, s, secret, n), 0);
        assert_int_equal(tls_record_install(&p->r, level, false, s, secret, n), 0);
        tls_record_set_read_level(&p->r, level);
    }
    return p;
}

static void pair_free(pair *p)
{
    tls_record_free(&p->w);
    tls_record_free(&p->r);
    test_env_check_leaks(&p->t);
    free(p);
}

/* Move everything the writer produced to the reader. */
static void pass(pair *p)
{
    assert_int_equal(tls_record_feed(&p->r, p->w.out.data, p->w.out.len), 0);
    tls_bytes_consume(&p->w.out, p->w.out.len);
}

/* Large handshake data is cut at 2^14 and comes back in order, byte-exact,
 * for every suite; the outer header is application_data/0x0303 with the
 * right length (content + type + tag). */
static void test_roundtrip_all_suites(void **state)
{
    (void)state;
    const uint16_t suites[] = {CRYPTO_TLS_AES_128_GCM_SHA256, CRYPTO_TLS_AES_256_GCM_SHA384,
                               CRYPTO_TLS_CHACHA20_POLY1305_SHA256};
    static uint8_t msg[40000];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 31 + 7);
    for (size_t s = 0; s < 3; s++) {
        pair *p = pair_new(suites[s], CRYPTO_LEVEL_HANDSHAKE);
        assert_int_equal(
            tls_record_write(&p->w, CRYPTO_LEVEL_HANDSHAKE, TLS_CT_HANDSHAKE, msg, sizeof(msg)), 0);
        /* 16384 + 16384 + 7232, each + 5 header + 1 type + 16 tag. */
        assert_int_equal(p->w.out.len, sizeof(msg) + 3 * (5 + 1 + 16));
        const uint8_t hdr[5] = {23, 0x03, 0x03, (16384 + 17) >> 8, (16384 + 17) & 0xff};
        assert_memory_equal(p->w.out.data, hdr, 5);
        assert_int_equal(p->w.write[CRYPTO_LEVEL_HANDSHAKE].seq, 3);
        pass(p);
        size_t off = 0;
        tls_record rec;
        int rc;
        while ((rc = tls_record_next(&p->r, &rec)) == 1) {
            assert_int_equal(rec.type, TLS_CT_HANDSHAKE);
            assert_int_equal(rec.level, CRYPTO_LEVEL_HANDSHAKE);
            assert_true(off + rec.len <= sizeof(msg));
            assert_memory_equal(rec.data, msg + off, rec.len);
            off += rec.len;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(off, sizeof(msg));
        assert_int_equal(p->r.read[CRYPTO_LEVEL_HANDSHAKE].seq, 3);
        pair_free(p);
    }
}

/* The second record of a key opens with the AEAD directly: key and iv from
 * HKDF-Expand-Label "key"/"iv", nonce = iv XOR 1, AAD = the 5-byte header,
 * inner plaintext = content || type (RFC 8446 §5.2, §5.3, §7.3). */
static void test_nonce_and_aad(void **state)
{
    (void)state;
    pair *p = pair_new(CRYPTO_TLS_AES_128_GCM_SHA256, CRYPTO_LEVEL_APP);
    const uint8_t a[] = "first", b[] = "second";
    assert_int_equal(tls_record_write(&p->w, CRYPTO_LEVEL_APP, TLS_CT_APPLICATION_DATA, a, 5), 0);
    size_t first = p->w.out.len;
    assert_int_equal(tls_record_write(&p->w, CRYPTO_LEVEL_APP, TLS_CT_APPLICATION_DATA, b, 6), 0);
    const uint8_t *rec = p->w.out.data + first;
    assert_int_equal(p->w.out.len - first, 5 + 6 + 1 + 16);

    uint8_t key[16], iv[12];
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, k_secret, 32, "key", NULL, 0, key, 16), 0);
    assert_int_equal(
        crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, k_secret, 32, "iv", NULL, 0, iv, 12), 0);
    iv[11] ^= 1;
    crypto_aead *aead = crypto_aead_new(&p->t.env, CRYPTO_AEAD_AES_128_GCM, key);
    assert_non_null(aead);
    uint8_t out[64];
    int n = crypto_aead_open(aead, iv, rec, 5, rec + 5, 6 + 1 + 16, out);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "second\x17", 7);
    crypto_aead_free(&p->t.env, aead);
    pair_free(p);
}

/* Build a protected record by hand (padding allowed) with the writer's key. */
static void seal_raw(pair *p, const uint8_t *inner, size_t len)
{
    tls_record_key *k = &p->w.write[CRYPTO_LEVEL_APP];
    uint8_t rec[128];
    rec[0] = 23;
    rec[1] = 3;
    rec[2] = 3;
    rec[3] = 0;
    rec[4] = (uint8_t)(len + 16);
    uint8_t nonce[12];
    memcpy(nonce, k->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(k->seq >> (8 * i));
    k->seq++;
    int n = crypto_aead_seal(k->aead, nonce, rec, 5, inner, len, rec + 5);
    assert_int_equal(n, (int)len + 16);
    assert_int_equal(tls_record_feed(&p->r, rec, 5 + (size_t)n), 0);
}

/* §5.4: zero padding after the content type is stripped; a record that is
 * all zeros has no type and is unexpected_message. */
static void test_padding(void **state)
{
    (void)state;
    pair *p = pair_new(CRYPTO_TLS_CHACHA20_POLY1305_SHA256, CRYPTO_LEVEL_APP);
    const uint8_t padded[] = {'h', 'i', 0, 23, 0, 0, 0, 0, 0};
    seal_raw(p, padded, sizeof(padded));
    tls_record rec;
    assert_int_equal(tls_record_next(&p->r, &rec), 1);
    assert_int_equal(rec.type, TLS_CT_APPLICATION_DATA);
    assert_int_equal(rec.len, 3);
    assert_memory_equal(rec.data, "hi\0", 3);
    const uint8_t zeros[8] = {0};
    seal_raw(p, zeros, sizeof(zeros));
    assert_int_equal(tls_record_next(&p->r, &rec), CRYPTO_ERR_UNEXPECTED_MESSAGE);
    assert_int_equal(p->r.alert, CRYPTO_ALERT_UNEXPECTED_MESSAGE);
    pair_free(p);
}

/* A flipped bit anywhere (header = AAD, body, tag) is bad_record_mac. */
static void test_tamper(void **state)
{
    (void)state;
    const uint8_t msg[] = "tamper me";
    for (size_t pos = 0; pos < 5 + sizeof(msg) + 1 + 16; pos++) {
        if (pos == 0 || pos == 3 || pos == 4)
            continue; /* type and length change the framing, tested elsewhere */
        pair *p = pair_new(CRYPTO_TLS_AES_256_GCM_SHA384, CRYPTO_LEVEL_HANDSHAKE);
        assert_int_equal(
            tls_record_write(&p->w, CRYPTO_LEVEL_HANDSHAKE, TLS_CT_HANDSHAKE, msg, sizeof(msg)), 0);
        p->w.out.data[pos] ^= 0x01;
        pass(p);
        tls_record rec;
        assert_int_equal(tls_record_next(&p->r, &rec), CRYPTO_ERR_DECRYPT);
        assert_int_equal(p->r.alert, CRYPTO_ALERT_BAD_RECORD_MAC);
        pair_free(p);
    }
}

/* Bytes arrive one at a time: nothing until the record is complete. */
static void test_partial_feed(void **state)
{
    (void)state;
    pair *p = pair_new(CRYPTO_TLS_AES_128_GCM_SHA256, CRYPTO_LEVEL_HANDSHAKE);
    const uint8_t msg[] = {1, 2, 3, 4};
    assert_int_equal(tls_record_write(&p->w, CRYPTO_LEVEL_HANDSHAKE, TLS_CT_HANDSHAKE, msg, 4), 0);
    size_t total = p->w.out.len;
    tls_record rec;
    for (size_t i = 0; i < total; i++) {
        assert_int_equal(tls_record_next(&p->r, &rec), 0);
        assert_int_equal(tls_record_feed(&p->r, p->w.out.data + i, 1), 0);
    }
    assert_int_equal(tls_record_next(&p->r, &rec), 1);
    assert_int_equal(rec.len, 4);
    assert_memory_equal(rec.data, msg, 4);
    assert_int_equal(tls_record_next(&p->r, &rec), 0);
    pair_free(p);
}

/* Plaintext records: ClientHello at 0x0301, alerts, CCS dropped only before
 * the peer's Finished, application data refused, oversize refused. */
static void test_plaintext_rules(void **state)
{
    (void)state;
    pair *p = pair_new(0, CRYPTO_LEVEL_INITIAL);
    const uint8_t ch[] = {1, 0, 0, 0};
    assert_int_equal(tls_record_write(&p->w, CRYPTO_LEVEL_INITIAL, TLS_CT_HANDSHAKE, ch, 4), 0);
    const uint8_t want[] = {22, 3, 1, 0, 4, 1, 0, 0, 0};
    assert_int_equal(p->w.out.len, sizeof(want));
    assert_memory_equal(p->w.out.data, want, sizeof(want));
    pass(p);
    const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    assert_int_equal(tls_record_feed(&p->r, ccs, sizeof(ccs)), 0);
    assert_int_equal(tls_record_write_alert(&p->w, CRYPTO_LEVEL_INITIAL, 40), 0);
    pass(p);
    tls_record rec;
    assert_int_equal(tls_record_next(&p->r, &rec), 1);
    assert_int_equal(rec.type, TLS_CT_HANDSHAKE);
    assert_memory_equal(rec.data, ch, 4);
    assert_int_equal(tls_record_next(&p->r, &rec), 1); /* the CCS was dropped */
    assert_int_equal(p->r.ccs_dropped, 1);
    assert_int_equal(rec.type, TLS_CT_ALERT);
    assert_int_equal(rec.len, 2);
    assert_int_equal(rec.data[0], TLS_ALERT_LEVEL_FATAL);
    assert_int_equal(rec.data[1], 40);
    /* After the handshake a CCS is an error. */
    p->r.accept_ccs = false;
    assert_int_equal(tls_record_feed(&p->r, ccs, sizeof(ccs)), 0);
    assert_int_equal(tls_record_next(&p->r, &rec), CRYPTO_ERR_UNEXPECTED_MESSAGE);
    pair_free(p);

    /* A CCS with another value is an error even during the handshake. */
    p = pair_new(0, CRYPTO_LEVEL_INITIAL);
    const uint8_t bad_ccs[] = {20, 3, 3, 0, 1, 2};
    assert_int_equal(tls_record_feed(&p->r, bad_ccs, sizeof(bad_ccs)), 0);
    assert_int_equal(tls_record_next(&p->r, &rec), CRYPTO_ERR_UNEXPECTED_MESSAGE);
    pair_free(p);

    /* Unprotected application data. */
    p = pair_new(0, CRYPTO_LEVEL_INITIAL);
    const uint8_t app[] = {23, 3, 3, 0, 1, 0x41};
    assert_int_equal(tls_record_feed(&p->r, app, sizeof(app)), 0);
    assert_int_equal(tls_record_next(&p->r, &rec), CRYPTO_ERR_UNEXPECTED_MESSAGE);
    pair_free(p);

    /* Over 2^14 in plaintext, over 2^14 + 256 protected: record_overflow,
     * decided from the header alone. */
    p = pair_new(0, CRYPTO_LEVEL_INITIAL);
    const uint8_t big[] = {22, 3, 3, 0x40, 0x01};
    static uint8_t body[0x4001];
    assert_int_equal(tls_record_feed(&p->r, big, sizeof(big)), 0);
    assert_int_equal(tls_record_feed(&p->r, body, sizeof(body)), 0);
    assert_int_equal(tls_record_next(&p->r, &rec), CRYPTO_ERR_DECODE_ERROR);
    assert_int_equal(p->r.alert, TLS_ALERT_RECORD_OVERFLOW);
    pair_free(p);
    p = pair_new(CRYPTO_TLS_AES_128_GCM_SHA256, CRYPTO_LEVEL_APP);
    const uint8_t huge[] = {23, 3, 3, 0x41, 0x01};
    assert_int_equal(tls_record_feed(&p->r, huge, sizeof(huge)), 0);
    assert_int_equal(tls_record_next(&p->r, &rec), CRYPTO_ERR_DECODE_ERROR);
    assert_int_equal(p->r.alert, TLS_ALERT_RECORD_OVERFLOW);
    pair_free(p);
}

/* Protected: a plaintext handshake record where a key is expected is
 * unexpected_message (an alert in the clear only until the peer's Finished); close_notify is a
 * warning-level alert; empty handshake data cannot be written. */
static void test_protected_rules(void **state)
{
    (void)state;
    pair *p = pair_new(CRYPTO_TLS_AES_128_GCM_SHA256, CRYPTO_LEVEL_APP);
    tls_record rec;
    const uint8_t hs[] = {22, 3, 3, 0, 4, 2, 0, 0, 0};
    assert_int_equal(tls_record_feed(&p->r, hs, sizeof(hs)), 0);
    assert_int_equal(tls_record_next(&p->r, &rec), CRYPTO_ERR_UNEXPECTED_MESSAGE);
    pair_free(p);

    /* An alert in the clear is taken before the peer's Finished (a peer that
     * has not switched keys yet), refused after it. */
    p = pair_new(CRYPTO_TLS_AES_128_GCM_SHA256, CRYPTO_LEVEL_HANDSHAKE);
    const uint8_t clear_alert[] = {21, 3, 3, 0, 2, 2, 48};
    assert_int_equal(tls_record_feed(&p->r, clear_alert, sizeof(clear_alert)), 0);
    assert_int_equal(tls_record_next(&p->r, &rec), 1);
    assert_int_equal(rec.type, TLS_CT_ALERT);
    assert_int_equal(rec.level, CRYPTO_LEVEL_INITIAL);
    assert_int_equal(rec.len, 2);
    assert_int_equal(rec.data[1], 48);
    p->r.accept_ccs = false;
    assert_int_equal(tls_record_feed(&p->r, clear_alert, sizeof(clear_alert)), 0);
    assert_int_equal(tls_record_next(&p->r, &rec), CRYPTO_ERR_UNEXPECTED_MESSAGE);
    pair_free(p);

    p = pair_new(CRYPTO_TLS_AES_128_GCM_SHA256, CRYPTO_LEVEL_APP);
    assert_int_equal(tls_record_write_alert(&p->w, CRYPTO_LEVEL_APP, CRYPTO_ALERT_CLOSE_NOTIFY), 0);
    assert_int_equal(tls_record_write(&p->w, CRYPTO_LEVEL_APP, TLS_CT_HANDSHAKE, NULL, 0),
                     CRYPTO_ERR_ARGUMENT);
    /* No key at HANDSHAKE on the writer. */
    assert_int_equal(tls_record_write(&p->w, CRYPTO_LEVEL_HANDSHAKE, TLS_CT_HANDSHAKE, hs, 4),
                     CRYPTO_ERR_ARGUMENT);
    pass(p);
    assert_int_equal(tls_record_next(&p->r, &rec), 1);
    assert_int_equal(rec.type, TLS_CT_ALERT);
    assert_int_equal(rec.len, 2);
    assert_int_equal(rec.data[0], TLS_ALERT_LEVEL_WARNING);
    assert_int_equal(rec.data[1], CRYPTO_ALERT_CLOSE_NOTIFY);
    assert_int_equal(tls_record_top_level(&p->r, false), CRYPTO_LEVEL_APP);
    assert_int_equal(tls_record_top_level(&p->r, true), CRYPTO_LEVEL_INITIAL);
    pair_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_suites),
        cmocka_unit_test(test_nonce_and_aad),
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_partial_feed),
        cmocka_unit_test(test_plaintext_rules),
        cmocka_unit_test(test_protected_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
