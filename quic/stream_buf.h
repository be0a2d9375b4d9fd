/* Receive-side reassembly of STREAM and CRYPTO data (RFC 9000 §2.2, §4.5, §7.5). */
#ifndef QUIC_STREAM_BUF_H
#define QUIC_STREAM_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/budget.h"
#include "base/env.h"
#include "quic/error.h"

/*
 * Bytes are accepted at any offset within the window [read_offset,
 * read_offset + max_buffer) (the flow-control credit given for the stream or,
 * for CRYPTO, RFC 9000 §7.5's buffer), but memory follows what was received,
 * not that span (RFC 9000 §21.7): received bytes sit in segments sorted by
 * offset, each allocated for its bytes (a segment grows by appending up to
 * QUIC_STREAM_SEG_MAX, doubling), and the buffer charges each segment's
 * allocation plus QUIC_STREAM_SEG_OVERHEAD, and its segment table, to its
 * budget. There is no gap limit that closes the connection: when the budget
 * (or max_segs segments) would be exceeded the bytes are refused with
 * QUIC_ERR_BUDGET and the caller leaves the packet unacknowledged, so the
 * peer sends the bytes again later (a held peer, not a failed one).
 *
 * RFC 9000 §2.2 lets a receiver check that retransmitted bytes are identical;
 * this buffer does not: the first copy of each byte wins and later copies of
 * it are ignored, which costs nothing and gives the application one
 * consistent stream.
 */
#define QUIC_STREAM_SEG_MAX (16 * 1024)
#define QUIC_STREAM_SEG_OVERHEAD 16 /* charged per segment for the allocator's header */

typedef struct quic_stream_seg {
    uint64_t offset; /* stream offset of data[head] */
    size_t head;     /* bytes consumed at the front of data */
    size_t len;      /* bytes held from data[head] */
    size_t cap;      /* bytes allocated */
    uint8_t *data;
} quic_stream_seg;

typedef struct quic_stream_buf {
    const quince_env *env;
    quince_budget *budget; /* charged for what is held; NULL: no budget */
    quic_stream_seg *segs; /* sorted by offset, disjoint; segs[0] may be empty (kept for reuse) */
    size_t n_segs, segs_cap;
    size_t max_segs;
    size_t max_buffer;
    size_t held;           /* bytes charged: segments, their overhead, the table */
    uint64_t read_offset;  /* bytes handed to the application so far */
    uint64_t max_received; /* highest end offset seen */
    uint64_t final_size;
    bool has_final;
} quic_stream_buf;

/* max_buffer: the window past read_offset; max_segs: disjoint pieces held at most
 * (0: max_buffer / 64, at least 64); budget may be NULL. */
void quic_stream_buf_init(quic_stream_buf *sb, const quince_env *env, size_t max_buffer,
                          size_t max_segs, quince_budget *budget);
void quic_stream_buf_free(quic_stream_buf *sb);

/*
 * Take len bytes at offset (fin: the STREAM frame had FIN). Returns:
 *   QUIC_OK (also for pure duplicates);
 *   QUIC_ERR_FINAL_SIZE: RFC 9000 §4.5 (data past the final size, a changed
 *     final size, a final size below data already received);
 *   QUIC_ERR_LIMIT: the bytes fall past the window; the caller maps it to
 *     FLOW_CONTROL_ERROR (streams) or CRYPTO_BUFFER_EXCEEDED (CRYPTO, §7.5);
 *   QUIC_ERR_FRAME_ENCODING: offset + len past 2^62-1;
 *   QUIC_ERR_BUDGET: holding them would pass the budget or max_segs: the
 *     caller holds the peer (leaves the packet unacknowledged);
 *   QUIC_ERR_NOMEM.
 * On the first four nothing changes. On the last two the highest offset and
 * final size seen are kept (the peer did send them) and some of the bytes may
 * have been stored (they are the peer's; a retransmission brings the rest).
 */
int quic_stream_buf_write(quic_stream_buf *sb, uint64_t offset, const uint8_t *data, size_t len,
                          bool fin);
/* RESET_STREAM: a final size with no data (same §4.5 checks). */
int quic_stream_buf_set_final(quic_stream_buf *sb, uint64_t final_size);

/* Bytes ready at read_offset, one piece at a time: pointer and length (0 if none); after
 * consuming them, peek again for the next piece. */
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
