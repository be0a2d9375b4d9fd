/* The HTTP/3 connection (RFC 9114) over an abstract QUIC transport: public API. */
#ifndef H3_H3_H
#define H3_H3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/h3_codes.h"
#include "h3/settings.h"
#include "base/env.h"

/*
 * h3_conn knows nothing of QUIC internals (as in nghttp3): the embedder feeds
 * it stream bytes, resets and datagrams, and it writes through a transport
 * vtable. Every entry point is sans-I/O and synchronous; callbacks run from
 * inside the h3_conn_on_* and h3_conn_* calls and must not free the
 * connection (they may call h3_conn_submit_*, h3_conn_send_* and
 * h3_conn_reset_stream).
 *
 * Connection errors are sticky: h3 calls transport.close once with the
 * HTTP/3 code, then callbacks.on_conn_error, and every later call returns
 * H3_ERR_CLOSED.
 *
 * Choices where the RFCs leave room:
 *  - Malformed messages (RFC 9114 §4.1.2) are stream errors: RESET_STREAM and
 *    STOP_SENDING with H3_MESSAGE_ERROR, on_stream_reset(local = true). A request
 *    stream that ends before its header section: H3_REQUEST_INCOMPLETE.
 *  - Too large a header section (§4.2.2): a HEADERS frame longer than
 *    cfg.max_headers_frame or a decoded section above our
 *    SETTINGS_MAX_FIELD_SECTION_SIZE is a stream error H3_EXCESSIVE_LOAD (no
 *    automatic 431); the connection goes on. We do not send sections above
 *    the peer's limit (H3_ERR_LIMIT).
 *  - Extended CONNECT (RFC 9220) streams: the DATA payload is delivered raw
 *    through on_data; the extension parses capsules with h3/capsule.h
 *    (h3_capsule_reader), and sends them with h3_conn_send_data.
 *  - HTTP Datagrams (RFC 9297) need H3_DATAGRAM (0x33 or 0xffd277) from both
 *    sides; before that, received datagrams are dropped; a malformed one
 *    closes with H3_DATAGRAM_ERROR; one for an unknown or closed stream is
 *    dropped.
 *  - Server push is never enabled: PUSH_PROMISE, a push stream or CANCEL_PUSH
 *    from a server is H3_ID_ERROR; a push stream from a client is
 *    H3_STREAM_CREATION_ERROR.
 *  - Reserved and unknown unidirectional stream types get STOP_SENDING with
 *    H3_STREAM_CREATION_ERROR (§6.2) unless on_ext_stream takes them.
 *  - A stream's state is released once both directions are done (FIN or
 *    reset each way); later calls on its ID give H3_ERR_NO_STREAM.
 *  - QPACK: an abandoned stream gets a Stream Cancellation (RFC 9204 §4.4.2);
 *    our encoder keeps a section we reset outstanding until the peer's decoder
 *    cancels or acknowledges it (forgetting it early could turn a late
 *    acknowledgment into QPACK_DECODER_STREAM_ERROR).
 *
 * Binding to quic/ (bind/bind.h, the only room that sees both): open_stream ->
 * quic_conn_open_stream, write -> quic_stream_write, reset_stream ->
 * quic_stream_reset, stop_sending -> quic_stream_stop_sending, send_datagram
 * -> quic_conn_send_datagram, close -> quic_conn_close; readable streams are
 * drained with quic_stream_read into h3_conn_on_stream_data, and reset /
 * stop-sending / writable / datagram events map to the other h3_conn_on_*.
 */

