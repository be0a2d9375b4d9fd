/* crypto/backend.h over OpenSSL 3 libcrypto: every OpenSSL call of the library lives here. */

/* The one-shot SHA-2 contexts and the EC_KEY signing calls are the fast paths of
 * OpenSSL 3 (no provider fetch, no allocation per call); they are deprecated, not gone. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto/backend.h"

#include <limits.h>
#include <string.h>
#ifndef __STDC_NO_THREADS__
#include <threads.h>
#endif

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/x509_check.h"

/*
 * What differs from the mbedTLS backend, on purpose:
 *  - OpenSSL allocates its own objects with its own malloc; only the wrappers
 *    come from the quince_env allocator.
 *  - Randomness: key shares, ECDSA keys and ECDSA nonces come from env->random,
 *    drawn exactly as mbedTLS 2.28 draws them, so that the same random bytes
 *    give the same key share under both backends (the differential fuzz target
 *    checks it) and a seeded test gives the same packet sizes. RSA key
 *    generation and the RSA-PSS salt come from OpenSSL's own generator.
 *  - ECDSA signatures are parsed by crypto_ecdsa_sig_parse (shared), so that
 *    both backends accept exactly the same encodings.
 */

/* Defined below; called before their definitions. */
static void os_hash_free(const quince_env *env, crypto_hash_ctx *ctx);
static void os_aead_free(const quince_env *env, crypto_aead *ctx);
static void os_hp_free(const quince_env *env, crypto_hp *ctx);
static void os_kex_free(const quince_env *env, crypto_kex *ctx);
static void os_privkey_free(const quince_env *env, crypto_privkey *key);
static void os_pubkey_free(const quince_env *env, crypto_pubkey *key);
static int os_x509_pubkey(const quince_env *env, const uint8_t *der, size_t len,
                          crypto_pubkey **key);
static int os_x509_parse_chain(const quince_env *env, const uint8_t *data, size_t len,
                               uint8_t ***ders, size_t **lens);

#define BE (&crypto_backend_openssl_table)

/* ---- Hashes, HMAC, HKDF (RFC 5869) ---- */

typedef union sha_state {
    SHA256_CTX sha256;
    SHA512_CTX sha512; /* SHA-384 and SHA-512 */
} sha_state;

static void sha_init(sha_state *s, crypto_hash_alg alg)
{
    if (alg == CRYPTO_HASH_SHA256)
        SHA256_Init(&s->sha256);
    else
        SHA384_Init(&s->sha512);
}

static void sha_update(sha_state *s, crypto_hash_alg alg, const uint8_t *in, size_t len)
{
    if (alg == CRYPTO_HASH_SHA256)
        SHA256_Update(&s->sha256, in, len);
    else
        SHA384_Update(&s->sha512, in, len);
}

static void sha_final(sha_state *s, crypto_hash_alg alg, uint8_t *out)
{
    if (alg == CRYPTO_HASH_SHA256)
        SHA256_Final(out, &s->sha256);
    else
        SHA384_Final(out, &s->sha512);
}

static int os_hash(crypto_hash_alg alg, const uint8_t *in, size_t len, uint8_t *out)
{
    if (crypto_hash_len(alg) == 0)
        return CRYPTO_ERR_ARGUMENT;
    sha_state s;
    sha_init(&s, alg);
    sha_update(&s, alg, in, len);
    sha_final(&s, alg, out);
    OPENSSL_cleanse(&s, sizeof(s));
    return 0;
}

struct crypto_hash_ctx {
    const crypto_backend *be; /* first: crypto_backend_of */
    crypto_hash_alg alg;
    sha_state s;
};

static crypto_hash_ctx *os_hash_new(const quince_env *env, crypto_hash_alg alg)
{
    if (crypto_hash_len(alg) == 0)
        return NULL;
    crypto_hash_ctx *ctx = quince_env_calloc(env, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->be = BE;
    ctx->alg = alg;
    sha_init(&ctx->s, alg);
    return ctx;
}

static int os_hash_update(crypto_hash_ctx *ctx, const uint8_t *in, size_t len)
{
    sha_update(&ctx->s, ctx->alg, in, len);
    return 0;
}

static int os_hash_peek(const crypto_hash_ctx *ctx, uint8_t *out)
{
    sha_state copy = ctx->s; /* the state is plain data: finish a copy */
    uint8_t full[SHA384_DIGEST_LENGTH];
    sha_final(&copy, ctx->alg, full);
    memcpy(out, full, crypto_hash_len(ctx->alg));
    OPENSSL_cleanse(&copy, sizeof(copy));
    return 0;
}

static void os_hash_free(const quince_env *env, crypto_hash_ctx *ctx)
{
    if (ctx == NULL)
        return;
    OPENSSL_cleanse(ctx, sizeof(*ctx));
    quince_env_free(env, ctx);
}

/* RFC 2104, in steps: the inner hash keyed, then the message in pieces. */
typedef struct hmac_state {
    crypto_hash_alg alg;
    sha_state inner;
    uint8_t k[128]; /* the key, zero-padded to the block */
} hmac_state;

static size_t hash_block(crypto_hash_alg alg)
{
    return alg == CRYPTO_HASH_SHA256 ? 64 : 128;
}

static void hmac_init(hmac_state *h, crypto_hash_alg alg, const uint8_t *key, size_t key_len)
{
    size_t block = hash_block(alg);
    uint8_t pad[128];
    memset(h->k, 0, sizeof(h->k));
    h->alg = alg;
    if (key_len > block)
        os_hash(alg, key, key_len, h->k);
    else if (key_len > 0)
        memcpy(h->k, key, key_len);
    for (size_t i = 0; i < block; i++)
        pad[i] = h->k[i] ^ 0x36;
    sha_init(&h->inner, alg);
    sha_update(&h->inner, alg, pad, block);
}

static void hmac_final(hmac_state *h, uint8_t *out)
{
    size_t block = hash_block(h->alg);
    uint8_t pad[128], inner[SHA384_DIGEST_LENGTH];
    sha_final(&h->inner, h->alg, inner);
    for (size_t i = 0; i < block; i++)
        pad[i] = h->k[i] ^ 0x5c;
    sha_state s;
    sha_init(&s, h->alg);
    sha_update(&s, h->alg, pad, block);
    sha_update(&s, h->alg, inner, crypto_hash_len(h->alg));
    sha_final(&s, h->alg, out);
    OPENSSL_cleanse(h, sizeof(*h));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(&s, sizeof(s));
}

static int os_hmac(crypto_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *in,
                   size_t len, uint8_t *out)
{
    if (crypto_hash_len(alg) == 0)
        return CRYPTO_ERR_ARGUMENT;
    hmac_state h;
    hmac_init(&h, alg, key, key_len);
    sha_update(&h.inner, alg, in, len);
    hmac_final(&h, out);
    return 0;
}

/* RFC 5869 §2.2: an absent salt is HashLen zeros, which HMAC pads to the same key. */
static int os_hkdf_extract(crypto_hash_alg alg, const uint8_t *salt, size_t salt_len,
                           const uint8_t *ikm, size_t ikm_len, uint8_t *prk_out)
{
    return os_hmac(alg, salt, salt == NULL ? 0 : salt_len, ikm, ikm_len, prk_out);
}

/* RFC 5869 §2.3: T(i) = HMAC(PRK, T(i-1) | info | i). */
static int os_hkdf_expand(crypto_hash_alg alg, const uint8_t *prk, size_t prk_len,
                          const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    size_t hlen = crypto_hash_len(alg);
    if (hlen == 0 || prk_len < hlen || out_len > 255 * hlen)
        return CRYPTO_ERR_ARGUMENT;
    uint8_t t[SHA384_DIGEST_LENGTH];
    size_t t_len = 0, done = 0;
    for (uint8_t i = 1; done < out_len; i++) {
        hmac_state h;
        hmac_init(&h, alg, prk, prk_len);
        sha_update(&h.inner, alg, t, t_len);
        if (info_len > 0)
            sha_update(&h.inner, alg, info, info_len);
        sha_update(&h.inner, alg, &i, 1);
        hmac_final(&h, t);
        t_len = hlen;
        size_t n = out_len - done < hlen ? out_len - done : hlen;
        memcpy(out + done, t, n);
        done += n;
    }
    OPENSSL_cleanse(t, sizeof(t));
    return 0;
}

/* ---- AEAD (RFC 9001 §5.3) ---- */

static const EVP_CIPHER *aead_cipher(crypto_aead_alg alg)
{
    switch (alg) {
    case CRYPTO_AEAD_AES_128_GCM:
        return EVP_aes_128_gcm();
    case CRYPTO_AEAD_AES_256_GCM:
        return EVP_aes_256_gcm();
    case CRYPTO_AEAD_CHACHA20_POLY1305:
        return EVP_chacha20_poly1305();
    }
    return NULL;
}

/* One context per direction, keyed once: a packet only sets the nonce. */
struct crypto_aead {
    const crypto_backend *be; /* first: crypto_backend_of */
    EVP_CIPHER_CTX *enc;
    EVP_CIPHER_CTX *dec;
    bool gcm; /* AES-GCM: the nonce goes in as a parameter (aead_nonce) */
};

/* A packet's nonce into a keyed context. EVP_CipherInit_ex with only an IV costs about 50 ns
 * a packet more in OpenSSL 3.0 (it asks the provider for the IV length through parameters
 * each time: 12% of sealing a 1,200-byte packet, measured); for GCM the whole IV goes
 * straight in through the provider's fixed-IV parameter, which with a size of (size_t)-1
 * takes the whole IV (what EVP_CTRL_GCM_SET_IV_FIXED with -1 does). Should that be refused,
 * the ordinary init does it. */
static bool aead_nonce(EVP_CIPHER_CTX *c, bool gcm, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                       int enc)
{
    if (gcm) {
        OSSL_PARAM p[2] = {
            OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED,
                                              (void *)nonce, (size_t)-1),
            OSSL_PARAM_construct_end(),
        };
        if (EVP_CIPHER_CTX_set_params(c, p) == 1)
            return true;
    }
    return EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, enc) == 1;
}

