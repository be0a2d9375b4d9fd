/* Test helper: QUIC client and server connections (or an endpoint) run against each other in
 * netsim. */
#ifndef TESTS_SIM_SIM_CONN_H
#define TESTS_SIM_SIM_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quic/quic.h"
#include "tests/common/test_env.h"
#include "tests/sim/netsim.h"

/* Certificates made once per test program. */
typedef struct sim_certs {
    uint8_t *ca_der, *ca_key_der, *leaf_der, *leaf_key_der;
    size_t ca_len, ca_key_len, leaf_len, leaf_key_len;
    crypto_privkey *ca_key, *leaf_key;
    crypto_x509_store *store;
    const uint8_t *chain[1];
    size_t chain_lens[1];
} sim_certs;

struct sim_pair;
/* Called with every event of one side (is_server), and once per send round
 * (ev NULL) so that the application can write. */
typedef void (*sim_app_fn)(struct sim_pair *p, bool is_server, const quic_event *ev, uint64_t now);

typedef struct sim_pair {
    test_env t;
    netsim *net;
    int cnode, snode;
    quic_config ccfg, scfg;
    quic_conn *client, *server;
    quic_addr caddr, saddr;
    sim_app_fn app;
    void *user;
    bool client_done, server_done;     /* HANDSHAKE_DONE seen */
    bool client_closed, server_closed; /* CLOSED event seen */
    quic_event client_close, server_close;
    uint64_t server_accepts;
} sim_pair;

void sim_certs_make(sim_certs *c, const quince_env *env, int64_t now_unix);
void sim_certs_free(sim_certs *c, const quince_env *env);

/* Set up env, netsim (link config for both directions) and default configs
 * (ALPN "h3", chain verification against certs). */
void sim_pair_init(sim_pair *p, uint64_t seed, const netsim_link_config *link,
                   const sim_certs *certs);
/* Create the client connection (after adjusting ccfg/scfg). */
void sim_pair_start(sim_pair *p);
/* Run until done(p) or time_limit (absolute virtual time). Returns netsim_run's result. */
int sim_pair_run(sim_pair *p, bool (*done)(sim_pair *p), uint64_t time_limit);
void sim_pair_free(sim_pair *p);

bool sim_handshake_done(sim_pair *p);

#endif
