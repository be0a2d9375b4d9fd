/* quince-client's HTTP/3 side: GET requests multiplexed on one QUIC connection. */
#ifndef APPS_H3_CLIENT_H
#define APPS_H3_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bind/bind.h"

typedef struct h3cli h3cli;

/* authority: the :authority of every request (host[:port]). NULL when out of memory. */
h3cli *h3cli_new(const char *authority, bool verbose);
/* HTTP/3 on a client's bind_config with our h3 callbacks (their user must be
 * the h3cli: return it from on_conn_new and call h3cli_attach there). */
void h3cli_config(bind_config *cfg);
void h3cli_attach(h3cli *c, bind_conn *bc);
/* Our state only (the bind_conn is the caller's). */
void h3cli_free(h3cli *c);
/* Queue a GET of path whose body is written to out_path. */
int h3cli_add(h3cli *c, const char *path, const char *out_path);
/* From the bind callbacks of the connection. */
void h3cli_on_handshake_done(h3cli *c);
void h3cli_on_closed(h3cli *c, const quic_event *ev);
/* After the handshake, send the queued requests (as many as the peer's stream
 * limit allows); once the connection is closed, fail the unfinished ones. */
void h3cli_process(h3cli *c);
/* Requests finished (successfully or not), failed ones, and all of them. */
size_t h3cli_done(const h3cli *c);
size_t h3cli_failed(const h3cli *c);
size_t h3cli_count(const h3cli *c);
/* Requests sent again after the handshake because the 0-RTT one got 425 (RFC 8470 §5.2). */
size_t h3cli_retries(const h3cli *c);
uint64_t h3cli_body_bytes(const h3cli *c);
bool h3cli_handshake_done(const h3cli *c);
/* The connection's CLOSED event was seen (by_peer: the server closed it). */
bool h3cli_closed(const h3cli *c, bool *by_peer);
/* QPACK inserts we made, and the server's inserts into our decoder. */
uint64_t h3cli_qpack_inserts_sent(const h3cli *c);
uint64_t h3cli_qpack_inserts_received(const h3cli *c);

#endif
