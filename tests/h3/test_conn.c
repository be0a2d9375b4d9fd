/* Tests for h3/conn.c and h3/conn_recv.c: a client and a server h3_conn wired in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "h3/capsule.h"
#include "h3/h3.h"
#include "tests/h3/conn_harness.h"

static hx_ep C, S;
static test_env TE;

static const size_t chunks[] = {0, 1, 3, 7, 64};

static void setup_pair(const h3_config *ccfg, const h3_config *scfg)
{
    test_env_init(&TE, 42);
    hx_init(&C, &TE, false, ccfg);
    hx_init(&S, &TE, true, scfg);
}

static void teardown_pair(void)
{
    assert_false(C.closed);
    assert_false(S.closed);
    hx_free(&C);
    hx_free(&S);
    test_env_check_leaks(&TE);
}

static const char *const get_req[] = {":method",    "GET",         ":scheme", "https",
                                      ":authority", "example.com", ":path",   "/index.html",
                                      "user-agent", "quince-test", NULL};

static uint64_t submit(hx_ep *c, const char *const *kv, bool end)
{
    h3_field f[32];
    size_t n = hx_fields(f, 32, kv);
    uint64_t id = UINT64_MAX;
    if (c->closed || S.closed)
        fprintf(stderr, "closed: client %#llx server %#llx\n", (unsigned long long)c->close_code,
                (unsigned long long)S.close_code);
    assert_int_equal(h3_conn_submit_request(c->conn, f, n, end, &id), H3_OK);
    return id;
}

/* With H3_RECORD_CORPUS=dir, write everything the client sent so far (stream bytes in
 * 200-byte pieces, then datagrams) as a seed for fuzz/fuzz_h3_server.c, in its format:
 * kind, stream id, flags (FIN), 16-bit length, bytes. */
static void record_flight(const char *name)
{
    const char *dir = getenv("H3_RECORD_CORPUS");
    if (dir == NULL)
        return;
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    for (size_t i = 0; i < C.nout; i++) {
        hx_out *o = &C.out[i];
        size_t off = 0;
        do {
            size_t n = o->len - off < 200 ? o->len - off : 200;
            uint8_t h[5] = {0, (uint8_t)o->id, (uint8_t)(o->fin && off + n == o->len),
                            (uint8_t)(n >> 8), (uint8_t)n};
            fwrite(h, 1, 5, fp);
            fwrite(o->buf + off, 1, n, fp);
            off += n;
        } while (off < o->len);
    }
    for (size_t i = 0; i < C.ndgrams; i++) {
        uint8_t h[5] = {3, 0, 0, (uint8_t)(C.dgram_lens[i] >> 8), (uint8_t)C.dgram_lens[i]};
        fwrite(h, 1, 5, fp);
        fwrite(C.dgrams[i], 1, C.dgram_lens[i], fp);
    }
    fclose(fp);
}

/* Settings exchanged, GREASE ignored, and a GET answered with a body, in every chunking. */
static void test_get(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        setup_pair(NULL, NULL);
        S.auto_respond = true;
        S.response_body = "hello, world";
        hx_pump(&C, &S, chunks[k]);
        assert_true(C.settings_received);
        assert_true(S.settings_received);
        assert_non_null(h3_conn_peer_settings(C.conn));
        uint64_t id = submit(&C, get_req, true);
        assert_int_equal(id, 0);
        hx_pump(&C, &S, chunks[k]);
        hx_msg *req = hx_msg_for(&S, 0);
        assert_string_equal(req->headers, ":method: GET\n:scheme: https\n:authority: "
                                          "example.com\n:path: /index.html\nuser-agent: "
                                          "quince-test\n");
        assert_true(req->ended);
        hx_msg *resp = hx_msg_for(&C, 0);
        assert_string_equal(resp->headers,
                            ":status: 200\ncontent-type: text/plain\ncontent-length: 12\n");
        assert_int_equal(resp->body_len, 12);
        assert_memory_equal(resp->body, "hello, world", 12);
        assert_true(resp->ended);
        assert_int_equal(h3_conn_stream_status(C.conn, 0), 0); /* released */
        /* Only the critical streams remain on both sides. */
        assert_int_equal(h3_conn_stream_count(C.conn), 6);
        assert_int_equal(h3_conn_stream_count(S.conn), 6);
        /* The GREASE stream was refused with STOP_SENDING. */
        assert_true(hx_has_stop(&S, 14, H3_STREAM_CREATION_ERROR));
        teardown_pair();
    }
}

/* POST with a body in several DATA frames and trailers, both ways. */
static void test_post_trailers(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        setup_pair(NULL, NULL);
        hx_pump(&C, &S, chunks[k]);
        const char *const req[] = {
            ":method", "POST",           ":scheme", "https", ":authority", "a.example", ":path",
            "/upload", "content-length", "10",      "te",    "trailers",   NULL};
        uint64_t id = submit(&C, req, false);
        assert_int_equal(h3_conn_send_data(C.conn, id, (const uint8_t *)"01234", 5, false), H3_OK);
        assert_int_equal(h3_conn_send_data(C.conn, id, (const uint8_t *)"56789", 5, false), H3_OK);
        const char *const tr[] = {"x-checksum", "abc", NULL};
        h3_field f[4];
        size_t n = hx_fields(f, 4, tr);
        assert_int_equal(h3_conn_send_trailers(C.conn, id, f, n), H3_OK);
        hx_pump(&C, &S, chunks[k]);
        hx_msg *m = hx_msg_for(&S, id);
        assert_true(m->ended);
        assert_int_equal(m->body_len, 10);
        assert_memory_equal(m->body, "0123456789", 10);
        assert_string_equal(m->trailers, "x-checksum: abc\n");
        /* Response with trailers too, plus an interim 103 first. */
        const char *const early[] = {":status", "103", "link", "</s.css>; rel=preload", NULL};
        n = hx_fields(f, 4, early);
        assert_int_equal(h3_conn_submit_response(S.conn, id, f, n, false), H3_OK);
        const char *const ok[] = {":status", "201", NULL};
        n = hx_fields(f, 4, ok);
        assert_int_equal(h3_conn_submit_response(S.conn, id, f, n, false), H3_OK);
        assert_int_equal(h3_conn_send_data(S.conn, id, (const uint8_t *)"done", 4, false), H3_OK);
        const char *const tr2[] = {"x-status", "fine", NULL};
        n = hx_fields(f, 4, tr2);
        assert_int_equal(h3_conn_send_trailers(S.conn, id, f, n), H3_OK);
        hx_pump(&C, &S, chunks[k]);
        hx_msg *r = hx_msg_for(&C, id);
        assert_string_equal(r->headers,
                            ":status: 103\nlink: </s.css>; rel=preload\n--\n:status: 201\n");
        assert_int_equal(r->sections, 2);
        assert_int_equal(r->body_len, 4);
        assert_string_equal(r->trailers, "x-status: fine\n");
        assert_true(r->ended);
        teardown_pair();
    }
}

