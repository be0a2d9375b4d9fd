/* QUIC connection, receive half: datagrams, packet unprotection, frames (RFC 9000 §12-§13, §19). */
#include <string.h>

#include "quic/conn_internal.h"
#include "quic/packet.h"

static int level_space(crypto_level l)
{
    return l == CRYPTO_LEVEL_INITIAL     ? SP_INITIAL
           : l == CRYPTO_LEVEL_HANDSHAKE ? SP_HANDSHAKE
                                         : SP_APP;
}

/* RFC 9000 §19.3: an ACK frame into recovery, every range of it. A peer's ACK can
 * carry more ranges than our own tracker keeps (Quince's receiver sends as many as fit
 * in 640 bytes): those past the inline array are copied to the heap for this call.
 * Dropping them, as this did, left their packets unacknowledged until the time
 * threshold declared them lost: spurious losses, retransmissions, congestion events
 * to undo, and a send buffer held by their bytes (bench/README.md "Long ACK frames"). */
static int on_ack(quic_conn *c, int space, const quic_frame_ack *a, uint64_t now)
{
    quic_pn_range inline_ranges[QUIC_ACK_TRACKER_MAX_RANGES];
    quic_pn_range *ranges = inline_ranges;
    size_t cap = QUIC_ACK_TRACKER_MAX_RANGES;
    /* Decoding validated range_count against the frame's bytes (two or more a pair). */
    if (a->range_count >= cap && a->range_count <= a->ranges_len / 2) {
        size_t want = (size_t)a->range_count + 1;
        quic_pn_range *big = quince_env_alloc(c->env, want * sizeof(*big));
        if (big != NULL) { /* else the first ranges only, as before */
            ranges = big;
            cap = want;
        }
    }
    size_t n = 0;
    quic_ack_iter it;
    quic_ack_iter_init(&it, a);
    quic_ack_range r;
    while (n < cap && quic_ack_iter_next(&it, &r)) {
        ranges[n].smallest = r.smallest;
        ranges[n].largest = r.largest;
        n++;
    }
    uint64_t exp = c->have_peer_tp ? c->peer_tp.ack_delay_exponent : 3;
    quic_recovery_ack ack = {.ranges = ranges,
                             .n_ranges = n,
                             .ack_delay = space == SP_APP ? (a->ack_delay << exp) : 0,
                             .has_ecn = a->ecn,
                             .ecn_ect0 = a->ect0,
                             .ecn_ect1 = a->ect1,
                             .ecn_ce = a->ce};
    int err = quic_recovery_on_ack_received(&c->rec, space, &ack, now);
    if (ranges != inline_ranges)
        quince_env_free(c->env, ranges);
    c->stats.packets_lost_spurious = c->rec.stats.spurious;
    c->stats.congestion_events = c->cc.congestion_events;
    c->stats.congestion_events_undone = c->cc.undone;
    c->stats.ecn_ce_reported = c->rec.ecn_ce[SP_APP];
    c->stats.ecn_failed = c->rec.ecn_failed;
    quic_qlog_metrics(c, now);
    if (err == QUIC_RECOVERY_ERR_ACK_UNSENT || err == QUIC_RECOVERY_ERR_BAD_RANGES)
        return QUIC_ERR_PROTOCOL_VIOLATION;
    return QUIC_OK;
}

#if QUINCE_ACK_FREQUENCY
/* draft-ietf-quic-ack-frequency-12 §4: newer requests only; a max_ack_delay
 * below our min_ack_delay or of 2^14 ms or more is a PROTOCOL_VIOLATION. */
static int on_ack_frequency(quic_conn *c, const quic_frame *f)
{
    uint64_t seq = f->u.ack_frequency.seq, delay = f->u.ack_frequency.max_ack_delay_us;
    if (delay < QUIC_OPT_MIN_ACK_DELAY_US || delay >= (UINT64_C(1) << 14) * 1000)
        return QUIC_ERR_PROTOCOL_VIOLATION;
    if (c->ack_freq_rx_any && seq <= c->ack_freq_rx_seq)
        return QUIC_OK;
    c->ack_freq_rx_any = true;
    c->ack_freq_rx_seq = seq;
    quic_ack_tracker_set_frequency(&c->sp[SP_APP].ack, f->u.ack_frequency.threshold, delay,
                                   f->u.ack_frequency.reordering);
    return QUIC_OK;
}
#endif

