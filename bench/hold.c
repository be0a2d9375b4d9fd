/* bench-hold: many live QUIC connections against one server, and its CPU per handshake as they
 * grow. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/bridge.h"
#include "io/loop.h"
#include "io/posix_env.h"
#include "io/udp.h"
#include "quic/quic.h"

/*
 * usage: bench-hold ADDR:PORT SERVER_PID LEVELS BATCH TIMEOUT_S [refuse]
 *
 * Opens QUIC connections (ALPN h3, one UDP socket each, all on one io loop, at most 12
 * handshakes in flight) until LEVELS[0] are live, then measures: BATCH more handshakes,
 * the server's CPU (its threads' schedstat) and wall time over them, its RSS; then closes
 * those BATCH and goes on to the next level. Connections stay open (idle timeout 600 s on
 * our side). With "refuse", connections are then added one at a time until the server
 * closes one with CONNECTION_REFUSED (RFC 9000 §5.2.2): the live count then and the time
 * the refusal took are printed.
 * One line per level:
 *   level L: live N, server X.XXX ms CPU/handshake, RSS Y MB, Z handshakes/s
 * Exits 0 only if every handshake (and the refusal, when asked) happened in time.
 */

#define WINDOW 12

typedef struct hold_conn {
    quic_conn *conn;
    io_udp sock;
    io_endpoint *ep;
    io_tx tx;
    bool established, closed, failed;
    uint64_t opened_at, closed_at, close_code;
} hold_conn;

static io_loop *loop;
static hold_conn *conns;
static size_t nconns, cap, in_flight, nestablished, nfailed;
static quince_env env;
static quic_config cfg;
static quic_addr remote;
static const char *any;
static uint64_t deadline;

static void events(hold_conn *hc, uint64_t now)
{
    quic_event ev;
    while (quic_conn_poll_event(hc->conn, &ev)) {
        if (ev.type == QUIC_EVENT_HANDSHAKE_DONE && !hc->established) {
            hc->established = true;
            nestablished++;
            in_flight--;
        } else if (ev.type == QUIC_EVENT_CLOSED && !hc->closed) {
            hc->closed = true;
            hc->closed_at = now;
            hc->close_code = ev.error_code;
            if (!hc->established) {
                in_flight--;
                hc->failed = true;
                nfailed++;
            }
        }
    }
}

static void on_datagrams(void *user, const io_batch *b)
{
    hold_conn *hc = user;
    for (size_t i = 0; i < b->n; i++) {
        quic_addr from;
        io_addr_to_quic(&b->d[i].peer, &from);
        quic_conn_recv(hc->conn, &from, b->d[i].data, b->d[i].len, b->now);
    }
}

static void on_timeout(void *user, uint64_t now)
{
    hold_conn *hc = user;
    if (quic_conn_next_timeout(hc->conn) <= now)
        quic_conn_on_timeout(hc->conn, now);
}

static uint64_t flush(void *user, uint64_t now)
{
    hold_conn *hc = user;
    events(hc, now);
    bool blocked = io_tx_pending(&hc->tx) && io_tx_flush(&hc->tx) == 1;
    uint8_t *p;
    while (!blocked && (p = io_tx_reserve(&hc->tx)) != NULL) {
        quic_addr to;
        int n = quic_conn_send(hc->conn, &to, p, IO_TX_DGRAM_CAP, now);
        if (n <= 0)
            break;
        io_tx_commit(&hc->tx, (size_t)n, &to);
    }
    if (blocked || io_tx_flush(&hc->tx) == 1)
        io_endpoint_want_write(hc->ep, &hc->sock);
    events(hc, now);
    return quic_conn_next_timeout(hc->conn);
}

static bool open_one(void)
{
    static const io_endpoint_ops ops = {
        .on_datagrams = on_datagrams, .on_timeout = on_timeout, .flush = flush};
    if (nconns == cap)
        return false;
    hold_conn *hc = &conns[nconns];
    quic_addr local;
    io_udp_config ucfg = {.rcvbuf = 65536, .sndbuf = 65536};
    if (io_udp_open(&hc->sock, any, &ucfg) != IO_OK) {
        fprintf(stderr, "hold: socket %zu failed (errno %d)\n", nconns, hc->sock.last_errno);
        return false;
    }
    io_addr_to_quic(&hc->sock.local, &local);
    io_tx_init(&hc->tx, &hc->sock);
    uint64_t now = io_now_us();
    hc->opened_at = now;
    hc->conn = quic_conn_client_new(&env, &cfg, &local, &remote, now);
    if (hc->conn == NULL || io_loop_add_endpoint(loop, &ops, hc, &hc->ep) != IO_OK ||
        io_loop_add_socket(loop, hc->ep, &hc->sock) != IO_OK) {
        fprintf(stderr, "hold: connection %zu setup failed\n", nconns);
        return false;
    }
    io_endpoint_kick(hc->ep);
    nconns++;
    in_flight++;
    return true;
}

/* Run the loop until `want` handshakes are done in all (opening more as room allows up to
 * `open_to` connections), or the deadline. */
static bool reach(size_t open_to, size_t want)
{
    while (nestablished < want) {
        while (in_flight < WINDOW && nconns < open_to)
            if (!open_one())
                return false;
        if (io_now_us() > deadline || nfailed > 0) {
            fprintf(stderr, "hold: %zu of %zu established, %zu failed%s\n", nestablished, want,
                    nfailed, nfailed > 0 ? "" : " (timed out)");
            return false;
        }
        io_loop_run_once(loop, 5);
    }
    return true;
}

