/* WebTransport session establishment: the extended CONNECT request and its response, server
 * and client (draft-ietf-webtrans-http3-02 §3.3, §6; -07 and -13..-16 §3). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "wt/codes.h"
#include "wt/connect.h"
#include "wt/flow.h"
#include "wt/internal.h"
#include "wt/lifetime.h"
#include "wt/session.h"
#include "wt/session_recv.h"
#include "wt/stream.h"
#include "wt/stream_recv.h"
#include "wt/opt.h"
#include "wt/protocols.h"

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
    const wt_dialect_info *di = wt_dialect_get(s->dialect);
    /* draft-02 §6: the draft-version header goes with a 2xx. */
    bool draft02 = di != NULL && di->draft02_headers && !end;
    char st[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
                  (char)('0' + status % 10), 0};
    /* -13..-16 §3.3: the chosen protocol with a 2xx. */
    char proto[300];
    size_t plen = 0;
    if (!end && s->protocol != NULL)
        plen = wt_protocols_put_string(proto, sizeof(proto), s->protocol);
    h3_field f[3] = {
        {.name = (const uint8_t *)":status",
         .name_len = 7,
         .value = (const uint8_t *)st,
         .value_len = 3},
        {.name = (const uint8_t *)"sec-webtransport-http3-draft",
         .name_len = 28,
         .value = (const uint8_t *)"draft02",
         .value_len = 7},
    };
    size_t n = draft02 ? 2 : 1;
    if (plen > 0)
        f[n++] = (h3_field){.name = (const uint8_t *)"wt-protocol",
                            .name_len = 11,
                            .value = (const uint8_t *)proto,
                            .value_len = plen};
    return h3_conn_submit_response(s->ep->h3, s->id, f, n, end);
}

