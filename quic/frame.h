/* QUIC frames: decoding and encoding of every RFC 9000 §19 frame and DATAGRAM (RFC 9221). */
#ifndef QUIC_FRAME_H
#define QUIC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cursor.h"
#include "quic/error.h"
#include "quic/proto.h"
#include "quic/ranges.h"

/* One acknowledged range, inclusive at both ends. */
typedef struct quic_ack_range {
    uint64_t smallest;
    uint64_t largest;
} quic_ack_range;

typedef struct quic_frame_ack {
    uint64_t largest;
    uint64_t ack_delay; /* raw field: the caller scales by 2^ack_delay_exponent */
    uint64_t first_range;
    uint64_t range_count;  /* additional (Gap, ACK Range) pairs */
    const uint8_t *ranges; /* the raw pairs, already validated; walk with quic_ack_iter */
    size_t ranges_len;
    bool ecn;
    uint64_t ect0, ect1, ce;
} quic_frame_ack;

/*
 * A decoded frame. Byte fields point into the decoded input (no copies), so the
 * frame lives no longer than the packet buffer. type is the wire type with its
 * flag bits (STREAM 0x08-0x0f, ACK 0x02/0x03, ...).
 */
typedef struct quic_frame {
    uint64_t type;
    union {
        struct {
            size_t length; /* a run of consecutive PADDING bytes decodes as one frame */
        } padding;
        quic_frame_ack ack;
        struct {
            uint64_t stream_id, app_error, final_size;
        } reset_stream;
        struct {
            uint64_t stream_id, app_error;
        } stop_sending;
        struct {
            uint64_t stream_id, app_error, final_size, reliable_size;
        } reset_stream_at; /* draft-ietf-quic-reliable-stream-reset-10 §4 */
        struct {
            uint64_t offset;
            uint64_t length;
            const uint8_t *data;
        } crypto;
        struct {
            uint64_t length;
            const uint8_t *token;
        } new_token;
        struct {
            uint64_t stream_id;
            uint64_t offset;
            uint64_t length;
            const uint8_t *data;
            bool fin;
        } stream;
        struct {
            uint64_t max; /* MAX_DATA */
        } max_data;
        struct {
            uint64_t stream_id, max;
        } max_stream_data;
        struct {
            uint64_t max; /* bidi when type is 0x12 */
        } max_streams;
        struct {
            uint64_t limit;
        } data_blocked;
        struct {
            uint64_t stream_id, limit;
        } stream_data_blocked;
        struct {
            uint64_t limit; /* bidi when type is 0x16 */
        } streams_blocked;
        struct {
            uint64_t seq, retire_prior_to;
            uint8_t cid_len;
            const uint8_t *cid;
            const uint8_t *reset_token; /* 16 bytes */
        } new_cid;
        struct {
            uint64_t seq;
        } retire_cid;
        struct {
            const uint8_t *data; /* 8 bytes */
        } path;                  /* PATH_CHALLENGE and PATH_RESPONSE */
        struct {
            uint64_t error_code;
            uint64_t frame_type; /* transport close (0x1c) only */
            uint64_t reason_len;
            const uint8_t *reason;
        } close;
        struct {
            uint64_t length;
            const uint8_t *data;
        } datagram;
        struct {
            uint64_t seq, threshold, max_ack_delay_us, reordering;
        } ack_frequency; /* draft-ietf-quic-ack-frequency-12 §4 */
    } u;
} quic_frame;

/*
 * Decode one frame from the start of data (a decrypted packet payload) as found
 * in a packet of type pkt. Returns the bytes consumed (> 0) or:
 *   QUIC_ERR_PROTOCOL_VIOLATION: frame type not minimally encoded (§12.4) or not
 *     allowed in this packet type (§12.4 Table 3, RFC 9221 §4);
 *   QUIC_ERR_FRAME_ENCODING: unknown type, truncated or malformed frame, or a
 *     value past its limit (§19);
 *   QUIC_ERR_ARGUMENT: len is 0 or larger than INT_MAX.
 * Whether DATAGRAM was negotiated is for the caller to check (RFC 9221 §3).
 */
int quic_frame_decode(const uint8_t *data, size_t len, quic_pkt_type pkt, quic_frame *f);

/* RFC 9000 §12.4 Table 3: may a frame of this type appear in a packet of type pkt? */
bool quic_frame_allowed(uint64_t type, quic_pkt_type pkt);
/* Known frame type (RFC 9000 §19, RFC 9221)? */
bool quic_frame_type_known(uint64_t type);
/* RFC 9002 §2: all frames but ACK, PADDING and CONNECTION_CLOSE elicit an ACK. */
bool quic_frame_is_ack_eliciting(uint64_t type);
/* RFC 9002 §2: a packet is in flight if it holds anything but ACK and CONNECTION_CLOSE. */
bool quic_frame_counts_in_flight(uint64_t type);

/* Walk the ranges of a decoded (hence validated) ACK frame, largest first. */
typedef struct quic_ack_iter {
    quince_reader r;
    uint64_t remaining;
    uint64_t next_largest; /* largest of the next range */
    uint64_t first_len;
    bool first;
    bool done;
} quic_ack_iter;

void quic_ack_iter_init(quic_ack_iter *it, const quic_frame_ack *ack);
bool quic_ack_iter_next(quic_ack_iter *it, quic_ack_range *out);

/*
 * Encode a frame. Every field of f is used as decode fills it; for STREAM the
 * OFF bit is set when offset != 0 or type has it, LEN when type has it, FIN
 * from fin. PADDING writes padding.length zero bytes. Returns false (and the
 * writer's overflow flag is set) when it does not fit or a value is out of range.
 */
bool quic_frame_encode(quince_writer *w, const quic_frame *f);

typedef struct quic_ecn_counts {
    uint64_t ect0, ect1, ce;
} quic_ecn_counts;

/*
 * RFC 9000 §19.3: an ACK frame for the ranges of rs (packet numbers, half-open
 * ranges), largest first, with as many ranges as fit in the writer (at least
 * one) and at most max_ranges (0: no limit). ecn may be NULL (type 0x02).
 * Returns the number of ranges written, 0 if rs is empty or nothing fits.
 */
size_t quic_frame_encode_ack(quince_writer *w, const quic_ranges *rs, uint64_t ack_delay,
                             const quic_ecn_counts *ecn, size_t max_ranges);

/* RFC 9000 §19.8: a STREAM frame (with_len: write the Length field). */
bool quic_frame_encode_stream(quince_writer *w, uint64_t stream_id, uint64_t offset,
                              const uint8_t *data, size_t len, bool fin, bool with_len);
/* RFC 9000 §19.6 */
bool quic_frame_encode_crypto(quince_writer *w, uint64_t offset, const uint8_t *data, size_t len);

/* Size of a STREAM frame header (type, id, offset if non-zero, length if with_len). */
size_t quic_frame_stream_header_len(uint64_t stream_id, uint64_t offset, size_t len, bool with_len);
/* Size of a CRYPTO frame header for len bytes at offset. */
size_t quic_frame_crypto_header_len(uint64_t offset, size_t len);
/*
 * How many of want data bytes fit in space bytes as a STREAM frame (with a
 * Length field if with_len) or a CRYPTO frame; 0 when not even the header fits.
 */
size_t quic_frame_stream_fit(size_t space, uint64_t stream_id, uint64_t offset, size_t want,
                             bool with_len);
size_t quic_frame_crypto_fit(size_t space, uint64_t offset, size_t want);

#endif