/* Library return codes (the HTTP/3 wire codes are a separate space). */
enum {
    H3_OK = 0,
    H3_ERR_ARG = -1,       /* bad argument or call in the wrong state */
    H3_ERR_NOMEM = -2,     /* the environment's allocator failed */
    H3_ERR_BLOCKED = -3,   /* the stream's send buffer is full: wait for writable */
    H3_ERR_CLOSED = -4,    /* the connection failed (see h3_conn_error) */
    H3_ERR_GOAWAY = -5,    /* client: the server sent GOAWAY, no new requests */
    H3_ERR_NO_STREAM = -6, /* unknown or finished stream */
    H3_ERR_LIMIT = -7,     /* a bound: ours, or the peer's MAX_FIELD_SECTION_SIZE */
    H3_ERR_DATAGRAM = -8,  /* HTTP Datagrams not negotiated */
    H3_ERR_TRANSPORT = -9, /* a transport callback failed */
    H3_ERR_EARLY = -10,    /* client: an unsafe request would go in early data (0-RTT) */
};

/*
 * The transport the embedder implements (maps 1:1 to quic_conn_open_stream,
 * quic_stream_write, quic_stream_reset, quic_stream_stop_sending,
 * quic_conn_send_datagram and quic_conn_close). Return < 0 on failure.
 */
typedef struct h3_transport {
    void *user;
    int (*open_stream)(void *user, bool bidi, uint64_t *stream_id);
    /* Bytes accepted (0..len); fin applies only when all len bytes were accepted.
     * h3 keeps the rest and retries on h3_conn_on_writable. */
    int64_t (*write)(void *user, uint64_t stream_id, const uint8_t *data, size_t len, bool fin);
    int (*reset_stream)(void *user, uint64_t stream_id, uint64_t h3_code);
    int (*stop_sending)(void *user, uint64_t stream_id, uint64_t h3_code);
    int (*send_datagram)(void *user, const uint8_t *data, size_t len);
    void (*close)(void *user, uint64_t h3_code, const char *reason);
    /* Optional (draft-ietf-quic-reliable-stream-reset): reset, still delivering the
     * first reliable_size bytes (quic_stream_reset_at). < 0: not possible now. */
    int (*reset_stream_at)(void *user, uint64_t stream_id, uint64_t h3_code,
                           uint64_t reliable_size);
    /* Optional (RFC 9001 §4.6.1, RFC 8470): whether bytes of the stream travelled
     * in early data (0-RTT): on a server, received ones (a replay could bring
     * them again); on a client, sent ones (quic_stream_early). NULL: never. */
    bool (*stream_early)(void *user, uint64_t stream_id);
    /* Optional, client (RFC 9001 §4.6.1): what is written now goes in early data
     * (quic_conn_early_data_ready). While it says so, h3_conn_submit_request
     * refuses requests whose method is not safe (RFC 9114 §10.9). NULL: never. */
    bool (*early_now)(void *user);
    /* Optional (RFC 9000 §4.5): after our sending side of stream_id was reset, the final
     * size the reset carries, in *size (quic_stream_reset_final_size). < 0: unknown. */
    int (*reset_final_size)(void *user, uint64_t stream_id, uint64_t *size);
} h3_transport;

/*
 * Application callbacks; any may be NULL. Pointers passed in are valid only
 * during the call.
 */
