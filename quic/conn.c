/* QUIC connection: creation, TLS glue, keys, timers, closing and events (RFC 9000 §5-§10, RFC 9001
 * §4). */
#include <stdio.h>
#include <string.h>

#include "crypto/backend.h"
#include "quic/conn_internal.h"
#include "quic/packet.h"

static int space_of_level(crypto_level level)
{
    switch (level) {
    case CRYPTO_LEVEL_INITIAL:
        return SP_INITIAL;
    case CRYPTO_LEVEL_HANDSHAKE:
        return SP_HANDSHAKE;
    default:
        return SP_APP;
    }
}

static void config_defaults(quic_config *c)
{
#define DEF(f, v)                                                                                  \
    if (c->f == 0)                                                                                 \
    c->f = (v)
    DEF(version, QUIC_VERSION_1);
    DEF(max_idle_timeout_ms, QUIC_OPT_MAX_IDLE_TIMEOUT_MS);
    DEF(initial_max_data, QUIC_OPT_INITIAL_MAX_DATA);
    DEF(initial_max_stream_data_bidi_local, QUIC_OPT_INITIAL_MAX_STREAM_DATA);
    DEF(initial_max_stream_data_bidi_remote, QUIC_OPT_INITIAL_MAX_STREAM_DATA);
    DEF(initial_max_stream_data_uni, QUIC_OPT_INITIAL_MAX_STREAM_DATA);
    DEF(initial_max_streams_bidi, QUIC_OPT_INITIAL_MAX_STREAMS_BIDI);
    DEF(initial_max_streams_uni, QUIC_OPT_INITIAL_MAX_STREAMS_UNI);
    DEF(active_connection_id_limit, QUIC_OPT_ACTIVE_CONNECTION_ID_LIMIT);
    DEF(max_crypto_buffer, QUIC_OPT_MAX_CRYPTO_BUFFER);
    DEF(max_stream_buffer, QUIC_OPT_MAX_STREAM_SEND_BUFFER);
    DEF(max_datagram_queue, QUIC_OPT_MAX_DATAGRAM_QUEUE);
    DEF(max_ack_ranges, QUIC_OPT_MAX_ACK_RANGES);
    DEF(max_udp_payload, QUIC_OPT_MAX_UDP_PAYLOAD);
    DEF(max_conn_memory, QUIC_OPT_MAX_CONN_MEMORY);
    DEF(key_update_after_packets, QUIC_OPT_KEY_UPDATE_INTERVAL);
#undef DEF
    if (c->max_udp_payload < QUIC_MIN_INITIAL_DATAGRAM)
        c->max_udp_payload = QUIC_MIN_INITIAL_DATAGRAM;
    if (c->max_udp_payload > QUIC_MAX_UDP_PAYLOAD)
        c->max_udp_payload = QUIC_MAX_UDP_PAYLOAD;
    if (c->active_connection_id_limit > QUIC_MAX_PEER_CIDS)
        c->active_connection_id_limit = QUIC_MAX_PEER_CIDS;
    if (c->active_connection_id_limit < 2)
        c->active_connection_id_limit = 2;
    if (c->cid_len > QUIC_MAX_CID_LEN || (c->cid_len == 0 && !c->zero_length_cid))
        c->cid_len = QUIC_OPT_CID_LEN;
    if (c->zero_length_cid && !QUINCE_IS_SERVER(c->is_server))
        c->cid_len = 0;
}

void quic_conn_event(quic_conn *c, const quic_event *ev)
{
    if (c->ev_count == c->ev_cap) {
        if (c->ev_cap >= QUIC_OPT_MAX_EVENTS && ev->type != QUIC_EVENT_CLOSED)
            return; /* the application is not polling: it learns the state by reading */
        size_t ncap = c->ev_cap ? c->ev_cap * 2 : 4;
        quic_event *n = quince_env_alloc(c->env, ncap * sizeof(*n));
        if (n == NULL)
            return;
        for (size_t i = 0; i < c->ev_count; i++)
            n[i] = c->events[(c->ev_head + i) % c->ev_cap];
        quince_env_free(c->env, c->events);
        c->events = n;
        c->ev_cap = ncap;
        c->ev_head = 0;
    }
    c->events[(c->ev_head + c->ev_count) % c->ev_cap] = *ev;
    c->ev_count++;
}

/* (no RFC section) */
bool quic_conn_poll_event(quic_conn *c, quic_event *ev)
{
    if (c == NULL || ev == NULL)
        return false;
    if (c->dgram_in_hold != NULL) {
        quince_env_free(c->env, c->dgram_in_hold);
        c->dgram_in_hold = NULL;
        quince_budget_release(&c->mem, c->dgram_in_hold_cost);
        quic_streams_on_budget_release(c);
    }
    if (c->ev_count == 0) {
        /* Drained: an idle connection keeps no event queue. */
        quince_env_free(c->env, c->events);
        c->events = NULL;
        c->ev_cap = 0;
        c->ev_head = 0;
        return false;
    }
    *ev = c->events[c->ev_head];
    c->ev_head = (c->ev_head + 1) % c->ev_cap;
    c->ev_count--;
    if (ev->type == QUIC_EVENT_DATAGRAM) {
        quic_dgram *d = c->dgram_in_head;
        if (d == NULL)
            return quic_conn_poll_event(c, ev);
        c->dgram_in_head = d->next;
        if (c->dgram_in_head == NULL)
            c->dgram_in_tail = NULL;
        c->dgram_in_count--;
        c->dgram_in_hold = (uint8_t *)d;
        c->dgram_in_hold_cost = quic_dgram_cost(d->len);
        ev->data = d->data;
        ev->len = d->len;
    } else if (ev->type == QUIC_EVENT_CLOSED) {
        ev->data = (const uint8_t *)c->close_reason;
        ev->len = strlen(c->close_reason);
    }
    return true;
}

uint64_t quic_conn_pto(const quic_conn *c)
{
    return quic_recovery_pto_period(&c->rec);
}

static void enter_closed_event(quic_conn *c, uint64_t code, bool is_app, bool by_peer)
{
    quic_event ev = {
        .type = QUIC_EVENT_CLOSED, .error_code = code, .is_app = is_app, .by_peer = by_peer};
    quic_conn_event(c, &ev);
    bool idle = strcmp(c->close_reason, "idle timeout") == 0;
    quic_qlog_closed(c, by_peer, is_app, code, c->close_reason,
                     idle        ? "idle_timeout"
                     : code == 0 ? "clean"
                                 : "error",
                     c->last_now);
    quic_qlog_state(c,
                    c->state == QUIC_STATE_CLOSING    ? "closing"
                    : c->state == QUIC_STATE_DRAINING ? "draining"
                                                      : "closed",
                    c->last_now);
}

