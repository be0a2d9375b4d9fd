/* The POSIX quince_env: malloc, getrandom(2), CLOCK_REALTIME, stderr log, key-log, qlog files. */
#ifndef IO_POSIX_ENV_H
#define IO_POSIX_ENV_H

#include <stdio.h>

#include "base/export.h"
#include "base/env.h"

/*
 * A stateless environment: malloc/realloc/free, random bytes from
 * getrandom(2) (aborts if the kernel cannot supply them: there is no safe
 * fallback for key material), wall_clock from CLOCK_REALTIME, log to stderr,
 * no keylog and no qlog. user is NULL.
 * Returns it (never fails). */
QUINCE_API quince_env io_env_default(void);

/*
 * The same with file sinks. Initialise with io_env_init, then use &e->env; the
 * io_env must stay in place while the library uses it.
 */
typedef struct io_env {
    quince_env env;
    FILE *keylog;           /* NSS key log, appended */
    char *qlog_dir;         /* one JSON-SEQ file per connection in it */
    struct io_pcap *pcap;   /* also gets the key-log lines (io/pcap.h), or NULL */
    int log_max_level;      /* messages with a higher level are dropped; default: all */
    const char *log_prefix; /* printed before each line, default "quince" */
} io_env;

/* Fills e with the defaults (io_env_default's environment, no files open). */
QUINCE_API void io_env_init(io_env *e);
/* Append NSS key-log lines to path (NULL: $SSLKEYLOGFILE if set, else nothing).
 * Returns IO_OK, or IO_ERR_FILE with errno set. */
QUINCE_API int io_env_set_keylog_file(io_env *e, const char *path);
struct io_pcap;
/* Copy every key-log line into a capture's Decryption Secrets Block as well
 * (io/pcap.h); NULL detaches. The capture is the caller's to close, after
 * the connections are gone. */
QUINCE_API void io_env_set_pcap(io_env *e, struct io_pcap *p);
/* Write each connection's qlog to dir/<original DCID hex>_<client|server>.sqlog
 * (JSON-SEQ, qlog 0.3: qvis opens it). NULL: no qlog. Returns IO_OK,
 * IO_ERR_FILE (errno set) when dir is not a directory, or IO_ERR_NOMEM. */
QUINCE_API int io_env_set_qlog_dir(io_env *e, const char *dir);
/* Close the files; e->env loses its sinks. */
QUINCE_API void io_env_cleanup(io_env *e);

#endif
