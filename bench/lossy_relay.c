/* lossy-relay: a userspace UDP relay that loses, delays, reorders, duplicates and rate-limits
 * datagrams, seeded, so that any QUIC transfer (Quince or a real peer) can cross a bad path.
 *
 *   lossy-relay --listen PORT --to HOST:PORT [--loss P] [--dup P] [--delay MS] [--jitter MS]
 *               [--rate MBIT] [--queue KB] [--seed N] [--ecn-mark P] [--port-file F]
 *
 * It binds 127.0.0.1:PORT (0: any free port, printed as "relay listening on 127.0.0.1:N"
 * and written to --port-file), forwards what the first client sends to the server, and what
 * the server sends back to that client. Each direction on its own:
 * - loss P (0..1): each datagram is dropped with probability P;
 * - dup P: each surviving datagram is sent twice with probability P (the copy gets its own
 *   delay, so it may come first);
 * - delay MS plus jitter MS: each datagram waits delay + U(0, jitter) milliseconds, drawn
 *   independently, so datagrams closer together than the jitter come out reordered;
 * - rate MBIT (0: none): a bottleneck serialising datagrams at that rate before the delay,
 *   with a drop-tail queue of --queue KB (default 64);
 * - ecn-mark P: a datagram whose IP header carries ECT(0) or ECT(1) leaves with CE with
 *   probability P (the codepoint is read with IP_RECVTOS and written with IP_TOS; 0 keeps it).
 * The codepoint a sender set is passed through (a relay that bleached ECN would hide it).
 * SIGTERM/SIGINT print counters per direction on stderr and exit 0.
 * Not part of the library: a test and benchmark tool, Linux only. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_DGRAM 65536
#define MAX_QUEUED 65536 /* datagrams held at once (both directions) */

typedef struct pkt {
    uint64_t due; /* ns, CLOCK_MONOTONIC */
    uint64_t seq; /* arrival order, to keep equal times stable */
    int dir;      /* 0: client -> server, 1: server -> client */
    uint8_t tos;
    uint16_t len;
    uint8_t *data;
} pkt;

typedef struct dir_stats {
    uint64_t in, out, dropped, duplicated, queue_dropped, reordered, ce_marked;
    uint64_t last_out_seq; /* to count datagrams that overtook an earlier one */
    uint64_t bottleneck_free; /* ns: when the bottleneck finishes its current datagram */
    uint64_t queued_bytes;
} dir_stats;

static struct {
    double loss, dup, ecn_mark;
    uint64_t delay_ns, jitter_ns;
    double rate_bps; /* bits per second, 0: unlimited */
    uint64_t queue_bytes;
    uint64_t rng;
} cfg = {.queue_bytes = 64 * 1024, .rng = 1};

static pkt heap[MAX_QUEUED];
static size_t heap_n;
static dir_stats st[2];
static volatile sig_atomic_t stop;

