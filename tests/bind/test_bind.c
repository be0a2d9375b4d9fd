/* Tests for bind/ (the binding of quic/ to h3/ and wt/): a client bind_conn and a bind_server
 * in netsim speaking HTTP/3, WebTransport and raw QUIC streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apps/wt_echo.h"
#include "quic/error.h"
#include "tests/sim/sim_bind.h"

static test_env cert_env;
static sim_certs certs;

static int setup(void **state)
{
    (void)state;
    test_env_init(&cert_env, 21);
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

static netsim_link_config link_with(double loss)
{
    netsim_link_config l = {.delay_us = 10000, .loss = loss, .rate_bytes_per_s = 12500000};
    return l;
}

#define BODY_LEN 100000

static uint8_t body_byte(size_t i)
{
    return (uint8_t)((i * 131) ^ (i >> 7));
}

/* ---- HTTP/3: a POST whose body the server echoes ---- */

typedef struct h3e {
    sim_bind *p;
    /* client */
    uint64_t sid;
    bool submitted, sent_all;
    size_t body_sent;
    int status;
    uint8_t *got;
    size_t got_len;
    bool ended;
    /* server */
    uint64_t ssid;
    bool server_headers, server_end;
    size_t echoed;
} h3e;

static void s_headers(void *user, uint64_t sid, const h3_field *f, size_t n, bool trailers)
{
    h3e *e = user;
    (void)f;
    (void)n;
    assert_false(trailers);
    e->server_headers = true;
    e->ssid = sid;
    const h3_field ok[1] = {{(const uint8_t *)":status", 7, (const uint8_t *)"200", 3}};
    assert_int_equal(h3_conn_submit_response(bind_conn_h3(e->p->sconn), sid, ok, 1, false), H3_OK);
}

static void s_data(void *user, uint64_t sid, const uint8_t *d, size_t len)
{
    h3e *e = user;
    assert_int_equal(h3_conn_send_data(bind_conn_h3(e->p->sconn), sid, d, len, false), H3_OK);
    e->echoed += len;
}

static void s_end(void *user, uint64_t sid)
{
    h3e *e = user;
    e->server_end = true;
    assert_int_equal(h3_conn_send_data(bind_conn_h3(e->p->sconn), sid, NULL, 0, true), H3_OK);
}

static void c_headers(void *user, uint64_t sid, const h3_field *f, size_t n, bool trailers)
{
    h3e *e = user;
    (void)f;
    (void)n;
    (void)trailers;
    e->status = h3_conn_stream_status(bind_conn_h3(e->p->client), sid);
}

static void c_data(void *user, uint64_t sid, const uint8_t *d, size_t len)
{
    h3e *e = user;
    assert_int_equal(sid, e->sid);
    assert_true(e->got_len + len <= BODY_LEN);
    memcpy(e->got + e->got_len, d, len);
    e->got_len += len;
}

static void c_end(void *user, uint64_t sid)
{
    h3e *e = user;
    assert_int_equal(sid, e->sid);
    e->ended = true;
}

/* The client's body goes in pieces of at most 4 KiB while h3 takes them. */
static void h3e_tick(sim_bind *p, bool is_server, uint64_t now)
{
    h3e *e = p->user;
    (void)now;
    if (is_server || !quic_conn_is_established(bind_conn_quic(p->client)))
        return;
    h3_conn *h = bind_conn_h3(p->client);
    if (!e->submitted) {
        const h3_field f[4] = {
            {(const uint8_t *)":method", 7, (const uint8_t *)"POST", 4},
            {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5},
            {(const uint8_t *)":authority", 10, (const uint8_t *)"example.test", 12},
            {(const uint8_t *)":path", 5, (const uint8_t *)"/echo", 5},
        };
        assert_int_equal(h3_conn_submit_request(h, f, 4, false, &e->sid), H3_OK);
        e->submitted = true;
    }
    static uint8_t piece[4096];
    while (!e->sent_all && h3_conn_stream_buffered(h, e->sid) == 0) {
        size_t n =
            BODY_LEN - e->body_sent < sizeof(piece) ? BODY_LEN - e->body_sent : sizeof(piece);
        for (size_t i = 0; i < n; i++)
            piece[i] = body_byte(e->body_sent + i);
        bool end = e->body_sent + n == BODY_LEN;
        assert_int_equal(h3_conn_send_data(h, e->sid, piece, n, end), H3_OK);
        e->body_sent += n;
        e->sent_all = end;
    }
}

