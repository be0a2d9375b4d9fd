/* Tests for wt/dialect.c and the dialect choice in wt/session.c: settings per dialect, the
 * dialect chosen for each combination of client settings and token, headers, Origin policy,
 * the refusal log line, and the client's view of the server's SETTINGS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "h3/capsule.h"
#include "base/varint.h"
#include "wt/codes.h"
#include "wt/dialect.h"
#include "wt/protocols.h"
#include "tests/wt/wt_pair.h"

#define B(d) WT_DIALECT_BIT(WT_DRAFT_##d)

static void test_table(void **state)
{
    (void)state;
    /* specs/webtrans-http3-versions.md, checked against each draft. */
    assert_int_equal(wt_dialect_get(WT_DRAFT_02)->setting, 0x2b603742);
    assert_int_equal(wt_dialect_get(WT_DRAFT_07)->setting, 0xc671706a);
    assert_int_equal(wt_dialect_get(WT_DRAFT_13)->setting, 0x14e9cd29);
    assert_int_equal(wt_dialect_get(WT_DRAFT_14)->setting, 0x14e9cd29);
    assert_int_equal(wt_dialect_get(WT_DRAFT_15)->setting, 0x2c7cf000);
    assert_int_equal(wt_dialect_get(WT_DRAFT_16)->setting, 0x2c7cf000);
    assert_string_equal(wt_dialect_get(WT_DRAFT_14)->token, "webtransport");
    assert_string_equal(wt_dialect_get(WT_DRAFT_15)->token, "webtransport-h3");
    assert_int_equal(wt_dialects_for_token((const uint8_t *)"webtransport", 12),
                     B(02) | B(07) | B(13) | B(14));
    assert_int_equal(wt_dialects_for_token((const uint8_t *)"webtransport-h3", 15), B(15) | B(16));
    assert_int_equal(wt_dialects_for_token((const uint8_t *)"webtransport-h", 14), 0);
    assert_null(wt_dialect_get(WT_DIALECT_NONE));
    assert_string_equal(wt_dialect_name(WT_DRAFT_07), "draft-07");
    assert_int_equal(wt_dialect_newest(B(02) | B(13)), WT_DRAFT_13);
    assert_int_equal(wt_dialect_newest(0), WT_DIALECT_NONE);
}

/* A peer's SETTINGS -> the dialects they offer. */
static uint32_t offered(bool server, const uint64_t *kv, size_t n)
{
    h3_settings s;
    h3_settings_init(&s);
    for (size_t i = 0; i < n; i += 2)
        assert_int_equal(h3_settings_set(&s, kv[i], kv[i + 1]), 0);
    return wt_dialects_offered(&s, server);
}

static void test_offered(void **state)
{
    (void)state;
    /* Chromium's draft-02 SETTINGS. */
    uint64_t chromium[] = {0x33, 1, 0xffd277, 1, 0x2b603742, 1};
    assert_int_equal(offered(false, chromium, 6), B(02));
    /* draft-02 with only the old datagram id: still draft-02; -07 needs 0x33. */
    uint64_t old[] = {0xffd277, 1, 0x2b603742, 1, 0xc671706a, 4};
    assert_int_equal(offered(false, old, 6), B(02));
    /* Chromium with EnableWebTransportDraft07. */
    uint64_t c07[] = {0x33, 1, 0xffd277, 1, 0x2b603742, 1, 0xc671706a, 1};
    assert_int_equal(offered(false, c07, 8), B(02) | B(07));
    /* No datagram setting: nothing. */
    uint64_t nodg[] = {0x2b603742, 1, 0x2c7cf000, 1};
    assert_int_equal(offered(false, nodg, 4), 0);
    /* A server must send 0x08 for -07 on, not for draft-02 (§3.2). */
    uint64_t srv_noecp[] = {0x33, 1, 0x2b603742, 1, 0xc671706a, 8, 0x14e9cd29, 1, 0x2c7cf000, 1};
    assert_int_equal(offered(true, srv_noecp, 10), B(02));
    uint64_t srv[] = {0x8, 1, 0x33, 1, 0x2b603742, 1, 0xc671706a, 8, 0x14e9cd29, 1, 0x2c7cf000, 1};
    assert_int_equal(offered(true, srv, 12), B(02) | B(07) | B(13) | B(14) | B(15) | B(16));
    /* -16 §3.1: WT_ENABLED above 1 from a server is not -16 (it is -15's "> 0"). */
    uint64_t srv2[] = {0x8, 1, 0x33, 1, 0x2c7cf000, 2};
    assert_int_equal(offered(true, srv2, 6), B(15));
    /* Zero means off. */
    uint64_t zero[] = {0x8, 1, 0x33, 1, 0x14e9cd29, 0};
    assert_int_equal(offered(true, zero, 6), 0);
}

