/* A WebTransport echo handler (streams and datagrams) over the wt/ API. */
#include "wt/echo.h"

#include <string.h>

static int on_request(void *user, wt_session *s)
{
    wt_echo *e = user;
    if (strcmp(wt_session_path(s), e->path) != 0)
        return 404;
    e->sessions++;
    return 200;
}

/* The stream the echo goes to: the same one (bidi) or our uni twin. */
static wt_stream *echo_target(wt_stream *st)
{
    if (wt_stream_is_bidi(st))
        return st;
    wt_stream *out = wt_stream_user(st);
    if (out == NULL && wt_session_open_stream(wt_stream_session(st), false, &out) == WT_OK) {
        wt_stream_set_user(st, out);
        wt_stream_set_user(out, st);
    }
    return out;
}

static void on_data(void *user, wt_stream *st, const uint8_t *data, size_t len, bool fin)
{
    wt_echo *e = user;
    if (wt_stream_is_local(st))
        return;
    wt_stream *out = echo_target(st);
    if (out == NULL || wt_stream_write(out, data, len, fin) != WT_OK) {
        if (out != NULL && out != st)
            wt_stream_reset(out, 1);
        wt_stream_stop_sending(st, 1);
        return;
    }
    e->bytes += len;
}

static void on_reset(void *user, wt_stream *st, uint32_t code)
{
    (void)user;
    /* The peer gave up: pass its code on. */
    wt_stream *out = wt_stream_is_bidi(st) ? st : wt_stream_user(st);
    if (out != NULL)
        wt_stream_reset(out, code);
}

static void on_closed(void *user, wt_stream *st)
{
    (void)user;
    wt_stream *twin = wt_stream_is_bidi(st) ? NULL : wt_stream_user(st);
    if (twin != NULL)
        wt_stream_set_user(twin, NULL);
}

static void on_datagram(void *user, wt_session *s, const uint8_t *data, size_t len)
{
    wt_echo *e = user;
    if (wt_session_send_datagram(s, data, len) == WT_OK)
        e->datagrams++;
}

QUINCE_API void wt_echo_init(wt_echo *echo, const char *path, wt_callbacks *cb)
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
