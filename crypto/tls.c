/* The TLS 1.3 engine's common part: object, message reassembly per level, secrets, key log. */
#include "crypto/tls_internal.h"

#include <stdio.h>
#include <string.h>

#include "base/opt.h"
#include "quince_config.h"

#include "crypto/backend.h"
#include "crypto/hkdf_label.h"

/* RFC 8446 §B.4 */
static const crypto_suite suites[] = {
    {CRYPTO_TLS_AES_128_GCM_SHA256, CRYPTO_AEAD_AES_128_GCM, CRYPTO_HASH_SHA256},
    {CRYPTO_TLS_AES_256_GCM_SHA384, CRYPTO_AEAD_AES_256_GCM, CRYPTO_HASH_SHA384},
    {CRYPTO_TLS_CHACHA20_POLY1305_SHA256, CRYPTO_AEAD_CHACHA20_POLY1305, CRYPTO_HASH_SHA256},
};

/* RFC 8446 Appendix B.4 */
const crypto_suite *crypto_suite_by_id(uint16_t id)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

/* Signature schemes we offer, in preference order (RFC 8446 §4.2.3). The
 * PKCS#1 v1.5 ones are there for certificate signatures only. */
static const uint16_t sig_algs[TLS_MAX_SIG_ALGS] = {
    CRYPTO_SIG_ECDSA_SECP256R1_SHA256, CRYPTO_SIG_RSA_PSS_RSAE_SHA256,
    CRYPTO_SIG_ECDSA_SECP384R1_SHA384, CRYPTO_SIG_RSA_PSS_RSAE_SHA384,
    CRYPTO_SIG_RSA_PSS_RSAE_SHA512,    CRYPTO_SIG_RSA_PKCS1_SHA256,
    CRYPTO_SIG_RSA_PKCS1_SHA384,       CRYPTO_SIG_RSA_PKCS1_SHA512,
};

/* RFC 8446 §4.2.3 */
static bool sig_alg_hashes_sha256(uint16_t scheme)
{
    return scheme == CRYPTO_SIG_ECDSA_SECP256R1_SHA256 ||
           scheme == CRYPTO_SIG_RSA_PSS_RSAE_SHA256 || scheme == CRYPTO_SIG_RSA_PKCS1_SHA256;
}

/* RFC 8446 §4.2.3 */
size_t tls_sig_algs(const crypto_backend *be, uint16_t out[TLS_MAX_SIG_ALGS])
{
    size_t n = 0;
    for (size_t i = 0; i < TLS_MAX_SIG_ALGS; i++) {
        uint16_t a = sig_algs[i];
        bool ecdsa =
            a == CRYPTO_SIG_ECDSA_SECP256R1_SHA256 || a == CRYPTO_SIG_ECDSA_SECP384R1_SHA384;
        if ((!be->no_sha512 || sig_alg_hashes_sha256(a)) && (!be->no_rsa || ecdsa))
            out[n++] = a;
    }
    return n;
}

bool tls_sig_alg_offered(const crypto_backend *be, uint16_t scheme)
{
    uint16_t algs[TLS_MAX_SIG_ALGS];
    size_t n = tls_sig_algs(be, algs);
    for (size_t i = 0; i < n; i++)
        if (algs[i] == scheme)
            return true;
    return false;
}

/* RFC 8446 §B.4 */
bool tls_suite_usable(const crypto_backend *be, const crypto_suite *cs)
{
    return cs != NULL && !(be->no_chacha20_poly1305 && cs->aead == CRYPTO_AEAD_CHACHA20_POLY1305) &&
           !(be->no_sha512 && cs->hash != CRYPTO_HASH_SHA256);
}

/* RFC 8446 §4.4.3: "RSASSA-PKCS1-v1_5 algorithms ... MUST NOT be used" here. */
bool tls_cv_scheme_allowed(uint16_t scheme)
{
    switch (scheme) {
    case CRYPTO_SIG_ECDSA_SECP256R1_SHA256:
    case CRYPTO_SIG_ECDSA_SECP384R1_SHA384:
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA256:
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA384:
    case CRYPTO_SIG_RSA_PSS_RSAE_SHA512:
        return true;
    default:
        return false;
    }
}

