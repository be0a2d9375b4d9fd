/* Tests for WebTransport session flow control (draft-ietf-webtrans-http3-13..-16 §5):
 * negotiation per dialect, credit, blocking and resuming, and violations with each
 * draft's error code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "h3/capsule.h"
#include "wt/codes.h"
#include "wt/dialect.h"
#include "base/cursor.h"
#include "base/varint.h"
#include "tests/wt/wt_pair.h"

typedef struct fc_cfg {
    uint64_t data, bidi, uni;
    size_t max_sessions;
} fc_cfg;

static const fc_cfg FC_DEFAULT = {1u << 20, 100, 100, 16};
static const fc_cfg FC_NONE = {0, 0, 0, 16};

typedef struct pair {
    test_env te;
    wp_ep c, s;
    wt_session *cs; /* the client's session */
    wt_session *ss; /* the server's */
    uint64_t sid;   /* its ID (the session may be gone when it is needed) */
} pair;

static void mkcfg(wt_config *c, bool server, wt_dialect d, const fc_cfg *fc)
{
    wt_config_init(c, server);
    c->max_datagram_frame = 1200;
    c->dialects = WT_DIALECT_BIT(d);
    c->fc_max_data = fc->data;
    c->fc_max_streams_bidi = fc->bidi;
    c->fc_max_streams_uni = fc->uni;
    c->max_sessions = fc->max_sessions;
}

/* A client and a server speaking only d, one session established. */
static pair *pair_new(wt_dialect d, const fc_cfg *cfc, const fc_cfg *sfc, bool echo)
    __attribute__((unused));
static pair *pair_new(wt_dialect d, const fc_cfg *cfc, const fc_cfg *sfc, bool echo)
{
    pair *p = test_malloc(sizeof(*p));
    memset(p, 0, sizeof(*p));
    test_env_init(&p->te, 41);
    wt_config cc, sc;
    mkcfg(&cc, false, d, cfc);
    mkcfg(&sc, true, d, sfc);
    wp_init(&p->c, &p->te, false, &cc, false);
    wp_init(&p->s, &p->te, true, &sc, echo);
    assert_int_equal(wt_endpoint_connect(p->c.wt, "h", echo ? "/echo" : "/d", "https://h", &p->cs),
                     WT_OK);
    wp_pump(&p->c, &p->s);
    assert_true(wt_session_is_ready(p->cs));
    p->ss = p->s.app.last_session;
    p->sid = wt_session_id(p->cs);
    return p;
}

static void pair_free(pair *p)
{
    wp_free(&p->c);
    wp_free(&p->s);
    test_env_check_leaks(&p->te);
    test_free(p);
}

/* With WT_RECORD_CORPUS=dir, save an endpoint's flight as a fuzz_wt_server
 * (client flights) or fuzz_wt_client (server flights) seed; those speak every
 * dialect with the default windows. */
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

static bool fc_on(wt_session *s)
{
    wt_flow_stats fs;
    wt_session_flow(s, &fs);
    return fs.enabled;
}

/* -13 §5.1: on when both send WT_MAX_SESSIONS above 1; -14 §5.1: that, or a
 * non-zero WT_INITIAL_*; -15/-16 §5.1: a non-zero WT_INITIAL_* from both.
 * Never in -02 and -07 (no flow control there). */
