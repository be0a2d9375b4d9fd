/* Congestion controller interface for QUIC (RFC 9002 §7, Appendix B). */
#ifndef QUIC_CC_H
#define QUIC_CC_H

#include <stdbool.h>
#include <stdint.h>

/* Sizes are bytes, times microseconds. The generic parts (bytes in flight,
 * recovery period, app-limited) live here; each algorithm supplies the
 * window growth and reduction through quic_cc_ops. Recovery drives it. */
typedef struct quic_cc quic_cc;

typedef struct quic_cc_ops {
    const char *name;
    /* A newly acked in-flight packet outside recovery, not app-limited. */
    void (*on_ack)(quic_cc *cc, uint64_t bytes, uint64_t smoothed_rtt, uint64_t now);
    /* Entering a recovery period: reduce ssthresh and cwnd. */
    void (*on_congestion_event)(quic_cc *cc, uint64_t now);
    /* Persistent congestion: cwnd is already kMinimumWindow. */
    void (*on_persistent_congestion)(quic_cc *cc, uint64_t now);
    /* The application-limited state changed. */
    void (*on_app_limited)(quic_cc *cc, bool limited, uint64_t now);
} quic_cc_ops;

typedef struct quic_cc_cubic {
    double w_max;      /* bytes */
    double k;          /* seconds */
    double w_est;      /* bytes */
    double cwnd_prior; /* bytes */
    double cwnd_epoch; /* bytes */
    double acc;        /* fractional bytes of growth not yet applied */
    uint64_t epoch_start;
    uint64_t app_limited_since;
    bool has_epoch;
    bool fast_convergence;
} quic_cc_cubic;

struct quic_cc {
    const quic_cc_ops *ops;
    uint64_t max_datagram_size;
    uint64_t cwnd;
    uint64_t ssthresh; /* UINT64_MAX: infinite */
    uint64_t bytes_in_flight;
    uint64_t recovery_start_time;
    bool in_recovery_valid; /* recovery_start_time is set */
    bool app_limited;
    union {
        uint64_t reno_acc; /* bytes acked toward the next +1 MSS in CA */
        quic_cc_cubic cubic;
    } u;
};

/* kInitialWindow and kMinimumWindow, RFC 9002 §7.2. */
uint64_t quic_cc_initial_window(uint64_t max_datagram_size);
uint64_t quic_cc_minimum_window(uint64_t max_datagram_size);

/* max_datagram_size 0 means 1200. */
void quic_cc_init_newreno(quic_cc *cc, uint64_t max_datagram_size);
void quic_cc_init_cubic(quic_cc *cc, uint64_t max_datagram_size, bool fast_convergence);

/* RFC 9002 §7.2: the path's max_datagram_size changed (PMTU discovery, or
 * a smaller size to complete the handshake). */
void quic_cc_set_max_datagram_size(quic_cc *cc, uint64_t max_datagram_size);

static inline uint64_t quic_cc_cwnd(const quic_cc *cc)
{
    return cc->cwnd;
}

static inline uint64_t quic_cc_bytes_in_flight(const quic_cc *cc)
{
    return cc->bytes_in_flight;
}

/* Whether a packet of this size fits the window (RFC 9002 §7). Probes on PTO
 * are sent regardless (§7.5). */
static inline bool quic_cc_can_send(const quic_cc *cc, uint64_t bytes)
{
    return cc->bytes_in_flight + bytes <= cc->cwnd;
}

/* Bytes that may be sent now. */
static inline uint64_t quic_cc_available(const quic_cc *cc)
{
    return cc->bytes_in_flight >= cc->cwnd ? 0 : cc->cwnd - cc->bytes_in_flight;
}

bool quic_cc_in_recovery(const quic_cc *cc, uint64_t sent_time);

/* Event entry points; recovery calls these for in-flight packets only. */
void quic_cc_on_packet_sent(quic_cc *cc, uint64_t bytes, uint64_t now);
void quic_cc_on_packet_acked(quic_cc *cc, uint64_t bytes, uint64_t time_sent, uint64_t smoothed_rtt,
                             uint64_t now);
/* Lost or discarded: leave flight without any window reaction. */
void quic_cc_remove_in_flight(quic_cc *cc, uint64_t bytes);
/* A loss or ECN-CE increase whose newest packet was sent at sent_time. */
void quic_cc_on_congestion_event(quic_cc *cc, uint64_t sent_time, uint64_t now);
void quic_cc_on_persistent_congestion(quic_cc *cc, uint64_t now);
/* The sender has less to send than the window allows (RFC 9002 §7.8). */
void quic_cc_set_app_limited(quic_cc *cc, bool limited, uint64_t now);

#endif
