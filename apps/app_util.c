/* Shared pieces of the command-line apps: addresses, datagram I/O, the loop, files, options. */
#include "apps/app_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void app_addr_to_quic(const io_addr *in, quic_addr *out)
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

void app_addr_from_quic(const quic_addr *in, io_addr *out)
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

bool app_quic_addr_equal(const quic_addr *a, const quic_addr *b)
{
    size_t n = a->family == 4 ? 4 : 16;
    return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, n) == 0;
}

void app_tx_init(app_tx *tx)
{
    tx->n = tx->sent = tx->used = tx->dgrams = 0;
}

uint8_t *app_tx_reserve(app_tx *tx)
{
    if (tx->n >= APP_TX_ENTRIES || tx->dgrams >= APP_TX_DGRAMS ||
        tx->used + APP_DGRAM_CAP > sizeof(tx->buf))
        return NULL;
    return tx->buf + tx->used;
}

void app_tx_commit(app_tx *tx, size_t len, const quic_addr *peer)
{
    io_addr to;
    app_addr_from_quic(peer, &to);
    tx->dgrams++;
    if (tx->n > tx->sent) {
        io_datagram *last = &tx->d[tx->n - 1];
        size_t seg = last->segment_size ? last->segment_size : last->len;
        /* Only whole segments so far, not longer than them, and contiguous. */
        if (io_addr_equal(&last->peer, &to) && last->len % seg == 0 && len <= seg &&
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
    tx->used += len;
}

bool app_tx_pending(const app_tx *tx)
{
    return tx->sent < tx->n;
}

void app_bind_conn_recv(bind_conn *bc, const io_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (b->d[i].truncated)
            continue;
        quic_addr from;
        app_addr_to_quic(&b->d[i].peer, &from);
        bind_conn_recv(bc, &from, b->d[i].data, b->d[i].len, b->now);
    }
}

void app_bind_server_recv(bind_server *bs, const quic_addr *local, const io_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const io_datagram *d = &b->d[i];
        if (d->truncated)
            continue;
        quic_addr from, to;
        app_addr_to_quic(&d->peer, &from);
        if (d->local.len != 0)
            app_addr_to_quic(&d->local, &to);
        else
            to = *local;
        bind_server_recv(bs, &from, &to, d->data, d->len, b->now);
    }
}

typedef int (*send_fn)(void *src, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now);

static int send_bind_conn(void *src, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now)
{
    return bind_conn_send(src, to, buf, cap, now);
}

static int send_bind_server(void *src, quic_addr *to, uint8_t *buf, size_t cap, uint64_t now)
{
    return bind_server_send(src, to, buf, cap, now);
}

static bool send_loop(app_tx *tx, io_udp *sock, io_endpoint *ep, send_fn fn, void *src,
                      size_t budget, uint64_t now, bool *blocked)
{
    bool more = false;
    while (!*blocked) {
        uint8_t *p = app_tx_reserve(tx);
        if (p == NULL) {
            if (app_tx_flush(tx, sock) == 1) {
                *blocked = true;
                break;
            }
            p = app_tx_reserve(tx);
        }
        if (budget == 0) {
            more = true;
            break;
        }
        quic_addr to;
        int n = fn(src, &to, p, APP_DGRAM_CAP, now);
        if (n <= 0)
            break;
        app_tx_commit(tx, (size_t)n, &to);
        budget--;
    }
    if (!*blocked && app_tx_flush(tx, sock) == 1)
        *blocked = true;
    if (*blocked)
        io_endpoint_want_write(ep, sock);
    return more;
}

bool app_send_bind_conn(app_tx *tx, io_udp *sock, io_endpoint *ep, bind_conn *bc, size_t budget,
                        uint64_t now, bool *blocked)
{
    return send_loop(tx, sock, ep, send_bind_conn, bc, budget, now, blocked);
}

bool app_send_bind_server(app_tx *tx, io_udp *sock, io_endpoint *ep, bind_server *bs, size_t budget,
                          uint64_t now, bool *blocked)
{
    return send_loop(tx, sock, ep, send_bind_server, bs, budget, now, blocked);
}

int app_tx_flush(app_tx *tx, io_udp *sock)
{
    while (tx->sent < tx->n) {
        int r = io_udp_send(sock, tx->d + tx->sent, tx->n - tx->sent);
        if (r < 0) {
            tx->sent++; /* refused outright: drop it, as the loss it will be */
            continue;
        }
        tx->sent += (size_t)r;
        if (tx->sent < tx->n)
            return 1;
    }
    app_tx_init(tx);
    return 0;
}

uint8_t *app_read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf != NULL) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                buf = NULL;
                break;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
    }
    if (buf != NULL && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

bool app_parse_seconds(const char *text, uint64_t *us)
{
    char *end = NULL;
    double s = strtod(text, &end);
    if (end == text || *end != '\0' || !(s >= 0) || s > 1e6)
        return false;
    *us = (uint64_t)(s * 1e6);
    return true;
}

void app_hex(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

bool app_loop_open(io_loop **loop, const io_endpoint_ops *ops, void *user, io_endpoint **ep,
                   io_udp *sock, const char *prog)
{
    if (io_loop_create(loop, NULL) != IO_OK || io_loop_catch_signals(*loop) != IO_OK ||
        io_loop_add_endpoint(*loop, ops, user, ep) != IO_OK ||
        io_loop_add_socket(*loop, *ep, sock) != IO_OK) {
        fprintf(stderr, "%s: event loop setup failed\n", prog);
        return false;
    }
    return true;
}

bool app_parse_url(const char *url, char *host, size_t host_cap, char *port, size_t port_cap,
                   const char **path)
{
    const char *p = url;
    if (strncmp(p, "https://", 8) != 0)
        return false;
    p += 8;
    const char *slash = strchr(p, '/');
    const char *end = slash != NULL ? slash : p + strlen(p);
    const char *h = p, *hend, *colon;
    if (*p == '[') {
        h = p + 1;
        hend = memchr(h, ']', (size_t)(end - h));
        if (hend == NULL)
            return false;
        colon = hend + 1 < end && hend[1] == ':' ? hend + 1 : NULL;
        if (colon == NULL && hend + 1 != end)
            return false;
    } else {
        colon = memchr(p, ':', (size_t)(end - p));
        hend = colon != NULL ? colon : end;
    }
    if (hend == h || (size_t)(hend - h) >= host_cap)
        return false;
    memcpy(host, h, (size_t)(hend - h));
    host[hend - h] = '\0';
    if (colon != NULL) {
        size_t plen = (size_t)(end - colon - 1);
        if (plen == 0 || plen > 5 || plen >= port_cap)
            return false;
        unsigned long v = 0;
        for (size_t i = 0; i < plen; i++) {
            if (colon[1 + i] < '0' || colon[1 + i] > '9')
                return false;
            v = v * 10 + (unsigned long)(colon[1 + i] - '0');
        }
        if (v == 0 || v > 65535)
            return false;
        memcpy(port, colon + 1, plen);
        port[plen] = '\0';
    } else {
        snprintf(port, port_cap, "443");
    }
    *path = slash != NULL ? slash : "/";
    return true;
}
