/* Sim tests: WebTransport over our QUIC connections (bind/): the quince-client
 * checks (bidi, uni and datagram echo, close with code and reason) against the /echo server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apps/wt_check.h"
#include "apps/wt_echo.h"
#include "base/varint.h"
#include "h3/h3.h"
#include "wt/codes.h"
#include "wt/dialect.h"
#include "tests/sim/sim_bind.h"

static test_env cert_env;
static sim_certs certs;

static int setup(void **state)
{
    (void)state;
    test_env_init(&cert_env, 12);
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

typedef struct wtt {
    sim_bind *p;
    bool connected;
    wt_check check;
    wt_callbacks ccb, scb;
    wt_echo echo;
    bool server_closed;
    uint32_t server_code;
    char server_reason[128];
    wt_session *client_session;
    const char *path;
    /* Server-initiated close: the client records what reached it. */
    bool client_saw_close;
    uint32_t client_code;
    char client_reason[128];
} wtt;

static wtt *g_t; /* the server's close callback needs the test state besides the echo */
static uint32_t g_client_dialects; /* 0: every dialect */
static wt_dialect g_server_dialect;
static bool g_sweep; /* WT_SIM_SEEDS: see sweep_seeds */

static void s_closed(void *user, wt_session *s, uint32_t code, const uint8_t *reason, size_t len)
{
    (void)user;
    g_server_dialect = wt_session_dialect(s);
    g_t->server_closed = true;
    g_t->server_code = code;
    if (len >= sizeof(g_t->server_reason))
        len = sizeof(g_t->server_reason) - 1;
    memcpy(g_t->server_reason, reason, len);
    g_t->server_reason[len] = '\0';
}

#define SERVER_CLOSE_CODE 4242u
#define SERVER_CLOSE_REASON "bye from quince"

static void s_ready_close(void *user, wt_session *s)
{
    (void)user;
    assert_int_equal(wt_session_close(s, SERVER_CLOSE_CODE, (const uint8_t *)SERVER_CLOSE_REASON,
                                      strlen(SERVER_CLOSE_REASON)),
                     WT_OK);
}

static void c_closed(void *user, wt_session *s, uint32_t code, const uint8_t *reason, size_t len)
{
    (void)user;
    (void)s;
    /* The session is gone after this call: the check must stop using it. */
    g_t->check.s = NULL;
    g_t->check.closed = true;
    g_t->client_saw_close = true;
    g_t->client_code = code;
    if (len >= sizeof(g_t->client_reason))
        len = sizeof(g_t->client_reason) - 1;
    memcpy(g_t->client_reason, reason, len);
    g_t->client_reason[len] = '\0';
}

/* Once per send round: the client opens its session once QUIC is established
 * (bind has started HTTP/3 then), and runs its checks. */
static void tick(sim_bind *p, bool is_server, uint64_t now)
{
    wtt *t = p->user;
    if (is_server || !quic_conn_is_established(bind_conn_quic(p->client)))
        return;
    if (!t->connected) {
        t->connected = true;
        assert_int_equal(wt_endpoint_connect(bind_conn_wt(p->client), "example.test", t->path,
                                             "https://example.test", &t->client_session),
                         WT_OK);
    }
    wt_check_tick(&t->check, now);
}

static bool done(sim_bind *p)
{
    wtt *t = p->user;
    if (strcmp(t->path, "/close-me") == 0)
        return p->client_closed || p->server_closed || (t->client_saw_close && t->server_closed);
    if (p->client_closed || p->server_closed || t->check.failed)
        return true;
    return t->check.closed && t->server_closed;
}

