/* WebTransport streams (draft-ietf-webtrans-http3-02 §4.1-§4.3, §4.5): the stream objects, early
 * ones refused, the sending side under session credit and the stream API. What the peer does to
 * a stream (opens, sends, resets, stops) is wt/stream_recv.c. */
#include <string.h>

#include "wt/codes.h"
#include "wt/flow.h"
#include "wt/internal.h"
#include "wt/lifetime.h"
#include "wt/stream.h"
#include "base/varint.h"

/* draft-02 names no code for the streams of an ended session (§5 only says
 * "reset"): we use WebTransport application error 0, the code a session
 * closed without a capsule reports too. */
#define WT_SESSION_GONE_CODE 0

wt_stream *wt_stream_find(wt_endpoint *ep, uint64_t id)
{
    for (wt_stream *st = ep->streams; st != NULL; st = st->next)
        if (st->id == id)
            return st;
    return NULL;
}

wt_stream *wt_stream_new(wt_endpoint *ep, uint64_t id, uint64_t session_id, bool bidi, bool local)
{
    wt_stream *st = quince_env_alloc(ep->env, sizeof(*st));
    if (st == NULL)
        return NULL;
    memset(st, 0, sizeof(*st));
    st->ep = ep;
    st->id = id;
    st->session_id = session_id;
    st->bidi = bidi;
    st->local = local;
    st->recv_done = local && !bidi;
    st->send_done = !local && !bidi;
    st->next = ep->streams;
    ep->streams = st;
    return st;
}

void wt_stream_attach(wt_stream *st, wt_session *s)
{
    st->session = s;
    s->nstreams++;
}

/* Unlink st; the application hears on_stream_closed; freed by wt_leave. */
void wt_stream_kill(wt_stream *st)
{
    wt_endpoint *ep = st->ep;
    if (st->dead)
        return;
    for (wt_stream **p = &ep->streams; *p != NULL; p = &(*p)->next) {
        if (*p == st) {
            *p = st->next;
            break;
        }
    }
    st->dead = true;
    quince_buf_free(&st->held, ep->env);
    st->held_fin = false;
    if (st->session != NULL) {
        st->session->nstreams--;
        /* -13..-16 §5.6: a closed peer stream makes room for another. */
        if (!st->local)
            wt_fc_rx_stream_closed(st->session, st->bidi);
        if (!st->app_closed && ep->cb.on_stream_closed != NULL)
            ep->cb.on_stream_closed(ep->cb.user, st);
        st->app_closed = true;
    } else {
        ep->nbuffered--;
        ep->buffered_bytes -= st->early.len;
    }
    quince_buf_free(&st->early, ep->env);
    quince_budget_release(ep->budget, st->early_charged);
    st->early_charged = 0;
    st->next = ep->dead_streams;
    ep->dead_streams = st;
}

/* -13..-16 §5.4: the application is done with a stream whose receiving side
 * is still open under session flow control: it hears on_stream_closed now, and
 * wt keeps the stream (dropping its bytes) until the peer's reset or FIN, so
 * that the session is charged the stream's final size. */
static void stream_close_for_app(wt_stream *st)
{
    wt_endpoint *ep = st->ep;
    st->send_done = true;
    st->recv_stopped = true;
    st->app_closed = true;
    if (ep->cb.on_stream_closed != NULL)
        ep->cb.on_stream_closed(ep->cb.user, st);
}

void wt_stream_maybe_done(wt_stream *st)
{
    if (st->recv_done && st->send_done)
        wt_stream_kill(st);
}

/* §4.5: refuse a stream that cannot be tied to an established session. */
void wt_stream_reject(wt_endpoint *ep, uint64_t id)
{
    h3_conn_reset_stream(ep->h3, id, H3_WEBTRANSPORT_BUFFERED_STREAM_REJECTED);
}

wt_stream *wt_stream_first_buffered(wt_endpoint *ep, uint64_t session_id)
{
    for (wt_stream *st = ep->streams; st != NULL; st = st->next)
        if (st->session == NULL && st->session_id == session_id)
            return st;
    return NULL;
}

/* draft-ietf-webtrans-http3-02 §4.5: the session will not come (or has ended): every
 * stream buffered for it is refused. */
void wt_stream_reject_buffered(wt_endpoint *ep, uint64_t session_id)
{
    wt_stream *st;
    while ((st = wt_stream_first_buffered(ep, session_id)) != NULL) {
        wt_stream_reject(ep, st->id);
        wt_stream_kill(st);
    }
}

