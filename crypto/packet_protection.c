/* QUIC packet protection (RFC 9001 §5, §6; RFC 9369 §3.3) on the crypto backend. */
#include "crypto/packet_protection.h"

#include <string.h>

#include "base/opt.h"
#include "base/wipe.h"
#include "crypto/hkdf_label.h"

/* Per-version constants, from RFC 9001 §5.2 and §5.8 and RFC 9369 §3.3. */
typedef struct pp_version {
    uint32_t version;
    uint8_t initial_salt[20];
    const char *key_label;
    const char *iv_label;
    const char *hp_label;
    const char *ku_label;
    uint8_t retry_key[16];
    uint8_t retry_nonce[12];
} pp_version;

static const pp_version versions[] = {
    {CRYPTO_QUIC_V1,
     {0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17,
      0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a},
     "quic key",
     "quic iv",
     "quic hp",
     "quic ku",
     {0xbe, 0x0c, 0x69, 0x0b, 0x9f, 0x66, 0x57, 0x5a, 0x1d, 0x76, 0x6b, 0x54, 0xe3, 0x68, 0xc8,
      0x4e},
     {0x46, 0x15, 0x99, 0xd3, 0x5d, 0x63, 0x2b, 0xf2, 0x23, 0x98, 0x25, 0xbb}},
#if QUINCE_QUIC_V2
    {CRYPTO_QUIC_V2,
     {0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93,
      0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9},
     "quicv2 key",
     "quicv2 iv",
     "quicv2 hp",
     "quicv2 ku",
     {0x8f, 0xb4, 0xb0, 0x1b, 0x56, 0xac, 0x48, 0xe2, 0x60, 0xfb, 0xcb, 0xce, 0xad, 0x7c, 0xcc,
      0x92},
     {0xd8, 0x69, 0x69, 0xbc, 0x2d, 0x7c, 0x6d, 0x99, 0x90, 0xef, 0xb0, 0x4a}},
#endif
};

static const pp_version *find_version(uint32_t version)
{
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
        if (versions[i].version == version)
            return &versions[i];
    }
    return NULL;
}

bool crypto_pp_version_supported(uint32_t version)
{
    return find_version(version) != NULL;
}

void crypto_pp_clear(crypto_pp *pp, const quince_env *env)
{
    if (pp == NULL)
        return;
    crypto_aead_free(env, pp->aead);
    crypto_hp_free(env, pp->hp);
    quince_wipe(pp, sizeof(*pp));
}

/* Key and IV from secret; the HP context from hp_key. */
static int pp_build(crypto_pp *pp, const quince_env *env, const pp_version *v,
                    const uint8_t *hp_key)
{
    uint8_t key[CRYPTO_AEAD_MAX_KEY_LEN];
    size_t key_len = crypto_aead_key_len(pp->aead_alg);
    int rc = crypto_hkdf_expand_label(pp->hash_alg, pp->secret, pp->secret_len, v->key_label, NULL,
                                      0, key, key_len);
    if (rc == 0)
        rc = crypto_hkdf_expand_label(pp->hash_alg, pp->secret, pp->secret_len, v->iv_label, NULL,
                                      0, pp->iv, sizeof(pp->iv));
    if (rc == 0) {
        memcpy(pp->hp_key, hp_key, key_len);
        pp->aead = crypto_aead_new(env, pp->aead_alg, key);
        pp->hp = crypto_hp_new(env, pp->aead_alg, pp->hp_key);
        if (pp->aead == NULL || pp->hp == NULL)
            rc = CRYPTO_ERR_NOMEM;
    }
    quince_wipe(key, sizeof(key));
    return rc;
}

/* RFC 9001 §5.1 */
int crypto_pp_init(crypto_pp *pp, const quince_env *env, uint32_t version, crypto_aead_alg aead,
                   crypto_hash_alg hash, const uint8_t *secret, size_t secret_len)
{
    memset(pp, 0, sizeof(*pp));
    const pp_version *v = find_version(version);
    if (v == NULL)
        return CRYPTO_ERR_UNSUPPORTED;
    size_t key_len = crypto_aead_key_len(aead);
    if (key_len == 0 || secret == NULL || secret_len != crypto_hash_len(hash) || secret_len == 0)
        return CRYPTO_ERR_ARGUMENT;
    pp->version = version;
    pp->aead_alg = aead;
    pp->hash_alg = hash;
    memcpy(pp->secret, secret, secret_len);
    pp->secret_len = secret_len;
    uint8_t hp_key[CRYPTO_AEAD_MAX_KEY_LEN];
    int rc =
        crypto_hkdf_expand_label(hash, secret, secret_len, v->hp_label, NULL, 0, hp_key, key_len);
    if (rc == 0)
        rc = pp_build(pp, env, v, hp_key);
    quince_wipe(hp_key, sizeof(hp_key));
    if (rc != 0)
        crypto_pp_clear(pp, env);
    return rc;
}

