/* Receive-side reassembly of STREAM and CRYPTO data (RFC 9000 §2.2, §4.5, §7.5). */
#include "quic/stream_buf.h"

#include <string.h>

#include "base/varint.h"

void quic_stream_buf_init(quic_stream_buf *sb, const quince_env *env, size_t max_buffer,
                          size_t max_gaps)
{
    memset(sb, 0, sizeof(*sb));
    sb->env = env;
    sb->max_buffer = max_buffer;
    quic_ranges_init(&sb->received, env, max_gaps, false);
}

void quic_stream_buf_free(quic_stream_buf *sb)
{
    quince_env_free(sb->env, sb->buf);
    sb->buf = NULL;
    sb->cap = sb->head = 0;
    quic_ranges_free(&sb->received);
}

/* Bytes between read_offset and the end of the highest received range (held in buf). */
static size_t buffered_span(const quic_stream_buf *sb)
{
    if (quic_ranges_empty(&sb->received))
        return 0;
    return (size_t)(quic_ranges_from_largest(&sb->received, 0).end - sb->read_offset);
}

/* Make room for need bytes from head. */
static int ensure(quic_stream_buf *sb, size_t need)
{
    if (sb->head + need <= sb->cap)
        return QUIC_OK;
    size_t span = buffered_span(sb);
    if (need <= sb->cap) {
        if (span > 0)
            memmove(sb->buf, sb->buf + sb->head, span);
        sb->head = 0;
        return QUIC_OK;
    }
    size_t cap = sb->cap ? sb->cap : 256;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > sb->max_buffer)
        cap = sb->max_buffer;
    uint8_t *b = quince_env_alloc(sb->env, cap);
    if (b == NULL)
        return QUIC_ERR_NOMEM;
    if (span > 0)
        memcpy(b, sb->buf + sb->head, span);
    quince_env_free(sb->env, sb->buf);
    sb->buf = b;
    sb->cap = cap;
    sb->head = 0;
    return QUIC_OK;
}

static void copy_in(quic_stream_buf *sb, uint64_t from, uint64_t to, uint64_t offset,
                    const uint8_t *data)
{
    memcpy(sb->buf + sb->head + (size_t)(from - sb->read_offset), data + (size_t)(from - offset),
           (size_t)(to - from));
}

/* RFC 9000 §4.5 */
static int check_final(const quic_stream_buf *sb, uint64_t end, bool fin)
{
    if (sb->has_final) {
        if (end > sb->final_size || (fin && end != sb->final_size))
            return QUIC_ERR_FINAL_SIZE;
    } else if (fin && end < sb->max_received) {
        return QUIC_ERR_FINAL_SIZE;
    }
    return QUIC_OK;
}

/* RFC 9000 §2.2, §4.5 */
int quic_stream_buf_write(quic_stream_buf *sb, uint64_t offset, const uint8_t *data, size_t len,
                          bool fin)
{
    if (offset > QUINCE_VARINT_MAX || len > QUINCE_VARINT_MAX - offset)
        return QUIC_ERR_FRAME_ENCODING;
    uint64_t end = offset + len;
    int err = check_final(sb, end, fin);
    if (err != QUIC_OK)
        return err;
    if (end > sb->read_offset && end - sb->read_offset > sb->max_buffer)
        return QUIC_ERR_LIMIT;
    uint64_t start = offset > sb->read_offset ? offset : sb->read_offset;
    if (start < end) {
        err = ensure(sb, (size_t)(end - sb->read_offset));
        if (err != QUIC_OK)
            return err;
        /* Fill only the holes: the first copy of a byte wins. Bytes written
         * into holes stay meaningless until the range is recorded below. */
        uint64_t cur = start;
        for (size_t i = 0; i < quic_ranges_count(&sb->received) && cur < end; i++) {
            quic_range rg = quic_ranges_at(&sb->received, i);
            if (rg.end <= cur)
                continue;
            if (rg.start >= end)
                break;
            if (rg.start > cur)
                copy_in(sb, cur, rg.start, offset, data);
            cur = rg.end;
        }
        if (cur < end)
            copy_in(sb, cur, end, offset, data);
        err = quic_ranges_add(&sb->received, start, end);
        if (err != QUIC_OK)
            return err;
    }
    if (end > sb->max_received)
        sb->max_received = end;
    if (fin) {
        sb->has_final = true;
        sb->final_size = end;
    }
    return QUIC_OK;
}

/* RFC 9000 §4.5, §19.4 */
int quic_stream_buf_set_final(quic_stream_buf *sb, uint64_t final_size)
{
    if (final_size > QUINCE_VARINT_MAX)
        return QUIC_ERR_FRAME_ENCODING;
    int err = check_final(sb, final_size, true);
    if (err != QUIC_OK)
        return err;
    sb->has_final = true;
    sb->final_size = final_size;
    return QUIC_OK;
}

const uint8_t *quic_stream_buf_peek(const quic_stream_buf *sb, size_t *len)
{
    *len = 0;
    if (quic_ranges_empty(&sb->received))
        return NULL;
    quic_range first = quic_ranges_at(&sb->received, 0);
    if (first.start > sb->read_offset)
        return NULL;
    *len = (size_t)(first.end - sb->read_offset);
    return sb->buf + sb->head;
}

void quic_stream_buf_consume(quic_stream_buf *sb, size_t n)
{
    size_t ready;
    quic_stream_buf_peek(sb, &ready);
    if (n > ready)
        n = ready;
    if (n == 0)
        return;
    sb->read_offset += n;
    sb->head += n;
    quic_ranges_remove_below(&sb->received, sb->read_offset);
    if (buffered_span(sb) == 0)
        sb->head = 0; /* nothing held: start over at the front */
}

size_t quic_stream_buf_read(quic_stream_buf *sb, uint8_t *dst, size_t cap)
{
    size_t ready;
    const uint8_t *p = quic_stream_buf_peek(sb, &ready);
    if (ready > cap)
        ready = cap;
    if (ready > 0)
        memcpy(dst, p, ready);
    quic_stream_buf_consume(sb, ready);
    return ready;
}
