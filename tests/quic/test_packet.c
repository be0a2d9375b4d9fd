/* Tests for quic/packet.c (RFC 9000 §17, App. A.2/A.3; RFC 9001 App. A; RFC 9369 §3.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "quic/packet.h"
#include "base/varint.h"
#include "tests/common/test_env.h"

static const uint8_t a2_dcid[8] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
static const uint8_t a3_scid[8] = {0xf0, 0x67, 0xa5, 0x50, 0x2a, 0x42, 0x62, 0xb5};

/* RFC 9001 Appendix A.2: the client Initial's unprotected header. */
static void test_rfc9001_a2_header(void **state)
{
    (void)state;
    static uint8_t pkt[1200];
    size_t n = test_unhex("c300000001088394c8f03e5157080000449e00000002", pkt, sizeof(pkt));
    assert_int_equal(n, 22);
    quic_pkt_header h;
    /* Without the rest of the packet the Length field points past the end. */
    assert_int_equal(quic_pkt_parse_header(pkt, n, NULL, &h), QUIC_ERR_DROP);
    assert_int_equal(quic_pkt_parse_header(pkt, sizeof(pkt), NULL, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_INITIAL);
    assert_int_equal(h.version, QUIC_VERSION_1);
    assert_int_equal(h.dcid_len, 8);
    assert_memory_equal(h.dcid, a2_dcid, 8);
    assert_int_equal(h.scid_len, 0);
    assert_int_equal(h.token_len, 0);
    assert_int_equal(h.length, 1182);
    assert_int_equal(h.pn_offset, 18);
    assert_int_equal(h.packet_len, 1200);
    assert_int_equal(quic_pkt_pn_len(h.first), 4);
    assert_int_equal(quic_pkt_read_pn(pkt + h.pn_offset, 4), 2);
    assert_int_equal(quic_pkt_check_reserved_bits(h.first), QUIC_OK);
    assert_int_equal(quic_pkt_first_len(pkt, sizeof(pkt), NULL), 1200);

    /* Building the same header gives the same bytes. */
    static uint8_t out[1200];
    quince_writer w = quince_writer_init(out, sizeof(out));
    quic_pkt_builder b;
    assert_true(quic_pkt_build_long(&w, &b, QUIC_PKT_INITIAL, QUIC_VERSION_1, a2_dcid, 8, NULL, 0,
                                    NULL, 0, 2, 4));
    assert_true(quic_pkt_pad_to(&w, out, QUIC_MIN_INITIAL_DATAGRAM, 16));
    assert_true(quic_pkt_finish(&w, &b, 16));
    assert_int_equal(w.p - out, 1200 - 16);
    assert_memory_equal(out, pkt, 22);
}

/* RFC 9001 Appendix A.3: the server Initial, unprotected and protected. */
static void test_rfc9001_a3_header(void **state)
{
    (void)state;
    uint8_t pkt[256];
    size_t n = test_unhex("c1000000010008f067a5502a4262b50040750001", pkt, sizeof(pkt));
    memset(pkt + n, 0, sizeof(pkt) - n);
    quic_pkt_header h;
    assert_int_equal(quic_pkt_parse_header(pkt, sizeof(pkt), NULL, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_INITIAL);
    assert_int_equal(h.dcid_len, 0);
    assert_int_equal(h.scid_len, 8);
    assert_memory_equal(h.scid, a3_scid, 8);
    assert_int_equal(h.length, 0x75);
    assert_int_equal(h.pn_offset, 18);
    assert_int_equal(h.packet_len, 18 + 0x75);
    assert_int_equal(quic_pkt_pn_len(h.first), 2);
    assert_int_equal(quic_pkt_read_pn(pkt + 18, 2), 1);

    /* The protected packet as sent: the same fields up to the packet number. */
    n = test_unhex("cf000000010008f067a5502a4262b5004075c0d95a482cd0991cd25b0aac406a"
                   "5816b6394100f37a1c69797554780bb38cc5a99f5ede4cf73c3ec2493a1839b3"
                   "dbcba3f6ea46c5b7684df3548e7ddeb9c3bf9c73cc3f3bded74b562bfb19fb84"
                   "022f8ef4cdd93795d77d06edbb7aaf2f58891850abbdca3d20398c276456cbc4"
                   "2158407dd074ee",
                   pkt, sizeof(pkt));
    assert_int_equal(n, 135);
    assert_int_equal(quic_pkt_parse_header(pkt, n, NULL, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_INITIAL);
    assert_int_equal(h.packet_len, n);
    /* Every truncation of the header is dropped. */
    for (size_t cut = 0; cut < h.pn_offset + (size_t)h.length; cut++)
        assert_int_equal(quic_pkt_parse_header(pkt, cut, NULL, &h), QUIC_ERR_DROP);
}

/* RFC 9001 Appendix A.4: a Retry packet. */
static void test_retry(void **state)
{
    (void)state;
    uint8_t pkt[64];
    size_t n = test_unhex("ff000000010008f067a5502a4262b5746f6b656e04a265ba2eff4d829058fb3f"
                          "0f2496ba",
                          pkt, sizeof(pkt));
    quic_pkt_header h;
    assert_int_equal(quic_pkt_parse_header(pkt, n, NULL, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_RETRY);
    assert_int_equal(h.dcid_len, 0);
    assert_int_equal(h.scid_len, 8);
    assert_int_equal(h.token_len, 5);
    assert_memory_equal(h.token, "token", 5);
    assert_ptr_equal(h.retry_tag, pkt + n - 16);
    assert_int_equal(h.packet_len, n);
    assert_int_equal(quic_pkt_first_len(pkt, n, NULL), (int)n);

    uint8_t out[64];
    quince_writer w = quince_writer_init(out, sizeof(out));
    assert_true(quic_pkt_build_retry(&w, 0x0f, QUIC_VERSION_1, NULL, 0, a3_scid, 8,
                                     (const uint8_t *)"token", 5));
    assert_true(quince_put_bytes(&w, h.retry_tag, 16));
    assert_int_equal(w.p - out, n);
    assert_memory_equal(out, pkt, n);

    /* The pseudo-packet for the integrity tag (RFC 9001 §5.8). */
    uint8_t pseudo[64];
    w = quince_writer_init(pseudo, sizeof(pseudo));
    assert_true(quic_pkt_retry_pseudo(&w, a2_dcid, 8, pkt, n - 16));
    assert_int_equal(w.p - pseudo, 1 + 8 + n - 16);
    assert_int_equal(pseudo[0], 8);
    assert_memory_equal(pseudo + 9, pkt, n - 16);

    /* An empty token or a missing tag is dropped. */
    assert_int_equal(quic_pkt_parse_header(pkt, 15 + 16, NULL, &h), QUIC_ERR_DROP);
    assert_int_equal(quic_pkt_parse_header(pkt, 15 + 5, NULL, &h), QUIC_ERR_DROP);
    w = quince_writer_init(out, sizeof(out));
    assert_false(quic_pkt_build_retry(&w, 0, QUIC_VERSION_1, NULL, 0, a3_scid, 8, NULL, 0));

    /* Version 2 Retry uses type bits 0b00. */
    w = quince_writer_init(out, sizeof(out));
    assert_true(quic_pkt_build_retry(&w, 0, QUIC_VERSION_2, a2_dcid, 8, a3_scid, 8,
                                     (const uint8_t *)"tok", 3));
    assert_true(quince_put_bytes(&w, pkt + n - 16, 16));
    assert_int_equal(out[0] & 0x30, 0x00);
    assert_int_equal(quic_pkt_parse_header(out, (size_t)(w.p - out), NULL, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_RETRY);
    assert_int_equal(h.version, QUIC_VERSION_2);
    assert_int_equal(h.token_len, 3);
}

/* Long headers for both versions: type bits, build and parse. */
static void test_long_v1_v2(void **state)
{
    (void)state;
    const quic_pkt_type types[] = {QUIC_PKT_INITIAL, QUIC_PKT_0RTT, QUIC_PKT_HANDSHAKE};
    const uint8_t v1_bits[] = {0, 1, 2}, v2_bits[] = {1, 2, 3};
    const uint32_t versions[] = {QUIC_VERSION_1, QUIC_VERSION_2};
    for (int v = 0; v < 2; v++) {
        for (int t = 0; t < 3; t++) {
            uint8_t out[256];
            quince_writer w = quince_writer_init(out, sizeof(out));
            quic_pkt_builder b;
            const uint8_t *tok = types[t] == QUIC_PKT_INITIAL ? (const uint8_t *)"tk" : NULL;
            size_t tok_len = tok ? 2 : 0;
            assert_true(quic_pkt_build_long(&w, &b, types[t], versions[v], a2_dcid, 8, a3_scid, 8,
                                            tok, tok_len, 0x1234, 2));
            assert_true(quince_put_u8(&w, 0x01)); /* PING */
            assert_true(quic_pkt_finish(&w, &b, 16));
            size_t n = (size_t)(w.p - out) + 16; /* plus the tag the AEAD adds */
            memset(w.p, 0xee, 16);
            uint8_t bits = v == 0 ? v1_bits[t] : v2_bits[t];
            assert_int_equal(out[0], 0xc0 | (bits << 4) | 0x01);
            assert_int_equal(quic_pkt_long_type_bits(versions[v], types[t]), bits);
            quic_pkt_header h;
            assert_int_equal(quic_pkt_parse_header(out, n, NULL, &h), QUIC_OK);
            assert_int_equal(h.type, types[t]);
            assert_int_equal(h.version, versions[v]);
            assert_memory_equal(h.dcid, a2_dcid, 8);
            assert_memory_equal(h.scid, a3_scid, 8);
            assert_int_equal(h.token_len, tok_len);
            assert_int_equal(h.packet_len, n);
            /* pn 2 bytes + PING + padding so pn + payload >= 4 for the HP sample. */
            assert_int_equal(h.length, 4 + 16);
            assert_int_equal(quic_pkt_read_pn(out + h.pn_offset, 2), 0x1234);
        }
    }
    assert_int_equal(quic_pkt_long_type_bits(0x12345678, QUIC_PKT_INITIAL), -1);
    /* A token on a Handshake packet or a CID over 20 bytes cannot be built. */
    uint8_t out[64], cid21[21] = {0};
    quince_writer w = quince_writer_init(out, sizeof(out));
    quic_pkt_builder b;
    assert_false(quic_pkt_build_long(&w, &b, QUIC_PKT_HANDSHAKE, QUIC_VERSION_1, NULL, 0, NULL, 0,
                                     (const uint8_t *)"x", 1, 0, 1));
    w = quince_writer_init(out, sizeof(out));
    assert_false(quic_pkt_build_long(&w, &b, QUIC_PKT_HANDSHAKE, QUIC_VERSION_1, cid21, 21, NULL, 0,
                                     NULL, 0, 0, 1));
    /* A 4-byte Length field when the writer allows a big packet. */
    static uint8_t big[20000];
    w = quince_writer_init(big, sizeof(big));
    assert_true(quic_pkt_build_long(&w, &b, QUIC_PKT_HANDSHAKE, QUIC_VERSION_1, NULL, 0, NULL, 0,
                                    NULL, 0, 7, 1));
    assert_int_equal(b.length_len, 4);
    memset(quince_put_reserve(&w, 17000), 0x01, 17000);
    assert_true(quic_pkt_finish(&w, &b, 16));
    quic_pkt_header h;
    assert_int_equal(quic_pkt_parse_header(big, (size_t)(w.p - big) + 16, NULL, &h), QUIC_OK);
    assert_int_equal(h.length, 1 + 17000 + 16);
}

static void test_short_header(void **state)
{
    (void)state;
    uint8_t out[64];
    quince_writer w = quince_writer_init(out, sizeof(out));
    quic_pkt_builder b;
    assert_true(quic_pkt_build_short(&w, &b, a2_dcid, 8, 0xabcdef, 3, true, true));
    assert_true(quince_put_u8(&w, 0x01));
    assert_true(quic_pkt_finish(&w, &b, 16));
    /* 3-byte pn + PING (4 bytes): no padding needed. */
    assert_int_equal(w.p - out, 1 + 8 + 3 + 1);
    assert_int_equal(out[0], 0x40 | 0x20 | 0x04 | 0x02);
    quic_pkt_parse_opts opts = {8, false};
    quic_pkt_header h;
    assert_int_equal(quic_pkt_parse_header(out, (size_t)(w.p - out) + 16, &opts, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_1RTT);
    assert_memory_equal(h.dcid, a2_dcid, 8);
    assert_int_equal(h.pn_offset, 9);
    assert_int_equal(quic_pkt_read_pn(out + 9, 3), 0xabcdef);
    assert_int_equal(quic_pkt_check_reserved_bits(out[0]), QUIC_OK);
    assert_int_equal(quic_pkt_check_reserved_bits(out[0] | 0x08), QUIC_ERR_PROTOCOL_VIOLATION);
    assert_int_equal(quic_pkt_check_reserved_bits(0xc0 | 0x04), QUIC_ERR_PROTOCOL_VIOLATION);
    assert_int_equal(quic_pkt_check_reserved_bits(0xc0 | 0x30 | 0x03), QUIC_OK);

    /* Only the low pn_len bytes of the packet number are sent. */
    w = quince_writer_init(out, sizeof(out));
    assert_true(quic_pkt_build_short(&w, &b, NULL, 0, 0x123456789ull, 2, false, false));
    assert_int_equal(out[0], 0x41);
    assert_int_equal(quic_pkt_read_pn(out + 1, 2), 0x6789);
    assert_int_equal(quic_pn_decode(0x123456700ull, 0x6789, 16), 0x123456789ull);
    w = quince_writer_init(out, sizeof(out));
    assert_false(quic_pkt_build_short(&w, &b, NULL, 0, 0, 5, false, false));

    /* A 1-byte pn with a PING is padded to 4 bytes for the HP sample. */
    w = quince_writer_init(out, sizeof(out));
    assert_true(quic_pkt_build_short(&w, &b, NULL, 0, 0, 1, false, false));
    assert_true(quince_put_u8(&w, 0x01));
    assert_true(quic_pkt_finish(&w, &b, 16));
    const uint8_t want[] = {0x40, 0x00, 0x01, 0x00, 0x00};
    assert_int_equal(w.p - out, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    /* Truncated short header: the DCID is not all there. */
    assert_int_equal(quic_pkt_parse_header(out, 5, &opts, &h), QUIC_ERR_DROP);
}

/* RFC 9000 §17.2, §17.3.1, RFC 9287 §3: the fixed bit; CID lengths. */
static void test_fixed_bit_and_cid_limits(void **state)
{
    (void)state;
    uint8_t pkt[64] = {0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0xaa, 0xbb};
    quic_pkt_parse_opts opts = {8, false};
    quic_pkt_header h;
    assert_int_equal(quic_pkt_parse_header(pkt, 11, &opts, &h), QUIC_ERR_DROP);
    opts.allow_fixed_bit_zero = true;
    assert_int_equal(quic_pkt_parse_header(pkt, 11, &opts, &h), QUIC_OK);

    /* Long header v1 with fixed bit 0. */
    uint8_t lp[64] = {0x80 | 0x20, 0, 0, 0, 1, 0, 0, 1, 0};
    opts.allow_fixed_bit_zero = false;
    assert_int_equal(quic_pkt_parse_header(lp, 9, &opts, &h), QUIC_ERR_DROP);
    opts.allow_fixed_bit_zero = true;
    assert_int_equal(quic_pkt_parse_header(lp, 9, &opts, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_HANDSHAKE);

    /* A 21-byte DCID: dropped in v1, carried for an unknown version. */
    uint8_t u[64] = {0xc0, 0, 0, 0, 1, 21};
    memset(u + 6, 0x11, 21);
    u[27] = 0; /* SCID length */
    u[28] = 0; /* Length */
    assert_int_equal(quic_pkt_parse_header(u, 29, NULL, &h), QUIC_ERR_DROP);
    u[1] = 0x5a; /* version 0x5a000001 */
    assert_int_equal(quic_pkt_parse_header(u, 29, NULL, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_UNKNOWN_VERSION);
    assert_int_equal(h.version, 0x5a000001);
    assert_int_equal(h.dcid_len, 21);
    assert_int_equal(h.packet_len, 29);
}

static void test_version_negotiation(void **state)
{
    (void)state;
    uint8_t out[128];
    uint32_t grease = quic_version_grease(0x12345678);
    assert_int_equal(grease, 0x1a3a5a7a);
    assert_true(quic_version_is_grease(grease));
    assert_false(quic_version_is_grease(QUIC_VERSION_1));
    const uint32_t vs[] = {QUIC_VERSION_2, QUIC_VERSION_1, grease};
    quince_writer w = quince_writer_init(out, sizeof(out));
    assert_true(quic_pkt_build_vn(&w, 0x3f, a2_dcid, 8, a3_scid, 4, vs, 3));
    const uint8_t want[] = {0xff, 0,    0,    0,    0,    4,    0xf0, 0x67, 0xa5, 0x50, 8,
                            0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08, 0x6b, 0x33, 0x43,
                            0xcf, 0,    0,    0,    1,    0x1a, 0x3a, 0x5a, 0x7a};
    assert_int_equal(w.p - out, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    quic_pkt_header h;
    assert_int_equal(quic_pkt_parse_header(out, sizeof(want), NULL, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_VERSION_NEGOTIATION);
    assert_int_equal(h.dcid_len, 4);
    assert_int_equal(h.scid_len, 8);
    assert_int_equal(h.version_count, 3);
    assert_int_equal(quic_pkt_vn_version(&h, 0), QUIC_VERSION_2);
    assert_int_equal(quic_pkt_vn_version(&h, 2), grease);
    assert_int_equal(quic_pkt_vn_version(&h, 3), 0);
    assert_int_equal(quic_pkt_first_len(out, sizeof(want), NULL), (int)sizeof(want));
    /* A version list that is empty or not a multiple of 4 is dropped. */
    assert_int_equal(quic_pkt_parse_header(out, sizeof(want) - 1, NULL, &h), QUIC_ERR_DROP);
    assert_int_equal(quic_pkt_parse_header(out, 19, NULL, &h), QUIC_ERR_DROP);
    w = quince_writer_init(out, sizeof(out));
    assert_false(quic_pkt_build_vn(&w, 0, a2_dcid, 8, a3_scid, 4, vs, 0));
}

/* RFC 9000 §12.2: split Initial + Handshake + 1-RTT in one datagram. */
static void test_coalesced(void **state)
{
    (void)state;
    uint8_t dg[1400];
    quince_writer w = quince_writer_init(dg, sizeof(dg));
    quic_pkt_builder b;
    assert_true(quic_pkt_build_long(&w, &b, QUIC_PKT_INITIAL, QUIC_VERSION_1, a2_dcid, 8, a3_scid,
                                    8, NULL, 0, 0, 1));
    assert_true(quince_put_u8(&w, 0x01));
    assert_true(quic_pkt_finish(&w, &b, 16));
    memset(quince_put_reserve(&w, 16), 0xa1, 16);
    size_t len1 = (size_t)(w.p - dg);
    assert_true(quic_pkt_build_long(&w, &b, QUIC_PKT_HANDSHAKE, QUIC_VERSION_1, a2_dcid, 8, a3_scid,
                                    8, NULL, 0, 0, 1));
    memset(quince_put_reserve(&w, 40), 0x01, 40);
    assert_true(quic_pkt_finish(&w, &b, 16));
    memset(quince_put_reserve(&w, 16), 0xa2, 16);
    size_t len2 = (size_t)(w.p - dg) - len1;
    const uint8_t *start3 = w.p;
    assert_true(quic_pkt_build_short(&w, &b, a2_dcid, 8, 0, 1, false, false));
    assert_true(quince_put_u8(&w, 0x01));
    assert_true(quic_pkt_pad_to(&w, dg, QUIC_MIN_INITIAL_DATAGRAM, 16));
    assert_true(quic_pkt_finish(&w, &b, 16));
    memset(quince_put_reserve(&w, 16), 0xa3, 16);
    size_t total = (size_t)(w.p - dg);
    assert_int_equal(total, QUIC_MIN_INITIAL_DATAGRAM);

    quic_pkt_parse_opts opts = {8, false};
    assert_int_equal(quic_pkt_first_len(dg, total, &opts), (int)len1);
    assert_int_equal(quic_pkt_first_len(dg + len1, total - len1, &opts), (int)len2);
    assert_int_equal(len1 + len2, (size_t)(start3 - dg));
    quic_pkt_header h;
    assert_int_equal(quic_pkt_parse_header(start3, total - len1 - len2, &opts, &h), QUIC_OK);
    assert_int_equal(h.type, QUIC_PKT_1RTT);
    assert_int_equal(h.packet_len, total - len1 - len2);
    /* A Length past the datagram cannot be split. */
    assert_int_equal(quic_pkt_first_len(dg, len1 - 1, &opts), QUIC_ERR_DROP);
}

/* RFC 9000 Appendix A.2 */
static void test_pn_encode_len(void **state)
{
    (void)state;
    assert_int_equal(quic_pn_encode_len(0xac5c02, 0xabe8b3), 2);
    assert_int_equal(quic_pn_encode_len(0xace8fe, 0xabe8b3), 3);
    assert_int_equal(quic_pn_encode_len(0, UINT64_MAX), 1);
    assert_int_equal(quic_pn_encode_len(127, UINT64_MAX), 1);
    assert_int_equal(quic_pn_encode_len(128, UINT64_MAX), 2);
    assert_int_equal(quic_pn_encode_len(228, 100), 1);   /* 128 unacked */
    assert_int_equal(quic_pn_encode_len(229, 100), 2);   /* 129 unacked */
    assert_int_equal(quic_pn_encode_len(32868, 100), 2); /* 32768 */
    assert_int_equal(quic_pn_encode_len(32869, 100), 3);
    assert_int_equal(quic_pn_encode_len(100 + (1u << 23), 100), 3);
    assert_int_equal(quic_pn_encode_len(101 + (1u << 23), 100), 4);
    assert_int_equal(quic_pn_encode_len(1ull << 40, 0), 4);
    /* Whatever length is chosen, the receiver with largest = largest_acked decodes it. */
    for (uint64_t acked = 0; acked < 70000; acked += 997) {
        for (uint64_t d = 1; d < 40000; d += 331) {
            uint64_t pn = acked + d;
            size_t l = quic_pn_encode_len(pn, acked);
            uint64_t trunc = pn & ((1ull << (8 * l)) - 1);
            assert_int_equal(quic_pn_decode(acked, trunc, 8 * l), pn);
        }
    }
}

/* RFC 9000 Appendix A.3 */
static void test_pn_decode(void **state)
{
    (void)state;
    assert_int_equal(quic_pn_decode(0xa82f30ea, 0x9b32, 16), 0xa82f9b32);
    /* Nothing received yet: expected 0. */
    assert_int_equal(quic_pn_decode(UINT64_MAX, 0, 8), 0);
    assert_int_equal(quic_pn_decode(UINT64_MAX, 5, 8), 5);
    /* Crossing a window boundary upwards and downwards. */
    assert_int_equal(quic_pn_decode(0xff, 0x00, 8), 0x100);
    assert_int_equal(quic_pn_decode(0x100, 0xff, 8), 0xff);
    assert_int_equal(quic_pn_decode(0x17f, 0x00, 8), 0x200);
    assert_int_equal(quic_pn_decode(0x180, 0x00, 8), 0x200);
    /* Near zero: no underflow. */
    assert_int_equal(quic_pn_decode(0, 0xff, 8), 0xff);
    assert_int_equal(quic_pn_decode(1, 0xf0, 8), 0xf0);
    /* Near 2^62: never past 2^62-1. */
    const uint64_t top = (1ull << 62) - 1;
    assert_int_equal(quic_pn_decode(top - 1, 0xff, 8), top);
    assert_int_equal(quic_pn_decode(top - 1, 0x00, 8), top - 0xff);
    assert_int_equal(quic_pn_decode(top - 1, 0xffffffff, 32), top);
    assert_int_equal(quic_pn_decode(top - 10, 0x7fffffff, 32), top - 0x80000000);
    /* 32-bit window in the middle. */
    assert_int_equal(quic_pn_decode(0x1ffffffff, 0x00000002, 32), 0x200000002ull);
}

static void test_stateless_reset(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 3);
    const uint8_t token[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};
    uint8_t out[64];
    quince_writer w = quince_writer_init(out, sizeof(out));
    assert_false(quic_pkt_build_stateless_reset(&w, &te.env, 20, token));
    w = quince_writer_init(out, sizeof(out));
    assert_true(quic_pkt_build_stateless_reset(&w, &te.env, 40, token));
    assert_int_equal(w.p - out, 40);
    assert_int_equal(out[0] & 0xc0, 0x40);
    const uint8_t *t = quic_pkt_stateless_reset_token(out, 40);
    assert_ptr_equal(t, out + 24);
    assert_true(quic_token_equal(t, token));
    uint8_t other[16];
    memcpy(other, token, 16);
    other[15] ^= 1;
    assert_false(quic_token_equal(t, other));
    assert_null(quic_pkt_stateless_reset_token(out, 20));
    assert_non_null(quic_pkt_stateless_reset_token(out, 21));
    test_env_check_leaks(&te);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9001_a2_header),
        cmocka_unit_test(test_rfc9001_a3_header),
        cmocka_unit_test(test_retry),
        cmocka_unit_test(test_long_v1_v2),
        cmocka_unit_test(test_short_header),
        cmocka_unit_test(test_fixed_bit_and_cid_limits),
        cmocka_unit_test(test_version_negotiation),
        cmocka_unit_test(test_coalesced),
        cmocka_unit_test(test_pn_encode_len),
        cmocka_unit_test(test_pn_decode),
        cmocka_unit_test(test_stateless_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
