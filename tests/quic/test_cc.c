/* Tests for quic/cc_newreno.c (RFC 9002 §7, Appendix B) and quic/cc_cubic.c (RFC 9438). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "quic/cc.h"

#define MS 1000u
#define MSS 1200u

/* Send n full packets at `sent`, then acknowledge them all at `now`. */
static void round_trip(quic_cc *cc, unsigned n, uint64_t sent, uint64_t srtt, uint64_t now)
{
    for (unsigned i = 0; i < n; i++)
        quic_cc_on_packet_sent(cc, MSS, sent);
    for (unsigned i = 0; i < n; i++)
        quic_cc_on_packet_acked(cc, MSS, sent, srtt, now);
}

static void test_windows(void **state)
{
    (void)state;
    /* RFC 9002 §7.2: min(10 * mds, max(14720, 2 * mds)); minimum 2 * mds. */
    assert_int_equal(quic_cc_initial_window(1200), 12000);
    assert_int_equal(quic_cc_initial_window(1500), 14720);
    assert_int_equal(quic_cc_initial_window(9000), 18000);
    assert_int_equal(quic_cc_minimum_window(1200), 2400);
    quic_cc cc;
    quic_cc_init_newreno(&cc, 0);
    assert_int_equal(cc.max_datagram_size, 1200);
    assert_int_equal(quic_cc_cwnd(&cc), 12000);
    assert_int_equal(cc.ssthresh, UINT64_MAX);
    /* bytes in flight and the send gate. */
    assert_true(quic_cc_can_send(&cc, 12000));
    quic_cc_on_packet_sent(&cc, 11000, 0);
    assert_int_equal(quic_cc_bytes_in_flight(&cc), 11000);
    assert_int_equal(quic_cc_available(&cc), 1000);
    assert_true(quic_cc_can_send(&cc, 1000));
    assert_false(quic_cc_can_send(&cc, 1001));
    quic_cc_remove_in_flight(&cc, 20000); /* never below zero */
    assert_int_equal(quic_cc_bytes_in_flight(&cc), 0);
}

/* RFC 9002 §7.2: a new max_datagram_size recomputes the initial window. */
static void test_max_datagram_size_change(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_newreno(&cc, 1200);
    quic_cc_set_max_datagram_size(&cc, 1452);
    assert_int_equal(cc.max_datagram_size, 1452);
    assert_int_equal(cc.cwnd, 14520);
    quic_cc_set_max_datagram_size(&cc, 0); /* ignored */
    assert_int_equal(cc.max_datagram_size, 1452);
    /* A grown window is kept when the size grows... */
    round_trip(&cc, 2, 0, 100 * MS, 100 * MS);
    assert_int_equal(cc.cwnd, 14520 + 2 * MSS);
    quic_cc_set_max_datagram_size(&cc, 1500);
    assert_int_equal(cc.cwnd, 14520 + 2 * MSS);
    /* ...and reset when it shrinks. */
    quic_cc_set_max_datagram_size(&cc, 1200);
    assert_int_equal(cc.cwnd, 12000);
    /* The minimum window follows the size. */
    quic_cc_on_persistent_congestion(&cc, 0);
    assert_int_equal(cc.cwnd, 2400);
    quic_cc_set_max_datagram_size(&cc, 1500);
    assert_int_equal(cc.cwnd, 3000);
}

/* RFC 9002 §7.3.1: slow start doubles the window every round trip. */
static void test_newreno_slow_start(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_newreno(&cc, MSS);
    round_trip(&cc, 10, 0, 100 * MS, 100 * MS);
    assert_int_equal(cc.cwnd, 24000);
    round_trip(&cc, 20, 100 * MS, 100 * MS, 200 * MS);
    assert_int_equal(cc.cwnd, 48000);
    round_trip(&cc, 40, 200 * MS, 100 * MS, 300 * MS);
    assert_int_equal(cc.cwnd, 96000);
    assert_int_equal(cc.bytes_in_flight, 0);
}

