/* Sim tests: RFC 8470 over 0-RTT (RFC 9001 §4.6) with quince-client's HTTP/3 side and
 * quince-server's file server (apps/h3_client.c, apps/h3_server.c) on bind/: a GET that a
 * resumed client sends in 0-RTT for a path the server will not serve from early data gets
 * 425 (Too Early) and is sent again after the handshake; a WebTransport CONNECT that
 * arrives in 0-RTT opens no session (draft-ietf-webtrans-http3-07/-16 §3.3), and the same
 * request after the handshake does. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "apps/h3_client.h"
#include "apps/h3_server.h"
#include "apps/wt_echo.h"
#include "base/varint.h"
#include "h3/frame.h"
#include "quic/error.h"
#include "h3/qpack_decoder.h"
#include "h3/qpack_encoder.h"
#include "tests/sim/sim_bind.h"

#define BODY_LEN 20000

static test_env cert_env, ticket_env;
static sim_certs certs;
static crypto_tls_tickets *tickets;
static char tmpdir[256], file_path[300];
static uint8_t body[BODY_LEN];

static int setup(void **state)
{
    (void)state;
    test_env_init(&cert_env, 21);
    test_env_init(&ticket_env, 22);
    sim_certs_make(&certs, &cert_env.env, cert_env.wall_clock);
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/quince-too-early-XXXXXX", t != NULL ? t : "/tmp");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(file_path, sizeof(file_path), "%s/served", tmpdir);
    for (size_t i = 0; i < BODY_LEN; i++)
        body[i] = (uint8_t)(i * 7 + (i >> 8));
    FILE *f = fopen(file_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(body, 1, BODY_LEN, f), BODY_LEN);
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char p[400];
    static const char *const names[] = {"served", "out0", "out1"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
    sim_certs_free(&certs, &cert_env.env);
    test_env_check_leaks(&cert_env);
    test_env_check_leaks(&ticket_env);
    return 0;
}

/* The client's stored session (RFC 8446 §4.6.1). */
static uint8_t session[4096];
static size_t session_len;
static int sessions;

static void on_session(void *user, const uint8_t *s, size_t len)
{
    (void)user;
    assert_true(len <= sizeof(session));
    memcpy(session, s, len);
    session_len = len;
    sessions++;
}

/* ---- HTTP/3: the apps' client and server ---- */

typedef struct run {
    h3cli *cli;
    h3srv_conn *srv;
    h3srv_stats stats;
} run;
static run R;
static const char *const refused_prefixes[] = {"/secret/"};

/* The server's root holds /pub/a.txt and /secret/b.txt, both the same bytes. */
static int open_file(void *user, const char *path, uint64_t *size)
{
    (void)user;
    if (strcmp(path, "/pub/a.txt") != 0 && strcmp(path, "/secret/b.txt") != 0)
        return -1;
    *size = BODY_LEN;
    return open(file_path, O_RDONLY);
}

static void *make_user(sim_bind *b, bool is_server, bind_conn *bc)
{
    (void)b;
    if (is_server) {
        R.srv = h3srv_conn_new(bc, open_file, NULL, &R.stats, true);
        assert_non_null(R.srv);
        h3srv_conn_refuse_early(R.srv, refused_prefixes, 1);
        return R.srv;
    }
    h3cli_attach(R.cli, bc);
    return R.cli;
}

static void free_user(sim_bind *b, bool is_server, bind_conn *bc, void *user)
{
    (void)b;
    (void)bc;
    if (is_server)
        h3srv_conn_free(user);
}

/* What quince-client's loop does around each turn. */
static void tick(sim_bind *b, bool is_server, uint64_t now)
{
    (void)now;
    if (is_server)
        return;
    if (b->client_done && !h3cli_handshake_done(R.cli))
        h3cli_on_handshake_done(R.cli);
    h3cli_process(R.cli);
}

static bool all_done(sim_bind *b)
{
    (void)b;
    return h3cli_done(R.cli) == h3cli_count(R.cli) && sessions > 0;
}

