/* libFuzzer target: the demo HTTP server's request reader (apps/demo_http_parse.c) on a TCP
 * byte stream that arrives in pieces. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apps/demo_http_parse.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if (!(x))                                                                                  \
            abort();                                                                               \
    } while (0)

/*
 * Input: the first byte sets the piece size (1..256 bytes); the rest is what a TCP client
 * sends. As apps/demo_http.c does, the pieces are appended to a buffer of
 * DEMO_HTTP_MAX_HEAD + DEMO_HTTP_MAX_BODY bytes (plus the NUL) and the reader runs after each;
 * the checks are its contract: a complete request lies inside what was received, its body is
 * the Content-Length it announced, and nothing past the bounds is waited for.
 */

static char g_buf[DEMO_HTTP_MAX_HEAD + DEMO_HTTP_MAX_BODY + 1];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t piece = (size_t)data[0] + 1, len = 0, off = 1;
    while (off < size) {
        size_t n = size - off < piece ? size - off : piece;
        if (n > sizeof(g_buf) - 1 - len)
            n = sizeof(g_buf) - 1 - len;
        if (n == 0)
            break;
        memcpy(g_buf + len, data + off, n);
        len += n;
        off += n;
        g_buf[len] = '\0';
        demo_http_request req;
        int st = demo_http_parse(g_buf, len, &req);
        if (st == DEMO_HTTP_MORE) {
            CHECK(len <= DEMO_HTTP_MAX_HEAD + DEMO_HTTP_MAX_BODY);
            continue;
        }
        if (st == DEMO_HTTP_DONE) {
            CHECK((const char *)req.body >= g_buf && req.body_len <= DEMO_HTTP_MAX_BODY);
            CHECK((const char *)req.body + req.body_len <= g_buf + len);
            CHECK(memchr(req.method, '\0', sizeof(req.method)) != NULL);
            CHECK(memchr(req.path, '\0', sizeof(req.path)) != NULL);
        } else {
            CHECK(st == DEMO_HTTP_CLOSE);
        }
        break; /* one request per connection */
    }
    return 0;
}
