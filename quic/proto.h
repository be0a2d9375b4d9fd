/* QUIC wire constants: versions, packet and frame types, transport parameter ids. */
#ifndef QUIC_PROTO_H
#define QUIC_PROTO_H

#include <stdbool.h>
#include <stdint.h>

#include "base/opt.h"

/* RFC 9000 §15, RFC 9369 §3.1 */
#define QUIC_VERSION_NEGOTIATION 0x00000000u
#define QUIC_VERSION_1 0x00000001u
#define QUIC_VERSION_2 0x6b3343cfu

/* RFC 9000 §15: versions 0x?a?a?a?a are reserved for greasing. */
static inline bool quic_version_is_grease(uint32_t v)
{
    return (v & 0x0f0f0f0fu) == 0x0a0a0a0au;
}

static inline bool quic_version_is_supported(uint32_t v)
{
    return v == QUIC_VERSION_1 || (QUINCE_QUIC_V2 && v == QUIC_VERSION_2);
}

/* RFC 9000 §17.2: header bits. */
#define QUIC_HDR_FORM_LONG 0x80
#define QUIC_HDR_FIXED_BIT 0x40
#define QUIC_HDR_SPIN_BIT 0x20  /* short header */
#define QUIC_HDR_KEY_PHASE 0x04 /* short header */
#define QUIC_HDR_LONG_RESERVED 0x0c
#define QUIC_HDR_SHORT_RESERVED 0x18
#define QUIC_HDR_PN_LEN_MASK 0x03

/* RFC 9000 §17.2, RFC 8999 §5.1 */
#define QUIC_MAX_CID_LEN 20 /* in versions 1 and 2 */
#define QUIC_INVARIANT_MAX_CID_LEN 255
#define QUIC_STATELESS_RESET_TOKEN_LEN 16
#define QUIC_RETRY_TAG_LEN 16
#define QUIC_MIN_INITIAL_DATAGRAM 1200 /* RFC 9000 §14.1 */
#define QUIC_MIN_STATELESS_RESET 21    /* RFC 9000 §10.3 */
#define QUIC_MAX_UDP_PAYLOAD 65527     /* RFC 9000 §18.2 default */
#define QUIC_PN_MAX ((((uint64_t)1) << 62) - 1)
#define QUIC_MAX_STREAMS_LIMIT ((uint64_t)1 << 60) /* RFC 9000 §19.11 */
#define QUIC_PATH_CHALLENGE_LEN 8

/* Packet types, independent of the version's type bits. */
typedef enum quic_pkt_type {
    QUIC_PKT_INITIAL = 0,
    QUIC_PKT_0RTT = 1,
    QUIC_PKT_HANDSHAKE = 2,
    QUIC_PKT_RETRY = 3,
    QUIC_PKT_1RTT = 4,
    QUIC_PKT_VERSION_NEGOTIATION = 5,
    QUIC_PKT_UNKNOWN_VERSION = 6, /* long header of a version we do not speak */
} quic_pkt_type;