/* RFC 9001 §5.2, RFC 9369 §3.3.1 */
int crypto_pp_initial_secrets(uint32_t version, const uint8_t *dcid, size_t dcid_len,
                              uint8_t client_secret[CRYPTO_PP_INITIAL_SECRET_LEN],
                              uint8_t server_secret[CRYPTO_PP_INITIAL_SECRET_LEN])
{
    const pp_version *v = find_version(version);
    if (v == NULL)
        return CRYPTO_ERR_UNSUPPORTED;
    if ((dcid == NULL && dcid_len > 0) || dcid_len > CRYPTO_PP_MAX_CID_LEN)
        return CRYPTO_ERR_ARGUMENT;
    uint8_t initial[32];
    int rc = crypto_hkdf_extract(CRYPTO_HASH_SHA256, v->initial_salt, sizeof(v->initial_salt), dcid,
                                 dcid_len, initial);
    if (rc == 0 && client_secret != NULL)
        rc = crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, initial, 32, "client in", NULL, 0,
                                      client_secret, CRYPTO_PP_INITIAL_SECRET_LEN);
    if (rc == 0 && server_secret != NULL)
        rc = crypto_hkdf_expand_label(CRYPTO_HASH_SHA256, initial, 32, "server in", NULL, 0,
                                      server_secret, CRYPTO_PP_INITIAL_SECRET_LEN);
    quince_wipe(initial, sizeof(initial));
    return rc;
}

/* RFC 9001 §5.2 */
int crypto_pp_initial(crypto_pp *client, crypto_pp *server, const quince_env *env, uint32_t version,
                      const uint8_t *dcid, size_t dcid_len)
{
    uint8_t cs[32], ss[32];
    memset(client, 0, sizeof(*client));
    memset(server, 0, sizeof(*server));
    int rc = crypto_pp_initial_secrets(version, dcid, dcid_len, cs, ss);
    if (rc == 0)
        rc = crypto_pp_init(client, env, version, CRYPTO_AEAD_AES_128_GCM, CRYPTO_HASH_SHA256, cs,
                            sizeof(cs));
    if (rc == 0) {
        rc = crypto_pp_init(server, env, version, CRYPTO_AEAD_AES_128_GCM, CRYPTO_HASH_SHA256, ss,
                            sizeof(ss));
        if (rc != 0)
            crypto_pp_clear(client, env);
    }
    quince_wipe(cs, sizeof(cs));
    quince_wipe(ss, sizeof(ss));
    return rc;
}

/* RFC 9001 §6.1 */
int crypto_pp_next(crypto_pp *next, const crypto_pp *cur, const quince_env *env)
{
    if (next == cur)
        return CRYPTO_ERR_ARGUMENT;
    memset(next, 0, sizeof(*next));
    const pp_version *v = find_version(cur->version);
    if (v == NULL || cur->secret_len == 0)
        return CRYPTO_ERR_ARGUMENT;
    next->version = cur->version;
    next->aead_alg = cur->aead_alg;
    next->hash_alg = cur->hash_alg;
    next->secret_len = cur->secret_len;
    int rc = crypto_hkdf_expand_label(cur->hash_alg, cur->secret, cur->secret_len, v->ku_label,
                                      NULL, 0, next->secret, cur->secret_len);
    if (rc == 0)
        rc = pp_build(next, env, v, cur->hp_key);
    if (rc != 0)
        crypto_pp_clear(next, env);
    return rc;
}

/* RFC 9001 §5.3 */
void crypto_pp_nonce(const crypto_pp *pp, uint64_t pn, uint8_t nonce[CRYPTO_AEAD_NONCE_LEN])
{
    memcpy(nonce, pp->iv, CRYPTO_AEAD_NONCE_LEN);
    for (int i = 0; i < 8; i++)
        nonce[CRYPTO_AEAD_NONCE_LEN - 1 - i] ^= (uint8_t)(pn >> (8 * i));
}

/* RFC 9001 §5.4.1, §5.4.2: mask from the sample at pn_offset + 4. */
static int hp_mask(const crypto_pp *pp, const uint8_t *pkt, size_t pkt_len, size_t pn_offset,
                   uint8_t mask[5])
{
    if (pp->hp == NULL)
        return CRYPTO_ERR_ARGUMENT;
    if (pkt_len < CRYPTO_PP_SAMPLE_OFFSET + CRYPTO_PP_SAMPLE_LEN ||
        pn_offset > pkt_len - CRYPTO_PP_SAMPLE_OFFSET - CRYPTO_PP_SAMPLE_LEN || pn_offset == 0)
        return CRYPTO_ERR_DECRYPT;
    return crypto_hp_mask(pp->hp, pkt + pn_offset + CRYPTO_PP_SAMPLE_OFFSET, mask);
}

