/* Tests for the QPACK primitives, static and dynamic tables, decoder and encoder (RFC 9204). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h3/qpack_decoder.h"
#include "h3/qpack_encoder.h"
#include "h3/qpack_prim.h"
#include "h3/qpack_static.h"
#include "h3/qpack_table.h"
#include "tests/common/test_env.h"

/* ---- prefixed integers (RFC 7541 §5.1, C.1) ---- */

static void int_roundtrip(unsigned prefix, uint64_t v, uint8_t flags)
{
    uint8_t buf[16];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_qpack_put_int(&w, flags, prefix, v));
    size_t n = (size_t)(w.p - buf);
    assert_int_equal(n, h3_qpack_int_len(prefix, v));
    assert_int_equal(buf[0] & ~((1u << prefix) - 1) & 0xff, flags);
    quince_reader r = quince_reader_init(buf, n);
    uint64_t got;
    assert_int_equal(h3_qpack_get_int(&r, prefix, &got), H3_QPACK_OK);
    assert_int_equal(got, v);
    assert_true(quince_reader_empty(&r));
    for (size_t cut = 0; cut < n; cut++) {
        quince_reader t = quince_reader_init(buf, cut);
        assert_int_equal(h3_qpack_get_int(&t, prefix, &got), H3_QPACK_ERR_TRUNCATED);
        assert_ptr_equal(t.p, buf);
    }
    /* too little room fails */
    quince_writer s = quince_writer_init(buf, n - 1);
    assert_false(h3_qpack_put_int(&s, flags, prefix, v));
}

static void test_integer_prefixes(void **state)
{
    (void)state;
    /* RFC 7541 C.1.1-C.1.3 */
    uint8_t buf[8];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_qpack_put_int(&w, 0, 5, 10));
    assert_true(h3_qpack_put_int(&w, 0, 5, 1337));
    assert_true(h3_qpack_put_int(&w, 0, 8, 42));
    const uint8_t want[] = {0x0a, 0x1f, 0x9a, 0x0a, 0x2a};
    assert_int_equal(w.p - buf, sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    for (unsigned prefix = 1; prefix <= 8; prefix++) {
        uint64_t mask = (1u << prefix) - 1;
        uint8_t flags = (uint8_t)(prefix == 8 ? 0 : 0xff << prefix);
        const uint64_t vals[] = {0,
                                 mask - 1,
                                 mask,
                                 mask + 1,
                                 mask + 127,
                                 mask + 128,
                                 1u << 20,
                                 UINT32_MAX,
                                 (UINT64_C(1) << 56) - 1,
                                 H3_QPACK_INT_MAX - 1,
                                 H3_QPACK_INT_MAX};
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
            int_roundtrip(prefix, vals[i], flags);
    }
}

static void test_integer_overflow(void **state)
{
    (void)state;
    uint64_t v;
    /* 2^62 with a 5-bit prefix: 31 + (2^62 - 31) */
    uint8_t buf[16];
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_qpack_put_int(&w, 0, 5, H3_QPACK_INT_MAX + 1)); /* the writer does not judge */
    quince_reader r = quince_reader_init(buf, (size_t)(w.p - buf));
    assert_int_equal(h3_qpack_get_int(&r, 5, &v), H3_QPACK_ERR_INTEGER);
    /* UINT64_MAX-sized continuation */
    const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    r = quince_reader_init(big, sizeof(big));
    assert_int_equal(h3_qpack_get_int(&r, 8, &v), H3_QPACK_ERR_INTEGER);
    /* Overlong: zero continuation groups beyond what 62 bits need. */
    const uint8_t pad[] = {0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    r = quince_reader_init(pad, sizeof(pad));
    assert_int_equal(h3_qpack_get_int(&r, 5, &v), H3_QPACK_ERR_INTEGER);
    /* Nine groups with leading zeros is still accepted (value 31). */
    const uint8_t nine[] = {0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    r = quince_reader_init(nine, sizeof(nine));
    assert_int_equal(h3_qpack_get_int(&r, 5, &v), H3_QPACK_OK);
    assert_int_equal(v, 31);
}

static void test_strings(void **state)
{
    (void)state;
    uint8_t buf[64];
    const char *s = "www.example.com";
    quince_writer w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_qpack_put_string(&w, 0x40, 5, (const uint8_t *)s, strlen(s), true));
    /* 01 H=1 len=12 (5-bit prefix) then the RFC 7541 C.4.1 Huffman bytes */
    uint8_t want[16];
    size_t wl = test_unhex("6c f1e3 c2e5 f23a 6ba0 ab90 f4ff", want, sizeof(want));
    assert_int_equal(w.p - buf, (ptrdiff_t)wl);
    assert_memory_equal(buf, want, wl);
    quince_reader r = quince_reader_init(buf, wl);
    const uint8_t *data;
    size_t len;
    bool huff;
    assert_int_equal(h3_qpack_get_string(&r, 5, &data, &len, &huff), H3_QPACK_OK);
    assert_true(huff);
    assert_int_equal(len, 12);
    /* Without Huffman, and a string that Huffman would not shorten. */
    w = quince_writer_init(buf, sizeof(buf));
    assert_true(h3_qpack_put_string(&w, 0x00, 7, (const uint8_t *)"abc", 3, false));
    assert_true(h3_qpack_put_string(&w, 0x00, 7, (const uint8_t *)"\xff\xfe", 2, true));
    const uint8_t want2[] = {0x03, 'a', 'b', 'c', 0x02, 0xff, 0xfe};
    assert_memory_equal(buf, want2, sizeof(want2));
    /* Length beyond the input is truncation and leaves the cursor. */
    const uint8_t trunc[] = {0x05, 'a', 'b'};
    r = quince_reader_init(trunc, sizeof(trunc));
    assert_int_equal(h3_qpack_get_string(&r, 7, &data, &len, &huff), H3_QPACK_ERR_TRUNCATED);
    assert_ptr_equal(r.p, trunc);
}

