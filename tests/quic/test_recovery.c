/* Tests for quic/recovery.c and quic/sent_packets.c (RFC 9002 §6, §7.6, Appendix A). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "quic/ack_tracker.h"
#include "quic/pacer.h"
#include "quic/recovery.h"
#include "tests/common/test_env.h"

#define MAX_EVENTS 2048
#define MS 1000u

typedef struct event {
    int space;
    quic_recovery_event ev;
    uint64_t pn;
    uint64_t handle;
} event;

typedef struct fixture {
    test_env te;
    quic_cc cc;
    quic_recovery r;
    event ev[MAX_EVENTS];
    size_t n_ev;
} fixture;

static void on_packet(void *user, int space, quic_recovery_event ev, const quic_sent_packet *p)
{
    fixture *f = user;
    assert_true(f->n_ev < MAX_EVENTS);
    f->ev[f->n_ev++] = (event){space, ev, p->pn, p->handle};
}

static void setup_fx(fixture *f, bool server, size_t max_sent)
{
    memset(f, 0, sizeof(*f));
    test_env_init(&f->te, 1);
    quic_cc_init_newreno(&f->cc, 1200);
    quic_recovery_config cfg = {
        .is_server = server,
        .max_ack_delay = 25 * MS,
        .max_sent_packets = max_sent,
    };
    assert_int_equal(quic_recovery_init(&f->r, &f->te.env, &cfg, &f->cc, on_packet, f), 0);
}

static void teardown_fx(fixture *f)
{
    quic_recovery_free(&f->r);
    test_env_check_leaks(&f->te);
}

static void send(fixture *f, int space, uint64_t pn, uint64_t now)
{
    assert_int_equal(
        quic_recovery_on_packet_sent(&f->r, space, pn, 1200, true, true, 1000 + pn, now), 0);
}

static int ack1(fixture *f, int space, uint64_t lo, uint64_t hi, uint64_t ack_delay, uint64_t now)
{
    quic_pn_range rg = {lo, hi};
    quic_recovery_ack a = {.ranges = &rg, .n_ranges = 1, .ack_delay = ack_delay};
    return quic_recovery_on_ack_received(&f->r, space, &a, now);
}

static size_t count_ev(const fixture *f, quic_recovery_event ev)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_ev; i++)
        n += f->ev[i].ev == ev;
    return n;
}

/* RFC 9002 §6.1.1: a packet is lost once kPacketThreshold (3) later packets
 * are acknowledged; losses are reported before the acknowledgments. */
static void test_packet_threshold(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    quic_recovery_set_handshake_confirmed(&f.r, 0);
    for (uint64_t pn = 0; pn < 5; pn++)
        send(&f, QUIC_RECOVERY_APP, pn, pn * MS);
    assert_int_equal(f.cc.bytes_in_flight, 6000);
    /* ACK 1..3 at 50 ms: packet 0 has 3 later packets acked. */
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 1, 3, 0, 50 * MS), 0);
    assert_int_equal(f.n_ev, 4);
    assert_int_equal(f.ev[0].ev, QUIC_RECOVERY_LOST);
    assert_int_equal(f.ev[0].pn, 0);
    assert_int_equal(f.ev[0].handle, 1000);
    for (int i = 1; i < 4; i++) {
        assert_int_equal(f.ev[i].ev, QUIC_RECOVERY_ACKED);
        assert_int_equal(f.ev[i].pn, (uint64_t)i);
        assert_int_equal(f.ev[i].space, QUIC_RECOVERY_APP);
    }
    /* Only packet 4 remains in flight. */
    assert_int_equal(f.cc.bytes_in_flight, 1200);
    assert_int_equal(f.r.sent[QUIC_RECOVERY_APP].live, 1);
    uint64_t la = 0;
    assert_true(quic_recovery_largest_acked(&f.r, QUIC_RECOVERY_APP, &la));
    assert_int_equal(la, 3);
    assert_false(quic_recovery_largest_acked(&f.r, QUIC_RECOVERY_HANDSHAKE, &la));
    assert_false(quic_recovery_largest_acked(&f.r, 9, &la));

    /* Two later packets are not enough. */
    fixture g;
    setup_fx(&g, true, 0);
    for (uint64_t pn = 0; pn < 3; pn++)
        send(&g, QUIC_RECOVERY_INITIAL, pn, 0);
    assert_int_equal(ack1(&g, QUIC_RECOVERY_INITIAL, 1, 2, 0, 10 * MS), 0);
    assert_int_equal(count_ev(&g, QUIC_RECOVERY_LOST), 0);
    assert_int_equal(count_ev(&g, QUIC_RECOVERY_ACKED), 2);
    teardown_fx(&g);
    teardown_fx(&f);
}

/* RFC 9002 §6.1, RFC 8985 §6.2, §9.3: a packet declared lost and acknowledged
 * later is a spurious loss: counted, the thresholds grow past the reordering
 * it showed, the window reduction it caused is undone, and it is not reported
 * a second time. */
static void test_spurious_loss_undo(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    quic_recovery_set_handshake_confirmed(&f.r, 0);
    for (uint64_t pn = 0; pn < 20; pn++)
        send(&f, QUIC_RECOVERY_APP, pn, pn * 100);
    uint64_t cwnd = f.cc.cwnd;
    /* 5..19 arrive first: 0..4 are lost by packet threshold. */
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 5, 19, 0, 20 * MS), 0);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_LOST), 5);
    assert_int_equal(f.r.stats.lost, 5);
    assert_int_equal(f.r.stats.lost_by_packets, 5);
    assert_true(f.cc.cwnd < cwnd);
    assert_int_equal(f.cc.congestion_events, 1);
    /* 0..3 were only late: not yet all of the episode, no undo. */
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 0, 3, 0, 21 * MS), 0);
    assert_int_equal(f.r.stats.spurious, 4);
    assert_int_equal(f.r.stats.undone, 0);
    assert_true(f.cc.cwnd < cwnd);
    /* The packet threshold now covers a reordering of 19 - 0 + 1 packets
     * (or twice the old one); the time threshold the 21 ms round trip of
     * packet 0 against a 20 ms RTT estimate: 9/8 would not, 10/8 does. */
    assert_int_equal(f.r.packet_threshold, 20);
    assert_true(f.r.time_threshold >= 10 && f.r.time_threshold <= 11);
    /* 4 arrives too: every loss of the episode was spurious, undo. */
    quic_pn_range rg[2] = {{4, 19}, {0, 3}};
    quic_recovery_ack a = {.ranges = rg, .n_ranges = 2};
    assert_int_equal(quic_recovery_on_ack_received(&f.r, QUIC_RECOVERY_APP, &a, 22 * MS), 0);
    assert_int_equal(f.r.stats.spurious, 5);
    assert_int_equal(f.r.stats.undone, 1);
    assert_int_equal(f.cc.undone, 1);
    assert_int_equal(f.cc.cwnd, cwnd);
    assert_false(quic_cc_in_recovery(&f.cc, 21 * MS));
    /* Every packet left the record exactly once. */
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_LOST) + count_ev(&f, QUIC_RECOVERY_ACKED), 20);
    assert_int_equal(f.cc.bytes_in_flight, 0);
    teardown_fx(&f);
}

static int ack_ecn(fixture *f, uint64_t lo, uint64_t hi, bool has, uint64_t ect0, uint64_t ect1,
                   uint64_t ce, uint64_t now)
{
    quic_pn_range rg = {lo, hi};
    quic_recovery_ack a = {.ranges = &rg,
                           .n_ranges = 1,
                           .has_ecn = has,
                           .ecn_ect0 = ect0,
                           .ecn_ect1 = ect1,
                           .ecn_ce = ce};
    return quic_recovery_on_ack_received(&f->r, QUIC_RECOVERY_APP, &a, now);
}

