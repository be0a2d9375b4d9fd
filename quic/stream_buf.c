/* Receive-side reassembly of STREAM and CRYPTO data (RFC 9000 §2.2, §4.5, §7.5, §21.7). */
#include "quic/stream_buf.h"

#include <string.h>

#include "base/varint.h"

void quic_stream_buf_init(quic_stream_buf *sb, const quince_env *env, size_t max_buffer,
                          size_t max_segs, quince_budget *budget)
{
    memset(sb, 0, sizeof(*sb));
    sb->env = env;
    sb->budget = budget;
    sb->max_buffer = max_buffer;
    if (max_segs == 0) {
        max_segs = max_buffer / 64;
        if (max_segs < 64)
            max_segs = 64;
    }
    sb->max_segs = max_segs;
}

static bool charge(quic_stream_buf *sb, size_t n)
{
    if (!quince_budget_charge(sb->budget, n))
        return false;
    sb->held += n;
    return true;
}

static void release(quic_stream_buf *sb, size_t n)
{
    quince_budget_release(sb->budget, n);
    sb->held -= n;
}

void quic_stream_buf_free(quic_stream_buf *sb)
{
    for (size_t i = 0; i < sb->n_segs; i++)
        quince_env_free(sb->env, sb->segs[i].data);
    quince_env_free(sb->env, sb->segs);
    quince_budget_release(sb->budget, sb->held);
    sb->held = 0;
    sb->segs = NULL;
    sb->n_segs = sb->segs_cap = 0;
}

static uint64_t seg_end(const quic_stream_seg *s)
{
    return s->offset + s->len;
}

