/* HKDF-Expand-Label and Derive-Secret of the TLS 1.3 key schedule (RFC 8446 §7.1). */
#ifndef CRYPTO_HKDF_LABEL_H
#define CRYPTO_HKDF_LABEL_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/backend.h"

/* Longest label accepted, without the "tls13 " prefix (label<7..255>). */
#define CRYPTO_HKDF_LABEL_MAX 249

/*
 * HKDF-Expand-Label(secret, label, context, out_len): label is given without
 * the "tls13 " prefix ("quic key", "c hs traffic", ...). context may be NULL
 * when context_len is 0. Returns 0 or CRYPTO_ERR_ARGUMENT (label too long,
 * context over 255 bytes, out_len over 65535 or 255 hash lengths).
 */
int crypto_hkdf_expand_label(crypto_hash_alg alg, const uint8_t *secret, size_t secret_len,
                             const char *label, const uint8_t *context, size_t context_len,
                             uint8_t *out, size_t out_len);

/*
 * Derive-Secret(secret, label, messages): transcript_hash is
 * Transcript-Hash(messages), crypto_hash_len(alg) bytes, or NULL for the hash
 * of no messages (the "derived" steps). secret and out are crypto_hash_len(alg)
 * bytes; out may equal secret.
 */
int crypto_derive_secret(crypto_hash_alg alg, const uint8_t *secret, const char *label,
                         const uint8_t *transcript_hash, uint8_t *out);

#endif
