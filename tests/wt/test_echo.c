/* Tests for apps/wt_echo.c: the WebTransport echo handler over in-memory HTTP/3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "h3/capsule.h"
#include "base/cursor.h"
#include "tests/wt/wt_pair.h"
#include "wt/dialect.h"

typedef struct fixture {
    test_env te;
    wp_ep c, s;
    wt_session *session;
} fixture;

static fixture *fx_new(void)
{
    fixture *f = test_malloc(sizeof(*f));
    memset(f, 0, sizeof(*f));
    test_env_init(&f->te, 11);
    wp_init(&f->c, &f->te, false, NULL, false);
    wp_init(&f->s, &f->te, true, NULL, true);
    assert_int_equal(wt_endpoint_connect(f->c.wt, "localhost:4433", "/echo",
                                         "https://localhost:4433", &f->session),
                     WT_OK);
    wp_pump(&f->c, &f->s);
    assert_true(wt_session_is_ready(f->session));
    assert_int_equal(f->s.echo.sessions, 1);
    return f;
}

/* With WT_RECORD_CORPUS=dir, save the client's flight as a fuzz_wt_server seed. */
static void record(const wp_ep *c, const char *name)
{
    const char *dir = getenv("WT_RECORD_CORPUS");
    if (dir == NULL)
        return;
    static uint8_t buf[65536];
    size_t n = wp_flight(c, buf, sizeof(buf));
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, n, fp), n);
    fclose(fp);
}

static void fx_free(fixture *f)
{
    wp_free(&f->c);
    wp_free(&f->s);
    test_env_check_leaks(&f->te);
    test_free(f);
}

static void test_bidi_echo(void **state)
{
    (void)state;
    fixture *f = fx_new();
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(f->session, true, &st), WT_OK);
    uint64_t id = wt_stream_id(st);
    assert_int_equal(wt_stream_write(st, (const uint8_t *)"hello ", 6, false), WT_OK);
    wp_pump(&f->c, &f->s);
    wp_rx *r = wp_rx_for(&f->c, id);
    assert_int_equal(r->len, 6);
    assert_false(r->fin); /* no FIN before the peer's FIN */
    assert_int_equal(wt_stream_write(st, (const uint8_t *)"world", 5, true), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(r->len, 11);
    assert_memory_equal(r->data, "hello world", 11);
    assert_true(r->fin);
    assert_true(r->closed);
    assert_int_equal(f->s.echo.bytes, 11);
    record(&f->c, "bidi_echo");
    fx_free(f);
}

static void test_uni_echo(void **state)
{
    (void)state;
    fixture *f = fx_new();
    /* The client's uni stream 14 (2, 6, 10 are control and QPACK) reaches the
     * server in two pieces. */
    assert_int_equal(
        h3_conn_on_stream_data(f->s.h3, 14, (const uint8_t *)"\x40\x54\x00one-", 7, false), H3_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->c.app.nrx, 0); /* nothing echoed before the FIN */
    assert_int_equal(h3_conn_on_stream_data(f->s.h3, 14, (const uint8_t *)"way", 3, true), H3_OK);
    wp_pump(&f->c, &f->s);
    /* The echo comes back on a server-opened unidirectional stream. */
    wp_rx *r = NULL;
    for (size_t i = 0; i < f->c.app.nrx; i++)
        if (f->c.app.rx[i].id % 4 == 3)
            r = &f->c.app.rx[i];
    assert_non_null(r);
    assert_true(r->opened);
    assert_int_equal(r->len, 7);
    assert_memory_equal(r->data, "one-way", 7);
    assert_true(r->fin && r->closed);
    fx_free(f);
}

static void test_uni_echo_whole(void **state)
{
    (void)state;
    fixture *f = fx_new();
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(f->session, false, &st), WT_OK);
    assert_int_equal(wt_stream_write(st, (const uint8_t *)"one-way", 7, true), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->s.echo.bytes, 7);
    record(&f->c, "uni_echo");
    fx_free(f);
}

/* A uni stream still being read when the connection goes: its buffer is released. */
static void test_free_with_partial_uni(void **state)
{
    (void)state;
    fixture *f = fx_new();
    assert_int_equal(
        h3_conn_on_stream_data(f->s.h3, 14, (const uint8_t *)"\x40\x54\x00part", 7, false), H3_OK);
    assert_int_equal(f->s.echo.bytes, 0);
    fx_free(f); /* test_env_check_leaks */
}

