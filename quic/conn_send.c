/* QUIC connection, send half: packet assembly, coalescing, padding, protection (RFC 9000 §12-§14,
 * §17). */
#include <string.h>

#include "quic/conn_internal.h"
#include "quic/packet.h"
#include "base/varint.h"

#define TAG_LEN 16

static crypto_level space_level(int space)
{
    return space == SP_INITIAL     ? CRYPTO_LEVEL_INITIAL
           : space == SP_HANDSHAKE ? CRYPTO_LEVEL_HANDSHAKE
                                   : CRYPTO_LEVEL_APP;
}

/* RFC 9001 §4.6.1: a client sends 0-RTT while its early data is offered or
 * accepted and the handshake is not complete. */
static bool use_0rtt(const quic_conn *c)
{
    return QUINCE_RESUMPTION && quic_conn_early_data_ready(c);
}

static bool space_usable(const quic_conn *c, int space)
{
    if (space == SP_APP && use_0rtt(c))
        return !c->sp[space].discarded;
    if (c->sp[space].discarded || !c->have_tx[space_level(space)])
        return false;
    /* A client sends 1-RTT only after completing the handshake (RFC 9001 §4.1.1 / §5.7). */
    if (space == SP_APP && !QUINCE_IS_SERVER(c->is_server) && !c->handshake_complete)
        return false;
    return true;
}

/* RFC 9000 §19.3: an ACK frame from the tracker, with as many ranges as fit (the newest
 * first: the tracker's ranges are largest-first, read in place). */
static bool write_ack(quic_conn *c, int space, quince_writer *w, uint64_t now, uint64_t *largest)
{
    const quic_ack_tracker *t = &c->sp[space].ack;
    const quic_pn_range *r = t->ranges;
    uint64_t delay_us = 0;
    quic_pn_range first;
    if (quic_ack_tracker_build(t, now, &first, 1, &delay_us) == 0)
        return false;
    uint64_t delay = delay_us >> QUIC_OPT_ACK_DELAY_EXPONENT;
    /* RFC 9000 §19.3.2: ACK_ECN once any packet of the space came marked. */
    const uint64_t *ecn = c->sp[space].ecn_rx;
    bool with_ecn = ecn[0] + ecn[1] + ecn[2] > 0;
    size_t ecn_len =
        with_ecn ? quince_varint_len(ecn[0]) + quince_varint_len(ecn[1]) + quince_varint_len(ecn[2])
                 : 0;
    /* Ranges after the first, and their bytes, while the frame fits. */
    size_t fixed = 1 + quince_varint_len(r[0].largest) + quince_varint_len(delay) +
                   quince_varint_len(r[0].largest - r[0].smallest) + ecn_len;
    size_t n = 0, more = 0;
    size_t room = quince_writer_left(w);
    if (fixed + quince_varint_len(0) > room)
        return false;
    /* A reordering path can leave hundreds of ranges: at most half a packet of them, so
     * that data still rides along. */
    if (room > 640)
        room = 640;
    while (n + 1 < t->n_ranges) {
        size_t i = n + 1;
        size_t add = quince_varint_len(r[i - 1].smallest - r[i].largest - 2) +
                     quince_varint_len(r[i].largest - r[i].smallest);
        if (fixed + quince_varint_len(n + 1) + more + add > room)
            break;
        more += add;
        n++;
    }
    n++; /* ranges written, the first included */
    quince_put_varint(w, with_ecn ? QUIC_FT_ACK_ECN : QUIC_FT_ACK);
    quince_put_varint(w, r[0].largest);
    quince_put_varint(w, delay);
    quince_put_varint(w, n - 1);
    quince_put_varint(w, r[0].largest - r[0].smallest);
    for (size_t i = 1; i < n; i++) {
        quince_put_varint(w, r[i - 1].smallest - r[i].largest - 2);
        quince_put_varint(w, r[i].largest - r[i].smallest);
    }
    if (with_ecn) {
        quince_put_varint(w, ecn[0]);
        quince_put_varint(w, ecn[1]);
        quince_put_varint(w, ecn[2]);
    }
    *largest = r[0].largest;
    quic_ack_tracker_on_ack_sent(&c->sp[space].ack);
    c->stats.ack_frames_sent++;
    return !w->overflow;
}

