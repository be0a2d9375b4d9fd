/* The HTTP/3 connection (RFC 9114): setup, stream table, send side, datagrams, GOAWAY. */
#include "h3/conn.h"

#include <string.h>

#include "h3/capsule.h"
#include "h3/opt.h"
#include "h3/settings.h"
#include "base/cursor.h"
#include "base/varint.h"

/* (no RFC section) */
QUINCE_API void h3_config_init(h3_config *cfg, bool is_server)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->is_server = is_server;
    h3_settings_init(&cfg->settings);
    h3_settings_set(&cfg->settings, H3_SETTING_QPACK_MAX_TABLE_CAPACITY,
                    H3_OPT_QPACK_MAX_TABLE_CAPACITY);
    h3_settings_set(&cfg->settings, H3_SETTING_QPACK_BLOCKED_STREAMS, H3_OPT_QPACK_BLOCKED_STREAMS);
    h3_settings_set(&cfg->settings, H3_SETTING_MAX_FIELD_SECTION_SIZE,
                    H3_OPT_MAX_FIELD_SECTION_SIZE);
    cfg->qpack_encoder_capacity = H3_OPT_QPACK_ENCODER_CAPACITY;
    cfg->max_peer_bidi = H3_OPT_MAX_PEER_BIDI;
    cfg->max_peer_uni = H3_OPT_MAX_PEER_UNI;
    cfg->max_send_buffer = H3_OPT_MAX_SEND_BUFFER;
    cfg->max_recv_buffer = H3_OPT_MAX_RECV_BUFFER;
    cfg->max_headers_frame = H3_OPT_MAX_HEADERS_FRAME;
    cfg->grease = true;
    cfg->refuse_unsafe_early = true;
}

/* ---- Stream table ---- */

h3_stream *h3_conn_find(const h3_conn *conn, uint64_t id)
{
    for (size_t i = 0; i < conn->nstreams; i++)
        if (conn->streams[i]->id == id)
            return conn->streams[i];
    return NULL;
}

h3_stream *h3_conn_add_stream(h3_conn *conn, uint64_t id, h3_stream_kind kind)
{
    if (conn->nstreams == conn->streams_cap) {
        size_t cap = conn->streams_cap ? conn->streams_cap * 2 : 16;
        h3_stream **n = quince_env_realloc(conn->env, conn->streams, cap * sizeof(*n));
        if (n == NULL)
            return NULL;
        conn->streams = n;
        conn->streams_cap = cap;
    }
    h3_stream *s = quince_env_calloc(conn->env, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->id = id;
    s->kind = kind;
    s->phase = H3_RP_HEADERS;
    s->content_length = UINT64_MAX;
    s->final_size = H3_FINAL_SIZE_UNKNOWN;
    s->session_id = UINT64_MAX;
    s->peer_initiated = h3_stream_is_server_initiated(id) != conn->cfg.is_server;
    if (s->peer_initiated) {
        if (h3_stream_is_bidi(id))
            conn->n_peer_bidi++;
        else
            conn->n_peer_uni++;
    }
    conn->streams[conn->nstreams++] = s;
    return s;
}

static void stream_free(h3_conn *conn, h3_stream *s)
{
    if (s->reader_init)
        h3_frame_reader_free(&s->reader);
    quince_env_free(conn->env, s->in);
    quince_budget_release(conn->budget, s->in_cap);
    quince_buf_free(&s->out, conn->env);
    quince_env_free(conn->env, s);
}

void h3_conn_drop_input(h3_conn *conn, h3_stream *s)
{
    quince_env_free(conn->env, s->in);
    quince_budget_release(conn->budget, s->in_cap);
    s->in = NULL;
    s->in_len = s->in_cap = 0;
}

static bool stream_finished(const h3_stream *s)
{
    if (s->qpack_blocked || s->out.len > 0)
        return false;
    switch (s->kind) {
    case H3_SK_LOCAL_UNI:
        return s->send_closed;
    case H3_SK_REQUEST:
    case H3_SK_EXT:
        /* A peer's uni stream has no send side; ours is done only once FIN went out. */
        return s->recv_closed &&
               (s->send_closed || (!h3_stream_is_bidi(s->id) && s->peer_initiated));
    case H3_SK_BIDI_PENDING:
        return s->recv_closed;
    case H3_SK_UNI_PENDING:
    case H3_SK_DISCARD:
        return s->recv_closed;
    default:
        return false; /* critical streams live as long as the connection */
    }
}

void h3_conn_maybe_release(h3_conn *conn, h3_stream *s)
{
    if (!stream_finished(s))
        return;
    for (size_t i = 0; i < conn->nstreams; i++) {
        if (conn->streams[i] != s)
            continue;
        if (s->peer_initiated) {
            if (h3_stream_is_bidi(s->id))
                conn->n_peer_bidi--;
            else
                conn->n_peer_uni--;
        }
        conn->streams[i] = conn->streams[--conn->nstreams];
        stream_free(conn, s);
        return;
    }
}

/* ---- Lifecycle ---- */

/* RFC 9114 §3.2 */
QUINCE_API h3_conn *h3_conn_new(const quince_env *env, const h3_config *cfg,
                                const h3_transport *transport, const h3_callbacks *cb)
{
    if (env == NULL || cfg == NULL || transport == NULL || transport->write == NULL ||
        transport->open_stream == NULL)
        return NULL;
    h3_conn *conn = quince_env_calloc(env, sizeof(*conn));
    if (conn == NULL)
        return NULL;
    conn->env = env;
    conn->cfg = *cfg;
    conn->tp = *transport;
    if (cb != NULL)
        conn->cb = *cb;
    if (conn->cfg.max_send_buffer == 0)
        conn->cfg.max_send_buffer = H3_OPT_MAX_SEND_BUFFER;
    if (conn->cfg.max_recv_buffer == 0)
        conn->cfg.max_recv_buffer = H3_OPT_MAX_RECV_BUFFER;
    if (conn->cfg.max_headers_frame == 0)
        conn->cfg.max_headers_frame = H3_FRAME_READER_DEFAULT_MAX;
    conn->goaway_sent = UINT64_MAX;
    conn->goaway_received = UINT64_MAX;
    conn->max_push_id_received = UINT64_MAX;
    conn->control_out = conn->encoder_out = conn->decoder_out = UINT64_MAX;
    h3_settings_init(&conn->peer_settings);
    const h3_settings *ls = &cfg->settings;
    /* The field section size is checked after decoding (stream error, see conn_recv.c), so
     * the decoder itself gets no size bound: its memory is bounded by the frame size. */
    conn->dec = h3_qpack_decoder_new(env, (size_t)ls->qpack_max_table_capacity,
                                     (size_t)ls->qpack_blocked_streams, SIZE_MAX);
    conn->enc = h3_qpack_encoder_new(env, cfg->qpack_encoder_capacity);
    if (conn->dec == NULL || conn->enc == NULL) {
        h3_conn_free(conn);
        return NULL;
    }
    h3_qpack_decoder_set_callback(conn->dec, h3_conn_qpack_section, conn);
    h3_qpack_decoder_set_limits(conn->dec, 4 * (size_t)ls->qpack_max_table_capacity + 1024,
                                conn->cfg.max_recv_buffer * 4);
    h3_qpack_encoder_set_policy(conn->enc, cfg->qpack_static_only, true);
    return conn;
}

/* (no RFC section) */
QUINCE_API void h3_conn_free(h3_conn *conn)
{
    if (conn == NULL)
        return;
    for (size_t i = 0; i < conn->nstreams; i++)
        stream_free(conn, conn->streams[i]);
    quince_env_free(conn->env, conn->streams);
    if (conn->dec != NULL)
        h3_qpack_decoder_free(conn->dec);
    if (conn->enc != NULL)
        h3_qpack_encoder_free(conn->enc);
    quince_env_free(conn->env, conn->scratch);
    quince_env_free(conn->env, conn);
}

int h3_conn_fail(h3_conn *conn, uint64_t code, const char *reason)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    conn->error = code;
    if (conn->tp.close != NULL)
        conn->tp.close(conn->tp.user, code, reason);
    if (conn->cb.on_conn_error != NULL)
        conn->cb.on_conn_error(conn->cb.user, code, reason);
    return H3_ERR_CLOSED;
}

