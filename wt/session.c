/* WebTransport over HTTP/3 (draft-ietf-webtrans-http3-02, -07, -13..-16): sessions, capsules,
 * datagrams. */
#include <stdio.h>
#include <string.h>

#include "wt/codes.h"
#include "wt/connect.h"
#include "wt/flow.h"
#include "wt/protocols.h"
#include "wt/internal.h"
#include "wt/lifetime.h"
#include "wt/session.h"
#include "wt/stream.h"
#include "wt/stream_recv.h"
#include "wt/opt.h"

#define WT_CLOSE_CAPSULE_MAX (16 + 4 + H3_CLOSE_WT_MAX_MESSAGE)

/* draft-ietf-webtrans-http3-02 §3.1 */
QUINCE_API void wt_config_init(wt_config *cfg, bool is_server)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->is_server = is_server;
    cfg->max_sessions = WT_OPT_MAX_SESSIONS;
    cfg->max_streams_per_session = WT_OPT_MAX_STREAMS_PER_SESSION;
    cfg->max_buffered_streams = WT_OPT_MAX_BUFFERED_STREAMS;
    cfg->max_buffered_bytes = WT_OPT_MAX_BUFFERED_BYTES;
    cfg->max_buffered_datagrams = WT_OPT_MAX_BUFFERED_DATAGRAMS;
    cfg->max_capsule = H3_CAPSULE_READER_DEFAULT_MAX;
    cfg->max_field_len = WT_OPT_MAX_FIELD_LEN;
    cfg->dialects = WT_DIALECTS_ALL;
    /* -13..-16 §5: offered by default (Safari wants WT_INITIAL_* whenever
     * WT_MAX_SESSIONS is above 1). */
    cfg->fc_max_data = WT_OPT_FC_MAX_DATA;
    cfg->fc_max_streams_bidi = WT_OPT_FC_MAX_STREAMS_BIDI;
    cfg->fc_max_streams_uni = WT_OPT_FC_MAX_STREAMS_UNI;
    cfg->fc_max_held = WT_OPT_FC_MAX_HELD;
}

/* -16 §3.2: hold CONNECT-stream bytes of a session not processed yet, within
 * max_capsule and the memory budget (charged by allocation, as early streams are). */
static bool hold_early_caps(wt_session *s, const uint8_t *data, size_t len)
{
    wt_endpoint *ep = s->ep;
    if (len > ep->cfg.max_capsule - s->early_caps.len)
        return false;
    size_t need = s->early_caps.len + len;
    if (need > s->early_caps.cap) {
        size_t cap = s->early_caps.cap ? s->early_caps.cap : 64;
        while (cap < need)
            cap *= 2;
        if (!quince_budget_charge(ep->budget, cap - s->early_caps_charged))
            return false;
        if (!quince_buf_reserve(&s->early_caps, ep->env, need)) {
            quince_budget_release(ep->budget, cap - s->early_caps_charged);
            return false;
        }
        s->early_caps_charged = cap;
    }
    return quince_buf_append(&s->early_caps, ep->env, data, len);
}

/* ---- Termination (draft-ietf-webtrans-http3-02 §5) ---- */

void wt_session_send_fin(wt_session *s)
{
    if (s->send_done)
        return;
    s->send_done = true;
    /* Not NULL: h3 does pointer arithmetic on it even for 0 bytes. */
    static const uint8_t none[1] = {0};
    h3_conn_send_data(s->ep->h3, s->id, none, 0, true);
}

/* Drop queued datagrams and reject streams waiting for a session that will not come. */
void wt_session_drop_pending(wt_session *s)
{
    wt_session_drop_datagrams(s);
    if (s->id != UINT64_MAX)
        wt_stream_reject_buffered(s->ep, s->id);
}

/* draft-ietf-webtrans-http3-02 §5: the session is over; reset its streams,
 * send no more datagrams or streams, and close our side of the CONNECT stream. */
