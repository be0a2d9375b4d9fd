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
 * Internal: the public part (keys, certificates, the CA store, hashes, choosing a
 * backend) is in crypto/crypto.h, which this header includes.
 *
 * Backends are tables of functions (struct crypto_backend below), as in picotls: one
 * build holds every backend the meson option `crypto` lists, and one of them is the
 * process's default at run time (crypto_backend_select, or QUINCE_CRYPTO in the
 * environment at first use; else the first built, mbedTLS when it is built):
 *   crypto/backend_mbedtls.c  every mbedTLS call of the project (the reference);
 *   crypto/backend_openssl.c  every OpenSSL 3 libcrypto call (never libssl's TLS);
 *   crypto/backend_null.c     identity AEAD, zero header-protection mask and
 *                             deterministic "signatures", for fuzzing builds.
 * The functions below dispatch: those making an object use the default backend, and
 * every object remembers the backend that made it (its struct's first member is that
 * backend's table), so that an object always goes back to its own backend.
 * Contexts are opaque and allocated through the quince_env allocator.
 * Functions returning int give 0 (or a length) on success and a negative
 * CRYPTO_ERR_* on failure.
 */

/* The name of the default backend ("mbedtls", "openssl", "null"). */
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
int crypto_hkdf_expand(crypto_hash_alg alg, const uint8_t *prk, size_t prk_len, const uint8_t *info,
                       size_t info_len, uint8_t *out, size_t out_len);

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
int crypto_x509_pubkey(const quince_env *env, const uint8_t *der, size_t len, crypto_pubkey **key);

/* ---- The table a backend fills ---- */

/* Each member has the contract of the dispatching function of the same name above. */
struct crypto_backend {
    const char *name;
    /* A server with the default suites takes ChaCha20-Poly1305 first (faster here). */
    bool server_prefers_chacha;
    /* Built without ChaCha20-Poly1305 (a device's mbedTLS configuration): the TLS
     * engine leaves TLS_CHACHA20_POLY1305_SHA256 out of its suites. */
    bool no_chacha20_poly1305;
    /* Built without SHA-384 and SHA-512 (mbedTLS without MBEDTLS_SHA512_C): the engine
     * leaves out TLS_AES_256_GCM_SHA384 and the signature schemes that hash with them. */
    bool no_sha512;
    /* Built without RSA (mbedTLS without MBEDTLS_RSA_C): no RSA signature scheme offered. */
    bool no_rsa;
    /* crypto_shared (crypto/crypto.h): what this backend prepares once for many
     * connections; its struct's first member is the table, like every object's. */
    crypto_shared *(*shared_new)(const quince_env *env);
    void (*shared_free)(const quince_env *env, crypto_shared *s);
    size_t (*shared_groups_loaded)(const crypto_shared *s);
    int (*hash)(crypto_hash_alg alg, const uint8_t *in, size_t len, uint8_t *out);
    crypto_hash_ctx *(*hash_new)(const quince_env *env, crypto_hash_alg alg);
    int (*hash_update)(crypto_hash_ctx *ctx, const uint8_t *in, size_t len);
    int (*hash_peek)(const crypto_hash_ctx *ctx, uint8_t *out);
    void (*hash_free)(const quince_env *env, crypto_hash_ctx *ctx);
    int (*hmac)(crypto_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *in,
                size_t len, uint8_t *out);
    int (*hkdf_extract)(crypto_hash_alg alg, const uint8_t *salt, size_t salt_len,
                        const uint8_t *ikm, size_t ikm_len, uint8_t *prk_out);
    int (*hkdf_expand)(crypto_hash_alg alg, const uint8_t *prk, size_t prk_len, const uint8_t *info,
                       size_t info_len, uint8_t *out, size_t out_len);
    crypto_aead *(*aead_new)(const quince_env *env, crypto_aead_alg alg, const uint8_t *key);
    void (*aead_free)(const quince_env *env, crypto_aead *ctx);
    int (*aead_seal)(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                     uint8_t *out);
    int (*aead_open)(crypto_aead *ctx, const uint8_t nonce[CRYPTO_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
                     uint8_t *out);
    crypto_hp *(*hp_new)(const quince_env *env, crypto_aead_alg alg, const uint8_t *key);
    void (*hp_free)(const quince_env *env, crypto_hp *ctx);
    int (*hp_mask)(crypto_hp *ctx, const uint8_t sample[16], uint8_t mask[5]);
    crypto_kex *(*kex_new)(const quince_env *env, uint16_t group);
    void (*kex_free)(const quince_env *env, crypto_kex *ctx);
    int (*kex_public)(const crypto_kex *ctx, uint8_t *out, size_t cap);
    int (*kex_derive)(crypto_kex *ctx, const uint8_t *peer, size_t peer_len, uint8_t *out,
                      size_t cap);
    crypto_privkey *(*privkey_parse)(const quince_env *env, const uint8_t *data, size_t len);
    void (*privkey_free)(const quince_env *env, crypto_privkey *key);
    bool (*privkey_supports)(const crypto_privkey *key, uint16_t scheme);
    int (*privkey_sign)(const quince_env *env, crypto_privkey *key, uint16_t scheme,
                        const uint8_t *msg, size_t len, uint8_t *sig, size_t cap);
    void (*pubkey_free)(const quince_env *env, crypto_pubkey *key);
    int (*pubkey_verify)(crypto_pubkey *key, uint16_t scheme, const uint8_t *msg, size_t len,
                         const uint8_t *sig, size_t sig_len);
    crypto_x509_store *(*x509_store_new)(const quince_env *env);
    int (*x509_store_add)(crypto_x509_store *store, const uint8_t *data, size_t len);
    void (*x509_store_free)(const quince_env *env, crypto_x509_store *store);
    int (*x509_verify)(const quince_env *env, const crypto_x509_store *store,
                       const uint8_t *const *certs, const size_t *cert_lens, size_t n_certs,
                       const char *host, int64_t now_unix, crypto_pubkey **leaf_key);
    int (*x509_pubkey)(const quince_env *env, const uint8_t *der, size_t len, crypto_pubkey **key);
    int (*x509_parse_chain)(const quince_env *env, const uint8_t *data, size_t len, uint8_t ***ders,
                            size_t **lens);
    /* params->issuer_key, when set, is this backend's. */
    int (*cert_generate)(const quince_env *env, const crypto_cert_params *params, uint8_t **der,
                         size_t *der_len, uint8_t **key_der, size_t *key_der_len,
                         crypto_privkey **key);
};

/* The tables of the backends built (meson option `crypto`). */
extern const crypto_backend crypto_backend_mbedtls_table;
extern const crypto_backend crypto_backend_openssl_table;
extern const crypto_backend crypto_backend_null_table;

/* The default backend (see above). */
const crypto_backend *crypto_backend_default(void);

/* The backend an object was made by: every backend object's first member is it. */
static inline const crypto_backend *crypto_backend_of(const void *obj)
{
    return *(const crypto_backend *const *)obj;
}

/* ECDSA-Sig-Value (RFC 3279 §2.2.3) in DER, nothing after it: *r and *s point at the
 * INTEGERs' magnitudes (a leading zero octet skipped), both at most 66 bytes and non-zero
 * length. false on anything else. Both backends parse a signature this way, so that they
 * accept the same encodings. */
bool crypto_ecdsa_sig_parse(const uint8_t *sig, size_t sig_len, const uint8_t **r, size_t *r_len,
                            const uint8_t **s, size_t *s_len);

#endif
