/* WebTransport session flow control (draft-ietf-webtrans-http3-16 §5; -13..-15 where marked):
 * the limits SETTINGS start, the flow-control capsules, the credit for stream data and streams.
 * Bookkeeping only: a violation or a grown limit comes back as a verdict for the caller. */
#include <stdio.h>
#include <string.h>

#include "wt/flow.h"
#include "wt/internal.h"

#define WT_FC_MAX_STREAMS_LIMIT (1ull << 60) /* §5.6.2: "cannot exceed 2^60" */

/* §5.1: flow control is on when the dialect has it and both sides' SETTINGS
 * declared it; then the peer's WT_INITIAL_* are our first send limits and
 * ours its (§5.5). */
void wt_fc_setup(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    const h3_settings *peer = h3_conn_peer_settings(ep->h3);
    s->fc = peer != NULL && (ep->fc_ours & WT_DIALECT_BIT(s->dialect)) &&
            wt_dialect_fc_intent(s->dialect, peer);
    if (!s->fc)
        return;
    uint64_t v;
    s->tx_max_data = h3_settings_get(peer, H3_SETTING_WT_INITIAL_MAX_DATA, &v) ? v : 0;
    s->tx_max_streams[0] =
        h3_settings_get(peer, H3_SETTING_WT_INITIAL_MAX_STREAMS_BIDI, &v) ? v : 0;
    s->tx_max_streams[1] = h3_settings_get(peer, H3_SETTING_WT_INITIAL_MAX_STREAMS_UNI, &v) ? v : 0;
    for (int i = 0; i < 2; i++)
        if (s->tx_max_streams[i] > WT_FC_MAX_STREAMS_LIMIT)
            s->tx_max_streams[i] = WT_FC_MAX_STREAMS_LIMIT;
    s->rx_max_data = ep->cfg.fc_max_data;
    s->rx_max_streams[0] = ep->cfg.fc_max_streams_bidi;
    s->rx_max_streams[1] = ep->cfg.fc_max_streams_uni;
}

bool wt_fc_is_capsule(uint64_t t)
{
    return t == H3_CAPSULE_WT_MAX_DATA || t == H3_CAPSULE_WT_MAX_STREAMS_BIDI ||
           t == H3_CAPSULE_WT_MAX_STREAMS_UNI || t == H3_CAPSULE_WT_DATA_BLOCKED ||
           t == H3_CAPSULE_WT_STREAMS_BLOCKED_BIDI || t == H3_CAPSULE_WT_STREAMS_BLOCKED_UNI;
}

/* The code a flow-control violation ends the session with: WT_FLOW_CONTROL_ERROR
 * (-14..-16 §9.5). -13 registers no such code; it is used there too. */
static uint64_t fc_code(const wt_session *s)
{
    (void)s;
    return H3_WT_FLOW_CONTROL_ERROR;
}

void wt_fc_send_capsule(wt_session *s, uint64_t type, uint64_t value)
{
    if (s->send_done || s->state != WT_SS_OPEN)
        return;
    uint8_t buf[24];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    if (!h3_capsule_put_wt_flow(&w, type, value))
        return;
    if (h3_conn_send_data(s->ep->h3, s->id, buf, (size_t)(w.p - buf), false) != H3_OK)
        return;
    if (type == H3_CAPSULE_WT_MAX_DATA)
        s->fcs.max_data_sent++;
    else if (type == H3_CAPSULE_WT_MAX_STREAMS_BIDI || type == H3_CAPSULE_WT_MAX_STREAMS_UNI)
        s->fcs.max_streams_sent++;
    else if (type == H3_CAPSULE_WT_DATA_BLOCKED)
        s->fcs.data_blocked_sent++;
    else
        s->fcs.streams_blocked_sent++;
}

/* A verdict with nothing to report. */
static void verdict_clear(wt_fc_verdict *out)
{
    out->code = 0;
    out->why[0] = 0;
    out->more_data = out->more_streams = false;
}

/* §5.6.2, §5.6.4: a received limit. -13 says nothing of a lower one (ignored,
 * as in QUIC); -14 and -15 end the session on a lower one, -16 on one that
 * does not increase. Above 2^60 streams: -15 H3_DATAGRAM_ERROR, -16
 * WT_FLOW_CONTROL_ERROR, -13/-14 say nothing (capped). False: a violation. */
static bool fc_limit_in(wt_session *s, uint64_t *cur, uint64_t v, bool streams, const char *what,
                        wt_fc_verdict *out)
{
    if (streams && v > WT_FC_MAX_STREAMS_LIMIT) {
        if (s->dialect == WT_DRAFT_15 || s->dialect == WT_DRAFT_16) {
            snprintf(out->why, sizeof(out->why), "%s of %llu streams is above 2^60", what,
                     (unsigned long long)v);
            out->code = s->dialect == WT_DRAFT_15 ? H3_DATAGRAM_ERROR : fc_code(s);
            return false;
        }
        v = WT_FC_MAX_STREAMS_LIMIT;
    }
    bool bad = s->dialect == WT_DRAFT_16 ? v <= *cur : s->dialect != WT_DRAFT_13 && v < *cur;
    if (bad) {
        snprintf(out->why, sizeof(out->why), "%s %llu after %llu (%s §5.6)", what,
                 (unsigned long long)v, (unsigned long long)*cur, wt_dialect_name(s->dialect));
        out->code = fc_code(s);
        return false;
    }
    if (v > *cur) {
        *cur = v;
        return true;
    }
    return true;
}