/* One line saying why a request was refused, to the application and the log sink. */
static void refused(wt_endpoint *ep, wt_session *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The log line on a frame of its own (each under 1 KB, tests/stack/check_stack.py). */
static void log_refused(wt_endpoint *ep, wt_session *s, int status, const char *why)
    __attribute__((noinline));
static void log_refused(wt_endpoint *ep, wt_session *s, int status, const char *why)
{
    char line[384];
    snprintf(line, sizeof(line), "webtransport: session %s refused (%d): %s",
             s != NULL && s->path != NULL ? s->path : "?", status, why);
    ep->env->log(ep->env->user, 1, line);
}

static void refused(wt_endpoint *ep, wt_session *s, int status, const char *fmt, ...)
{
    char why[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (ep->env->log != NULL)
        log_refused(ep, s, status, why);
    if (ep->cb.on_session_refused != NULL)
        ep->cb.on_session_refused(ep->cb.user, s, status, why);
}

static void server_refuse(wt_session *s, int status)
{
    if (status < 200 || status > 999 || (status >= 200 && status < 300))
        status = 400;
    respond(s, status, true);
    s->send_done = true;
    s->state = WT_SS_REJECTED;
    wt_session_drop_pending(s);
    /* RFC 9114 §4.1: the response is complete; the rest of the request is not
     * wanted (the client must still report the status, usually in the same packet). */
    if (!s->recv_done)
        h3_conn_stop_sending(s->ep->h3, s->id, H3_NO_ERROR);
    if (s->recv_done)
        wt_session_kill(s);
}

static void mask_names(uint32_t mask, char *buf, size_t cap)
{
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = WT_DIALECT_COUNT; i-- > 0;) {
        wt_dialect d = wt_dialects_by_age[i];
        if (!(mask & WT_DIALECT_BIT(d)))
            continue;
        int k = snprintf(buf + off, cap - off, "%s%s", off ? ", " : "", wt_dialect_name(d));
        if (k < 0 || (size_t)k >= cap - off)
            break;
        off += (size_t)k;
    }
    if (off == 0)
        snprintf(buf, cap, "none");
}

/* Lower-case host and port of "host[:port]" (default 443) into out. */
static bool hostport_norm(const char *in, size_t len, char *out, size_t cap)
{
    size_t colon = len;
    for (size_t i = len; i-- > 0;) {
        if (in[i] == ']')
            break;
        if (in[i] == ':') {
            colon = i;
            break;
        }
    }
    if (colon == 0 || len == 0)
        return false;
    const char *port = colon < len ? in + colon + 1 : "443";
    size_t plen = colon < len ? len - colon - 1 : 3;
    if (plen == 0 || colon + plen + 2 > cap)
        return false;
    for (size_t i = 0; i < colon; i++) {
        char c = in[i];
        out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    out[colon] = ':';
    memcpy(out + colon + 1, port, plen);
    out[colon + 1 + plen] = 0;
    return true;
}

/* RFC 6454 §4: "https://" host [":" port] is the origin of https://:authority. */
static bool same_origin(const char *origin, const char *authority)
{
    char a[300], b[300];
    if (strncmp(origin, "https://", 8) != 0)
        return false;
    size_t ol = strlen(origin + 8), al = strlen(authority);
    if (ol >= sizeof(a) || al >= sizeof(b))
        return false;
    return hostport_norm(origin + 8, ol, a, sizeof(a)) &&
           hostport_norm(authority, al, b, sizeof(b)) && strcmp(a, b) == 0;
}

/* draft-02 §3.3, -07 §3.3, -16 §3.2: the server verifies the Origin. */
static bool origin_allowed(wt_endpoint *ep, const wt_session *s)
{
    const wt_config *c = &ep->cfg;
    if (c->origin_check != NULL)
        return c->origin_check(c->origin_check_user, s, s->origin);
    for (size_t i = 0; i < c->n_allowed_origins; i++)
        if (c->allowed_origins[i] != NULL && (strcmp(c->allowed_origins[i], "*") == 0 ||
                                              strcmp(c->allowed_origins[i], s->origin) == 0))
            return true;
    return same_origin(s->origin, s->authority);
}

static size_t open_sessions(const wt_endpoint *ep)
{
    size_t n = 0;
    for (const wt_session *o = ep->sessions; o != NULL; o = o->next)
        n += o->state == WT_SS_OPEN;
    return n;
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
        wt_session_capsules_in(s, early.data, early.len);
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

/* Decide on a request once the client's SETTINGS are known (§3.1): the
 * dialect, the origin, the session limit, then the application. */
void wt_server_process(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    char names[128], offered[256];
    if (!ep->peer_wt) {
        const h3_settings *ps = h3_conn_peer_settings(ep->h3);
        uint32_t any = ps != NULL ? wt_dialects_offered(ps, false) : 0;
        if (ps != NULL)
            wt_settings_describe(ps, false, offered, sizeof(offered));
        else
            snprintf(offered, sizeof(offered), "nothing");
        server_refuse(s, 400);
        if (any == 0) {
            refused(ep, s, 400, "client sent no WebTransport setting; it offered: %s", offered);
        } else if (ep->no_peer_rsa && (any & wt_cfg_dialects(&ep->cfg)) != 0) {
            mask_names(any & wt_cfg_dialects(&ep->cfg), names, sizeof(names));
            refused(ep, s, 400,
                    "client's transport parameters lack reset_stream_at, which %s require(s)",
                    names);
        } else {
            mask_names(any, names, sizeof(names));
            refused(ep, s, 400, "client offers only dialects this server does not speak (%s)",
                    names);
        }
        return;
    }
    uint32_t cand = ep->common & s->token_mask;
    if (cand == 0) {
        mask_names(ep->common, names, sizeof(names));
        server_refuse(s, 400);
        refused(ep, s, 400,
                "the request's :protocol is not the token of a dialect both sides offer (%s)",
                names);
        return;
    }
    s->dialect = wt_dialect_newest(cand);
    const wt_dialect_info *di = wt_dialect_get(s->dialect);
    if (!di->has_protocol_negotiation) {
        quince_env_free(ep->env, s->avail);
        s->avail = NULL;
        s->navail = 0;
    }
    if (s->origin == NULL && di->origin_required) {
        server_refuse(s, 400);
        refused(ep, s, 400, "no Origin header (%s requires one)", di->name);
        return;
    }
    if (s->origin != NULL && !origin_allowed(ep, s)) {
        server_refuse(s, 403);
        refused(ep, s, 403, "origin not allowed: %s", s->origin);
        return;
    }
    /* -13..-16 §5.1: without flow control (not declared by both sides), one
     * session at a time; extra CONNECT streams are reset with
     * H3_REQUEST_REJECTED (§5.2). */
    wt_fc_setup(s);
    if (di->has_flow_control && !s->fc && open_sessions(ep) >= 1) {
        h3_conn_reset_stream(ep->h3, s->id, H3_REQUEST_REJECTED);
        s->send_done = true;
        s->state = WT_SS_REJECTED;
        wt_session_drop_pending(s);
        refused(ep, s, 0, "a second session without flow control (%s §5.1)", di->name);
        wt_session_recv_done(s);
        return;
    }
    int status = di->not_found_status;
    if (ep->cb.on_session_request != NULL)
        status = ep->cb.on_session_request(ep->cb.user, s);
    if (s->state != WT_SS_HELD)
        return;
    if (status < 200 || status > 299) {
        server_refuse(s, status);
        if (status == 404 || status == 405)
            refused(ep, s, status, "path not found: %s", s->path);
        else
            refused(ep, s, status, "refused by the application");
        return;
    }
    if (respond(s, 200, false) != H3_OK) {
        server_refuse(s, 500);
        return;
    }
    wt_session_established(s);
}

static void server_request(wt_endpoint *ep, uint64_t id, const h3_field *f, size_t n,
                           uint32_t token_mask)
{
    if (ep->nsessions >= ep->cfg.max_sessions) {
        /* §3.4: refused before any processing. */
        h3_conn_reset_stream(ep->h3, id, H3_REQUEST_REJECTED);
        wt_stream_reject_buffered(ep, id);
        refused(ep, NULL, 0, "more than %zu sessions on the connection", ep->cfg.max_sessions);
        return;
    }
    wt_session *s = wt_session_new(ep, id);
    if (s == NULL) {
        h3_conn_reset_stream(ep->h3, id, H3_INTERNAL_ERROR);
        return;
    }
    s->state = WT_SS_HELD;
    s->token_mask = token_mask;
    const h3_field *path = field_get(f, n, ":path");
    const h3_field *auth = field_get(f, n, ":authority");
    const h3_field *origin = field_get(f, n, "origin");
    const h3_field *scheme = field_get(f, n, ":scheme");
    size_t max = ep->cfg.max_field_len;
    if (path == NULL || auth == NULL || scheme == NULL ||
        !field_eq(scheme->value, scheme->value_len, "https") || path->value_len > max ||
        auth->value_len > max || (origin != NULL && origin->value_len > max)) {
        server_refuse(s, 400);
        refused(ep, s, 400, "no :path or :authority, :scheme not https, or a field too long");
        return;
    }
    s->path = wt_dup_field(ep, path->value, path->value_len);
    s->authority = wt_dup_field(ep, auth->value, auth->value_len);
    if (origin != NULL)
        s->origin = wt_dup_field(ep, origin->value, origin->value_len);
    /* -13..-16 §3.3: kept if it is a List of Strings, otherwise ignored. */
    const h3_field *avail = field_get(f, n, "wt-available-protocols");
    if (avail != NULL && avail->value_len <= max) {
        char *buf = quince_env_alloc(ep->env, avail->value_len + 1);
        size_t k = buf != NULL ? wt_protocols_parse_list(avail->value, avail->value_len, buf,
                                                         avail->value_len + 1)
                               : WT_PROTOCOLS_INVALID;
        if (k != WT_PROTOCOLS_INVALID && k > 0) {
            s->avail = buf;
            s->navail = k;
        } else {
            quince_env_free(ep->env, buf);
        }
    }
    if (s->path == NULL || s->authority == NULL || (origin != NULL && s->origin == NULL)) {
        server_refuse(s, 500);
        return;
    }
    if (ep->peer_settings)
        wt_server_process(s);
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

/* The newest dialect both sides offer decides the token and headers
 * (draft-02 §3.3 and §6, -07 §3.2, -16 §3.2). */
/* The session limit a client keeps to: -07 §3.1 and -13/-14 §5.2, the
 * server's version setting value; -13..-16 §5.1 without flow control, one
 * session at a time. SIZE_MAX: none (draft-02, -15/-16 with flow control). */
static size_t client_session_limit(const wt_session *s)
{
    const wt_dialect_info *di = wt_dialect_get(s->dialect);
    const h3_settings *peer = h3_conn_peer_settings(s->ep->h3);
    size_t lim = SIZE_MAX;
    uint64_t v;
    if (di->value_is_max_sessions && peer != NULL && h3_settings_get(peer, di->setting, &v) &&
        v < lim)
        lim = (size_t)v;
    if (di->has_flow_control && !s->fc && lim > 1)
        lim = 1;
    return lim;
}

int wt_client_send(wt_session *s)
{
    wt_endpoint *ep = s->ep;
    s->dialect = wt_dialect_newest(ep->common);
    const wt_dialect_info *di = wt_dialect_get(s->dialect);
    if (di == NULL)
        return WT_ERR_STATE;
    wt_fc_setup(s);
    size_t others = 0;
    for (const wt_session *o = ep->sessions; o != NULL; o = o->next)
        others += o != s && (o->state == WT_SS_CONNECTING || o->state == WT_SS_OPEN);
    if (others >= client_session_limit(s))
        return WT_ERR_LIMIT;
    h3_field f[8] = {
        mkfield(":method", "CONNECT"), mkfield(":protocol", di->token),
        mkfield(":scheme", "https"),   mkfield(":authority", s->authority),
        mkfield(":path", s->path),
    };
    size_t n = 5;
    if (di->draft02_headers)
        f[n++] = mkfield("sec-webtransport-http3-draft02", "1");
    if (s->origin != NULL)
        f[n++] = mkfield("origin", s->origin);
    /* -13..-16 §3.3: the protocols we offer, in preference order. */
    char avail[512];
    size_t alen = 0;
    const wt_config *c = &ep->cfg;
    for (size_t i = 0; di->has_protocol_negotiation && i < c->n_protocols; i++) {
        if (alen > 0 && alen + 2 < sizeof(avail)) {
            avail[alen++] = ',';
            avail[alen++] = ' ';
        }
        size_t k = wt_protocols_put_string(avail + alen, sizeof(avail) - alen, c->protocols[i]);
        if (k == 0)
            return WT_ERR_ARG;
        alen += k;
    }
    if (alen > 0)
        f[n++] = (h3_field){.name = (const uint8_t *)"wt-available-protocols",
                            .name_len = 22,
                            .value = (const uint8_t *)avail,
                            .value_len = alen};
    uint64_t id;
    int rc = h3_conn_submit_request(s->ep->h3, f, n, false, &id);
    if (rc != H3_OK)
        return rc == H3_ERR_NOMEM ? WT_ERR_NOMEM : WT_ERR_H3;
    s->id = id;
    s->state = WT_SS_CONNECTING;
    return WT_OK;
}

/* draft-ietf-webtrans-http3-02 §3.2 */
QUINCE_API int wt_endpoint_connect(wt_endpoint *ep, const char *authority, const char *path,
                                   const char *origin, wt_session **out)
{
    if (ep->cfg.is_server || authority == NULL || path == NULL)
        return WT_ERR_ARG;
    size_t max = ep->cfg.max_field_len;
    if (strlen(authority) > max || strlen(path) > max || (origin != NULL && strlen(origin) > max))
        return WT_ERR_ARG;
    if (ep->peer_settings && !ep->peer_wt)
        return WT_ERR_STATE;
    if (ep->nsessions >= ep->cfg.max_sessions)
        return WT_ERR_LIMIT;
    wt_session *s = wt_session_new(ep, UINT64_MAX);
    if (s == NULL)
        return WT_ERR_NOMEM;
    wt_enter(ep);
    s->state = WT_SS_QUEUED;
    s->authority = wt_dup_field(ep, (const uint8_t *)authority, strlen(authority));
    s->path = wt_dup_field(ep, (const uint8_t *)path, strlen(path));
    if (origin != NULL)
        s->origin = wt_dup_field(ep, (const uint8_t *)origin, strlen(origin));
    int rc = WT_OK;
    if (s->authority == NULL || s->path == NULL || (origin != NULL && s->origin == NULL))
        rc = WT_ERR_NOMEM;
    else if (ep->peer_settings)
        rc = wt_client_send(s);
    if (rc != WT_OK)
        wt_session_kill(s);
    else if (out != NULL)
        *out = s;
    wt_leave(ep);
    return rc;
}

/* -13..-16 §3.3: the client closes with WT_ALPN_ERROR when the server's
 * WT-Protocol is not one it offered (or is missing and it required one). */
static bool client_protocol_ok(wt_session *s, const h3_field *f, size_t n)
{
    wt_endpoint *ep = s->ep;
    const wt_dialect_info *di = wt_dialect_get(s->dialect);
    if (di == NULL || !di->has_protocol_negotiation || ep->cfg.n_protocols == 0)
        return true;
    const h3_field *p = field_get(f, n, "wt-protocol");
    char got[300];
    if (p == NULL || !wt_protocols_parse_item(p->value, p->value_len, got, sizeof(got)))
        return !ep->cfg.protocol_required; /* malformed: ignored */
    for (size_t i = 0; i < ep->cfg.n_protocols; i++) {
        if (strcmp(ep->cfg.protocols[i], got) == 0) {
            s->protocol = wt_dup_field(ep, (const uint8_t *)got, strlen(got));
            return true;
        }
    }
    return false;
}

void wt_client_response(wt_session *s, const h3_field *f, size_t n)
{
    wt_endpoint *ep = s->ep;
    int status = h3_conn_stream_status(ep->h3, s->id);
    if (status < 200)
        return; /* interim */
    s->status = status;
    if (status <= 299 && !s->stopped && !client_protocol_ok(s, f, n)) {
        h3_conn_reset_stream(ep->h3, s->id, H3_WT_ALPN_ERROR);
        s->send_done = true;
        s->state = WT_SS_REJECTED;
        wt_session_drop_pending(s);
        if (ep->cb.on_session_rejected != NULL)
            ep->cb.on_session_rejected(ep->cb.user, s, status);
        wt_session_recv_done(s);
        return;
    }
    if (status <= 299 && !s->stopped) {
        wt_session_established(s);
        return;
    }
    if (status <= 299) {
        /* Accepted, but the server had stopped reading our side: no session. */
        s->state = WT_SS_CLOSED;
        wt_session_drop_pending(s);
        if (ep->cb.on_session_rejected != NULL)
            ep->cb.on_session_rejected(ep->cb.user, s, status);
        if (s->recv_done)
            wt_session_kill(s);
        return;
    }
    s->state = WT_SS_REJECTED;
    wt_session_drop_pending(s);
    if (ep->cb.on_session_rejected != NULL)
        ep->cb.on_session_rejected(ep->cb.user, s, status);
    wt_session_send_fin(s);
    if (s->recv_done)
        wt_session_kill(s);
}

/* A request on a stream that is no session yet (server): an extended CONNECT for a
 * dialect we speak starts one, anything else goes on to the application's h3 callbacks. */
void wt_server_on_headers(wt_endpoint *ep, uint64_t id, const h3_field *f, size_t n)
{
    const h3_field *proto = field_get(f, n, ":protocol");
    const h3_field *method = field_get(f, n, ":method");
    uint32_t tokens = proto != NULL ? wt_dialects_for_token(proto->value, proto->value_len) &
                                          wt_cfg_dialects(&ep->cfg)
                                    : 0;
    if (tokens != 0 && method != NULL && field_eq(method->value, method->value_len, "CONNECT") &&
        h3_conn_stream_early(ep->h3, id)) {
        /* -07 §3.3, -16 §3.3: no session starts in 0-RTT (CONNECT is not
         * safe, RFC 9114 §10.9); RFC 8470 §5.2: 425, to be retried after the
         * handshake. Streams waiting for this ID will never be claimed. */
        h3_conn_refuse_early(ep->h3, id);
        wt_stream_reject_buffered(ep, id);
        refused(ep, NULL, 425,
                "CONNECT arrived in 0-RTT (early data): retry after the "
                "handshake");
    } else if (tokens != 0 && method != NULL &&
               field_eq(method->value, method->value_len, "CONNECT")) {
        server_request(ep, id, f, n, tokens);
    } else {
        /* Not a session: streams waiting for this ID will never be claimed. */
        wt_stream_reject_buffered(ep, id);
        if (ep->chain.on_headers != NULL)
            ep->chain.on_headers(ep->chain.user, id, f, n, false);
    }
}
