/* TLS 1.3 handshake messages and extensions: codepoints, pure parsers and encoders (RFC 8446 §4).
 */
#ifndef CRYPTO_TLS_MSG_H
#define CRYPTO_TLS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/error.h"

/*
 * Parsers take one message body (after the 4-byte handshake header), fill a
 * struct whose spans point into that body, and return 0 or the negative
 * CRYPTO_ERR_* whose alert RFC 8446 names for the failure. They validate every
 * vector they record, so the iteration helpers below cannot run off the end.
 * Encoders write a whole handshake message (header included) into a caller's
 * buffer and return its length, or CRYPTO_ERR_BUFFER_TOO_SMALL.
 */

/* HandshakeType (RFC 8446 §4). */
#define CRYPTO_HS_CLIENT_HELLO 1
#define CRYPTO_HS_SERVER_HELLO 2
#define CRYPTO_HS_NEW_SESSION_TICKET 4
#define CRYPTO_HS_END_OF_EARLY_DATA 5
#define CRYPTO_HS_ENCRYPTED_EXTENSIONS 8
#define CRYPTO_HS_CERTIFICATE 11
#define CRYPTO_HS_CERTIFICATE_REQUEST 13
#define CRYPTO_HS_CERTIFICATE_VERIFY 15
#define CRYPTO_HS_FINISHED 20
#define CRYPTO_HS_KEY_UPDATE 24
#define CRYPTO_HS_MESSAGE_HASH 254
#define CRYPTO_HS_HEADER_LEN 4

/* ExtensionType (RFC 8446 §4.2; quic_transport_parameters: RFC 9001 §8.2). */
#define CRYPTO_EXT_SERVER_NAME 0
#define CRYPTO_EXT_MAX_FRAGMENT_LENGTH 1
#define CRYPTO_EXT_STATUS_REQUEST 5
#define CRYPTO_EXT_SUPPORTED_GROUPS 10
#define CRYPTO_EXT_SIGNATURE_ALGORITHMS 13
#define CRYPTO_EXT_USE_SRTP 14
#define CRYPTO_EXT_HEARTBEAT 15
#define CRYPTO_EXT_ALPN 16
#define CRYPTO_EXT_SCT 18
#define CRYPTO_EXT_CLIENT_CERT_TYPE 19
#define CRYPTO_EXT_SERVER_CERT_TYPE 20
#define CRYPTO_EXT_PADDING 21
#define CRYPTO_EXT_PRE_SHARED_KEY 41
#define CRYPTO_EXT_EARLY_DATA 42
#define CRYPTO_EXT_SUPPORTED_VERSIONS 43
#define CRYPTO_EXT_COOKIE 44
#define CRYPTO_EXT_PSK_KEY_EXCHANGE_MODES 45
#define CRYPTO_EXT_CERTIFICATE_AUTHORITIES 47
#define CRYPTO_EXT_OID_FILTERS 48
#define CRYPTO_EXT_POST_HANDSHAKE_AUTH 49
#define CRYPTO_EXT_SIGNATURE_ALGORITHMS_CERT 50
#define CRYPTO_EXT_KEY_SHARE 51
#define CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS 0x39

#define CRYPTO_TLS_VERSION_13 0x0304
#define CRYPTO_TLS_LEGACY_VERSION 0x0303
#define CRYPTO_TLS_RANDOM_LEN 32
#define CRYPTO_TLS_MAX_SESSION_ID 32
/* Longest chain we accept in a Certificate message; a longer one is bad_certificate. */
#define CRYPTO_TLS_MAX_CHAIN 10
/* Longest host name (DNS names are at most 253 characters). */
#define CRYPTO_TLS_MAX_HOST_NAME 255

/* ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3). */
extern const uint8_t crypto_tls_hrr_random[CRYPTO_TLS_RANDOM_LEN];

/* A byte range inside a parsed message (parsers never copy). */
typedef struct crypto_tls_span {
    const uint8_t *p;
    size_t len;
} crypto_tls_span;

/* Bit of a known extension in the `exts` masks below; 0 for an unknown type. */
uint32_t crypto_tls_ext_bit(uint16_t type);