/* A flow-control capsule while flow control is on. False: a violation. */
bool wt_fc_capsule_in(wt_session *s, uint64_t t, uint64_t v, wt_fc_verdict *out)
{
    verdict_clear(out);
    if (t == H3_CAPSULE_WT_MAX_DATA) {
        s->fcs.max_data_received++;
        uint64_t was = s->tx_max_data;
        if (!fc_limit_in(s, &s->tx_max_data, v, false, "WT_MAX_DATA", out))
            return false;
        out->more_data = s->tx_max_data > was;
    } else if (t == H3_CAPSULE_WT_MAX_STREAMS_BIDI || t == H3_CAPSULE_WT_MAX_STREAMS_UNI) {
        int k = t == H3_CAPSULE_WT_MAX_STREAMS_UNI;
        s->fcs.max_streams_received++;
        uint64_t was = s->tx_max_streams[k];
        if (!fc_limit_in(s, &s->tx_max_streams[k], v, true, "WT_MAX_STREAMS", out))
            return false;
        out->more_streams = s->tx_max_streams[k] > was;
    } else if (t == H3_CAPSULE_WT_DATA_BLOCKED) {
        s->fcs.data_blocked_received++;
    } else {
        s->fcs.streams_blocked_received++;
        /* -16 §5.6.3: a value above 2^60 ends the session. */
        if (v > WT_FC_MAX_STREAMS_LIMIT && s->dialect == WT_DRAFT_16) {
            snprintf(out->why, sizeof(out->why), "WT_STREAMS_BLOCKED above 2^60");
            out->code = fc_code(s);
            return false;
        }
    }
    return true;
}

/* §5.6.4: body bytes received on the session's streams, delivered to the
 * application at once; the limit moves up a window ahead once half is used. */
bool wt_fc_rx_data(wt_session *s, uint64_t len, wt_fc_verdict *out)
{
    verdict_clear(out);
    if (!s->fc || len == 0)
        return true;
    s->rx_data += len;
    if (s->rx_data > s->rx_max_data) {
        snprintf(out->why, sizeof(out->why), "%llu bytes received, above WT_MAX_DATA %llu",
                 (unsigned long long)s->rx_data, (unsigned long long)s->rx_max_data);
        out->code = fc_code(s);
        return false;
    }
    uint64_t win = s->ep->cfg.fc_max_data;
    if (win > 0 && s->rx_max_data - s->rx_data < win / 2 + (win == 1)) {
        s->rx_max_data = s->rx_data + win;
        wt_fc_send_capsule(s, H3_CAPSULE_WT_MAX_DATA, s->rx_max_data);
    }
    return true;
}

/* §5.6.2: "If an endpoint receives an incoming stream for a session that would
 * exceed the advertised Maximum Streams value, it MUST close the WebTransport
 * session with a WT_FLOW_CONTROL_ERROR error code" (-15, -16). */
bool wt_fc_rx_stream(wt_session *s, bool bidi, wt_fc_verdict *out)
{
    verdict_clear(out);
    if (!s->fc)
        return true;
    int k = !bidi;
    s->rx_streams[k]++;
    if (s->rx_streams[k] > s->rx_max_streams[k]) {
        snprintf(out->why, sizeof(out->why), "%s stream %llu, above WT_MAX_STREAMS %llu",
                 bidi ? "bidirectional" : "unidirectional", (unsigned long long)s->rx_streams[k],
                 (unsigned long long)s->rx_max_streams[k]);
        out->code = fc_code(s);
        return false;
    }
    return true;
}

/* §5.6: "Endpoints SHOULD send WT_MAX_DATA and WT_MAX_STREAMS capsules as
 * they consume data or close streams": a window's worth ahead of the closed
 * ones, sent once half of it was used. */
void wt_fc_rx_stream_closed(wt_session *s, bool bidi)
{
    if (!s->fc)
        return;
    int k = !bidi;
    s->rx_streams_closed[k]++;
    uint64_t win = k == 0 ? s->ep->cfg.fc_max_streams_bidi : s->ep->cfg.fc_max_streams_uni;
    uint64_t target = s->rx_streams_closed[k] + win;
    if (target > WT_FC_MAX_STREAMS_LIMIT)
        target = WT_FC_MAX_STREAMS_LIMIT;
    if (win > 0 && target > s->rx_max_streams[k] &&
        target - s->rx_max_streams[k] >= (win + 1) / 2) {
        s->rx_max_streams[k] = target;
        wt_fc_send_capsule(
            s, k == 0 ? H3_CAPSULE_WT_MAX_STREAMS_BIDI : H3_CAPSULE_WT_MAX_STREAMS_UNI, target);
    }
}

/* draft-ietf-webtrans-http3-16 §5 */
QUINCE_API void wt_session_flow(const wt_session *s, wt_flow_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!s->fc)
        return;
    *out = s->fcs;
    out->enabled = true;
    out->peer_max_data = s->tx_max_data;
    out->data_sent = s->tx_data;
    out->peer_max_streams_bidi = s->tx_max_streams[0];
    out->peer_max_streams_uni = s->tx_max_streams[1];
    out->streams_opened_bidi = s->tx_streams[0];
    out->streams_opened_uni = s->tx_streams[1];
    out->max_data = s->rx_max_data;
    out->data_received = s->rx_data;
    out->max_streams_bidi = s->rx_max_streams[0];
    out->max_streams_uni = s->rx_max_streams[1];
    out->streams_received_bidi = s->rx_streams[0];
    out->streams_received_uni = s->rx_streams[1];
    out->held = 0;
    for (const wt_stream *st = s->ep->streams; st != NULL; st = st->next)
        if (st->session == s)
            out->held += st->held.len;
}
