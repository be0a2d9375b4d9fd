/* The HTTP/3 connection (RFC 9114): receive side of streams, control frames, QPACK, datagrams. */
#include <stdio.h>
#include <string.h>

#include "h3/capsule.h"
#include "h3/conn.h"
#include "h3/settings.h"

static int process(h3_conn *conn, h3_stream *s, const uint8_t *data, size_t len, bool fin);

static bool local_initiated(const h3_conn *conn, uint64_t id)
{
    return h3_stream_is_server_initiated(id) == conn->cfg.is_server;
}

/* Release every stream whose both halves are done (never while one is being processed). */
static void sweep(h3_conn *conn)
{
    size_t i = 0;
    while (i < conn->nstreams) {
        h3_stream *s = conn->streams[i];
        size_t before = conn->nstreams;
        h3_conn_maybe_release(conn, s);
        if (conn->nstreams == before)
            i++;
    }
}

/* RFC 9114 §6.2: a stream we do not read. */
static void discard(h3_conn *conn, h3_stream *s, uint64_t code)
{
    s->kind = H3_SK_DISCARD;
    if (!s->recv_closed && conn->tp.stop_sending != NULL)
        conn->tp.stop_sending(conn->tp.user, s->id, code);
    if (h3_stream_is_bidi(s->id) && !s->send_closed && conn->tp.reset_stream != NULL)
        conn->tp.reset_stream(conn->tp.user, s->id, code);
    s->send_closed = true;
    quince_buf_consume(&s->out, SIZE_MAX);
}

static int fail_wire(h3_conn *conn, int rc, const char *reason)
{
    if (rc == H3_WIRE_NO_MEMORY)
        return h3_conn_fail(conn, H3_INTERNAL_ERROR, "out of memory");
    uint64_t code = h3_wire_error_code(rc);
    return h3_conn_fail(conn, code ? code : H3_INTERNAL_ERROR, reason);
}

/* ---- Extension streams ---- */

static int ext_deliver(h3_conn *conn, h3_stream *s, const uint8_t *data, size_t len, bool fin)
{
    s->ext_bytes += len;
    if (conn->cb.on_ext_stream == NULL ||
        conn->cb.on_ext_stream(conn->cb.user, s->id, s->ext_type, s->session_id, data, len, fin) !=
            0) {
        discard(conn, s, H3_STREAM_CREATION_ERROR);
    }
    if (fin)
        s->recv_closed = true;
    return H3_OK;
}

/* ---- QPACK field sections ---- */

/* RFC 9114 §4.1, §4.2.2, §4.3; called by the QPACK decoder once a section is decoded. */
int h3_conn_qpack_section(void *user, uint64_t stream_id, const h3_field *fields, size_t count)
{
    h3_conn *conn = user;
    h3_stream *s = h3_conn_find(conn, stream_id);
    if (s == NULL || s->kind != H3_SK_REQUEST || s->phase == H3_RP_DONE)
        return H3_QPACK_OK;
    if (s->qpack_blocked) {
        s->qpack_blocked = false;
        s->unblocked = true;
    }
    bool trailers = s->phase == H3_RP_BODY;
    h3_msg_info info;
    int rc;
    if (trailers)
        rc = h3_validate_trailers(fields, count, &info);
    else if (conn->cfg.is_server)
        /* draft-ietf-webtrans-http3-02 §3.2: ENABLE_WEBTRANSPORT implies extended CONNECT. */
        rc = h3_validate_request(fields, count,
                                 conn->cfg.settings.enable_connect_protocol ||
                                     conn->cfg.settings.enable_webtransport,
                                 &info);
    else
        rc = h3_validate_response(fields, count, &info);
    /* §4.2.2: a section above our SETTINGS_MAX_FIELD_SECTION_SIZE is refused with a
     * stream error H3_EXCESSIVE_LOAD (the size is only known after decoding). */
    size_t size = 0;
    for (size_t i = 0; i < count; i++)
        size += fields[i].name_len + fields[i].value_len + 32;
    if (size > conn->cfg.settings.max_field_section_size) {
        h3_conn_stream_error(conn, s, H3_EXCESSIVE_LOAD);
        return H3_QPACK_OK;
    }
    if (rc != 0) {
        h3_conn_stream_error(conn, s, H3_MESSAGE_ERROR);
        return H3_QPACK_OK;
    }
    if (trailers) {
        s->phase = H3_RP_TRAILERS;
    } else if (conn->cfg.is_server) {
        s->phase = H3_RP_BODY;
        s->is_connect = info.is_connect;
        if (info.has_content_length)
            s->content_length = info.content_length;
    } else {
        s->status = info.status;
        if (info.status >= 200) {
            s->phase = H3_RP_BODY;
            /* RFC 9110 §8.6: HEAD and 304 responses describe a body they do not carry. */
            if (info.has_content_length && !s->is_head && info.status != 304 && info.status != 204)
                s->content_length = info.content_length;
        }
    }
    /* RFC 8470 §5.2: did the request (server) or ours (client) travel in early data? */
    if (!trailers && !s->early && conn->tp.stream_early != NULL)
        s->early = conn->tp.stream_early(conn->tp.user, s->id);
    h3_qlog_headers(conn->qlog, false, s->id, fields, count, conn->qlog_section_len);
    /* RFC 9114 §10.9, RFC 8470 §5.2: an unsafe request that a replay could bring
     * again is answered 425 before the application sees it. */
    if (!trailers && conn->cfg.is_server && s->early && conn->cfg.refuse_unsafe_early &&
        !h3_method_is_safe(info.method)) {
        if (h3_conn_refuse(conn, s) == H3_OK && conn->env->log != NULL) {
            char line[160];
            int ml = info.method != NULL && info.method->value_len < 32
                         ? (int)info.method->value_len
                         : 0;
            snprintf(line, sizeof(line),
                     "h3: stream %llu: %.*s received in 0-RTT answered 425 (Too Early, RFC 8470)",
                     (unsigned long long)s->id, ml,
                     ml > 0 ? (const char *)info.method->value : "");
            conn->env->log(conn->env->user, 1, line);
        }
        return H3_QPACK_OK;
    }
    if (conn->cb.on_headers != NULL)
        conn->cb.on_headers(conn->cb.user, s->id, fields, count, trailers);
    return H3_QPACK_OK;
}

