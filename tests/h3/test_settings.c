/* Tests for h3/settings.c: SETTINGS of RFC 9114 §7.2.4 and the extension settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "h3/frame.h"
#include "h3/settings.h"
#include "base/varint.h"
#include "tests/common/test_env.h"

#define WIRE_ERR(code) H3_WIRE_ERROR(code)

static int decode_hex(const char *hex, h3_settings *s)
{
    uint8_t buf[1024];
    size_t len = test_unhex(hex, buf, sizeof(buf));
    return h3_settings_decode(buf, len, s);
}

/* The settings Chromium 156 sends (measured on its SETTINGS frame), with a GREASE setting; exact
 * bytes. */
static void test_chromium_like(void **state)
{
    (void)state;
    h3_settings s;
    h3_settings_init(&s);
    assert_int_equal(h3_settings_set(&s, H3_SETTING_QPACK_MAX_TABLE_CAPACITY, 65536), 0);
    assert_int_equal(h3_settings_set(&s, H3_SETTING_MAX_FIELD_SECTION_SIZE, 16384), 0);
    assert_int_equal(h3_settings_set(&s, H3_SETTING_QPACK_BLOCKED_STREAMS, 100), 0);
    assert_int_equal(h3_settings_set(&s, H3_SETTING_H3_DATAGRAM, 1), 0);
    assert_int_equal(h3_settings_set(&s, H3_SETTING_H3_DATAGRAM_DRAFT04, 1), 0);
    assert_int_equal(h3_settings_set(&s, H3_SETTING_ENABLE_WEBTRANSPORT, 1), 0);
    uint8_t buf[128];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    /* grease 5: identifier 0x1f * 5 + 0x21 = 0xbc, value 5. */
    assert_true(h3_settings_put_frame(&w, &s, 5));
    size_t len = (size_t)(w.p - buf);
    uint8_t want[128];
    size_t want_len = test_unhex("04 1c"
                                 "01 80010000"  /* QPACK_MAX_TABLE_CAPACITY 65536 */
                                 "06 8000 4000" /* MAX_FIELD_SECTION_SIZE 16384 */
                                 "07 4064"      /* QPACK_BLOCKED_STREAMS 100 */
                                 "33 01"        /* H3_DATAGRAM */
                                 "80ffd277 01"  /* H3_DATAGRAM draft-04 */
                                 "ab603742 01"  /* ENABLE_WEBTRANSPORT */
                                 "40bc 05",     /* GREASE */
                                 want, sizeof(want));
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, want_len);
    assert_int_equal(h3_settings_payload_len(&s, 5) + 2, len);

    h3_frame f;
    assert_int_equal(h3_frame_decode(buf, len, &f), (int)len);
    h3_settings got;
    assert_int_equal(h3_settings_decode(f.payload, f.payload_len, &got), 0);
    assert_int_equal(got.qpack_max_table_capacity, 65536);
    assert_int_equal(got.max_field_section_size, 16384);
    assert_int_equal(got.qpack_blocked_streams, 100);
    assert_true(got.h3_datagram);
    assert_true(got.h3_datagram_draft04);
    assert_true(got.enable_webtransport);
    assert_false(got.enable_connect_protocol);
    assert_int_equal(got.present, s.present);
    assert_int_equal(got.n_extra, 0); /* GREASE is not kept */
    uint64_t v;
    assert_true(h3_settings_get(&got, H3_SETTING_ENABLE_WEBTRANSPORT, &v));
    assert_int_equal(v, 1);
    assert_false(h3_settings_get(&got, H3_SETTING_ENABLE_CONNECT_PROTOCOL, &v));
    assert_false(h3_settings_get(&got, 0xbc, &v));

    /* Every smaller buffer fails cleanly. */
    for (size_t cap = 0; cap < len; cap++) {
        quince_writer s2 = quince_writer_init(buf, cap);
        assert_false(h3_settings_put_frame(&s2, &s, 5));
        assert_true(s2.overflow);
    }
    /* Deterministic GREASE: the same value gives the same bytes, others differ. */
    uint8_t again[128];
    w = quince_writer_init(again, sizeof(again));
    assert_true(h3_settings_put_frame(&w, &s, 5));
    assert_memory_equal(again, want, want_len);
    w = quince_writer_init(again, sizeof(again));
    assert_true(h3_settings_put_frame(&w, &s, H3_SETTINGS_NO_GREASE));
    assert_int_equal(w.p - again, want_len - 3);
}

