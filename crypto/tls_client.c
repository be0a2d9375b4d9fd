/* The TLS 1.3 client handshake (RFC 8446 §2, §4, Appendix A.1; RFC 9001 §4, §8). */
#include "crypto/tls_internal.h"

#include <string.h>

#include "base/cursor.h"

/* Room for a ClientHello beyond the variable parts (headers, lists, shares). */
#define CH_FIXED_ROOM 512

/* RFC 8446 §4.1.2; after a HelloRetryRequest the same hello with the new share and cookie. */
static int send_client_hello(crypto_tls *tls)
{
    uint8_t pub[CRYPTO_KEX_MAX_PUBLIC];
    int pub_len = crypto_kex_public(tls->kex, pub, sizeof(pub));
    if (pub_len < 0)
        return pub_len;
    crypto_tls_share share = {tls->kex_group, pub, (size_t)pub_len};
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
        .sig_algs = tls_sig_algs,
        .n_sig_algs = tls_n_sig_algs,
        .alpn = tls->cfg.alpn,
        .server_name = tls->cfg.server_name,
        .send_transport_params = tls->quic,
        .transport_params = tls->transport_params,
        .transport_params_len = tls->cfg.transport_params_len,
        .cookie = tls->cookie,
        .cookie_len = tls->cookie_len,
    };
    size_t cap = CH_FIXED_ROOM + tls->cookie_len + tls->cfg.transport_params_len;
    for (size_t i = 0; tls->cfg.alpn != NULL && tls->cfg.alpn[i] != NULL; i++)
        cap += 1 + strlen(tls->cfg.alpn[i]);
    if (tls->cfg.server_name != NULL)
        cap += strlen(tls->cfg.server_name);
    uint8_t *buf = tls_scratch(tls, cap);
    if (buf == NULL)
        return CRYPTO_ERR_NOMEM;
    int len = crypto_tls_encode_client_hello(&p, buf, cap);
    int rc = len < 0 ? CRYPTO_ERR_INTERNAL
                     : tls_send_message(tls, CRYPTO_LEVEL_INITIAL, buf, (size_t)len);
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
    /* One share, for our most preferred group; the server may ask for another. */
    int rc = new_share(tls, tls->groups[0]);
    if (rc == 0)
        rc = send_client_hello(tls);
    if (rc == 0)
        tls->state = TLS_C_WAIT_SH;
    return rc;
}

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
    int rc = crypto_tls_transcript_select(tls->env, &tls->transcript, tls->suite->hash, true);
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

    /* §4.2.8: we offered no PSK, so the ServerHello must carry a key share,
     * in the group we sent (and, after a retry, the group asked for). */
    if (!(sh.exts & crypto_tls_ext_bit(CRYPTO_EXT_KEY_SHARE)))
        return CRYPTO_ERR_MISSING_EXTENSION;
    if (sh.group != tls->kex_group)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    tls->suite = crypto_suite_by_id(sh.cipher_suite);
    tls->group = sh.group;
    if (!crypto_tls_transcript_selected(&tls->transcript))
        rc = crypto_tls_transcript_select(tls->env, &tls->transcript, tls->suite->hash, false);
    if (rc == 0)
        rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc < 0)
        return rc;

    uint8_t shared[CRYPTO_KEX_MAX_SECRET];
    int shared_len =
        crypto_kex_derive(tls->kex, sh.key_share.p, sh.key_share.len, shared, sizeof(shared));
    if (shared_len < 0)
        return shared_len == CRYPTO_ERR_NOMEM ? shared_len : CRYPTO_ERR_ILLEGAL_PARAMETER;
    crypto_kex_free(tls->env, tls->kex);
    tls->kex = NULL;

    uint8_t th[CRYPTO_HASH_MAX_LEN];
    rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc == 0)
        rc = crypto_tls_ks_init(&tls->ks, tls->suite->hash, NULL, 0);
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
    if ((ee.exts & crypto_tls_ext_bit(CRYPTO_EXT_EARLY_DATA)))
        return CRYPTO_ERR_UNSUPPORTED_EXTENSION;
    bool has_tp = (ee.exts & crypto_tls_ext_bit(CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS)) != 0;
    if (has_tp && !tls->quic)
        return CRYPTO_ERR_UNSUPPORTED_EXTENSION;

    if (ee.alpn.p != NULL) {
        bool ours = false;
        for (size_t i = 0; tls->cfg.alpn[i] != NULL && !ours; i++)
            ours = strlen(tls->cfg.alpn[i]) == ee.alpn.len &&
                   memcmp(tls->cfg.alpn[i], ee.alpn.p, ee.alpn.len) == 0;
        if (!ours)
            return CRYPTO_ERR_NO_APPLICATION_PROTOCOL; /* RFC 9001 §8.1 */
        memcpy(tls->alpn, ee.alpn.p, ee.alpn.len);
        tls->alpn[ee.alpn.len] = '\0';
        tls->has_alpn = true;
    } else if (tls->cfg.alpn != NULL && tls->quic) {
        return CRYPTO_ERR_NO_APPLICATION_PROTOCOL; /* RFC 9001 §8.1: ALPN is mandatory */
    }
    if (tls->quic) {
        if (!has_tp)
            return CRYPTO_ERR_MISSING_EXTENSION;
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
    if (rc == 0)
        tls->state = TLS_C_WAIT_CERT_CR;
    return rc;
}

