/* Tests for quic/transport_params.c (RFC 9000 §18; RFC 9221 §3; RFC 9287 §3; RFC 9368 §3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <string.h>

#include "quic/transport_params.h"
#include "base/varint.h"
#include "tests/common/test_env.h"

/* The client's transport parameters inside the RFC 9001 Appendix A.2 ClientHello. */
static void test_rfc9001_client_params(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = test_unhex("0408ffffffffffffffff05048000ffff07048000ffff0801100104800075300901"
                          "100f088394c8f03e51570806048000ffff",
                          buf, sizeof(buf));
    assert_int_equal(n, 50);
    quic_transport_params tp;
    assert_int_equal(quic_tp_decode(buf, n, false, &tp), QUIC_OK);
    assert_int_equal(tp.initial_max_data, QUINCE_VARINT_MAX);
    assert_int_equal(tp.initial_max_stream_data_bidi_local, 65535);
    assert_int_equal(tp.initial_max_stream_data_bidi_remote, 65535);
    assert_int_equal(tp.initial_max_stream_data_uni, 65535);
    assert_int_equal(tp.initial_max_streams_bidi, 16);
    assert_int_equal(tp.initial_max_streams_uni, 16);
    assert_int_equal(tp.max_idle_timeout, 30000);
    assert_true(tp.has_initial_scid);
    assert_int_equal(tp.initial_scid.len, 8);
    const uint8_t cid[] = {0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08};
    assert_memory_equal(tp.initial_scid.bytes, cid, 8);
    /* §18.2 defaults for the absent ones. */
    assert_int_equal(tp.max_udp_payload_size, 65527);
    assert_int_equal(tp.ack_delay_exponent, 3);
    assert_int_equal(tp.max_ack_delay, 25);
    assert_int_equal(tp.active_connection_id_limit, 2);
    assert_int_equal(tp.max_datagram_frame_size, 0);
    assert_false(tp.disable_active_migration);
    assert_false(tp.has_original_dcid);
    /* Every truncation fails. */
    for (size_t cut = 1; cut < n; cut++) {
        quic_transport_params t2;
        int rc = quic_tp_decode(buf, cut, false, &t2);
        /* A cut between two parameters is a valid shorter list. */
        if (cut == 10 || cut == 16 || cut == 22 || cut == 25 || cut == 31 || cut == 34 || cut == 44)
            assert_int_equal(rc, QUIC_OK);
        else
            assert_int_equal(rc, QUIC_ERR_TRANSPORT_PARAMETER);
    }
}

static void fill_all(quic_transport_params *tp)
{
    quic_tp_defaults(tp);
    tp->has_original_dcid = true;
    tp->original_dcid.len = 8;
    memset(tp->original_dcid.bytes, 0x11, 8);
    tp->has_initial_scid = true;
    tp->initial_scid.len = 0; /* zero-length CIDs are legal here */
    tp->has_retry_scid = true;
    tp->retry_scid.len = 20;
    memset(tp->retry_scid.bytes, 0x22, 20);
    tp->has_stateless_reset_token = true;
    memset(tp->stateless_reset_token, 0x33, 16);
    tp->max_idle_timeout = 30000;
    tp->max_udp_payload_size = 1452;
    tp->initial_max_data = 1 << 20;
    tp->initial_max_stream_data_bidi_local = 1 << 18;
    tp->initial_max_stream_data_bidi_remote = 1 << 17;
    tp->initial_max_stream_data_uni = 1 << 16;
    tp->initial_max_streams_bidi = 100;
    tp->initial_max_streams_uni = 1ull << 60;
    tp->ack_delay_exponent = 20;
    tp->max_ack_delay = 16383;
    tp->disable_active_migration = true;
    tp->has_preferred_address = true;
    quic_preferred_address *pa = &tp->preferred_address;
    const uint8_t v4[4] = {192, 0, 2, 1};
    memcpy(pa->ipv4, v4, 4);
    pa->ipv4_port = 4433;
    memset(pa->ipv6, 0x20, 16);
    pa->ipv6_port = 443;
    pa->cid.len = 4;
    memset(pa->cid.bytes, 0x44, 4);
    memset(pa->reset_token, 0x55, 16);
    tp->active_connection_id_limit = 8;
    tp->max_datagram_frame_size = 65535;
    tp->grease_quic_bit = true;
    tp->reset_stream_at = true;
    tp->has_version_info = true;
    tp->chosen_version = QUIC_VERSION_1;
    tp->available_versions[0] = QUIC_VERSION_2;
    tp->available_versions[1] = QUIC_VERSION_1;
    tp->available_count = 2;
}