typedef struct h3_callbacks {
    void *user;
    /* A validated header section: request (server), interim or final response
     * (client, see h3_conn_stream_status), or trailers. */
    void (*on_headers)(void *user, uint64_t stream_id, const h3_field *fields, size_t count,
                       bool trailers);
    /* DATA payload bytes; on an extended CONNECT stream these are the raw capsule
     * stream (parse it with h3/capsule.h). */
    void (*on_data)(void *user, uint64_t stream_id, const uint8_t *data, size_t len);
    /* The message ended cleanly (FIN after a complete, valid message). */
    void (*on_end)(void *user, uint64_t stream_id);
    /* The stream was reset by the peer (local false) or by h3 itself for a
     * stream error such as H3_MESSAGE_ERROR (local true). */
    void (*on_stream_reset)(void *user, uint64_t stream_id, uint64_t h3_code, bool local);
    /* The peer asked us to stop sending on a stream (we reset it with the code). */
    void (*on_stop_sending)(void *user, uint64_t stream_id, uint64_t h3_code);
    /* An HTTP Datagram (RFC 9297) for an open request stream. */
    void (*on_datagram)(void *user, uint64_t stream_id, const uint8_t *payload, size_t len);
    /* The peer's SETTINGS (extensions read theirs with h3_settings_get). */
    void (*on_settings)(void *user, const h3_settings *peer);
    void (*on_goaway)(void *user, uint64_t id);
    /* The connection failed: we closed it with this code (after transport.close). */
    void (*on_conn_error)(void *user, uint64_t h3_code, const char *reason);
    /*
     * Extension hook for streams h3 does not own. type is the unidirectional
     * stream type, or H3_FRAME_WEBTRANSPORT_STREAM (0x41) for a bidirectional
     * stream that starts with it; session_id is the ID after 0x41 / 0x54, or
     * UINT64_MAX for other types. Called first with the bytes after the header
     * and then with every later piece (fin at the end). Return 0 to keep the
     * stream; anything else makes h3 discard it (STOP_SENDING, and RESET for
     * bidi, with H3_STREAM_CREATION_ERROR). Without this callback such streams
     * are discarded. Reset by the peer is reported with on_stream_reset.
     */
    int (*on_ext_stream)(void *user, uint64_t stream_id, uint64_t type, uint64_t session_id,
                         const uint8_t *data, size_t len, bool fin);
} h3_callbacks;

typedef struct h3_config {
    bool is_server;
    /* Our SETTINGS (h3_settings_set): QPACK capacity and blocked streams, max field
     * section size, ENABLE_CONNECT_PROTOCOL, H3_DATAGRAM (either codepoint) and any
     * extension settings. */
    h3_settings settings;
    /* Recognise 0x41 bidi streams and 0x54 uni streams (WebTransport) and hand
     * them to on_ext_stream with their session ID. */
    bool ext_streams;
    /* QPACK encoder: our bound on the table we build (the peer's setting caps it
     * too), and a static-table-only switch. */
    size_t qpack_encoder_capacity;
    bool qpack_static_only;
    /* Peer-initiated streams tracked at once (bidi and uni); more are refused. */
    size_t max_peer_bidi;
    size_t max_peer_uni;
    /* Bytes buffered per stream when the transport accepts fewer (send side), and
     * received bytes held while a header section waits for QPACK inserts. */
    size_t max_send_buffer;
    size_t max_recv_buffer;
    /* Largest encoded HEADERS frame accepted (H3_EXCESSIVE_LOAD beyond). */
    size_t max_headers_frame;
    /* Send a GREASE setting, frame and stream type (RFC 9114 §7.2.4.1, §7.2.8, §6.2.3). */
    bool grease;
    /* Server, RFC 9114 §10.9 and RFC 8470 §5.2: a request received in early data
     * (transport.stream_early) whose method is not safe (RFC 9110 §9.2.1: all but
     * GET, HEAD, OPTIONS and TRACE; CONNECT included) is answered 425 (Too Early)
     * by h3 itself and never reaches on_headers. On by default. Safe ones do
     * reach it: h3_conn_stream_early tells the application, which may refuse
     * them too with h3_conn_refuse_early. */
    bool refuse_unsafe_early;
} h3_config;

/* Defaults: client, no extensions, QPACK table 4096 / 16 blocked streams, max field
 * section size 16384, grease on, 128 bidi / 16 uni peer streams, 64 KiB buffers,
 * unsafe requests in early data refused. */
QUINCE_API void h3_config_init(h3_config *cfg, bool is_server);

typedef struct h3_conn h3_conn;

/* Returns a new connection, or NULL when out of memory or cfg is inconsistent. Nothing is
 * written until h3_conn_start. */
