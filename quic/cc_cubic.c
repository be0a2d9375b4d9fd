/* CUBIC congestion control for QUIC (RFC 9438, within the RFC 9002 §7 framework), in integers. */
#include "quic/cc.h"

/* RFC 9438 §4.1.1 C = 0.4 segments / second^3 and §4.6 beta_cubic = 0.7, as
 * fractions; §4.3 alpha_cubic = 3 * (1 - beta) / (1 + beta) = 9/17. */
#define C_NUM 4u
#define C_DEN 10u
#define BETA_NUM 7u
#define BETA_DEN 10u
#define ALPHA_NUM 9u
#define ALPHA_DEN 17u
#define FRAC 65536u /* w_est and acc keep bytes times this */
#define TS QUIC_CUBIC_TIME_SCALE
#define US_PER_S 1000000u
/* |t - K| is clamped to this many 1/1024 s (1024 s), so that its cube fits. */
#define MAX_OFFSET (UINT64_C(1) << 20)

/* floor(cbrt(x)) by Newton's method from above, in integers. */
uint64_t quic_cc_cbrt(uint64_t x)
{
    if (x == 0)
        return 0;
    unsigned bits = 0;
    for (uint64_t v = x; v != 0; v >>= 1)
        bits++;
    /* 2^ceil(bits / 3) >= cbrt(x): the iteration then falls monotonically. */
    uint64_t y = UINT64_C(1) << ((bits + 2) / 3);
    for (;;) {
        uint64_t n = (2 * y + x / (y * y)) / 3;
        if (n >= y)
            break;
        y = n;
    }
    /* Settle it exactly (2642245 is the largest cube root below 2^64). */
    while (y > 2642245 || y * y * y > x)
        y--;
    while (y < 2642245 && (y + 1) * (y + 1) * (y + 1) <= x)
        y++;
    return y;
}

static uint64_t us_to_ticks(uint64_t us)
{
    /* 1/1024 s; times past 2^44 us (200 days) saturate. */
    if (us > (UINT64_C(1) << 44))
        us = UINT64_C(1) << 44;
    return us * TS / US_PER_S;
}

/* RFC 9438 §4.2: W_cubic(t) = C * (t - K)^3 + W_max, in bytes, t in 1/1024 s. */
static uint64_t w_cubic_ticks(const quic_cc *cc, uint64_t t)
{
    const quic_cc_cubic *c = &cc->u.cubic;
    bool below = t < c->k;
    uint64_t off = below ? c->k - t : t - c->k;
    if (off > MAX_OFFSET)
        off = MAX_OFFSET;
    /* C * mss * off^3 / 1024^3: off^3 <= 2^60; shifting 20 bits first keeps
     * the product with 4 * mss (< 2^18) below 2^58. Error < 0.5 byte. */
    uint64_t cube = off * off * off;
    uint64_t delta = (cube >> 20) * C_NUM * cc->max_datagram_size / C_DEN >> 10;
    if (below)
        return delta >= c->w_max ? 0 : c->w_max - delta;
    return c->w_max + delta;
}

uint64_t quic_cc_cubic_w(const quic_cc *cc, uint64_t t_us)
{
    return w_cubic_ticks(cc, us_to_ticks(t_us));
}

static void set_k(quic_cc *cc);

/* RFC 9438 §4.2, §4.3, §4.8: a congestion avoidance stage begins. */
static void start_epoch(quic_cc *cc, uint64_t now)
{
    quic_cc_cubic *c = &cc->u.cubic;
    c->has_epoch = true;
    c->epoch_start = now;
    c->cwnd_epoch = cc->cwnd;
    c->w_est = cc->cwnd * FRAC;
    c->acc = 0;
    if (c->w_max <= cc->cwnd) {
        /* No larger window to return to (first stage, or after a timeout). */
        c->w_max = cc->cwnd;
        c->k = 0;
        return;
    }
    set_k(cc);
}

/* RFC 9438 §4.2: K = cbrt((W_max - cwnd_epoch) / C) seconds, the
 * difference in segments of the current max_datagram_size. */
static void set_k(quic_cc *cc)
{
    quic_cc_cubic *c = &cc->u.cubic;
    if (c->w_max <= c->cwnd_epoch) {
        c->k = 0;
        return;
    }
    /* In 1/1024 s: cbrt(segments * 2^30 / C). Segments are kept with 20
     * fractional bits, so the radicand is seg_q20 * 2^10 / C. */
    uint64_t diff = c->w_max - c->cwnd_epoch;
    if (diff > (UINT64_C(1) << 40))
        diff = UINT64_C(1) << 40;
    uint64_t seg_q20 = (diff << 20) / cc->max_datagram_size;
    uint64_t mul = UINT64_C(1024) * C_DEN / C_NUM;
    if (seg_q20 > UINT64_MAX / mul)
        seg_q20 = UINT64_MAX / mul;
    c->k = quic_cc_cbrt(seg_q20 * mul);
}