/* RFC 9000 §10.2.1: enter the closing state and send CONNECTION_CLOSE. */
static void start_closing(quic_conn *c, uint64_t code, bool is_app, uint64_t frame_type,
                          const char *reason, uint64_t now)
{
    if (c->state >= QUIC_STATE_CLOSING)
        return;
    c->state = QUIC_STATE_CLOSING;
    c->close_pending = true;
    c->close_is_app = is_app;
    c->close_code = code;
    c->close_frame_type = frame_type;
    size_t n = reason != NULL ? strlen(reason) : 0;
    if (n >= sizeof(c->close_reason))
        n = sizeof(c->close_reason) - 1;
    memcpy(c->close_reason, reason != NULL ? reason : "", n);
    c->close_reason[n] = 0;
    c->close_deadline = now + 3 * quic_conn_pto(c);
    c->close_resend_budget = 8;
    enter_closed_event(c, code, is_app, false);
}

/* A fatal transport error found while processing (RFC 9000 §11.1). */
void quic_conn_set_error(quic_conn *c, uint64_t code, uint64_t frame_type, const char *reason)
{
    if (c->error == 0)
        c->error = QUIC_ERR_TRANSPORT((int)(code & 0x1ff));
    start_closing(c, code, false, frame_type, reason, c->last_now);
}

/* RFC 9000 §10.2.2 */
void quic_conn_enter_draining(quic_conn *c, uint64_t code, bool is_app, const uint8_t *reason,
                              size_t reason_len, uint64_t now)
{
    if (c->state == QUIC_STATE_DRAINING || c->state == QUIC_STATE_CLOSED)
        return;
    bool was_closing = c->state == QUIC_STATE_CLOSING;
    c->state = QUIC_STATE_DRAINING;
    c->close_pending = false;
    c->close_deadline = now + 3 * quic_conn_pto(c);
    if (was_closing)
        return;
    size_t n = reason_len < sizeof(c->close_reason) - 1 ? reason_len : sizeof(c->close_reason) - 1;
    if (n > 0)
        memcpy(c->close_reason, reason, n);
    c->close_reason[n] = 0;
    enter_closed_event(c, code, is_app, true);
}

void quic_conn_make_reset_token(const quic_conn *c, const quic_cid_value *cid, uint8_t *out)
{
    uint8_t mac[32];
    crypto_hmac(CRYPTO_HASH_SHA256, c->reset_key, sizeof(c->reset_key), cid->bytes, cid->len, mac);
    memcpy(out, mac, QUIC_STATELESS_RESET_TOKEN_LEN);
}

/* A new connection ID of ours (RFC 9000 §5.1.1). */
bool quic_conn_issue_cid(quic_conn *c, bool announce)
{
    for (size_t i = 0; i < QUIC_MAX_LOCAL_CIDS; i++) {
        quic_local_cid *l = &c->lcid[i];
        if (l->in_use)
            continue;
        l->in_use = true;
        l->seq = c->lcid_next_seq++;
        l->cid.len = c->cfg.cid_len;
        quince_env_random(c->env, l->cid.bytes, l->cid.len);
        quic_conn_make_reset_token(c, &l->cid, l->reset_token);
        l->need_send = announce;
        if (c->ep != NULL)
            quic_endpoint_on_cid(c->ep, c, &l->cid, true);
        return true;
    }
    return false;
}

void quic_conn_on_packet_cb(void *user, int space, quic_recovery_event ev,
                            const quic_sent_packet *p)
{
    quic_conn *c = user;
    quic_sent_rec *r = (quic_sent_rec *)(uintptr_t)p->handle;
    if (ev == QUIC_RECOVERY_LOST) {
        c->stats.packets_lost++;
        quic_qlog_packet_lost(c, space, p->pn, c->last_now);
    }
    if (space == SP_APP && ev != QUIC_RECOVERY_DISCARDED) {
        uint32_t old = quic_pmtud_current(&c->pmtud);
        quic_pmtud_state st = c->pmtud.state;
        if (ev == QUIC_RECOVERY_ACKED)
            quic_pmtud_on_acked(&c->pmtud, p->pn, p->size, c->last_now);
        else
            quic_pmtud_on_lost(&c->pmtud, p->pn, c->last_now);
        quic_conn_pmtud_update(c, old, st, c->last_now);
    }
    if (space == SP_APP && ev == QUIC_RECOVERY_ACKED && c->key_update_pending &&
        p->pn >= c->key_update_first_pn)
        c->key_update_pending = false;
    if (r == NULL)
        return;
    if (ev != QUIC_RECOVERY_DISCARDED && c->state < QUIC_STATE_CLOSING) {
        bool lost = ev == QUIC_RECOVERY_LOST || ev == QUIC_RECOVERY_REQUEUE;
        for (size_t i = 0; i < r->n; i++) {
            const quic_frame_rec *f = &r->f[i];
            switch (f->kind) {
            case REC_CRYPTO:
                if (!lost && !c->sp[space].discarded)
                    quic_ranges_add(&c->sp[space].csend.acked, f->offset, f->offset + f->len);
                if (lost && !c->sp[space].discarded &&
                    quic_ranges_add(&c->sp[space].csend.retx, f->offset, f->offset + f->len) !=
                        QUIC_OK)
                    quic_conn_set_error(c, QUIC_TE_INTERNAL_ERROR, 0, "crypto ranges");
                break;
            case REC_ACK:
                if (!lost && !c->sp[space].discarded)
                    quic_ack_tracker_on_ack_acked(&c->sp[space].ack, f->id);
                break;
            case REC_ACK_FREQUENCY: /* resent unless a newer one went out */
                if (lost && f->id + 1 == c->ack_freq_tx_seq)
                    c->ack_freq_pending = true;
                break;
            case REC_HANDSHAKE_DONE:
                if (lost)
                    c->handshake_done_pending = true;
                break;
            case REC_NEW_TOKEN:
                if (lost)
                    c->new_token_pending = true;
                break;
            case REC_NEW_CID:
                for (size_t k = 0; k < QUIC_MAX_LOCAL_CIDS; k++)
                    if (lost && c->lcid[k].in_use && c->lcid[k].seq == f->id)
                        c->lcid[k].need_send = true;
                break;
            case REC_RETIRE_CID:
                if (lost && c->n_retire_pending < QUIC_MAX_RETIRE_PENDING)
                    c->retire_pending[c->n_retire_pending++] = f->id;
                break;
            default:
                quic_stream_on_rec(c, f, lost);
                break;
            }
        }
    }
    if (ev == QUIC_RECOVERY_REQUEUE)
        return; /* still in flight: the record stays */
    quince_env_free(c->env, r);
}

