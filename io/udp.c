/* POSIX UDP sockets for Quince: batched receive/send (recvmmsg/sendmmsg), GSO, PKTINFO, ECN. */
#define _GNU_SOURCE /* recvmmsg, sendmmsg, struct in6_pktinfo */
#include "io/udp.h"
#include "io/pcap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h; older libcs lack it */
#endif

/* Messages handed to the kernel per recvmmsg/sendmmsg call. */
#define IO_MMSG_CHUNK 64
/* Room for PKTINFO (v4 or v6), TOS/TCLASS and UDP_SEGMENT control messages. */
#define IO_CMSG_SPACE 128

/* Control message space aligned as CMSG_* expect (cmsghdr has size_t fields). */
typedef struct cmsg_buf {
    _Alignas(size_t) uint8_t buf[IO_CMSG_SPACE];
} cmsg_buf;

const char *io_strerror(int err)
{
    switch (err) {
    case IO_OK:
        return "ok";
    case IO_ERR_ARG:
        return "invalid argument";
    case IO_ERR_ADDR:
        return "bad address";
    case IO_ERR_SOCKET:
        return "socket setup failed";
    case IO_ERR_BIND:
        return "bind failed";
    case IO_ERR_RECV:
        return "receive failed";
    case IO_ERR_SEND:
        return "send failed";
    case IO_ERR_MSGSIZE:
        return "datagram too large";
    case IO_ERR_NOMEM:
        return "out of memory";
    case IO_ERR_EPOLL:
        return "epoll failed";
    case IO_ERR_TIMER:
        return "timerfd failed";
    case IO_ERR_SIGNAL:
        return "signal setup failed";
    case IO_ERR_EXISTS:
        return "already registered";
    case IO_ERR_NOTFOUND:
        return "not registered";
    case IO_ERR_FILE:
        return "cannot open file";
    case IO_ERR_CERT:
        return "certificate or key unusable";
    case IO_ERR_CONFIG:
        return "configuration refused by the library";
    case IO_ERR_RESOLVE:
        return "host name does not resolve";
    case IO_ERR_CERT_KEY:
        return "the private key does not belong to the certificate";
    default:
        return "unknown io error";
    }
}

static int parse_port(const char *s, uint16_t *port)
{
    if (*s == '\0')
        return IO_ERR_ADDR;
    unsigned long v = 0;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return IO_ERR_ADDR;
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > 65535)
            return IO_ERR_ADDR;
    }
    *port = (uint16_t)v;
    return IO_OK;
}

int io_addr_parse(io_addr *a, const char *text)
{
    if (a == NULL || text == NULL)
        return IO_ERR_ARG;
    memset(a, 0, sizeof(*a));
    char host[INET6_ADDRSTRLEN + 1];
    const char *port;
    size_t hlen;
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (end == NULL || end[1] != ':')
            return IO_ERR_ADDR;
        hlen = (size_t)(end - text - 1);
        if (hlen == 0 || hlen >= sizeof(host))
            return IO_ERR_ADDR;
        memcpy(host, text + 1, hlen);
        port = end + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL)
            return IO_ERR_ADDR;
        hlen = (size_t)(colon - text);
        if (hlen == 0 || hlen >= sizeof(host))
            return IO_ERR_ADDR;
        memcpy(host, text, hlen);
        port = colon + 1;
    }
    host[hlen] = '\0';
    uint16_t p;
    if (parse_port(port, &p) < 0)
        return IO_ERR_ADDR;
    if (text[0] == '[') {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return IO_ERR_ADDR;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(p);
        a->len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return IO_ERR_ADDR;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(p);
        a->len = sizeof(*s4);
    }
    return IO_OK;
}

