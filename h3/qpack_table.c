/* The QPACK dynamic table (RFC 9204 §3.2): insertion, eviction and capacity. */
#include <string.h>

#include "h3/qpack_error.h"
#include "h3/qpack_table.h"

int h3_qpack_table_init(h3_qpack_table *t, const quince_env *env, size_t max_capacity)
{
    memset(t, 0, sizeof(*t));
    t->env = env;
    t->max_capacity = max_capacity;
    return H3_QPACK_OK;
}

static void evict_oldest(h3_qpack_table *t)
{
    h3_qpack_entry *e = &t->ring[t->dropped % t->ring_size];
    t->size -= h3_qpack_entry_size(e->name_len, e->value_len);
    quince_env_free(t->env, e->name);
    memset(e, 0, sizeof(*e));
    t->dropped++;
}

void h3_qpack_table_free(h3_qpack_table *t)
{
    while (t->dropped < t->insert_count)
        evict_oldest(t);
    quince_env_free(t->env, t->ring);
    t->ring = NULL;
}

/* Whether the table can shrink to target bytes by evicting entries below evict_limit. */
static bool can_shrink_to(const h3_qpack_table *t, size_t target, uint64_t evict_limit)
{
    size_t size = t->size;
    for (uint64_t i = t->dropped; size > target; i++) {
        if (i >= evict_limit || i >= t->insert_count)
            return false;
        const h3_qpack_entry *e = &t->ring[i % t->ring_size];
        size -= h3_qpack_entry_size(e->name_len, e->value_len);
    }
    return true;
}

/* RFC 9204 §3.2.2 */
bool h3_qpack_table_can_insert(const h3_qpack_table *t, size_t entry_size, uint64_t evict_limit)
{
    if (entry_size > t->capacity)
        return false;
    return can_shrink_to(t, t->capacity - entry_size, evict_limit);
}

static int grow_ring(h3_qpack_table *t);

/* RFC 9204 §3.2.2 */
int h3_qpack_table_insert(h3_qpack_table *t, const uint8_t *name, size_t name_len,
                          const uint8_t *value, size_t value_len, uint64_t evict_limit)
{
    if (name_len > t->capacity || value_len > t->capacity)
        return H3_QPACK_ERR_LIMIT;
    size_t esize = h3_qpack_entry_size(name_len, value_len);
    if (!h3_qpack_table_can_insert(t, esize, evict_limit))
        return H3_QPACK_ERR_LIMIT;
    /* Copy before evicting: name or value may live in an entry about to go. */
    uint8_t *buf = quince_env_alloc(t->env, name_len + value_len + 1);
    if (buf == NULL)
        return H3_QPACK_ERR_NOMEM;
    if (name_len > 0)
        memcpy(buf, name, name_len);
    if (value_len > 0)
        memcpy(buf + name_len, value, value_len);
    while (t->size > t->capacity - esize)
        evict_oldest(t);
    if (grow_ring(t) != H3_QPACK_OK) {
        quince_env_free(t->env, buf);
        return H3_QPACK_ERR_NOMEM;
    }
    h3_qpack_entry *e = &t->ring[t->insert_count % t->ring_size];
    e->name = buf;
    e->name_len = name_len;
    e->value = buf + name_len;
    e->value_len = value_len;
    t->size += esize;
    t->insert_count++;
    return H3_QPACK_OK;
}

/* Make room for one more entry: the ring doubles (from 4 slots) up to the
 * capacity / 32 entries the table can hold, moving the present entries to
 * their new slots. An empty table holds no ring. */
static int grow_ring(h3_qpack_table *t)
{
    size_t live = (size_t)(t->insert_count - t->dropped);
    if (live < t->ring_size)
        return H3_QPACK_OK;
    size_t need = t->ring_size ? 2 * t->ring_size : 4;
    if (need > t->capacity / H3_QPACK_ENTRY_OVERHEAD)
        need = t->capacity / H3_QPACK_ENTRY_OVERHEAD;
    if (need < live + 1)
        need = live + 1;
    h3_qpack_entry *ring = quince_env_calloc(t->env, need * sizeof(h3_qpack_entry));
    if (ring == NULL)
        return H3_QPACK_ERR_NOMEM;
    for (uint64_t i = t->dropped; i < t->insert_count; i++)
        ring[i % need] = t->ring[i % t->ring_size];
    quince_env_free(t->env, t->ring);
    t->ring = ring;
    t->ring_size = need;
    return H3_QPACK_OK;
}

/* RFC 9204 §4.3.1 */
int h3_qpack_table_set_capacity(h3_qpack_table *t, size_t capacity, uint64_t evict_limit)
{
    if (capacity > t->max_capacity)
        return H3_QPACK_ERR_LIMIT;
    if (!can_shrink_to(t, capacity, evict_limit))
        return H3_QPACK_ERR_LIMIT;
    while (t->size > capacity)
        evict_oldest(t);
    t->capacity = capacity;
    return H3_QPACK_OK;
}
