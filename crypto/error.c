/* Names of crypto/ error codes and the TLS alert (RFC 8446 §6) that goes with each. */
#include "crypto/error.h"
#include "crypto/tls.h"

/* (no RFC section) */
const char *crypto_strerror(int err)
{
    switch (err) {
    case CRYPTO_OK:
        return "ok";
    case CRYPTO_ERR_NOMEM:
        return "out of memory";
    case CRYPTO_ERR_INTERNAL:
        return "internal error";
    case CRYPTO_ERR_ARGUMENT:
        return "invalid argument";
    case CRYPTO_ERR_BUFFER_TOO_SMALL:
        return "buffer too small";
    case CRYPTO_ERR_UNSUPPORTED:
        return "unsupported algorithm or feature";
    case CRYPTO_ERR_DECRYPT:
        return "decryption failed";
    case CRYPTO_ERR_PARSE:
        return "malformed key, certificate or PEM";
    case CRYPTO_ERR_DECODE_ERROR:
        return "decode_error";
    case CRYPTO_ERR_UNEXPECTED_MESSAGE:
        return "unexpected_message";
    case CRYPTO_ERR_ILLEGAL_PARAMETER:
        return "illegal_parameter";
    case CRYPTO_ERR_HANDSHAKE_FAILURE:
        return "handshake_failure";
    case CRYPTO_ERR_BAD_CERTIFICATE:
        return "bad_certificate";
    case CRYPTO_ERR_UNSUPPORTED_CERTIFICATE:
        return "unsupported_certificate";
    case CRYPTO_ERR_CERT_EXPIRED:
        return "certificate_expired";
    case CRYPTO_ERR_UNKNOWN_CA:
        return "unknown_ca";
    case CRYPTO_ERR_DECRYPT_ERROR:
        return "decrypt_error";
    case CRYPTO_ERR_PROTOCOL_VERSION:
        return "protocol_version";
    case CRYPTO_ERR_MISSING_EXTENSION:
        return "missing_extension";
    case CRYPTO_ERR_UNSUPPORTED_EXTENSION:
        return "unsupported_extension";
    case CRYPTO_ERR_NO_APPLICATION_PROTOCOL:
        return "no_application_protocol";
    case CRYPTO_ERR_INSUFFICIENT_SECURITY:
        return "insufficient_security";
    case CRYPTO_ERR_CERTIFICATE_REQUIRED:
        return "certificate_required";
    case CRYPTO_ERR_INTERNAL_ERROR:
        return "internal_error";
    case CRYPTO_ERR_ALERT_RECEIVED:
        return "alert received from peer";
    case CRYPTO_ERR_QUIC_PROTOCOL_VIOLATION:
        return "QUIC protocol violation in the handshake";
    default:
        return "unknown error";
    }
}

/* RFC 8446 §6 */
uint8_t crypto_alert_for_error(int err)
{
    switch (err) {
    case CRYPTO_OK:
        return CRYPTO_ALERT_CLOSE_NOTIFY;
    case CRYPTO_ERR_DECRYPT:
        return CRYPTO_ALERT_BAD_RECORD_MAC;
    case CRYPTO_ERR_PARSE:
    case CRYPTO_ERR_DECODE_ERROR:
        return CRYPTO_ALERT_DECODE_ERROR;
    case CRYPTO_ERR_UNEXPECTED_MESSAGE:
        return CRYPTO_ALERT_UNEXPECTED_MESSAGE;
    case CRYPTO_ERR_ILLEGAL_PARAMETER:
    case CRYPTO_ERR_QUIC_PROTOCOL_VIOLATION: /* QUIC sends 0x0a instead */
        return CRYPTO_ALERT_ILLEGAL_PARAMETER;
    case CRYPTO_ERR_HANDSHAKE_FAILURE:
        return CRYPTO_ALERT_HANDSHAKE_FAILURE;
    case CRYPTO_ERR_BAD_CERTIFICATE:
        return CRYPTO_ALERT_BAD_CERTIFICATE;
    case CRYPTO_ERR_UNSUPPORTED_CERTIFICATE:
        return CRYPTO_ALERT_UNSUPPORTED_CERTIFICATE;
    case CRYPTO_ERR_CERT_EXPIRED:
        return CRYPTO_ALERT_CERTIFICATE_EXPIRED;
    case CRYPTO_ERR_UNKNOWN_CA:
        return CRYPTO_ALERT_UNKNOWN_CA;
    case CRYPTO_ERR_DECRYPT_ERROR:
        return CRYPTO_ALERT_DECRYPT_ERROR;
    case CRYPTO_ERR_PROTOCOL_VERSION:
        return CRYPTO_ALERT_PROTOCOL_VERSION;
    case CRYPTO_ERR_MISSING_EXTENSION:
        return CRYPTO_ALERT_MISSING_EXTENSION;
    case CRYPTO_ERR_UNSUPPORTED_EXTENSION:
        return CRYPTO_ALERT_UNSUPPORTED_EXTENSION;
    case CRYPTO_ERR_NO_APPLICATION_PROTOCOL:
        return CRYPTO_ALERT_NO_APPLICATION_PROTOCOL;
    case CRYPTO_ERR_INSUFFICIENT_SECURITY:
        return CRYPTO_ALERT_INSUFFICIENT_SECURITY;
    case CRYPTO_ERR_CERTIFICATE_REQUIRED:
        return CRYPTO_ALERT_CERTIFICATE_REQUIRED;
    default:
        /* NOMEM, INTERNAL, ARGUMENT, BUFFER_TOO_SMALL, UNSUPPORTED,
         * INTERNAL_ERROR and anything unknown are our own failures. */
        return CRYPTO_ALERT_INTERNAL_ERROR;
    }
}

/* RFC 8446 §6 (§6.1 closure alerts, §6.2 error alerts), RFC 7301 §3.2 */
const char *crypto_alert_name(unsigned alert)
{
    switch (alert) {
    case 0:
        return "close_notify";
    case 10:
        return "unexpected_message";
    case 20:
        return "bad_record_mac";
    case 22:
        return "record_overflow";
    case 40:
        return "handshake_failure";
    case 42:
        return "bad_certificate";
    case 43:
        return "unsupported_certificate";
    case 44:
        return "certificate_revoked";
    case 45:
        return "certificate_expired";
    case 46:
        return "certificate_unknown";
    case 47:
        return "illegal_parameter";
    case 48:
        return "unknown_ca";
    case 49:
        return "access_denied";
    case 50:
        return "decode_error";
    case 51:
        return "decrypt_error";
    case 70:
        return "protocol_version";
    case 71:
        return "insufficient_security";
    case 80:
        return "internal_error";
    case 86:
        return "inappropriate_fallback";
    case 90:
        return "user_canceled";
    case 109:
        return "missing_extension";
    case 110:
        return "unsupported_extension";
    case 112:
        return "unrecognized_name";
    case 113:
        return "bad_certificate_status_response";
    case 115:
        return "unknown_psk_identity";
    case 116: /* certificate_required */
        return "certificate_required";
    case 120:
        return "no_application_protocol";
    default:
        return NULL;
    }
}
