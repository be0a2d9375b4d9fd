/* POSIX UDP sockets for Quince: batched receive/send (recvmmsg/sendmmsg), GSO, PKTINFO, ECN. */
#ifndef IO_UDP_H
#define IO_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "base/export.h"

/*
 * The io_ error table: every io/ function reports failures as one of these
 * negative ints. Where a system call failed, the socket or loop also keeps the
 * errno in its last_errno field for diagnostics.
 */
enum {
    IO_OK = 0,
    IO_ERR_ARG = -1,       /* invalid argument (NULL, zero-size batch, bad segment size) */
    IO_ERR_ADDR = -2,      /* address text does not parse, or wrong family for the socket */
    IO_ERR_SOCKET = -3,    /* socket(2) or a required setsockopt(2) failed */
    IO_ERR_BIND = -4,      /* bind(2) failed (address in use, not local, ...) */
    IO_ERR_RECV = -5,      /* recvmmsg(2) failed with something other than EAGAIN */
    IO_ERR_SEND = -6,      /* sendmmsg(2) failed with something other than EAGAIN */
    IO_ERR_MSGSIZE = -7,   /* datagram larger than the path or the GSO limit */
    IO_ERR_NOMEM = -8,     /* allocation failed */
    IO_ERR_EPOLL = -9,     /* epoll_create/epoll_ctl/epoll_wait failed */
    IO_ERR_TIMER = -10,    /* timerfd failed */
    IO_ERR_SIGNAL = -11,   /* signal mask or signalfd failed */
    IO_ERR_EXISTS = -12,   /* fd or socket already registered */
    IO_ERR_NOTFOUND = -13, /* fd or socket not registered */
    IO_ERR_FILE = -14,     /* a log file could not be opened */
    IO_ERR_CERT = -15,    /* certificate or key file unreadable, unparsable, or generation failed */
    IO_ERR_CONFIG = -16,  /* the binding refused the configuration (bind_*_new returned NULL) */
    IO_ERR_RESOLVE = -17, /* a URL's host did not resolve (getaddrinfo) */
    IO_ERR_CERT_KEY = -18, /* the private key does not belong to the certificate */
};

/* Returns a human-readable name for an io_ error code (never NULL). */
QUINCE_API const char *io_strerror(int err);

/* A socket address of either family, with its length. */
typedef struct io_addr {
    struct sockaddr_storage ss;
    socklen_t len; /* 0: unset */
} io_addr;

/* Parse "1.2.3.4:port" or "[v6]:port" (numeric only, port 0..65535). Returns IO_OK; IO_ERR_ADDR
 * for text that does not parse, IO_ERR_ARG for NULL. */
QUINCE_API int io_addr_parse(io_addr *a, const char *text);
/* Write "1.2.3.4:port" / "[v6]:port" with a NUL into buf; returns the length or IO_ERR_ARG. */
QUINCE_API int io_addr_format(const io_addr *a, char *buf, size_t cap);
/* Return the address family (AF_INET, AF_INET6 or AF_UNSPEC when unset; never fails) and the
 * port (0 when unset). */
QUINCE_API int io_addr_family(const io_addr *a);
QUINCE_API uint16_t io_addr_port(const io_addr *a);
/* Returns whether both have the same family, address and port (IPv6 scope id included). */
QUINCE_API bool io_addr_equal(const io_addr *a, const io_addr *b);

/* ECN codepoints in the low two bits of the TOS / traffic class (RFC 3168 §5). */
enum { IO_ECN_NOT_ECT = 0, IO_ECN_ECT1 = 1, IO_ECN_ECT0 = 2, IO_ECN_CE = 3 };

/*
 * One datagram of a batch.
 * Receive: data/cap is the caller's buffer; len, peer, local, ecn and
 * truncated are filled in. local carries the destination address of the
 * packet (from IP_PKTINFO / IPV6_PKTINFO) with the socket's port.
 * Send: data/len is the payload, peer the destination; local, when set,
 * selects the source address; ecn is written into the TOS / traffic class;
 * segment_size > 0 and < len asks for UDP GSO: the payload is cut into
 * segments of that size (the last may be shorter), each sent as its own
 * datagram, by the kernel when it can and by sendmmsg otherwise.
 */
typedef struct io_datagram {
    uint8_t *data;
    size_t len;
    size_t cap;
    io_addr peer;
    io_addr local;
    uint8_t ecn;
    bool truncated;
    uint16_t segment_size;
} io_datagram;

/* Linux caps one GSO send at this many segments (UDP_MAX_SEGMENTS). */
#define IO_GSO_MAX_SEGMENTS 64
/* The largest UDP payload one sendmsg can carry. */
#define IO_UDP_MAX_PAYLOAD 65507

