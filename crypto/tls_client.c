/* The TLS 1.3 client handshake (RFC 8446 §2, §4, Appendix A.1; RFC 9001 §4, §8). */
#include "crypto/tls_internal.h"

#include <string.h>

#include "base/cursor.h"
#include "crypto/backend.h"
#include "crypto/hkdf_label.h"

/* Room for a ClientHello beyond the variable parts (headers, lists, shares). */
#define CH_FIXED_ROOM 512

static bool offered_suite(const crypto_tls *tls, uint16_t id)
{
    for (size_t i = 0; i < tls->n_suites; i++)
        if (tls->suites[i] == id)
            return true;
    return false;
}

static bool offered_group(const crypto_tls *tls, uint16_t g)
{
    for (size_t i = 0; i < tls->n_groups; i++)
        if (tls->groups[i] == g)
            return true;
    return false;
}

static bool alpn_ours(const crypto_tls *tls, const uint8_t *name, size_t len)
{
    for (size_t i = 0; tls->cfg.alpn != NULL && tls->cfg.alpn[i] != NULL; i++)
        if (strlen(tls->cfg.alpn[i]) == len && memcmp(tls->cfg.alpn[i], name, len) == 0)
            return true;
    return false;
}

/* RFC 8446 §4.6.1, §4.2.10: whether the stored session may be offered (and with early data). */
static void choose_session(crypto_tls *tls)
{
    const crypto_tls_session *ss = &tls->session;
    tls->psk_offered = false;
    tls->early = CRYPTO_EARLY_NONE;
    if (!QUINCE_RESUMPTION || !tls->have_session || !offered_suite(tls, ss->suite))
        return;
    int64_t age_ms = tls_now_ms(tls) - ss->received_ms;
    if (age_ms < 0 || age_ms >= (int64_t)ss->lifetime * 1000)
        return;
    /* §4.6.1: only for the server name the session came from. */
    const char *sni = tls->cfg.server_name != NULL ? tls->cfg.server_name : "";
    if (strlen(sni) != ss->sni.len || memcmp(sni, ss->sni.p, ss->sni.len) != 0)
        return;
    tls->psk_suite = crypto_suite_by_id(ss->suite);
    tls->psk_len = ss->psk.len;
    memcpy(tls->psk, ss->psk.p, ss->psk.len);
    tls->psk_offered = true;
    /* §4.2.10: early data with the session's ALPN (RFC 9001 §4.6.1: all of it, in QUIC). */
    if (tls->cfg.early_data && ss->max_early_data > 0 &&
        (!tls->quic || ss->max_early_data == 0xffffffff) &&
        (ss->alpn.len == 0 ? tls->cfg.alpn == NULL : alpn_ours(tls, ss->alpn.p, ss->alpn.len)))
        tls->early = CRYPTO_EARLY_OFFERED;
}

/* RFC 8446 §4.1.2; after a HelloRetryRequest the same hello with the new share and cookie
 * (and, when resuming, new binders over the HelloRetryRequest, §4.2.11.2). */