int io_addr_format(const io_addr *a, char *buf, size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    int n;
    if (a == NULL || buf == NULL || cap == 0)
        return IO_ERR_ARG;
    if (io_addr_family(a) == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->ss;
        if (inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host)) == NULL)
            return IO_ERR_ARG;
        n = snprintf(buf, cap, "%s:%u", host, (unsigned)ntohs(s4->sin_port));
    } else if (io_addr_family(a) == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->ss;
        if (inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host)) == NULL)
            return IO_ERR_ARG;
        n = snprintf(buf, cap, "[%s]:%u", host, (unsigned)ntohs(s6->sin6_port));
    } else {
        return IO_ERR_ARG;
    }
    if (n < 0 || (size_t)n >= cap)
        return IO_ERR_ARG;
    return n;
}

int io_addr_family(const io_addr *a)
{
    if (a == NULL || a->len == 0)
        return AF_UNSPEC;
    return a->ss.ss_family;
}

uint16_t io_addr_port(const io_addr *a)
{
    if (io_addr_family(a) == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    if (io_addr_family(a) == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return 0;
}

bool io_addr_equal(const io_addr *a, const io_addr *b)
{
    int fa = io_addr_family(a);
    if (fa != io_addr_family(b))
        return false;
    if (fa == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
        const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (fa == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return fa == AF_UNSPEC;
}

static int fail(io_udp *u, int err)
{
    u->last_errno = errno;
    if (u->fd >= 0)
        close(u->fd);
    u->fd = -1;
    return err;
}

/* Ask for big buffers: a QUIC flight of 64 datagrams must not overflow them.
 * The *FORCE variants pass rmem_max when privileged; failures are not fatal. */
static void set_buffer(int fd, int opt, int force_opt, int bytes, int *out)
{
    if (setsockopt(fd, SOL_SOCKET, force_opt, &bytes, sizeof(bytes)) < 0)
        (void)setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof(bytes));
    socklen_t sl = sizeof(*out);
    if (getsockopt(fd, SOL_SOCKET, opt, out, &sl) < 0)
        *out = 0;
}

int io_udp_open(io_udp *u, const char *text, const io_udp_config *cfg)
{
    io_addr a;
    if (u == NULL)
        return IO_ERR_ARG;
    u->fd = -1;
    int rc = io_addr_parse(&a, text);
    if (rc < 0)
        return rc;
    return io_udp_open_addr(u, &a, cfg);
}

int io_udp_open_addr(io_udp *u, const io_addr *addr, const io_udp_config *cfg)
{
    static const io_udp_config defaults = {0};
    const int one = 1;
    if (u == NULL || addr == NULL)
        return IO_ERR_ARG;
    if (cfg == NULL)
        cfg = &defaults;
    memset(u, 0, sizeof(*u));
    u->fd = -1;
    int family = io_addr_family(addr);
    if (family != AF_INET && family != AF_INET6)
        return IO_ERR_ADDR;
    u->family = family;
    u->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
    if (u->fd < 0)
        return fail(u, IO_ERR_SOCKET);

    set_buffer(u->fd, SO_RCVBUF, SO_RCVBUFFORCE, cfg->rcvbuf > 0 ? cfg->rcvbuf : 4 << 20,
               &u->rcvbuf);
    set_buffer(u->fd, SO_SNDBUF, SO_SNDBUFFORCE, cfg->sndbuf > 0 ? cfg->sndbuf : 4 << 20,
               &u->sndbuf);
    if (cfg->reuseport && setsockopt(u->fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
        return fail(u, IO_ERR_SOCKET);

    if (family == AF_INET6) {
        int v6only = cfg->v6only ? 1 : 0;
        if (setsockopt(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0 ||
            setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one)) < 0 ||
            setsockopt(u->fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one)) < 0)
            return fail(u, IO_ERR_SOCKET);
        /* IPv4 packets on a dual-stack socket carry IPv4 control messages. */
        if (!cfg->v6only) {
            (void)setsockopt(u->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
            (void)setsockopt(u->fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one));
        }
    } else {
        if (setsockopt(u->fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) < 0 ||
            setsockopt(u->fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)) < 0)
            return fail(u, IO_ERR_SOCKET);
    }
    /* RFC 9000 §14: set DF. QUIC finds the path MTU itself (§14.3), so the
     * kernel must neither fragment nor refuse probes over a cached path MTU. */
#ifdef IP_PMTUDISC_PROBE
    {
        int v = IP_PMTUDISC_PROBE;
        if (family == AF_INET)
            (void)setsockopt(u->fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v));
    }
#endif
#ifdef IPV6_PMTUDISC_PROBE
    {
        int v = IPV6_PMTUDISC_PROBE;
        if (family == AF_INET6)
            (void)setsockopt(u->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, sizeof(v));
    }
#endif

    /* Runtime GSO probe: setting the per-socket default segment size to 0
     * changes nothing but fails with ENOPROTOOPT on kernels before 4.18. */
    int zero = 0;
    u->gso_supported = setsockopt(u->fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0;
    u->gso_enabled = u->gso_supported && !cfg->disable_gso;
    u->capture = cfg->capture;

    if (bind(u->fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
        return fail(u, IO_ERR_BIND);
    u->local.len = sizeof(u->local.ss);
    if (getsockname(u->fd, (struct sockaddr *)&u->local.ss, &u->local.len) < 0)
        return fail(u, IO_ERR_SOCKET);
    return IO_OK;
}

void io_udp_close(io_udp *u)
{
    if (u != NULL && u->fd >= 0) {
        close(u->fd);
        u->fd = -1;
    }
}

bool io_udp_set_gso(io_udp *u, bool on)
{
    u->gso_enabled = on && u->gso_supported;
    return u->gso_enabled;
}

#ifndef UDP_GRO
#define UDP_GRO 104 /* linux/udp.h, Linux 5.0 */
#endif

bool io_udp_set_gro(io_udp *u, bool on)
{
    int v = on ? 1 : 0;
    if (u == NULL || u->fd < 0)
        return false;
    if (setsockopt(u->fd, SOL_UDP, UDP_GRO, &v, sizeof(v)) == 0)
        u->gro_enabled = on;
    else
        u->gro_enabled = false;
    return u->gro_enabled;
}

/* The packet's destination address as our local address, with the socket's port. */
static void set_local(io_udp *u, io_addr *local, int family, const void *addr)
{
    memset(local, 0, sizeof(*local));
    uint16_t port = htons(io_addr_port(&u->local));
    if (family == AF_INET && u->family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&local->ss;
        s4->sin_family = AF_INET;
        s4->sin_port = port;
        memcpy(&s4->sin_addr, addr, sizeof(s4->sin_addr));
        local->len = sizeof(*s4);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&local->ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = port;
        if (family == AF_INET) { /* IPv4 on a dual-stack socket: map it */
            s6->sin6_addr.s6_addr[10] = 0xff;
            s6->sin6_addr.s6_addr[11] = 0xff;
            memcpy(&s6->sin6_addr.s6_addr[12], addr, 4);
        } else {
            memcpy(&s6->sin6_addr, addr, sizeof(s6->sin6_addr));
        }
        local->len = sizeof(*s6);
    }
}

/* RFC 9000 §13.4: QUIC counts the ECN marks of received packets. */
static void parse_cmsgs(io_udp *u, struct msghdr *mh, io_datagram *d)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            struct in_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            set_local(u, &d->local, AF_INET, &pi.ipi_addr);
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            struct in6_pktinfo pi;
            memcpy(&pi, CMSG_DATA(c), sizeof(pi));
            set_local(u, &d->local, AF_INET6, &pi.ipi6_addr);
            if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr))
                ((struct sockaddr_in6 *)&d->local.ss)->sin6_scope_id = pi.ipi6_ifindex;
        } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) {
            d->ecn = *(const uint8_t *)CMSG_DATA(c) & 3;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS) {
            int tc;
            memcpy(&tc, CMSG_DATA(c), sizeof(tc));
            d->ecn = (uint8_t)(tc & 3);
        } else if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
            int seg;
            memcpy(&seg, CMSG_DATA(c), sizeof(seg));
            if (seg > 0 && (size_t)seg < d->len && seg <= UINT16_MAX)
                d->segment_size = (uint16_t)seg;
        }
    }
}

