/* QPACK prefixed integers and string literals (RFC 9204 §4.1.1-§4.1.2, RFC 7541 §5.1). */
#ifndef H3_QPACK_PRIM_H
#define H3_QPACK_PRIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/qpack_error.h"
#include "base/cursor.h"

/* Largest integer accepted: QPACK values are bounded by 62 bits like QUIC varints. */
#define H3_QPACK_INT_MAX ((UINT64_C(1) << 62) - 1)

/*
 * Read an N-bit prefix integer (1 <= prefix_bits <= 8) starting at the current
 * byte; the bits above the prefix are ignored (the caller has read them).
 * Returns H3_QPACK_OK, H3_QPACK_ERR_TRUNCATED (cursor unchanged) or
 * H3_QPACK_ERR_INTEGER for a value above 2^62-1 or more continuation bytes
 * than a 62-bit value needs.
 */
int h3_qpack_get_int(quince_reader *r, unsigned prefix_bits, uint64_t *v);

/* Write v with an N-bit prefix; flags fills the bits above the prefix. */
bool h3_qpack_put_int(quince_writer *w, uint8_t flags, unsigned prefix_bits, uint64_t v);

/* Bytes h3_qpack_put_int needs. */
size_t h3_qpack_int_len(unsigned prefix_bits, uint64_t v);

/*
 * Read a string literal whose length has an N-bit prefix and whose H flag is
 * the bit just above it. Points *data at the raw (possibly Huffman) bytes.
 * Same returns as h3_qpack_get_int; the cursor moves only on success.
 */
int h3_qpack_get_string(quince_reader *r, unsigned prefix_bits, const uint8_t **data, size_t *len,
                        bool *huffman);

/*
 * Write a string literal with an N-bit length prefix; flags fills the bits
 * above the H bit. Uses Huffman when allowed and strictly shorter.
 */
bool h3_qpack_put_string(quince_writer *w, uint8_t flags, unsigned prefix_bits, const uint8_t *s,
                         size_t len, bool allow_huffman);

/* Upper bound of the bytes h3_qpack_put_string writes for len bytes. */
static inline size_t h3_qpack_string_max_len(size_t len)
{
    return 10 + len;
}

#endif
