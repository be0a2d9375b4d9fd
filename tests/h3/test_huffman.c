/* Tests for h3/huffman.c (RFC 7541 §5.2, Appendix B; examples of Appendix C.4 and C.6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "h3/huffman.h"
#include "tests/common/test_env.h"

/* Each test runs on h3_huffman_decode (the build's choice), then on each decoder. */
typedef int (*decode_fn)(const uint8_t *src, size_t len, uint8_t *out, size_t cap, size_t *out_len);
static decode_fn g_decode = h3_huffman_decode;

static void check_example(const char *text, const char *hex)
{
    uint8_t want[64], got[64], back[64];
    size_t wlen = test_unhex(hex, want, sizeof(want));
    size_t tlen = strlen(text);
    assert_int_equal(h3_huffman_encoded_len((const uint8_t *)text, tlen), wlen);
    assert_int_equal(h3_huffman_encode((const uint8_t *)text, tlen, got, sizeof(got)), wlen);
    assert_memory_equal(got, want, wlen);
    /* One byte of room too few fails. */
    assert_int_equal(h3_huffman_encode((const uint8_t *)text, tlen, got, wlen - 1), 0);
    size_t n = 0;
    assert_int_equal(g_decode(want, wlen, back, sizeof(back), &n), H3_QPACK_OK);
    assert_int_equal(n, tlen);
    assert_memory_equal(back, text, tlen);
    assert_true(h3_huffman_max_decoded_len(wlen) >= tlen);
    assert_int_equal(g_decode(want, wlen, back, tlen - 1, &n), H3_QPACK_ERR_BUFFER);
}

/* RFC 7541 C.4.1-C.4.3 and C.6.1 Huffman strings (hex copied from the RFC text). */
static void test_rfc7541_examples(void **state)
{
    (void)state;
    check_example("www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff");
    check_example("no-cache", "a8eb 1064 9cbf");
    check_example("custom-key", "25a8 49e9 5ba9 7d7f");
    check_example("custom-value", "25a8 49e9 5bb8 e8b4 bf");
    check_example("302", "6402");
    check_example("private", "aec3 771a 4b");
    check_example("Mon, 21 Oct 2013 20:13:21 GMT",
                  "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff");
    check_example("Mon, 21 Oct 2013 20:13:22 GMT",
                  "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff");
    check_example("https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3");
}

/* The generated code table equals the TSV extracted from RFC 7541 Appendix B. */
static void test_table_matches_spec(void **state)
{
    (void)state;
    size_t len;
    char *text = (char *)test_read_file("tests/vectors/data/hpack-huffman-table.tsv", &len);
    int rows = 0;
    for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char *end;
        unsigned long sym = strtoul(line, &end, 10);
        unsigned long code = strtoul(end + 1, &end, 16);
        unsigned long bits = strtoul(end + 1, &end, 10);
        assert_int_equal(sym, (unsigned long)rows);
        assert_int_equal(h3_huffman_code[sym], code);
        assert_int_equal(h3_huffman_bits[sym], bits);
        rows++;
    }
    assert_int_equal(rows, 257);
    free(text);
}

/* A bit-at-a-time reference decoder over the code table, independent of the state table. */
static int ref_decode(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    uint32_t code = 0;
    unsigned nbits = 0;
    size_t n = 0;
    for (size_t i = 0; i < len * 8; i++) {
        code = (code << 1) | ((in[i / 8] >> (7 - i % 8)) & 1);
        nbits++;
        for (int s = 0; s < 257; s++) {
            if (h3_huffman_bits[s] == nbits && h3_huffman_code[s] == code) {
                if (s == 256)
                    return -1; /* EOS in the string */
                out[n++] = (uint8_t)s;
                code = 0;
                nbits = 0;
                break;
            }
        }
        if (nbits > 30)
            return -1;
    }
    /* padding: at most 7 bits, all ones */
    if (nbits > 7 || code != (1u << nbits) - 1)
        return -1;
    *out_len = n;
    return 0;
}

/* Every 1- and 2-byte input: the table decoder agrees with the reference on
 * validity and output, covering every short padding and EOS case. */
static void test_exhaustive_short_inputs(void **state)
{
    (void)state;
    size_t valid = 0;
    for (unsigned len = 1; len <= 2; len++) {
        for (unsigned v = 0; v < (1u << (8 * len)); v++) {
            uint8_t in[2] = {(uint8_t)(len == 2 ? v >> 8 : v), (uint8_t)v};
            uint8_t a[8], b[8];
            size_t an = 0, bn = 0;
            int ra = g_decode(in, len, a, sizeof(a), &an);
            int rb = ref_decode(in, len, b, &bn);
            assert_int_equal(ra == H3_QPACK_OK, rb == 0);
            if (rb == 0) {
                assert_int_equal(an, bn);
                assert_memory_equal(a, b, an);
                valid++;
            } else {
                assert_int_equal(ra, H3_QPACK_ERR_HUFFMAN);
            }
        }
    }
    assert_true(valid > 1000);
}

static void expect_invalid(const char *hex)
{
    uint8_t in[16], out[32];
    size_t n = test_unhex(hex, in, sizeof(in));
    size_t got;
    assert_int_equal(g_decode(in, n, out, sizeof(out), &got), H3_QPACK_ERR_HUFFMAN);
}

