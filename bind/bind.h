/* The binding: one object per connection that owns a QUIC connection, its HTTP/3 connection and,
 * when asked, WebTransport on it; one event drain; a server of many such connections. */
#ifndef BIND_BIND_H
#define BIND_BIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "h3/h3.h"
#include "quic/quic.h"
#include "wt/wt.h"

/*
 * The only room where quic/ meets h3/ and wt/ (docs/ARCHITECTURE.md). Below it
 * h3/ and wt/ speak stream bytes and datagrams and know nothing of QUIC; above
 * it io/ moves datagrams between sockets and these calls, and apps/ only set
 * options and print.
 *
 * A bind_conn owns its quic_conn, its h3_conn (when cfg.h3) and its
 * wt_endpoint (when cfg.webtransport). Every driving call takes `now` and
 * drains the connection's events before it returns: stream bytes go into h3
 * (and from h3 into wt), resets, STOP_SENDING, writability and datagrams
 * likewise; what is the application's comes out through the callbacks below,
 * from inside those calls. Nothing else needs polling.
 *
 * A bind_server owns a quic_endpoint and one bind_conn per connection it
 * accepts. The endpoint hands each connection over when it creates it
 * (on_conn_new) and tells the server before it frees it (on_conn_free), so
 * no one rescans the endpoint's list.
 *
 * Callbacks run inside bind_* calls. They may call any h3_/wt_/quic_stream_
 * function and bind_conn_close, but must not free the bind_conn or the
 * bind_server.
 */

typedef struct bind_conn bind_conn;
typedef struct bind_server bind_server;

/* Library return codes (wire codes are a separate space). */
enum {
    BIND_OK = 0,
    BIND_ERR_ARG = -1,    /* bad argument or configuration */
    BIND_ERR_NOMEM = -2,  /* the environment's allocator failed */
    BIND_ERR_CLOSED = -3, /* the connection failed or closed (see on_closed) */
};

/* Every bind callback gets cb.user (the same for all connections of a
 * server) and the connection; bind_conn_user(bc) is the connection's own. */
typedef struct bind_callbacks {
    void *user;
    /* A connection was created (server: by the endpoint, before its handshake
     * completes; client: inside bind_conn_client_new). The return value
     * becomes the connection's user pointer: the `user` of its h3 and wt
     * callbacks and of bind_conn_user. Without this callback the user
     * pointer is cb.user. It runs before the h3_conn and wt_endpoint exist
     * (bind_conn_h3/wt are NULL during the call; bind_conn_quic is set). */
    void *(*on_conn_new)(void *user, bind_conn *bc);
    void (*on_handshake_done)(void *user, bind_conn *bc);
    /* The QUIC CLOSED event (error_code, is_app, by_peer, reason in data/len).
     * The bind_conn lives on through its closing or draining period. */
    void (*on_closed)(void *user, bind_conn *bc, const quic_event *ev);
    /* A stream can take more bytes again (h3 has already retried what it held). */
    void (*on_writable)(void *user, bind_conn *bc, uint64_t stream_id);
    /* Without cfg.h3: every stream and datagram event of the connection
     * (STREAM_OPENED, READABLE, WRITABLE, RESET, STOP_SENDING, DATAGRAM). */
    void (*on_quic_event)(void *user, bind_conn *bc, const quic_event *ev);
    /* The last call for bc: it is freed when this returns (server: after its
     * closing period, or in bind_server_free; client: inside bind_conn_free;
     * either: at once when creating its h3/wt state failed). Exactly once for
     * each on_conn_new. */
    void (*on_conn_free)(void *user, bind_conn *bc);
} bind_callbacks;

typedef struct bind_config {
    quic_config quic;
    /* Run HTTP/3 on every connection (the ALPN list must then be {"h3"}). */
    bool h3;
    h3_config h3cfg;
    h3_callbacks h3cb; /* user is replaced by the connection's user pointer */
    /* WebTransport on the HTTP/3 connection (needs h3; sets the SETTINGS and
     * max_datagram_frame_size it needs). */
    bool webtransport;
    wt_config wtcfg;
    wt_callbacks wtcb; /* user is replaced by the connection's user pointer */
    bind_callbacks cb;
} bind_config;

