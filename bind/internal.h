/* Internal state of the binding: a connection (bind/conn.c) and a server of them (bind/server.c).
 */
#ifndef BIND_INTERNAL_H
#define BIND_INTERNAL_H

#include "bind/bind.h"
#include "bind/opt.h"

struct bind_conn {
    const quince_env *env;
    const bind_config *cfg; /* the server's, or cfg_own for a client */
    bind_config *cfg_own;
    bind_server *server; /* NULL for a client connection */
    bind_conn *prev, *next;
    quic_conn *qc;
    h3_conn *h3;
    wt_endpoint *wt;
    void *user;
    uint64_t now;      /* of the last driving call, for the calls h3 makes into QUIC */
    bool started;      /* h3_conn_start done */
    bool peer_tp_told; /* wt knows whether the peer offered reset_stream_at */
    /* The stream whose bytes h3 is being given, and whether it travelled in 0-RTT,
     * read before quic_stream_read (which may let QUIC forget the stream). */
    bool rx_early;
    uint64_t rx_stream;
    bool draining;     /* inside drain: callbacks that close do not drain again */
    size_t dgram_max;  /* last value given to wt */
    bind_conn_stats stats;
};

struct bind_server {
    const quince_env *env;
    bind_config cfg;
    quic_endpoint *ep;
    bind_conn *conns;
    size_t nconns;
    uint64_t now; /* of the last driving call: connections are created inside them */
};

/* The configuration a connection or server runs with: cfg checked (WebTransport
 * needs h3; the role matches) and its defaults filled in. False when refused. */
bool bind_config_resolve(const bind_config *cfg, bool is_server, bind_config *out);

/* bind/conn.c, for the server: build a connection around an endpoint's
 * quic_conn (NULL when out of memory), drain its events, and free what the
 * binding owns of it (not the quic_conn). */
bind_conn *bind_conn_adopt(const quince_env *env, const bind_config *cfg, bind_server *server,
                           quic_conn *qc, uint64_t now);
void bind_conn_drain(bind_conn *bc, uint64_t now);
void bind_conn_release(bind_conn *bc);

#endif
