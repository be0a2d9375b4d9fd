/* Test helper: a client bind_conn and a bind_server run against each other in netsim. */
#include "tests/sim/sim_bind.h"

#include <setjmp.h>
#include <stdarg.h>
#include <string.h>
#include <cmocka.h>

static void addr_of(quic_addr *a, uint8_t last, uint16_t port)
{
    memset(a, 0, sizeof(*a));
    a->family = 4;
    a->ip[0] = 192;
    a->ip[2] = 2;
    a->ip[3] = last;
    a->port = port;
}

static void *c_new(void *user, bind_conn *bc)
{
    sim_bind *b = user;
    b->client = bc;
    if (b->make_user != NULL)
        b->client_user = b->make_user(b, false, bc);
    return b->client_user;
}

static void *s_new(void *user, bind_conn *bc)
{
    sim_bind *b = user;
    assert_null(b->sconn);
    b->sconn = bc;
    b->conns_new++;
    if (b->make_user != NULL)
        b->server_user = b->make_user(b, true, bc);
    return b->server_user;
}

static void c_done(void *user, bind_conn *bc)
{
    (void)bc;
    sim_bind *b = user;
    b->client_done = true;
}

static void s_done(void *user, bind_conn *bc)
{
    (void)bc;
    sim_bind *b = user;
    b->server_done = true;
}

static void keep_close(quic_event *dst, uint8_t *buf, size_t cap, const quic_event *ev)
{
    *dst = *ev;
    size_t n = ev->len < cap ? ev->len : cap;
    if (n > 0)
        memcpy(buf, ev->data, n);
    dst->data = buf;
    dst->len = n;
}

static void c_closed(void *user, bind_conn *bc, const quic_event *ev)
{
    (void)bc;
    sim_bind *b = user;
    b->client_closed = true;
    keep_close(&b->client_close, b->client_reason, sizeof(b->client_reason), ev);
}

static void s_closed(void *user, bind_conn *bc, const quic_event *ev)
{
    (void)bc;
    sim_bind *b = user;
    b->server_closed = true;
    keep_close(&b->server_close, b->server_reason, sizeof(b->server_reason), ev);
}

static void on_writable(void *user, bind_conn *bc, uint64_t stream_id)
{
    sim_bind *b = user;
    if (b->on_writable != NULL)
        b->on_writable(bind_conn_user(bc), stream_id);
}

static void on_quic_event(void *user, bind_conn *bc, const quic_event *ev)
{
    sim_bind *b = user;
    if (b->on_quic_event != NULL)
        b->on_quic_event(bind_conn_user(bc), bc, ev);
}

static void c_free(void *user, bind_conn *bc)
{
    sim_bind *b = user;
    assert_ptr_equal(bc, b->client);
    b->client_frees++;
    if (b->free_user != NULL)
        b->free_user(b, false, bc, bind_conn_user(bc));
}

static void s_free(void *user, bind_conn *bc)
{
    sim_bind *b = user;
    assert_ptr_equal(bc, b->sconn);
    if (b->free_user != NULL)
        b->free_user(b, true, bc, bind_conn_user(bc));
    b->sconn = NULL;
    b->conns_freed++;
}

void sim_bind_init(sim_bind *b, uint64_t seed, const netsim_link_config *link,
                   const sim_certs *certs)
{
    memset(b, 0, sizeof(*b));
    test_env_init(&b->t, seed);
    assert_int_equal(netsim_create(&b->net, &b->t.env, seed, link), 0);
    b->cnode = netsim_add_node(b->net, "192.0.2.1:4433");
    b->snode = netsim_add_node(b->net, "192.0.2.2:443");
    addr_of(&b->caddr, 1, 4433);
    addr_of(&b->saddr, 2, 443);
    /* The same QUIC defaults as sim_pair_init. */
    bind_config_init(&b->ccfg, false);
    bind_config_init(&b->scfg, true);
    quic_config *c = &b->ccfg.quic;
    c->tls.server_name = "example.test";
    c->tls.verify_mode = CRYPTO_VERIFY_CHAIN;
    c->tls.ca_store = certs->store;
    c->initial_rtt_ms = 100;
    quic_config *s = &b->scfg.quic;
    s->tls.cert_chain = certs->chain;
    s->tls.cert_chain_lens = certs->chain_lens;
    s->tls.cert_chain_count = 1;
    s->tls.private_key = certs->leaf_key;
    s->initial_rtt_ms = 100;
}