static int decode_section(h3_conn *conn, h3_stream *s, const uint8_t *section, size_t len)
{
    conn->in_qpack = true;
    conn->qlog_section_len = len;
    int rc = h3_qpack_decoder_decode(conn->dec, s->id, section, len);
    conn->in_qpack = false;
    if (rc < H3_QPACK_ERR_FATAL) {
        uint64_t code = h3_qpack_decoder_wire_error(conn->dec);
        return h3_conn_fail(conn, code ? code : H3_QPACK_DECOMPRESSION_FAILED,
                            "header decoding failed");
    }
    if (rc == H3_QPACK_BLOCKED)
        s->qpack_blocked = true;
    /* Section Acknowledgments (RFC 9204 §4.4.1). */
    return h3_conn_qpack_leave(conn);
}

/* ---- Request streams ---- */

static int hold_input(h3_conn *conn, h3_stream *s, const uint8_t *data, size_t len, bool fin)
{
    if (fin)
        s->fin_pending = true;
    if (len == 0)
        return H3_OK;
    if (s->in_len + len > conn->cfg.max_recv_buffer) {
        h3_conn_stream_error(conn, s, H3_EXCESSIVE_LOAD);
        return H3_OK;
    }
    if (s->in_len + len > s->in_cap) {
        size_t cap = s->in_cap ? s->in_cap : 256;
        while (cap < s->in_len + len)
            cap *= 2;
        if (cap > conn->cfg.max_recv_buffer)
            cap = conn->cfg.max_recv_buffer;
        /* §10.5: the held bytes count against the connection's memory; past it, as past
         * max_recv_buffer, the stream is refused and the connection goes on. */
        if (!quince_budget_charge(conn->budget, cap - s->in_cap)) {
            h3_conn_stream_error(conn, s, H3_EXCESSIVE_LOAD);
            return H3_OK;
        }
        uint8_t *n = quince_env_realloc(conn->env, s->in, cap);
        if (n == NULL) {
            quince_budget_release(conn->budget, cap - s->in_cap);
            return h3_conn_fail(conn, H3_INTERNAL_ERROR, "out of memory");
        }
        s->in = n;
        s->in_cap = cap;
    }
    memcpy(s->in + s->in_len, data, len);
    s->in_len += len;
    return H3_OK;
}

