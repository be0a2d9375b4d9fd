/* crypto/backend.h over mbedTLS 2.28: every mbedTLS call of the project lives here. */
#include "crypto/backend.h"

#include <stdint.h>
#include <string.h>

#include <mbedtls/aes.h>
#include <mbedtls/asn1.h>
#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/gcm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_crt.h>

/* ChaCha20-Poly1305 is optional: a device's mbedTLS configuration may leave it out
 * (RFC 8446 §9.1 requires only TLS_AES_128_GCM_SHA256). The table then says so
 * (no_chacha20_poly1305) and the TLS engine neither offers nor accepts the suite. */
#if defined(MBEDTLS_CHACHAPOLY_C) && defined(MBEDTLS_CHACHA20_C)
#define MB_CHACHA 1
#include <mbedtls/chacha20.h>
#include <mbedtls/chachapoly.h>
#else
#define MB_CHACHA 0
#endif
/* SHA-384 (with SHA-512, one mbedTLS module) is optional too: without it the table says
 * no_sha512, and the TLS engine offers neither TLS_AES_256_GCM_SHA384 nor the signature
 * schemes that hash with SHA-384 or SHA-512. */
#if defined(MBEDTLS_SHA512_C)
#define MB_SHA512 1
#include <mbedtls/sha512.h>
#else
#define MB_SHA512 0
#endif

#include "crypto/x509_check.h"

/* Defined below; called before their definitions. */
static void mb_hash_free(const quince_env *env, crypto_hash_ctx *ctx);
static void mb_aead_free(const quince_env *env, crypto_aead *ctx);
static void mb_hp_free(const quince_env *env, crypto_hp *ctx);
static void mb_kex_free(const quince_env *env, crypto_kex *ctx);
static void mb_privkey_free(const quince_env *env, crypto_privkey *key);
static void mb_pubkey_free(const quince_env *env, crypto_pubkey *key);
static int mb_x509_pubkey(const quince_env *env, const uint8_t *der, size_t len,
                          crypto_pubkey **key);

/* mbedTLS draws randomness through this adapter only: p_rng is the quince_env. */
static int env_rng(void *p_rng, unsigned char *out, size_t len)
{
    const quince_env *env = p_rng;
    quince_env_random(env, out, len);
    return 0;
}

static void *rng_arg(const quince_env *env)
{
    return (void *)(uintptr_t)env; /* mbedTLS wants void *; the env is never written */
}

/* ---- Hashes, HMAC, HKDF ---- */

static const mbedtls_md_info_t *md_info(crypto_hash_alg alg)
{
    switch (alg) {
    case CRYPTO_HASH_SHA256:
        return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    case CRYPTO_HASH_SHA384:
        return mbedtls_md_info_from_type(MBEDTLS_MD_SHA384);
    }
    return NULL;
}

static int mb_hash(crypto_hash_alg alg, const uint8_t *in, size_t len, uint8_t *out)
{
    const mbedtls_md_info_t *info = md_info(alg);
    if (info == NULL)
        return CRYPTO_ERR_ARGUMENT;
    return mbedtls_md(info, in, len, out) == 0 ? 0 : CRYPTO_ERR_INTERNAL;
}

struct crypto_hash_ctx {
    const crypto_backend *be; /* first: crypto_backend_of */
    crypto_hash_alg alg;
    union {
        mbedtls_sha256_context sha256;
#if MB_SHA512
        mbedtls_sha512_context sha512;
#endif
    } u;
};

static crypto_hash_ctx *mb_hash_new(const quince_env *env, crypto_hash_alg alg)
{
    if (crypto_hash_len(alg) == 0 || (!MB_SHA512 && alg != CRYPTO_HASH_SHA256))
        return NULL;
    crypto_hash_ctx *ctx = quince_env_calloc(env, sizeof(*ctx));
    if (ctx != NULL)
        ctx->be = &crypto_backend_mbedtls_table;
    if (ctx == NULL)
        return NULL;
    ctx->alg = alg;
    int rc = -1; /* stays so for an algorithm not built */
    if (alg == CRYPTO_HASH_SHA256) {
        mbedtls_sha256_init(&ctx->u.sha256);
        rc = mbedtls_sha256_starts_ret(&ctx->u.sha256, 0);
    } else {
#if MB_SHA512
        mbedtls_sha512_init(&ctx->u.sha512);
        rc = mbedtls_sha512_starts_ret(&ctx->u.sha512, 1);
#endif
    }
    if (rc != 0) {
        mb_hash_free(env, ctx);
        return NULL;
    }
    return ctx;
}

static int mb_hash_update(crypto_hash_ctx *ctx, const uint8_t *in, size_t len)
{
    int rc = -1;
    if (ctx->alg == CRYPTO_HASH_SHA256)
        rc = mbedtls_sha256_update_ret(&ctx->u.sha256, in, len);
#if MB_SHA512
    else
        rc = mbedtls_sha512_update_ret(&ctx->u.sha512, in, len);
#endif
    return rc == 0 ? 0 : CRYPTO_ERR_INTERNAL;
}

static int mb_hash_peek(const crypto_hash_ctx *ctx, uint8_t *out)
{
    int rc = -1;
    /* Finish a copy so that the running context stays open. */
    if (ctx->alg == CRYPTO_HASH_SHA256) {
        mbedtls_sha256_context c;
        mbedtls_sha256_init(&c);
        mbedtls_sha256_clone(&c, &ctx->u.sha256);
        rc = mbedtls_sha256_finish_ret(&c, out);
        mbedtls_sha256_free(&c);
    }
#if MB_SHA512
    else {
        mbedtls_sha512_context c;
        uint8_t full[64];
        mbedtls_sha512_init(&c);
        mbedtls_sha512_clone(&c, &ctx->u.sha512);
        rc = mbedtls_sha512_finish_ret(&c, full);
        mbedtls_sha512_free(&c);
        memcpy(out, full, 48);
    }
#endif
    return rc == 0 ? 0 : CRYPTO_ERR_INTERNAL;
}

static void mb_hash_free(const quince_env *env, crypto_hash_ctx *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->alg == CRYPTO_HASH_SHA256)
        mbedtls_sha256_free(&ctx->u.sha256);
#if MB_SHA512
    else
        mbedtls_sha512_free(&ctx->u.sha512);
#endif
    quince_env_free(env, ctx);
}

static int mb_hmac(crypto_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *in,
                   size_t len, uint8_t *out)
{
    const mbedtls_md_info_t *info = md_info(alg);
    if (info == NULL)
        return CRYPTO_ERR_ARGUMENT;
    return mbedtls_md_hmac(info, key, key_len, in, len, out) == 0 ? 0 : CRYPTO_ERR_INTERNAL;
}

/* RFC 5869 §2.2 */
static int mb_hkdf_extract(crypto_hash_alg alg, const uint8_t *salt, size_t salt_len,
                           const uint8_t *ikm, size_t ikm_len, uint8_t *prk_out)
{
    const mbedtls_md_info_t *info = md_info(alg);
    if (info == NULL)
        return CRYPTO_ERR_ARGUMENT;
    return mbedtls_hkdf_extract(info, salt, salt_len, ikm, ikm_len, prk_out) == 0
               ? 0
               : CRYPTO_ERR_INTERNAL;
}

/* RFC 5869 §2.3 */
static int mb_hkdf_expand(crypto_hash_alg alg, const uint8_t *prk, size_t prk_len,
                          const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
    const mbedtls_md_info_t *md = md_info(alg);
    if (md == NULL || prk_len < crypto_hash_len(alg) || out_len > 255 * crypto_hash_len(alg))
        return CRYPTO_ERR_ARGUMENT;
    return mbedtls_hkdf_expand(md, prk, prk_len, info, info_len, out, out_len) == 0
               ? 0
               : CRYPTO_ERR_INTERNAL;
}

