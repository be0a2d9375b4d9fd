/* qlog for QUIC connections: transport, recovery, security and connectivity events
 * (draft-ietf-quic-qlog-quic-events-04) in the qlog 0.3 format qvis loads. */
#include "quic/qlog.h"

#include <string.h>

#include "quic/conn_internal.h"
#include "quic/frame.h"

/* (no RFC section) */
quince_qlog *quic_conn_qlog(const quic_conn *c)
{
    return c != NULL ? c->qlog : NULL;
}

#if QUINCE_QLOG /* base/opt.h; without it the calls are inline no-ops (qlog.h) */
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

static const char *space_ptype(int space)
{
    return space == SP_INITIAL ? "initial" : space == SP_HANDSHAKE ? "handshake" : "1RTT";
}

/* The parameters of draft-ietf-quic-qlog-quic-events-04 §5.3 that a peer sets. */
static void tp_fields(quince_qlog *q, const quic_transport_params *tp)
{
    if (tp->has_original_dcid)
        quince_qlog_hex(q, "original_destination_connection_id", tp->original_dcid.bytes,
                        tp->original_dcid.len);
    if (tp->has_initial_scid)
        quince_qlog_hex(q, "initial_source_connection_id", tp->initial_scid.bytes,
                        tp->initial_scid.len);
    if (tp->has_retry_scid)
        quince_qlog_hex(q, "retry_source_connection_id", tp->retry_scid.bytes, tp->retry_scid.len);
    if (tp->has_stateless_reset_token)
        quince_qlog_hex(q, "stateless_reset_token", tp->stateless_reset_token,
                        QUIC_STATELESS_RESET_TOKEN_LEN);
    quince_qlog_bool(q, "disable_active_migration", tp->disable_active_migration);
    quince_qlog_u64(q, "max_idle_timeout", tp->max_idle_timeout);
    quince_qlog_u64(q, "max_udp_payload_size", tp->max_udp_payload_size);
    quince_qlog_u64(q, "ack_delay_exponent", tp->ack_delay_exponent);
    quince_qlog_u64(q, "max_ack_delay", tp->max_ack_delay);
    quince_qlog_u64(q, "active_connection_id_limit", tp->active_connection_id_limit);
    quince_qlog_u64(q, "initial_max_data", tp->initial_max_data);
    quince_qlog_u64(q, "initial_max_stream_data_bidi_local",
                    tp->initial_max_stream_data_bidi_local);
    quince_qlog_u64(q, "initial_max_stream_data_bidi_remote",
                    tp->initial_max_stream_data_bidi_remote);
    quince_qlog_u64(q, "initial_max_stream_data_uni", tp->initial_max_stream_data_uni);
    quince_qlog_u64(q, "initial_max_streams_bidi", tp->initial_max_streams_bidi);
    quince_qlog_u64(q, "initial_max_streams_uni", tp->initial_max_streams_uni);
    /* Extensions, by their RFC names. */
    quince_qlog_u64(q, "max_datagram_frame_size", tp->max_datagram_frame_size);
    quince_qlog_bool(q, "grease_quic_bit", tp->grease_quic_bit);
}