/* The first segment that ends after off (n_segs if none). */
static size_t first_after(const quic_stream_buf *sb, uint64_t off)
{
    size_t lo = 0, hi = sb->n_segs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (seg_end(&sb->segs[mid]) <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Append [from, to) to segment s, whose end is from, if it has or may grow the room. */
static int seg_append(quic_stream_buf *sb, quic_stream_seg *s, const uint8_t *src, size_t n)
{
    if (s->head + s->len + n > s->cap && s->len + n <= s->cap) {
        memmove(s->data, s->data + s->head, s->len);
        s->head = 0;
    }
    if (s->head + s->len + n > s->cap) {
        size_t cap = s->cap * 2;
        if (cap > QUIC_STREAM_SEG_MAX)
            cap = QUIC_STREAM_SEG_MAX;
        if (cap < s->len + n)
            cap = s->len + n;
        if (!charge(sb, cap - s->cap))
            return QUIC_ERR_BUDGET;
        uint8_t *d = quince_env_alloc(sb->env, cap);
        if (d == NULL) {
            release(sb, cap - s->cap);
            return QUIC_ERR_NOMEM;
        }
        if (s->len > 0)
            memcpy(d, s->data + s->head, s->len);
        quince_env_free(sb->env, s->data);
        s->data = d;
        s->cap = cap;
        s->head = 0;
    }
    memcpy(s->data + s->head + s->len, src, n);
    s->len += n;
    return QUIC_OK;
}

/* A new segment for n bytes at off, before index at. */
static int seg_insert(quic_stream_buf *sb, size_t at, uint64_t off, const uint8_t *src, size_t n)
{
    if (sb->n_segs >= sb->max_segs && off != sb->read_offset)
        return QUIC_ERR_BUDGET; /* bytes the application can read now are always taken */
    if (sb->n_segs == sb->segs_cap) {
        size_t cap = sb->segs_cap ? sb->segs_cap * 2 : 4;
        if (!charge(sb, (cap - sb->segs_cap) * sizeof(quic_stream_seg)))
            return QUIC_ERR_BUDGET;
        quic_stream_seg *t = quince_env_alloc(sb->env, cap * sizeof(*t));
        if (t == NULL) {
            release(sb, (cap - sb->segs_cap) * sizeof(quic_stream_seg));
            return QUIC_ERR_NOMEM;
        }
        if (sb->n_segs > 0)
            memcpy(t, sb->segs, sb->n_segs * sizeof(*t));
        quince_env_free(sb->env, sb->segs);
        sb->segs = t;
        sb->segs_cap = cap;
    }
    if (!charge(sb, n + QUIC_STREAM_SEG_OVERHEAD))
        return QUIC_ERR_BUDGET;
    uint8_t *d = quince_env_alloc(sb->env, n);
    if (d == NULL) {
        release(sb, n + QUIC_STREAM_SEG_OVERHEAD);
        return QUIC_ERR_NOMEM;
    }
    memcpy(d, src, n);
    memmove(sb->segs + at + 1, sb->segs + at, (sb->n_segs - at) * sizeof(*sb->segs));
    sb->segs[at] = (quic_stream_seg){.offset = off, .len = n, .cap = n, .data = d};
    sb->n_segs++;
    return QUIC_OK;
}

/* Drop segment i (its memory and its charge). */
static void seg_remove(quic_stream_buf *sb, size_t i)
{
    quince_env_free(sb->env, sb->segs[i].data);
    release(sb, sb->segs[i].cap + QUIC_STREAM_SEG_OVERHEAD);
    memmove(sb->segs + i, sb->segs + i + 1, (sb->n_segs - i - 1) * sizeof(*sb->segs));
    sb->n_segs--;
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

/* RFC 9000 §2.2, §4.5, §21.7 */
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
    if (end > sb->max_received)
        sb->max_received = end;
    if (fin) {
        sb->has_final = true;
        sb->final_size = end;
    }
    /* Fill only the holes between the segments: the first copy of a byte wins. */
    uint64_t cur = offset > sb->read_offset ? offset : sb->read_offset;
    size_t i = first_after(sb, cur);
    while (cur < end) {
        if (i < sb->n_segs && sb->segs[i].offset <= cur) {
            cur = seg_end(&sb->segs[i++]);
            continue;
        }
        uint64_t to = i < sb->n_segs && sb->segs[i].offset < end ? sb->segs[i].offset : end;
        const uint8_t *src = data + (size_t)(cur - offset);
        size_t n = (size_t)(to - cur);
        quic_stream_seg *prev = i > 0 ? &sb->segs[i - 1] : NULL;
        /* An emptied first segment takes what comes next in order, whatever its size, so that
         * no other segment starts at read_offset behind it. */
        if (prev != NULL && seg_end(prev) == cur &&
            (prev->len == 0 || prev->len + n <= QUIC_STREAM_SEG_MAX)) {
            err = seg_append(sb, prev, src, n);
        } else {
            err = seg_insert(sb, i, cur, src, n);
            i++;
        }
        if (err != QUIC_OK)
            return err;
        cur = to;
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
    if (sb->n_segs == 0 || sb->segs[0].offset != sb->read_offset || sb->segs[0].len == 0)
        return NULL;
    *len = sb->segs[0].len;
    return sb->segs[0].data + sb->segs[0].head;
}

void quic_stream_buf_consume(quic_stream_buf *sb, size_t n)
{
    size_t ready;
    quic_stream_buf_peek(sb, &ready);
    if (n > ready)
        n = ready;
    if (n == 0)
        return;
    quic_stream_seg *s = &sb->segs[0];
    sb->read_offset += n;
    s->offset += n;
    s->head += n;
    s->len -= n;
    if (s->len > 0)
        return;
    s->head = 0;
    /* An emptied first segment is kept for the next in-order bytes when it is the only one
     * and small; otherwise its memory goes back. */
    if (sb->n_segs > 1 || s->cap > QUIC_STREAM_SEG_MAX)
        seg_remove(sb, 0);
}

size_t quic_stream_buf_read(quic_stream_buf *sb, uint8_t *dst, size_t cap)
{
    size_t total = 0;
    while (total < cap) {
        size_t ready;
        const uint8_t *p = quic_stream_buf_peek(sb, &ready);
        if (ready == 0)
            break;
        if (ready > cap - total)
            ready = cap - total;
        memcpy(dst + total, p, ready);
        quic_stream_buf_consume(sb, ready);
        total += ready;
    }
    return total;
}
