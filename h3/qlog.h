/* qlog for HTTP/3 and QPACK (draft-ietf-quic-qlog-h3-events-04) through base/qlog.h. */
#ifndef H3_QLOG_H
#define H3_QLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/qlog.h"
#include "h3/h3_codes.h"
#include "h3/settings.h"

/* Every function is a no-op when q is NULL (the connection is not logged).
 * Times are the QUIC connection's latest (QUINCE_QLOG_NOW): h3 has no clock. */

/* http:parameters_set (owner local or remote) and the SETTINGS frame
 * (http:frame_created for ours, http:frame_parsed for the peer's). */
#if QUINCE_QLOG
void h3_qlog_settings(quince_qlog *q, bool local, uint64_t stream_id, const h3_settings *s);
/* http:stream_type_set: type is one of "control", "qpack_encode", "qpack_decode",
 * "request", "push", "reserved", "unknown" (then value is logged),
 * or "webtransport" (draft-ietf-webtrans-http3-02 §4.1, §4.2). */
void h3_qlog_stream_type(quince_qlog *q, bool local, uint64_t stream_id, const char *type,
                         uint64_t value);
/* A HEADERS frame, its fields in plain text, and the QPACK section it is:
 * http:frame_created + qpack:headers_encoded (created), http:frame_parsed +
 * qpack:headers_decoded (parsed). */
void h3_qlog_headers(quince_qlog *q, bool created, uint64_t stream_id, const h3_field *fields,
                     size_t count, size_t section_len);
/* Any other frame: DATA, GOAWAY, MAX_PUSH_ID, WEBTRANSPORT_STREAM, unknown. */
void h3_qlog_frame(quince_qlog *q, bool created, uint64_t stream_id, uint64_t type, uint64_t length,
                   uint64_t id);
/* qpack:state_updated: the encoder's table capacity from the peer's SETTINGS
 * (owner local) or ours for the decoder (owner remote). */
void h3_qlog_qpack_state(quince_qlog *q, bool local, uint64_t capacity, uint64_t blocked);
#else /* !QUINCE_QLOG: left out of the build, every call does nothing */
static inline void h3_qlog_settings(quince_qlog *q, bool local, uint64_t stream_id,
                                    const h3_settings *s)
{
    (void)q, (void)local, (void)stream_id, (void)s;
}
static inline void h3_qlog_stream_type(quince_qlog *q, bool local, uint64_t stream_id,
                                       const char *type, uint64_t value)
{
    (void)q, (void)local, (void)stream_id, (void)type, (void)value;
}
static inline void h3_qlog_headers(quince_qlog *q, bool created, uint64_t stream_id,
                                   const h3_field *fields, size_t count, size_t section_len)
{
    (void)q, (void)created, (void)stream_id, (void)fields, (void)count, (void)section_len;
}
static inline void h3_qlog_frame(quince_qlog *q, bool created, uint64_t stream_id, uint64_t type,
                                 uint64_t length, uint64_t id)
{
    (void)q, (void)created, (void)stream_id, (void)type, (void)length, (void)id;
}
static inline void h3_qlog_qpack_state(quince_qlog *q, bool local, uint64_t capacity,
                                       uint64_t blocked)
{
    (void)q, (void)local, (void)capacity, (void)blocked;
}
#endif

#endif
