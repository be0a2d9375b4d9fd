/* The public face of crypto/: hashes, private keys, certificate chains, a CA store, generated
 * certificates. */
#ifndef CRYPTO_CRYPTO_H
#define CRYPTO_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "base/export.h"
#include "crypto/error.h"

/*
 * What a user needs to configure TLS (crypto/tls.h's crypto_tls_config, which
 * quic/quic.h's quic_config embeds): a server's certificate chain and private
 * key, a client's trust anchors, and for WebTransport's
 * serverCertificateHashes a short-lived certificate and its SHA-256.
 *
 * The core takes bytes, never file names (reading a file is I/O). Every
 * function returning int gives 0 (or a count) on success and a negative
 * CRYPTO_ERR_* (crypto/error.h, crypto_strerror) on failure; every function
 * returning a pointer gives NULL on failure. Memory comes from env's
 * allocator; free with the matching *_free and the same env.
 */

/* ---- Backends ---- */

/*
 * The primitives come from a backend: one build holds those the meson option
 * `crypto` lists (mbedtls, openssl, null). The process has one default backend,
 * which every key, store and connection made afterwards uses: the one named by
 * the environment variable QUINCE_CRYPTO when the library first needs one, else
 * the first built (mbedTLS when built). Objects keep the backend that made them.
 */
typedef struct crypto_backend crypto_backend;

/* Returns the backend of that name if this build has it, else NULL. */
QUINCE_API const crypto_backend *crypto_backend_find(const char *name);
/* Make the named backend the default for what is made from now on. Returns 0, or
 * CRYPTO_ERR_UNSUPPORTED if this build has no such backend (the default stays). Call it before
 * other threads use the library. */
QUINCE_API int crypto_backend_select(const char *name);
/* Returns the default backend's name (never NULL). */
QUINCE_API const char *crypto_backend_default_name(void);
/* Returns the names of the backends built, comma-separated ("mbedtls,openssl"; never NULL). */
QUINCE_API const char *crypto_backends_built(void);

/* ---- Hashes ---- */

typedef enum crypto_hash_alg {
    CRYPTO_HASH_SHA256 = 0,
    CRYPTO_HASH_SHA384 = 1,
} crypto_hash_alg;

#define CRYPTO_HASH_MAX_LEN 48
#define CRYPTO_SHA256_LEN 32

/* Returns the digest length: 32 or 48; 0 for an unknown algorithm. */
QUINCE_API size_t crypto_hash_len(crypto_hash_alg alg);
/* out gets crypto_hash_len(alg) bytes. Returns 0; CRYPTO_ERR_ARGUMENT for an unknown algorithm,
 * CRYPTO_ERR_INTERNAL_ERROR if the backend fails. */
QUINCE_API int crypto_hash(crypto_hash_alg alg, const uint8_t *in, size_t len, uint8_t *out);

/* AEAD algorithms (named by crypto/tls.h's crypto_suite). */
typedef enum crypto_aead_alg {
    CRYPTO_AEAD_AES_128_GCM = 0,
    CRYPTO_AEAD_AES_256_GCM = 1,
    CRYPTO_AEAD_CHACHA20_POLY1305 = 2,
} crypto_aead_alg;

/* ---- TLS codepoints (crypto_tls_config's groups; crypto_tls_signature_scheme) ---- */

/* NamedGroup (RFC 8446 §4.2.7). */
#define CRYPTO_GROUP_SECP256R1 0x0017
#define CRYPTO_GROUP_X25519 0x001d

/* SignatureScheme (RFC 8446 §4.2.3). */
#define CRYPTO_SIG_RSA_PKCS1_SHA256 0x0401
#define CRYPTO_SIG_RSA_PKCS1_SHA384 0x0501
#define CRYPTO_SIG_RSA_PKCS1_SHA512 0x0601
#define CRYPTO_SIG_ECDSA_SECP256R1_SHA256 0x0403
#define CRYPTO_SIG_ECDSA_SECP384R1_SHA384 0x0503
#define CRYPTO_SIG_RSA_PSS_RSAE_SHA256 0x0804
#define CRYPTO_SIG_RSA_PSS_RSAE_SHA384 0x0805
#define CRYPTO_SIG_RSA_PSS_RSAE_SHA512 0x0806

/* ---- Tables shared between connections ---- */

/* What the backend can prepare once and share (mbedTLS: each curve's group with
 * its base-point table, about 5 KB; P-256 key shares and ECDSA checks take
 * about 2.5 times longer without). Complete when this returns and only read
 * afterwards: give it to every environment that should use it
 * (quince_env.crypto_shared), on any thread, and free it after the last
 * connection. NULL when out of memory. Nothing is shared unless an embedder
 * does this; io/'s environments do it for their process. */