/* RFC 9002 §7.3.2: a loss halves the window once per recovery period. */
static void test_newreno_recovery_period(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_newreno(&cc, MSS);
    round_trip(&cc, 10, 0, 100 * MS, 100 * MS);
    round_trip(&cc, 20, 100 * MS, 100 * MS, 200 * MS);
    assert_int_equal(cc.cwnd, 48000);
    /* Packets sent at 250 ms; a loss among them is detected at 400 ms. */
    for (int i = 0; i < 40; i++)
        quic_cc_on_packet_sent(&cc, MSS, 250 * MS);
    quic_cc_remove_in_flight(&cc, MSS);
    quic_cc_on_congestion_event(&cc, 250 * MS, 400 * MS);
    assert_int_equal(cc.ssthresh, 24000);
    assert_int_equal(cc.cwnd, 24000);
    assert_true(quic_cc_in_recovery(&cc, 400 * MS));
    /* More losses of packets sent before recovery began: no new reduction. */
    quic_cc_on_congestion_event(&cc, 250 * MS, 410 * MS);
    quic_cc_on_congestion_event(&cc, 400 * MS, 420 * MS);
    assert_int_equal(cc.cwnd, 24000);
    /* Acks of packets sent before recovery began do not grow the window. */
    for (int i = 0; i < 10; i++)
        quic_cc_on_packet_acked(&cc, MSS, 250 * MS, 100 * MS, 430 * MS);
    assert_int_equal(cc.cwnd, 24000);
    /* A packet sent after recovery began ends it; the window grows in
     * congestion avoidance. A loss of a later packet halves again. */
    quic_cc_on_packet_sent(&cc, MSS, 450 * MS);
    quic_cc_on_packet_acked(&cc, MSS, 450 * MS, 100 * MS, 550 * MS);
    assert_false(quic_cc_in_recovery(&cc, 450 * MS));
    quic_cc_on_congestion_event(&cc, 450 * MS, 560 * MS);
    assert_int_equal(cc.ssthresh, 12000);
    assert_int_equal(cc.cwnd, 12000);
    /* The reduction never goes below kMinimumWindow. */
    quic_cc_on_congestion_event(&cc, 600 * MS, 700 * MS);
    quic_cc_on_congestion_event(&cc, 800 * MS, 900 * MS);
    quic_cc_on_congestion_event(&cc, 1000 * MS, 1100 * MS);
    assert_int_equal(cc.cwnd, 2400);
    assert_int_equal(cc.ssthresh, 1500);
}

/* RFC 9002 §7.3.3: congestion avoidance adds one max_datagram_size per
 * window of acknowledged bytes. */
static void test_newreno_congestion_avoidance(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_newreno(&cc, MSS);
    round_trip(&cc, 10, 0, 100 * MS, 100 * MS);
    round_trip(&cc, 20, 100 * MS, 100 * MS, 200 * MS);
    quic_cc_on_congestion_event(&cc, 150 * MS, 200 * MS); /* cwnd 24000 */
    assert_int_equal(cc.cwnd, 24000);
    /* 20 packets = one window acknowledged: +1200. */
    round_trip(&cc, 20, 300 * MS, 100 * MS, 400 * MS);
    assert_int_equal(cc.cwnd, 25200);
    /* 20 more packets are 24000 bytes, below the new 25200 window: no growth. */
    round_trip(&cc, 20, 400 * MS, 100 * MS, 500 * MS);
    assert_int_equal(cc.cwnd, 25200);
    /* One more packet completes the window. */
    round_trip(&cc, 1, 500 * MS, 100 * MS, 600 * MS);
    assert_int_equal(cc.cwnd, 26400);
    /* Ten windows later the window has grown by about ten packets. */
    uint64_t t = 600 * MS;
    for (int r = 0; r < 10; r++, t += 100 * MS)
        round_trip(&cc, (unsigned)(cc.cwnd / MSS), t, 100 * MS, t + 100 * MS);
    assert_true(cc.cwnd >= 26400 + 9 * MSS && cc.cwnd <= 26400 + 10 * MSS);
}

