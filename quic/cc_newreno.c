/* NewReno congestion control for QUIC (RFC 9002 §7, Appendix B), and the generic quic_cc parts. */
#include "quic/cc.h"

#include <string.h>

/* RFC 9002 §7.2 */
uint64_t quic_cc_initial_window(uint64_t mds)
{
    uint64_t limit = 2 * mds > 14720 ? 2 * mds : 14720;
    return 10 * mds < limit ? 10 * mds : limit;
}

/* RFC 9002 §7.2 */
uint64_t quic_cc_minimum_window(uint64_t mds)
{
    return 2 * mds;
}

/* RFC 9002 §7.2 */
void quic_cc_set_max_datagram_size(quic_cc *cc, uint64_t mds)
{
    if (mds == 0 || mds == cc->max_datagram_size)
        return;
    uint64_t old = cc->max_datagram_size;
    cc->max_datagram_size = mds;
    /* A window still at its initial value, or any window when the size
     * shrinks, restarts from the new initial window. */
    if (cc->cwnd == quic_cc_initial_window(old) || mds < old)
        cc->cwnd = quic_cc_initial_window(mds);
    if (cc->cwnd < quic_cc_minimum_window(mds))
        cc->cwnd = quic_cc_minimum_window(mds);
}

/* RFC 9002 Appendix B.5 (InCongestionRecovery) */
bool quic_cc_in_recovery(const quic_cc *cc, uint64_t sent_time)
{
    return cc->in_recovery_valid && sent_time <= cc->recovery_start_time;
}

/* RFC 9002 Appendix B.4 */
void quic_cc_on_packet_sent(quic_cc *cc, uint64_t bytes, uint64_t now)
{
    (void)now;
    cc->bytes_in_flight += bytes;
}

/* RFC 9002 Appendix B.5 (OnPacketAcked) */
void quic_cc_on_packet_acked(quic_cc *cc, uint64_t bytes, uint64_t time_sent, uint64_t smoothed_rtt,
                             uint64_t now)
{
    quic_cc_remove_in_flight(cc, bytes);
    /* §7.8: an underused window is not grown. */
    if (cc->app_limited)
        return;
    if (quic_cc_in_recovery(cc, time_sent))
        return;
    cc->ops->on_ack(cc, bytes, smoothed_rtt, now);
}

/* RFC 9002 Appendix B.8, B.9 */
void quic_cc_remove_in_flight(quic_cc *cc, uint64_t bytes)
{
    cc->bytes_in_flight = cc->bytes_in_flight > bytes ? cc->bytes_in_flight - bytes : 0;
}

/* RFC 9002 §7.3.2, Appendix B.6 (OnCongestionEvent) */
void quic_cc_on_congestion_event(quic_cc *cc, uint64_t sent_time, uint64_t now)
{
    /* One reduction per round trip: losses of packets sent before the
     * recovery period began do not reduce again. */
    if (quic_cc_in_recovery(cc, sent_time))
        return;
    cc->recovery_start_time = now;
    cc->in_recovery_valid = true;
    cc->ops->on_congestion_event(cc, now);
}

/* RFC 9002 §7.6.2, Appendix B.8 */
void quic_cc_on_persistent_congestion(quic_cc *cc, uint64_t now)
{
    cc->cwnd = quic_cc_minimum_window(cc->max_datagram_size);
    cc->in_recovery_valid = false;
    cc->recovery_start_time = 0;
    cc->ops->on_persistent_congestion(cc, now);
}

/* RFC 9002 §7.8 */
void quic_cc_set_app_limited(quic_cc *cc, bool limited, uint64_t now)
{
    if (cc->app_limited == limited)
        return;
    cc->app_limited = limited;
    if (cc->ops->on_app_limited != NULL)
        cc->ops->on_app_limited(cc, limited, now);
}

/* RFC 9002 §7.3.1, §7.3.3, Appendix B.5 */
static void newreno_on_ack(quic_cc *cc, uint64_t bytes, uint64_t smoothed_rtt, uint64_t now)
{
    (void)smoothed_rtt;
    (void)now;
    if (cc->cwnd < cc->ssthresh) {
        /* Slow start: one byte of window per byte acked. */
        cc->cwnd += bytes;
        return;
    }
    /* Congestion avoidance: one max_datagram_size per window acked, counted
     * in bytes (RFC 3465 §2.1) to avoid integer division loss. */
    cc->u.reno_acc += bytes;
    if (cc->u.reno_acc >= cc->cwnd) {
        cc->u.reno_acc -= cc->cwnd;
        cc->cwnd += cc->max_datagram_size;
    }
}

/* RFC 9002 §7.3.2, Appendix B.6: kLossReductionFactor is 0.5. */
static void newreno_on_congestion_event(quic_cc *cc, uint64_t now)
{
    (void)now;
    uint64_t min = quic_cc_minimum_window(cc->max_datagram_size);
    cc->ssthresh = cc->cwnd / 2;
    cc->cwnd = cc->ssthresh > min ? cc->ssthresh : min;
    cc->u.reno_acc = 0;
}

/* RFC 9002 §7.6.2 */
static void newreno_on_persistent_congestion(quic_cc *cc, uint64_t now)
{
    (void)now;
    cc->u.reno_acc = 0;
}

static const quic_cc_ops newreno_ops = {
    .name = "newreno",
    .on_ack = newreno_on_ack,
    .on_congestion_event = newreno_on_congestion_event,
    .on_persistent_congestion = newreno_on_persistent_congestion,
    .on_app_limited = NULL,
};

/* RFC 9002 Appendix B.3 */
void quic_cc_init_newreno(quic_cc *cc, uint64_t mds)
{
    memset(cc, 0, sizeof(*cc));
    if (mds == 0)
        mds = 1200;
    cc->ops = &newreno_ops;
    cc->max_datagram_size = mds;
    cc->cwnd = quic_cc_initial_window(mds);
    cc->ssthresh = UINT64_MAX;
}
