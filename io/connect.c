/* An HTTP/3 (+ WebTransport) client on an io_loop in a few calls: URL, socket, binding. */
#include "io/connect.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/bridge.h"
#include "io/posix_env.h"

#define SEND_BUDGET 2048

struct io_client {
    quince_env env;
    io_loop *loop;
    bool own_loop;
    io_endpoint *ep;
    io_udp sock;
    io_tx *tx;
    bind_conn *bc;
    io_addr peer;
    char host[256];
    char authority[300];
    char path[1024];
};

bool io_url_split(const char *url, char *host, size_t host_cap, char *port, size_t port_cap,
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
        if (port_cap < 4)
            return false;
        memcpy(port, "443", 4);
    }
    *path = slash != NULL ? slash : "/";
    return true;
}

void io_client_config_init(io_client_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    bind_config_init(&cfg->bind, false);
}

/* ---- the loop's view of the client ---- */

static void on_datagrams(void *user, const io_batch *b)
{
    io_client *c = user;
    io_bridge_conn_recv(c->bc, b);
}

static void on_timeout(void *user, uint64_t now)
{
    io_client *c = user;
    bind_conn_on_timeout(c->bc, now);
}

static uint64_t flush(void *user, uint64_t now)
{
    io_client *c = user;
    bool blocked = io_tx_pending(c->tx) && io_tx_flush(c->tx) == 1;
    bool more = io_bridge_conn_send(c->tx, c->ep, c->bc, SEND_BUDGET, now, &blocked);
    if (more && !blocked)
        return now;
    return bind_conn_next_timeout(c->bc);
}

/* ---- setup ---- */

static int resolve(const char *host, const char *port, io_addr *out)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &res) != 0 || res == NULL)
        return IO_ERR_RESOLVE;
    /* IPv4 first: a name such as localhost often has both, and servers that
     * listen on one address mostly listen on IPv4. */
    const struct addrinfo *pick = res;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    }
    memset(out, 0, sizeof(*out));
    memcpy(&out->ss, pick->ai_addr, pick->ai_addrlen);
    out->len = pick->ai_addrlen;
    freeaddrinfo(res);
    return IO_OK;
}

int io_client_new(io_client **out, io_loop *loop, const char *url, const io_client_config *cfg)
{
    *out = NULL;
    char port[8];
    const char *path;
    io_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return IO_ERR_NOMEM;
    c->sock.fd = -1;
    c->env = cfg->env != NULL ? *cfg->env : io_env_default();
    if (!io_url_split(url, c->host, sizeof(c->host), port, sizeof(port), &path) ||
        strlen(path) >= sizeof(c->path)) {
        free(c);
        return IO_ERR_ADDR;
    }
    snprintf(c->path, sizeof(c->path), "%s", path);
    bool v6 = strchr(c->host, ':') != NULL;
    snprintf(c->authority, sizeof(c->authority), v6 ? "[%s]:%s" : "%s:%s", c->host, port);
    int rc = resolve(c->host, port, &c->peer);
    if (rc == IO_OK)
        rc = io_udp_open(&c->sock, io_addr_family(&c->peer) == AF_INET6 ? "[::]:0" : "0.0.0.0:0",
                         &cfg->udp);
    if (rc == IO_OK && (c->tx = malloc(sizeof(io_tx))) == NULL)
        rc = IO_ERR_NOMEM;
    if (rc != IO_OK) {
        io_client_free(c);
        return rc;
    }
    io_tx_init(c->tx, &c->sock);

    bind_config bc = cfg->bind;
    bc.quic.is_server = false;
    /* PMTU discovery's ceiling: the route's MTU where the kernel knows it. */
    size_t mtu = bc.quic.max_udp_payload == 0 ? io_udp_path_payload(&c->peer) : 0;
    if (mtu > 0)
        bc.quic.max_udp_payload = (uint32_t)(mtu < IO_TX_DGRAM_CAP ? mtu : IO_TX_DGRAM_CAP);
    if (bc.quic.tls.server_name == NULL)
        bc.quic.tls.server_name = c->host;
    quic_addr local, remote;
    io_addr_to_quic(&c->sock.local, &local);
    io_addr_to_quic(&c->peer, &remote);
    c->bc = bind_conn_client_new(&c->env, &bc, &local, &remote, io_now_us());
    if (c->bc == NULL) {
        io_client_free(c);
        return IO_ERR_CONFIG;
    }

    if (loop == NULL) {
        rc = io_loop_create(&loop, NULL);
        if (rc != IO_OK) {
            io_client_free(c);
            return rc;
        }
        c->own_loop = true;
        rc = io_loop_catch_signals(loop);
    }
    c->loop = loop;
    static const io_endpoint_ops ops = {
        .on_datagrams = on_datagrams, .on_timeout = on_timeout, .flush = flush};
    if (rc == IO_OK)
        rc = io_loop_add_endpoint(loop, &ops, c, &c->ep);
    if (rc == IO_OK)
        rc = io_loop_add_socket(loop, c->ep, &c->sock);
    if (rc != IO_OK) {
        io_client_free(c);
        return rc;
    }
    io_endpoint_kick(c->ep);
    *out = c;
    return IO_OK;
}

void io_client_free(io_client *c)
{
    if (c == NULL)
        return;
    if (c->ep != NULL)
        io_loop_remove_endpoint(c->loop, c->ep);
    if (c->bc != NULL)
        bind_conn_free(c->bc);
    io_udp_close(&c->sock);
    free(c->tx);
    if (c->own_loop)
        io_loop_destroy(c->loop);
    free(c);
}

bind_conn *io_client_conn(const io_client *c)
{
    return c->bc;
}

io_loop *io_client_loop(const io_client *c)
{
    return c->loop;
}

const char *io_client_authority(const io_client *c)
{
    return c->authority;
}

const char *io_client_path(const io_client *c)
{
    return c->path;
}

const io_addr *io_client_peer(const io_client *c)
{
    return &c->peer;
}

io_udp *io_client_socket(io_client *c)
{
    return &c->sock;
}

void io_client_kick(io_client *c)
{
    io_endpoint_kick(c->ep);
}

int io_client_run(io_client *c)
{
    for (;;) {
        if (bind_conn_is_closed(c->bc))
            return 0;
        int rc = io_loop_run_once(c->loop, -1);
        if (rc != 1)
            return rc;
    }
}

QUINCE_API int io_client_migrate(io_client *c)
{
    io_udp fresh;
    fresh.fd = -1;
    int rc = io_udp_open(&fresh, io_addr_family(&c->peer) == AF_INET6 ? "[::]:0" : "0.0.0.0:0",
                         NULL);
    if (rc != IO_OK)
        return rc;
    quic_addr local;
    io_addr_to_quic(&fresh.local, &local);
    if (quic_conn_migrate(bind_conn_quic(c->bc), &local, io_now_us()) != 0) {
        io_udp_close(&fresh);
        return IO_ERR_CONFIG;
    }
    /* What is queued for the old socket goes first; then the new one takes its place. */
    io_tx_flush(c->tx);
    io_loop_remove_socket(c->loop, &c->sock);
    io_udp_close(&c->sock);
    c->sock = fresh;
    io_tx_init(c->tx, &c->sock);
    rc = io_loop_add_socket(c->loop, c->ep, &c->sock);
    io_endpoint_kick(c->ep);
    return rc;
}