static void test_settings_sent_all(void **state)
{
    (void)state;
    wt_config c;
    wt_config_init(&c, true);
    h3_config h;
    h3_config_init(&h, true);
    wt_config_h3(&c, &h);
    char d[256];
    wt_settings_describe(&h.settings, true, d, sizeof(d));
    /* Every dialect at once, session flow control offered (-13..-16 §5.5):
     * WT_MAX_SESSIONS is the session limit, WT_INITIAL_* the windows. */
    assert_string_equal(d, "0x8=1, 0x33=1, 0xffd277=1, 0x2b603742=1, 0xc671706a=16, "
                           "0x14e9cd29=16, 0x2c7cf000=1, 0x2b61=1048576, 0x2b65=100, 0x2b64=100");
    /* Without flow control: WT_MAX_SESSIONS 1 keeps -13 flow control off (§5.1). */
    wt_config_init(&c, true);
    c.fc_max_data = c.fc_max_streams_bidi = c.fc_max_streams_uni = 0;
    h3_config_init(&h, true);
    wt_config_h3(&c, &h);
    wt_settings_describe(&h.settings, true, d, sizeof(d));
    assert_string_equal(d, "0x8=1, 0x33=1, 0xffd277=1, 0x2b603742=1, 0xc671706a=16, "
                           "0x14e9cd29=1, 0x2c7cf000=1");
    /* Only draft-02 and -07: no flow-control settings at all. */
    wt_config_init(&c, true);
    c.dialects = B(02) | B(07);
    h3_config_init(&h, true);
    wt_config_h3(&c, &h);
    wt_settings_describe(&h.settings, true, d, sizeof(d));
    assert_string_equal(d, "0x8=1, 0x33=1, 0xffd277=1, 0x2b603742=1, 0xc671706a=16");
    /* The test-only draft-02 server without ENABLE_CONNECT_PROTOCOL. */
    wt_config_init(&c, true);
    c.dialects = B(02);
    c.test_no_connect_protocol = true;
    h3_config_init(&h, true);
    wt_config_h3(&c, &h);
    wt_settings_describe(&h.settings, true, d, sizeof(d));
    assert_string_equal(d, "0x33=1, 0xffd277=1, 0x2b603742=1");
    /* ...which the flag cannot do to a server that speaks later dialects. */
    c.dialects = B(02) | B(07);
    h3_config_init(&h, true);
    wt_config_h3(&c, &h);
    wt_settings_describe(&h.settings, false, d, sizeof(d));
    assert_string_equal(d, "0x8, 0x33, 0xffd277, 0x2b603742, 0xc671706a");
}

/* ---- a plain h3 client with chosen SETTINGS against a Quince server of all dialects ---- */

typedef struct probe {
    int status;
    wt_dialect dialect;
    int refused;
    char why[512];
    char headers[512];
} probe;

static probe run_probe(const uint64_t *kv, size_t n, const char *token, const char *origin,
                       uint32_t server_dialects)
{
    probe p;
    memset(&p, 0, sizeof(p));
    test_env te;
    test_env_init(&te, 21);
    wp_ep c, s;
    h3_config hc;
    h3_config_init(&hc, false);
    for (size_t i = 0; i < n; i += 2)
        assert_int_equal(h3_settings_set(&hc.settings, kv[i], kv[i + 1]), 0);
    hc.ext_streams = true;
    wp_init_h3(&c, &te, false, &hc);
    wp_dialects = server_dialects;
    wp_init(&s, &te, true, NULL, false);
    wp_dialects = 0;
    wp_pump(&c, &s);
    h3_field f[8] = {
        {(const uint8_t *)":method", 7, (const uint8_t *)"CONNECT", 7},
        {(const uint8_t *)":protocol", 9, (const uint8_t *)token, strlen(token)},
        {(const uint8_t *)":scheme", 7, (const uint8_t *)"https", 5},
        {(const uint8_t *)":authority", 10, (const uint8_t *)"example.org", 11},
        {(const uint8_t *)":path", 5, (const uint8_t *)"/x", 2},
    };
    size_t nf = 5;
    if (origin != NULL)
        f[nf++] = (h3_field){(const uint8_t *)"origin", 6, (const uint8_t *)origin, strlen(origin)};
    uint64_t id;
    assert_int_equal(h3_conn_submit_request(c.h3, f, nf, false, &id), H3_OK);
    wp_pump(&c, &s);
    p.status = c.status_seen;
    if (s.app.last_session != NULL)
        p.dialect = wt_session_dialect(s.app.last_session);
    p.refused = s.app.refused;
    snprintf(p.why, sizeof(p.why), "%s", s.app.refused_why);
    snprintf(p.headers, sizeof(p.headers), "%s", c.headers_seen);
    wp_free(&c);
    wp_free(&s);
    test_env_check_leaks(&te);
    return p;
}

