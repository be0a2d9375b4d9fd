/* Binding of a WebTransport endpoint (wt/wt.h) to a QUIC connection (quic/quic.h). */
#ifndef WT_QUIC_GLUE_H
#define WT_QUIC_GLUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/quic_glue.h"
#include "wt/wt.h"

/*
 * A wt_quic runs a wt_endpoint on a quic_conn: the endpoint's h3_conn writes
 * through an h3_quic transport, QUIC events go into it (wt_quic_poll), and the
 * largest DATAGRAM payload is passed on once the handshake is done. The
 * quic_conn must offer max_datagram_frame_size (RFC 9221) for datagrams.
 *
 * The embedder still drives the quic_conn (recv, send, timers). The quic_conn
 * is borrowed; free the wt_quic first.
 */
typedef struct wt_quic wt_quic;

/* Called when a stream became writable again (after h3 retried its buffered
 * output): large writes can go on. */
typedef void (*wt_quic_writable_fn)(void *user, uint64_t stream_id);

/* cfg, h3cfg (may be NULL), chain (may be NULL) and cb as for wt_endpoint_new. */
QUINCE_API wt_quic *wt_quic_new(const quince_env *env, quic_conn *qc, const wt_config *cfg,
                                const h3_config *h3cfg, const h3_callbacks *chain,
                                const wt_callbacks *cb, wt_quic_writable_fn on_writable,
                                void *writable_user);
QUINCE_API void wt_quic_free(wt_quic *w);
QUINCE_API wt_endpoint *wt_quic_endpoint(const wt_quic *w);
QUINCE_API quic_conn *wt_quic_conn(const wt_quic *w);

/* SETTINGS and QPACK streams (a client may call it before the handshake ends). */
QUINCE_API int wt_quic_start(wt_quic *w, uint64_t now);

/* One event polled by the caller: 0 when wt/h3 took it, 1 when it is the
 * caller's (HANDSHAKE_DONE, STREAM_OPENED, CLOSED), or an H3_ERR_* code. */
QUINCE_API int wt_quic_on_event(wt_quic *w, const quic_event *ev, uint64_t now);

/* Poll every pending QUIC event; HANDSHAKE_DONE (after the datagram size is
 * set), STREAM_OPENED and CLOSED go to other (may be NULL). Returns the
 * number of events or the first H3_ERR_* code. */
QUINCE_API int wt_quic_poll(wt_quic *w, uint64_t now,
                            void (*other)(void *user, const quic_event *ev), void *user);

#endif