/* RFC 8446 §4.4.3 */
size_t tls_cv_content(bool server, const uint8_t *th, size_t hash_len, uint8_t *out)
{
    static const char server_ctx[] = "TLS 1.3, server CertificateVerify";
    static const char client_ctx[] = "TLS 1.3, client CertificateVerify";
    const char *ctx = server ? server_ctx : client_ctx;
    size_t ctx_len = sizeof(server_ctx) - 1;
    memset(out, 0x20, 64);
    memcpy(out + 64, ctx, ctx_len);
    out[64 + ctx_len] = 0;
    memcpy(out + 64 + ctx_len + 1, th, hash_len);
    return 64 + ctx_len + 1 + hash_len;
}

static bool group_supported(uint16_t g)
{
    return g == CRYPTO_GROUP_X25519 || g == CRYPTO_GROUP_SECP256R1;
}

/* Copy the config's lists and strings so the caller's may be short-lived. */
static int copy_config(crypto_tls *tls, const crypto_tls_config *config)
{
    static const uint16_t default_suites[] = {CRYPTO_TLS_AES_128_GCM_SHA256,
                                              CRYPTO_TLS_AES_256_GCM_SHA384,
                                              CRYPTO_TLS_CHACHA20_POLY1305_SHA256, 0};
    /* mbedTLS's ChaCha20-Poly1305 is about twice as fast as its AES-GCM (which has no
     * carry-less multiply): a server on it takes ChaCha20 when the client offers it. */
    static const uint16_t chacha_first[] = {CRYPTO_TLS_CHACHA20_POLY1305_SHA256,
                                            CRYPTO_TLS_AES_128_GCM_SHA256,
                                            CRYPTO_TLS_AES_256_GCM_SHA384, 0};
    static const uint16_t default_groups[] = {CRYPTO_GROUP_X25519, CRYPTO_GROUP_SECP256R1, 0};
    const uint16_t *s =
        config->cipher_suites ? config->cipher_suites
        : QUINCE_IS_SERVER(config->is_server) && crypto_backend_default()->server_prefers_chacha
            ? chacha_first
            : default_suites;
    for (size_t i = 0; s[i] != 0; i++) {
        bool dup = false;
        for (size_t j = 0; j < tls->n_suites; j++)
            dup |= tls->suites[j] == s[i];
        if (tls_suite_usable(crypto_backend_default(), crypto_suite_by_id(s[i])) && !dup &&
            tls->n_suites < TLS_MAX_SUITES)
            tls->suites[tls->n_suites++] = s[i];
    }
    const uint16_t *g = config->groups ? config->groups : default_groups;
    for (size_t i = 0; g[i] != 0; i++) {
        bool dup = false;
        for (size_t j = 0; j < tls->n_groups; j++)
            dup |= tls->groups[j] == g[i];
        if (group_supported(g[i]) && !dup && tls->n_groups < TLS_MAX_GROUPS)
            tls->groups[tls->n_groups++] = g[i];
    }
    if (tls->n_suites == 0 || tls->n_groups == 0)
        return CRYPTO_ERR_ARGUMENT;

    size_t need = 0, n_alpn = 0;
    if (config->alpn != NULL) {
        for (; config->alpn[n_alpn] != NULL; n_alpn++) {
            size_t n = strlen(config->alpn[n_alpn]);
            if (n == 0 || n > 255 || n_alpn == TLS_MAX_ALPN)
                return CRYPTO_ERR_ARGUMENT;
            need += n + 1;
        }
    }
    if (config->server_name != NULL) {
        if (strlen(config->server_name) > CRYPTO_TLS_MAX_HOST_NAME)
            return CRYPTO_ERR_ARGUMENT;
        need += strlen(config->server_name) + 1;
    }
    if (config->transport_params != NULL) {
        if (config->transport_params_len > 0xffff)
            return CRYPTO_ERR_ARGUMENT;
        need += config->transport_params_len;
    }
    if (config->early_data_context != NULL) {
        if (config->early_data_context_len > 0xffff)
            return CRYPTO_ERR_ARGUMENT;
        need += config->early_data_context_len;
    }
    if (need > 0) {
        tls->strings = quince_env_alloc(tls->env, need);
        if (tls->strings == NULL)
            return CRYPTO_ERR_NOMEM;
    }
    char *p = tls->strings;
    for (size_t i = 0; i < n_alpn; i++) {
        size_t n = strlen(config->alpn[i]) + 1;
        memcpy(p, config->alpn[i], n);
        tls->alpn_list[i] = p;
        p += n;
    }
    tls->alpn_list[n_alpn] = NULL;
    tls->cfg.alpn = n_alpn > 0 ? tls->alpn_list : NULL;
    if (config->server_name != NULL) {
        size_t n = strlen(config->server_name) + 1;
        memcpy(p, config->server_name, n);
        tls->cfg.server_name = p;
        p += n;
    }
    tls->quic = config->transport_params != NULL;
    if (tls->quic) {
        if (config->transport_params_len > 0)
            memcpy(p, config->transport_params, config->transport_params_len);
        tls->transport_params = (uint8_t *)p;
    }
    tls->cfg.transport_params = tls->transport_params;
    p += tls->quic ? config->transport_params_len : 0;
    if (config->early_data_context != NULL) {
        if (config->early_data_context_len > 0)
            memcpy(p, config->early_data_context, config->early_data_context_len);
        tls->early_ctx = (uint8_t *)p;
    }
    tls->cfg.early_data_context = tls->early_ctx;
    /* A stored session: kept if it parses; whether it is usable is decided at start. */
    tls->cfg.session = NULL;
    if (QUINCE_RESUMPTION && !QUINCE_IS_SERVER(config->is_server) && config->session != NULL &&
        config->session_len > 0) {
        tls->session_buf = quince_env_alloc(tls->env, config->session_len);
        if (tls->session_buf == NULL)
            return CRYPTO_ERR_NOMEM;
        memcpy(tls->session_buf, config->session, config->session_len);
        tls->have_session =
            crypto_tls_session_parse(tls->session_buf, config->session_len, &tls->session) == 0;
    }
    tls->cfg.cipher_suites = NULL;
    tls->cfg.groups = NULL;
    return 0;
}

