/* Receive-side reassembly of STREAM and CRYPTO data (RFC 9000 §2.2, §4.5, §7.5). */
#ifndef QUIC_STREAM_BUF_H
#define QUIC_STREAM_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "quic/error.h"
#include "quic/ranges.h"

/*
 * Bytes are accepted at any offset within the window [read_offset,
 * read_offset + max_buffer): the window holds unread in-order bytes and
 * out-of-order ones alike, so memory never exceeds max_buffer plus the
 * gap list (at most max_gaps ranges). Overlaps and duplicates are fine.
 *
 * RFC 9000 §2.2 lets a receiver check that retransmitted bytes are identical;
 * this buffer does not: the first copy of each byte wins and later copies of
 * it are ignored, which costs nothing and gives the application one
 * consistent stream.
 */
typedef struct quic_stream_buf {
    const quince_env *env;
    uint8_t *buf; /* buf[head] holds the byte at read_offset */
    size_t cap;
    size_t head;
    size_t max_buffer;
    uint64_t read_offset;  /* bytes handed to the application so far */
    uint64_t max_received; /* highest end offset seen */
    uint64_t final_size;
    bool has_final;
    quic_ranges received; /* received ranges at or above read_offset */
} quic_stream_buf;

/* max_buffer: bytes buffered at most; max_gaps: disjoint received ranges at most. */
void quic_stream_buf_init(quic_stream_buf *sb, const quince_env *env, size_t max_buffer,
                          size_t max_gaps);
void quic_stream_buf_free(quic_stream_buf *sb);

/*
 * Take len bytes at offset (fin: the STREAM frame had FIN). Returns:
 *   QUIC_OK (also for pure duplicates);
 *   QUIC_ERR_FINAL_SIZE: RFC 9000 §4.5 (data past the final size, a changed
 *     final size, a final size below data already received);
 *   QUIC_ERR_LIMIT: the bytes fall past the buffer window or would need more
 *     than max_gaps ranges; the caller maps it to FLOW_CONTROL_ERROR (streams)
 *     or CRYPTO_BUFFER_EXCEEDED (CRYPTO, RFC 9000 §7.5);
 *   QUIC_ERR_FRAME_ENCODING: offset + len past 2^62-1;
 *   QUIC_ERR_NOMEM.
 * On error nothing changes.
 */
int quic_stream_buf_write(quic_stream_buf *sb, uint64_t offset, const uint8_t *data, size_t len,
                          bool fin);
/* RESET_STREAM: a final size with no data (same §4.5 checks). */
int quic_stream_buf_set_final(quic_stream_buf *sb, uint64_t final_size);

/* Contiguous bytes ready at read_offset: pointer and length (0 if none). */
const uint8_t *quic_stream_buf_peek(const quic_stream_buf *sb, size_t *len);
/* Drop n bytes (at most what peek reported) from the front. */
void quic_stream_buf_consume(quic_stream_buf *sb, size_t n);
/* Copy up to cap ready bytes into dst and consume them; returns the count. */
size_t quic_stream_buf_read(quic_stream_buf *sb, uint8_t *dst, size_t cap);
/* All bytes up to a known final size were read. */
static inline bool quic_stream_buf_finished(const quic_stream_buf *sb)
{
    return sb->has_final && sb->read_offset == sb->final_size;
}

#endif
