/* Tests for wt/session.c and wt/stream.c: sessions, streams, datagrams, close; the whole
 * list runs once per dialect (both ends speaking only that one, wp_dialects). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "h3/capsule.h"
#include "wt/codes.h"
#include "wt/dialect.h"
#include "base/cursor.h"
#include "tests/wt/wt_pair.h"

static wt_dialect cur; /* the dialect of this run */

static const wt_dialect_info *cur_info(void)
{
    return wt_dialect_get(cur);
}

typedef struct fixture {
    test_env te;
    wp_ep c, s;
} fixture;

static fixture *fx_new(const wt_config *ccfg, const wt_config *scfg, bool echo)
{
    fixture *f = test_malloc(sizeof(*f));
    memset(f, 0, sizeof(*f));
    test_env_init(&f->te, 7);
    wp_init(&f->c, &f->te, false, ccfg, false);
    wp_init(&f->s, &f->te, true, scfg, echo);
    return f;
}

static void fx_free(fixture *f)
{
    wp_free(&f->c);
    wp_free(&f->s);
    test_env_check_leaks(&f->te);
    test_free(f);
}

/* Connect one session to "/echo" and pump until established. */
static wt_session *establish(fixture *f)
{
    wt_session *s = NULL;
    assert_int_equal(
        wt_endpoint_connect(f->c.wt, "example.org:443", "/echo", "https://example.org", &s), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_true(wt_session_is_ready(s));
    return s;
}

#define FC_SETTINGS "0x2b61=1048576, 0x2b65=100, 0x2b64=100"

static void test_session_established(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    wt_session *s = NULL;
    /* Queued: the server's SETTINGS have not arrived yet (draft-02 §3.1). */
    assert_int_equal(
        wt_endpoint_connect(f->c.wt, "example.org:443", "/chat", "https://example.org", &s), WT_OK);
    assert_int_equal(wt_session_id(s), UINT64_MAX);
    assert_null(wp_out_stream(&f->c, 0));
    wp_pump(&f->c, &f->s);
    assert_int_equal(wt_session_id(s), 0);
    assert_true(wt_session_is_ready(s));
    assert_int_equal(wt_session_status(s), 200);
    assert_int_equal(f->c.app.ready, 1);
    assert_int_equal(f->s.app.requests, 1);
    assert_int_equal(f->s.app.ready, 1);
    assert_string_equal(f->s.app.last_path, "/chat");
    assert_string_equal(f->s.app.last_origin, "https://example.org");
    assert_string_equal(f->s.app.last_authority, "example.org:443");
    assert_int_equal(wt_session_id(f->s.app.last_session), 0);
    assert_int_equal(wt_endpoint_session_count(f->s.wt), 1);
    /* Each side's SETTINGS carry exactly this dialect's (QPACK ones aside). */
    static const struct {
        wt_dialect d;
        const char *server, *client;
    } want[] = {
        {WT_DRAFT_02, "0x8=1, 0x33=1, 0xffd277=1, 0x2b603742=1",
         "0x33=1, 0xffd277=1, 0x2b603742=1"},
        {WT_DRAFT_07, "0x8=1, 0x33=1, 0xc671706a=16", "0x33=1, 0xc671706a=1"},
        /* -13..-16 §5.5 with flow control offered (the default): WT_MAX_SESSIONS
         * is the session limit and the WT_INITIAL_* are the receive windows. */
        {WT_DRAFT_13, "0x8=1, 0x33=1, 0x14e9cd29=16, " FC_SETTINGS,
         "0x33=1, 0x14e9cd29=16, " FC_SETTINGS},
        {WT_DRAFT_14, "0x8=1, 0x33=1, 0x14e9cd29=16, " FC_SETTINGS,
         "0x33=1, 0x14e9cd29=16, " FC_SETTINGS},
        {WT_DRAFT_15, "0x8=1, 0x33=1, 0x2c7cf000=1, " FC_SETTINGS,
         "0x33=1, 0x2c7cf000=1, " FC_SETTINGS},
        {WT_DRAFT_16, "0x8=1, 0x33=1, 0x2c7cf000=1, " FC_SETTINGS,
         "0x33=1, 0x2c7cf000=1, " FC_SETTINGS},
    };
    char sd[256], cd[256];
    wt_endpoint_describe_peer_settings(f->c.wt, sd, sizeof(sd));
    wt_endpoint_describe_peer_settings(f->s.wt, cd, sizeof(cd));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        if (want[i].d == cur) {
            assert_string_equal(sd, want[i].server);
            assert_string_equal(cd, want[i].client);
        }
    }
    assert_int_equal(wt_session_dialect(s), cur);
    assert_int_equal(wt_session_dialect(f->s.app.last_session), cur);
    assert_int_equal(wt_session_max_datagram_payload(s), 1199);
    fx_free(f);
}

