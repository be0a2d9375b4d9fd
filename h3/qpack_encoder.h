/* Sans-I/O QPACK encoder (RFC 9204 §2.1, §4.3-§4.5): field sections and encoder stream out. */
#ifndef H3_QPACK_ENCODER_H
#define H3_QPACK_ENCODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/qpack_decoder.h"
#include "h3/qpack_error.h"
#include "base/env.h"

typedef struct h3_qpack_encoder h3_qpack_encoder;

/*
 * max_table_capacity is our own bound on the dynamic table we build (memory);
 * the table used is the smaller of it and the peer's
 * SETTINGS_QPACK_MAX_TABLE_CAPACITY. Until h3_qpack_encoder_apply_settings
 * the encoder uses only the static table. NULL when out of memory.
 */
h3_qpack_encoder *h3_qpack_encoder_new(const quince_env *env, size_t max_table_capacity);
void h3_qpack_encoder_free(h3_qpack_encoder *enc);

/*
 * The peer's SETTINGS_QPACK_MAX_TABLE_CAPACITY and SETTINGS_QPACK_BLOCKED_STREAMS
 * (RFC 9204 §5); call once. Queues a Set Dynamic Table Capacity instruction
 * when a dynamic table will be used.
 */
int h3_qpack_encoder_apply_settings(h3_qpack_encoder *enc, uint64_t peer_max_table_capacity,
                                    uint64_t peer_blocked_streams);

/* Policy switches: static_only never touches the dynamic table (default
 * false); huffman uses Huffman strings when shorter (default true). */
void h3_qpack_encoder_set_policy(h3_qpack_encoder *enc, bool static_only, bool huffman);

/* Bytes of field section that h3_qpack_encode may need for these fields. */
size_t h3_qpack_encode_bound(const h3_field *fields, size_t count);

/*
 * Encode fields as one field section for stream_id into out. Inserts go to
 * the encoder stream (drain them with h3_qpack_encoder_drain and send them).
 * Policy: static exact matches are indexed; a field seen for the second time
 * lately is inserted when it fits in half the table without evicting an entry
 * that an unacknowledged section references; dynamic entries are referenced
 * when acknowledged, or unacknowledged while the stream already blocks or the
 * peer's blocked-stream budget has room; authorization and short cookies are
 * never indexed; strings use Huffman when shorter.
 * Returns H3_QPACK_OK with *out_len set; H3_QPACK_ERR_BUFFER with *out_len =
 * h3_qpack_encode_bound when cap is smaller than that (nothing changed);
 * H3_QPACK_ERR_NOMEM; H3_QPACK_ERR_ARG for a stream ID above 2^62-1.
 */
int h3_qpack_encode(h3_qpack_encoder *enc, uint64_t stream_id, const h3_field *fields, size_t count,
                    uint8_t *out, size_t cap, size_t *out_len);

/*
 * Feed decoder-stream bytes (RFC 9204 §4.4), any fragmentation. Returns
 * H3_QPACK_OK or H3_QPACK_ERR_DECODER_STREAM (wire code
 * QPACK_DECODER_STREAM_ERROR, sticky): acknowledgment of a stream with no
 * outstanding section, an Insert Count Increment of 0 or beyond the inserts
 * sent, an overlong integer.
 */
int h3_qpack_encoder_feed_decoder(h3_qpack_encoder *enc, const uint8_t *data, size_t len);

/* The stream was reset by us: forget its outstanding sections (no instruction). */
void h3_qpack_encoder_forget_stream(h3_qpack_encoder *enc, uint64_t stream_id);

/* Encoder-stream bytes waiting to be sent, and draining them. */
size_t h3_qpack_encoder_pending(const h3_qpack_encoder *enc);
size_t h3_qpack_encoder_drain(h3_qpack_encoder *enc, uint8_t *buf, size_t cap);

uint64_t h3_qpack_encoder_insert_count(const h3_qpack_encoder *enc);
uint64_t h3_qpack_encoder_known_received(const h3_qpack_encoder *enc);
/* Streams that could be blocked now (sections referencing unacknowledged entries). */
size_t h3_qpack_encoder_blocked_streams(const h3_qpack_encoder *enc);
uint64_t h3_qpack_encoder_wire_error(const h3_qpack_encoder *enc);

#endif
