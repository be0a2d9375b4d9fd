/* QUIC paths: path validation, the peer's migration and NAT rebinding, our own migration (RFC 9000
 * §8.2, §9). */
#include <string.h>

#include "quic/conn_internal.h"

bool quic_addr_equal(const quic_addr *a, const quic_addr *b)
{
    size_t n = a->family == 6 ? 16 : 4;
    return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, n) == 0;
}

#if QUINCE_MIGRATION
static bool same_ip(const quic_addr *a, const quic_addr *b)
{
    size_t n = a->family == 6 ? 16 : 4;
    return a->family == b->family && memcmp(a->ip, b->ip, n) == 0;
}

/* RFC 9000 §8.2.4: abandon after three times the larger of the current PTO
 * and the PTO of a new path (kInitialRtt). */
static uint64_t validation_period(const quic_conn *c)
{
    uint64_t pto = quic_conn_pto(c), fresh = 3 * QUIC_RTT_INITIAL_US;
    return 3 * (pto > fresh ? pto : fresh);
}

static void check_start(quic_conn *c, quic_path_check *pc, const quic_addr *addr, uint64_t now)
{
    pc->active = true;
    pc->addr = *addr;
    quince_env_random(c->env, pc->data, sizeof(pc->data));
    pc->send = true;
    pc->interval = quic_conn_pto(c);
    pc->resend_at = QUIC_TIME_NEVER;
    pc->deadline = now + validation_period(c);
}

/* RFC 9000 §9.4: a new path starts from the initial congestion window, RTT
 * estimate and PMTU, unless only the port changed (NAT rebinding). Packets
 * in flight on the old path keep their bytes counted until they leave. */
static void reset_path_state(quic_conn *c, uint64_t now)
{
    uint64_t in_flight = c->cc.bytes_in_flight;
    quic_conn_init_cc(c); /* the configured controller (NewReno without CUBIC in the build) */
    c->cc.bytes_in_flight = in_flight;
    quic_rtt_init(&c->rec.rtt, c->cfg.initial_rtt_ms * 1000, c->rec.rtt.max_ack_delay);
    uint32_t old = quic_pmtud_current(&c->pmtud);
    quic_pmtud_state st = c->pmtud.state;
    quic_pmtud_restart(&c->pmtud, now);
    quic_conn_pmtud_update(c, old, st, now);
}

/* RFC 9000 §5.1.2, §9.5: a connection ID the peer gave us and we never used
 * goes with a new path; the old one is retired. False when none is spare
 * (a peer with zero-length IDs has nothing to rotate and needs nothing). */
static bool rotate_peer_cid(quic_conn *c)
{
    if (c->pcid[c->pcid_cur].cid.len == 0)
        return true;
    for (size_t i = 0; i < QUIC_MAX_PEER_CIDS; i++) {
        if (i == c->pcid_cur || !c->pcid[i].in_use)
            continue;
        quic_peer_cid *old = &c->pcid[c->pcid_cur];
        old->in_use = false;
        if (c->n_retire_pending < QUIC_MAX_RETIRE_PENDING)
            c->retire_pending[c->n_retire_pending++] = old->seq;
        c->pcid_cur = i;
        return true;
    }
    return false;
}

/* RFC 9000 §9.3: a non-probing packet, the largest numbered yet, came from
 * an address other than the peer's current one. */
static void on_peer_address_change(quic_conn *c, const quic_addr *from, uint64_t now)
{
    const quic_addr old = c->remote;
    c->remote = *from;
    c->stats.migrations++;
    /* §9.4: what went to the old address says nothing about the new path. */
    quic_recovery_mark_in_flight_probes(&c->rec, SP_APP);
    /* A DCID of ours the peer had not used before: an intentional migration,
     * answered from a fresh ID of its own (§9.5). */
    if (!(c->rx_dcid.len == c->path_dcid.len &&
          memcmp(c->rx_dcid.bytes, c->path_dcid.bytes, c->rx_dcid.len) == 0)) {
        c->path_dcid = c->rx_dcid;
        (void)rotate_peer_cid(c);
    }
    if (quic_addr_equal(from, &c->validated)) {
        /* §9.3.2: back on the last validated path (a spurious migration
         * ended); no validation, no limit. */
        c->remote_unvalidated = false;
        c->pc[0].active = false;
        return;
    }
    c->remote_unvalidated = true;
    c->path_received = 0;
    c->path_sent = 0;
    check_start(c, &c->pc[0], from, now);
    /* §9.3.3: challenge the previous path too, so that a peer still there
     * answers on it and takes the connection back. */
    if (quic_addr_equal(&old, &c->validated))
        check_start(c, &c->pc[1], &old, now);
}