static int send_client_hello(crypto_tls *tls)
{
    uint8_t pub[CRYPTO_KEX_MAX_PUBLIC];
    int pub_len = crypto_kex_public(tls->kex, pub, sizeof(pub));
    if (pub_len < 0)
        return pub_len;
    crypto_tls_share share = {tls->kex_group, pub, (size_t)pub_len};
    uint16_t sig_algs[TLS_MAX_SIG_ALGS];
    uint8_t modes[2] = {CRYPTO_PSK_DHE_KE, CRYPTO_PSK_KE};
    size_t hlen = TLS_PSK_OFFERED(tls) ? crypto_hash_len(tls->psk_suite->hash) : 0;
    uint32_t obfuscated = 0;
    if (TLS_PSK_OFFERED(tls)) {
        /* §4.2.11.1: milliseconds since the ticket came, plus ticket_age_add. */
        int64_t age_ms = tls_now_ms(tls) - tls->session.received_ms;
        obfuscated = (uint32_t)((uint64_t)age_ms + tls->session.age_add);
    }
    crypto_tls_client_hello_params p = {
        .random = tls->client_random,
        .session_id = tls->session_id,
        .session_id_len = tls->session_id_len,
        .suites = tls->suites,
        .n_suites = tls->n_suites,
        .groups = tls->groups,
        .n_groups = tls->n_groups,
        .shares = &share,
        .n_shares = 1,
        .sig_algs = sig_algs,
        .n_sig_algs = tls_sig_algs(crypto_backend_default(), sig_algs),
        .alpn = tls->cfg.alpn,
        .server_name = tls->cfg.server_name,
        .send_transport_params = tls->quic,
        .transport_params = tls->transport_params,
        .transport_params_len = tls->cfg.transport_params_len,
        .cookie = tls->cookie,
        .cookie_len = tls->cookie_len,
        .psk_modes = modes,
        .n_psk_modes = TLS_PSK_OFFERED(tls) ? (tls->cfg.psk_ke ? 2 : 1) : 0,
        .early_data = TLS_EARLY_IS(tls, CRYPTO_EARLY_OFFERED),
        .psk_identity = tls->session.ticket.p,
        .psk_identity_len = tls->session.ticket.len,
        .psk_obfuscated_age = obfuscated,
        .psk_binder_len = hlen,
    };
    size_t cap = CH_FIXED_ROOM + tls->cookie_len + tls->cfg.transport_params_len;
    for (size_t i = 0; tls->cfg.alpn != NULL && tls->cfg.alpn[i] != NULL; i++)
        cap += 1 + strlen(tls->cfg.alpn[i]);
    if (tls->cfg.server_name != NULL)
        cap += strlen(tls->cfg.server_name);
    if (TLS_PSK_OFFERED(tls))
        cap += 32 + tls->session.ticket.len + hlen;
    uint8_t *buf = tls_scratch(tls, cap);
    if (buf == NULL)
        return CRYPTO_ERR_NOMEM;
    int len = crypto_tls_encode_client_hello(&p, buf, cap);
    int rc = len < 0 ? CRYPTO_ERR_INTERNAL : 0;
    if (rc == 0 && TLS_PSK_OFFERED(tls)) {
        size_t trunc = (size_t)len - CRYPTO_TLS_BINDERS_LEN(hlen);
        rc = tls_psk_binder(tls, tls->psk_suite, tls->psk, tls->hrr_prefix, tls->hrr_prefix_len,
                            buf, trunc, buf + (size_t)len - hlen);
    }
    if (rc == 0 && TLS_EARLY_IS(tls, CRYPTO_EARLY_OFFERED)) {
        /* §7.1: client_early_traffic_secret over ClientHello; 0-RTT keys now. */
        uint8_t th[CRYPTO_HASH_MAX_LEN], early[CRYPTO_HASH_MAX_LEN];
        rc = crypto_hash(tls->psk_suite->hash, buf, (size_t)len, th);
        if (rc == 0)
            rc = crypto_tls_ks_init(&tls->ks, tls->psk_suite->hash, tls->psk, tls->psk_len);
        if (rc == 0)
            rc = crypto_tls_ks_early_traffic(&tls->ks, th, early);
        if (rc == 0)
            rc = tls_send_message(tls, CRYPTO_LEVEL_INITIAL, buf, (size_t)len);
        tls->suite = tls->psk_suite; /* 0-RTT is protected with the session's suite */
        if (rc == 0)
            rc = tls_install_secret(tls, CRYPTO_LEVEL_EARLY, true, early);
        memset(early, 0, sizeof(early));
    } else if (rc == 0) {
        rc = tls_send_message(tls, CRYPTO_LEVEL_INITIAL, buf, (size_t)len);
    }
    tls_scratch_free(tls, buf);
    return rc;
}

