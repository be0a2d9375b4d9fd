/* A WebTransport echo handler (streams and datagrams) over the wt/ API: demo behaviour for the
 * apps, tests and fuzzers, not part of the library. */
#ifndef APPS_WT_ECHO_H
#define APPS_WT_ECHO_H

#include <stdint.h>

#include "wt/wt.h"

/*
 * Accepts sessions whose :path equals path (any origin; others get 404) and
 * echoes: bidirectional streams on the same stream as the bytes arrive (FIN
 * after the peer's FIN), unidirectional streams on a new server-opened
 * unidirectional stream once the peer's FIN came (read whole, at most
 * WT_ECHO_MAX_UNI bytes, else STOP_SENDING with code 1), datagrams as
 * datagrams. A stream whose echo cannot be written (send buffer full,
 * limits) is reset with code 1. A peer's reset of a bidi stream is passed on
 * with its code.
 */
#define WT_ECHO_MAX_UNI 65536
typedef struct wt_echo {
    const char *path;
    uint64_t sessions; /* accepted */
    uint64_t bytes;    /* echoed on streams */
    uint64_t datagrams;
} wt_echo;

/* Fill cb (user = echo) for wt_endpoint_new. */
void wt_echo_init(wt_echo *echo, const char *path, wt_callbacks *cb);

#endif