/* RFC 9000 §19.6, RFC 9001 §4.1.3: CRYPTO data in order to TLS. */
static int on_crypto(quic_conn *c, int space, const quic_frame *f, uint64_t now)
{
    quic_space *sp = &c->sp[space];
    /* RFC 9002 §6.2.3: a client Initial with CRYPTO data we already have says
     * the client did not get our Initial flight (or its RTT estimate is too
     * small): resend our unacknowledged Initial and Handshake CRYPTO data now
     * rather than at the PTO, which backs off to seconds on a lossy path, a
     * limited number of times (the amplification limit still applies). */
    if (QUINCE_IS_SERVER(c->is_server) && space == SP_INITIAL && f->u.crypto.length > 0 &&
        f->u.crypto.offset + f->u.crypto.length <= sp->crecv.read_offset &&
        c->crypto_speedups < QUIC_OPT_CRYPTO_SPEEDUPS) {
        c->crypto_speedups++;
        for (int s = SP_INITIAL; s <= SP_HANDSHAKE; s++) {
            quic_crypto_send *cs = &c->sp[s].csend;
            if (!c->sp[s].discarded && cs->sent > 0)
                quic_ranges_add(&cs->retx, 0, cs->sent);
        }
    }
    int err = quic_stream_buf_write(&sp->crecv, f->u.crypto.offset, f->u.crypto.data,
                                    (size_t)f->u.crypto.length, false);
    if (err == QUIC_ERR_LIMIT)
        return QUIC_ERR_CRYPTO_BUFFER_EXCEEDED;
    if (err == QUIC_ERR_NOMEM)
        return QUIC_ERR_INTERNAL_ERROR;
    if (err == QUIC_ERR_BUDGET)
        c->rx_hold = true; /* RFC 9000 §21.7: the peer sends these bytes again */
    else if (err != QUIC_OK)
        return err;
    crypto_level level = space == SP_INITIAL     ? CRYPTO_LEVEL_INITIAL
                         : space == SP_HANDSHAKE ? CRYPTO_LEVEL_HANDSHAKE
                                                 : CRYPTO_LEVEL_APP;
    size_t avail;
    const uint8_t *p;
    while ((p = quic_stream_buf_peek(&sp->crecv, &avail)) != NULL && avail > 0) {
        int terr = crypto_tls_recv(c->tls, level, p, avail);
        quic_stream_buf_consume(&sp->crecv, avail);
        if (terr != 0) {
            if (quic_err_is_transport(c->error))
                return c->error; /* TRANSPORT_PARAMETER_ERROR, VERSION_NEGOTIATION_ERROR */
            if (terr == CRYPTO_ERR_QUIC_PROTOCOL_VIOLATION)
                return QUIC_ERR_PROTOCOL_VIOLATION; /* RFC 9001 §8.4 */
            return QUIC_ERR_TRANSPORT(QUIC_TE_CRYPTO_ERROR_BASE + crypto_tls_alert(c->tls));
        }
        if (sp->discarded)
            break;
    }
    quic_conn_check_handshake(c, now);
    return QUIC_OK;
}

/* RFC 9000 §19.15 */
static int on_new_cid(quic_conn *c, const quic_frame *f)
{
    if (c->pcid[0].cid.len == 0 && c->pcid[0].in_use)
        return QUIC_ERR_PROTOCOL_VIOLATION; /* the peer uses zero-length CIDs (§7.2) */
    uint64_t seq = f->u.new_cid.seq, rpt = f->u.new_cid.retire_prior_to;
    if (rpt > seq)
        return QUIC_ERR_FRAME_ENCODING;
    if (rpt > c->pcid_retire_prior_to) {
        c->pcid_retire_prior_to = rpt;
        for (size_t i = 0; i < QUIC_MAX_PEER_CIDS; i++) {
            quic_peer_cid *p = &c->pcid[i];
            if (p->in_use && p->seq < rpt) {
                p->in_use = false;
                if (c->n_retire_pending < QUIC_MAX_RETIRE_PENDING)
                    c->retire_pending[c->n_retire_pending++] = p->seq;
            }
        }
    }
    if (seq < c->pcid_retire_prior_to) {
        if (c->n_retire_pending < QUIC_MAX_RETIRE_PENDING)
            c->retire_pending[c->n_retire_pending++] = seq;
        return QUIC_OK;
    }
    size_t active = 0, free_slot = QUIC_MAX_PEER_CIDS;
    for (size_t i = 0; i < QUIC_MAX_PEER_CIDS; i++) {
        quic_peer_cid *p = &c->pcid[i];
        if (p->in_use) {
            if (p->seq == seq) {
                if (p->cid.len != f->u.new_cid.cid_len ||
                    memcmp(p->cid.bytes, f->u.new_cid.cid, p->cid.len) != 0)
                    return QUIC_ERR_PROTOCOL_VIOLATION;
                return QUIC_OK;
            }
            active++;
        } else if (free_slot == QUIC_MAX_PEER_CIDS) {
            free_slot = i;
        }
    }
    if (active >= c->cfg.active_connection_id_limit || free_slot == QUIC_MAX_PEER_CIDS)
        return QUIC_ERR_CONNECTION_ID_LIMIT;
    quic_peer_cid *p = &c->pcid[free_slot];
    p->in_use = true;
    p->seq = seq;
    p->cid.len = f->u.new_cid.cid_len;
    memcpy(p->cid.bytes, f->u.new_cid.cid, p->cid.len);
    memcpy(p->reset_token, f->u.new_cid.reset_token, QUIC_STATELESS_RESET_TOKEN_LEN);
    p->has_token = true;
    /* The current one was retired: move to the newest. */
    if (!c->pcid[c->pcid_cur].in_use) {
        for (size_t i = 0; i < QUIC_MAX_PEER_CIDS; i++)
            if (c->pcid[i].in_use)
                c->pcid_cur = i;
    }
    return QUIC_OK;
}

