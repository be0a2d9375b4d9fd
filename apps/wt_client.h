/* quince-client --webtransport: the bidi, uni and datagram echo checks and a close against a
 * server. */
#ifndef APPS_WT_CLIENT_H
#define APPS_WT_CLIENT_H

#include <stdbool.h>

/* True when argv contains --webtransport. */
bool wt_client_wanted(int argc, char **argv);
/* Run it; returns the process exit code (0 only when every check passed). */
int wt_client_main(int argc, char **argv);

#endif
