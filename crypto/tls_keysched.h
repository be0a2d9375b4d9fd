/* The TLS 1.3 transcript hash and key schedule (RFC 8446 §4.4.1, §4.4.4, §7.1). */
#ifndef CRYPTO_TLS_KEYSCHED_H
#define CRYPTO_TLS_KEYSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "crypto/backend.h"

/*
 * The transcript holds messages in a buffer until the cipher suite (and so
 * the hash) is known: a client sends its ClientHello before it learns it.
 * `select` then starts the hash, either over the buffered bytes or, after a
 * HelloRetryRequest, over the synthetic message_hash message (§4.4.1).
 */
typedef struct crypto_tls_transcript {
    crypto_hash_alg alg;
    crypto_hash_ctx *ctx; /* NULL until selected */
    uint8_t *pending;
    size_t pending_len;
} crypto_tls_transcript;

void crypto_tls_transcript_init(crypto_tls_transcript *t);
void crypto_tls_transcript_free(const quince_env *env, crypto_tls_transcript *t);
/* Append one whole handshake message (header included). */
int crypto_tls_transcript_add(const quince_env *env, crypto_tls_transcript *t, const uint8_t *msg,
                              size_t len);
/* Choose the hash. With hrr, the buffered ClientHello1 becomes
 * message_hash(Hash(ClientHello1)) (RFC 8446 §4.4.1). Only once. */
int crypto_tls_transcript_select(const quince_env *env, crypto_tls_transcript *t,
                                 crypto_hash_alg alg, bool hrr);
bool crypto_tls_transcript_selected(const crypto_tls_transcript *t);
/* Transcript-Hash of everything added so far. */
int crypto_tls_transcript_hash(const crypto_tls_transcript *t, uint8_t *out);

/*
 * The secrets of RFC 8446 §7.1, one stage after the other. `secret` is the
 * current left-hand secret (Early, then Handshake, then Master Secret); the
 * traffic secrets of each stage are kept until the handshake ends.
 */
typedef struct crypto_tls_keysched {
    crypto_hash_alg alg;
    size_t hash_len;
    uint8_t secret[CRYPTO_HASH_MAX_LEN];
    uint8_t client_hs[CRYPTO_HASH_MAX_LEN];
    uint8_t server_hs[CRYPTO_HASH_MAX_LEN];
    uint8_t client_ap[CRYPTO_HASH_MAX_LEN];
    uint8_t server_ap[CRYPTO_HASH_MAX_LEN];
    uint8_t exporter[CRYPTO_HASH_MAX_LEN];
    uint8_t resumption[CRYPTO_HASH_MAX_LEN];
} crypto_tls_keysched;

/* Early Secret = HKDF-Extract(0, PSK); psk NULL: no PSK (Hash.length zeros). */
int crypto_tls_ks_init(crypto_tls_keysched *ks, crypto_hash_alg alg, const uint8_t *psk,
                       size_t psk_len);
/* From the Early Secret: client_early_traffic_secret over Hash(ClientHello). */
int crypto_tls_ks_early_traffic(const crypto_tls_keysched *ks, const uint8_t *th_ch, uint8_t *out);
/* Handshake Secret from the (EC)DHE secret; client/server_hs over CH..SH. */
int crypto_tls_ks_handshake(crypto_tls_keysched *ks, const uint8_t *ecdhe, size_t ecdhe_len,
                            const uint8_t *th_ch_sh);
/* Master Secret; client/server_ap and exporter over CH..server Finished. */
int crypto_tls_ks_master(crypto_tls_keysched *ks, const uint8_t *th_ch_sf);
/* resumption_master_secret over CH..client Finished. */
int crypto_tls_ks_resumption(crypto_tls_keysched *ks, const uint8_t *th_ch_cf);
/* verify_data = HMAC(HKDF-Expand-Label(base_key, "finished", "", L), th) (§4.4.4). */
int crypto_tls_ks_finished(crypto_hash_alg alg, const uint8_t *base_key, const uint8_t *th,
                           uint8_t *out);
/* Erase every secret. */
void crypto_tls_ks_wipe(crypto_tls_keysched *ks);

/* Constant-time comparison; true when equal. */
bool crypto_tls_ct_equal(const uint8_t *a, const uint8_t *b, size_t len);

#endif
