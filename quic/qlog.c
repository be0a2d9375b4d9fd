/* qlog for QUIC connections: JSON-SEQ records (draft-ietf-quic-qlog-main-schema-14,
 * quic-events-13). */
#include "quic/qlog.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "quic/conn_internal.h"
#include "quic/frame.h"

#define QLOG_BUF 16384

typedef struct qbuf {
    char *p;
    size_t len, cap;
    bool full;
} qbuf;

static void put(qbuf *b, const char *fmt, ...)
{
    if (b->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->full = true;
        return;
    }
    b->len += (size_t)n;
}

static bool enabled(const quic_conn *c)
{
    return c->cfg.qlog && c->env->qlog != NULL;
}

static bool begin(quic_conn *c, qbuf *b)
{
    if (c->qlog_buf == NULL) {
        c->qlog_buf = quince_env_alloc(c->env, QLOG_BUF);
        if (c->qlog_buf == NULL)
            return false;
    }
    b->p = c->qlog_buf;
    b->len = 0;
    b->cap = QLOG_BUF - 8; /* room to close the record when truncated */
    b->full = false;
    b->p[b->len++] = 0x1e;
    return true;
}

static void emit(quic_conn *c, qbuf *b)
{
    b->cap = QLOG_BUF;
    b->full = false;
    put(b, "\n");
    c->env->qlog(c->env->user, b->p, b->len);
}

static void hex(qbuf *b, const uint8_t *p, size_t n)
{
    put(b, "\"");
    for (size_t i = 0; i < n; i++)
        put(b, "%02x", p[i]);
    put(b, "\"");
}

void quic_qlog_start(quic_conn *c, uint64_t now)
{
    qbuf b;
    if (!enabled(c) || !begin(c, &b))
        return;
    (void)now;
    put(&b, "{\"file_schema\":\"urn:ietf:params:qlog:file:sequential\","
            "\"serialization_format\":\"application/qlog+json-seq\",\"title\":\"quince\","
            "\"trace\":{\"common_fields\":{\"ODCID\":");
    hex(&b, c->original_dcid.bytes, c->original_dcid.len);
    put(&b,
        ",\"time_format\":\"relative_to_epoch\",\"reference_time\":{\"clock_type\":\"monotonic\","
        "\"epoch\":\"unknown\"}},\"vantage_point\":{\"name\":\"quince\",\"type\":\"%s\"},"
        "\"event_schemas\":[\"urn:ietf:params:qlog:events:quic\"]}}",
        c->is_server ? "server" : "client");
    emit(c, &b);
}

static const char *ptype(quic_pkt_type t)
{
    switch (t) {
    case QUIC_PKT_INITIAL:
        return "initial";
    case QUIC_PKT_HANDSHAKE:
        return "handshake";
    case QUIC_PKT_0RTT:
        return "0RTT";
    case QUIC_PKT_1RTT:
        return "1RTT";
    case QUIC_PKT_RETRY:
        return "retry";
    default:
        return "unknown";
    }
}