static void send_ect(fixture *f, uint64_t pn, uint64_t now)
{
    quic_recovery_set_ecn_next(&f->r, true);
    send(f, QUIC_RECOVERY_APP, pn, now);
}

/* RFC 9000 §13.4.2.1: ECN validation. Counts that cover the newly acked
 * ECT(0) packets keep it; CE is a congestion event (RFC 9002 §7.1); a
 * missing count (bleaching), a count that falls, ECT(1) we never sent, or
 * counts short of the marked packets acknowledged so far turn marking off,
 * unless the ACK does not raise the largest acknowledged (a late one). */
static void test_ecn_validation(void **state)
{
    (void)state;
    for (int c = 0; c < 9; c++) {
        fixture f;
        setup_fx(&f, true, 0);
        quic_recovery_set_handshake_confirmed(&f.r, 0);
        quic_recovery_set_ecn(&f.r, true);
        assert_true(quic_recovery_ecn_marking(&f.r));
        for (uint64_t pn = 0; pn < 6; pn++)
            send_ect(&f, pn, pn * MS);
        assert_int_equal(f.r.ecn_sent[QUIC_RECOVERY_APP], 6);
        assert_int_equal(ack_ecn(&f, 0, 2, true, 3, 0, 0, 20 * MS), 0);
        assert_false(f.r.ecn_failed);
        switch (c) {
        case 0: /* fine, with one CE: a window reduction, no loss */
            assert_int_equal(ack_ecn(&f, 0, 5, true, 5, 0, 1, 30 * MS), 0);
            assert_false(f.r.ecn_failed);
            assert_int_equal(f.cc.congestion_events, 1);
            assert_int_equal(f.r.stats.lost, 0);
            break;
        case 1: /* bleached: no counts */
            assert_int_equal(ack_ecn(&f, 0, 5, false, 0, 0, 0, 30 * MS), 0);
            assert_true(f.r.ecn_failed);
            break;
        case 2: /* a count falls */
            assert_int_equal(ack_ecn(&f, 0, 5, true, 2, 0, 4, 30 * MS), 0);
            assert_true(f.r.ecn_failed);
            break;
        case 3: /* ECT(1), never sent */
            assert_int_equal(ack_ecn(&f, 0, 5, true, 5, 1, 0, 30 * MS), 0);
            assert_true(f.r.ecn_failed);
            break;
        case 4: /* six packets acked, five counted */
            assert_int_equal(ack_ecn(&f, 0, 5, true, 5, 0, 0, 30 * MS), 0);
            assert_true(f.r.ecn_failed);
            break;
        case 5: /* more counted than sent */
            assert_int_equal(ack_ecn(&f, 0, 5, true, 7, 0, 0, 30 * MS), 0);
            assert_true(f.r.ecn_failed);
            break;
        case 6: /* an older ACK (largest 3) after a newer one (largest 5), with its
                 * lower count: it does not raise the largest acknowledged, so it
                 * cannot fail validation; later ACKs are checked again */
            assert_int_equal(ack_ecn(&f, 4, 5, true, 5, 0, 0, 30 * MS), 0);
            assert_int_equal(ack_ecn(&f, 3, 3, true, 4, 0, 0, 31 * MS), 0);
            assert_false(f.r.ecn_failed);
            send_ect(&f, 6, 32 * MS);
            assert_int_equal(ack_ecn(&f, 6, 6, true, 5, 0, 0, 50 * MS), 0);
            assert_true(f.r.ecn_failed); /* pn 6 newly acked, the count did not grow */
            break;
        case 7: /* the same with the older ACK carrying no counts at all */
            assert_int_equal(ack_ecn(&f, 4, 5, true, 5, 0, 0, 30 * MS), 0);
            assert_int_equal(ack_ecn(&f, 3, 3, false, 0, 0, 0, 31 * MS), 0);
            assert_false(f.r.ecn_failed);
            break;
        case 8: /* counts ahead of the ranges: 3 and 5 arrived, only 5 is reported (the
                 * receiver caps its ranges), then 4 arrives and 3-5 is reported: one more
                 * counted for two newly acked, but every acked packet is counted */
            assert_int_equal(ack_ecn(&f, 5, 5, true, 5, 0, 0, 30 * MS), 0);
            assert_false(f.r.ecn_failed);
            assert_int_equal(ack_ecn(&f, 3, 5, true, 6, 0, 0, 31 * MS), 0);
            assert_false(f.r.ecn_failed);
            break;
        }
        /* Once failed, nothing is marked any more. */
        if (f.r.ecn_failed) {
            assert_false(quic_recovery_ecn_marking(&f.r));
            uint64_t marked = f.r.ecn_sent[QUIC_RECOVERY_APP];
            send_ect(&f, 7, 60 * MS);
            assert_int_equal(f.r.ecn_sent[QUIC_RECOVERY_APP], marked);
        }
        teardown_fx(&f);
    }
}

/* RFC 9000 §14.4: a lost PMTU probe is reported LOST (so its frames can be
 * sent again) but is no congestion signal; an ordinary loss still is. */
static void test_pmtu_probe_loss(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    quic_recovery_set_handshake_confirmed(&f.r, 0);
    quic_recovery_set_pmtu_probe_next(&f.r);
    send(&f, QUIC_RECOVERY_APP, 0, 0);
    for (uint64_t pn = 1; pn < 5; pn++)
        send(&f, QUIC_RECOVERY_APP, pn, pn * MS);
    uint64_t cwnd = f.cc.cwnd;
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 1, 4, 0, 20 * MS), 0);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_LOST), 1);
    assert_int_equal(f.r.stats.lost_pmtu_probes, 1);
    assert_int_equal(f.cc.congestion_events, 0);
    assert_true(f.cc.cwnd >= cwnd);
    assert_int_equal(f.cc.bytes_in_flight, 0);
    /* The flag was for that packet only. */
    for (uint64_t pn = 5; pn < 9; pn++)
        send(&f, QUIC_RECOVERY_APP, pn, 20 * MS + pn);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 6, 8, 0, 40 * MS), 0);
    assert_int_equal(f.cc.congestion_events, 1);
    teardown_fx(&f);
}

/* RFC 9002 §6.2.4: a PTO may probe with the oldest unacknowledged data; the
 * packets stay in flight. */
static void test_requeue_oldest(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    quic_recovery_set_handshake_confirmed(&f.r, 0);
    for (uint64_t pn = 0; pn < 4; pn++)
        send(&f, QUIC_RECOVERY_APP, pn, pn * MS);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 0, 0, 0, 10 * MS), 0);
    assert_int_equal(quic_recovery_requeue_oldest(&f.r, QUIC_RECOVERY_APP, 2), 2);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_REQUEUE), 2);
    assert_int_equal(f.ev[f.n_ev - 2].pn, 1);
    assert_int_equal(f.ev[f.n_ev - 1].pn, 2);
    assert_int_equal(f.r.sent[QUIC_RECOVERY_APP].live, 3);
    assert_int_equal(f.cc.bytes_in_flight, 3600);
    assert_int_equal(quic_recovery_requeue_oldest(&f.r, QUIC_RECOVERY_HANDSHAKE, 2), 0);
    teardown_fx(&f);
}

/* RFC 9002 §6.1.2: the loss timer is set to time_sent + 9/8 * max(srtt, latest),
 * and its expiry declares the packet lost. */
