/* The memory budget on the WebTransport side (wt_endpoint_set_budget): early streams,
 * early datagrams and capsules being assembled, and the exact outcome when the budget
 * cannot hold them (draft-ietf-webtrans-http3-02 §4.5, RFC 9297 §2.1, §3.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/budget.h"
#include "h3/capsule.h"
#include "wt/codes.h"
#include "tests/wt/wt_pair.h"

typedef struct fixture {
    test_env te;
    wp_ep c, s;
    quince_budget cb, sb; /* the client's and the server's budgets */
} fixture;

static fixture *fx_new(const wt_config *ccfg, const wt_config *scfg, size_t climit, size_t slimit)
{
    fixture *f = test_malloc(sizeof(*f));
    memset(f, 0, sizeof(*f));
    test_env_init(&f->te, 7);
    wp_init(&f->c, &f->te, false, ccfg, false);
    wp_init(&f->s, &f->te, true, scfg, false);
    f->cb.limit = climit;
    f->sb.limit = slimit;
    wt_endpoint_set_budget(f->c.wt, &f->cb);
    wt_endpoint_set_budget(f->s.wt, &f->sb);
    return f;
}

static void fx_free(fixture *f)
{
    wp_free(&f->c);
    wp_free(&f->s);
    /* Everything charged was given back. */
    assert_int_equal(f->cb.used, 0);
    assert_int_equal(f->sb.used, 0);
    test_env_check_leaks(&f->te);
    test_free(f);
}

static wt_session *establish(fixture *f)
{
    wt_session *s = NULL;
    assert_int_equal(wt_endpoint_connect(f->c.wt, "h", "/", "https://h", &s), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_true(wt_session_is_ready(s));
    return s;
}

/* Early stream bytes are charged by their buffer (64 bytes at first, doubling); a stream
 * the budget cannot hold is rejected with WT_BUFFERED_STREAM_REJECTED (§4.5), the others
 * are delivered once the session is established. */
static void test_early_stream_budget(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, 0, 100);
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
    assert_int_equal(f->sb.used, 64);
    uint64_t code;
    assert_false(wp_sent_reset(&f->s, a, &code));
    assert_true(wp_sent_reset(&f->s, b, &code));
    assert_int_equal(code, H3_WEBTRANSPORT_BUFFERED_STREAM_REJECTED);
    assert_true(wp_sent_stop(&f->s, b, &code));
    assert_int_equal(code, H3_WEBTRANSPORT_BUFFERED_STREAM_REJECTED);
    assert_int_equal(wt_endpoint_buffered_streams(f->s.wt), 1);
    wp_release(&f->c, 0);
    wp_pump(&f->c, &f->s);
    assert_int_equal(wp_rx_for(&f->s, a)->len, 5);
    assert_memory_equal(wp_rx_for(&f->s, a)->data, "12345", 5);
    assert_int_equal(f->sb.used, 0);
    assert_int_equal(f->sb.peak, 64);
    fx_free(f);
}

/* Datagrams for a session not established yet cost their length; past the budget they
 * are dropped (RFC 9297 §2.1), the ones held are delivered after the 200. */
static void test_early_datagram_budget(void **state)
{
    (void)state;
    wt_config cc;
    wt_config_init(&cc, false);
    cc.max_datagram_frame = 1200;
    fixture *f = fx_new(&cc, NULL, 2, 0);
    wt_session *s;
    assert_int_equal(wt_endpoint_connect(f->c.wt, "h", "/", "https://h", &s), WT_OK);
    wp_hold(&f->s, 0);
    wp_pump(&f->c, &f->s);
    for (uint8_t i = 0; i < 5; i++)
        assert_int_equal(wt_session_send_datagram(f->s.app.last_session, &i, 1), WT_OK);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->c.app.ndgram, 0);
    assert_int_equal(f->cb.used, 2);
    wp_release(&f->s, 0);
    wp_pump(&f->c, &f->s);
    assert_int_equal(f->c.app.ndgram, 2);
    assert_int_equal(f->c.app.dgram[0][0], 0);
    assert_int_equal(f->c.app.dgram[1][0], 1);
    assert_int_equal(f->cb.used, 0);
    fx_free(f);
}

/* Send bytes on the CONNECT stream (as DATA) and let them arrive on their own. */
static void send_connect_data(fixture *f, const uint8_t *p, size_t len)
{
    assert_int_equal(h3_conn_send_data(f->c.h3, 0, p, len, false), H3_OK);
    wp_pump(&f->c, &f->s);
}

/* A DATAGRAM capsule that arrives in pieces is charged its length while assembled; past
 * the budget it is dropped (RFC 9297 §3.5) and the session goes on. */
static void test_datagram_capsule_budget(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, 0, 9);
    establish(f);
    static const uint8_t big[] = {0x00, 0x0a, '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'};
    send_connect_data(f, big, 4);
    assert_int_equal(f->sb.used, 0);
    send_connect_data(f, big + 4, sizeof(big) - 4);
    assert_int_equal(f->s.app.ndgram, 0);
    static const uint8_t small[] = {0x00, 0x02, 'h', 'i'};
    send_connect_data(f, small, sizeof(small));
    assert_int_equal(f->s.app.ndgram, 1);
    assert_int_equal(f->s.app.dgram_len[0], 2);
    assert_memory_equal(f->s.app.dgram[0], "hi", 2);
    /* With room, the same capsule is held whole and delivered. */
    f->sb.limit = 10;
    send_connect_data(f, big, 4);
    assert_int_equal(f->sb.used, 10);
    send_connect_data(f, big + 4, sizeof(big) - 4);
    assert_int_equal(f->s.app.ndgram, 2);
    assert_memory_equal(f->s.app.dgram[1], "0123456789", 10);
    uint64_t code;
    assert_false(wp_sent_reset(&f->s, 0, &code));
    fx_free(f);
}

/* Any other capsule the budget cannot hold ends the session as one over max_capsule:
 * the CONNECT stream is reset with H3_EXCESSIVE_LOAD. */
static void test_close_capsule_budget(void **state)
{
    (void)state;
    fixture *f = fx_new(NULL, NULL, 0, 19);
    establish(f);
    uint8_t buf[64];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_close_wt(&w, 9, (const uint8_t *)"sixteen bytes...", 16));
    size_t len = (size_t)(w.p - buf);
    assert_int_equal(len, 3 + 20);
    send_connect_data(f, buf, 5);
    uint64_t code;
    assert_true(wp_sent_reset(&f->s, 0, &code));
    assert_int_equal(code, H3_EXCESSIVE_LOAD);
    assert_int_equal(f->s.app.closed, 1);
    assert_int_equal(f->sb.used, 0);
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_early_stream_budget),
        cmocka_unit_test(test_early_datagram_budget),
        cmocka_unit_test(test_datagram_capsule_budget),
        cmocka_unit_test(test_close_capsule_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