int io_udp_recv(io_udp *u, io_datagram *d, size_t n)
{
    struct mmsghdr mm[IO_MMSG_CHUNK];
    struct iovec iov[IO_MMSG_CHUNK];
    cmsg_buf cbuf[IO_MMSG_CHUNK];
    if (u == NULL || u->fd < 0 || (d == NULL && n > 0))
        return IO_ERR_ARG;
    size_t total = 0;
    while (total < n) {
        size_t k = n - total < IO_MMSG_CHUNK ? n - total : IO_MMSG_CHUNK;
        for (size_t i = 0; i < k; i++) {
            io_datagram *x = &d[total + i];
            iov[i].iov_base = x->data;
            iov[i].iov_len = x->cap;
            memset(&mm[i], 0, sizeof(mm[i]));
            mm[i].msg_hdr.msg_name = &x->peer.ss;
            mm[i].msg_hdr.msg_namelen = sizeof(x->peer.ss);
            mm[i].msg_hdr.msg_iov = &iov[i];
            mm[i].msg_hdr.msg_iovlen = 1;
            mm[i].msg_hdr.msg_control = cbuf[i].buf;
            mm[i].msg_hdr.msg_controllen = sizeof(cbuf[i].buf);
        }
        int r;
        do {
            r = recvmmsg(u->fd, mm, (unsigned)k, MSG_DONTWAIT, NULL);
        } while (r < 0 && errno == EINTR);
        if (r < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            u->last_errno = errno;
            return total > 0 ? (int)total : IO_ERR_RECV;
        }
        for (int i = 0; i < r; i++) {
            io_datagram *x = &d[total + (size_t)i];
            x->peer.len = mm[i].msg_hdr.msg_namelen;
            x->len = mm[i].msg_len;
            x->truncated = (mm[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
            x->ecn = 0;
            x->segment_size = 0;
            x->local = u->local;
            parse_cmsgs(u, &mm[i].msg_hdr, x);
            u->rx_datagrams +=
                x->segment_size ? (x->len + x->segment_size - 1) / x->segment_size : 1;
            /* A GRO buffer is captured as the datagrams it holds. */
            for (size_t off = 0; u->capture != NULL && !x->truncated && off < x->len;) {
                size_t seg = x->segment_size ? x->segment_size : x->len;
                size_t n = x->len - off < seg ? x->len - off : seg;
                io_pcap_datagram(u->capture, false, &x->local, &x->peer, x->data + off, n);
                off += n;
            }
        }
        total += (size_t)r;
        if ((size_t)r < k)
            break;
    }
    return (int)total;
}

/* Does this peer travel over IPv4 (plain or mapped into a dual-stack socket)? */
static bool peer_is_v4(const io_addr *peer)
{
    if (io_addr_family(peer) == AF_INET)
        return true;
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&peer->ss;
    return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr);
}

/* Fill the control messages of one outgoing message (source address, ECN
 * codepoint per RFC 9000 §13.4, GSO segment size); returns their length. */
static size_t build_cmsgs(io_udp *u, const io_datagram *d, uint16_t gso, uint8_t *buf)
{
    struct msghdr mh;
    memset(&mh, 0, sizeof(mh));
    mh.msg_control = buf;
    mh.msg_controllen = IO_CMSG_SPACE;
    memset(buf, 0, IO_CMSG_SPACE);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    size_t used = 0;
    if (io_addr_family(&d->local) == AF_INET && u->family == AF_INET) {
        struct in_pktinfo pi;
        memset(&pi, 0, sizeof(pi));
        pi.ipi_spec_dst = ((const struct sockaddr_in *)&d->local.ss)->sin_addr;
        c->cmsg_level = IPPROTO_IP;
        c->cmsg_type = IP_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        used += CMSG_SPACE(sizeof(pi));
        c = (struct cmsghdr *)(buf + used);
    } else if (io_addr_family(&d->local) == AF_INET6 && u->family == AF_INET6) {
        struct in6_pktinfo pi;
        memset(&pi, 0, sizeof(pi));
        pi.ipi6_addr = ((const struct sockaddr_in6 *)&d->local.ss)->sin6_addr;
        pi.ipi6_ifindex = ((const struct sockaddr_in6 *)&d->local.ss)->sin6_scope_id;
        c->cmsg_level = IPPROTO_IPV6;
        c->cmsg_type = IPV6_PKTINFO;
        c->cmsg_len = CMSG_LEN(sizeof(pi));
        memcpy(CMSG_DATA(c), &pi, sizeof(pi));
        used += CMSG_SPACE(sizeof(pi));
        c = (struct cmsghdr *)(buf + used);
    }
    if (d->ecn != 0) {
        int tos = d->ecn & 3;
        if (peer_is_v4(&d->peer)) {
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_TOS;
        } else {
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_TCLASS;
        }
        c->cmsg_len = CMSG_LEN(sizeof(tos));
        memcpy(CMSG_DATA(c), &tos, sizeof(tos));
        used += CMSG_SPACE(sizeof(tos));
        c = (struct cmsghdr *)(buf + used);
    }
    if (gso != 0) {
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(gso));
        memcpy(CMSG_DATA(c), &gso, sizeof(gso));
        used += CMSG_SPACE(sizeof(gso));
    }
    return used;
}

