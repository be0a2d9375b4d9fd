/* RTT estimation for QUIC loss detection (RFC 9002 §5). */
#include "quic/rtt.h"

/* RFC 9002 §5.3, Appendix A.4 */
void quic_rtt_init(quic_rtt *r, uint64_t initial_rtt, uint64_t max_ack_delay)
{
    if (initial_rtt == 0)
        initial_rtt = QUIC_RTT_INITIAL_US;
    r->latest_rtt = 0;
    r->min_rtt = 0;
    r->smoothed_rtt = initial_rtt;
    r->rttvar = initial_rtt / 2;
    r->max_ack_delay = max_ack_delay;
    r->first_sample_time = 0;
    r->has_sample = false;
}

/* RFC 9002 §5.2, §5.3, Appendix A.7 (UpdateRtt) */
void quic_rtt_update(quic_rtt *r, uint64_t latest_rtt, uint64_t ack_delay, bool handshake_confirmed,
                     uint64_t now)
{
    r->latest_rtt = latest_rtt;
    if (!r->has_sample) {
        r->min_rtt = latest_rtt;
        r->smoothed_rtt = latest_rtt;
        r->rttvar = latest_rtt / 2;
        r->first_sample_time = now;
        r->has_sample = true;
        return;
    }
    /* min_rtt ignores acknowledgment delay. */
    if (latest_rtt < r->min_rtt)
        r->min_rtt = latest_rtt;
    if (handshake_confirmed && ack_delay > r->max_ack_delay)
        ack_delay = r->max_ack_delay;
    /* Never subtract the delay below min_rtt: limits a misreporting peer. */
    uint64_t adjusted = latest_rtt;
    if (latest_rtt >= r->min_rtt + ack_delay)
        adjusted = latest_rtt - ack_delay;
    /* Appendix A.7 order (as RFC 6298): rttvar uses the previous smoothed_rtt. */
    uint64_t diff =
        r->smoothed_rtt > adjusted ? r->smoothed_rtt - adjusted : adjusted - r->smoothed_rtt;
    r->rttvar = (3 * r->rttvar + diff) / 4;
    r->smoothed_rtt = (7 * r->smoothed_rtt + adjusted) / 8;
}

/* RFC 9002 §6.2.1 */
uint64_t quic_rtt_pto_base(const quic_rtt *r)
{
    uint64_t var = 4 * r->rttvar;
    if (var < QUIC_GRANULARITY_US)
        var = QUIC_GRANULARITY_US;
    return r->smoothed_rtt + var;
}

/* RFC 9002 §6.1.2: kTimeThreshold is 9/8. */
uint64_t quic_rtt_loss_delay(const quic_rtt *r)
{
    uint64_t base = r->latest_rtt > r->smoothed_rtt ? r->latest_rtt : r->smoothed_rtt;
    uint64_t d = base + base / 8;
    return d < QUIC_GRANULARITY_US ? QUIC_GRANULARITY_US : d;
}

/* RFC 9002 §5.2 */
void quic_rtt_reset_min_rtt(quic_rtt *r)
{
    if (r->has_sample)
        r->min_rtt = r->latest_rtt;
}