/* The request stream ended (FIN): RFC 9114 §4.1, §4.1.2. */
static int request_fin(h3_conn *conn, h3_stream *s)
{
    int rc = h3_frame_reader_finish(&s->reader);
    if (rc < 0)
        return fail_wire(conn, rc, "stream ended inside a frame");
    if (s->phase == H3_RP_HEADERS) {
        /* No complete header section: an incomplete request or a response with none. */
        h3_conn_stream_error(conn, s,
                             conn->cfg.is_server ? H3_REQUEST_INCOMPLETE : H3_MESSAGE_ERROR);
        return H3_OK;
    }
    if (s->content_length != UINT64_MAX && s->data_received != s->content_length) {
        h3_conn_stream_error(conn, s, H3_MESSAGE_ERROR);
        return H3_OK;
    }
    s->phase = H3_RP_DONE;
    if (conn->cb.on_end != NULL)
        conn->cb.on_end(conn->cb.user, s->id);
    return H3_OK;
}

/* RFC 9114 §4.1: HEADERS, DATA*, optional trailers; anything else is H3_FRAME_UNEXPECTED. */
static int request_frames(h3_conn *conn, h3_stream *s, const uint8_t *data, size_t len, bool fin)
{
    while (len > 0 && s->phase != H3_RP_DONE && s->kind == H3_SK_REQUEST) {
        if (s->qpack_blocked)
            return hold_input(conn, s, data, len, fin);
        size_t used = 0;
        h3_frame_event ev;
        int rc = h3_frame_reader_feed(&s->reader, data, len, &used, &ev);
        if (rc < 0) {
            /* §4.2.2, §10.5: an oversized header frame is refused on this stream only. */
            if (h3_wire_error_code(rc) == H3_EXCESSIVE_LOAD) {
                h3_conn_stream_error(conn, s, H3_EXCESSIVE_LOAD);
                break;
            }
            return fail_wire(conn, rc, "bad frame on a request stream");
        }
        data += used;
        len -= used;
        switch (ev.type) {
        case H3_FEV_NONE:
        case H3_FEV_SKIP:
            break;
        case H3_FEV_FRAME:
            if (ev.frame.type == H3_FRAME_PUSH_PROMISE)
                /* §7.2.5: we never send MAX_PUSH_ID, so every push ID is too large. */
                return h3_conn_fail(conn, H3_ID_ERROR, "PUSH_PROMISE without MAX_PUSH_ID");
            if (ev.frame.type != H3_FRAME_HEADERS || s->phase == H3_RP_TRAILERS)
                return h3_conn_fail(conn, H3_FRAME_UNEXPECTED, "frame after trailers");
            rc = decode_section(conn, s, ev.frame.payload, ev.frame.payload_len);
            if (rc != H3_OK)
                return rc;
            break;
        case H3_FEV_DATA_START:
            h3_qlog_frame(conn->qlog, false, s->id, H3_FRAME_DATA, ev.frame.length, 0);
            if (s->phase != H3_RP_BODY)
                return h3_conn_fail(conn, H3_FRAME_UNEXPECTED,
                                    s->phase == H3_RP_HEADERS ? "DATA before HEADERS"
                                                              : "DATA after trailers");
            break;
        case H3_FEV_DATA:
            s->data_received += ev.len;
            if (s->content_length != UINT64_MAX && s->data_received > s->content_length) {
                h3_conn_stream_error(conn, s, H3_MESSAGE_ERROR);
                break;
            }
            if (conn->cb.on_data != NULL && ev.len > 0)
                conn->cb.on_data(conn->cb.user, s->id, ev.data, ev.len);
            break;
        case H3_FEV_WT_STREAM:
            /* draft-ietf-webtrans-http3-02 §4.2: the rest belongs to the extension. */
            s->kind = H3_SK_EXT;
            s->ext_type = H3_FRAME_WEBTRANSPORT_STREAM;
            s->session_id = ev.frame.id;
            h3_qlog_frame(conn->qlog, false, s->id, H3_FRAME_WEBTRANSPORT_STREAM, 0, ev.frame.id);
            return ext_deliver(conn, s, data, len, fin);
        case H3_FEV_WT_DATA:
            break;
        }
        if (conn->error != 0)
            return H3_ERR_CLOSED;
    }
    if (s->kind == H3_SK_EXT)
        return ext_deliver(conn, s, data, len, fin);
    if (!fin)
        return H3_OK;
    if (s->qpack_blocked) {
        s->fin_pending = true;
        return H3_OK;
    }
    int rc = H3_OK;
    if (s->phase != H3_RP_DONE)
        rc = request_fin(conn, s);
    s->recv_closed = true;
    return rc;
}

