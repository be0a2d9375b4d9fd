/* WebTransport streams from the peer, wt/stream_recv.c: the h3 events of WebTransport streams
 * (wt/endpoint.c), and the streams that waited for a session (wt/connect.c). */
#ifndef WT_STREAM_RECV_H
#define WT_STREAM_RECV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wt/wt.h"

/* Bytes (or the start) of a WebTransport stream of the peer; returns 0 (h3's "taken"). */
int wt_stream_on_ext(wt_endpoint *ep, uint64_t id, uint64_t type, uint64_t session_id,
                     const uint8_t *data, size_t len, bool fin);
/* Returns true when id was a WebTransport stream. */
bool wt_stream_on_reset(wt_endpoint *ep, uint64_t id, uint64_t h3_code);
bool wt_stream_on_stop_sending(wt_endpoint *ep, uint64_t id, uint64_t h3_code);
/* The streams buffered for s, now open: delivered (rejected once s has ended). */
void wt_stream_flush_buffered(wt_session *s);

#endif
