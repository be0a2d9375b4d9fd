/* Receive-side packet number tracking for building ACK frames (RFC 9000 §13.2). */
#include "quic/ack_tracker.h"

#include <string.h>

void quic_ack_tracker_init(quic_ack_tracker *t, size_t max_ranges, uint64_t max_ack_delay,
                           bool immediate_space)
{
    memset(t, 0, sizeof(*t));
    if (max_ranges == 0)
        max_ranges = 1;
    if (max_ranges > QUIC_ACK_TRACKER_MAX_RANGES)
        max_ranges = QUIC_ACK_TRACKER_MAX_RANGES;
    t->max_ranges = max_ranges;
    t->ranges = t->inline_ranges;
    t->max_ack_delay = max_ack_delay;
    t->immediate_space = immediate_space;
    t->ack_eliciting_threshold = 2;
    t->reorder_threshold = 1;
}

/* RFC 9000 §13.2.3 */
void quic_ack_tracker_set_growth(quic_ack_tracker *t, const quince_env *env, size_t grow_max)
{
    t->env = env;
    t->grow_max = grow_max;
}

void quic_ack_tracker_free(quic_ack_tracker *t)
{
    if (t->ranges != t->inline_ranges)
        quince_env_free(t->env, t->ranges);
    t->ranges = t->inline_ranges;
    t->n_ranges = 0;
    t->max_ranges = 0;
    t->env = NULL;
}

/* RFC 9000 §13.2.3: room for more ranges, when the tracker may grow. */
static bool grow(quic_ack_tracker *t)
{
    if (t->env == NULL || t->max_ranges >= t->grow_max)
        return false;
    size_t cap = t->max_ranges * 2 < t->grow_max ? t->max_ranges * 2 : t->grow_max;
    quic_pn_range *r = quince_env_alloc(t->env, cap * sizeof(*r));
    if (r == NULL)
        return false;
    memcpy(r, t->ranges, t->n_ranges * sizeof(*r));
    if (t->ranges != t->inline_ranges)
        quince_env_free(t->env, t->ranges);
    t->ranges = r;
    t->max_ranges = cap;
    return true;
}

/* draft-ietf-quic-ack-frequency-12 §4 */
void quic_ack_tracker_set_frequency(quic_ack_tracker *t, uint64_t threshold, uint64_t max_ack_delay,
                                    uint64_t reordering)
{
    /* An ACK once more than threshold packets came: after threshold + 1. */
    t->ack_eliciting_threshold = threshold >= UINT32_MAX - 1 ? UINT32_MAX : (uint32_t)threshold + 1;
    t->max_ack_delay = max_ack_delay;
    t->reorder_threshold = reordering;
}

/* draft-ietf-quic-ack-frequency-12 §5 */
void quic_ack_tracker_ack_now(quic_ack_tracker *t)
{
    if (t->ack_pending)
        t->ack_now = true;
}

/* Index of the range containing pn, or -1. Ranges are few: a linear scan
 * from the largest end is fastest for in-order traffic. */
static long find_range(const quic_ack_tracker *t, uint64_t pn)
{
    for (size_t i = 0; i < t->n_ranges; i++) {
        if (pn > t->ranges[i].largest)
            return -1;
        if (pn >= t->ranges[i].smallest)
            return (long)i;
    }
    return -1;
}

/* RFC 9000 §13.2.3 */
bool quic_ack_tracker_is_duplicate(const quic_ack_tracker *t, uint64_t pn)
{
    return pn < t->floor || find_range(t, pn) >= 0;
}

/* Insert pn (known absent) keeping ranges largest-first, merging neighbours;
 * when full, the smallest range is forgotten and the floor raised past it so
 * that its packets are never accepted again (RFC 9000 §13.2.3). Returns the
 * index of the range now holding pn. */