/* RFC 8446 §4.1.2 */
typedef struct crypto_tls_client_hello {
    uint16_t legacy_version;
    const uint8_t *random;
    crypto_tls_span session_id;
    crypto_tls_span cipher_suites; /* list of uint16 */
    crypto_tls_span compression_methods;
    bool has_extensions;
    uint32_t exts;                    /* crypto_tls_ext_bit() of every known extension */
    crypto_tls_span versions;         /* supported_versions: list of uint16 */
    crypto_tls_span groups;           /* supported_groups: list of uint16 */
    crypto_tls_span sig_algs;         /* signature_algorithms: list of uint16 */
    crypto_tls_span key_shares;       /* key_share: KeyShareEntry list */
    crypto_tls_span alpn;             /* ALPN: ProtocolName list */
    crypto_tls_span server_name;      /* the host_name, or empty */
    crypto_tls_span transport_params; /* quic_transport_parameters body */
    crypto_tls_span psk_modes;        /* psk_key_exchange_modes: list of uint8 */
    crypto_tls_span cookie;           /* cookie body */
    /* pre_shared_key (§4.2.11): the first identity, its obfuscated age and
     * binder, how many were offered, and the length of the binders vector
     * (with its 2-byte prefix) that ends the message: the truncated
     * ClientHello the binders cover is everything before it. */
    crypto_tls_span psk_identity;
    uint32_t psk_obfuscated_age;
    crypto_tls_span psk_binder;
    size_t psk_count;
    size_t psk_binders_len;
} crypto_tls_client_hello;

/* PskKeyExchangeMode (RFC 8446 §4.2.9). */
#define CRYPTO_PSK_KE 0
#define CRYPTO_PSK_DHE_KE 1

/* Whether a uint8 list holds v. */
bool crypto_tls_u8_list_has(crypto_tls_span list, uint8_t v);

/* RFC 8446 §4.1.3 (and the HelloRetryRequest of §4.1.4, told apart by is_hrr). */
typedef struct crypto_tls_server_hello {
    bool is_hrr;
    uint16_t legacy_version;
    const uint8_t *random;
    crypto_tls_span session_id;
    uint16_t cipher_suite;
    uint32_t exts;
    uint16_t version;          /* supported_versions.selected_version; 0 if absent */
    uint16_t group;            /* key_share group (HRR: selected_group); 0 if absent */
    crypto_tls_span key_share; /* ServerHello: the server's key_exchange */
    crypto_tls_span cookie;    /* HelloRetryRequest: cookie body */
    uint16_t psk_identity;     /* pre_shared_key: selected_identity */
} crypto_tls_server_hello;

/* RFC 8446 §4.6.1 */
typedef struct crypto_tls_new_session_ticket {
    uint32_t lifetime;
    uint32_t age_add;
    crypto_tls_span nonce;
    crypto_tls_span ticket;
    uint32_t exts;
    uint32_t max_early_data; /* early_data extension; 0 if absent */
} crypto_tls_new_session_ticket;

/* RFC 8446 §4.3.1 */
typedef struct crypto_tls_encrypted_extensions {
    uint32_t exts;
    crypto_tls_span alpn; /* the one protocol selected */
    crypto_tls_span transport_params;
} crypto_tls_encrypted_extensions;

/* RFC 8446 §4.4.2 */
typedef struct crypto_tls_certificate {
    crypto_tls_span context;
    size_t count;
    crypto_tls_span certs[CRYPTO_TLS_MAX_CHAIN];
} crypto_tls_certificate;

/* RFC 8446 §4.3.2 */
typedef struct crypto_tls_certificate_request {
    crypto_tls_span context;
    uint32_t exts;
    crypto_tls_span sig_algs; /* signature_algorithms: list of uint16 (mandatory) */
} crypto_tls_certificate_request;

/* RFC 8446 §4.4.3 */
typedef struct crypto_tls_certificate_verify {
    uint16_t scheme;
    crypto_tls_span signature;
} crypto_tls_certificate_verify;

/* Parsers: body is the message without its 4-byte header. */
int crypto_tls_parse_client_hello(const uint8_t *body, size_t len, crypto_tls_client_hello *ch);
int crypto_tls_parse_server_hello(const uint8_t *body, size_t len, crypto_tls_server_hello *sh);
int crypto_tls_parse_encrypted_extensions(const uint8_t *body, size_t len,
                                          crypto_tls_encrypted_extensions *ee);
int crypto_tls_parse_certificate(const uint8_t *body, size_t len, crypto_tls_certificate *ct);
/* A missing signature_algorithms is missing_extension (§4.3.2). */
int crypto_tls_parse_certificate_request(const uint8_t *body, size_t len,
                                         crypto_tls_certificate_request *cr);
int crypto_tls_parse_certificate_verify(const uint8_t *body, size_t len,
                                        crypto_tls_certificate_verify *cv);
/* RFC 8446 §4.6.1 */
int crypto_tls_parse_new_session_ticket(const uint8_t *body, size_t len,
                                        crypto_tls_new_session_ticket *nst);
/* verify_data must be exactly hash_len bytes (RFC 8446 §4.4.4). */
int crypto_tls_parse_finished(const uint8_t *body, size_t len, size_t hash_len,
                              crypto_tls_span *verify_data);

