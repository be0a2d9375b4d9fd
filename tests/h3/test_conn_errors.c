/* Negative tests for the HTTP/3 connection (h3spec style): exact codes, close versus reset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "h3/frame.h"
#include "h3/h3.h"
#include "h3/qpack_error.h"
#include "h3/settings.h"
#include "tests/h3/conn_harness.h"

static hx_ep E;
static test_env TE;

/* Client stream IDs as the server sees them, and the reverse. */
#define C_CONTROL 2
#define C_ENCODER 6
#define C_DECODER 10
#define S_CONTROL 3
#define S_ENCODER 7
#define S_DECODER 11

static void feed_hex(uint64_t id, const char *hex, bool fin)
{
    hx_buf b = {.len = 0};
    hx_put_hex(&b, hex);
    hx_feed(&E, id, &b, fin);
}

/* A started endpoint that has received the peer's control and QPACK streams. */
static void peer_ready(bool is_server, const h3_config *cfg, const h3_settings *peer)
{
    test_env_init(&TE, 7);
    hx_init(&E, &TE, is_server, cfg);
    hx_buf b = {.len = 0};
    hx_put_control_preface(&b, peer);
    assert_int_equal(hx_feed(&E, is_server ? C_CONTROL : S_CONTROL, &b, false), H3_OK);
    feed_hex(is_server ? C_ENCODER : S_ENCODER, "02", false);
    feed_hex(is_server ? C_DECODER : S_DECODER, "03", false);
    assert_false(E.closed);
    assert_true(E.settings_received);
}

static void server_ready(void)
{
    peer_ready(true, NULL, NULL);
}

/* A client with one request (stream 0) in flight, its body still open. */
static void client_ready(const h3_settings *peer)
{
    peer_ready(false, NULL, peer);
    const char *const kv[] = {":method",   "GET",   ":scheme", "https", ":authority",
                              "c.example", ":path", "/",       NULL};
    h3_field f[8];
    size_t n = hx_fields(f, 8, kv);
    uint64_t id;
    assert_int_equal(h3_conn_submit_request(E.conn, f, n, false, &id), H3_OK);
    assert_int_equal(id, 0);
}

static void done(void)
{
    hx_free(&E);
    test_env_check_leaks(&TE);
}

static void expect_conn_error(uint64_t code)
{
    assert_true(E.closed);
    assert_int_equal(E.close_code, code);
    assert_int_equal(h3_conn_error(E.conn), code);
    /* Sticky: later input is refused. */
    uint8_t x = 0;
    assert_int_equal(h3_conn_on_stream_data(E.conn, 0, &x, 1, false), H3_ERR_CLOSED);
    done();
}

static void expect_stream_error(uint64_t id, uint64_t code)
{
    assert_false(E.closed);
    assert_true(hx_has_reset(&E, id, code));
    assert_true(hx_has_stop(&E, id, code));
    hx_msg *m = hx_msg_for(&E, id);
    assert_true(m->reset);
    assert_true(m->reset_local);
    assert_int_equal(m->reset_code, code);
    assert_false(m->ended);
    done();
}

/* Send a request with these fields on stream 0 (and optional body), with FIN. */
static void request(const char *const *kv, const char *body, bool fin)
{
    hx_buf b = {.len = 0};
    hx_put_headers(&b, &TE, kv);
    if (body != NULL)
        hx_put_data(&b, body, strlen(body));
    hx_feed(&E, 0, &b, fin);
}

#define GET_PSEUDO ":method", "GET", ":scheme", "https", ":authority", "s.example", ":path", "/"

/* ---- H3_FRAME_UNEXPECTED ---- */

static void test_data_on_control(void **state)
{
    (void)state;
    server_ready();
    feed_hex(C_CONTROL, "00 02 6869", false);
    expect_conn_error(H3_FRAME_UNEXPECTED);
}

static void test_headers_on_control(void **state)
{
    (void)state;
    server_ready();
    feed_hex(C_CONTROL, "01 02 0000", false);
    expect_conn_error(H3_FRAME_UNEXPECTED);
}

static void test_second_settings(void **state)
{
    (void)state;
    server_ready();
    feed_hex(C_CONTROL, "04 00", false);
    expect_conn_error(H3_FRAME_UNEXPECTED);
}

static void test_h2_priority_on_control(void **state)
{
    (void)state;
    server_ready();
    feed_hex(C_CONTROL, "02 01 00", false);
    expect_conn_error(H3_FRAME_UNEXPECTED);
}

