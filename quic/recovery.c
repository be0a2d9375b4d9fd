/* QUIC loss detection: acknowledgments, loss timers and probe timeouts (RFC 9002 §5-§7, Appendix
 * A). */
#include "quic/recovery.h"

#include <string.h>

#define DEFAULT_MAX_SENT_PACKETS 4096
#define MAX_BACKOFF_SHIFT 30 /* 2^30 PTOs is far past any idle timeout */
/* sent_packet.handle of a lost packet that no loss detection declared (Retry,
 * 0-RTT rejection): a late ACK of it says nothing about reordering. */
#define NOT_DETECTED UINT64_MAX

static bool valid_space(int space)
{
    return space >= 0 && space < QUIC_RECOVERY_SPACES;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_shift(uint64_t v, uint32_t shift)
{
    if (shift > MAX_BACKOFF_SHIFT)
        shift = MAX_BACKOFF_SHIFT;
    return v > (UINT64_MAX >> shift) ? UINT64_MAX : v << shift;
}

int quic_recovery_init(quic_recovery *r, const quince_env *env, const quic_recovery_config *cfg,
                       quic_cc *cc, quic_recovery_packet_cb cb, void *cb_user)
{
    if (r == NULL || env == NULL || cfg == NULL || cc == NULL)
        return QUIC_RECOVERY_ERR_ARG;
    memset(r, 0, sizeof(*r));
    r->env = env;
    r->cc = cc;
    r->cb = cb;
    r->cb_user = cb_user;
    r->is_server = cfg->is_server;
    r->packet_threshold = cfg->packet_threshold ? cfg->packet_threshold : QUIC_PACKET_THRESHOLD;
    r->time_threshold = QUIC_TIME_THRESHOLD_EIGHTHS;
    quic_rtt_init(&r->rtt, cfg->initial_rtt,
                  cfg->max_ack_delay ? cfg->max_ack_delay : QUIC_DEFAULT_MAX_ACK_DELAY_US);
    size_t max = cfg->max_sent_packets ? cfg->max_sent_packets : DEFAULT_MAX_SENT_PACKETS;
    for (int s = 0; s < QUIC_RECOVERY_SPACES; s++)
        quic_sent_packets_init(&r->sent[s], env, max);
    r->timer = UINT64_MAX;
    return 0;
}

void quic_recovery_free(quic_recovery *r)
{
    for (int s = 0; s < QUIC_RECOVERY_SPACES; s++)
        quic_sent_packets_free(&r->sent[s]);
}

static void report(quic_recovery *r, int space, quic_recovery_event ev, const quic_sent_packet *p)
{
    if (r->cb != NULL)
        r->cb(r->cb_user, space, ev, p);
}

/* RFC 9002 Appendix A.8 (PeerCompletedAddressValidation) */
static bool peer_completed_address_validation(const quic_recovery *r)
{
    /* Clients validate the server's address implicitly. */
    if (r->is_server)
        return true;
    return r->handshake_ack_received || r->handshake_confirmed;
}

/* RFC 9002 Appendix A.8 (GetLossTimeAndSpace) */
static uint64_t loss_time_and_space(const quic_recovery *r, int *space)
{
    uint64_t t = 0;
    *space = QUIC_RECOVERY_INITIAL;
    for (int s = 0; s < QUIC_RECOVERY_SPACES; s++) {
        if (r->loss_time[s] != 0 && (t == 0 || r->loss_time[s] < t)) {
            t = r->loss_time[s];
            *space = s;
        }
    }
    return t;
}

/* Ack-eliciting packets in flight in the spaces that may arm a PTO: the
 * application space only once the handshake is confirmed (§6.2.1). */
static size_t pto_armable_in_flight(const quic_recovery *r)
{
    size_t n = r->sent[QUIC_RECOVERY_INITIAL].ack_eliciting_in_flight +
               r->sent[QUIC_RECOVERY_HANDSHAKE].ack_eliciting_in_flight;
    if (r->handshake_confirmed)
        n += r->sent[QUIC_RECOVERY_APP].ack_eliciting_in_flight;
    return n;
}

/* The client must probe to unblock a server that may be limited by
 * anti-amplification (§6.2.2.1). Besides the Appendix A.8 case of nothing
 * in flight, this covers a client with only 0-RTT packets in flight, for
 * which the pseudocode would arm no timer at all. */
static bool needs_anti_deadlock(const quic_recovery *r)
{
    return pto_armable_in_flight(r) == 0 && !peer_completed_address_validation(r);
}

/* RFC 9002 §6.2.1, Appendix A.8 (GetPtoTimeAndSpace) */
static uint64_t pto_time_and_space(const quic_recovery *r, uint64_t now, int *space)
{
    uint64_t duration = sat_shift(quic_rtt_pto_base(&r->rtt), r->pto_count);
    if (needs_anti_deadlock(r)) {
        /* Client anti-deadlock PTO, counted from now. */
        *space = r->has_handshake_keys ? QUIC_RECOVERY_HANDSHAKE : QUIC_RECOVERY_INITIAL;
        return sat_add(now, duration);
    }
    uint64_t timeout = UINT64_MAX;
    *space = QUIC_RECOVERY_INITIAL;
    for (int s = 0; s < QUIC_RECOVERY_SPACES; s++) {
        if (r->sent[s].ack_eliciting_in_flight == 0)
            continue;
        if (s == QUIC_RECOVERY_APP) {
            /* No application PTO before the handshake is confirmed. */
            if (!r->handshake_confirmed)
                return timeout;
            duration = sat_add(duration, sat_shift(r->rtt.max_ack_delay, r->pto_count));
        }
        uint64_t t = sat_add(r->time_of_last_ack_eliciting[s], duration);
        if (t < timeout) {
            timeout = t;
            *space = s;
        }
    }
    return timeout;
}

/* RFC 9002 Appendix A.8 (SetLossDetectionTimer) */
static void set_timer(quic_recovery *r, uint64_t now)
{
    int space;
    uint64_t loss = loss_time_and_space(r, &space);
    if (loss != 0) {
        r->timer = loss;
        return;
    }
    if (r->is_server && r->at_amplification_limit) {
        /* Nothing could be sent on expiry. */
        r->timer = UINT64_MAX;
        return;
    }
    if (quic_recovery_ack_eliciting_in_flight(r) == 0 && peer_completed_address_validation(r)) {
        r->timer = UINT64_MAX;
        return;
    }
    r->timer = pto_time_and_space(r, now, &space);
}

int quic_recovery_on_packet_sent(quic_recovery *r, int space, uint64_t pn, uint32_t size,
                                 bool ack_eliciting, bool in_flight, uint64_t handle, uint64_t now)
{
    if (!valid_space(space))
        return QUIC_RECOVERY_ERR_ARG;
    if (r->discarded[space])
        return QUIC_RECOVERY_ERR_DISCARDED;
    if (r->has_sent[space] && pn <= r->largest_sent[space])
        return QUIC_RECOVERY_ERR_PN_ORDER;
    quic_sent_packet p = {
        .pn = pn,
        .time_sent = now,
        .handle = handle,
        .size = size,
        .ack_eliciting = ack_eliciting,
        .in_flight = in_flight,
        .ecn = r->ecn_next && quic_recovery_ecn_marking(r),
        .pmtu_probe = r->pmtu_probe_next,
    };
    r->ecn_next = false;
    r->pmtu_probe_next = false;
    int rc = quic_sent_packets_push(&r->sent[space], &p);
    if (rc != 0)
        return rc;
    r->largest_sent[space] = pn;
    r->has_sent[space] = true;
    if (p.ecn)
        r->ecn_sent[space]++;
    /* RFC 9002 Appendix A.5 */
    if (in_flight) {
        if (ack_eliciting)
            r->time_of_last_ack_eliciting[space] = now;
        quic_cc_on_packet_sent(r->cc, size, now);
        set_timer(r, now);
    }
    return 0;
}

/* RFC 9002 §6.1.2, with the threshold RFC 8985 §6.2 lets grow. */
uint64_t quic_recovery_loss_delay(const quic_recovery *r)
{
    const quic_rtt *t = &r->rtt;
    uint64_t base = t->latest_rtt > t->smoothed_rtt ? t->latest_rtt : t->smoothed_rtt;
    uint64_t d = base / 8 * r->time_threshold + (base % 8) * r->time_threshold / 8;
    return d < QUIC_GRANULARITY_US ? QUIC_GRANULARITY_US : d;
}

/* Lost packets stay in the record (as tombstones) this long after they were
 * sent, so that a late ACK can prove the loss spurious. */
static void keep_lost(quic_recovery *r, int space, uint64_t now)
{
    uint64_t keep = 2 * quic_recovery_pto_period(r);
    r->sent[space].keep_lost_from = now > keep ? now - keep : 0;
}

/* Whether the RTT shows a standing queue: the smoothed RTT is above the
 * minimum by more than its variation explains (4 * rttvar, as the PTO
 * allows for it) and the granularity. A loss then is the queue's, and
 * reduces the window whatever the loss average says; jitter without a
 * queue raises rttvar along with the smoothed RTT and does not pass. */
static bool queue_seen(const quic_recovery *r)
{
    const quic_rtt *t = &r->rtt;
    if (!t->has_sample || t->smoothed_rtt <= t->min_rtt)
        return false;
    return t->smoothed_rtt - t->min_rtt > sat_add(4 * t->rttvar, QUIC_GRANULARITY_US);
}

/* RFC 9002 §7.6.1: the persistent congestion duration. */
static uint64_t persistent_congestion_duration(const quic_recovery *r)
{
    uint64_t d = sat_add(quic_rtt_pto_base(&r->rtt), r->rtt.max_ack_delay);
    return d > UINT64_MAX / QUIC_PERSISTENT_CONGESTION_THRESHOLD
               ? UINT64_MAX
               : d * QUIC_PERSISTENT_CONGESTION_THRESHOLD;
}

/* RFC 9002 §6.1, §7.6.2, Appendix A.10 and B.8: declare lost the packets
 * below largest_acked that exceed the packet or time threshold, report them,
 * and tell the congestion controller. Persistent congestion is judged
 * within this space only (allowed by §7.6.2). Returns the number lost. */
static size_t detect_and_remove_lost(quic_recovery *r, int space, uint64_t now)
{
    quic_sent_packets *sp = &r->sent[space];
    r->loss_time[space] = 0;
    if (!r->has_largest_acked[space])
        return 0;
    uint64_t largest_acked = r->largest_acked[space];
    uint64_t loss_delay = quic_recovery_loss_delay(r);
    /* Before loss_delay has elapsed since time 0 nothing can be late. */
    bool time_ok = now >= loss_delay;
    uint64_t lost_send_time = time_ok ? now - loss_delay : 0;

    size_t n_lost = 0, n_lost_in_flight = 0;
    uint64_t last_loss_sent = 0;
    bool any_in_flight_lost = false, congestive = false;
    /* Persistent congestion: a run of ack-eliciting losses, sent after the
     * first RTT sample, with no acknowledged packet between them. */
    uint64_t pc_duration = persistent_congestion_duration(r);
    bool persistent = false, run_open = false;
    uint64_t run_start = 0;

    for (size_t i = 0; i < sp->len; i++) {
        quic_sent_packet *p = quic_sent_packets_at(sp, i);
        if (p->pn > largest_acked)
            break;
        if (p->state == QUIC_SENT_ACKED_PENDING || p->state == QUIC_SENT_REMOVED_ACKED) {
            run_open = false;
            continue;
        }
        if (p->state != QUIC_SENT_LIVE)
            continue;
        bool by_packets = largest_acked >= p->pn + r->packet_threshold;
        bool lost = (time_ok && p->time_sent <= lost_send_time) || by_packets;
        if (!lost) {
            uint64_t t = sat_add(p->time_sent, loss_delay);
            if (r->loss_time[space] == 0 || t < r->loss_time[space])
                r->loss_time[space] = t;
            run_open = false;
            continue;
        }
        quic_sent_packets_remove(sp, p, QUIC_SENT_REMOVED_LOST);
        n_lost++;
        r->stats.lost++;
        if (by_packets)
            r->stats.lost_by_packets++;
        else
            r->stats.lost_by_time++;
        if (p->probe || p->pmtu_probe) {
            /* RFC 9000 §14.4, §9.4: a lost PMTU or path probe is no sign of congestion. */
            r->stats.lost_pmtu_probes++;
            if (p->in_flight)
                quic_cc_remove_in_flight(r->cc, p->size);
            report(r, space, QUIC_RECOVERY_LOST, p);
            p->handle = NOT_DETECTED;
            continue;
        }
        if (p->in_flight) {
            quic_cc_remove_in_flight(r->cc, p->size);
            any_in_flight_lost = true;
            congestive |= quic_cc_on_loss(r->cc, p->pn);
            n_lost_in_flight++;
            if (p->time_sent > last_loss_sent)
                last_loss_sent = p->time_sent;
        }
        if (p->ack_eliciting && r->rtt.has_sample && p->time_sent > r->rtt.first_sample_time) {
            if (!run_open) {
                run_open = true;
                run_start = p->time_sent;
            } else if (p->time_sent - run_start > pc_duration) {
                persistent = true;
            }
        }
        report(r, space, QUIC_RECOVERY_LOST, p);
        /* The record is the caller's no more: keep when it was declared. */
        p->handle = p->in_flight ? now : NOT_DETECTED;
    }
    if (any_in_flight_lost) {
        if ((congestive || queue_seen(r)) &&
            quic_cc_on_congestion_event(r->cc, last_loss_sent, now)) {
            /* A new loss episode, which a late ACK of all its losses undoes. */
            r->episode_start = now;
            r->episode_lost = 0;
            r->episode_spurious = 0;
            r->episode_undoable = true;
        }
        r->episode_lost += n_lost_in_flight;
    }
    if (persistent) {
        quic_cc_on_persistent_congestion(r->cc, now);
        quic_rtt_reset_min_rtt(&r->rtt);
        r->episode_undoable = false;
    }
    return n_lost;
}

/* RFC 9002 §6.1, RFC 8985 §6.2, §9.3: a packet declared lost was
 * acknowledged after all. Raise the packet threshold past the reordering it
 * showed and the time threshold past its round trip, and when every loss of
 * the last window reduction turns out spurious, undo the reduction. */
static void on_spurious_loss(quic_recovery *r, int space, quic_sent_packet *p, uint64_t ack_delay,
                             uint32_t threshold_before, uint64_t now)
{
    p->state = QUIC_SENT_REMOVED_ACKED;
    if (p->handle == NOT_DETECTED)
        return;
    r->stats.spurious++;
    /* The reordering it showed, and at least twice the threshold before this
     * ACK: raising it only to each distance seen would be fooled again and
     * again by a little more. */
    uint64_t distance = r->largest_acked[space] - p->pn + 1;
    if (distance < 2 * (uint64_t)threshold_before)
        distance = 2 * (uint64_t)threshold_before;
    if (distance > QUIC_MAX_PACKET_THRESHOLD)
        distance = QUIC_MAX_PACKET_THRESHOLD;
    if (distance > r->packet_threshold)
        r->packet_threshold = (uint32_t)distance;
    const quic_rtt *t = &r->rtt;
    uint64_t base = t->latest_rtt > t->smoothed_rtt ? t->latest_rtt : t->smoothed_rtt;
    if (base > 0 && now > p->time_sent) {
        uint64_t rtt = now - p->time_sent;
        if (ack_delay < rtt)
            rtt -= ack_delay;
        /* Eighths of base that cover it, and one more for margin. */
        uint64_t e = rtt / base * 8 + ((rtt % base) * 8 + base - 1) / base + 1;
        if (e > r->time_threshold)
            r->time_threshold =
                e > QUIC_MAX_TIME_THRESHOLD_EIGHTHS ? QUIC_MAX_TIME_THRESHOLD_EIGHTHS : (uint32_t)e;
    }
    if (r->episode_undoable && p->handle >= r->episode_start) {
        r->episode_spurious++;
        if (r->episode_spurious >= r->episode_lost) {
            quic_cc_undo(r->cc, now);
            r->episode_undoable = false;
            r->stats.undone++;
        }
    }
}

/* RFC 9000 §13.4.2.1: an ACK that newly acknowledges packets sent with
 * ECT(0) must carry ECN counts (else the path or the peer bleaches them),
 * the counts must not fall, and no count may exceed what was sent (we send
 * no ECT(1)). ECT(0) + CE must cover the marked packets acknowledged: Quince
 * checks all of them so far rather than the increase against this ACK's new
 * ones, because a receiver counts packets in ranges it has not reported yet
 * (ngtcp2 0.12.1 and Quince both cap the ranges of one ACK frame; through
 * bench/lossy-relay's jitter the per-ACK check failed on correct counts). Any
 * failure stops the marking for the rest of the connection. An ACK that does
 * not raise the largest acknowledged (new_largest false) may be an old one
 * that arrived late, with older counts: it never fails validation. */
static void ecn_validate(quic_recovery *r, int space, const quic_recovery_ack *ack,
                         uint64_t newly_acked_ect, bool new_largest)
{
    r->ecn_acked[space] += newly_acked_ect;
    if (r->ecn_failed || !r->ecn_marking || !new_largest)
        return;
    bool fail = false;
    if (!ack->has_ecn) {
        fail = newly_acked_ect > 0;
    } else if (ack->ecn_ect0 < r->ecn_ect0[space] || ack->ecn_ce < r->ecn_ce[space] ||
               ack->ecn_ect1 > 0 || ack->ecn_ect0 + ack->ecn_ce > r->ecn_sent[space]) {
        fail = true;
    } else if (ack->ecn_ect0 + ack->ecn_ce < r->ecn_acked[space]) {
        fail = true;
    }
    if (fail) {
        r->ecn_failed = true;
        return;
    }
    if (ack->has_ecn)
        r->ecn_ect0[space] = ack->ecn_ect0;
}

void quic_recovery_set_ecn(quic_recovery *r, bool on)
{
    r->ecn_marking = on;
}

/* Ranges must be largest-first, each well formed and below the previous. */
static bool ranges_valid(const quic_recovery_ack *ack)
{
    if (ack->ranges == NULL || ack->n_ranges == 0)
        return false;
    for (size_t i = 0; i < ack->n_ranges; i++) {
        if (ack->ranges[i].smallest > ack->ranges[i].largest)
            return false;
        if (i > 0 && ack->ranges[i].largest >= ack->ranges[i - 1].smallest)
            return false;
    }
    return true;
}

/* RFC 9002 Appendix A.7 (OnAckReceived) */
int quic_recovery_on_ack_received(quic_recovery *r, int space, const quic_recovery_ack *ack,
                                  uint64_t now)
{
    if (!valid_space(space) || ack == NULL)
        return QUIC_RECOVERY_ERR_ARG;
    if (r->discarded[space])
        return QUIC_RECOVERY_ERR_DISCARDED;
    if (!ranges_valid(ack))
        return QUIC_RECOVERY_ERR_BAD_RANGES;
    uint64_t largest = ack->ranges[0].largest;
    if (!r->has_sent[space] || largest > r->largest_sent[space])
        return QUIC_RECOVERY_ERR_ACK_UNSENT;

    if (space == QUIC_RECOVERY_HANDSHAKE)
        r->handshake_ack_received = true;
    bool new_largest = !r->has_largest_acked[space] || largest > r->largest_acked[space];
    if (new_largest) {
        r->largest_acked[space] = largest;
        r->has_largest_acked[space] = true;
    }

    /* DetectAndRemoveAckedPackets: mark, report after the losses. */
    quic_sent_packets *sp = &r->sent[space];
    size_t lo_idx = SIZE_MAX, hi_idx = 0;
    const quic_sent_packet *newest = NULL;
    bool includes_ack_eliciting = false;
    uint32_t threshold_before = r->packet_threshold;
    uint64_t newly_acked_ect = 0;
    for (size_t k = 0; k < ack->n_ranges; k++) {
        size_t i = quic_sent_packets_lower_bound(sp, ack->ranges[k].smallest);
        for (; i < sp->len; i++) {
            quic_sent_packet *p = quic_sent_packets_at(sp, i);
            if (p->pn > ack->ranges[k].largest)
                break;
            if (p->state == QUIC_SENT_REMOVED_LOST) {
                on_spurious_loss(r, space, p, ack->ack_delay, threshold_before, now);
                continue;
            }
            if (p->state != QUIC_SENT_LIVE)
                continue;
            quic_sent_packets_remove(sp, p, QUIC_SENT_ACKED_PENDING);
            newly_acked_ect += p->ecn;
            if (newest == NULL || p->pn > newest->pn)
                newest = p;
            includes_ack_eliciting |= p->ack_eliciting;
            if (i < lo_idx)
                lo_idx = i;
            if (i > hi_idx)
                hi_idx = i;
        }
    }
    if (newest == NULL)
        return 0;

    /* RFC 9002 §5.1: an RTT sample only when the largest acknowledged is
     * newly acked and something ack-eliciting was. */
    if (newest->pn == largest && includes_ack_eliciting && now >= newest->time_sent &&
        !newest->probe) { /* RFC 9000 §9.4: not from a path that was left */
        /* Initial ACKs are never delayed on purpose (§5.3 MAY ignore). */
        uint64_t ack_delay = space == QUIC_RECOVERY_INITIAL ? 0 : ack->ack_delay;
        quic_rtt_update(&r->rtt, now - newest->time_sent, ack_delay, r->handshake_confirmed, now);
        quic_cc_on_rtt_sample(r->cc, r->rtt.latest_rtt, newest->time_sent, now);
    }

    ecn_validate(r, space, ack, newly_acked_ect, new_largest);

    /* RFC 9002 Appendix B.7 (ProcessECN) */
    if (ack->has_ecn && ack->ecn_ce > r->ecn_ce[space]) {
        r->ecn_ce[space] = ack->ecn_ce;
        if (newest->pn == largest && quic_cc_on_congestion_event(r->cc, newest->time_sent, now)) {
            /* Not a loss: nothing can show it spurious. */
            r->episode_start = now;
            r->episode_undoable = false;
        }
    }

    detect_and_remove_lost(r, space, now);

    /* OnPacketsAcked, then release the slots. */
    for (size_t i = lo_idx; i <= hi_idx; i++) {
        quic_sent_packet *p = quic_sent_packets_at(sp, i);
        if (p->state != QUIC_SENT_ACKED_PENDING)
            continue;
        p->state = QUIC_SENT_REMOVED_ACKED;
        if (p->in_flight)
            quic_cc_on_packet_acked(r->cc, p->size, p->time_sent, r->rtt.smoothed_rtt, now);
        report(r, space, QUIC_RECOVERY_ACKED, p);
    }
    keep_lost(r, space, now);
    quic_sent_packets_trim(sp);

    /* Keep the backoff while a client is unsure the server validated it. */
    if (peer_completed_address_validation(r))
        r->pto_count = 0;
    set_timer(r, now);
    return 0;
}

uint64_t quic_recovery_next_timeout(const quic_recovery *r)
{
    return r->timer;
}

/* RFC 9002 §6.2.4, Appendix A.9 (OnLossDetectionTimeout) */
void quic_recovery_on_timeout(quic_recovery *r, uint64_t now, quic_recovery_timeout *out)
{
    memset(out, 0, sizeof(*out));
    if (r->timer == UINT64_MAX || now < r->timer)
        return;
    int space;
    uint64_t loss = loss_time_and_space(r, &space);
    if (loss != 0) {
        /* Time threshold loss detection. */
        detect_and_remove_lost(r, space, now);
        keep_lost(r, space, now);
        quic_sent_packets_trim(&r->sent[space]);
        out->kind = QUIC_RECOVERY_TIMEOUT_LOSS;
        out->space = space;
        set_timer(r, now);
        return;
    }
    out->kind = QUIC_RECOVERY_TIMEOUT_PTO;
    r->stats.ptos++;
    if (needs_anti_deadlock(r)) {
        /* Client anti-deadlock: a Handshake packet proves address ownership,
         * a padded Initial earns amplification credit. */
        out->space = r->has_handshake_keys ? QUIC_RECOVERY_HANDSHAKE : QUIC_RECOVERY_INITIAL;
        out->probes = 1;
        out->anti_deadlock = true;
    } else {
        pto_time_and_space(r, now, &out->space);
        /* Two probes guard against one lost datagram (§6.2.4). */
        out->probes = 2;
    }
    r->pto_count++;
    set_timer(r, now);
}

/* Report live packets up to max_pn as `ev` and take them out of flight,
 * with no congestion reaction. */
static void drop_packets(quic_recovery *r, int space, uint64_t max_pn, quic_recovery_event ev)
{
    quic_sent_packets *sp = &r->sent[space];
    for (size_t i = 0; i < sp->len; i++) {
        quic_sent_packet *p = quic_sent_packets_at(sp, i);
        if (p->pn > max_pn)
            break;
        if (p->state != QUIC_SENT_LIVE)
            continue;
        quic_sent_packets_remove(sp, p, QUIC_SENT_REMOVED_LOST);
        if (p->in_flight)
            quic_cc_remove_in_flight(r->cc, p->size);
        report(r, space, ev, p);
        p->handle = NOT_DETECTED;
    }
    quic_sent_packets_trim(sp);
}

/* RFC 9002 §6.4, Appendix A.11 (OnPacketNumberSpaceDiscarded), B.9 */
void quic_recovery_discard_space(quic_recovery *r, int space, uint64_t now)
{
    if (!valid_space(space) || r->discarded[space])
        return;
    drop_packets(r, space, UINT64_MAX, QUIC_RECOVERY_DISCARDED);
    quic_sent_packets_free(&r->sent[space]); /* a discarded space keeps no memory */
    r->discarded[space] = true;
    r->time_of_last_ack_eliciting[space] = 0;
    r->loss_time[space] = 0;
    r->pto_count = 0;
    set_timer(r, now);
}

/* RFC 9002 §6.3 */
void quic_recovery_on_retry(quic_recovery *r, uint64_t now)
{
    for (int s = 0; s < QUIC_RECOVERY_SPACES; s++) {
        quic_sent_packets *sp = &r->sent[s];
        drop_packets(r, s, UINT64_MAX, QUIC_RECOVERY_LOST);
        quic_sent_packets_clear(sp);
        r->time_of_last_ack_eliciting[s] = 0;
        r->loss_time[s] = 0;
    }
    quic_rtt_init(&r->rtt, 0, r->rtt.max_ack_delay);
    r->pto_count = 0;
    set_timer(r, now);
}

/* RFC 9002 §6.4 */
void quic_recovery_on_0rtt_rejected(quic_recovery *r, uint64_t largest_0rtt_pn, uint64_t now)
{
    drop_packets(r, QUIC_RECOVERY_APP, largest_0rtt_pn, QUIC_RECOVERY_LOST);
    if (r->sent[QUIC_RECOVERY_APP].ack_eliciting_in_flight == 0)
        r->time_of_last_ack_eliciting[QUIC_RECOVERY_APP] = 0;
    set_timer(r, now);
}

void quic_recovery_set_handshake_confirmed(quic_recovery *r, uint64_t now)
{
    r->handshake_confirmed = true;
    set_timer(r, now);
}

void quic_recovery_set_has_handshake_keys(quic_recovery *r, uint64_t now)
{
    r->has_handshake_keys = true;
    set_timer(r, now);
}

void quic_recovery_set_max_ack_delay(quic_recovery *r, uint64_t max_ack_delay, uint64_t now)
{
    r->rtt.max_ack_delay = max_ack_delay;
    set_timer(r, now);
}

/* RFC 9002 §6.2.2.1, Appendix A.6 */
void quic_recovery_set_amplification_limited(quic_recovery *r, bool limited, uint64_t now)
{
    r->at_amplification_limit = limited;
    set_timer(r, now);
}

/* RFC 9002 §6.2.4 */
size_t quic_recovery_requeue_oldest(quic_recovery *r, int space, size_t n)
{
    if (!valid_space(space) || r->discarded[space])
        return 0;
    quic_sent_packets *sp = &r->sent[space];
    size_t done = 0;
    for (size_t i = 0; i < sp->len && done < n; i++) {
        quic_sent_packet *p = quic_sent_packets_at(sp, i);
        if (p->state != QUIC_SENT_LIVE || !p->ack_eliciting)
            continue;
        report(r, space, QUIC_RECOVERY_REQUEUE, p);
        done++;
    }
    return done;
}

/* RFC 9002 §6.2.1 */
uint64_t quic_recovery_pto_period(const quic_recovery *r)
{
    return sat_add(quic_rtt_pto_base(&r->rtt), r->rtt.max_ack_delay);
}