/* draft-ietf-webtrans-http3-02 §5: every stream of an ended session is reset. */
void wt_stream_reset_all(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    for (;;) {
        wt_stream *st = ep->streams;
        while (st != NULL && st->session != s)
            st = st->next;
        if (st == NULL)
            break;
        /* -07 §5, -16 §6: WT_SESSION_GONE, a protocol code; draft-02 has none. */
        const wt_dialect_info *di = wt_dialect_get(s->dialect);
        h3_conn_reset_stream(ep->h3, st->id,
                             di != NULL && di->dialect != WT_DRAFT_02
                                 ? H3_WT_SESSION_GONE
                                 : wt_error_to_http3(WT_SESSION_GONE_CODE));
        st->recv_done = st->send_done = true;
        wt_stream_kill(st);
    }
}

/* -13..-16 §5.4: once our side is reset, the session has used the stream's
 * final size (less our stream header), not all we wrote: bytes h3 or QUIC had
 * not sent yet give their credit back, so both ends count the same. Without
 * the transport's final size, only h3's unsent bytes (`unsent`) are known. */
void wt_stream_refund_unsent(wt_stream *st, uint64_t unsent)
{
    wt_session *s = st->session;
    if (s == NULL || !s->fc)
        return;
    uint64_t sent = st->tx_body - (unsent < st->tx_body ? unsent : st->tx_body);
    uint64_t fs;
    if (h3_conn_stream_reset_final_size(st->ep->h3, st->id, &fs)) {
        uint64_t hdr =
            st->local ? quince_varint_len(st->bidi ? H3_FRAME_WEBTRANSPORT_STREAM
                                                   : H3_STREAM_WEBTRANSPORT) +
                            quince_varint_len(st->session_id)
                      : 0;
        sent = fs > hdr ? fs - hdr : 0;
    }
    if (sent < st->tx_body) {
        uint64_t back = st->tx_body - sent;
        s->tx_data -= back < s->tx_data ? back : s->tx_data;
        st->tx_body = sent;
    }
}

/* ---- Application API ---- */

/* draft-ietf-webtrans-http3-02 §4.1, §4.2 */
QUINCE_API int wt_session_open_stream(wt_session *s, bool bidi, wt_stream **out)
{
    wt_endpoint *ep = s->ep;
    if (s->state != WT_SS_OPEN)
        return WT_ERR_STATE;
    if (s->nstreams >= ep->cfg.max_streams_per_session)
        return WT_ERR_LIMIT;
    int k = !bidi;
    if (s->fc && s->tx_streams[k] >= s->tx_max_streams[k]) {
        /* -13..-16 §5.6.3: say so, once per limit. */
        s->fcs.opens_blocked++;
        if (s->tx_streams_blocked_at[k] != s->tx_max_streams[k] + 1) {
            s->tx_streams_blocked_at[k] = s->tx_max_streams[k] + 1;
            wt_enter(ep);
            wt_fc_send_capsule(
                s, bidi ? H3_CAPSULE_WT_STREAMS_BLOCKED_BIDI : H3_CAPSULE_WT_STREAMS_BLOCKED_UNI,
                s->tx_max_streams[k]);
            wt_leave(ep);
        }
        return WT_ERR_BLOCKED;
    }
    uint64_t id;
    int rc = h3_conn_open_ext_stream(
        ep->h3, bidi, bidi ? H3_FRAME_WEBTRANSPORT_STREAM : H3_STREAM_WEBTRANSPORT, s->id, &id);
    if (rc == H3_ERR_NOMEM)
        return WT_ERR_NOMEM;
    if (rc != H3_OK)
        return WT_ERR_H3;
    if (s->fc)
        s->tx_streams[k]++; /* §5.6.2: the limit counts every stream opened */
    wt_stream *st = wt_stream_new(ep, id, s->id, bidi, true);
    if (st == NULL) {
        h3_conn_reset_stream(ep->h3, id, H3_INTERNAL_ERROR);
        return WT_ERR_NOMEM;
    }
    wt_stream_attach(st, s);
    wt_qlog_stream(ep, s->id, id, bidi, true);
    if (out != NULL)
        *out = st;
    return WT_OK;
}

