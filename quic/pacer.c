/* Token-bucket pacer for QUIC senders (RFC 9002 §7.7). */
#include "quic/pacer.h"

/* Tokens are kept in thousandths of a byte so that frequent refills do not
 * lose rate to rounding. */
#define MILLI 1000u
/* Windows above 2^40 bytes are treated as 2^40 to keep products in range. */
#define CWND_CAP (UINT64_C(1) << 40)

void quic_pacer_init(quic_pacer *p, uint64_t mds, uint32_t burst_packets)
{
    if (mds == 0)
        mds = 1200;
    if (burst_packets == 0)
        burst_packets = QUIC_PACER_BURST_PACKETS;
    p->max_datagram_size = mds;
    p->capacity = (uint64_t)burst_packets * mds;
    p->tokens = p->capacity * MILLI;
    p->last_update = 0;
    p->started = false;
}

/* RFC 9002 §7.7: rate = N * congestion_window / smoothed_rtt, N = 1.25. */
static void refill(quic_pacer *p, uint64_t cwnd, uint64_t srtt, uint64_t now)
{
    uint64_t cap = p->capacity * MILLI;
    /* A timer cannot wake us much finer than the granularity: let the bucket
     * hold what the rate brings in over one, or fast paths would spend their
     * time waking up for a few packets each. */
    if (srtt > 0 && cwnd > 0) {
        uint64_t g =
            QUIC_PACER_GRANULARITY_US * 5 * (cwnd > CWND_CAP ? CWND_CAP : cwnd) / (4 * srtt);
        if (g > p->capacity)
            cap = g * MILLI;
    }
    if (!p->started) {
        p->started = true;
        p->last_update = now;
        return;
    }
    if (now <= p->last_update)
        return;
    uint64_t elapsed = now - p->last_update;
    p->last_update = now;
    if (cwnd > CWND_CAP)
        cwnd = CWND_CAP;
    if (srtt == 0 || cwnd == 0) {
        p->tokens = cap;
        return;
    }
    /* Past this the product below would overflow, and the bucket (far
     * smaller than 2^64 / 4 / srtt millibytes) would be full anyway. */
    if (elapsed > UINT64_MAX / (5 * cwnd * MILLI)) {
        p->tokens = cap;
        return;
    }
    /* tokens += elapsed * 5 * cwnd / (4 * srtt), in millibytes. */
    uint64_t add = elapsed * 5 * cwnd * MILLI / (4 * srtt);
    p->tokens = add >= cap - p->tokens ? cap : p->tokens + add;
}

/* RFC 9002 §7.7 */
uint64_t quic_pacer_next_send_time(quic_pacer *p, uint64_t cwnd, uint64_t srtt,
                                   uint64_t packet_size, uint64_t now)
{
    if (cwnd > CWND_CAP)
        cwnd = CWND_CAP;
    refill(p, cwnd, srtt, now);
    if (packet_size > p->capacity)
        packet_size = p->capacity;
    uint64_t need = packet_size * MILLI;
    if (p->tokens >= need || srtt == 0 || cwnd == 0)
        return now;
    uint64_t deficit = need - p->tokens;
    /* Smallest wait w with w * 5 * cwnd * MILLI / (4 * srtt) >= deficit. */
    uint64_t num = deficit * 4 * srtt;
    uint64_t den = 5 * cwnd * MILLI;
    return now + (num + den - 1) / den;
}

/* RFC 9002 §7.7 */
void quic_pacer_on_sent(quic_pacer *p, uint64_t cwnd, uint64_t srtt, uint64_t bytes, uint64_t now)
{
    refill(p, cwnd, srtt, now);
    uint64_t used = bytes * MILLI;
    p->tokens = p->tokens > used ? p->tokens - used : 0;
}