static void test_server_choice(void **state)
{
    (void)state;
    static const char *wt = "webtransport", *h3 = "webtransport-h3", *o = "https://example.org";
    uint64_t only02[] = {0x33, 1, 0xffd277, 1, 0x2b603742, 1};
    probe p = run_probe(only02, 6, wt, o, 0);
    assert_int_equal(p.status, 200);
    assert_int_equal(p.dialect, WT_DRAFT_02);
    assert_non_null(strstr(p.headers, "sec-webtransport-http3-draft: draft02\n"));
    uint64_t c07[] = {0x33, 1, 0xffd277, 1, 0x2b603742, 1, 0xc671706a, 1};
    p = run_probe(c07, 8, wt, o, 0);
    assert_int_equal(p.status, 200);
    assert_int_equal(p.dialect, WT_DRAFT_07);
    assert_null(strstr(p.headers, "sec-webtransport-http3-draft"));
    /* Safari: -13/-14's setting with the `webtransport` token: the newer of the pair. */
    uint64_t safari[] = {0x33, 1, 0x14e9cd29, 1};
    p = run_probe(safari, 4, wt, o, 0);
    assert_int_equal(p.dialect, WT_DRAFT_14);
    p = run_probe(safari, 4, wt, o, B(02) | B(13));
    assert_int_equal(p.dialect, WT_DRAFT_13);
    /* webtransport-go (-16): WT_ENABLED and every older setting; the token decides. */
    uint64_t go[] = {0x33, 1, 0x2b603742, 1, 0x14e9cd29, 1, 0x2c7cf000, 1};
    p = run_probe(go, 8, h3, NULL, 0);
    assert_int_equal(p.status, 200);
    assert_int_equal(p.dialect, WT_DRAFT_16);
    p = run_probe(go, 8, h3, NULL, B(02) | B(15));
    assert_int_equal(p.dialect, WT_DRAFT_15);
    p = run_probe(go, 8, wt, o, 0);
    assert_int_equal(p.dialect, WT_DRAFT_14);
    /* A server of draft-02 only and a client that offers more: draft-02. */
    p = run_probe(go, 8, wt, o, B(02));
    assert_int_equal(p.dialect, WT_DRAFT_02);
    /* No common dialect for the token: 400 and the reason. */
    uint64_t only16[] = {0x33, 1, 0x2c7cf000, 1};
    p = run_probe(only16, 4, wt, o, 0);
    assert_int_equal(p.status, 400);
    assert_int_equal(p.refused, 1);
    assert_string_equal(p.why, "the request's :protocol is not the token of a dialect both sides "
                               "offer (draft-15, draft-16)");
    /* No WebTransport setting at all. */
    uint64_t dg[] = {0x33, 1, 0xffd277, 1};
    p = run_probe(dg, 4, wt, o, 0);
    assert_int_equal(p.status, 400);
    assert_string_equal(p.why, "client sent no WebTransport setting; it offered: 0x33, 0xffd277");
    /* A dialect the server does not speak. */
    p = run_probe(safari, 4, wt, o, B(02) | B(07));
    assert_int_equal(p.status, 400);
    assert_string_equal(p.why, "client offers only dialects this server does not speak (draft-13, "
                               "draft-14)");
}

static void test_origin(void **state)
{
    (void)state;
    uint64_t only02[] = {0x33, 1, 0xffd277, 1, 0x2b603742, 1};
    uint64_t only16[] = {0x33, 1, 0x2c7cf000, 1};
    /* Same origin, default port either way. */
    probe p = run_probe(only02, 6, "webtransport", "https://EXAMPLE.org:443", 0);
    assert_int_equal(p.status, 200);
    p = run_probe(only02, 6, "webtransport", "https://example.org:8443", 0);
    assert_int_equal(p.status, 403);
    assert_string_equal(p.why, "origin not allowed: https://example.org:8443");
    p = run_probe(only02, 6, "webtransport", "http://example.org", 0);
    assert_int_equal(p.status, 403);
    /* draft-02 §3.3: Origin is mandatory; -16 §3.2: optional (non-browser clients). */
    p = run_probe(only02, 6, "webtransport", NULL, 0);
    assert_int_equal(p.status, 400);
    assert_string_equal(p.why, "no Origin header (draft-02 requires one)");
    p = run_probe(only16, 4, "webtransport-h3", NULL, 0);
    assert_int_equal(p.status, 200);
    p = run_probe(only16, 4, "webtransport-h3", "https://evil.example", 0);
    assert_int_equal(p.status, 403);
}