/* RFC 9114 §5.2, §8 */
QUINCE_API int h3_conn_close(h3_conn *conn, uint64_t h3_code, const char *reason)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    conn->error = h3_code;
    if (conn->tp.close != NULL)
        conn->tp.close(conn->tp.user, h3_code, reason);
    return H3_OK;
}

/* ---- Writing ---- */

static int append_out(h3_conn *conn, h3_stream *s, const uint8_t *data, size_t len)
{
    /* The caller checked max_send_buffer (or the critical-stream bound). */
    if (!quince_buf_append(&s->out, conn->env, data, len))
        return h3_conn_fail(conn, H3_INTERNAL_ERROR, "out of memory");
    return H3_OK;
}

static bool is_critical_out(const h3_conn *conn, uint64_t id)
{
    return id == conn->control_out || id == conn->encoder_out || id == conn->decoder_out;
}

/* Write pieces as one unit: either all go to the transport or its buffer, or (for an
 * application stream whose buffer is full) nothing does and H3_ERR_BLOCKED is returned. */
static int stream_writev(h3_conn *conn, h3_stream *s, const uint8_t *const *data, const size_t *len,
                         size_t n, bool fin)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    if (s->send_closed)
        return H3_ERR_NO_STREAM;
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += len[i];
    bool critical = is_critical_out(conn, s->id);
    if (s->out.len > 0 && s->out.len + total > conn->cfg.max_send_buffer) {
        /* Our critical streams cannot wait for the application; a peer that makes
         * them grow this far (acknowledgments without reading) is refused. */
        if (!critical)
            return H3_ERR_BLOCKED;
        if (s->out.len + total > 4 * conn->cfg.max_send_buffer)
            return h3_conn_fail(conn, H3_EXCESSIVE_LOAD, "critical stream backlog");
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = data[i];
        size_t left = len[i];
        bool last = i + 1 == n;
        if (s->out.len == 0 && (left > 0 || (last && fin))) {
            int64_t w = conn->tp.write(conn->tp.user, s->id, p, left, last && fin);
            if (w < 0 || (uint64_t)w > left)
                return h3_conn_fail(conn, H3_INTERNAL_ERROR, "transport write failed");
            if (w > 0) /* p may be NULL when left is 0 */
                p += w;
            left -= (size_t)w;
            if (left == 0 && last && fin) {
                s->send_closed = true;
                return H3_OK;
            }
        }
        int rc = append_out(conn, s, p, left);
        if (rc != H3_OK)
            return rc;
    }
    if (fin) {
        s->send_fin = true;
        s->send_closed = true;
    }
    return H3_OK;
}