/* ---- static table (RFC 9204 Appendix A) ---- */

static void test_static_table(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)test_read_file("tests/vectors/data/qpack-static-table.tsv", &len);
    int rows = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char *name = strchr(line, '\t') + 1;
        char *value = strchr(name, '\t');
        *value++ = 0;
        assert_int_equal(atoi(line), rows);
        const h3_qpack_static_entry *e = h3_qpack_static_get((uint64_t)rows);
        assert_non_null(e);
        assert_string_equal(e->name, name);
        assert_string_equal(e->value, value);
        assert_int_equal(e->name_len, strlen(name));
        assert_int_equal(e->value_len, strlen(value));
        int exact;
        int idx = h3_qpack_static_find((const uint8_t *)name, strlen(name), (const uint8_t *)value,
                                       strlen(value), &exact);
        assert_int_equal(idx, rows); /* no duplicate entries in the table */
        assert_int_equal(exact, 1);
        rows++;
    }
    free(text);
    assert_int_equal(rows, 99);
    assert_null(h3_qpack_static_get(99));
    int exact;
    assert_int_equal(
        h3_qpack_static_find((const uint8_t *)":method", 7, (const uint8_t *)"GET", 3, &exact), 17);
    assert_int_equal(exact, 1);
    assert_int_equal(
        h3_qpack_static_find((const uint8_t *)":method", 7, (const uint8_t *)"PATCH", 5, &exact),
        15);
    assert_int_equal(exact, 0);
    assert_int_equal(h3_qpack_static_find((const uint8_t *)"content-type", 12,
                                          (const uint8_t *)"text/html; charset=utf-8", 24, &exact),
                     52);
    assert_int_equal(exact, 1);
    assert_int_equal(h3_qpack_static_find((const uint8_t *)"x-unknown", 9, NULL, 0, &exact), -1);
    assert_int_equal(
        h3_qpack_static_find((const uint8_t *)":path", 5, (const uint8_t *)"/", 1, &exact), 1);
}

/* ---- dynamic table (RFC 9204 §3.2) ---- */

static void test_dynamic_table(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 1);
    h3_qpack_table tab;
    assert_int_equal(h3_qpack_table_init(&tab, &t.env, 200), H3_QPACK_OK);
    assert_int_equal(tab.ring_size, 0); /* no memory until the capacity grows */
    /* Capacity starts at 0: nothing fits. */
    assert_int_equal(h3_qpack_table_insert(&tab, (const uint8_t *)"a", 1, NULL, 0, UINT64_MAX),
                     H3_QPACK_ERR_LIMIT);
    assert_int_equal(h3_qpack_table_set_capacity(&tab, 201, UINT64_MAX), H3_QPACK_ERR_LIMIT);
    assert_int_equal(h3_qpack_table_set_capacity(&tab, 100, UINT64_MAX), H3_QPACK_OK);
    assert_int_equal(tab.ring_size, 0); /* nor until the first entry */
    /* 1+9+32 = 42 each: two fit in 100, the third evicts the first. */
    assert_int_equal(h3_qpack_table_insert(&tab, (const uint8_t *)"a", 1,
                                           (const uint8_t *)"000000000", 9, UINT64_MAX),
                     H3_QPACK_OK);
    assert_int_equal(tab.ring_size, 3); /* 4 slots, but 100 bytes hold at most 3 entries */
    assert_int_equal(h3_qpack_table_insert(&tab, (const uint8_t *)"b", 1,
                                           (const uint8_t *)"111111111", 9, UINT64_MAX),
                     H3_QPACK_OK);
    assert_int_equal(tab.size, 84);
    /* With entry 0 pinned (limit 0) the third cannot go in. */
    assert_false(h3_qpack_table_can_insert(&tab, 42, 0));
    assert_int_equal(
        h3_qpack_table_insert(&tab, (const uint8_t *)"c", 1, (const uint8_t *)"222222222", 9, 0),
        H3_QPACK_ERR_LIMIT);
    assert_true(h3_qpack_table_can_insert(&tab, 42, 1));
    /* Insert with the name of the entry the insert evicts (RFC 9204 §3.2.2 caution). */
    const h3_qpack_entry *e0 = h3_qpack_table_get(&tab, 0);
    assert_int_equal(
        h3_qpack_table_insert(&tab, e0->name, e0->name_len, e0->value, e0->value_len, UINT64_MAX),
        H3_QPACK_OK);
    assert_null(h3_qpack_table_get(&tab, 0));
    const h3_qpack_entry *e2 = h3_qpack_table_get(&tab, 2);
    assert_non_null(e2);
    assert_memory_equal(e2->name, "a", 1);
    assert_memory_equal(e2->value, "000000000", 9);
    assert_null(h3_qpack_table_get(&tab, 3));
    assert_int_equal(tab.dropped, 1);
    assert_int_equal(tab.size, 84);
    /* An entry larger than the capacity. */
    assert_int_equal(
        h3_qpack_table_insert(&tab, (const uint8_t *)"0123456789", 10,
                              (const uint8_t *)"0123456789012345678901234567890123456789"
                                               "012345678901234567890",
                              61, UINT64_MAX),
        H3_QPACK_ERR_LIMIT);
    assert_int_equal(tab.insert_count, 3);
    /* Shrinking evicts from the oldest; a pinned entry blocks shrinking. */
    assert_int_equal(h3_qpack_table_set_capacity(&tab, 50, 1), H3_QPACK_ERR_LIMIT);
    assert_int_equal(h3_qpack_table_set_capacity(&tab, 50, UINT64_MAX), H3_QPACK_OK);
    assert_int_equal(tab.size, 42);
    assert_int_equal(tab.dropped, 2);
    assert_int_equal(h3_qpack_table_set_capacity(&tab, 0, UINT64_MAX), H3_QPACK_OK);
    assert_int_equal(tab.size, 0);
    assert_int_equal(tab.dropped, 3);
    /* Many wraps of the ring. */
    assert_int_equal(h3_qpack_table_set_capacity(&tab, 200, UINT64_MAX), H3_QPACK_OK);
    for (int i = 0; i < 100; i++) {
        uint8_t v[4] = {(uint8_t)i, 1, 2, 3};
        assert_int_equal(h3_qpack_table_insert(&tab, (const uint8_t *)"k", 1, v,
                                               1 + (size_t)(i % 4), UINT64_MAX),
                         H3_QPACK_OK);
        assert_true(tab.size <= 200);
        const h3_qpack_entry *e = h3_qpack_table_get(&tab, tab.insert_count - 1);
        assert_int_equal(e->value[0], (uint8_t)i);
    }
    h3_qpack_table_free(&tab);
    test_env_check_leaks(&t);
}