/* ---- AEAD (RFC 9001 §5.3) ---- */

struct crypto_aead {
    const crypto_backend *be; /* first: crypto_backend_of */
    crypto_aead_alg alg;
    union {
        mbedtls_gcm_context gcm;
#if MB_CHACHA
        mbedtls_chachapoly_context chachapoly;
#endif
    } u;
};

static crypto_aead *mb_aead_new(const quince_env *env, crypto_aead_alg alg, const uint8_t *key)
{
    size_t key_len = crypto_aead_key_len(alg);
    if (key_len == 0 || key == NULL)
        return NULL;
    crypto_aead *ctx = quince_env_calloc(env, sizeof(*ctx));
    if (ctx != NULL)
        ctx->be = &crypto_backend_mbedtls_table;
    if (ctx == NULL)
        return NULL;
    ctx->alg = alg;
    int rc;
#if MB_CHACHA
    if (alg == CRYPTO_AEAD_CHACHA20_POLY1305) {
        mbedtls_chachapoly_init(&ctx->u.chachapoly);
        rc = mbedtls_chachapoly_setkey(&ctx->u.chachapoly, key);
    } else
#endif
    {
        mbedtls_gcm_init(&ctx->u.gcm);
        rc = alg == CRYPTO_AEAD_CHACHA20_POLY1305
                 ? MBEDTLS_ERR_GCM_BAD_INPUT
                 : mbedtls_gcm_setkey(&ctx->u.gcm, MBEDTLS_CIPHER_ID_AES, key,
                                      (unsigned)(key_len * 8));
    }
    if (rc != 0) {
        mb_aead_free(env, ctx);
        return NULL;
    }
    return ctx;
}

static void mb_aead_free(const quince_env *env, crypto_aead *ctx)
{
    if (ctx == NULL)
        return;
#if MB_CHACHA
    if (ctx->alg == CRYPTO_AEAD_CHACHA20_POLY1305)
        mbedtls_chachapoly_free(&ctx->u.chachapoly);
    else
#endif
        mbedtls_gcm_free(&ctx->u.gcm);
    quince_env_free(env, ctx);
}

static int mb_aead_seal(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                        const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                        uint8_t *out)
{
    if (len > (size_t)INT32_MAX - CRYPTO_AEAD_TAG_LEN)
        return CRYPTO_ERR_ARGUMENT;
    int rc;
#if MB_CHACHA
    if (ctx->alg == CRYPTO_AEAD_CHACHA20_POLY1305)
        rc = mbedtls_chachapoly_encrypt_and_tag(&ctx->u.chachapoly, len, nonce, aad, aad_len, in,
                                                out, out + len);
    else
#endif
        rc = mbedtls_gcm_crypt_and_tag(&ctx->u.gcm, MBEDTLS_GCM_ENCRYPT, len, nonce,
                                       CRYPTO_AEAD_NONCE_LEN, aad, aad_len, in, out,
                                       CRYPTO_AEAD_TAG_LEN, out + len);
    return rc == 0 ? (int)(len + CRYPTO_AEAD_TAG_LEN) : CRYPTO_ERR_INTERNAL;
}

static int mb_aead_open(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                        const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                        uint8_t *out)
{
    if (len < CRYPTO_AEAD_TAG_LEN || len > (size_t)INT32_MAX)
        return CRYPTO_ERR_DECRYPT;
    size_t n = len - CRYPTO_AEAD_TAG_LEN;
    int rc;
#if MB_CHACHA
    if (ctx->alg == CRYPTO_AEAD_CHACHA20_POLY1305)
        rc = mbedtls_chachapoly_auth_decrypt(&ctx->u.chachapoly, n, nonce, aad, aad_len, in + n, in,
                                             out);
    else
#endif
        rc = mbedtls_gcm_auth_decrypt(&ctx->u.gcm, n, nonce, CRYPTO_AEAD_NONCE_LEN, aad, aad_len,
                                      in + n, CRYPTO_AEAD_TAG_LEN, in, out);
    return rc == 0 ? (int)n : CRYPTO_ERR_DECRYPT;
}

/* ---- Header protection (RFC 9001 §5.4.3, §5.4.4) ---- */

struct crypto_hp {
    const crypto_backend *be; /* first: crypto_backend_of */
    crypto_aead_alg alg;
    mbedtls_aes_context aes;
#if MB_CHACHA
    uint8_t chacha_key[32];
#endif
};

static crypto_hp *mb_hp_new(const quince_env *env, crypto_aead_alg alg, const uint8_t *key)
{
    size_t key_len = crypto_aead_key_len(alg);
    if (key_len == 0 || key == NULL)
        return NULL;
    crypto_hp *ctx = quince_env_calloc(env, sizeof(*ctx));
    if (ctx != NULL)
        ctx->be = &crypto_backend_mbedtls_table;
    if (ctx == NULL)
        return NULL;
    ctx->alg = alg;
    mbedtls_aes_init(&ctx->aes);
#if MB_CHACHA
    if (alg == CRYPTO_AEAD_CHACHA20_POLY1305) {
        memcpy(ctx->chacha_key, key, 32);
        return ctx;
    }
#endif
    if (alg == CRYPTO_AEAD_CHACHA20_POLY1305 ||
        mbedtls_aes_setkey_enc(&ctx->aes, key, (unsigned)(key_len * 8)) != 0) {
        mb_hp_free(env, ctx);
        return NULL;
    }
    return ctx;
}

static void mb_hp_free(const quince_env *env, crypto_hp *ctx)
{
    if (ctx == NULL)
        return;
    mbedtls_aes_free(&ctx->aes);
#if MB_CHACHA
    mbedtls_platform_zeroize(ctx->chacha_key, sizeof(ctx->chacha_key));
#endif
    quince_env_free(env, ctx);
}

static int mb_hp_mask(crypto_hp *ctx, const uint8_t sample[16], uint8_t mask[5])
{
    uint8_t block[16];
#if MB_CHACHA
    if (ctx->alg == CRYPTO_AEAD_CHACHA20_POLY1305) {
        /* RFC 9001 §5.4.4: counter = sample[0..3] little-endian, nonce = sample[4..15]. */
        static const uint8_t zeros[5] = {0};
        uint32_t counter = (uint32_t)sample[0] | (uint32_t)sample[1] << 8 |
                           (uint32_t)sample[2] << 16 | (uint32_t)sample[3] << 24;
        if (mbedtls_chacha20_crypt(ctx->chacha_key, sample + 4, counter, 5, zeros, mask) != 0)
            return CRYPTO_ERR_INTERNAL;
        return 0;
    }
#endif
    /* RFC 9001 §5.4.3: mask = AES-ECB(hp_key, sample). */
    if (mbedtls_aes_crypt_ecb(&ctx->aes, MBEDTLS_AES_ENCRYPT, sample, block) != 0)
        return CRYPTO_ERR_INTERNAL;
    memcpy(mask, block, 5);
    return 0;
}

/* ---- Elliptic-curve groups, shared through the environment ----
 *
 * mbedTLS keeps the comb table of a group's base point inside the mbedtls_ecp_group and
 * builds it on the first multiplication by G. A group loaded per key share, or per peer
 * certificate key, rebuilds it every time (P-256 key share: ~750 us fresh, ~290 us warm).
 * So an embedder may build one loaded, warmed group per curve with crypto_shared_new and
 * hand it to every connection through quince_env.crypto_shared; key shares and ECDSA
 * verifications then use it. It is complete when crypto_shared_new returns and mbedTLS only
 * reads it afterwards (ecp_mul_comb uses grp->T as is when present), so engines on several
 * threads may share it without a lock. Without it (or for a curve it could not load), each
 * key prepares a private group, as mbedTLS does by default: the backend keeps no
 * process-wide state (no statics, no once-flags, no <threads.h>). */