static void test_negotiation(void **state)
{
    (void)state;
    static const fc_cfg one_session = {1u << 20, 100, 100, 1}; /* WT_INITIAL_*, WT_MAX_SESSIONS 1 */
    static const fc_cfg only_sessions = {0, 0, 0, 16};         /* neither */
    static const struct {
        wt_dialect d;
        const fc_cfg *c, *s;
        bool on;
    } cases[] = {
        {WT_DRAFT_02, &FC_DEFAULT, &FC_DEFAULT, false},
        {WT_DRAFT_07, &FC_DEFAULT, &FC_DEFAULT, false},
        {WT_DRAFT_13, &FC_DEFAULT, &FC_DEFAULT, true},
        {WT_DRAFT_13, &one_session, &FC_DEFAULT, false}, /* client sent WT_MAX_SESSIONS 1 */
        {WT_DRAFT_13, &FC_DEFAULT, &FC_NONE, false},
        {WT_DRAFT_14, &FC_DEFAULT, &FC_DEFAULT, true},
        {WT_DRAFT_14, &one_session, &one_session, true}, /* WT_INITIAL_* alone suffices */
        {WT_DRAFT_14, &only_sessions, &FC_DEFAULT, false},
        {WT_DRAFT_15, &one_session, &one_session, true},
        {WT_DRAFT_15, &FC_DEFAULT, &FC_NONE, false},
        {WT_DRAFT_16, &FC_DEFAULT, &FC_DEFAULT, true},
        {WT_DRAFT_16, &FC_NONE, &FC_DEFAULT, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pair *p = pair_new(cases[i].d, cases[i].c, cases[i].s, false);
        assert_int_equal(wt_session_dialect(p->cs), cases[i].d);
        assert_int_equal(fc_on(p->cs), cases[i].on);
        assert_int_equal(fc_on(p->ss), cases[i].on);
        if (cases[i].on) {
            /* §5.5: the peer's WT_INITIAL_* are the first send limits. */
            wt_flow_stats fs;
            wt_session_flow(p->cs, &fs);
            assert_int_equal(fs.peer_max_data, cases[i].s->data);
            assert_int_equal(fs.peer_max_streams_bidi, cases[i].s->bidi);
            assert_int_equal(fs.peer_max_streams_uni, cases[i].s->uni);
            assert_int_equal(fs.max_data, cases[i].c->data);
        }
        pair_free(p);
    }
}

static const wt_dialect fc_dialects[] = {WT_DRAFT_13, WT_DRAFT_14, WT_DRAFT_15, WT_DRAFT_16};
#define NFC (sizeof(fc_dialects) / sizeof(fc_dialects[0]))

static uint8_t pat(size_t i)
{
    return (uint8_t)(i * 7 + 3);
}

/* §5.4, §5.6.4, §5.6.5: the server allows 1000 bytes per session; a 3000-byte
 * write goes out as far as that, the rest is held, WT_DATA_BLOCKED(1000)
 * reaches the server, which sends WT_MAX_DATA as its application reads;
 * every byte arrives in order, and the credit callback fired. */
static void test_data_blocks_and_resumes(void **state)
{
    (void)state;
    static const fc_cfg small = {1000, 100, 100, 16};
    for (size_t i = 0; i < NFC; i++) {
        pair *p = pair_new(fc_dialects[i], &FC_DEFAULT, &small, false);
        uint8_t buf[3000];
        for (size_t k = 0; k < sizeof(buf); k++)
            buf[k] = pat(k);
        wt_stream *st;
        assert_int_equal(wt_session_open_stream(p->cs, false, &st), WT_OK);
        uint64_t sid = wt_stream_id(st); /* st goes away once its fin is out */
        assert_int_equal(wt_stream_write(st, buf, sizeof(buf), true), WT_OK);
        wt_flow_stats fs;
        wt_session_flow(p->cs, &fs);
        assert_int_equal(fs.data_sent, 1000);
        assert_int_equal(fs.held, 2000);
        assert_int_equal(fs.writes_held, 1);
        assert_int_equal(fs.data_blocked_sent, 1);
        assert_int_equal(wt_stream_buffered(st), 2000); /* held: the test transport took the rest */
        /* A second write is held behind the first, in order; fin already given. */
        assert_int_equal(wt_stream_write(st, buf, 1, false), WT_ERR_STATE);
        wp_pump(&p->c, &p->s);
        wp_rx *r = wp_rx_for(&p->s, sid);
        assert_int_equal(r->len, sizeof(buf));
        assert_true(r->fin);
        assert_memory_equal(r->data, buf, sizeof(buf));
        wt_session_flow(p->cs, &fs);
        assert_int_equal(fs.data_sent, 3000);
        assert_int_equal(fs.held, 0);
        assert_true(fs.max_data_received >= 2);
        assert_true(fs.peer_max_data >= 3000);
        assert_true(p->c.app.credit >= 2);
        wt_flow_stats ss;
        wt_session_flow(p->ss, &ss);
        assert_int_equal(ss.data_received, 3000);
        /* Blocked at 1000, then at 2000 (the test pump moves one step at a time). */
        assert_true(ss.data_blocked_received >= 1);
        assert_int_equal(ss.data_blocked_received, fs.data_blocked_sent);
        assert_int_equal(ss.max_data_sent, fs.max_data_received);
        assert_int_equal(ss.max_data, fs.peer_max_data);
        /* The capsule on the wire: WT_DATA_BLOCKED with the limit 1000. */
        uint8_t flight[8192];
        size_t n = wp_flight(&p->c, flight, sizeof(flight));
        uint8_t want[16];
        quince_writer w = quince_writer_init(want, sizeof(want));
        assert_true(h3_capsule_put_wt_flow(&w, H3_CAPSULE_WT_DATA_BLOCKED, 1000));
        size_t wl = (size_t)(w.p - want);
        bool found = false;
        for (size_t k = 0; k + wl <= n && !found; k++)
            found = memcmp(flight + k, want, wl) == 0;
        assert_true(found);
        char name[32];
        snprintf(name, sizeof(name), "flow_blocked_%02d", (int)fc_dialects[i]);
        record(&p->c, name);
        /* The server's side (SETTINGS, 200, WT_MAX_DATA) is a fuzz_wt_client seed. */
        snprintf(name, sizeof(name), "server_flow_%02d", (int)fc_dialects[i]);
        record(&p->s, name);
        pair_free(p);
    }
}

/* A write larger than fc_max_held while blocked is refused whole. */
static void test_held_bound(void **state)
{
    (void)state;
    static const fc_cfg tiny = {10, 100, 100, 16};
    pair *p = pair_new(WT_DRAFT_16, &FC_DEFAULT, &tiny, false);
    wt_stream *st;
    assert_int_equal(wt_session_open_stream(p->cs, true, &st), WT_OK);
    static uint8_t big[(256u << 10) + 11];
    assert_int_equal(wt_stream_write(st, big, sizeof(big), false), WT_ERR_BLOCKED);
    wt_flow_stats fs;
    wt_session_flow(p->cs, &fs);
    assert_int_equal(fs.data_sent, 0);
    assert_int_equal(fs.held, 0);
    assert_int_equal(wt_stream_write(st, big, sizeof(big) - 1, false), WT_OK);
    wt_session_flow(p->cs, &fs);
    assert_int_equal(fs.data_sent, 10);
    assert_int_equal(fs.held, sizeof(big) - 11);
    pair_free(p);
}

/* §5.3, §5.6.2, §5.6.3: the server allows 2 uni and 2 bidi streams; the
 * third open is WT_ERR_BLOCKED with one WT_STREAMS_BLOCKED(2); as streams
 * close the server sends WT_MAX_STREAMS and the open succeeds. */
static void test_streams_block_and_resume(void **state)
{
    (void)state;
    static const fc_cfg two = {1u << 20, 2, 2, 16};
    for (size_t i = 0; i < NFC; i++) {
        pair *p = pair_new(fc_dialects[i], &FC_DEFAULT, &two, false);
        for (int bidi = 0; bidi < 2; bidi++) {
            wt_stream *st[3];
            for (int k = 0; k < 2; k++) {
                assert_int_equal(wt_session_open_stream(p->cs, bidi, &st[k]), WT_OK);
                assert_int_equal(wt_stream_write(st[k], (const uint8_t *)"ab", 2, true), WT_OK);
            }
            assert_int_equal(wt_session_open_stream(p->cs, bidi, &st[2]), WT_ERR_BLOCKED);
            assert_int_equal(wt_session_open_stream(p->cs, bidi, &st[2]), WT_ERR_BLOCKED);
            wt_flow_stats fs;
            wt_session_flow(p->cs, &fs);
            assert_int_equal(fs.streams_blocked_sent, (uint64_t)bidi + 1);
            assert_int_equal(fs.opens_blocked, 2 * ((uint64_t)bidi + 1));
            int credit = p->c.app.credit;
            /* The server reads both to the end (and finishes its side of a
             * bidi one): they close on its side. */
            wp_pump(&p->c, &p->s);
            for (int k = 0; k < 2 && bidi; k++)
                assert_int_equal(
                    wt_stream_write(wp_rx_for(&p->s, wt_stream_id(st[k]))->st, NULL, 0, true),
                    WT_OK);
            wp_pump(&p->c, &p->s);
            wt_flow_stats ss;
            wt_session_flow(p->ss, &ss);
            assert_int_equal(ss.streams_blocked_received, (uint64_t)bidi + 1);
            assert_true(ss.max_streams_sent >= 1);
            assert_true(p->c.app.credit > credit);
            wt_session_flow(p->cs, &fs);
            uint64_t lim = bidi ? fs.peer_max_streams_bidi : fs.peer_max_streams_uni;
            assert_int_equal(lim, 4); /* 2 closed + a window of 2 */
            assert_int_equal(wt_session_open_stream(p->cs, bidi, &st[2]), WT_OK);
            uint64_t id2 = wt_stream_id(st[2]);
            assert_int_equal(wt_stream_write(st[2], (const uint8_t *)"cd", 2, true), WT_OK);
            wp_pump(&p->c, &p->s);
            assert_int_equal(wp_rx_for(&p->s, id2)->len, 2);
        }
        char name[32];
        snprintf(name, sizeof(name), "flow_streams_%02d", (int)fc_dialects[i]);
        record(&p->c, name);
        pair_free(p);
    }
}

/* Send a flow-control capsule from the client's h3 directly (a peer that breaks the rules). */
static void raw_capsule(pair *p, uint64_t type, uint64_t value)
{
    uint8_t buf[32];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_header(&w, type, quince_varint_len(value)) &&
                quince_put_varint(&w, value));
    assert_int_equal(h3_conn_send_data(p->c.h3, p->sid, buf, (size_t)(w.p - buf), false), H3_OK);
    wp_pump(&p->c, &p->s);
}