void wt_session_terminate(wt_session *s, uint32_t code, const uint8_t *reason, size_t len)
{
    wt_endpoint *ep = s->ep;
    wt_session_state was = s->state;
    if (was == WT_SS_CLOSED || was == WT_SS_REJECTED)
        return;
    s->state = WT_SS_CLOSED;
    wt_stream_reset_all(s);
    wt_session_drop_pending(s);
    if (was == WT_SS_OPEN)
        wt_qlog_session(s, "session_closed", ep->closing_local, code, reason, len);
    else
        wt_qlog_session(s, "session_rejected", false, (uint64_t)s->status, NULL, 0);
    if (was == WT_SS_OPEN) {
        if (ep->cb.on_session_closed != NULL)
            ep->cb.on_session_closed(ep->cb.user, s, code, reason, len);
    } else if ((was == WT_SS_CONNECTING || was == WT_SS_QUEUED) &&
               ep->cb.on_session_rejected != NULL) {
        ep->cb.on_session_rejected(ep->cb.user, s, s->status);
    }
    /* A held request has no response yet: nothing of ours to finish. */
    if (was == WT_SS_OPEN || was == WT_SS_CONNECTING)
        wt_session_send_fin(s);
    if (s->recv_done || was == WT_SS_QUEUED)
        wt_session_kill(s);
}

/* The CONNECT stream's receive side ended (FIN or reset). */
void wt_session_recv_done(wt_session *s)
{
    s->recv_done = true;
    if (s->state == WT_SS_CLOSED || s->state == WT_SS_REJECTED)
        wt_session_kill(s);
    else
        wt_session_terminate(s, 0, NULL, 0);
}

/* A capsule error makes the message malformed: reset the CONNECT stream. */
static void session_malformed(wt_session *s, int rc)
{
    uint64_t code = h3_wire_error_code(rc);
    if (code == 0)
        code = H3_MESSAGE_ERROR;
    h3_conn_reset_stream(s->ep->h3, s->id, code);
    s->send_done = true;
    wt_session_terminate(s, 0, NULL, 0);
    wt_session_recv_done(s);
}

/* ---- Datagrams (draft-ietf-webtrans-http3-02 §4.4, RFC 9297 §2.1) ---- */

static void datagram_in(wt_session *s, const uint8_t *data, size_t len)
{
    wt_endpoint *ep = s->ep;
    if (s->state == WT_SS_OPEN) {
        wt_qlog_datagram(s, false, len);
        if (ep->cb.on_datagram != NULL)
            ep->cb.on_datagram(ep->cb.user, s, data, len);
        return;
    }
    if (s->state != WT_SS_HELD && s->state != WT_SS_CONNECTING)
        return;
    /* §4.5: buffered up to a bound, then dropped; also dropped when the connection's
     * memory budget cannot hold it (RFC 9297 §2.1: drop or buffer briefly). */
    if (s->ndgrams >= ep->cfg.max_buffered_datagrams ||
        !quince_budget_charge(ep->budget, wt_dgram_cost(len)))
        return;
    uint8_t *c = quince_env_alloc(ep->env, wt_dgram_cost(len));
    if (c == NULL) {
        quince_budget_release(ep->budget, wt_dgram_cost(len));
        return;
    }
    if (len > 0)
        memcpy(c, data, len);
    s->dgrams[s->ndgrams].data = c;
    s->dgrams[s->ndgrams].len = len;
    s->ndgrams++;
}

static void capsules_in(wt_session *s, const uint8_t *data, size_t len);

/* -13..-16 §5.6: a flow-control capsule while flow control is on: a violation ends the
 * session; more send credit lets held bytes go, and the application hears of it.
 * False: the session ended. */
static bool fc_capsule_in(wt_session *s, uint64_t type, uint64_t value)
{
    wt_endpoint *ep = s->ep;
    wt_fc_verdict v;
    if (!wt_fc_capsule_in(s, type, value, &v)) {
        wt_session_fc_error(s, v.code, v.why);
        return false;
    }
    if (v.more_data)
        wt_stream_flush_held(s);
    if (s->state != WT_SS_OPEN)
        return false;
    if ((v.more_data || v.more_streams) && ep->cb.on_session_credit != NULL)
        ep->cb.on_session_credit(ep->cb.user, s);
    return s->state == WT_SS_OPEN;
}

