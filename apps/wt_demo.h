/* quince-server's WebTransport demo: /echo, /chat, /close-me sessions, the page over HTTP/1.1. */
#ifndef APPS_WT_DEMO_H
#define APPS_WT_DEMO_H

#include <stddef.h>
#include <stdint.h>

#include "bind/bind.h"
#include "io/loop.h"

/*
 * Sessions on /echo (streams and datagrams echoed; a bidi stream starting
 * "RESET <code>" is reset with that code), /chat (uni streams broadcast to
 * every chat session, datagrams: 'p' ping, 'd' drawing relayed) and /close-me
 * (closed at once with 4242 "bye from quince"); 404 for anything else. Each
 * event is printed on stdout as "server: ..." lines. One demo per process:
 * the callbacks ignore their user pointer.
 */
/* Origins allowed besides the same origin and the demo page's own
 * (http://HOST:PAGE-PORT): "*" allows any; the array must outlive the server. */
void wt_demo_allow_origins(const char *const *origins, size_t n);
/* WebTransport on, with the demo's callbacks and origin policy. */
void wt_demo_config(bind_config *cfg);
/* For the server's on_conn_free: the connection's chat sessions leave (the
 * other pages are told the new count). */
void wt_demo_conn_free(bind_conn *bc);
/* Liveness of chat pages: a page pings every 200 ms; one heard from by none
 * of its datagrams or streams for 5 s is gone (a killed browser sends no
 * close): its session is closed with 4408 and the other pages see the count
 * drop. A page that closes its session (or whose connection ends) leaves at
 * once. The clock (default io_now_us) can be replaced for tests. */
void wt_demo_set_clock(uint64_t (*now_us)(void));
/* Chat pages counted now. */
size_t wt_demo_chat_pages(void);

/*
 * Serve the page (/, /index.html: the demo; /test: every check, reported with
 * POST /log and printed as "page: ..." lines) over HTTP/1.1 on TCP addr
 * ("127.0.0.1:8080"; "localhost:PORT": 127.0.0.1 and ::1 on one port; port 0:
 * any free one). The page opens its sessions with cert_hash as
 * serverCertificateHashes on wt_port. Returns the TCP port, 0 on failure.
 */
uint16_t wt_demo_http_start(io_loop *loop, const char *addr, const char *cert_hash,
                            uint16_t wt_port);
/* Before the server frees its connections: sessions end without wire signals
 * then, and the chat no longer broadcasts. */
void wt_demo_shutdown(void);
/* Stop the page listeners. */
void wt_demo_stop(void);

#endif
