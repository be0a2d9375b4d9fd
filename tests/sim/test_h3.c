/* Sim tests: HTTP/3 over our QUIC connections (bind/): GETs byte-exact under loss,
 * QPACK dynamic table both ways, extended CONNECT and HTTP Datagrams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/sim/sim_bind.h"

static test_env cert_env;
static sim_certs certs;

static int setup(void **state)
{
    (void)state;
    test_env_init(&cert_env, 11);
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

/* Body byte at offset off of the resource /size/<size>. */
static uint8_t pattern(uint64_t size, uint64_t off)
{
    uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull ^ (size * 0xbf58476d1ce4e5b9ull);
    return (uint8_t)(x >> 56);
}

#define MAX_REQ 64
#define CHUNK 16384
#define DGRAMS 20

typedef struct creq {
    uint64_t sid;
    uint64_t size; /* UINT64_MAX: a missing resource (404 expected) */
    uint64_t got;
    int64_t content_length;
    int status;
    bool submitted, ended, mismatch, reset;
} creq;

typedef struct sresp {
    uint64_t sid;
    uint64_t size, sent;
    bool active;
} sresp;

typedef struct h3t h3t;
typedef struct side {
    h3t *t;
    bool is_server;
} side;

struct h3t {
    sim_bind *p;
    side c, s;
    /* GETs */
    size_t nreq;
    creq reqs[MAX_REQ];
    size_t ended;
    sresp resps[MAX_REQ];
    size_t nresp;
    /* Extended CONNECT: one stream carrying echoed DATA and datagrams. */
    bool connect_test;
    uint64_t connect_sid, server_connect_sid;
    bool connect_submitted, connect_ok, server_connect_seen;
    size_t dgram_sent, dgram_echoed, dgram_bad;
    uint8_t stream_echo[256];
    size_t stream_echo_len;
    bool stream_data_sent;
    bool failed;
    uint64_t conn_errors;
    /* Cancellation: the client resets reqs[0] midway, then GETs reqs[1]. */
    bool cancel_test, cancelled;
    bool lossy; /* datagrams may be lost: do not wait for all echoes */
    uint64_t server_resets, server_stop_sendings;
};

static uint8_t body[CHUNK];

/* The two HTTP/3 connections (NULL before the server's exists). */
static h3_conn *ch3(h3t *t)
{
    return bind_conn_h3(t->p->client);
}

static h3_conn *sh3(h3t *t)
{
    return bind_conn_h3(t->p->sconn);
}

static bool field_eq(const h3_field *f, const char *name)
{
    size_t n = strlen(name);
    return f->name_len == n && memcmp(f->name, name, n) == 0;
}

static uint64_t parse_u64(const uint8_t *s, size_t len, bool *ok)
{
    uint64_t v = 0;
    *ok = len > 0 && len <= 19;
    for (size_t i = 0; i < len && *ok; i++) {
        if (s[i] < '0' || s[i] > '9')
            *ok = false;
        else
            v = v * 10 + (uint64_t)(s[i] - '0');
    }
    return v;
}

/* ---- Server ---- */

static void server_pump(h3t *t)
{
    h3_conn *h = sh3(t);
    for (size_t i = 0; i < t->nresp; i++) {
        sresp *r = &t->resps[i];
        while (r->active && r->sent < r->size && h3_conn_stream_buffered(h, r->sid) == 0) {
            size_t n = CHUNK;
            if (n > r->size - r->sent)
                n = (size_t)(r->size - r->sent);
            for (size_t k = 0; k < n; k++)
                body[k] = pattern(r->size, r->sent + k);
            bool end = r->sent + n == r->size;
            int rc = h3_conn_send_data(h, r->sid, body, n, end);
            if (rc == H3_ERR_BLOCKED)
                break;
            assert_int_equal(rc, H3_OK);
            r->sent += n;
            if (end)
                r->active = false;
        }
    }
}

