/* The TLS 1.3 engine's common part: object, message reassembly per level, secrets, key log. */
#include "crypto/tls_internal.h"

#include <stdio.h>
#include <string.h>

#include "base/opt.h"
#include "quince_config.h"

#include "crypto/hkdf_label.h"

/* RFC 8446 §B.4 */
static const crypto_suite suites[] = {
    {CRYPTO_TLS_AES_128_GCM_SHA256, CRYPTO_AEAD_AES_128_GCM, CRYPTO_HASH_SHA256},
    {CRYPTO_TLS_AES_256_GCM_SHA384, CRYPTO_AEAD_AES_256_GCM, CRYPTO_HASH_SHA384},
    {CRYPTO_TLS_CHACHA20_POLY1305_SHA256, CRYPTO_AEAD_CHACHA20_POLY1305, CRYPTO_HASH_SHA256},
};

const crypto_suite *crypto_suite_by_id(uint16_t id)
{
    for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
        if (suites[i].id == id)
            return &suites[i];
    return NULL;
}

/* Signature schemes we offer, in preference order (RFC 8446 §4.2.3). The
 * PKCS#1 v1.5 ones are there for certificate signatures only. */
const uint16_t tls_sig_algs[] = {
    CRYPTO_SIG_ECDSA_SECP256R1_SHA256, CRYPTO_SIG_RSA_PSS_RSAE_SHA256,
    CRYPTO_SIG_ECDSA_SECP384R1_SHA384, CRYPTO_SIG_RSA_PSS_RSAE_SHA384,
    CRYPTO_SIG_RSA_PSS_RSAE_SHA512,    CRYPTO_SIG_RSA_PKCS1_SHA256,
    CRYPTO_SIG_RSA_PKCS1_SHA384,       CRYPTO_SIG_RSA_PKCS1_SHA512,
};
const size_t tls_n_sig_algs = sizeof(tls_sig_algs) / sizeof(tls_sig_algs[0]);

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
    static const uint16_t default_groups[] = {CRYPTO_GROUP_X25519, CRYPTO_GROUP_SECP256R1, 0};
    const uint16_t *s = config->cipher_suites ? config->cipher_suites : default_suites;
    for (size_t i = 0; s[i] != 0; i++) {
        bool dup = false;
        for (size_t j = 0; j < tls->n_suites; j++)
            dup |= tls->suites[j] == s[i];
        if (crypto_suite_by_id(s[i]) != NULL && !dup && tls->n_suites < TLS_MAX_SUITES)
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
    tls->cfg.cipher_suites = NULL;
    tls->cfg.groups = NULL;
    return 0;
}

crypto_tls *crypto_tls_new(const quince_env *env, const crypto_tls_config *config,
                           const crypto_tls_callbacks *callbacks)
{
    if (env == NULL || config == NULL || callbacks == NULL || callbacks->send == NULL)
        return NULL;
    if (config->is_server ? !QUINCE_SERVER : !QUINCE_CLIENT)
        return NULL; /* that role is left out of the build (base/opt.h) */
    if (config->is_server && (config->cert_chain_count == 0 || config->cert_chain == NULL ||
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
    tls->state = config->is_server ? TLS_S_WAIT_CH : TLS_C_START;
    if (copy_config(tls, config) < 0) {
        crypto_tls_free(tls);
        return NULL;
    }
    return tls;
}

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
                     tls->cfg.is_server ? "server" : "client", state_name(tls->state),
                     crypto_strerror(tls->error), (unsigned)tls->alert);
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
    char random_hex[2 * CRYPTO_TLS_RANDOM_LEN + 1];
    char secret_hex[2 * CRYPTO_HASH_MAX_LEN + 1];
    char line[40 + sizeof(random_hex) + sizeof(secret_hex)];
    hex(random_hex, tls->client_random, CRYPTO_TLS_RANDOM_LEN);
    hex(secret_hex, secret, len);
    snprintf(line, sizeof(line), "%s %s %s", label, random_hex, secret_hex);
    tls->env->keylog(tls->env->user, line);
    memset(secret_hex, 0, sizeof(secret_hex));
    memset(line, 0, sizeof(line));
}

/* RFC 9001 §4.1.4: secrets go to QUIC as soon as they are known. */
int tls_install_secret(crypto_tls *tls, crypto_level level, bool is_write, const uint8_t *secret)
{
    bool client_secret = is_write != tls->cfg.is_server;
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

int crypto_tls_start(crypto_tls *tls)
{
    if (tls->error != 0)
        return tls->error;
    if (tls->cfg.is_server)
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
            int rc = tls->cfg.is_server ? tls_server_handle(tls, tls->msg, msg_len)
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

bool crypto_tls_handshake_done(const crypto_tls *tls)
{
    return tls->state == TLS_CONNECTED && tls->error == 0;
}

uint8_t crypto_tls_alert(const crypto_tls *tls)
{
    return tls->alert;
}

const char *crypto_tls_alpn(const crypto_tls *tls)
{
    return tls->has_alpn ? tls->alpn : NULL;
}

const crypto_suite *crypto_tls_suite(const crypto_tls *tls)
{
    return tls->suite;
}

uint16_t crypto_tls_group(const crypto_tls *tls)
{
    return tls->group;
}

bool crypto_tls_used_hrr(const crypto_tls *tls)
{
    return tls->hrr;
}

const char *crypto_tls_server_name(const crypto_tls *tls)
{
    return tls->has_server_name ? tls->server_name : NULL;
}

int crypto_tls_error(const crypto_tls *tls)
{
    return tls->error;
}

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