static bool crypto_pending(const quic_conn *c, int space)
{
    const quic_crypto_send *cs = &c->sp[space].csend;
    return cs->sent < cs->data.len || !quic_ranges_empty(&cs->retx);
}

static bool app_pending(const quic_conn *c)
{
    if (c->handshake_done_pending || c->ping_pending || c->n_retire_pending > 0 ||
        (QUINCE_RESUMPTION && c->new_token_pending && c->handshake_complete) ||
        c->dgram_out_head != NULL || c->ack_freq_pending)
        return true;
    for (size_t i = 0; i < QUIC_MAX_LOCAL_CIDS; i++)
        if (c->lcid[i].in_use && c->lcid[i].need_send)
            return true;
    return quic_stream_has_pending(c);
}

static bool has_elicit_data(const quic_conn *c, int space)
{
    if (crypto_pending(c, space))
        return true;
    return space == SP_APP && app_pending(c);
}

static bool ack_due(const quic_conn *c, int space, uint64_t now)
{
    return quic_ack_tracker_should_send(&c->sp[space].ack, now);
}

static void put_rec(quic_frame_rec *recs, size_t *n, quic_frame_rec r)
{
    if (*n < QUIC_OPT_MAX_FRAMES_PER_PACKET)
        recs[(*n)++] = r;
}

/* RFC 9000 §19.6: lost CRYPTO ranges first, then new bytes. */
static void write_crypto(quic_conn *c, int space, quince_writer *w, quic_frame_rec *recs, size_t *n,
                         bool *elic)
{
    quic_crypto_send *cs = &c->sp[space].csend;
    while (!quic_ranges_empty(&cs->retx) && *n < QUIC_OPT_MAX_FRAMES_PER_PACKET) {
        quic_range r = quic_ranges_at(&cs->retx, 0);
        /* Skip what the peer already acknowledged (PTO probes queue everything). */
        for (size_t i = 0; i < quic_ranges_count(&cs->acked); i++) {
            quic_range a = quic_ranges_at(&cs->acked, i);
            if (a.start <= r.start && a.end > r.start)
                r.start = a.end;
            else if (a.start > r.start && a.start < r.end)
                r.end = a.start;
        }
        if (r.start >= r.end) {
            quic_ranges_remove_below(&cs->retx, quic_ranges_at(&cs->retx, 0).end);
            continue;
        }
        size_t fit =
            quic_frame_crypto_fit(quince_writer_left(w), r.start, (size_t)(r.end - r.start));
        if (fit == 0)
            return;
        if (!quic_frame_encode_crypto(w, r.start, cs->data.data + r.start, fit))
            return;
        put_rec(recs, n, (quic_frame_rec){.kind = REC_CRYPTO, .offset = r.start, .len = fit});
        quic_ranges_remove_below(&cs->retx, r.start + fit);
        *elic = true;
    }
    if (cs->sent < cs->data.len && *n < QUIC_OPT_MAX_FRAMES_PER_PACKET) {
        size_t fit = quic_frame_crypto_fit(quince_writer_left(w), cs->sent,
                                           (size_t)(cs->data.len - cs->sent));
        if (fit > 0 && quic_frame_encode_crypto(w, cs->sent, cs->data.data + cs->sent, fit)) {
            put_rec(recs, n, (quic_frame_rec){.kind = REC_CRYPTO, .offset = cs->sent, .len = fit});
            cs->sent += fit;
            *elic = true;
        }
    }
}

#if QUINCE_ACK_FREQUENCY
/* draft-ietf-quic-ack-frequency-12 §4: once the handshake is confirmed, ask
 * a peer that takes it (min_ack_delay) for one ACK per cfg.ack_frequency
 * ack-eliciting packets, within our default max_ack_delay, with our packet
 * threshold as its reordering threshold (§9). */
