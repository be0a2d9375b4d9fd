/* One connection of the binding: a quic_conn with its h3_conn and WebTransport, and its event
 * drain. */
#include <string.h>

#include "bind/internal.h"
#include "quic/error.h"

QUINCE_API void bind_config_init(bind_config *cfg, bool is_server)
{
    static const char *const alpn_h3[] = {"h3", NULL};
    memset(cfg, 0, sizeof(*cfg));
    cfg->quic.is_server = is_server;
    cfg->quic.tls.alpn = alpn_h3;
    cfg->h3 = QUINCE_H3;
#if QUINCE_H3
    h3_config_init(&cfg->h3cfg, is_server);
#endif
    cfg->webtransport = false;
#if QUINCE_WT
    wt_config_init(&cfg->wtcfg, is_server);
#endif
}

static void maybe_start(bind_conn *bc);

#if QUINCE_H3

/* ---- h3_transport on quic_conn ---- */

/* RFC 9000 §2.1: h3's control, QPACK and request streams are QUIC streams of ours. */
static int tp_open_stream(void *user, bool bidi, uint64_t *stream_id)
{
    bind_conn *bc = user;
    return quic_conn_open_stream(bc->qc, bidi, stream_id) == QUIC_OK ? 0 : -1;
}

static int64_t tp_write(void *user, uint64_t stream_id, const uint8_t *data, size_t len, bool fin)
{
    bind_conn *bc = user;
    int64_t n = quic_stream_write(bc->qc, stream_id, data, len, fin);
    if (n < 0) {
        /* RFC 9000 §3.5: QUIC resets a stream as soon as the peer's STOP_SENDING
         * arrives, before h3 sees the event (a WRITABLE event queued earlier may
         * come first); the connection may be closing too. Nothing is taken, as
         * if the stream were blocked: h3 holds the bytes (and the application
         * waits) until the STOP_SENDING or CLOSED event tells it. h3 writes
         * only to streams it opened or was given. */
        bc->stats.writes_refused++;
        return 0;
    }
    bc->stats.bytes_out += (uint64_t)n;
    return n;
}

/* RFC 9114 §4.1.1: the HTTP/3 code travels as the QUIC application error code. */
static int tp_reset_stream(void *user, uint64_t stream_id, uint64_t h3_code)
{
    bind_conn *bc = user;
    return quic_stream_reset(bc->qc, stream_id, h3_code) == QUIC_OK ? 0 : -1;
}

/* draft-ietf-quic-reliable-stream-reset-10 §5 (WebTransport -13..-16 §4.4: the stream header
 * stays reliable). */
static int tp_reset_stream_at(void *user, uint64_t stream_id, uint64_t h3_code, uint64_t reliable)
{
    bind_conn *bc = user;
    return quic_stream_reset_at(bc->qc, stream_id, h3_code, reliable) == QUIC_OK ? 0 : -1;
}

/* RFC 9000 §4.5: what a reset of ours said the stream's final size was. */
static int tp_reset_final_size(void *user, uint64_t stream_id, uint64_t *size)
{
    bind_conn *bc = user;
    return quic_stream_reset_final_size(bc->qc, stream_id, size) == QUIC_OK ? 0 : -1;
}

static int tp_stop_sending(void *user, uint64_t stream_id, uint64_t h3_code)
{
    bind_conn *bc = user;
    return quic_stream_stop_sending(bc->qc, stream_id, h3_code) == QUIC_OK ? 0 : -1;
}

/* RFC 9297 §2.1: HTTP Datagrams are QUIC DATAGRAM frames (RFC 9221). */
static int tp_send_datagram(void *user, const uint8_t *data, size_t len)
{
    bind_conn *bc = user;
    return quic_conn_send_datagram(bc->qc, data, len) == QUIC_OK ? 0 : -1;
}

/* RFC 9001 §4.6.1, RFC 8470 §5.2: h3 and wt learn which requests came (or went) in 0-RTT. */
static bool tp_stream_early(void *user, uint64_t stream_id)
{
    bind_conn *bc = user;
    if (stream_id == bc->rx_stream)
        return bc->rx_early;
    return quic_stream_early(bc->qc, stream_id);
}

/* RFC 9001 §4.6.1: a client's writes go in 0-RTT now (h3 keeps unsafe requests out). */
static bool tp_early_now(void *user)
{
    bind_conn *bc = user;
    return quic_conn_early_data_ready(bc->qc);
}