/* ---- decoder ---- */

typedef struct got {
    int calls;
    uint64_t stream_id;
    char text[512];
} got;

static int on_section(void *user, uint64_t stream_id, const h3_field *f, size_t n)
{
    got *g = user;
    size_t used = 0;
    g->calls++;
    g->stream_id = stream_id;
    for (size_t i = 0; i < n; i++) {
        assert_true(used + f[i].name_len + f[i].value_len + 3 < sizeof(g->text));
        memcpy(g->text + used, f[i].name, f[i].name_len);
        used += f[i].name_len;
        g->text[used++] = '=';
        if (f[i].value_len)
            memcpy(g->text + used, f[i].value, f[i].value_len);
        used += f[i].value_len;
        g->text[used++] = ';';
    }
    g->text[used] = 0;
    return 0;
}

typedef struct fixture {
    test_env t;
    h3_qpack_decoder *dec;
    got g;
} fixture;

static void fx_init(fixture *fx, size_t cap, size_t blocked, size_t fss)
{
    test_env_init(&fx->t, 5);
    memset(&fx->g, 0, sizeof(fx->g));
    fx->dec = h3_qpack_decoder_new(&fx->t.env, cap, blocked, fss);
    assert_non_null(fx->dec);
    h3_qpack_decoder_set_callback(fx->dec, on_section, &fx->g);
}

static void fx_done(fixture *fx)
{
    h3_qpack_decoder_free(fx->dec);
    test_env_check_leaks(&fx->t);
}

static int enc_hex(fixture *fx, const char *hex)
{
    uint8_t buf[256];
    size_t n = test_unhex(hex, buf, sizeof(buf));
    return h3_qpack_decoder_feed_encoder(fx->dec, buf, n);
}

static int sec_hex(fixture *fx, uint64_t sid, const char *hex)
{
    uint8_t buf[256];
    size_t n = test_unhex(hex, buf, sizeof(buf));
    return h3_qpack_decoder_decode(fx->dec, sid, buf, n);
}

static void expect_drain(fixture *fx, const char *hex)
{
    uint8_t want[64], out[64];
    size_t wl = test_unhex(hex, want, sizeof(want));
    size_t n = h3_qpack_decoder_drain(fx->dec, out, sizeof(out));
    assert_int_equal(n, wl);
    if (wl)
        assert_memory_equal(out, want, wl);
}

/* Set capacity 220 and insert :authority=www.example.com, :path=/sample/path (RFC 9204 B.2). */
#define B2_ENCODER "3fbd01 c00f7777772e6578616d706c652e636f6d c10c2f73616d706c652f70617468"