static void test_defaults_and_empty(void **state)
{
    (void)state;
    h3_settings s;
    assert_int_equal(h3_settings_decode(NULL, 0, &s), 0);
    assert_int_equal(s.qpack_max_table_capacity, 0);
    assert_int_equal(s.max_field_section_size, H3_SETTING_UNLIMITED);
    assert_int_equal(s.qpack_blocked_streams, 0);
    assert_int_equal(s.present, 0);
    uint8_t buf[8];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_settings_put_frame(&w, &s, H3_SETTINGS_NO_GREASE));
    const uint8_t empty[] = {0x04, 0x00};
    assert_memory_equal(buf, empty, 2);
    /* Non-minimal varints are legal (RFC 9000 §16). */
    assert_int_equal(decode_hex("4006 4001 80000008 00", &s), 0);
    assert_int_equal(s.max_field_section_size, 1);
    assert_int_equal(s.present, H3_SP_MAX_FIELD_SECTION_SIZE | H3_SP_ENABLE_CONNECT_PROTOCOL);
    assert_false(s.enable_connect_protocol);
}

static void test_grease_and_extensions(void **state)
{
    (void)state;
    h3_settings s;
    /* GREASE identifiers of every varint size, with any values, are ignored. */
    assert_int_equal(decode_hex("21 3f  405f 00  8000101d bfffffff"
                                "c000000737be7621 c000000000000000  07 05",
                                &s),
                     0);
    assert_int_equal(s.qpack_blocked_streams, 5);
    assert_int_equal(s.n_extra, 0);
    /* Unknown identifiers are kept for extensions, readable by identifier. */
    assert_int_equal(decode_hex("00 07  0a 0b  4123 4567  80f07000 01", &s), 0);
    assert_int_equal(s.n_extra, 4);
    uint64_t v;
    assert_true(h3_settings_get(&s, 0x0a, &v));
    assert_int_equal(v, 0x0b);
    assert_true(h3_settings_get(&s, 0x123, &v));
    assert_int_equal(v, 0x567);
    assert_true(h3_settings_get(&s, 0xf07000, &v));
    assert_int_equal(v, 1);
    assert_true(h3_settings_get(&s, 0x00, &v));
    assert_int_equal(v, 7);
    /* More unknown identifiers than the list holds: the rest are ignored. */
    uint8_t buf[256];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    for (uint64_t id = 0x100; id < 0x100 + H3_SETTINGS_MAX_EXTRA + 5; id++) {
        assert_true(quince_put_varint(&w, id));
        assert_true(quince_put_varint(&w, id * 2));
    }
    assert_int_equal(h3_settings_decode(buf, (size_t)(w.p - buf), &s), 0);
    assert_int_equal(s.n_extra, H3_SETTINGS_MAX_EXTRA);
    assert_true(h3_settings_get(&s, 0x100 + H3_SETTINGS_MAX_EXTRA - 1, &v));
    assert_false(h3_settings_get(&s, 0x100 + H3_SETTINGS_MAX_EXTRA, &v));

    /* An extension adds its own identifiers; they round-trip. */
    h3_settings mine;
    h3_settings_init(&mine);
    assert_int_equal(h3_settings_set(&mine, H3_SETTING_ENABLE_CONNECT_PROTOCOL, 1), 0);
    assert_int_equal(h3_settings_set(&mine, 0xf07000, 1), 0);    /* an extension */
    assert_int_equal(h3_settings_set(&mine, 0x4d45, 123456), 0); /* another */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_settings_put_frame(&w, &mine, 0xdeadbeef));
    h3_frame f;
    assert_int_equal(h3_frame_decode(buf, (size_t)(w.p - buf), &f), (int)(w.p - buf));
    assert_int_equal(h3_settings_decode(f.payload, f.payload_len, &s), 0);
    assert_true(s.enable_connect_protocol);
    assert_int_equal(s.n_extra, 2);
    assert_true(h3_settings_get(&s, 0x4d45, &v));
    assert_int_equal(v, 123456);
    /* The GREASE identifier chosen from 0xdeadbeef is a reserved one. */
    quince_reader r = quince_reader_init(f.payload, f.payload_len);
    uint64_t id = 0, last_id = 0;
    while (quince_get_varint(&r, &id) && quince_get_varint(&r, &v))
        last_id = id;
    assert_true(h3_is_grease(last_id));
    assert_int_equal(last_id, h3_grease_codepoint(0xdeadbeef));
    assert_int_equal(v, 0xdeadbeef & 0x3fffffff);
}