/* How many wire datagrams an entry becomes; 0 when it is invalid. */
static size_t segments_of(const io_datagram *d)
{
    if (d->segment_size == 0 || d->segment_size >= d->len)
        return 1;
    return (d->len + d->segment_size - 1) / d->segment_size;
}

static int check_entry(const io_datagram *d)
{
    if (d->data == NULL && d->len > 0)
        return IO_ERR_ARG;
    if (io_addr_family(&d->peer) != AF_INET && io_addr_family(&d->peer) != AF_INET6)
        return IO_ERR_ADDR;
    if (d->len > IO_UDP_MAX_PAYLOAD)
        return IO_ERR_MSGSIZE;
    if (segments_of(d) > IO_GSO_MAX_SEGMENTS)
        return IO_ERR_ARG;
    return IO_OK;
}

int io_udp_send(io_udp *u, const io_datagram *d, size_t n)
{
    struct mmsghdr mm[IO_MMSG_CHUNK];
    struct iovec iov[IO_MMSG_CHUNK];
    size_t owner[IO_MMSG_CHUNK]; /* entry of d each message belongs to */
    bool by_gso[IO_MMSG_CHUNK];  /* message is a whole train segmented by the kernel */
    cmsg_buf cbuf[IO_MMSG_CHUNK];
    if (u == NULL || u->fd < 0 || (d == NULL && n > 0))
        return IO_ERR_ARG;
    size_t done = 0;
    while (done < n) {
        /* Pack whole entries into one sendmmsg call. */
        size_t k = 0, next = done;
        while (next < n) {
            int rc = check_entry(&d[next]);
            if (rc < 0) {
                if (k == 0)
                    return done > 0 ? (int)done : rc;
                break;
            }
            const io_datagram *x = &d[next];
            bool gso = u->gso_enabled && segments_of(x) > 1;
            size_t segs = gso ? 1 : segments_of(x);
            if (k + segs > IO_MMSG_CHUNK)
                break;
            for (size_t s = 0; s < segs; s++) {
                size_t off = segs > 1 ? s * x->segment_size : 0;
                size_t len = segs > 1 ? x->segment_size : x->len;
                if (off + len > x->len)
                    len = x->len - off;
                iov[k].iov_base = x->data + off;
                iov[k].iov_len = len;
                memset(&mm[k], 0, sizeof(mm[k]));
                mm[k].msg_hdr.msg_name = (void *)&x->peer.ss;
                mm[k].msg_hdr.msg_namelen = x->peer.len;
                mm[k].msg_hdr.msg_iov = &iov[k];
                mm[k].msg_hdr.msg_iovlen = 1;
                size_t cl = build_cmsgs(u, x, gso ? x->segment_size : 0, cbuf[k].buf);
                mm[k].msg_hdr.msg_control = cl > 0 ? cbuf[k].buf : NULL;
                mm[k].msg_hdr.msg_controllen = cl;
                owner[k] = next;
                by_gso[k] = gso;
                k++;
            }
            next++;
        }
        int r;
        do {
            r = sendmmsg(u->fd, mm, (unsigned)k, MSG_DONTWAIT);
        } while (r < 0 && errno == EINTR);
        if (r < 0) {
            int e = errno;
            u->last_errno = e;
            if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)
                return (int)done;
            /* EIO: the route cannot checksum-offload GSO; split from now on. */
            if (e == EIO && u->gso_enabled && segments_of(&d[done]) > 1) {
                u->gso_enabled = false;
                continue;
            }
            if (done > 0)
                return (int)done;
            return e == EMSGSIZE ? IO_ERR_MSGSIZE : IO_ERR_SEND;
        }
        /* An entry counts as sent once its first message went: if a split train
         * is cut by a full buffer its tail is lost, like any UDP loss. */
        size_t sent_entries = done;
        for (int i = 0; i < r; i++) {
            sent_entries = owner[i] + 1;
            if (u->capture != NULL) {
                /* Each datagram on the wire: a kernel-segmented train as its segments. */
                const io_datagram *x = &d[owner[i]];
                const io_addr *src = io_addr_family(&x->local) != AF_UNSPEC ? &x->local : &u->local;
                size_t seg = by_gso[i] ? x->segment_size : iov[i].iov_len;
                const uint8_t *base = iov[i].iov_base;
                size_t total = iov[i].iov_len;
                for (size_t off = 0; off < total; off += seg)
                    io_pcap_datagram(u->capture, true, src, &x->peer, base + off,
                                     total - off < seg ? total - off : seg);
            }
            if (by_gso[i]) {
                u->tx_gso_calls++;
                u->tx_datagrams += segments_of(&d[owner[i]]);
            } else {
                u->tx_datagrams++;
                if (segments_of(&d[owner[i]]) > 1 && (i == 0 || owner[i - 1] != owner[i]))
                    u->tx_split_calls++;
            }
        }
        /* When r < k the next round learns why the kernel stopped. */
        done = sent_entries;
    }
    return (int)done;
}

