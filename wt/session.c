/* WebTransport over HTTP/3 (draft-ietf-webtrans-http3-02, -07, -13..-16): sessions, how they
 * end, and the session API (fields, protocols, datagrams sent, drain, close). */
#include <stdio.h>
#include <string.h>

#include "wt/internal.h"
#include "wt/lifetime.h"
#include "wt/session.h"
#include "wt/stream.h"

#define WT_CLOSE_CAPSULE_MAX (16 + 4 + H3_CLOSE_WT_MAX_MESSAGE)

/* ---- Termination (draft-ietf-webtrans-http3-02 §5) ---- */

void wt_session_send_fin(wt_session *s)
{
    if (s->send_done)
        return;
    s->send_done = true;
    /* Not NULL: h3 does pointer arithmetic on it even for 0 bytes. */
    static const uint8_t none[1] = {0};
    h3_conn_send_data(s->ep->h3, s->id, none, 0, true);
}

/* Drop queued datagrams and reject streams waiting for a session that will not come. */
void wt_session_drop_pending(wt_session *s)
{
    wt_session_drop_datagrams(s);
    if (s->id != UINT64_MAX)
        wt_stream_reject_buffered(s->ep, s->id);
}

/* draft-ietf-webtrans-http3-02 §5: the session is over; reset its streams,
 * send no more datagrams or streams, and close our side of the CONNECT stream. */
void wt_session_terminate(wt_session *s, uint32_t code, const uint8_t *reason, size_t len)
{
    wt_endpoint *ep = s->ep;
    wt_session_state was = s->state;
    if (was == WT_SS_CLOSED || was == WT_SS_REJECTED)
        return;
    s->state = WT_SS_CLOSED;
    wt_stream_reset_all(s);
    wt_session_drop_pending(s);
    if (was == WT_SS_OPEN)
        wt_qlog_session(s, "session_closed", ep->closing_local, code, reason, len);
    else
        wt_qlog_session(s, "session_rejected", false, (uint64_t)s->status, NULL, 0);
    if (was == WT_SS_OPEN) {
        if (ep->cb.on_session_closed != NULL)
            ep->cb.on_session_closed(ep->cb.user, s, code, reason, len);
    } else if ((was == WT_SS_CONNECTING || was == WT_SS_QUEUED) &&
               ep->cb.on_session_rejected != NULL) {
        ep->cb.on_session_rejected(ep->cb.user, s, s->status);
    }
    /* A held request has no response yet: nothing of ours to finish. */
    if (was == WT_SS_OPEN || was == WT_SS_CONNECTING)
        wt_session_send_fin(s);
    if (s->recv_done || was == WT_SS_QUEUED)
        wt_session_kill(s);
}

/* The CONNECT stream's receive side ended (FIN or reset). */
void wt_session_recv_done(wt_session *s)
{
    s->recv_done = true;
    if (s->state == WT_SS_CLOSED || s->state == WT_SS_REJECTED)
        wt_session_kill(s);
    else
        wt_session_terminate(s, 0, NULL, 0);
}

/* A capsule error makes the message malformed: reset the CONNECT stream. */
void wt_session_malformed(wt_session *s, int rc)
{
    uint64_t code = h3_wire_error_code(rc);
    if (code == 0)
        code = H3_MESSAGE_ERROR;
    h3_conn_reset_stream(s->ep->h3, s->id, code);
    s->send_done = true;
    wt_session_terminate(s, 0, NULL, 0);
    wt_session_recv_done(s);
}

/* -14 §5.6.2/§5.6.4: resetting the CONNECT stream with the code; -15/-16 say
 * "close the session with" it, read the same way (the code is an HTTP/3 one). */
void wt_session_fc_error(wt_session *s, uint64_t code, const char *why)
{
    wt_endpoint *ep = s->ep;
    if (s->state == WT_SS_CLOSED || s->state == WT_SS_REJECTED)
        return;
    if (ep->env->log != NULL) {
        char line[300];
        snprintf(line, sizeof(line), "webtransport: session %s ended (0x%llx): %s",
                 s->path != NULL ? s->path : "?", (unsigned long long)code, why);
        ep->env->log(ep->env->user, 1, line);
    }
    h3_conn_reset_stream(ep->h3, s->id, code);
    s->send_done = true;
    wt_session_terminate(s, 0, NULL, 0);
    wt_session_recv_done(s);
}

/* ---- Session API ---- */

