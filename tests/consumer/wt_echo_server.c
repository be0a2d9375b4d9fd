/* A WebTransport echo server on /echo, built outside the tree against installed headers only. */
#include <string.h>

#include "io/serve.h"

static int on_request(void *user, wt_session *s)
{
    (void)user; /* a real server checks wt_session_origin(s) too */
    return strcmp(wt_session_path(s), "/echo") == 0 ? 200 : 404;
}

static void on_data(void *user, wt_stream *st, const uint8_t *data, size_t len, bool fin)
{
    (void)user;
    wt_stream *out = st;          /* bidi: answer on the same stream */
    if (!wt_stream_is_bidi(st)) { /* uni: on one new stream of ours */
        out = wt_stream_user(st);
        if (out == NULL && wt_session_open_stream(wt_stream_session(st), false, &out) == WT_OK)
            wt_stream_set_user(st, out);
    }
    if (out != NULL && wt_stream_write(out, data, len, fin) != WT_OK)
        wt_stream_reset(st, 1);
}

static void on_datagram(void *user, wt_session *s, const uint8_t *data, size_t len)
{
    (void)user;
    wt_session_send_datagram(s, data, len);
}

int main(int argc, char **argv)
{
    wt_callbacks cb = {
        .on_session_request = on_request, .on_stream_data = on_data, .on_datagram = on_datagram};
    return io_serve(argc > 1 ? argv[1] : NULL, &cb);
}