static void write_ack_frequency(quic_conn *c, quince_writer *w, quic_frame_rec *recs, size_t *n,
                                bool *elic, uint64_t now)
{
    if (!c->ack_freq_asked && c->cfg.ack_frequency > 0 && c->have_peer_tp &&
        c->peer_tp.has_min_ack_delay && c->handshake_confirmed) {
        c->ack_freq_asked = true;
        c->ack_freq_pending = true;
    }
    if (!c->ack_freq_pending || quince_writer_left(w) < 40 || *n >= QUIC_OPT_MAX_FRAMES_PER_PACKET)
        return;
    uint64_t delay = QUIC_OPT_MAX_ACK_DELAY_MS * 1000;
    if (delay < c->peer_tp.min_ack_delay)
        delay = c->peer_tp.min_ack_delay;
    quic_frame f = {.type = QUIC_FT_ACK_FREQUENCY};
    f.u.ack_frequency.seq = c->ack_freq_tx_seq;
    f.u.ack_frequency.threshold = c->cfg.ack_frequency;
    f.u.ack_frequency.max_ack_delay_us = delay;
    f.u.ack_frequency.reordering = c->rec.packet_threshold;
    if (!quic_frame_encode(w, &f))
        return;
    put_rec(recs, n, (quic_frame_rec){.kind = REC_ACK_FREQUENCY, .id = c->ack_freq_tx_seq});
    c->ack_freq_tx_seq++;
    c->ack_freq_pending = false;
    quic_recovery_set_max_ack_delay(&c->rec, delay, now);
    *elic = true;
}
#endif

static void write_app_control(quic_conn *c, quince_writer *w, quic_frame_rec *recs, size_t *n,
                              bool *elic)
{
    if (QUINCE_IS_SERVER(c->is_server) && c->handshake_done_pending && quince_writer_left(w) >= 1 &&
        *n < QUIC_OPT_MAX_FRAMES_PER_PACKET) {
        quince_put_varint(w, QUIC_FT_HANDSHAKE_DONE);
        put_rec(recs, n, (quic_frame_rec){.kind = REC_HANDSHAKE_DONE});
        c->handshake_done_pending = false;
        *elic = true;
    }
    /* RFC 9000 §19.7, §8.1.3 */
    if (QUINCE_RESUMPTION && QUINCE_IS_SERVER(c->is_server) && c->new_token_pending &&
        c->handshake_complete && quince_writer_left(w) >= 2 + c->new_token_len &&
        *n < QUIC_OPT_MAX_FRAMES_PER_PACKET) {
        quic_frame f = {.type = QUIC_FT_NEW_TOKEN};
        f.u.new_token.token = c->new_token;
        f.u.new_token.length = c->new_token_len;
        if (quic_frame_encode(w, &f)) {
            put_rec(recs, n, (quic_frame_rec){.kind = REC_NEW_TOKEN});
            c->new_token_pending = false;
            *elic = true;
        }
    }
    if (c->ping_pending && quince_writer_left(w) >= 1) {
        /* RFC 9000 §9.2: a non-probing frame from a new local address. */
        quince_put_varint(w, QUIC_FT_PING);
        c->ping_pending = false;
        *elic = true;
    }
    for (size_t i = 0; i < QUIC_MAX_LOCAL_CIDS; i++) {
        quic_local_cid *l = &c->lcid[i];
        if (!l->in_use || !l->need_send || quince_writer_left(w) < 48 ||
            *n >= QUIC_OPT_MAX_FRAMES_PER_PACKET)
            continue;
        /* RFC 9000 §19.15 */
        quince_put_varint(w, QUIC_FT_NEW_CONNECTION_ID);
        quince_put_varint(w, l->seq);
        quince_put_varint(w, 0);
        quince_put_u8(w, l->cid.len);
        quince_put_bytes(w, l->cid.bytes, l->cid.len);
        quince_put_bytes(w, l->reset_token, QUIC_STATELESS_RESET_TOKEN_LEN);
        put_rec(recs, n, (quic_frame_rec){.kind = REC_NEW_CID, .id = l->seq});
        l->need_send = false;
        *elic = true;
    }
    while (c->n_retire_pending > 0 && quince_writer_left(w) >= 9 &&
           *n < QUIC_OPT_MAX_FRAMES_PER_PACKET) {
        uint64_t seq = c->retire_pending[--c->n_retire_pending];
        quince_put_varint(w, QUIC_FT_RETIRE_CONNECTION_ID); /* RFC 9000 §19.16 */
        quince_put_varint(w, seq);
        put_rec(recs, n, (quic_frame_rec){.kind = REC_RETIRE_CID, .id = seq});
        *elic = true;
    }
}