static void test_time_threshold(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    quic_recovery_set_handshake_confirmed(&f.r, 0);
    send(&f, QUIC_RECOVERY_APP, 0, 0);
    send(&f, QUIC_RECOVERY_APP, 1, 1 * MS);
    send(&f, QUIC_RECOVERY_APP, 2, 2 * MS);
    /* ACK of 2 alone at 82 ms: latest_rtt = 80 ms = smoothed_rtt (first
     * sample); loss_delay = 90 ms; neither 0 nor 1 is lost yet. */
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 2, 2, 0, 82 * MS), 0);
    assert_int_equal(f.r.rtt.smoothed_rtt, 80 * MS);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_LOST), 0);
    assert_int_equal(f.r.loss_time[QUIC_RECOVERY_APP], 0 + 90 * MS);
    assert_int_equal(quic_recovery_next_timeout(&f.r), 90 * MS);

    quic_recovery_timeout to;
    quic_recovery_on_timeout(&f.r, 90 * MS - 1, &to); /* early: nothing */
    assert_int_equal(to.kind, QUIC_RECOVERY_TIMEOUT_NONE);
    quic_recovery_on_timeout(&f.r, 90 * MS, &to);
    assert_int_equal(to.kind, QUIC_RECOVERY_TIMEOUT_LOSS);
    assert_int_equal(to.space, QUIC_RECOVERY_APP);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_LOST), 1);
    assert_int_equal(f.ev[f.n_ev - 1].pn, 0);
    /* Packet 1 gets its own deadline: 1 ms + 90 ms. */
    assert_int_equal(quic_recovery_next_timeout(&f.r), 91 * MS);
    quic_recovery_on_timeout(&f.r, 91 * MS, &to);
    assert_int_equal(to.kind, QUIC_RECOVERY_TIMEOUT_LOSS);
    assert_int_equal(f.ev[f.n_ev - 1].pn, 1);
    assert_int_equal(f.cc.bytes_in_flight, 0);
    /* Nothing left in flight, address validated: the timer is off. */
    assert_int_equal(quic_recovery_next_timeout(&f.r), UINT64_MAX);

    /* latest_rtt above smoothed_rtt sets the threshold. */
    fixture g;
    setup_fx(&g, true, 0);
    quic_recovery_set_handshake_confirmed(&g.r, 0);
    send(&g, QUIC_RECOVERY_APP, 0, 0);
    assert_int_equal(ack1(&g, QUIC_RECOVERY_APP, 0, 0, 0, 40 * MS), 0);
    send(&g, QUIC_RECOVERY_APP, 1, 100 * MS);
    send(&g, QUIC_RECOVERY_APP, 2, 101 * MS);
    assert_int_equal(ack1(&g, QUIC_RECOVERY_APP, 2, 2, 0, 181 * MS), 0);
    /* latest 80 ms, smoothed (7 * 40 + 80) / 8 = 45 ms: delay 9/8 * 80 = 90 ms. */
    assert_int_equal(g.r.rtt.smoothed_rtt, 45 * MS);
    assert_int_equal(quic_recovery_next_timeout(&g.r), 100 * MS + 90 * MS);
    teardown_fx(&g);
    teardown_fx(&f);
}

/* RFC 9002 §6.2.1: while a loss timer is set no PTO is armed, even one
 * that would expire earlier. */
static void test_loss_timer_excludes_pto(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    quic_recovery_set_handshake_confirmed(&f.r, 0);
    f.r.rtt.max_ack_delay = 0;
    /* A steady 100 ms path drives rttvar to 0. */
    uint64_t pn = 0, t = 0;
    for (int i = 0; i < 60; i++, pn++, t += 200 * MS) {
        send(&f, QUIC_RECOVERY_APP, pn, t);
        assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, pn, pn, 0, t + 100 * MS), 0);
    }
    assert_int_equal(f.r.rtt.smoothed_rtt, 100 * MS);
    assert_true(f.r.rtt.rttvar < 250);
    send(&f, QUIC_RECOVERY_APP, pn, t);
    send(&f, QUIC_RECOVERY_APP, pn + 1, t + 1);
    /* PTO alone: t + 1 us + 100 ms + 1 ms (kGranularity). */
    assert_int_equal(quic_recovery_next_timeout(&f.r), t + 1 + 101 * MS);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, pn + 1, pn + 1, 0, t + 1 + 100 * MS), 0);
    /* The loss timer, t + 9/8 * 100 ms, replaces the (earlier) PTO. */
    assert_int_equal(quic_recovery_next_timeout(&f.r), t + 112500);
    teardown_fx(&f);
}

/* RFC 9002 §6.2.1: PTO = smoothed + max(4 * rttvar, kGranularity)
 * (+ max_ack_delay for application data), doubling on each expiry. */
static void test_pto_and_backoff(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 0, 0);
    /* No sample: 333 + 4 * 166.5 = 999 ms, no max_ack_delay in Initial. */
    assert_int_equal(quic_recovery_next_timeout(&f.r), 999 * MS);
    quic_recovery_timeout to;
    quic_recovery_on_timeout(&f.r, 999 * MS, &to);
    assert_int_equal(to.kind, QUIC_RECOVERY_TIMEOUT_PTO);
    assert_int_equal(to.space, QUIC_RECOVERY_INITIAL);
    assert_int_equal(to.probes, 2);
    assert_false(to.anti_deadlock);
    assert_int_equal(f.r.pto_count, 1);
    /* A PTO declares nothing lost (§6.2). */
    assert_int_equal(f.n_ev, 0);
    /* Backed off from the last ack-eliciting send (time 0): 2 * 999 ms. */
    assert_int_equal(quic_recovery_next_timeout(&f.r), 1998 * MS);
    /* The probe restarts the timer from its send time. */
    send(&f, QUIC_RECOVERY_INITIAL, 1, 999 * MS);
    assert_int_equal(quic_recovery_next_timeout(&f.r), 999 * MS + 1998 * MS);
    quic_recovery_on_timeout(&f.r, 2997 * MS, &to);
    assert_int_equal(to.kind, QUIC_RECOVERY_TIMEOUT_PTO);
    assert_int_equal(f.r.pto_count, 2);
    assert_int_equal(quic_recovery_next_timeout(&f.r), 999 * MS + 4 * 999 * MS);
    /* An acknowledgment resets the backoff (a server has validated). */
    assert_int_equal(ack1(&f, QUIC_RECOVERY_INITIAL, 1, 1, 0, 3100 * MS), 0);
    assert_int_equal(f.r.pto_count, 0);
    teardown_fx(&f);

    /* Application data: max_ack_delay is added, and only once confirmed. */
    setup_fx(&f, true, 0);
    send(&f, QUIC_RECOVERY_APP, 0, 0);
    assert_int_equal(quic_recovery_next_timeout(&f.r), UINT64_MAX);
    quic_recovery_set_handshake_confirmed(&f.r, 0);
    assert_int_equal(quic_recovery_next_timeout(&f.r), 999 * MS + 25 * MS);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 0, 0, 0, 40 * MS), 0);
    send(&f, QUIC_RECOVERY_APP, 1, 50 * MS);
    /* smoothed 40, rttvar 20: 40 + 80 + 25 = 145 ms after the send. */
    assert_int_equal(quic_recovery_pto_period(&f.r), 145 * MS);
    assert_int_equal(quic_recovery_next_timeout(&f.r), 50 * MS + 145 * MS);
    quic_recovery_on_timeout(&f.r, 195 * MS, &to);
    assert_int_equal(to.space, QUIC_RECOVERY_APP);
    /* Backoff doubles max_ack_delay too: 50 + 2 * 145. */
    assert_int_equal(quic_recovery_next_timeout(&f.r), 50 * MS + 290 * MS);
    quic_recovery_on_timeout(&f.r, 340 * MS, &to);
    assert_int_equal(quic_recovery_next_timeout(&f.r), 50 * MS + 4 * 145 * MS);
    teardown_fx(&f);
}