/* Long headers protect 4 bits of the first byte, short headers 5 (RFC 9001 §5.4.1). */
static uint8_t first_byte_mask(uint8_t first)
{
    return (first & 0x80) ? 0x0f : 0x1f;
}

/* RFC 9001 §5.4.1 */
int crypto_pp_apply_hp(const crypto_pp *pp, uint8_t *pkt, size_t pkt_len, size_t pn_offset)
{
    uint8_t mask[5];
    int rc = hp_mask(pp, pkt, pkt_len, pn_offset, mask);
    if (rc != 0)
        return rc;
    size_t pn_len = (size_t)(pkt[0] & 0x03) + 1; /* read before masking */
    pkt[0] ^= mask[0] & first_byte_mask(pkt[0]);
    for (size_t i = 0; i < pn_len; i++)
        pkt[pn_offset + i] ^= mask[1 + i];
    return 0;
}

/* RFC 9001 §5.4.1 */
int crypto_pp_remove_hp(const crypto_pp *pp, uint8_t *pkt, size_t pkt_len, size_t pn_offset)
{
    uint8_t mask[5];
    int rc = hp_mask(pp, pkt, pkt_len, pn_offset, mask);
    if (rc != 0)
        return rc;
    pkt[0] ^= mask[0] & first_byte_mask(pkt[0]);
    size_t pn_len = (size_t)(pkt[0] & 0x03) + 1; /* read after unmasking */
    for (size_t i = 0; i < pn_len; i++)
        pkt[pn_offset + i] ^= mask[1 + i];
    return (int)(pn_offset + pn_len);
}

uint64_t crypto_pp_read_pn(const uint8_t *pkt, size_t header_len)
{
    size_t pn_len = (size_t)(pkt[0] & 0x03) + 1;
    uint64_t pn = 0;
    for (size_t i = header_len - pn_len; i < header_len; i++)
        pn = pn << 8 | pkt[i];
    return pn;
}

/* RFC 9000 §A.3 */
uint64_t crypto_pp_decode_pn(uint64_t expected_pn, uint64_t truncated_pn, size_t pn_len)
{
    const uint64_t max_pn = (uint64_t)1 << 62;
    uint64_t win = (uint64_t)1 << (8 * pn_len);
    uint64_t hwin = win / 2, mask = win - 1;
    uint64_t candidate = (expected_pn & ~mask) | (truncated_pn & mask);
    if (candidate + hwin <= expected_pn && candidate < max_pn - win)
        return candidate + win;
    if (candidate > expected_pn + hwin && candidate >= win)
        return candidate - win;
    return candidate;
}

/* RFC 9001 §5.3, §5.4 */
int crypto_pp_protect(crypto_pp *pp, uint8_t *pkt, size_t cap, size_t pn_offset, uint64_t pn,
                      size_t payload_len)
{
    if (pp->aead == NULL || pkt == NULL || cap == 0 || pn_offset == 0)
        return CRYPTO_ERR_ARGUMENT;
    size_t pn_len = (size_t)(pkt[0] & 0x03) + 1;
    size_t header_len = pn_offset + pn_len;
    if (header_len > cap || payload_len > cap - header_len ||
        CRYPTO_AEAD_TAG_LEN > cap - header_len - payload_len)
        return CRYPTO_ERR_BUFFER_TOO_SMALL;
    size_t total = header_len + payload_len + CRYPTO_AEAD_TAG_LEN;
    if (pn_len + payload_len < CRYPTO_PP_SAMPLE_OFFSET) /* sample would run past the tag */
        return CRYPTO_ERR_ARGUMENT;
    uint8_t nonce[CRYPTO_AEAD_NONCE_LEN];
    crypto_pp_nonce(pp, pn, nonce);
    int n = crypto_aead_seal(pp->aead, nonce, pkt, header_len, pkt + header_len, payload_len,
                             pkt + header_len);
    if (n < 0)
        return n;
    int rc = crypto_pp_apply_hp(pp, pkt, total, pn_offset);
    return rc < 0 ? rc : (int)total;
}

