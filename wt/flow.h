/* WebTransport session flow control (draft-ietf-webtrans-http3-13..-16 §5), wt/flow.c: used by
 * wt/session.c (SETTINGS, capsules) and wt/stream.c (stream data and streams). */
#ifndef WT_FLOW_H
#define WT_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "wt/wt.h"

/* -13..-16 §5.1, §5.5: turn flow control on for s when its dialect has it and
 * both sides' SETTINGS declared it; the peer's WT_INITIAL_* become our limits. */
void wt_fc_setup(wt_session *s);
/* True for the six flow-control capsule types (-13..-16 §5.6). */
bool wt_fc_is_capsule(uint64_t type);
/* -13..-16 §5.6: a flow-control capsule received while flow control is on
 * (false: the session ended). */
bool wt_fc_capsule_in(wt_session *s, uint64_t type, uint64_t value);
/* -13..-16 §5.6.4: the application took len body bytes on a stream of s
 * (false: over our limit, the session is gone). */
bool wt_fc_rx_data(wt_session *s, uint64_t len);
/* -13..-16 §5.6.2: a peer stream of s appeared (false: over our limit, the
 * session is gone) / closed (more credit). */
bool wt_fc_rx_stream(wt_session *s, bool bidi);
void wt_fc_rx_stream_closed(wt_session *s, bool bidi);
/* Send a flow-control capsule on the CONNECT stream. */
void wt_fc_send_capsule(wt_session *s, uint64_t type, uint64_t value);

#endif