int h3_conn_stream_write(h3_conn *conn, h3_stream *s, const uint8_t *data, size_t len, bool fin)
{
    return stream_writev(conn, s, &data, &len, 1, fin);
}

/* (no RFC section) */
QUINCE_API int h3_conn_on_writable(h3_conn *conn, uint64_t stream_id)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    h3_stream *s = h3_conn_find(conn, stream_id);
    if (s == NULL || (s->out.len == 0 && !s->send_fin))
        return H3_OK;
    int64_t w = conn->tp.write(conn->tp.user, s->id, s->out.data, s->out.len, s->send_fin);
    if (w < 0 || (uint64_t)w > s->out.len)
        return h3_conn_fail(conn, H3_INTERNAL_ERROR, "transport write failed");
    /* Often a little at a time (as acknowledgments free QUIC's buffer): the
     * buffer only moves its front, it does not shift what is left. */
    quince_buf_consume(&s->out, (size_t)w);
    if (s->out.len == 0)
        s->send_fin = false;
    h3_conn_maybe_release(conn, s);
    return H3_OK;
}

/* (no RFC section) */
QUINCE_API size_t h3_conn_stream_buffered(const h3_conn *conn, uint64_t stream_id)
{
    const h3_stream *s = h3_conn_find(conn, stream_id);
    return s != NULL ? s->out.len : 0;
}

/* RFC 9000 §4.5 */
QUINCE_API bool h3_conn_stream_reset_final_size(const h3_conn *conn, uint64_t stream_id,
                                                uint64_t *size)
{
    return conn->tp.reset_final_size != NULL &&
           conn->tp.reset_final_size(conn->tp.user, stream_id, size) >= 0;
}

static int flush_source(h3_conn *conn, uint64_t id, bool encoder)
{
    size_t pending =
        encoder ? h3_qpack_encoder_pending(conn->enc) : h3_qpack_decoder_pending(conn->dec);
    if (pending == 0 || (!encoder && conn->in_qpack))
        return H3_OK;
    h3_stream *s = h3_conn_find(conn, id);
    if (s == NULL) {
        /* Before h3_conn_start: leave the bytes queued in the QPACK object. */
        return H3_OK;
    }
    uint8_t buf[512];
    while (pending > 0) {
        size_t n = encoder ? h3_qpack_encoder_drain(conn->enc, buf, sizeof(buf))
                           : h3_qpack_decoder_drain(conn->dec, buf, sizeof(buf));
        if (n == 0)
            break;
        int rc = h3_conn_stream_write(conn, s, buf, n, false);
        if (rc != H3_OK)
            return rc;
        pending -= n < pending ? n : pending;
    }
    return H3_OK;
}

/* RFC 9204 §4.4.2 */
void h3_conn_qpack_cancel(h3_conn *conn, uint64_t stream_id)
{
    if (!conn->in_qpack) {
        h3_qpack_decoder_cancel_stream(conn->dec, stream_id);
        h3_conn_flush_qpack(conn);
        return;
    }
    /* The cancellation only lets the peer's encoder evict sooner: skip it beyond the bound. */
    if (conn->ncancel < sizeof(conn->cancel_ids) / sizeof(conn->cancel_ids[0]))
        conn->cancel_ids[conn->ncancel++] = stream_id;
}

int h3_conn_qpack_leave(h3_conn *conn)
{
    conn->in_qpack = false;
    for (size_t i = 0; i < conn->ncancel; i++)
        h3_qpack_decoder_cancel_stream(conn->dec, conn->cancel_ids[i]);
    conn->ncancel = 0;
    return h3_conn_flush_qpack(conn);
}

/* RFC 9204 §4.2: encoder and decoder instructions travel on our unidirectional streams. */
int h3_conn_flush_qpack(h3_conn *conn)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    int rc = flush_source(conn, conn->encoder_out, true);
    if (rc != H3_OK)
        return rc;
    return flush_source(conn, conn->decoder_out, false);
}

static int open_local_uni(h3_conn *conn, uint64_t *id, h3_stream **out)
{
    if (conn->tp.open_stream(conn->tp.user, false, id) < 0)
        return h3_conn_fail(conn, H3_INTERNAL_ERROR, "cannot open a stream");
    h3_stream *s = h3_conn_add_stream(conn, *id, H3_SK_LOCAL_UNI);
    if (s == NULL)
        return h3_conn_fail(conn, H3_INTERNAL_ERROR, "out of memory");
    s->recv_closed = true;
    *out = s;
    return H3_OK;
}