/* RFC 9221 §4: DATAGRAM frames are not retransmitted. */
static void write_datagrams(quic_conn *c, quince_writer *w, bool *elic)
{
    while (c->dgram_out_head != NULL) {
        quic_dgram *d = c->dgram_out_head;
        size_t need = 1 + quince_varint_len(d->len) + d->len;
        /* One that the PLPMTU no longer carries (a black hole shrank it)
         * is dropped, as RFC 9221 §5 allows, instead of blocking the rest. */
        bool fits = d->len <= quic_conn_max_datagram_payload(c);
        if (fits && need > quince_writer_left(w))
            return;
        if (fits) {
            quince_put_varint(w, QUIC_FT_DATAGRAM_LEN);
            quince_put_varint(w, d->len);
            quince_put_bytes(w, d->data, d->len);
            *elic = true;
        }
        c->dgram_out_head = d->next;
        if (c->dgram_out_head == NULL)
            c->dgram_out_tail = NULL;
        c->dgram_out_count--;
        quince_budget_release(&c->mem, quic_dgram_cost(d->len));
        quince_env_free(c->env, d);
    }
}

/* RFC 9000 §19.19: CONNECTION_CLOSE; an application close outside 1-RTT
 * becomes a transport APPLICATION_ERROR without reason (§10.2.3). */
static void write_close(quic_conn *c, int space, quince_writer *w)
{
    bool app = c->close_is_app && space == SP_APP;
    uint64_t code = c->close_is_app && !app ? QUIC_TE_APPLICATION_ERROR : c->close_code;
    const char *reason = c->close_is_app && !app ? "" : c->close_reason;
    size_t rl = strlen(reason);
    quince_put_varint(w, app ? QUIC_FT_CONNECTION_CLOSE_APP : QUIC_FT_CONNECTION_CLOSE);
    quince_put_varint(w, code);
    if (!app)
        quince_put_varint(w, c->close_is_app ? 0 : c->close_frame_type);
    quince_put_varint(w, rl);
    quince_put_bytes(w, reason, rl);
}

typedef struct pkt_plan {
    bool pad; /* pad the datagram to 1200 in this packet */
    /* A probe (RFC 9000 §8.2, §14.4): just these frames, padded to pad_to;
     * pmtu: a PMTU probe of pad_to bytes. Exempt from congestion reaction. */
    const uint8_t *frames;
    size_t frames_len;
    uint32_t pad_to;
    bool pmtu;
    bool elic_ok; /* congestion window and pacer allow ack-eliciting data */
    bool closing; /* write CONNECTION_CLOSE only */
    const uint8_t *dgram_start;
} pkt_plan;

/* Build one packet of space at buf (cap bytes), its frame records in recs
 * (QUIC_OPT_MAX_FRAMES_PER_PACKET). Returns its size, 0 if nothing to send. */
