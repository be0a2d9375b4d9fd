/* WebTransport sessions from the peer, wt/session_recv.c: the bytes of a CONNECT stream and
 * the datagrams of a session, for wt/endpoint.c (h3's events) and wt/connect.c (what was held
 * until the session was established). */
#ifndef WT_SESSION_RECV_H
#define WT_SESSION_RECV_H

#include <stddef.h>
#include <stdint.h>

#include "wt/wt.h"

/* Bytes of s's CONNECT stream: capsules, held while s waits to be processed (-16 §3.2). */
void wt_session_capsules_in(wt_session *s, const uint8_t *data, size_t len);
/* A datagram of s: delivered when s is open, queued while it may still open (§4.5). */
void wt_session_datagram_in(wt_session *s, const uint8_t *data, size_t len);

#endif
