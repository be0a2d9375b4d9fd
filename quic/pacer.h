/* Token-bucket pacer for QUIC senders (RFC 9002 §7.7). */
#ifndef QUIC_PACER_H
#define QUIC_PACER_H

#include <stdbool.h>
#include <stdint.h>

/* The bucket fills at rate = N * cwnd / smoothed_rtt with N = 5/4 and holds
 * at most max(burst_packets * max_datagram_size, rate * QUIC_PACER_GRANULARITY_US)
 * bytes. ACK-only packets should
 * not be paced (§7.7): do not report them. Times are microseconds. */
#define QUIC_PACER_BURST_PACKETS 10u
/* The bucket holds at least what the rate brings in over this long (RFC 9002
 * §6.1.2 kGranularity): waits shorter than a timer tick buy nothing. */
#define QUIC_PACER_GRANULARITY_US 1000u

typedef struct quic_pacer {
    uint64_t tokens;   /* thousandths of a byte that may leave now */
    uint64_t capacity; /* bytes */
    uint64_t max_datagram_size;
    uint64_t last_update;
    bool started;
} quic_pacer;

/* burst_packets 0 means QUIC_PACER_BURST_PACKETS; the bucket starts full. */
void quic_pacer_init(quic_pacer *p, uint64_t max_datagram_size, uint32_t burst_packets);

/* Earliest time (>= now) at which a packet of packet_size bytes may be sent. */
uint64_t quic_pacer_next_send_time(quic_pacer *p, uint64_t cwnd, uint64_t smoothed_rtt,
                                   uint64_t packet_size, uint64_t now);

/* A paced packet of this size was sent at now. */
void quic_pacer_on_sent(quic_pacer *p, uint64_t cwnd, uint64_t smoothed_rtt, uint64_t bytes,
                        uint64_t now);

#endif
