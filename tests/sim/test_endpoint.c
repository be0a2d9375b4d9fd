/* Sim tests: a server endpoint with many clients: demultiplexing, Retry, Version Negotiation,
 * stateless reset, garbage (RFC 9000 §5.2, §6, §8.1, §10.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/packet_protection.h"
#include "quic/conn_internal.h"
#include "quic/endpoint.h"
#include "quic/error.h"
#include "quic/frame.h"
#include "quic/packet.h"
#include "tests/sim/sim_conn.h"

static test_env cert_env;
static sim_certs certs;
static const char *const alpn_h3[] = {"h3", NULL};

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

#define MAX_CLIENTS 256
#define MSG 1500

typedef struct client {
    quic_conn *conn;
    int node;
    uint64_t sid;
    bool opened, written, done, closed, reset;
    uint64_t received;
    uint64_t close_code;
    uint64_t closed_at; /* virtual time the client saw its CLOSED event */
} client;

typedef struct world {
    test_env t;
    netsim *net;
    quic_endpoint *ep;
    quic_config scfg, ccfg;
    client cl[MAX_CLIENTS];
    size_t ncl;
    int nodes;        /* client nodes 1..nodes */
    int garbage_node; /* -1: none */
    uint64_t garbage_sent, garbage_limit;
    bool mismatch;
    /* server app state: echo per (conn, stream) */
    size_t done_count;
    /* quic_endpoint_set_callbacks: lifetimes told, and the connection of each datagram */
    size_t conns_new, conns_freed, last_hits;
    bool freed_open; /* on_conn_free for a connection that was not closed */
    /* One client node watched: the datagrams it sends and the first it receives. */
    int watch_node; /* 0: none */
    size_t watch_sent, watch_got;
    uint64_t watch_first_sent;
    uint8_t watch_dgram[1500];
    size_t watch_len;
} world;

static void addr_for(quic_addr *a, int node)
{
    memset(a, 0, sizeof(*a));
    a->family = 4;
    a->ip[0] = 198;
    a->ip[1] = 51;
    a->ip[3] = (uint8_t)node;
    a->port = 4433;
}

static uint8_t pat(size_t client, uint64_t off)
{
    return (uint8_t)((client * 131 + off * 7 + (off >> 8)) & 0xff);
}

static size_t g_max_conns; /* the server's max_connections; 0: the default */
static bool g_zero_cid;    /* clients with an empty SCID, like Chromium */
static bool g_new_tokens;  /* the server sends NEW_TOKEN; clients keep the last one */
static uint8_t g_token[128];
static size_t g_token_len;
static int g_tokens;

static void keep_token(void *user, const uint8_t *token, size_t len)
{
    (void)user;
    assert_true(len <= sizeof(g_token));
    memcpy(g_token, token, len);
    g_token_len = len;
    g_tokens++;
}

static void world_init(world *w, uint64_t seed, const netsim_link_config *link, int nodes,
                       size_t nclients, bool retry)
{
    memset(w, 0, sizeof(*w));
    test_env_init(&w->t, seed);
    assert_int_equal(netsim_create(&w->net, &w->t.env, seed, link), 0);
    assert_int_equal(netsim_add_node(w->net, "198.51.0.0:443"), 0);
    for (int i = 1; i <= nodes; i++)
        assert_int_equal(netsim_add_node(w->net, "client"), i);
    w->nodes = nodes;
    w->garbage_node = -1;
    quic_config *s = &w->scfg;
    s->is_server = true;
    s->tls.alpn = alpn_h3;
    s->tls.cert_chain = certs.chain;
    s->tls.cert_chain_lens = certs.chain_lens;
    s->tls.cert_chain_count = 1;
    s->tls.private_key = certs.leaf_key;
    s->retry = retry;
    s->new_tokens = g_new_tokens;
    s->max_connections = g_max_conns;
    s->initial_rtt_ms = 50;
    memset(s->reset_key, 0x5a, sizeof(s->reset_key));
    w->ep = quic_endpoint_new(&w->t.env, s);
    assert_non_null(w->ep);
    quic_config *c = &w->ccfg;
    c->tls.alpn = alpn_h3;
    c->tls.server_name = "example.test";
    c->tls.ca_store = certs.store;
    c->initial_rtt_ms = 50;
    c->zero_length_cid = g_zero_cid;
    if (g_new_tokens)
        c->on_new_token = keep_token;
    w->ncl = nclients;
    quic_addr sa;
    addr_for(&sa, 0);
    for (size_t i = 0; i < nclients; i++) {
        client *cl = &w->cl[i];
        cl->node = 1 + (int)(i % (size_t)nodes);
        quic_addr ca;
        addr_for(&ca, cl->node);
        ca.port = (uint16_t)(1000 + i);
        cl->conn = quic_conn_client_new(&w->t.env, &w->ccfg, &ca, &sa, 0);
        assert_non_null(cl->conn);
    }
}

