/* Names of HTTP/3 and QPACK error codes (RFC 9114 §8.1, RFC 9204 §6, RFC 9297 §5.2). */
#include "h3/h3.h"

/* RFC 9114 §8.1, RFC 9204 §6, RFC 9297 §5.2, draft-ietf-webtrans-http3-02 §8.5 */
QUINCE_API const char *h3_error_name(uint64_t code)
{
    static const char *const names[] = {
        "H3_NO_ERROR",
        "H3_GENERAL_PROTOCOL_ERROR",
        "H3_INTERNAL_ERROR",
        "H3_STREAM_CREATION_ERROR",
        "H3_CLOSED_CRITICAL_STREAM",
        "H3_FRAME_UNEXPECTED",
        "H3_FRAME_ERROR",
        "H3_EXCESSIVE_LOAD",
        "H3_ID_ERROR",
        "H3_SETTINGS_ERROR",
        "H3_MISSING_SETTINGS",
        "H3_REQUEST_REJECTED",
        "H3_REQUEST_CANCELLED",
        "H3_REQUEST_INCOMPLETE",
        "H3_MESSAGE_ERROR",
        "H3_CONNECT_ERROR",
        "H3_VERSION_FALLBACK",
    };
    if (code >= H3_NO_ERROR && code <= H3_VERSION_FALLBACK)
        return names[code - H3_NO_ERROR];
    switch (code) {
    case 0x0200:
        return "QPACK_DECOMPRESSION_FAILED";
    case 0x0201:
        return "QPACK_ENCODER_STREAM_ERROR";
    case 0x0202:
        return "QPACK_DECODER_STREAM_ERROR";
    case H3_DATAGRAM_ERROR:
        return "H3_DATAGRAM_ERROR";
    case H3_WEBTRANSPORT_BUFFERED_STREAM_REJECTED:
        return "WEBTRANSPORT_BUFFERED_STREAM_REJECTED";
    default:
        break;
    }
    if (code >= H3_WT_APP_ERROR_FIRST && code <= H3_WT_APP_ERROR_LAST)
        return "WEBTRANSPORT_APPLICATION_ERROR";
    return NULL;
}
