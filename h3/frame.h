/* HTTP/3 frames (RFC 9114 §7), stream headers (§6.2) and a streaming frame reader. */
#ifndef H3_FRAME_H
#define H3_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/h3_codes.h"
#include "h3/opt.h"
#include "base/cursor.h"
#include "base/budget.h"
#include "base/env.h"

/*
 * Return values: parsers return bytes consumed (>= 0), H3_WIRE_NEED_MORE or
 * H3_WIRE_ERROR(code) (see h3/h3_codes.h); encoders take a quince_writer and
 * return false (with w->overflow set) when the buffer is too small; the
 * *_len functions give the size an encoder needs.
 */

/* How a received frame type is to be handled (RFC 9114 §7.2, §7.2.8, §9). */
typedef enum h3_frame_kind {
    H3_FRAME_KIND_KNOWN, /* DATA, HEADERS, CANCEL_PUSH, SETTINGS, PUSH_PROMISE, GOAWAY, MAX_PUSH_ID
                          */
    H3_FRAME_KIND_H2_ONLY, /* 0x02, 0x06, 0x08, 0x09: close with H3_FRAME_UNEXPECTED */
    H3_FRAME_KIND_UNKNOWN, /* GREASE, extension or unassigned: skip the payload */
} h3_frame_kind;

h3_frame_kind h3_frame_classify(uint64_t type);

typedef struct h3_frame_header {
    uint64_t type;
    uint64_t length; /* payload bytes that follow the header */
} h3_frame_header;

/* Type and Length varints: header bytes consumed or H3_WIRE_NEED_MORE. */
int h3_frame_header_parse(const uint8_t *data, size_t len, h3_frame_header *out);
size_t h3_frame_header_len(uint64_t type, uint64_t length);
bool h3_frame_put_header(quince_writer *w, uint64_t type, uint64_t length);

/*
 * A decoded frame. Pointers refer into the parsed input.
 *   DATA, HEADERS, SETTINGS, unknown: payload = the whole frame payload
 *   PUSH_PROMISE: id = push ID, payload = the encoded field section
 *   CANCEL_PUSH, MAX_PUSH_ID: id = push ID; GOAWAY: id = stream or push ID
 */
typedef struct h3_frame {
    uint64_t type;
    uint64_t length;
    uint64_t id;
    const uint8_t *payload;
    size_t payload_len;
} h3_frame;

/*
 * Check and decode the payload of a frame of the given type (already split
 * off by the header). A payload with bytes missing or left over after its
 * fields is H3_WIRE_ERROR(H3_FRAME_ERROR) (RFC 9114 §7.1, §10.8); an HTTP/2-only
 * type is H3_WIRE_ERROR(H3_FRAME_UNEXPECTED). SETTINGS is passed through here
 * unchecked: decode it with h3_settings_decode. Returns 0 or an error.
 */
int h3_frame_decode_payload(uint64_t type, const uint8_t *payload, size_t len, h3_frame *out);

/* One whole frame from a buffer: bytes consumed, H3_WIRE_NEED_MORE or an error. */
int h3_frame_decode(const uint8_t *data, size_t len, h3_frame *out);

/* Encoders: header and payload in one go (RFC 9114 §7.2.1 - §7.2.7). */
bool h3_frame_put_data(quince_writer *w, const uint8_t *data, size_t len);
bool h3_frame_put_headers(quince_writer *w, const uint8_t *section, size_t len);
bool h3_frame_put_cancel_push(quince_writer *w, uint64_t push_id);
bool h3_frame_put_push_promise(quince_writer *w, uint64_t push_id, const uint8_t *section,
                               size_t len);
bool h3_frame_put_goaway(quince_writer *w, uint64_t id);
bool h3_frame_put_max_push_id(quince_writer *w, uint64_t push_id);
/* A reserved frame (RFC 9114 §7.2.8) of type h3_grease_codepoint(r) carrying
 * the given payload (may be empty): padding that peers must ignore. */