/* RFC 9001 §5.3 */
int crypto_pp_open_payload(crypto_pp *pp, uint8_t *pkt, size_t header_len, size_t pkt_len,
                           uint64_t pn)
{
    if (pp->aead == NULL)
        return CRYPTO_ERR_ARGUMENT;
    if (header_len > pkt_len || pkt_len - header_len < CRYPTO_AEAD_TAG_LEN)
        return CRYPTO_ERR_DECRYPT;
    uint8_t nonce[CRYPTO_AEAD_NONCE_LEN];
    crypto_pp_nonce(pp, pn, nonce);
    return crypto_aead_open(pp->aead, nonce, pkt, header_len, pkt + header_len,
                            pkt_len - header_len, pkt + header_len);
}

int crypto_pp_unprotect(crypto_pp *pp, uint8_t *pkt, size_t pkt_len, size_t pn_offset,
                        uint64_t expected_pn, size_t *header_len, uint64_t *pn)
{
    int hl = crypto_pp_remove_hp(pp, pkt, pkt_len, pn_offset);
    if (hl < 0)
        return hl;
    size_t pn_len = (size_t)(pkt[0] & 0x03) + 1;
    uint64_t full = crypto_pp_decode_pn(expected_pn, crypto_pp_read_pn(pkt, (size_t)hl), pn_len);
    int n = crypto_pp_open_payload(pp, pkt, (size_t)hl, pkt_len, full);
    if (n < 0)
        return n;
    if (header_len != NULL)
        *header_len = (size_t)hl;
    if (pn != NULL)
        *pn = full;
    return n;
}

/* RFC 9001 §6.6 */
uint64_t crypto_pp_confidentiality_limit(crypto_aead_alg aead)
{
    return aead == CRYPTO_AEAD_CHACHA20_POLY1305 ? UINT64_MAX : (uint64_t)1 << 23;
}

/* RFC 9001 §6.6 */
uint64_t crypto_pp_integrity_limit(crypto_aead_alg aead)
{
    return aead == CRYPTO_AEAD_CHACHA20_POLY1305 ? (uint64_t)1 << 36 : (uint64_t)1 << 52;
}

/* RFC 9001 §5.8, RFC 9369 §3.3.3 */
int crypto_retry_tag(const quince_env *env, uint32_t version, const uint8_t *odcid,
                     size_t odcid_len, const uint8_t *retry, size_t retry_len,
                     uint8_t tag[CRYPTO_RETRY_TAG_LEN])
{
    const pp_version *v = find_version(version);
    if (v == NULL)
        return CRYPTO_ERR_UNSUPPORTED;
    if (odcid_len > CRYPTO_PP_MAX_CID_LEN || (odcid == NULL && odcid_len > 0) || retry == NULL ||
        retry_len == 0 || retry_len > 65535)
        return CRYPTO_ERR_ARGUMENT;
    size_t len = 1 + odcid_len + retry_len;
    uint8_t *pseudo = quince_env_alloc(env, len);
    crypto_aead *aead = crypto_aead_new(env, CRYPTO_AEAD_AES_128_GCM, v->retry_key);
    int rc = 0;
    if (pseudo == NULL || aead == NULL) {
        rc = CRYPTO_ERR_NOMEM;
    } else {
        pseudo[0] = (uint8_t)odcid_len;
        if (odcid_len > 0)
            memcpy(pseudo + 1, odcid, odcid_len);
        memcpy(pseudo + 1 + odcid_len, retry, retry_len);
        /* Empty plaintext: the output is the tag alone. */
        int n = crypto_aead_seal(aead, v->retry_nonce, pseudo, len, NULL, 0, tag);
        if (n != CRYPTO_RETRY_TAG_LEN)
            rc = n < 0 ? n : CRYPTO_ERR_INTERNAL;
    }
    crypto_aead_free(env, aead);
    quince_env_free(env, pseudo);
    return rc;
}

/* RFC 9001 §5.8 */
int crypto_retry_verify(const quince_env *env, uint32_t version, const uint8_t *odcid,
                        size_t odcid_len, const uint8_t *packet, size_t len)
{
    if (packet == NULL || len <= CRYPTO_RETRY_TAG_LEN)
        return CRYPTO_ERR_DECRYPT;
    uint8_t want[CRYPTO_RETRY_TAG_LEN];
    int rc =
        crypto_retry_tag(env, version, odcid, odcid_len, packet, len - CRYPTO_RETRY_TAG_LEN, want);
    if (rc != 0)
        return rc;
    uint8_t diff = 0;
    for (size_t i = 0; i < CRYPTO_RETRY_TAG_LEN; i++)
        diff |= want[i] ^ packet[len - CRYPTO_RETRY_TAG_LEN + i];
    return diff == 0 ? 0 : CRYPTO_ERR_DECRYPT;
}