/* RFC 9000 §19.16 */
static int on_retire_cid(quic_conn *c, uint64_t seq, const quic_cid_value *dcid)
{
    if (seq >= c->lcid_next_seq)
        return QUIC_ERR_PROTOCOL_VIOLATION;
    for (size_t i = 0; i < QUIC_MAX_LOCAL_CIDS; i++) {
        quic_local_cid *l = &c->lcid[i];
        if (!l->in_use || l->seq != seq)
            continue;
        if (l->cid.len == dcid->len && memcmp(l->cid.bytes, dcid->bytes, dcid->len) == 0)
            return QUIC_ERR_PROTOCOL_VIOLATION; /* the CID of the packet itself */
        l->in_use = false;
        l->need_send = false;
        if (c->ep != NULL)
            quic_endpoint_on_cid(c->ep, c, &l->cid, false);
        quic_conn_issue_cid(c, true);
        return QUIC_OK;
    }
    return QUIC_OK;
}

/* RFC 9221 §5 */
static int on_datagram(quic_conn *c, const quic_frame *f)
{
    if (c->cfg.max_datagram_frame_size == 0)
        return QUIC_ERR_PROTOCOL_VIOLATION;
    if (f->u.datagram.length + 3 > c->cfg.max_datagram_frame_size)
        return QUIC_ERR_PROTOCOL_VIOLATION;
    size_t cost = quic_dgram_cost((size_t)f->u.datagram.length);
    if (c->dgram_in_count >= c->cfg.max_datagram_queue || !quince_budget_charge(&c->mem, cost))
        return QUIC_OK; /* §5: a receiver may drop DATAGRAMs */
    quic_dgram *d = quince_env_alloc(c->env, sizeof(*d) + (size_t)f->u.datagram.length);
    if (d == NULL) {
        quince_budget_release(&c->mem, cost);
        return QUIC_OK;
    }
    d->next = NULL;
    d->len = (size_t)f->u.datagram.length;
    if (d->len > 0)
        memcpy(d->data, f->u.datagram.data, d->len);
    if (c->dgram_in_tail != NULL)
        c->dgram_in_tail->next = d;
    else
        c->dgram_in_head = d;
    c->dgram_in_tail = d;
    c->dgram_in_count++;
    quic_event ev = {.type = QUIC_EVENT_DATAGRAM};
    quic_conn_event(c, &ev);
    return QUIC_OK;
}

