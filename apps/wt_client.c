/* quince-client --webtransport URL [--cert-hash HEX]: echo checks and close against a draft-02
 * server. */
#include "apps/wt_client.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "apps/app_util.h"
#include "io/bridge.h"
#include "io/connect.h"
#include "apps/wt_check.h"
#include "io/env.h"
#include "io/loop.h"
#include "io/udp.h"
#include "bind/bind.h"
#include "quic/quic.h"

/* After the close capsule went out, time left for it to be acknowledged. */
#define LINGER_US 300000

typedef struct wclient {
    bind_conn *bc;
    quic_conn *qc; /* bc's */
    io_udp sock;
    io_loop *loop;
    io_endpoint *ep;
    io_tx tx;
    wt_check check;
    wt_session *session;
    bool started, conn_closed;
    uint64_t deadline, linger_until;
    char host[256], port[16], authority[300], path[1024];
} wclient;

static void on_closed(void *user, bind_conn *bc, const quic_event *ev)
{
    wclient *c = user;
    (void)bc;
    c->conn_closed = true;
    if (!wt_check_done(&c->check))
        fprintf(stderr, "quince-client: connection closed (error 0x%llx %.*s)\n",
                (unsigned long long)ev->error_code, (int)ev->len, (const char *)ev->data);
}

/* The connection's user pointer, that of its wt callbacks: the check. */
static void *conn_user(void *user, bind_conn *bc)
{
    wclient *c = user;
    (void)bc;
    return &c->check;
}

static void on_h3_error(void *user, uint64_t code, const char *reason)
{
    (void)code;
    (void)reason;
    (void)user;
    fprintf(stderr, "quince-client: HTTP/3 error\n");
}

static void on_datagrams(void *user, const io_batch *b)
{
    wclient *c = user;
    io_bridge_conn_recv(c->bc, b);
}

static void on_timeout(void *user, uint64_t now)
{
    wclient *c = user;
    if (now >= c->deadline) {
        fprintf(stderr, "quince-client: timed out\n");
        io_loop_stop(c->loop);
        return;
    }
    if (now >= bind_conn_next_timeout(c->bc))
        bind_conn_on_timeout(c->bc, now);
}

static uint64_t flush(void *user, uint64_t now)
{
    wclient *c = user;
    /* The binding starts HTTP/3 once the handshake is established. */
    if (!c->started && quic_conn_is_established(c->qc)) {
        c->started = true;
        if (wt_endpoint_connect(bind_conn_wt(c->bc), c->authority, c->path, "https://quince",
                                &c->session) != WT_OK) {
            fprintf(stderr, "quince-client: cannot start the session\n");
            io_loop_stop(c->loop);
        }
    }
    wt_check_tick(&c->check, now);
    if (wt_check_done(&c->check) && c->linger_until == 0)
        c->linger_until = now + LINGER_US;
    bool blocked = io_tx_pending(&c->tx) && io_tx_flush(&c->tx) == 1;
    io_bridge_conn_send(&c->tx, c->ep, c->bc, SIZE_MAX, now, &blocked);
    if (c->conn_closed || (c->linger_until != 0 && now >= c->linger_until)) {
        io_loop_stop(c->loop);
        return IO_TIME_NEVER;
    }
    uint64_t t = quic_conn_next_timeout(c->qc);
    uint64_t tick = now + 50000; /* datagram resends */
    if (tick < t)
        t = tick;
    if (c->deadline < t)
        t = c->deadline;
    return t;
}

bool wt_client_wanted(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--webtransport") == 0)
            return true;
    return false;
}

static int usage(void)
{
    fprintf(stderr, "usage: quince-client --webtransport https://HOST:PORT/PATH [--cert-hash HEX]\n"
                    "                     [--timeout S] [--verbose]\n"
                    "  --cert-hash: the server certificate's SHA-256 (else not verified)\n");
    return 2;
}

static bool parse_hash(const char *hex, uint8_t out[32])
{
    if (strlen(hex) != 64)
        return false;
    for (size_t i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return false;
        out[i] = (uint8_t)v;
    }
    return true;
}

