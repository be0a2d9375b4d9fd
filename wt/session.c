/* WebTransport over HTTP/3 (draft-ietf-webtrans-http3-02): sessions, capsules, datagrams. */
#include <string.h>

#include "wt/codes.h"
#include "wt/internal.h"
#include "wt/opt.h"

#define WT_CLOSE_CAPSULE_MAX (16 + 4 + H3_CLOSE_WT_MAX_MESSAGE)

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
}

/* ---- Object lifetimes ---- */

void wt_enter(wt_endpoint *ep)
{
    ep->depth++;
}

static void session_free(wt_endpoint *ep, wt_session *s)
{
    h3_capsule_reader_free(&s->reader);
    for (size_t i = 0; i < s->ndgrams; i++)
        quince_env_free(ep->env, s->dgrams[i].data);
    quince_env_free(ep->env, s->dgrams);
    quince_env_free(ep->env, s->authority);
    quince_env_free(ep->env, s->path);
    quince_env_free(ep->env, s->origin);
    quince_env_free(ep->env, s);
}

void wt_leave(wt_endpoint *ep)
{
    if (--ep->depth > 0)
        return;
    wt_stream_reap(ep);
    while (ep->dead_sessions != NULL) {
        wt_session *s = ep->dead_sessions;
        ep->dead_sessions = s->next;
        session_free(ep, s);
    }
}

/* Unlink s and free it when the outermost call returns. */
static void session_kill(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    if (s->dead)
        return;
    for (wt_session **p = &ep->sessions; *p != NULL; p = &(*p)->next) {
        if (*p == s) {
            *p = s->next;
            break;
        }
    }
    ep->nsessions--;
    s->dead = true;
    s->next = ep->dead_sessions;
    ep->dead_sessions = s;
}