/* RFC 8446 §4.3.2: we have no client certificate; remember the context to answer. */
static int on_certificate_request(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    quince_reader r = quince_reader_init(msg + CRYPTO_HS_HEADER_LEN, len - CRYPTO_HS_HEADER_LEN);
    uint8_t ctx_len;
    uint16_t ext_len;
    const uint8_t *ctx, *exts;
    if (!quince_get_u8(&r, &ctx_len) || !quince_get_bytes(&r, ctx_len, &ctx) ||
        !quince_get_u16(&r, &ext_len) || !quince_get_bytes(&r, ext_len, &exts) ||
        !quince_reader_empty(&r))
        return CRYPTO_ERR_DECODE_ERROR;
    memcpy(tls->cert_request_context, ctx, ctx_len);
    tls->cert_request_context_len = ctx_len;
    tls->cert_requested = true;
    int rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc == 0)
        tls->state = TLS_C_WAIT_CERT;
    return rc;
}

static int x509_error(int rc)
{
    switch (rc) {
    case CRYPTO_ERR_NOMEM:
    case CRYPTO_ERR_BAD_CERTIFICATE:
    case CRYPTO_ERR_UNKNOWN_CA:
    case CRYPTO_ERR_CERT_EXPIRED:
    case CRYPTO_ERR_UNSUPPORTED_CERTIFICATE:
        return rc;
    default:
        return CRYPTO_ERR_BAD_CERTIFICATE;
    }
}