static void test_bidi_and_uni_streams(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    wt_session *s = establish(f);
    wt_stream *b, *u;
    assert_int_equal(wt_session_open_stream(s, true, &b), WT_OK);
    assert_int_equal(wt_session_open_stream(s, false, &u), WT_OK);
    assert_int_equal(wt_stream_id(b), 4);
    /* A local uni stream is gone once its FIN is written: keep the ID. */
    uint64_t uid = wt_stream_id(u);
    assert_true(wt_stream_is_bidi(b) && wt_stream_is_local(b));
    assert_int_equal(wt_stream_write(b, (const uint8_t *)"ping", 4, true), WT_OK);
    assert_int_equal(wt_stream_write(u, (const uint8_t *)"uni", 3, true), WT_OK);
    assert_int_equal(wt_stream_write(b, (const uint8_t *)"x", 1, false), WT_ERR_STATE);
    /* Wire: 0x41 + session 0 + body; 0x54 + session 0 + body. */
    const wp_out *ob = wp_out_stream(&f->c, 4);
    assert_int_equal(ob->len, 7);
    assert_memory_equal(ob->buf, "\x40\x41\x00ping", 7);
    const wp_out *ou = wp_out_stream(&f->c, uid);
    assert_int_equal(ou->len, 6);
    assert_memory_equal(ou->buf, "\x40\x54\x00uni", 6);
    wp_pump(&f->c, &f->s);
    wp_rx *rb = wp_rx_for(&f->s, 4), *ru = wp_rx_for(&f->s, uid);
    assert_true(rb->opened && rb->fin && ru->opened && ru->fin);
    assert_memory_equal(rb->data, "ping", 4);
    assert_memory_equal(ru->data, "uni", 3);
    assert_true(ru->closed); /* uni: done once read */
    /* The server answers on the bidi stream and on its own uni stream. */
    assert_int_equal(wt_stream_write(rb->st, (const uint8_t *)"pong", 4, true), WT_OK);
    wt_stream *su;
    assert_int_equal(wt_session_open_stream(f->s.app.last_session, false, &su), WT_OK);
    uint64_t suid = wt_stream_id(su);
    assert_int_equal(suid % 4, 3);
    assert_int_equal(wt_stream_write(su, (const uint8_t *)"back", 4, true), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_true(wp_rx_for(&f->c, 4)->fin);
    assert_memory_equal(wp_rx_for(&f->c, 4)->data, "pong", 4);
    assert_true(wp_rx_for(&f->c, 4)->closed);
    assert_true(wp_rx_for(&f->c, suid)->opened);
    assert_memory_equal(wp_rx_for(&f->c, suid)->data, "back", 4);
    assert_true(wp_rx_for(&f->s, 4)->closed);
    fx_free(f);
}

static void test_server_bidi_stream(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    establish(f);
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(f->s.app.last_session, true, &st), WT_OK);
    assert_int_equal(wt_stream_id(st), 1);
    assert_int_equal(wt_stream_write(st, (const uint8_t *)"hi", 2, false), WT_OK);
    wp_pump(&f->c, &f->s);
    wp_rx *r = wp_rx_for(&f->c, 1);
    assert_true(r->opened);
    assert_int_equal(r->len, 2);
    assert_int_equal(wt_stream_write(r->st, (const uint8_t *)"yo", 2, true), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_memory_equal(wp_rx_for(&f->s, 1)->data, "yo", 2);
    fx_free(f);
}

static void test_datagrams(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    wt_session *s = establish(f);
    assert_int_equal(wt_session_send_datagram(s, (const uint8_t *)"dg", 2), WT_OK);
    /* Quarter stream ID 0, then the payload (RFC 9297 §2.1). */
    assert_int_equal(f->c.dgram_lens[0], 3);
    assert_memory_equal(f->c.dgrams[0],
                        "\x00"
                        "dg",
                        3);
    uint8_t big[1200] = {0};
    assert_int_equal(wt_session_send_datagram(s, big, 1200), WT_ERR_TOO_BIG);
    assert_int_equal(wt_session_send_datagram(s, big, 1199), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->s.app.ndgram, 2);
    assert_memory_equal(f->s.app.dgram[0], "dg", 2);
    assert_ptr_equal(f->s.app.dgram_session[0], f->s.app.last_session);
    /* Unknown size: nothing can be sent. */
    wt_endpoint_set_max_datagram_frame(f->c.wt, 0);
    assert_int_equal(wt_session_max_datagram_payload(s), 0);
    assert_int_equal(wt_session_send_datagram(s, big, 1), WT_ERR_DATAGRAM);
    fx_free(f);
}

/* -13..-16 §5.1: without flow control (the server configured without it sends
 * no WT_INITIAL_* and WT_MAX_SESSIONS 1), a second session is reset with
 * H3_REQUEST_REJECTED (§5.2) and the refusal is logged. */
static void test_second_session_without_flow_control(void)
{
    wt_config sc;
    wt_config_init(&sc, true);
    sc.max_datagram_frame = 1200;
    sc.dialects = WT_DIALECT_BIT(cur);
    sc.fc_max_data = sc.fc_max_streams_bidi = sc.fc_max_streams_uni = 0;
    fixture *f = fx_new(NULL, &sc, false);
    wt_session *s[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(wt_endpoint_connect(f->c.wt, "h", "/x", "https://h", &s[i]), WT_OK);
    wp_pump(&f->c, &f->s);
    /* §5.1 "clients MUST NOT attempt to establish more than one": our client
     * sends the first and reports the second rejected (status 0) unsent. */
    assert_int_equal(f->c.app.ready, 1);
    assert_true(wt_session_is_ready(s[0]));
    assert_int_equal(f->c.app.rejected, 1);
    assert_int_equal(f->c.app.last_status, 0);
    assert_int_equal(f->s.app.requests, 1);
    assert_int_equal(wt_endpoint_connect(f->c.wt, "h", "/y", "https://h", NULL), WT_ERR_LIMIT);
    /* A client that does not keep to it: its second CONNECT (sent with h3
     * directly) is reset with H3_REQUEST_REJECTED (§5.2) and logged. */
    h3_field req[] = {
        {(const uint8_t *)":method", 7, (const uint8_t *)"CONNECT", 7},
        {(const uint8_t *)":protocol", 9, (const uint8_t *)cur_info()->token,
         strlen(cur_info()->token)},
        {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5},
        {(const uint8_t *)":authority", 10, (const uint8_t *)"h", 1},
        {(const uint8_t *)":path", 5, (const uint8_t *)"/x", 2},
    };
    uint64_t id;
    assert_int_equal(h3_conn_submit_request(f->c.h3, req, 5, false, &id), H3_OK);
    wp_pump(&f->c, &f->s);
    uint64_t code = 0;
    assert_true(wp_sent_reset(&f->s, id, &code));
    assert_int_equal(code, H3_REQUEST_REJECTED);
    assert_int_equal(f->s.app.refused, 1);
    assert_int_equal(f->s.app.refused_status, 0);
    assert_non_null(strstr(f->s.app.refused_why, "a second session without flow control"));
    assert_int_equal(wt_endpoint_session_count(f->s.wt), 1);
    /* The server declared no flow control: WT_MAX_SESSIONS 1, no WT_INITIAL_*. */
    char sd[256];
    wt_endpoint_describe_peer_settings(f->c.wt, sd, sizeof(sd));
    assert_string_equal(sd, cur == WT_DRAFT_13 || cur == WT_DRAFT_14
                                ? "0x8=1, 0x33=1, 0x14e9cd29=1"
                                : "0x8=1, 0x33=1, 0x2c7cf000=1");
    wt_flow_stats fs;
    wt_session_flow(s[0], &fs);
    assert_false(fs.enabled);
    fx_free(f);
}

/* Several sessions on one connection: every dialect (-13..-16 with flow
 * control on, the default, §5.1), each with its own datagrams. */
static void test_several_sessions(void **state)
{
    (void)state;
    if (cur_info()->has_flow_control)
        test_second_session_without_flow_control();
    wt_config sc;
    wt_config_init(&sc, true);
    sc.max_sessions = 3;
    sc.max_datagram_frame = 1200;
    sc.dialects = WT_DIALECT_BIT(cur);
    fixture *f = fx_new(NULL, &sc, false);
    wt_session *s[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(
            wt_endpoint_connect(f->c.wt, "h", i == 1 ? "/one" : "/x", "https://h", &s[i]), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->c.app.ready, 3);
    assert_int_equal(f->s.app.requests, 3);
    uint64_t code = 0;
    if (cur_info()->value_is_max_sessions) {
        /* -07 §3.1, -13/-14 §5.2: the client keeps to the server's limit (3):
         * the fourth is never sent. */
        assert_false(wp_sent_reset(&f->s, 12, &code));
    } else {
        /* No limit on the wire: the server refuses the fourth before any
         * processing (draft-02 §3.4, -16 §5.2). */
        assert_true(wp_sent_reset(&f->s, 12, &code));
        assert_int_equal(code, H3_REQUEST_REJECTED);
    }
    assert_int_equal(f->c.app.rejected, 1);
    assert_int_equal(f->c.app.last_status, 0);
    for (int i = 0; i < 3; i++) {
        uint8_t d = (uint8_t)('a' + i);
        assert_int_equal(wt_session_send_datagram(s[i], &d, 1), WT_OK);
    }
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->s.app.ndgram, 3);
    /* Datagrams carry their session: 'a' came on session 0, 'b' on 4, 'c' on 8. */
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(wt_session_id(f->s.app.dgram_session[i]),
                         4 * (uint64_t)(f->s.app.dgram[i][0] - 'a'));
    assert_int_equal(wt_endpoint_session_count(f->s.wt), 3);
    fx_free(f);
}

static void test_rejected_404(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    f->s.app.accept_status = 404;
    wt_session *s;
    assert_int_equal(wt_endpoint_connect(f->c.wt, "h", "/nope", "https://h", &s), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->c.app.rejected, 1);
    assert_int_equal(f->c.app.last_status, 404);
    assert_int_equal(f->c.app.ready, 0);
    assert_int_equal(f->s.app.ready, 0);
    /* Both sides forget the session once the CONNECT stream is finished. */
    assert_int_equal(wt_endpoint_session_count(f->c.wt), 0);
    assert_int_equal(wt_endpoint_session_count(f->s.wt), 0);
    fx_free(f);
}

/* A server whose SETTINGS lack ENABLE_WEBTRANSPORT: the queued session is refused. */
static void test_refused_without_settings(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 3);
    wp_ep c, s;
    wp_init(&c, &te, false, NULL, false);
    h3_config hc;
    h3_config_init(&hc, true);
    h3_settings_set(&hc.settings, H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1);
    h3_settings_set(&hc.settings, H3_SETTING_H3_DATAGRAM, 1);
    wp_init_h3(&s, &te, true, &hc);
    wt_session *ws;
    assert_int_equal(wt_endpoint_connect(c.wt, "h", "/", "https://h", &ws), WT_OK);
    wp_pump(&c, &s);
    assert_int_equal(c.app.rejected, 1);
    assert_int_equal(c.app.last_status, 0);
    assert_null(wp_out_stream(&c, 0)); /* no CONNECT was sent */
    assert_int_equal(wt_endpoint_session_count(c.wt), 0);
    assert_int_equal(wt_endpoint_connect(c.wt, "h", "/", "https://h", &ws), WT_ERR_STATE);
    wp_free(&c);
    wp_free(&s);
    test_env_check_leaks(&te);
}

/* A client whose SETTINGS lack ENABLE_WEBTRANSPORT: the server answers 400. */
static void test_server_refuses_without_settings(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 4);
    wp_ep c, s;
    h3_config hc;
    h3_config_init(&hc, false);
    h3_settings_set(&hc.settings, H3_SETTING_H3_DATAGRAM, 1);
    h3_settings_set(&hc.settings, H3_SETTING_H3_DATAGRAM_DRAFT04, 1);
    wp_init_h3(&c, &te, false, &hc);
    wp_init(&s, &te, true, NULL, false);
    wp_pump(&c, &s);
    const char *tok = cur_info()->token;
    h3_field f[7] = {
        {(const uint8_t *)":method", 7, (const uint8_t *)"CONNECT", 7},
        {(const uint8_t *)":protocol", 9, (const uint8_t *)tok, strlen(tok)},
        {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5},
        {(const uint8_t *)":authority", 10, (const uint8_t *)"h", 1},
        {(const uint8_t *)":path", 5, (const uint8_t *)"/", 1},
        {(const uint8_t *)"sec-webtransport-http3-draft02", 30, (const uint8_t *)"1", 1},
        {(const uint8_t *)"origin", 6, (const uint8_t *)"https://h", 9},
    };
    uint64_t id;
    assert_int_equal(h3_conn_submit_request(c.h3, f, 7, false, &id), H3_OK);
    wp_pump(&c, &s);
    assert_int_equal(c.status_seen, 400);
    assert_int_equal(s.app.requests, 0);
    /* The one line that says why. */
    assert_int_equal(s.app.refused, 1);
    assert_int_equal(s.app.refused_status, 400);
    assert_string_equal(s.app.refused_why,
                        "client sent no WebTransport setting; it offered: 0x33, 0xffd277");
    wp_free(&c);
    wp_free(&s);
    test_env_check_leaks(&te);
}

