/* Bounds-checked byte cursors for reading and writing wire formats (network byte order). */
#ifndef BASE_CURSOR_H
#define BASE_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * A reader never reads past its end: every getter returns false (and leaves
 * the cursor where it was) when the bytes are not there. Parsers chain
 * getters and check once. Like base/env.h this header depends on nothing,
 * so crypto/ (the TLS parsers) uses it too.
 */
typedef struct quince_reader {
    const uint8_t *p;
    const uint8_t *end;
} quince_reader;

typedef struct quince_writer {
    uint8_t *p;
    uint8_t *end;
    bool overflow; /* set once a put did not fit; later puts do nothing */
} quince_writer;

static inline quince_reader quince_reader_init(const uint8_t *data, size_t len)
{
    quince_reader r = {data, data + len};
    return r;
}

static inline size_t quince_reader_left(const quince_reader *r)
{
    return (size_t)(r->end - r->p);
}

static inline bool quince_reader_empty(const quince_reader *r)
{
    return r->p == r->end;
}

static inline bool quince_get_u8(quince_reader *r, uint8_t *v)
{
    if (quince_reader_left(r) < 1)
        return false;
    *v = *r->p++;
    return true;
}

static inline bool quince_get_u16(quince_reader *r, uint16_t *v)
{
    if (quince_reader_left(r) < 2)
        return false;
    *v = (uint16_t)((r->p[0] << 8) | r->p[1]);
    r->p += 2;
    return true;
}

static inline bool quince_get_u24(quince_reader *r, uint32_t *v)
{
    if (quince_reader_left(r) < 3)
        return false;
    *v = ((uint32_t)r->p[0] << 16) | ((uint32_t)r->p[1] << 8) | r->p[2];
    r->p += 3;
    return true;
}

static inline bool quince_get_u32(quince_reader *r, uint32_t *v)
{
    if (quince_reader_left(r) < 4)
        return false;
    *v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) | ((uint32_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    return true;
}

static inline bool quince_get_u64(quince_reader *r, uint64_t *v)
{
    if (quince_reader_left(r) < 8)
        return false;
    uint64_t x = 0;
    for (int i = 0; i < 8; i++)
        x = (x << 8) | r->p[i];
    *v = x;
    r->p += 8;
    return true;
}

/* Point *out at the next len bytes (no copy). */
static inline bool quince_get_bytes(quince_reader *r, size_t len, const uint8_t **out)
{
    if (quince_reader_left(r) < len)
        return false;
    *out = r->p;
    r->p += len;
    return true;
}

static inline bool quince_get_copy(quince_reader *r, void *dst, size_t len)
{
    if (quince_reader_left(r) < len)
        return false;
    memcpy(dst, r->p, len);
    r->p += len;
    return true;
}

static inline bool quince_skip(quince_reader *r, size_t len)
{
    if (quince_reader_left(r) < len)
        return false;
    r->p += len;
    return true;
}

/* Split off a sub-reader of exactly len bytes (a length-prefixed vector). */
static inline bool quince_get_sub(quince_reader *r, size_t len, quince_reader *sub)
{
    if (quince_reader_left(r) < len)
        return false;
    sub->p = r->p;
    sub->end = r->p + len;
    r->p += len;
    return true;
}

static inline quince_writer quince_writer_init(uint8_t *buf, size_t cap)
{
    quince_writer w = {buf, buf + cap, false};
    return w;
}

static inline size_t quince_writer_left(const quince_writer *w)
{
    return w->overflow ? 0 : (size_t)(w->end - w->p);
}

static inline bool quince_put_bytes(quince_writer *w, const void *src, size_t len)
{
    if (w->overflow || (size_t)(w->end - w->p) < len) {
        w->overflow = true;
        return false;
    }
    if (len > 0)
        memcpy(w->p, src, len);
    w->p += len;
    return true;
}

static inline bool quince_put_u8(quince_writer *w, uint8_t v)
{
    return quince_put_bytes(w, &v, 1);
}

static inline bool quince_put_u16(quince_writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return quince_put_bytes(w, b, 2);
}

static inline bool quince_put_u24(quince_writer *w, uint32_t v)
{
    uint8_t b[3] = {(uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return quince_put_bytes(w, b, 3);
}

static inline bool quince_put_u32(quince_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return quince_put_bytes(w, b, 4);
}

static inline bool quince_put_u64(quince_writer *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (uint8_t)v;
    return quince_put_bytes(w, b, 8);
}

/* Reserve len bytes to fill in later (a length prefix); NULL on overflow. */
static inline uint8_t *quince_put_reserve(quince_writer *w, size_t len)
{
    if (w->overflow || (size_t)(w->end - w->p) < len) {
        w->overflow = true;
        return NULL;
    }
    uint8_t *at = w->p;
    w->p += len;
    return at;
}

#endif