/* h3's answer to a write, as a WT_ code. */
static int h3_rc(int rc)
{
    if (rc == H3_ERR_BLOCKED || rc == H3_ERR_LIMIT)
        return WT_ERR_BLOCKED;
    if (rc == H3_ERR_NOMEM)
        return WT_ERR_NOMEM;
    return rc == H3_OK ? WT_OK : WT_ERR_H3;
}

/* The largest piece of held bytes handed to h3 at once: h3 refuses a write
 * that would take its buffer past max_send_buffer unless the buffer is empty. */
#define WT_HELD_CHUNK 16384

/* -13..-16 §5.4: move held bytes to h3 as far as credit and h3 allow. */
void wt_stream_push_held(wt_stream *st)
{
    wt_endpoint *ep = st->ep;
    wt_session *s = st->session;
    while (!st->dead && s != NULL && (st->held.len > 0 || st->held_fin)) {
        uint64_t credit = s->tx_max_data - s->tx_data;
        size_t n = st->held.len < WT_HELD_CHUNK ? st->held.len : WT_HELD_CHUNK;
        if (n > credit)
            n = (size_t)credit;
        if (n == 0 && st->held.len > 0) {
            /* §5.6.5: blocked by the session limit; said once per limit. */
            if (s->tx_data_blocked_at != s->tx_max_data + 1) {
                s->tx_data_blocked_at = s->tx_max_data + 1;
                wt_fc_send_capsule(s, H3_CAPSULE_WT_DATA_BLOCKED, s->tx_max_data);
            }
            return;
        }
        bool fin = st->held_fin && n == st->held.len;
        static const uint8_t none[1] = {0};
        int rc = h3_conn_write_raw(ep->h3, st->id, n > 0 ? st->held.data : none, n, fin);
        if (rc != H3_OK)
            return; /* h3 full: wt_endpoint_on_writable tries again */
        s->tx_data += n;
        st->tx_body += n;
        quince_buf_consume(&st->held, n);
        if (fin) {
            st->held_fin = false;
            st->send_done = true;
            wt_stream_maybe_done(st);
            return;
        }
    }
}

void wt_stream_flush_held(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    /* Rescan after each stream: pushing may close (and unlink) it. */
    bool again = true;
    while (again && s->state == WT_SS_OPEN && s->tx_data < s->tx_max_data) {
        again = false;
        for (wt_stream *st = ep->streams; st != NULL; st = st->next) {
            if (st->session != s || (st->held.len == 0 && !st->held_fin))
                continue;
            size_t before = st->held.len;
            wt_stream_push_held(st);
            if (st->dead || st->held.len != before) {
                again = true;
                break;
            }
        }
    }
}

/* draft-ietf-webtrans-http3-02 §4.1, §4.2; -13..-16 §5.4 */
QUINCE_API int wt_stream_write(wt_stream *st, const uint8_t *data, size_t len, bool fin)
{
    if (st->dead || st->send_done || st->held_fin || st->session == NULL)
        return WT_ERR_STATE;
    if (len > 0 && data == NULL)
        return WT_ERR_ARG;
    wt_endpoint *ep = st->ep;
    wt_session *s = st->session;
    static const uint8_t none[1] = {0};
    if (data == NULL)
        data = none; /* h3 offsets the pointer even for 0 bytes */
    wt_enter(ep);
    int ret = WT_OK;
    if (!s->fc) {
        ret = h3_rc(h3_conn_write_raw(ep->h3, st->id, data, len, fin));
        if (ret == WT_OK && fin) {
            st->send_done = true;
            wt_stream_maybe_done(st);
        }
        wt_leave(ep);
        return ret;
    }
    /* Flow control: what the credit allows goes to h3 now (when nothing is
     * held before it), the rest is held; all or nothing. */
    bool hold_all = st->held.len > 0;
    uint64_t credit = s->tx_max_data - s->tx_data;
    size_t now = hold_all ? 0 : (len < credit ? len : (size_t)credit);
    size_t rest = len - now;
    if (rest > 0 && st->held.len + rest > ep->cfg.fc_max_held) {
        wt_leave(ep);
        return WT_ERR_BLOCKED;
    }
    if (!hold_all && (now > 0 || rest == 0)) {
        bool f = fin && rest == 0;
        ret = h3_rc(h3_conn_write_raw(ep->h3, st->id, data, now, f));
        if (ret != WT_OK) {
            wt_leave(ep);
            return ret;
        }
        s->tx_data += now;
        st->tx_body += now;
        if (f) {
            st->send_done = true;
            wt_stream_maybe_done(st);
        }
    }
    if (rest > 0 || (fin && !st->send_done)) {
        if (rest > 0 && !quince_buf_append(&st->held, ep->env, data + now, rest)) {
            wt_leave(ep);
            return now > 0 ? WT_ERR_H3 : WT_ERR_NOMEM;
        }
        st->held_fin = fin;
        if (rest > 0)
            s->fcs.writes_held++;
        wt_stream_push_held(st); /* sends WT_DATA_BLOCKED when the credit is used up */
    }
    wt_leave(ep);
    return ret;
}

