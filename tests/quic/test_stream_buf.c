/* Tests for quic/stream_buf.c (RFC 9000 §2.2, §4.5, §7.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "quic/stream_buf.h"
#include "base/varint.h"
#include "tests/common/test_env.h"

static uint8_t src[4096];

static void setup_src(void)
{
    for (size_t i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)(i * 7 + 3);
}

static int put(quic_stream_buf *sb, uint64_t off, size_t len, bool fin)
{
    return quic_stream_buf_write(sb, off, src + off, len, fin);
}

static void test_in_order_and_gaps(void **state)
{
    (void)state;
    setup_src();
    test_env te;
    test_env_init(&te, 1);
    quic_stream_buf sb;
    quic_stream_buf_init(&sb, &te.env, 1024, 16, NULL);
    size_t n;
    assert_null(quic_stream_buf_peek(&sb, &n));
    assert_int_equal(n, 0);
    assert_int_equal(put(&sb, 10, 10, false), QUIC_OK);
    assert_null(quic_stream_buf_peek(&sb, &n)); /* a hole at 0..10 */
    assert_int_equal(put(&sb, 0, 5, false), QUIC_OK);
    const uint8_t *p = quic_stream_buf_peek(&sb, &n);
    assert_int_equal(n, 5);
    assert_memory_equal(p, src, 5);
    /* Fill the hole with an overlapping chunk: its new bytes extend the first piece, so
     * peek shows that piece (10 bytes) and then the next one (10 more). */
    assert_int_equal(put(&sb, 3, 12, false), QUIC_OK);
    p = quic_stream_buf_peek(&sb, &n);
    assert_int_equal(n, 10);
    assert_memory_equal(p, src, 10);
    assert_int_equal(sb.n_segs, 2);
    uint8_t out[64];
    assert_int_equal(quic_stream_buf_read(&sb, out, 7), 7);
    assert_memory_equal(out, src, 7);
    assert_int_equal(sb.read_offset, 7);
    /* Duplicates, entirely below the read offset or inside held data. */
    assert_int_equal(put(&sb, 0, 7, false), QUIC_OK);
    assert_int_equal(put(&sb, 8, 4, false), QUIC_OK);
    assert_int_equal(quic_stream_buf_read(&sb, out, sizeof(out)), 13);
    assert_memory_equal(out, src + 7, 13);
    assert_null(quic_stream_buf_peek(&sb, &n));
    /* Empty frame: fine. */
    assert_int_equal(put(&sb, 20, 0, false), QUIC_OK);
    quic_stream_buf_free(&sb);
    test_env_check_leaks(&te);
}

/* First copy wins: a later conflicting copy does not overwrite (documented choice). */
static void test_first_copy_wins(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 1);
    quic_stream_buf sb;
    quic_stream_buf_init(&sb, &te.env, 1024, 16, NULL);
    assert_int_equal(quic_stream_buf_write(&sb, 5, (const uint8_t *)"AAAAA", 5, false), QUIC_OK);
    assert_int_equal(quic_stream_buf_write(&sb, 0, (const uint8_t *)"bbbbbbbbbbbbbbb", 15, false),
                     QUIC_OK);
    uint8_t out[32];
    assert_int_equal(quic_stream_buf_read(&sb, out, sizeof(out)), 15);
    assert_memory_equal(out, "bbbbbAAAAAbbbbb", 15);
    quic_stream_buf_free(&sb);
    test_env_check_leaks(&te);
}