/* Client streams that reach the server before their CONNECT (draft-02 §4.5). */
static void test_early_streams_server(void **state)
{
    (void)state;
    wt_config sc;
    wt_config_init(&sc, true);
    sc.max_buffered_streams = 2;
    fixture *f = fx_new(NULL, &sc, false);
    wp_pump(&f->c, &f->s); /* SETTINGS both ways */
    wt_session *s;
    assert_int_equal(wt_endpoint_connect(f->c.wt, "h", "/", "https://h", &s), WT_OK);
    wp_hold(&f->c, 0);
    uint64_t ids[3];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(h3_conn_open_ext_stream(f->c.h3, i != 1, i != 1 ? 0x41 : 0x54, 0, &ids[i]),
                         H3_OK);
        assert_int_equal(h3_conn_write_raw(f->c.h3, ids[i], (const uint8_t *)"early", 5, i == 1),
                         H3_OK);
    }
    wp_pump(&f->c, &f->s);
    assert_int_equal(wt_endpoint_buffered_streams(f->s.wt), 2);
    assert_int_equal(f->s.app.nrx, 0);
    /* Over the limit: refused with H3_WEBTRANSPORT_BUFFERED_STREAM_REJECTED. */
    uint64_t code;
    assert_true(wp_sent_reset(&f->s, ids[2], &code));
    assert_int_equal(code, 0x3994bd84);
    assert_true(wp_sent_stop(&f->s, ids[2], &code));
    assert_int_equal(code, 0x3994bd84);
    wp_release(&f->c, 0);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->s.app.ready, 1);
    assert_int_equal(wt_endpoint_buffered_streams(f->s.wt), 0);
    wp_rx *r0 = wp_rx_for(&f->s, ids[0]), *r1 = wp_rx_for(&f->s, ids[1]);
    assert_true(r0->opened && r1->opened);
    assert_int_equal(r0->len, 5);
    assert_memory_equal(r0->data, "early", 5);
    assert_false(r0->fin);
    assert_true(r1->fin);
    assert_memory_equal(r1->data, "early", 5);
    fx_free(f);
}

