/* The QPACK static table (RFC 9204 Appendix A) and its lookups. */
#ifndef H3_QPACK_STATIC_H
#define H3_QPACK_STATIC_H

#include <stddef.h>
#include <stdint.h>

#define H3_QPACK_STATIC_COUNT 99

typedef struct h3_qpack_static_entry {
    const char *name;
    const char *value;
    uint8_t name_len;
    uint8_t value_len;
} h3_qpack_static_entry;

extern const h3_qpack_static_entry h3_qpack_static_table[H3_QPACK_STATIC_COUNT];

/* Entry at index, or NULL when index >= 99. */
const h3_qpack_static_entry *h3_qpack_static_get(uint64_t index);

/*
 * Look a field up: returns the index of an exact name+value match and sets
 * *exact = 1; else the index of the first entry with that name and *exact = 0;
 * else -1.
 */
int h3_qpack_static_find(const uint8_t *name, size_t name_len, const uint8_t *value,
                         size_t value_len, int *exact);

#endif