/* The earliest of the Initial and Handshake PTOs wins (§6.2.1). */
static void test_pto_earliest_space(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 0, 10 * MS);
    send(&f, QUIC_RECOVERY_HANDSHAKE, 0, 5 * MS); /* pn order is per space */
    assert_int_equal(quic_recovery_next_timeout(&f.r), 5 * MS + 999 * MS);
    quic_recovery_timeout to;
    quic_recovery_on_timeout(&f.r, 1004 * MS, &to);
    assert_int_equal(to.kind, QUIC_RECOVERY_TIMEOUT_PTO);
    assert_int_equal(to.space, QUIC_RECOVERY_HANDSHAKE);
    teardown_fx(&f);
}

/* RFC 9002 §6.2.2.1, Appendix A.8: a client whose address the server may not
 * have validated keeps a PTO armed with nothing in flight. */
static void test_client_anti_deadlock_pto(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, false, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 0, 0);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_INITIAL, 0, 0, 0, 100 * MS), 0);
    assert_int_equal(quic_recovery_ack_eliciting_in_flight(&f.r), 0);
    /* smoothed 100, rttvar 50: from now, 100 + 200 ms. */
    assert_int_equal(quic_recovery_next_timeout(&f.r), 400 * MS);
    quic_recovery_timeout to;
    quic_recovery_on_timeout(&f.r, 400 * MS, &to);
    assert_int_equal(to.kind, QUIC_RECOVERY_TIMEOUT_PTO);
    assert_true(to.anti_deadlock);
    assert_int_equal(to.space, QUIC_RECOVERY_INITIAL);
    assert_int_equal(to.probes, 1);
    assert_int_equal(f.r.pto_count, 1);
    assert_int_equal(quic_recovery_next_timeout(&f.r), 400 * MS + 600 * MS);
    /* With Handshake keys the probe is a Handshake packet. */
    quic_recovery_set_has_handshake_keys(&f.r, 500 * MS);
    assert_int_equal(quic_recovery_next_timeout(&f.r), 500 * MS + 600 * MS);
    quic_recovery_on_timeout(&f.r, 1100 * MS, &to);
    assert_true(to.anti_deadlock);
    assert_int_equal(to.space, QUIC_RECOVERY_HANDSHAKE);
    assert_int_equal(f.r.pto_count, 2);
    /* An Initial ACK does not reset a client's backoff... */
    send(&f, QUIC_RECOVERY_INITIAL, 1, 1100 * MS);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_INITIAL, 1, 1, 0, 1200 * MS), 0);
    assert_int_equal(f.r.pto_count, 2);
    /* ...a Handshake ACK does, and then nothing in flight means no timer. */
    send(&f, QUIC_RECOVERY_HANDSHAKE, 0, 1200 * MS);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_HANDSHAKE, 0, 0, 0, 1300 * MS), 0);
    assert_int_equal(f.r.pto_count, 0);
    assert_int_equal(quic_recovery_next_timeout(&f.r), UINT64_MAX);
    teardown_fx(&f);

    /* A server in the same position arms nothing. */
    setup_fx(&f, true, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 0, 0);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_INITIAL, 0, 0, 0, 100 * MS), 0);
    assert_int_equal(quic_recovery_next_timeout(&f.r), UINT64_MAX);
    teardown_fx(&f);
}

/* A client whose Initial was acknowledged but which has only 0-RTT packets
 * in flight (no application PTO before confirmation) still probes. */
static void test_client_anti_deadlock_with_0rtt(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, false, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 0, 0);
    send(&f, QUIC_RECOVERY_APP, 0, 0);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_INITIAL, 0, 0, 0, 100 * MS), 0);
    assert_int_equal(quic_recovery_ack_eliciting_in_flight(&f.r), 1);
    assert_int_equal(quic_recovery_next_timeout(&f.r), 400 * MS);
    quic_recovery_timeout to;
    quic_recovery_on_timeout(&f.r, 400 * MS, &to);
    assert_int_equal(to.kind, QUIC_RECOVERY_TIMEOUT_PTO);
    assert_true(to.anti_deadlock);
    assert_int_equal(to.space, QUIC_RECOVERY_INITIAL);
    /* Once confirmed, the 0-RTT packet's own PTO applies (with backoff 1):
     * 0 + 2 * (100 + 200 + 25) ms. */
    quic_recovery_set_handshake_confirmed(&f.r, 500 * MS);
    assert_int_equal(quic_recovery_next_timeout(&f.r), 650 * MS);
    quic_recovery_on_timeout(&f.r, 650 * MS, &to);
    assert_false(to.anti_deadlock);
    assert_int_equal(to.space, QUIC_RECOVERY_APP);
    assert_int_equal(to.probes, 2);
    teardown_fx(&f);
}

/* RFC 9002 §6.2.2.1: a server blocked by the amplification limit arms no PTO. */
static void test_amplification_limit(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 0, 0);
    quic_recovery_set_amplification_limited(&f.r, true, 10 * MS);
    assert_int_equal(quic_recovery_next_timeout(&f.r), UINT64_MAX);
    /* A datagram arrives long after: the PTO is due at once (Appendix A.6). */
    quic_recovery_set_amplification_limited(&f.r, false, 2000 * MS);
    assert_int_equal(quic_recovery_next_timeout(&f.r), 999 * MS);
    quic_recovery_timeout to;
    quic_recovery_on_timeout(&f.r, 2000 * MS, &to);
    assert_int_equal(to.kind, QUIC_RECOVERY_TIMEOUT_PTO);
    teardown_fx(&f);
}

/* RFC 9002 §7.6: losses spanning more than the persistent congestion
 * duration, none acknowledged between them, collapse the window. */
static void persistent_scenario(bool ack_in_middle, bool sample_first, uint64_t *cwnd, size_t *lost)
{
    fixture f;
    setup_fx(&f, true, 0);
    quic_recovery_set_handshake_confirmed(&f.r, 0);
    if (sample_first) {
        send(&f, QUIC_RECOVERY_APP, 0, 0);
        /* smoothed 100 ms, rttvar 50 ms: duration = (100 + 200 + 25) * 3 = 975 ms */
        assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 0, 0, 0, 100 * MS), 0);
        assert_int_equal(f.cc.cwnd, 13200); /* slow start: 12000 + 1200 */
    }
    /* Packets 1..12 sent 200 ms .. 1300 ms: a span of 1100 ms. */
    for (uint64_t pn = 1; pn <= 12; pn++)
        send(&f, QUIC_RECOVERY_APP, pn, 100 * MS + pn * 100 * MS);
    send(&f, QUIC_RECOVERY_APP, 13, 1400 * MS);
    quic_pn_range rg[2] = {{13, 13}, {6, 6}};
    quic_recovery_ack a = {.ranges = rg, .n_ranges = ack_in_middle ? 2 : 1};
    assert_int_equal(quic_recovery_on_ack_received(&f.r, QUIC_RECOVERY_APP, &a, 1500 * MS), 0);
    *cwnd = f.cc.cwnd;
    *lost = count_ev(&f, QUIC_RECOVERY_LOST);
    assert_int_equal(f.cc.bytes_in_flight, 0);
    teardown_fx(&f);
}

