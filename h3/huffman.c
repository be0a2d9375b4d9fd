/* HPACK Huffman encoder and decoders, a 4-bit state table or canonical-code decoding
 * (RFC 7541 §5.2, Appendix B). */
#include "h3/huffman.h"

/* RFC 7541 §5.2 */
size_t h3_huffman_encoded_len(const uint8_t *src, size_t len)
{
    uint64_t bits = 0;
    for (size_t i = 0; i < len; i++)
        bits += h3_huffman_bits[src[i]];
    return (size_t)((bits + 7) / 8);
}

/* RFC 7541 §5.2: codes MSB first, the last byte padded with the EOS prefix (ones). */
size_t h3_huffman_encode(const uint8_t *src, size_t len, uint8_t *out, size_t cap)
{
    uint64_t acc = 0; /* pending bits, right-aligned */
    unsigned nbits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << h3_huffman_bits[src[i]]) | h3_huffman_code[src[i]];
        nbits += h3_huffman_bits[src[i]];
        /* At most 7 + 30 bits are pending: flush whole bytes. */
        while (nbits >= 8) {
            if (n == cap)
                return 0;
            nbits -= 8;
            out[n++] = (uint8_t)(acc >> nbits);
        }
    }
    if (nbits > 0) {
        if (n == cap)
            return 0;
        out[n++] = (uint8_t)((acc << (8 - nbits)) | (0xffu >> nbits));
    }
    return n;
}

/*
 * RFC 7541 §5.2: the table walks the code tree four bits at a time; a state
 * is "accepting" when the bits since the last symbol are at most seven ones,
 * the only padding allowed at the end. EOS inside the string fails.
 */
int h3_huffman_decode_fast(const uint8_t *src, size_t len, uint8_t *out, size_t cap,
                           size_t *out_len)
{
    unsigned state = 0;
    unsigned accept = 1;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        const h3_huffman_step *hi = &h3_huffman_decode_table[state][src[i] >> 4];
        if (hi->flags & H3_HUFFMAN_F_FAIL)
            return H3_QPACK_ERR_HUFFMAN;
        if (hi->flags & H3_HUFFMAN_F_SYM) {
            if (n == cap)
                return H3_QPACK_ERR_BUFFER;
            out[n++] = hi->sym;
        }
        const h3_huffman_step *lo = &h3_huffman_decode_table[hi->next][src[i] & 0x0f];
        if (lo->flags & H3_HUFFMAN_F_FAIL)
            return H3_QPACK_ERR_HUFFMAN;
        if (lo->flags & H3_HUFFMAN_F_SYM) {
            if (n == cap)
                return H3_QPACK_ERR_BUFFER;
            out[n++] = lo->sym;
        }
        state = lo->next;
        accept = lo->flags & H3_HUFFMAN_F_ACCEPT;
    }
    if (!accept)
        return H3_QPACK_ERR_HUFFMAN;
    *out_len = n;
    return H3_QPACK_OK;
}

/*
 * RFC 7541 Appendix B: the code is canonical (codes of one length are
 * consecutive, in symbol order, and follow the shorter ones), so a symbol is
 * found from the count of codes per length alone: after reading `bits` bits,
 * the codes of that length are first .. first + count - 1. RFC 7541 §5.2:
 * at most seven bits of padding, all ones; EOS inside the string fails.
 */
int h3_huffman_decode_small(const uint8_t *src, size_t len, uint8_t *out, size_t cap,
                            size_t *out_len)
{
    uint32_t code = 0;  /* the bits read since the last symbol */
    uint32_t first = 0; /* the first code of this length */
    unsigned bits = 0;
    unsigned index = 0; /* canonical index of that first code */
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        for (int k = 7; k >= 0; k--) {
            code = (code << 1) | ((uint32_t)(src[i] >> k) & 1u);
            bits++;
            uint32_t count = h3_huffman_canon_count[bits];
            if (code - first < count) {
                unsigned at = index + (unsigned)(code - first);
                if (at >= 256) /* EOS */
                    return H3_QPACK_ERR_HUFFMAN;
                if (n == cap)
                    return H3_QPACK_ERR_BUFFER;
                out[n++] = h3_huffman_canon_sym[at];
                code = first = 0;
                bits = index = 0;
            } else {
                if (bits == 30) /* not reached: the code is complete */
                    return H3_QPACK_ERR_HUFFMAN;
                index += count;
                first = (first + count) << 1;
            }
        }
    }
    if (bits > 7 || code != (1u << bits) - 1)
        return H3_QPACK_ERR_HUFFMAN;
    *out_len = n;
    return H3_QPACK_OK;
}

/* RFC 7541 §5.2 */
int h3_huffman_decode(const uint8_t *src, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
#if H3_OPT_HUFFMAN_SMALL
    return h3_huffman_decode_small(src, len, out, cap, out_len);
#else
    return h3_huffman_decode_fast(src, len, out, cap, out_len);
#endif
}
