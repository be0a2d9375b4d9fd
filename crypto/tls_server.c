/* The TLS 1.3 server handshake (RFC 8446 §2, §4, Appendix A.2; RFC 9001 §4, §8). */
#include "crypto/tls_internal.h"

#include <string.h>

#include "base/cursor.h"
#include "crypto/backend.h"
#include "crypto/hkdf_label.h"

/* What the server chose from a ClientHello. */
typedef struct choice {
    uint16_t suite;
    uint16_t group;
    crypto_tls_span share; /* empty: a HelloRetryRequest is needed */
    uint16_t scheme;
    const char *alpn;
} choice;

/* RFC 8446 §4.1.1: our preference among the client's suites. */
static uint16_t choose_suite(const crypto_tls *tls, const crypto_tls_client_hello *ch)
{
    for (size_t i = 0; i < tls->n_suites; i++)
        if (crypto_tls_u16_list_has(ch->cipher_suites, tls->suites[i]))
            return tls->suites[i];
    return 0;
}

/* RFC 8446 §4.2.3: the first scheme of the client's list our key can sign with. */
static uint16_t choose_scheme(const crypto_tls *tls, const crypto_tls_client_hello *ch)
{
    size_t n = crypto_tls_u16_list_count(ch->sig_algs);
    for (size_t i = 0; i < n; i++) {
        uint16_t s = crypto_tls_u16_list_at(ch->sig_algs, i);
        if (tls_cv_scheme_allowed(s) && crypto_privkey_supports(tls->cfg.private_key, s))
            return s;
    }
    return 0;
}

/* RFC 7301 §3.2; RFC 9001 §8.1: our first protocol the client offers. */
static int choose_alpn(const crypto_tls *tls, const crypto_tls_client_hello *ch, const char **out)
{
    *out = NULL;
    if (tls->cfg.alpn == NULL)
        return 0;
    if (!(ch->exts & crypto_tls_ext_bit(CRYPTO_EXT_ALPN)))
        return tls->quic ? CRYPTO_ERR_NO_APPLICATION_PROTOCOL : 0;
    for (size_t i = 0; tls->cfg.alpn[i] != NULL; i++) {
        if (crypto_tls_alpn_has(ch->alpn, tls->cfg.alpn[i])) {
            *out = tls->cfg.alpn[i];
            return 0;
        }
    }
    return CRYPTO_ERR_NO_APPLICATION_PROTOCOL;
}

/*
 * RFC 8446 §4.2.8, §4.1.1: a share the client sent for one of our groups (in
 * our order), else a group it supports that we can ask for with a
 * HelloRetryRequest. Shares of groups we do not know (X25519MLKEM768, GREASE)
 * are skipped.
 */
static int choose_group(const crypto_tls *tls, const crypto_tls_client_hello *ch, choice *c)
{
    for (size_t i = 0; i < tls->n_groups; i++) {
        if (crypto_tls_key_share_find(ch->key_shares, tls->groups[i], &c->share)) {
            c->group = tls->groups[i];
            return 0;
        }
    }
    c->share.p = NULL;
    c->share.len = 0;
    for (size_t i = 0; i < tls->n_groups; i++) {
        if (crypto_tls_u16_list_has(ch->groups, tls->groups[i])) {
            c->group = tls->groups[i];
            return 0;
        }
    }
    return CRYPTO_ERR_HANDSHAKE_FAILURE;
}

