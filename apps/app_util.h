/* Shared pieces of the command-line apps: the loop, files, options and output. */
#ifndef APPS_APP_UTIL_H
#define APPS_APP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/loop.h"
#include "io/udp.h"

/* The io <-> QUIC bridge (addresses, the send queue, receive and send for a
 * bind_conn or bind_server) is io/bridge.h; URLs are split by io_url_split
 * (io/connect.h). */

/* Create a loop that catches SIGINT/SIGTERM, with one endpoint (ops, user) on
 * sock. False, after a message starting with prog, on any failure. */
bool app_loop_open(io_loop **loop, const io_endpoint_ops *ops, void *user, io_endpoint **ep,
                   io_udp *sock, const char *prog);

/* Read a whole file (at most max bytes) into a malloc'd buffer. */
uint8_t *app_read_file(const char *path, size_t max, size_t *len);
/* "30", "2.5": seconds into microseconds; false on bad text. */
bool app_parse_seconds(const char *text, uint64_t *us);
/* Lower-case hex of len bytes into out (2 * len + 1 bytes). */
void app_hex(const uint8_t *in, size_t len, char *out);

#endif