static void test_roundtrip(void **state)
{
    (void)state;
    quic_transport_params tp, back;
    fill_all(&tp);
    uint8_t buf[512];
    for (uint32_t grease = 0; grease < 20; grease += 7) {
        quince_writer w = quince_writer_init(buf, sizeof(buf));
        assert_true(quic_tp_encode(&w, &tp, true, grease));
        size_t n = (size_t)(w.p - buf);
        if (grease != 0) {
            /* The reserved parameter 31 * N + 27 comes first. */
            quince_reader r = quince_reader_init(buf, n);
            uint64_t id;
            assert_true(quince_get_varint(&r, &id));
            assert_int_equal(id, 31 * (uint64_t)grease + 27);
        }
        assert_int_equal(quic_tp_decode(buf, n, true, &back), QUIC_OK);
        assert_memory_equal(&tp, &back, sizeof(tp));
        /* Any shorter output buffer fails cleanly. */
        for (size_t cap = 0; cap < n; cap += 3) {
            quince_writer s = quince_writer_init(buf, cap);
            assert_false(quic_tp_encode(&s, &tp, true, grease));
        }
    }
    /* A client leaves the server-only parameters out. */
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(quic_tp_encode(&w, &tp, false, 3));
    assert_int_equal(quic_tp_decode(buf, (size_t)(w.p - buf), false, &back), QUIC_OK);
    assert_false(back.has_original_dcid);
    assert_false(back.has_retry_scid);
    assert_false(back.has_stateless_reset_token);
    assert_false(back.has_preferred_address);
    assert_int_equal(back.max_udp_payload_size, 1452);
    assert_true(back.grease_quic_bit);
    /* Defaults encode to nothing. */
    quic_tp_defaults(&tp);
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(quic_tp_encode(&w, &tp, true, 0));
    assert_int_equal(w.p - buf, 0);
}

static void expect_tp(const char *hex, bool from_server, int want)
{
    uint8_t buf[256];
    size_t n = test_unhex(hex, buf, sizeof(buf));
    quic_transport_params tp;
    assert_int_equal(quic_tp_decode(buf, n, from_server, &tp), want);
}

/* reset_stream_at: accepted under 0x1d (reliable-stream-reset-10 §3) and 0x17f7586d2cb571
 * (-07 §3), empty only; sent under both. */
static void test_reset_stream_at(void **state)
{
    (void)state;
    quic_transport_params tp;
    uint8_t buf[64];
    size_t n = test_unhex("1d00", buf, sizeof(buf));
    assert_int_equal(quic_tp_decode(buf, n, true, &tp), QUIC_OK);
    assert_true(tp.reset_stream_at);
    n = test_unhex("c017f7586d2cb57100", buf, sizeof(buf));
    assert_int_equal(quic_tp_decode(buf, n, false, &tp), QUIC_OK);
    assert_true(tp.reset_stream_at);
    expect_tp("1d0100", true, QUIC_ERR_TRANSPORT_PARAMETER);
    expect_tp("c017f7586d2cb5710101", true, QUIC_ERR_TRANSPORT_PARAMETER);
    expect_tp("1d001d00", true, QUIC_ERR_TRANSPORT_PARAMETER); /* duplicate */
    n = test_unhex("010100", buf, sizeof(buf));
    assert_int_equal(quic_tp_decode(buf, n, true, &tp), QUIC_OK);
    assert_false(tp.reset_stream_at);
    quic_tp_defaults(&tp);
    tp.reset_stream_at = true;
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(quic_tp_encode(&w, &tp, true, 0));
    uint8_t want[16];
    size_t wn = test_unhex("1d00c017f7586d2cb57100", want, sizeof(want));
    assert_int_equal(w.p - buf, wn);
    assert_memory_equal(buf, want, wn);
}

/* draft-ietf-quic-ack-frequency-12 §3: min_ack_delay (0xff04de1b, us), at
 * most max_ack_delay (ms). */
static void test_min_ack_delay(void **state)
{
    (void)state;
    quic_transport_params tp;
    uint8_t buf[64];
    size_t n = test_unhex("c0000000ff04de1b0243e8", buf, sizeof(buf)); /* 1000 us */
    assert_int_equal(quic_tp_decode(buf, n, true, &tp), QUIC_OK);
    assert_true(tp.has_min_ack_delay);
    assert_int_equal(tp.min_ack_delay, 1000);
    /* 26 ms against the default max_ack_delay of 25 ms, and with 0x0b = 30 ms */
    expect_tp("c0000000ff04de1b0480006590", true, QUIC_ERR_TRANSPORT_PARAMETER);
    n = test_unhex("0b011ec0000000ff04de1b0480006590", buf, sizeof(buf));
    assert_int_equal(quic_tp_decode(buf, n, true, &tp), QUIC_OK);
    expect_tp("c0000000ff04de1b0243e8c0000000ff04de1b0243e8", true,
              QUIC_ERR_TRANSPORT_PARAMETER); /* duplicate */
    quic_tp_defaults(&tp);
    tp.has_min_ack_delay = true;
    tp.min_ack_delay = 1000;
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(quic_tp_encode(&w, &tp, true, 0));
    uint8_t want[16];
    size_t wn = test_unhex("c0000000ff04de1b0243e8", want, sizeof(want));
    assert_int_equal(w.p - buf, wn);
    assert_memory_equal(buf, want, wn);
}

