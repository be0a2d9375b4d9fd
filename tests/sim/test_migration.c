/* Sim tests: path validation and connection migration (RFC 9000 §8.2, §9): NAT rebinding, active
 * client migration, spoofed and replayed source addresses, during a 10 MB download. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "quic/conn_internal.h"
#include "tests/sim/sim_conn.h"

#define MB (1024 * 1024)
#ifndef SIM_TRANSFER_MB
#define SIM_TRANSFER_MB 10 /* sanitizer builds: 1 (tests/sim/meson.build) */
#endif
#define SIZE ((uint64_t)SIM_TRANSFER_MB * MB)

static test_env cert_env;
static sim_certs certs;

static int setup(void **state)
{
    (void)state;
    test_env_init(&cert_env, 7);
    sim_certs_make(&certs, &cert_env.env, cert_env.wall_clock);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sim_certs_free(&certs, &cert_env.env);
    test_env_check_leaks(&cert_env);
    return 0;
}

typedef enum { MOVE_NONE, MOVE_NAT, MOVE_ACTIVE, MOVE_SPOOF_AHEAD, MOVE_REPLAY } move_kind;

/* Nodes beyond the pair's client (0) and server (1). */
enum { NODE_NAT = 2, NODE_NEW_IP = 3, NODE_SPOOF = 4 };

typedef struct world {
    sim_pair p;
    netsim_endpoint eps[2];
    netsim_side sides[2];
    move_kind kind;
    uint64_t size, move_at;
    uint64_t sid;
    bool opened, fin_sent, server_writing;
    uint64_t written, received;
    bool fin, mismatch;
    bool moved;
    uint64_t t_move;
    int old_node;
    /* What crossed the wire between the server and the client's new address
     * while the server had not validated it (RFC 9000 §9.3.1). */
    uint64_t unval_in, unval_out;
    bool limit_broken;
    uint8_t last[2048];
    size_t last_len;
    size_t spoof_len;
} world;

static quic_addr addr_of_node(const netsim *net, int node)
{
    quic_addr a;
    memset(&a, 0, sizeof(a));
    unsigned b0, b1, b2, b3, port;
    assert_int_equal(
        sscanf(netsim_node_name(net, node), "%u.%u.%u.%u:%u", &b0, &b1, &b2, &b3, &port), 5);
    a.family = 4;
    a.ip[0] = (uint8_t)b0;
    a.ip[1] = (uint8_t)b1;
    a.ip[2] = (uint8_t)b2;
    a.ip[3] = (uint8_t)b3;
    a.port = (uint16_t)port;
    return a;
}

static int node_of_addr(const netsim *net, const quic_addr *a)
{
    for (int i = 0; i < 5; i++) {
        quic_addr n = addr_of_node(net, i);
        if (quic_addr_equal(&n, a))
            return i;
    }
    fail_msg("a datagram to an address no node has");
    return -1;
}

static uint8_t pattern(uint64_t off)
{
    return (uint8_t)(((off + 1) * 0x9e3779b97f4a7c15ull) >> 56);
}

/* The client asks on one stream; the server answers with size bytes. */
static void app_round(world *w, bool is_server, uint64_t now)
{
    static uint8_t buf[65536];
    sim_pair *p = &w->p;
    if (!is_server) {
        if (!w->opened && quic_conn_is_established(p->client)) {
            assert_int_equal(quic_conn_open_stream(p->client, true, &w->sid), 0);
            w->opened = true;
            assert_int_equal(quic_stream_write(p->client, w->sid, (const uint8_t *)"get", 3, true),
                             3);
        }
        return;
    }
    if (!w->server_writing)
        return;
    while (w->written < w->size) {
        size_t n = sizeof(buf);
        if (n > w->size - w->written)
            n = (size_t)(w->size - w->written);
        for (size_t i = 0; i < n; i++)
            buf[i] = pattern(w->written + i);
        int64_t k = quic_stream_write(p->server, w->sid, buf, n, w->written + n == w->size);
        if (k < 0)
            fprintf(stderr, "write %lld at %llu of stream %llu, state %d\n", (long long)k,
                    (unsigned long long)w->written, (unsigned long long)w->sid,
                    (int)p->server->state);
        assert_true(k >= 0);
        w->written += (uint64_t)k;
        if ((size_t)k < n)
            break;
    }
    (void)now;
}

