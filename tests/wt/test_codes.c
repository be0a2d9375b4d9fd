/* Tests for wt/codes.c (WebTransport error codes <-> HTTP/3 codes, draft-ietf-webtrans-http3-02
 * §4.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "wt/codes.h"

/* ---- WebTransport error code mapping (draft-02 §4.3) ---- */

static void check_around(uint32_t n)
{
    uint64_t h = wt_error_to_http3(n);
    uint32_t back;
    assert_false(h3_is_grease(h));
    assert_true(h >= H3_WT_APP_ERROR_FIRST && h <= H3_WT_APP_ERROR_LAST);
    assert_true(wt_error_from_http3(h, &back));
    assert_int_equal(back, n);
    if (n < UINT32_MAX) {
        uint64_t next = wt_error_to_http3(n + 1);
        assert_true(next > h);
        /* Consecutive codes are adjacent or straddle exactly one GREASE value. */
        assert_true(next - h == 1 || (next - h == 2 && h3_is_grease(h + 1)));
        if (next - h == 2)
            assert_false(wt_error_from_http3(h + 1, &back));
    }
}

static void test_wt_error_mapping(void **state)
{
    (void)state;
    uint32_t back;
    /* The ends named by the drafts, and the first skipped value of draft-02 §8.5. */
    assert_int_equal(wt_error_to_http3(0), 0x52e4a40fa8dbULL);
    assert_int_equal(wt_error_to_http3(0xff), 0x52e4a40fa9e2ULL);
    assert_int_equal(wt_error_to_http3(0xffffffff), H3_WT_APP_ERROR_LAST);
    assert_int_equal(wt_error_to_http3(0x1d), 0x52e4a40fa8f8ULL);
    assert_int_equal(wt_error_to_http3(0x1e), 0x52e4a40fa8faULL);
    const uint64_t skipped[] = {0x52e4a40fa8f9, 0x52e4a40fa918, 0x52e4a40fa937, 0x52e4a40fa956,
                                0x52e4a40fa975, 0x52e4a40fa994, 0x52e4a40fa9b3, 0x52e4a40fa9d2};
    for (size_t i = 0; i < 8; i++) {
        assert_true(h3_is_grease(skipped[i]));
        assert_false(wt_error_from_http3(skipped[i], &back));
    }
    /* Outside the range. */
    assert_false(wt_error_from_http3(H3_WT_APP_ERROR_FIRST - 1, &back));
    assert_false(wt_error_from_http3(H3_WT_APP_ERROR_LAST + 1, &back));
    assert_false(wt_error_from_http3(H3_NO_ERROR, &back));
    assert_false(wt_error_from_http3(UINT64_MAX, &back));

    /* Every value near both ends. */
    for (uint32_t n = 0; n < (1u << 20); n++)
        check_around(n);
    for (uint32_t n = UINT32_MAX - (1u << 20); n != 0; n++)
        check_around(n);
    /* Every HTTP/3 code near both ends of the range maps back or is GREASE. */
    for (uint64_t h = H3_WT_APP_ERROR_FIRST; h < H3_WT_APP_ERROR_FIRST + 100000; h++) {
        bool ok = wt_error_from_http3(h, &back);
        assert_true(ok != h3_is_grease(h));
        if (ok)
            assert_int_equal(wt_error_to_http3(back), h);
    }
    for (uint64_t h = H3_WT_APP_ERROR_LAST - 100000; h <= H3_WT_APP_ERROR_LAST; h++) {
        bool ok = wt_error_from_http3(h, &back);
        assert_true(ok != h3_is_grease(h));
        if (ok)
            assert_int_equal(wt_error_to_http3(back), h);
    }
    /* Across the whole range: every 0x1e-wide block boundary (where a GREASE
     * gap is stepped over) at a prime stride, plus a prime stride over n. */
    for (uint64_t k = 1; k * 0x1e <= UINT32_MAX; k += 997) {
        uint32_t b = (uint32_t)(k * 0x1e);
        for (uint32_t d = 0; d < 4; d++)
            check_around(b - 2 + d);
    }
    uint64_t prev = 0;
    for (uint64_t n = 0; n <= UINT32_MAX; n += 65521) {
        check_around((uint32_t)n);
        uint64_t h = wt_error_to_http3((uint32_t)n);
        assert_true(h > prev);
        prev = h;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wt_error_mapping),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