/* splitmix64: small, seeded, the same sequence on every run */
static uint64_t rnd(void)
{
    uint64_t z = (cfg.rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double rnd01(void)
{
    return (double)(rnd() >> 11) / (double)(1ULL << 53);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static bool before(const pkt *a, const pkt *b)
{
    return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static void heap_push(pkt p)
{
    size_t i = heap_n++;
    heap[i] = p;
    while (i > 0) {
        size_t up = (i - 1) / 2;
        if (!before(&heap[i], &heap[up]))
            break;
        pkt t = heap[i];
        heap[i] = heap[up];
        heap[up] = t;
        i = up;
    }
}

static pkt heap_pop(void)
{
    pkt top = heap[0];
    heap[0] = heap[--heap_n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_n && before(&heap[l], &heap[m]))
            m = l;
        if (r < heap_n && before(&heap[r], &heap[m]))
            m = r;
        if (m == i)
            break;
        pkt t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
    return top;
}

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int parse_hostport(const char *s, struct sockaddr_in *a)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static void usage(void)
{
    fprintf(stderr, "usage: lossy-relay --listen PORT --to HOST:PORT [--loss P] [--dup P] "
                    "[--delay MS] [--jitter MS] [--rate MBIT] [--queue KB] [--seed N] "
                    "[--ecn-mark P] [--port-file F]\n");
}

/* One datagram arrived from side dir: schedule its copies. */
static void admit(int dir, const uint8_t *data, size_t len, uint8_t tos, uint64_t now,
                  uint64_t *seq)
{
    dir_stats *d = &st[dir];
    d->in++;
    if (cfg.loss > 0 && rnd01() < cfg.loss) {
        d->dropped++;
        return;
    }
    int copies = cfg.dup > 0 && rnd01() < cfg.dup ? 2 : 1;
    if (copies == 2)
        d->duplicated++;
    uint64_t depart = now;
    if (cfg.rate_bps > 0) {
        /* Drop-tail bottleneck: what waits for the link, in bytes. */
        uint64_t backlog_ns = d->bottleneck_free > now ? d->bottleneck_free - now : 0;
        uint64_t backlog = (uint64_t)((double)backlog_ns * cfg.rate_bps / 8e9);
        if (backlog + len > cfg.queue_bytes) {
            d->queue_dropped++;
            return;
        }
        uint64_t start = d->bottleneck_free > now ? d->bottleneck_free : now;
        depart = start + (uint64_t)((double)len * 8e9 / cfg.rate_bps);
        d->bottleneck_free = depart;
    }
    if ((tos & 3) != 0 && cfg.ecn_mark > 0 && rnd01() < cfg.ecn_mark) {
        tos |= 3; /* CE */
        d->ce_marked++;
    }
    for (int k = 0; k < copies; k++) {
        if (heap_n == MAX_QUEUED) {
            d->queue_dropped++;
            return;
        }
        uint64_t j = cfg.jitter_ns ? rnd() % (cfg.jitter_ns + 1) : 0;
        uint8_t *copy = malloc(len);
        if (copy == NULL)
            return;
        memcpy(copy, data, len);
        heap_push((pkt){.due = depart + cfg.delay_ns + j,
                        .seq = (*seq)++,
                        .dir = dir,
                        .tos = tos,
                        .len = (uint16_t)len,
                        .data = copy});
    }
}

int main(int argc, char **argv)
{
    int listen_port = -1;
    const char *to = NULL, *port_file = NULL;
    for (int i = 1; i < argc; i += 2) { /* each option takes one value */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (v == NULL) {
            usage();
            return 2;
        }
        if (!strcmp(a, "--listen"))
            listen_port = atoi(v);
        else if (!strcmp(a, "--to"))
            to = v;
        else if (!strcmp(a, "--loss"))
            cfg.loss = atof(v);
        else if (!strcmp(a, "--dup"))
            cfg.dup = atof(v);
        else if (!strcmp(a, "--delay"))
            cfg.delay_ns = (uint64_t)(atof(v) * 1e6);
        else if (!strcmp(a, "--jitter"))
            cfg.jitter_ns = (uint64_t)(atof(v) * 1e6);
        else if (!strcmp(a, "--rate"))
            cfg.rate_bps = atof(v) * 1e6;
        else if (!strcmp(a, "--queue"))
            cfg.queue_bytes = (uint64_t)(atof(v) * 1024);
        else if (!strcmp(a, "--seed"))
            cfg.rng = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--ecn-mark"))
            cfg.ecn_mark = atof(v);
        else if (!strcmp(a, "--port-file"))
            port_file = v;
        else {
            usage();
            return 2;
        }
    }
    struct sockaddr_in server;
    if (listen_port < 0 || to == NULL || parse_hostport(to, &server) != 0) {
        usage();
        return 2;
    }

    /* fd[0] faces the client (bound to PORT), fd[1] the server (ephemeral). */
    int fd[2];
    for (int k = 0; k < 2; k++) {
        fd[k] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int one = 1, big = 8 << 20;
        setsockopt(fd[k], IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
        setsockopt(fd[k], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
        setsockopt(fd[k], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
        struct sockaddr_in a = {.sin_family = AF_INET};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(k == 0 ? (uint16_t)listen_port : 0);
        if (bind(fd[k], (struct sockaddr *)&a, sizeof(a)) != 0) {
            perror("lossy-relay: bind");
            return 1;
        }
    }
    struct sockaddr_in la;
    socklen_t lal = sizeof(la);
    getsockname(fd[0], (struct sockaddr *)&la, &lal);
    printf("relay listening on 127.0.0.1:%u\n", ntohs(la.sin_port));
    fflush(stdout);
    if (port_file != NULL) {
        FILE *f = fopen(port_file, "w");
        if (f != NULL) {
            fprintf(f, "%u\n", ntohs(la.sin_port));
            fclose(f);
        }
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    struct sockaddr_in client;
    bool have_client = false;
    static uint8_t buf[MAX_DGRAM];
    uint64_t seq = 0;
    uint8_t last_tos[2] = {0xff, 0xff};
    while (!stop) {
        uint64_t now = now_ns();
        /* Send what is due. */
        while (heap_n > 0 && heap[0].due <= now) {
            pkt p = heap_pop();
            dir_stats *d = &st[p.dir];
            if (p.seq < d->last_out_seq)
                d->reordered++;
            else
                d->last_out_seq = p.seq;
            int out = p.dir == 0 ? 1 : 0;
            if (p.tos != last_tos[out]) {
                int tos = p.tos;
                setsockopt(fd[out], IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
                last_tos[out] = p.tos;
            }
            const struct sockaddr_in *dst = p.dir == 0 ? &server : &client;
            if (sendto(fd[out], p.data, p.len, 0, (const struct sockaddr *)dst, sizeof(*dst)) >=
                0)
                d->out++;
            free(p.data);
        }
        struct timespec ts, *tsp = NULL;
        if (heap_n > 0) {
            uint64_t wait = heap[0].due > now ? heap[0].due - now : 0;
            ts.tv_sec = (time_t)(wait / 1000000000ULL);
            ts.tv_nsec = (long)(wait % 1000000000ULL);
            tsp = &ts;
        }
        struct pollfd pfd[2] = {{.fd = fd[0], .events = POLLIN}, {.fd = fd[1], .events = POLLIN}};
        int rc = ppoll(pfd, 2, tsp, NULL);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            perror("lossy-relay: ppoll");
            return 1;
        }
        for (int k = 0; k < 2; k++) {
            if (!(pfd[k].revents & POLLIN))
                continue;
            for (int n = 0; n < 256; n++) {
                struct sockaddr_in from;
                char cbuf[CMSG_SPACE(sizeof(int))];
                struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
                struct msghdr mh = {.msg_name = &from,
                                    .msg_namelen = sizeof(from),
                                    .msg_iov = &iov,
                                    .msg_iovlen = 1,
                                    .msg_control = cbuf,
                                    .msg_controllen = sizeof(cbuf)};
                ssize_t len = recvmsg(fd[k], &mh, 0);
                if (len < 0)
                    break;
                uint8_t tos = 0;
                for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL;
                     cm = CMSG_NXTHDR(&mh, cm))
                    if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS)
                        tos = *(uint8_t *)CMSG_DATA(cm);
                if (k == 0) {
                    /* The first sender is the client; a new address (rebinding) replaces it. */
                    client = from;
                    have_client = true;
                } else if (!have_client) {
                    continue;
                }
                admit(k, buf, (size_t)len, tos, now_ns(), &seq);
            }
        }
    }
    const char *names[2] = {"client->server", "server->client"};
    for (int k = 0; k < 2; k++)
        fprintf(stderr,
                "lossy-relay %s: in %llu out %llu dropped %llu duplicated %llu queue-dropped "
                "%llu reordered %llu ce-marked %llu\n",
                names[k], (unsigned long long)st[k].in, (unsigned long long)st[k].out,
                (unsigned long long)st[k].dropped, (unsigned long long)st[k].duplicated,
                (unsigned long long)st[k].queue_dropped, (unsigned long long)st[k].reordered,
                (unsigned long long)st[k].ce_marked);
    return 0;
}
