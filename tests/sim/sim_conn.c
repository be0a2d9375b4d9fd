/* Test helper: QUIC client and server connections run against each other in netsim. */
#include "tests/sim/sim_conn.h"

#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <cmocka.h>

static const char *const alpn_h3[] = {"h3", NULL};

void sim_certs_make(sim_certs *c, const quince_env *env, int64_t now)
{
    memset(c, 0, sizeof(*c));
    crypto_cert_params ca = {.common_name = "Quince Sim CA",
                             .not_before_unix = now - 86400,
                             .not_after_unix = now + 365 * 86400,
                             .is_ca = true};
    assert_int_equal(crypto_cert_generate(env, &ca, &c->ca_der, &c->ca_len, &c->ca_key_der,
                                          &c->ca_key_len, &c->ca_key),
                     0);
    crypto_cert_params leaf = {.common_name = "example.test",
                               .dns_name = "example.test",
                               .not_before_unix = now - 86400,
                               .not_after_unix = now + 30 * 86400,
                               .issuer_der = c->ca_der,
                               .issuer_der_len = c->ca_len,
                               .issuer_key = c->ca_key};
    assert_int_equal(crypto_cert_generate(env, &leaf, &c->leaf_der, &c->leaf_len, &c->leaf_key_der,
                                          &c->leaf_key_len, &c->leaf_key),
                     0);
    c->store = crypto_x509_store_new(env);
    assert_non_null(c->store);
    assert_int_equal(crypto_x509_store_add(c->store, c->ca_der, c->ca_len), 0);
    c->chain[0] = c->leaf_der;
    c->chain_lens[0] = c->leaf_len;
}

void sim_certs_free(sim_certs *c, const quince_env *env)
{
    crypto_x509_store_free(env, c->store);
    quince_env_free(env, c->ca_der);
    quince_env_free(env, c->ca_key_der);
    quince_env_free(env, c->leaf_der);
    quince_env_free(env, c->leaf_key_der);
    crypto_privkey_free(env, c->ca_key);
    crypto_privkey_free(env, c->leaf_key);
}

static void addr_of(quic_addr *a, uint8_t last, uint16_t port)
{
    memset(a, 0, sizeof(*a));
    a->family = 4;
    a->ip[0] = 192;
    a->ip[2] = 2;
    a->ip[3] = last;
    a->port = port;
}

void sim_pair_init(sim_pair *p, uint64_t seed, const netsim_link_config *link,
                   const sim_certs *certs)
{
    memset(p, 0, sizeof(*p));
    test_env_init(&p->t, seed);
    assert_int_equal(netsim_create(&p->net, &p->t.env, seed, link), 0);
    p->cnode = netsim_add_node(p->net, "192.0.2.1:4433");
    p->snode = netsim_add_node(p->net, "192.0.2.2:443");
    addr_of(&p->caddr, 1, 4433);
    addr_of(&p->saddr, 2, 443);
    quic_config *c = &p->ccfg;
    c->tls.alpn = alpn_h3;
    c->tls.server_name = "example.test";
    c->tls.verify_mode = CRYPTO_VERIFY_CHAIN;
    c->tls.ca_store = certs->store;
    c->initial_rtt_ms = 100;
    quic_config *s = &p->scfg;
    s->is_server = true;
    s->tls.alpn = alpn_h3;
    s->tls.cert_chain = certs->chain;
    s->tls.cert_chain_lens = certs->chain_lens;
    s->tls.cert_chain_count = 1;
    s->tls.private_key = certs->leaf_key;
    s->initial_rtt_ms = 100;
}

void sim_pair_start(sim_pair *p)
{
    p->client = quic_conn_client_new(&p->t.env, &p->ccfg, &p->caddr, &p->saddr, netsim_now(p->net));
    assert_non_null(p->client);
}

static void drain_events(sim_pair *p, bool is_server, uint64_t now)
{
    quic_conn *c = is_server ? p->server : p->client;
    if (c == NULL)
        return;
    quic_event ev;
    while (quic_conn_poll_event(c, &ev)) {
        if (ev.type == QUIC_EVENT_HANDSHAKE_DONE) {
            if (is_server)
                p->server_done = true;
            else
                p->client_done = true;
        } else if (ev.type == QUIC_EVENT_CLOSED) {
            if (is_server) {
                p->server_closed = true;
                p->server_close = ev;
            } else {
                p->client_closed = true;
                p->client_close = ev;
            }
        }
        if (p->app != NULL)
            p->app(p, is_server, &ev, now);
    }
}

static void ep_recv(void *user, const uint8_t *data, size_t len, int from, uint64_t now)
{
    const netsim_side *side = user;
    sim_pair *p = side->owner;
    bool is_server = side->is_server;
    (void)from;
    if (is_server) {
        if (p->server == NULL) {
            p->server = quic_conn_accept(&p->t.env, &p->scfg, &p->saddr, &p->caddr, data, len, now);
            if (p->server != NULL)
                p->server_accepts++;
        } else {
            quic_conn_recv_ecn(p->server, &p->caddr, data, len, netsim_last_ecn(p->net), now);
        }
    } else {
        quic_conn_recv_ecn(p->client, &p->saddr, data, len, netsim_last_ecn(p->net), now);
    }
    drain_events(p, is_server, now);
}

static size_t ep_send(void *user, uint8_t *buf, size_t cap, int *to, uint64_t now)
{
    const netsim_side *side = user;
    sim_pair *p = side->owner;
    bool is_server = side->is_server;
    (void)to;
    quic_conn *c = is_server ? p->server : p->client;
    if (c == NULL)
        return 0;
    drain_events(p, is_server, now);
    if (p->app != NULL)
        p->app(p, is_server, NULL, now);
    int n = quic_conn_send(c, NULL, buf, cap, now);
    assert_true(n >= 0);
    netsim_set_send_ecn(p->net, quic_conn_ecn(c));
    return (size_t)n;
}

static uint64_t ep_timeout(void *user)
{
    const netsim_side *side = user;
    sim_pair *p = side->owner;
    bool is_server = side->is_server;
    quic_conn *c = is_server ? p->server : p->client;
    return c != NULL ? quic_conn_next_timeout(c) : NETSIM_NEVER;
}

static void ep_on_timeout(void *user, uint64_t now)
{
    const netsim_side *side = user;
    sim_pair *p = side->owner;
    bool is_server = side->is_server;
    quic_conn *c = is_server ? p->server : p->client;
    if (c != NULL)
        quic_conn_on_timeout(c, now);
    drain_events(p, is_server, now);
}

typedef struct run_ctx {
    sim_pair *p;
    bool (*done)(sim_pair *p);
} run_ctx;

static bool run_done(void *arg)
{
    run_ctx *r = arg;
    return r->done != NULL && r->done(r->p);
}

int sim_pair_run(sim_pair *p, bool (*done)(sim_pair *p), uint64_t time_limit)
{
    static const netsim_pair_ops ops = {.recv = ep_recv,
                                        .send_poll = ep_send,
                                        .next_timeout = ep_timeout,
                                        .on_timeout = ep_on_timeout};
    run_ctx r = {p, done};
    return netsim_run_pair(p->net, p->cnode, p->snode, &ops, p, run_done, &r, time_limit);
}

void sim_pair_free(sim_pair *p)
{
    quic_conn_free(p->client);
    quic_conn_free(p->server);
    netsim_destroy(p->net);
    test_env_check_leaks(&p->t);
}

bool sim_handshake_done(sim_pair *p)
{
    return p->client_done && p->server_done && quic_conn_is_established(p->client) &&
           p->server != NULL && quic_conn_is_established(p->server);
}
