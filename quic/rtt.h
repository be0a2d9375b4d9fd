/* RTT estimation for QUIC loss detection (RFC 9002 §5). */
#ifndef QUIC_RTT_H
#define QUIC_RTT_H

#include <stdbool.h>
#include <stdint.h>

/* All times are microseconds. */
#define QUIC_RTT_INITIAL_US 333000u          /* kInitialRtt, RFC 9002 §6.2.2 */
#define QUIC_GRANULARITY_US 1000u            /* kGranularity, RFC 9002 §6.1.2 */
#define QUIC_DEFAULT_MAX_ACK_DELAY_US 25000u /* RFC 9000 §18.2 default */

typedef struct quic_rtt {
    uint64_t latest_rtt;
    uint64_t min_rtt;
    uint64_t smoothed_rtt;
    uint64_t rttvar;
    uint64_t max_ack_delay;     /* the peer's max_ack_delay */
    uint64_t first_sample_time; /* meaningful only when has_sample */
    bool has_sample;
} quic_rtt;

/* initial_rtt 0 means kInitialRtt (333 ms). */
void quic_rtt_init(quic_rtt *r, uint64_t initial_rtt, uint64_t max_ack_delay);

/* One RTT sample: latest_rtt = now - time the largest newly acked packet was
 * sent; ack_delay is the peer's decoded ACK Delay (pass 0 for Initial). */
void quic_rtt_update(quic_rtt *r, uint64_t latest_rtt, uint64_t ack_delay, bool handshake_confirmed,
                     uint64_t now);

/* smoothed_rtt + max(4 * rttvar, kGranularity): the PTO without max_ack_delay. */
uint64_t quic_rtt_pto_base(const quic_rtt *r);

/* max(kTimeThreshold * max(smoothed_rtt, latest_rtt), kGranularity). */
uint64_t quic_rtt_loss_delay(const quic_rtt *r);

/* After persistent congestion min_rtt restarts from the newest sample. */
void quic_rtt_reset_min_rtt(quic_rtt *r);

#endif
