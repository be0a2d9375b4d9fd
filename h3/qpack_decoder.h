/* Sans-I/O QPACK decoder (RFC 9204 §2.2, §4.3-§4.5): field sections in, header fields out. */
#ifndef H3_QPACK_DECODER_H
#define H3_QPACK_DECODER_H

#include <stddef.h>
#include <stdint.h>

#include "h3/h3_codes.h"
#include "h3/qpack_error.h"
#include "base/budget.h"
#include "base/env.h"

/*
 * Receives one decoded field section. The fields stay valid only during the
 * call. Called from h3_qpack_decoder_decode (immediately decodable sections)
 * and from h3_qpack_decoder_feed_encoder (sections that were blocked). A
 * negative return is passed back to the caller of those functions (the
 * decoder's state stays consistent); it must not re-enter the decoder.
 */
typedef int (*h3_qpack_section_cb)(void *user, uint64_t stream_id, const h3_field *fields,
                                   size_t count);

typedef struct h3_qpack_decoder h3_qpack_decoder;

/*
 * max_table_capacity: our SETTINGS_QPACK_MAX_TABLE_CAPACITY;
 * max_blocked_streams: our SETTINGS_QPACK_BLOCKED_STREAMS (each blocked field
 * section counts); max_field_section_size: our SETTINGS_MAX_FIELD_SECTION_SIZE,
 * the sum of name + value + 32 over the fields of one section (RFC 9114
 * §4.2.2), SIZE_MAX for no limit. Returns NULL when out of memory.
 */
h3_qpack_decoder *h3_qpack_decoder_new(const quince_env *env, size_t max_table_capacity,
                                       size_t max_blocked_streams, size_t max_field_section_size);
void h3_qpack_decoder_free(h3_qpack_decoder *dec);

void h3_qpack_decoder_set_callback(h3_qpack_decoder *dec, h3_qpack_section_cb cb, void *user);

/*
 * Further bounds: max_encoder_buffer is the longest encoder-stream instruction
 * kept while incomplete (default 4 * max_table_capacity + 1024: no valid
 * insert is longer); max_blocked_bytes bounds the encoded bytes of all blocked
 * field sections together (default 1 MiB).
 */
void h3_qpack_decoder_set_limits(h3_qpack_decoder *dec, size_t max_encoder_buffer,
                                 size_t max_blocked_bytes);

/*
 * Charge what the encoder makes us hold to budget (NULL: nothing; call before any
 * input): the dynamic table (its capacity plus the entry slots, when a capacity is
 * set: refused, connection error H3_EXCESSIVE_LOAD), blocked sections' bytes
 * (refused: QPACK_DECOMPRESSION_FAILED, as past max_blocked_bytes) and a partial
 * encoder instruction (refused: QPACK_ENCODER_STREAM_ERROR, as past
 * max_encoder_buffer).
 */
void h3_qpack_decoder_set_budget(h3_qpack_decoder *dec, quince_budget *budget);

/*
 * Set the table capacity as if a Set Dynamic Table Capacity instruction had
 * arrived. The qifs interop corpus assumes the capacity starts at the
 * maximum (as drafts before RFC 9204 did) and many of its encoders never send
 * the instruction. Returns H3_QPACK_ERR_ARG if capacity > max_table_capacity.
 */
int h3_qpack_decoder_assume_capacity(h3_qpack_decoder *dec, size_t capacity);

/*
 * Feed encoder-stream bytes, any fragmentation. Blocked sections that become
 * decodable are decoded and delivered to the callback. Returns H3_QPACK_OK, a
 * negative callback return, or a fatal error (the wire code is then
 * QPACK_ENCODER_STREAM_ERROR, or QPACK_DECOMPRESSION_FAILED when an unblocked
 * section is invalid).
 */
int h3_qpack_decoder_feed_encoder(h3_qpack_decoder *dec, const uint8_t *data, size_t len);

/*
 * Decode one complete encoded field section received on stream_id. Returns
 * H3_QPACK_OK after delivering it to the callback, H3_QPACK_BLOCKED when it
 * waits for inserts (it is copied and delivered later), a negative callback
 * return, or a fatal error (wire code QPACK_DECOMPRESSION_FAILED), also for
 * exceeding max_blocked_streams or max_field_section_size.
 */
int h3_qpack_decoder_decode(h3_qpack_decoder *dec, uint64_t stream_id, const uint8_t *data,
                            size_t len);

/* RFC 9204 §4.4.2: the stream was reset or abandoned: drop its blocked
 * sections and queue a Stream Cancellation (when the dynamic table is enabled). */
int h3_qpack_decoder_cancel_stream(h3_qpack_decoder *dec, uint64_t stream_id);

/* Decoder-stream bytes waiting, after queuing an Insert Count Increment for
 * inserts not yet acknowledged (RFC 9204 §4.4.3). */
size_t h3_qpack_decoder_pending(h3_qpack_decoder *dec);

/* Move up to cap pending decoder-stream bytes into buf; returns the count. */
size_t h3_qpack_decoder_drain(h3_qpack_decoder *dec, uint8_t *buf, size_t cap);

/* Number of field sections currently blocked. */
size_t h3_qpack_decoder_blocked(const h3_qpack_decoder *dec);
/* Inserts received so far (the decoder's Insert Count). */
uint64_t h3_qpack_decoder_insert_count(const h3_qpack_decoder *dec);
/* The RFC 9204 §6 wire code of the sticky fatal error, 0 if none. */
uint64_t h3_qpack_decoder_wire_error(const h3_qpack_decoder *dec);

/* Read access to the dynamic table for tests and diagnostics: the entry with
 * absolute index abs, or -1 when absent. */
int h3_qpack_decoder_entry(const h3_qpack_decoder *dec, uint64_t abs, h3_field *out);

#endif
