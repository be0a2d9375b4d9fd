/* Receive-side packet number tracking for building ACK frames (RFC 9000 §13.2). */
#ifndef QUIC_ACK_TRACKER_H
#define QUIC_ACK_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"
#include "quic/opt.h"

#ifndef QUIC_PN_RANGE_DEFINED
#define QUIC_PN_RANGE_DEFINED
typedef struct quic_pn_range {
    uint64_t smallest;
    uint64_t largest;
} quic_pn_range;
#endif

/* Compile-time ceiling on the ranges one space remembers (quic_config.max_ack_ranges
 * is clamped to it). */
#define QUIC_ACK_TRACKER_MAX_RANGES QUIC_OPT_MAX_ACK_RANGES

/* One per packet number space. Times are microseconds. */
typedef struct quic_ack_tracker {
    quic_pn_range inline_ranges[QUIC_ACK_TRACKER_MAX_RANGES];
    quic_pn_range *ranges; /* largest-first, disjoint: inline_ranges, or grown on the heap */
    size_t n_ranges;
    size_t max_ranges;
    size_t grow_max;         /* ranges it may grow to (quic_ack_tracker_set_growth) */
    const quince_env *env;   /* for growing; NULL: never grows */
    uint64_t floor;             /* packets below this are treated as already seen */
    uint64_t largest;           /* largest pn received */
    uint64_t largest_recv_time; /* when `largest` arrived: ACK Delay origin */
    uint64_t largest_ack_eliciting;
    uint64_t max_ack_delay; /* ours, as advertised */
    uint64_t ack_deadline;  /* valid when ack_pending && !ack_now */
    uint32_t ack_eliciting_since_ack;
    uint32_t ack_eliciting_threshold; /* send after this many (2, §13.2.2) */
    /* draft-ietf-quic-ack-frequency-12 §6.2: 1 acknowledges any reordering
     * at once (RFC 9000 §13.2.1), 0 never, R > 1 only reordering of R. */
    uint64_t reorder_threshold;
    bool has_largest;
    bool has_ack_eliciting;
    bool immediate_space; /* Initial/Handshake: acknowledge at once (§13.2.1) */
    bool ack_pending;     /* an ack-eliciting packet awaits acknowledgment */
    bool ack_now;         /* send an ACK without delay */
    bool unacked_any;     /* something was received since the last ACK sent */
} quic_ack_tracker;

/* max_ranges is clamped to [1, QUIC_ACK_TRACKER_MAX_RANGES]. immediate_space
 * is true for Initial and Handshake. */
void quic_ack_tracker_init(quic_ack_tracker *t, size_t max_ranges, uint64_t max_ack_delay,
                           bool immediate_space);

/* Let the tracker hold up to grow_max ranges, allocated from env when the ones it
 * has are full (a tracker must not be copied once it grew); free with
 * quic_ack_tracker_free. */
void quic_ack_tracker_set_growth(quic_ack_tracker *t, const quince_env *env, size_t grow_max);
/* Frees what the tracker grew; it is not used afterwards. */
void quic_ack_tracker_free(quic_ack_tracker *t);

/* draft-ietf-quic-ack-frequency-12 §4, §6: the peer's ACK_FREQUENCY (an
 * ACK after more than `threshold` ack-eliciting packets, max_ack_delay in
 * microseconds, the reordering threshold). */
void quic_ack_tracker_set_frequency(quic_ack_tracker *t, uint64_t threshold, uint64_t max_ack_delay,
                                    uint64_t reordering);
/* IMMEDIATE_ACK (§5): acknowledge now. */
void quic_ack_tracker_ack_now(quic_ack_tracker *t);

/* Has pn been received (or fallen below the tracked floor)? Such a packet is
 * a duplicate and must be dropped. */
bool quic_ack_tracker_is_duplicate(const quic_ack_tracker *t, uint64_t pn);

/* Record a successfully processed packet. ecn_ce: it carried ECN-CE.
 * Returns 0, or 1 if pn is a duplicate (nothing recorded). */
int quic_ack_tracker_on_packet_received(quic_ack_tracker *t, uint64_t pn, bool ack_eliciting,
                                        bool ecn_ce, uint64_t now);

/* When an ACK frame must be sent: UINT64_MAX when none is owed, 0 for
 * "now", else the max_ack_delay deadline. Fold it into the connection's timer. */
uint64_t quic_ack_tracker_ack_time(const quic_ack_tracker *t);

/* Should a packet going out at now carry an ACK frame because one is owed? */
bool quic_ack_tracker_should_send(const quic_ack_tracker *t, uint64_t now);

/* Anything to acknowledge at all (to piggyback on an outgoing packet)? */
bool quic_ack_tracker_has_unacked(const quic_ack_tracker *t);

/* Build the ACK content: up to max ranges, largest-first (older ranges are
 * omitted first, §13.2.3); *ack_delay is now - time the largest arrived, in
 * microseconds (the frame encoder applies ack_delay_exponent).
 * Returns the range count, 0 if nothing was ever received. */
size_t quic_ack_tracker_build(const quic_ack_tracker *t, uint64_t now, quic_pn_range *out,
                              size_t max, uint64_t *ack_delay);

/* An ACK frame was sent: the owed acknowledgment is paid. */
void quic_ack_tracker_on_ack_sent(quic_ack_tracker *t);

/* A packet carrying an ACK whose Largest Acknowledged was `largest_acked`
 * was itself acknowledged: stop tracking ranges at or below it (§13.2.4). */
void quic_ack_tracker_on_ack_acked(quic_ack_tracker *t, uint64_t largest_acked);

#endif