/* RFC 9438 §4.2 - §4.5 (slow start, §4.10, is generic: quic/cc.c) */
static void cubic_on_ack(quic_cc *cc, uint64_t bytes, uint64_t smoothed_rtt, uint64_t now)
{
    quic_cc_cubic *c = &cc->u.cubic;
    uint64_t mds = cc->max_datagram_size;
    if (!c->has_epoch)
        start_epoch(cc, now);
    uint64_t cwnd = cc->cwnd;
    uint64_t t = us_to_ticks(now > c->epoch_start ? now - c->epoch_start : 0);

    /* §4.3: W_est += alpha_cubic * segments_acked / cwnd segments (bytes
     * here); alpha becomes 1 once W_est has reached the window before the
     * reduction. bytes < 2^32 and mds < 2^16 keep the product in range. */
    uint64_t an = ALPHA_NUM, ad = ALPHA_DEN;
    if (c->w_est >= c->cwnd_prior * FRAC)
        an = ad = 1;
    c->w_est += an * bytes * mds * FRAC / (ad * cwnd);

    uint64_t w_est = c->w_est / FRAC;
    if (w_cubic_ticks(cc, t) < w_est) {
        /* §4.3: Reno-friendly region. */
        if (w_est > cwnd)
            cc->cwnd = w_est;
        return;
    }
    /* §4.2: target = W_cubic(t + RTT), clamped to [cwnd, 1.5 * cwnd]. */
    uint64_t target = w_cubic_ticks(cc, t + us_to_ticks(smoothed_rtt));
    if (target < cwnd)
        target = cwnd;
    if (target > cwnd + cwnd / 2)
        target = cwnd + cwnd / 2;
    /* §4.4, §4.5: cwnd += (target - cwnd) / cwnd per segment acked, i.e.
     * (target - cwnd) * bytes / cwnd bytes; the ratio first, in 1/65536. */
    c->acc += (target - cwnd) * FRAC / cwnd * bytes;
    if (c->acc >= FRAC) {
        cc->cwnd += c->acc / FRAC;
        c->acc %= FRAC;
    }
}

/* RFC 9438 §4.6, §4.7 */
static void cubic_on_congestion_event(quic_cc *cc, uint64_t now)
{
    quic_cc_cubic *c = &cc->u.cubic;
    uint64_t cwnd = cc->cwnd;
    /* §4.7: fast convergence releases bandwidth when the saturation point fell:
     * W_max = cwnd * (1 + beta) / 2. */
    if (c->fast_convergence && cwnd < c->w_max)
        c->w_max = cwnd / (2 * BETA_DEN) * (BETA_DEN + BETA_NUM) +
                   cwnd % (2 * BETA_DEN) * (BETA_DEN + BETA_NUM) / (2 * BETA_DEN);
    else
        c->w_max = cwnd;
    c->cwnd_prior = cwnd;
    uint64_t ssthresh = cwnd / BETA_DEN * BETA_NUM + cwnd % BETA_DEN * BETA_NUM / BETA_DEN;
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
    c->w_max = 0;
    c->acc = 0;
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

/* RFC 9438 works in segments, this state in bytes: W_max and cwnd_epoch
 * (bytes) stay, and K is recomputed for segments of the new size, so that
 * W_cubic still runs from cwnd_epoch at the epoch's start to W_max at K,
 * with C segments of the new size per s^3 (the growth per RTT stays
 * clamped to cwnd / 2). Without this, K would still count segments of the
 * old size while W_cubic(t) scales the cube by the new one. */
static void cubic_on_datagram_size(quic_cc *cc, uint64_t old_mds)
{
    (void)old_mds;
    if (cc->u.cubic.has_epoch)
        set_k(cc);
}

static const quic_cc_ops cubic_ops = {
    .name = "cubic",
    .on_ack = cubic_on_ack,
    .on_congestion_event = cubic_on_congestion_event,
    .on_persistent_congestion = cubic_on_persistent_congestion,
    .on_app_limited = cubic_on_app_limited,
    .on_datagram_size = cubic_on_datagram_size,
};

/* RFC 9002 Appendix B.3, RFC 9438 §4.10, RFC 9406 */
void quic_cc_init_cubic(quic_cc *cc, uint64_t mds, bool fast_convergence)
{
    quic_cc_init_common(cc, &cubic_ops, mds);
    cc->u.cubic.fast_convergence = fast_convergence;
    quic_cc_hystart_enable(cc, true);
}
