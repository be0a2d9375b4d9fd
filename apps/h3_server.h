/* quince-server's HTTP/3 side: static files over h3 on one QUIC connection. */
#ifndef APPS_H3_SERVER_H
#define APPS_H3_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "bind/bind.h"

/* Opens a request path inside the server's root: an fd and the file's size,
 * or -1 (404). The caller closes the fd. */
typedef int (*h3srv_open_fn)(void *user, const char *path, uint64_t *size);

typedef struct h3srv_stats {
    uint64_t requests, served, not_found;
    uint64_t early;     /* requests for files that arrived in 0-RTT (h3_conn_stream_early) */
    uint64_t too_early; /* ... of which answered 425 (Too Early, RFC 8470 §5.2) */
    uint64_t qpack_inserts_received, qpack_inserts_sent; /* over finished connections */
} h3srv_stats;

typedef struct h3srv_conn h3srv_conn;

/* HTTP/3 on cfg (a server's bind_config): h3 on, our h3 callbacks (their user
 * is each connection's h3srv_conn, returned from on_conn_new). */
void h3srv_config(bind_config *cfg);
/* For bind_callbacks.on_conn_new: NULL when out of memory. stats is shared by
 * the server's connections. */
h3srv_conn *h3srv_conn_new(bind_conn *bc, h3srv_open_fn open_file, void *open_user,
                           h3srv_stats *stats, bool verbose);
/* RFC 8470 §5.2: requests for paths starting with one of prefixes[0..n) that
 * arrived in 0-RTT are answered 425 (Too Early) instead of served (not
 * replay-safe); the client retries them after the handshake. prefixes must
 * outlive c. */
void h3srv_conn_refuse_early(h3srv_conn *c, const char *const *prefixes, size_t n);
/* For on_conn_free: logs the connection's QPACK counters (one line) and frees
 * our state (c may be NULL). */
void h3srv_conn_free(h3srv_conn *c);
/* For on_writable and on_closed. */
void h3srv_conn_writable(h3srv_conn *c, uint64_t stream_id);
void h3srv_conn_closed(h3srv_conn *c, const quic_event *ev);

#endif