/* draft-ietf-quic-qlog-quic-events-04 §4.2, §5.1, §5.3, §7.1 */
void quic_qlog_start(quic_conn *c, uint64_t now)
{
    if (!c->cfg.qlog || c->qlog != NULL)
        return;
    c->qlog =
        quince_qlog_new(c->env, c->is_server, c->original_dcid.bytes, c->original_dcid.len, now);
    quince_qlog *q = c->qlog;
    if (quince_qlog_begin(q, now, "connectivity:connection_started")) {
        quince_qlog_u64(q, "ip_version", c->remote.family == 6 ? 6 : 4);
        quince_qlog_str(q, "protocol", "QUIC");
        quince_qlog_u64(q, "src_port", c->local.port);
        quince_qlog_u64(q, "dst_port", c->remote.port);
        quince_qlog_hex(q, "src_cid", c->initial_scid.bytes, c->initial_scid.len);
        quince_qlog_hex(q, "dst_cid", c->original_dcid.bytes, c->original_dcid.len);
        quince_qlog_end(q);
    }
    if (quince_qlog_begin(q, now, "transport:version_information")) {
        char v[12];
        static const char hexd[] = "0123456789abcdef";
        for (int i = 0; i < 8; i++)
            v[i] = hexd[(c->version >> (28 - 4 * i)) & 15];
        v[8] = '\0';
        quince_qlog_array(q, c->is_server ? "server_versions" : "client_versions");
        quince_qlog_str(q, NULL, v);
        quince_qlog_close(q);
        quince_qlog_str(q, "chosen_version", v);
        quince_qlog_end(q);
    }
    if (quince_qlog_begin(q, now, "recovery:parameters_set")) {
        /* RFC 9002 §6.1.1, §6.1.2, §6.2.2, §7.2, §7.6.1 */
        quince_qlog_u64(q, "reordering_threshold", 3);
        quince_qlog_ms(q, "time_threshold", 1125); /* 9/8, a multiplier */
        quince_qlog_u64(q, "timer_granularity", 1);
        quince_qlog_ms(q, "initial_rtt", quic_recovery_rtt(&c->rec)->smoothed_rtt);
        quince_qlog_u64(q, "max_datagram_size", c->cc.max_datagram_size);
        quince_qlog_u64(q, "initial_congestion_window",
                        quic_cc_initial_window(c->cc.max_datagram_size));
        quince_qlog_u64(q, "minimum_congestion_window",
                        quic_cc_minimum_window(c->cc.max_datagram_size));
        quince_qlog_ms(q, "loss_reduction_factor", 500); /* 0.5 */
        quince_qlog_u64(q, "persistent_congestion_threshold", 3);
        quince_qlog_str(q, "congestion_controller", c->cc.ops != NULL ? c->cc.ops->name : "");
        quince_qlog_end(q);
    }
    c->qlog_cc_state = NULL;
}

/* Our own transport parameters, once encoded (owner local). */
static void log_local_params(quic_conn *c, uint64_t now)
{
    quic_transport_params tp;
    uint8_t tp_buf[QUIC_TP_ENCODED_MAX]; /* encoded again: the connection keeps no copy */
    size_t tp_len = quic_conn_encode_tp(c, tp_buf, sizeof(tp_buf));
    if (tp_len == 0 || quic_tp_decode(tp_buf, tp_len, c->is_server, &tp) != QUIC_OK)
        return;
    if (quince_qlog_begin(c->qlog, now, "transport:parameters_set")) {
        quince_qlog_str(c->qlog, "owner", "local");
        tp_fields(c->qlog, &tp);
        quince_qlog_end(c->qlog);
    }
}

void quic_qlog_peer_params(quic_conn *c, uint64_t now)
{
    if (c->qlog == NULL)
        return;
    if (!c->qlog_local_params_logged) {
        c->qlog_local_params_logged = true;
        log_local_params(c, now);
    }
    if (quince_qlog_begin(c->qlog, now, "transport:parameters_set")) {
        quince_qlog_str(c->qlog, "owner", "remote");
        tp_fields(c->qlog, &c->peer_tp);
        quince_qlog_end(c->qlog);
    }
}