/* RFC 8446 §4.1.2, §4.2, §9.2: check a ClientHello and choose the parameters. */
static int negotiate(crypto_tls *tls, const crypto_tls_client_hello *ch, choice *c)
{
    /* §4.2.1: only TLS 1.3, and only through supported_versions. */
    if (!crypto_tls_u16_list_has(ch->versions, CRYPTO_TLS_VERSION_13))
        return CRYPTO_ERR_PROTOCOL_VERSION;
    if (ch->compression_methods.len != 1 || ch->compression_methods.p[0] != 0)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    /* §9.2: mandatory extensions for a certificate-authenticated (EC)DHE handshake. */
    uint32_t need = crypto_tls_ext_bit(CRYPTO_EXT_SIGNATURE_ALGORITHMS) |
                    crypto_tls_ext_bit(CRYPTO_EXT_SUPPORTED_GROUPS) |
                    crypto_tls_ext_bit(CRYPTO_EXT_KEY_SHARE);
    if ((ch->exts & need) != need)
        return CRYPTO_ERR_MISSING_EXTENSION;
    /* §4.2.9: a PSK offer needs psk_key_exchange_modes (we ignore PSKs, but not this). */
    if ((ch->exts & crypto_tls_ext_bit(CRYPTO_EXT_PRE_SHARED_KEY)) &&
        !(ch->exts & crypto_tls_ext_bit(CRYPTO_EXT_PSK_KEY_EXCHANGE_MODES)))
        return CRYPTO_ERR_MISSING_EXTENSION;
    /* RFC 9001 §8.2 */
    bool has_tp = (ch->exts & crypto_tls_ext_bit(CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS)) != 0;
    if (tls->quic && !has_tp)
        return CRYPTO_ERR_MISSING_EXTENSION;
    if (!tls->quic && has_tp)
        return CRYPTO_ERR_UNSUPPORTED_EXTENSION;

    c->suite = choose_suite(tls, ch);
    if (c->suite == 0)
        return CRYPTO_ERR_HANDSHAKE_FAILURE;
    c->scheme = choose_scheme(tls, ch);
    if (c->scheme == 0)
        return CRYPTO_ERR_HANDSHAKE_FAILURE;
    int rc = choose_group(tls, ch, c);
    if (rc == 0)
        rc = choose_alpn(tls, ch, &c->alpn);
    return rc;
}

/* RFC 8446 §4.1.4: what the second ClientHello must keep and change. */
static int check_second_hello(const crypto_tls *tls, const crypto_tls_client_hello *ch,
                              const choice *c)
{
    if (ch->session_id.len != tls->session_id_len ||
        memcmp(ch->session_id.p, tls->session_id, tls->session_id_len) != 0)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    /* §4.2.8: exactly one share, for the group we asked for. */
    crypto_tls_span share;
    if (crypto_tls_key_share_count(ch->key_shares) != 1 ||
        !crypto_tls_key_share_find(ch->key_shares, tls->hrr_group, &share))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    /* §4.2.10: no early data after a HelloRetryRequest. */
    if (ch->exts & crypto_tls_ext_bit(CRYPTO_EXT_EARLY_DATA))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    if (c->suite != tls->suite->id || c->group != tls->hrr_group)
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    return 0;
}

static int send_built(crypto_tls *tls, crypto_level level, int len, const uint8_t *buf)
{
    if (len < 0)
        return CRYPTO_ERR_INTERNAL;
    return tls_send_message(tls, level, buf, (size_t)len);
}

/* RFC 8446 §4.1.4 */
static int send_hello_retry_request(crypto_tls *tls, const uint8_t *msg, size_t len,
                                    const choice *c)
{
    tls->hrr = true;
    tls->hrr_group = c->group;
    int rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc == 0)
        rc = crypto_tls_transcript_select(tls->env, &tls->transcript, tls->suite->hash, true);
    if (rc < 0)
        return rc;
    crypto_tls_server_hello_params p = {
        .is_hrr = true,
        .session_id = tls->session_id,
        .session_id_len = tls->session_id_len,
        .cipher_suite = c->suite,
        .share = {c->group, NULL, 0},
    };
    uint8_t buf[128];
    int n = crypto_tls_encode_server_hello(&p, buf, sizeof(buf));
    /* §4.2.11.2: the second ClientHello's binders cover this HelloRetryRequest. */
    if (n > 0 && tls->cfg.tickets != NULL)
        rc = tls_keep_hrr_prefix(tls, tls->suite, msg, len, buf, (size_t)n);
    if (rc == 0)
        rc = send_built(tls, CRYPTO_LEVEL_INITIAL, n, buf);
    if (rc == 0)
        tls->state = TLS_S_WAIT_CH2;
    return rc;
}

