/* Congestion controller interface for QUIC (RFC 9002 §7, Appendix B). */
#ifndef QUIC_CC_H
#define QUIC_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "base/opt.h"

/* Sizes are bytes, times microseconds. The generic parts (bytes in flight,
 * recovery period, app-limited) live here; each algorithm supplies the
 * window growth and reduction through quic_cc_ops. Recovery drives it. */
typedef struct quic_cc quic_cc;

typedef struct quic_cc_ops {
    const char *name;
    /* A newly acked in-flight packet outside recovery, not app-limited, in
     * congestion avoidance (slow start is generic: quic_cc_on_packet_acked). */
    void (*on_ack)(quic_cc *cc, uint64_t bytes, uint64_t smoothed_rtt, uint64_t now);
    /* Entering a recovery period: reduce ssthresh and cwnd. */
    void (*on_congestion_event)(quic_cc *cc, uint64_t now);
    /* Persistent congestion: cwnd is already kMinimumWindow. */
    void (*on_persistent_congestion)(quic_cc *cc, uint64_t now);
    /* The application-limited state changed (may be NULL). */
    void (*on_app_limited)(quic_cc *cc, bool limited, uint64_t now);
    /* max_datagram_size changed (cwnd already adjusted); state kept in
     * segments must follow (may be NULL). */
    void (*on_datagram_size)(quic_cc *cc, uint64_t old_max_datagram_size);
} quic_cc_ops;

/* RFC 9438 state, in integers (no floating point in the core): bytes, and
 * K in 1/1024 s (QUIC_CUBIC_TIME_SCALE). */
#define QUIC_CUBIC_TIME_SCALE 1024u
typedef struct quic_cc_cubic {
    uint64_t w_max;      /* bytes */
    uint64_t k;          /* 1/1024 s */
    uint64_t w_est;      /* bytes, times 65536 (fractions of a byte kept) */
    uint64_t cwnd_prior; /* bytes */
    uint64_t cwnd_epoch; /* bytes */
    uint64_t acc;        /* growth not yet applied, bytes times 65536 */
    uint64_t epoch_start;
    uint64_t app_limited_since;
    bool has_epoch;
    bool fast_convergence;
} quic_cc_cubic;

/* What each algorithm keeps beside the window. */
typedef union quic_cc_state {
    uint64_t reno_acc; /* bytes acked toward the next +1 MSS in CA */
    quic_cc_cubic cubic;
} quic_cc_state;

/* HyStart++ (RFC 9406) in the first slow start (quic/cc_hystart.c). Times in
 * microseconds; UINT64_MAX stands for infinity. */
typedef struct quic_cc_hystart {
    uint64_t round_end; /* a packet sent at or after this ends the round */
    uint64_t last_round_min_rtt, current_round_min_rtt, css_baseline_min_rtt;
    uint32_t rtt_sample_count;
    uint32_t css_rounds;
    /* Counts at most one each per round trip; 32 bits outlast any connection. */
    uint32_t css_entries; /* slow start left on delay growth (for tests and qlog) */
    uint32_t css_to_ca;   /* CSS ran its rounds out: congestion avoidance */
    bool enabled;
    bool in_css; /* Conservative Slow Start */
    bool done;   /* left slow start by it (or it was never used) */
} quic_cc_hystart;

struct quic_cc {
    const quic_cc_ops *ops;
    uint64_t max_datagram_size;
    uint64_t cwnd;
    uint64_t ssthresh; /* UINT64_MAX: infinite */
    uint64_t bytes_in_flight;
    uint64_t recovery_start_time;
    uint64_t last_sent_time;
    bool in_recovery_valid; /* recovery_start_time is set */
    bool recovering;        /* until a packet sent after the reduction is acked */
    bool app_limited;
    bool loss_tolerant; /* off (init): every loss episode reduces; quic_conn sets it */
    /* Loss tolerance (quic_cc_on_loss): an average of losses over packet
     * numbers, in 1/65536. Isolated random losses keep it low; a queue
     * overflowing drops packets close together and raises it. */
    uint32_t loss_rate;
    quic_cc_state u;
    quic_cc_hystart hs;
    /* The state before the last reduction, for quic_cc_undo (RFC 8985 §9.3,
     * RFC 9438 §4.9: a loss later shown spurious should not cost the window). */
    struct {
        uint64_t cwnd, ssthresh;
        quic_cc_state u;
        uint64_t max_datagram_size; /* the size u was computed with */
        bool valid;
    } undo;
    uint64_t loss_rate_pn; /* the packet number loss_rate was last moved to */
    uint64_t congestion_events; /* reductions */
    uint64_t undone;            /* reductions undone */
};