static int new_share(crypto_tls *tls, uint16_t group)
{
    if (tls->kex != NULL)
        crypto_kex_free(tls->env, tls->kex);
    tls->kex = crypto_kex_new(tls->env, group);
    tls->kex_group = group;
    return tls->kex == NULL ? CRYPTO_ERR_NOMEM : 0;
}

/* RFC 8446 §4.1.2; RFC 9001 §8.4: no middlebox compatibility mode, so an empty session id. */
int tls_client_start(crypto_tls *tls)
{
    quince_env_random(tls->env, tls->client_random, sizeof(tls->client_random));
    tls->session_id_len = 0;
    choose_session(tls);
    /* One share, for our most preferred group; the server may ask for another. */
    int rc = new_share(tls, tls->groups[0]);
    if (rc == 0)
        rc = send_client_hello(tls);
    if (rc == 0)
        tls->state = TLS_C_WAIT_SH;
    return rc;
}

/* RFC 8446 §4.1.3, §4.2.1: checks common to ServerHello and HelloRetryRequest. */
static int check_server_hello(crypto_tls *tls, const crypto_tls_server_hello *sh)
{
    static const uint8_t downgrade[7] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44};
    if (sh->version == 0) {
        /* A TLS 1.2 (or older) answer; §4.1.3: the downgrade sentinels are an attack. */
        const uint8_t *tail = sh->random + CRYPTO_TLS_RANDOM_LEN - 8;
        if (memcmp(tail, downgrade, 7) == 0 && (tail[7] == 0 || tail[7] == 1))
            return CRYPTO_ERR_ILLEGAL_PARAMETER;
        return CRYPTO_ERR_PROTOCOL_VERSION;
    }
    if (sh->version != CRYPTO_TLS_VERSION_13 || sh->legacy_version != CRYPTO_TLS_LEGACY_VERSION)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    if (sh->session_id.len != tls->session_id_len ||
        memcmp(sh->session_id.p, tls->session_id, tls->session_id_len) != 0)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    if (!offered_suite(tls, sh->cipher_suite))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    /* §4.1.4: the ServerHello keeps the HelloRetryRequest's suite. */
    if (tls->hrr && tls->suite->id != sh->cipher_suite)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    return 0;
}

/* RFC 8446 §4.1.4 */
static int on_hello_retry_request(crypto_tls *tls, const crypto_tls_server_hello *sh,
                                  const uint8_t *msg, size_t len)
{
    if (tls->hrr)
        return CRYPTO_ERR_UNEXPECTED_MESSAGE; /* a second HelloRetryRequest */
    bool has_group = (sh->exts & crypto_tls_ext_bit(CRYPTO_EXT_KEY_SHARE)) != 0;
    bool has_cookie = sh->cookie.len > 0;
    /* §4.2.8: a group we support and did not already send a share for. */
    if (has_group && (!offered_group(tls, sh->group) || sh->group == tls->kex_group))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    if (!has_group && !has_cookie)
        return CRYPTO_ERR_ILLEGAL_PARAMETER; /* it would not change the ClientHello */
    tls->hrr = true;
    tls->suite = crypto_suite_by_id(sh->cipher_suite);
    /* §4.2.10: no early data after a HelloRetryRequest; §4.1.2: a PSK of
     * another hash than the suite's is dropped, else its binder is redone
     * over the HelloRetryRequest. */
    if (TLS_EARLY_IS(tls, CRYPTO_EARLY_OFFERED))
        tls->early = CRYPTO_EARLY_REJECTED;
    if (TLS_PSK_OFFERED(tls) && tls->psk_suite->hash != tls->suite->hash)
        tls->psk_offered = false;
    int rc = 0;
    if (TLS_PSK_OFFERED(tls))
        rc = tls_keep_hrr_prefix(tls, tls->suite, tls->transcript.pending,
                                 tls->transcript.pending_len, msg, len);
    if (rc == 0)
        rc = crypto_tls_transcript_select(tls->env, &tls->transcript, tls->suite->hash, true);
    if (rc == 0)
        rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc < 0)
        return rc;
    if (has_cookie) {
        tls->cookie = quince_env_alloc(tls->env, sh->cookie.len);
        if (tls->cookie == NULL)
            return CRYPTO_ERR_NOMEM;
        memcpy(tls->cookie, sh->cookie.p, sh->cookie.len);
        tls->cookie_len = sh->cookie.len;
    }
    if (has_group) {
        tls->hrr_group = sh->group;
        rc = new_share(tls, sh->group);
        if (rc < 0)
            return rc;
    }
    return send_client_hello(tls);
}