static void test_persistent_congestion(void **state)
{
    (void)state;
    uint64_t cwnd;
    size_t lost;
    persistent_scenario(false, true, &cwnd, &lost);
    assert_int_equal(lost, 12);
    /* kMinimumWindow (2 * 1200), then slow start again for packet 13, whose
     * acknowledgment is processed after the losses (Appendix A.7). */
    assert_int_equal(cwnd, 2400 + 1200);
    /* An acknowledged packet in the middle splits the losses into spans of
     * 400 and 500 ms: an ordinary loss, the window halves. */
    persistent_scenario(true, true, &cwnd, &lost);
    assert_int_equal(lost, 11);
    assert_int_equal(cwnd, 6600);
    /* Without an RTT sample before the losses there is no persistent
     * congestion (§7.6.2). */
    persistent_scenario(false, false, &cwnd, &lost);
    assert_int_equal(lost, 12);
    assert_int_equal(cwnd, 6000);
}

/* RFC 9002 §7.6.3 example, with one time unit = 100 ms: PTO-ish duration 2
 * units needs smoothed + 4 * rttvar + max_ack_delay = 200 ms. */
static void test_persistent_congestion_rfc_example(void **state)
{
    (void)state;
    fixture f;
    memset(&f, 0, sizeof(f));
    test_env_init(&f.te, 1);
    quic_cc_init_newreno(&f.cc, 1200);
    quic_recovery_config cfg = {.is_server = true, .max_ack_delay = 20 * MS};
    assert_int_equal(quic_recovery_init(&f.r, &f.te.env, &cfg, &f.cc, on_packet, &f), 0);
    quic_recovery_set_handshake_confirmed(&f.r, 0);
    /* Packet 1 at t=0, acked at t=1.2 (120 ms): smoothed 120 ms, rttvar 60 ms
     * would give 120 + 240 + 20. Use a sample of 60 ms instead by sending a
     * probe packet 0 first: smoothed 60, rttvar 30: 60 + 120 + 20 = 200 ms. */
    send(&f, QUIC_RECOVERY_APP, 0, 0);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 0, 0, 0, 60 * MS), 0);
    assert_int_equal(quic_recovery_pto_period(&f.r), 200 * MS);
    /* Packets 2..8 at t = 1, 2, 3, 4, 5, 6, 8 units; packet 9 at 12. */
    const uint64_t t[] = {100, 200, 300, 400, 500, 600, 800};
    for (int i = 0; i < 7; i++)
        send(&f, QUIC_RECOVERY_APP, (uint64_t)(2 + i), t[i] * MS);
    send(&f, QUIC_RECOVERY_APP, 9, 1200 * MS);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 9, 9, 0, 1220 * MS), 0);
    /* Packets 2..8 lost: period 8 - 1 = 7 units > 2 * 3 = 6 units. */
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_LOST), 7);
    /* kMinimumWindow, plus packet 9 acked in the slow start that follows. */
    assert_int_equal(f.cc.cwnd, 2400 + 1200);
    assert_int_equal(f.cc.ssthresh, 13200 / 2);
    /* min_rtt restarts from the newest sample (§5.2). */
    assert_int_equal(f.r.rtt.min_rtt, f.r.rtt.latest_rtt);
    teardown_fx(&f);
}

static void test_ack_validation(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 0, 0, 0, 0), QUIC_RECOVERY_ERR_ACK_UNSENT);
    send(&f, QUIC_RECOVERY_APP, 0, 0);
    send(&f, QUIC_RECOVERY_APP, 5, 0);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 0, 6, 0, 1), QUIC_RECOVERY_ERR_ACK_UNSENT);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 3, 2, 0, 1), QUIC_RECOVERY_ERR_BAD_RANGES);
    quic_pn_range bad[2] = {{4, 5}, {3, 4}}; /* overlapping */
    quic_recovery_ack a = {.ranges = bad, .n_ranges = 2};
    assert_int_equal(quic_recovery_on_ack_received(&f.r, QUIC_RECOVERY_APP, &a, 1),
                     QUIC_RECOVERY_ERR_BAD_RANGES);
    quic_pn_range up[2] = {{0, 0}, {5, 5}}; /* smallest-first */
    a.ranges = up;
    assert_int_equal(quic_recovery_on_ack_received(&f.r, QUIC_RECOVERY_APP, &a, 1),
                     QUIC_RECOVERY_ERR_BAD_RANGES);
    a.n_ranges = 0;
    assert_int_equal(quic_recovery_on_ack_received(&f.r, QUIC_RECOVERY_APP, &a, 1),
                     QUIC_RECOVERY_ERR_BAD_RANGES);
    assert_int_equal(ack1(&f, 7, 0, 0, 0, 1), QUIC_RECOVERY_ERR_ARG);
    /* Packet numbers must increase. */
    assert_int_equal(
        quic_recovery_on_packet_sent(&f.r, QUIC_RECOVERY_APP, 5, 100, true, true, 0, 1),
        QUIC_RECOVERY_ERR_PN_ORDER);
    /* Also after every earlier packet has left the record. */
    fixture g;
    setup_fx(&g, true, 0);
    send(&g, QUIC_RECOVERY_INITIAL, 3, 0);
    assert_int_equal(ack1(&g, QUIC_RECOVERY_INITIAL, 3, 3, 0, 1 * MS), 0);
    assert_int_equal(g.r.sent[QUIC_RECOVERY_INITIAL].len, 0);
    assert_int_equal(
        quic_recovery_on_packet_sent(&g.r, QUIC_RECOVERY_INITIAL, 3, 100, true, true, 0, 2 * MS),
        QUIC_RECOVERY_ERR_PN_ORDER);
    teardown_fx(&g);
    /* Acks spanning unsent gaps (pn 1..4 were skipped) are fine; duplicates
     * report nothing new. */
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 0, 5, 0, 10 * MS), 0);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_ACKED), 2);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 0, 5, 0, 11 * MS), 0);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_ACKED), 2);
    teardown_fx(&f);
}

/* RFC 9002 §6.4, Appendix A.11 */
static void test_discard_space(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 0, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 1, 0);
    send(&f, QUIC_RECOVERY_HANDSHAKE, 0, 1 * MS);
    assert_int_equal(f.cc.bytes_in_flight, 3600);
    quic_recovery_timeout to;
    quic_recovery_on_timeout(&f.r, 999 * MS, &to);
    assert_int_equal(f.r.pto_count, 1);
    quic_recovery_discard_space(&f.r, QUIC_RECOVERY_INITIAL, 1000 * MS);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_DISCARDED), 2);
    assert_int_equal(f.ev[0].space, QUIC_RECOVERY_INITIAL);
    assert_int_equal(f.cc.bytes_in_flight, 1200);
    assert_int_equal(f.r.pto_count, 0);
    /* Only the Handshake packet is left: its un-backed-off PTO. */
    assert_int_equal(quic_recovery_next_timeout(&f.r), 1 * MS + 999 * MS);
    assert_int_equal(quic_recovery_on_packet_sent(&f.r, QUIC_RECOVERY_INITIAL, 2, 1200, true, true,
                                                  0, 1000 * MS),
                     QUIC_RECOVERY_ERR_DISCARDED);
    assert_int_equal(ack1(&f, QUIC_RECOVERY_INITIAL, 0, 0, 0, 1000 * MS),
                     QUIC_RECOVERY_ERR_DISCARDED);
    quic_recovery_discard_space(&f.r, QUIC_RECOVERY_INITIAL, 1000 * MS); /* idempotent */
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_DISCARDED), 2);
    teardown_fx(&f);
}

