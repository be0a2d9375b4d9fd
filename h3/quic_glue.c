/* Binding of an HTTP/3 connection to a QUIC connection: h3_transport on quic_conn, events to h3. */
#include "h3/quic_glue.h"

#include <string.h>

#include "quic/error.h"

/* Stream bytes are moved from QUIC to h3 through this buffer, one piece at a time. */
#define H3_QUIC_READ_CHUNK 16384

struct h3_quic {
    const quince_env *env;
    quic_conn *qc;
    h3_conn *h3;
    bool owns_h3; /* false when attached with h3_quic_attach */
    h3_quic_writable_fn on_writable;
    void *user;
    uint64_t now;
    uint64_t bytes_in, bytes_out, writes_refused;
    uint8_t buf[H3_QUIC_READ_CHUNK];
};

/* ---- h3_transport on quic_conn ---- */

/* RFC 9000 §2.1: h3's control, QPACK and request streams are QUIC streams of ours. */
static int tp_open_stream(void *user, bool bidi, uint64_t *stream_id)
{
    h3_quic *g = user;
    return quic_conn_open_stream(g->qc, bidi, stream_id) == QUIC_OK ? 0 : -1;
}

static int64_t tp_write(void *user, uint64_t stream_id, const uint8_t *data, size_t len, bool fin)
{
    h3_quic *g = user;
    int64_t n = quic_stream_write(g->qc, stream_id, data, len, fin);
    if (n < 0) {
        /* RFC 9000 §3.5: QUIC resets a stream as soon as the peer's STOP_SENDING
         * arrives, before h3 sees the event (a WRITABLE event queued earlier may
         * come first); the connection may be closing too. Nothing is taken, as
         * if the stream were blocked: h3 holds the bytes (and the application
         * waits) until the STOP_SENDING or CLOSED event tells it. h3 writes
         * only to streams it opened or was given. */
        g->writes_refused++;
        return 0;
    }
    g->bytes_out += (uint64_t)n;
    return n;
}

/* RFC 9114 §4.1.1: the HTTP/3 code travels as the QUIC application error code. */
static int tp_reset_stream(void *user, uint64_t stream_id, uint64_t h3_code)
{
    h3_quic *g = user;
    return quic_stream_reset(g->qc, stream_id, h3_code) == QUIC_OK ? 0 : -1;
}

static int tp_stop_sending(void *user, uint64_t stream_id, uint64_t h3_code)
{
    h3_quic *g = user;
    return quic_stream_stop_sending(g->qc, stream_id, h3_code) == QUIC_OK ? 0 : -1;
}

/* RFC 9297 §2.1: HTTP Datagrams are QUIC DATAGRAM frames (RFC 9221). */
static int tp_send_datagram(void *user, const uint8_t *data, size_t len)
{
    h3_quic *g = user;
    return quic_conn_send_datagram(g->qc, data, len) == QUIC_OK ? 0 : -1;
}

/* RFC 9114 §8: connection errors close QUIC with the HTTP/3 code. */
static void tp_close(void *user, uint64_t h3_code, const char *reason)
{
    h3_quic *g = user;
    quic_conn_close(g->qc, h3_code, reason, g->now);
}

