/* Names of QUIC transport error codes (RFC 9000 §20.1, RFC 9001 §4.8). */
#include "quic/error.h"
#include "quic/quic.h"

/* RFC 9000 §20.1 */
QUINCE_API const char *quic_transport_error_name(uint64_t code)
{
    static const char *const names[] = {
        "NO_ERROR",
        "INTERNAL_ERROR",
        "CONNECTION_REFUSED",
        "FLOW_CONTROL_ERROR",
        "STREAM_LIMIT_ERROR",
        "STREAM_STATE_ERROR",
        "FINAL_SIZE_ERROR",
        "FRAME_ENCODING_ERROR",
        "TRANSPORT_PARAMETER_ERROR",
        "CONNECTION_ID_LIMIT_ERROR",
        "PROTOCOL_VIOLATION",
        "INVALID_TOKEN",
        "APPLICATION_ERROR",
        "CRYPTO_BUFFER_EXCEEDED",
        "KEY_UPDATE_ERROR",
        "AEAD_LIMIT_REACHED",
        "NO_VIABLE_PATH",
        "VERSION_NEGOTIATION_ERROR",
    };
    if (code < sizeof(names) / sizeof(names[0]))
        return names[code];
    /* RFC 9001 §4.8: 0x0100-0x01ff carry a TLS alert. */
    if (code >= QUIC_TE_CRYPTO_ERROR_BASE && code <= 0x01ff)
        return "CRYPTO_ERROR";
    return NULL;
}