QUINCE_API h3_conn *h3_conn_new(const quince_env *env, const h3_config *cfg,
                                const h3_transport *transport, const h3_callbacks *cb);
/* Frees the connection and its streams' state (NULL: nothing to do). */
QUINCE_API void h3_conn_free(h3_conn *conn);

/* Replace the application callbacks (an extension such as wt/ takes them over
 * and forwards what is not its own to the previous ones, read with
 * h3_conn_callbacks first). Takes effect for the next event. */
QUINCE_API void h3_conn_set_callbacks(h3_conn *conn, const h3_callbacks *cb);
/* Returns the callbacks in use (never NULL). */
QUINCE_API const h3_callbacks *h3_conn_callbacks(const h3_conn *conn);

/* RFC 9114 §6.2.1: open our control stream (SETTINGS first) and the QPACK streams. Returns
 * H3_OK; H3_ERR_ARG when started already, H3_ERR_CLOSED when the transport could not open or
 * write them (the connection failed). */
QUINCE_API int h3_conn_start(h3_conn *conn);

/* ---- Input from the transport ---- */
/* Stream bytes in order (any chunking); fin marks the end. Returns H3_OK (stream errors are
 * handled inside: reset, on_stream_reset); H3_ERR_ARG for a bad stream ID, H3_ERR_CLOSED when
 * the connection failed (now or before). */
QUINCE_API int h3_conn_on_stream_data(h3_conn *conn, uint64_t stream_id, const uint8_t *data,
                                      size_t len, bool fin);
/* h3_conn_on_stream_reset's final_size when the transport does not give one. */
#define H3_FINAL_SIZE_UNKNOWN UINT64_MAX
/* The peer reset stream_id (RESET_STREAM with h3_code); final_size is the stream's final size
 * (RFC 9000 §4.5), H3_FINAL_SIZE_UNKNOWN when the transport does not say. Returns H3_OK, or
 * H3_ERR_CLOSED when the connection failed (a critical stream reset is
 * H3_CLOSED_CRITICAL_STREAM). */
QUINCE_API int h3_conn_on_stream_reset(h3_conn *conn, uint64_t stream_id, uint64_t h3_code,
                                       uint64_t final_size);
/* Inside on_stream_reset for an extension stream the peer reset: the stream's final size less
 * the stream header h3 read (the type or 0x41 and the session ID), i.e. the bytes on_ext_stream
 * got plus those the reset cut off (WebTransport -13..-16 §5.4 charge them to the session).
 * Returns false when the final size is unknown or stream_id is not such a stream. */
QUINCE_API bool h3_conn_ext_final_size(const h3_conn *conn, uint64_t stream_id, uint64_t *body);
/* The peer sent STOP_SENDING for stream_id; h3 resets its side. Returns H3_OK, or H3_ERR_CLOSED
 * when the connection failed (on a critical stream: H3_CLOSED_CRITICAL_STREAM). */
QUINCE_API int h3_conn_on_stop_sending(h3_conn *conn, uint64_t stream_id, uint64_t h3_code);
/* The payload of one QUIC DATAGRAM frame. Returns H3_OK (also when it is dropped), or
 * H3_ERR_CLOSED when the connection failed (a malformed one: H3_DATAGRAM_ERROR). */
QUINCE_API int h3_conn_on_datagram(h3_conn *conn, const uint8_t *data, size_t len);
/* The transport can take more bytes on stream_id (retry buffered output). Returns H3_OK, or
 * H3_ERR_CLOSED when the connection failed. */
QUINCE_API int h3_conn_on_writable(h3_conn *conn, uint64_t stream_id);

