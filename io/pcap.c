/* pcapng (draft-ietf-opsawg-pcapng-06): Section Header, Interface Description, Decryption
 * Secrets and Enhanced Packet Blocks for the datagrams a process sends and receives. */
#include "io/pcap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_DSB 0x0000000Au
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define PCAPNG_SECRETS_TLS 0x544c534bu /* TLS Key Log, §4.7 */
#define LINKTYPE_RAW 101               /* the packet begins with an IPv4 or IPv6 header */

struct io_pcap {
    char *path;
    FILE *packets; /* Enhanced Packet Blocks, in order */
    char *secrets;
    size_t secrets_len, secrets_cap;
    uint64_t count;
    bool failed;
    /* The kernel's source address for the last peer asked about. */
    io_addr route_peer, route_src;
};

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* pcapng is written in the host's byte order (§4.1) */
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

/* Write one block: type, total length, body (padded to 32 bits), total length. */
static bool write_block(FILE *f, uint32_t type, const uint8_t *body, size_t len)
{
    static const uint8_t zero[4] = {0};
    size_t pad = (4 - len % 4) % 4;
    uint8_t h[8];
    uint32_t total = (uint32_t)(12 + len + pad);
    put32(h, type);
    put32(h + 4, total);
    return fwrite(h, 1, 8, f) == 8 && fwrite(body, 1, len, f) == len &&
           fwrite(zero, 1, pad, f) == pad && fwrite(&total, 1, 4, f) == 4;
}