typedef struct crypto_shared crypto_shared;
/* Returns the shared tables, or NULL when out of memory (or env is NULL). */
QUINCE_API crypto_shared *crypto_shared_new(const quince_env *env);
/* Frees them (NULL: nothing to do); after the last connection that uses them. */
QUINCE_API void crypto_shared_free(const quince_env *env, crypto_shared *s);

/* ---- A cryptographic library's heap in an environment ---- */

/*
 * mbedTLS 2.28 allocates through one process-wide pair of functions, and only
 * when it was built with MBEDTLS_PLATFORM_MEMORY (Debian's library was not: it
 * calls libc's calloc and free). The pair carries no user pointer, so the
 * backend cannot tell whose allocation it is, and it keeps no process-wide state
 * of its own (no writable data, tests/nm). An embedder that wants that heap in
 * an environment keeps its own pointer to one and hands the library two thunks
 * over these (cross/images/client.c does, README "Memory"):
 *   static void *my_calloc(size_t n, size_t size) { return crypto_heap_calloc(g_env, n, size); }
 *   static void my_free(void *p) { crypto_heap_free(g_env, p); }
 *   mbedtls_platform_set_calloc_free(my_calloc, my_free);
 */
/* (no RFC section) Returns n * size zeroed bytes from env (at least one byte, so that
 * calloc(0, x) is not mistaken for a failure), or NULL when env is NULL, the product
 * overflows or env is out of memory. */
QUINCE_API void *crypto_heap_calloc(const quince_env *env, size_t n, size_t size);
/* (no RFC section) Frees what crypto_heap_calloc returned (NULL: nothing to do). */
QUINCE_API void crypto_heap_free(const quince_env *env, void *p);

/* ---- Private keys ---- */

typedef struct crypto_privkey crypto_privkey;
/* PEM or DER (PKCS#8, SEC1 or PKCS#1); ECDSA P-256/P-384 or RSA. Returns the key, or NULL if the
 * bytes are not a key the backend can use, or out of memory. */
QUINCE_API crypto_privkey *crypto_privkey_parse(const quince_env *env, const uint8_t *data,
                                                size_t len);
/* Frees key (NULL: nothing to do). */
QUINCE_API void crypto_privkey_free(const quince_env *env, crypto_privkey *key);

/* ---- Certificate chains ---- */

/*
 * Certificates in DER, leaf first, typed as crypto_tls_config's cert_chain,
 * cert_chain_lens and cert_chain_count want them.
 */
typedef struct crypto_cert_chain {
    const uint8_t *const *certs;
    const size_t *lens;
    size_t count;
} crypto_cert_chain;

/*
 * PEM (one or many CERTIFICATE blocks, in file order: leaf first) or a single
 * DER certificate. Returns the number of certificates (>= 1) and fills chain;
 * CRYPTO_ERR_PARSE if data holds no certificate or a malformed one,
 * CRYPTO_ERR_ARGUMENT for NULL arguments, CRYPTO_ERR_NOMEM.
 */
QUINCE_API int crypto_cert_chain_parse(const quince_env *env, const uint8_t *data, size_t len,
                                       crypto_cert_chain *chain);
/* Frees what crypto_cert_chain_parse allocated and zeroes chain (NULL or a
 * zeroed chain: nothing to do). */
QUINCE_API void crypto_cert_chain_free(const quince_env *env, crypto_cert_chain *chain);
/* Does key belong to the chain's leaf certificate? A test signature made with
 * key is verified with the certificate's public key (RFC 8446 §4.4.3 would
 * fail the same way at every handshake). Returns CRYPTO_OK;
 * CRYPTO_ERR_DECRYPT_ERROR when the keys differ (or differ in type);
 * CRYPTO_ERR_PARSE for an unreadable leaf; CRYPTO_ERR_UNSUPPORTED for a key
 * we cannot sign with; CRYPTO_ERR_ARGUMENT, CRYPTO_ERR_NOMEM. */
QUINCE_API int crypto_cert_key_match(const quince_env *env, const crypto_cert_chain *chain,
                                     crypto_privkey *key);

/* The lower-level form of crypto_cert_chain_parse: *ders and *lens are allocated with env; free
 * with crypto_x509_der_free. Returns the number of certificates, or the same errors:
 * CRYPTO_ERR_PARSE, CRYPTO_ERR_ARGUMENT, CRYPTO_ERR_NOMEM. */
QUINCE_API int crypto_x509_parse_chain(const quince_env *env, const uint8_t *data, size_t len,
                                       uint8_t ***ders, size_t **lens);