int quic_conn_process_frames(quic_conn *c, int space, quic_pkt_type type, const uint8_t *p,
                             size_t len, bool *elic, uint64_t now)
{
    quic_cid_value dcid = c->rx_dcid;
    size_t off = 0;
    *elic = false;
    c->rx_non_probing = false;
    c->rx_0rtt = type == QUIC_PKT_0RTT;
    if (len == 0)
        return QUIC_ERR_PROTOCOL_VIOLATION; /* §12.4: a packet with no frames */
    while (off < len) {
        quic_frame f;
        int n = quic_frame_decode(p + off, len - off, type, &f);
        if (n < 0) {
            c->close_frame_type = f.type;
            return n == QUIC_ERR_ARGUMENT ? QUIC_ERR_FRAME_ENCODING : n;
        }
        off += (size_t)n;
        if (quic_frame_is_ack_eliciting(f.type))
            *elic = true;
        /* RFC 9000 §9.1: all but these are non-probing frames. */
        if (f.type != QUIC_FT_PADDING && f.type != QUIC_FT_PATH_CHALLENGE &&
            f.type != QUIC_FT_PATH_RESPONSE && f.type != QUIC_FT_NEW_CONNECTION_ID)
            c->rx_non_probing = true;
        int err = QUIC_OK;
        uint64_t t = f.type;
        if (t >= QUIC_FT_STREAM && t <= 0x0f) {
            err = quic_stream_on_frame(c, &f, now);
        } else {
            switch (t) {
            case QUIC_FT_PADDING:
            case QUIC_FT_PING:
                break;
            case QUIC_FT_ACK:
            case QUIC_FT_ACK_ECN:
                err = on_ack(c, space, &f.u.ack, now);
                break;
            case QUIC_FT_CRYPTO:
                err = on_crypto(c, space, &f, now);
                break;
            case QUIC_FT_NEW_TOKEN: /* §19.7, §8.1.3 */
                if (QUINCE_IS_SERVER(c->is_server))
                    err = QUIC_ERR_PROTOCOL_VIOLATION;
                else if (c->cfg.on_new_token != NULL)
                    c->cfg.on_new_token(c->cfg.new_token_user, f.u.new_token.token,
                                        (size_t)f.u.new_token.length);
                break;
            case QUIC_FT_RESET_STREAM_AT:
                /* reliable-stream-reset-10 §3: only if we offered it; otherwise
                 * an unknown frame type (RFC 9000 §12.4). */
                err = c->cfg.reset_stream_at ? quic_stream_on_frame(c, &f, now)
                                             : QUIC_ERR_FRAME_ENCODING;
                break;
            case QUIC_FT_RESET_STREAM:
            case QUIC_FT_STOP_SENDING:
            case QUIC_FT_MAX_DATA:
            case QUIC_FT_MAX_STREAM_DATA:
            case QUIC_FT_MAX_STREAMS_BIDI:
            case QUIC_FT_MAX_STREAMS_UNI:
            case QUIC_FT_DATA_BLOCKED:
            case QUIC_FT_STREAM_DATA_BLOCKED:
            case QUIC_FT_STREAMS_BLOCKED_BIDI:
            case QUIC_FT_STREAMS_BLOCKED_UNI:
                err = quic_stream_on_frame(c, &f, now);
                break;
            case QUIC_FT_NEW_CONNECTION_ID:
                err = on_new_cid(c, &f);
                break;
            case QUIC_FT_RETIRE_CONNECTION_ID:
                err = on_retire_cid(c, f.u.retire_cid.seq, &dcid);
                break;
            case QUIC_FT_PATH_CHALLENGE: /* RFC 9000 §8.2.2 */
                quic_path_on_challenge(c, f.u.path.data);
                break;
            case QUIC_FT_PATH_RESPONSE: /* RFC 9000 §8.2.3 */
                quic_path_on_response(c, f.u.path.data, now);
                break;
            case QUIC_FT_CONNECTION_CLOSE:
            case QUIC_FT_CONNECTION_CLOSE_APP: /* RFC 9000 §10.2.2 */
                quic_conn_enter_draining(c, f.u.close.error_code, t == QUIC_FT_CONNECTION_CLOSE_APP,
                                         f.u.close.reason, (size_t)f.u.close.reason_len, now);
                return QUIC_OK;
            case QUIC_FT_HANDSHAKE_DONE: /* RFC 9000 §19.20 */
                if (QUINCE_IS_SERVER(c->is_server))
                    err = QUIC_ERR_PROTOCOL_VIOLATION;
                else
                    quic_conn_on_handshake_done_frame(c, now);
                break;
            case QUIC_FT_DATAGRAM:
            case QUIC_FT_DATAGRAM_LEN:
                err = on_datagram(c, &f);
                break;
#if QUINCE_ACK_FREQUENCY /* without it min_ack_delay is not sent: both are unknown frames */
            case QUIC_FT_IMMEDIATE_ACK: /* draft-ietf-quic-ack-frequency-12 §5 */
                c->rx_immediate_ack = true;
                break;
            case QUIC_FT_ACK_FREQUENCY:
                err = on_ack_frequency(c, &f);
                break;
#endif
            default:
                err = QUIC_ERR_FRAME_ENCODING;
                break;
            }
        }
        if (err != QUIC_OK) {
            c->close_frame_type = t;
            return err;
        }
        if (c->state >= QUIC_STATE_CLOSING)
            return QUIC_OK;
    }
    return QUIC_OK;
}

static bool dcid_is_ours(const quic_conn *c, const quic_pkt_header *h)
{
    for (size_t i = 0; i < QUIC_MAX_LOCAL_CIDS; i++) {
        const quic_local_cid *l = &c->lcid[i];
        if (l->in_use && l->cid.len == h->dcid_len &&
            memcmp(l->cid.bytes, h->dcid, h->dcid_len) == 0)
            return true;
    }
    /* A server may see the client's chosen DCID until the client switches (§7.2). */
    if (QUINCE_IS_SERVER(c->is_server) && h->type != QUIC_PKT_1RTT && h->dcid_len >= 8)
        return true;
    return false;
}

/* RFC 9000 §10.3.1: does the datagram end in a token the peer gave us? */
static bool is_stateless_reset(quic_conn *c, const uint8_t *data, size_t len)
{
    const uint8_t *tok = quic_pkt_stateless_reset_token(data, len);
    if (tok == NULL)
        return false;
    for (size_t i = 0; i < QUIC_MAX_PEER_CIDS; i++)
        if (c->pcid[i].in_use && c->pcid[i].has_token &&
            quic_token_equal(tok, c->pcid[i].reset_token))
            return true;
    return false;
}

/* RFC 9000 §17.2.5.2: a client's only Retry. */
static void on_retry(quic_conn *c, const quic_pkt_header *h, const uint8_t *pkt, uint64_t now)
{
    if (QUINCE_IS_SERVER(c->is_server) || c->retried || c->have_peer_scid || h->token_len == 0)
        return;
    if (crypto_retry_verify(c->env, c->version, c->original_dcid.bytes, c->original_dcid.len, pkt,
                            h->packet_len) != 0)
        return;
    uint8_t *tok = quince_env_alloc(c->env, h->token_len);
    if (tok == NULL)
        return;
    memcpy(tok, h->token, h->token_len);
    quince_env_free(c->env, c->token);
    c->token = tok;
    c->token_len = h->token_len;
    c->retried = true;
    c->retry_scid.len = h->scid_len;
    memcpy(c->retry_scid.bytes, h->scid, h->scid_len);
    c->pcid[0].cid = c->retry_scid;
    if (quic_conn_set_initial_keys(c, &c->retry_scid) != QUIC_OK) {
        quic_conn_set_error(c, QUIC_TE_INTERNAL_ERROR, 0, "retry keys");
        return;
    }
    quic_recovery_on_retry(&c->rec, now);
    quic_conn_init_cc(c);
}

