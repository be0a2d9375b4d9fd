/* Tests for the crypto backend (crypto/backend.h): known answers, round trips, rejections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/backend.h"
#include "crypto/tls.h"
#include "tests/common/test_env.h"

/* Expected values come from the RFCs where they have them (RFC 9001 Appendix A),
 * otherwise from an independent implementation (Python's cryptography package
 * over OpenSSL, and the openssl command), noted at each use. */

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    return test_unhex(hex, out, cap);
}

static void expect_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[512];
    size_t n = unhex(hex, want, sizeof(want));
    assert_int_equal(n, len);
    assert_memory_equal(got, want, len);
}

/* ---- Hashes, HMAC, HKDF ---- */

static void test_hash(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 1);
    uint8_t out[48];
    assert_int_equal(crypto_hash_len(CRYPTO_HASH_SHA256), 32);
    assert_int_equal(crypto_hash_len(CRYPTO_HASH_SHA384), 48);
    /* FIPS 180-4 "abc" examples (checked with sha256sum/sha384sum). */
    assert_int_equal(crypto_hash(CRYPTO_HASH_SHA256, (const uint8_t *)"abc", 3, out), 0);
    expect_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(crypto_hash(CRYPTO_HASH_SHA384, (const uint8_t *)"abc", 3, out), 0);
    expect_hex(out, 48,
               "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
               "8086072ba1e7cc2358baeca134c825a7");
    assert_int_equal(crypto_hash(CRYPTO_HASH_SHA256, NULL, 0, out), 0);
    expect_hex(out, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    /* Incremental: peek leaves the context open. */
    for (int alg = CRYPTO_HASH_SHA256; alg <= CRYPTO_HASH_SHA384; alg++) {
        crypto_hash_alg a = (crypto_hash_alg)alg;
        size_t hl = crypto_hash_len(a);
        crypto_hash_ctx *ctx = crypto_hash_new(&t.env, a);
        assert_non_null(ctx);
        uint8_t peek[48], one[48];
        assert_int_equal(crypto_hash_update(ctx, (const uint8_t *)"a", 1), 0);
        assert_int_equal(crypto_hash_peek(ctx, peek), 0);
        assert_int_equal(crypto_hash(a, (const uint8_t *)"a", 1, one), 0);
        assert_memory_equal(peek, one, hl);
        assert_int_equal(crypto_hash_update(ctx, (const uint8_t *)"bc", 2), 0);
        assert_int_equal(crypto_hash_peek(ctx, peek), 0);
        assert_int_equal(crypto_hash_peek(ctx, out), 0); /* twice gives the same */
        assert_memory_equal(peek, out, hl);
        assert_int_equal(crypto_hash(a, (const uint8_t *)"abc", 3, one), 0);
        assert_memory_equal(peek, one, hl);
        crypto_hash_free(&t.env, ctx);
    }
    assert_null(crypto_hash_new(&t.env, (crypto_hash_alg)7));
    crypto_hash_free(&t.env, NULL);
    test_env_check_leaks(&t);
}

static void test_hmac_hkdf(void **state)
{
    (void)state;
    uint8_t out[100], prk[48];
    /* RFC 9001 §A.1: initial_secret = HKDF-Extract(salt, cid) = HMAC-SHA256(salt, cid). */
    uint8_t salt[20], cid[8];
    unhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a", salt, sizeof(salt));
    unhex("8394c8f03e515708", cid, sizeof(cid));
    const char *initial = "7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44";
    assert_int_equal(crypto_hmac(CRYPTO_HASH_SHA256, salt, 20, cid, 8, out), 0);
    expect_hex(out, 32, initial);
    assert_int_equal(crypto_hkdf_extract(CRYPTO_HASH_SHA256, salt, 20, cid, 8, prk), 0);
    expect_hex(prk, 32, initial);
    /* RFC 9001 §A.1: client_initial_secret = HKDF-Expand(initial, HkdfLabel "client in"). */
    uint8_t info[32];
    size_t n = unhex("00200f746c73313320636c69656e7420696e00", info, sizeof(info));
    assert_int_equal(crypto_hkdf_expand(CRYPTO_HASH_SHA256, prk, 32, info, n, out, 32), 0);
    expect_hex(out, 32, "c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea");
    /* RFC 9001 §A.5: the 32-byte ChaCha20 "quic key" from the application secret. */
    uint8_t secret[32];
    unhex("9ac312a7f877468ebe69422748ad00a15443f18203a07d6060f688f30f21632b", secret, 32);
    n = unhex("00200e746c7331332071756963206b657900", info, sizeof(info));
    assert_int_equal(crypto_hkdf_expand(CRYPTO_HASH_SHA256, secret, 32, info, n, out, 32), 0);
    expect_hex(out, 32, "c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8");

    /* SHA-384 (values from Python cryptography). */
    assert_int_equal(crypto_hmac(CRYPTO_HASH_SHA384, (const uint8_t *)"quince key", 10,
                                 (const uint8_t *)"quince message", 14, out),
                     0);
    expect_hex(out, 48,
               "e46d53cd0063716f0e6437441f4f9bb32f9c71291aa7e9d19c2a31873498ff8b"
               "d02d212d2eede5af9241712df536b4fe");
    assert_int_equal(crypto_hkdf_extract(CRYPTO_HASH_SHA384, (const uint8_t *)"salt384", 7,
                                         (const uint8_t *)"input keying material", 21, prk),
                     0);
    expect_hex(prk, 48,
               "4b5771dff5f4c4ddbaa22d283d4930690b7ad0aafa86f6874c5acb5be9d00fa7"
               "a5b20952bcbe25c5a87a52e40edf6000");
    assert_int_equal(
        crypto_hkdf_expand(CRYPTO_HASH_SHA384, prk, 48, (const uint8_t *)"info384", 7, out, 100),
        0);
    expect_hex(out, 100,
               "42a279ff597cd9fa4f17deb6850de9b5869af0337595cec27d0ef712af77e004"
               "bfc63a14eae1de209d9c4963cfd4492302385f1430c0f9f94c361e761cacb5dd"
               "5457af736414e19a12946603b7412c82259f5132ef09a625a7f5f8b6e05c4e12"
               "313dba99");
    /* RFC 5869 §2.3 structure: T(1) = HMAC(PRK, info | 0x01). */
    uint8_t t1[48], msg[8] = {'i', 'n', 'f', 'o', '3', '8', '4', 0x01};
    assert_int_equal(crypto_hmac(CRYPTO_HASH_SHA384, prk, 48, msg, 8, t1), 0);
    assert_memory_equal(t1, out, 48);

    /* Limits: at most 255 blocks; a PRK shorter than the hash is refused. */
    static uint8_t big[255 * 32 + 1];
    assert_int_equal(crypto_hkdf_expand(CRYPTO_HASH_SHA256, prk, 32, NULL, 0, big, 255 * 32), 0);
    assert_int_equal(crypto_hkdf_expand(CRYPTO_HASH_SHA256, prk, 32, NULL, 0, big, 255 * 32 + 1),
                     CRYPTO_ERR_ARGUMENT);
    assert_int_equal(crypto_hkdf_expand(CRYPTO_HASH_SHA256, prk, 31, NULL, 0, out, 32),
                     CRYPTO_ERR_ARGUMENT);
    assert_int_equal(crypto_hash((crypto_hash_alg)9, NULL, 0, out), CRYPTO_ERR_ARGUMENT);
}

/* ---- AEAD ---- */