bool h3_frame_put_grease(quince_writer *w, uint64_t r, const uint8_t *payload, size_t len);

/* ---- Unidirectional stream headers (RFC 9114 §6.2) ---- */

typedef enum h3_uni_kind {
    H3_UNI_CONTROL,       /* 0x00 */
    H3_UNI_PUSH,          /* 0x01, id = push ID */
    H3_UNI_QPACK_ENCODER, /* 0x02 */
    H3_UNI_QPACK_DECODER, /* 0x03 */
    H3_UNI_WEBTRANSPORT,  /* 0x54, id = session ID */
    H3_UNI_RESERVED,      /* 0x1f * N + 0x21: discard the stream, no meaning */
    H3_UNI_UNKNOWN,       /* abort reading (H3_STREAM_CREATION_ERROR) or discard;
                           * never a connection error (RFC 9114 §6.2) */
} h3_uni_kind;

typedef struct h3_uni_header {
    uint64_t type;
    h3_uni_kind kind;
    uint64_t id;
} h3_uni_header;

/*
 * The stream type varint and, for push and WebTransport streams, the ID
 * that follows it. Bytes consumed, H3_WIRE_NEED_MORE, or
 * H3_WIRE_ERROR(H3_ID_ERROR) for a WebTransport session ID that is not a
 * client-initiated bidirectional stream ID (draft-ietf-webtrans-http3-02 §4).
 * With webtransport false, 0x54 is H3_UNI_UNKNOWN.
 */
int h3_uni_header_parse(const uint8_t *data, size_t len, bool webtransport, h3_uni_header *out);
bool h3_uni_put_type(quince_writer *w, uint64_t type);
bool h3_uni_put_push(quince_writer *w, uint64_t push_id);
bool h3_uni_put_webtransport(quince_writer *w, uint64_t session_id);

/*
 * draft-ietf-webtrans-http3-02 §4.2: a bidirectional stream that starts
 * with 0x41 and a session ID belongs to WebTransport. Returns bytes consumed
 * (the stream is WebTransport, *session_id set), 0 (the stream starts with
 * another frame type), H3_WIRE_NEED_MORE, or H3_WIRE_ERROR(H3_ID_ERROR).
 */
int h3_wt_bidi_header_parse(const uint8_t *data, size_t len, uint64_t *session_id);
bool h3_wt_put_bidi_header(quince_writer *w, uint64_t session_id);

/* ---- Streaming frame reader ---- */

/* The stream a reader parses, for the frame permissions of RFC 9114 Table 1. */
typedef enum h3_stream_role {
    H3_ROLE_ANY,     /* no permission checks: every known frame is reported */
    H3_ROLE_CONTROL, /* peer's control stream: SETTINGS first, once */
    H3_ROLE_REQUEST, /* request stream (bidirectional) */
    H3_ROLE_PUSH,    /* push stream, after its header */
} h3_stream_role;

typedef struct h3_frame_reader_config {
    h3_stream_role role;
    bool local_is_server; /* PUSH_PROMISE to a server, MAX_PUSH_ID to a client: unexpected */
    bool webtransport;    /* request role: accept 0x41 as the first frame */
    /* Largest HEADERS, PUSH_PROMISE or SETTINGS payload buffered; a larger
     * declared length is H3_EXCESSIVE_LOAD. 0 means H3_FRAME_READER_DEFAULT_MAX. */
    size_t max_frame_payload;
} h3_frame_reader_config;

#define H3_FRAME_READER_DEFAULT_MAX H3_OPT_FRAME_READER_MAX
/* A buffer above this size is released once its frame has been delivered. */
#define H3_FRAME_READER_KEEP 4096

