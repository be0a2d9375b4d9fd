/* WebTransport over HTTP/3 (draft-ietf-webtrans-http3-02, -07, -13..-16), client and server:
 * public API. */
#ifndef WT_WT_H
#define WT_WT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h3/h3.h"
#include "base/env.h"

/*
 * A wt_endpoint runs WebTransport on an h3_conn that the embedder created
 * (with wt_config_h3 applied to its configuration) and still owns: it takes
 * over the h3_conn's callbacks (h3_conn_set_callbacks) and passes the events
 * that are not WebTransport's (ordinary requests, SETTINGS, GOAWAY,
 * connection errors) on to the callbacks the h3_conn had before. The
 * embedder feeds the transport's events into the h3_conn with h3_conn_on_*
 * as for plain HTTP/3, and starts it with h3_conn_start. wt knows nothing of
 * QUIC: bind/bind.h joins the two.
 *
 * The embedder MUST also enable the QUIC max_datagram_frame_size transport
 * parameter (RFC 9221) and tell wt the largest DATAGRAM payload the peer
 * accepts (wt_endpoint_set_max_datagram_frame), or datagrams cannot be sized.
 *
 * Dialects: one endpoint speaks every dialect in wt_config.dialects (draft-02,
 * -07, -13, -14, -15, -16; all by default). Its SETTINGS carry every enabled
 * dialect's settings at once, and the dialect of a session is the newest one
 * that both the peer's SETTINGS and (server) the request's :protocol token
 * offer: a client that offers only draft-02 gets draft-02. -13/-14 and
 * -15/-16 cannot be told apart on the wire; the newer enabled one is used.
 * wt_session_dialect says which was chosen.
 *
 * Sessions are refused until the peer's SETTINGS offer a common dialect: a
 * server holds CONNECT requests that arrive before the client's SETTINGS and
 * then answers 400 if they offer none (logging the reason, see
 * on_session_refused); a client queues wt_endpoint_connect until the server's
 * SETTINGS arrive and reports on_session_rejected with status 0 if they offer
 * none. A draft-02 server need not send ENABLE_CONNECT_PROTOCOL (draft-02
 * §3.2); later dialects need it.
 *
 * Origin (draft-02 §3.3, -07 and -16 §3.2): a server accepts the Origin of the
 * request when wt_config.origin_check says so, otherwise when it is in
 * allowed_origins ("*" allows any) or is the same origin as the request
 * (https + :authority, default port 443); else 403. A request without Origin
 * is 400 in draft-02 and allowed later (non-browser clients).
 *
 * Early data (-07 §3.3, -16 §3.3; RFC 8470 §5.2): no session starts in 0-RTT. A
 * CONNECT that arrived in early data (h3_conn_stream_early) is answered 425
 * (Too Early): by h3 itself (h3_config.refuse_unsafe_early, on by default), or
 * else here, reported with on_session_refused (status 425). The client may
 * send it again once the handshake is complete; ours never sends it early.
 *
 * Lifetimes: callbacks run inside h3_conn_on_* and wt_* calls. A wt_session
 * stays valid until on_session_closed (or on_session_rejected) returns; a
 * wt_stream until on_stream_closed returns. Objects are freed when the
 * outermost wt/h3 call returns, so callbacks may call any wt_* function
 * (except wt_endpoint_free). Error codes are 32-bit WebTransport application
 * codes; on the wire they are mapped with wt_error_to_http3 (wt/codes.h, §4.3). A reset
 * or STOP_SENDING code outside the WebTransport range is reported as 0.
 */

enum {
    WT_OK = 0,
    WT_ERR_ARG = -1,      /* bad argument (e.g. a close reason over 1024 bytes) */
    WT_ERR_NOMEM = -2,    /* the environment's allocator failed */
    WT_ERR_STATE = -3,    /* session not established / closed, or stream side finished */
    WT_ERR_LIMIT = -4,    /* a configured bound (sessions, streams per session) */
    WT_ERR_BLOCKED = -5,  /* the stream's send buffer is full: retry later */
    WT_ERR_TOO_BIG = -6,  /* datagram larger than wt_session_max_datagram_payload */
    WT_ERR_H3 = -7,       /* the HTTP/3 layer failed (connection closed) */
    WT_ERR_DATAGRAM = -8, /* HTTP Datagrams not negotiated or size unknown */
};