/* RFC 8446 §4.1.3 */
static int on_server_hello(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    crypto_tls_server_hello sh;
    int rc =
        crypto_tls_parse_server_hello(msg + CRYPTO_HS_HEADER_LEN, len - CRYPTO_HS_HEADER_LEN, &sh);
    if (rc == 0)
        rc = check_server_hello(tls, &sh);
    if (rc < 0)
        return rc;
    if (sh.is_hrr)
        return on_hello_retry_request(tls, &sh, msg, len);

    /* §4.2.11: the server took our PSK (identity 0, the only one offered),
     * whose hash the suite must have. */
    if (sh.exts & crypto_tls_ext_bit(CRYPTO_EXT_PRE_SHARED_KEY)) {
        if (!TLS_PSK_OFFERED(tls))
            return CRYPTO_ERR_UNSUPPORTED_EXTENSION;
        if (sh.psk_identity != 0 ||
            crypto_suite_by_id(sh.cipher_suite)->hash != tls->psk_suite->hash)
            return CRYPTO_ERR_ILLEGAL_PARAMETER;
        tls->psk_accepted = true;
    }
    bool has_share = (sh.exts & crypto_tls_ext_bit(CRYPTO_EXT_KEY_SHARE)) != 0;
    /* §4.2.8: a key share, in the group we sent (and, after a retry, the
     * group asked for); none only for psk_ke, if we offered it (§4.2.9). */
    if (!has_share && !(TLS_PSK_ACCEPTED(tls) && tls->cfg.psk_ke))
        return CRYPTO_ERR_MISSING_EXTENSION;
    if (has_share && sh.group != tls->kex_group)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    /* §4.2.10: 0-RTT keys were the session's suite's; the server must keep it. */
    if (TLS_EARLY_IS(tls, CRYPTO_EARLY_OFFERED) &&
        (!TLS_PSK_ACCEPTED(tls) || sh.cipher_suite != tls->psk_suite->id))
        tls->early = CRYPTO_EARLY_REJECTED;
    tls->psk_mode = has_share ? CRYPTO_PSK_DHE_KE : CRYPTO_PSK_KE;
    tls->suite = crypto_suite_by_id(sh.cipher_suite);
    tls->group = has_share ? sh.group : 0;
    if (!crypto_tls_transcript_selected(&tls->transcript))
        rc = crypto_tls_transcript_select(tls->env, &tls->transcript, tls->suite->hash, false);
    if (rc == 0)
        rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc < 0)
        return rc;

    /* §7.1: with psk_ke the (EC)DHE input is zeros. */
    uint8_t shared[CRYPTO_KEX_MAX_SECRET + CRYPTO_HASH_MAX_LEN] = {0};
    int shared_len = (int)crypto_hash_len(tls->suite->hash);
    if (has_share) {
        shared_len =
            crypto_kex_derive(tls->kex, sh.key_share.p, sh.key_share.len, shared, sizeof(shared));
        if (shared_len < 0)
            return shared_len == CRYPTO_ERR_NOMEM ? shared_len : CRYPTO_ERR_ILLEGAL_PARAMETER;
    }
    crypto_kex_free(tls->env, tls->kex);
    tls->kex = NULL;

    uint8_t th[CRYPTO_HASH_MAX_LEN];
    rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc == 0)
        rc = crypto_tls_ks_init(&tls->ks, tls->suite->hash, TLS_PSK_ACCEPTED(tls) ? tls->psk : NULL,
                                tls->psk_len);
    if (rc == 0)
        rc = crypto_tls_ks_handshake(&tls->ks, shared, (size_t)shared_len, th);
    memset(shared, 0, sizeof(shared));
    if (rc == 0)
        rc = tls_install_secret(tls, CRYPTO_LEVEL_HANDSHAKE, false, tls->ks.server_hs);
    if (rc == 0)
        rc = tls_install_secret(tls, CRYPTO_LEVEL_HANDSHAKE, true, tls->ks.client_hs);
    if (rc < 0)
        return rc;
    tls->recv_level = CRYPTO_LEVEL_HANDSHAKE;
    tls->state = TLS_C_WAIT_EE;
    return 0;
}