typedef struct shared_group {
    mbedtls_ecp_group grp;
    bool ok;
} shared_group;

struct crypto_shared {
    const crypto_backend *be; /* first: crypto_backend_of */
    shared_group x25519, p256, p384;
};

/* Blinding randomness for the warm-up multiplication by the public scalar 2. */
static int warm_rng(void *unused, unsigned char *out, size_t len)
{
    (void)unused;
    for (size_t i = 0; i < len; i++)
        out[i] = (unsigned char)(0x5d + 7 * i);
    return 0;
}

static void group_warm(shared_group *g, mbedtls_ecp_group_id id)
{
    mbedtls_ecp_group_init(&g->grp);
    if (mbedtls_ecp_group_load(&g->grp, id) != 0)
        return;
    bool ok = true;
    /* Montgomery curves have no comb table: loading is all there is. */
    if (mbedtls_ecp_get_type(&g->grp) == MBEDTLS_ECP_TYPE_SHORT_WEIERSTRASS) {
        mbedtls_mpi m;
        mbedtls_ecp_point r;
        mbedtls_mpi_init(&m);
        mbedtls_ecp_point_init(&r);
        ok = mbedtls_mpi_lset(&m, 2) == 0 &&
             mbedtls_ecp_mul(&g->grp, &r, &m, &g->grp.G, warm_rng, NULL) == 0 && g->grp.T != NULL;
        mbedtls_mpi_free(&m);
        mbedtls_ecp_point_free(&r);
    }
    g->ok = ok;
}

/* (no RFC section) */
static crypto_shared *mb_shared_new(const quince_env *env)
{
    if (env == NULL)
        return NULL;
    crypto_shared *s = quince_env_calloc(env, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->be = &crypto_backend_mbedtls_table;
    group_warm(&s->x25519, MBEDTLS_ECP_DP_CURVE25519);
    group_warm(&s->p256, MBEDTLS_ECP_DP_SECP256R1);
    group_warm(&s->p384, MBEDTLS_ECP_DP_SECP384R1);
    return s;
}

/* (no RFC section) */
static void mb_shared_free(const quince_env *env, crypto_shared *s)
{
    if (s == NULL)
        return;
    mbedtls_ecp_group_free(&s->x25519.grp);
    mbedtls_ecp_group_free(&s->p256.grp);
    mbedtls_ecp_group_free(&s->p384.grp);
    quince_env_free(env, s);
}

static size_t mb_shared_groups_loaded(const crypto_shared *s)
{
    return s == NULL ? 0 : (size_t)s->x25519.ok + (size_t)s->p256.ok + (size_t)s->p384.ok;
}

/* The shared, warmed group of a curve from an environment's crypto_shared, or NULL (none
 * handed in, another backend's, another curve, or it could not be loaded). Not const
 * because mbedTLS's prototypes are not; nothing writes through it. */
static mbedtls_ecp_group *shared_group_get(const void *shared, mbedtls_ecp_group_id id)
{
    crypto_shared *s = (crypto_shared *)(uintptr_t)shared;
    /* Another backend's (the default changed after it was made): not ours to read. */
    if (s == NULL || s->be != &crypto_backend_mbedtls_table)
        return NULL;
    shared_group *g;
    switch (id) {
    case MBEDTLS_ECP_DP_CURVE25519:
        g = &s->x25519;
        break;
    case MBEDTLS_ECP_DP_SECP256R1:
        g = &s->p256;
        break;
    case MBEDTLS_ECP_DP_SECP384R1:
        g = &s->p384;
        break;
    default:
        return NULL;
    }
    return g->ok ? &g->grp : NULL;
}

/* ---- Key exchange (RFC 8446 §4.2.8.2, §7.4) ---- */

struct crypto_kex {
    const crypto_backend *be; /* first: crypto_backend_of */
    const quince_env *env;
    uint16_t group;
    mbedtls_ecp_group *grp; /* the shared group, or own */
    mbedtls_ecp_group own;  /* loaded only when the shared one is unavailable */
    mbedtls_mpi d;
    mbedtls_ecp_point q;
};

static crypto_kex *mb_kex_new(const quince_env *env, uint16_t group)
{
    mbedtls_ecp_group_id id;
    if (group == CRYPTO_GROUP_X25519)
        id = MBEDTLS_ECP_DP_CURVE25519;
    else if (group == CRYPTO_GROUP_SECP256R1)
        id = MBEDTLS_ECP_DP_SECP256R1;
    else
        return NULL;
    crypto_kex *ctx = quince_env_calloc(env, sizeof(*ctx));
    if (ctx != NULL)
        ctx->be = &crypto_backend_mbedtls_table;
    if (ctx == NULL)
        return NULL;
    ctx->env = env;
    ctx->group = group;
    mbedtls_ecp_group_init(&ctx->own);
    mbedtls_mpi_init(&ctx->d);
    mbedtls_ecp_point_init(&ctx->q);
    ctx->grp = shared_group_get(env->crypto_shared, id);
    if (ctx->grp == NULL) {
        ctx->grp = &ctx->own;
        if (mbedtls_ecp_group_load(&ctx->own, id) != 0) {
            mb_kex_free(env, ctx);
            return NULL;
        }
    }
    if (mbedtls_ecdh_gen_public(ctx->grp, &ctx->d, &ctx->q, env_rng, rng_arg(env)) != 0) {
        mb_kex_free(env, ctx);
        return NULL;
    }
    return ctx;
}

static void mb_kex_free(const quince_env *env, crypto_kex *ctx)
{
    if (ctx == NULL)
        return;
    mbedtls_ecp_group_free(&ctx->own);
    mbedtls_mpi_free(&ctx->d);
    mbedtls_ecp_point_free(&ctx->q);
    quince_env_free(env, ctx);
}

static size_t kex_share_len(uint16_t group)
{
    return group == CRYPTO_GROUP_X25519 ? 32 : 65;
}

static int mb_kex_public(const crypto_kex *ctx, uint8_t *out, size_t cap)
{
    size_t want = kex_share_len(ctx->group), olen = 0;
    if (cap < want)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    /* X25519: 32 bytes little-endian u-coordinate; P-256: 0x04 || X || Y. */
    if (mbedtls_ecp_point_write_binary(ctx->grp, &ctx->q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, out,
                                       cap) != 0 ||
        olen != want)
        return CRYPTO_ERR_INTERNAL;
    return (int)olen;
}

/* RFC 8446 §4.2.8.2 (share formats), §7.4.1 and §7.4.2 (the shared secret). */
static int mb_kex_derive(crypto_kex *ctx, const uint8_t *peer, size_t peer_len, uint8_t *out,
                         size_t cap)
{
    size_t want = kex_share_len(ctx->group);
    if (cap < CRYPTO_KEX_MAX_SECRET)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    /* Only uncompressed P-256 points (legacy_form 4) are allowed in TLS 1.3. */
    if (peer == NULL || peer_len != want ||
        (ctx->group == CRYPTO_GROUP_SECP256R1 && peer[0] != 0x04))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    mbedtls_ecp_point qp;
    mbedtls_mpi z;
    mbedtls_ecp_point_init(&qp);
    mbedtls_mpi_init(&z);
    int rc = CRYPTO_ERR_ILLEGAL_PARAMETER;
    if (mbedtls_ecp_point_read_binary(ctx->grp, &qp, peer, peer_len) != 0 ||
        mbedtls_ecp_check_pubkey(ctx->grp, &qp) != 0 ||
        mbedtls_ecdh_compute_shared(ctx->grp, &z, &qp, &ctx->d, env_rng, rng_arg(ctx->env)) != 0)
        goto done;
    if (ctx->group == CRYPTO_GROUP_X25519) {
        if (mbedtls_mpi_write_binary_le(&z, out, 32) != 0)
            goto done;
        /* §7.4.2: an all-zero X25519 result means a small-order peer point. */
        uint8_t acc = 0;
        for (size_t i = 0; i < 32; i++)
            acc |= out[i];
        if (acc == 0)
            goto done;
    } else if (mbedtls_mpi_write_binary(&z, out, 32) != 0) {
        goto done;
    }
    rc = 32;
done:
    mbedtls_ecp_point_free(&qp);
    mbedtls_mpi_free(&z);
    return rc;
}

/* ---- Signatures (RFC 8446 §4.2.3, §4.4.3) ---- */

struct crypto_privkey {
    const crypto_backend *be; /* first: crypto_backend_of */
    mbedtls_pk_context pk;
};

struct crypto_pubkey {
    const crypto_backend *be; /* first: crypto_backend_of */
    mbedtls_pk_context pk;
    /* The crypto_shared of the environment it was made with (which outlives its keys),
     * not the environment itself: that may be a caller's short-lived copy. */
    const void *shared;
};

static bool looks_like_pem(const uint8_t *data, size_t len)
{
    static const char begin[] = "-----BEGIN ";
    /* Skip leading whitespace a file may carry. */
    while (len > 0 && (*data == ' ' || *data == '\t' || *data == '\r' || *data == '\n')) {
        data++;
        len--;
    }
    return len >= sizeof(begin) - 1 && memcmp(data, begin, sizeof(begin) - 1) == 0;
}

/* mbedTLS parses PEM only from a NUL-terminated buffer whose length counts the NUL. */
static uint8_t *pem_copy(const quince_env *env, const uint8_t *data, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    uint8_t *buf = quince_env_alloc(env, len + 1);
    if (buf != NULL) {
        memcpy(buf, data, len);
        buf[len] = 0;
    }
    return buf;
}

static crypto_privkey *mb_privkey_parse(const quince_env *env, const uint8_t *data, size_t len)
{
    if (data == NULL || len == 0)
        return NULL;
    crypto_privkey *key = quince_env_calloc(env, sizeof(*key));
    if (key != NULL)
        key->be = &crypto_backend_mbedtls_table;
    if (key == NULL)
        return NULL;
    mbedtls_pk_init(&key->pk);
    int rc;
    if (looks_like_pem(data, len)) {
        uint8_t *buf = pem_copy(env, data, len);
        if (buf == NULL) {
            mb_privkey_free(env, key);
            return NULL;
        }
        rc = mbedtls_pk_parse_key(&key->pk, buf, len + 1, NULL, 0);
        mbedtls_platform_zeroize(buf, len);
        quince_env_free(env, buf);
    } else {
        rc = mbedtls_pk_parse_key(&key->pk, data, len, NULL, 0);
    }
    if (rc != 0) {
        mb_privkey_free(env, key);
        return NULL;
    }
    return key;
}

static void mb_privkey_free(const quince_env *env, crypto_privkey *key)
{
    if (key == NULL)
        return;
    mbedtls_pk_free(&key->pk);
    quince_env_free(env, key);
}

static void mb_pubkey_free(const quince_env *env, crypto_pubkey *key)
{
    if (key == NULL)
        return;
    mbedtls_pk_free(&key->pk);
    quince_env_free(env, key);
}

typedef enum sig_kind { SIG_NONE, SIG_ECDSA, SIG_RSA_PSS, SIG_RSA_PKCS1 } sig_kind;

/* The algorithm, hash and (for ECDSA) curve of a SignatureScheme. */
static sig_kind sig_scheme(uint16_t scheme, mbedtls_md_type_t *md, mbedtls_ecp_group_id *curve)
{
    *curve = MBEDTLS_ECP_DP_NONE;
    switch (scheme) {
    case CRYPTO_SIG_ECDSA_SECP256R1_SHA256:
        *md = MBEDTLS_MD_SHA256;
        *curve = MBEDTLS_ECP_DP_SECP256R1;
        return SIG_ECDSA;
    case CRYPTO_SIG_ECDSA_SECP384R1_SHA384:
        *md = MBEDTLS_MD_SHA384;
        *curve = MBEDTLS_ECP_DP_SECP384R1;
        return SIG_ECDSA;
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA256:
        *md = MBEDTLS_MD_SHA256;
        return SIG_RSA_PSS;
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA384:
        *md = MBEDTLS_MD_SHA384;
        return SIG_RSA_PSS;
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA512:
        *md = MBEDTLS_MD_SHA512;
        return SIG_RSA_PSS;
    case CRYPTO_SIG_RSA_PKCS1_SHA256:
        *md = MBEDTLS_MD_SHA256;
        return SIG_RSA_PKCS1;
    case CRYPTO_SIG_RSA_PKCS1_SHA384:
        *md = MBEDTLS_MD_SHA384;
        return SIG_RSA_PKCS1;
    case CRYPTO_SIG_RSA_PKCS1_SHA512:
        *md = MBEDTLS_MD_SHA512;
        return SIG_RSA_PKCS1;
    default:
        *md = MBEDTLS_MD_NONE;
        return SIG_NONE;
    }
}

/* Whether a key of this type can take part in the scheme at all. */
static bool pk_fits(const mbedtls_pk_context *pk, sig_kind kind, mbedtls_ecp_group_id curve)
{
    switch (kind) {
    case SIG_ECDSA:
        return mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA) && mbedtls_pk_ec(*pk)->grp.id == curve;
#if defined(MBEDTLS_RSA_C) /* an mbedTLS built without RSA (cross/mbedtls/) has no such keys */
    case SIG_RSA_PSS:
    case SIG_RSA_PKCS1:
        return mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA;
#endif
    default:
        return false;
    }
}