static void test_decoder_fragmented_encoder_stream(void **state)
{
    (void)state;
    fixture fx;
    fx_init(&fx, 220, 10, 4096);
    uint8_t buf[64];
    size_t n = test_unhex(B2_ENCODER, buf, sizeof(buf));
    for (size_t i = 0; i < n; i++)
        assert_int_equal(h3_qpack_decoder_feed_encoder(fx.dec, buf + i, 1), H3_QPACK_OK);
    assert_int_equal(h3_qpack_decoder_insert_count(fx.dec), 2);
    /* the section, then the increment the drain adds is not needed: the ack covers it */
    assert_int_equal(sec_hex(&fx, 4, "0381 10 11"), H3_QPACK_OK);
    assert_string_equal(fx.g.text, ":authority=www.example.com;:path=/sample/path;");
    expect_drain(&fx, "84");
    expect_drain(&fx, "");
    /* relative indexing with Base = 2 (sign 0, delta 0): 81 = abs 0, 80 = abs 1 */
    assert_int_equal(sec_hex(&fx, 8, "0300 81 80 d1"), H3_QPACK_OK);
    assert_string_equal(fx.g.text, ":authority=www.example.com;:path=/sample/path;:method=GET;");
    /* literal with dynamic name ref (relative 0 = :path) and post-base name ref with base 0 */
    assert_int_equal(sec_hex(&fx, 12, "0300 4003616263"), H3_QPACK_OK);
    assert_string_equal(fx.g.text, ":path=abc;");
    assert_int_equal(sec_hex(&fx, 16, "0381 0101 78"), H3_QPACK_OK);
    assert_string_equal(fx.g.text, ":path=x;");
    /* literal name, Huffman value (RFC 7541 C.4.3 custom-key/custom-value) */
    assert_int_equal(sec_hex(&fx, 20, "0000 2703 637573746f6d2d6b6579 8925a849e95bb8e8b4bf"),
                     H3_QPACK_OK);
    assert_string_equal(fx.g.text, "custom-key=custom-value;");
    expect_drain(&fx, "88 8c 90");
    fx_done(&fx);
}

/* RFC 9204 §4.5.1.1: the Required Insert Count wraps modulo 2 * MaxEntries. */
static void test_decoder_ric_wraparound(void **state)
{
    (void)state;
    fixture fx;
    fx_init(&fx, 68, 10, 4096);                          /* MaxEntries 2, FullRange 4 */
    assert_int_equal(enc_hex(&fx, "3f25"), H3_QPACK_OK); /* two 34-byte entries fit */
    for (int i = 0; i < 9; i++) {
        uint8_t ins[4] = {0x41, 'a', 0x01, (uint8_t)('0' + i)}; /* a=<i>, 34 bytes */
        assert_int_equal(h3_qpack_decoder_feed_encoder(fx.dec, ins, sizeof(ins)), H3_QPACK_OK);
        if (i == 4) {
            /* RIC 5 encodes as 5 % 4 + 1 = 2 */
            assert_int_equal(sec_hex(&fx, 4, "0200 80"), H3_QPACK_OK);
            assert_string_equal(fx.g.text, "a=4;");
        }
    }
    assert_int_equal(sec_hex(&fx, 8, "0200 80"), H3_QPACK_OK); /* RIC 9 */
    assert_string_equal(fx.g.text, "a=8;");
    assert_int_equal(sec_hex(&fx, 12, "0100 80"), H3_QPACK_OK); /* RIC 8 */
    assert_string_equal(fx.g.text, "a=7;");
    /* RIC 10 (encoded 3) is ahead of the 9 inserts: blocked */
    assert_int_equal(sec_hex(&fx, 16, "0300 80"), H3_QPACK_BLOCKED);
    expect_drain(&fx, "84 88 8c");
    fx_done(&fx);
}

static void test_decoder_blocking_and_cancel(void **state)
{
    (void)state;
    fixture fx;
    fx_init(&fx, 220, 2, 4096);
    /* Two sections on streams 4 and 8 that need inserts not yet received. */
    assert_int_equal(sec_hex(&fx, 4, "0381 10 11"), H3_QPACK_BLOCKED);
    assert_int_equal(sec_hex(&fx, 8, "0200 80"), H3_QPACK_BLOCKED);
    assert_int_equal(h3_qpack_decoder_blocked(fx.dec), 2);
    assert_int_equal(fx.g.calls, 0);
    /* cancel stream 8: Stream Cancellation 0x48 */
    assert_int_equal(h3_qpack_decoder_cancel_stream(fx.dec, 8), H3_QPACK_OK);
    expect_drain(&fx, "48");
    assert_int_equal(h3_qpack_decoder_blocked(fx.dec), 1);
    /* The inserts arrive in pieces: stream 4 completes on the second insert only. */
    assert_int_equal(enc_hex(&fx, "3fbd01 c00f7777772e6578616d706c652e636f6d"), H3_QPACK_OK);
    assert_int_equal(fx.g.calls, 0);
    assert_int_equal(enc_hex(&fx, "c10c2f73616d706c652f70617468"), H3_QPACK_OK);
    assert_int_equal(fx.g.calls, 1);
    assert_int_equal(fx.g.stream_id, 4);
    assert_string_equal(fx.g.text, ":authority=www.example.com;:path=/sample/path;");
    assert_int_equal(h3_qpack_decoder_blocked(fx.dec), 0);
    expect_drain(&fx, "84");
    fx_done(&fx);
}

typedef struct neg_case {
    const char *what;
    size_t cap, blocked, fss;
    const char *encoder; /* fed first (may be NULL) */
    uint64_t stream_id;
    const char *section; /* then decoded (may be NULL) */
    int rc;
    uint64_t wire;
} neg_case;

#define DF H3_QPACK_ERR_DECOMPRESSION, H3_QPACK_DECOMPRESSION_FAILED
#define ES H3_QPACK_ERR_ENCODER_STREAM, H3_QPACK_ENCODER_STREAM_ERROR