static void run(uint64_t seed, double loss, const char *path)
{
    sim_bind p;
    netsim_link_config l = {.delay_us = 10000, .loss = loss, .rate_bytes_per_s = 12500000};
    sim_bind_init(&p, seed, &l, &certs);
    p.ccfg.quic.max_datagram_frame_size = 1200;
    p.scfg.quic.max_datagram_frame_size = 1200;
    wtt *t = calloc(1, sizeof(*t));
    assert_non_null(t);
    g_t = t;
    t->p = &p;
    t->path = path;
    wt_check_init(&t->check, &t->ccb);
    wt_echo_init(&t->echo, "/echo", &t->scb);
    t->scb.on_session_closed = s_closed;
    if (strcmp(path, "/close-me") == 0) {
        /* The server accepts (the echo handler's path) and closes at once. */
        t->echo.path = "/close-me";
        t->scb.on_session_ready = s_ready_close;
        t->ccb.on_session_closed = c_closed;
    }
    p.ccfg.webtransport = true;
    p.scfg.webtransport = true;
    if (g_client_dialects != 0)
        p.ccfg.wtcfg.dialects = g_client_dialects;
    p.ccfg.wtcb = t->ccb;
    p.scfg.wtcb = t->scb;
    p.client_user = t->ccb.user;
    p.server_user = t->scb.user;
    p.user = t;
    p.tick = tick;
    sim_bind_start(&p);
    int r = sim_bind_run(&p, done, 120000000);
    assert_int_equal(r, NETSIM_OK);
    if (strcmp(path, "/echo") == 0) {
        if (!wt_check_passed(&t->check))
            fprintf(stderr, "check failed: %s\n", t->check.why);
        assert_true(wt_check_passed(&t->check));
        assert_true(t->check.bidi_ok);
        /* The client's dialect: the newest it offers (draft-16 unless limited). */
        assert_int_equal(t->check.dialect, wt_dialect_newest(g_client_dialects ? g_client_dialects
                                                                               : WT_DIALECTS_ALL));
        assert_true(t->check.uni_ok);
        assert_true(t->check.dgram_ok);
        /* The server saw the client's close capsule. */
        assert_true(t->server_closed);
        assert_int_equal(t->server_code, WT_CHECK_CLOSE_CODE);
        assert_string_equal(t->server_reason, WT_CHECK_CLOSE_REASON);
        assert_int_equal(t->echo.sessions, 1);
        assert_true(t->echo.bytes >= WT_CHECK_BIDI_LEN + WT_CHECK_UNI_LEN);
        assert_true(t->echo.datagrams >= 1);
        if (loss > 0 && !g_sweep) /* a short sweep run may lose nothing */
            assert_true(quic_conn_get_stats(bind_conn_quic(p.client))->packets_lost +
                            quic_conn_get_stats(bind_conn_quic(p.sconn))->packets_lost >
                        0);
    } else if (strcmp(path, "/close-me") == 0) {
        /* The capsule's code and reason reached the client under loss. */
        assert_true(t->check.ready);
        assert_true(t->client_saw_close);
        assert_int_equal(t->client_code, SERVER_CLOSE_CODE);
        assert_string_equal(t->client_reason, SERVER_CLOSE_REASON);
        assert_true(t->server_closed);
        assert_int_equal(t->server_code, SERVER_CLOSE_CODE);
    } else {
        /* Both ends speak every dialect: draft-16, whose "not found" is 405 (§3.2). */
        assert_true(t->check.rejected);
        assert_int_equal(t->check.status, 405);
        assert_int_equal(t->echo.sessions, 0);
    }
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    sim_bind_free(&p);
    free(t);
}

static void test_echo_no_loss(void **state)
{
    (void)state;
    run(1, 0.0, "/echo");
}

static void test_echo_loss5(void **state)
{
    (void)state;
    for (uint64_t seed = 2; seed < 6; seed++)
        run(seed, 0.05, "/echo");
}

/* The client limited to each dialect, the server speaking all, under 5% loss:
 * both sides agree on it (-13/-14 and -15/-16 share their codepoints, so the
 * server names the newer of the pair). */
static void test_echo_loss5_per_dialect(void **state)
{
    (void)state;
    static const wt_dialect ds[] = {WT_DRAFT_02, WT_DRAFT_07, WT_DRAFT_13,
                                    WT_DRAFT_14, WT_DRAFT_15, WT_DRAFT_16};
    for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
        g_client_dialects = WT_DIALECT_BIT(ds[i]);
        g_server_dialect = WT_DIALECT_NONE;
        run(2 + i, 0.05, "/echo");
        wt_dialect want = ds[i] == WT_DRAFT_13   ? WT_DRAFT_14
                          : ds[i] == WT_DRAFT_15 ? WT_DRAFT_16
                                                 : ds[i];
        assert_int_equal(g_server_dialect, want);
    }
    g_client_dialects = 0;
}

static void test_rejected_404(void **state)
{
    (void)state;
    run(7, 0.05, "/nope");
}

static void test_server_close_loss5(void **state)
{
    (void)state;
    for (uint64_t seed = 8; seed < 11; seed++)
        run(seed, 0.05, "/close-me");
}

/* ---- 100 streams of 64 KB, on one session or two (the dialects that allow it) ---- */

#define NSTREAMS 100
#define STREAM_LEN 65536

typedef struct many {
    int nsessions;
    size_t n; /* streams to open (at most NSTREAMS) */
    wt_session *sess[2];
    int ready;
    size_t opened;
    wt_stream *st[NSTREAMS];
    uint64_t got[NSTREAMS];
    bool fin[NSTREAMS], bad[NSTREAMS];
    size_t done;
    wt_dialect dialect[2];
} many;

static many *g_m;

static uint8_t mbyte(size_t idx, uint64_t off)
{
    return (uint8_t)(wt_check_byte(off) ^ (uint8_t)(idx * 37));
}

static void m_ready(void *user, wt_session *s)
{
    (void)user;
    g_m->dialect[g_m->ready++] = wt_session_dialect(s);
}

static void m_data(void *user, wt_stream *st, const uint8_t *d, size_t len, bool fin)
{
    (void)user;
    size_t idx = (size_t)(uintptr_t)wt_stream_user(st) - 1;
    assert_true(idx < NSTREAMS);
    for (size_t i = 0; i < len; i++)
        if (d[i] != mbyte(idx, g_m->got[idx] + i))
            g_m->bad[idx] = true;
    g_m->got[idx] += len;
    if (fin && !g_m->fin[idx]) {
        g_m->fin[idx] = true;
        g_m->done++;
    }
}