static void test_datagram_echo(void **state)
{
    (void)state;
    fixture *f = fx_new();
    assert_int_equal(wt_session_send_datagram(f->session, (const uint8_t *)"dgram", 5), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->c.app.ndgram, 1);
    assert_int_equal(f->c.app.dgram_len[0], 5);
    assert_memory_equal(f->c.app.dgram[0], "dgram", 5);
    assert_ptr_equal(f->c.app.dgram_session[0], f->session);
    assert_int_equal(f->s.echo.datagrams, 1);
    record(&f->c, "datagram_echo");
    fx_free(f);
}

static void test_reset_passed_on(void **state)
{
    (void)state;
    fixture *f = fx_new();
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(f->session, true, &st), WT_OK);
    uint64_t id = wt_stream_id(st);
    assert_int_equal(wt_stream_write(st, (const uint8_t *)"x", 1, false), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(wt_stream_reset(st, 77), WT_OK);
    wp_pump(&f->c, &f->s);
    uint64_t code;
    assert_true(wp_sent_reset(&f->s, id, &code) || wp_sent_stop(&f->s, id, &code));
    record(&f->c, "reset_passed_on");
    fx_free(f);
}

static void test_wrong_path(void **state)
{
    (void)state;
    /* 404, but 405 in draft-16 (§3.2), which both ends pick when they speak all. */
    static const struct {
        uint32_t dialects;
        int status;
    } runs[] = {
        {WT_DIALECT_BIT(WT_DRAFT_02), 404},
        {WT_DIALECT_BIT(WT_DRAFT_07), 404},
        {WT_DIALECT_BIT(WT_DRAFT_15), 404},
        {WT_DIALECT_BIT(WT_DRAFT_16), 405},
        {WT_DIALECTS_ALL, 405},
    };
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        wp_dialects = runs[i].dialects;
        test_env te;
        test_env_init(&te, 12);
        wp_ep c, s;
        wp_init(&c, &te, false, NULL, false);
        wp_init(&s, &te, true, NULL, true);
        wt_session *ws;
        assert_int_equal(wt_endpoint_connect(c.wt, "h", "/other", "https://h", &ws), WT_OK);
        wp_pump(&c, &s);
        assert_int_equal(c.app.last_status, runs[i].status);
        assert_int_equal(s.echo.sessions, 0);
        wp_free(&c);
        wp_free(&s);
        test_env_check_leaks(&te);
    }
    wp_dialects = 0;
}

static void test_close_from_client(void **state)
{
    (void)state;
    fixture *f = fx_new();
    assert_int_equal(wt_session_close(f->session, 5, (const uint8_t *)"bye", 3), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(wt_endpoint_session_count(f->s.wt), 0);
    assert_int_equal(wt_endpoint_session_count(f->c.wt), 0);
    record(&f->c, "close_from_client");
    fx_free(f);
}

/* What Chromium 156 sends (measured on its traffic to a Quince server): its SETTINGS
 * (no ENABLE_CONNECT_PROTOCOL), the draft-02 CONNECT, GREASE and
 * REGISTER_DATAGRAM_NO_CONTEXT capsules at once, a datagram, then the close
 * capsule and FIN; the echo server answers each step. */
static void test_chromium_like_client(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 13);
    static wp_ep c, s;
    h3_config hc;
    h3_config_init(&hc, false);
    h3_settings_set(&hc.settings, H3_SETTING_QPACK_MAX_TABLE_CAPACITY, 65536);
    h3_settings_set(&hc.settings, H3_SETTING_QPACK_BLOCKED_STREAMS, 100);
    h3_settings_set(&hc.settings, H3_SETTING_H3_DATAGRAM, 1);
    h3_settings_set(&hc.settings, H3_SETTING_H3_DATAGRAM_DRAFT04, 1);
    h3_settings_set(&hc.settings, H3_SETTING_ENABLE_WEBTRANSPORT, 1);
    hc.ext_streams = true;
    wp_init_h3(&c, &te, false, &hc);
    wp_init(&s, &te, true, NULL, true);
    wp_pump(&c, &s);
    h3_field f[7] = {
        {(const uint8_t *)":method", 7, (const uint8_t *)"CONNECT", 7},
        {(const uint8_t *)":protocol", 9, (const uint8_t *)"webtransport", 12},
        {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5},
        {(const uint8_t *)":authority", 10, (const uint8_t *)"127.0.0.1:4433", 14},
        {(const uint8_t *)":path", 5, (const uint8_t *)"/echo", 5},
        {(const uint8_t *)"sec-webtransport-http3-draft02", 30, (const uint8_t *)"1", 1},
        {(const uint8_t *)"origin", 6, (const uint8_t *)"https://127.0.0.1:4433", 22},
    };
    uint64_t id;
    assert_int_equal(h3_conn_submit_request(c.h3, f, 7, false, &id), H3_OK);
    uint8_t buf[128];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_grease(&w, 3, (const uint8_t *)"\x01\x02", 2));
    assert_true(h3_capsule_put_register_no_context(&w, H3_DATAGRAM_FORMAT_WEBTRANSPORT, NULL, 0));
    assert_int_equal(h3_conn_send_data(c.h3, id, buf, (size_t)(w.p - buf), false), H3_OK);
    wp_pump(&c, &s);
    assert_int_equal(c.status_seen, 200);
    assert_non_null(strstr(c.headers_seen, "sec-webtransport-http3-draft: draft02\n"));
    assert_int_equal(s.echo.sessions, 1);
    /* A datagram: quarter stream ID 0 + payload, echoed the same way. */
    assert_int_equal(h3_conn_send_datagram(c.h3, id, (const uint8_t *)"ping", 4), H3_OK);
    wp_pump(&c, &s);
    assert_int_equal(s.ndgrams, 1);
    assert_int_equal(s.dgram_lens[0], 5);
    assert_memory_equal(s.dgrams[0], "\x00ping", 5);
    /* A bidi stream 0x41 + session 0, echoed on the same stream. */
    uint64_t bid;
    assert_int_equal(h3_conn_open_ext_stream(c.h3, true, 0x41, id, &bid), H3_OK);
    assert_int_equal(h3_conn_write_raw(c.h3, bid, (const uint8_t *)"abc", 3, true), H3_OK);
    wp_pump(&c, &s);
    const wp_out *o = wp_out_stream(&s, bid);
    assert_non_null(o);
    assert_int_equal(o->len, 3);
    assert_memory_equal(o->buf, "abc", 3);
    assert_true(o->fin);
    /* Close with a code and reason, then FIN: the server finishes its side. */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_close_wt(&w, 0x1234, (const uint8_t *)"page closed", 11));
    assert_int_equal(h3_conn_send_data(c.h3, id, buf, (size_t)(w.p - buf), true), H3_OK);
    wp_pump(&c, &s);
    assert_true(c.end_seen);
    assert_int_equal(c.data_len, 0); /* the server sent no capsule of its own */
    assert_int_equal(wt_endpoint_session_count(s.wt), 0);
    record(&c, "chromium_like_client");
    wp_free(&c);
    wp_free(&s);
    test_env_check_leaks(&te);
}

