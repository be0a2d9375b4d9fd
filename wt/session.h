/* WebTransport sessions ending (draft-ietf-webtrans-http3-02 §5), wt/session.c: for the files
 * that receive (wt/stream_recv.c, wt/session_recv.c), establish (wt/connect.c) and dispatch
 * (wt/endpoint.c). */
#ifndef WT_SESSION_H
#define WT_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "wt/wt.h"

/* FIN on the CONNECT stream, once. */
void wt_session_send_fin(wt_session *s);
/* Drop queued datagrams and reject streams waiting for a session that will not come. */
void wt_session_drop_pending(wt_session *s);
/* The CONNECT stream's receive side ended. */
void wt_session_recv_done(wt_session *s);
/* End a session: reset its streams, tell the application, keep the object
 * until the CONNECT stream's receive side ends. */
void wt_session_terminate(wt_session *s, uint32_t code, const uint8_t *reason, size_t len);
/* A capsule error (rc, an H3_ code) makes the CONNECT stream's message malformed: it is
 * reset and the session ends. */
void wt_session_malformed(wt_session *s, int rc);
/* -13..-16 §5.4, §5.6.2: end the session for a flow-control violation:
 * the CONNECT stream is reset with code (WT_FLOW_CONTROL_ERROR), and why is logged. */
void wt_session_fc_error(wt_session *s, uint64_t code, const char *why);

#endif