/* ACK-only packets are neither in flight nor a reason for a timer. */
static void test_non_ack_eliciting(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    quic_recovery_set_handshake_confirmed(&f.r, 0);
    assert_int_equal(
        quic_recovery_on_packet_sent(&f.r, QUIC_RECOVERY_APP, 0, 50, false, false, 7, 0), 0);
    assert_int_equal(f.cc.bytes_in_flight, 0);
    assert_int_equal(quic_recovery_next_timeout(&f.r), UINT64_MAX);
    /* Acking only non-ack-eliciting packets gives no RTT sample. */
    assert_int_equal(ack1(&f, QUIC_RECOVERY_APP, 0, 0, 0, 30 * MS), 0);
    assert_false(f.r.rtt.has_sample);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_ACKED), 1);
    assert_int_equal(f.ev[0].handle, 7);
    teardown_fx(&f);
}

/* RFC 9002 Appendix B.7: an ECN-CE increase is a congestion event. */
static void test_ecn_ce(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 0, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 1, 0);
    quic_pn_range rg = {0, 0};
    quic_recovery_ack a = {.ranges = &rg, .n_ranges = 1, .has_ecn = true, .ecn_ce = 1};
    assert_int_equal(quic_recovery_on_ack_received(&f.r, QUIC_RECOVERY_INITIAL, &a, 10 * MS), 0);
    assert_int_equal(f.cc.ssthresh, 6000);
    assert_int_equal(f.cc.cwnd, 6000);
    /* Same count again: no new event. */
    rg = (quic_pn_range){1, 1};
    assert_int_equal(quic_recovery_on_ack_received(&f.r, QUIC_RECOVERY_INITIAL, &a, 11 * MS), 0);
    assert_int_equal(f.cc.cwnd, 6000);
    teardown_fx(&f);
}

/* RFC 9002 §6.3: on Retry everything sent is requeued, timers restart. */
static void test_retry(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, false, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 0, 0);
    send(&f, QUIC_RECOVERY_APP, 0, 0); /* 0-RTT */
    quic_recovery_on_retry(&f.r, 30 * MS);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_LOST), 2);
    assert_int_equal(f.cc.bytes_in_flight, 0);
    assert_int_equal(f.cc.cwnd, 12000); /* no congestion reaction */
    assert_false(f.r.rtt.has_sample);
    /* The client's anti-deadlock timer restarts from now. */
    assert_int_equal(quic_recovery_next_timeout(&f.r), 30 * MS + 999 * MS);
    teardown_fx(&f);
}

/* RFC 9002 §6.4: rejected 0-RTT packets are requeued, 1-RTT ones stay. */
static void test_0rtt_rejected(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, false, 0);
    send(&f, QUIC_RECOVERY_INITIAL, 0, 0);
    for (uint64_t pn = 0; pn < 3; pn++) /* 0-RTT */
        send(&f, QUIC_RECOVERY_APP, pn, 0);
    send(&f, QUIC_RECOVERY_APP, 3, 50 * MS); /* 1-RTT */
    assert_int_equal(f.cc.bytes_in_flight, 6000);
    quic_recovery_on_0rtt_rejected(&f.r, 2, 60 * MS);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_LOST), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(f.ev[i].space, QUIC_RECOVERY_APP);
        assert_int_equal(f.ev[i].pn, i);
    }
    assert_int_equal(f.cc.bytes_in_flight, 2400);
    assert_int_equal(f.cc.cwnd, 12000);
    assert_non_null(quic_sent_packets_find(&f.r.sent[QUIC_RECOVERY_APP], 3));
    /* The Initial packet's PTO is untouched. */
    assert_int_equal(quic_recovery_next_timeout(&f.r), 999 * MS);
    teardown_fx(&f);
}

/* sent_packets is bounded; tombstones behind a live packet are compacted. */
static void test_bound_and_compaction(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 4);
    for (uint64_t pn = 0; pn < 4; pn++)
        send(&f, QUIC_RECOVERY_INITIAL, pn, pn);
    assert_int_equal(
        quic_recovery_on_packet_sent(&f.r, QUIC_RECOVERY_INITIAL, 4, 1200, true, true, 0, 5),
        QUIC_RECOVERY_ERR_FULL);
    /* Ack 1 and 2 while 0 stays outstanding: their slots are reusable. */
    assert_int_equal(ack1(&f, QUIC_RECOVERY_INITIAL, 1, 2, 0, 10 * MS), 0);
    assert_int_equal(f.r.sent[QUIC_RECOVERY_INITIAL].len, 4);
    send(&f, QUIC_RECOVERY_INITIAL, 4, 11 * MS);
    send(&f, QUIC_RECOVERY_INITIAL, 5, 11 * MS);
    assert_int_equal(
        quic_recovery_on_packet_sent(&f.r, QUIC_RECOVERY_INITIAL, 6, 1200, true, true, 0, 12 * MS),
        QUIC_RECOVERY_ERR_FULL);
    quic_sent_packets *sp = &f.r.sent[QUIC_RECOVERY_INITIAL];
    assert_non_null(quic_sent_packets_find(sp, 0));
    assert_null(quic_sent_packets_find(sp, 1));
    assert_non_null(quic_sent_packets_find(sp, 5));
    assert_null(quic_sent_packets_find(sp, 6));
    /* Acking 5 at 13 ms: 0 is lost by packet threshold, 3 (sent at 3 us) by
     * time (loss delay 9/8 * ~10 ms), 4 (sent at 11 ms) is neither. */
    assert_int_equal(ack1(&f, QUIC_RECOVERY_INITIAL, 5, 5, 0, 13 * MS), 0);
    assert_null(quic_sent_packets_find(sp, 0));
    assert_null(quic_sent_packets_find(sp, 3));
    assert_non_null(quic_sent_packets_find(sp, 4));
    assert_int_equal(sp->live, 1);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_LOST), 2);
    teardown_fx(&f);
}

/* Growth of the ring through the allocator, and allocation failure. */
static void test_growth_and_nomem(void **state)
{
    (void)state;
    fixture f;
    setup_fx(&f, true, 1000);
    quic_recovery_set_handshake_confirmed(&f.r, 0);
    for (uint64_t pn = 0; pn < 1000; pn++)
        send(&f, QUIC_RECOVERY_APP, pn * 2, pn); /* skipped numbers are fine */
    assert_int_equal(f.r.sent[QUIC_RECOVERY_APP].live, 1000);
    assert_int_equal(f.cc.bytes_in_flight, 1200000);
    /* One ACK with many ranges, largest-first: every other packet. */
    quic_pn_range rg[500];
    for (size_t i = 0; i < 500; i++) {
        uint64_t pn = (999 - 2 * i) * 2;
        rg[i] = (quic_pn_range){pn, pn};
    }
    quic_recovery_ack a = {.ranges = rg, .n_ranges = 500};
    assert_int_equal(quic_recovery_on_ack_received(&f.r, QUIC_RECOVERY_APP, &a, 2000 * MS), 0);
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_ACKED), 500);
    /* The RTT sample is ~2 s, so the time threshold (9/8 of it) has not
     * passed for anything: the unacked packets are lost by packet threshold,
     * all but 1996, which has only 1998 above it. */
    assert_int_equal(count_ev(&f, QUIC_RECOVERY_LOST), 499);
    assert_non_null(quic_sent_packets_find(&f.r.sent[QUIC_RECOVERY_APP], 1996));
    assert_int_equal(f.cc.bytes_in_flight, 1200);
    assert_int_equal(f.r.sent[QUIC_RECOVERY_APP].live, 1);
    teardown_fx(&f);

    setup_fx(&f, true, 100);
    f.te.fail_after = 1;
    assert_int_equal(
        quic_recovery_on_packet_sent(&f.r, QUIC_RECOVERY_APP, 0, 1200, true, true, 0, 0),
        QUIC_RECOVERY_ERR_NOMEM);
    send(&f, QUIC_RECOVERY_APP, 0, 0); /* recovers once memory is back */
    teardown_fx(&f);
}

