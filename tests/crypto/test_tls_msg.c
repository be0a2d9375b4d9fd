/* Tests for crypto/tls_msg.c: handshake message encoders and pure parsers (RFC 8446 §4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "crypto/backend.h"
#include "crypto/tls_msg.h"

static const uint16_t suites[] = {0x1301, 0x1302, 0x1303};
static const uint16_t groups[] = {0x001d, 0x0017};
static const uint16_t sig_algs[] = {0x0403, 0x0804};
static const char *const alpn[] = {"h3", "hq-interop", NULL};
static const uint8_t tp[] = {0x04, 0x04, 0x80, 0x10, 0x00, 0x00};
static uint8_t random_bytes[32];
static uint8_t share_key[32];
static const crypto_tls_share share = {0x001d, share_key, 32};

static crypto_tls_client_hello_params ch_params(void)
{
    memset(random_bytes, 0x11, sizeof(random_bytes));
    memset(share_key, 0x22, sizeof(share_key));
    crypto_tls_client_hello_params p = {
        .random = random_bytes,
        .suites = suites,
        .n_suites = 3,
        .groups = groups,
        .n_groups = 2,
        .shares = &share,
        .n_shares = 1,
        .sig_algs = sig_algs,
        .n_sig_algs = 2,
        .alpn = alpn,
        .server_name = "example.test",
        .send_transport_params = true,
        .transport_params = tp,
        .transport_params_len = sizeof(tp),
    };
    return p;
}

/* RFC 8446 §4.1.3: the HelloRetryRequest random is SHA-256("HelloRetryRequest"). */
static void test_hrr_random(void **state)
{
    (void)state;
    uint8_t h[32];
    assert_int_equal(crypto_hash(CRYPTO_HASH_SHA256, (const uint8_t *)"HelloRetryRequest", 17, h),
                     0);
    assert_memory_equal(h, crypto_tls_hrr_random, 32);
}