/* draft-ietf-quic-qlog-quic-events-13 §8.13 */
static void frame_json(qbuf *b, const quic_frame *f)
{
    uint64_t t = f->type;
    if (t >= QUIC_FT_STREAM && t <= 0x0f) {
        put(b,
            "{\"frame_type\":\"stream\",\"stream_id\":%llu,\"offset\":%llu,\"fin\":%s,"
            "\"raw\":{\"payload_length\":%llu}}",
            (unsigned long long)f->u.stream.stream_id, (unsigned long long)f->u.stream.offset,
            f->u.stream.fin ? "true" : "false", (unsigned long long)f->u.stream.length);
        return;
    }
    switch (t) {
    case QUIC_FT_PADDING:
        put(b, "{\"frame_type\":\"padding\",\"raw\":{\"length\":%zu}}", f->u.padding.length);
        return;
    case QUIC_FT_PING:
        put(b, "{\"frame_type\":\"ping\"}");
        return;
    case QUIC_FT_ACK:
    case QUIC_FT_ACK_ECN: {
        put(b, "{\"frame_type\":\"ack\",\"acked_ranges\":[");
        quic_ack_iter it;
        quic_ack_iter_init(&it, &f->u.ack);
        quic_ack_range r;
        bool first = true;
        while (quic_ack_iter_next(&it, &r)) {
            put(b, "%s[%llu,%llu]", first ? "" : ",", (unsigned long long)r.smallest,
                (unsigned long long)r.largest);
            first = false;
        }
        put(b, "]}");
        return;
    }
    case QUIC_FT_CRYPTO:
        put(b, "{\"frame_type\":\"crypto\",\"offset\":%llu,\"raw\":{\"payload_length\":%llu}}",
            (unsigned long long)f->u.crypto.offset, (unsigned long long)f->u.crypto.length);
        return;
    case QUIC_FT_RESET_STREAM:
        put(b,
            "{\"frame_type\":\"reset_stream\",\"stream_id\":%llu,\"error\":\"unknown\","
            "\"error_code\":%llu,\"final_size\":%llu}",
            (unsigned long long)f->u.reset_stream.stream_id,
            (unsigned long long)f->u.reset_stream.app_error,
            (unsigned long long)f->u.reset_stream.final_size);
        return;
    case QUIC_FT_STOP_SENDING:
        put(b,
            "{\"frame_type\":\"stop_sending\",\"stream_id\":%llu,\"error\":\"unknown\","
            "\"error_code\":%llu}",
            (unsigned long long)f->u.stop_sending.stream_id,
            (unsigned long long)f->u.stop_sending.app_error);
        return;
    case QUIC_FT_MAX_DATA:
        put(b, "{\"frame_type\":\"max_data\",\"maximum\":%llu}",
            (unsigned long long)f->u.max_data.max);
        return;
    case QUIC_FT_MAX_STREAM_DATA:
        put(b, "{\"frame_type\":\"max_stream_data\",\"stream_id\":%llu,\"maximum\":%llu}",
            (unsigned long long)f->u.max_stream_data.stream_id,
            (unsigned long long)f->u.max_stream_data.max);
        return;
    case QUIC_FT_MAX_STREAMS_BIDI:
    case QUIC_FT_MAX_STREAMS_UNI:
        put(b, "{\"frame_type\":\"max_streams\",\"stream_type\":\"%s\",\"maximum\":%llu}",
            t == QUIC_FT_MAX_STREAMS_BIDI ? "bidirectional" : "unidirectional",
            (unsigned long long)f->u.max_streams.max);
        return;
    case QUIC_FT_DATA_BLOCKED:
        put(b, "{\"frame_type\":\"data_blocked\",\"limit\":%llu}",
            (unsigned long long)f->u.data_blocked.limit);
        return;
    case QUIC_FT_STREAM_DATA_BLOCKED:
        put(b, "{\"frame_type\":\"stream_data_blocked\",\"stream_id\":%llu,\"limit\":%llu}",
            (unsigned long long)f->u.stream_data_blocked.stream_id,
            (unsigned long long)f->u.stream_data_blocked.limit);
        return;
    case QUIC_FT_STREAMS_BLOCKED_BIDI:
    case QUIC_FT_STREAMS_BLOCKED_UNI:
        put(b, "{\"frame_type\":\"streams_blocked\",\"stream_type\":\"%s\",\"limit\":%llu}",
            t == QUIC_FT_STREAMS_BLOCKED_BIDI ? "bidirectional" : "unidirectional",
            (unsigned long long)f->u.streams_blocked.limit);
        return;
    case QUIC_FT_NEW_CONNECTION_ID:
        put(b,
            "{\"frame_type\":\"new_connection_id\",\"sequence_number\":%llu,"
            "\"retire_prior_to\":%llu,\"connection_id_length\":%u,\"connection_id\":",
            (unsigned long long)f->u.new_cid.seq, (unsigned long long)f->u.new_cid.retire_prior_to,
            (unsigned)f->u.new_cid.cid_len);
        hex(b, f->u.new_cid.cid, f->u.new_cid.cid_len);
        put(b, "}");
        return;
    case QUIC_FT_RETIRE_CONNECTION_ID:
        put(b, "{\"frame_type\":\"retire_connection_id\",\"sequence_number\":%llu}",
            (unsigned long long)f->u.retire_cid.seq);
        return;
    case QUIC_FT_PATH_CHALLENGE:
    case QUIC_FT_PATH_RESPONSE:
        put(b, "{\"frame_type\":\"%s\",\"data\":",
            t == QUIC_FT_PATH_CHALLENGE ? "path_challenge" : "path_response");
        hex(b, f->u.path.data, QUIC_PATH_CHALLENGE_LEN);
        put(b, "}");
        return;
    case QUIC_FT_CONNECTION_CLOSE:
    case QUIC_FT_CONNECTION_CLOSE_APP:
        put(b,
            "{\"frame_type\":\"connection_close\",\"error_space\":\"%s\",\"error_code\":%llu,"
            "\"reason_bytes\":",
            t == QUIC_FT_CONNECTION_CLOSE ? "transport" : "application",
            (unsigned long long)f->u.close.error_code);
        hex(b, f->u.close.reason, (size_t)f->u.close.reason_len);
        put(b, "}");
        return;
    case QUIC_FT_HANDSHAKE_DONE:
        put(b, "{\"frame_type\":\"handshake_done\"}");
        return;
    case QUIC_FT_NEW_TOKEN:
        put(b, "{\"frame_type\":\"new_token\"}");
        return;
    case QUIC_FT_DATAGRAM:
    case QUIC_FT_DATAGRAM_LEN:
        put(b, "{\"frame_type\":\"datagram\",\"length\":%llu}",
            (unsigned long long)f->u.datagram.length);
        return;
    default:
        put(b, "{\"frame_type\":\"unknown\",\"frame_type_bytes\":%llu}", (unsigned long long)t);
        return;
    }
}

