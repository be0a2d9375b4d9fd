/* A tiny HTTP/1.1 server over TCP on the io_loop, for the demo page (one request per connection).
 */
#ifndef APPS_DEMO_HTTP_H
#define APPS_DEMO_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "io/loop.h"

/* A response: status, content type and body (copied out before the handler returns). */
typedef struct demo_http_response {
    int status;
    const char *content_type;
    const char *body;
    size_t body_len;
    unsigned delay_ms; /* answer after this long (at most 10 s); the body must stay valid */
} demo_http_response;

/* Called once per complete request (GET or POST with a body of at most 64 KiB). */
typedef void (*demo_http_handler)(void *user, const char *method, const char *path,
                                  const uint8_t *body, size_t body_len, demo_http_response *out);

typedef struct demo_http demo_http;

/* Listen on addr ("127.0.0.1:8080"; port 0: any) and serve through the loop.
 * NULL on failure. */
demo_http *demo_http_start(io_loop *loop, const char *addr, demo_http_handler h, void *user);
uint16_t demo_http_port(const demo_http *d);
void demo_http_stop(demo_http *d);

#endif