/* RFC 9000 §19 and RFC 9221 §4: frame types. */
enum {
    QUIC_FT_PADDING = 0x00,
    QUIC_FT_PING = 0x01,
    QUIC_FT_ACK = 0x02,
    QUIC_FT_ACK_ECN = 0x03,
    QUIC_FT_RESET_STREAM = 0x04,
    QUIC_FT_STOP_SENDING = 0x05,
    QUIC_FT_CRYPTO = 0x06,
    QUIC_FT_NEW_TOKEN = 0x07,
    QUIC_FT_STREAM = 0x08, /* 0x08-0x0f: | OFF | LEN | FIN */
    QUIC_FT_MAX_DATA = 0x10,
    QUIC_FT_MAX_STREAM_DATA = 0x11,
    QUIC_FT_MAX_STREAMS_BIDI = 0x12,
    QUIC_FT_MAX_STREAMS_UNI = 0x13,
    QUIC_FT_DATA_BLOCKED = 0x14,
    QUIC_FT_STREAM_DATA_BLOCKED = 0x15,
    QUIC_FT_STREAMS_BLOCKED_BIDI = 0x16,
    QUIC_FT_STREAMS_BLOCKED_UNI = 0x17,
    QUIC_FT_NEW_CONNECTION_ID = 0x18,
    QUIC_FT_RETIRE_CONNECTION_ID = 0x19,
    QUIC_FT_PATH_CHALLENGE = 0x1a,
    QUIC_FT_PATH_RESPONSE = 0x1b,
    QUIC_FT_CONNECTION_CLOSE = 0x1c,
    QUIC_FT_CONNECTION_CLOSE_APP = 0x1d,
    QUIC_FT_HANDSHAKE_DONE = 0x1e,
    QUIC_FT_IMMEDIATE_ACK = 0x1f,   /* draft-ietf-quic-ack-frequency-12 §5 */
    QUIC_FT_ACK_FREQUENCY = 0xaf,   /* draft-ietf-quic-ack-frequency-12 §4 */
    QUIC_FT_RESET_STREAM_AT = 0x24, /* draft-ietf-quic-reliable-stream-reset-07/-10 §4 */
    QUIC_FT_DATAGRAM = 0x30,
    QUIC_FT_DATAGRAM_LEN = 0x31,
};

#define QUIC_STREAM_FLAG_FIN 0x01
#define QUIC_STREAM_FLAG_LEN 0x02
#define QUIC_STREAM_FLAG_OFF 0x04

/* RFC 9000 §18.2, RFC 9221 §3, RFC 9368 §3, RFC 9287 §3: transport parameter ids. */
enum {
    QUIC_TP_ORIGINAL_DESTINATION_CONNECTION_ID = 0x00,
    QUIC_TP_MAX_IDLE_TIMEOUT = 0x01,
    QUIC_TP_STATELESS_RESET_TOKEN = 0x02,
    QUIC_TP_MAX_UDP_PAYLOAD_SIZE = 0x03,
    QUIC_TP_INITIAL_MAX_DATA = 0x04,
    QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_LOCAL = 0x05,
    QUIC_TP_INITIAL_MAX_STREAM_DATA_BIDI_REMOTE = 0x06,
    QUIC_TP_INITIAL_MAX_STREAM_DATA_UNI = 0x07,
    QUIC_TP_INITIAL_MAX_STREAMS_BIDI = 0x08,
    QUIC_TP_INITIAL_MAX_STREAMS_UNI = 0x09,
    QUIC_TP_ACK_DELAY_EXPONENT = 0x0a,
    QUIC_TP_MAX_ACK_DELAY = 0x0b,
    QUIC_TP_DISABLE_ACTIVE_MIGRATION = 0x0c,
    QUIC_TP_PREFERRED_ADDRESS = 0x0d,
    QUIC_TP_ACTIVE_CONNECTION_ID_LIMIT = 0x0e,
    QUIC_TP_INITIAL_SOURCE_CONNECTION_ID = 0x0f,
    QUIC_TP_RETRY_SOURCE_CONNECTION_ID = 0x10,
    QUIC_TP_VERSION_INFORMATION = 0x11,
    QUIC_TP_MAX_DATAGRAM_FRAME_SIZE = 0x20,
    QUIC_TP_GREASE_QUIC_BIT = 0x2ab2,
};
/* reset_stream_at (empty): 0x1d in draft-ietf-quic-reliable-stream-reset-09/-10 §3 (cited
 * by webtrans-http3-16), 0x17f7586d2cb571 in -07 §3 (cited by webtrans-http3-13..-15). */
#define QUIC_TP_RESET_STREAM_AT 0x1d
#define QUIC_TP_RESET_STREAM_AT_DRAFT07 UINT64_C(0x17f7586d2cb571)
/* min_ack_delay, microseconds: draft-ietf-quic-ack-frequency-12 §3. */
#define QUIC_TP_MIN_ACK_DELAY UINT64_C(0xff04de1b)

#endif