static void world_free(world *w)
{
    for (size_t i = 0; i < w->ncl; i++)
        quic_conn_free(w->cl[i].conn);
    quic_endpoint_free(w->ep);
    netsim_destroy(w->net);
    test_env_check_leaks(&w->t);
}

/* ---- server node ---- */

static void server_serve(quic_conn *c)
{
    quic_event ev;
    uint8_t buf[4096];
    while (quic_conn_poll_event(c, &ev)) {
        if (ev.type != QUIC_EVENT_STREAM_READABLE)
            continue;
        for (;;) {
            bool fin = false;
            int64_t k = quic_stream_read(c, ev.stream_id, buf, sizeof(buf), &fin);
            if (k < 0)
                break;
            if (k > 0 || fin) {
                int64_t wr = quic_stream_write(c, ev.stream_id, buf, (size_t)k, fin);
                assert_int_equal(wr, k); /* small messages fit the send buffer */
            }
            if (k == 0 || fin)
                break;
        }
    }
}

/* ---- netsim endpoints ---- */

typedef struct node_ctx {
    world *w;
    int node;
} node_ctx;

static client *client_for(world *w, int node, const uint8_t *data, size_t len)
{
    quic_pkt_parse_opts po = {.short_dcid_len = 8};
    quic_pkt_header h;
    if (quic_pkt_parse_header(data, len, &po, &h) != QUIC_OK)
        return NULL;
    for (size_t i = 0; i < w->ncl; i++) {
        client *cl = &w->cl[i];
        if (cl->node != node || cl->conn == NULL)
            continue;
        for (size_t k = 0; k < QUIC_MAX_LOCAL_CIDS; k++) {
            const quic_local_cid *l = &cl->conn->lcid[k];
            if (l->in_use && l->cid.len == h.dcid_len &&
                memcmp(l->cid.bytes, h.dcid, h.dcid_len) == 0)
                return cl;
        }
    }
    return NULL;
}

static void n_recv(void *user, const uint8_t *data, size_t len, int from, uint64_t now)
{
    node_ctx *n = user;
    world *w = n->w;
    if (n->node == 0) {
        quic_addr fa, ta;
        addr_for(&fa, from);
        addr_for(&ta, 0);
        /* The client's port is not carried by netsim: recover it from the DCID match. */
        quic_endpoint_recv(w->ep, &fa, &ta, data, len, now);
        quic_conn *last = quic_endpoint_last_conn(w->ep);
        if (last != NULL) {
            /* One of the endpoint's live connections. */
            bool live = false;
            for (size_t i = 0; i < quic_endpoint_conn_count(w->ep) && !live; i++)
                live = quic_endpoint_conn_at(w->ep, i) == last;
            assert_true(live);
            w->last_hits++;
        }
        return;
    }
    if (n->node == w->watch_node && w->watch_got++ == 0 && len <= sizeof(w->watch_dgram)) {
        memcpy(w->watch_dgram, data, len);
        w->watch_len = len;
    }
    client *cl = client_for(w, n->node, data, len);
    if (cl != NULL) {
        quic_conn_recv(cl->conn, NULL, data, len, now);
        return;
    }
    /* A stateless reset carries no CID we know: offer it to every client of this node. */
    for (size_t i = 0; i < w->ncl; i++)
        if (w->cl[i].node == n->node && w->cl[i].conn != NULL)
            quic_conn_recv(w->cl[i].conn, NULL, data, len, now);
}

static void client_app(world *w, size_t i, uint64_t now)
{
    client *cl = &w->cl[i];
    quic_conn *c = cl->conn;
    quic_event ev;
    uint8_t buf[4096];
    while (quic_conn_poll_event(c, &ev)) {
        if (ev.type == QUIC_EVENT_CLOSED) {
            cl->closed = true;
            cl->close_code = ev.error_code;
            cl->closed_at = now;
        }
        if (ev.type != QUIC_EVENT_STREAM_READABLE)
            continue;
        for (;;) {
            bool fin = false;
            int64_t k = quic_stream_read(c, ev.stream_id, buf, sizeof(buf), &fin);
            if (k < 0)
                break;
            for (int64_t j = 0; j < k; j++)
                if (buf[j] != pat(i, cl->received + (uint64_t)j))
                    w->mismatch = true;
            cl->received += (uint64_t)k;
            if (fin) {
                if (cl->received != MSG)
                    w->mismatch = true;
                if (!cl->done)
                    w->done_count++;
                cl->done = true;
            }
            if (k == 0 || fin)
                break;
        }
    }
    if (!cl->opened && quic_conn_is_established(c)) {
        assert_int_equal(quic_conn_open_stream(c, true, &cl->sid), 0);
        cl->opened = true;
    }
    if (cl->opened && !cl->written) {
        uint8_t msg[MSG];
        for (size_t j = 0; j < MSG; j++)
            msg[j] = pat(i, j);
        assert_int_equal(quic_stream_write(c, cl->sid, msg, MSG, true), MSG);
        cl->written = true;
    }
}