/* The tag out of (seal) or into (open) a context: through the parameter directly, which
 * EVP_CIPHER_CTX_ctrl would build and pass on anyway. */
static bool aead_tag(EVP_CIPHER_CTX *c, uint8_t tag[CRYPTO_AEAD_TAG_LEN], bool get)
{
    OSSL_PARAM p[2] = {
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, CRYPTO_AEAD_TAG_LEN),
        OSSL_PARAM_construct_end(),
    };
    return (get ? EVP_CIPHER_CTX_get_params(c, p) : EVP_CIPHER_CTX_set_params(c, p)) == 1;
}

static crypto_aead *os_aead_new(const quince_env *env, crypto_aead_alg alg, const uint8_t *key)
{
    const EVP_CIPHER *cipher = aead_cipher(alg);
    if (cipher == NULL || key == NULL)
        return NULL;
    crypto_aead *ctx = quince_env_calloc(env, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->be = BE;
    ctx->gcm = alg != CRYPTO_AEAD_CHACHA20_POLY1305;
    ctx->enc = EVP_CIPHER_CTX_new();
    ctx->dec = EVP_CIPHER_CTX_new();
    if (ctx->enc == NULL || ctx->dec == NULL ||
        EVP_EncryptInit_ex(ctx->enc, cipher, NULL, key, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx->dec, cipher, NULL, key, NULL) != 1) {
        os_aead_free(env, ctx);
        return NULL;
    }
    return ctx;
}

static void os_aead_free(const quince_env *env, crypto_aead *ctx)
{
    if (ctx == NULL)
        return;
    EVP_CIPHER_CTX_free(ctx->enc);
    EVP_CIPHER_CTX_free(ctx->dec);
    quince_env_free(env, ctx);
}

static int os_aead_seal(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                        const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                        uint8_t *out)
{
    if (len > (size_t)INT32_MAX - CRYPTO_AEAD_TAG_LEN || aad_len > (size_t)INT32_MAX)
        return CRYPTO_ERR_ARGUMENT;
    int n = 0, fin = 0;
    if (!aead_nonce(ctx->enc, ctx->gcm, nonce, 1) ||
        (aad_len > 0 && EVP_EncryptUpdate(ctx->enc, NULL, &n, aad, (int)aad_len) != 1) ||
        (len > 0 && EVP_EncryptUpdate(ctx->enc, out, &n, in, (int)len) != 1) ||
        EVP_EncryptFinal_ex(ctx->enc, out + (len > 0 ? (size_t)n : 0), &fin) != 1 ||
        !aead_tag(ctx->enc, out + len, true))
        return CRYPTO_ERR_INTERNAL;
    return (int)(len + CRYPTO_AEAD_TAG_LEN);
}

static int os_aead_open(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                        const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                        uint8_t *out)
{
    if (len < CRYPTO_AEAD_TAG_LEN || len > (size_t)INT32_MAX || aad_len > (size_t)INT32_MAX)
        return CRYPTO_ERR_DECRYPT;
    size_t pt = len - CRYPTO_AEAD_TAG_LEN;
    uint8_t tag[CRYPTO_AEAD_TAG_LEN];
    memcpy(tag, in + pt, sizeof(tag)); /* out may equal in */
    int n = 0, fin = 0;
    if (!aead_nonce(ctx->dec, ctx->gcm, nonce, 0) ||
        (aad_len > 0 && EVP_DecryptUpdate(ctx->dec, NULL, &n, aad, (int)aad_len) != 1) ||
        (pt > 0 && EVP_DecryptUpdate(ctx->dec, out, &n, in, (int)pt) != 1) ||
        !aead_tag(ctx->dec, tag, false) ||
        EVP_DecryptFinal_ex(ctx->dec, out + (pt > 0 ? (size_t)n : 0), &fin) != 1) {
        if (pt > 0)
            OPENSSL_cleanse(out, pt); /* nothing unauthenticated leaves */
        return CRYPTO_ERR_DECRYPT;
    }
    return (int)pt;
}

/* ---- Header protection (RFC 9001 §5.4.3, §5.4.4) ---- */

struct crypto_hp {
    const crypto_backend *be; /* first: crypto_backend_of */
    crypto_aead_alg alg;
    EVP_CIPHER_CTX *ctx; /* AES-ECB, or ChaCha20 whose 16-byte IV is the sample */
};

static crypto_hp *os_hp_new(const quince_env *env, crypto_aead_alg alg, const uint8_t *key)
{
    const EVP_CIPHER *cipher;
    switch (alg) {
    case CRYPTO_AEAD_AES_128_GCM:
        cipher = EVP_aes_128_ecb();
        break;
    case CRYPTO_AEAD_AES_256_GCM:
        cipher = EVP_aes_256_ecb();
        break;
    case CRYPTO_AEAD_CHACHA20_POLY1305:
        cipher = EVP_chacha20();
        break;
    default:
        return NULL;
    }
    if (key == NULL)
        return NULL;
    crypto_hp *ctx = quince_env_calloc(env, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->be = BE;
    ctx->alg = alg;
    static const uint8_t zero_iv[16];
    ctx->ctx = EVP_CIPHER_CTX_new();
    if (ctx->ctx == NULL ||
        EVP_EncryptInit_ex(ctx->ctx, cipher, NULL, key,
                           alg == CRYPTO_AEAD_CHACHA20_POLY1305 ? zero_iv : NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx->ctx, 0) != 1) {
        os_hp_free(env, ctx);
        return NULL;
    }
    return ctx;
}

static void os_hp_free(const quince_env *env, crypto_hp *ctx)
{
    if (ctx == NULL)
        return;
    EVP_CIPHER_CTX_free(ctx->ctx);
    quince_env_free(env, ctx);
}

static int os_hp_mask(crypto_hp *ctx, const uint8_t sample[16], uint8_t mask[5])
{
    int n = 0;
    if (ctx->alg == CRYPTO_AEAD_CHACHA20_POLY1305) {
        /* §5.4.4: counter = sample[0..3] little-endian, nonce = sample[4..15], which is
         * OpenSSL's ChaCha20 IV layout as it stands. */
        static const uint8_t zeros[5];
        if (EVP_EncryptInit_ex(ctx->ctx, NULL, NULL, NULL, sample) != 1 ||
            EVP_EncryptUpdate(ctx->ctx, mask, &n, zeros, 5) != 1 || n != 5)
            return CRYPTO_ERR_INTERNAL;
        return 0;
    }
    /* §5.4.3: mask = AES-ECB(hp_key, sample). */
    uint8_t block[16];
    if (EVP_EncryptUpdate(ctx->ctx, block, &n, sample, 16) != 1 || n != 16)
        return CRYPTO_ERR_INTERNAL;
    memcpy(mask, block, 5);
    return 0;
}

/* ---- Elliptic-curve groups, built once (as in the mbedTLS backend) ---- */

typedef struct shared_group {
    EC_GROUP *grp;
    BIGNUM *order;
} shared_group;

static shared_group g_p256, g_p384;
static size_t g_loaded;

static void group_build(shared_group *g, int nid)
{
    g->grp = EC_GROUP_new_by_curve_name(nid);
    if (g->grp == NULL)
        return;
    /* The precomputed multiples of G (nistz256 carries its own table). */
    EC_GROUP_precompute_mult(g->grp, NULL);
    g->order = BN_dup(EC_GROUP_get0_order(g->grp));
    if (g->order == NULL) {
        EC_GROUP_free(g->grp);
        g->grp = NULL;
        return;
    }
    g_loaded++;
}

static void build_p256(void)
{
    group_build(&g_p256, NID_X9_62_prime256v1);
}

static void build_p384(void)
{
    group_build(&g_p384, NID_secp384r1);
}

#ifndef __STDC_NO_THREADS__
static once_flag once_p256 = ONCE_FLAG_INIT, once_p384 = ONCE_FLAG_INIT;
#define RUN_ONCE(flag, fn) call_once(&(flag), fn)
#else
static bool once_p256, once_p384;
#define RUN_ONCE(flag, fn)                                                                         \
    do {                                                                                           \
        if (!(flag)) {                                                                             \
            (flag) = true;                                                                         \
            fn();                                                                                  \
        }                                                                                          \
    } while (0)
#endif

static const shared_group *group_get(int nid)
{
    const shared_group *g;
    if (nid == NID_X9_62_prime256v1) {
        RUN_ONCE(once_p256, build_p256);
        g = &g_p256;
    } else if (nid == NID_secp384r1) {
        RUN_ONCE(once_p384, build_p384);
        g = &g_p384;
    } else {
        return NULL;
    }
    return g->grp != NULL ? g : NULL;
}

/* crypto_shared: OpenSSL keeps its prepared groups itself (above, process-wide, as
 * OpenSSL's own library state does), so the object holds only its table and reports
 * no groups of its own. The no-writable-data check (tests/nm_static) is about the core
 * with the mbedTLS backend; this file is outside it. */
struct crypto_shared {
    const crypto_backend *be; /* first: crypto_backend_of */
};

static crypto_shared *os_shared_new(const quince_env *env)
{
    crypto_shared *s = quince_env_calloc(env, sizeof(crypto_shared));
    if (s != NULL)
        s->be = &crypto_backend_openssl_table;
    return s;
}

static void os_shared_free(const quince_env *env, crypto_shared *s)
{
    quince_env_free(env, s);
}

static size_t os_shared_groups_loaded(const crypto_shared *s)
{
    (void)s;
    return 0;
}

/*
 * A scalar in [1, n) from env->random, drawn as mbedtls_mpi_random does
 * (big-endian bytes, excess top bits shifted out, retried when out of range),
 * so that the same random bytes give the same key under both backends.
 */
static BIGNUM *random_scalar(const quince_env *env, const BIGNUM *order)
{
    int bits = BN_num_bits(order);
    size_t bytes = ((size_t)bits + 7) / 8;
    uint8_t buf[66];
    BIGNUM *d = BN_secure_new();
    if (d == NULL || bytes > sizeof(buf))
        goto fail;
    for (int tries = 0; tries < 30; tries++) {
        quince_env_random(env, buf, bytes);
        if (BN_bin2bn(buf, (int)bytes, d) == NULL || BN_rshift(d, d, (int)(8 * bytes) - bits) != 1)
            goto fail;
        if (!BN_is_zero(d) && BN_cmp(d, order) < 0) {
            OPENSSL_cleanse(buf, sizeof(buf));
            return d;
        }
    }
fail:
    OPENSSL_cleanse(buf, sizeof(buf));
    BN_clear_free(d);
    return NULL;
}

/* ---- Key exchange (RFC 8446 §4.2.8.2, §7.4) ---- */

struct crypto_kex {
    const crypto_backend *be; /* first: crypto_backend_of */
    uint16_t group;
    EVP_PKEY *x25519;       /* X25519 */
    const shared_group *ec; /* P-256 */
    BIGNUM *d;              /* P-256 private scalar */
    uint8_t pub[65];        /* our share as sent */
};

static crypto_kex *os_kex_new(const quince_env *env, uint16_t group)
{
    if (group != CRYPTO_GROUP_X25519 && group != CRYPTO_GROUP_SECP256R1)
        return NULL;
    crypto_kex *ctx = quince_env_calloc(env, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->be = BE;
    ctx->group = group;
    if (group == CRYPTO_GROUP_X25519) {
        /* mbedTLS 2.28 (ecp_gen_privkey_mx): 32 random bytes read big-endian, shifted right
         * one bit, bit 254 set and the low three cleared; RFC 7748 §5 wants the scalar as
         * 32 little-endian bytes. */
        uint8_t r[32], k[32];
        size_t pub_len = 32;
        quince_env_random(env, r, sizeof(r));
        for (size_t i = 0; i < 32; i++) {
            size_t be_at = 31 - i; /* k[i] is the i-th least significant byte */
            uint8_t lo = r[be_at], hi = be_at > 0 ? r[be_at - 1] : 0;
            k[i] = (uint8_t)((lo >> 1) | (hi << 7));
        }
        k[31] = (uint8_t)((k[31] & 0x7f) | 0x40);
        k[0] &= 0xf8;
        ctx->x25519 = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, k, sizeof(k));
        OPENSSL_cleanse(r, sizeof(r));
        OPENSSL_cleanse(k, sizeof(k));
        if (ctx->x25519 == NULL ||
            EVP_PKEY_get_raw_public_key(ctx->x25519, ctx->pub, &pub_len) != 1 || pub_len != 32)
            goto fail;
        return ctx;
    }
    ctx->ec = group_get(NID_X9_62_prime256v1);
    if (ctx->ec == NULL || (ctx->d = random_scalar(env, ctx->ec->order)) == NULL)
        goto fail;
    EC_POINT *q = EC_POINT_new(ctx->ec->grp);
    bool ok = q != NULL && EC_POINT_mul(ctx->ec->grp, q, ctx->d, NULL, NULL, NULL) == 1 &&
              EC_POINT_point2oct(ctx->ec->grp, q, POINT_CONVERSION_UNCOMPRESSED, ctx->pub, 65,
                                 NULL) == 65;
    EC_POINT_free(q);
    if (!ok)
        goto fail;
    return ctx;
fail:
    os_kex_free(env, ctx);
    return NULL;
}

static void os_kex_free(const quince_env *env, crypto_kex *ctx)
{
    if (ctx == NULL)
        return;
    EVP_PKEY_free(ctx->x25519);
    BN_clear_free(ctx->d);
    quince_env_free(env, ctx);
}

static size_t kex_share_len(uint16_t group)
{
    return group == CRYPTO_GROUP_X25519 ? 32 : 65;
}

static int os_kex_public(const crypto_kex *ctx, uint8_t *out, size_t cap)
{
    size_t want = kex_share_len(ctx->group);
    if (cap < want)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    memcpy(out, ctx->pub, want);
    return (int)want;
}

static int x25519_derive(crypto_kex *ctx, const uint8_t *peer, uint8_t *out)
{
    EVP_PKEY *pp = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer, 32);
    EVP_PKEY_CTX *pc = pp != NULL ? EVP_PKEY_CTX_new(ctx->x25519, NULL) : NULL;
    size_t n = 32;
    int rc = CRYPTO_ERR_ILLEGAL_PARAMETER;
    if (pc != NULL && EVP_PKEY_derive_init(pc) == 1 && EVP_PKEY_derive_set_peer(pc, pp) == 1 &&
        EVP_PKEY_derive(pc, out, &n) == 1 && n == 32) {
        /* RFC 8446 §7.4.2: an all-zero result means a small-order peer point. */
        uint8_t acc = 0;
        for (size_t i = 0; i < 32; i++)
            acc |= out[i];
        rc = acc != 0 ? 32 : CRYPTO_ERR_ILLEGAL_PARAMETER;
    }
    EVP_PKEY_CTX_free(pc);
    EVP_PKEY_free(pp);
    ERR_clear_error();
    return rc;
}

static int p256_derive(crypto_kex *ctx, const uint8_t *peer, uint8_t *out)
{
    const EC_GROUP *grp = ctx->ec->grp;
    EC_POINT *qp = EC_POINT_new(grp), *z = EC_POINT_new(grp);
    BIGNUM *x = BN_new();
    int rc = CRYPTO_ERR_ILLEGAL_PARAMETER;
    /* oct2point rejects points off the curve; P-256's cofactor is 1. */
    if (qp != NULL && z != NULL && x != NULL && EC_POINT_oct2point(grp, qp, peer, 65, NULL) == 1 &&
        EC_POINT_is_at_infinity(grp, qp) == 0 &&
        EC_POINT_mul(grp, z, NULL, qp, ctx->d, NULL) == 1 && EC_POINT_is_at_infinity(grp, z) == 0 &&
        EC_POINT_get_affine_coordinates(grp, z, x, NULL, NULL) == 1 &&
        BN_bn2binpad(x, out, 32) == 32)
        rc = 32;
    EC_POINT_free(qp);
    EC_POINT_clear_free(z);
    BN_clear_free(x);
    ERR_clear_error();
    return rc;
}

/* RFC 8446 §4.2.8.2 (share formats), §7.4.1 and §7.4.2 (the shared secret). */
static int os_kex_derive(crypto_kex *ctx, const uint8_t *peer, size_t peer_len, uint8_t *out,
                         size_t cap)
{
    if (cap < CRYPTO_KEX_MAX_SECRET)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    /* Only uncompressed P-256 points (legacy_form 4) are allowed in TLS 1.3. */
    if (peer == NULL || peer_len != kex_share_len(ctx->group) ||
        (ctx->group == CRYPTO_GROUP_SECP256R1 && peer[0] != 0x04))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    return ctx->group == CRYPTO_GROUP_X25519 ? x25519_derive(ctx, peer, out)
                                             : p256_derive(ctx, peer, out);
}

/* ---- Keys and signatures (RFC 8446 §4.2.3, §4.4.3) ---- */

typedef enum sig_kind { SIG_NONE, SIG_ECDSA, SIG_RSA_PSS, SIG_RSA_PKCS1 } sig_kind;

/* The algorithm, hash and (for ECDSA) curve of a SignatureScheme. */
static sig_kind sig_scheme(uint16_t scheme, const EVP_MD **md, int *curve)
{
    *curve = NID_undef;
    switch (scheme) {
    case CRYPTO_SIG_ECDSA_SECP256R1_SHA256:
        *md = EVP_sha256();
        *curve = NID_X9_62_prime256v1;
        return SIG_ECDSA;
    case CRYPTO_SIG_ECDSA_SECP384R1_SHA384:
        *md = EVP_sha384();
        *curve = NID_secp384r1;
        return SIG_ECDSA;
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA256:
        *md = EVP_sha256();
        return SIG_RSA_PSS;
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA384:
        *md = EVP_sha384();
        return SIG_RSA_PSS;
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA512:
        *md = EVP_sha512();
        return SIG_RSA_PSS;
    case CRYPTO_SIG_RSA_PKCS1_SHA256:
        *md = EVP_sha256();
        return SIG_RSA_PKCS1;
    case CRYPTO_SIG_RSA_PKCS1_SHA384:
        *md = EVP_sha384();
        return SIG_RSA_PKCS1;
    case CRYPTO_SIG_RSA_PKCS1_SHA512:
        *md = EVP_sha512();
        return SIG_RSA_PKCS1;
    default:
        *md = NULL;
        return SIG_NONE;
    }
}

/* The message digest a scheme signs; the one-shot SHA-2 calls, no provider fetch. */
static size_t digest(const EVP_MD *md, const uint8_t *msg, size_t len, uint8_t out[64])
{
    switch (EVP_MD_get_type(md)) {
    case NID_sha256:
        SHA256(msg, len, out);
        return 32;
    case NID_sha384:
        SHA384(msg, len, out);
        return 48;
    case NID_sha512:
        SHA512(msg, len, out);
        return 64;
    default:
        return 0;
    }
}

/* A key of either kind: the EVP_PKEY, and for EC keys the EC_KEY the signing calls take. */
typedef struct os_key {
    EVP_PKEY *pkey;
    EC_KEY *ec;
    int curve; /* NID of the EC curve, NID_undef for RSA */
} os_key;

/* Takes pkey; only RSA and EC keys on the curves signatures use. */
static bool key_adopt(os_key *k, EVP_PKEY *pkey)
{
    k->pkey = pkey;
    k->curve = NID_undef;
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
        return true;
    case EVP_PKEY_EC:
        k->ec = EVP_PKEY_get1_EC_KEY(pkey);
        if (k->ec == NULL)
            return false;
        k->curve = EC_GROUP_get_curve_name(EC_KEY_get0_group(k->ec));
        return k->curve != NID_undef;
    default:
        return false;
    }
}