/* Decoder negative cases: each gives exactly the wire error of RFC 9204 §6. */
static const neg_case neg_cases[] = {
    {"static index 99 (beyond the table)", 220, 10, 4096, NULL, 4, "0000 ff24", DF},
    {"static name ref 99", 220, 10, 4096, NULL, 4, "0000 5f5401 61", DF},
    {"dynamic index beyond the table", 220, 10, 4096, B2_ENCODER, 4, "0300 82", DF},
    {"dynamic ref with Required Insert Count 0", 220, 10, 4096, B2_ENCODER, 4, "0000 80", DF},
    {"reference to an evicted entry", 220, 10, 4096, B2_ENCODER " 3f19", 4, "0300 81", DF},
    {"encoded RIC above 2*MaxEntries (12)", 220, 10, 4096, NULL, 4, "0f00 d1", DF},
    {"RIC that wraps to an impossible value", 220, 10, 4096, NULL, 4, "0900 d1", DF},
    {"encoded RIC with no dynamic table", 0, 10, 4096, NULL, 4, "0100 d1", DF},
    {"sign 1 with Delta Base >= RIC (negative Base)", 220, 10, 4096, B2_ENCODER, 4, "0382 10", DF},
    {"post-base index >= RIC", 220, 10, 4096, B2_ENCODER, 4, "0280 11", DF},
    {"post-base index with RIC 0", 220, 10, 4096, NULL, 4, "0000 10", DF},
    {"post-base name ref >= RIC", 220, 10, 4096, B2_ENCODER, 4, "0280 0101 78", DF},
    {"field section over the limit", 220, 10, 60, NULL, 4, "0000 d1 d1", DF},
    {"too many blocked streams (0 allowed)", 220, 0, 4096, NULL, 4, "0381 10 11", DF},
    {"Huffman EOS in a field value", 220, 10, 4096, NULL, 4, "0000 5184ffffffff", DF},
    {"value length past the end", 220, 10, 4096, NULL, 4, "0000 5105 6162", DF},
    {"truncated Delta Base", 220, 10, 4096, NULL, 4, "00", DF},
    {"overlong integer in a section", 220, 10, 4096, NULL, 4, "0000 ff808080808080808080808000",
     DF},
    {"capacity above the maximum", 220, 10, 4096, "3fbe01", 0, NULL, ES},
    {"insert that does not fit", 220, 10, 4096,
     "3f09 4a637573746f6d2d6b65790c637573746f6d2d76616c7565", 0, NULL, ES},
    {"duplicate of a missing entry", 220, 10, 4096, "3fbd01 00", 0, NULL, ES},
    {"duplicate index past the oldest", 220, 10, 4096, B2_ENCODER " 02", 0, NULL, ES},
    {"insert with static name index 99", 220, 10, 4096, "3fbd01 ff2403616263", 0, NULL, ES},
    {"insert with a missing dynamic name", 220, 10, 4096, "3fbd01 8003616263", 0, NULL, ES},
    {"overlong integer on the encoder stream", 220, 10, 4096, "3fffffffffffffffffff01", 0, NULL,
     ES},
    {"Huffman padding of zeros in an insert", 220, 10, 4096, "3fbd01 c08118", 0, NULL, ES},
};

static void test_decoder_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(neg_cases) / sizeof(neg_cases[0]); i++) {
        const neg_case *c = &neg_cases[i];
        print_message("%s\n", c->what);
        fixture fx;
        fx_init(&fx, c->cap, c->blocked, c->fss);
        int rc = H3_QPACK_OK;
        if (c->encoder != NULL)
            rc = enc_hex(&fx, c->encoder);
        if (c->section != NULL) {
            assert_int_equal(rc, H3_QPACK_OK);
            rc = sec_hex(&fx, c->stream_id, c->section);
        }
        assert_int_equal(rc, c->rc);
        assert_int_equal(h3_qpack_decoder_wire_error(fx.dec), c->wire);
        assert_int_equal(fx.g.calls, 0);
        /* The error is sticky. */
        assert_int_equal(sec_hex(&fx, 4, "0000 d1"), c->rc);
        assert_int_equal(enc_hex(&fx, "3f00"), c->rc);
        fx_done(&fx);
    }
    assert_true(sizeof(neg_cases) / sizeof(neg_cases[0]) >= 15);
}

static void test_decoder_limits(void **state)
{
    (void)state;
    fixture fx;
    /* one blocked section allowed; the second is an error */
    fx_init(&fx, 220, 1, 4096);
    assert_int_equal(sec_hex(&fx, 4, "0381 10 11"), H3_QPACK_BLOCKED);
    assert_int_equal(sec_hex(&fx, 8, "0381 10"), H3_QPACK_ERR_DECOMPRESSION);
    assert_int_equal(h3_qpack_decoder_wire_error(fx.dec), H3_QPACK_DECOMPRESSION_FAILED);
    fx_done(&fx);
    /* the field section size counts name + value + 32: exactly at the limit is fine */
    fx_init(&fx, 220, 1, 5 + 1 + 32 + 7 + 3 + 32); /* :path=/ and :method=GET */
    assert_int_equal(sec_hex(&fx, 4, "0000 c1 d1"), H3_QPACK_OK);
    assert_int_equal(sec_hex(&fx, 4, "0000 c1 d1 c1"), H3_QPACK_ERR_DECOMPRESSION);
    fx_done(&fx);
    /* an encoder-stream instruction longer than the buffer bound */
    fx_init(&fx, 4096, 1, 4096);
    h3_qpack_decoder_set_limits(fx.dec, 64, 1 << 20);
    assert_int_equal(enc_hex(&fx, "3fe11f 5f7f"), H3_QPACK_ERR_ENCODER_STREAM); /* name of 158 */
    assert_int_equal(h3_qpack_decoder_wire_error(fx.dec), H3_QPACK_ENCODER_STREAM_ERROR);
    fx_done(&fx);
    /* blocked bytes bound */
    fx_init(&fx, 220, 10, 4096);
    h3_qpack_decoder_set_limits(fx.dec, 1024, 4);
    assert_int_equal(sec_hex(&fx, 4, "0381 10 11"), H3_QPACK_BLOCKED);
    assert_int_equal(sec_hex(&fx, 8, "0381 10"), H3_QPACK_ERR_DECOMPRESSION);
    fx_done(&fx);
    /* a decoder without a dynamic table sends no Stream Cancellation */
    fx_init(&fx, 0, 0, 4096);
    assert_int_equal(h3_qpack_decoder_cancel_stream(fx.dec, 4), H3_QPACK_OK);
    expect_drain(&fx, "");
    fx_done(&fx);
}