static size_t garbage(world *w, uint8_t *buf, size_t cap, uint64_t now)
{
    (void)now;
    if (w->garbage_sent >= w->garbage_limit)
        return 0;
    uint64_t k = w->garbage_sent++;
    uint8_t r[8];
    quince_env_random(&w->t.env, r, sizeof(r));
    size_t len = 1 + (size_t)((r[0] | (r[1] << 8)) % 1400);
    if (len > cap)
        len = cap;
    quince_env_random(&w->t.env, buf, len);
    switch (k % 5) {
    case 0: /* random bytes */
        break;
    case 1: /* a truncated Initial of v1 */
        buf[0] = 0xc0;
        buf[1] = buf[2] = buf[3] = 0;
        buf[4] = 1;
        buf[5] = 8;
        if (len < 1200 && cap >= 1200) {
            quince_env_random(&w->t.env, buf + 6, 1200 - 6);
            len = 1200;
        }
        len = len > 40 ? len - 20 : len;
        break;
    case 2: /* an unknown version, big enough for VN */
        if (cap >= 1200)
            len = 1200;
        buf[0] = 0xc0;
        buf[1] = 0x1a;
        buf[2] = 0x2a;
        buf[3] = 0x3a;
        buf[4] = 0x4a;
        buf[5] = 8;
        buf[14] = 8;
        break;
    case 3: /* short header with a random DCID: stateless reset candidates */
        buf[0] = 0x40 | (buf[0] & 0x1f);
        if (len < 50)
            len = 50;
        break;
    default: /* a 1200-byte Initial with a valid header and garbage payload */
        if (cap >= 1200)
            len = 1200;
        buf[0] = 0xc3;
        buf[1] = buf[2] = buf[3] = 0;
        buf[4] = 1;
        buf[5] = 8;
        buf[14] = 0;
        buf[15] = 0;    /* token length */
        buf[16] = 0x44; /* length 0x4??: past the end or not */
        break;
    }
    return len;
}

static size_t n_send(void *user, uint8_t *buf, size_t cap, int *to, uint64_t now)
{
    node_ctx *n = user;
    world *w = n->w;
    if (n->node == 0) {
        /* Serve every connection's events before sending. */
        while (quic_endpoint_accept(w->ep) != NULL)
            ;
        for (size_t i = 0; i < quic_endpoint_conn_count(w->ep); i++)
            server_serve(quic_endpoint_conn_at(w->ep, i));
        quic_addr dst;
        for (;;) {
            int k = quic_endpoint_send(w->ep, &dst, buf, cap, now);
            assert_true(k >= 0);
            if (k == 0)
                return 0;
            *to = dst.ip[3];
            return (size_t)k;
        }
    }
    if (n->node == w->garbage_node) {
        *to = 0;
        return garbage(w, buf, cap, now);
    }
    for (size_t i = 0; i < w->ncl; i++) {
        client *cl = &w->cl[i];
        if (cl->node != n->node || cl->conn == NULL)
            continue;
        client_app(w, i, now);
        int k = quic_conn_send(cl->conn, NULL, buf, cap, now);
        assert_true(k >= 0);
        if (k > 0) {
            if (n->node == w->watch_node && w->watch_sent++ == 0)
                w->watch_first_sent = now;
            *to = 0;
            return (size_t)k;
        }
    }
    return 0;
}

static uint64_t n_timeout(void *user)
{
    node_ctx *n = user;
    world *w = n->w;
    if (n->node == 0)
        return quic_endpoint_next_timeout(w->ep);
    if (n->node == w->garbage_node)
        return w->garbage_sent < w->garbage_limit ? netsim_now(w->net) + 200 : NETSIM_NEVER;
    uint64_t t = NETSIM_NEVER;
    for (size_t i = 0; i < w->ncl; i++) {
        if (w->cl[i].node != n->node || w->cl[i].conn == NULL)
            continue;
        uint64_t x = quic_conn_next_timeout(w->cl[i].conn);
        if (x < t)
            t = x;
    }
    return t;
}

static void n_on_timeout(void *user, uint64_t now)
{
    node_ctx *n = user;
    world *w = n->w;
    if (n->node == 0) {
        quic_endpoint_on_timeout(w->ep, now);
        return;
    }
    if (n->node == w->garbage_node)
        return;
    for (size_t i = 0; i < w->ncl; i++)
        if (w->cl[i].node == n->node && w->cl[i].conn != NULL &&
            quic_conn_next_timeout(w->cl[i].conn) <= now)
            quic_conn_on_timeout(w->cl[i].conn, now);
}

static bool all_done(void *arg)
{
    world *w = arg;
    return w->done_count == w->ncl;
}

