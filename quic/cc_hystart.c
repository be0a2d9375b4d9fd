/* HyStart++: slow start that ends on round-trip delay growth (RFC 9406), for any controller. */
#include "quic/cc.h"

#if QUINCE_HYSTART

/* RFC 9406 §4.3. The RFC is not in specs/; these values were checked against
 * several public implementations that cite that section. L (the growth cap
 * per ACK) is infinite because Quince paces (§4.3: "L = infinity if paced"). */
#define MIN_RTT_THRESH_US 4000u  /* MIN_RTT_THRESH 4 ms */
#define MAX_RTT_THRESH_US 16000u /* MAX_RTT_THRESH 16 ms */
#define MIN_RTT_DIVISOR 8u
#define N_RTT_SAMPLE 8u
#define CSS_GROWTH_DIVISOR 4u
#define CSS_ROUNDS 5u
#define INF UINT64_MAX

void quic_cc_hystart_enable(quic_cc *cc, bool on)
{
    quic_cc_hystart *h = &cc->hs;
    h->enabled = on;
    h->done = !on;
    h->in_css = false;
    h->round_end = 0;
    h->last_round_min_rtt = h->current_round_min_rtt = h->css_baseline_min_rtt = INF;
    h->rtt_sample_count = 0;
    h->css_rounds = 0;
}

/* RFC 9406 §4.2 */
void quic_cc_on_rtt_sample(quic_cc *cc, uint64_t latest_rtt, uint64_t time_sent, uint64_t now)
{
    (void)now;
    quic_cc_hystart *h = &cc->hs;
    if (h->done)
        return;
    /* Only the first slow start: a congestion event ends it for good. */
    if (cc->ssthresh != UINT64_MAX || !quic_cc_in_slow_start(cc)) {
        h->done = true;
        h->in_css = false;
        return;
    }
    if (time_sent >= h->round_end) {
        /* A packet sent after the round began was acknowledged: next round.
         * Its end is the newest packet sent so far. */
        h->round_end = cc->last_sent_time + 1;
        h->last_round_min_rtt = h->current_round_min_rtt;
        h->current_round_min_rtt = INF;
        h->rtt_sample_count = 0;
        if (h->in_css) {
            /* The round CSS began in counts as one. */
            if (h->css_rounds >= CSS_ROUNDS) {
                /* The delay stayed up: congestion avoidance from here. */
                cc->ssthresh = cc->cwnd;
                h->in_css = false;
                h->done = true;
                h->css_to_ca++;
                return;
            }
            h->css_rounds++;
        }
    }
    if (latest_rtt < h->current_round_min_rtt)
        h->current_round_min_rtt = latest_rtt;
    h->rtt_sample_count++;
    if (h->rtt_sample_count < N_RTT_SAMPLE || h->current_round_min_rtt == INF)
        return;
    if (!h->in_css) {
        if (h->last_round_min_rtt == INF)
            return;
        uint64_t thresh = h->last_round_min_rtt / MIN_RTT_DIVISOR;
        if (thresh > MAX_RTT_THRESH_US)
            thresh = MAX_RTT_THRESH_US;
        if (thresh < MIN_RTT_THRESH_US)
            thresh = MIN_RTT_THRESH_US;
        if (h->current_round_min_rtt >= h->last_round_min_rtt + thresh) {
            h->in_css = true;
            h->css_baseline_min_rtt = h->current_round_min_rtt;
            h->css_rounds = 1;
            h->css_entries++;
        }
    } else if (h->current_round_min_rtt < h->css_baseline_min_rtt) {
        /* The delay fell back: the exit was spurious, slow start resumes. */
        h->in_css = false;
        h->css_baseline_min_rtt = INF;
    }
}

/* RFC 9406 §4.2: cwnd += min(N, L * SMSS) in slow start, divided by
 * CSS_GROWTH_DIVISOR in Conservative Slow Start. */
uint64_t quic_cc_hystart_growth(const quic_cc *cc, uint64_t bytes)
{
    if (cc->hs.in_css && !cc->hs.done)
        return bytes / CSS_GROWTH_DIVISOR;
    return bytes;
}

#endif /* QUINCE_HYSTART */