/* RFC 9114 §8: connection errors close QUIC with the HTTP/3 code. */
static void tp_close(void *user, uint64_t h3_code, const char *reason)
{
    bind_conn *bc = user;
    quic_conn_close(bc->qc, h3_code, reason, bc->now);
}

#endif /* QUINCE_H3 */

/* ---- Creation ---- */

/* The h3_conn (and wt_endpoint) of a connection whose user pointer is known. */
static int build_layers(bind_conn *bc)
{
    const bind_config *cfg = bc->cfg;
    if (!cfg->h3)
        return BIND_OK;
#if !QUINCE_H3
    return BIND_ERR_ARG; /* bind_config_resolve refuses it first */
#else
    bool is_server = cfg->quic.is_server;
    h3_config hc = cfg->h3cfg;
    hc.is_server = is_server;
#if QUINCE_WT
    wt_config wc = cfg->wtcfg;
    wc.is_server = is_server;
    if (cfg->webtransport)
        wt_config_h3(&wc, &hc);
#endif
    h3_transport tp = {.user = bc,
                       .open_stream = tp_open_stream,
                       .write = tp_write,
                       .reset_stream = tp_reset_stream,
                       .stop_sending = tp_stop_sending,
                       .send_datagram = tp_send_datagram,
                       .close = tp_close,
                       .reset_stream_at = tp_reset_stream_at,
                       .reset_final_size = tp_reset_final_size,
                       .stream_early = tp_stream_early,
                       .early_now = tp_early_now};
    h3_callbacks hcb = cfg->h3cb;
    hcb.user = bc->user;
    bc->h3 = h3_conn_new(bc->env, &hc, &tp, &hcb);
    if (bc->h3 == NULL)
        return BIND_ERR_NOMEM;
    /* One qlog trace for every layer of the connection, and one memory budget for what
     * the peer makes any of them hold (docs/ARCHITECTURE.md "Limits"). */
    h3_conn_set_qlog(bc->h3, quic_conn_qlog(bc->qc));
    h3_conn_set_budget(bc->h3, quic_conn_budget(bc->qc));
#if QUINCE_WT
    if (cfg->webtransport) {
        wt_callbacks wcb = cfg->wtcb;
        wcb.user = bc->user;
        bc->wt = wt_endpoint_new(bc->env, &wc, bc->h3, &wcb);
        if (bc->wt == NULL)
            return BIND_ERR_NOMEM;
        wt_endpoint_set_qlog(bc->wt, quic_conn_qlog(bc->qc));
        wt_endpoint_set_budget(bc->wt, quic_conn_budget(bc->qc));
    }
#endif
    return BIND_OK;
#endif /* QUINCE_H3 */
}

static void free_layers(bind_conn *bc)
{
#if QUINCE_WT
    wt_endpoint_free(bc->wt);
#endif
    bc->wt = NULL;
#if QUINCE_H3
    h3_conn_free(bc->h3);
#endif
    bc->h3 = NULL;
}

bool bind_config_resolve(const bind_config *cfg, bool is_server, bind_config *out)
{
    if (cfg == NULL || (cfg->webtransport && !cfg->h3) || cfg->quic.is_server != is_server)
        return false;
    /* A feature left out of the build (base/opt.h) cannot be asked for. */
    if ((cfg->h3 && !QUINCE_H3) || (cfg->webtransport && !QUINCE_WT) ||
        (is_server ? !QUINCE_SERVER : !QUINCE_CLIENT))
        return false;
    if (out != cfg)
        *out = *cfg;
    /* RFC 9221 §3: WebTransport datagrams need the DATAGRAM extension. */
    if (out->webtransport && out->quic.max_datagram_frame_size == 0)
        out->quic.max_datagram_frame_size = 65535;
    /* WebTransport -13..-16 §3.1: both sides offer reset_stream_at. */
    if (out->webtransport)
        out->quic.reset_stream_at = true;
    return true;
}

