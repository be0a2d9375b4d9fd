/* Datagram Packetization Layer PMTU Discovery for QUIC (RFC 8899, RFC 9000 §14.3). */
#ifndef QUIC_PMTUD_H
#define QUIC_PMTUD_H

#include <stdbool.h>
#include <stdint.h>

#include "base/opt.h"

/*
 * The search for the largest UDP payload a path carries, with no I/O and no
 * clock of its own. QUIC is an acknowledged packetization layer (RFC 9000
 * §14.3.2): a probe is confirmed by its ACK and fails when loss detection
 * declares it lost, so no PROBE_TIMER or CONFIRMATION_TIMER is needed.
 *
 *   quic_pmtud_init(&m, our_max);     every packet is BASE_PLPMTU (1200)
 *   quic_pmtud_set_max(&m, peer_max); the peer's max_udp_payload_size
 *   quic_pmtud_start(&m, now);        handshake confirmed (§14.3.1): search
 *   sending:  size = quic_pmtud_probe_size(&m, now); when non-zero, send one
 *             PING+PADDING packet of exactly size bytes, then
 *             quic_pmtud_on_probe_sent(&m, pn, size, now);
 *             other packets use quic_pmtud_current(&m).
 *   its fate: quic_pmtud_on_acked / quic_pmtud_on_lost for every 1-RTT packet;
 *             quic_pmtud_on_pto on each PTO (black hole detection).
 *   new path: quic_pmtud_restart(&m, now) (RFC 9000 §9.4: back to the base).
 * The functions returning bool say whether quic_pmtud_current changed.
 *
 * Search (§5.3): the first probe is MAX_PLPMTU (most paths carry it), then a
 * binary search between the largest confirmed size and the smallest that
 * failed MAX_PROBES times in a row, down to one byte. A completed search is
 * retried after PMTU_RAISE_TIMER when it stopped below MAX_PLPMTU.
 * Black hole (§4.3): QUIC_PMTUD_BLACK_HOLE_PTOS consecutive PTOs with no
 * packet larger than BASE_PLPMTU acknowledged (and no probe outstanding,
 * whose own loss can cause a PTO) drop the PLPMTU to the base and search
 * again.
 */

#define QUIC_PMTUD_BASE 1200u                  /* BASE_PLPMTU = MIN_PLPMTU, RFC 9000 §14.3 */
#define QUIC_PMTUD_MAX_PROBES 3u               /* MAX_PROBES, RFC 8899 §5.1.2 */
#define QUIC_PMTUD_RAISE_TIMER_US 600000000ull /* PMTU_RAISE_TIMER, RFC 8899 §5.1.1 */
#define QUIC_PMTUD_BLACK_HOLE_PTOS 2u
#define QUIC_PMTUD_LARGEST 65527u /* RFC 9000 §18.2 */

typedef enum quic_pmtud_state {
    QUIC_PMTUD_DISABLED = 0, /* base only: before the handshake, or turned off */
    QUIC_PMTUD_SEARCHING,
    QUIC_PMTUD_SEARCH_COMPLETE,
} quic_pmtud_state;

typedef struct quic_pmtud {
    quic_pmtud_state state;
    bool enabled;        /* false: stay at the base forever */
    bool first;          /* next probe is MAX_PLPMTU */
    uint32_t max;        /* MAX_PLPMTU: ours and the peer's limit */
    uint32_t cur;        /* PLPMTU: the largest confirmed size */
    uint32_t bad;        /* smallest size that failed; max + 1: none */
    uint32_t probe_size; /* size of the probe in flight; 0: none */
    uint64_t probe_pn;
    uint32_t probe_count; /* PROBE_COUNT: losses of this size in a row */
    uint32_t ptos;        /* consecutive PTOs without a large packet acknowledged */
    uint64_t raise_at;    /* SEARCH_COMPLETE below max: search again then */
    /* Counters, for stats and tests. */
    uint64_t probes_sent, probes_lost, black_holes;
} quic_pmtud;

#if QUINCE_PMTUD
/* max is our own limit (what we accept, and a configured maximum), clamped
 * to [BASE, 65527]; enabled false keeps every packet at the base. */
void quic_pmtud_init(quic_pmtud *m, uint32_t max, bool enabled);
/* Lower MAX_PLPMTU (the peer's max_udp_payload_size); never below the base. */
void quic_pmtud_set_max(quic_pmtud *m, uint64_t max);
/* Enter the search (from DISABLED) once the handshake is confirmed. */
void quic_pmtud_start(quic_pmtud *m, uint64_t now);
/* Back to the base and a new search (a new path). */
void quic_pmtud_restart(quic_pmtud *m, uint64_t now);

/* Size of the probe to send now; 0 when none is due (one at a time). */
uint32_t quic_pmtud_probe_size(const quic_pmtud *m, uint64_t now);
void quic_pmtud_on_probe_sent(quic_pmtud *m, uint64_t pn, uint32_t size);
/* A 1-RTT packet of size bytes was acknowledged / declared lost. */
bool quic_pmtud_on_acked(quic_pmtud *m, uint64_t pn, uint32_t size, uint64_t now);
bool quic_pmtud_on_lost(quic_pmtud *m, uint64_t pn, uint64_t now);
/* A probe timeout fired. */
bool quic_pmtud_on_pto(quic_pmtud *m, uint64_t now);
#else
/* Without QUINCE_PMTUD every packet stays at the base (1200 bytes) and nothing is probed. */
static inline void quic_pmtud_init(quic_pmtud *m, uint32_t max, bool enabled)
{
    (void)max;
    (void)enabled;
    *m = (quic_pmtud){.cur = QUIC_PMTUD_BASE};
}
static inline void quic_pmtud_set_max(quic_pmtud *m, uint64_t max)
{
    (void)m;
    (void)max;
}
static inline void quic_pmtud_start(quic_pmtud *m, uint64_t now)
{
    (void)m;
    (void)now;
}
static inline void quic_pmtud_restart(quic_pmtud *m, uint64_t now)
{
    (void)m;
    (void)now;
}
static inline uint32_t quic_pmtud_probe_size(const quic_pmtud *m, uint64_t now)
{
    (void)m;
    (void)now;
    return 0;
}
static inline void quic_pmtud_on_probe_sent(quic_pmtud *m, uint64_t pn, uint32_t size)
{
    (void)m;
    (void)pn;
    (void)size;
}
static inline bool quic_pmtud_on_acked(quic_pmtud *m, uint64_t pn, uint32_t size, uint64_t now)
{
    (void)m;
    (void)pn;
    (void)size;
    (void)now;
    return false;
}
static inline bool quic_pmtud_on_lost(quic_pmtud *m, uint64_t pn, uint64_t now)
{
    (void)m;
    (void)pn;
    (void)now;
    return false;
}
static inline bool quic_pmtud_on_pto(quic_pmtud *m, uint64_t now)
{
    (void)m;
    (void)now;
    return false;
}
#endif
static inline uint32_t quic_pmtud_current(const quic_pmtud *m)
{
    return m->cur;
}
static inline bool quic_pmtud_is_probe(const quic_pmtud *m, uint64_t pn)
{
    return m->probe_size != 0 && m->probe_pn == pn;
}

#endif