typedef struct aead_vector {
    crypto_aead_alg alg;
    const char *sealed; /* ciphertext || tag (Python cryptography) */
} aead_vector;

static void test_aead_known_and_roundtrip(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 2);
    /* key = 00..1f (first 16 for AES-128), nonce = 64..6f, aad "quince aad". */
    static const aead_vector vectors[] = {
        {CRYPTO_AEAD_AES_128_GCM,
         "4e0a2b85aa77d199f01e3562e9bd45cc56e700dff8dcb02a874fdee1d980d787d2997248ea625eb1"
         "ee37409e4c21113731f2030a94683470a5d1ab"},
        {CRYPTO_AEAD_AES_256_GCM,
         "1c73bb46089c3ffd55423d9ab51204dd24ad7e2ae1199e02d4f1c33e9ed1853cfc8c60ac2d68e224"
         "999c1fd0190dc9148dcecdd21782c2f76a609f"},
        {CRYPTO_AEAD_CHACHA20_POLY1305,
         "6079deeae9d01f3190fe770d9dfeb6b316a9ea14f52586ddb51f99c49f40ec87a2dc928cce403353"
         "fb80adc5e87bfb61ebeba3bfa0f289f4ac6541"},
    };
    static const char pt[] = "The quick brown fox jumps over the lazy dog";
    const size_t pt_len = sizeof(pt) - 1;
    static const uint8_t aad[] = "quince aad";
    const size_t aad_len = sizeof(aad) - 1;
    uint8_t key[32], nonce[12];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 12; i++)
        nonce[i] = (uint8_t)(100 + i);
    assert_int_equal(crypto_aead_key_len(CRYPTO_AEAD_AES_128_GCM), 16);
    assert_int_equal(crypto_aead_key_len(CRYPTO_AEAD_AES_256_GCM), 32);
    assert_int_equal(crypto_aead_key_len(CRYPTO_AEAD_CHACHA20_POLY1305), 32);

    for (size_t v = 0; v < sizeof(vectors) / sizeof(vectors[0]); v++) {
        crypto_aead *a = crypto_aead_new(&t.env, vectors[v].alg, key);
        assert_non_null(a);
        uint8_t buf[128], back[128];
        assert_int_equal(crypto_aead_seal(a, nonce, aad, aad_len, (const uint8_t *)pt, pt_len, buf),
                         (int)(pt_len + 16));
        expect_hex(buf, pt_len + 16, vectors[v].sealed);
        assert_int_equal(crypto_aead_open(a, nonce, aad, aad_len, buf, pt_len + 16, back),
                         (int)pt_len);
        assert_memory_equal(back, pt, pt_len);

        /* In place, both ways. */
        memcpy(back, pt, pt_len);
        assert_int_equal(crypto_aead_seal(a, nonce, aad, aad_len, back, pt_len, back),
                         (int)(pt_len + 16));
        assert_memory_equal(back, buf, pt_len + 16);
        assert_int_equal(crypto_aead_open(a, nonce, aad, aad_len, back, pt_len + 16, back),
                         (int)pt_len);
        assert_memory_equal(back, pt, pt_len);

        /* Empty plaintext: a bare tag. */
        assert_int_equal(crypto_aead_seal(a, nonce, NULL, 0, NULL, 0, back), 16);
        assert_int_equal(crypto_aead_open(a, nonce, NULL, 0, back, 16, back + 16), 0);

        /* Tampering anywhere fails: every ciphertext and tag byte, the AAD, the nonce. */
        for (size_t k = 0; k < pt_len + 16; k++) {
            memcpy(back, buf, pt_len + 16);
            back[k] ^= 0x01;
            assert_int_equal(crypto_aead_open(a, nonce, aad, aad_len, back, pt_len + 16, back),
                             CRYPTO_ERR_DECRYPT);
        }
        uint8_t bad_aad[16];
        memcpy(bad_aad, aad, aad_len);
        bad_aad[0] ^= 0x80;
        assert_int_equal(crypto_aead_open(a, nonce, bad_aad, aad_len, buf, pt_len + 16, back),
                         CRYPTO_ERR_DECRYPT);
        assert_int_equal(crypto_aead_open(a, nonce, aad, aad_len - 1, buf, pt_len + 16, back),
                         CRYPTO_ERR_DECRYPT);
        uint8_t bad_nonce[12];
        memcpy(bad_nonce, nonce, 12);
        bad_nonce[11] ^= 1;
        assert_int_equal(crypto_aead_open(a, bad_nonce, aad, aad_len, buf, pt_len + 16, back),
                         CRYPTO_ERR_DECRYPT);
        /* Truncated: shorter than a tag, or one byte short. */
        assert_int_equal(crypto_aead_open(a, nonce, aad, aad_len, buf, 15, back),
                         CRYPTO_ERR_DECRYPT);
        assert_int_equal(crypto_aead_open(a, nonce, aad, aad_len, buf, pt_len + 15, back),
                         CRYPTO_ERR_DECRYPT);
        /* A different key fails too. */
        uint8_t key2[32];
        memcpy(key2, key, 32);
        key2[0] ^= 1;
        crypto_aead *b = crypto_aead_new(&t.env, vectors[v].alg, key2);
        assert_non_null(b);
        assert_int_equal(crypto_aead_open(b, nonce, aad, aad_len, buf, pt_len + 16, back),
                         CRYPTO_ERR_DECRYPT);
        crypto_aead_free(&t.env, b);
        crypto_aead_free(&t.env, a);
    }
    assert_null(crypto_aead_new(&t.env, (crypto_aead_alg)5, key));
    crypto_aead_free(&t.env, NULL);
    test_env_check_leaks(&t);
}

/* RFC 9001 §A.5: the one-byte PING payload under ChaCha20-Poly1305. */
static void test_aead_rfc9001_a5(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 3);
    uint8_t key[32], nonce[12], aad[4], out[32];
    unhex("c6d98ff3441c3fe1b2182094f69caa2ed4b716b65488960a7a984979fb23e1c8", key, 32);
    unhex("e0459b3474bdd0e46d417eb0", nonce, 12);
    unhex("4200bff4", aad, 4);
    const uint8_t ping = 0x01;
    crypto_aead *a = crypto_aead_new(&t.env, CRYPTO_AEAD_CHACHA20_POLY1305, key);
    assert_non_null(a);
    assert_int_equal(crypto_aead_seal(a, nonce, aad, 4, &ping, 1, out), 17);
    expect_hex(out, 17, "655e5cd55c41f69080575d7999c25a5bfb");
    crypto_aead_free(&t.env, a);
    test_env_check_leaks(&t);
}

/* ---- Header protection ---- */

