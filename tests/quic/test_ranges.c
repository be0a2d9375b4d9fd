/* Tests for quic/ranges.c: merging, removal, the cap and its two policies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "quic/error.h"
#include "quic/ranges.h"
#include "tests/common/test_env.h"

static void expect(const quic_ranges *rs, const uint64_t (*want)[2], size_t n)
{
    assert_int_equal(quic_ranges_count(rs), n);
    for (size_t i = 0; i < n; i++) {
        quic_range r = quic_ranges_at(rs, i);
        assert_int_equal(r.start, want[i][0]);
        assert_int_equal(r.end, want[i][1]);
    }
}

static void test_merge(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 1);
    quic_ranges rs;
    quic_ranges_init(&rs, &te.env, 64, true);
    /* Out of order single packet numbers. */
    assert_int_equal(quic_ranges_add(&rs, 5, 6), QUIC_OK);
    assert_int_equal(quic_ranges_add(&rs, 1, 2), QUIC_OK);
    assert_int_equal(quic_ranges_add(&rs, 9, 10), QUIC_OK);
    const uint64_t w1[][2] = {{1, 2}, {5, 6}, {9, 10}};
    expect(&rs, w1, 3);
    /* Adjacent on both sides merges three into one. */
    assert_int_equal(quic_ranges_add(&rs, 2, 5), QUIC_OK);
    const uint64_t w2[][2] = {{1, 6}, {9, 10}};
    expect(&rs, w2, 2);
    /* Overlapping several, extending both ends. */
    assert_int_equal(quic_ranges_add(&rs, 20, 30), QUIC_OK);
    assert_int_equal(quic_ranges_add(&rs, 0, 25), QUIC_OK);
    const uint64_t w3[][2] = {{0, 30}};
    expect(&rs, w3, 1);
    /* Duplicate and contained: no change. */
    assert_int_equal(quic_ranges_add(&rs, 3, 4), QUIC_OK);
    assert_int_equal(quic_ranges_add(&rs, 0, 30), QUIC_OK);
    assert_int_equal(quic_ranges_add(&rs, 7, 7), QUIC_OK);
    expect(&rs, w3, 1);
    assert_int_equal(quic_ranges_add(&rs, 8, 7), QUIC_ERR_ARGUMENT);
    /* Adjacent at the end only. */
    assert_int_equal(quic_ranges_add(&rs, 30, 31), QUIC_OK);
    const uint64_t w4[][2] = {{0, 31}};
    expect(&rs, w4, 1);
    assert_true(quic_ranges_contains(&rs, 0));
    assert_true(quic_ranges_contains(&rs, 30));
    assert_false(quic_ranges_contains(&rs, 31));
    /* Largest-first access. */
    assert_int_equal(quic_ranges_add(&rs, 40, 41), QUIC_OK);
    assert_int_equal(quic_ranges_from_largest(&rs, 0).start, 40);
    assert_int_equal(quic_ranges_from_largest(&rs, 1).start, 0);
    assert_false(quic_ranges_contains(&rs, 35));
    quic_ranges_free(&rs);
    test_env_check_leaks(&te);
}

static void test_remove_below(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 1);
    quic_ranges rs;
    quic_ranges_init(&rs, &te.env, 64, true);
    quic_ranges_add(&rs, 0, 5);
    quic_ranges_add(&rs, 10, 15);
    quic_ranges_add(&rs, 20, 25);
    quic_ranges_remove_below(&rs, 12);
    const uint64_t w1[][2] = {{12, 15}, {20, 25}};
    expect(&rs, w1, 2);
    quic_ranges_remove_below(&rs, 15);
    const uint64_t w2[][2] = {{20, 25}};
    expect(&rs, w2, 1);
    quic_ranges_remove_below(&rs, 100);
    expect(&rs, NULL, 0);
    quic_ranges_remove_below(&rs, 200);
    quic_ranges_free(&rs);
    test_env_check_leaks(&te);
}

static void test_cap(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 1);
    quic_ranges rs;
    /* ACK policy: the smallest range goes. */
    quic_ranges_init(&rs, &te.env, 3, true);
    for (uint64_t i = 0; i < 10; i++)
        assert_int_equal(quic_ranges_add(&rs, 10 * i, 10 * i + 1), QUIC_OK);
    const uint64_t w1[][2] = {{70, 71}, {80, 81}, {90, 91}};
    expect(&rs, w1, 3);
    /* A new range below everything is the one dropped. */
    assert_int_equal(quic_ranges_add(&rs, 0, 1), QUIC_OK);
    expect(&rs, w1, 3);
    /* A new middle range drops the smallest. */
    assert_int_equal(quic_ranges_add(&rs, 85, 86), QUIC_OK);
    const uint64_t w2[][2] = {{80, 81}, {85, 86}, {90, 91}};
    expect(&rs, w2, 3);
    /* Merging never needs room. */
    assert_int_equal(quic_ranges_add(&rs, 81, 90), QUIC_OK);
    const uint64_t w3[][2] = {{80, 91}};
    expect(&rs, w3, 1);
    assert_true(rs.cap <= 4);
    quic_ranges_free(&rs);

    /* Refusing policy (stream reassembly). */
    quic_ranges_init(&rs, &te.env, 2, false);
    assert_int_equal(quic_ranges_add(&rs, 0, 1), QUIC_OK);
    assert_int_equal(quic_ranges_add(&rs, 5, 6), QUIC_OK);
    assert_int_equal(quic_ranges_add(&rs, 9, 10), QUIC_ERR_LIMIT);
    assert_int_equal(quic_ranges_add(&rs, 1, 5), QUIC_OK);
    assert_int_equal(quic_ranges_count(&rs), 1);
    quic_ranges_free(&rs);

    /* Allocation failure leaves the set unchanged. */
    quic_ranges_init(&rs, &te.env, 100, true);
    te.fail_after = 1;
    assert_int_equal(quic_ranges_add(&rs, 0, 1), QUIC_ERR_NOMEM);
    assert_int_equal(quic_ranges_count(&rs), 0);
    assert_int_equal(quic_ranges_add(&rs, 0, 1), QUIC_OK);
    quic_ranges_free(&rs);
    test_env_check_leaks(&te);
}

/* Random inserts against a bitmap model. */
static void test_model(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 7);
    quic_ranges rs;
    quic_ranges_init(&rs, &te.env, 1000, true);
    uint8_t model[512] = {0};
    uint64_t x = 12345;
    for (int it = 0; it < 2000; it++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t s = (x >> 33) % 500, l = (x >> 20) % 8;
        assert_int_equal(quic_ranges_add(&rs, s, s + l), QUIC_OK);
        for (uint64_t k = s; k < s + l; k++)
            model[k] = 1;
        if (it % 500 == 499) {
            quic_ranges_remove_below(&rs, (uint64_t)it / 10);
            for (int k = 0; k < it / 10; k++)
                model[k] = 0;
        }
        for (uint64_t k = 0; k < 512; k += 13)
            assert_int_equal(quic_ranges_contains(&rs, k), model[k] == 1);
    }
    for (size_t i = 0; i + 1 < quic_ranges_count(&rs); i++)
        assert_true(quic_ranges_at(&rs, i).end < quic_ranges_at(&rs, i + 1).start);
    for (uint64_t k = 0; k < 512; k++)
        assert_int_equal(quic_ranges_contains(&rs, k), model[k] == 1);
    quic_ranges_free(&rs);
    test_env_check_leaks(&te);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_remove_below),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
