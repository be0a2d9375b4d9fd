/* HKDF-Expand-Label and Derive-Secret (RFC 8446 §7.1) on the backend's HKDF. */
#include "crypto/hkdf_label.h"

#include <string.h>

#include "base/cursor.h"

/* RFC 8446 §7.1 */
int crypto_hkdf_expand_label(crypto_hash_alg alg, const uint8_t *secret, size_t secret_len,
                             const char *label, const uint8_t *context, size_t context_len,
                             uint8_t *out, size_t out_len)
{
    static const char prefix[] = "tls13 ";
    const size_t prefix_len = sizeof(prefix) - 1;
    if (label == NULL || (context == NULL && context_len > 0) || out_len > 0xffff)
        return CRYPTO_ERR_ARGUMENT;
    size_t label_len = strlen(label);
    if (label_len > CRYPTO_HKDF_LABEL_MAX || context_len > 255)
        return CRYPTO_ERR_ARGUMENT;

    /* struct { uint16 length; opaque label<7..255>; opaque context<0..255>; } */
    uint8_t info[2 + 1 + 255 + 1 + 255];
    quince_writer w = quince_writer_init(info, sizeof(info));
    quince_put_u16(&w, (uint16_t)out_len);
    quince_put_u8(&w, (uint8_t)(prefix_len + label_len));
    quince_put_bytes(&w, prefix, prefix_len);
    quince_put_bytes(&w, label, label_len);
    quince_put_u8(&w, (uint8_t)context_len);
    quince_put_bytes(&w, context, context_len);
    if (w.overflow)
        return CRYPTO_ERR_INTERNAL;
    return crypto_hkdf_expand(alg, secret, secret_len, info, (size_t)(w.p - info), out, out_len);
}

/* RFC 8446 §7.1 */
int crypto_derive_secret(crypto_hash_alg alg, const uint8_t *secret, const char *label,
                         const uint8_t *transcript_hash, uint8_t *out)
{
    size_t hash_len = crypto_hash_len(alg);
    uint8_t empty_hash[CRYPTO_HASH_MAX_LEN];
    uint8_t tmp[CRYPTO_HASH_MAX_LEN];
    if (hash_len == 0)
        return CRYPTO_ERR_ARGUMENT;
    if (transcript_hash == NULL) {
        int rc = crypto_hash(alg, NULL, 0, empty_hash);
        if (rc < 0)
            return rc;
        transcript_hash = empty_hash;
    }
    int rc = crypto_hkdf_expand_label(alg, secret, hash_len, label, transcript_hash, hash_len, tmp,
                                      hash_len);
    if (rc == 0)
        memcpy(out, tmp, hash_len);
    memset(tmp, 0, sizeof(tmp));
    return rc;
}