/* RFC 9001 §4.1 */
crypto_tls *crypto_tls_new(const quince_env *env, const crypto_tls_config *config,
                           const crypto_tls_callbacks *callbacks)
{
    if (env == NULL || config == NULL || callbacks == NULL || callbacks->send == NULL)
        return NULL;
    if (config->is_server ? !QUINCE_SERVER : !QUINCE_CLIENT)
        return NULL; /* that role is left out of the build (base/opt.h) */
    if (QUINCE_IS_SERVER(config->is_server) &&
        (config->cert_chain_count == 0 || config->cert_chain == NULL ||
         config->cert_chain_lens == NULL || config->private_key == NULL))
        return NULL;
    crypto_tls *tls = quince_env_calloc(env, sizeof(*tls));
    if (tls == NULL)
        return NULL;
    tls->env = env;
    tls->cfg = *config;
    tls->cb = *callbacks;
    tls->max_message =
        config->max_message_size ? config->max_message_size : TLS_DEFAULT_MAX_MESSAGE;
    if (tls->max_message > 0xffffff)
        tls->max_message = 0xffffff;
    crypto_tls_transcript_init(&tls->transcript);
    tls->recv_level = CRYPTO_LEVEL_INITIAL;
    tls->state = QUINCE_IS_SERVER(config->is_server) ? TLS_S_WAIT_CH : TLS_C_START;
    if (copy_config(tls, config) < 0) {
        crypto_tls_free(tls);
        return NULL;
    }
    return tls;
}

/* (no RFC section) */
void crypto_tls_free(crypto_tls *tls)
{
    if (tls == NULL)
        return;
    const quince_env *env = tls->env;
    crypto_tls_transcript_free(env, &tls->transcript);
    crypto_tls_ks_wipe(&tls->ks);
    if (tls->kex != NULL)
        crypto_kex_free(env, tls->kex);
    if (tls->peer_key != NULL)
        crypto_pubkey_free(env, tls->peer_key);
    quince_env_free(env, tls->peer_certs);
    quince_env_free(env, tls->session_buf);
    quince_env_free(env, tls->peer_tp);
    quince_env_free(env, tls->server_name);
    quince_env_free(env, tls->hrr_prefix);
    memset(tls->psk, 0, sizeof(tls->psk));
    quince_env_free(env, tls->msg);
    quince_env_free(env, tls->cookie);
    quince_env_free(env, tls->strings);
    quince_env_free(env, tls);
}