static void drain(world *w, bool is_server, uint64_t now)
{
    static uint8_t buf[65536];
    sim_pair *p = &w->p;
    quic_conn *c = is_server ? p->server : p->client;
    if (c == NULL)
        return;
    quic_event ev;
    while (quic_conn_poll_event(c, &ev)) {
        if (ev.type == QUIC_EVENT_CLOSED) {
            fprintf(stderr, "%s closed: code 0x%llx by_peer %d reason %.*s\n",
                    is_server ? "server" : "client", (unsigned long long)ev.error_code,
                    (int)ev.by_peer, (int)ev.len, (const char *)ev.data);
            if (is_server)
                p->server_closed = true;
            else
                p->client_closed = true;
        }
        if (ev.type != QUIC_EVENT_STREAM_READABLE)
            continue;
        for (;;) {
            bool fin = false;
            int64_t n = quic_stream_read(c, ev.stream_id, buf, sizeof(buf), &fin);
            assert_true(n >= 0);
            if (is_server) {
                if (fin) {
                    w->sid = ev.stream_id;
                    w->server_writing = true;
                }
            } else {
                for (int64_t i = 0; i < n; i++)
                    if (buf[i] != pattern(w->received + (uint64_t)i))
                        w->mismatch = true;
                w->received += (uint64_t)n;
                if (fin)
                    w->fin = true;
            }
            if (n == 0 || fin)
                break;
        }
    }
    (void)now;
}

/* The client's address changes here (or an attacker acts) once move_at bytes arrived. */
static void maybe_move(world *w, uint64_t now)
{
    sim_pair *p = &w->p;
    if (w->moved || w->kind == MOVE_NONE || w->received < w->move_at)
        return;
    w->moved = true;
    w->t_move = now;
    w->old_node = w->eps[0].node;
    switch (w->kind) {
    case MOVE_NAT: /* the NAT gives the client a new port; the client knows nothing */
        w->eps[0].node = NODE_NAT;
        break;
    case MOVE_ACTIVE: {
        w->eps[0].node = NODE_NEW_IP;
        quic_addr local = addr_of_node(p->net, NODE_NEW_IP);
        assert_int_equal(quic_conn_migrate(p->client, &local, now), QUIC_OK);
        break;
    }
    default:
        break;
    }
}

static void ep_recv(void *user, const uint8_t *data, size_t len, int from, uint64_t now)
{
    netsim_side *side = user;
    world *w = side->owner;
    sim_pair *p = &w->p;
    quic_addr fa = addr_of_node(p->net, from);
    if (side->is_server) {
        if (p->server == NULL) {
            p->server = quic_conn_accept(&p->t.env, &p->scfg, &p->saddr, &fa, data, len, now);
            assert_non_null(p->server);
        } else {
            quic_conn_recv(p->server, &fa, data, len, now);
            if (p->server->remote_unvalidated && quic_addr_equal(&fa, &p->server->remote))
                w->unval_in += len;
        }
    } else {
        quic_conn_recv(p->client, &fa, data, len, now);
    }
    drain(w, side->is_server, now);
}

static size_t ep_send(void *user, uint8_t *buf, size_t cap, int *to, uint64_t now)
{
    netsim_side *side = user;
    world *w = side->owner;
    sim_pair *p = &w->p;
    quic_conn *c = side->is_server ? p->server : p->client;
    if (c == NULL)
        return 0;
    drain(w, side->is_server, now);
    if (!side->is_server)
        maybe_move(w, now);
    app_round(w, side->is_server, now);
    quic_addr dest;
    int n = quic_conn_send(c, &dest, buf, cap, now);
    assert_true(n >= 0);
    if (n == 0)
        return 0;
    *to = node_of_addr(p->net, &dest);
    if (side->is_server && p->server->remote_unvalidated &&
        quic_addr_equal(&dest, &p->server->remote)) {
        w->unval_out += (uint64_t)n;
        if (w->unval_out > 3 * w->unval_in)
            w->limit_broken = true;
    }
    if (!side->is_server) {
        /* An attacker copies what the client sends, once the move is due. */
        if (w->moved && w->spoof_len == 0 &&
            (w->kind == MOVE_SPOOF_AHEAD || w->kind == MOVE_REPLAY)) {
            w->spoof_len = (size_t)n;
            if (w->kind == MOVE_SPOOF_AHEAD) {
                /* On the path, faster than the original (§9.3.2). */
                assert_int_equal(netsim_send(p->net, NODE_SPOOF, p->snode, buf, (size_t)n, now),
                                 NETSIM_QUEUED);
            } else {
                memcpy(w->last, buf, (size_t)n);
                w->last_len = (size_t)n;
            }
        } else if (w->kind == MOVE_REPLAY && w->last_len > 0) {
            /* Off the path: the copy comes after the original (§9.3.3). */
            assert_int_equal(netsim_send(p->net, NODE_SPOOF, p->snode, w->last, w->last_len, now),
                             NETSIM_QUEUED);
            w->last_len = 0;
        }
    }
    return (size_t)n;
}

static uint64_t ep_timeout(void *user)
{
    netsim_side *side = user;
    world *w = side->owner;
    quic_conn *c = side->is_server ? w->p.server : w->p.client;
    return c != NULL ? quic_conn_next_timeout(c) : NETSIM_NEVER;
}

