/* Tests for quic/pacer.c (RFC 9002 §7.7): exact send times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "quic/pacer.h"

#define MS 1000u
#define MSS 1200u

/* rate = 1.25 * 12000 B / 100 ms = 0.15 B/us: one 1200-byte packet per 8 ms. */
static void test_burst_then_interval(void **state)
{
    (void)state;
    quic_pacer p;
    quic_pacer_init(&p, MSS, 0);
    const uint64_t cwnd = 12000, srtt = 100 * MS;
    /* A burst of 10 packets leaves at once. */
    for (int i = 0; i < 10; i++) {
        assert_int_equal(quic_pacer_next_send_time(&p, cwnd, srtt, MSS, 5 * MS), 5 * MS);
        quic_pacer_on_sent(&p, cwnd, srtt, MSS, 5 * MS);
    }
    /* Then one every 8 ms. */
    uint64_t t = 5 * MS;
    for (int i = 0; i < 20; i++) {
        uint64_t next = quic_pacer_next_send_time(&p, cwnd, srtt, MSS, t);
        assert_int_equal(next, t + 8 * MS);
        t = next;
        assert_int_equal(quic_pacer_next_send_time(&p, cwnd, srtt, MSS, t), t);
        quic_pacer_on_sent(&p, cwnd, srtt, MSS, t);
    }
    /* Halfway through an interval half the bytes are there: 4 ms to go. */
    assert_int_equal(quic_pacer_next_send_time(&p, cwnd, srtt, MSS, t + 4 * MS), t + 8 * MS);
    /* A smaller packet needs proportionally less: 600 bytes at 0.15 B/us. */
    assert_int_equal(quic_pacer_next_send_time(&p, cwnd, srtt, 600, t + 4 * MS), t + 4 * MS);
}

/* The rate follows N * cwnd / smoothed_rtt. */
static void test_rate_scales(void **state)
{
    (void)state;
    quic_pacer p;
    quic_pacer_init(&p, MSS, 1); /* burst of one packet */
    quic_pacer_on_sent(&p, 24000, 100 * MS, MSS, 0);
    /* Double the window: 4 ms. */
    assert_int_equal(quic_pacer_next_send_time(&p, 24000, 100 * MS, MSS, 0), 4 * MS);
    quic_pacer_on_sent(&p, 24000, 100 * MS, MSS, 4 * MS);
    /* Half the RTT at the original window: also 4 ms. */
    assert_int_equal(quic_pacer_next_send_time(&p, 12000, 50 * MS, MSS, 4 * MS), 8 * MS);
    quic_pacer_on_sent(&p, 12000, 50 * MS, MSS, 8 * MS);
    /* A 10-packet window over 10 ms: 800 us. */
    assert_int_equal(quic_pacer_next_send_time(&p, 12000, 10 * MS, MSS, 8 * MS), 8 * MS + 800);
}

/* After idle the bucket holds at most the burst. */
static void test_idle_refill_capped(void **state)
{
    (void)state;
    quic_pacer p;
    quic_pacer_init(&p, MSS, 0);
    const uint64_t cwnd = 12000, srtt = 100 * MS;
    for (int i = 0; i < 10; i++)
        quic_pacer_on_sent(&p, cwnd, srtt, MSS, 0);
    assert_int_equal(quic_pacer_next_send_time(&p, cwnd, srtt, MSS, 0), 8 * MS);
    const uint64_t later = 10000 * MS;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(quic_pacer_next_send_time(&p, cwnd, srtt, MSS, later), later);
        quic_pacer_on_sent(&p, cwnd, srtt, MSS, later);
    }
    assert_int_equal(quic_pacer_next_send_time(&p, cwnd, srtt, MSS, later), later + 8 * MS);
    /* Huge idle periods and windows do not overflow. */
    assert_int_equal(quic_pacer_next_send_time(&p, UINT64_MAX / 2, srtt, MSS, UINT64_MAX / 2),
                     UINT64_MAX / 2);
}

/* At high rates the bucket holds one timer granularity's worth: 1.25 *
 * 120000 B / 1 ms = 150 B/us, so 150000 bytes (125 packets) after idle,
 * then one packet every 8 us. */
static void test_granularity_burst(void **state)
{
    (void)state;
    quic_pacer p;
    quic_pacer_init(&p, MSS, 0);
    const uint64_t cwnd = 120000, srtt = 1 * MS;
    assert_int_equal(quic_pacer_next_send_time(&p, cwnd, srtt, MSS, 0), 0);
    const uint64_t later = 10 * MS;
    for (int i = 0; i < 125; i++) {
        assert_int_equal(quic_pacer_next_send_time(&p, cwnd, srtt, MSS, later), later);
        quic_pacer_on_sent(&p, cwnd, srtt, MSS, later);
    }
    assert_int_equal(quic_pacer_next_send_time(&p, cwnd, srtt, MSS, later), later + 8);
    /* A slow rate (150 B/ms) keeps the 10-packet burst. */
    quic_pacer_init(&p, MSS, 0);
    assert_int_equal(quic_pacer_next_send_time(&p, 12000, 100 * MS, MSS, 0), 0);
    for (int i = 0; i < 10; i++)
        quic_pacer_on_sent(&p, 12000, 100 * MS, MSS, later);
    assert_int_equal(quic_pacer_next_send_time(&p, 12000, 100 * MS, MSS, later), later + 8 * MS);
}

/* Frequent polling loses no rate to rounding: over one second at 0.15 B/us
 * exactly 150000 bytes (125 packets) beyond the burst get out. */
static void test_no_rounding_drift(void **state)
{
    (void)state;
    quic_pacer p;
    quic_pacer_init(&p, MSS, 0);
    const uint64_t cwnd = 12000, srtt = 100 * MS;
    unsigned sent = 0;
    for (uint64_t t = 0; t <= 1000 * MS + 6; t += 7) { /* last poll: 1000.006 ms */
        if (quic_pacer_next_send_time(&p, cwnd, srtt, MSS, t) == t) {
            quic_pacer_on_sent(&p, cwnd, srtt, MSS, t);
            sent++;
        }
    }
    assert_int_equal(sent, 10 + 125);
}

/* Without an RTT or window there is nothing to pace by. */
static void test_degenerate(void **state)
{
    (void)state;
    quic_pacer p;
    quic_pacer_init(&p, 0, 0);
    assert_int_equal(p.max_datagram_size, 1200);
    for (int i = 0; i < 50; i++) {
        assert_int_equal(quic_pacer_next_send_time(&p, 12000, 0, MSS, 3), 3);
        quic_pacer_on_sent(&p, 12000, 0, MSS, 3);
    }
    /* A packet larger than the bucket waits only for a full bucket. */
    quic_pacer_init(&p, MSS, 1);
    quic_pacer_on_sent(&p, 12000, 100 * MS, MSS, 0);
    assert_int_equal(quic_pacer_next_send_time(&p, 12000, 100 * MS, 5000, 0), 8 * MS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_interval), cmocka_unit_test(test_rate_scales),
        cmocka_unit_test(test_idle_refill_capped),  cmocka_unit_test(test_no_rounding_drift),
        cmocka_unit_test(test_granularity_burst),   cmocka_unit_test(test_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