/* RFC 9000 §4.5 */
static void test_final_size(void **state)
{
    (void)state;
    setup_src();
    test_env te;
    test_env_init(&te, 1);
    quic_stream_buf sb;
    quic_stream_buf_init(&sb, &te.env, 1024, 16, NULL);
    assert_int_equal(put(&sb, 0, 10, false), QUIC_OK);
    assert_int_equal(put(&sb, 20, 10, false), QUIC_OK);
    /* A final size below data already received. */
    assert_int_equal(put(&sb, 10, 5, true), QUIC_ERR_FINAL_SIZE);
    assert_int_equal(quic_stream_buf_set_final(&sb, 29), QUIC_ERR_FINAL_SIZE);
    assert_false(sb.has_final);
    assert_int_equal(put(&sb, 25, 10, true), QUIC_OK);
    assert_int_equal(sb.final_size, 35);
    /* Same final size again: fine (a retransmission). */
    assert_int_equal(put(&sb, 30, 5, true), QUIC_OK);
    assert_int_equal(quic_stream_buf_set_final(&sb, 35), QUIC_OK);
    /* A changed final size. */
    assert_int_equal(put(&sb, 30, 6, true), QUIC_ERR_FINAL_SIZE);
    assert_int_equal(put(&sb, 30, 4, true), QUIC_ERR_FINAL_SIZE);
    assert_int_equal(quic_stream_buf_set_final(&sb, 36), QUIC_ERR_FINAL_SIZE);
    /* Data beyond the final size. */
    assert_int_equal(put(&sb, 34, 2, false), QUIC_ERR_FINAL_SIZE);
    assert_int_equal(put(&sb, 40, 1, false), QUIC_ERR_FINAL_SIZE);
    /* Data up to it is fine; read it all. */
    assert_int_equal(put(&sb, 10, 10, false), QUIC_OK);
    assert_false(quic_stream_buf_finished(&sb));
    uint8_t out[64];
    assert_int_equal(quic_stream_buf_read(&sb, out, sizeof(out)), 35);
    assert_memory_equal(out, src, 35);
    assert_true(quic_stream_buf_finished(&sb));
    quic_stream_buf_free(&sb);

    /* FIN on an empty frame, and RESET_STREAM style final sizes. */
    quic_stream_buf_init(&sb, &te.env, 1024, 16, NULL);
    assert_int_equal(put(&sb, 0, 0, true), QUIC_OK);
    assert_true(quic_stream_buf_finished(&sb));
    assert_int_equal(put(&sb, 0, 1, false), QUIC_ERR_FINAL_SIZE);
    quic_stream_buf_free(&sb);
    quic_stream_buf_init(&sb, &te.env, 1024, 16, NULL);
    assert_int_equal(quic_stream_buf_set_final(&sb, 1000000), QUIC_OK); /* past the window */
    assert_int_equal(put(&sb, 0, 4, false), QUIC_OK);
    quic_stream_buf_free(&sb);
    test_env_check_leaks(&te);
}

static void test_bounds(void **state)
{
    (void)state;
    setup_src();
    test_env te;
    test_env_init(&te, 1);
    quic_stream_buf sb;
    quic_stream_buf_init(&sb, &te.env, 100, 3, NULL);
    /* The window is [read_offset, read_offset + 100). */
    assert_int_equal(put(&sb, 90, 10, false), QUIC_OK);
    assert_int_equal(put(&sb, 90, 11, false), QUIC_ERR_LIMIT);
    assert_int_equal(put(&sb, 200, 1, false), QUIC_ERR_LIMIT);
    /* Pieces held are bounded too (max_segs 3): past it the bytes are refused with
     * QUIC_ERR_BUDGET (the caller holds the peer), except bytes at the read offset, which
     * the application can take at once. */
    assert_int_equal(put(&sb, 10, 1, false), QUIC_OK);
    assert_int_equal(put(&sb, 20, 1, false), QUIC_OK);
    assert_int_equal(put(&sb, 30, 1, false), QUIC_ERR_BUDGET);
    assert_int_equal(put(&sb, 0, 10, false), QUIC_OK);
    assert_int_equal(sb.n_segs, 4);
    uint8_t out[128];
    assert_int_equal(quic_stream_buf_read(&sb, out, sizeof(out)), 11);
    /* The window slid: 111 is now acceptable. */
    assert_int_equal(put(&sb, 100, 11, false), QUIC_OK);
    assert_int_equal(put(&sb, 100, 12, false), QUIC_ERR_LIMIT);
    assert_true(sb.held <= 100 + 4 * QUIC_STREAM_SEG_OVERHEAD + 3 * sizeof(quic_stream_seg));
    /* 2^62 limit. */
    assert_int_equal(quic_stream_buf_write(&sb, QUINCE_VARINT_MAX, src, 1, false),
                     QUIC_ERR_FRAME_ENCODING);
    quic_stream_buf_free(&sb);
    /* Allocation failure: an error and no change. */
    quic_stream_buf_init(&sb, &te.env, 100, 3, NULL);
    te.fail_after = 1;
    assert_int_equal(put(&sb, 0, 10, false), QUIC_ERR_NOMEM);
    size_t n;
    assert_null(quic_stream_buf_peek(&sb, &n));
    assert_int_equal(put(&sb, 0, 10, false), QUIC_OK);
    quic_stream_buf_free(&sb);
    test_env_check_leaks(&te);
}

