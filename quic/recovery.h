/* QUIC loss detection: acknowledgments, loss timers and probe timeouts (RFC 9002 §5-§7, Appendix
 * A). */
#ifndef QUIC_RECOVERY_H
#define QUIC_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quic/cc.h"
#include "base/env.h"
#include "quic/rtt.h"
#include "quic/sent_packets.h"

/*
 * How a connection drives it (all times in microseconds, nothing here reads
 * a clock or does I/O):
 *
 *   quic_cc_init_newreno(&cc, mds) or quic_cc_init_cubic(&cc, mds, true);
 *   quic_recovery_init(&rec, env, &cfg, &cc, on_packet, conn);
 *   sending:  check quic_cc_can_send() (and the pacer) unless probing, build
 *             the packet, then quic_recovery_on_packet_sent(space, pn, size,
 *             ack_eliciting, in_flight, handle, now); handle names the frames.
 *   an ACK frame: quic_recovery_on_ack_received(space, &ack, now); on_packet
 *             reports LOST packets (requeue their frames) then ACKED ones.
 *   timers:   fold quic_recovery_next_timeout() into the connection's timer;
 *             when due, quic_recovery_on_timeout(now, &to); for a PTO send
 *             to.probes ack-eliciting packets in to.space (new data, else
 *             old, else PING), bypassing the congestion window (§7.5), and
 *             preferably packets from other spaces with data in flight too.
 *   handshake: set_has_handshake_keys, discard_space(INITIAL / HANDSHAKE)
 *             when keys go, set_handshake_confirmed, set_max_ack_delay when
 *             the peer's transport parameters arrive, on_retry on Retry;
 *             a server reports its anti-amplification state.
 */

/* Packet number spaces, in the order of RFC 9002 Appendix A.2. 0-RTT and
 * 1-RTT packets share the application space. */
enum {
    QUIC_RECOVERY_INITIAL = 0,
    QUIC_RECOVERY_HANDSHAKE = 1,
    QUIC_RECOVERY_APP = 2,
    QUIC_RECOVERY_SPACES = 3,
};

#define QUIC_PACKET_THRESHOLD 3u /* kPacketThreshold, RFC 9002 §6.1.1 */
/* RFC 9002 §6.1.1 lets the packet threshold adapt to the reordering seen;
 * RFC 8985 §6.2 does the same in time. Spurious losses raise both up to: */
#define QUIC_MAX_PACKET_THRESHOLD 1024u
#define QUIC_TIME_THRESHOLD_EIGHTHS 9u          /* kTimeThreshold 9/8, RFC 9002 §6.1.2 */
#define QUIC_MAX_TIME_THRESHOLD_EIGHTHS 24u     /* three times the RTT at most */
#define QUIC_PERSISTENT_CONGESTION_THRESHOLD 3u /* RFC 9002 §7.6.1 */

/* Why a sent packet leaves the record. */
typedef enum quic_recovery_event {
    QUIC_RECOVERY_ACKED = 1,     /* its frames are delivered */
    QUIC_RECOVERY_LOST = 2,      /* requeue its frames (RFC 9000 §13.3) */
    QUIC_RECOVERY_DISCARDED = 3, /* keys gone: release its frame record */
    /* Not leaving: a PTO probe resends its frames (RFC 9002 §6.2.4); the
     * packet stays in flight and is reported again later. */
    QUIC_RECOVERY_REQUEUE = 4,
} quic_recovery_event;

/* Called once for every packet that leaves the record (and for REQUEUE).
 * For ACKED the packet is reported after the losses found by the same ACK.
 * A packet reported LOST whose ACK comes later is not reported again: the
 * loss was spurious, which the counters show and the reordering thresholds
 * and congestion controller learn from. The callback must not call back
 * into the recovery (queue retransmissions instead). */
typedef void (*quic_recovery_packet_cb)(void *user, int space, quic_recovery_event ev,
                                        const quic_sent_packet *p);

typedef struct quic_recovery_config {
    bool is_server;
    uint64_t initial_rtt;      /* 0: kInitialRtt (333 ms) */
    uint64_t max_ack_delay;    /* peer's; 0 here means the default 25 ms */
    size_t max_sent_packets;   /* per space; 0 means 4096 */
    uint32_t packet_threshold; /* 0: kPacketThreshold (3) */
} quic_recovery_config;

/* One received ACK frame, decoded. */
typedef struct quic_recovery_ack {
    const quic_pn_range *ranges; /* largest-first, disjoint */
    size_t n_ranges;
    uint64_t ack_delay; /* microseconds, already scaled by ack_delay_exponent */
    bool has_ecn;       /* an ACK_ECN frame: the three counts are valid */
    uint64_t ecn_ect0, ecn_ect1, ecn_ce;
} quic_recovery_ack;

typedef enum quic_recovery_timeout_kind {
    QUIC_RECOVERY_TIMEOUT_NONE = 0, /* not yet due: nothing happened */
    QUIC_RECOVERY_TIMEOUT_LOSS = 1, /* time-threshold losses were reported */
    QUIC_RECOVERY_TIMEOUT_PTO = 2,  /* send `probes` ack-eliciting packets in `space` */
} quic_recovery_timeout_kind;