/* 50 concurrent requests, answered out of order, with a small write window. */
static void test_concurrent(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    hx_pump(&C, &S, 0);
    uint64_t ids[50];
    for (int i = 0; i < 50; i++) {
        char path[32];
        snprintf(path, sizeof(path), "/item/%d", i);
        const char *const req[] = {":method",   "GET",   ":scheme", "https", ":authority",
                                   "a.example", ":path", path,      NULL};
        ids[i] = submit(&C, req, true);
        assert_int_equal(ids[i], (uint64_t)i * 4);
    }
    hx_set_write_limit(&S, 5);
    hx_pump(&C, &S, 13);
    for (int i = 49; i >= 0; i--) {
        hx_msg *m = hx_msg_for(&S, ids[i]);
        assert_true(m->ended);
        char want[64];
        snprintf(want, sizeof(want), ":path: /item/%d\n", i);
        assert_non_null(strstr(m->headers, want));
        char body[32];
        int bl = snprintf(body, sizeof(body), "body-%d", i);
        const char *const ok[] = {":status", "200", NULL};
        h3_field f[2];
        size_t n = hx_fields(f, 2, ok);
        assert_int_equal(h3_conn_submit_response(S.conn, ids[i], f, n, false), H3_OK);
        assert_int_equal(h3_conn_send_data(S.conn, ids[i], (uint8_t *)body, (size_t)bl, true),
                         H3_OK);
    }
    hx_pump(&C, &S, 13);
    for (int i = 0; i < 50; i++) {
        hx_msg *m = hx_msg_for(&C, ids[i]);
        char body[32];
        int bl = snprintf(body, sizeof(body), "body-%d", i);
        assert_true(m->ended);
        assert_int_equal(m->body_len, (size_t)bl);
        assert_memory_equal(m->body, body, (size_t)bl);
    }
    assert_int_equal(h3_conn_stream_count(C.conn), 6);
    assert_int_equal(h3_conn_stream_count(S.conn), 6);
    teardown_pair();
}

/* The dynamic table is used both ways: repeated fields get inserted and referenced. */
static void test_dynamic_table(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        setup_pair(NULL, NULL);
        S.auto_respond = true;
        S.response_body = "x";
        hx_pump(&C, &S, chunks[k]);
        const char *const req[] = {
            ":method",     "GET",   ":scheme", "https",          ":authority",
            "dyn.example", ":path", "/",       "x-custom-token", "abcdefghijklmnopqrstuvwxyz",
            NULL};
        for (int i = 0; i < 4; i++) {
            uint64_t id = submit(&C, req, true);
            /* Deliver only the request stream first for odd requests: the server may
             * block on inserts still in flight on the encoder stream. */
            hx_pump(&C, &S, chunks[k]);
            hx_msg *m = hx_msg_for(&C, id);
            assert_true(m->ended);
            assert_non_null(strstr(hx_msg_for(&S, id)->headers, "x-custom-token: abcdef"));
        }
        assert_true(h3_conn_qpack_inserts_sent(C.conn) > 0);
        if (k == 0)
            record_flight("dynamic_table_flight");
        assert_int_equal(h3_conn_qpack_inserts_received(S.conn),
                         h3_conn_qpack_inserts_sent(C.conn));
        assert_true(h3_conn_qpack_inserts_sent(S.conn) > 0);
        assert_int_equal(h3_conn_qpack_inserts_received(C.conn),
                         h3_conn_qpack_inserts_sent(S.conn));
        teardown_pair();
    }
}

/* A header section that waits for its inserts is decoded when they arrive (RFC 9204 §2.1.2). */
static void test_blocked_stream(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    hx_pump(&C, &S, 0);
    const char *const req[] = {":method",   "GET",   ":scheme", "https",   ":authority",
                               "b.example", ":path", "/",       "x-thing", "value-value-value",
                               NULL};
    submit(&C, req, true);
    submit(&C, req, true); /* second sighting: inserted */
    uint64_t id = submit(&C, req, true);
    /* Deliver the request streams before the client's encoder stream (id 6). */
    hx_out *enc = NULL;
    for (size_t i = 0; i < C.nout; i++)
        if (C.out[i].id == 6)
            enc = &C.out[i];
    assert_non_null(enc);
    size_t enc_len = enc->len;
    assert_true(enc->delivered < enc_len);
    for (size_t i = 0; i < C.nout; i++) {
        hx_out *o = &C.out[i];
        if (o->id % 4 == 0 && o->delivered < o->len) {
            h3_conn_on_stream_data(S.conn, o->id, o->buf, o->len, o->fin);
            o->delivered = o->len;
            o->fin_delivered = o->fin;
        }
    }
    hx_msg *m = hx_msg_for(&S, id);
    assert_false(m->ended);
    assert_int_equal(m->sections, 0);
    hx_pump(&C, &S, 0);
    assert_true(m->ended);
    assert_non_null(strstr(m->headers, "x-thing: value-value-value"));
    teardown_pair();
}

