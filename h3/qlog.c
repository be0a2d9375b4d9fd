/* qlog for HTTP/3 and QPACK (draft-ietf-quic-qlog-h3-events-04 §4, §6). */
#include "h3/qlog.h"

static void hex_name(char *out, uint64_t v)
{
    static const char hexd[] = "0123456789abcdef";
    char tmp[17];
    int n = 0;
    do {
        tmp[n++] = hexd[v & 15];
        v >>= 4;
    } while (v != 0);
    out[0] = '0';
    out[1] = 'x';
    for (int i = 0; i < n; i++)
        out[2 + i] = tmp[n - 1 - i];
    out[2 + n] = '\0';
}

/* A setting by its qlog name (h3-events-04 §4.1), extensions by their identifier. */
static void setting_member(quince_qlog *q, bool as_list, const char *name, uint64_t value)
{
    if (as_list) {
        quince_qlog_object(q, NULL);
        quince_qlog_str(q, "name", name);
        quince_qlog_u64(q, "value", value);
        quince_qlog_close(q);
    } else {
        quince_qlog_u64(q, name, value);
    }
}

static void settings_fields(quince_qlog *q, bool as_list, const h3_settings *s)
{
    if (s->present & H3_SP_QPACK_MAX_TABLE_CAPACITY)
        setting_member(q, as_list, "max_table_capacity", s->qpack_max_table_capacity);
    if (s->present & H3_SP_MAX_FIELD_SECTION_SIZE)
        setting_member(q, as_list, "max_field_section_size", s->max_field_section_size);
    if (s->present & H3_SP_QPACK_BLOCKED_STREAMS)
        setting_member(q, as_list, "blocked_streams_count", s->qpack_blocked_streams);
    if (s->present & H3_SP_ENABLE_CONNECT_PROTOCOL)
        setting_member(q, as_list, "enable_connect_protocol", s->enable_connect_protocol);
    if (s->present & H3_SP_H3_DATAGRAM)
        setting_member(q, as_list, "h3_datagram", s->h3_datagram);
    if (s->present & H3_SP_H3_DATAGRAM_DRAFT04)
        setting_member(q, as_list, "h3_datagram_draft04", s->h3_datagram_draft04);
    if (s->present & H3_SP_ENABLE_WEBTRANSPORT)
        setting_member(q, as_list, "enable_webtransport", s->enable_webtransport);
    for (size_t i = 0; i < s->n_extra; i++) {
        char name[24];
        hex_name(name, s->extra[i].id);
        setting_member(q, as_list, name, s->extra[i].value);
    }
}

/* draft-ietf-quic-qlog-h3-events-04 §4.1, §4.4, §4.5, §5.2.4 */
void h3_qlog_settings(quince_qlog *q, bool local, uint64_t stream_id, const h3_settings *s)
{
    if (quince_qlog_begin(q, QUINCE_QLOG_NOW, "http:parameters_set")) {
        quince_qlog_str(q, "owner", local ? "local" : "remote");
        settings_fields(q, false, s);
        if (local)
            quince_qlog_bool(q, "waits_for_settings", false);
        quince_qlog_end(q);
    }
    if (quince_qlog_begin(q, QUINCE_QLOG_NOW, local ? "http:frame_created" : "http:frame_parsed")) {
        quince_qlog_u64(q, "stream_id", stream_id);
        quince_qlog_object(q, "frame");
        quince_qlog_str(q, "frame_type", "settings");
        quince_qlog_array(q, "settings");
        settings_fields(q, true, s);
        quince_qlog_end(q);
    }
}

/* draft-ietf-quic-qlog-h3-events-04 §4.3 */
void h3_qlog_stream_type(quince_qlog *q, bool local, uint64_t stream_id, const char *type,
                         uint64_t value)
{
    if (!quince_qlog_begin(q, QUINCE_QLOG_NOW, "http:stream_type_set"))
        return;
    quince_qlog_str(q, "owner", local ? "local" : "remote");
    quince_qlog_u64(q, "stream_id", stream_id);
    quince_qlog_str(q, "stream_type", type);
    if (type[0] == 'u' || type[0] == 'w') /* unknown, webtransport: the codepoint */
        quince_qlog_u64(q, "stream_type_value", value);
    quince_qlog_end(q);
}