static bool h3e_done(sim_bind *p)
{
    h3e *e = p->user;
    return e->ended || p->client_closed || p->server_closed;
}

static bool server_closed(sim_bind *p)
{
    return p->server_closed;
}

static bool server_freed(sim_bind *p)
{
    return p->conns_freed > 0;
}

static void h3e_setup(sim_bind *p, h3e *e)
{
    e->p = p;
    e->got = malloc(BODY_LEN);
    assert_non_null(e->got);
    p->ccfg.h3cb = (h3_callbacks){.on_headers = c_headers, .on_data = c_data, .on_end = c_end};
    p->scfg.h3cb = (h3_callbacks){.on_headers = s_headers, .on_data = s_data, .on_end = s_end};
    p->client_user = e;
    p->server_user = e;
    p->user = e;
    p->tick = h3e_tick;
}

/* RFC 9114 §4.1: request and response bodies through the binding, byte-exact under loss;
 * then RFC 9114 §5.2 / RFC 9000 §10.2: a close with an HTTP/3 code and reason reaches the
 * server, which frees the connection after its draining period (on_conn_free once). */
static void run_h3_echo(uint64_t seed, double loss)
{
    sim_bind p;
    netsim_link_config l = link_with(loss);
    sim_bind_init(&p, seed, &l, &certs);
    h3e e = {0};
    h3e_setup(&p, &e);
    sim_bind_start(&p);
    assert_int_equal(sim_bind_run(&p, h3e_done, 120000000), NETSIM_OK);
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    assert_true(p.client_done);
    assert_true(p.server_done);
    assert_int_equal(p.conns_new, 1);
    assert_int_equal(bind_server_conn_count(p.server), 1);
    assert_true(e.server_headers);
    assert_true(e.server_end);
    assert_int_equal(e.status, 200);
    assert_true(e.ended);
    assert_int_equal(e.got_len, BODY_LEN);
    for (size_t i = 0; i < BODY_LEN; i++)
        if (e.got[i] != body_byte(i))
            fail_msg("byte %zu differs", i);
    const bind_conn_stats *cs = bind_conn_get_stats(p.client);
    assert_true(cs->bytes_in >= BODY_LEN);
    assert_true(cs->bytes_out >= BODY_LEN);
    assert_true(bind_conn_get_stats(p.sconn)->bytes_in >= BODY_LEN);

    /* The client closes with H3_NO_ERROR: its own CLOSED comes at once. */
    assert_int_equal(bind_conn_close(p.client, H3_NO_ERROR, "bye"), BIND_OK);
    assert_true(p.client_closed);
    assert_false(p.client_close.by_peer);
    assert_int_equal(h3_conn_error(bind_conn_h3(p.client)), H3_NO_ERROR);
    assert_int_equal(sim_bind_run(&p, server_closed, netsim_now(p.net) + 5000000), NETSIM_OK);
    assert_true(p.server_close.is_app);
    assert_true(p.server_close.by_peer);
    assert_int_equal(p.server_close.error_code, H3_NO_ERROR);
    assert_int_equal(p.server_close.len, 3);
    assert_memory_equal(p.server_close.data, "bye", 3);
    /* The server keeps the connection through its draining period, then frees it. */
    assert_int_equal(p.conns_freed, 0);
    assert_int_equal(sim_bind_run(&p, server_freed, netsim_now(p.net) + 10000000), NETSIM_OK);
    assert_int_equal(p.conns_freed, 1);
    assert_null(p.sconn);
    assert_int_equal(bind_server_conn_count(p.server), 0);
    sim_bind_free(&p);
    free(e.got);
}

static void test_h3_echo_no_loss(void **state)
{
    (void)state;
    run_h3_echo(1, 0.0);
}

static void test_h3_echo_loss5(void **state)
{
    (void)state;
    for (uint64_t seed = 2; seed < 5; seed++)
        run_h3_echo(seed, 0.05);
}

/* ---- WebTransport: apps/wt_echo on the server ---- */

#define WT_BIDI_LEN 30000
#define WT_CLOSE_CODE 7u
#define WT_CLOSE_REASON "bye bye"

typedef struct wte {
    sim_bind *p;
    wt_echo echo;
    wt_session *s;
    bool connected, ready, sent, dgram_sent, dgram_ok, closed_sent;
    wt_stream *st;
    uint8_t got[WT_BIDI_LEN];
    size_t got_len;
    bool fin;
    /* server side, recorded around the echo handler */
    wt_callbacks echo_cb;
    bool server_closed;
    uint32_t server_code;
    char server_reason[64];
} wte;

