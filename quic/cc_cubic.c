/* CUBIC congestion control for QUIC (RFC 9438, within the RFC 9002 §7 framework). */
#include "quic/cc.h"

#include <string.h>

#define CUBIC_C 0.4    /* RFC 9438 §4.1.1: segments / second^3 */
#define CUBIC_BETA 0.7 /* RFC 9438 §4.6 */
/* RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic) */
#define CUBIC_ALPHA (3.0 * (1.0 - CUBIC_BETA) / (1.0 + CUBIC_BETA))

/* Cube root of x >= 0 by Newton's method, so that the core needs no libm. */
static double cube_root(double x)
{
    if (x <= 0.0)
        return 0.0;
    /* Start above the root: the iteration then decreases monotonically. */
    double y = x > 1.0 ? x : 1.0;
    for (int i = 0; i < 200; i++) {
        double n = (2.0 * y + x / (y * y)) / 3.0;
        if (n >= y)
            break;
        y = n;
    }
    return y;
}

/* RFC 9438 §4.2: W_cubic(t) = C * (t - K)^3 + W_max, in bytes. */
static double w_cubic(const quic_cc *cc, double t)
{
    const quic_cc_cubic *c = &cc->u.cubic;
    double d = t - c->k;
    return CUBIC_C * (double)cc->max_datagram_size * d * d * d + c->w_max;
}

/* RFC 9438 §4.2, §4.3, §4.8: a congestion avoidance stage begins. */
static void start_epoch(quic_cc *cc, uint64_t now)
{
    quic_cc_cubic *c = &cc->u.cubic;
    double cwnd = (double)cc->cwnd;
    c->has_epoch = true;
    c->epoch_start = now;
    c->cwnd_epoch = cwnd;
    c->w_est = cwnd;
    c->acc = 0.0;
    if (c->w_max <= cwnd) {
        /* No larger window to return to (first stage, or after a timeout). */
        c->w_max = cwnd;
        c->k = 0.0;
    } else {
        /* K = cubic_root((W_max - cwnd_epoch) / C), C scaled to bytes. */
        c->k = cube_root((c->w_max - cwnd) / (CUBIC_C * (double)cc->max_datagram_size));
    }
}

/* RFC 9438 §4.2 - §4.5, §4.10 */
static void cubic_on_ack(quic_cc *cc, uint64_t bytes, uint64_t smoothed_rtt, uint64_t now)
{
    quic_cc_cubic *c = &cc->u.cubic;
    double mds = (double)cc->max_datagram_size;
    if (cc->cwnd < cc->ssthresh) {
        /* §4.10: Reno slow start. */
        cc->cwnd += bytes;
        return;
    }
    if (!c->has_epoch)
        start_epoch(cc, now);
    double cwnd = (double)cc->cwnd;
    double t = now > c->epoch_start ? (double)(now - c->epoch_start) / 1e6 : 0.0;

    /* §4.3: W_est += alpha_cubic * segments_acked / cwnd, in bytes; alpha
     * becomes 1 once W_est has reached the window before the reduction. */
    double alpha = c->w_est >= c->cwnd_prior ? 1.0 : CUBIC_ALPHA;
    c->w_est += alpha * ((double)bytes / cwnd) * mds;

    if (w_cubic(cc, t) < c->w_est) {
        /* §4.3: Reno-friendly region. */
        if (c->w_est > cwnd)
            cc->cwnd = (uint64_t)c->w_est;
        return;
    }
    /* §4.2: target = W_cubic(t + RTT), clamped to [cwnd, 1.5 * cwnd]. */
    double target = w_cubic(cc, t + (double)smoothed_rtt / 1e6);
    if (target < cwnd)
        target = cwnd;
    if (target > 1.5 * cwnd)
        target = 1.5 * cwnd;
    /* §4.4, §4.5: cwnd += (target - cwnd) / cwnd per segment acked. */
    c->acc += (target - cwnd) * (double)bytes / cwnd;
    if (c->acc >= 1.0) {
        uint64_t inc = (uint64_t)c->acc;
        cc->cwnd += inc;
        c->acc -= (double)inc;
    }
}

/* RFC 9438 §4.6, §4.7 */
static void cubic_on_congestion_event(quic_cc *cc, uint64_t now)
{
    quic_cc_cubic *c = &cc->u.cubic;
    double cwnd = (double)cc->cwnd;
    /* §4.7: fast convergence releases bandwidth when the saturation point fell. */
    if (c->fast_convergence && cwnd < c->w_max)
        c->w_max = cwnd * (1.0 + CUBIC_BETA) / 2.0;
    else
        c->w_max = cwnd;
    c->cwnd_prior = cwnd;
    uint64_t ssthresh = (uint64_t)(cwnd * CUBIC_BETA);
    uint64_t min = quic_cc_minimum_window(cc->max_datagram_size);
    if (ssthresh < min)
        ssthresh = min;
    cc->ssthresh = ssthresh;
    cc->cwnd = ssthresh;
    start_epoch(cc, now);
}

/* RFC 9438 §4.8: after a timeout the next stage starts with K = 0 and
 * W_max = the window at its start. */
static void cubic_on_persistent_congestion(quic_cc *cc, uint64_t now)
{
    (void)now;
    quic_cc_cubic *c = &cc->u.cubic;
    c->has_epoch = false;
    c->w_max = 0.0;
    c->acc = 0.0;
}

/* RFC 9438 §4.2: t must not include application-limited periods. */
static void cubic_on_app_limited(quic_cc *cc, bool limited, uint64_t now)
{
    quic_cc_cubic *c = &cc->u.cubic;
    if (limited) {
        c->app_limited_since = now;
    } else if (c->has_epoch && now > c->app_limited_since) {
        c->epoch_start += now - c->app_limited_since;
    }
}

static const quic_cc_ops cubic_ops = {
    .name = "cubic",
    .on_ack = cubic_on_ack,
    .on_congestion_event = cubic_on_congestion_event,
    .on_persistent_congestion = cubic_on_persistent_congestion,
    .on_app_limited = cubic_on_app_limited,
};

/* RFC 9002 Appendix B.3, RFC 9438 §4.10 */
void quic_cc_init_cubic(quic_cc *cc, uint64_t mds, bool fast_convergence)
{
    memset(cc, 0, sizeof(*cc));
    if (mds == 0)
        mds = 1200;
    cc->ops = &cubic_ops;
    cc->max_datagram_size = mds;
    cc->cwnd = quic_cc_initial_window(mds);
    cc->ssthresh = UINT64_MAX;
    cc->u.cubic.fast_convergence = fast_convergence;
}
