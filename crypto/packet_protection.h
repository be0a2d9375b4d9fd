/* QUIC packet protection: keys, Initial secrets, AEAD, header protection, key update, Retry tags.
 */
#ifndef CRYPTO_PACKET_PROTECTION_H
#define CRYPTO_PACKET_PROTECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "crypto/backend.h"

/*
 * RFC 9001 §5 and RFC 9369 §3.3. A crypto_pp holds one direction's keys for
 * one encryption level and key phase: the AEAD key and IV, the header
 * protection key, and the traffic secret they came from (for the next key
 * update). The caller owns the struct (embed it in a connection); the
 * backend contexts inside are allocated through the env given to
 * crypto_pp_init and released by crypto_pp_clear. A crypto_pp may be moved
 * by assignment (current <- next on a key update); the copy then owns the
 * contexts and the old one must be zeroed, not cleared.
 *
 * Packets are protected and unprotected in place. A packet is laid out as
 *   header (pn_offset bytes, then the packet number in pn_len bytes)
 *   payload (plaintext, or ciphertext followed by the 16-byte AEAD tag)
 * where pn_len = (first byte & 0x03) + 1 of the unprotected first byte, and
 * the header-protection sample starts at pn_offset + 4 (RFC 9001 §5.4.2).
 *
 * Errors: CRYPTO_ERR_DECRYPT means "drop the packet" (failed AEAD, or too
 * short to sample or to hold a tag); CRYPTO_ERR_ARGUMENT and
 * CRYPTO_ERR_BUFFER_TOO_SMALL are the sender's mistakes; CRYPTO_ERR_NOMEM;
 * CRYPTO_ERR_UNSUPPORTED for a QUIC version without keys here.
 */

/* QUIC versions with packet protection defined here. */
#define CRYPTO_QUIC_V1 0x00000001u /* RFC 9000 */
#define CRYPTO_QUIC_V2 0x6b3343cfu /* RFC 9369 §3.1 */

#define CRYPTO_PP_SAMPLE_LEN 16
#define CRYPTO_PP_SAMPLE_OFFSET 4 /* from pn_offset, as if pn_len were 4 */
#define CRYPTO_PP_INITIAL_SECRET_LEN 32
#define CRYPTO_PP_MAX_CID_LEN 20
#define CRYPTO_RETRY_TAG_LEN 16

typedef struct crypto_pp {
    uint32_t version;
    crypto_aead_alg aead_alg;
    crypto_hash_alg hash_alg;
    crypto_aead *aead;
    crypto_hp *hp;
    uint8_t iv[CRYPTO_AEAD_NONCE_LEN];
    uint8_t hp_key[CRYPTO_AEAD_MAX_KEY_LEN]; /* kept so that key updates can keep it */
    uint8_t secret[CRYPTO_HASH_MAX_LEN];
    size_t secret_len;
} crypto_pp;

bool crypto_pp_version_supported(uint32_t version);

/* Whether pp holds keys (crypto_pp_init succeeded and no clear since). */
static inline bool crypto_pp_is_set(const crypto_pp *pp)
{
    return pp->aead != NULL;
}

/*
 * RFC 9001 §5.1: derive key, IV and HP key from a traffic secret
 * (secret_len = the hash's length) with the version's labels ("quic key",
 * "quic iv", "quic hp"; "quicv2 ..." for v2). pp is overwritten; on failure
 * it is left cleared.
 */
int crypto_pp_init(crypto_pp *pp, const quince_env *env, uint32_t version, crypto_aead_alg aead,
                   crypto_hash_alg hash, const uint8_t *secret, size_t secret_len);

/* Free the contexts and wipe the keys; pp may then be reused. Safe on a zeroed pp. */
void crypto_pp_clear(crypto_pp *pp, const quince_env *env);

/* RFC 9001 §5.2, RFC 9369 §3.3.1: client_in / server_in secrets (32 bytes
 * each, either may be NULL) for the client's first Destination Connection ID. */
int crypto_pp_initial_secrets(uint32_t version, const uint8_t *dcid, size_t dcid_len,
                              uint8_t client_secret[CRYPTO_PP_INITIAL_SECRET_LEN],
                              uint8_t server_secret[CRYPTO_PP_INITIAL_SECRET_LEN]);

/* RFC 9001 §5.2: Initial keys (AES-128-GCM, SHA-256) of both directions. */
int crypto_pp_initial(crypto_pp *client, crypto_pp *server, const quince_env *env, uint32_t version,
                      const uint8_t *dcid, size_t dcid_len);