/* RFC 9002 §7.8: an application-limited sender does not grow the window. */
static void test_app_limited(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_newreno(&cc, MSS);
    quic_cc_set_app_limited(&cc, true, 0);
    round_trip(&cc, 5, 0, 100 * MS, 100 * MS);
    assert_int_equal(cc.cwnd, 12000);
    assert_int_equal(cc.bytes_in_flight, 0);
    quic_cc_set_app_limited(&cc, false, 100 * MS);
    round_trip(&cc, 5, 100 * MS, 100 * MS, 200 * MS);
    assert_int_equal(cc.cwnd, 18000);
}

/* RFC 9002 §7.6.2: persistent congestion collapses to kMinimumWindow and
 * ends recovery; slow start resumes. */
static void test_newreno_persistent(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_newreno(&cc, MSS);
    round_trip(&cc, 10, 0, 100 * MS, 100 * MS);
    quic_cc_on_congestion_event(&cc, 100 * MS, 200 * MS);
    assert_int_equal(cc.cwnd, 12000);
    quic_cc_on_persistent_congestion(&cc, 200 * MS);
    assert_int_equal(cc.cwnd, 2400);
    assert_false(quic_cc_in_recovery(&cc, 100 * MS));
    round_trip(&cc, 2, 150 * MS, 100 * MS, 300 * MS); /* slow start below ssthresh */
    assert_int_equal(cc.cwnd, 4800);
}

/* Expected K for W_max = 100 packets, beta 0.7, C 0.4:
 * K = cbrt((100 - 70) / 0.4) = cbrt(75). */
#define CBRT_75 4.217163326508746

static double absd(double x)
{
    return x < 0 ? -x : x;
}

/* RFC 9438 §4.6, §4.2: the window after a loss is 0.7 * W_max, and K
 * follows from W_max and the reduced window. */
static void test_cubic_reduction_and_k(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_cubic(&cc, MSS, true);
    assert_int_equal(cc.cwnd, 12000);
    cc.cwnd = 100 * MSS; /* as if slow start had reached 100 packets */
    quic_cc_on_congestion_event(&cc, 0, 1000 * MS);
    assert_int_equal(cc.cwnd, 84000);
    assert_int_equal(cc.ssthresh, 84000);
    assert_int_equal(cc.u.cubic.w_max, 120000);
    /* K in 1/1024 s, the floor of the exact value. */
    assert_int_equal(cc.u.cubic.k, (uint64_t)(CBRT_75 * 1024.0));

    /* A new max_datagram_size (PMTUD) mid-epoch: W_max and cwnd_epoch stay
     * in bytes and K counts segments of the new size: 36000 bytes are 24
     * segments of 1500, K = cbrt(24 / 0.4) = cbrt(60) s. */
    {
        quic_cc c2 = cc;
        quic_cc_set_max_datagram_size(&c2, 1500);
        assert_int_equal(c2.u.cubic.w_max, 120000);
        assert_int_equal(c2.u.cubic.cwnd_epoch, 84000);
        assert_int_equal(c2.u.cubic.k, (uint64_t)(3.9148676411688634 * 1024.0));
    }

    /* §4.7 fast convergence: a loss below the previous W_max lowers W_max
     * further to cwnd * (1 + beta) / 2. */
    cc.cwnd = 100000;
    quic_cc_on_congestion_event(&cc, 2000 * MS, 3000 * MS);
    assert_int_equal(cc.u.cubic.w_max, 85000);
    assert_int_equal(cc.cwnd, 70000);
    /* Without fast convergence W_max is the window before the reduction. */
    quic_cc_init_cubic(&cc, MSS, false);
    cc.cwnd = 120000;
    quic_cc_on_congestion_event(&cc, 0, 1000 * MS);
    cc.cwnd = 100000;
    quic_cc_on_congestion_event(&cc, 2000 * MS, 3000 * MS);
    assert_int_equal(cc.u.cubic.w_max, 100000);
    /* Never below kMinimumWindow. */
    cc.cwnd = 3000;
    quic_cc_on_congestion_event(&cc, 4000 * MS, 5000 * MS);
    assert_int_equal(cc.cwnd, 2400);
}

