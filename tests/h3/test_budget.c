/* The memory budget on the HTTP/3 side (h3_conn_set_budget): what each buffer a peer can
 * fill costs, and the exact error when the budget cannot hold it (docs/ARCHITECTURE.md
 * "Limits"; RFC 9114 §10.5, RFC 9204 §7.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/budget.h"
#include "h3/h3.h"
#include "h3/qpack_error.h"
#include "h3/qpack_table.h"
#include "tests/h3/conn_harness.h"

static hx_ep E;
static test_env TE;
static quince_budget B;

#define C_CONTROL 2
#define C_ENCODER 6
#define C_DECODER 10
#define S_DECODER 11

static void feed_hex(uint64_t id, const char *hex, bool fin)
{
    hx_buf b = {.len = 0};
    hx_put_hex(&b, hex);
    hx_feed(&E, id, &b, fin);
}

/* A started server charging B (limit bytes, 0: none), with the client's control and
 * QPACK streams in (their whole frames are read in place: nothing is charged). */
static void server_ready(size_t limit, const h3_config *cfg)
{
    memset(&B, 0, sizeof(B));
    B.limit = limit;
    test_env_init(&TE, 7);
    hx_init(&E, &TE, true, cfg);
    h3_conn_set_budget(E.conn, &B);
    hx_buf b = {.len = 0};
    hx_put_control_preface(&b, NULL);
    assert_int_equal(hx_feed(&E, C_CONTROL, &b, false), H3_OK);
    feed_hex(C_ENCODER, "02", false);
    feed_hex(C_DECODER, "03", false);
    assert_false(E.closed);
    assert_int_equal(B.used, 0);
}

static void done(void)
{
    hx_free(&E);
    /* Everything charged was given back. */
    assert_int_equal(B.used, 0);
    test_env_check_leaks(&TE);
}

static void expect_conn_error(uint64_t code)
{
    assert_true(E.closed);
    assert_int_equal(E.close_code, code);
    done();
}

/* What the decoder charges for a dynamic table of this capacity, from empty. */
static size_t table_cost(size_t capacity)
{
    return capacity + capacity / H3_QPACK_ENTRY_OVERHEAD * sizeof(h3_qpack_entry);
}

/* A HEADERS frame that arrives in pieces is charged its whole length while it is
 * assembled, and given back with the stream. */
static void test_headers_assembly_charged(void **state)
{
    (void)state;
    server_ready(0, NULL);
    hx_buf h = {.len = 0};
    const char *const kv[] = {":method", "GET", ":scheme", "https", ":authority", "a.example",
                              ":path",   "/",   NULL};
    hx_put_headers(&h, &TE, kv);
    hx_buf first = {.len = 0};
    hx_put(&first, h.b, 4);
    assert_int_equal(hx_feed(&E, 0, &first, false), H3_OK);
    size_t payload = h.len - 2; /* type 0x01, one-byte length */
    assert_true(payload < 64);
    assert_int_equal(B.used, payload);
    hx_buf rest = {.len = 0};
    hx_put(&rest, h.b + 4, h.len - 4);
    assert_int_equal(hx_feed(&E, 0, &rest, true), H3_OK);
    assert_int_equal(hx_msg_for(&E, 0)->sections, 1);
    assert_true(B.peak == payload);
    done();
}

/* A HEADERS frame the budget cannot hold: stream error H3_EXCESSIVE_LOAD (RFC 9114
 * §10.5), as for one over max_headers_frame; the connection goes on. */
static void test_headers_assembly_refused(void **state)
{
    (void)state;
    server_ready(1000, NULL);
    feed_hex(0, "01 4400 00", false); /* declares 1024 bytes, sends 1 */
    assert_false(E.closed);
    assert_true(hx_has_reset(&E, 0, H3_EXCESSIVE_LOAD));
    assert_true(hx_has_stop(&E, 0, H3_EXCESSIVE_LOAD));
    assert_int_equal(B.used, 0);
    /* The same frame fits another stream once the budget is larger. */
    B.limit = 1024;
    feed_hex(4, "01 4400 00", false);
    assert_false(hx_has_reset(&E, 4, H3_EXCESSIVE_LOAD));
    assert_int_equal(B.used, 1024);
    done();
}

/* A control-stream frame the budget cannot hold: connection error H3_EXCESSIVE_LOAD. */
static void test_control_frame_refused(void **state)
{
    (void)state;
    server_ready(1, NULL);
    assert_true(quince_budget_charge(&B, 1)); /* room 0 */
    feed_hex(C_CONTROL, "07 01", false);      /* GOAWAY whose payload is still to come */
    quince_budget_release(&B, 1);
    expect_conn_error(H3_EXCESSIVE_LOAD);
}

/* The dynamic table is charged its capacity and slots when the encoder sets it; a
 * smaller capacity gives the entries' part back (RFC 9204 §3.2.3, §7.3). */