static int process_request(h3_conn *conn, h3_stream *s, const uint8_t *data, size_t len, bool fin)
{
    int rc = request_frames(conn, s, data, len, fin);
    /* RFC 9114 §4.1: a request refused (425) while its bytes were being read is
     * stopped only if they did not end it. */
    if (s->stop_wanted) {
        s->stop_wanted = false;
        if (!fin && !s->recv_closed && conn->error == 0 && conn->tp.stop_sending != NULL)
            conn->tp.stop_sending(conn->tp.user, s->id, H3_NO_ERROR);
    }
    return rc;
}

/* Replay the input held behind header sections that the last inserts unblocked. */
static int replay_unblocked(h3_conn *conn)
{
    for (size_t i = 0; i < conn->nstreams && conn->error == 0; i++) {
        h3_stream *s = conn->streams[i];
        if (!s->unblocked)
            continue;
        s->unblocked = false;
        uint8_t *buf = s->in;
        size_t len = s->in_len, cap = s->in_cap;
        bool fin = s->fin_pending;
        s->in = NULL;
        s->in_len = s->in_cap = 0;
        s->fin_pending = false;
        int rc = H3_OK;
        if (s->phase == H3_RP_DONE) {
            if (fin)
                s->recv_closed = true;
            else if (s->stop_wanted && conn->tp.stop_sending != NULL)
                conn->tp.stop_sending(conn->tp.user, s->id, H3_NO_ERROR);
            s->stop_wanted = false;
        } else {
            rc = process_request(conn, s, buf, len, fin);
        }
        quince_env_free(conn->env, buf);
        quince_budget_release(conn->budget, cap);
        if (rc != H3_OK)
            return rc;
    }
    return conn->error ? H3_ERR_CLOSED : H3_OK;
}

/* ---- Control stream ---- */

/* RFC 9114 §7.2.4, RFC 9204 §5 */
static int on_settings(h3_conn *conn, uint64_t stream_id, const h3_frame *f)
{
    int rc = h3_settings_decode(f->payload, f->payload_len, &conn->peer_settings);
    if (rc < 0)
        return fail_wire(conn, rc, "bad SETTINGS");
    conn->peer_settings_received = true;
    const h3_settings *p = &conn->peer_settings;
    h3_qlog_settings(conn->qlog, false, stream_id, p);
    h3_qlog_qpack_state(conn->qlog, true, p->qpack_max_table_capacity, p->qpack_blocked_streams);
    if (h3_qpack_encoder_apply_settings(conn->enc, p->qpack_max_table_capacity,
                                        p->qpack_blocked_streams) < H3_QPACK_ERR_FATAL)
        return h3_conn_fail(conn, H3_INTERNAL_ERROR, "QPACK encoder");
    rc = h3_conn_flush_qpack(conn);
    if (rc != H3_OK)
        return rc;
    if (conn->cb.on_settings != NULL)
        conn->cb.on_settings(conn->cb.user, p);
    return H3_OK;
}

/* RFC 9114 §5.2, §7.2.6 */
static int on_goaway(h3_conn *conn, uint64_t id)
{
    if (!conn->cfg.is_server && (id & 3) != 0)
        return h3_conn_fail(conn, H3_ID_ERROR, "GOAWAY with a non-request stream ID");
    if (conn->goaway_received != UINT64_MAX && id > conn->goaway_received)
        return h3_conn_fail(conn, H3_ID_ERROR, "GOAWAY ID increased");
    conn->goaway_received = id;
    if (!conn->cfg.is_server) {
        /* Requests at or above the ID were not and will not be processed: retryable. */
        for (size_t i = 0; i < conn->nstreams; i++) {
            h3_stream *s = conn->streams[i];
            if (s->kind == H3_SK_REQUEST && !s->peer_initiated && s->id >= id &&
                s->phase != H3_RP_DONE)
                h3_conn_stream_error(conn, s, H3_REQUEST_CANCELLED);
        }
    }
    if (conn->cb.on_goaway != NULL)
        conn->cb.on_goaway(conn->cb.user, id);
    return H3_OK;
}

