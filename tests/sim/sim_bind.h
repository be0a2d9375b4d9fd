/* Test helper: a client bind_conn and a bind_server run against each other in netsim. */
#ifndef TESTS_SIM_SIM_BIND_H
#define TESTS_SIM_SIM_BIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bind/bind.h"
#include "tests/sim/sim_conn.h"

struct sim_bind;
/* Called once per send round of one side (is_server) so that the application can write. */
typedef void (*sim_bind_tick_fn)(struct sim_bind *b, bool is_server, uint64_t now);

#define SIM_BIND_TICK_US 100000

typedef struct sim_bind {
    test_env t;
    netsim *net;
    int cnode, snode;
    quic_addr caddr, saddr;
    /* Configurations (bind_config_init, then the defaults of sim_pair_init);
     * cb is the harness's: use conn_user for the h3/wt callbacks' user. */
    bind_config ccfg, scfg;
    void *client_user, *server_user; /* user pointers of the two connections */
    /* When set: makes each connection's user pointer instead (on_conn_new). */
    void *(*make_user)(struct sim_bind *b, bool is_server, bind_conn *bc);
    /* When set: called from on_conn_free with that pointer (bc still alive). */
    void (*free_user)(struct sim_bind *b, bool is_server, bind_conn *bc, void *user);
    bind_conn *client;
    bind_server *server;
    bind_conn *sconn; /* the server's connection, NULL before and after */
    /* With tick set, each side is also polled (a send round, so a tick) at
     * least every SIM_BIND_TICK_US while its connection has a timer armed:
     * an application may need time to pass with nothing in flight (as
     * wt_check_tick, which resends its datagram every 100 ms). */
    sim_bind_tick_fn tick;
    uint64_t next_tick[2]; /* client, server */
    void *user;
    bool client_done, server_done;
    bool client_closed, server_closed;
    quic_event client_close, server_close; /* data points to the copies below */
    uint8_t client_reason[256], server_reason[256];
    size_t conns_new, conns_freed; /* the server's on_conn_new / on_conn_free */
    size_t client_frees;
    void (*on_writable)(void *conn_user, uint64_t stream_id);
    /* Without HTTP/3: the stream events of either side (conn_user tells which). */
    void (*on_quic_event)(void *conn_user, bind_conn *bc, const quic_event *ev);
    /* When set: every datagram the client sends (client_sent) or receives, as a capture
     * taken at the client would see it (lost ones are sent, not received). */
    void (*on_datagram)(struct sim_bind *b, bool client_sent, const uint8_t *data, size_t len);
} sim_bind;

/* Environment, netsim, addresses and configurations (h3 on, ALPN "h3", chain
 * verification against certs). Adjust ccfg/scfg, then sim_bind_start. */
void sim_bind_init(sim_bind *b, uint64_t seed, const netsim_link_config *link,
                   const sim_certs *certs);
/* Create the server and the client connection. */
void sim_bind_start(sim_bind *b);
int sim_bind_run(sim_bind *b, bool (*done)(sim_bind *b), uint64_t time_limit);
/* Free both (the server's connection through on_conn_free), netsim, and check leaks. */
void sim_bind_free(sim_bind *b);

#endif
