/* The TLS 1.3 handshake for QUIC, client and server (RFC 8446, RFC 9001 §4 and §8). */
#ifndef CRYPTO_TLS_H
#define CRYPTO_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "base/export.h"
#include "crypto/crypto.h"
#include "crypto/error.h"

/*
 * The engine is a pure state machine: handshake bytes go in and out per
 * encryption level (QUIC CRYPTO frames carry them, RFC 9001 §4.1), and the
 * traffic secrets of each level are handed to the caller as soon as they are
 * known. It never sees packets or records. TLS over TCP (the interop tests)
 * is the same engine plus a record layer outside it.
 */

/* Encryption levels (RFC 9001 §4.1.4; "epochs" in picotls). */
typedef enum crypto_level {
    CRYPTO_LEVEL_INITIAL = 0,
    CRYPTO_LEVEL_EARLY = 1, /* 0-RTT: client_early_traffic_secret of a resumed session */
    CRYPTO_LEVEL_HANDSHAKE = 2,
    CRYPTO_LEVEL_APP = 3,
} crypto_level;
#define CRYPTO_LEVEL_COUNT 4

/* TLS 1.3 cipher suites (RFC 8446 §B.4). */
#define CRYPTO_TLS_AES_128_GCM_SHA256 0x1301
#define CRYPTO_TLS_AES_256_GCM_SHA384 0x1302
#define CRYPTO_TLS_CHACHA20_POLY1305_SHA256 0x1303

/* A cipher suite's algorithms. */
typedef struct crypto_suite {
    uint16_t id;
    crypto_aead_alg aead;
    crypto_hash_alg hash;
} crypto_suite;
/* Returns a cipher suite's algorithms, or NULL for a suite we do not implement. */
QUINCE_API const crypto_suite *crypto_suite_by_id(uint16_t id);

typedef enum crypto_verify_mode {
    CRYPTO_VERIFY_CHAIN = 0, /* chain to a CA in ca_store + host name / IP check */
    CRYPTO_VERIFY_INSECURE,  /* accept any certificate (the signature is still checked) */
    CRYPTO_VERIFY_PINNED,    /* leaf's SHA-256 must equal one of pinned_sha256 */
} crypto_verify_mode;

/* Server: whether to ask the client for a certificate (RFC 8446 §4.3.2). */
typedef enum crypto_client_auth {
    CRYPTO_CLIENT_AUTH_NONE = 0, /* no CertificateRequest */
    CRYPTO_CLIENT_AUTH_OPTIONAL, /* ask; a client without one still connects */
    CRYPTO_CLIENT_AUTH_REQUIRE,  /* ask; none is certificate_required (alert 116) */
} crypto_client_auth;

/*
 * A server's session-ticket state (RFC 8446 §4.6.1, §8): the keys tickets
 * are sealed with (the current one and the one before, so that rotating does
 * not void every ticket at once) and a bounded register of the ClientHellos
 * that carried early data, so that a replayed one gets none. One per
 * endpoint, shared by its connections (crypto_tls_config.tickets); not
 * thread-safe. The current key is replaced when it is older than the ticket
 * lifetime, so a ticket opens for at most twice that long.
 */
typedef struct crypto_tls_tickets crypto_tls_tickets;
/* lifetime_s: ticket_lifetime (0: 86400; at most 604800). replay_slots: the register's size (0:
 * 4096). Returns the state, or NULL when out of memory. */
QUINCE_API crypto_tls_tickets *crypto_tls_tickets_new(const quince_env *env, uint32_t lifetime_s,
                                                      size_t replay_slots);
/* A new current key now (the old one still opens tickets until the next rotation). */
QUINCE_API void crypto_tls_tickets_rotate(crypto_tls_tickets *t, int64_t now_unix);
QUINCE_API void crypto_tls_tickets_free(crypto_tls_tickets *t);
typedef struct crypto_tls_tickets_stats {
    uint64_t issued, resumed, early_accepted, early_replayed;
} crypto_tls_tickets_stats;
QUINCE_API const crypto_tls_tickets_stats *
crypto_tls_tickets_get_stats(const crypto_tls_tickets *t);