static int world_run(world *w, bool (*done)(void *), uint64_t limit)
{
    node_ctx ctx[NETSIM_MAX_NODES];
    netsim_endpoint eps[NETSIM_MAX_NODES];
    int count = w->nodes + 1 + (w->garbage_node >= 0 ? 1 : 0);
    for (int i = 0; i < count; i++) {
        ctx[i].w = w;
        ctx[i].node = i;
        eps[i] = (netsim_endpoint){.user = &ctx[i],
                                   .node = i,
                                   .recv = n_recv,
                                   .send_poll = n_send,
                                   .next_timeout = n_timeout,
                                   .on_timeout = n_on_timeout};
    }
    return netsim_run(w->net, eps, (size_t)count, done, w, limit);
}

static netsim_link_config link_of(double loss)
{
    netsim_link_config l = {.delay_us = 10000,
                            .loss = loss,
                            .jitter_us = 1000,
                            .rate_bytes_per_s = 12500000,
                            .queue_bytes = 512 * 1024};
    return l;
}

static void test_200_connections(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0.02);
    world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    world_init(w, 21, &l, 4, 200, false);
    int r = world_run(w, all_done, 120000000);
    if (r != NETSIM_OK)
        fprintf(stderr, "200 connections: r=%d done %zu\n", r, w->done_count);
    assert_int_equal(r, NETSIM_OK);
    assert_false(w->mismatch);
    const quic_endpoint_stats *st = quic_endpoint_get_stats(w->ep);
    assert_int_equal(st->accepted, 200);
    assert_int_equal(quic_endpoint_conn_count(w->ep), 200);
    world_free(w);
    free(w);
}

/* RFC 9000 §8.1.2: every client is sent a Retry first and then completes. */
static void test_retry(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0.05);
    world *w = calloc(1, sizeof(*w));
    world_init(w, 22, &l, 2, 10, true);
    assert_int_equal(world_run(w, all_done, 60000000), NETSIM_OK);
    assert_false(w->mismatch);
    const quic_endpoint_stats *st = quic_endpoint_get_stats(w->ep);
    assert_true(st->retries >= 10);
    assert_int_equal(st->accepted, 10);
    for (size_t i = 0; i < w->ncl; i++) {
        assert_true(w->cl[i].conn->retried);
        assert_true(w->cl[i].conn->peer_tp.has_retry_scid);
    }
    world_free(w);
    free(w);
}

/* A token is bound to the address it was issued for and expires. */
static void test_retry_token(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 3);
    quic_config cfg = {.is_server = true, .retry = true};
    quic_endpoint *ep = quic_endpoint_new(&t.env, &cfg);
    assert_non_null(ep);
    quic_addr a, b;
    addr_for(&a, 1);
    addr_for(&b, 2);
    quic_cid_value od = {.len = 8, .bytes = {1, 2, 3, 4, 5, 6, 7, 8}}, rs = {.len = 8};
    uint8_t tok[QUIC_RETRY_TOKEN_MAX];
    int n = quic_endpoint_make_token(ep, &a, &od, &rs, 1000, tok, sizeof(tok));
    assert_true(n > 0);
    quic_cid_value od2, rs2;
    assert_int_equal(quic_endpoint_check_token(ep, &a, tok, (size_t)n, 2000, &od2, &rs2), QUIC_OK);
    assert_memory_equal(od2.bytes, od.bytes, 8);
    assert_int_equal(quic_endpoint_check_token(ep, &b, tok, (size_t)n, 2000, &od2, &rs2),
                     QUIC_ERR_DROP);
    assert_int_equal(quic_endpoint_check_token(ep, &a, tok, (size_t)n, 1000 + 11000000, &od2, &rs2),
                     QUIC_ERR_DROP);
    tok[20] ^= 1;
    assert_int_equal(quic_endpoint_check_token(ep, &a, tok, (size_t)n, 2000, &od2, &rs2),
                     QUIC_ERR_DROP);
    quic_endpoint_free(ep);
    test_env_check_leaks(&t);
}

/* The time the handshake took, as the client saw it: from creation to established. */
static uint64_t add_client(world *w, int node, uint16_t port, const uint8_t *token, size_t len)
{
    client *cl = &w->cl[w->ncl++];
    memset(cl, 0, sizeof(*cl));
    cl->node = node;
    quic_addr ca, sa;
    addr_for(&ca, node);
    ca.port = port;
    addr_for(&sa, 0);
    quic_config cc = w->ccfg;
    cc.token = token;
    cc.token_len = len;
    uint64_t now = netsim_now(w->net);
    cl->conn = quic_conn_client_new(&w->t.env, &cc, &ca, &sa, now);
    assert_non_null(cl->conn);
    return now;
}

/* RFC 9000 §8.1.3: a Retry server sends each client a NEW_TOKEN; a returning
 * client (another port, same address) presents it and is let in without a
 * Retry. An altered token, or one presented from another address, gets a
 * Retry, and the connection still completes. */