/* RFC 8446 §4.4.2.4: the server's chain, checked as the config says. */
static int verify_chain(crypto_tls *tls, const crypto_tls_certificate *ct)
{
    const uint8_t *certs[CRYPTO_TLS_MAX_CHAIN];
    size_t lens[CRYPTO_TLS_MAX_CHAIN];
    for (size_t i = 0; i < ct->count; i++) {
        certs[i] = ct->certs[i].p;
        lens[i] = ct->certs[i].len;
    }
    int rc;
    switch (tls->cfg.verify_mode) {
    case CRYPTO_VERIFY_CHAIN: {
        if (tls->cfg.ca_store == NULL)
            return CRYPTO_ERR_UNKNOWN_CA;
        int64_t now = tls->cfg.verify_time_unix;
        if (now == 0 && tls->env->wall_clock != NULL)
            now = tls->env->wall_clock(tls->env->user);
        rc = crypto_x509_verify(tls->env, tls->cfg.ca_store, certs, lens, ct->count,
                                tls->cfg.server_name, now, &tls->peer_key);
        return rc < 0 ? x509_error(rc) : 0;
    }
    case CRYPTO_VERIFY_PINNED: {
        uint8_t digest[32];
        rc = crypto_hash(CRYPTO_HASH_SHA256, certs[0], lens[0], digest);
        if (rc < 0)
            return rc;
        bool match = false;
        for (size_t i = 0; i < tls->cfg.pinned_count; i++)
            match |= crypto_tls_ct_equal(digest, tls->cfg.pinned_sha256[i], 32);
        if (!match)
            return CRYPTO_ERR_BAD_CERTIFICATE;
        break;
    }
    case CRYPTO_VERIFY_INSECURE:
        break;
    default:
        return CRYPTO_ERR_INTERNAL;
    }
    rc = crypto_x509_pubkey(tls->env, certs[0], lens[0], &tls->peer_key);
    return rc < 0 ? x509_error(rc) : 0;
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
    rc = verify_chain(tls, &ct);
    if (rc == 0)
        rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc == 0)
        tls->state = TLS_C_WAIT_CV;
    return rc;
}

/* RFC 8446 §4.4.3 */
static int on_certificate_verify(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    crypto_tls_certificate_verify cv;
    int rc = crypto_tls_parse_certificate_verify(msg + CRYPTO_HS_HEADER_LEN,
                                                 len - CRYPTO_HS_HEADER_LEN, &cv);
    if (rc < 0)
        return rc;
    bool offered = false;
    for (size_t i = 0; i < tls_n_sig_algs; i++)
        offered |= tls_sig_algs[i] == cv.scheme;
    if (!offered || !tls_cv_scheme_allowed(cv.scheme))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    uint8_t th[CRYPTO_HASH_MAX_LEN];
    uint8_t content[TLS_CV_CONTENT_MAX];
    rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc < 0)
        return rc;
    size_t n = tls_cv_content(true, th, crypto_hash_len(tls->suite->hash), content);
    rc = crypto_pubkey_verify(tls->peer_key, cv.scheme, content, n, cv.signature.p,
                              cv.signature.len);
    if (rc < 0)
        return rc == CRYPTO_ERR_ILLEGAL_PARAMETER || rc == CRYPTO_ERR_NOMEM
                   ? rc
                   : CRYPTO_ERR_DECRYPT_ERROR;
    tls->sig_scheme = cv.scheme;
    /* Verified: an established connection does not keep the server's key. */
    crypto_pubkey_free(tls->env, tls->peer_key);
    tls->peer_key = NULL;
    rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc == 0)
        tls->state = TLS_C_WAIT_FINISHED;
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
        /* §4.4.2: an empty Certificate, with the request's context. */
        uint8_t ct[4 + 1 + 255 + 3];
        quince_writer w = quince_writer_init(ct, sizeof(ct));
        quince_put_u8(&w, CRYPTO_HS_CERTIFICATE);
        quince_put_u24(&w, (uint32_t)(1 + tls->cert_request_context_len + 3));
        quince_put_u8(&w, (uint8_t)tls->cert_request_context_len);
        quince_put_bytes(&w, tls->cert_request_context, tls->cert_request_context_len);
        quince_put_u24(&w, 0);
        rc = tls_send_message(tls, CRYPTO_LEVEL_HANDSHAKE, ct, (size_t)(w.p - ct));
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
    if (rc == 0)
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
        /* §4.6.1: tickets are ignored (no resumption yet). RFC 9001 §6:
         * KeyUpdate is not used with QUIC, and nothing else comes now. */
        if (type == CRYPTO_HS_NEW_SESSION_TICKET)
            return 0;
        break;
    default:
        break;
    }
    return CRYPTO_ERR_UNEXPECTED_MESSAGE;
}
