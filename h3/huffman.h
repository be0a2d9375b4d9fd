/* HPACK Huffman code (RFC 7541 §5.2 and Appendix B), used by QPACK string literals. */
#ifndef H3_HUFFMAN_H
#define H3_HUFFMAN_H

#include <stddef.h>
#include <stdint.h>

#include "h3/opt.h"
#include "h3/qpack_error.h"

/* Generated tables (h3/huffman_table.c). */
extern const uint32_t h3_huffman_code[257];
extern const uint8_t h3_huffman_bits[257];

enum { H3_HUFFMAN_F_FAIL = 1, H3_HUFFMAN_F_SYM = 2, H3_HUFFMAN_F_ACCEPT = 4 };
typedef struct h3_huffman_step {
    uint8_t next;
    uint8_t flags;
    uint8_t sym;
} h3_huffman_step;
extern const h3_huffman_step h3_huffman_decode_table[256][16];
/* The small decoder's tables (canonical order; about 290 bytes). */
extern const uint8_t h3_huffman_canon_count[31];
extern const uint8_t h3_huffman_canon_sym[256];

/* Bytes the Huffman encoding of src takes (padding included). */
size_t h3_huffman_encoded_len(const uint8_t *src, size_t len);

/* Encode src into out (cap bytes); returns bytes written, or 0 when cap is
 * smaller than h3_huffman_encoded_len (and len > 0). */
size_t h3_huffman_encode(const uint8_t *src, size_t len, uint8_t *out, size_t cap);

/* Largest decoded length a Huffman string of len bytes can have (5-bit codes). */
static inline size_t h3_huffman_max_decoded_len(size_t len)
{
    return len + len * 3 / 5 + 1;
}

/*
 * Decode len bytes into out (cap bytes). Returns H3_QPACK_OK with *out_len set,
 * H3_QPACK_ERR_HUFFMAN for EOS inside the string or padding that is longer
 * than 7 bits or not all ones, H3_QPACK_ERR_BUFFER if cap is too small.
 */
int h3_huffman_decode(const uint8_t *src, size_t len, uint8_t *out, size_t cap, size_t *out_len);
/* The two decoders h3_huffman_decode chooses between (H3_OPT_HUFFMAN_SMALL,
 * h3/opt.h): a 4-bit state table (12 KB of read-only data, two lookups a
 * byte) and a canonical-code decoder (290 bytes of tables, one step a bit).
 * Same results, same errors; the linker keeps only the one that is used. */
int h3_huffman_decode_fast(const uint8_t *src, size_t len, uint8_t *out, size_t cap,
                           size_t *out_len);
int h3_huffman_decode_small(const uint8_t *src, size_t len, uint8_t *out, size_t cap,
                            size_t *out_len);

#endif
