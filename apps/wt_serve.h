/* A WebTransport server loop in one call, for small programs (examples/wt_echo_server.c). */
#ifndef APPS_WT_SERVE_H
#define APPS_WT_SERVE_H

#include "wt/wt.h"

/*
 * Serve WebTransport (draft-02, HTTP/3 over QUIC) on the UDP address listen_at
 * ("127.0.0.1:4433"; port 0: any) with a fresh 13-day ECDSA P-256 certificate.
 * Prints "cert-sha256: HEX" (for serverCertificateHashes or quince-client
 * --cert-hash) and "webtransport: https://ADDR/". Every connection gets a
 * wt_endpoint with cb; runs until SIGINT or SIGTERM. Returns an exit code.
 */
int wt_app_serve(const char *listen_at, const wt_callbacks *cb);

#endif