/* RFC 9114 §6.2.1, §7.2.4.1, §7.2.8, §6.2.3; RFC 9204 §4.2 */
QUINCE_API int h3_conn_start(h3_conn *conn)
{
    if (conn->started)
        return H3_ERR_ARG;
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    conn->started = true;
    uint8_t r[8];
    uint64_t grease = 0;
    if (conn->cfg.grease) {
        quince_env_random(conn->env, r, sizeof(r));
        for (int i = 0; i < 8; i++)
            grease = (grease << 8) | r[i];
    }
    size_t plen = h3_settings_payload_len(&conn->cfg.settings,
                                          conn->cfg.grease ? grease : H3_SETTINGS_NO_GREASE);
    size_t cap = plen + 64;
    uint8_t *buf = quince_env_alloc(conn->env, cap);
    if (buf == NULL)
        return h3_conn_fail(conn, H3_INTERNAL_ERROR, "out of memory");
    quince_writer w = quince_writer_init(buf, cap);
    h3_uni_put_type(&w, H3_STREAM_CONTROL);
    h3_settings_put_frame(&w, &conn->cfg.settings,
                          conn->cfg.grease ? grease : H3_SETTINGS_NO_GREASE);
    if (conn->cfg.grease) {
        static const uint8_t pad[3] = {'h', '3', 'g'};
        h3_frame_put_grease(&w, grease >> 7, pad, (grease >> 3) % 4);
    }
    h3_stream *s;
    int rc = w.overflow ? h3_conn_fail(conn, H3_INTERNAL_ERROR, "settings too large")
                        : open_local_uni(conn, &conn->control_out, &s);
    if (rc == H3_OK) {
        h3_qlog_stream_type(conn->qlog, true, conn->control_out, "control", H3_STREAM_CONTROL);
        h3_qlog_settings(conn->qlog, true, conn->control_out, &conn->cfg.settings);
        h3_qlog_qpack_state(conn->qlog, false, conn->cfg.settings.qpack_max_table_capacity,
                            conn->cfg.settings.qpack_blocked_streams);
        rc = h3_conn_stream_write(conn, s, buf, (size_t)(w.p - buf), false);
    }
    quince_env_free(conn->env, buf);
    if (rc != H3_OK)
        return rc;

    uint8_t t[1] = {H3_STREAM_QPACK_ENCODER};
    if ((rc = open_local_uni(conn, &conn->encoder_out, &s)) != H3_OK ||
        (rc = h3_conn_stream_write(conn, s, t, 1, false)) != H3_OK)
        return rc;
    h3_qlog_stream_type(conn->qlog, true, conn->encoder_out, "qpack_encode", t[0]);
    t[0] = H3_STREAM_QPACK_DECODER;
    if ((rc = open_local_uni(conn, &conn->decoder_out, &s)) != H3_OK ||
        (rc = h3_conn_stream_write(conn, s, t, 1, false)) != H3_OK)
        return rc;
    h3_qlog_stream_type(conn->qlog, true, conn->decoder_out, "qpack_decode", t[0]);
    if (conn->cfg.grease) {
        /* A reserved stream type with a few bytes that the peer must ignore. */
        uint8_t g[16];
        quince_writer gw = quince_writer_init(g, sizeof(g));
        h3_uni_put_type(&gw, h3_grease_codepoint(grease >> 11));
        quince_put_bytes(&gw, (const uint8_t *)"grease", 6);
        uint64_t gid;
        /* RFC 9114 §6.2: a peer need allow only our three critical streams
         * (ngtcp2's server allows exactly 3): without room, no GREASE stream. */
        if (conn->tp.open_stream(conn->tp.user, false, &gid) >= 0) {
            s = h3_conn_add_stream(conn, gid, H3_SK_LOCAL_UNI);
            if (s == NULL)
                return h3_conn_fail(conn, H3_INTERNAL_ERROR, "out of memory");
            s->recv_closed = true;
            if ((rc = h3_conn_stream_write(conn, s, g, (size_t)(gw.p - g), true)) != H3_OK)
                return rc;
            h3_conn_maybe_release(conn, s);
        }
    }
    return h3_conn_flush_qpack(conn);
}

/* ---- Messages ---- */

static bool field_is(const h3_field *f, const char *name)
{
    size_t n = strlen(name);
    return f->name_len == n && memcmp(f->name, name, n) == 0;
}

/* Encode fields into a HEADERS frame in conn->scratch; *out_len set. */
static int encode_headers(h3_conn *conn, uint64_t stream_id, const h3_field *fields, size_t count,
                          size_t *out_len)
{
    size_t bound = h3_qpack_encode_bound(fields, count);
    size_t need = bound + 16;
    if (need > conn->scratch_cap) {
        uint8_t *n = quince_env_realloc(conn->env, conn->scratch, need);
        if (n == NULL)
            return H3_ERR_NOMEM;
        conn->scratch = n;
        conn->scratch_cap = need;
    }
    /* The section goes after room for the longest frame header, then moves up. */
    size_t sec_len;
    int rc =
        h3_qpack_encode(conn->enc, stream_id, fields, count, conn->scratch + 16, bound, &sec_len);
    if (rc == H3_QPACK_ERR_NOMEM)
        return H3_ERR_NOMEM;
    if (rc != H3_QPACK_OK)
        return H3_ERR_ARG;
    size_t hl = h3_frame_header_len(H3_FRAME_HEADERS, sec_len);
    quince_writer w = quince_writer_init(conn->scratch + 16 - hl, hl);
    h3_frame_put_header(&w, H3_FRAME_HEADERS, sec_len);
    memmove(conn->scratch, conn->scratch + 16 - hl, hl + sec_len);
    *out_len = hl + sec_len;
    /* RFC 9204 §2.1.2: inserts must be on their way before the section that uses them. */
    return h3_conn_flush_qpack(conn);
}