/* RFC 9114 §6.2.1, §7.2 */
static int process_control(h3_conn *conn, h3_stream *s, const uint8_t *data, size_t len)
{
    while (len > 0) {
        size_t used = 0;
        h3_frame_event ev;
        int rc = h3_frame_reader_feed(&s->reader, data, len, &used, &ev);
        if (rc < 0)
            return fail_wire(conn, rc, "bad frame on the control stream");
        data += used;
        len -= used;
        if (ev.type != H3_FEV_FRAME)
            continue;
        switch (ev.frame.type) {
        case H3_FRAME_SETTINGS:
            rc = on_settings(conn, s->id, &ev.frame);
            break;
        case H3_FRAME_GOAWAY:
            h3_qlog_frame(conn->qlog, false, s->id, H3_FRAME_GOAWAY, ev.frame.payload_len,
                          ev.frame.id);
            rc = on_goaway(conn, ev.frame.id);
            break;
        case H3_FRAME_CANCEL_PUSH:
            /* §7.2.3: we never allowed or promised a push, so every push ID is unknown. */
            rc = h3_conn_fail(conn, H3_ID_ERROR, "CANCEL_PUSH for an unknown push");
            break;
        case H3_FRAME_MAX_PUSH_ID:
            /* §7.2.7 (the reader rejects it at a client). We never push, but the
             * value may not decrease. */
            if (conn->max_push_id_received != UINT64_MAX &&
                ev.frame.id < conn->max_push_id_received)
                rc = h3_conn_fail(conn, H3_ID_ERROR, "MAX_PUSH_ID decreased");
            else
                conn->max_push_id_received = ev.frame.id;
            break;
        default:
            rc = h3_conn_fail(conn, H3_FRAME_UNEXPECTED, "frame on the control stream");
            break;
        }
        if (rc != H3_OK)
            return rc;
    }
    return H3_OK;
}

/* ---- Unidirectional stream types ---- */

/* RFC 9114 §6.2, RFC 9204 §4.2, draft-ietf-webtrans-http3-02 §4.1 */
static const char *uni_name(h3_uni_kind kind)
{
    switch (kind) {
    case H3_UNI_CONTROL:
        return "control";
    case H3_UNI_PUSH:
        return "push";
    case H3_UNI_QPACK_ENCODER:
        return "qpack_encode";
    case H3_UNI_QPACK_DECODER:
        return "qpack_decode";
    case H3_UNI_WEBTRANSPORT:
        return "webtransport";
    case H3_UNI_RESERVED:
        return "reserved";
    default:
        return "unknown";
    }
}

static int classify_uni(h3_conn *conn, h3_stream *s, const h3_uni_header *h)
{
    h3_qlog_stream_type(conn->qlog, false, s->id, uni_name(h->kind), h->type);
    switch (h->kind) {
    case H3_UNI_CONTROL:
        if (conn->have_control_in)
            return h3_conn_fail(conn, H3_STREAM_CREATION_ERROR, "second control stream");
        conn->have_control_in = true;
        s->kind = H3_SK_CONTROL_IN;
        {
            h3_frame_reader_config c = {H3_ROLE_CONTROL, conn->cfg.is_server, false, 0};
            h3_frame_reader_init(&s->reader, &c, conn->env);
            s->reader.budget = conn->budget;
            s->reader_init = true;
        }
        return H3_OK;
    case H3_UNI_PUSH:
        /* §6.2.2: only servers push, and only up to a MAX_PUSH_ID we never send. */
        if (conn->cfg.is_server)
            return h3_conn_fail(conn, H3_STREAM_CREATION_ERROR, "push stream from a client");
        return h3_conn_fail(conn, H3_ID_ERROR, "push stream without MAX_PUSH_ID");
    case H3_UNI_QPACK_ENCODER:
        if (conn->have_encoder_in)
            return h3_conn_fail(conn, H3_STREAM_CREATION_ERROR, "second QPACK encoder stream");
        conn->have_encoder_in = true;
        s->kind = H3_SK_ENCODER_IN;
        return H3_OK;
    case H3_UNI_QPACK_DECODER:
        if (conn->have_decoder_in)
            return h3_conn_fail(conn, H3_STREAM_CREATION_ERROR, "second QPACK decoder stream");
        conn->have_decoder_in = true;
        s->kind = H3_SK_DECODER_IN;
        return H3_OK;
    case H3_UNI_WEBTRANSPORT:
        s->kind = H3_SK_EXT;
        s->ext_type = h->type;
        s->session_id = h->id;
        return H3_OK;
    case H3_UNI_UNKNOWN:
        if (conn->cb.on_ext_stream != NULL) {
            s->kind = H3_SK_EXT;
            s->ext_type = h->type;
            s->session_id = UINT64_MAX;
            return H3_OK;
        }
        discard(conn, s, H3_STREAM_CREATION_ERROR);
        return H3_OK;
    case H3_UNI_RESERVED:
        discard(conn, s, H3_STREAM_CREATION_ERROR);
        return H3_OK;
    }
    return H3_OK;
}

