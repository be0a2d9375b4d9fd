/* Tests for crypto/tls_keysched.c and the parsers against RFC 8448 §3 (simple 1-RTT handshake). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/backend.h"
#include "crypto/tls_internal.h"
#include "crypto/tls_keysched.h"
#include "crypto/tls_msg.h"
#include "tests/common/test_env.h"

/* RFC 8448 §3: the handshake messages (without record headers). */
static const char client_hello_hex[] =
    "010000c00303cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7000006130113031302"
    "010000910000000b0009000006736572766572ff01000100000a00140012001d0017001800190100010101020103"
    "010400230000003300260024001d002099381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529a"
    "af2c002b0003020304000d0020001e040305030603020308040805080604010501060102010402050206020202002d"
    "00020101001c00024001";
static const char server_hello_hex[] =
    "020000560303a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e2692800130100002e0033"
    "0024001d0020c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f002b00020304";
static const char encrypted_extensions_hex[] =
    "080000240022000a00140012001d00170018001901000101010201030104001c0002400100000000";
static const char certificate_hex[] =
    "0b0001b9000001b50001b0308201ac30820115a003020102020102300d06092a864886f70d01010b0500300e310c"
    "300a06035504031303727361301e170d3136303733303031323335395a170d3236303733303031323335395a300e"
    "310c300a0603550403130372736130819f300d06092a864886f70d010101050003818d0030818902818100b4bb49"
    "8f8279303d980836399b36c6988c0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a95137ace6c1af19e"
    "aa6af98c7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda430846748030530ef0461c"
    "8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a8d88d79f7f1e3f0203010001a31a301830090603"
    "551d1304023000300b0603551d0f0404030205a0300d06092a864886f70d01010b05000381810085aad2a0e5b927"
    "6b908c65f73a7267170618a54c5f8a7b337d2df7a594365417f2eae8f8a58c8f8172f9319cf36b7fd6c55b80f21a"
    "03015156726096fd335e5e67f2dbf102702e608ccae6bec1fc63a42a99be5c3eb7107c3c54e9b9eb2bd5203b1c3b"
    "84e0a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b42b4de10000";
static const char certificate_verify_hex[] =
    "0f000084080400805a747c5d88fa9bd2e55ab085a61015b7211f824cd484145ab3ff52f1fda8477b0b7abc90db78e2"
    "d33a5c141a078653fa6bef780c5ea248eeaaa785c4f394cab6d30bbe8d4859ee511f602957b15411ac027671459e"
    "46445c9ea58c181e818e95b8c3fb0bf3278409d3be152a3da5043e063dda65cdf5aea20d53dfacd42f74f3";
static const char server_finished_hex[] =
    "140000209b9b141d906337fbd2cbdce71df4deda4ab42c309572cb7fffee5454b78f0718";
static const char client_finished_hex[] =
    "14000020a8ec436d677634ae525ac1fcebe11a039ec17694fac6e98527b642f2edd5ce61";

/* RFC 8448 §3: the (EC)DHE shared secret and the secrets derived from it. */
static const char ecdhe_hex[] = "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d";
static const char early_hex[] = "33ad0a1c607ec03b09e6cd9893680ce210adf300aa1f2660e1b22e10f170f92a";
static const char handshake_hex[] =
    "1dc826e93606aa6fdc0aadc12f741b01046aa6b99f691ed221a9f0ca043fbeac";
static const char c_hs_hex[] = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";
static const char s_hs_hex[] = "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38";
static const char master_hex[] = "18df06843d13a08bf2a449844c5f8a478001bc4d4c627984d5a41da8d0402919";
static const char c_ap_hex[] = "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5";
static const char s_ap_hex[] = "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643";
static const char exp_hex[] = "fe22f881176eda18eb8f44529e6792c50c9a3f89452f68d8ae311b4309d3cf50";
static const char res_hex[] = "7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c";

typedef struct blob {
    uint8_t b[512];
    size_t len;
} blob;

static blob unhex(const char *hex)
{
    blob x;
    x.len = test_unhex(hex, x.b, sizeof(x.b));
    return x;
}

static void expect(const uint8_t *got, const char *hex)
{
    blob want = unhex(hex);
    assert_int_equal(want.len, 32);
    assert_memory_equal(got, want.b, 32);
}