static void test_new_token(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0.0);
    world *w = calloc(1, sizeof(*w));
    g_new_tokens = true;
    g_tokens = 0;
    world_init(w, 24, &l, 2, 1, true);
    g_new_tokens = false;
    assert_int_equal(world_run(w, all_done, 10000000), NETSIM_OK);
    const quic_endpoint_stats *st = quic_endpoint_get_stats(w->ep);
    assert_int_equal(st->retries, 1);
    assert_true(w->cl[0].conn->retried);
    assert_int_equal(g_tokens, 1);
    assert_int_equal(g_token_len, QUIC_NEW_TOKEN_LEN);
    uint8_t token[128];
    memcpy(token, g_token, g_token_len);
    size_t token_len = g_token_len;

    /* The same address, another port, with the token: no Retry. */
    add_client(w, 1, 2001, token, token_len);
    assert_int_equal(world_run(w, all_done, 20000000), NETSIM_OK);
    assert_int_equal(st->retries, 1);
    assert_int_equal(st->new_tokens_accepted, 1);
    assert_false(w->cl[1].conn->retried);
    assert_int_equal(g_tokens, 2); /* it got a fresh one */

    /* An altered token: a Retry (not INVALID_TOKEN), then done. */
    token[10] ^= 1;
    add_client(w, 1, 2002, token, token_len);
    assert_int_equal(world_run(w, all_done, 30000000), NETSIM_OK);
    assert_int_equal(st->retries, 2);
    assert_true(w->cl[2].conn->retried);
    token[10] ^= 1;
    /* The good token from another address: a Retry too. */
    add_client(w, 2, 2003, token, token_len);
    assert_int_equal(world_run(w, all_done, 40000000), NETSIM_OK);
    assert_int_equal(st->retries, 3);
    assert_int_equal(st->new_tokens_accepted, 1);
    assert_int_equal(st->invalid_tokens, 0);
    assert_false(w->mismatch);
    world_free(w);
    free(w);
}

/* NEW_TOKEN tokens: bound to the IP address but not the port, expiring, and
 * never taken for a Retry token (nor a Retry token for one). */
static void test_new_token_check(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 4);
    quic_config cfg = {.is_server = true, .retry = true, .new_tokens = true};
    quic_endpoint *ep = quic_endpoint_new(&t.env, &cfg);
    assert_non_null(ep);
    quic_addr a, a2, b;
    addr_for(&a, 1);
    a2 = a;
    a2.port = 9999;
    addr_for(&b, 2);
    uint8_t tok[QUIC_RETRY_TOKEN_MAX];
    int n = quic_endpoint_make_new_token(ep, &a, 1000, tok, sizeof(tok));
    assert_int_equal(n, QUIC_NEW_TOKEN_LEN);
    assert_int_equal(tok[0], QUIC_NEW_TOKEN_MARK);
    assert_int_equal(quic_endpoint_check_new_token(ep, &a, tok, (size_t)n, 5000), QUIC_OK);
    assert_int_equal(quic_endpoint_check_new_token(ep, &a2, tok, (size_t)n, 5000), QUIC_OK);
    assert_int_equal(quic_endpoint_check_new_token(ep, &b, tok, (size_t)n, 5000), QUIC_ERR_DROP);
    uint64_t late = 1000 + (uint64_t)QUIC_OPT_NEW_TOKEN_LIFETIME_S * 1000000 + 1;
    assert_int_equal(quic_endpoint_check_new_token(ep, &a, tok, (size_t)n, late), QUIC_ERR_DROP);
    assert_int_equal(quic_endpoint_check_new_token(ep, &a, tok, (size_t)n - 1, 5000),
                     QUIC_ERR_DROP);
    quic_cid_value od, rs;
    assert_int_equal(quic_endpoint_check_token(ep, &a, tok, (size_t)n, 5000, &od, &rs),
                     QUIC_ERR_DROP);
    quic_cid_value od1 = {.len = 8}, rs1 = {.len = 8};
    uint8_t rt[QUIC_RETRY_TOKEN_MAX];
    int m = quic_endpoint_make_token(ep, &a, &od1, &rs1, 1000, rt, sizeof(rt));
    assert_true(m > 0);
    rt[0] = QUIC_NEW_TOKEN_MARK;
    assert_int_equal(quic_endpoint_check_new_token(ep, &a, rt, (size_t)m, 5000), QUIC_ERR_DROP);
    tok[5] ^= 1;
    assert_int_equal(quic_endpoint_check_new_token(ep, &a, tok, (size_t)n, 5000), QUIC_ERR_DROP);
    quic_endpoint_free(ep);
    test_env_check_leaks(&t);
}