/* Acknowledge one window of full packets at `now`, all sent after the
 * congestion event. */
static void ack_window(quic_cc *cc, uint64_t sent, uint64_t srtt, uint64_t now)
{
    round_trip(cc, (unsigned)(cc->cwnd / MSS), sent, srtt, now);
}

static double w_cubic_ref(double t, double k, double w_max)
{
    double d = t - k;
    return 0.4 * MSS * d * d * d + w_max;
}

/* RFC 9438 §4.2, §4.4, §4.5: concave growth back to W_max at t = K, then
 * convex growth beyond it. */
static void test_cubic_concave_then_convex(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_cubic(&cc, MSS, false);
    cc.cwnd = 120000;
    const uint64_t t0 = 1000 * MS, rtt = 100 * MS;
    quic_cc_on_congestion_event(&cc, 0, t0);
    double k = (double)cc.u.cubic.k / 1024.0;
    uint64_t prev = cc.cwnd, prev_gain = UINT64_MAX;
    bool checked_at_k = false;
    for (uint64_t now = t0 + rtt; now <= t0 + 9000 * MS; now += rtt) {
        ack_window(&cc, now - rtt, rtt, now);
        double t = (double)(now - t0) / 1e6;
        uint64_t gain = cc.cwnd - prev;
        bool reno = (double)cc.u.cubic.w_est / 65536.0 > w_cubic_ref(t, k, 120000.0);
        /* Outside the Reno-friendly region, never beyond the target one
         * RTT ahead. (With a 100 ms RTT, W_est leads for a while past K,
         * when alpha_cubic has become 1: §4.3.) */
        if (!reno)
            assert_true((double)cc.cwnd <= w_cubic_ref(t + 0.1, k, 120000.0) + 1.0);
        if (t + 0.1 < k) {
            /* Concave region: below W_max, gains shrink as W_max nears. */
            assert_true(cc.cwnd < 120000);
            /* (the first round acks packets sent when recovery began) */
            if (t > 0.25)
                assert_true(gain <= prev_gain);
        }
        if (!checked_at_k && t >= k) {
            /* At K the window is back at W_max (within 1%). */
            assert_true(cc.cwnd >= 118800 && cc.cwnd <= 121200);
            checked_at_k = true;
        }
        if (t > k + 0.5) /* convex region: growing past W_max */
            assert_true(cc.cwnd > 120000 && gain > 0);
        if (t > k + 0.5 && t < k + 1.5) /* ...ever faster */
            assert_true(gain >= prev_gain);
        prev_gain = gain;
        prev = cc.cwnd;
    }
    assert_true(checked_at_k);
    /* At t = 9 s, W_cubic(9.1) = 0.4 * (9.1 - K)^3 packets above W_max. */
    double expect = w_cubic_ref(9.1, k, 120000.0);
    assert_true((double)cc.cwnd > 120000.0 + 0.8 * (expect - 120000.0));
    assert_true((double)cc.cwnd <= expect + 1.0);
}

/* RFC 9438 §4.3: with short RTTs the Reno estimate W_est outgrows the cubic
 * curve and sets the window: about alpha_cubic = 3 * 0.3 / 1.7 packets per
 * RTT while W_est < cwnd_prior. */
