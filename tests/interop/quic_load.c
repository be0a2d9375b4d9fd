/* quic_load: many concurrent hq-interop clients against one server, each on its own socket. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps/app_util.h"
#include "io/bridge.h"
#include "io/posix_env.h"
#include "io/loop.h"
#include "io/udp.h"
#include "quic/quic.h"

/*
 * usage: quic_load ADDR:PORT PATH EXPECTED_FILE CONNECTIONS TIMEOUT_S
 * Opens CONNECTIONS client connections at once (one UDP socket each, all on
 * one io loop), each sends "GET PATH\r\n" and must receive exactly the bytes
 * of EXPECTED_FILE then FIN (every other request ends with the FIN alone,
 * without CRLF). Prints "load: N/M ok" and exits 0 only if all
 * M matched before the timeout.
 */

typedef struct load_conn {
    quic_conn *conn;
    io_udp sock;
    io_endpoint *ep;
    io_tx tx;
    uint8_t *body;
    size_t body_len;
    uint64_t stream_id;
    bool requested, done, ok, closing;
} load_conn;

static io_loop *loop;
static load_conn *conns;
static size_t nconns, nfinished, nok;
static const uint8_t *expected;
static size_t expected_len;
static const char *path;
static uint64_t deadline;

static void finish(load_conn *lc, bool ok, const char *why, uint64_t now)
{
    if (lc->done)
        return;
    lc->done = true;
    lc->ok = ok;
    nfinished++;
    if (ok)
        nok++;
    else
        fprintf(stderr, "load: connection %zu: %s\n", (size_t)(lc - conns), why);
    if (!lc->closing) {
        quic_conn_close(lc->conn, 0, "done", now);
        lc->closing = true;
    }
    if (nfinished == nconns)
        io_loop_stop(loop);
}

static void events(load_conn *lc, uint64_t now)
{
    quic_event ev;
    while (quic_conn_poll_event(lc->conn, &ev)) {
        if (ev.type == QUIC_EVENT_HANDSHAKE_DONE && !lc->requested) {
            char req[1100];
            /* Every other connection ends its request with the FIN alone. */
            bool crlf = (lc - conns) % 2 == 0;
            int n = snprintf(req, sizeof(req), "GET %s%s", path, crlf ? "\r\n" : "");
            if (quic_conn_open_stream(lc->conn, true, &lc->stream_id) < 0 ||
                quic_stream_write(lc->conn, lc->stream_id, (const uint8_t *)req, (size_t)n, true) !=
                    n) {
                finish(lc, false, "cannot send the request", now);
                continue;
            }
            lc->requested = true;
        } else if (ev.type == QUIC_EVENT_STREAM_READABLE && lc->requested &&
                   ev.stream_id == lc->stream_id && !lc->done) {
            for (;;) {
                bool fin = false;
                size_t room = expected_len + 1 - lc->body_len;
                int64_t n =
                    quic_stream_read(lc->conn, lc->stream_id, lc->body + lc->body_len, room, &fin);
                if (n < 0) {
                    finish(lc, false, "stream read failed", now);
                    break;
                }
                lc->body_len += (size_t)n;
                if (lc->body_len > expected_len) {
                    finish(lc, false, "body longer than expected", now);
                    break;
                }
                if (fin) {
                    bool same = lc->body_len == expected_len &&
                                memcmp(lc->body, expected, expected_len) == 0;
                    finish(lc, same, "body differs", now);
                    break;
                }
                if (n == 0)
                    break;
            }
        } else if (ev.type == QUIC_EVENT_STREAM_RESET) {
            finish(lc, false, "stream reset", now);
        } else if (ev.type == QUIC_EVENT_CLOSED) {
            finish(lc, false, "connection closed early", now);
            lc->closing = true;
        }
    }
}

static void on_datagrams(void *user, const io_batch *b)
{
    load_conn *lc = user;
    for (size_t i = 0; i < b->n; i++) {
        quic_addr from;
        io_addr_to_quic(&b->d[i].peer, &from);
        if (!b->d[i].truncated)
            quic_conn_recv(lc->conn, &from, b->d[i].data, b->d[i].len, b->now);
    }
}

