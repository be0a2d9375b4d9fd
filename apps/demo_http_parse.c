/* The demo HTTP server's request reader: one HTTP/1.1 request, head and Content-Length body. */
#include "apps/demo_http_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static size_t content_length(const char *head, size_t head_len)
{
    const char *p = head, *end = head + head_len;
    while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        p++;
        if ((size_t)(end - p) > 15 && strncasecmp(p, "content-length:", 15) == 0) {
            const char *q = p + 15;
            while (q < end && (*q == ' ' || *q == '\t'))
                q++;
            size_t n = 0;
            for (; q < end && *q >= '0' && *q <= '9'; q++) {
                n = n * 10 + (size_t)(*q - '0');
                if (n > DEMO_HTTP_MAX_BODY)
                    return DEMO_HTTP_MAX_BODY + 1; /* too long, however many digits follow */
            }
            return n;
        }
    }
    return 0;
}

int demo_http_parse(const char *buf, size_t len, demo_http_request *req)
{
    const char *end = strstr(buf, "\r\n\r\n");
    if (end == NULL || (size_t)(end - buf) + 4 > len)
        return len > DEMO_HTTP_MAX_HEAD ? DEMO_HTTP_CLOSE : DEMO_HTTP_MORE;
    size_t head_len = (size_t)(end - buf) + 4;
    if (head_len > DEMO_HTTP_MAX_HEAD)
        return DEMO_HTTP_CLOSE;
    size_t body_len = content_length(buf, head_len);
    if (body_len > DEMO_HTTP_MAX_BODY)
        return DEMO_HTTP_CLOSE;
    if (len < head_len + body_len)
        return DEMO_HTTP_MORE;
    memset(req, 0, sizeof(*req));
    req->well_formed = sscanf(buf, "%7s %1023s", req->method, req->path) == 2;
    req->body = (const uint8_t *)buf + head_len;
    req->body_len = body_len;
    return DEMO_HTTP_DONE;
}
