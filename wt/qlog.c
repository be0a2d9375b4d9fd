/* qlog for WebTransport sessions (draft-ietf-webtrans-http3-02): session, stream and datagram
 * events in category "webtransport", through base/qlog.h. */
#include "wt/internal.h"

#include <string.h>

void wt_qlog_session(wt_session *s, const char *event, bool local, uint64_t code,
                     const uint8_t *reason, size_t reason_len)
{
    quince_qlog *q = s->ep->qlog;
    char name[64] = "webtransport:";
    size_t n = strlen(name), e = strlen(event);
    if (n + e >= sizeof(name))
        return;
    memcpy(name + n, event, e + 1);
    if (!quince_qlog_begin(q, QUINCE_QLOG_NOW, name))
        return;
    quince_qlog_u64(q, "session_id", s->id);
    quince_qlog_str(q, "owner", local ? "local" : "remote");
    if (strcmp(event, "session_established") == 0) {
        if (s->path != NULL)
            quince_qlog_str(q, "path", s->path);
        if (s->authority != NULL)
            quince_qlog_str(q, "authority", s->authority);
        if (s->origin != NULL)
            quince_qlog_str(q, "origin", s->origin);
        quince_qlog_str(q, "dialect", wt_dialect_name(s->dialect));
    } else if (strcmp(event, "session_rejected") == 0) {
        quince_qlog_u64(q, "status", code);
    } else {
        quince_qlog_u64(q, "application_code", code);
        quince_qlog_strn(q, "reason", reason, reason_len);
    }
    quince_qlog_end(q);
}

void wt_qlog_stream(wt_endpoint *ep, uint64_t session_id, uint64_t stream_id, bool bidi, bool local)
{
    quince_qlog *q = ep->qlog;
    if (!quince_qlog_begin(q, QUINCE_QLOG_NOW, "webtransport:stream_opened"))
        return;
    quince_qlog_u64(q, "session_id", session_id);
    quince_qlog_u64(q, "stream_id", stream_id);
    quince_qlog_str(q, "stream_type", bidi ? "bidirectional" : "unidirectional");
    quince_qlog_str(q, "owner", local ? "local" : "remote");
    quince_qlog_end(q);
}

void wt_qlog_datagram(wt_session *s, bool sent, size_t len)
{
    quince_qlog *q = s->ep->qlog;
    if (!quince_qlog_begin(q, QUINCE_QLOG_NOW,
                           sent ? "webtransport:datagram_sent" : "webtransport:datagram_received"))
        return;
    quince_qlog_u64(q, "session_id", s->id);
    quince_qlog_u64(q, "length", len);
    quince_qlog_end(q);
}

/* (no RFC section) */
QUINCE_API void wt_endpoint_set_qlog(wt_endpoint *ep, struct quince_qlog *qlog)
{
    ep->qlog = qlog;
}