void sim_bind_start(sim_bind *b)
{
    b->ccfg.cb = (bind_callbacks){.user = b,
                                  .on_conn_new = c_new,
                                  .on_handshake_done = c_done,
                                  .on_closed = c_closed,
                                  .on_writable = on_writable,
                                  .on_quic_event = on_quic_event,
                                  .on_conn_free = c_free};
    b->scfg.cb = (bind_callbacks){.user = b,
                                  .on_conn_new = s_new,
                                  .on_handshake_done = s_done,
                                  .on_closed = s_closed,
                                  .on_writable = on_writable,
                                  .on_quic_event = on_quic_event,
                                  .on_conn_free = s_free};
    b->server = bind_server_new(&b->t.env, &b->scfg);
    assert_non_null(b->server);
    bind_conn *c =
        bind_conn_client_new(&b->t.env, &b->ccfg, &b->caddr, &b->saddr, netsim_now(b->net));
    assert_non_null(c);
    assert_ptr_equal(c, b->client);
}

static sim_bind *bind_of(void *user, bool *is_server)
{
    const netsim_side *side = user;
    *is_server = side->is_server;
    return side->owner;
}

static void ep_recv(void *user, const uint8_t *data, size_t len, int from, uint64_t now)
{
    bool is_server;
    sim_bind *b = bind_of(user, &is_server);
    (void)from;
    if (is_server)
        assert_int_equal(bind_server_recv(b->server, &b->caddr, &b->saddr, data, len, now),
                         BIND_OK);
    else {
        if (b->on_datagram != NULL)
            b->on_datagram(b, false, data, len);
        bind_conn_recv(b->client, &b->saddr, data, len, now);
    }
}

static size_t ep_send(void *user, uint8_t *buf, size_t cap, int *to, uint64_t now)
{
    bool is_server;
    sim_bind *b = bind_of(user, &is_server);
    (void)to;
    if (b->tick != NULL && (is_server ? b->sconn != NULL : true))
        b->tick(b, is_server, now);
    b->next_tick[is_server] = now + SIM_BIND_TICK_US;
    int n = is_server ? bind_server_send(b->server, NULL, buf, cap, now)
                      : bind_conn_send(b->client, NULL, buf, cap, now);
    assert_true(n >= 0);
    if (!is_server && n > 0 && b->on_datagram != NULL)
        b->on_datagram(b, true, buf, (size_t)n);
    return (size_t)n;
}

static uint64_t conn_timeout(sim_bind *b, bool is_server)
{
    return is_server ? bind_server_next_timeout(b->server) : bind_conn_next_timeout(b->client);
}

static uint64_t ep_timeout(void *user)
{
    bool is_server;
    sim_bind *b = bind_of(user, &is_server);
    uint64_t t = conn_timeout(b, is_server);
    /* A live connection (some timer armed) gets its periodic tick. */
    if (b->tick != NULL && t != NETSIM_NEVER && b->next_tick[is_server] < t)
        t = b->next_tick[is_server];
    return t;
}

static void ep_on_timeout(void *user, uint64_t now)
{
    bool is_server;
    sim_bind *b = bind_of(user, &is_server);
    /* Woken for a tick only: the send round that follows runs it. */
    if (conn_timeout(b, is_server) > now)
        return;
    if (is_server)
        bind_server_on_timeout(b->server, now);
    else
        bind_conn_on_timeout(b->client, now);
}

typedef struct run_ctx {
    sim_bind *b;
    bool (*done)(sim_bind *b);
} run_ctx;

static bool run_done(void *arg)
{
    run_ctx *r = arg;
    return r->done != NULL && r->done(r->b);
}

int sim_bind_run(sim_bind *b, bool (*done)(sim_bind *b), uint64_t time_limit)
{
    static const netsim_pair_ops ops = {.recv = ep_recv,
                                        .send_poll = ep_send,
                                        .next_timeout = ep_timeout,
                                        .on_timeout = ep_on_timeout};
    run_ctx r = {b, done};
    return netsim_run_pair(b->net, b->cnode, b->snode, &ops, b, run_done, &r, time_limit);
}

void sim_bind_free(sim_bind *b)
{
    bool had_server_conn = b->sconn != NULL;
    size_t freed = b->conns_freed;
    bind_conn_free(b->client);
    assert_int_equal(b->client_frees, 1);
    bind_server_free(b->server);
    /* on_conn_free exactly once per connection the server had. */
    assert_int_equal(b->conns_freed, freed + (had_server_conn ? 1 : 0));
    assert_int_equal(b->conns_freed, b->conns_new);
    netsim_destroy(b->net);
    test_env_check_leaks(&b->t);
}
