/* Tests for crypto/x509_check.c: DER walk, IP literals, host matching, calendar arithmetic. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/backend.h"
#include "crypto/x509_check.h"
#include "tests/common/test_env.h"

static void ip_ok(const char *s, const char *hex)
{
    uint8_t got[16], want[16];
    size_t n = test_unhex(hex, want, sizeof(want));
    size_t len = crypto_ip_parse(s, strlen(s), got);
    if (len != n)
        fail_msg("%s: length %zu, want %zu", s, len, n);
    assert_memory_equal(got, want, n);
}

static void ip_bad(const char *s)
{
    uint8_t got[16];
    size_t len = crypto_ip_parse(s, strlen(s), got);
    if (len != 0)
        fail_msg("%s accepted", s);
}

/* RFC 4291 §2.2 text forms and dotted quads. */
static void test_ip_parse(void **state)
{
    (void)state;
    ip_ok("0.0.0.0", "00000000");
    ip_ok("255.255.255.255", "ffffffff");
    ip_ok("192.0.2.7", "c0000207");
    ip_ok("10.0.0.1", "0a000001");
    ip_ok("::", "00000000000000000000000000000000");
    ip_ok("::1", "00000000000000000000000000000001");
    ip_ok("1::", "00010000000000000000000000000000");
    ip_ok("2001:db8::1", "20010db8000000000000000000000001");
    ip_ok("2001:0DB8:0000:0000:0000:0000:0000:0001", "20010db8000000000000000000000001");
    ip_ok("1:2:3:4:5:6:7:8", "00010002000300040005000600070008");
    ip_ok("1::8", "00010000000000000000000000000008");
    ip_ok("1:2:3:4:5:6:7::", "00010002000300040005000600070000");
    ip_ok("::2:3:4:5:6:7:8", "00000002000300040005000600070008");
    ip_ok("::ffff:192.0.2.7", "00000000000000000000ffffc0000207");
    ip_ok("1:2:3:4:5:6:1.2.3.4", "00010002000300040005000601020304");
    ip_ok("[::1]", "00000000000000000000000000000001");
    ip_ok("[fe80::1:2]", "fe800000000000000000000000010002");

    ip_bad("");
    ip_bad("256.1.1.1");
    ip_bad("1.2.3");
    ip_bad("1.2.3.4.5");
    ip_bad("01.2.3.4");
    ip_bad("1..2.3");
    ip_bad("1.2.3.4 ");
    ip_bad(" 1.2.3.4");
    ip_bad("1.2.3.");
    ip_bad("1234.1.1.1");
    ip_bad("a.b.c.d");
    ip_bad("example.test");
    ip_bad(":::");
    ip_bad("1:::2");
    ip_bad("1::2::3");
    ip_bad("12345::");
    ip_bad("1:2:3:4:5:6:7:8:9");
    ip_bad("1:2:3:4:5:6:7");
    ip_bad("1::2:3:4:5:6:7:8");
    ip_bad(":1::");
    ip_bad(":1:2:3:4:5:6:7:8");
    ip_bad("1:");
    ip_bad("1:2:3:4:5:6:7:8:");
    ip_bad("[::1");
    ip_bad("::1]");
    ip_bad("[1.2.3.4]");
    ip_bad("[]");
    ip_bad("g::");
    ip_bad("::1.2.3");
    ip_bad("1.2.3.4::");
    ip_bad("::1.2.3.4:5");
    ip_bad("1:2:3:4:5:6:7:1.2.3.4");
}

static void civil(int64_t t, int y, int mo, int d, int h, int mi, int s)
{
    assert_int_equal(crypto_unix_from_civil(y, mo, d, h, mi, s), t);
    int yy, mm, dd, hh, mn, ss;
    crypto_civil_from_unix(t, &yy, &mm, &dd, &hh, &mn, &ss);
    assert_int_equal(yy, y);
    assert_int_equal(mm, mo);
    assert_int_equal(dd, d);
    assert_int_equal(hh, h);
    assert_int_equal(mn, mi);
    assert_int_equal(ss, s);
}