bind_conn *bind_conn_adopt(const quince_env *env, const bind_config *cfg, bind_server *server,
                           quic_conn *qc, uint64_t now)
{
    bind_conn *bc = quince_env_calloc(env, sizeof(*bc));
    if (bc == NULL)
        return NULL;
    bc->env = env;
    bc->cfg = cfg;
    bc->server = server;
    bc->qc = qc;
    bc->now = now;
    bc->rx_stream = UINT64_MAX;
    quic_conn_set_user(qc, bc);
    bc->user = cfg->cb.user;
    /* No events until the application has its user pointer and the layers exist
     * (on_conn_new may close the connection). */
    bc->draining = true;
    if (cfg->cb.on_conn_new != NULL)
        bc->user = cfg->cb.on_conn_new(cfg->cb.user, bc);
    int rc = build_layers(bc);
    bc->draining = false;
    if (rc != BIND_OK) {
        /* on_conn_free answers every on_conn_new. */
        if (cfg->cb.on_conn_free != NULL)
            cfg->cb.on_conn_free(cfg->cb.user, bc);
        free_layers(bc);
        quic_conn_set_user(qc, NULL);
        quince_env_free(env, bc);
        return NULL;
    }
    return bc;
}

#if QUINCE_CLIENT
QUINCE_API bind_conn *bind_conn_client_new(const quince_env *env, const bind_config *cfg,
                                           const quic_addr *local, const quic_addr *remote,
                                           uint64_t now)
{
    if (env == NULL || cfg == NULL)
        return NULL;
    /* Resolved straight into its own copy: a bind_config is 1.2 KB, too much
     * for the stack twice. */
    bind_config *own = quince_env_alloc(env, sizeof(*own));
    if (own == NULL)
        return NULL;
    if (!bind_config_resolve(cfg, false, own)) {
        quince_env_free(env, own);
        return NULL;
    }
    quic_conn *qc = quic_conn_client_new(env, &own->quic, local, remote, now);
    if (qc == NULL) {
        quince_env_free(env, own);
        return NULL;
    }
    bind_conn *bc = bind_conn_adopt(env, own, NULL, qc, now);
    if (bc == NULL) {
        quic_conn_free(qc);
        quince_env_free(env, own);
        return NULL;
    }
    bc->cfg_own = own;
    /* 0-RTT (RFC 9114 §7.2.4.2): HTTP/3 starts now, so that what the
     * application writes before the first send goes with the Initial. */
    maybe_start(bc);
    return bc;
}
#endif

void bind_conn_release(bind_conn *bc)
{
    if (bc->cfg->cb.on_conn_free != NULL)
        bc->cfg->cb.on_conn_free(bc->cfg->cb.user, bc);
    free_layers(bc);
    quic_conn_set_user(bc->qc, NULL);
    quince_env_free(bc->env, bc);
}

QUINCE_API void bind_conn_free(bind_conn *bc)
{
    if (bc == NULL || bc->server != NULL)
        return;
    quic_conn *qc = bc->qc;
    bind_config *own = bc->cfg_own;
    const quince_env *env = bc->env;
    bind_conn_release(bc);
    quic_conn_free(qc);
    quince_env_free(env, own);
}

/* ---- The drain ---- */

/* RFC 9114 §6.2.1: the control and QPACK streams, once the peer's stream
 * limits are known: the handshake is established, or a client sends 0-RTT
 * under the limits its session remembered (RFC 9114 §7.2.4.2). */
static void maybe_start(bind_conn *bc)
{
    if (bc->started || bc->h3 == NULL ||
        !(quic_conn_is_established(bc->qc) || quic_conn_early_data_ready(bc->qc)))
        return;
    bc->started = true;
#if QUINCE_H3
    h3_conn_start(bc->h3);
#endif
}

/* RFC 9221 §3: the peer's max_datagram_frame_size bounds our DATAGRAM payloads.
 * WebTransport -13..-16 §3.1 need its reset_stream_at too: told once the
 * handshake has the peer's transport parameters (before its SETTINGS, which
 * come in 1-RTT packets), not at a 0-RTT start. */
static void update_dgram(bind_conn *bc)
{
    if (bc->wt == NULL)
        return;
#if QUINCE_WT
    if (!bc->peer_tp_told && quic_conn_is_established(bc->qc)) {
        bc->peer_tp_told = true;
        wt_endpoint_set_peer_reset_stream_at(bc->wt, quic_conn_peer_reset_stream_at(bc->qc));
    }
#endif
    size_t n = quic_conn_max_datagram_payload(bc->qc);
    if (n != bc->dgram_max) {
        bc->dgram_max = n;
#if QUINCE_WT
        wt_endpoint_set_max_datagram_frame(bc->wt, n);
#endif
    }
}