/* Extended CONNECT (RFC 9220) with :protocol, capsules as raw DATA, datagrams both ways. */
static void test_extended_connect_datagrams(void **state)
{
    (void)state;
    h3_config cc, sc;
    h3_config_init(&cc, false);
    h3_config_init(&sc, true);
    assert_int_equal(h3_settings_set(&sc.settings, H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1), 0);
    assert_int_equal(h3_settings_set(&sc.settings, H3_SETTING_H3_DATAGRAM, 1), 0);
    assert_int_equal(h3_settings_set(&cc.settings, H3_SETTING_H3_DATAGRAM_DRAFT04, 1), 0);
    setup_pair(&cc, &sc);
    const char *const req[] = {":method", "CONNECT", ":protocol",  "webtransport",
                               ":scheme", "https",   ":authority", "wt.example",
                               ":path",   "/wt",     NULL};
    h3_field f[8];
    size_t n = hx_fields(f, 8, req);
    uint64_t id;
    /* Before the server's SETTINGS, :protocol is refused locally. */
    assert_int_equal(h3_conn_submit_request(C.conn, f, n, false, &id), H3_ERR_ARG);
    assert_false(h3_conn_datagrams_enabled(C.conn));
    hx_pump(&C, &S, 0);
    assert_true(h3_conn_datagrams_enabled(C.conn));
    assert_true(h3_conn_datagrams_enabled(S.conn));
    id = submit(&C, req, false);
    hx_pump(&C, &S, 2);
    hx_msg *m = hx_msg_for(&S, id);
    assert_int_equal(m->sections, 1);
    assert_false(m->reset);
    const char *const ok[] = {":status", "200", NULL};
    n = hx_fields(f, 8, ok);
    assert_int_equal(h3_conn_submit_response(S.conn, id, f, n, false), H3_OK);
    /* A capsule in DATA reaches the server raw. */
    uint8_t cap[64];
    quince_writer w = quince_writer_init(cap, sizeof(cap));
    assert_true(h3_capsule_put_datagram(&w, (const uint8_t *)"cap", 3));
    size_t cap_len = (size_t)(w.p - cap);
    assert_int_equal(h3_conn_send_data(C.conn, id, cap, cap_len, false), H3_OK);
    assert_int_equal(h3_conn_send_datagram(C.conn, id, (const uint8_t *)"ping", 4), H3_OK);
    assert_int_equal(h3_conn_send_datagram(C.conn, 400, (const uint8_t *)"x", 1), H3_ERR_NO_STREAM);
    record_flight("connect_datagram_flight");
    hx_pump(&C, &S, 0);
    assert_int_equal(m->body_len, cap_len);
    assert_memory_equal(m->body, cap, cap_len);
    assert_int_equal(m->ndgrams, 1);
    assert_memory_equal(m->dgram, "ping", 4);
    assert_int_equal(h3_conn_send_datagram(S.conn, id, (const uint8_t *)"pong!", 5), H3_OK);
    /* The quarter stream ID prefix: stream 0 -> 0x00. */
    assert_int_equal(S.dgram_lens[0], 6);
    assert_int_equal(S.dgrams[0][0], 0);
    hx_pump(&C, &S, 0);
    hx_msg *r = hx_msg_for(&C, id);
    assert_string_equal(r->headers, ":status: 200\n");
    assert_int_equal(r->ndgrams, 1);
    assert_memory_equal(r->dgram, "pong!", 5);
    /* A datagram for a stream that does not exist is dropped silently. */
    const uint8_t unknown[] = {0x05, 'z'};
    assert_int_equal(h3_conn_on_datagram(S.conn, unknown, sizeof(unknown)), H3_OK);
    assert_false(S.closed);
    /* Close the session: FIN both ways. */
    assert_int_equal(h3_conn_send_data(C.conn, id, NULL, 0, true), H3_OK);
    assert_int_equal(h3_conn_send_data(S.conn, id, NULL, 0, true), H3_OK);
    hx_pump(&C, &S, 0);
    assert_true(m->ended);
    assert_true(r->ended);
    teardown_pair();
}

/* Datagrams are not sent unless both sides enabled them. */
static void test_datagrams_not_negotiated(void **state)
{
    (void)state;
    h3_config sc;
    h3_config_init(&sc, true);
    assert_int_equal(h3_settings_set(&sc.settings, H3_SETTING_H3_DATAGRAM, 1), 0);
    setup_pair(NULL, &sc);
    hx_pump(&C, &S, 0);
    uint64_t id = submit(&C, get_req, false);
    hx_pump(&C, &S, 0);
    assert_false(h3_conn_datagrams_enabled(C.conn));
    assert_int_equal(h3_conn_send_datagram(C.conn, id, (const uint8_t *)"a", 1), H3_ERR_DATAGRAM);
    assert_int_equal(h3_conn_send_datagram(S.conn, id, (const uint8_t *)"a", 1), H3_ERR_DATAGRAM);
    assert_int_equal(h3_conn_reset_stream(C.conn, id, H3_REQUEST_CANCELLED), H3_OK);
    hx_pump(&C, &S, 0);
    assert_true(hx_msg_for(&S, id)->reset);
    assert_int_equal(hx_msg_for(&S, id)->reset_code, H3_REQUEST_CANCELLED);
    assert_int_equal(h3_conn_stream_count(S.conn), 6);
    assert_int_equal(h3_conn_stream_count(C.conn), 6);
    teardown_pair();
}

/* GOAWAY: the server names the first unprocessed stream; the client stops new requests
 * and learns which ones were not processed. */
