/* The Capsule Protocol (RFC 9297 §3) and the HTTP/3 Datagram prefix (RFC 9297 §2.1). */
#ifndef H3_CAPSULE_H
#define H3_CAPSULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/h3_codes.h"
#include "h3/opt.h"
#include "base/budget.h"
#include "base/cursor.h"
#include "base/env.h"

/*
 * A capsule error makes the HTTP message malformed (RFC 9297 §3.3), which
 * RFC 9114 §4.1.2 answers with a stream error H3_MESSAGE_ERROR; that is the
 * code these functions return for a capsule whose fields do not match its
 * length. A capsule longer than the reader's bound is H3_EXCESSIVE_LOAD.
 */

/*
 * One capsule. value/value_len is the whole Capsule Value; for these types
 * the fields are decoded too:
 *   DATAGRAM: the value is the HTTP Datagram Payload
 *   CLOSE_WEBTRANSPORT_SESSION: error_code, data/data_len = the message
 *   REGISTER_DATAGRAM_NO_CONTEXT: format_type, data/data_len = additional data
 *   WT_DRAIN_SESSION: empty (a value is H3_MESSAGE_ERROR)
 *   WT_MAX_DATA, WT_MAX_STREAMS_*, WT_DATA_BLOCKED, WT_STREAMS_BLOCKED_*:
 *     value_int (exactly one varint)
 *   WT_MAX_STREAM_DATA, WT_STREAM_DATA_BLOCKED: opaque (prohibited over HTTP/3)
 */
typedef struct h3_capsule {
    uint64_t type;
    uint64_t length;
    const uint8_t *value;
    size_t value_len;
    uint32_t error_code;
    uint64_t format_type;
    uint64_t value_int; /* WT_MAX_DATA, WT_MAX_STREAMS, *_BLOCKED: their one varint */
    const uint8_t *data;
    size_t data_len;
} h3_capsule;

/* Check and decode the value of a capsule of the given type: 0 or
 * H3_WIRE_ERROR(H3_MESSAGE_ERROR). Unknown types are passed through. */
int h3_capsule_decode_value(uint64_t type, const uint8_t *value, size_t len, h3_capsule *out);

/* One whole capsule from a buffer: bytes consumed, H3_WIRE_NEED_MORE or an error. */
int h3_capsule_decode(const uint8_t *data, size_t len, h3_capsule *out);

/* Encoders (RFC 9297 §3.2, §3.5; draft-ietf-webtrans-http3-02 §5;
 * draft-ietf-masque-h3-datagram-04 §4.4.2). False when w is too small or a
 * field is out of range (a close message over 1024 bytes). */
bool h3_capsule_put_header(quince_writer *w, uint64_t type, uint64_t length);
bool h3_capsule_put_datagram(quince_writer *w, const uint8_t *payload, size_t len);
bool h3_capsule_put_close_wt(quince_writer *w, uint32_t error_code, const uint8_t *message,
                             size_t len);
bool h3_capsule_put_register_no_context(quince_writer *w, uint64_t format_type,
                                        const uint8_t *extra, size_t len);
/* WT_DRAIN_SESSION, and a flow-control capsule of type (WT_MAX_DATA, ...) with value. */
bool h3_capsule_put_drain(quince_writer *w);
bool h3_capsule_put_wt_flow(quince_writer *w, uint64_t type, uint64_t value);
/* A reserved capsule of type h3_capsule_grease_type(r) (RFC 9297 §5.4). */
bool h3_capsule_put_grease(quince_writer *w, uint64_t r, const uint8_t *payload, size_t len);

/* ---- Incremental reader over the DATA payload of a CONNECT stream ---- */

typedef enum h3_capsule_event_type {
    H3_CEV_NONE,    /* all input consumed, nothing complete */
    H3_CEV_CAPSULE, /* a complete capsule of a type decoded above, in ev->capsule */
    H3_CEV_SKIP,    /* an unknown or GREASE capsule (type, length): skipped unbuffered */
    H3_CEV_DROPPED, /* a DATAGRAM capsule longer than the bound: skipped unbuffered,
                     * as RFC 9297 §3.5 advises */
} h3_capsule_event_type;

typedef struct h3_capsule_event {
    h3_capsule_event_type type;
    h3_capsule capsule;
} h3_capsule_event;

/* Largest capsule value buffered by default; the bound is never below
 * H3_CAPSULE_READER_MIN_MAX so that every legal close capsule fits. */
#define H3_CAPSULE_READER_DEFAULT_MAX H3_OPT_CAPSULE_READER_MAX
#define H3_CAPSULE_READER_MIN_MAX (4 + H3_CLOSE_WT_MAX_MESSAGE)
/* A buffer above this size is released once its capsule has been delivered. */
#define H3_CAPSULE_READER_KEEP 4096

typedef struct h3_capsule_reader {
    const quince_env *env;
    size_t max_capsule;
    int state;
    int error;
    uint8_t hdr[16];
    size_t hdr_len;
    uint64_t type;
    uint64_t length;
    uint64_t left;
    uint8_t *buf;
    size_t buf_cap;
    size_t buf_len;
    bool closed; /* a CLOSE_WEBTRANSPORT_SESSION was read */
    /* buf_cap is charged here (NULL: not charged; set after init). A capsule the
     * budget cannot hold is treated as one over max_capsule: a DATAGRAM is dropped
     * (RFC 9297 §3.5), any other is H3_EXCESSIVE_LOAD. */
    quince_budget *budget;
} h3_capsule_reader;

/* max_capsule 0 means the default. env may be NULL (see h3_frame_reader_init). */
void h3_capsule_reader_init(h3_capsule_reader *r, size_t max_capsule, const quince_env *env);
void h3_capsule_reader_free(h3_capsule_reader *r);

/*
 * Same contract as h3_frame_reader_feed: consume until one event or the end
 * of the input; 0 with *consumed and *ev set, or a sticky negative error:
 * H3_MESSAGE_ERROR for a malformed capsule (a close capsule shorter than 4
 * bytes or with a message over 1024 bytes, a registration without its format
 * type) and for any byte after a CLOSE_WEBTRANSPORT_SESSION capsule
 * (draft-ietf-webtrans-http3-02 §5); H3_EXCESSIVE_LOAD for a known
 * non-DATAGRAM capsule longer than the bound; H3_WIRE_NO_MEMORY.
 */
int h3_capsule_reader_feed(h3_capsule_reader *r, const uint8_t *data, size_t len, size_t *consumed,
                           h3_capsule_event *ev);

/* The data stream ended cleanly: 0 on a capsule boundary, otherwise
 * H3_WIRE_ERROR(H3_MESSAGE_ERROR) (RFC 9297 §3.3). */
int h3_capsule_reader_finish(h3_capsule_reader *r);

/* ---- HTTP/3 Datagrams (RFC 9297 §2.1) ---- */

/*
 * Split the Data of a QUIC DATAGRAM frame into the request stream ID (the
 * Quarter Stream ID times four) and the HTTP Datagram Payload. 0, or
 * H3_WIRE_ERROR(H3_DATAGRAM_ERROR) when the prefix is cut short or above 2^60-1.
 */
int h3_datagram_parse(const uint8_t *data, size_t len, uint64_t *stream_id, const uint8_t **payload,
                      size_t *payload_len);
/* Bytes of the prefix for stream_id, 0 if it is not a client bidi stream ID. */
size_t h3_datagram_prefix_len(uint64_t stream_id);
bool h3_datagram_put_prefix(quince_writer *w, uint64_t stream_id);

#endif