/* RFC 9001 §4.9: keys of a level are gone, and with them its packets. */
void quic_conn_discard_space(quic_conn *c, int space, uint64_t now)
{
    quic_space *sp = &c->sp[space];
    if (sp->discarded)
        return;
    sp->discarded = true;
    crypto_level level = space == SP_INITIAL ? CRYPTO_LEVEL_INITIAL : CRYPTO_LEVEL_HANDSHAKE;
    crypto_pp_clear(&c->tx[level], c->env);
    crypto_pp_clear(&c->rx[level], c->env);
    c->have_tx[level] = c->have_rx[level] = false;
    if (space == SP_INITIAL && c->rx_initial_orig != NULL) {
        crypto_pp_clear(c->rx_initial_orig, c->env);
        quince_env_free(c->env, c->rx_initial_orig);
        c->rx_initial_orig = NULL;
    }
    quic_recovery_discard_space(&c->rec, space, now);
    quince_buf_free(&sp->csend.data, c->env);
    quic_ranges_free(&sp->csend.retx);
    quic_ranges_free(&sp->csend.acked);
    quic_stream_buf_free(&sp->crecv);
    sp->probes = 0;
}

/* ---- TLS engine callbacks (RFC 9001 §4.1) ---- */

static int tls_send(void *user, crypto_level level, const uint8_t *data, size_t len)
{
    quic_conn *c = user;
    quic_crypto_send *cs = &c->sp[space_of_level(level)].csend;
    if (c->sp[space_of_level(level)].discarded)
        return CRYPTO_ERR_INTERNAL;
    if (len == 0)
        return 0;
    /* Bounded by TLS: one flight of handshake messages (max_message_size each). */
    if (!quince_buf_append(&cs->data, c->env, data, len))
        return CRYPTO_ERR_NOMEM;
    return 0;
}

static int tls_set_secret(void *user, crypto_level level, bool is_write, const crypto_suite *suite,
                          const uint8_t *secret, size_t len)
{
    quic_conn *c = user;
    crypto_pp *pp = is_write ? &c->tx[level] : &c->rx[level];
    /* RFC 9369 §4.1: 0-RTT stays in the original version. */
    uint32_t version = level == CRYPTO_LEVEL_EARLY ? c->orig_version : c->version;
    int err = crypto_pp_init(pp, c->env, version, suite->aead, suite->hash, secret, len);
    if (err != 0)
        return err;
    if (is_write)
        c->have_tx[level] = true;
    else
        c->have_rx[level] = true;
    if (level == CRYPTO_LEVEL_APP && !is_write) {
        /* RFC 9001 §6.3: the next phase's keys are ready before they are needed. */
        err = crypto_pp_next(&c->rx_next, &c->rx[level], c->env);
        if (err != 0)
            return err;
        c->have_rx_next = true;
    }
    if (level == CRYPTO_LEVEL_HANDSHAKE && is_write)
        quic_recovery_set_has_handshake_keys(&c->rec, c->last_now);
    quic_qlog_key_updated(c, (int)level, is_write, 0, "tls", c->last_now);
    return 0;
}