/* Garbage of every kind while connections work: they all finish. */
static void test_garbage_flood(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0.01);
    world *w = calloc(1, sizeof(*w));
    world_init(w, 23, &l, 2, 10, false);
    assert_int_equal(netsim_add_node(w->net, "garbage"), 3);
    w->garbage_node = 3;
    w->garbage_limit = 3000;
    assert_int_equal(world_run(w, all_done, 60000000), NETSIM_OK);
    /* let the flood finish too */
    world_run(w, NULL, netsim_now(w->net) + 2000000);
    assert_false(w->mismatch);
    const quic_endpoint_stats *st = quic_endpoint_get_stats(w->ep);
    assert_int_equal(st->accepted, 10 + 0);
    assert_true(st->version_negotiations > 0);
    assert_true(st->dropped > 0);
    assert_true(st->stateless_resets > 0);
    for (size_t i = 0; i < w->ncl; i++)
        assert_false(w->cl[i].closed);
    world_free(w);
    free(w);
}

static bool any_closed(void *arg)
{
    world *w = arg;
    for (size_t i = 0; i < w->ncl; i++)
        if (!w->cl[i].closed)
            return false;
    return true;
}

/* RFC 9000 §10.3: the server forgets its connections (a restart with the same
 * reset key); the clients' next packets get stateless resets and they drain. */
static void test_stateless_reset(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0);
    world *w = calloc(1, sizeof(*w));
    world_init(w, 24, &l, 1, 3, false);
    assert_int_equal(world_run(w, all_done, 10000000), NETSIM_OK);
    world_run(w, NULL, netsim_now(w->net) + 1000000);
    quic_endpoint_free(w->ep);
    w->ep = quic_endpoint_new(&w->t.env, &w->scfg);
    assert_non_null(w->ep);
    for (size_t i = 0; i < w->ncl; i++)
        assert_int_equal(quic_conn_send_datagram(w->cl[i].conn, NULL, 0), QUIC_ERR_ARGUMENT);
    /* Each client sends a PING-eliciting stream write. */
    for (size_t i = 0; i < w->ncl; i++) {
        uint64_t sid;
        assert_int_equal(quic_conn_open_stream(w->cl[i].conn, false, &sid), 0);
        assert_int_equal(quic_stream_write(w->cl[i].conn, sid, (const uint8_t *)"ping", 4, true),
                         4);
    }
    assert_int_equal(world_run(w, any_closed, netsim_now(w->net) + 5000000), NETSIM_OK);
    for (size_t i = 0; i < w->ncl; i++) {
        assert_int_equal(quic_conn_get_stats(w->cl[i].conn)->stateless_resets, 1);
        assert_int_equal(w->cl[i].close_code, 0);
    }
    assert_true(quic_endpoint_get_stats(w->ep)->stateless_resets >= 3);
    world_free(w);
    free(w);
}

/* RFC 9000 §10.1: idle connections close on both sides and the endpoint forgets them. */
static void test_idle_timeout(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0);
    world *w = calloc(1, sizeof(*w));
    w->scfg.max_idle_timeout_ms = 0;
    world_init(w, 25, &l, 1, 2, false);
    assert_int_equal(world_run(w, all_done, 10000000), NETSIM_OK);
    uint64_t t0 = netsim_now(w->net);
    assert_int_equal(world_run(w, any_closed, t0 + 60000000), NETSIM_OK);
    uint64_t dt = netsim_now(w->net) - t0;
    /* The default idle timeout is 30 s, counted from the last activity. */
    assert_true(dt > 29000000 && dt < 31000000);
    world_run(w, NULL, netsim_now(w->net) + 1000000);
    assert_int_equal(quic_endpoint_conn_count(w->ep), 0);
    for (size_t i = 0; i < w->ncl; i++)
        assert_true(quic_conn_is_closed(w->cl[i].conn));
    world_free(w);
    free(w);
}

static void cb_conn_new(void *user, quic_conn *c)
{
    world *w = user;
    assert_non_null(c);
    w->conns_new++;
}

static void cb_conn_free(void *user, quic_conn *c)
{
    world *w = user;
    if (!quic_conn_is_closed(c))
        w->freed_open = true;
    w->conns_freed++;
}

/* The endpoint tells its embedder when it creates and frees each connection (no
 * rescans), and which connection each datagram went to. */
static void test_conn_callbacks(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0);
    world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    world_init(w, 27, &l, 1, 3, false);
    quic_endpoint_set_callbacks(w->ep, &(quic_endpoint_callbacks){.user = w,
                                                                  .on_conn_new = cb_conn_new,
                                                                  .on_conn_free = cb_conn_free});
    assert_int_equal(world_run(w, all_done, 10000000), NETSIM_OK);
    assert_false(w->mismatch);
    assert_int_equal(w->conns_new, 3);
    assert_int_equal(w->conns_freed, 0);
    assert_true(w->last_hits > 0);
    /* Announced connections are not handed out again by quic_endpoint_accept. */
    assert_null(quic_endpoint_accept(w->ep));
    /* Idle timeout on both sides: each connection is freed once, closed. */
    assert_int_equal(world_run(w, any_closed, netsim_now(w->net) + 60000000), NETSIM_OK);
    world_run(w, NULL, netsim_now(w->net) + 1000000);
    assert_int_equal(quic_endpoint_conn_count(w->ep), 0);
    assert_int_equal(w->conns_freed, 3);
    assert_false(w->freed_open);
    world_free(w);
    assert_int_equal(w->conns_freed, 3);
    free(w);
}

