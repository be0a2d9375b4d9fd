/* The bridge between io/ sockets and the binding (bind/): addresses, the send queue, receive. */
#ifndef IO_BRIDGE_H
#define IO_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/export.h"
#include "bind/bind.h"
#include "io/loop.h"
#include "io/udp.h"

/*
 * What an io_endpoint's callbacks (io/loop.h) do for a binding:
 *
 *   on_datagrams: io_bridge_server_recv(server, batch)   (or io_bridge_conn_recv)
 *   on_timeout:   bind_server_on_timeout(server, now)
 *   flush:        io_bridge_server_send(txs, n, ep, server, budget, now, &blocked);
 *                 return bind_server_next_timeout(server);
 *
 * Sending goes through an io_tx per socket: datagrams queued in one flush go
 * out with one sendmmsg, and consecutive datagrams of one size to one peer
 * (the last may be shorter) are joined into one UDP GSO train.
 */

/* The largest datagram the core builds: the ceiling io/ gives PMTU discovery. */
#define IO_TX_DGRAM_CAP 1500
/* Entries per sendmmsg, and datagrams buffered per flush. */
#define IO_TX_ENTRIES 64
#define IO_TX_DGRAMS 256

/* Socket address <-> the core's address (family 4 or 6, IP, port). An
 * unknown family gives a zeroed result (family 0 / len 0). */
QUINCE_API void io_addr_to_quic(const io_addr *in, quic_addr *out);
QUINCE_API void io_addr_from_quic(const quic_addr *in, io_addr *out);
/* Returns whether two core addresses are the same (family, IP and port). */
QUINCE_API bool io_quic_addr_equal(const quic_addr *a, const quic_addr *b);

/* Datagrams waiting to go out on one socket (about 390 KB: keep it off the stack). */
typedef struct io_tx {
    io_udp *sock;
    uint8_t buf[IO_TX_DGRAMS * IO_TX_DGRAM_CAP];
    io_datagram d[IO_TX_ENTRIES];
    size_t n;      /* entries filled */
    size_t sent;   /* entries already handed to the kernel */
    size_t used;   /* bytes of buf in use */
    size_t dgrams; /* datagrams queued (a GSO train counts each) */
} io_tx;

/* An empty queue for sock (which must outlive it). */
QUINCE_API void io_tx_init(io_tx *tx, io_udp *sock);
/* Returns room for one more datagram of up to IO_TX_DGRAM_CAP bytes, or NULL when full. */
QUINCE_API uint8_t *io_tx_reserve(io_tx *tx);
/* The datagram written at the last reserve is len bytes for peer. */
QUINCE_API void io_tx_commit(io_tx *tx, size_t len, const quic_addr *peer);
/* io_tx_commit for a datagram to go out with ECN codepoint ecn (IO_ECN_*, RFC 9000 §13.4):
 * only datagrams of one codepoint join one GSO train. */
QUINCE_API void io_tx_commit_ecn(io_tx *tx, size_t len, const quic_addr *peer, uint8_t ecn);
/* Send what is queued. Returns 0 when all went (the queue is empty again), 1
 * when the socket is full (wait for writability); entries the kernel refused
 * outright are dropped, as the loss they will be.
 * It never fails otherwise. */
QUINCE_API int io_tx_flush(io_tx *tx);
QUINCE_API bool io_tx_pending(const io_tx *tx);

/* Hand each whole datagram of a batch, with its ECN codepoint, to one client connection. */
QUINCE_API void io_bridge_conn_recv(bind_conn *bc, const io_batch *b);
/* Hand each whole datagram of a batch to a server, with the address it
 * arrived at (IP_PKTINFO, or the socket's bound address). */
QUINCE_API void io_bridge_server_recv(bind_server *s, const io_batch *b);

/*
 * Move what a connection or a server has to send into the queues and out, at
 * most budget datagrams (SIZE_MAX: no limit), flushing a queue whenever it
 * fills. A server's datagram goes to the first queue whose socket has the
 * destination's family (none: dropped). *blocked says on entry that a socket
 * is already full, and on return that one is (ep, when not NULL, is then
 * asked to wait for its writability). Returns true when the budget ran out
 * with datagrams still to come: flush again soon.
 */
QUINCE_API bool io_bridge_conn_send(io_tx *tx, io_endpoint *ep, bind_conn *bc, size_t budget,
                                    uint64_t now, bool *blocked);
QUINCE_API bool io_bridge_server_send(io_tx *const *tx, size_t ntx, io_endpoint *ep, bind_server *s,
                                      size_t budget, uint64_t now, bool *blocked);

#endif