/* RFC 8446 §4.3.1; RFC 7301 §3.2; RFC 9001 §8.1, §8.2 */
static int on_encrypted_extensions(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    crypto_tls_encrypted_extensions ee;
    int rc = crypto_tls_parse_encrypted_extensions(msg + CRYPTO_HS_HEADER_LEN,
                                                   len - CRYPTO_HS_HEADER_LEN, &ee);
    if (rc < 0)
        return rc;
    /* §4.2: responses to extensions we did not send. */
    bool sent_sni = tls->cfg.server_name != NULL && !crypto_tls_is_ip_literal(tls->cfg.server_name);
    if ((ee.exts & crypto_tls_ext_bit(CRYPTO_EXT_SERVER_NAME)) && !sent_sni)
        return CRYPTO_ERR_UNSUPPORTED_EXTENSION;
    if ((ee.exts & crypto_tls_ext_bit(CRYPTO_EXT_ALPN)) && tls->cfg.alpn == NULL)
        return CRYPTO_ERR_UNSUPPORTED_EXTENSION;
    /* §4.2.10: early_data only in answer to ours, and then with the session's ALPN. */
    bool early = (ee.exts & crypto_tls_ext_bit(CRYPTO_EXT_EARLY_DATA)) != 0;
    if (early && tls->early != CRYPTO_EARLY_OFFERED)
        return CRYPTO_ERR_UNSUPPORTED_EXTENSION;
    if (early && (ee.alpn.len != tls->session.alpn.len ||
                  memcmp(ee.alpn.p, tls->session.alpn.p, ee.alpn.len) != 0))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    if (TLS_EARLY_IS(tls, CRYPTO_EARLY_OFFERED))
        tls->early = early ? CRYPTO_EARLY_ACCEPTED : CRYPTO_EARLY_REJECTED;
    bool has_tp = (ee.exts & crypto_tls_ext_bit(CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS)) != 0;
    if (has_tp && !tls->quic)
        return CRYPTO_ERR_UNSUPPORTED_EXTENSION;

    if (ee.alpn.p != NULL) {
        const char *ours = NULL;
        for (size_t i = 0; tls->cfg.alpn != NULL && tls->cfg.alpn[i] != NULL && ours == NULL; i++)
            if (strlen(tls->cfg.alpn[i]) == ee.alpn.len &&
                memcmp(tls->cfg.alpn[i], ee.alpn.p, ee.alpn.len) == 0)
                ours = tls->cfg.alpn[i];
        if (ours == NULL)
            return CRYPTO_ERR_NO_APPLICATION_PROTOCOL; /* RFC 9001 §8.1 */
        tls->alpn = ours;
        tls->has_alpn = true;
    } else if (tls->cfg.alpn != NULL && tls->quic) {
        return CRYPTO_ERR_NO_APPLICATION_PROTOCOL; /* RFC 9001 §8.1: ALPN is mandatory */
    }
    if (tls->quic) {
        if (!has_tp)
            return CRYPTO_ERR_MISSING_EXTENSION;
        /* Kept for the sessions this connection's tickets make (RFC 9000 §7.4.1). */
        quince_env_free(tls->env, tls->peer_tp);
        tls->peer_tp_len = 0;
        tls->peer_tp = quince_env_alloc(tls->env, ee.transport_params.len + 1);
        if (tls->peer_tp == NULL)
            return CRYPTO_ERR_NOMEM;
        memcpy(tls->peer_tp, ee.transport_params.p, ee.transport_params.len);
        tls->peer_tp_len = ee.transport_params.len;
        if (tls->cb.peer_transport_params != NULL) {
            uint8_t alert = CRYPTO_ALERT_ILLEGAL_PARAMETER;
            rc = tls->cb.peer_transport_params(tls->cb.user, ee.transport_params.p,
                                               ee.transport_params.len, &alert);
            if (rc < 0) {
                tls->alert = alert;
                return rc;
            }
        }
    }
    rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    /* §2.2: a resumed handshake has no certificates; Finished comes next. */
    if (rc == 0)
        tls->state = TLS_PSK_ACCEPTED(tls) ? TLS_C_WAIT_FINISHED : TLS_C_WAIT_CERT_CR;
    return rc;
}

