/* Memory budgets: bytes a peer can make us hold, counted against a limit (docs/ARCHITECTURE.md
 * "Limits"). */
#ifndef BASE_BUDGET_H
#define BASE_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

/*
 * A connection's budget is a child of its endpoint's: a charge must fit in
 * both (and in every parent above). Whoever holds bytes for a peer charges
 * them before allocating and releases them when freed; a refused charge
 * means "hold the peer" (no more flow-control credit, a packet left
 * unacknowledged, a short write), never unbounded growth. limit 0: no limit
 * (only counting). A NULL budget accepts everything.
 */
typedef struct quince_budget {
    size_t used;
    size_t limit;
    size_t peak; /* the most ever used */
    struct quince_budget *parent;
} quince_budget;

/* True if n more bytes fit in b and all its parents. */
static inline bool quince_budget_fits(const quince_budget *b, size_t n)
{
    for (; b != NULL; b = b->parent)
        if (b->limit != 0 && (n > b->limit || b->used > b->limit - n))
            return false;
    return true;
}

/* Charge n bytes to b and its parents; false (nothing charged) if they do not fit. */
static inline bool quince_budget_charge(quince_budget *b, size_t n)
{
    if (!quince_budget_fits(b, n))
        return false;
    for (; b != NULL; b = b->parent) {
        b->used += n;
        if (b->used > b->peak)
            b->peak = b->used;
    }
    return true;
}

/* Return n bytes charged earlier. */
static inline void quince_budget_release(quince_budget *b, size_t n)
{
    for (; b != NULL; b = b->parent)
        b->used = n < b->used ? b->used - n : 0;
}

/* Bytes still free in b and its parents (SIZE_MAX when none has a limit). */
static inline size_t quince_budget_room(const quince_budget *b)
{
    size_t room = (size_t)-1;
    for (; b != NULL; b = b->parent)
        if (b->limit != 0) {
            size_t r = b->used < b->limit ? b->limit - b->used : 0;
            if (r < room)
                room = r;
        }
    return room;
}

#endif