/* Helpers over validated vectors. */
bool crypto_tls_u16_list_has(crypto_tls_span list, uint16_t v);
size_t crypto_tls_u16_list_count(crypto_tls_span list);
uint16_t crypto_tls_u16_list_at(crypto_tls_span list, size_t i);
/* The key_exchange offered for group in a KeyShareEntry list. */
bool crypto_tls_key_share_find(crypto_tls_span list, uint16_t group, crypto_tls_span *key);
size_t crypto_tls_key_share_count(crypto_tls_span list);
/* Whether a ProtocolName list holds name. */
bool crypto_tls_alpn_has(crypto_tls_span list, const char *name);

/* A key share to send. */
typedef struct crypto_tls_share {
    uint16_t group;
    const uint8_t *key;
    size_t len;
} crypto_tls_share;

/* What a ClientHello carries (RFC 8446 §4.1.2). */
typedef struct crypto_tls_client_hello_params {
    const uint8_t *random; /* 32 bytes */
    const uint8_t *session_id;
    size_t session_id_len;
    const uint16_t *suites;
    size_t n_suites;
    const uint16_t *groups;
    size_t n_groups;
    const crypto_tls_share *shares;
    size_t n_shares;
    const uint16_t *sig_algs;
    size_t n_sig_algs;
    const char *const *alpn; /* NULL-terminated, or NULL */
    const char *server_name; /* DNS name for SNI, or NULL */
    bool send_transport_params;
    const uint8_t *transport_params;
    size_t transport_params_len;
    const uint8_t *cookie; /* echoed from a HelloRetryRequest, or NULL */
    size_t cookie_len;
    /* Resumption (§4.2.9-§4.2.11): modes to send (none: no PSK offered), one
     * identity, and its binder's length; the binder is written as zeros for
     * the caller to fill in (crypto_tls_binders_len gives where it starts). */
    const uint8_t *psk_modes;
    size_t n_psk_modes;
    bool early_data;
    const uint8_t *psk_identity;
    size_t psk_identity_len;
    uint32_t psk_obfuscated_age;
    size_t psk_binder_len;
} crypto_tls_client_hello_params;

/* Length of the binders vector (prefix included) for one binder of hash_len bytes. */
#define CRYPTO_TLS_BINDERS_LEN(hash_len) (2 + 1 + (hash_len))

/* A ServerHello or, with is_hrr, a HelloRetryRequest (RFC 8446 §4.1.3, §4.1.4). */
typedef struct crypto_tls_server_hello_params {
    bool is_hrr;
    const uint8_t *random; /* 32 bytes; ignored for a HelloRetryRequest */
    const uint8_t *session_id;
    size_t session_id_len;
    uint16_t cipher_suite;
    crypto_tls_share share; /* HelloRetryRequest: only the group; group 0: none (psk_ke) */
    bool psk;               /* pre_shared_key with selected_identity 0 */
} crypto_tls_server_hello_params;

int crypto_tls_encode_client_hello(const crypto_tls_client_hello_params *p, uint8_t *buf,
                                   size_t cap);
int crypto_tls_encode_server_hello(const crypto_tls_server_hello_params *p, uint8_t *buf,
                                   size_t cap);
/* alpn: the selected protocol or NULL; transport_params NULL: not sent;
 * early_data: the server accepts 0-RTT (§4.2.10). */
int crypto_tls_encode_encrypted_extensions(const char *alpn, const uint8_t *transport_params,
                                           size_t transport_params_len, bool early_data,
                                           uint8_t *buf, size_t cap);
/* RFC 8446 §4.6.1; max_early_data 0: no early_data extension. */
int crypto_tls_encode_new_session_ticket(uint32_t lifetime, uint32_t age_add, const uint8_t *nonce,
                                         size_t nonce_len, const uint8_t *ticket, size_t ticket_len,
                                         uint32_t max_early_data, uint8_t *buf, size_t cap);
int crypto_tls_encode_certificate(const uint8_t *const *certs, const size_t *lens, size_t count,
                                  uint8_t *buf, size_t cap);
/* The same with a certificate_request_context (a client's answer, §4.4.2); count may be 0. */
int crypto_tls_encode_certificate_ctx(const uint8_t *context, size_t context_len,
                                      const uint8_t *const *certs, const size_t *lens, size_t count,
                                      uint8_t *buf, size_t cap);
/* A CertificateRequest with signature_algorithms only (§4.3.2). */
int crypto_tls_encode_certificate_request(const uint8_t *context, size_t context_len,
                                          const uint16_t *sig_algs, size_t n_sig_algs, uint8_t *buf,
                                          size_t cap);
int crypto_tls_encode_certificate_verify(uint16_t scheme, const uint8_t *sig, size_t sig_len,
                                         uint8_t *buf, size_t cap);
int crypto_tls_encode_finished(const uint8_t *verify_data, size_t len, uint8_t *buf, size_t cap);

/* Whether name is an IPv4 or IPv6 literal (never sent as SNI, RFC 6066 §3). */
bool crypto_tls_is_ip_literal(const char *name);

#endif
