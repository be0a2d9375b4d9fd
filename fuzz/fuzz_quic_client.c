/* libFuzzer target: a whole QUIC client connection (RFC 9000) fed server datagrams. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "quic/error.h"
#include "quic/quic.h"
#include "fuzz_cert.h"
#include "fuzz_env.h"
#include "fuzz_quic_tick.h"

/*
 * Input framing, repeated: length (2 bytes, big-endian; cut to what is left), then that many
 * bytes, one UDP datagram from the server. The client is created first with a fixed random
 * stream (so its connection IDs are those the seeds were recorded with) and its Initial is
 * dropped; after each datagram it polls its events (stream bytes are read and dropped), once
 * established opens a bidi and a uni stream with a request and sends a DATAGRAM, then sends
 * (into a sink) and 1 ms passes. Meaningful with -Dcrypto=null, whose identity AEAD lets the
 * fuzzer write packets. The seeds are real server flights answering this client, recorded
 * with the null backend: build with -DQUINCE_FUZZ_GEN (scripts/fuzz_corpus.sh does) and run
 * with a directory. Idle ticks (runs of empty datagrams with nothing due) are skipped as in
 * fuzz_quic_server, and checked the same way in the replay build (fuzz_quic_tick.h).
 */

static const char *const g_alpn[] = {"h3", NULL};
typedef struct client {
    quic_config cfg;
    quic_conn *conn;
    uint64_t now;
    uint64_t rng;
    quince_env env;
    bool opened;
    fuzz_tick tick;
} client;

static void client_begin(client *cl)
{
    memset(cl, 0, sizeof(*cl));
    cl->rng = 0xc11e47;
    cl->env = *fuzz_env();
    cl->env.user = &cl->rng;
    cl->cfg.tls.alpn = g_alpn;
    cl->cfg.tls.server_name = "localhost";
    cl->cfg.tls.verify_mode = CRYPTO_VERIFY_INSECURE;
    cl->cfg.max_datagram_frame_size = 1200;
    cl->cfg.initial_max_data = 65536;
    cl->cfg.initial_max_stream_data_bidi_local = 16384;
    cl->cfg.initial_max_stream_data_uni = 16384;
    cl->cfg.max_conn_memory = 256 * 1024;
    cl->now = 1000000;
    cl->conn = quic_conn_client_new(&cl->env, &cl->cfg, NULL, NULL, cl->now);
}

/* Events, requests once established, then everything the client sends to out_cb. */
static void client_step(client *cl, void (*out_cb)(void *, const uint8_t *, size_t), void *user)
{
    uint8_t buf[1500];
    quic_event ev;
    for (int i = 0; i < 64 && quic_conn_poll_event(cl->conn, &ev); i++) {
        fuzz_tick_event(&cl->tick, &ev, cl->now);
        if (ev.type == QUIC_EVENT_STREAM_READABLE) {
            bool fin;
            while (quic_stream_read(cl->conn, ev.stream_id, buf, sizeof(buf), &fin) > 0)
                ;
        }
    }
    if (!cl->opened && quic_conn_is_established(cl->conn)) {
        cl->opened = true;
        cl->tick.idle = false;
        uint64_t id;
        if (quic_conn_open_stream(cl->conn, true, &id) == QUIC_OK)
            (void)quic_stream_write(cl->conn, id, (const uint8_t *)"GET /index.html", 15, true);
        if (quic_conn_open_stream(cl->conn, false, &id) == QUIC_OK)
            (void)quic_stream_write(cl->conn, id, (const uint8_t *)"\x00\x04\x00", 3, false);
        (void)quic_conn_send_datagram(cl->conn, (const uint8_t *)"datagram", 8);
    }
    for (int i = 0; i < 64; i++) {
        int n = quic_conn_send(cl->conn, NULL, buf, sizeof(buf), cl->now);
        if (n <= 0)
            break;
        fuzz_tick_sent(&cl->tick, buf, (size_t)n, cl->now);
        if (out_cb != NULL)
            out_cb(user, buf, (size_t)n);
    }
    cl->now += 1000;
    if (quic_conn_next_timeout(cl->conn) <= cl->now) {
        fuzz_tick_timer(&cl->tick, cl->now);
        quic_conn_on_timeout(cl->conn, cl->now);
    }
}