typedef enum h3_frame_event_type {
    H3_FEV_NONE,       /* all input consumed, nothing complete */
    H3_FEV_FRAME,      /* a complete HEADERS, CANCEL_PUSH, SETTINGS, PUSH_PROMISE, GOAWAY
                        * or MAX_PUSH_ID frame in ev->frame (payload checked except
                        * SETTINGS; see h3_frame_decode_payload) */
    H3_FEV_DATA_START, /* DATA frame header: ev->frame.length payload bytes follow */
    H3_FEV_DATA,       /* a piece of DATA payload in ev->data/ev->len; ev->remaining
                        * bytes of the frame are still to come */
    H3_FEV_SKIP,       /* a frame to ignore (GREASE, unknown): its payload is skipped */
    H3_FEV_WT_STREAM,  /* 0x41 + session ID (ev->frame.id): the rest of the stream is
                        * WebTransport data, delivered as H3_FEV_WT_DATA */
    H3_FEV_WT_DATA,    /* ev->data/ev->len: WebTransport stream bytes */
} h3_frame_event_type;

typedef struct h3_frame_event {
    h3_frame_event_type type;
    h3_frame frame;
    const uint8_t *data; /* H3_FEV_DATA, H3_FEV_WT_DATA */
    size_t len;
    uint64_t remaining; /* H3_FEV_DATA */
} h3_frame_event;

typedef struct h3_frame_reader {
    h3_frame_reader_config cfg;
    const quince_env *env;
    int state;
    int error; /* sticky once set */
    uint8_t hdr[16];
    size_t hdr_len;
    uint64_t type;
    uint64_t length;
    uint64_t left; /* payload bytes still to read or skip */
    uint8_t *buf;  /* buffered payload, from env, grown up to the bound */
    size_t buf_cap;
    /* buf_cap is charged here (NULL: not charged); a payload the budget cannot
     * hold is H3_EXCESSIVE_LOAD, as one over max_frame_payload. Set after init. */
    quince_budget *budget;
    size_t buf_len;
    uint64_t frames; /* frames started on this stream */
} h3_frame_reader;

/* env may be NULL: then frames that arrive in pieces cannot be buffered and
 * give H3_WIRE_NO_MEMORY (useful only when every frame arrives whole). */
void h3_frame_reader_init(h3_frame_reader *r, const h3_frame_reader_config *cfg,
                          const quince_env *env);
void h3_frame_reader_free(h3_frame_reader *r);

/*
 * Consume bytes of the stream until one event is ready or the input ends.
 * Sets *consumed and *ev and returns 0, or returns a negative error
 * (H3_WIRE_ERROR(code), H3_WIRE_NO_MEMORY) that repeats on every later call.
 * Event pointers stay valid until the next call or until data is released.
 * Every event but H3_FEV_NONE consumes at least one byte, so the caller loops
 * while input is left and the event is not H3_FEV_NONE.
 *
 * Errors: H3_FRAME_UNEXPECTED for HTTP/2 types (§7.2.8) and frames the role
 * forbids (Table 1, §7.2.4, §7.2.5, §7.2.7); H3_MISSING_SETTINGS when a control
 * stream starts with another frame (§6.2.1); H3_FRAME_ERROR for a payload whose
 * length does not match its fields (§7.1), including a CANCEL_PUSH, GOAWAY or
 * MAX_PUSH_ID whose declared length exceeds 8 (no varint is longer);
 * H3_EXCESSIVE_LOAD for a buffered frame longer than max_frame_payload or than what
 * the budget can still hold (§10.5).
 */
int h3_frame_reader_feed(h3_frame_reader *r, const uint8_t *data, size_t len, size_t *consumed,
                         h3_frame_event *ev);

/*
 * The stream ended cleanly (FIN). 0 if it ended on a frame boundary,
 * H3_WIRE_ERROR(H3_FRAME_ERROR) inside a frame (§7.1), and
 * H3_WIRE_ERROR(H3_CLOSED_CRITICAL_STREAM) for a control stream (§6.2.1).
 */
int h3_frame_reader_finish(h3_frame_reader *r);

#endif