static bool cid_equal(const quic_cid_value *a, const quic_cid_value *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

/* RFC 9000 §7.3, §7.4, §18.2: the peer's transport parameters. */
static int tls_peer_tp(void *user, const uint8_t *data, size_t len, uint8_t *alert)
{
    quic_conn *c = user;
    quic_transport_params tp;
    *alert = CRYPTO_ALERT_ILLEGAL_PARAMETER;
    c->error = QUIC_ERR_TRANSPORT_PARAMETER;
    if (quic_tp_decode(data, len, !QUINCE_IS_SERVER(c->is_server), &tp) != QUIC_OK)
        return -1;
    if (!tp.has_initial_scid || !c->have_peer_scid ||
        !cid_equal(&tp.initial_scid, &c->peer_initial_scid))
        return -1;
    if (!QUINCE_IS_SERVER(c->is_server)) {
        if (!tp.has_original_dcid || !cid_equal(&tp.original_dcid, &c->original_dcid))
            return -1;
        if (c->retried != tp.has_retry_scid ||
            (c->retried && !cid_equal(&tp.retry_scid, &c->retry_scid)))
            return -1;
    }
    if (tp.active_connection_id_limit < 2 || tp.max_udp_payload_size < 1200 ||
        tp.ack_delay_exponent > 20 || tp.max_ack_delay >= (1u << 14))
        return -1;
    c->error = quic_version_on_peer_tp(c, &tp);
    if (c->error != QUIC_OK)
        return -1;
    if (QUINCE_IS_SERVER(c->is_server) && c->version != c->orig_version) {
        /* Our version_information now names the negotiated version (same length). */
        uint8_t *buf = quince_env_alloc(c->env, QUIC_TP_ENCODED_MAX);
        size_t n = buf != NULL ? quic_conn_encode_tp(c, buf, QUIC_TP_ENCODED_MAX) : 0;
        int rc = n > 0 ? crypto_tls_replace_transport_params(c->tls, buf, n) : -1;
        quince_env_free(c->env, buf);
        if (rc != 0) {
            c->error = QUIC_ERR_INTERNAL_ERROR;
            return -1;
        }
    }
    c->peer_tp = tp;
    c->have_peer_tp = true;
    quic_qlog_peer_params(c, c->last_now);
    quic_streams_on_peer_tp(c);
    quic_recovery_set_max_ack_delay(&c->rec, tp.max_ack_delay * 1000, c->last_now);
    if (tp.max_udp_payload_size < c->max_udp_payload)
        c->max_udp_payload = tp.max_udp_payload_size;
    quic_pmtud_set_max(&c->pmtud, c->max_udp_payload);
    /* RFC 9000 §10.1: the smaller of both idle timeouts, if any. */
    uint64_t ours = c->cfg.max_idle_timeout_ms, theirs = tp.max_idle_timeout;
    uint64_t idle = ours == 0 ? theirs : (theirs == 0 || ours < theirs ? ours : theirs);
    c->idle_timeout = idle * 1000;
    if (!QUINCE_IS_SERVER(c->is_server) && tp.has_stateless_reset_token) {
        memcpy(c->pcid[0].reset_token, tp.stateless_reset_token, QUIC_STATELESS_RESET_TOKEN_LEN);
        c->pcid[0].has_token = true;
    }
    return 0;
}

/* The configured congestion controller; NewReno when the build leaves CUBIC out
 * (QUINCE_CUBIC, base/opt.h). */
void quic_conn_init_cc(quic_conn *c)
{
#if QUINCE_CUBIC
    if (c->cfg.cc != QUIC_CC_NEWRENO) /* QUIC_CC_DEFAULT is CUBIC */
        quic_cc_init_cubic(&c->cc, 1200, true);
    else
#endif
        quic_cc_init_newreno(&c->cc, 1200);
    c->cc.loss_tolerant = !c->cfg.no_loss_tolerance;
}

/* Our transport parameters into buf; returns their length (0 when they do not fit). */
size_t quic_conn_encode_tp(quic_conn *c, uint8_t *buf, size_t cap)
{
    quic_transport_params tp;
    quic_tp_defaults(&tp);
    const quic_config *cfg = &c->cfg;
    tp.max_idle_timeout = cfg->max_idle_timeout_ms;
    tp.max_udp_payload_size = cfg->max_udp_payload;
    tp.initial_max_data = cfg->initial_max_data;
    tp.initial_max_stream_data_bidi_local = cfg->initial_max_stream_data_bidi_local;
    tp.initial_max_stream_data_bidi_remote = cfg->initial_max_stream_data_bidi_remote;
    tp.initial_max_stream_data_uni = cfg->initial_max_stream_data_uni;
    tp.initial_max_streams_bidi = cfg->initial_max_streams_bidi;
    tp.initial_max_streams_uni = cfg->initial_max_streams_uni;
    tp.ack_delay_exponent = QUIC_OPT_ACK_DELAY_EXPONENT;
    tp.max_ack_delay = QUIC_OPT_MAX_ACK_DELAY_MS;
    tp.has_min_ack_delay = QUINCE_ACK_FREQUENCY;
    tp.min_ack_delay = QUIC_OPT_MIN_ACK_DELAY_US;
    tp.active_connection_id_limit = cfg->active_connection_id_limit;
    tp.max_datagram_frame_size = cfg->max_datagram_frame_size;
    tp.disable_active_migration =
        QUINCE_IS_SERVER(c->is_server) && (cfg->disable_active_migration || !QUINCE_MIGRATION);
    tp.reset_stream_at = cfg->reset_stream_at;
    tp.has_initial_scid = true;
    tp.initial_scid = c->initial_scid;
    quic_version_fill_tp(c, &tp);
    if (QUINCE_IS_SERVER(c->is_server)) {
        tp.has_original_dcid = true;
        tp.original_dcid = c->original_dcid;
        if (c->retried) {
            tp.has_retry_scid = true;
            tp.retry_scid = c->retry_scid;
        }
        if (c->initial_scid.len > 0) {
            tp.has_stateless_reset_token = true;
            memcpy(tp.stateless_reset_token, c->lcid[0].reset_token,
                   QUIC_STATELESS_RESET_TOKEN_LEN);
        }
    }
    quince_writer w = quince_writer_init(buf, cap);
    return quic_tp_encode(&w, &tp, QUINCE_IS_SERVER(c->is_server), 0) ? (size_t)(w.p - buf) : 0;
}

quic_conn *quic_conn_new_common(const quince_env *env, const quic_config *config, bool is_server,
                                const quic_addr *local, const quic_addr *remote, uint64_t now)
{
    if (env == NULL || config == NULL)
        return NULL;
    quic_conn *c = quince_env_calloc(env, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->env = env;
    c->cfg = *config;
    config_defaults(&c->cfg);
    if (!crypto_pp_version_supported(c->cfg.version)) {
        quince_env_free(env, c);
        return NULL;
    }
    c->is_server = is_server;
    c->version = c->orig_version = c->cfg.version;
    c->stats.version = c->stats.original_version = c->version;
    c->last_now = now;
    c->mem.limit = c->cfg.max_conn_memory;
    if (local != NULL)
        c->local = *local;
    if (remote != NULL)
        c->remote = *remote;
    c->validated = c->remote; /* the handshake validates it (RFC 9000 §8.1) */
    static const uint8_t zero[32];
    if (memcmp(c->cfg.reset_key, zero, sizeof(zero)) == 0)
        quince_env_random(env, c->reset_key, sizeof(c->reset_key));
    else
        memcpy(c->reset_key, c->cfg.reset_key, sizeof(c->reset_key));
    for (int i = 0; i < SP_COUNT; i++) {
        quic_space *sp = &c->sp[i];
        quic_ack_tracker_init(&sp->ack, c->cfg.max_ack_ranges, QUIC_OPT_MAX_ACK_DELAY_MS * 1000,
                              i != SP_APP);
        if (i == SP_APP && c->cfg.max_ack_ranges >= QUIC_OPT_MAX_ACK_RANGES)
            quic_ack_tracker_set_growth(&sp->ack, env, QUIC_OPT_MAX_ACK_RANGES_GROWN);
        quic_ranges_init(&sp->csend.retx, env, 256, false);
        quic_ranges_init(&sp->csend.acked, env, 256, true);
        quic_stream_buf_init(&sp->crecv, env, c->cfg.max_crypto_buffer, 0, &c->mem);
    }
    quic_conn_init_cc(c);
    quic_pacer_init(&c->pacer, 1200, 0);
    quic_recovery_config rc = {.is_server = is_server,
                               .initial_rtt = c->cfg.initial_rtt_ms * 1000,
                               .max_sent_packets = QUIC_OPT_MAX_SENT_PACKETS};
    if (quic_recovery_init(&c->rec, env, &rc, &c->cc, quic_conn_on_packet_cb, c) != 0) {
        quince_env_free(env, c);
        return NULL;
    }
    c->max_udp_payload = c->cfg.max_udp_payload;
    quic_pmtud_init(&c->pmtud, c->cfg.max_udp_payload, !c->cfg.no_pmtud);
    c->stats.pmtu = quic_pmtud_current(&c->pmtud);
    /* RFC 9000 §13.4.2: mark ECT(0) until validation says otherwise. */
    quic_recovery_set_ecn(&c->rec, !c->cfg.no_ecn);
    c->idle_deadline = QUIC_TIME_NEVER;
    c->pacer_wait = QUIC_TIME_NEVER;
    c->close_deadline = QUIC_TIME_NEVER;
    c->idle_timeout = c->cfg.max_idle_timeout_ms * 1000;
    c->address_validated = !is_server;
    if (c->idle_timeout > 0)
        c->idle_deadline = now + c->idle_timeout; /* also bounds a handshake that never starts */
    quic_tp_defaults(&c->peer_tp);
    quic_streams_init(c);
    quic_conn_issue_cid(c, false);
    c->initial_scid = c->lcid[0].cid;
    return c;
}

/* RFC 9001 §5.2: Initial keys from the client's first DCID. */
int quic_conn_set_initial_keys(quic_conn *c, const quic_cid_value *dcid)
{
    crypto_pp *mine = &c->tx[CRYPTO_LEVEL_INITIAL], *theirs = &c->rx[CRYPTO_LEVEL_INITIAL];
    crypto_pp_clear(mine, c->env);
    crypto_pp_clear(theirs, c->env);
    c->initial_dcid = *dcid;
    int err = QUINCE_IS_SERVER(c->is_server)
                  ? crypto_pp_initial(theirs, mine, c->env, c->version, dcid->bytes, dcid->len)
                  : crypto_pp_initial(mine, theirs, c->env, c->version, dcid->bytes, dcid->len);
    if (err != 0)
        return QUIC_ERR_INTERNAL;
    c->have_tx[CRYPTO_LEVEL_INITIAL] = c->have_rx[CRYPTO_LEVEL_INITIAL] = true;
    quic_qlog_key_updated(c, CRYPTO_LEVEL_INITIAL, true, 0, "tls", c->last_now);
    quic_qlog_key_updated(c, CRYPTO_LEVEL_INITIAL, false, 0, "tls", c->last_now);
    return QUIC_OK;
}

/* RFC 9000 §7.4.1: the limits a client remembers for 0-RTT, in a fixed form
 * sealed in tickets: a server whose limits changed refuses the early data. */
static size_t encode_early_context(quic_conn *c)
{
    const quic_config *q = &c->cfg;
    const uint64_t v[] = {q->initial_max_data,
                          q->initial_max_stream_data_bidi_local,
                          q->initial_max_stream_data_bidi_remote,
                          q->initial_max_stream_data_uni,
                          q->initial_max_streams_bidi,
                          q->initial_max_streams_uni,
                          q->max_datagram_frame_size,
                          q->active_connection_id_limit};
    size_t n = 0;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        for (int b = 7; b >= 0; b--)
            c->early_ctx[n++] = (uint8_t)(v[i] >> (8 * b));
    return n;
}

/* RFC 9001 §4.6.1, RFC 9000 §7.4.1: a client sending 0-RTT uses the
 * remembered flow-control and stream limits until the server's arrive. */
static void apply_remembered_tp(quic_conn *c)
{
    if (!QUINCE_RESUMPTION)
        return; /* base/opt.h: no sessions, so no 0-RTT */
    size_t len = 0;
    const uint8_t *p = crypto_tls_session_transport_params(c->tls, &len);
    quic_transport_params tp;
    if (p == NULL || crypto_tls_early_data(c->tls) != CRYPTO_EARLY_OFFERED ||
        quic_tp_decode(p, len, true, &tp) != QUIC_OK)
        return;
    c->peer_tp.initial_max_data = tp.initial_max_data;
    c->peer_tp.initial_max_stream_data_bidi_local = tp.initial_max_stream_data_bidi_local;
    c->peer_tp.initial_max_stream_data_bidi_remote = tp.initial_max_stream_data_bidi_remote;
    c->peer_tp.initial_max_stream_data_uni = tp.initial_max_stream_data_uni;
    c->peer_tp.initial_max_streams_bidi = tp.initial_max_streams_bidi;
    c->peer_tp.initial_max_streams_uni = tp.initial_max_streams_uni;
    c->peer_tp.max_datagram_frame_size = tp.max_datagram_frame_size;
    quic_streams_on_peer_tp(c);
}

static bool start_tls(quic_conn *c)
{
    /* On the heap for the moment (the stack stays under 1 KB): the TLS engine
     * keeps its own copy. */
    uint8_t *tp_buf = quince_env_alloc(c->env, QUIC_TP_ENCODED_MAX);
    if (tp_buf == NULL)
        return false;
    crypto_tls_config tc = c->cfg.tls;
    tc.is_server = QUINCE_IS_SERVER(c->is_server);
    tc.transport_params = tp_buf;
    tc.transport_params_len = quic_conn_encode_tp(c, tp_buf, QUIC_TP_ENCODED_MAX);
    if (QUINCE_IS_SERVER(c->is_server)) {
        tc.early_data_context = c->early_ctx;
        tc.early_data_context_len = encode_early_context(c);
    }
    crypto_tls_callbacks cb = {.user = c,
                               .send = tls_send,
                               .set_secret = tls_set_secret,
                               .peer_transport_params = tls_peer_tp};
    c->tls = crypto_tls_new(c->env, &tc, &cb);
    quince_env_free(c->env, tp_buf);
    if (c->tls == NULL || crypto_tls_start(c->tls) != 0)
        return false;
    if (!QUINCE_IS_SERVER(c->is_server))
        apply_remembered_tp(c);
    return true;
}

#if QUINCE_CLIENT
quic_conn *quic_conn_client_new(const quince_env *env, const quic_config *config,
                                const quic_addr *local, const quic_addr *remote, uint64_t now)
{
    quic_conn *c = quic_conn_new_common(env, config, false, local, remote, now);
    if (c == NULL)
        return NULL;
    /* RFC 9000 §7.2: an unpredictable DCID of at least 8 bytes. */
    c->original_dcid.len = 8;
    quince_env_random(env, c->original_dcid.bytes, 8);
    quic_qlog_start(c, now);
    quic_qlog_state(c, "attempted", now);
    if (config->token != NULL && config->token_len > 0) {
        /* RFC 9000 §8.1.3: a NEW_TOKEN token from an earlier connection. */
        c->token = quince_env_alloc(env, config->token_len);
        if (c->token == NULL) {
            quic_conn_free(c);
            return NULL;
        }
        memcpy(c->token, config->token, config->token_len);
        c->token_len = config->token_len;
    }
    c->pcid[0].in_use = true;
    c->pcid[0].seq = 0;
    c->pcid[0].cid = c->original_dcid;
    if (quic_conn_set_initial_keys(c, &c->original_dcid) != QUIC_OK || !start_tls(c)) {
        quic_conn_free(c);
        return NULL;
    }
    return c;
}
#endif

#if QUINCE_SERVER
/* Server side, possibly after a Retry: odcid is the DCID of the client's very first Initial. */
quic_conn *quic_conn_server_new(const quince_env *env, const quic_config *config,
                                const quic_addr *local, const quic_addr *remote,
                                const quic_cid_value *dcid, const quic_cid_value *scid,
                                const quic_cid_value *odcid, const quic_cid_value *retry_scid,
                                uint64_t now)
{
    quic_conn *c = quic_conn_new_common(env, config, true, local, remote, now);
    if (c == NULL)
        return NULL;
    c->original_dcid = odcid != NULL ? *odcid : *dcid;
    if (retry_scid != NULL) {
        c->retried = true;
        c->retry_scid = *retry_scid;
        c->address_validated = true; /* RFC 9000 §8.1.2: the token proved the address */
    }
    quic_qlog_start(c, now);
    quic_qlog_state(c, "attempted", now);
    c->pcid[0].in_use = true;
    c->pcid[0].cid = *scid;
    c->peer_initial_scid = *scid;
    c->have_peer_scid = true;
    if (quic_conn_set_initial_keys(c, dcid) != QUIC_OK || !start_tls(c)) {
        quic_conn_free(c);
        return NULL;
    }
    return c;
}

/* RFC 9000 §7.2, §17.2.2 */
quic_conn *quic_conn_accept(const quince_env *env, const quic_config *config,
                            const quic_addr *local, const quic_addr *remote, const uint8_t *data,
                            size_t len, uint64_t now)
{
    quic_pkt_parse_opts po = {.short_dcid_len = config != NULL ? config->cid_len : 0};
    quic_pkt_header h;
    if (data == NULL || len < QUIC_MIN_INITIAL_DATAGRAM ||
        quic_pkt_parse_header(data, len, &po, &h) != QUIC_OK || h.type != QUIC_PKT_INITIAL ||
        h.dcid_len < 8)
        return NULL;
    quic_cid_value dcid = {.len = h.dcid_len}, scid = {.len = h.scid_len};
    memcpy(dcid.bytes, h.dcid, h.dcid_len);
    memcpy(scid.bytes, h.scid, h.scid_len);
    quic_config cfg = *config;
    cfg.version = h.version;
    quic_conn *c = quic_conn_server_new(env, &cfg, local, remote, &dcid, &scid, NULL, NULL, now);
    if (c == NULL)
        return NULL;
    quic_conn_recv(c, remote, data, len, now);
    return c;
}
#endif

/* (no RFC section) */
void quic_conn_free(quic_conn *c)
{
    if (c == NULL)
        return;
    const quince_env *env = c->env;
    for (int i = 0; i < SP_COUNT; i++) {
        quic_recovery_discard_space(&c->rec, i, c->last_now);
        quince_buf_free(&c->sp[i].csend.data, env);
        quic_ranges_free(&c->sp[i].csend.retx);
        quic_ranges_free(&c->sp[i].csend.acked);
        quic_ack_tracker_free(&c->sp[i].ack);
        quic_stream_buf_free(&c->sp[i].crecv);
    }
    quic_recovery_free(&c->rec);
    quic_conn_early_free(c);
    for (int l = 0; l < CRYPTO_LEVEL_COUNT; l++) {
        crypto_pp_clear(&c->tx[l], env);
        crypto_pp_clear(&c->rx[l], env);
    }
    crypto_pp_clear(&c->rx_next, env);
    if (c->rx_initial_orig != NULL) {
        crypto_pp_clear(c->rx_initial_orig, env);
        quince_env_free(env, c->rx_initial_orig);
    }
    crypto_pp_clear(&c->rx_prev, env);
    crypto_tls_free(c->tls);
    quic_streams_free(c);
    for (quic_dgram *d = c->dgram_out_head; d != NULL;) {
        quic_dgram *n = d->next;
        quince_budget_release(&c->mem, quic_dgram_cost(d->len));
        quince_env_free(env, d);
        d = n;
    }
    for (quic_dgram *d = c->dgram_in_head; d != NULL;) {
        quic_dgram *n = d->next;
        quince_budget_release(&c->mem, quic_dgram_cost(d->len));
        quince_env_free(env, d);
        d = n;
    }
    if (c->dgram_in_hold != NULL)
        quince_budget_release(&c->mem, c->dgram_in_hold_cost);
    quince_env_free(env, c->dgram_in_hold);
    quince_env_free(env, c->events);
    quince_env_free(env, c->rxbuf);
    quince_env_free(env, c->tx_recs);
    quince_env_free(env, c->token);
    quic_qlog_free(c);
    quince_env_free(env, c);
}

/* After TLS made progress: completion and confirmation (RFC 9001 §4.1.1, §4.1.2). */
void quic_conn_check_handshake(quic_conn *c, uint64_t now)
{
    /* RFC 9001 §4.6.2, RFC 9002 §6.4: 0-RTT refused: what it carried is lost
     * and goes again in 1-RTT (under the limits the server now gives). */
    if (QUINCE_RESUMPTION && !QUINCE_IS_SERVER(c->is_server) && c->sent_0rtt &&
        !c->early_rejected_done && crypto_tls_early_data(c->tls) == CRYPTO_EARLY_REJECTED) {
        c->early_rejected_done = true;
        quic_recovery_on_0rtt_rejected(&c->rec, c->largest_0rtt_pn, now);
    }
    if (c->handshake_complete || !crypto_tls_handshake_done(c->tls))
        return;
    c->handshake_complete = true;
    if (c->state == QUIC_STATE_HANDSHAKE)
        c->state = QUIC_STATE_ESTABLISHED;
    quic_qlog_state(c, "handshake_complete", now);
    if (QUINCE_IS_SERVER(c->is_server)) {
        /* RFC 9001 §4.1.2: the server's handshake is confirmed on completion. */
        c->handshake_confirmed = true;
        c->handshake_done_pending = true;
        quic_recovery_set_handshake_confirmed(&c->rec, now);
        quic_conn_discard_space(c, SP_HANDSHAKE, now);
        c->address_validated = true;
        quic_pmtud_start(&c->pmtud, now); /* RFC 9000 §14.3.1 */
        quic_qlog_state(c, "handshake_confirmed", now);
    }
    /* Spare connection IDs for the peer (RFC 9000 §5.1.1). */
    if (c->initial_scid.len > 0) {
        uint64_t want = c->peer_tp.active_connection_id_limit;
        if (want > QUIC_MAX_LOCAL_CIDS / 2)
            want = QUIC_MAX_LOCAL_CIDS / 2;
        for (uint64_t i = 1; i < want; i++)
            quic_conn_issue_cid(c, true);
    }
    quic_event ev = {.type = QUIC_EVENT_HANDSHAKE_DONE};
    quic_conn_event(c, &ev);
}

void quic_conn_on_handshake_done_frame(quic_conn *c, uint64_t now)
{
    if (c->handshake_confirmed)
        return;
    c->handshake_confirmed = true;
    quic_recovery_set_handshake_confirmed(&c->rec, now);
    quic_conn_discard_space(c, SP_HANDSHAKE, now);
    quic_pmtud_start(&c->pmtud, now); /* RFC 9000 §14.3.1 */
    quic_qlog_state(c, "handshake_confirmed", now);
    quic_path_preferred_start(c, now); /* RFC 9000 §9.6 */
}

void quic_conn_pmtud_update(quic_conn *c, uint32_t old_cur, quic_pmtud_state old_state,
                            uint64_t now)
{
    const quic_pmtud *m = &c->pmtud;
    uint32_t cur = quic_pmtud_current(m);
    c->stats.pmtu = cur;
    c->stats.pmtu_probes_sent = m->probes_sent;
    c->stats.pmtu_probes_lost = m->probes_lost;
    c->stats.pmtu_black_holes = m->black_holes;
    bool done = m->state == QUIC_PMTUD_SEARCH_COMPLETE;
    if (cur == old_cur && (m->state == old_state || !done))
        return;
    /* RFC 9002 §7.2: the window is counted in datagrams of the new size. */
    quic_cc_set_max_datagram_size(&c->cc, cur);
    quic_qlog_mtu_updated(c, old_cur, cur, done, now);
}

/* ---- Timers (RFC 9000 §10, RFC 9002 §6) ---- */

/* RFC 9000 §10.1; RFC 9002 §6.2 */
uint64_t quic_conn_next_timeout(const quic_conn *c)
{
    if (c == NULL || c->state == QUIC_STATE_CLOSED)
        return QUIC_TIME_NEVER;
    if (c->state >= QUIC_STATE_CLOSING)
        return c->close_deadline;
    uint64_t t = c->idle_deadline;
    uint64_t r = quic_recovery_next_timeout(&c->rec);
    if (r < t)
        t = r;
    /* RFC 9000 §9.3.1: an unvalidated peer address that has used up its 3x
     * budget gets nothing, ACKs included, until it sends more: no ACK timer. */
    bool path_limited = quic_path_send_budget(c) < 64;
    for (int i = 0; i < SP_COUNT && !path_limited; i++) {
        if (c->sp[i].discarded)
            continue;
        uint64_t a = quic_ack_tracker_ack_time(&c->sp[i].ack);
        if (a < t)
            t = a;
    }
    if (c->pacer_wait != QUIC_TIME_NEVER && c->pacer_wait < t && !path_limited)
        t = c->pacer_wait;
    uint64_t p = quic_path_next_timeout(c);
    if (p < t)
        t = p;
    return t;
}

int quic_conn_on_timeout(quic_conn *c, uint64_t now)
{
    if (c == NULL)
        return QUIC_ERR_ARGUMENT;
    c->last_now = now;
    quince_qlog_set_now(c->qlog, now);
    if (c->state == QUIC_STATE_CLOSED)
        return QUIC_OK;
    if (c->state >= QUIC_STATE_CLOSING) {
        if (now >= c->close_deadline) {
            c->state = QUIC_STATE_CLOSED;
            quic_qlog_state(c, "closed", now);
        }
        return QUIC_OK;
    }
    if (now >= c->idle_deadline) {
        /* RFC 9000 §10.1: silently closed. */
        c->state = QUIC_STATE_CLOSED;
        memcpy(c->close_reason, "idle timeout", sizeof("idle timeout"));
        enter_closed_event(c, QUIC_TE_NO_ERROR, false, false);
        return QUIC_OK;
    }
    if (c->pacer_wait <= now)
        c->pacer_wait = QUIC_TIME_NEVER;
    quic_path_on_timeout(c, now);
    if (quic_recovery_next_timeout(&c->rec) <= now) {
        quic_recovery_timeout to;
        quic_recovery_on_timeout(&c->rec, now, &to);
        quic_qlog_metrics(c, now);
        if (to.kind == QUIC_RECOVERY_TIMEOUT_PTO) {
            int sp = to.space;
            if (c->sp[sp].discarded || !c->have_tx[sp == SP_INITIAL     ? 0
                                                   : sp == SP_HANDSHAKE ? 2
                                                                        : 3]) {
                /* Client anti-deadlock with keys gone: probe in what we have. */
                sp = c->have_tx[CRYPTO_LEVEL_HANDSHAKE] && !c->sp[SP_HANDSHAKE].discarded
                         ? SP_HANDSHAKE
                         : (c->have_tx[CRYPTO_LEVEL_APP] ? SP_APP : SP_INITIAL);
            }
            c->sp[sp].probes = to.probes ? to.probes : 1;
            if (c->handshake_confirmed) {
                /* RFC 8899 §4.3: black hole detection; the probes then go at the base. */
                uint32_t old = quic_pmtud_current(&c->pmtud);
                quic_pmtud_state st = c->pmtud.state;
                quic_pmtud_on_pto(&c->pmtud, now);
                quic_conn_pmtud_update(c, old, st, now);
            }
            /* RFC 9002 §6.2.4: resend unacknowledged CRYPTO data in probes. */
            quic_crypto_send *cs = &c->sp[sp].csend;
            if (!c->sp[sp].discarded && cs->sent > 0)
                quic_ranges_add(&cs->retx, 0, cs->sent);
            /* Probe with new data if there is some, else with the oldest
             * unacknowledged data rather than a bare PING. */
            if (sp == SP_APP && !quic_stream_has_pending(c))
                quic_recovery_requeue_oldest(&c->rec, SP_APP, c->sp[sp].probes);
        }
    }
    return QUIC_OK;
}

/* ---- Misc API ---- */

/* RFC 9000 §10.2 */
int quic_conn_close(quic_conn *c, uint64_t app_error, const char *reason, uint64_t now)
{
    if (c == NULL)
        return QUIC_ERR_ARGUMENT;
    c->last_now = now;
    start_closing(c, app_error, true, 0, reason, now);
    quic_conn_wake(c);
    return QUIC_OK;
}

/* RFC 9000 §10 */
bool quic_conn_is_closed(const quic_conn *c)
{
    return c == NULL || c->state == QUIC_STATE_CLOSED;
}

/* RFC 9001 §4.1.1 */
bool quic_conn_is_established(const quic_conn *c)
{
    return c != NULL && c->handshake_complete && c->state == QUIC_STATE_ESTABLISHED;
}

/* RFC 9001 §8.1 */
const char *quic_conn_alpn(const quic_conn *c)
{
    return c != NULL && c->tls != NULL ? crypto_tls_alpn(c->tls) : NULL;
}

/* (no RFC section) */
const crypto_tls *quic_conn_tls(const quic_conn *c)
{
    return c != NULL ? c->tls : NULL;
}

/* RFC 9001 §4.6.1: the client may send 0-RTT while its early keys are set and the
 * server has not refused them. */
bool quic_conn_early_data_ready(const quic_conn *c)
{
    if (!QUINCE_RESUMPTION || c == NULL || QUINCE_IS_SERVER(c->is_server) ||
        c->handshake_complete || c->tls == NULL || !c->have_tx[CRYPTO_LEVEL_EARLY] ||
        c->state >= QUIC_STATE_CLOSING)
        return false;
    crypto_early_data e = crypto_tls_early_data(c->tls);
    return e == CRYPTO_EARLY_OFFERED || e == CRYPTO_EARLY_ACCEPTED;
}

/* (no RFC section) */
const quic_conn_stats *quic_conn_get_stats(const quic_conn *c)
{
    if (c == NULL)
        return NULL;
    quic_conn *m = (quic_conn *)c; /* the memory figures are read from the budget on demand */
    m->stats.memory = c->mem.used;
    m->stats.memory_peak = c->mem.peak;
    return &c->stats;
}

/* (no RFC section) */
quince_budget *quic_conn_budget(quic_conn *c)
{
    return c != NULL ? &c->mem : NULL;
}

/* RFC 9002 §5 */
bool quic_conn_get_rtt(const quic_conn *c, uint64_t *smoothed, uint64_t *min)
{
    if (c == NULL)
        return false;
    const quic_rtt *r = quic_recovery_rtt(&c->rec);
    *smoothed = r->smoothed_rtt;
    *min = r->min_rtt;
    return r->has_sample;
}

/* (no RFC section) */
void quic_conn_set_user(quic_conn *c, void *user)
{
    if (c != NULL)
        c->user = user;
}

/* (no RFC section) */
void *quic_conn_get_user(const quic_conn *c)
{
    return c != NULL ? c->user : NULL;
}

/* RFC 9001 §6.1: start a key update. */
int quic_conn_key_update(quic_conn *c)
{
    if (c == NULL || !c->handshake_confirmed || c->state != QUIC_STATE_ESTABLISHED ||
        c->key_update_pending || c->rx_phase != c->key_phase)
        return QUIC_ERR_ARGUMENT;
    crypto_pp next;
    memset(&next, 0, sizeof(next));
    if (crypto_pp_next(&next, &c->tx[CRYPTO_LEVEL_APP], c->env) != 0)
        return QUIC_ERR_INTERNAL;
    crypto_pp_clear(&c->tx[CRYPTO_LEVEL_APP], c->env);
    c->tx[CRYPTO_LEVEL_APP] = next;
    c->key_phase = !c->key_phase;
    c->key_update_pending = true;
    c->key_update_first_pn = c->sp[SP_APP].next_pn;
    c->packets_in_phase = 0;
    c->stats.key_updates++;
    quic_qlog_key_updated(c, CRYPTO_LEVEL_APP, true, c->stats.key_updates, "local_update",
                          c->last_now);
    quic_conn_wake(c);
    return QUIC_OK;
}

/* RFC 9221 §5 */
int quic_conn_send_datagram(quic_conn *c, const uint8_t *data, size_t len)
{
    if (c == NULL || (data == NULL && len > 0))
        return QUIC_ERR_ARGUMENT;
    size_t max = quic_conn_max_datagram_payload(c);
    if (c->state >= QUIC_STATE_CLOSING || max == 0 || len > max)
        return QUIC_ERR_ARGUMENT;
    if (c->dgram_out_count >= c->cfg.max_datagram_queue ||
        !quince_budget_charge(&c->mem, quic_dgram_cost(len)))
        return QUIC_ERR_LIMIT;
    quic_dgram *d = quince_env_alloc(c->env, sizeof(*d) + len);
    if (d == NULL) {
        quince_budget_release(&c->mem, quic_dgram_cost(len));
        return QUIC_ERR_NOMEM;
    }
    d->next = NULL;
    d->len = len;
    if (len > 0)
        memcpy(d->data, data, len);
    if (c->dgram_out_tail != NULL)
        c->dgram_out_tail->next = d;
    else
        c->dgram_out_head = d;
    c->dgram_out_tail = d;
    c->dgram_out_count++;
    quic_conn_wake(c);
    return QUIC_OK;
}

/* RFC 9221 §3: what fits the peer's max_datagram_frame_size and one packet. */
size_t quic_conn_max_datagram_payload(const quic_conn *c)
{
    if (c == NULL || !c->have_peer_tp || c->peer_tp.max_datagram_frame_size == 0)
        return 0;
    /* short header (1 + 20 + 4), tag 16, frame type 1 + length 2, in the
     * current PLPMTU (RFC 9221 §5: a DATAGRAM frame is never split) */
    size_t room = (size_t)quic_pmtud_current(&c->pmtud) - 1 - c->pcid[c->pcid_cur].cid.len - 4 -
                  16 - 3;
    uint64_t peer = c->peer_tp.max_datagram_frame_size - 3;
    return peer < room ? (size_t)peer : room;
}