static void server_respond(h3t *t, uint64_t sid, int status, uint64_t size)
{
    h3_conn *h = sh3(t);
    char st[8], cl[24];
    snprintf(st, sizeof(st), "%d", status);
    snprintf(cl, sizeof(cl), "%llu", (unsigned long long)size);
    h3_field f[4] = {
        {(const uint8_t *)":status", 7, (const uint8_t *)st, strlen(st)},
        {(const uint8_t *)"content-length", 14, (const uint8_t *)cl, strlen(cl)},
        {(const uint8_t *)"x-served-by", 11, (const uint8_t *)"quince-sim-node", 15},
        {(const uint8_t *)"cache-control", 13, (const uint8_t *)"max-age=17", 10},
    };
    assert_int_equal(h3_conn_submit_response(h, sid, f, 4, size == 0), H3_OK);
    if (size > 0) {
        assert_true(t->nresp < MAX_REQ);
        t->resps[t->nresp++] = (sresp){.sid = sid, .size = size, .active = true};
    }
}

static void s_on_headers(void *user, uint64_t sid, const h3_field *f, size_t n, bool trailers)
{
    side *sd = user;
    h3t *t = sd->t;
    assert_false(trailers);
    const h3_field *path = NULL, *method = NULL, *protocol = NULL;
    for (size_t i = 0; i < n; i++) {
        if (field_eq(&f[i], ":path"))
            path = &f[i];
        else if (field_eq(&f[i], ":method"))
            method = &f[i];
        else if (field_eq(&f[i], ":protocol"))
            protocol = &f[i];
    }
    assert_non_null(path);
    assert_non_null(method);
    if (method->value_len == 7 && memcmp(method->value, "CONNECT", 7) == 0) {
        assert_non_null(protocol);
        assert_int_equal(protocol->value_len, 11);
        assert_memory_equal(protocol->value, "connect-udp", 11);
        t->server_connect_seen = true;
        t->server_connect_sid = sid;
        h3_field ok[1] = {{(const uint8_t *)":status", 7, (const uint8_t *)"200", 3}};
        assert_int_equal(h3_conn_submit_response(sh3(t), sid, ok, 1, false), H3_OK);
        return;
    }
    assert_int_equal(method->value_len, 3);
    assert_memory_equal(method->value, "GET", 3);
    bool ok = path->value_len > 6 && memcmp(path->value, "/size/", 6) == 0;
    uint64_t size = ok ? parse_u64(path->value + 6, path->value_len - 6, &ok) : 0;
    if (!ok) {
        server_respond(t, sid, 404, 0);
        return;
    }
    server_respond(t, sid, 200, size);
    server_pump(t);
}

static void s_on_data(void *user, uint64_t sid, const uint8_t *data, size_t len)
{
    side *sd = user;
    h3t *t = sd->t;
    /* Only the CONNECT stream carries request data: echo it. */
    assert_true(t->server_connect_seen);
    assert_int_equal(sid, t->server_connect_sid);
    assert_int_equal(h3_conn_send_data(sh3(t), sid, data, len, false), H3_OK);
}

static void s_on_datagram(void *user, uint64_t sid, const uint8_t *payload, size_t len)
{
    side *sd = user;
    h3t *t = sd->t;
    assert_int_equal(sid, t->server_connect_sid);
    assert_int_equal(h3_conn_send_datagram(sh3(t), sid, payload, len), H3_OK);
}

static void s_on_end(void *user, uint64_t sid)
{
    side *sd = user;
    h3t *t = sd->t;
    /* The client ends the CONNECT stream: so do we. */
    if (t->server_connect_seen && sid == t->server_connect_sid)
        assert_int_equal(h3_conn_send_data(sh3(t), sid, NULL, 0, true), H3_OK);
}

/* The client cancelled: stop producing the body (h3 has reset our side). */
static void s_on_cancel(h3t *t, uint64_t sid, uint64_t code)
{
    assert_int_equal(code, H3_REQUEST_CANCELLED);
    for (size_t i = 0; i < t->nresp; i++)
        if (t->resps[i].sid == sid)
            t->resps[i].active = false;
}

static void s_on_stream_reset(void *user, uint64_t sid, uint64_t code, bool local)
{
    side *sd = user;
    assert_true(sd->t->cancel_test);
    assert_false(local);
    sd->t->server_resets++;
    s_on_cancel(sd->t, sid, code);
}

static void s_on_stop_sending(void *user, uint64_t sid, uint64_t code)
{
    side *sd = user;
    assert_true(sd->t->cancel_test);
    sd->t->server_stop_sendings++;
    s_on_cancel(sd->t, sid, code);
}