/* RFC 8446 §4.4.2, §4.4.3, §4.4.4: the server's authentication messages. */
static int send_server_flight(crypto_tls *tls, const char *alpn)
{
    size_t hlen = crypto_hash_len(tls->suite->hash);
    size_t chain_len = 0;
    for (size_t i = 0; i < tls->cfg.cert_chain_count; i++)
        chain_len += tls->cfg.cert_chain_lens[i] + 5;
    size_t cap = 64 + chain_len + tls->cfg.transport_params_len + 256;
    if (cap < 64 + CRYPTO_SIG_MAX_LEN)
        cap = 64 + CRYPTO_SIG_MAX_LEN;
    uint8_t *buf = tls_scratch(tls, cap);
    if (buf == NULL)
        return CRYPTO_ERR_NOMEM;
    int rc = send_built(
        tls, CRYPTO_LEVEL_HANDSHAKE,
        crypto_tls_encode_encrypted_extensions(alpn, tls->quic ? tls->transport_params : NULL,
                                               tls->cfg.transport_params_len,
                                               tls->early == CRYPTO_EARLY_ACCEPTED, buf, cap),
        buf);
    /* §2.2: a resumed handshake is authenticated by the PSK: EncryptedExtensions
     * then Finished (and §4.3.2: no CertificateRequest with a PSK). */
    bool certs = !tls->psk_accepted;
    /* §4.3.2: a CertificateRequest, when configured, with an empty context
     * (RFC 9001 §4.4: no post-handshake authentication in QUIC). */
    uint16_t sig_algs[TLS_MAX_SIG_ALGS];
    if (rc == 0 && certs && tls->cfg.client_auth != CRYPTO_CLIENT_AUTH_NONE)
        rc = send_built(
            tls, CRYPTO_LEVEL_HANDSHAKE,
            crypto_tls_encode_certificate_request(
                NULL, 0, sig_algs, tls_sig_algs(crypto_backend_default(), sig_algs), buf, cap),
            buf);
    if (rc == 0 && certs)
        rc = send_built(tls, CRYPTO_LEVEL_HANDSHAKE,
                        crypto_tls_encode_certificate(tls->cfg.cert_chain, tls->cfg.cert_chain_lens,
                                                      tls->cfg.cert_chain_count, buf, cap),
                        buf);
    if (rc == 0 && certs)
        rc = tls_send_certificate_verify(tls, CRYPTO_LEVEL_HANDSHAKE, tls->sig_scheme);
    uint8_t th[CRYPTO_HASH_MAX_LEN];
    if (rc == 0)
        rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc == 0) {
        uint8_t verify[CRYPTO_HASH_MAX_LEN];
        rc = crypto_tls_ks_finished(tls->suite->hash, tls->ks.server_hs, th, verify);
        if (rc == 0)
            rc = send_built(tls, CRYPTO_LEVEL_HANDSHAKE,
                            crypto_tls_encode_finished(verify, hlen, buf, cap), buf);
    }
    tls_scratch_free(tls, buf);
    return rc;
}

static bool we_have_suite(const crypto_tls *tls, uint16_t id)
{
    for (size_t i = 0; i < tls->n_suites; i++)
        if (tls->suites[i] == id)
            return true;
    return false;
}

static bool span_is(crypto_tls_span a, const void *b, size_t b_len)
{
    return a.len == b_len && (b_len == 0 || memcmp(a.p, b, b_len) == 0);
}

/* RFC 8446 §4.2.10, §8: whether the PSK's early data may be taken. */
static bool early_ok(crypto_tls *tls, const crypto_tls_client_hello *ch, const choice *c,
                     const tls_ticket_state *st, int64_t now_ms)
{
    if (!tls->cfg.early_data || st->max_early_data == 0 || c->suite != st->suite)
        return false;
    const char *alpn = c->alpn != NULL ? c->alpn : "";
    if (!span_is(st->alpn, alpn, strlen(alpn)))
        return false;
    size_t ctx_len = tls->early_ctx != NULL ? tls->cfg.early_data_context_len : 0;
    if (!span_is(st->context, tls->early_ctx, ctx_len))
        return false;
    /* §4.2.11.1, §8.3: the age the client reports, near the one we see. */
    uint32_t client_age = ch->psk_obfuscated_age - st->age_add;
    int64_t ours = now_ms - st->issued_ms;
    int64_t diff = (int64_t)client_age - ours;
    if (diff < -(TLS_EARLY_AGE_WINDOW_MS + 1000) || diff > TLS_EARLY_AGE_WINDOW_MS + 1000)
        return false;
    /* §8.2: each ClientHello's early data once. */
    return tls_ticket_strike(tls->cfg.tickets, ch->psk_binder.p, ch->psk_binder.len, now_ms / 1000);
}

/* RFC 8446 §4.2.9, §4.2.11: take the first PSK offered when its ticket opens, is
 * fresh, fits the suite and the server name, and its binder is right. A
 * ticket we cannot use means a full handshake; a wrong binder is fatal. */