#if QUINCE_H3

/* Move a readable stream's bytes into h3 until QUIC has nothing more (the
 * READABLE event is edge-triggered: it comes again only after a read found
 * the buffer empty). */
static void drain_stream(bind_conn *bc, uint64_t stream_id)
{
    /* Held only while the stream drains: an idle connection keeps no buffer. */
    uint8_t *buf = quince_env_alloc(bc->env, BIND_OPT_READ_CHUNK);
    if (buf == NULL) {
        /* Nothing was read, so the event comes again with the next data;
         * meanwhile tell h3 of the failure as for its own allocations. */
        h3_conn_close(bc->h3, H3_INTERNAL_ERROR, "out of memory");
        return;
    }
    for (;;) {
        bool fin = false;
        /* A read that ends both halves lets QUIC forget the stream: ask first. */
        bool early = quic_stream_early(bc->qc, stream_id);
        int64_t n = quic_stream_read(bc->qc, stream_id, buf, BIND_OPT_READ_CHUNK, &fin);
        if (n < 0)
            break; /* reset (the RESET event reports it) or already forgotten */
        if (n == 0 && !fin)
            break;
        bc->stats.bytes_in += (uint64_t)n;
        bc->rx_stream = stream_id;
        bc->rx_early = early;
        int rc = h3_conn_on_stream_data(bc->h3, stream_id, buf, (size_t)n, fin);
        bc->rx_stream = UINT64_MAX;
        if (rc == H3_ERR_CLOSED || rc == H3_ERR_NOMEM || fin)
            break;
    }
    quince_env_free(bc->env, buf);
}

/* A stream or datagram event for h3 (RFC 9114 §4.1, §6; RFC 9297 §2.1). */
static void h3_event(bind_conn *bc, const quic_event *ev)
{
    switch (ev->type) {
    case QUIC_EVENT_STREAM_READABLE:
        drain_stream(bc, ev->stream_id);
        break;
    case QUIC_EVENT_STREAM_RESET:
        h3_conn_on_stream_reset(bc->h3, ev->stream_id, ev->error_code, ev->final_size);
        /* A read after the reset lets QUIC forget the stream's receive half. */
        {
            uint8_t none;
            (void)quic_stream_read(bc->qc, ev->stream_id, &none, 0, NULL);
        }
        break;
    case QUIC_EVENT_STREAM_STOP_SENDING:
        h3_conn_on_stop_sending(bc->h3, ev->stream_id, ev->error_code);
        break;
    case QUIC_EVENT_STREAM_WRITABLE:
        if (h3_conn_on_writable(bc->h3, ev->stream_id) == H3_ERR_CLOSED)
            break;
#if QUINCE_WT
        /* Bytes WebTransport held for session credit that h3 could not take. */
        if (bc->wt != NULL)
            wt_endpoint_on_writable(bc->wt, ev->stream_id);
#endif
        if (bc->cfg->cb.on_writable != NULL)
            bc->cfg->cb.on_writable(bc->cfg->cb.user, bc, ev->stream_id);
        break;
    case QUIC_EVENT_DATAGRAM:
        h3_conn_on_datagram(bc->h3, ev->data, ev->len);
        break;
    default:
        break;
    }
}
#endif /* QUINCE_H3 */

void bind_conn_drain(bind_conn *bc, uint64_t now)
{
    bc->now = now;
    if (bc->draining)
        return;
    bc->draining = true;
    const bind_callbacks *cb = &bc->cfg->cb;
    maybe_start(bc);
    update_dgram(bc);
    quic_event ev;
    while (quic_conn_poll_event(bc->qc, &ev)) {
        update_dgram(bc);
        switch (ev.type) {
        case QUIC_EVENT_HANDSHAKE_DONE:
            maybe_start(bc);
            if (cb->on_handshake_done != NULL)
                cb->on_handshake_done(cb->user, bc);
            break;
        case QUIC_EVENT_CLOSED:
            if (cb->on_closed != NULL)
                cb->on_closed(cb->user, bc, &ev);
            break;
        case QUIC_EVENT_STREAM_OPENED:
            /* h3 learns of a peer's stream from its first bytes. */
            if (bc->h3 == NULL && cb->on_quic_event != NULL)
                cb->on_quic_event(cb->user, bc, &ev);
            break;
        default:
#if QUINCE_H3
            if (bc->h3 != NULL)
                h3_event(bc, &ev);
            else
#endif
                if (cb->on_quic_event != NULL)
                cb->on_quic_event(cb->user, bc, &ev);
            break;
        }
    }
    bc->draining = false;
}