/* draft-ietf-quic-qlog-quic-events-04 Appendix A (QuicFrame) */
static void frame_json(quince_qlog *q, const quic_frame *f)
{
    uint64_t t = f->type;
    quince_qlog_object(q, NULL);
    if (t >= QUIC_FT_STREAM && t <= 0x0f) {
        quince_qlog_str(q, "frame_type", "stream");
        quince_qlog_u64(q, "stream_id", f->u.stream.stream_id);
        quince_qlog_u64(q, "offset", f->u.stream.offset);
        quince_qlog_u64(q, "length", f->u.stream.length);
        quince_qlog_bool(q, "fin", f->u.stream.fin);
        quince_qlog_close(q);
        return;
    }
    switch (t) {
    case QUIC_FT_PADDING:
        quince_qlog_str(q, "frame_type", "padding");
        quince_qlog_object(q, "raw");
        quince_qlog_u64(q, "length", f->u.padding.length);
        quince_qlog_close(q);
        break;
    case QUIC_FT_PING:
        quince_qlog_str(q, "frame_type", "ping");
        break;
    case QUIC_FT_ACK:
    case QUIC_FT_ACK_ECN: {
        quince_qlog_str(q, "frame_type", "ack");
        quince_qlog_u64(q, "ack_delay_raw", f->u.ack.ack_delay);
        quince_qlog_array(q, "acked_ranges");
        quic_ack_iter it;
        quic_ack_iter_init(&it, &f->u.ack);
        quic_ack_range r;
        while (quic_ack_iter_next(&it, &r)) {
            quince_qlog_array(q, NULL);
            quince_qlog_u64(q, NULL, r.smallest);
            quince_qlog_u64(q, NULL, r.largest);
            quince_qlog_close(q);
        }
        quince_qlog_close(q);
        break;
    }
    case QUIC_FT_CRYPTO:
        quince_qlog_str(q, "frame_type", "crypto");
        quince_qlog_u64(q, "offset", f->u.crypto.offset);
        quince_qlog_u64(q, "length", f->u.crypto.length);
        break;
    case QUIC_FT_RESET_STREAM:
        quince_qlog_str(q, "frame_type", "reset_stream");
        quince_qlog_u64(q, "stream_id", f->u.reset_stream.stream_id);
        quince_qlog_u64(q, "error_code", f->u.reset_stream.app_error);
        quince_qlog_u64(q, "final_size", f->u.reset_stream.final_size);
        break;
    case QUIC_FT_STOP_SENDING:
        quince_qlog_str(q, "frame_type", "stop_sending");
        quince_qlog_u64(q, "stream_id", f->u.stop_sending.stream_id);
        quince_qlog_u64(q, "error_code", f->u.stop_sending.app_error);
        break;
    case QUIC_FT_MAX_DATA:
        quince_qlog_str(q, "frame_type", "max_data");
        quince_qlog_u64(q, "maximum", f->u.max_data.max);
        break;
    case QUIC_FT_MAX_STREAM_DATA:
        quince_qlog_str(q, "frame_type", "max_stream_data");
        quince_qlog_u64(q, "stream_id", f->u.max_stream_data.stream_id);
        quince_qlog_u64(q, "maximum", f->u.max_stream_data.max);
        break;
    case QUIC_FT_MAX_STREAMS_BIDI:
    case QUIC_FT_MAX_STREAMS_UNI:
        quince_qlog_str(q, "frame_type", "max_streams");
        quince_qlog_str(q, "stream_type",
                        t == QUIC_FT_MAX_STREAMS_BIDI ? "bidirectional" : "unidirectional");
        quince_qlog_u64(q, "maximum", f->u.max_streams.max);
        break;
    case QUIC_FT_DATA_BLOCKED:
        quince_qlog_str(q, "frame_type", "data_blocked");
        quince_qlog_u64(q, "limit", f->u.data_blocked.limit);
        break;
    case QUIC_FT_STREAM_DATA_BLOCKED:
        quince_qlog_str(q, "frame_type", "stream_data_blocked");
        quince_qlog_u64(q, "stream_id", f->u.stream_data_blocked.stream_id);
        quince_qlog_u64(q, "limit", f->u.stream_data_blocked.limit);
        break;
    case QUIC_FT_STREAMS_BLOCKED_BIDI:
    case QUIC_FT_STREAMS_BLOCKED_UNI:
        quince_qlog_str(q, "frame_type", "streams_blocked");
        quince_qlog_str(q, "stream_type",
                        t == QUIC_FT_STREAMS_BLOCKED_BIDI ? "bidirectional" : "unidirectional");
        quince_qlog_u64(q, "limit", f->u.streams_blocked.limit);
        break;
    case QUIC_FT_NEW_CONNECTION_ID:
        quince_qlog_str(q, "frame_type", "new_connection_id");
        quince_qlog_u64(q, "sequence_number", f->u.new_cid.seq);
        quince_qlog_u64(q, "retire_prior_to", f->u.new_cid.retire_prior_to);
        quince_qlog_u64(q, "connection_id_length", f->u.new_cid.cid_len);
        quince_qlog_hex(q, "connection_id", f->u.new_cid.cid, f->u.new_cid.cid_len);
        break;
    case QUIC_FT_RETIRE_CONNECTION_ID:
        quince_qlog_str(q, "frame_type", "retire_connection_id");
        quince_qlog_u64(q, "sequence_number", f->u.retire_cid.seq);
        break;
    case QUIC_FT_PATH_CHALLENGE:
    case QUIC_FT_PATH_RESPONSE:
        quince_qlog_str(q, "frame_type",
                        t == QUIC_FT_PATH_CHALLENGE ? "path_challenge" : "path_response");
        quince_qlog_hex(q, "data", f->u.path.data, QUIC_PATH_CHALLENGE_LEN);
        break;
    case QUIC_FT_CONNECTION_CLOSE:
    case QUIC_FT_CONNECTION_CLOSE_APP:
        quince_qlog_str(q, "frame_type", "connection_close");
        quince_qlog_str(q, "error_space",
                        t == QUIC_FT_CONNECTION_CLOSE ? "transport" : "application");
        quince_qlog_u64(q, "error_code", f->u.close.error_code);
        if (t == QUIC_FT_CONNECTION_CLOSE)
            quince_qlog_u64(q, "trigger_frame_type", f->u.close.frame_type);
        quince_qlog_strn(q, "reason", f->u.close.reason, (size_t)f->u.close.reason_len);
        break;
    case QUIC_FT_HANDSHAKE_DONE:
        quince_qlog_str(q, "frame_type", "handshake_done");
        break;
    case QUIC_FT_NEW_TOKEN:
        quince_qlog_str(q, "frame_type", "new_token");
        break;
    case QUIC_FT_DATAGRAM:
    case QUIC_FT_DATAGRAM_LEN:
        quince_qlog_str(q, "frame_type", "datagram");
        quince_qlog_u64(q, "length", f->u.datagram.length);
        break;
    default:
        quince_qlog_str(q, "frame_type", "unknown");
        quince_qlog_u64(q, "raw_frame_type", t);
        break;
    }
    quince_qlog_close(q);
}