typedef struct quic_recovery_timeout {
    quic_recovery_timeout_kind kind;
    int space;
    unsigned probes;
    /* Client anti-deadlock probe (Appendix A.9): a Handshake packet, or an
     * Initial padded to at least 1200 bytes when space is Initial. */
    bool anti_deadlock;
} quic_recovery_timeout;

typedef struct quic_recovery_stats {
    uint64_t lost;             /* packets declared lost */
    uint64_t spurious;         /* of those, acknowledged afterwards */
    uint64_t undone;           /* window reductions undone as spurious */
    uint64_t ptos;             /* probe timeouts */
    uint64_t lost_by_time;     /* declared by the time threshold */
    uint64_t lost_by_packets;  /* declared by the packet threshold */
    uint64_t lost_pmtu_probes; /* of the lost, PMTU probes (no congestion signal) */
} quic_recovery_stats;

typedef struct quic_recovery {
    const quince_env *env;
    quic_cc *cc;
    quic_recovery_packet_cb cb;
    void *cb_user;
    quic_rtt rtt;
    quic_sent_packets sent[QUIC_RECOVERY_SPACES];
    uint64_t largest_acked[QUIC_RECOVERY_SPACES];
    uint64_t largest_sent[QUIC_RECOVERY_SPACES];
    uint64_t time_of_last_ack_eliciting[QUIC_RECOVERY_SPACES];
    uint64_t loss_time[QUIC_RECOVERY_SPACES]; /* 0: none */
    uint64_t ecn_ce[QUIC_RECOVERY_SPACES];
    bool has_largest_acked[QUIC_RECOVERY_SPACES];
    bool has_sent[QUIC_RECOVERY_SPACES];
    bool discarded[QUIC_RECOVERY_SPACES];
    bool ecn_next;        /* the next packet sent goes out marked (then cleared) */
    bool pmtu_probe_next; /* the next packet sent is a PMTU probe (then cleared) */
    uint32_t packet_threshold;
    uint32_t pto_count;
    /* Adaptive loss detection (RFC 9002 §6.1, RFC 8985 §6.2). */
    uint32_t time_threshold; /* eighths of max(smoothed_rtt, latest_rtt) */
    uint64_t timer;          /* UINT64_MAX: not armed */
    bool is_server;
    bool handshake_confirmed;
    bool has_handshake_keys;
    bool handshake_ack_received;
    bool at_amplification_limit;
    bool episode_undoable; /* of the episode below */
    /* ECN (RFC 9000 §13.4.2, Appendix A.4): packets are marked ECT(0) while
     * ecn_marking and not ecn_failed; the peer's counts per space below. */
    bool ecn_marking, ecn_failed;
    /* The loss episode of the last window reduction: losses declared since
     * episode_start, and how many of them turned out spurious. */
    uint64_t episode_start;
    uint64_t episode_lost, episode_spurious;
    quic_recovery_stats stats;
    uint64_t ecn_ect0[QUIC_RECOVERY_SPACES];
    uint64_t ecn_sent[QUIC_RECOVERY_SPACES];  /* packets sent marked */
    uint64_t ecn_acked[QUIC_RECOVERY_SPACES]; /* of them, acknowledged so far */
} quic_recovery;

/* The congestion controller is the caller's, initialised and outliving r.
 * cb may be NULL. Returns 0 or QUIC_RECOVERY_ERR_ARG. */
int quic_recovery_init(quic_recovery *r, const quince_env *env, const quic_recovery_config *cfg,
                       quic_cc *cc, quic_recovery_packet_cb cb, void *cb_user);
/* Frees the records without reporting anything. */
void quic_recovery_free(quic_recovery *r);

/* RFC 9002 Appendix A.5. size is sent_bytes; in_flight is false only for
 * ACK-only packets (RFC 9002 §7). handle is returned with the packet later.
 * Returns 0, QUIC_RECOVERY_ERR_FULL (stop sending in that space),
 * _NOMEM, _PN_ORDER or _DISCARDED. */
int quic_recovery_on_packet_sent(quic_recovery *r, int space, uint64_t pn, uint32_t size,
                                 bool ack_eliciting, bool in_flight, uint64_t handle, uint64_t now);

/* RFC 9002 Appendix A.7. Returns 0, QUIC_RECOVERY_ERR_ACK_UNSENT (close with
 * PROTOCOL_VIOLATION, RFC 9000 §13.1), _BAD_RANGES or _DISCARDED. */
int quic_recovery_on_ack_received(quic_recovery *r, int space, const quic_recovery_ack *ack,
                                  uint64_t now);

/* Earliest time on_timeout must run; UINT64_MAX when the timer is off. */
uint64_t quic_recovery_next_timeout(const quic_recovery *r);

/* RFC 9002 Appendix A.9. Call when now >= next_timeout. */
void quic_recovery_on_timeout(quic_recovery *r, uint64_t now, quic_recovery_timeout *out);

/* RFC 9002 §6.4, Appendix A.11: Initial or Handshake keys were discarded;
 * their packets are reported DISCARDED. */