/* Chromium's clients use zero-length CIDs: the endpoint still serves each
 * (one client per node here, as addresses are what tell them apart). */
static void test_zero_length_cid_clients(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0.05);
    world *w = calloc(1, sizeof(*w));
    g_zero_cid = true;
    world_init(w, 26, &l, 5, 5, true);
    g_zero_cid = false;
    assert_int_equal(world_run(w, all_done, 60000000), NETSIM_OK);
    assert_false(w->mismatch);
    for (size_t i = 0; i < w->ncl; i++)
        assert_int_equal(w->cl[i].conn->initial_scid.len, 0);
    assert_int_equal(quic_endpoint_get_stats(w->ep)->accepted, 5);
    world_free(w);
    free(w);
}

/* Two connections with data at the same moment: quic_endpoint_send gives each a run of
 * consecutive datagrams (one GSO train per connection per turn), not one datagram each in
 * turn, which broke every train into single datagrams. */
static void test_trains_stay_whole(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0);
    world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    world_init(w, 23, &l, 2, 2, false);
    assert_int_equal(world_run(w, all_done, 60000000), NETSIM_OK);
    assert_int_equal(quic_endpoint_conn_count(w->ep), 2);
    /* Let the handshake's acknowledgments settle, then both write at once. */
    static uint8_t big[60000];
    for (size_t i = 0; i < 2; i++) {
        quic_conn *c = quic_endpoint_conn_at(w->ep, i);
        server_serve(c);
        uint64_t sid;
        assert_int_equal(quic_conn_open_stream(c, false, &sid), QUIC_OK);
        assert_int_equal(quic_stream_write(c, sid, big, sizeof(big), true), (int64_t)sizeof(big));
    }
    uint64_t now = netsim_now(w->net);
    uint8_t buf[1500];
    int seq[256];
    size_t n = 0;
    quic_addr dst;
    int k;
    while (n < 256 && (k = quic_endpoint_send(w->ep, &dst, buf, sizeof(buf), now)) > 0)
        seq[n++] = dst.ip[3];
    assert_true(n >= 8);
    /* Runs of one destination: both nodes have one, and every run but each node's last is
     * at least two datagrams long. */
    size_t runs[3] = {0}, short_runs[3] = {0};
    int last_short = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && seq[j] == seq[i])
            j++;
        assert_true(seq[i] == 1 || seq[i] == 2);
        runs[seq[i]]++;
        if (j - i < 2) {
            short_runs[seq[i]]++;
            last_short = seq[i];
        }
        i = j;
    }
    assert_true(runs[1] >= 1 && runs[2] >= 1);
    assert_true(short_runs[1] + short_runs[2] <= 2);
    (void)last_short;
    /* The first turn of each is a whole train of several datagrams. */
    size_t first = 0;
    while (first < n && seq[first] == seq[0])
        first++;
    assert_true(first >= 4);
    world_free(w);
    free(w);
}

static bool held_done_refused_closed(void *arg)
{
    world *w = arg;
    return w->cl[0].done && w->cl[1].done && w->cl[2].closed;
}

/* RFC 9000 §5.2.2, §10.2.3: past max_connections a new client's first Initial is answered
 * at once, statelessly, with an Initial under its own Initial keys that holds one frame,
 * CONNECTION_CLOSE (0x1c) with CONNECTION_REFUSED (0x02), frame type 0 and no reason. The
 * client sees it one round trip after its first datagram, sends nothing more (no
 * retransmission, no second attempt), and the connections the server holds keep working
 * meanwhile. */