static void h3_bind(sim_bind *b, uint64_t seed, const netsim_link_config *l, bool resume)
{
    sim_bind_init(b, seed, l, &certs);
    h3cli_config(&b->ccfg);
    h3srv_config(&b->scfg);
    b->scfg.quic.tls.tickets = tickets;
    b->scfg.quic.tls.early_data = true;
    b->ccfg.quic.tls.on_session = on_session;
    if (resume) {
        b->ccfg.quic.tls.session = session;
        b->ccfg.quic.tls.session_len = session_len;
        b->ccfg.quic.tls.early_data = true;
    }
    b->make_user = make_user;
    b->free_user = free_user;
    b->tick = tick;
}

static void check_file(const char *name)
{
    char p[400];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    static uint8_t got[BODY_LEN + 1];
    FILE *f = fopen(p, "rb");
    assert_non_null(f);
    size_t n = fread(got, 1, sizeof(got), f);
    fclose(f);
    assert_int_equal(n, BODY_LEN);
    assert_memory_equal(got, body, BODY_LEN);
}

/* One resumed connection after a first one stored the session; first_path goes in 0-RTT
 * (quince-client sends only its first GET early; the second waits for SETTINGS). */
static void resumed_run(uint64_t seed, double loss, const char *first_path, sim_bind *b)
{
    netsim_link_config l = {.delay_us = 20000,
                            .jitter_us = 1000,
                            .loss = loss,
                            .rate_bytes_per_s = 5000000,
                            .queue_bytes = 256 * 1024};
    memset(&R, 0, sizeof(R));
    sessions = 0;
    R.cli = h3cli_new("example.test", true);
    char out[400];
    snprintf(out, sizeof(out), "%s/out0", tmpdir);
    assert_int_equal(h3cli_add(R.cli, "/pub/a.txt", out), 0);
    sim_bind first;
    h3_bind(&first, seed, &l, false);
    sim_bind_start(&first);
    assert_int_equal(sim_bind_run(&first, all_done, 20000000), 0);
    assert_int_equal(h3cli_failed(R.cli), 0);
    assert_int_equal(R.stats.early, 0);
    sim_bind_free(&first);
    h3cli_free(R.cli);

    memset(&R, 0, sizeof(R));
    R.cli = h3cli_new("example.test", true);
    assert_int_equal(h3cli_add(R.cli, first_path, out), 0);
    snprintf(out, sizeof(out), "%s/out1", tmpdir);
    assert_int_equal(h3cli_add(R.cli, "/pub/a.txt", out), 0);
    h3_bind(b, seed + 1, &l, true);
    sim_bind_start(b);
    assert_true(quic_conn_early_data_ready(bind_conn_quic(b->client)));
    assert_int_equal(sim_bind_run(b, all_done, 60000000), 0);
    const crypto_tls *tls = quic_conn_tls(bind_conn_quic(b->client));
    assert_true(crypto_tls_resumed(tls));
    assert_int_equal(crypto_tls_early_data(tls), CRYPTO_EARLY_ACCEPTED);
    assert_int_equal(h3cli_failed(R.cli), 0);
    assert_int_equal(h3cli_done(R.cli), 2);
    assert_int_equal(h3cli_body_bytes(R.cli), 2 * BODY_LEN);
    check_file("out0");
    check_file("out1");
}

/* RFC 8470 §5.2: the 0-RTT GET for a path not safe to replay gets 425; quince-client
 * sends it again after the handshake (not in 0-RTT) and gets the file. With and
 * without loss. */
