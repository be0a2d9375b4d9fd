/* A bounded set of disjoint integer ranges (packet numbers for ACKs, stream offsets). */
#include "quic/ranges.h"

#include <string.h>

#include "quic/error.h"

void quic_ranges_init(quic_ranges *rs, const quince_env *env, size_t max_ranges, bool drop_smallest)
{
    memset(rs, 0, sizeof(*rs));
    rs->env = env;
    rs->max_ranges = max_ranges > 0 ? max_ranges : 1;
    rs->drop_smallest = drop_smallest;
}

void quic_ranges_free(quic_ranges *rs)
{
    quince_env_free(rs->env, rs->r);
    rs->r = NULL;
    rs->n = rs->cap = 0;
}

/* First index whose range ends at or after v (so it overlaps or touches [v, ...)). */
static size_t first_touching(const quic_ranges *rs, uint64_t v)
{
    size_t lo = 0, hi = rs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rs->r[mid].end < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int reserve(quic_ranges *rs, size_t need)
{
    if (need <= rs->cap)
        return QUIC_OK;
    size_t cap = rs->cap ? rs->cap * 2 : 8;
    if (cap > rs->max_ranges + 1)
        cap = rs->max_ranges + 1;
    if (cap < need)
        cap = need;
    quic_range *r = quince_env_realloc(rs->env, rs->r, cap * sizeof(*r));
    if (r == NULL)
        return QUIC_ERR_NOMEM;
    rs->r = r;
    rs->cap = cap;
    return QUIC_OK;
}

int quic_ranges_add(quic_ranges *rs, uint64_t start, uint64_t end)
{
    if (start > end)
        return QUIC_ERR_ARGUMENT;
    if (start == end)
        return QUIC_OK;
    size_t i = first_touching(rs, start);
    /* Ranges i..j-1 overlap or touch [start, end) and merge into one. */
    size_t j = i;
    while (j < rs->n && rs->r[j].start <= end)
        j++;
    if (j > i) {
        if (rs->r[i].start < start)
            start = rs->r[i].start;
        if (rs->r[j - 1].end > end)
            end = rs->r[j - 1].end;
        rs->r[i].start = start;
        rs->r[i].end = end;
        memmove(&rs->r[i + 1], &rs->r[j], (rs->n - j) * sizeof(quic_range));
        rs->n -= j - i - 1;
        return QUIC_OK;
    }
    /* A new range at index i. */
    if (rs->n >= rs->max_ranges) {
        if (!rs->drop_smallest)
            return QUIC_ERR_LIMIT;
        if (i == 0)
            return QUIC_OK; /* the new range would be the smallest: it is the one dropped */
        memmove(&rs->r[0], &rs->r[1], (i - 1) * sizeof(quic_range));
        rs->r[i - 1].start = start;
        rs->r[i - 1].end = end;
        return QUIC_OK;
    }
    int err = reserve(rs, rs->n + 1);
    if (err != QUIC_OK)
        return err;
    memmove(&rs->r[i + 1], &rs->r[i], (rs->n - i) * sizeof(quic_range));
    rs->r[i].start = start;
    rs->r[i].end = end;
    rs->n++;
    return QUIC_OK;
}

void quic_ranges_remove_below(quic_ranges *rs, uint64_t v)
{
    size_t i = 0;
    while (i < rs->n && rs->r[i].end <= v)
        i++;
    if (i > 0) {
        memmove(&rs->r[0], &rs->r[i], (rs->n - i) * sizeof(quic_range));
        rs->n -= i;
    }
    if (rs->n > 0 && rs->r[0].start < v)
        rs->r[0].start = v;
}

bool quic_ranges_contains(const quic_ranges *rs, uint64_t v)
{
    size_t lo = 0, hi = rs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rs->r[mid].end <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < rs->n && rs->r[lo].start <= v;
}
