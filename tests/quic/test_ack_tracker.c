/* Tests for quic/ack_tracker.c (RFC 9000 §13.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "quic/ack_tracker.h"
#include "tests/common/test_env.h"

#define MS 1000u

static void expect_ranges(const quic_ack_tracker *t, const quic_pn_range *want, size_t n)
{
    quic_pn_range out[QUIC_ACK_TRACKER_MAX_RANGES];
    size_t got = quic_ack_tracker_build(t, 0, out, QUIC_ACK_TRACKER_MAX_RANGES, NULL);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(out[i].smallest, want[i].smallest);
        assert_int_equal(out[i].largest, want[i].largest);
    }
}

static void rx(quic_ack_tracker *t, uint64_t pn, uint64_t now)
{
    assert_int_equal(quic_ack_tracker_on_packet_received(t, pn, true, false, now), 0);
}

/* Ranges merge, split and come out largest-first. */
static void test_ranges(void **state)
{
    (void)state;
    quic_ack_tracker t;
    quic_ack_tracker_init(&t, 8, 25 * MS, false);
    expect_ranges(&t, NULL, 0);
    const uint64_t order[] = {0, 1, 2, 5, 6, 9, 4, 8, 3};
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        rx(&t, order[i], 0);
        quic_ack_tracker_on_ack_sent(&t);
        if (i == 5) {
            quic_pn_range w[] = {{9, 9}, {5, 6}, {0, 2}};
            expect_ranges(&t, w, 3);
        }
    }
    /* 4 joined 5..6, 8 joined 9, 3 bridged 0..2 and 4..6. */
    quic_pn_range w[] = {{8, 9}, {0, 6}};
    expect_ranges(&t, w, 2);
    rx(&t, 7, 0);
    quic_pn_range w2[] = {{0, 9}};
    expect_ranges(&t, w2, 1);
    assert_int_equal(t.largest, 9);
}

/* Duplicates are detected and not recorded again. */
static void test_duplicates(void **state)
{
    (void)state;
    quic_ack_tracker t;
    quic_ack_tracker_init(&t, 8, 25 * MS, false);
    assert_false(quic_ack_tracker_is_duplicate(&t, 0));
    rx(&t, 0, 0);
    rx(&t, 2, 0);
    assert_true(quic_ack_tracker_is_duplicate(&t, 0));
    assert_false(quic_ack_tracker_is_duplicate(&t, 1));
    assert_true(quic_ack_tracker_is_duplicate(&t, 2));
    assert_false(quic_ack_tracker_is_duplicate(&t, 3));
    assert_int_equal(quic_ack_tracker_on_packet_received(&t, 2, true, false, 5), 1);
    assert_int_equal(t.largest_recv_time, 0); /* the duplicate changed nothing */
    quic_pn_range w[] = {{2, 2}, {0, 0}};
    expect_ranges(&t, w, 2);
}

/* RFC 9000 §13.2.2: ACK after every second ack-eliciting packet, otherwise
 * within max_ack_delay. Non-ack-eliciting packets never trigger one. */
static void test_ack_every_second(void **state)
{
    (void)state;
    quic_ack_tracker t;
    quic_ack_tracker_init(&t, 8, 25 * MS, false);
    assert_int_equal(quic_ack_tracker_ack_time(&t), UINT64_MAX);
    assert_int_equal(quic_ack_tracker_on_packet_received(&t, 0, false, false, 1 * MS), 0);
    assert_int_equal(quic_ack_tracker_ack_time(&t), UINT64_MAX);
    assert_true(quic_ack_tracker_has_unacked(&t));
    rx(&t, 1, 2 * MS);
    /* One ack-eliciting packet: ACK due max_ack_delay after it. */
    assert_int_equal(quic_ack_tracker_ack_time(&t), 27 * MS);
    assert_false(quic_ack_tracker_should_send(&t, 26 * MS));
    assert_true(quic_ack_tracker_should_send(&t, 27 * MS));
    /* The second makes it immediate. */
    rx(&t, 2, 3 * MS);
    assert_int_equal(quic_ack_tracker_ack_time(&t), 0);
    assert_true(quic_ack_tracker_should_send(&t, 3 * MS));
    quic_ack_tracker_on_ack_sent(&t);
    assert_int_equal(quic_ack_tracker_ack_time(&t), UINT64_MAX);
    assert_false(quic_ack_tracker_should_send(&t, 100 * MS));
    assert_false(quic_ack_tracker_has_unacked(&t));
    /* The count restarts after an ACK is sent. */
    rx(&t, 3, 10 * MS);
    assert_int_equal(quic_ack_tracker_ack_time(&t), 35 * MS);
    rx(&t, 4, 11 * MS); /* deadline from the first unacked one stays */
    assert_int_equal(quic_ack_tracker_ack_time(&t), 0);
}

