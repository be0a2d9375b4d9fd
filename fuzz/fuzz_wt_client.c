/* libFuzzer target: a WebTransport client session (draft-ietf-webtrans-http3-02) fed server bytes.
 */
#include <stdio.h>

#include "fuzz/fuzz_wt_common.h"

/*
 * The client opens a session to /echo at once (its SETTINGS, CONNECT and QPACK streams are
 * written to a sink), then takes the input as what the server sends, in fuzz_wt_server's
 * record format:
 *   0 | 1 (data, 1 = with FIN), stream id (1 byte), length (2 bytes BE), bytes
 *   2 (datagram), length (2 bytes BE), bytes
 *   3 | 4 (RESET_STREAM | STOP_SENDING from the server), stream id, code byte
 * Op bytes are taken modulo 5. Once the session is ready the client opens a bidi and a uni
 * stream, writes, sends a datagram and at the end closes the session, so that the server's
 * answers to those reach the client's stream and capsule paths. The seeds are real server
 * flights from apps/wt_echo: build this file with -DQUINCE_FUZZ_GEN and a main, run it with a
 * directory (scripts/fuzz_corpus.sh does).
 */

/* Streams and a datagram on a ready session, once. */
static void client_use(fz_ep *c, bool *used)
{
    if (*used || c->session == NULL || !wt_session_is_ready(c->session))
        return;
    *used = true;
    wt_stream *st;
    if (wt_session_open_stream(c->session, true, &st) == WT_OK)
        (void)wt_stream_write(st, (const uint8_t *)"hello", 5, true);
    if (wt_session_open_stream(c->session, false, &st) == WT_OK)
        (void)wt_stream_write(st, (const uint8_t *)"uni", 3, true);
    (void)wt_session_send_datagram(c->session, (const uint8_t *)"dgram", 5);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fz_ep client;
    if (!fz_ep_init(&client, false, NULL))
        return 0;
    if (wt_endpoint_connect(client.wt, "localhost", "/echo", "https://localhost",
                            &client.session) != WT_OK) {
        fz_ep_free(&client);
        return 0;
    }
    bool used = false;
    size_t off = 0;
    while (off < size && fz_ep_feed(&client, data, size, &off))
        client_use(&client, &used);
    if (used && client.session != NULL)
        (void)wt_session_close(client.session, 7, (const uint8_t *)"bye", 3);
    fz_ep_free(&client);
    return 0;
}

#ifdef QUINCE_FUZZ_GEN
/* What the server wrote, as records (its streams in order, then its last datagram). */
static size_t server_flight(const fz_ep *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nout; i++) {
        const fz_out *o = &s->out[i];
        if (o->id > 255 || n + 4 + o->len > cap)
            continue;
        out[n++] = o->fin ? 1 : 0;
        out[n++] = (uint8_t)o->id;
        out[n++] = (uint8_t)(o->len >> 8);
        out[n++] = (uint8_t)o->len;
        memcpy(out + n, o->buf, o->len);
        n += o->len;
    }
    return n;
}

/* A client and the echo server in memory; the server's flight after `steps` exchanges (0:
 * what the server writes before hearing anything: its control and QPACK streams). */
static void gen(const char *dir, const char *name, int steps)
{
    static fz_ep client, server;
    wt_echo echo;
    if (!fz_ep_init(&server, true, &echo) || !fz_ep_init(&client, false, NULL))
        exit(1);
    if (wt_endpoint_connect(client.wt, "localhost", "/echo", "https://localhost",
                            &client.session) != WT_OK)
        exit(1);
    bool used = false;
    for (int i = 0; i < steps; i++) {
        fz_pump(&client, &server);
        client_use(&client, &used);
    }
    if (steps > 0)
        fz_pump(&client, &server);
    static uint8_t buf[1 << 16];
    size_t n = server_flight(&server, buf, sizeof(buf));
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(buf, 1, n, f) != n)
        exit(1);
    fclose(f);
    fz_ep_free(&client);
    fz_ep_free(&server);
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    gen(argv[1], "server_settings.bin", 0);
    gen(argv[1], "server_session_echo.bin", 2);
    return 0;
}
#endif