/* Assemble a stream header byte by byte in s->hdr; returns bytes of data used or < 0. */
static int header_bytes(h3_conn *conn, h3_stream *s, const uint8_t *data, size_t len, size_t *used)
{
    size_t old = s->hdr_len;
    size_t take = sizeof(s->hdr) - old < len ? sizeof(s->hdr) - old : len;
    memcpy(s->hdr + old, data, take);
    s->hdr_len += take;
    int rc;
    if (s->kind == H3_SK_UNI_PENDING) {
        h3_uni_header h;
        rc = h3_uni_header_parse(s->hdr, s->hdr_len, conn->cfg.ext_streams, &h);
        if (rc >= 0) {
            *used = (size_t)rc - old;
            int crc = classify_uni(conn, s, &h);
            return crc != H3_OK ? crc : 1;
        }
    } else {
        uint64_t session;
        rc = h3_wt_bidi_header_parse(s->hdr, s->hdr_len, &session);
        if (rc == 0)
            return h3_conn_fail(conn, H3_STREAM_CREATION_ERROR, "server-initiated request stream");
        if (rc > 0) {
            *used = (size_t)rc - old;
            s->kind = H3_SK_EXT;
            s->ext_type = H3_FRAME_WEBTRANSPORT_STREAM;
            s->session_id = session;
            return 1;
        }
    }
    if (rc == H3_WIRE_NEED_MORE) {
        *used = take;
        return 0;
    }
    return fail_wire(conn, rc, "bad stream header");
}

/* Dispatch stream bytes by the stream's kind. */
static int process(h3_conn *conn, h3_stream *s, const uint8_t *data, size_t len, bool fin)
{
    int rc;
    switch (s->kind) {
    case H3_SK_UNI_PENDING:
    case H3_SK_BIDI_PENDING: {
        size_t used = 0;
        rc = header_bytes(conn, s, data, len, &used);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (fin) {
                /* Ended before its type: nothing to do with it (§6.2). */
                s->kind = H3_SK_DISCARD;
                s->recv_closed = true;
                s->send_closed = true;
            }
            return H3_OK;
        }
        return process(conn, s, data + used, len - used, fin);
    }
    case H3_SK_CONTROL_IN:
        rc = process_control(conn, s, data, len);
        if (rc != H3_OK)
            return rc;
        if (fin)
            return h3_conn_fail(conn, H3_CLOSED_CRITICAL_STREAM, "control stream closed");
        return H3_OK;
    case H3_SK_ENCODER_IN:
        if (len > 0) {
            conn->in_qpack = true;
            rc = h3_qpack_decoder_feed_encoder(conn->dec, data, len);
            conn->in_qpack = false;
            if (rc < H3_QPACK_ERR_FATAL || h3_qpack_decoder_wire_error(conn->dec) != 0) {
                uint64_t code = h3_qpack_decoder_wire_error(conn->dec);
                return h3_conn_fail(conn, code ? code : H3_QPACK_ENCODER_STREAM_ERROR,
                                    "QPACK encoder stream");
            }
            if ((rc = h3_conn_qpack_leave(conn)) != H3_OK)
                return rc;
            if ((rc = replay_unblocked(conn)) != H3_OK)
                return rc;
        }
        if (fin)
            return h3_conn_fail(conn, H3_CLOSED_CRITICAL_STREAM, "QPACK encoder stream closed");
        return H3_OK;
    case H3_SK_DECODER_IN:
        if (len > 0 && h3_qpack_encoder_feed_decoder(conn->enc, data, len) != H3_QPACK_OK) {
            uint64_t code = h3_qpack_encoder_wire_error(conn->enc);
            return h3_conn_fail(conn, code ? code : H3_QPACK_DECODER_STREAM_ERROR,
                                "QPACK decoder stream");
        }
        if (fin)
            return h3_conn_fail(conn, H3_CLOSED_CRITICAL_STREAM, "QPACK decoder stream closed");
        return H3_OK;
    case H3_SK_EXT:
        return ext_deliver(conn, s, data, len, fin);
    case H3_SK_REQUEST:
        if (s->phase == H3_RP_DONE) {
            if (fin)
                s->recv_closed = true;
            return H3_OK;
        }
        return process_request(conn, s, data, len, fin);
    case H3_SK_DISCARD:
    case H3_SK_LOCAL_UNI:
        if (fin)
            s->recv_closed = true;
        return H3_OK;
    }
    return H3_OK;
}

