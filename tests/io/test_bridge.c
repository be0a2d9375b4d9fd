/* Tests for io/bridge.c and io_url_split: GSO train building, batched sends, addresses, URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "io/bridge.h"
#include "io/connect.h"

static quic_addr v4(uint8_t last, uint16_t port)
{
    quic_addr a;
    memset(&a, 0, sizeof(a));
    a.family = 4;
    a.ip[0] = 127;
    a.ip[3] = last;
    a.port = port;
    return a;
}

/* Queue one datagram of len bytes filled with tag. */
static void put(io_tx *tx, size_t len, const quic_addr *to, uint8_t tag)
{
    uint8_t *p = io_tx_reserve(tx);
    assert_non_null(p);
    memset(p, tag, len);
    io_tx_commit(tx, len, to);
}

/* RFC 9000 §13.4: each datagram keeps the core's codepoint; a GSO train has one. */
static void test_ecn_trains(void **state)
{
    (void)state;
    io_tx *tx = malloc(sizeof(*tx));
    assert_non_null(tx);
    io_tx_init(tx, NULL);
    quic_addr a = v4(1, 4433);
    for (int i = 0; i < 2; i++) {
        assert_non_null(io_tx_reserve(tx));
        io_tx_commit_ecn(tx, 1200, &a, IO_ECN_ECT0);
    }
    assert_int_equal(tx->n, 1);
    assert_int_equal(tx->d[0].ecn, IO_ECN_ECT0);
    assert_int_equal(tx->d[0].segment_size, 1200);
    /* Same size and peer, another codepoint: a new entry. */
    assert_non_null(io_tx_reserve(tx));
    io_tx_commit_ecn(tx, 1200, &a, IO_ECN_NOT_ECT);
    assert_int_equal(tx->n, 2);
    assert_int_equal(tx->d[1].ecn, IO_ECN_NOT_ECT);
    put(tx, 1200, &a, 0); /* io_tx_commit: Not-ECT, joins it */
    assert_int_equal(tx->n, 2);
    assert_non_null(io_tx_reserve(tx));
    io_tx_commit_ecn(tx, 1200, &a, IO_ECN_ECT0 | 0xfc); /* only the low two bits count */
    assert_int_equal(tx->n, 3);
    assert_int_equal(tx->d[2].ecn, IO_ECN_ECT0);
    free(tx);
}

static void test_gso_trains(void **state)
{
    (void)state;
    io_tx *tx = malloc(sizeof(*tx));
    assert_non_null(tx);
    io_tx_init(tx, NULL);
    quic_addr a = v4(1, 4433), b = v4(2, 4433);
    /* Equal sizes to one peer join; a shorter one ends the train. */
    put(tx, 1200, &a, 1);
    put(tx, 1200, &a, 2);
    put(tx, 1200, &a, 3);
    put(tx, 500, &a, 4);
    assert_int_equal(tx->n, 1);
    assert_int_equal(tx->d[0].len, 4100);
    assert_int_equal(tx->d[0].segment_size, 1200);
    assert_int_equal(tx->d[0].data[3600], 4);
    /* After a short tail, even an equal size starts a new entry. */
    put(tx, 1200, &a, 5);
    assert_int_equal(tx->n, 2);
    /* Longer than the train's segments: new entry. */
    put(tx, 1300, &a, 6);
    assert_int_equal(tx->n, 3);
    assert_int_equal(tx->d[2].segment_size, 0);
    /* Another peer: new entry. */
    put(tx, 1300, &b, 7);
    assert_int_equal(tx->n, 4);
    assert_int_equal(tx->dgrams, 7);
    assert_true(io_tx_pending(tx));

    /* A train holds at most IO_GSO_MAX_SEGMENTS segments. */
    io_tx_init(tx, NULL);
    for (int i = 0; i < IO_GSO_MAX_SEGMENTS + 1; i++)
        put(tx, 1000, &a, (uint8_t)i);
    assert_int_equal(tx->n, 2);
    assert_int_equal(tx->d[0].len, 1000 * IO_GSO_MAX_SEGMENTS);
    assert_int_equal(tx->d[1].len, 1000);

    /* Full: IO_TX_ENTRIES entries (alternating peers never join). */
    io_tx_init(tx, NULL);
    for (int i = 0; i < IO_TX_ENTRIES; i++)
        put(tx, 100, i % 2 ? &a : &b, 0);
    assert_null(io_tx_reserve(tx));
    /* Full: IO_TX_DGRAMS datagrams even when they join into few entries. */
    io_tx_init(tx, NULL);
    for (int i = 0; i < IO_TX_DGRAMS; i++)
        put(tx, 1452, &a, 0);
    assert_null(io_tx_reserve(tx));
    /* Trains stop short of the largest UDP payload (45 segments of 1452). */
    size_t per = IO_UDP_MAX_PAYLOAD / 1452;
    assert_int_equal(tx->n, (IO_TX_DGRAMS + per - 1) / per);
    assert_int_equal(tx->d[0].len, per * 1452);
    free(tx);
}