/* Allocation failures anywhere give an error or success, never a crash or a leak. */
static void test_decoder_alloc_failures(void **state)
{
    (void)state;
    for (size_t k = 1; k < 20; k++) {
        test_env t;
        test_env_init(&t, 9);
        t.fail_after = k;
        h3_qpack_decoder *dec = h3_qpack_decoder_new(&t.env, 220, 4, 4096);
        if (dec != NULL) {
            uint8_t buf[64];
            size_t n = test_unhex("0381 10 11", buf, sizeof(buf));
            h3_qpack_decoder_decode(dec, 4, buf, n);
            n = test_unhex(B2_ENCODER, buf, sizeof(buf));
            h3_qpack_decoder_feed_encoder(dec, buf, n / 2);
            h3_qpack_decoder_feed_encoder(dec, buf + n / 2, n - n / 2);
            h3_qpack_decoder_drain(dec, buf, sizeof(buf));
            uint64_t w = h3_qpack_decoder_wire_error(dec);
            assert_true(w == 0 || w == H3_QPACK_INTERNAL_ERROR);
            h3_qpack_decoder_free(dec);
        }
        t.fail_after = 0;
        test_env_check_leaks(&t);
    }
}

/* ---- encoder ---- */

static h3_field F(const char *n, const char *v)
{
    h3_field f = {(const uint8_t *)n, strlen(n), (const uint8_t *)v, strlen(v)};
    return f;
}

static void test_encoder_static_only(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 11);
    h3_qpack_encoder *enc = h3_qpack_encoder_new(&t.env, 4096);
    /* before SETTINGS: static table and literals only */
    h3_field f[] = {F(":method", "GET"), F(":path", "/index.html"), F("x-a", "b")};
    uint8_t out[128];
    size_t n;
    assert_int_equal(h3_qpack_encode(enc, 0, f, 3, out, sizeof(out), &n), H3_QPACK_OK);
    /* 0000, d1 (:method GET), 51 + Huffman "/index.html" (8 bytes), 23 "x-a" 01 "b" */
    uint8_t want[32];
    size_t wl = test_unhex("0000 d1 51 88 60d5485f2bce9a68 23 782d61 01 62", want, sizeof(want));
    assert_int_equal(n, wl);
    assert_memory_equal(out, want, wl);
    assert_int_equal(h3_qpack_encoder_pending(enc), 0);
    /* static-only policy after SETTINGS, and Huffman off */
    assert_int_equal(h3_qpack_encoder_apply_settings(enc, 4096, 100), H3_QPACK_OK);
    assert_int_equal(h3_qpack_encoder_apply_settings(enc, 4096, 100), H3_QPACK_ERR_ARG);
    uint8_t es[16];
    assert_int_equal(h3_qpack_encoder_drain(enc, es, sizeof(es)), 3);
    assert_memory_equal(es, "\x3f\xe1\x1f", 3); /* Set Dynamic Table Capacity 4096 */
    h3_qpack_encoder_set_policy(enc, true, false);
    assert_int_equal(h3_qpack_encode(enc, 4, f, 3, out, sizeof(out), &n), H3_QPACK_OK);
    wl = test_unhex("0000 d1 510b 2f696e6465782e68746d6c 23 782d61 01 62", want, sizeof(want));
    assert_int_equal(n, wl);
    assert_memory_equal(out, want, wl);
    assert_int_equal(h3_qpack_encoder_pending(enc), 0);
    h3_qpack_encoder_free(enc);
    test_env_check_leaks(&t);
}