/* The dialects (draft-ietf-webtrans-http3-NN); the value is NN. */
typedef enum wt_dialect {
    WT_DIALECT_NONE = 0,
    WT_DRAFT_02 = 2,
    WT_DRAFT_07 = 7,
    WT_DRAFT_13 = 13,
    WT_DRAFT_14 = 14,
    WT_DRAFT_15 = 15,
    WT_DRAFT_16 = 16,
} wt_dialect;
#define WT_DIALECT_BIT(d) (1u << (unsigned)(d))
#define WT_DIALECTS_ALL                                                                            \
    (WT_DIALECT_BIT(WT_DRAFT_02) | WT_DIALECT_BIT(WT_DRAFT_07) | WT_DIALECT_BIT(WT_DRAFT_13) |     \
     WT_DIALECT_BIT(WT_DRAFT_14) | WT_DIALECT_BIT(WT_DRAFT_15) | WT_DIALECT_BIT(WT_DRAFT_16))

/* Returns the dialect's name: "draft-02" ... "draft-16", "none" (never NULL). */
QUINCE_API const char *wt_dialect_name(wt_dialect d);

typedef struct wt_endpoint wt_endpoint;
typedef struct wt_session wt_session;
typedef struct wt_stream wt_stream;

/* Application callbacks; any may be NULL. Pointers passed in are valid only during the call. */
typedef struct wt_callbacks {
    void *user;
    /* Server: an extended CONNECT with the dialect's :protocol token, :scheme
     * https, :authority, :path and an Origin the policy allows (else 400 or
     * 403 without asking). Read wt_session_path/origin/authority/dialect;
     * return a 2xx status to accept (answered 200, with
     * sec-webtransport-http3-draft: draft02 in draft-02), anything else to
     * refuse with that status (wt_session_not_found_status(s) for an unknown
     * path: 404, or 405 in -16). NULL callback: not found. */
    int (*on_session_request)(void *user, wt_session *s);
    /* The session is established (client: 2xx received; server: 200 sent). */
    void (*on_session_ready)(void *user, wt_session *s);
    /* Client: the server refused (status >= 300 or < 200), or status 0 when
     * the server's SETTINGS do not allow WebTransport. The session is gone after. */
    void (*on_session_rejected)(void *user, wt_session *s, int status);
    /* The session ended: close capsule (either side; local closes too), or the
     * CONNECT stream finished or was reset without one (code 0, empty reason). */
    void (*on_session_closed)(void *user, wt_session *s, uint32_t code, const uint8_t *reason,
                              size_t reason_len);
    /* A stream the peer opened (bidi or uni); data follows with on_stream_data. */
    void (*on_stream_open)(void *user, wt_session *s, wt_stream *st);
    /* Received bytes, in order; fin marks the end of the peer's side. */
    void (*on_stream_data)(void *user, wt_stream *st, const uint8_t *data, size_t len, bool fin);
    /* The peer reset its sending side (RESET_STREAM). */
    void (*on_stream_reset)(void *user, wt_stream *st, uint32_t code);
    /* The peer sent STOP_SENDING: our sending side was reset with the same code. */
    void (*on_stream_stop_sending)(void *user, wt_stream *st, uint32_t code);
    /* The stream is finished both ways (or reset because its session ended). */
    void (*on_stream_closed)(void *user, wt_stream *st);
    /* A datagram for an established session. */
    void (*on_datagram)(void *user, wt_session *s, const uint8_t *data, size_t len);
    /* Server: a request was refused with status (0: its CONNECT stream was
     * reset with H3_REQUEST_REJECTED), and why, in one line such as "client
     * sent no WebTransport setting; it offered: 0x33, 0xffd277". The same line
     * goes to the environment's log sink (level 1). */
    void (*on_session_refused)(void *user, wt_session *s, int status, const char *why);
    /* The peer sent WT_DRAIN_SESSION (-07 §4.6, -16 §4.7): it asks for a graceful
     * end; the session stays usable. */
    void (*on_session_draining)(void *user, wt_session *s);
    /* -13..-16 §5 with flow control on: the peer raised the session's stream
     * limit (WT_MAX_STREAMS) or data limit (WT_MAX_DATA). A wt_session_open_stream
     * that returned WT_ERR_BLOCKED may be tried again; held stream bytes have
     * already gone out as far as the new credit allows. */
    void (*on_session_credit)(void *user, wt_session *s);
} wt_callbacks;