/* RFC 8446 §4.3.2: the server asks for a certificate; we answer after its Finished. */
static int on_certificate_request(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    crypto_tls_certificate_request cr;
    int rc = crypto_tls_parse_certificate_request(msg + CRYPTO_HS_HEADER_LEN,
                                                  len - CRYPTO_HS_HEADER_LEN, &cr);
    if (rc < 0)
        return rc;
    /* §4.3.2: empty unless post-handshake (which QUIC does not use, RFC 9001 §4.4). */
    if (cr.context.len != 0)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    tls->cert_requested = true;
    /* The first scheme of the server's list that our key signs with; none:
     * we answer with an empty Certificate (§4.4.2). */
    tls->client_sig_scheme = 0;
    if (tls->cfg.private_key != NULL && tls->cfg.cert_chain_count > 0) {
        size_t n = crypto_tls_u16_list_count(cr.sig_algs);
        for (size_t i = 0; i < n && tls->client_sig_scheme == 0; i++) {
            uint16_t scheme = crypto_tls_u16_list_at(cr.sig_algs, i);
            if (tls_cv_scheme_allowed(scheme) &&
                crypto_privkey_supports(tls->cfg.private_key, scheme))
                tls->client_sig_scheme = scheme;
        }
    }
    rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc == 0)
        tls->state = TLS_C_WAIT_CERT;
    return rc;
}

/* RFC 8446 §4.4.2 */
static int on_certificate(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    crypto_tls_certificate ct;
    int rc =
        crypto_tls_parse_certificate(msg + CRYPTO_HS_HEADER_LEN, len - CRYPTO_HS_HEADER_LEN, &ct);
    if (rc < 0)
        return rc;
    if (ct.context.len != 0)
        return CRYPTO_ERR_ILLEGAL_PARAMETER; /* §4.4.2: empty for server authentication */
    if (ct.count == 0)
        return CRYPTO_ERR_DECODE_ERROR; /* §4.4.2.4 */
    rc = tls_verify_peer_chain(tls, &ct, tls->cfg.server_name);
    if (rc == 0)
        rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc == 0)
        tls->state = TLS_C_WAIT_CV;
    return rc;
}

/* RFC 8446 §4.4.3 */
static int on_certificate_verify(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    int rc = tls_check_certificate_verify(tls, msg, len);
    if (rc == 0) {
        /* Verified: an established connection does not keep the server's key. */
        crypto_pubkey_free(tls->env, tls->peer_key);
        tls->peer_key = NULL;
    }
    if (rc == 0)
        tls->state = TLS_C_WAIT_FINISHED;
    return rc;
}

/* RFC 8446 §4.4.2, §4.4.3: our chain and its CertificateVerify, or an empty
 * Certificate when we have no certificate (or none the server can check). */