/* Model-based run: random sends, ACKs, timeouts and key discards, checking
 * that every packet leaves the record exactly once and that bytes in flight
 * always equal the sum over outstanding in-flight packets. */
#define RAND_PNS 4096
enum { OUT = 1, GONE = 2 };

typedef struct model {
    fixture f;
    uint8_t state[QUIC_RECOVERY_SPACES][RAND_PNS];
    uint32_t size[QUIC_RECOVERY_SPACES][RAND_PNS];
    bool in_flight[QUIC_RECOVERY_SPACES][RAND_PNS];
    uint64_t next_pn[QUIC_RECOVERY_SPACES];
    uint64_t rng;
    size_t reported;
} model;

static uint64_t rnd(model *m, uint64_t n)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return m->rng % n;
}

static void model_cb(void *user, int space, quic_recovery_event ev, const quic_sent_packet *p)
{
    model *m = user;
    (void)ev;
    assert_true(p->pn < RAND_PNS);
    assert_int_equal(m->state[space][p->pn], OUT);
    assert_int_equal(m->size[space][p->pn], p->size);
    assert_int_equal(p->handle, p->pn * 3 + (uint64_t)space);
    m->state[space][p->pn] = GONE;
    m->reported++;
}

static void model_check(model *m)
{
    uint64_t bytes = 0;
    for (int s = 0; s < QUIC_RECOVERY_SPACES; s++) {
        size_t live = 0;
        for (uint64_t pn = 0; pn < m->next_pn[s]; pn++) {
            if (m->state[s][pn] != OUT)
                continue;
            live++;
            if (m->in_flight[s][pn])
                bytes += m->size[s][pn];
        }
        assert_int_equal(m->f.r.sent[s].live, live);
    }
    assert_int_equal(m->f.cc.bytes_in_flight, bytes);
}

static void test_randomized_model(void **state)
{
    (void)state;
    static model m;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        memset(&m, 0, sizeof(m));
        m.rng = seed * 0x9e3779b97f4a7c15ULL;
        test_env_init(&m.f.te, seed);
        if (seed % 2)
            quic_cc_init_newreno(&m.f.cc, 1200);
        else
            quic_cc_init_cubic(&m.f.cc, 1200, true);
        quic_recovery_config cfg = {.is_server = seed % 3 == 0, .max_sent_packets = 64};
        assert_int_equal(quic_recovery_init(&m.f.r, &m.f.te.env, &cfg, &m.f.cc, model_cb, &m), 0);
        uint64_t now = 0;
        for (int step = 0; step < 3000; step++) {
            uint64_t op = rnd(&m, 100);
            int s = (int)rnd(&m, QUIC_RECOVERY_SPACES);
            if (op < 45) {
                uint64_t pn = m.next_pn[s] + rnd(&m, 3); /* sometimes skip */
                if (pn >= RAND_PNS)
                    continue;
                uint32_t size = (uint32_t)(20 + rnd(&m, 1400));
                bool ae = rnd(&m, 5) != 0;
                bool fl = ae || rnd(&m, 2);
                int rc = quic_recovery_on_packet_sent(&m.f.r, s, pn, size, ae, fl,
                                                      pn * 3 + (uint64_t)s, now);
                if (rc == 0) {
                    m.state[s][pn] = OUT;
                    m.size[s][pn] = size;
                    m.in_flight[s][pn] = fl;
                    m.next_pn[s] = pn + 1;
                } else {
                    assert_true(rc == QUIC_RECOVERY_ERR_FULL || rc == QUIC_RECOVERY_ERR_DISCARDED);
                }
            } else if (op < 75) {
                if (m.next_pn[s] == 0)
                    continue;
                /* Up to 4 random disjoint ranges below the largest sent. */
                quic_pn_range rg[4];
                size_t n = 0;
                uint64_t hi = m.next_pn[s] - 1 - rnd(&m, m.next_pn[s] < 8 ? 1 : 8);
                while (n < 4) {
                    uint64_t len = rnd(&m, 6);
                    uint64_t lo = hi >= len ? hi - len : 0;
                    rg[n++] = (quic_pn_range){lo, hi};
                    uint64_t gap = 2 + rnd(&m, 5);
                    if (lo < gap)
                        break;
                    hi = lo - gap;
                }
                quic_recovery_ack a = {.ranges = rg, .n_ranges = n, .ack_delay = rnd(&m, 30 * MS)};
                int rc = quic_recovery_on_ack_received(&m.f.r, s, &a, now);
                assert_true(rc == 0 || rc == QUIC_RECOVERY_ERR_DISCARDED);
                /* Everything in the ACK is no longer outstanding. */
                for (size_t i = 0; rc == 0 && i < n; i++)
                    for (uint64_t pn = rg[i].smallest; pn <= rg[i].largest; pn++)
                        assert_int_not_equal(m.state[s][pn], OUT);
            } else if (op < 90) {
                now += rnd(&m, 50 * MS);
            } else if (op < 97) {
                uint64_t t = quic_recovery_next_timeout(&m.f.r);
                if (t != UINT64_MAX) {
                    bool on_time = t >= now;
                    if (on_time)
                        now = t;
                    quic_recovery_timeout to;
                    quic_recovery_on_timeout(&m.f.r, now, &to);
                    assert_int_not_equal(to.kind, QUIC_RECOVERY_TIMEOUT_NONE);
                    /* A PTO served on time re-arms later. (After a loss
                     * timer, the PTO it held back may already be due.) */
                    uint64_t t2 = quic_recovery_next_timeout(&m.f.r);
                    if (on_time && to.kind == QUIC_RECOVERY_TIMEOUT_PTO)
                        assert_true(t2 > now);
                }
            } else if (op < 99) {
                if (s != QUIC_RECOVERY_APP && step > 1000)
                    quic_recovery_discard_space(&m.f.r, s, now);
            } else {
                quic_recovery_set_handshake_confirmed(&m.f.r, now);
            }
            model_check(&m);
        }
        assert_true(m.reported > 100);
        quic_recovery_free(&m.f.r);
        test_env_check_leaks(&m.f.te);
    }
}

/* End to end over a simulated lossy link: the sender's recovery, congestion
 * controller and pacer against a receiver's ACK tracker. 10% of packets and
 * of ACKs are dropped; every chunk of data must still arrive. */
#define SIM_CHUNKS 600
#define SIM_QUEUE 4096
#define SIM_DELAY (20 * MS)
#define PING UINT64_MAX

typedef struct sim_pkt {
    uint64_t at; /* arrival time */
    uint64_t pn;
    uint64_t chunk;
    quic_pn_range ranges[8];
    size_t n_ranges;
    uint64_t ack_delay;
} sim_pkt;

typedef struct sim {
    test_env te;
    quic_cc cc;
    quic_recovery r;
    quic_pacer pacer;
    quic_ack_tracker at;
    uint64_t pending[SIM_CHUNKS * 8];
    size_t n_pending;
    bool delivered[SIM_CHUNKS];
    bool acked[SIM_CHUNKS];
    size_t n_delivered;
    sim_pkt to_rx[SIM_QUEUE];
    size_t n_to_rx;
    sim_pkt to_tx[SIM_QUEUE];
    size_t n_to_tx;
    uint64_t next_pn;
    uint64_t rng;
    unsigned lost_reports, ptos;
} sim;

static bool sim_drop(sim *m)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return m->rng % 10 == 0;
}