/* ---- Driving one connection ---- */

/* RFC 9000 §12: one received UDP payload. */
QUINCE_API int bind_conn_recv(bind_conn *bc, const quic_addr *from, const uint8_t *data, size_t len,
                              uint64_t now)
{
    return bind_conn_recv_ecn(bc, from, data, len, QUIC_ECN_NOT_ECT, now);
}

/* RFC 9000 §12, §13.4.1: one received UDP payload and its ECN codepoint. */
QUINCE_API int bind_conn_recv_ecn(bind_conn *bc, const quic_addr *from, const uint8_t *data,
                                  size_t len, uint8_t ecn, uint64_t now)
{
    if (bc == NULL || data == NULL)
        return BIND_ERR_ARG;
    bc->now = now;
    quic_conn_recv_ecn(bc->qc, from, data, len, ecn, now);
    bind_conn_drain(bc, now);
    return quic_conn_is_closed(bc->qc) ? BIND_ERR_CLOSED : BIND_OK;
}

/* RFC 9000 §12.2: the next datagram to send (bytes written, 0 when none). */
QUINCE_API int bind_conn_send(bind_conn *bc, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now)
{
    if (bc == NULL || buf == NULL)
        return BIND_ERR_ARG;
    bind_conn_drain(bc, now);
    int n = quic_conn_send(bc->qc, to, buf, cap, now);
    return n < 0 ? BIND_ERR_CLOSED : n;
}

/* RFC 9000 §13.4.2 */
QUINCE_API uint8_t bind_conn_ecn(const bind_conn *bc)
{
    return bc != NULL ? quic_conn_ecn(bc->qc) : QUIC_ECN_NOT_ECT;
}

QUINCE_API uint64_t bind_conn_next_timeout(const bind_conn *bc)
{
    return bc != NULL ? quic_conn_next_timeout(bc->qc) : QUIC_TIME_NEVER;
}

/* RFC 9002 §6, RFC 9000 §10.1: loss detection, PTO, idle and closing timers. */
QUINCE_API int bind_conn_on_timeout(bind_conn *bc, uint64_t now)
{
    if (bc == NULL)
        return BIND_ERR_ARG;
    bc->now = now;
    quic_conn_on_timeout(bc->qc, now);
    bind_conn_drain(bc, now);
    return quic_conn_is_closed(bc->qc) ? BIND_ERR_CLOSED : BIND_OK;
}

QUINCE_API quic_conn *bind_conn_quic(const bind_conn *bc)
{
    return bc != NULL ? bc->qc : NULL;
}

QUINCE_API h3_conn *bind_conn_h3(const bind_conn *bc)
{
    return bc != NULL ? bc->h3 : NULL;
}

QUINCE_API wt_endpoint *bind_conn_wt(const bind_conn *bc)
{
    return bc != NULL ? bc->wt : NULL;
}

QUINCE_API void *bind_conn_user(const bind_conn *bc)
{
    return bc != NULL ? bc->user : NULL;
}

QUINCE_API bool bind_conn_is_closed(const bind_conn *bc)
{
    return bc == NULL || quic_conn_is_closed(bc->qc);
}

/* RFC 9114 §5.2, RFC 9000 §10.2: an immediate close with an application code. */
QUINCE_API int bind_conn_close(bind_conn *bc, uint64_t app_code, const char *reason)
{
    if (bc == NULL)
        return BIND_ERR_ARG;
    int rc;
#if QUINCE_H3
    if (bc->h3 != NULL && h3_conn_error(bc->h3) == 0)
        rc = h3_conn_close(bc->h3, app_code, reason) == H3_OK ? BIND_OK : BIND_ERR_CLOSED;
    else
#endif
        rc = quic_conn_close(bc->qc, app_code, reason, bc->now) == QUIC_OK ? BIND_OK
                                                                           : BIND_ERR_CLOSED;
    /* The CLOSED event goes out now unless a drain is running (it will see it). */
    bind_conn_drain(bc, bc->now);
    return rc;
}

QUINCE_API const bind_conn_stats *bind_conn_get_stats(const bind_conn *bc)
{
    return bc != NULL ? &bc->stats : NULL;
}