/* ---- Messages ---- */
/* Client: open a request stream and send HEADERS (end: FIN right after).
 * H3_ERR_EARLY when the method is not safe (RFC 9110 §9.2.1: only GET, HEAD,
 * OPTIONS and TRACE are) and the transport says it would go in early data:
 * send it once the handshake is complete (RFC 9114 §10.9, RFC 8470).
 * Returns H3_OK with the stream in *stream_id; H3_ERR_ARG on a server, before h3_conn_start or
 * for :protocol the server did not enable; H3_ERR_GOAWAY after the server's GOAWAY;
 * H3_ERR_TRANSPORT when the transport opens no stream (the peer's limit); H3_ERR_LIMIT above the
 * peer's field section size; H3_ERR_BLOCKED, H3_ERR_NOMEM, H3_ERR_CLOSED. */
QUINCE_API int h3_conn_submit_request(h3_conn *conn, const h3_field *fields, size_t count, bool end,
                                      uint64_t *stream_id);
/* Server: HEADERS on a request stream (interim 1xx responses may come first). Returns H3_OK;
 * H3_ERR_ARG on a client, H3_ERR_NO_STREAM for an unknown, finished or refused stream,
 * H3_ERR_LIMIT above the peer's field section size, H3_ERR_BLOCKED when the stream's buffer is
 * full, H3_ERR_NOMEM, H3_ERR_CLOSED. */
QUINCE_API int h3_conn_submit_response(h3_conn *conn, uint64_t stream_id, const h3_field *fields,
                                       size_t count, bool end);
/* A DATA frame (len may be 0 with end to just finish the stream). Returns H3_OK;
 * H3_ERR_NO_STREAM for an unknown stream or one whose sending side ended, H3_ERR_BLOCKED when
 * its buffer is full (wait for writable), H3_ERR_NOMEM, H3_ERR_CLOSED. */
QUINCE_API int h3_conn_send_data(h3_conn *conn, uint64_t stream_id, const uint8_t *data, size_t len,
                                 bool end);
/* Trailers end the message. Returns H3_OK or the errors of h3_conn_send_data (and H3_ERR_LIMIT
 * above the peer's field section size). */
QUINCE_API int h3_conn_send_trailers(h3_conn *conn, uint64_t stream_id, const h3_field *fields,
                                     size_t count);
/* Abort a request stream both ways (RESET_STREAM + STOP_SENDING with code). Returns H3_OK;
 * H3_ERR_NO_STREAM for an unknown stream, H3_ERR_CLOSED. */
QUINCE_API int h3_conn_reset_stream(h3_conn *conn, uint64_t stream_id, uint64_t h3_code);
/* The same, but the sending side's first reliable_size bytes still reach the peer
 * (RESET_STREAM_AT through the transport's reset_stream_at; a plain reset when the transport
 * cannot). Returns as h3_conn_reset_stream: H3_OK, H3_ERR_NO_STREAM, H3_ERR_CLOSED. */
QUINCE_API int h3_conn_reset_stream_at(h3_conn *conn, uint64_t stream_id, uint64_t h3_code,
                                       uint64_t reliable_size);
/* An extension stream's sending side only (RESET_STREAM_AT as above, or a plain reset), with
 * STOP_SENDING for the receiving side; unlike h3_conn_reset_stream(_at), what the peer still
 * sends is passed to on_ext_stream and its reset to on_stream_reset, so an extension can count
 * them (WebTransport -13..-16 §5.4). Returns H3_OK; H3_ERR_NO_STREAM for an unknown or
 * non-extension stream, H3_ERR_CLOSED. */
QUINCE_API int h3_conn_reset_ext_send(h3_conn *conn, uint64_t stream_id, uint64_t h3_code,
                                      uint64_t reliable_size);
/* RFC 9000 §3.5 (via the transport): ask the peer to stop sending on a request
 * or extension stream with code, while our sending side goes on. Received
 * bytes keep arriving until the peer's reset; h3 passes them on as before.
 * H3_ERR_CLOSED after a connection error, H3_ERR_NO_STREAM for an unknown stream.
 * Returns H3_OK, or H3_ERR_TRANSPORT when the transport refused. */