/* draft-ietf-quic-qlog-quic-events-04 §5.5, §5.6 */
void quic_qlog_packet(quic_conn *c, bool sent, quic_pkt_type type, uint64_t pn, size_t packet_len,
                      const uint8_t *payload, size_t payload_len, uint64_t now)
{
    quince_qlog *q = c->qlog;
    if (!quince_qlog_begin(q, now, sent ? "transport:packet_sent" : "transport:packet_received"))
        return;
    quince_qlog_object(q, "header");
    quince_qlog_str(q, "packet_type", ptype(type));
    quince_qlog_u64(q, "packet_number", pn);
    quince_qlog_close(q);
    quince_qlog_object(q, "raw");
    quince_qlog_u64(q, "length", packet_len);
    quince_qlog_u64(q, "payload_length", payload_len);
    quince_qlog_close(q);
    quince_qlog_array(q, "frames");
    size_t off = 0;
    while (off < payload_len && quince_qlog_room(q) > 512) {
        quic_frame f;
        int n = quic_frame_decode(payload + off, payload_len - off, type, &f);
        if (n <= 0)
            break;
        frame_json(q, &f);
        off += (size_t)n;
    }
    quince_qlog_close(q);
    quince_qlog_end(q);
}

/* draft-ietf-quic-qlog-quic-events-04 §5.7 */
void quic_qlog_packet_dropped(quic_conn *c, quic_pkt_type type, size_t len, const char *trigger,
                              uint64_t now)
{
    quince_qlog *q = c->qlog;
    if (!quince_qlog_begin(q, now, "transport:packet_dropped"))
        return;
    quince_qlog_object(q, "header");
    quince_qlog_str(q, "packet_type", ptype(type));
    quince_qlog_close(q);
    quince_qlog_object(q, "raw");
    quince_qlog_u64(q, "length", len);
    quince_qlog_close(q);
    quince_qlog_str(q, "trigger", trigger);
    quince_qlog_end(q);
}

/* draft-ietf-quic-qlog-quic-events-04 §7.5 */
void quic_qlog_packet_lost(quic_conn *c, int space, uint64_t pn, uint64_t now)
{
    quince_qlog *q = c->qlog;
    if (!quince_qlog_begin(q, now, "recovery:packet_lost"))
        return;
    quince_qlog_object(q, "header");
    quince_qlog_str(q, "packet_type", space_ptype(space));
    quince_qlog_u64(q, "packet_number", pn);
    quince_qlog_close(q);
    quince_qlog_end(q);
}

/* RFC 9002 §7.3's states, as draft-ietf-quic-qlog-quic-events-04 §7.3 names them. */
/* The controller's own view (quic/cc.c): recovery lasts until a packet sent
 * after the reduction is acknowledged, and application-limited counts. */
static const char *cc_state(const quic_conn *c)
{
    return quic_cc_state_name(&c->cc);
}