static const char *const allow[] = {"http://localhost:8080", "https://friend.example"};

static bool only_friend(void *user, const wt_session *s, const char *origin)
{
    int *calls = user;
    (*calls)++;
    assert_string_equal(wt_session_path(s), "/o");
    return strcmp(origin, "https://friend.example") == 0;
}

static int origin_status(const wt_config *sc, const char *origin)
{
    test_env te;
    test_env_init(&te, 22);
    wp_ep c, s;
    wp_init(&c, &te, false, NULL, false);
    wp_init(&s, &te, true, sc, false);
    wt_session *ws;
    assert_int_equal(wt_endpoint_connect(c.wt, "example.org", "/o", origin, &ws), WT_OK);
    wp_pump(&c, &s);
    int st = c.app.last_status;
    if (st == 0 && c.app.ready == 1)
        st = wt_session_status(ws);
    wp_free(&c);
    wp_free(&s);
    test_env_check_leaks(&te);
    return st;
}

static void test_origin_policy(void **state)
{
    (void)state;
    wt_config sc;
    wt_config_init(&sc, true);
    sc.max_datagram_frame = 1200;
    sc.allowed_origins = allow;
    sc.n_allowed_origins = 2;
    assert_int_equal(origin_status(&sc, "http://localhost:8080"), 200);
    assert_int_equal(origin_status(&sc, "https://friend.example"), 200);
    assert_int_equal(origin_status(&sc, "https://example.org"), 200); /* same origin */
    assert_int_equal(origin_status(&sc, "https://other.example"), 403);
    static const char *const any[] = {"*"};
    sc.allowed_origins = any;
    sc.n_allowed_origins = 1;
    assert_int_equal(origin_status(&sc, "https://other.example"), 200);
    /* A callback decides alone (not even same-origin passes without it). */
    int calls = 0;
    sc.origin_check = only_friend;
    sc.origin_check_user = &calls;
    assert_int_equal(origin_status(&sc, "https://friend.example"), 200);
    assert_int_equal(origin_status(&sc, "https://example.org"), 403);
    assert_int_equal(calls, 2);
}

/* The request a Quince client sends in each dialect, seen by a plain h3 server
 * that advertises only that dialect. */
static void test_client_request_per_dialect(void **state)
{
    (void)state;
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++) {
        wt_dialect d = wt_dialects_by_age[i];
        test_env te;
        test_env_init(&te, 23);
        wp_ep c, s;
        wp_init(&c, &te, false, NULL, false);
        h3_config hc;
        h3_config_init(&hc, true);
        wt_config wc;
        wt_config_init(&wc, true);
        wc.dialects = WT_DIALECT_BIT(d);
        wt_config_h3(&wc, &hc);
        wp_init_h3(&s, &te, true, &hc);
        wt_session *ws;
        assert_int_equal(wt_endpoint_connect(c.wt, "example.org", "/r", NULL, &ws), WT_OK);
        wp_pump(&c, &s);
        /* -13/-14 and -15/-16 share their setting: the pair is offered, and
         * the client speaks the newer. */
        uint32_t pair = d == WT_DRAFT_13 || d == WT_DRAFT_14   ? B(13) | B(14)
                        : d == WT_DRAFT_15 || d == WT_DRAFT_16 ? B(15) | B(16)
                                                               : WT_DIALECT_BIT(d);
        assert_int_equal(wt_endpoint_common_dialects(c.wt), pair);
        assert_int_equal(wt_session_dialect(ws), wt_dialect_newest(pair));
        char want[256];
        snprintf(want, sizeof(want),
                 ":method: CONNECT\n:protocol: %s\n:scheme: https\n:authority: example.org\n"
                 ":path: /r\n%s",
                 wt_dialect_get(d)->token,
                 d == WT_DRAFT_02 ? "sec-webtransport-http3-draft02: 1\n" : "");
        assert_string_equal(s.headers_seen, want);
        wp_free(&c);
        wp_free(&s);
        test_env_check_leaks(&te);
    }
}

/* A draft-02 server without ENABLE_CONNECT_PROTOCOL (the test-only mode): the
 * client sends CONNECT all the same (draft-02 §3.2), and a client limited to
 * later dialects does not (status 0, and it can say what the server sent). */