/* The server reset the CONNECT stream with code (and the session is gone), or not. */
static void expect_end(pair *p, bool ended, uint64_t want)
{
    uint64_t code = 0;
    if (ended) {
        assert_true(wp_sent_reset(&p->s, p->sid, &code));
        assert_int_equal(code, want);
        assert_int_equal(p->s.app.closed, 1);
        assert_int_equal(p->c.app.closed, 1);
    } else {
        assert_false(wp_sent_reset(&p->s, p->sid, &code));
        assert_int_equal(p->s.app.closed, 0);
        assert_true(wt_session_is_ready(p->cs));
    }
}

/* §5.6.2, §5.6.4: a limit that goes down: -13 says nothing (ignored, the limit
 * stays), -14 and -15 reset the CONNECT stream with WT_FLOW_CONTROL_ERROR;
 * one that stays the same: an error only in -16 ("does not increase"). */
static void test_limit_lowered(void **state)
{
    (void)state;
    static const uint64_t types[] = {H3_CAPSULE_WT_MAX_DATA, H3_CAPSULE_WT_MAX_STREAMS_BIDI,
                                     H3_CAPSULE_WT_MAX_STREAMS_UNI};
    for (size_t i = 0; i < NFC; i++) {
        wt_dialect d = fc_dialects[i];
        for (size_t t = 0; t < 3; t++) {
            for (int same = 0; same < 2; same++) {
                pair *p = pair_new(d, &FC_DEFAULT, &FC_DEFAULT, false);
                uint64_t cur = t == 0 ? FC_DEFAULT.data : 100;
                raw_capsule(p, types[t], same ? cur : cur - 1);
                bool err = same ? d == WT_DRAFT_16 : d != WT_DRAFT_13;
                expect_end(p, err, H3_WT_FLOW_CONTROL_ERROR);
                if (!err) {
                    wt_flow_stats ss;
                    wt_session_flow(p->ss, &ss);
                    assert_int_equal(t == 0   ? ss.peer_max_data
                                     : t == 1 ? ss.peer_max_streams_bidi
                                              : ss.peer_max_streams_uni,
                                     cur);
                }
                pair_free(p);
            }
        }
    }
}