QUINCE_API int h3_conn_stop_sending(h3_conn *conn, uint64_t stream_id, uint64_t h3_code);
/* Returns the bytes buffered on the stream's send side (0 when all went to the transport, or for
 * an unknown stream). */
QUINCE_API size_t h3_conn_stream_buffered(const h3_conn *conn, uint64_t stream_id);
/* After our sending side of stream_id was reset (h3_conn_reset_stream(_at), or the peer's
 * STOP_SENDING): the final size the reset carried, as the transport says (RFC 9000 §4.5):
 * the bytes it sent, headers included. Returns false when the transport cannot say. */
QUINCE_API bool h3_conn_stream_reset_final_size(const h3_conn *conn, uint64_t stream_id,
                                                uint64_t *size);
/* Client: returns the last :status received on the stream (0 before any, or for an unknown
 * stream), e.g. 103 then 200; never fails. */
QUINCE_API int h3_conn_stream_status(const h3_conn *conn, uint64_t stream_id);

/* ---- Early data (RFC 8470, RFC 9114 §10.9) ---- */
/* Server: the request's header section arrived (at least partly) in early data,
 * so a replayed first flight could bring it again. Client: our request went
 * (at least partly) in early data; a 425 (Too Early) answer to it is to be
 * retried once the handshake is complete, never in early data again (RFC 8470
 * §5.2). Recorded when the (response) header section arrives; before that,
 * and without transport.stream_early, the transport is asked; false for an
 * unknown stream.
 * Returns that flag. */
QUINCE_API bool h3_conn_stream_early(const h3_conn *conn, uint64_t stream_id);
/* Server, RFC 8470 §5.2: answer the request with 425 (Too Early) and end the
 * response; when the request has not ended yet, ask the client to stop sending
 * it with H3_NO_ERROR (RFC 9114 §4.1). Later request bytes are dropped and the
 * stream gets no more callbacks. H3_ERR_ARG on a client or when a response was
 * already started, H3_ERR_NO_STREAM for an unknown stream, H3_ERR_CLOSED after
 * a connection error, H3_ERR_BLOCKED/H3_ERR_LIMIT as h3_conn_submit_response.
 * Returns H3_OK when the 425 was sent. */
QUINCE_API int h3_conn_refuse_early(h3_conn *conn, uint64_t stream_id);

/* ---- HTTP Datagrams (RFC 9297 §2.1) ---- */
/* Returns whether both sides sent H3_DATAGRAM (0x33 or 0xffd277) = 1. */
QUINCE_API bool h3_conn_datagrams_enabled(const h3_conn *conn);
/* An HTTP Datagram for the request stream. Returns H3_OK; H3_ERR_DATAGRAM when not negotiated,
 * H3_ERR_NO_STREAM for an unknown stream, H3_ERR_ARG for an impossible ID or length,
 * H3_ERR_TRANSPORT when the transport refused it, H3_ERR_NOMEM, H3_ERR_CLOSED. */
QUINCE_API int h3_conn_send_datagram(h3_conn *conn, uint64_t stream_id, const uint8_t *payload,
                                     size_t len);

/* ---- Extension streams ---- */
/* Open a stream for an extension: uni with type (and session_id when type is 0x54), or bidi
 * starting with 0x41 + session_id (type 0x41). Returns H3_OK with its ID in *stream_id;
 * H3_ERR_ARG for a bad type, H3_ERR_TRANSPORT when the transport opens no stream,
 * H3_ERR_BLOCKED, H3_ERR_NOMEM, H3_ERR_CLOSED. */
QUINCE_API int h3_conn_open_ext_stream(h3_conn *conn, bool bidi, uint64_t type, uint64_t session_id,
                                       uint64_t *stream_id);
/* Raw bytes on an extension stream (buffered like the others). Returns H3_OK; H3_ERR_NO_STREAM
 * for an unknown stream or one whose sending side ended, H3_ERR_BLOCKED when its buffer is full,
 * H3_ERR_NOMEM, H3_ERR_CLOSED. */