/* Before the frames of a packet that may move the peer are processed: the
 * ACK it carries must not already count old-path losses as congestion. */
void quic_path_before_frames(quic_conn *c, bool largest)
{
    if (QUINCE_IS_SERVER(c->is_server) && c->have_rx_from && c->handshake_confirmed && largest &&
        !quic_addr_equal(&c->rx_from, &c->remote))
        quic_recovery_mark_in_flight_probes(&c->rec, SP_APP); /* §9.4 */
}

void quic_path_on_packet(quic_conn *c, bool largest, bool non_probing, uint64_t now)
{
    /* The client follows no address change (§9: servers do not migrate,
     * except to a preferred address the client chose). */
    if (!QUINCE_IS_SERVER(c->is_server) || !c->have_rx_from)
        return;
    if (quic_addr_equal(&c->rx_from, &c->remote)) {
        if (largest)
            c->path_dcid = c->rx_dcid;
        return;
    }
    if (c->handshake_confirmed && non_probing && largest)
        on_peer_address_change(c, &c->rx_from, now);
}

#else
/* Without QUINCE_MIGRATION a server takes packets only from the address the
 * connection started on: it advertised disable_active_migration, and RFC 9000
 * §9 lets it drop what comes from elsewhere (quic_conn_recv does). */
void quic_path_before_frames(quic_conn *c, bool largest)
{
    (void)c;
    (void)largest;
}

void quic_path_on_packet(quic_conn *c, bool largest, bool non_probing, uint64_t now)
{
    (void)non_probing;
    (void)now;
    if (largest && QUINCE_IS_SERVER(c->is_server))
        c->path_dcid = c->rx_dcid;
}
#endif

/* RFC 9000 §8.2.2: answer on the path the challenge came from. */
void quic_path_on_challenge(quic_conn *c, const uint8_t *data)
{
    memcpy(c->path_response, data, QUIC_PATH_CHALLENGE_LEN);
    c->path_response_pending = true;
    c->path_response_to = c->have_rx_from ? c->rx_from : c->remote;
    /* §8.2.1: three times what arrived, on an address we did not validate. */
    c->path_response_budget = 3 * c->rx_len;
}

#if QUINCE_MIGRATION
/* RFC 9000 §8.2.3: a PATH_RESPONSE, from any path, validates the path its
 * challenge went on. */
void quic_path_on_response(quic_conn *c, const uint8_t *data, uint64_t now)
{
    for (int i = 0; i < 2; i++) {
        quic_path_check *pc = &c->pc[i];
        if (!pc->active || memcmp(pc->data, data, QUIC_PATH_CHALLENGE_LEN) != 0)
            continue;
        pc->active = false;
        c->stats.paths_validated++;
        if (!QUINCE_IS_SERVER(c->is_server) && c->pref_state == 2 && i == 0 &&
            quic_addr_equal(&pc->addr, &c->pref_addr)) {
            /* §9.6.1: validated: everything goes to the preferred address now, the
             * next packet non-probing so that the server moves too. */
            bool port_only = same_ip(&pc->addr, &c->remote);
            c->pref_state = 3;
            c->remote = c->validated = pc->addr;
            c->stats.migrations++;
            quic_recovery_mark_in_flight_probes(&c->rec, SP_APP); /* §9.4 */
            if (!port_only)
                reset_path_state(c, now);
            c->ping_pending = true;
            continue;
        }
        if (i == 0 && quic_addr_equal(&pc->addr, &c->remote)) {
            bool port_only = same_ip(&pc->addr, &c->validated);
            c->validated = pc->addr;
            c->remote_unvalidated = false;
            c->pc[1].active = false; /* the old path is not needed any more */
            if (!port_only)
                reset_path_state(c, now);
        }
    }
}

uint64_t quic_path_next_timeout(const quic_conn *c)
{
    uint64_t t = QUIC_TIME_NEVER;
    for (int i = 0; i < 2; i++) {
        const quic_path_check *pc = &c->pc[i];
        if (!pc->active)
            continue;
        if (pc->deadline < t)
            t = pc->deadline;
        if (pc->resend_at < t)
            t = pc->resend_at;
    }
    return t;
}