static bool mb_privkey_supports(const crypto_privkey *key, uint16_t scheme)
{
    mbedtls_md_type_t md;
    mbedtls_ecp_group_id curve;
    sig_kind kind = sig_scheme(scheme, &md, &curve);
    /* TLS 1.3 signs with PSS only; PKCS#1 v1.5 is for verifying certificates. */
    return key != NULL && kind != SIG_RSA_PKCS1 && pk_fits(&key->pk, kind, curve) &&
           mbedtls_md_info_from_type(md) != NULL; /* its hash built (MB_SHA512) */
}

static int mb_privkey_sign(const quince_env *env, crypto_privkey *key, uint16_t scheme,
                           const uint8_t *msg, size_t len, uint8_t *sig, size_t cap)
{
    mbedtls_md_type_t md;
    mbedtls_ecp_group_id curve;
    sig_kind kind = sig_scheme(scheme, &md, &curve);
    if (!mb_privkey_supports(key, scheme))
        return CRYPTO_ERR_UNSUPPORTED;
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    uint8_t hash[64];
    size_t hash_len = mbedtls_md_get_size(info);
    if (mbedtls_md(info, msg, len, hash) != 0)
        return CRYPTO_ERR_INTERNAL;
    if (kind == SIG_ECDSA) {
        uint8_t der[MBEDTLS_ECDSA_MAX_LEN];
        size_t der_len = 0;
        /* DER ECDSA-Sig-Value, as TLS wants it (RFC 8446 §4.2.3). */
        if (mbedtls_ecdsa_write_signature(mbedtls_pk_ec(key->pk), md, hash, hash_len, der, &der_len,
                                          env_rng, rng_arg(env)) != 0)
            return CRYPTO_ERR_INTERNAL;
        if (der_len > cap)
            return CRYPTO_ERR_BUFFER_TOO_SMALL;
        memcpy(sig, der, der_len);
        return (int)der_len;
    }
#if defined(MBEDTLS_RSA_C)
    mbedtls_rsa_context *rsa = mbedtls_pk_rsa(key->pk);
    size_t sig_len = mbedtls_rsa_get_len(rsa);
    if (sig_len > cap)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    /* RFC 8446 §4.2.3: MGF1 with the same hash, salt as long as the hash. */
    mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21, md);
    if (mbedtls_rsa_rsassa_pss_sign_ext(rsa, env_rng, rng_arg(env), md, (unsigned)hash_len, hash,
                                        (int)hash_len, sig) != 0)
        return CRYPTO_ERR_INTERNAL;
    return (int)sig_len;