/* One input; skip: whether idle ticks are skipped. Returns the digest of what the client did. */
static uint64_t run(const uint8_t *data, size_t size, bool skip)
{
    client cl;
    client_begin(&cl);
    if (cl.conn == NULL)
        return 0;
    cl.tick.skip = skip;
    client_step(&cl, NULL, NULL); /* its Initial */
    size_t off = 0;
    while (size - off >= 2) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        if (len == 0 && fuzz_tick_skip(&cl.tick, cl.conn, cl.now)) {
            cl.now += 1000;
            continue;
        }
        fuzz_tick_begin(&cl.tick, len);
        quic_conn_recv(cl.conn, NULL, data + off, len, cl.now);
        off += len;
        client_step(&cl, NULL, NULL);
    }
    uint64_t digest = fuzz_tick_end(&cl.tick, cl.conn, cl.now);
    quic_conn_free(cl.conn);
    return digest;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!fuzz_cert_once())
        return 0;
    fuzz_tick_run_input(run, data, size);
    return 0;
}

#ifdef QUINCE_FUZZ_GEN
/* Seed generator: this client against a server connection, recording the server's datagrams. */
typedef struct rec {
    uint8_t data[1 << 20];
    size_t len;
    quic_conn *server;
    quic_config scfg;
    const quince_env *senv;
    uint64_t now;
    int left; /* client datagrams still to deliver */
} rec;

static void to_server(void *user, const uint8_t *d, size_t len)
{
    rec *r = user;
    if (r->left <= 0)
        return;
    r->left--;
    if (r->server == NULL)
        r->server = quic_conn_accept(r->senv, &r->scfg, NULL, NULL, d, len, r->now);
    else
        quic_conn_recv(r->server, NULL, d, len, r->now);
}

static void gen(const char *dir, const char *name, int client_datagrams)
{
    static rec r;
    memset(&r, 0, sizeof(r));
    uint64_t srng = 0x5e7e7;
    quince_env senv = *fuzz_env();
    senv.user = &srng;
    r.senv = &senv;
    r.scfg.is_server = true;
    r.scfg.tls.alpn = g_alpn;
    r.scfg.tls.cert_chain = g_chain;
    r.scfg.tls.cert_chain_lens = g_chain_len;
    r.scfg.tls.cert_chain_count = 1;
    r.scfg.tls.private_key = g_key;
    r.scfg.max_datagram_frame_size = 1200;
    r.left = client_datagrams;
    client cl;
    client_begin(&cl);
    for (int round = 0; round < 60; round++) {
        r.now = cl.now;
        client_step(&cl, to_server, &r);
        if (r.server == NULL)
            continue;
        quic_event ev;
        uint8_t buf[1500];
        while (quic_conn_poll_event(r.server, &ev))
            if (ev.type == QUIC_EVENT_STREAM_READABLE) {
                bool fin = false;
                int64_t n = quic_stream_read(r.server, ev.stream_id, buf, sizeof(buf), &fin);
                if ((n > 0 || fin) && (ev.stream_id & 2) == 0)
                    (void)quic_stream_write(r.server, ev.stream_id, buf, n > 0 ? (size_t)n : 0,
                                            fin);
            } else if (ev.type == QUIC_EVENT_DATAGRAM) {
                (void)quic_conn_send_datagram(r.server, ev.data, ev.len);
            } else if (ev.type == QUIC_EVENT_HANDSHAKE_DONE) {
                uint64_t id; /* a server stream too, and a key update later */
                if (quic_conn_open_stream(r.server, false, &id) == QUIC_OK)
                    (void)quic_stream_write(r.server, id, (const uint8_t *)"\x00\x04\x00", 3,
                                            false);
            }
        if (round == 30 && r.left > 0)
            (void)quic_conn_key_update(r.server);
        if (round == 45 && r.left > 0)
            (void)quic_conn_close(r.server, 0x100, "done", r.now);
        int n;
        while ((n = quic_conn_send(r.server, NULL, buf, sizeof(buf), r.now)) > 0) {
            r.data[r.len++] = (uint8_t)(n >> 8);
            r.data[r.len++] = (uint8_t)n;
            memcpy(r.data + r.len, buf, (size_t)n);
            r.len += (size_t)n;
            quic_conn_recv(cl.conn, NULL, buf, (size_t)n, cl.now);
        }
        if (quic_conn_next_timeout(r.server) <= r.now)
            quic_conn_on_timeout(r.server, r.now);
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(r.data, 1, r.len, f) != r.len)
        exit(1);
    fclose(f);
    fprintf(stderr, "%s: %zu bytes, client established %d, server established %d, %d left\n", name,
            r.len, quic_conn_is_established(cl.conn),
            r.server != NULL && quic_conn_is_established(r.server), r.left);
    quic_conn_free(cl.conn);
    quic_conn_free(r.server);
}

int main(int argc, char **argv)
{
    if (argc != 2 || !fuzz_cert_once())
        return 2;
    gen(argv[1], "server_handshake_null.bin", 1);
    gen(argv[1], "server_full_null.bin", 1000);
    return 0;
}
#endif
