/* The cryptographic primitives Quince needs: one backend file implements all of them. */
#ifndef CRYPTO_BACKEND_H
#define CRYPTO_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "crypto/crypto.h"
#include "crypto/error.h"

/*
 * Internal: the public part (keys, certificates, the CA store, hashes) is in
 * crypto/crypto.h, which this header includes.
 * Exactly one backend is compiled in (meson option `crypto`):
 *   crypto/backend_mbedtls.c  every mbedTLS call of the project, and nothing else;
 *   crypto/backend_null.c     identity AEAD, zero header-protection mask and
 *                             deterministic "signatures", for fuzzing builds.
 * Another backend (mbedTLS 3, OpenSSL libcrypto) implements this header again.
 * Contexts are opaque and allocated through the quince_env allocator.
 * Functions returning int give 0 (or a length) on success and a negative
 * CRYPTO_ERR_* on failure.
 */

const char *crypto_backend_name(void);
/* How many elliptic-curve groups a crypto_shared holds loaded and prepared (a
 * diagnostic; 0 for NULL and for a backend without curves). */
size_t crypto_shared_groups_loaded(const crypto_shared *s);

/* ---- Hashes, HMAC, HKDF (RFC 5869) ---- */

/* Incremental hash, for the TLS transcript: peek gives the digest so far and
 * leaves the context open for more updates. */
typedef struct crypto_hash_ctx crypto_hash_ctx;
crypto_hash_ctx *crypto_hash_new(const quince_env *env, crypto_hash_alg alg);
int crypto_hash_update(crypto_hash_ctx *ctx, const uint8_t *in, size_t len);
int crypto_hash_peek(const crypto_hash_ctx *ctx, uint8_t *out);
void crypto_hash_free(const quince_env *env, crypto_hash_ctx *ctx);

int crypto_hmac(crypto_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *in,
                size_t len, uint8_t *out);
int crypto_hkdf_extract(crypto_hash_alg alg, const uint8_t *salt, size_t salt_len,
                        const uint8_t *ikm, size_t ikm_len, uint8_t *prk_out);
int crypto_hkdf_expand(crypto_hash_alg alg, const uint8_t *prk, size_t prk_len,
                       const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len);

/* ---- AEAD and header protection (RFC 9001 §5.3, §5.4) ---- */

#define CRYPTO_AEAD_TAG_LEN 16
#define CRYPTO_AEAD_NONCE_LEN 12
#define CRYPTO_AEAD_MAX_KEY_LEN 32

size_t crypto_aead_key_len(crypto_aead_alg alg);

typedef struct crypto_aead crypto_aead;
crypto_aead *crypto_aead_new(const quince_env *env, crypto_aead_alg alg, const uint8_t *key);
void crypto_aead_free(const quince_env *env, crypto_aead *ctx);
/* out gets len + CRYPTO_AEAD_TAG_LEN bytes; out may equal in. Returns the length. */
int crypto_aead_seal(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                     uint8_t *out);
/* in holds ciphertext and tag; out gets len - TAG bytes; out may equal in.
 * Returns the plaintext length or CRYPTO_ERR_DECRYPT. */
int crypto_aead_open(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                     uint8_t *out);

/* Header protection: AES-ECB for the AES suites, ChaCha20 for ChaCha20-Poly1305. */
typedef struct crypto_hp crypto_hp;
crypto_hp *crypto_hp_new(const quince_env *env, crypto_aead_alg alg, const uint8_t *key);
void crypto_hp_free(const quince_env *env, crypto_hp *ctx);
int crypto_hp_mask(crypto_hp *ctx, const uint8_t sample[16], uint8_t mask[5]);

/* ---- Key exchange (TLS NamedGroup codepoints, CRYPTO_GROUP_* in crypto/crypto.h) ---- */

#define CRYPTO_KEX_MAX_PUBLIC 65
#define CRYPTO_KEX_MAX_SECRET 32

typedef struct crypto_kex crypto_kex;
/* Generates a fresh key pair with env->random. NULL for an unknown group. */
crypto_kex *crypto_kex_new(const quince_env *env, uint16_t group);
void crypto_kex_free(const quince_env *env, crypto_kex *ctx);
/* Our public key share as sent in key_share (X25519: 32 raw bytes; P-256:
 * 65-byte uncompressed point). Returns its length. */
int crypto_kex_public(const crypto_kex *ctx, uint8_t *out, size_t cap);
/* Shared secret from the peer's share; rejects malformed or invalid points
 * (CRYPTO_ERR_ILLEGAL_PARAMETER). Returns its length. */
int crypto_kex_derive(crypto_kex *ctx, const uint8_t *peer, size_t peer_len, uint8_t *out,
                      size_t cap);

/* ---- Signatures (SignatureScheme codepoints CRYPTO_SIG_* in crypto/crypto.h) ---- */

#define CRYPTO_SIG_MAX_LEN 512

/* true if the key can sign with this scheme (ECDSA P-256; RSA-PSS). */
bool crypto_privkey_supports(const crypto_privkey *key, uint16_t scheme);
/* Sign msg (hashing it first with the scheme's hash). Returns the signature length. */
int crypto_privkey_sign(const quince_env *env, crypto_privkey *key, uint16_t scheme,
                        const uint8_t *msg, size_t len, uint8_t *sig, size_t cap);

typedef struct crypto_pubkey crypto_pubkey;
void crypto_pubkey_free(const quince_env *env, crypto_pubkey *key);
/* 0 if sig is a valid signature of msg under scheme, CRYPTO_ERR_DECRYPT_ERROR if
 * not, CRYPTO_ERR_ILLEGAL_PARAMETER if the scheme does not fit the key. */
int crypto_pubkey_verify(crypto_pubkey *key, uint16_t scheme, const uint8_t *msg, size_t len,
                         const uint8_t *sig, size_t sig_len);

/* ---- X.509 ---- */

/*
 * Verify a chain (leaf first, DER, as in the TLS Certificate message) against
 * store. host is a DNS name or an IPv4/IPv6 literal matched against the
 * leaf's subjectAltName (NULL: no name check). now_unix is the time to check
 * validity against (0: do not check). On success *leaf_key (if not NULL) gets
 * the leaf's public key. Errors map to TLS alerts:
 *   CRYPTO_ERR_BAD_CERTIFICATE, CRYPTO_ERR_UNKNOWN_CA, CRYPTO_ERR_CERT_EXPIRED,
 *   CRYPTO_ERR_UNSUPPORTED_CERTIFICATE.
 */
int crypto_x509_verify(const quince_env *env, const crypto_x509_store *store,
                       const uint8_t *const *certs, const size_t *cert_lens, size_t n_certs,
                       const char *host, int64_t now_unix, crypto_pubkey **leaf_key);

/* The public key of one DER certificate, without any verification (insecure
 * and pinned-hash modes). */
int crypto_x509_pubkey(const quince_env *env, const uint8_t *der, size_t len,
                       crypto_pubkey **key);

#endif
