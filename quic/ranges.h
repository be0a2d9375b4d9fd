/* A bounded set of disjoint integer ranges (packet numbers for ACKs, stream offsets). */
#ifndef QUIC_RANGES_H
#define QUIC_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"

/* Half-open range [start, end). */
typedef struct quic_range {
    uint64_t start;
    uint64_t end;
} quic_range;

/*
 * Ranges kept sorted ascending, disjoint and never adjacent (touching ranges
 * merge). At most max_ranges are held: what happens past that is the
 * overflow policy chosen at init.
 */
typedef struct quic_ranges {
    const quince_env *env;
    quic_range *r;
    size_t n;
    size_t cap;
    size_t max_ranges;
    bool drop_smallest; /* full: true drops the smallest range, false refuses the insert */
} quic_ranges;

/* max_ranges >= 1. drop_smallest: the ACK policy (old ranges matter least). */
void quic_ranges_init(quic_ranges *rs, const quince_env *env, size_t max_ranges,
                      bool drop_smallest);
void quic_ranges_free(quic_ranges *rs);

/*
 * Add [start, end), merging with overlapping and adjacent ranges. Returns
 * QUIC_OK, QUIC_ERR_NOMEM (set unchanged), QUIC_ERR_LIMIT (set full and
 * drop_smallest false: set unchanged) or QUIC_ERR_ARGUMENT (start > end).
 * With drop_smallest the insert always succeeds (memory permitting) and
 * the smallest range goes; if that was the new one, nothing changes.
 */
int quic_ranges_add(quic_ranges *rs, uint64_t start, uint64_t end);
/* Remove every value below v. */
void quic_ranges_remove_below(quic_ranges *rs, uint64_t v);
bool quic_ranges_contains(const quic_ranges *rs, uint64_t v);

static inline size_t quic_ranges_count(const quic_ranges *rs)
{
    return rs->n;
}
static inline bool quic_ranges_empty(const quic_ranges *rs)
{
    return rs->n == 0;
}
/* The i-th range counting from the largest (i = 0 is the largest). */
static inline quic_range quic_ranges_from_largest(const quic_ranges *rs, size_t i)
{
    return rs->r[rs->n - 1 - i];
}
/* The i-th range counting from the smallest. */
static inline quic_range quic_ranges_at(const quic_ranges *rs, size_t i)
{
    return rs->r[i];
}

#endif
