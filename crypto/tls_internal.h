/* The TLS 1.3 engine's state, shared by tls.c, tls_client.c and tls_server.c (not installed). */
#ifndef CRYPTO_TLS_INTERNAL_H
#define CRYPTO_TLS_INTERNAL_H

#include "crypto/opt.h"
#include "crypto/tls.h"
#include "crypto/tls_keysched.h"
#include "crypto/tls_msg.h"
#include "crypto/tls_ticket.h"

#define TLS_MAX_SUITES 3
#define TLS_MAX_GROUPS 2
#define TLS_MAX_ALPN 16
#define TLS_DEFAULT_MAX_MESSAGE CRYPTO_OPT_TLS_MAX_MESSAGE

typedef enum tls_state {
    /* Client (RFC 8446 §A.1) */
    TLS_C_START = 0,
    TLS_C_WAIT_SH,
    TLS_C_WAIT_EE,
    TLS_C_WAIT_CERT_CR,
    TLS_C_WAIT_CERT,
    TLS_C_WAIT_CV,
    TLS_C_WAIT_FINISHED,
    /* Server (RFC 8446 §A.2) */
    TLS_S_WAIT_CH,
    TLS_S_WAIT_CH2,
    TLS_S_WAIT_FINISHED,
    TLS_S_WAIT_CERT, /* after a CertificateRequest */
    TLS_S_WAIT_CV,
    /* Both */
    TLS_CONNECTED,
} tls_state;

struct crypto_tls {
    const quince_env *env;
    crypto_tls_config cfg; /* lists below replace the config's pointers */
    crypto_tls_callbacks cb;
    tls_state state;
    int error; /* sticky */
    uint8_t alert;
    crypto_level recv_level;

    /* Our preferences, resolved from the config. */
    uint16_t suites[TLS_MAX_SUITES];
    size_t n_suites;
    uint16_t groups[TLS_MAX_GROUPS];
    size_t n_groups;
    const char *alpn_list[TLS_MAX_ALPN + 1];
    char *strings; /* one allocation: ALPN names, server name, transport parameters */
    uint8_t *transport_params;
    bool quic; /* transport parameters configured: QUIC, else TLS over TCP */

    /* Reassembly of one handshake message (RFC 8446 §5.1: messages may be split). */
    uint8_t *msg;
    size_t msg_cap;
    size_t msg_have;
    size_t msg_len;
    size_t max_message;

    /* Negotiated. */
    const crypto_suite *suite;
    uint16_t group;
    uint16_t sig_scheme;
    bool hrr;
    uint16_t hrr_group;
    const char *alpn; /* one of cfg.alpn (our own copy): the peer picks from ours */
    bool has_alpn;
    char *server_name; /* server: the SNI the client sent (allocated) */
    bool has_server_name;
    uint8_t client_random[CRYPTO_TLS_RANDOM_LEN];
    uint8_t session_id[CRYPTO_TLS_MAX_SESSION_ID];
    size_t session_id_len;

    crypto_tls_transcript transcript;
    crypto_tls_keysched ks;
    crypto_kex *kex; /* our key share (client: the offered one) */
    uint16_t kex_group;
    crypto_pubkey *peer_key;
    /* The peer's checked chain: one allocation, certificate i at
     * peer_certs + peer_cert_off[i], peer_cert_off[count] bytes in all. */
    uint8_t *peer_certs;
    size_t peer_cert_off[CRYPTO_TLS_MAX_CHAIN + 1];
    size_t peer_cert_count;

    /* Resumption (RFC 8446 §2.2, §4.2.9-§4.2.11, §4.6.1). */
    bool psk_offered;  /* client: a PSK is in our ClientHello */
    bool psk_accepted; /* the server took it */
    uint8_t psk_mode;  /* CRYPTO_PSK_DHE_KE or CRYPTO_PSK_KE, once accepted */
    const crypto_suite *psk_suite;
    uint8_t psk[CRYPTO_HASH_MAX_LEN];
    size_t psk_len;
    crypto_early_data early;
    uint8_t *early_ctx; /* server: copy of cfg.early_data_context */
    /* After a HelloRetryRequest, what the binders of the second ClientHello
     * cover before it: message_hash(ClientHello1) and the HelloRetryRequest. */
    uint8_t *hrr_prefix;
    size_t hrr_prefix_len;
    /* Client: the stored session offered (spans into session_buf), and the
     * server's transport parameters (to store with new sessions). */
    uint8_t *session_buf;
    crypto_tls_session session;
    bool have_session;
    uint8_t *peer_tp;
    size_t peer_tp_len;

    /* Client only. */
    uint8_t *cookie; /* from a HelloRetryRequest */
    size_t cookie_len;
    bool cert_requested;
    uint16_t client_sig_scheme; /* to sign our CertificateVerify with; 0: no certificate */
};