static int send_headers(h3_conn *conn, h3_stream *s, const h3_field *fields, size_t count, bool end)
{
    /* RFC 9114 §4.2.2: do not send what the peer announced it will refuse. */
    if (conn->peer_settings_received) {
        uint64_t size = 0;
        for (size_t i = 0; i < count; i++)
            size += (uint64_t)fields[i].name_len + fields[i].value_len + 32;
        if (size > conn->peer_settings.max_field_section_size)
            return H3_ERR_LIMIT;
    }
    if (s->out.len > 0 &&
        s->out.len + h3_qpack_encode_bound(fields, count) + 16 > conn->cfg.max_send_buffer)
        return H3_ERR_BLOCKED;
    size_t len;
    int rc = encode_headers(conn, s->id, fields, count, &len);
    if (rc != H3_OK)
        return rc;
    h3_qlog_headers(conn->qlog, true, s->id, fields, count, len);
    return h3_conn_stream_write(conn, s, conn->scratch, len, end);
}

/* RFC 9110 §9.2.1: GET, HEAD, OPTIONS and TRACE are the safe methods. */
bool h3_method_is_safe(const h3_field *m)
{
    static const char *const safe[] = {"GET", "HEAD", "OPTIONS", "TRACE"};
    if (m == NULL)
        return false;
    for (size_t i = 0; i < sizeof(safe) / sizeof(safe[0]); i++)
        if (m->value_len == strlen(safe[i]) && memcmp(m->value, safe[i], m->value_len) == 0)
            return true;
    return false;
}

/* RFC 9114 §4.1, §10.9 */
QUINCE_API int h3_conn_submit_request(h3_conn *conn, const h3_field *fields, size_t count, bool end,
                                      uint64_t *stream_id)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    if (conn->cfg.is_server || !conn->started)
        return H3_ERR_ARG;
    if (conn->goaway_received != UINT64_MAX)
        return H3_ERR_GOAWAY;
    bool is_head = false, is_connect = false;
    for (size_t i = 0; i < count; i++) {
        /* RFC 9220 §3: :protocol only once the server enabled it; draft-ietf-webtrans-http3-02
         * §3.2: its ENABLE_WEBTRANSPORT implies extended CONNECT for `webtransport`. */
        if (field_is(&fields[i], ":protocol") &&
            !(conn->peer_settings_received &&
              (conn->peer_settings.enable_connect_protocol ||
               (conn->peer_settings.enable_webtransport && fields[i].value_len == 12 &&
                memcmp(fields[i].value, "webtransport", 12) == 0))))
            return H3_ERR_ARG;
        if (field_is(&fields[i], ":method")) {
            is_head = fields[i].value_len == 4 && memcmp(fields[i].value, "HEAD", 4) == 0;
            is_connect = fields[i].value_len == 7 && memcmp(fields[i].value, "CONNECT", 7) == 0;
            /* RFC 9114 §10.9, RFC 8470 §2: only safe requests go in early data. */
            if (!h3_method_is_safe(&fields[i]) && conn->tp.early_now != NULL &&
                conn->tp.early_now(conn->tp.user))
                return H3_ERR_EARLY;
        }
    }
    uint64_t id;
    if (conn->tp.open_stream(conn->tp.user, true, &id) < 0)
        return H3_ERR_TRANSPORT;
    h3_stream *s = h3_conn_add_stream(conn, id, H3_SK_REQUEST);
    if (s == NULL)
        return H3_ERR_NOMEM;
    s->is_head = is_head;
    s->is_connect = is_connect;
    h3_frame_reader_config rc_cfg = {H3_ROLE_REQUEST, false, false, conn->cfg.max_headers_frame};
    h3_frame_reader_init(&s->reader, &rc_cfg, conn->env);
    s->reader.budget = conn->budget;
    s->reader_init = true;
    *stream_id = id;
    h3_qlog_stream_type(conn->qlog, true, id, "request", 0);
    return send_headers(conn, s, fields, count, end);
}

static h3_stream *request_stream(h3_conn *conn, uint64_t id)
{
    h3_stream *s = h3_conn_find(conn, id);
    if (s == NULL || s->kind != H3_SK_REQUEST || s->send_closed)
        return NULL;
    return s;
}

/* RFC 9114 §4.1 */
QUINCE_API int h3_conn_submit_response(h3_conn *conn, uint64_t stream_id, const h3_field *fields,
                                       size_t count, bool end)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    if (!conn->cfg.is_server)
        return H3_ERR_ARG;
    h3_stream *s = request_stream(conn, stream_id);
    if (s == NULL || s->refused)
        return H3_ERR_NO_STREAM;
    int rc = send_headers(conn, s, fields, count, end);
    if (rc == H3_OK) {
        /* RFC 9114 §4.1: any :status but 1xx is the final response. */
        for (size_t i = 0; i < count; i++)
            if (field_is(&fields[i], ":status") &&
                !(fields[i].value_len > 0 && fields[i].value[0] == '1'))
                s->response_started = true;
        h3_conn_maybe_release(conn, s);
    }
    return rc;
}