static void m_tick(sim_bind *p, bool is_server, uint64_t now)
{
    many *m = p->user;
    (void)now;
    if (is_server || !quic_conn_is_established(bind_conn_quic(p->client)))
        return;
    if (m->sess[0] == NULL) {
        for (int i = 0; i < m->nsessions; i++)
            assert_int_equal(wt_endpoint_connect(bind_conn_wt(p->client), "example.test", "/echo",
                                                 "https://example.test", &m->sess[i]),
                             WT_OK);
    }
    if (m->ready < m->nsessions)
        return;
    static uint8_t buf[STREAM_LEN];
    while (m->opened < m->n) {
        size_t idx = m->opened;
        wt_stream *st;
        if (wt_session_open_stream(m->sess[idx % (size_t)m->nsessions], true, &st) != WT_OK)
            return; /* the peer's stream limit: again on the next round */
        wt_stream_set_user(st, (void *)(uintptr_t)(idx + 1));
        for (size_t i = 0; i < STREAM_LEN; i++)
            buf[i] = mbyte(idx, i);
        assert_int_equal(wt_stream_write(st, buf, STREAM_LEN, true), WT_OK);
        m->st[idx] = st;
        m->opened++;
    }
}

static bool m_done(sim_bind *p)
{
    many *m = p->user;
    return p->client_closed || p->server_closed || m->done == m->n;
}

/* The server's sessions (the echo handler keeps none), for their flow-control counters. */
static wt_session *g_srv_sess[2];
static int g_srv_nsess;
static void (*g_echo_ready)(void *user, wt_session *s);

static void s_ready_note(void *user, wt_session *s)
{
    if (g_srv_nsess < 2)
        g_srv_sess[g_srv_nsess++] = s;
    if (g_echo_ready != NULL)
        g_echo_ready(user, s);
}

/* -13..-16 §5: flow-control windows for both sides (0: the defaults). */
typedef struct fc_win {
    uint64_t data, streams;
} fc_win;

/* The client limited to one dialect, the server speaking all, 5% loss: every
 * stream's 64 KB echoed byte-exact, each session in that dialect. With fc
 * windows, both sides use them, and each session's counters show flow control
 * blocking and resuming both ways. */
