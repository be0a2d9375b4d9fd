/* A server of the binding: a quic_endpoint whose connections each become a bind_conn. */
#include <string.h>

#include "bind/internal.h"
#include "quic/error.h"

static void link_conn(bind_server *s, bind_conn *bc)
{
    bc->prev = NULL;
    bc->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = bc;
    s->conns = bc;
    s->nconns++;
}

static void unlink_conn(bind_server *s, bind_conn *bc)
{
    if (bc->prev != NULL)
        bc->prev->next = bc->next;
    else
        s->conns = bc->next;
    if (bc->next != NULL)
        bc->next->prev = bc->prev;
    s->nconns--;
}

/* RFC 9000 §5.2.2: the endpoint accepted a client's first Initial. */
static void on_conn_new(void *user, quic_conn *qc)
{
    bind_server *s = user;
    bind_conn *bc = bind_conn_adopt(s->env, &s->cfg, s, qc, s->now);
    if (bc == NULL) {
        /* No state for it here: refuse it; the endpoint frees it after closing. */
        quic_conn_close(qc, s->cfg.h3 ? H3_INTERNAL_ERROR : 0, "out of memory", s->now);
        return;
    }
    link_conn(s, bc);
}

/* The endpoint frees qc when this returns: events still queued (CLOSED at
 * least) go out first, then the connection's own state. */
static void on_conn_free(void *user, quic_conn *qc)
{
    bind_server *s = user;
    bind_conn *bc = quic_conn_get_user(qc);
    if (bc == NULL)
        return;
    bind_conn_drain(bc, bc->now);
    unlink_conn(s, bc);
    bind_conn_release(bc);
}

/* Its timer fired: serve its events (only those connections, not all). */
static void on_conn_timer(void *user, quic_conn *qc)
{
    bind_server *s = user;
    bind_conn *bc = quic_conn_get_user(qc);
    if (bc != NULL)
        bind_conn_drain(bc, s->now);
}

/* At bind_server_free: no more events, only the connection's end. */
static void release_conn(bind_server *s, bind_conn *bc)
{
    unlink_conn(s, bc);
    bind_conn_release(bc);
}