static void test_refused_past_limit(void **state)
{
    (void)state;
    netsim_link_config l = link_of(0);
    world *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    g_max_conns = 2;
    world_init(w, 28, &l, 3, 2, false); /* the held clients on nodes 1 and 2 */
    g_max_conns = 0;
    assert_int_equal(world_run(w, all_done, 10000000), NETSIM_OK);
    assert_int_equal(quic_endpoint_conn_count(w->ep), 2);
    /* Both held clients start another exchange (a new stream each) as a third client, alone
     * on node 3, opens a connection. */
    for (size_t i = 0; i < 2; i++) {
        w->cl[i].opened = w->cl[i].written = w->cl[i].done = false;
        w->cl[i].received = 0;
    }
    w->done_count = 0;
    w->watch_node = 3;
    uint64_t t0 = add_client(w, 3, 3000, NULL, 0);
    client *r = &w->cl[2];
    quic_cid_value odcid = r->conn->original_dcid;
    assert_int_equal(world_run(w, held_done_refused_closed, t0 + 10000000), NETSIM_OK);
    assert_false(w->mismatch);

    /* The client gave up on the server's word, one round trip (2 x 10 ms, up to 1 ms of
     * jitter each way, 1,200 bytes at 12.5 MB/s) after its one datagram. */
    assert_true(r->closed);
    assert_int_equal(r->close_code, QUIC_TE_CONNECTION_REFUSED);
    assert_int_equal(r->conn->state, QUIC_STATE_DRAINING); /* §10.2.2: it sends nothing more */
    assert_int_equal(w->watch_first_sent, t0);
    assert_true(r->closed_at - t0 >= 20000 && r->closed_at - t0 <= 23000);
    assert_int_equal(w->watch_sent, 1);
    assert_int_equal(w->watch_got, 1);
    const quic_endpoint_stats *st = quic_endpoint_get_stats(w->ep);
    assert_int_equal(st->refused, 1);
    assert_int_equal(st->accepted, 2);
    assert_int_equal(quic_endpoint_conn_count(w->ep), 2);

    /* The exact datagram: one Initial, v1, from the DCID the client chose to its SCID... */
    quic_pkt_parse_opts po = {.short_dcid_len = 8};
    quic_pkt_header h;
    assert_int_equal(quic_pkt_parse_header(w->watch_dgram, w->watch_len, &po, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_INITIAL);
    assert_int_equal(h.version, 1);
    assert_int_equal(h.packet_len, w->watch_len);
    assert_int_equal(h.token_len, 0);
    assert_int_equal(h.scid_len, odcid.len);
    assert_memory_equal(h.scid, odcid.bytes, odcid.len);
    const quic_local_cid *lc = &r->conn->lcid[0];
    assert_int_equal(h.dcid_len, lc->cid.len);
    assert_memory_equal(h.dcid, lc->cid.bytes, lc->cid.len);
    /* ...under the server's Initial keys of that DCID... */
    crypto_pp ck, sk;
    assert_int_equal(crypto_pp_initial(&ck, &sk, &w->t.env, 1, odcid.bytes, odcid.len), 0);
    size_t hl;
    uint64_t pn;
    int pl = crypto_pp_unprotect(&sk, w->watch_dgram, w->watch_len, h.pn_offset, 0, &hl, &pn);
    crypto_pp_clear(&ck, &w->t.env);
    crypto_pp_clear(&sk, &w->t.env);
    assert_true(pl > 0);
    assert_int_equal(pn, 0);
    /* ...holding CONNECTION_CLOSE(CONNECTION_REFUSED) and nothing else but PADDING. */
    const uint8_t *p = w->watch_dgram + hl;
    size_t left = (size_t)pl, closes = 0;
    while (left > 0) {
        quic_frame f;
        int k = quic_frame_decode(p, left, QUIC_PKT_INITIAL, &f);
        assert_true(k > 0);
        if (f.type == QUIC_FT_CONNECTION_CLOSE) {
            closes++;
            assert_int_equal(f.u.close.error_code, QUIC_TE_CONNECTION_REFUSED);
            assert_int_equal(f.u.close.frame_type, 0);
            assert_int_equal(f.u.close.reason_len, 0);
        } else {
            assert_int_equal(f.type, QUIC_FT_PADDING);
        }
        p += k;
        left -= (size_t)k;
    }
    assert_int_equal(closes, 1);

    /* Later: the refused client stays silent (nothing retransmitted, no new attempt), and
     * the held connections still carry a third exchange. */
    for (size_t i = 0; i < 2; i++) {
        w->cl[i].opened = w->cl[i].written = w->cl[i].done = false;
        w->cl[i].received = 0;
    }
    assert_int_equal(world_run(w, held_done_refused_closed, netsim_now(w->net) + 10000000),
                     NETSIM_OK);
    world_run(w, NULL, netsim_now(w->net) + 3000000);
    assert_false(w->mismatch);
    assert_int_equal(w->watch_sent, 1);
    assert_int_equal(w->watch_got, 1);
    assert_true(quic_conn_is_closed(r->conn)); /* the draining period is over */
    assert_int_equal(st->refused, 1);
    assert_int_equal(quic_endpoint_conn_count(w->ep), 2);
    for (size_t i = 0; i < 2; i++)
        assert_false(w->cl[i].closed);
    world_free(w);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_token),
        cmocka_unit_test(test_new_token_check),
        cmocka_unit_test(test_new_token),
        cmocka_unit_test(test_200_connections),
        cmocka_unit_test(test_trains_stay_whole),
        cmocka_unit_test(test_refused_past_limit),
        cmocka_unit_test(test_retry),
        cmocka_unit_test(test_garbage_flood),
        cmocka_unit_test(test_stateless_reset),
        cmocka_unit_test(test_idle_timeout),
        cmocka_unit_test(test_zero_length_cid_clients),
        cmocka_unit_test(test_conn_callbacks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
