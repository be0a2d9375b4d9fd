/* The WebTransport endpoint (draft-ietf-webtrans-http3-02 §3.1): its configuration, and the
 * h3 connection's callbacks it takes over, each event handed to the session establishment
 * (wt/connect.c), a session (wt/session_recv.c, wt/session.c) or a stream (wt/stream_recv.c),
 * or passed on to the callbacks the connection had. */
#include <string.h>

#include "wt/connect.h"
#include "wt/dialect.h"
#include "wt/internal.h"
#include "wt/lifetime.h"
#include "wt/opt.h"
#include "wt/session.h"
#include "wt/session_recv.h"
#include "wt/stream.h"
#include "wt/stream_recv.h"

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

static void cb_data(void *user, uint64_t id, const uint8_t *data, size_t len)
{
    wt_endpoint *ep = user;
    wt_enter(ep);
    wt_session *s = wt_session_find(ep, id);
    if (s != NULL)
        wt_session_capsules_in(s, data, len);
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
        wt_session_datagram_in(s, data, len);
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
