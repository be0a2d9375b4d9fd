/* Tests for quic/rtt.c (RFC 9002 §5): exact values from the §5.3 formulas. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "quic/rtt.h"

static void test_initial_values(void **state)
{
    (void)state;
    quic_rtt r;
    quic_rtt_init(&r, 0, 25000);
    /* §6.2.2: kInitialRtt 333 ms, rttvar = kInitialRtt / 2. */
    assert_int_equal(r.smoothed_rtt, 333000);
    assert_int_equal(r.rttvar, 166500);
    assert_false(r.has_sample);
    /* A handshake starts with a PTO of about one second: 333 + 4 * 166.5 ms. */
    assert_int_equal(quic_rtt_pto_base(&r), 999000);
    quic_rtt_init(&r, 50000, 25000);
    assert_int_equal(r.smoothed_rtt, 50000);
    assert_int_equal(r.rttvar, 25000);
}

static void test_first_sample_resets(void **state)
{
    (void)state;
    quic_rtt r;
    quic_rtt_init(&r, 0, 25000);
    /* The first sample ignores ack_delay and replaces the initial values. */
    quic_rtt_update(&r, 100000, 30000, false, 777);
    assert_true(r.has_sample);
    assert_int_equal(r.latest_rtt, 100000);
    assert_int_equal(r.min_rtt, 100000);
    assert_int_equal(r.smoothed_rtt, 100000);
    assert_int_equal(r.rttvar, 50000);
    assert_int_equal(r.first_sample_time, 777);
}

static void test_subsequent_samples(void **state)
{
    (void)state;
    quic_rtt r;
    quic_rtt_init(&r, 0, 25000);
    quic_rtt_update(&r, 100000, 0, false, 0);
    /* 120 ms with 10 ms ack delay: adjusted 110 ms.
     * rttvar = 3/4 * 50 + 1/4 * |100 - 110| = 40 ms
     * smoothed = 7/8 * 100 + 1/8 * 110 = 101.25 ms */
    quic_rtt_update(&r, 120000, 10000, false, 1);
    assert_int_equal(r.min_rtt, 100000);
    assert_int_equal(r.rttvar, 40000);
    assert_int_equal(r.smoothed_rtt, 101250);
    assert_int_equal(r.latest_rtt, 120000);
    /* A lower sample moves min_rtt. 80 ms, no delay:
     * rttvar = (3 * 40000 + 21250) / 4 = 35312 (integer)
     * smoothed = (7 * 101250 + 80000) / 8 = 98593 */
    quic_rtt_update(&r, 80000, 0, false, 2);
    assert_int_equal(r.min_rtt, 80000);
    assert_int_equal(r.rttvar, 35312);
    assert_int_equal(r.smoothed_rtt, 98593);
}

static void test_ack_delay_not_below_min_rtt(void **state)
{
    (void)state;
    quic_rtt r;
    quic_rtt_init(&r, 0, 25000);
    quic_rtt_update(&r, 100000, 0, true, 0);
    /* 105 ms < min_rtt 100 + delay 10: the delay is not subtracted. */
    quic_rtt_update(&r, 105000, 10000, true, 1);
    /* rttvar = (150000 + 5000) / 4, smoothed = (700000 + 105000) / 8 */
    assert_int_equal(r.rttvar, 38750);
    assert_int_equal(r.smoothed_rtt, 100625);
}

static void test_ack_delay_clamped_after_confirmation(void **state)
{
    (void)state;
    quic_rtt a, b;
    quic_rtt_init(&a, 0, 25000);
    quic_rtt_init(&b, 0, 25000);
    quic_rtt_update(&a, 100000, 0, false, 0);
    quic_rtt_update(&b, 100000, 0, false, 0);
    /* Before confirmation the full 40 ms delay counts: adjusted 110 ms. */
    quic_rtt_update(&a, 150000, 40000, false, 1);
    assert_int_equal(a.smoothed_rtt, (7 * 100000 + 110000) / 8);
    assert_int_equal(a.rttvar, (3 * 50000 + 10000) / 4);
    /* After confirmation it is limited to max_ack_delay 25 ms: adjusted 125 ms. */
    quic_rtt_update(&b, 150000, 40000, true, 1);
    assert_int_equal(b.smoothed_rtt, (7 * 100000 + 125000) / 8);
    assert_int_equal(b.rttvar, (3 * 50000 + 25000) / 4);
}

static void test_pto_and_loss_delay(void **state)
{
    (void)state;
    quic_rtt r;
    quic_rtt_init(&r, 0, 25000);
    quic_rtt_update(&r, 40000, 0, false, 0);
    /* PTO base = smoothed + max(4 * rttvar, kGranularity) = 40 + 80 ms. */
    assert_int_equal(quic_rtt_pto_base(&r), 120000);
    /* Loss delay = 9/8 * max(smoothed, latest) = 45 ms. */
    assert_int_equal(quic_rtt_loss_delay(&r), 45000);
    /* A later, larger latest_rtt dominates smoothed_rtt. */
    quic_rtt_update(&r, 80000, 0, false, 1);
    assert_int_equal(r.smoothed_rtt, 45000);
    assert_int_equal(quic_rtt_loss_delay(&r), 90000);

    /* Tiny RTTs: both are floored at kGranularity (1 ms). */
    quic_rtt_init(&r, 0, 0);
    quic_rtt_update(&r, 100, 0, false, 0);
    for (int i = 0; i < 40; i++)
        quic_rtt_update(&r, 100, 0, false, 0);
    assert_int_equal(r.rttvar, 0);
    assert_int_equal(quic_rtt_pto_base(&r), 100 + 1000);
    assert_int_equal(quic_rtt_loss_delay(&r), 1000);
}

static void test_reset_min_rtt(void **state)
{
    (void)state;
    quic_rtt r;
    quic_rtt_init(&r, 0, 25000);
    quic_rtt_reset_min_rtt(&r); /* no sample: no effect */
    assert_int_equal(r.min_rtt, 0);
    quic_rtt_update(&r, 50000, 0, false, 0);
    quic_rtt_update(&r, 200000, 0, false, 1);
    assert_int_equal(r.min_rtt, 50000);
    quic_rtt_reset_min_rtt(&r);
    assert_int_equal(r.min_rtt, 200000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_initial_values),
        cmocka_unit_test(test_first_sample_resets),
        cmocka_unit_test(test_subsequent_samples),
        cmocka_unit_test(test_ack_delay_not_below_min_rtt),
        cmocka_unit_test(test_ack_delay_clamped_after_confirmation),
        cmocka_unit_test(test_pto_and_loss_delay),
        cmocka_unit_test(test_reset_min_rtt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
