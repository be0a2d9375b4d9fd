/* WebTransport streams from the peer (draft-ietf-webtrans-http3-02 §4.1-§4.3, §4.5): a new
 * stream tied to its session or buffered until the session comes, its bytes, its reset, and
 * STOP_SENDING on ours; each charged to the session's flow control (-13..-16 §5.4, §5.6.2). */
#include "wt/codes.h"
#include "wt/flow.h"
#include "wt/internal.h"
#include "wt/lifetime.h"
#include "wt/session.h"
#include "wt/stream.h"
#include "wt/stream_recv.h"

static uint32_t app_code(uint64_t h3_code)
{
    uint32_t c;
    return wt_error_from_http3(h3_code, &c) ? c : 0;
}

/* A flow-control verdict on s: a violation ends the session. Returns ok (false: it ended). */
static bool upheld(wt_session *s, bool ok, const wt_fc_verdict *v)
{
    if (!ok)
        wt_session_fc_error(s, v->code, v->why);
    return ok;
}

/* -13..-16 §5.4: charge len body bytes to s; false: over our limit, the session ended. */
static bool charge(wt_session *s, uint64_t len)
{
    wt_fc_verdict v;
    bool ok = wt_fc_rx_data(s, len, &v);
    return upheld(s, ok, &v);
}

/* -13..-16 §5.6.2: count a new peer stream of s; false: over our limit, the session ended. */
static bool count_stream(wt_session *s, bool bidi)
{
    wt_fc_verdict v;
    bool ok = wt_fc_rx_stream(s, bidi, &v);
    return upheld(s, ok, &v);
}

/* Bytes for an attached stream. */
static void deliver(wt_stream *st, const uint8_t *data, size_t len, bool fin)
{
    wt_endpoint *ep = st->ep;
    if (st->recv_done)
        return;
    /* -13..-16 §5.4: every body byte counts, read or dropped. */
    st->rx_body += len;
    if (!charge(st->session, len))
        return;
    if (fin)
        st->recv_done = true;
    if (!st->recv_stopped && (len > 0 || fin) && ep->cb.on_stream_data != NULL)
        ep->cb.on_stream_data(ep->cb.user, st, data, len, fin);
    wt_stream_maybe_done(st);
}

static bool buffer_bytes(wt_stream *st, const uint8_t *data, size_t len, bool fin)
{
    wt_endpoint *ep = st->ep;
    if (len > ep->cfg.max_buffered_bytes - ep->buffered_bytes)
        return false;
    /* §4.5: the allocation counts against the connection's memory; past it, as past
     * max_buffered_bytes, the stream is rejected. */
    if (!wt_buf_append_charged(ep, &st->early, &st->early_charged, data, len))
        return false;
    ep->buffered_bytes += len;
    st->buf_fin = st->buf_fin || fin;
    return true;
}

/* draft-ietf-webtrans-http3-02 §4.1, §4.2, §4.5 */
int wt_stream_on_ext(wt_endpoint *ep, uint64_t id, uint64_t type, uint64_t session_id,
                     const uint8_t *data, size_t len, bool fin)
{
    wt_stream *st = wt_stream_find(ep, id);
    if (st != NULL) {
        if (st->session != NULL) {
            deliver(st, data, len, fin);
        } else if (!buffer_bytes(st, data, len, fin)) {
            wt_stream_reject(ep, id);
            wt_stream_kill(st);
        }
        return 0;
    }
    /* §4: a session ID must be a client-initiated bidirectional stream ID. */
    if ((session_id & 3) != 0) {
        h3_conn_close(ep->h3, H3_ID_ERROR, "WebTransport session ID is not a request stream");
        return 0;
    }
    bool bidi = type == H3_FRAME_WEBTRANSPORT_STREAM;
    wt_session *s = wt_session_find(ep, session_id);
    if (s != NULL && s->state == WT_SS_OPEN) {
        if (!count_stream(s, bidi))
            return 0;
        if (s->nstreams >= ep->cfg.max_streams_per_session) {
            h3_conn_reset_stream(ep->h3, id, H3_REQUEST_REJECTED);
            wt_fc_rx_stream_closed(s, bidi);
            return 0;
        }
        st = wt_stream_new(ep, id, session_id, bidi, false);
        if (st == NULL) {
            h3_conn_reset_stream(ep->h3, id, H3_INTERNAL_ERROR);
            return 0;
        }
        wt_stream_attach(st, s);
        wt_qlog_stream(ep, s->id, id, bidi, false);
        if (ep->cb.on_stream_open != NULL)
            ep->cb.on_stream_open(ep->cb.user, s, st);
        if (!st->dead)
            deliver(st, data, len, fin);
        return 0;
    }
    /* Buffer while the session may still come: a server does not know every
     * request yet; a client only waits for its own pending sessions. */
    bool may_come =
        s != NULL ? (s->state == WT_SS_HELD || s->state == WT_SS_CONNECTING) : ep->cfg.is_server;
    if (!may_come || ep->nbuffered >= ep->cfg.max_buffered_streams) {
        wt_stream_reject(ep, id);
        return 0;
    }
    st = wt_stream_new(ep, id, session_id, bidi, false);
    if (st == NULL) {
        wt_stream_reject(ep, id);
        return 0;
    }
    ep->nbuffered++;
    if (!buffer_bytes(st, data, len, fin)) {
        wt_stream_reject(ep, id);
        wt_stream_kill(st);
    }
    return 0;
}

