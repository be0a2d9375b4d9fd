/* Datagram Packetization Layer PMTU Discovery for QUIC (RFC 8899, RFC 9000 §14.3). */
#include "quic/pmtud.h"

#include <string.h>

#if QUINCE_PMTUD

static void search_from_top(quic_pmtud *m)
{
    m->bad = m->max + 1;
    m->first = true;
    m->probe_count = 0;
    m->state = m->cur < m->max ? QUIC_PMTUD_SEARCHING : QUIC_PMTUD_SEARCH_COMPLETE;
}

void quic_pmtud_init(quic_pmtud *m, uint32_t max, bool enabled)
{
    memset(m, 0, sizeof(*m));
    if (max < QUIC_PMTUD_BASE)
        max = QUIC_PMTUD_BASE;
    if (max > QUIC_PMTUD_LARGEST)
        max = QUIC_PMTUD_LARGEST;
    m->max = max;
    m->cur = QUIC_PMTUD_BASE;
    m->bad = max + 1;
    m->enabled = enabled;
    m->state = QUIC_PMTUD_DISABLED;
}

void quic_pmtud_set_max(quic_pmtud *m, uint64_t max)
{
    if (max < QUIC_PMTUD_BASE)
        max = QUIC_PMTUD_BASE;
    if (max >= m->max)
        return;
    m->max = (uint32_t)max;
    if (m->cur > m->max)
        m->cur = m->max;
    if (m->bad > m->max + 1)
        m->bad = m->max + 1;
}

/* RFC 8899 §5.2: the search ends when no size between cur and bad is left. */
static void check_complete(quic_pmtud *m, uint64_t now)
{
    if (m->bad - m->cur > 1)
        return;
    m->state = QUIC_PMTUD_SEARCH_COMPLETE;
    m->raise_at = now + QUIC_PMTUD_RAISE_TIMER_US;
}

/* RFC 9000 §14.3.1: the BASE state starts when the handshake is confirmed;
 * 1200 bytes were confirmed by the handshake itself, so search at once. */
void quic_pmtud_start(quic_pmtud *m, uint64_t now)
{
    if (!m->enabled || m->state != QUIC_PMTUD_DISABLED)
        return;
    search_from_top(m);
    check_complete(m, now);
}

void quic_pmtud_restart(quic_pmtud *m, uint64_t now)
{
    m->cur = QUIC_PMTUD_BASE;
    m->probe_size = 0;
    m->ptos = 0;
    if (m->state == QUIC_PMTUD_DISABLED)
        return;
    search_from_top(m);
    check_complete(m, now);
}

uint32_t quic_pmtud_probe_size(const quic_pmtud *m, uint64_t now)
{
    if (m->probe_size != 0)
        return 0;
    if (m->state == QUIC_PMTUD_SEARCH_COMPLETE) {
        /* RFC 8899 §5.2: PMTU_RAISE_TIMER re-enters the search. */
        if (m->cur >= m->max || now < m->raise_at)
            return 0;
        return m->max;
    }
    if (m->state != QUIC_PMTUD_SEARCHING)
        return 0;
    if (m->first)
        return m->bad - 1;
    return m->cur + (m->bad - m->cur) / 2;
}

void quic_pmtud_on_probe_sent(quic_pmtud *m, uint64_t pn, uint32_t size)
{
    if (m->state == QUIC_PMTUD_SEARCH_COMPLETE) {
        /* The raise timer fired: a new search from the top. */
        search_from_top(m);
    }
    m->probe_pn = pn;
    m->probe_size = size;
    m->probes_sent++;
}

bool quic_pmtud_on_acked(quic_pmtud *m, uint64_t pn, uint32_t size, uint64_t now)
{
    if (size > QUIC_PMTUD_BASE)
        m->ptos = 0;
    if (!quic_pmtud_is_probe(m, pn))
        return false;
    m->probe_size = 0;
    m->probe_count = 0;
    m->first = false;
    bool changed = size > m->cur;
    if (changed)
        m->cur = size;
    if (m->bad <= m->cur)
        m->bad = m->max + 1;
    check_complete(m, now);
    return changed;
}

bool quic_pmtud_on_lost(quic_pmtud *m, uint64_t pn, uint64_t now)
{
    if (!quic_pmtud_is_probe(m, pn))
        return false;
    uint32_t size = m->probe_size;
    m->probe_size = 0;
    m->probes_lost++;
    /* RFC 8899 §5.1.3: a size fails after MAX_PROBES losses in a row. */
    if (++m->probe_count < QUIC_PMTUD_MAX_PROBES)
        return false;
    m->probe_count = 0;
    m->first = false;
    if (size < m->bad)
        m->bad = size;
    check_complete(m, now);
    return false;
}

/* RFC 8899 §4.3: packets of the PLPMTU no longer get through. */
bool quic_pmtud_on_pto(quic_pmtud *m, uint64_t now)
{
    /* A PTO while a probe is out may be the probe's own loss on a quiet
     * connection: only PTOs with no probe outstanding count. */
    if (m->state == QUIC_PMTUD_DISABLED || m->cur <= QUIC_PMTUD_BASE || m->probe_size != 0)
        return false;
    if (++m->ptos < QUIC_PMTUD_BLACK_HOLE_PTOS)
        return false;
    m->black_holes++;
    quic_pmtud_restart(m, now);
    return true;
}

#endif /* QUINCE_PMTUD */