static void key_release(os_key *k)
{
    EC_KEY_free(k->ec);
    EVP_PKEY_free(k->pkey);
}

static bool key_fits(const os_key *k, sig_kind kind, int curve)
{
    switch (kind) {
    case SIG_ECDSA:
        return k->ec != NULL && k->curve == curve;
    case SIG_RSA_PSS:
    case SIG_RSA_PKCS1:
        return k->ec == NULL && EVP_PKEY_get_base_id(k->pkey) == EVP_PKEY_RSA;
    default:
        return false;
    }
}

struct crypto_privkey {
    const crypto_backend *be; /* first: crypto_backend_of */
    os_key k;
};

struct crypto_pubkey {
    const crypto_backend *be; /* first: crypto_backend_of */
    os_key k;
};

static bool looks_like_pem(const uint8_t *data, size_t len)
{
    static const char begin[] = "-----BEGIN ";
    while (len > 0 && (*data == ' ' || *data == '\t' || *data == '\r' || *data == '\n')) {
        data++;
        len--;
    }
    return len >= sizeof(begin) - 1 && memcmp(data, begin, sizeof(begin) - 1) == 0;
}

/* Never prompt for a passphrase: an encrypted key is not one we can use. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return 0;
}

static crypto_privkey *privkey_wrap(const quince_env *env, EVP_PKEY *pkey)
{
    crypto_privkey *key = pkey != NULL ? quince_env_calloc(env, sizeof(*key)) : NULL;
    if (key == NULL) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    key->be = BE;
    if (!key_adopt(&key->k, pkey)) {
        os_privkey_free(env, key);
        return NULL;
    }
    return key;
}

static crypto_privkey *os_privkey_parse(const quince_env *env, const uint8_t *data, size_t len)
{
    if (data == NULL || len == 0 || len > INT_MAX)
        return NULL;
    EVP_PKEY *pkey = NULL;
    if (looks_like_pem(data, len)) {
        BIO *bio = BIO_new_mem_buf(data, (int)len);
        if (bio != NULL)
            pkey = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
        BIO_free(bio);
    } else {
        const unsigned char *p = data;
        pkey = d2i_AutoPrivateKey(NULL, &p, (long)len);
        if (pkey != NULL && p != data + len) {
            EVP_PKEY_free(pkey);
            pkey = NULL;
        }
    }
    ERR_clear_error();
    return privkey_wrap(env, pkey);
}

static void os_privkey_free(const quince_env *env, crypto_privkey *key)
{
    if (key == NULL)
        return;
    key_release(&key->k);
    quince_env_free(env, key);
}

static void os_pubkey_free(const quince_env *env, crypto_pubkey *key)
{
    if (key == NULL)
        return;
    key_release(&key->k);
    quince_env_free(env, key);
}

static bool os_privkey_supports(const crypto_privkey *key, uint16_t scheme)
{
    const EVP_MD *md;
    int curve;
    sig_kind kind = sig_scheme(scheme, &md, &curve);
    /* TLS 1.3 signs with PSS only; PKCS#1 v1.5 is for verifying certificates. */
    return key != NULL && kind != SIG_RSA_PKCS1 && key_fits(&key->k, kind, curve);
}