/* kInitialWindow and kMinimumWindow, RFC 9002 §7.2. */
uint64_t quic_cc_initial_window(uint64_t max_datagram_size);
uint64_t quic_cc_minimum_window(uint64_t max_datagram_size);

/* max_datagram_size 0 means 1200. NewReno as RFC 9002 Appendix B has it
 * (quic/cc_newreno.c); CUBIC (RFC 9438, quic/cc_cubic.c) with HyStart++. */
void quic_cc_init_newreno(quic_cc *cc, uint64_t max_datagram_size);
void quic_cc_init_cubic(quic_cc *cc, uint64_t max_datagram_size, bool fast_convergence);
/* Common start of every controller (quic/cc.c): windows, no HyStart++. */
void quic_cc_init_common(quic_cc *cc, const quic_cc_ops *ops, uint64_t max_datagram_size);

#if QUINCE_HYSTART
/* RFC 9406: use HyStart++ in the first slow start (quic/cc_hystart.c). */
void quic_cc_hystart_enable(quic_cc *cc, bool on);
/* An RTT sample from an ACK whose largest newly acknowledged packet was sent
 * at time_sent (RFC 9406 §4.2: rounds, minimum RTT per round, the exit). */
void quic_cc_on_rtt_sample(quic_cc *cc, uint64_t latest_rtt, uint64_t time_sent, uint64_t now);
/* Slow-start growth for bytes newly acknowledged: all of them, or a quarter
 * in Conservative Slow Start. Used by quic_cc_on_packet_acked. */
uint64_t quic_cc_hystart_growth(const quic_cc *cc, uint64_t bytes);
#else
/* Without QUINCE_HYSTART slow start ends on loss only (RFC 9002 §7.3.1). */
static inline void quic_cc_hystart_enable(quic_cc *cc, bool on)
{
    (void)cc;
    (void)on;
}
static inline void quic_cc_on_rtt_sample(quic_cc *cc, uint64_t latest_rtt, uint64_t time_sent,
                                         uint64_t now)
{
    (void)cc;
    (void)latest_rtt;
    (void)time_sent;
    (void)now;
}
static inline uint64_t quic_cc_hystart_growth(const quic_cc *cc, uint64_t bytes)
{
    (void)cc;
    return bytes;
}
#endif

/* RFC 9438 §4.2: W_cubic(t) in bytes, t microseconds since the epoch began
 * (for tests and qlog). */
uint64_t quic_cc_cubic_w(const quic_cc *cc, uint64_t t_us);
/* floor(cube root of x), in integers. */
uint64_t quic_cc_cbrt(uint64_t x);

/* The window the pacer should spread over one smoothed RTT (RFC 9002 §7.7):
 * the congestion window, and more in slow start so that pacing does not
 * hold back the growth the controller asks for. */
uint64_t quic_cc_pacing_window(const quic_cc *cc);

/* The state for qlog's congestion_state_updated: "slow_start" (HyStart++'s
 * CSS included), "congestion_avoidance", "recovery" or "application_limited". */
const char *quic_cc_state_name(const quic_cc *cc);

static inline bool quic_cc_in_slow_start(const quic_cc *cc)
{
    return cc->cwnd < cc->ssthresh;
}

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
/* An in-flight packet numbered pn was declared lost. Returns whether the
 * losses alone make it a congestion signal: always unless loss_tolerant,
 * else when the loss average is past 1/5. Recovery also treats it as one
 * when the RTT shows a queue (quic/recovery.c). */
bool quic_cc_on_loss(quic_cc *cc, uint64_t pn);
/* A loss or ECN-CE increase whose newest packet was sent at sent_time.
 * Returns true if it reduced the window (a new recovery period began). */
bool quic_cc_on_congestion_event(quic_cc *cc, uint64_t sent_time, uint64_t now);
/* Every loss that caused the last reduction was spurious: restore the window,
 * ssthresh and algorithm state from before it and leave recovery. */
void quic_cc_undo(quic_cc *cc, uint64_t now);
void quic_cc_on_persistent_congestion(quic_cc *cc, uint64_t now);
/* The sender has less to send than the window allows (RFC 9002 §7.8). */
void quic_cc_set_app_limited(quic_cc *cc, bool limited, uint64_t now);

#endif