static void test_goaway(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    S.auto_respond = true;
    hx_pump(&C, &S, 0);
    uint64_t a = submit(&C, get_req, true);
    uint64_t b = submit(&C, get_req, true);
    hx_pump(&C, &S, 0);
    assert_true(hx_msg_for(&C, b)->ended);
    assert_int_equal(h3_conn_shutdown(S.conn), H3_OK);
    uint64_t late = submit(&C, get_req, true); /* crosses the GOAWAY */
    hx_pump(&C, &S, 0);
    assert_int_equal(C.goaways, 1);
    assert_int_equal(C.goaway, 8);
    assert_int_equal(h3_conn_goaway_received(C.conn), 8);
    assert_int_equal(late, 8);
    /* The server refused the late request, the client saw it as not processed. */
    assert_true(hx_has_reset(&S, late, H3_REQUEST_REJECTED));
    assert_true(hx_msg_for(&C, late)->reset);
    assert_false(hx_msg_for(&C, late)->ended);
    assert_true(hx_msg_for(&C, a)->ended);
    uint64_t id;
    h3_field f[8];
    size_t n = hx_fields(f, 8, get_req);
    assert_int_equal(h3_conn_submit_request(C.conn, f, n, true, &id), H3_ERR_GOAWAY);
    /* A second GOAWAY with the same ID is allowed. */
    assert_int_equal(h3_conn_shutdown(S.conn), H3_OK);
    hx_pump(&C, &S, 0);
    assert_int_equal(C.goaways, 2);
    assert_false(C.closed);
    teardown_pair();
}

/* Static-only QPACK on request: no inserts, still interoperable. */
static void test_static_only(void **state)
{
    (void)state;
    h3_config cc;
    h3_config_init(&cc, false);
    cc.qpack_static_only = true;
    setup_pair(&cc, NULL);
    S.auto_respond = true;
    hx_pump(&C, &S, 0);
    for (int i = 0; i < 3; i++) {
        uint64_t id = submit(&C, get_req, true);
        hx_pump(&C, &S, 0);
        assert_true(hx_msg_for(&C, id)->ended);
    }
    assert_int_equal(h3_conn_qpack_inserts_sent(C.conn), 0);
    assert_int_equal(h3_conn_qpack_inserts_received(S.conn), 0);
    teardown_pair();
}

/* Extension streams: 0x41 bidi and 0x54 uni with a session ID reach the hook. */
static void test_ext_streams(void **state)
{
    (void)state;
    h3_config cc, sc;
    h3_config_init(&cc, false);
    h3_config_init(&sc, true);
    cc.ext_streams = sc.ext_streams = true;
    /* Extension settings travel and are readable by the peer's extension. */
    assert_int_equal(h3_settings_set(&cc.settings, H3_SETTING_ENABLE_WEBTRANSPORT, 1), 0);
    assert_int_equal(h3_settings_set(&cc.settings, 0x1234, 7), 0);
    setup_pair(&cc, &sc);
    hx_pump(&C, &S, 0);
    uint64_t v = 0;
    assert_true(h3_settings_get(h3_conn_peer_settings(S.conn), 0x1234, &v));
    assert_int_equal(v, 7);
    assert_true(h3_conn_peer_settings(S.conn)->enable_webtransport);
    assert_false(h3_conn_peer_settings(C.conn)->enable_webtransport);
    uint64_t id;
    assert_int_equal(h3_conn_open_ext_stream(C.conn, false, H3_STREAM_WEBTRANSPORT, 0, &id), H3_OK);
    /* Our uni stream stays usable across writes until its FIN. */
    assert_int_equal(h3_conn_write_raw(C.conn, id, (const uint8_t *)"u", 1, false), H3_OK);
    assert_int_equal(h3_conn_write_raw(C.conn, id, (const uint8_t *)"ni", 2, true), H3_OK);
    hx_pump(&C, &S, 1);
    assert_int_equal(S.ext_type, H3_STREAM_WEBTRANSPORT);
    assert_int_equal(S.ext_session, 0);
    assert_int_equal(S.ext_len, 3);
    assert_memory_equal(S.ext_data, "uni", 3);
    assert_true(S.ext_fin);
    S.ext_len = 0;
    /* Server-initiated bidi 0x41 stream to the client. */
    assert_int_equal(h3_conn_open_ext_stream(S.conn, true, H3_FRAME_WEBTRANSPORT_STREAM, 0, &id),
                     H3_OK);
    assert_int_equal(id, 1);
    assert_int_equal(h3_conn_write_raw(S.conn, id, (const uint8_t *)"bidi", 4, false), H3_OK);
    hx_pump(&C, &S, 1);
    assert_int_equal(C.ext_type, H3_FRAME_WEBTRANSPORT_STREAM);
    assert_int_equal(C.ext_session, 0);
    assert_int_equal(C.ext_len, 4);
    assert_memory_equal(C.ext_data, "bidi", 4);
    /* Client-initiated bidi 0x41 stream: found by the server's request-stream reader. */
    C.ext_len = S.ext_len = 0;
    assert_int_equal(h3_conn_open_ext_stream(C.conn, true, H3_FRAME_WEBTRANSPORT_STREAM, 4, &id),
                     H3_OK);
    assert_int_equal(id, 0);
    assert_int_equal(h3_conn_write_raw(C.conn, id, (const uint8_t *)"req", 3, false), H3_OK);
    hx_pump(&C, &S, 1);
    assert_int_equal(S.ext_type, H3_FRAME_WEBTRANSPORT_STREAM);
    assert_int_equal(S.ext_session, 4);
    assert_int_equal(S.ext_len, 3);
    assert_memory_equal(S.ext_data, "req", 3);
    assert_int_equal(h3_conn_write_raw(S.conn, id, (const uint8_t *)"resp", 4, true), H3_OK);
    hx_pump(&C, &S, 0);
    assert_int_equal(C.ext_len, 4);
    assert_memory_equal(C.ext_data, "resp", 4);
    assert_true(C.ext_fin);
    /* Both ends finish it and it is released on both sides. */
    size_t before = h3_conn_stream_count(C.conn);
    assert_int_equal(h3_conn_write_raw(C.conn, id, NULL, 0, true), H3_OK);
    assert_int_equal(h3_conn_stream_count(C.conn), before - 1);
    hx_pump(&C, &S, 0);
    assert_int_equal(h3_conn_write_raw(S.conn, id, (const uint8_t *)"x", 1, false),
                     H3_ERR_NO_STREAM);
    teardown_pair();
}