/* draft-ietf-quic-qlog-quic-events-13 §5.5, §5.6 */
void quic_qlog_packet(quic_conn *c, bool sent, quic_pkt_type type, uint64_t pn, size_t packet_len,
                      const uint8_t *payload, size_t payload_len, uint64_t now)
{
    qbuf b;
    if (!enabled(c) || !begin(c, &b))
        return;
    put(&b,
        "{\"time\":%.3f,\"name\":\"quic:%s\",\"data\":{\"header\":{\"packet_type\":\"%s\","
        "\"packet_number\":%llu},\"raw\":{\"length\":%zu,\"payload_length\":%zu},\"frames\":[",
        (double)now / 1000.0, sent ? "packet_sent" : "packet_received", ptype(type),
        (unsigned long long)pn, packet_len, payload_len);
    size_t off = 0;
    bool first = true;
    while (off < payload_len) {
        quic_frame f;
        int n = quic_frame_decode(payload + off, payload_len - off, type, &f);
        if (n <= 0)
            break;
        size_t mark = b.len;
        if (!first)
            put(&b, ",");
        frame_json(&b, &f);
        if (b.full) {
            /* Too many frames for one record: keep the ones that fit. */
            b.len = mark;
            b.full = false;
            break;
        }
        first = false;
        off += (size_t)n;
    }
    put(&b, "]}}");
    emit(c, &b);
}

/* draft-ietf-quic-qlog-quic-events-13 §7.4 */
void quic_qlog_packet_lost(quic_conn *c, int space, uint64_t pn, uint64_t now)
{
    qbuf b;
    if (!enabled(c) || !begin(c, &b))
        return;
    put(&b,
        "{\"time\":%.3f,\"name\":\"quic:packet_lost\",\"data\":{\"header\":{\"packet_type\":\"%s\","
        "\"packet_number\":%llu}}}",
        (double)now / 1000.0,
        space == SP_INITIAL     ? "initial"
        : space == SP_HANDSHAKE ? "handshake"
                                : "1RTT",
        (unsigned long long)pn);
    emit(c, &b);
}

/* draft-ietf-quic-qlog-quic-events-13 §7.3: when the controller's state
 * changes (slow start, CSS, avoidance, recovery, application-limited). */
static void congestion_state(quic_conn *c, uint64_t now)
{
    const char *st = quic_cc_state_name(&c->cc);
    if (c->qlog_last_cc_state == st)
        return;
    qbuf b;
    if (!begin(c, &b))
        return;
    put(&b, "{\"time\":%.3f,\"name\":\"quic:congestion_state_updated\",\"data\":{",
        (double)now / 1000.0);
    if (c->qlog_last_cc_state != NULL)
        put(&b, "\"old\":\"%s\",", c->qlog_last_cc_state);
    put(&b, "\"new\":\"%s\"}}", st);
    c->qlog_last_cc_state = st;
    emit(c, &b);
}

/* draft-ietf-quic-qlog-quic-events-13 §7.2 */
void quic_qlog_metrics(quic_conn *c, uint64_t now)
{
    if (!enabled(c))
        return;
    congestion_state(c, now);
    const quic_rtt *r = quic_recovery_rtt(&c->rec);
    uint64_t cwnd = quic_cc_cwnd(&c->cc), inflight = quic_cc_bytes_in_flight(&c->cc);
    if (cwnd == c->qlog_last_cwnd && r->smoothed_rtt == c->qlog_last_srtt &&
        inflight == c->qlog_last_inflight)
        return;
    c->qlog_last_cwnd = cwnd;
    c->qlog_last_srtt = r->smoothed_rtt;
    c->qlog_last_inflight = inflight;
    qbuf b;
    if (!begin(c, &b))
        return;
    put(&b,
        "{\"time\":%.3f,\"name\":\"quic:recovery_metrics_updated\",\"data\":{\"min_rtt\":%.3f,"
        "\"smoothed_rtt\":%.3f,\"latest_rtt\":%.3f,\"rtt_variance\":%.3f,"
        "\"congestion_window\":%llu,\"bytes_in_flight\":%llu",
        (double)now / 1000.0, (double)r->min_rtt / 1000.0, (double)r->smoothed_rtt / 1000.0,
        (double)r->latest_rtt / 1000.0, (double)r->rttvar / 1000.0, (unsigned long long)cwnd,
        (unsigned long long)inflight);
    if (c->cc.ssthresh != UINT64_MAX)
        put(&b, ",\"ssthresh\":%llu", (unsigned long long)c->cc.ssthresh);
    put(&b, "}}");
    emit(c, &b);
}

void quic_qlog_free(quic_conn *c)
{
    quince_env_free(c->env, c->qlog_buf);
    c->qlog_buf = NULL;
}