/*
 * RFC 9001 §6.1: the next key phase. next gets keys from
 * HKDF-Expand-Label(cur->secret, "quic ku" / "quicv2 ku", "", Hash.length)
 * and keeps cur's header-protection key. next must not be cur.
 */
int crypto_pp_next(crypto_pp *next, const crypto_pp *cur, const quince_env *env);

/* RFC 9001 §5.3: nonce = IV xor the packet number, left-padded to 12 bytes. */
void crypto_pp_nonce(const crypto_pp *pp, uint64_t pn, uint8_t nonce[CRYPTO_AEAD_NONCE_LEN]);

/*
 * Protect a packet in place (RFC 9001 §5.3, §5.4). pkt holds the unprotected
 * header (pn_offset + pn_len bytes, pn_len from pkt[0]'s low two bits) and
 * payload_len bytes of plaintext; cap is the buffer size. pn is the full
 * packet number (its low pn_len bytes are what the header carries). Returns
 * the packet length (header + payload + 16), CRYPTO_ERR_BUFFER_TOO_SMALL if
 * the tag does not fit, CRYPTO_ERR_ARGUMENT if the packet is too short for
 * a header-protection sample (pad the payload: pn_len + payload_len >= 4).
 */
int crypto_pp_protect(crypto_pp *pp, uint8_t *pkt, size_t cap, size_t pn_offset, uint64_t pn,
                      size_t payload_len);

/*
 * Header protection alone (RFC 9001 §5.4.1): apply masks the first byte
 * (4 bits for a long header, 5 for a short one) and the pn_len bytes at
 * pn_offset; remove does the reverse and returns the header length
 * (pn_offset + pn_len, pn_len read from the unmasked first byte).
 * CRYPTO_ERR_DECRYPT if the sample runs past pkt_len.
 */
int crypto_pp_apply_hp(const crypto_pp *pp, uint8_t *pkt, size_t pkt_len, size_t pn_offset);
int crypto_pp_remove_hp(const crypto_pp *pp, uint8_t *pkt, size_t pkt_len, size_t pn_offset);

/* The packet number field of a header whose protection was removed. */
uint64_t crypto_pp_read_pn(const uint8_t *pkt, size_t header_len);

/* RFC 9000 §A.3: the full packet number closest to expected_pn (largest
 * received + 1, or 0) whose low pn_len bytes are truncated_pn. */
uint64_t crypto_pp_decode_pn(uint64_t expected_pn, uint64_t truncated_pn, size_t pn_len);

/*
 * Open the payload of a packet whose header protection was removed
 * (RFC 9001 §5.3): AAD = pkt[0, header_len), ciphertext and tag from
 * header_len to pkt_len. Returns the plaintext length (the plaintext is at
 * pkt + header_len) or CRYPTO_ERR_DECRYPT; on failure the payload bytes are
 * unspecified but the last 16 bytes (a Stateless Reset token's place,
 * RFC 9000 §10.3.1) are untouched.
 */
int crypto_pp_open_payload(crypto_pp *pp, uint8_t *pkt, size_t header_len, size_t pkt_len,
                           uint64_t pn);

/*
 * remove_hp + decode_pn + open_payload with one set of keys, for callers
 * that do not need to choose keys by the key-phase bit in between. Returns
 * the plaintext length; *header_len and *pn get the header length and the
 * full packet number. After a failure the header may already be unmasked.
 */
int crypto_pp_unprotect(crypto_pp *pp, uint8_t *pkt, size_t pkt_len, size_t pn_offset,
                        uint64_t expected_pn, size_t *header_len, uint64_t *pn);

/* RFC 9001 §6.6: confidentiality limit (packets sealed) and integrity limit
 * (failed opens) of an AEAD; UINT64_MAX when there is none in practice. */
uint64_t crypto_pp_confidentiality_limit(crypto_aead_alg aead);
uint64_t crypto_pp_integrity_limit(crypto_aead_alg aead);

/*
 * RFC 9001 §5.8, RFC 9369 §3.3.3: the Retry Integrity Tag over the
 * pseudo-packet (ODCID length, ODCID, then the Retry packet without its
 * tag, retry_len bytes). The pseudo-packet is assembled in an env
 * allocation. odcid_len is at most 20.
 */
int crypto_retry_tag(const quince_env *env, uint32_t version, const uint8_t *odcid,
                     size_t odcid_len, const uint8_t *retry, size_t retry_len,
                     uint8_t tag[CRYPTO_RETRY_TAG_LEN]);
/* Check the last 16 bytes of a whole Retry packet: 0 or CRYPTO_ERR_DECRYPT. */
int crypto_retry_verify(const quince_env *env, uint32_t version, const uint8_t *odcid,
                        size_t odcid_len, const uint8_t *packet, size_t len);

#endif