/* RFC 8448 §3: the whole key schedule over the real transcript. */
static void test_rfc8448_key_schedule(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 1);
    blob ch = unhex(client_hello_hex), sh = unhex(server_hello_hex),
         ee = unhex(encrypted_extensions_hex), ct = unhex(certificate_hex),
         cv = unhex(certificate_verify_hex), sf = unhex(server_finished_hex),
         cf = unhex(client_finished_hex), ecdhe = unhex(ecdhe_hex);
    assert_int_equal(ch.len, 4 + 0xc0);
    assert_int_equal(ct.len, 4 + 0x1b9);

    crypto_tls_transcript tr;
    crypto_tls_transcript_init(&tr);
    /* The ClientHello is held until the suite is known. */
    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, ch.b, ch.len), 0);
    assert_false(crypto_tls_transcript_selected(&tr));
    uint8_t th[32];
    assert_int_equal(crypto_tls_transcript_hash(&tr, th), CRYPTO_ERR_INTERNAL);
    assert_int_equal(crypto_tls_transcript_select(&t.env, &tr, CRYPTO_HASH_SHA256, false), 0);
    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, sh.b, sh.len), 0);
    assert_int_equal(crypto_tls_transcript_hash(&tr, th), 0);

    crypto_tls_keysched ks;
    assert_int_equal(crypto_tls_ks_init(&ks, CRYPTO_HASH_SHA256, NULL, 0), 0);
    expect(ks.secret, early_hex);
    assert_int_equal(crypto_tls_ks_handshake(&ks, ecdhe.b, ecdhe.len, th), 0);
    expect(ks.secret, handshake_hex);
    expect(ks.client_hs, c_hs_hex);
    expect(ks.server_hs, s_hs_hex);

    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, ee.b, ee.len), 0);
    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, ct.b, ct.len), 0);
    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, cv.b, cv.len), 0);
    assert_int_equal(crypto_tls_transcript_hash(&tr, th), 0);
    uint8_t verify[32];
    assert_int_equal(crypto_tls_ks_finished(CRYPTO_HASH_SHA256, ks.server_hs, th, verify), 0);
    assert_memory_equal(verify, sf.b + 4, 32);

    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, sf.b, sf.len), 0);
    assert_int_equal(crypto_tls_transcript_hash(&tr, th), 0);
    assert_int_equal(crypto_tls_ks_master(&ks, th), 0);
    expect(ks.secret, master_hex);
    expect(ks.client_ap, c_ap_hex);
    expect(ks.server_ap, s_ap_hex);
    expect(ks.exporter, exp_hex);
    assert_int_equal(crypto_tls_ks_finished(CRYPTO_HASH_SHA256, ks.client_hs, th, verify), 0);
    assert_memory_equal(verify, cf.b + 4, 32);

    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, cf.b, cf.len), 0);
    assert_int_equal(crypto_tls_transcript_hash(&tr, th), 0);
    assert_int_equal(crypto_tls_ks_resumption(&ks, th), 0);
    expect(ks.resumption, res_hex);

    crypto_tls_ks_wipe(&ks);
    uint8_t zeros[sizeof(ks)];
    memset(zeros, 0, sizeof(zeros));
    assert_memory_equal(&ks, zeros, sizeof(ks));
    crypto_tls_transcript_free(&t.env, &tr);
    test_env_check_leaks(&t);
}

/* RFC 8448 §3: our parsers read the real messages; the CertificateVerify (RSA-PSS,
 * RFC 8446 §4.4.3 content) verifies under the certificate's key. */
