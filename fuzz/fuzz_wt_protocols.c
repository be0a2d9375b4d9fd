/* Fuzz target: WT-Available-Protocols / WT-Protocol (Structured Fields,
 * draft-ietf-webtrans-http3-16 §3.3): parse, serialize what was parsed, parse again to the same
 * strings. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wt/protocols.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

static char list[4096], again[4096], ser[8192], item[4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= sizeof(list))
        return 0;
    size_t n = wt_protocols_parse_list(data, size, list, sizeof(list));
    if (n != WT_PROTOCOLS_INVALID && n > 0) {
        /* The strings serialize back to a list that parses to the same strings. */
        size_t off = 0;
        const char *p = list;
        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                ser[off++] = ',';
                ser[off++] = ' ';
            }
            size_t k = wt_protocols_put_string(ser + off, sizeof(ser) - off, p);
            CHECK(k > 0);
            off += k;
            p += strlen(p) + 1;
        }
        CHECK(wt_protocols_parse_list((const uint8_t *)ser, off, again, sizeof(again)) == n);
        CHECK(memcmp(list, again, (size_t)(p - list)) == 0);
    }
    if (wt_protocols_parse_item(data, size, item, sizeof(item))) {
        size_t k = wt_protocols_put_string(ser, sizeof(ser), item);
        CHECK(k > 0);
        CHECK(wt_protocols_parse_item((const uint8_t *)ser, k, again, sizeof(again)));
        CHECK(strcmp(item, again) == 0);
    }
    return 0;
}