static void test_get_refused_then_retried(void **state)
{
    (void)state;
    for (int lossy = 0; lossy < 2; lossy++) {
        tickets = crypto_tls_tickets_new(&ticket_env.env, 3600, 64);
        assert_non_null(tickets);
        sim_bind b;
        resumed_run(600 + 10 * (uint64_t)lossy, lossy ? 0.10 : 0, "/secret/b.txt", &b);
        assert_int_equal(h3cli_retries(R.cli), 1);
        assert_int_equal(R.stats.too_early, 1);
        assert_int_equal(R.stats.early, 1);    /* only the refused one came in 0-RTT */
        assert_int_equal(R.stats.requests, 3); /* the 0-RTT GET, its retry, /pub/a.txt */
        assert_int_equal(R.stats.served, 2);
        print_message("loss %d%%: 0-RTT GET refused with 425, retried after the handshake; "
                      "client packets lost %llu\n",
                      lossy ? 10 : 0,
                      (unsigned long long)quic_conn_get_stats(bind_conn_quic(b.client))
                          ->packets_lost);
        sim_bind_free(&b);
        h3cli_free(R.cli);
        crypto_tls_tickets_free(tickets);
    }
}

/* A path that is safe to replay is served from 0-RTT: no 425, no retry. */
static void test_get_served_from_early_data(void **state)
{
    (void)state;
    tickets = crypto_tls_tickets_new(&ticket_env.env, 3600, 64);
    assert_non_null(tickets);
    sim_bind b;
    resumed_run(700, 0, "/pub/a.txt", &b);
    assert_int_equal(h3cli_retries(R.cli), 0);
    assert_int_equal(R.stats.too_early, 0);
    assert_int_equal(R.stats.early, 1);
    assert_int_equal(R.stats.requests, 2);
    assert_int_equal(R.stats.served, 2);
    sim_bind_free(&b);
    h3cli_free(R.cli);
    crypto_tls_tickets_free(tickets);
}

/* ---- WebTransport: a raw client that sends its CONNECT in 0-RTT ---- */

typedef struct rawc {
    bool sent_early, sent_late;
    uint8_t resp[2][2048]; /* response bytes on streams 0 and 4 */
    size_t resp_len[2];
    bool fin[2];
    int status[2];
    bool early[2]; /* quic_stream_early on our side, read while the stream lives */
    wt_echo echo;
    int decoded;
} rawc;
static rawc W;

static test_env *g_te;

/* draft-02 §3.2 headers (our server offers every dialect; the client's SETTINGS draft-02). */
static size_t put_connect(uint8_t *buf, size_t cap)
{
    static const h3_field f[] = {
        {(const uint8_t *)":method", 7, (const uint8_t *)"CONNECT", 7},
        {(const uint8_t *)":protocol", 9, (const uint8_t *)"webtransport", 12},
        {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5},
        {(const uint8_t *)":authority", 10, (const uint8_t *)"example.test", 12},
        {(const uint8_t *)":path", 5, (const uint8_t *)"/echo", 5},
        {(const uint8_t *)"origin", 6, (const uint8_t *)"https://example.test", 20},
        {(const uint8_t *)"sec-webtransport-http3-draft02", 30, (const uint8_t *)"1", 1},
    };
    h3_qpack_encoder *enc = h3_qpack_encoder_new(&g_te->env, 0);
    assert_non_null(enc);
    uint8_t sec[512];
    size_t len = 0;
    assert_int_equal(h3_qpack_encode(enc, 0, f, sizeof(f) / sizeof(f[0]), sec, sizeof(sec), &len),
                     H3_QPACK_OK);
    h3_qpack_encoder_free(enc);
    quince_writer w = quince_writer_init(buf, cap);
    assert_true(h3_frame_put_headers(&w, sec, len));
    return (size_t)(w.p - buf);
}

/* Our control stream: type 0x00 and SETTINGS for draft-02, no dynamic QPACK table. */
static size_t put_control(uint8_t *buf, size_t cap)
{
    wt_config wc;
    wt_config_init(&wc, false);
    wc.dialects = WT_DIALECT_BIT(WT_DRAFT_02);
    h3_config hc;
    h3_config_init(&hc, false);
    wt_config_h3(&wc, &hc);
    h3_settings_set(&hc.settings, H3_SETTING_QPACK_MAX_TABLE_CAPACITY, 0);
    quince_writer w = quince_writer_init(buf, cap);
    assert_true(quince_put_varint(&w, 0x00));
    assert_true(h3_settings_put_frame(&w, &hc.settings, 0));
    return (size_t)(w.p - buf);
}

