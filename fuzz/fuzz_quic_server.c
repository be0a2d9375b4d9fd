/* libFuzzer target: a whole QUIC server connection (RFC 9000) fed client datagrams. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/backend.h"
#include "quic/quic.h"
#include "fuzz_cert.h"
#include "fuzz_env.h"
#include "fuzz_quic_tick.h"

/*
 * Input framing, repeated: length (2 bytes, big-endian; cut to what is
 * left), then that many bytes, one UDP datagram from the client. The first
 * datagram creates the connection (quic_conn_accept); after each one the
 * server answers (everything it sends is dropped), serves its streams (echo)
 * and 1 ms passes. Meaningful with -Dcrypto=null, whose identity AEAD lets
 * the fuzzer write packets; the seeds are real client flights recorded with
 * the null backend (build with -DQUINCE_FUZZ_GEN to regenerate them: the
 * program then writes seeds into the directory named by argv[1]). In a
 * normal build the corpus is replayed and the Initials fail to open.
 *
 * An empty datagram is a clock tick, and most of what the fuzzer writes is runs of them
 * (each 0x0000 is one): thousands per input, each a full receive, poll and send. A tick
 * that follows a tick which changed nothing (no event, nothing sent, no timer run, the
 * connection not closing) while no timer falls due before it ends is skipped: it would
 * run the same code on the same state and change nothing either, exactly as an event
 * loop sleeps until quic_conn_next_timeout. The replay build (suite fuzz) runs every input
 * both ways and aborts unless the two did the same (fuzz_quic_tick.h).
 */

static const char *const g_alpn[] = {"h3", NULL};
typedef struct server {
    quic_config cfg;
    quic_conn *conn;
    uint64_t now;
    fuzz_tick tick;
} server;

static void server_begin(server *s)
{
    memset(s, 0, sizeof(*s));
    *fuzz_rng() = 0xc0ffee;
    s->cfg.is_server = true;
    s->cfg.tls.alpn = g_alpn;
    s->cfg.tls.cert_chain = g_chain;
    s->cfg.tls.cert_chain_lens = g_chain_len;
    s->cfg.tls.cert_chain_count = 1;
    s->cfg.tls.private_key = g_key;
    s->cfg.max_datagram_frame_size = 1200;
    s->cfg.initial_max_streams_bidi = 8;
    s->cfg.initial_max_streams_uni = 4;
    s->cfg.initial_max_data = 65536;
    s->cfg.initial_max_stream_data_bidi_remote = 16384;
    s->cfg.initial_max_stream_data_uni = 16384;
    s->now = 1000000;
}

/* Feed one datagram; out/out_cb receive what the server sends (may be NULL). */
static void server_input(server *s, const uint8_t *d, size_t len,
                         void (*out_cb)(void *, const uint8_t *, size_t), void *out_user)
{
    if (s->conn == NULL) {
        s->conn = quic_conn_accept(fuzz_env(), &s->cfg, NULL, NULL, d, len, s->now);
    } else {
        quic_conn_recv(s->conn, NULL, d, len, s->now);
    }
    if (s->conn == NULL)
        return;
    fuzz_tick_begin(&s->tick, len);
    uint8_t buf[1500];
    quic_event ev;
    for (int i = 0; i < 64 && quic_conn_poll_event(s->conn, &ev); i++) {
        fuzz_tick_event(&s->tick, &ev, s->now);
        if (ev.type == QUIC_EVENT_STREAM_READABLE) {
            bool fin = false;
            int64_t n = quic_stream_read(s->conn, ev.stream_id, buf, sizeof(buf), &fin);
            if (n > 0 || fin)
                (void)quic_stream_write(s->conn, ev.stream_id, buf, n > 0 ? (size_t)n : 0, fin);
        } else if (ev.type == QUIC_EVENT_DATAGRAM) {
            (void)quic_conn_send_datagram(s->conn, ev.data, ev.len);
        }
    }
    for (int i = 0; i < 64; i++) {
        int n = quic_conn_send(s->conn, NULL, buf, sizeof(buf), s->now);
        if (n <= 0)
            break;
        fuzz_tick_sent(&s->tick, buf, (size_t)n, s->now);
        if (out_cb != NULL)
            out_cb(out_user, buf, (size_t)n);
    }
    s->now += 1000;
    if (quic_conn_next_timeout(s->conn) <= s->now) {
        fuzz_tick_timer(&s->tick, s->now);
        quic_conn_on_timeout(s->conn, s->now);
    }
}