static void run_many_fc(uint64_t seed, wt_dialect d, int nsessions, size_t nstreams,
                        const fc_win *fc)
{
    sim_bind p;
    netsim_link_config l = {.delay_us = 10000, .loss = 0.05, .rate_bytes_per_s = 12500000};
    sim_bind_init(&p, seed, &l, &certs);
    p.ccfg.quic.max_datagram_frame_size = 1200;
    p.scfg.quic.max_datagram_frame_size = 1200;
    p.ccfg.quic.initial_max_data = 64u << 20;
    p.scfg.quic.initial_max_data = 64u << 20;
    p.ccfg.quic.initial_max_stream_data_bidi_local = 1u << 20;
    p.scfg.quic.initial_max_stream_data_bidi_remote = 1u << 20;
    p.scfg.quic.initial_max_streams_bidi = 200;
    p.scfg.h3cfg.max_peer_bidi = 220;
    p.ccfg.h3cfg.max_send_buffer = 1u << 20; /* a whole 64 KB write at once */
    /* 6.4 MB in flight both ways: with the default 2 MB connection budget
     * (quic/opt.h) this transfer stalls until the idle timeout, loss or not
     * (noticed here, left to the budget's owners; see the i9 report). */
    p.ccfg.quic.max_conn_memory = 32u << 20;
    p.scfg.quic.max_conn_memory = 32u << 20;
    p.scfg.h3cfg.max_send_buffer = 1u << 20;
    many *m = calloc(1, sizeof(*m));
    assert_non_null(m);
    g_m = m;
    m->nsessions = nsessions;
    m->n = nstreams;
    wt_echo echo;
    wt_callbacks scb, ccb = {.on_session_ready = m_ready, .on_stream_data = m_data};
    wt_echo_init(&echo, "/echo", &scb);
    g_srv_nsess = 0;
    g_echo_ready = scb.on_session_ready;
    scb.on_session_ready = s_ready_note;
    if (fc != NULL) {
        p.ccfg.wtcfg.fc_max_data = p.scfg.wtcfg.fc_max_data = fc->data;
        p.ccfg.wtcfg.fc_max_streams_bidi = p.scfg.wtcfg.fc_max_streams_bidi = fc->streams;
        p.ccfg.wtcfg.fc_max_streams_uni = p.scfg.wtcfg.fc_max_streams_uni = fc->streams;
    }
    p.ccfg.webtransport = true;
    p.scfg.webtransport = true;
    p.ccfg.wtcfg.dialects = WT_DIALECT_BIT(d);
    p.ccfg.wtcb = ccb;
    p.scfg.wtcb = scb;
    p.server_user = scb.user;
    p.user = m;
    p.tick = m_tick;
    sim_bind_start(&p);
    assert_int_equal(sim_bind_run(&p, m_done, 300000000), NETSIM_OK);
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    assert_int_equal(m->ready, nsessions);
    for (int i = 0; i < nsessions; i++)
        assert_int_equal(m->dialect[i], d);
    assert_int_equal(m->done, nstreams);
    for (size_t i = 0; i < nstreams; i++) {
        assert_false(m->bad[i]);
        assert_int_equal(m->got[i], STREAM_LEN);
    }
    assert_int_equal(echo.sessions, (uint64_t)nsessions);
    assert_int_equal(echo.bytes, (uint64_t)nstreams * STREAM_LEN);
    /* -13..-16 §5.1: flow control is on in the dialects that have it (both
     * sides offer it by default), off before; each session keeps its own. */
    bool has_fc = wt_dialect_get(d)->has_flow_control;
    assert_int_equal(g_srv_nsess, nsessions);
    uint64_t opens_blocked = 0, streams_blocked = 0;
    for (int i = 0; i < nsessions; i++) {
        wt_flow_stats cs, ss;
        wt_session_flow(m->sess[i], &cs);
        wt_session_flow(g_srv_sess[i], &ss);
        assert_int_equal(cs.enabled, has_fc);
        assert_int_equal(ss.enabled, has_fc);
        if (!has_fc)
            continue;
        uint64_t body = (uint64_t)(nstreams / (size_t)nsessions) * STREAM_LEN;
        assert_int_equal(cs.data_sent, body);
        assert_int_equal(ss.data_received, body);
        assert_int_equal(ss.data_sent, body);
        assert_int_equal(cs.data_received, body);
        assert_true(cs.data_sent <= cs.peer_max_data && ss.data_sent <= ss.peer_max_data);
        if (fc == NULL)
            continue;
        /* Blocked and resumed, both ways, and the capsules said so. */
        assert_true(cs.writes_held > 0 && cs.data_blocked_sent > 0);
        assert_true(ss.writes_held > 0 && ss.data_blocked_sent > 0);
        assert_true(cs.max_data_received > 0 && ss.max_data_received > 0);
        assert_true(ss.data_blocked_received > 0 && cs.data_blocked_received > 0);
        /* Stream limits: each session got more (WT_MAX_STREAMS); whether a given
         * session was refused an open depends on timing, so counted over both. */
        assert_true(cs.max_streams_received > 0);
        opens_blocked += cs.opens_blocked;
        streams_blocked += cs.streams_blocked_sent;
        assert_int_equal(ss.streams_blocked_received, cs.streams_blocked_sent);
        assert_int_equal(cs.streams_opened_bidi, nstreams / (size_t)nsessions);
        fprintf(stderr,
                "%s session %d: %llu B sent in %llu held writes, %llu WT_DATA_BLOCKED, %llu "
                "WT_MAX_DATA received; %llu refused opens, %llu WT_STREAMS_BLOCKED, %llu "
                "WT_MAX_STREAMS received\n",
                wt_dialect_name(d), i, (unsigned long long)cs.data_sent,
                (unsigned long long)cs.writes_held, (unsigned long long)cs.data_blocked_sent,
                (unsigned long long)cs.max_data_received, (unsigned long long)cs.opens_blocked,
                (unsigned long long)cs.streams_blocked_sent,
                (unsigned long long)cs.max_streams_received);
    }
    if (fc != NULL && has_fc)
        assert_true(opens_blocked > 0 && streams_blocked > 0);
    assert_true(quic_conn_get_stats(bind_conn_quic(p.client))->packets_lost > 0);
    sim_bind_free(&p);
    free(m);
}

static const wt_dialect all_dialects[] = {WT_DRAFT_02, WT_DRAFT_07, WT_DRAFT_13,
                                          WT_DRAFT_14, WT_DRAFT_15, WT_DRAFT_16};

/* 100 x 64 KB in each dialect, on two sessions of one connection: draft-02
 * and -07 allow it without flow control, -13..-16 with it (§5.1; both sides
 * offer it by default). */
static void test_many_streams_per_dialect(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(all_dialects) / sizeof(all_dialects[0]); i++)
        run_many_fc(40 + i, all_dialects[i], 2, NSTREAMS, NULL);
}

/* -13..-16 §5 under 5% loss: windows of 16 KiB and 4 streams each way, 24
 * streams of 64 KB echoed on two sessions: the writes are held and resume on
 * WT_MAX_DATA, opens are refused and resume on WT_MAX_STREAMS, byte-exact. */
static void test_flow_control_loss5_per_dialect(void **state)
{
    (void)state;
    static const fc_win small = {16384, 4};
    for (size_t i = 2; i < sizeof(all_dialects) / sizeof(all_dialects[0]); i++)
        run_many_fc(50 + i, all_dialects[i], 2, 24, &small);
}

/* ---- A reset stream in each dialect: -13..-16 §4.4 keep the stream header reliable ---- */

#define RR_LEN 30000
#define RR_CODE 7

typedef struct rr {
    wt_session *cs;
    bool reset_sent;
    bool opened, bad, reset_seen;
    uint32_t code;
    uint64_t got;
    wt_session *open_session; /* the server session the stream came on */
    wt_session *srv;
} rr;

static rr *g_rr;
static uint64_t g_rr_counted; /* body bytes both ends counted, summed over runs */