/* A server stream that reaches the client before the 200 response. */
static void test_early_streams_client(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    wt_session *s;
    assert_int_equal(wt_endpoint_connect(f->c.wt, "h", "/", "https://h", &s), WT_OK);
    wp_hold(&f->s, 0); /* the response */
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->s.app.ready, 1);
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(f->s.app.last_session, false, &st), WT_OK);
    uint64_t sid = wt_stream_id(st);
    assert_int_equal(wt_stream_write(st, (const uint8_t *)"first", 5, true), WT_OK);
    assert_int_equal(wt_session_send_datagram(f->s.app.last_session, (const uint8_t *)"d", 1),
                     WT_OK);
    wp_pump(&f->c, &f->s);
    assert_false(wt_session_is_ready(s));
    assert_int_equal(wt_endpoint_buffered_streams(f->c.wt), 1);
    assert_int_equal(f->c.app.nrx, 0);
    wp_release(&f->s, 0);
    wp_pump(&f->c, &f->s);
    assert_true(wt_session_is_ready(s));
    wp_rx *r = wp_rx_for(&f->c, sid);
    assert_true(r->opened && r->fin);
    assert_memory_equal(r->data, "first", 5);
    assert_int_equal(f->c.app.ndgram, 1);
    fx_free(f);
}

/* Early streams of a session that is refused are rejected. */
static void test_early_streams_refused_session(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    f->s.app.accept_status = 403;
    wp_pump(&f->c, &f->s);
    wt_session *s;
    assert_int_equal(wt_endpoint_connect(f->c.wt, "h", "/", "https://h", &s), WT_OK);
    wp_hold(&f->c, 0);
    uint64_t id;
    assert_int_equal(h3_conn_open_ext_stream(f->c.h3, false, 0x54, 0, &id), H3_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(wt_endpoint_buffered_streams(f->s.wt), 1);
    wp_release(&f->c, 0);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->c.app.last_status, 403);
    uint64_t code;
    assert_true(wp_sent_stop(&f->s, id, &code));
    assert_int_equal(code, H3_WEBTRANSPORT_BUFFERED_STREAM_REJECTED);
    assert_int_equal(wt_endpoint_buffered_streams(f->s.wt), 0);
    fx_free(f);
}