void quic_recovery_discard_space(quic_recovery *r, int space, uint64_t now);

/* RFC 9002 §6.3: a Retry arrived; every packet sent so far is reported LOST
 * (so that CRYPTO and 0-RTT data are sent again) without a congestion
 * reaction, and the RTT estimate and PTO backoff restart. The caller
 * re-initialises the congestion controller. */
void quic_recovery_on_retry(quic_recovery *r, uint64_t now);

/* RFC 9002 §6.4: the server rejected 0-RTT. Application packets up to
 * largest_0rtt_pn (the 0-RTT ones) leave flight and are reported LOST, so
 * their data is sent again in 1-RTT, without a congestion reaction. */
void quic_recovery_on_0rtt_rejected(quic_recovery *r, uint64_t largest_0rtt_pn, uint64_t now);

/* State the timers depend on. Each re-arms the timer. */
void quic_recovery_set_handshake_confirmed(quic_recovery *r, uint64_t now);
void quic_recovery_set_has_handshake_keys(quic_recovery *r, uint64_t now);
void quic_recovery_set_max_ack_delay(quic_recovery *r, uint64_t max_ack_delay, uint64_t now);
/* Server: true while the anti-amplification limit blocks sending (§6.2.2.1).
 * After clearing it, call on_timeout if next_timeout <= now (Appendix A.6). */
void quic_recovery_set_amplification_limited(quic_recovery *r, bool limited, uint64_t now);

/* RFC 9000 §13.4.2: mark packets ECT(0) from now on (until validation fails). */
void quic_recovery_set_ecn(quic_recovery *r, bool on);
/* The caller marks the next packet it sends ECT(0) (only 1-RTT packets
 * alone in their datagram are marked: long-header packets may reach a
 * server connection that cannot see the first datagram's codepoint). */
static inline void quic_recovery_set_ecn_next(quic_recovery *r, bool marked)
{
    r->ecn_next = marked;
}
/* RFC 9000 §14.4: the next packet sent is a PMTU probe. If it is lost it is
 * reported LOST like any other but causes no congestion event and takes no
 * part in persistent congestion (lost_pmtu_probes counts them). */
static inline void quic_recovery_set_pmtu_probe_next(quic_recovery *r)
{
    r->pmtu_probe_next = true;
}
/* Whether ECT(0) marking is on: true for ECT(0). */
static inline bool quic_recovery_ecn_marking(const quic_recovery *r)
{
    return r->ecn_marking && !r->ecn_failed;
}

/* RFC 9002 §6.2.4: make a PTO probe resend the frames of the oldest
 * unacknowledged ack-eliciting packet(s) of a space: up to n packets are
 * reported REQUEUE and stay in flight. Returns how many were. */
size_t quic_recovery_requeue_oldest(quic_recovery *r, int space, size_t n);

/* The loss delay in use: time_threshold/8 * max(smoothed_rtt, latest_rtt),
 * at least kGranularity (RFC 9002 §6.1.2). */
uint64_t quic_recovery_loss_delay(const quic_recovery *r);

/* smoothed_rtt + max(4*rttvar, kGranularity) + max_ack_delay: the PTO
 * period used for closing/draining and idle timeouts (RFC 9000 §10). */
uint64_t quic_recovery_pto_period(const quic_recovery *r);

/* Largest packet number the peer acknowledged in a space, for choosing the
 * packet number length (RFC 9000 §17.1). False if none yet. */
static inline bool quic_recovery_largest_acked(const quic_recovery *r, int space, uint64_t *pn)
{
    if (space < 0 || space >= QUIC_RECOVERY_SPACES || !r->has_largest_acked[space])
        return false;
    *pn = r->largest_acked[space];
    return true;
}

/* RFC 9000 §14.4, §9.4: the packet just sent (space, pn) is a PMTU or path
 * probe, whose loss takes it out of flight without a congestion reaction. */
static inline void quic_recovery_mark_probe(quic_recovery *r, int space, uint64_t pn)
{
    quic_sent_packet *p =
        space >= 0 && space < QUIC_RECOVERY_SPACES ? quic_sent_packets_find(&r->sent[space], pn)
                                                   : NULL;
    if (p != NULL)
        p->probe = true;
}

/* RFC 9000 §9.4: the packets in flight went on a path that was left; their
 * loss must not shrink the new path's window (nor their ACKs feed its RTT). */
static inline void quic_recovery_mark_in_flight_probes(quic_recovery *r, int space)
{
    quic_sent_packets *sp = &r->sent[space];
    for (size_t i = 0; i < sp->len; i++) {
        quic_sent_packet *p = quic_sent_packets_at(sp, i);
        if (p->state == QUIC_SENT_LIVE)
            p->probe = true;
    }
}

static inline const quic_rtt *quic_recovery_rtt(const quic_recovery *r)
{
    return &r->rtt;
}

static inline size_t quic_recovery_ack_eliciting_in_flight(const quic_recovery *r)
{
    return r->sent[0].ack_eliciting_in_flight + r->sent[1].ack_eliciting_in_flight +
           r->sent[2].ack_eliciting_in_flight;
}

#endif
