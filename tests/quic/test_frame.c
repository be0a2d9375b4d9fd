/* Tests for quic/frame.c (RFC 9000 §12.4, §19; RFC 9221 §4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "quic/frame.h"
#include "base/varint.h"
#include "tests/common/test_env.h"

static const uint8_t cid8[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t token16[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};
static const uint8_t data5[5] = {'h', 'e', 'l', 'l', 'o'};

static size_t encode(const quic_frame *f, uint8_t *buf, size_t cap)
{
    quince_writer w = quince_writer_init(buf, cap);
    assert_true(quic_frame_encode(&w, f));
    return (size_t)(w.p - buf);
}

/* Compare two decoded frames field by field (payload bytes by content). */
static void assert_frames_equal(const quic_frame *a, const quic_frame *b)
{
    assert_int_equal(a->type, b->type);
    switch (a->type) {
    case QUIC_FT_PADDING:
        assert_int_equal(a->u.padding.length, b->u.padding.length);
        return;
    case QUIC_FT_ACK:
    case QUIC_FT_ACK_ECN: {
        assert_int_equal(a->u.ack.largest, b->u.ack.largest);
        assert_int_equal(a->u.ack.ack_delay, b->u.ack.ack_delay);
        assert_int_equal(a->u.ack.first_range, b->u.ack.first_range);
        assert_int_equal(a->u.ack.range_count, b->u.ack.range_count);
        assert_int_equal(a->u.ack.ect0, b->u.ack.ect0);
        assert_int_equal(a->u.ack.ect1, b->u.ack.ect1);
        assert_int_equal(a->u.ack.ce, b->u.ack.ce);
        quic_ack_iter ia, ib;
        quic_ack_range ra, rb;
        quic_ack_iter_init(&ia, &a->u.ack);
        quic_ack_iter_init(&ib, &b->u.ack);
        while (quic_ack_iter_next(&ia, &ra)) {
            assert_true(quic_ack_iter_next(&ib, &rb));
            assert_int_equal(ra.smallest, rb.smallest);
            assert_int_equal(ra.largest, rb.largest);
        }
        assert_false(quic_ack_iter_next(&ib, &rb));
        return;
    }
    case QUIC_FT_CRYPTO:
        assert_int_equal(a->u.crypto.offset, b->u.crypto.offset);
        assert_int_equal(a->u.crypto.length, b->u.crypto.length);
        assert_memory_equal(a->u.crypto.data, b->u.crypto.data, a->u.crypto.length);
        return;
    case QUIC_FT_NEW_TOKEN:
        assert_int_equal(a->u.new_token.length, b->u.new_token.length);
        assert_memory_equal(a->u.new_token.token, b->u.new_token.token, a->u.new_token.length);
        return;
    case QUIC_FT_NEW_CONNECTION_ID:
        assert_int_equal(a->u.new_cid.seq, b->u.new_cid.seq);
        assert_int_equal(a->u.new_cid.retire_prior_to, b->u.new_cid.retire_prior_to);
        assert_int_equal(a->u.new_cid.cid_len, b->u.new_cid.cid_len);
        assert_memory_equal(a->u.new_cid.cid, b->u.new_cid.cid, a->u.new_cid.cid_len);
        assert_memory_equal(a->u.new_cid.reset_token, b->u.new_cid.reset_token, 16);
        return;
    case QUIC_FT_PATH_CHALLENGE:
    case QUIC_FT_PATH_RESPONSE:
        assert_memory_equal(a->u.path.data, b->u.path.data, 8);
        return;
    case QUIC_FT_CONNECTION_CLOSE:
    case QUIC_FT_CONNECTION_CLOSE_APP:
        assert_int_equal(a->u.close.error_code, b->u.close.error_code);
        assert_int_equal(a->u.close.frame_type, b->u.close.frame_type);
        assert_int_equal(a->u.close.reason_len, b->u.close.reason_len);
        assert_memory_equal(a->u.close.reason, b->u.close.reason, a->u.close.reason_len);
        return;
    case QUIC_FT_DATAGRAM:
    case QUIC_FT_DATAGRAM_LEN:
        assert_int_equal(a->u.datagram.length, b->u.datagram.length);
        if (a->u.datagram.length)
            assert_memory_equal(a->u.datagram.data, b->u.datagram.data, a->u.datagram.length);
        return;
    default:
        break;
    }
    if (a->type >= 0x08 && a->type <= 0x0f) {
        assert_int_equal(a->u.stream.stream_id, b->u.stream.stream_id);
        assert_int_equal(a->u.stream.offset, b->u.stream.offset);
        assert_int_equal(a->u.stream.length, b->u.stream.length);
        assert_int_equal(a->u.stream.fin, b->u.stream.fin);
        if (a->u.stream.length)
            assert_memory_equal(a->u.stream.data, b->u.stream.data, a->u.stream.length);
        return;
    }
    /* The remaining frames are plain integers: compare the union bytes. */
    assert_memory_equal(&a->u, &b->u, sizeof(a->u));
}

