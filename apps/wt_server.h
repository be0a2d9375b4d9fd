/* quince-server's WebTransport mode: the demo page over HTTP/1.1 and WebTransport over QUIC. */
#ifndef APPS_WT_SERVER_H
#define APPS_WT_SERVER_H

#include <stdbool.h>

/* True when argv asks for the WebTransport mode (no arguments, or --demo / --webtransport). */
bool wt_server_wanted(int argc, char **argv);
/* Run it; returns the process exit code. */
int wt_server_main(int argc, char **argv);

#endif