typedef struct wt_config {
    bool is_server;
    /* Sessions per connection (held, pending and closing ones included);
     * the server resets extra CONNECT streams with H3_REQUEST_REJECTED. */
    size_t max_sessions;
    /* Open streams per session; extra peer streams get H3_REQUEST_REJECTED. */
    size_t max_streams_per_session;
    /* Streams that arrive before their session is established (§4.5): count
     * and bytes held (whole endpoint); beyond, or when the session is refused
     * or closed: H3_WEBTRANSPORT_BUFFERED_STREAM_REJECTED. */
    size_t max_buffered_streams;
    size_t max_buffered_bytes;
    /* Datagrams held per session before it is established; extra ones dropped. */
    size_t max_buffered_datagrams;
    /* Largest QUIC DATAGRAM frame payload the peer accepts (its
     * max_datagram_frame_size, or less for the path); 0 = not known yet. */
    size_t max_datagram_frame;
    /* Largest capsule buffered on a CONNECT stream (h3/capsule.h). */
    size_t max_capsule;
    /* Longest :path, :authority and origin kept (longer: 400 / WT_ERR_ARG). */
    size_t max_field_len;
    /* WT_DIALECT_BIT()s of the dialects spoken (0 means WT_DIALECTS_ALL). */
    uint32_t dialects;
    /* Server, origin policy: a callback that decides alone when set, else the
     * allow-list, else same-origin. */
    bool (*origin_check)(void *user, const wt_session *s, const char *origin);
    void *origin_check_user;
    const char *const *allowed_origins;
    size_t n_allowed_origins;
    /* Client, -13..-16 §3.3: WT-Available-Protocols to offer (preference order);
     * with protocol_required, a 2xx without a WT-Protocol from that list ends the
     * session (CONNECT stream reset with WT_ALPN_ERROR, on_session_rejected). A
     * WT-Protocol outside the list always does. */
    const char *const *protocols;
    size_t n_protocols;
    bool protocol_required;
    /* -13..-16 §5: session flow control. Our receive limits per session, sent
     * as SETTINGS_WT_INITIAL_MAX_DATA / _MAX_STREAMS_BIDI / _MAX_STREAMS_UNI
     * (§5.5) and raised with WT_MAX_DATA / WT_MAX_STREAMS as the application
     * consumes bytes and streams close (windows of this size). All three 0:
     * flow control not offered (then, without it, one session at a time in
     * these dialects, §5.1). */
    uint64_t fc_max_data;
    uint64_t fc_max_streams_bidi;
    uint64_t fc_max_streams_uni;
    /* Bytes wt_stream_write keeps per stream while the session's send credit
     * (the peer's WT_MAX_DATA) is used up; beyond, WT_ERR_BLOCKED. */
    size_t fc_max_held;
    /* TEST ONLY: a server speaking only draft-02 leaves SETTINGS_ENABLE_CONNECT_PROTOCOL
     * out of its SETTINGS, as draft-02 §3.2 allows (interop tests of clients). */
    bool test_no_connect_protocol;
} wt_config;

/* Defaults: 16 sessions, 256 streams per session, 16 buffered streams /
 * 64 KiB, 16 datagrams, max_datagram_frame 0, capsules 16 KiB, fields 2048;
 * flow control: 1 MiB of data, 100 bidi and 100 uni streams per session,
 * 256 KiB held per stream. */
QUINCE_API void wt_config_init(wt_config *cfg, bool is_server);

/*
 * draft-ietf-webtrans-http3-02 §3.1: what WebTransport needs of an HTTP/3
 * configuration, applied before h3_conn_new: SETTINGS ENABLE_WEBTRANSPORT
 * (0x2b603742) = 1, H3_DATAGRAM 0x33 = 1 and 0xffd277 = 1,
 * ENABLE_CONNECT_PROTOCOL (0x8) = 1; the 0x41/0x54 extension streams; and
 * max_peer_uni raised to at least 3 + 2 * max_sessions + max_buffered_streams.
 * WebTransport streams count against h3's max_peer_bidi / max_peer_uni, so
 * size those for the expected streams.
 */
QUINCE_API void wt_config_h3(const wt_config *cfg, h3_config *h3cfg);

/*
 * WebTransport on h3 (configured with wt_config_h3, is_server as cfg's). The
 * endpoint takes over h3's callbacks and forwards non-WebTransport events to
 * the ones h3 had; it does not own h3, which must outlive it. NULL on failure.
 * Returns the endpoint, or NULL on failure (bad configuration, out of memory). */
QUINCE_API wt_endpoint *wt_endpoint_new(const quince_env *env, const wt_config *cfg, h3_conn *h3,
                                        const wt_callbacks *cb);