/* §5.6.2, §5.6.3: Maximum Streams above 2^60: -15 treats WT_MAX_STREAMS as
 * H3_DATAGRAM_ERROR, -16 closes with WT_FLOW_CONTROL_ERROR (WT_STREAMS_BLOCKED
 * too); -13/-14 say nothing (the limit is capped at 2^60). */
static void test_streams_above_2_60(void **state)
{
    (void)state;
    const uint64_t over = (1ull << 60) + 1;
    for (size_t i = 0; i < NFC; i++) {
        wt_dialect d = fc_dialects[i];
        pair *p = pair_new(d, &FC_DEFAULT, &FC_DEFAULT, false);
        raw_capsule(p, H3_CAPSULE_WT_MAX_STREAMS_UNI, over);
        if (d == WT_DRAFT_15 || d == WT_DRAFT_16) {
            expect_end(p, true, d == WT_DRAFT_15 ? H3_DATAGRAM_ERROR : H3_WT_FLOW_CONTROL_ERROR);
        } else {
            expect_end(p, false, 0);
            wt_flow_stats ss;
            wt_session_flow(p->ss, &ss);
            assert_int_equal(ss.peer_max_streams_uni, 1ull << 60);
        }
        pair_free(p);
        p = pair_new(d, &FC_DEFAULT, &FC_DEFAULT, false);
        raw_capsule(p, H3_CAPSULE_WT_STREAMS_BLOCKED_BIDI, over);
        expect_end(p, d == WT_DRAFT_16, H3_WT_FLOW_CONTROL_ERROR);
        pair_free(p);
    }
}

