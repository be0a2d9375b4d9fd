/* QPACK prefixed integers and string literals (RFC 9204 §4.1.1-§4.1.2, RFC 7541 §5.1). */
#include "h3/qpack_prim.h"
#include "h3/huffman.h"

/* RFC 7541 §5.1, RFC 9204 §4.1.1 */
int h3_qpack_get_int(quince_reader *r, unsigned prefix_bits, uint64_t *v)
{
    const uint8_t *p = r->p;
    if (p == r->end)
        return H3_QPACK_ERR_TRUNCATED;
    uint64_t mask = (UINT64_C(1) << prefix_bits) - 1;
    uint64_t x = *p++ & mask;
    if (x < mask) {
        r->p = p;
        *v = x;
        return H3_QPACK_OK;
    }
    for (unsigned shift = 0;; shift += 7) {
        if (p == r->end)
            return H3_QPACK_ERR_TRUNCATED;
        uint64_t b = *p++;
        /* 62 bits need at most nine 7-bit groups; more is overlong. */
        if (shift > 56)
            return H3_QPACK_ERR_INTEGER;
        uint64_t add = (b & 0x7f) << shift;
        if ((b & 0x7f) > (H3_QPACK_INT_MAX >> shift) || add > H3_QPACK_INT_MAX - x)
            return H3_QPACK_ERR_INTEGER;
        x += add;
        if (!(b & 0x80))
            break;
    }
    r->p = p;
    *v = x;
    return H3_QPACK_OK;
}

/* RFC 7541 §5.1 */
size_t h3_qpack_int_len(unsigned prefix_bits, uint64_t v)
{
    uint64_t mask = (UINT64_C(1) << prefix_bits) - 1;
    if (v < mask)
        return 1;
    size_t n = 2;
    for (v -= mask; v >= 128; v >>= 7)
        n++;
    return n;
}

/* RFC 7541 §5.1 */
bool h3_qpack_put_int(quince_writer *w, uint8_t flags, unsigned prefix_bits, uint64_t v)
{
    uint8_t buf[12];
    size_t n = 0;
    uint8_t mask = (uint8_t)((1u << prefix_bits) - 1);
    if (v < mask) {
        buf[n++] = (uint8_t)(flags | v);
    } else {
        buf[n++] = (uint8_t)(flags | mask);
        for (v -= mask; v >= 128; v >>= 7)
            buf[n++] = (uint8_t)(0x80 | (v & 0x7f));
        buf[n++] = (uint8_t)v;
    }
    return quince_put_bytes(w, buf, n);
}

/* RFC 9204 §4.1.2 */
int h3_qpack_get_string(quince_reader *r, unsigned prefix_bits, const uint8_t **data, size_t *len,
                        bool *huffman)
{
    quince_reader t = *r;
    if (quince_reader_empty(&t))
        return H3_QPACK_ERR_TRUNCATED;
    bool h = (*t.p >> prefix_bits) & 1;
    uint64_t n;
    int rc = h3_qpack_get_int(&t, prefix_bits, &n);
    if (rc != H3_QPACK_OK)
        return rc;
    if (n > quince_reader_left(&t))
        return H3_QPACK_ERR_TRUNCATED;
    *data = t.p;
    *len = (size_t)n;
    *huffman = h;
    t.p += n;
    *r = t;
    return H3_QPACK_OK;
}

/* RFC 9204 §4.1.2 */
bool h3_qpack_put_string(quince_writer *w, uint8_t flags, unsigned prefix_bits, const uint8_t *s,
                         size_t len, bool allow_huffman)
{
    if (allow_huffman && len > 0) {
        size_t hlen = h3_huffman_encoded_len(s, len);
        if (hlen < len) {
            if (!h3_qpack_put_int(w, (uint8_t)(flags | (1u << prefix_bits)), prefix_bits, hlen))
                return false;
            uint8_t *at = quince_put_reserve(w, hlen);
            return at != NULL && h3_huffman_encode(s, len, at, hlen) == hlen;
        }
    }
    return h3_qpack_put_int(w, flags, prefix_bits, len) && quince_put_bytes(w, s, len);
}