/* Defaults: quic_config zeroed but is_server, ALPN "h3", h3 on with
 * h3_config_init, WebTransport off with wt_config_init. The is_server of
 * h3cfg and wtcfg follow the role (client connection or server) when used. */
QUINCE_API void bind_config_init(bind_config *cfg, bool is_server);

/* ---- One connection ---- */

/* A client connection; the first bind_conn_send produces its Initial. HTTP/3
 * (both roles) starts once the QUIC handshake is established, in the first
 * drain that sees it: the peer's stream limits are unknown before. NULL on bad
 * configuration or out of memory. cfg is copied; its pointers (TLS
 * credentials, ALPN) must outlive the connection. Returns the connection. */
QUINCE_API bind_conn *bind_conn_client_new(const quince_env *env, const bind_config *cfg,
                                           const quic_addr *local, const quic_addr *remote,
                                           uint64_t now);
/* Client connections only (a server's are freed by their server). */
QUINCE_API void bind_conn_free(bind_conn *bc);

/* RFC 9000 §12: one received UDP payload, then the drain (callbacks run from inside). Returns
 * BIND_OK; BIND_ERR_CLOSED once the connection is closed (see on_closed), BIND_ERR_ARG for NULL
 * arguments. */
QUINCE_API int bind_conn_recv(bind_conn *bc, const quic_addr *from, const uint8_t *data, size_t len,
                              uint64_t now);
/* Drains, then writes the next datagram into buf. Returns its size, 0 when there is nothing to
 * send now; BIND_ERR_CLOSED when the connection can send nothing more, BIND_ERR_ARG for NULL
 * arguments. */
QUINCE_API int bind_conn_send(bind_conn *bc, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now);
/* bind_conn_recv with the ECN codepoint the datagram arrived with (QUIC_ECN_*, the low two bits
 * of its IP TOS / traffic class), counted and reported in ACK_ECN (RFC 9000 §13.4.1). Returns
 * BIND_OK; BIND_ERR_CLOSED once the connection is closed, BIND_ERR_ARG for NULL arguments. */
QUINCE_API int bind_conn_recv_ecn(bind_conn *bc, const quic_addr *from, const uint8_t *data,
                                  size_t len, uint8_t ecn, uint64_t now);
/* Returns the ECN codepoint to send the datagram the last bind_conn_send wrote with
 * (quic_conn_ecn: ECT(0) while ECN is validated or being tested, RFC 9000 §13.4.2);
 * QUIC_ECN_NOT_ECT for NULL. */
QUINCE_API uint8_t bind_conn_ecn(const bind_conn *bc);
/* Returns the absolute time of the connection's next timer, or QUIC_TIME_NEVER. */
QUINCE_API uint64_t bind_conn_next_timeout(const bind_conn *bc);
/* Runs the due timers, then drains. Returns BIND_OK; BIND_ERR_CLOSED once the connection is
 * closed, BIND_ERR_ARG for NULL. */
QUINCE_API int bind_conn_on_timeout(bind_conn *bc, uint64_t now);

/* Return the connection's layers: its quic_conn (never NULL for a connection), its h3_conn and
 * wt_endpoint (NULL without cfg.h3 / cfg.webtransport), its user pointer (on_conn_new's return),
 * and whether QUIC is closed. All return NULL or false for NULL. */
QUINCE_API quic_conn *bind_conn_quic(const bind_conn *bc);
QUINCE_API h3_conn *bind_conn_h3(const bind_conn *bc);
QUINCE_API wt_endpoint *bind_conn_wt(const bind_conn *bc);
QUINCE_API void *bind_conn_user(const bind_conn *bc);
QUINCE_API bool bind_conn_is_closed(const bind_conn *bc);
/* Close with an application code (an HTTP/3 code when cfg.h3, through h3_conn_close). The time
 * is that of the last driving call. Returns BIND_OK; BIND_ERR_CLOSED when it was closed already,
 * BIND_ERR_ARG for NULL. */