static int try_psk(crypto_tls *tls, const crypto_tls_client_hello *ch, const uint8_t *msg,
                   size_t len, choice *c)
{
    bool dhe = crypto_tls_u8_list_has(ch->psk_modes, CRYPTO_PSK_DHE_KE) && c->share.p != NULL;
    bool ke = tls->cfg.psk_ke && crypto_tls_u8_list_has(ch->psk_modes, CRYPTO_PSK_KE);
    if ((!dhe && !ke) || ch->psk_count == 0)
        return 0;
    uint8_t *plain = tls_scratch(tls, ch->psk_identity.len);
    if (plain == NULL)
        return CRYPTO_ERR_NOMEM;
    tls_ticket_state st;
    int rc = tls_ticket_open(tls->cfg.tickets, ch->psk_identity.p, ch->psk_identity.len, plain,
                             ch->psk_identity.len, &st);
    int64_t now_ms = tls_now_ms(tls);
    bool usable =
        rc == 0 && now_ms >= st.issued_ms && now_ms - st.issued_ms < (int64_t)st.lifetime * 1000;
    const crypto_suite *ps = usable ? crypto_suite_by_id(st.suite) : NULL;
    if (usable && tls->state == TLS_S_WAIT_CH && we_have_suite(tls, st.suite) &&
        crypto_tls_u16_list_has(ch->cipher_suites, st.suite)) {
        c->suite = st.suite; /* the ticket's own suite: 0-RTT needs it */
        tls->suite = ps;
    }
    usable = usable && ps->hash == tls->suite->hash;
    const char *sni = "";
    char name[CRYPTO_TLS_MAX_HOST_NAME + 1];
    if (ch->server_name.len > 0) {
        memcpy(name, ch->server_name.p, ch->server_name.len);
        name[ch->server_name.len] = '\0';
        sni = name;
    }
    usable = usable && span_is(st.sni, sni, strlen(sni));
    rc = 0;
    if (usable) {
        size_t hlen = crypto_hash_len(tls->suite->hash);
        uint8_t expect[CRYPTO_HASH_MAX_LEN];
        rc = tls_psk_binder(tls, tls->suite, st.psk.p, tls->hrr_prefix, tls->hrr_prefix_len, msg,
                            len - ch->psk_binders_len, expect);
        if (rc == 0 &&
            (ch->psk_binder.len != hlen || !crypto_tls_ct_equal(expect, ch->psk_binder.p, hlen)))
            rc = CRYPTO_ERR_DECRYPT_ERROR; /* §4.2.11: "MUST abort the handshake" */
        if (rc == 0) {
            memcpy(tls->psk, st.psk.p, hlen);
            tls->psk_len = hlen;
            tls->psk_accepted = true;
            /* A server configured for psk_ke takes it when offered (no ECDHE). */
            tls->psk_mode = ke ? CRYPTO_PSK_KE : CRYPTO_PSK_DHE_KE;
            crypto_tls_tickets_stats *stats = tls_tickets_stats(tls->cfg.tickets);
            stats->resumed++;
            if ((ch->exts & crypto_tls_ext_bit(CRYPTO_EXT_EARLY_DATA)) &&
                tls->state == TLS_S_WAIT_CH) {
                tls->early = early_ok(tls, ch, c, &st, now_ms) ? CRYPTO_EARLY_ACCEPTED
                                                               : CRYPTO_EARLY_REJECTED;
                if (tls->early == CRYPTO_EARLY_ACCEPTED)
                    stats->early_accepted++;
            }
        }
    }
    memset(plain, 0, ch->psk_identity.len);
    tls_scratch_free(tls, plain);
    return rc;
}