/* The transport accepting a few bytes at a time: everything is buffered and retried. */
static void test_partial_writes(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    hx_set_write_limit(&C, 3);
    hx_set_write_limit(&S, 2);
    S.auto_respond = true;
    S.response_body = "a longer response body that needs many writes";
    hx_pump(&C, &S, 0);
    uint64_t id = submit(&C, get_req, true);
    assert_true(h3_conn_stream_buffered(C.conn, id) > 0);
    hx_pump(&C, &S, 0);
    hx_msg *m = hx_msg_for(&C, id);
    assert_true(m->ended);
    assert_int_equal(m->body_len, strlen(S.response_body));
    teardown_pair();
}

/* The peer's SETTINGS_MAX_FIELD_SECTION_SIZE is respected when sending (RFC 9114 §4.2.2). */
static void test_peer_field_section_limit(void **state)
{
    (void)state;
    h3_config sc;
    h3_config_init(&sc, true);
    sc.settings.max_field_section_size = 300;
    setup_pair(NULL, &sc);
    hx_pump(&C, &S, 0);
    char big[300];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    const char *const req[] = {":method", "GET", ":scheme", "https", ":authority", "a",
                               ":path",   "/",   "x-big",   big,     NULL};
    h3_field f[8];
    size_t n = hx_fields(f, 8, req);
    uint64_t id;
    assert_int_equal(h3_conn_submit_request(C.conn, f, n, true, &id), H3_ERR_LIMIT);
    submit(&C, get_req, true);
    teardown_pair();
}

/* The application resets another stream, blocked on QPACK, from inside on_headers: the
 * cancellation waits until the decoder returns (it must not be re-entered). */
static uint64_t reset_target = UINT64_MAX;
static void reset_other(hx_ep *ep, uint64_t id, bool trailers)
{
    (void)trailers;
    if (reset_target != UINT64_MAX && id != reset_target) {
        assert_int_equal(h3_conn_reset_stream(ep->conn, reset_target, H3_REQUEST_CANCELLED), H3_OK);
        reset_target = UINT64_MAX;
    }
}

static void test_reset_from_callback(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    hx_pump(&C, &S, 0);
    const char *const req[] = {":method",   "GET",   ":scheme", "https",   ":authority",
                               "b.example", ":path", "/",       "x-thing", "value-value-value",
                               NULL};
    submit(&C, req, true);
    hx_pump(&C, &S, 0);
    uint64_t a = submit(&C, req, true); /* second sighting: inserted and referenced */
    uint64_t b = submit(&C, req, true);
    assert_true(h3_conn_qpack_inserts_sent(C.conn) > h3_conn_qpack_inserts_received(S.conn));
    /* Deliver both requests before the inserts: both block. */
    for (size_t i = 0; i < C.nout; i++) {
        hx_out *o = &C.out[i];
        if ((o->id == a || o->id == b) && o->delivered < o->len) {
            h3_conn_on_stream_data(S.conn, o->id, o->buf, o->len, o->fin);
            o->delivered = o->len;
            o->fin_delivered = o->fin;
        }
    }
    assert_int_equal(hx_msg_for(&S, a)->sections, 0);
    const hx_out *dec = hx_out_stream(&S, 11);
    size_t before = dec->len;
    reset_target = b;
    S.headers_hook = reset_other;
    hx_pump(&C, &S, 0);
    assert_int_equal(reset_target, UINT64_MAX);
    assert_true(hx_msg_for(&S, a)->ended);
    assert_int_equal(hx_msg_for(&S, b)->sections, 0);
    assert_true(hx_has_reset(&S, b, H3_REQUEST_CANCELLED));
    /* Among the decoder-stream bytes after the unblocking: a Stream Cancellation for b. */
    bool found = false;
    for (size_t i = before; i < dec->len; i++)
        if (dec->buf[i] == (0x40 | b))
            found = true;
    assert_true(found);
    assert_true(hx_msg_for(&C, b)->reset);
    teardown_pair();
}

/* Every allocation failing in turn during a full exchange: a clean H3_INTERNAL_ERROR or
 * H3_ERR_NOMEM, never a crash or a leak. */
static void test_alloc_failures(void **state)
{
    (void)state;
    const char *const post[] = {
        ":method",   "POST",  ":scheme", "https",    ":authority",
        "f.example", ":path", "/x",      "x-repeat", "some-value-that-repeats",
        NULL};
    h3_field f[8];
    size_t n = hx_fields(f, 8, post);
    int failed_runs = 0;
    for (size_t k = 1; k < 1000; k++) {
        setup_pair(NULL, NULL);
        TE.fail_after = k;
        hx_pump(&C, &S, 5);
        for (int i = 0; i < 3; i++) {
            uint64_t id;
            if (h3_conn_submit_request(C.conn, f, n, false, &id) != H3_OK)
                continue;
            h3_conn_send_data(C.conn, id, (const uint8_t *)"body", 4, true);
            hx_pump(&C, &S, 5);
            const char *const ok[] = {":status", "200", "x-repeat", "some-value-that-repeats",
                                      NULL};
            h3_field rf[4];
            size_t rn = hx_fields(rf, 4, ok);
            h3_conn_submit_response(S.conn, id, rf, rn, true);
            hx_pump(&C, &S, 5);
        }
        bool hit = TE.fail_after == 0;
        if (C.closed)
            assert_int_equal(C.close_code, H3_INTERNAL_ERROR);
        if (S.closed)
            assert_int_equal(S.close_code, H3_INTERNAL_ERROR);
        hx_free(&C);
        hx_free(&S);
        test_env_check_leaks(&TE);
        if (!hit)
            break;
        failed_runs++;
    }
    assert_true(failed_runs > 20);
}