static void test_qpack_table_charged(void **state)
{
    (void)state;
    server_ready(table_cost(100), NULL);
    feed_hex(C_ENCODER, "3f 45", false); /* Set Dynamic Table Capacity 100 */
    assert_false(E.closed);
    assert_int_equal(B.used, table_cost(100));
    feed_hex(C_ENCODER, "41 61 01 62", false); /* insert "a: b": within the charge */
    assert_int_equal(B.used, table_cost(100));
    feed_hex(C_ENCODER, "20", false); /* capacity 0: the ring of slots stays */
    assert_false(E.closed);
    assert_int_equal(B.used, table_cost(100) - 100);
    done();
}

/* A table capacity the budget cannot hold: connection error H3_EXCESSIVE_LOAD. */
static void test_qpack_table_refused(void **state)
{
    (void)state;
    server_ready(table_cost(100) - 1, NULL);
    feed_hex(C_ENCODER, "3f 45", false);
    expect_conn_error(H3_EXCESSIVE_LOAD);
}

/* An encoder instruction cut short is held in a buffer charged to the budget (16 bytes
 * at first); refused: QPACK_ENCODER_STREAM_ERROR, as past its own bound. */
static void test_qpack_encoder_buffer(void **state)
{
    (void)state;
    server_ready(table_cost(100) + 16, NULL);
    feed_hex(C_ENCODER, "3f 45 41 61 0a 62", false); /* value of 10 bytes, 1 sent */
    assert_false(E.closed);
    assert_int_equal(B.used, table_cost(100) + 16);
    hx_free(&E);
    assert_int_equal(B.used, 0);
    test_env_check_leaks(&TE);

    server_ready(table_cost(100) + 15, NULL);
    feed_hex(C_ENCODER, "3f 45 41 61 0a 62", false);
    expect_conn_error(H3_QPACK_ENCODER_STREAM_ERROR);
}

/* A blocked section's bytes are charged until the inserts come; past the budget:
 * QPACK_DECOMPRESSION_FAILED (RFC 9204 §2.1.2), as past the blocked-bytes bound. */
static void test_qpack_blocked_section(void **state)
{
    (void)state;
    server_ready(table_cost(100) + 3, NULL);
    /* Required Insert Count 1 (encoded 2), Base 1, indexed dynamic field 0: 3 bytes. */
    feed_hex(0, "01 03 0200 80", false);
    assert_false(E.closed);
    assert_int_equal(B.used, 3);
    /* The insert unblocks it: the copy is given back, the table charged. */
    feed_hex(C_ENCODER, "3f 45 41 61 01 62", false);
    assert_false(E.closed);
    assert_int_equal(B.used, table_cost(100));
    done();

    server_ready(2, NULL);
    feed_hex(0, "01 03 0200 80", false);
    expect_conn_error(H3_QPACK_DECOMPRESSION_FAILED);
}

/* Input behind a blocked section is held in a buffer charged to the budget (256 bytes
 * at first); refused: stream error H3_EXCESSIVE_LOAD, the section cancelled (RFC 9204
 * §4.4.2) and everything given back; the connection goes on. */
static void test_held_input(void **state)
{
    (void)state;
    server_ready(3 + 256, NULL);
    feed_hex(0, "01 03 0200 80 00 02 6869", false); /* the section, then DATA "hi" */
    assert_false(E.closed);
    assert_int_equal(B.used, 3 + 256);
    done();

    server_ready(3 + 255, NULL);
    feed_hex(0, "01 03 0200 80 00 02 6869", false);
    assert_false(E.closed);
    assert_true(hx_has_reset(&E, 0, H3_EXCESSIVE_LOAD));
    assert_true(hx_has_stop(&E, 0, H3_EXCESSIVE_LOAD));
    const hx_out *dec = hx_out_stream(&E, S_DECODER);
    assert_non_null(dec);
    assert_int_equal(dec->len, 2);
    assert_int_equal(dec->buf[1], 0x40); /* Stream Cancellation, stream 0 */
    assert_int_equal(B.used, 0);
    done();
}

/* The budget of a connection is a child of its endpoint's: h3's charges count there too. */
static void test_parent_budget(void **state)
{
    (void)state;
    quince_budget parent = {.limit = 500};
    server_ready(0, NULL);
    B.parent = &parent;
    feed_hex(0, "01 4400 00", false); /* 1024 bytes: over the parent's 500 */
    assert_true(hx_has_reset(&E, 0, H3_EXCESSIVE_LOAD));
    feed_hex(4, "01 4100 00", false); /* 256 bytes */
    assert_false(hx_has_reset(&E, 4, H3_EXCESSIVE_LOAD));
    assert_int_equal(parent.used, 256);
    done();
    assert_int_equal(parent.used, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_headers_assembly_charged),
        cmocka_unit_test(test_headers_assembly_refused),
        cmocka_unit_test(test_control_frame_refused),
        cmocka_unit_test(test_qpack_table_charged),
        cmocka_unit_test(test_qpack_table_refused),
        cmocka_unit_test(test_qpack_encoder_buffer),
        cmocka_unit_test(test_qpack_blocked_section),
        cmocka_unit_test(test_held_input),
        cmocka_unit_test(test_parent_budget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
