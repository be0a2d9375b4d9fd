/* Binding of an HTTP/3 connection (h3/h3.h) to a QUIC connection (quic/quic.h). */
#ifndef H3_QUIC_GLUE_H
#define H3_QUIC_GLUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/h3.h"
#include "quic/quic.h"

/*
 * The only place where h3/ meets quic/: h3_quic implements h3_transport on a
 * quic_conn and turns the connection's events into h3_conn_on_* calls.
 *
 * The embedder still drives the quic_conn (recv, send, timers) and polls its
 * events; each event goes to h3_quic_on_event (or h3_quic_poll polls them
 * all). Stream, reset, stop-sending, writable and datagram events are h3's;
 * HANDSHAKE_DONE, STREAM_OPENED and CLOSED are returned to the caller.
 *
 * The quic_conn is borrowed: free the h3_quic first (or at the same time),
 * and never use it after the quic_conn is gone.
 */
typedef struct h3_quic h3_quic;

/* Called after h3 has retried its buffered output on a stream that QUIC made
 * writable again: the application may write more (large bodies are produced
 * piece by piece, see h3_conn_stream_buffered). */
typedef void (*h3_quic_writable_fn)(void *user, uint64_t stream_id);

/* cfg and cb as for h3_conn_new; on_writable (may be NULL) gets cb->user.
 * NULL when out of memory or the configuration is refused. */
QUINCE_API h3_quic *h3_quic_new(const quince_env *env, quic_conn *qc, const h3_config *cfg,
                                const h3_callbacks *cb, h3_quic_writable_fn on_writable);
QUINCE_API void h3_quic_free(h3_quic *g);

/*
 * For an h3_conn created elsewhere (wt_endpoint_new makes its own): a glue
 * without an h3_conn, the h3_transport to create it with (its user is g), and
 * h3_quic_attach to bind the result. The attached h3_conn is borrowed:
 * h3_quic_free leaves it alone. on_writable gets user.
 */
QUINCE_API h3_quic *h3_quic_new_detached(const quince_env *env, quic_conn *qc,
                                         h3_quic_writable_fn on_writable, void *user);
QUINCE_API void h3_quic_transport(h3_quic *g, h3_transport *out);
QUINCE_API void h3_quic_attach(h3_quic *g, h3_conn *h3);

QUINCE_API h3_conn *h3_quic_h3(const h3_quic *g);
QUINCE_API quic_conn *h3_quic_quic(const h3_quic *g);

/* RFC 9114 §6.2.1: open the control and QPACK streams. Call once the QUIC
 * connection can open streams (a client may call it before the handshake
 * completes: the bytes wait in QUIC's buffers). */
QUINCE_API int h3_quic_start(h3_quic *g, uint64_t now);

/* The time used for calls h3 makes back into QUIC (quic_conn_close takes one). */
QUINCE_API void h3_quic_set_now(h3_quic *g, uint64_t now);

/*
 * One event polled from the quic_conn. Returns 0 when h3 took it, 1 when it
 * is the caller's (HANDSHAKE_DONE, STREAM_OPENED, CLOSED), or an H3_ERR_*
 * code (H3_ERR_CLOSED once the HTTP/3 connection failed: h3 has closed the
 * QUIC connection with its code already).
 */
QUINCE_API int h3_quic_on_event(h3_quic *g, const quic_event *ev, uint64_t now);

/* Poll every pending event; those that are the caller's go to other (may be
 * NULL). Returns the number of events, or the first H3_ERR_* code. */
QUINCE_API int h3_quic_poll(h3_quic *g, uint64_t now,
                            void (*other)(void *user, const quic_event *ev), void *user);

/* Statistics: bytes of stream data handed to h3 and taken from it, and writes
 * QUIC refused (a stream it had reset on the peer's STOP_SENDING before h3 saw
 * the event, or a closing connection): h3 keeps those bytes until the event. */
QUINCE_API uint64_t h3_quic_bytes_in(const h3_quic *g);
QUINCE_API uint64_t h3_quic_bytes_out(const h3_quic *g);
QUINCE_API uint64_t h3_quic_writes_refused(const h3_quic *g);

#endif