#else
    return CRYPTO_ERR_UNSUPPORTED; /* not reached: pk_fits has no RSA */
#endif
}

/* ECDSA-Sig-Value (RFC 3279 §2.2.3), parsed as every backend parses it, checked against q
 * over the shared group: the key's own group has no comb table for G yet. */
static int ecdsa_verify_der(mbedtls_ecp_group *grp, const mbedtls_ecp_point *q, const uint8_t *hash,
                            size_t hash_len, const uint8_t *sig, size_t sig_len)
{
    const uint8_t *rp, *sp;
    size_t rl, sl;
    if (!crypto_ecdsa_sig_parse(sig, sig_len, &rp, &rl, &sp, &sl))
        return -1;
    mbedtls_mpi r, s;
    mbedtls_mpi_init(&r);
    mbedtls_mpi_init(&s);
    int rc = -1;
    if (mbedtls_mpi_read_binary(&r, rp, rl) == 0 && mbedtls_mpi_read_binary(&s, sp, sl) == 0)
        rc = mbedtls_ecdsa_verify(grp, hash, hash_len, q, &r, &s);
    mbedtls_mpi_free(&r);
    mbedtls_mpi_free(&s);
    return rc;
}

static int mb_pubkey_verify(crypto_pubkey *key, uint16_t scheme, const uint8_t *msg, size_t len,
                            const uint8_t *sig, size_t sig_len)
{
    mbedtls_md_type_t md;
    mbedtls_ecp_group_id curve;
    sig_kind kind = sig_scheme(scheme, &md, &curve);
    if (key == NULL || !pk_fits(&key->pk, kind, curve))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    const mbedtls_md_info_t *info = mbedtls_md_info_from_type(md);
    uint8_t hash[64];
    size_t hash_len = mbedtls_md_get_size(info);
    if (mbedtls_md(info, msg, len, hash) != 0)
        return CRYPTO_ERR_INTERNAL;
    int rc;
    if (kind == SIG_ECDSA) {
        mbedtls_ecp_keypair *kp = mbedtls_pk_ec(key->pk);
        mbedtls_ecp_group *grp = shared_group_get(key->shared, kp->grp.id);
        if (grp != NULL)
            rc = ecdsa_verify_der(grp, &kp->Q, hash, hash_len, sig, sig_len);
        else
            rc = mbedtls_ecdsa_read_signature(kp, hash, hash_len, sig, sig_len);
    } else {
#if defined(MBEDTLS_RSA_C)
        mbedtls_rsa_context *rsa = mbedtls_pk_rsa(key->pk);
        if (sig_len != mbedtls_rsa_get_len(rsa))
            return CRYPTO_ERR_DECRYPT_ERROR;
        if (kind == SIG_RSA_PSS)
            rc =
                mbedtls_rsa_rsassa_pss_verify_ext(rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC, md,
                                                  (unsigned)hash_len, hash, md, (int)hash_len, sig);
        else
            rc = mbedtls_rsa_rsassa_pkcs1_v15_verify(rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC, md,
                                                     (unsigned)hash_len, hash, sig);
#else
        rc = -1;                   /* not reached: pk_fits has no RSA */
#endif
    }
    return rc == 0 ? 0 : CRYPTO_ERR_DECRYPT_ERROR;
}

/* ---- X.509 (RFC 5280) ---- */

/* Longest chain accepted from a peer, leaf included. */
#define X509_MAX_CHAIN 10

struct crypto_x509_store {
    const crypto_backend *be; /* first: crypto_backend_of */
    const quince_env *env;    /* for the NUL-terminated copies PEM parsing needs */
    mbedtls_x509_crt cas;
};

static crypto_x509_store *mb_x509_store_new(const quince_env *env)
{
    crypto_x509_store *store = quince_env_calloc(env, sizeof(*store));
    if (store != NULL)
        store->be = &crypto_backend_mbedtls_table;
    if (store != NULL) {
        store->env = env;
        mbedtls_x509_crt_init(&store->cas);
    }
    return store;
}

static void mb_x509_store_free(const quince_env *env, crypto_x509_store *store)
{
    if (store == NULL)
        return;
    mbedtls_x509_crt_free(&store->cas);
    quince_env_free(env, store);
}

/* Append PEM (any number of certificates) or one DER certificate to chain. */
static int crt_parse_any(const quince_env *env, mbedtls_x509_crt *chain, const uint8_t *data,
                         size_t len)
{
    if (data == NULL || len == 0)
        return CRYPTO_ERR_PARSE;
    if (!looks_like_pem(data, len))
        return mbedtls_x509_crt_parse_der(chain, data, len) == 0 ? 0 : CRYPTO_ERR_PARSE;
    uint8_t *buf = pem_copy(env, data, len);
    if (buf == NULL)
        return CRYPTO_ERR_NOMEM;
    /* A positive result counts certificates that failed to parse: an error too. */
    int rc = mbedtls_x509_crt_parse(chain, buf, len + 1);
    quince_env_free(env, buf);
    return rc == 0 ? 0 : CRYPTO_ERR_PARSE;
}

static int mb_x509_store_add(crypto_x509_store *store, const uint8_t *data, size_t len)
{
    if (store == NULL)
        return CRYPTO_ERR_ARGUMENT;
    return crt_parse_any(store->env, &store->cas, data, len);
}

typedef struct verify_state {
    int64_t now;
    bool time_bad;
    bool parse_bad;
} verify_state;

/* Called by mbedTLS for each certificate of the path it built, trust anchor
 * included: validity is checked here against the caller's time, and
 * mbedTLS's own verdict (from the system clock) is dropped. */
static int verify_cb(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    verify_state *st = p;
    (void)depth;
    *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
    if (st->now != 0) {
        crypto_x509_info info;
        if (crypto_x509_info_parse(crt->raw.p, crt->raw.len, &info) != 0)
            st->parse_bad = true;
        else if (crypto_x509_check_time(&info, st->now) != 0)
            st->time_bad = true;
    }
    return 0;
}