/* STOP_SENDING from the peer: we reset our side with its code and tell the application. */
static void test_stop_sending_from_peer(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    hx_pump(&C, &S, 0);
    uint64_t id = submit(&C, get_req, false);
    hx_pump(&C, &S, 0);
    assert_int_equal(h3_conn_on_stop_sending(C.conn, id, H3_REQUEST_REJECTED), H3_OK);
    assert_true(hx_has_reset(&C, id, H3_REQUEST_REJECTED));
    assert_int_equal(h3_conn_send_data(C.conn, id, (const uint8_t *)"x", 1, true),
                     H3_ERR_NO_STREAM);
    hx_pump(&C, &S, 0);
    assert_true(hx_msg_for(&S, id)->reset);
    assert_int_equal(hx_msg_for(&S, id)->reset_code, H3_REQUEST_REJECTED);
    teardown_pair();
}

/* HEAD and 304 responses announce a length they do not carry (RFC 9110 §8.6). */
static void test_head_response(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    hx_pump(&C, &S, 0);
    const char *const head[] = {":method",   "HEAD",  ":scheme", "https", ":authority",
                                "h.example", ":path", "/big",    NULL};
    uint64_t id = submit(&C, head, true);
    hx_pump(&C, &S, 0);
    const char *const ok[] = {":status", "200", "content-length", "1000", NULL};
    h3_field f[4];
    size_t n = hx_fields(f, 4, ok);
    assert_int_equal(h3_conn_submit_response(S.conn, id, f, n, true), H3_OK);
    hx_pump(&C, &S, 0);
    assert_true(hx_msg_for(&C, id)->ended);
    assert_false(hx_msg_for(&C, id)->reset);
    /* A GET whose response has fewer bytes than announced is malformed. */
    id = submit(&C, get_req, true);
    hx_pump(&C, &S, 0);
    assert_int_equal(h3_conn_submit_response(S.conn, id, f, n, false), H3_OK);
    assert_int_equal(h3_conn_send_data(S.conn, id, (const uint8_t *)"short", 5, true), H3_OK);
    hx_pump(&C, &S, 0);
    assert_false(hx_msg_for(&C, id)->ended);
    assert_true(hx_msg_for(&C, id)->reset);
    assert_int_equal(hx_msg_for(&C, id)->reset_code, H3_MESSAGE_ERROR);
    assert_true(hx_has_stop(&C, id, H3_MESSAGE_ERROR));
    teardown_pair();
}

/* Plain CONNECT (RFC 9114 §4.4): :method and :authority only, a tunnel of DATA. */
static void test_plain_connect(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    hx_pump(&C, &S, 0);
    const char *const req[] = {":method", "CONNECT", ":authority", "tunnel.example:443", NULL};
    uint64_t id = submit(&C, req, false);
    assert_int_equal(h3_conn_send_data(C.conn, id, (const uint8_t *)"tls-bytes", 9, false), H3_OK);
    hx_pump(&C, &S, 3);
    hx_msg *m = hx_msg_for(&S, id);
    assert_string_equal(m->headers, ":method: CONNECT\n:authority: tunnel.example:443\n");
    assert_int_equal(m->body_len, 9);
    assert_false(m->reset);
    teardown_pair();
}

/* A full send buffer refuses more (H3_ERR_BLOCKED) and drains on writable. */
static void test_send_blocked(void **state)
{
    (void)state;
    h3_config cc;
    h3_config_init(&cc, false);
    cc.max_send_buffer = 100;
    setup_pair(&cc, NULL);
    hx_pump(&C, &S, 0);
    uint64_t id = submit(&C, get_req, false);
    C.stall = true;
    uint8_t chunk[40];
    memset(chunk, 'c', sizeof(chunk));
    int sent = 0, rc;
    while ((rc = h3_conn_send_data(C.conn, id, chunk, sizeof(chunk), false)) == H3_OK)
        sent++;
    assert_int_equal(rc, H3_ERR_BLOCKED);
    assert_true(sent >= 1 && sent <= 3);
    assert_true(h3_conn_stream_buffered(C.conn, id) <= 100);
    C.stall = false;
    hx_pump(&C, &S, 0);
    assert_int_equal(h3_conn_stream_buffered(C.conn, id), 0);
    assert_int_equal(h3_conn_send_data(C.conn, id, chunk, sizeof(chunk), true), H3_OK);
    hx_pump(&C, &S, 0);
    hx_msg *m = hx_msg_for(&S, id);
    assert_true(m->ended);
    assert_int_equal(m->body_len, (size_t)(sent + 1) * sizeof(chunk));
    teardown_pair();
}

/* Many seeds of random interleaving and chunking with the dynamic table in use both ways:
 * header sections block and unblock in any order, every exchange completes. */
static void test_random_delivery(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        setup_pair(NULL, NULL);
        S.auto_respond = true;
        S.response_body = "random-delivery-response";
        hx_pump_random(&C, &S, seed, 1 + seed % 17);
        uint64_t ids[12];
        for (int i = 0; i < 12; i++) {
            char v[32];
            snprintf(v, sizeof(v), "token-%d", i % 3);
            const char *const req[] = {
                ":method", "GET", ":scheme", "https", ":authority", "r.example",
                ":path",   "/r",  "x-token", v,       "x-fixed",    "a fixed value that repeats",
                NULL};
            ids[i] = submit(&C, req, true);
            if (i % 4 == 3)
                hx_pump_random(&C, &S, seed * 100 + (uint64_t)i, 1 + seed % 23);
        }
        hx_pump_random(&C, &S, seed * 7, 1 + seed % 29);
        for (int i = 0; i < 12; i++) {
            hx_msg *m = hx_msg_for(&C, ids[i]);
            assert_true(m->ended);
            assert_int_equal(m->body_len, strlen(S.response_body));
            assert_non_null(strstr(hx_msg_for(&S, ids[i])->headers, "x-fixed: a fixed value"));
        }
        assert_true(h3_conn_qpack_inserts_sent(C.conn) > 0);
        assert_true(h3_conn_qpack_inserts_sent(S.conn) > 0);
        assert_int_equal(h3_conn_stream_count(C.conn), 6);
        assert_int_equal(h3_conn_stream_count(S.conn), 6);
        teardown_pair();
    }
}