/* RFC 8470 §5.2, RFC 9114 §4.1 */
int h3_conn_refuse(h3_conn *conn, h3_stream *s)
{
    static const h3_field f[2] = {
        {(const uint8_t *)":status", 7, (const uint8_t *)"425", 3},
        {(const uint8_t *)"content-length", 14, (const uint8_t *)"0", 1},
    };
    if (s->response_started || s->send_closed)
        return H3_ERR_ARG;
    int rc = send_headers(conn, s, f, 2, true);
    if (rc != H3_OK)
        return rc;
    s->response_started = true;
    s->refused = true;
    /* The rest of the request is of no use: §4.1 asks for H3_NO_ERROR. */
    if (!s->recv_closed && !s->fin_pending) {
        if (conn->in_qpack)
            s->stop_wanted = true; /* the request's own bytes may still end it */
        else if (conn->tp.stop_sending != NULL)
            conn->tp.stop_sending(conn->tp.user, s->id, H3_NO_ERROR);
    }
    if (s->qpack_blocked) {
        s->qpack_blocked = false;
        h3_conn_qpack_cancel(conn, s->id);
    }
    s->in_len = 0;
    s->phase = H3_RP_DONE;
    return H3_OK;
}

/* RFC 8470 §5.2 */
QUINCE_API int h3_conn_refuse_early(h3_conn *conn, uint64_t stream_id)
{
    if (conn == NULL)
        return H3_ERR_ARG;
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    if (!conn->cfg.is_server)
        return H3_ERR_ARG;
    h3_stream *s = request_stream(conn, stream_id);
    if (s == NULL || s->refused)
        return H3_ERR_NO_STREAM;
    int rc = h3_conn_refuse(conn, s);
    if (rc == H3_OK)
        h3_conn_maybe_release(conn, s);
    return rc;
}

/* RFC 8470 §5.2, RFC 9001 §4.6.1 */
QUINCE_API bool h3_conn_stream_early(const h3_conn *conn, uint64_t stream_id)
{
    if (conn == NULL)
        return false;
    const h3_stream *s = h3_conn_find(conn, stream_id);
    if (s != NULL && s->early)
        return true;
    return conn->tp.stream_early != NULL && conn->tp.stream_early(conn->tp.user, stream_id);
}

/* RFC 9114 §7.2.1 */
QUINCE_API int h3_conn_send_data(h3_conn *conn, uint64_t stream_id, const uint8_t *data, size_t len,
                                 bool end)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    h3_stream *s = request_stream(conn, stream_id);
    if (s == NULL)
        return H3_ERR_NO_STREAM;
    uint8_t hdr[16];
    quince_writer w = quince_writer_init(hdr, sizeof(hdr));
    h3_frame_put_header(&w, H3_FRAME_DATA, len);
    const uint8_t *parts[2] = {hdr, data};
    size_t lens[2] = {(size_t)(w.p - hdr), len};
    if (len > 0)
        h3_qlog_frame(conn->qlog, true, stream_id, H3_FRAME_DATA, len, 0);
    int rc = len > 0 ? stream_writev(conn, s, parts, lens, 2, end)
                     : stream_writev(conn, s, parts + 1, lens + 1, 1, end);
    if (rc == H3_OK)
        h3_conn_maybe_release(conn, s);
    return rc;
}

/* RFC 9114 §4.1 */
QUINCE_API int h3_conn_send_trailers(h3_conn *conn, uint64_t stream_id, const h3_field *fields,
                                     size_t count)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    h3_stream *s = request_stream(conn, stream_id);
    if (s == NULL)
        return H3_ERR_NO_STREAM;
    int rc = send_headers(conn, s, fields, count, true);
    if (rc == H3_OK)
        h3_conn_maybe_release(conn, s);
    return rc;
}

void h3_conn_stream_error(h3_conn *conn, h3_stream *s, uint64_t code)
{
    if (!s->send_closed && conn->tp.reset_stream != NULL)
        conn->tp.reset_stream(conn->tp.user, s->id, code);
    s->send_closed = true;
    s->send_fin = false;
    quince_buf_consume(&s->out, SIZE_MAX);
    if (!s->recv_closed && conn->tp.stop_sending != NULL)
        conn->tp.stop_sending(conn->tp.user, s->id, code);
    bool was_active = s->phase != H3_RP_DONE;
    s->phase = H3_RP_DONE;
    if (s->qpack_blocked) {
        /* RFC 9204 §4.4.2: drop its blocked section and tell the encoder. */
        s->qpack_blocked = false;
        h3_conn_qpack_cancel(conn, s->id);
    }
    h3_conn_drop_input(conn, s);
    s->fin_pending = false;
    if (s->kind == H3_SK_REQUEST || s->kind == H3_SK_BIDI_PENDING || s->kind == H3_SK_EXT)
        s->kind = s->kind == H3_SK_REQUEST ? H3_SK_REQUEST : H3_SK_DISCARD;
    if (was_active && conn->cb.on_stream_reset != NULL)
        conn->cb.on_stream_reset(conn->cb.user, s->id, code, true);
}

/* RFC 9000 §3.5: RESET_STREAM (or RESET_STREAM_AT keeping reliable_size bytes, when the
 * transport can) for our side, STOP_SENDING for the peer's while it is open. */