void quic_path_on_timeout(quic_conn *c, uint64_t now)
{
    for (int i = 0; i < 2; i++) {
        quic_path_check *pc = &c->pc[i];
        if (!pc->active)
            continue;
        if (now >= pc->deadline) {
            pc->active = false;
            c->stats.path_failures++;
            /* §9.3.2: validation of the new address failed: back to the
             * last validated one. */
            if (i == 0 && quic_addr_equal(&pc->addr, &c->remote) && c->remote_unvalidated) {
                c->remote = c->validated;
                c->remote_unvalidated = false;
            }
        } else if (now >= pc->resend_at) {
            /* §9.4: a new challenge, backing off as the PTO does. */
            quince_env_random(c->env, pc->data, sizeof(pc->data));
            pc->send = true;
            pc->resend_at = QUIC_TIME_NEVER;
        }
    }
}

#else
/* We never challenge: a PATH_RESPONSE matches nothing (RFC 9000 §8.2.3). */
void quic_path_on_response(quic_conn *c, const uint8_t *data, uint64_t now)
{
    (void)c;
    (void)data;
    (void)now;
}

uint64_t quic_path_next_timeout(const quic_conn *c)
{
    (void)c;
    return QUIC_TIME_NEVER;
}

void quic_path_on_timeout(quic_conn *c, uint64_t now)
{
    (void)c;
    (void)now;
}
#endif

/* Bytes that may go to the current remote address now (RFC 9000 §9.3.1);
 * SIZE_MAX once it is validated. */
size_t quic_path_send_budget(const quic_conn *c)
{
    if (!c->remote_unvalidated)
        return SIZE_MAX;
    uint64_t budget = 3 * c->path_received;
    return budget > c->path_sent ? (size_t)(budget - c->path_sent) : 0;
}

/* The next datagram that path management needs, with its destination:
 * PATH_RESPONSE (with a PING on the active path, §9.3.3), then the
 * PATH_CHALLENGEs, each padded to 1200 bytes where the amplification limit
 * allows (§8.2.1, §8.2.2). 0 when none. */
int quic_path_send(quic_conn *c, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now)
{
    uint8_t frames[1 + QUIC_PATH_CHALLENGE_LEN + 1];
    size_t budget = SIZE_MAX;
    quic_addr dest;
    quic_path_check *pc = NULL;
    if (c->path_response_pending) {
        frames[0] = QUIC_FT_PATH_RESPONSE;
        memcpy(frames + 1, c->path_response, QUIC_PATH_CHALLENGE_LEN);
        frames[1 + QUIC_PATH_CHALLENGE_LEN] = QUIC_FT_PING;
        dest = c->path_response_to;
        bool active = quic_addr_equal(&dest, &c->remote);
        if (active)
            budget = quic_path_send_budget(c);
        else if (!quic_addr_equal(&dest, &c->validated))
            budget = c->path_response_budget;
        int n = quic_conn_build_path_datagram(c, frames, active ? sizeof(frames) : 9, &dest, budget,
                                              to, buf, cap, now);
        if (n > 0)
            c->path_response_pending = false;
        return n;
    }
#if QUINCE_MIGRATION
    for (int i = 0; i < 2 && pc == NULL; i++)
        if (c->pc[i].active && c->pc[i].send)
            pc = &c->pc[i];
    if (pc == NULL)
        return 0;
    frames[0] = QUIC_FT_PATH_CHALLENGE;
    memcpy(frames + 1, pc->data, QUIC_PATH_CHALLENGE_LEN);
    dest = pc->addr;
    if (quic_addr_equal(&dest, &c->remote))
        budget = quic_path_send_budget(c);
    int n = quic_conn_build_path_datagram(c, frames, 9, &dest, budget, to, buf, cap, now);
    if (n > 0) {
        pc->send = false;
        pc->resend_at = now + pc->interval;
        pc->interval *= 2;
        c->stats.path_challenges_sent++;
    }
    return n;
}
#else
    (void)pc;
    return 0;
}
#endif