/* The session is established: hand over what waited for it (§4.5). */
void wt_session_established(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    s->state = WT_SS_OPEN;
    wt_qlog_session(s, "session_established", ep->cfg.is_server, 0, NULL, 0);
    if (ep->cb.on_session_ready != NULL)
        ep->cb.on_session_ready(ep->cb.user, s);
    if (s->state != WT_SS_OPEN)
        return;
    if (s->early_caps.len > 0) {
        /* Taken out first: the capsules may end the session. */
        quince_buf early = s->early_caps;
        size_t charged = s->early_caps_charged;
        s->early_caps = (quince_buf){0};
        s->early_caps_charged = 0;
        capsules_in(s, early.data, early.len);
        quince_buf_free(&early, ep->env);
        quince_budget_release(ep->budget, charged);
        if (s->state != WT_SS_OPEN)
            return;
    }
    wt_stream_flush_buffered(s);
    for (size_t i = 0; i < s->ndgrams && s->state == WT_SS_OPEN; i++) {
        if (ep->cb.on_datagram != NULL)
            ep->cb.on_datagram(ep->cb.user, s, s->dgrams[i].data, s->dgrams[i].len);
    }
    wt_session_drop_datagrams(s);
}

/* -14 §5.6.2/§5.6.4: resetting the CONNECT stream with the code; -15/-16 say
 * "close the session with" it, read the same way (the code is an HTTP/3 one). */
void wt_session_fc_error(wt_session *s, uint64_t code, const char *why)
{
    wt_endpoint *ep = s->ep;
    if (s->state == WT_SS_CLOSED || s->state == WT_SS_REJECTED)
        return;
    if (ep->env->log != NULL) {
        char line[300];
        snprintf(line, sizeof(line), "webtransport: session %s ended (0x%llx): %s",
                 s->path != NULL ? s->path : "?", (unsigned long long)code, why);
        ep->env->log(ep->env->user, 1, line);
    }
    h3_conn_reset_stream(ep->h3, s->id, code);
    s->send_done = true;
    wt_session_terminate(s, 0, NULL, 0);
    wt_session_recv_done(s);
}

/* ---- h3 callbacks ---- */

static void cb_headers(void *user, uint64_t id, const h3_field *f, size_t n, bool trailers)
{
    wt_endpoint *ep = user;
    wt_enter(ep);
    wt_session *s = wt_session_find(ep, id);
    if (s != NULL) {
        if (!trailers && !ep->cfg.is_server && s->state == WT_SS_CONNECTING)
            wt_client_response(s, f, n);
    } else if (ep->cfg.is_server && !trailers) {
        wt_server_on_headers(ep, id, f, n);
    } else if (ep->chain.on_headers != NULL) {
        ep->chain.on_headers(ep->chain.user, id, f, n, trailers);
    }
    wt_leave(ep);
}

/* draft-ietf-webtrans-http3-02 §5; RFC 9297 §3 */
static void capsules_in(wt_session *s, const uint8_t *data, size_t len)
{
    wt_endpoint *ep = s->ep;
    size_t off = 0;
    if (s->state == WT_SS_HELD) {
        /* -16 §3.2: a client may send capsules before the 2xx; held (as a
         * capsule is bounded: max_capsule) until the session is accepted. */
        if (!hold_early_caps(s, data, len))
            session_malformed(s, H3_WIRE_ERROR(H3_EXCESSIVE_LOAD));
        return;
    }
    while (off < len) {
        if (s->state != WT_SS_OPEN && !(s->state == WT_SS_CLOSED && s->reader.closed))
            return;
        size_t used = 0;
        h3_capsule_event ev;
        int rc = h3_capsule_reader_feed(&s->reader, data + off, len - off, &used, &ev);
        if (rc < 0) {
            /* §5: bytes after the close capsule, or a malformed capsule. */
            session_malformed(s, rc);
            return;
        }
        off += used;
        if (ev.type == H3_CEV_CAPSULE) {
            const wt_dialect_info *di = wt_dialect_get(s->dialect);
            uint64_t t = ev.capsule.type;
            if (t == H3_CAPSULE_DATAGRAM) {
                datagram_in(s, ev.capsule.value, ev.capsule.value_len);
            } else if (t == H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION) {
                wt_session_terminate(s, ev.capsule.error_code, ev.capsule.data,
                                     ev.capsule.data_len);
            } else if (t == H3_CAPSULE_WT_DRAIN_SESSION && di != NULL && di->has_drain) {
                if (s->state == WT_SS_OPEN && ep->cb.on_session_draining != NULL)
                    ep->cb.on_session_draining(ep->cb.user, s);
            } else if (wt_fc_is_capsule(t) && s->fc) {
                if (!fc_capsule_in(s, t, ev.capsule.value_int))
                    return;
            } else if ((t == H3_CAPSULE_WT_MAX_STREAM_DATA ||
                        t == H3_CAPSULE_WT_STREAM_DATA_BLOCKED) &&
                       di != NULL && di->has_flow_control) {
                /* -13..-16 §5.4: "a session error"; the drafts define it no
                 * further: the session ends as for a malformed capsule. */
                session_malformed(s, H3_WIRE_ERROR(H3_MESSAGE_ERROR));
                return;
            }
            /* -13..-16 §5.1: with flow control off, WT_MAX_DATA, WT_MAX_STREAMS
             * and the *_BLOCKED capsules MUST be ignored; in earlier dialects
             * they are unknown types, skipped. */
            /* REGISTER_DATAGRAM_NO_CONTEXT (Chromium sends 0xff37a2 at once): nothing to do. */
        } else if (ev.type == H3_CEV_NONE && used == 0) {
            break;
        }
    }
    (void)ep;
}