/* The client opens a WebTransport uni stream of session p->sid straight through h3
 * (past wt's own flow control) and writes len body bytes on it; returns its id. */
static uint64_t raw_uni_write(pair *p, const uint8_t *b, size_t len)
{
    uint64_t id;
    assert_int_equal(h3_conn_open_ext_stream(p->c.h3, false, H3_STREAM_WEBTRANSPORT, p->sid, &id),
                     H3_OK);
    assert_int_equal(h3_conn_write_raw(p->c.h3, id, b, len, false), H3_OK);
    return id;
}

/* §5.6.4: stream body bytes beyond our WT_MAX_DATA end the session with
 * WT_FLOW_CONTROL_ERROR (-13 defines no code; the same is used); the stream
 * header does not count. The peer here writes through h3 directly. */
static void test_data_over_limit(void **state)
{
    (void)state;
    static const fc_cfg small = {100, 100, 100, 16};
    for (size_t i = 0; i < NFC; i++) {
        for (int over = 0; over < 2; over++) {
            pair *p = pair_new(fc_dialects[i], &FC_DEFAULT, &small, false);
            static const uint8_t b[101] = {0};
            /* 100 bytes fit exactly; 101 do not. */
            raw_uni_write(p, b, 100 + (size_t)over);
            wp_pump(&p->c, &p->s);
            expect_end(p, over, H3_WT_FLOW_CONTROL_ERROR);
            if (!over) {
                wt_flow_stats ss;
                wt_session_flow(p->ss, &ss);
                assert_int_equal(ss.data_received, 100);
                /* More than half used: the window moved on. */
                assert_int_equal(ss.max_data, 200);
                assert_int_equal(ss.max_data_sent, 1);
            }
            pair_free(p);
        }
    }
}

/* §5.4: "For streams that were reset, implementing WT_MAX_DATA requires that
 * the QUIC stack provide the WebTransport implementation with information about
 * the final size of streams": the session is charged the final size (less the
 * stream header), not the bytes that arrived; beyond WT_MAX_DATA that is the
 * session's WT_FLOW_CONTROL_ERROR (§5.6.4). A peer's uni stream carries 40 body
 * bytes, then its reset says the final size was `cut` bytes more. */
static void test_reset_final_size(void **state)
{
    (void)state;
    static const fc_cfg small = {100, 100, 100, 16};
    static const uint64_t cuts[] = {0, 30, 60, 61};
    for (size_t i = 0; i < NFC; i++) {
        for (size_t k = 0; k < sizeof(cuts) / sizeof(cuts[0]); k++) {
            pair *p = pair_new(fc_dialects[i], &FC_DEFAULT, &small, false);
            static const uint8_t b[40] = {0};
            uint64_t id = raw_uni_write(p, b, sizeof(b));
            wp_pump(&p->c, &p->s);
            wt_flow_stats ss;
            wt_session_flow(p->ss, &ss);
            assert_int_equal(ss.data_received, 40);
            ((wp_out *)wp_out_stream(&p->c, id))->reset_final_add = cuts[k];
            assert_int_equal(h3_conn_reset_stream(p->c.h3, id, wt_error_to_http3(5)), H3_OK);
            wp_pump(&p->c, &p->s);
            bool over = 40 + cuts[k] > 100;
            expect_end(p, over, H3_WT_FLOW_CONTROL_ERROR);
            if (!over) {
                wt_session_flow(p->ss, &ss);
                assert_int_equal(ss.data_received, 40 + cuts[k]);
                /* What the reset cut off counts as consumed: past half the
                 * window, the limit moves on from the final size. */
                assert_int_equal(ss.max_data, 40 + cuts[k] > 50 ? 40 + cuts[k] + 100 : 100);
                /* The application still hears of the reset, with its code. */
                assert_true(wp_rx_for(&p->s, id)->reset);
                assert_int_equal(wp_rx_for(&p->s, id)->reset_code, 5);
            }
            pair_free(p);
        }
    }
}