static wte *g_w; /* the server's close callback needs the test besides the echo */

static void w_ready(void *user, wt_session *s)
{
    wte *w = user;
    assert_ptr_equal(s, w->s);
    w->ready = true;
}

static void w_data(void *user, wt_stream *st, const uint8_t *d, size_t len, bool fin)
{
    wte *w = user;
    assert_ptr_equal(st, w->st);
    assert_true(w->got_len + len <= WT_BIDI_LEN);
    memcpy(w->got + w->got_len, d, len);
    w->got_len += len;
    w->fin = fin;
}

static void w_dgram(void *user, wt_session *s, const uint8_t *d, size_t len)
{
    wte *w = user;
    (void)s;
    w->dgram_ok = len == 5 && memcmp(d, "hello", 5) == 0;
}

static void w_closed(void *user, wt_session *s, uint32_t code, const uint8_t *r, size_t len)
{
    (void)user;
    (void)s;
    (void)code;
    (void)r;
    (void)len;
    g_w->s = NULL;
    g_w->st = NULL;
}

static void s_closed_wt(void *user, wt_session *s, uint32_t code, const uint8_t *r, size_t len)
{
    wte *w = g_w;
    (void)user;
    (void)s;
    w->server_closed = true;
    w->server_code = code;
    assert_true(len < sizeof(w->server_reason));
    memcpy(w->server_reason, r, len);
    w->server_reason[len] = '\0';
}

static void wte_tick(sim_bind *p, bool is_server, uint64_t now)
{
    wte *w = p->user;
    (void)now;
    if (is_server || !quic_conn_is_established(bind_conn_quic(p->client)))
        return;
    if (!w->connected) {
        w->connected = true;
        assert_int_equal(wt_endpoint_connect(bind_conn_wt(p->client), "example.test", "/echo",
                                             "https://example.test", &w->s),
                         WT_OK);
    }
    if (!w->ready || w->s == NULL)
        return;
    if (!w->sent) {
        w->sent = true;
        assert_int_equal(wt_session_open_stream(w->s, true, &w->st), WT_OK);
        static uint8_t d[WT_BIDI_LEN];
        for (size_t i = 0; i < sizeof(d); i++)
            d[i] = body_byte(i);
        assert_int_equal(wt_stream_write(w->st, d, sizeof(d), true), WT_OK);
    }
    if (!w->dgram_sent && wt_session_max_datagram_payload(w->s) > 0) {
        w->dgram_sent = true;
        assert_int_equal(wt_session_send_datagram(w->s, (const uint8_t *)"hello", 5), WT_OK);
    }
    if (w->fin && w->dgram_ok && !w->closed_sent) {
        w->closed_sent = true;
        assert_int_equal(wt_session_close(w->s, WT_CLOSE_CODE, (const uint8_t *)WT_CLOSE_REASON,
                                          strlen(WT_CLOSE_REASON)),
                         WT_OK);
    }
}

static bool wte_done(sim_bind *p)
{
    wte *w = p->user;
    return w->server_closed || p->client_closed || p->server_closed;
}

/* draft-ietf-webtrans-http3-02 §4.2, §5, RFC 9297: a session through the binding, a bidi
 * stream echoed byte-exact, a datagram (the binding sized it from QUIC), and the close
 * capsule's code and reason at the server. */