static size_t build_packet_recs(quic_conn *c, int space, uint8_t *buf, size_t cap,
                                const pkt_plan *pl, uint64_t now, quic_frame_rec *recs)
{
    quic_space *sp = &c->sp[space];
    bool early = space == SP_APP && use_0rtt(c);
    crypto_level level = early ? CRYPTO_LEVEL_EARLY : space_level(space);
    if (cap < 64)
        return 0;
    quince_writer w = quince_writer_init(buf, cap - TAG_LEN);
    uint64_t pn = sp->next_pn, la;
    size_t pn_len =
        quic_pn_encode_len(pn, quic_recovery_largest_acked(&c->rec, space, &la) ? la : UINT64_MAX);
    /* RFC 9000 §17.1 sets the least; the peer decodes against the largest number it has
     * received, which the packets sent after this one can carry more than 127 past it on a
     * reordering path (through bench/lossy-relay with 2 ms of jitter, 1-byte numbers made
     * quince-client drop 2% of the packets as duplicates or undecryptable). */
    if (space == SP_APP && pn_len < 2)
        pn_len = 2;
    const quic_cid_value *dcid = &c->pcid[c->pcid_cur].cid;
    quic_pkt_builder b;
    bool ok;
    if (early) /* RFC 9000 §17.2.3 */
        ok = quic_pkt_build_long(&w, &b, QUIC_PKT_0RTT, c->orig_version, dcid->bytes, dcid->len,
                                 c->initial_scid.bytes, c->initial_scid.len, NULL, 0, pn, pn_len);
    else if (space == SP_APP)
        ok = quic_pkt_build_short(&w, &b, dcid->bytes, dcid->len, pn, pn_len, false, c->key_phase);
    else
        ok =
            quic_pkt_build_long(&w, &b, space == SP_INITIAL ? QUIC_PKT_INITIAL : QUIC_PKT_HANDSHAKE,
                                c->version, dcid->bytes, dcid->len, c->initial_scid.bytes,
                                c->initial_scid.len, space == SP_INITIAL ? c->token : NULL,
                                space == SP_INITIAL ? c->token_len : 0, pn, pn_len);
    if (!ok)
        return 0;
    uint8_t *payload = w.p;
    size_t n = 0;
    bool elic = false;
    if (pl->closing) {
        write_close(c, space, &w);
    } else if (pl->frames != NULL) {
        quince_put_bytes(&w, pl->frames, pl->frames_len);
        elic = true;
    } else {
        uint64_t largest;
        /* RFC 9000 §12.5: 0-RTT carries no ACK, CRYPTO or connection-ID frames. */
        if (!early && quic_ack_tracker_has_unacked(&sp->ack) &&
            (ack_due(c, space, now) || (pl->elic_ok && has_elicit_data(c, space)) ||
             sp->probes > 0) &&
            write_ack(c, space, &w, now, &largest))
            put_rec(recs, &n, (quic_frame_rec){.kind = REC_ACK, .id = largest});
        if (pl->elic_ok || sp->probes > 0) {
            if (space == SP_APP && !early) {
                write_app_control(c, &w, recs, &n, &elic);
#if QUINCE_ACK_FREQUENCY
                write_ack_frequency(c, &w, recs, &n, &elic, now);
#endif
            }
            if (!early)
                write_crypto(c, space, &w, recs, &n, &elic);
            if (space == SP_APP) {
                quic_stream_write_frames(c, &w, recs, &n, QUIC_OPT_MAX_FRAMES_PER_PACKET, &elic);
                write_datagrams(c, &w, &elic);
            }
        }
        if (sp->probes > 0 && !elic && quince_writer_left(&w) > 0) {
            quince_put_varint(&w, QUIC_FT_PING);
            elic = true;
        }
    }
    bool empty = w.p == payload;
    if (empty && !pl->pad)
        return 0;
    bool padded = false;
    if (pl->pad || pl->pad_to > 0) {
        size_t before = (size_t)(w.p - buf);
        quic_pkt_pad_to(&w, pl->dgram_start, pl->pad ? QUIC_MIN_INITIAL_DATAGRAM : pl->pad_to,
                        TAG_LEN);
        padded = (size_t)(w.p - buf) > before;
    }
    if (!quic_pkt_finish(&w, &b, TAG_LEN) || w.overflow)
        return 0;
    size_t pn_offset = (size_t)(b.pn_at - b.start);
    size_t payload_len = (size_t)(w.p - b.pn_at) - b.pn_len;
    quic_qlog_packet(c, true,
                     early                 ? QUIC_PKT_0RTT
                     : space == SP_APP     ? QUIC_PKT_1RTT
                     : space == SP_INITIAL ? QUIC_PKT_INITIAL
                                           : QUIC_PKT_HANDSHAKE,
                     pn, (size_t)(w.p - buf) + TAG_LEN, b.pn_at + b.pn_len, payload_len, now);
    int total = crypto_pp_protect(&c->tx[level], buf, cap, pn_offset, pn, payload_len);
    if (total < 0)
        return 0;
    sp->next_pn++;
    c->stats.packets_sent++;
    if (early) {
        c->sent_0rtt = true;
        c->largest_0rtt_pn = pn;
        quic_stream_mark_early(c, recs, n);
    }
    if (pl->closing)
        return (size_t)total;
    quic_sent_rec *rec = NULL;
    if (n > 0) {
        rec = quince_env_alloc(c->env, sizeof(*rec) + n * sizeof(quic_frame_rec));
        if (rec == NULL) {
            quic_conn_set_error(c, QUIC_TE_INTERNAL_ERROR, 0, "out of memory");
            return (size_t)total;
        }
        rec->space = (uint8_t)space;
        rec->n = (uint8_t)n;
        memcpy(rec->f, recs, n * sizeof(quic_frame_rec));
    }
    bool in_flight = elic || padded;
    /* RFC 9000 §13.4.2: a 1-RTT packet that starts its datagram is marked. */
    bool ecn =
        space == SP_APP && !early && buf == pl->dgram_start && quic_recovery_ecn_marking(&c->rec);
    quic_recovery_set_ecn_next(&c->rec, ecn);
    if (buf == pl->dgram_start)
        c->dgram_ecn = ecn;
    int err = quic_recovery_on_packet_sent(&c->rec, space, pn, (uint32_t)total, elic, in_flight,
                                           (uint64_t)(uintptr_t)rec, now);
    if (err == 0 && pl->frames != NULL) {
        quic_recovery_mark_probe(&c->rec, space, pn);
        if (pl->pmtu)
            quic_pmtud_on_probe_sent(&c->pmtud, pn, (uint32_t)total);
    }
    if (err != 0) {
        /* Not tracked: treat its frames as lost at once. */
        quic_sent_packet p = {.pn = pn, .handle = (uint64_t)(uintptr_t)rec};
        quic_conn_on_packet_cb(c, space, QUIC_RECOVERY_LOST, &p);
    }
    quic_qlog_metrics(c, now);
    if (elic) {
        if (sp->probes > 0)
            sp->probes--;
        else
            quic_pacer_on_sent(&c->pacer, quic_cc_pacing_window(&c->cc),
                               quic_recovery_rtt(&c->rec)->smoothed_rtt, (uint64_t)total, now);
        /* RFC 9000 §10.1: the first ack-eliciting packet after receiving restarts the timer. */
        if (!c->ack_eliciting_sent_since_recv && c->idle_timeout > 0) {
            uint64_t pto3 = 3 * quic_conn_pto(c);
            c->idle_deadline = now + (c->idle_timeout > pto3 ? c->idle_timeout : pto3);
            c->ack_eliciting_sent_since_recv = true;
        }
    }
    if (space == SP_APP)
        c->packets_in_phase++;
    return (size_t)total;
}