/* draft-02 §4.3: application codes cross as HTTP/3 codes and come back intact. */
static void test_reset_code_mapping(void **state)
{
    (void)state;
    static const uint32_t codes[] = {0, 1, 255, 0x10000, 0xffffffff};
    fixture *f = fx_new(NULL, NULL, false);
    wt_session *s = establish(f);
    for (size_t i = 0; i < 5; i++) {
        wt_stream *st;
        assert_int_equal(wt_session_open_stream(s, true, &st), WT_OK);
        uint64_t id = wt_stream_id(st);
        assert_int_equal(wt_stream_write(st, (const uint8_t *)"x", 1, false), WT_OK);
        wp_pump(&f->c, &f->s);
        assert_int_equal(wt_stream_reset(st, codes[i]), WT_OK);
        uint64_t wire;
        assert_true(wp_sent_reset(&f->c, id, &wire));
        assert_int_equal(wire, wt_error_to_http3(codes[i]));
        wp_pump(&f->c, &f->s);
        wp_rx *r = wp_rx_for(&f->s, id);
        assert_true(r->reset);
        assert_int_equal(r->reset_code, codes[i]);
        assert_true(r->stop);
        assert_int_equal(r->stop_code, codes[i]);
        assert_true(r->closed);
        assert_true(wp_rx_for(&f->c, id)->closed);
    }
    /* STOP_SENDING alone on a bidi stream the server opened: the server's
     * sending side is reset, its receiving side stays open. */
    wt_stream *sb;
    assert_int_equal(wt_session_open_stream(f->s.app.last_session, true, &sb), WT_OK);
    uint64_t sbid = wt_stream_id(sb);
    assert_int_equal(wt_stream_write(sb, (const uint8_t *)"a", 1, false), WT_OK);
    wp_pump(&f->c, &f->s);
    wp_rx *r = wp_rx_for(&f->c, sbid);
    assert_int_equal(wt_stream_stop_sending(r->st, 0x10000), WT_OK);
    uint64_t wire;
    assert_true(wp_sent_stop(&f->c, sbid, &wire));
    assert_false(wp_sent_reset(&f->c, sbid, &wire));
    wp_pump(&f->c, &f->s);
    wp_rx *rs = wp_rx_for(&f->s, sbid);
    assert_true(rs->stop);
    assert_int_equal(rs->stop_code, 0x10000);
    assert_false(rs->closed);
    assert_int_equal(wt_stream_write(sb, (const uint8_t *)"b", 1, false), WT_ERR_STATE);
    assert_int_equal(wt_stream_write(r->st, (const uint8_t *)"end", 3, true), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_true(rs->fin && rs->closed);
    assert_true(r->closed);
    /* A code outside the WebTransport range is reported as 0. */
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(s, false, &st), WT_OK);
    uint64_t id = wt_stream_id(st);
    assert_int_equal(wt_stream_write(st, (const uint8_t *)"x", 1, false), WT_OK);
    wp_pump(&f->c, &f->s);
    h3_conn_on_stream_reset(f->s.h3, id, H3_NO_ERROR, H3_FINAL_SIZE_UNKNOWN);
    assert_true(wp_rx_for(&f->s, id)->reset);
    assert_int_equal(wp_rx_for(&f->s, id)->reset_code, 0);
    fx_free(f);
}

static void check_closed(wp_ep *ep, uint32_t code, const char *reason)
{
    assert_int_equal(ep->app.closed, 1);
    assert_int_equal(ep->app.close_code, code);
    assert_int_equal(ep->app.close_reason_len, strlen(reason));
    assert_memory_equal(ep->app.close_reason, reason, strlen(reason));
}

static void close_both_ways(bool client_closes)
{
    fixture *f = fx_new(NULL, NULL, false);
    wt_session *s = establish(f);
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(s, true, &st), WT_OK);
    uint64_t id = wt_stream_id(st);
    assert_int_equal(wt_stream_write(st, (const uint8_t *)"x", 1, false), WT_OK);
    wp_pump(&f->c, &f->s);
    wp_ep *closer = client_closes ? &f->c : &f->s;
    wp_ep *peer = client_closes ? &f->s : &f->c;
    wt_session *cs = client_closes ? s : f->s.app.last_session;
    assert_int_equal(wt_session_close(cs, 42, (const uint8_t *)"bye now", 7), WT_OK);
    check_closed(closer, 42, "bye now");
    /* Capsule 0x2843 inside a DATA frame, then FIN. */
    const wp_out *o = wp_out_stream(closer, 0);
    static const uint8_t tail[] = {0x00, 0x0e, 0x68, 0x43, 0x0b, 0,   0,   0,
                                   42,   'b',  'y',  'e',  ' ',  'n', 'o', 'w'};
    assert_true(o->fin);
    assert_true(o->len >= sizeof(tail));
    assert_memory_equal(o->buf + o->len - sizeof(tail), tail, sizeof(tail));
    assert_true(wp_rx_for(closer, id)->closed);
    wp_pump(&f->c, &f->s);
    check_closed(peer, 42, "bye now");
    /* The peer's streams were reset; everything is released on both sides. */
    wp_rx *r = wp_rx_for(peer, id);
    assert_true(r->closed);
    assert_int_equal(wt_endpoint_session_count(f->c.wt), 0);
    assert_int_equal(wt_endpoint_session_count(f->s.wt), 0);
    assert_int_equal(wp_out_stream(peer, 0)->fin, true);
    fx_free(f);
}

static void test_close_capsule_client(void **state)
{
    (void)state;
    close_both_ways(true);
}

static void test_close_capsule_server(void **state)
{
    (void)state;
    close_both_ways(false);
}

static void test_close_reason_too_long(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    wt_session *s = establish(f);
    uint8_t reason[1025];
    memset(reason, 'r', sizeof(reason));
    assert_int_equal(wt_session_close(s, 1, reason, 1025), WT_ERR_ARG);
    assert_true(wt_session_is_ready(s));
    assert_int_equal(f->c.app.closed, 0);
    assert_int_equal(wt_session_close(s, 1, reason, 1024), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->s.app.close_reason_len, 1024);
    /* A peer's 1025-byte reason is a malformed capsule: the CONNECT stream is reset. */
    fixture *g = fx_new(NULL, NULL, false);
    establish(g);
    uint8_t buf[1100];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    h3_capsule_put_header(&w, 0x2843, 4 + 1025);
    quince_put_bytes(&w, (const uint8_t *)"\0\0\0\1", 4);
    quince_put_bytes(&w, reason, 1025);
    assert_int_equal(h3_conn_send_data(g->c.h3, 0, buf, (size_t)(w.p - buf), false), H3_OK);
    wp_pump(&g->c, &g->s);
    uint64_t code;
    assert_true(wp_sent_reset(&g->s, 0, &code));
    assert_int_equal(code, H3_MESSAGE_ERROR);
    assert_int_equal(g->s.app.closed, 1);
    assert_int_equal(g->s.app.close_code, 0);
    fx_free(g);
    fx_free(f);
}