/* Frees every session and stream without wire signals; the application
 * hears on_stream_closed for each stream and on_session_closed (code 0) for
 * each established session first, and must not call wt_* from them. The
 * h3_conn gets its previous callbacks back and is left to its owner. */
QUINCE_API void wt_endpoint_free(wt_endpoint *ep);
/* Returns the h3 connection WebTransport runs on (never NULL). */
QUINCE_API h3_conn *wt_endpoint_h3(wt_endpoint *ep);
/* Returns the environment given to wt_endpoint_new (never NULL; handlers allocate through it). */
QUINCE_API const quince_env *wt_endpoint_env(const wt_endpoint *ep);
struct quince_qlog;
/* Log session, stream and datagram events into a connection's qlog trace
 * (the binding passes quic_conn_qlog's; NULL: none). */
QUINCE_API void wt_endpoint_set_qlog(wt_endpoint *ep, struct quince_qlog *qlog);
struct quince_budget;
/*
 * Charge what the peer makes us hold to a memory budget (base/budget.h; the binding
 * passes quic_conn_budget's; NULL: none). Call before any input; the budget must
 * outlive ep. Past the budget, as past the matching bound in wt_config: an early
 * stream's bytes reject the stream (WT_BUFFERED_STREAM_REJECTED, §4.5), a datagram
 * for a session not established yet is dropped, a capsule being assembled on the
 * CONNECT stream is dropped if it is a DATAGRAM and otherwise ends the session
 * (H3_EXCESSIVE_LOAD). h3_conn_set_budget charges the HTTP/3 side.
 */
QUINCE_API void wt_endpoint_set_budget(wt_endpoint *ep, struct quince_budget *budget);
/* The transport's max DATAGRAM payload became known (or changed). */
QUINCE_API void wt_endpoint_set_max_datagram_frame(wt_endpoint *ep, size_t n);
/* The peer's QUIC transport parameters carry reset_stream_at (assumed until
 * told otherwise); without it the dialects that need it (-13..-16 §3.1) are
 * not offered to that peer. Call before the peer's SETTINGS are processed. */
QUINCE_API void wt_endpoint_set_peer_reset_stream_at(wt_endpoint *ep, bool on);
/* The transport can take more bytes on stream_id (bind calls it after
 * h3_conn_on_writable): bytes wt held for session credit (-13..-16 §5.4) that
 * h3 could not take yet go on. */
QUINCE_API void wt_endpoint_on_writable(wt_endpoint *ep, uint64_t stream_id);
/* Return the number of sessions tracked (any state), and of buffered early streams. */
QUINCE_API size_t wt_endpoint_session_count(const wt_endpoint *ep);
QUINCE_API size_t wt_endpoint_buffered_streams(const wt_endpoint *ep);

/* Client: open a session (draft-02 §3.3). Sent at once if the server's
 * SETTINGS allow it, otherwise queued until they arrive. WT_ERR_LIMIT (or, for
 * a queued one, on_session_rejected with status 0) beyond the server's session
 * limit (-07 §3.1 and -13/-14 §5.2: its version setting's value) or, in -13..-16
 * without flow control, beyond one session (§5.1). origin may be NULL
 * (no Origin header: allowed from -07 on for clients that are not browsers).
 * Returns WT_OK with the session in *out (queued or sent); WT_ERR_ARG on a server or for a
 * missing or too long field, WT_ERR_STATE when the server's SETTINGS offer no common dialect,
 * WT_ERR_LIMIT as above, WT_ERR_NOMEM. */
QUINCE_API int wt_endpoint_connect(wt_endpoint *ep, const char *authority, const char *path,
                                   const char *origin, wt_session **out);

/* Returns the dialects (WT_DIALECT_BIT()s) the peer's SETTINGS offer that we speak too (0 before
 * they arrived). */
QUINCE_API uint32_t wt_endpoint_common_dialects(const wt_endpoint *ep);
/* Writes the peer's SETTINGS identifiers and values ("0x8=1, 0x33=1, ..."; QPACK ones left out,
 * "none") into buf, for diagnostics; "" before they arrived. Returns the length written
 * (truncated to cap - 1). */
QUINCE_API size_t wt_endpoint_describe_peer_settings(const wt_endpoint *ep, char *buf, size_t cap);

/* ---- Sessions ---- */
/* Returns the dialect of the session (client: chosen when the CONNECT was sent; server: when the
 * request was processed); WT_DIALECT_NONE before. */