/* ECDSA with the nonce drawn from env (as the key is), DER out. */
static int ecdsa_sign(const quince_env *env, EC_KEY *ec, const uint8_t *hash, size_t hash_len,
                      uint8_t *out, size_t cap)
{
    const EC_GROUP *grp = EC_KEY_get0_group(ec);
    const BIGNUM *order = EC_GROUP_get0_order(grp);
    BN_CTX *bn = BN_CTX_new();
    EC_POINT *kg = EC_POINT_new(grp);
    BIGNUM *rx = BN_new(), *r = BN_new(), *kinv = BN_secure_new();
    ECDSA_SIG *sig = NULL;
    int rc = CRYPTO_ERR_INTERNAL;
    if (bn == NULL || kg == NULL || rx == NULL || r == NULL || kinv == NULL)
        goto done;
    for (int tries = 0; tries < 8 && sig == NULL; tries++) {
        BIGNUM *k = random_scalar(env, order);
        if (k == NULL)
            goto done;
        BN_set_flags(k, BN_FLG_CONSTTIME);
        bool ok = EC_POINT_mul(grp, kg, k, NULL, NULL, bn) == 1 &&
                  EC_POINT_get_affine_coordinates(grp, kg, rx, NULL, bn) == 1 &&
                  BN_nnmod(r, rx, order, bn) == 1 && !BN_is_zero(r) &&
                  BN_mod_inverse(kinv, k, order, bn) != NULL;
        BN_clear_free(k);
        /* ECDSA_do_sign_ex takes a precomputed k^-1 and r (SEC 1 §4.1.3 steps 1-3). */
        if (ok)
            sig = ECDSA_do_sign_ex(hash, (int)hash_len, kinv, r, ec);
    }
    if (sig == NULL)
        goto done;
    int n = i2d_ECDSA_SIG(sig, NULL);
    if (n <= 0) {
        goto done;
    } else if ((size_t)n > cap) {
        rc = CRYPTO_ERR_BUFFER_TOO_SMALL;
    } else {
        unsigned char *p = out;
        rc = i2d_ECDSA_SIG(sig, &p) == n ? n : CRYPTO_ERR_INTERNAL;
    }
done:
    ECDSA_SIG_free(sig);
    BN_CTX_free(bn);
    EC_POINT_free(kg);
    BN_free(rx);
    BN_free(r);
    BN_clear_free(kinv);
    ERR_clear_error();
    return rc;
}