static void test_data_before_headers(void **state)
{
    (void)state;
    server_ready();
    hx_buf b = {.len = 0};
    hx_put_data(&b, "x", 1);
    hx_feed(&E, 0, &b, false);
    expect_conn_error(H3_FRAME_UNEXPECTED);
}

static void test_headers_after_trailers(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {GET_PSEUDO, NULL};
    const char *const tr[] = {"x-t", "1", NULL};
    hx_buf b = {.len = 0};
    hx_put_headers(&b, &TE, kv);
    hx_put_headers(&b, &TE, tr);
    hx_put_headers(&b, &TE, tr);
    hx_feed(&E, 0, &b, false);
    expect_conn_error(H3_FRAME_UNEXPECTED);
}

static void test_data_after_trailers(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {GET_PSEUDO, NULL};
    const char *const tr[] = {"x-t", "1", NULL};
    hx_buf b = {.len = 0};
    hx_put_headers(&b, &TE, kv);
    hx_put_headers(&b, &TE, tr);
    hx_put_data(&b, "late", 4);
    hx_feed(&E, 0, &b, false);
    expect_conn_error(H3_FRAME_UNEXPECTED);
}

static void test_settings_on_request(void **state)
{
    (void)state;
    server_ready();
    feed_hex(0, "04 00", false);
    expect_conn_error(H3_FRAME_UNEXPECTED);
}

static void test_goaway_on_request(void **state)
{
    (void)state;
    server_ready();
    feed_hex(0, "07 01 00", false);
    expect_conn_error(H3_FRAME_UNEXPECTED);
}

static void test_max_push_id_to_client(void **state)
{
    (void)state;
    client_ready(NULL);
    feed_hex(S_CONTROL, "0d 01 05", false);
    expect_conn_error(H3_FRAME_UNEXPECTED);
}

/* ---- H3_MISSING_SETTINGS ---- */

static void test_missing_settings(void **state)
{
    (void)state;
    test_env_init(&TE, 7);
    hx_init(&E, &TE, true, NULL);
    feed_hex(C_CONTROL, "00 07 01 00", false); /* type, then GOAWAY first */
    expect_conn_error(H3_MISSING_SETTINGS);
}

/* ---- H3_CLOSED_CRITICAL_STREAM ---- */

static void test_control_fin(void **state)
{
    (void)state;
    server_ready();
    hx_buf b = {.len = 0};
    hx_feed(&E, C_CONTROL, &b, true);
    expect_conn_error(H3_CLOSED_CRITICAL_STREAM);
}

static void test_control_reset(void **state)
{
    (void)state;
    server_ready();
    h3_conn_on_stream_reset(E.conn, C_CONTROL, H3_NO_ERROR, H3_FINAL_SIZE_UNKNOWN);
    expect_conn_error(H3_CLOSED_CRITICAL_STREAM);
}

static void test_encoder_stream_fin(void **state)
{
    (void)state;
    server_ready();
    hx_buf b = {.len = 0};
    hx_feed(&E, C_ENCODER, &b, true);
    expect_conn_error(H3_CLOSED_CRITICAL_STREAM);
}

static void test_decoder_stream_reset(void **state)
{
    (void)state;
    server_ready();
    h3_conn_on_stream_reset(E.conn, C_DECODER, H3_NO_ERROR, H3_FINAL_SIZE_UNKNOWN);
    expect_conn_error(H3_CLOSED_CRITICAL_STREAM);
}

static void test_stop_sending_our_control(void **state)
{
    (void)state;
    server_ready();
    h3_conn_on_stop_sending(E.conn, S_CONTROL, H3_NO_ERROR);
    expect_conn_error(H3_CLOSED_CRITICAL_STREAM);
}

/* ---- H3_STREAM_CREATION_ERROR ---- */

static void test_second_control_stream(void **state)
{
    (void)state;
    server_ready();
    hx_buf b = {.len = 0};
    hx_put_control_preface(&b, NULL);
    hx_feed(&E, 14, &b, false);
    expect_conn_error(H3_STREAM_CREATION_ERROR);
}

static void test_second_encoder_stream(void **state)
{
    (void)state;
    server_ready();
    feed_hex(14, "02", false);
    expect_conn_error(H3_STREAM_CREATION_ERROR);
}