static void test_client_hello_roundtrip(void **state)
{
    (void)state;
    uint8_t cookie[3] = {9, 8, 7};
    crypto_tls_client_hello_params p = ch_params();
    p.cookie = cookie;
    p.cookie_len = 3;
    uint8_t msg[1024];
    int n = crypto_tls_encode_client_hello(&p, msg, sizeof(msg));
    assert_true(n > 0);
    assert_int_equal(msg[0], CRYPTO_HS_CLIENT_HELLO);
    assert_int_equal(((size_t)msg[1] << 16) | ((size_t)msg[2] << 8) | msg[3], (size_t)n - 4);
    crypto_tls_client_hello ch;
    assert_int_equal(crypto_tls_parse_client_hello(msg + 4, (size_t)n - 4, &ch), 0);
    assert_int_equal(ch.legacy_version, 0x0303);
    assert_memory_equal(ch.random, random_bytes, 32);
    assert_int_equal(ch.session_id.len, 0);
    assert_int_equal(crypto_tls_u16_list_count(ch.cipher_suites), 3);
    assert_int_equal(crypto_tls_u16_list_at(ch.cipher_suites, 2), 0x1303);
    assert_true(crypto_tls_u16_list_has(ch.versions, 0x0304));
    assert_int_equal(ch.versions.len, 2);
    assert_true(crypto_tls_u16_list_has(ch.groups, 0x0017));
    assert_true(crypto_tls_u16_list_has(ch.sig_algs, 0x0804));
    crypto_tls_span key;
    assert_true(crypto_tls_key_share_find(ch.key_shares, 0x001d, &key));
    assert_int_equal(key.len, 32);
    assert_memory_equal(key.p, share_key, 32);
    assert_false(crypto_tls_key_share_find(ch.key_shares, 0x0017, &key));
    assert_int_equal(crypto_tls_key_share_count(ch.key_shares), 1);
    assert_true(crypto_tls_alpn_has(ch.alpn, "hq-interop"));
    assert_true(crypto_tls_alpn_has(ch.alpn, "h3"));
    assert_false(crypto_tls_alpn_has(ch.alpn, "h"));
    assert_int_equal(ch.server_name.len, 12);
    assert_memory_equal(ch.server_name.p, "example.test", 12);
    assert_int_equal(ch.transport_params.len, sizeof(tp));
    assert_memory_equal(ch.transport_params.p, tp, sizeof(tp));
    assert_int_equal(ch.cookie.len, 3);
    assert_memory_equal(ch.cookie.p, cookie, 3);
    uint32_t want = crypto_tls_ext_bit(CRYPTO_EXT_SERVER_NAME) |
                    crypto_tls_ext_bit(CRYPTO_EXT_SUPPORTED_VERSIONS) |
                    crypto_tls_ext_bit(CRYPTO_EXT_SUPPORTED_GROUPS) |
                    crypto_tls_ext_bit(CRYPTO_EXT_SIGNATURE_ALGORITHMS) |
                    crypto_tls_ext_bit(CRYPTO_EXT_KEY_SHARE) | crypto_tls_ext_bit(CRYPTO_EXT_ALPN) |
                    crypto_tls_ext_bit(CRYPTO_EXT_COOKIE) |
                    crypto_tls_ext_bit(CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS);
    assert_int_equal(ch.exts, want);
    assert_int_equal(crypto_tls_ext_bit(0x7a7a), 0);

    /* Every encoding buffer shorter than the message fails. */
    for (size_t cap = 0; cap < (size_t)n; cap++)
        assert_int_equal(crypto_tls_encode_client_hello(&p, msg, cap), CRYPTO_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(crypto_tls_encode_client_hello(&p, msg, (size_t)n), n);

    /* Without transport parameters (TLS over TCP), and no SNI for an IP literal. */
    p.send_transport_params = false;
    p.server_name = "192.0.2.7";
    p.cookie = NULL;
    n = crypto_tls_encode_client_hello(&p, msg, sizeof(msg));
    assert_true(n > 0);
    assert_int_equal(crypto_tls_parse_client_hello(msg + 4, (size_t)n - 4, &ch), 0);
    assert_int_equal(ch.exts & crypto_tls_ext_bit(CRYPTO_EXT_QUIC_TRANSPORT_PARAMETERS), 0);
    assert_int_equal(ch.exts & crypto_tls_ext_bit(CRYPTO_EXT_SERVER_NAME), 0);
    assert_null(ch.server_name.p);
}

/* Every truncation of a ClientHello body is decode_error, except the one that
 * leaves a well-formed pre-1.3 hello without extensions. */
static void test_client_hello_truncations(void **state)
{
    (void)state;
    crypto_tls_client_hello_params p = ch_params();
    uint8_t msg[1024];
    int n = crypto_tls_encode_client_hello(&p, msg, sizeof(msg));
    assert_true(n > 0);
    size_t body = (size_t)n - 4;
    size_t no_ext = 2 + 32 + 1 + 2 + 6 + 2; /* version, random, sid, suites, compression */
    for (size_t cut = 0; cut < body; cut++) {
        crypto_tls_client_hello ch;
        int rc = crypto_tls_parse_client_hello(msg + 4, cut, &ch);
        if (cut == no_ext) {
            assert_int_equal(rc, 0);
            assert_false(ch.has_extensions);
            assert_int_equal(ch.versions.len, 0);
        } else {
            assert_int_equal(rc, CRYPTO_ERR_DECODE_ERROR);
        }
    }
    /* One byte more is trailing data. */
    msg[n] = 0;
    crypto_tls_client_hello ch;
    assert_int_equal(crypto_tls_parse_client_hello(msg + 4, body + 1, &ch),
                     CRYPTO_ERR_DECODE_ERROR);
}

/* Build a ClientHello body with a raw extension block. */
static size_t ch_with_exts(uint8_t *out, const uint8_t *exts, size_t len)
{
    size_t p = 0;
    out[p++] = 3;
    out[p++] = 3;
    memset(out + p, 0, 32);
    p += 32;
    out[p++] = 0; /* session id */
    out[p++] = 0;
    out[p++] = 2;
    out[p++] = 0x13;
    out[p++] = 0x01;
    out[p++] = 1;
    out[p++] = 0;
    out[p++] = (uint8_t)(len >> 8);
    out[p++] = (uint8_t)len;
    memcpy(out + p, exts, len);
    return p + len;
}

static int parse_ch_exts(const uint8_t *exts, size_t len)
{
    uint8_t body[512];
    size_t n = ch_with_exts(body, exts, len);
    crypto_tls_client_hello ch;
    return crypto_tls_parse_client_hello(body, n, &ch);
}

/* RFC 8446 §4.2: extension rules inside a ClientHello. */
static void test_client_hello_extensions(void **state)
{
    (void)state;
    /* Unknown extensions (GREASE) are ignored. */
    static const uint8_t grease[] = {0x7a, 0x7a, 0, 1, 0, 0x0a, 0x0a, 0, 0};
    assert_int_equal(parse_ch_exts(grease, sizeof(grease)), 0);
    /* The same extension twice. */
    static const uint8_t twice[] = {0, 43, 0, 3, 2, 3, 4, 0, 43, 0, 3, 2, 3, 4};
    assert_int_equal(parse_ch_exts(twice, sizeof(twice)), CRYPTO_ERR_ILLEGAL_PARAMETER);
    /* pre_shared_key must be last. */
    static const uint8_t psk_first[] = {0, 41, 0, 1, 0, 0, 43, 0, 3, 2, 3, 4};
    assert_int_equal(parse_ch_exts(psk_first, sizeof(psk_first)), CRYPTO_ERR_ILLEGAL_PARAMETER);
    static const uint8_t psk_bad[] = {0, 43, 0, 3, 2, 3, 4, 0, 41, 0, 1, 0};
    assert_int_equal(parse_ch_exts(psk_bad, sizeof(psk_bad)), CRYPTO_ERR_DECODE_ERROR);
    /* RFC 8446 §4.2.11: one identity (7 bytes) and one 32-byte binder. */
    static const uint8_t psk_last[7 + 48] = {0, 43, 0, 3,    2, 3, 4, 0, 41, 0,  44, 0,
                                             7, 0,  1, 0xaa, 0, 0, 0, 5, 0,  33, 32};
    assert_int_equal(parse_ch_exts(psk_last, sizeof(psk_last)), 0);
    /* Two identities, one binder: illegal_parameter. */
    static const uint8_t psk_unpaired[7 + 55] = {0,  43, 0,    3, 2, 3,    4, 0, 41, 0,
                                                 51, 0,  14,   0, 1, 0xaa, 0, 0, 0,  5,
                                                 0,  1,  0xbb, 0, 0, 0,    6, 0, 33, 32};
    assert_int_equal(parse_ch_exts(psk_unpaired, sizeof(psk_unpaired)),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    /* oid_filters exists only in CertificateRequest. */
    static const uint8_t oid[] = {0, 48, 0, 0};
    assert_int_equal(parse_ch_exts(oid, sizeof(oid)), CRYPTO_ERR_ILLEGAL_PARAMETER);
    /* An odd-length version list; a body longer than its content. */
    static const uint8_t odd[] = {0, 43, 0, 2, 1, 3};
    assert_int_equal(parse_ch_exts(odd, sizeof(odd)), CRYPTO_ERR_DECODE_ERROR);
    static const uint8_t slack[] = {0, 43, 0, 4, 2, 3, 4, 0};
    assert_int_equal(parse_ch_exts(slack, sizeof(slack)), CRYPTO_ERR_DECODE_ERROR);
    /* A key share with an empty key_exchange. */
    static const uint8_t empty_key[] = {0, 51, 0, 6, 0, 4, 0, 0x1d, 0, 0};
    assert_int_equal(parse_ch_exts(empty_key, sizeof(empty_key)), CRYPTO_ERR_DECODE_ERROR);
    /* An empty ALPN protocol name. */
    static const uint8_t alpn_zero[] = {0, 16, 0, 4, 0, 2, 0, 0};
    assert_int_equal(parse_ch_exts(alpn_zero, sizeof(alpn_zero)), CRYPTO_ERR_DECODE_ERROR);
    /* A host name with a NUL in it; a name that is not host_name is skipped. */
    static const uint8_t sni_nul[] = {0, 0, 0, 6, 0, 4, 0, 0, 1, 0};
    assert_int_equal(parse_ch_exts(sni_nul, sizeof(sni_nul)), CRYPTO_ERR_ILLEGAL_PARAMETER);
    static const uint8_t sni_other[] = {0, 0, 0, 6, 0, 4, 7, 0, 1, 'x'};
    uint8_t body[64];
    size_t n = ch_with_exts(body, sni_other, sizeof(sni_other));
    crypto_tls_client_hello ch;
    assert_int_equal(crypto_tls_parse_client_hello(body, n, &ch), 0);
    assert_null(ch.server_name.p);
    /* early_data in a ClientHello is empty. */
    static const uint8_t early[] = {0, 42, 0, 1, 0};
    assert_int_equal(parse_ch_exts(early, sizeof(early)), CRYPTO_ERR_DECODE_ERROR);
    /* A session id longer than 32 bytes. */
    uint8_t long_sid[80] = {3, 3};
    long_sid[34] = 33;
    assert_int_equal(crypto_tls_parse_client_hello(long_sid, sizeof(long_sid), &ch),
                     CRYPTO_ERR_DECODE_ERROR);
}

static void test_server_hello(void **state)
{
    (void)state;
    uint8_t rnd[32], key[65], sid[32];
    memset(rnd, 0x44, sizeof(rnd));
    memset(key, 0x04, sizeof(key));
    memset(sid, 0x55, sizeof(sid));
    crypto_tls_server_hello_params p = {
        .random = rnd,
        .session_id = sid,
        .session_id_len = 32,
        .cipher_suite = 0x1302,
        .share = {0x0017, key, 65},
    };
    uint8_t msg[256];
    int n = crypto_tls_encode_server_hello(&p, msg, sizeof(msg));
    assert_true(n > 0);
    crypto_tls_server_hello sh;
    assert_int_equal(crypto_tls_parse_server_hello(msg + 4, (size_t)n - 4, &sh), 0);
    assert_false(sh.is_hrr);
    assert_int_equal(sh.legacy_version, 0x0303);
    assert_int_equal(sh.version, 0x0304);
    assert_int_equal(sh.cipher_suite, 0x1302);
    assert_int_equal(sh.group, 0x0017);
    assert_int_equal(sh.key_share.len, 65);
    assert_int_equal(sh.session_id.len, 32);
    for (size_t cap = 0; cap < (size_t)n; cap++)
        assert_int_equal(crypto_tls_encode_server_hello(&p, msg, cap), CRYPTO_ERR_BUFFER_TOO_SMALL);
    /* Truncations: decode_error, but a hello cut after its compression byte is a
     * (TLS 1.2-style) hello without extensions. */
    n = crypto_tls_encode_server_hello(&p, msg, sizeof(msg));
    for (size_t cut = 0; cut < (size_t)n - 4; cut++) {
        int rc = crypto_tls_parse_server_hello(msg + 4, cut, &sh);
        if (cut == 2 + 32 + 1 + 32 + 2 + 1) {
            assert_int_equal(rc, 0);
            assert_int_equal(sh.version, 0);
        } else {
            assert_int_equal(rc, CRYPTO_ERR_DECODE_ERROR);
        }
    }

    /* HelloRetryRequest: the special random, only the group. */
    p.is_hrr = true;
    n = crypto_tls_encode_server_hello(&p, msg, sizeof(msg));
    assert_true(n > 0);
    assert_int_equal(crypto_tls_parse_server_hello(msg + 4, (size_t)n - 4, &sh), 0);
    assert_true(sh.is_hrr);
    assert_int_equal(sh.group, 0x0017);
    assert_null(sh.key_share.p);
}

static int parse_sh_exts(bool hrr, const uint8_t *exts, size_t len)
{
    uint8_t body[256];
    size_t p = 0;
    body[p++] = 3;
    body[p++] = 3;
    memcpy(body + p, hrr ? crypto_tls_hrr_random : random_bytes, 32);
    p += 32;
    body[p++] = 0;
    body[p++] = 0x13;
    body[p++] = 0x01;
    body[p++] = 0;
    body[p++] = (uint8_t)(len >> 8);
    body[p++] = (uint8_t)len;
    memcpy(body + p, exts, len);
    crypto_tls_server_hello sh;
    return crypto_tls_parse_server_hello(body, p + len, &sh);
}

/* RFC 8446 §4.2: a server's hello carries only what it may. */
static void test_server_hello_extensions(void **state)
{
    (void)state;
    memset(random_bytes, 0x11, sizeof(random_bytes));
    static const uint8_t version[] = {0, 43, 0, 2, 3, 4};
    assert_int_equal(parse_sh_exts(false, version, sizeof(version)), 0);
    static const uint8_t unknown[] = {0, 43, 0, 2, 3, 4, 0xff, 0x01, 0, 1, 0};
    assert_int_equal(parse_sh_exts(false, unknown, sizeof(unknown)),
                     CRYPTO_ERR_UNSUPPORTED_EXTENSION);
    static const uint8_t alpn_in_sh[] = {0, 16, 0, 5, 0, 3, 2, 'h', '3'};
    assert_int_equal(parse_sh_exts(false, alpn_in_sh, sizeof(alpn_in_sh)),
                     CRYPTO_ERR_ILLEGAL_PARAMETER);
    static const uint8_t cookie[] = {0, 44, 0, 3, 0, 1, 9};
    assert_int_equal(parse_sh_exts(false, cookie, sizeof(cookie)), CRYPTO_ERR_ILLEGAL_PARAMETER);
    assert_int_equal(parse_sh_exts(true, cookie, sizeof(cookie)), 0);
    static const uint8_t psk[] = {0, 41, 0, 2, 0, 0};
    /* selected_identity parses; the client refuses it unless it offered a PSK. */
    assert_int_equal(parse_sh_exts(false, psk, sizeof(psk)), 0);
    assert_int_equal(parse_sh_exts(true, psk, sizeof(psk)), CRYPTO_ERR_ILLEGAL_PARAMETER);
    static const uint8_t share_empty[] = {0, 51, 0, 4, 0, 0x1d, 0, 0};
    assert_int_equal(parse_sh_exts(false, share_empty, sizeof(share_empty)),
                     CRYPTO_ERR_DECODE_ERROR);
}

static void test_encrypted_extensions(void **state)
{
    (void)state;
    uint8_t msg[256];
    int n = crypto_tls_encode_encrypted_extensions("h3", tp, sizeof(tp), false, msg, sizeof(msg));
    assert_true(n > 0);
    crypto_tls_encrypted_extensions ee;
    assert_int_equal(crypto_tls_parse_encrypted_extensions(msg + 4, (size_t)n - 4, &ee), 0);
    assert_int_equal(ee.alpn.len, 2);
    assert_memory_equal(ee.alpn.p, "h3", 2);
    assert_int_equal(ee.transport_params.len, sizeof(tp));
    for (size_t cut = 0; cut < (size_t)n - 4; cut++)
        assert_int_equal(crypto_tls_parse_encrypted_extensions(msg + 4, cut, &ee),
                         CRYPTO_ERR_DECODE_ERROR);
    for (size_t cap = 0; cap < (size_t)n; cap++)
        assert_int_equal(
            crypto_tls_encode_encrypted_extensions("h3", tp, sizeof(tp), false, msg, cap),
            CRYPTO_ERR_BUFFER_TOO_SMALL);
    n = crypto_tls_encode_encrypted_extensions(NULL, NULL, 0, false, msg, sizeof(msg));
    assert_int_equal(n, 6);
    assert_int_equal(crypto_tls_parse_encrypted_extensions(msg + 4, 2, &ee), 0);
    assert_int_equal(ee.exts, 0);
    /* The server's ALPN names exactly one protocol. */
    static const uint8_t two_names[] = {0, 12, 0, 16, 0, 8, 0, 6, 2, 'h', '3', 2, 'h', '2'};
    assert_int_equal(crypto_tls_parse_encrypted_extensions(two_names, sizeof(two_names), &ee),
                     CRYPTO_ERR_DECODE_ERROR);
}

static void test_certificate(void **state)
{
    (void)state;
    static const uint8_t a[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    static const uint8_t b[] = {0x30, 0x00};
    const uint8_t *certs[2] = {a, b};
    size_t lens[2] = {sizeof(a), sizeof(b)};
    uint8_t msg[128];
    int n = crypto_tls_encode_certificate(certs, lens, 2, msg, sizeof(msg));
    assert_int_equal(n, 4 + 1 + 3 + (3 + 5 + 2) + (3 + 2 + 2));
    crypto_tls_certificate ct;
    assert_int_equal(crypto_tls_parse_certificate(msg + 4, (size_t)n - 4, &ct), 0);
    assert_int_equal(ct.count, 2);
    assert_int_equal(ct.context.len, 0);
    assert_memory_equal(ct.certs[0].p, a, sizeof(a));
    assert_int_equal(ct.certs[1].len, sizeof(b));
    for (size_t cut = 0; cut < (size_t)n - 4; cut++)
        assert_int_equal(crypto_tls_parse_certificate(msg + 4, cut, &ct), CRYPTO_ERR_DECODE_ERROR);
    for (size_t cap = 0; cap < (size_t)n; cap++)
        assert_int_equal(crypto_tls_encode_certificate(certs, lens, 2, msg, cap),
                         CRYPTO_ERR_BUFFER_TOO_SMALL);
    /* More certificates than we hold: bad_certificate. */
    const uint8_t *many[CRYPTO_TLS_MAX_CHAIN + 1];
    size_t many_lens[CRYPTO_TLS_MAX_CHAIN + 1];
    for (size_t i = 0; i <= CRYPTO_TLS_MAX_CHAIN; i++) {
        many[i] = b;
        many_lens[i] = sizeof(b);
    }
    n = crypto_tls_encode_certificate(many, many_lens, CRYPTO_TLS_MAX_CHAIN, msg, sizeof(msg));
    assert_int_equal(crypto_tls_parse_certificate(msg + 4, (size_t)n - 4, &ct), 0);
    assert_int_equal(ct.count, CRYPTO_TLS_MAX_CHAIN);
    n = crypto_tls_encode_certificate(many, many_lens, CRYPTO_TLS_MAX_CHAIN + 1, msg, sizeof(msg));
    assert_int_equal(crypto_tls_parse_certificate(msg + 4, (size_t)n - 4, &ct),
                     CRYPTO_ERR_BAD_CERTIFICATE);
    /* An empty cert_data. */
    static const uint8_t empty_entry[] = {0, 0, 0, 5, 0, 0, 0, 0, 0};
    assert_int_equal(crypto_tls_parse_certificate(empty_entry, sizeof(empty_entry), &ct),
                     CRYPTO_ERR_DECODE_ERROR);
}

static void test_certificate_verify_and_finished(void **state)
{
    (void)state;
    uint8_t sig[72];
    memset(sig, 0x30, sizeof(sig));
    uint8_t msg[128];
    int n = crypto_tls_encode_certificate_verify(0x0403, sig, sizeof(sig), msg, sizeof(msg));
    assert_int_equal(n, 4 + 2 + 2 + 72);
    crypto_tls_certificate_verify cv;
    assert_int_equal(crypto_tls_parse_certificate_verify(msg + 4, (size_t)n - 4, &cv), 0);
    assert_int_equal(cv.scheme, 0x0403);
    assert_int_equal(cv.signature.len, 72);
    for (size_t cut = 0; cut < (size_t)n - 4; cut++)
        assert_int_equal(crypto_tls_parse_certificate_verify(msg + 4, cut, &cv),
                         CRYPTO_ERR_DECODE_ERROR);
    assert_int_equal(crypto_tls_parse_certificate_verify(msg + 4, (size_t)n - 3, &cv),
                     CRYPTO_ERR_DECODE_ERROR);

    uint8_t verify[48];
    memset(verify, 0xee, sizeof(verify));
    n = crypto_tls_encode_finished(verify, 48, msg, sizeof(msg));
    assert_int_equal(n, 52);
    assert_int_equal(msg[3], 48);
    crypto_tls_span v;
    assert_int_equal(crypto_tls_parse_finished(msg + 4, 48, 48, &v), 0);
    assert_int_equal(v.len, 48);
    assert_int_equal(crypto_tls_parse_finished(msg + 4, 48, 32, &v), CRYPTO_ERR_DECODE_ERROR);
    assert_int_equal(crypto_tls_parse_finished(msg + 4, 31, 32, &v), CRYPTO_ERR_DECODE_ERROR);
    assert_int_equal(crypto_tls_encode_finished(verify, 48, msg, 51), CRYPTO_ERR_BUFFER_TOO_SMALL);
}

static void test_ip_literal(void **state)
{
    (void)state;
    assert_true(crypto_tls_is_ip_literal("127.0.0.1"));
    assert_true(crypto_tls_is_ip_literal("::1"));
    assert_true(crypto_tls_is_ip_literal("2001:db8::7"));
    assert_false(crypto_tls_is_ip_literal("localhost"));
    assert_false(crypto_tls_is_ip_literal("1.2.3"));
    assert_false(crypto_tls_is_ip_literal("10.0.0.1a"));
    assert_false(crypto_tls_is_ip_literal("www.example.com"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hrr_random),
        cmocka_unit_test(test_client_hello_roundtrip),
        cmocka_unit_test(test_client_hello_truncations),
        cmocka_unit_test(test_client_hello_extensions),
        cmocka_unit_test(test_server_hello),
        cmocka_unit_test(test_server_hello_extensions),
        cmocka_unit_test(test_encrypted_extensions),
        cmocka_unit_test(test_certificate),
        cmocka_unit_test(test_certificate_verify_and_finished),
        cmocka_unit_test(test_ip_literal),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