/* The frame records on the heap: 48 of them (1.5 KB) would put this frame over the 1 KB
 * of stack a core function may take (tests/stack/check_stack.py). They stay allocated
 * (c->tx_recs) while the connection keeps sending, so that a burst of packets costs one
 * allocation rather than one per packet; quic_conn_send frees them once nothing is due. */
static size_t build_packet(quic_conn *c, int space, uint8_t *buf, size_t cap, const pkt_plan *pl,
                           uint64_t now)
{
    if (c->tx_recs == NULL) {
        c->tx_recs =
            quince_env_alloc(c->env, QUIC_OPT_MAX_FRAMES_PER_PACKET * sizeof(quic_frame_rec));
        if (c->tx_recs == NULL)
            return 0;
    }
    return build_packet_recs(c, space, buf, cap, pl, now, c->tx_recs);
}

/* Nothing more to send for now: give the frame-record scratch back. */
static int send_done(quic_conn *c, int n)
{
    if (n <= 0) {
        quince_env_free(c->env, c->tx_recs);
        c->tx_recs = NULL;
    }
    return n;
}

int quic_conn_build_datagram(quic_conn *c, uint8_t *buf, size_t cap, uint64_t now)
{
    pkt_plan pl = {.dgram_start = buf};
    bool want[SP_COUNT] = {false, false, false};
    int last = -1;
    if (c->state == QUIC_STATE_CLOSING) {
        pl.closing = true;
        for (int s = 0; s < SP_COUNT; s++) {
            /* RFC 9000 §10.2.3: in every space the peer may be able to read. */
            want[s] = !c->sp[s].discarded && c->have_tx[space_level(s)] &&
                      (s != SP_APP || c->handshake_complete || QUINCE_IS_SERVER(c->is_server));
            if (s == SP_INITIAL && want[s] && QUINCE_IS_SERVER(c->is_server) &&
                c->have_tx[CRYPTO_LEVEL_HANDSHAKE] && c->address_validated)
                want[s] = false;
            if (want[s])
                last = s;
        }
    } else {
        /* RFC 9001 §6.6: update well before the confidentiality limit. */
        uint64_t every = c->cfg.key_update_after_packets;
        uint64_t limit = crypto_pp_confidentiality_limit(c->tx[CRYPTO_LEVEL_APP].aead_alg);
        if (c->have_tx[CRYPTO_LEVEL_APP] && limit != UINT64_MAX &&
            (every == 0 || every > limit / 2))
            every = limit / 2;
        if (every > 0 && c->packets_in_phase >= every)
            (void)quic_conn_key_update(c); /* refused while the last one is unacknowledged */
        bool probe = c->sp[0].probes + c->sp[1].probes + c->sp[2].probes > 0;
        pl.elic_ok = probe || quic_cc_bytes_in_flight(&c->cc) < quic_cc_cwnd(&c->cc);
        if (pl.elic_ok && !probe) {
            uint64_t t =
                quic_pacer_next_send_time(&c->pacer, quic_cc_pacing_window(&c->cc),
                                          quic_recovery_rtt(&c->rec)->smoothed_rtt, cap, now);
            if (t > now) {
                pl.elic_ok = false;
                c->pacer_wait = t;
            }
        }
        /* RFC 9002 §7.8: with room in the window and nothing to send, the
         * window must not grow from what is acknowledged meanwhile. */
        if (space_usable(c, SP_APP)) {
            bool limited = pl.elic_ok && !has_elicit_data(c, SP_APP);
            if (limited != c->cc.app_limited)
                quic_cc_set_app_limited(&c->cc, limited, now);
        }
        for (int s = 0; s < SP_COUNT; s++) {
            if (!space_usable(c, s))
                continue;
            want[s] =
                ack_due(c, s, now) || c->sp[s].probes > 0 || (pl.elic_ok && has_elicit_data(c, s));
            if (want[s])
                last = s;
        }
    }
    if (last < 0)
        return 0;
    bool pad =
        want[SP_INITIAL] && (!QUINCE_IS_SERVER(c->is_server) || crypto_pending(c, SP_INITIAL) ||
                             c->sp[SP_INITIAL].probes > 0 || pl.closing);
    if (pad && cap < QUIC_MIN_INITIAL_DATAGRAM)
        return 0;
    size_t off = 0;
    bool sent_handshake = false;
    for (int s = 0; s <= last; s++) {
        if (!want[s])
            continue;
        pl.pad = pad && s == last;
        size_t k = build_packet(c, s, buf + off, cap - off, &pl, now);
        if (k == 0 && pl.pad && off > 0) {
            /* The last packet had nothing after all: pad with a PING-less packet of
             * the same space is impossible, so coalesce padding into nothing. */
            break;
        }
        off += k;
        if (s == SP_HANDSHAKE && k > 0)
            sent_handshake = true;
    }
    if (pl.closing)
        c->close_pending = false;
    /* RFC 9001 §4.9.1: a client drops Initial keys when it first sends a Handshake packet. */
    if (sent_handshake && !QUINCE_IS_SERVER(c->is_server))
        quic_conn_discard_space(c, SP_INITIAL, now);
    return (int)off;
}