/* (no RFC section) */
QUINCE_API size_t wt_stream_buffered(const wt_stream *st)
{
    return h3_conn_stream_buffered(st->ep->h3, st->id) + st->held.len;
}

/* draft-ietf-webtrans-http3-02 §4.3; -13..-16 §4.4: RESET_STREAM_AT keeps the
 * stream header (signal or type, then the session ID) reliable, on the streams
 * we opened (the only ones whose sending side starts with it). */
QUINCE_API int wt_stream_reset(wt_stream *st, uint32_t code)
{
    if (st->dead || st->session == NULL || st->send_done)
        return WT_ERR_STATE;
    wt_endpoint *ep = st->ep;
    wt_enter(ep);
    const wt_dialect_info *di = wt_dialect_get(st->session->dialect);
    uint64_t keep = 0;
    if (st->local && di != NULL && di->needs_reset_stream_at)
        keep = quince_varint_len(st->bidi ? H3_FRAME_WEBTRANSPORT_STREAM : H3_STREAM_WEBTRANSPORT) +
               quince_varint_len(st->session_id);
    uint64_t unsent = h3_conn_stream_buffered(ep->h3, st->id);
    if (st->session->fc && !st->recv_done) {
        h3_conn_reset_ext_send(ep->h3, st->id, wt_error_to_http3(code), keep);
        wt_stream_refund_unsent(st, unsent);
        stream_close_for_app(st);
    } else {
        h3_conn_reset_stream_at(ep->h3, st->id, wt_error_to_http3(code), keep);
        wt_stream_refund_unsent(st, unsent);
        st->send_done = st->recv_done = true;
        wt_stream_kill(st);
    }
    wt_leave(ep);
    return WT_OK;
}

/* draft-ietf-webtrans-http3-02 §4.3 */
QUINCE_API int wt_stream_stop_sending(wt_stream *st, uint32_t code)
{
    if (st->dead || st->session == NULL || st->recv_done || st->recv_stopped)
        return WT_ERR_STATE;
    wt_endpoint *ep = st->ep;
    uint64_t h3_code = wt_error_to_http3(code);
    wt_enter(ep);
    if (st->send_done && h3_conn_stream_buffered(ep->h3, st->id) == 0 && st->session->fc) {
        /* Nothing left to send: closed for the application, counted until the
         * peer's reset (§5.4). */
        h3_conn_stop_sending(ep->h3, st->id, h3_code);
        stream_close_for_app(st);
    } else if (st->send_done && h3_conn_stream_buffered(ep->h3, st->id) == 0) {
        /* Nothing left to send: h3 sends only STOP_SENDING and forgets the stream. */
        h3_conn_reset_stream(ep->h3, st->id, h3_code);
        st->recv_done = true;
        wt_stream_kill(st);
    } else {
        /* Keep sending; drop what arrives until the peer's RESET_STREAM. */
        h3_conn_stop_sending(ep->h3, st->id, h3_code);
        st->recv_stopped = true;
    }
    wt_leave(ep);
    return WT_OK;
}

/* (no RFC section) */
QUINCE_API uint64_t wt_stream_id(const wt_stream *st)
{
    return st->id;
}

/* draft-ietf-webtrans-http3-02 §4.2 */
QUINCE_API bool wt_stream_is_bidi(const wt_stream *st)
{
    return st->bidi;
}

/* (no RFC section) */
QUINCE_API bool wt_stream_is_local(const wt_stream *st)
{
    return st->local;
}

/* draft-ietf-webtrans-http3-02 §4.1 */
QUINCE_API wt_session *wt_stream_session(const wt_stream *st)
{
    return st->session;
}

/* (no RFC section) */
QUINCE_API void wt_stream_set_user(wt_stream *st, void *user)
{
    st->user = user;
}

/* (no RFC section) */
QUINCE_API void *wt_stream_user(const wt_stream *st)
{
    return st->user;
}