static void cb_data(void *user, uint64_t id, const uint8_t *data, size_t len)
{
    wt_endpoint *ep = user;
    wt_enter(ep);
    wt_session *s = wt_session_find(ep, id);
    if (s != NULL)
        capsules_in(s, data, len);
    else if (ep->chain.on_data != NULL)
        ep->chain.on_data(ep->chain.user, id, data, len);
    wt_leave(ep);
}

static void cb_end(void *user, uint64_t id)
{
    wt_endpoint *ep = user;
    wt_enter(ep);
    wt_session *s = wt_session_find(ep, id);
    if (s != NULL) {
        /* A capsule cut short by the FIN is malformed (RFC 9297 §3.3); the
         * session ends either way, with code 0 unless a close capsule came. */
        if (s->state == WT_SS_OPEN && h3_capsule_reader_finish(&s->reader) != 0)
            h3_conn_reset_stream(ep->h3, id, H3_MESSAGE_ERROR);
        wt_session_recv_done(s);
    } else if (ep->chain.on_end != NULL) {
        ep->chain.on_end(ep->chain.user, id);
    }
    wt_leave(ep);
}

static void cb_stream_reset(void *user, uint64_t id, uint64_t code, bool local)
{
    wt_endpoint *ep = user;
    wt_enter(ep);
    wt_session *s = wt_session_find(ep, id);
    if (s != NULL) {
        /* h3 reset our side of the CONNECT stream too. */
        s->send_done = true;
        wt_session_recv_done(s);
    } else if (!wt_stream_on_reset(ep, id, code) && ep->chain.on_stream_reset != NULL) {
        ep->chain.on_stream_reset(ep->chain.user, id, code, local);
    }
    wt_leave(ep);
}

static void cb_stop_sending(void *user, uint64_t id, uint64_t code)
{
    wt_endpoint *ep = user;
    wt_enter(ep);
    wt_session *s = wt_session_find(ep, id);
    if (s != NULL && s->state == WT_SS_CONNECTING) {
        /* RFC 9114 §4.1: a server may answer and then stop reading the
         * request; the response (e.g. a 404 in the same packet) still comes. */
        s->send_done = true;
        s->stopped = true;
    } else if (s != NULL) {
        /* The CONNECT stream closed abruptly: the session is over (§5). */
        s->send_done = true;
        wt_session_terminate(s, 0, NULL, 0);
        if (!s->recv_done) {
            h3_conn_reset_stream(ep->h3, id, code);
            wt_session_recv_done(s);
        }
    } else if (!wt_stream_on_stop_sending(ep, id, code) && ep->chain.on_stop_sending != NULL) {
        ep->chain.on_stop_sending(ep->chain.user, id, code);
    }
    wt_leave(ep);
}