/* Dynamic table use, acknowledgments, blocked-stream budget, and the decoder stream errors. */
static void test_encoder_dynamic(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 12);
    h3_qpack_encoder *enc = h3_qpack_encoder_new(&t.env, 220);
    /* peer allows 4096 but we keep 220; peer allows one blocked stream */
    assert_int_equal(h3_qpack_encoder_apply_settings(enc, 4096, 1), H3_QPACK_OK);
    uint8_t es[256], out[256];
    assert_int_equal(h3_qpack_encoder_drain(enc, es, sizeof(es)), 3);
    assert_memory_equal(es, "\x3f\xbd\x01", 3); /* capacity 220 */
    h3_field f[] = {F(":authority", "www.example.com"), F("custom-key", "custom-value")};
    size_t n;
    /* first sighting: literals only (static name ref, literal name), nothing inserted */
    assert_int_equal(h3_qpack_encode(enc, 0, f, 2, out, sizeof(out), &n), H3_QPACK_OK);
    assert_int_equal(h3_qpack_encoder_insert_count(enc), 0);
    assert_int_equal(out[0], 0x00);
    assert_int_equal(out[2], 0x50);
    /* second: both are inserted and referenced */
    assert_int_equal(h3_qpack_encode(enc, 4, f, 2, out, sizeof(out), &n), H3_QPACK_OK);
    assert_int_equal(h3_qpack_encoder_insert_count(enc), 2);
    assert_int_equal(h3_qpack_encoder_blocked_streams(enc), 1);
    /* RIC 2 over MaxEntries 128 encodes as 3; Base 2; relative 1 and 0 */
    const uint8_t want[] = {0x03, 0x00, 0x81, 0x80};
    assert_int_equal(n, sizeof(want));
    assert_memory_equal(out, want, sizeof(want));
    /* RFC 9204 §7.1.3: authorization is never indexed, however often it is seen */
    h3_field auth[] = {F("authorization", "secret"), F("x-token", "secret")};
    for (int k = 0; k < 3; k++) {
        assert_int_equal(h3_qpack_encode(enc, 4, auth, 1, out, sizeof(out), &n), H3_QPACK_OK);
        /* 0x70 | 15, 84 - 15: literal with static name ref 84 and N = 1 */
        assert_int_equal(out[2], 0x7f);
        assert_int_equal(out[3], 0x45);
    }
    assert_int_equal(h3_qpack_encode(enc, 12, auth + 1, 1, out, sizeof(out), &n), H3_QPACK_OK);
    assert_int_equal(out[2] & 0xf0, 0x20); /* first sighting: literal name, N = 0 */
    assert_int_equal(h3_qpack_encoder_insert_count(enc), 2);
    /* a second stream may not block too (budget 1): the same fields go as literals */
    assert_int_equal(h3_qpack_encode(enc, 8, f, 2, out, sizeof(out), &n), H3_QPACK_OK);
    assert_int_equal(out[0], 0x00);
    assert_int_equal(h3_qpack_encoder_blocked_streams(enc), 1);
    /* decoder stream errors: ack of a stream with nothing outstanding, increment 0,
     * increment beyond the inserts sent */
    assert_int_equal(h3_qpack_encoder_feed_decoder(enc, (const uint8_t *)"\x88", 1),
                     H3_QPACK_ERR_DECODER_STREAM);
    assert_int_equal(h3_qpack_encoder_wire_error(enc), H3_QPACK_DECODER_STREAM_ERROR);
    h3_qpack_encoder_free(enc);

    const struct {
        const char *hex;
        int rc;
    } dcases[] = {
        {"84", H3_QPACK_OK},                    /* ack of stream 4 */
        {"84 84", H3_QPACK_ERR_DECODER_STREAM}, /* second ack: nothing outstanding */
        {"00", H3_QPACK_ERR_DECODER_STREAM},    /* increment 0 */
        {"03", H3_QPACK_ERR_DECODER_STREAM},    /* beyond the 2 inserts sent */
        {"02", H3_QPACK_OK},
        {"01 01 01", H3_QPACK_ERR_DECODER_STREAM},
        {"44 84", H3_QPACK_ERR_DECODER_STREAM},                  /* cancelled, then acked */
        {"3fffffffffffffffffff01", H3_QPACK_ERR_DECODER_STREAM}, /* overlong */
        {"ff80808080808080808080808001", H3_QPACK_ERR_DECODER_STREAM},
        {"48", H3_QPACK_OK}, /* cancellation of an unknown stream is fine */
        {"44", H3_QPACK_OK}, /* cancellation of stream 4: it no longer blocks */
    };
    for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
        enc = h3_qpack_encoder_new(&t.env, 220);
        assert_int_equal(h3_qpack_encoder_apply_settings(enc, 4096, 1), H3_QPACK_OK);
        assert_int_equal(h3_qpack_encode(enc, 0, f, 2, out, sizeof(out), &n), H3_QPACK_OK);
        assert_int_equal(h3_qpack_encode(enc, 4, f, 2, out, sizeof(out), &n), H3_QPACK_OK);
        assert_int_equal(h3_qpack_encoder_insert_count(enc), 2);
        uint8_t in[32];
        size_t il = test_unhex(dcases[i].hex, in, sizeof(in));
        /* byte by byte, to exercise reassembly */
        int rc = H3_QPACK_OK;
        for (size_t k = 0; k < il && rc == H3_QPACK_OK; k++)
            rc = h3_qpack_encoder_feed_decoder(enc, in + k, 1);
        assert_int_equal(rc, dcases[i].rc);
        if (strcmp(dcases[i].hex, "84") == 0 || strcmp(dcases[i].hex, "02") == 0) {
            /* acknowledged: nothing can block, the known received count covers both */
            assert_int_equal(h3_qpack_encoder_blocked_streams(enc), 0);
            assert_int_equal(h3_qpack_encoder_known_received(enc), 2);
        }
        if (strcmp(dcases[i].hex, "44") == 0) {
            assert_int_equal(h3_qpack_encoder_blocked_streams(enc), 0);
            assert_int_equal(h3_qpack_encoder_known_received(enc), 0);
        }
        if (strcmp(dcases[i].hex, "48") == 0)
            assert_int_equal(h3_qpack_encoder_blocked_streams(enc), 1);
        assert_int_equal(h3_qpack_encoder_wire_error(enc),
                         rc == H3_QPACK_OK ? 0 : H3_QPACK_DECODER_STREAM_ERROR);
        h3_qpack_encoder_free(enc);
    }
    test_env_check_leaks(&t);
}