static void test_hp_masks(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 4);
    uint8_t key[32], sample[16], mask[5];
    /* RFC 9001 §A.2: client Initial, AES-128. */
    unhex("9f50449e04a0e810283a1e9933adedd2", key, 16);
    unhex("d1b1c98dd7689fb8ec11d242b123dc9b", sample, 16);
    crypto_hp *hp = crypto_hp_new(&t.env, CRYPTO_AEAD_AES_128_GCM, key);
    assert_non_null(hp);
    assert_int_equal(crypto_hp_mask(hp, sample, mask), 0);
    expect_hex(mask, 5, "437b9aec36");
    crypto_hp_free(&t.env, hp);
    /* RFC 9001 §A.3: server Initial. */
    unhex("c206b8d9b9f0f37644430b490eeaa314", key, 16);
    unhex("2cd0991cd25b0aac406a5816b6394100", sample, 16);
    hp = crypto_hp_new(&t.env, CRYPTO_AEAD_AES_128_GCM, key);
    assert_non_null(hp);
    assert_int_equal(crypto_hp_mask(hp, sample, mask), 0);
    expect_hex(mask, 5, "2ec0d8356a");
    crypto_hp_free(&t.env, hp);
    /* RFC 9001 §A.5: ChaCha20. */
    unhex("25a282b9e82f06f21f488917a4fc8f1b73573685608597d0efcb076b0ab7a7a4", key, 32);
    unhex("5e5cd55c41f69080575d7999c25a5bfb", sample, 16);
    hp = crypto_hp_new(&t.env, CRYPTO_AEAD_CHACHA20_POLY1305, key);
    assert_non_null(hp);
    assert_int_equal(crypto_hp_mask(hp, sample, mask), 0);
    expect_hex(mask, 5, "aefefe7d03");
    crypto_hp_free(&t.env, hp);
    /* AES-256: AES-ECB of sample 00..0f under key 00..1f (Python cryptography). */
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 16; i++)
        sample[i] = (uint8_t)i;
    hp = crypto_hp_new(&t.env, CRYPTO_AEAD_AES_256_GCM, key);
    assert_non_null(hp);
    assert_int_equal(crypto_hp_mask(hp, sample, mask), 0);
    expect_hex(mask, 5, "5a6e045708");
    crypto_hp_free(&t.env, hp);
    assert_null(crypto_hp_new(&t.env, (crypto_aead_alg)9, key));
    test_env_check_leaks(&t);
}

/* ---- Key exchange ---- */