/* RFC 9000 §6.2: a client's Version Negotiation. */
static void on_vn(quic_conn *c, const quic_pkt_header *h, uint64_t now)
{
    if (QUINCE_IS_SERVER(c->is_server) || c->have_peer_scid || c->retried)
        return;
    for (size_t i = 0; i < h->version_count; i++)
        if (quic_pkt_vn_version(h, i) == c->version)
            return; /* §6.2: ignore one that lists our version */
    quic_conn_enter_draining(c, QUIC_TE_NO_ERROR, false, (const uint8_t *)"version negotiation", 19,
                             now);
    c->state = QUIC_STATE_CLOSED;
}

/* The buffer a packet of len bytes is unprotected in, allocated on first use;
 * NULL when len is more than we take. What we advertise (max_udp_payload_size,
 * the PMTUD ceiling) a peer may send: a connection configured above the default
 * takes packets that large. */
uint8_t *quic_conn_rx_buffer(quic_conn *c, size_t len)
{
    size_t rx_cap = c->cfg.max_udp_payload > QUIC_OPT_RX_PACKET_BUFFER ? c->cfg.max_udp_payload
                                                                        : QUIC_OPT_RX_PACKET_BUFFER;
    if (len > rx_cap)
        return NULL;
    if (c->rxbuf == NULL)
        c->rxbuf = quince_env_alloc(c->env, rx_cap);
    return c->rxbuf;
}

/* RFC 9001 §5, §6: unprotect one packet into c->rxbuf. Returns payload length or < 0 to drop. */
static int unprotect(quic_conn *c, const quic_pkt_header *h, crypto_level level, int space,
                     crypto_pp *keys, size_t *hdr_len, uint64_t *pn, crypto_pp **used)
{
    uint8_t *pkt = c->rxbuf;
    size_t len = h->packet_len;
    crypto_pp *pp = keys != NULL ? keys : &c->rx[level];
    int hl = crypto_pp_remove_hp(pp, pkt, len, h->pn_offset);
    if (hl < 0)
        return -1;
    *hdr_len = (size_t)hl;
    size_t pn_len = quic_pkt_pn_len(pkt[0]);
    uint64_t trunc = quic_pkt_read_pn(pkt + h->pn_offset, pn_len);
    const quic_ack_tracker *at = &c->sp[space].ack;
    *pn = quic_pn_decode(at->has_largest ? at->largest : UINT64_MAX, trunc, pn_len * 8);
    *used = pp;
    if (level == CRYPTO_LEVEL_APP) {
        bool phase = (pkt[0] & QUIC_HDR_KEY_PHASE) != 0;
        if (phase != c->rx_phase) {
            if (c->have_rx_prev && *pn < c->rx_phase_first_pn)
                *used = &c->rx_prev;
            else
                *used = &c->rx_next;
        }
    }
    int n = crypto_pp_open_payload(*used, pkt, *hdr_len, len, *pn);
    return n < 0 ? -1 : n;
}

/* RFC 9001 §6.2, §6.3: a packet opened with the next phase's keys. */
static int rotate_rx(quic_conn *c, uint64_t pn, uint64_t now)
{
    crypto_pp_clear(&c->rx_prev, c->env);
    c->rx_prev = c->rx[CRYPTO_LEVEL_APP];
    c->have_rx_prev = true;
    /* RFC 9001 §6.5: old keys are kept about three PTOs for reordered packets. */
    c->rx_prev_until = now + 3 * quic_conn_pto(c);
    c->rx[CRYPTO_LEVEL_APP] = c->rx_next;
    memset(&c->rx_next, 0, sizeof(c->rx_next));
    if (crypto_pp_next(&c->rx_next, &c->rx[CRYPTO_LEVEL_APP], c->env) != 0)
        return QUIC_ERR_INTERNAL_ERROR;
    c->rx_phase = !c->rx_phase;
    c->rx_phase_first_pn = pn;
    if (c->key_phase != c->rx_phase) {
        /* The peer initiated: answer with our own update (§6.2), even before
         * HANDSHAKE_DONE arrived (the peer had confirmed the handshake). */
        crypto_pp next;
        memset(&next, 0, sizeof(next));
        if (crypto_pp_next(&next, &c->tx[CRYPTO_LEVEL_APP], c->env) != 0)
            return QUIC_ERR_INTERNAL_ERROR;
        crypto_pp_clear(&c->tx[CRYPTO_LEVEL_APP], c->env);
        c->tx[CRYPTO_LEVEL_APP] = next;
        c->key_phase = c->rx_phase;
        c->key_update_first_pn = c->sp[SP_APP].next_pn;
        c->packets_in_phase = 0;
        c->stats.key_updates++;
        quic_qlog_key_updated(c, CRYPTO_LEVEL_APP, true, c->stats.key_updates, "remote_update",
                              now);
    }
    quic_qlog_key_updated(c, CRYPTO_LEVEL_APP, false, c->stats.key_updates, "remote_update", now);
    return QUIC_OK;
}

