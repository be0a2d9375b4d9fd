/* A growable byte buffer on the environment's allocator. */
#ifndef BASE_BUF_H
#define BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"

/*
 * Bytes waiting somewhere (a stream's unsent data, a partial frame): append
 * at the end, consume from the front. Consuming only moves the front
 * forward; the bytes before it are reclaimed when an append needs the room
 * and they are at least as many as the bytes held (so every byte is moved at
 * most once more on average), otherwise the allocation doubles. Nothing
 * shrinks until freed.
 *
 * It knows no bound: every caller checks its own configured limit before
 * appending, so that a peer cannot make it grow. A zeroed struct is an empty
 * buffer.
 */
typedef struct quince_buf {
    uint8_t *data; /* the first byte held */
    size_t len;    /* bytes held, from data[0] */
    size_t head;   /* bytes consumed before data, not yet reclaimed */
    size_t cap;    /* bytes allocated, from data - head */
} quince_buf;

/* Make room for at least need bytes held in all. Returns true, or false when the allocator fails
 * (nothing changes). */
QUINCE_API bool quince_buf_reserve(quince_buf *b, const quince_env *env, size_t need);
/* Append len bytes. Returns true, or false (and nothing changes) when the allocator fails. */
QUINCE_API bool quince_buf_append(quince_buf *b, const quince_env *env, const void *src,
                                  size_t len);
/* Drop the first n bytes (all of them when n >= len). */
QUINCE_API void quince_buf_consume(quince_buf *b, size_t n);
/* Release the memory; the buffer is empty and usable again. */
QUINCE_API void quince_buf_free(quince_buf *b, const quince_env *env);

#endif