/* RFC 8446 §4.6.1: a ticket for this session, after the handshake, at the application level. */
static int send_ticket(crypto_tls *tls)
{
    size_t hlen = crypto_hash_len(tls->suite->hash);
    static const uint8_t nonce[1] = {0}; /* one ticket per connection */
    uint8_t psk[CRYPTO_HASH_MAX_LEN];
    int rc = crypto_hkdf_expand_label(tls->suite->hash, tls->ks.resumption, hlen, "resumption",
                                      nonce, sizeof(nonce), psk, hlen);
    if (rc < 0)
        return rc;
    uint32_t age_add;
    quince_env_random(tls->env, (uint8_t *)&age_add, sizeof(age_add));
    const char *sni = tls->has_server_name ? tls->server_name : "";
    const char *alpn = tls->has_alpn ? tls->alpn : "";
    size_t ctx_len = tls->early_ctx != NULL ? tls->cfg.early_data_context_len : 0;
    tls_ticket_state st = {
        .suite = tls->suite->id,
        .issued_ms = tls_now_ms(tls),
        .lifetime = tls_tickets_lifetime(tls->cfg.tickets),
        .age_add = age_add,
        /* RFC 9001 §4.6.1: 0xffffffff when 0-RTT is allowed; TLS over TCP: none. */
        .max_early_data = tls->cfg.early_data && tls->quic ? 0xffffffff : 0,
        .psk = {psk, hlen},
        .alpn = {(const uint8_t *)alpn, strlen(alpn)},
        .sni = {(const uint8_t *)sni, strlen(sni)},
        .context = {tls->early_ctx, ctx_len},
    };
    size_t ticket_cap = TLS_TICKET_OVERHEAD + 64 + hlen + st.alpn.len + st.sni.len + ctx_len;
    size_t cap = ticket_cap + 64;
    uint8_t *buf = tls_scratch(tls, cap + ticket_cap);
    if (buf == NULL) {
        memset(psk, 0, sizeof(psk));
        return CRYPTO_ERR_NOMEM;
    }
    uint8_t *ticket = buf + cap;
    int n = tls_ticket_seal(tls->cfg.tickets, &st, tls_now(tls), ticket, ticket_cap);
    memset(psk, 0, sizeof(psk));
    int m = n < 0 ? n
                  : crypto_tls_encode_new_session_ticket(st.lifetime, age_add, nonce, sizeof(nonce),
                                                         ticket, (size_t)n, st.max_early_data, buf,
                                                         cap);
    /* Not part of the handshake transcript (§4.4.1). */
    rc = m < 0 ? CRYPTO_ERR_INTERNAL : tls->cb.send(tls->cb.user, CRYPTO_LEVEL_APP, buf, (size_t)m);
    tls_scratch_free(tls, buf);
    return rc < 0 ? rc : 0;
}

/* RFC 8446 §4.1.3-§4.4, the rest of on_client_hello once the choice is made:
 * (EC)DHE, ServerHello, the handshake keys, the server's flight, the
 * application keys. A frame of its own, so that neither it nor
 * on_client_hello (which holds the parsed ClientHello) takes over 1 KB of
 * stack (tests/stack/check_stack.py). */
static int answer_client_hello(crypto_tls *tls, const uint8_t *msg, size_t len, const choice *cp,
                               bool dhe) __attribute__((noinline));