static double server_cpu_ms(int pid)
{
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/task", pid);
    DIR *d = opendir(dir);
    double ns = 0;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[400];
        snprintf(path, sizeof(path), "%s/%s/schedstat", dir, e->d_name);
        FILE *f = fopen(path, "r");
        unsigned long long run = 0;
        if (f != NULL && fscanf(f, "%llu", &run) == 1)
            ns += (double)run;
        if (f != NULL)
            fclose(f);
    }
    if (d != NULL)
        closedir(d);
    return ns / 1e6;
}

static double server_rss_mb(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    double kb = 0;
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtod(line + 6, NULL);
    if (f != NULL)
        fclose(f);
    return kb / 1024;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: bench-hold ADDR:PORT SERVER_PID LEVELS BATCH TIMEOUT_S [refuse]\n");
        return 2;
    }
    io_addr server_io;
    if (io_addr_parse(&server_io, argv[1]) != IO_OK)
        return 2;
    int pid = atoi(argv[2]);
    size_t levels[16], nlevels = 0;
    for (char *s = argv[3]; *s != '\0' && nlevels < 16;) {
        levels[nlevels++] = strtoul(s, &s, 10);
        if (*s == ',')
            s++;
    }
    size_t batch = strtoul(argv[4], NULL, 10);
    bool refuse = argc == 7 && strcmp(argv[6], "refuse") == 0;
    if (nlevels == 0 || batch == 0)
        return 2;
    static const char *const alpn[] = {"h3", NULL};
    env = io_env_default();
    cfg.tls.alpn = alpn;
    cfg.tls.verify_mode = CRYPTO_VERIFY_INSECURE;
    cfg.cid_len = 8;
    cfg.max_idle_timeout_ms = 600000;
    io_loop_config lcfg = {.batch = 8, .disable_gro = true};
    if (io_loop_create(&loop, &lcfg) != IO_OK)
        return 1;
    cap = levels[nlevels - 1] + batch * nlevels + 2 * batch + 12; /* and the refuse mode's */
    conns = calloc(cap, sizeof(*conns));
    if (conns == NULL)
        return 1;
    io_addr_to_quic(&server_io, &remote);
    any = io_addr_family(&server_io) == AF_INET6 ? "[::1]:0" : "127.0.0.1:0";
    deadline = io_now_us() + (uint64_t)atoi(argv[5]) * 1000000u;
    int rc = 0;
    size_t live_base = 0; /* established and kept */
    for (size_t l = 0; l < nlevels && rc == 0; l++) {
        size_t want = levels[l];
        /* Grow to the level (the measured batches before it were closed again). */
        size_t open_to = nconns + (want > live_base ? want - live_base : 0);
        if (!reach(open_to, nestablished + (open_to - nconns))) {
            rc = 1;
            break;
        }
        live_base = want;
        double c0 = server_cpu_ms(pid);
        uint64_t t0 = io_now_us();
        size_t before = nestablished, first = nconns;
        if (!reach(nconns + batch, before + batch)) {
            rc = 1;
            break;
        }
        double c1 = server_cpu_ms(pid);
        uint64_t t1 = io_now_us();
        double rss = server_rss_mb(pid);
        printf(
            "level %zu: live %zu, server %.3f ms CPU/handshake, RSS %.1f MB, %.0f handshakes/s\n",
            want, live_base + batch, (c1 - c0) / (double)batch, rss,
            (double)batch * 1e6 / (double)(t1 - t0));
        fflush(stdout);
        for (size_t i = first; i < nconns; i++) {
            quic_conn_close(conns[i].conn, 0, "measured", io_now_us());
            io_endpoint_kick(conns[i].ep);
        }
        for (int i = 0; i < 20; i++)
            io_loop_run_once(loop, 5);
    }
    if (rc == 0 && refuse) {
        /* Top up one connection at a time until the server refuses one: the live count
         * then is its limit (the closed measured batches are not counted: the server has
         * a second to drain them). */
        for (int i = 0; i < 200; i++) /* a second for the server to drain closed ones */
            io_loop_run_once(loop, 5);
        size_t live = 0, extra = 0;
        for (size_t i = 0; i < nconns; i++) /* the measured batches were closed */
            live += conns[i].established && !conns[i].closed;
        for (;;) {
            size_t at = nconns;
            if (extra++ > 2 * batch + 10 || !open_one()) {
                rc = 1;
                break;
            }
            while (!conns[at].closed && !conns[at].established && io_now_us() < deadline)
                io_loop_run_once(loop, 5);
            const hold_conn *hc = &conns[at];
            if (hc->established) {
                live++;
                continue;
            }
            printf("refused: connection %zu (%zu live), %s, code 0x%llx after %.3f ms\n", live + 1,
                   live, hc->closed ? "closed" : "NOT closed", (unsigned long long)hc->close_code,
                   (double)(hc->closed_at - hc->opened_at) / 1000.0);
            if (!hc->closed || hc->close_code != 0x2)
                rc = 1;
            break;
        }
    }
    io_loop_destroy(loop);
    for (size_t i = 0; i < nconns; i++) {
        quic_conn_free(conns[i].conn);
        io_udp_close(&conns[i].sock);
    }
    free(conns);
    return rc;
}