static void reset_and_stop(h3_conn *conn, h3_stream *s, uint64_t h3_code, uint64_t reliable_size)
{
    if (!s->send_closed && reliable_size > 0 && conn->tp.reset_stream_at != NULL &&
        conn->tp.reset_stream_at(conn->tp.user, s->id, h3_code, reliable_size) >= 0)
        ; /* reset with the reliable prefix */
    else if (!s->send_closed && conn->tp.reset_stream != NULL)
        conn->tp.reset_stream(conn->tp.user, s->id, h3_code);
    s->send_closed = true;
    s->send_fin = false;
    quince_buf_consume(&s->out, SIZE_MAX);
    if (!s->recv_closed && conn->tp.stop_sending != NULL)
        conn->tp.stop_sending(conn->tp.user, s->id, h3_code);
}

/* RFC 9114 §4.1.1 */
QUINCE_API int h3_conn_reset_stream(h3_conn *conn, uint64_t stream_id, uint64_t h3_code)
{
    return h3_conn_reset_stream_at(conn, stream_id, h3_code, 0);
}

/* draft-ietf-quic-reliable-stream-reset-07 §5 */
QUINCE_API int h3_conn_reset_stream_at(h3_conn *conn, uint64_t stream_id, uint64_t h3_code,
                                       uint64_t reliable_size)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    h3_stream *s = h3_conn_find(conn, stream_id);
    if (s == NULL || (s->kind != H3_SK_REQUEST && s->kind != H3_SK_EXT))
        return H3_ERR_NO_STREAM;
    reset_and_stop(conn, s, h3_code, reliable_size);
    if (s->qpack_blocked) {
        s->qpack_blocked = false;
        h3_conn_qpack_cancel(conn, s->id);
    }
    h3_conn_drop_input(conn, s);
    s->fin_pending = false;
    s->phase = H3_RP_DONE;
    if (s->kind == H3_SK_EXT)
        s->kind = H3_SK_DISCARD;
    h3_conn_maybe_release(conn, s);
    return H3_OK;
}

/* draft-ietf-quic-reliable-stream-reset-07 §5; RFC 9000 §3.5 */
QUINCE_API int h3_conn_reset_ext_send(h3_conn *conn, uint64_t stream_id, uint64_t h3_code,
                                      uint64_t reliable_size)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    h3_stream *s = h3_conn_find(conn, stream_id);
    if (s == NULL || s->kind != H3_SK_EXT)
        return H3_ERR_NO_STREAM;
    reset_and_stop(conn, s, h3_code, reliable_size);
    h3_conn_maybe_release(conn, s);
    return H3_OK;
}

/* RFC 9114 §4.1.1: the HTTP/3 code travels as the QUIC application error code. */
QUINCE_API int h3_conn_stop_sending(h3_conn *conn, uint64_t stream_id, uint64_t h3_code)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    const h3_stream *s = h3_conn_find(conn, stream_id);
    if (s == NULL || (s->kind != H3_SK_REQUEST && s->kind != H3_SK_EXT))
        return H3_ERR_NO_STREAM;
    if (conn->tp.stop_sending != NULL &&
        conn->tp.stop_sending(conn->tp.user, stream_id, h3_code) < 0)
        return H3_ERR_TRANSPORT;
    return H3_OK;
}

/* (no RFC section) */
QUINCE_API void h3_conn_set_callbacks(h3_conn *conn, const h3_callbacks *cb)
{
    if (cb != NULL)
        conn->cb = *cb;
    else
        memset(&conn->cb, 0, sizeof(conn->cb));
}

/* (no RFC section) */
QUINCE_API const h3_callbacks *h3_conn_callbacks(const h3_conn *conn)
{
    return &conn->cb;
}

/* RFC 9114 §4.1 */
QUINCE_API int h3_conn_stream_status(const h3_conn *conn, uint64_t stream_id)
{
    const h3_stream *s = h3_conn_find(conn, stream_id);
    return s != NULL ? s->status : 0;
}

/* ---- Datagrams ---- */

/* RFC 9297 §2.1.1 */
QUINCE_API bool h3_conn_datagrams_enabled(const h3_conn *conn)
{
    const h3_settings *l = &conn->cfg.settings, *p = &conn->peer_settings;
    return (l->h3_datagram || l->h3_datagram_draft04) && conn->peer_settings_received &&
           (p->h3_datagram || p->h3_datagram_draft04);
}

/* RFC 9297 §2.1 */
QUINCE_API int h3_conn_send_datagram(h3_conn *conn, uint64_t stream_id, const uint8_t *payload,
                                     size_t len)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    if (!h3_conn_datagrams_enabled(conn) || conn->tp.send_datagram == NULL)
        return H3_ERR_DATAGRAM;
    h3_stream *s = h3_conn_find(conn, stream_id);
    /* §2.1: only while the stream's send side is open. */
    if (s == NULL || s->kind != H3_SK_REQUEST || s->send_closed)
        return H3_ERR_NO_STREAM;
    size_t pl = h3_datagram_prefix_len(stream_id);
    if (pl == 0 || len > SIZE_MAX - pl)
        return H3_ERR_ARG;
    uint8_t *buf = quince_env_alloc(conn->env, pl + len);
    if (buf == NULL)
        return H3_ERR_NOMEM;
    quince_writer w = quince_writer_init(buf, pl + len);
    h3_datagram_put_prefix(&w, stream_id);
    quince_put_bytes(&w, payload, len);
    int rc = conn->tp.send_datagram(conn->tp.user, buf, pl + len);
    quince_env_free(conn->env, buf);
    return rc < 0 ? H3_ERR_TRANSPORT : H3_OK;
}