/* Record what a client sends (the seed corpus of fuzz/fuzz_h3_server.c) when asked. */
static void test_record_flight(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    S.auto_respond = true;
    hx_pump(&C, &S, 0);
    const char *const post[] = {":method",        "POST",      ":scheme", "https",
                                ":authority",     "r.example", ":path",   "/p",
                                "content-length", "3",         NULL};
    submit(&C, get_req, true);
    submit(&C, get_req, true);
    uint64_t id = submit(&C, post, false);
    assert_int_equal(h3_conn_send_data(C.conn, id, (const uint8_t *)"abc", 3, true), H3_OK);
    record_flight("client_flight");
    hx_pump(&C, &S, 0);
    assert_true(hx_msg_for(&C, id)->ended);
    teardown_pair();
}

/* ---- Early data (RFC 8470, RFC 9114 §10.9) ---- */

static const char *const post_req[] = {":method", "POST",      ":scheme", "https",
                                       ":authority", "a.example", ":path", "/order",
                                       NULL};

/* RFC 8470 §5.2, RFC 9110 §9.2.1: an unsafe request received in early data is answered
 * 425 by h3 itself, never reaches the application, and its remaining body is stopped
 * with H3_NO_ERROR (RFC 9114 §4.1); later DATA is dropped and the stream is released. */
static void test_early_unsafe_refused(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        setup_pair(NULL, NULL);
        S.early_all = true;
        hx_pump(&C, &S, chunks[k]);
        uint64_t id = submit(&C, post_req, false);
        assert_int_equal(h3_conn_send_data(C.conn, id, (const uint8_t *)"pay 5", 5, false), H3_OK);
        hx_pump(&C, &S, chunks[k]);
        assert_int_equal(hx_msg_for(&S, id)->sections, 0); /* the application saw nothing */
        assert_int_equal(hx_msg_for(&S, id)->body_len, 0);
        hx_msg *r = hx_msg_for(&C, id);
        assert_string_equal(r->headers, ":status: 425\ncontent-length: 0\n");
        assert_true(r->ended);
        assert_int_equal(h3_conn_stream_status(C.conn, id), 0); /* released after the end */
        assert_true(hx_has_stop(&S, id, H3_NO_ERROR));
        assert_true(h3_conn_stream_early(S.conn, id));
        /* The client saw STOP_SENDING and reset its side: everything is released. */
        assert_int_equal(h3_conn_stream_count(S.conn), 6);
        /* A safe request on the same connection goes to the application. */
        S.auto_respond = true;
        S.response_body = "ok";
        uint64_t id2 = submit(&C, get_req, true);
        hx_pump(&C, &S, chunks[k]);
        assert_int_equal(hx_msg_for(&S, id2)->sections, 1);
        assert_string_equal(hx_msg_for(&C, id2)->headers,
                            ":status: 200\ncontent-type: text/plain\ncontent-length: 2\n");
        teardown_pair();
    }
}

/* The same POST whole (FIN with the headers): 425, no STOP_SENDING (nothing more comes),
 * nothing left; and a request that did not come early reaches the application. */
static void test_early_unsafe_complete_and_late(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    S.early_id_set = true;
    S.early_id = 0;
    hx_pump(&C, &S, 0);
    uint64_t id = submit(&C, post_req, true);
    assert_int_equal(id, 0);
    hx_pump(&C, &S, 0);
    assert_string_equal(hx_msg_for(&C, 0)->headers, ":status: 425\ncontent-length: 0\n");
    assert_false(hx_has_stop(&S, 0, H3_NO_ERROR));
    assert_int_equal(h3_conn_stream_count(S.conn), 6);
    S.auto_respond = true;
    uint64_t id2 = submit(&C, post_req, true);
    hx_pump(&C, &S, 0);
    assert_false(h3_conn_stream_early(S.conn, id2));
    assert_int_equal(hx_msg_for(&S, id2)->sections, 1);
    assert_true(hx_msg_for(&S, id2)->ended);
    assert_int_equal(h3_conn_stream_status(C.conn, id2), 0);
    assert_string_equal(hx_msg_for(&C, id2)->headers,
                        ":status: 200\ncontent-type: text/plain\ncontent-length: 0\n");
    teardown_pair();
}

static void refuse_hook(hx_ep *ep, uint64_t id, bool trailers)
{
    if (trailers || !ep->is_server)
        return;
    /* The application will not risk this one (a path it knows is not replay-safe). */
    assert_true(h3_conn_stream_early(ep->conn, id));
    assert_int_equal(h3_conn_refuse_early(ep->conn, id), H3_OK);
    /* Once refused, no second answer. */
    assert_int_equal(h3_conn_refuse_early(ep->conn, id), H3_ERR_NO_STREAM);
    const char *const ok[] = {":status", "200", NULL};
    h3_field f[2];
    size_t n = hx_fields(f, 2, ok);
    assert_int_equal(h3_conn_submit_response(ep->conn, id, f, n, true), H3_ERR_NO_STREAM);
}

/* A safe request in early data reaches the application, which may refuse it itself; with
 * refuse_unsafe_early off, unsafe ones reach it too. The client learns which of its
 * requests went early (to retry those on 425, RFC 8470 §5.2). Argument errors. */