static int os_privkey_sign(const quince_env *env, crypto_privkey *key, uint16_t scheme,
                           const uint8_t *msg, size_t len, uint8_t *sig, size_t cap)
{
    const EVP_MD *md;
    int curve;
    sig_kind kind = sig_scheme(scheme, &md, &curve);
    if (!os_privkey_supports(key, scheme))
        return CRYPTO_ERR_UNSUPPORTED;
    uint8_t hash[64];
    size_t hash_len = digest(md, msg, len, hash);
    if (hash_len == 0)
        return CRYPTO_ERR_INTERNAL;
    if (kind == SIG_ECDSA)
        return ecdsa_sign(env, key->k.ec, hash, hash_len, sig, cap);
    size_t sig_len = (size_t)EVP_PKEY_get_size(key->k.pkey);
    if (sig_len > cap)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    /* RFC 8446 §4.2.3: MGF1 with the same hash, salt as long as the hash. */
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key->k.pkey, NULL);
    int rc = CRYPTO_ERR_INTERNAL;
    if (pc != NULL && EVP_PKEY_sign_init(pc) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
        EVP_PKEY_CTX_set_signature_md(pc, md) == 1 && EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) == 1 &&
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1 &&
        EVP_PKEY_sign(pc, sig, &sig_len, hash, hash_len) == 1)
        rc = (int)sig_len;
    EVP_PKEY_CTX_free(pc);
    ERR_clear_error();
    return rc;
}

static int ecdsa_verify(EC_KEY *ec, const uint8_t *hash, size_t hash_len, const uint8_t *sig,
                        size_t sig_len)
{
    const uint8_t *rp, *sp;
    size_t rl, sl;
    if (!crypto_ecdsa_sig_parse(sig, sig_len, &rp, &rl, &sp, &sl))
        return -1;
    ECDSA_SIG *s = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(rp, (int)rl, NULL), *ss = BN_bin2bn(sp, (int)sl, NULL);
    int rc = -1;
    if (s != NULL && r != NULL && ss != NULL && ECDSA_SIG_set0(s, r, ss) == 1) {
        r = ss = NULL; /* s owns them now */
        rc = ECDSA_do_verify(hash, (int)hash_len, s, ec) == 1 ? 0 : -1;
    }
    BN_free(r);
    BN_free(ss);
    ECDSA_SIG_free(s);
    return rc;
}

static int os_pubkey_verify(crypto_pubkey *key, uint16_t scheme, const uint8_t *msg, size_t len,
                            const uint8_t *sig, size_t sig_len)
{
    const EVP_MD *md;
    int curve;
    sig_kind kind = sig_scheme(scheme, &md, &curve);
    if (key == NULL || !key_fits(&key->k, kind, curve))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    uint8_t hash[64];
    size_t hash_len = digest(md, msg, len, hash);
    if (hash_len == 0)
        return CRYPTO_ERR_INTERNAL;
    int rc = -1;
    if (kind == SIG_ECDSA) {
        rc = ecdsa_verify(key->k.ec, hash, hash_len, sig, sig_len);
    } else {
        if (sig == NULL || sig_len != (size_t)EVP_PKEY_get_size(key->k.pkey))
            return CRYPTO_ERR_DECRYPT_ERROR;
        EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(key->k.pkey, NULL);
        if (pc != NULL && EVP_PKEY_verify_init(pc) == 1 &&
            EVP_PKEY_CTX_set_signature_md(pc, md) == 1 &&
            (kind == SIG_RSA_PKCS1
                 ? EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1
                 : EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) == 1 &&
                       EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) == 1 &&
                       EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) == 1) &&
            EVP_PKEY_verify(pc, sig, sig_len, hash, hash_len) == 1)
            rc = 0;
        EVP_PKEY_CTX_free(pc);
    }
    ERR_clear_error();
    return rc == 0 ? 0 : CRYPTO_ERR_DECRYPT_ERROR;
}

/* ---- X.509 (RFC 5280) ---- */

#define X509_MAX_CHAIN 10

struct crypto_x509_store {
    const crypto_backend *be; /* first: crypto_backend_of */
    const quince_env *env;
    X509_STORE *st;
};