/* draft-ietf-quic-qlog-quic-events-04 §7.2, §7.3 */
void quic_qlog_metrics(quic_conn *c, uint64_t now)
{
    quince_qlog *q = c->qlog;
    if (q == NULL)
        return;
    const char *state = cc_state(c);
    if (state != c->qlog_cc_state &&
        quince_qlog_begin(q, now, "recovery:congestion_state_updated")) {
        if (c->qlog_cc_state != NULL)
            quince_qlog_str(q, "old", c->qlog_cc_state);
        quince_qlog_str(q, "new", state);
        quince_qlog_end(q);
        c->qlog_cc_state = state;
    }
    const quic_rtt *r = quic_recovery_rtt(&c->rec);
    uint64_t cwnd = quic_cc_cwnd(&c->cc), inflight = quic_cc_bytes_in_flight(&c->cc);
    if (cwnd == c->qlog_last_cwnd && r->smoothed_rtt == c->qlog_last_srtt &&
        inflight == c->qlog_last_inflight)
        return;
    c->qlog_last_cwnd = cwnd;
    c->qlog_last_srtt = r->smoothed_rtt;
    c->qlog_last_inflight = inflight;
    if (!quince_qlog_begin(q, now, "recovery:metrics_updated"))
        return;
    quince_qlog_ms(q, "min_rtt", r->min_rtt);
    quince_qlog_ms(q, "smoothed_rtt", r->smoothed_rtt);
    quince_qlog_ms(q, "latest_rtt", r->latest_rtt);
    quince_qlog_ms(q, "rtt_variance", r->rttvar);
    quince_qlog_u64(q, "congestion_window", cwnd);
    quince_qlog_u64(q, "bytes_in_flight", inflight);
    if (c->cc.ssthresh != UINT64_MAX)
        quince_qlog_u64(q, "ssthresh", c->cc.ssthresh);
    quince_qlog_end(q);
}

/* draft-ietf-quic-qlog-quic-events-04 §6.1 (the secrets stay in the key log) */
void quic_qlog_key_updated(quic_conn *c, int level, bool is_write, uint64_t generation,
                           const char *trigger, uint64_t now)
{
    static const char *const names[] = {"initial", "0rtt", "handshake", "1rtt"};
    quince_qlog *q = c->qlog;
    if (level < 0 || level > 3 || !quince_qlog_begin(q, now, "security:key_updated"))
        return;
    /* Whose secret: the writer's side for write keys. */
    bool server_side = is_write == c->is_server;
    char kt[40];
    size_t n = 0;
    const char *parts[] = {server_side ? "server_" : "client_", names[level], "_secret"};
    for (size_t i = 0; i < 3; i++)
        for (const char *p = parts[i]; *p != '\0' && n + 1 < sizeof(kt); p++)
            kt[n++] = *p;
    kt[n] = '\0';
    quince_qlog_str(q, "key_type", kt);
    if (generation > 0)
        quince_qlog_u64(q, "generation", generation);
    quince_qlog_str(q, "trigger", trigger);
    quince_qlog_end(q);
}

/* draft-ietf-quic-qlog-quic-events-04 §4.6 */
void quic_qlog_state(quic_conn *c, const char *new_state, uint64_t now)
{
    quince_qlog *q = c->qlog;
    if (q == NULL || new_state == c->qlog_conn_state)
        return;
    if (!quince_qlog_begin(q, now, "connectivity:connection_state_updated"))
        return;
    if (c->qlog_conn_state != NULL)
        quince_qlog_str(q, "old", c->qlog_conn_state);
    quince_qlog_str(q, "new", new_state);
    quince_qlog_end(q);
    c->qlog_conn_state = new_state;
}

/* draft-ietf-quic-qlog-quic-events-04 §4.3 */
void quic_qlog_closed(quic_conn *c, bool by_peer, bool is_app, uint64_t code, const char *reason,
                      const char *trigger, uint64_t now)
{
    quince_qlog *q = c->qlog;
    if (!quince_qlog_begin(q, now, "connectivity:connection_closed"))
        return;
    quince_qlog_str(q, "owner", by_peer ? "remote" : "local");
    quince_qlog_u64(q, is_app ? "application_code" : "connection_code", code);
    if (reason != NULL)
        quince_qlog_str(q, "reason", reason);
    quince_qlog_str(q, "trigger", trigger);
    quince_qlog_end(q);
}

/* draft-ietf-quic-qlog-quic-events-04 §4.8 */
void quic_qlog_mtu_updated(quic_conn *c, uint32_t old_mtu, uint32_t new_mtu, bool done,
                           uint64_t now)
{
    quince_qlog *q = c->qlog;
    if (!quince_qlog_begin(q, now, "connectivity:mtu_updated"))
        return;
    quince_qlog_u64(q, "old", old_mtu);
    quince_qlog_u64(q, "new", new_mtu);
    quince_qlog_bool(q, "done", done);
    quince_qlog_end(q);
}

void quic_qlog_free(quic_conn *c)
{
    quince_qlog_free(c->qlog);
    c->qlog = NULL;
}

#endif