/* §5.4 for a stream reset while the server still buffered it (its session's
 * CONNECT not read yet): once the session is accepted, the session is charged
 * the stream's final size (40 bytes sent, `cut` more per the reset); the
 * application never hears of the stream; past WT_MAX_DATA the session ends. */
static void test_reset_while_buffered(void **state)
{
    (void)state;
    static const fc_cfg small = {100, 100, 100, 16};
    static const uint64_t cuts[] = {30, 61};
    for (size_t i = 0; i < NFC; i++) {
        for (size_t k = 0; k < 2; k++) {
            pair *p = test_malloc(sizeof(*p));
            memset(p, 0, sizeof(*p));
            test_env_init(&p->te, 41);
            wt_config cc, sc;
            mkcfg(&cc, false, fc_dialects[i], &FC_DEFAULT);
            mkcfg(&sc, true, fc_dialects[i], &small);
            wp_init(&p->c, &p->te, false, &cc, false);
            wp_init(&p->s, &p->te, true, &sc, false);
            wp_pump(&p->c, &p->s); /* SETTINGS both ways */
            assert_int_equal(wt_endpoint_connect(p->c.wt, "h", "/d", "https://h", &p->cs), WT_OK);
            p->sid = wt_session_id(p->cs);
            wp_hold(&p->c, p->sid);
            static const uint8_t b[40] = {0};
            uint64_t id = raw_uni_write(p, b, sizeof(b));
            wp_pump(&p->c, &p->s);
            assert_int_equal(wt_endpoint_buffered_streams(p->s.wt), 1);
            ((wp_out *)wp_out_stream(&p->c, id))->reset_final_add = cuts[k];
            assert_int_equal(h3_conn_reset_stream(p->c.h3, id, wt_error_to_http3(5)), H3_OK);
            wp_pump(&p->c, &p->s);
            wp_release(&p->c, p->sid);
            wp_pump(&p->c, &p->s);
            assert_int_equal(wt_endpoint_buffered_streams(p->s.wt), 0);
            assert_int_equal(p->s.app.nrx, 0);
            p->ss = p->s.app.last_session;
            bool over = 40 + cuts[k] > 100;
            expect_end(p, over, H3_WT_FLOW_CONTROL_ERROR);
            if (!over) {
                wt_flow_stats ss;
                wt_session_flow(p->ss, &ss);
                assert_int_equal(ss.data_received, 40 + cuts[k]);
                assert_int_equal(ss.streams_received_uni, 1);
            }
            pair_free(p);
        }
    }
}

/* §5.6.2: "If an endpoint receives an incoming stream for a session that would
 * exceed the advertised Maximum Streams value, it MUST close the WebTransport
 * session with a WT_FLOW_CONTROL_ERROR error code." */
static void test_streams_over_limit(void **state)
{
    (void)state;
    static const fc_cfg two = {1u << 20, 2, 2, 16};
    for (size_t i = 0; i < NFC; i++) {
        for (int bidi = 0; bidi < 2; bidi++) {
            pair *p = pair_new(fc_dialects[i], &FC_DEFAULT, &two, false);
            for (int k = 0; k < 3; k++) {
                uint64_t id;
                assert_int_equal(h3_conn_open_ext_stream(p->c.h3, bidi,
                                                         bidi ? H3_FRAME_WEBTRANSPORT_STREAM
                                                              : H3_STREAM_WEBTRANSPORT,
                                                         p->sid, &id),
                                 H3_OK);
                assert_int_equal(h3_conn_write_raw(p->c.h3, id, (const uint8_t *)"x", 1, false),
                                 H3_OK);
                wp_pump(&p->c, &p->s);
                expect_end(p, k == 2, H3_WT_FLOW_CONTROL_ERROR);
            }
            pair_free(p);
        }
    }
}

/* §5.1 and §5: two sessions on one connection, each with its own credit: one
 * blocked session does not stop the other. */