static crypto_x509_store *os_x509_store_new(const quince_env *env)
{
    crypto_x509_store *store = quince_env_calloc(env, sizeof(*store));
    if (store == NULL)
        return NULL;
    store->be = BE;
    store->env = env;
    store->st = X509_STORE_new();
    if (store->st == NULL) {
        quince_env_free(env, store);
        return NULL;
    }
    return store;
}

static void os_x509_store_free(const quince_env *env, crypto_x509_store *store)
{
    if (store == NULL)
        return;
    X509_STORE_free(store->st);
    quince_env_free(env, store);
}

/* One DER certificate, all of it. */
static X509 *x509_from_der(const uint8_t *der, size_t len)
{
    if (der == NULL || len == 0 || len > INT_MAX)
        return NULL;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p != der + len) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

static int os_x509_store_add(crypto_x509_store *store, const uint8_t *data, size_t len)
{
    uint8_t **ders = NULL;
    size_t *lens = NULL;
    int n = os_x509_parse_chain(store->env, data, len, &ders, &lens);
    if (n < 0)
        return n;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        X509 *x = x509_from_der(ders[i], lens[i]);
        if (x == NULL || X509_STORE_add_cert(store->st, x) != 1)
            rc = x == NULL ? CRYPTO_ERR_PARSE : CRYPTO_ERR_NOMEM;
        X509_free(x);
    }
    crypto_x509_der_free(store->env, ders, lens, (size_t)n);
    ERR_clear_error();
    return rc;
}

/* OpenSSL's verdict as a TLS alert (RFC 8446 §6.2), as the mbedTLS backend maps its own. */
static int verify_error(int err)
{
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
        return CRYPTO_ERR_UNKNOWN_CA;
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return CRYPTO_ERR_CERT_EXPIRED;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
    case X509_V_ERR_CA_MD_TOO_WEAK:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_UNSUPPORTED_SIGNATURE_ALGORITHM:
        return CRYPTO_ERR_UNSUPPORTED_CERTIFICATE;
    default:
        return CRYPTO_ERR_BAD_CERTIFICATE;
    }
}

/* Every certificate of the path built, trust anchor included, valid at now. */
static int chain_times(STACK_OF(X509) * chain, int64_t now)
{
    for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
        unsigned char *der = NULL;
        int n = i2d_X509(sk_X509_value(chain, i), &der);
        crypto_x509_info info;
        int rc = n <= 0                                               ? CRYPTO_ERR_NOMEM
                 : crypto_x509_info_parse(der, (size_t)n, &info) != 0 ? CRYPTO_ERR_BAD_CERTIFICATE
                 : crypto_x509_check_time(&info, now) != 0            ? CRYPTO_ERR_CERT_EXPIRED
                                                                      : 0;
        OPENSSL_free(der);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* RFC 5280 §6, RFC 8446 §4.4.2.4 */
static int os_x509_verify(const quince_env *env, const crypto_x509_store *store,
                          const uint8_t *const *certs, const size_t *cert_lens, size_t n_certs,
                          const char *host, int64_t now_unix, crypto_pubkey **leaf_key)
{
    if (leaf_key != NULL)
        *leaf_key = NULL;
    if (store == NULL || certs == NULL || cert_lens == NULL)
        return CRYPTO_ERR_ARGUMENT;
    if (n_certs == 0 || n_certs > X509_MAX_CHAIN)
        return CRYPTO_ERR_BAD_CERTIFICATE;
    crypto_x509_info leaf_info;
    if (crypto_x509_info_parse(certs[0], cert_lens[0], &leaf_info) != 0)
        return CRYPTO_ERR_BAD_CERTIFICATE;
    X509 *leaf = x509_from_der(certs[0], cert_lens[0]);
    STACK_OF(X509) *rest = sk_X509_new_null();
    X509_STORE_CTX *vc = X509_STORE_CTX_new();
    int rc = leaf != NULL ? 0 : CRYPTO_ERR_BAD_CERTIFICATE;
    if (rest == NULL || vc == NULL)
        rc = CRYPTO_ERR_NOMEM;
    for (size_t i = 1; i < n_certs && rc == 0; i++) {
        X509 *x = x509_from_der(certs[i], cert_lens[i]);
        if (x == NULL)
            rc = CRYPTO_ERR_BAD_CERTIFICATE;
        else if (!sk_X509_push(rest, x)) {
            X509_free(x);
            rc = CRYPTO_ERR_NOMEM;
        }
    }
    if (rc == 0 && X509_STORE_CTX_init(vc, store->st, leaf, rest) != 1)
        rc = CRYPTO_ERR_NOMEM;
    if (rc == 0) {
        X509_VERIFY_PARAM *vp = X509_STORE_CTX_get0_param(vc);
        /* As mbedTLS: any certificate of the store is a trust anchor, and its default
         * profile's strength (RSA >= 2048, no SHA-1): level 2. Times are checked below
         * against the caller's clock, RFC 5280 §4.1.2.5's inclusive bounds (OpenSSL
         * holds a certificate expired at its notAfter second). */
        X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_PARTIAL_CHAIN | X509_V_FLAG_NO_CHECK_TIME);
        X509_VERIFY_PARAM_set_auth_level(vp, 2);
        if (X509_verify_cert(vc) != 1)
            rc = verify_error(X509_STORE_CTX_get_error(vc));
        else if (now_unix != 0)
            rc = chain_times(X509_STORE_CTX_get0_chain(vc), now_unix);
    }
    X509_STORE_CTX_free(vc);
    sk_X509_pop_free(rest, X509_free);
    X509_free(leaf);
    ERR_clear_error();
    if (rc == 0 && host != NULL)
        rc = crypto_x509_check_host(&leaf_info, host) == 0 ? 0 : CRYPTO_ERR_BAD_CERTIFICATE;
    if (rc == 0 && leaf_key != NULL) {
        rc = os_x509_pubkey(env, certs[0], cert_lens[0], leaf_key);
        if (rc != 0 && rc != CRYPTO_ERR_NOMEM)
            rc = CRYPTO_ERR_UNSUPPORTED_CERTIFICATE;
    }
    return rc;
}

static int os_x509_pubkey(const quince_env *env, const uint8_t *der, size_t len,
                          crypto_pubkey **key)
{
    crypto_x509_info info;
    *key = NULL;
    if (crypto_x509_info_parse(der, len, &info) != 0)
        return CRYPTO_ERR_BAD_CERTIFICATE;
    const unsigned char *p = info.spki.p;
    size_t spki_len = quince_reader_left(&info.spki);
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)spki_len);
    ERR_clear_error();
    if (pkey == NULL || p != info.spki.p + spki_len) {
        EVP_PKEY_free(pkey);
        return CRYPTO_ERR_UNSUPPORTED_CERTIFICATE;
    }
    crypto_pubkey *k = quince_env_calloc(env, sizeof(*k));
    if (k == NULL) {
        EVP_PKEY_free(pkey);
        return CRYPTO_ERR_NOMEM;
    }
    k->be = BE;
    if (!key_adopt(&k->k, pkey)) {
        os_pubkey_free(env, k);
        return CRYPTO_ERR_UNSUPPORTED_CERTIFICATE;
    }
    *key = k;
    return 0;
}

/* The DER of one PEM block's base64 body (RFC 7468 §2), whitespace allowed. */
static uint8_t *pem_body(const quince_env *env, const uint8_t *p, const uint8_t *end,
                         size_t *out_len)
{
    size_t cap = (size_t)(end - p) / 4 * 3 + 3;
    uint8_t *out = quince_env_alloc(env, cap);
    EVP_ENCODE_CTX *ec = EVP_ENCODE_CTX_new();
    int n = 0, fin = 0;
    if (out == NULL || ec == NULL || end - p > INT_MAX) {
        quince_env_free(env, out);
        EVP_ENCODE_CTX_free(ec);
        return NULL;
    }
    EVP_DecodeInit(ec);
    if (EVP_DecodeUpdate(ec, out, &n, p, (int)(end - p)) < 0 ||
        EVP_DecodeFinal(ec, out + n, &fin) != 1 || n + fin <= 0) {
        EVP_ENCODE_CTX_free(ec);
        quince_env_free(env, out);
        return NULL;
    }
    EVP_ENCODE_CTX_free(ec);
    *out_len = (size_t)(n + fin);
    return out;
}

