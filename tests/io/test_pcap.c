/* Tests for io/pcap.c: the pcapng file, block by block (draft-ietf-opsawg-pcapng-06): Section
 * Header, Interface Description (LINKTYPE_RAW), one Decryption Secrets Block with the key-log
 * lines before the packets, Enhanced Packet Blocks with IPv4/IPv6 + UDP headers and checksums. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "io/pcap.h"
#include "io/udp.h"

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The one's-complement sum over a pseudo-header and the UDP header + payload must be 0xffff. */
static uint16_t csum(const uint8_t *p, size_t n, uint32_t acc)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)be16(p + i);
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

static void test_file(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof(path), "%s/io-pcap-test.pcapng", QUINCE_BUILD_ROOT);
    io_pcap *p = NULL;
    assert_int_equal(io_pcap_open(&p, path), IO_OK);
    io_addr l4, r4, l6, r6;
    assert_int_equal(io_addr_parse(&l4, "127.0.0.1:4433"), IO_OK);
    assert_int_equal(io_addr_parse(&r4, "127.0.0.2:5555"), IO_OK);
    assert_int_equal(io_addr_parse(&l6, "[::1]:4433"), IO_OK);
    assert_int_equal(io_addr_parse(&r6, "[::1]:6666"), IO_OK);
    uint8_t d1[1200], d2[33];
    for (size_t i = 0; i < sizeof(d1); i++)
        d1[i] = (uint8_t)(i * 7);
    memset(d2, 0xab, sizeof(d2));
    io_pcap_datagram(p, true, &l4, &r4, d1, sizeof(d1));
    io_pcap_keylog(p, "CLIENT_HANDSHAKE_TRAFFIC_SECRET 00 11");
    io_pcap_datagram(p, false, &l6, &r6, d2, sizeof(d2));
    io_pcap_keylog(p, "SERVER_TRAFFIC_SECRET_0 22 33");
    assert_int_equal(io_pcap_count(p), 2);
    assert_int_equal(io_pcap_close(p), IO_OK);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600); /* it holds secrets */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    unlink(path);

    uint32_t types[8] = {0};
    size_t nb = 0, off = 0;
    const uint8_t *dsb = NULL, *epb[2] = {NULL, NULL};
    size_t nepb = 0;
    while (off + 12 <= n && nb < 8) {
        uint32_t type = get32(buf + off), len = get32(buf + off + 4);
        assert_true(len % 4 == 0 && off + len <= n);
        assert_int_equal(get32(buf + off + len - 4), len); /* trailing length */
        types[nb++] = type;
        if (type == 0x0000000Au)
            dsb = buf + off;
        if (type == 6 && nepb < 2)
            epb[nepb++] = buf + off;
        off += len;
    }
    assert_int_equal(off, n);
    assert_int_equal(nb, 5);
    assert_int_equal(types[0], 0x0A0D0D0Au);
    assert_int_equal(get32(buf + 8), 0x1A2B3C4Du);
    assert_int_equal(types[1], 1);
    assert_int_equal(buf[get32(buf + 4) + 8], 101); /* LINKTYPE_RAW (little-endian host) */
    /* The secrets come before every packet. */
    assert_int_equal(types[2], 0x0000000Au);
    assert_int_equal(types[3], 6);
    assert_int_equal(types[4], 6);
    assert_int_equal(get32(dsb + 8), 0x544c534bu);
    const char *want = "CLIENT_HANDSHAKE_TRAFFIC_SECRET 00 11\nSERVER_TRAFFIC_SECRET_0 22 33\n";
    assert_int_equal(get32(dsb + 12), strlen(want));
    assert_memory_equal(dsb + 16, want, strlen(want));

    /* Sent over IPv4 from local to peer: IP header checksum and UDP checksum hold. */
    const uint8_t *ip = epb[0] + 28;
    assert_int_equal(get32(epb[0] + 20), 20 + 8 + sizeof(d1));
    assert_int_equal(ip[0], 0x45);
    assert_int_equal(ip[9], 17);
    assert_int_equal(csum(ip, 20, 0), 0xffff);
    assert_memory_equal(ip + 12, "\x7f\x00\x00\x01", 4);
    assert_memory_equal(ip + 16, "\x7f\x00\x00\x02", 4);
    const uint8_t *udp = ip + 20;
    assert_int_equal(be16(udp), 4433);
    assert_int_equal(be16(udp + 2), 5555);
    assert_int_equal(be16(udp + 4), 8 + sizeof(d1));
    uint32_t pseudo = csum(ip + 12, 8, 0) + 17 + 8 + sizeof(d1);
    assert_int_equal(csum(udp, 8 + sizeof(d1), pseudo), 0xffff);
    assert_memory_equal(udp + 8, d1, sizeof(d1));
    /* Received over IPv6 from peer to local. */
    ip = epb[1] + 28;
    assert_int_equal(ip[0] >> 4, 6);
    assert_int_equal(ip[6], 17);
    udp = ip + 40;
    assert_int_equal(be16(udp), 6666);
    assert_int_equal(be16(udp + 2), 4433);
    pseudo = csum(ip + 8, 32, 0) + 17 + 8 + sizeof(d2);
    assert_int_equal(csum(udp, 8 + sizeof(d2), pseudo), 0xffff);
    assert_memory_equal(udp + 8, d2, sizeof(d2));
}

static void test_unwritable(void **state)
{
    (void)state;
    io_pcap *p = NULL;
    assert_int_equal(io_pcap_open(&p, "/nonexistent-dir/x.pcapng"), IO_ERR_FILE);
    assert_null(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_unwritable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
