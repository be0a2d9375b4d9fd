/* HTTP/3 wire constants: frame, stream, setting, error and capsule codepoints (one header);
 * and the header field, the unit of h3.h's header sections and of QPACK. */
#ifndef H3_H3_CODES_H
#define H3_H3_CODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A header field: name and value bytes (not NUL-terminated). */
typedef struct h3_field {
    const uint8_t *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
} h3_field;

/* Frame types: RFC 9114 §7.2, §11.2.1 (Table 2). */
#define H3_FRAME_DATA 0x00
#define H3_FRAME_HEADERS 0x01
#define H3_FRAME_CANCEL_PUSH 0x03
#define H3_FRAME_SETTINGS 0x04
#define H3_FRAME_PUSH_PROMISE 0x05
#define H3_FRAME_GOAWAY 0x07
#define H3_FRAME_MAX_PUSH_ID 0x0d
/* Reserved because HTTP/2 used them (PRIORITY, PING, WINDOW_UPDATE, CONTINUATION):
 * receipt is H3_FRAME_UNEXPECTED, RFC 9114 §7.2.8. */
#define H3_FRAME_H2_PRIORITY 0x02
#define H3_FRAME_H2_PING 0x06
#define H3_FRAME_H2_WINDOW_UPDATE 0x08
#define H3_FRAME_H2_CONTINUATION 0x09
/* draft-ietf-webtrans-http3-02 §4.2: bidi stream signal, type + session ID, no length. */
#define H3_FRAME_WEBTRANSPORT_STREAM 0x41

/* Unidirectional stream types: RFC 9114 §6.2, RFC 9204 §4.2,
 * draft-ietf-webtrans-http3-02 §4.1. */
#define H3_STREAM_CONTROL 0x00
#define H3_STREAM_PUSH 0x01
#define H3_STREAM_QPACK_ENCODER 0x02
#define H3_STREAM_QPACK_DECODER 0x03
#define H3_STREAM_WEBTRANSPORT 0x54

/* Settings identifiers: RFC 9114 §7.2.4.1 and §11.2.2, RFC 9204 §5, RFC 9220 §3,
 * RFC 9297 §2.1.1, draft-ietf-masque-h3-datagram-04 §5 and §8.1,
 * draft-ietf-webtrans-http3-02 §3.1 and §8.2. */
#define H3_SETTING_QPACK_MAX_TABLE_CAPACITY 0x01
#define H3_SETTING_MAX_FIELD_SECTION_SIZE 0x06
#define H3_SETTING_QPACK_BLOCKED_STREAMS 0x07
#define H3_SETTING_ENABLE_CONNECT_PROTOCOL 0x08
#define H3_SETTING_H3_DATAGRAM 0x33
#define H3_SETTING_H3_DATAGRAM_DRAFT04 0xffd277
#define H3_SETTING_ENABLE_WEBTRANSPORT 0x2b603742
/* The later WebTransport dialects' settings (specs/webtrans-http3-versions.md):
 * draft-ietf-webtrans-http3-07 §8.2, -13/-14 §9.2 (WT_MAX_SESSIONS, WT_INITIAL_*),
 * -15/-16 §9.2 (WT_ENABLED, WT_INITIAL_*). */
#define H3_SETTING_WEBTRANSPORT_MAX_SESSIONS_07 0xc671706a
#define H3_SETTING_WT_MAX_SESSIONS 0x14e9cd29
#define H3_SETTING_WT_ENABLED 0x2c7cf000
#define H3_SETTING_WT_INITIAL_MAX_STREAMS_UNI 0x2b64
#define H3_SETTING_WT_INITIAL_MAX_STREAMS_BIDI 0x2b65
#define H3_SETTING_WT_INITIAL_MAX_DATA 0x2b61
/* HTTP/2 settings with no HTTP/3 counterpart (ENABLE_PUSH, MAX_CONCURRENT_STREAMS,
 * INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE):
 * receipt is H3_SETTINGS_ERROR, RFC 9114 §7.2.4.1. */
#define H3_SETTING_H2_ENABLE_PUSH 0x02
#define H3_SETTING_H2_MAX_CONCURRENT_STREAMS 0x03
#define H3_SETTING_H2_INITIAL_WINDOW_SIZE 0x04
#define H3_SETTING_H2_MAX_FRAME_SIZE 0x05

/* Error codes: RFC 9114 §8.1, RFC 9297 §5.2, draft-ietf-webtrans-http3-02 §8.5. */
#define H3_NO_ERROR 0x0100
#define H3_GENERAL_PROTOCOL_ERROR 0x0101
#define H3_INTERNAL_ERROR 0x0102
#define H3_STREAM_CREATION_ERROR 0x0103
#define H3_CLOSED_CRITICAL_STREAM 0x0104
#define H3_FRAME_UNEXPECTED 0x0105
#define H3_FRAME_ERROR 0x0106
#define H3_EXCESSIVE_LOAD 0x0107
#define H3_ID_ERROR 0x0108
#define H3_SETTINGS_ERROR 0x0109
#define H3_MISSING_SETTINGS 0x010a
#define H3_REQUEST_REJECTED 0x010b
#define H3_REQUEST_CANCELLED 0x010c
#define H3_REQUEST_INCOMPLETE 0x010d
#define H3_MESSAGE_ERROR 0x010e
#define H3_CONNECT_ERROR 0x010f
#define H3_VERSION_FALLBACK 0x0110
#define H3_DATAGRAM_ERROR 0x33
#define H3_WEBTRANSPORT_BUFFERED_STREAM_REJECTED 0x3994bd84
/* draft-ietf-webtrans-http3-07 §8.5 and -13..-16 §9.5 (WT_SESSION_GONE from -07,
 * WT_FLOW_CONTROL_ERROR from -14, WT_ALPN_ERROR and WT_REQUIREMENTS_NOT_MET from -15). */