static void test_client_no_connect_protocol(void **state)
{
    (void)state;
    for (int later = 0; later < 2; later++) {
        test_env te;
        test_env_init(&te, 24);
        wt_config cc, sc;
        wt_config_init(&cc, false);
        cc.max_datagram_frame = 1200;
        if (later)
            cc.dialects = B(07) | B(13) | B(14) | B(15) | B(16);
        wt_config_init(&sc, true);
        sc.max_datagram_frame = 1200;
        sc.dialects = B(02);
        sc.test_no_connect_protocol = true;
        wp_ep c, s;
        wp_init(&c, &te, false, &cc, false);
        wp_init(&s, &te, true, &sc, false);
        wt_session *ws;
        assert_int_equal(wt_endpoint_connect(c.wt, "h", "/n", "https://h", &ws), WT_OK);
        wp_pump(&c, &s);
        char d[256];
        wt_endpoint_describe_peer_settings(c.wt, d, sizeof(d));
        assert_string_equal(d, "0x33=1, 0xffd277=1, 0x2b603742=1");
        if (!later) {
            assert_int_equal(c.app.ready, 1);
            assert_int_equal(s.app.ready, 1);
            assert_int_equal(wt_session_dialect(s.app.last_session), WT_DRAFT_02);
        } else {
            assert_int_equal(c.app.rejected, 1);
            assert_int_equal(c.app.last_status, 0);
            assert_null(wp_out_stream(&c, 0));
        }
        wp_free(&c);
        wp_free(&s);
        test_env_check_leaks(&te);
    }
}

/* RFC 9114 §4.1: a 404 whose packet also carries STOP_SENDING for the
 * CONNECT stream, processed first, is still reported as 404. */
static void test_stop_sending_then_404(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 25);
    wp_ep c, s;
    wp_init(&c, &te, false, NULL, false);
    h3_config hc;
    h3_config_init(&hc, true);
    wt_config wc;
    wt_config_init(&wc, true);
    wt_config_h3(&wc, &hc);
    wp_init_h3(&s, &te, true, &hc);
    wt_session *ws;
    assert_int_equal(wt_endpoint_connect(c.wt, "h", "/missing", "https://h", &ws), WT_OK);
    wp_pump(&c, &s);
    assert_non_null(strstr(s.headers_seen, ":path: /missing\n"));
    wp_hold(&s, 0);
    h3_field st = {(const uint8_t *)":status", 7, (const uint8_t *)"404", 3};
    assert_int_equal(h3_conn_submit_response(s.h3, 0, &st, 1, true), H3_OK);
    assert_int_equal(h3_conn_on_stop_sending(c.h3, 0, H3_NO_ERROR), H3_OK);
    assert_int_equal(c.app.rejected, 0);
    wp_release(&s, 0);
    wp_pump(&c, &s);
    assert_int_equal(c.app.rejected, 1);
    assert_int_equal(c.app.last_status, 404);
    assert_int_equal(wt_endpoint_session_count(c.wt), 0);
    wp_free(&c);
    wp_free(&s);
    test_env_check_leaks(&te);
}

/* Error codes: each dialect's range ends round-trip (draft-02 §4.3: 8 bits;
 * -07..-16 §4.3/§4.4: 32 bits, the same formula and base). */
static void test_error_codes_per_dialect(void **state)
{
    (void)state;
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++) {
        const wt_dialect_info *di = wt_dialect_get(wt_dialects_by_age[i]);
        uint32_t ends[] = {0, 1, 0x1d, 0x1e, di->max_app_error - 1, di->max_app_error};
        for (size_t k = 0; k < 6; k++) {
            uint64_t h = wt_error_to_http3(ends[k]);
            uint32_t back;
            assert_true(wt_error_from_http3(h, &back));
            assert_int_equal(back, ends[k]);
            assert_false(h3_is_grease(h));
        }
    }
    assert_int_equal(wt_error_to_http3(0xff), 0x52e4a40fa9e2ULL);       /* -02's last */
    assert_int_equal(wt_error_to_http3(0xffffffff), 0x52e5ac983162ULL); /* -07 on */
}

/* -13..-16 §4.4: a reset of a stream we opened keeps its header reliable
 * (RESET_STREAM_AT, 0x54 + session ID: 2 + 1 bytes); draft-02/-07: RESET_STREAM. */