wt_session *wt_session_find(wt_endpoint *ep, uint64_t id)
{
    for (wt_session *s = ep->sessions; s != NULL; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

static char *dup_field(wt_endpoint *ep, const uint8_t *v, size_t len)
{
    char *c = quince_env_alloc(ep->env, len + 1);
    if (c == NULL)
        return NULL;
    if (len > 0)
        memcpy(c, v, len);
    c[len] = 0;
    return c;
}

static wt_session *session_new(wt_endpoint *ep, uint64_t id)
{
    wt_session *s = quince_env_alloc(ep->env, sizeof(*s));
    if (s == NULL)
        return NULL;
    memset(s, 0, sizeof(*s));
    s->dgrams = quince_env_alloc(ep->env, (ep->cfg.max_buffered_datagrams + 1) * sizeof(wt_dgram));
    if (s->dgrams == NULL) {
        quince_env_free(ep->env, s);
        return NULL;
    }
    s->ep = ep;
    s->id = id;
    h3_capsule_reader_init(&s->reader, ep->cfg.max_capsule, ep->env);
    /* Appended: queued client sessions go out in the order they were asked for. */
    wt_session **p = &ep->sessions;
    while (*p != NULL)
        p = &(*p)->next;
    *p = s;
    ep->nsessions++;
    return s;
}

/* ---- Termination (draft-ietf-webtrans-http3-02 §5) ---- */

static void send_fin(wt_session *s)
{
    if (s->send_done)
        return;
    s->send_done = true;
    /* Not NULL: h3 does pointer arithmetic on it even for 0 bytes. */
    static const uint8_t none[1] = {0};
    h3_conn_send_data(s->ep->h3, s->id, none, 0, true);
}

/* Drop queued datagrams and reject streams waiting for a session that will not come. */
static void drop_pending(wt_session *s)
{
    for (size_t i = 0; i < s->ndgrams; i++)
        quince_env_free(s->ep->env, s->dgrams[i].data);
    s->ndgrams = 0;
    if (s->id != UINT64_MAX)
        wt_stream_flush_buffered(s->ep, s->id, NULL);
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
    drop_pending(s);
    if (was == WT_SS_OPEN) {
        if (ep->cb.on_session_closed != NULL)
            ep->cb.on_session_closed(ep->cb.user, s, code, reason, len);
    } else if ((was == WT_SS_CONNECTING || was == WT_SS_QUEUED) &&
               ep->cb.on_session_rejected != NULL) {
        ep->cb.on_session_rejected(ep->cb.user, s, s->status);
    }
    /* A held request has no response yet: nothing of ours to finish. */
    if (was == WT_SS_OPEN || was == WT_SS_CONNECTING)
        send_fin(s);
    if (s->recv_done || was == WT_SS_QUEUED)
        session_kill(s);
}

/* The CONNECT stream's receive side ended (FIN or reset). */
static void session_recv_done(wt_session *s)
{
    s->recv_done = true;
    if (s->state == WT_SS_CLOSED || s->state == WT_SS_REJECTED)
        session_kill(s);
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
    session_recv_done(s);
}

/* ---- Datagrams (draft-ietf-webtrans-http3-02 §4.4, RFC 9297 §2.1) ---- */

static void datagram_in(wt_session *s, const uint8_t *data, size_t len)
{
    wt_endpoint *ep = s->ep;
    if (s->state == WT_SS_OPEN) {
        if (ep->cb.on_datagram != NULL)
            ep->cb.on_datagram(ep->cb.user, s, data, len);
        return;
    }
    if (s->state != WT_SS_HELD && s->state != WT_SS_CONNECTING)
        return;
    /* §4.5: buffered up to a bound, then dropped. */
    if (s->ndgrams >= ep->cfg.max_buffered_datagrams)
        return;
    uint8_t *c = quince_env_alloc(ep->env, len ? len : 1);
    if (c == NULL)
        return;
    if (len > 0)
        memcpy(c, data, len);
    s->dgrams[s->ndgrams].data = c;
    s->dgrams[s->ndgrams].len = len;
    s->ndgrams++;
}

/* The session is established: hand over what waited for it (§4.5). */
static void session_established(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    s->state = WT_SS_OPEN;
    if (ep->cb.on_session_ready != NULL)
        ep->cb.on_session_ready(ep->cb.user, s);
    if (s->state != WT_SS_OPEN)
        return;
    wt_stream_flush_buffered(ep, s->id, s);
    for (size_t i = 0; i < s->ndgrams && s->state == WT_SS_OPEN; i++) {
        if (ep->cb.on_datagram != NULL)
            ep->cb.on_datagram(ep->cb.user, s, s->dgrams[i].data, s->dgrams[i].len);
    }
    for (size_t i = 0; i < s->ndgrams; i++)
        quince_env_free(ep->env, s->dgrams[i].data);
    s->ndgrams = 0;
}

/* ---- Server: extended CONNECT (draft-ietf-webtrans-http3-02 §3.3) ---- */

static bool field_eq(const uint8_t *v, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len == n && memcmp(v, s, n) == 0;
}

static const h3_field *field_get(const h3_field *f, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (field_eq(f[i].name, f[i].name_len, name))
            return &f[i];
    return NULL;
}

static int respond(wt_session *s, int status, bool end)
{
    char st[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                  (char)('0' + status % 10), 0};
    h3_field f[2] = {
        {.name = (const uint8_t *)":status",
         .name_len = 7,
         .value = (const uint8_t *)st,
         .value_len = 3},
        {.name = (const uint8_t *)"sec-webtransport-http3-draft",
         .name_len = 28,
         .value = (const uint8_t *)"draft02",
         .value_len = 7},
    };
    return h3_conn_submit_response(s->ep->h3, s->id, f, end ? 1 : 2, end);
}

static void server_refuse(wt_session *s, int status)
{
    if (status < 200 || status > 999 || (status >= 200 && status < 300))
        status = 400;
    respond(s, status, true);
    s->send_done = true;
    s->state = WT_SS_REJECTED;
    drop_pending(s);
    if (s->recv_done)
        session_kill(s);
}

/* Decide on a request once the client's SETTINGS are known (§3.1). */
static void server_process(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    if (!ep->peer_wt) {
        server_refuse(s, 400);
        return;
    }
    int status = 404;
    if (ep->cb.on_session_request != NULL)
        status = ep->cb.on_session_request(ep->cb.user, s);
    if (s->state != WT_SS_HELD)
        return;
    if (status < 200 || status > 299) {
        server_refuse(s, status);
        return;
    }
    if (respond(s, 200, false) != H3_OK) {
        server_refuse(s, 500);
        return;
    }
    session_established(s);
}

static void server_request(wt_endpoint *ep, uint64_t id, const h3_field *f, size_t n)
{
    if (ep->nsessions >= ep->cfg.max_sessions) {
        /* §3.4: refused before any processing. */
        h3_conn_reset_stream(ep->h3, id, H3_REQUEST_REJECTED);
        wt_stream_flush_buffered(ep, id, NULL);
        return;
    }
    wt_session *s = session_new(ep, id);
    if (s == NULL) {
        h3_conn_reset_stream(ep->h3, id, H3_INTERNAL_ERROR);
        return;
    }
    s->state = WT_SS_HELD;
    const h3_field *path = field_get(f, n, ":path");
    const h3_field *auth = field_get(f, n, ":authority");
    const h3_field *origin = field_get(f, n, "origin");
    const h3_field *scheme = field_get(f, n, ":scheme");
    size_t max = ep->cfg.max_field_len;
    if (path == NULL || auth == NULL || origin == NULL || scheme == NULL ||
        !field_eq(scheme->value, scheme->value_len, "https") || path->value_len > max ||
        auth->value_len > max || origin->value_len > max) {
        server_refuse(s, 400);
        return;
    }
    s->path = dup_field(ep, path->value, path->value_len);
    s->authority = dup_field(ep, auth->value, auth->value_len);
    s->origin = dup_field(ep, origin->value, origin->value_len);
    if (s->path == NULL || s->authority == NULL || s->origin == NULL) {
        server_refuse(s, 500);
        return;
    }
    if (ep->peer_settings)
        server_process(s);
}

/* ---- Client (draft-ietf-webtrans-http3-02 §3.3, §6) ---- */

static h3_field mkfield(const char *name, const char *value)
{
    h3_field f = {.name = (const uint8_t *)name,
                  .name_len = strlen(name),
                  .value = (const uint8_t *)value,
                  .value_len = strlen(value)};
    return f;
}

static int client_send(wt_session *s)
{
    h3_field f[7] = {
        mkfield(":method", "CONNECT"), mkfield(":protocol", "webtransport"),
        mkfield(":scheme", "https"),   mkfield(":authority", s->authority),
        mkfield(":path", s->path),     mkfield("sec-webtransport-http3-draft02", "1"),
        mkfield("origin", s->origin),
    };
    uint64_t id;
    int rc = h3_conn_submit_request(s->ep->h3, f, 7, false, &id);
    if (rc != H3_OK)
        return rc == H3_ERR_NOMEM ? WT_ERR_NOMEM : WT_ERR_H3;
    s->id = id;
    s->state = WT_SS_CONNECTING;
    return WT_OK;
}

QUINCE_API int wt_endpoint_connect(wt_endpoint *ep, const char *authority, const char *path,
                                   const char *origin, wt_session **out)
{
    if (ep->cfg.is_server || authority == NULL || path == NULL || origin == NULL)
        return WT_ERR_ARG;
    size_t max = ep->cfg.max_field_len;
    if (strlen(authority) > max || strlen(path) > max || strlen(origin) > max)
        return WT_ERR_ARG;
    if (ep->peer_settings && !ep->peer_wt)
        return WT_ERR_STATE;
    if (ep->nsessions >= ep->cfg.max_sessions)
        return WT_ERR_LIMIT;
    wt_session *s = session_new(ep, UINT64_MAX);
    if (s == NULL)
        return WT_ERR_NOMEM;
    wt_enter(ep);
    s->state = WT_SS_QUEUED;
    s->authority = dup_field(ep, (const uint8_t *)authority, strlen(authority));
    s->path = dup_field(ep, (const uint8_t *)path, strlen(path));
    s->origin = dup_field(ep, (const uint8_t *)origin, strlen(origin));
    int rc = WT_OK;
    if (s->authority == NULL || s->path == NULL || s->origin == NULL)
        rc = WT_ERR_NOMEM;
    else if (ep->peer_settings)
        rc = client_send(s);
    if (rc != WT_OK)
        session_kill(s);
    else if (out != NULL)
        *out = s;
    wt_leave(ep);
    return rc;
}

static void client_response(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    int status = h3_conn_stream_status(ep->h3, s->id);
    if (status < 200)
        return; /* interim */
    s->status = status;
    if (status <= 299) {
        session_established(s);
        return;
    }
    s->state = WT_SS_REJECTED;
    drop_pending(s);
    if (ep->cb.on_session_rejected != NULL)
        ep->cb.on_session_rejected(ep->cb.user, s, status);
    send_fin(s);
    if (s->recv_done)
        session_kill(s);
}

/* ---- h3 callbacks ---- */

static void cb_headers(void *user, uint64_t id, const h3_field *f, size_t n, bool trailers)
{
    wt_endpoint *ep = user;
    wt_enter(ep);
    wt_session *s = wt_session_find(ep, id);
    if (s != NULL) {
        if (!trailers && !ep->cfg.is_server && s->state == WT_SS_CONNECTING)
            client_response(s);
    } else if (ep->cfg.is_server && !trailers) {
        const h3_field *proto = field_get(f, n, ":protocol");
        const h3_field *method = field_get(f, n, ":method");
        if (proto != NULL && method != NULL &&
            field_eq(method->value, method->value_len, "CONNECT") &&
            field_eq(proto->value, proto->value_len, "webtransport")) {
            server_request(ep, id, f, n);
        } else {
            /* Not a session: streams waiting for this ID will never be claimed. */
            wt_stream_flush_buffered(ep, id, NULL);
            if (ep->chain.on_headers != NULL)
                ep->chain.on_headers(ep->chain.user, id, f, n, trailers);
        }
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
            if (ev.capsule.type == H3_CAPSULE_DATAGRAM) {
                datagram_in(s, ev.capsule.value, ev.capsule.value_len);
            } else if (ev.capsule.type == H3_CAPSULE_CLOSE_WEBTRANSPORT_SESSION) {
                wt_session_terminate(s, ev.capsule.error_code, ev.capsule.data,
                                     ev.capsule.data_len);
            }
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
        session_recv_done(s);
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
        session_recv_done(s);
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
    if (s != NULL) {
        /* The CONNECT stream closed abruptly: the session is over (§5). */
        s->send_done = true;
        wt_session_terminate(s, 0, NULL, 0);
        if (!s->recv_done) {
            h3_conn_reset_stream(ep->h3, id, code);
            session_recv_done(s);
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
    ep->peer_wt = peer->enable_webtransport && (peer->h3_datagram || peer->h3_datagram_draft04);
    if (ep->chain.on_settings != NULL)
        ep->chain.on_settings(ep->chain.user, peer);
    wt_session *next;
    for (wt_session *s = ep->sessions; s != NULL; s = next) {
        next = s->next;
        if (s->state == WT_SS_HELD) {
            server_process(s);
        } else if (s->state == WT_SS_QUEUED) {
            if (!ep->peer_wt || client_send(s) != WT_OK)
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
        session_kill(s);
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
    h3_settings_set(&h3cfg->settings, H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1);
    h3_settings_set(&h3cfg->settings, H3_SETTING_H3_DATAGRAM, 1);
    h3_settings_set(&h3cfg->settings, H3_SETTING_H3_DATAGRAM_DRAFT04, 1);
    h3_settings_set(&h3cfg->settings, H3_SETTING_ENABLE_WEBTRANSPORT, 1);
}

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

QUINCE_API void wt_endpoint_free(wt_endpoint *ep)
{
    if (ep == NULL)
        return;
    /* Let the application release its per-stream and per-session state. */
    ep->depth++;
    for (wt_stream *st = ep->streams; st != NULL; st = st->next)
        if (st->session != NULL && ep->cb.on_stream_closed != NULL)
            ep->cb.on_stream_closed(ep->cb.user, st);
    for (wt_session *s = ep->sessions; s != NULL; s = s->next)
        if (s->state == WT_SS_OPEN && ep->cb.on_session_closed != NULL)
            ep->cb.on_session_closed(ep->cb.user, s, 0, NULL, 0);
    wt_stream_free_all(ep);
    while (ep->sessions != NULL) {
        wt_session *s = ep->sessions;
        ep->sessions = s->next;
        session_free(ep, s);
    }
    while (ep->dead_sessions != NULL) {
        wt_session *s = ep->dead_sessions;
        ep->dead_sessions = s->next;
        session_free(ep, s);
    }
    /* The h3_conn is the embedder's: give it its callbacks back. */
    h3_conn_set_callbacks(ep->h3, &ep->chain);
    quince_env_free(ep->env, ep);
}

QUINCE_API h3_conn *wt_endpoint_h3(wt_endpoint *ep)
{
    return ep->h3;
}

QUINCE_API const quince_env *wt_endpoint_env(const wt_endpoint *ep)
{
    return ep->env;
}

QUINCE_API void wt_endpoint_set_max_datagram_frame(wt_endpoint *ep, size_t n)
{
    ep->cfg.max_datagram_frame = n;
}

QUINCE_API size_t wt_endpoint_session_count(const wt_endpoint *ep)
{
    return ep->nsessions;
}

QUINCE_API size_t wt_endpoint_buffered_streams(const wt_endpoint *ep)
{
    return ep->nbuffered;
}

/* ---- Session API ---- */

QUINCE_API uint64_t wt_session_id(const wt_session *s)
{
    return s->id;
}

QUINCE_API bool wt_session_is_ready(const wt_session *s)
{
    return s->state == WT_SS_OPEN;
}

QUINCE_API const char *wt_session_path(const wt_session *s)
{
    return s->path ? s->path : "";
}

QUINCE_API const char *wt_session_authority(const wt_session *s)
{
    return s->authority ? s->authority : "";
}

QUINCE_API const char *wt_session_origin(const wt_session *s)
{
    return s->origin ? s->origin : "";
}

QUINCE_API int wt_session_status(const wt_session *s)
{
    return s->status;
}

QUINCE_API void wt_session_set_user(wt_session *s, void *user)
{
    s->user = user;
}

QUINCE_API void *wt_session_user(const wt_session *s)
{
    return s->user;
}

QUINCE_API wt_endpoint *wt_session_endpoint(const wt_session *s)
{
    return s->ep;
}

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
    if (rc == H3_ERR_DATAGRAM)
        return WT_ERR_DATAGRAM;
    if (rc == H3_ERR_NOMEM)
        return WT_ERR_NOMEM;
    return rc == H3_OK ? WT_OK : WT_ERR_H3;
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
    uint8_t buf[WT_CLOSE_CAPSULE_MAX];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    if (!h3_capsule_put_close_wt(&w, code, reason, reason_len))
        return WT_ERR_ARG;
    wt_enter(ep);
    int rc = h3_conn_send_data(ep->h3, s->id, buf, (size_t)(w.p - buf), true);
    s->send_done = true;
    wt_session_terminate(s, code, reason, reason_len);
    wt_leave(ep);
    return rc == H3_OK ? WT_OK : WT_ERR_H3;
}