/* A stream we have not seen: RFC 9114 §4.1, §6.1, §6.2, §5.2. Returns NULL when refused. */
static h3_stream *new_peer_stream(h3_conn *conn, uint64_t id, int *rc)
{
    *rc = H3_OK;
    if (h3_stream_is_bidi(id)) {
        if (!conn->cfg.is_server) {
            /* §6.1: servers do not open request streams. */
            if (!conn->cfg.ext_streams) {
                *rc = h3_conn_fail(conn, H3_STREAM_CREATION_ERROR,
                                   "server-initiated bidirectional stream");
                return NULL;
            }
        } else {
            if (id + 4 > conn->max_peer_bidi_seen)
                conn->max_peer_bidi_seen = id + 4;
            if ((conn->goaway_sent != UINT64_MAX && id >= conn->goaway_sent) ||
                conn->n_peer_bidi >= conn->cfg.max_peer_bidi) {
                /* §5.2, §4.1.1: refused before any processing. */
                if (conn->tp.reset_stream != NULL)
                    conn->tp.reset_stream(conn->tp.user, id, H3_REQUEST_REJECTED);
                if (conn->tp.stop_sending != NULL)
                    conn->tp.stop_sending(conn->tp.user, id, H3_REQUEST_REJECTED);
                return NULL;
            }
        }
        if (!conn->cfg.is_server && conn->n_peer_bidi >= conn->cfg.max_peer_bidi) {
            if (conn->tp.stop_sending != NULL)
                conn->tp.stop_sending(conn->tp.user, id, H3_STREAM_CREATION_ERROR);
            if (conn->tp.reset_stream != NULL)
                conn->tp.reset_stream(conn->tp.user, id, H3_STREAM_CREATION_ERROR);
            return NULL;
        }
        h3_stream *s =
            h3_conn_add_stream(conn, id, conn->cfg.is_server ? H3_SK_REQUEST : H3_SK_BIDI_PENDING);
        if (s == NULL) {
            *rc = h3_conn_fail(conn, H3_INTERNAL_ERROR, "out of memory");
            return NULL;
        }
        if (conn->cfg.is_server) {
            h3_qlog_stream_type(conn->qlog, false, id, "request", 0);
            h3_frame_reader_config c = {H3_ROLE_REQUEST, true, conn->cfg.ext_streams,
                                        conn->cfg.max_headers_frame};
            h3_frame_reader_init(&s->reader, &c, conn->env);
            s->reader.budget = conn->budget;
            s->reader_init = true;
        }
        return s;
    }
    if (conn->n_peer_uni >= conn->cfg.max_peer_uni) {
        if (conn->tp.stop_sending != NULL)
            conn->tp.stop_sending(conn->tp.user, id, H3_STREAM_CREATION_ERROR);
        return NULL;
    }
    h3_stream *s = h3_conn_add_stream(conn, id, H3_SK_UNI_PENDING);
    if (s == NULL)
        *rc = h3_conn_fail(conn, H3_INTERNAL_ERROR, "out of memory");
    else
        s->send_closed = true;
    return s;
}

/*
 * The HTTP/3 entry point: bytes of one QUIC stream (RFC 9114 §6.1, §6.2), as the binding
 * reads them. A new stream is classified (request, control, QPACK encoder/decoder, push,
 * WebTransport; §6.2 stream types), then its frames are read (§7.1): HEADERS go through
 * QPACK (RFC 9204 §4.5), SETTINGS and GOAWAY through the control stream (§7.2.4, §5.2).
 * Start reading here.
 */
QUINCE_API int h3_conn_on_stream_data(h3_conn *conn, uint64_t stream_id, const uint8_t *data,
                                      size_t len, bool fin)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    if ((len > 0 && data == NULL) || stream_id > H3_MAX_STREAM_ID)
        return H3_ERR_ARG;
    h3_stream *s = h3_conn_find(conn, stream_id);
    if (s == NULL) {
        /* Our own streams that are gone: late bytes are dropped. */
        if (local_initiated(conn, stream_id))
            return H3_OK;
        if (len == 0 && !fin)
            return H3_OK;
        int rc;
        s = new_peer_stream(conn, stream_id, &rc);
        if (s == NULL)
            return rc;
    }
    if (s->recv_closed)
        return H3_OK;
    s->rx_bytes += len;
    int rc = process(conn, s, data, len, fin);
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    sweep(conn);
    return rc;
}