static void raw_tick(sim_bind *b, bool is_server, uint64_t now)
{
    (void)now;
    if (is_server)
        return;
    quic_conn *qc = bind_conn_quic(b->client);
    uint8_t buf[1024];
    uint64_t id;
    if (!W.sent_early && quic_conn_early_data_ready(qc)) {
        /* RFC 9001 §4.6.1: stream 0 with the CONNECT, in 0-RTT. */
        W.sent_early = true;
        assert_int_equal(quic_conn_open_stream(qc, true, &id), QUIC_OK);
        assert_int_equal(id, 0);
        size_t n = put_connect(buf, sizeof(buf));
        assert_int_equal(quic_stream_write(qc, id, buf, n, false), (int64_t)n);
    }
    if (!W.sent_late && b->client_done && W.status[0] != 0) {
        /* After the handshake: SETTINGS, then the same CONNECT on stream 4. */
        W.sent_late = true;
        assert_false(quic_conn_early_data_ready(qc));
        assert_int_equal(quic_conn_open_stream(qc, false, &id), QUIC_OK);
        size_t n = put_control(buf, sizeof(buf));
        assert_int_equal(quic_stream_write(qc, id, buf, n, false), (int64_t)n);
        assert_int_equal(quic_conn_open_stream(qc, true, &id), QUIC_OK);
        assert_int_equal(id, 4);
        n = put_connect(buf, sizeof(buf));
        assert_int_equal(quic_stream_write(qc, id, buf, n, false), (int64_t)n);
    }
}

static int status_cb(void *user, uint64_t stream_id, const h3_field *f, size_t n)
{
    int *status = user;
    (void)stream_id;
    for (size_t i = 0; i < n; i++)
        if (f[i].name_len == 7 && memcmp(f[i].name, ":status", 7) == 0 && f[i].value_len == 3)
            *status = (f[i].value[0] - '0') * 100 + (f[i].value[1] - '0') * 10 +
                      (f[i].value[2] - '0');
    return H3_QPACK_OK;
}

/* The first frame of a response stream: HEADERS, QPACK static-only (we allowed no table). */
static void decode_status(int k)
{
    quince_reader r = quince_reader_init(W.resp[k], W.resp_len[k]);
    uint64_t type, len;
    if (!quince_get_varint(&r, &type) || !quince_get_varint(&r, &len) ||
        (size_t)(r.end - r.p) < len)
        return;
    assert_int_equal(type, H3_FRAME_HEADERS);
    h3_qpack_decoder *dec = h3_qpack_decoder_new(&g_te->env, 0, 0, SIZE_MAX);
    assert_non_null(dec);
    h3_qpack_decoder_set_callback(dec, status_cb, &W.status[k]);
    assert_int_equal(h3_qpack_decoder_decode(dec, (uint64_t)k * 4, r.p, (size_t)len), H3_QPACK_OK);
    h3_qpack_decoder_free(dec);
}

static void raw_event(void *conn_user, bind_conn *bc, const quic_event *ev)
{
    (void)conn_user;
    if (ev->type != QUIC_EVENT_STREAM_READABLE || (ev->stream_id != 0 && ev->stream_id != 4))
        return;
    int k = ev->stream_id == 0 ? 0 : 1;
    W.early[k] |= quic_stream_early(bind_conn_quic(bc), ev->stream_id);
    for (;;) {
        bool fin = false;
        int64_t n = quic_stream_read(bind_conn_quic(bc), ev->stream_id, W.resp[k] + W.resp_len[k],
                                     sizeof(W.resp[k]) - W.resp_len[k], &fin);
        if (n <= 0 && !fin)
            break;
        W.resp_len[k] += (size_t)n;
        W.fin[k] |= fin;
        if (fin || n == 0)
            break;
    }
    if (W.status[k] == 0)
        decode_status(k);
}