static void cb_datagram(void *user, uint64_t id, const uint8_t *data, size_t len)
{
    wt_endpoint *ep = user;
    wt_enter(ep);
    wt_session *s = wt_session_find(ep, id);
    if (s != NULL)
        datagram_in(s, data, len);
    else if (ep->chain.on_datagram != NULL)
        ep->chain.on_datagram(ep->chain.user, id, data, len);
    wt_leave(ep);
}

/* draft-ietf-webtrans-http3-02 §3.1, §6: nothing is sent or processed before the peer's SETTINGS.
 */
static void cb_settings(void *user, const h3_settings *peer)
{
    wt_endpoint *ep = user;
    wt_enter(ep);
    ep->peer_settings = true;
    ep->common = wt_dialects_offered(peer, !ep->cfg.is_server) & wt_cfg_dialects(&ep->cfg);
    if (ep->no_peer_rsa) /* -13..-16 §3.1: reset_stream_at is required */
        for (size_t i = 0; i < WT_DIALECT_COUNT; i++)
            if (wt_dialect_get(wt_dialects_by_age[i])->needs_reset_stream_at)
                ep->common &= ~WT_DIALECT_BIT(wt_dialects_by_age[i]);
    ep->peer_wt = ep->common != 0;
    if (ep->chain.on_settings != NULL)
        ep->chain.on_settings(ep->chain.user, peer);
    wt_session *next;
    for (wt_session *s = ep->sessions; s != NULL; s = next) {
        next = s->next;
        if (s->state == WT_SS_HELD) {
            wt_server_process(s);
        } else if (s->state == WT_SS_QUEUED) {
            if (!ep->peer_wt || wt_client_send(s) != WT_OK)
                wt_session_terminate(s, 0, NULL, 0);
        }
    }
    wt_leave(ep);
}

static void cb_goaway(void *user, uint64_t id)
{
    wt_endpoint *ep = user;
    if (ep->chain.on_goaway != NULL)
        ep->chain.on_goaway(ep->chain.user, id);
}

static void cb_conn_error(void *user, uint64_t code, const char *reason)
{
    wt_endpoint *ep = user;
    wt_enter(ep);
    wt_session *next;
    for (wt_session *s = ep->sessions; s != NULL; s = next) {
        next = s->next;
        s->send_done = true;
        s->recv_done = true;
        wt_session_terminate(s, 0, NULL, 0);
        wt_session_kill(s);
    }
    if (ep->chain.on_conn_error != NULL)
        ep->chain.on_conn_error(ep->chain.user, code, reason);
    wt_leave(ep);
}

static int cb_ext_stream(void *user, uint64_t id, uint64_t type, uint64_t session_id,
                         const uint8_t *data, size_t len, bool fin)
{
    wt_endpoint *ep = user;
    if (type != H3_FRAME_WEBTRANSPORT_STREAM && type != H3_STREAM_WEBTRANSPORT) {
        if (ep->chain.on_ext_stream != NULL)
            return ep->chain.on_ext_stream(ep->chain.user, id, type, session_id, data, len, fin);
        return 1;
    }
    wt_enter(ep);
    int rc = wt_stream_on_ext(ep, id, type, session_id, data, len, fin);
    wt_leave(ep);
    return rc;
}

/* ---- Endpoint ---- */

/* draft-ietf-webtrans-http3-02 §3.1; RFC 9297 §2.1.1; draft-ietf-masque-h3-datagram-04 §5 */
QUINCE_API void wt_config_h3(const wt_config *cfg, h3_config *h3cfg)
{
    if (cfg == NULL || h3cfg == NULL)
        return;
    size_t uni = 3 + 2 * cfg->max_sessions + cfg->max_buffered_streams;
    if (h3cfg->max_peer_uni < uni)
        h3cfg->max_peer_uni = uni;
    h3cfg->ext_streams = true;
    uint32_t mask = wt_cfg_dialects(cfg);
    bool no_ecp = cfg->test_no_connect_protocol && mask == WT_DIALECT_BIT(WT_DRAFT_02);
    wt_dialects_put_settings(mask, cfg, no_ecp, &h3cfg->settings);
}