QUINCE_API wt_dialect wt_session_dialect(const wt_session *s);
/* Returns the session ID (the CONNECT stream ID); UINT64_MAX while the client's request is
 * queued. wt_session_is_ready returns whether the session is established. */
QUINCE_API uint64_t wt_session_id(const wt_session *s);
QUINCE_API bool wt_session_is_ready(const wt_session *s);
/* Return the NUL-terminated request fields (server: as received; client: as sent); the origin is
 * NULL when the request had none. */
QUINCE_API const char *wt_session_path(const wt_session *s);
QUINCE_API const char *wt_session_authority(const wt_session *s);
QUINCE_API const char *wt_session_origin(const wt_session *s);
/* -13..-16 §3.3, server: returns the number of the client's WT-Available-Protocols (0 when
 * absent, malformed, or the dialect has none), and the i-th of them (NULL when i is out of
 * range). */
QUINCE_API size_t wt_session_protocol_count(const wt_session *s);
QUINCE_API const char *wt_session_protocol_at(const wt_session *s, size_t i);
/* Server, inside on_session_request: answer with WT-Protocol p, which must be one of the
 * client's. Returns WT_OK; WT_ERR_ARG when it is not, WT_ERR_STATE outside on_session_request,
 * WT_ERR_NOMEM. */
QUINCE_API int wt_session_select_protocol(wt_session *s, const char *p);
/* Returns the WT-Protocol chosen (server) or received (client); NULL when none. */
QUINCE_API const char *wt_session_protocol(const wt_session *s);
/* Returns the status for a target without WebTransport in the session's dialect (404; draft-16
 * §3.2: 405); never fails. */
QUINCE_API int wt_session_not_found_status(const wt_session *s);
/* Client: returns the last :status received (0 before any); never fails. */
QUINCE_API int wt_session_status(const wt_session *s);
/* The application's pointer for the session: wt_session_user returns it (NULL until set);
 * wt_session_endpoint returns the session's endpoint (never NULL). */
QUINCE_API void wt_session_set_user(wt_session *s, void *user);
QUINCE_API void *wt_session_user(const wt_session *s);
QUINCE_API wt_endpoint *wt_session_endpoint(const wt_session *s);

/* -13..-16 §5: a session's flow control as it stands (all 0 and enabled false
 * when it is off for the session: dialects -02/-07, or not both sides offered it). */
typedef struct wt_flow_stats {
    bool enabled;
    /* Sending: the peer's limits, what we used, bytes held for want of credit. */
    uint64_t peer_max_data, data_sent, held;
    uint64_t peer_max_streams_bidi, peer_max_streams_uni, streams_opened_bidi, streams_opened_uni;
    /* Receiving: our limits (as last advertised) and what the peer used. */
    uint64_t max_data, data_received;
    uint64_t max_streams_bidi, max_streams_uni, streams_received_bidi, streams_received_uni;
    /* Capsules: WT_MAX_DATA, WT_MAX_STREAMS (either type), WT_DATA_BLOCKED and
     * WT_STREAMS_BLOCKED (either type), sent and received. */
    uint64_t max_data_sent, max_data_received, max_streams_sent, max_streams_received;
    uint64_t data_blocked_sent, data_blocked_received;
    uint64_t streams_blocked_sent, streams_blocked_received;
    /* Times wt_stream_write had to hold bytes, and wt_session_open_stream was refused. */
    uint64_t writes_held, opens_blocked;
} wt_flow_stats;
/* Fills *out with the session's flow-control state (all 0 when it is off, as above). */
QUINCE_API void wt_session_flow(const wt_session *s, wt_flow_stats *out);

/* Open a stream on an established session (bidi: 0x41 + ID; uni: 0x54 + ID).
 * With flow control on (-13..-16 §5.3), WT_ERR_BLOCKED when the peer's
 * WT_MAX_STREAMS for that type is reached (a WT_STREAMS_BLOCKED is sent;
 * on_session_credit says when to try again).
 * Returns WT_OK with the stream in *out; WT_ERR_STATE when the session is not established,
 * WT_ERR_LIMIT past max_streams_per_session, WT_ERR_BLOCKED as above, WT_ERR_H3 when HTTP/3
 * could not open it (the peer's stream limit, or the connection failed), WT_ERR_NOMEM. */