static void test_reset_keeps_header(void **state)
{
    (void)state;
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++) {
        wt_dialect d = wt_dialects_by_age[i];
        wp_dialects = WT_DIALECT_BIT(d);
        test_env te;
        test_env_init(&te, 26);
        wp_ep c, s;
        wp_init(&c, &te, false, NULL, false);
        wp_init(&s, &te, true, NULL, false);
        wp_dialects = 0;
        wt_session *ws;
        assert_int_equal(wt_endpoint_connect(c.wt, "h", "/r", "https://h", &ws), WT_OK);
        wp_pump(&c, &s);
        assert_true(wt_session_is_ready(ws));
        wt_stream *u, *b;
        assert_int_equal(wt_session_open_stream(ws, false, &u), WT_OK);
        assert_int_equal(wt_session_open_stream(ws, true, &b), WT_OK);
        assert_int_equal(wt_stream_write(u, (const uint8_t *)"abc", 3, false), WT_OK);
        uint64_t uid = wt_stream_id(u), bid = wt_stream_id(b);
        assert_int_equal(wt_stream_reset(u, 9), WT_OK);
        assert_int_equal(wt_stream_reset(b, 10), WT_OK);
        const wp_out *ou = wp_out_stream(&c, uid), *ob = wp_out_stream(&c, bid);
        bool at = wt_dialect_get(d)->needs_reset_stream_at;
        assert_true(ou->reset && ob->reset);
        assert_int_equal(ou->reset_code, wt_error_to_http3(9));
        assert_int_equal(ou->reset_reliable, at ? 3 : 0);
        assert_int_equal(ob->reset_reliable, at ? 3 : 0);
        wp_pump(&c, &s);
        wp_rx *r = wp_rx_for(&s, uid);
        assert_true(r->reset);
        assert_int_equal(r->reset_code, 9);
        wp_free(&c);
        wp_free(&s);
        test_env_check_leaks(&te);
    }
}

/* A peer without reset_stream_at gets no -13..-16 session, and the log says why. */
static void test_peer_without_reset_stream_at(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 27);
    wp_ep c, s;
    wp_dialects = B(16);
    wp_init(&c, &te, false, NULL, false);
    wp_init(&s, &te, true, NULL, false);
    wp_dialects = 0;
    wt_endpoint_set_peer_reset_stream_at(s.wt, false);
    wt_session *ws;
    assert_int_equal(wt_endpoint_connect(c.wt, "h", "/r", "https://h", &ws), WT_OK);
    wp_pump(&c, &s);
    assert_int_equal(c.app.last_status, 400);
    assert_string_equal(s.app.refused_why, "client's transport parameters lack reset_stream_at, "
                                           "which draft-16 require(s)");
    wp_free(&c);
    wp_free(&s);
    test_env_check_leaks(&te);
}

static wt_session *dialect_pair_fc(wp_ep *c, wp_ep *s, test_env *te, wt_dialect d, bool fc)
{
    wt_config cc, sc;
    wt_config_init(&cc, false);
    wt_config_init(&sc, true);
    cc.max_datagram_frame = sc.max_datagram_frame = 1200;
    cc.dialects = sc.dialects = WT_DIALECT_BIT(d);
    if (!fc)
        cc.fc_max_data = cc.fc_max_streams_bidi = cc.fc_max_streams_uni = sc.fc_max_data =
            sc.fc_max_streams_bidi = sc.fc_max_streams_uni = 0;
    wp_init(c, te, false, &cc, false);
    wp_init(s, te, true, &sc, false);
    wt_session *ws;
    assert_int_equal(wt_endpoint_connect(c->wt, "h", "/d", "https://h", &ws), WT_OK);
    wp_pump(c, s);
    assert_true(wt_session_is_ready(ws));
    return ws;
}

static wt_session *dialect_pair(wp_ep *c, wp_ep *s, test_env *te, wt_dialect d)
{
    return dialect_pair_fc(c, s, te, d, true);
}

/* -07 §4.6, -16 §4.7: WT_DRAIN_SESSION reaches the peer's application, and the
 * session goes on; draft-02 has no such capsule. */
static void test_drain(void **state)
{
    (void)state;
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++) {
        wt_dialect d = wt_dialects_by_age[i];
        test_env te;
        test_env_init(&te, 28);
        wp_ep c, s;
        wt_session *ws = dialect_pair(&c, &s, &te, d);
        if (d == WT_DRAFT_02) {
            assert_int_equal(wt_session_drain(ws), WT_ERR_STATE);
        } else {
            assert_int_equal(wt_session_drain(ws), WT_OK);
            wp_pump(&c, &s);
            assert_int_equal(s.app.draining, 1);
            assert_int_equal(wt_session_drain(s.app.last_session), WT_OK);
            wp_pump(&c, &s);
            assert_int_equal(c.app.draining, 1);
            /* Still usable. */
            assert_int_equal(wt_session_send_datagram(ws, (const uint8_t *)"x", 1), WT_OK);
            wp_pump(&c, &s);
            assert_int_equal(s.app.ndgram, 1);
            assert_true(wt_session_is_ready(ws));
        }
        wp_free(&c);
        wp_free(&s);
        test_env_check_leaks(&te);
    }
}

