/* The demo HTTP server's request reader (apps/demo_http.c): pure, for the server and its fuzzer. */
#ifndef APPS_DEMO_HTTP_PARSE_H
#define APPS_DEMO_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define DEMO_HTTP_MAX_HEAD 8192
#define DEMO_HTTP_MAX_BODY 65536

typedef struct demo_http_request {
    char method[8];
    char path[1024];
    const uint8_t *body; /* inside the buffer given to demo_http_parse */
    size_t body_len;
    int well_formed; /* 0: the request line did not parse (answer 400) */
} demo_http_request;

enum { DEMO_HTTP_MORE = 0, DEMO_HTTP_DONE = 1, DEMO_HTTP_CLOSE = -1 };

/*
 * The bytes received so far on a connection, buf[len] == '\0' (the caller keeps one byte
 * more than DEMO_HTTP_MAX_HEAD + DEMO_HTTP_MAX_BODY). DEMO_HTTP_MORE: wait for more;
 * DEMO_HTTP_CLOSE: the head is too long or the body would be (close without an answer);
 * DEMO_HTTP_DONE: head and Content-Length bytes of body are there, *req filled.
 */
int demo_http_parse(const char *buf, size_t len, demo_http_request *req);

#endif