static int answer_client_hello(crypto_tls *tls, const uint8_t *msg, size_t len, const choice *cp,
                               bool dhe)
{
    const choice c = *cp;
    int rc;
    /* (EC)DHE (§4.2.8, §7.4); psk_ke: zeros in its place (§7.1). */
    uint8_t shared[CRYPTO_KEX_MAX_SECRET + CRYPTO_HASH_MAX_LEN] = {0}, pub[CRYPTO_KEX_MAX_PUBLIC];
    int shared_len = (int)crypto_hash_len(tls->suite->hash), pub_len = 0;
    if (dhe) {
        tls->kex = crypto_kex_new(tls->env, c.group);
        if (tls->kex == NULL)
            return CRYPTO_ERR_NOMEM;
        shared_len = crypto_kex_derive(tls->kex, c.share.p, c.share.len, shared, sizeof(shared));
        if (shared_len < 0)
            return shared_len == CRYPTO_ERR_NOMEM ? shared_len : CRYPTO_ERR_ILLEGAL_PARAMETER;
        pub_len = crypto_kex_public(tls->kex, pub, sizeof(pub));
        crypto_kex_free(tls->env, tls->kex);
        tls->kex = NULL;
        if (pub_len < 0)
            return pub_len;
    }

    if (crypto_tls_transcript_selected(&tls->transcript)) {
        rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    } else {
        rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
        if (rc == 0)
            rc = crypto_tls_transcript_select(tls->env, &tls->transcript, tls->suite->hash, false);
    }
    if (rc < 0)
        return rc;

    uint8_t th[CRYPTO_HASH_MAX_LEN];
    rc = crypto_tls_ks_init(&tls->ks, tls->suite->hash, tls->psk_accepted ? tls->psk : NULL,
                            tls->psk_len);
    if (rc == 0 && tls->early == CRYPTO_EARLY_ACCEPTED) {
        /* §7.1: client_early_traffic_secret over ClientHello: 0-RTT keys now. */
        uint8_t early[CRYPTO_HASH_MAX_LEN];
        rc = crypto_tls_transcript_hash(&tls->transcript, th);
        if (rc == 0)
            rc = crypto_tls_ks_early_traffic(&tls->ks, th, early);
        if (rc == 0)
            rc = tls_install_secret(tls, CRYPTO_LEVEL_EARLY, false, early);
        memset(early, 0, sizeof(early));
    }
    uint8_t random[CRYPTO_TLS_RANDOM_LEN];
    quince_env_random(tls->env, random, sizeof(random));
    crypto_tls_server_hello_params p = {
        .random = random,
        .session_id = tls->session_id,
        .session_id_len = tls->session_id_len,
        .cipher_suite = c.suite,
        .share = {dhe ? c.group : 0, pub, (size_t)pub_len},
        .psk = tls->psk_accepted,
    };
    uint8_t sh[256];
    if (rc == 0)
        rc = send_built(tls, CRYPTO_LEVEL_INITIAL,
                        crypto_tls_encode_server_hello(&p, sh, sizeof(sh)), sh);
    if (rc == 0)
        rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc == 0)
        rc = crypto_tls_ks_handshake(&tls->ks, shared, (size_t)shared_len, th);
    memset(shared, 0, sizeof(shared));
    if (rc == 0)
        rc = tls_install_secret(tls, CRYPTO_LEVEL_HANDSHAKE, true, tls->ks.server_hs);
    if (rc == 0)
        rc = tls_install_secret(tls, CRYPTO_LEVEL_HANDSHAKE, false, tls->ks.client_hs);
    if (rc == 0)
        rc = send_server_flight(tls, c.alpn);
    if (rc == 0)
        rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc == 0)
        rc = crypto_tls_ks_master(&tls->ks, th);
    if (rc == 0)
        rc = tls_install_secret(tls, CRYPTO_LEVEL_APP, true, tls->ks.server_ap);
    if (rc == 0)
        rc = tls_install_secret(tls, CRYPTO_LEVEL_APP, false, tls->ks.client_ap);
    if (rc < 0)
        return rc;
    tls->recv_level = CRYPTO_LEVEL_HANDSHAKE;
    tls->state = tls->cfg.client_auth != CRYPTO_CLIENT_AUTH_NONE && !tls->psk_accepted
                     ? TLS_S_WAIT_CERT
                     : TLS_S_WAIT_FINISHED;
    return 0;
}

/* RFC 8446 §4.1.2, §4.1.3: a ClientHello in, the whole server flight out. */
static int on_client_hello(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    crypto_tls_client_hello ch;
    choice c;
    memset(&c, 0, sizeof(c));
    int rc =
        crypto_tls_parse_client_hello(msg + CRYPTO_HS_HEADER_LEN, len - CRYPTO_HS_HEADER_LEN, &ch);
    /* RFC 9001 §8.4: a QUIC client never asks for middlebox compatibility mode. */
    if (rc == 0 && tls->quic && ch.session_id.len > 0)
        rc = CRYPTO_ERR_QUIC_PROTOCOL_VIOLATION;
    if (rc == 0)
        rc = negotiate(tls, &ch, &c);
    if (rc == 0 && tls->state == TLS_S_WAIT_CH2)
        rc = check_second_hello(tls, &ch, &c);
    if (rc < 0)
        return rc;

    if (tls->state == TLS_S_WAIT_CH) {
        memcpy(tls->client_random, ch.random, CRYPTO_TLS_RANDOM_LEN);
        /* RFC 8446 §4.1.3: echoed (TLS over TCP peers use compatibility mode). */
        memcpy(tls->session_id, ch.session_id.p, ch.session_id.len);
        tls->session_id_len = ch.session_id.len;
        tls->suite = crypto_suite_by_id(c.suite);
        if (c.share.p == NULL)
            return send_hello_retry_request(tls, msg, len, &c);
    }
    if (tls->cfg.tickets != NULL && (ch.exts & crypto_tls_ext_bit(CRYPTO_EXT_PRE_SHARED_KEY))) {
        rc = try_psk(tls, &ch, msg, len, &c);
        if (rc < 0)
            return rc;
    } else if (ch.exts & crypto_tls_ext_bit(CRYPTO_EXT_EARLY_DATA)) {
        tls->early = CRYPTO_EARLY_REJECTED;
    }
    bool dhe = !tls->psk_accepted || tls->psk_mode == CRYPTO_PSK_DHE_KE;
    tls->group = dhe ? c.group : 0;
    tls->sig_scheme = tls->psk_accepted ? 0 : c.scheme;
    if (ch.server_name.len > 0 && tls->server_name == NULL) {
        tls->server_name = quince_env_alloc(tls->env, ch.server_name.len + 1);
        if (tls->server_name == NULL)
            return CRYPTO_ERR_NOMEM;
        memcpy(tls->server_name, ch.server_name.p, ch.server_name.len);
        tls->server_name[ch.server_name.len] = '\0';
        tls->has_server_name = true;
    }
    if (c.alpn != NULL) {
        tls->alpn = c.alpn; /* one of tls->cfg.alpn */
        tls->has_alpn = true;
    }
    if (tls->quic && tls->cb.peer_transport_params != NULL) {
        uint8_t alert = CRYPTO_ALERT_ILLEGAL_PARAMETER;
        rc = tls->cb.peer_transport_params(tls->cb.user, ch.transport_params.p,
                                           ch.transport_params.len, &alert);
        if (rc < 0) {
            tls->alert = alert;
            return rc;
        }
    }

    return answer_client_hello(tls, msg, len, &c, dhe);
}