static bool name_eq(const mbedtls_x509_buf *a, const mbedtls_x509_buf *b)
{
    return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* Whether some certificate other than c, in list, has c's issuer as its subject. */
static bool issuer_in(const mbedtls_x509_crt *c, const mbedtls_x509_crt *list)
{
    for (const mbedtls_x509_crt *x = list; x != NULL && x->raw.len > 0; x = x->next) {
        if (x != c && name_eq(&x->subject_raw, &c->issuer_raw))
            return true;
    }
    return false;
}

/* mbedTLS reports both "no issuer" and "issuer's signature does not verify" as
 * NOT_TRUSTED. When every certificate's issuer is at hand, it was the
 * signature: bad_certificate (RFC 8446 §6.2) rather than unknown_ca. */
static bool issuers_present(const mbedtls_x509_crt *chain, const mbedtls_x509_crt *cas)
{
    for (const mbedtls_x509_crt *c = chain; c != NULL && c->raw.len > 0; c = c->next) {
        if (!issuer_in(c, chain) && !issuer_in(c, cas))
            return false;
    }
    return true;
}

/* RFC 5280 §6, RFC 8446 §4.4.2.4 */
static int mb_x509_verify(const quince_env *env, const crypto_x509_store *store,
                          const uint8_t *const *certs, const size_t *cert_lens, size_t n_certs,
                          const char *host, int64_t now_unix, crypto_pubkey **leaf_key)
{
    if (leaf_key != NULL)
        *leaf_key = NULL;
    if (store == NULL || certs == NULL || cert_lens == NULL)
        return CRYPTO_ERR_ARGUMENT;
    if (n_certs == 0 || n_certs > X509_MAX_CHAIN)
        return CRYPTO_ERR_BAD_CERTIFICATE;
    crypto_x509_info leaf;
    if (crypto_x509_info_parse(certs[0], cert_lens[0], &leaf) != 0)
        return CRYPTO_ERR_BAD_CERTIFICATE;

    mbedtls_x509_crt *chain = quince_env_alloc(env, sizeof(*chain));
    if (chain == NULL)
        return CRYPTO_ERR_NOMEM;
    mbedtls_x509_crt_init(chain);
    int rc = 0;
    for (size_t i = 0; i < n_certs && rc == 0; i++) {
        if (certs[i] == NULL || mbedtls_x509_crt_parse_der(chain, certs[i], cert_lens[i]) != 0)
            rc = CRYPTO_ERR_BAD_CERTIFICATE;
    }
    if (rc == 0) {
        verify_state st = {now_unix, false, false};
        uint32_t flags = 0;
        /* The CN argument is NULL: the name is checked below, against the SAN only. */
        int vr = mbedtls_x509_crt_verify_with_profile(
            chain, (mbedtls_x509_crt *)(uintptr_t)&store->cas, NULL,
            &mbedtls_x509_crt_profile_default, NULL, &flags, verify_cb, &st);
        if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
            rc = issuers_present(chain, &store->cas) ? CRYPTO_ERR_BAD_CERTIFICATE
                                                     : CRYPTO_ERR_UNKNOWN_CA;
        else if (flags & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK |
                          MBEDTLS_X509_BADCERT_BAD_KEY))
            rc = CRYPTO_ERR_UNSUPPORTED_CERTIFICATE;
        else if (vr != 0 || flags != 0 || st.parse_bad)
            rc = CRYPTO_ERR_BAD_CERTIFICATE;
        else if (st.time_bad)
            rc = CRYPTO_ERR_CERT_EXPIRED;
    }
    mbedtls_x509_crt_free(chain);
    quince_env_free(env, chain);
    if (rc == 0 && host != NULL)
        rc = crypto_x509_check_host(&leaf, host) == 0 ? 0 : CRYPTO_ERR_BAD_CERTIFICATE;
    if (rc == 0 && leaf_key != NULL) {
        rc = mb_x509_pubkey(env, certs[0], cert_lens[0], leaf_key);
        if (rc != 0 && rc != CRYPTO_ERR_NOMEM)
            rc = CRYPTO_ERR_UNSUPPORTED_CERTIFICATE;
    }
    return rc;
}

static int mb_x509_pubkey(const quince_env *env, const uint8_t *der, size_t len,
                          crypto_pubkey **key)
{
    crypto_x509_info info;
    *key = NULL;
    if (crypto_x509_info_parse(der, len, &info) != 0)
        return CRYPTO_ERR_BAD_CERTIFICATE;
    crypto_pubkey *k = quince_env_calloc(env, sizeof(*k));
    if (k != NULL)
        k->be = &crypto_backend_mbedtls_table;
    if (k == NULL)
        return CRYPTO_ERR_NOMEM;
    k->shared = env->crypto_shared;
    mbedtls_pk_init(&k->pk);
    if (mbedtls_pk_parse_public_key(&k->pk, info.spki.p, quince_reader_left(&info.spki)) != 0) {
        mb_pubkey_free(env, k);
        return CRYPTO_ERR_UNSUPPORTED_CERTIFICATE;
    }
    *key = k;
    return 0;
}

static int mb_x509_parse_chain(const quince_env *env, const uint8_t *data, size_t len,
                               uint8_t ***ders, size_t **lens)
{
    *ders = NULL;
    *lens = NULL;
    mbedtls_x509_crt *chain = quince_env_alloc(env, sizeof(*chain));
    if (chain == NULL)
        return CRYPTO_ERR_NOMEM;
    mbedtls_x509_crt_init(chain);
    int rc = crt_parse_any(env, chain, data, len);
    size_t n = 0;
    for (const mbedtls_x509_crt *c = chain; rc == 0 && c != NULL && c->raw.len > 0; c = c->next)
        n++;
    if (rc == 0 && n == 0)
        rc = CRYPTO_ERR_PARSE;
    uint8_t **d = NULL;
    size_t *l = NULL;
    if (rc == 0) {
        d = quince_env_calloc(env, n * sizeof(*d));
        l = quince_env_calloc(env, n * sizeof(*l));
        if (d == NULL || l == NULL)
            rc = CRYPTO_ERR_NOMEM;
    }
    size_t i = 0;
    for (const mbedtls_x509_crt *c = chain; rc == 0 && i < n; c = c->next, i++) {
        d[i] = quince_env_alloc(env, c->raw.len);
        if (d[i] == NULL) {
            rc = CRYPTO_ERR_NOMEM;
            break;
        }
        memcpy(d[i], c->raw.p, c->raw.len);
        l[i] = c->raw.len;
    }
    mbedtls_x509_crt_free(chain);
    quince_env_free(env, chain);
    if (rc != 0) {
        crypto_x509_der_free(env, d, l, n);
        return rc;
    }
    *ders = d;
    *lens = l;
    return (int)n;
}

/* ---- Certificate generation (RFC 5280 §4.1, §4.2) ---- */

/* Only with an mbedTLS that writes certificates (a minimal one for a device,
 * cross/mbedtls/, does not: crypto_cert_generate is then unsupported). */
#if defined(MBEDTLS_X509_CRT_WRITE_C)

/* "YYYYMMDDhhmmss" as mbedtls_x509write_crt_set_validity takes it. */
static bool format_time(int64_t t, char out[16])
{
    int y, mo, d, h, mi, s;
    crypto_civil_from_unix(t, &y, &mo, &d, &h, &mi, &s);
    if (y < 1950 || y > 9999)
        return false;
    const int v[6] = {y, mo, d, h, mi, s};
    const int width[6] = {4, 2, 2, 2, 2, 2};
    size_t at = 0;
    for (int i = 0; i < 6; i++) {
        int x = v[i];
        for (int k = width[i] - 1; k >= 0; k--) {
            out[at + (size_t)k] = (char)('0' + x % 10);
            x /= 10;
        }
        at += (size_t)width[i];
    }
    out[at] = 0;
    return true;
}

/* "CN=<name>": mbedTLS's name parser takes ',' only when escaped, and nothing odd. */
static bool format_subject(const char *cn, char *out, size_t cap)
{
    size_t at = 0;
    if (cn == NULL || *cn == 0 || cap < 4)
        return false;
    memcpy(out, "CN=", 3);
    at = 3;
    for (const char *c = cn; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == '\\' || *c == '=' || *c == '+' || *c == ';')
            return false;
        if (at + 3 > cap)
            return false;
        if (*c == ',')
            out[at++] = '\\';
        out[at++] = *c;
    }
    out[at] = 0;
    return true;
}

static const char oid_ext_key_usage[] = MBEDTLS_OID_EXTENDED_KEY_USAGE;
static const char oid_subject_alt_name[] = MBEDTLS_OID_SUBJECT_ALT_NAME;
/* ExtKeyUsageSyntax: id-kp-serverAuth, id-kp-clientAuth (RFC 5280 §4.2.1.12). */
static const uint8_t eku_server_client[] = {0x30, 0x14, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05,
                                            0x05, 0x07, 0x03, 0x01, 0x06, 0x08, 0x2b, 0x06,
                                            0x01, 0x05, 0x05, 0x07, 0x03, 0x02};

