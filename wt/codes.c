/* WebTransport application error codes <-> HTTP/3 error codes (draft-ietf-webtrans-http3-02 §4.3).
 */
#include "wt/codes.h"

/* draft-ietf-webtrans-http3-02 §4.3: first + n + floor(n / 0x1e) */
uint64_t wt_error_to_http3(uint32_t n)
{
    return H3_WT_APP_ERROR_FIRST + n + n / 0x1e;
}

/* draft-ietf-webtrans-http3-02 §4.3: shifted - shifted // 0x1f */
bool wt_error_from_http3(uint64_t h, uint32_t *out)
{
    if (h < H3_WT_APP_ERROR_FIRST || h > H3_WT_APP_ERROR_LAST || h3_is_grease(h))
        return false;
    uint64_t shifted = h - H3_WT_APP_ERROR_FIRST;
    *out = (uint32_t)(shifted - shifted / 0x1f);
    return true;
}