/* Values from Python's calendar.timegm. */
static void test_calendar(void **state)
{
    (void)state;
    civil(0, 1970, 1, 1, 0, 0, 0);
    civil(1795478400, 2026, 11, 24, 0, 0, 0);
    civil(951782400, 2000, 2, 29, 0, 0, 0);
    civil(-1, 1969, 12, 31, 23, 59, 59);
    civil(-631152000, 1950, 1, 1, 0, 0, 0);
    civil(2524608000, 2050, 1, 1, 0, 0, 0);
    civil(253402300799, 9999, 12, 31, 23, 59, 59);
    civil(-11670912000, 1600, 3, 1, 0, 0, 0);
}

static void der(const char *hex, bool ok, uint8_t want_tag, size_t want_len)
{
    uint8_t buf[300];
    size_t n = test_unhex(hex, buf, sizeof(buf));
    quince_reader r = quince_reader_init(buf, n), v;
    uint8_t tag = 0;
    assert_int_equal(crypto_der_get(&r, &tag, &v), ok);
    if (ok) {
        assert_int_equal(tag, want_tag);
        assert_int_equal(quince_reader_left(&v), want_len);
    } else {
        assert_ptr_equal(r.p, buf); /* untouched */
    }
}

/* X.690 §8.1: DER lengths. */
static void test_der_lengths(void **state)
{
    (void)state;
    der("3000", true, 0x30, 0);
    der("0403aabbcc", true, 0x04, 3);
    der("0403aabb", false, 0, 0);         /* truncated */
    der("30", false, 0, 0);               /* no length */
    der("3080", false, 0, 0);             /* indefinite */
    der("308105aabbccddee", false, 0, 0); /* long form where short was required */
    der("3082000100", false, 0, 0);       /* leading zero length octet */
    der("1f0100", false, 0, 0);           /* high tag number form */
    der("3084000000010a", false, 0, 0);   /* 4 length octets */
    uint8_t big[3 + 200] = {0x04, 0x81, 200};
    quince_reader r = quince_reader_init(big, sizeof(big)), v;
    uint8_t tag;
    assert_true(crypto_der_get(&r, &tag, &v));
    assert_int_equal(quince_reader_left(&v), 200);
    assert_true(quince_reader_empty(&r));
}

typedef struct cert {
    uint8_t *der;
    size_t len;
} cert;

static cert make(test_env *t, const char *dns, const char *ip, int64_t nb, int64_t na, bool ca)
{
    crypto_cert_params p = {0};
    p.common_name = "check";
    p.dns_name = dns;
    p.ip_address = ip;
    p.not_before_unix = nb;
    p.not_after_unix = na;
    p.is_ca = ca;
    cert c;
    uint8_t *key;
    size_t key_len;
    assert_int_equal(crypto_cert_generate(&t->env, &p, &c.der, &c.len, &key, &key_len, NULL), 0);
    quince_env_free(&t->env, key);
    return c;
}

static int host(const cert *c, const char *h)
{
    crypto_x509_info info;
    assert_int_equal(crypto_x509_info_parse(c->der, c->len, &info), 0);
    return crypto_x509_check_host(&info, h);
}