static int send_client_certificate(crypto_tls *tls)
{
    bool have = tls->client_sig_scheme != 0;
    size_t count = have ? tls->cfg.cert_chain_count : 0;
    size_t cap = 16; /* the context is empty (§4.3.2, checked on arrival) */
    for (size_t i = 0; i < count; i++)
        cap += tls->cfg.cert_chain_lens[i] + 5;
    uint8_t *buf = tls_scratch(tls, cap);
    if (buf == NULL)
        return CRYPTO_ERR_NOMEM;
    int len = crypto_tls_encode_certificate_ctx(NULL, 0, tls->cfg.cert_chain,
                                                tls->cfg.cert_chain_lens, count, buf, cap);
    int rc = len < 0 ? CRYPTO_ERR_INTERNAL
                     : tls_send_message(tls, CRYPTO_LEVEL_HANDSHAKE, buf, (size_t)len);
    tls_scratch_free(tls, buf);
    if (rc == 0 && have)
        rc = tls_send_certificate_verify(tls, CRYPTO_LEVEL_HANDSHAKE, tls->client_sig_scheme);
    return rc;
}

/* RFC 8446 §4.4.4: check the server's Finished, then send ours. */
static int on_finished(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    size_t hlen = crypto_hash_len(tls->suite->hash);
    crypto_tls_span verify;
    int rc = crypto_tls_parse_finished(msg + CRYPTO_HS_HEADER_LEN, len - CRYPTO_HS_HEADER_LEN, hlen,
                                       &verify);
    if (rc < 0)
        return rc;
    uint8_t th[CRYPTO_HASH_MAX_LEN], expect[CRYPTO_HASH_MAX_LEN];
    rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc == 0)
        rc = crypto_tls_ks_finished(tls->suite->hash, tls->ks.server_hs, th, expect);
    if (rc < 0)
        return rc;
    if (!crypto_tls_ct_equal(expect, verify.p, hlen))
        return CRYPTO_ERR_DECRYPT_ERROR;
    rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc == 0)
        rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc == 0)
        rc = crypto_tls_ks_master(&tls->ks, th);
    if (rc < 0)
        return rc;

    if (tls->cert_requested) {
        rc = send_client_certificate(tls);
        if (rc == 0)
            rc = crypto_tls_transcript_hash(&tls->transcript, th);
        if (rc < 0)
            return rc;
    }
    uint8_t fin[CRYPTO_HS_HEADER_LEN + CRYPTO_HASH_MAX_LEN];
    rc = crypto_tls_ks_finished(tls->suite->hash, tls->ks.client_hs, th, expect);
    if (rc == 0)
        rc = crypto_tls_encode_finished(expect, hlen, fin, sizeof(fin));
    if (rc > 0)
        rc = tls_send_message(tls, CRYPTO_LEVEL_HANDSHAKE, fin, (size_t)rc);
    if (rc == 0)
        rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc == 0 && QUINCE_RESUMPTION)
        rc = crypto_tls_ks_resumption(&tls->ks, th);
    if (rc == 0)
        rc = tls_install_secret(tls, CRYPTO_LEVEL_APP, false, tls->ks.server_ap);
    if (rc == 0)
        rc = tls_install_secret(tls, CRYPTO_LEVEL_APP, true, tls->ks.client_ap);
    if (rc < 0)
        return rc;
    tls_handshake_complete(tls);
    return 0;
}