/* RFC 9114 §4.1.1, §6.2.1; RFC 9204 §4.2 */
QUINCE_API int h3_conn_on_stream_reset(h3_conn *conn, uint64_t stream_id, uint64_t h3_code,
                                       uint64_t final_size)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    h3_stream *s = h3_conn_find(conn, stream_id);
    if (s == NULL || s->recv_closed)
        return H3_OK;
    s->final_size = final_size;
    switch (s->kind) {
    case H3_SK_CONTROL_IN:
    case H3_SK_ENCODER_IN:
    case H3_SK_DECODER_IN:
        return h3_conn_fail(conn, H3_CLOSED_CRITICAL_STREAM, "critical stream reset");
    case H3_SK_REQUEST:
        if (s->qpack_blocked || s->phase == H3_RP_HEADERS) {
            /* RFC 9204 §4.4.2: the section is dropped or may never arrive. */
            s->qpack_blocked = false;
            h3_conn_qpack_cancel(conn, s->id);
        }
        h3_conn_drop_input(conn, s);
        s->fin_pending = false;
        if (!s->send_closed) {
            /* Nobody reads the rest of our message any more. */
            if (conn->tp.reset_stream != NULL)
                conn->tp.reset_stream(conn->tp.user, s->id, h3_code);
            s->send_closed = true;
            quince_buf_consume(&s->out, SIZE_MAX);
            s->send_fin = false;
        }
        if (s->phase != H3_RP_DONE) {
            s->phase = H3_RP_DONE;
            if (conn->cb.on_stream_reset != NULL)
                conn->cb.on_stream_reset(conn->cb.user, s->id, h3_code, false);
        }
        break;
    case H3_SK_EXT:
        if (conn->cb.on_stream_reset != NULL)
            conn->cb.on_stream_reset(conn->cb.user, s->id, h3_code, false);
        break;
    default:
        break;
    }
    s->recv_closed = true;
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    sweep(conn);
    return H3_OK;
}

/* RFC 9000 §4.5; draft-ietf-webtrans-http3-16 §5.4 */
QUINCE_API bool h3_conn_ext_final_size(const h3_conn *conn, uint64_t stream_id, uint64_t *body)
{
    const h3_stream *s = h3_conn_find(conn, stream_id);
    if (s == NULL || s->kind != H3_SK_EXT || s->final_size == H3_FINAL_SIZE_UNKNOWN)
        return false;
    /* The transport holds the peer to final_size >= every byte received. */
    uint64_t header = s->rx_bytes - s->ext_bytes;
    if (s->final_size < s->rx_bytes)
        return false;
    *body = s->final_size - header;
    return true;
}

/* RFC 9114 §6.2.1, §4.1.1 */
QUINCE_API int h3_conn_on_stop_sending(h3_conn *conn, uint64_t stream_id, uint64_t h3_code)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    if (stream_id == conn->control_out || stream_id == conn->encoder_out ||
        stream_id == conn->decoder_out)
        return h3_conn_fail(conn, H3_CLOSED_CRITICAL_STREAM, "STOP_SENDING on a critical stream");
    h3_stream *s = h3_conn_find(conn, stream_id);
    if (s == NULL)
        return H3_OK;
    if (!s->send_closed) {
        if (conn->tp.reset_stream != NULL)
            conn->tp.reset_stream(conn->tp.user, s->id, h3_code);
        s->send_closed = true;
        quince_buf_consume(&s->out, SIZE_MAX);
        s->send_fin = false;
        if ((s->kind == H3_SK_REQUEST || s->kind == H3_SK_EXT) && conn->cb.on_stop_sending)
            conn->cb.on_stop_sending(conn->cb.user, s->id, h3_code);
    }
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    sweep(conn);
    return H3_OK;
}

/* RFC 9297 §2.1 */
QUINCE_API int h3_conn_on_datagram(h3_conn *conn, const uint8_t *data, size_t len)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    /* Not negotiated: nothing to associate it with, dropped. */
    if (!h3_conn_datagrams_enabled(conn))
        return H3_OK;
    uint64_t id;
    const uint8_t *payload;
    size_t plen;
    int rc = h3_datagram_parse(data, len, &id, &payload, &plen);
    if (rc < 0)
        return fail_wire(conn, rc, "malformed HTTP datagram");
    h3_stream *s = h3_conn_find(conn, id);
    /* §2.1: unknown, not yet open or receive-closed streams: dropped silently. */
    if (s == NULL || s->recv_closed || s->phase == H3_RP_DONE || s->kind != H3_SK_REQUEST)
        return H3_OK;
    if (conn->cb.on_datagram != NULL)
        conn->cb.on_datagram(conn->cb.user, id, payload, plen);
    return conn->error ? H3_ERR_CLOSED : H3_OK;
}
