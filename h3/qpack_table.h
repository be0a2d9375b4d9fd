/* The QPACK dynamic table (RFC 9204 §3.2): a ring of entries with absolute indices. */
#ifndef H3_QPACK_TABLE_H
#define H3_QPACK_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"

/* RFC 9204 §3.2.1: an entry's size is its name and value lengths plus 32. */
#define H3_QPACK_ENTRY_OVERHEAD 32

typedef struct h3_qpack_entry {
    uint8_t *name; /* one allocation: name bytes then value bytes */
    uint8_t *value;
    size_t name_len;
    size_t value_len;
} h3_qpack_entry;

typedef struct h3_qpack_table {
    const quince_env *env;
    h3_qpack_entry *ring;  /* ring_size slots; absolute index i sits at i % ring_size */
    size_t ring_size;      /* more than the entries held: doubles as they come, up to capacity / 32 */
    uint64_t insert_count; /* absolute index of the next insert */
    uint64_t dropped;      /* absolute index of the oldest entry still present */
    size_t size;           /* sum of entry sizes */
    size_t capacity;       /* current capacity (Set Dynamic Table Capacity) */
    size_t max_capacity;   /* bound on capacity (SETTINGS_QPACK_MAX_TABLE_CAPACITY) */
} h3_qpack_table;

/* Capacity starts at 0 (RFC 9204 §3.2.3); memory is taken as the capacity grows. */
int h3_qpack_table_init(h3_qpack_table *t, const quince_env *env, size_t max_capacity);
void h3_qpack_table_free(h3_qpack_table *t);

static inline size_t h3_qpack_entry_size(size_t name_len, size_t value_len)
{
    return name_len + value_len + H3_QPACK_ENTRY_OVERHEAD;
}

/* Entry with absolute index abs, or NULL when evicted or not inserted yet. */
static inline const h3_qpack_entry *h3_qpack_table_get(const h3_qpack_table *t, uint64_t abs)
{
    if (abs < t->dropped || abs >= t->insert_count)
        return NULL;
    return &t->ring[abs % t->ring_size];
}

/* Room a new entry of entry_size would have after evicting only entries whose
 * absolute index is below evict_limit: true when it fits. */
bool h3_qpack_table_can_insert(const h3_qpack_table *t, size_t entry_size, uint64_t evict_limit);

/*
 * RFC 9204 §3.2.2: insert (name, value), evicting the oldest entries, but only
 * those below evict_limit (the decoder passes UINT64_MAX). name/value may
 * point into an entry that the insertion evicts. Returns H3_QPACK_OK,
 * H3_QPACK_ERR_LIMIT when the entry does not fit, or H3_QPACK_ERR_NOMEM.
 */
int h3_qpack_table_insert(h3_qpack_table *t, const uint8_t *name, size_t name_len,
                          const uint8_t *value, size_t value_len, uint64_t evict_limit);

/* RFC 9204 §3.2.3 / §4.3.1: set the capacity, evicting entries below
 * evict_limit as needed. H3_QPACK_ERR_LIMIT if capacity > max_capacity or the
 * entries that must go are not evictable; H3_QPACK_ERR_NOMEM. */
int h3_qpack_table_set_capacity(h3_qpack_table *t, size_t capacity, uint64_t evict_limit);

#endif