static void kex_agree(test_env *t, uint16_t group, size_t share_len)
{
    crypto_kex *a = crypto_kex_new(&t->env, group);
    crypto_kex *b = crypto_kex_new(&t->env, group);
    assert_non_null(a);
    assert_non_null(b);
    uint8_t pa[CRYPTO_KEX_MAX_PUBLIC], pb[CRYPTO_KEX_MAX_PUBLIC];
    uint8_t sa[CRYPTO_KEX_MAX_SECRET], sb[CRYPTO_KEX_MAX_SECRET];
    assert_int_equal(crypto_kex_public(a, pa, sizeof(pa)), (int)share_len);
    assert_int_equal(crypto_kex_public(b, pb, sizeof(pb)), (int)share_len);
    assert_memory_not_equal(pa, pb, share_len);
    if (group == CRYPTO_GROUP_SECP256R1)
        assert_int_equal(pa[0], 0x04);
    assert_int_equal(crypto_kex_public(a, pa, share_len - 1), CRYPTO_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(crypto_kex_derive(a, pb, share_len, sa, sizeof(sa)), 32);
    assert_int_equal(crypto_kex_derive(b, pa, share_len, sb, sizeof(sb)), 32);
    assert_memory_equal(sa, sb, 32);
    assert_int_equal(crypto_kex_derive(a, pb, share_len, sa, 31), CRYPTO_ERR_BUFFER_TOO_SMALL);

    /* Malformed shares: wrong lengths. */
    assert_int_equal(crypto_kex_derive(a, pb, share_len - 1, sa, sizeof(sa)),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    uint8_t longer[CRYPTO_KEX_MAX_PUBLIC + 1] = {0};
    memcpy(longer, pb, share_len);
    assert_int_equal(crypto_kex_derive(a, longer, share_len + 1, sa, sizeof(sa)),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(crypto_kex_derive(a, NULL, 0, sa, sizeof(sa)), CRYPTO_ERR_ILLEGAL_PARAMETER);
    crypto_kex_free(&t->env, a);
    crypto_kex_free(&t->env, b);
}

static void test_kex(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 5);
    kex_agree(&t, CRYPTO_GROUP_X25519, 32);
    kex_agree(&t, CRYPTO_GROUP_SECP256R1, 65);
    assert_null(crypto_kex_new(&t.env, 0x0018)); /* secp384r1: not offered */
    assert_null(crypto_kex_new(&t.env, 0x11ec)); /* X25519MLKEM768 */
    crypto_kex_free(&t.env, NULL);
    test_env_check_leaks(&t);
}

/* One round of what a handshake does with curves: two key shares and a verification. */
static void curve_round(test_env *t, crypto_privkey *key, crypto_pubkey *pub)
{
    kex_agree(t, CRYPTO_GROUP_X25519, 32);
    kex_agree(t, CRYPTO_GROUP_SECP256R1, 65);
    uint8_t sig[CRYPTO_SIG_MAX_LEN];
    int n = crypto_privkey_sign(&t->env, key, CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                (const uint8_t *)"cv", 2, sig, sizeof(sig));
    assert_true(n > 0);
    assert_int_equal(crypto_pubkey_verify(pub, CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                          (const uint8_t *)"cv", 2, sig, (size_t)n),
                     0);
}

static crypto_privkey *load_key(test_env *t, const char *path);
static crypto_pubkey *load_cert_key(test_env *t, const char *path);

/* An embedder's crypto_shared holds each curve loaded (its base-point table built) up
 * front; every key share and verification of an environment that carries it uses it, also
 * with keys parsed later; without one each key prepares its own, with the same results. */
static void test_shared_groups(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 31);
    assert_int_equal(crypto_shared_groups_loaded(NULL), 0);
    crypto_shared *sh = crypto_shared_new(&t.env);
    assert_non_null(sh);
    /* mbedTLS: X25519, P-256, P-384; OpenSSL prepares its groups itself (none here). */
    size_t want = strcmp(crypto_backend_name(), "mbedtls") == 0 ? 3 : 0;
    assert_int_equal(crypto_shared_groups_loaded(sh), want);
    crypto_privkey *key = load_key(&t, "tests/crypto/data/ec_p256_sec1.pem");
    crypto_pubkey *plain = load_cert_key(&t, "tests/crypto/data/ec_p256_cert.pem");
    curve_round(&t, key, plain); /* no shared tables */
    t.env.crypto_shared = sh;
    for (int i = 0; i < 10; i++) {
        crypto_pubkey *fresh = load_cert_key(&t, "tests/crypto/data/ec_p256_cert.pem");
        curve_round(&t, key, fresh);
        crypto_pubkey_free(&t.env, fresh);
    }
    curve_round(&t, key, plain); /* made without, checked without */
    assert_int_equal(crypto_shared_groups_loaded(sh), want);
    crypto_pubkey_free(&t.env, plain);
    crypto_privkey_free(&t.env, key);
    t.env.crypto_shared = NULL;
    crypto_shared_free(&t.env, sh);
    test_env_check_leaks(&t);
}

static void test_kex_invalid_points(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 6);
    uint8_t s[32], p[65];

    /* X25519 small-order points (u = 0, u = 1, u = p - 1) give an all-zero
     * secret: RFC 8446 §7.4.2 says abort. */
    crypto_kex *x = crypto_kex_new(&t.env, CRYPTO_GROUP_X25519);
    assert_non_null(x);
    memset(p, 0, 32);
    assert_int_equal(crypto_kex_derive(x, p, 32, s, 32), CRYPTO_ERR_ILLEGAL_PARAMETER);
    p[0] = 1;
    assert_int_equal(crypto_kex_derive(x, p, 32, s, 32), CRYPTO_ERR_ILLEGAL_PARAMETER);
    memset(p, 0xff, 32);
    p[0] = 0xec;
    p[31] = 0x7f;
    assert_int_equal(crypto_kex_derive(x, p, 32, s, 32), CRYPTO_ERR_ILLEGAL_PARAMETER);
    crypto_kex_free(&t.env, x);

    crypto_kex *e = crypto_kex_new(&t.env, CRYPTO_GROUP_SECP256R1);
    crypto_kex *f = crypto_kex_new(&t.env, CRYPTO_GROUP_SECP256R1);
    assert_non_null(e);
    assert_non_null(f);
    assert_int_equal(crypto_kex_public(f, p, sizeof(p)), 65);
    /* Compressed form, or any other prefix, is refused (RFC 8446 §4.2.8.2). */
    uint8_t q[65];
    memcpy(q, p, 65);
    q[0] = 0x02;
    assert_int_equal(crypto_kex_derive(e, q, 65, s, 32), CRYPTO_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(crypto_kex_derive(e, q, 33, s, 32), CRYPTO_ERR_ILLEGAL_PARAMETER);
    /* A point off the curve. */
    memcpy(q, p, 65);
    q[64] ^= 0x01;
    assert_int_equal(crypto_kex_derive(e, q, 65, s, 32), CRYPTO_ERR_ILLEGAL_PARAMETER);
    /* (0, 0) and coordinates >= p. */
    memset(q, 0, 65);
    q[0] = 0x04;
    assert_int_equal(crypto_kex_derive(e, q, 65, s, 32), CRYPTO_ERR_ILLEGAL_PARAMETER);
    memset(q, 0xff, 65);
    q[0] = 0x04;
    assert_int_equal(crypto_kex_derive(e, q, 65, s, 32), CRYPTO_ERR_ILLEGAL_PARAMETER);
    /* The genuine share still works afterwards. */
    assert_int_equal(crypto_kex_derive(e, p, 65, s, 32), 32);
    crypto_kex_free(&t.env, e);
    crypto_kex_free(&t.env, f);
    test_env_check_leaks(&t);
}

/* ---- Signatures ---- */

static crypto_privkey *load_key(test_env *t, const char *path)
{
    size_t len;
    uint8_t *pem = test_read_file(path, &len);
    crypto_privkey *k = crypto_privkey_parse(&t->env, pem, len);
    free(pem);
    assert_non_null(k);
    return k;
}

static crypto_pubkey *load_cert_key(test_env *t, const char *path)
{
    size_t len;
    uint8_t *pem = test_read_file(path, &len);
    uint8_t **ders;
    size_t *lens;
    assert_int_equal(crypto_x509_parse_chain(&t->env, pem, len, &ders, &lens), 1);
    free(pem);
    crypto_pubkey *k = NULL;
    assert_int_equal(crypto_x509_pubkey(&t->env, ders[0], lens[0], &k), 0);
    assert_non_null(k);
    crypto_x509_der_free(&t->env, ders, lens, 1);
    return k;
}

static void sign_verify(test_env *t, crypto_privkey *key, crypto_pubkey *pub, uint16_t scheme)
{
    static const uint8_t msg[] = "TLS 1.3, server CertificateVerify";
    uint8_t sig[CRYPTO_SIG_MAX_LEN];
    assert_true(crypto_privkey_supports(key, scheme));
    int n = crypto_privkey_sign(&t->env, key, scheme, msg, sizeof(msg), sig, sizeof(sig));
    assert_true(n > 0);
    assert_int_equal(crypto_pubkey_verify(pub, scheme, msg, sizeof(msg), sig, (size_t)n), 0);
    /* Any flipped bit, in the signature or the message, fails. */
    for (int i = 0; i < n; i += 7) {
        sig[i] ^= 0x10;
        assert_int_equal(crypto_pubkey_verify(pub, scheme, msg, sizeof(msg), sig, (size_t)n),
                         CRYPTO_ERR_DECRYPT_ERROR);
        sig[i] ^= 0x10;
    }
    uint8_t other[sizeof(msg)];
    memcpy(other, msg, sizeof(msg));
    other[3] ^= 1;
    assert_int_equal(crypto_pubkey_verify(pub, scheme, other, sizeof(other), sig, (size_t)n),
                     CRYPTO_ERR_DECRYPT_ERROR);
    assert_int_equal(crypto_pubkey_verify(pub, scheme, msg, sizeof(msg), sig, (size_t)n - 1),
                     CRYPTO_ERR_DECRYPT_ERROR);
    /* Nor may anything follow the signature. */
    if ((size_t)n < sizeof(sig)) {
        sig[n] = 0;
        assert_int_equal(crypto_pubkey_verify(pub, scheme, msg, sizeof(msg), sig, (size_t)n + 1),
                         CRYPTO_ERR_DECRYPT_ERROR);
    }
    /* Too small an output buffer. */
    assert_int_equal(crypto_privkey_sign(&t->env, key, scheme, msg, sizeof(msg), sig, 8),
                     CRYPTO_ERR_BUFFER_TOO_SMALL);
}

static void test_sign_verify(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 7);
    static const char *ec_keys[] = {"tests/crypto/data/ec_p256_sec1.pem",
                                    "tests/crypto/data/ec_p256_pkcs8.pem"};
    static const char *rsa_keys[] = {"tests/crypto/data/rsa2048_pkcs8.pem",
                                     "tests/crypto/data/rsa2048_pkcs1.pem"};
    crypto_pubkey *ec_pub = load_cert_key(&t, "tests/crypto/data/ec_p256_cert.pem");
    crypto_pubkey *rsa_pub = load_cert_key(&t, "tests/crypto/data/rsa2048_cert.pem");
    for (int i = 0; i < 2; i++) {
        crypto_privkey *ec = load_key(&t, ec_keys[i]);
        sign_verify(&t, ec, ec_pub, CRYPTO_SIG_ECDSA_SECP256R1_SHA256);
        assert_false(crypto_privkey_supports(ec, CRYPTO_SIG_ECDSA_SECP384R1_SHA384));
        assert_false(crypto_privkey_supports(ec, CRYPTO_SIG_RSA_PSS_RSAE_SHA256));
        uint8_t sig[CRYPTO_SIG_MAX_LEN];
        assert_int_equal(crypto_privkey_sign(&t.env, ec, CRYPTO_SIG_RSA_PSS_RSAE_SHA256,
                                             (const uint8_t *)"x", 1, sig, sizeof(sig)),
                         CRYPTO_ERR_UNSUPPORTED);
        crypto_privkey_free(&t.env, ec);

        crypto_privkey *rsa = load_key(&t, rsa_keys[i]);
        sign_verify(&t, rsa, rsa_pub, CRYPTO_SIG_RSA_PSS_RSAE_SHA256);
        sign_verify(&t, rsa, rsa_pub, CRYPTO_SIG_RSA_PSS_RSAE_SHA384);
        sign_verify(&t, rsa, rsa_pub, CRYPTO_SIG_RSA_PSS_RSAE_SHA512);
        /* TLS 1.3 never signs with PKCS#1 v1.5. */
        assert_false(crypto_privkey_supports(rsa, CRYPTO_SIG_RSA_PKCS1_SHA256));
        assert_false(crypto_privkey_supports(rsa, CRYPTO_SIG_ECDSA_SECP256R1_SHA256));
        assert_false(crypto_privkey_supports(rsa, 0x0807)); /* ed25519 */
        crypto_privkey_free(&t.env, rsa);
    }
    /* P-384: signs and verifies with its own scheme only. */
    crypto_privkey *p384 = load_key(&t, "tests/crypto/data/ec_p384_sec1.pem");
    crypto_pubkey *p384_pub = load_cert_key(&t, "tests/crypto/data/ec_p384_cert.pem");
    sign_verify(&t, p384, p384_pub, CRYPTO_SIG_ECDSA_SECP384R1_SHA384);
    assert_false(crypto_privkey_supports(p384, CRYPTO_SIG_ECDSA_SECP256R1_SHA256));
    {
        uint8_t s384[CRYPTO_SIG_MAX_LEN];
        int n = crypto_privkey_sign(&t.env, p384, CRYPTO_SIG_ECDSA_SECP384R1_SHA384,
                                    (const uint8_t *)"x", 1, s384, sizeof(s384));
        assert_true(n > 0);
        assert_int_equal(crypto_pubkey_verify(p384_pub, CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                              (const uint8_t *)"x", 1, s384, (size_t)n),
                         CRYPTO_ERR_ILLEGAL_PARAMETER);
        assert_int_equal(crypto_pubkey_verify(ec_pub, CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                              (const uint8_t *)"x", 1, s384, (size_t)n),
                         CRYPTO_ERR_DECRYPT_ERROR);
    }
    crypto_privkey_free(&t.env, p384);
    crypto_pubkey_free(&t.env, p384_pub);

    /* A scheme that does not fit the key. */
    uint8_t sig[64] = {0};
    assert_int_equal(crypto_pubkey_verify(ec_pub, CRYPTO_SIG_RSA_PSS_RSAE_SHA256,
                                          (const uint8_t *)"x", 1, sig, sizeof(sig)),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(crypto_pubkey_verify(ec_pub, CRYPTO_SIG_ECDSA_SECP384R1_SHA384,
                                          (const uint8_t *)"x", 1, sig, sizeof(sig)),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(crypto_pubkey_verify(rsa_pub, CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                          (const uint8_t *)"x", 1, sig, sizeof(sig)),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(crypto_pubkey_verify(rsa_pub, 0x0807, (const uint8_t *)"x", 1, sig, 64),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);

    /* Signatures made by the openssl command over tests/crypto/data/sig_message.txt:
     * ECDSA (DER) and RSA-PSS with salt length = hash length. */
    size_t mlen, elen, rlen;
    uint8_t *msg = test_read_file("tests/crypto/data/sig_message.txt", &mlen);
    uint8_t *esig = test_read_file("tests/crypto/data/ec_p256_sha256.sig", &elen);
    uint8_t *rsig = test_read_file("tests/crypto/data/rsa2048_pss_sha256.sig", &rlen);
    assert_int_equal(rlen, 256);
    assert_int_equal(
        crypto_pubkey_verify(ec_pub, CRYPTO_SIG_ECDSA_SECP256R1_SHA256, msg, mlen, esig, elen), 0);
    assert_int_equal(
        crypto_pubkey_verify(rsa_pub, CRYPTO_SIG_RSA_PSS_RSAE_SHA256, msg, mlen, rsig, rlen), 0);
    /* Under another scheme's hash, or as PKCS#1 v1.5, they do not verify. */
    assert_int_equal(
        crypto_pubkey_verify(rsa_pub, CRYPTO_SIG_RSA_PSS_RSAE_SHA384, msg, mlen, rsig, rlen),
        CRYPTO_ERR_DECRYPT_ERROR);
    assert_int_equal(
        crypto_pubkey_verify(rsa_pub, CRYPTO_SIG_RSA_PKCS1_SHA256, msg, mlen, rsig, rlen),
        CRYPTO_ERR_DECRYPT_ERROR);
    esig[elen - 1] ^= 1;
    assert_int_equal(
        crypto_pubkey_verify(ec_pub, CRYPTO_SIG_ECDSA_SECP256R1_SHA256, msg, mlen, esig, elen),
        CRYPTO_ERR_DECRYPT_ERROR);
    free(msg);
    free(esig);
    free(rsig);
    crypto_pubkey_free(&t.env, ec_pub);
    crypto_pubkey_free(&t.env, rsa_pub);

    /* Not keys. */
    assert_null(crypto_privkey_parse(&t.env, (const uint8_t *)"junk", 4));
    assert_null(crypto_privkey_parse(&t.env, (const uint8_t *)"-----BEGIN PRIVATE KEY-----\n", 28));
    assert_null(crypto_privkey_parse(&t.env, NULL, 0));
    test_env_check_leaks(&t);
}

/* ---- Certificates ---- */

/* 2026-11-24T00:00:00Z, the test env's clock. */
#define NOW 1795478400
#define DAY 86400

typedef struct gen_cert {
    uint8_t *der;
    size_t der_len;
    uint8_t *key_der;
    size_t key_der_len;
    crypto_privkey *key;
} gen_cert;

static void gen(test_env *t, gen_cert *out, const char *cn, const char *dns, const char *ip,
                int64_t nb, int64_t na, bool ca, const gen_cert *issuer)
{
    crypto_cert_params p = {0};
    p.common_name = cn;
    p.dns_name = dns;
    p.ip_address = ip;
    p.not_before_unix = nb;
    p.not_after_unix = na;
    p.is_ca = ca;
    if (issuer != NULL) {
        p.issuer_der = issuer->der;
        p.issuer_der_len = issuer->der_len;
        p.issuer_key = issuer->key;
    }
    assert_int_equal(crypto_cert_generate(&t->env, &p, &out->der, &out->der_len, &out->key_der,
                                          &out->key_der_len, &out->key),
                     0);
    assert_non_null(out->key);
}

static void gen_free(test_env *t, gen_cert *c)
{
    quince_env_free(&t->env, c->der);
    quince_env_free(&t->env, c->key_der);
    crypto_privkey_free(&t->env, c->key);
}

static int verify1(test_env *t, const crypto_x509_store *st, const gen_cert *leaf, const char *host,
                   int64_t now)
{
    const uint8_t *certs[1] = {leaf->der};
    size_t lens[1] = {leaf->der_len};
    return crypto_x509_verify(&t->env, st, certs, lens, 1, host, now, NULL);
}

static void test_cert_verify_outcomes(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 8);
    gen_cert ca, other_ca, leaf, leaf6, wild;
    gen(&t, &ca, "Quince Test CA", NULL, NULL, NOW - DAY, NOW + 3650 * DAY, true, NULL);
    gen(&t, &other_ca, "Other CA", NULL, NULL, NOW - DAY, NOW + 3650 * DAY, true, NULL);
    gen(&t, &leaf, "example.test", "example.test", "192.0.2.7", NOW - DAY, NOW + 13 * DAY, false,
        &ca);
    gen(&t, &leaf6, "v6", NULL, "2001:db8::1", NOW - DAY, NOW + 13 * DAY, false, &ca);
    gen(&t, &wild, "wild", "*.example.test", NULL, NOW - DAY, NOW + 13 * DAY, false, &ca);

    crypto_x509_store *st = crypto_x509_store_new(&t.env);
    crypto_x509_store *other = crypto_x509_store_new(&t.env);
    assert_int_equal(crypto_x509_store_add(st, ca.der, ca.der_len), 0);
    assert_int_equal(crypto_x509_store_add(other, other_ca.der, other_ca.der_len), 0);

    /* ok, by name (case and a trailing dot do not matter), by IP, with no checks. */
    assert_int_equal(verify1(&t, st, &leaf, "example.test", NOW), 0);
    assert_int_equal(verify1(&t, st, &leaf, "EXAMPLE.Test.", NOW), 0);
    assert_int_equal(verify1(&t, st, &leaf, "192.0.2.7", NOW), 0);
    assert_int_equal(verify1(&t, st, &leaf, NULL, 0), 0);
    /* Wrong host, IP mismatch, a name that only the CN carries. */
    assert_int_equal(verify1(&t, st, &leaf, "other.test", NOW), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(verify1(&t, st, &leaf, "sub.example.test", NOW), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(verify1(&t, st, &leaf, "192.0.2.8", NOW), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(verify1(&t, st, &leaf, "::ffff:192.0.2.7", NOW), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(verify1(&t, st, &leaf6, "v6", NOW), CRYPTO_ERR_BAD_CERTIFICATE);
    /* IPv6 in its several spellings; an IPv4 never matches it. */
    assert_int_equal(verify1(&t, st, &leaf6, "2001:db8::1", NOW), 0);
    assert_int_equal(verify1(&t, st, &leaf6, "[2001:0db8:0:0:0:0:0:1]", NOW), 0);
    assert_int_equal(verify1(&t, st, &leaf6, "2001:db8::2", NOW), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(verify1(&t, st, &leaf6, "0.0.0.1", NOW), CRYPTO_ERR_BAD_CERTIFICATE);
    /* Wildcards cover exactly one leftmost label. */
    assert_int_equal(verify1(&t, st, &wild, "a.example.test", NOW), 0);
    assert_int_equal(verify1(&t, st, &wild, "example.test", NOW), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(verify1(&t, st, &wild, "a.b.example.test", NOW), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(verify1(&t, st, &wild, ".example.test", NOW), CRYPTO_ERR_BAD_CERTIFICATE);
    /* Unknown CA, and a CA store that is empty. */
    assert_int_equal(verify1(&t, other, &leaf, "example.test", NOW), CRYPTO_ERR_UNKNOWN_CA);
    crypto_x509_store *empty = crypto_x509_store_new(&t.env);
    assert_int_equal(verify1(&t, empty, &leaf, "example.test", NOW), CRYPTO_ERR_UNKNOWN_CA);
    crypto_x509_store_free(&t.env, empty);
    /* Expired and not yet valid, at the exact edges. */
    assert_int_equal(verify1(&t, st, &leaf, "example.test", NOW + 13 * DAY), 0);
    assert_int_equal(verify1(&t, st, &leaf, "example.test", NOW + 13 * DAY + 1),
                     CRYPTO_ERR_CERT_EXPIRED);
    assert_int_equal(verify1(&t, st, &leaf, "example.test", NOW - DAY), 0);
    assert_int_equal(verify1(&t, st, &leaf, "example.test", NOW - DAY - 1),
                     CRYPTO_ERR_CERT_EXPIRED);
    /* A self-signed leaf is its own unknown CA, unless trusted directly. */
    gen_cert self;
    gen(&t, &self, "self", "self.test", NULL, NOW - DAY, NOW + 13 * DAY, false, NULL);
    assert_int_equal(verify1(&t, st, &self, "self.test", NOW), CRYPTO_ERR_UNKNOWN_CA);
    crypto_x509_store *pin = crypto_x509_store_new(&t.env);
    assert_int_equal(crypto_x509_store_add(pin, self.der, self.der_len), 0);
    assert_int_equal(verify1(&t, pin, &self, "self.test", NOW), 0);
    crypto_x509_store_free(&t.env, pin);
    gen_free(&t, &self);

    /* The leaf key comes back and checks the leaf's signatures. */
    const uint8_t *certs[1] = {leaf.der};
    size_t lens[1] = {leaf.der_len};
    crypto_pubkey *pub = NULL;
    assert_int_equal(crypto_x509_verify(&t.env, st, certs, lens, 1, "example.test", NOW, &pub), 0);
    assert_non_null(pub);
    uint8_t sig[CRYPTO_SIG_MAX_LEN];
    int n = crypto_privkey_sign(&t.env, leaf.key, CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                (const uint8_t *)"m", 1, sig, sizeof(sig));
    assert_true(n > 0);
    assert_int_equal(crypto_pubkey_verify(pub, CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                          (const uint8_t *)"m", 1, sig, (size_t)n),
                     0);
    crypto_pubkey_free(&t.env, pub);
    pub = (crypto_pubkey *)1;
    assert_int_equal(crypto_x509_verify(&t.env, st, certs, lens, 1, "other.test", NOW, &pub),
                     CRYPTO_ERR_BAD_CERTIFICATE);
    assert_null(pub);

    /* Garbage and truncated certificates, and no certificate at all. */
    uint8_t junk[64];
    memset(junk, 0x30, sizeof(junk));
    const uint8_t *jc[1] = {junk};
    size_t jl[1] = {sizeof(junk)};
    assert_int_equal(crypto_x509_verify(&t.env, st, jc, jl, 1, NULL, NOW, NULL),
                     CRYPTO_ERR_BAD_CERTIFICATE);
    lens[0] = leaf.der_len - 1;
    assert_int_equal(crypto_x509_verify(&t.env, st, certs, lens, 1, NULL, NOW, NULL),
                     CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(crypto_x509_verify(&t.env, st, certs, lens, 0, NULL, NOW, NULL),
                     CRYPTO_ERR_BAD_CERTIFICATE);
    /* A tampered signature. */
    uint8_t *bad = malloc(leaf.der_len);
    memcpy(bad, leaf.der, leaf.der_len);
    bad[leaf.der_len - 3] ^= 0x01;
    certs[0] = bad;
    lens[0] = leaf.der_len;
    assert_int_equal(crypto_x509_verify(&t.env, st, certs, lens, 1, NULL, NOW, NULL),
                     CRYPTO_ERR_BAD_CERTIFICATE);
    /* Against a store without its CA, it is still an unknown CA. */
    assert_int_equal(crypto_x509_verify(&t.env, other, certs, lens, 1, NULL, NOW, NULL),
                     CRYPTO_ERR_UNKNOWN_CA);
    free(bad);

    crypto_x509_store_free(&t.env, st);
    crypto_x509_store_free(&t.env, other);
    gen_free(&t, &ca);
    gen_free(&t, &other_ca);
    gen_free(&t, &leaf);
    gen_free(&t, &leaf6);
    gen_free(&t, &wild);
    test_env_check_leaks(&t);
}

static void test_cert_chain(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 9);
    gen_cert root, inter, old_inter, leaf, leaf2;
    gen(&t, &root, "Root", NULL, NULL, NOW - DAY, NOW + 3650 * DAY, true, NULL);
    gen(&t, &inter, "Intermediate", NULL, NULL, NOW - DAY, NOW + 365 * DAY, true, &root);
    gen(&t, &old_inter, "Old Intermediate", NULL, NULL, NOW - 400 * DAY, NOW - 35 * DAY, true,
        &root);
    gen(&t, &leaf, "leaf", "leaf.test", NULL, NOW - DAY, NOW + 13 * DAY, false, &inter);
    gen(&t, &leaf2, "leaf2", "leaf.test", NULL, NOW - DAY, NOW + 13 * DAY, false, &old_inter);
    crypto_x509_store *st = crypto_x509_store_new(&t.env);
    assert_int_equal(crypto_x509_store_add(st, root.der, root.der_len), 0);

    const uint8_t *certs[2] = {leaf.der, inter.der};
    size_t lens[2] = {leaf.der_len, inter.der_len};
    assert_int_equal(crypto_x509_verify(&t.env, st, certs, lens, 2, "leaf.test", NOW, NULL), 0);
    /* Without the intermediate there is no path to the root. */
    assert_int_equal(crypto_x509_verify(&t.env, st, certs, lens, 1, "leaf.test", NOW, NULL),
                     CRYPTO_ERR_UNKNOWN_CA);
    /* An expired intermediate makes the chain expired; with no time, it passes. */
    certs[0] = leaf2.der;
    lens[0] = leaf2.der_len;
    certs[1] = old_inter.der;
    lens[1] = old_inter.der_len;
    assert_int_equal(crypto_x509_verify(&t.env, st, certs, lens, 2, "leaf.test", NOW, NULL),
                     CRYPTO_ERR_CERT_EXPIRED);
    assert_int_equal(crypto_x509_verify(&t.env, st, certs, lens, 2, "leaf.test", 0, NULL), 0);
    /* A leaf cannot issue: a certificate signed by a non-CA is refused. */
    gen_cert sub;
    gen(&t, &sub, "sub", "sub.test", NULL, NOW - DAY, NOW + 13 * DAY, false, &leaf);
    const uint8_t *c3[3] = {sub.der, leaf.der, inter.der};
    size_t l3[3] = {sub.der_len, leaf.der_len, inter.der_len};
    assert_int_equal(crypto_x509_verify(&t.env, st, c3, l3, 3, "sub.test", NOW, NULL),
                     CRYPTO_ERR_BAD_CERTIFICATE);
    gen_free(&t, &sub);

    crypto_x509_store_free(&t.env, st);
    gen_free(&t, &root);
    gen_free(&t, &inter);
    gen_free(&t, &old_inter);
    gen_free(&t, &leaf);
    gen_free(&t, &leaf2);
    test_env_check_leaks(&t);
}

/* PEM armour for DER (RFC 7468), to feed the PEM paths. */
static size_t pem_wrap(const uint8_t *der, size_t len, char *out, size_t cap)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = (size_t)snprintf(out, cap, "-----BEGIN CERTIFICATE-----\n");
    size_t col = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)der[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)der[i + 1] << 8;
        if (i + 2 < len)
            v |= der[i + 2];
        char q[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], i + 1 < len ? b64[v >> 6 & 63] : '=',
                     i + 2 < len ? b64[v & 63] : '='};
        assert_true(n + 6 < cap);
        memcpy(out + n, q, 4);
        n += 4;
        col += 4;
        if (col == 64) {
            out[n++] = '\n';
            col = 0;
        }
    }
    if (col != 0)
        out[n++] = '\n';
    n += (size_t)snprintf(out + n, cap - n, "-----END CERTIFICATE-----\n");
    return n;
}

static void test_pem_chain_and_spki(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 10);
    gen_cert ca, leaf;
    gen(&t, &ca, "PEM CA", NULL, NULL, NOW - DAY, NOW + 30 * DAY, true, NULL);
    gen(&t, &leaf, "pem", "pem.test", NULL, NOW - DAY, NOW + 13 * DAY, false, &ca);
    char pem[8192];
    size_t ca_off = pem_wrap(leaf.der, leaf.der_len, pem, sizeof(pem));
    size_t n = ca_off + pem_wrap(ca.der, ca.der_len, pem + ca_off, sizeof(pem) - ca_off);
    uint8_t **ders;
    size_t *lens;
    assert_int_equal(crypto_x509_parse_chain(&t.env, (const uint8_t *)pem, n, &ders, &lens), 2);
    assert_int_equal(lens[0], leaf.der_len);
    assert_memory_equal(ders[0], leaf.der, leaf.der_len);
    assert_int_equal(lens[1], ca.der_len);
    assert_memory_equal(ders[1], ca.der, ca.der_len);
    /* The CA goes into a store as PEM as well. */
    crypto_x509_store *st = crypto_x509_store_new(&t.env);
    assert_int_equal(crypto_x509_store_add(st, (const uint8_t *)pem + ca_off, n - ca_off), 0);
    assert_int_equal(crypto_x509_verify(&t.env, st, (const uint8_t *const *)ders, lens, 2,
                                        "pem.test", NOW, NULL),
                     0);
    crypto_x509_der_free(&t.env, ders, lens, 2);
    crypto_x509_store_free(&t.env, st);
    /* One DER certificate parses as a chain of one. */
    assert_int_equal(crypto_x509_parse_chain(&t.env, leaf.der, leaf.der_len, &ders, &lens), 1);
    crypto_x509_der_free(&t.env, ders, lens, 1);
    assert_true(crypto_x509_parse_chain(&t.env, (const uint8_t *)"nope", 4, &ders, &lens) < 0);
    assert_null(ders);
    pem[40] ^= 0x01; /* corrupt the base64 */
    assert_true(crypto_x509_parse_chain(&t.env, (const uint8_t *)pem, n, &ders, &lens) < 0);

    /* SPKI hash of the fixture certificate, as computed by
     * openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum. */
    size_t flen;
    uint8_t *fpem = test_read_file("tests/crypto/data/ec_p256_cert.pem", &flen);
    assert_int_equal(crypto_x509_parse_chain(&t.env, fpem, flen, &ders, &lens), 1);
    uint8_t h[32];
    assert_int_equal(crypto_x509_spki_sha256(ders[0], lens[0], h), 0);
    expect_hex(h, 32, "4671823917f87ef36a9f8edfb5f9a90039bd33588c1b80c4acfab014eb9d06c0");
    assert_int_equal(crypto_x509_spki_sha256(ders[0], lens[0] - 1, h), CRYPTO_ERR_PARSE);
    crypto_x509_der_free(&t.env, ders, lens, 1);
    free(fpem);
    gen_free(&t, &ca);
    gen_free(&t, &leaf);
    test_env_check_leaks(&t);
}

static void test_cert_generate_details(void **state)
{
    (void)state;
    test_env t, u;
    test_env_init(&t, 11);
    test_env_init(&u, 11);
    /* The same seed gives the same certificate, byte for byte (deterministic env). */
    gen_cert a, b;
    gen(&t, &a, "det", "det.test", "10.0.0.1", NOW, NOW + 14 * DAY, false, NULL);
    gen(&u, &b, "det", "det.test", "10.0.0.1", NOW, NOW + 14 * DAY, false, NULL);
    assert_int_equal(a.der_len, b.der_len);
    assert_memory_equal(a.der, b.der, a.der_len);
    /* The key DER parses back to a key that signs for the certificate. */
    crypto_privkey *k = crypto_privkey_parse(&t.env, a.key_der, a.key_der_len);
    assert_non_null(k);
    crypto_pubkey *pub;
    assert_int_equal(crypto_x509_pubkey(&t.env, a.der, a.der_len, &pub), 0);
    uint8_t sig[CRYPTO_SIG_MAX_LEN];
    int n = crypto_privkey_sign(&t.env, k, CRYPTO_SIG_ECDSA_SECP256R1_SHA256, (const uint8_t *)"m",
                                1, sig, sizeof(sig));
    assert_true(n > 0);
    assert_int_equal(crypto_pubkey_verify(pub, CRYPTO_SIG_ECDSA_SECP256R1_SHA256,
                                          (const uint8_t *)"m", 1, sig, (size_t)n),
                     0);
    crypto_pubkey_free(&t.env, pub);
    crypto_privkey_free(&t.env, k);
    /* ecdsa-with-SHA256 is written without parameters (RFC 5758 §3.2), in both places. */
    static const uint8_t algid[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                    0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
    int found = 0;
    for (size_t i = 0; i + sizeof(algid) <= a.der_len; i++) {
        if (memcmp(a.der + i, algid, sizeof(algid)) == 0)
            found++;
    }
    assert_int_equal(found, 2);
    gen_free(&t, &a);
    gen_free(&u, &b);

    /* RSA-2048 self-signed, and RSA-PSS with its key. */
    crypto_cert_params p = {0};
    p.common_name = "rsa, with a comma";
    p.dns_name = "rsa.test";
    p.not_before_unix = NOW;
    p.not_after_unix = NOW + DAY;
    p.rsa_bits = 2048;
    gen_cert r;
    assert_int_equal(
        crypto_cert_generate(&t.env, &p, &r.der, &r.der_len, &r.key_der, &r.key_der_len, &r.key),
        0);
    assert_true(crypto_privkey_supports(r.key, CRYPTO_SIG_RSA_PSS_RSAE_SHA256));
    crypto_x509_store *st = crypto_x509_store_new(&t.env);
    assert_int_equal(crypto_x509_store_add(st, r.der, r.der_len), 0);
    assert_int_equal(verify1(&t, st, &r, "rsa.test", NOW), 0);
    crypto_x509_store_free(&t.env, st);
    gen_free(&t, &r);

    /* Bad parameters. */
    uint8_t *der, *kd;
    size_t dl, kl;
    p.rsa_bits = 1024;
    assert_int_equal(crypto_cert_generate(&t.env, &p, &der, &dl, &kd, &kl, NULL),
                     CRYPTO_ERR_ARGUMENT);
    p.rsa_bits = 0;
    p.ip_address = "300.1.1.1";
    assert_int_equal(crypto_cert_generate(&t.env, &p, &der, &dl, &kd, &kl, NULL),
                     CRYPTO_ERR_ARGUMENT);
    p.ip_address = NULL;
    p.not_after_unix = p.not_before_unix - 1;
    assert_int_equal(crypto_cert_generate(&t.env, &p, &der, &dl, &kd, &kl, NULL),
                     CRYPTO_ERR_ARGUMENT);
    p.not_after_unix = NOW + DAY;
    p.common_name = NULL;
    assert_int_equal(crypto_cert_generate(&t.env, &p, &der, &dl, &kd, &kl, NULL),
                     CRYPTO_ERR_ARGUMENT);
    p.common_name = "x";
    p.issuer_der = (const uint8_t *)"x";
    p.issuer_der_len = 1;
    assert_int_equal(crypto_cert_generate(&t.env, &p, &der, &dl, &kd, &kl, NULL),
                     CRYPTO_ERR_ARGUMENT); /* issuer without its key */
    /* Allocation failure at every step cleans up. */
    p.issuer_der = NULL;
    p.issuer_der_len = 0;
    for (size_t fail = 1; fail < 8; fail++) {
        t.fail_after = fail;
        int rc = crypto_cert_generate(&t.env, &p, &der, &dl, &kd, &kl, NULL);
        t.fail_after = 0;
        if (rc == 0) {
            quince_env_free(&t.env, der);
            quince_env_free(&t.env, kd);
        } else {
            assert_int_equal(rc, CRYPTO_ERR_NOMEM);
        }
    }
    test_env_check_leaks(&t);
    test_env_check_leaks(&u);
}

/* ---- Error names and alerts ---- */

static void test_errors(void **state)
{
    (void)state;
    assert_string_equal(crypto_strerror(CRYPTO_ERR_UNKNOWN_CA), "unknown_ca");
    assert_string_equal(crypto_strerror(CRYPTO_ERR_DECRYPT), "decryption failed");
    assert_string_equal(crypto_strerror(-1000), "unknown error");
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_DECODE_ERROR), 50);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_UNEXPECTED_MESSAGE), 10);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_ILLEGAL_PARAMETER), 47);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_HANDSHAKE_FAILURE), 40);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_BAD_CERTIFICATE), 42);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_UNSUPPORTED_CERTIFICATE), 43);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_CERT_EXPIRED), 45);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_UNKNOWN_CA), 48);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_DECRYPT_ERROR), 51);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_PROTOCOL_VERSION), 70);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_MISSING_EXTENSION), 109);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_UNSUPPORTED_EXTENSION), 110);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_NO_APPLICATION_PROTOCOL), 120);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_INSUFFICIENT_SECURITY), 71);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_CERTIFICATE_REQUIRED), 116);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_INTERNAL_ERROR), 80);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_NOMEM), 80);
    assert_int_equal(crypto_alert_for_error(CRYPTO_ERR_DECRYPT), 20);
    for (int e = 0; e >= -70; e--)
        assert_non_null(crypto_strerror(e));
    /* The default: the one QUINCE_CRYPTO names (meson test --setup), else the reference. */
    const char *want = getenv("QUINCE_CRYPTO");
    assert_string_equal(crypto_backend_name(), want != NULL ? want : "mbedtls");
    assert_string_equal(crypto_backend_default_name(), crypto_backend_name());
}

