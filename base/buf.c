/* A growable byte buffer on the environment's allocator. */
#include "base/buf.h"

#include <string.h>

#define QUINCE_BUF_MIN 64

QUINCE_API bool quince_buf_reserve(quince_buf *b, const quince_env *env, size_t need)
{
    if (need <= b->cap - b->head)
        return true;
    uint8_t *base = b->cap > 0 ? b->data - b->head : NULL;
    /* Reclaim the consumed front when it is at least as large as what is held:
     * the move costs no more than the bytes already consumed. */
    if (need <= b->cap && b->head >= b->len) {
        memmove(base, b->data, b->len);
        b->data = base;
        b->head = 0;
        return true;
    }
    size_t cap = b->cap > 0 ? b->cap : QUINCE_BUF_MIN;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return false;
        cap *= 2;
    }
    if (b->head > 0) {
        memmove(base, b->data, b->len);
        b->data = base;
        b->head = 0;
    }
    uint8_t *p = quince_env_realloc(env, base, cap);
    if (p == NULL)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

QUINCE_API bool quince_buf_append(quince_buf *b, const quince_env *env, const void *src, size_t len)
{
    if (len == 0)
        return true;
    if (len > SIZE_MAX - b->len || !quince_buf_reserve(b, env, b->len + len))
        return false;
    memcpy(b->data + b->len, src, len);
    b->len += len;
    return true;
}

QUINCE_API void quince_buf_consume(quince_buf *b, size_t n)
{
    if (n >= b->len) {
        /* Empty: the whole allocation is room again. */
        if (b->head > 0)
            b->data -= b->head;
        b->head = 0;
        b->len = 0;
        return;
    }
    b->data += n;
    b->head += n;
    b->len -= n;
}

QUINCE_API void quince_buf_free(quince_buf *b, const quince_env *env)
{
    if (b->cap > 0)
        quince_env_free(env, b->data - b->head);
    *b = (quince_buf){0};
}
