/* The parts of QUIC congestion control common to every controller (RFC 9002 §7, Appendix B). */
#include "quic/cc.h"

#include <string.h>

void quic_cc_init_common(quic_cc *cc, const quic_cc_ops *ops, uint64_t mds)
{
    memset(cc, 0, sizeof(*cc));
    if (mds == 0)
        mds = 1200;
    cc->ops = ops;
    cc->max_datagram_size = mds;
    cc->cwnd = quic_cc_initial_window(mds);
    cc->ssthresh = UINT64_MAX;
    cc->hs.done = true;
}

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
    if (cc->ops != NULL && cc->ops->on_datagram_size != NULL)
        cc->ops->on_datagram_size(cc, old);
}

/* RFC 9002 Appendix B.5 (InCongestionRecovery) */
bool quic_cc_in_recovery(const quic_cc *cc, uint64_t sent_time)
{
    return cc->in_recovery_valid && sent_time <= cc->recovery_start_time;
}

/* RFC 9002 Appendix B.4 */
void quic_cc_on_packet_sent(quic_cc *cc, uint64_t bytes, uint64_t now)
{
    cc->bytes_in_flight += bytes;
    cc->last_sent_time = now;
}

/* RFC 9002 Appendix B.5 (OnPacketAcked) */
void quic_cc_on_packet_acked(quic_cc *cc, uint64_t bytes, uint64_t time_sent, uint64_t smoothed_rtt,
                             uint64_t now)
{
    quic_cc_remove_in_flight(cc, bytes);
    if (!quic_cc_in_recovery(cc, time_sent))
        cc->recovering = false; /* RFC 9002 §7.3.2: recovery ends */
    /* §7.8: an underused window is not grown. */
    if (cc->app_limited)
        return;
    if (quic_cc_in_recovery(cc, time_sent))
        return;
    if (quic_cc_in_slow_start(cc)) {
        /* RFC 9002 §7.3.1, RFC 9438 §4.10: one byte of window per byte
         * acknowledged; RFC 9406 §4.2: a quarter of it in CSS. */
        cc->cwnd += quic_cc_hystart_growth(cc, bytes);
        return;
    }
    cc->ops->on_ack(cc, bytes, smoothed_rtt, now);
}

/* RFC 9002 Appendix B.8, B.9 */
void quic_cc_remove_in_flight(quic_cc *cc, uint64_t bytes)
{
    cc->bytes_in_flight = cc->bytes_in_flight > bytes ? cc->bytes_in_flight - bytes : 0;
}

/* The loss average: each packet number moves it 1/16 of the way toward 1
 * (lost) or 0 (not lost, counted up to 32 back), as picoquic filters its
 * CUBIC's losses. Isolated random losses keep it near the loss rate (about
 * 1/8 just after a loss at 10%); packets dropped close together, as a full
 * queue drops them, raise it past 1/5 within four losses. */
#define LOSS_RATE_ONE 65536u
#define LOSS_RATE_SHIFT 4u
#define LOSS_RATE_SCOPE 32u
#define LOSS_RATE_THRESHOLD (LOSS_RATE_ONE / 5)

bool quic_cc_on_loss(quic_cc *cc, uint64_t pn)
{
    if (pn > cc->loss_rate_pn) {
        uint64_t gap = pn - cc->loss_rate_pn;
        if (gap > LOSS_RATE_SCOPE)
            gap = LOSS_RATE_SCOPE;
        for (uint64_t i = 0; i < gap; i++)
            cc->loss_rate -= cc->loss_rate >> LOSS_RATE_SHIFT;
        cc->loss_rate_pn = pn;
    }
    cc->loss_rate += (LOSS_RATE_ONE - cc->loss_rate) >> LOSS_RATE_SHIFT;
    return !cc->loss_tolerant || cc->loss_rate > LOSS_RATE_THRESHOLD;
}

/* RFC 9002 §7.3.2, Appendix B.6 (OnCongestionEvent) */
bool quic_cc_on_congestion_event(quic_cc *cc, uint64_t sent_time, uint64_t now)
{
    /* One reduction per round trip: losses of packets sent before the
     * recovery period began do not reduce again. */
    if (quic_cc_in_recovery(cc, sent_time))
        return false;
    cc->undo.cwnd = cc->cwnd;
    cc->undo.ssthresh = cc->ssthresh;
    cc->undo.u = cc->u;
    cc->undo.max_datagram_size = cc->max_datagram_size;
    cc->undo.valid = true;
    cc->recovery_start_time = now;
    cc->in_recovery_valid = true;
    cc->recovering = true;
    cc->congestion_events++;
    cc->ops->on_congestion_event(cc, now);
    return true;
}

/* RFC 8985 §9.3 (undo of a spurious reduction) */
void quic_cc_undo(quic_cc *cc, uint64_t now)
{
    (void)now;
    if (!cc->undo.valid)
        return;
    cc->undo.valid = false;
    if (cc->undo.cwnd > cc->cwnd)
        cc->cwnd = cc->undo.cwnd;
    cc->ssthresh = cc->undo.ssthresh;
    cc->u = cc->undo.u;
    /* The restored state may count segments of a size PMTUD has changed since. */
    if (cc->undo.max_datagram_size != cc->max_datagram_size && cc->ops->on_datagram_size != NULL)
        cc->ops->on_datagram_size(cc, cc->undo.max_datagram_size);
    cc->in_recovery_valid = false;
    cc->recovering = false;
    cc->undone++;
}

/* RFC 9002 §7.6.2, Appendix B.8 */
void quic_cc_on_persistent_congestion(quic_cc *cc, uint64_t now)
{
    cc->cwnd = quic_cc_minimum_window(cc->max_datagram_size);
    cc->in_recovery_valid = false;
    cc->undo.valid = false;
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

/* RFC 9002 §7.7: N = 5/4 in the pacer; in slow start the window doubles
 * every round trip, so pace at twice the window's rate (as N = 2). */
/* draft-ietf-quic-qlog-quic-events-13 §7.3 congestion states */
const char *quic_cc_state_name(const quic_cc *cc)
{
    if (cc->recovering)
        return "recovery";
    if (cc->app_limited)
        return "application_limited";
    /* HyStart++'s Conservative Slow Start is still slow start to qlog. */
    if (quic_cc_in_slow_start(cc))
        return "slow_start";
    return "congestion_avoidance";
}

uint64_t quic_cc_pacing_window(const quic_cc *cc)
{
    if (quic_cc_in_slow_start(cc))
        return cc->cwnd / 5 * 8;
    return cc->cwnd;
}
