/* Record of sent packets for one packet number space (RFC 9002 Appendix A.1). */
#ifndef QUIC_SENT_PACKETS_H
#define QUIC_SENT_PACKETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/env.h"

/* An inclusive range of packet numbers; arrays of these are largest-first. */
#ifndef QUIC_PN_RANGE_DEFINED
#define QUIC_PN_RANGE_DEFINED
typedef struct quic_pn_range {
    uint64_t smallest;
    uint64_t largest;
} quic_pn_range;
#endif

/* Errors (negative), shared by sent_packets and recovery. */
#define QUIC_RECOVERY_ERR_NOMEM (-1)      /* the allocator failed */
#define QUIC_RECOVERY_ERR_FULL (-2)       /* max_packets reached: stop sending */
#define QUIC_RECOVERY_ERR_PN_ORDER (-3)   /* packet numbers must increase */
#define QUIC_RECOVERY_ERR_ACK_UNSENT (-4) /* ACK of a packet never sent: PROTOCOL_VIOLATION */
#define QUIC_RECOVERY_ERR_BAD_RANGES (-5) /* ranges not largest-first and disjoint */
#define QUIC_RECOVERY_ERR_DISCARDED (-6)  /* that space's keys were discarded */
#define QUIC_RECOVERY_ERR_ARG (-7)        /* bad argument */

/* Slot states: a removed packet stays in the ring (a tombstone) until the
 * slots before it are removed too, so logical indices stay stable. */
enum {
    QUIC_SENT_LIVE = 0,
    QUIC_SENT_ACKED_PENDING = 1, /* newly acked, not yet reported */
    QUIC_SENT_REMOVED_ACKED = 2,
    QUIC_SENT_REMOVED_LOST = 3, /* declared lost; kept a while to notice a late ACK */
};

typedef struct quic_sent_packet {
    uint64_t pn;
    uint64_t time_sent;
    /* Opaque to recovery: the connection's frame record. Once a packet is
     * reported lost, recovery reuses it for the time it was declared lost. */
    uint64_t handle;
    uint32_t size; /* sent_bytes */
    bool ack_eliciting;
    bool in_flight;
    bool probe; /* a PMTU or path probe (RFC 9000 §14.4, §9.4): its loss is no congestion signal */
    uint8_t state;
    bool ecn;        /* sent marked ECT(0) */
    bool pmtu_probe; /* a PMTU probe: its loss is no congestion signal */
} quic_sent_packet;

typedef struct quic_sent_packets {
    const quince_env *env;
    quic_sent_packet *ring;
    size_t cap;     /* allocated slots */
    size_t max_cap; /* bound on slots */
    size_t head;    /* ring index of logical slot 0 */
    size_t len;     /* slots in use, tombstones included */
    size_t live;    /* packets not removed */
    size_t ack_eliciting_in_flight;
    uint64_t bytes_in_flight;
    /* Trimming keeps REMOVED_LOST slots sent at or after this time (initially
     * UINT64_MAX: none), so that an ACK arriving late shows a loss spurious. */
    uint64_t keep_lost_from;
} quic_sent_packets;

/* max_packets bounds the packets tracked (and so the memory used). */
void quic_sent_packets_init(quic_sent_packets *s, const quince_env *env, size_t max_packets);
void quic_sent_packets_free(quic_sent_packets *s);

/* Append a packet; its pn must exceed every earlier one.
 * Returns 0, QUIC_RECOVERY_ERR_FULL, _NOMEM or _PN_ORDER. */
int quic_sent_packets_push(quic_sent_packets *s, const quic_sent_packet *p);

/* Slot at logical index i (0 <= i < s->len), tombstones included. */
static inline quic_sent_packet *quic_sent_packets_at(const quic_sent_packets *s, size_t i)
{
    size_t k = s->head + i;
    if (k >= s->cap)
        k -= s->cap;
    return &s->ring[k];
}

/* Logical index of the first slot whose pn >= pn (s->len if none). */
size_t quic_sent_packets_lower_bound(const quic_sent_packets *s, uint64_t pn);

/* The live packet with this pn, or NULL. */
quic_sent_packet *quic_sent_packets_find(const quic_sent_packets *s, uint64_t pn);

/* Mark a live packet removed with the given state, updating the counters. */
void quic_sent_packets_remove(quic_sent_packets *s, quic_sent_packet *p, uint8_t state);

/* Drop tombstones at the front, except lost ones sent at or after
 * keep_lost_from. Invalidates logical indices. */
void quic_sent_packets_trim(quic_sent_packets *s);

/* Forget every packet (after calling remove on each the caller cares about). */
void quic_sent_packets_clear(quic_sent_packets *s);

#endif