/* Random chunks with overlaps and duplicates reassemble to the source. */
static void test_random_reassembly(void **state)
{
    (void)state;
    setup_src();
    test_env te;
    test_env_init(&te, 5);
    quic_stream_buf sb;
    quic_stream_buf_init(&sb, &te.env, 512, 64, NULL);
    uint8_t out[4096];
    size_t got = 0;
    uint64_t x = 99;
    int rounds = 0;
    while (got < sizeof(src) && rounds++ < 100000) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t off = sb.read_offset + (x >> 40) % 600;
        if (off > sb.read_offset + 32 && ((x >> 8) & 3) == 0)
            off -= 64; /* some duplicates of read data */
        size_t len = (size_t)((x >> 20) % 100);
        if (off >= sizeof(src))
            continue;
        if (off + len > sizeof(src))
            len = sizeof(src) - (size_t)off;
        int rc = put(&sb, off, len, off + len == sizeof(src));
        if (off + len > sb.read_offset + 512)
            assert_int_equal(rc, QUIC_ERR_LIMIT);
        else
            assert_true(rc == QUIC_OK || rc == QUIC_ERR_LIMIT);
        if ((x >> 4) % 3 == 0)
            got += quic_stream_buf_read(&sb, out + got, sizeof(out) - got);
    }
    got += quic_stream_buf_read(&sb, out + got, sizeof(out) - got);
    assert_int_equal(got, sizeof(src));
    assert_memory_equal(out, src, sizeof(src));
    assert_true(quic_stream_buf_finished(&sb));
    quic_stream_buf_free(&sb);
    test_env_check_leaks(&te);
}

/* RFC 9000 §21.7: memory follows the bytes received, not the offsets they sit at. Sixty
 * one-byte frames spread over a 16 MiB window hold sixty bytes (plus per-piece overhead);
 * the offset span was 16 MB before. */
static void test_costs_what_was_received(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 1);
    quince_budget b = {.limit = 0};
    quic_stream_buf sb;
    quic_stream_buf_init(&sb, &te.env, 16 * 1024 * 1024, 0, &b);
    uint8_t one = 0x5a;
    for (uint64_t i = 1; i <= 60; i++)
        assert_int_equal(quic_stream_buf_write(&sb, i * 270000, &one, 1, false), QUIC_OK);
    assert_int_equal(sb.n_segs, 60);
    /* 60 bytes, 60 x 16 bytes of overhead, a table of 64 pieces. */
    assert_int_equal(sb.held, 60 + 60 * QUIC_STREAM_SEG_OVERHEAD + 64 * sizeof(quic_stream_seg));
    assert_int_equal(b.used, sb.held);
    assert_true(b.used < 4096);
    /* There is no gap limit: another thousand holes are accepted. */
    for (uint64_t i = 0; i < 1000; i++)
        assert_int_equal(quic_stream_buf_write(&sb, 100 + i * 2, &one, 1, false), QUIC_OK);
    assert_int_equal(sb.n_segs, 1060);
    quic_stream_buf_free(&sb);
    assert_int_equal(b.used, 0);
    test_env_check_leaks(&te);
}