static void sim_cb(void *user, int space, quic_recovery_event ev, const quic_sent_packet *p)
{
    sim *m = user;
    (void)space;
    if (p->handle == PING)
        return;
    if (ev == QUIC_RECOVERY_ACKED) {
        m->acked[p->handle] = true;
    } else if (ev == QUIC_RECOVERY_LOST) {
        m->lost_reports++;
        if (!m->acked[p->handle]) {
            assert_true(m->n_pending < SIM_CHUNKS * 8);
            m->pending[m->n_pending++] = p->handle;
        }
    }
}

static void sim_send(sim *m, uint64_t chunk, uint64_t now)
{
    uint64_t pn = m->next_pn++;
    assert_int_equal(
        quic_recovery_on_packet_sent(&m->r, QUIC_RECOVERY_APP, pn, 1200, true, true, chunk, now),
        0);
    quic_pacer_on_sent(&m->pacer, m->cc.cwnd, m->r.rtt.smoothed_rtt, 1200, now);
    if (sim_drop(m))
        return;
    assert_true(m->n_to_rx < SIM_QUEUE);
    m->to_rx[m->n_to_rx++] = (sim_pkt){.at = now + SIM_DELAY, .pn = pn, .chunk = chunk};
}

/* Take the next chunk still worth sending, or PING. */
static uint64_t sim_next_chunk(sim *m)
{
    while (m->n_pending > 0) {
        uint64_t c = m->pending[0];
        memmove(m->pending, m->pending + 1, (m->n_pending - 1) * sizeof(m->pending[0]));
        m->n_pending--;
        if (!m->acked[c])
            return c;
    }
    return PING;
}

static void sim_run(bool cubic)
{
    static sim m;
    memset(&m, 0, sizeof(m));
    m.rng = 88172645463325252ULL;
    test_env_init(&m.te, 7);
    if (cubic)
        quic_cc_init_cubic(&m.cc, 1200, true);
    else
        quic_cc_init_newreno(&m.cc, 1200);
    quic_recovery_config cfg = {.is_server = true, .max_ack_delay = 25 * MS};
    assert_int_equal(quic_recovery_init(&m.r, &m.te.env, &cfg, &m.cc, sim_cb, &m), 0);
    quic_recovery_set_handshake_confirmed(&m.r, 0);
    quic_pacer_init(&m.pacer, 1200, 0);
    quic_ack_tracker_init(&m.at, 8, 25 * MS, false);
    for (uint64_t c = 0; c < SIM_CHUNKS; c++)
        m.pending[m.n_pending++] = c;

    uint64_t now = 0;
    while (now < 120000 * MS) {
        /* Sender: fill the window as the pacer allows. */
        while (m.n_pending > 0 && quic_cc_can_send(&m.cc, 1200) &&
               quic_pacer_next_send_time(&m.pacer, m.cc.cwnd, m.r.rtt.smoothed_rtt, 1200, now) ==
                   now) {
            uint64_t c = sim_next_chunk(&m);
            if (c == PING)
                break;
            sim_send(&m, c, now);
        }
        /* Deliveries to the receiver. */
        for (size_t i = 0; i < m.n_to_rx;) {
            if (m.to_rx[i].at > now) {
                i++;
                continue;
            }
            sim_pkt p = m.to_rx[i];
            m.to_rx[i] = m.to_rx[--m.n_to_rx];
            if (quic_ack_tracker_on_packet_received(&m.at, p.pn, true, false, now) == 0 &&
                p.chunk != PING && !m.delivered[p.chunk]) {
                m.delivered[p.chunk] = true;
                m.n_delivered++;
            }
        }
        /* The receiver's ACKs. */
        if (quic_ack_tracker_should_send(&m.at, now)) {
            sim_pkt a = {.at = now + SIM_DELAY};
            a.n_ranges = quic_ack_tracker_build(&m.at, now, a.ranges, 8, &a.ack_delay);
            quic_ack_tracker_on_ack_sent(&m.at);
            if (!sim_drop(&m)) {
                assert_true(m.n_to_tx < SIM_QUEUE);
                m.to_tx[m.n_to_tx++] = a;
            }
        }
        for (size_t i = 0; i < m.n_to_tx;) {
            if (m.to_tx[i].at > now) {
                i++;
                continue;
            }
            sim_pkt a = m.to_tx[i];
            m.to_tx[i] = m.to_tx[--m.n_to_tx];
            quic_recovery_ack ack = {
                .ranges = a.ranges, .n_ranges = a.n_ranges, .ack_delay = a.ack_delay};
            assert_int_equal(quic_recovery_on_ack_received(&m.r, QUIC_RECOVERY_APP, &ack, now), 0);
        }
        /* Loss and probe timers. */
        if (quic_recovery_next_timeout(&m.r) <= now) {
            quic_recovery_timeout to;
            quic_recovery_on_timeout(&m.r, now, &to);
            if (to.kind == QUIC_RECOVERY_TIMEOUT_PTO) {
                m.ptos++;
                assert_int_equal(to.space, QUIC_RECOVERY_APP);
                for (unsigned k = 0; k < to.probes; k++)
                    sim_send(&m, sim_next_chunk(&m), now);
            }
        }
        if (m.n_delivered == SIM_CHUNKS && quic_recovery_ack_eliciting_in_flight(&m.r) == 0)
            break;
        now += 100; /* 0.1 ms steps */
    }
    print_message("sim %s: %llu ms, %u lost, %u PTOs, cwnd %llu, srtt %llu\n", m.cc.ops->name,
                  (unsigned long long)(now / MS), m.lost_reports, m.ptos,
                  (unsigned long long)m.cc.cwnd, (unsigned long long)m.r.rtt.smoothed_rtt);
    assert_int_equal(m.n_delivered, SIM_CHUNKS);
    assert_int_equal(m.cc.bytes_in_flight, 0);
    assert_true(m.lost_reports > 0);
    /* The path RTT is 40 ms plus up to 25 ms of ACK delay, which the
     * estimator subtracts. */
    assert_true(m.r.rtt.min_rtt >= 40 * MS);
    assert_true(m.r.rtt.smoothed_rtt >= 40 * MS && m.r.rtt.smoothed_rtt <= 70 * MS);
    /* Done well within a minute of simulated time. */
    assert_true(now < 60000 * MS);
    quic_recovery_free(&m.r);
    test_env_check_leaks(&m.te);
}

static void test_simulated_lossy_link(void **state)
{
    (void)state;
    sim_run(true);
    sim_run(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_packet_threshold),
        cmocka_unit_test(test_time_threshold),
        cmocka_unit_test(test_spurious_loss_undo),
        cmocka_unit_test(test_requeue_oldest),
        cmocka_unit_test(test_ecn_validation),
        cmocka_unit_test(test_pmtu_probe_loss),
        cmocka_unit_test(test_loss_timer_excludes_pto),
        cmocka_unit_test(test_pto_and_backoff),
        cmocka_unit_test(test_pto_earliest_space),
        cmocka_unit_test(test_client_anti_deadlock_pto),
        cmocka_unit_test(test_client_anti_deadlock_with_0rtt),
        cmocka_unit_test(test_amplification_limit),
        cmocka_unit_test(test_persistent_congestion),
        cmocka_unit_test(test_persistent_congestion_rfc_example),
        cmocka_unit_test(test_ack_validation),
        cmocka_unit_test(test_discard_space),
        cmocka_unit_test(test_non_ack_eliciting),
        cmocka_unit_test(test_ecn_ce),
        cmocka_unit_test(test_retry),
        cmocka_unit_test(test_0rtt_rejected),
        cmocka_unit_test(test_bound_and_compaction),
        cmocka_unit_test(test_growth_and_nomem),
        cmocka_unit_test(test_randomized_model),
        cmocka_unit_test(test_simulated_lossy_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