/* Several backends in one build: each is found by name, and objects keep theirs. */
static void test_backend_table(void **state)
{
    (void)state;
    assert_non_null(crypto_backend_find("mbedtls"));
    assert_null(crypto_backend_find("nonesuch"));
    assert_null(crypto_backend_find(NULL));
    assert_int_equal(crypto_backend_select("nonesuch"), CRYPTO_ERR_UNSUPPORTED);
    assert_non_null(strstr(crypto_backends_built(), "mbedtls"));
    const char *was = crypto_backend_default_name();
    if (crypto_backend_find("openssl") == NULL)
        return;
    test_env t;
    test_env_init(&t, 12);
    /* An AEAD made under each backend opens what the other sealed. */
    static const uint8_t key[16] = {1, 2, 3}, nonce[12] = {9};
    uint8_t ct[64], pt[64];
    assert_int_equal(crypto_backend_select("mbedtls"), 0);
    crypto_aead *a = crypto_aead_new(&t.env, CRYPTO_AEAD_AES_128_GCM, key);
    assert_int_equal(crypto_backend_select("openssl"), 0);
    assert_string_equal(crypto_backend_name(), "openssl");
    crypto_aead *b = crypto_aead_new(&t.env, CRYPTO_AEAD_AES_128_GCM, key);
    assert_int_equal(
        crypto_aead_seal(a, nonce, (const uint8_t *)"h", 1, (const uint8_t *)"quince", 6, ct),
        6 + CRYPTO_AEAD_TAG_LEN);
    assert_int_equal(crypto_aead_open(b, nonce, (const uint8_t *)"h", 1, ct, 6 + 16, pt), 6);
    assert_memory_equal(pt, "quince", 6);
    ct[0] ^= 1;
    assert_int_equal(crypto_aead_open(b, nonce, (const uint8_t *)"h", 1, ct, 6 + 16, pt),
                     CRYPTO_ERR_DECRYPT);
    crypto_aead_free(&t.env, a);
    crypto_aead_free(&t.env, b);
    assert_int_equal(crypto_backend_select(was), 0);
    test_env_check_leaks(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash),
        cmocka_unit_test(test_hmac_hkdf),
        cmocka_unit_test(test_aead_known_and_roundtrip),
        cmocka_unit_test(test_aead_rfc9001_a5),
        cmocka_unit_test(test_hp_masks),
        cmocka_unit_test(test_kex),
        cmocka_unit_test(test_shared_groups),
        cmocka_unit_test(test_kex_invalid_points),
        cmocka_unit_test(test_sign_verify),
        cmocka_unit_test(test_cert_verify_outcomes),
        cmocka_unit_test(test_cert_chain),
        cmocka_unit_test(test_pem_chain_and_spki),
        cmocka_unit_test(test_cert_generate_details),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_backend_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