/* RFC 8899 §4.1, RFC 9000 §14.4: a PMTU probe, when one is due and the
 * congestion window and pacer have room for it. Returns its size or 0. */
static int send_pmtu_probe(quic_conn *c, uint8_t *buf, size_t cap, uint64_t now)
{
    uint32_t size = quic_pmtud_probe_size(&c->pmtud, now);
    if (size == 0 || size > cap || c->state != QUIC_STATE_ESTABLISHED || !c->handshake_confirmed ||
        !space_usable(c, SP_APP) || c->sp[SP_APP].probes > 0 || !c->address_validated ||
        c->remote_unvalidated)
        return 0;
    if (!quic_cc_can_send(&c->cc, size))
        return 0;
    uint64_t t = quic_pacer_next_send_time(&c->pacer, quic_cc_cwnd(&c->cc),
                                           quic_recovery_rtt(&c->rec)->smoothed_rtt, size, now);
    if (t > now)
        return 0;
    static const uint8_t ping[1] = {QUIC_FT_PING}; /* RFC 9000 §14.4: PING and PADDING */
    pkt_plan pl = {.frames = ping,
                   .frames_len = sizeof(ping),
                   .pad_to = size,
                   .pmtu = true,
                   .elic_ok = true,
                   .dgram_start = buf};
    uint32_t old = quic_pmtud_current(&c->pmtud);
    quic_pmtud_state st = c->pmtud.state;
    size_t n = build_packet(c, SP_APP, buf, size, &pl, now);
    if (n > 0)
        quic_conn_pmtud_update(c, old, st, now);
    return (int)n;
}