static void s_on_writable(void *user, uint64_t sid)
{
    side *sd = user;
    (void)sid;
    server_pump(sd->t);
}

/* ---- Client ---- */

static creq *find_req(h3t *t, uint64_t sid)
{
    for (size_t i = 0; i < t->nreq; i++)
        if (t->reqs[i].submitted && t->reqs[i].sid == sid)
            return &t->reqs[i];
    return NULL;
}

static void c_on_headers(void *user, uint64_t sid, const h3_field *f, size_t n, bool trailers)
{
    side *sd = user;
    h3t *t = sd->t;
    assert_false(trailers);
    h3_conn *h = ch3(t);
    if (t->connect_submitted && sid == t->connect_sid) {
        assert_int_equal(h3_conn_stream_status(h, sid), 200);
        t->connect_ok = true;
        return;
    }
    creq *r = find_req(t, sid);
    assert_non_null(r);
    r->status = h3_conn_stream_status(h, sid);
    for (size_t i = 0; i < n; i++)
        if (field_eq(&f[i], "content-length")) {
            bool ok;
            r->content_length = (int64_t)parse_u64(f[i].value, f[i].value_len, &ok);
            assert_true(ok);
        }
}

static void c_on_data(void *user, uint64_t sid, const uint8_t *data, size_t len)
{
    side *sd = user;
    h3t *t = sd->t;
    if (t->connect_submitted && sid == t->connect_sid) {
        assert_true(t->stream_echo_len + len <= sizeof(t->stream_echo));
        memcpy(t->stream_echo + t->stream_echo_len, data, len);
        t->stream_echo_len += len;
        return;
    }
    creq *r = find_req(t, sid);
    assert_non_null(r);
    assert_false(r->reset);
    for (size_t i = 0; i < len; i++)
        if (data[i] != pattern(r->size, r->got + i))
            r->mismatch = true;
    r->got += len;
    /* RFC 9114 §4.1.1: abandon the response with H3_REQUEST_CANCELLED. */
    if (t->cancel_test && r == &t->reqs[0] && r->got >= 100000 && !t->cancelled) {
        assert_int_equal(h3_conn_reset_stream(ch3(t), sid, H3_REQUEST_CANCELLED), H3_OK);
        t->cancelled = true;
        r->reset = true;
        t->ended++;
    }
}

static void c_on_end(void *user, uint64_t sid)
{
    side *sd = user;
    h3t *t = sd->t;
    if (t->connect_submitted && sid == t->connect_sid)
        return;
    creq *r = find_req(t, sid);
    assert_non_null(r);
    assert_false(r->ended);
    r->ended = true;
    t->ended++;
}

static void c_on_datagram(void *user, uint64_t sid, const uint8_t *payload, size_t len)
{
    side *sd = user;
    h3t *t = sd->t;
    assert_int_equal(sid, t->connect_sid);
    /* Each datagram is 100 + i bytes of value i. */
    bool ok = len >= 100 && len < 100 + DGRAMS;
    for (size_t i = 0; ok && i < len; i++)
        ok = payload[i] == (uint8_t)(len - 100);
    if (ok)
        t->dgram_echoed++;
    else
        t->dgram_bad++;
}

static void on_stream_reset(void *user, uint64_t sid, uint64_t code, bool local)
{
    side *sd = user;
    fprintf(stderr, "%s: stream %llu reset code 0x%llx local %d\n",
            sd->is_server ? "server" : "client", (unsigned long long)sid, (unsigned long long)code,
            local);
    sd->t->failed = true;
}

static void on_conn_error(void *user, uint64_t code, const char *reason)
{
    side *sd = user;
    fprintf(stderr, "%s: h3 connection error 0x%llx %s\n", sd->is_server ? "server" : "client",
            (unsigned long long)code, reason != NULL ? reason : "");
    sd->t->conn_errors++;
}