/* IPv4 20 or IPv6 40 bytes, and UDP 8. */
static size_t payload_of(int family, int mtu)
{
    size_t hdr = family == AF_INET6 ? 48 : 28;
    return mtu > 0 && (size_t)mtu > hdr ? (size_t)mtu - hdr : 0;
}

size_t io_udp_path_payload(const io_addr *peer)
{
    int family = io_addr_family(peer);
    if (family != AF_INET && family != AF_INET6)
        return 0;
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int mtu = 0;
    socklen_t len = sizeof(mtu);
    if (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) != 0 ||
        getsockopt(fd, family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP,
                   family == AF_INET6 ? IPV6_MTU : IP_MTU, &mtu, &len) != 0)
        mtu = 0;
    close(fd);
    return payload_of(family, mtu);
}

static bool same_ip(const struct sockaddr *a, const io_addr *b)
{
    if (a == NULL || a->sa_family != io_addr_family(b))
        return false;
    if (a->sa_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)&b->ss)->sin_addr.s_addr;
    return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                  &((const struct sockaddr_in6 *)&b->ss)->sin6_addr, 16) == 0;
}

size_t io_udp_local_payload(const io_addr *local)
{
    int family = io_addr_family(local);
    if (family != AF_INET && family != AF_INET6)
        return 0;
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) != 0)
        return 0;
    int mtu = 0;
    for (struct ifaddrs *i = ifs; i != NULL && mtu == 0; i = i->ifa_next) {
        if (!same_ip(i->ifa_addr, local))
            continue;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq r;
        memset(&r, 0, sizeof(r));
        snprintf(r.ifr_name, sizeof(r.ifr_name), "%s", i->ifa_name);
        if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &r) == 0)
            mtu = r.ifr_mtu;
        if (fd >= 0)
            close(fd);
    }
    freeifaddrs(ifs);
    return payload_of(family, mtu);
}
