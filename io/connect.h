/* An HTTP/3 (+ WebTransport) client on an io_loop in a few calls: URL, socket, binding. */
#ifndef IO_CONNECT_H
#define IO_CONNECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "base/export.h"
#include "bind/bind.h"
#include "io/loop.h"
#include "io/udp.h"

/*
 * An HTTP/3 client:
 *
 *   io_client_config cfg;  io_client_config_init(&cfg);
 *   cfg.bind.quic.tls.verify_mode = ...;  cfg.bind.h3cb = my_h3_callbacks;
 *   cfg.bind.cb.on_handshake_done = send_my_requests;
 *   io_client *c;  io_client_new(&c, NULL, "https://example.org:4433/", &cfg);
 *   io_client_run(c);      (until the connection is closed, a signal, or io_loop_stop)
 *   io_client_free(c);
 *
 * With cfg.bind.webtransport, open the session from on_handshake_done with
 * wt_endpoint_connect(bind_conn_wt(bc), io_client_authority(c), io_client_path(c), ...).
 */

/* Split "https://host[:port]/path" (port default 443, path default "/"): the host without the
 * brackets of an IPv6 literal. Returns true, or false on anything else. */
QUINCE_API bool io_url_split(const char *url, char *host, size_t host_cap, char *port,
                             size_t port_cap, const char **path);

typedef struct io_client_config {
    /* The binding (client role): TLS verification, ALPN, h3/wt callbacks. The
     * SNI (bind.quic.tls.server_name) is the URL's host unless set. */
    bind_config bind;
    io_udp_config udp;
    /* NULL: io_env_default(). Must outlive the client. */
    const quince_env *env;
} io_client_config;

typedef struct io_client io_client;

/* bind_config_init(&cfg->bind, false), HTTP/3 on. */
QUINCE_API void io_client_config_init(io_client_config *cfg);

/*
 * Resolve the URL's host (numeric, or a name through getaddrinfo: its first
 * IPv4 address if it has one, else its first address), open a UDP
 * socket of its family on any port, create the bind_conn and register it on
 * loop (NULL: a loop of the client's own that stops on SIGINT/SIGTERM).
 * Returns IO_OK, IO_ERR_ADDR (not an https URL), IO_ERR_RESOLVE, a socket
 * error, IO_ERR_CONFIG (bind_conn_client_new refused), IO_ERR_NOMEM.
 */
QUINCE_API int io_client_new(io_client **out, io_loop *loop, const char *url,
                             const io_client_config *cfg);
/* Frees the connection (bind_conn_free), the socket and an own loop. */
QUINCE_API void io_client_free(io_client *c);

/* Return the client's connection and loop (never NULL for a client). */
QUINCE_API bind_conn *io_client_conn(const io_client *c);
QUINCE_API io_loop *io_client_loop(const io_client *c);
/* Return "host:port" of the URL (IPv6 in brackets), its path, the peer's address and the
 * client's socket; never NULL for a client. */
QUINCE_API const char *io_client_authority(const io_client *c);
QUINCE_API const char *io_client_path(const io_client *c);
QUINCE_API const io_addr *io_client_peer(const io_client *c);
QUINCE_API io_udp *io_client_socket(io_client *c);
/* Flush soon: the application wrote to a stream outside a callback. */
QUINCE_API void io_client_kick(io_client *c);
/* RFC 9000 §9.2: move the connection to a new local UDP port (a fresh socket
 * on the same address family; the old one is closed), through
 * quic_conn_migrate. Returns IO_OK, a socket error, or IO_ERR_CONFIG when
 * QUIC refuses (handshake not confirmed, the server's
 * disable_active_migration, no spare connection ID). */
QUINCE_API int io_client_migrate(io_client *c);
/* Run until the connection is closed (bind_conn_is_closed), a caught signal
 * (its number is returned), io_loop_stop (0) or an error (negative). Returns
 * 0 once closed. */
QUINCE_API int io_client_run(io_client *c);

#endif