static void client_submit(h3t *t, uint64_t now)
{
    (void)now;
    h3_conn *h = ch3(t);
    static const char *const ua = "quince-sim-client/1";
    for (size_t i = 0; i < t->nreq; i++) {
        creq *r = &t->reqs[i];
        if (r->submitted)
            continue;
        /* The first request goes at once; the others wait for the server's
         * SETTINGS so that they can use the dynamic table (RFC 9204 §3.2.3). */
        if (i > 0 && h3_conn_peer_settings(h) == NULL)
            break;
        if (t->cancel_test && i > 0 && !t->cancelled)
            break;
        char path[32];
        if (r->size == UINT64_MAX)
            snprintf(path, sizeof(path), "/missing/%zu", i);
        else
            snprintf(path, sizeof(path), "/size/%llu", (unsigned long long)r->size);
        h3_field f[6] = {
            {(const uint8_t *)":method", 7, (const uint8_t *)"GET", 3},
            {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5},
            {(const uint8_t *)":authority", 10, (const uint8_t *)"example.test", 12},
            {(const uint8_t *)":path", 5, (const uint8_t *)path, strlen(path)},
            {(const uint8_t *)"user-agent", 10, (const uint8_t *)ua, strlen(ua)},
            {(const uint8_t *)"x-sim-tag", 9, (const uint8_t *)"dynamic-table", 13},
        };
        int rc = h3_conn_submit_request(h, f, 6, true, &r->sid);
        if (rc == H3_ERR_TRANSPORT)
            break; /* stream limit: later */
        assert_int_equal(rc, H3_OK);
        r->submitted = true;
        r->content_length = -1;
    }
    if (!t->connect_test)
        return;
    const h3_settings *ps = h3_conn_peer_settings(h);
    if (!t->connect_submitted && ps != NULL) {
        assert_true(ps->enable_connect_protocol);
        h3_field f[5] = {
            {(const uint8_t *)":method", 7, (const uint8_t *)"CONNECT", 7},
            {(const uint8_t *)":protocol", 9, (const uint8_t *)"connect-udp", 11},
            {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5},
            {(const uint8_t *)":authority", 10, (const uint8_t *)"example.test", 12},
            {(const uint8_t *)":path", 5, (const uint8_t *)"/.well-known/masque/udp/h/1/", 28},
        };
        assert_int_equal(h3_conn_submit_request(h, f, 5, false, &t->connect_sid), H3_OK);
        t->connect_submitted = true;
    }
    if (t->connect_ok && !t->stream_data_sent) {
        assert_true(h3_conn_datagrams_enabled(h));
        uint8_t msg[200];
        for (size_t i = 0; i < sizeof(msg); i++)
            msg[i] = (uint8_t)(i * 7);
        assert_int_equal(h3_conn_send_data(h, t->connect_sid, msg, sizeof(msg), false), H3_OK);
        t->stream_data_sent = true;
    }
    while (t->connect_ok && t->dgram_sent < DGRAMS) {
        uint8_t d[100 + DGRAMS];
        size_t len = 100 + t->dgram_sent;
        memset(d, (int)t->dgram_sent, len);
        assert_int_equal(h3_conn_send_datagram(h, t->connect_sid, d, len), H3_OK);
        t->dgram_sent++;
    }
}

/* ---- Driving both sides from sim_bind ---- */

static void s_writable_hook(void *conn_user, uint64_t sid)
{
    side *sd = conn_user;
    if (sd->is_server)
        s_on_writable(sd, sid);
}

static void side_config(h3t *t, side *sd, bind_config *bcfg, bool is_server)
{
    sd->t = t;
    sd->is_server = is_server;
    h3_config *cfg = &bcfg->h3cfg;
    h3_config_init(cfg, is_server);
    if (t->connect_test) {
        h3_settings_set(&cfg->settings, H3_SETTING_H3_DATAGRAM, 1);
        if (is_server)
            h3_settings_set(&cfg->settings, H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1);
    }
    bcfg->h3cb = (h3_callbacks){.on_headers = is_server ? s_on_headers : c_on_headers,
                                .on_data = is_server ? s_on_data : c_on_data,
                                .on_end = is_server ? s_on_end : c_on_end,
                                .on_datagram = is_server ? s_on_datagram : c_on_datagram,
                                .on_stream_reset = is_server && t->cancel_test ? s_on_stream_reset
                                                                               : on_stream_reset,
                                .on_stop_sending = is_server ? s_on_stop_sending : NULL,
                                .on_conn_error = on_conn_error};
}

