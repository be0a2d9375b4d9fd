/* quince-server's HTTP/3 side: static files over h3 on one QUIC connection. */
#ifndef APPS_H3_SERVER_H
#define APPS_H3_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "quic/quic.h"

/* Opens a request path inside the server's root: an fd and the file's size,
 * or -1 (404). The caller closes the fd. */
typedef int (*h3srv_open_fn)(void *user, const char *path, uint64_t *size);

typedef struct h3srv_stats {
    uint64_t requests, served, not_found;
    uint64_t qpack_inserts_received, qpack_inserts_sent; /* over finished connections */
} h3srv_stats;

typedef struct h3srv_conn h3srv_conn;

/* NULL when out of memory. stats is shared by the server's connections. */
h3srv_conn *h3srv_conn_new(const quince_env *env, quic_conn *qc, h3srv_open_fn open_file,
                           void *open_user, h3srv_stats *stats, bool verbose);
/* Logs the connection's QPACK counters (one line) and frees our state; the
 * quic_conn itself belongs to the endpoint. */
void h3srv_conn_free(h3srv_conn *c);
/* Poll the connection's events, serve requests and push response bodies.
 * Returns true once the connection's CLOSED event was seen. */
bool h3srv_conn_process(h3srv_conn *c, uint64_t now);

#endif