/* RFC 9000 §13.2.1: out-of-order arrival, ECN-CE and Initial/Handshake
 * packets are acknowledged at once. */
static void test_immediate_ack(void **state)
{
    (void)state;
    quic_ack_tracker t;
    quic_ack_tracker_init(&t, 8, 25 * MS, false);
    rx(&t, 0, 0);
    quic_ack_tracker_on_ack_sent(&t);
    /* A gap before the new packet. */
    rx(&t, 2, 1 * MS);
    assert_int_equal(quic_ack_tracker_ack_time(&t), 0);
    quic_ack_tracker_on_ack_sent(&t);
    /* The missing one arrives late: older than the largest ack-eliciting. */
    rx(&t, 1, 2 * MS);
    assert_int_equal(quic_ack_tracker_ack_time(&t), 0);
    quic_ack_tracker_on_ack_sent(&t);
    /* In order again: delayed. */
    rx(&t, 3, 3 * MS);
    assert_int_equal(quic_ack_tracker_ack_time(&t), 28 * MS);
    quic_ack_tracker_on_ack_sent(&t);
    /* A gap after only non-ack-eliciting packets in between is not one. */
    assert_int_equal(quic_ack_tracker_on_packet_received(&t, 4, false, false, 4 * MS), 0);
    rx(&t, 5, 5 * MS);
    assert_int_equal(quic_ack_tracker_ack_time(&t), 30 * MS);
    quic_ack_tracker_on_ack_sent(&t);
    /* ECN-CE. */
    assert_int_equal(quic_ack_tracker_on_packet_received(&t, 6, true, true, 6 * MS), 0);
    assert_int_equal(quic_ack_tracker_ack_time(&t), 0);

    quic_ack_tracker h;
    quic_ack_tracker_init(&h, 8, 25 * MS, true);
    rx(&h, 0, 0);
    assert_int_equal(quic_ack_tracker_ack_time(&h), 0);
}

/* RFC 9000 §13.2.5: ACK Delay runs from the arrival of the largest packet. */
static void test_ack_delay(void **state)
{
    (void)state;
    quic_ack_tracker t;
    quic_ack_tracker_init(&t, 8, 25 * MS, false);
    rx(&t, 5, 100 * MS);
    rx(&t, 3, 104 * MS); /* older: does not move the origin */
    quic_pn_range out[4];
    uint64_t delay = 0;
    assert_int_equal(quic_ack_tracker_build(&t, 112 * MS, out, 4, &delay), 2);
    assert_int_equal(delay, 12 * MS);
    rx(&t, 6, 120 * MS);
    assert_int_equal(quic_ack_tracker_build(&t, 121 * MS, out, 4, &delay), 2);
    assert_int_equal(delay, 1 * MS);
    assert_int_equal(out[0].largest, 6);
    /* A clock behind the arrival gives zero, not a wrap. */
    quic_ack_tracker_build(&t, 119 * MS, out, 4, &delay);
    assert_int_equal(delay, 0);
}

/* RFC 9000 §13.2.3: the range list is bounded; the oldest range is dropped
 * and packets at or below it are refused from then on. The output is also
 * cut to the caller's maximum, keeping the newest ranges. */
/* RFC 9000 §13.2.3: a tracker allowed to grow keeps more ranges than it holds
 * inline, so that a packet arriving late into an old gap (a reordering path)
 * is accepted and acknowledged rather than refused below the floor; past the
 * growth limit, or when the allocation fails, it bounds itself as before. */