static void test_cubic_reno_friendly(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_cubic(&cc, MSS, false);
    cc.cwnd = 12000; /* W_max 10 packets: K = cbrt(7.5) = 1.957 s */
    const uint64_t t0 = 0, rtt = 10 * MS;
    quic_cc_on_congestion_event(&cc, 0, t0);
    assert_int_equal(cc.cwnd, 8400);
    const double alpha = 3.0 * 0.3 / 1.7;
    for (int r = 1; r <= 6; r++) {
        uint64_t now = t0 + (uint64_t)r * rtt;
        uint64_t before = cc.cwnd;
        unsigned n = (unsigned)(before / MSS);
        round_trip(&cc, n, now - rtt / 2, rtt, now);
        double t = (double)(now - t0) / 1e6;
        /* Reno-friendly: the window is W_est, above the cubic curve... */
        assert_int_equal(cc.cwnd, cc.u.cubic.w_est / 65536);
        assert_true((double)cc.cwnd > w_cubic_ref(t, (double)cc.u.cubic.k / 1024.0, 12000.0));
        /* ...growing by alpha_cubic packets per window acknowledged. */
        double want = alpha * MSS * (double)(n * MSS) / (double)before;
        double gain = (double)(cc.cwnd - before);
        assert_true(gain >= 0.93 * want - 1.0 && gain <= want + 1.0);
    }
    /* Once W_est reaches cwnd_prior (12000), alpha_cubic becomes 1. */
    assert_true(cc.u.cubic.w_est < 12000 * 65536ull);
    round_trip(&cc, (unsigned)(cc.cwnd / MSS), 65 * MS, rtt, 70 * MS);
    assert_true(cc.u.cubic.w_est >= 12000 * 65536ull);
    uint64_t before = cc.cwnd;
    unsigned n = (unsigned)(before / MSS);
    round_trip(&cc, n, 75 * MS, rtt, 80 * MS);
    assert_int_equal(cc.cwnd, cc.u.cubic.w_est / 65536);
    double gain = (double)(cc.cwnd - before);
    double want = 1.0 * MSS * (double)(n * MSS) / (double)before;
    assert_true(gain >= 0.93 * want - 1.0 && gain <= want + 1.0);
}

/* RFC 9438 §4.8: after persistent congestion (a timeout) the window is the
 * minimum, slow start runs, and the next stage starts with K = 0. */
static void test_cubic_persistent(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_cubic(&cc, MSS, true);
    cc.cwnd = 120000;
    quic_cc_on_congestion_event(&cc, 0, 1000 * MS);
    quic_cc_on_persistent_congestion(&cc, 1000 * MS);
    assert_int_equal(cc.cwnd, 2400);
    assert_int_equal(cc.ssthresh, 84000);
    round_trip(&cc, 2, 1100 * MS, 100 * MS, 1200 * MS);
    assert_int_equal(cc.cwnd, 4800); /* slow start */
    cc.ssthresh = 4800;              /* leave slow start now */
    round_trip(&cc, 1, 1200 * MS, 100 * MS, 1300 * MS);
    assert_true(cc.u.cubic.has_epoch);
    assert_int_equal(cc.u.cubic.k, 0);
    assert_int_equal(cc.u.cubic.w_max, 4800);
}

/* One HyStart++ round: n packets sent at `sent`, each acknowledged with
 * its own RTT sample of rtt. */
static void hs_round(quic_cc *cc, unsigned n, uint64_t sent, uint64_t rtt)
{
    for (unsigned i = 0; i < n; i++)
        quic_cc_on_packet_sent(cc, MSS, sent);
    for (unsigned i = 0; i < n; i++) {
        quic_cc_on_rtt_sample(cc, rtt, sent, sent + rtt);
        quic_cc_on_packet_acked(cc, MSS, sent, rtt, sent + rtt);
    }
}

/* RFC 9406 §4.2: slow start ends in Conservative Slow Start when a round's
 * minimum RTT grows by max(4 ms, min(last / 8, 16 ms)); CSS grows a quarter
 * as fast and, if the delay stays up for CSS_ROUNDS (5) rounds, hands over
 * to congestion avoidance with ssthresh = cwnd. A delay that falls back
 * resumes slow start. */