/* A train and a single datagram arrive as separate datagrams with their bytes. */
static void test_flush_loopback(void **state)
{
    (void)state;
    io_udp rx, txs;
    assert_int_equal(io_udp_open(&rx, "127.0.0.1:0", NULL), IO_OK);
    assert_int_equal(io_udp_open(&txs, "127.0.0.1:0", NULL), IO_OK);
    quic_addr to;
    io_addr_to_quic(&rx.local, &to);
    io_tx *tx = malloc(sizeof(*tx));
    assert_non_null(tx);
    io_tx_init(tx, &txs);
    put(tx, 1200, &to, 0xa1);
    put(tx, 1200, &to, 0xa2);
    put(tx, 300, &to, 0xa3);
    put(tx, 1400, &to, 0xa4);
    assert_int_equal(tx->n, 2);
    assert_int_equal(io_tx_flush(tx), 0);
    assert_false(io_tx_pending(tx));
    assert_int_equal(tx->n, 0);

    static uint8_t bufs[8][2048];
    io_datagram d[8];
    memset(d, 0, sizeof(d));
    for (int i = 0; i < 8; i++) {
        d[i].data = bufs[i];
        d[i].cap = sizeof(bufs[i]);
    }
    size_t got = 0;
    for (int tries = 0; tries < 1000 && got < 4; tries++) {
        int n = io_udp_recv(&rx, d + got, 8 - got);
        assert_true(n >= 0);
        got += (size_t)n;
    }
    assert_int_equal(got, 4);
    const size_t lens[4] = {1200, 1200, 300, 1400};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(d[i].len, lens[i]);
        assert_int_equal(d[i].data[0], 0xa1 + i);
        assert_int_equal(d[i].data[lens[i] - 1], 0xa1 + i);
        assert_int_equal(io_addr_port(&d[i].peer), io_addr_port(&txs.local));
    }
    free(tx);
    io_udp_close(&rx);
    io_udp_close(&txs);
}

static void test_addresses(void **state)
{
    (void)state;
    io_addr ia, back;
    quic_addr qa;
    assert_int_equal(io_addr_parse(&ia, "192.0.2.7:4433"), IO_OK);
    io_addr_to_quic(&ia, &qa);
    assert_int_equal(qa.family, 4);
    assert_int_equal(qa.port, 4433);
    assert_memory_equal(qa.ip, "\xc0\x00\x02\x07", 4);
    io_addr_from_quic(&qa, &back);
    assert_true(io_addr_equal(&ia, &back));

    assert_int_equal(io_addr_parse(&ia, "[2001:db8::1]:443"), IO_OK);
    io_addr_to_quic(&ia, &qa);
    assert_int_equal(qa.family, 6);
    assert_int_equal(qa.port, 443);
    assert_int_equal(qa.ip[0], 0x20);
    assert_int_equal(qa.ip[15], 1);
    io_addr_from_quic(&qa, &back);
    assert_true(io_addr_equal(&ia, &back));

    quic_addr x = v4(1, 1), y = v4(1, 1);
    assert_true(io_quic_addr_equal(&x, &y));
    y.port = 2;
    assert_false(io_quic_addr_equal(&x, &y));
    y = v4(2, 1);
    assert_false(io_quic_addr_equal(&x, &y));
}

static void url_ok(const char *url, const char *host, const char *port, const char *path)
{
    char h[64], p[8];
    const char *pa = NULL;
    assert_true(io_url_split(url, h, sizeof(h), p, sizeof(p), &pa));
    assert_string_equal(h, host);
    assert_string_equal(p, port);
    assert_string_equal(pa, path);
}

static void test_urls(void **state)
{
    (void)state;
    url_ok("https://127.0.0.1:4433/a/b.bin", "127.0.0.1", "4433", "/a/b.bin");
    url_ok("https://[::1]:443/x", "::1", "443", "/x");
    url_ok("https://[::1]/x", "::1", "443", "/x");
    url_ok("https://localhost", "localhost", "443", "/");
    url_ok("https://example.test:65535/", "example.test", "65535", "/");
    const char *bad[] = {"http://127.0.0.1/x", "https://",       "https:///x",
                         "https://h:/x",       "https://h:0/x",  "https://h:65536/x",
                         "https://h:12a/x",    "https://[::1/x", "https://[::1]x/y",
                         "https://h:123456/x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char h[64], p[8];
        const char *pa = NULL;
        assert_false(io_url_split(bad[i], h, sizeof(h), p, sizeof(p), &pa));
    }
    /* A host longer than the caller's buffer is refused, not cut. */
    char small[4], p[8];
    const char *pa;
    assert_false(io_url_split("https://abcd:1/", small, sizeof(small), p, sizeof(p), &pa));
}

/* An empty queue flushes at once and keeps its room. (A server's datagrams
 * going to the socket of their family is checked end to end in test_serve.c.) */
static void test_empty_queue_flush(void **state)
{
    (void)state;
    io_udp s;
    assert_int_equal(io_udp_open(&s, "127.0.0.1:0", NULL), IO_OK);
    io_tx *tx = malloc(sizeof(*tx));
    assert_non_null(tx);
    io_tx_init(tx, &s);
    assert_false(io_tx_pending(tx));
    assert_int_equal(io_tx_flush(tx), 0);
    assert_non_null(io_tx_reserve(tx));
    free(tx);
    io_udp_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gso_trains),        cmocka_unit_test(test_flush_loopback),
        cmocka_unit_test(test_ecn_trains),
        cmocka_unit_test(test_addresses),         cmocka_unit_test(test_urls),
        cmocka_unit_test(test_empty_queue_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