static void test_rfc8448_messages(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 2);
    blob ch = unhex(client_hello_hex), sh = unhex(server_hello_hex),
         ee = unhex(encrypted_extensions_hex), ct = unhex(certificate_hex),
         cv = unhex(certificate_verify_hex), sf = unhex(server_finished_hex);

    crypto_tls_client_hello c;
    assert_int_equal(crypto_tls_parse_client_hello(ch.b + 4, ch.len - 4, &c), 0);
    assert_int_equal(c.server_name.len, 6);
    assert_memory_equal(c.server_name.p, "server", 6);
    assert_true(crypto_tls_u16_list_has(c.versions, CRYPTO_TLS_VERSION_13));
    assert_int_equal(crypto_tls_u16_list_count(c.cipher_suites), 3);
    crypto_tls_span key;
    assert_true(crypto_tls_key_share_find(c.key_shares, CRYPTO_GROUP_X25519, &key));
    assert_int_equal(key.len, 32);
    assert_true(crypto_tls_u16_list_has(c.sig_algs, CRYPTO_SIG_RSA_PSS_RSAE_SHA256));
    assert_int_equal(c.psk_modes.len, 1);

    crypto_tls_server_hello s;
    assert_int_equal(crypto_tls_parse_server_hello(sh.b + 4, sh.len - 4, &s), 0);
    assert_false(s.is_hrr);
    assert_int_equal(s.cipher_suite, CRYPTO_TLS_AES_128_GCM_SHA256);
    assert_int_equal(s.group, CRYPTO_GROUP_X25519);
    assert_int_equal(s.version, CRYPTO_TLS_VERSION_13);

    /* record_size_limit (28) answers a request we would never make. */
    crypto_tls_encrypted_extensions e;
    assert_int_equal(crypto_tls_parse_encrypted_extensions(ee.b + 4, ee.len - 4, &e),
                     CRYPTO_ERR_UNSUPPORTED_EXTENSION);

    crypto_tls_certificate cert;
    assert_int_equal(crypto_tls_parse_certificate(ct.b + 4, ct.len - 4, &cert), 0);
    assert_int_equal(cert.count, 1);
    assert_int_equal(cert.certs[0].len, 0x1b0);

    crypto_tls_certificate_verify v;
    assert_int_equal(crypto_tls_parse_certificate_verify(cv.b + 4, cv.len - 4, &v), 0);
    assert_int_equal(v.scheme, CRYPTO_SIG_RSA_PSS_RSAE_SHA256);
    assert_int_equal(v.signature.len, 128);

    crypto_tls_span fin;
    assert_int_equal(crypto_tls_parse_finished(sf.b + 4, sf.len - 4, 32, &fin), 0);

    /* The signed content: 64 spaces, the server context string, 0, Hash(CH..Certificate). */
    uint8_t transcript[1024];
    size_t n = 0;
    memcpy(transcript + n, ch.b, ch.len);
    n += ch.len;
    memcpy(transcript + n, sh.b, sh.len);
    n += sh.len;
    memcpy(transcript + n, ee.b, ee.len);
    n += ee.len;
    memcpy(transcript + n, ct.b, ct.len);
    n += ct.len;
    uint8_t th[32], content[TLS_CV_CONTENT_MAX];
    assert_int_equal(crypto_hash(CRYPTO_HASH_SHA256, transcript, n, th), 0);
    size_t len = tls_cv_content(true, th, 32, content);
    assert_int_equal(len, 64 + 33 + 1 + 32);
    assert_memory_equal(content + 64, "TLS 1.3, server CertificateVerify", 34);
    crypto_pubkey *pk;
    assert_int_equal(crypto_x509_pubkey(&t.env, cert.certs[0].p, cert.certs[0].len, &pk), 0);
    assert_int_equal(
        crypto_pubkey_verify(pk, v.scheme, content, len, v.signature.p, v.signature.len), 0);
    /* The client's context string does not verify. */
    len = tls_cv_content(false, th, 32, content);
    assert_memory_equal(content + 64, "TLS 1.3, client CertificateVerify", 34);
    assert_int_equal(
        crypto_pubkey_verify(pk, v.scheme, content, len, v.signature.p, v.signature.len),
        CRYPTO_ERR_DECRYPT_ERROR);
    crypto_pubkey_free(&t.env, pk);
    test_env_check_leaks(&t);
}

/* RFC 8446 §4.4.1: after a HelloRetryRequest, ClientHello1 is replaced by
 * message_hash(254) || 00 00 32 || Hash(ClientHello1). */