static const uint8_t *find(const uint8_t *p, const uint8_t *end, const char *s)
{
    size_t n = strlen(s);
    for (; p != NULL && (size_t)(end - p) >= n; p++) {
        if (memcmp(p, s, n) == 0)
            return p;
    }
    return NULL;
}

/* PEM (the CERTIFICATE blocks, other blocks skipped, as mbedTLS does) or one DER
 * certificate; every certificate must parse. */
static int os_x509_parse_chain(const quince_env *env, const uint8_t *data, size_t len,
                               uint8_t ***ders, size_t **lens)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----";
    static const char endm[] = "-----END CERTIFICATE-----";
    *ders = NULL;
    *lens = NULL;
    if (data == NULL || len == 0)
        return CRYPTO_ERR_PARSE;
    size_t cap = 4, n = 0;
    uint8_t **d = quince_env_calloc(env, cap * sizeof(*d));
    size_t *l = quince_env_calloc(env, cap * sizeof(*l));
    int rc = d != NULL && l != NULL ? 0 : CRYPTO_ERR_NOMEM;
    if (rc == 0 && !looks_like_pem(data, len)) {
        X509 *x = x509_from_der(data, len);
        if (x == NULL || (d[0] = quince_env_alloc(env, len)) == NULL) {
            rc = x == NULL ? CRYPTO_ERR_PARSE : CRYPTO_ERR_NOMEM;
        } else {
            memcpy(d[0], data, len);
            l[0] = len;
            n = 1;
        }
        X509_free(x);
    }
    const uint8_t *p = data, *end = data + len;
    while (rc == 0 && looks_like_pem(data, len)) {
        const uint8_t *b = find(p, end, begin);
        if (b == NULL)
            break;
        const uint8_t *body = b + sizeof(begin) - 1, *stop = find(body, end, endm);
        if (stop == NULL) {
            rc = CRYPTO_ERR_PARSE;
            break;
        }
        if (n == cap) {
            uint8_t **nd = quince_env_calloc(env, 2 * cap * sizeof(*nd));
            size_t *nl = quince_env_calloc(env, 2 * cap * sizeof(*nl));
            if (nd == NULL || nl == NULL) {
                quince_env_free(env, nd);
                quince_env_free(env, nl);
                rc = CRYPTO_ERR_NOMEM;
                break;
            }
            memcpy(nd, d, n * sizeof(*d));
            memcpy(nl, l, n * sizeof(*l));
            quince_env_free(env, d);
            quince_env_free(env, l);
            d = nd;
            l = nl;
            cap *= 2;
        }
        d[n] = pem_body(env, body, stop, &l[n]);
        X509 *x = d[n] != NULL ? x509_from_der(d[n], l[n]) : NULL;
        n += d[n] != NULL;
        if (x == NULL) {
            rc = CRYPTO_ERR_PARSE;
            break;
        }
        X509_free(x);
        p = stop + sizeof(endm) - 1;
    }
    ERR_clear_error();
    if (rc == 0 && n == 0)
        rc = CRYPTO_ERR_PARSE;
    if (rc != 0) {
        crypto_x509_der_free(env, d, l, n);
        return rc;
    }
    *ders = d;
    *lens = l;
    return (int)n;
}

/* ---- Certificate generation (RFC 5280 §4.1, §4.2) ---- */

/* An ECDSA P-256 key from env->random (the scalar drawn as for a key share). */
static EVP_PKEY *gen_ec_key(const quince_env *env)
{
    const shared_group *g = group_get(NID_X9_62_prime256v1);
    if (g == NULL)
        return NULL;
    EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
    BIGNUM *d = random_scalar(env, g->order);
    EC_POINT *q = ec != NULL ? EC_POINT_new(EC_KEY_get0_group(ec)) : NULL;
    EVP_PKEY *pkey = EVP_PKEY_new();
    bool ok = ec != NULL && d != NULL && q != NULL && pkey != NULL &&
              EC_POINT_mul(EC_KEY_get0_group(ec), q, d, NULL, NULL, NULL) == 1 &&
              EC_KEY_set_private_key(ec, d) == 1 && EC_KEY_set_public_key(ec, q) == 1 &&
              EVP_PKEY_set1_EC_KEY(pkey, ec) == 1;
    EC_POINT_free(q);
    BN_clear_free(d);
    EC_KEY_free(ec);
    if (!ok) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    return pkey;
}

static bool add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
    X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, v3, nid, value);
    bool ok = e != NULL && X509_add_ext(x, e, -1) == 1;
    X509_EXTENSION_free(e);
    return ok;
}

/* Names, serial, validity, key and extensions; not yet signed. */
static int fill_crt(const quince_env *env, const crypto_cert_params *p, X509 *x, EVP_PKEY *pkey,
                    X509 *issuer)
{
    if (p->common_name == NULL || p->common_name[0] == '\0' ||
        p->not_after_unix < p->not_before_unix)
        return CRYPTO_ERR_ARGUMENT;
    for (const char *c = p->common_name; *c; c++) {
        if ((unsigned char)*c < 0x20)
            return CRYPTO_ERR_ARGUMENT;
    }
    int y0, y1, mo, d, h, mi, s;
    crypto_civil_from_unix(p->not_before_unix, &y0, &mo, &d, &h, &mi, &s);
    crypto_civil_from_unix(p->not_after_unix, &y1, &mo, &d, &h, &mi, &s);
    if (y0 < 1950 || y1 > 9999)
        return CRYPTO_ERR_ARGUMENT;
    uint8_t san[2 + 4 + 253 + 2 + 16];
    size_t san_len = 0;
    if (p->dns_name != NULL || p->ip_address != NULL) {
        int rc = crypto_x509_san_build(p->dns_name, p->ip_address, san, sizeof(san), &san_len);
        if (rc != 0)
            return rc;
    }
    /* A positive serial of 16 random bytes (RFC 5280 §4.1.2.2: at most 20). */
    uint8_t sn[16];
    quince_env_random(env, sn, sizeof(sn));
    sn[0] = (uint8_t)((sn[0] & 0x7f) | 0x40);
    BIGNUM *serial = BN_bin2bn(sn, sizeof(sn), NULL);
    ASN1_INTEGER *asn_serial = serial != NULL ? BN_to_ASN1_INTEGER(serial, NULL) : NULL;
    X509_NAME *name = X509_NAME_new();
    bool ok = asn_serial != NULL && name != NULL && X509_set_version(x, X509_VERSION_3) == 1 &&
              X509_set_serialNumber(x, asn_serial) == 1 &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                         (const unsigned char *)p->common_name, -1, -1, 0) == 1 &&
              X509_set_subject_name(x, name) == 1 &&
              X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer) : name) == 1 &&
              ASN1_TIME_set(X509_getm_notBefore(x), (time_t)p->not_before_unix) != NULL &&
              ASN1_TIME_set(X509_getm_notAfter(x), (time_t)p->not_after_unix) != NULL &&
              X509_set_pubkey(x, pkey) == 1;
    BN_free(serial);
    ASN1_INTEGER_free(asn_serial);
    X509_NAME_free(name);
    if (!ok)
        return CRYPTO_ERR_INTERNAL;
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
    ok = add_ext(x, &v3, NID_basic_constraints, p->is_ca ? "critical,CA:TRUE" : "CA:FALSE") &&
         add_ext(x, &v3, NID_subject_key_identifier, "hash") &&
         (issuer == NULL || add_ext(x, &v3, NID_authority_key_identifier, "keyid:always")) &&
         add_ext(x, &v3, NID_key_usage, p->is_ca ? "keyCertSign,cRLSign" : "digitalSignature") &&
         (p->is_ca || add_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth"));
    if (ok && san_len > 0) {
        ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
        X509_EXTENSION *e = NULL;
        ok = os != NULL && ASN1_OCTET_STRING_set(os, san, (int)san_len) == 1 &&
             (e = X509_EXTENSION_create_by_NID(NULL, NID_subject_alt_name, 0, os)) != NULL &&
             X509_add_ext(x, e, -1) == 1;
        X509_EXTENSION_free(e);
        ASN1_OCTET_STRING_free(os);
    }
    return ok ? 0 : CRYPTO_ERR_INTERNAL;
}