/* What became of 0-RTT on a connection (RFC 8446 §4.2.10). */
typedef enum crypto_early_data {
    CRYPTO_EARLY_NONE = 0, /* not offered */
    CRYPTO_EARLY_OFFERED,  /* client: sent, no answer yet */
    CRYPTO_EARLY_ACCEPTED,
    CRYPTO_EARLY_REJECTED,
} crypto_early_data;

typedef struct crypto_tls_callbacks {
    void *user;
    /* Handshake bytes to send at a level, in order. Return 0 or a negative error. */
    int (*send)(void *user, crypto_level level, const uint8_t *data, size_t len);
    /* A traffic secret is ready. is_write: for packets we send. The secret's
     * length is the suite hash's length. Return 0 or a negative error. */
    int (*set_secret)(void *user, crypto_level level, bool is_write, const crypto_suite *suite,
                      const uint8_t *secret, size_t len);
    /* The peer's quic_transport_parameters (0x39) extension body, once, before
     * any application secret. Return 0, or a negative error to fail the
     * handshake (the engine sends the alert in *alert, or illegal_parameter). */
    int (*peer_transport_params)(void *user, const uint8_t *data, size_t len, uint8_t *alert);
} crypto_tls_callbacks;

typedef struct crypto_tls_config {
    bool is_server;
    /* Preference order; 0-terminated. NULL: all three suites / X25519 then P-256. */
    const uint16_t *cipher_suites;
    const uint16_t *groups;
    /* ALPN: protocol names, NUL-terminated strings, NULL-terminated list. The
     * server picks the first of its own list the client offers; no overlap ends
     * the handshake with no_application_protocol (alert 120, QUIC 0x178). */
    const char *const *alpn;
    /* Client: SNI, and the name (or IP literal) the certificate must match. */
    const char *server_name;
    /* Certificate chain, leaf first, DER, and its private key. Server: required.
     * Client: optional, presented when the server asks (RFC 8446 §4.4.2). */
    const uint8_t *const *cert_chain;
    const size_t *cert_chain_lens;
    size_t cert_chain_count;
    crypto_privkey *private_key;
    /* How to check the peer's certificate. Client: the server's. Server, with
     * client_auth: the client's (no name check; CRYPTO_VERIFY_CHAIN wants a
     * ca_store of the CAs that issue client certificates). */
    crypto_client_auth client_auth;
    crypto_verify_mode verify_mode;
    const crypto_x509_store *ca_store;
    const uint8_t (*pinned_sha256)[32];
    size_t pinned_count;
    /* Time for validity checks, seconds since the epoch; 0: env->wall_clock,
     * and no validity check if that is NULL too. */
    int64_t verify_time_unix;
    /* Our quic_transport_parameters extension body (RFC 9001 §8.2). NULL:
     * the extension is not sent (TLS over TCP). */
    const uint8_t *transport_params;
    size_t transport_params_len;
    /* Resumption (RFC 8446 §2.2, §4.6). Server: issue a NewSessionTicket
     * after each full or resumed handshake and take tickets back (NULL:
     * none issued, PSKs offered are ignored). */
    crypto_tls_tickets *tickets;
    /* Client: a session stored from on_session of an earlier connection to
     * the same server_name (copied). Unusable ones (expired, another name,
     * malformed, no suite in common) are ignored: a full handshake. */
    const uint8_t *session;
    size_t session_len;
    /* Client: called with each storable session (one per NewSessionTicket). */
    void (*on_session)(void *user, const uint8_t *session, size_t len);
    void *session_user;
    /* psk_ke, resumption without (EC)DHE (cheaper, no forward secrecy; RFC
     * 8446 §4.2.9). Client: offer it besides psk_dhe_ke. Server: choose it
     * when offered. Otherwise psk_dhe_ke only. */
    bool psk_ke;
    /* Client: send 0-RTT when the session allows it (its ALPN must be one
     * of ours). Server: accept it (once per ClientHello, §8), and say so in
     * tickets (max_early_data_size 0xffffffff, RFC 9001 §4.6.1). */
    bool early_data;
    /* Server: what else 0-RTT depends on (QUIC: the transport parameters a
     * client remembers, RFC 9000 §7.4.1; HTTP/3 SETTINGS); sealed in tickets,
     * and a ticket with other bytes gets its early data refused (copied). */
    const uint8_t *early_data_context;
    size_t early_data_context_len;
    /* Bounds on what a peer may make us hold. 0: defaults. */
    size_t max_message_size; /* one handshake message; default 64 KiB */
} crypto_tls_config;