/*
 * Encode f, decode it back (1-RTT), compare; then every shorter prefix must
 * fail with FRAME_ENCODING_ERROR, except for frames that run to the end of
 * the packet (no Length field), whose prefixes are either errors or shorter
 * frames that consume the whole prefix.
 */
static void roundtrip(const quic_frame *f, bool to_end)
{
    uint8_t buf[256];
    size_t n = encode(f, buf, sizeof(buf));
    quic_frame d;
    assert_int_equal(quic_frame_decode(buf, n, QUIC_PKT_1RTT, &d), (int)n);
    assert_frames_equal(f, &d);
    /* A copy of exactly the right size so ASan catches reads past the end. */
    for (size_t cut = 1; cut < n; cut++) {
        uint8_t *p = test_malloc(cut);
        memcpy(p, buf, cut);
        int rc = quic_frame_decode(p, cut, QUIC_PKT_1RTT, &d);
        if (to_end && rc > 0)
            assert_int_equal(rc, (int)cut);
        else
            assert_int_equal(rc, QUIC_ERR_FRAME_ENCODING);
        test_free(p);
    }
    /* Encoding into any smaller buffer fails cleanly. */
    for (size_t cap = 0; cap < n; cap++) {
        quince_writer w = quince_writer_init(buf, cap);
        assert_false(quic_frame_encode(&w, f));
        assert_true(w.overflow);
    }
}

static void test_roundtrip_all_types(void **state)
{
    (void)state;
    quic_frame f;
    static const uint8_t reason[] = "bye";
    uint8_t ack_buf[64];

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_PING;
    roundtrip(&f, false);
    f.type = QUIC_FT_HANDSHAKE_DONE;
    roundtrip(&f, false);

    /* ACK and ACK_ECN with ranges, built from raw wire bytes. */
    for (int ecn = 0; ecn < 2; ecn++) {
        const uint8_t raw[] = {(uint8_t)(0x02 + ecn),
                               0x14,
                               0x40,
                               0x64,
                               0x02,
                               0x0a,
                               0x03,
                               0x00,
                               0x01,
                               0x02,
                               0x05,
                               0x06,
                               0x07};
        size_t rawlen = ecn ? sizeof(raw) : sizeof(raw) - 3;
        memcpy(ack_buf, raw, rawlen);
        assert_int_equal(quic_frame_decode(ack_buf, rawlen, QUIC_PKT_1RTT, &f), (int)rawlen);
        assert_int_equal(f.u.ack.largest, 20);
        assert_int_equal(f.u.ack.ack_delay, 100);
        roundtrip(&f, false);
    }

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_RESET_STREAM;
    f.u.reset_stream.stream_id = 4;
    f.u.reset_stream.app_error = 0x10c;
    f.u.reset_stream.final_size = 100000;
    roundtrip(&f, false);

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_STOP_SENDING;
    f.u.stop_sending.stream_id = 8;
    f.u.stop_sending.app_error = 77;
    roundtrip(&f, false);

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_CRYPTO;
    f.u.crypto.offset = 1000;
    f.u.crypto.length = sizeof(data5);
    f.u.crypto.data = data5;
    roundtrip(&f, false);

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_NEW_TOKEN;
    f.u.new_token.length = sizeof(token16);
    f.u.new_token.token = token16;
    roundtrip(&f, false);

    /* STREAM: all eight flag combinations. */
    for (uint64_t t = 0x08; t <= 0x0f; t++) {
        memset(&f, 0, sizeof(f));
        f.type = t;
        f.u.stream.stream_id = 0x3fff;
        f.u.stream.offset = (t & QUIC_STREAM_FLAG_OFF) ? 70000 : 0;
        f.u.stream.length = sizeof(data5);
        f.u.stream.data = data5;
        f.u.stream.fin = (t & QUIC_STREAM_FLAG_FIN) != 0;
        roundtrip(&f, !(t & QUIC_STREAM_FLAG_LEN));
    }

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_MAX_DATA;
    f.u.max_data.max = 1ull << 40;
    roundtrip(&f, false);

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_MAX_STREAM_DATA;
    f.u.max_stream_data.stream_id = 3;
    f.u.max_stream_data.max = 65536;
    roundtrip(&f, false);

    for (uint64_t t = QUIC_FT_MAX_STREAMS_BIDI; t <= QUIC_FT_MAX_STREAMS_UNI; t++) {
        memset(&f, 0, sizeof(f));
        f.type = t;
        f.u.max_streams.max = QUIC_MAX_STREAMS_LIMIT;
        roundtrip(&f, false);
    }

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_DATA_BLOCKED;
    f.u.data_blocked.limit = 12345;
    roundtrip(&f, false);

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_STREAM_DATA_BLOCKED;
    f.u.stream_data_blocked.stream_id = 7;
    f.u.stream_data_blocked.limit = 99;
    roundtrip(&f, false);

    for (uint64_t t = QUIC_FT_STREAMS_BLOCKED_BIDI; t <= QUIC_FT_STREAMS_BLOCKED_UNI; t++) {
        memset(&f, 0, sizeof(f));
        f.type = t;
        f.u.streams_blocked.limit = 100;
        roundtrip(&f, false);
    }

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_NEW_CONNECTION_ID;
    f.u.new_cid.seq = 5;
    f.u.new_cid.retire_prior_to = 5;
    f.u.new_cid.cid_len = 8;
    f.u.new_cid.cid = cid8;
    f.u.new_cid.reset_token = token16;
    roundtrip(&f, false);

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_RETIRE_CONNECTION_ID;
    f.u.retire_cid.seq = 3;
    roundtrip(&f, false);

    for (uint64_t t = QUIC_FT_PATH_CHALLENGE; t <= QUIC_FT_PATH_RESPONSE; t++) {
        memset(&f, 0, sizeof(f));
        f.type = t;
        f.u.path.data = cid8;
        roundtrip(&f, false);
    }

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_CONNECTION_CLOSE;
    f.u.close.error_code = QUIC_TE_PROTOCOL_VIOLATION;
    f.u.close.frame_type = 0x1e;
    f.u.close.reason_len = 3;
    f.u.close.reason = reason;
    roundtrip(&f, false);
    f.type = QUIC_FT_CONNECTION_CLOSE_APP;
    f.u.close.frame_type = 0;
    f.u.close.error_code = 0x100;
    roundtrip(&f, false);

    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_DATAGRAM_LEN;
    f.u.datagram.length = sizeof(data5);
    f.u.datagram.data = data5;
    roundtrip(&f, false);
    f.type = QUIC_FT_DATAGRAM;
    roundtrip(&f, true);
}

