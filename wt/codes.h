/* WebTransport application error codes <-> HTTP/3 error codes (draft-ietf-webtrans-http3-02 §4.3).
 */
#ifndef WT_CODES_H
#define WT_CODES_H

#include <stdbool.h>
#include <stdint.h>

#include "h3/h3_codes.h"

/* The HTTP/3 code carrying WebTransport error n in RESET_STREAM/STOP_SENDING:
 * H3_WT_APP_ERROR_FIRST + n + n / 0x1e, which steps over every GREASE
 * codepoint; strictly increasing, and n = 0xffffffff gives H3_WT_APP_ERROR_LAST. */
uint64_t wt_error_to_http3(uint32_t n);

/* The inverse: false for a code outside [H3_WT_APP_ERROR_FIRST,
 * H3_WT_APP_ERROR_LAST] or on a GREASE codepoint inside it. */
bool wt_error_from_http3(uint64_t h, uint32_t *out);

#endif