#define PKT_EARLY 2

/* One packet of a datagram. Returns 1 if processed, 0 if dropped, PKT_EARLY if it came before
 * its keys, < 0 fatal. */
static int process_packet(quic_conn *c, const uint8_t *data, const quic_pkt_header *h, uint64_t now)
{
    crypto_level level;
    switch (h->type) {
    case QUIC_PKT_INITIAL:
        level = CRYPTO_LEVEL_INITIAL;
        break;
    case QUIC_PKT_HANDSHAKE:
        level = CRYPTO_LEVEL_HANDSHAKE;
        break;
    case QUIC_PKT_1RTT:
        level = CRYPTO_LEVEL_APP;
        break;
    case QUIC_PKT_0RTT: /* RFC 9001 §4.6.1: only a server takes them */
        if (!QUINCE_IS_SERVER(c->is_server))
            return 0;
        level = CRYPTO_LEVEL_EARLY;
        break;
    case QUIC_PKT_RETRY:
        on_retry(c, h, data, now);
        return 0;
    case QUIC_PKT_VERSION_NEGOTIATION:
        on_vn(c, h, now);
        return 0;
    default:
        return 0;
    }
    crypto_pp *orig_rx = NULL; /* RFC 9368: Initial keys of the original version */
    if (h->type != QUIC_PKT_1RTT && h->version != c->version &&
        quic_version_on_packet(c, h, data, &orig_rx) != 1)
        return 0;
    if (!dcid_is_ours(c, h))
        return 0;
    int space = level_space(level);
    if (c->sp[space].discarded)
        return 0;
    /* 0-RTT before the ClientHello is read waits; once TLS refused it, it is dropped. */
    if (level == CRYPTO_LEVEL_EARLY && !c->have_rx[level])
        return crypto_tls_early_data(c->tls) == CRYPTO_EARLY_NONE &&
                       !c->have_rx[CRYPTO_LEVEL_HANDSHAKE]
                   ? PKT_EARLY
                   : 0;
    /* RFC 9001 §5.7: a server processes 1-RTT only after the handshake completed. */
    if (!c->have_rx[level] ||
        (level == CRYPTO_LEVEL_APP && QUINCE_IS_SERVER(c->is_server) && !c->handshake_complete))
        return PKT_EARLY;
    /* A token appearing only in later Initials is not the client's (§17.2.2). */
    if (h->type == QUIC_PKT_INITIAL && QUINCE_IS_SERVER(c->is_server) && h->token_len > 0 &&
        !c->retried && !c->initial_token_seen)
        return 0;
    if (quic_conn_rx_buffer(c, h->packet_len) == NULL)
        return 0;
    if (c->have_rx_prev && now > c->rx_prev_until) {
        crypto_pp_clear(&c->rx_prev, c->env);
        c->have_rx_prev = false;
    }
    memcpy(c->rxbuf, data, h->packet_len);
    size_t hdr_len;
    uint64_t pn;
    crypto_pp *used;
    int n = unprotect(c, h, level, space, orig_rx, &hdr_len, &pn, &used);
    if (n < 0) {
        /* RFC 9001 §6.6: too many forgeries end the connection. */
        if (level == CRYPTO_LEVEL_APP &&
            ++c->aead_failures >= crypto_pp_integrity_limit(c->rx[level].aead_alg)) {
            c->close_frame_type = 0;
            return QUIC_ERR_AEAD_LIMIT_REACHED;
        }
        quic_qlog_packet_dropped(c, h->type, h->packet_len, "decryption_failure", now);
        return 0;
    }
    if (quic_pkt_check_reserved_bits(c->rxbuf[0]) != QUIC_OK) {
        c->close_frame_type = 0;
        return QUIC_ERR_PROTOCOL_VIOLATION; /* RFC 9000 §17.2, §17.3.1 */
    }
    if (quic_ack_tracker_is_duplicate(&c->sp[space].ack, pn)) {
        quic_qlog_packet_dropped(c, h->type, h->packet_len, "duplicate", now);
        return 0;
    }
    if (used == &c->rx_next) {
        int err = rotate_rx(c, pn, now);
        if (err != QUIC_OK)
            return err;
    }
    /* RFC 9000 §7.2: the client takes the server's SCID as its DCID. */
    if (!QUINCE_IS_SERVER(c->is_server) && !c->have_peer_scid && h->type != QUIC_PKT_1RTT) {
        c->pcid[0].cid.len = h->scid_len;
        memcpy(c->pcid[0].cid.bytes, h->scid, h->scid_len);
        c->peer_initial_scid = c->pcid[0].cid;
        c->have_peer_scid = true;
    }
    c->rx_dcid.len = h->dcid_len;
    memcpy(c->rx_dcid.bytes, h->dcid, h->dcid_len);
    quic_qlog_packet(c, false, h->type, pn, h->packet_len, c->rxbuf + hdr_len, (size_t)n, now);
    bool elic = false;
    const quic_ack_tracker *at = &c->sp[space].ack;
    bool largest = !at->has_largest || pn > at->largest;
    if (space == SP_APP)
        quic_path_before_frames(c, largest);
    c->rx_hold = false;
    c->rx_immediate_ack = false;
    int err =
        quic_conn_process_frames(c, space, h->type, c->rxbuf + hdr_len, (size_t)n, &elic, now);
    if (err != QUIC_OK)
        return err;
    if (space == SP_APP && c->state < QUIC_STATE_CLOSING)
        quic_path_on_packet(c, largest, c->rx_non_probing, now);
    c->stats.packets_received++;
    if (elic)
        c->stats.ack_eliciting_received++;
    /* RFC 9000 §21.7: bytes the budget could not hold; every frame survives a second copy,
     * so the peer's retransmission of this packet's frames is harmless. */
    if (c->rx_hold) {
        c->stats.packets_held++;
    } else if (!c->sp[space].discarded) {
        /* RFC 9000 §13.4.1: count the codepoint of every processed packet. */
        uint8_t ecn = c->rx_ecn & 3;
        if (ecn != QUIC_ECN_NOT_ECT)
            c->sp[space].ecn_rx[ecn == QUIC_ECN_ECT0 ? 0 : ecn == QUIC_ECN_ECT1 ? 1 : 2]++;
        if (ecn == QUIC_ECN_CE)
            c->stats.ecn_ce_received++;
        quic_ack_tracker_on_packet_received(&c->sp[space].ack, pn, elic, ecn == QUIC_ECN_CE, now);
        if (c->rx_immediate_ack)
            quic_ack_tracker_ack_now(&c->sp[space].ack);
    }
    c->rx_immediate_ack = false;
    /* RFC 9001 §4.9.1: a server drops Initial keys on its first Handshake packet. */
    if (QUINCE_IS_SERVER(c->is_server) && h->type == QUIC_PKT_HANDSHAKE) {
        c->address_validated = true; /* RFC 9000 §8.1 */
        quic_conn_discard_space(c, SP_INITIAL, now);
    }
    /* RFC 9000 §10.1: a processed packet restarts the idle timer. */
    if (c->idle_timeout > 0) {
        uint64_t pto3 = 3 * quic_conn_pto(c);
        c->idle_deadline = now + (c->idle_timeout > pto3 ? c->idle_timeout : pto3);
    }
    c->ack_eliciting_sent_since_recv = false;
    return 1;
}