static void rr_srv_ready(void *user, wt_session *s)
{
    (void)user;
    g_rr->srv = s;
}

static int rr_request(void *user, wt_session *s)
{
    (void)user;
    (void)s;
    return 200;
}

static void rr_open(void *user, wt_session *s, wt_stream *st)
{
    (void)user;
    (void)st;
    g_rr->opened = true;
    g_rr->open_session = s;
}

static void rr_data(void *user, wt_stream *st, const uint8_t *d, size_t len, bool fin)
{
    (void)user;
    (void)st;
    (void)fin;
    for (size_t i = 0; i < len; i++)
        if (d[i] != wt_check_byte(g_rr->got + i))
            g_rr->bad = true;
    g_rr->got += len;
}

static void rr_reset(void *user, wt_stream *st, uint32_t code)
{
    (void)user;
    (void)st;
    g_rr->reset_seen = true;
    g_rr->code = code;
}

/* The client side of the reset tests: once QUIC is established, open the
 * session (once); true when the session is ready on the client. */
static bool rr_client_session(sim_bind *p, bool is_server, rr *r)
{
    if (is_server || !quic_conn_is_established(bind_conn_quic(p->client)))
        return false;
    if (r->cs == NULL)
        assert_int_equal(wt_endpoint_connect(bind_conn_wt(p->client), "example.test", "/rr",
                                             "https://example.test", &r->cs),
                         WT_OK);
    return wt_session_is_ready(r->cs);
}

static void rr_tick(sim_bind *p, bool is_server, uint64_t now)
{
    rr *r = p->user;
    (void)now;
    if (!rr_client_session(p, is_server, r) || r->reset_sent)
        return;
    /* Write, then reset at once: most of the bytes are still in flight. */
    static uint8_t buf[RR_LEN];
    for (size_t i = 0; i < RR_LEN; i++)
        buf[i] = wt_check_byte(i);
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(r->cs, false, &st), WT_OK);
    assert_int_equal(wt_stream_write(st, buf, RR_LEN, false), WT_OK);
    assert_int_equal(wt_stream_reset(st, RR_CODE), WT_OK);
    r->reset_sent = true;
}

static bool rr_done(sim_bind *p)
{
    rr *r = p->user;
    /* A plain reset may take the stream header with it: then the server never
     * learns of the stream, nothing more happens and the connection idles out. */
    return p->client_closed || p->server_closed || r->reset_seen;
}

/* Returns whether the server saw the stream (on the right session) and its reset. */
static bool run_reset(uint64_t seed, wt_dialect d)
{
    sim_bind p;
    netsim_link_config l = {.delay_us = 10000, .loss = 0.05, .rate_bytes_per_s = 12500000};
    sim_bind_init(&p, seed, &l, &certs);
    p.ccfg.quic.max_datagram_frame_size = 1200;
    p.scfg.quic.max_datagram_frame_size = 1200;
    rr *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    g_rr = r;
    wt_callbacks scb = {.on_session_request = rr_request,
                        .on_session_ready = rr_srv_ready,
                        .on_stream_open = rr_open,
                        .on_stream_data = rr_data,
                        .on_stream_reset = rr_reset};
    p.ccfg.webtransport = true;
    p.scfg.webtransport = true;
    p.ccfg.wtcfg.dialects = WT_DIALECT_BIT(d);
    p.scfg.wtcb = scb;
    p.user = r;
    p.tick = rr_tick;
    sim_bind_start(&p);
    assert_int_equal(sim_bind_run(&p, rr_done, 60000000), NETSIM_OK);
    if (p.client_closed || p.server_closed) {
        /* Only a lost stream header (plain RESET_STREAM, draft-02/-07) leaves
         * the connection with nothing to do until its idle timeout. */
        assert_false(wt_dialect_get(d)->needs_reset_stream_at);
        assert_false(r->opened);
        assert_string_equal((const char *)(p.server_closed ? p.server_reason : p.client_reason),
                            "idle timeout");
    }
    assert_true(r->reset_sent);
    assert_int_equal(wt_session_dialect(r->cs), d);
    bool seen = r->opened && r->reset_seen;
    if (r->opened) {
        assert_ptr_equal(r->open_session, r->srv);
        assert_false(r->bad); /* what arrived is the written prefix */
        assert_true(r->got <= RR_LEN);
    }
    if (r->reset_seen)
        assert_int_equal(r->code, RR_CODE);
    if (r->reset_seen && wt_dialect_get(d)->needs_reset_stream_at) {
        /* -13..-16 §5.4: both ends count the final size the reset carried
         * (bytes QUIC had not sent when it was reset give their credit back). */
        wt_flow_stats cs, ss;
        wt_session_flow(r->cs, &cs);
        wt_session_flow(r->srv, &ss);
        assert_true(cs.enabled && ss.enabled);
        assert_int_equal(cs.data_sent, ss.data_received);
        assert_true(cs.data_sent >= r->got && cs.data_sent < RR_LEN);
        g_rr_counted += cs.data_sent;
    }
    sim_bind_free(&p);
    free(r);
    return seen;
}