static int gen_key(const quince_env *env, const crypto_cert_params *p, mbedtls_pk_context *pk)
{
    if (p->rsa_bits != 0) {
#if defined(MBEDTLS_RSA_C) && defined(MBEDTLS_GENPRIME)
        if (p->rsa_bits < 2048 || p->rsa_bits > 4096)
            return CRYPTO_ERR_ARGUMENT;
        if (mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0 ||
            mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk), env_rng, rng_arg(env), p->rsa_bits, 65537) !=
                0)
            return CRYPTO_ERR_INTERNAL;
        return 0;
#else
        return CRYPTO_ERR_UNSUPPORTED;
#endif
    }
    if (mbedtls_pk_setup(pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*pk), env_rng, rng_arg(env)) !=
            0)
        return CRYPTO_ERR_INTERNAL;
    return 0;
}

/* Fill the writer: names, serial, validity, extensions. */
/* The names and the parsed issuer, on the heap: 2.2 KB would be over the 1 KB a
 * core function may take of the stack (tests/stack/check_stack.py). */
typedef struct crt_names {
    char subject[512];
    char issuer[1024];
    mbedtls_x509_crt ic;
} crt_names;

static int fill_crt_names(const quince_env *env, const crypto_cert_params *p,
                          mbedtls_pk_context *pk, mbedtls_x509write_cert *w, mbedtls_mpi *serial,
                          crt_names *names)
{
    char *subject = names->subject, *issuer = names->issuer, nb[16], na[16];
    if (!format_subject(p->common_name, subject, sizeof(names->subject)) ||
        !format_time(p->not_before_unix, nb) || !format_time(p->not_after_unix, na) ||
        p->not_after_unix < p->not_before_unix)
        return CRYPTO_ERR_ARGUMENT;
    bool self_signed = p->issuer_key == NULL;
    if (self_signed != (p->issuer_der == NULL))
        return CRYPTO_ERR_ARGUMENT;
    if (self_signed) {
        memcpy(issuer, subject, strlen(subject) + 1);
    } else {
        mbedtls_x509_crt *ic = &names->ic;
        mbedtls_x509_crt_init(ic);
        int n = mbedtls_x509_crt_parse_der(ic, p->issuer_der, p->issuer_der_len);
        if (n == 0)
            n = mbedtls_x509_dn_gets(issuer, sizeof(names->issuer), &ic->subject);
        mbedtls_x509_crt_free(ic);
        if (n < 0)
            return CRYPTO_ERR_PARSE;
    }

    /* A positive serial of 16 random bytes (RFC 5280 §4.1.2.2: at most 20). */
    uint8_t sn[16];
    quince_env_random(env, sn, sizeof(sn));
    sn[0] = (uint8_t)((sn[0] & 0x7f) | 0x40);

    uint8_t san[2 + 4 + 253 + 2 + 16];
    size_t san_len = 0;
    if (p->dns_name != NULL || p->ip_address != NULL) {
        int rc = crypto_x509_san_build(p->dns_name, p->ip_address, san, sizeof(san), &san_len);
        if (rc != 0)
            return rc;
    }

    mbedtls_x509write_crt_set_version(w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(w, pk);
    mbedtls_x509write_crt_set_issuer_key(w, self_signed ? pk : &p->issuer_key->pk);
    unsigned usage = p->is_ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN
                              : MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
    if (mbedtls_mpi_read_binary(serial, sn, sizeof(sn)) != 0 ||
        mbedtls_x509write_crt_set_serial(w, serial) != 0 ||
        mbedtls_x509write_crt_set_subject_name(w, subject) != 0 ||
        mbedtls_x509write_crt_set_issuer_name(w, issuer) != 0 ||
        mbedtls_x509write_crt_set_validity(w, nb, na) != 0 ||
        mbedtls_x509write_crt_set_basic_constraints(w, p->is_ca ? 1 : 0, -1) != 0 ||
        mbedtls_x509write_crt_set_subject_key_identifier(w) != 0 ||
        (!self_signed && mbedtls_x509write_crt_set_authority_key_identifier(w) != 0) ||
        mbedtls_x509write_crt_set_key_usage(w, usage) != 0)
        return CRYPTO_ERR_INTERNAL;
    if (!p->is_ca &&
        mbedtls_x509write_crt_set_extension(w, oid_ext_key_usage, sizeof(oid_ext_key_usage) - 1, 0,
                                            eku_server_client, sizeof(eku_server_client)) != 0)
        return CRYPTO_ERR_INTERNAL;
    if (san_len > 0 &&
        mbedtls_x509write_crt_set_extension(w, oid_subject_alt_name,
                                            sizeof(oid_subject_alt_name) - 1, 0, san, san_len) != 0)
        return CRYPTO_ERR_INTERNAL;
    return 0;
}

static int fill_crt(const quince_env *env, const crypto_cert_params *p, mbedtls_pk_context *pk,
                    mbedtls_x509write_cert *w, mbedtls_mpi *serial)
{
    crt_names *names = quince_env_alloc(env, sizeof(*names));
    if (names == NULL)
        return CRYPTO_ERR_NOMEM;
    int rc = fill_crt_names(env, p, pk, w, serial, names);
    quince_env_free(env, names);
    return rc;
}

/*
 * mbedTLS 2.28 writes ecdsa-with-SHA256 with a NULL parameter, which RFC 5758
 * §3.2 forbids and BoringSSL (Chromium) rejects. Re-encode both
 * AlgorithmIdentifiers without it and sign the corrected TBSCertificate again
 * with the issuer's key. in and out are distinct; returns the new length.
 */
static int fix_ecdsa_sigalg(const quince_env *env, mbedtls_pk_context *issuer, const uint8_t *in,
                            size_t in_len, uint8_t *out, size_t cap)
{
    /* RFC 5758 §3.2: SEQUENCE { OID 1.2.840.10045.4.3.2 } */
    static const uint8_t algid[] = {0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
                                    0x48, 0xce, 0x3d, 0x04, 0x03, 0x02};
    quince_reader r = quince_reader_init(in, in_len), cert, tbs, ver, serial, alg;
    uint8_t tag;
    if (!crypto_der_get(&r, &tag, &cert) || tag != CRYPTO_DER_SEQUENCE ||
        !crypto_der_get(&cert, &tag, &tbs) || tag != CRYPTO_DER_SEQUENCE)
        return CRYPTO_ERR_INTERNAL;
    const uint8_t *head = tbs.p;
    if (!crypto_der_get(&tbs, &tag, &ver) || tag != 0xa0 || !crypto_der_get(&tbs, &tag, &serial) ||
        tag != CRYPTO_DER_INTEGER)
        return CRYPTO_ERR_INTERNAL;
    size_t head_len = (size_t)(tbs.p - head);
    if (!crypto_der_get(&tbs, &tag, &alg) || tag != CRYPTO_DER_SEQUENCE)
        return CRYPTO_ERR_INTERNAL;
    size_t rest_len = quince_reader_left(&tbs);

    /* TBSCertificate with the corrected signature field. */
    quince_writer w = quince_writer_init(out, cap);
    size_t tbs_content = head_len + sizeof(algid) + rest_len;
    quince_put_u8(&w, CRYPTO_DER_SEQUENCE);
    crypto_der_put_len(&w, tbs_content);
    quince_put_bytes(&w, head, head_len);
    quince_put_bytes(&w, algid, sizeof(algid));
    quince_put_bytes(&w, tbs.p, rest_len);
    if (w.overflow)
        return CRYPTO_ERR_INTERNAL;
    size_t tbs_len = (size_t)(w.p - out);

    uint8_t hash[32], sig[MBEDTLS_ECDSA_MAX_LEN];
    size_t sig_len = 0;
    if (mbedtls_sha256_ret(out, tbs_len, hash, 0) != 0 ||
        mbedtls_pk_sign(issuer, MBEDTLS_MD_SHA256, hash, sizeof(hash), sig, &sig_len, env_rng,
                        rng_arg(env)) != 0)
        return CRYPTO_ERR_INTERNAL;

    /* Certificate ::= SEQUENCE { tbs, signatureAlgorithm, BIT STRING signature }:
     * move the TBS right to make room for the outer header. */
    size_t bits_len = 1 + sig_len;
    size_t bits_hdr = bits_len < 0x80 ? 2 : 3;
    size_t content = tbs_len + sizeof(algid) + bits_hdr + bits_len;
    size_t outer_hdr = content < 0x80 ? 2 : content < 0x100 ? 3 : 4;
    if (outer_hdr + content > cap)
        return CRYPTO_ERR_INTERNAL;
    memmove(out + outer_hdr, out, tbs_len);
    w = quince_writer_init(out, cap);
    quince_put_u8(&w, CRYPTO_DER_SEQUENCE);
    crypto_der_put_len(&w, content);
    w.p += tbs_len;
    quince_put_bytes(&w, algid, sizeof(algid));
    quince_put_u8(&w, CRYPTO_DER_BIT_STRING);
    crypto_der_put_len(&w, bits_len);
    quince_put_u8(&w, 0); /* no unused bits */
    quince_put_bytes(&w, sig, sig_len);
    if (w.overflow)
        return CRYPTO_ERR_INTERNAL;
    return (int)(w.p - out);
}

/* Copy the len bytes mbedTLS wrote at the end of buf into an env allocation. */
static uint8_t *dup_tail(const quince_env *env, const uint8_t *buf, size_t size, size_t len)
{
    uint8_t *out = quince_env_alloc(env, len);
    if (out != NULL)
        memcpy(out, buf + size - len, len);
    return out;
}

static int mb_cert_generate(const quince_env *env, const crypto_cert_params *params, uint8_t **der,
                            size_t *der_len, uint8_t **key_der, size_t *key_der_len,
                            crypto_privkey **key)
{
    if (params == NULL || der == NULL || der_len == NULL || key_der == NULL || key_der_len == NULL)
        return CRYPTO_ERR_ARGUMENT;
    *der = NULL;
    *key_der = NULL;
    if (key != NULL)
        *key = NULL;
    crypto_privkey *pk = quince_env_calloc(env, sizeof(*pk));
    if (pk != NULL)
        pk->be = &crypto_backend_mbedtls_table;
    size_t size = params->rsa_bits > 2048 ? 8192 : 4096;
    uint8_t *buf = quince_env_alloc(env, size);
    if (pk == NULL || buf == NULL) {
        quince_env_free(env, pk);
        quince_env_free(env, buf);
        return CRYPTO_ERR_NOMEM;
    }
    mbedtls_pk_init(&pk->pk);
    mbedtls_x509write_cert w;
    mbedtls_x509write_crt_init(&w);
    mbedtls_mpi serial;
    mbedtls_mpi_init(&serial);

    int rc = gen_key(env, params, &pk->pk);
    if (rc == 0)
        rc = fill_crt(env, params, &pk->pk, &w, &serial);
    if (rc == 0) {
        mbedtls_pk_context *signer = params->issuer_key ? &params->issuer_key->pk : &pk->pk;
        int n = mbedtls_x509write_crt_der(&w, buf, size, env_rng, rng_arg(env));
        if (n > 0 && mbedtls_pk_can_do(signer, MBEDTLS_PK_ECDSA)) {
            /* The new signature may be a byte or two longer than the old one. */
            *der = quince_env_alloc(env, (size_t)n + 16);
            if (*der == NULL) {
                rc = CRYPTO_ERR_NOMEM;
            } else {
                n = fix_ecdsa_sigalg(env, signer, buf + size - (size_t)n, (size_t)n, *der,
                                     (size_t)n + 16);
                if (n > 0)
                    *der_len = (size_t)n;
                else
                    rc = n;
            }
        } else if (n <= 0 || (*der = dup_tail(env, buf, size, (size_t)n)) == NULL) {
            rc = n <= 0 ? CRYPTO_ERR_INTERNAL : CRYPTO_ERR_NOMEM;
        } else {
            *der_len = (size_t)n;
        }
    }
    if (rc == 0) {
        /* SEC1 ECPrivateKey for EC keys, PKCS#1 RSAPrivateKey for RSA. */
        int n = mbedtls_pk_write_key_der(&pk->pk, buf, size);
        if (n <= 0 || (*key_der = dup_tail(env, buf, size, (size_t)n)) == NULL)
            rc = n <= 0 ? CRYPTO_ERR_INTERNAL : CRYPTO_ERR_NOMEM;
        else
            *key_der_len = (size_t)n;
    }
    mbedtls_platform_zeroize(buf, size);
    quince_env_free(env, buf);
    mbedtls_x509write_crt_free(&w);
    mbedtls_mpi_free(&serial);
    if (rc != 0) {
        quince_env_free(env, *der);
        quince_env_free(env, *key_der);
        *der = NULL;
        *key_der = NULL;
        mb_privkey_free(env, pk);
        return rc;
    }
    if (key != NULL)
        *key = pk;
    else
        mb_privkey_free(env, pk);
    return 0;
}
#else
static int mb_cert_generate(const quince_env *env, const crypto_cert_params *params, uint8_t **der,
                            size_t *der_len, uint8_t **key_der, size_t *key_der_len,
                            crypto_privkey **key)
{
    (void)env, (void)params, (void)der, (void)der_len, (void)key_der, (void)key_der_len, (void)key;
    return CRYPTO_ERR_UNSUPPORTED;
}
#endif /* MBEDTLS_X509_CRT_WRITE_C */

const crypto_backend crypto_backend_mbedtls_table = {
    .name = "mbedtls",
    .server_prefers_chacha = MB_CHACHA,
    .no_chacha20_poly1305 = !MB_CHACHA,
    .no_sha512 = !MB_SHA512,
#if defined(MBEDTLS_RSA_C)
    .no_rsa = false,
#else
    .no_rsa = true,
#endif
    .shared_new = mb_shared_new,
    .shared_free = mb_shared_free,
    .shared_groups_loaded = mb_shared_groups_loaded,
    .hash = mb_hash,
    .hash_new = mb_hash_new,
    .hash_update = mb_hash_update,
    .hash_peek = mb_hash_peek,
    .hash_free = mb_hash_free,
    .hmac = mb_hmac,
    .hkdf_extract = mb_hkdf_extract,
    .hkdf_expand = mb_hkdf_expand,
    .aead_new = mb_aead_new,
    .aead_free = mb_aead_free,
    .aead_seal = mb_aead_seal,
    .aead_open = mb_aead_open,
    .hp_new = mb_hp_new,
    .hp_free = mb_hp_free,
    .hp_mask = mb_hp_mask,
    .kex_new = mb_kex_new,
    .kex_free = mb_kex_free,
    .kex_public = mb_kex_public,
    .kex_derive = mb_kex_derive,
    .privkey_parse = mb_privkey_parse,
    .privkey_free = mb_privkey_free,
    .privkey_supports = mb_privkey_supports,
    .privkey_sign = mb_privkey_sign,
    .pubkey_free = mb_pubkey_free,
    .pubkey_verify = mb_pubkey_verify,
    .x509_store_new = mb_x509_store_new,
    .x509_store_add = mb_x509_store_add,
    .x509_store_free = mb_x509_store_free,
    .x509_verify = mb_x509_verify,
    .x509_pubkey = mb_x509_pubkey,
    .x509_parse_chain = mb_x509_parse_chain,
    .cert_generate = mb_cert_generate,
};