static void ep_on_timeout(void *user, uint64_t now)
{
    netsim_side *side = user;
    world *w = side->owner;
    quic_conn *c = side->is_server ? w->p.server : w->p.client;
    if (c != NULL)
        quic_conn_on_timeout(c, now);
    drain(w, side->is_server, now);
}

static bool world_done(void *arg)
{
    world *w = arg;
    return w->fin || w->p.client_closed || w->p.server_closed;
}

static void run_world(world *w, move_kind kind, uint64_t seed)
{
    w->kind = kind;
    w->size = SIZE;
    w->move_at = SIZE * 3 / 10;
    netsim_link_config l = {
        .delay_us = 10000, .rate_bytes_per_s = 12500000, .queue_bytes = 256 * 1024};
    sim_pair_init(&w->p, seed, &l, &certs);
    sim_pair *p = &w->p;
    assert_int_equal(netsim_add_node(p->net, "192.0.2.1:5555"), NODE_NAT);
    assert_int_equal(netsim_add_node(p->net, "198.51.100.7:4433"), NODE_NEW_IP);
    assert_int_equal(netsim_add_node(p->net, "203.0.113.66:666"), NODE_SPOOF);
    netsim_link_config fast = {.delay_us = 1000};
    if (kind == MOVE_SPOOF_AHEAD)
        netsim_set_link(p->net, NODE_SPOOF, p->snode, &fast);
    sim_pair_start(p);
    for (int i = 0; i < 2; i++) {
        w->sides[i] = (netsim_side){.owner = w, .is_server = i == 1};
        w->eps[i] = (netsim_endpoint){.user = &w->sides[i],
                                      .node = i == 0 ? p->cnode : p->snode,
                                      .recv = ep_recv,
                                      .send_poll = ep_send,
                                      .next_timeout = ep_timeout,
                                      .on_timeout = ep_on_timeout};
    }
    int r = netsim_run(p->net, w->eps, 2, world_done, w, 600000000);
    const quic_conn_stats *ss = p->server ? quic_conn_get_stats(p->server) : NULL;
    if (getenv("SIM_VERBOSE") != NULL || r != NETSIM_OK)
        fprintf(stderr,
                "kind %d: r=%d received %llu at %.3f s (moved at %.3f s); server migrations %llu "
                "challenges %llu validated %llu failed %llu; unvalidated in %llu out %llu; "
                "probes %llu\n",
                (int)kind, r, (unsigned long long)w->received, (double)netsim_now(p->net) / 1e6,
                (double)w->t_move / 1e6, (unsigned long long)(ss ? ss->migrations : 0),
                (unsigned long long)(ss ? ss->path_challenges_sent : 0),
                (unsigned long long)(ss ? ss->paths_validated : 0),
                (unsigned long long)(ss ? ss->path_failures : 0), (unsigned long long)w->unval_in,
                (unsigned long long)w->unval_out,
                (unsigned long long)(ss ? ss->pmtu_probes_sent : 0));
    if (r != NETSIM_OK && p->server != NULL)
        fprintf(stderr,
                "now %llu: server timeout %llu (path %llu, recovery %llu, pacer %llu); client "
                "timeout %llu (path %llu, recovery %llu, pacer %llu)\n",
                (unsigned long long)netsim_now(p->net),
                (unsigned long long)quic_conn_next_timeout(p->server),
                (unsigned long long)quic_path_next_timeout(p->server),
                (unsigned long long)quic_recovery_next_timeout(&p->server->rec),
                (unsigned long long)p->server->pacer_wait,
                (unsigned long long)quic_conn_next_timeout(p->client),
                (unsigned long long)quic_path_next_timeout(p->client),
                (unsigned long long)quic_recovery_next_timeout(&p->client->rec),
                (unsigned long long)p->client->pacer_wait);
    assert_int_equal(r, NETSIM_OK);
    assert_false(p->client_closed);
    assert_false(p->server_closed);
    assert_true(w->fin);
    assert_false(w->mismatch);
    assert_int_equal(w->received, w->size);
    assert_false(w->limit_broken);
    /* The server ends up sending to where the client is. */
    quic_addr at = addr_of_node(p->net, w->eps[0].node);
    assert_true(quic_addr_equal(&p->server->remote, &at));
}