/* Under 5% loss, a client's uni stream written and reset at once, 6 seeds per
 * dialect: in -13..-16 (RESET_STREAM_AT keeping 0x54 + session ID, §4.4) the
 * server always learns the stream, on its session, and gets the code; in
 * draft-02/-07 (plain RESET_STREAM) it gets the code whenever it learns the
 * stream at all. */
static void test_reset_per_dialect_loss5(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(all_dialects) / sizeof(all_dialects[0]); i++) {
        wt_dialect d = all_dialects[i];
        int seen = 0;
        g_rr_counted = 0;
        for (uint64_t seed = 0; seed < 6; seed++)
            seen += run_reset(60 + 10 * i + seed, d);
        fprintf(stderr,
                "%s: server saw the reset stream in %d of 6 runs; both ends counted %llu of "
                "%d body bytes written per run\n",
                wt_dialect_name(d), seen, (unsigned long long)g_rr_counted / 6, RR_LEN);
        if (wt_dialect_get(d)->needs_reset_stream_at)
            assert_int_equal(seen, 6);
    }
}

/* ---- -13..-16 §5.4: a reset stream costs the session its final size ---- */

#define FS_LEN 3000
#define FS_BIG 100000 /* more than QUIC sends in its first window */

typedef struct fsr {
    rr r;          /* the reset test's server callbacks record into it */
    bool raw;      /* the client writes through h3, past wt's flow control */
    size_t len;    /* body bytes written */
    bool dropping; /* the client's datagrams are dropped (the stream's bytes) */
    uint64_t written_at;
    uint64_t id;
    bool srv_closed;
    char log[300]; /* the server's "session ended" line */
    /* STOP_SENDING instead: the server stops the stream at its first bytes. */
    bool stopped, client_saw_stop;
    bool abort_bidi; /* ... or resets a bidi stream (both ways) instead */
    int srv_stream_closed;
    uint64_t stop_seen_at; /* the client's time then (0: not yet) */
    bool settled;
} fsr;

static fsr *g_fs;

static bool fs_hook(void *user, netsim_datagram *d)
{
    sim_bind *p = user;
    return g_fs->dropping && d->from == p->cnode;
}

static void fs_log(void *user, int level, const char *msg)
{
    (void)user;
    (void)level;
    if (strstr(msg, "webtransport: session") != NULL) {
        strncpy(g_fs->log, msg, sizeof(g_fs->log) - 1);
        g_fs->log[sizeof(g_fs->log) - 1] = '\0';
    }
}

static void fs_srv_closed(void *user, wt_session *s, uint32_t code, const uint8_t *reason,
                          size_t len)
{
    (void)user, (void)s, (void)code, (void)reason, (void)len;
    g_fs->srv_closed = true;
}

/* The client writes FS_LEN body bytes on a uni stream while every datagram it
 * sends is lost, then (30 ms on) resets it keeping only the stream header
 * (RESET_STREAM_AT): QUIC never resends the body, but the final size says
 * FS_LEN bytes were sent. */
static void fs_tick(sim_bind *p, bool is_server, uint64_t now)
{
    fsr *f = p->user;
    rr *r = &f->r;
    if (!rr_client_session(p, is_server, r) || r->reset_sent || r->srv == NULL)
        return;
    static uint8_t buf[FS_BIG];
    static wt_stream *st;
    h3_conn *h3 = bind_conn_h3(p->client);
    uint64_t hdr =
        quince_varint_len(H3_STREAM_WEBTRANSPORT) + quince_varint_len(wt_session_id(r->cs));
    if (!f->dropping) {
        for (size_t i = 0; i < f->len; i++)
            buf[i] = wt_check_byte(i);
        if (f->raw) {
            assert_int_equal(h3_conn_open_ext_stream(h3, false, H3_STREAM_WEBTRANSPORT,
                                                     wt_session_id(r->cs), &f->id),
                             H3_OK);
            assert_int_equal(h3_conn_write_raw(h3, f->id, buf, f->len, false), H3_OK);
        } else {
            assert_int_equal(wt_session_open_stream(r->cs, false, &st), WT_OK);
            assert_int_equal(wt_stream_write(st, buf, f->len, false), WT_OK);
        }
        f->dropping = true;
        f->written_at = now;
        return;
    }
    if (now < f->written_at + 30000)
        return;
    f->dropping = false;
    if (f->raw)
        assert_int_equal(h3_conn_reset_stream_at(h3, f->id, wt_error_to_http3(RR_CODE), hdr),
                         H3_OK);
    else
        assert_int_equal(wt_stream_reset(st, RR_CODE), WT_OK);
    r->reset_sent = true;
}

static bool fs_done(sim_bind *p)
{
    fsr *f = p->user;
    return p->client_closed || p->server_closed || f->r.reset_seen || f->srv_closed;
}

