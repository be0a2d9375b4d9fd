/* Tests for base/varint.c (RFC 9000 §16, including the examples of Appendix A.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/varint.h"

static void decode_hex(const uint8_t *in, size_t len, uint64_t expect)
{
    quince_reader r = quince_reader_init(in, len);
    uint64_t v = 0;
    assert_true(quince_get_varint(&r, &v));
    assert_int_equal(v, expect);
    assert_true(quince_reader_empty(&r));
    /* Every truncation fails and leaves the cursor in place. */
    for (size_t cut = 0; cut < len; cut++) {
        quince_reader t = quince_reader_init(in, cut);
        assert_false(quince_get_varint(&t, &v));
        assert_ptr_equal(t.p, in);
    }
}

/* RFC 9000 §A.1 sample decodings. */
static void test_rfc_examples(void **state)
{
    (void)state;
    const uint8_t e8[] = {0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c};
    const uint8_t e4[] = {0x9d, 0x7f, 0x3e, 0x7d};
    const uint8_t e2[] = {0x7b, 0xbd};
    const uint8_t e1[] = {0x25};
    const uint8_t e2b[] = {0x40, 0x25};
    decode_hex(e8, sizeof(e8), 151288809941952652ULL);
    decode_hex(e4, sizeof(e4), 494878333);
    decode_hex(e2, sizeof(e2), 15293);
    decode_hex(e1, sizeof(e1), 37);
    decode_hex(e2b, sizeof(e2b), 37); /* non-minimal is legal */
}

static void test_roundtrip_boundaries(void **state)
{
    (void)state;
    const uint64_t vals[] = {0, 63, 64, 16383, 16384, 1073741823, 1073741824, QUINCE_VARINT_MAX};
    const size_t lens[] = {1, 1, 2, 2, 4, 4, 8, 8};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        uint8_t buf[8];
        quince_writer w = quince_writer_init(buf, sizeof(buf));
        assert_int_equal(quince_varint_len(vals[i]), lens[i]);
        assert_true(quince_put_varint(&w, vals[i]));
        assert_int_equal(w.p - buf, (ptrdiff_t)lens[i]);
        quince_reader r = quince_reader_init(buf, lens[i]);
        uint64_t v;
        assert_true(quince_get_varint(&r, &v));
        assert_int_equal(v, vals[i]);
        /* One byte too few room fails and marks overflow. */
        quince_writer s = quince_writer_init(buf, lens[i] - 1);
        assert_false(quince_put_varint(&s, vals[i]));
        assert_true(s.overflow);
    }
}

static void test_too_big_and_fixed(void **state)
{
    (void)state;
    uint8_t buf[8];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_int_equal(quince_varint_len(QUINCE_VARINT_MAX + 1), 0);
    assert_false(quince_put_varint(&w, QUINCE_VARINT_MAX + 1));
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(quince_put_varint_fixed(&w, 37, 4));
    const uint8_t want[] = {0x80, 0x00, 0x00, 0x25};
    assert_memory_equal(buf, want, 4);
    w = quince_writer_init(buf, sizeof(buf));
    assert_false(quince_put_varint_fixed(&w, 16384, 2));
    w = quince_writer_init(buf, sizeof(buf));
    assert_false(quince_put_varint_fixed(&w, 1, 3));
}

static void test_cursor_bounds(void **state)
{
    (void)state;
    const uint8_t in[] = {1, 2, 3, 4, 5};
    quince_reader r = quince_reader_init(in, sizeof(in));
    uint32_t v32;
    uint16_t v16;
    quince_reader sub;
    assert_true(quince_get_u16(&r, &v16));
    assert_int_equal(v16, 0x0102);
    assert_false(quince_get_u32(&r, &v32));
    assert_int_equal(quince_reader_left(&r), 3);
    assert_true(quince_get_u24(&r, &v32));
    assert_int_equal(v32, 0x030405);
    assert_false(quince_get_sub(&r, 1, &sub));
    uint8_t out[3];
    quince_writer w = quince_writer_init(out, sizeof(out));
    assert_true(quince_put_u16(&w, 0xabcd));
    assert_false(quince_put_u16(&w, 0x1234));
    assert_false(quince_put_u8(&w, 1)); /* sticky overflow */
    assert_int_equal(quince_writer_left(&w), 0);
}

/* Header of two varints collected a byte at a time (HTTP/3 frames, capsules). */
static void test_pair_need(void **state)
{
    (void)state;
    const uint8_t one_one[] = {0x01, 0x05};
    const uint8_t two_four[] = {0x40, 0x21, 0x80, 0x00, 0x00, 0x10};
    const uint8_t eight_one[] = {0xc0, 0, 0, 0, 0, 0, 0, 0x21, 0x3f};
    assert_int_equal(quince_varint_pair_need(one_one, 0), 1);
    assert_int_equal(quince_varint_pair_need(one_one, 1), 2);
    assert_int_equal(quince_varint_pair_need(one_one, 2), 2);
    assert_int_equal(quince_varint_pair_need(two_four, 1), 3);
    assert_int_equal(quince_varint_pair_need(two_four, 2), 3);
    assert_int_equal(quince_varint_pair_need(two_four, 3), 6);
    assert_int_equal(quince_varint_pair_need(eight_one, 1), 9);
    assert_int_equal(quince_varint_pair_need(eight_one, 9), 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples),      cmocka_unit_test(test_roundtrip_boundaries),
        cmocka_unit_test(test_too_big_and_fixed), cmocka_unit_test(test_cursor_bounds),
        cmocka_unit_test(test_pair_need),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
