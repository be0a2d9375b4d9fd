/* Error codes of quic/: transport error codes (RFC 9000 §20.1) and library negative codes. */
#ifndef QUIC_ERROR_H
#define QUIC_ERROR_H

#include <stdbool.h>
#include <stdint.h>

/* RFC 9000 §20.1: transport error codes, carried in CONNECTION_CLOSE (0x1c). */
enum {
    QUIC_TE_NO_ERROR = 0x00,
    QUIC_TE_INTERNAL_ERROR = 0x01,
    QUIC_TE_CONNECTION_REFUSED = 0x02,
    QUIC_TE_FLOW_CONTROL_ERROR = 0x03,
    QUIC_TE_STREAM_LIMIT_ERROR = 0x04,
    QUIC_TE_STREAM_STATE_ERROR = 0x05,
    QUIC_TE_FINAL_SIZE_ERROR = 0x06,
    QUIC_TE_FRAME_ENCODING_ERROR = 0x07,
    QUIC_TE_TRANSPORT_PARAMETER_ERROR = 0x08,
    QUIC_TE_CONNECTION_ID_LIMIT_ERROR = 0x09,
    QUIC_TE_PROTOCOL_VIOLATION = 0x0a,
    QUIC_TE_INVALID_TOKEN = 0x0b,
    QUIC_TE_APPLICATION_ERROR = 0x0c,
    QUIC_TE_CRYPTO_BUFFER_EXCEEDED = 0x0d,
    QUIC_TE_KEY_UPDATE_ERROR = 0x0e,
    QUIC_TE_AEAD_LIMIT_REACHED = 0x0f,
    QUIC_TE_NO_VIABLE_PATH = 0x10,
    QUIC_TE_VERSION_NEGOTIATION_ERROR = 0x11, /* RFC 9368 §10.2 */
    QUIC_TE_CRYPTO_ERROR_BASE = 0x0100, /* 0x0100-0x01ff: CRYPTO_ERROR + TLS alert */
};

/*
 * The library's errors are negative ints. Errors that close the connection
 * with a transport error code are QUIC_ERR_TRANSPORT_BASE - code, so that the
 * wire code travels inside the return value (quic_err_transport_code()).
 * The others are local conditions.
 */
#define QUIC_ERR_TRANSPORT_BASE (-0x1000)
#define QUIC_ERR_TRANSPORT(code) (QUIC_ERR_TRANSPORT_BASE - (int)(code))

enum {
    QUIC_OK = 0,
    QUIC_ERR_NOMEM = -1,
    QUIC_ERR_INTERNAL = -2,
    QUIC_ERR_ARGUMENT = -3,
    QUIC_ERR_BUFFER_TOO_SMALL = -4, /* an encoder's output did not fit */
    QUIC_ERR_DROP = -5,             /* malformed or unusable packet: drop it silently */
    QUIC_ERR_LIMIT = -6,            /* a configured bound was hit (the caller names the
                                       wire error: FLOW_CONTROL_ERROR, CRYPTO_BUFFER_EXCEEDED) */
    QUIC_ERR_BUDGET = -7,           /* a memory budget is full: hold the peer (no credit, the
                                       packet left unacknowledged, a short write) */

    QUIC_ERR_INTERNAL_ERROR = QUIC_ERR_TRANSPORT(QUIC_TE_INTERNAL_ERROR),
    QUIC_ERR_FLOW_CONTROL = QUIC_ERR_TRANSPORT(QUIC_TE_FLOW_CONTROL_ERROR),
    QUIC_ERR_STREAM_LIMIT = QUIC_ERR_TRANSPORT(QUIC_TE_STREAM_LIMIT_ERROR),
    QUIC_ERR_STREAM_STATE = QUIC_ERR_TRANSPORT(QUIC_TE_STREAM_STATE_ERROR),
    QUIC_ERR_FINAL_SIZE = QUIC_ERR_TRANSPORT(QUIC_TE_FINAL_SIZE_ERROR),
    QUIC_ERR_FRAME_ENCODING = QUIC_ERR_TRANSPORT(QUIC_TE_FRAME_ENCODING_ERROR),
    QUIC_ERR_TRANSPORT_PARAMETER = QUIC_ERR_TRANSPORT(QUIC_TE_TRANSPORT_PARAMETER_ERROR),
    QUIC_ERR_CONNECTION_ID_LIMIT = QUIC_ERR_TRANSPORT(QUIC_TE_CONNECTION_ID_LIMIT_ERROR),
    QUIC_ERR_PROTOCOL_VIOLATION = QUIC_ERR_TRANSPORT(QUIC_TE_PROTOCOL_VIOLATION),
    QUIC_ERR_INVALID_TOKEN = QUIC_ERR_TRANSPORT(QUIC_TE_INVALID_TOKEN),
    QUIC_ERR_CRYPTO_BUFFER_EXCEEDED = QUIC_ERR_TRANSPORT(QUIC_TE_CRYPTO_BUFFER_EXCEEDED),
    QUIC_ERR_KEY_UPDATE = QUIC_ERR_TRANSPORT(QUIC_TE_KEY_UPDATE_ERROR),
    QUIC_ERR_AEAD_LIMIT_REACHED = QUIC_ERR_TRANSPORT(QUIC_TE_AEAD_LIMIT_REACHED),
    QUIC_ERR_VERSION_NEGOTIATION = QUIC_ERR_TRANSPORT(QUIC_TE_VERSION_NEGOTIATION_ERROR),
};

/* True if err carries a transport error code for CONNECTION_CLOSE. */
static inline bool quic_err_is_transport(int err)
{
    return err <= QUIC_ERR_TRANSPORT_BASE && err > QUIC_ERR_TRANSPORT_BASE - 0x200;
}

/* The RFC 9000 §20.1 code carried by err; INTERNAL_ERROR for local errors. */
static inline uint64_t quic_err_transport_code(int err)
{
    if (quic_err_is_transport(err))
        return (uint64_t)(QUIC_ERR_TRANSPORT_BASE - err);
    return QUIC_TE_INTERNAL_ERROR;
}

#endif