/* RFC 8446 §4.4.2: the client's chain (or none), in answer to our CertificateRequest. */
static int on_client_certificate(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    crypto_tls_certificate ct;
    int rc =
        crypto_tls_parse_certificate(msg + CRYPTO_HS_HEADER_LEN, len - CRYPTO_HS_HEADER_LEN, &ct);
    if (rc < 0)
        return rc;
    if (ct.context.len != 0)
        return CRYPTO_ERR_ILLEGAL_PARAMETER; /* §4.4.2: the request's (empty) context */
    if (ct.count == 0) {
        /* §4.4.2.4: "MAY abort the handshake with a certificate_required alert". */
        if (tls->cfg.client_auth == CRYPTO_CLIENT_AUTH_REQUIRE)
            return CRYPTO_ERR_CERTIFICATE_REQUIRED;
        rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
        if (rc == 0)
            tls->state = TLS_S_WAIT_FINISHED;
        return rc;
    }
    rc = tls_verify_peer_chain(tls, &ct, NULL);
    if (rc == 0)
        rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc == 0)
        tls->state = TLS_S_WAIT_CV;
    return rc;
}

/* RFC 8446 §4.4.3 */
static int on_client_certificate_verify(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    int rc = tls_check_certificate_verify(tls, msg, len);
    if (rc == 0)
        tls->state = TLS_S_WAIT_FINISHED;
    return rc;
}

/* RFC 8446 §4.4.4 */
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
        rc = crypto_tls_ks_finished(tls->suite->hash, tls->ks.client_hs, th, expect);
    if (rc < 0)
        return rc;
    if (!crypto_tls_ct_equal(expect, verify.p, hlen))
        return CRYPTO_ERR_DECRYPT_ERROR;
    rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc == 0)
        rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc == 0)
        rc = crypto_tls_ks_resumption(&tls->ks, th);
    if (rc < 0)
        return rc;
    tls_handshake_complete(tls);
    return tls->cfg.tickets != NULL ? send_ticket(tls) : 0;
}

/* RFC 8446 §A.2: the server's state machine. */
int tls_server_handle(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    uint8_t type = msg[0];
    switch (tls->state) {
    case TLS_S_WAIT_CH:
    case TLS_S_WAIT_CH2:
        if (type == CRYPTO_HS_CLIENT_HELLO)
            return on_client_hello(tls, msg, len);
        break;
    case TLS_S_WAIT_CERT:
        if (type == CRYPTO_HS_CERTIFICATE)
            return on_client_certificate(tls, msg, len);
        break;
    case TLS_S_WAIT_CV:
        if (type == CRYPTO_HS_CERTIFICATE_VERIFY)
            return on_client_certificate_verify(tls, msg, len);
        break;
    case TLS_S_WAIT_FINISHED:
        if (type == CRYPTO_HS_FINISHED)
            return on_finished(tls, msg, len);
        break;
    default:
        /* RFC 9001 §6: no KeyUpdate; nothing else is sent to a server after its handshake. */
        break;
    }
    return CRYPTO_ERR_UNEXPECTED_MESSAGE;
}