static void test_wt_echo(void **state)
{
    (void)state;
    sim_bind p;
    netsim_link_config l = link_with(0.0);
    sim_bind_init(&p, 9, &l, &certs);
    wte *w = calloc(1, sizeof(*w));
    assert_non_null(w);
    g_w = w;
    w->p = &p;
    p.ccfg.webtransport = true;
    p.scfg.webtransport = true;
    /* No max_datagram_frame_size given: bind offers it for WebTransport. */
    p.ccfg.wtcb = (wt_callbacks){.on_session_ready = w_ready,
                                 .on_session_closed = w_closed,
                                 .on_stream_data = w_data,
                                 .on_datagram = w_dgram};
    wt_echo_init(&w->echo, "/echo", &p.scfg.wtcb);
    p.scfg.wtcb.on_session_closed = s_closed_wt;
    p.client_user = w;
    p.server_user = &w->echo;
    p.user = w;
    p.tick = wte_tick;
    sim_bind_start(&p);
    assert_int_equal(sim_bind_run(&p, wte_done, 60000000), NETSIM_OK);
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    assert_true(w->ready);
    assert_true(w->fin);
    assert_int_equal(w->got_len, WT_BIDI_LEN);
    for (size_t i = 0; i < WT_BIDI_LEN; i++)
        if (w->got[i] != body_byte(i))
            fail_msg("byte %zu differs", i);
    assert_true(w->dgram_ok);
    assert_true(w->server_closed);
    assert_int_equal(w->server_code, WT_CLOSE_CODE);
    assert_string_equal(w->server_reason, WT_CLOSE_REASON);
    assert_int_equal(w->echo.sessions, 1);
    assert_int_equal(w->echo.datagrams, 1);
    assert_int_equal(wt_endpoint_session_count(bind_conn_wt(p.sconn)) <= 1, 1);
    sim_bind_free(&p);
    free(w);
}

/* ---- Raw QUIC streams without HTTP/3: on_quic_event ---- */

typedef struct rawt {
    sim_bind *p;
    uint64_t sid;
    bool opened, sent;
    char got[64];
    size_t got_len;
    bool fin;
    size_t server_events;
} rawt;

static rawt *g_r;

static void raw_server_event(bind_conn *bc, const quic_event *ev)
{
    rawt *r = g_r;
    r->server_events++;
    if (ev->type != QUIC_EVENT_STREAM_READABLE)
        return;
    quic_conn *qc = bind_conn_quic(bc);
    uint8_t buf[64];
    bool fin = false;
    int64_t n;
    while ((n = quic_stream_read(qc, ev->stream_id, buf, sizeof(buf), &fin)) > 0 || fin) {
        assert_int_equal(quic_stream_write(qc, ev->stream_id, buf, (size_t)n, fin), n);
        if (fin)
            break;
    }
}

static void raw_client_event(bind_conn *bc, const quic_event *ev)
{
    rawt *r = g_r;
    if (ev->type != QUIC_EVENT_STREAM_READABLE)
        return;
    bool fin = false;
    int64_t n;
    while ((n = quic_stream_read(bind_conn_quic(bc), ev->stream_id, (uint8_t *)r->got + r->got_len,
                                 sizeof(r->got) - r->got_len, &fin)) > 0 ||
           fin) {
        r->got_len += (size_t)n;
        if (fin) {
            r->fin = true;
            break;
        }
    }
}

/* The client's connection user pointer is the test, the server's NULL. */
static void raw_event(void *conn_user, bind_conn *bc, const quic_event *ev)
{
    if (conn_user != NULL)
        raw_client_event(bc, ev);
    else
        raw_server_event(bc, ev);
}

static void raw_tick(sim_bind *p, bool is_server, uint64_t now)
{
    rawt *r = p->user;
    (void)now;
    if (is_server || r->sent || !quic_conn_is_established(bind_conn_quic(p->client)))
        return;
    quic_conn *qc = bind_conn_quic(p->client);
    assert_int_equal(quic_conn_open_stream(qc, true, &r->sid), QUIC_OK);
    assert_int_equal(quic_stream_write(qc, r->sid, (const uint8_t *)"ping", 4, true), 4);
    r->sent = true;
}

static bool raw_done(sim_bind *p)
{
    rawt *r = p->user;
    return r->fin || p->client_closed || p->server_closed;
}

static void test_raw_quic(void **state)
{
    (void)state;
    sim_bind p;
    netsim_link_config l = link_with(0.0);
    sim_bind_init(&p, 10, &l, &certs);
    rawt r = {0};
    g_r = &r;
    static const char *const alpn[] = {"hq-interop", NULL};
    p.ccfg.quic.tls.alpn = alpn;
    p.scfg.quic.tls.alpn = alpn;
    p.ccfg.h3 = false;
    p.scfg.h3 = false;
    p.user = &r;
    p.tick = raw_tick;
    p.client_user = &r;
    p.server_user = NULL;
    p.on_quic_event = raw_event;
    sim_bind_start(&p);
    assert_null(bind_conn_h3(p.client));
    assert_null(bind_conn_wt(p.client));
    assert_int_equal(sim_bind_run(&p, raw_done, 60000000), NETSIM_OK);
    assert_true(r.fin);
    assert_int_equal(r.got_len, 4);
    assert_memory_equal(r.got, "ping", 4);
    assert_true(r.server_events > 0);
    sim_bind_free(&p);
}