/* draft-ietf-webtrans-http3-02 §4.5 */
void wt_stream_flush_buffered(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    wt_stream *st;
    /* Rescan from the head each time: callbacks may open or close streams. */
    while ((st = wt_stream_first_buffered(ep, s->id)) != NULL) {
        if (s->state != WT_SS_OPEN || !count_stream(s, st->bidi)) {
            wt_stream_reject_buffered(ep, s->id); /* the session ended: the rest are rejected */
            return;
        }
        if (s->nstreams >= ep->cfg.max_streams_per_session) {
            wt_stream_reject(ep, st->id);
            wt_stream_kill(st);
            wt_fc_rx_stream_closed(s, st->bidi);
            continue;
        }
        /* Taken out of the stream first: callbacks may kill it while we deliver. */
        quince_buf early = st->early;
        bool fin = st->buf_fin;
        st->early = (quince_buf){0};
        size_t charged = st->early_charged;
        st->early_charged = 0;
        ep->nbuffered--;
        ep->buffered_bytes -= early.len;
        wt_stream_attach(st, s);
        if (st->buf_reset) {
            /* Reset before its session came: never shown to the application,
             * but the session is charged its final size (§5.4). */
            st->app_closed = true;
            st->recv_done = st->send_done = true;
            wt_stream_kill(st);
            quince_buf_free(&early, ep->env);
            quince_budget_release(ep->budget, charged);
            charge(s, st->buf_final);
            continue;
        }
        wt_qlog_stream(ep, s->id, st->id, st->bidi, false);
        if (ep->cb.on_stream_open != NULL)
            ep->cb.on_stream_open(ep->cb.user, s, st);
        if (!st->dead)
            deliver(st, early.data, early.len, fin);
        quince_buf_free(&early, ep->env);
        quince_budget_release(ep->budget, charged);
    }
}

/* draft-ietf-webtrans-http3-02 §4.3 */
bool wt_stream_on_reset(wt_endpoint *ep, uint64_t id, uint64_t h3_code)
{
    wt_stream *st = wt_stream_find(ep, id);
    if (st == NULL)
        return false;
    if (st->session == NULL) {
        /* -13..-16 §5.4: its session may still come, and then counts the
         * stream's final size: keep that (with the bytes, bounded as before). */
        uint64_t body;
        if (!st->buf_reset && h3_conn_ext_final_size(ep->h3, id, &body)) {
            st->buf_reset = true;
            st->buf_final = body;
        } else {
            wt_stream_kill(st);
        }
        return true;
    }
    if (st->recv_done)
        return true;
    st->recv_done = true;
    /* -13..-16 §5.4: the session is charged the stream's final size, not the
     * bytes that arrived: what the reset cut off counts too (both ends then
     * agree on the credit used), and past our WT_MAX_DATA it is the session's
     * WT_FLOW_CONTROL_ERROR like any other excess. */
    uint64_t body;
    if (h3_conn_ext_final_size(ep->h3, id, &body) && body > st->rx_body) {
        uint64_t cut = body - st->rx_body;
        st->rx_body = body;
        if (!charge(st->session, cut))
            return true; /* the session ended, and the stream with it */
    }
    if (!st->recv_stopped && ep->cb.on_stream_reset != NULL)
        ep->cb.on_stream_reset(ep->cb.user, st, app_code(h3_code));
    wt_stream_maybe_done(st);
    return true;
}

bool wt_stream_on_stop_sending(wt_endpoint *ep, uint64_t id, uint64_t h3_code)
{
    wt_stream *st = wt_stream_find(ep, id);
    if (st == NULL)
        return false;
    if (st->session == NULL || st->send_done)
        return true;
    /* h3 has reset our side with the same code (RFC 9000 §3.5), dropping
     * what it held; so did QUIC with what it had not sent. */
    st->send_done = true;
    wt_stream_refund_unsent(st, 0);
    if (ep->cb.on_stream_stop_sending != NULL)
        ep->cb.on_stream_stop_sending(ep->cb.user, st, app_code(h3_code));
    wt_stream_maybe_done(st);
    return true;
}