/* RFC 9001 §4.1.4, RFC 9000 §5.7: keep a packet whose keys are not there yet, within
 * QUIC_OPT_EARLY_PACKETS / QUIC_OPT_EARLY_BYTES; false when it must be dropped. */
static bool early_keep(quic_conn *c, const uint8_t *data, size_t len)
{
    if (c->early_count == QUIC_OPT_EARLY_PACKETS || len > QUIC_OPT_EARLY_BYTES - c->early_bytes)
        return false;
    uint8_t *copy = quince_env_alloc(c->env, len);
    if (copy == NULL)
        return false;
    memcpy(copy, data, len);
    c->early[c->early_count].data = copy;
    c->early[c->early_count].len = len;
    c->early[c->early_count].ecn = c->rx_ecn;
    c->early_count++;
    c->early_bytes += len;
    return true;
}

void quic_conn_early_free(quic_conn *c)
{
    for (size_t i = 0; i < c->early_count; i++)
        quince_env_free(c->env, c->early[i].data);
    c->early_count = 0;
    c->early_bytes = 0;
}

/* Process kept packets whose keys arrived since, oldest first, until none moves. */
static int early_retry(quic_conn *c, uint64_t now)
{
    quic_pkt_parse_opts po = {.short_dcid_len = c->cfg.cid_len};
    bool progress = true;
    while (progress && c->early_count > 0 && c->state < QUIC_STATE_CLOSING) {
        progress = false;
        for (size_t i = 0; i < c->early_count; i++) {
            uint8_t *d = c->early[i].data;
            size_t len = c->early[i].len;
            uint8_t ecn = c->rx_ecn;
            c->rx_ecn = c->early[i].ecn;
            quic_pkt_header h;
            int r = 0;
            if (quic_pkt_parse_header(d, len, &po, &h) == QUIC_OK && h.packet_len == len)
                r = process_packet(c, d, &h, now);
            c->rx_ecn = ecn;
            if (r == PKT_EARLY)
                continue;
            /* Processed, dropped or fatal: it leaves the buffer. */
            memmove(&c->early[i], &c->early[i + 1], (c->early_count - i - 1) * sizeof(c->early[0]));
            c->early_count--;
            c->early_bytes -= len;
            quince_env_free(c->env, d);
            if (r < 0)
                return r;
            if (r == 0)
                c->stats.packets_dropped++;
            progress = true;
            break;
        }
    }
    return QUIC_OK;
}