/* ---- Several clients on one bind_server: each datagram drains only its connection ---- */

#define NCLIENTS 3

typedef struct multi multi;
typedef struct mclient {
    multi *m;
    int node;
    quic_addr addr;
    bind_conn *bc;
    uint64_t sid;
    bool sent, fin, closed;
    char got[32];
    size_t got_len;
    size_t frees;
} mclient;

struct multi {
    test_env t;
    netsim *net;
    quic_addr saddr;
    bind_server *server;
    mclient cl[NCLIENTS];
    size_t news, frees, server_events;
    bind_conn *live[NCLIENTS];
};

typedef struct mnode {
    multi *m;
    int node; /* 0: the server, i + 1: client i */
} mnode;

static void m_addr(quic_addr *a, int node)
{
    memset(a, 0, sizeof(*a));
    a->family = 4;
    a->ip[0] = 192;
    a->ip[2] = 2;
    a->ip[3] = (uint8_t)(node + 1);
    a->port = 443;
}

static void *m_new(void *user, bind_conn *bc)
{
    multi *m = user;
    assert_true(m->news < NCLIENTS);
    m->live[m->news++] = bc;
    return NULL;
}

static void m_free(void *user, bind_conn *bc)
{
    multi *m = user;
    bool found = false;
    for (size_t i = 0; i < NCLIENTS; i++) {
        if (m->live[i] == bc) {
            m->live[i] = NULL; /* a second on_conn_free would not find it */
            found = true;
        }
    }
    assert_true(found);
    m->frees++;
}

/* The server echoes every stream (raw QUIC, no HTTP/3). */
static void m_server_event(void *user, bind_conn *bc, const quic_event *ev)
{
    multi *m = user;
    m->server_events++;
    if (ev->type != QUIC_EVENT_STREAM_READABLE)
        return;
    quic_conn *qc = bind_conn_quic(bc);
    uint8_t buf[64];
    bool fin = false;
    int64_t n;
    while ((n = quic_stream_read(qc, ev->stream_id, buf, sizeof(buf), &fin)) > 0 || fin) {
        assert_int_equal(quic_stream_write(qc, ev->stream_id, buf, (size_t)n, fin), n);
        if (fin)
            break;
    }
}

static void m_client_event(void *user, bind_conn *bc, const quic_event *ev)
{
    mclient *c = user;
    assert_ptr_equal(bc, c->bc);
    if (ev->type != QUIC_EVENT_STREAM_READABLE)
        return;
    bool fin = false;
    int64_t n;
    while ((n = quic_stream_read(bind_conn_quic(bc), ev->stream_id, (uint8_t *)c->got + c->got_len,
                                 sizeof(c->got) - c->got_len, &fin)) > 0 ||
           fin) {
        c->got_len += (size_t)n;
        if (fin) {
            c->fin = true;
            break;
        }
    }
}

static void m_client_closed(void *user, bind_conn *bc, const quic_event *ev)
{
    mclient *c = user;
    (void)bc;
    (void)ev;
    c->closed = true;
}

static void m_client_free(void *user, bind_conn *bc)
{
    mclient *c = user;
    (void)bc;
    c->frees++;
}

static void m_recv(void *user, const uint8_t *data, size_t len, int from, uint64_t now)
{
    mnode *n = user;
    multi *m = n->m;
    quic_addr fa;
    m_addr(&fa, from);
    if (n->node == 0)
        assert_int_equal(bind_server_recv(m->server, &fa, &m->saddr, data, len, now), BIND_OK);
    else
        bind_conn_recv(m->cl[n->node - 1].bc, &fa, data, len, now);
}

static size_t m_send(void *user, uint8_t *buf, size_t cap, int *to, uint64_t now)
{
    mnode *n = user;
    multi *m = n->m;
    quic_addr dst;
    if (n->node == 0) {
        int k = bind_server_send(m->server, &dst, buf, cap, now);
        assert_true(k >= 0);
        if (k > 0)
            *to = dst.ip[3] - 1;
        return (size_t)k;
    }
    mclient *c = &m->cl[n->node - 1];
    quic_conn *qc = bind_conn_quic(c->bc);
    if (!c->sent && quic_conn_is_established(qc)) {
        char msg[16];
        int len = snprintf(msg, sizeof(msg), "client %d", n->node);
        assert_int_equal(quic_conn_open_stream(qc, true, &c->sid), QUIC_OK);
        assert_int_equal(quic_stream_write(qc, c->sid, (const uint8_t *)msg, (size_t)len, true),
                         len);
        c->sent = true;
    }
    int k = bind_conn_send(c->bc, NULL, buf, cap, now);
    assert_true(k >= 0);
    *to = 0;
    return (size_t)k;
}

