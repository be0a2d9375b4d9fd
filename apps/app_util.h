/* Shared pieces of the command-line apps: addresses, datagram I/O, the loop, files, options. */
#ifndef APPS_APP_UTIL_H
#define APPS_APP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/loop.h"
#include "io/udp.h"
#include "bind/bind.h"
#include "quic/quic.h"

/* The largest datagram the core builds (QUIC_OPT_MAX_UDP_PAYLOAD is 1452). */
#define APP_DGRAM_CAP 1500
/* Entries per sendmmsg, and datagrams buffered per flush. */
#define APP_TX_ENTRIES 64
#define APP_TX_DGRAMS 256

void app_addr_to_quic(const io_addr *in, quic_addr *out);
void app_addr_from_quic(const quic_addr *in, io_addr *out);
bool app_quic_addr_equal(const quic_addr *a, const quic_addr *b);

/*
 * Datagrams waiting to go out on one socket. Consecutive datagrams to the
 * same peer of equal size (the last may be shorter) are joined into one GSO
 * train (io_udp_send splits them in user space where GSO is missing).
 */
typedef struct app_tx {
    uint8_t buf[APP_TX_DGRAMS * APP_DGRAM_CAP];
    io_datagram d[APP_TX_ENTRIES];
    size_t n;    /* entries filled */
    size_t sent; /* entries already handed to the kernel */
    size_t used; /* bytes of buf in use */
    size_t dgrams;
} app_tx;

void app_tx_init(app_tx *tx);
/* Room for one more datagram of up to APP_DGRAM_CAP bytes, or NULL when full. */
uint8_t *app_tx_reserve(app_tx *tx);
/* The datagram written at the last reserve is len bytes for peer. */
void app_tx_commit(app_tx *tx, size_t len, const quic_addr *peer);
/* Send what is queued. Returns 0 when all went (the queue is empty again),
 * 1 when the socket is full (wait for writability), dropping entries the
 * kernel refused outright. */
int app_tx_flush(app_tx *tx, io_udp *sock);
bool app_tx_pending(const app_tx *tx);

/* Hand each whole datagram of a batch to a client's connection, or to a server
 * (to is the address the datagram arrived at, or local where the socket did
 * not say); the binding drains the events of the connection each went to. */
void app_bind_conn_recv(bind_conn *bc, const io_batch *b);
void app_bind_server_recv(bind_server *bs, const quic_addr *local, const io_batch *b);

/*
 * Move what a connection or an endpoint has to send through tx to sock, at
 * most budget datagrams (SIZE_MAX: no limit), flushing tx whenever it fills.
 * *blocked says on entry that the socket is already full, and on return that
 * it is (ep is then asked to wait for writability). Returns true when the
 * budget ran out with datagrams still to come.
 */
bool app_send_bind_conn(app_tx *tx, io_udp *sock, io_endpoint *ep, bind_conn *bc, size_t budget,
                        uint64_t now, bool *blocked);
bool app_send_bind_server(app_tx *tx, io_udp *sock, io_endpoint *ep, bind_server *bs, size_t budget,
                          uint64_t now, bool *blocked);

/* Create a loop that catches SIGINT/SIGTERM, with one endpoint (ops, user) on
 * sock. False, after a message starting with prog, on any failure. */
bool app_loop_open(io_loop **loop, const io_endpoint_ops *ops, void *user, io_endpoint **ep,
                   io_udp *sock, const char *prog);

/* Split https://host[:port]/path (port default 443, path default "/"); the
 * host without the brackets of an IPv6 literal. False on anything else. */
bool app_parse_url(const char *url, char *host, size_t host_cap, char *port, size_t port_cap,
                   const char **path);
/* Read a whole file (at most max bytes) into a malloc'd buffer. */
uint8_t *app_read_file(const char *path, size_t max, size_t *len);
/* "30", "2.5": seconds into microseconds; false on bad text. */
bool app_parse_seconds(const char *text, uint64_t *us);
/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void app_hex(const uint8_t *in, size_t len, char *out);

#endif