/* Record a fatal error (sticky) and return it. */
int tls_fail(crypto_tls *tls, int err);
/* Add a message to the transcript and hand it to callbacks->send. */
int tls_send_message(crypto_tls *tls, crypto_level level, const uint8_t *msg, size_t len);
/* Hand a traffic secret to the caller and log it (NSS key log). */
int tls_install_secret(crypto_tls *tls, crypto_level level, bool is_write, const uint8_t *secret);
/* The handshake is over: state CONNECTED, reading at APP, and the secrets no
 * longer needed (RFC 8446 §7.1: "that secret SHOULD be erased") and the
 * transcript are dropped. The application secrets and the exporter and
 * resumption secrets stay. */
void tls_handshake_complete(crypto_tls *tls);
/* A scratch buffer of len bytes from the env (NULL: out of memory). */
uint8_t *tls_scratch(crypto_tls *tls, size_t len);
void tls_scratch_free(crypto_tls *tls, uint8_t *buf);
/* The content signed in a CertificateVerify (RFC 8446 §4.4.3); returns its length. */
size_t tls_cv_content(bool server, const uint8_t *th, size_t hash_len, uint8_t *out);
#define TLS_CV_CONTENT_MAX (64 + 34 + CRYPTO_HASH_MAX_LEN)
/* Whether a signature scheme may sign a CertificateVerify (no PKCS#1 v1.5, no SHA-1). */
bool tls_cv_scheme_allowed(uint16_t scheme);
/* The signature schemes we offer (RFC 8446 §4.2.3), in preference order: all we know, less
 * those hashing with SHA-384 or SHA-512 when the backend lacks them (no_sha512) and the RSA
 * ones when it has no RSA (no_rsa). out holds
 * TLS_MAX_SIG_ALGS; returns the count. tls_sig_alg_offered: is scheme among them? */
#define TLS_MAX_SIG_ALGS 8
size_t tls_sig_algs(const crypto_backend *be, uint16_t out[TLS_MAX_SIG_ALGS]);
bool tls_sig_alg_offered(const crypto_backend *be, uint16_t scheme);
/* Can the backend run this suite (RFC 8446 §B.4)? Not when it was built without the
 * suite's AEAD or hash (no_chacha20_poly1305, no_sha512). */
bool tls_suite_usable(const crypto_backend *be, const crypto_suite *cs);

/* RFC 8446 §4.4.2.4: check the peer's chain as the config says (host: the
 * name to match, NULL for none), keep it and its leaf's key. */
int tls_verify_peer_chain(crypto_tls *tls, const crypto_tls_certificate *ct, const char *host);
/* RFC 8446 §4.4.3: sign the transcript so far with our key and send the CertificateVerify. */
int tls_send_certificate_verify(crypto_tls *tls, crypto_level level, uint16_t scheme);
/* RFC 8446 §4.4.3: check a peer's CertificateVerify against the transcript so far. */
int tls_check_certificate_verify(crypto_tls *tls, const uint8_t *msg, size_t len);

/* Seconds since the epoch: cfg.verify_time_unix, else env->wall_clock, else 0. */
int64_t tls_now(const crypto_tls *tls);
/* The same in milliseconds (env->wall_clock_ms when there is one): ticket ages. */
int64_t tls_now_ms(const crypto_tls *tls);
/* RFC 8446 §4.2.11.2: the binder of a PSK over prefix || truncated ClientHello. */
int tls_psk_binder(crypto_tls *tls, const crypto_suite *suite, const uint8_t *psk,
                   const uint8_t *prefix, size_t prefix_len, const uint8_t *trunc, size_t trunc_len,
                   uint8_t *out);
/* Keep message_hash(ClientHello1) || HelloRetryRequest for the binders of ClientHello2. */
int tls_keep_hrr_prefix(crypto_tls *tls, const crypto_suite *suite, const uint8_t *ch1,
                        size_t ch1_len, const uint8_t *hrr, size_t hrr_len);

int tls_client_start(crypto_tls *tls);
int tls_client_handle(crypto_tls *tls, const uint8_t *msg, size_t len);
int tls_server_handle(crypto_tls *tls, const uint8_t *msg, size_t len);

/* Reads of the session state that a build without QUINCE_RESUMPTION folds to
 * false, so that PSK and 0-RTT code leaves the image. */
#define TLS_PSK_OFFERED(tls) (QUINCE_RESUMPTION && (tls)->psk_offered)
#define TLS_PSK_ACCEPTED(tls) (QUINCE_RESUMPTION && (tls)->psk_accepted)
#define TLS_EARLY_IS(tls, v) (QUINCE_RESUMPTION && (tls)->early == (v))

#endif