/* RFC 8446 §4.6.1: a ticket becomes a storable session, handed to on_session. */
static int on_new_session_ticket(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    crypto_tls_new_session_ticket nst;
    int rc = crypto_tls_parse_new_session_ticket(msg + CRYPTO_HS_HEADER_LEN,
                                                 len - CRYPTO_HS_HEADER_LEN, &nst);
    if (rc < 0)
        return rc;
    /* RFC 9001 §4.6.1: in QUIC, early_data says 0xffffffff or nothing. */
    if (tls->quic && (nst.exts & crypto_tls_ext_bit(CRYPTO_EXT_EARLY_DATA)) &&
        nst.max_early_data != 0xffffffff)
        return CRYPTO_ERR_QUIC_PROTOCOL_VIOLATION;
    /* §4.6.1: at most seven days; 0: do not use. */
    if (nst.lifetime > TLS_TICKET_MAX_LIFETIME)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    if (nst.lifetime == 0 || tls->cfg.on_session == NULL)
        return 0;
    size_t hlen = crypto_hash_len(tls->suite->hash);
    uint8_t psk[CRYPTO_HASH_MAX_LEN];
    rc = crypto_hkdf_expand_label(tls->suite->hash, tls->ks.resumption, hlen, "resumption",
                                  nst.nonce.p, nst.nonce.len, psk, hlen);
    if (rc < 0)
        return rc;
    const char *sni = tls->cfg.server_name != NULL ? tls->cfg.server_name : "";
    crypto_tls_session ss = {
        .suite = tls->suite->id,
        .received_ms = tls_now_ms(tls),
        .lifetime = nst.lifetime,
        .age_add = nst.age_add,
        .max_early_data = nst.max_early_data,
        .psk = {psk, hlen},
        .ticket = nst.ticket,
        .alpn = {(const uint8_t *)tls->alpn, tls->has_alpn ? strlen(tls->alpn) : 0},
        .sni = {(const uint8_t *)sni, strlen(sni)},
        .transport_params = {tls->peer_tp, tls->peer_tp_len},
    };
    size_t cap = 64 + hlen + nst.ticket.len + ss.alpn.len + ss.sni.len + tls->peer_tp_len;
    uint8_t *buf = tls_scratch(tls, cap);
    if (buf == NULL) {
        memset(psk, 0, sizeof(psk));
        return CRYPTO_ERR_NOMEM;
    }
    int n = crypto_tls_session_encode(&ss, buf, cap);
    if (n > 0)
        tls->cfg.on_session(tls->cfg.session_user, buf, (size_t)n);
    memset(buf, 0, cap);
    tls_scratch_free(tls, buf);
    memset(psk, 0, sizeof(psk));
    return n < 0 ? CRYPTO_ERR_INTERNAL : 0;
}

/* RFC 8446 §A.1: the client's state machine. */
int tls_client_handle(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    uint8_t type = msg[0];
    switch (tls->state) {
    case TLS_C_WAIT_SH:
        if (type == CRYPTO_HS_SERVER_HELLO)
            return on_server_hello(tls, msg, len);
        break;
    case TLS_C_WAIT_EE:
        if (type == CRYPTO_HS_ENCRYPTED_EXTENSIONS)
            return on_encrypted_extensions(tls, msg, len);
        break;
    case TLS_C_WAIT_CERT_CR:
        if (type == CRYPTO_HS_CERTIFICATE_REQUEST)
            return on_certificate_request(tls, msg, len);
        if (type == CRYPTO_HS_CERTIFICATE)
            return on_certificate(tls, msg, len);
        break;
    case TLS_C_WAIT_CERT:
        if (type == CRYPTO_HS_CERTIFICATE)
            return on_certificate(tls, msg, len);
        break;
    case TLS_C_WAIT_CV:
        if (type == CRYPTO_HS_CERTIFICATE_VERIFY)
            return on_certificate_verify(tls, msg, len);
        break;
    case TLS_C_WAIT_FINISHED:
        if (type == CRYPTO_HS_FINISHED)
            return on_finished(tls, msg, len);
        break;
    case TLS_CONNECTED:
        /* RFC 9001 §6: KeyUpdate is not used with QUIC, and nothing but
         * tickets comes now. */
        if (type == CRYPTO_HS_NEW_SESSION_TICKET)
            return QUINCE_RESUMPTION ? on_new_session_ticket(tls, msg, len) : 0;
        break;
    default:
        break;
    }
    return CRYPTO_ERR_UNEXPECTED_MESSAGE;
}
