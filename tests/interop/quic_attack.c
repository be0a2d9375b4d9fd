/* quic_attack: hostile QUIC peers for tests/interop/attack.py (issue 13's attacks on a server). */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/cursor.h"
#include "base/varint.h"
#include "crypto/packet_protection.h"
#include "io/posix_env.h"
#include "quic/conn_internal.h"
#include "quic/packet.h"

/*
 * usage: quic_attack initials PORT N MS      N client Initials in MS milliseconds from 64
 *                                            source ports, never continued; then 1 s of
 *                                            listening. Prints what came back by kind.
 *        quic_attack resets PORT N           N short-header datagrams for unknown CIDs as
 *                                            fast as possible; counts the stateless resets
 *                                            that come back within 1.5 s.
 *        quic_attack hold PORT PATH STREAMS S  an hq-interop client that opens STREAMS
 *                                            requests for PATH and never reads, for S s.
 *        quic_attack scatter PORT STREAMS S  after the handshake, one one-byte STREAM frame
 *                                            near the end of the window of each of STREAMS
 *                                            streams (each in its own packet), kept up S s.
 * The server is on 127.0.0.1:PORT. Exit status 0 unless a socket or handshake failed.
 */

static quince_env env;
static struct sockaddr_in server;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int udp_socket(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int big = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    return fd;
}

static void send_to_server(int fd, const uint8_t *d, size_t len)
{
    (void)sendto(fd, d, len, 0, (struct sockaddr *)&server, sizeof(server));
}

static quic_config client_config(void)
{
    static const char *const alpn[] = {"hq-interop", NULL};
    quic_config cfg = {0};
    cfg.tls.alpn = alpn;
    cfg.tls.server_name = "localhost";
    cfg.tls.verify_mode = CRYPTO_VERIFY_INSECURE;
    return cfg;
}

/* ---- initials ---- */

static int attack_initials(int n, int ms)
{
    enum { SOCKS = 64 };
    int fds[SOCKS];
    for (int i = 0; i < SOCKS; i++)
        if ((fds[i] = udp_socket()) < 0)
            return 1;
    quic_config cfg = client_config();
    uint8_t buf[1500];
    /* Made first (a client's key share costs about a millisecond), then sent on time. */
    uint8_t(*dgram)[1200] = malloc((size_t)n * 1200);
    if (dgram == NULL)
        return 1;
    for (int i = 0; i < n; i++) {
        quic_conn *c = quic_conn_client_new(&env, &cfg, NULL, NULL, now_us());
        int k = c != NULL ? quic_conn_send(c, NULL, buf, sizeof(buf), now_us()) : -1;
        quic_conn_free(c);
        if (k != 1200)
            return 1;
        memcpy(dgram[i], buf, 1200);
    }
    uint64_t start = now_us();
    unsigned long retry = 0, big_initial = 0, small_initial = 0, other = 0;
    uint64_t end_at = UINT64_MAX, sent_at = start;
    int sent = 0;
    while (now_us() < end_at) {
        while (sent < n && now_us() >= start + (uint64_t)sent * (uint64_t)ms * 1000 / (uint64_t)n) {
            send_to_server(fds[sent % SOCKS], dgram[sent], 1200);
            if (++sent == n) {
                sent_at = now_us();
                end_at = sent_at + 1000000;
            }
        }
        struct pollfd p[SOCKS];
        for (int k = 0; k < SOCKS; k++)
            p[k] = (struct pollfd){.fd = fds[k], .events = POLLIN};
        if (poll(p, SOCKS, 1) <= 0)
            continue;
        for (int k = 0; k < SOCKS; k++) {
            ssize_t r;
            while ((r = recv(fds[k], buf, sizeof(buf), 0)) > 0) {
                if ((buf[0] & 0xf0) == 0xf0)
                    retry++;
                else if ((buf[0] & 0xf0) == 0xc0 && r >= 1200)
                    big_initial++;
                else if ((buf[0] & 0xf0) == 0xc0)
                    small_initial++;
                else
                    other++;
            }
        }
    }
    printf("initials: sent %d in %.3f s; replies: %lu retry, %lu handshake, %lu close, %lu other\n",
           n, (double)(sent_at - start) / 1e6, retry, big_initial, small_initial, other);
    for (int i = 0; i < SOCKS; i++)
        close(fds[i]);
    free(dgram);
    return 0;
}

