/* Tests for h3/validate.c: HTTP/3 message validation (RFC 9114 §4.2-§4.4, RFC 9220 §4). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "h3/h3_codes.h"
#include "h3/validate.h"

#define OK 0
#define BAD H3_WIRE_ERROR(H3_MESSAGE_ERROR)

static size_t fields(h3_field *out, const char *const *kv)
{
    size_t n = 0;
    while (kv[2 * n] != NULL) {
        out[n].name = (const uint8_t *)kv[2 * n];
        out[n].name_len = strlen(kv[2 * n]);
        out[n].value = (const uint8_t *)kv[2 * n + 1];
        out[n].value_len = strlen(kv[2 * n + 1]);
        n++;
    }
    return n;
}

static int req(bool ecp, const char *const *kv, h3_msg_info *info)
{
    h3_field f[32];
    size_t n = fields(f, kv);
    return h3_validate_request(f, n, ecp, info);
}

static int resp(const char *const *kv, h3_msg_info *info)
{
    h3_field f[32];
    size_t n = fields(f, kv);
    return h3_validate_response(f, n, info);
}

#define P4 ":method", "GET", ":scheme", "https", ":authority", "a.example", ":path", "/"

static void test_requests(void **state)
{
    (void)state;
    h3_msg_info i;
    struct {
        int want;
        const char *kv[16];
    } cases[] = {
        {OK, {P4, NULL}},
        {OK, {P4, "accept", "*/*", "te", "trailers", NULL}},
        {OK, {":method", "GET", ":scheme", "https", ":path", "/", "host", "a.example", NULL}},
        {OK, {":method", "OPTIONS", ":scheme", "https", ":authority", "a", ":path", "*", NULL}},
        {OK, {":method", "GET", ":scheme", "foo", ":path", "/x", NULL}}, /* no authority needed */
        {OK, {":method", "CONNECT", ":authority", "proxy.example:443", NULL}},
        {OK, {P4, "content-length", "5", "content-length", "5", NULL}},
        {OK, {P4, "x-empty", "", NULL}},
        {BAD, {":scheme", "https", ":authority", "a", ":path", "/", NULL}},     /* no :method */
        {BAD, {":method", "GET", ":authority", "a", ":path", "/", NULL}},       /* no :scheme */
        {BAD, {":method", "GET", ":scheme", "https", ":authority", "a", NULL}}, /* no :path */
        {BAD, {":method", "GET", ":scheme", "https", ":path", "/", NULL}},      /* no authority */
        {BAD, {P4, ":path", "/2", NULL}},                                       /* dup :path */
        {BAD, {P4, ":method", "GET", NULL}},                                    /* dup :method */
        {BAD, {P4, ":status", "200", NULL}}, /* response pseudo */
        {BAD, {P4, ":foo", "x", NULL}},      /* unknown */
        {BAD,
         {":method", "GET", "accept", "*/*", ":scheme", "https", ":authority", "a", ":path", "/",
          NULL}},                           /* order */
        {BAD, {P4, "Accept", "*/*", NULL}}, /* uppercase */
        {BAD, {P4, "", "x", NULL}},         /* empty name */
        {BAD, {P4, "bad name", "x", NULL}}, /* space */
        {BAD, {P4, "x", "a\r\nb", NULL}},   /* CRLF */
        {BAD, {P4, "x", " lead", NULL}},    /* whitespace */
        {BAD, {P4, "x", "trail\t", NULL}},
        {BAD, {P4, "connection", "close", NULL}},
        {BAD, {P4, "keep-alive", "1", NULL}},
        {BAD, {P4, "proxy-connection", "1", NULL}},
        {BAD, {P4, "transfer-encoding", "chunked", NULL}},
        {BAD, {P4, "upgrade", "h2c", NULL}},
        {BAD, {P4, "te", "gzip", NULL}},
        {BAD, {P4, "content-length", "5x", NULL}},
        {BAD, {P4, "content-length", "5", "content-length", "6", NULL}},
        {BAD, {":method", "GET", ":scheme", "https", ":authority", "a", ":path", "", NULL}},
        {BAD,
         {":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/", "host", "b",
          NULL}}, /* authority and host differ */
        {BAD, {":method", "GET", ":scheme", "https", ":authority", "user@a", ":path", "/", NULL}},
        {BAD, {":method", "GET", ":scheme", "https", ":authority", "a", ":path", "x", NULL}},
        {BAD, {":method", "GET", ":scheme", "https", ":authority", "a", ":path", "*", NULL}},
        {OK, {":method", "GET", ":scheme", "https", ":authority", "a", ":path", "/?q=1", NULL}},
        {BAD, {":method", "CONNECT", ":authority", "p:443", ":path", "/", NULL}},
        {BAD, {":method", "CONNECT", ":authority", "p:443", ":scheme", "https", NULL}},
        {BAD, {":method", "CONNECT", NULL}},
        {BAD, {P4, ":protocol", "websocket", NULL}}, /* :protocol without CONNECT */
        {BAD,
         {":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":authority", "a",
          ":path", "/chat", NULL}}, /* setting not sent */
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        int rc = req(false, cases[k].kv, &i);
        if (rc != cases[k].want)
            fail_msg("case %zu: got %d want %d", k, rc, cases[k].want);
    }
    assert_int_equal(req(false, (const char *const[]){P4, "content-length", "42", NULL}, &i), OK);
    assert_true(i.has_content_length);
    assert_int_equal(i.content_length, 42);
    assert_false(i.is_connect);
    assert_int_equal(i.size, 7 + 3 + 32 + 7 + 5 + 32 + 10 + 9 + 32 + 5 + 1 + 32 + 14 + 2 + 32);
}

