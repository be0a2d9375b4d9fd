/* WebTransport session establishment (draft-ietf-webtrans-http3-02 §3.3), wt/connect.c: the
 * server's and the client's side of the extended CONNECT, called from wt/endpoint.c. */
#ifndef WT_CONNECT_H
#define WT_CONNECT_H

#include <stddef.h>
#include <stdint.h>

#include "h3/h3.h"
#include "wt/wt.h"

/* Server: a request on stream id that is no session yet. An extended CONNECT for a dialect
 * we speak makes a session (refused with 425 in 0-RTT); anything else goes on to the
 * h3 callbacks wt took over. */
void wt_server_on_headers(wt_endpoint *ep, uint64_t id, const h3_field *f, size_t n);
/* Server: decide on a held or new request once the peer's SETTINGS are known: respond
 * 2xx and establish it, or refuse it. */
void wt_server_process(wt_session *s);
/* Client: send the extended CONNECT of a queued session (negative: an h3 error). */
int wt_client_send(wt_session *s);
/* Client: the response headers of a session's CONNECT. */
void wt_client_response(wt_session *s, const h3_field *f, size_t n);
/* The session is open: tell the application, deliver what was held (§4.5). */
void wt_session_established(wt_session *s);

#endif