QUINCE_API bind_server *bind_server_new(const quince_env *env, const bind_config *cfg)
{
    if (env == NULL || cfg == NULL)
        return NULL;
    /* The configuration is resolved in place (it is too large to copy on the stack). */
    bind_server *s = quince_env_calloc(env, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->env = env;
    s->cfg = *cfg;
    s->cfg.quic.is_server = true;
    if (!bind_config_resolve(&s->cfg, true, &s->cfg)) {
        quince_env_free(env, s);
        return NULL;
    }
    s->ep = quic_endpoint_new(env, &s->cfg.quic);
    if (s->ep == NULL) {
        quince_env_free(env, s);
        return NULL;
    }
    quic_endpoint_set_callbacks(s->ep, &(quic_endpoint_callbacks){.user = s,
                                                                  .on_conn_new = on_conn_new,
                                                                  .on_conn_free = on_conn_free,
                                                                  .on_conn_timer = on_conn_timer});
    return s;
}

QUINCE_API void bind_server_free(bind_server *s)
{
    if (s == NULL)
        return;
    /* Newest first (as the list runs); the endpoint then frees the quic_conns,
     * which no longer point back to a bind_conn. */
    while (s->conns != NULL)
        release_conn(s, s->conns);
    quic_endpoint_free(s->ep);
    quince_env_free(s->env, s);
}

/* RFC 9000 §5.2: the endpoint finds the connection by DCID (or makes one). */
QUINCE_API int bind_server_recv(bind_server *s, const quic_addr *from, const quic_addr *to,
                                const uint8_t *data, size_t len, uint64_t now)
{
    return bind_server_recv_ecn(s, from, to, data, len, QUIC_ECN_NOT_ECT, now);
}

/* RFC 9000 §5.2, §13.4.1: as bind_server_recv, with the datagram's ECN codepoint. */
QUINCE_API int bind_server_recv_ecn(bind_server *s, const quic_addr *from, const quic_addr *to,
                                    const uint8_t *data, size_t len, uint8_t ecn, uint64_t now)
{
    if (s == NULL || data == NULL)
        return BIND_ERR_ARG;
    s->now = now;
    int rc = quic_endpoint_recv_ecn(s->ep, from, to, data, len, ecn, now);
    quic_conn *qc = quic_endpoint_last_conn(s->ep);
    bind_conn *bc = qc != NULL ? quic_conn_get_user(qc) : NULL;
    if (bc != NULL)
        bind_conn_drain(bc, now);
    return rc == QUIC_ERR_NOMEM ? BIND_ERR_NOMEM : BIND_OK;
}

QUINCE_API int bind_server_send(bind_server *s, quic_addr *to, uint8_t *buf, size_t cap,
                                uint64_t now)
{
    if (s == NULL || buf == NULL)
        return BIND_ERR_ARG;
    s->now = now;
    int n = quic_endpoint_send(s->ep, to, buf, cap, now);
    return n < 0 ? BIND_ERR_ARG : n;
}

/* RFC 9000 §13.4.2 */
QUINCE_API uint8_t bind_server_ecn(const bind_server *s)
{
    return s != NULL ? quic_endpoint_ecn(s->ep) : QUIC_ECN_NOT_ECT;
}

QUINCE_API uint64_t bind_server_next_timeout(const bind_server *s)
{
    return s != NULL ? quic_endpoint_next_timeout(s->ep) : QUIC_TIME_NEVER;
}

QUINCE_API int bind_server_on_timeout(bind_server *s, uint64_t now)
{
    if (s == NULL)
        return BIND_ERR_ARG;
    s->now = now;
    /* The endpoint visits only the connections whose timer came (on_conn_timer drains
     * them; on_conn_free those it frees). */
    quic_endpoint_on_timeout(s->ep, now);
    return BIND_OK;
}

QUINCE_API size_t bind_server_conn_count(const bind_server *s)
{
    return s != NULL ? s->nconns : 0;
}

QUINCE_API quic_endpoint *bind_server_endpoint(const bind_server *s)
{
    return s != NULL ? s->ep : NULL;
}

/* RFC 9114 §5.2 */
QUINCE_API void bind_server_shutdown(bind_server *s, uint32_t wt_code, const char *reason,
                                     uint64_t now)
{
    if (s == NULL)
        return;
    s->now = now;
    (void)wt_code;
    (void)reason;
    for (bind_conn *bc = s->conns; bc != NULL; bc = bc->next) {
        bc->now = now;
        if (quic_conn_is_closed(bc->qc) || !bc->started)
            continue;
#if QUINCE_WT
        if (bc->wt != NULL && wt_endpoint_close_all(bc->wt, wt_code, reason) > 0)
            bc->wt_closed_at_shutdown = true;
#endif
#if QUINCE_H3
        if (bc->h3 != NULL)
            h3_conn_shutdown(bc->h3);
#endif
        bind_conn_drain(bc, now);
    }
}

QUINCE_API bool bind_server_is_quiet(const bind_server *s)
{
    /* A connection whose WebTransport sessions we closed waits for the grace period:
     * measured with headless Chromium, a CONNECTION_CLOSE soon after our capsule (even
     * once the peer had answered it with its FIN) made the page's `closed` reject with
     * "Connection lost" in 1 run of 8 (0 of 10 with the wait). */
    for (const bind_conn *bc = s != NULL ? s->conns : NULL; bc != NULL; bc = bc->next)
        if (!quic_conn_is_idle(bc->qc) ||
            (bc->wt_closed_at_shutdown && !quic_conn_is_closed(bc->qc)))
            return false;
    return true;
}

QUINCE_API void bind_server_close_all(bind_server *s, uint64_t app_code, const char *reason,
                                      uint64_t now)
{
    if (s == NULL)
        return;
    s->now = now;
    /* Closing frees nothing now (the endpoint does after the closing period). */
    for (bind_conn *bc = s->conns; bc != NULL; bc = bc->next) {
        bc->now = now;
        bind_conn_close(bc, app_code, reason);
    }
}