static bool wt_done(sim_bind *b)
{
    (void)b;
    return W.status[0] != 0 && W.status[1] != 0 && sessions > 0;
}

static bool got_session(sim_bind *b)
{
    return sessions > 0 && b->client_done;
}

/* -07 §3.3, -16 §3.3, RFC 9114 §10.9: a CONNECT in 0-RTT gets 425 (from h3, or from wt when
 * h3 lets unsafe early requests through) and no session; after the handshake the same
 * request is accepted (200) and the session opens. */
static void test_webtransport_connect_in_early_data(void **state)
{
    (void)state;
    for (int h3_decides = 1; h3_decides >= 0; h3_decides--) {
        tickets = crypto_tls_tickets_new(&ticket_env.env, 3600, 64);
        assert_non_null(tickets);
        sessions = 0;
        netsim_link_config l = {.delay_us = 20000, .rate_bytes_per_s = 5000000,
                                .queue_bytes = 256 * 1024};
        /* A first connection (plain h3 client) stores the session. */
        sim_bind a;
        sim_bind_init(&a, 800 + (uint64_t)h3_decides, &l, &certs);
        a.scfg.quic.tls.tickets = tickets;
        a.scfg.quic.tls.early_data = true;
        a.scfg.webtransport = true;
        a.ccfg.quic.tls.on_session = on_session;
        sim_bind_start(&a);
        assert_int_equal(sim_bind_run(&a, got_session, 10000000), 0);
        sim_bind_free(&a);

        memset(&W, 0, sizeof(W));
        sim_bind b;
        sim_bind_init(&b, 810 + (uint64_t)h3_decides, &l, &certs);
        g_te = &b.t;
        b.scfg.quic.tls.tickets = tickets;
        b.scfg.quic.tls.early_data = true;
        b.scfg.webtransport = true;
        b.scfg.h3cfg.refuse_unsafe_early = h3_decides;
        wt_callbacks scb;
        wt_echo_init(&W.echo, "/echo", &scb);
        b.scfg.wtcb = scb;
        b.server_user = scb.user;
        b.ccfg.h3 = false; /* the raw client writes HTTP/3 bytes itself */
        b.ccfg.quic.tls.session = session;
        b.ccfg.quic.tls.session_len = session_len;
        b.ccfg.quic.tls.early_data = true;
        b.ccfg.quic.max_datagram_frame_size = 1200;
        b.tick = raw_tick;
        b.on_quic_event = raw_event;
        sim_bind_start(&b);
        assert_int_equal(sim_bind_run(&b, wt_done, 20000000), 0);
        const crypto_tls *tls = quic_conn_tls(bind_conn_quic(b.client));
        assert_int_equal(crypto_tls_early_data(tls), CRYPTO_EARLY_ACCEPTED);
        assert_true(W.sent_early);
        assert_true(W.early[0]);  /* RFC 9001 §4.6.1: stream 0 went in 0-RTT... */
        assert_false(W.early[1]); /* ... stream 4 after the handshake */
        assert_int_equal(W.status[0], 425);
        assert_true(W.fin[0]);
        assert_int_equal(W.status[1], 200);
        assert_int_equal(W.echo.sessions, 1); /* only the one after the handshake */
        assert_int_equal(wt_endpoint_session_count(bind_conn_wt(b.sconn)), 1);
        print_message("%s: CONNECT in 0-RTT answered 425, the one after the handshake 200\n",
                      h3_decides ? "h3 refused it" : "wt refused it");
        sim_bind_free(&b);
        crypto_tls_tickets_free(tickets);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get_refused_then_retried),
        cmocka_unit_test(test_get_served_from_early_data),
        cmocka_unit_test(test_webtransport_connect_in_early_data),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