/* ---- resets ---- */

static int attack_resets(int n)
{
    int fd = udp_socket();
    if (fd < 0)
        return 1;
    uint8_t d[100], buf[1500];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint64_t start = now_us();
    unsigned long got = 0;
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof(d); k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            d[k] = (uint8_t)x;
        }
        d[0] = 0x40 | (d[0] & 0x3f);
        send_to_server(fd, d, sizeof(d));
        while (recv(fd, buf, sizeof(buf), 0) > 0)
            got++;
    }
    uint64_t sent_at = now_us();
    while (now_us() < sent_at + 1500000) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) > 0)
            while (recv(fd, buf, sizeof(buf), 0) > 0)
                got++;
    }
    printf("resets: sent %d in %.3f s, %lu resets came back\n", n, (double)(sent_at - start) / 1e6,
           got);
    close(fd);
    return 0;
}

/* ---- a client connection that misbehaves after the handshake ---- */

typedef struct client {
    int fd;
    quic_conn *c;
    uint64_t received;
} client;

/* Exchange datagrams until t_end; the application never reads. */
static void client_run(client *cl, uint64_t t_end)
{
    uint8_t buf[1500];
    while (now_us() < t_end && !quic_conn_is_closed(cl->c)) {
        uint64_t t = now_us();
        int n;
        for (int i = 0; i < 64 && (n = quic_conn_send(cl->c, NULL, buf, sizeof(buf), t)) > 0; i++)
            send_to_server(cl->fd, buf, (size_t)n);
        uint64_t next = quic_conn_next_timeout(cl->c);
        int wait = next <= t ? 0 : next > t + 10000 ? 10 : (int)((next - t) / 1000);
        struct pollfd p = {.fd = cl->fd, .events = POLLIN};
        if (poll(&p, 1, wait) > 0) {
            ssize_t r;
            for (int i = 0; i < 256 && (r = recv(cl->fd, buf, sizeof(buf), 0)) > 0; i++) {
                cl->received += (uint64_t)r;
                quic_conn_recv(cl->c, NULL, buf, (size_t)r, now_us());
            }
        }
        t = now_us();
        if (quic_conn_next_timeout(cl->c) <= t)
            quic_conn_on_timeout(cl->c, t);
        quic_event ev;
        while (quic_conn_poll_event(cl->c, &ev)) /* never read a stream */
            if (ev.type == QUIC_EVENT_CLOSED)
                fprintf(stderr, "quic_attack: closed, code 0x%llx%s%s\n",
                        (unsigned long long)ev.error_code, ev.is_app ? " (application)" : "",
                        ev.by_peer ? " by the server" : "");
    }
}

static int client_connect(client *cl)
{
    memset(cl, 0, sizeof(*cl));
    if ((cl->fd = udp_socket()) < 0)
        return 1;
    quic_config cfg = client_config();
    cl->c = quic_conn_client_new(&env, &cfg, NULL, NULL, now_us());
    uint64_t end = now_us() + 5000000;
    while (cl->c != NULL && !quic_conn_is_established(cl->c) && now_us() < end)
        client_run(cl, now_us() + 20000);
    if (cl->c == NULL || !quic_conn_is_established(cl->c)) {
        fprintf(stderr, "quic_attack: no handshake\n");
        return 1;
    }
    return 0;
}

