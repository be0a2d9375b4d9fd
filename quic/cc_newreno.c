/* NewReno congestion control for QUIC (RFC 9002 §7.3, Appendix B). */
#include "quic/cc.h"

#include <stddef.h>

/* RFC 9002 §7.3.1, §7.3.3, Appendix B.5 */
static void newreno_on_ack(quic_cc *cc, uint64_t bytes, uint64_t smoothed_rtt, uint64_t now)
{
    (void)smoothed_rtt;
    (void)now;
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
    quic_cc_init_common(cc, &newreno_ops, mds);
}
