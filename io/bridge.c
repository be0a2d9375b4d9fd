/* The bridge between io/ sockets and the binding (bind/): addresses, the send queue, receive. */
#include "io/bridge.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

void io_addr_to_quic(const io_addr *in, quic_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (in->ss.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&in->ss;
        out->family = 4;
        memcpy(out->ip, &s->sin_addr, 4);
        out->port = ntohs(s->sin_port);
    } else if (in->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)&in->ss;
        out->family = 6;
        memcpy(out->ip, &s->sin6_addr, 16);
        out->port = ntohs(s->sin6_port);
    }
}

void io_addr_from_quic(const quic_addr *in, io_addr *out)
{
    memset(out, 0, sizeof(*out));
    if (in->family == 4) {
        struct sockaddr_in *s = (struct sockaddr_in *)&out->ss;
        s->sin_family = AF_INET;
        memcpy(&s->sin_addr, in->ip, 4);
        s->sin_port = htons(in->port);
        out->len = sizeof(*s);
    } else if (in->family == 6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&out->ss;
        s->sin6_family = AF_INET6;
        memcpy(&s->sin6_addr, in->ip, 16);
        s->sin6_port = htons(in->port);
        out->len = sizeof(*s);
    }
}

bool io_quic_addr_equal(const quic_addr *a, const quic_addr *b)
{
    size_t n = a->family == 4 ? 4 : 16;
    return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, n) == 0;
}

/* ---- the send queue ---- */

void io_tx_init(io_tx *tx, io_udp *sock)
{
    tx->sock = sock;
    tx->n = tx->sent = tx->used = tx->dgrams = 0;
}

uint8_t *io_tx_reserve(io_tx *tx)
{
    if (tx->n >= IO_TX_ENTRIES || tx->dgrams >= IO_TX_DGRAMS ||
        tx->used + IO_TX_DGRAM_CAP > sizeof(tx->buf))
        return NULL;
    return tx->buf + tx->used;
}

void io_tx_commit(io_tx *tx, size_t len, const quic_addr *peer)
{
    io_tx_commit_ecn(tx, len, peer, IO_ECN_NOT_ECT);
}

void io_tx_commit_ecn(io_tx *tx, size_t len, const quic_addr *peer, uint8_t ecn)
{
    ecn &= 3;
    io_addr to;
    io_addr_from_quic(peer, &to);
    tx->dgrams++;
    if (tx->n > tx->sent) {
        io_datagram *last = &tx->d[tx->n - 1];
        size_t seg = last->segment_size ? last->segment_size : last->len;
        /* Only whole segments so far, not longer than them, and contiguous. */
        if (io_addr_equal(&last->peer, &to) && last->ecn == ecn && last->len % seg == 0 &&
            len <= seg &&
            last->len / seg < IO_GSO_MAX_SEGMENTS && last->data + last->len == tx->buf + tx->used &&
            last->len + len <= IO_UDP_MAX_PAYLOAD) {
            last->segment_size = (uint16_t)seg;
            last->len += len;
            tx->used += len;
            return;
        }
    }
    io_datagram *d = &tx->d[tx->n++];
    memset(d, 0, sizeof(*d));
    d->data = tx->buf + tx->used;
    d->len = len;
    d->peer = to;
    d->ecn = ecn;
    tx->used += len;
}

bool io_tx_pending(const io_tx *tx)
{
    return tx->sent < tx->n;
}

int io_tx_flush(io_tx *tx)
{
    while (tx->sent < tx->n) {
        int r = io_udp_send(tx->sock, tx->d + tx->sent, tx->n - tx->sent);
        if (r < 0) {
            tx->sent++; /* refused outright: drop it, as the loss it will be */
            continue;
        }
        tx->sent += (size_t)r;
        if (tx->sent < tx->n)
            return 1;
    }
    io_tx_init(tx, tx->sock);
    return 0;
}

/* ---- receive ---- */

void io_bridge_conn_recv(bind_conn *bc, const io_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->d[i].truncated)
            continue;
        quic_addr from;
        io_addr_to_quic(&b->d[i].peer, &from);
        bind_conn_recv_ecn(bc, &from, b->d[i].data, b->d[i].len, b->d[i].ecn, b->now);
    }
}

