/* Lookups in the QPACK static table (RFC 9204 Appendix A). */
#include <string.h>

#include "h3/qpack_static.h"

/* RFC 9204 §3.1 */
const h3_qpack_static_entry *h3_qpack_static_get(uint64_t index)
{
    return index < H3_QPACK_STATIC_COUNT ? &h3_qpack_static_table[index] : NULL;
}

/* RFC 9204 §3.1: one scan finds the lowest name match and any exact match. */
int h3_qpack_static_find(const uint8_t *name, size_t name_len, const uint8_t *value,
                         size_t value_len, int *exact)
{
    int first = -1;
    *exact = 0;
    if (name_len == 0 || name_len > 255)
        return -1;
    for (int i = 0; i < H3_QPACK_STATIC_COUNT; i++) {
        const h3_qpack_static_entry *e = &h3_qpack_static_table[i];
        if (e->name_len != name_len || e->name[0] != (char)name[0] ||
            memcmp(e->name, name, name_len) != 0)
            continue;
        if (first < 0)
            first = i;
        if (e->value_len == value_len &&
            (value_len == 0 || memcmp(e->value, value, value_len) == 0)) {
            *exact = 1;
            return i;
        }
    }
    return first;
}