/* Server credentials into config: cert_chain, cert_chain_lens and
 * cert_chain_count from chain (crypto_cert_chain_parse, or a
 * crypto_short_lived_cert's chain) and private_key from key. Both are
 * referenced, not copied: they must outlive every engine (and every QUIC
 * endpoint or connection) made from config. */
QUINCE_API void crypto_tls_config_set_credentials(crypto_tls_config *config,
                                                  const crypto_cert_chain *chain,
                                                  crypto_privkey *key);

typedef struct crypto_tls crypto_tls;

/* crypto_tls_new copies the config's suite and group lists, ALPN names, server
 * name and transport parameters; the certificate chain, private key, CA store
 * and pins are referenced and must outlive the engine. Returns NULL on bad
 * arguments (a server without chain or key, no usable suite or group) or
 * when out of memory. */
QUINCE_API crypto_tls *crypto_tls_new(const quince_env *env, const crypto_tls_config *config,
                                      const crypto_tls_callbacks *callbacks);
QUINCE_API void crypto_tls_free(crypto_tls *tls);

/* Client: produce the ClientHello (through callbacks->send at INITIAL). Server: nothing to do (the
 * handshake starts with crypto_tls_recv). Returns 0; CRYPTO_ERR_ARGUMENT when called twice, or the
 * sticky error (a negative CRYPTO_ERR_*, e.g. CRYPTO_ERR_NOMEM) when producing the ClientHello
 * failed. */
QUINCE_API int crypto_tls_start(crypto_tls *tls);

/* Handshake bytes received at level, in order and in any fragmentation.
 * Returns 0, or a negative CRYPTO_ERR_*; after an error crypto_tls_alert()
 * names the alert to send and every later call returns the same error.
 *
 * The engine reads at one level at a time (client: INITIAL, HANDSHAKE after
 * the ServerHello, APP when done; server: INITIAL, then HANDSHAKE, then APP).
 * Bytes at any other level, bytes left over at a level when the next one's
 * keys were handed out, or a message out of order are unexpected_message; a
 * message longer than max_message_size or malformed is decode_error. Within
 * one call, in this order: send() of the messages produced at the lower
 * level, set_secret() for the new level (read and write), send() at that
 * level. Once done, the client takes NewSessionTicket at APP (on_session); any other
 * post-handshake message (KeyUpdate is not used with QUIC) is
 * unexpected_message. */
QUINCE_API int crypto_tls_recv(crypto_tls *tls, crypto_level level, const uint8_t *data,
                               size_t len);

/* Returns true once the handshake completed (the peer's Finished checked, ours sent); never
 * fails. */
QUINCE_API bool crypto_tls_handshake_done(const crypto_tls *tls);
/* Returns the TLS alert for the failure (RFC 8446 §6), 0 while there is none; QUIC sends 0x100 +
 * alert. */
QUINCE_API uint8_t crypto_tls_alert(const crypto_tls *tls);
/* Return the negotiated ALPN (NUL-terminated), cipher suite and group, and whether a
 * HelloRetryRequest was used; NULL, 0 or false before they are known. */
QUINCE_API const char *crypto_tls_alpn(const crypto_tls *tls);
QUINCE_API const crypto_suite *crypto_tls_suite(const crypto_tls *tls);
QUINCE_API uint16_t crypto_tls_group(const crypto_tls *tls);
QUINCE_API bool crypto_tls_used_hrr(const crypto_tls *tls);
/* Server: returns the SNI the client sent, or NULL. */
QUINCE_API const char *crypto_tls_server_name(const crypto_tls *tls);
/* Return whether the handshake resumed a session (a PSK was accepted), and how 0-RTT went
 * (CRYPTO_EARLY_NONE before anything was offered); never fail. */