/* Once per send round: h3 runs once QUIC is established (bind starts it then). */
static void tick(sim_bind *p, bool is_server, uint64_t now)
{
    h3t *t = p->user;
    bind_conn *bc = is_server ? p->sconn : p->client;
    if (bc == NULL || !quic_conn_is_established(bind_conn_quic(bc)))
        return;
    if (is_server)
        server_pump(t);
    else
        client_submit(t, now);
}

/* Configure both sides for t (after its test flags are set), then start. */
static void h3t_start(h3t *t, sim_bind *p)
{
    t->p = p;
    side_config(t, &t->c, &p->ccfg, false);
    side_config(t, &t->s, &p->scfg, true);
    p->client_user = &t->c;
    p->server_user = &t->s;
    p->on_writable = s_writable_hook;
    p->user = t;
    p->tick = tick;
    sim_bind_start(p);
}

static bool all_done(sim_bind *p)
{
    h3t *t = p->user;
    if (p->client_closed || p->server_closed || t->failed || t->conn_errors > 0)
        return true;
    if (t->ended < t->nreq)
        return false;
    if (t->connect_test)
        return t->stream_echo_len == 200 && (t->lossy || t->dgram_echoed + t->dgram_bad == DGRAMS);
    return true;
}

static void h3t_free(h3t *t, sim_bind *p)
{
    (void)t;
    sim_bind_free(p);
}

static netsim_link_config link_with(double loss)
{
    netsim_link_config l = {.delay_us = 10000, .loss = loss, .rate_bytes_per_s = 12500000};
    return l;
}

/* A 1-byte, a 10 MB, 50 small resources and one missing, over one connection. */
static void run_gets(uint64_t seed, double loss)
{
    sim_bind p;
    netsim_link_config l = link_with(loss);
    sim_bind_init(&p, seed, &l, &certs);
    h3t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->reqs[t->nreq++].size = 1;
    t->reqs[t->nreq++].size = 10 * 1024 * 1024;
    for (size_t i = 0; i < 50; i++)
        t->reqs[t->nreq++].size = 1 + (i * 7919) % 30000;
    t->reqs[t->nreq++].size = UINT64_MAX;
    h3t_start(t, &p);
    int r = sim_bind_run(&p, all_done, 900000000);
    if (r != NETSIM_OK || t->ended != t->nreq)
        fprintf(stderr, "gets seed %llu loss %.2f: r=%d %zu of %zu ended at t=%llu\n",
                (unsigned long long)seed, loss, r, t->ended, t->nreq,
                (unsigned long long)netsim_now(p.net));
    assert_int_equal(r, NETSIM_OK);
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    assert_false(t->failed);
    assert_int_equal(t->conn_errors, 0);
    assert_int_equal(t->ended, t->nreq);
    for (size_t i = 0; i < t->nreq; i++) {
        creq *q = &t->reqs[i];
        if (q->size == UINT64_MAX) {
            assert_int_equal(q->status, 404);
            assert_int_equal(q->got, 0);
            continue;
        }
        assert_int_equal(q->status, 200);
        assert_false(q->mismatch);
        assert_int_equal(q->got, q->size);
        assert_int_equal(q->content_length, (int64_t)q->size);
    }
    /* The dynamic table carried headers both ways (RFC 9204 §4.3, §4.5). */
    h3_conn *ch = ch3(t), *sh = sh3(t);
    assert_true(h3_conn_qpack_inserts_sent(ch) > 0);
    assert_true(h3_conn_qpack_inserts_sent(sh) > 0);
    assert_int_equal(h3_conn_qpack_inserts_received(sh), h3_conn_qpack_inserts_sent(ch));
    assert_int_equal(h3_conn_qpack_inserts_received(ch), h3_conn_qpack_inserts_sent(sh));
    /* Finished request streams are forgotten: only the six control and QPACK streams stay. */
    assert_int_equal(h3_conn_stream_count(ch), 6);
    const quic_conn_stats *st = quic_conn_get_stats(bind_conn_quic(p.client));
    if (loss > 0)
        assert_true(quic_conn_get_stats(bind_conn_quic(p.sconn))->packets_lost > 0);
    if (getenv("SIM_VERBOSE") != NULL)
        fprintf(stderr,
                "gets loss %.2f: done at %llu us, client sent %llu packets, inserts %llu/%llu\n",
                loss, (unsigned long long)netsim_now(p.net), (unsigned long long)st->packets_sent,
                (unsigned long long)h3_conn_qpack_inserts_sent(ch),
                (unsigned long long)h3_conn_qpack_inserts_sent(sh));
    assert_true(bind_conn_get_stats(p.client)->bytes_in > 10 * 1024 * 1024);
    h3t_free(t, &p);
    free(t);
}