/* In-order bytes go into one piece that grows (doubling up to QUIC_STREAM_SEG_MAX), which
 * is kept for reuse once read, so a stream read as it arrives holds one small piece. */
static void test_in_order_one_piece(void **state)
{
    (void)state;
    setup_src();
    test_env te;
    test_env_init(&te, 1);
    quince_budget b = {.limit = 0};
    quic_stream_buf sb;
    quic_stream_buf_init(&sb, &te.env, 1 << 20, 0, &b);
    for (uint64_t off = 0; off < 4000; off += 100)
        assert_int_equal(put(&sb, off, 100, false), QUIC_OK);
    assert_int_equal(sb.n_segs, 1);
    assert_int_equal(sb.segs[0].cap, 6400); /* 100, 200, ... 6400 */
    uint8_t out[4096];
    assert_int_equal(quic_stream_buf_read(&sb, out, sizeof(out)), 4000);
    assert_memory_equal(out, src, 4000);
    assert_int_equal(sb.n_segs, 1); /* kept, empty, for what comes next */
    size_t held = sb.held;
    assert_int_equal(put(&sb, 4000, 96, false), QUIC_OK);
    assert_int_equal(sb.held, held);
    assert_int_equal(quic_stream_buf_read(&sb, out, sizeof(out)), 96);
    assert_memory_equal(out, src + 4000, 96);
    quic_stream_buf_free(&sb);
    assert_int_equal(b.used, 0);
    test_env_check_leaks(&te);
}

/* A full budget refuses bytes with QUIC_ERR_BUDGET (nothing charged past the limit); reading
 * gives the memory back and the same bytes are then taken. */
static void test_budget_holds(void **state)
{
    (void)state;
    setup_src();
    test_env te;
    test_env_init(&te, 1);
    quince_budget parent = {.limit = 0};
    quince_budget b = {.limit = 1000, .parent = &parent};
    quic_stream_buf sb;
    quic_stream_buf_init(&sb, &te.env, 1 << 20, 0, &b);
    /* 4 x 40 bytes of table + 500 + 16: fits; another 500 + 16 does not. */
    assert_int_equal(put(&sb, 0, 500, false), QUIC_OK);
    assert_int_equal(b.used, 4 * sizeof(quic_stream_seg) + 500 + QUIC_STREAM_SEG_OVERHEAD);
    assert_int_equal(put(&sb, 1000, 500, false), QUIC_ERR_BUDGET);
    assert_int_equal(sb.max_received, 1500); /* the peer did send up to there */
    assert_true(b.used <= b.limit);
    assert_int_equal(parent.used, b.used);
    uint8_t out[600];
    assert_int_equal(quic_stream_buf_read(&sb, out, sizeof(out)), 500);
    /* The emptied piece is kept (one piece, small): the out-of-order bytes still do not
     * fit beside it, but in-order bytes go into it. */
    assert_int_equal(put(&sb, 500, 400, false), QUIC_OK);
    assert_int_equal(quic_stream_buf_read(&sb, out, sizeof(out)), 400);
    assert_memory_equal(out, src + 500, 400);
    quic_stream_buf_free(&sb);
    assert_int_equal(b.used, 0);
    assert_int_equal(parent.used, 0);
    assert_true(b.peak <= b.limit);
    test_env_check_leaks(&te);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_and_gaps), cmocka_unit_test(test_first_copy_wins),
        cmocka_unit_test(test_final_size),        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_random_reassembly),
        cmocka_unit_test(test_costs_what_was_received),
        cmocka_unit_test(test_in_order_one_piece),
        cmocka_unit_test(test_budget_holds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