/* Frees the n certificates and the arrays crypto_x509_parse_chain allocated. */
QUINCE_API void crypto_x509_der_free(const quince_env *env, uint8_t **ders, size_t *lens, size_t n);

/* SHA-256 of a DER certificate's SubjectPublicKeyInfo (Chromium's
 * --ignore-certificate-errors-spki-list) into out. Returns 0, or CRYPTO_ERR_PARSE if der is not a
 * certificate. */
QUINCE_API int crypto_x509_spki_sha256(const uint8_t *der, size_t len, uint8_t out[32]);

/* ---- Trust anchors (client verification) ---- */

typedef struct crypto_x509_store crypto_x509_store;
/* Returns an empty store, or NULL when out of memory. */
QUINCE_API crypto_x509_store *crypto_x509_store_new(const quince_env *env);
/* Add PEM (one or many certificates) or a single DER certificate. Returns 0; CRYPTO_ERR_PARSE if
 * none could be added, CRYPTO_ERR_NOMEM. */
QUINCE_API int crypto_x509_store_add(crypto_x509_store *store, const uint8_t *data, size_t len);
/* Frees the store and its certificates (NULL: nothing to do). */
QUINCE_API void crypto_x509_store_free(const quince_env *env, crypto_x509_store *store);

/* ---- Generated certificates ---- */

/* A certificate to generate: ECDSA P-256 key (or RSA-2048 with rsa_bits). */
typedef struct crypto_cert_params {
    const char *common_name; /* subject CN */
    const char *dns_name;    /* subjectAltName dNSName, or NULL */
    const char *ip_address;  /* subjectAltName iPAddress literal, or NULL */
    int64_t not_before_unix;
    int64_t not_after_unix;
    bool is_ca;        /* basicConstraints cA=TRUE, keyCertSign */
    unsigned rsa_bits; /* 0: ECDSA P-256 */
    /* Issuer: NULL for self-signed. */
    const uint8_t *issuer_der;
    size_t issuer_der_len;
    crypto_privkey *issuer_key;
} crypto_cert_params;

/* Generate a key and a certificate with env->random. *der and *key_der (PKCS#8 or SEC1 DER) are
 * allocated with env (free with quince_env_free); *key is the parsed key (key may be NULL if not
 * wanted). Returns 0; CRYPTO_ERR_ARGUMENT for bad parameters, CRYPTO_ERR_UNSUPPORTED if the
 * backend cannot, CRYPTO_ERR_NOMEM. */
QUINCE_API int crypto_cert_generate(const quince_env *env, const crypto_cert_params *params,
                                    uint8_t **der, size_t *der_len, uint8_t **key_der,
                                    size_t *key_der_len, crypto_privkey **key);

/* WebTransport's serverCertificateHashes accept ECDSA certificates valid for
 * at most 14 days (W3C WebTransport §6.4 "verify a certificate hash"). */
#define CRYPTO_SHORT_LIVED_MAX_DAYS 14

/* A generated self-signed ECDSA P-256 certificate with its key and hash. */
typedef struct crypto_short_lived_cert {
    uint8_t *der; /* the certificate */
    size_t der_len;
    uint8_t *key_der; /* its private key, DER */
    size_t key_der_len;
    crypto_privkey *key;               /* the same key, parsed, for crypto_tls_config */
    uint8_t sha256[CRYPTO_SHA256_LEN]; /* SHA-256 of der: the serverCertificateHashes value */
    crypto_cert_chain chain;           /* a one-certificate chain: der */
} crypto_short_lived_cert;

/*
 * Generate a self-signed ECDSA P-256 certificate for dns_name and/or
 * ip_address (an IPv4/IPv6 literal), both put in the subjectAltName and the
 * first in the CN; either may be NULL, not both. It is valid from one hour
 * before now_unix (clocks differ) for `days` days in all. days must be
 * 1..CRYPTO_SHORT_LIVED_MAX_DAYS, a name given non-empty and ip_address a
 * literal, else CRYPTO_ERR_ARGUMENT; CRYPTO_ERR_NOMEM, or the errors of
 * crypto_cert_generate. On failure *out is zeroed.
 * Returns 0 (out filled) or one of those errors. */
QUINCE_API int crypto_short_lived_cert_generate(const quince_env *env, const char *dns_name,
                                                const char *ip_address, int64_t now_unix,
                                                unsigned days, crypto_short_lived_cert *out);
/* Frees what crypto_short_lived_cert_generate put in c and zeroes it. */
QUINCE_API void crypto_short_lived_cert_free(const quince_env *env, crypto_short_lived_cert *c);

#endif