/* RFC 9220 §4, RFC 9114 §4.4 */
static void test_extended_connect(void **state)
{
    (void)state;
    h3_msg_info i;
    const char *const ok[] = {":method", "CONNECT", ":protocol",  "webtransport",
                              ":scheme", "https",   ":authority", "a",
                              ":path",   "/wt",     NULL};
    assert_int_equal(req(true, ok, &i), OK);
    assert_true(i.is_connect);
    assert_true(i.is_extended_connect);
    assert_non_null(i.protocol);
    assert_int_equal(i.protocol->value_len, 12);
    assert_int_equal(req(false, ok, &i), BAD);
    const char *const no_path[] = {":method",      "CONNECT", ":protocol",
                                   "webtransport", ":scheme", "https",
                                   ":authority",   "a",       NULL};
    assert_int_equal(req(true, no_path, &i), BAD);
    const char *const no_auth[] = {
        ":method", "CONNECT", ":protocol", "webtransport", ":scheme", "https", ":path", "/", NULL};
    assert_int_equal(req(true, no_auth, &i), BAD);
    const char *const plain[] = {":method", "CONNECT", ":authority", "a:1", NULL};
    assert_int_equal(req(true, plain, &i), OK);
    assert_true(i.is_connect);
    assert_false(i.is_extended_connect);
}

static void test_responses(void **state)
{
    (void)state;
    h3_msg_info i;
    assert_int_equal(resp((const char *const[]){":status", "200", "server", "q", NULL}, &i), OK);
    assert_int_equal(i.status, 200);
    assert_int_equal(resp((const char *const[]){":status", "103", NULL}, &i), OK);
    assert_int_equal(i.status, 103);
    assert_int_equal(resp((const char *const[]){"server", "q", NULL}, &i), BAD);
    assert_int_equal(resp((const char *const[]){":status", "101", NULL}, &i), BAD);
    assert_int_equal(resp((const char *const[]){":status", "20", NULL}, &i), BAD);
    assert_int_equal(resp((const char *const[]){":status", "2000", NULL}, &i), BAD);
    assert_int_equal(resp((const char *const[]){":status", "abc", NULL}, &i), BAD);
    assert_int_equal(resp((const char *const[]){":status", "099", NULL}, &i), BAD);
    assert_int_equal(resp((const char *const[]){":status", "200", ":status", "200", NULL}, &i),
                     BAD);
    assert_int_equal(resp((const char *const[]){":status", "200", ":path", "/", NULL}, &i), BAD);
    assert_int_equal(resp((const char *const[]){"a", "b", ":status", "200", NULL}, &i), BAD);
}

static void test_trailers(void **state)
{
    (void)state;
    h3_msg_info i;
    h3_field f[4];
    size_t n = fields(f, (const char *const[]){"x-sum", "1", "grpc-status", "0", NULL});
    assert_int_equal(h3_validate_trailers(f, n, &i), OK);
    assert_int_equal(h3_validate_trailers(f, 0, &i), OK);
    n = fields(f, (const char *const[]){":status", "200", NULL});
    assert_int_equal(h3_validate_trailers(f, n, &i), BAD);
    n = fields(f, (const char *const[]){"connection", "x", NULL});
    assert_int_equal(h3_validate_trailers(f, n, &i), BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requests),
        cmocka_unit_test(test_extended_connect),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_trailers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