typedef struct io_udp_config {
    int rcvbuf;       /* bytes requested for SO_RCVBUF; 0: 4 MiB */
    int sndbuf;       /* bytes requested for SO_SNDBUF; 0: 4 MiB */
    bool v6only;      /* IPv6 sockets only: refuse IPv4-mapped peers */
    bool disable_gso; /* never use UDP_SEGMENT, always split in user space */
    bool reuseport;   /* SO_REUSEPORT, for several sockets on one port */
    /* Record every datagram sent and received (io/pcap.h); NULL: none. */
    struct io_pcap *capture;
} io_udp_config;

typedef struct io_udp {
    int fd;
    int family;         /* AF_INET or AF_INET6 */
    io_addr local;      /* bound address, the real port when 0 was asked */
    bool gso_supported; /* the kernel accepted UDP_SEGMENT on this socket */
    bool gso_enabled;   /* sends use UDP_SEGMENT (supported and not disabled) */
    bool gro_enabled;   /* receives may coalesce datagrams (UDP_GRO, io_udp_set_gro) */
    int rcvbuf, sndbuf; /* sizes the kernel reports after setting */
    int last_errno;
    struct io_pcap *capture; /* from the configuration, or NULL */
    /* Counters (datagrams on the wire, GSO segments counted one by one). */
    uint64_t rx_datagrams, tx_datagrams, tx_gso_calls, tx_split_calls;
} io_udp;

/* Open a non-blocking, close-on-exec UDP socket bound to text ("127.0.0.1:4433", "[::1]:0",
 * "0.0.0.0:4433"). cfg may be NULL for the defaults. Returns IO_OK; IO_ERR_ADDR for an address
 * that does not parse, IO_ERR_SOCKET, IO_ERR_BIND (errno tells why: in use, not local),
 * IO_ERR_ARG. */
QUINCE_API int io_udp_open(io_udp *u, const char *text, const io_udp_config *cfg);
/* Same with an already parsed address. Returns IO_OK; IO_ERR_ADDR, IO_ERR_SOCKET, IO_ERR_BIND,
 * IO_ERR_ARG as io_udp_open. */
QUINCE_API int io_udp_open_addr(io_udp *u, const io_addr *addr, const io_udp_config *cfg);
/* Close the socket (idempotent). */
QUINCE_API void io_udp_close(io_udp *u);
/* Turn GSO off (always) or back on (only where supported); returns the new state. */
QUINCE_API bool io_udp_set_gso(io_udp *u, bool on);
/*
 * UDP GRO (Linux 5.0): the kernel hands over several datagrams of one flow and one
 * size in one buffer (on loopback, a GSO train as it was sent, never cut apart);
 * io_udp_recv reports the size in segment_size. Only for callers whose receive
 * buffers hold IO_UDP_MAX_PAYLOAD bytes. Returns the new state (false where the
 * kernel has no GRO).
 */
QUINCE_API bool io_udp_set_gro(io_udp *u, bool on);
/* RFC 9000 §14: the largest UDP payload that leaves this host unfragmented:
 * toward peer, the route's MTU (IP_MTU / IPV6_MTU of a socket connected to it);
 * on the interface that owns local, that interface's MTU (SIOCGIFMTU); less
 * the IP and UDP headers. 0 when the kernel does not say (a wildcard local
 * address, an unreachable peer).
 * Returns that payload size. */
QUINCE_API size_t io_udp_path_payload(const io_addr *peer);
QUINCE_API size_t io_udp_local_payload(const io_addr *local);

/*
 * Receive up to n datagrams without blocking. Returns the number received
 * (0 when nothing is waiting) or IO_ERR_RECV. Datagrams longer than cap are
 * cut and marked truncated. With GRO on, an entry may hold several datagrams:
 * segment_size > 0 and < len, each segment_size bytes but the last.
 */
QUINCE_API int io_udp_recv(io_udp *u, io_datagram *d, size_t n);

/*
 * Send n datagrams (each possibly a GSO train) without blocking. Returns the
 * number of entries of d fully handed to the kernel (n on full success, fewer
 * when the socket buffer filled up: wait for EPOLLOUT and send the rest), or
 * a negative error when not even the first could go: IO_ERR_MSGSIZE (larger
 * than the route allows: a failed PMTU probe), IO_ERR_ADDR, IO_ERR_ARG or
 * IO_ERR_SEND. A negative return always concerns d[0]; the caller drops it
 * and goes on with d + 1. If the kernel refuses a GSO send (EIO: no
 * checksum offload on the route), GSO is switched off on this socket and the
 * entry is sent again split in user space.
 */
QUINCE_API int io_udp_send(io_udp *u, const io_datagram *d, size_t n);

#endif