static void test_gets_no_loss(void **state)
{
    (void)state;
    run_gets(1, 0.0);
}

static void test_gets_loss5(void **state)
{
    (void)state;
    run_gets(2, 0.05);
}

/* RFC 9220 extended CONNECT with RFC 9297 datagrams and stream data echoed. */
static void test_connect_datagrams(void **state)
{
    (void)state;
    sim_bind p;
    netsim_link_config l = link_with(0.0);
    sim_bind_init(&p, 3, &l, &certs);
    p.ccfg.quic.max_datagram_frame_size = 1200;
    p.scfg.quic.max_datagram_frame_size = 1200;
    h3t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->connect_test = true;
    t->reqs[t->nreq++].size = 5000; /* a GET beside the CONNECT stream */
    h3t_start(t, &p);
    int r = sim_bind_run(&p, all_done, 60000000);
    assert_int_equal(r, NETSIM_OK);
    assert_false(t->failed);
    assert_int_equal(t->conn_errors, 0);
    assert_true(t->connect_ok);
    assert_int_equal(t->dgram_sent, DGRAMS);
    assert_int_equal(t->dgram_echoed, DGRAMS);
    assert_int_equal(t->dgram_bad, 0);
    assert_int_equal(t->stream_echo_len, 200);
    for (size_t i = 0; i < 200; i++)
        assert_int_equal(t->stream_echo[i], (uint8_t)(i * 7));
    assert_int_equal(t->reqs[0].got, 5000);
    assert_false(t->reqs[0].mismatch);
    h3t_free(t, &p);
    free(t);
}

/* The same at 5% loss each way: the stream data is echoed exactly (QUIC
 * retransmits it), datagrams are not retransmitted (RFC 9221 §5): most come
 * back, none damaged. */
static void test_connect_datagrams_loss5(void **state)
{
    (void)state;
    sim_bind p;
    netsim_link_config l = link_with(0.05);
    sim_bind_init(&p, 6, &l, &certs);
    p.ccfg.quic.max_datagram_frame_size = 1200;
    p.scfg.quic.max_datagram_frame_size = 1200;
    h3t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->connect_test = true;
    t->lossy = true;
    t->reqs[t->nreq++].size = 300000;
    h3t_start(t, &p);
    assert_int_equal(sim_bind_run(&p, all_done, 120000000), NETSIM_OK);
    /* Late echoes: one more second. */
    sim_bind_run(&p, NULL, netsim_now(p.net) + 1000000);
    assert_false(t->failed);
    assert_int_equal(t->conn_errors, 0);
    assert_int_equal(t->stream_echo_len, 200);
    for (size_t i = 0; i < 200; i++)
        assert_int_equal(t->stream_echo[i], (uint8_t)(i * 7));
    assert_int_equal(t->dgram_sent, DGRAMS);
    assert_int_equal(t->dgram_bad, 0);
    assert_true(t->dgram_echoed >= DGRAMS / 2);
    assert_true(t->dgram_echoed <= DGRAMS);
    assert_int_equal(t->reqs[0].got, 300000);
    assert_false(t->reqs[0].mismatch);
    h3t_free(t, &p);
    free(t);
}

static bool server_closed(sim_bind *p)
{
    return p->server_closed;
}

/* RFC 9114 §8: h3_conn_close reaches the peer as CONNECTION_CLOSE (0x1d) with
 * the HTTP/3 code and reason; later calls fail with H3_ERR_CLOSED. */