/* Returns the body bytes the server's application got before the reset. */
static uint64_t run_final_size(uint64_t seed, wt_dialect d, bool raw, size_t len,
                               uint64_t srv_window)
{
    sim_bind p;
    netsim_link_config l = {.delay_us = 10000, .rate_bytes_per_s = 12500000};
    sim_bind_init(&p, seed, &l, &certs);
    p.t.env.log = fs_log;
    fsr *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    g_fs = f;
    g_rr = &f->r;
    f->raw = raw;
    f->len = len;
    wt_callbacks scb = {.on_session_request = rr_request,
                        .on_session_ready = rr_srv_ready,
                        .on_session_closed = fs_srv_closed,
                        .on_stream_open = rr_open,
                        .on_stream_data = rr_data,
                        .on_stream_reset = rr_reset};
    p.ccfg.webtransport = true;
    p.scfg.webtransport = true;
    p.ccfg.wtcfg.dialects = WT_DIALECT_BIT(d);
    if (srv_window != 0)
        p.scfg.wtcfg.fc_max_data = srv_window;
    p.scfg.wtcb = scb;
    p.user = f;
    p.tick = fs_tick;
    netsim_set_hook(p.net, fs_hook, &p);
    sim_bind_start(&p);
    assert_int_equal(sim_bind_run(&p, fs_done, 60000000), NETSIM_OK);
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    assert_true(f->r.reset_sent);
    assert_true(f->r.opened); /* the header is reliable: the server knows the stream */
    assert_ptr_equal(f->r.open_session, f->r.srv);
    assert_false(f->r.bad);
    uint64_t got = f->r.got;
    assert_true(got < len); /* the reset cut bytes off */
    if (len > (srv_window ? srv_window : (1u << 20))) {
        /* §5.6.4: Stream Body data beyond WT_MAX_DATA (here: only the final
         * size says so) ends the session with WT_FLOW_CONTROL_ERROR. */
        assert_true(f->srv_closed);
        assert_non_null(strstr(f->log, "(0x45d4487)"));
        fprintf(stderr, "%s: %s\n", wt_dialect_name(d), f->log);
    } else {
        /* Both ends count the final size, whatever arrived: all that was
         * written when QUIC had sent it all, else what QUIC sent (the rest
         * gave the sender its credit back). */
        assert_true(f->r.reset_seen);
        assert_int_equal(f->r.code, RR_CODE);
        assert_false(f->srv_closed);
        wt_flow_stats cs, ss;
        wt_session_flow(f->r.cs, &cs);
        wt_session_flow(f->r.srv, &ss);
        assert_true(ss.enabled);
        assert_int_equal(cs.data_sent, ss.data_received);
        if (len == FS_LEN)
            assert_int_equal(ss.data_received, FS_LEN);
        else
            assert_true(ss.data_received > got && ss.data_received < len);
        fprintf(stderr, "%s: %zu written, %llu arrived; both ends count %llu\n", wt_dialect_name(d),
                len, (unsigned long long)got, (unsigned long long)ss.data_received);
    }
    sim_bind_free(&p);
    free(f);
    return got;
}

static void fs_srv_data(void *user, wt_stream *st, const uint8_t *d, size_t len, bool fin)
{
    rr_data(user, st, d, len, fin);
    if (!g_fs->stopped) {
        g_fs->stopped = true;
        if (g_fs->abort_bidi)
            assert_int_equal(wt_stream_reset(st, RR_CODE), WT_OK);
        else
            assert_int_equal(wt_stream_stop_sending(st, RR_CODE), WT_OK);
    }
}

static void fs_srv_stream_closed(void *user, wt_stream *st)
{
    (void)user, (void)st;
    g_fs->srv_stream_closed++;
}

static void fs_cli_stop(void *user, wt_stream *st, uint32_t code)
{
    (void)user, (void)st;
    assert_int_equal(code, RR_CODE);
    g_fs->client_saw_stop = true;
}

/* The client writes FS_BIG bytes on a uni stream at once; nothing is lost. */
static void stop_tick(sim_bind *p, bool is_server, uint64_t now)
{
    fsr *f = p->user;
    rr *r = &f->r;
    if (!rr_client_session(p, is_server, r) || r->srv == NULL)
        return;
    if (!r->reset_sent) {
        static uint8_t buf[FS_BIG];
        for (size_t i = 0; i < FS_BIG; i++)
            buf[i] = wt_check_byte(i);
        wt_stream *st;
        assert_int_equal(wt_session_open_stream(r->cs, f->abort_bidi, &st), WT_OK);
        assert_int_equal(wt_stream_write(st, buf, FS_BIG, false), WT_OK);
        r->reset_sent = true; /* written */
    }
    /* Let the client's reset (QUIC answers STOP_SENDING with RESET_STREAM) arrive. */
    if (f->client_saw_stop && f->stop_seen_at == 0)
        f->stop_seen_at = now;
    if (f->stop_seen_at != 0 && now >= f->stop_seen_at + 300000)
        f->settled = true;
}

static bool stop_done(sim_bind *p)
{
    fsr *f = p->user;
    return p->client_closed || p->server_closed || f->settled;
}

/* -13..-16 §5.4 after STOP_SENDING: the server stops a stream the client is
 * still writing; QUIC resets the client's side at the bytes it sent, and both
 * ends count that final size (the client gives back what QUIC never sent;
 * the server counts what it dropped or never got). */