static void test_set_rejects(void **state)
{
    (void)state;
    h3_settings s;
    h3_settings_init(&s);
    for (uint64_t id = 2; id <= 5; id++)
        assert_int_equal(h3_settings_set(&s, id, 0), WIRE_ERR(H3_SETTINGS_ERROR));
    assert_int_equal(h3_settings_set(&s, 0, 1), WIRE_ERR(H3_SETTINGS_ERROR));
    assert_int_equal(h3_settings_set(&s, 0x21, 1), WIRE_ERR(H3_SETTINGS_ERROR));
    assert_int_equal(h3_settings_set(&s, H3_SETTING_H3_DATAGRAM, 2), WIRE_ERR(H3_SETTINGS_ERROR));
    assert_int_equal(h3_settings_set(&s, 6, QUINCE_VARINT_MAX + 1), WIRE_ERR(H3_SETTINGS_ERROR));
    assert_int_equal(h3_settings_set(&s, 0x1234, 1), 0);
    assert_int_equal(h3_settings_set(&s, 0x1234, 2), WIRE_ERR(H3_SETTINGS_ERROR));
    for (uint64_t i = 1; i < H3_SETTINGS_MAX_EXTRA; i++)
        assert_int_equal(h3_settings_set(&s, 0x2000 + i, i), 0);
    assert_int_equal(h3_settings_set(&s, 0x3000, 1), WIRE_ERR(H3_SETTINGS_ERROR));
    /* Known settings may be set again (the last value wins). */
    assert_int_equal(h3_settings_set(&s, 1, 10), 0);
    assert_int_equal(h3_settings_set(&s, 1, 20), 0);
    assert_int_equal(s.qpack_max_table_capacity, 20);
}

typedef struct neg {
    const char *name;
    const char *hex;
    int expect;
} neg;