static void test_close_code(void **state)
{
    (void)state;
    sim_bind p;
    netsim_link_config l = link_with(0.0);
    sim_bind_init(&p, 7, &l, &certs);
    h3t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->reqs[t->nreq++].size = 100;
    h3t_start(t, &p);
    assert_int_equal(sim_bind_run(&p, all_done, 60000000), NETSIM_OK);
    assert_int_equal(t->ended, 1);
    h3_conn *ch = ch3(t);
    assert_int_equal(h3_conn_close(ch, H3_NO_ERROR, "done"), H3_OK);
    assert_int_equal(h3_conn_error(ch), H3_NO_ERROR);
    assert_int_equal(sim_bind_run(&p, server_closed, netsim_now(p.net) + 1000000), NETSIM_OK);
    assert_true(p.server_close.is_app);
    assert_true(p.server_close.by_peer);
    assert_int_equal(p.server_close.error_code, H3_NO_ERROR);
    assert_int_equal(p.server_close.len, 4);
    assert_memory_equal(p.server_close.data, "done", 4);
    h3_field f[1] = {{(const uint8_t *)":method", 7, (const uint8_t *)"GET", 3}};
    uint64_t sid;
    assert_int_equal(h3_conn_submit_request(ch, f, 1, true, &sid), H3_ERR_CLOSED);
    h3t_free(t, &p);
    free(t);
}

/* Without H3_DATAGRAM on the server, the client cannot send HTTP Datagrams. */
static void test_datagrams_not_negotiated(void **state)
{
    (void)state;
    sim_bind p;
    netsim_link_config l = link_with(0.0);
    sim_bind_init(&p, 4, &l, &certs);
    h3t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->reqs[t->nreq++].size = 10;
    h3t_start(t, &p);
    assert_int_equal(sim_bind_run(&p, all_done, 60000000), NETSIM_OK);
    assert_int_equal(t->ended, 1);
    h3_conn *ch = ch3(t);
    assert_false(h3_conn_datagrams_enabled(ch));
    uint8_t d[4] = {1, 2, 3, 4};
    assert_int_equal(h3_conn_send_datagram(ch, 0, d, sizeof(d)), H3_ERR_DATAGRAM);
    h3t_free(t, &p);
    free(t);
}

/* The client cancels a 5 MB response midway: the server sees STOP_SENDING with
 * H3_REQUEST_CANCELLED, stops, and the connection serves the
 * next request; both sides forget the cancelled stream. */
static void test_cancel_midway(void **state)
{
    (void)state;
    sim_bind p;
    netsim_link_config l = link_with(0.0);
    sim_bind_init(&p, 5, &l, &certs);
    h3t *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    t->cancel_test = true;
    t->reqs[t->nreq++].size = 5000000;
    t->reqs[t->nreq++].size = 1000;
    h3t_start(t, &p);
    assert_int_equal(sim_bind_run(&p, all_done, 60000000), NETSIM_OK);
    assert_int_equal(t->conn_errors, 0);
    assert_false(t->failed);
    assert_true(t->cancelled);
    assert_true(t->reqs[0].got >= 100000 && t->reqs[0].got < 5000000);
    assert_int_equal(t->reqs[1].status, 200);
    assert_int_equal(t->reqs[1].got, 1000);
    assert_false(t->reqs[1].mismatch);
    /* The request had ended with FIN: only STOP_SENDING goes (no RESET_STREAM). */
    assert_int_equal(t->server_resets, 0);
    assert_int_equal(t->server_stop_sendings, 1);
    /* The server produced a fraction of the body only. */
    assert_true(t->resps[0].sent < 5000000);
    /* Run on until the resets are acknowledged: only the six control and QPACK
     * streams remain on both sides. */
    sim_bind_run(&p, NULL, netsim_now(p.net) + 2000000);
    assert_int_equal(h3_conn_stream_count(ch3(t)), 6);
    assert_int_equal(h3_conn_stream_count(sh3(t)), 6);
    h3t_free(t, &p);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gets_no_loss),      cmocka_unit_test(test_gets_loss5),
        cmocka_unit_test(test_connect_datagrams), cmocka_unit_test(test_datagrams_not_negotiated),
        cmocka_unit_test(test_cancel_midway),     cmocka_unit_test(test_connect_datagrams_loss5),
        cmocka_unit_test(test_close_code),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