/* Certificate ::= SEQUENCE { tbs, AlgorithmIdentifier, BIT STRING } (RFC 5280 §4.1),
 * with an ECDSA signature drawn from env (RFC 5758 §3.2: no parameters). */
static int sign_ecdsa_cert(const quince_env *env, EC_KEY *ec, X509 *x, uint8_t **der,
                           size_t *der_len)
{
    static const uint8_t algid[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                    0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
    unsigned char *tbs = NULL;
    int tbs_len = i2d_re_X509_tbs(x, &tbs);
    if (tbs_len <= 0)
        return CRYPTO_ERR_INTERNAL;
    uint8_t hash[32], sig[80];
    SHA256(tbs, (size_t)tbs_len, hash);
    int sig_len = ecdsa_sign(env, ec, hash, sizeof(hash), sig, sizeof(sig));
    int rc = CRYPTO_ERR_INTERNAL;
    if (sig_len > 0) {
        size_t bits_len = 1 + (size_t)sig_len;
        size_t content = (size_t)tbs_len + sizeof(algid) + 2 + bits_len;
        size_t cap = content + 4;
        uint8_t *out = quince_env_alloc(env, cap);
        if (out == NULL) {
            rc = CRYPTO_ERR_NOMEM;
        } else {
            quince_writer w = quince_writer_init(out, cap);
            quince_put_u8(&w, CRYPTO_DER_SEQUENCE);
            crypto_der_put_len(&w, content);
            quince_put_bytes(&w, tbs, (size_t)tbs_len);
            quince_put_bytes(&w, algid, sizeof(algid));
            quince_put_u8(&w, CRYPTO_DER_BIT_STRING);
            crypto_der_put_len(&w, bits_len);
            quince_put_u8(&w, 0); /* no unused bits */
            quince_put_bytes(&w, sig, (size_t)sig_len);
            if (w.overflow) {
                quince_env_free(env, out);
            } else {
                *der = out;
                *der_len = (size_t)(w.p - out);
                rc = 0;
            }
        }
    }
    OPENSSL_free(tbs);
    return rc;
}

/* Copy what i2d wrote (n bytes at p, or n <= 0: it failed) into an env allocation. */
static int i2d_copy(const quince_env *env, unsigned char *p, int n, uint8_t **out, size_t *len)
{
    if (n <= 0)
        return CRYPTO_ERR_INTERNAL;
    *out = quince_env_alloc(env, (size_t)n);
    if (*out == NULL) {
        OPENSSL_clear_free(p, (size_t)n);
        return CRYPTO_ERR_NOMEM;
    }
    memcpy(*out, p, (size_t)n);
    *len = (size_t)n;
    OPENSSL_clear_free(p, (size_t)n);
    return 0;
}

static int os_cert_generate(const quince_env *env, const crypto_cert_params *params, uint8_t **der,
                            size_t *der_len, uint8_t **key_der, size_t *key_der_len,
                            crypto_privkey **key)
{
    if (params == NULL || der == NULL || der_len == NULL || key_der == NULL || key_der_len == NULL)
        return CRYPTO_ERR_ARGUMENT;
    *der = NULL;
    *key_der = NULL;
    if (key != NULL)
        *key = NULL;
    bool self_signed = params->issuer_key == NULL;
    if (self_signed != (params->issuer_der == NULL))
        return CRYPTO_ERR_ARGUMENT;
    if (params->rsa_bits != 0 && (params->rsa_bits < 2048 || params->rsa_bits > 4096))
        return CRYPTO_ERR_ARGUMENT;
    X509 *issuer = NULL;
    if (!self_signed &&
        (issuer = x509_from_der(params->issuer_der, params->issuer_der_len)) == NULL) {
        ERR_clear_error();
        return CRYPTO_ERR_PARSE;
    }
    EVP_PKEY *pkey = params->rsa_bits != 0 ? EVP_RSA_gen(params->rsa_bits) : gen_ec_key(env);
    X509 *x = X509_new();
    int rc = pkey != NULL && x != NULL ? 0 : CRYPTO_ERR_INTERNAL;
    if (rc == 0)
        rc = fill_crt(env, params, x, pkey, issuer);
    if (rc == 0) {
        const os_key *signer = self_signed ? NULL : &params->issuer_key->k;
        EVP_PKEY *sk = signer != NULL ? signer->pkey : pkey;
        /* X509_sign fills both AlgorithmIdentifiers; an ECDSA signature is then made
         * again from env, so that a seeded run gives the same certificate. */
        if (X509_sign(x, sk, EVP_sha256()) <= 0) {
            rc = CRYPTO_ERR_INTERNAL;
        } else if (EVP_PKEY_get_base_id(sk) == EVP_PKEY_EC) {
            EC_KEY *ec = EVP_PKEY_get1_EC_KEY(sk);
            rc = ec != NULL ? sign_ecdsa_cert(env, ec, x, der, der_len) : CRYPTO_ERR_INTERNAL;
            EC_KEY_free(ec);
        } else {
            unsigned char *p = NULL;
            int n = i2d_X509(x, &p);
            rc = i2d_copy(env, p, n, der, der_len);
        }
    }
    if (rc == 0) {
        /* SEC1 ECPrivateKey for EC keys, PKCS#1 RSAPrivateKey for RSA. */
        unsigned char *p = NULL;
        int n = i2d_PrivateKey(pkey, &p);
        rc = i2d_copy(env, p, n, key_der, key_der_len);
    }
    X509_free(x);
    X509_free(issuer);
    ERR_clear_error();
    if (rc == 0 && key != NULL) {
        *key = privkey_wrap(env, pkey);
        pkey = NULL;
        if (*key == NULL)
            rc = CRYPTO_ERR_NOMEM;
    }
    EVP_PKEY_free(pkey);
    if (rc != 0) {
        quince_env_free(env, *der);
        quince_env_free(env, *key_der);
        *der = NULL;
        *key_der = NULL;
    }
    return rc;
}

const crypto_backend crypto_backend_openssl_table = {
    .name = "openssl",
    .shared_new = os_shared_new,
    .shared_free = os_shared_free,
    .shared_groups_loaded = os_shared_groups_loaded,
    .hash = os_hash,
    .hash_new = os_hash_new,
    .hash_update = os_hash_update,
    .hash_peek = os_hash_peek,
    .hash_free = os_hash_free,
    .hmac = os_hmac,
    .hkdf_extract = os_hkdf_extract,
    .hkdf_expand = os_hkdf_expand,
    .aead_new = os_aead_new,
    .aead_free = os_aead_free,
    .aead_seal = os_aead_seal,
    .aead_open = os_aead_open,
    .hp_new = os_hp_new,
    .hp_free = os_hp_free,
    .hp_mask = os_hp_mask,
    .kex_new = os_kex_new,
    .kex_free = os_kex_free,
    .kex_public = os_kex_public,
    .kex_derive = os_kex_derive,
    .privkey_parse = os_privkey_parse,
    .privkey_free = os_privkey_free,
    .privkey_supports = os_privkey_supports,
    .privkey_sign = os_privkey_sign,
    .pubkey_free = os_pubkey_free,
    .pubkey_verify = os_pubkey_verify,
    .x509_store_new = os_x509_store_new,
    .x509_store_add = os_x509_store_add,
    .x509_store_free = os_x509_store_free,
    .x509_verify = os_x509_verify,
    .x509_pubkey = os_x509_pubkey,
    .x509_parse_chain = os_x509_parse_chain,
    .cert_generate = os_cert_generate,
};