static void test_hystart(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_cubic(&cc, MSS, true);
    uint64_t t = 0;
    hs_round(&cc, 10, t, 50 * MS); /* first round: 50 ms */
    t += 50 * MS;
    assert_int_equal(cc.cwnd, 24000);
    hs_round(&cc, 20, t, 56 * MS); /* +6 ms < 50/8 = 6.25 ms: still slow start */
    t += 56 * MS;
    assert_false(cc.hs.in_css);
    assert_int_equal(cc.cwnd, 48000);
    uint64_t before = cc.cwnd;
    hs_round(&cc, 40, t, 63 * MS); /* +7 ms over 56: CSS after 8 samples */
    t += 63 * MS;
    assert_true(cc.hs.in_css);
    assert_int_equal(cc.hs.css_entries, 1);
    /* (the eighth sample enters CSS before its own growth) */
    assert_int_equal(cc.cwnd, before + 7 * MSS + 33 * MSS / 4);
    for (int r = 0; r < 4; r++) {
        before = cc.cwnd;
        unsigned n = (unsigned)(before / MSS);
        hs_round(&cc, n, t, 63 * MS);
        t += 63 * MS;
        assert_true(cc.hs.in_css);
        assert_int_equal(cc.cwnd, before + n * MSS / 4);
        assert_int_equal(cc.ssthresh, UINT64_MAX);
    }
    /* The fifth CSS round ends: congestion avoidance. */
    hs_round(&cc, 1, t, 63 * MS);
    assert_false(cc.hs.in_css);
    assert_int_equal(cc.hs.css_to_ca, 1);
    /* ssthresh is the window at the exit; that ACK then grew it in CA. */
    assert_int_equal(cc.ssthresh, 161400);
    assert_true(cc.cwnd >= cc.ssthresh && cc.cwnd - cc.ssthresh < MSS);

    /* A delay that falls back below the CSS baseline resumes slow start. */
    quic_cc_init_cubic(&cc, MSS, true);
    t = 0;
    hs_round(&cc, 10, t, 50 * MS);
    t += 50 * MS;
    hs_round(&cc, 20, t, 60 * MS);
    t += 60 * MS;
    assert_true(cc.hs.in_css);
    hs_round(&cc, 20, t, 52 * MS);
    assert_false(cc.hs.in_css);
    assert_int_equal(cc.hs.css_entries, 1);
    assert_int_equal(cc.hs.css_to_ca, 0);
    /* NewReno keeps RFC 9002's plain slow start. */
    quic_cc_init_newreno(&cc, MSS);
    hs_round(&cc, 10, 0, 50 * MS);
    hs_round(&cc, 20, 50 * MS, 80 * MS);
    assert_false(cc.hs.in_css);
    assert_int_equal(cc.cwnd, 48000);
}

/* The integer cube root is the exact floor, up to the largest uint64_t. */
static void test_cbrt(void **state)
{
    (void)state;
    for (uint64_t y = 0; y < 3000; y++) {
        assert_int_equal(quic_cc_cbrt(y * y * y), y);
        if (y > 0)
            assert_int_equal(quic_cc_cbrt(y * y * y - 1), y - 1);
        if (y > 0)
            assert_int_equal(quic_cc_cbrt(y * y * y + 1), y);
    }
    for (uint64_t y = 3000; y < 2642245; y += 7919) {
        assert_int_equal(quic_cc_cbrt(y * y * y), y);
        assert_int_equal(quic_cc_cbrt(y * y * y - 1), y - 1);
    }
    assert_int_equal(quic_cc_cbrt(UINT64_MAX), 2642245);
    assert_int_equal(quic_cc_cbrt(2642245ull * 2642245ull * 2642245ull), 2642245);
}

/* RFC 9438 §4.2: the integer W_cubic(t) against the formula in doubles,
 * before, at and after K, to within a byte or a millisecond of t. */