static void test_early_application(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    S.early_all = true;
    C.early_id_set = true;
    C.early_id = 0;
    S.headers_hook = refuse_hook;
    hx_pump(&C, &S, 0);
    uint64_t id = submit(&C, get_req, true);
    hx_pump(&C, &S, 0);
    assert_int_equal(hx_msg_for(&S, id)->sections, 1);
    hx_msg *r = hx_msg_for(&C, id);
    assert_string_equal(r->headers, ":status: 425\ncontent-length: 0\n");
    assert_true(h3_conn_stream_early(C.conn, id));
    assert_false(h3_conn_stream_early(C.conn, 4));
    /* Errors: a client cannot refuse; unknown streams; after a final response. */
    assert_int_equal(h3_conn_refuse_early(C.conn, 0), H3_ERR_ARG);
    assert_int_equal(h3_conn_refuse_early(S.conn, 400), H3_ERR_NO_STREAM);
    assert_int_equal(h3_conn_refuse_early(NULL, 0), H3_ERR_ARG);
    assert_false(h3_conn_stream_early(NULL, 0));
    S.headers_hook = NULL;
    uint64_t id2 = submit(&C, get_req, false);
    hx_pump(&C, &S, 0);
    const char *const ok[] = {":status", "200", NULL};
    h3_field f[2];
    size_t n = hx_fields(f, 2, ok);
    assert_int_equal(h3_conn_submit_response(S.conn, id2, f, n, false), H3_OK);
    assert_int_equal(h3_conn_refuse_early(S.conn, id2), H3_ERR_ARG);
    assert_int_equal(h3_conn_send_data(S.conn, id2, NULL, 0, true), H3_OK);
    assert_int_equal(h3_conn_send_data(C.conn, id2, NULL, 0, true), H3_OK);
    hx_pump(&C, &S, 0);
    teardown_pair();

    h3_config scfg;
    h3_config_init(&scfg, true);
    assert_true(scfg.refuse_unsafe_early);
    scfg.refuse_unsafe_early = false;
    setup_pair(NULL, &scfg);
    S.early_all = true;
    S.auto_respond = true;
    hx_pump(&C, &S, 0);
    id = submit(&C, post_req, true);
    hx_pump(&C, &S, 0);
    assert_int_equal(hx_msg_for(&S, id)->sections, 1);
    assert_true(h3_conn_stream_early(S.conn, id));
    assert_string_equal(hx_msg_for(&C, id)->headers,
                        ":status: 200\ncontent-type: text/plain\ncontent-length: 0\n");
    teardown_pair();
}

/* A refused request whose header section waited for QPACK inserts (RFC 9204 §2.1.2): the
 * 425 goes once it is decoded; STOP_SENDING only where the request had not ended. */
static void test_early_blocked(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    S.early_all = true;
    hx_pump(&C, &S, 0);
    const char *const req[] = {":method",   "POST",  ":scheme", "https",   ":authority",
                               "b.example", ":path", "/",       "x-thing", "value-value-value",
                               NULL};
    submit(&C, req, true);
    uint64_t id2 = submit(&C, req, true); /* second sighting: inserted, blocked */
    uint64_t id3 = submit(&C, req, false);
    assert_int_equal(h3_conn_send_data(C.conn, id3, (const uint8_t *)"x", 1, false), H3_OK);
    for (size_t i = 0; i < C.nout; i++) {
        hx_out *o = &C.out[i];
        if (o->id % 4 == 0 && o->delivered < o->len) {
            h3_conn_on_stream_data(S.conn, o->id, o->buf, o->len, o->fin);
            o->delivered = o->len;
            o->fin_delivered = o->fin;
        }
    }
    assert_int_equal(hx_msg_for(&C, id3)->sections, 0);
    hx_pump(&C, &S, 0);
    assert_string_equal(hx_msg_for(&C, id2)->headers, ":status: 425\ncontent-length: 0\n");
    assert_string_equal(hx_msg_for(&C, id3)->headers, ":status: 425\ncontent-length: 0\n");
    assert_false(hx_has_stop(&S, id2, H3_NO_ERROR));
    assert_true(hx_has_stop(&S, id3, H3_NO_ERROR));
    assert_int_equal(hx_msg_for(&S, id3)->sections, 0);
    assert_int_equal(h3_conn_stream_count(S.conn), 6);
    teardown_pair();
}

/* RFC 9114 §10.9: while the client's writes go in early data, h3 sends only safe requests
 * (H3_ERR_EARLY for the others, nothing written); after the handshake, all. */
static void test_early_client_sends_safe_only(void **state)
{
    (void)state;
    setup_pair(NULL, NULL);
    hx_pump(&C, &S, 0);
    C.early_now = true;
    h3_field f[8];
    size_t n = hx_fields(f, 8, post_req);
    uint64_t id = UINT64_MAX;
    size_t nout = C.nout;
    assert_int_equal(h3_conn_submit_request(C.conn, f, n, true, &id), H3_ERR_EARLY);
    assert_int_equal(C.nout, nout); /* no stream was opened */
    const char *const del[] = {":method", "DELETE", ":scheme", "https", ":authority", "a.example",
                               ":path", "/x", NULL};
    n = hx_fields(f, 8, del);
    assert_int_equal(h3_conn_submit_request(C.conn, f, n, true, &id), H3_ERR_EARLY);
    const char *const opt[] = {":method", "OPTIONS", ":scheme", "https", ":authority",
                               "a.example", ":path", "*", NULL};
    n = hx_fields(f, 8, opt);
    assert_int_equal(h3_conn_submit_request(C.conn, f, n, true, &id), H3_OK);
    submit(&C, get_req, true);
    C.early_now = false;
    submit(&C, post_req, true);
    hx_pump(&C, &S, 0);
    teardown_pair();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_post_trailers),
        cmocka_unit_test(test_concurrent),
        cmocka_unit_test(test_dynamic_table),
        cmocka_unit_test(test_blocked_stream),
        cmocka_unit_test(test_extended_connect_datagrams),
        cmocka_unit_test(test_datagrams_not_negotiated),
        cmocka_unit_test(test_goaway),
        cmocka_unit_test(test_static_only),
        cmocka_unit_test(test_ext_streams),
        cmocka_unit_test(test_partial_writes),
        cmocka_unit_test(test_peer_field_section_limit),
        cmocka_unit_test(test_reset_from_callback),
        cmocka_unit_test(test_random_delivery),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_stop_sending_from_peer),
        cmocka_unit_test(test_head_response),
        cmocka_unit_test(test_plain_connect),
        cmocka_unit_test(test_send_blocked),
        cmocka_unit_test(test_record_flight),
        cmocka_unit_test(test_early_unsafe_refused),
        cmocka_unit_test(test_early_unsafe_complete_and_late),
        cmocka_unit_test(test_early_application),
        cmocka_unit_test(test_early_blocked),
        cmocka_unit_test(test_early_client_sends_safe_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