/* draft-ietf-quic-qlog-h3-events-04 §4.4, §4.5, §5.2.2, §6.4, §6.5 */
void h3_qlog_headers(quince_qlog *q, bool created, uint64_t stream_id, const h3_field *fields,
                     size_t count, size_t section_len)
{
    if (quince_qlog_begin(q, QUINCE_QLOG_NOW,
                          created ? "http:frame_created" : "http:frame_parsed")) {
        quince_qlog_u64(q, "stream_id", stream_id);
        quince_qlog_u64(q, "length", section_len);
        quince_qlog_object(q, "frame");
        quince_qlog_str(q, "frame_type", "headers");
        quince_qlog_array(q, "headers");
        for (size_t i = 0; i < count && quince_qlog_room(q) > 256; i++) {
            quince_qlog_object(q, NULL);
            quince_qlog_strn(q, "name", fields[i].name, fields[i].name_len);
            quince_qlog_strn(q, "value", fields[i].value, fields[i].value_len);
            quince_qlog_close(q);
        }
        quince_qlog_end(q);
    }
    if (quince_qlog_begin(q, QUINCE_QLOG_NOW,
                          created ? "qpack:headers_encoded" : "qpack:headers_decoded")) {
        quince_qlog_u64(q, "stream_id", stream_id);
        quince_qlog_u64(q, "field_count", count);
        quince_qlog_object(q, "raw");
        quince_qlog_u64(q, "length", section_len);
        quince_qlog_end(q);
    }
}

static const char *frame_name(uint64_t type)
{
    switch (type) {
    case H3_FRAME_DATA:
        return "data";
    case H3_FRAME_HEADERS:
        return "headers";
    case H3_FRAME_CANCEL_PUSH:
        return "cancel_push";
    case H3_FRAME_SETTINGS:
        return "settings";
    case H3_FRAME_PUSH_PROMISE:
        return "push_promise";
    case H3_FRAME_GOAWAY:
        return "goaway";
    case H3_FRAME_MAX_PUSH_ID:
        return "max_push_id";
    case H3_FRAME_WEBTRANSPORT_STREAM:
        return "webtransport_stream";
    default:
        return "unknown";
    }
}

/* draft-ietf-quic-qlog-h3-events-04 §4.4, §4.5, §5.2 */
void h3_qlog_frame(quince_qlog *q, bool created, uint64_t stream_id, uint64_t type, uint64_t length,
                   uint64_t id)
{
    if (!quince_qlog_begin(q, QUINCE_QLOG_NOW,
                           created ? "http:frame_created" : "http:frame_parsed"))
        return;
    quince_qlog_u64(q, "stream_id", stream_id);
    quince_qlog_u64(q, "length", length);
    quince_qlog_object(q, "frame");
    const char *name = frame_name(type);
    quince_qlog_str(q, "frame_type", name);
    switch (type) {
    case H3_FRAME_GOAWAY:
        quince_qlog_u64(q, "id", id);
        break;
    case H3_FRAME_MAX_PUSH_ID:
    case H3_FRAME_CANCEL_PUSH:
        quince_qlog_u64(q, "push_id", id);
        break;
    case H3_FRAME_WEBTRANSPORT_STREAM:
        quince_qlog_u64(q, "session_id", id);
        break;
    default:
        if (name[0] == 'u')
            quince_qlog_u64(q, "frame_type_value", type);
        break;
    }
    quince_qlog_end(q);
}

/* draft-ietf-quic-qlog-h3-events-04 §6.1 */
void h3_qlog_qpack_state(quince_qlog *q, bool local, uint64_t capacity, uint64_t blocked)
{
    if (!quince_qlog_begin(q, QUINCE_QLOG_NOW, "qpack:state_updated"))
        return;
    quince_qlog_str(q, "owner", local ? "local" : "remote");
    quince_qlog_u64(q, "dynamic_table_capacity", capacity);
    quince_qlog_u64(q, "blocked_streams", blocked);
    quince_qlog_end(q);
}