static int recv_datagram(quic_conn *c, const quic_addr *from, const uint8_t *data, size_t len,
                         uint8_t ecn, uint64_t now)
{
    c->have_rx_from = from != NULL;
    if (from != NULL)
        c->rx_from = *from;
    c->rx_len = len;
    c->rx_ecn = ecn & 3;
    if (now > c->last_now)
        c->last_now = now;
    quince_qlog_set_now(c->qlog, now);
    c->stats.bytes_received += len;
    if (c->state == QUIC_STATE_CLOSED || c->state == QUIC_STATE_DRAINING)
        return QUIC_OK;
    if (c->state == QUIC_STATE_CLOSING) {
        /* RFC 9000 §10.2.1: answer with CONNECTION_CLOSE, sparingly. */
        if (c->close_resend_budget > 0) {
            c->close_resend_budget--;
            c->close_pending = true;
        }
        return QUIC_OK;
    }
#if !QUINCE_MIGRATION
    /* RFC 9000 §9: a server that sent disable_active_migration may drop what
     * comes from another address; without migration in the build it does. */
    if (QUINCE_IS_SERVER(c->is_server) && from != NULL && !quic_addr_equal(from, &c->remote)) {
        c->stats.packets_dropped++;
        return QUIC_OK;
    }
#endif
    c->bytes_received += len;
    quic_pkt_parse_opts po = {.short_dcid_len = c->cfg.cid_len};
    size_t off = 0;
    int processed = 0;
    bool kept = false;
    while (off < len) {
        quic_pkt_header h;
        if (quic_pkt_parse_header(data + off, len - off, &po, &h) != QUIC_OK)
            break;
        int r = process_packet(c, data + off, &h, now);
        if (r < 0) {
            quic_conn_set_error(c, quic_err_transport_code(r), c->close_frame_type, NULL);
            return r;
        }
        if (r == PKT_EARLY) {
            kept = true;
            if (early_keep(c, data + off, h.packet_len)) {
                c->stats.packets_buffered++;
            } else {
                c->stats.packets_dropped++;
                quic_qlog_packet_dropped(c, h.type, h.packet_len, "keys_unavailable", now);
            }
        } else if (r == 0) {
            c->stats.packets_dropped++;
        } else {
            processed++;
        }
        if (c->state >= QUIC_STATE_CLOSING)
            break;
        off += h.packet_len;
    }
    if (processed > 0 && c->early_count > 0) {
        int r = early_retry(c, now);
        if (r < 0) {
            quic_conn_set_error(c, quic_err_transport_code(r), c->close_frame_type, NULL);
            return r;
        }
    }
    if (processed == 0 && !kept && c->state < QUIC_STATE_CLOSING &&
        is_stateless_reset(c, data, len)) {
        c->stats.stateless_resets++;
        quic_conn_enter_draining(c, QUIC_TE_NO_ERROR, false, (const uint8_t *)"stateless reset", 15,
                                 now);
    }
    /* RFC 9002 Appendix A.6: a datagram that unblocks a server at its anti-amplification
     * limit re-arms the PTO; set_timer arms none while the limit holds. The datagram that
     * validates the address (a Handshake packet, §8.1) unblocks it too: testing
     * !address_validated after processing it left the limit set for the rest of the
     * connection, with no PTO ever again (a server that met the limit in a lossy
     * handshake then waited for the client's probes at every tail loss: a 2 MB download
     * through 30% loss took 86-100 s instead of ~18 s). */
    if (QUINCE_IS_SERVER(c->is_server) && c->rec.at_amplification_limit)
        quic_recovery_set_amplification_limited(&c->rec, false, now);
    /* RFC 9000 §9.3.1: what the unvalidated address sent buys three times as much. */
    if (c->remote_unvalidated && from != NULL && quic_addr_equal(from, &c->remote))
        c->path_received += len;
    return QUIC_OK;
}

/*
 * The receive entry point: one UDP payload from the socket (RFC 9000 §12.2, coalesced packets).
 * Each packet's header is parsed (§17), its protection removed (RFC 9001 §5.4, §5.3), its
 * frames processed (§12.4, quic_conn_process_frames) and its number acknowledged later
 * (§13.2); packets that came before their keys wait (RFC 9001 §5.7). Start reading here.
 */
int quic_conn_recv(quic_conn *c, const quic_addr *from, const uint8_t *data, size_t len,
                   uint64_t now)
{
    return quic_conn_recv_ecn(c, from, data, len, QUIC_ECN_NOT_ECT, now);
}

/* RFC 9000 §13.4 */
uint8_t quic_conn_ecn(const quic_conn *c)
{
    return c != NULL && c->dgram_ecn ? QUIC_ECN_ECT0 : QUIC_ECN_NOT_ECT;
}

/* RFC 9000 §13.4.1: quic_conn_recv with the datagram's ECN codepoint, counted per space. */
int quic_conn_recv_ecn(quic_conn *c, const quic_addr *from, const uint8_t *data, size_t len,
                       uint8_t ecn, uint64_t now)
{
    if (c == NULL || data == NULL)
        return QUIC_ERR_ARGUMENT;
    int rc = recv_datagram(c, from, data, len, ecn, now);
    /* The packet scratch lives for one datagram: an idle connection holds none. (Keeping it
     * while packets were in flight made mbedTLS handshakes at 5,000 live connections cost
     * 1.5-1.7x those at 10, against 1.1x without: bench/README.md, fifth pass.) */
    quince_env_free(c->env, c->rxbuf);
    c->rxbuf = NULL;
    return rc;
}