static int attack_hold(const char *path, int streams, int secs)
{
    client cl;
    if (client_connect(&cl) != 0)
        return 1;
    char req[512];
    snprintf(req, sizeof(req), "GET %s\r\n", path);
    int opened = 0;
    uint64_t end = now_us() + (uint64_t)secs * 1000000;
    while (now_us() < end) {
        for (; opened < streams; opened++) {
            uint64_t id;
            if (quic_conn_open_stream(cl.c, true, &id) != QUIC_OK)
                break;
            quic_stream_write(cl.c, id, (const uint8_t *)req, strlen(req), true);
        }
        client_run(&cl, now_us() + 50000);
    }
    printf("hold: %d streams never read, %llu bytes received, connection %s\n", opened,
           (unsigned long long)cl.received, quic_conn_is_closed(cl.c) ? "closed" : "open");
    quic_conn_free(cl.c);
    close(cl.fd);
    return 0;
}

/* One STREAM frame (OFF, LEN) with one byte, protected as the client's next 1-RTT packet. */
static void send_one_byte(client *cl, uint64_t id, uint64_t off)
{
    uint8_t f[32], pkt[256];
    quince_writer w = quince_writer_init(f, sizeof(f));
    quince_put_varint(&w, 0x0e);
    quince_put_varint(&w, id);
    quince_put_varint(&w, off);
    quince_put_varint(&w, 1);
    quince_put_u8(&w, 0x5a);
    size_t flen = (size_t)(w.p - f);
    quic_conn *c = cl->c;
    quince_writer o = quince_writer_init(pkt, sizeof(pkt));
    quic_pkt_builder b;
    const quic_cid_value *dcid = &c->pcid[c->pcid_cur].cid;
    uint64_t pn = c->sp[SP_APP].next_pn++;
    if (!quic_pkt_build_short(&o, &b, dcid->bytes, dcid->len, pn, 4, false, c->key_phase) ||
        !quince_put_bytes(&o, f, flen) || !quic_pkt_finish(&o, &b, 16))
        return;
    size_t pn_offset = (size_t)(b.pn_at - b.start);
    size_t payload_len = (size_t)(o.p - b.pn_at) - b.pn_len;
    int n =
        crypto_pp_protect(&c->tx[CRYPTO_LEVEL_APP], pkt, sizeof(pkt), pn_offset, pn, payload_len);
    if (n <= 0)
        return;
    /* Recorded as sent, so that the server's ACK of it is legitimate. */
    quic_recovery_on_packet_sent(&c->rec, SP_APP, pn, (uint32_t)n, true, true, 0, now_us());
    send_to_server(cl->fd, pkt, (size_t)n);
}

static int attack_scatter(int streams, int secs)
{
    client cl;
    if (client_connect(&cl) != 0)
        return 1;
    client_run(&cl, now_us() + 100000); /* HANDSHAKE_DONE, the server's limits */
    /* Near the end of each stream's window (256 KiB by default): before issue 13 the
     * server reserved the whole span for each byte. */
    for (int i = 0; i < streams; i++)
        send_one_byte(&cl, (uint64_t)i * 4, 250000 + (uint64_t)i);
    client_run(&cl, now_us() + (uint64_t)secs * 1000000);
    printf("scatter: %d one-byte frames at offset 250000+ on %d streams, connection %s\n", streams,
           streams, quic_conn_is_closed(cl.c) ? "closed" : "open");
    quic_conn_free(cl.c);
    close(cl.fd);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: see tests/interop/quic_attack.c\n");
        return 2;
    }
    env = io_env_default();
    alarm(60); /* whatever happens, this attacker does not outlive its test */
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)atoi(argv[2]));
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const char *mode = argv[1];
    if (strcmp(mode, "initials") == 0 && argc == 5)
        return attack_initials(atoi(argv[3]), atoi(argv[4]));
    if (strcmp(mode, "resets") == 0 && argc == 4)
        return attack_resets(atoi(argv[3]));
    if (strcmp(mode, "hold") == 0 && argc == 6)
        return attack_hold(argv[3], atoi(argv[4]), atoi(argv[5]));
    if (strcmp(mode, "scatter") == 0 && argc == 5)
        return attack_scatter(atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "quic_attack: bad arguments\n");
    return 2;
}