QUINCE_API h3_quic *h3_quic_new_detached(const quince_env *env, quic_conn *qc,
                                         h3_quic_writable_fn on_writable, void *user)
{
    if (env == NULL || qc == NULL)
        return NULL;
    h3_quic *g = quince_env_calloc(env, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->env = env;
    g->qc = qc;
    g->on_writable = on_writable;
    g->user = user;
    return g;
}

QUINCE_API void h3_quic_transport(h3_quic *g, h3_transport *out)
{
    *out = (h3_transport){.user = g,
                          .open_stream = tp_open_stream,
                          .write = tp_write,
                          .reset_stream = tp_reset_stream,
                          .stop_sending = tp_stop_sending,
                          .send_datagram = tp_send_datagram,
                          .close = tp_close};
}

QUINCE_API void h3_quic_attach(h3_quic *g, h3_conn *h3)
{
    if (g != NULL && g->h3 == NULL) {
        g->h3 = h3;
        g->owns_h3 = false;
    }
}

QUINCE_API h3_quic *h3_quic_new(const quince_env *env, quic_conn *qc, const h3_config *cfg,
                                const h3_callbacks *cb, h3_quic_writable_fn on_writable)
{
    if (env == NULL || qc == NULL || cfg == NULL)
        return NULL;
    h3_quic *g = h3_quic_new_detached(env, qc, on_writable, cb != NULL ? cb->user : NULL);
    if (g == NULL)
        return NULL;
    h3_transport tp;
    h3_quic_transport(g, &tp);
    h3_callbacks none;
    memset(&none, 0, sizeof(none));
    g->h3 = h3_conn_new(env, cfg, &tp, cb != NULL ? cb : &none);
    if (g->h3 == NULL) {
        quince_env_free(env, g);
        return NULL;
    }
    g->owns_h3 = true;
    return g;
}

QUINCE_API void h3_quic_free(h3_quic *g)
{
    if (g == NULL)
        return;
    if (g->owns_h3)
        h3_conn_free(g->h3);
    quince_env_free(g->env, g);
}

QUINCE_API h3_conn *h3_quic_h3(const h3_quic *g)
{
    return g != NULL ? g->h3 : NULL;
}

QUINCE_API quic_conn *h3_quic_quic(const h3_quic *g)
{
    return g != NULL ? g->qc : NULL;
}

QUINCE_API int h3_quic_start(h3_quic *g, uint64_t now)
{
    if (g == NULL || g->h3 == NULL)
        return H3_ERR_ARG;
    g->now = now;
    return h3_conn_start(g->h3);
}

QUINCE_API void h3_quic_set_now(h3_quic *g, uint64_t now)
{
    if (g != NULL)
        g->now = now;
}

/* Drain a readable stream into h3 until QUIC has nothing more (the READABLE
 * event is edge-triggered: it comes again only after a read found the buffer
 * empty). */
static int drain_stream(h3_quic *g, uint64_t stream_id)
{
    for (;;) {
        bool fin = false;
        int64_t n = quic_stream_read(g->qc, stream_id, g->buf, sizeof(g->buf), &fin);
        if (n < 0)
            return H3_OK; /* reset (the RESET event reports it) or already forgotten */
        if (n == 0 && !fin)
            return H3_OK;
        g->bytes_in += (uint64_t)n;
        int rc = h3_conn_on_stream_data(g->h3, stream_id, g->buf, (size_t)n, fin);
        if (rc == H3_ERR_CLOSED || rc == H3_ERR_NOMEM)
            return rc;
        if (fin)
            return H3_OK;
    }
}

QUINCE_API int h3_quic_on_event(h3_quic *g, const quic_event *ev, uint64_t now)
{
    if (g == NULL || ev == NULL || g->h3 == NULL)
        return H3_ERR_ARG;
    g->now = now;
    int rc;
    switch (ev->type) {
    case QUIC_EVENT_STREAM_READABLE:
        return drain_stream(g, ev->stream_id);
    case QUIC_EVENT_STREAM_RESET:
        rc = h3_conn_on_stream_reset(g->h3, ev->stream_id, ev->error_code);
        /* A read after the reset lets QUIC forget the stream's receive half. */
        (void)quic_stream_read(g->qc, ev->stream_id, g->buf, 0, NULL);
        return rc == H3_ERR_CLOSED ? rc : H3_OK;
    case QUIC_EVENT_STREAM_STOP_SENDING:
        rc = h3_conn_on_stop_sending(g->h3, ev->stream_id, ev->error_code);
        return rc == H3_ERR_CLOSED ? rc : H3_OK;
    case QUIC_EVENT_STREAM_WRITABLE:
        rc = h3_conn_on_writable(g->h3, ev->stream_id);
        if (rc == H3_ERR_CLOSED)
            return rc;
        if (g->on_writable != NULL)
            g->on_writable(g->user, ev->stream_id);
        return H3_OK;
    case QUIC_EVENT_DATAGRAM:
        rc = h3_conn_on_datagram(g->h3, ev->data, ev->len);
        return rc == H3_ERR_CLOSED ? rc : H3_OK;
    case QUIC_EVENT_HANDSHAKE_DONE:
    case QUIC_EVENT_STREAM_OPENED:
    case QUIC_EVENT_CLOSED:
    default:
        return 1;
    }
}

QUINCE_API int h3_quic_poll(h3_quic *g, uint64_t now,
                            void (*other)(void *user, const quic_event *ev), void *user)
{
    if (g == NULL)
        return H3_ERR_ARG;
    int count = 0, err = 0;
    quic_event ev;
    /* After an h3 failure keep polling: the caller still needs the CLOSED event. */
    while (quic_conn_poll_event(g->qc, &ev)) {
        count++;
        int rc = h3_quic_on_event(g, &ev, now);
        if (rc < 0 && err == 0)
            err = rc;
        if (rc == 1 && other != NULL)
            other(user, &ev);
    }
    return err != 0 ? err : count;
}

QUINCE_API uint64_t h3_quic_bytes_in(const h3_quic *g)
{
    return g != NULL ? g->bytes_in : 0;
}

QUINCE_API uint64_t h3_quic_bytes_out(const h3_quic *g)
{
    return g != NULL ? g->bytes_out : 0;
}

QUINCE_API uint64_t h3_quic_writes_refused(const h3_quic *g)
{
    return g != NULL ? g->writes_refused : 0;
}
