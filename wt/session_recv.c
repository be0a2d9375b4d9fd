/* WebTransport sessions from the peer: the capsules on the CONNECT stream
 * (draft-ietf-webtrans-http3-02 §5, RFC 9297 §3; -16 §3.2: held until the session is accepted) and
 * the datagrams (draft-ietf-webtrans-http3-02 §4.4, RFC 9297 §2.1; §4.5: queued until it is
 * established). */
#include <string.h>

#include "wt/flow.h"
#include "wt/internal.h"
#include "wt/lifetime.h"
#include "wt/session.h"
#include "wt/session_recv.h"
#include "wt/stream.h"

void wt_session_datagram_in(wt_session *s, const uint8_t *data, size_t len)
{
    wt_endpoint *ep = s->ep;
    if (s->state == WT_SS_OPEN) {
        wt_qlog_datagram(s, false, len);
        if (ep->cb.on_datagram != NULL)
            ep->cb.on_datagram(ep->cb.user, s, data, len);
        return;
    }
    if (s->state != WT_SS_HELD && s->state != WT_SS_CONNECTING)
        return;
    /* §4.5: buffered up to a bound, then dropped; also dropped when the connection's
     * memory budget cannot hold it (RFC 9297 §2.1: drop or buffer briefly). */
    if (s->ndgrams >= ep->cfg.max_buffered_datagrams ||
        !quince_budget_charge(ep->budget, wt_dgram_cost(len)))
        return;
    uint8_t *c = quince_env_alloc(ep->env, wt_dgram_cost(len));
    if (c == NULL) {
        quince_budget_release(ep->budget, wt_dgram_cost(len));
        return;
    }
    if (len > 0)
        memcpy(c, data, len);
    s->dgrams[s->ndgrams].data = c;
    s->dgrams[s->ndgrams].len = len;
    s->ndgrams++;
}

/* -16 §3.2: hold CONNECT-stream bytes of a session not processed yet, within
 * max_capsule and the memory budget (charged by allocation, as early streams are). */
static bool hold_early_caps(wt_session *s, const uint8_t *data, size_t len)
{
    wt_endpoint *ep = s->ep;
    if (len > ep->cfg.max_capsule - s->early_caps.len)
        return false;
    return wt_buf_append_charged(ep, &s->early_caps, &s->early_caps_charged, data, len);
}

/* -13..-16 §5.6: a flow-control capsule while flow control is on: a violation ends the
 * session; more send credit lets held bytes go, and the application hears of it.
 * False: the session ended. */
static bool fc_capsule_in(wt_session *s, uint64_t type, uint64_t value)
{
    wt_endpoint *ep = s->ep;
    wt_fc_verdict v;
    if (!wt_fc_capsule_in(s, type, value, &v)) {
        wt_session_fc_error(s, v.code, v.why);
        return false;
    }
    if (v.more_data)
        wt_stream_flush_held(s);
    if (s->state != WT_SS_OPEN)
        return false;
    if ((v.more_data || v.more_streams) && ep->cb.on_session_credit != NULL)
        ep->cb.on_session_credit(ep->cb.user, s);
    return s->state == WT_SS_OPEN;
}

/* draft-ietf-webtrans-http3-02 §5; RFC 9297 §3 */
void wt_session_capsules_in(wt_session *s, const uint8_t *data, size_t len)
{
    wt_endpoint *ep = s->ep;
    size_t off = 0;
    if (s->state == WT_SS_HELD) {
        /* -16 §3.2: a client may send capsules before the 2xx; held (as a
         * capsule is bounded: max_capsule) until the session is accepted. */
        if (!hold_early_caps(s, data, len))
            wt_session_malformed(s, H3_WIRE_ERROR(H3_EXCESSIVE_LOAD));
        return;
    }
    while (off < len) {
        if (s->state != WT_SS_OPEN && !(s->state == WT_SS_CLOSED && s->reader.closed))
            return;
        size_t used = 0;
        h3_capsule_event ev;
        int rc = h3_capsule_reader_feed(&s->reader, data + off, len - off, &used, &ev);
        if (rc < 0) {
            /* §5: bytes after the close capsule, or a malformed capsule. */
            wt_session_malformed(s, rc);
            return;
        }
        off += used;
        if (ev.type == H3_CEV_CAPSULE) {
            const wt_dialect_info *di = wt_dialect_get(s->dialect);
            uint64_t t = ev.capsule.type;
            if (t == H3_CAPSULE_DATAGRAM) {
                wt_session_datagram_in(s, ev.capsule.value, ev.capsule.value_len);
            } else if (t == H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION) {
                wt_session_terminate(s, ev.capsule.error_code, ev.capsule.data,
                                     ev.capsule.data_len);
            } else if (t == H3_CAPSULE_WT_DRAIN_SESSION && di != NULL && di->has_drain) {
                if (s->state == WT_SS_OPEN && ep->cb.on_session_draining != NULL)
                    ep->cb.on_session_draining(ep->cb.user, s);
            } else if (wt_fc_is_capsule(t) && s->fc) {
                if (!fc_capsule_in(s, t, ev.capsule.value_int))
                    return;
            } else if ((t == H3_CAPSULE_WT_MAX_STREAM_DATA ||
                        t == H3_CAPSULE_WT_STREAM_DATA_BLOCKED) &&
                       di != NULL && di->has_flow_control) {
                /* -13..-16 §5.4: "a session error"; the drafts define it no
                 * further: the session ends as for a malformed capsule. */
                wt_session_malformed(s, H3_WIRE_ERROR(H3_MESSAGE_ERROR));
                return;
            }
            /* -13..-16 §5.1: with flow control off, WT_MAX_DATA, WT_MAX_STREAMS
             * and the *_BLOCKED capsules MUST be ignored; in earlier dialects
             * they are unknown types, skipped. */
            /* REGISTER_DATAGRAM_NO_CONTEXT (Chromium sends 0xff37a2 at once): nothing to do. */
        } else if (ev.type == H3_CEV_NONE && used == 0) {
            break;
        }
    }
    (void)ep;
}