QUINCE_API int wt_session_open_stream(wt_session *s, bool bidi, wt_stream **out);
/* Send a datagram (RFC 9297 §2.1: quarter stream ID prefix + payload). Returns WT_OK;
 * WT_ERR_STATE when the session is not established, WT_ERR_DATAGRAM when HTTP Datagrams are not
 * negotiated or their size is unknown, WT_ERR_TOO_BIG above wt_session_max_datagram_payload,
 * WT_ERR_H3 when the transport refused it, WT_ERR_ARG, WT_ERR_NOMEM. */
QUINCE_API int wt_session_send_datagram(wt_session *s, const uint8_t *data, size_t len);
/* Returns the largest payload that fits: max_datagram_frame minus the prefix (0 if unknown). */
QUINCE_API size_t wt_session_max_datagram_payload(const wt_session *s);
/* -07 §4.6, -16 §4.7: send WT_DRAIN_SESSION (ask the peer to end the session gracefully).
 * Returns WT_OK; WT_ERR_STATE in draft-02 (it has no such capsule) or when the session is not
 * established, WT_ERR_H3, WT_ERR_NOMEM. */
QUINCE_API int wt_session_drain(wt_session *s);
/* draft-02 §5: CLOSE_WEBTRANSPORT_SESSION capsule (reason <= 1024 bytes, else WT_ERR_ARG and
 * nothing happens), then FIN. Resets the session's streams, then calls on_session_closed with
 * code and reason. Returns WT_OK; WT_ERR_ARG, WT_ERR_STATE when it is closed already, WT_ERR_H3
 * when HTTP/3 could not send the capsule (the session is closed all the same). */
QUINCE_API int wt_session_close(wt_session *s, uint32_t code, const uint8_t *reason,
                                size_t reason_len);
/* Close every open session of the endpoint the same way (a server shutting
 * down, RFC 9114 §5.2 with draft-02 §5). Returns how many were closed. */
QUINCE_API size_t wt_endpoint_close_all(wt_endpoint *ep, uint32_t code, const char *reason);

/* ---- Streams ---- */
/* Returns the stream's QUIC stream ID. */
QUINCE_API uint64_t wt_stream_id(const wt_stream *st);
/* Returns whether the stream is bidirectional. */
QUINCE_API bool wt_stream_is_bidi(const wt_stream *st);
/* Returns whether this endpoint opened the stream. */
QUINCE_API bool wt_stream_is_local(const wt_stream *st);
/* Returns the stream's session (never NULL while the stream lives). */
QUINCE_API wt_session *wt_stream_session(const wt_stream *st);
/* The application's pointer for the stream: wt_stream_user returns it (NULL until set). */
QUINCE_API void wt_stream_set_user(wt_stream *st, void *user);
QUINCE_API void *wt_stream_user(const wt_stream *st);
/* Write bytes (fin ends our side). WT_ERR_STATE on a receive-only stream or
 * after fin/reset; WT_ERR_BLOCKED when h3's send buffer is full. With flow
 * control on (-13..-16 §5.4), bytes beyond the session's send credit are
 * held by wt (up to fc_max_held per stream, else WT_ERR_BLOCKED and nothing
 * taken) and go out as the peer's WT_MAX_DATA allows; a WT_DATA_BLOCKED is sent.
 * Returns WT_OK; WT_ERR_STATE, WT_ERR_BLOCKED as above, WT_ERR_H3 when the connection failed,
 * WT_ERR_ARG, WT_ERR_NOMEM. */
QUINCE_API int wt_stream_write(wt_stream *st, const uint8_t *data, size_t len, bool fin);
/* Returns the bytes accepted by wt but not yet by the transport (held ones included). */
QUINCE_API size_t wt_stream_buffered(const wt_stream *st);
/* Abort the stream: RESET_STREAM with code, and STOP_SENDING too while the receive side is open
 * (h3_conn_reset_stream aborts both directions; a send-only reset is not offered by h3). The
 * stream closes at once. Returns WT_OK, or WT_ERR_STATE when its sending side ended already (or
 * the stream is gone). */
QUINCE_API int wt_stream_reset(wt_stream *st, uint32_t code);
/* STOP_SENDING with code; later received bytes are dropped. A stream whose sending side is done
 * closes at once (on_stream_closed). Returns WT_OK, or WT_ERR_STATE on a send-only stream or
 * after the receive side ended. With -13..-16 flow control, after this or wt_stream_reset wt
 * still counts the peer's bytes on the stream until its reset or FIN (the session is charged
 * the stream's final size, §5.4). */
QUINCE_API int wt_stream_stop_sending(wt_stream *st, uint32_t code);

#endif