static size_t insert_pn(quic_ack_tracker *t, uint64_t pn)
{
    size_t i = 0;
    while (i < t->n_ranges && t->ranges[i].smallest > pn)
        i++;
    /* Now ranges[0..i-1] lie above pn and ranges[i] (if any) below it. */
    bool joins_above = i > 0 && t->ranges[i - 1].smallest == pn + 1;
    bool joins_below = i < t->n_ranges && t->ranges[i].largest + 1 == pn;
    if (joins_above && joins_below) {
        t->ranges[i - 1].smallest = t->ranges[i].smallest;
        memmove(&t->ranges[i], &t->ranges[i + 1], (t->n_ranges - i - 1) * sizeof(t->ranges[0]));
        t->n_ranges--;
        return i - 1;
    }
    if (joins_above) {
        t->ranges[i - 1].smallest = pn;
        return i - 1;
    }
    if (joins_below) {
        t->ranges[i].largest = pn;
        return i;
    }
    if (t->n_ranges == t->max_ranges && !grow(t)) {
        if (i == t->n_ranges) {
            /* pn would be the new smallest range: drop it outright. */
            t->floor = pn + 1;
            return SIZE_MAX;
        }
        t->floor = t->ranges[t->n_ranges - 1].largest + 1;
        t->n_ranges--;
    }
    memmove(&t->ranges[i + 1], &t->ranges[i], (t->n_ranges - i) * sizeof(t->ranges[0]));
    t->ranges[i].smallest = pn;
    t->ranges[i].largest = pn;
    t->n_ranges++;
    return i;
}

/* RFC 9000 §13.2.1, §13.2.2 */
int quic_ack_tracker_on_packet_received(quic_ack_tracker *t, uint64_t pn, bool ack_eliciting,
                                        bool ecn_ce, uint64_t now)
{
    if (quic_ack_tracker_is_duplicate(t, pn))
        return 1;
    size_t idx = insert_pn(t, pn);
    if (!t->has_largest || pn > t->largest) {
        t->largest = pn;
        t->largest_recv_time = now;
        t->has_largest = true;
    }
    t->unacked_any = true;
    if (!ack_eliciting)
        return 0;

    bool out_of_order = false;
    uint64_t r = t->reorder_threshold;
    if (t->has_ack_eliciting && r > 0) {
        if (pn < t->largest_ack_eliciting) {
            /* Older than an ack-eliciting packet already seen (with R > 1:
             * old enough that the sender may have declared it lost). */
            out_of_order = r == 1 || pn + r <= t->largest_ack_eliciting;
        } else if (idx == SIZE_MAX || t->ranges[idx].smallest > t->largest_ack_eliciting) {
            /* Newer, with packets missing in between (with R > 1: R of them). */
            out_of_order = r == 1 || pn >= t->largest_ack_eliciting + r;
        }
    }
    if (!t->has_ack_eliciting || pn > t->largest_ack_eliciting) {
        t->largest_ack_eliciting = pn;
        t->has_ack_eliciting = true;
    }
    t->ack_eliciting_since_ack++;
    if (!t->ack_pending) {
        t->ack_pending = true;
        t->ack_deadline = now + t->max_ack_delay;
    }
    if (t->immediate_space || out_of_order || ecn_ce ||
        t->ack_eliciting_since_ack >= t->ack_eliciting_threshold)
        t->ack_now = true;
    return 0;
}

uint64_t quic_ack_tracker_ack_time(const quic_ack_tracker *t)
{
    if (!t->ack_pending)
        return UINT64_MAX;
    return t->ack_now ? 0 : t->ack_deadline;
}

bool quic_ack_tracker_should_send(const quic_ack_tracker *t, uint64_t now)
{
    return t->ack_pending && (t->ack_now || now >= t->ack_deadline);
}

bool quic_ack_tracker_has_unacked(const quic_ack_tracker *t)
{
    return t->unacked_any && t->n_ranges > 0;
}

/* RFC 9000 §13.2.3, §13.2.5 */
size_t quic_ack_tracker_build(const quic_ack_tracker *t, uint64_t now, quic_pn_range *out,
                              size_t max, uint64_t *ack_delay)
{
    size_t n = t->n_ranges < max ? t->n_ranges : max;
    memcpy(out, t->ranges, n * sizeof(out[0]));
    if (ack_delay != NULL)
        *ack_delay = now > t->largest_recv_time ? now - t->largest_recv_time : 0;
    return n;
}

void quic_ack_tracker_on_ack_sent(quic_ack_tracker *t)
{
    t->ack_pending = false;
    t->ack_now = false;
    t->ack_eliciting_since_ack = 0;
    t->unacked_any = false;
}

/* RFC 9000 §13.2.4 */
void quic_ack_tracker_on_ack_acked(quic_ack_tracker *t, uint64_t largest_acked)
{
    if (largest_acked == UINT64_MAX || largest_acked + 1 <= t->floor)
        return;
    t->floor = largest_acked + 1;
    size_t keep = 0;
    while (keep < t->n_ranges && t->ranges[keep].largest >= t->floor) {
        if (t->ranges[keep].smallest < t->floor)
            t->ranges[keep].smallest = t->floor;
        keep++;
    }
    t->n_ranges = keep;
}