static void test_two_sessions_own_credit(void **state)
{
    (void)state;
    static const fc_cfg small = {1000, 100, 100, 16};
    for (size_t i = 0; i < NFC; i++) {
        pair *p = pair_new(fc_dialects[i], &FC_DEFAULT, &small, false);
        wt_session *b;
        assert_int_equal(wt_endpoint_connect(p->c.wt, "h", "/d", "https://h", &b), WT_OK);
        wp_pump(&p->c, &p->s);
        assert_true(wt_session_is_ready(b));
        assert_int_equal(wt_endpoint_session_count(p->s.wt), 2);
        wt_stream *sa, *sb;
        assert_int_equal(wt_session_open_stream(p->cs, false, &sa), WT_OK);
        assert_int_equal(wt_session_open_stream(b, false, &sb), WT_OK);
        /* sb is gone once its fin is written (a local uni stream is then done). */
        uint64_t aid = wt_stream_id(sa), bid = wt_stream_id(sb);
        static uint8_t buf[1500];
        assert_int_equal(wt_stream_write(sa, buf, 1500, false), WT_OK);
        wt_flow_stats fa, fb;
        wt_session_flow(p->cs, &fa);
        wt_session_flow(b, &fb);
        assert_int_equal(fa.data_sent, 1000);
        assert_int_equal(fa.held, 500);
        assert_int_equal(fb.data_sent, 0);
        assert_int_equal(wt_stream_write(sb, buf, 1000, true), WT_OK);
        wt_session_flow(b, &fb);
        assert_int_equal(fb.data_sent, 1000);
        assert_int_equal(fb.held, 0);
        assert_int_equal(fb.data_blocked_sent, 0);
        wp_pump(&p->c, &p->s);
        assert_int_equal(wp_rx_for(&p->s, aid)->len, 1500);
        assert_int_equal(wp_rx_for(&p->s, bid)->len, 1000);
        assert_true(wp_rx_for(&p->s, bid)->fin);
        pair_free(p);
    }
}

/* -16 §3.2: capsules a client sends before the 2xx are held by the server
 * until it accepts the session: a WT_DRAIN_SESSION and a WT_MAX_STREAMS_UNI
 * sent right after the CONNECT, which reaches the server before the client's
 * SETTINGS, take effect once the session is established. */
static void test_capsules_before_2xx(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 43);
    wp_ep c, s;
    wt_config cc, sc;
    mkcfg(&cc, false, WT_DRAFT_16, &FC_DEFAULT);
    mkcfg(&sc, true, WT_DRAFT_16, &FC_DEFAULT);
    wp_init(&c, &te, false, &cc, false);
    wp_init(&s, &te, true, &sc, false);
    wp_hold(&c, 2); /* the client's control stream: its SETTINGS come late */
    wp_pump(&c, &s);
    wt_session *cs;
    assert_int_equal(wt_endpoint_connect(c.wt, "h", "/d", "https://h", &cs), WT_OK);
    uint8_t buf[32];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_capsule_put_drain(&w));
    assert_true(h3_capsule_put_wt_flow(&w, H3_CAPSULE_WT_MAX_STREAMS_UNI, 150));
    assert_int_equal(h3_conn_send_data(c.h3, wt_session_id(cs), buf, (size_t)(w.p - buf), false),
                     H3_OK);
    wp_pump(&c, &s);
    assert_int_equal(s.app.requests, 0); /* held: no SETTINGS from the client yet */
    assert_int_equal(s.app.draining, 0);
    wp_release(&c, 2);
    wp_pump(&c, &s);
    assert_true(wt_session_is_ready(cs));
    assert_int_equal(s.app.draining, 1);
    wt_flow_stats ss;
    wt_session_flow(s.app.last_session, &ss);
    assert_true(ss.enabled);
    assert_int_equal(ss.peer_max_streams_uni, 150);
    assert_int_equal(ss.max_streams_received, 1);
    wp_free(&c);
    wp_free(&s);
    test_env_check_leaks(&te);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_data_blocks_and_resumes),
        cmocka_unit_test(test_held_bound),
        cmocka_unit_test(test_streams_block_and_resume),
        cmocka_unit_test(test_limit_lowered),
        cmocka_unit_test(test_streams_above_2_60),
        cmocka_unit_test(test_data_over_limit),
        cmocka_unit_test(test_reset_final_size),
        cmocka_unit_test(test_reset_while_buffered),
        cmocka_unit_test(test_streams_over_limit),
        cmocka_unit_test(test_two_sessions_own_credit),
        cmocka_unit_test(test_capsules_before_2xx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