static void test_growth(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 1);
    quic_ack_tracker t;
    quic_ack_tracker_init(&t, QUIC_OPT_MAX_ACK_RANGES, 25 * MS, false);
    quic_ack_tracker_set_growth(&t, &te.env, 4 * QUIC_OPT_MAX_ACK_RANGES);
    size_t n = 3 * QUIC_OPT_MAX_ACK_RANGES; /* isolated packets: one range each */
    for (uint64_t i = 0; i < n; i++)
        rx(&t, 2 * i + 1, 0);
    assert_int_equal(t.n_ranges, n);
    assert_false(quic_ack_tracker_is_duplicate(&t, 0)); /* the oldest gap is still open */
    rx(&t, 2, 0);                                        /* late: joins 1 and 3 */
    assert_int_equal(t.n_ranges, n - 1);
    assert_int_equal(t.ranges[n - 2].smallest, 1);
    assert_int_equal(t.ranges[n - 2].largest, 3);
    /* Past the limit the oldest range goes and the floor rises past it. */
    for (uint64_t i = n; i < 4 * QUIC_OPT_MAX_ACK_RANGES + 10; i++)
        rx(&t, 2 * i + 1, 0);
    assert_int_equal(t.n_ranges, 4 * QUIC_OPT_MAX_ACK_RANGES);
    assert_true(quic_ack_tracker_is_duplicate(&t, 2));
    quic_ack_tracker_free(&t);
    test_env_check_leaks(&te);
    /* No memory: the inline ranges and the floor, as without growth. */
    quic_ack_tracker_init(&t, QUIC_OPT_MAX_ACK_RANGES, 25 * MS, false);
    quic_ack_tracker_set_growth(&t, &te.env, 4 * QUIC_OPT_MAX_ACK_RANGES);
    te.fail_after = 1;
    for (uint64_t i = 0; i < QUIC_OPT_MAX_ACK_RANGES + 1; i++)
        rx(&t, 2 * i + 1, 0);
    assert_int_equal(t.n_ranges, QUIC_OPT_MAX_ACK_RANGES);
    assert_true(quic_ack_tracker_is_duplicate(&t, 1));
    quic_ack_tracker_free(&t);
    test_env_check_leaks(&te);
}

static void test_bound(void **state)
{
    (void)state;
    quic_ack_tracker t;
    quic_ack_tracker_init(&t, 3, 25 * MS, false);
    rx(&t, 10, 0);
    rx(&t, 20, 0);
    rx(&t, 30, 0);
    rx(&t, 40, 0); /* drops {10} */
    quic_pn_range w[] = {{40, 40}, {30, 30}, {20, 20}};
    expect_ranges(&t, w, 3);
    assert_true(quic_ack_tracker_is_duplicate(&t, 10));
    assert_true(quic_ack_tracker_is_duplicate(&t, 5));
    assert_false(quic_ack_tracker_is_duplicate(&t, 11));
    /* A new smallest range when full is refused outright. */
    rx(&t, 15, 0);
    expect_ranges(&t, w, 3);
    assert_true(quic_ack_tracker_is_duplicate(&t, 15));
    assert_true(quic_ack_tracker_is_duplicate(&t, 12));
    /* Filling a gap in the middle frees a slot by merging. */
    rx(&t, 31, 0);
    rx(&t, 32, 0);
    quic_pn_range out[2];
    assert_int_equal(quic_ack_tracker_build(&t, 0, out, 2, NULL), 2);
    assert_int_equal(out[0].smallest, 40);
    assert_int_equal(out[1].smallest, 30);
    assert_int_equal(out[1].largest, 32);
    /* A flood of isolated packets never grows it past the bound. */
    for (uint64_t pn = 100; pn < 10000; pn += 2)
        rx(&t, pn, 0);
    assert_int_equal(t.n_ranges, 3);
    quic_pn_range w2[] = {{9998, 9998}, {9996, 9996}, {9994, 9994}};
    expect_ranges(&t, w2, 3);
    /* max_ranges is clamped to the compiled ceiling. */
    quic_ack_tracker_init(&t, 100000, 0, false);
    assert_int_equal(t.max_ranges, QUIC_ACK_TRACKER_MAX_RANGES);
    quic_ack_tracker_init(&t, 0, 0, false);
    assert_int_equal(t.max_ranges, 1);
}