/* The encoder never evicts an entry an unacknowledged section references. */
static void test_encoder_pins_referenced_entries(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 13);
    h3_qpack_encoder *enc = h3_qpack_encoder_new(&t.env, 4096);
    h3_qpack_decoder *dec = h3_qpack_decoder_new(&t.env, 128, 100, 1 << 16);
    assert_int_equal(h3_qpack_encoder_apply_settings(enc, 128, 100), H3_QPACK_OK);
    got g;
    memset(&g, 0, sizeof(g));
    h3_qpack_decoder_set_callback(dec, on_section, &g);
    uint8_t out[256], es[1024];
    size_t n;
    /* each field is 32+1+20 = 53 bytes: two fit in 128 */
    char vals[6][21];
    for (int i = 0; i < 6; i++)
        snprintf(vals[i], sizeof(vals[i]), "value-%014d", i);
    uint64_t sent = 0;
    for (int i = 0; i < 12; i++) {
        /* each value twice: the second sighting inserts it while room is left */
        h3_field f = F("k", vals[i / 2]);
        assert_int_equal(h3_qpack_encode(enc, 4 * (uint64_t)i, &f, 1, out, sizeof(out), &n),
                         H3_QPACK_OK);
        /* no acks at all: after two inserts, nothing may be evicted */
        assert_int_equal(h3_qpack_encoder_insert_count(enc), i < 1 ? 0 : i < 3 ? 1 : 2);
        size_t e = h3_qpack_encoder_drain(enc, es, sizeof(es));
        sent += e;
        assert_int_equal(h3_qpack_decoder_feed_encoder(dec, es, e), H3_QPACK_OK);
        assert_int_equal(h3_qpack_decoder_decode(dec, 4 * (uint64_t)i, out, n), H3_QPACK_OK);
        char want[64];
        snprintf(want, sizeof(want), "k=%s;", vals[i / 2]);
        assert_string_equal(g.text, want);
    }
    assert_true(sent > 0);
    assert_int_equal(h3_qpack_decoder_insert_count(dec), 2);
    h3_qpack_encoder_free(enc);
    h3_qpack_decoder_free(dec);
    test_env_check_leaks(&t);
}

/* Allocation failures in the encoder: an error code, never a crash, a leak or a bad stream. */
static void test_encoder_alloc_failures(void **state)
{
    (void)state;
    h3_field f[] = {F(":authority", "www.example.com"), F("custom-key", "custom-value"),
                    F(":path", "/")};
    size_t failures = 0;
    for (size_t k = 1; k < 24; k++) {
        test_env t;
        test_env_init(&t, 14);
        t.fail_after = k;
        h3_qpack_encoder *enc = h3_qpack_encoder_new(&t.env, 4096);
        if (enc != NULL) {
            /* whatever failed, what the encoder did send must decode */
            fixture fx;
            fx_init(&fx, 4096, 10, 4096);
            uint8_t out[256], es[256];
            size_t n;
            if (h3_qpack_encoder_apply_settings(enc, 4096, 10) != H3_QPACK_OK)
                failures++;
            for (uint64_t sid = 0; sid < 8; sid += 4) {
                int rc = h3_qpack_encode(enc, sid, f, 3, out, sizeof(out), &n);
                size_t e = h3_qpack_encoder_drain(enc, es, sizeof(es));
                assert_int_equal(h3_qpack_decoder_feed_encoder(fx.dec, es, e), H3_QPACK_OK);
                if (rc == H3_QPACK_ERR_NOMEM) {
                    failures++;
                    continue;
                }
                assert_int_equal(rc, H3_QPACK_OK);
                assert_int_equal(h3_qpack_decoder_decode(fx.dec, sid, out, n), H3_QPACK_OK);
                assert_string_equal(fx.g.text,
                                    ":authority=www.example.com;custom-key=custom-value;:path=/;");
            }
            h3_qpack_encoder_free(enc);
            fx_done(&fx);
        } else {
            failures++;
        }
        t.fail_after = 0;
        test_env_check_leaks(&t);
    }
    assert_true(failures > 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_integer_prefixes),
        cmocka_unit_test(test_integer_overflow),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_static_table),
        cmocka_unit_test(test_dynamic_table),
        cmocka_unit_test(test_decoder_fragmented_encoder_stream),
        cmocka_unit_test(test_decoder_ric_wraparound),
        cmocka_unit_test(test_decoder_blocking_and_cancel),
        cmocka_unit_test(test_decoder_errors),
        cmocka_unit_test(test_decoder_limits),
        cmocka_unit_test(test_decoder_alloc_failures),
        cmocka_unit_test(test_encoder_static_only),
        cmocka_unit_test(test_encoder_dynamic),
        cmocka_unit_test(test_encoder_pins_referenced_entries),
        cmocka_unit_test(test_encoder_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
