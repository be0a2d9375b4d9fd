/* Record of sent packets for one packet number space (RFC 9002 Appendix A.1). */
#include "quic/sent_packets.h"

#include <string.h>

#define QUIC_SENT_PACKETS_MIN_CAP 16

void quic_sent_packets_init(quic_sent_packets *s, const quince_env *env, size_t max_packets)
{
    memset(s, 0, sizeof(*s));
    s->env = env;
    s->max_cap = max_packets;
    s->keep_lost_from = UINT64_MAX;
}

void quic_sent_packets_free(quic_sent_packets *s)
{
    if (s->ring != NULL)
        quince_env_free(s->env, s->ring);
    s->ring = NULL;
    s->cap = s->len = s->head = s->live = 0;
    s->ack_eliciting_in_flight = 0;
    s->bytes_in_flight = 0;
}

/* Copy the slots, in logical order, to a new array of new_cap slots. */
static int relayout(quic_sent_packets *s, size_t new_cap, bool drop_tombstones)
{
    quic_sent_packet *n = quince_env_alloc(s->env, new_cap * sizeof(*n));
    if (n == NULL)
        return QUIC_RECOVERY_ERR_NOMEM;
    size_t j = 0;
    for (size_t i = 0; i < s->len; i++) {
        quic_sent_packet *p = quic_sent_packets_at(s, i);
        if (drop_tombstones && p->state != QUIC_SENT_LIVE)
            continue;
        n[j++] = *p;
    }
    quince_env_free(s->env, s->ring);
    s->ring = n;
    s->cap = new_cap;
    s->head = 0;
    s->len = j;
    return 0;
}

int quic_sent_packets_push(quic_sent_packets *s, const quic_sent_packet *p)
{
    if (s->len > 0 && quic_sent_packets_at(s, s->len - 1)->pn >= p->pn)
        return QUIC_RECOVERY_ERR_PN_ORDER;
    quic_sent_packets_trim(s);
    if (s->len == s->cap) {
        if (s->live >= s->max_cap)
            return QUIC_RECOVERY_ERR_FULL;
        size_t want = s->cap * 2;
        if (want < QUIC_SENT_PACKETS_MIN_CAP)
            want = QUIC_SENT_PACKETS_MIN_CAP;
        if (want > s->max_cap)
            want = s->max_cap;
        /* At the bound, tombstones behind a live packet are squeezed out. */
        int rc = relayout(s, want, want == s->cap);
        if (rc != 0)
            return rc;
    }
    quic_sent_packet *slot = quic_sent_packets_at(s, s->len);
    *slot = *p;
    slot->state = QUIC_SENT_LIVE;
    s->len++;
    s->live++;
    if (p->in_flight) {
        s->bytes_in_flight += p->size;
        if (p->ack_eliciting)
            s->ack_eliciting_in_flight++;
    }
    return 0;
}

size_t quic_sent_packets_lower_bound(const quic_sent_packets *s, uint64_t pn)
{
    size_t lo = 0, hi = s->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (quic_sent_packets_at(s, mid)->pn < pn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

quic_sent_packet *quic_sent_packets_find(const quic_sent_packets *s, uint64_t pn)
{
    size_t i = quic_sent_packets_lower_bound(s, pn);
    if (i == s->len)
        return NULL;
    quic_sent_packet *p = quic_sent_packets_at(s, i);
    return (p->pn == pn && p->state == QUIC_SENT_LIVE) ? p : NULL;
}

void quic_sent_packets_remove(quic_sent_packets *s, quic_sent_packet *p, uint8_t state)
{
    if (p->state != QUIC_SENT_LIVE)
        return;
    p->state = state;
    s->live--;
    if (p->in_flight) {
        s->bytes_in_flight -= p->size;
        if (p->ack_eliciting)
            s->ack_eliciting_in_flight--;
    }
}

void quic_sent_packets_trim(quic_sent_packets *s)
{
    while (s->len > 0) {
        quic_sent_packet *p = quic_sent_packets_at(s, 0);
        if (p->state == QUIC_SENT_LIVE || p->state == QUIC_SENT_ACKED_PENDING)
            break;
        if (p->state == QUIC_SENT_REMOVED_LOST && p->time_sent >= s->keep_lost_from)
            break;
        s->head = s->head + 1 == s->cap ? 0 : s->head + 1;
        s->len--;
    }
    if (s->len == 0)
        s->head = 0;
}

void quic_sent_packets_clear(quic_sent_packets *s)
{
    s->head = s->len = s->live = 0;
    s->ack_eliciting_in_flight = 0;
    s->bytes_in_flight = 0;
}