/* draft-ietf-webtrans-http3-02 §3.1 */
QUINCE_API wt_endpoint *wt_endpoint_new(const quince_env *env, const wt_config *cfg, h3_conn *h3,
                                        const wt_callbacks *cb)
{
    if (env == NULL || cfg == NULL || h3 == NULL)
        return NULL;
    wt_endpoint *ep = quince_env_alloc(env, sizeof(*ep));
    if (ep == NULL)
        return NULL;
    memset(ep, 0, sizeof(*ep));
    ep->env = env;
    ep->cfg = *cfg;
    if (ep->cfg.max_capsule < H3_CAPSULE_READER_MIN_MAX)
        ep->cfg.max_capsule = H3_CAPSULE_READER_MIN_MAX;
    if (cb != NULL)
        ep->cb = *cb;
    ep->h3 = h3;
    /* -13..-16 §5.1: which dialects our SETTINGS (wt_config_h3) enable flow control in. */
    h3_settings ours;
    h3_settings_init(&ours);
    wt_dialects_put_settings(wt_cfg_dialects(cfg), cfg, false, &ours);
    for (size_t i = 0; i < WT_DIALECT_COUNT; i++)
        if (wt_dialect_fc_intent(wt_dialects_by_age[i], &ours))
            ep->fc_ours |= WT_DIALECT_BIT(wt_dialects_by_age[i]);
    /* Events of streams that are not WebTransport's go on to the callbacks the
     * h3_conn had (the application's). */
    ep->chain = *h3_conn_callbacks(h3);
    h3_callbacks mine = {
        .user = ep,
        .on_headers = cb_headers,
        .on_data = cb_data,
        .on_end = cb_end,
        .on_stream_reset = cb_stream_reset,
        .on_stop_sending = cb_stop_sending,
        .on_datagram = cb_datagram,
        .on_settings = cb_settings,
        .on_goaway = cb_goaway,
        .on_conn_error = cb_conn_error,
        .on_ext_stream = cb_ext_stream,
    };
    h3_conn_set_callbacks(h3, &mine);
    return ep;
}

/* draft-ietf-webtrans-http3-02 §4.5 */
QUINCE_API void wt_endpoint_set_budget(wt_endpoint *ep, struct quince_budget *budget)
{
    ep->budget = budget;
    for (wt_session *s = ep->sessions; s != NULL; s = s->next)
        s->reader.budget = budget;
}

/* (no RFC section) */
QUINCE_API void wt_endpoint_free(wt_endpoint *ep)
{
    if (ep == NULL)
        return;
    /* Let the application release its per-stream and per-session state. */
    ep->depth++;
    for (wt_stream *st = ep->streams; st != NULL; st = st->next)
        if (st->session != NULL && !st->app_closed && ep->cb.on_stream_closed != NULL)
            ep->cb.on_stream_closed(ep->cb.user, st);
    for (wt_session *s = ep->sessions; s != NULL; s = s->next)
        if (s->state == WT_SS_OPEN && ep->cb.on_session_closed != NULL)
            ep->cb.on_session_closed(ep->cb.user, s, 0, NULL, 0);
    wt_free_all(ep);
    /* The h3_conn is the embedder's: give it its callbacks back. */
    h3_conn_set_callbacks(ep->h3, &ep->chain);
    quince_env_free(ep->env, ep);
}

/* (no RFC section) */
QUINCE_API h3_conn *wt_endpoint_h3(wt_endpoint *ep)
{
    return ep->h3;
}

/* (no RFC section) */
QUINCE_API const quince_env *wt_endpoint_env(const wt_endpoint *ep)
{
    return ep->env;
}

/* draft-ietf-webtrans-http3-02 §4.4 */
QUINCE_API void wt_endpoint_set_max_datagram_frame(wt_endpoint *ep, size_t n)
{
    ep->cfg.max_datagram_frame = n;
}

/* draft-ietf-quic-reliable-stream-reset-07 §3 */
QUINCE_API void wt_endpoint_set_peer_reset_stream_at(wt_endpoint *ep, bool on)
{
    ep->no_peer_rsa = !on;
}

/* (no RFC section) */
QUINCE_API size_t wt_endpoint_session_count(const wt_endpoint *ep)
{
    return ep->nsessions;
}

/* draft-ietf-webtrans-http3-02 §4.5 */
QUINCE_API size_t wt_endpoint_buffered_streams(const wt_endpoint *ep)
{
    return ep->nbuffered;
}

/* ---- Session API ---- */

