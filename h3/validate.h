/* HTTP/3 message validation: pseudo-headers, fields, CONNECT (RFC 9114 §4.2-§4.4). */
#ifndef H3_VALIDATE_H
#define H3_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/qpack_decoder.h"

    /* What a valid header section says about its message. */
    typedef struct h3_msg_info {
    bool is_connect;          /* :method CONNECT */
    bool is_extended_connect; /* CONNECT with :protocol (RFC 9220) */
    bool is_head;             /* :method HEAD (response has no content) */
    int status;               /* responses: :status, 100..599 */
    bool has_content_length;
    uint64_t content_length;
    const h3_field *method, *scheme, *authority, *path, *protocol; /* NULL if absent */
    size_t size; /* RFC 9114 §4.2.2: sum of name + value + 32 */
} h3_msg_info;

/*
 * Each returns 0 for a well-formed section (filling *out) or
 * H3_WIRE_ERROR(H3_MESSAGE_ERROR) for a malformed one (RFC 9114 §4.1.2):
 *   - a field name that is empty, not lowercase or not a token, a value with
 *     NUL, CR or LF or with leading or trailing whitespace (§4.2, RFC 9110 §5.5)
 *   - a connection-specific field (connection, keep-alive, proxy-connection,
 *     transfer-encoding, upgrade) or TE other than "trailers" (§4.2)
 *   - a pseudo-header after a regular field, repeated, unknown, of the wrong
 *     kind (request vs response) or in trailers (§4.3)
 *   - a content-length that is not digits or that differs between fields
 * Requests (§4.3.1, §4.4, RFC 9220 §4): :method; CONNECT without :protocol has
 * :authority and no :scheme or :path; :protocol only with CONNECT and only when
 * connect_protocol_enabled (we sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1), and
 * then :scheme, :path and :authority too; other methods need :scheme and a
 * non-empty :path, and http/https need :authority or host (equal when both,
 * no userinfo) and a :path starting with "/" ("*" only for OPTIONS).
 * Responses (§4.3.2): :status exactly once, three digits, 100-599, not 101.
 */
int h3_validate_request(const h3_field *f, size_t n, bool connect_protocol_enabled,
                        h3_msg_info *out);
int h3_validate_response(const h3_field *f, size_t n, h3_msg_info *out);
int h3_validate_trailers(const h3_field *f, size_t n, h3_msg_info *out);

#endif