#if QUINCE_LOGGING
static const char *state_name(tls_state state)
{
    static const char *const names[] = {"start",
                                        "wait_server_hello",
                                        "wait_encrypted_extensions",
                                        "wait_certificate_or_request",
                                        "wait_certificate",
                                        "wait_certificate_verify",
                                        "wait_finished",
                                        "wait_client_hello",
                                        "wait_client_hello2",
                                        "wait_client_finished",
                                        "wait_client_certificate",
                                        "wait_client_certificate_verify",
                                        "connected"};
    return (size_t)state < sizeof(names) / sizeof(names[0]) ? names[state] : "?";
}

#endif

int tls_fail(crypto_tls *tls, int err)
{
    if (tls->error == 0) {
        tls->error = err < 0 ? err : CRYPTO_ERR_INTERNAL_ERROR;
        if (tls->alert == 0)
            tls->alert = crypto_alert_for_error(tls->error);
#if QUINCE_LOGGING
        if (tls->env->log != NULL) {
            char msg[160];
            snprintf(msg, sizeof(msg), "tls %s: handshake failed in %s: %s (alert %u)",
                     QUINCE_IS_SERVER(tls->cfg.is_server) ? "server" : "client",
                     state_name(tls->state), crypto_strerror(tls->error), (unsigned)tls->alert);
            tls->env->log(tls->env->user, 1, msg);
        }
#endif
    }
    return tls->error;
}

uint8_t *tls_scratch(crypto_tls *tls, size_t len)
{
    return quince_env_alloc(tls->env, len);
}

void tls_scratch_free(crypto_tls *tls, uint8_t *buf)
{
    quince_env_free(tls->env, buf);
}

int tls_send_message(crypto_tls *tls, crypto_level level, const uint8_t *msg, size_t len)
{
    int rc = crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
    if (rc < 0)
        return rc;
    rc = tls->cb.send(tls->cb.user, level, msg, len);
    return rc < 0 ? rc : 0;
}

