/* Binding of a WebTransport endpoint to a QUIC connection through h3/quic_glue. */
#include "wt/quic_glue.h"

#include <string.h>

struct wt_quic {
    const quince_env *env;
    h3_quic *g;
    wt_endpoint *ep;
    wt_quic_writable_fn on_writable;
    void *writable_user;
    size_t dgram_max; /* last value given to wt */
};

static void glue_writable(void *user, uint64_t stream_id)
{
    wt_quic *w = user;
    if (w->on_writable != NULL)
        w->on_writable(w->writable_user, stream_id);
}

QUINCE_API wt_quic *wt_quic_new(const quince_env *env, quic_conn *qc, const wt_config *cfg,
                                const h3_config *h3cfg, const h3_callbacks *chain,
                                const wt_callbacks *cb, wt_quic_writable_fn on_writable,
                                void *writable_user)
{
    if (env == NULL || qc == NULL || cfg == NULL)
        return NULL;
    wt_quic *w = quince_env_calloc(env, sizeof(*w));
    if (w == NULL)
        return NULL;
    w->env = env;
    w->on_writable = on_writable;
    w->writable_user = writable_user;
    w->g = h3_quic_new_detached(env, qc, glue_writable, w);
    if (w->g == NULL) {
        quince_env_free(env, w);
        return NULL;
    }
    h3_transport tp;
    h3_quic_transport(w->g, &tp);
    w->ep = wt_endpoint_new(env, cfg, h3cfg, &tp, chain, cb);
    if (w->ep == NULL) {
        h3_quic_free(w->g);
        quince_env_free(env, w);
        return NULL;
    }
    h3_quic_attach(w->g, wt_endpoint_h3(w->ep));
    return w;
}

QUINCE_API void wt_quic_free(wt_quic *w)
{
    if (w == NULL)
        return;
    wt_endpoint_free(w->ep);
    h3_quic_free(w->g);
    quince_env_free(w->env, w);
}

QUINCE_API wt_endpoint *wt_quic_endpoint(const wt_quic *w)
{
    return w != NULL ? w->ep : NULL;
}

QUINCE_API quic_conn *wt_quic_conn(const wt_quic *w)
{
    return w != NULL ? h3_quic_quic(w->g) : NULL;
}

QUINCE_API int wt_quic_start(wt_quic *w, uint64_t now)
{
    if (w == NULL)
        return WT_ERR_ARG;
    h3_quic_set_now(w->g, now);
    return wt_endpoint_start(w->ep) == WT_OK ? WT_OK : WT_ERR_H3;
}

/* RFC 9221 §3: the peer's max_datagram_frame_size bounds our DATAGRAM payloads. */
static void update_dgram(wt_quic *w)
{
    size_t n = quic_conn_max_datagram_payload(h3_quic_quic(w->g));
    if (n != w->dgram_max) {
        w->dgram_max = n;
        wt_endpoint_set_max_datagram_frame(w->ep, n);
    }
}

QUINCE_API int wt_quic_on_event(wt_quic *w, const quic_event *ev, uint64_t now)
{
    if (w == NULL || ev == NULL)
        return WT_ERR_ARG;
    update_dgram(w);
    return h3_quic_on_event(w->g, ev, now);
}

QUINCE_API int wt_quic_poll(wt_quic *w, uint64_t now,
                            void (*other)(void *user, const quic_event *ev), void *user)
{
    if (w == NULL)
        return WT_ERR_ARG;
    quic_conn *qc = h3_quic_quic(w->g);
    int count = 0, err = 0;
    quic_event ev;
    update_dgram(w);
    while (quic_conn_poll_event(qc, &ev)) {
        count++;
        int rc = wt_quic_on_event(w, &ev, now);
        if (rc < 0 && err == 0)
            err = rc;
        if (rc == 1 && other != NULL)
            other(user, &ev);
    }
    return err != 0 ? err : count;
}
