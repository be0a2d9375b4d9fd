/* A WebTransport echo handler (streams and datagrams) over the wt/ API. */
#include "apps/wt_echo.h"

#include <string.h>

/* A peer unidirectional stream is read whole, then echoed on a new stream. */
typedef struct uni_buf {
    uint8_t *data;
    size_t len;
} uni_buf;

static const quince_env *env_of(wt_stream *st)
{
    return wt_endpoint_env(wt_session_endpoint(wt_stream_session(st)));
}

static int on_request(void *user, wt_session *s)
{
    wt_echo *e = user;
    if (strcmp(wt_session_path(s), e->path) != 0)
        return wt_session_not_found_status(s);
    e->sessions++;
    return 200;
}

static void uni_data(wt_echo *e, wt_stream *st, const uint8_t *data, size_t len, bool fin)
{
    const quince_env *env = env_of(st);
    uni_buf *b = wt_stream_user(st);
    if (b == NULL) {
        b = quince_env_alloc(env, sizeof(*b));
        if (b == NULL) {
            wt_stream_stop_sending(st, 1);
            return;
        }
        memset(b, 0, sizeof(*b));
        wt_stream_set_user(st, b);
    }
    if (len > WT_ECHO_MAX_UNI - b->len) {
        wt_stream_stop_sending(st, 1);
        return;
    }
    if (len > 0) {
        uint8_t *d = quince_env_realloc(env, b->data, b->len + len);
        if (d == NULL) {
            wt_stream_stop_sending(st, 1);
            return;
        }
        memcpy(d + b->len, data, len);
        b->data = d;
        b->len += len;
    }
    if (!fin)
        return;
    wt_stream *out;
    if (wt_session_open_stream(wt_stream_session(st), false, &out) != WT_OK)
        return;
    if (wt_stream_write(out, b->data, b->len, true) != WT_OK)
        wt_stream_reset(out, 1);
    else
        e->bytes += b->len;
}

static void on_data(void *user, wt_stream *st, const uint8_t *data, size_t len, bool fin)
{
    wt_echo *e = user;
    if (wt_stream_is_local(st))
        return;
    if (!wt_stream_is_bidi(st)) {
        uni_data(e, st, data, len, fin);
        return;
    }
    /* Bidirectional: the same bytes back on the same stream, FIN after the peer's. */
    if (wt_stream_write(st, data, len, fin) != WT_OK) {
        wt_stream_reset(st, 1);
        return;
    }
    e->bytes += len;
}

static void on_reset(void *user, wt_stream *st, uint32_t code)
{
    (void)user;
    /* The peer gave up on a bidi stream: pass its code on. */
    if (wt_stream_is_bidi(st))
        wt_stream_reset(st, code);
}

static void on_closed(void *user, wt_stream *st)
{
    (void)user;
    uni_buf *b = wt_stream_is_bidi(st) || wt_stream_is_local(st) ? NULL : wt_stream_user(st);
    if (b != NULL) {
        const quince_env *env = env_of(st);
        quince_env_free(env, b->data);
        quince_env_free(env, b);
    }
}

static void on_datagram(void *user, wt_session *s, const uint8_t *data, size_t len)
{
    wt_echo *e = user;
    if (wt_session_send_datagram(s, data, len) == WT_OK)
        e->datagrams++;
}

void wt_echo_init(wt_echo *echo, const char *path, wt_callbacks *cb)
{
    memset(echo, 0, sizeof(*echo));
    echo->path = path;
    memset(cb, 0, sizeof(*cb));
    cb->user = echo;
    cb->on_session_request = on_request;
    cb->on_stream_data = on_data;
    cb->on_stream_reset = on_reset;
    cb->on_stream_closed = on_closed;
    cb->on_datagram = on_datagram;
}
