/* Shared pieces of the command-line apps: files, options and output. */
#ifndef APPS_APP_UTIL_H
#define APPS_APP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The loop, the sockets and the connection are io/'s: io_server (io/serve.h)
 * and io_client (io/connect.h, which also splits URLs). */

/* Read a whole file (at most max bytes) into a malloc'd buffer. */
uint8_t *app_read_file(const char *path, size_t max, size_t *len);
/* "30", "2.5": seconds into microseconds; false on bad text. */
bool app_parse_seconds(const char *text, uint64_t *us);

#endif
