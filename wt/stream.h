/* WebTransport streams, wt/stream.c: the stream objects and our sending side, for the files
 * above it (wt/session.c ends a session's streams; wt/stream_recv.c handles the peer's). */
#ifndef WT_STREAM_H
#define WT_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "wt/wt.h"

wt_stream *wt_stream_find(wt_endpoint *ep, uint64_t id);
/* A new stream linked into ep, with no session yet (NULL: no memory). */
wt_stream *wt_stream_new(wt_endpoint *ep, uint64_t id, uint64_t session_id, bool bidi, bool local);
void wt_stream_attach(wt_stream *st, wt_session *s);
/* Unlink st; the application hears on_stream_closed; freed by wt_leave. */
void wt_stream_kill(wt_stream *st);
/* Kill st once both its sides are done. */
void wt_stream_maybe_done(wt_stream *st);
/* -13..-16 §5.4: our side of st was reset: what was not sent gives its credit back. */
void wt_stream_refund_unsent(wt_stream *st, uint64_t unsent);

/* draft-02 §4.5: refuse stream id (a buffered one, or one that will not be). */
void wt_stream_reject(wt_endpoint *ep, uint64_t id);
/* The first stream buffered for session_id (NULL: none). */
wt_stream *wt_stream_first_buffered(wt_endpoint *ep, uint64_t session_id);
/* Refuse and drop every stream buffered for session_id. */
void wt_stream_reject_buffered(wt_endpoint *ep, uint64_t session_id);
/* draft-02 §5: reset and drop every stream of s. */
void wt_stream_reset_all(wt_session *s);

/* -13..-16 §5.4: held bytes of one stream (wt_endpoint_on_writable). */
void wt_stream_push_held(wt_stream *st);
/* Move held bytes of s's streams out as far as the send credit allows. */
void wt_stream_flush_held(wt_session *s);

#endif