static void test_decode_negative(void **state)
{
    (void)state;
    const neg cases[] = {
        {"trailing garbage: identifier without value", "01 10 07", WIRE_ERR(H3_FRAME_ERROR)},
        {"truncated value varint", "01 4010 06 80", WIRE_ERR(H3_FRAME_ERROR)},
        {"truncated identifier varint", "c0000000", WIRE_ERR(H3_FRAME_ERROR)},
        {"duplicate known identifier", "01 10 06 20 01 10", WIRE_ERR(H3_SETTINGS_ERROR)},
        {"duplicate via non-minimal encoding", "06 01 4006 02", WIRE_ERR(H3_SETTINGS_ERROR)},
        {"duplicate unknown identifier", "4123 01 4123 01", WIRE_ERR(H3_SETTINGS_ERROR)},
        {"duplicate GREASE identifier", "21 00 21 01", WIRE_ERR(H3_SETTINGS_ERROR)},
        {"HTTP/2 ENABLE_PUSH", "02 00", WIRE_ERR(H3_SETTINGS_ERROR)},
        {"HTTP/2 MAX_CONCURRENT_STREAMS", "06 10 03 24", WIRE_ERR(H3_SETTINGS_ERROR)},
        {"HTTP/2 INITIAL_WINDOW_SIZE", "04 80010000", WIRE_ERR(H3_SETTINGS_ERROR)},
        {"HTTP/2 MAX_FRAME_SIZE", "05 80004000", WIRE_ERR(H3_SETTINGS_ERROR)},
        {"ENABLE_CONNECT_PROTOCOL 2", "08 02", WIRE_ERR(H3_SETTINGS_ERROR)},
        {"H3_DATAGRAM 2", "33 02", WIRE_ERR(H3_SETTINGS_ERROR)},
        {"H3_DATAGRAM draft-04 huge", "80ffd277 c000000100000000", WIRE_ERR(H3_SETTINGS_ERROR)},
        {"ENABLE_WEBTRANSPORT 2", "ab603742 02", WIRE_ERR(H3_SETTINGS_ERROR)},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        h3_settings s;
        print_message("%s\n", cases[i].name);
        assert_int_equal(decode_hex(cases[i].hex, &s), cases[i].expect);
    }
    /* Booleans at 0 and 1 are fine. */
    h3_settings s;
    assert_int_equal(decode_hex("08 01 33 00 80ffd277 01 ab603742 00", &s), 0);
    assert_true(s.enable_connect_protocol);
    assert_false(s.h3_datagram);
    assert_true(s.h3_datagram_draft04);
    assert_false(s.enable_webtransport);
}

/* The bound on the number of settings in one frame (RFC 9114 §10.5). */
static void test_count_bound(void **state)
{
    (void)state;
    uint8_t buf[1024];
    h3_settings s;
    for (int extra = 0; extra < 2; extra++) {
        quince_writer w = quince_writer_init(buf, sizeof(buf));
        for (uint64_t n = 0; n < H3_SETTINGS_MAX_COUNT + (uint64_t)extra; n++) {
            assert_true(quince_put_varint(&w, h3_grease_codepoint(n)));
            assert_true(quince_put_varint(&w, n));
        }
        int rc = h3_settings_decode(buf, (size_t)(w.p - buf), &s);
        assert_int_equal(rc, extra ? WIRE_ERR(H3_EXCESSIVE_LOAD) : 0);
    }
}

/* The SETTINGS frame through the reader, fed one byte at a time, then decoded. */
static void test_settings_through_reader(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 9);
    h3_settings s;
    h3_settings_init(&s);
    assert_int_equal(h3_settings_set(&s, H3_SETTING_QPACK_BLOCKED_STREAMS, 16), 0);
    assert_int_equal(h3_settings_set(&s, H3_SETTING_MAX_FIELD_SECTION_SIZE, 1 << 20), 0);
    uint8_t buf[64];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_settings_put_frame(&w, &s, 42));
    size_t len = (size_t)(w.p - buf);
    h3_frame_reader_config cfg = {.role = H3_ROLE_CONTROL};
    h3_frame_reader r;
    h3_frame_reader_init(&r, &cfg, &t.env);
    int frames = 0;
    for (size_t i = 0; i < len; i++) {
        size_t used;
        h3_frame_event ev;
        assert_int_equal(h3_frame_reader_feed(&r, buf + i, 1, &used, &ev), 0);
        if (ev.type == H3_FEV_FRAME) {
            assert_int_equal(i, len - 1);
            h3_settings got;
            assert_int_equal(h3_settings_decode(ev.frame.payload, ev.frame.payload_len, &got), 0);
            assert_int_equal(got.qpack_blocked_streams, 16);
            assert_int_equal(got.max_field_section_size, 1 << 20);
            frames++;
        }
    }
    assert_int_equal(frames, 1);
    h3_frame_reader_free(&r);
    test_env_check_leaks(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chromium_like),           cmocka_unit_test(test_defaults_and_empty),
        cmocka_unit_test(test_grease_and_extensions),   cmocka_unit_test(test_set_rejects),
        cmocka_unit_test(test_decode_negative),         cmocka_unit_test(test_count_bound),
        cmocka_unit_test(test_settings_through_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