static void test_cubic_formula(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_cubic(&cc, MSS, true);
    cc.cwnd = 200 * MSS;
    quic_cc_on_congestion_event(&cc, 0, 0);
    double k = (double)cc.u.cubic.k / 1024.0;
    /* K = cbrt((W_max - cwnd) / C), in segments. */
    double k_ref = 0;
    for (double lo = 0, hi = 100; hi - lo > 1e-9;) {
        k_ref = (lo + hi) / 2;
        if (0.4 * k_ref * k_ref * k_ref < (200.0 - 140.0))
            lo = k_ref;
        else
            hi = k_ref;
    }
    assert_true(absd(k - k_ref) < 1.0 / 1024);
    for (uint64_t t = 0; t <= 20000 * MS; t += 37 * MS) {
        double ts = (double)t / 1e6;
        double want = w_cubic_ref(ts, k, 240000.0);
        if (want < 0)
            want = 0;
        double got = (double)quic_cc_cubic_w(&cc, t);
        /* t is taken in 1/1024 s: allow the curve's change over 1 ms. */
        double slope = 3 * 0.4 * MSS * (ts - k) * (ts - k) * 0.001;
        assert_true(absd(got - want) <= 2.0 + slope);
    }
}

/* RFC 9438 §4.2: time spent application-limited does not count in t. */
static void test_cubic_app_limited(void **state)
{
    (void)state;
    quic_cc a, b;
    quic_cc_init_cubic(&a, MSS, false);
    quic_cc_init_cubic(&b, MSS, false);
    a.cwnd = b.cwnd = 120000;
    quic_cc_on_congestion_event(&a, 0, 1000 * MS);
    quic_cc_on_congestion_event(&b, 0, 1000 * MS);
    /* b is application-limited for 2 s, then both see the same ACKs,
     * b shifted by those 2 s. */
    quic_cc_set_app_limited(&b, true, 1000 * MS);
    quic_cc_set_app_limited(&b, false, 3000 * MS);
    assert_int_equal(b.u.cubic.epoch_start, 3000 * MS);
    ack_window(&a, 1400 * MS, 100 * MS, 1500 * MS);
    ack_window(&b, 3400 * MS, 100 * MS, 3500 * MS);
    assert_true(a.cwnd > 84000);
    assert_int_equal(a.cwnd, b.cwnd);
}

/* Loss tolerance: isolated losses (one in 10 packet numbers, 10% loss)
 * keep the loss average under 1/5 and are no congestion signal; losses close
 * together (a queue overflowing) pass it within four; strict, every loss is. */
static void test_loss_tolerance(void **state)
{
    (void)state;
    quic_cc cc;
    quic_cc_init_cubic(&cc, 1200, true);
    assert_false(cc.loss_tolerant);
    assert_true(quic_cc_on_loss(&cc, 5));
    quic_cc_init_cubic(&cc, 1200, true);
    cc.loss_tolerant = true;
    for (uint64_t pn = 10; pn < 2000; pn += 10)
        assert_false(quic_cc_on_loss(&cc, pn));
    assert_true(cc.loss_rate > 65536 / 10);
    int n = 0;
    for (uint64_t pn = 2001; !quic_cc_on_loss(&cc, pn); pn++)
        n++;
    assert_true(n <= 3);
    /* A later loss alone, 32 or more packets on, passes no more. */
    for (uint64_t pn = 3000; pn < 3200; pn += 40)
        quic_cc_on_loss(&cc, pn);
    assert_false(quic_cc_on_loss(&cc, 3300));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_max_datagram_size_change),
        cmocka_unit_test(test_newreno_slow_start),
        cmocka_unit_test(test_newreno_recovery_period),
        cmocka_unit_test(test_newreno_congestion_avoidance),
        cmocka_unit_test(test_app_limited),
        cmocka_unit_test(test_newreno_persistent),
        cmocka_unit_test(test_cubic_reduction_and_k),
        cmocka_unit_test(test_cubic_concave_then_convex),
        cmocka_unit_test(test_cubic_reno_friendly),
        cmocka_unit_test(test_cubic_persistent),
        cmocka_unit_test(test_cubic_app_limited),
        cmocka_unit_test(test_cbrt),
        cmocka_unit_test(test_hystart),
        cmocka_unit_test(test_cubic_formula),
        cmocka_unit_test(test_loss_tolerance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