static void test_second_decoder_stream(void **state)
{
    (void)state;
    server_ready();
    feed_hex(14, "03", false);
    expect_conn_error(H3_STREAM_CREATION_ERROR);
}

static void test_client_push_stream(void **state)
{
    (void)state;
    server_ready();
    feed_hex(14, "01 00", false);
    expect_conn_error(H3_STREAM_CREATION_ERROR);
}

static void test_server_bidi_to_client(void **state)
{
    (void)state;
    client_ready(NULL);
    const char *const kv[] = {":status", "200", NULL};
    hx_buf b = {.len = 0};
    hx_put_headers(&b, &TE, kv);
    hx_feed(&E, 1, &b, false);
    expect_conn_error(H3_STREAM_CREATION_ERROR);
}

/* Reserved and unknown stream types are not errors: STOP_SENDING and ignore (§6.2). */
static void test_unknown_uni_ignored(void **state)
{
    (void)state;
    server_ready();
    feed_hex(14, "40 21 aabbcc", false); /* GREASE type 0x21 */
    feed_hex(18, "3f 0102", true);       /* unassigned type 0x3f */
    assert_false(E.closed);
    assert_true(hx_has_stop(&E, 14, H3_STREAM_CREATION_ERROR));
    assert_true(hx_has_stop(&E, 18, H3_STREAM_CREATION_ERROR));
    feed_hex(14, "ddee", true); /* more bytes are dropped */
    assert_false(E.closed);
    assert_int_equal(h3_conn_stream_count(E.conn), 6); /* both released */
    /* GREASE and unknown frames on the control stream and a request stream are skipped. */
    feed_hex(C_CONTROL, "21 03 010203 3f 00", false);
    hx_buf b = {.len = 0};
    hx_put_hex(&b, "40 40 01 ff");
    const char *const kv[] = {GET_PSEUDO, NULL};
    hx_put_headers(&b, &TE, kv);
    hx_put_hex(&b, "21 00");
    hx_feed(&E, 0, &b, true);
    assert_false(E.closed);
    assert_true(hx_msg_for(&E, 0)->ended);
    done();
}

/* ---- H3_MESSAGE_ERROR (stream errors) ---- */