/* The CONNECT stream ends without a capsule: FIN, then reset (draft-02 §5). */
static void connect_stream_ends(bool reset)
{
    fixture *f = fx_new(NULL, NULL, false);
    establish(f);
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(f->s.app.last_session, true, &st), WT_OK);
    uint64_t id = wt_stream_id(st);
    assert_int_equal(wt_stream_write(st, (const uint8_t *)"x", 1, false), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_true(wp_rx_for(&f->c, id)->opened);
    if (reset)
        assert_int_equal(h3_conn_reset_stream(f->c.h3, 0, H3_REQUEST_CANCELLED), H3_OK);
    else
        assert_int_equal(h3_conn_send_data(f->c.h3, 0, (const uint8_t *)"", 0, true), H3_OK);
    wp_pump(&f->c, &f->s);
    check_closed(&f->s, 0, "");
    uint64_t code;
    assert_true(wp_sent_reset(&f->s, id, &code));
    /* -07 §5, -16 §6: WT_SESSION_GONE; draft-02 names none (application code 0). */
    assert_int_equal(code, cur == WT_DRAFT_02 ? wt_error_to_http3(0) : H3_WT_SESSION_GONE);
    assert_true(wp_rx_for(&f->s, id)->closed);
    /* After a FIN the client (whose wt was bypassed) hears of the end too,
     * from the server's FIN. */
    if (!reset) {
        assert_int_equal(f->c.app.closed, 1);
        assert_true(wp_rx_for(&f->c, id)->closed);
    }
    assert_int_equal(wt_endpoint_session_count(f->s.wt), 0);
    assert_int_equal(wt_endpoint_session_count(f->c.wt), reset ? 1 : 0);
    fx_free(f);
}

static void test_connect_fin(void **state)
{
    (void)state;
    connect_stream_ends(false);
}

static void test_connect_reset(void **state)
{
    (void)state;
    connect_stream_ends(true);
}

/* GREASE, unknown and REGISTER_DATAGRAM_NO_CONTEXT capsules are skipped. */
static void test_capsules_skipped(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    establish(f);
    uint8_t buf[256];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_grease(&w, 5, (const uint8_t *)"grease", 6));
    assert_true(h3_capsule_put_register_no_context(&w, 0xff7c00, NULL, 0));
    assert_true(h3_capsule_put_header(&w, 0x1234, 3));
    quince_put_bytes(&w, (const uint8_t *)"abc", 3);
    assert_true(h3_capsule_put_datagram(&w, (const uint8_t *)"viacap", 6));
    /* Split the bytes across DATA frames at an awkward point. */
    size_t n = (size_t)(w.p - buf);
    assert_int_equal(h3_conn_send_data(f->c.h3, 0, buf, 5, false), H3_OK);
    assert_int_equal(h3_conn_send_data(f->c.h3, 0, buf + 5, n - 5, false), H3_OK);
    wp_pump(&f->c, &f->s);
    assert_true(wt_session_is_ready(f->s.app.last_session));
    assert_int_equal(f->s.app.closed, 0);
    assert_int_equal(f->s.app.ndgram, 1);
    assert_memory_equal(f->s.app.dgram[0], "viacap", 6);
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_close_wt(&w, 7, (const uint8_t *)"done", 4));
    assert_int_equal(h3_conn_send_data(f->c.h3, 0, buf, (size_t)(w.p - buf), true), H3_OK);
    wp_pump(&f->c, &f->s);
    check_closed(&f->s, 7, "done");
    fx_free(f);
}

/* draft-02 §4: a session ID that is not a client bidi stream ID is H3_ID_ERROR. */
static void test_bad_session_id(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    establish(f);
    /* Client uni stream 14 (2, 6, 10 are control and QPACK): 0x54, session 1. */
    assert_int_equal(h3_conn_on_stream_data(f->s.h3, 14, (const uint8_t *)"\x40\x54\x01", 3, false),
                     H3_ERR_CLOSED);
    assert_true(f->s.closed);
    assert_int_equal(f->s.close_code, H3_ID_ERROR);
    assert_int_equal(f->s.app.closed, 1);
    fx_free(f);
}

/* A stream for a session that was never a CONNECT (client side) is rejected. */
static void test_stream_for_unknown_session(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    establish(f);
    uint64_t id;
    assert_int_equal(h3_conn_open_ext_stream(f->s.h3, false, 0x54, 8, &id), H3_OK);
    assert_int_equal(h3_conn_write_raw(f->s.h3, id, (const uint8_t *)"z", 1, true), H3_OK);
    wp_pump(&f->c, &f->s);
    uint64_t code;
    assert_true(wp_sent_stop(&f->c, id, &code));
    assert_int_equal(code, H3_WEBTRANSPORT_BUFFERED_STREAM_REJECTED);
    assert_int_equal(f->c.app.nrx, 0);
    fx_free(f);
}

static void test_stream_limit(void **state)
{
    (void)state;
    wt_config sc;
    wt_config_init(&sc, true);
    sc.max_streams_per_session = 1;
    fixture *f = fx_new(NULL, &sc, false);
    wt_session *s = establish(f);
    wt_stream *a, *b;
    assert_int_equal(wt_session_open_stream(s, true, &a), WT_OK);
    assert_int_equal(wt_session_open_stream(s, true, &b), WT_OK);
    assert_int_equal(wt_stream_write(a, (const uint8_t *)"1", 1, false), WT_OK);
    assert_int_equal(wt_stream_write(b, (const uint8_t *)"2", 1, false), WT_OK);
    uint64_t aid = wt_stream_id(a), bid = wt_stream_id(b);
    wp_pump(&f->c, &f->s);
    uint64_t code;
    assert_true(wp_sent_reset(&f->s, bid, &code));
    assert_int_equal(code, H3_REQUEST_REJECTED);
    assert_true(wp_rx_for(&f->s, aid)->opened);
    /* The client's stream b was aborted by the peer and is gone. */
    assert_true(wp_rx_for(&f->c, bid)->closed);
    wt_stream *c;
    assert_int_equal(wt_session_open_stream(f->s.app.last_session, true, &c), WT_ERR_LIMIT);
    fx_free(f);
}