static void test_validation(void **state)
{
    (void)state;
    const int E = QUIC_ERR_TRANSPORT_PARAMETER;
    /* Duplicates (also of empty ones). */
    expect_tp("0101 05 0101 05", false, E);
    expect_tp("0c00 0c00", false, E);
    /* Unknown and reserved ids are skipped, even repeated. */
    expect_tp("1b03 aabbcc 1b00 4a8f01 00", false, QUIC_OK);
    /* max_udp_payload_size < 1200. */
    expect_tp("0302 44af", false, E);       /* 1199 */
    expect_tp("0302 44b0", false, QUIC_OK); /* 1200 */
    /* ack_delay_exponent > 20. */
    expect_tp("0a01 15", false, E);
    expect_tp("0a01 14", false, QUIC_OK);
    /* max_ack_delay >= 2^14. */
    expect_tp("0b04 80004000", false, E);
    expect_tp("0b02 7fff", false, QUIC_OK);
    /* active_connection_id_limit < 2. */
    expect_tp("0e01 01", false, E);
    expect_tp("0e01 00", false, E);
    expect_tp("0e01 02", false, QUIC_OK);
    /* initial_max_streams > 2^60. */
    expect_tp("0808 d000000000000001", false, E);
    expect_tp("0908 d000000000000001", false, E);
    expect_tp("0808 d000000000000000", false, QUIC_OK);
    /* Server-only parameters from a client. */
    expect_tp("0004 01020304", false, E);
    expect_tp("0004 01020304", true, QUIC_OK);
    expect_tp("0210 00000000000000000000000000000000", false, E);
    expect_tp("1004 01020304", false, E);
    expect_tp("0d2d c000020111510000000000000000000000000000000001bb 04 44444444"
              " 55555555555555555555555555555555",
              false, E);
    expect_tp("0d2d c000020111510000000000000000000000000000000001bb 04 44444444"
              " 55555555555555555555555555555555",
              true, QUIC_OK);
    /* preferred_address with a zero-length CID, or a wrong length. */
    expect_tp("0d29 c000020111510000000000000000000000000000000001bb 00"
              " 55555555555555555555555555555555",
              true, E);
    expect_tp("0d2c c000020111510000000000000000000000000000000001bb 04 44444444"
              " 555555555555555555555555555555",
              true, E);
    /* Wrong lengths. */
    expect_tp("020f 000000000000000000000000000000", true, E); /* token 15 bytes */
    expect_tp("0102 05", false, E);                            /* past the end */
    expect_tp("0102 0500", false, E);                          /* trailing byte in value */
    expect_tp("0c01 00", false, E);                            /* disable_active_migration */
    expect_tp("0f15 000000000000000000000000000000000000000000", false, E); /* CID 21 */
    expect_tp("80002ab2 01 00", false, E); /* grease_quic_bit non-empty */
    expect_tp("80002ab2 00", false, QUIC_OK);
    expect_tp("2001", false, E); /* truncated */
    /* version_information (RFC 9368 §3). */
    expect_tp("1108 00000001 00000001", false, QUIC_OK);
    expect_tp("1108 00000001 6b3343cf", false, E); /* chosen not among available (client) */
    expect_tp("1108 00000001 6b3343cf", true, QUIC_OK);
    expect_tp("1104 00000001", true, QUIC_OK);
    expect_tp("1106 00000001 0000", true, E);
    expect_tp("1100", true, E);
    expect_tp("1104 00000000", true, E);
    expect_tp("1108 00000001 00000000", true, E);
}

static void test_version_info_bound(void **state)
{
    (void)state;
    /* More Available Versions than the struct keeps: the first ones stay. */
    uint8_t buf[256];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    quince_put_varint(&w, QUIC_TP_VERSION_INFORMATION);
    quince_put_varint(&w, 4 + 4 * 40);
    quince_put_u32(&w, 0x0a0a0a0a + 39);
    for (uint32_t i = 0; i < 40; i++)
        quince_put_u32(&w, 0x0a0a0a0a + i);
    quic_transport_params tp;
    assert_int_equal(quic_tp_decode(buf, (size_t)(w.p - buf), false, &tp), QUIC_OK);
    assert_int_equal(tp.available_count, QUIC_TP_MAX_AVAILABLE_VERSIONS);
    assert_int_equal(tp.available_versions[15], 0x0a0a0a0a + 15);
    /* The encoder refuses parameters that the decoder would reject. */
    quic_tp_defaults(&tp);
    tp.max_udp_payload_size = 1000;
    w = quince_writer_init(buf, sizeof(buf));
    assert_false(quic_tp_encode(&w, &tp, false, 0));
    quic_tp_defaults(&tp);
    tp.has_preferred_address = true;
    w = quince_writer_init(buf, sizeof(buf));
    assert_false(quic_tp_encode(&w, &tp, true, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc9001_client_params), cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_reset_stream_at),       cmocka_unit_test(test_validation),
        cmocka_unit_test(test_version_info_bound),    cmocka_unit_test(test_min_ack_delay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