/* Exact wire bytes for a few frames. */
static void test_exact_bytes(void **state)
{
    (void)state;
    uint8_t buf[64];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(quic_frame_encode_stream(&w, 4, 0, data5, 5, true, true));
    const uint8_t s1[] = {0x0b, 0x04, 0x05, 'h', 'e', 'l', 'l', 'o'};
    assert_int_equal(w.p - buf, sizeof(s1));
    assert_memory_equal(buf, s1, sizeof(s1));

    w = quince_writer_init(buf, sizeof(buf));
    assert_true(quic_frame_encode_stream(&w, 4, 64, data5, 2, false, false));
    const uint8_t s2[] = {0x0c, 0x04, 0x40, 0x40, 'h', 'e'};
    assert_int_equal(w.p - buf, sizeof(s2));
    assert_memory_equal(buf, s2, sizeof(s2));

    w = quince_writer_init(buf, sizeof(buf));
    assert_true(quic_frame_encode_crypto(&w, 0, data5, 5));
    const uint8_t c1[] = {0x06, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o'};
    assert_memory_equal(buf, c1, sizeof(c1));

    quic_frame f;
    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_PADDING;
    f.u.padding.length = 7;
    w = quince_writer_init(buf, sizeof(buf));
    memset(buf, 0xff, sizeof(buf));
    assert_true(quic_frame_encode(&w, &f));
    assert_int_equal(w.p - buf, 7);
    /* A run of PADDING decodes as one frame up to the next non-zero byte. */
    buf[7] = 0x01;
    assert_int_equal(quic_frame_decode(buf, 8, QUIC_PKT_INITIAL, &f), 7);
    assert_int_equal(f.type, QUIC_FT_PADDING);
    assert_int_equal(f.u.padding.length, 7);
}

static void expect_err(const uint8_t *p, size_t n, quic_pkt_type pkt, int err)
{
    quic_frame f;
    assert_int_equal(quic_frame_decode(p, n, pkt, &f), err);
}

#define EXPECT(pkt, err, ...)                                                                      \
    do {                                                                                           \
        const uint8_t b_[] = {__VA_ARGS__};                                                        \
        expect_err(b_, sizeof(b_), pkt, err);                                                      \
    } while (0)

/* draft-ietf-quic-reliable-stream-reset-10 §4 (the same frame in -07): exact bytes,
 * round trip, Reliable Size above Final Size is FRAME_ENCODING_ERROR, 1-RTT/0-RTT only. */
static void test_reset_stream_at(void **state)
{
    (void)state;
    quic_frame f, back;
    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_RESET_STREAM_AT;
    f.u.reset_stream_at.stream_id = 4;
    f.u.reset_stream_at.app_error = 0x52e4a40fa8dbULL;
    f.u.reset_stream_at.final_size = 1000;
    f.u.reset_stream_at.reliable_size = 7;
    uint8_t buf[64];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(quic_frame_encode(&w, &f));
    const uint8_t want[] = {0x24, 0x04, 0xc0, 0x00, 0x52, 0xe4, 0xa4,
                            0x0f, 0xa8, 0xdb, 0x43, 0xe8, 0x07};
    assert_int_equal(w.p - buf, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(quic_frame_decode(buf, sizeof(want), QUIC_PKT_1RTT, &back), sizeof(want));
    assert_int_equal(back.type, QUIC_FT_RESET_STREAM_AT);
    assert_int_equal(back.u.reset_stream_at.stream_id, 4);
    assert_int_equal(back.u.reset_stream_at.app_error, 0x52e4a40fa8dbULL);
    assert_int_equal(back.u.reset_stream_at.final_size, 1000);
    assert_int_equal(back.u.reset_stream_at.reliable_size, 7);
    assert_true(quic_frame_is_ack_eliciting(QUIC_FT_RESET_STREAM_AT));
    assert_int_equal(quic_frame_decode(buf, sizeof(want), QUIC_PKT_0RTT, &back), sizeof(want));
    /* Reliable Size equal to Final Size is fine; one more is not. */
    EXPECT(QUIC_PKT_1RTT, 3 + 2, 0x24, 0x00, 0x00, 0x05, 0x05);
    EXPECT(QUIC_PKT_1RTT, QUIC_ERR_FRAME_ENCODING, 0x24, 0x00, 0x00, 0x05, 0x06);
    EXPECT(QUIC_PKT_1RTT, QUIC_ERR_FRAME_ENCODING, 0x24, 0x00, 0x00, 0x05);
    /* Application data space only (§4). */
    EXPECT(QUIC_PKT_INITIAL, QUIC_ERR_PROTOCOL_VIOLATION, 0x24, 0x00, 0x00, 0x05, 0x05);
    EXPECT(QUIC_PKT_HANDSHAKE, QUIC_ERR_PROTOCOL_VIOLATION, 0x24, 0x00, 0x00, 0x05, 0x05);
    /* The encoder refuses what the decoder would. */
    f.u.reset_stream_at.reliable_size = 1001;
    w = quince_writer_init(buf, sizeof(buf));
    assert_false(quic_frame_encode(&w, &f));
}

/* draft-ietf-quic-ack-frequency-12 §4, §5: ACK_FREQUENCY (0xaf, a two-byte
 * varint type) and IMMEDIATE_ACK (0x1f), ack-eliciting, 1-RTT and 0-RTT only. */
static void test_ack_frequency(void **state)
{
    (void)state;
    quic_frame f, back;
    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_ACK_FREQUENCY;
    f.u.ack_frequency.seq = 1;
    f.u.ack_frequency.threshold = 10;
    f.u.ack_frequency.max_ack_delay_us = 25000;
    f.u.ack_frequency.reordering = 3;
    uint8_t buf[64];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(quic_frame_encode(&w, &f));
    const uint8_t want[] = {0x40, 0xaf, 0x01, 0x0a, 0x80, 0x00, 0x61, 0xa8, 0x03};
    assert_int_equal(w.p - buf, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(quic_frame_decode(buf, sizeof(want), QUIC_PKT_1RTT, &back), sizeof(want));
    assert_int_equal(back.type, QUIC_FT_ACK_FREQUENCY);
    assert_int_equal(back.u.ack_frequency.seq, 1);
    assert_int_equal(back.u.ack_frequency.threshold, 10);
    assert_int_equal(back.u.ack_frequency.max_ack_delay_us, 25000);
    assert_int_equal(back.u.ack_frequency.reordering, 3);
    assert_true(quic_frame_is_ack_eliciting(QUIC_FT_ACK_FREQUENCY));
    assert_true(quic_frame_is_ack_eliciting(QUIC_FT_IMMEDIATE_ACK));
    EXPECT(QUIC_PKT_1RTT, 1, 0x1f);
    EXPECT(QUIC_PKT_1RTT, QUIC_ERR_FRAME_ENCODING, 0x40, 0xaf, 0x01, 0x0a, 0x19);
    EXPECT(QUIC_PKT_HANDSHAKE, QUIC_ERR_PROTOCOL_VIOLATION, 0x1f);
    EXPECT(QUIC_PKT_INITIAL, QUIC_ERR_PROTOCOL_VIOLATION, 0x40, 0xaf, 0x01, 0x0a, 0x19, 0x03);
}

static void test_validation_errors(void **state)
{
    (void)state;
    const int FE = QUIC_ERR_FRAME_ENCODING, PV = QUIC_ERR_PROTOCOL_VIOLATION;
    /* §12.4: non-minimal frame type. */
    EXPECT(QUIC_PKT_1RTT, PV, 0x40, 0x01);
    EXPECT(QUIC_PKT_1RTT, PV, 0x40, 0x00);
    EXPECT(QUIC_PKT_1RTT, PV, 0x80, 0x00, 0x00, 0x06, 0x00, 0x00);
    /* Unknown types. */
    EXPECT(QUIC_PKT_1RTT, FE, 0x20);
    EXPECT(QUIC_PKT_1RTT, FE, 0x21);
    EXPECT(QUIC_PKT_1RTT, FE, 0x40, 0x40);
    /* §19.15: NEW_CONNECTION_ID length 0, 21, retire_prior_to > seq. */
    EXPECT(QUIC_PKT_1RTT, FE, 0x18, 0x01, 0x00, 0x00, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6,
           0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf);
    {
        uint8_t b[64] = {0x18, 0x01, 0x00, 21};
        expect_err(b, 4 + 21 + 16, QUIC_PKT_1RTT, FE);
        b[3] = 20;
        assert_int_equal(4 + 20 + 16, 40);
        quic_frame f;
        assert_int_equal(quic_frame_decode(b, 40, QUIC_PKT_1RTT, &f), 40);
        b[2] = 2; /* retire_prior_to 2 > seq 1 */
        expect_err(b, 40, QUIC_PKT_1RTT, FE);
    }
    /* §19.8: offset + length > 2^62-1. */
    {
        uint8_t b[32];
        quince_writer w = quince_writer_init(b, sizeof(b));
        quince_put_varint(&w, 0x0e);
        quince_put_varint(&w, 0);
        quince_put_varint(&w, QUINCE_VARINT_MAX - 1);
        quince_put_varint(&w, 2);
        quince_put_bytes(&w, "ab", 2);
        expect_err(b, (size_t)(w.p - b), QUIC_PKT_1RTT, FE);
        /* Exactly 2^62-1 is fine. */
        b[w.p - b - 3] = 1;
        quic_frame f;
        assert_int_equal(quic_frame_decode(b, (size_t)(w.p - b) - 1, QUIC_PKT_1RTT, &f),
                         (int)(w.p - b) - 1);
        /* CRYPTO has the same limit (§19.6). */
        b[0] = 0x06;
        memmove(b + 1, b + 2, (size_t)(w.p - b) - 2);
        b[1 + 8] = 2;
        expect_err(b, (size_t)(w.p - b) - 1, QUIC_PKT_1RTT, FE);
    }
    /* §19.11, §19.14: MAX_STREAMS / STREAMS_BLOCKED above 2^60. */
    EXPECT(QUIC_PKT_1RTT, FE, 0x12, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01);
    EXPECT(QUIC_PKT_1RTT, FE, 0x13, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01);
    EXPECT(QUIC_PKT_1RTT, FE, 0x16, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01);
    EXPECT(QUIC_PKT_1RTT, FE, 0x17, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01);
    {
        quic_frame f;
        const uint8_t ok[] = {0x12, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
        assert_int_equal(quic_frame_decode(ok, sizeof(ok), QUIC_PKT_1RTT, &f), 9);
        assert_int_equal(f.u.max_streams.max, QUIC_MAX_STREAMS_LIMIT);
    }
    /* §19.3.1: ACK ranges below zero. */
    EXPECT(QUIC_PKT_1RTT, FE, 0x02, 0x05, 0x00, 0x00, 0x06);             /* first range 6 > 5 */
    EXPECT(QUIC_PKT_1RTT, FE, 0x02, 0x05, 0x00, 0x01, 0x02, 0x02, 0x00); /* gap to -1 */
    EXPECT(QUIC_PKT_1RTT, FE, 0x02, 0x05, 0x00, 0x01, 0x02, 0x00, 0x02); /* range to -1 */
    {
        /* largest 5, first 2 -> [3,5]; gap 0 -> largest 1, len 1 -> [0,1]: valid. */
        const uint8_t ok[] = {0x02, 0x05, 0x00, 0x01, 0x02, 0x00, 0x01};
        quic_frame f;
        assert_int_equal(quic_frame_decode(ok, sizeof(ok), QUIC_PKT_1RTT, &f), 7);
    }
    EXPECT(QUIC_PKT_1RTT, FE, 0x02, 0x05, 0x00, 0x30, 0x00, 0x00, 0x00); /* count too big */
    /* §19.7: empty NEW_TOKEN. */
    EXPECT(QUIC_PKT_1RTT, FE, 0x07, 0x00);
    /* Reason phrase longer than the packet. */
    EXPECT(QUIC_PKT_1RTT, FE, 0x1c, 0x00, 0x00, 0x05, 'a');
    /* DATAGRAM length past the end. */
    EXPECT(QUIC_PKT_1RTT, FE, 0x31, 0x02, 'a');
    /* Empty input is an argument error. */
    quic_frame f;
    assert_int_equal(quic_frame_decode(data5, 0, QUIC_PKT_1RTT, &f), QUIC_ERR_ARGUMENT);
}

/* RFC 9000 §12.4 Table 3, "Pkts" column; DATAGRAM from RFC 9221 §4. RETIRE_CONNECTION_ID
 * is "__01" in Table 3 but §12.5 lists it among the frames 0-RTT cannot carry and lets a
 * server treat it as PROTOCOL_VIOLATION, which we do. */
static void test_packet_type_table(void **state)
{
    (void)state;
    static const struct {
        uint64_t type;
        const char *pkts; /* I H 0 1 */
    } table[] = {
        {0x00, "IH01"}, {0x01, "IH01"}, {0x02, "IH_1"}, {0x03, "IH_1"}, {0x04, "__01"},
        {0x05, "__01"}, {0x06, "IH_1"}, {0x07, "___1"}, {0x08, "__01"}, {0x09, "__01"},
        {0x0a, "__01"}, {0x0b, "__01"}, {0x0c, "__01"}, {0x0d, "__01"}, {0x0e, "__01"},
        {0x0f, "__01"}, {0x10, "__01"}, {0x11, "__01"}, {0x12, "__01"}, {0x13, "__01"},
        {0x14, "__01"}, {0x15, "__01"}, {0x16, "__01"}, {0x17, "__01"}, {0x18, "__01"},
        {0x19, "___1"}, {0x1a, "__01"}, {0x1b, "___1"}, {0x1c, "IH01"}, {0x1d, "__01"},
        {0x1e, "___1"}, {0x30, "__01"}, {0x31, "__01"},
    };
    const quic_pkt_type pkts[4] = {QUIC_PKT_INITIAL, QUIC_PKT_HANDSHAKE, QUIC_PKT_0RTT,
                                   QUIC_PKT_1RTT};
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        for (int k = 0; k < 4; k++) {
            bool want = table[i].pkts[k] != '_';
            assert_int_equal(quic_frame_allowed(table[i].type, pkts[k]), want);
            /* A disallowed type is a PROTOCOL_VIOLATION from the decoder. */
            if (!want) {
                uint8_t b[1] = {(uint8_t)table[i].type};
                expect_err(b, 1, pkts[k], QUIC_ERR_PROTOCOL_VIOLATION);
            }
        }
        assert_false(quic_frame_allowed(table[i].type, QUIC_PKT_RETRY));
        assert_false(quic_frame_allowed(table[i].type, QUIC_PKT_VERSION_NEGOTIATION));
    }
    /* Ack-eliciting and in-flight (RFC 9002 §2). */
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        uint64_t t = table[i].type;
        bool ack = t == 0x02 || t == 0x03;
        bool close = t == 0x1c || t == 0x1d;
        assert_int_equal(quic_frame_is_ack_eliciting(t), !(t == 0x00 || ack || close));
        assert_int_equal(quic_frame_counts_in_flight(t), !(ack || close));
    }
}

/* RFC 9001 Appendix A.2 and A.3 unprotected payloads. */
static void test_rfc9001_payloads(void **state)
{
    (void)state;
    uint8_t buf[1200];
    size_t n = test_unhex("060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e868"
                          "04fe3a47f06a2b69484c000004130113 02010000c000000010000e00000b6578"
                          "616d706c652e636f6dff01000100000a 00080006001d00170018001000070005"
                          "04616c706e0005000501000000000033 00260024001d00209370b2c9caa47fba"
                          "baf4559fedba753de171fa71f50f1ce1 5d43e994ec74d748002b000302030400"
                          "0d0010000e0403050306030203080408 050806002d00020101001c0002400100"
                          "3900320408ffffffffffffffff050480 00ffff07048000ffff08011001048000"
                          "75300901100f088394c8f03e51570806 048000ffff",
                          buf, sizeof(buf));
    assert_int_equal(n, 245);
    memset(buf + n, 0, 1162 - n); /* PADDING up to a 1162-byte payload */
    quic_frame f;
    assert_int_equal(quic_frame_decode(buf, 1162, QUIC_PKT_INITIAL, &f), 245);
    assert_int_equal(f.type, QUIC_FT_CRYPTO);
    assert_int_equal(f.u.crypto.offset, 0);
    assert_int_equal(f.u.crypto.length, 241);
    assert_int_equal(f.u.crypto.data[0], 0x01); /* ClientHello */
    assert_int_equal(quic_frame_decode(buf + 245, 1162 - 245, QUIC_PKT_INITIAL, &f), 1162 - 245);
    assert_int_equal(f.type, QUIC_FT_PADDING);

    n = test_unhex("02000000000600405a020000560303eefce7f7b37ba1d1632e96677825ddf739"
                   "88cfc79825df566dc5430b9a045a1200130100002e00330024001d00209d3c94"
                   "0d89690b84d08a60993c144eca684d1081287c834d5311bcf32bb9da1a002b00"
                   "020304",
                   buf, sizeof(buf));
    assert_int_equal(quic_frame_decode(buf, n, QUIC_PKT_INITIAL, &f), 5);
    assert_int_equal(f.type, QUIC_FT_ACK);
    assert_int_equal(f.u.ack.largest, 0);
    quic_ack_iter it;
    quic_ack_range r;
    quic_ack_iter_init(&it, &f.u.ack);
    assert_true(quic_ack_iter_next(&it, &r));
    assert_int_equal(r.smallest, 0);
    assert_int_equal(r.largest, 0);
    assert_false(quic_ack_iter_next(&it, &r));
    assert_int_equal(quic_frame_decode(buf + 5, n - 5, QUIC_PKT_INITIAL, &f), (int)n - 5);
    assert_int_equal(f.type, QUIC_FT_CRYPTO);
    assert_int_equal(f.u.crypto.length, 90);
}

static void test_encode_ack_from_ranges(void **state)
{
    (void)state;
    test_env te;
    test_env_init(&te, 1);
    quic_ranges rs;
    quic_ranges_init(&rs, &te.env, 16, true);
    assert_int_equal(quic_ranges_add(&rs, 10, 21), QUIC_OK);
    assert_int_equal(quic_ranges_add(&rs, 0, 3), QUIC_OK);
    assert_int_equal(quic_ranges_add(&rs, 5, 6), QUIC_OK);
    uint8_t buf[64];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    quic_ecn_counts ecn = {1, 2, 3};
    assert_int_equal(quic_frame_encode_ack(&w, &rs, 25, &ecn, 0), 3);
    /* largest 20, delay 25, 2 more ranges, first 10; gap 3 len 0; gap 1 len 2; ECN. */
    const uint8_t want[] = {0x03, 20, 25, 2, 10, 3, 0, 1, 2, 1, 2, 3};
    assert_int_equal(w.p - buf, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    quic_frame f;
    assert_int_equal(quic_frame_decode(buf, sizeof(want), QUIC_PKT_1RTT, &f), sizeof(want));
    quic_ack_iter it;
    quic_ack_range r;
    quic_ack_iter_init(&it, &f.u.ack);
    const uint64_t expect[3][2] = {{10, 20}, {5, 5}, {0, 2}};
    for (int i = 0; i < 3; i++) {
        assert_true(quic_ack_iter_next(&it, &r));
        assert_int_equal(r.smallest, expect[i][0]);
        assert_int_equal(r.largest, expect[i][1]);
    }
    assert_false(quic_ack_iter_next(&it, &r));
    /* max_ranges and writer space limit the count. */
    w = quince_writer_init(buf, sizeof(buf));
    assert_int_equal(quic_frame_encode_ack(&w, &rs, 25, NULL, 2), 2);
    w = quince_writer_init(buf, 7);
    assert_int_equal(quic_frame_encode_ack(&w, &rs, 25, NULL, 0), 2);
    assert_int_equal(quic_frame_decode(buf, (size_t)(w.p - buf), QUIC_PKT_1RTT, &f), 7);
    w = quince_writer_init(buf, 4);
    assert_int_equal(quic_frame_encode_ack(&w, &rs, 25, NULL, 0), 0);
    quic_ranges_free(&rs);
    test_env_check_leaks(&te);
}

static void test_fit_helpers(void **state)
{
    (void)state;
    assert_int_equal(quic_frame_stream_header_len(0, 0, 10, true), 3);
    assert_int_equal(quic_frame_stream_header_len(64, 16384, 100, true), 1 + 2 + 4 + 2);
    assert_int_equal(quic_frame_crypto_header_len(0, 63), 3);
    assert_int_equal(quic_frame_crypto_header_len(0, 64), 4);
    /* 1 type + 1 id + 1 length + 60 data = 63. */
    assert_int_equal(quic_frame_stream_fit(63, 0, 0, 1000, true), 60);
    /* 70 bytes: 1+1+2 header leaves 66 (a 1-byte length would allow only 63). */
    assert_int_equal(quic_frame_stream_fit(70, 0, 0, 1000, true), 66);
    assert_int_equal(quic_frame_stream_fit(70, 0, 0, 10, true), 10);
    assert_int_equal(quic_frame_stream_fit(70, 0, 0, 1000, false), 68);
    assert_int_equal(quic_frame_stream_fit(2, 0, 0, 1000, false), 0);
    assert_int_equal(quic_frame_crypto_fit(1200, 0, 5000), 1200 - 4);
    /* Whatever fit says, the frame really fits. */
    static uint8_t data[2000];
    for (size_t space = 10; space < 1300; space += 7) {
        size_t n = quic_frame_stream_fit(space, 5, 1000, sizeof(data), true);
        uint8_t out[1300];
        quince_writer w = quince_writer_init(out, space);
        assert_true(quic_frame_encode_stream(&w, 5, 1000, data, n, false, true));
        assert_true(space - (size_t)(w.p - out) <= 1); /* at most one byte wasted */
        n = quic_frame_crypto_fit(space, 300, sizeof(data));
        w = quince_writer_init(out, space);
        assert_true(quic_frame_encode_crypto(&w, 300, data, n));
    }
}

/* The encoder refuses frames the decoder would reject. */
static void test_encode_rejects(void **state)
{
    (void)state;
    uint8_t buf[128];
    quic_frame f;
    quince_writer w;
#define REJECT()                                                                                   \
    do {                                                                                           \
        w = quince_writer_init(buf, sizeof(buf));                                                  \
        assert_false(quic_frame_encode(&w, &f));                                                   \
        assert_true(w.overflow);                                                                   \
    } while (0)
    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_NEW_CONNECTION_ID;
    f.u.new_cid.seq = 1;
    f.u.new_cid.cid = cid8;
    f.u.new_cid.reset_token = token16;
    REJECT(); /* cid_len 0 */
    f.u.new_cid.cid_len = 21;
    REJECT();
    f.u.new_cid.cid_len = 8;
    f.u.new_cid.retire_prior_to = 2;
    REJECT();
    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_MAX_STREAMS_UNI;
    f.u.max_streams.max = QUIC_MAX_STREAMS_LIMIT + 1;
    REJECT();
    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_STREAMS_BLOCKED_BIDI;
    f.u.streams_blocked.limit = QUIC_MAX_STREAMS_LIMIT + 1;
    REJECT();
    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_NEW_TOKEN;
    REJECT();
    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_STREAM | QUIC_STREAM_FLAG_LEN;
    f.u.stream.offset = QUINCE_VARINT_MAX;
    f.u.stream.length = 1;
    f.u.stream.data = data5;
    REJECT();
    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_CRYPTO;
    f.u.crypto.length = 3; /* no data pointer */
    REJECT();
    memset(&f, 0, sizeof(f));
    f.type = 0x21; /* unknown */
    REJECT();
    f.type = QUIC_FT_PATH_CHALLENGE; /* no data */
    REJECT();
    memset(&f, 0, sizeof(f));
    f.type = QUIC_FT_MAX_DATA;
    f.u.max_data.max = QUINCE_VARINT_MAX + 1;
    REJECT();
#undef REJECT
}

/* quic/error.h: the wire code travels inside the negative return value. */
static void test_error_mapping(void **state)
{
    (void)state;
    assert_int_equal(quic_err_transport_code(QUIC_ERR_FRAME_ENCODING), 0x07);
    assert_int_equal(quic_err_transport_code(QUIC_ERR_PROTOCOL_VIOLATION), 0x0a);
    assert_int_equal(quic_err_transport_code(QUIC_ERR_TRANSPORT_PARAMETER), 0x08);
    assert_int_equal(quic_err_transport_code(QUIC_ERR_FINAL_SIZE), 0x06);
    assert_int_equal(quic_err_transport_code(QUIC_ERR_CRYPTO_BUFFER_EXCEEDED), 0x0d);
    assert_int_equal(quic_err_transport_code(QUIC_ERR_TRANSPORT(0x1ff)), 0x1ff);
    assert_true(quic_err_is_transport(QUIC_ERR_FLOW_CONTROL));
    assert_false(quic_err_is_transport(QUIC_ERR_LIMIT));
    assert_false(quic_err_is_transport(QUIC_ERR_TRANSPORT(0x200)));
    assert_int_equal(quic_err_transport_code(QUIC_ERR_NOMEM), QUIC_TE_INTERNAL_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_types),    cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_validation_errors),      cmocka_unit_test(test_ack_frequency),
        cmocka_unit_test(test_packet_type_table),      cmocka_unit_test(test_rfc9001_payloads),
        cmocka_unit_test(test_encode_ack_from_ranges), cmocka_unit_test(test_fit_helpers),
        cmocka_unit_test(test_encode_rejects),         cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_reset_stream_at),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