static void on_timeout(void *user, uint64_t now)
{
    load_conn *lc = user;
    if (now >= deadline) {
        fprintf(stderr, "load: timed out\n");
        io_loop_stop(loop);
        return;
    }
    if (quic_conn_next_timeout(lc->conn) <= now)
        quic_conn_on_timeout(lc->conn, now);
}

static uint64_t flush(void *user, uint64_t now)
{
    load_conn *lc = user;
    events(lc, now);
    bool blocked = io_tx_pending(&lc->tx) && io_tx_flush(&lc->tx) == 1;
    uint8_t *p;
    while (!blocked && (p = io_tx_reserve(&lc->tx)) != NULL) {
        quic_addr to;
        int n = quic_conn_send(lc->conn, &to, p, IO_TX_DGRAM_CAP, now);
        if (n <= 0)
            break;
        io_tx_commit(&lc->tx, (size_t)n, &to);
    }
    if (blocked || io_tx_flush(&lc->tx) == 1)
        io_endpoint_want_write(lc->ep, &lc->sock);
    uint64_t t = quic_conn_next_timeout(lc->conn);
    return t < deadline ? t : deadline;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: quic_load ADDR:PORT PATH EXPECTED_FILE CONNECTIONS TIMEOUT_S\n");
        return 2;
    }
    io_addr server_io;
    if (io_addr_parse(&server_io, argv[1]) != IO_OK) {
        fprintf(stderr, "load: bad address %s\n", argv[1]);
        return 2;
    }
    path = argv[2];
    uint8_t *exp = app_read_file(argv[3], 1 << 26, &expected_len);
    expected = exp;
    nconns = (size_t)strtoul(argv[4], NULL, 10);
    uint64_t timeout_us;
    if (exp == NULL || nconns == 0 || nconns > 4096 || strlen(path) > 1000 ||
        !app_parse_seconds(argv[5], &timeout_us)) {
        fprintf(stderr, "load: bad arguments\n");
        return 2;
    }
    static const char *const alpn[] = {"hq-interop", NULL};
    quince_env env = io_env_default();
    quic_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.tls.alpn = alpn;
    cfg.tls.verify_mode = CRYPTO_VERIFY_INSECURE;
    cfg.cid_len = 8;
    static const io_endpoint_ops ops = {
        .on_datagrams = on_datagrams, .on_timeout = on_timeout, .flush = flush};
    if (io_loop_create(&loop, NULL) != IO_OK || io_loop_catch_signals(loop) != IO_OK)
        return 1;
    conns = calloc(nconns, sizeof(*conns));
    if (conns == NULL)
        return 1;
    quic_addr remote;
    io_addr_to_quic(&server_io, &remote);
    const char *any = io_addr_family(&server_io) == AF_INET6 ? "[::1]:0" : "127.0.0.1:0";
    uint64_t now = io_now_us();
    deadline = now + timeout_us;
    for (size_t i = 0; i < nconns; i++) {
        load_conn *lc = &conns[i];
        quic_addr local;
        lc->body = malloc(expected_len + 1);
        if (lc->body == NULL || io_udp_open(&lc->sock, any, NULL) != IO_OK) {
            fprintf(stderr, "load: socket %zu failed\n", i);
            return 1;
        }
        io_addr_to_quic(&lc->sock.local, &local);
        io_tx_init(&lc->tx, &lc->sock);
        lc->conn = quic_conn_client_new(&env, &cfg, &local, &remote, now);
        if (lc->conn == NULL || io_loop_add_endpoint(loop, &ops, lc, &lc->ep) != IO_OK ||
            io_loop_add_socket(loop, lc->ep, &lc->sock) != IO_OK) {
            fprintf(stderr, "load: connection %zu setup failed\n", i);
            return 1;
        }
        io_endpoint_kick(lc->ep);
    }
    uint64_t start = io_now_us();
    io_loop_run(loop);
    /* Let the CONNECTION_CLOSE frames go out. */
    for (size_t i = 0; i < nconns; i++)
        flush(&conns[i], io_now_us());
    printf("load: %zu/%zu ok in %.2f s\n", nok, nconns, (double)(io_now_us() - start) / 1e6);
    io_loop_destroy(loop);
    for (size_t i = 0; i < nconns; i++) {
        quic_conn_free(conns[i].conn);
        io_udp_close(&conns[i].sock);
        free(conns[i].body);
    }
    free(conns);
    free(exp);
    return nok == nconns ? 0 : 1;
}