/* RFC 9000 §9.3: the client's port changes under it (same connection ID). */
static void test_nat_rebinding(void **state)
{
    (void)state;
    world w;
    memset(&w, 0, sizeof(w));
    run_world(&w, MOVE_NAT, 21);
    const quic_conn_stats *ss = quic_conn_get_stats(w.p.server);
    assert_true(w.moved);
    assert_int_equal(ss->migrations, 1);
    assert_true(ss->path_challenges_sent >= 1);
    assert_true(ss->paths_validated >= 1);
    assert_true(w.unval_out > 0);
    /* The same connection ID still, and port-only: congestion state and
     * PMTU kept (§9.4), so no second PMTU search. */
    assert_int_equal(quic_conn_get_stats(w.p.client)->migrations, 0);
    assert_int_equal(ss->pmtu_probes_sent, 1);
    sim_pair_free(&w.p);
}

/* RFC 9000 §9.2, §9.5: the client moves to a new address with a new
 * connection ID; the server validates it and starts the path afresh. */
static void test_active_migration(void **state)
{
    (void)state;
    world w;
    memset(&w, 0, sizeof(w));
    run_world(&w, MOVE_ACTIVE, 22);
    const quic_conn_stats *ss = quic_conn_get_stats(w.p.server);
    const quic_conn_stats *cs = quic_conn_get_stats(w.p.client);
    assert_int_equal(cs->migrations, 1);
    assert_int_equal(ss->migrations, 1);
    assert_true(ss->paths_validated >= 1);
    assert_true(cs->paths_validated >= 1); /* the client checked the new path too */
    assert_int_equal(w.p.client->pcid[w.p.client->pcid_cur].seq, 1);
    /* A new IP: the server restarted its PMTU search on the new path (§9.4). */
    assert_true(ss->pmtu_probes_sent >= 2);
    assert_int_equal(ss->pmtu, 1452);
    sim_pair_free(&w.p);
}

/* The server refused active migration: the client does not try. */
static void test_disable_active_migration(void **state)
{
    (void)state;
    world w;
    memset(&w, 0, sizeof(w));
    netsim_link_config l = {.delay_us = 10000};
    sim_pair_init(&w.p, 23, &l, &certs);
    w.p.scfg.disable_active_migration = true;
    sim_pair_start(&w.p);
    assert_int_equal(sim_pair_run(&w.p, sim_handshake_done, 10000000), NETSIM_OK);
    assert_int_equal(sim_pair_run(&w.p, NULL, netsim_now(w.p.net) + 200000), NETSIM_ERR_TIMELIMIT);
    quic_addr local = addr_of_node(w.p.net, 0);
    local.port = 9999;
    assert_int_equal(quic_conn_migrate(w.p.client, &local, netsim_now(w.p.net)), QUIC_ERR_ARGUMENT);
    assert_int_equal(quic_conn_migrate(w.p.server, &local, netsim_now(w.p.net)), QUIC_ERR_ARGUMENT);
    sim_pair_free(&w.p);
}

/* RFC 9000 §9.3.2: an on-path attacker's copy from a spoofed address
 * arrives first. The server sends at most three times that datagram to the
 * spoofed address, challenges the old path, and is back with the client. */
static void test_spoofed_source(void **state)
{
    (void)state;
    world w;
    memset(&w, 0, sizeof(w));
    run_world(&w, MOVE_SPOOF_AHEAD, 24);
    assert_true(w.spoof_len > 0);
    netsim_stats to_spoof = netsim_get_stats(w.p.net, w.p.snode, NODE_SPOOF);
    assert_true(to_spoof.sent_bytes > 0); /* its PATH_CHALLENGE */
    assert_true(to_spoof.sent_bytes <= 3 * w.spoof_len);
    /* It went there and came back (the client's next packet), and only
     * the old path was ever validated. */
    const quic_conn_stats *ss = quic_conn_get_stats(w.p.server);
    assert_int_equal(ss->migrations, 2);
    assert_false(w.p.server->remote_unvalidated);
    quic_addr client = addr_of_node(w.p.net, w.p.cnode);
    assert_true(quic_addr_equal(&w.p.server->validated, &client));
    sim_pair_free(&w.p);
}

/* RFC 9000 §9.3.3: a copy that comes after the original is a duplicate
 * and moves nothing. */
static void test_replayed_source(void **state)
{
    (void)state;
    world w;
    memset(&w, 0, sizeof(w));
    run_world(&w, MOVE_REPLAY, 25);
    assert_true(w.spoof_len > 0);
    netsim_stats from_spoof = netsim_get_stats(w.p.net, NODE_SPOOF, w.p.snode);
    assert_int_equal(from_spoof.delivered, 1);
    assert_int_equal(quic_conn_get_stats(w.p.server)->migrations, 0);
    assert_int_equal(netsim_get_stats(w.p.net, w.p.snode, NODE_SPOOF).sent, 0);
    sim_pair_free(&w.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nat_rebinding),
        cmocka_unit_test(test_active_migration),
        cmocka_unit_test(test_disable_active_migration),
        cmocka_unit_test(test_spoofed_source),
        cmocka_unit_test(test_replayed_source),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