static void run_stop_final_size(uint64_t seed, wt_dialect d, bool abort_bidi)
{
    sim_bind p;
    netsim_link_config l = {.delay_us = 10000, .rate_bytes_per_s = 12500000};
    sim_bind_init(&p, seed, &l, &certs);
    fsr *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    g_fs = f;
    g_rr = &f->r;
    f->abort_bidi = abort_bidi;
    wt_callbacks scb = {.on_session_request = rr_request,
                        .on_session_ready = rr_srv_ready,
                        .on_session_closed = fs_srv_closed,
                        .on_stream_open = rr_open,
                        .on_stream_data = fs_srv_data,
                        .on_stream_reset = rr_reset,
                        .on_stream_closed = fs_srv_stream_closed};
    wt_callbacks ccb = {.on_stream_stop_sending = fs_cli_stop};
    p.ccfg.webtransport = true;
    p.scfg.webtransport = true;
    p.ccfg.wtcfg.dialects = WT_DIALECT_BIT(d);
    p.ccfg.wtcb = ccb;
    p.scfg.wtcb = scb;
    p.user = f;
    p.tick = stop_tick;
    sim_bind_start(&p);
    assert_int_equal(sim_bind_run(&p, stop_done, 60000000), NETSIM_OK);
    assert_false(p.client_closed);
    assert_false(p.server_closed);
    assert_true(f->stopped && f->client_saw_stop && f->settled);
    assert_false(f->srv_closed);
    assert_false(f->r.bad);
    wt_flow_stats cs, ss;
    wt_session_flow(f->r.cs, &cs);
    wt_session_flow(f->r.srv, &ss);
    assert_true(cs.enabled && ss.enabled);
    assert_int_equal(cs.data_sent, ss.data_received);
    assert_true(ss.data_received >= f->r.got && ss.data_received < FS_BIG);
    /* The server's application was done with the stream at once, once. */
    assert_int_equal(f->srv_stream_closed, 1);
    fprintf(stderr, "%s: %s after %llu bytes arrived, %d written; both ends count %llu\n",
            wt_dialect_name(d), abort_bidi ? "bidi reset" : "uni stopped",
            (unsigned long long)f->r.got, FS_BIG, (unsigned long long)ss.data_received);
    sim_bind_free(&p);
    free(f);
}

/* -13..-16 §5.4: the session is charged a reset stream's final size, on both
 * ends, though the reset kept most (or all) of the bytes from arriving, also
 * when the reset answers the receiver's STOP_SENDING; and a peer
 * whose final size passes our WT_MAX_DATA (it wrote through h3, past its own
 * flow control) ends the session with WT_FLOW_CONTROL_ERROR (§5.6.4). */
static void test_reset_final_size(void **state)
{
    (void)state;
    for (size_t i = 2; i < sizeof(all_dialects) / sizeof(all_dialects[0]); i++) {
        wt_dialect d = all_dialects[i];
        run_final_size(90 + i, d, false, FS_LEN, 0);
        run_final_size(110 + i, d, false, FS_BIG, 0);
        run_final_size(100 + i, d, true, FS_LEN, 2048);
        run_stop_final_size(120 + i, d, false);
        run_stop_final_size(130 + i, d, true);
    }
}

/* Not a suite test: WT_SIM_SEEDS=A-B [WT_SIM_DRAFT=16] runs the echo check of
 * one client dialect under 5% loss at every seed from A to B (a sweep for
 * rare, seed-dependent failures; the failing seed is the last one printed). */
static void sweep_seeds(void **state)
{
    (void)state;
    unsigned long long a = 0, b = 0;
    assert_int_equal(sscanf(getenv("WT_SIM_SEEDS"), "%llu-%llu", &a, &b), 2);
    const char *dn = getenv("WT_SIM_DRAFT");
    wt_dialect d = WT_DRAFT_16;
    if (dn != NULL)
        for (size_t i = 0; i < sizeof(all_dialects) / sizeof(all_dialects[0]); i++)
            if (strstr(wt_dialect_name(all_dialects[i]), dn) != NULL)
                d = all_dialects[i];
    g_client_dialects = WT_DIALECT_BIT(d);
    g_sweep = true;
    for (unsigned long long seed = a; seed <= b; seed++) {
        fprintf(stderr, "%s seed %llu\n", wt_dialect_name(d), seed);
        run(seed, 0.05, "/echo");
    }
    g_client_dialects = 0;
}

int main(void)
{
    if (getenv("WT_SIM_SEEDS") != NULL) {
        const struct CMUnitTest sweep[] = {cmocka_unit_test(sweep_seeds)};
        return cmocka_run_group_tests(sweep, setup, teardown);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_no_loss),
        cmocka_unit_test(test_echo_loss5),
        cmocka_unit_test(test_echo_loss5_per_dialect),
        cmocka_unit_test(test_many_streams_per_dialect),
        cmocka_unit_test(test_flow_control_loss5_per_dialect),
        cmocka_unit_test(test_reset_per_dialect_loss5),
        cmocka_unit_test(test_reset_final_size),
        cmocka_unit_test(test_rejected_404),
        cmocka_unit_test(test_server_close_loss5),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