static void hex(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

/* NSS key log format (the SSLKEYLOGFILE lines Wireshark reads). */
static void keylog(crypto_tls *tls, const char *label, const uint8_t *secret, size_t len)
{
    if (tls->env->keylog == NULL)
        return;
    /* "<label> <client random> <secret>", built without snprintf (a device
     * build then links no printf: scripts/size.sh). */
    char line[40 + 2 * CRYPTO_TLS_RANDOM_LEN + 1 + 2 * CRYPTO_HASH_MAX_LEN + 1];
    size_t ll = strlen(label);
    if (ll > 39 || len > CRYPTO_HASH_MAX_LEN)
        return;
    memcpy(line, label, ll);
    line[ll] = ' ';
    hex(line + ll + 1, tls->client_random, CRYPTO_TLS_RANDOM_LEN);
    size_t at = ll + 1 + 2 * CRYPTO_TLS_RANDOM_LEN;
    line[at] = ' ';
    hex(line + at + 1, secret, len);
    tls->env->keylog(tls->env->user, line);
    memset(line, 0, sizeof(line));
}

/* RFC 9001 §4.1.4: secrets go to QUIC as soon as they are known. */
int tls_install_secret(crypto_tls *tls, crypto_level level, bool is_write, const uint8_t *secret)
{
    bool client_secret = is_write != QUINCE_IS_SERVER(tls->cfg.is_server);
    const char *label = NULL;
    if (level == CRYPTO_LEVEL_HANDSHAKE)
        label =
            client_secret ? "CLIENT_HANDSHAKE_TRAFFIC_SECRET" : "SERVER_HANDSHAKE_TRAFFIC_SECRET";
    else if (level == CRYPTO_LEVEL_APP)
        label = client_secret ? "CLIENT_TRAFFIC_SECRET_0" : "SERVER_TRAFFIC_SECRET_0";
    else if (level == CRYPTO_LEVEL_EARLY)
        label = "CLIENT_EARLY_TRAFFIC_SECRET";
    size_t len = crypto_hash_len(tls->suite->hash);
    if (label != NULL)
        keylog(tls, label, secret, len);
    if (tls->cb.set_secret == NULL)
        return 0;
    int rc = tls->cb.set_secret(tls->cb.user, level, is_write, tls->suite, secret, len);
    return rc < 0 ? rc : 0;
}

void tls_handshake_complete(crypto_tls *tls)
{
    tls->recv_level = CRYPTO_LEVEL_APP;
    tls->state = TLS_CONNECTED;
    crypto_tls_transcript_free(tls->env, &tls->transcript);
    memset(tls->ks.secret, 0, sizeof(tls->ks.secret));
    memset(tls->ks.client_hs, 0, sizeof(tls->ks.client_hs));
    memset(tls->ks.server_hs, 0, sizeof(tls->ks.server_hs));
}

/* RFC 9001 §4.1.3 */
int crypto_tls_start(crypto_tls *tls)
{
    if (tls->error != 0)
        return tls->error;
    if (QUINCE_IS_SERVER(tls->cfg.is_server))
        return 0;
    if (tls->state != TLS_C_START)
        return CRYPTO_ERR_ARGUMENT;
#if QUINCE_CLIENT
    int rc = tls_client_start(tls);
    return rc < 0 ? tls_fail(tls, rc) : 0;
#else
    return CRYPTO_ERR_ARGUMENT;
#endif
}

/* RFC 8446 §4 (handshake framing), §5.1 (messages split and coalesced), RFC 9001 §4.1.3 */
int crypto_tls_recv(crypto_tls *tls, crypto_level level, const uint8_t *data, size_t len)
{
    if (tls->error != 0)
        return tls->error;
    if (len == 0)
        return 0;
    if (data == NULL)
        return CRYPTO_ERR_ARGUMENT;
    if (tls->state == TLS_C_START)
        return tls_fail(tls, CRYPTO_ERR_UNEXPECTED_MESSAGE);
    while (len > 0) {
        /* Data at a level other than the one we read at: either sent at the
         * wrong level, or left over when the level changed (§5.1: messages
         * must not span key changes). */
        if (level != tls->recv_level)
            return tls_fail(tls, CRYPTO_ERR_UNEXPECTED_MESSAGE);
        size_t want = tls->msg_have < CRYPTO_HS_HEADER_LEN
                          ? CRYPTO_HS_HEADER_LEN - tls->msg_have
                          : CRYPTO_HS_HEADER_LEN + tls->msg_len - tls->msg_have;
        size_t take = want < len ? want : len;
        size_t need = tls->msg_have + take;
        if (need > tls->msg_cap) {
            size_t cap = need < 256 ? 256 : need;
            uint8_t *p = quince_env_realloc(tls->env, tls->msg, cap);
            if (p == NULL)
                return tls_fail(tls, CRYPTO_ERR_NOMEM);
            tls->msg = p;
            tls->msg_cap = cap;
        }
        memcpy(tls->msg + tls->msg_have, data, take);
        tls->msg_have += take;
        data += take;
        len -= take;
        if (tls->msg_have == CRYPTO_HS_HEADER_LEN) {
            tls->msg_len = ((size_t)tls->msg[1] << 16) | ((size_t)tls->msg[2] << 8) | tls->msg[3];
            if (tls->msg_len > tls->max_message)
                return tls_fail(tls, CRYPTO_ERR_DECODE_ERROR);
        }
        if (tls->msg_have >= CRYPTO_HS_HEADER_LEN &&
            tls->msg_have == CRYPTO_HS_HEADER_LEN + tls->msg_len) {
            size_t msg_len = tls->msg_have;
            tls->msg_have = 0;
#if QUINCE_CLIENT && QUINCE_SERVER
            int rc = QUINCE_IS_SERVER(tls->cfg.is_server)
                         ? tls_server_handle(tls, tls->msg, msg_len)
                         : tls_client_handle(tls, tls->msg, msg_len);
#elif QUINCE_SERVER
            int rc = tls_server_handle(tls, tls->msg, msg_len);
#else
            int rc = tls_client_handle(tls, tls->msg, msg_len);
#endif
            if (rc < 0)
                return tls_fail(tls, rc);
        }
    }
    /* After the handshake little arrives (tickets): do not keep the buffer. */
    if (tls->state == TLS_CONNECTED && tls->msg_have == 0) {
        quince_env_free(tls->env, tls->msg);
        tls->msg = NULL;
        tls->msg_cap = 0;
    }
    return 0;
}

/* RFC 9001 §4.1.1 */
bool crypto_tls_handshake_done(const crypto_tls *tls)
{
    return tls->state == TLS_CONNECTED && tls->error == 0;
}

/* RFC 8446 §6 */
uint8_t crypto_tls_alert(const crypto_tls *tls)
{
    return tls->alert;
}

/* RFC 9001 §8.1 */
const char *crypto_tls_alpn(const crypto_tls *tls)
{
    return tls->has_alpn ? tls->alpn : NULL;
}

/* RFC 8446 §4.1.3 */
const crypto_suite *crypto_tls_suite(const crypto_tls *tls)
{
    return tls->suite;
}

/* RFC 8446 §4.2.7 */
uint16_t crypto_tls_group(const crypto_tls *tls)
{
    return tls->group;
}

/* RFC 8446 §4.1.4 */
bool crypto_tls_used_hrr(const crypto_tls *tls)
{
    return tls->hrr;
}

/* RFC 9001 §8.1 */
const char *crypto_tls_server_name(const crypto_tls *tls)
{
    return tls->has_server_name ? tls->server_name : NULL;
}

/* RFC 8446 §2.2 */
bool crypto_tls_resumed(const crypto_tls *tls)
{
    return TLS_PSK_ACCEPTED(tls);
}

/* RFC 8446 §4.2.10 */
crypto_early_data crypto_tls_early_data(const crypto_tls *tls)
{
    return tls->early;
}

/* RFC 9368 §3 */
int crypto_tls_replace_transport_params(crypto_tls *tls, const uint8_t *data, size_t len)
{
    if (tls == NULL || !tls->quic || len != tls->cfg.transport_params_len)
        return CRYPTO_ERR_ARGUMENT;
    memcpy(tls->transport_params, data, len);
    return 0;
}

/* RFC 9000 §7.4.1 */
const uint8_t *crypto_tls_session_transport_params(const crypto_tls *tls, size_t *len)
{
    if (!TLS_PSK_OFFERED(tls) || tls->session.transport_params.len == 0) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = tls->session.transport_params.len;
    return tls->session.transport_params.p;
}

int64_t tls_now(const crypto_tls *tls)
{
    if (tls->cfg.verify_time_unix != 0)
        return tls->cfg.verify_time_unix;
    return tls->env->wall_clock != NULL ? tls->env->wall_clock(tls->env->user) : 0;
}

int64_t tls_now_ms(const crypto_tls *tls)
{
    if (tls->cfg.verify_time_unix == 0 && tls->env->wall_clock_ms != NULL)
        return tls->env->wall_clock_ms(tls->env->user);
    return tls_now(tls) * 1000;
}

/* RFC 8446 §4.2.11.2, §7.1: binder_key = Derive-Secret(Early Secret, "res binder", ""),
 * binder = HMAC(finished key of binder_key, Transcript-Hash(prefix || truncated CH)). */
int tls_psk_binder(crypto_tls *tls, const crypto_suite *suite, const uint8_t *psk,
                   const uint8_t *prefix, size_t prefix_len, const uint8_t *trunc, size_t trunc_len,
                   uint8_t *out)
{
    crypto_tls_keysched ks;
    uint8_t binder_key[CRYPTO_HASH_MAX_LEN], th[CRYPTO_HASH_MAX_LEN];
    size_t hlen = crypto_hash_len(suite->hash);
    int rc = crypto_tls_ks_init(&ks, suite->hash, psk, hlen);
    if (rc == 0)
        rc = crypto_derive_secret(suite->hash, ks.secret, "res binder", NULL, binder_key);
    crypto_tls_ks_wipe(&ks);
    if (rc == 0) {
        crypto_hash_ctx *h = crypto_hash_new(tls->env, suite->hash);
        if (h == NULL)
            rc = CRYPTO_ERR_NOMEM;
        if (rc == 0 && prefix_len > 0)
            rc = crypto_hash_update(h, prefix, prefix_len);
        if (rc == 0)
            rc = crypto_hash_update(h, trunc, trunc_len);
        if (rc == 0)
            rc = crypto_hash_peek(h, th);
        if (h != NULL)
            crypto_hash_free(tls->env, h);
    }
    if (rc == 0)
        rc = crypto_tls_ks_finished(suite->hash, binder_key, th, out);
    memset(binder_key, 0, sizeof(binder_key));
    return rc;
}

/* RFC 8446 §4.4.1 */
int tls_keep_hrr_prefix(crypto_tls *tls, const crypto_suite *suite, const uint8_t *ch1,
                        size_t ch1_len, const uint8_t *hrr, size_t hrr_len)
{
    size_t hlen = crypto_hash_len(suite->hash);
    quince_env_free(tls->env, tls->hrr_prefix);
    tls->hrr_prefix_len = 0;
    tls->hrr_prefix = quince_env_alloc(tls->env, CRYPTO_HS_HEADER_LEN + hlen + hrr_len);
    if (tls->hrr_prefix == NULL)
        return CRYPTO_ERR_NOMEM;
    uint8_t *p = tls->hrr_prefix;
    p[0] = CRYPTO_HS_MESSAGE_HASH;
    p[1] = 0;
    p[2] = 0;
    p[3] = (uint8_t)hlen;
    int rc = crypto_hash(suite->hash, ch1, ch1_len, p + CRYPTO_HS_HEADER_LEN);
    if (rc < 0)
        return rc;
    memcpy(p + CRYPTO_HS_HEADER_LEN + hlen, hrr, hrr_len);
    tls->hrr_prefix_len = CRYPTO_HS_HEADER_LEN + hlen + hrr_len;
    return 0;
}

/* RFC 8446 §4.4.2 */
size_t crypto_tls_peer_cert_count(const crypto_tls *tls)
{
    return tls->peer_cert_count;
}

/* RFC 8446 §4.4.2 */
const uint8_t *crypto_tls_peer_cert(const crypto_tls *tls, size_t i, size_t *len)
{
    if (i >= tls->peer_cert_count) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = tls->peer_cert_off[i + 1] - tls->peer_cert_off[i];
    return tls->peer_certs + tls->peer_cert_off[i];
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

static int keep_peer_chain(crypto_tls *tls, const crypto_tls_certificate *ct)
{
    size_t total = 0;
    for (size_t i = 0; i < ct->count; i++)
        total += ct->certs[i].len;
    quince_env_free(tls->env, tls->peer_certs);
    tls->peer_certs = quince_env_alloc(tls->env, total > 0 ? total : 1);
    tls->peer_cert_count = 0;
    if (tls->peer_certs == NULL)
        return CRYPTO_ERR_NOMEM;
    size_t off = 0;
    for (size_t i = 0; i < ct->count; i++) {
        tls->peer_cert_off[i] = off;
        memcpy(tls->peer_certs + off, ct->certs[i].p, ct->certs[i].len);
        off += ct->certs[i].len;
    }
    tls->peer_cert_off[ct->count] = off;
    tls->peer_cert_count = ct->count;
    return 0;
}

/* RFC 8446 §4.4.2.4 */
int tls_verify_peer_chain(crypto_tls *tls, const crypto_tls_certificate *ct, const char *host)
{
    const uint8_t *certs[CRYPTO_TLS_MAX_CHAIN];
    size_t lens[CRYPTO_TLS_MAX_CHAIN];
    for (size_t i = 0; i < ct->count; i++) {
        certs[i] = ct->certs[i].p;
        lens[i] = ct->certs[i].len;
    }
    if (tls->peer_key != NULL) {
        crypto_pubkey_free(tls->env, tls->peer_key);
        tls->peer_key = NULL;
    }
    int rc;
    switch (tls->cfg.verify_mode) {
    case CRYPTO_VERIFY_CHAIN: {
        if (tls->cfg.ca_store == NULL)
            return CRYPTO_ERR_UNKNOWN_CA;
        int64_t now = tls->cfg.verify_time_unix;
        if (now == 0 && tls->env->wall_clock != NULL)
            now = tls->env->wall_clock(tls->env->user);
        rc = crypto_x509_verify(tls->env, tls->cfg.ca_store, certs, lens, ct->count, host, now,
                                &tls->peer_key);
        if (rc < 0)
            return x509_error(rc);
        return keep_peer_chain(tls, ct);
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
    if (rc < 0)
        return x509_error(rc);
    return keep_peer_chain(tls, ct);
}

/* RFC 8446 §4.4.3 */
int tls_send_certificate_verify(crypto_tls *tls, crypto_level level, uint16_t scheme)
{
    uint8_t th[CRYPTO_HASH_MAX_LEN];
    int rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc < 0)
        return rc;
    uint8_t content[TLS_CV_CONTENT_MAX];
    /* The signature on the heap (an RSA-4096 one is 512 bytes): signature and
     * message together would put this frame over 1 KB (tests/stack/check_stack.py). */
    uint8_t *sig = quince_env_alloc(tls->env, CRYPTO_SIG_MAX_LEN);
    if (sig == NULL)
        return CRYPTO_ERR_NOMEM;
    size_t n = tls_cv_content(QUINCE_IS_SERVER(tls->cfg.is_server), th,
                              crypto_hash_len(tls->suite->hash), content);
    int sig_len = crypto_privkey_sign(tls->env, tls->cfg.private_key, scheme, content, n, sig,
                                      CRYPTO_SIG_MAX_LEN);
    uint8_t msg[CRYPTO_HS_HEADER_LEN + 4 + CRYPTO_SIG_MAX_LEN];
    int len = sig_len < 0 ? sig_len
                          : crypto_tls_encode_certificate_verify(scheme, sig, (size_t)sig_len, msg,
                                                                 sizeof(msg));
    quince_env_free(tls->env, sig);
    if (len < 0)
        return sig_len < 0 ? sig_len : CRYPTO_ERR_INTERNAL;
    return tls_send_message(tls, level, msg, (size_t)len);
}

/* RFC 8446 §4.4.3 */
int tls_check_certificate_verify(crypto_tls *tls, const uint8_t *msg, size_t len)
{
    crypto_tls_certificate_verify cv;
    int rc = crypto_tls_parse_certificate_verify(msg + CRYPTO_HS_HEADER_LEN,
                                                 len - CRYPTO_HS_HEADER_LEN, &cv);
    if (rc < 0)
        return rc;
    if (!tls_sig_alg_offered(crypto_backend_default(), cv.scheme) ||
        !tls_cv_scheme_allowed(cv.scheme))
        return CRYPTO_ERR_ILLEGAL_PARAMETER;
    uint8_t th[CRYPTO_HASH_MAX_LEN];
    uint8_t content[TLS_CV_CONTENT_MAX];
    rc = crypto_tls_transcript_hash(&tls->transcript, th);
    if (rc < 0)
        return rc;
    /* The peer's context string: the server's when we are the client. */
    size_t n = tls_cv_content(!QUINCE_IS_SERVER(tls->cfg.is_server), th,
                              crypto_hash_len(tls->suite->hash), content);
    rc = crypto_pubkey_verify(tls->peer_key, cv.scheme, content, n, cv.signature.p,
                              cv.signature.len);
    if (rc < 0)
        return rc == CRYPTO_ERR_ILLEGAL_PARAMETER || rc == CRYPTO_ERR_NOMEM
                   ? rc
                   : CRYPTO_ERR_DECRYPT_ERROR;
    if (!QUINCE_IS_SERVER(tls->cfg.is_server))
        tls->sig_scheme = cv.scheme;
    return crypto_tls_transcript_add(tls->env, &tls->transcript, msg, len);
}

/* RFC 8446 §6.2 */
int crypto_tls_error(const crypto_tls *tls)
{
    return tls->error;
}

/* RFC 8446 §4.2.3 */
uint16_t crypto_tls_signature_scheme(const crypto_tls *tls)
{
    return tls->sig_scheme;
}

/* RFC 8446 §7.5 */
int crypto_tls_export(const crypto_tls *tls, const char *label, const uint8_t *context,
                      size_t context_len, uint8_t *out, size_t out_len)
{
    bool ready =
        tls->error == 0 && (tls->state == TLS_CONNECTED || tls->state == TLS_S_WAIT_FINISHED);
    if (!ready || label == NULL || (context == NULL && context_len > 0))
        return CRYPTO_ERR_ARGUMENT;
    crypto_hash_alg alg = tls->suite->hash;
    uint8_t secret[CRYPTO_HASH_MAX_LEN], context_hash[CRYPTO_HASH_MAX_LEN];
    int rc = crypto_derive_secret(alg, tls->ks.exporter, label, NULL, secret);
    if (rc == 0)
        rc = crypto_hash(alg, context, context_len, context_hash);
    if (rc == 0)
        rc = crypto_hkdf_expand_label(alg, secret, crypto_hash_len(alg), "exporter", context_hash,
                                      crypto_hash_len(alg), out, out_len);
    memset(secret, 0, sizeof(secret));
    return rc;
}