static uint64_t m_timeout(void *user)
{
    mnode *n = user;
    multi *m = n->m;
    return n->node == 0 ? bind_server_next_timeout(m->server)
                        : bind_conn_next_timeout(m->cl[n->node - 1].bc);
}

static void m_on_timeout(void *user, uint64_t now)
{
    mnode *n = user;
    multi *m = n->m;
    if (n->node == 0)
        bind_server_on_timeout(m->server, now);
    else
        bind_conn_on_timeout(m->cl[n->node - 1].bc, now);
}

static bool m_all_echoed(void *arg)
{
    multi *m = arg;
    for (size_t i = 0; i < NCLIENTS; i++)
        if (!m->cl[i].fin)
            return false;
    return true;
}

static bool m_all_freed(void *arg)
{
    multi *m = arg;
    return m->frees == NCLIENTS;
}

static int m_run(multi *m, bool (*done)(void *), uint64_t limit)
{
    mnode nodes[NCLIENTS + 1];
    netsim_endpoint eps[NCLIENTS + 1];
    for (int i = 0; i <= NCLIENTS; i++) {
        nodes[i] = (mnode){m, i};
        eps[i] = (netsim_endpoint){.user = &nodes[i],
                                   .node = i,
                                   .recv = m_recv,
                                   .send_poll = m_send,
                                   .next_timeout = m_timeout,
                                   .on_timeout = m_on_timeout};
    }
    return netsim_run(m->net, eps, NCLIENTS + 1, done, m, limit);
}

/* Three clients on one bind_server, under loss: each gets its own bytes back,
 * the server makes one bind_conn per connection and frees each exactly once
 * after the clients closed. */
static void test_server_many_clients(void **state)
{
    (void)state;
    multi *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    test_env_init(&m->t, 31);
    netsim_link_config l = link_with(0.05);
    assert_int_equal(netsim_create(&m->net, &m->t.env, 31, &l), 0);
    static const char *const alpn[] = {"hq-interop", NULL};
    for (int i = 0; i <= NCLIENTS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "192.0.2.%d:443", i + 1);
        assert_int_equal(netsim_add_node(m->net, name), i);
    }
    m_addr(&m->saddr, 0);
    bind_config sc;
    bind_config_init(&sc, true);
    sc.h3 = false;
    sc.quic.tls.alpn = alpn;
    sc.quic.tls.cert_chain = certs.chain;
    sc.quic.tls.cert_chain_lens = certs.chain_lens;
    sc.quic.tls.cert_chain_count = 1;
    sc.quic.tls.private_key = certs.leaf_key;
    sc.quic.initial_rtt_ms = 100;
    sc.cb = (bind_callbacks){
        .user = m, .on_conn_new = m_new, .on_quic_event = m_server_event, .on_conn_free = m_free};
    m->server = bind_server_new(&m->t.env, &sc);
    assert_non_null(m->server);
    for (int i = 0; i < NCLIENTS; i++) {
        mclient *c = &m->cl[i];
        c->m = m;
        c->node = i + 1;
        m_addr(&c->addr, i + 1);
        bind_config cc;
        bind_config_init(&cc, false);
        cc.h3 = false;
        cc.quic.tls.alpn = alpn;
        cc.quic.tls.server_name = "example.test";
        cc.quic.tls.verify_mode = CRYPTO_VERIFY_CHAIN;
        cc.quic.tls.ca_store = certs.store;
        cc.quic.initial_rtt_ms = 100;
        cc.cb = (bind_callbacks){.user = c,
                                 .on_closed = m_client_closed,
                                 .on_quic_event = m_client_event,
                                 .on_conn_free = m_client_free};
        c->bc = bind_conn_client_new(&m->t.env, &cc, &c->addr, &m->saddr, netsim_now(m->net));
        assert_non_null(c->bc);
        assert_ptr_equal(bind_conn_user(c->bc), c);
    }
    assert_int_equal(m_run(m, m_all_echoed, 60000000), NETSIM_OK);
    assert_int_equal(m->news, NCLIENTS);
    assert_int_equal(bind_server_conn_count(m->server), NCLIENTS);
    for (int i = 0; i < NCLIENTS; i++) {
        char want[16];
        int len = snprintf(want, sizeof(want), "client %d", i + 1);
        assert_int_equal(m->cl[i].got_len, (size_t)len);
        assert_memory_equal(m->cl[i].got, want, (size_t)len);
    }
    /* The clients close; the server frees each connection once its draining period ends. */
    for (int i = 0; i < NCLIENTS; i++)
        assert_int_equal(bind_conn_close(m->cl[i].bc, 0, "done"), BIND_OK);
    assert_int_equal(m_run(m, m_all_freed, netsim_now(m->net) + 20000000), NETSIM_OK);
    assert_int_equal(m->frees, NCLIENTS);
    assert_int_equal(bind_server_conn_count(m->server), 0);
    bind_server_free(m->server);
    assert_int_equal(m->frees, NCLIENTS);
    for (int i = 0; i < NCLIENTS; i++) {
        assert_true(m->cl[i].closed);
        bind_conn_free(m->cl[i].bc);
        assert_int_equal(m->cl[i].frees, 1);
    }
    netsim_destroy(m->net);
    test_env_check_leaks(&m->t);
    free(m);
}