static void test_hrr_transcript(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 3);
    blob ch = unhex(client_hello_hex);
    static const uint8_t hrr[] = {2, 0, 0, 1, 0xaa};
    crypto_tls_transcript tr;
    crypto_tls_transcript_init(&tr);
    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, ch.b, ch.len), 0);
    assert_int_equal(crypto_tls_transcript_select(&t.env, &tr, CRYPTO_HASH_SHA384, true), 0);
    assert_int_equal(crypto_tls_transcript_select(&t.env, &tr, CRYPTO_HASH_SHA384, true),
                     CRYPTO_ERR_INTERNAL);
    assert_int_equal(crypto_tls_transcript_add(&t.env, &tr, hrr, sizeof(hrr)), 0);
    uint8_t got[48], want[48];
    assert_int_equal(crypto_tls_transcript_hash(&tr, got), 0);
    uint8_t manual[4 + 48 + sizeof(hrr)] = {254, 0, 0, 48};
    assert_int_equal(crypto_hash(CRYPTO_HASH_SHA384, ch.b, ch.len, manual + 4), 0);
    memcpy(manual + 4 + 48, hrr, sizeof(hrr));
    assert_int_equal(crypto_hash(CRYPTO_HASH_SHA384, manual, sizeof(manual), want), 0);
    assert_memory_equal(got, want, 48);
    crypto_tls_transcript_free(&t.env, &tr);
    test_env_check_leaks(&t);
}

/* A backend built without ChaCha20-Poly1305, SHA-384/512 or RSA (a device's mbedTLS
 * configuration, cross/mbedtls/config-client.h): the suites and signature schemes the
 * engine offers leave out what it cannot run; with all, everything is offered. */
static void test_backend_without_chacha_sha512(void **state)
{
    (void)state;
    const crypto_suite *aes128 = crypto_suite_by_id(CRYPTO_TLS_AES_128_GCM_SHA256);
    const crypto_suite *aes256 = crypto_suite_by_id(CRYPTO_TLS_AES_256_GCM_SHA384);
    const crypto_suite *chacha = crypto_suite_by_id(CRYPTO_TLS_CHACHA20_POLY1305_SHA256);
    crypto_backend full = *crypto_backend_default();
    full.no_chacha20_poly1305 = false;
    full.no_sha512 = false;
    full.no_rsa = false;
    crypto_backend lean = full;
    lean.no_chacha20_poly1305 = true;
    lean.no_sha512 = true;

    assert_true(tls_suite_usable(&full, aes128));
    assert_true(tls_suite_usable(&full, aes256));
    assert_true(tls_suite_usable(&full, chacha));
    assert_false(tls_suite_usable(&full, NULL));
    assert_true(tls_suite_usable(&lean, aes128));
    assert_false(tls_suite_usable(&lean, aes256));
    assert_false(tls_suite_usable(&lean, chacha));

    uint16_t algs[TLS_MAX_SIG_ALGS];
    assert_int_equal(tls_sig_algs(&full, algs), 8);
    assert_int_equal(algs[0], CRYPTO_SIG_ECDSA_SECP256R1_SHA256);
    assert_int_equal(algs[2], CRYPTO_SIG_ECDSA_SECP384R1_SHA384);
    assert_true(tls_sig_alg_offered(&full, CRYPTO_SIG_RSA_PSS_RSAE_SHA512));
    static const uint16_t want[] = {CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                    CRYPTO_SIG_RSA_PSS_RSAE_SHA256, CRYPTO_SIG_RSA_PKCS1_SHA256};
    assert_int_equal(tls_sig_algs(&lean, algs), 3);
    assert_memory_equal(algs, want, sizeof(want));
    crypto_backend no_rsa = full;
    no_rsa.no_rsa = true;
    static const uint16_t want_ecdsa[] = {CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                          CRYPTO_SIG_ECDSA_SECP384R1_SHA384};
    assert_int_equal(tls_sig_algs(&no_rsa, algs), 2);
    assert_memory_equal(algs, want_ecdsa, sizeof(want_ecdsa));
    lean.no_rsa = true; /* cross/mbedtls/config-client.h */
    assert_int_equal(tls_sig_algs(&lean, algs), 1);
    assert_int_equal(algs[0], CRYPTO_SIG_ECDSA_SECP256R1_SHA256);
    assert_false(tls_sig_alg_offered(&lean, CRYPTO_SIG_RSA_PSS_RSAE_SHA256));
    assert_true(tls_sig_alg_offered(&lean, CRYPTO_SIG_ECDSA_SECP256R1_SHA256));
    assert_false(tls_sig_alg_offered(&lean, CRYPTO_SIG_ECDSA_SECP384R1_SHA384));
    assert_false(tls_sig_alg_offered(&lean, CRYPTO_SIG_RSA_PSS_RSAE_SHA512));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc8448_key_schedule),
        cmocka_unit_test(test_rfc8448_messages),
        cmocka_unit_test(test_hrr_transcript),
        cmocka_unit_test(test_backend_without_chacha_sha512),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