int wt_client_main(int argc, char **argv)
{
    static wclient cl;
    wclient *c = &cl;
    const char *url = NULL, *hash_hex = NULL;
    uint64_t timeout_us = 10000000;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (strcmp(a, "--webtransport") == 0 && has_val)
            url = argv[++i];
        else if (strcmp(a, "--cert-hash") == 0 && has_val)
            hash_hex = argv[++i];
        else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0)
            verbose = true;
        else if (strcmp(a, "--timeout") == 0 && has_val) {
            if (!app_parse_seconds(argv[++i], &timeout_us))
                return usage();
        } else
            return usage();
    }
    const char *path;
    if (url == NULL ||
        !io_url_split(url, c->host, sizeof(c->host), c->port, sizeof(c->port), &path))
        return usage();
    snprintf(c->path, sizeof(c->path), "%s", path);
    bool v6 = strchr(c->host, ':') != NULL;
    int alen = snprintf(c->authority, sizeof(c->authority), "%s%s%s:%s", v6 ? "[" : "", c->host,
                        v6 ? "]" : "", c->port);
    if (alen < 0 || (size_t)alen >= sizeof(c->authority))
        return usage();
    uint8_t pin[1][32];
    if (hash_hex != NULL && !parse_hash(hash_hex, pin[0])) {
        fprintf(stderr, "quince-client: --cert-hash takes 64 hex digits\n");
        return 2;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICSERV}, *res = NULL;
    if (getaddrinfo(c->host, c->port, &hints, &res) != 0 || res == NULL) {
        fprintf(stderr, "quince-client: cannot resolve %s\n", c->host);
        return 1;
    }
    const struct addrinfo *pick = res;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    io_addr remote_io;
    memset(&remote_io, 0, sizeof(remote_io));
    memcpy(&remote_io.ss, pick->ai_addr, pick->ai_addrlen);
    remote_io.len = pick->ai_addrlen;
    freeaddrinfo(res);
    if (io_udp_open(&c->sock, io_addr_family(&remote_io) == AF_INET6 ? "[::]:0" : "0.0.0.0:0",
                    NULL) != IO_OK) {
        fprintf(stderr, "quince-client: cannot open a UDP socket\n");
        return 1;
    }
    io_env ienv;
    io_env_init(&ienv);
    ienv.log_prefix = "quince-client";
    quic_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    const char *alpn[] = {"h3", NULL};
    cfg.tls.alpn = alpn;
    cfg.tls.server_name = c->host;
    if (hash_hex != NULL) {
        cfg.tls.verify_mode = CRYPTO_VERIFY_PINNED;
        cfg.tls.pinned_sha256 = (const uint8_t(*)[32])pin;
        cfg.tls.pinned_count = 1;
    } else {
        cfg.tls.verify_mode = CRYPTO_VERIFY_INSECURE;
    }
    cfg.initial_max_data = 16u << 20;
    cfg.initial_max_stream_data_bidi_local = 1u << 20;
    cfg.initial_max_stream_data_bidi_remote = 1u << 20;
    cfg.initial_max_stream_data_uni = 1u << 20;
    cfg.initial_max_streams_bidi = 100;
    cfg.initial_max_streams_uni = 100;
    cfg.max_datagram_frame_size = 65535;
    cfg.cid_len = 8;
    quic_addr local, remote;
    io_addr_to_quic(&c->sock.local, &local);
    io_addr_to_quic(&remote_io, &remote);
    uint64_t now = io_now_us();
    c->deadline = now + timeout_us;
    wt_callbacks cb;
    wt_check_init(&c->check, &cb);
    c->check.verbose = verbose;
    bind_config bcfg;
    bind_config_init(&bcfg, false);
    bcfg.quic = cfg;
    bcfg.webtransport = true;
    bcfg.wtcb = cb;
    bcfg.h3cb.on_conn_error = on_h3_error;
    bcfg.cb = (bind_callbacks){.user = c, .on_conn_new = conn_user, .on_closed = on_closed};
    c->bc = bind_conn_client_new(&ienv.env, &bcfg, &local, &remote, now);
    c->qc = bind_conn_quic(c->bc);
    if (c->bc == NULL) {
        fprintf(stderr, "quince-client: cannot create the connection\n");
        return 1;
    }
    io_tx_init(&c->tx, &c->sock);
    static const io_endpoint_ops ops = {
        .on_datagrams = on_datagrams, .on_timeout = on_timeout, .flush = flush};
    if (!app_loop_open(&c->loop, &ops, c, &c->ep, &c->sock, "quince-client"))
        return 1;
    io_endpoint_kick(c->ep);
    io_loop_run(c->loop);
    const wt_check *k = &c->check;
    bool ok = wt_check_passed(k);
    printf("session: %s (status %d)\n", k->ready ? "established" : "not established", k->status);
    printf("bidi echo: %s\n", k->bidi_ok ? "ok" : "FAILED");
    printf("uni echo: %s\n", k->uni_ok ? "ok" : "FAILED");
    printf("datagram echo: %s (%u sent)\n", k->dgram_ok ? "ok" : "FAILED", k->dgrams_sent);
    printf("close: %s (code 0x%x reason \"%s\")\n", k->closed && k->close_sent ? "ok" : "FAILED",
           k->close_code, k->close_reason);
    if (k->failed)
        printf("failure: %s\n", k->why);
    printf("result: %s\n", ok ? "PASS" : "FAIL");
    quic_conn_close(c->qc, 0, "done", io_now_us());
    uint8_t buf[IO_TX_DGRAM_CAP];
    quic_addr to;
    int n = quic_conn_send(c->qc, &to, buf, sizeof(buf), io_now_us());
    if (n > 0) {
        io_addr dst;
        io_addr_from_quic(&to, &dst);
        io_datagram d = {.data = buf, .len = (size_t)n, .peer = dst};
        io_udp_send(&c->sock, &d, 1);
    }
    bind_conn_free(c->bc);
    io_loop_destroy(c->loop);
    io_udp_close(&c->sock);
    io_env_cleanup(&ienv);
    return ok ? 0 : 1;
}