/* ---- Extension streams ---- */

/* draft-ietf-webtrans-http3-02 §4.1, §4.2 */
QUINCE_API int h3_conn_open_ext_stream(h3_conn *conn, bool bidi, uint64_t type, uint64_t session_id,
                                       uint64_t *stream_id)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    if (!conn->started || (bidi && type != H3_FRAME_WEBTRANSPORT_STREAM))
        return H3_ERR_ARG;
    uint8_t hdr[24];
    quince_writer w = quince_writer_init(hdr, sizeof(hdr));
    if (bidi)
        h3_wt_put_bidi_header(&w, session_id);
    else if (type == H3_STREAM_WEBTRANSPORT)
        h3_uni_put_webtransport(&w, session_id);
    else
        h3_uni_put_type(&w, type);
    if (w.overflow)
        return H3_ERR_ARG;
    uint64_t id;
    if (conn->tp.open_stream(conn->tp.user, bidi, &id) < 0)
        return H3_ERR_TRANSPORT;
    h3_stream *s = h3_conn_add_stream(conn, id, H3_SK_EXT);
    if (s == NULL)
        return H3_ERR_NOMEM;
    s->ext_type = type;
    s->session_id = session_id;
    s->recv_closed = !bidi;
    *stream_id = id;
    if (bidi)
        h3_qlog_frame(conn->qlog, true, id, H3_FRAME_WEBTRANSPORT_STREAM, 0, session_id);
    else
        h3_qlog_stream_type(conn->qlog, true, id, type == H3_STREAM_WEBTRANSPORT ? "webtransport"
                                                                                : "unknown",
                            type);
    return h3_conn_stream_write(conn, s, hdr, (size_t)(w.p - hdr), false);
}

/* draft-ietf-webtrans-http3-02 §4.2 */
QUINCE_API int h3_conn_write_raw(h3_conn *conn, uint64_t stream_id, const uint8_t *data, size_t len,
                                 bool fin)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    h3_stream *s = h3_conn_find(conn, stream_id);
    if (s == NULL || s->kind != H3_SK_EXT)
        return H3_ERR_NO_STREAM;
    int rc = h3_conn_stream_write(conn, s, data, len, fin);
    if (rc == H3_OK)
        h3_conn_maybe_release(conn, s);
    return rc;
}

/* ---- GOAWAY ---- */

/* RFC 9114 §5.2 */
QUINCE_API int h3_conn_shutdown(h3_conn *conn)
{
    if (conn->error != 0)
        return H3_ERR_CLOSED;
    h3_stream *s = h3_conn_find(conn, conn->control_out);
    if (s == NULL)
        return H3_ERR_ARG;
    /* Server: the first client bidi stream not processed; client: push ID 0 (no push). */
    uint64_t id = conn->cfg.is_server ? conn->max_peer_bidi_seen : 0;
    if (conn->goaway_sent != UINT64_MAX && id > conn->goaway_sent)
        id = conn->goaway_sent; /* never increases */
    uint8_t buf[24];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    h3_frame_put_goaway(&w, id);
    conn->goaway_sent = id;
    h3_qlog_frame(conn->qlog, true, s->id, H3_FRAME_GOAWAY, (uint64_t)(w.p - buf), id);
    return h3_conn_stream_write(conn, s, buf, (size_t)(w.p - buf), false);
}

/* ---- State ---- */

/* (no RFC section) */
QUINCE_API void h3_conn_set_qlog(h3_conn *conn, struct quince_qlog *qlog)
{
    conn->qlog = qlog;
}

/* RFC 9114 §10.5; RFC 9204 §7.3 */
QUINCE_API void h3_conn_set_budget(h3_conn *conn, struct quince_budget *budget)
{
    conn->budget = budget;
    h3_qpack_decoder_set_budget(conn->dec, budget);
}

/* RFC 9114 §8 */
QUINCE_API uint64_t h3_conn_error(const h3_conn *conn)
{
    return conn->error;
}

/* RFC 9114 §7.2.4 */
QUINCE_API const h3_settings *h3_conn_peer_settings(const h3_conn *conn)
{
    return conn->peer_settings_received ? &conn->peer_settings : NULL;
}

/* RFC 9114 §5.2 */
QUINCE_API uint64_t h3_conn_goaway_received(const h3_conn *conn)
{
    return conn->goaway_received;
}

/* (no RFC section) */
QUINCE_API size_t h3_conn_stream_count(const h3_conn *conn)
{
    return conn->nstreams;
}

/* RFC 9204 §4.3 */
QUINCE_API uint64_t h3_conn_qpack_inserts_sent(const h3_conn *conn)
{
    return h3_qpack_encoder_insert_count(conn->enc);
}

/* RFC 9204 §4.3 */
QUINCE_API uint64_t h3_conn_qpack_inserts_received(const h3_conn *conn)
{
    return h3_qpack_decoder_insert_count(conn->dec);
}
