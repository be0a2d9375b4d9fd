/* Variable-length integer encoding, RFC 9000 §16. */
#ifndef BASE_VARINT_H
#define BASE_VARINT_H

#include "base/cursor.h"

#define QUINCE_VARINT_MAX ((uint64_t)0x3fffffffffffffff)

/* Bytes needed to encode v (1, 2, 4 or 8); 0 if v > QUINCE_VARINT_MAX. */
size_t quince_varint_len(uint64_t v);

/* Decode one varint; false on truncation (the cursor does not move).
 * Non-minimal encodings are accepted, as RFC 9000 §16 allows. */
bool quince_get_varint(quince_reader *r, uint64_t *v);

/* Encode v in its shortest form; false if it does not fit or v is too big. */
bool quince_put_varint(quince_writer *w, uint64_t v);

/* Encode v in exactly len bytes (1, 2, 4 or 8), e.g. to back-fill a length. */
bool quince_put_varint_fixed(quince_writer *w, uint64_t v, size_t len);
void quince_varint_write_fixed(uint8_t *dst, uint64_t v, size_t len);

/* For a header of two varints read a byte at a time (type + length of an
 * HTTP/3 frame or a capsule): how many bytes the header needs, given the have
 * bytes collected so far. It grows as each varint's first byte arrives. */
size_t quince_varint_pair_need(const uint8_t *h, size_t have);

#endif