/* draft-ietf-webtrans-http3-02 §2 */
QUINCE_API uint64_t wt_session_id(const wt_session *s)
{
    return s->id;
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API bool wt_session_is_ready(const wt_session *s)
{
    return s->state == WT_SS_OPEN;
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API const char *wt_session_path(const wt_session *s)
{
    return s->path ? s->path : "";
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API const char *wt_session_authority(const wt_session *s)
{
    return s->authority ? s->authority : "";
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API const char *wt_session_origin(const wt_session *s)
{
    return s->origin ? s->origin : "";
}

/* draft-ietf-webtrans-http3-02 §3.1 */
QUINCE_API wt_dialect wt_session_dialect(const wt_session *s)
{
    return s->dialect;
}

/* draft-ietf-webtrans-http3-16 §3.3 */
QUINCE_API size_t wt_session_protocol_count(const wt_session *s)
{
    return s->navail;
}

/* draft-ietf-webtrans-http3-16 §3.3 */
QUINCE_API const char *wt_session_protocol_at(const wt_session *s, size_t i)
{
    if (i >= s->navail)
        return NULL;
    const char *p = s->avail;
    while (i-- > 0)
        p += strlen(p) + 1;
    return p;
}

/* draft-ietf-webtrans-http3-16 §3.3 */
QUINCE_API int wt_session_select_protocol(wt_session *s, const char *p)
{
    if (!s->ep->cfg.is_server || s->state != WT_SS_HELD || p == NULL)
        return WT_ERR_STATE;
    for (size_t i = 0; i < s->navail; i++) {
        if (strcmp(wt_session_protocol_at(s, i), p) == 0) {
            quince_env_free(s->ep->env, s->protocol);
            s->protocol = wt_dup_field(s->ep, (const uint8_t *)p, strlen(p));
            return s->protocol != NULL ? WT_OK : WT_ERR_NOMEM;
        }
    }
    return WT_ERR_ARG;
}

/* draft-ietf-webtrans-http3-16 §3.3 */
QUINCE_API const char *wt_session_protocol(const wt_session *s)
{
    return s->protocol;
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API int wt_session_not_found_status(const wt_session *s)
{
    const wt_dialect_info *di = wt_dialect_get(s->dialect);
    return di != NULL ? di->not_found_status : 404;
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API int wt_session_status(const wt_session *s)
{
    return s->status;
}

/* (no RFC section) */
QUINCE_API void wt_session_set_user(wt_session *s, void *user)
{
    s->user = user;
}

/* (no RFC section) */
QUINCE_API void *wt_session_user(const wt_session *s)
{
    return s->user;
}

/* (no RFC section) */
QUINCE_API wt_endpoint *wt_session_endpoint(const wt_session *s)
{
    return s->ep;
}

/* draft-ietf-webtrans-http3-02 §4.4 */
QUINCE_API size_t wt_session_max_datagram_payload(const wt_session *s)
{
    size_t max = s->ep->cfg.max_datagram_frame;
    size_t prefix = h3_datagram_prefix_len(s->id == UINT64_MAX ? 0 : s->id);
    return max > prefix ? max - prefix : 0;
}

/* draft-ietf-webtrans-http3-02 §4.4 */
QUINCE_API int wt_session_send_datagram(wt_session *s, const uint8_t *data, size_t len)
{
    if (s->state != WT_SS_OPEN)
        return WT_ERR_STATE;
    if (len > 0 && data == NULL)
        return WT_ERR_ARG;
    size_t max = wt_session_max_datagram_payload(s);
    if (max == 0)
        return WT_ERR_DATAGRAM;
    if (len > max)
        return WT_ERR_TOO_BIG;
    static const uint8_t none[1] = {0};
    int rc = h3_conn_send_datagram(s->ep->h3, s->id, data != NULL ? data : none, len);
    if (rc == H3_OK)
        wt_qlog_datagram(s, true, len);
    if (rc == H3_ERR_DATAGRAM)
        return WT_ERR_DATAGRAM;
    if (rc == H3_ERR_NOMEM)
        return WT_ERR_NOMEM;
    return rc == H3_OK ? WT_OK : WT_ERR_H3;
}

/* draft-ietf-webtrans-http3-07 §4.6, -16 §4.7 */
QUINCE_API int wt_session_drain(wt_session *s)
{
    const wt_dialect_info *di = wt_dialect_get(s->dialect);
    if (s->state != WT_SS_OPEN || s->send_done || di == NULL || !di->has_drain)
        return WT_ERR_STATE;
    uint8_t buf[8];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    h3_capsule_put_drain(&w);
    int rc = h3_conn_send_data(s->ep->h3, s->id, buf, (size_t)(w.p - buf), false);
    return rc == H3_OK ? WT_OK : rc == H3_ERR_NOMEM ? WT_ERR_NOMEM : WT_ERR_H3;
}

/* draft-ietf-webtrans-http3-02 §5 */
QUINCE_API int wt_session_close(wt_session *s, uint32_t code, const uint8_t *reason,
                                size_t reason_len)
{
    if (reason_len > H3_CLOSE_WT_MAX_MESSAGE || (reason_len > 0 && reason == NULL))
        return WT_ERR_ARG;
    if (s->state != WT_SS_OPEN)
        return WT_ERR_STATE;
    wt_endpoint *ep = s->ep;
    /* On the heap: up to 1 KB of reason would put this frame over the 1 KB a core
     * function may take (tests/stack/check_stack.py). */
    size_t cap = WT_CLOSE_CAPSULE_MAX - H3_CLOSE_WT_MAX_MESSAGE + reason_len;
    uint8_t *buf = quince_env_alloc(ep->env, cap);
    if (buf == NULL)
        return WT_ERR_NOMEM;
    quince_writer w = quince_writer_init(buf, cap);
    if (!h3_capsule_put_close_wt(&w, code, reason, reason_len)) {
        quince_env_free(ep->env, buf);
        return WT_ERR_ARG;
    }
    wt_enter(ep);
    int rc = h3_conn_send_data(ep->h3, s->id, buf, (size_t)(w.p - buf), true);
    quince_env_free(ep->env, buf);
    s->send_done = true;
    ep->closing_local = true;
    wt_session_terminate(s, code, reason, reason_len);
    ep->closing_local = false;
    wt_leave(ep);
    return rc == H3_OK ? WT_OK : WT_ERR_H3;
}