static void test_info_and_times(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 4);
    /* UTCTime before 2000 and GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
    cert c = make(&t, "a.test", NULL, -631152000 + 61, 2524608000 + 59, true);
    crypto_x509_info info;
    assert_int_equal(crypto_x509_info_parse(c.der, c.len, &info), 0);
    assert_int_equal(info.not_before, -631152000 + 61);
    assert_int_equal(info.not_after, 2524608000 + 59);
    assert_true(info.is_ca);
    assert_true(info.has_san);
    assert_int_equal(crypto_x509_check_time(&info, 2524608000 + 59), 0);
    assert_int_equal(crypto_x509_check_time(&info, 2524608000 + 60), CRYPTO_ERR_CERT_EXPIRED);
    assert_int_equal(crypto_x509_check_time(&info, -631152000 + 60), CRYPTO_ERR_CERT_EXPIRED);
    /* The SPKI span is an element of its own: SEQUENCE, the whole of it. */
    assert_int_equal(info.spki.p[0], 0x30);
    uint8_t h1[32], h2[32];
    assert_int_equal(crypto_x509_spki_sha256(c.der, c.len, h1), 0);
    assert_int_equal(
        crypto_hash(CRYPTO_HASH_SHA256, info.spki.p, quince_reader_left(&info.spki), h2), 0);
    assert_memory_equal(h1, h2, 32);

    /* Every truncation, and any trailing byte, is refused. */
    for (size_t n = 0; n < c.len; n++)
        assert_int_equal(crypto_x509_info_parse(c.der, n, &info), CRYPTO_ERR_PARSE);
    uint8_t *longer = malloc(c.len + 1);
    memcpy(longer, c.der, c.len);
    longer[c.len] = 0;
    assert_int_equal(crypto_x509_info_parse(longer, c.len + 1, &info), CRYPTO_ERR_PARSE);
    longer[0] = 0x31;
    assert_int_equal(crypto_x509_info_parse(longer, c.len, &info), CRYPTO_ERR_PARSE);
    free(longer);
    assert_int_equal(crypto_x509_info_parse(NULL, 0, &info), CRYPTO_ERR_PARSE);
    quince_env_free(&t.env, c.der);

    /* A leaf without SAN matches nothing, not even its CN. */
    cert bare = make(&t, NULL, NULL, 0, 1, false);
    assert_int_equal(crypto_x509_info_parse(bare.der, bare.len, &info), 0);
    assert_false(info.has_san);
    assert_false(info.is_ca);
    assert_int_equal(host(&bare, "check"), CRYPTO_ERR_BAD_CERTIFICATE);
    quince_env_free(&t.env, bare.der);
    test_env_check_leaks(&t);
}

/* RFC 6125 §6.4.3: wildcards. */
static void test_host_rules(void **state)
{
    (void)state;
    test_env t;
    test_env_init(&t, 5);
    cert w = make(&t, "*.example.test", NULL, 0, 1, false);
    assert_int_equal(host(&w, "a.example.test"), 0);
    assert_int_equal(host(&w, "A-1.EXAMPLE.TEST"), 0);
    assert_int_equal(host(&w, "a.example.test."), 0);
    assert_int_equal(host(&w, "example.test"), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(host(&w, "a.b.example.test"), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(host(&w, "*.example.test"), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(host(&w, "aexample.test"), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(host(&w, ""), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(host(&w, "."), CRYPTO_ERR_BAD_CERTIFICATE);
    assert_int_equal(host(&w, NULL), CRYPTO_ERR_ARGUMENT);
    quince_env_free(&t.env, w.der);
    /* A wildcard over a single label is not honoured; nor is one inside a label. */
    cert tld = make(&t, "*.test", NULL, 0, 1, false);
    assert_int_equal(host(&tld, "a.test"), CRYPTO_ERR_BAD_CERTIFICATE);
    quince_env_free(&t.env, tld.der);
    cert part = make(&t, "a*.example.test", NULL, 0, 1, false);
    assert_int_equal(host(&part, "ab.example.test"), CRYPTO_ERR_BAD_CERTIFICATE);
    quince_env_free(&t.env, part.der);
    /* A DNS name that looks like an address does not match the address. */
    cert dnsip = make(&t, "192.0.2.1", NULL, 0, 1, false);
    assert_int_equal(host(&dnsip, "192.0.2.1"), CRYPTO_ERR_BAD_CERTIFICATE);
    quince_env_free(&t.env, dnsip.der);
    /* IPv4 vs IPv6 of the same bytes never match each other. */
    cert v4 = make(&t, NULL, "0.0.0.1", 0, 1, false);
    assert_int_equal(host(&v4, "0.0.0.1"), 0);
    assert_int_equal(host(&v4, "::1"), CRYPTO_ERR_BAD_CERTIFICATE);
    quince_env_free(&t.env, v4.der);
    test_env_check_leaks(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ip_parse),    cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_der_lengths), cmocka_unit_test(test_info_and_times),
        cmocka_unit_test(test_host_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
