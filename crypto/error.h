/* Error codes of crypto/: negative ints; TLS alerts (RFC 8446 §6) are a separate space. */
#ifndef CRYPTO_ERROR_H
#define CRYPTO_ERROR_H

#include "base/export.h"

enum {
    CRYPTO_OK = 0,
    CRYPTO_ERR_NOMEM = -1,
    CRYPTO_ERR_INTERNAL = -2,
    CRYPTO_ERR_ARGUMENT = -3,
    CRYPTO_ERR_BUFFER_TOO_SMALL = -4,
    CRYPTO_ERR_UNSUPPORTED = -5,
    CRYPTO_ERR_DECRYPT = -6,           /* AEAD open failed (drop the packet) */
    CRYPTO_ERR_PARSE = -7,             /* malformed key, certificate or PEM */
    /* Failures that end a handshake, one per TLS alert. */
    CRYPTO_ERR_DECODE_ERROR = -50,
    CRYPTO_ERR_UNEXPECTED_MESSAGE = -51,
    CRYPTO_ERR_ILLEGAL_PARAMETER = -52,
    CRYPTO_ERR_HANDSHAKE_FAILURE = -53,
    CRYPTO_ERR_BAD_CERTIFICATE = -54,
    CRYPTO_ERR_UNSUPPORTED_CERTIFICATE = -55,
    CRYPTO_ERR_CERT_EXPIRED = -56,
    CRYPTO_ERR_UNKNOWN_CA = -57,
    CRYPTO_ERR_DECRYPT_ERROR = -58,
    CRYPTO_ERR_PROTOCOL_VERSION = -59,
    CRYPTO_ERR_MISSING_EXTENSION = -60,
    CRYPTO_ERR_UNSUPPORTED_EXTENSION = -61,
    CRYPTO_ERR_NO_APPLICATION_PROTOCOL = -62,
    CRYPTO_ERR_INSUFFICIENT_SECURITY = -63,
    CRYPTO_ERR_CERTIFICATE_REQUIRED = -64,
    CRYPTO_ERR_INTERNAL_ERROR = -65,
    CRYPTO_ERR_ALERT_RECEIVED = -66,
    /* A rule of TLS-for-QUIC broken (RFC 9001 §8.4, a ClientHello with a
     * legacy_session_id): QUIC closes with PROTOCOL_VIOLATION, not an alert. */
    CRYPTO_ERR_QUIC_PROTOCOL_VIOLATION = -67,
};

/* Returns the human-readable name of an error code (never NULL: "unknown error" for a value not in
 * the table). */
QUINCE_API const char *crypto_strerror(int err);
/* Returns the name of a TLS alert (RFC 8446 §6, "unknown_ca"), or NULL for a value the RFCs do not
 * define. */
QUINCE_API const char *crypto_alert_name(unsigned alert);

#endif