static void send_capsule(wp_ep *c, uint64_t type, uint64_t value)
{
    uint8_t buf[32];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    if (type == H3_CAPSULE_WT_MAX_STREAM_DATA) {
        /* As webtrans-http2 lays it out: stream ID, then the value. */
        assert_true(h3_capsule_put_header(&w, type, 1 + quince_varint_len(value)) &&
                    quince_put_varint(&w, 2) && quince_put_varint(&w, value));
    } else {
        assert_true(h3_capsule_put_wt_flow(&w, type, value));
    }
    assert_int_equal(h3_conn_send_data(c->h3, 0, buf, (size_t)(w.p - buf), false), H3_OK);
}

/* -13..-16 §5.1: with flow control off (neither side offers it here), the flow-control capsules are
 * ignored (earlier dialects: unknown types, skipped); §5.4: WT_MAX_STREAM_DATA is a session error
 * in -13..-16 (the session ends, the CONNECT stream is reset with H3_MESSAGE_ERROR) and unknown
 * before. */
static void test_flow_capsules(void **state)
{
    (void)state;
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++) {
        wt_dialect d = wt_dialects_by_age[i];
        test_env te;
        test_env_init(&te, 29);
        wp_ep c, s;
        wt_session *ws = dialect_pair_fc(&c, &s, &te, d, false);
        wt_flow_stats fs;
        wt_session_flow(ws, &fs);
        assert_false(fs.enabled);
        send_capsule(&c, H3_CAPSULE_WT_MAX_DATA, 1);
        send_capsule(&c, H3_CAPSULE_WT_MAX_STREAMS_BIDI, 0);
        send_capsule(&c, H3_CAPSULE_WT_STREAMS_BLOCKED_UNI, 5);
        send_capsule(&c, H3_CAPSULE_WT_DATA_BLOCKED, 9);
        wp_pump(&c, &s);
        assert_true(wt_session_is_ready(s.app.last_session));
        assert_int_equal(s.app.closed, 0);
        send_capsule(&c, H3_CAPSULE_WT_MAX_STREAM_DATA, 100);
        wp_pump(&c, &s);
        uint64_t code = 0;
        if (wt_dialect_get(d)->has_flow_control) {
            assert_int_equal(s.app.closed, 1);
            assert_true(wp_sent_reset(&s, 0, &code));
            assert_int_equal(code, H3_MESSAGE_ERROR);
        } else {
            assert_int_equal(s.app.closed, 0);
            assert_false(wp_sent_reset(&s, 0, &code));
        }
        (void)ws;
        wp_free(&c);
        wp_free(&s);
        test_env_check_leaks(&te);
    }
}

/* RFC 8941 as -13..-16 §3.3 uses it: a List of Strings, an Item, parameters ignored. */
static void test_protocol_fields(void **state)
{
    (void)state;
    char buf[128];
    const char *l1 = "\"moq-00\", \"echo\";q=1 ,\"a\\\"b\"";
    assert_int_equal(wt_protocols_parse_list((const uint8_t *)l1, strlen(l1), buf, sizeof(buf)), 3);
    assert_string_equal(buf, "moq-00");
    assert_string_equal(buf + 7, "echo");
    assert_string_equal(buf + 12, "a\"b");
    static const char *bad[] = {"\"a\", b", "\"a\",", "a", "\"a\" \"b\"", "\"\x01\"", "\"a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(
            wt_protocols_parse_list((const uint8_t *)bad[i], strlen(bad[i]), buf, sizeof(buf)),
            WT_PROTOCOLS_INVALID);
    assert_int_equal(wt_protocols_parse_list((const uint8_t *)"", 0, buf, sizeof(buf)), 0);
    assert_true(wt_protocols_parse_item((const uint8_t *)" \"x\";a=1", 9, buf, sizeof(buf)));
    assert_string_equal(buf, "x");
    assert_false(wt_protocols_parse_item((const uint8_t *)"x", 1, buf, sizeof(buf)));
    assert_false(wt_protocols_parse_item((const uint8_t *)"\"x\", \"y\"", 8, buf, sizeof(buf)));
    assert_int_equal(wt_protocols_put_string(buf, sizeof(buf), "a\"b\\c"), 9);
    assert_string_equal(buf, "\"a\\\"b\\\\c\"");
    assert_int_equal(wt_protocols_put_string(buf, sizeof(buf), "\x7f"), 0);
}

static const char *const offered_protocols[] = {"moq-00", "echo-1"};

/* Per dialect: the client offers two protocols, the server picks the second;
 * only -13..-16 carry the fields. */
