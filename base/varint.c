/* Variable-length integer encoding, RFC 9000 §16. */
#include "base/varint.h"

/* RFC 9000 §16 */
size_t quince_varint_len(uint64_t v)
{
    if (v < 64)
        return 1;
    if (v < 16384)
        return 2;
    if (v < 1073741824)
        return 4;
    if (v <= QUINCE_VARINT_MAX)
        return 8;
    return 0;
}

/* RFC 9000 §16: the two high bits of the first byte give the length. */
bool quince_get_varint(quince_reader *r, uint64_t *v)
{
    if (quince_reader_empty(r))
        return false;
    size_t len = (size_t)1 << (r->p[0] >> 6);
    if (quince_reader_left(r) < len)
        return false;
    uint64_t x = r->p[0] & 0x3f;
    for (size_t i = 1; i < len; i++)
        x = (x << 8) | r->p[i];
    r->p += len;
    *v = x;
    return true;
}

void quince_varint_write_fixed(uint8_t *dst, uint64_t v, size_t len)
{
    static const uint8_t prefix[9] = {0, 0x00, 0x40, 0, 0x80, 0, 0, 0, 0xc0};
    for (size_t i = len; i-- > 0; v >>= 8)
        dst[i] = (uint8_t)v;
    dst[0] |= prefix[len];
}

bool quince_put_varint_fixed(quince_writer *w, uint64_t v, size_t len)
{
    size_t need = quince_varint_len(v);
    if (need == 0 || need > len || (len != 1 && len != 2 && len != 4 && len != 8)) {
        w->overflow = true;
        return false;
    }
    uint8_t *at = quince_put_reserve(w, len);
    if (at == NULL)
        return false;
    quince_varint_write_fixed(at, v, len);
    return true;
}

bool quince_put_varint(quince_writer *w, uint64_t v)
{
    size_t len = quince_varint_len(v);
    if (len == 0) {
        w->overflow = true;
        return false;
    }
    return quince_put_varint_fixed(w, v, len);
}

/* RFC 9000 §16: the first byte of each varint gives its length. */
size_t quince_varint_pair_need(const uint8_t *h, size_t have)
{
    if (have == 0)
        return 1;
    size_t first = (size_t)1 << (h[0] >> 6);
    if (have <= first)
        return first + 1;
    return first + ((size_t)1 << (h[first] >> 6));
}
