/* An HTTP/3 + WebTransport server on an io_loop in a few calls: sockets, certificate, binding. */
#ifndef IO_SERVE_H
#define IO_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "base/export.h"
#include "bind/bind.h"
#include "io/loop.h"
#include "io/udp.h"
#include "wt/wt.h"

/*
 * The whole of a WebTransport echo server (examples/wt_echo_server.c):
 *
 *   wt_callbacks cb = {.on_session_request = ..., .on_stream_data = ..., ...};
 *   return io_serve(NULL, &cb);        (127.0.0.1 and ::1, UDP port 4433)
 *
 * The object form, for a server that also watches other fds on its loop:
 *
 *   io_server_config cfg;  io_server_config_init(&cfg);
 *   cfg.cert_file = "fullchain.pem";  cfg.key_file = "key.pem";
 *   cfg.bind.wtcb = my_wt_callbacks;   cfg.bind.h3cb = my_h3_callbacks;
 *   io_server *srv;  io_server_new(&srv, NULL, &cfg);
 *   io_loop_add_fd(io_server_loop(srv), fd, IO_READ, on_fd, app);
 *   io_server_run(srv);                (until SIGINT/SIGTERM or io_loop_stop)
 *   io_server_free(srv);
 */

/* The UDP port of the default addresses. */
#define IO_SERVE_DEFAULT_PORT 4433
/* At most this many listening sockets. */
#define IO_SERVE_MAX_SOCKETS 8
/* Lifetime of a generated certificate: Chromium's serverCertificateHashes
 * takes at most 14 days. */
#define IO_SERVE_CERT_DAYS 13

typedef struct io_server_config {
    /* UDP addresses to listen on ("127.0.0.1:4433", "[::1]:0"), a
     * NULL-terminated list. NULL: 127.0.0.1 and ::1 on `port`, so that
     * http(s)://localhost:PORT/ works whichever address a browser tries
     * first (::1 is skipped when the host has no IPv6). */
    const char *const *listen;
    /* Port of the default addresses; 0: any free one, the same on both. */
    uint16_t port;
    /* PEM certificate chain (leaf first) and private key. NULL: a generated
     * ECDSA P-256 certificate valid IO_SERVE_CERT_DAYS days (SAN localhost and
     * the first address, 127.0.0.1 for a wildcard), whose SHA-256
     * io_server_cert_sha256 gives. */
    const char *cert_file;
    const char *key_file;
    /* The binding: QUIC limits, HTTP/3 and WebTransport configuration and
     * callbacks. The server fills in bind.quic.tls's certificate and key. */
    bind_config bind;
    io_udp_config udp;
    /* Datagrams sent per loop turn before receiving again. 0: 2048. */
    size_t send_budget;
    /* NULL: io_env_default(). Must outlive the server. */
    const quince_env *env;
} io_server_config;

typedef struct io_server io_server;

/* bind_config_init(&cfg->bind, true) with WebTransport on, limits for
 * browsers (64 MiB connection window, 1 MiB per stream, 500 streams each
 * way, 600 HTTP/3 peer streams, 512 streams per session, 60 s idle timeout),
 * the default addresses and a generated certificate. */
QUINCE_API void io_server_config_init(io_server_config *cfg);

/*
 * Open the sockets, load or generate the certificate, create the
 * bind_server and register it on loop (NULL: a loop of the server's own that
 * stops on SIGINT/SIGTERM). cfg is copied; its strings need not outlive the
 * call. Returns IO_OK, or IO_ERR_ADDR / IO_ERR_SOCKET / IO_ERR_BIND (a
 * listening address), IO_ERR_CERT (certificate or key unreadable or not PEM),
 * IO_ERR_CERT_KEY (the key does not belong to the certificate), IO_ERR_CONFIG
 * (bind_server_new refused the configuration), IO_ERR_NOMEM, or a loop error.
 */
QUINCE_API int io_server_new(io_server **out, io_loop *loop, const io_server_config *cfg);
/* Frees the bind_server (every connection), the sockets and, if it is the
 * server's own, the loop. */
QUINCE_API void io_server_free(io_server *s);

/* Return the server's parts: its loop and bind_server (never NULL for a server), its sockets'
 * count, and socket i (NULL when i is out of range). */
QUINCE_API io_loop *io_server_loop(const io_server *s);
QUINCE_API bind_server *io_server_bind(const io_server *s);
QUINCE_API size_t io_server_socket_count(const io_server *s);
QUINCE_API const io_udp *io_server_socket(const io_server *s, size_t i);
/* Returns the port of the first socket (the real one when 0 was asked). */
QUINCE_API uint16_t io_server_port(const io_server *s);
/* Return the SHA-256 of the leaf certificate's DER (serverCertificateHashes, quince-client
 * --cert-hash), raw (32 bytes) and as 64 lower-case hex digits; never NULL for a server. */
QUINCE_API const uint8_t *io_server_cert_sha256(const io_server *s);
QUINCE_API const char *io_server_cert_sha256_hex(const io_server *s);
/* Returns true when the certificate was generated (no cert_file). */
QUINCE_API bool io_server_cert_generated(const io_server *s);
/* Flush soon: the application wrote to a stream outside a callback. */
QUINCE_API void io_server_kick(io_server *s);
/* Run the loop: returns the signal number after SIGINT/SIGTERM, 0 after
 * io_loop_stop, or a negative io_ error. */
QUINCE_API int io_server_run(io_server *s);
/*
 * A graceful end (RFC 9114 §5.2), after io_server_run returned: GOAWAY on
 * every connection and each WebTransport session closed with its capsule
 * (wt_code, reason); CONNECTION_CLOSE with H3_NO_ERROR once everything sent
 * was acknowledged or half of timeout_ms passed; then the loop runs until
 * every closing period is over or timeout_ms passed. Returns IO_OK, or the
 * number of a second caught signal (which cuts it short), or an io_ error.
 * (IO_ERR_* from the loop, such as IO_ERR_EPOLL.) */
QUINCE_API int io_server_shutdown(io_server *s, uint32_t wt_code, const char *reason,
                                  uint32_t timeout_ms);
/* RFC 9000 §10.3.2: a stateless reset key that survives restarts, read from
 * a file of at least 32 bytes (hashed with SHA-256), which is created with
 * 32 random bytes and mode 0600 when missing. Use it as bind.quic.reset_key.
 * Returns IO_OK, IO_ERR_FILE. */
QUINCE_API int io_reset_key_from_file(const char *path, uint8_t key[32]);

/*
 * A WebTransport server in one call: io_server with a generated certificate
 * on listen_at ("127.0.0.1:4433"; NULL: 127.0.0.1 and ::1 on port 4433), every
 * connection running WebTransport with cb. Prints "cert-sha256: HEX" and one
 * "webtransport: https://ADDR/" per socket on stdout, then runs until SIGINT
 * or SIGTERM. Returns an exit code (0 after a signal, 1 on a setup error, with
 * a message on stderr).
 * It never fails otherwise. */
QUINCE_API int io_serve(const char *listen_at, const wt_callbacks *cb);

#endif