/* The echo in each dialect (both ends speaking only it): bidi, uni and a
 * datagram come back; with WT_RECORD_CORPUS=dir the client's flight becomes the
 * fuzz_wt_server seed dialect_NN (a server of every dialect negotiating it). */
static void test_echo_per_dialect(void **state)
{
    (void)state;
    static const char *names[] = {"dialect_16", "dialect_15", "dialect_14",
                                  "dialect_13", "dialect_07", "dialect_02"};
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++) {
        wp_dialects = WT_DIALECT_BIT(wt_dialects_by_age[i]);
        fixture *f = fx_new();
        wp_dialects = 0;
        assert_int_equal(wt_session_dialect(f->session), wt_dialects_by_age[i]);
        wt_stream *b, *u;
        assert_int_equal(wt_session_open_stream(f->session, true, &b), WT_OK);
        assert_int_equal(wt_stream_write(b, (const uint8_t *)"bidi", 4, true), WT_OK);
        assert_int_equal(wt_session_open_stream(f->session, false, &u), WT_OK);
        assert_int_equal(wt_stream_write(u, (const uint8_t *)"uni!", 4, true), WT_OK);
        assert_int_equal(wt_session_send_datagram(f->session, (const uint8_t *)"dg", 2), WT_OK);
        wp_rx *rb = wp_rx_for(&f->c, wt_stream_id(b));
        wp_pump(&f->c, &f->s);
        assert_true(rb->fin);
        assert_memory_equal(rb->data, "bidi", 4);
        assert_int_equal(f->c.app.ndgram, 1);
        assert_memory_equal(f->c.app.dgram[0], "dg", 2);
        assert_int_equal(f->s.echo.bytes, 8);
        record(&f->c, names[i]);
        fx_free(f);
    }
}

int main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_echo_per_dialect),
        cmocka_unit_test(test_bidi_echo),
        cmocka_unit_test(test_uni_echo),
        cmocka_unit_test(test_uni_echo_whole),
        cmocka_unit_test(test_free_with_partial_uni),
        cmocka_unit_test(test_datagram_echo),
        cmocka_unit_test(test_reset_passed_on),
        cmocka_unit_test(test_wrong_path),
        cmocka_unit_test(test_close_from_client),
        cmocka_unit_test(test_chromium_like_client),
    };
    /* clang-format on */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