#define H3_WT_SESSION_GONE 0x170d7b68
#define H3_WT_FLOW_CONTROL_ERROR 0x045d4487
#define H3_WT_ALPN_ERROR 0x0817b3dd
#define H3_WT_REQUIREMENTS_NOT_MET 0x212c0d48
/* WebTransport application error codes 0..2^32-1 map into this range minus the
 * GREASE codepoints inside it (draft-ietf-webtrans-http3-02 §4.3 gives the
 * formula and the 8-bit range 0x00-0xff; draft-ietf-webtrans-http3-16 §4.4 extends the
 * same formula to 32 bits, as Chromium does). */
#define H3_WT_APP_ERROR_FIRST 0x52e4a40fa8dbULL
#define H3_WT_APP_ERROR_LAST 0x52e5ac983162ULL

/* Capsule types: RFC 9297 §3.5, draft-ietf-webtrans-http3-02 §5,
 * draft-ietf-masque-h3-datagram-04 §4.4.2 and §8.2. */
#define H3_CAPSULE_DATAGRAM 0x00
#define H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION 0x2843
#define H3_CAPSULE_REGISTER_DATAGRAM_NO_CONTEXT 0xff37a2
/* draft-ietf-webtrans-http3-07 §4.6 (DRAIN_WEBTRANSPORT_SESSION) and -13..-16
 * §5.6, §9.6 (flow control); WT_MAX_STREAM_DATA / WT_STREAM_DATA_BLOCKED come
 * from draft-ietf-webtrans-http2-15 and are a session error over HTTP/3 (§5.4). */
#define H3_CAPSULE_WT_DRAIN_SESSION 0x78ae
#define H3_CAPSULE_WT_MAX_DATA 0x190B4D3D
#define H3_CAPSULE_WT_MAX_STREAM_DATA 0x190B4D3E
#define H3_CAPSULE_WT_MAX_STREAMS_BIDI 0x190B4D3F
#define H3_CAPSULE_WT_MAX_STREAMS_UNI 0x190B4D40
#define H3_CAPSULE_WT_DATA_BLOCKED 0x190B4D41
#define H3_CAPSULE_WT_STREAM_DATA_BLOCKED 0x190B4D42
#define H3_CAPSULE_WT_STREAMS_BLOCKED_BIDI 0x190B4D43
#define H3_CAPSULE_WT_STREAMS_BLOCKED_UNI 0x190B4D44
/* draft-ietf-webtrans-http3-02 §5: the close message is at most 1024 bytes. */
#define H3_CLOSE_WT_MAX_MESSAGE 1024
/* draft-ietf-webtrans-http3-02 §8.6: Datagram Format Type WEB_TRANSPORT. */
#define H3_DATAGRAM_FORMAT_WEBTRANSPORT 0xff7c00
/* RFC 9297 §2.1: the largest legal Quarter Stream ID is 2^60-1. */
#define H3_DATAGRAM_MAX_QUARTER_STREAM_ID ((UINT64_C(1) << 60) - 1)

/* Largest N with 0x1f * N + 0x21 <= 2^62-1 (RFC 9114 §11.2.1: "through 0x3ffffffffffffffe"). */
#define H3_GREASE_MAX_N ((UINT64_C(0x3fffffffffffffff) - 0x21) / 0x1f)
/* Largest N with 0x29 * N + 0x17 <= 2^62-1 (RFC 9297 §5.4). */
#define H3_CAPSULE_GREASE_MAX_N ((UINT64_C(0x3fffffffffffffff) - 0x17) / 0x29)

/* RFC 9114 §6.2.3, §7.2.4.1, §7.2.8, §8.1: reserved codepoints 0x1f * N + 0x21,
 * the same form for stream types, frame types, settings and error codes. */
static inline bool h3_is_grease(uint64_t v)
{
    return v >= 0x21 && (v - 0x21) % 0x1f == 0;
}

/* RFC 9114 §7.2.8: a GREASE codepoint chosen by the caller's value r (deterministic). */
static inline uint64_t h3_grease_codepoint(uint64_t r)
{
    return 0x1f * (r % (H3_GREASE_MAX_N + 1)) + 0x21;
}

/* RFC 9297 §5.4: reserved capsule types 0x29 * N + 0x17. */
static inline bool h3_capsule_is_grease(uint64_t v)
{
    return v >= 0x17 && (v - 0x17) % 0x29 == 0;
}

/* RFC 9297 §5.4 */
static inline uint64_t h3_capsule_grease_type(uint64_t r)
{
    return 0x29 * (r % (H3_CAPSULE_GREASE_MAX_N + 1)) + 0x17;
}

/*
 * Return codes of the h3/ wire parsers and readers. A parser returns bytes
 * consumed (>= 0) or one of these. H3_WIRE_ERROR(code) carries the HTTP/3
 * error code the RFC names for the violation (the caller closes the
 * connection or stream with h3_wire_error_code(rc)); every such code is
 * below 2^31 so it fits a negative int.
 */
#define H3_WIRE_NEED_MORE (-1) /* the input ends inside a field: feed more */
#define H3_WIRE_NO_SPACE (-2)  /* encoder: the caller's buffer is too small */
#define H3_WIRE_NO_MEMORY (-3) /* the environment's allocator failed */
#define H3_WIRE_ERROR(code) (-(int)(code))

/* The HTTP/3 error code of a negative return (0 for the local codes above). */
static inline uint64_t h3_wire_error_code(int rc)
{
    return rc < -3 ? (uint64_t)(-(int64_t)rc) : 0;
}

#endif