/* One input; skip: whether idle ticks are skipped. Returns the digest of what the server did. */
static uint64_t run(const uint8_t *data, size_t size, bool skip)
{
    server s;
    server_begin(&s);
    s.tick.skip = skip;
    size_t off = 0;
    while (size - off >= 2) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        off += 2;
        if (len > size - off)
            len = size - off;
        if (len == 0 && s.conn != NULL && fuzz_tick_skip(&s.tick, s.conn, s.now)) {
            s.now += 1000;
            continue;
        }
        server_input(&s, data + off, len, NULL, NULL);
        off += len;
        if (s.conn == NULL)
            break;
    }
#ifdef QUINCE_FUZZ_DEBUG
    if (s.conn != NULL)
        fprintf(stderr, "established %d, packets received %llu, sent %llu\n",
                quic_conn_is_established(s.conn),
                (unsigned long long)quic_conn_get_stats(s.conn)->packets_received,
                (unsigned long long)quic_conn_get_stats(s.conn)->packets_sent);
#endif
    uint64_t digest = fuzz_tick_end(&s.tick, s.conn, s.now);
    quic_conn_free(s.conn);
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
/* Seed generator: a real client against server_input, recording the client's datagrams. */
typedef struct rec {
    uint8_t data[1 << 20];
    size_t len;
    quic_conn *client;
    uint64_t now;
} rec;

static void to_client(void *user, const uint8_t *d, size_t len)
{
    rec *r = user;
    quic_conn_recv(r->client, NULL, d, len, r->now);
}

static void write_seed(const char *dir, const char *name, const rec *r)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        exit(1);
    fwrite(r->data, 1, r->len, f);
    fclose(f);
}

static void gen(const char *dir, const char *name, int stop_after, bool close)
{
    static rec r;
    memset(&r, 0, sizeof(r));
    uint64_t crng = 0xc11e47 + (uint64_t)stop_after;
    quince_env cenv = *fuzz_env();
    cenv.user = &crng;
    quic_config cc = {0};
    cc.tls.alpn = g_alpn;
    cc.tls.server_name = "localhost";
    cc.tls.verify_mode = CRYPTO_VERIFY_INSECURE;
    cc.max_datagram_frame_size = 1200;
    server s;
    server_begin(&s);
    r.now = s.now;
    r.client = quic_conn_client_new(&cenv, &cc, NULL, NULL, r.now);
    bool opened = false;
    int count = 0;
    for (int round = 0; round < 40 && count < stop_after; round++) {
        if (quic_conn_is_established(r.client) && !opened) {
            uint64_t id;
            quic_conn_open_stream(r.client, true, &id);
            quic_stream_write(r.client, id, (const uint8_t *)"GET /index.html", 15, true);
            quic_conn_open_stream(r.client, false, &id);
            quic_stream_write(r.client, id, (const uint8_t *)"\x00\x04\x00", 3, false);
            quic_conn_send_datagram(r.client, (const uint8_t *)"datagram", 8);
            opened = true;
        } else if (opened && close && round > 30) {
            quic_conn_close(r.client, 0x100, "done", r.now);
        }
        uint8_t buf[1500];
        int n;
        while (count < stop_after &&
               (n = quic_conn_send(r.client, NULL, buf, sizeof(buf), r.now)) > 0) {
            r.data[r.len++] = (uint8_t)(n >> 8);
            r.data[r.len++] = (uint8_t)n;
            memcpy(r.data + r.len, buf, (size_t)n);
            r.len += (size_t)n;
            count++;
            server_input(&s, buf, (size_t)n, to_client, &r);
            r.now = s.now;
        }
        quic_event ev;
        while (quic_conn_poll_event(r.client, &ev))
            ;
        r.now += 30000;
        s.now = r.now;
        quic_conn_on_timeout(r.client, r.now);
    }
    fprintf(stderr, "%s: %d datagrams, established %d\n", name, count,
            quic_conn_is_established(r.client));
    write_seed(dir, name, &r);
    quic_conn_free(r.client);
    quic_conn_free(s.conn);
}

int main(int argc, char **argv)
{
    if (argc != 2 || !fuzz_cert_once())
        return 2;
    gen(argv[1], "client_initial_null.bin", 1, false);
    gen(argv[1], "client_handshake_null.bin", 3, false);
    gen(argv[1], "client_full_streams_null.bin", 100, false);
    gen(argv[1], "client_full_close_null.bin", 100, true);
    return 0;
}
#endif