void io_bridge_server_recv(bind_server *s, const io_batch *b)
{
    quic_addr bound;
    io_addr_to_quic(&b->sock->local, &bound);
    for (size_t i = 0; i < b->n; i++) {
        const io_datagram *d = &b->d[i];
        if (d->truncated)
            continue;
        quic_addr from, to;
        io_addr_to_quic(&d->peer, &from);
        if (d->local.len != 0)
            io_addr_to_quic(&d->local, &to);
        else
            to = bound;
        bind_server_recv_ecn(s, &from, &to, d->data, d->len, d->ecn, b->now);
    }
}

/* ---- send ---- */

/* The next datagram into buf (its size, 0: none), *to and *ecn (its codepoint) set. */
typedef int (*send_fn)(void *src, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now,
                       uint8_t *ecn);

static int send_conn(void *src, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now,
                     uint8_t *ecn)
{
    int n = bind_conn_send(src, to, buf, cap, now);
    *ecn = bind_conn_ecn(src);
    return n;
}

static int send_server(void *src, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now,
                       uint8_t *ecn)
{
    int n = bind_server_send(src, to, buf, cap, now);
    *ecn = bind_server_ecn(src);
    return n;
}

static int family_of(const io_tx *tx)
{
    return io_addr_family(&tx->sock->local) == AF_INET6 ? 6 : 4;
}

/* Every queue has room for one more datagram, or the socket that is full. */
static io_udp *make_room(io_tx *const *tx, size_t ntx)
{
    for (size_t i = 0; i < ntx; i++)
        if (io_tx_reserve(tx[i]) == NULL && io_tx_flush(tx[i]) == 1)
            return tx[i]->sock;
    return NULL;
}

static bool send_loop(io_tx *const *tx, size_t ntx, io_endpoint *ep, send_fn fn, void *src,
                      size_t budget, uint64_t now, bool *blocked)
{
    bool more = false;
    size_t cur = 0; /* the queue the core writes into; others get a copy */
    io_udp *full = NULL;
    while (!*blocked) {
        if ((full = make_room(tx, ntx)) != NULL) {
            *blocked = true;
            break;
        }
        if (budget == 0) {
            more = true;
            break;
        }
        uint8_t *p = io_tx_reserve(tx[cur]);
        quic_addr to;
        uint8_t ecn = IO_ECN_NOT_ECT;
        int n = fn(src, &to, p, IO_TX_DGRAM_CAP, now, &ecn);
        if (n <= 0)
            break;
        budget--;
        size_t k = cur;
        if (ntx > 1 && family_of(tx[cur]) != to.family) {
            for (k = 0; k < ntx && family_of(tx[k]) != to.family; k++) {
            }
            if (k == ntx)
                continue; /* no socket of that family: the loss it will be */
            memcpy(io_tx_reserve(tx[k]), p, (size_t)n);
            cur = k;
        }
        io_tx_commit_ecn(tx[k], (size_t)n, &to, ecn);
    }
    for (size_t i = 0; i < ntx && !*blocked; i++) {
        if (io_tx_flush(tx[i]) == 1) {
            *blocked = true;
            full = tx[i]->sock;
        }
    }
    for (size_t i = 0; i < ntx && *blocked && full == NULL; i++)
        if (io_tx_pending(tx[i]))
            full = tx[i]->sock; /* blocked already on entry */
    if (*blocked && ep != NULL && full != NULL)
        io_endpoint_want_write(ep, full);
    return more;
}

bool io_bridge_conn_send(io_tx *tx, io_endpoint *ep, bind_conn *bc, size_t budget, uint64_t now,
                         bool *blocked)
{
    io_tx *one[1] = {tx};
    return send_loop(one, 1, ep, send_conn, bc, budget, now, blocked);
}

bool io_bridge_server_send(io_tx *const *tx, size_t ntx, io_endpoint *ep, bind_server *s,
                           size_t budget, uint64_t now, bool *blocked)
{
    if (ntx == 0)
        return false;
    return send_loop(tx, ntx, ep, send_server, s, budget, now, blocked);
}
