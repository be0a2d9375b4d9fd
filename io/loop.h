/* An epoll event loop that drives sans-I/O endpoints over UDP sockets, with one timer each. */
#ifndef IO_LOOP_H
#define IO_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/export.h"
#include "io/udp.h"

/*
 * Typical use with a sans-I/O QUIC endpoint:
 *
 *   io_udp sock;  io_udp_open(&sock, "[::]:4433", NULL);
 *   io_loop *l;   io_loop_create(&l, NULL);  io_loop_catch_signals(l);
 *   io_endpoint *ep;
 *   io_loop_add_endpoint(l, &ops, server, &ep);  io_loop_add_socket(l, ep, &sock);
 *   io_loop_add_fd(l, tcp_listener, IO_READ, on_http, server);
 *   int sig = io_loop_run(l);          (SIGINT/SIGTERM number, or 0 after io_loop_stop)
 *
 * where ops.on_datagrams feeds each datagram (with its peer and local
 * address) to the core, ops.on_timeout calls the core's on_timeout, and
 * ops.flush drains the core's send function into io_udp_send (GSO trains
 * when it can) and returns the core's next timeout.
 */

/* "No deadline" for timers. */
#define IO_TIME_NEVER UINT64_MAX

/* Returns monotonic time in microseconds (CLOCK_MONOTONIC): the `now` of the core; never fails. */
QUINCE_API uint64_t io_now_us(void);

typedef struct io_loop io_loop;
typedef struct io_endpoint io_endpoint;

/* Datagrams received on one socket in one wake-up; the buffers belong to the
 * loop and are valid only during the callback. */
typedef struct io_batch {
    io_udp *sock;
    io_datagram *d;
    size_t n;
    uint64_t now;
} io_batch;

/*
 * What the loop needs from a sans-I/O endpoint (a QUIC endpoint, a test echo):
 * - on_datagrams: hand the batch to the core (one quic_conn_recv per datagram).
 * - on_timeout: the deadline last returned by flush has passed.
 * - flush: called after every event that touched this endpoint (datagrams,
 *   timeout, writability, io_endpoint_kick, any extra fd event): send what
 *   the core has to send (io_udp_send on one of its sockets) and return the
 *   core's next deadline (absolute, io_now_us() clock) or IO_TIME_NEVER.
 *   When a send found the socket full, call io_endpoint_want_write() and
 *   flush will be called again once it drains.
 * on_datagrams and on_timeout may be NULL.
 */
typedef struct io_endpoint_ops {
    void (*on_datagrams)(void *user, const io_batch *batch);
    void (*on_timeout)(void *user, uint64_t now);
    uint64_t (*flush)(void *user, uint64_t now);
} io_endpoint_ops;

/* Events for extra file descriptors. */
enum { IO_READ = 1, IO_WRITE = 2, IO_HANGUP = 4 };
typedef void (*io_fd_cb)(void *user, int fd, unsigned events, uint64_t now);

typedef struct io_loop_config {
    size_t batch;     /* datagrams per recvmmsg; 0: 64 */
    size_t dgram_cap; /* receive buffer per datagram; 0: 2048 (larger ones are dropped) */
    bool disable_gro; /* do not switch UDP GRO on for the sockets added (io_udp_set_gro) */
} io_loop_config;

/* Create a loop (cfg may be NULL). Returns IO_OK, IO_ERR_NOMEM, IO_ERR_EPOLL or IO_ERR_TIMER. */
QUINCE_API int io_loop_create(io_loop **out, const io_loop_config *cfg);
/* Destroy the loop: unregisters everything (it closes no socket or fd it did
 * not open) and restores the signal mask changed by io_loop_catch_signals. */
QUINCE_API void io_loop_destroy(io_loop *l);

/* Register an endpoint; its timer starts unset. Returns IO_OK with it in *out; IO_ERR_ARG,
 * IO_ERR_NOMEM. */
QUINCE_API int io_loop_add_endpoint(io_loop *l, const io_endpoint_ops *ops, void *user,
                                    io_endpoint **out);
/* Unregister an endpoint and its sockets. Safe from any callback, its own
 * included: it gets no further call and its memory goes at the end of the turn. */
QUINCE_API void io_loop_remove_endpoint(io_loop *l, io_endpoint *ep);
/* Attach an open socket to an endpoint; its datagrams go to that endpoint. The socket must
 * outlive its registration. io_loop_add_socket returns IO_OK, IO_ERR_EXISTS when it is attached
 * already, IO_ERR_ARG, IO_ERR_NOMEM; io_loop_remove_socket returns IO_OK or IO_ERR_NOTFOUND. */
QUINCE_API int io_loop_add_socket(io_loop *l, io_endpoint *ep, io_udp *sock);
QUINCE_API int io_loop_remove_socket(io_loop *l, io_udp *sock);
/* Ask for one flush once the socket can be written again. Returns IO_OK, or IO_ERR_NOTFOUND for
 * a socket not attached. */
QUINCE_API int io_endpoint_want_write(io_endpoint *ep, io_udp *sock);
/* Ask for a flush at the next turn (e.g. the application wrote to a stream). */
QUINCE_API void io_endpoint_kick(io_endpoint *ep);
/* Replace the endpoint's deadline now (flush's return value does the same). */
QUINCE_API void io_endpoint_set_timer(io_endpoint *ep, uint64_t deadline_us);
QUINCE_API uint64_t io_endpoint_timer(const io_endpoint *ep);

/* Watch another fd (a TCP listener, a pipe). events: IO_READ | IO_WRITE. All endpoints are
 * flushed after its callback. Each returns IO_OK; add: IO_ERR_EXISTS when it is watched already,
 * IO_ERR_ARG, IO_ERR_NOMEM; mod and del: IO_ERR_NOTFOUND for an fd not watched. */
QUINCE_API int io_loop_add_fd(io_loop *l, int fd, unsigned events, io_fd_cb cb, void *user);
QUINCE_API int io_loop_mod_fd(io_loop *l, int fd, unsigned events);
QUINCE_API int io_loop_del_fd(io_loop *l, int fd);

/*
 * Stop on SIGINT and SIGTERM: blocks them in the calling thread and reads them
 * from a signalfd, so no handler runs and nothing is interrupted half-way.
 * Call before creating other threads.
 * Returns IO_OK; IO_ERR_SIGNAL when the mask or the signalfd failed, IO_ERR_ARG. */
QUINCE_API int io_loop_catch_signals(io_loop *l);

/* Ask the loop to return. Async-signal-safe and callable from another thread. */
QUINCE_API void io_loop_stop(io_loop *l);

/*
 * Run until stopped. Returns 0 after io_loop_stop, the signal number after a
 * caught SIGINT/SIGTERM, or a negative io_ error.
 */
QUINCE_API int io_loop_run(io_loop *l);
/* One turn: wait at most timeout_ms (-1: until the next deadline or event), dispatch, flush.
 * Returns as io_loop_run (0 after io_loop_stop, a signal number, or a negative io_ error such as
 * IO_ERR_EPOLL), or 1 when it should go on. */
QUINCE_API int io_loop_run_once(io_loop *l, int timeout_ms);

/* Returns the errno of the last failed system call (0 when none), for diagnostics; never fails. */
QUINCE_API int io_loop_last_errno(const io_loop *l);

#endif