#if QUINCE_MIGRATION
/* RFC 9000 §9.2: the client moves to a new local address. */
int quic_conn_migrate(quic_conn *c, const quic_addr *local, uint64_t now)
{
    if (c == NULL || local == NULL)
        return QUIC_ERR_ARGUMENT;
    /* §9: not before the handshake is confirmed, and never when the peer
     * asked us not to (disable_active_migration, §18.2). */
    if (QUINCE_IS_SERVER(c->is_server) || c->state != QUIC_STATE_ESTABLISHED ||
        !c->handshake_confirmed || c->peer_tp.disable_active_migration)
        return QUIC_ERR_ARGUMENT;
    /* §9.5: a new connection ID for the new path. */
    if (!rotate_peer_cid(c))
        return QUIC_ERR_LIMIT;
    bool port_only = same_ip(local, &c->local);
    c->local = *local;
    c->stats.migrations++;
    quic_recovery_mark_in_flight_probes(&c->rec, SP_APP); /* §9.4 */
    if (!port_only)
        reset_path_state(c, now);
    /* A non-probing packet from the new address moves the server (§9.3);
     * a challenge checks that the server is reachable from it. */
    c->ping_pending = true;
    check_start(c, &c->pc[0], &c->remote, now);
    return QUIC_OK;
}

#else
int quic_conn_migrate(quic_conn *c, const quic_addr *local, uint64_t now)
{
    (void)c;
    (void)local;
    (void)now;
    return QUIC_ERR_ARGUMENT; /* left out of the build (QUINCE_MIGRATION) */
}
#endif

/* RFC 9000 §19.2 */
int quic_conn_ping(quic_conn *c)
{
    if (c == NULL || c->state != QUIC_STATE_ESTABLISHED)
        return QUIC_ERR_ARGUMENT;
    c->ping_pending = true;
    quic_conn_wake(c);
    return QUIC_OK;
}

#if QUINCE_MIGRATION
/* RFC 9000 §9.6 */
void quic_path_preferred_start(quic_conn *c, uint64_t now)
{
    if (QUINCE_IS_SERVER(c->is_server) || c->pref_state != 0)
        return;
    c->pref_state = 1;
    const quic_preferred_address *pa = &c->peer_tp.preferred_address;
    if (!c->have_peer_tp || !c->peer_tp.has_preferred_address || c->cfg.ignore_preferred_address ||
        c->pc[0].active || c->pcid[c->pcid_cur].cid.len == 0)
        return;
    static const uint8_t zero[16];
    quic_addr a;
    memset(&a, 0, sizeof(a));
    if (c->remote.family == 4 && memcmp(pa->ipv4, zero, 4) != 0 && pa->ipv4_port != 0) {
        a.family = 4;
        memcpy(a.ip, pa->ipv4, 4);
        a.port = pa->ipv4_port;
    } else if (c->remote.family == 6 && memcmp(pa->ipv6, zero, 16) != 0 && pa->ipv6_port != 0) {
        a.family = 6;
        memcpy(a.ip, pa->ipv6, 16);
        a.port = pa->ipv6_port;
    } else {
        return; /* §9.6: an address of the family we use, or none */
    }
    if (quic_addr_equal(&a, &c->remote))
        return;
    /* §5.1.1: the preferred address's connection ID has sequence number 1. */
    size_t slot = QUIC_MAX_PEER_CIDS;
    for (size_t i = 0; i < QUIC_MAX_PEER_CIDS; i++) {
        if (c->pcid[i].in_use && c->pcid[i].seq == 1)
            return; /* already there: a NEW_CONNECTION_ID for 1 would be a protocol error */
        if (!c->pcid[i].in_use && slot == QUIC_MAX_PEER_CIDS)
            slot = i;
    }
    if (slot == QUIC_MAX_PEER_CIDS)
        return;
    quic_peer_cid *p = &c->pcid[slot];
    p->in_use = true;
    p->seq = 1;
    p->cid = pa->cid;
    memcpy(p->reset_token, pa->reset_token, QUIC_STATELESS_RESET_TOKEN_LEN);
    p->has_token = true;
    /* §9.6.1: packets to the preferred address carry its connection ID; the path we
     * are on may take it too. */
    c->pcid_cur = slot;
    c->pref_addr = a;
    c->pref_state = 2;
    check_start(c, &c->pc[0], &a, now);
}

#else
/* The preferred address is not used (RFC 9000 §9.6: a client need not). */
void quic_path_preferred_start(quic_conn *c, uint64_t now)
{
    (void)c;
    (void)now;
}
#endif

/* RFC 9000 §9 */
const quic_addr *quic_conn_remote(const quic_conn *c)
{
    return c != NULL ? &c->remote : NULL;
}