/* draft-02 §3.1: a CONNECT that arrives before the client's SETTINGS waits for them. */
static void test_connect_before_settings(void **state)
{
    (void)state;
    wt_session *s;
    /* Hold the client's control stream so that the CONNECT overtakes its SETTINGS. */
    fixture *g = fx_new(NULL, NULL, false);
    wp_hold(&g->c, 2);
    wp_pump(&g->c, &g->s); /* server SETTINGS reach the client; client's are held */
    assert_int_equal(wt_endpoint_connect(g->c.wt, "h", "/", "https://h", &s), WT_OK);
    wp_pump(&g->c, &g->s);
    assert_int_equal(g->s.app.requests, 0);
    assert_int_equal(wt_endpoint_session_count(g->s.wt), 1);
    assert_false(wt_session_is_ready(s));
    wp_release(&g->c, 2);
    wp_pump(&g->c, &g->s);
    assert_int_equal(g->s.app.requests, 1);
    assert_true(wt_session_is_ready(s));
    fx_free(g);
}

/* Datagrams that arrive before the 200 are held, up to the bound (§4.5). */
static void test_early_datagrams_bounded(void **state)
{
    (void)state;
    wt_config cc;
    wt_config_init(&cc, false);
    cc.max_buffered_datagrams = 3;
    cc.max_datagram_frame = 1200;
    fixture *f = fx_new(&cc, NULL, false);
    wt_session *s;
    assert_int_equal(wt_endpoint_connect(f->c.wt, "h", "/", "https://h", &s), WT_OK);
    wp_hold(&f->s, 0);
    wp_pump(&f->c, &f->s);
    for (uint8_t i = 0; i < 5; i++)
        assert_int_equal(wt_session_send_datagram(f->s.app.last_session, &i, 1), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->c.app.ndgram, 0);
    wp_release(&f->s, 0);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->c.app.ndgram, 3);
    for (uint8_t i = 0; i < 3; i++)
        assert_int_equal(f->c.app.dgram[i][0], i);
    fx_free(f);
}

/* Early stream bytes beyond the bound: the stream is rejected. */
static void test_early_stream_bytes_bounded(void **state)
{
    (void)state;
    wt_config sc;
    wt_config_init(&sc, true);
    sc.max_buffered_bytes = 8;
    fixture *f = fx_new(NULL, &sc, false);
    wp_pump(&f->c, &f->s);
    wt_session *s;
    assert_int_equal(wt_endpoint_connect(f->c.wt, "h", "/", "https://h", &s), WT_OK);
    wp_hold(&f->c, 0);
    uint64_t a, b;
    assert_int_equal(h3_conn_open_ext_stream(f->c.h3, false, 0x54, 0, &a), H3_OK);
    assert_int_equal(h3_conn_write_raw(f->c.h3, a, (const uint8_t *)"12345", 5, false), H3_OK);
    assert_int_equal(h3_conn_open_ext_stream(f->c.h3, true, 0x41, 0, &b), H3_OK);
    assert_int_equal(h3_conn_write_raw(f->c.h3, b, (const uint8_t *)"6789", 4, false), H3_OK);
    wp_pump(&f->c, &f->s);
    uint64_t code;
    assert_false(wp_sent_stop(&f->s, a, &code));
    assert_true(wp_sent_reset(&f->s, b, &code));
    assert_int_equal(code, H3_WEBTRANSPORT_BUFFERED_STREAM_REJECTED);
    assert_int_equal(wt_endpoint_buffered_streams(f->s.wt), 1);
    wp_release(&f->c, 0);
    wp_pump(&f->c, &f->s);
    assert_int_equal(wp_rx_for(&f->s, a)->len, 5);
    fx_free(f);
}

/* draft-02 §5: data after CLOSE_WEBTRANSPORT_SESSION resets the stream with H3_MESSAGE_ERROR. */
static void test_data_after_close_capsule(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, false);
    establish(f);
    uint8_t buf[64];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_close_wt(&w, 9, (const uint8_t *)"x", 1));
    assert_true(h3_capsule_put_datagram(&w, (const uint8_t *)"late", 4));
    assert_int_equal(h3_conn_send_data(f->c.h3, 0, buf, (size_t)(w.p - buf), false), H3_OK);
    wp_pump(&f->c, &f->s);
    check_closed(&f->s, 9, "x");
    assert_int_equal(f->s.app.ndgram, 0);
    uint64_t code;
    assert_true(wp_sent_stop(&f->s, 0, &code));
    assert_int_equal(code, H3_MESSAGE_ERROR);
    assert_int_equal(wt_endpoint_session_count(f->s.wt), 0);
    fx_free(f);
}

/* Ordinary requests on a WebTransport endpoint go to the chained h3 callbacks. */
typedef struct chain_rec {
    h3_conn **conn;
    int headers, ends;
    char body[64];
    size_t body_len;
} chain_rec;

static void ch_headers(void *user, uint64_t id, const h3_field *f, size_t n, bool trailers)
{
    chain_rec *r = user;
    (void)f;
    (void)n;
    (void)trailers;
    (void)id;
    r->headers++;
}

static void ch_data(void *user, uint64_t id, const uint8_t *d, size_t n)
{
    chain_rec *r = user;
    (void)id;
    assert_true(r->body_len + n <= sizeof(r->body));
    memcpy(r->body + r->body_len, d, n);
    r->body_len += n;
}

