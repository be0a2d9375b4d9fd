/* Tests for wt/echo.c: the WebTransport echo handler over in-memory HTTP/3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/wt/wt_pair.h"

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
static void record(const fixture *f, const char *name)
{
    const char *dir = getenv("WT_RECORD_CORPUS");
    if (dir == NULL)
        return;
    static uint8_t buf[65536];
    size_t n = wp_flight(&f->c, buf, sizeof(buf));
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
    record(f, "bidi_echo");
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
    record(f, "uni_echo");
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
    record(f, "datagram_echo");
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
    record(f, "reset_passed_on");
    fx_free(f);
}

static void test_wrong_path(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 12);
    wp_ep c, s;
    wp_init(&c, &te, false, NULL, false);
    wp_init(&s, &te, true, NULL, true);
    wt_session *ws;
    assert_int_equal(wt_endpoint_connect(c.wt, "h", "/other", "https://o", &ws), WT_OK);
    wp_pump(&c, &s);
    assert_int_equal(c.app.last_status, 404);
    assert_int_equal(s.echo.sessions, 0);
    wp_free(&c);
    wp_free(&s);
    test_env_check_leaks(&te);
}

static void test_close_from_client(void **state)
{
    (void)state;
    fixture *f = fx_new();
    assert_int_equal(wt_session_close(f->session, 5, (const uint8_t *)"bye", 3), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(wt_endpoint_session_count(f->s.wt), 0);
    assert_int_equal(wt_endpoint_session_count(f->c.wt), 0);
    record(f, "close_from_client");
    fx_free(f);
}

int main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bidi_echo),
        cmocka_unit_test(test_uni_echo),
        cmocka_unit_test(test_uni_echo_whole),
        cmocka_unit_test(test_free_with_partial_uni),
        cmocka_unit_test(test_datagram_echo),
        cmocka_unit_test(test_reset_passed_on),
        cmocka_unit_test(test_wrong_path),
        cmocka_unit_test(test_close_from_client),
    };
    /* clang-format on */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