QUINCE_API int h3_conn_write_raw(h3_conn *conn, uint64_t stream_id, const uint8_t *data, size_t len,
                                 bool fin);

/* ---- Shutdown ---- */
/* RFC 9114 §5.2: send GOAWAY (server: the first request stream ID not processed; client: push ID
 * 0). May be called again to lower the ID. Returns H3_OK; H3_ERR_ARG before h3_conn_start,
 * H3_ERR_BLOCKED, H3_ERR_NOMEM, H3_ERR_CLOSED. */
QUINCE_API int h3_conn_shutdown(h3_conn *conn);
/* Close the connection with an HTTP/3 code (H3_NO_ERROR for a clean close). Returns H3_OK, or
 * H3_ERR_CLOSED when it was closed already. */
QUINCE_API int h3_conn_close(h3_conn *conn, uint64_t h3_code, const char *reason);

/* ---- State ---- */
/* Returns the HTTP/3 code the connection was closed with (by us), 0 while open. */
QUINCE_API uint64_t h3_conn_error(const h3_conn *conn);
/* Returns the name of an HTTP/3 or QPACK error code ("H3_REQUEST_REJECTED",
 * "QPACK_DECOMPRESSION_FAILED"; RFC 9114 §8.1, RFC 9204 §6), or NULL. */
QUINCE_API const char *h3_error_name(uint64_t code);
struct quince_qlog;
/* Log HTTP/3 and QPACK events into a connection's qlog trace (the binding
 * passes quic_conn_qlog's; NULL: none). The trace must outlive conn. */
QUINCE_API void h3_conn_set_qlog(h3_conn *conn, struct quince_qlog *qlog);
struct quince_budget;
/*
 * Charge what the peer makes us hold to a memory budget (base/budget.h; the binding
 * passes quic_conn_budget's, so that it counts with QUIC's own buffers; NULL: none).
 * Call before any input; the budget must outlive conn. What is charged, and what
 * happens when the budget cannot hold it (the same as past the matching bound):
 *  - a HEADERS frame being assembled on a request stream: stream error
 *    H3_EXCESSIVE_LOAD (RFC 9114 §10.5); a control-stream frame: connection error
 *    H3_EXCESSIVE_LOAD;
 *  - input held behind a blocked header section: stream error H3_EXCESSIVE_LOAD;
 *  - the QPACK decoder's dynamic table (its capacity plus the entry slots, charged
 *    when the encoder sets the capacity): connection error H3_EXCESSIVE_LOAD;
 *  - a blocked section's bytes kept by the decoder: QPACK_DECOMPRESSION_FAILED
 *    (RFC 9204 §2.1.2), as past its blocked-bytes bound;
 *  - an encoder-stream instruction being assembled: QPACK_ENCODER_STREAM_ERROR, as
 *    past its bound.
 * Our own output (h3 send buffers) is not charged: it is the application's to bound.
 */
QUINCE_API void h3_conn_set_budget(h3_conn *conn, struct quince_budget *budget);
/* Returns the peer's SETTINGS, NULL before they arrived. */
QUINCE_API const h3_settings *h3_conn_peer_settings(const h3_conn *conn);
/* Returns the GOAWAY ID received (UINT64_MAX before any). */
QUINCE_API uint64_t h3_conn_goaway_received(const h3_conn *conn);
/* Returns the number of tracked streams (tests check that state is released). */
QUINCE_API size_t h3_conn_stream_count(const h3_conn *conn);
/* QPACK statistics: each returns a count, of the inserts we made and of the inserts the peer
 * made into our decoder. */
QUINCE_API uint64_t h3_conn_qpack_inserts_sent(const h3_conn *conn);
QUINCE_API uint64_t h3_conn_qpack_inserts_received(const h3_conn *conn);

#endif