/* ---- Configuration ---- */

static void test_config_refused(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 3);
    bind_config c;
    bind_config_init(&c, false);
    assert_true(c.h3);
    assert_false(c.webtransport);
    assert_string_equal(c.quic.tls.alpn[0], "h3");
    quic_addr a = {.family = 4, .port = 1};
    /* WebTransport needs HTTP/3. */
    c.h3 = false;
    c.webtransport = true;
    assert_null(bind_conn_client_new(&t.env, &c, &a, &a, 0));
    bind_config s;
    bind_config_init(&s, true);
    s.h3 = false;
    s.webtransport = true;
    assert_null(bind_server_new(&t.env, &s));
    /* A server configuration is not a client's. */
    bind_config_init(&s, true);
    assert_null(bind_conn_client_new(&t.env, &s, &a, &a, 0));
    /* NULL is harmless where it means nothing. */
    bind_conn_free(NULL);
    bind_server_free(NULL);
    assert_null(bind_conn_h3(NULL));
    assert_int_equal(bind_server_conn_count(NULL), 0);
    test_env_check_leaks(&t);
}

/* Every allocation of a client's creation failing in turn: NULL, nothing leaked, and
 * on_conn_free answers each on_conn_new. */
typedef struct counts {
    size_t news, frees;
} counts;

static void *count_new(void *user, bind_conn *bc)
{
    (void)bc;
    ((counts *)user)->news++;
    return user;
}

static void count_free(void *user, bind_conn *bc)
{
    (void)bc;
    ((counts *)user)->frees++;
}

static void test_client_nomem(void **state)
{
    (void)state;
    quic_addr a = {.family = 4, .ip = {127, 0, 0, 1}, .port = 443};
    for (size_t n = 1;; n++) {
        test_env t;
        test_env_init(&t, 4);
        counts k = {0};
        bind_config c;
        bind_config_init(&c, false);
        c.quic.tls.server_name = "example.test";
        c.quic.tls.verify_mode = CRYPTO_VERIFY_INSECURE;
        c.webtransport = true;
        c.cb = (bind_callbacks){.user = &k, .on_conn_new = count_new, .on_conn_free = count_free};
        t.fail_after = n;
        bind_conn *bc = bind_conn_client_new(&t.env, &c, &a, &a, 0);
        t.fail_after = 0;
        assert_int_equal(k.news, k.frees + (bc != NULL ? 1 : 0));
        if (bc != NULL) {
            assert_non_null(bind_conn_h3(bc));
            assert_non_null(bind_conn_wt(bc));
            bind_conn_free(bc);
            assert_int_equal(k.news, k.frees);
        }
        test_env_check_leaks(&t);
        if (bc != NULL) {
            assert_true(n > 3); /* the failures above went through several allocations */
            break;
        }
        assert_true(n < 1000);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_h3_echo_no_loss),
        cmocka_unit_test(test_h3_echo_loss5),
        cmocka_unit_test(test_wt_echo),
        cmocka_unit_test(test_raw_quic),
        cmocka_unit_test(test_config_refused),
        cmocka_unit_test(test_client_nomem),
        cmocka_unit_test(test_server_many_clients),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