QUINCE_API int bind_conn_close(bind_conn *bc, uint64_t app_code, const char *reason);

/* Counters: stream bytes handed to h3 and taken from it, and writes QUIC
 * refused (a stream it had reset on the peer's STOP_SENDING before h3 saw the
 * event, or a closing connection: h3 keeps those bytes until the event). */
typedef struct bind_conn_stats {
    uint64_t bytes_in, bytes_out, writes_refused;
} bind_conn_stats;
/* Returns the connection's counters (NULL for NULL). */
QUINCE_API const bind_conn_stats *bind_conn_get_stats(const bind_conn *bc);

/* ---- A server: many connections on one endpoint ---- */

/* Returns a server for cfg (is_server set), or NULL on bad configuration or out of memory. */
QUINCE_API bind_server *bind_server_new(const quince_env *env, const bind_config *cfg);
/* Frees every connection (on_conn_free for each) and the endpoint. */
QUINCE_API void bind_server_free(bind_server *s);
/* One datagram that arrived at `to` from `from`: the endpoint says which connection took it
 * (quic_endpoint_last_conn) and only that one is drained. Returns BIND_OK (bad datagrams are
 * dropped); BIND_ERR_NOMEM, BIND_ERR_ARG for NULL arguments. */
QUINCE_API int bind_server_recv(bind_server *s, const quic_addr *from, const quic_addr *to,
                                const uint8_t *data, size_t len, uint64_t now);
/* The next datagram of any connection (or a stateless reply) into buf, *to set. Returns its
 * size, 0 when there is nothing to send now, BIND_ERR_ARG. */
QUINCE_API int bind_server_send(bind_server *s, quic_addr *to, uint8_t *buf, size_t cap,
                                uint64_t now);
/* bind_server_recv with the datagram's ECN codepoint (as bind_conn_recv_ecn). Returns BIND_OK
 * (bad datagrams are dropped); BIND_ERR_NOMEM, BIND_ERR_ARG for NULL arguments. */
QUINCE_API int bind_server_recv_ecn(bind_server *s, const quic_addr *from, const quic_addr *to,
                                    const uint8_t *data, size_t len, uint8_t ecn, uint64_t now);
/* Returns the ECN codepoint for the datagram the last bind_server_send wrote (quic_endpoint_ecn);
 * QUIC_ECN_NOT_ECT for NULL. */
QUINCE_API uint8_t bind_server_ecn(const bind_server *s);
/* Returns the earliest timer of the server's connections, or QUIC_TIME_NEVER. */
QUINCE_API uint64_t bind_server_next_timeout(const bind_server *s);
/* Drains the connections whose timers fired; frees those whose closing period ended. Returns
 * BIND_OK, or BIND_ERR_ARG for NULL. */
QUINCE_API int bind_server_on_timeout(bind_server *s, uint64_t now);
/* Returns the number of connections the server holds (0 for NULL). */
QUINCE_API size_t bind_server_conn_count(const bind_server *s);
/*
 * A graceful shutdown (RFC 9114 §5.2), in three steps driven by the caller:
 *   bind_server_shutdown: GOAWAY on every connection, and each open
 *       WebTransport session closed with its capsule (wt_code, reason);
 *   then, once bind_server_is_quiet (nothing unsent or unacknowledged on
 *       any connection, and no connection had WebTransport sessions to close)
 *       or a grace period passed, bind_server_close_all:
 *       CONNECTION_CLOSE (app_code, H3_NO_ERROR for a clean end);
 *   then keep driving the server until bind_server_conn_count is 0 (each
 *       closing period over) or a deadline.
 */
QUINCE_API void bind_server_shutdown(bind_server *s, uint32_t wt_code, const char *reason,
                                     uint64_t now);
/* Returns true when no connection has anything unsent or unacknowledged. */
QUINCE_API bool bind_server_is_quiet(const bind_server *s);
QUINCE_API void bind_server_close_all(bind_server *s, uint64_t app_code, const char *reason,
                                      uint64_t now);
/* Returns the server's QUIC endpoint (NULL for NULL). */
QUINCE_API quic_endpoint *bind_server_endpoint(const bind_server *s);

#endif
