/* A tiny HTTP/1.1 server over TCP for the demo page: one request per connection, then close. */
#include "apps/demo_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "apps/demo_http_parse.h"
#include "io/udp.h"

#define HTTP_MAX_HEAD DEMO_HTTP_MAX_HEAD
#define HTTP_MAX_BODY DEMO_HTTP_MAX_BODY
#define HTTP_MAX_CLIENTS 64

typedef struct http_client {
    demo_http *d;
    int fd;
    char *buf;
    size_t len;
    int timer_fd; /* a delayed response waits on it; -1: none */
    demo_http_response held;
} http_client;

struct demo_http {
    io_loop *loop;
    int fd;
    uint16_t port;
    demo_http_handler h;
    void *user;
    http_client *clients[HTTP_MAX_CLIENTS];
};

static void client_close(http_client *c)
{
    demo_http *d = c->d;
    io_loop_del_fd(d->loop, c->fd);
    close(c->fd);
    if (c->timer_fd >= 0) {
        io_loop_del_fd(d->loop, c->timer_fd);
        close(c->timer_fd);
    }
    for (size_t i = 0; i < HTTP_MAX_CLIENTS; i++)
        if (d->clients[i] == c)
            d->clients[i] = NULL;
    free(c->buf);
    free(c);
}

/* Write everything (loopback, small bodies): blocking with a bounded wait. */
static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            if (poll(&pf, 1, 2000) <= 0)
                return;
            continue;
        }
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    default:
        return "Error";
    }
}

static void respond(http_client *c, const demo_http_response *r)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n",
                     r->status, reason(r->status),
                     r->content_type != NULL ? r->content_type : "text/plain", r->body_len);
    write_all(c->fd, head, (size_t)n);
    write_all(c->fd, r->body, r->body_len);
}

static void on_held(void *user, int fd, unsigned events, uint64_t now)
{
    http_client *c = user;
    (void)fd;
    (void)events;
    (void)now;
    respond(c, &c->held);
    client_close(c);
}

static void on_client(void *user, int fd, unsigned events, uint64_t now)
{
    http_client *c = user;
    if (c->timer_fd >= 0)
        return; /* the response is on hold */
    (void)fd;
    (void)events;
    (void)now;
    for (;;) {
        if (c->len == HTTP_MAX_HEAD + HTTP_MAX_BODY) {
            client_close(c);
            return;
        }
        ssize_t n = recv(c->fd, c->buf + c->len, HTTP_MAX_HEAD + HTTP_MAX_BODY - c->len, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            client_close(c);
            return;
        }
        c->len += (size_t)n;
    }
    c->buf[c->len] = '\0';
    demo_http_request req;
    int st = demo_http_parse(c->buf, c->len, &req);
    if (st == DEMO_HTTP_CLOSE)
        client_close(c);
    if (st != DEMO_HTTP_DONE)
        return;
    demo_http_response r = {.status = 400, .content_type = "text/plain", .body = "bad request\n"};
    r.body_len = strlen(r.body);
    if (req.well_formed)
        c->d->h(c->d->user, req.method, req.path, req.body, req.body_len, &r);
    if (r.delay_ms > 0 && r.delay_ms <= 10000) {
        c->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct itimerspec its = {.it_value = {.tv_sec = r.delay_ms / 1000,
                                              .tv_nsec = (long)(r.delay_ms % 1000) * 1000000}};
        if (c->timer_fd >= 0 && timerfd_settime(c->timer_fd, 0, &its, NULL) == 0 &&
            io_loop_add_fd(c->d->loop, c->timer_fd, IO_READ, on_held, c) == IO_OK) {
            c->held = r;
            return;
        }
    }
    respond(c, &r);
    client_close(c);
}

static void on_listen(void *user, int fd, unsigned events, uint64_t now)
{
    demo_http *d = user;
    (void)events;
    (void)now;
    for (;;) {
        int cfd = accept(fd, NULL, NULL);
        if (cfd < 0)
            return;
        if (fcntl(cfd, F_SETFL, O_NONBLOCK) != 0 || fcntl(cfd, F_SETFD, FD_CLOEXEC) != 0) {
            close(cfd);
            continue;
        }
        size_t slot = HTTP_MAX_CLIENTS;
        for (size_t i = 0; i < HTTP_MAX_CLIENTS && slot == HTTP_MAX_CLIENTS; i++)
            if (d->clients[i] == NULL)
                slot = i;
        http_client *c = slot < HTTP_MAX_CLIENTS ? calloc(1, sizeof(*c)) : NULL;
        if (c != NULL)
            c->buf = malloc(HTTP_MAX_HEAD + HTTP_MAX_BODY + 1);
        if (c == NULL || c->buf == NULL) {
            if (c != NULL)
                free(c);
            close(cfd);
            continue;
        }
        c->d = d;
        c->fd = cfd;
        c->timer_fd = -1;
        d->clients[slot] = c;
        if (io_loop_add_fd(d->loop, cfd, IO_READ, on_client, c) != IO_OK)
            client_close(c);
    }
}

demo_http *demo_http_start(io_loop *loop, const char *addr, demo_http_handler h, void *user)
{
    io_addr a;
    if (io_addr_parse(&a, addr) != IO_OK)
        return NULL;
    demo_http *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    d->loop = loop;
    d->h = h;
    d->user = user;
    d->fd = socket(io_addr_family(&a), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (d->fd < 0 || setsockopt(d->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(d->fd, (const struct sockaddr *)&a.ss, a.len) != 0 || listen(d->fd, 64) != 0 ||
        io_loop_add_fd(loop, d->fd, IO_READ, on_listen, d) != IO_OK) {
        if (d->fd >= 0)
            close(d->fd);
        free(d);
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(d->fd, (struct sockaddr *)&ss, &sl);
    d->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                             : ((struct sockaddr_in *)&ss)->sin_port);
    return d;
}

uint16_t demo_http_port(const demo_http *d)
{
    return d->port;
}

void demo_http_stop(demo_http *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < HTTP_MAX_CLIENTS; i++)
        if (d->clients[i] != NULL)
            client_close(d->clients[i]);
    io_loop_del_fd(d->loop, d->fd);
    close(d->fd);
    free(d);
}