static void ch_end(void *user, uint64_t id)
{
    chain_rec *r = user;
    r->ends++;
    if (r->conn != NULL) {
        /* Server: answer the GET. */
        h3_field f = {(const uint8_t *)":status", 7, (const uint8_t *)"200", 3};
        assert_int_equal(h3_conn_submit_response(*r->conn, id, &f, 1, false), H3_OK);
        assert_int_equal(h3_conn_send_data(*r->conn, id, (const uint8_t *)"plain", 5, true), H3_OK);
    }
}

static void test_chained_requests(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 21);
    static wp_ep c, s;
    chain_rec cr = {0}, sr = {0};
    sr.conn = &s.h3;
    h3_callbacks cc = {.user = &cr, .on_headers = ch_headers, .on_data = ch_data, .on_end = ch_end};
    h3_callbacks sc = {.user = &sr, .on_headers = ch_headers, .on_data = ch_data, .on_end = ch_end};
    wp_init_chain(&c, &te, false, NULL, false, &cc);
    wp_init_chain(&s, &te, true, NULL, false, &sc);
    wp_pump(&c, &s);
    wt_session *ws;
    assert_int_equal(wt_endpoint_connect(c.wt, "h", "/", "https://h", &ws), WT_OK);
    h3_field f[4] = {
        {(const uint8_t *)":method", 7, (const uint8_t *)"GET", 3},
        {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5},
        {(const uint8_t *)":authority", 10, (const uint8_t *)"h", 1},
        {(const uint8_t *)":path", 5, (const uint8_t *)"/index.html", 11},
    };
    uint64_t id;
    assert_int_equal(h3_conn_submit_request(c.h3, f, 4, true, &id), H3_OK);
    wp_pump(&c, &s);
    assert_int_equal(sr.headers, 1);
    assert_int_equal(sr.ends, 1);
    assert_int_equal(cr.headers, 1);
    assert_int_equal(cr.ends, 1);
    assert_int_equal(cr.body_len, 5);
    assert_memory_equal(cr.body, "plain", 5);
    /* The WebTransport session beside it saw none of this. */
    assert_true(wt_session_is_ready(ws));
    assert_int_equal(s.app.requests, 1);
    wp_free(&c);
    wp_free(&s);
    test_env_check_leaks(&te);
}

/* -07 §3.3, -16 §3.3, RFC 8470 §5.2: a CONNECT that arrived in early data opens no session:
 * 425, by h3 (refuse_unsafe_early, the default) or by wt when h3 lets it through (reported
 * with on_session_refused). Once the handshake is done (nothing early any more) the same
 * request opens a session. */
static void test_connect_in_early_data(void **state)
{
    (void)state;
    for (int h3_decides = 1; h3_decides >= 0; h3_decides--) {
        wp_h3_lets_early_through = !h3_decides;
        fixture *f = fx_new(NULL, NULL, false);
        f->s.early = true;
        wt_session *s = NULL;
        assert_int_equal(wt_endpoint_connect(f->c.wt, "h", "/early", "https://h", &s), WT_OK);
        wp_pump(&f->c, &f->s);
        assert_int_equal(f->c.app.rejected, 1);
        assert_int_equal(f->c.app.last_status, 425);
        assert_int_equal(f->c.app.ready, 0);
        assert_int_equal(f->s.app.requests, 0);
        assert_int_equal(f->s.app.ready, 0);
        assert_int_equal(f->s.app.refused, h3_decides ? 0 : 1);
        if (!h3_decides) {
            assert_int_equal(f->s.app.refused_status, 425);
            assert_non_null(strstr(f->s.app.refused_why, "0-RTT"));
        }
        assert_int_equal(wt_endpoint_session_count(f->s.wt), 0);
        assert_int_equal(wt_endpoint_session_count(f->c.wt), 0);
        /* After the handshake: the retry is served. */
        f->s.early = false;
        s = establish(f);
        assert_int_equal(f->s.app.requests, 1);
        assert_int_equal(f->s.app.ready, 1);
        fx_free(f);
    }
    wp_h3_lets_early_through = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_session_established),
        cmocka_unit_test(test_bidi_and_uni_streams),
        cmocka_unit_test(test_server_bidi_stream),
        cmocka_unit_test(test_datagrams),
        cmocka_unit_test(test_several_sessions),
        cmocka_unit_test(test_rejected_404),
        cmocka_unit_test(test_refused_without_settings),
        cmocka_unit_test(test_server_refuses_without_settings),
        cmocka_unit_test(test_early_streams_server),
        cmocka_unit_test(test_early_streams_client),
        cmocka_unit_test(test_early_streams_refused_session),
        cmocka_unit_test(test_reset_code_mapping),
        cmocka_unit_test(test_close_capsule_client),
        cmocka_unit_test(test_close_capsule_server),
        cmocka_unit_test(test_close_reason_too_long),
        cmocka_unit_test(test_connect_fin),
        cmocka_unit_test(test_connect_reset),
        cmocka_unit_test(test_capsules_skipped),
        cmocka_unit_test(test_bad_session_id),
        cmocka_unit_test(test_stream_for_unknown_session),
        cmocka_unit_test(test_stream_limit),
        cmocka_unit_test(test_chained_requests),
        cmocka_unit_test(test_connect_before_settings),
        cmocka_unit_test(test_early_datagrams_bounded),
        cmocka_unit_test(test_early_stream_bytes_bounded),
        cmocka_unit_test(test_data_after_close_capsule),
        cmocka_unit_test(test_connect_in_early_data),
    };
    int failed = 0;
    for (size_t i = WT_DIALECT_COUNT; i-- > 0;) {
        cur = wt_dialects_by_age[i];
        wp_dialects = WT_DIALECT_BIT(cur);
        fprintf(stderr, "# dialect %s\n", wt_dialect_name(cur));
        failed += _cmocka_run_group_tests(wt_dialect_name(cur), tests,
                                          sizeof(tests) / sizeof(tests[0]), NULL, NULL);
    }
    return failed;
}