/* RFC 9000 §13.2.4: once an ACK is acknowledged, its ranges are forgotten. */
static void test_ack_of_ack(void **state)
{
    (void)state;
    quic_ack_tracker t;
    quic_ack_tracker_init(&t, 8, 25 * MS, false);
    for (uint64_t pn = 0; pn <= 4; pn++)
        rx(&t, pn, 0);
    rx(&t, 7, 0);
    rx(&t, 8, 0);
    /* Our ACK with Largest Acknowledged 3 was acknowledged. */
    quic_ack_tracker_on_ack_acked(&t, 3);
    quic_pn_range w[] = {{7, 8}, {4, 4}};
    expect_ranges(&t, w, 2);
    assert_true(quic_ack_tracker_is_duplicate(&t, 2));
    /* Older information changes nothing. */
    quic_ack_tracker_on_ack_acked(&t, 1);
    expect_ranges(&t, w, 2);
    quic_ack_tracker_on_ack_acked(&t, 8);
    expect_ranges(&t, NULL, 0);
    assert_int_equal(t.largest, 8); /* kept for packet number decoding */
    assert_true(quic_ack_tracker_is_duplicate(&t, 6));
    rx(&t, 9, 0);
    quic_pn_range w2[] = {{9, 9}};
    expect_ranges(&t, w2, 1);
}

/* Packet numbers drawn from [0, SPAN): at most SPAN / 2 ranges, so a tracker
 * with the compiled ceiling has room for all of them. */
#define SPAN (2 * QUIC_ACK_TRACKER_MAX_RANGES)

/* Seeded model check: against a bitmap of received packets, with room for
 * every range the ranges are exact; with a small bound they stay sorted,
 * disjoint, within the bound, and only ever claim received packets. */
static void test_randomized_model(void **state)
{
    (void)state;
    uint64_t rng = 0x2545f4914f6cdd1dULL;
    for (int round = 0; round < 200; round++) {
        bool seen[SPAN] = {false};
        size_t bound = round % 2 ? QUIC_ACK_TRACKER_MAX_RANGES : 1 + (size_t)round % 5;
        quic_ack_tracker t;
        quic_ack_tracker_init(&t, bound, 25 * MS, false);
        for (int i = 0; i < 300; i++) {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            uint64_t pn = rng % SPAN;
            bool dup = quic_ack_tracker_is_duplicate(&t, pn);
            if (bound == QUIC_ACK_TRACKER_MAX_RANGES)
                assert_int_equal(dup, seen[pn]);
            else if (seen[pn])
                assert_true(dup);
            int rc = quic_ack_tracker_on_packet_received(&t, pn, rng & 1, false, (uint64_t)i);
            assert_int_equal(rc, dup ? 1 : 0);
            seen[pn] = true;
            quic_pn_range out[QUIC_ACK_TRACKER_MAX_RANGES];
            size_t n = quic_ack_tracker_build(&t, 0, out, QUIC_ACK_TRACKER_MAX_RANGES, NULL);
            assert_true(n <= bound);
            for (size_t k = 0; k < n; k++) {
                assert_true(out[k].smallest <= out[k].largest);
                if (k > 0) /* largest-first, with a gap */
                    assert_true(out[k].largest + 1 < out[k - 1].smallest);
                for (uint64_t q = out[k].smallest; q <= out[k].largest; q++)
                    assert_true(seen[q]);
            }
            if (n > 0)
                assert_int_equal(out[0].largest, t.largest);
            if (bound == QUIC_ACK_TRACKER_MAX_RANGES) {
                /* Exact: the ranges are the runs of the bitmap. */
                size_t k = 0;
                for (int q = SPAN - 1; q >= 0;) {
                    if (!seen[q]) {
                        q--;
                        continue;
                    }
                    int hi = q;
                    while (q >= 0 && seen[q])
                        q--;
                    assert_true(k < n);
                    assert_int_equal(out[k].largest, (uint64_t)hi);
                    assert_int_equal(out[k].smallest, (uint64_t)(q + 1));
                    k++;
                }
                assert_int_equal(k, n);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges),           cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_ack_every_second), cmocka_unit_test(test_immediate_ack),
        cmocka_unit_test(test_ack_delay),        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_ack_of_ack),       cmocka_unit_test(test_randomized_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