static void test_protocol_negotiation(void **state)
{
    (void)state;
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++) {
        wt_dialect d = wt_dialects_by_age[i];
        bool neg = wt_dialect_get(d)->has_protocol_negotiation;
        test_env te;
        test_env_init(&te, 30);
        wt_config cc;
        wt_config_init(&cc, false);
        cc.max_datagram_frame = 1200;
        cc.dialects = WT_DIALECT_BIT(d);
        cc.protocols = offered_protocols;
        cc.n_protocols = 2;
        wp_ep c, s;
        wp_init(&c, &te, false, &cc, false);
        wp_dialects = WT_DIALECT_BIT(d);
        wp_init(&s, &te, true, NULL, false);
        wp_dialects = 0;
        s.app.select_protocol = "echo-1";
        wt_session *ws;
        assert_int_equal(wt_endpoint_connect(c.wt, "h", "/p", "https://h", &ws), WT_OK);
        wp_pump(&c, &s);
        assert_true(wt_session_is_ready(ws));
        assert_int_equal(s.app.protocols_seen, neg ? 2 : 0);
        assert_int_equal(s.app.select_rc, neg ? WT_OK : WT_ERR_ARG);
        if (neg) {
            assert_string_equal(wt_session_protocol(ws), "echo-1");
            assert_string_equal(wt_session_protocol(s.app.last_session), "echo-1");
        } else {
            assert_null(wt_session_protocol(ws));
        }
        wp_free(&c);
        wp_free(&s);
        test_env_check_leaks(&te);
    }
}

/* A plain h3 server of draft-16 that answers 200 with the given WT-Protocol
 * (NULL: none): the client's verdict. */
static void alpn_case(const char *wt_protocol, bool required, bool want_ready)
{
    test_env te;
    test_env_init(&te, 31);
    wt_config cc;
    wt_config_init(&cc, false);
    cc.max_datagram_frame = 1200;
    cc.protocols = offered_protocols;
    cc.n_protocols = 2;
    cc.protocol_required = required;
    wp_ep c, s;
    wp_init(&c, &te, false, &cc, false);
    h3_config hc;
    h3_config_init(&hc, true);
    wt_config wc;
    wt_config_init(&wc, true);
    wc.dialects = B(16);
    wt_config_h3(&wc, &hc);
    wp_init_h3(&s, &te, true, &hc);
    wt_session *ws;
    assert_int_equal(wt_endpoint_connect(c.wt, "h", "/a", NULL, &ws), WT_OK);
    wp_pump(&c, &s);
    assert_non_null(strstr(s.headers_seen, "wt-available-protocols: \"moq-00\", \"echo-1\"\n"));
    h3_field f[2] = {{(const uint8_t *)":status", 7, (const uint8_t *)"200", 3}};
    size_t n = 1;
    if (wt_protocol != NULL)
        f[n++] = (h3_field){(const uint8_t *)"wt-protocol", 11, (const uint8_t *)wt_protocol,
                            strlen(wt_protocol)};
    assert_int_equal(h3_conn_submit_response(s.h3, 0, f, n, false), H3_OK);
    wp_pump(&c, &s);
    assert_int_equal(c.app.ready, want_ready ? 1 : 0);
    uint64_t code = 0;
    if (!want_ready) {
        assert_int_equal(c.app.rejected, 1);
        assert_int_equal(c.app.last_status, 200);
        assert_true(wp_sent_reset(&c, 0, &code));
        assert_int_equal(code, H3_WT_ALPN_ERROR);
    }
    wp_free(&c);
    wp_free(&s);
    test_env_check_leaks(&te);
}

/* -16 §3.3: a WT-Protocol not offered is WT_ALPN_ERROR; a missing or malformed
 * one only when the client requires one. */
static void test_protocol_alpn_error(void **state)
{
    (void)state;
    alpn_case("\"echo-1\"", false, true);
    alpn_case("\"other\"", false, false);
    alpn_case(NULL, false, true);
    alpn_case(NULL, true, false);
    alpn_case("echo-1", false, true); /* not a String: ignored */
    alpn_case("echo-1", true, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_offered),
        cmocka_unit_test(test_settings_sent_all),
        cmocka_unit_test(test_server_choice),
        cmocka_unit_test(test_origin),
        cmocka_unit_test(test_origin_policy),
        cmocka_unit_test(test_client_request_per_dialect),
        cmocka_unit_test(test_client_no_connect_protocol),
        cmocka_unit_test(test_stop_sending_then_404),
        cmocka_unit_test(test_error_codes_per_dialect),
        cmocka_unit_test(test_reset_keeps_header),
        cmocka_unit_test(test_peer_without_reset_stream_at),
        cmocka_unit_test(test_drain),
        cmocka_unit_test(test_flow_capsules),
        cmocka_unit_test(test_protocol_fields),
        cmocka_unit_test(test_protocol_negotiation),
        cmocka_unit_test(test_protocol_alpn_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
