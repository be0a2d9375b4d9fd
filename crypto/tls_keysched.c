/* The TLS 1.3 transcript hash and key schedule (RFC 8446 §4.4.1, §4.4.4, §7.1). */
#include "crypto/tls_keysched.h"

#include <string.h>

#include "base/wipe.h"
#include "crypto/hkdf_label.h"
#include "crypto/tls_msg.h"

void crypto_tls_transcript_init(crypto_tls_transcript *t)
{
    memset(t, 0, sizeof(*t));
}

void crypto_tls_transcript_free(const quince_env *env, crypto_tls_transcript *t)
{
    if (t->ctx != NULL)
        crypto_hash_free(env, t->ctx);
    quince_env_free(env, t->pending);
    memset(t, 0, sizeof(*t));
}

int crypto_tls_transcript_add(const quince_env *env, crypto_tls_transcript *t, const uint8_t *msg,
                              size_t len)
{
    if (t->ctx != NULL)
        return crypto_hash_update(t->ctx, msg, len);
    uint8_t *p = quince_env_realloc(env, t->pending, t->pending_len + len);
    if (p == NULL)
        return CRYPTO_ERR_NOMEM;
    memcpy(p + t->pending_len, msg, len);
    t->pending = p;
    t->pending_len += len;
    return 0;
}

/* RFC 8446 §4.4.1 */
int crypto_tls_transcript_select(const quince_env *env, crypto_tls_transcript *t,
                                 crypto_hash_alg alg, bool hrr)
{
    if (t->ctx != NULL)
        return CRYPTO_ERR_INTERNAL;
    size_t hlen = crypto_hash_len(alg);
    if (hlen == 0)
        return CRYPTO_ERR_ARGUMENT;
    t->ctx = crypto_hash_new(env, alg);
    if (t->ctx == NULL)
        return CRYPTO_ERR_NOMEM;
    t->alg = alg;
    int rc;
    if (hrr) {
        /* Transcript-Hash(ClientHello1, HelloRetryRequest, ...) =
         *   Hash(message_hash || 00 00 Hash.length || Hash(ClientHello1) || ...) */
        uint8_t synthetic[CRYPTO_HS_HEADER_LEN + CRYPTO_HASH_MAX_LEN];
        synthetic[0] = CRYPTO_HS_MESSAGE_HASH;
        synthetic[1] = 0;
        synthetic[2] = 0;
        synthetic[3] = (uint8_t)hlen;
        rc = crypto_hash(alg, t->pending, t->pending_len, synthetic + CRYPTO_HS_HEADER_LEN);
        if (rc == 0)
            rc = crypto_hash_update(t->ctx, synthetic, CRYPTO_HS_HEADER_LEN + hlen);
    } else {
        rc = crypto_hash_update(t->ctx, t->pending, t->pending_len);
    }
    quince_env_free(env, t->pending);
    t->pending = NULL;
    t->pending_len = 0;
    return rc;
}

bool crypto_tls_transcript_selected(const crypto_tls_transcript *t)
{
    return t->ctx != NULL;
}

int crypto_tls_transcript_hash(const crypto_tls_transcript *t, uint8_t *out)
{
    if (t->ctx == NULL)
        return CRYPTO_ERR_INTERNAL;
    return crypto_hash_peek(t->ctx, out);
}

/* RFC 8446 §7.1: the "derived" step and the next HKDF-Extract. */
static int next_stage(crypto_tls_keysched *ks, const uint8_t *ikm, size_t ikm_len)
{
    uint8_t derived[CRYPTO_HASH_MAX_LEN];
    int rc = crypto_derive_secret(ks->alg, ks->secret, "derived", NULL, derived);
    if (rc == 0)
        rc = crypto_hkdf_extract(ks->alg, derived, ks->hash_len, ikm, ikm_len, ks->secret);
    quince_wipe(derived, sizeof(derived));
    return rc;
}

/* RFC 8446 §7.1 */
int crypto_tls_ks_init(crypto_tls_keysched *ks, crypto_hash_alg alg, const uint8_t *psk,
                       size_t psk_len)
{
    memset(ks, 0, sizeof(*ks));
    ks->alg = alg;
    ks->hash_len = crypto_hash_len(alg);
    if (ks->hash_len == 0)
        return CRYPTO_ERR_ARGUMENT;
    uint8_t zeros[CRYPTO_HASH_MAX_LEN] = {0};
    if (psk == NULL) {
        psk = zeros;
        psk_len = ks->hash_len;
    }
    return crypto_hkdf_extract(alg, zeros, ks->hash_len, psk, psk_len, ks->secret);
}

/* RFC 8446 §7.1 */
int crypto_tls_ks_early_traffic(const crypto_tls_keysched *ks, const uint8_t *th_ch, uint8_t *out)
{
    return crypto_derive_secret(ks->alg, ks->secret, "c e traffic", th_ch, out);
}

/* RFC 8446 §7.1 */
int crypto_tls_ks_handshake(crypto_tls_keysched *ks, const uint8_t *ecdhe, size_t ecdhe_len,
                            const uint8_t *th_ch_sh)
{
    int rc = next_stage(ks, ecdhe, ecdhe_len);
    if (rc == 0)
        rc = crypto_derive_secret(ks->alg, ks->secret, "c hs traffic", th_ch_sh, ks->client_hs);
    if (rc == 0)
        rc = crypto_derive_secret(ks->alg, ks->secret, "s hs traffic", th_ch_sh, ks->server_hs);
    return rc;
}

/* RFC 8446 §7.1 */
int crypto_tls_ks_master(crypto_tls_keysched *ks, const uint8_t *th_ch_sf)
{
    uint8_t zeros[CRYPTO_HASH_MAX_LEN] = {0};
    int rc = next_stage(ks, zeros, ks->hash_len);
    if (rc == 0)
        rc = crypto_derive_secret(ks->alg, ks->secret, "c ap traffic", th_ch_sf, ks->client_ap);
    if (rc == 0)
        rc = crypto_derive_secret(ks->alg, ks->secret, "s ap traffic", th_ch_sf, ks->server_ap);
    if (rc == 0)
        rc = crypto_derive_secret(ks->alg, ks->secret, "exp master", th_ch_sf, ks->exporter);
    return rc;
}

/* RFC 8446 §7.1 */
int crypto_tls_ks_resumption(crypto_tls_keysched *ks, const uint8_t *th_ch_cf)
{
    return crypto_derive_secret(ks->alg, ks->secret, "res master", th_ch_cf, ks->resumption);
}

/* RFC 8446 §4.4.4 */
int crypto_tls_ks_finished(crypto_hash_alg alg, const uint8_t *base_key, const uint8_t *th,
                           uint8_t *out)
{
    size_t hlen = crypto_hash_len(alg);
    uint8_t finished_key[CRYPTO_HASH_MAX_LEN];
    int rc = crypto_hkdf_expand_label(alg, base_key, hlen, "finished", NULL, 0, finished_key, hlen);
    if (rc == 0)
        rc = crypto_hmac(alg, finished_key, hlen, th, hlen, out);
    quince_wipe(finished_key, sizeof(finished_key));
    return rc;
}

void crypto_tls_ks_wipe(crypto_tls_keysched *ks)
{
    quince_wipe(ks, sizeof(*ks));
}

bool crypto_tls_ct_equal(const uint8_t *a, const uint8_t *b, size_t len)
{
    uint8_t diff = 0;
    for (size_t i = 0; i < len; i++)
        diff |= (uint8_t)(a[i] ^ b[i]);
    return diff == 0;
}