/* A path probe (quic/path.c): frames in a 1-RTT packet of its own to dest,
 * padded to 1200 bytes or as far as budget allows (RFC 9000 §8.2.1). */
int quic_conn_build_path_datagram(quic_conn *c, const uint8_t *frames, size_t len,
                                  const quic_addr *dest, size_t budget, quic_addr *to, uint8_t *buf,
                                  size_t cap, uint64_t now)
{
    if (c->state != QUIC_STATE_ESTABLISHED || !space_usable(c, SP_APP))
        return 0;
    size_t size = QUIC_MIN_INITIAL_DATAGRAM;
    if (budget < size)
        size = budget;
    if (cap < size)
        size = cap;
    if (size < 64)
        return 0;
    pkt_plan pl = {.frames = frames,
                   .frames_len = len,
                   .pad_to = (uint32_t)size,
                   .elic_ok = true,
                   .dgram_start = buf};
    size_t n = build_packet(c, SP_APP, buf, size, &pl, now);
    if (n > 0 && to != NULL)
        *to = *dest;
    return (int)n;
}

static void count_sent(quic_conn *c, const quic_addr *to, int n)
{
    c->bytes_sent += (uint64_t)n;
    c->stats.bytes_sent += (uint64_t)n;
    if (c->remote_unvalidated && quic_addr_equal(to, &c->remote))
        c->path_sent += (uint64_t)n;
}

/*
 * The send entry point: the next UDP payload into buf, 0 when nothing is due. Packets of
 * each space with keys are built and coalesced (RFC 9000 §12.2): ACKs (§13.2), CRYPTO,
 * then stream and control frames (§13.3), within the congestion window and pacing (RFC
 * 9002 §7), the anti-amplification limit (§8.1) and PTO probes (RFC 9002 §6.2.4); each
 * packet is protected (RFC 9001 §5) and handed to recovery. Start reading here.
 */
int quic_conn_send(quic_conn *c, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now)
{
    if (c == NULL || buf == NULL)
        return QUIC_ERR_ARGUMENT;
    if (now > c->last_now)
        c->last_now = now;
    if (to != NULL)
        *to = c->remote;
    quince_qlog_set_now(c->qlog, now);
    if (c->state == QUIC_STATE_CLOSED || c->state == QUIC_STATE_DRAINING)
        return send_done(c, 0);
    if (c->state == QUIC_STATE_CLOSING && !c->close_pending)
        return send_done(c, 0);
    if (c->state == QUIC_STATE_ESTABLISHED) {
        quic_addr dest;
        int n = quic_path_send(c, &dest, buf, cap, now);
        if (n > 0) {
            count_sent(c, &dest, n);
            if (to != NULL)
                *to = dest;
            return n;
        }
        n = send_pmtu_probe(c, buf, cap, now);
        if (n > 0) {
            count_sent(c, &c->remote, n);
            return n;
        }
    }
    uint32_t plpmtu = quic_pmtud_current(&c->pmtud);
    size_t limit = cap < plpmtu ? cap : (size_t)plpmtu;
    size_t path_budget = quic_path_send_budget(c);
    if (path_budget < limit) {
        /* RFC 9000 §9.3.1: three times what came from an unvalidated address. */
        if (path_budget < 64)
            return send_done(c, 0);
        limit = path_budget;
    }
    if (QUINCE_IS_SERVER(c->is_server) && !c->address_validated) {
        /* RFC 9000 §8.1: three times what the client sent. */
        uint64_t budget = 3 * c->bytes_received;
        uint64_t left = budget > c->bytes_sent ? budget - c->bytes_sent : 0;
        if (left < limit)
            limit = (size_t)left;
        if (limit < 64) {
            quic_recovery_set_amplification_limited(&c->rec, true, now);
            return send_done(c, 0);
        }
    }
    int n = quic_conn_build_datagram(c, buf, limit, now);
    if (n > 0)
        count_sent(c, &c->remote, n);
    return send_done(c, n);
}

/* RFC 9114 §5.2: a graceful shutdown closes once what was sent is acknowledged. */
bool quic_conn_is_idle(const quic_conn *c)
{
    if (c == NULL || c->state != QUIC_STATE_ESTABLISHED)
        return true;
    return !app_pending(c) && !crypto_pending(c, SP_APP) &&
           quic_recovery_ack_eliciting_in_flight(&c->rec) == 0;
}