QUINCE_API bool crypto_tls_resumed(const crypto_tls *tls);
QUINCE_API crypto_early_data crypto_tls_early_data(const crypto_tls *tls);
/* Server, from the peer_transport_params callback (before EncryptedExtensions is
 * written): our QUIC transport parameters replaced by ones of the same length
 * (RFC 9368: the negotiated version in version_information).
 * Returns 0, or CRYPTO_ERR_ARGUMENT when the length differs or it is too late. */
QUINCE_API int crypto_tls_replace_transport_params(crypto_tls *tls, const uint8_t *data,
                                                   size_t len);
/* Client: returns the server's transport parameters remembered in the session it offers (for
 * 0-RTT, RFC 9000 §7.4.1) with *len, or NULL. */
QUINCE_API const uint8_t *crypto_tls_session_transport_params(const crypto_tls *tls, size_t *len);
/* The peer's certificate chain as it sent it (leaf first, DER), once checked: the server's on a
 * client, the client's on a server that asked (zero certificates when the client sent none).
 * crypto_tls_peer_cert_count returns how many; crypto_tls_peer_cert returns certificate i with
 * *len, or NULL for i out of range. Valid until crypto_tls_free. */
QUINCE_API size_t crypto_tls_peer_cert_count(const crypto_tls *tls);
QUINCE_API const uint8_t *crypto_tls_peer_cert(const crypto_tls *tls, size_t i, size_t *len);
/* Returns the sticky error (a negative CRYPTO_ERR_*), or 0. */
QUINCE_API int crypto_tls_error(const crypto_tls *tls);
/* Returns the CertificateVerify signature scheme (server: chosen; client: checked); 0 before. */
QUINCE_API uint16_t crypto_tls_signature_scheme(const crypto_tls *tls);
/* TLS-Exporter (RFC 8446 §7.5): out_len bytes for label and context, once the application secrets
 * are known (client: handshake done; server: Finished sent). Returns 0; CRYPTO_ERR_ARGUMENT before
 * that or for an over-long label/context. */
QUINCE_API int crypto_tls_export(const crypto_tls *tls, const char *label, const uint8_t *context,
                                 size_t context_len, uint8_t *out, size_t out_len);

/* TLS alert descriptions (RFC 8446 §6). */
#define CRYPTO_ALERT_CLOSE_NOTIFY 0
#define CRYPTO_ALERT_UNEXPECTED_MESSAGE 10
#define CRYPTO_ALERT_BAD_RECORD_MAC 20
#define CRYPTO_ALERT_HANDSHAKE_FAILURE 40
#define CRYPTO_ALERT_BAD_CERTIFICATE 42
#define CRYPTO_ALERT_UNSUPPORTED_CERTIFICATE 43
#define CRYPTO_ALERT_CERTIFICATE_EXPIRED 45
#define CRYPTO_ALERT_CERTIFICATE_UNKNOWN 46
#define CRYPTO_ALERT_ILLEGAL_PARAMETER 47
#define CRYPTO_ALERT_UNKNOWN_CA 48
#define CRYPTO_ALERT_DECODE_ERROR 50
#define CRYPTO_ALERT_DECRYPT_ERROR 51
#define CRYPTO_ALERT_PROTOCOL_VERSION 70
#define CRYPTO_ALERT_INSUFFICIENT_SECURITY 71
#define CRYPTO_ALERT_INTERNAL_ERROR 80
#define CRYPTO_ALERT_MISSING_EXTENSION 109
#define CRYPTO_ALERT_UNSUPPORTED_EXTENSION 110
#define CRYPTO_ALERT_UNRECOGNIZED_NAME 112
#define CRYPTO_ALERT_CERTIFICATE_REQUIRED 116
#define CRYPTO_ALERT_NO_APPLICATION_PROTOCOL 120

/* Returns the alert that goes with a CRYPTO_ERR_* code (internal_error for one without its own). */
QUINCE_API uint8_t crypto_alert_for_error(int err);

#endif