static void test_uppercase_name(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {GET_PSEUDO, "X-Upper", "1", NULL};
    request(kv, NULL, true);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_missing_method(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {":scheme", "https", ":authority", "s.example", ":path", "/", NULL};
    request(kv, NULL, true);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_pseudo_after_regular(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {":method", "GET", ":scheme",    "https",     "accept", "*/*",
                              ":path",   "/",   ":authority", "s.example", NULL};
    request(kv, NULL, true);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_connection_header(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {GET_PSEUDO, "connection", "keep-alive", NULL};
    request(kv, NULL, true);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_te_gzip(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {GET_PSEUDO, "te", "gzip", NULL};
    request(kv, NULL, true);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_content_length_short(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {":method",        "POST",      ":scheme", "https",
                              ":authority",     "s.example", ":path",   "/",
                              "content-length", "10",        NULL};
    request(kv, "12345", true);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_content_length_exceeded(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {":method",        "POST",      ":scheme", "https",
                              ":authority",     "s.example", ":path",   "/",
                              "content-length", "2",         NULL};
    request(kv, "12345", false);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_protocol_without_setting(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {":method", "CONNECT", ":protocol",  "webtransport",
                              ":scheme", "https",   ":authority", "s.example",
                              ":path",   "/wt",     NULL};
    request(kv, NULL, false);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_connect_with_path(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {":method", "CONNECT", ":authority", "s.example:443",
                              ":path",   "/",       NULL};
    request(kv, NULL, false);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_unknown_pseudo(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {GET_PSEUDO, ":foo", "bar", NULL};
    request(kv, NULL, true);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_duplicate_path(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {GET_PSEUDO, ":path", "/again", NULL};
    request(kv, NULL, true);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_pseudo_in_trailers(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {GET_PSEUDO, NULL};
    const char *const tr[] = {":path", "/", NULL};
    hx_buf b = {.len = 0};
    hx_put_headers(&b, &TE, kv);
    hx_put_headers(&b, &TE, tr);
    hx_feed(&E, 0, &b, true);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_response_without_status(void **state)
{
    (void)state;
    client_ready(NULL);
    const char *const kv[] = {"server", "x", NULL};
    request(kv, NULL, true);
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

static void test_request_incomplete(void **state)
{
    (void)state;
    server_ready();
    hx_buf b = {.len = 0};
    hx_feed(&E, 0, &b, true);
    expect_stream_error(0, H3_REQUEST_INCOMPLETE);
}

/* A malformed request does not disturb its neighbours. */
static void test_stream_error_is_local(void **state)
{
    (void)state;
    server_ready();
    const char *const bad[] = {GET_PSEUDO, "transfer-encoding", "chunked", NULL};
    request(bad, NULL, false);
    const char *const good[] = {GET_PSEUDO, NULL};
    hx_buf b = {.len = 0};
    hx_put_headers(&b, &TE, good);
    hx_feed(&E, 4, &b, true);
    assert_true(hx_msg_for(&E, 4)->ended);
    /* Late bytes on the reset stream are dropped; its FIN releases it. */
    hx_buf d = {.len = 0};
    hx_put_data(&d, "zz", 2);
    hx_feed(&E, 0, &d, true);
    assert_int_equal(h3_conn_stream_count(E.conn), 7); /* 6 critical + request 4 (unanswered) */
    expect_stream_error(0, H3_MESSAGE_ERROR);
}

/* ---- H3_ID_ERROR ---- */

static void test_push_promise_to_client(void **state)
{
    (void)state;
    client_ready(NULL);
    const char *const kv[] = {GET_PSEUDO, NULL};
    hx_buf h = {.len = 0};
    hx_put_headers(&h, &TE, kv);
    /* PUSH_PROMISE: push ID 0, then the field section of that HEADERS frame. */
    hx_buf b = {.len = 0};
    size_t hdr = h.b[1] < 0x40 ? 2 : 3;
    hx_put_varint(&b, H3_FRAME_PUSH_PROMISE);
    hx_put_varint(&b, 1 + h.len - hdr);
    hx_put_varint(&b, 0);
    hx_put(&b, h.b + hdr, h.len - hdr);
    hx_feed(&E, 0, &b, false);
    expect_conn_error(H3_ID_ERROR);
}

static void test_goaway_increasing(void **state)
{
    (void)state;
    client_ready(NULL);
    feed_hex(S_CONTROL, "07 01 04", false);
    assert_false(E.closed);
    assert_int_equal(E.goaway, 4);
    feed_hex(S_CONTROL, "07 01 08", false);
    expect_conn_error(H3_ID_ERROR);
}

static void test_goaway_not_request_id(void **state)
{
    (void)state;
    client_ready(NULL);
    feed_hex(S_CONTROL, "07 01 02", false);
    expect_conn_error(H3_ID_ERROR);
}

static void test_push_stream_to_client(void **state)
{
    (void)state;
    client_ready(NULL);
    feed_hex(15, "01 00", false);
    expect_conn_error(H3_ID_ERROR);
}

static void test_cancel_push(void **state)
{
    (void)state;
    server_ready();
    feed_hex(C_CONTROL, "03 01 00", false);
    expect_conn_error(H3_ID_ERROR);
}

/* ---- H3_SETTINGS_ERROR, H3_FRAME_ERROR ---- */

static void test_duplicate_setting(void **state)
{
    (void)state;
    test_env_init(&TE, 7);
    hx_init(&E, &TE, true, NULL);
    feed_hex(C_CONTROL, "00 04 04 06 01 06 02", false);
    expect_conn_error(H3_SETTINGS_ERROR);
}

static void test_h2_setting(void **state)
{
    (void)state;
    test_env_init(&TE, 7);
    hx_init(&E, &TE, true, NULL);
    feed_hex(C_CONTROL, "00 04 02 02 00", false); /* SETTINGS_ENABLE_PUSH */
    expect_conn_error(H3_SETTINGS_ERROR);
}

static void test_truncated_settings(void **state)
{
    (void)state;
    test_env_init(&TE, 7);
    hx_init(&E, &TE, true, NULL);
    feed_hex(C_CONTROL, "00 04 02 06 40", false); /* value varint cut by the frame end */
    expect_conn_error(H3_FRAME_ERROR);
}

static void test_frame_cut_by_fin(void **state)
{
    (void)state;
    server_ready();
    const char *const kv[] = {GET_PSEUDO, NULL};
    hx_buf b = {.len = 0};
    hx_put_headers(&b, &TE, kv);
    hx_put_hex(&b, "00 05 6162");
    hx_feed(&E, 0, &b, true);
    expect_conn_error(H3_FRAME_ERROR);
}

/* ---- QPACK ---- */

static void test_qpack_bad_index(void **state)
{
    (void)state;
    server_ready();
    /* Section prefix 00 00, then an indexed static field line of index 99 (> 98). */
    feed_hex(0, "01 04 0000 ff24", false);
    expect_conn_error(H3_QPACK_DECOMPRESSION_FAILED);
}

static void test_qpack_bad_required_insert_count(void **state)
{
    (void)state;
    server_ready();
    /* Encoded Required Insert Count 300 > 2 * MaxEntries (256): RFC 9204 §4.5.1.1. */
    feed_hex(0, "01 04 ff2d 00 80", false);
    expect_conn_error(H3_QPACK_DECOMPRESSION_FAILED);
}

static void test_qpack_capacity_over_max(void **state)
{
    (void)state;
    server_ready();
    /* Set Dynamic Table Capacity 8192 > our maximum 4096. */
    feed_hex(C_ENCODER, "3f e1 3f", false);
    expect_conn_error(H3_QPACK_ENCODER_STREAM_ERROR);
}

static void test_qpack_decoder_stream_error(void **state)
{
    (void)state;
    server_ready();
    /* Insert Count Increment of 0 (RFC 9204 §4.4.3). */
    feed_hex(C_DECODER, "00", false);
    expect_conn_error(H3_QPACK_DECODER_STREAM_ERROR);
}

static void test_qpack_unknown_section_ack(void **state)
{
    (void)state;
    server_ready();
    feed_hex(C_DECODER, "84", false); /* Section Acknowledgment for stream 4: none sent */
    expect_conn_error(H3_QPACK_DECODER_STREAM_ERROR);
}

static void test_max_push_id_decreasing(void **state)
{
    (void)state;
    server_ready();
    feed_hex(C_CONTROL, "0d 01 05 0d 01 05 0d 01 09", false); /* same and larger: fine */
    assert_false(E.closed);
    feed_hex(C_CONTROL, "0d 01 03", false);
    expect_conn_error(H3_ID_ERROR);
}

/* A reset stream whose header section waits for inserts: the section is dropped and the
 * encoder is told with a Stream Cancellation (RFC 9204 §4.4.2); the late insert is fine. */
static void test_reset_while_blocked(void **state)
{
    (void)state;
    server_ready();
    /* Required Insert Count 1 (encoded 2), Base 1, indexed dynamic field 0. */
    feed_hex(4, "01 03 0200 80", false);
    assert_false(E.closed);
    const hx_out *dec = hx_out_stream(&E, S_DECODER);
    assert_non_null(dec);
    assert_int_equal(dec->len, 1); /* just the stream type */
    h3_conn_on_stream_reset(E.conn, 4, H3_REQUEST_CANCELLED, H3_FINAL_SIZE_UNKNOWN);
    assert_false(E.closed);
    assert_int_equal(dec->len, 2);
    assert_int_equal(dec->buf[1], 0x44); /* Stream Cancellation, stream 4 */
    assert_true(hx_msg_for(&E, 4)->reset);
    assert_false(hx_msg_for(&E, 4)->reset_local);
    assert_int_equal(hx_msg_for(&E, 4)->sections, 0);
    /* Set capacity 100, insert "a: b" with a literal name. */
    feed_hex(C_ENCODER, "3f 45 41 61 01 62", false);
    assert_false(E.closed);
    assert_int_equal(h3_conn_qpack_inserts_received(E.conn), 1);
    assert_int_equal(h3_conn_stream_count(E.conn), 6);
    done();
}

/* Too many blocked streams: QPACK_DECOMPRESSION_FAILED (RFC 9204 §2.1.2). */
static void test_too_many_blocked_streams(void **state)
{
    (void)state;
    h3_config cfg;
    h3_config_init(&cfg, true);
    cfg.settings.qpack_blocked_streams = 1;
    peer_ready(true, &cfg, NULL);
    feed_hex(0, "01 03 0200 80", false);
    assert_false(E.closed);
    feed_hex(4, "01 03 0200 80", false);
    expect_conn_error(H3_QPACK_DECOMPRESSION_FAILED);
}

/* ---- Limits: too large a header section ---- */

static void test_field_section_too_large(void **state)
{
    (void)state;
    h3_config cfg;
    h3_config_init(&cfg, true);
    cfg.settings.max_field_section_size = 200;
    peer_ready(true, &cfg, NULL);
    char big[300];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    const char *const kv[] = {GET_PSEUDO, "x-big", big, NULL};
    request(kv, NULL, true);
    expect_stream_error(0, H3_EXCESSIVE_LOAD);
}

static void test_headers_frame_too_large(void **state)
{
    (void)state;
    h3_config cfg;
    h3_config_init(&cfg, true);
    cfg.max_headers_frame = 1000;
    peer_ready(true, &cfg, NULL);
    feed_hex(0, "01 4800", false); /* declares 2048 bytes */
    expect_stream_error(0, H3_EXCESSIVE_LOAD);
}

/* ---- H3_DATAGRAM_ERROR ---- */

static void datagram_ready(void)
{
    h3_config cfg;
    h3_config_init(&cfg, true);
    assert_int_equal(h3_settings_set(&cfg.settings, H3_SETTING_H3_DATAGRAM, 1), 0);
    h3_settings peer;
    h3_settings_init(&peer);
    assert_int_equal(h3_settings_set(&peer, H3_SETTING_H3_DATAGRAM, 1), 0);
    peer_ready(true, &cfg, &peer);
    assert_true(h3_conn_datagrams_enabled(E.conn));
}

static void test_datagram_truncated(void **state)
{
    (void)state;
    datagram_ready();
    const uint8_t d[] = {0x40};
    h3_conn_on_datagram(E.conn, d, sizeof(d));
    expect_conn_error(H3_DATAGRAM_ERROR);
}

static void test_datagram_quarter_id_too_large(void **state)
{
    (void)state;
    datagram_ready();
    const uint8_t d[] = {0xd0, 0, 0, 0, 0, 0, 0, 0, 'x'}; /* 2^60 */
    h3_conn_on_datagram(E.conn, d, sizeof(d));
    expect_conn_error(H3_DATAGRAM_ERROR);
}

static void test_datagram_empty(void **state)
{
    (void)state;
    datagram_ready();
    h3_conn_on_datagram(E.conn, NULL, 0);
    expect_conn_error(H3_DATAGRAM_ERROR);
}

/* An extension stream the extension refuses is discarded both ways, not a connection error. */
static void test_ext_stream_refused(void **state)
{
    (void)state;
    h3_config cfg;
    h3_config_init(&cfg, true);
    cfg.ext_streams = true;
    peer_ready(true, &cfg, NULL);
    E.ext_refuse = true;
    feed_hex(0, "40 41 00 6869", false); /* 0x41, session 0, bytes */
    feed_hex(14, "40 54 00 6869", false);
    assert_false(E.closed);
    assert_int_equal(E.ext_session, 0);
    assert_true(hx_has_stop(&E, 0, H3_STREAM_CREATION_ERROR));
    assert_true(hx_has_reset(&E, 0, H3_STREAM_CREATION_ERROR));
    assert_true(hx_has_stop(&E, 14, H3_STREAM_CREATION_ERROR));
    E.ext_len = 0;
    feed_hex(0, "aabb", true);
    feed_hex(14, "aabb", true);
    assert_int_equal(E.ext_len, 0); /* not delivered again */
    assert_int_equal(h3_conn_stream_count(E.conn), 6);
    /* A WebTransport session ID that is not a client bidi stream: H3_ID_ERROR. */
    feed_hex(18, "40 54 01", false);
    expect_conn_error(H3_ID_ERROR);
}

/* Stream IDs beyond 2^62-1 are the embedder's mistake: refused without state. */
static void test_bad_stream_id(void **state)
{
    (void)state;
    server_ready();
    uint8_t b = 0;
    assert_int_equal(h3_conn_on_stream_data(E.conn, UINT64_C(1) << 62, &b, 1, false), H3_ERR_ARG);
    assert_false(E.closed);
    assert_int_equal(h3_conn_stream_count(E.conn), 6);
    done();
}

/* ---- Bounds ---- */

static void test_too_many_requests(void **state)
{
    (void)state;
    h3_config cfg;
    h3_config_init(&cfg, true);
    cfg.max_peer_bidi = 2;
    peer_ready(true, &cfg, NULL);
    const char *const kv[] = {GET_PSEUDO, NULL};
    hx_buf b = {.len = 0};
    hx_put_headers(&b, &TE, kv);
    for (uint64_t id = 0; id < 12; id += 4)
        hx_feed(&E, id, &b, false);
    assert_false(E.closed);
    assert_false(hx_has_reset(&E, 4, H3_REQUEST_REJECTED));
    assert_true(hx_has_reset(&E, 8, H3_REQUEST_REJECTED));
    assert_int_equal(hx_msg_for(&E, 4)->sections, 1);
    assert_int_equal(hx_msg_for(&E, 8)->sections, 0);
    done();
}

static void test_too_many_uni(void **state)
{
    (void)state;
    h3_config cfg;
    h3_config_init(&cfg, true);
    cfg.max_peer_uni = 4;
    peer_ready(true, &cfg, NULL);
    feed_hex(14, "40", false); /* incomplete type: tracked */
    feed_hex(18, "40", false); /* fifth: refused */
    assert_false(E.closed);
    assert_true(hx_has_stop(&E, 18, H3_STREAM_CREATION_ERROR));
    assert_false(hx_has_stop(&E, 14, H3_STREAM_CREATION_ERROR));
    done();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_data_on_control),
        cmocka_unit_test(test_headers_on_control),
        cmocka_unit_test(test_second_settings),
        cmocka_unit_test(test_h2_priority_on_control),
        cmocka_unit_test(test_data_before_headers),
        cmocka_unit_test(test_headers_after_trailers),
        cmocka_unit_test(test_data_after_trailers),
        cmocka_unit_test(test_settings_on_request),
        cmocka_unit_test(test_goaway_on_request),
        cmocka_unit_test(test_max_push_id_to_client),
        cmocka_unit_test(test_missing_settings),
        cmocka_unit_test(test_control_fin),
        cmocka_unit_test(test_control_reset),
        cmocka_unit_test(test_encoder_stream_fin),
        cmocka_unit_test(test_decoder_stream_reset),
        cmocka_unit_test(test_stop_sending_our_control),
        cmocka_unit_test(test_second_control_stream),
        cmocka_unit_test(test_second_encoder_stream),
        cmocka_unit_test(test_second_decoder_stream),
        cmocka_unit_test(test_client_push_stream),
        cmocka_unit_test(test_server_bidi_to_client),
        cmocka_unit_test(test_unknown_uni_ignored),
        cmocka_unit_test(test_uppercase_name),
        cmocka_unit_test(test_missing_method),
        cmocka_unit_test(test_pseudo_after_regular),
        cmocka_unit_test(test_connection_header),
        cmocka_unit_test(test_te_gzip),
        cmocka_unit_test(test_content_length_short),
        cmocka_unit_test(test_content_length_exceeded),
        cmocka_unit_test(test_protocol_without_setting),
        cmocka_unit_test(test_connect_with_path),
        cmocka_unit_test(test_unknown_pseudo),
        cmocka_unit_test(test_duplicate_path),
        cmocka_unit_test(test_pseudo_in_trailers),
        cmocka_unit_test(test_response_without_status),
        cmocka_unit_test(test_request_incomplete),
        cmocka_unit_test(test_stream_error_is_local),
        cmocka_unit_test(test_push_promise_to_client),
        cmocka_unit_test(test_goaway_increasing),
        cmocka_unit_test(test_goaway_not_request_id),
        cmocka_unit_test(test_push_stream_to_client),
        cmocka_unit_test(test_cancel_push),
        cmocka_unit_test(test_duplicate_setting),
        cmocka_unit_test(test_h2_setting),
        cmocka_unit_test(test_truncated_settings),
        cmocka_unit_test(test_frame_cut_by_fin),
        cmocka_unit_test(test_qpack_bad_index),
        cmocka_unit_test(test_qpack_bad_required_insert_count),
        cmocka_unit_test(test_qpack_capacity_over_max),
        cmocka_unit_test(test_qpack_decoder_stream_error),
        cmocka_unit_test(test_qpack_unknown_section_ack),
        cmocka_unit_test(test_max_push_id_decreasing),
        cmocka_unit_test(test_reset_while_blocked),
        cmocka_unit_test(test_too_many_blocked_streams),
        cmocka_unit_test(test_field_section_too_large),
        cmocka_unit_test(test_headers_frame_too_large),
        cmocka_unit_test(test_datagram_truncated),
        cmocka_unit_test(test_datagram_quarter_id_too_large),
        cmocka_unit_test(test_datagram_empty),
        cmocka_unit_test(test_ext_stream_refused),
        cmocka_unit_test(test_bad_stream_id),
        cmocka_unit_test(test_too_many_requests),
        cmocka_unit_test(test_too_many_uni),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
