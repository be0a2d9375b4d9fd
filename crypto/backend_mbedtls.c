/* crypto/backend.h over mbedTLS 2.28: every mbedTLS call of the project lives here. */
#include "crypto/backend.h"

#include <string.h>

#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>

const char *crypto_backend_name(void)
{
    return "mbedtls";
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

size_t crypto_hash_len(crypto_hash_alg alg)
{
    switch (alg) {
    case CRYPTO_HASH_SHA256:
        return 32;
    case CRYPTO_HASH_SHA384:
        return 48;
    }
    return 0;
}

int crypto_hash(crypto_hash_alg alg, const uint8_t *in, size_t len, uint8_t *out)
{
    const mbedtls_md_info_t *info = md_info(alg);
    if (info == NULL)
        return CRYPTO_ERR_ARGUMENT;
    return mbedtls_md(info, in, len, out) == 0 ? 0 : CRYPTO_ERR_INTERNAL;
}

struct crypto_hash_ctx {
    crypto_hash_alg alg;
    union {
        mbedtls_sha256_context sha256;
        mbedtls_sha512_context sha512;
    } u;
};

crypto_hash_ctx *crypto_hash_new(const quic_env *env, crypto_hash_alg alg)
{
    if (crypto_hash_len(alg) == 0)
        return NULL;
    crypto_hash_ctx *ctx = quic_env_calloc(env, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->alg = alg;
    int rc;
    if (alg == CRYPTO_HASH_SHA256) {
        mbedtls_sha256_init(&ctx->u.sha256);
        rc = mbedtls_sha256_starts_ret(&ctx->u.sha256, 0);
    } else {
        mbedtls_sha512_init(&ctx->u.sha512);
        rc = mbedtls_sha512_starts_ret(&ctx->u.sha512, 1);
    }
    if (rc != 0) {
        crypto_hash_free(env, ctx);
        return NULL;
    }
    return ctx;
}

int crypto_hash_update(crypto_hash_ctx *ctx, const uint8_t *in, size_t len)
{
    int rc;
    if (ctx->alg == CRYPTO_HASH_SHA256)
        rc = mbedtls_sha256_update_ret(&ctx->u.sha256, in, len);
    else
        rc = mbedtls_sha512_update_ret(&ctx->u.sha512, in, len);
    return rc == 0 ? 0 : CRYPTO_ERR_INTERNAL;
}

int crypto_hash_peek(const crypto_hash_ctx *ctx, uint8_t *out)
{
    int rc;
    /* Finish a copy so that the running context stays open. */
    if (ctx->alg == CRYPTO_HASH_SHA256) {
        mbedtls_sha256_context c;
        mbedtls_sha256_init(&c);
        mbedtls_sha256_clone(&c, &ctx->u.sha256);
        rc = mbedtls_sha256_finish_ret(&c, out);
        mbedtls_sha256_free(&c);
    } else {
        mbedtls_sha512_context c;
        uint8_t full[64];
        mbedtls_sha512_init(&c);
        mbedtls_sha512_clone(&c, &ctx->u.sha512);
        rc = mbedtls_sha512_finish_ret(&c, full);
        mbedtls_sha512_free(&c);
        memcpy(out, full, 48);
    }
    return rc == 0 ? 0 : CRYPTO_ERR_INTERNAL;
}

void crypto_hash_free(const quic_env *env, crypto_hash_ctx *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->alg == CRYPTO_HASH_SHA256)
        mbedtls_sha256_free(&ctx->u.sha256);
    else
        mbedtls_sha512_free(&ctx->u.sha512);
    quic_env_free(env, ctx);
}

int crypto_hmac(crypto_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *in,
                size_t len, uint8_t *out)
{
    const mbedtls_md_info_t *info = md_info(alg);
    if (info == NULL)
        return CRYPTO_ERR_ARGUMENT;
    return mbedtls_md_hmac(info, key, key_len, in, len, out) == 0 ? 0 : CRYPTO_ERR_INTERNAL;
}

/* RFC 5869 §2.2 */
int crypto_hkdf_extract(crypto_hash_alg alg, const uint8_t *salt, size_t salt_len,
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
int crypto_hkdf_expand(crypto_hash_alg alg, const uint8_t *prk, size_t prk_len, const uint8_t *info,
                       size_t info_len, uint8_t *out, size_t out_len)
{
    const mbedtls_md_info_t *md = md_info(alg);
    if (md == NULL || prk_len < crypto_hash_len(alg) || out_len > 255 * crypto_hash_len(alg))
        return CRYPTO_ERR_ARGUMENT;
    return mbedtls_hkdf_expand(md, prk, prk_len, info, info_len, out, out_len) == 0
               ? 0
               : CRYPTO_ERR_INTERNAL;
}