/* draft-ietf-webtrans-http3-02 §2 */
QUINCE_API uint64_t wt_session_id(const wt_session *s)
{
    return s->id;
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API bool wt_session_is_ready(const wt_session *s)
{
    return s->state == WT_SS_OPEN;
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API const char *wt_session_path(const wt_session *s)
{
    return s->path ? s->path : "";
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API const char *wt_session_authority(const wt_session *s)
{
    return s->authority ? s->authority : "";
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API const char *wt_session_origin(const wt_session *s)
{
    return s->origin ? s->origin : "";
}

/* draft-ietf-webtrans-http3-02 §3.1 */
QUINCE_API wt_dialect wt_session_dialect(const wt_session *s)
{
    return s->dialect;
}

/* draft-ietf-webtrans-http3-16 §3.3 */
QUINCE_API size_t wt_session_protocol_count(const wt_session *s)
{
    return s->navail;
}

/* draft-ietf-webtrans-http3-16 §3.3 */
QUINCE_API const char *wt_session_protocol_at(const wt_session *s, size_t i)
{
    if (i >= s->navail)
        return NULL;
    const char *p = s->avail;
    while (i-- > 0)
        p += strlen(p) + 1;
    return p;
}

/* draft-ietf-webtrans-http3-16 §3.3 */
QUINCE_API int wt_session_select_protocol(wt_session *s, const char *p)
{
    if (!s->ep->cfg.is_server || s->state != WT_SS_HELD || p == NULL)
        return WT_ERR_STATE;
    for (size_t i = 0; i < s->navail; i++) {
        if (strcmp(wt_session_protocol_at(s, i), p) == 0) {
            quince_env_free(s->ep->env, s->protocol);
            s->protocol = wt_dup_field(s->ep, (const uint8_t *)p, strlen(p));
            return s->protocol != NULL ? WT_OK : WT_ERR_NOMEM;
        }
    }
    return WT_ERR_ARG;
}

/* draft-ietf-webtrans-http3-16 §3.3 */
QUINCE_API const char *wt_session_protocol(const wt_session *s)
{
    return s->protocol;
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API int wt_session_not_found_status(const wt_session *s)
{
    const wt_dialect_info *di = wt_dialect_get(s->dialect);
    return di != NULL ? di->not_found_status : 404;
}

/* draft-ietf-webtrans-http3-02 §3.1 */
QUINCE_API uint32_t wt_endpoint_common_dialects(const wt_endpoint *ep)
{
    return ep->common;
}

/* draft-ietf-webtrans-http3-02 §3.1 */
QUINCE_API size_t wt_endpoint_describe_peer_settings(const wt_endpoint *ep, char *buf, size_t cap)
{
    const h3_settings *ps = h3_conn_peer_settings(ep->h3);
    if (ps == NULL) {
        if (cap > 0)
            buf[0] = 0;
        return 0;
    }
    return wt_settings_describe(ps, true, buf, cap);
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API int wt_session_status(const wt_session *s)
{
    return s->status;
}

/* (no RFC section) */
QUINCE_API void wt_session_set_user(wt_session *s, void *user)
{
    s->user = user;
}

/* (no RFC section) */
QUINCE_API void *wt_session_user(const wt_session *s)
{
    return s->user;
}

/* (no RFC section) */
QUINCE_API wt_endpoint *wt_session_endpoint(const wt_session *s)
{
    return s->ep;
}

/* draft-ietf-webtrans-http3-02 §4.4 */
QUINCE_API size_t wt_session_max_datagram_payload(const wt_session *s)
{
    size_t max = s->ep->cfg.max_datagram_frame;
    size_t prefix = h3_datagram_prefix_len(s->id == UINT64_MAX ? 0 : s->id);
    return max > prefix ? max - prefix : 0;
}

/* draft-ietf-webtrans-http3-02 §4.4 */
QUINCE_API int wt_session_send_datagram(wt_session *s, const uint8_t *data, size_t len)
{
    if (s->state != WT_SS_OPEN)
        return WT_ERR_STATE;
    if (len > 0 && data == NULL)
        return WT_ERR_ARG;
    size_t max = wt_session_max_datagram_payload(s);
    if (max == 0)
        return WT_ERR_DATAGRAM;
    if (len > max)
        return WT_ERR_TOO_BIG;
    static const uint8_t none[1] = {0};
    int rc = h3_conn_send_datagram(s->ep->h3, s->id, data != NULL ? data : none, len);
    if (rc == H3_OK)
        wt_qlog_datagram(s, true, len);
    if (rc == H3_ERR_DATAGRAM)
        return WT_ERR_DATAGRAM;
    if (rc == H3_ERR_NOMEM)
        return WT_ERR_NOMEM;
    return rc == H3_OK ? WT_OK : WT_ERR_H3;
}

/* draft-ietf-webtrans-http3-07 §4.6, -16 §4.7 */
QUINCE_API int wt_session_drain(wt_session *s)
{
    const wt_dialect_info *di = wt_dialect_get(s->dialect);
    if (s->state != WT_SS_OPEN || s->send_done || di == NULL || !di->has_drain)
        return WT_ERR_STATE;
    uint8_t buf[8];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    h3_capsule_put_drain(&w);
    int rc = h3_conn_send_data(s->ep->h3, s->id, buf, (size_t)(w.p - buf), false);
    return rc == H3_OK ? WT_OK : rc == H3_ERR_NOMEM ? WT_ERR_NOMEM : WT_ERR_H3;
}

/* draft-ietf-webtrans-http3-02 §5 */
QUINCE_API int wt_session_close(wt_session *s, uint32_t code, const uint8_t *reason,
                                size_t reason_len)
{
    if (reason_len > H3_CLOSE_WT_MAX_MESSAGE || (reason_len > 0 && reason == NULL))
        return WT_ERR_ARG;
    if (s->state != WT_SS_OPEN)
        return WT_ERR_STATE;
    wt_endpoint *ep = s->ep;
    /* On the heap: up to 1 KB of reason would put this frame over the 1 KB a core
     * function may take (tests/stack/check_stack.py). */
    size_t cap = WT_CLOSE_CAPSULE_MAX - H3_CLOSE_WT_MAX_MESSAGE + reason_len;
    uint8_t *buf = quince_env_alloc(ep->env, cap);
    if (buf == NULL)
        return WT_ERR_NOMEM;
    quince_writer w = quince_writer_init(buf, cap);
    if (!h3_capsule_put_close_wt(&w, code, reason, reason_len)) {
        quince_env_free(ep->env, buf);
        return WT_ERR_ARG;
    }
    wt_enter(ep);
    int rc = h3_conn_send_data(ep->h3, s->id, buf, (size_t)(w.p - buf), true);
    quince_env_free(ep->env, buf);
    s->send_done = true;
    ep->closing_local = true;
    wt_session_terminate(s, code, reason, reason_len);
    ep->closing_local = false;
    wt_leave(ep);
    return rc == H3_OK ? WT_OK : WT_ERR_H3;
}

/* draft-ietf-webtrans-http3-02 §5: every session's close capsule, at shutdown. */
QUINCE_API size_t wt_endpoint_close_all(wt_endpoint *ep, uint32_t code, const char *reason)
{
    if (ep == NULL)
        return 0;
    size_t n = 0, rl = reason != NULL ? strlen(reason) : 0;
    wt_enter(ep);
    for (;;) {
        wt_session *s = ep->sessions;
        while (s != NULL && s->state != WT_SS_OPEN)
            s = s->next;
        if (s == NULL)
            break;
        int rc = wt_session_close(s, code, (const uint8_t *)reason, rl);
        if (rc == WT_ERR_ARG)
            break; /* nothing changed: a reason over 1024 bytes */
        n += rc == WT_OK;
    }
    wt_leave(ep);
    return n;
}

/* draft-ietf-webtrans-http3-16 §5.4: the transport took bytes off a stream's
 * buffer; held bytes may follow. */
QUINCE_API void wt_endpoint_on_writable(wt_endpoint *ep, uint64_t stream_id)
{
    if (ep == NULL)
        return;
    wt_stream *st = wt_stream_find(ep, stream_id);
    if (st == NULL || st->session == NULL || (st->held.len == 0 && !st->held_fin))
        return;
    wt_enter(ep);
    wt_stream_push_held(st);
    wt_leave(ep);
}