int io_pcap_open(io_pcap **out, const char *path)
{
    *out = NULL;
    io_pcap *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return IO_ERR_NOMEM;
    p->path = strdup(path);
    /* Check now that the file can be created, so that the error comes at start. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || p->path == NULL) {
        int e = errno, rc = p->path == NULL ? IO_ERR_NOMEM : IO_ERR_FILE;
        if (fd >= 0)
            close(fd);
        free(p->path);
        free(p);
        errno = e;
        return rc;
    }
    close(fd);
    p->packets = tmpfile();
    if (p->packets == NULL) {
        free(p->path);
        free(p);
        return IO_ERR_FILE;
    }
    *out = p;
    return IO_OK;
}

void io_pcap_keylog(io_pcap *p, const char *line)
{
    if (p == NULL)
        return;
    size_t n = strlen(line);
    if (p->secrets_len + n + 1 > p->secrets_cap) {
        size_t cap = p->secrets_cap ? p->secrets_cap * 2 : 4096;
        while (cap < p->secrets_len + n + 1)
            cap *= 2;
        char *s = realloc(p->secrets, cap);
        if (s == NULL) {
            p->failed = true;
            return;
        }
        p->secrets = s;
        p->secrets_cap = cap;
    }
    memcpy(p->secrets + p->secrets_len, line, n);
    p->secrets[p->secrets_len + n] = '\n';
    p->secrets_len += n + 1;
}

/* An IPv4-mapped IPv6 address as the IPv4 address it is. */
static void normalise(const io_addr *in, io_addr *out)
{
    *out = *in;
    if (io_addr_family(in) != AF_INET6)
        return;
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&in->ss;
    if (!IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
        return;
    struct sockaddr_in s4;
    memset(&s4, 0, sizeof(s4));
    s4.sin_family = AF_INET;
    s4.sin_port = s6->sin6_port;
    memcpy(&s4.sin_addr, s6->sin6_addr.s6_addr + 12, 4);
    memset(out, 0, sizeof(*out));
    memcpy(&out->ss, &s4, sizeof(s4));
    out->len = sizeof(s4);
}

static bool unspecified(const io_addr *a)
{
    if (io_addr_family(a) == AF_INET)
        return ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == htonl(INADDR_ANY);
    if (io_addr_family(a) == AF_INET6)
        return IN6_IS_ADDR_UNSPECIFIED(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
    return true;
}

/* The source address the kernel picks for peer: a UDP connect() sends nothing. */
static void route_source(io_pcap *p, const io_addr *peer, io_addr *src)
{
    uint16_t port = io_addr_port(src);
    if (!io_addr_equal(&p->route_peer, peer)) {
        memset(&p->route_src, 0, sizeof(p->route_src));
        int fd = socket(io_addr_family(peer), SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd >= 0) {
            io_addr s;
            s.len = sizeof(s.ss);
            if (connect(fd, (const struct sockaddr *)&peer->ss, peer->len) == 0 &&
                getsockname(fd, (struct sockaddr *)&s.ss, &s.len) == 0)
                p->route_src = s;
            close(fd);
        }
        p->route_peer = *peer;
    }
    if (p->route_src.len == 0)
        return;
    *src = p->route_src;
    if (io_addr_family(src) == AF_INET)
        ((struct sockaddr_in *)&src->ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)&src->ss)->sin6_port = htons(port);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

/* IP + UDP headers for a datagram from src to dst (RFC 791, RFC 8200, RFC 768). */
static size_t ip_udp_header(const io_addr *src, const io_addr *dst, const uint8_t *data, size_t len,
                            uint8_t *h)
{
    size_t udp_len = 8 + len;
    uint8_t udp[8];
    uint16_t sport = io_addr_port(src), dport = io_addr_port(dst);
    udp[0] = (uint8_t)(sport >> 8);
    udp[1] = (uint8_t)sport;
    udp[2] = (uint8_t)(dport >> 8);
    udp[3] = (uint8_t)dport;
    udp[4] = (uint8_t)(udp_len >> 8);
    udp[5] = (uint8_t)udp_len;
    udp[6] = udp[7] = 0;
    uint32_t acc;
    size_t hl;
    if (io_addr_family(dst) == AF_INET) {
        const uint8_t *s = (const uint8_t *)&((const struct sockaddr_in *)&src->ss)->sin_addr;
        const uint8_t *d = (const uint8_t *)&((const struct sockaddr_in *)&dst->ss)->sin_addr;
        memset(h, 0, 20);
        h[0] = 0x45;
        h[2] = (uint8_t)((20 + udp_len) >> 8);
        h[3] = (uint8_t)(20 + udp_len);
        h[6] = 0x40; /* DF */
        h[8] = 64;
        h[9] = IPPROTO_UDP;
        memcpy(h + 12, s, 4);
        memcpy(h + 16, d, 4);
        uint16_t c = fold(sum16(h, 20, 0));
        h[10] = (uint8_t)(c >> 8);
        h[11] = (uint8_t)c;
        acc = sum16(s, 4, 0);
        acc = sum16(d, 4, acc);
        hl = 20;
    } else {
        const uint8_t *s = ((const struct sockaddr_in6 *)&src->ss)->sin6_addr.s6_addr;
        const uint8_t *d = ((const struct sockaddr_in6 *)&dst->ss)->sin6_addr.s6_addr;
        memset(h, 0, 40);
        h[0] = 0x60;
        h[4] = (uint8_t)(udp_len >> 8);
        h[5] = (uint8_t)udp_len;
        h[6] = IPPROTO_UDP;
        h[7] = 64;
        memcpy(h + 8, s, 16);
        memcpy(h + 24, d, 16);
        acc = sum16(s, 16, 0);
        acc = sum16(d, 16, acc);
        hl = 40;
    }
    acc += IPPROTO_UDP + (uint32_t)udp_len;
    acc = sum16(udp, 8, acc);
    acc = sum16(data, len, acc);
    uint16_t c = fold(acc);
    if (c == 0)
        c = 0xffff; /* RFC 768: an all-zero checksum is sent as all ones */
    udp[6] = (uint8_t)(c >> 8);
    udp[7] = (uint8_t)c;
    memcpy(h + hl, udp, 8);
    return hl + 8;
}

void io_pcap_datagram(io_pcap *p, bool sent, const io_addr *local, const io_addr *peer,
                      const uint8_t *data, size_t len)
{
    if (p == NULL || p->failed || len > IO_UDP_MAX_PAYLOAD)
        return;
    io_addr l, r;
    normalise(local, &l);
    normalise(peer, &r);
    if (io_addr_family(&l) != io_addr_family(&r) || unspecified(&l))
        route_source(p, &r, &l);
    if (io_addr_family(&l) != io_addr_family(&r))
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
    /* Enhanced Packet Block (§4.3), microsecond timestamps (the default if_tsresol). */
    uint8_t hdr[20 + 48];
    put32(hdr, 0); /* interface 0 */
    put32(hdr + 4, (uint32_t)(us >> 32));
    put32(hdr + 8, (uint32_t)us);
    size_t hl = sent ? ip_udp_header(&l, &r, data, len, hdr + 20)
                     : ip_udp_header(&r, &l, data, len, hdr + 20);
    put32(hdr + 12, (uint32_t)(hl + len));
    put32(hdr + 16, (uint32_t)(hl + len));
    static const uint8_t zero[4] = {0};
    size_t body = 20 + hl + len, pad = (4 - body % 4) % 4;
    uint32_t total = (uint32_t)(12 + body + pad);
    uint8_t bh[8];
    put32(bh, PCAPNG_EPB);
    put32(bh + 4, total);
    FILE *f = p->packets;
    if (fwrite(bh, 1, 8, f) != 8 || fwrite(hdr, 1, 20 + hl, f) != 20 + hl ||
        fwrite(data, 1, len, f) != len || fwrite(zero, 1, pad, f) != pad ||
        fwrite(&total, 1, 4, f) != 4)
        p->failed = true;
    p->count++;
}

uint64_t io_pcap_count(const io_pcap *p)
{
    return p != NULL ? p->count : 0;
}

int io_pcap_close(io_pcap *p)
{
    if (p == NULL)
        return IO_OK;
    int rc = IO_ERR_FILE;
    int fd = open(p->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f == NULL && fd >= 0)
        close(fd);
    if (f != NULL && !p->failed) {
        /* Section Header Block (§4.1): byte-order magic, version 1.0, length unknown. */
        uint8_t shb[16];
        put32(shb, PCAPNG_BYTE_ORDER_MAGIC);
        put16(shb + 4, 1);
        put16(shb + 6, 0);
        memset(shb + 8, 0xff, 8);
        /* Interface Description Block (§4.2): raw IP, no snap length. */
        uint8_t idb[8];
        put16(idb, LINKTYPE_RAW);
        put16(idb + 2, 0);
        put32(idb + 4, 0);
        bool ok = write_block(f, PCAPNG_SHB, shb, sizeof(shb)) &&
                  write_block(f, PCAPNG_IDB, idb, sizeof(idb));
        /* Decryption Secrets Block (§4.7) with every key-log line. */
        if (ok && p->secrets_len > 0) {
            uint8_t *dsb = malloc(8 + p->secrets_len);
            ok = dsb != NULL;
            if (ok) {
                put32(dsb, PCAPNG_SECRETS_TLS);
                put32(dsb + 4, (uint32_t)p->secrets_len);
                memcpy(dsb + 8, p->secrets, p->secrets_len);
                ok = write_block(f, PCAPNG_DSB, dsb, 8 + p->secrets_len);
                free(dsb);
            }
        }
        /* Then the packets. */
        rewind(p->packets);
        char buf[65536];
        size_t n;
        while (ok && (n = fread(buf, 1, sizeof(buf), p->packets)) > 0)
            ok = fwrite(buf, 1, n, f) == n;
        if (ok && !ferror(p->packets))
            rc = IO_OK;
    }
    if (f != NULL && fclose(f) != 0)
        rc = IO_ERR_FILE;
    fclose(p->packets);
    free(p->secrets);
    free(p->path);
    free(p);
    return rc;
}