static void test_invalid_padding_and_eos(void **state)
{
    (void)state;
    /* 'a' is 00011: 0x1f pads with 111 and is valid. */
    uint8_t ok[1] = {0x1f}, out[16];
    size_t n;
    assert_int_equal(g_decode(ok, 1, out, sizeof(out), &n), H3_QPACK_OK);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 'a');
    expect_invalid("18");         /* padding 000: not ones */
    expect_invalid("1e");         /* padding 110: not all ones */
    expect_invalid("1c");         /* padding 100 */
    expect_invalid("ff");         /* 8 bits of padding alone */
    expect_invalid("1fff");       /* 'a' then 11 ones of padding */
    expect_invalid("ffff");       /* 16 ones */
    expect_invalid("ffffff");     /* 24 ones */
    expect_invalid("fffffffc");   /* EOS (30 ones) then 00 */
    expect_invalid("ffffffff");   /* EOS then 2 ones */
    expect_invalid("1fffffffff"); /* 'a', padding bits, then EOS */
    expect_invalid("07ffffffff"); /* '0' (00000), padding ones, EOS mid-byte */
    /* Seven ones, the longest padding allowed: "aaaaa" is 25 bits. */
    uint8_t seven[4] = {0x18, 0xc6, 0x31, 0xff};
    assert_int_equal(g_decode(seven, 4, out, sizeof(out), &n), H3_QPACK_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "aaaaa", 5);
    /* The same with a 0 in the padding, or one more byte of ones, fails. */
    expect_invalid("18c631fe");
    expect_invalid("18c631ffff");
    /* The empty string decodes to nothing. */
    assert_int_equal(g_decode(ok, 0, out, sizeof(out), &n), H3_QPACK_OK);
    assert_int_equal(n, 0);
}

static void test_roundtrip_random(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 7);
    uint8_t src[300], enc[1200], dec[300];
    /* every symbol alone, then random strings of every length up to 300 */
    for (int s = 0; s < 256; s++) {
        uint8_t c = (uint8_t)s;
        size_t e = h3_huffman_encode(&c, 1, enc, sizeof(enc));
        assert_int_equal(e, (h3_huffman_bits[s] + 7) / 8);
        size_t n;
        assert_int_equal(g_decode(enc, e, dec, sizeof(dec), &n), H3_QPACK_OK);
        assert_int_equal(n, 1);
        assert_int_equal(dec[0], c);
    }
    for (size_t len = 0; len <= sizeof(src); len++) {
        t.env.random(t.env.user, src, len);
        if (len % 2) /* half of them text-like */
            for (size_t i = 0; i < len; i++)
                src[i] = (uint8_t)('a' + src[i] % 26);
        size_t e = h3_huffman_encoded_len(src, len);
        assert_int_equal(h3_huffman_encode(src, len, enc, sizeof(enc)), e);
        size_t n = 99;
        assert_int_equal(g_decode(enc, e, dec, sizeof(dec), &n), H3_QPACK_OK);
        assert_int_equal(n, len);
        if (len)
            assert_memory_equal(dec, src, len);
        assert_true(h3_huffman_max_decoded_len(e) >= len);
    }
}

static void compare_decoders(const uint8_t *in, size_t len)
{
    uint8_t a[16], b[16];
    size_t an = 0, bn = 0;
    int ra = h3_huffman_decode_fast(in, len, a, sizeof(a), &an);
    int rb = h3_huffman_decode_small(in, len, b, sizeof(b), &bn);
    assert_int_equal(ra, rb);
    if (ra == H3_QPACK_OK) {
        assert_int_equal(an, bn);
        assert_memory_equal(a, b, an);
    }
}

/* The two decoders agree (result and output) on every input of one and two
 * bytes, and on 2^17 random inputs of three to eight bytes (every three-byte
 * input takes too long under the sanitizers). */
static void test_small_matches_table(void **state)
{
    (void)state;
    for (uint32_t v = 0; v < 0x10000; v++) {
        uint8_t in[2] = {(uint8_t)(v >> 8), (uint8_t)v};
        compare_decoders(in + 1, 1);
        compare_decoders(in, 2);
    }
    test_env t;
    test_env_init(&t, 11);
    for (int i = 0; i < (1 << 17); i++) {
        uint8_t in[9];
        t.env.random(t.env.user, in, sizeof(in));
        compare_decoders(in + 1, 3 + in[0] % 6);
    }
}

static int use_build(void **state)
{
    (void)state;
    g_decode = h3_huffman_decode;
    return 0;
}

static int use_table(void **state)
{
    (void)state;
    g_decode = h3_huffman_decode_fast;
    return 0;
}

static int use_small(void **state)
{
    (void)state;
    g_decode = h3_huffman_decode_small;
    return 0;
}

#define DECODER_TESTS(setup)                                                                       \
    cmocka_unit_test_setup(test_rfc7541_examples, setup),                                          \
        cmocka_unit_test_setup(test_exhaustive_short_inputs, setup),                               \
        cmocka_unit_test_setup(test_invalid_padding_and_eos, setup),                               \
        cmocka_unit_test_setup(test_roundtrip_random, setup)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_spec),
        cmocka_unit_test(test_small_matches_table),
        DECODER_TESTS(use_build),
        DECODER_TESTS(use_table),
        DECODER_TESTS(use_small),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
