/* Tests for apps/wt_demo.c: the demo's chat counts the pages connected, and a page that
 * leaves disappears promptly: at once when it closes its session, within the liveness
 * limit (5 s without a ping) when its browser was killed and sends nothing. Each page is
 * its own connection: a wt endpoint pair over in-memory h3 (tests/wt/wt_pair.h), the
 * server side with the demo's callbacks; the clock is the test's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apps/wt_demo.h"
#include "tests/wt/wt_pair.h"

#define NPAGES 3

static uint64_t fake_now;

static uint64_t test_clock(void)
{
    return fake_now;
}

typedef struct page {
    wp_ep c, s; /* the browser's endpoint and the server's for its connection */
    wt_session *session;
} page;

/* The newest {"peers":N} a page received on the demo's presence streams (-1: none). */
static int peers_seen(page *p)
{
    int n = -1;
    uint64_t newest = 0;
    for (size_t i = 0; i < p->c.app.nrx; i++) {
        const wp_rx *r = &p->c.app.rx[i];
        int v;
        if (r->fin && r->len > 9 && memcmp(r->data, "{\"peers\":", 9) == 0 &&
            sscanf((const char *)r->data + 9, "%d", &v) == 1 && (n < 0 || r->id >= newest)) {
            n = v;
            newest = r->id;
        }
    }
    return n;
}

static void ping(page *p)
{
    assert_int_equal(wt_session_send_datagram(p->session, (const uint8_t *)"p", 1), WT_OK);
    wp_pump(&p->c, &p->s);
}

static void pump_all(page *pages)
{
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < NPAGES; i++)
            wp_pump(&pages[i].c, &pages[i].s);
}

static void test_pages_leave_promptly(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 31);
    wt_demo_set_clock(test_clock);
    fake_now = 1000000;
    bind_config bc;
    bind_config_init(&bc, true);
    wt_demo_config(&bc);
    wt_config scfg = bc.wtcfg;
    scfg.is_server = true;
    scfg.max_datagram_frame = 1200;
    static page pages[NPAGES];
    memset(pages, 0, sizeof(pages));
    for (size_t i = 0; i < NPAGES; i++) {
        page *p = &pages[i];
        wp_init(&p->c, &te, false, NULL, false);
        wp_init_cb(&p->s, &te, true, &scfg, &bc.wtcb);
        assert_int_equal(wt_endpoint_connect(p->c.wt, "example.org:443", "/chat",
                                             "https://example.org", &p->session),
                         WT_OK);
        wp_pump(&p->c, &p->s);
        assert_true(wt_session_is_ready(p->session));
    }
    pump_all(pages);
    assert_int_equal(wt_demo_chat_pages(), 3);
    for (size_t i = 0; i < NPAGES; i++)
        assert_int_equal(peers_seen(&pages[i]), 3);

    /* Page 1 closes (its tab was closed: the page closes its session on pagehide). */
    fake_now += 100000;
    assert_int_equal(wt_session_close(pages[1].session, 0, NULL, 0), WT_OK);
    pump_all(pages);
    assert_int_equal(wt_demo_chat_pages(), 2);
    assert_int_equal(peers_seen(&pages[0]), 2);
    assert_int_equal(peers_seen(&pages[2]), 2);

    /* Page 2's browser is killed: it sends nothing from now on. Page 0 goes on pinging
     * every 200 ms; page 2 stays counted while within the limit... */
    for (int t = 0; t < 24; t++) { /* 4.8 s */
        fake_now += 200000;
        ping(&pages[0]);
    }
    assert_int_equal(wt_demo_chat_pages(), 2);
    assert_int_equal(peers_seen(&pages[0]), 2);
    /* ... and is gone once 5 s passed without a word from it. */
    for (int t = 0; t < 2; t++) {
        fake_now += 200000;
        ping(&pages[0]);
    }
    assert_int_equal(wt_demo_chat_pages(), 1);
    assert_int_equal(peers_seen(&pages[0]), 1);
    /* The server closed the dead page's session with 4408 (a live page would read it). */
    wp_pump(&pages[2].c, &pages[2].s);
    assert_int_equal(pages[2].c.app.closed, 1);
    assert_int_equal(pages[2].c.app.close_code, 4408);
    /* Page 0, heard all along, keeps its place; then it leaves too. */
    fake_now += 10000000;
    assert_int_equal(wt_session_close(pages[0].session, 0, NULL, 0), WT_OK);
    pump_all(pages);
    assert_int_equal(wt_demo_chat_pages(), 0);
    for (size_t i = 0; i < NPAGES; i++) {
        wp_free(&pages[i].c);
        wp_free(&pages[i].s);
    }
    test_env_check_leaks(&te);
    wt_demo_set_clock(NULL);
}

/* A page that streams a chat line instead of pinging counts as heard too. */
static void test_chat_line_counts_as_heard(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 32);
    wt_demo_set_clock(test_clock);
    fake_now = 50000000;
    bind_config bc;
    bind_config_init(&bc, true);
    wt_demo_config(&bc);
    wt_config scfg = bc.wtcfg;
    scfg.is_server = true;
    scfg.max_datagram_frame = 1200;
    static page pages[2];
    memset(pages, 0, sizeof(pages));
    for (size_t i = 0; i < 2; i++) {
        wp_init(&pages[i].c, &te, false, NULL, false);
        wp_init_cb(&pages[i].s, &te, true, &scfg, &bc.wtcb);
        assert_int_equal(wt_endpoint_connect(pages[i].c.wt, "example.org:443", "/chat",
                                             "https://example.org", &pages[i].session),
                         WT_OK);
        wp_pump(&pages[i].c, &pages[i].s);
    }
    assert_int_equal(wt_demo_chat_pages(), 2);
    /* 4 s: page 1 sends a chat line; 4 s later page 0 pings: page 1 is within its 5 s. */
    fake_now += 4000000;
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(pages[1].session, false, &st), WT_OK);
    assert_int_equal(wt_stream_write(st, (const uint8_t *)"hi", 2, true), WT_OK);
    wp_pump(&pages[1].c, &pages[1].s);
    fake_now += 4000000;
    ping(&pages[0]);
    assert_int_equal(wt_demo_chat_pages(), 2);
    fake_now += 1500000; /* 5.5 s since page 1's line */
    ping(&pages[0]);
    assert_int_equal(wt_demo_chat_pages(), 1);
    for (size_t i = 0; i < 2; i++) {
        if (i == 0)
            assert_int_equal(wt_session_close(pages[0].session, 0, NULL, 0), WT_OK);
        wp_pump(&pages[i].c, &pages[i].s);
    }
    assert_int_equal(wt_demo_chat_pages(), 0);
    for (size_t i = 0; i < 2; i++) {
        wp_free(&pages[i].c);
        wp_free(&pages[i].s);
    }
    test_env_check_leaks(&te);
    wt_demo_set_clock(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pages_leave_promptly),
        cmocka_unit_test(test_chat_line_counts_as_heard),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
